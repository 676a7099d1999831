# Shared by the lab scripts: where things are cached and how packages get installed.
# shellcheck shell=bash

# Built Kubernetes binaries live outside any clone so later runs (and CI on the same machine) reuse them.
LAB_CACHE=${NIGHTWATCH_LAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nightwatch-lab}
K8S_VERSION_DIR="$LAB_CACHE/kubernetes-1.20.2"
K8S_BIN="$K8S_VERSION_DIR/bin"

lab_log() { echo "lab: $*" >&2; }

# Installs the Debian packages given that are missing (as root, or through sudo).
lab_apt_install() {
  local need=() pkg
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg"); done
  [ ${#need[@]} -eq 0 ] && return 0
  lab_log "installing Debian packages: ${need[*]}"
  local sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q --no-install-recommends "${need[@]}" >&2
}

//! Pods and their containers: why a container waits (image, config, mount, sandbox), how it
//! last ended (OOM, a signal, an error exit with its last log lines), probes that fail, and
//! evictions.

use super::logs::{self, LogSignal};
use crate::evidence::finding::{Category, Evidence, Finding, Severity};
use crate::evidence::snapshot::{Container, Pod, Snapshot, Terminated};

/// Waiting reasons of a container that cannot get its image.
pub const IMAGE_PULL_REASONS: &[&str] = &[
    "ImagePullBackOff",
    "ErrImagePull",
    "ErrImageNeverPull",
    "InvalidImageName",
    "RegistryUnavailable",
    "ErrImageInspect",
];

pub(super) fn analyze(snapshot: &Snapshot, pod: &Pod, out: &mut Vec<Finding>) {
    evicted(pod, out);
    for container in pod.all_containers() {
        waiting(snapshot, pod, container, out);
        terminated(snapshot, pod, container, out);
    }
    creating(snapshot, pod, out);
    probes(snapshot, pod, out);
}

fn field(container: &Container, path: &str) -> String {
    format!("status.containerStatuses[{}].{path}", container.name)
}

fn lower(text: &str) -> String {
    text.to_ascii_lowercase()
}

/// What a registry's answer says about the cause.
fn pull_cause(message: &str) -> (Category, &'static str) {
    let m = lower(message);
    let any = |needles: &[&str]| needles.iter().any(|n| m.contains(n));
    if any(&[
        "unauthorized",
        "authentication required",
        "pull access denied",
        "denied:",
        "forbidden",
        "no basic auth credentials",
    ]) {
        // Docker Hub answers "pull access denied … repository does not exist or may require
        // authorization" for both: either the name or the credentials are wrong.
        (
            Category::ConfigurationError,
            "the registry refused the pull (the repository does not exist or needs credentials)",
        )
    } else if any(&[
        "not found",
        "manifest unknown",
        "does not exist",
        "no such image",
    ]) {
        (
            Category::ConfigurationError,
            "the image or tag does not exist in the registry",
        )
    } else if any(&[
        "invalid reference",
        "invalidimagename",
        "couldn't parse image",
    ]) {
        (
            Category::ConfigurationError,
            "the image reference is malformed",
        )
    } else if any(&["toomanyrequests", "rate limit"]) {
        (
            Category::DependencyFailure,
            "the registry is rate-limiting pulls",
        )
    } else if any(&[
        "i/o timeout",
        "connection refused",
        "no such host",
        "tls handshake",
        "context deadline exceeded",
        "network is unreachable",
        "503 service unavailable",
    ]) {
        (
            Category::DependencyFailure,
            "the registry cannot be reached",
        )
    } else {
        (Category::ConfigurationError, "the image cannot be pulled")
    }
}

fn waiting(snapshot: &Snapshot, pod: &Pod, container: &Container, out: &mut Vec<Finding>) {
    let Some(waiting) = &container.state.waiting else {
        return;
    };
    let reason = waiting.reason.as_deref().unwrap_or("");
    let message = waiting.message.as_deref().unwrap_or("");
    let object = pod.object();
    let image = container.image.as_deref();
    if IMAGE_PULL_REASONS.contains(&reason) {
        // The registry's own words are in the pull events; the waiting message often only
        // says "Back-off pulling image".
        let pull_events: Vec<_> = snapshot
            .events_of(&object)
            .filter(|e| {
                let m = lower(&e.message);
                e.reason == "Failed" && (m.contains("pull") || m.contains("image"))
                    || IMAGE_PULL_REASONS.contains(&e.reason.as_str())
            })
            .collect();
        let registry_says = pull_events
            .iter()
            .map(|e| e.message.as_str())
            .max_by_key(|m| m.len())
            .unwrap_or(message);
        let (category, cause) = pull_cause(&format!("{registry_says} {message}"));
        let image_text = image
            .map(|i| format!("image {i}"))
            .or_else(|| quoted_image(registry_says).map(|i| format!("image {i}")))
            .unwrap_or_else(|| "its image".to_owned());
        let mut finding = Finding::new(
            "image_pull",
            Severity::Critical,
            category,
            format!(
                "container {} of pod {} cannot pull {image_text} ({reason}): {cause}",
                container.name, pod.name
            ),
        )
        .reason("ImagePullBackOff")
        .evidence(Evidence::new(
            &object,
            field(container, "state.waiting"),
            if message.is_empty() {
                reason.to_owned()
            } else {
                format!("{reason}: {message}")
            },
        ))
        .remedy(
            "correct the image reference or the pull credentials (imagePullSecrets), or roll back to the last image that ran",
        );
        for event in pull_events.iter().take(2) {
            finding = finding.evidence(Evidence::event(&object, event));
        }
        out.push(finding);
        return;
    }
    match reason {
        "CreateContainerConfigError" | "CreateContainerError" | "RunContainerError" => {
            let missing = missing_reference(message).or_else(|| {
                snapshot
                    .events_of(&object)
                    .find_map(|e| missing_reference(&e.message))
            });
            let cause = match &missing {
                Some(what) => format!("{what} it needs does not exist"),
                None => "its configuration cannot be applied".to_owned(),
            };
            out.push(
                Finding::new(
                    "container_config",
                    Severity::Critical,
                    Category::ConfigurationError,
                    format!(
                        "container {} of pod {} cannot start ({reason}): {cause}",
                        container.name, pod.name
                    ),
                )
                .reason(reason)
                .evidence(Evidence::new(
                    &object,
                    field(container, "state.waiting"),
                    format!("{reason}: {message}"),
                ))
                .remedy("create the missing ConfigMap/Secret or key, or fix the reference in the pod template"),
            );
        }
        _ => {}
    }
}

/// `configmap "x" not found`, `secret "x" not found`, `couldn't find key k in ConfigMap ns/x`.
pub(super) fn missing_reference(message: &str) -> Option<String> {
    let m = lower(message);
    for kind in ["configmap", "secret"] {
        let display = if kind == "configmap" {
            "ConfigMap"
        } else {
            "Secret"
        };
        if let Some(at) = m.find(&format!("{kind} \"")) {
            let rest = &message[at + kind.len() + 2..];
            if let Some(end) = rest.find('"')
                && m[at..].contains("not found")
            {
                return Some(format!("{display} {}", &rest[..end]));
            }
        }
        if let Some(at) = m.find("couldn't find key ") {
            let rest = &message[at + "couldn't find key ".len()..];
            let key = rest.split_whitespace().next().unwrap_or("");
            let object = rest
                .split_whitespace()
                .skip_while(|w| !w.eq_ignore_ascii_case(display))
                .nth(1)
                .unwrap_or("");
            if m[at..].contains(kind) {
                return Some(format!("key {key} in {display} {object}"));
            }
        }
    }
    None
}

fn quoted_image(message: &str) -> Option<String> {
    let start = message.find("image \"")? + "image \"".len();
    let rest = &message[start..];
    rest.find('"').map(|end| rest[..end].to_owned())
}

/// How the container last ended: the current terminated state, else the previous instance's.
fn last_end(container: &Container) -> Option<&Terminated> {
    container
        .state
        .terminated
        .as_ref()
        .or(container.last_state.as_ref())
}

fn terminated(snapshot: &Snapshot, pod: &Pod, container: &Container, out: &mut Vec<Finding>) {
    let object = pod.object();
    let crash_looping = container
        .state
        .waiting
        .as_ref()
        .and_then(|w| w.reason.as_deref())
        == Some("CrashLoopBackOff");
    let waiting_message = container
        .state
        .waiting
        .as_ref()
        .and_then(|w| w.message.as_deref())
        .unwrap_or("");
    let end = last_end(container);
    let exit_code = end
        .and_then(|t| t.exit_code)
        .or_else(|| exit_code_in(waiting_message));
    let end_reason = end
        .and_then(|t| t.reason.clone())
        .or_else(|| reason_in(waiting_message));
    let events_say_oom = snapshot
        .events_of(&object)
        .any(|e| lower(&e.message).contains("oomkilled"));
    let previous = snapshot
        .logs_of(pod, &container.name, true)
        .or_else(|| snapshot.logs_of(pod, &container.name, false));
    let log_oom = previous.is_some_and(|l| {
        logs::signals(&l.lines)
            .iter()
            .any(|s| matches!(s, LogSignal::OutOfMemory(_)))
    });
    let oom = end_reason.as_deref() == Some("OOMKilled") || events_say_oom || log_oom;
    let restarted = container.restart_count > 0 || crash_looping;
    // Running and ready again: an earlier error exit is history, not the trouble now — unless
    // it ended moments before the reading (a crash loop runs between its crashes).
    let running_now = container.state.running.is_some()
        && container.ready != Some(false)
        && !snapshot.is_recent(end.and_then(|t| t.finished_at.as_deref()));
    if end.is_none() && exit_code.is_none() && !crash_looping {
        return;
    }
    let killed_by_probe = liveness_kills(snapshot, pod).is_some();
    let describe_end = || {
        let mut text = String::new();
        if let Some(reason) = &end_reason {
            text.push_str(&format!("reason {reason}"));
        }
        if let Some(code) = exit_code {
            if !text.is_empty() {
                text.push_str(", ");
            }
            text.push_str(&format!("exit code {code}"));
        }
        if let Some(at) = end.and_then(|t| t.finished_at.as_deref()) {
            text.push_str(&format!(", at {at}"));
        }
        text
    };
    let state_field = if container.state.terminated.is_some() {
        "state.terminated"
    } else if container.last_state.is_some() {
        "lastState.terminated"
    } else {
        "state.waiting"
    };
    if oom || exit_code == Some(137) && !killed_by_probe {
        let limit = container.limits.get("memory");
        let limit_text = limit
            .map(|l| format!(" beyond its memory limit of {l}"))
            .unwrap_or_default();
        let certainty = if oom {
            "was OOM-killed"
        } else {
            "was killed by SIGKILL (exit code 137), the OOM killer's signature"
        };
        let mut finding = Finding::new(
            "oom_killed",
            if restarted && !running_now {
                Severity::Critical
            } else {
                Severity::Warning
            },
            Category::ResourceExhaustion,
            format!(
                "container {} of pod {} {certainty}{limit_text}: out of memory (exit code {}), restarted {} times",
                container.name,
                pod.name,
                exit_code.unwrap_or(137),
                container.restart_count
            ),
        )
        .reason("OOMKilled")
        .evidence(Evidence::new(&object, field(container, state_field), describe_end()))
        .remedy("raise the container's memory limit (or find the leak); a restart alone brings the same kill back");
        if let Some(limit) = limit {
            finding = finding.evidence(Evidence::new(
                &object,
                format!(
                    "spec.containers[{}].resources.limits.memory",
                    container.name
                ),
                limit.clone(),
            ));
        }
        if let Some(line) = previous.and_then(|l| {
            logs::signals(&l.lines).into_iter().find_map(|s| match s {
                LogSignal::OutOfMemory(line) => Some(line),
                _ => None,
            })
        }) {
            finding = finding.evidence(Evidence::new(&object, "logs", line));
        }
        if let Some(event) = snapshot
            .events_of(&object)
            .find(|e| lower(&e.message).contains("oomkilled"))
        {
            finding = finding.evidence(Evidence::event(&object, event));
        }
        out.push(finding);
        return;
    }
    if killed_by_probe {
        // The probe analyzer explains these restarts.
        return;
    }
    let failed = exit_code.is_some_and(|c| c != 0)
        || end_reason
            .as_deref()
            .is_some_and(|r| r != "Completed" && !r.is_empty());
    if !failed && !crash_looping {
        return;
    }
    let log_lines = previous
        .map(|l| logs::tail_errors(&l.lines, 3))
        .unwrap_or_default();
    // The runtime's own message (a command that does not exist) says more than any log line:
    // the program never ran.
    let end_message = end
        .and_then(|t| t.message.clone())
        .filter(|m| !m.is_empty());
    let mut signals: Vec<LogSignal> = end_message
        .iter()
        .filter_map(|m| logs::classify(m))
        .collect();
    signals.extend(
        previous
            .map(|l| logs::signals(&l.lines))
            .unwrap_or_default(),
    );
    let (category, cause) = if !failed {
        (
            Category::ConfigurationError,
            "it exits successfully (exit code 0) and is restarted: a one-shot command run by a controller that expects it to keep running".to_owned(),
        )
    } else if let Some(signal) = signals.iter().find(|s| !matches!(s, LogSignal::Error(_))) {
        (signal.category(), signal.describe())
    } else if !log_lines.is_empty() {
        (
            Category::CodeDefect,
            "the program exits with an error (see its last log lines)".to_owned(),
        )
    } else {
        (
            Category::Unknown,
            "it exits with an error; its logs were not available to say why".to_owned(),
        )
    };
    let mut finding = Finding::new(
        if crash_looping {
            "crash_loop"
        } else {
            "terminated"
        },
        if running_now {
            Severity::Info
        } else if restarted {
            Severity::Critical
        } else {
            Severity::Warning
        },
        category,
        format!(
            "container {} of pod {} {} ({}): {cause}",
            container.name,
            pod.name,
            if crash_looping {
                format!(
                    "is in CrashLoopBackOff after {} restarts",
                    container.restart_count
                )
            } else {
                "terminated".to_owned()
            },
            describe_end()
        ),
    )
    .evidence(Evidence::new(
        &object,
        field(container, state_field),
        match &end_message {
            Some(message) => format!("{}: {message}", describe_end()),
            None => describe_end(),
        },
    ))
    .remedy(
        "read the error in the logs; restarting brings the same exit back until the cause is fixed",
    );
    if crash_looping {
        finding = finding.reason("CrashLoopBackOff");
    }
    for line in log_lines {
        finding = finding.evidence(Evidence::new(
            &object,
            if previous.is_some_and(|l| l.previous) {
                "logs (previous instance)"
            } else {
                "logs"
            },
            line,
        ));
    }
    out.push(finding);
}

/// `exit code: 137`, `exit_code=137`, `exitCode 1` in a message.
fn exit_code_in(message: &str) -> Option<i64> {
    let m = lower(message);
    for key in [
        "exit code: ",
        "exit_code=",
        "exit code ",
        "exitcode ",
        "exitcode=",
    ] {
        if let Some(at) = m.find(key) {
            let digits: String = m[at + key.len()..]
                .chars()
                .take_while(|c| c.is_ascii_digit())
                .collect();
            if let Ok(code) = digits.parse() {
                return Some(code);
            }
        }
    }
    None
}

fn reason_in(message: &str) -> Option<String> {
    let m = lower(message);
    (m.contains("oomkilled")).then(|| "OOMKilled".to_owned())
}

/// Liveness failures that got the container killed: `(failures, kills)` events.
fn liveness_kills(snapshot: &Snapshot, pod: &Pod) -> Option<(i64, i64)> {
    let object = pod.object();
    let failures: i64 = snapshot
        .events_of(&object)
        .filter(|e| e.reason == "Unhealthy" && lower(&e.message).contains("liveness"))
        .map(|e| e.count.unwrap_or(1))
        .sum();
    let kills: i64 = snapshot
        .events_of(&object)
        .filter(|e| e.reason == "Killing" && lower(&e.message).contains("liveness"))
        .map(|e| e.count.unwrap_or(1))
        .sum();
    let restarts: i64 = pod.containers.iter().map(|c| c.restart_count).sum();
    (failures > 0 && (kills > 0 || restarts > 0)).then_some((failures, kills.max(restarts)))
}

fn probes(snapshot: &Snapshot, pod: &Pod, out: &mut Vec<Finding>) {
    let object = pod.object();
    let restarts: i64 = pod.containers.iter().map(|c| c.restart_count).sum();
    for (probe, kills) in [("liveness", true), ("readiness", false), ("startup", true)] {
        let failing: Vec<_> = snapshot
            .events_of(&object)
            .filter(|e| e.reason == "Unhealthy" && lower(&e.message).contains(probe))
            .collect();
        if failing.is_empty() {
            continue;
        }
        let count: i64 = failing.iter().map(|e| e.count.unwrap_or(1)).sum();
        let effect = if kills && restarts > 0 {
            format!(
                "the kubelet kills and restarts the container ({restarts} restarts) although it did not crash"
            )
        } else if kills {
            "the kubelet restarts the container when it fails".to_owned()
        } else {
            "the pod is taken out of its Service's endpoints while it fails".to_owned()
        };
        let mut finding = Finding::new(
            &format!("{probe}_probe"),
            if kills && restarts > 0 {
                Severity::Critical
            } else {
                Severity::Warning
            },
            Category::ConfigurationError,
            format!(
                "the {probe} probe of pod {} fails ({count} failures): {effect}; check the probe's path, port and timeouts against what the application serves",
                pod.name
            ),
        )
        .reason(if kills { "LivenessProbeFailed" } else { "ReadinessProbeFailed" })
        .remedy("fix the probe (path, port, timeoutSeconds, initialDelaySeconds) or the endpoint it checks");
        for event in failing.iter().take(2) {
            finding = finding.evidence(Evidence::event(&object, event));
        }
        if let Some(kill) = snapshot
            .events_of(&object)
            .find(|e| e.reason == "Killing" && lower(&e.message).contains(probe))
        {
            finding = finding.evidence(Evidence::new(
                &object,
                "event Killing",
                kill.message.clone(),
            ));
        }
        out.push(finding);
    }
}

/// ContainerCreating that does not end: a mount that fails or a sandbox that cannot be made.
fn creating(snapshot: &Snapshot, pod: &Pod, out: &mut Vec<Finding>) {
    let object = pod.object();
    let creating = pod.all_containers().any(|c| {
        matches!(
            c.state.waiting.as_ref().and_then(|w| w.reason.as_deref()),
            Some("ContainerCreating" | "PodInitializing")
        )
    }) || pod.phase_is("Pending") && pod.node.is_some();
    if !creating || pod.ready() {
        return;
    }
    let mount = snapshot
        .events_of(&object)
        .filter(|e| e.reason == "FailedMount" || e.reason == "FailedAttachVolume")
        .filter(|e| !lower(&e.message).contains("retried successfully"))
        .last();
    if let Some(event) = mount {
        let missing = missing_reference(&event.message);
        let (category, cause) = match &missing {
            Some(what) => (
                Category::ConfigurationError,
                format!("{what} it mounts does not exist"),
            ),
            None if lower(&event.message).contains("persistentvolumeclaim") => (
                Category::ConfigurationError,
                "its volume claim cannot be mounted".to_owned(),
            ),
            None => (
                Category::Infrastructure,
                "a volume cannot be attached or mounted on its node".to_owned(),
            ),
        };
        out.push(
            Finding::new(
                "failed_mount",
                Severity::Critical,
                category,
                format!("pod {} is stuck in ContainerCreating: {cause}", pod.name),
            )
            .reason("ContainerCreating")
            .evidence(Evidence::event(&object, event))
            .remedy("create what the volume refers to, or fix the volume in the pod template"),
        );
        return;
    }
    if let Some(event) = snapshot
        .events_of(&object)
        .filter(|e| e.reason == "FailedCreatePodSandBox" || e.reason == "FailedKillPodSandBox")
        .last()
    {
        out.push(
            Finding::new(
                "sandbox",
                Severity::Critical,
                Category::Infrastructure,
                format!(
                    "pod {} is stuck in ContainerCreating: its sandbox cannot be created on node {} (network plugin or runtime)",
                    pod.name,
                    pod.node.as_deref().unwrap_or("?")
                ),
            )
            .reason("ContainerCreating")
            .evidence(Evidence::event(&object, event))
            .remedy("check the node's CNI plugin and container runtime; deleting the pod moves it only if the node is the problem"),
        );
    }
}

fn evicted(pod: &Pod, out: &mut Vec<Finding>) {
    if pod.reason.as_deref() != Some("Evicted") {
        return;
    }
    let message = pod.message.clone().unwrap_or_default();
    let pressure = lower(&message).contains("low on resource");
    out.push(
        Finding::new(
            "evicted",
            Severity::Warning,
            if pressure {
                Category::ResourceExhaustion
            } else {
                Category::Infrastructure
            },
            format!(
                "pod {} was evicted from node {}: {message}",
                pod.name,
                pod.node.as_deref().unwrap_or("?")
            ),
        )
        .reason("Evicted")
        .evidence(Evidence::new(
            &pod.object(),
            "status.reason",
            format!("Evicted: {message}"),
        )),
    );
}

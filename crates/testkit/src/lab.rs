//! The lab for end-to-end tests: `lab/up` starts etcd, the real control plane, the kubelet
//! simulator, Prometheus and Alertmanager on a block of free loopback ports in a temporary
//! directory; dropping the [`Lab`] runs `lab/down`. `lab/up --die-with` ties the lab to this test
//! process, so even a test killed outright leaves no process behind.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The repository root (where `lab/` lives).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A binary of this workspace built next to the running test (`cargo build --workspace --bins`
/// puts it there), or the path in `env_var`.
pub fn workspace_binary(name: &str, env_var: &str) -> PathBuf {
    if let Ok(path) = std::env::var(env_var) {
        return PathBuf::from(path);
    }
    // target/<profile>/deps/<test> → target/<profile>/<name>
    let exe = std::env::current_exe().unwrap();
    let path = exe.parent().unwrap().parent().unwrap().join(name);
    assert!(
        path.exists(),
        "{} not found: build it first (`cargo build --workspace --bins`, as ./scripts/test does) \
         or set {env_var}",
        path.display()
    );
    path
}

pub struct LabOptions {
    /// Where Alertmanager posts (each gets every notification).
    pub webhooks: Vec<String>,
    pub nodes: u32,
    pub kubelet_sim: bool,
    /// Rule files Prometheus evaluates beside `rules/nightwatch.rules.yml` (`lab/up
    /// --extra-rules`), each scaled by `rules/lab-scale` the same way.
    pub extra_rules: Vec<PathBuf>,
}

impl Default for LabOptions {
    fn default() -> Self {
        LabOptions {
            webhooks: Vec::new(),
            nodes: 3,
            kubelet_sim: true,
            extra_rules: Vec::new(),
        }
    }
}

pub struct Lab {
    dir: Option<tempfile::TempDir>,
    env: BTreeMap<String, String>,
    pids: Vec<u32>,
    http: reqwest::blocking::Client,
}

/// Where lab blocks are taken from: below Linux's ephemeral range (32768–60999 by default), so
/// no outgoing connection of the starting lab can be handed one of its ports between this check
/// and the service binding it (seen: Prometheus failing with "address already in use").
const LAB_PORTS: std::ops::Range<u16> = 20000..32000;

/// `lab/up` needs 7 consecutive free ports.
fn free_port_block(len: u16) -> u16 {
    let span = LAB_PORTS.end - LAB_PORTS.start - len;
    for _ in 0..200 {
        // An OS-chosen port as the source of variety, so concurrent labs spread out.
        let base = LAB_PORTS.start + crate::free_port() % span;
        let all_free =
            (base..base + len).all(|port| std::net::TcpListener::bind(("127.0.0.1", port)).is_ok());
        if all_free {
            return base;
        }
    }
    panic!("no block of {len} free loopback ports");
}

impl Lab {
    pub fn start(options: LabOptions) -> Lab {
        let dir = tempfile::Builder::new()
            .prefix("nightwatch-lab.")
            .tempdir()
            .unwrap();
        let lab_dir = dir.path().join("lab");
        let mut command = Command::new(repo_root().join("lab/up"));
        command
            .arg("--dir")
            .arg(&lab_dir)
            .arg("--base-port")
            .arg(free_port_block(7).to_string())
            .arg("--nodes")
            .arg(options.nodes.to_string())
            .arg("--die-with")
            .arg(std::process::id().to_string());
        for webhook in &options.webhooks {
            command.arg("--webhook").arg(webhook);
        }
        // Only what the test asks for: a developer's own setting does not leak in.
        command.env_remove("LAB_EXTRA_RULES");
        for rules in &options.extra_rules {
            command.arg("--extra-rules").arg(rules);
        }
        if options.kubelet_sim {
            command
                .arg("--sim-bin")
                .arg(workspace_binary("kubelet-sim", "KUBELET_SIM_BIN"));
        } else {
            command.arg("--no-sim");
        }
        let output = command.output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "lab/up failed ({}):\n{}\n{}",
            output.status,
            stdout,
            String::from_utf8_lossy(&output.stderr)
        );
        let env: BTreeMap<String, String> = stdout
            .lines()
            .filter_map(|line| line.strip_prefix("export "))
            .filter_map(|line| line.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let pids = std::fs::read_dir(lab_dir.join("pids"))
            .unwrap()
            .map(|entry| {
                std::fs::read_to_string(entry.unwrap().path())
                    .unwrap()
                    .trim()
                    .parse()
                    .unwrap()
            })
            .collect();
        let ca = std::fs::read(lab_dir.join("ca.crt")).unwrap();
        let http = reqwest::blocking::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        Lab {
            dir: Some(dir),
            env,
            pids,
            http,
        }
    }

    /// A variable of the lab's environment (`lab/env`), e.g. `LAB_PROMETHEUS_URL`.
    pub fn var(&self, name: &str) -> &str {
        self.env
            .get(name)
            .unwrap_or_else(|| panic!("lab/up printed no {name}"))
    }

    pub fn dir(&self) -> PathBuf {
        PathBuf::from(self.var("NIGHTWATCH_LAB_DIR"))
    }

    pub fn kubeconfig(&self) -> PathBuf {
        PathBuf::from(self.var("KUBECONFIG"))
    }

    /// The PIDs `lab/up` recorded (process-group leaders of every lab process).
    pub fn pids(&self) -> &[u32] {
        &self.pids
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::blocking::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.var("LAB_APISERVER_URL")))
            .bearer_auth(self.var("LAB_TOKEN"))
    }

    fn send(
        &self,
        what: &str,
        builder: reqwest::blocking::RequestBuilder,
    ) -> Result<Value, String> {
        let response = builder.send().map_err(|e| format!("{what}: {e}"))?;
        let status = response.status();
        let body = response.text().unwrap_or_default();
        if !status.is_success() {
            return Err(format!("{what}: {status}: {body}"));
        }
        Ok(serde_json::from_str(&body).unwrap_or(Value::String(body)))
    }

    /// GET on the API server; Err carries the status and body (e.g. a 404).
    pub fn kube_get(&self, path: &str) -> Result<Value, String> {
        self.send(
            &format!("GET {path}"),
            self.request(reqwest::Method::GET, path),
        )
    }

    /// Applies a multi-document YAML manifest as the lab's admin (what an operator does with
    /// `kubectl apply` on a fresh cluster): Namespaces, ServiceAccounts, ClusterRoles and
    /// ClusterRoleBindings.
    pub fn apply_manifest(&self, path: &std::path::Path) {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        let docs: Vec<Value> = serde_saphyr::from_multiple(&text)
            .unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()));
        for doc in docs {
            let namespace = doc["metadata"]["namespace"].as_str().unwrap_or("default");
            let collection = match doc["kind"].as_str().unwrap_or("") {
                "Namespace" => "/api/v1/namespaces".to_owned(),
                "ServiceAccount" => format!("/api/v1/namespaces/{namespace}/serviceaccounts"),
                "ClusterRole" => "/apis/rbac.authorization.k8s.io/v1/clusterroles".to_owned(),
                "ClusterRoleBinding" => {
                    "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings".to_owned()
                }
                other => panic!(
                    "apply_manifest: kind {other:?} in {} is not supported",
                    path.display()
                ),
            };
            self.kube_create(&collection, &doc);
        }
    }

    /// The token of a ServiceAccount, from the Secret the 1.20 token controller creates for it.
    pub fn service_account_token(&self, namespace: &str, name: &str) -> String {
        let secret = self.wait_until(
            &format!("the token Secret of {namespace}/{name}"),
            std::time::Duration::from_secs(60),
            String::new,
            || {
                let account = self
                    .kube_get(&format!(
                        "/api/v1/namespaces/{namespace}/serviceaccounts/{name}"
                    ))
                    .ok()?;
                let secret = account["secrets"][0]["name"].as_str()?.to_owned();
                let secret = self
                    .kube_get(&format!("/api/v1/namespaces/{namespace}/secrets/{secret}"))
                    .ok()?;
                secret["data"]["token"].as_str().map(str::to_owned)
            },
        );
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(secret)
            .unwrap_or_else(|e| panic!("token of {namespace}/{name} is not base64: {e}"));
        String::from_utf8(bytes).unwrap_or_else(|e| panic!("token is not UTF-8: {e}"))
    }

    /// A kubeconfig that authenticates as the ServiceAccount `namespace/name` (not as admin).
    pub fn service_account_kubeconfig(&self, namespace: &str, name: &str) -> PathBuf {
        let token = self.service_account_token(namespace, name);
        let path = self.dir().join(format!("{namespace}-{name}.kubeconfig"));
        let config = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: lab\n  cluster:\n    server: {server}\n    certificate-authority: {ca}\nusers:\n- name: {name}\n  user:\n    token: {token}\ncontexts:\n- name: {name}\n  context:\n    cluster: lab\n    user: {name}\ncurrent-context: {name}\n",
            server = self.var("LAB_APISERVER_URL"),
            ca = self.var("LAB_CA"),
        );
        std::fs::write(&path, config).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        path
    }

    /// Creates a namespace and waits for its default ServiceAccount (pods are refused before).
    /// Cordons (`true`) or uncordons `node`, as `kubectl cordon` / `uncordon` do.
    pub fn cordon(&self, node: &str, cordoned: bool) {
        self.kube_patch(
            &format!("/api/v1/nodes/{node}"),
            &serde_json::json!({"spec": {"unschedulable": cordoned}}),
        );
    }

    /// Stops (`false`) or restarts the simulated kubelet's heartbeat of `node`: stopped, the
    /// node goes NotReady (Unknown) once the controller-manager's grace period has passed.
    pub fn heartbeat(&self, node: &str, running: bool) {
        let value = if running {
            serde_json::Value::Null
        } else {
            serde_json::json!("stopped")
        };
        self.kube_patch(
            &format!("/api/v1/nodes/{node}"),
            &serde_json::json!({"metadata": {"annotations": {"sim.nightwatch.dev/heartbeat": value}}}),
        );
    }

    pub fn create_namespace(&self, name: &str) {
        self.kube_create(
            "/api/v1/namespaces",
            &serde_json::json!({"metadata": {"name": name}}),
        );
        self.wait_until(
            &format!("service account in {name}"),
            std::time::Duration::from_secs(60),
            String::new,
            || {
                self.kube_get(&format!(
                    "/api/v1/namespaces/{name}/serviceaccounts/default"
                ))
                .ok()
            },
        );
    }

    /// POST (create) on the API server; panics on failure.
    pub fn kube_create(&self, path: &str, body: &Value) -> Value {
        self.send(
            &format!("POST {path}"),
            self.request(reqwest::Method::POST, path).json(body),
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    /// A strategic-merge PATCH (as `kubectl patch` does); panics on failure.
    pub fn kube_patch(&self, path: &str, body: &Value) -> Value {
        self.send(
            &format!("PATCH {path}"),
            self.request(reqwest::Method::PATCH, path)
                .header("Content-Type", "application/strategic-merge-patch+json")
                .body(body.to_string()),
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    /// DELETE on the API server; panics on failure.
    pub fn kube_delete(&self, path: &str) -> Value {
        self.send(
            &format!("DELETE {path}"),
            self.request(reqwest::Method::DELETE, path),
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    /// A GET on one of the lab's plain-HTTP services (Prometheus, Alertmanager, the simulator).
    pub fn http_get(&self, url: &str) -> Result<Value, String> {
        self.send(&format!("GET {url}"), self.http.get(url))
    }

    /// The last lines of every lab process's log: what a failing test prints.
    pub fn logs_tail(&self, lines: usize) -> String {
        let mut out = String::new();
        let Ok(entries) = std::fs::read_dir(self.dir().join("logs")) else {
            return out;
        };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(lines).collect();
            out.push_str(&format!("==> {} <==\n", path.display()));
            for line in tail.into_iter().rev() {
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }

    /// What a failing lab test prints: Prometheus's alerts, the simulator's state, log tails.
    pub fn diagnostics(&self) -> String {
        let get = |url: String| {
            self.http_get(&url)
                .map(|v| v.to_string())
                .unwrap_or_else(|e| e)
        };
        let alerts = match self.env.get("LAB_PROMETHEUS_URL") {
            Some(url) => get(format!("{url}/api/v1/alerts")),
            None => String::new(),
        };
        let sim = match self.env.get("LAB_KUBELET_SIM_URL") {
            Some(url) => get(format!("{url}/state")),
            None => String::new(),
        };
        format!(
            "Prometheus alerts: {alerts}\nkubelet-sim state: {sim}\n{}",
            self.logs_tail(30)
        )
    }

    /// Polls `probe` until it returns Some; after `timeout` panics with `what`, `context()` (the
    /// test's own state) and [`Lab::diagnostics`].
    pub fn wait_until<T>(
        &self,
        what: &str,
        timeout: Duration,
        context: impl Fn() -> String,
        mut probe: impl FnMut() -> Option<T>,
    ) -> T {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(value) = probe() {
                return value;
            }
            if std::time::Instant::now() > deadline {
                panic!(
                    "timed out after {timeout:?} waiting for {what}\n{}\n{}",
                    context(),
                    self.diagnostics()
                );
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// Stops one lab process (`kube-apiserver`, `etcd`, …) as a crash would: SIGKILL to its
    /// group, and waits until it is gone. [`Lab::start_component`] starts it
    /// again with the same command line.
    pub fn stop_component(&self, name: &str) -> StoppedComponent {
        let pid_file = std::fs::read_dir(self.dir().join("pids"))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .find(|path| {
                path.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.ends_with(&format!("-{name}.pid")))
            })
            .unwrap_or_else(|| panic!("the lab has no {name}"));
        let pid: u32 = std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let command: Vec<String> = std::fs::read(format!("/proc/{pid}/cmdline"))
            .unwrap()
            .split(|byte| *byte == 0)
            .filter(|arg| !arg.is_empty())
            .map(|arg| String::from_utf8_lossy(arg).into_owned())
            .collect();
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .status();
        for _ in 0..100 {
            if !process_alive(pid) {
                return StoppedComponent {
                    name: name.to_owned(),
                    pid_file,
                    command,
                };
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("{name} (pid {pid}) did not stop");
    }

    /// Starts a stopped component again, in its own session as `lab/up` does (so `lab/down`
    /// stops it), its output appended to its log.
    pub fn start_component(&self, stopped: StoppedComponent) {
        let log = std::fs::OpenOptions::new()
            .append(true)
            .open(
                self.dir()
                    .join("logs")
                    .join(format!("{}.log", stopped.name)),
            )
            .unwrap();
        let mut child = Command::new("setsid")
            .args(&stopped.command)
            .stdin(std::process::Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        std::fs::write(&stopped.pid_file, child.id().to_string()).unwrap();
        // Reaped when `lab/down` stops it, so it leaves no zombie behind.
        std::thread::spawn(move || child.wait());
    }

    /// Runs `lab/down` (idempotent). Dropping the lab does the same.
    pub fn stop(&mut self) {
        if let Some(dir) = self.dir.as_ref() {
            let _ = Command::new(repo_root().join("lab/down"))
                .arg("--dir")
                .arg(dir.path().join("lab"))
                .status();
        }
    }

    /// Stops the lab but keeps its directory (logs) on disk, returning it.
    pub fn stop_and_keep(mut self) -> PathBuf {
        self.stop();
        self.dir
            .take()
            .map(tempfile::TempDir::keep)
            .unwrap_or_default()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Those of `pids` still running.
pub fn still_running(pids: &[u32]) -> Vec<u32> {
    pids.iter()
        .copied()
        .filter(|pid| process_alive(*pid))
        .collect()
}

/// A one-replica Deployment for lab scenarios, pinned to `node`: its pods (label `app=NAME`) run
/// one container with a memory limit; `annotations` on the pod template set the simulator's faults;
/// each of `volumes` is mounted at `/etc/VOLUME`.
pub struct LabDeployment<'a> {
    pub name: &'a str,
    pub container: &'a str,
    pub image: &'a str,
    pub memory_limit: &'a str,
    pub node: &'a str,
    pub annotations: Value,
    pub volumes: Value,
}

impl LabDeployment<'_> {
    pub fn manifest(&self) -> Value {
        let mounts: Vec<Value> = self
            .volumes
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|volume| volume["name"].as_str())
            .map(|name| serde_json::json!({"name": name, "mountPath": format!("/etc/{name}")}))
            .collect();
        serde_json::json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": self.name},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": self.name}},
                "template": {
                    "metadata": {"labels": {"app": self.name}, "annotations": self.annotations},
                    "spec": {
                        "nodeSelector": {"kubernetes.io/hostname": self.node},
                        "containers": [{
                            "name": self.container,
                            "image": self.image,
                            "resources": {"limits": {"memory": self.memory_limit, "cpu": "100m"}},
                            "volumeMounts": mounts,
                        }],
                        "volumes": self.volumes,
                    }
                }
            }
        })
    }
}

/// A lab process [`Lab::stop_component`] stopped: what starts it again.
pub struct StoppedComponent {
    name: String,
    pid_file: PathBuf,
    command: Vec<String>,
}

/// Whether a process is still running (a zombie counts as gone).
pub fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("stat")) {
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z')),
        Err(_) => false,
    }
}

//! A real nightwatch process for end-to-end tests: spawned from the built binary on a free
//! loopback port, stopped with SIGTERM (graceful) or SIGKILL (crash).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Nightwatch {
    child: Option<Child>,
    pub base_url: String,
    pub port: u16,
    pub log_path: PathBuf,
    /// With authentication on: an admin API token every helper here sends.
    pub token: Option<String>,
    _log_dir: tempfile::TempDir,
}

/// A free loopback port (bound then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Nightwatch {
    /// Starts `binary serve` against `database_url` and waits until `/readyz` answers 200.
    /// `config` is TOML written to a file and passed with `--config`.
    pub fn start(binary: &str, database_url: &str, config: Option<&str>) -> Nightwatch {
        Self::start_on(binary, database_url, config, free_port())
    }

    pub fn start_on(
        binary: &str,
        database_url: &str,
        config: Option<&str>,
        port: u16,
    ) -> Nightwatch {
        Self::start_wrapped(&[], binary, database_url, config, port)
    }

    /// Like [`Nightwatch::start_on`], with the process started through `wrapper` (a program
    /// and its arguments that exec the rest of the command line, such as `nsenter -t PID -m`),
    /// so the wrapper's process is nightwatch's.
    pub fn start_wrapped(
        wrapper: &[&str],
        binary: &str,
        database_url: &str,
        config: Option<&str>,
        port: u16,
    ) -> Nightwatch {
        Self::spawn(wrapper, binary, database_url, config, port, false)
    }

    /// Like [`Nightwatch::start`] with authentication on, as in production: the tests of
    /// access control, and those that check who approved. (The others run with
    /// `--insecure-no-auth`, which is what they would otherwise have to set up.)
    pub fn start_secure(binary: &str, database_url: &str, config: Option<&str>) -> Nightwatch {
        Self::start_secure_on(binary, database_url, config, free_port())
    }

    pub fn start_secure_on(
        binary: &str,
        database_url: &str,
        config: Option<&str>,
        port: u16,
    ) -> Nightwatch {
        let token = run_command(
            binary,
            database_url,
            &["tokens", "create", "testkit", "--role", "admin"],
            "",
        )
        .trim()
        .to_owned();
        let mut process = Self::spawn(&[], binary, database_url, config, port, true);
        process.token = Some(token);
        process
    }

    /// A user of `role` with an API token acting for them (`users add`, `tokens create
    /// --user`): the token, for calls made as that person.
    pub fn user_token(&self, binary: &str, database_url: &str, name: &str, role: &str) -> String {
        run_command(
            binary,
            database_url,
            &["users", "add", name, "--role", role, "--password-stdin"],
            "a long enough password\n",
        );
        run_command(
            binary,
            database_url,
            &[
                "tokens",
                "create",
                &format!("{name}-token"),
                "--role",
                role,
                "--user",
                name,
            ],
            "",
        )
        .trim()
        .to_owned()
    }

    fn authorized(
        &self,
        request: reqwest::blocking::RequestBuilder,
        token: Option<&str>,
    ) -> reqwest::blocking::RequestBuilder {
        match token.or(self.token.as_deref()) {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// `GET path` as JSON (with the admin token when authentication is on).
    pub fn get(&self, path: &str) -> serde_json::Value {
        let client = reqwest::blocking::Client::new();
        self.authorized(client.get(self.url(path)), None)
            .send()
            .unwrap()
            .json()
            .unwrap()
    }

    /// `POST path` with a JSON body, as `token`'s identity (default: the admin token): the
    /// status and the JSON answer.
    pub fn post_as(
        &self,
        token: Option<&str>,
        path: &str,
        body: &serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let client = reqwest::blocking::Client::new();
        let response = self
            .authorized(client.post(self.url(path)).json(body), token)
            .send()
            .unwrap();
        (
            response.status().as_u16(),
            response.json().unwrap_or(serde_json::Value::Null),
        )
    }

    fn spawn(
        wrapper: &[&str],
        binary: &str,
        database_url: &str,
        config: Option<&str>,
        port: u16,
        secure: bool,
    ) -> Nightwatch {
        let dir = tempfile::tempdir().unwrap();
        let log_path = dir.path().join("nightwatch.log");
        let log = std::fs::File::create(&log_path).unwrap();
        let mut command = match wrapper.split_first() {
            Some((program, args)) => {
                let mut command = Command::new(program);
                command.args(args).arg(binary);
                command
            }
            None => Command::new(binary),
        };
        if let Some(config) = config {
            let path = dir.path().join("nightwatch.toml");
            std::fs::write(&path, config).unwrap();
            command.arg("--config").arg(path);
        }
        command
            .arg("serve")
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .env("DATABASE_URL", database_url)
            .env("LOG_LEVEL", "info")
            .env_remove("NIGHTWATCH_CONFIG")
            // Tests name their cluster explicitly; never a developer's own.
            .env_remove("KUBECONFIG")
            .env_remove("NIGHTWATCH_POLICY")
            .env_remove("NIGHTWATCH_RUNBOOKS")
            .env_remove("NIGHTWATCH_MODE")
            .env(
                "NIGHTWATCH_INSECURE_NO_AUTH",
                if secure { "false" } else { "true" },
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("spawning {binary}: {e}"));
        let mut process = Nightwatch {
            child: Some(child),
            base_url: format!("http://127.0.0.1:{port}"),
            port,
            log_path,
            token: None,
            _log_dir: dir,
        };
        process.wait_ready(Duration::from_secs(30));
        process
    }

    fn wait_ready(&mut self, timeout: Duration) {
        let client = reqwest::blocking::Client::new();
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(response) = client.get(format!("{}/readyz", self.base_url)).send()
                && response.status().is_success()
            {
                return;
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!("nightwatch exited early ({status}):\n{}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "nightwatch not ready in {timeout:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    /// `GET /api/incidents?limit=500&QUERY`: the incidents of the first page.
    pub fn incidents(&self, query: &str) -> Vec<serde_json::Value> {
        let page = self.get(&format!("/api/incidents?limit=500&{query}"));
        page["incidents"].as_array().unwrap().clone()
    }

    /// `GET /api/incidents/ID`: the incident with its alerts, events and history.
    pub fn incident(&self, id: i64) -> serde_json::Value {
        self.get(&format!("/api/incidents/{id}"))
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }

    /// SIGKILL: a crash, nothing gets to finish.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM and wait for a clean exit; returns whether it exited successfully.
    pub fn terminate(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return false;
        };
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status.success();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Nightwatch {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs `binary ARGS` (a command such as `users add`) against `database_url`, with `stdin`
/// as its standard input; returns its standard output, or panics with its error output.
pub fn run_command(binary: &str, database_url: &str, args: &[&str], stdin: &str) -> String {
    use std::io::Write;
    let mut child = Command::new(binary)
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("LOG_LEVEL", "warn")
        .env_remove("NIGHTWATCH_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawning {binary}: {e}"));
    if let Some(mut input) = child.stdin.take() {
        input.write_all(stdin.as_bytes()).unwrap();
    }
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{binary} {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Polls `check` until it returns Some or the timeout passes (then panics with `what`).
pub fn wait_for<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

//! The logs as an operator sees them, from the real binary with its output piped (as under
//! `kubectl logs`): no colour escapes, `LOG_LEVEL` in the spellings deployments use
//! (`WARNING`, `Debug`) sets the level, a value that means nothing is refused at start naming
//! `LOG_LEVEL`, and `LOG_JSON=true` gives one JSON object per line, naming the incident on
//! the lines about one.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// Against the real binary: the alert it is sent starts now, by the wall clock.
#![allow(clippy::disallowed_methods)]

use nightwatch_testkit::{free_port, wait_for};
use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_nightwatch");
/// A warning `serve` logs at every start when no webhook source has credentials.
const WARN_LINE: &str = "webhook source accepts deliveries without credentials";
/// The info line `serve` logs once it accepts connections.
const INFO_LINE: &str = "nightwatch is listening";

/// `nightwatch` with the environment a test controls: none of the developer's settings.
fn command(dir: &std::path::Path, env: &[(&str, &str)]) -> Command {
    let config = dir.join("nightwatch.toml");
    std::fs::write(&config, "[kubernetes]\nenabled = false\n").unwrap();
    let mut command = Command::new(BIN);
    command
        .arg("--config")
        .arg(&config)
        .arg("--database-url")
        .arg(format!("sqlite://{}", dir.join("nightwatch.db").display()));
    for name in [
        "LOG_LEVEL",
        "LOG_JSON",
        "NO_COLOR",
        "RUST_LOG",
        "DATABASE_URL",
        "KUBECONFIG",
        "NIGHTWATCH_CONFIG",
        "NIGHTWATCH_POLICY",
        "NIGHTWATCH_RUNBOOKS",
        "NIGHTWATCH_MODE",
        "NIGHTWATCH_INSECURE_NO_AUTH",
    ] {
        command.env_remove(name);
    }
    command.envs(env.iter().copied());
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Reads a pipe to its end on a thread, into the shared text.
fn collect(
    mut pipe: impl Read + Send + 'static,
) -> (Arc<Mutex<Vec<u8>>>, std::thread::JoinHandle<()>) {
    let text = Arc::new(Mutex::new(Vec::new()));
    let shared = text.clone();
    let reader = std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        loop {
            match pipe.read(&mut buffer) {
                Ok(0) | Err(_) => return,
                Ok(n) => shared.lock().unwrap().extend_from_slice(&buffer[..n]),
            }
        }
    });
    (text, reader)
}

/// Starts `nightwatch serve` with `env`, waits until it answers `/readyz`, stops it and returns
/// what it wrote: (stdout, stderr).
fn serve(env: &[(&str, &str)]) -> (String, String) {
    serve_and(env, |_| {})
}

/// As [`serve`], running `during` (given the base URL) once it is ready and before it stops.
fn serve_and(env: &[(&str, &str)], during: impl FnOnce(&str)) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = command(dir.path(), env)
        .arg("serve")
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .spawn()
        .unwrap();
    let (stdout, out_reader) = collect(child.stdout.take().unwrap());
    let (stderr, err_reader) = collect(child.stderr.take().unwrap());
    let client = reqwest::blocking::Client::new();
    let ready = format!("http://127.0.0.1:{port}/readyz");
    wait_for(
        "nightwatch serve to be ready",
        Duration::from_secs(60),
        || {
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "nightwatch exited early ({status}):\n{}",
                    String::from_utf8_lossy(&stderr.lock().unwrap())
                );
            }
            client
                .get(&ready)
                .send()
                .ok()
                .filter(|r| r.status().is_success())
                .map(|_| ())
        },
    );
    during(&format!("http://127.0.0.1:{port}"));
    child.kill().unwrap();
    child.wait().unwrap();
    out_reader.join().unwrap();
    err_reader.join().unwrap();
    let text =
        |bytes: &Arc<Mutex<Vec<u8>>>| String::from_utf8(bytes.lock().unwrap().clone()).unwrap();
    (text(&stdout), text(&stderr))
}

fn assert_no_colour(output: &str) {
    assert!(
        !output.contains("\x1b["),
        "colour escapes in piped logs:\n{output}"
    );
}

#[test]
fn piped_logs_have_no_colour_and_keep_info_and_warn_by_default() {
    let (stdout, stderr) = serve(&[]);
    assert_no_colour(&stdout);
    assert_no_colour(&stderr);
    assert!(stderr.contains(WARN_LINE), "{stderr}");
    assert!(stderr.contains(INFO_LINE), "{stderr}");
    assert!(stderr.contains(" WARN "), "{stderr}");
    assert!(stderr.contains(" INFO "), "{stderr}");
}

#[test]
fn log_level_warning_keeps_warnings_and_drops_info() {
    for level in ["WARNING", "warning", "Warn"] {
        let (stdout, stderr) = serve(&[("LOG_LEVEL", level)]);
        assert_no_colour(&stdout);
        assert_no_colour(&stderr);
        assert!(stderr.contains(WARN_LINE), "LOG_LEVEL={level}:\n{stderr}");
        assert!(!stderr.contains(INFO_LINE), "LOG_LEVEL={level}:\n{stderr}");
        assert!(!stderr.contains(" INFO "), "LOG_LEVEL={level}:\n{stderr}");
    }
}

#[test]
fn log_level_debug_and_directives_show_info() {
    for level in ["Debug", "nightwatch=debug,warn"] {
        let (stdout, stderr) = serve(&[("LOG_LEVEL", level)]);
        assert_no_colour(&stdout);
        assert_no_colour(&stderr);
        assert!(stderr.contains(WARN_LINE), "LOG_LEVEL={level}:\n{stderr}");
        assert!(stderr.contains(INFO_LINE), "LOG_LEVEL={level}:\n{stderr}");
    }
}

#[test]
fn log_level_critical_drops_warnings() {
    let (_, stderr) = serve(&[("LOG_LEVEL", "CRITICAL")]);
    assert!(!stderr.contains(WARN_LINE), "{stderr}");
    assert!(!stderr.contains(INFO_LINE), "{stderr}");
}

#[test]
fn a_log_level_that_means_nothing_is_refused_at_start() {
    for level in ["bogus!!", "WARNINGS", "nightwatch=loud"] {
        let dir = tempfile::tempdir().unwrap();
        let output = command(dir.path(), &[("LOG_LEVEL", level)])
            .arg("migrate")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !output.status.success(),
            "LOG_LEVEL={level} accepted:\n{stderr}"
        );
        assert!(stderr.contains("LOG_LEVEL"), "{stderr}");
        assert!(stderr.contains(&format!("{level:?}")), "{stderr}");
        assert!(
            !dir.path().join("nightwatch.db").exists(),
            "LOG_LEVEL={level}: migrated before refusing"
        );
    }
}

#[test]
fn log_json_writes_one_json_object_per_line() {
    let mut incident = 0;
    // Authentication off: the test reads the incident list without signing in.
    let env = [
        ("LOG_JSON", "true"),
        ("LOG_LEVEL", "info"),
        ("NIGHTWATCH_INSECURE_NO_AUTH", "true"),
    ];
    let (stdout, stderr) = serve_and(&env, |base| {
        let client = reqwest::blocking::Client::new();
        let alert = nightwatch_testkit::webhook_body(
            serde_json::json!({"alertname": "DiskFull", "namespace": "shop", "severity": "warning"}),
            serde_json::json!({"summary": "disk full"}),
            chrono::Utc::now(),
            None,
        );
        let response = client
            .post(format!("{base}/webhook/alertmanager"))
            .json(&alert)
            .send()
            .unwrap();
        assert!(response.status().is_success());
        incident = wait_for("the incident routed", Duration::from_secs(60), || {
            let list: serde_json::Value = client
                .get(format!("{base}/api/incidents"))
                .send()
                .ok()?
                .json()
                .ok()?;
            let first = &list["incidents"][0];
            first["runbook"]
                .as_str()
                .map(|_| first["id"].as_i64().unwrap())
        });
    });
    assert_no_colour(&stdout);
    assert_no_colour(&stderr);
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}"))
        })
        .collect();
    assert!(lines.iter().all(serde_json::Value::is_object), "{stderr}");
    let warn = lines
        .iter()
        .find(|line| line["message"] == WARN_LINE)
        .unwrap_or_else(|| panic!("no warning in {stderr}"));
    assert_eq!(warn["level"], "WARN");
    let info = lines
        .iter()
        .find(|line| line["message"] == INFO_LINE)
        .unwrap_or_else(|| panic!("no listening line in {stderr}"));
    assert_eq!(info["level"], "INFO");
    assert_eq!(info["store"], "sqlite");
    // A line about an incident names it, though the call that logged it did not: the
    // responder's work runs in a span per incident.
    let routed = lines
        .iter()
        .find(|line| line["message"] == "routed")
        .unwrap_or_else(|| panic!("no routed line in {stderr}"));
    assert_eq!(routed["span"]["incident"], incident, "{routed}");
    assert_eq!(routed["alertname"], "DiskFull", "{routed}");
}

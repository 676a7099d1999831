//! A real Prometheus Alertmanager for a test: its own config and storage directory, a free
//! port, no clustering; killed on drop. The binary is `NIGHTWATCH_TEST_ALERTMANAGER`, else
//! Debian's `/usr/bin/prometheus-alertmanager`.

use crate::process::{free_port, wait_for};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct RealAlertmanager {
    child: Child,
    pub url: String,
    _dir: tempfile::TempDir,
}

impl RealAlertmanager {
    /// Starts one with `config` (alertmanager.yml text) and waits until it is ready.
    pub fn start(config: &str) -> RealAlertmanager {
        let binary = std::env::var("NIGHTWATCH_TEST_ALERTMANAGER")
            .unwrap_or_else(|_| "/usr/bin/prometheus-alertmanager".into());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alertmanager.yml");
        std::fs::write(&path, config).unwrap();
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("alertmanager.log")).unwrap();
        let child = Command::new(&binary)
            .arg(format!("--config.file={}", path.display()))
            .arg(format!("--storage.path={}", dir.path().join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {binary}: {e} (install prometheus-alertmanager or set NIGHTWATCH_TEST_ALERTMANAGER)"));
        let url = format!("http://127.0.0.1:{port}");
        let client = reqwest::blocking::Client::new();
        wait_for("Alertmanager ready", Duration::from_secs(30), || {
            client
                .get(format!("{url}/-/ready"))
                .send()
                .ok()
                .filter(|r| r.status().is_success())
                .map(|_| ())
        });
        RealAlertmanager {
            child,
            url,
            _dir: dir,
        }
    }
}

impl Drop for RealAlertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The webhook body Alertmanager posts (version 4) for one alert: firing, or resolved at
/// `ends_at`.
pub fn webhook_body(
    labels: serde_json::Value,
    annotations: serde_json::Value,
    starts_at: chrono::DateTime<chrono::Utc>,
    ends_at: Option<chrono::DateTime<chrono::Utc>>,
) -> serde_json::Value {
    let status = if ends_at.is_some() {
        "resolved"
    } else {
        "firing"
    };
    serde_json::json!({
        "version": "4", "status": status, "receiver": "nightwatch",
        "groupLabels": {}, "commonLabels": labels, "commonAnnotations": {},
        "externalURL": "http://alertmanager.example:9093",
        "alerts": [{
            "status": status, "labels": labels, "annotations": annotations,
            "startsAt": starts_at.to_rfc3339(),
            "endsAt": ends_at.map_or_else(|| "0001-01-01T00:00:00Z".to_owned(), |t| t.to_rfc3339()),
        }],
    })
}

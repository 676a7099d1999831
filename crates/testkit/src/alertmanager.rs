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

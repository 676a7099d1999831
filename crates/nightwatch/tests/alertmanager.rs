//! The real Prometheus Alertmanager delivers to a running nightwatch: alerts posted to its API
//! become incidents; their resolution resolves them. Alertmanager starts before nightwatch is
//! up, so its first deliveries fail and are retried — nothing is lost.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// Tests against a real server and lab: the wall clock and real elapsed time are the point.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use chrono::{Duration as ChronoDuration, Utc};
use nightwatch_testkit::{
    Nightwatch, RealAlertmanager, both_backends_blocking, free_port, wait_for,
};
use reqwest::blocking::Client;
use serde_json::{Value, json};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_nightwatch");

/// The real Alertmanager, routing everything to one nightwatch.
struct Alertmanager {
    real: RealAlertmanager,
}

impl Alertmanager {
    fn start(webhook: &str) -> Alertmanager {
        let real = RealAlertmanager::start(&format!(
            "route:\n  receiver: nightwatch\n  group_by: [alertname, namespace, pod, node]\n  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\n\
             receivers:\n  - name: nightwatch\n    webhook_configs:\n      - url: {webhook}\n        send_resolved: true\n"
        ));
        Alertmanager { real }
    }

    fn post(&self, alerts: Value) {
        let response = Client::new()
            .post(format!("{}/api/v2/alerts", self.real.url))
            .json(&alerts)
            .send()
            .unwrap();
        assert!(
            response.status().is_success(),
            "Alertmanager refused alerts: {}",
            response.text().unwrap()
        );
    }
}

#[test]
fn alertmanager_delivers_firing_then_resolved() {
    let client = Client::new();
    for (name, url, _guard) in both_backends_blocking("alertmanager") {
        let port = free_port();
        let am = Alertmanager::start(&format!("http://127.0.0.1:{port}/webhook/alertmanager"));
        let started = Utc::now() - ChronoDuration::minutes(1);
        let pod_alert = json!({
            "labels": {"alertname": "KubePodCrashLooping", "namespace": "shop", "pod": "api-7d9f", "container": "app", "severity": "critical", "runbook_id": "RB_CRASHLOOP"},
            "annotations": {"summary": "Pod shop/api-7d9f is crash looping", "description": "Back-off restarting failed container app"},
            "startsAt": started.to_rfc3339(),
            "generatorURL": "http://prometheus.example/graph?g0.expr=x",
        });
        let other_alert = json!({
            "labels": {"alertname": "HighErrorRate", "service": "checkout", "severity": "warning"},
            "annotations": {"summary": "5xx above 5%"},
            "startsAt": started.to_rfc3339(),
        });
        am.post(json!([pod_alert, other_alert]));

        // nightwatch comes up after Alertmanager tried to deliver: the retry must get through.
        std::thread::sleep(Duration::from_secs(2));
        let nw = Nightwatch::start_on(BIN, &url, None, port);
        let crash = wait_for(
            "incident from Alertmanager",
            Duration::from_secs(60),
            || {
                nw.incidents("alertname=KubePodCrashLooping")
                    .into_iter()
                    .next()
            },
        );
        assert_eq!(crash["state"], "triggered", "{name}");
        assert_eq!(crash["namespace"], "shop");
        assert_eq!(crash["pod"], "api-7d9f");
        assert_eq!(crash["container"], "app");
        assert_eq!(crash["severity"], "critical");
        assert_eq!(crash["summary"], "Pod shop/api-7d9f is crash looping");
        assert_eq!(
            crash["fingerprint"],
            "KubePodCrashLooping:shop:api-7d9f:app"
        );
        let other = wait_for("the second incident", Duration::from_secs(60), || {
            nw.incidents("alertname=HighErrorRate").into_iter().next()
        });
        // For alerts that are about neither a pod nor a node, our fingerprint is Alertmanager's.
        let detail: Value = client
            .get(nw.url(&format!("/api/incidents/{}", other["id"])))
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(
            detail["alerts"][0]["source_fingerprint"], other["fingerprint"],
            "{name}"
        );
        let crash_detail: Value = client
            .get(nw.url(&format!("/api/incidents/{}", crash["id"])))
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(
            crash_detail["alerts"][0]["generator_url"],
            "http://prometheus.example/graph?g0.expr=x"
        );

        // Resolve in Alertmanager: it sends the resolution, the incident resolves.
        let mut resolved = pod_alert.clone();
        resolved["endsAt"] = json!(Utc::now().to_rfc3339());
        am.post(json!([resolved]));
        let done = wait_for(
            "resolution from Alertmanager",
            Duration::from_secs(60),
            || {
                let detail: Value = client
                    .get(nw.url(&format!("/api/incidents/{}", crash["id"])))
                    .send()
                    .unwrap()
                    .json()
                    .unwrap();
                (detail["incident"]["state"] == "resolved").then_some(detail)
            },
        );
        assert_eq!(done["incident"]["resolved_by"], "alertmanager", "{name}");
        let kinds: Vec<&str> = done["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds.first(), Some(&"triggered"));
        assert_eq!(kinds.last(), Some(&"resolved"), "{name}: {kinds:?}");
        // Between them only Alertmanager's repeats and the responder's runbook run (this
        // nightwatch has no cluster: it routes, records what it could not read, and analyses).
        let responder = [
            "routed",
            "tool_call",
            "tool_result",
            "step_skipped",
            "escalated",
            "final",
            "analysis",
        ];
        assert!(
            kinds
                .iter()
                .all(|k| ["triggered", "suppressed", "resolved"].contains(k)
                    || responder.contains(k)),
            "{kinds:?}"
        );
        assert_eq!(
            kinds.iter().filter(|k| **k == "resolved").count(),
            1,
            "{name}: {kinds:?}"
        );
        // The other alert is still firing.
        let still: Value = client
            .get(nw.url(&format!("/api/incidents/{}", other["id"])))
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(still["incident"]["state"], "triggered", "{name}");
    }
}

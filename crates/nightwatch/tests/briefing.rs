//! The briefing through the real binary on SQLite and Postgres: incidents with verdicts and an
//! acknowledgement become counts by alert and verdict, MTTA, the auto-fix rate and a recurring
//! noise entry — in `GET /api/briefing`, the `/briefing` page and `nightwatch briefing`.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// Tests against a real server and lab: the wall clock and real elapsed time are the point.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use nightwatch_testkit::{Nightwatch, both_backends_blocking, wait_for, webhook_body};
use reqwest::blocking::Client;
use serde_json::{Value, json};
use std::process::Command;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_nightwatch");

fn alert(alertname: &str, pod: &str) -> Value {
    webhook_body(
        json!({"alertname": alertname, "namespace": "shop", "pod": pod, "severity": "warning"}),
        json!({}),
        chrono::Utc::now(),
        None,
    )
}

#[test]
fn the_briefing_counts_verdicts_times_and_recurring_noise() {
    let client = Client::new();
    for (name, url, _guard) in both_backends_blocking("briefing") {
        let nw = Nightwatch::start(BIN, &url, Some("[kubernetes]\nenabled = false\n"));
        for (alertname, pod) in [
            ("CPUThrottlingHigh", "a"),
            ("CPUThrottlingHigh", "b"),
            ("CPUThrottlingHigh", "c"),
            ("KubePodCrashLooping", "d"),
        ] {
            let response = client
                .post(nw.url("/webhook/alertmanager"))
                .json(&alert(alertname, pod))
                .send()
                .unwrap();
            assert!(response.status().is_success(), "{name}");
        }
        let ids: Vec<i64> = wait_for("four incidents", Duration::from_secs(30), || {
            let all = nw.incidents("");
            (all.len() == 4).then(|| all.iter().map(|i| i["id"].as_i64().unwrap()).collect())
        });
        let incident = |id: i64| {
            nw.incident(id)["incident"]["alertname"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        let mut throttling: Vec<i64> = ids
            .iter()
            .copied()
            .filter(|id| incident(*id) == "CPUThrottlingHigh")
            .collect();
        throttling.sort_unstable();
        let crash = *ids
            .iter()
            .find(|id| incident(**id) == "KubePodCrashLooping")
            .unwrap();
        for (id, verdict) in [
            (throttling[0], "noise"),
            (throttling[1], "noise"),
            (crash, "real"),
        ] {
            let response = client
                .post(nw.url(&format!("/api/incidents/{id}/verdict")))
                .json(&json!({"verdict": verdict, "by": "alice"}))
                .send()
                .unwrap();
            assert!(response.status().is_success(), "{name}");
        }
        let response = client
            .post(nw.url(&format!("/api/incidents/{crash}/ack")))
            .json(&json!({"by": "bob"}))
            .send()
            .unwrap();
        assert!(response.status().is_success(), "{name}");

        let briefing: Value = client
            .get(nw.url("/api/briefing"))
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(briefing["incidents"], 4, "{name}: {briefing}");
        assert_eq!(briefing["open"], 4, "{name}");
        assert_eq!(
            briefing["by_alertname"][0]["alertname"], "CPUThrottlingHigh",
            "{name}"
        );
        assert_eq!(
            briefing["by_alertname"][0]["verdicts"],
            json!({"noise": 2, "none": 1}),
            "{name}"
        );
        assert_eq!(briefing["by_verdict"]["real"], 1, "{name}");
        assert!(briefing["mtta_seconds"].as_i64().unwrap() >= 0, "{name}");
        assert!(
            briefing["mttr_seconds"].is_null(),
            "{name}: nothing resolved"
        );
        assert_eq!(briefing["auto_fix_rate"], 0.0, "{name}");
        assert_eq!(
            briefing["recurring_noise"],
            json!([{"alertname": "CPUThrottlingHigh", "incidents": 3, "noise": 2}]),
            "{name}"
        );
        assert_eq!(briefing["recent_real"][0]["id"], crash, "{name}");
        assert!(
            briefing["markdown"]
                .as_str()
                .unwrap()
                .contains("- CPUThrottlingHigh: 3 incidents, 2 marked noise"),
            "{name}"
        );

        let bad = client.get(nw.url("/api/briefing?days=0")).send().unwrap();
        assert_eq!(bad.status(), 400, "{name}");

        let page = client
            .get(nw.url("/briefing"))
            .send()
            .unwrap()
            .text()
            .unwrap();
        assert!(page.contains("id=\"recurring-noise\""), "{name}");
        assert!(page.contains("CPUThrottlingHigh"), "{name}");
        assert!(page.contains("4 incidents (4 open)"), "{name}");

        let output = Command::new(BIN)
            .args(["--database-url", &url, "briefing", "--json"])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let cli: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(
            cli["recurring_noise"], briefing["recurring_noise"],
            "{name}"
        );
        let text = Command::new(BIN)
            .args(["--database-url", &url, "briefing"])
            .output()
            .unwrap();
        assert!(
            String::from_utf8_lossy(&text.stdout).starts_with("# nightwatch briefing, last 7 days"),
            "{name}"
        );
    }
}

#[test]
fn incidents_of_test_tenants_are_judged_noise_automatically() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("nw.db").display());
    let nw = Nightwatch::start(BIN, &url, Some("[kubernetes]\nenabled = false\n"));
    let client = Client::new();
    for (namespace, pod) in [("tenant-test-7", "web-1"), ("shop", "web-2")] {
        let mut body = alert("KubePodCrashLooping", pod);
        body["alerts"][0]["labels"]["namespace"] = json!(namespace);
        assert!(
            client
                .post(nw.url("/webhook/alertmanager"))
                .json(&body)
                .send()
                .unwrap()
                .status()
                .is_success()
        );
    }
    let tenant = wait_for("the tenant's verdict", Duration::from_secs(30), || {
        nw.incidents("namespace=tenant-test-7")
            .into_iter()
            .find(|i| i["verdict"] == "noise")
    });
    let detail = nw.incident(tenant["id"].as_i64().unwrap());
    let verdict = detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "verdict")
        .unwrap()
        .clone();
    assert_eq!(verdict["actor"], "nightwatch", "{verdict}");
    // The other namespace is left for a person, once its runbook ran.
    wait_for("shop's analysis", Duration::from_secs(30), || {
        let shop = nw.incidents("namespace=shop").into_iter().next()?;
        let detail = nw.incident(shop["id"].as_i64().unwrap());
        (!detail["analysis"].is_null()).then_some(())
    });
    assert!(nw.incidents("namespace=shop")[0]["verdict"].is_null());
}

//! Noise-tuning proposals through the real binary, with the real Prometheus Alertmanager: an
//! alert marked noise three times (and in no rule file) gets a silence proposal, which alice
//! approves and nightwatch creates through Alertmanager's API; an alert of the shipped rules
//! whose incidents all resolved by themselves within seconds gets a diff raising its `for:`,
//! which cannot be "approved" as a silence.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// Tests against a real server and lab: the wall clock and real elapsed time are the point.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use nightwatch_testkit::{Nightwatch, RealAlertmanager, wait_for, webhook_body};
use reqwest::blocking::Client;
use serde_json::{Value, json};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_nightwatch");
const WAIT: Duration = Duration::from_secs(30);

fn body(alertname: &str, pod: &str, resolved: bool) -> Value {
    let now = chrono::Utc::now();
    webhook_body(
        json!({"alertname": alertname, "namespace": "shop", "pod": pod, "severity": "warning"}),
        json!({}),
        now - chrono::Duration::minutes(1),
        resolved.then_some(now),
    )
}

#[test]
fn noise_gets_a_silence_or_a_rule_diff_and_an_approved_silence_reaches_alertmanager() {
    let am = RealAlertmanager::start("route:\n  receiver: none\nreceivers:\n  - name: none\n");
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("nw.db").display());
    let rules = nightwatch_testkit::repo_root().join("rules/nightwatch.rules.yml");
    let config = format!(
        "[kubernetes]\nenabled = false\n\n[sources.alertmanager]\nurl = \"{}\"\n\n[tuning]\nrule_files = [{:?}]\n",
        am.url,
        rules.display().to_string()
    );
    let nw = Nightwatch::start_secure(BIN, &url, Some(&config));
    let alice = nw.user_token(BIN, &url, "alice", "approver");
    let client = Client::new();
    let post = |value: Value| {
        let response = client
            .post(nw.url("/webhook/alertmanager"))
            .json(&value)
            .send()
            .unwrap();
        assert!(response.status().is_success());
    };
    for pod in ["a", "b", "c"] {
        post(body("VendorFlaky", pod, false));
        post(body("KubePodCrashLoopBackOff", pod, false));
        post(body("KubePodCrashLoopBackOff", pod, true));
    }
    let flaky: Vec<i64> = wait_for("three VendorFlaky incidents", WAIT, || {
        let list = nw.incidents("alertname=VendorFlaky");
        (list.len() == 3).then(|| list.iter().map(|i| i["id"].as_i64().unwrap()).collect())
    });
    wait_for("three resolved crash loops", WAIT, || {
        (nw.incidents("alertname=KubePodCrashLoopBackOff&state=resolved")
            .len()
            == 3)
            .then_some(())
    });
    for id in flaky {
        let response = client
            .post(nw.url(&format!("/api/incidents/{id}/verdict")))
            .bearer_auth(&alice)
            .json(&json!({"verdict": "noise"}))
            .send()
            .unwrap();
        assert!(response.status().is_success());
    }

    let tuning: Value = client
        .get(nw.url("/api/tuning"))
        .bearer_auth(&alice)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let proposals = tuning["proposals"].as_array().unwrap();
    let find = |name: &str| {
        proposals
            .iter()
            .find(|p| p["alertname"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name}: {tuning}"))
    };
    let flaky = find("VendorFlaky");
    assert_eq!(flaky["change"]["kind"], "silence", "{flaky}");
    assert_eq!(
        flaky["change"]["matchers"],
        json!({"alertname": "VendorFlaky", "namespace": "shop"})
    );
    assert_eq!(flaky["evidence"]["noise"], 3);
    let crash = find("KubePodCrashLoopBackOff");
    assert_eq!(crash["change"]["kind"], "rule_diff", "{crash}");
    let diff = crash["change"]["diff"].as_str().unwrap();
    assert!(diff.contains("rules/nightwatch.rules.yml"), "{diff}");
    assert!(diff.contains("\n-        for: "), "{diff}");
    assert!(diff.contains("\n+        for: "), "{diff}");
    assert_eq!(crash["evidence"]["resolved_by_itself_quickly"], 3);

    // A rule diff is applied to the rule file, not approved as a silence.
    let refused = client
        .post(nw.url("/api/tuning/KubePodCrashLoopBackOff/silence"))
        .bearer_auth(&alice)
        .send()
        .unwrap();
    assert_eq!(refused.status(), 409);

    // alice approves the silence; it exists in Alertmanager with the proposal's matchers.
    let created: Value = client
        .post(nw.url("/api/tuning/VendorFlaky/silence"))
        .bearer_auth(&alice)
        .json(&json!({}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let id = created["silence_id"].as_str().unwrap();
    let silence: Value = client
        .get(format!("{}/api/v2/silence/{id}", am.url))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(silence["status"]["state"], "active", "{silence}");
    assert_eq!(silence["createdBy"], "alice");
    let mut matchers: Vec<(String, String)> = silence["matchers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap().to_owned(),
                m["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    matchers.sort();
    assert_eq!(
        matchers,
        [
            ("alertname".to_owned(), "VendorFlaky".to_owned()),
            ("namespace".to_owned(), "shop".to_owned())
        ]
    );

    let page = client
        .get(nw.url("/tuning"))
        .bearer_auth(&alice)
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(page.contains("id=\"proposal-VendorFlaky\""));
    assert!(page.contains("Approve and create the silence"));
    assert!(page.contains("-        for: "), "the diff is shown");
}

//! The lab's API server killed in the middle of a remediation, then started again, with the
//! real binary acting in an auto class:
//! - down when the crash-loop alert arrives: nothing can be read or resolved, so the run
//!   neither acts nor escalates; it looks again, and once the server is back the restart runs
//!   and is verified;
//! - down right after the restart was executed: the verification reads fail for a while and
//!   are not taken for a failed restart; it is verified when the server answers again, and
//!   never executed twice.
//!
//! (The lab marks nodes NotReady after 12 s without heartbeats, so its outages stay short,
//! and `verify_timeout` long enough for the pods to come back afterwards.)
// A real API server stopped and started on the wall clock.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use nightwatch_testkit::{Lab, LabDeployment, LabOptions, Nightwatch, fresh_sqlite_url};
use serde_json::{Value, json};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_nightwatch");
const NAMESPACE: &str = "outage";
const TIMEOUT: Duration = Duration::from_secs(180);

const POLICY: &str = r#"
mode: auto
environments:
  - { class: lab, namespaces: ["*"] }
classes:
  lab: { auto: [rollout_restart] }
"#;

/// A one-replica Deployment whose running pod then starts crashing (the template is fine: a
/// restart fixes it). Returns the crashing pod's name.
fn crashing_deployment(lab: &Lab, name: &str) -> String {
    let manifest = LabDeployment {
        name,
        container: "app",
        image: "registry.lab/app:1.0",
        memory_limit: "64Mi",
        node: "lab-node-1",
        annotations: json!({}),
        volumes: json!([]),
    }
    .manifest();
    lab.kube_create(
        &format!("/apis/apps/v1/namespaces/{NAMESPACE}/deployments"),
        &manifest,
    );
    let pod = lab.wait_until("the pod running", TIMEOUT, String::new, || {
        let pods = lab
            .kube_get(&format!(
                "/api/v1/namespaces/{NAMESPACE}/pods?labelSelector=app%3D{name}"
            ))
            .ok()?;
        pods["items"]
            .as_array()?
            .iter()
            .find(|pod| pod["status"]["phase"] == "Running")?["metadata"]["name"]
            .as_str()
            .map(str::to_owned)
    });
    lab.kube_patch(
        &format!("/api/v1/namespaces/{NAMESPACE}/pods/{pod}"),
        &json!({"metadata": {"annotations": {"sim.nightwatch.dev/exit-code": "1"}}}),
    );
    lab.wait_until("the pod crashing", TIMEOUT, String::new, || {
        let pod = lab
            .kube_get(&format!("/api/v1/namespaces/{NAMESPACE}/pods/{pod}"))
            .ok()?;
        let restarts = pod["status"]["containerStatuses"][0]["restartCount"].as_i64()?;
        (restarts >= 1).then_some(())
    });
    pod
}

fn crash_alert(pod: &str) -> Value {
    json!({
        "version": "4", "status": "firing",
        "alerts": [{"status": "firing", "startsAt": "2026-12-03T10:00:00Z", "labels": {
            "alertname": "KubePodCrashLooping", "namespace": NAMESPACE, "pod": pod,
            "container": "app", "severity": "warning"}}]
    })
}

fn post_alert(nw: &Nightwatch, pod: &str) -> i64 {
    let response = reqwest::blocking::Client::new()
        .post(nw.url("/webhook/alertmanager"))
        .json(&crash_alert(pod))
        .send()
        .unwrap();
    assert!(response.status().is_success());
    nightwatch_testkit::wait_for("the incident", Duration::from_secs(30), || {
        nw.incidents(&format!("pod={pod}"))
            .first()
            .and_then(|i| i["id"].as_i64())
    })
}

fn events(nw: &Nightwatch, incident: i64) -> Vec<Value> {
    nw.incident(incident)["events"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn actions(nw: &Nightwatch, incident: i64) -> Vec<Value> {
    reqwest::blocking::get(nw.url(&format!("/api/actions?incident={incident}")))
        .unwrap()
        .json()
        .unwrap()
}

fn generation(lab: &Lab, deployment: &str) -> i64 {
    lab.kube_get(&format!(
        "/apis/apps/v1/namespaces/{NAMESPACE}/deployments/{deployment}"
    ))
    .unwrap()["metadata"]["generation"]
        .as_i64()
        .unwrap()
}

fn verified(nw: &Nightwatch, incident: i64) -> Option<Value> {
    actions(nw, incident)
        .into_iter()
        .find(|action| action["state"] == "verified")
}

#[test]
fn an_api_server_outage_mid_remediation_waits_resumes_and_never_acts_twice() {
    let lab = Lab::start(LabOptions::default());
    let rbac = nightwatch_testkit::repo_root().join("deploy/rbac");
    lab.apply_manifest(&rbac.join("readonly.yaml"));
    lab.apply_manifest(&rbac.join("remediation.yaml"));
    let kubeconfig = lab.service_account_kubeconfig("nightwatch", "nightwatch");
    lab.create_namespace(NAMESPACE);
    let before_pod = crashing_deployment(&lab, "before");
    let during_pod = crashing_deployment(&lab, "during");

    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.yaml");
    std::fs::write(&policy, POLICY).unwrap();
    let config = format!(
        "policy_file = {policy:?}\n[kubernetes]\nkubeconfig = {kubeconfig:?}\ntimeout = \"5s\"\n\
         [actions]\nverify_timeout = \"90s\"\nverify_interval = \"1s\"\nrecheck_after = \"2s\"\n\
         max_rechecks = 30\nlease = \"5m\"\n",
        policy = policy.display().to_string(),
        kubeconfig = kubeconfig.display().to_string(),
    );
    let (url, _db) = fresh_sqlite_url();
    let nw = Nightwatch::start(BIN, &url, Some(&config));
    let context = || {
        let timelines: Vec<String> = nw
            .incidents("")
            .iter()
            .filter_map(|i| i["id"].as_i64())
            .map(|id| {
                let events: Vec<String> = events(&nw, id)
                    .iter()
                    .map(|e| format!("{} {}", e["kind"], e["payload"]))
                    .collect();
                format!(
                    "incident {id}:\n  {}\n  actions: {:?}",
                    events.join("\n  "),
                    actions(&nw, id)
                )
            })
            .collect();
        format!(
            "{}\nlog tail:\n{}",
            timelines.join("\n"),
            nw.log()
                .lines()
                .rev()
                .take(40)
                .collect::<Vec<_>>()
                .join("\n")
        )
    };

    // --- down before anything is read
    let apiserver = lab.stop_component("kube-apiserver");
    let before = post_alert(&nw, &before_pod);
    lab.wait_until("two runs that could not read", TIMEOUT, context, || {
        let finals = events(&nw, before)
            .iter()
            .filter(|e| e["kind"] == "final")
            .count();
        (finals >= 2).then_some(())
    });
    assert!(
        actions(&nw, before).is_empty(),
        "nothing proposed without a reading: {:?}",
        actions(&nw, before)
    );
    lab.start_component(apiserver);
    let action = lab.wait_until("the restart verified", TIMEOUT, context, || {
        verified(&nw, before)
    });
    assert_eq!(action["action"], "rollout_restart");
    assert_eq!(generation(&lab, "before"), 2, "restarted once");
    let kinds: Vec<Value> = events(&nw, before)
        .iter()
        .map(|e| e["kind"].clone())
        .collect();
    assert!(
        !kinds.contains(&json!("escalated")),
        "an outage is not a human's problem: {kinds:?}"
    );

    // --- down right after the restart was executed
    let during = post_alert(&nw, &during_pod);
    lab.wait_until("the restart executed", TIMEOUT, context, || {
        events(&nw, during)
            .iter()
            .any(|e| e["kind"] == "action_executed" && e["payload"]["ok"] == true)
            .then_some(())
    });
    let apiserver = lab.stop_component("kube-apiserver");
    std::thread::sleep(Duration::from_secs(6));
    let running = actions(&nw, during);
    assert_eq!(
        running
            .iter()
            .map(|a| a["state"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["running"],
        "not failed for want of a reading"
    );
    lab.start_component(apiserver);
    let action = lab.wait_until("the restart verified after all", TIMEOUT, context, || {
        verified(&nw, during)
    });
    assert_eq!(action["id"], running[0]["id"], "the same action, verified");
    assert_eq!(generation(&lab, "during"), 2, "executed once, not again");
    let events = events(&nw, during);
    assert!(
        !events.iter().any(|e| e["kind"] == "escalated"),
        "{:?}",
        events.iter().map(|e| &e["kind"]).collect::<Vec<_>>()
    );
    assert_eq!(actions(&nw, during).len(), 1, "one action for the incident");
}

//! Runbooks that act, end to end in the lab: faults in the real API server (through the kubelet
//! simulator) → real Prometheus and Alertmanager → nightwatch routes each incident to its
//! runbook, reads the cluster, asks the policy, and — in auto classes — dry-runs, executes and
//! verifies the fix; the fault is really gone and Alertmanager resolves the incident. In a
//! class that needs approval the cluster is untouched until a human approves — through the API,
//! or with the Approve button of the approval posted to (the fake) Slack, over Socket Mode.
// Tests against a real server and lab: the wall clock and real elapsed time are the point.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use nightwatch_testkit::{
    Lab, LabDeployment, LabOptions, Nightwatch, free_port, fresh_postgres_url_blocking,
    fresh_sqlite_url,
};
use serde_json::{Value, json};
use std::time::Duration;

const NIGHTWATCH: &str = env!("CARGO_BIN_EXE_nightwatch");
const POD_NODE: &str = "lab-node-1";
const NOT_READY_NODE: &str = "lab-node-2";
const CORDONED_NODE: &str = "lab-node-3";
const FALLBACK_IMAGE: &str = "registry.lab/fallback:stable";
const TIMEOUT: Duration = Duration::from_secs(300);

const POLICY: &str = r#"
mode: auto
environments:
  - { class: observe, namespaces: ["rec-*"] }
  - { class: prod, namespaces: ["prod-*"] }
  - { class: manual, namespaces: ["manual-*"] }
  - { class: lab, namespaces: ["*"] }
  - { class: nodes, nodes: ["*"] }
classes:
  observe: {}
  prod: { approval: [rollout_restart, delete_pod] }
  manual: { approval: [delete_pod, rollout_restart, increase_memory_limit, patch_image] }
  lab: { auto: [delete_pod, rollout_restart, increase_memory_limit, patch_image] }
  nodes: { auto: [cordon, uncordon, drain] }
limits: { per_target_per_hour: 3, global_per_hour: 50, breaker: { same_action_same_target: 3, window: 24h } }
"#;

/// The second nightwatch (on Postgres): recommend mode, where even the auto lists wait for a
/// human. The `rec-*` namespaces are left to it (the auto instance may not act there).
const RECOMMEND_POLICY: &str = r#"
mode: recommend
environments:
  - { class: lab, namespaces: ["*"] }
  - { class: nodes, nodes: ["*"] }
classes:
  lab: { auto: [delete_pod, rollout_restart, increase_memory_limit, patch_image] }
  nodes: { auto: [cordon, uncordon, drain] }
"#;

/// User runbooks: one that tries every forbidden action and a restart in whatever namespace the
/// alert names, and one that restarts (for the flood).
const EVIL_RUNBOOK: &str = "---
id: RB_EVIL
title: Tries what it must not
match: { alertnames: [EvilAlert] }
steps:
  - { id: wipe_namespace, tool: delete_namespace }
  - { id: wipe_secret, tool: delete_secret }
  - { id: scale_down, tool: scale_to_zero }
  - { id: push, tool: git_push }
  - { id: restart, tool: rollout_restart }
---
Adversarial test runbook.
";
const RESTART_RUNBOOK: &str = "---
id: RB_RESTART
title: Restart the workload
steps:
  - { id: restart, tool: rollout_restart }
---
Flood test runbook.
";

/// An Alertmanager webhook body with one firing alert per `(alertname, runbook_id)` (no
/// `runbook_id` label when empty: routed by name and evidence), about `pod` of Deployment `web`.
fn crafted_alerts(namespace: &str, pod: &str, alerts: &[(String, &str)]) -> Value {
    let alerts: Vec<Value> = alerts
        .iter()
        .map(|(alertname, runbook_id)| {
            let mut labels = json!({"alertname": alertname, "namespace": namespace,
                           "pod": pod, "deployment": "web", "container": "web", "severity": "critical"});
            if !runbook_id.is_empty() {
                labels["runbook_id"] = json!(runbook_id);
            }
            json!({
                "status": "firing",
                "labels": labels,
                "annotations": {"summary": "crafted"},
                "startsAt": chrono::Utc::now().to_rfc3339(),
                "endsAt": "0001-01-01T00:00:00Z",
            })
        })
        .collect();
    json!({"version": "4", "status": "firing", "receiver": "test", "groupKey": "{}", "alerts": alerts})
}

fn first_running_pod(lab: &Lab, namespace: &str) -> Option<String> {
    let pods = lab
        .kube_get(&format!("/api/v1/namespaces/{namespace}/pods"))
        .ok()?;
    let pod = pods["items"]
        .as_array()?
        .iter()
        .find(|pod| pod["status"]["phase"] == "Running")?
        .clone();
    pod["metadata"]["name"].as_str().map(str::to_owned)
}

fn deployment(name: &str, image: &str, annotations: Value, memory_limit: &str) -> Value {
    LabDeployment {
        name,
        container: name,
        image,
        memory_limit,
        node: POD_NODE,
        annotations,
        volumes: json!([]),
    }
    .manifest()
}

fn post(url: &str, body: Value) -> (u16, Value) {
    let response = reqwest::blocking::Client::new()
        .post(url)
        .json(&body)
        .send()
        .unwrap();
    (
        response.status().as_u16(),
        response.json().unwrap_or(Value::Null),
    )
}

/// The incident of `alertname` in `namespace` (or on `node`), once it exists.
fn incident(nightwatch: &Nightwatch, alertname: &str, scope: &str) -> Option<Value> {
    nightwatch
        .incidents(&format!("alertname={alertname}&{scope}"))
        .into_iter()
        .next()
}

fn actions(nightwatch: &Nightwatch, incident_id: i64) -> Vec<Value> {
    nightwatch
        .get(&format!("/api/actions?incident={incident_id}"))
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn event_kinds(nightwatch: &Nightwatch, incident_id: i64) -> Vec<String> {
    nightwatch.incident(incident_id)["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["kind"].as_str().unwrap().to_owned())
        .collect()
}

fn deployment_of(lab: &Lab, namespace: &str, name: &str) -> Value {
    lab.kube_get(&format!(
        "/apis/apps/v1/namespaces/{namespace}/deployments/{name}"
    ))
    .unwrap()
}

fn container_of(deployment: &Value) -> &Value {
    &deployment["spec"]["template"]["spec"]["containers"][0]
}

fn running_pods(lab: &Lab, namespace: &str) -> usize {
    lab.kube_get(&format!("/api/v1/namespaces/{namespace}/pods"))
        .unwrap()["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|pod| {
            pod["metadata"]["deletionTimestamp"].is_null() && pod["status"]["phase"] == "Running"
        })
        .filter(|pod| {
            pod["status"]["containerStatuses"]
                .as_array()
                .is_some_and(|statuses| statuses.iter().all(|status| status["ready"] == true))
        })
        .count()
}

struct Expect {
    alertname: &'static str,
    scope: String,
    runbook: &'static str,
    action: &'static str,
}

#[test]
fn runbooks_fix_every_scenario_in_auto_classes_and_wait_for_approval_elsewhere() {
    let (database_url, _database_dir) = fresh_sqlite_url();
    let port = free_port();
    let recommend_port = free_port();
    let mut lab = Lab::start(LabOptions {
        webhooks: [port, recommend_port]
            .iter()
            .map(|port| format!("http://127.0.0.1:{port}/webhook/alertmanager"))
            .collect(),
        ..LabOptions::default()
    });
    // nightwatch acts as its ServiceAccount, bound to exactly the shipped roles — not as admin.
    let rbac = nightwatch_testkit::repo_root().join("deploy/rbac");
    lab.apply_manifest(&rbac.join("readonly.yaml"));
    lab.apply_manifest(&rbac.join("remediation.yaml"));
    let kubeconfig = lab.service_account_kubeconfig("nightwatch", "nightwatch");
    let policy_dir = tempfile::tempdir().unwrap();
    let policy_path = policy_dir.path().join("policy.yaml");
    std::fs::write(&policy_path, POLICY).unwrap();
    let runbooks_dir = policy_dir.path().join("runbooks");
    std::fs::create_dir(&runbooks_dir).unwrap();
    std::fs::write(runbooks_dir.join("evil.md"), EVIL_RUNBOOK).unwrap();
    std::fs::write(runbooks_dir.join("restart.md"), RESTART_RUNBOOK).unwrap();
    let slack_runtime = tokio::runtime::Runtime::new().unwrap();
    let slack = slack_runtime
        .block_on(nightwatch_notify::fake::FakeSlack::start())
        .unwrap();
    let config = format!(
        "policy_file = {policy:?}\nrunbooks_dir = {runbooks:?}\n[kubernetes]\nkubeconfig = {kubeconfig:?}\n[actions]\nfallback_image = {FALLBACK_IMAGE:?}\nverify_timeout = \"150s\"\nverify_interval = \"1s\"\nrecheck_after = \"5s\"\nmax_rechecks = 30\n\
         [notify.slack]\nbot_token = {bot:?}\napp_token = {app:?}\nchannel = \"#alerts\"\nbase_url = {base:?}\n\
         [access.slack_users]\nUALICE = \"alice\"\nURITA = \"rita\"\n",
        policy = policy_path.display().to_string(),
        runbooks = runbooks_dir.display().to_string(),
        kubeconfig = kubeconfig.display().to_string(),
        bot = slack.bot_token(),
        app = slack.app_token(),
        base = slack.base_url(),
    );
    // Authentication on, as in production: every approval names the signed-in approver.
    let nightwatch = Nightwatch::start_secure_on(NIGHTWATCH, &database_url, Some(&config), port);
    for (name, role) in [("alice", "approver"), ("rita", "responder")] {
        nightwatch.user_token(NIGHTWATCH, &database_url, name, role);
    }
    let bob = nightwatch.user_token(NIGHTWATCH, &database_url, "bob", "approver");
    let recommend_policy = policy_dir.path().join("recommend.yaml");
    std::fs::write(&recommend_policy, RECOMMEND_POLICY).unwrap();
    let recommend_config = format!(
        "policy_file = {policy:?}\n[kubernetes]\nkubeconfig = {kubeconfig:?}\n[actions]\nverify_timeout = \"150s\"\nverify_interval = \"1s\"\nrecheck_after = \"5s\"\nmax_rechecks = 30\n",
        policy = recommend_policy.display().to_string(),
        kubeconfig = kubeconfig.display().to_string(),
    );
    let recommending_url = fresh_postgres_url_blocking("remediation");
    let recommending = Nightwatch::start_secure_on(
        NIGHTWATCH,
        &recommending_url,
        Some(&recommend_config),
        recommend_port,
    );
    let [carol, dave, eve] = ["carol", "dave", "eve"]
        .map(|name| recommending.user_token(NIGHTWATCH, &recommending_url, name, "approver"));
    let rita = recommending.user_token(NIGHTWATCH, &recommending_url, "rita", "responder");
    let context = || {
        format!(
            "incidents: {}\nactions: {}\nnightwatch log tail:\n{}",
            serde_json::to_string_pretty(&nightwatch.incidents("")).unwrap_or_default(),
            serde_json::to_string_pretty(&nightwatch.get("/api/actions")).unwrap_or_default(),
            nightwatch
                .log()
                .lines()
                .rev()
                .take(40)
                .collect::<Vec<_>>()
                .join("\n"),
        )
    };

    // --- faults
    for namespace in [
        "imagepull",
        "oom",
        "creating",
        "crashloop",
        "manual-oom",
        "rec-oom",
        "prod-web",
        "flood",
        "healthy",
        "manual-reroute",
    ] {
        lab.create_namespace(namespace);
    }
    let deployments = |namespace: &str| format!("/apis/apps/v1/namespaces/{namespace}/deployments");
    lab.kube_create(
        &deployments("imagepull"),
        &deployment("web", "registry.invalid/shop/web:1.4.2", json!({}), "128Mi"),
    );
    let oom = json!({"sim.nightwatch.dev/memory-demand": "200Mi"});
    lab.kube_create(
        &deployments("oom"),
        &deployment("worker", "registry.lab/worker:2.0", oom.clone(), "128Mi"),
    );
    lab.kube_create(
        &deployments("rec-oom"),
        &deployment("worker", "registry.lab/worker:2.0", oom.clone(), "128Mi"),
    );
    lab.kube_create(
        &deployments("manual-oom"),
        &deployment("worker", "registry.lab/worker:2.0", oom.clone(), "128Mi"),
    );
    // OOM-killed, with a `web` container a crafted crash-loop alert names.
    lab.kube_create(
        &deployments("manual-reroute"),
        &deployment("web", "registry.lab/web:1.0", oom, "128Mi"),
    );
    lab.kube_create(
        &deployments("creating"),
        &deployment(
            "api",
            "registry.lab/api:3.1",
            json!({"sim.nightwatch.dev/sandbox-failures": "1"}),
            "128Mi",
        ),
    );
    for namespace in ["prod-web", "healthy"] {
        lab.kube_create(
            &deployments(namespace),
            &deployment("web", "registry.lab/web:1.0", json!({}), "128Mi"),
        );
    }
    // No pod of this one can be scheduled (it asks for a node that does not exist), which no
    // shipped rule alerts on: a restart's premise (a failing pod) holds each time, and it
    // fixes nothing.
    let mut unschedulable = deployment("web", "registry.lab/web:1.0", json!({}), "128Mi");
    unschedulable["spec"]["template"]["spec"]["nodeSelector"] =
        json!({"kubernetes.io/hostname": "no-such-node"});
    lab.kube_create(&deployments("flood"), &unschedulable);
    lab.kube_create(
        &deployments("crashloop"),
        &deployment("billing", "registry.lab/billing:5.0", json!({}), "128Mi"),
    );
    // A pod that went bad while running (the template is fine): a restart fixes it.
    let billing = lab.wait_until("billing pod running", TIMEOUT, context, || {
        let pods = lab.kube_get("/api/v1/namespaces/crashloop/pods").ok()?;
        let pod = pods["items"]
            .as_array()?
            .iter()
            .find(|pod| pod["status"]["phase"] == "Running")?
            .clone();
        pod["metadata"]["name"].as_str().map(str::to_owned)
    });
    lab.kube_patch(
        &format!("/api/v1/namespaces/crashloop/pods/{billing}"),
        &json!({"metadata": {"annotations": {"sim.nightwatch.dev/exit-code": "1", "sim.nightwatch.dev/log": "panic: lost connection to the config store"}}}),
    );
    lab.cordon(CORDONED_NODE, true);
    lab.heartbeat(NOT_READY_NODE, false);

    // --- every auto scenario: routed to its runbook, the action dry-run, executed and verified
    let expectations = [
        Expect {
            alertname: "KubePodImagePullBackOff",
            scope: "namespace=imagepull".into(),
            runbook: "RB_IMAGEPULL",
            action: "fix_imagepullbackoff",
        },
        Expect {
            alertname: "KubePodOOMKilled",
            scope: "namespace=oom".into(),
            runbook: "RB_OOM",
            action: "increase_memory_limit",
        },
        Expect {
            alertname: "KubePodContainerCreatingStuck",
            scope: "namespace=creating".into(),
            runbook: "RB_CONTAINERCREATING",
            action: "delete_pod",
        },
        Expect {
            alertname: "KubePodCrashLoopBackOff",
            scope: "namespace=crashloop".into(),
            runbook: "RB_CRASHLOOP",
            action: "rollout_restart",
        },
        Expect {
            alertname: "KubeNodeUnschedulable",
            scope: format!("node={CORDONED_NODE}"),
            runbook: "RB_NODE_UNSCHEDULABLE",
            action: "uncordon",
        },
        Expect {
            alertname: "KubeNodeNotReady",
            scope: format!("node={NOT_READY_NODE}"),
            runbook: "RB_NODE_NOTREADY",
            action: "drain",
        },
    ];
    for expect in &expectations {
        let what = format!("{} → {} verified", expect.alertname, expect.action);
        let (incident, action) = lab.wait_until(&what, TIMEOUT, context, || {
            let incident = incident(&nightwatch, expect.alertname, &expect.scope)?;
            let id = incident["id"].as_i64()?;
            let action = actions(&nightwatch, id)
                .into_iter()
                .find(|a| a["action"] == expect.action)?;
            assert!(
                !["failed", "denied", "forbidden", "escalated", "pending"]
                    .contains(&action["state"].as_str().unwrap_or("")),
                "{what}: action ended {}: {action}\n{}",
                action["state"],
                context()
            );
            (action["state"] == "verified").then_some((incident, action))
        });
        let id = incident["id"].as_i64().unwrap();
        let detail = nightwatch.incident(id);
        assert_eq!(detail["incident"]["runbook"], expect.runbook, "{what}");
        assert_eq!(detail["incident"]["mode"], "auto", "{what}");
        let kinds = event_kinds(&nightwatch, id);
        for kind in [
            "routed",
            "tool_result",
            "action_proposed",
            "action_dry_run",
            "action_executed",
            "action_verified",
        ] {
            assert!(
                kinds.iter().any(|k| k == kind),
                "{what}: no {kind} event in {kinds:?}"
            );
        }
        assert!(action["executed_at"].is_string(), "{what}: {action}");
        assert_eq!(action["rule"], "class_auto", "{what}");
    }

    // --- the cluster really changed as the runbooks said
    assert_eq!(
        container_of(&deployment_of(&lab, "imagepull", "web"))["image"],
        FALLBACK_IMAGE
    );
    assert_eq!(
        container_of(&deployment_of(&lab, "oom", "worker"))["resources"]["limits"]["memory"],
        "256Mi"
    );
    assert!(
        deployment_of(&lab, "crashloop", "billing")["spec"]["template"]["metadata"]["annotations"]
            ["kubectl.kubernetes.io/restartedAt"]
            .is_string()
    );
    let node = |name: &str| lab.kube_get(&format!("/api/v1/nodes/{name}")).unwrap();
    assert_ne!(
        node(CORDONED_NODE)["spec"]["unschedulable"],
        true,
        "uncordoned"
    );
    assert_eq!(
        node(NOT_READY_NODE)["spec"]["unschedulable"],
        true,
        "cordoned by the drain"
    );
    for namespace in ["imagepull", "oom", "creating", "crashloop"] {
        assert_eq!(
            running_pods(&lab, namespace),
            1,
            "{namespace}: the workload runs again\n{}",
            context()
        );
    }

    // --- every incident resolves once Alertmanager sees the fault gone: the pods run, the
    // cordoned node was uncordoned, and the drained node (cordoned, empty) gets its kubelet back
    lab.heartbeat(NOT_READY_NODE, true);
    for expect in &expectations {
        let resolved = lab.wait_until(
            &format!("{} resolved", expect.alertname),
            TIMEOUT,
            context,
            || {
                nightwatch
                    .incidents(&format!(
                        "alertname={}&{}&state=resolved",
                        expect.alertname, expect.scope
                    ))
                    .into_iter()
                    .next()
            },
        );
        // Resolved after its verified fix: nightwatch judges it auto-fixed.
        let id = resolved["id"].as_i64().unwrap();
        lab.wait_until(
            &format!("{} judged auto-fixed", expect.alertname),
            TIMEOUT,
            context,
            || {
                let detail = nightwatch.get(&format!("/api/incidents/{id}"));
                (detail["incident"]["verdict"] == "auto-fixed").then_some(())
            },
        );
    }

    // --- approval class: recommended, cluster untouched, then approved and run
    let manual = lab.wait_until("manual-oom pending approval", TIMEOUT, context, || {
        let incident = incident(&nightwatch, "KubePodOOMKilled", "namespace=manual-oom")?;
        actions(&nightwatch, incident["id"].as_i64()?)
            .into_iter()
            .find(|action| action["state"] == "pending")
    });
    assert_eq!(manual["rule"], "class_approval");
    assert_eq!(manual["target"]["kind"], "Deployment");
    assert_eq!(
        container_of(&deployment_of(&lab, "manual-oom", "worker"))["resources"]["limits"]["memory"],
        "128Mi"
    );
    let action_id = manual["id"].as_i64().unwrap();
    // The approval is posted to the incident's Slack thread with its buttons; alice approves
    // there, over Socket Mode.
    let approval = lab.wait_until("the approval in Slack", TIMEOUT, context, || {
        slack.messages("#alerts").into_iter().find(|m| {
            m.text.contains("Approval needed")
                && m.blocks
                    .to_string()
                    .contains(&format!("action #{action_id}:"))
        })
    });
    assert!(approval.thread_ts.is_some(), "in the incident's thread");
    lab.wait_until("socket mode", TIMEOUT, context, || {
        (slack.live_connections() >= 1).then_some(())
    });
    // A press by someone not mapped to a nightwatch user, or mapped without the approver role,
    // changes nothing and is told so, privately.
    for (presser, why) in [("mallory", "not mapped"), ("rita", "approver role")] {
        let replies = slack.responses().len();
        slack
            .click("#alerts", &approval.ts, "nw_approve", presser)
            .unwrap();
        let reply = lab.wait_until("the refusal", TIMEOUT, context, || {
            slack
                .responses()
                .get(replies)
                .map(|(_, body)| body.to_string())
        });
        assert!(
            reply.contains("Not allowed") && reply.contains(why),
            "{reply}"
        );
        assert_eq!(
            nightwatch.get(&format!("/api/actions/{action_id}"))["state"],
            "pending",
            "{presser}'s press changed nothing"
        );
    }
    slack
        .click("#alerts", &approval.ts, "nw_approve", "alice")
        .unwrap();
    let approved = lab.wait_until("alice's approval", TIMEOUT, context, || {
        let action = nightwatch.get(&format!("/api/actions/{action_id}"));
        (action["decided_by"] == "alice").then_some(action)
    });
    assert_ne!(approved["state"], "pending", "{approved}");
    let (status, again) = nightwatch.post_as(
        Some(&bob),
        &format!("/api/actions/{action_id}/reject"),
        &json!({}),
    );
    assert_eq!(
        status, 409,
        "a decided action cannot be decided again: {again}"
    );
    lab.wait_until("approved action verified", TIMEOUT, context, || {
        let action = nightwatch.get(&format!("/api/actions/{action_id}"));
        assert_ne!(action["state"], "failed", "{action}");
        (action["state"] == "verified").then_some(())
    });
    assert_eq!(
        container_of(&deployment_of(&lab, "manual-oom", "worker"))["resources"]["limits"]["memory"],
        "256Mi"
    );

    // --- recommend mode (the Postgres instance): its auto list only recommends; the auto
    // instance may not act in rec-*; the cluster waits for carol's approval
    let recommended = lab.wait_until("rec-oom recommended", TIMEOUT, context, || {
        let incident = incident(&recommending, "KubePodOOMKilled", "namespace=rec-oom")?;
        assert_eq!(incident["mode"], "recommend");
        actions(&recommending, incident["id"].as_i64()?)
            .into_iter()
            .find(|action| action["action"] == "increase_memory_limit")
    });
    assert_eq!(recommended["state"], "pending", "{recommended}");
    assert_eq!(recommended["rule"], "recommend_mode", "{recommended}");
    let refused = lab.wait_until(
        "rec-oom refused by the auto instance",
        TIMEOUT,
        context,
        || {
            let incident = incident(&nightwatch, "KubePodOOMKilled", "namespace=rec-oom")?;
            actions(&nightwatch, incident["id"].as_i64()?)
                .into_iter()
                .next()
        },
    );
    assert_eq!(
        (refused["state"].as_str(), refused["rule"].as_str()),
        (Some("denied"), Some("not_permitted"))
    );
    assert_eq!(
        container_of(&deployment_of(&lab, "rec-oom", "worker"))["resources"]["limits"]["memory"],
        "128Mi"
    );
    let executed_by_recommending = || -> Vec<i64> {
        recommending
            .get("/api/actions?limit=1000")
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| !a["executed_at"].is_null())
            .map(|a| a["id"].as_i64().unwrap())
            .collect()
    };
    assert!(
        executed_by_recommending().is_empty(),
        "recommend mode executed nothing on its own"
    );
    let recommended_id = recommended["id"].as_i64().unwrap();
    // A responder may not approve; an approver may, and the approval names her, however the
    // body names someone else.
    let (status, body) = recommending.post_as(
        Some(&rita),
        &format!("/api/actions/{recommended_id}/approve"),
        &json!({}),
    );
    assert_eq!(status, 403, "{body}");
    let (status, body) = recommending.post_as(
        Some(&carol),
        &format!("/api/actions/{recommended_id}/approve"),
        &json!({"by": "someone else"}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["decided_by"], "carol", "{body}");
    let approval_event =
        recommending.incident(recommended["incident_id"].as_i64().unwrap())["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|event| event["kind"] == "approved")
            .cloned()
            .unwrap();
    assert_eq!(
        (
            &approval_event["payload"]["by"],
            &approval_event["payload"]["via"]
        ),
        (&json!("carol"), &json!("token from 127.0.0.1")),
        "{approval_event}"
    );
    lab.wait_until("carol's approval verified", TIMEOUT, context, || {
        let action = recommending.get(&format!("/api/actions/{recommended_id}"));
        assert_ne!(action["state"], "failed", "{action}");
        (action["state"] == "verified").then_some(())
    });
    assert_eq!(
        container_of(&deployment_of(&lab, "rec-oom", "worker"))["resources"]["limits"]["memory"],
        "256Mi"
    );
    assert_eq!(
        executed_by_recommending(),
        [recommended_id],
        "only the approved action ran"
    );
    // The analysis is rewritten once the approved action has run: it no longer waits.
    let rec_incident = recommended["incident_id"].as_i64().unwrap();
    let analysis = lab.wait_until("analysis after the approval", TIMEOUT, context, || {
        let analysis = recommending.incident(rec_incident)["analysis"].clone();
        let summary = analysis["sections"]
            .as_array()?
            .iter()
            .find(|section| section["title"] == "Summary")?["body"]
            .as_str()?
            .to_owned();
        summary
            .contains("verification confirmed it")
            .then_some(summary)
    });
    assert!(
        analysis.contains("applied increase_memory_limit on Deployment/rec-oom/worker"),
        "{analysis}"
    );

    // --- a rejection: decided once, by the named human, never executed, on the timeline
    let other = lab.wait_until("another recommendation pending", TIMEOUT, context, || {
        recommending
            .get("/api/actions?state=pending")
            .as_array()?
            .first()
            .cloned()
    });
    let other_id = other["id"].as_i64().unwrap();
    let (status, rejected) = recommending.post_as(
        Some(&dave),
        &format!("/api/actions/{other_id}/reject"),
        &json!({}),
    );
    assert_eq!(status, 200, "{rejected}");
    assert_eq!(
        (rejected["state"].as_str(), rejected["decided_by"].as_str()),
        (Some("rejected"), Some("dave")),
        "{rejected}"
    );
    let (status, again) = recommending.post_as(
        Some(&eve),
        &format!("/api/actions/{other_id}/approve"),
        &json!({}),
    );
    assert_eq!(status, 409, "a rejected action cannot be approved: {again}");
    let other_incident = other["incident_id"].as_i64().unwrap();
    assert!(
        event_kinds(&recommending, other_incident)
            .iter()
            .any(|kind| kind == "rejected"),
        "the rejection is on the timeline"
    );
    assert_eq!(
        executed_by_recommending(),
        [recommended_id],
        "the rejected action did not run"
    );

    // --- adversarial: crafted alerts naming a runbook that tries forbidden actions in a prod namespace
    let prod_pod = lab.wait_until("prod-web pod running", TIMEOUT, context, || {
        first_running_pod(&lab, "prod-web")
    });
    let (status, body) = post(
        &nightwatch.url("/webhook/alertmanager"),
        crafted_alerts(
            "prod-web",
            &prod_pod,
            &[("EvilAlert".to_owned(), "RB_EVIL")],
        ),
    );
    assert_eq!(status, 200, "{body}");
    let evil = lab.wait_until("the evil runbook finished", TIMEOUT, context, || {
        let incident = incident(&nightwatch, "EvilAlert", "namespace=prod-web")?;
        let id = incident["id"].as_i64()?;
        event_kinds(&nightwatch, id)
            .iter()
            .any(|kind| kind == "final")
            .then(|| actions(&nightwatch, id))
    });
    let states: std::collections::BTreeMap<String, (String, String)> = evil
        .iter()
        .map(|a| {
            (
                a["action"].as_str().unwrap().to_owned(),
                (
                    a["state"].as_str().unwrap().to_owned(),
                    a["rule"].as_str().unwrap_or("").to_owned(),
                ),
            )
        })
        .collect();
    for forbidden in [
        "delete_namespace",
        "delete_secret",
        "scale_to_zero",
        "git_push",
    ] {
        assert_eq!(
            states[forbidden],
            ("forbidden".to_owned(), "forbidden".to_owned()),
            "{forbidden}: {evil:?}"
        );
    }
    assert_eq!(
        states["rollout_restart"],
        ("denied".to_owned(), "premise".to_owned()),
        "the pod is healthy: there is nothing for a restart to fix, approval or not"
    );
    assert!(
        evil.iter().all(|a| a["executed_at"].is_null()),
        "nothing ran: {evil:?}"
    );
    assert!(
        lab.kube_get("/api/v1/namespaces/prod-web").is_ok(),
        "the namespace is still there"
    );
    let prod = deployment_of(&lab, "prod-web", "web");
    assert!(
        prod["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"]
            .is_null()
    );
    assert_eq!(prod["spec"]["replicas"], 1);
    assert_eq!(first_running_pod(&lab, "prod-web"), Some(prod_pod));

    // --- a forged (or stale) crash-loop alert about a healthy pod in an auto class: routed by
    // its name, but the restart's premise does not hold, so nothing is restarted or escalated
    let healthy_pod = lab.wait_until("healthy pod running", TIMEOUT, context, || {
        first_running_pod(&lab, "healthy")
    });
    let (status, body) = post(
        &nightwatch.url("/webhook/alertmanager"),
        crafted_alerts(
            "healthy",
            &healthy_pod,
            &[("KubePodCrashLooping".to_owned(), "")],
        ),
    );
    assert_eq!(status, 200, "{body}");
    let refused = lab.wait_until("the forged crash loop decided", TIMEOUT, context, || {
        let incident = incident(&nightwatch, "KubePodCrashLooping", "namespace=healthy")?;
        let id = incident["id"].as_i64()?;
        event_kinds(&nightwatch, id)
            .iter()
            .any(|kind| kind == "final")
            .then(|| (id, actions(&nightwatch, id)))
    });
    let (healthy_id, healthy_actions) = refused;
    assert_eq!(
        nightwatch.incident(healthy_id)["incident"]["runbook"],
        "RB_CRASHLOOP"
    );
    assert!(!healthy_actions.is_empty(), "the restart was asked for");
    for action in &healthy_actions {
        assert_eq!(
            (
                action["action"].as_str(),
                action["state"].as_str(),
                action["rule"].as_str()
            ),
            (Some("rollout_restart"), Some("denied"), Some("premise")),
            "{action}"
        );
        assert!(action["executed_at"].is_null(), "{action}");
    }
    assert!(
        !event_kinds(&nightwatch, healthy_id)
            .iter()
            .any(|kind| kind == "escalated"),
        "a healthy pod is not a human's problem either"
    );
    assert!(
        deployment_of(&lab, "healthy", "web")["spec"]["template"]["metadata"]["annotations"]
            ["kubectl.kubernetes.io/restartedAt"]
            .is_null(),
        "the healthy Deployment was not restarted"
    );
    assert_eq!(first_running_pod(&lab, "healthy"), Some(healthy_pod));

    // --- a crash-loop alert whose container is really OOM-killed: the evidence routes it to
    // RB_OOM, and the memory bump (an approval class here) waits for a human
    let reroute_pod = lab.wait_until("manual-reroute pod OOM-killed", TIMEOUT, context, || {
        let pods = lab
            .kube_get("/api/v1/namespaces/manual-reroute/pods")
            .ok()?;
        let pod = pods["items"].as_array()?.iter().find(|pod| {
            pod["status"]["containerStatuses"][0]["lastState"]["terminated"]["reason"]
                == "OOMKilled"
        })?;
        pod["metadata"]["name"].as_str().map(str::to_owned)
    });
    let (status, body) = post(
        &nightwatch.url("/webhook/alertmanager"),
        crafted_alerts(
            "manual-reroute",
            &reroute_pod,
            &[("KubePodCrashLooping".to_owned(), "")],
        ),
    );
    assert_eq!(status, 200, "{body}");
    let rerouted = lab.wait_until("the crash loop rerouted", TIMEOUT, context, || {
        let incident = incident(
            &nightwatch,
            "KubePodCrashLooping",
            "namespace=manual-reroute",
        )?;
        let id = incident["id"].as_i64()?;
        let detail = nightwatch.incident(id);
        let pending = actions(&nightwatch, id)
            .into_iter()
            .find(|a| a["action"] == "increase_memory_limit")?;
        Some((detail, pending))
    });
    let (detail, pending) = rerouted;
    assert_eq!(detail["incident"]["runbook"], "RB_OOM", "{detail:#}");
    let routed = detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "routed")
        .unwrap()
        .clone();
    assert_eq!(routed["payload"]["basis"], "evidence", "{routed:#}");
    assert!(
        routed.to_string().contains("contradicts"),
        "the timeline says the name was overruled: {routed:#}"
    );
    assert_eq!(
        (pending["state"].as_str(), pending["rule"].as_str()),
        (Some("pending"), Some("class_approval")),
        "{pending}"
    );

    // --- a flood: the same alert 20 times and 8 distinct alerts, all asking to restart one
    // Deployment in an auto class: one incident per alert, and the per-target limit (3/h) holds.
    let flood_pod = lab.wait_until("flood pod unschedulable", TIMEOUT, context, || {
        let pods = lab.kube_get("/api/v1/namespaces/flood/pods").ok()?;
        let pod = pods["items"].as_array()?.iter().find(|pod| {
            pod["status"]["conditions"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c["reason"] == "Unschedulable"))
        })?;
        pod["metadata"]["name"].as_str().map(str::to_owned)
    });
    let distinct: Vec<(String, &str)> = (1..=8)
        .map(|n| (format!("Flood{n}"), "RB_RESTART"))
        .collect();
    let mut repeated: Vec<(String, &str)> = vec![("Flood1".to_owned(), "RB_RESTART"); 20];
    repeated.extend(distinct.iter().cloned());
    let (status, body) = post(
        &nightwatch.url("/webhook/alertmanager"),
        crafted_alerts("flood", &flood_pod, &repeated),
    );
    assert_eq!(status, 200, "{body}");
    let flood_actions = lab.wait_until("every flood incident decided", TIMEOUT, context, || {
        let incidents = nightwatch.incidents("namespace=flood");
        let decided: Vec<Value> = incidents
            .iter()
            .flat_map(|incident| actions(&nightwatch, incident["id"].as_i64().unwrap()))
            .filter(|action| action["state"] != "running")
            .collect();
        (incidents.len() == 8 && decided.len() == 8).then_some(decided)
    });
    let executed = flood_actions
        .iter()
        .filter(|a| !a["executed_at"].is_null())
        .count();
    assert_eq!(
        executed, 3,
        "exactly the per-target limit ran: {flood_actions:#?}"
    );
    let limited = flood_actions
        .iter()
        .filter(|a| a["state"] == "denied" && a["rule"] == "limit_per_target")
        .count();
    assert_eq!(limited, 5, "{flood_actions:#?}");
    let forbidden_executed = nightwatch
        .get("/api/actions?state=forbidden")
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| !a["executed_at"].is_null())
        .count();
    assert_eq!(forbidden_executed, 0);

    lab.stop();
}

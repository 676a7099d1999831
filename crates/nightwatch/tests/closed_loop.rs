//! The closed loop, end to end against the lab: a fault injected into the real Kubernetes API
//! (through the kubelet simulator) → the real Prometheus evaluates our shipped rules → the real
//! Alertmanager posts to running nightwatch processes (one on SQLite, one on Postgres, both
//! receiving every notification) → an incident with the right alertname, namespace, pod/container
//! or node → the fault is fixed the way an operator would → Alertmanager sends resolved → the
//! incident is resolved on both.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use nightwatch_testkit::{
    Lab, LabDeployment, LabOptions, Nightwatch, fresh_postgres_url_blocking, fresh_sqlite_url,
    still_running,
};
use serde_json::{Value, json};
use std::time::Duration;

const NIGHTWATCH: &str = env!("CARGO_BIN_EXE_nightwatch");
/// Pod scenarios run on this node; the node scenarios use the other two.
const POD_NODE: &str = "lab-node-1";
const NOT_READY_NODE: &str = "lab-node-2";
const CORDONED_NODE: &str = "lab-node-3";
const FIRE_TIMEOUT: Duration = Duration::from_secs(240);
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(240);

/// One injected fault: where it lives and which alert it must raise.
struct Scenario {
    alertname: &'static str,
    runbook_id: &'static str,
    namespace: Option<&'static str>,
    node: Option<&'static str>,
    container: Option<&'static str>,
    /// Filled in once the faulty pod exists.
    pod: Option<String>,
}

fn deployment(
    name: &str,
    image: &str,
    annotations: Value,
    memory_limit: &str,
    volumes: Value,
) -> Value {
    LabDeployment {
        name,
        container: name,
        image,
        memory_limit,
        node: POD_NODE,
        annotations,
        volumes,
    }
    .manifest()
}

fn pods(lab: &Lab, namespace: &str) -> Vec<Value> {
    lab.kube_get(&format!("/api/v1/namespaces/{namespace}/pods"))
        .map(|list| list["items"].as_array().cloned().unwrap_or_default())
        .unwrap_or_default()
}

/// What nightwatch adds to a failing wait: its incidents and its log.
fn nightwatch_state(nightwatches: &[&Nightwatch]) -> String {
    let mut out = String::new();
    for nightwatch in nightwatches {
        let incidents = nightwatch.incidents("");
        out.push_str(&format!(
            "nightwatch {} incidents: {}\nlog tail:\n{}\n",
            nightwatch.base_url,
            serde_json::to_string_pretty(&incidents).unwrap_or_default(),
            nightwatch
                .log()
                .lines()
                .rev()
                .take(30)
                .collect::<Vec<_>>()
                .join("\n")
        ));
    }
    out
}

fn wait<T>(
    lab: &Lab,
    nightwatches: &[&Nightwatch],
    what: &str,
    timeout: Duration,
    check: impl FnMut() -> Option<T>,
) -> T {
    lab.wait_until(what, timeout, || nightwatch_state(nightwatches), check)
}

fn query(scenario: &Scenario) -> String {
    let mut query = format!("alertname={}", scenario.alertname);
    if let Some(namespace) = scenario.namespace {
        query.push_str(&format!("&namespace={namespace}"));
    }
    if let Some(node) = scenario.node {
        query.push_str(&format!("&node={node}"));
    }
    query
}

/// The scenario's open incident on `nightwatch`, checked field by field, or None while it is
/// not there yet.
fn triggered_incident(nightwatch: &Nightwatch, scenario: &Scenario) -> Option<Value> {
    let incident = nightwatch
        .incidents(&format!("{}&state=triggered", query(scenario)))
        .into_iter()
        .find(|incident| match &scenario.pod {
            Some(pod) => incident["pod"] == pod.as_str(),
            None => true,
        })?;
    Some(incident)
}

#[test]
fn every_fault_raises_an_incident_and_its_fix_resolves_it_on_sqlite_and_postgres() {
    let (sqlite_url, _sqlite_dir) = fresh_sqlite_url();
    let postgres_url = fresh_postgres_url_blocking("closed_loop");
    let on_sqlite = Nightwatch::start(NIGHTWATCH, &sqlite_url, None);
    let on_postgres = Nightwatch::start(NIGHTWATCH, &postgres_url, None);
    let nightwatches = [&on_sqlite, &on_postgres];
    let mut lab = Lab::start(LabOptions {
        webhooks: nightwatches
            .iter()
            .map(|n| n.url("/webhook/alertmanager"))
            .collect(),
        ..LabOptions::default()
    });
    let lab_pids = lab.pids().to_vec();

    // --- inject every fault at once; each lives in its own namespace or on its own node
    for namespace in ["imagepull", "oom", "memnear", "creating", "crashloop"] {
        lab.create_namespace(namespace);
    }
    let deployments = "/apis/apps/v1/namespaces";
    lab.kube_create(
        &format!("{deployments}/imagepull/deployments"),
        &deployment(
            "web",
            "registry.invalid/shop/web:1.4.2",
            json!({}),
            "128Mi",
            json!([]),
        ),
    );
    lab.kube_create(
        &format!("{deployments}/oom/deployments"),
        &deployment(
            "worker",
            "registry.lab/worker:2.0",
            json!({"sim.nightwatch.dev/memory-demand": "200Mi"}),
            "64Mi",
            json!([]),
        ),
    );
    lab.kube_create(
        &format!("{deployments}/memnear/deployments"),
        &deployment(
            "cache",
            "registry.lab/cache:7",
            json!({"sim.nightwatch.dev/memory-demand": "60Mi"}),
            "64Mi",
            json!([]),
        ),
    );
    lab.kube_create(
        &format!("{deployments}/creating/deployments"),
        &deployment(
            "api",
            "registry.lab/api:3.1",
            json!({}),
            "128Mi",
            json!([{"name": "config", "secret": {"secretName": "api-config"}}]),
        ),
    );
    lab.kube_create(
        &format!("{deployments}/crashloop/deployments"),
        &deployment(
            "billing",
            "registry.lab/billing:5.0",
            json!({
                "sim.nightwatch.dev/exit-code": "1",
                "sim.nightwatch.dev/log": "loading config\npanic: DATABASE_URL is not set",
            }),
            "128Mi",
            json!([]),
        ),
    );
    lab.cordon(CORDONED_NODE, true);
    lab.heartbeat(NOT_READY_NODE, false);

    let pod_scenario = |alertname, runbook_id, namespace, container| Scenario {
        alertname,
        runbook_id,
        namespace: Some(namespace),
        node: None,
        container: Some(container),
        pod: None,
    };
    let mut scenarios = vec![
        pod_scenario(
            "KubePodImagePullBackOff",
            "RB_IMAGEPULL",
            "imagepull",
            "web",
        ),
        pod_scenario("KubePodOOMKilled", "RB_OOM", "oom", "worker"),
        pod_scenario("KubePodMemoryNearLimit", "RB_OOM", "memnear", "cache"),
        pod_scenario(
            "KubePodContainerCreatingStuck",
            "RB_CONTAINERCREATING",
            "creating",
            "api",
        ),
        pod_scenario(
            "KubePodCrashLoopBackOff",
            "RB_CRASHLOOP",
            "crashloop",
            "billing",
        ),
        Scenario {
            alertname: "KubeNodeUnschedulable",
            runbook_id: "RB_NODE_UNSCHEDULABLE",
            namespace: None,
            node: Some(CORDONED_NODE),
            container: None,
            pod: None,
        },
        Scenario {
            alertname: "KubeNodeNotReady",
            runbook_id: "RB_NODE_NOTREADY",
            namespace: None,
            node: Some(NOT_READY_NODE),
            container: None,
            pod: None,
        },
    ];
    for scenario in scenarios.iter_mut() {
        if let Some(namespace) = scenario.namespace {
            let pod = wait(
                &lab,
                &nightwatches,
                &format!("the pod in {namespace}"),
                Duration::from_secs(60),
                || {
                    pods(&lab, namespace)
                        .first()
                        .and_then(|pod| pod["metadata"]["name"].as_str().map(str::to_owned))
                },
            );
            scenario.pod = Some(pod);
        }
    }

    // --- every fault becomes an incident, on both nightwatches, naming the right object
    let mut incident_ids = Vec::new();
    for scenario in &scenarios {
        for nightwatch in nightwatches {
            let incident = wait(
                &lab,
                &nightwatches,
                &format!("{} incident on {}", query(scenario), nightwatch.base_url),
                FIRE_TIMEOUT,
                || triggered_incident(nightwatch, scenario),
            );
            let what = format!(
                "{} on {}: {incident:#}",
                scenario.alertname, nightwatch.base_url
            );
            assert_eq!(incident["alertname"], scenario.alertname, "{what}");
            assert_eq!(incident["source"], "alertmanager", "{what}");
            assert_eq!(
                incident["labels"]["runbook_id"], scenario.runbook_id,
                "{what}"
            );
            assert!(incident["labels"]["severity"].is_string(), "{what}");
            assert!(
                incident["summary"].as_str().is_some_and(|s| !s.is_empty()),
                "{what}"
            );
            assert_eq!(incident["namespace"].as_str(), scenario.namespace, "{what}");
            assert_eq!(incident["container"].as_str(), scenario.container, "{what}");
            assert_eq!(incident["pod"].as_str(), scenario.pod.as_deref(), "{what}");
            if let Some(node) = scenario.node {
                assert_eq!(incident["node"], node, "{what}");
            }
            incident_ids.push((
                scenario.alertname,
                nightwatch,
                incident["id"].as_i64().unwrap(),
            ));
        }
    }
    // The simulator really did what the alerts claim.
    let node = lab
        .kube_get(&format!("/api/v1/nodes/{NOT_READY_NODE}"))
        .unwrap();
    let ready = node["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Ready")
        .unwrap()
        .clone();
    assert_eq!(ready["status"], "Unknown", "{node:#}");
    let taints = node["spec"]["taints"].to_string();
    assert!(
        taints.contains("node.kubernetes.io/unreachable"),
        "{taints}"
    );

    // --- fix every fault the way an operator would
    let patch_template = |namespace: &str, name: &str, patch: Value| {
        lab.kube_patch(
            &format!("{deployments}/{namespace}/deployments/{name}"),
            &json!({"spec": {"template": patch}}),
        );
    };
    patch_template(
        "imagepull",
        "web",
        json!({"spec": {"containers": [{"name": "web", "image": "registry.lab/shop/web:1.4.2"}]}}),
    );
    patch_template(
        "oom",
        "worker",
        json!({"spec": {"containers": [{"name": "worker", "resources": {"limits": {"memory": "256Mi"}}}]}}),
    );
    patch_template(
        "memnear",
        "cache",
        json!({"spec": {"containers": [{"name": "cache", "resources": {"limits": {"memory": "128Mi"}}}]}}),
    );
    lab.kube_create(
        "/api/v1/namespaces/creating/secrets",
        &json!({"metadata": {"name": "api-config"}, "stringData": {"LISTEN": ":8080"}}),
    );
    patch_template(
        "crashloop",
        "billing",
        json!({"metadata": {"annotations": {"sim.nightwatch.dev/exit-code": null}}}),
    );
    lab.cordon(CORDONED_NODE, false);
    lab.heartbeat(NOT_READY_NODE, true);

    // --- Alertmanager sends resolved and every incident closes
    for (alertname, nightwatch, id) in &incident_ids {
        let detail = wait(
            &lab,
            &nightwatches,
            &format!(
                "{alertname} incident {id} resolved on {}",
                nightwatch.base_url
            ),
            RESOLVE_TIMEOUT,
            || {
                let detail = nightwatch.incident(*id);
                (detail["incident"]["state"] == "resolved").then_some(detail)
            },
        );
        assert_eq!(
            detail["incident"]["resolved_by"], "alertmanager",
            "{detail:#}"
        );
    }
    // ... and the workloads really recovered: one Running pod each, the faulty one gone.
    for scenario in scenarios.iter().filter(|s| s.namespace.is_some()) {
        let namespace = scenario.namespace.unwrap();
        let pods = pods(&lab, namespace);
        let running: Vec<&Value> = pods
            .iter()
            .filter(|p| p["status"]["phase"] == "Running")
            .collect();
        assert_eq!(running.len(), 1, "{namespace}: {pods:#?}");
        let ready = running[0]["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True");
        assert!(ready, "{namespace}: {pods:#?}");
    }

    // --- teardown stops every lab process
    lab.stop();
    let alive = still_running(&lab_pids);
    assert!(
        alive.is_empty(),
        "lab processes still running after lab/down: {alive:?}"
    );
}

/// A test that panics with a lab up still leaves no lab process behind.
#[test]
fn a_failing_test_leaves_no_lab_process_behind() {
    let pids = std::panic::catch_unwind(|| {
        let lab = Lab::start(LabOptions {
            kubelet_sim: false,
            ..LabOptions::default()
        });
        let pids = lab.pids().to_vec();
        assert!(pids.len() >= 6, "lab/up recorded {pids:?}");
        assert!(
            pids.iter()
                .all(|pid| nightwatch_testkit::process_alive(*pid))
        );
        std::panic::panic_any(pids);
    })
    .expect_err("the closure panics");
    let pids = pids
        .downcast::<Vec<u32>>()
        .expect("the panic carries the PIDs");
    let alive = still_running(&pids);
    assert!(
        alive.is_empty(),
        "still running after the panicking test unwound: {alive:?}"
    );
}

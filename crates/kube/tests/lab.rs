//! The adapter against the lab (real API server, controller-manager and scheduler 1.20, the
//! kubelet simulator on 3 nodes), acting as the `nightwatch` ServiceAccount bound to the roles of
//! deploy/rbac — never as admin. Every read tool on the simulator's faults and on nodes; owner
//! chains; the read-only role refused any write (403, dry-run included); then every action with
//! a policy permit: dry-run (the cluster unchanged), execute, and verify polled to Confirmed.
// Tests against a real server and lab: the wall clock and real elapsed time are the point.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Utc;
use nightwatch_core::action::{ActionRequest, ActionTarget};
use nightwatch_core::policy::{ActionHistory, DecisionInput, Permit, PolicyConfig, decide};
use nightwatch_kube::{
    ActionReport, Actuator, EvictionApi, Kube, KubeError, ToolTarget, Verification, VerifyStatus,
};
use nightwatch_testkit::{Lab, LabDeployment, LabOptions};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

const NS: &str = "nwtest";

/// Every action allowed on its own, everywhere; limits out of the way (the test repeats actions).
const POLICY: &str = r#"
mode: auto
environments:
  - { class: lab, namespaces: ["*"] }
  - { class: lab, nodes: ["*"] }
classes:
  lab:
    auto: [patch_image, fix_imagepullbackoff, increase_memory_limit, rollout_restart,
           delete_pod, cordon, uncordon, drain]
limits: { per_target_per_hour: 100, global_per_hour: 1000,
          breaker: { same_action_same_target: 100, window: 1h } }
"#;

struct Env {
    lab: Lab,
    rt: tokio::runtime::Runtime,
    policy: PolicyConfig,
}

impl Env {
    fn run<F: Future>(&self, future: F) -> F::Output {
        self.rt.block_on(future)
    }

    fn wait<T>(&self, what: &str, timeout: Duration, probe: impl FnMut() -> Option<T>) -> T {
        self.lab.wait_until(what, timeout, String::new, probe)
    }

    fn permit(&self, action: &str, target: ActionTarget, args: Value) -> Permit {
        let request = ActionRequest {
            action: action.into(),
            target,
            args,
        };
        let labels = BTreeMap::new();
        let history = ActionHistory::default();
        let input = DecisionInput {
            request: &request,
            namespace_labels: &labels,
            node_labels: &labels,
            labels_unknown: None,
            escalation_classes: &[],
            approved_by: None,
            history: &history,
            premise: None,
            now: Utc::now(),
        };
        let decision = decide(&self.policy, &input);
        let reason = decision.reason.clone();
        decision
            .into_permit()
            .unwrap_or_else(|| panic!("policy did not allow {action}: {reason}"))
    }

    /// Polls verify until Confirmed; panics on Failed or after `timeout`.
    fn verified(
        &self,
        actuator: &Actuator,
        permit: &Permit,
        executed_at: chrono::DateTime<Utc>,
        timeout: Duration,
    ) -> Verification {
        let last: std::cell::RefCell<Option<Verification>> = std::cell::RefCell::new(None);
        let action = permit.request().action.clone();
        self.lab.wait_until(
            &format!("{action} on {} verified", permit.request().target),
            timeout,
            || format!("last verification: {:?}", last.borrow()),
            || {
                let v = self.run(actuator.verify(permit, executed_at)).unwrap();
                assert_ne!(v.status, VerifyStatus::Failed, "{action}: {v:?}");
                let done = (v.status == VerifyStatus::Confirmed).then(|| v.clone());
                if done.is_some() {
                    eprintln!("  {action} verified: {} {}", v.summary, v.observed);
                }
                *last.borrow_mut() = Some(v);
                done
            },
        )
    }

    fn get(&self, path: &str) -> Value {
        self.lab.kube_get(path).unwrap()
    }

    /// The live pods of an app label, not being deleted.
    fn pods(&self, app: &str) -> Vec<Value> {
        self.lab
            .kube_get(&format!(
                "/api/v1/namespaces/{NS}/pods?labelSelector=app%3D{app}"
            ))
            .map(|l| l["items"].as_array().cloned().unwrap_or_default())
            .unwrap_or_default()
            .into_iter()
            .filter(|p| p["metadata"].get("deletionTimestamp").is_none())
            .collect()
    }

    fn pod_where(&self, app: &str, what: &str, select: impl Fn(&Value) -> bool) -> Value {
        self.wait(
            &format!("a pod of {app}: {what}"),
            Duration::from_secs(90),
            || self.pods(app).into_iter().find(|p| select(p)),
        )
    }

    /// Applies a manifest file of deploy/rbac as the lab's admin (what an operator does).
    fn apply(&self, file: &str) {
        self.lab.apply_manifest(
            &nightwatch_testkit::repo_root()
                .join("deploy/rbac")
                .join(file),
        );
    }
}

fn waiting_reason(pod: &Value) -> Option<&str> {
    pod["status"]["containerStatuses"][0]["state"]["waiting"]["reason"].as_str()
}

fn running_ready(pod: &Value) -> bool {
    pod["status"]["phase"] == "Running"
        && pod["status"]["conditions"].as_array().is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
}

fn name_of(pod: &Value) -> String {
    pod["metadata"]["name"].as_str().unwrap().to_owned()
}

fn deployment(name: &str, image: &str, node: &str, annotations: Value, volumes: Value) -> Value {
    LabDeployment {
        name,
        container: "app",
        image,
        memory_limit: "128Mi",
        node,
        annotations,
        volumes,
    }
    .manifest()
}

fn workload_path(kind: &str, name: &str) -> String {
    let plural = match kind {
        "Deployment" => "deployments",
        "StatefulSet" => "statefulsets",
        "DaemonSet" => "daemonsets",
        _ => panic!("{kind}"),
    };
    format!("/apis/apps/v1/namespaces/{NS}/{plural}/{name}")
}

/// What a dry run must not change: the object's generation and spec (its status moves on its
/// own, so its resourceVersion may too).
/// What a dry run on a node must not change: schedulability (the node's controller and
/// heartbeats change the rest, e.g. the unschedulable taint follows a cordon).
fn assert_node_unchanged(before: &Value, after: &Value) {
    assert_eq!(
        after["spec"].get("unschedulable"),
        before["spec"].get("unschedulable")
    );
}

fn assert_unchanged(before: &Value, after: &Value) {
    assert_eq!(
        after["metadata"]["generation"],
        before["metadata"]["generation"]
    );
    assert_eq!(after["spec"], before["spec"]);
    assert_eq!(after["metadata"]["uid"], before["metadata"]["uid"]);
}

#[test]
fn nightwatch_reads_and_acts_on_the_lab_as_its_service_account() {
    let started = std::time::Instant::now();
    // Where the time goes, for a slow run (shown with --nocapture).
    let phase = |what: &str| eprintln!("[{:>6.1}s] {what}", started.elapsed().as_secs_f64());
    let lab = Lab::start(LabOptions {
        nodes: 3,
        ..LabOptions::default()
    });
    let env = Env {
        lab,
        rt: tokio::runtime::Runtime::new().unwrap(),
        policy: PolicyConfig::from_yaml(POLICY).unwrap(),
    };
    let lab = &env.lab;

    // --- the scenario: faults on lab-node-1, healthy workloads on lab-node-2, a drain on 3
    phase("the scenario");
    lab.kube_create(
        "/api/v1/namespaces",
        &json!({"metadata": {"name": NS, "labels": {"env": "lab"}}}),
    );
    let create_deployment =
        |d: Value| lab.kube_create(&format!("/apis/apps/v1/namespaces/{NS}/deployments"), &d);
    create_deployment(deployment(
        "badimage",
        "registry.invalid/shop/web:1.4.2",
        "lab-node-1",
        json!({}),
        json!([]),
    ));
    create_deployment(deployment(
        "oom",
        "shop/worker:1.0",
        "lab-node-1",
        json!({"sim.nightwatch.dev/memory-demand": "200Mi"}),
        json!([]),
    ));
    create_deployment(deployment(
        "crash",
        "shop/api:2.0",
        "lab-node-1",
        json!({"sim.nightwatch.dev/exit-code": "1",
               "sim.nightwatch.dev/log": "loading config\npanic: DATABASE_URL is not set"}),
        json!([]),
    ));
    create_deployment(deployment(
        "mount",
        "shop/web:1.0",
        "lab-node-1",
        json!({}),
        json!([{"name": "creds", "secret": {"secretName": "db-creds"}}]),
    ));
    create_deployment(deployment(
        "web",
        "nginx:1.25",
        "lab-node-2",
        json!({}),
        json!([]),
    ));
    create_deployment(deployment(
        "wrongfix",
        "registry.invalid/shop/api:1",
        "lab-node-1",
        json!({}),
        json!([]),
    ));
    create_deployment(deployment(
        "drainme",
        "nginx:1.25",
        "lab-node-3",
        json!({}),
        json!([]),
    ));
    lab.kube_create(
        &format!("/apis/apps/v1/namespaces/{NS}/statefulsets"),
        &json!({
            "metadata": {"name": "db"},
            "spec": {
                "serviceName": "db", "replicas": 1,
                "selector": {"matchLabels": {"app": "db"}},
                "template": {"metadata": {"labels": {"app": "db"}}, "spec": {
                    "nodeSelector": {"kubernetes.io/hostname": "lab-node-2"},
                    "containers": [{"name": "db", "image": "postgres:16"}]}}}
        }),
    );
    lab.kube_create(
        &format!("/apis/apps/v1/namespaces/{NS}/daemonsets"),
        &json!({
            "metadata": {"name": "agent"},
            "spec": {
                "selector": {"matchLabels": {"app": "agent"}},
                "template": {"metadata": {"labels": {"app": "agent"}}, "spec": {
                    "containers": [{"name": "agent", "image": "fluent-bit:3"}]}}}
        }),
    );
    lab.kube_create(
        "/api/v1/namespaces/kube-system/pods",
        &json!({
            "metadata": {"name": "sys-pod"},
            "spec": {"nodeName": "lab-node-3",
                     "containers": [{"name": "sys", "image": "registry.k8s.io/pause:3.9"}]}
        }),
    );
    lab.kube_create(
        &format!("/apis/policy/v1beta1/namespaces/{NS}/poddisruptionbudgets"),
        &json!({
            "metadata": {"name": "drainme"},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "drainme"}}}
        }),
    );

    // --- nightwatch's identity: the ServiceAccount of readonly.yaml and its token
    phase("nightwatch's identity");
    env.apply("readonly.yaml");
    let token = lab.service_account_token("nightwatch", "nightwatch");
    let ca = std::fs::read(lab.var("LAB_CA")).unwrap();
    let nw = env
        .run(Kube::from_token(lab.var("LAB_APISERVER_URL"), &token, &ca))
        .unwrap();
    assert_eq!(nw.eviction_api(), EvictionApi::PolicyV1beta1);
    assert_eq!(nw.cronjob_api_version(), "batch/v1beta1");
    let actuator = Actuator::new(
        nw.clone(),
        std::sync::Arc::new(nightwatch_core::SystemClock),
    );
    let tool = |name: &str, target: &ToolTarget, args: Value| {
        env.run(nw.read_tool(name, target, &args))
            .unwrap_or_else(|e| panic!("{name} on {target:?}: {e}"))
    };

    // --- image pull: check_imagepullbackoff, events, status, logs of a container never started
    phase("image pull");
    let bad = env.pod_where("badimage", "ImagePullBackOff", |p| {
        waiting_reason(p) == Some("ImagePullBackOff")
    });
    let bad_target = ToolTarget::pod(NS, &name_of(&bad));
    let pull = env.wait(
        "check_imagepullbackoff not_found",
        Duration::from_secs(30),
        || {
            let out = tool("check_imagepullbackoff", &bad_target, json!({}));
            (out.data["not_found"] == true).then_some(out)
        },
    );
    assert_eq!(pull.data["image_pull_backoff"], true, "{:?}", pull);
    assert_eq!(pull.data["container"], "app");
    assert_eq!(pull.data["image"], "registry.invalid/shop/web:1.4.2");
    assert!(
        ["ImagePullBackOff", "ErrImagePull"].contains(&pull.data["reason"].as_str().unwrap()),
        "{:?}",
        pull.data
    );
    assert!(pull.data["message"].as_str().unwrap().contains("not found"));
    let events = tool("get_pod_events", &bad_target, json!({}));
    assert_eq!(events.data["image_pull_failure"], true, "{:?}", events.data);
    assert_eq!(events.data["sandbox_failure"], false);
    let status = tool("get_pod_status", &bad_target, json!({}));
    assert_eq!(status.data["phase"], "Pending");
    assert_eq!(status.data["node"], "lab-node-1");
    assert_eq!(status.data["ready"], false);
    assert!(
        status.data["containers"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("Image")
    );
    let logs = tool("get_pod_logs", &bad_target, json!({}));
    assert_eq!(logs.data["available"], false, "{:?}", logs.data);
    assert!(
        logs.data["reason"]
            .as_str()
            .unwrap()
            .contains("waiting to start")
    );

    // --- OOM: check_oom once it restarted twice
    phase("OOM");
    let oom_pod = env.pod_where("oom", "restarted twice after OOM", |p| {
        p["status"]["containerStatuses"][0]["restartCount"]
            .as_u64()
            .unwrap_or(0)
            >= 2
    });
    let oom_target = ToolTarget::pod(NS, &name_of(&oom_pod));
    let oom = tool("check_oom", &oom_target, json!({}));
    assert_eq!(oom.data["oom_killed"], true, "{:?}", oom.data);
    assert!(oom.data["restarts"].as_i64().unwrap() >= 2);
    assert_eq!(oom.data["memory_limit"], "128Mi");
    assert_eq!(oom.data["memory_limit_bytes"], 128u64 << 20);
    assert_eq!(oom.data["exit_code"], 137);
    assert_eq!(oom.data["container"], "app");

    // --- crash loop: the previous instance's log by default, BackOff events
    phase("crash loop");
    let crash = env.pod_where("crash", "restarted", |p| {
        p["status"]["containerStatuses"][0]["restartCount"]
            .as_u64()
            .unwrap_or(0)
            >= 1
    });
    let crash_target = ToolTarget::pod(NS, &name_of(&crash));
    let logs = tool("get_pod_logs", &crash_target, json!({}));
    assert_eq!(logs.data["available"], true, "{:?}", logs.data);
    assert_eq!(logs.data["previous"], true);
    assert_eq!(
        logs.data["lines"].as_array().unwrap().last().unwrap(),
        "panic: DATABASE_URL is not set"
    );
    let tail = tool("get_pod_logs", &crash_target, json!({"tail_lines": 1}));
    assert_eq!(
        tail.data["lines"],
        json!(["panic: DATABASE_URL is not set"])
    );
    assert_eq!(tail.data["truncated"], true);
    env.wait("crash BackOff event", Duration::from_secs(60), || {
        let out = tool("get_pod_events", &crash_target, json!({}));
        (out.data["back_off"] == true).then_some(())
    });
    let status = tool("get_pod_status", &crash_target, json!({}));
    assert_eq!(status.data["containers"][0]["last_exit_code"], 1);

    // --- missing Secret volume: FailedMount events name the object
    phase("missing Secret volume");
    let mount = env.pod_where("mount", "ContainerCreating", |p| {
        waiting_reason(p) == Some("ContainerCreating")
    });
    let mount_target = ToolTarget::pod(NS, &name_of(&mount));
    let mount_events = env.wait("FailedMount events", Duration::from_secs(60), || {
        let out = tool("get_pod_events", &mount_target, json!({}));
        (out.data["failed_mount"] == true).then_some(out)
    });
    assert_eq!(
        mount_events.data["missing_volume_objects"],
        json!([r#"secret "db-creds""#])
    );

    // --- the investigation's tools: the model names its targets in the arguments
    phase("investigation tools");
    let agent = |name: &str, args: Value| {
        env.run(nw.agent_tool(name, &args))
            .unwrap_or_else(|e| panic!("{name} {args}: {e}"))
    };
    let pods = agent("list_pods", json!({"namespace": NS}));
    assert!(pods.data["total"].as_u64().unwrap() >= 7, "{}", pods.data);
    assert!(
        pods.data["unhealthy"].as_u64().unwrap() >= 3,
        "{}",
        pods.data
    );
    assert_eq!(
        pods.data["pods"][0]["ready"], false,
        "problems first: {}",
        pods.data
    );
    let web = agent(
        "list_pods",
        json!({"namespace": NS, "label_selector": "app=web"}),
    );
    assert_eq!(web.data["total"], 1, "{}", web.data);
    assert_eq!(web.data["pods"][0]["ready"], true, "{}", web.data);
    let warnings = agent("get_namespace_events", json!({"namespace": NS}));
    let reasons: Vec<&str> = warnings.data["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["reason"].as_str())
        .collect();
    assert!(reasons.contains(&"FailedMount"), "{reasons:?}");
    let crash_logs = agent(
        "get_pod_logs",
        json!({"namespace": NS, "pod": name_of(&crash), "tail_lines": 1}),
    );
    assert_eq!(
        crash_logs.data["lines"],
        json!(["panic: DATABASE_URL is not set"])
    );
    let node = agent("get_node_ready", json!({"node": "lab-node-2"}));
    assert_eq!(node.data["ready"], true, "{}", node.data);
    let typo = env
        .run(nw.agent_tool("get_pod_status", &json!({"namespace": NS, "name": "x"})))
        .unwrap_err()
        .to_string();
    assert!(typo.contains("\"name\""), "{typo}");

    // --- owner chains: Deployment and StatefulSet
    phase("owner chains");
    let chain = tool("get_owner_chain", &bad_target, json!({}));
    let kinds: Vec<&str> = chain.data["chain"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["Pod", "ReplicaSet", "Deployment"]);
    assert_eq!(
        chain.data["workload"],
        json!({"kind": "Deployment", "namespace": NS, "name": "badimage"})
    );
    env.pod_where("db", "Running", running_ready);
    let db_target = ToolTarget::pod(NS, "db-0");
    let chain = tool("get_owner_chain", &db_target, json!({}));
    assert_eq!(
        chain.data["chain"],
        json!([{"kind": "Pod", "name": "db-0"}, {"kind": "StatefulSet", "name": "db"}])
    );
    assert_eq!(chain.data["workload"]["kind"], "StatefulSet");

    // --- nodes, routing facts, namespace labels
    phase("nodes, routing facts, namespace labels");
    let node1 = ToolTarget::node("lab-node-1");
    let ready = tool("get_node_ready", &node1, json!({}));
    assert_eq!(ready.data["ready"], true);
    assert_eq!(ready.data["status"], "True");
    assert_eq!(ready.data["reason"], "KubeletReady");
    let conditions = tool("get_node_conditions", &node1, json!({}));
    assert_eq!(conditions.data["pressures"], json!([]));
    assert_eq!(conditions.data["unschedulable"], false);
    assert_eq!(conditions.data["conditions"]["MemoryPressure"], "False");
    // The node of a pod when the incident names no node.
    let via_pod = tool("get_node_ready", &bad_target, json!({}));
    assert_eq!(via_pod.data["node"], "lab-node-1");
    let node_facts = env.run(nw.node_facts("lab-node-2")).unwrap().unwrap();
    assert!(node_facts.ready());
    assert!(env.run(nw.node_facts("no-such-node")).unwrap().is_none());
    assert_eq!(
        env.run(nw.namespace_labels(NS))
            .unwrap()
            .get("env")
            .map(String::as_str),
        Some("lab")
    );
    // Clear errors for what cannot be answered.
    let unknown = env.run(nw.read_tool("get_everything", &bad_target, &json!({})));
    assert!(
        matches!(unknown, Err(KubeError::UnknownTool(_))),
        "{unknown:?}"
    );
    let missing = env.run(nw.read_tool("check_oom", &node1, &json!({})));
    assert!(
        matches!(
            missing,
            Err(KubeError::MissingTarget {
                field: "namespace",
                ..
            })
        ),
        "{missing:?}"
    );

    // --- action targets
    phase("action targets");
    let resolve = |action: &str, target: &ToolTarget| env.run(nw.resolve_target(action, target));
    let badimage = resolve("fix_imagepullbackoff", &bad_target).unwrap();
    assert_eq!(
        badimage,
        ActionTarget::namespaced("Deployment", NS, "badimage")
    );
    assert_eq!(
        resolve("rollout_restart", &db_target).unwrap(),
        ActionTarget::namespaced("StatefulSet", NS, "db")
    );
    assert_eq!(
        resolve("delete_pod", &bad_target).unwrap(),
        ActionTarget::namespaced("Pod", NS, &name_of(&bad))
    );
    assert_eq!(
        resolve("drain", &bad_target).unwrap(),
        ActionTarget::cluster("Node", "lab-node-1")
    );
    let bare = resolve(
        "rollout_restart",
        &ToolTarget::pod("kube-system", "sys-pod"),
    );
    assert!(matches!(bare, Err(KubeError::Refused(_))), "{bare:?}");

    // --- the read-only role cannot write, not even a dry run: the API server says 403
    phase("the read-only role cannot write, not even a dry run");
    let fix = env.permit(
        "fix_imagepullbackoff",
        badimage.clone(),
        json!({"image": "nginx:1.25"}),
    );
    let refused = env.run(actuator.dry_run(&fix)).unwrap_err();
    assert_eq!(refused.status_code(), Some(403), "{refused}");
    let cordon_node2 = env.permit(
        "cordon",
        ActionTarget::cluster("Node", "lab-node-2"),
        json!({}),
    );
    let refused = env.run(actuator.dry_run(&cordon_node2)).unwrap_err();
    assert_eq!(refused.status_code(), Some(403), "{refused}");

    env.apply("remediation.yaml");
    // RBAC reaches the authorizer's cache within moments.
    let dry: ActionReport = env.wait(
        "remediation role in effect",
        Duration::from_secs(30),
        || env.run(actuator.dry_run(&fix)).ok(),
    );

    // --- fix_imagepullbackoff: dry run changes nothing, then the fix rolls out
    phase("fix_imagepullbackoff");
    let path = workload_path("Deployment", "badimage");
    let before = env.get(&path);
    assert_eq!(
        dry.before["containers"][0]["image"],
        "registry.invalid/shop/web:1.4.2"
    );
    assert_eq!(dry.after["containers"][0]["image"], "nginx:1.25");
    assert!(dry.summary.ends_with("(dry run)"), "{}", dry.summary);
    let after_dry = env.get(&path);
    assert_unchanged(&before, &after_dry);
    assert_eq!(
        after_dry["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.invalid/shop/web:1.4.2"
    );
    let executed_at = Utc::now();
    let report = env.run(actuator.execute(&fix)).unwrap();
    assert_eq!(report.after["containers"][0]["image"], "nginx:1.25");
    let v = env.verified(&actuator, &fix, executed_at, Duration::from_secs(120));
    assert!(v.summary.contains("rolled out"), "{}", v.summary);
    env.pod_where("badimage", "running the fallback image", |p| {
        running_ready(p) && p["spec"]["containers"][0]["image"] == "nginx:1.25"
    });

    // A "fix" to another missing image: the new template's pod fails the same way → Failed.
    env.pod_where("wrongfix", "failing to pull", |p| {
        matches!(waiting_reason(p), Some("ErrImagePull" | "ImagePullBackOff"))
    });
    let wrong = env.permit(
        "patch_image",
        ActionTarget::namespaced("Deployment", NS, "wrongfix"),
        json!({"image": "registry.invalid/shop/api:does-not-exist-either"}),
    );
    let executed_at = Utc::now();
    env.run(actuator.execute(&wrong)).unwrap();
    let failed = env.wait("wrongfix verified Failed", Duration::from_secs(90), || {
        let v = env.run(actuator.verify(&wrong, executed_at)).unwrap();
        assert_ne!(v.status, VerifyStatus::Confirmed, "{v:?}");
        (v.status == VerifyStatus::Failed).then_some(v)
    });
    assert!(failed.summary.contains("still fail"), "{}", failed.summary);

    // --- increase_memory_limit: 128Mi × 2 = 256Mi ≥ the 200Mi demand
    phase("increase_memory_limit");
    let oom_workload = resolve("increase_memory_limit", &oom_target).unwrap();
    let bump = env.permit(
        "increase_memory_limit",
        oom_workload,
        json!({"factor": 2, "floor": "256Mi", "cap": "4Gi"}),
    );
    let path = workload_path("Deployment", "oom");
    let before = env.get(&path);
    let dry = env.run(actuator.dry_run(&bump)).unwrap();
    assert_eq!(dry.after["containers"][0]["memory_limit"], "256Mi");
    assert_eq!(dry.before["memory_plan"]["new_limit"], "256Mi");
    assert_unchanged(&before, &env.get(&path));
    let executed_at = Utc::now();
    let report = env.run(actuator.execute(&bump)).unwrap();
    assert!(
        report.summary.contains("128Mi → 256Mi"),
        "{}",
        report.summary
    );
    env.verified(&actuator, &bump, executed_at, Duration::from_secs(120));
    let fixed = env.pod_where("oom", "with the new limit", |p| {
        running_ready(p) && p["spec"]["containers"][0]["resources"]["limits"]["memory"] == "256Mi"
    });
    let oom_after = tool(
        "check_oom",
        &ToolTarget::pod(NS, &name_of(&fixed)),
        json!({}),
    );
    assert_eq!(oom_after.data["oom_killed"], false);

    // --- rollout_restart of web
    phase("rollout_restart of web, db, agent");
    let web_pod = env.pod_where("web", "Running", running_ready);
    let web_target = ToolTarget::pod(NS, &name_of(&web_pod));
    let web = resolve("rollout_restart", &web_target).unwrap();
    let restart = env.permit("rollout_restart", web, json!({}));
    let path = workload_path("Deployment", "web");
    let before = env.get(&path);
    let dry = env.run(actuator.dry_run(&restart)).unwrap();
    assert!(dry.after["restarted_at"].is_string(), "{:?}", dry.after);
    assert_unchanged(&before, &env.get(&path));
    let executed_at = Utc::now();
    env.run(actuator.execute(&restart)).unwrap();
    env.verified(&actuator, &restart, executed_at, Duration::from_secs(120));
    let restarted = env.pod_where("web", "restarted", |p| {
        running_ready(p)
            && p["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"].is_string()
    });
    assert_ne!(restarted["metadata"]["uid"], web_pod["metadata"]["uid"]);
    // A StatefulSet (1.20: no availableReplicas, revisions must match) and a DaemonSet.
    let db_pod = env.get(&format!("/api/v1/namespaces/{NS}/pods/db-0"));
    let restart_db = env.permit(
        "rollout_restart",
        ActionTarget::namespaced("StatefulSet", NS, "db"),
        json!({}),
    );
    let executed_at = Utc::now();
    env.run(actuator.execute(&restart_db)).unwrap();
    env.verified(
        &actuator,
        &restart_db,
        executed_at,
        Duration::from_secs(120),
    );
    let db_new = env.get(&format!("/api/v1/namespaces/{NS}/pods/db-0"));
    assert_ne!(db_new["metadata"]["uid"], db_pod["metadata"]["uid"]);
    let agent_pod = env.pods("agent").into_iter().next().unwrap();
    let agent = resolve(
        "rollout_restart",
        &ToolTarget::pod(NS, &name_of(&agent_pod)),
    )
    .unwrap();
    assert_eq!(agent, ActionTarget::namespaced("DaemonSet", NS, "agent"));
    let restart_agent = env.permit("rollout_restart", agent, json!({}));
    let executed_at = Utc::now();
    env.run(actuator.execute(&restart_agent)).unwrap();
    env.verified(
        &actuator,
        &restart_agent,
        executed_at,
        Duration::from_secs(120),
    );
    assert!(
        env.pods("agent")
            .iter()
            .all(|p| p["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"].is_string())
    );

    // --- delete_pod: the replacement comes up
    phase("delete_pod");
    let victim = ToolTarget::pod(NS, &name_of(&restarted));
    let delete = env.permit(
        "delete_pod",
        resolve("delete_pod", &victim).unwrap(),
        json!({}),
    );
    let pod_path = format!("/api/v1/namespaces/{NS}/pods/{}", name_of(&restarted));
    let before = env.get(&pod_path);
    env.run(actuator.dry_run(&delete)).unwrap();
    let still = env.get(&pod_path);
    assert_unchanged(&before, &still);
    assert_eq!(still["metadata"]["uid"], restarted["metadata"]["uid"]);
    assert!(still["metadata"].get("deletionTimestamp").is_none());
    let executed_at = Utc::now();
    let report = env.run(actuator.execute(&delete)).unwrap();
    assert!(report.summary.contains("ReplicaSet"), "{}", report.summary);
    let v = env.verified(&actuator, &delete, executed_at, Duration::from_secs(90));
    assert!(v.summary.contains("Running and Ready"), "{}", v.summary);

    // --- cordon / uncordon lab-node-2
    phase("cordon / uncordon lab-node-2");
    let node2_path = "/api/v1/nodes/lab-node-2";
    let before = env.get(node2_path);
    env.run(actuator.dry_run(&cordon_node2)).unwrap();
    assert_node_unchanged(&before, &env.get(node2_path));
    let executed_at = Utc::now();
    env.run(actuator.execute(&cordon_node2)).unwrap();
    env.verified(
        &actuator,
        &cordon_node2,
        executed_at,
        Duration::from_secs(30),
    );
    assert_eq!(env.get(node2_path)["spec"]["unschedulable"], true);
    let uncordon_node2 = env.permit(
        "uncordon",
        ActionTarget::cluster("Node", "lab-node-2"),
        json!({}),
    );
    let before = env.get(node2_path);
    env.run(actuator.dry_run(&uncordon_node2)).unwrap();
    assert_node_unchanged(&before, &env.get(node2_path));
    let executed_at = Utc::now();
    env.run(actuator.execute(&uncordon_node2)).unwrap();
    env.verified(
        &actuator,
        &uncordon_node2,
        executed_at,
        Duration::from_secs(30),
    );
    assert!(env.get(node2_path)["spec"]["unschedulable"] != true);

    // --- drain lab-node-3: the PodDisruptionBudget refuses (429), retried; then allowed
    phase("drain lab-node-3");
    let drain_pod = env.pod_where("drainme", "Running", running_ready);
    env.wait(
        "the agent DaemonSet pod on lab-node-3 running",
        Duration::from_secs(60),
        || {
            env.pods("agent")
                .into_iter()
                .find(|p| p["spec"]["nodeName"] == "lab-node-3" && running_ready(p))
        },
    );
    // The disruption controller has counted the healthy pod.
    env.wait("the PDB observed", Duration::from_secs(30), || {
        let pdb = env.get(&format!(
            "/apis/policy/v1beta1/namespaces/{NS}/poddisruptionbudgets/drainme"
        ));
        (pdb["status"]["currentHealthy"] == 1).then_some(())
    });
    let node3 = ActionTarget::cluster("Node", "lab-node-3");
    let drain = env.permit(
        "drain",
        node3.clone(),
        json!({"timeout": 10, "retry_every": 1}),
    );
    let node3_path = "/api/v1/nodes/lab-node-3";
    let before = env.get(node3_path);
    let dry = env.run(actuator.dry_run(&drain)).unwrap();
    assert_node_unchanged(&before, &env.get(node3_path));
    assert_eq!(
        dry.after["refused"][0]["pod"],
        format!("{NS}/{}", name_of(&drain_pod))
    );
    assert_eq!(env.pods("drainme").len(), 1);
    let report = env.run(actuator.execute(&drain)).unwrap();
    assert_eq!(report.after["eviction_api"], "policy/v1beta1");
    let refused = &report.after["refused"][0];
    assert_eq!(
        refused["pod"],
        format!("{NS}/{}", name_of(&drain_pod)),
        "{:?}",
        report
    );
    assert!(refused["attempts"].as_u64().unwrap() >= 2, "{:?}", report);
    assert!(
        report
            .summary
            .contains("refused by a PodDisruptionBudget (retried"),
        "{}",
        report.summary
    );
    let skipped: Vec<&str> = report.after["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["pod"].as_str().unwrap())
        .collect();
    assert!(skipped.contains(&"kube-system/sys-pod"), "{skipped:?}");
    assert!(
        skipped
            .iter()
            .any(|s| s.starts_with(&format!("{NS}/agent-"))),
        "{skipped:?}"
    );
    assert_eq!(env.get(node3_path)["spec"]["unschedulable"], true);
    let v = env.run(actuator.verify(&drain, Utc::now())).unwrap();
    assert_eq!(v.status, VerifyStatus::NotYet, "{v:?}");

    lab.kube_delete(&format!(
        "/apis/policy/v1beta1/namespaces/{NS}/poddisruptionbudgets/drainme"
    ));
    let drain = env.permit(
        "drain",
        node3.clone(),
        json!({"timeout": 30, "retry_every": 1}),
    );
    let executed_at = Utc::now();
    let report = env.run(actuator.execute(&drain)).unwrap();
    assert_eq!(
        report.after["evicted"],
        json!([format!("{NS}/{}", name_of(&drain_pod))]),
        "{report:?}"
    );
    env.verified(&actuator, &drain, executed_at, Duration::from_secs(60));
    // The DaemonSet pod and the kube-system pod stay.
    let left = env.get("/api/v1/pods?fieldSelector=spec.nodeName%3Dlab-node-3");
    let left: Vec<String> = left["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(name_of)
        .collect();
    assert!(left.contains(&"sys-pod".to_owned()), "{left:?}");
    assert!(left.iter().any(|p| p.starts_with("agent-")), "{left:?}");
    assert!(!left.iter().any(|p| p.starts_with("drainme-")), "{left:?}");

    // --- uncordon refused while the node is not Ready (re-read at execution), then done
    phase("uncordon refused while the node is not Ready (re-read at execution), then done");
    lab.kube_patch(
        node3_path,
        &json!({"metadata": {"annotations": {"sim.nightwatch.dev/heartbeat": "stopped"}}}),
    );
    env.wait("lab-node-3 not Ready", Duration::from_secs(90), || {
        let out = tool("get_node_ready", &ToolTarget::node("lab-node-3"), json!({}));
        (out.data["status"] == "Unknown").then_some(())
    });
    let uncordon_node3 = env.permit("uncordon", node3, json!({}));
    let refused = env.run(actuator.execute(&uncordon_node3)).unwrap_err();
    assert!(matches!(refused, KubeError::Refused(_)), "{refused}");
    assert!(refused.to_string().contains("not Ready"), "{refused}");
    assert_eq!(env.get(node3_path)["spec"]["unschedulable"], true);
    lab.kube_patch(
        node3_path,
        &json!({"metadata": {"annotations": {"sim.nightwatch.dev/heartbeat": null}}}),
    );
    env.wait("lab-node-3 Ready again", Duration::from_secs(90), || {
        let out = tool("get_node_ready", &ToolTarget::node("lab-node-3"), json!({}));
        (out.data["ready"] == true).then_some(())
    });
    let executed_at = Utc::now();
    env.run(actuator.execute(&uncordon_node3)).unwrap();
    env.verified(
        &actuator,
        &uncordon_node3,
        executed_at,
        Duration::from_secs(30),
    );
}

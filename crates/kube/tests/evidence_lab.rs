//! The analyzers on faults planted in the lab (real API server, controller-manager and
//! scheduler, the kubelet simulator): each fault read through `Kube::snapshot` as the read-only
//! `nightwatch` ServiceAccount, from the labels an alert about it would carry, and assessed by
//! `core::evidence::assess` — the finding, its class of cause and the fact it rests on. A
//! healthy workload yields no finding and is said to be healthy. Faults: OOM kill, crash with
//! its log line, unpullable image, missing Secret, failing liveness and readiness probes, an
//! unschedulable request, a rollout past its deadline, a quota, a NotReady and a cordoned node.
// Tests against a real server and lab: the wall clock and real elapsed time are the point.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Utc;
use nightwatch_core::evidence::{Assessment, Category, Finding, Scope, Severity, assess};
use nightwatch_kube::Kube;
use nightwatch_testkit::{Lab, LabDeployment, LabOptions};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

const NS: &str = "evidence";
const QUOTA_NS: &str = "evidence-quota";
const POD_NODE: &str = "lab-node-1";
const NOT_READY_NODE: &str = "lab-node-2";
const CORDONED_NODE: &str = "lab-node-3";
const TIMEOUT: Duration = Duration::from_secs(240);

fn deployment(name: &str, image: &str, annotations: Value, volumes: Value) -> Value {
    LabDeployment {
        name,
        container: "app",
        image,
        memory_limit: "64Mi",
        node: POD_NODE,
        annotations,
        volumes,
    }
    .manifest()
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// One planted fault: the labels an alert about it carries, and what the assessment must say.
struct Fault {
    what: &'static str,
    labels: BTreeMap<String, String>,
    check: fn(&Assessment) -> bool,
}

fn has(assessment: &Assessment, analyzer: &str, category: Category) -> Option<Finding> {
    assessment
        .findings
        .iter()
        .find(|f| {
            f.analyzer == analyzer && f.category == category && f.severity >= Severity::Warning
        })
        .cloned()
}

fn cites(finding: &Finding, text: &str) -> bool {
    finding.summary.contains(text) || finding.evidence.iter().any(|e| e.detail.contains(text))
}

#[test]
fn the_analyzers_name_each_planted_fault_and_a_healthy_workload_as_healthy() {
    let mut lab = Lab::start(LabOptions {
        nodes: 3,
        ..LabOptions::default()
    });
    let rbac = nightwatch_testkit::repo_root().join("deploy/rbac");
    lab.apply_manifest(&rbac.join("readonly.yaml"));
    let kubeconfig = lab.service_account_kubeconfig("nightwatch", "nightwatch");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let kube = rt.block_on(Kube::from_kubeconfig(&kubeconfig)).unwrap();

    // --- the faults
    lab.create_namespace(NS);
    lab.create_namespace(QUOTA_NS);
    let create = |namespace: &str, body: Value| {
        lab.kube_create(
            &format!("/apis/apps/v1/namespaces/{namespace}/deployments"),
            &body,
        );
    };
    create(
        NS,
        deployment(
            "oom",
            "shop/worker:1.0",
            json!({"sim.nightwatch.dev/memory-demand": "200Mi"}),
            json!([]),
        ),
    );
    create(
        NS,
        deployment(
            "crash",
            "shop/api:2.0",
            json!({"sim.nightwatch.dev/exit-code": "1",
                   "sim.nightwatch.dev/log": "loading config\npanic: DATABASE_URL is not set"}),
            json!([]),
        ),
    );
    create(
        NS,
        deployment(
            "badimage",
            "registry.invalid/shop/web:1.4.2",
            json!({}),
            json!([]),
        ),
    );
    create(
        NS,
        deployment(
            "mount",
            "shop/web:1.0",
            json!({}),
            json!([{"name": "creds", "secret": {"secretName": "db-creds"}}]),
        ),
    );
    create(NS, deployment("web", "nginx:1.25", json!({}), json!([])));
    // Probes that fail: the liveness one gets the container killed, the readiness one keeps
    // the pod out of service.
    for (name, annotation, probe) in [
        ("liveness", "sim.nightwatch.dev/liveness", "livenessProbe"),
        (
            "readiness",
            "sim.nightwatch.dev/readiness",
            "readinessProbe",
        ),
    ] {
        let mut probed = deployment(
            name,
            "shop/web:1.0",
            json!({annotation: "failing"}),
            json!([]),
        );
        probed["spec"]["template"]["spec"]["containers"][0][probe] =
            json!({"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 5});
        create(NS, probed);
    }
    // Asks for more CPU than any node has: the scheduler says so.
    let mut huge = deployment("huge", "shop/batch:1.0", json!({}), json!([]));
    huge["spec"]["template"]["spec"]["containers"][0]["resources"] = json!({"requests": {"cpu": "64", "memory": "64Mi"}, "limits": {"cpu": "64", "memory": "64Mi"}});
    create(NS, huge);
    // A rollout that cannot finish within its deadline: the image does not exist.
    let mut stuck = deployment("stuck", "registry.invalid/shop/api:9", json!({}), json!([]));
    stuck["spec"]["progressDeadlineSeconds"] = json!(10);
    create(NS, stuck);
    // A quota of one pod for a Deployment of three: the ReplicaSet's creates are refused.
    lab.kube_create(
        &format!("/api/v1/namespaces/{QUOTA_NS}/resourcequotas"),
        &json!({"metadata": {"name": "pods"}, "spec": {"hard": {"pods": "1"}}}),
    );
    let mut three = deployment("api", "shop/api:2.0", json!({}), json!([]));
    three["spec"]["replicas"] = json!(3);
    create(QUOTA_NS, three);
    lab.cordon(CORDONED_NODE, true);
    lab.heartbeat(NOT_READY_NODE, false);

    // --- what an alert about each would name, and what must be found
    let pod_of = |name: &str| {
        lab.wait_until(&format!("a pod of {name}"), TIMEOUT, String::new, || {
            let pods = lab
                .kube_get(&format!("/api/v1/namespaces/{NS}/pods"))
                .ok()?;
            pods["items"]
                .as_array()?
                .iter()
                .filter_map(|p| p["metadata"]["name"].as_str())
                .find(|p| p.starts_with(&format!("{name}-")))
                .map(str::to_owned)
        })
    };
    let pod_alert = |name: &str| {
        let pod = pod_of(name);
        labels(&[
            ("namespace", NS),
            ("pod", pod.as_str()),
            ("container", "app"),
        ])
    };
    let faults = vec![
        Fault {
            what: "an OOM kill, with the limit",
            labels: pod_alert("oom"),
            check: |a| {
                has(a, "oom_killed", Category::ResourceExhaustion)
                    .is_some_and(|f| f.reason.as_deref() == Some("OOMKilled") && cites(&f, "64Mi"))
            },
        },
        Fault {
            what: "a crash, with its last log line",
            labels: pod_alert("crash"),
            check: |a| {
                a.findings.iter().any(|f| {
                    matches!(f.analyzer.as_str(), "crash_loop" | "terminated")
                        && f.severity >= Severity::Warning
                        && cites(f, "DATABASE_URL is not set")
                })
            },
        },
        Fault {
            what: "an image that cannot be pulled",
            labels: pod_alert("badimage"),
            check: |a| {
                a.findings.iter().any(|f| {
                    f.analyzer == "image_pull"
                        && f.severity == Severity::Critical
                        && cites(f, "registry.invalid/shop/web:1.4.2")
                })
            },
        },
        Fault {
            what: "a Secret the pod mounts that does not exist",
            labels: pod_alert("mount"),
            check: |a| {
                has(a, "failed_mount", Category::ConfigurationError)
                    .is_some_and(|f| cites(&f, "db-creds"))
            },
        },
        Fault {
            what: "a liveness probe that gets the container killed",
            labels: pod_alert("liveness"),
            check: |a| {
                has(a, "liveness_probe", Category::ConfigurationError).is_some_and(|f| {
                    f.reason.as_deref() == Some("LivenessProbeFailed")
                        && cites(&f, "HTTP probe failed with statuscode: 500")
                })
            },
        },
        Fault {
            what: "a readiness probe that keeps the pod out of service",
            labels: pod_alert("readiness"),
            check: |a| {
                has(a, "readiness_probe", Category::ConfigurationError)
                    .is_some_and(|f| f.reason.as_deref() == Some("ReadinessProbeFailed"))
            },
        },
        Fault {
            what: "requests no node can fit, as the scheduler says",
            labels: pod_alert("huge"),
            check: |a| {
                has(a, "scheduling", Category::ResourceExhaustion)
                    .is_some_and(|f| f.summary.contains("cpu"))
            },
        },
        Fault {
            what: "a rollout past its deadline, and why",
            labels: labels(&[("namespace", NS), ("deployment", "stuck")]),
            check: |a| {
                a.findings.iter().any(|f| f.analyzer == "rollout_stuck")
                    && a.primary().is_some_and(|f| f.analyzer == "image_pull")
            },
        },
        Fault {
            what: "pods refused by a quota",
            labels: labels(&[("namespace", QUOTA_NS), ("deployment", "api")]),
            check: |a| {
                a.findings.iter().any(|f| {
                    f.category == Category::ResourceExhaustion
                        && f.severity >= Severity::Warning
                        && cites(f, "exceeded quota")
                })
            },
        },
        Fault {
            what: "a node that stopped reporting",
            labels: labels(&[("node", NOT_READY_NODE)]),
            check: |a| {
                has(a, "node_not_ready", Category::Infrastructure)
                    .is_some_and(|f| f.reason.as_deref() == Some("NodeNotReady"))
            },
        },
        Fault {
            what: "a cordoned node",
            labels: labels(&[("node", CORDONED_NODE)]),
            check: |a| a.findings.iter().any(|f| f.analyzer == "node_cordoned"),
        },
        Fault {
            what: "a healthy workload",
            labels: labels(&[("namespace", NS), ("deployment", "web")]),
            check: |a| {
                a.category == Category::Healthy
                    && a.findings.iter().all(|f| f.severity < Severity::Warning)
            },
        },
    ];
    for fault in &faults {
        let scope = Scope::of(&fault.labels, &BTreeMap::new());
        let last = std::cell::RefCell::new(None);
        let found = lab.wait_until(
            fault.what,
            TIMEOUT,
            || format!("last assessment: {:#?}", last.borrow()),
            || {
                let mut snapshot = rt.block_on(kube.snapshot(&scope));
                snapshot.taken_at = Some(Utc::now());
                let assessment = assess(&snapshot, &scope);
                let ok = (fault.check)(&assessment);
                *last.borrow_mut() = Some(assessment.clone());
                ok.then_some(assessment)
            },
        );
        assert!(
            found.unseen.iter().all(|gap| !gap.contains("forbidden")),
            "{}: the read-only role reads everything the analyzers need: {:?}",
            fault.what,
            found.unseen
        );
    }
    lab.stop();
}

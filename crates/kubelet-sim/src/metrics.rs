//! kube-state-metrics and cAdvisor series, rendered from a snapshot of the API objects (pods,
//! nodes, Deployments and ReplicaSets as the API server has them, so the node controller's
//! Unknown and its taints show) and the
//! simulator's running containers. A fresh registry per scrape: series of deleted objects vanish.

use crate::pod::{PodFacts, WorkingSet};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Node, Pod};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

pub const PHASES: [&str; 5] = ["Pending", "Running", "Succeeded", "Failed", "Unknown"];

#[derive(Debug, Clone, PartialEq)]
pub struct ContainerMetrics {
    pub name: String,
    pub waiting_reason: Option<String>,
    pub last_terminated_reason: Option<String>,
    pub restarts: u64,
    pub ready: bool,
    pub memory_limit: Option<u64>,
    pub cpu_limit: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PodMetrics {
    pub namespace: String,
    pub pod: String,
    pub uid: String,
    pub node: String,
    pub phase: String,
    pub host_ip: String,
    pub pod_ip: String,
    pub owner_kind: String,
    pub owner_name: String,
    pub containers: Vec<ContainerMetrics>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NodeMetrics {
    pub node: String,
    /// (type, status as the API has it: "True", "False", "Unknown").
    pub conditions: Vec<(String, String)>,
    pub unschedulable: bool,
    /// (key, value, effect) of each of `spec.taints`.
    pub taints: Vec<(String, String, String)>,
    pub kubelet_version: String,
}

/// A Deployment's or ReplicaSet's replica counts, as kube-state-metrics exports them.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadMetrics {
    /// "Deployment" or "ReplicaSet".
    pub kind: &'static str,
    pub namespace: String,
    pub name: String,
    pub spec_replicas: i32,
    pub replicas: i32,
    pub ready: i32,
    pub available: i32,
    pub unavailable: i32,
    pub updated: i32,
    pub generation: i64,
    pub observed_generation: i64,
    /// The controlling owner (kind, name), for `kube_replicaset_owner`.
    pub owner: Option<(String, String)>,
}

/// A running container's working set, with the labels cAdvisor puts on it.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkingSetMetric {
    pub namespace: String,
    pub pod: String,
    pub working_set: WorkingSet,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    pub pods: Vec<PodMetrics>,
    pub nodes: Vec<NodeMetrics>,
    pub workloads: Vec<WorkloadMetrics>,
    pub working_sets: Vec<WorkingSetMetric>,
}

pub fn pod_metrics(pod: &Pod) -> Option<PodMetrics> {
    let facts = PodFacts::from_pod(pod)?;
    let status = pod.status.as_ref();
    let statuses: Vec<_> = status
        .and_then(|s| s.container_statuses.clone())
        .unwrap_or_default();
    let containers = facts
        .containers
        .iter()
        .map(|spec| {
            let cs = statuses.iter().find(|s| s.name == spec.name);
            ContainerMetrics {
                name: spec.name.clone(),
                waiting_reason: cs
                    .and_then(|s| s.state.as_ref())
                    .and_then(|s| s.waiting.as_ref())
                    .and_then(|w| w.reason.clone()),
                last_terminated_reason: cs
                    .and_then(|s| s.last_state.as_ref())
                    .and_then(|s| s.terminated.as_ref())
                    .and_then(|t| t.reason.clone()),
                restarts: cs
                    .map(|s| u64::try_from(s.restart_count).unwrap_or(0))
                    .unwrap_or(0),
                ready: cs.is_some_and(|s| s.ready),
                memory_limit: spec.memory_limit,
                cpu_limit: spec.cpu_limit,
            }
        })
        .collect();
    let owner = pod
        .metadata
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.controller.unwrap_or(false));
    Some(PodMetrics {
        namespace: facts.namespace,
        pod: facts.name,
        uid: facts.uid,
        node: facts.node.unwrap_or_default(),
        phase: status.and_then(|s| s.phase.clone()).unwrap_or_default(),
        host_ip: status.and_then(|s| s.host_ip.clone()).unwrap_or_default(),
        pod_ip: status.and_then(|s| s.pod_ip.clone()).unwrap_or_default(),
        owner_kind: owner.map(|o| o.kind.clone()).unwrap_or_default(),
        owner_name: owner.map(|o| o.name.clone()).unwrap_or_default(),
        containers,
    })
}

pub fn node_metrics(node: &Node) -> Option<NodeMetrics> {
    let status = node.status.as_ref();
    Some(NodeMetrics {
        node: node.metadata.name.clone()?,
        conditions: status
            .and_then(|s| s.conditions.as_ref())
            .into_iter()
            .flatten()
            .map(|c| (c.type_.clone(), c.status.clone()))
            .collect(),
        unschedulable: node
            .spec
            .as_ref()
            .and_then(|s| s.unschedulable)
            .unwrap_or(false),
        taints: node
            .spec
            .as_ref()
            .and_then(|s| s.taints.as_ref())
            .into_iter()
            .flatten()
            .map(|t| {
                (
                    t.key.clone(),
                    t.value.clone().unwrap_or_default(),
                    t.effect.clone(),
                )
            })
            .collect(),
        kubelet_version: status
            .and_then(|s| s.node_info.as_ref())
            .map(|i| i.kubelet_version.clone())
            .unwrap_or_default(),
    })
}

pub fn deployment_metrics(deployment: &Deployment) -> Option<WorkloadMetrics> {
    let status = deployment.status.clone().unwrap_or_default();
    Some(WorkloadMetrics {
        kind: "Deployment",
        namespace: deployment.metadata.namespace.clone()?,
        name: deployment.metadata.name.clone()?,
        // The API defaults an unset count to 1.
        spec_replicas: deployment.spec.replicas.unwrap_or(1),
        replicas: status.replicas.unwrap_or(0),
        ready: status.ready_replicas.unwrap_or(0),
        available: status.available_replicas.unwrap_or(0),
        unavailable: status.unavailable_replicas.unwrap_or(0),
        updated: status.updated_replicas.unwrap_or(0),
        generation: deployment.metadata.generation.unwrap_or(0),
        observed_generation: status.observed_generation.unwrap_or(0),
        owner: None,
    })
}

pub fn replicaset_metrics(set: &ReplicaSet) -> Option<WorkloadMetrics> {
    let status = set.status.clone().unwrap_or_default();
    let owner = set
        .metadata
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.controller.unwrap_or(false))
        .map(|o| (o.kind.clone(), o.name.clone()));
    Some(WorkloadMetrics {
        kind: "ReplicaSet",
        namespace: set.metadata.namespace.clone()?,
        name: set.metadata.name.clone()?,
        spec_replicas: set.spec.replicas.unwrap_or(1),
        replicas: status.replicas,
        ready: status.ready_replicas.unwrap_or(0),
        available: status.available_replicas.unwrap_or(0),
        unavailable: 0,
        updated: 0,
        generation: set.metadata.generation.unwrap_or(0),
        observed_generation: status.observed_generation.unwrap_or(0),
        owner,
    })
}

type Labels = Vec<(String, String)>;
type GaugeFamily = Family<Labels, Gauge<f64, AtomicU64>>;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn gauge(registry: &mut Registry, name: &str, help: &str) -> GaugeFamily {
    let family = GaugeFamily::default();
    registry.register(name, help, family.clone());
    family
}

/// The exposition text (OpenMetrics, which Prometheus scrapes natively).
pub fn render(snapshot: &Snapshot) -> Result<String, std::fmt::Error> {
    let mut registry = Registry::default();
    let pod_info = gauge(&mut registry, "kube_pod_info", "Information about pod");
    let pod_owner = gauge(
        &mut registry,
        "kube_pod_owner",
        "Information about the Pod's owner",
    );
    let phase = gauge(
        &mut registry,
        "kube_pod_status_phase",
        "The pods current phase",
    );
    let waiting = gauge(
        &mut registry,
        "kube_pod_container_status_waiting_reason",
        "Describes the reason the container is currently in waiting state",
    );
    let last_terminated = gauge(
        &mut registry,
        "kube_pod_container_status_last_terminated_reason",
        "Describes the last reason the container was in terminated state",
    );
    // prometheus-client appends "_total" to counters: the series is
    // kube_pod_container_status_restarts_total, as kube-state-metrics names it.
    let restarts = Family::<Labels, Counter>::default();
    registry.register(
        "kube_pod_container_status_restarts",
        "The number of container restarts per container",
        restarts.clone(),
    );
    let ready = gauge(
        &mut registry,
        "kube_pod_container_status_ready",
        "Describes whether the containers readiness check succeeded",
    );
    let limits = gauge(
        &mut registry,
        "kube_pod_container_resource_limits",
        "The number of requested limit resource by a container",
    );
    let node_condition = gauge(
        &mut registry,
        "kube_node_status_condition",
        "The condition of a cluster node",
    );
    let unschedulable = gauge(
        &mut registry,
        "kube_node_spec_unschedulable",
        "Whether a node can schedule new pods",
    );
    let node_info = gauge(
        &mut registry,
        "kube_node_info",
        "Information about a cluster node",
    );
    let node_taint = gauge(
        &mut registry,
        "kube_node_spec_taint",
        "The taint of a cluster node",
    );
    let workload_gauge = |registry: &mut Registry, kind: &str, name: &str, help: &str| {
        gauge(registry, &format!("kube_{kind}_{name}"), help)
    };
    let deployment = [
        ("spec_replicas", "Number of desired pods for a deployment"),
        ("status_replicas", "The number of replicas per deployment"),
        (
            "status_replicas_available",
            "The number of available replicas per deployment",
        ),
        (
            "status_replicas_unavailable",
            "The number of unavailable replicas per deployment",
        ),
        (
            "status_replicas_updated",
            "The number of updated replicas per deployment",
        ),
        (
            "status_replicas_ready",
            "The number of ready replicas per deployment",
        ),
        (
            "metadata_generation",
            "Sequence number representing a specific generation of the desired state",
        ),
        (
            "status_observed_generation",
            "The generation observed by the deployment controller",
        ),
    ]
    .map(|(name, help)| workload_gauge(&mut registry, "deployment", name, help));
    let replicaset = [
        ("spec_replicas", "Number of desired pods for a ReplicaSet"),
        ("status_replicas", "The number of replicas per ReplicaSet"),
        (
            "status_ready_replicas",
            "The number of ready replicas per ReplicaSet",
        ),
        (
            "metadata_generation",
            "Sequence number representing a specific generation of the desired state",
        ),
        (
            "status_observed_generation",
            "The generation observed by the ReplicaSet controller",
        ),
    ]
    .map(|(name, help)| workload_gauge(&mut registry, "replicaset", name, help));
    let replicaset_owner = gauge(
        &mut registry,
        "kube_replicaset_owner",
        "Information about the ReplicaSet's owner",
    );
    let working_set = gauge(
        &mut registry,
        "container_memory_working_set_bytes",
        "Current working set of the container in bytes",
    );

    for p in &snapshot.pods {
        let (ns, pod, uid) = (p.namespace.as_str(), p.pod.as_str(), p.uid.as_str());
        pod_info
            .get_or_create(&labels(&[
                ("namespace", ns),
                ("pod", pod),
                ("uid", uid),
                ("node", &p.node),
                ("host_ip", &p.host_ip),
                ("pod_ip", &p.pod_ip),
                ("created_by_kind", &p.owner_kind),
                ("created_by_name", &p.owner_name),
            ]))
            .set(1.0);
        pod_owner
            .get_or_create(&labels(&[
                ("namespace", ns),
                ("pod", pod),
                ("uid", uid),
                ("owner_kind", &p.owner_kind),
                ("owner_name", &p.owner_name),
                (
                    "owner_is_controller",
                    if p.owner_kind.is_empty() { "" } else { "true" },
                ),
            ]))
            .set(1.0);
        // Like kube-state-metrics: no phase series until the pod has a phase.
        if !p.phase.is_empty() {
            for name in PHASES {
                let value = if p.phase == name { 1.0 } else { 0.0 };
                phase
                    .get_or_create(&labels(&[
                        ("namespace", ns),
                        ("pod", pod),
                        ("uid", uid),
                        ("phase", name),
                    ]))
                    .set(value);
            }
        }
        for c in &p.containers {
            let base = [
                ("namespace", ns),
                ("pod", pod),
                ("uid", uid),
                ("container", c.name.as_str()),
            ];
            let with = |extra: &[(&str, &str)]| {
                let mut all = base.to_vec();
                all.extend_from_slice(extra);
                labels(&all)
            };
            if let Some(reason) = &c.waiting_reason {
                waiting.get_or_create(&with(&[("reason", reason)])).set(1.0);
            }
            if let Some(reason) = &c.last_terminated_reason {
                last_terminated
                    .get_or_create(&with(&[("reason", reason)]))
                    .set(1.0);
            }
            restarts.get_or_create(&with(&[])).inc_by(c.restarts);
            ready
                .get_or_create(&with(&[]))
                .set(if c.ready { 1.0 } else { 0.0 });
            if let Some(bytes) = c.memory_limit {
                limits
                    .get_or_create(&with(&[
                        ("node", &p.node),
                        ("resource", "memory"),
                        ("unit", "byte"),
                    ]))
                    .set(bytes as f64);
            }
            if let Some(cores) = c.cpu_limit {
                limits
                    .get_or_create(&with(&[
                        ("node", &p.node),
                        ("resource", "cpu"),
                        ("unit", "core"),
                    ]))
                    .set(cores);
            }
        }
    }
    for n in &snapshot.nodes {
        for (condition, status) in &n.conditions {
            for (label, api) in [("true", "True"), ("false", "False"), ("unknown", "Unknown")] {
                node_condition
                    .get_or_create(&labels(&[
                        ("node", &n.node),
                        ("condition", condition),
                        ("status", label),
                    ]))
                    .set(if status == api { 1.0 } else { 0.0 });
            }
        }
        unschedulable
            .get_or_create(&labels(&[("node", &n.node)]))
            .set(if n.unschedulable { 1.0 } else { 0.0 });
        node_info
            .get_or_create(&labels(&[
                ("node", &n.node),
                ("kubelet_version", &n.kubelet_version),
            ]))
            .set(1.0);
        for (key, value, effect) in &n.taints {
            node_taint
                .get_or_create(&labels(&[
                    ("node", &n.node),
                    ("key", key),
                    ("value", value),
                    ("effect", effect),
                ]))
                .set(1.0);
        }
    }
    for w in &snapshot.workloads {
        let object = [("namespace", w.namespace.as_str())];
        let of = |label: &str| {
            let mut all = object.to_vec();
            all.push((label, w.name.as_str()));
            labels(&all)
        };
        if w.kind == "Deployment" {
            let values = [
                w.spec_replicas.into(),
                w.replicas.into(),
                w.available.into(),
                w.unavailable.into(),
                w.updated.into(),
                w.ready.into(),
                w.generation as f64,
                w.observed_generation as f64,
            ];
            for (family, value) in deployment.iter().zip(values) {
                family.get_or_create(&of("deployment")).set(value);
            }
        } else {
            let values = [
                w.spec_replicas.into(),
                w.replicas.into(),
                w.ready.into(),
                w.generation as f64,
                w.observed_generation as f64,
            ];
            for (family, value) in replicaset.iter().zip(values) {
                family.get_or_create(&of("replicaset")).set(value);
            }
            let (owner_kind, owner_name) = w.owner.clone().unwrap_or_default();
            let mut owner = object.to_vec();
            owner.extend([
                ("replicaset", w.name.as_str()),
                ("owner_kind", owner_kind.as_str()),
                ("owner_name", owner_name.as_str()),
                (
                    "owner_is_controller",
                    if owner_kind.is_empty() { "" } else { "true" },
                ),
            ]);
            replicaset_owner.get_or_create(&labels(&owner)).set(1.0);
        }
    }
    for w in &snapshot.working_sets {
        working_set
            .get_or_create(&labels(&[
                ("namespace", &w.namespace),
                ("pod", &w.pod),
                ("container", &w.working_set.container),
                ("image", &w.working_set.image),
            ]))
            .set(w.working_set.bytes as f64);
    }
    let mut out = String::new();
    encode(&mut out, &registry)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod() -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "web-1", "namespace": "shop", "uid": "u-1",
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-5d8",
                    "uid": "rs", "controller": true}]},
            "spec": {"nodeName": "lab-node-1", "containers": [
                {"name": "app", "image": "app:1", "resources": {"limits": {"memory": "128Mi", "cpu": "250m"}}}
            ]},
            "status": {"phase": "Running", "hostIP": "127.0.0.1", "podIP": "10.244.1.2",
                "containerStatuses": [{
                    "name": "app", "image": "app:1", "imageID": "", "ready": false, "restartCount": 3,
                    "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                    "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}
                }]}
        }))
        .unwrap()
    }

    fn node(ready: &str, unschedulable: bool) -> Node {
        let taints = if unschedulable {
            json!([{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}])
        } else {
            json!([])
        };
        serde_json::from_value(json!({
            "metadata": {"name": "lab-node-1"},
            "spec": {"unschedulable": unschedulable, "taints": taints},
            "status": {"conditions": [
                {"type": "Ready", "status": ready},
                {"type": "MemoryPressure", "status": "False"}
            ], "nodeInfo": {"kubeletVersion": "v1.20.2", "machineID": "", "systemUUID": "", "bootID": "",
                "kernelVersion": "", "osImage": "", "containerRuntimeVersion": "", "kubeProxyVersion": "",
                "operatingSystem": "linux", "architecture": "amd64"}}
        }))
        .unwrap()
    }

    fn lines(text: &str) -> Vec<&str> {
        text.lines().filter(|l| !l.starts_with('#')).collect()
    }

    #[test]
    fn pod_series() {
        let snapshot = Snapshot {
            pods: vec![pod_metrics(&pod()).unwrap()],
            nodes: vec![],
            workloads: vec![],
            working_sets: vec![WorkingSetMetric {
                namespace: "shop".into(),
                pod: "web-1".into(),
                working_set: WorkingSet {
                    container: "app".into(),
                    image: "app:1".into(),
                    bytes: 134217728,
                },
            }],
        };
        let text = render(&snapshot).unwrap();
        let got = lines(&text);
        for want in [
            r#"kube_pod_status_phase{namespace="shop",pod="web-1",uid="u-1",phase="Running"} 1.0"#,
            r#"kube_pod_status_phase{namespace="shop",pod="web-1",uid="u-1",phase="Pending"} 0.0"#,
            r#"kube_pod_container_status_waiting_reason{namespace="shop",pod="web-1",uid="u-1",container="app",reason="CrashLoopBackOff"} 1.0"#,
            r#"kube_pod_container_status_last_terminated_reason{namespace="shop",pod="web-1",uid="u-1",container="app",reason="OOMKilled"} 1.0"#,
            r#"kube_pod_container_status_restarts_total{namespace="shop",pod="web-1",uid="u-1",container="app"} 3"#,
            r#"kube_pod_container_resource_limits{namespace="shop",pod="web-1",uid="u-1",container="app",node="lab-node-1",resource="memory",unit="byte"} 134217728.0"#,
            r#"kube_pod_container_resource_limits{namespace="shop",pod="web-1",uid="u-1",container="app",node="lab-node-1",resource="cpu",unit="core"} 0.25"#,
            r#"container_memory_working_set_bytes{namespace="shop",pod="web-1",container="app",image="app:1"} 134217728.0"#,
            r#"kube_pod_owner{namespace="shop",pod="web-1",uid="u-1",owner_kind="ReplicaSet",owner_name="web-5d8",owner_is_controller="true"} 1.0"#,
        ] {
            assert!(got.contains(&want), "missing {want} in\n{text}");
        }
        assert!(text.contains("# TYPE kube_pod_container_status_restarts counter"));
        assert!(text.trim_end().ends_with("# EOF"));
    }

    #[test]
    fn node_series_follow_the_api_status() {
        let snapshot = Snapshot {
            pods: vec![],
            nodes: vec![node_metrics(&node("Unknown", true)).unwrap()],
            workloads: vec![],
            working_sets: vec![],
        };
        let text = render(&snapshot).unwrap();
        let got = lines(&text);
        for want in [
            r#"kube_node_status_condition{node="lab-node-1",condition="Ready",status="unknown"} 1.0"#,
            r#"kube_node_status_condition{node="lab-node-1",condition="Ready",status="true"} 0.0"#,
            r#"kube_node_status_condition{node="lab-node-1",condition="MemoryPressure",status="false"} 1.0"#,
            r#"kube_node_spec_unschedulable{node="lab-node-1"} 1.0"#,
            r#"kube_node_spec_taint{node="lab-node-1",key="node.kubernetes.io/unschedulable",value="",effect="NoSchedule"} 1.0"#,
        ] {
            assert!(got.contains(&want), "missing {want} in\n{text}");
        }
    }

    #[test]
    fn deployment_and_replicaset_series() {
        let deployment: Deployment = serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "shop", "generation": 2},
            "spec": {"replicas": 2, "selector": {}, "template": {}},
            "status": {"replicas": 2, "readyReplicas": 1, "availableReplicas": 1,
                "unavailableReplicas": 1, "updatedReplicas": 2, "observedGeneration": 2}
        }))
        .unwrap();
        let set: ReplicaSet = serde_json::from_value(json!({
            "metadata": {"name": "web-5d8", "namespace": "shop", "generation": 1,
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                    "uid": "d", "controller": true}]},
            "spec": {"replicas": 2, "selector": {}},
            "status": {"replicas": 2, "readyReplicas": 1, "observedGeneration": 1}
        }))
        .unwrap();
        let text = render(&Snapshot {
            workloads: vec![
                deployment_metrics(&deployment).unwrap(),
                replicaset_metrics(&set).unwrap(),
            ],
            ..Default::default()
        })
        .unwrap();
        let got = lines(&text);
        for want in [
            r#"kube_deployment_spec_replicas{namespace="shop",deployment="web"} 2.0"#,
            r#"kube_deployment_status_replicas_available{namespace="shop",deployment="web"} 1.0"#,
            r#"kube_deployment_status_replicas_unavailable{namespace="shop",deployment="web"} 1.0"#,
            r#"kube_deployment_status_replicas_updated{namespace="shop",deployment="web"} 2.0"#,
            r#"kube_deployment_metadata_generation{namespace="shop",deployment="web"} 2.0"#,
            r#"kube_deployment_status_observed_generation{namespace="shop",deployment="web"} 2.0"#,
            r#"kube_replicaset_spec_replicas{namespace="shop",replicaset="web-5d8"} 2.0"#,
            r#"kube_replicaset_status_ready_replicas{namespace="shop",replicaset="web-5d8"} 1.0"#,
            r#"kube_replicaset_owner{namespace="shop",replicaset="web-5d8",owner_kind="Deployment",owner_name="web",owner_is_controller="true"} 1.0"#,
        ] {
            assert!(got.contains(&want), "missing {want} in\n{text}");
        }
    }

    #[test]
    fn running_pods_have_no_waiting_series_and_phaseless_pods_no_phase() {
        let mut p = pod();
        if let Some(status) = p.status.as_mut() {
            status.phase = None;
            status.container_statuses = None;
        }
        let text = render(&Snapshot {
            pods: vec![pod_metrics(&p).unwrap()],
            ..Default::default()
        })
        .unwrap();
        assert!(
            !lines(&text)
                .iter()
                .any(|l| l.starts_with("kube_pod_status_phase"))
        );
        assert!(!lines(&text).iter().any(|l| l.contains("waiting_reason")));
        assert!(text.contains(r#"kube_pod_container_status_restarts_total{namespace="shop",pod="web-1",uid="u-1",container="app"} 0"#));
    }
}

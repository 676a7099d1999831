//! Facts the router reads ([`PodFacts`], [`NodeFacts`]) and the small views of Pod and Node
//! objects that tools, plans and verdicts share.

use k8s_openapi::api::core::v1::{
    Container, ContainerStatus, Node, NodeCondition, Pod, PodSpec, PodStatus,
};
use nightwatch_core::live::NodeFacts;
use std::collections::BTreeMap;

/// Waiting reasons of a container that cannot get its image (the analyzers' list).
pub use nightwatch_core::evidence::analyze::IMAGE_PULL_REASONS;

/// Waiting reasons that mean a workload's pod is failing, not just starting.
pub const FAILING_REASONS: &[&str] = &[
    "ImagePullBackOff",
    "ErrImagePull",
    "ErrImageNeverPull",
    "InvalidImageName",
    "CrashLoopBackOff",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
];

pub fn pod_spec(pod: &Pod) -> Option<&PodSpec> {
    pod.spec.as_ref()
}

fn pod_status(pod: &Pod) -> Option<&PodStatus> {
    pod.status.as_ref()
}

/// The app containers' statuses (empty before the kubelet reported any).
pub fn container_statuses(pod: &Pod) -> &[ContainerStatus] {
    pod_status(pod)
        .and_then(|s| s.container_statuses.as_deref())
        .unwrap_or_default()
}

/// The init containers' statuses.
pub fn init_container_statuses(pod: &Pod) -> &[ContainerStatus] {
    pod_status(pod)
        .and_then(|s| s.init_container_statuses.as_deref())
        .unwrap_or_default()
}

/// The spec's app containers.
pub fn containers(pod: &Pod) -> &[Container] {
    pod_spec(pod)
        .map(|s| s.containers.as_slice())
        .unwrap_or_default()
}

/// The status of the container `name`, app or init.
pub fn status_of<'a>(pod: &'a Pod, name: &str) -> Option<&'a ContainerStatus> {
    container_statuses(pod)
        .iter()
        .chain(init_container_statuses(pod))
        .find(|s| s.name == name)
}

/// The spec of the container `name`, app or init.
pub fn container_spec<'a>(pod: &'a Pod, name: &str) -> Option<&'a Container> {
    let spec = pod_spec(pod)?;
    spec.containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .find(|c| c.name == name)
}

pub fn waiting_reason(status: &ContainerStatus) -> Option<&str> {
    status.state.as_ref()?.waiting.as_ref()?.reason.as_deref()
}

pub fn waiting_message(status: &ContainerStatus) -> Option<&str> {
    status.state.as_ref()?.waiting.as_ref()?.message.as_deref()
}

pub fn last_terminated_reason(status: &ContainerStatus) -> Option<&str> {
    status
        .last_state
        .as_ref()?
        .terminated
        .as_ref()?
        .reason
        .as_deref()
}

/// The condition `kind` of a pod (`Ready`, `PodScheduled`, …).
pub fn pod_condition<'a>(
    pod: &'a Pod,
    kind: &str,
) -> Option<&'a k8s_openapi::api::core::v1::PodCondition> {
    pod_status(pod)?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == kind)
}

pub fn pod_phase(pod: &Pod) -> Option<&str> {
    pod_status(pod)?.phase.as_deref()
}

/// Phase Running and condition Ready=True.
pub fn pod_running_ready(pod: &Pod) -> bool {
    pod_phase(pod) == Some("Running")
        && pod_condition(pod, "Ready").is_some_and(|c| c.status == "True")
}

pub fn pod_node(pod: &Pod) -> Option<&str> {
    pod_spec(pod)?.node_name.as_deref()
}

pub fn is_deleting(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some()
}

pub fn node_conditions(node: &Node) -> &[NodeCondition] {
    node.status
        .as_ref()
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or_default()
}

pub fn node_condition<'a>(node: &'a Node, kind: &str) -> Option<&'a NodeCondition> {
    node_conditions(node).iter().find(|c| c.type_ == kind)
}

pub fn node_unschedulable(node: &Node) -> bool {
    node.spec
        .as_ref()
        .and_then(|s| s.unschedulable)
        .unwrap_or(false)
}

/// The facts the policy (a node's labels) and the node actions' checks read from a node.
pub fn node_facts(node: &Node) -> NodeFacts {
    NodeFacts {
        name: node.metadata.name.clone().unwrap_or_default(),
        conditions: node_conditions(node)
            .iter()
            .map(|c| (c.type_.clone(), c.status.clone()))
            .collect::<BTreeMap<_, _>>(),
        unschedulable: node_unschedulable(node),
        labels: node.metadata.labels.clone().unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    pub(crate) fn pod(value: serde_json::Value) -> Pod {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn a_pending_pod_is_not_running_ready() {
        let p = pod(json!({
            "metadata": {"name": "p", "namespace": "d"},
            "spec": {"containers": [{"name": "c", "image": "i"}]},
            "status": {"phase": "Pending", "conditions": [
                {"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}]}
        }));
        assert!(!pod_running_ready(&p));
        assert_eq!(pod_node(&p), None);
    }

    #[test]
    fn node_facts_with_pressure_and_cordon() {
        let node: Node = serde_json::from_value(json!({
            "metadata": {"name": "n1", "labels": {"zone": "a"}},
            "spec": {"unschedulable": true},
            "status": {"conditions": [
                {"type": "Ready", "status": "True"},
                {"type": "MemoryPressure", "status": "True"},
                {"type": "DiskPressure", "status": "False"}]}
        }))
        .unwrap();
        let facts = node_facts(&node);
        assert!(facts.unschedulable);
        assert!(facts.ready());
        assert_eq!(facts.pressures(), vec!["MemoryPressure".to_owned()]);
        assert_eq!(facts.labels["zone"], "a");
    }
}

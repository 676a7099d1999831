//! Nodes: Ready False or Unknown (with the last heartbeat), memory/disk/PID pressure, cordons
//! and the taints that keep pods off, and a pod count at the node's pod capacity.

use crate::evidence::finding::{Category, Evidence, Finding, Severity};
use crate::evidence::snapshot::Node;

const PRESSURES: &[&str] = &[
    "MemoryPressure",
    "DiskPressure",
    "PIDPressure",
    "NetworkUnavailable",
];

pub(super) fn analyze(node: &Node, out: &mut Vec<Finding>) {
    let object = node.object();
    pod_capacity(node, out);
    if let Some(ready) = node.ready().filter(|c| !c.is("True")) {
        let heartbeat = ready
            .last_heartbeat
            .as_deref()
            .map(|at| format!("; last heartbeat {at}"))
            .unwrap_or_default();
        out.push(
            Finding::new(
                "node_not_ready",
                Severity::Critical,
                Category::Infrastructure,
                format!(
                    "node {} is not Ready (Ready={}, {}){heartbeat}",
                    node.name,
                    ready.status,
                    ready.reason.as_deref().unwrap_or("no reason given")
                ),
            )
            .reason("NodeNotReady")
            .evidence(Evidence::new(
                &object,
                "status.conditions[Ready]",
                format!(
                    "{} {}: {}{heartbeat}",
                    ready.status,
                    ready.reason.as_deref().unwrap_or(""),
                    ready.message.as_deref().unwrap_or("")
                ),
            ))
            .remedy(
                "check the kubelet and the machine; cordon and drain it if it does not come back",
            ),
        );
    }
    for pressure in PRESSURES {
        let Some(condition) = node
            .conditions
            .iter()
            .find(|c| c.kind == *pressure && c.is("True"))
        else {
            continue;
        };
        out.push(
            Finding::new(
                "node_pressure",
                Severity::Warning,
                if *pressure == "NetworkUnavailable" {
                    Category::Infrastructure
                } else {
                    Category::ResourceExhaustion
                },
                format!("node {} reports {pressure}: {}", node.name, condition.message.as_deref().unwrap_or("")),
            )
            .reason("NodePressure")
            .evidence(Evidence::new(
                &object,
                format!("status.conditions[{pressure}]"),
                format!("True {}", condition.reason.as_deref().unwrap_or("")),
            ))
            .remedy("free the resource on the node (evict heavy pods, clean images and logs) or add capacity"),
        );
    }
    if node.unschedulable {
        let mut finding = Finding::new(
            "node_cordoned",
            Severity::Warning,
            Category::Infrastructure,
            format!(
                "node {} is cordoned (spec.unschedulable): no new pods land on it",
                node.name
            ),
        )
        .reason("NodeUnschedulable")
        .evidence(Evidence::new(&object, "spec.unschedulable", "true"));
        for taint in &node.taints {
            finding = finding.evidence(Evidence::new(&object, "spec.taints", taint.clone()));
        }
        out.push(finding);
    }
}

/// The node runs as many pods as it may (`allocatable.pods`, the kubelet's `maxPods`): the
/// scheduler puts no more there, whatever CPU and memory are free.
fn pod_capacity(node: &Node, out: &mut Vec<Finding>) {
    let (Some(running), Some(allowed)) = (
        node.pods,
        node.allocatable
            .get("pods")
            .or(node.capacity.get("pods"))
            .and_then(|p| p.trim().parse::<i64>().ok()),
    ) else {
        return;
    };
    if allowed <= 0 || running * 10 < allowed * 9 {
        return;
    }
    let full = running >= allowed;
    out.push(
        Finding::new(
            "node_pod_capacity",
            if full { Severity::Warning } else { Severity::Info },
            Category::ResourceExhaustion,
            format!(
                "node {} is running {running} pods against its capacity of {allowed} pods{}",
                node.name,
                if full {
                    ": too many pods for its capacity, so no new pod can be scheduled there"
                } else {
                    ": close to its capacity"
                }
            ),
        )
        .reason("NodePodCapacity")
        .evidence(Evidence::new(
            &node.object(),
            "status.allocatable.pods",
            format!("{allowed} pods allowed, {running} not terminated"),
        ))
        .remedy("spread the pods over more nodes (add nodes, or raise the kubelet's maxPods where the pod network has addresses for it)"),
    );
}

//! The Node and Lease objects a kubelet writes: registration, the status it posts with each
//! heartbeat, its Lease renewal; and the annotation that stops the heartbeats.

use crate::container::rfc3339;
use chrono::{DateTime, SecondsFormat, Utc};
use k8s_openapi::api::core::v1::Node;
use serde_json::{Value, json};

/// `stopped` on a Node: its simulated kubelet stops renewing the Lease and posting status.
pub const ANNOTATION_HEARTBEAT: &str = "sim.nightwatch.dev/heartbeat";
pub const LEASE_NAMESPACE: &str = "kube-node-lease";
pub const LEASE_DURATION_SECONDS: i32 = 40;
/// Every node is on loopback: the API server reaches each "kubelet" at this address.
pub const NODE_IP: &str = "127.0.0.1";
pub const KUBELET_VERSION: &str = "v1.20.2";

pub fn node_names(prefix: &str, count: u32) -> Vec<String> {
    (1..=count).map(|i| format!("{prefix}-{i}")).collect()
}

/// Whether the node's heartbeats are stopped by the scenario annotation.
pub fn heartbeat_stopped(node: &Node) -> bool {
    node.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(ANNOTATION_HEARTBEAT))
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("stopped"))
}

/// The Node to create when it does not exist yet.
pub fn node_object(name: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "beta.kubernetes.io/os": "linux",
                "beta.kubernetes.io/arch": "amd64",
            },
        },
        "spec": {},
    })
}

/// The conditions the kubelet reports, keeping each one's lastTransitionTime when its status
/// did not change since the node object's current conditions.
pub fn conditions(node: Option<&Node>, now: DateTime<Utc>) -> Value {
    let previous = |type_: &str| {
        node.and_then(|n| n.status.as_ref())
            .and_then(|s| s.conditions.as_ref())
            .and_then(|cs| cs.iter().find(|c| c.type_ == type_))
            .map(|c| {
                (
                    c.status.clone(),
                    c.last_transition_time.as_ref().map(crate::pod::to_chrono),
                )
            })
    };
    let condition = |type_: &str, status: &str, reason: &str, message: &str| {
        let since = match previous(type_) {
            Some((old, Some(at))) if old == status => at,
            _ => now,
        };
        json!({
            "type": type_,
            "status": status,
            "reason": reason,
            "message": message,
            "lastHeartbeatTime": rfc3339(now),
            "lastTransitionTime": rfc3339(since),
        })
    };
    json!([
        condition(
            "MemoryPressure",
            "False",
            "KubeletHasSufficientMemory",
            "kubelet has sufficient memory available"
        ),
        condition(
            "DiskPressure",
            "False",
            "KubeletHasNoDiskPressure",
            "kubelet has no disk pressure"
        ),
        condition(
            "PIDPressure",
            "False",
            "KubeletHasSufficientPID",
            "kubelet has sufficient PID available"
        ),
        condition(
            "Ready",
            "True",
            "KubeletReady",
            "kubelet is posting ready status"
        ),
    ])
}

/// Whether the node object's Ready condition is True now (before our patch).
pub fn is_ready(node: Option<&Node>) -> bool {
    node.and_then(|n| n.status.as_ref())
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"))
        .is_some_and(|c| c.status == "True")
}

/// The full `status` posted with each heartbeat (merge patch on the status subresource).
pub fn node_status(
    name: &str,
    kubelet_port: u16,
    node: Option<&Node>,
    now: DateTime<Utc>,
) -> Value {
    let resources = json!({
        "cpu": "4",
        "memory": "8Gi",
        "pods": "110",
        "ephemeral-storage": "100Gi",
    });
    let id = &crate::images::fake_hex64(&[name])[..32];
    json!({
        "capacity": resources,
        "allocatable": resources,
        "addresses": [
            {"type": "InternalIP", "address": NODE_IP},
            {"type": "Hostname", "address": name},
        ],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": kubelet_port}},
        "nodeInfo": {
            "machineID": id,
            "systemUUID": id,
            "bootID": id,
            "kernelVersion": "6.1.0-sim",
            "osImage": "Debian GNU/Linux 12 (bookworm)",
            "containerRuntimeVersion": "containerd://1.4.13",
            "kubeletVersion": KUBELET_VERSION,
            "kubeProxyVersion": KUBELET_VERSION,
            "operatingSystem": "linux",
            "architecture": "amd64",
        },
        "conditions": conditions(node, now),
    })
}

/// Lease renewTime is a MicroTime: microsecond precision.
pub fn micro_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// The Lease to create for a node (owned by the Node, as the kubelet does, so it goes with it).
pub fn lease_object(name: &str, node_uid: Option<&str>, now: DateTime<Utc>) -> Value {
    let mut lease = json!({
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": name, "namespace": LEASE_NAMESPACE},
        "spec": lease_spec(name, now),
    });
    if let Some(uid) = node_uid {
        lease["metadata"]["ownerReferences"] =
            json!([{"apiVersion": "v1", "kind": "Node", "name": name, "uid": uid}]);
    }
    lease
}

pub fn lease_spec(name: &str, now: DateTime<Utc>) -> Value {
    json!({
        "holderIdentity": name,
        "leaseDurationSeconds": LEASE_DURATION_SECONDS,
        "renewTime": micro_time(now),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeDelta, TimeZone};

    fn t(seconds: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).single().unwrap() + TimeDelta::seconds(seconds)
    }

    fn node(extra: Value) -> Node {
        let mut n = json!({"metadata": {"name": "lab-node-1"}});
        if let (Some(a), Value::Object(b)) = (n.as_object_mut(), extra) {
            a.extend(b);
        }
        serde_json::from_value(n).unwrap()
    }

    #[test]
    fn names_and_annotation() {
        assert_eq!(
            node_names("lab-node", 3),
            ["lab-node-1", "lab-node-2", "lab-node-3"]
        );
        assert!(!heartbeat_stopped(&node(json!({}))));
        let stopped = node(
            json!({"metadata": {"name": "n", "annotations": {ANNOTATION_HEARTBEAT: "stopped"}}}),
        );
        assert!(heartbeat_stopped(&stopped));
        let other = node(
            json!({"metadata": {"name": "n", "annotations": {ANNOTATION_HEARTBEAT: "running"}}}),
        );
        assert!(!heartbeat_stopped(&other));
    }

    #[test]
    fn status_advertises_the_kubelet_endpoint() {
        let status = node_status("lab-node-2", 16446, None, t(0));
        assert_eq!(status["daemonEndpoints"]["kubeletEndpoint"]["Port"], 16446);
        assert_eq!(
            status["addresses"][0],
            json!({"type": "InternalIP", "address": "127.0.0.1"})
        );
        assert_eq!(
            status["addresses"][1],
            json!({"type": "Hostname", "address": "lab-node-2"})
        );
        assert_eq!(status["capacity"]["memory"], "8Gi");
        assert_eq!(status["allocatable"]["pods"], "110");
        assert_eq!(status["nodeInfo"]["kubeletVersion"], "v1.20.2");
        let ready = &status["conditions"][3];
        assert_eq!(ready["type"], "Ready");
        assert_eq!(ready["status"], "True");
        assert_eq!(ready["reason"], "KubeletReady");
        assert_eq!(ready["lastHeartbeatTime"], "2026-03-01T12:00:00Z");
        let obj = node_object("lab-node-2");
        assert_eq!(
            obj["metadata"]["labels"]["kubernetes.io/hostname"],
            "lab-node-2"
        );
    }

    #[test]
    fn transition_time_kept_while_status_unchanged() {
        let ready_since = node(json!({"status": {"conditions": [
            {"type": "Ready", "status": "True", "lastTransitionTime": "2026-03-01T11:00:00Z"},
            {"type": "MemoryPressure", "status": "Unknown", "lastTransitionTime": "2026-03-01T11:00:00Z"}
        ]}}));
        assert!(is_ready(Some(&ready_since)));
        let c = conditions(Some(&ready_since), t(30));
        assert_eq!(c[3]["lastTransitionTime"], "2026-03-01T11:00:00Z");
        assert_eq!(c[3]["lastHeartbeatTime"], "2026-03-01T12:00:30Z");
        // MemoryPressure goes Unknown → False: a transition now.
        assert_eq!(c[0]["lastTransitionTime"], "2026-03-01T12:00:30Z");

        let unknown = node(json!({"status": {"conditions": [
            {"type": "Ready", "status": "Unknown", "lastTransitionTime": "2026-03-01T11:00:00Z"}
        ]}}));
        assert!(!is_ready(Some(&unknown)));
        assert_eq!(
            conditions(Some(&unknown), t(5))[3]["lastTransitionTime"],
            "2026-03-01T12:00:05Z"
        );
    }

    #[test]
    fn lease_shape() {
        let lease = lease_object("lab-node-1", Some("uid-1"), t(0));
        assert_eq!(lease["metadata"]["namespace"], "kube-node-lease");
        assert_eq!(lease["metadata"]["ownerReferences"][0]["kind"], "Node");
        assert_eq!(lease["spec"]["holderIdentity"], "lab-node-1");
        assert_eq!(lease["spec"]["leaseDurationSeconds"], 40);
        assert_eq!(lease["spec"]["renewTime"], "2026-03-01T12:00:00.000000Z");
    }
}

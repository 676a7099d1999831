//! The flaky-sandbox scenario (`sim.nightwatch.dev/sandbox-failures: "N"`): the first N annotated
//! pods of a controller owner that the simulator sees fail sandbox creation (the CNI plugin finds
//! no free address) and keep failing until they are deleted; the owner's later pods start
//! normally. Deleting the stuck pod is the fix, as for a transient sandbox/CNI failure in a real
//! cluster. Pure: the counters are a value the runtime holds, so a restarted simulator starts
//! counting afresh.

use crate::images::fake_hex64;
use crate::pod::PodFacts;
use std::collections::HashMap;

/// The kubelet's event reason for a sandbox it could not create.
pub const REASON: &str = "FailedCreatePodSandBox";

/// Why one pod's sandbox cannot be created; fixed when the simulator first sees the pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxFailure {
    /// The ID of the sandbox containerd tried to set up (stable per pod, so the repeats are one
    /// correlated Event).
    pub sandbox_id: String,
    /// The node's pod subnet prefix, e.g. "10.244.1".
    pub subnet: String,
}

impl SandboxFailure {
    pub fn new(pod_uid: &str, subnet: &str) -> SandboxFailure {
        SandboxFailure {
            sandbox_id: fake_hex64(&[pod_uid, "sandbox"]),
            subnet: subnet.to_string(),
        }
    }

    /// The kubelet's message with containerd and the bridge CNI plugin's host-local IPAM.
    pub fn message(&self) -> String {
        let (id, subnet) = (&self.sandbox_id, &self.subnet);
        format!(
            "Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup \
             network for sandbox \"{id}\": plugin type=\"bridge\" name=\"lab\" failed (add): \
             failed to allocate for range 0: no IP addresses available in range set: \
             {subnet}.1-{subnet}.254"
        )
    }
}

/// How many annotated pods of each owner (`PodFacts::owner_key`) the simulator has seen.
#[derive(Debug, Clone, Default)]
pub struct OwnerCounts {
    seen: HashMap<String, u32>,
}

impl OwnerCounts {
    /// Counts a pod the simulator sees for the first time and says whether its sandbox fails:
    /// it carries the annotation with N ≥ 1 and is one of the first N such pods of its owner.
    /// `has_sandbox`: the pod already reported a pod IP (an earlier simulator run started it);
    /// it is counted but keeps its sandbox.
    pub fn first_sight(&mut self, facts: &PodFacts, has_sandbox: bool) -> bool {
        let Some(limit) = facts.sandbox_failures() else {
            return false;
        };
        let seen = self.seen.entry(facts.owner_key()).or_insert(0);
        *seen = seen.saturating_add(1);
        *seen <= limit && !has_sandbox
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::Pod;
    use serde_json::json;

    /// A pod of `owner` (a ReplicaSet uid; None: no controller owner) with the annotation value.
    fn facts(name: &str, uid: &str, owner: Option<&str>, failures: Option<&str>) -> PodFacts {
        let mut meta = json!({"name": name, "namespace": "shop", "uid": uid});
        if let Some(owner) = owner {
            meta["ownerReferences"] = json!([
                {"apiVersion": "v1", "kind": "Pod", "name": "not-the-controller", "uid": "u-other"},
                {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-5d9c",
                 "uid": owner, "controller": true}
            ]);
        }
        if let Some(n) = failures {
            meta["annotations"] = json!({"sim.nightwatch.dev/sandbox-failures": n});
        }
        let pod: Pod = serde_json::from_value(json!({
            "metadata": meta,
            "spec": {"nodeName": "lab-node-1", "containers": [{"name": "app", "image": "app:1"}]},
        }))
        .unwrap();
        PodFacts::from_pod(&pod).unwrap()
    }

    /// (name, uid, controller owner uid, annotation, already has a sandbox).
    type Sight = (
        &'static str,
        &'static str,
        Option<&'static str>,
        Option<&'static str>,
        bool,
    );

    struct Case {
        what: &'static str,
        /// The pods in the order the simulator first sees them.
        pods: Vec<Sight>,
        failing: Vec<bool>,
    }

    #[test]
    fn first_n_pods_of_an_owner_fail() {
        let cases = [
            Case {
                what: "first N fail, N+1 runs",
                pods: vec![
                    ("web-a", "u-a", Some("rs-1"), Some("2"), false),
                    ("web-b", "u-b", Some("rs-1"), Some("2"), false),
                    ("web-c", "u-c", Some("rs-1"), Some("2"), false),
                    ("web-d", "u-d", Some("rs-1"), Some("2"), false),
                ],
                failing: vec![true, true, false, false],
            },
            Case {
                what: "the ReplicaSet's replacement of a deleted stuck pod runs",
                pods: vec![
                    ("web-a", "u-a", Some("rs-1"), Some("1"), false),
                    ("web-b", "u-b", Some("rs-1"), Some("1"), false),
                ],
                failing: vec![true, false],
            },
            Case {
                what: "no controller owner: deleted and recreated under the same name",
                pods: vec![
                    ("solo", "u-1", None, Some("1"), false),
                    ("solo", "u-2", None, Some("1"), false),
                    ("other", "u-3", None, Some("1"), false),
                ],
                failing: vec![true, false, true],
            },
            Case {
                what: "a different owner counts separately",
                pods: vec![
                    ("web-a", "u-a", Some("rs-1"), Some("1"), false),
                    ("web-b", "u-b", Some("rs-2"), Some("1"), false),
                    ("web-c", "u-c", Some("rs-1"), Some("1"), false),
                    ("web-d", "u-d", Some("rs-2"), Some("1"), false),
                ],
                failing: vec![true, true, false, false],
            },
            Case {
                what: "annotation absent, zero or not a number",
                pods: vec![
                    ("web-a", "u-a", Some("rs-1"), None, false),
                    ("web-b", "u-b", Some("rs-1"), Some("0"), false),
                    ("web-c", "u-c", Some("rs-1"), Some("many"), false),
                    ("web-d", "u-d", Some("rs-1"), Some(" 1 "), false),
                ],
                failing: vec![false, false, false, true],
            },
            Case {
                what: "a pod that already has its sandbox is counted, not failed",
                pods: vec![
                    ("web-a", "u-a", Some("rs-1"), Some("1"), true),
                    ("web-b", "u-b", Some("rs-1"), Some("1"), false),
                ],
                failing: vec![false, false],
            },
        ];
        for case in cases {
            let mut counts = OwnerCounts::default();
            let got: Vec<bool> = case
                .pods
                .iter()
                .map(|(name, uid, owner, n, has_sandbox)| {
                    counts.first_sight(&facts(name, uid, *owner, *n), *has_sandbox)
                })
                .collect();
            assert_eq!(got, case.failing, "{}", case.what);
        }
    }

    #[test]
    fn owner_key_is_the_controller_uid_or_the_pod() {
        assert_eq!(
            facts("web-a", "u-a", Some("rs-1"), None).owner_key(),
            "owner:rs-1"
        );
        assert_eq!(
            facts("solo", "u-1", None, None).owner_key(),
            "pod:shop/solo"
        );
    }

    #[test]
    fn message_names_the_sandbox_and_the_node_range() {
        let failure = SandboxFailure::new("u-a", "10.244.2");
        assert_eq!(failure.sandbox_id.len(), 64);
        assert!(failure.sandbox_id.bytes().all(|b| b.is_ascii_hexdigit()));
        let want = format!(
            "Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox \"{}\": plugin type=\"bridge\" name=\"lab\" failed (add): failed to allocate for range 0: no IP addresses available in range set: 10.244.2.1-10.244.2.254",
            failure.sandbox_id
        );
        assert_eq!(failure.message(), want);
    }
}

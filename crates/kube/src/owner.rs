//! Owner chains: Pod → ReplicaSet → Deployment, Pod → StatefulSet / DaemonSet, Pod → Job →
//! CronJob, followed through `ownerReferences` entries with `controller: true`.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::core::{ApiResource, GroupVersionKind};
use serde::Serialize;
use serde_json::Value;

/// One controller reference: who controls an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerLink {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub uid: String,
}

/// The controller owner of an object (the `ownerReferences` entry with `controller: true`).
pub fn controller_of(meta: &ObjectMeta) -> Option<OwnerLink> {
    meta.owner_references
        .as_ref()?
        .iter()
        .find(|r| r.controller == Some(true))
        .map(|r| OwnerLink {
            api_version: r.api_version.clone(),
            kind: r.kind.clone(),
            name: r.name.clone(),
            uid: r.uid.clone(),
        })
}

/// Kinds whose objects own pods (directly or through another kind) in the same namespace.
const OWNER_KINDS: &[(&str, &str)] = &[
    ("ReplicaSet", "replicasets"),
    ("Deployment", "deployments"),
    ("StatefulSet", "statefulsets"),
    ("DaemonSet", "daemonsets"),
    ("Job", "jobs"),
    ("CronJob", "cronjobs"),
    ("ReplicationController", "replicationcontrollers"),
];

/// Kinds that are themselves controlled by another (so the traversal reads them and goes on).
pub fn is_intermediate(kind: &str) -> bool {
    matches!(kind, "ReplicaSet" | "Job")
}

/// The API resource of an owner kind at `api_version` (`apps/v1`, `batch/v1beta1`, …), if it is
/// one nightwatch knows.
pub fn owner_resource(api_version: &str, kind: &str) -> Option<ApiResource> {
    let plural = OWNER_KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, p)| *p)?;
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let gvk = GroupVersionKind::gvk(group, version, kind);
    Some(ApiResource::from_gvk_with_plural(&gvk, plural))
}

/// The workloads actions change (through their pod template).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum WorkloadKind {
    Deployment,
    StatefulSet,
    DaemonSet,
    CronJob,
}

impl WorkloadKind {
    pub fn parse(kind: &str) -> Option<WorkloadKind> {
        Some(match kind {
            "Deployment" => WorkloadKind::Deployment,
            "StatefulSet" => WorkloadKind::StatefulSet,
            "DaemonSet" => WorkloadKind::DaemonSet,
            "CronJob" => WorkloadKind::CronJob,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            WorkloadKind::Deployment => "Deployment",
            WorkloadKind::StatefulSet => "StatefulSet",
            WorkloadKind::DaemonSet => "DaemonSet",
            WorkloadKind::CronJob => "CronJob",
        }
    }

    /// Where the pod template sits in the object.
    pub fn template_path(self) -> &'static [&'static str] {
        match self {
            WorkloadKind::CronJob => &["spec", "jobTemplate", "spec", "template"],
            _ => &["spec", "template"],
        }
    }

    /// The object's API resource; CronJob's group version depends on the server
    /// (`batch/v1beta1` before 1.21).
    pub fn resource(self, cronjob_version: &str) -> ApiResource {
        let api_version = match self {
            WorkloadKind::CronJob => cronjob_version,
            _ => "apps/v1",
        };
        // Every WorkloadKind is in OWNER_KINDS.
        owner_resource(api_version, self.as_str()).unwrap_or_else(|| {
            ApiResource::from_gvk(&GroupVersionKind::gvk("apps", "v1", self.as_str()))
        })
    }
}

/// One step of a chain as the `get_owner_chain` tool reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainLink {
    pub kind: String,
    pub name: String,
}

/// The workload at the top of a chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Workload {
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

/// The topmost controller in `chain` (which starts with the Pod) that is a pod-owning kind, e.g.
/// the Deployment above a ReplicaSet, the CronJob above a Job, a Job without a CronJob. A mirror
/// pod's Node or an unknown operator kind is not a workload.
pub fn workload_of(namespace: &str, chain: &[ChainLink]) -> Option<Workload> {
    chain
        .iter()
        .skip(1)
        .rev()
        .find(|link| OWNER_KINDS.iter().any(|(k, _)| *k == link.kind))
        .map(|link| Workload {
            kind: link.kind.clone(),
            namespace: namespace.to_owned(),
            name: link.name.clone(),
        })
}

/// A workload's `spec.selector` as a label-selector query string (`app=web,tier in (a,b)`);
/// `None` when it has none or uses an operator Kubernetes does not define.
pub fn selector_string(selector: &Value) -> Option<String> {
    let mut parts: Vec<String> = selector["matchLabels"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect();
    for expr in selector["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let key = expr["key"].as_str()?;
        let values: Vec<&str> = expr["values"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        parts.push(match expr["operator"].as_str()? {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.to_owned(),
            "DoesNotExist" => format!("!{key}"),
            _ => return None,
        });
    }
    (!parts.is_empty()).then(|| parts.join(","))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    fn link(kind: &str, name: &str) -> ChainLink {
        ChainLink {
            kind: kind.into(),
            name: name.into(),
        }
    }

    #[test]
    fn controller_reference_only() {
        let meta: ObjectMeta = serde_json::from_value(json!({
            "name": "web-5d8-x",
            "ownerReferences": [
                {"apiVersion": "v1", "kind": "ConfigMap", "name": "cm", "uid": "1"},
                {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-5d8", "uid": "2",
                 "controller": true}]
        }))
        .unwrap();
        let owner = controller_of(&meta).unwrap();
        assert_eq!(owner.kind, "ReplicaSet");
        assert_eq!(owner.name, "web-5d8");
        assert_eq!(owner.uid, "2");
        assert_eq!(owner.api_version, "apps/v1");

        let no_controller: ObjectMeta = serde_json::from_value(json!({
            "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "cm", "uid": "1",
                                 "controller": false}]
        }))
        .unwrap();
        assert_eq!(controller_of(&no_controller), None);
        assert_eq!(controller_of(&ObjectMeta::default()), None);
    }

    #[test]
    fn workloads_of_chains() {
        type Case = (Vec<ChainLink>, Option<(&'static str, &'static str)>);
        let table: Vec<Case> = vec![
            (
                vec![
                    link("Pod", "web-1"),
                    link("ReplicaSet", "web-5d8"),
                    link("Deployment", "web"),
                ],
                Some(("Deployment", "web")),
            ),
            (
                vec![link("Pod", "db-0"), link("StatefulSet", "db")],
                Some(("StatefulSet", "db")),
            ),
            (
                vec![link("Pod", "agent-x"), link("DaemonSet", "agent")],
                Some(("DaemonSet", "agent")),
            ),
            (
                vec![
                    link("Pod", "r-1-x"),
                    link("Job", "r-1"),
                    link("CronJob", "r"),
                ],
                Some(("CronJob", "r")),
            ),
            (
                vec![link("Pod", "once-x"), link("Job", "once")],
                Some(("Job", "once")),
            ),
            (
                vec![link("Pod", "rs-x"), link("ReplicaSet", "rs")],
                Some(("ReplicaSet", "rs")),
            ),
            // A Deployment managed by an operator's custom resource stays the workload.
            (
                vec![
                    link("Pod", "w-1"),
                    link("ReplicaSet", "w-2"),
                    link("Deployment", "w"),
                    link("Rollout", "w"),
                ],
                Some(("Deployment", "w")),
            ),
            (vec![link("Pod", "etcd-n1"), link("Node", "n1")], None),
            (vec![link("Pod", "bare")], None),
        ];
        for (chain, expected) in table {
            let got = workload_of("ns", &chain);
            let want = expected.map(|(kind, name)| Workload {
                kind: kind.into(),
                namespace: "ns".into(),
                name: name.into(),
            });
            assert_eq!(got, want, "{chain:?}");
        }
    }

    #[test]
    fn selectors() {
        let table = [
            (json!({"matchLabels": {"app": "web"}}), Some("app=web")),
            (
                json!({"matchLabels": {"app": "web", "tier": "fe"},
                       "matchExpressions": [
                           {"key": "env", "operator": "In", "values": ["a", "b"]},
                           {"key": "x", "operator": "NotIn", "values": ["c"]},
                           {"key": "y", "operator": "Exists"},
                           {"key": "z", "operator": "DoesNotExist"}]}),
                Some("app=web,tier=fe,env in (a,b),x notin (c),y,!z"),
            ),
            (json!({}), None),
            (json!(null), None),
            (
                json!({"matchExpressions": [{"key": "k", "operator": "Gt", "values": ["1"]}]}),
                None,
            ),
        ];
        for (selector, want) in table {
            assert_eq!(selector_string(&selector).as_deref(), want, "{selector}");
        }
    }

    #[test]
    fn resources_of_owner_kinds() {
        let rs = owner_resource("apps/v1", "ReplicaSet").unwrap();
        assert_eq!(
            (rs.group.as_str(), rs.version.as_str(), rs.plural.as_str()),
            ("apps", "v1", "replicasets")
        );
        let cj = owner_resource("batch/v1beta1", "CronJob").unwrap();
        assert_eq!(cj.api_version, "batch/v1beta1");
        assert_eq!(cj.plural, "cronjobs");
        assert!(owner_resource("v1", "Node").is_none());
        assert_eq!(
            WorkloadKind::CronJob.resource("batch/v1beta1").api_version,
            "batch/v1beta1"
        );
        assert_eq!(
            WorkloadKind::StatefulSet.resource("batch/v1").plural,
            "statefulsets"
        );
        assert!(is_intermediate("ReplicaSet") && is_intermediate("Job"));
        assert!(!is_intermediate("Deployment"));
    }
}

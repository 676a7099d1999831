//! What an action is about: the named change a runbook step asks for and the object it would change.
//! Plain data shared by the runbook engine, the policy and the Kubernetes actuator.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The object an action changes. `kind` is the Kubernetes kind (`Pod`, `Deployment`,
/// `StatefulSet`, `DaemonSet`, `Node`, …); `namespace` is `None` for cluster-scoped objects.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ActionTarget {
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
}

impl ActionTarget {
    pub fn namespaced(kind: &str, namespace: &str, name: &str) -> Self {
        Self {
            kind: kind.to_owned(),
            namespace: Some(namespace.to_owned()),
            name: name.to_owned(),
        }
    }

    pub fn cluster(kind: &str, name: &str) -> Self {
        Self {
            kind: kind.to_owned(),
            namespace: None,
            name: name.to_owned(),
        }
    }

    /// `Kind/namespace/name` or `Kind/name`: the key limits and breakers count by.
    pub fn key(&self) -> String {
        match &self.namespace {
            Some(namespace) => format!("{}/{}/{}", self.kind, namespace, self.name),
            None => format!("{}/{}", self.kind, self.name),
        }
    }
}

impl fmt::Display for ActionTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

/// One change a runbook step asks for: the action's name (`increase_memory_limit`, `cordon`, …),
/// the resolved target and the step's arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionRequest {
    pub action: String,
    pub target: ActionTarget,
    #[serde(default)]
    pub args: serde_json::Value,
}

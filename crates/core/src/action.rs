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

macro_rules! actions {
    ($($variant:ident => $name:literal, $object:ident),+ $(,)?) => {
        /// The actions nightwatch can carry out, one list: the policy knows these names (anything
        /// else is denied as unknown), the actuator performs them, the history names their fixes.
        /// Requests keep the name as a string (runbooks and stored rows may name anything); it is
        /// parsed into this type where it is matched on.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum Action { $(#[serde(rename = $name)] $variant),+ }

        impl Action {
            pub const ALL: &'static [Action] = &[$(Action::$variant),+];
            /// Every action's name, in the order of [`Action::ALL`].
            pub const NAMES: &'static [&'static str] = &[$($name),+];

            pub const fn as_str(self) -> &'static str {
                match self { $(Action::$variant => $name),+ }
            }

            /// The kind of object the action changes.
            pub const fn object(self) -> ActionObject {
                match self { $(Action::$variant => ActionObject::$object),+ }
            }
        }
    };
}

actions! {
    DeletePod => "delete_pod", Pod,
    RolloutRestart => "rollout_restart", Workload,
    IncreaseMemoryLimit => "increase_memory_limit", Workload,
    PatchImage => "patch_image", Workload,
    FixImagePullBackoff => "fix_imagepullbackoff", Workload,
    Cordon => "cordon", Node,
    Uncordon => "uncordon", Node,
    Drain => "drain", Node,
}

/// What an action changes: the pod's controlling workload (its template), the pod itself, or a
/// node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionObject {
    Workload,
    Pod,
    Node,
}

impl Action {
    /// The action named `name` exactly (canonical spelling: see
    /// [`crate::policy::normalize_action`]), if nightwatch knows it.
    pub fn parse(name: &str) -> Option<Action> {
        Action::ALL.iter().copied().find(|a| a.as_str() == name)
    }

    /// The action whose policy rules govern this one: an alias is governed by the same class
    /// lists, forbidden list and breaker count as the action it stands for.
    pub const fn governing(self) -> Action {
        match self {
            Action::FixImagePullBackoff => Action::PatchImage,
            other => other,
        }
    }

    /// Whether the action sets a container image (and so needs an `image` argument).
    pub const fn sets_image(self) -> bool {
        matches!(self.governing(), Action::PatchImage)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Action {
    type Err = crate::model::UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Action::parse(s).ok_or_else(|| crate::model::UnknownValue(s.to_owned()))
    }
}

#[cfg(test)]
mod action_tests {
    use super::*;

    #[test]
    fn names_round_trip_and_serde_agrees() {
        assert_eq!(Action::ALL.len(), Action::NAMES.len());
        for (action, name) in Action::ALL.iter().zip(Action::NAMES) {
            assert_eq!(action.as_str(), *name);
            assert_eq!(name.parse::<Action>().unwrap(), *action);
            assert_eq!(serde_json::to_value(action).unwrap(), *name);
        }
        assert!(Action::parse("scale_to_zero").is_none());
        assert!(
            Action::parse("Delete-Pod").is_none(),
            "callers normalise first"
        );
    }

    #[test]
    fn aliases_are_governed_by_a_known_action_of_the_same_object() {
        for action in Action::ALL {
            let governing = action.governing();
            assert_eq!(governing.governing(), governing, "one level of aliases");
            assert_eq!(action.object(), governing.object());
        }
        assert_eq!(Action::FixImagePullBackoff.governing(), Action::PatchImage);
        assert!(Action::FixImagePullBackoff.sets_image() && Action::PatchImage.sets_image());
        assert!(!Action::RolloutRestart.sets_image());
    }
}

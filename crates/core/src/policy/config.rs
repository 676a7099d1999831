//! The policy config: its shape, its defaults, parsing, and the classing of a target into an
//! environment class. What a config may not say is in `validate`.

use super::actions::{FORBIDDEN_ACTIONS, KNOWN_ACTIONS, list_covers, normalize_action};
use super::error::PolicyError;
use super::glob::glob_match;
use super::locate::locate;
use crate::action::Action;
use crate::action::ActionTarget;
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::time::Duration;

/// The class a target falls into when no environment rule matches it.
pub const DEFAULT_CLASS: &str = "default";

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Actions on a class's auto list still wait for a human.
    #[default]
    Recommend,
    /// Actions on a class's auto list run without asking.
    Auto,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Recommend => "recommend",
            Mode::Auto => "auto",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicyConfig {
    pub mode: Mode,
    /// Which class a target is in; the first rule that matches wins, else [`DEFAULT_CLASS`].
    pub environments: Vec<EnvironmentRule>,
    /// Never allowed, whatever the mode, class or approval. [`FORBIDDEN_ACTIONS`] are forbidden
    /// even when not listed here.
    pub forbidden: Vec<String>,
    /// Incident classes that always go to a human, whatever the action.
    pub always_escalate: Vec<String>,
    /// What each class may do on its own (`auto`) or with a human's approval (`approval`).
    pub classes: BTreeMap<String, ClassRules>,
    pub limits: Limits,
    pub known_noise: KnownNoise,
    /// How long a request waits for approval before it lapses.
    #[serde(with = "super::duration")]
    pub approval_ttl: Duration,
}

/// One `environments` entry. Namespaced targets are matched by `namespaces` (globs) and
/// `namespace_labels`; Node targets by `nodes` (globs on the node name) and `node_labels`. Every
/// selector given for the target's scope must match (labels: every listed label, same value);
/// a rule with no selector for that scope does not match it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentRule {
    pub class: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub namespace_labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClassRules {
    pub auto: Vec<String>,
    pub approval: Vec<String>,
}

impl ClassRules {
    /// The rules of [`DEFAULT_CLASS`] when the config does not define it: every known action
    /// needs a human, none runs on its own.
    pub fn fallback() -> Self {
        Self {
            auto: Vec::new(),
            approval: strings(KNOWN_ACTIONS),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Actions on one target in the last hour at which the next is denied.
    pub per_target_per_hour: u32,
    /// Actions anywhere in the last hour at which the next is denied.
    pub global_per_hour: u32,
    pub breaker: Breaker,
}

/// Escalates instead of repeating the same action on the same target again and again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Breaker {
    pub same_action_same_target: u32,
    #[serde(with = "super::duration")]
    pub window: Duration,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KnownNoise {
    pub namespaces: Vec<String>,
}

const HOUR: Duration = Duration::from_secs(3600);

impl Default for Limits {
    fn default() -> Self {
        Self {
            per_target_per_hour: 3,
            global_per_hour: 20,
            breaker: Breaker::default(),
        }
    }
}

impl Default for Breaker {
    fn default() -> Self {
        Self {
            same_action_same_target: 3,
            window: 24 * HOUR,
        }
    }
}

impl Default for PolicyConfig {
    /// The example policy of the design (section 5). `lab` and `infra` have the same rules as the
    /// built-in `default` class (every known action needs approval), so that labelled lab
    /// namespaces and nodes are recorded under their own class names.
    fn default() -> Self {
        let rule = |class: &str| EnvironmentRule {
            class: class.to_owned(),
            namespaces: Vec::new(),
            namespace_labels: BTreeMap::new(),
            nodes: Vec::new(),
            node_labels: BTreeMap::new(),
        };
        let environments = vec![
            EnvironmentRule {
                namespaces: strings(&["prod-*", "payments"]),
                ..rule("prod")
            },
            EnvironmentRule {
                namespaces: strings(&["dev-*", "tenant-test-*"]),
                ..rule("dev")
            },
            EnvironmentRule {
                namespace_labels: BTreeMap::from([("env".to_owned(), "lab".to_owned())]),
                ..rule("lab")
            },
            EnvironmentRule {
                nodes: strings(&["*"]),
                ..rule("infra")
            },
        ];
        use Action::*;
        let classes = BTreeMap::from([
            (
                "prod".to_owned(),
                ClassRules {
                    auto: names(&[DeletePod]),
                    approval: names(&[
                        RolloutRestart,
                        IncreaseMemoryLimit,
                        PatchImage,
                        Cordon,
                        Drain,
                    ]),
                },
            ),
            (
                "dev".to_owned(),
                ClassRules {
                    auto: names(&[
                        DeletePod,
                        RolloutRestart,
                        IncreaseMemoryLimit,
                        PatchImage,
                        Cordon,
                        Uncordon,
                    ]),
                    approval: Vec::new(),
                },
            ),
            ("lab".to_owned(), ClassRules::fallback()),
            ("infra".to_owned(), ClassRules::fallback()),
        ]);
        Self {
            mode: Mode::Recommend,
            environments,
            forbidden: strings(FORBIDDEN_ACTIONS),
            always_escalate: strings(&[
                "database_error",
                "certificate_or_mtls",
                "multiple_services",
                "unknown",
            ]),
            classes,
            limits: Limits::default(),
            known_noise: KnownNoise {
                namespaces: strings(&["tenant-test-*"]),
            },
            approval_ttl: HOUR,
        }
    }
}

impl PolicyConfig {
    /// Parses and validates a policy. Fields left out take their defaults; unknown fields are
    /// refused. Every error says where in the text it is.
    pub fn from_yaml(text: &str) -> Result<Self, PolicyError> {
        let config: Self =
            yaml_serde::from_str(text).map_err(|error| PolicyError::from_yaml(&error))?;
        config.check().map_err(|invalid| {
            let location = locate(text, &invalid.path);
            invalid.into_error(location)
        })?;
        Ok(config)
    }

    /// Refuses a config that names an undefined class, allows a forbidden action, names an
    /// unknown action, has an empty glob or selector, or a zero limit.
    pub fn validate(&self) -> Result<(), PolicyError> {
        self.check().map_err(|invalid| invalid.into_error(None))
    }

    /// Whether namespaces matching the `known_noise` globs are expected to be noisy.
    pub fn is_known_noise(&self, namespace: &str) -> bool {
        self.known_noise
            .namespaces
            .iter()
            .any(|glob| glob_match(glob, namespace))
    }

    /// The environment class of `target`: the class of the first matching `environments` rule,
    /// else [`DEFAULT_CLASS`]. `namespace_labels` are the labels of the target's namespace,
    /// `node_labels` those of the node when the target is a Node.
    pub fn environment_class(
        &self,
        target: &ActionTarget,
        namespace_labels: &BTreeMap<String, String>,
        node_labels: &BTreeMap<String, String>,
    ) -> &str {
        self.environments
            .iter()
            .find(|rule| rule.matches(target, namespace_labels, node_labels))
            .map_or(DEFAULT_CLASS, |rule| rule.class.as_str())
    }

    /// The rules of `class`: as configured, else the built-in fallback for [`DEFAULT_CLASS`],
    /// else none (an undefined class allows nothing).
    pub fn class_rules(&self, class: &str) -> Option<Cow<'_, ClassRules>> {
        match self.classes.get(class) {
            Some(rules) => Some(Cow::Borrowed(rules)),
            None if class == DEFAULT_CLASS => Some(Cow::Owned(ClassRules::fallback())),
            None => None,
        }
    }

    /// Whether `action` (any spelling) is forbidden: in `forbidden` (aliases included) or one of
    /// [`FORBIDDEN_ACTIONS`].
    pub fn is_forbidden(&self, action: &str) -> bool {
        let canonical = normalize_action(action);
        FORBIDDEN_ACTIONS.contains(&canonical.as_str()) || list_covers(&self.forbidden, &canonical)
    }

    /// Whether an approval asked for at `asked_at` has lapsed at `now`.
    pub fn approval_expired(&self, asked_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        let ttl = TimeDelta::from_std(self.approval_ttl).unwrap_or(TimeDelta::MAX);
        now.signed_duration_since(asked_at) >= ttl
    }
}

impl EnvironmentRule {
    fn matches(
        &self,
        target: &ActionTarget,
        namespace_labels: &BTreeMap<String, String>,
        node_labels: &BTreeMap<String, String>,
    ) -> bool {
        if target.kind.eq_ignore_ascii_case("Node") {
            selectors_match(&self.nodes, &self.node_labels, &target.name, node_labels)
        } else if let Some(namespace) = &target.namespace {
            selectors_match(
                &self.namespaces,
                &self.namespace_labels,
                namespace,
                namespace_labels,
            )
        } else {
            // Cluster-scoped and not a Node: no rule has a selector for it.
            false
        }
    }
}

fn selectors_match(
    globs: &[String],
    labels: &BTreeMap<String, String>,
    name: &str,
    actual_labels: &BTreeMap<String, String>,
) -> bool {
    if globs.is_empty() && labels.is_empty() {
        return false;
    }
    let globs_ok = globs.is_empty() || globs.iter().any(|glob| glob_match(glob, name));
    let labels_ok = labels
        .iter()
        .all(|(k, v)| actual_labels.get(k).is_some_and(|actual| actual == v));
    globs_ok && labels_ok
}

fn strings(names: &[&str]) -> Vec<String> {
    names.iter().map(|name| (*name).to_owned()).collect()
}

fn names(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .map(|action| action.as_str().to_owned())
        .collect()
}

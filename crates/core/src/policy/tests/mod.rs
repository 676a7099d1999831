#![allow(clippy::unwrap_used, clippy::expect_used)]

mod config;
mod decide;
mod props;

use super::*;
use crate::action::{ActionRequest, ActionTarget};
use crate::evidence::premise::Premise;
use chrono::{DateTime, TimeZone, Utc};
use std::collections::BTreeMap;

/// The policy of the brief, verbatim.
pub(super) const BRIEF_YAML: &str = r#"mode: recommend            # recommend | auto
environments:              # first match wins
  - { class: prod, namespaces: ["prod-*", "payments"] }
  - { class: dev,  namespaces: ["dev-*", "tenant-test-*"] }
  - { class: lab, namespace_labels: { env: lab } }   # all listed labels must match the namespace's labels
  - { class: infra, nodes: ["*"] }                    # for cluster-scoped Node targets (name globs) and/or node_labels
forbidden: [delete_namespace, delete_pvc, delete_secret, delete_argocd_application, scale_to_zero, database_operation, git_push]
always_escalate: [database_error, certificate_or_mtls, multiple_services, unknown]
classes:
  prod: { auto: [delete_pod], approval: [rollout_restart, increase_memory_limit, patch_image, cordon, drain] }
  dev:  { auto: [delete_pod, rollout_restart, increase_memory_limit, patch_image, cordon, uncordon] }
limits: { per_target_per_hour: 3, global_per_hour: 20, breaker: { same_action_same_target: 3, window: 24h } }
known_noise: { namespaces: ["tenant-test-*"] }
approval_ttl: 1h
"#;

/// The brief's policy with the `lab` and `infra` classes it uses defined (as the built-in
/// fallback rules): what `PolicyConfig::default()` is.
pub(super) fn default_yaml() -> String {
    BRIEF_YAML.replace(
        "limits:",
        "  lab:   { approval: [delete_pod, rollout_restart, increase_memory_limit, patch_image, fix_imagepullbackoff, cordon, uncordon, drain] }\n  \
           infra: { approval: [delete_pod, rollout_restart, increase_memory_limit, patch_image, fix_imagepullbackoff, cordon, uncordon, drain] }\nlimits:",
    )
}

pub(super) fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap()
}

pub(super) fn minutes_ago(minutes: i64) -> DateTime<Utc> {
    now() - chrono::TimeDelta::minutes(minutes)
}

pub(super) fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// `Kind/namespace/name` or `Kind/name`.
pub(super) fn target(key: &str) -> ActionTarget {
    let parts: Vec<&str> = key.split('/').collect();
    match parts.as_slice() {
        [kind, name] => ActionTarget::cluster(kind, name),
        [kind, namespace, name] => ActionTarget::namespaced(kind, namespace, name),
        _ => panic!("bad target {key}"),
    }
}

/// One request and its circumstances; defaults to nothing special.
#[derive(Debug, Clone)]
pub(super) struct Ask {
    pub config: PolicyConfig,
    pub action: String,
    pub target: ActionTarget,
    pub namespace_labels: BTreeMap<String, String>,
    pub node_labels: BTreeMap<String, String>,
    pub labels_unknown: Option<String>,
    pub escalation: Vec<String>,
    pub approved_by: Option<String>,
    pub history: ActionHistory,
    pub premise: Option<Premise>,
}

impl Ask {
    pub fn new(action: &str, target_key: &str) -> Self {
        Self {
            config: PolicyConfig::default(),
            action: action.to_owned(),
            target: target(target_key),
            namespace_labels: BTreeMap::new(),
            node_labels: BTreeMap::new(),
            labels_unknown: None,
            escalation: Vec::new(),
            approved_by: None,
            history: ActionHistory::default(),
            premise: None,
        }
    }

    pub fn auto(mut self) -> Self {
        self.config.mode = Mode::Auto;
        self
    }

    pub fn config(mut self, f: impl FnOnce(&mut PolicyConfig)) -> Self {
        f(&mut self.config);
        self
    }

    pub fn approved(mut self, by: &str) -> Self {
        self.approved_by = Some(by.to_owned());
        self
    }

    pub fn escalation(mut self, classes: &[&str]) -> Self {
        self.escalation = classes.iter().map(|c| (*c).to_owned()).collect();
        self
    }

    pub fn ns_labels(mut self, pairs: &[(&str, &str)]) -> Self {
        self.namespace_labels = labels(pairs);
        self
    }

    pub fn node_labels(mut self, pairs: &[(&str, &str)]) -> Self {
        self.node_labels = labels(pairs);
        self
    }

    /// What the evidence says of the action's premise.
    pub fn premise(mut self, holds: bool, because: &str) -> Self {
        self.premise = Some(Premise {
            holds,
            because: because.to_owned(),
        });
        self
    }

    /// The target's labels could not be read, for `why`.
    pub fn labels_unknown(mut self, why: &str) -> Self {
        self.labels_unknown = Some(why.to_owned());
        self
    }

    /// `n` executions of `action` on `target_key`, `minutes` ago.
    pub fn ran(mut self, n: usize, action: &str, target_key: &str, minutes: i64) -> Self {
        for _ in 0..n {
            self.history.executed.push(PastAction {
                action: action.to_owned(),
                target_key: target_key.to_owned(),
                at: minutes_ago(minutes),
            });
        }
        self
    }

    pub fn decide(&self) -> Decision {
        let request = ActionRequest {
            action: self.action.clone(),
            target: self.target.clone(),
            args: serde_json::Value::Null,
        };
        decide(
            &self.config,
            &DecisionInput {
                request: &request,
                namespace_labels: &self.namespace_labels,
                node_labels: &self.node_labels,
                labels_unknown: self.labels_unknown.as_deref(),
                escalation_classes: &self.escalation,
                approved_by: self.approved_by.as_deref(),
                history: &self.history,
                premise: self.premise.as_ref(),
                now: now(),
            },
        )
    }
}

//! `decide`: one request, one decision, by a fixed order of rules.

use super::actions::{governing_action, is_known, list_covers, normalize_action};
use super::config::{Mode, PolicyConfig};
use super::duration;
use super::{Authority, Permit};
use crate::action::{ActionRequest, ActionTarget};
use crate::evidence::premise::Premise;
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The rule that denies an action whose fault the cluster does not show now.
pub const PREMISE_RULE: &str = "premise";

/// Everything `decide` looks at besides the config. Time is passed in.
#[derive(Debug, Clone, Copy)]
pub struct DecisionInput<'a> {
    /// The action and its target (and arguments).
    pub request: &'a ActionRequest,
    /// Labels of the target's namespace (empty if none or unknown).
    pub namespace_labels: &'a BTreeMap<String, String>,
    /// Labels of the target node when the target is a Node.
    pub node_labels: &'a BTreeMap<String, String>,
    /// `Some(why)` when the target's labels could not be read. Classes may be chosen by label,
    /// so empty labels could put a prod target in a looser class: such a request is denied.
    pub labels_unknown: Option<&'a str>,
    /// Classes the incident was put in (`unknown`, `database_error`, …).
    pub escalation_classes: &'a [String],
    /// `Some(name)` when a human approved this request.
    pub approved_by: Option<&'a str>,
    /// What already ran.
    pub history: &'a ActionHistory,
    /// Whether the cluster shows, now, the fault the action answers (see
    /// [`crate::evidence::premise`]); `None` where nothing could be assessed (no cluster
    /// access, so nothing can run either).
    pub premise: Option<&'a Premise>,
    pub now: DateTime<Utc>,
}

/// Actions executed recently, failed executions included: what limits and the breaker count.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionHistory {
    pub executed: Vec<PastAction>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PastAction {
    pub action: String,
    /// [`ActionTarget::key`] of the target.
    pub target_key: String,
    pub at: DateTime<Utc>,
}

impl PastAction {
    pub fn new(action: &str, target: &ActionTarget, at: DateTime<Utc>) -> Self {
        Self {
            action: action.to_owned(),
            target_key: target.key(),
            at,
        }
    }
}

/// What the policy decided, which rule decided it and why, for acting on and for the record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    /// Serialised as `outcome: allow|needs_approval|deny|forbidden|escalate`, plus `permit` for
    /// allow.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// The environment class of the target.
    pub class: String,
    /// Stable machine name of the deciding rule (`forbidden`, `class_auto`, `breaker`, …).
    pub rule: &'static str,
    /// A sentence naming the action, target, class and numbers.
    pub reason: String,
}

// One decision per proposed action: the size of the permit does not matter, and a plain
// `Allow(Permit)` is easier to match on than a box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", content = "permit", rename_all = "snake_case")]
pub enum Outcome {
    /// Go ahead; the permit is what the actuator takes.
    Allow(Permit),
    /// Allowed once a human approves it.
    NeedsApproval,
    /// Not now (a limit) or not in this class.
    Deny,
    /// Never, whatever the mode, class or approval.
    Forbidden,
    /// Stop and hand the incident to a human.
    Escalate,
}

impl Outcome {
    /// The word the outcome is recorded as.
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Allow(_) => "allow",
            Outcome::NeedsApproval => "needs_approval",
            Outcome::Deny => "deny",
            Outcome::Forbidden => "forbidden",
            Outcome::Escalate => "escalate",
        }
    }
}

impl Decision {
    pub fn permit(&self) -> Option<&Permit> {
        match &self.outcome {
            Outcome::Allow(permit) => Some(permit),
            _ => None,
        }
    }

    pub fn into_permit(self) -> Option<Permit> {
        match self.outcome {
            Outcome::Allow(permit) => Some(permit),
            _ => None,
        }
    }
}

/// Decides one request. The first rule that applies wins:
///
/// 1. forbidden action → `Forbidden` (`forbidden`);
/// 2. an incident class in `always_escalate` → `Escalate` (`always_escalate`);
/// 3. unknown action → `Deny` (`unknown_action`);
/// 4. the target's labels could not be read → `Deny` (`labels_unknown`); else its
///    environment class is found;
/// 5. action in neither of the class's lists → `Deny` (`not_permitted`);
/// 6. the cluster does not show the fault the action answers (a healthy pod, a Ready node)
///    → `Deny` (`premise`), approved or not: an alert is a claim, the evidence is what is;
/// 7. limits, approved or not: per target → `Deny` (`limit_per_target`), global → `Deny`
///    (`limit_global`), breaker → `Escalate` (`breaker`);
/// 8. approved by a human → `Allow` with [`Authority::Human`] (`approved`);
/// 9. on the approval list → `NeedsApproval` (`class_approval`);
/// 10. on the auto list → `Allow` with [`Authority::Auto`] in auto mode (`class_auto`), else
///     `NeedsApproval` (`recommend_mode`).
///
/// Action names are compared in canonical spelling (see [`normalize_action`]); an allowed
/// request's permit carries the canonical name.
pub fn decide(config: &PolicyConfig, input: &DecisionInput<'_>) -> Decision {
    let request = input.request;
    let action = normalize_action(&request.action);
    let class = config
        .environment_class(&request.target, input.namespace_labels, input.node_labels)
        .to_owned();
    let asked = if action == request.action {
        action.clone()
    } else {
        format!("{action} (asked as {:?})", request.action)
    };
    let what = format!("{asked} on {} (class {class})", request.target);
    let decision = |outcome, rule, reason: String| Decision {
        outcome,
        class: class.clone(),
        rule,
        reason,
    };

    // 1.
    if config.is_forbidden(&action) {
        return decision(
            Outcome::Forbidden,
            "forbidden",
            format!("{what}: forbidden; no mode, class or approval can allow it"),
        );
    }
    // 2.
    let escalating = input.escalation_classes.iter().find(|incident_class| {
        let incident_class = incident_class.trim().to_lowercase();
        config
            .always_escalate
            .iter()
            .any(|listed| listed.trim().to_lowercase() == incident_class)
    });
    if let Some(incident_class) = escalating {
        return decision(
            Outcome::Escalate,
            "always_escalate",
            format!(
                "{what}: the incident is classed {}, which always goes to a human",
                incident_class.trim()
            ),
        );
    }
    // 3.
    if !is_known(&action) {
        return decision(
            Outcome::Deny,
            "unknown_action",
            format!("{what}: not an action nightwatch knows"),
        );
    }
    // 4.
    if let Some(why) = input.labels_unknown {
        return Decision {
            outcome: Outcome::Deny,
            class: "unknown".to_owned(),
            rule: "labels_unknown",
            reason: format!(
                "{asked} on {}: the target's labels could not be read ({why}), so its environment class is not known",
                request.target
            ),
        };
    }
    // 5.
    let rules = config.class_rules(&class).unwrap_or_default();
    let in_auto = list_covers(&rules.auto, &action);
    let in_approval = list_covers(&rules.approval, &action);
    if !in_auto && !in_approval {
        let why = if config.class_rules(&class).is_some() {
            "not in the class's auto or approval list"
        } else {
            "the class has no rules under `classes`"
        };
        return decision(Outcome::Deny, "not_permitted", format!("{what}: {why}"));
    }
    // 6.
    if let Some(premise) = input.premise.filter(|premise| !premise.holds) {
        return decision(
            Outcome::Deny,
            PREMISE_RULE,
            format!(
                "{what}: the cluster does not show the fault it answers now: {}",
                premise.because
            ),
        );
    }
    // 7.
    if let Some((outcome, rule, why)) = over_limit(config, input, &action) {
        return decision(outcome, rule, format!("{what}: {why}"));
    }
    // 8.
    if let Some(name) = input.approved_by.map(str::trim).filter(|n| !n.is_empty()) {
        return decision(
            Outcome::Allow(permit(
                request,
                &action,
                &class,
                Authority::Human(name.to_owned()),
            )),
            "approved",
            format!("{what}: approved by {name}"),
        );
    }
    // 9.
    if in_approval {
        return decision(
            Outcome::NeedsApproval,
            "class_approval",
            format!("{what}: the class allows it with a human's approval"),
        );
    }
    // 10.
    match config.mode {
        Mode::Auto => decision(
            Outcome::Allow(permit(request, &action, &class, Authority::Auto)),
            "class_auto",
            format!("{what}: the class allows it automatically (auto mode)"),
        ),
        Mode::Recommend => decision(
            Outcome::NeedsApproval,
            "recommend_mode",
            format!(
                "{what}: the class would allow it automatically, but in recommend mode a human \
                 decides"
            ),
        ),
    }
}

fn permit(request: &ActionRequest, action: &str, class: &str, authority: Authority) -> Permit {
    let mut request = request.clone();
    action.clone_into(&mut request.action);
    Permit::new(request, class.to_owned(), authority)
}

/// The first limit the request would break, if any. An execution counts when it is less than the
/// window old (or stamped in the future).
fn over_limit(
    config: &PolicyConfig,
    input: &DecisionInput<'_>,
    action: &str,
) -> Option<(Outcome, &'static str, String)> {
    let limits = &config.limits;
    let target = input.request.target.key();
    let hour_ago = since(input.now, TimeDelta::hours(1));
    let recent = || {
        input
            .history
            .executed
            .iter()
            .filter(|past| past.at > hour_ago)
    };

    let on_target = recent().filter(|past| past.target_key == target).count();
    if on_target >= as_count(limits.per_target_per_hour) {
        return Some((
            Outcome::Deny,
            "limit_per_target",
            format!(
                "{on_target} actions on this target in the last hour (limit {})",
                limits.per_target_per_hour
            ),
        ));
    }
    let everywhere = recent().count();
    if everywhere >= as_count(limits.global_per_hour) {
        return Some((
            Outcome::Deny,
            "limit_global",
            format!(
                "{everywhere} actions in the last hour across the cluster (limit {})",
                limits.global_per_hour
            ),
        ));
    }
    let window = TimeDelta::from_std(limits.breaker.window).unwrap_or(TimeDelta::MAX);
    let window_start = since(input.now, window);
    let governing = governing_action(action);
    let repeats = input
        .history
        .executed
        .iter()
        .filter(|past| {
            past.at > window_start
                && past.target_key == target
                && governing_action(&normalize_action(&past.action)) == governing
        })
        .count();
    if repeats >= as_count(limits.breaker.same_action_same_target) {
        return Some((
            Outcome::Escalate,
            "breaker",
            format!(
                "{governing} already ran {repeats} times on this target in the last {} (breaker \
                 at {}); a human should look",
                duration::short(limits.breaker.window),
                limits.breaker.same_action_same_target
            ),
        ));
    }
    None
}

fn since(now: DateTime<Utc>, window: TimeDelta) -> DateTime<Utc> {
    now.checked_sub_signed(window)
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

fn as_count(limit: u32) -> usize {
    usize::try_from(limit).unwrap_or(usize::MAX)
}

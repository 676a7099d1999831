//! The one place that decides whether an action may change the cluster.
//!
//! Why one place: every rule that stands between a runbook step and the cluster (forbidden
//! actions, incidents that always go to a human, environment classes, rate limits, the breaker,
//! recommend mode, human approval) is applied here, in a fixed order, by [`decide`], and nowhere
//! else. A [`Permit`] can only be made in this module, and the Kubernetes actuator takes nothing
//! else, so the type system guarantees nothing changes the cluster without a decision from here.
//!
//! The module is pure: no I/O and no wall clock. The caller passes the config, the request, the
//! labels it looked up, the recent history and the time; the same input always gives the same
//! [`Decision`], which is serialisable so it can be recorded with its rule and reason.
//!
//! Files: `actions` (known names, aliases, normalisation), `config` (the YAML config, its
//! defaults, environment classing), `validate` (what a config may not say), `decide` (the rules),
//! `glob`, `duration`, `error` and `locate` (line and column for errors found after parsing).

mod actions;
mod config;
mod decide;
mod duration;
mod error;
mod glob;
pub(crate) use glob::glob_match;
mod locate;
#[cfg(test)]
mod tests;
mod validate;

pub use actions::{FORBIDDEN_ACTIONS, KNOWN_ACTIONS, governing_action, normalize_action};
pub use config::{
    Breaker, ClassRules, DEFAULT_CLASS, EnvironmentRule, KnownNoise, Limits, Mode, PolicyConfig,
};
pub use decide::{
    ActionHistory, Decision, DecisionInput, Outcome, PREMISE_RULE, PastAction, decide,
};
pub use error::{Location, PolicyError};

use crate::action::ActionRequest;
use serde::Serialize;

/// Who let an action through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "by", content = "name", rename_all = "snake_case")]
pub enum Authority {
    /// The policy allowed it on its own (auto mode, the class's auto list).
    Auto,
    /// A human approved it; the name of who decided.
    Human(String),
}

/// Proof that the policy allowed exactly this request. Only this module can make one (the
/// fields are private and there is no public constructor), and the Kubernetes actuator takes
/// nothing else, so no code path can change the cluster without a policy decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Permit {
    request: ActionRequest,
    class: String,
    authority: Authority,
}

impl Permit {
    pub(crate) fn new(request: ActionRequest, class: String, authority: Authority) -> Self {
        Self {
            request,
            class,
            authority,
        }
    }

    pub fn request(&self) -> &ActionRequest {
        &self.request
    }

    /// The environment class the target was placed in.
    pub fn class(&self) -> &str {
        &self.class
    }

    pub fn authority(&self) -> &Authority {
        &self.authority
    }
}

//! The one place that decides whether an action may change the cluster (DESIGN §5).
//!
//! SKELETON — being written; only [`Permit`] is final.

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
    #[allow(dead_code)] // used by `decide`, being written
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

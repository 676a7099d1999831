//! What an analysis is written from: the incident, its timeline and its neighbours' history.
//!
//! Plain structs of the core's own (the store's rows stay in the store) so the binary can build
//! them from whatever it read, and tests can write them as data.

use crate::event::EventKind;
use crate::incident::{IncidentState, Verdict};
use crate::model::{Severity, UnknownValue};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// Everything one analysis needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalysisInput {
    pub incident: IncidentInfo,
    /// The incident's events, oldest first.
    #[serde(default)]
    pub timeline: Vec<TimelineEvent>,
    /// Candidate past incidents; [`super::select_history`] picks the related ones, so the
    /// caller may pass overlapping lists (same alertname, same pod, same node) as they come.
    #[serde(default)]
    pub history: Vec<PastIncident>,
}

/// The incident being analysed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentInfo {
    pub id: i64,
    pub alertname: String,
    pub severity: Severity,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub pod: Option<String>,
    #[serde(default)]
    pub container: Option<String>,
    #[serde(default)]
    pub node: Option<String>,
    pub state: IncidentState,
    pub opened_at: DateTime<Utc>,
    #[serde(default)]
    pub resolved_at: Option<DateTime<Utc>>,
    /// The alert's summary annotation, when it had one.
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub runbook: Option<String>,
    #[serde(default)]
    pub runbook_title: Option<String>,
    /// `recommend` or `auto`, as recorded when the runbook ran.
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default)]
    pub verdict: Option<Verdict>,
}

impl IncidentInfo {
    /// What the incident is about, for sentences: `ns/pod (container)`, `node n`, or the
    /// alertname when there is neither.
    pub fn subject(&self) -> String {
        match (&self.namespace, &self.pod, &self.node) {
            (Some(namespace), Some(pod), _) => match &self.container {
                Some(container) => format!("pod {namespace}/{pod} (container {container})"),
                None => format!("pod {namespace}/{pod}"),
            },
            (_, _, Some(node)) => format!("node {node}"),
            (Some(namespace), None, None) => format!("namespace {namespace}"),
            _ => format!("alert {}", self.alertname),
        }
    }

    /// The key two incidents share when they are about the same thing (see
    /// [`PastIncident::subject_key`]).
    pub fn subject_key(&self) -> Option<String> {
        subject_key(
            self.namespace.as_deref(),
            self.pod.as_deref(),
            self.node.as_deref(),
        )
    }
}

/// One timeline entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEvent {
    pub id: i64,
    pub kind: EventKind,
    pub at: DateTime<Utc>,
    #[serde(default)]
    pub payload: serde_json::Value,
}

/// One earlier incident that may be related.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PastIncident {
    pub id: i64,
    pub alertname: String,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub pod: Option<String>,
    #[serde(default)]
    pub node: Option<String>,
    pub opened_at: DateTime<Utc>,
    #[serde(default)]
    pub resolved_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub verdict: Option<Verdict>,
    #[serde(default)]
    pub runbook: Option<String>,
    #[serde(default)]
    pub actions: Vec<TakenAction>,
}

impl PastIncident {
    /// `ns/pod` for pod incidents, `node` for node incidents: what "the same pod" or "the
    /// same node" means when comparing fixes and flaps.
    pub fn subject_key(&self) -> Option<String> {
        subject_key(
            self.namespace.as_deref(),
            self.pod.as_deref(),
            self.node.as_deref(),
        )
    }

    /// How long it stayed open, when it resolved.
    pub fn time_to_resolve(&self) -> Option<chrono::Duration> {
        self.resolved_at
            .map(|resolved| resolved - self.opened_at)
            .filter(|took| *took >= chrono::Duration::zero())
    }
}

fn subject_key(namespace: Option<&str>, pod: Option<&str>, node: Option<&str>) -> Option<String> {
    match (namespace, pod, node) {
        (Some(namespace), Some(pod), _) => Some(format!("pod {namespace}/{pod}")),
        (_, _, Some(node)) => Some(format!("node {node}")),
        _ => None,
    }
}

/// An action an earlier incident recorded, and how it ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TakenAction {
    /// The action's name (`increase_memory_limit`, `delete_pod`, …).
    pub action: String,
    /// The changed object's key (`Deployment/shop/api`), when known.
    #[serde(default)]
    pub target: Option<String>,
    pub outcome: ActionOutcome,
}

/// The end state of an action, spelt like the store's action states so the binary can map
/// one to the other by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActionOutcome {
    Pending,
    Approved,
    Rejected,
    Expired,
    Denied,
    Forbidden,
    Escalated,
    Running,
    Verified,
    Failed,
}

impl ActionOutcome {
    pub const ALL: [ActionOutcome; 10] = [
        ActionOutcome::Pending,
        ActionOutcome::Approved,
        ActionOutcome::Rejected,
        ActionOutcome::Expired,
        ActionOutcome::Denied,
        ActionOutcome::Forbidden,
        ActionOutcome::Escalated,
        ActionOutcome::Running,
        ActionOutcome::Verified,
        ActionOutcome::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActionOutcome::Pending => "pending",
            ActionOutcome::Approved => "approved",
            ActionOutcome::Rejected => "rejected",
            ActionOutcome::Expired => "expired",
            ActionOutcome::Denied => "denied",
            ActionOutcome::Forbidden => "forbidden",
            ActionOutcome::Escalated => "escalated",
            ActionOutcome::Running => "running",
            ActionOutcome::Verified => "verified",
            ActionOutcome::Failed => "failed",
        }
    }
}

impl FromStr for ActionOutcome {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ActionOutcome::ALL
            .into_iter()
            .find(|outcome| outcome.as_str() == s)
            .ok_or_else(|| UnknownValue(s.to_owned()))
    }
}

//! The incident as every channel shows it: one plain data struct in, each service's message
//! out (Slack blocks in `slack::blocks`, the Discord embed in `discord`).

use chrono::{DateTime, Utc};
use nightwatch_core::Severity;
use nightwatch_core::incident::{IncidentState, Verdict};

/// Everything the incident message shows; the caller fills it from the store.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentCard {
    pub id: i64,
    pub title: String,
    pub severity: Severity,
    pub state: IncidentState,
    pub verdict: Option<Verdict>,
    pub alertname: String,
    pub namespace: Option<String>,
    pub pod: Option<String>,
    pub node: Option<String>,
    pub runbook: Option<String>,
    pub summary: Option<String>,
    pub acknowledged_by: Option<String>,
    pub pending_action: Option<PendingAction>,
    /// `{ui_base}/incident/{id}`: see [`incident_url`].
    pub ui_url: String,
    /// When the incident opened (Discord's embed timestamp).
    pub opened_at: Option<DateTime<Utc>>,
}

/// An action waiting for approval.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingAction {
    pub id: i64,
    pub description: String,
}

/// The UI page of an incident.
pub fn incident_url(ui_base: &str, incident_id: i64) -> String {
    format!("{}/incident/{incident_id}", ui_base.trim_end_matches('/'))
}

/// At most `max` characters, the last one an ellipsis when cut.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use nightwatch_core::Severity;
use nightwatch_core::incident::IncidentState;
use nightwatch_notify::{IncidentCard, PendingAction, incident_url};
use std::time::Duration;

/// Long enough for a loaded CI machine; only reached when something is broken.
pub const PATIENCE: Duration = Duration::from_secs(10);

pub fn card(id: i64) -> IncidentCard {
    IncidentCard {
        id,
        title: "api-7d9f crash looping".into(),
        severity: Severity::Critical,
        state: IncidentState::Triggered,
        verdict: None,
        alertname: "KubePodCrashLooping".into(),
        namespace: Some("shop".into()),
        pod: Some("api-7d9f".into()),
        node: None,
        runbook: Some("crashloop".into()),
        summary: Some("Restarted 5 times in 10 minutes".into()),
        acknowledged_by: None,
        pending_action: None,
        ui_url: incident_url("https://nw.example", id),
        opened_at: chrono::DateTime::from_timestamp(1_700_000_000, 0),
    }
}

pub fn with_pending(mut card: IncidentCard, action_id: i64) -> IncidentCard {
    card.pending_action = Some(PendingAction {
        id: action_id,
        description: "restart deployment shop/api".into(),
    });
    card
}

/// The total of waits of `v` milliseconds each, as paused tokio time measures them.
pub fn ms(v: &[u64]) -> Duration {
    Duration::from_millis(v.iter().sum())
}

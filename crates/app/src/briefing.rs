//! Gathering the briefing (core::briefing) from the store: the window's incidents, the open
//! escalations nobody acknowledged, the actions waiting for approval. Shown by
//! `nightwatch briefing`, `GET /api/briefing`, `/briefing`, `/nightwatch briefing` in Slack, at
//! start and on the `[briefing] schedule`.

use chrono::{DateTime, Duration, Utc};
use nightwatch_core::briefing::{Briefing, BriefingIncident, Pending, briefing};
use nightwatch_core::event::EventKind;
use nightwatch_core::incident::IncidentState;
use nightwatch_store::{ActionState, IncidentFilter, IncidentRow, Store, StoreError};

pub const DEFAULT_DAYS: i64 = 7;

/// Every incident opened at or after `since`, newest first (all pages).
pub async fn incidents_opened_since(
    store: &Store,
    since: DateTime<Utc>,
) -> Result<Vec<IncidentRow>, StoreError> {
    let mut incidents = Vec::new();
    let mut before = None;
    loop {
        let page = store
            .list_incidents(&IncidentFilter {
                since: Some(since),
                before,
                limit: Some(nightwatch_store::MAX_PAGE),
                ..IncidentFilter::default()
            })
            .await?;
        incidents.extend(page.incidents);
        match page.next_before {
            Some(next) => before = Some(next),
            None => return Ok(incidents),
        }
    }
}

pub async fn gather(store: &Store, now: DateTime<Utc>, days: i64) -> Result<Briefing, StoreError> {
    let since = now - Duration::days(days.clamp(1, 90));
    let incidents = incidents_opened_since(store, since).await?;
    let mut pending = Pending::default();
    for incident in incidents
        .iter()
        .filter(|i| i.state == IncidentState::Triggered)
    {
        if !store
            .incident_events_of(incident.id, EventKind::Escalated)
            .await?
            .is_empty()
        {
            pending.escalations.push(incident.id);
        }
    }
    pending.escalations.sort_unstable();
    for action in store.actions(Some(ActionState::Pending), None, 100).await? {
        pending.approvals.push((
            action.id,
            action.incident_id,
            format!("{} on {}", action.action, action.target),
        ));
    }
    let rows: Vec<BriefingIncident> = incidents
        .into_iter()
        .map(|i| BriefingIncident {
            id: i.id,
            alertname: i.alertname,
            namespace: i.namespace,
            severity: i.severity,
            state: i.state,
            verdict: i.verdict,
            opened_at: i.opened_at,
            acknowledged_at: i.acknowledged_at,
            resolved_at: i.resolved_at,
        })
        .collect();
    Ok(briefing(&rows, pending, since, now))
}

/// The JSON shape: the briefing plus its Markdown.
pub fn view(briefing: &Briefing) -> serde_json::Value {
    let mut value = serde_json::to_value(briefing).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        object.insert("markdown".to_owned(), briefing.to_markdown().into());
    }
    value
}

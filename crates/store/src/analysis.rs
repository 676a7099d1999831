//! Reads behind an incident's analysis: the incident and its timeline as the core's
//! [`AnalysisInput`], with the related past incidents, their verdicts and the actions taken on
//! them; and the latest `analysis` event.

use crate::sql::{Marks, millis};
use crate::{EventRow, IncidentRow, Store, StoreError};
use chrono::{DateTime, Utc};
use nightwatch_core::analysis::{
    ActionOutcome, AnalysisInput, IncidentInfo, PastIncident, TakenAction, TimelineEvent,
};
use nightwatch_core::event::EventKind;
use std::collections::BTreeMap;

const EVENT_COLUMNS: &str = "id, incident_id, at, kind, actor, alert_id, payload";

impl Store {
    /// What [`nightwatch_core::analysis::template_analysis`] needs for incident `id`: the
    /// incident, its events oldest first, and the candidate history (same alertname, same
    /// namespace+pod, same node; at most 50 each, possibly overlapping) with the actions each
    /// recorded. `None` when there is no such incident. The runbook title is left to the
    /// caller, which has the runbook library.
    pub async fn analysis_input(&self, id: i64) -> Result<Option<AnalysisInput>, StoreError> {
        let Some(detail) = self.incident_detail(id).await? else {
            return Ok(None);
        };
        let related = self.related_incidents(&detail.incident).await?;
        let candidates: Vec<&IncidentRow> = related
            .same_alertname
            .iter()
            .chain(&related.same_pod)
            .chain(&related.same_node)
            .collect();
        let mut ids: Vec<i64> = candidates.iter().map(|past| past.id).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut actions = self.actions_taken(&ids).await?;
        let history = candidates
            .into_iter()
            .map(|past| PastIncident {
                id: past.id,
                alertname: past.alertname.clone(),
                namespace: past.namespace.clone(),
                pod: past.pod.clone(),
                node: past.node.clone(),
                opened_at: past.opened_at,
                resolved_at: past.resolved_at,
                verdict: past.verdict,
                runbook: past.runbook.clone(),
                // An incident listed under two relations carries its actions on the first
                // copy only, which is the copy select_history keeps.
                actions: actions.remove(&past.id).unwrap_or_default(),
            })
            .collect();
        let incident = &detail.incident;
        Ok(Some(AnalysisInput {
            incident: IncidentInfo {
                id: incident.id,
                alertname: incident.alertname.clone(),
                severity: incident.severity,
                namespace: incident.namespace.clone(),
                pod: incident.pod.clone(),
                container: incident.container.clone(),
                node: incident.node.clone(),
                state: incident.state,
                opened_at: incident.opened_at,
                resolved_at: incident.resolved_at,
                summary: incident.summary.clone(),
                runbook: incident.runbook.clone(),
                runbook_title: None,
                mode: incident.mode.clone(),
                verdict: incident.verdict,
            },
            timeline: detail
                .events
                .into_iter()
                .map(|event| TimelineEvent {
                    id: event.id,
                    kind: event.kind,
                    at: event.at,
                    payload: event.payload,
                })
                .collect(),
            history,
        }))
    }

    /// The actions recorded on each of `incident_ids` (oldest first): name, target and the
    /// state they ended in.
    async fn actions_taken(
        &self,
        incident_ids: &[i64],
    ) -> Result<BTreeMap<i64, Vec<TakenAction>>, StoreError> {
        let mut taken: BTreeMap<i64, Vec<TakenAction>> = BTreeMap::new();
        if incident_ids.is_empty() {
            return Ok(taken);
        }
        let mut marks = Marks::new(self.backend);
        let statement = format!(
            "SELECT incident_id, action, target_key, state FROM actions \
             WHERE incident_id IN ({}) ORDER BY id",
            marks.list(incident_ids.len())
        );
        let mut query = sqlx::query_as(&statement);
        for id in incident_ids {
            query = query.bind(*id);
        }
        let rows: Vec<(i64, String, String, String)> = query.fetch_all(&self.read).await?;
        for (incident_id, action, target_key, state) in rows {
            let outcome: ActionOutcome = state.parse().map_err(StoreError::corrupt)?;
            taken.entry(incident_id).or_default().push(TakenAction {
                action,
                target: (!target_key.is_empty()).then_some(target_key),
                outcome,
            });
        }
        Ok(taken)
    }

    /// Events of `kind` with an id above `after`, oldest first (a reader's cursor).
    pub async fn events_after(
        &self,
        after: i64,
        kind: EventKind,
        limit: i64,
    ) -> Result<Vec<EventRow>, StoreError> {
        let statement = format!(
            "SELECT {EVENT_COLUMNS} FROM incident_events WHERE id > $1 AND kind = $2 \
             ORDER BY id LIMIT $3"
        );
        sqlx::query(&statement)
            .bind(after)
            .bind(kind.as_str())
            .bind(limit)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(EventRow::from_row)
            .collect()
    }

    /// One incident's events of `kind`, oldest first.
    pub async fn incident_events_of(
        &self,
        incident_id: i64,
        kind: EventKind,
    ) -> Result<Vec<EventRow>, StoreError> {
        let statement = format!(
            "SELECT {EVENT_COLUMNS} FROM incident_events WHERE incident_id = $1 AND kind = $2 \
             ORDER BY id"
        );
        sqlx::query(&statement)
            .bind(incident_id)
            .bind(kind.as_str())
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(EventRow::from_row)
            .collect()
    }

    /// What the model's answers recorded since `since` cost together (USD), across incidents.
    pub async fn model_spend_since(&self, since: DateTime<Utc>) -> Result<f64, StoreError> {
        let payloads: Vec<String> = sqlx::query_scalar(
            "SELECT payload FROM incident_events WHERE kind = 'llm_response' AND at >= $1",
        )
        .bind(crate::sql::millis(since))
        .fetch_all(&self.read)
        .await?;
        Ok(payloads
            .iter()
            .filter_map(|text| serde_json::from_str::<serde_json::Value>(text).ok())
            .filter_map(|payload| payload["cost_usd"].as_f64())
            .sum())
    }

    /// The incident's newest `analysis` event, if it has one.
    pub async fn latest_analysis(&self, incident_id: i64) -> Result<Option<EventRow>, StoreError> {
        let statement = format!(
            "SELECT {EVENT_COLUMNS} FROM incident_events WHERE incident_id = $1 AND kind = $2 \
             ORDER BY id DESC LIMIT 1"
        );
        sqlx::query(&statement)
            .bind(incident_id)
            .bind(EventKind::Analysis.as_str())
            .fetch_optional(&self.read)
            .await?
            .as_ref()
            .map(EventRow::from_row)
            .transpose()
    }

    /// Appends an event and returns it as stored (with its id), for callers that hand the
    /// event back, such as the regenerate-analysis API.
    pub async fn record_incident_event(
        &self,
        incident_id: i64,
        kind: EventKind,
        actor: &str,
        payload: serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<EventRow, StoreError> {
        let payload = nightwatch_core::event::bounded_payload(payload).to_string();
        let statement = format!(
            "INSERT INTO incident_events (incident_id, at, kind, actor, payload) \
             VALUES ($1, $2, $3, $4, $5) RETURNING {EVENT_COLUMNS}"
        );
        let row = sqlx::query(&statement)
            .bind(incident_id)
            .bind(millis(now))
            .bind(kind.as_str())
            .bind(actor)
            .bind(payload)
            .fetch_one(&self.write)
            .await?;
        EventRow::from_row(&row)
    }
}

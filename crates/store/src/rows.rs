//! What reads return: incidents, their alerts and events, serialisable for the API.

use crate::StoreError;
use crate::sql::{from_millis, opt_from_millis};
use chrono::{DateTime, Utc};
use nightwatch_core::event::EventKind;
use nightwatch_core::incident::{IncidentState, Verdict};
use nightwatch_core::model::{AlertStatus, Labels, Severity};
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncidentRow {
    pub id: i64,
    pub fingerprint: String,
    pub state: IncidentState,
    pub severity: Severity,
    pub source: String,
    pub alertname: String,
    pub namespace: Option<String>,
    pub pod: Option<String>,
    pub container: Option<String>,
    pub node: Option<String>,
    pub summary: Option<String>,
    pub labels: Labels,
    pub annotations: Labels,
    pub runbook: Option<String>,
    pub mode: Option<String>,
    pub verdict: Option<Verdict>,
    pub opened_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub acknowledged_by: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolved_by: Option<String>,
    pub last_alert_at: DateTime<Utc>,
    pub alert_count: i64,
    pub previous_incident_id: Option<i64>,
    /// When the alert that opened it says it started firing (its `startsAt`), which can be
    /// long before nightwatch heard of it.
    pub started_at: Option<DateTime<Utc>>,
    /// When anything last happened to it (an event appended).
    pub updated_at: DateTime<Utc>,
}

pub(crate) const INCIDENT_COLUMNS: &str = "id, fingerprint, state, severity, source, alertname, \
    namespace, pod, container, node, summary, labels, annotations, runbook, mode, verdict, \
    opened_at, acknowledged_at, acknowledged_by, resolved_at, resolved_by, last_alert_at, \
    alert_count, previous_incident_id, opened_starts_at, updated_at";

fn parsed<T: std::str::FromStr>(text: String) -> Result<T, StoreError>
where
    T::Err: std::fmt::Display,
{
    text.parse().map_err(StoreError::corrupt)
}

fn json_map(text: String) -> Result<Labels, StoreError> {
    serde_json::from_str(&text).map_err(StoreError::corrupt)
}

impl IncidentRow {
    pub(crate) fn from_row(row: &AnyRow) -> Result<Self, StoreError> {
        Ok(IncidentRow {
            id: row.try_get("id")?,
            fingerprint: row.try_get("fingerprint")?,
            state: parsed(row.try_get("state")?)?,
            severity: parsed(row.try_get("severity")?)?,
            source: row.try_get("source")?,
            alertname: row.try_get("alertname")?,
            namespace: row.try_get("namespace")?,
            pod: row.try_get("pod")?,
            container: row.try_get("container")?,
            node: row.try_get("node")?,
            summary: row.try_get("summary")?,
            labels: json_map(row.try_get("labels")?)?,
            annotations: json_map(row.try_get("annotations")?)?,
            runbook: row.try_get("runbook")?,
            mode: row.try_get("mode")?,
            verdict: row
                .try_get::<Option<String>, _>("verdict")?
                .map(parsed)
                .transpose()?,
            opened_at: from_millis(row.try_get("opened_at")?),
            acknowledged_at: opt_from_millis(row.try_get("acknowledged_at")?),
            acknowledged_by: row.try_get("acknowledged_by")?,
            resolved_at: opt_from_millis(row.try_get("resolved_at")?),
            resolved_by: row.try_get("resolved_by")?,
            last_alert_at: from_millis(row.try_get("last_alert_at")?),
            alert_count: row.try_get("alert_count")?,
            previous_incident_id: row.try_get("previous_incident_id")?,
            started_at: opt_from_millis(row.try_get("opened_starts_at")?),
            updated_at: from_millis(row.try_get("updated_at")?),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertRow {
    pub id: i64,
    pub delivery_id: i64,
    pub status: AlertStatus,
    pub alertname: String,
    pub fingerprint: String,
    pub source_fingerprint: Option<String>,
    pub labels: Labels,
    pub annotations: Labels,
    pub extra: serde_json::Value,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub generator_url: Option<String>,
    pub outcome: Option<String>,
    pub processed_at: Option<DateTime<Utc>>,
}

pub(crate) const ALERT_COLUMNS: &str = "id, delivery_id, status, alertname, fingerprint, \
    source_fingerprint, labels, annotations, extra, starts_at, ends_at, generator_url, outcome, \
    processed_at";

impl AlertRow {
    pub(crate) fn from_row(row: &AnyRow) -> Result<Self, StoreError> {
        let extra: String = row.try_get("extra")?;
        Ok(AlertRow {
            id: row.try_get("id")?,
            delivery_id: row.try_get("delivery_id")?,
            status: parsed(row.try_get("status")?)?,
            alertname: row.try_get("alertname")?,
            fingerprint: row.try_get("fingerprint")?,
            source_fingerprint: row.try_get("source_fingerprint")?,
            labels: json_map(row.try_get("labels")?)?,
            annotations: json_map(row.try_get("annotations")?)?,
            extra: serde_json::from_str(&extra).map_err(StoreError::corrupt)?,
            starts_at: opt_from_millis(row.try_get("starts_at")?),
            ends_at: opt_from_millis(row.try_get("ends_at")?),
            generator_url: row.try_get("generator_url")?,
            outcome: row.try_get("outcome")?,
            processed_at: opt_from_millis(row.try_get("processed_at")?),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventRow {
    pub id: i64,
    pub incident_id: i64,
    pub at: DateTime<Utc>,
    pub kind: EventKind,
    pub actor: String,
    pub alert_id: Option<i64>,
    pub payload: serde_json::Value,
}

impl EventRow {
    pub(crate) fn from_row(row: &AnyRow) -> Result<Self, StoreError> {
        let payload: String = row.try_get("payload")?;
        Ok(EventRow {
            id: row.try_get("id")?,
            incident_id: row.try_get("incident_id")?,
            at: from_millis(row.try_get("at")?),
            kind: parsed(row.try_get("kind")?)?,
            actor: row.try_get("actor")?,
            alert_id: row.try_get("alert_id")?,
            payload: serde_json::from_str(&payload).map_err(StoreError::corrupt)?,
        })
    }
}

/// An incident with everything that belongs to it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncidentDetail {
    pub incident: IncidentRow,
    pub alerts: Vec<AlertRow>,
    pub events: Vec<EventRow>,
}

/// Past incidents that share something with one incident (the history an on-call person and
/// the analysis look at).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RelatedIncidents {
    pub same_alertname: Vec<IncidentRow>,
    pub same_pod: Vec<IncidentRow>,
    pub same_node: Vec<IncidentRow>,
}

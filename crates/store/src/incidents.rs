//! Reading incidents and the changes people make to them.

use crate::rows::{ALERT_COLUMNS, INCIDENT_COLUMNS};
use crate::sql::{Bind, append_event, bind_all, millis};
use crate::write::close_unless_ok;
use crate::{AlertRow, EventRow, IncidentDetail, IncidentRow, RelatedIncidents, Store, StoreError};
use chrono::{DateTime, Utc};
use nightwatch_core::access::Actor;
use nightwatch_core::event::EventKind;
use nightwatch_core::event::payload::{Acknowledged, Payload, Resolved, Verdict};
use nightwatch_core::incident::{IncidentState, ManualChange, on_manual};
use serde::{Deserialize, Serialize};
use sqlx::{Connection, Row};

/// Filters for listing incidents. Every field is optional; `before` pages backwards by id.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct IncidentFilter {
    pub state: Option<IncidentState>,
    pub alertname: Option<String>,
    pub namespace: Option<String>,
    pub node: Option<String>,
    /// Only incidents opened at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only incidents with an id below this (the `next_before` of the previous page); in
    /// `updated` order, together with `before_updated`.
    pub before: Option<i64>,
    /// In `updated` order: only incidents updated before this (Unix ms), or at it with an id
    /// below `before` (the `next_before_updated` of the previous page).
    pub before_updated: Option<i64>,
    pub order: IncidentOrder,
    pub limit: Option<i64>,
}

/// How a list of incidents is ordered, newest first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentOrder {
    /// By id: the order incidents were opened in.
    #[default]
    Opened,
    /// By `updated_at`, then id: what moved last comes first (the on-call list).
    Updated,
}

pub const DEFAULT_PAGE: i64 = 50;
pub const MAX_PAGE: i64 = 500;
/// History shown per relation (same alertname / pod / node).
pub const MAX_RELATED: i64 = 50;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncidentPage {
    pub incidents: Vec<IncidentRow>,
    /// Pass as `before` to get the next (older) page; absent on the last page.
    pub next_before: Option<i64>,
    /// In `updated` order, pass as `before_updated` with `before`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_before_updated: Option<i64>,
}

/// What a manual change did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ManualOutcome {
    pub incident: IncidentRow,
}

impl Store {
    /// Incidents updated after `after` (Unix ms), oldest update first: what a live view has
    /// not shown yet.
    pub async fn incidents_updated_after(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<IncidentRow>, StoreError> {
        let statement = format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE updated_at > $1 \
             ORDER BY updated_at, id LIMIT $2"
        );
        sqlx::query(&statement)
            .bind(after)
            .bind(limit)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(IncidentRow::from_row)
            .collect()
    }

    pub async fn list_incidents(
        &self,
        filter: &IncidentFilter,
    ) -> Result<IncidentPage, StoreError> {
        let limit = filter.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
        let mut clauses = Vec::new();
        let mut binds = Vec::new();
        let mut add = |clause: &str, bind: Bind| {
            binds.push(bind);
            clauses.push(clause.replace('?', &format!("${}", binds.len())));
        };
        if let Some(state) = filter.state {
            add("state = ?", Bind::Text(state.as_str().to_owned()));
        }
        if let Some(alertname) = &filter.alertname {
            add("alertname = ?", Bind::Text(alertname.clone()));
        }
        if let Some(namespace) = &filter.namespace {
            add("namespace = ?", Bind::Text(namespace.clone()));
        }
        if let Some(node) = &filter.node {
            add("node = ?", Bind::Text(node.clone()));
        }
        if let Some(since) = filter.since {
            add("opened_at >= ?", Bind::Int(millis(since)));
        }
        match (filter.order, filter.before, filter.before_updated) {
            (IncidentOrder::Updated, Some(before), Some(updated)) => {
                binds.push(Bind::Int(updated));
                let updated_mark = binds.len();
                binds.push(Bind::Int(before));
                clauses.push(format!(
                    "(updated_at < ${updated_mark} OR (updated_at = ${updated_mark} AND id < ${}))",
                    binds.len()
                ));
            }
            (_, Some(before), _) => add("id < ?", Bind::Int(before)),
            _ => {}
        }
        // One more than the page tells whether there is a next page.
        binds.push(Bind::Int(limit + 1));
        let where_clause = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        let order = match filter.order {
            IncidentOrder::Opened => "id DESC",
            IncidentOrder::Updated => "updated_at DESC, id DESC",
        };
        let statement = format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents {where_clause} ORDER BY {order} LIMIT ${}",
            binds.len()
        );
        let rows = bind_all(sqlx::query(&statement), &binds)
            .fetch_all(&self.read)
            .await?;
        let mut incidents = rows
            .iter()
            .map(IncidentRow::from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let last = if incidents.len() as i64 > limit {
            incidents.truncate(limit as usize);
            incidents.last()
        } else {
            None
        };
        Ok(IncidentPage {
            next_before: last.map(|i| i.id),
            next_before_updated: last
                .filter(|_| filter.order == IncidentOrder::Updated)
                .map(|i| millis(i.updated_at)),
            incidents,
        })
    }

    pub async fn incident(&self, id: i64) -> Result<Option<IncidentRow>, StoreError> {
        let statement = format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id = $1");
        sqlx::query(&statement)
            .bind(id)
            .fetch_optional(&self.read)
            .await?
            .as_ref()
            .map(IncidentRow::from_row)
            .transpose()
    }

    pub async fn incident_detail(&self, id: i64) -> Result<Option<IncidentDetail>, StoreError> {
        let Some(incident) = self.incident(id).await? else {
            return Ok(None);
        };
        let statement =
            format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE incident_id = $1 ORDER BY id");
        let alerts = sqlx::query(&statement)
            .bind(id)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(AlertRow::from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let events = sqlx::query(
            "SELECT id, incident_id, at, kind, actor, alert_id, payload FROM incident_events \
             WHERE incident_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(EventRow::from_row)
        .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(IncidentDetail {
            incident,
            alerts,
            events,
        }))
    }

    /// Other incidents with the same alertname, the same namespace+pod, or the same node
    /// (newest first, at most [`MAX_RELATED`] each).
    pub async fn related_incidents(
        &self,
        incident: &IncidentRow,
    ) -> Result<RelatedIncidents, StoreError> {
        let same_alertname = self
            .related(
                "alertname = $2",
                &[Bind::Text(incident.alertname.clone())],
                incident.id,
            )
            .await?;
        let same_pod = match (&incident.namespace, &incident.pod) {
            (Some(namespace), Some(pod)) => {
                self.related(
                    "namespace = $2 AND pod = $3",
                    &[Bind::Text(namespace.clone()), Bind::Text(pod.clone())],
                    incident.id,
                )
                .await?
            }
            _ => Vec::new(),
        };
        let same_node = match &incident.node {
            Some(node) => {
                self.related("node = $2", &[Bind::Text(node.clone())], incident.id)
                    .await?
            }
            None => Vec::new(),
        };
        Ok(RelatedIncidents {
            same_alertname,
            same_pod,
            same_node,
        })
    }

    async fn related(
        &self,
        condition: &str,
        binds: &[Bind],
        exclude: i64,
    ) -> Result<Vec<IncidentRow>, StoreError> {
        let statement = format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id <> $1 AND {condition} \
             ORDER BY id DESC LIMIT {MAX_RELATED}"
        );
        let query = sqlx::query(&statement).bind(exclude);
        bind_all(query, binds)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(IncidentRow::from_row)
            .collect()
    }

    /// Acknowledge, resolve or set a verdict, recording who did it as an event.
    pub async fn change_incident(
        &self,
        id: i64,
        change: ManualChange,
        actor: impl Into<Actor<'_>>,
        now: DateTime<Utc>,
    ) -> Result<ManualOutcome, StoreError> {
        let Actor { name: actor, via } = actor.into();
        let via = via.map(str::to_owned);
        let mut conn = self.write.acquire().await?;
        let result = async {
        let mut tx = conn.begin().await?;
        let state: Option<String> = sqlx::query_scalar("SELECT state FROM incidents WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let state: IncidentState = state
            .ok_or(StoreError::IncidentNotFound(id))?
            .parse()
            .map_err(StoreError::corrupt)?;
        on_manual(state, change)?;
        let at = millis(now);
        let (statement, binds, kind, payload) = match change {
            ManualChange::Acknowledge => (
                "UPDATE incidents SET state = 'acknowledged', acknowledged_at = $1, acknowledged_by = $2 \
                 WHERE id = $3",
                vec![Bind::Int(at), Bind::Text(actor.to_owned()), Bind::Int(id)],
                EventKind::Acknowledged,
                Acknowledged {
                    by: actor.to_owned(),
                    via,
                }
                .to_json(),
            ),
            ManualChange::Resolve => (
                "UPDATE incidents SET state = 'resolved', resolved_at = $1, resolved_by = $2 WHERE id = $3",
                vec![Bind::Int(at), Bind::Text(actor.to_owned()), Bind::Int(id)],
                EventKind::Resolved,
                Resolved {
                    by: Some(actor.to_owned()),
                    manual: Some(true),
                    via,
                    ..Resolved::default()
                }
                .to_json(),
            ),
            ManualChange::SetVerdict(verdict) => (
                "UPDATE incidents SET verdict = $1 WHERE id = $2",
                vec![Bind::Text(verdict.as_str().to_owned()), Bind::Int(id)],
                EventKind::Verdict,
                Verdict {
                    by: actor.to_owned(),
                    verdict: verdict.as_str().to_owned(),
                    via,
                }
                .to_json(),
            ),
        };
        bind_all(sqlx::query(statement), &binds)
            .execute(&mut *tx)
            .await?;
        append_event(&mut tx, id, now, kind, actor, None, payload).await?;
        tx.commit().await?;
        Ok(())
        }
        .await;
        close_unless_ok(&mut conn, result)?;
        drop(conn);
        let incident = self
            .incident(id)
            .await?
            .ok_or(StoreError::IncidentNotFound(id))?;
        Ok(ManualOutcome { incident })
    }

    /// Incident counts per state, for metrics.
    pub async fn incident_counts(&self) -> Result<Vec<(IncidentState, i64)>, StoreError> {
        let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM incidents GROUP BY state")
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|row| {
                let state: String = row.try_get("state")?;
                Ok((
                    state.parse().map_err(StoreError::corrupt)?,
                    row.try_get("n")?,
                ))
            })
            .collect()
    }
}

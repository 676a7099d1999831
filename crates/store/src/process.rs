//! The worker side of the queue: claim alerts and apply them to incidents.

use crate::sql::{millis, opt_from_millis, values_placeholders, values_placeholders_from};
use crate::{Backend, Store, StoreError};
use chrono::{DateTime, Utc};
use nightwatch_core::event::{EventKind, bounded_payload};
use nightwatch_core::incident::{AlertOutcome, IncidentFacts, IncidentState, on_alert};
use nightwatch_core::model::{AlertStatus, Labels, Severity};
use sqlx::{AnyConnection, Connection, Row};
use std::collections::{BTreeMap, HashMap, HashSet};

/// How many queued alerts one worker transaction takes.
pub const CLAIM_BATCH: i64 = 500;
/// Values per `IN (…)` lookup.
const LOOKUP_CHUNK: usize = 250;
/// Rows per multi-row write (6 columns each at most).
const WRITE_CHUNK: usize = 500;

/// A queued alert, with what the state machine and a new incident need.
struct Claimed {
    alert_id: i64,
    fingerprint: String,
    status: AlertStatus,
    alertname: String,
    labels: String,
    annotations: String,
    starts_at: Option<i64>,
    source: String,
    delivery_id: i64,
}

const CLAIM_COLUMNS: &str = "q.alert_id, q.fingerprint, a.status, a.alertname, a.labels, \
     a.annotations, a.starts_at, d.source, a.delivery_id \
     FROM alert_queue q JOIN alerts a ON a.id = q.alert_id JOIN deliveries d ON d.id = a.delivery_id";

impl Store {
    /// Claims up to [`CLAIM_BATCH`] queued alerts, applies each to its incident and removes it
    /// from the queue, all in one transaction. Returns how many alerts were applied (0 = idle).
    ///
    /// On Postgres several workers (and replicas) run this at once: rows are claimed with
    /// `FOR UPDATE SKIP LOCKED`, each fingerprint is serialised by an advisory lock, and an
    /// alert whose fingerprint still has an older alert queued elsewhere is left for later so
    /// alerts of one fingerprint apply in arrival order.
    pub async fn process_queue(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let mut conn = self.write.acquire().await?;
        let mut tx = conn.begin().await?;
        let claimed = claim(&mut tx, self.backend).await?;
        if claimed.is_empty() {
            return Ok(0);
        }
        let deferred = match self.backend {
            Backend::Sqlite => HashSet::new(),
            Backend::Postgres => lock_fingerprints(&mut tx, &claimed).await?,
        };
        let ready: Vec<&Claimed> = claimed
            .iter()
            .filter(|a| !deferred.contains(&a.fingerprint))
            .collect();
        apply_batch(&mut tx, &ready, now).await?;
        tx.commit().await?;
        Ok(ready.len())
    }

    /// Alerts stored but not yet applied.
    pub async fn queue_depth(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM alert_queue")
            .fetch_one(&self.read)
            .await?)
    }
}

async fn claim(conn: &mut AnyConnection, backend: Backend) -> Result<Vec<Claimed>, StoreError> {
    let statement = match backend {
        Backend::Sqlite => format!("SELECT {CLAIM_COLUMNS} ORDER BY q.alert_id LIMIT $1"),
        Backend::Postgres => {
            format!(
                "SELECT {CLAIM_COLUMNS} ORDER BY q.alert_id LIMIT $1 FOR UPDATE OF q SKIP LOCKED"
            )
        }
    };
    let rows = sqlx::query(&statement)
        .bind(CLAIM_BATCH)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|row| {
            let status: String = row.try_get("status")?;
            Ok(Claimed {
                alert_id: row.try_get("alert_id")?,
                fingerprint: row.try_get("fingerprint")?,
                status: status.parse().map_err(StoreError::corrupt)?,
                alertname: row.try_get("alertname")?,
                labels: row.try_get("labels")?,
                annotations: row.try_get("annotations")?,
                starts_at: row.try_get("starts_at")?,
                source: row.try_get("source")?,
                delivery_id: row.try_get("delivery_id")?,
            })
        })
        .collect()
}

/// Takes a transaction-scoped advisory lock per fingerprint (in key order, so two workers never
/// deadlock), then returns the fingerprints that still have an older alert queued outside this
/// batch: those wait for a later round.
async fn lock_fingerprints(
    conn: &mut AnyConnection,
    claimed: &[Claimed],
) -> Result<HashSet<String>, StoreError> {
    let mut oldest: BTreeMap<&str, i64> = BTreeMap::new();
    for alert in claimed {
        oldest
            .entry(alert.fingerprint.as_str())
            .and_modify(|id| *id = (*id).min(alert.alert_id))
            .or_insert(alert.alert_id);
    }
    let mut keys: Vec<i64> = oldest.keys().map(|fp| lock_key(fp)).collect();
    keys.sort_unstable();
    keys.dedup();
    for key in keys {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(key)
            .execute(&mut *conn)
            .await?;
    }
    let mut deferred = HashSet::new();
    for (fingerprint, first_id) in oldest {
        let older: Option<i64> = sqlx::query_scalar(
            "SELECT alert_id FROM alert_queue WHERE fingerprint = $1 AND alert_id < $2 LIMIT 1",
        )
        .bind(fingerprint)
        .bind(first_id)
        .fetch_optional(&mut *conn)
        .await?;
        if older.is_some() {
            deferred.insert(fingerprint.to_owned());
        }
    }
    Ok(deferred)
}

/// A stable 64-bit key for a fingerprint (FNV-1a), for `pg_advisory_xact_lock`.
fn lock_key(fingerprint: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in fingerprint.as_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    i64::from_ne_bytes(hash.to_ne_bytes())
}

/// What the batch knows about one fingerprint: loaded once, then kept current in memory.
#[derive(Default)]
struct FingerprintState {
    open: Option<IncidentFacts>,
    last_resolved: Option<IncidentFacts>,
}

/// Loads the open and the latest resolved incident of every fingerprint in the batch.
async fn load_states(
    conn: &mut AnyConnection,
    fingerprints: &[&str],
) -> Result<HashMap<String, FingerprintState>, StoreError> {
    let mut states: HashMap<String, FingerprintState> = HashMap::new();
    for chunk in fingerprints.chunks(LOOKUP_CHUNK) {
        let list = placeholders(1, chunk.len());
        let statement = format!(
            "SELECT id, fingerprint, state, opened_starts_at, last_starts_at FROM incidents WHERE fingerprint IN ({list}) \
             AND (state <> 'resolved' OR id IN (SELECT MAX(id) FROM incidents \
             WHERE fingerprint IN ({list}) AND state = 'resolved' GROUP BY fingerprint))"
        );
        let mut query = sqlx::query(&statement);
        for fingerprint in chunk {
            query = query.bind(*fingerprint);
        }
        for row in query.fetch_all(&mut *conn).await? {
            let state: String = row.try_get("state")?;
            let facts = IncidentFacts {
                id: row.try_get("id")?,
                state: state
                    .parse::<IncidentState>()
                    .map_err(StoreError::corrupt)?,
                first_starts_at: opt_from_millis(row.try_get("opened_starts_at")?),
                last_starts_at: opt_from_millis(row.try_get("last_starts_at")?),
            };
            let entry = states.entry(row.try_get("fingerprint")?).or_default();
            if facts.state.is_open() {
                entry.open = Some(facts);
            } else {
                entry.last_resolved = Some(facts);
            }
        }
    }
    Ok(states)
}

/// `$first, $first+1, …` for `count` values.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The writes one batch accumulates and flushes in a few multi-row statements.
#[derive(Default)]
struct BatchWrites {
    events: Vec<PendingEvent>,
    /// alert id → (incident id, outcome)
    outcomes: Vec<(i64, Option<i64>, &'static str)>,
    /// incident id → (alerts folded in, latest startsAt)
    suppressed: BTreeMap<i64, (i64, Option<i64>)>,
}

struct PendingEvent {
    incident_id: i64,
    kind: EventKind,
    actor: String,
    alert_id: i64,
    payload: String,
}

async fn apply_batch(
    conn: &mut AnyConnection,
    alerts: &[&Claimed],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut fingerprints: Vec<&str> = alerts.iter().map(|a| a.fingerprint.as_str()).collect();
    fingerprints.sort_unstable();
    fingerprints.dedup();
    let mut states = load_states(conn, &fingerprints).await?;
    let mut writes = BatchWrites::default();
    for alert in alerts {
        let state = states.entry(alert.fingerprint.clone()).or_default();
        apply(conn, alert, state, &mut writes, now).await?;
    }
    flush(conn, writes, now).await
}

async fn apply(
    conn: &mut AnyConnection,
    alert: &Claimed,
    state: &mut FingerprintState,
    writes: &mut BatchWrites,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let starts_at = opt_from_millis(alert.starts_at);
    let outcome = on_alert(
        state.open.as_ref(),
        state.last_resolved.as_ref(),
        alert.status,
        starts_at,
    );
    let mut payload = serde_json::json!({
        "alert_id": alert.alert_id,
        "delivery_id": alert.delivery_id,
        "status": alert.status.as_str(),
        "starts_at": starts_at,
        "source": alert.source,
    });
    let mut event = |incident_id: i64, kind: EventKind, payload: serde_json::Value| {
        writes.events.push(PendingEvent {
            incident_id,
            kind,
            actor: alert.source.clone(),
            alert_id: alert.alert_id,
            payload: bounded_payload(payload).to_string(),
        });
    };
    let (incident_id, outcome_name) = match outcome {
        AlertOutcome::Open { previous } => {
            let id = open_incident(conn, alert, previous, now).await?;
            payload["labels"] = serde_json::from_str(&alert.labels).map_err(StoreError::corrupt)?;
            payload["annotations"] =
                serde_json::from_str(&alert.annotations).map_err(StoreError::corrupt)?;
            payload["previous_incident_id"] = serde_json::json!(previous);
            event(id, EventKind::Triggered, payload);
            state.open = Some(IncidentFacts {
                id,
                state: IncidentState::Triggered,
                first_starts_at: starts_at,
                last_starts_at: starts_at,
            });
            (Some(id), "opened")
        }
        AlertOutcome::Suppressed { incident } => {
            let entry = writes.suppressed.entry(incident).or_insert((0, None));
            entry.0 += 1;
            entry.1 = entry.1.max(alert.starts_at);
            if let Some(open) = state.open.as_mut() {
                open.last_starts_at = open.last_starts_at.max(starts_at);
            }
            event(incident, EventKind::Suppressed, payload);
            (Some(incident), "suppressed")
        }
        AlertOutcome::Resolve { incident } => {
            // Written at once: a later alert of this batch may open a new incident for the
            // same fingerprint, and the one-open-incident index must already see this one closed.
            sqlx::query(
                "UPDATE incidents SET state = 'resolved', resolved_at = $1, resolved_by = $2, \
                 last_alert_at = $1 WHERE id = $3",
            )
            .bind(millis(now))
            .bind(alert.source.as_str())
            .bind(incident)
            .execute(&mut *conn)
            .await?;
            event(incident, EventKind::Resolved, payload);
            state.last_resolved = state.open.take().map(|open| IncidentFacts {
                state: IncidentState::Resolved,
                ..open
            });
            (Some(incident), "resolved")
        }
        AlertOutcome::StaleResolution { incident } => {
            payload["reason"] = "resolution of an older occurrence than the open incident's".into();
            event(incident, EventKind::StaleAlert, payload);
            (Some(incident), "stale_resolution")
        }
        AlertOutcome::Stale { incident } => {
            payload["reason"] = "firing alert for an occurrence already resolved".into();
            event(incident, EventKind::StaleAlert, payload);
            (Some(incident), "stale")
        }
        AlertOutcome::UnmatchedResolution { last } => {
            if let Some(incident) = last {
                payload["reason"] = "resolution with no open incident".into();
                event(incident, EventKind::StaleAlert, payload);
            }
            (last, "unmatched_resolution")
        }
    };
    writes
        .outcomes
        .push((alert.alert_id, incident_id, outcome_name));
    Ok(())
}

/// Writes what the batch accumulated: suppressed counters, events (in order), alert outcomes,
/// and the removal of the applied alerts from the queue.
async fn flush(
    conn: &mut AnyConnection,
    writes: BatchWrites,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let at = millis(now);
    for (incident, (count, latest_start)) in &writes.suppressed {
        sqlx::query(
            "UPDATE incidents SET alert_count = alert_count + $1, last_alert_at = $2, \
             last_starts_at = CASE WHEN last_starts_at IS NULL OR last_starts_at < $3 \
             THEN $3 ELSE last_starts_at END WHERE id = $4",
        )
        .bind(*count)
        .bind(at)
        .bind(*latest_start)
        .bind(*incident)
        .execute(&mut *conn)
        .await?;
    }
    for chunk in writes.events.chunks(WRITE_CHUNK) {
        let statement = format!(
            "INSERT INTO incident_events (incident_id, at, kind, actor, alert_id, payload) VALUES {}",
            values_placeholders(chunk.len(), 6)
        );
        let mut query = sqlx::query(&statement);
        for event in chunk {
            query = query
                .bind(event.incident_id)
                .bind(at)
                .bind(event.kind.as_str())
                .bind(event.actor.as_str())
                .bind(event.alert_id)
                .bind(event.payload.as_str());
        }
        query.execute(&mut *conn).await?;
    }
    for chunk in writes.outcomes.chunks(WRITE_CHUNK) {
        // `UPDATE … FROM (VALUES …)`: both SQLite (3.33+) and Postgres name the columns
        // column1, column2, …
        let statement = format!(
            "UPDATE alerts SET incident_id = v.column2, outcome = v.column3, processed_at = $1 \
             FROM (VALUES {}) AS v WHERE alerts.id = v.column1",
            values_placeholders_from(2, chunk.len(), 3)
        );
        let mut query = sqlx::query(&statement).bind(at);
        for (alert_id, incident_id, outcome) in chunk {
            query = query.bind(*alert_id).bind(*incident_id).bind(*outcome);
        }
        query.execute(&mut *conn).await?;
        let statement = format!(
            "DELETE FROM alert_queue WHERE alert_id IN ({})",
            placeholders(1, chunk.len())
        );
        let mut query = sqlx::query(&statement);
        for (alert_id, _, _) in chunk {
            query = query.bind(*alert_id);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

async fn open_incident(
    conn: &mut AnyConnection,
    alert: &Claimed,
    previous: Option<i64>,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let labels: Labels = serde_json::from_str(&alert.labels).map_err(StoreError::corrupt)?;
    let annotations: Labels =
        serde_json::from_str(&alert.annotations).map_err(StoreError::corrupt)?;
    let summary = ["summary", "message", "description"]
        .iter()
        .find_map(|key| annotations.get(*key))
        .cloned();
    let label = |name: &str| labels.get(name).filter(|v| !v.is_empty()).cloned();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO incidents (fingerprint, state, severity, source, alertname, namespace, pod, \
         container, node, summary, labels, annotations, mode, opened_at, last_alert_at, \
         opened_starts_at, last_starts_at, alert_count, previous_incident_id) \
         VALUES ($1, 'triggered', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'recommend', $12, $12, \
         $13, $13, 1, $14) RETURNING id",
    )
    .bind(alert.fingerprint.as_str())
    .bind(Severity::from_labels(&labels).as_str())
    .bind(alert.source.as_str())
    .bind(alert.alertname.as_str())
    .bind(label("namespace"))
    .bind(label("pod"))
    .bind(label("container"))
    .bind(label("node"))
    .bind(summary)
    .bind(alert.labels.as_str())
    .bind(alert.annotations.as_str())
    .bind(millis(now))
    .bind(alert.starts_at)
    .bind(previous)
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
}

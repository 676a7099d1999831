//! The worker side of the queue: claim alerts and apply them to incidents.

use crate::sql::{Marks, millis, opt_from_millis, statement_chunks};
use crate::write::close_unless_ok;
use crate::{Backend, Store, StoreError};
use chrono::{DateTime, Utc};
use nightwatch_core::event::payload::{Payload, Resolved, StaleAlert, Suppressed, Triggered};
use nightwatch_core::event::{EventKind, bounded_payload};
use nightwatch_core::fingerprint::Fnv1a;
use nightwatch_core::incident::{AlertOutcome, IncidentFacts, IncidentState, on_alert};
use nightwatch_core::model::{AlertStatus, Labels, Severity};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, Connection, Row};
use std::collections::{BTreeMap, HashMap, HashSet};

/// How many queued alerts one worker transaction takes.
pub const CLAIM_BATCH: i64 = 500;
/// Most fingerprints per lookup statement.
const LOOKUP_CHUNK: usize = 500;
/// Most rows per multi-row write (16 values each at most, well under the bind limits).
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
        let result = async {
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
            apply_batch(&mut tx, self.backend, &ready, now).await?;
            tx.commit().await?;
            Ok(ready.len())
        }
        .await;
        close_unless_ok(&mut conn, result)
    }

    /// Alerts stored but not yet applied.
    pub async fn queue_depth(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM alert_queue")
            .fetch_one(&self.read)
            .await?)
    }
}

/// Claims the oldest queued alerts, then reads them.
///
/// Two statements, so that each uses its index whatever the planner guesses: joined in one,
/// Postgres tends to merge-join `alerts` from its first row (walking through every alert
/// already processed to reach the queued ones) or to hash-join it after a full scan.
async fn claim(conn: &mut AnyConnection, backend: Backend) -> Result<Vec<Claimed>, StoreError> {
    let statement = match backend {
        Backend::Sqlite => {
            "SELECT alert_id, fingerprint FROM alert_queue ORDER BY alert_id LIMIT $1"
        }
        Backend::Postgres => {
            "SELECT alert_id, fingerprint FROM alert_queue ORDER BY alert_id LIMIT $1 \
             FOR UPDATE SKIP LOCKED"
        }
    };
    let queued: Vec<(i64, String)> = sqlx::query_as(statement)
        .bind(CLAIM_BATCH)
        .fetch_all(&mut *conn)
        .await?;
    let mut claimed = Vec::with_capacity(queued.len());
    for chunk in statement_chunks(&queued, LOOKUP_CHUNK) {
        let mut marks = Marks::new(backend);
        let statement = format!(
            "SELECT a.id, a.status, a.alertname, a.labels, a.annotations, a.starts_at, d.source, \
             a.delivery_id FROM alerts a JOIN deliveries d ON d.id = a.delivery_id \
             WHERE {}",
            id_filter("a.id", chunk.len(), &mut marks)
        );
        let query = bind_ids(
            sqlx::query(&statement),
            chunk.iter().map(|(alert_id, _)| *alert_id),
        );
        let mut rows: HashMap<i64, AnyRow> = HashMap::with_capacity(chunk.len());
        for row in query.fetch_all(&mut *conn).await? {
            rows.insert(row.try_get("id")?, row);
        }
        for (alert_id, fingerprint) in chunk {
            let row = rows.get(alert_id).ok_or_else(|| {
                StoreError::corrupt(format!("queued alert {alert_id} is not stored"))
            })?;
            let status: String = row.try_get("status")?;
            claimed.push(Claimed {
                alert_id: *alert_id,
                fingerprint: fingerprint.clone(),
                status: status.parse().map_err(StoreError::corrupt)?,
                alertname: row.try_get("alertname")?,
                labels: row.try_get("labels")?,
                annotations: row.try_get("annotations")?,
                starts_at: row.try_get("starts_at")?,
                source: row.try_get("source")?,
                delivery_id: row.try_get("delivery_id")?,
            });
        }
    }
    Ok(claimed)
}

/// `column IN (m, …) AND column BETWEEN m AND m` for `count` ids, bound by [`bind_ids`].
///
/// Selecting rows by id, or joining a `VALUES` list on it, Postgres estimates a full scan
/// cheaper than hundreds of index probes while a table has no statistics yet (fresh, or
/// growing fast, as in an alert storm), and then scans the whole table for every statement.
/// The redundant range makes it expect few rows, so it probes the index.
fn id_filter(column: &str, count: usize, marks: &mut Marks) -> String {
    format!(
        "{column} IN ({}) AND {column} BETWEEN {} AND {}",
        marks.list(count),
        marks.one(),
        marks.one()
    )
}

/// Binds the values of an [`id_filter`].
fn bind_ids<'q>(
    mut query: Query<'q, Any, AnyArguments<'q>>,
    ids: impl Iterator<Item = i64>,
) -> Query<'q, Any, AnyArguments<'q>> {
    let mut range: Option<(i64, i64)> = None;
    for id in ids {
        query = query.bind(id);
        range = Some(range.map_or((id, id), |(first, last)| (first.min(id), last.max(id))));
    }
    let (first, last) = range.unwrap_or((0, 0));
    query.bind(first).bind(last)
}

/// Takes a transaction-scoped advisory lock per fingerprint (in key order, so two workers never
/// deadlock), then returns the fingerprints that still have an older alert queued outside this
/// batch: those wait for a later round. Postgres only.
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
    // A few statements instead of a round trip per key. The rows come sorted, chunk after
    // chunk, and Postgres evaluates volatile select-list functions after the ORDER BY, so the
    // locks are still taken one at a time in key order.
    for chunk in statement_chunks(&keys, LOOKUP_CHUNK) {
        let statement = format!(
            "SELECT pg_advisory_xact_lock(v.column1) FROM (VALUES {}) AS v ORDER BY v.column1",
            Marks::new(Backend::Postgres).rows(chunk.len(), 1)
        );
        let mut query = sqlx::query(&statement);
        for key in chunk {
            query = query.bind(*key);
        }
        query.execute(&mut *conn).await?;
    }
    // Only once the locks are held: a worker that held one may have applied (and dequeued)
    // older alerts of that fingerprint.
    let oldest: Vec<(&str, i64)> = oldest.into_iter().collect();
    let mut deferred = HashSet::new();
    for chunk in statement_chunks(&oldest, LOOKUP_CHUNK) {
        let statement = format!(
            "SELECT v.column1 AS fingerprint FROM (VALUES {}) AS v WHERE EXISTS (SELECT 1 \
             FROM alert_queue q WHERE q.fingerprint = v.column1 AND q.alert_id < v.column2)",
            Marks::new(Backend::Postgres).rows(chunk.len(), 2)
        );
        let mut query = sqlx::query(&statement);
        for (fingerprint, first_id) in chunk {
            query = query.bind(*fingerprint).bind(*first_id);
        }
        for row in query.fetch_all(&mut *conn).await? {
            deferred.insert(row.try_get("fingerprint")?);
        }
    }
    Ok(deferred)
}

/// A stable 64-bit key for a fingerprint (FNV-1a), for `pg_advisory_xact_lock`.
fn lock_key(fingerprint: &str) -> i64 {
    let mut hash = Fnv1a::default();
    hash.feed(fingerprint.as_bytes());
    i64::from_ne_bytes(hash.finish().to_ne_bytes())
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
    backend: Backend,
    fingerprints: &[&str],
) -> Result<HashMap<String, FingerprintState>, StoreError> {
    let mut states: HashMap<String, FingerprintState> = HashMap::new();
    for chunk in statement_chunks(fingerprints, LOOKUP_CHUNK) {
        // The list appears twice, so it is marked and bound twice.
        let mut marks = Marks::new(backend);
        let list = marks.list(chunk.len());
        let again = marks.list(chunk.len());
        let statement = format!(
            "SELECT id, fingerprint, state, opened_starts_at, last_starts_at FROM incidents WHERE fingerprint IN ({list}) \
             AND (state <> 'resolved' OR id IN (SELECT MAX(id) FROM incidents \
             WHERE fingerprint IN ({again}) AND state = 'resolved' GROUP BY fingerprint))"
        );
        let mut query = sqlx::query(&statement);
        for fingerprint in chunk.iter().chain(chunk) {
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

/// The writes one batch accumulates and flushes in a few multi-row statements.
///
/// An incident the batch opens has a provisional id (negative; stored ids are positive) until
/// it is inserted; ids are mapped to stored ones as they are written.
#[derive(Default)]
struct BatchWrites<'a> {
    events: Vec<PendingEvent>,
    /// alert id → (incident id, outcome)
    outcomes: Vec<(i64, Option<i64>, &'static str)>,
    /// incident id → (alerts folded in, latest startsAt)
    suppressed: BTreeMap<i64, (i64, Option<i64>)>,
    /// Incidents opened and not inserted yet, in order.
    opened: Vec<NewIncident<'a>>,
    /// Incidents resolved and not updated yet, in order: (incident id, resolved by).
    resolved: Vec<(i64, &'a str)>,
    /// The fingerprints of `resolved`.
    resolving: HashSet<&'a str>,
    /// Provisional id → stored id, for the incidents inserted so far.
    stored: HashMap<i64, i64>,
}

struct PendingEvent {
    incident_id: i64,
    kind: EventKind,
    actor: String,
    alert_id: i64,
    payload: String,
}

/// An incident to insert: the alert that opens it, and what is derived from its labels.
struct NewIncident<'a> {
    provisional_id: i64,
    alert: &'a Claimed,
    severity: &'static str,
    namespace: Option<String>,
    pod: Option<String>,
    container: Option<String>,
    node: Option<String>,
    summary: Option<String>,
    previous: Option<i64>,
}

impl<'a> NewIncident<'a> {
    fn new(
        provisional_id: i64,
        alert: &'a Claimed,
        previous: Option<i64>,
    ) -> Result<Self, StoreError> {
        let labels: Labels = serde_json::from_str(&alert.labels).map_err(StoreError::corrupt)?;
        let annotations: Labels =
            serde_json::from_str(&alert.annotations).map_err(StoreError::corrupt)?;
        let summary = ["summary", "message", "description"]
            .iter()
            .find_map(|key| annotations.get(*key))
            .cloned();
        let label = |name: &str| labels.get(name).filter(|v| !v.is_empty()).cloned();
        Ok(NewIncident {
            provisional_id,
            alert,
            severity: Severity::from_labels(&labels).as_str(),
            namespace: label("namespace"),
            pod: label("pod"),
            container: label("container"),
            node: label("node"),
            summary,
            previous,
        })
    }
}

impl<'a> BatchWrites<'a> {
    /// The stored id of an incident, provisional or not.
    fn stored_id(&self, id: i64) -> Result<i64, StoreError> {
        if id > 0 {
            return Ok(id);
        }
        self.stored
            .get(&id)
            .copied()
            .ok_or_else(|| StoreError::corrupt(format!("incident {id} was never inserted")))
    }

    /// Records an incident to open and returns its provisional id.
    fn open(&mut self, alert: &'a Claimed, previous: Option<i64>) -> Result<i64, StoreError> {
        let count = self.stored.len() + self.opened.len() + 1;
        let provisional_id = -i64::try_from(count).map_err(StoreError::corrupt)?;
        self.opened
            .push(NewIncident::new(provisional_id, alert, previous)?);
        Ok(provisional_id)
    }

    /// Inserts the incidents opened and updates those resolved since the last call.
    ///
    /// Must run before an incident is opened for a fingerprint in `resolving`: the
    /// one-open-incident index has to see the earlier incident closed. So the pending incidents
    /// have distinct fingerprints, and inserted rows are matched back by fingerprint.
    async fn write_incidents(
        &mut self,
        conn: &mut AnyConnection,
        backend: Backend,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let at = millis(now);
        let opened = std::mem::take(&mut self.opened);
        for chunk in statement_chunks(&opened, WRITE_CHUNK) {
            let values = Marks::new(backend).rows_with(chunk.len(), |marks, out| {
                // fingerprint, 'triggered', severity … annotations, 'recommend', opened_at,
                // last_alert_at, opened_starts_at, last_starts_at, 1, previous_incident_id
                marks.mark(out);
                out.push_str(", 'triggered'");
                for _ in 0..10 {
                    out.push_str(", ");
                    marks.mark(out);
                }
                out.push_str(", 'recommend'");
                for _ in 0..4 {
                    out.push_str(", ");
                    marks.mark(out);
                }
                out.push_str(", 1, ");
                marks.mark(out);
            });
            let statement = format!(
                "INSERT INTO incidents (fingerprint, state, severity, source, alertname, namespace, \
                 pod, container, node, summary, labels, annotations, mode, opened_at, last_alert_at, \
                 opened_starts_at, last_starts_at, alert_count, previous_incident_id) \
                 VALUES {values} RETURNING id, fingerprint"
            );
            let mut query = sqlx::query(&statement);
            for new in chunk {
                let previous = new.previous.map(|id| self.stored_id(id)).transpose()?;
                query = query
                    .bind(new.alert.fingerprint.as_str())
                    .bind(new.severity)
                    .bind(new.alert.source.as_str())
                    .bind(new.alert.alertname.as_str())
                    .bind(new.namespace.as_deref())
                    .bind(new.pod.as_deref())
                    .bind(new.container.as_deref())
                    .bind(new.node.as_deref())
                    .bind(new.summary.as_deref())
                    .bind(new.alert.labels.as_str())
                    .bind(new.alert.annotations.as_str())
                    .bind(at)
                    .bind(at)
                    .bind(new.alert.starts_at)
                    .bind(new.alert.starts_at)
                    .bind(previous);
            }
            let rows = query.fetch_all(&mut *conn).await?;
            // SQLite does not promise RETURNING rows in VALUES order.
            let provisional: HashMap<&str, i64> = chunk
                .iter()
                .map(|new| (new.alert.fingerprint.as_str(), new.provisional_id))
                .collect();
            if rows.len() != chunk.len() || provisional.len() != chunk.len() {
                return Err(StoreError::corrupt(format!(
                    "inserted {} incidents for {} fingerprints, expected {} distinct",
                    rows.len(),
                    provisional.len(),
                    chunk.len()
                )));
            }
            for row in &rows {
                let fingerprint: String = row.try_get("fingerprint")?;
                let provisional_id = provisional.get(fingerprint.as_str()).ok_or_else(|| {
                    StoreError::corrupt(format!(
                        "inserted an unexpected incident for {fingerprint}"
                    ))
                })?;
                self.stored.insert(*provisional_id, row.try_get("id")?);
            }
            // Each new incident gets its runbook job in the same transaction.
            let statement = format!(
                "INSERT INTO incident_jobs (incident_id, enqueued_at) VALUES {}",
                Marks::new(backend).rows(rows.len(), 2)
            );
            let mut query = sqlx::query(&statement);
            for row in &rows {
                query = query.bind(row.try_get::<i64, _>("id")?).bind(at);
            }
            query.execute(&mut *conn).await?;
        }
        let resolved = std::mem::take(&mut self.resolved);
        for chunk in statement_chunks(&resolved, WRITE_CHUNK) {
            let mut marks = Marks::new(backend);
            let resolved_at = marks.one();
            let last_alert_at = marks.one();
            let statement = format!(
                "UPDATE incidents SET state = 'resolved', resolved_at = {resolved_at}, \
                 resolved_by = v.column2, last_alert_at = {last_alert_at} \
                 FROM (VALUES {}) AS v WHERE incidents.id = v.column1",
                marks.rows(chunk.len(), 2)
            );
            let mut query = sqlx::query(&statement).bind(at).bind(at);
            for (incident, by) in chunk {
                query = query.bind(self.stored_id(*incident)?).bind(*by);
            }
            query.execute(&mut *conn).await?;
        }
        self.resolving.clear();
        Ok(())
    }

    /// Writes everything the batch accumulated: incidents, suppressed counters, events (in
    /// order), alert outcomes, and the removal of the applied alerts from the queue.
    async fn finish(
        mut self,
        conn: &mut AnyConnection,
        backend: Backend,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.write_incidents(conn, backend, now).await?;
        let at = millis(now);
        let suppressed = self
            .suppressed
            .iter()
            .map(|(incident, (count, latest_start))| {
                Ok((self.stored_id(*incident)?, *count, *latest_start))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        for chunk in statement_chunks(&suppressed, WRITE_CHUNK) {
            let mut marks = Marks::new(backend);
            let last_alert_at = marks.one();
            let statement = format!(
                "UPDATE incidents SET alert_count = alert_count + v.column2, \
                 last_alert_at = {last_alert_at}, last_starts_at = CASE WHEN last_starts_at IS NULL \
                 OR last_starts_at < v.column3 THEN v.column3 ELSE last_starts_at END \
                 FROM (VALUES {}) AS v WHERE incidents.id = v.column1",
                marks.rows(chunk.len(), 3)
            );
            let mut query = sqlx::query(&statement).bind(at);
            for (incident, count, latest_start) in chunk {
                query = query.bind(*incident).bind(*count).bind(*latest_start);
            }
            query.execute(&mut *conn).await?;
        }
        for chunk in statement_chunks(&self.events, WRITE_CHUNK) {
            let statement = format!(
                "INSERT INTO incident_events (incident_id, at, kind, actor, alert_id, payload) VALUES {}",
                Marks::new(backend).rows(chunk.len(), 6)
            );
            let mut query = sqlx::query(&statement);
            for event in chunk {
                query = query
                    .bind(self.stored_id(event.incident_id)?)
                    .bind(at)
                    .bind(event.kind.as_str())
                    .bind(event.actor.as_str())
                    .bind(event.alert_id)
                    .bind(event.payload.as_str());
            }
            query.execute(&mut *conn).await?;
        }
        for chunk in statement_chunks(&self.outcomes, WRITE_CHUNK) {
            // `UPDATE … FROM (VALUES …)`: both SQLite (3.33+) and Postgres name the columns
            // column1, column2, …
            let mut marks = Marks::new(backend);
            let processed_at = marks.one();
            let values = marks.rows(chunk.len(), 3);
            let statement = format!(
                "UPDATE alerts SET incident_id = v.column2, outcome = v.column3, \
                 processed_at = {processed_at} FROM (VALUES {values}) AS v \
                 WHERE alerts.id = v.column1 AND {}",
                id_filter("alerts.id", chunk.len(), &mut marks)
            );
            let mut query = sqlx::query(&statement).bind(at);
            for (alert_id, incident_id, outcome) in chunk {
                let incident_id = incident_id.map(|id| self.stored_id(id)).transpose()?;
                query = query.bind(*alert_id).bind(incident_id).bind(*outcome);
            }
            let query = bind_ids(query, chunk.iter().map(|(alert_id, _, _)| *alert_id));
            query.execute(&mut *conn).await?;
            let statement = format!(
                "DELETE FROM alert_queue WHERE alert_id IN ({})",
                Marks::new(backend).list(chunk.len())
            );
            let mut query = sqlx::query(&statement);
            for (alert_id, _, _) in chunk {
                query = query.bind(*alert_id);
            }
            query.execute(&mut *conn).await?;
        }
        Ok(())
    }
}

async fn apply_batch(
    conn: &mut AnyConnection,
    backend: Backend,
    alerts: &[&Claimed],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut fingerprints: Vec<&str> = alerts.iter().map(|a| a.fingerprint.as_str()).collect();
    fingerprints.sort_unstable();
    fingerprints.dedup();
    let mut states = load_states(conn, backend, &fingerprints).await?;
    let mut writes = BatchWrites::default();
    for alert in alerts {
        let state = states.entry(alert.fingerprint.clone()).or_default();
        let outcome = on_alert(
            state.open.as_ref(),
            state.last_resolved.as_ref(),
            alert.status,
            opt_from_millis(alert.starts_at),
        );
        if matches!(outcome, AlertOutcome::Open { .. })
            && writes.resolving.contains(alert.fingerprint.as_str())
        {
            writes.write_incidents(conn, backend, now).await?;
        }
        apply(alert, outcome, state, &mut writes)?;
    }
    writes.finish(conn, backend, now).await
}

/// Applies one alert's outcome to the batch's view of its fingerprint, recording the writes.
fn apply<'a>(
    alert: &'a Claimed,
    outcome: AlertOutcome,
    state: &mut FingerprintState,
    writes: &mut BatchWrites<'a>,
) -> Result<(), StoreError> {
    let starts_at = opt_from_millis(alert.starts_at);
    // Every alert event carries these keys; each outcome adds its own.
    let seen = Suppressed {
        alert_id: alert.alert_id,
        delivery_id: alert.delivery_id,
        status: alert.status.as_str().to_owned(),
        starts_at,
        source: alert.source.clone(),
    };
    let stale = |reason: &str| {
        StaleAlert {
            alert_id: seen.alert_id,
            delivery_id: seen.delivery_id,
            status: seen.status.clone(),
            starts_at: seen.starts_at,
            source: seen.source.clone(),
            reason: reason.to_owned(),
        }
        .to_json()
    };
    let event = |writes: &mut BatchWrites<'a>,
                 incident_id: i64,
                 kind: EventKind,
                 payload: serde_json::Value| {
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
            let id = writes.open(alert, previous)?;
            let payload = Triggered {
                alert_id: seen.alert_id,
                delivery_id: seen.delivery_id,
                status: seen.status.clone(),
                starts_at: seen.starts_at,
                source: seen.source.clone(),
                labels: serde_json::from_str(&alert.labels).map_err(StoreError::corrupt)?,
                annotations: serde_json::from_str(&alert.annotations)
                    .map_err(StoreError::corrupt)?,
                previous_incident_id: previous,
            };
            event(writes, id, EventKind::Triggered, payload.to_json());
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
            event(writes, incident, EventKind::Suppressed, seen.to_json());
            (Some(incident), "suppressed")
        }
        AlertOutcome::Resolve { incident } => {
            // Written before any later incident of this fingerprint (see `write_incidents`).
            writes.resolved.push((incident, alert.source.as_str()));
            writes.resolving.insert(alert.fingerprint.as_str());
            let payload = Resolved {
                alert_id: Some(seen.alert_id),
                delivery_id: Some(seen.delivery_id),
                status: Some(seen.status.clone()),
                starts_at: Some(seen.starts_at),
                source: Some(seen.source.clone()),
                ..Resolved::default()
            };
            event(writes, incident, EventKind::Resolved, payload.to_json());
            state.last_resolved = state.open.take().map(|open| IncidentFacts {
                state: IncidentState::Resolved,
                ..open
            });
            (Some(incident), "resolved")
        }
        AlertOutcome::StaleResolution { incident } => {
            let payload = stale("resolution of an older occurrence than the open incident's");
            event(writes, incident, EventKind::StaleAlert, payload);
            (Some(incident), "stale_resolution")
        }
        AlertOutcome::Stale { incident } => {
            let payload = stale("firing alert for an occurrence already resolved");
            event(writes, incident, EventKind::StaleAlert, payload);
            (Some(incident), "stale")
        }
        AlertOutcome::UnmatchedResolution { last } => {
            if let Some(incident) = last {
                event(
                    writes,
                    incident,
                    EventKind::StaleAlert,
                    stale("resolution with no open incident"),
                );
            }
            (last, "unmatched_resolution")
        }
    };
    writes
        .outcomes
        .push((alert.alert_id, incident_id, outcome_name));
    Ok(())
}

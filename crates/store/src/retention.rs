//! Retention: what nightwatch keeps, and for how long.
//!
//! Two horizons, each optional:
//! - **Raw alerts**: a delivery's body, its alerts and the per-alert repeat events
//!   (`suppressed`, `stale_alert`) once every alert of it has been folded. The incident keeps
//!   its own record (its `triggered` and `resolved` events, counters and times), so the
//!   timeline still reads whole.
//! - **Incidents**: a resolved incident and everything about it (events, actions, runbook job,
//!   notification record). A later incident that named it as its previous one keeps its own
//!   history, with the link cleared.
//!
//! An alert still in the queue is never pruned, whatever its age: pruning never loses an
//! acknowledged alert before it has been applied. An incident with an action still approved
//! or running is kept until that action ends.
//!
//! Work is done in batches, one short write transaction each, so ingest (which shares
//! SQLite's single writer) waits at most one batch.

use crate::sql::{Marks, millis, statement_chunks};
use crate::write::close_unless_ok;
use crate::{Store, StoreError};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Connection;

/// Rows are pruned this many parents (deliveries or incidents) per transaction.
pub const PRUNE_BATCH: i64 = 200;

/// What one [`Store::prune`] pass removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Pruned {
    pub deliveries: u64,
    pub alerts: u64,
    pub events: u64,
    pub incidents: u64,
    pub actions: u64,
}

impl Pruned {
    pub fn is_empty(&self) -> bool {
        *self == Pruned::default()
    }

    fn add(&mut self, other: Pruned) {
        self.deliveries += other.deliveries;
        self.alerts += other.alerts;
        self.events += other.events;
        self.incidents += other.incidents;
        self.actions += other.actions;
    }
}

/// The two horizons of one pass: rows older than these go. `None` keeps everything of its kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cutoffs {
    /// Deliveries received before this (with their alerts and repeat events).
    pub alerts_before: Option<DateTime<Utc>>,
    /// Incidents resolved before this.
    pub incidents_before: Option<DateTime<Utc>>,
}

/// Which count of [`Pruned`] a statement's touched rows add to.
#[derive(Clone, Copy)]
enum Count {
    Deliveries,
    Alerts,
    Events,
    Incidents,
    Actions,
    /// Links cleared and bookkeeping rows: not reported.
    Nothing,
}

/// Prunes deliveries `{ids}`: their alerts' repeat events, their alerts, then them.
const PRUNE_DELIVERIES: &[(Count, &str)] = &[
    (
        Count::Events,
        "DELETE FROM incident_events WHERE kind IN ('suppressed', 'stale_alert') AND alert_id IN \
         (SELECT id FROM alerts WHERE delivery_id IN ({ids}))",
    ),
    (
        Count::Alerts,
        "DELETE FROM alerts WHERE delivery_id IN ({ids})",
    ),
    (
        Count::Deliveries,
        "DELETE FROM deliveries WHERE id IN ({ids})",
    ),
];

/// Prunes incidents `{ids}` and every row that belongs to them. Links into them from later
/// incidents and from stale alerts are cleared, not followed.
const PRUNE_INCIDENTS: &[(Count, &str)] = &[
    (
        Count::Nothing,
        "UPDATE incidents SET previous_incident_id = NULL WHERE previous_incident_id IN ({ids})",
    ),
    (
        Count::Nothing,
        "UPDATE alerts SET incident_id = NULL WHERE incident_id IN ({ids})",
    ),
    (
        Count::Events,
        "DELETE FROM incident_events WHERE incident_id IN ({ids})",
    ),
    (
        Count::Actions,
        "DELETE FROM actions WHERE incident_id IN ({ids})",
    ),
    (
        Count::Nothing,
        "DELETE FROM incident_jobs WHERE incident_id IN ({ids})",
    ),
    (
        Count::Nothing,
        "DELETE FROM notifications WHERE incident_id IN ({ids})",
    ),
    (
        Count::Incidents,
        "DELETE FROM incidents WHERE id IN ({ids})",
    ),
];

/// One kind of row retention removes: which ids are past a cutoff (`$1`, Unix ms; `$2`, the
/// batch size; oldest first), and the statements that remove them.
struct Horizon {
    expired: &'static str,
    statements: &'static [(Count, &'static str)],
}

/// Deliveries received before the cutoff none of whose alerts waits in the queue.
const DELIVERIES: Horizon = Horizon {
    expired: "SELECT d.id FROM deliveries d WHERE d.received_at < $1 AND NOT EXISTS \
              (SELECT 1 FROM alerts a JOIN alert_queue q ON q.alert_id = a.id WHERE a.delivery_id = d.id) \
              ORDER BY d.id LIMIT $2",
    statements: PRUNE_DELIVERIES,
};

/// Incidents resolved before the cutoff with no action still approved or running.
const INCIDENTS: Horizon = Horizon {
    expired: "SELECT i.id FROM incidents i WHERE i.state = 'resolved' AND i.resolved_at < $1 \
              AND NOT EXISTS (SELECT 1 FROM actions a WHERE a.incident_id = i.id \
              AND a.state IN ('approved', 'running')) \
              ORDER BY i.id LIMIT $2",
    statements: PRUNE_INCIDENTS,
};

impl Store {
    /// Removes what is past the cutoffs, in batches of [`PRUNE_BATCH`], until nothing is left.
    pub async fn prune(&self, cutoffs: Cutoffs) -> Result<Pruned, StoreError> {
        let mut total = Pruned::default();
        for (before, horizon) in [
            (cutoffs.alerts_before, &DELIVERIES),
            (cutoffs.incidents_before, &INCIDENTS),
        ] {
            let Some(before) = before else {
                continue;
            };
            loop {
                let ids: Vec<i64> = sqlx::query_scalar(horizon.expired)
                    .bind(millis(before))
                    .bind(PRUNE_BATCH)
                    .fetch_all(&self.read)
                    .await?;
                total.add(self.prune_batch(&ids, horizon.statements).await?);
                if (ids.len() as i64) < PRUNE_BATCH {
                    break;
                }
            }
        }
        Ok(total)
    }

    /// Runs `statements` over `ids` in one write transaction.
    async fn prune_batch(
        &self,
        ids: &[i64],
        statements: &[(Count, &str)],
    ) -> Result<Pruned, StoreError> {
        if ids.is_empty() {
            return Ok(Pruned::default());
        }
        let mut conn = self.write.acquire().await?;
        let result = async {
            let mut tx = conn.begin().await?;
            let mut pruned = Pruned::default();
            for chunk in statement_chunks(ids, PRUNE_BATCH as usize) {
                let markers = Marks::new(self.backend).list(chunk.len());
                for (count, statement) in statements {
                    let statement = statement.replace("{ids}", &markers);
                    let mut query = sqlx::query(&statement);
                    for id in chunk {
                        query = query.bind(*id);
                    }
                    let touched = query.execute(&mut *tx).await?.rows_affected();
                    match count {
                        Count::Deliveries => pruned.deliveries += touched,
                        Count::Alerts => pruned.alerts += touched,
                        Count::Events => pruned.events += touched,
                        Count::Incidents => pruned.incidents += touched,
                        Count::Actions => pruned.actions += touched,
                        Count::Nothing => {}
                    }
                }
            }
            tx.commit().await?;
            Ok(pruned)
        }
        .await;
        close_unless_ok(&mut conn, result)
    }
}

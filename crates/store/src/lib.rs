//! Durable storage for nightwatch.
//!
//! One [`Store`] over either embedded SQLite (default) or Postgres (several replicas). Both run the
//! same SQL through sqlx's `Any` driver; the few places where the dialects differ (queue claims
//! and locks) branch on [`Backend`].
//!
//! Invariants kept here:
//! - A delivery, its alerts and their queue rows are written in one transaction, or not at all;
//!   the caller answers 2xx only after [`Store::ingest`] returned.
//! - An alert leaves the queue in the same transaction that applies it to an incident, so each
//!   stored alert is processed exactly once, across crashes and replicas.
//! - At most one open incident per fingerprint (a unique partial index; on Postgres an advisory
//!   lock per fingerprint serialises the workers).
//! - Incident events are only ever appended; only retention ([`Store::prune`]) removes rows,
//!   and never an alert still in the queue.

mod access;
mod analysis;
mod connect;
mod error;
mod group_commit;
mod incidents;
mod ingest;
mod notifications;
mod process;
mod respond;
mod retention;
mod rows;
mod sql;
mod write;

pub use access::{AuditEntry, AuditFilter, SessionRow, TokenRow, UserRow};
pub use connect::Backend;
pub use error::StoreError;
pub use incidents::{IncidentFilter, IncidentOrder, IncidentPage, MAX_PAGE, ManualOutcome};
pub use ingest::{IngestReceipt, NewDelivery, StoredDelivery};
pub use notifications::NotificationRow;
pub use respond::{ActionDecision, ActionRow, ActionState, ActionUpdate, IncidentJob, NewAction};
pub use retention::{Cutoffs, PRUNE_BATCH, Pruned};
pub use rows::{AlertRow, EventRow, IncidentDetail, IncidentRow, RelatedIncidents};

use group_commit::GroupCommitter;
use nightwatch_core::fingerprint::FingerprintConfig;
use sqlx::AnyPool;

/// The handle every part of nightwatch uses to reach the database. Cheap to share behind an `Arc`.
pub struct Store {
    backend: Backend,
    /// Reads. On SQLite a separate pool so readers never wait for the writer.
    read: AnyPool,
    /// Writes. On SQLite exactly one connection: SQLite has one writer, and one connection in
    /// this process means no `SQLITE_BUSY` between our own tasks.
    write: AnyPool,
    committer: GroupCommitter,
    fingerprints: FingerprintConfig,
}

impl Store {
    /// Opens (creating an SQLite file if needed) without migrating.
    pub async fn open(url: &str, fingerprints: FingerprintConfig) -> Result<Self, StoreError> {
        let (backend, read, write) = connect::pools(url).await?;
        let committer = GroupCommitter::start(write.clone(), backend);
        Ok(Store {
            backend,
            read,
            write,
            committer,
            fingerprints,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Applies the embedded migrations for this backend.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        connect::migrator(self.backend).run(&self.write).await?;
        Ok(())
    }

    /// True when the database answers, every embedded migration has been applied and the
    /// writer can commit (a one-row write through the write pool: a full disk answers reads
    /// but fails this).
    pub async fn ready(&self) -> Result<bool, StoreError> {
        if !self.migrated().await? {
            return Ok(false);
        }
        self.probe_write().await?;
        Ok(true)
    }

    async fn probe_write(&self) -> Result<(), StoreError> {
        use sqlx::Connection;
        let mut conn = self.write.acquire().await?;
        let result = async {
            let mut tx = conn.begin().await?;
            sqlx::query(
                "INSERT INTO write_probe (id, probes) VALUES (1, 1) \
                 ON CONFLICT (id) DO UPDATE SET probes = write_probe.probes + 1",
            )
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(())
        }
        .await;
        write::close_unless_ok(&mut conn, result)
    }

    /// True when every embedded migration has been applied.
    async fn migrated(&self) -> Result<bool, StoreError> {
        let applied: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success = $1")
                .bind(true)
                .fetch_all(&self.read)
                .await
                .or_else(|e| match e {
                    // No migrations table yet: reachable but not migrated.
                    sqlx::Error::Database(_) => Ok(Vec::new()),
                    other => Err(other),
                })?;
        Ok(connect::migrator(self.backend)
            .iter()
            .all(|migration| applied.contains(&migration.version)))
    }

    /// Waits for pending group commits, then closes the pools.
    pub async fn close(self) {
        self.committer.shutdown().await;
        self.write.close().await;
        self.read.close().await;
    }
}

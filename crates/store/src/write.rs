//! Write connections are never reused after a failed write.
//!
//! A COMMIT that fails (a full disk, an I/O error) may leave SQLite inside the transaction, or
//! roll it back behind sqlx's back. sqlx's SQLite worker keeps its own transaction depth, which
//! then disagrees with SQLite's: on that connection every later `begin` opens a savepoint and
//! every later `commit` only releases it, so nothing is durable while every call reports
//! success — acknowledged alerts would be lost. Two guards keep a connection in that state out
//! of the pool: each write path closes its connection when its work failed
//! ([`close_unless_ok`]), and the pools refuse, on release, a connection that still counts
//! itself inside a transaction ([`released_clean`]).

use crate::StoreError;
use sqlx::pool::{PoolConnection, PoolConnectionMetadata};
use sqlx::{Any, AnyConnection, Connection};
use std::future::Future;
use std::pin::Pin;

type Check<'c> = Pin<Box<dyn Future<Output = Result<bool, sqlx::Error>> + Send + 'c>>;

/// Passes `result` through; when it is an error, `conn` is closed when dropped instead of
/// going back to the pool.
pub(crate) fn close_unless_ok<T>(
    conn: &mut PoolConnection<Any>,
    result: Result<T, StoreError>,
) -> Result<T, StoreError> {
    if result.is_err() {
        conn.close_on_drop();
    }
    result
}

/// The pools' `after_release` check: a connection goes back to the pool only when it is
/// outside any transaction. The ping first lets a rollback queued by a dropped transaction
/// finish, so a clean rollback is not mistaken for a stuck transaction.
pub(crate) fn released_clean(conn: &mut AnyConnection, _meta: PoolConnectionMetadata) -> Check<'_> {
    Box::pin(async move {
        conn.ping().await?;
        let clean = !conn.is_in_transaction();
        if !clean {
            tracing::warn!("a write connection left inside a transaction is closed, not reused");
        }
        Ok(clean)
    })
}

//! Small SQL helpers shared by both backends.

use chrono::{DateTime, Utc};
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, AnyConnection};

/// A value to bind into a dynamically built statement.
#[derive(Debug, Clone)]
pub(crate) enum Bind {
    Text(String),
    Int(i64),
}

pub(crate) fn bind_all<'q>(
    mut query: Query<'q, Any, AnyArguments<'q>>,
    binds: &'q [Bind],
) -> Query<'q, Any, AnyArguments<'q>> {
    for value in binds {
        query = match value {
            Bind::Text(v) => query.bind(v.as_str()),
            Bind::Int(v) => query.bind(*v),
        };
    }
    query
}

/// `($1, $2, …), ($n+1, …)` for `rows` rows of `columns` values, numbered from `$1`.
pub(crate) fn values_placeholders(rows: usize, columns: usize) -> String {
    values_placeholders_from(1, rows, columns)
}

/// Like [`values_placeholders`], numbered from `$first`.
pub(crate) fn values_placeholders_from(first: usize, rows: usize, columns: usize) -> String {
    let mut out = String::with_capacity(rows * columns * 5);
    for row in 0..rows {
        if row > 0 {
            out.push_str(", ");
        }
        out.push('(');
        for column in 0..columns {
            if column > 0 {
                out.push_str(", ");
            }
            out.push('$');
            out.push_str(&(first + row * columns + column).to_string());
        }
        out.push(')');
    }
    out
}

pub(crate) fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn from_millis(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

pub(crate) fn opt_from_millis(ms: Option<i64>) -> Option<DateTime<Utc>> {
    ms.map(from_millis)
}

/// Appends an event inside the caller's transaction.
pub(crate) async fn append_event(
    conn: &mut AnyConnection,
    incident_id: i64,
    at: DateTime<Utc>,
    kind: nightwatch_core::event::EventKind,
    actor: &str,
    alert_id: Option<i64>,
    payload: serde_json::Value,
) -> Result<(), sqlx::Error> {
    let payload = nightwatch_core::event::bounded_payload(payload).to_string();
    sqlx::query(
        "INSERT INTO incident_events (incident_id, at, kind, actor, alert_id, payload) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(incident_id)
    .bind(millis(at))
    .bind(kind.as_str())
    .bind(actor)
    .bind(alert_id)
    .bind(payload)
    .execute(conn)
    .await?;
    Ok(())
}

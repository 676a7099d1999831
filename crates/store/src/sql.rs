//! Small SQL helpers shared by both backends.

use crate::Backend;
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

/// Writes the bind markers of a dynamically built statement, in bind order.
///
/// Postgres gets `$1, $2, …`. SQLite gets anonymous `?` markers: SQLite keeps numbered and
/// named markers (`$n`) in a list it searches linearly on every lookup, and sqlx looks up each
/// marker's name when binding, so a statement with thousands of `$n` markers costs time
/// quadratic in their number to prepare and to bind (about 0.2 s for one 1,000-row, 12-column
/// INSERT). Anonymous markers are bound by position at constant cost.
///
/// Every marker of a statement must come from one `Marks`, in the order the values are bound;
/// a value used twice is marked and bound twice.
pub(crate) struct Marks {
    backend: Backend,
    next: usize,
}

impl Marks {
    pub(crate) fn new(backend: Backend) -> Self {
        Marks { backend, next: 1 }
    }

    /// One marker.
    pub(crate) fn mark(&mut self, out: &mut String) {
        match self.backend {
            Backend::Sqlite => out.push('?'),
            Backend::Postgres => {
                out.push('$');
                out.push_str(&self.next.to_string());
            }
        }
        self.next += 1;
    }

    /// One marker, as a string.
    pub(crate) fn one(&mut self) -> String {
        let mut out = String::new();
        self.mark(&mut out);
        out
    }

    /// `m, m, …` for `count` values.
    pub(crate) fn list(&mut self, count: usize) -> String {
        let mut out = String::with_capacity(count * 7);
        for i in 0..count {
            if i > 0 {
                out.push_str(", ");
            }
            self.mark(&mut out);
        }
        out
    }

    /// `(m, m, …), (m, …)` for `rows` rows of `columns` values.
    pub(crate) fn rows(&mut self, rows: usize, columns: usize) -> String {
        self.rows_with(rows, |marks, out| {
            for column in 0..columns {
                if column > 0 {
                    out.push_str(", ");
                }
                marks.mark(out);
            }
        })
    }

    /// `(…), (…)` for `rows` rows, each row's inside written by `row`.
    pub(crate) fn rows_with(
        &mut self,
        rows: usize,
        mut row: impl FnMut(&mut Self, &mut String),
    ) -> String {
        let mut out = String::new();
        for i in 0..rows {
            if i > 0 {
                out.push_str(", ");
            }
            out.push('(');
            row(self, &mut out);
            out.push(')');
        }
        out
    }
}

/// Splits `items` for multi-row statements: chunks of `max`, then the rest in descending powers
/// of two. A statement's text depends on its row count, and both drivers cache prepared
/// statements by text (100 per connection), so this bounds the shapes of a statement to a
/// dozen instead of one per possible count, which would keep evicting and re-preparing them.
pub(crate) fn statement_chunks<T>(items: &[T], max: usize) -> impl Iterator<Item = &[T]> {
    let max = max.max(1);
    let mut rest = items;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let size = if rest.len() >= max {
            max
        } else {
            // The largest power of two not above what is left.
            1 << (usize::BITS - 1 - rest.len().leading_zeros())
        };
        let (chunk, tail) = rest.split_at(size);
        rest = tail;
        Some(chunk)
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_per_backend() {
        let mut pg = Marks::new(Backend::Postgres);
        assert_eq!(pg.one(), "$1");
        assert_eq!(pg.list(2), "$2, $3");
        assert_eq!(pg.rows(2, 2), "($4, $5), ($6, $7)");
        let mut lite = Marks::new(Backend::Sqlite);
        assert_eq!(lite.one(), "?");
        assert_eq!(lite.rows(2, 3), "(?, ?, ?), (?, ?, ?)");
    }

    #[test]
    fn chunks_have_few_shapes() {
        let items: Vec<usize> = (0..2_999).collect();
        let sizes: Vec<usize> = statement_chunks(&items, 1_000).map(<[_]>::len).collect();
        assert_eq!(sizes, vec![1_000, 1_000, 512, 256, 128, 64, 32, 4, 2, 1]);
        let flat: Vec<usize> = statement_chunks(&items, 1_000).flatten().copied().collect();
        assert_eq!(flat, items);
        assert_eq!(statement_chunks(&items[..0], 10).count(), 0);
        let sizes: Vec<usize> = statement_chunks(&items[..7], 4).map(<[_]>::len).collect();
        assert_eq!(sizes, vec![4, 2, 1]);
    }
}

//! Where each incident was told to the humans and its nag record (core::escalation), so a
//! restart neither announces an incident twice nor forgets to nag.

use crate::rows::INCIDENT_COLUMNS;
use crate::sql::{from_millis, millis};
use crate::{IncidentRow, Store, StoreError};
use chrono::{DateTime, Utc};
use nightwatch_core::escalation::NagRecord;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NotificationRow {
    pub incident_id: i64,
    pub channel: String,
    /// The message's id in its channel (Slack's `ts`), to update it and thread under it.
    pub message_ts: String,
    pub record: NagRecord,
    pub updated_at: DateTime<Utc>,
}

type Raw = (i64, String, String, i64, i64, i64, i64, i64);

fn row(
    (incident_id, channel, message_ts, nags, level, next_at, stopped, updated): Raw,
) -> NotificationRow {
    NotificationRow {
        incident_id,
        channel,
        message_ts,
        record: NagRecord {
            nags: u32::try_from(nags).unwrap_or(u32::MAX),
            level: usize::try_from(level).unwrap_or(0),
            next_at: from_millis(next_at),
            stopped: stopped != 0,
        },
        updated_at: from_millis(updated),
    }
}

const COLUMNS: &str = "n.incident_id, n.channel, n.message_ts, n.nags, n.level, n.next_nag_at, n.stopped, n.updated_at";

impl Store {
    /// Open incidents opened at or after `since` that have not been announced, oldest first.
    pub async fn incidents_to_announce(
        &self,
        since: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<IncidentRow>, StoreError> {
        let columns = INCIDENT_COLUMNS
            .split(", ")
            .map(|c| format!("i.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let statement = format!(
            "SELECT {columns} FROM incidents i LEFT JOIN notifications n ON n.incident_id = i.id \
             WHERE n.incident_id IS NULL AND i.state <> 'resolved' AND i.opened_at >= $1 \
             ORDER BY i.id LIMIT $2"
        );
        sqlx::query(&statement)
            .bind(millis(since))
            .bind(limit)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(IncidentRow::from_row)
            .collect()
    }

    /// Records that incident `incident_id` was announced as `message_ts` in `channel`.
    pub async fn record_notification(
        &self,
        incident_id: i64,
        channel: &str,
        message_ts: &str,
        record: &NagRecord,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO notifications (incident_id, channel, message_ts, nags, level, next_nag_at, stopped, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(incident_id)
        .bind(channel)
        .bind(message_ts)
        .bind(i64::from(record.nags))
        .bind(record.level as i64)
        .bind(millis(record.next_at))
        .bind(i64::from(record.stopped))
        .bind(millis(now))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Stores the record after a nag step.
    pub async fn update_notification(
        &self,
        incident_id: i64,
        record: &NagRecord,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE notifications SET nags = $1, level = $2, next_nag_at = $3, stopped = $4, updated_at = $5 \
             WHERE incident_id = $6",
        )
        .bind(i64::from(record.nags))
        .bind(record.level as i64)
        .bind(millis(record.next_at))
        .bind(i64::from(record.stopped))
        .bind(millis(now))
        .bind(incident_id)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Notifications with something to do: a nag due by `now`, or an incident no longer
    /// triggered whose nagging has not been stopped yet.
    pub async fn notifications_due(
        &self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<NotificationRow>, StoreError> {
        let statement = format!(
            "SELECT {COLUMNS} FROM notifications n JOIN incidents i ON i.id = n.incident_id \
             WHERE n.stopped = 0 AND (n.next_nag_at <= $1 OR i.state <> 'triggered') \
             ORDER BY n.next_nag_at LIMIT $2"
        );
        let rows: Vec<Raw> = sqlx::query_as(&statement)
            .bind(millis(now))
            .bind(limit)
            .fetch_all(&self.read)
            .await?;
        Ok(rows.into_iter().map(row).collect())
    }

    pub async fn notification(
        &self,
        incident_id: i64,
    ) -> Result<Option<NotificationRow>, StoreError> {
        let statement = format!("SELECT {COLUMNS} FROM notifications n WHERE n.incident_id = $1");
        let found: Option<Raw> = sqlx::query_as(&statement)
            .bind(incident_id)
            .fetch_optional(&self.read)
            .await?;
        Ok(found.map(row))
    }
}

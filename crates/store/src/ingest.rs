//! Turning a parsed delivery into rows, ready for the group-commit writer.

use crate::{Store, StoreError};
use chrono::{DateTime, Utc};
use nightwatch_core::model::{Delivery, Source};
use serde::Serialize;

/// A delivery as the HTTP layer received it.
#[derive(Debug)]
pub struct NewDelivery {
    pub source: Source,
    pub received_at: DateTime<Utc>,
    pub auth_subject: Option<String>,
    pub remote_addr: Option<String>,
    pub content_type: Option<String>,
    /// The raw body, kept for replay and audit.
    pub body: Vec<u8>,
    pub delivery: Delivery,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct IngestReceipt {
    pub delivery_id: i64,
    pub alerts: usize,
}

/// One alert as it will be inserted. Serialised in the caller's task so the single writer only
/// runs SQL.
#[derive(Debug)]
pub(crate) struct AlertInsert {
    pub seq: i64,
    pub status: &'static str,
    pub alertname: String,
    pub fingerprint: String,
    pub source_fingerprint: Option<String>,
    pub labels: String,
    pub annotations: String,
    pub extra: String,
    pub starts_at: Option<i64>,
    pub ends_at: Option<i64>,
    pub generator_url: Option<String>,
}

pub(crate) const ALERT_COLUMNS: usize = 12;

/// Everything one request writes, in one transaction.
#[derive(Debug)]
pub(crate) struct PreparedDelivery {
    pub source: &'static str,
    pub received_at: i64,
    pub auth_subject: Option<String>,
    pub remote_addr: Option<String>,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
    pub receiver: Option<String>,
    pub status: Option<&'static str>,
    pub group_key: Option<String>,
    pub truncated_alerts: i64,
    pub alerts: Vec<AlertInsert>,
}

fn json_text<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(StoreError::corrupt)
}

impl Store {
    /// Stores a delivery durably: raw body, alerts and queue rows in one transaction, batched
    /// with concurrent requests (group commit). Returns once the commit is on disk.
    pub async fn ingest(&self, new: NewDelivery) -> Result<IngestReceipt, StoreError> {
        let prepared = self.prepare(new)?;
        self.committer.commit(prepared).await
    }

    fn prepare(&self, new: NewDelivery) -> Result<PreparedDelivery, StoreError> {
        let Delivery {
            source,
            receiver,
            status,
            group_key,
            truncated_alerts,
            alerts,
            ..
        } = new.delivery;
        let alerts = alerts
            .into_iter()
            .enumerate()
            .map(|(seq, alert)| {
                Ok(AlertInsert {
                    seq: i64::try_from(seq).map_err(StoreError::corrupt)?,
                    status: alert.status.as_str(),
                    alertname: alert.alertname().to_owned(),
                    fingerprint: self.fingerprints.fingerprint(&alert.labels),
                    source_fingerprint: alert.source_fingerprint,
                    labels: json_text(&alert.labels)?,
                    annotations: json_text(&alert.annotations)?,
                    extra: json_text(&alert.extra)?,
                    starts_at: alert.starts_at.map(|t| t.timestamp_millis()),
                    ends_at: alert.ends_at.map(|t| t.timestamp_millis()),
                    generator_url: alert.generator_url,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(PreparedDelivery {
            source: source.as_str(),
            received_at: new.received_at.timestamp_millis(),
            auth_subject: new.auth_subject,
            remote_addr: new.remote_addr,
            content_type: new.content_type,
            body: new.body,
            receiver,
            status: status.map(|s| s.as_str()),
            group_key,
            truncated_alerts: i64::try_from(truncated_alerts).unwrap_or(i64::MAX),
            alerts,
        })
    }
}

/// A stored delivery as it arrived: which sender, and the raw body (for replay and audit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDelivery {
    pub id: i64,
    pub source: Source,
    pub received_at: DateTime<Utc>,
    pub body: Vec<u8>,
}

impl Store {
    /// Delivery `id` with its raw body; `None` when there is none.
    pub async fn delivery(&self, id: i64) -> Result<Option<StoredDelivery>, StoreError> {
        let row: Option<(String, i64, Vec<u8>)> =
            sqlx::query_as("SELECT source, received_at, body FROM deliveries WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.read)
                .await?;
        let Some((source, received_at, body)) = row else {
            return Ok(None);
        };
        let source = source
            .parse::<Source>()
            .map_err(|_| StoreError::Corrupt(format!("delivery {id} has source {source:?}")))?;
        Ok(Some(StoredDelivery {
            id,
            source,
            received_at: crate::sql::from_millis(received_at),
            body,
        }))
    }
}

//! Group commit: concurrent ingest requests share one transaction and one fsync.
//!
//! Each request sends its rows with a oneshot and waits; a single writer task drains whatever
//! is queued, writes it in one transaction, commits, and answers everyone. A failed batch is
//! retried request by request so one bad request cannot fail its neighbours, and no request is
//! ever partly stored.

use crate::ingest::{ALERT_COLUMNS, IngestReceipt, PreparedDelivery};
use crate::sql::{Marks, statement_chunks};
use crate::write::close_unless_ok;
use crate::{Backend, StoreError};
use sqlx::{AnyConnection, AnyPool, Connection};
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio::task::JoinHandle;

/// Most requests folded into one transaction.
const MAX_BATCH_REQUESTS: usize = 256;
/// Stop adding requests to a batch once it holds this many alerts.
const MAX_BATCH_ALERTS: usize = 50_000;
/// Most rows per multi-row INSERT (12 columns each stays under SQLite's and Postgres' bind
/// limits).
const ROWS_PER_INSERT: usize = 1_000;

type Reply = oneshot::Sender<Result<IngestReceipt, StoreError>>;

pub(crate) struct GroupCommitter {
    sender: Mutex<Option<mpsc::Sender<(PreparedDelivery, Reply)>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl GroupCommitter {
    pub(crate) fn start(pool: AnyPool, backend: Backend) -> Self {
        let (sender, receiver) = mpsc::channel(4 * MAX_BATCH_REQUESTS);
        let writer = tokio::spawn(write_loop(pool, backend, receiver));
        GroupCommitter {
            sender: Mutex::new(Some(sender)),
            writer: Mutex::new(Some(writer)),
        }
    }

    pub(crate) async fn commit(
        &self,
        delivery: PreparedDelivery,
    ) -> Result<IngestReceipt, StoreError> {
        let sender = self
            .sender
            .lock()
            .await
            .clone()
            .ok_or(StoreError::ShuttingDown)?;
        let (reply, answer) = oneshot::channel();
        sender
            .send((delivery, reply))
            .await
            .map_err(|_| StoreError::ShuttingDown)?;
        answer.await.map_err(|_| StoreError::ShuttingDown)?
    }

    /// Stops taking requests and waits until every queued one is committed and answered.
    pub(crate) async fn shutdown(&self) {
        self.sender.lock().await.take();
        if let Some(writer) = self.writer.lock().await.take()
            && let Err(e) = writer.await
        {
            tracing::error!(error = %e, "group-commit writer ended abnormally");
        }
    }
}

async fn write_loop(
    pool: AnyPool,
    backend: Backend,
    mut receiver: mpsc::Receiver<(PreparedDelivery, Reply)>,
) {
    while let Some(first) = receiver.recv().await {
        let mut alerts = first.0.alerts.len();
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH_REQUESTS && alerts < MAX_BATCH_ALERTS {
            match receiver.try_recv() {
                Ok(next) => {
                    alerts += next.0.alerts.len();
                    batch.push(next);
                }
                Err(_) => break,
            }
        }
        let deliveries: Vec<&PreparedDelivery> = batch.iter().map(|(d, _)| d).collect();
        match write_batch(&pool, backend, &deliveries).await {
            Ok(receipts) => {
                for ((_, reply), receipt) in batch.into_iter().zip(receipts) {
                    let _ = reply.send(Ok(receipt));
                }
            }
            Err(e) if batch.len() == 1 => {
                tracing::warn!(error = %e, "ingest commit failed");
                if let Some((_, reply)) = batch.pop() {
                    let _ = reply.send(Err(e));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, requests = batch.len(), "batch commit failed; retrying one by one");
                for (delivery, reply) in batch {
                    let result = write_batch(&pool, backend, &[&delivery])
                        .await
                        .map(|mut receipts| receipts.remove(0));
                    let _ = reply.send(result);
                }
            }
        }
    }
}

async fn write_batch(
    pool: &AnyPool,
    backend: Backend,
    deliveries: &[&PreparedDelivery],
) -> Result<Vec<IngestReceipt>, StoreError> {
    let mut conn = pool.acquire().await?;
    let result = async {
        let mut tx = conn.begin().await?;
        let mut receipts = Vec::with_capacity(deliveries.len());
        for delivery in deliveries {
            receipts.push(write_one(&mut tx, backend, delivery).await?);
        }
        tx.commit().await?;
        Ok(receipts)
    }
    .await;
    close_unless_ok(&mut conn, result)
}

async fn write_one(
    conn: &mut AnyConnection,
    backend: Backend,
    d: &PreparedDelivery,
) -> Result<IngestReceipt, StoreError> {
    let delivery_id: i64 = sqlx::query_scalar(
        "INSERT INTO deliveries (source, received_at, auth_subject, remote_addr, content_type, \
         body, receiver, status, group_key, truncated_alerts, alert_count) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(d.source)
    .bind(d.received_at)
    .bind(d.auth_subject.as_deref())
    .bind(d.remote_addr.as_deref())
    .bind(d.content_type.as_deref())
    .bind(d.body.as_slice())
    .bind(d.receiver.as_deref())
    .bind(d.status)
    .bind(d.group_key.as_deref())
    .bind(d.truncated_alerts)
    .bind(i64::try_from(d.alerts.len()).unwrap_or(i64::MAX))
    .fetch_one(&mut *conn)
    .await?;

    for chunk in statement_chunks(&d.alerts, ROWS_PER_INSERT) {
        let statement = format!(
            "INSERT INTO alerts (delivery_id, seq, status, alertname, fingerprint, \
             source_fingerprint, labels, annotations, extra, starts_at, ends_at, generator_url) \
             VALUES {}",
            Marks::new(backend).rows(chunk.len(), ALERT_COLUMNS)
        );
        let mut query = sqlx::query(&statement);
        for alert in chunk {
            query = query
                .bind(delivery_id)
                .bind(alert.seq)
                .bind(alert.status)
                .bind(alert.alertname.as_str())
                .bind(alert.fingerprint.as_str())
                .bind(alert.source_fingerprint.as_deref())
                .bind(alert.labels.as_str())
                .bind(alert.annotations.as_str())
                .bind(alert.extra.as_str())
                .bind(alert.starts_at)
                .bind(alert.ends_at)
                .bind(alert.generator_url.as_deref());
        }
        query.execute(&mut *conn).await?;
    }
    sqlx::query(
        "INSERT INTO alert_queue (alert_id, fingerprint, enqueued_at) \
         SELECT id, fingerprint, $1 FROM alerts WHERE delivery_id = $2",
    )
    .bind(d.received_at)
    .bind(delivery_id)
    .execute(&mut *conn)
    .await?;
    Ok(IngestReceipt {
        delivery_id,
        alerts: d.alerts.len(),
    })
}

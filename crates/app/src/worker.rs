//! Queue workers: apply stored alerts to incidents, woken by ingest or by a poll interval
//! (which also picks up work left by a crashed process or another replica).

use crate::metrics::Metrics;
use nightwatch_core::Clock;
use nightwatch_store::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};

const POLL_INTERVAL: Duration = Duration::from_millis(500);
const ERROR_BACKOFF: Duration = Duration::from_secs(1);

pub async fn run(
    id: usize,
    store: Arc<Store>,
    clock: Arc<dyn Clock>,
    wake: Arc<Notify>,
    wake_responder: Arc<Notify>,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) {
    tracing::debug!(worker = id, "queue worker started");
    loop {
        if *stop.borrow() {
            break;
        }
        match store.process_queue(clock.now()).await {
            Ok(0) => {
                tokio::select! {
                    _ = wake.notified() => {}
                    _ = tokio::time::sleep(POLL_INTERVAL) => {}
                    _ = stop.changed() => {}
                }
            }
            Ok(applied) => {
                metrics.alerts_processed.inc_by(applied as u64);
                // New incidents may have runbook jobs waiting.
                wake_responder.notify_one();
                tracing::debug!(worker = id, applied, "applied alerts to incidents");
            }
            Err(error) => {
                tracing::warn!(worker = id, %error, "queue processing failed; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(ERROR_BACKOFF) => {}
                    _ = stop.changed() => {}
                }
            }
        }
    }
    tracing::debug!(worker = id, "queue worker stopped");
}

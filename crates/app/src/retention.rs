//! The retention sweep: every `interval`, the store prunes raw alerts and resolved incidents
//! past their horizons (`[retention]`), so the database stops growing once the horizons are
//! reached. Safe on several replicas at once: each batch deletes what it finds, and a row
//! another replica already removed is simply not found.

use crate::metrics::{KindLabels, Metrics};
use chrono::{DateTime, Utc};
use nightwatch_core::Clock;
use nightwatch_store::{Cutoffs, Pruned, Store};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Default horizon of raw deliveries and their alerts.
pub const DEFAULT_ALERTS: Duration = Duration::from_secs(30 * 24 * 3600);
/// Default horizon of resolved incidents.
pub const DEFAULT_INCIDENTS: Duration = Duration::from_secs(365 * 24 * 3600);
/// Default pause between passes.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(3600);

/// How long what is kept; `None` keeps that kind for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub alerts: Option<Duration>,
    pub incidents: Option<Duration>,
    pub interval: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            alerts: Some(DEFAULT_ALERTS),
            incidents: Some(DEFAULT_INCIDENTS),
            interval: DEFAULT_INTERVAL,
        }
    }
}

impl Retention {
    /// The cutoffs of a pass at `now`. A horizon too long to subtract keeps everything.
    pub fn cutoffs(&self, now: DateTime<Utc>) -> Cutoffs {
        let before = |keep: Option<Duration>| {
            let keep = chrono::Duration::from_std(keep?).ok()?;
            now.checked_sub_signed(keep)
        };
        Cutoffs {
            alerts_before: before(self.alerts),
            incidents_before: before(self.incidents),
        }
    }

    /// True when nothing is ever pruned.
    pub fn keeps_everything(&self) -> bool {
        self.alerts.is_none() && self.incidents.is_none()
    }
}

/// One pass: prunes, counts what went in the metrics, logs it when anything did.
pub async fn prune_once(
    store: &Store,
    now: DateTime<Utc>,
    retention: &Retention,
    metrics: &Metrics,
) -> Result<Pruned, nightwatch_store::StoreError> {
    let pruned = store.prune(retention.cutoffs(now)).await?;
    for (kind, count) in [
        ("deliveries", pruned.deliveries),
        ("alerts", pruned.alerts),
        ("events", pruned.events),
        ("incidents", pruned.incidents),
        ("actions", pruned.actions),
    ] {
        metrics
            .pruned
            .get_or_create(&KindLabels {
                kind: kind.to_owned(),
            })
            .inc_by(count);
    }
    if !pruned.is_empty() {
        tracing::info!(
            deliveries = pruned.deliveries,
            alerts = pruned.alerts,
            events = pruned.events,
            incidents = pruned.incidents,
            actions = pruned.actions,
            "retention pruned"
        );
    }
    Ok(pruned)
}

/// Prunes at start and then every `retention.interval` until `stop`. A failed pass is logged
/// and tried again at the next interval.
pub async fn run(
    store: Arc<Store>,
    clock: Arc<dyn Clock>,
    retention: Retention,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) {
    if retention.keeps_everything() {
        return;
    }
    loop {
        if let Err(error) = prune_once(&store, clock.now(), &retention, &metrics).await {
            tracing::warn!(%error, "retention pass failed; trying again at the next interval");
        }
        tokio::select! {
            _ = tokio::time::sleep(retention.interval) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn cutoffs_are_now_minus_each_horizon_and_none_when_kept_or_unrepresentable() {
        let now = Utc.with_ymd_and_hms(2026, 12, 3, 12, 0, 0).unwrap();
        let day = Duration::from_secs(24 * 3600);
        let cases = [
            (Some(day), None, Some(now - chrono::Duration::days(1)), None),
            (
                None,
                Some(day * 2),
                None,
                Some(now - chrono::Duration::days(2)),
            ),
            (None, None, None, None),
            // Longer than chrono can subtract: kept, never a wrapped-around cutoff.
            (
                Some(Duration::MAX),
                Some(Duration::from_secs(u64::MAX / 2)),
                None,
                None,
            ),
        ];
        for (alerts, incidents, alerts_before, incidents_before) in cases {
            let retention = Retention {
                alerts,
                incidents,
                interval: DEFAULT_INTERVAL,
            };
            assert_eq!(
                retention.cutoffs(now),
                Cutoffs {
                    alerts_before,
                    incidents_before
                },
                "{alerts:?} {incidents:?}"
            );
        }
    }
}

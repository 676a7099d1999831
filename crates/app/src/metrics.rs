//! Prometheus metrics, in the text exposition format at `/metrics`.

use nightwatch_core::incident::IncidentState;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AlertLabels {
    pub source: String,
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RejectLabels {
    pub source: String,
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabels {
    pub source: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabels {
    pub state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub outcome: String,
}

pub struct Metrics {
    registry: Registry,
    pub alerts_received: Family<AlertLabels, Counter>,
    pub rejects: Family<RejectLabels, Counter>,
    pub ingest_seconds: Family<SourceLabels, Histogram>,
    pub alerts_processed: Counter,
    pub queue_depth: Gauge,
    pub incidents: Family<StateLabels, Gauge>,
    pub action_decisions: Family<OutcomeLabels, Counter>,
    pub actions_executed: Counter,
    /// Connections closed on arrival because `http.max_connections` were open.
    pub connections_refused: Counter,
    /// Rows retention removed, by kind (deliveries, alerts, events, incidents, actions).
    pub pruned: Family<KindLabels, Counter>,
    /// Logins refused, by reason (`wrong_password`, `lockout`: the failure that locked it,
    /// `locked`: an attempt while locked).
    pub logins_refused: Family<ReasonLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("nightwatch");
        let alerts_received = Family::<AlertLabels, Counter>::default();
        registry.register(
            "alerts_received",
            "Alerts stored, by source and status",
            alerts_received.clone(),
        );
        let rejects = Family::<RejectLabels, Counter>::default();
        registry.register(
            "deliveries_rejected",
            "Webhook deliveries refused, by source and reason",
            rejects.clone(),
        );
        let ingest_seconds = Family::<SourceLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ])
        });
        registry.register(
            "ingest_duration_seconds",
            "Time from request received to durable acknowledgement",
            ingest_seconds.clone(),
        );
        let alerts_processed = Counter::default();
        registry.register(
            "alerts_processed",
            "Alerts applied to incidents by this process's workers",
            alerts_processed.clone(),
        );
        let queue_depth = Gauge::default();
        registry.register(
            "queue_depth",
            "Alerts stored and not yet applied to incidents",
            queue_depth.clone(),
        );
        let incidents = Family::<StateLabels, Gauge>::default();
        registry.register("incidents", "Incidents by state", incidents.clone());
        let action_decisions = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "action_decisions",
            "Policy decisions on actions runbooks asked for, by outcome",
            action_decisions.clone(),
        );
        let actions_executed = Counter::default();
        registry.register(
            "actions_executed",
            "Actions executed against the cluster (after a successful dry-run)",
            actions_executed.clone(),
        );
        let connections_refused = Counter::default();
        registry.register(
            "connections_refused",
            "HTTP connections closed on arrival because http.max_connections were open",
            connections_refused.clone(),
        );
        let pruned = Family::<KindLabels, Counter>::default();
        registry.register(
            "pruned_rows",
            "Rows removed by retention, by kind",
            pruned.clone(),
        );
        let logins_refused = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "logins_refused",
            "Logins refused, by reason (wrong_password, lockout, locked)",
            logins_refused.clone(),
        );
        Metrics {
            registry,
            logins_refused,
            pruned,
            connections_refused,
            action_decisions,
            actions_executed,
            alerts_received,
            rejects,
            ingest_seconds,
            alerts_processed,
            queue_depth,
            incidents,
        }
    }

    pub fn reject(&self, source: &str, reason: &str) {
        self.rejects
            .get_or_create(&RejectLabels {
                source: source.to_owned(),
                reason: reason.to_owned(),
            })
            .inc();
    }

    pub fn login_refused(&self, reason: &str) {
        self.logins_refused
            .get_or_create(&ReasonLabels {
                reason: reason.to_owned(),
            })
            .inc();
    }

    pub fn actions_decided(&self, outcome: &str) {
        self.action_decisions
            .get_or_create(&OutcomeLabels {
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    pub fn action_executed(&self) {
        self.actions_executed.inc();
    }

    /// Sets the gauges read from the store at scrape time.
    pub fn set_store_gauges(&self, queue_depth: i64, counts: &[(IncidentState, i64)]) {
        self.queue_depth.set(queue_depth);
        for state in IncidentState::ALL {
            let count = counts
                .iter()
                .find(|(s, _)| *s == state)
                .map(|(_, n)| *n)
                .unwrap_or(0);
            self.incidents
                .get_or_create(&StateLabels {
                    state: state.as_str().to_owned(),
                })
                .set(count);
        }
    }

    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

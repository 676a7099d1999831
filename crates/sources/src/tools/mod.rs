//! The sources as named, read-only tools for the investigation: [`definitions`] lists them with
//! JSON schemas, [`Sources::call`] runs one. Every output is bounded by [`OutputLimits`] and says
//! in `data` (`total`, `shown`, `omitted`) and in its summary how much was left out.

mod alerts;
mod args;
mod definitions;
mod grafana;
mod logs;
mod metrics;

pub use definitions::{ToolDefinition, definitions};

use crate::alertmanager::AlertmanagerClient;
use crate::config::{OutputLimits, SourcesConfig};
use crate::error::{Service, SourceError};
use crate::grafana::GrafanaClient;
use crate::http::truncate;
use crate::loki::LokiClient;
use crate::prometheus::PrometheusClient;
use crate::victorialogs::VictoriaLogsClient;
use chrono::{DateTime, SecondsFormat, Utc};
use nightwatch_core::clock::Clock;
use nightwatch_core::tool::ToolOutput;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Whichever sources are configured, plus the limits and clock the tools use.
#[derive(Clone)]
pub struct Sources {
    pub prometheus: Option<PrometheusClient>,
    pub alertmanager: Option<AlertmanagerClient>,
    pub loki: Option<LokiClient>,
    pub victorialogs: Option<VictoriaLogsClient>,
    pub grafana: Option<GrafanaClient>,
    pub limits: OutputLimits,
    /// Relative times in arguments (`since`, `now-15m`) count from this clock.
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Sources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sources")
            .field("configured", &self.configured())
            .field("limits", &self.limits)
            .finish()
    }
}

impl Sources {
    /// No source configured; add clients with the `with_*` methods or set the fields.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Sources {
            prometheus: None,
            alertmanager: None,
            loki: None,
            victorialogs: None,
            grafana: None,
            limits: OutputLimits::default(),
            clock,
        }
    }

    pub fn from_config(config: &SourcesConfig, clock: Arc<dyn Clock>) -> Result<Self, SourceError> {
        Ok(Sources {
            prometheus: config
                .prometheus
                .as_ref()
                .map(PrometheusClient::new)
                .transpose()?,
            alertmanager: config
                .alertmanager
                .as_ref()
                .map(AlertmanagerClient::new)
                .transpose()?,
            loki: config.loki.as_ref().map(LokiClient::new).transpose()?,
            victorialogs: config
                .victorialogs
                .as_ref()
                .map(VictoriaLogsClient::new)
                .transpose()?,
            grafana: config
                .grafana
                .as_ref()
                .map(GrafanaClient::new)
                .transpose()?,
            limits: config.limits.clone(),
            clock,
        })
    }

    pub fn with_limits(mut self, limits: OutputLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The services that have a client.
    pub fn configured(&self) -> Vec<Service> {
        [
            (Service::Prometheus, self.prometheus.is_some()),
            (Service::Alertmanager, self.alertmanager.is_some()),
            (Service::Loki, self.loki.is_some()),
            (Service::VictoriaLogs, self.victorialogs.is_some()),
            (Service::Grafana, self.grafana.is_some()),
        ]
        .into_iter()
        .filter_map(|(service, on)| on.then_some(service))
        .collect()
    }

    /// The tools whose source is configured: what to offer the model.
    pub fn definitions(&self) -> Vec<ToolDefinition> {
        let configured = self.configured();
        definitions()
            .into_iter()
            .filter(|d| configured.contains(&d.service))
            .collect()
    }

    /// Runs the tool `name` with `args` (a JSON object matching its schema).
    pub async fn call(
        &self,
        name: &str,
        args: serde_json::Value,
    ) -> Result<ToolOutput, SourceError> {
        let now = self.clock.now();
        match name {
            "prometheus_query" => metrics::query(self.prometheus()?, &self.limits, args, now).await,
            "prometheus_query_range" => {
                metrics::query_range(self.prometheus()?, &self.limits, args, now).await
            }
            "prometheus_alerts" => {
                alerts::prometheus_alerts(self.prometheus()?, &self.limits, args).await
            }
            "prometheus_rules" => {
                alerts::prometheus_rules(self.prometheus()?, &self.limits, args).await
            }
            "alertmanager_alerts" => {
                alerts::alertmanager_alerts(self.alertmanager()?, &self.limits, args).await
            }
            "alertmanager_silences" => {
                alerts::alertmanager_silences(self.alertmanager()?, &self.limits, args).await
            }
            "loki_query" => logs::loki(self.loki()?, &self.limits, args, now).await,
            "victorialogs_query" => {
                logs::victorialogs(self.victorialogs()?, &self.limits, args, now).await
            }
            "grafana_dashboards" => grafana::dashboards(self.grafana()?, &self.limits, args).await,
            "grafana_annotations" => {
                grafana::annotations(self.grafana()?, &self.limits, args, now).await
            }
            other => Err(SourceError::UnknownTool(other.to_owned())),
        }
    }

    fn prometheus(&self) -> Result<&PrometheusClient, SourceError> {
        configured(self.prometheus.as_ref(), Service::Prometheus)
    }

    fn alertmanager(&self) -> Result<&AlertmanagerClient, SourceError> {
        configured(self.alertmanager.as_ref(), Service::Alertmanager)
    }

    fn loki(&self) -> Result<&LokiClient, SourceError> {
        configured(self.loki.as_ref(), Service::Loki)
    }

    fn victorialogs(&self) -> Result<&VictoriaLogsClient, SourceError> {
        configured(self.victorialogs.as_ref(), Service::VictoriaLogs)
    }

    fn grafana(&self) -> Result<&GrafanaClient, SourceError> {
        configured(self.grafana.as_ref(), Service::Grafana)
    }
}

/// Checks `args` for the tool `name` as [`Sources::call`] would, with relative times counted
/// from `now`, without any source configured and without any I/O: exactly the parsing and
/// validation each tool runs before its request. For fuzzing and tests; an unknown `name` is the
/// same [`SourceError::UnknownTool`] that `call` returns.
pub fn check_arguments(
    name: &str,
    args: serde_json::Value,
    now: DateTime<Utc>,
) -> Result<(), SourceError> {
    match name {
        "prometheus_query" => metrics::instant_query(args, now).map(drop),
        "prometheus_query_range" => metrics::range_query(args, now).map(drop),
        "prometheus_alerts" => alerts::prometheus_alerts_request(args).map(drop),
        "prometheus_rules" => alerts::rules_request(args).map(drop),
        "alertmanager_alerts" => alerts::alertmanager_alerts_request(args).map(drop),
        "alertmanager_silences" => alerts::silences_request(args).map(drop),
        "loki_query" => logs::loki_request(args, now).map(drop),
        "victorialogs_query" => logs::victorialogs_request(args, now).map(drop),
        "grafana_dashboards" => grafana::dashboard_search(args).map(drop),
        "grafana_annotations" => grafana::annotations_request(args, now).map(drop),
        other => Err(SourceError::UnknownTool(other.to_owned())),
    }
}

fn configured<T>(client: Option<&T>, service: Service) -> Result<&T, SourceError> {
    client.ok_or(SourceError::NotConfigured { service })
}

/// The first `max` items and how many were cut.
pub(crate) fn cap<T>(mut items: Vec<T>, max: usize) -> (Vec<T>, usize) {
    let omitted = items.len().saturating_sub(max);
    items.truncate(max);
    (items, omitted)
}

/// `(showing N; M left out)` for a summary, or nothing when all is shown.
pub(crate) fn left_out(shown: usize, omitted: usize, what: &str) -> String {
    if omitted == 0 {
        String::new()
    } else {
        format!(" (showing {shown}; {omitted} more {what} left out)")
    }
}

/// Labels with long values shortened (a label can hold a whole stack trace).
pub(crate) fn bounded_labels(
    labels: &BTreeMap<String, String>,
    max_chars: usize,
) -> BTreeMap<String, String> {
    labels
        .iter()
        .map(|(k, v)| (k.clone(), truncate(v, max_chars)))
        .collect()
}

/// `{a="1", b="2"}` as PromQL writes a label set.
pub(crate) fn labels_text(labels: &BTreeMap<String, String>) -> String {
    let inner: Vec<String> = labels
        .iter()
        .filter(|(k, _)| k.as_str() != "__name__")
        .map(|(k, v)| format!("{k}={:?}", truncate(v, 60)))
        .collect();
    let name = labels.get("__name__").map(String::as_str).unwrap_or("");
    format!("{name}{{{}}}", inner.join(", "))
}

/// `3× KubePodOOMKilled, 1× Watchdog`: the most frequent names first, at most five.
pub(crate) fn tally<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for name in names {
        *counts.entry(name).or_default() += 1;
    }
    let mut counts: Vec<(&str, usize)> = counts.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let more = counts.len().saturating_sub(5);
    let mut text: Vec<String> = counts
        .iter()
        .take(5)
        .map(|(n, c)| format!("{c}× {n}"))
        .collect();
    if more > 0 {
        text.push(format!("{more} other names"));
    }
    text.join(", ")
}

pub(crate) fn rfc3339(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// The query text for a summary: one line, bounded.
pub(crate) fn quoted(query: &str) -> String {
    let one_line: String = query.split_whitespace().collect::<Vec<_>>().join(" ");
    format!("`{}`", truncate(&one_line, 120))
}

#[cfg(test)]
mod tests;

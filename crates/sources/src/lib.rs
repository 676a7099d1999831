//! Read-only clients for the observability stack — Prometheus, Alertmanager, Loki,
//! VictoriaLogs, Grafana — and the investigation tools built on them ([`tools`]).
//!
//! Every client is async (reqwest), has a timeout and optional bearer or basic auth, and fails
//! with a [`SourceError`] that names the source, the URL path and what the server said. The only
//! writing type is [`alertmanager::SilenceWriter`], kept apart from the read client.

pub mod alertmanager;
pub mod config;
pub mod error;
pub mod grafana;
mod http;
pub mod loki;
pub mod prometheus;
pub mod tools;
pub mod victorialogs;

pub use alertmanager::{AlertmanagerClient, SilenceWriter};
pub use config::{OutputLimits, SourceConfig, SourcesConfig};
pub use error::{Service, SourceError};
pub use grafana::GrafanaClient;
pub use loki::LokiClient;
pub use prometheus::PrometheusClient;
pub use tools::{Sources, ToolDefinition, check_arguments, definitions};
pub use victorialogs::VictoriaLogsClient;

//! One error type for every source. Each variant names the source and, when a request was made,
//! the URL path and what the server said — the text an investigation shows when a tool fails.

use std::fmt;

/// The observability systems this crate talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    Prometheus,
    Alertmanager,
    Loki,
    VictoriaLogs,
    Grafana,
}

impl Service {
    /// The key of the source in the configuration (`sources.<key>`).
    pub fn key(self) -> &'static str {
        match self {
            Service::Prometheus => "prometheus",
            Service::Alertmanager => "alertmanager",
            Service::Loki => "loki",
            Service::VictoriaLogs => "victorialogs",
            Service::Grafana => "grafana",
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Service::Prometheus => "Prometheus",
            Service::Alertmanager => "Alertmanager",
            Service::Loki => "Loki",
            Service::VictoriaLogs => "VictoriaLogs",
            Service::Grafana => "Grafana",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{service} is not configured (no `sources.{}` section)", service.key())]
    NotConfigured { service: Service },

    #[error("{service}: invalid configuration: {message}")]
    Config { service: Service, message: String },

    /// The request never got an HTTP answer: connection refused, timeout, TLS.
    #[error("{service} {path}: request failed: {message}")]
    Transport {
        service: Service,
        path: String,
        message: String,
    },

    /// The server answered with an error: a non-2xx status, or (Prometheus, Loki) a 2xx body with
    /// `"status": "error"`. `error_type` is the server's own classification where it gives one
    /// (Prometheus' `errorType`, e.g. `bad_data`).
    #[error(
        "{service} {path}: HTTP {status}{}: {message}",
        error_type.as_deref().map(|t| format!(" {t}")).unwrap_or_default()
    )]
    Server {
        service: Service,
        path: String,
        status: u16,
        error_type: Option<String>,
        message: String,
    },

    /// A 2xx answer that is not the documented shape.
    #[error("{service} {path}: unexpected response: {message}")]
    Decode {
        service: Service,
        path: String,
        message: String,
    },

    /// A request this crate refuses before sending it (empty query, end before start, …).
    #[error("{service}: invalid request: {message}")]
    InvalidRequest { service: Service, message: String },

    #[error("unknown tool {0:?}")]
    UnknownTool(String),

    #[error("{tool}: invalid arguments: {message}")]
    InvalidArguments { tool: String, message: String },
}

impl SourceError {
    /// The server's error classification, if the server sent one.
    pub fn error_type(&self) -> Option<&str> {
        match self {
            SourceError::Server { error_type, .. } => error_type.as_deref(),
            _ => None,
        }
    }

    /// The source the error came from, when it came from one.
    pub fn service(&self) -> Option<Service> {
        match self {
            SourceError::NotConfigured { service }
            | SourceError::Config { service, .. }
            | SourceError::Transport { service, .. }
            | SourceError::Server { service, .. }
            | SourceError::Decode { service, .. }
            | SourceError::InvalidRequest { service, .. } => Some(*service),
            SourceError::UnknownTool(_) | SourceError::InvalidArguments { .. } => None,
        }
    }
}

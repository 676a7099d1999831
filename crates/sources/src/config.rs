//! Where each source lives and how to authenticate. Every section is optional: a source without
//! one is simply not offered as a tool.

use crate::error::{Service, SourceError};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// `sources:` in nightwatch's configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourcesConfig {
    pub prometheus: Option<SourceConfig>,
    pub alertmanager: Option<SourceConfig>,
    pub loki: Option<SourceConfig>,
    pub victorialogs: Option<SourceConfig>,
    pub grafana: Option<SourceConfig>,
    #[serde(default)]
    pub limits: OutputLimits,
}

/// One source: its base URL (a path prefix such as `/prometheus` is kept), optional auth and
/// extra headers (e.g. Loki's `X-Scope-OrgID`, VictoriaLogs' `AccountID`).
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    pub url: String,
    #[serde(default)]
    pub bearer_token: Option<Secret>,
    #[serde(default)]
    pub basic_auth: Option<BasicAuth>,
    /// Whole-request timeout, humantime (`15s`, `1m`); default 15 s.
    #[serde(default)]
    pub timeout: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

impl SourceConfig {
    pub fn new(url: impl Into<String>) -> Self {
        SourceConfig {
            url: url.into(),
            bearer_token: None,
            basic_auth: None,
            timeout: None,
            headers: BTreeMap::new(),
        }
    }

    pub fn with_bearer_token(mut self, token: impl Into<String>) -> Self {
        self.bearer_token = Some(Secret(token.into()));
        self
    }

    pub fn with_basic_auth(
        mut self,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        self.basic_auth = Some(BasicAuth {
            username: username.into(),
            password: Secret(password.into()),
        });
        self
    }

    pub fn with_timeout(mut self, timeout: &str) -> Self {
        self.timeout = Some(timeout.to_owned());
        self
    }

    pub(crate) fn timeout(&self, service: Service) -> Result<Duration, SourceError> {
        match &self.timeout {
            None => Ok(DEFAULT_TIMEOUT),
            Some(text) => humantime::parse_duration(text).map_err(|e| SourceError::Config {
                service,
                message: format!("timeout {text:?}: {e}"),
            }),
        }
    }
}

/// Header values may be credentials too (a custom `Authorization`, an API key): only their
/// names are shown.
impl fmt::Debug for SourceConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SourceConfig")
            .field("url", &self.url)
            .field("bearer_token", &self.bearer_token)
            .field("basic_auth", &self.basic_auth)
            .field("timeout", &self.timeout)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .finish()
    }
}

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    pub username: String,
    pub password: Secret,
}

/// A credential that never shows in `Debug` output (configs get logged).
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(pub String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// How much of an answer a tool hands on: an LLM context is small and a query can match
/// thousands of series or lines. What is cut is counted in the output.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutputLimits {
    /// Series of a vector or matrix result.
    pub max_series: usize,
    /// Points per series of a range result (evenly thinned beyond this; the last point is kept).
    pub max_points: usize,
    /// Log lines across all streams.
    pub max_lines: usize,
    /// Characters of one log line, annotation text or label value.
    pub max_chars: usize,
    /// Alerts, silences, rules, dashboards, annotations.
    pub max_items: usize,
}

impl Default for OutputLimits {
    fn default() -> Self {
        OutputLimits {
            max_series: 50,
            max_points: 60,
            max_lines: 200,
            max_chars: 1000,
            max_items: 100,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_section_parses_and_hides_its_secrets() {
        let config: SourcesConfig = serde_json::from_value(serde_json::json!({
            "prometheus": {"url": "http://prometheus:9090", "timeout": "5s"},
            "loki": {"url": "http://loki:3100", "headers": {"X-Scope-OrgID": "tenant-a", "X-Api-Key": "k-123"}},
            "grafana": {"url": "http://grafana:3000", "bearer_token": "glsa_abc"},
            "victorialogs": {"url": "http://vl:9428", "basic_auth": {"username": "u", "password": "p4ss"}},
            "limits": {"max_lines": 50}
        }))
        .unwrap();
        assert_eq!(config.limits.max_lines, 50);
        assert_eq!(config.limits.max_series, OutputLimits::default().max_series);
        assert!(config.alertmanager.is_none());
        let prometheus = config.prometheus.as_ref().unwrap();
        assert_eq!(
            prometheus.timeout(Service::Prometheus).unwrap(),
            Duration::from_secs(5)
        );
        let shown = format!("{config:?}");
        for secret in ["glsa_abc", "p4ss", "k-123", "tenant-a"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("X-Scope-OrgID"));

        let typo = serde_json::from_value::<SourcesConfig>(
            serde_json::json!({"prometheus": {"url": "x", "bearer": "t"}}),
        );
        assert!(
            typo.unwrap_err()
                .to_string()
                .contains("unknown field `bearer`")
        );
        let bad_timeout = SourceConfig::new("http://x").with_timeout("soon");
        assert!(
            bad_timeout
                .timeout(Service::Loki)
                .unwrap_err()
                .to_string()
                .starts_with("Loki: invalid configuration: timeout")
        );
    }
}

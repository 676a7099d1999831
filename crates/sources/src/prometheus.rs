//! Prometheus' HTTP API (`/api/v1`): instant and range queries, alerts, rules. Its result
//! types (vector, matrix, scalar, string) are shared with Loki's metric queries, which answer in
//! the same shape.

use crate::config::SourceConfig;
use crate::error::{Service, SourceError};
use crate::http::Endpoint;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::time::Duration;

pub type Labels = BTreeMap<String, String>;

/// One sample: Unix time in seconds (fractional) and the value as Prometheus wrote it —
/// a string, so `NaN` and `+Inf` survive.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Point(pub f64, pub String);

impl Point {
    pub fn time(&self) -> f64 {
        self.0
    }

    pub fn value(&self) -> &str {
        &self.1
    }

    pub fn as_f64(&self) -> Option<f64> {
        self.1.parse().ok()
    }
}

/// An element of an instant vector. Native-histogram samples carry `histogram` instead of
/// `value`; it is kept raw.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Sample {
    #[serde(default)]
    pub metric: Labels,
    pub value: Option<Point>,
    pub histogram: Option<serde_json::Value>,
}

/// A series of a range result.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Series {
    #[serde(default)]
    pub metric: Labels,
    #[serde(default)]
    pub values: Vec<Point>,
    #[serde(default)]
    pub histograms: Vec<serde_json::Value>,
}

/// `data` of a query answer, by `resultType`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
pub enum QueryData {
    Vector(Vec<Sample>),
    Matrix(Vec<Series>),
    Scalar(Point),
    String(Point),
}

impl QueryData {
    pub fn result_type(&self) -> &'static str {
        match self {
            QueryData::Vector(_) => "vector",
            QueryData::Matrix(_) => "matrix",
            QueryData::Scalar(_) => "scalar",
            QueryData::String(_) => "string",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct QueryResult {
    pub data: QueryData,
    /// Prometheus' `warnings` (and `infos`, from 2.50 on): a result can be partial.
    pub warnings: Vec<String>,
}

/// The envelope of every `/api/v1` answer.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope<T> {
    status: String,
    data: Option<T>,
    error_type: Option<String>,
    error: Option<String>,
    #[serde(default)]
    warnings: Vec<String>,
    #[serde(default)]
    infos: Vec<String>,
}

/// Parses an `/api/v1` answer body: `status: success` yields the data, `status: error` the
/// server's errorType and message. (Error statuses arrive as non-2xx too and are caught earlier;
/// this covers proxies that rewrite the status and Loki's legacy answers.)
pub(crate) fn parse_envelope<T: DeserializeOwned>(
    endpoint: &Endpoint,
    path: &str,
    body: &str,
) -> Result<(T, Vec<String>), SourceError> {
    let envelope: Envelope<T> = endpoint.decode(path, body)?;
    if envelope.status != "success" {
        return Err(SourceError::Server {
            service: endpoint.service,
            path: path.to_owned(),
            status: 200,
            error_type: envelope.error_type,
            message: envelope.error.unwrap_or_else(|| {
                format!("status {:?} without an error message", envelope.status)
            }),
        });
    }
    let data = envelope
        .data
        .ok_or_else(|| endpoint.decode_error(path, "status success without data".into()))?;
    let mut warnings = envelope.warnings;
    warnings.extend(envelope.infos);
    Ok((data, warnings))
}

/// An alert as Prometheus' rule evaluation sees it (`/api/v1/alerts`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrometheusAlert {
    #[serde(default)]
    pub labels: Labels,
    #[serde(default)]
    pub annotations: Labels,
    /// `pending` or `firing`.
    pub state: String,
    pub active_at: Option<DateTime<Utc>>,
    pub value: Option<String>,
}

#[derive(Debug, Deserialize)]
struct AlertsData {
    alerts: Vec<PrometheusAlert>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleGroup {
    pub name: String,
    #[serde(default)]
    pub file: String,
    pub interval: Option<f64>,
    #[serde(default)]
    pub rules: Vec<Rule>,
}

/// An alerting or recording rule; fields only alerting rules have are optional.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    /// `alerting` or `recording`.
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub query: String,
    /// Seconds of `for:`.
    pub duration: Option<f64>,
    #[serde(default)]
    pub labels: Labels,
    #[serde(default)]
    pub annotations: Labels,
    #[serde(default)]
    pub alerts: Vec<PrometheusAlert>,
    /// `ok`, `err` or `unknown`.
    pub health: Option<String>,
    pub last_error: Option<String>,
    /// `inactive`, `pending` or `firing` (alerting rules).
    pub state: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RulesData {
    groups: Vec<RuleGroup>,
}

/// Which rules `/api/v1/rules` returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleKind {
    Alerting,
    Recording,
}

/// Prometheus refuses range queries of more than this many points per series.
pub const MAX_RANGE_POINTS: i64 = 11_000;

#[derive(Debug, Clone)]
pub struct PrometheusClient {
    endpoint: Endpoint,
}

impl PrometheusClient {
    pub fn new(config: &SourceConfig) -> Result<Self, SourceError> {
        Ok(PrometheusClient {
            endpoint: Endpoint::new(Service::Prometheus, config)?,
        })
    }

    /// `GET /api/v1/query`: evaluates `query` at `time` (the server's now when None).
    pub async fn query(
        &self,
        query: &str,
        time: Option<DateTime<Utc>>,
    ) -> Result<QueryResult, SourceError> {
        self.require_query(query)?;
        let mut params = vec![("query", query.to_owned())];
        if let Some(time) = time {
            params.push(("time", unix_seconds(time)));
        }
        self.query_at("/api/v1/query", &params).await
    }

    /// `GET /api/v1/query_range` from `start` to `end` every `step`.
    pub async fn query_range(
        &self,
        query: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        step: Duration,
    ) -> Result<QueryResult, SourceError> {
        self.require_query(query)?;
        let invalid = |message: String| SourceError::InvalidRequest {
            service: Service::Prometheus,
            message,
        };
        if end < start {
            return Err(invalid(format!("end {end} is before start {start}")));
        }
        if step.is_zero() {
            return Err(invalid("step must be positive".into()));
        }
        check_points(start, end, step).map_err(invalid)?;
        let params = [
            ("query", query.to_owned()),
            ("start", unix_seconds(start)),
            ("end", unix_seconds(end)),
            ("step", format!("{}", step.as_secs_f64())),
        ];
        self.query_at("/api/v1/query_range", &params).await
    }

    /// `GET /api/v1/alerts`: every pending and firing alert of the rule evaluation.
    pub async fn alerts(&self) -> Result<Vec<PrometheusAlert>, SourceError> {
        let path = "/api/v1/alerts";
        let answer = self.endpoint.get(path, &[]).await?;
        let (data, _): (AlertsData, _) = parse_envelope(&self.endpoint, path, &answer.body)?;
        Ok(data.alerts)
    }

    /// `GET /api/v1/rules`, optionally only alerting or recording rules.
    pub async fn rules(&self, kind: Option<RuleKind>) -> Result<Vec<RuleGroup>, SourceError> {
        let path = "/api/v1/rules";
        let params: Vec<(&str, String)> = match kind {
            None => Vec::new(),
            Some(RuleKind::Alerting) => vec![("type", "alert".into())],
            Some(RuleKind::Recording) => vec![("type", "record".into())],
        };
        let answer = self.endpoint.get(path, &params).await?;
        let (data, _): (RulesData, _) = parse_envelope(&self.endpoint, path, &answer.body)?;
        Ok(data.groups)
    }

    async fn query_at(
        &self,
        path: &str,
        params: &[(&str, String)],
    ) -> Result<QueryResult, SourceError> {
        let answer = self.endpoint.get(path, params).await?;
        let (data, warnings) = parse_envelope(&self.endpoint, path, &answer.body)?;
        Ok(QueryResult { data, warnings })
    }

    fn require_query(&self, query: &str) -> Result<(), SourceError> {
        if query.trim().is_empty() {
            return Err(SourceError::InvalidRequest {
                service: Service::Prometheus,
                message: "empty PromQL query".into(),
            });
        }
        Ok(())
    }
}

/// Whether a range query from `start` to `end` every `step` stays within
/// [`MAX_RANGE_POINTS`] per series; the message says why not.
pub(crate) fn check_points(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    step: Duration,
) -> Result<(), String> {
    // `as i64` on the u128 milliseconds would wrap a step of 2⁶⁴ ms to 0 and divide by zero;
    // a step too long for i64 is simply one point.
    let step_ms = i64::try_from(step.as_millis()).unwrap_or(i64::MAX).max(1);
    let points = (end - start).num_milliseconds() / step_ms;
    if points > MAX_RANGE_POINTS {
        return Err(format!(
            "{points} points per series at step {}s; Prometheus allows {MAX_RANGE_POINTS}: use a larger step",
            step.as_secs_f64()
        ));
    }
    Ok(())
}

/// Unix seconds with millisecond precision, as Prometheus' `time`/`start`/`end` accept.
pub(crate) fn unix_seconds(time: DateTime<Utc>) -> String {
    format!("{:.3}", time.timestamp_millis() as f64 / 1000.0)
}

#[cfg(test)]
mod tests;

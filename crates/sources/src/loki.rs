//! Loki's `/loki/api/v1/query_range`: log queries answer `streams`, metric queries (`rate(…)`,
//! `count_over_time(…)`) answer Prometheus-shaped `matrix`.

use crate::config::SourceConfig;
use crate::error::{Service, SourceError};
use crate::http::Endpoint;
use crate::prometheus::{Labels, Point, Sample, Series, parse_envelope};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use std::fmt;
use std::time::Duration;

/// One log line: nanoseconds since the epoch (Loki sends them as a decimal string) and the line.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    pub timestamp_ns: i64,
    pub line: String,
    /// Structured metadata and parsed labels (Loki 3 with `X-Loki-Response-Encoding-Flags:
    /// categorize-labels`), raw.
    pub metadata: Option<serde_json::Value>,
}

impl LogEntry {
    pub fn time(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_nanos(self.timestamp_ns)
    }
}

impl<'de> Deserialize<'de> for LogEntry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntryVisitor;
        impl<'de> Visitor<'de> for EntryVisitor {
            type Value = LogEntry;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(r#"["<unix ns>", "<line>"] (optionally a third metadata object)"#)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<LogEntry, A::Error> {
                let ts: String = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(0, &self))?;
                let line: String = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(1, &self))?;
                let metadata: Option<serde_json::Value> = seq.next_element()?;
                let timestamp_ns = ts.parse().map_err(|_| {
                    de::Error::custom(format!("timestamp {ts:?} is not integer nanoseconds"))
                })?;
                Ok(LogEntry {
                    timestamp_ns,
                    line,
                    metadata,
                })
            }
        }
        deserializer.deserialize_seq(EntryVisitor)
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LogStream {
    pub stream: Labels,
    pub values: Vec<LogEntry>,
}

/// `data` of a Loki query answer, by `resultType`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
pub enum LokiData {
    Streams(Vec<LogStream>),
    Matrix(Vec<Series>),
    Vector(Vec<Sample>),
    Scalar(Point),
}

impl LokiData {
    pub fn result_type(&self) -> &'static str {
        match self {
            LokiData::Streams(_) => "streams",
            LokiData::Matrix(_) => "matrix",
            LokiData::Vector(_) => "vector",
            LokiData::Scalar(_) => "scalar",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LokiResult {
    pub data: LokiData,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    Forward,
    /// Newest first: Loki's default, and what an investigation wants under a limit.
    #[default]
    Backward,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Forward => "forward",
            Direction::Backward => "backward",
        }
    }
}

#[derive(Debug, Clone)]
pub struct LokiQuery {
    /// LogQL, e.g. `{namespace="shop", pod=~"web-.*"} |= "error"`.
    pub query: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Lines (log queries) at most; Loki's default is 100.
    pub limit: u32,
    pub direction: Direction,
    /// Resolution of metric queries; Loki picks one when None.
    pub step: Option<Duration>,
}

#[derive(Debug, Clone)]
pub struct LokiClient {
    endpoint: Endpoint,
}

impl LokiClient {
    pub fn new(config: &SourceConfig) -> Result<Self, SourceError> {
        Ok(LokiClient {
            endpoint: Endpoint::new(Service::Loki, config)?,
        })
    }

    /// `GET /loki/api/v1/query_range`.
    pub async fn query_range(&self, query: &LokiQuery) -> Result<LokiResult, SourceError> {
        let invalid = |message: String| SourceError::InvalidRequest {
            service: Service::Loki,
            message,
        };
        if query.query.trim().is_empty() {
            return Err(invalid("empty LogQL query".into()));
        }
        if query.end < query.start {
            return Err(invalid(format!(
                "end {} is before start {}",
                query.end, query.start
            )));
        }
        let nanos = |t: DateTime<Utc>| {
            t.timestamp_nanos_opt()
                .map(|n| n.to_string())
                .ok_or_else(|| invalid(format!("{t} is outside Loki's nanosecond range")))
        };
        let mut params = vec![
            ("query", query.query.clone()),
            ("start", nanos(query.start)?),
            ("end", nanos(query.end)?),
            ("limit", query.limit.to_string()),
            ("direction", query.direction.as_str().to_owned()),
        ];
        if let Some(step) = query.step {
            params.push(("step", format!("{}", step.as_secs_f64())));
        }
        let path = "/loki/api/v1/query_range";
        let answer = self.endpoint.get(path, &params).await?;
        let (data, warnings) = parse_envelope(&self.endpoint, path, &answer.body)?;
        Ok(LokiResult { data, warnings })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<LokiData, SourceError> {
        let endpoint =
            Endpoint::new(Service::Loki, &SourceConfig::new("http://loki.invalid")).unwrap();
        parse_envelope(&endpoint, "/loki/api/v1/query_range", body).map(|(data, _)| data)
    }

    /// The examples of Loki's HTTP API documentation.
    #[test]
    fn streams_and_matrix_answers_parse() {
        let streams = r#"{
          "status": "success",
          "data": {
            "resultType": "streams",
            "result": [
              {"stream": {"filename": "/var/log/myproject.log", "job": "varlogs", "level": "info"},
               "values": [["1569266497240578000", "foo"], ["1569266492548155000", "bar"]]}
            ],
            "stats": {"summary": {"bytesProcessedPerSecond": 0, "totalBytesProcessed": 0}}
          }
        }"#;
        let LokiData::Streams(streams) = parse(streams).unwrap() else {
            panic!()
        };
        assert_eq!(streams[0].stream["job"], "varlogs");
        assert_eq!(streams[0].values[0].line, "foo");
        assert_eq!(streams[0].values[0].timestamp_ns, 1569266497240578000);
        assert_eq!(
            streams[0].values[0].time().to_rfc3339(),
            "2019-09-23T19:21:37.240578+00:00"
        );

        let matrix = r#"{
          "status": "success",
          "data": {
            "resultType": "matrix",
            "result": [
              {"metric": {"level": "info"}, "values": [[1588889221, "137.95"], [1588889281, "467.115"]]},
              {"metric": {"level": "warn"}, "values": [[1588889221, "11.18"]]}
            ],
            "stats": {}
          }
        }"#;
        let LokiData::Matrix(series) = parse(matrix).unwrap() else {
            panic!()
        };
        assert_eq!(series.len(), 2);
        assert_eq!(series[0].values[1], Point(1588889281.0, "467.115".into()));
    }

    #[test]
    fn entries_with_metadata_and_bad_entries() {
        let with_metadata = r#"{"status":"success","data":{"resultType":"streams","result":[
            {"stream":{"app":"web"},"values":[["1700000000000000000","GET /",{"structuredMetadata":{"trace_id":"abc"}}]]}]}}"#;
        let LokiData::Streams(streams) = parse(with_metadata).unwrap() else {
            panic!()
        };
        assert_eq!(
            streams[0].values[0].metadata.as_ref().unwrap()["structuredMetadata"]["trace_id"],
            "abc"
        );

        for bad in [
            r#"{"status":"success","data":{"resultType":"streams","result":[{"stream":{},"values":[["12.5","x"]]}]}}"#,
            r#"{"status":"success","data":{"resultType":"streams","result":[{"stream":{},"values":[["1"]]}]}}"#,
        ] {
            assert!(
                matches!(parse(bad), Err(SourceError::Decode { .. })),
                "{bad}"
            );
        }
    }
}

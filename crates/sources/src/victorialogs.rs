//! VictoriaLogs' `/select/logsql/query`, which answers one JSON object per line (not an array):
//! `_msg`, `_time`, `_stream` and whatever other fields the entry has.

use crate::config::SourceConfig;
use crate::error::{Service, SourceError};
use crate::http::Endpoint;
use chrono::{DateTime, SecondsFormat, Utc};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct LogRecord {
    pub msg: String,
    /// RFC 3339, as VictoriaLogs writes it.
    pub time: Option<String>,
    /// The stream's labels in LogsQL form, e.g. `{app="web",namespace="shop"}`.
    pub stream: Option<String>,
    /// Every other field (`_stream_id`, `level`, `kubernetes.pod_name`, …). VictoriaLogs writes
    /// all values as strings; anything else is kept as its JSON text.
    pub fields: BTreeMap<String, String>,
}

impl LogRecord {
    pub fn parsed_time(&self) -> Option<DateTime<Utc>> {
        self.time
            .as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc))
    }
}

#[derive(Debug, Clone)]
pub struct LogsQlQuery {
    /// LogsQL, e.g. `_stream:{namespace="shop"} error`.
    pub query: String,
    pub limit: Option<u32>,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct VictoriaLogsClient {
    endpoint: Endpoint,
}

impl VictoriaLogsClient {
    pub fn new(config: &SourceConfig) -> Result<Self, SourceError> {
        Ok(VictoriaLogsClient {
            endpoint: Endpoint::new(Service::VictoriaLogs, config)?,
        })
    }

    /// `GET /select/logsql/query`. With a limit VictoriaLogs returns the newest matching entries.
    pub async fn query(&self, query: &LogsQlQuery) -> Result<Vec<LogRecord>, SourceError> {
        if query.query.trim().is_empty() {
            return Err(SourceError::InvalidRequest {
                service: Service::VictoriaLogs,
                message: "empty LogsQL query (use `*` for every entry)".into(),
            });
        }
        let rfc3339 = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::AutoSi, true);
        let mut params = vec![("query", query.query.clone())];
        if let Some(limit) = query.limit {
            params.push(("limit", limit.to_string()));
        }
        if let Some(start) = query.start {
            params.push(("start", rfc3339(start)));
        }
        if let Some(end) = query.end {
            params.push(("end", rfc3339(end)));
        }
        let path = "/select/logsql/query";
        let answer = self.endpoint.get(path, &params).await?;
        parse_lines(&answer.body).map_err(|message| self.endpoint.decode_error(path, message))
    }
}

/// Parses the JSON-lines body; an error names the offending line.
pub(crate) fn parse_lines(body: &str) -> Result<Vec<LogRecord>, String> {
    let mut records = Vec::new();
    for (number, line) in body.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let object: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(line).map_err(|e| format!("line {}: {e}", number + 1))?;
        let mut record = LogRecord::default();
        for (key, value) in object {
            let text = match value {
                serde_json::Value::String(text) => text,
                other => other.to_string(),
            };
            match key.as_str() {
                "_msg" => record.msg = text,
                "_time" => record.time = Some(text),
                "_stream" => record.stream = Some(text),
                _ => {
                    record.fields.insert(key, text);
                }
            }
        }
        records.push(record);
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_parse() {
        // From VictoriaLogs' querying docs, plus a line with extra fields and a blank line.
        let body = concat!(
            r#"{"_msg":"error: disconnect from 19.54.37.22: Auth fail [preauth]","_stream":"{}","_time":"2023-01-01T13:32:13Z"}"#,
            "\n",
            r#"{"_msg":"panic: DATABASE_URL is not set","_stream":"{app=\"billing\",namespace=\"shop\"}","_stream_id":"0000000000000000b0f1","_time":"2024-05-01T10:00:00.123456789Z","level":"error","status":500}"#,
            "\n\n"
        );
        let records = parse_lines(body).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(
            records[0].msg,
            "error: disconnect from 19.54.37.22: Auth fail [preauth]"
        );
        assert_eq!(records[0].stream.as_deref(), Some("{}"));
        assert_eq!(
            records[1].stream.as_deref(),
            Some(r#"{app="billing",namespace="shop"}"#)
        );
        assert_eq!(records[1].fields["level"], "error");
        assert_eq!(records[1].fields["status"], "500");
        assert_eq!(
            records[1].parsed_time().unwrap().timestamp_subsec_nanos(),
            123456789
        );
        assert!(parse_lines("").unwrap().is_empty());
    }

    #[test]
    fn a_bad_line_is_named() {
        let body = "{\"_msg\":\"ok\"}\n[1,2]\n";
        assert!(parse_lines(body).unwrap_err().starts_with("line 2: "));
    }
}

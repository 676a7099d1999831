//! `loki_query` and `victorialogs_query`: log lines, newest first, bounded in count and length.

use super::args::{self, Window};
use super::{bounded_labels, left_out, metrics, quoted, rfc3339};
use crate::config::OutputLimits;
use crate::error::SourceError;
use crate::http::truncate;
use crate::loki::{Direction, LogEntry, LogStream, LokiClient, LokiData, LokiQuery};
use crate::prometheus::QueryData;
use crate::victorialogs::{LogsQlQuery, VictoriaLogsClient};
use chrono::{DateTime, Utc};
use nightwatch_core::tool::ToolOutput;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

const DEFAULT_LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 5000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LokiArgs {
    query: String,
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default)]
    direction: Option<String>,
    #[serde(default)]
    since: Option<Value>,
    #[serde(default)]
    start: Option<Value>,
    #[serde(default)]
    end: Option<Value>,
}

fn limit(tool: &str, limit: Option<u32>) -> Result<u32, SourceError> {
    args::count(tool, "limit", limit, DEFAULT_LIMIT, (1, MAX_LIMIT))
}

/// A `loki_query` call, validated: the query sent to Loki.
pub(super) fn loki_request(args: Value, now: DateTime<Utc>) -> Result<LokiQuery, SourceError> {
    const TOOL: &str = "loki_query";
    let a: LokiArgs = args::parse(TOOL, args)?;
    let query = args::query(TOOL, "query", "LogQL", a.query)?;
    let direction = match a.direction.as_deref() {
        None | Some("backward") => Direction::Backward,
        Some("forward") => Direction::Forward,
        Some(other) => {
            return Err(args::invalid(
                TOOL,
                format!(
                    "direction {:?}: expected backward or forward",
                    truncate(other, 40)
                ),
            ));
        }
    };
    let (start, end) = Window {
        since: a.since,
        start: a.start,
        end: a.end,
    }
    .resolve(TOOL, now, Duration::from_secs(3600))?;
    // Loki takes nanosecond timestamps, which i64 holds only from 1677 to 2262.
    for (field, time) in [("start", start), ("end", end)] {
        if time.timestamp_nanos_opt().is_none() {
            return Err(args::invalid(
                TOOL,
                format!(
                    "{field}: {} is outside the years 1677–2262 Loki can take",
                    rfc3339(time)
                ),
            ));
        }
    }
    Ok(LokiQuery {
        query,
        start,
        end,
        limit: limit(TOOL, a.limit)?,
        direction,
        step: None,
    })
}

pub(super) async fn loki(
    client: &LokiClient,
    limits: &OutputLimits,
    args: Value,
    now: DateTime<Utc>,
) -> Result<ToolOutput, SourceError> {
    let query = loki_request(args, now)?;
    let LokiQuery {
        start,
        end,
        limit,
        direction,
        ..
    } = query;
    let request = json!({"query": query.query, "start": rfc3339(start), "end": rfc3339(end), "limit": limit, "direction": direction.as_str()});
    let result = client.query_range(&query).await?;
    let mut out = match &result.data {
        LokiData::Streams(streams) => {
            streams_output(streams, limits, &query.query, limit, direction)
        }
        LokiData::Matrix(series) => {
            metrics::render(&QueryData::Matrix(series.clone()), limits, &query.query)
        }
        LokiData::Vector(samples) => {
            metrics::render(&QueryData::Vector(samples.clone()), limits, &query.query)
        }
        LokiData::Scalar(point) => {
            metrics::render(&QueryData::Scalar(point.clone()), limits, &query.query)
        }
    };
    metrics::annotate(&mut out, &result.warnings, request);
    Ok(out)
}

fn streams_output(
    streams: &[LogStream],
    limits: &OutputLimits,
    query: &str,
    limit: u32,
    direction: Direction,
) -> ToolOutput {
    // Loki applies the limit across streams in the requested direction; cutting to `max_lines`
    // in the same order leaves out the oldest lines (backward) or the newest (forward).
    let mut entries: Vec<(usize, &LogEntry)> = streams
        .iter()
        .enumerate()
        .flat_map(|(i, s)| s.values.iter().map(move |e| (i, e)))
        .collect();
    entries.sort_by_key(|(_, e)| e.timestamp_ns);
    if direction == Direction::Backward {
        entries.reverse();
    }
    let total = entries.len();
    entries.truncate(limits.max_lines);
    let shown = entries.len();
    // Regrouped by stream, streams in the order of their first kept line.
    let mut order: Vec<usize> = Vec::new();
    let mut grouped: BTreeMap<usize, Vec<Value>> = BTreeMap::new();
    for (i, entry) in entries {
        if !grouped.contains_key(&i) {
            order.push(i);
        }
        grouped.entry(i).or_default().push(
            json!({"time": rfc3339(entry.time()), "line": truncate(&entry.line, limits.max_chars)}),
        );
    }
    let rendered: Vec<Value> = order
        .into_iter()
        .map(|i| {
            json!({
                "labels": bounded_labels(&streams[i].stream, limits.max_chars),
                "lines": grouped.remove(&i).unwrap_or_default(),
            })
        })
        .collect();
    let omitted = total - shown;
    let limit_reached = total as u64 >= u64::from(limit);
    let summary = if total == 0 {
        format!("Loki found no lines for {} in the window.", quoted(query))
    } else {
        format!(
            "Loki returned {total} lines from {} streams for {}{}{}.",
            streams.len(),
            quoted(query),
            left_out(shown, omitted, "lines"),
            if limit_reached {
                format!(
                    "; the limit of {limit} was reached, so {} lines may exist",
                    if direction == Direction::Backward {
                        "older"
                    } else {
                        "newer"
                    }
                )
            } else {
                String::new()
            }
        )
    };
    ToolOutput::new(
        json!({"resultType": "streams", "total": total, "shown": shown, "omitted": omitted, "limit": limit, "limit_reached": limit_reached, "streams": rendered}),
        summary,
    )
}

#[cfg(test)]
pub(super) fn streams_output_for_tests(
    streams: &[LogStream],
    limits: &OutputLimits,
    query: &str,
    limit: u32,
) -> ToolOutput {
    streams_output(streams, limits, query, limit, Direction::Backward)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VictoriaLogsArgs {
    query: String,
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default)]
    since: Option<Value>,
    #[serde(default)]
    start: Option<Value>,
    #[serde(default)]
    end: Option<Value>,
}

/// A `victorialogs_query` call, validated: what is asked of VictoriaLogs.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct VictoriaLogsRequest {
    pub query: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub limit: u32,
}

pub(super) fn victorialogs_request(
    args: Value,
    now: DateTime<Utc>,
) -> Result<VictoriaLogsRequest, SourceError> {
    const TOOL: &str = "victorialogs_query";
    let a: VictoriaLogsArgs = args::parse(TOOL, args)?;
    let query = args::query(TOOL, "query", "LogsQL (use `*` for every entry)", a.query)?;
    let (start, end) = Window {
        since: a.since,
        start: a.start,
        end: a.end,
    }
    .resolve(TOOL, now, Duration::from_secs(3600))?;
    Ok(VictoriaLogsRequest {
        query,
        start,
        end,
        limit: limit(TOOL, a.limit)?,
    })
}

pub(super) async fn victorialogs(
    client: &VictoriaLogsClient,
    limits: &OutputLimits,
    args: Value,
    now: DateTime<Utc>,
) -> Result<ToolOutput, SourceError> {
    let VictoriaLogsRequest {
        query: text,
        start,
        end,
        limit,
    } = victorialogs_request(args, now)?;
    let query = LogsQlQuery {
        query: text,
        limit: Some(limit),
        start: Some(start),
        end: Some(end),
    };
    let mut records = client.query(&query).await?;
    // VictoriaLogs does not promise an order; newest first is what a reader wants. (Sorted by
    // the parsed time: RFC 3339 texts with different fraction lengths do not sort as text.)
    records.sort_by_key(|r| std::cmp::Reverse(r.parsed_time()));
    let total = records.len();
    let (shown, omitted) = super::cap(records, limits.max_lines);
    let rows: Vec<Value> = shown
        .iter()
        .map(|r| {
            json!({
                "_time": r.time,
                "_stream": r.stream,
                "_msg": truncate(&r.msg, limits.max_chars),
                "fields": bounded_labels(&r.fields, limits.max_chars),
            })
        })
        .collect();
    let limit_reached = total as u64 >= u64::from(limit);
    let summary = if total == 0 {
        format!(
            "VictoriaLogs found no entries for {} in the window.",
            quoted(&query.query)
        )
    } else {
        format!(
            "VictoriaLogs returned {total} entries for {}{}{}.",
            quoted(&query.query),
            left_out(shown.len(), omitted, "entries"),
            if limit_reached {
                format!("; the limit of {limit} was reached, so older entries may exist")
            } else {
                String::new()
            }
        )
    };
    Ok(ToolOutput::new(
        json!({
            "total": total, "shown": shown.len(), "omitted": omitted, "limit": limit, "limit_reached": limit_reached,
            "entries": rows,
            "request": {"query": query.query, "start": rfc3339(start), "end": rfc3339(end), "limit": limit},
        }),
        summary,
    ))
}

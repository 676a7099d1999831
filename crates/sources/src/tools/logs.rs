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
    match limit.unwrap_or(DEFAULT_LIMIT) {
        0 => Err(args::invalid(tool, "limit must be at least 1")),
        n if n > MAX_LIMIT => Err(args::invalid(
            tool,
            format!("limit {n}: at most {MAX_LIMIT}"),
        )),
        n => Ok(n),
    }
}

pub(super) async fn loki(
    client: &LokiClient,
    limits: &OutputLimits,
    args: Value,
    now: DateTime<Utc>,
) -> Result<ToolOutput, SourceError> {
    const TOOL: &str = "loki_query";
    let a: LokiArgs = args::parse(TOOL, args)?;
    let direction = match a.direction.as_deref() {
        None | Some("backward") => Direction::Backward,
        Some("forward") => Direction::Forward,
        Some(other) => {
            return Err(args::invalid(
                TOOL,
                format!("direction {other:?}: expected backward or forward"),
            ));
        }
    };
    let (start, end) = Window {
        since: a.since,
        start: a.start,
        end: a.end,
    }
    .resolve(TOOL, now, Duration::from_secs(3600))?;
    let limit = limit(TOOL, a.limit)?;
    let request = json!({"query": a.query, "start": rfc3339(start), "end": rfc3339(end), "limit": limit, "direction": direction.as_str()});
    let query = LokiQuery {
        query: a.query.clone(),
        start,
        end,
        limit,
        direction,
        step: None,
    };
    let result = client.query_range(&query).await?;
    let mut out = match &result.data {
        LokiData::Streams(streams) => streams_output(streams, limits, &a.query, limit, direction),
        LokiData::Matrix(series) => {
            metrics::render(&QueryData::Matrix(series.clone()), limits, &a.query)
        }
        LokiData::Vector(samples) => {
            metrics::render(&QueryData::Vector(samples.clone()), limits, &a.query)
        }
        LokiData::Scalar(point) => {
            metrics::render(&QueryData::Scalar(point.clone()), limits, &a.query)
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

pub(super) async fn victorialogs(
    client: &VictoriaLogsClient,
    limits: &OutputLimits,
    args: Value,
    now: DateTime<Utc>,
) -> Result<ToolOutput, SourceError> {
    const TOOL: &str = "victorialogs_query";
    let a: VictoriaLogsArgs = args::parse(TOOL, args)?;
    let (start, end) = Window {
        since: a.since,
        start: a.start,
        end: a.end,
    }
    .resolve(TOOL, now, Duration::from_secs(3600))?;
    let limit = limit(TOOL, a.limit)?;
    let query = LogsQlQuery {
        query: a.query.clone(),
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
            quoted(&a.query)
        )
    } else {
        format!(
            "VictoriaLogs returned {total} entries for {}{}{}.",
            quoted(&a.query),
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
            "request": {"query": a.query, "start": rfc3339(start), "end": rfc3339(end), "limit": limit},
        }),
        summary,
    ))
}

//! `prometheus_query` and `prometheus_query_range`, and the rendering of vector/matrix results
//! that Loki's metric queries share.

use super::args::{self, Window};
use super::{bounded_labels, cap, labels_text, left_out, quoted, rfc3339};
use crate::config::OutputLimits;
use crate::error::SourceError;
use crate::prometheus::{Point, PrometheusClient, QueryData, Sample, Series, check_points};
use chrono::{DateTime, Utc};
use nightwatch_core::tool::ToolOutput;
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QueryArgs {
    query: String,
    #[serde(default)]
    time: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RangeArgs {
    query: String,
    #[serde(default)]
    step: Option<Value>,
    #[serde(default)]
    since: Option<Value>,
    #[serde(default)]
    start: Option<Value>,
    #[serde(default)]
    end: Option<Value>,
}

/// A `prometheus_query` call, validated: what is sent to Prometheus.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct InstantQuery {
    pub query: String,
    pub time: DateTime<Utc>,
}

pub(super) fn instant_query(args: Value, now: DateTime<Utc>) -> Result<InstantQuery, SourceError> {
    const TOOL: &str = "prometheus_query";
    let a: QueryArgs = args::parse(TOOL, args)?;
    let time = match &a.time {
        Some(v) => args::time(TOOL, "time", v, now)?,
        None => now,
    };
    Ok(InstantQuery {
        query: args::query(TOOL, "query", "PromQL", a.query)?,
        time,
    })
}

pub(super) async fn query(
    client: &PrometheusClient,
    limits: &OutputLimits,
    args: Value,
    now: DateTime<Utc>,
) -> Result<ToolOutput, SourceError> {
    let request = instant_query(args, now)?;
    let result = client.query(&request.query, Some(request.time)).await?;
    let mut out = render(&result.data, limits, &request.query);
    annotate(
        &mut out,
        &result.warnings,
        json!({"query": request.query, "time": rfc3339(request.time)}),
    );
    Ok(out)
}

/// A `prometheus_query_range` call, validated: what is sent to Prometheus.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct RangeQuery {
    pub query: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub step: Duration,
}

pub(super) fn range_query(args: Value, now: DateTime<Utc>) -> Result<RangeQuery, SourceError> {
    const TOOL: &str = "prometheus_query_range";
    let a: RangeArgs = args::parse(TOOL, args)?;
    let query = args::query(TOOL, "query", "PromQL", a.query)?;
    let window = Window {
        since: a.since,
        start: a.start,
        end: a.end,
    };
    let (start, end) = window.resolve(TOOL, now, Duration::from_secs(3600))?;
    let step = match &a.step {
        Some(v) => args::duration(TOOL, "step", v)?,
        None => default_step(start, end),
    };
    // Refused here, with the field named, rather than by the client after the call began.
    check_points(start, end, step)
        .map_err(|problem| args::invalid(TOOL, format!("step: {problem}")))?;
    Ok(RangeQuery {
        query,
        start,
        end,
        step,
    })
}

pub(super) async fn query_range(
    client: &PrometheusClient,
    limits: &OutputLimits,
    args: Value,
    now: DateTime<Utc>,
) -> Result<ToolOutput, SourceError> {
    let RangeQuery {
        query,
        start,
        end,
        step,
    } = range_query(args, now)?;
    let result = client.query_range(&query, start, end, step).await?;
    let mut out = render(&result.data, limits, &query);
    annotate(
        &mut out,
        &result.warnings,
        json!({"query": query, "start": rfc3339(start), "end": rfc3339(end), "step_seconds": step.as_secs_f64()}),
    );
    Ok(out)
}

/// About 60 points over the window, at least one second apart.
fn default_step(start: DateTime<Utc>, end: DateTime<Utc>) -> Duration {
    let seconds = ((end - start).num_seconds() / 60).max(1);
    Duration::from_secs(seconds as u64)
}

/// Adds the request and Prometheus' warnings to the output's data, and warns in the summary.
pub(super) fn annotate(out: &mut ToolOutput, warnings: &[String], request: Value) {
    if let Value::Object(map) = &mut out.data {
        map.insert("request".into(), request);
        if !warnings.is_empty() {
            map.insert("warnings".into(), json!(warnings));
            out.summary
                .push_str(&format!(" Warnings: {}.", warnings.join("; ")));
        }
    }
}

pub(super) fn render(data: &QueryData, limits: &OutputLimits, query: &str) -> ToolOutput {
    match data {
        QueryData::Vector(samples) => vector(samples, limits, query),
        QueryData::Matrix(series) => matrix(series, limits, query),
        QueryData::Scalar(point) | QueryData::String(point) => ToolOutput::new(
            json!({"resultType": data.result_type(), "time": point.time(), "value": point.value()}),
            format!(
                "{} {} = {}",
                data.result_type(),
                quoted(query),
                point.value()
            ),
        ),
    }
}

pub(super) fn vector(samples: &[Sample], limits: &OutputLimits, query: &str) -> ToolOutput {
    let total = samples.len();
    let (shown, omitted) = cap(samples.iter().collect::<Vec<_>>(), limits.max_series);
    let series: Vec<Value> = shown
        .iter()
        .map(|s| {
            json!({
                "metric": bounded_labels(&s.metric, limits.max_chars),
                "value": s.value.as_ref().map(Point::value),
                "time": s.value.as_ref().map(Point::time),
                "histogram": s.histogram,
            })
        })
        .collect();
    let examples: Vec<String> = shown
        .iter()
        .take(3)
        .map(|s| {
            let value = s.value.as_ref().map(Point::value).unwrap_or("histogram");
            format!("{} {value}", labels_text(&s.metric))
        })
        .collect();
    let summary = if total == 0 {
        format!("{} returned no series.", quoted(query))
    } else {
        format!(
            "{} returned {total} series{}: {}{}.",
            quoted(query),
            left_out(shown.len(), omitted, "series"),
            examples.join("; "),
            if shown.len() > 3 { "; …" } else { "" }
        )
    };
    ToolOutput::new(
        json!({"resultType": "vector", "total": total, "shown": shown.len(), "omitted": omitted, "series": series}),
        summary,
    )
}

pub(super) fn matrix(all: &[Series], limits: &OutputLimits, query: &str) -> ToolOutput {
    let total = all.len();
    let (shown, omitted) = cap(all.iter().collect::<Vec<_>>(), limits.max_series);
    let mut thinned_any = false;
    let series: Vec<Value> = shown
        .iter()
        .map(|s| {
            let numbers: Vec<f64> = s
                .values
                .iter()
                .filter_map(Point::as_f64)
                .filter(|v| !v.is_nan())
                .collect();
            let min = numbers.iter().copied().reduce(f64::min);
            let max = numbers.iter().copied().reduce(f64::max);
            let points = thin(&s.values, limits.max_points);
            thinned_any |= points.len() < s.values.len();
            json!({
                "metric": bounded_labels(&s.metric, limits.max_chars),
                "points": s.values.len(),
                "first": s.values.first().map(|p| json!([p.time(), p.value()])),
                "last": s.values.last().map(|p| json!([p.time(), p.value()])),
                "min": min,
                "max": max,
                "values": points.iter().map(|p| json!([p.time(), p.value()])).collect::<Vec<_>>(),
                "values_thinned": points.len() < s.values.len(),
            })
        })
        .collect();
    let examples: Vec<String> = shown
        .iter()
        .take(3)
        .map(|s| {
            let last = s.values.last().map(Point::value).unwrap_or("-");
            format!("{} last {last}", labels_text(&s.metric))
        })
        .collect();
    let summary = if total == 0 {
        format!("{} returned no series in the window.", quoted(query))
    } else {
        format!(
            "{} returned {total} series over the window{}: {}{}.{}",
            quoted(query),
            left_out(shown.len(), omitted, "series"),
            examples.join("; "),
            if shown.len() > 3 { "; …" } else { "" },
            if thinned_any {
                format!(" Points thinned to {} per series.", limits.max_points)
            } else {
                String::new()
            }
        )
    };
    ToolOutput::new(
        json!({"resultType": "matrix", "total": total, "shown": shown.len(), "omitted": omitted, "series": series}),
        summary,
    )
}

/// At most `max` points spread evenly over the series, always keeping the first and the last.
pub(super) fn thin(points: &[Point], max: usize) -> Vec<&Point> {
    let n = points.len();
    if max == 0 {
        return Vec::new();
    }
    if n <= max {
        return points.iter().collect();
    }
    if max == 1 {
        return points.last().into_iter().collect();
    }
    (0..max).map(|i| &points[i * (n - 1) / (max - 1)]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(n: usize) -> Vec<Point> {
        (0..n).map(|i| Point(i as f64, i.to_string())).collect()
    }

    #[test]
    fn thinning_keeps_ends_and_spreads_evenly() {
        let cases: [(usize, usize, &[&str]); 5] = [
            (5, 10, &["0", "1", "2", "3", "4"]),
            (10, 4, &["0", "3", "6", "9"]),
            (3, 2, &["0", "2"]),
            (7, 1, &["6"]),
            (4, 0, &[]),
        ];
        for (n, max, expected) in cases {
            let all = points(n);
            let got: Vec<&str> = thin(&all, max).into_iter().map(Point::value).collect();
            assert_eq!(got, expected, "n={n} max={max}");
        }
    }
}

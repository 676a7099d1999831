//! `grafana_dashboards` and `grafana_annotations`.

use super::args::{self, Window};
use super::{cap, left_out, rfc3339};
use crate::config::OutputLimits;
use crate::error::SourceError;
use crate::grafana::{AnnotationQuery, GrafanaClient};
use crate::http::truncate;
use chrono::{DateTime, Utc};
use nightwatch_core::tool::ToolOutput;
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DashboardArgs {
    #[serde(default)]
    query: String,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    limit: Option<u32>,
}

/// Annotations fetched when the model gives no limit (the schema's documented default).
const DEFAULT_LIMIT: u32 = 100;
/// The most the tools' schemas allow.
const MAX_LIMIT: u32 = 1000;

/// A `grafana_dashboards` call, validated: the search sent to Grafana.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct DashboardSearch {
    pub query: String,
    pub tags: Vec<String>,
    pub limit: Option<u32>,
}

pub(super) fn dashboard_search(args: Value) -> Result<DashboardSearch, SourceError> {
    const TOOL: &str = "grafana_dashboards";
    let a: DashboardArgs = args::parse(TOOL, args)?;
    Ok(DashboardSearch {
        // Empty is allowed: it lists every dashboard.
        query: args::bounded_text(TOOL, "query", a.query, args::MAX_TEXT_BYTES)?,
        tags: args::text_list(TOOL, "tags", a.tags)?,
        // Absent stays absent: Grafana then applies its own default.
        limit: a
            .limit
            .map(|n| args::count(TOOL, "limit", Some(n), DEFAULT_LIMIT, (1, MAX_LIMIT)))
            .transpose()?,
    })
}

pub(super) async fn dashboards(
    client: &GrafanaClient,
    limits: &OutputLimits,
    args: Value,
) -> Result<ToolOutput, SourceError> {
    let a = dashboard_search(args)?;
    let hits = client.search_dashboards(&a.query, &a.tags, a.limit).await?;
    let total = hits.len();
    let (shown, omitted) = cap(hits, limits.max_items);
    let titles: Vec<&str> = shown.iter().take(5).map(|h| h.title.as_str()).collect();
    let rows: Vec<Value> = shown
        .iter()
        .map(|h| json!({"uid": h.uid, "title": h.title, "url": h.url, "tags": h.tags, "folder": h.folder_title}))
        .collect();
    let summary = if total == 0 {
        format!("No Grafana dashboard matches {:?}.", a.query)
    } else {
        format!(
            "{total} Grafana dashboards{}: {}.",
            left_out(shown.len(), omitted, "dashboards"),
            titles.join(", ")
        )
    };
    Ok(ToolOutput::new(
        json!({"total": total, "shown": shown.len(), "omitted": omitted, "dashboards": rows}),
        summary,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnnotationArgs {
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    dashboard_uid: Option<String>,
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default)]
    since: Option<Value>,
    #[serde(default)]
    start: Option<Value>,
    #[serde(default)]
    end: Option<Value>,
}

/// A `grafana_annotations` call, validated: what is asked of Grafana.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct AnnotationsRequest {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub tags: Vec<String>,
    pub limit: u32,
    pub dashboard_uid: Option<String>,
}

pub(super) fn annotations_request(
    args: Value,
    now: DateTime<Utc>,
) -> Result<AnnotationsRequest, SourceError> {
    const TOOL: &str = "grafana_annotations";
    let a: AnnotationArgs = args::parse(TOOL, args)?;
    let (from, to) = Window {
        since: a.since,
        start: a.start,
        end: a.end,
    }
    .resolve(TOOL, now, Duration::from_secs(6 * 3600))?;
    Ok(AnnotationsRequest {
        from,
        to,
        tags: args::text_list(TOOL, "tags", a.tags)?,
        limit: args::count(TOOL, "limit", a.limit, DEFAULT_LIMIT, (1, MAX_LIMIT))?,
        dashboard_uid: args::optional_text(TOOL, "dashboard_uid", a.dashboard_uid)?,
    })
}

pub(super) async fn annotations(
    client: &GrafanaClient,
    limits: &OutputLimits,
    args: Value,
    now: DateTime<Utc>,
) -> Result<ToolOutput, SourceError> {
    let AnnotationsRequest {
        from,
        to,
        tags,
        limit,
        dashboard_uid,
    } = annotations_request(args, now)?;
    let query = AnnotationQuery {
        from: Some(from),
        to: Some(to),
        tags,
        limit: Some(limit),
        dashboard_uid,
    };
    let mut found = client.annotations(&query).await?;
    found.sort_by_key(|n| std::cmp::Reverse(n.time));
    let total = found.len();
    let (shown, omitted) = cap(found, limits.max_items);
    let when = |ms: i64| DateTime::from_timestamp_millis(ms).map(rfc3339);
    let rows: Vec<Value> = shown
        .iter()
        .map(|n| {
            json!({
                "id": n.id,
                "time": when(n.time),
                "time_end": n.time_end.filter(|end| *end != n.time).and_then(when),
                "text": truncate(&n.text, limits.max_chars),
                "tags": n.tags,
                "dashboard_uid": n.dashboard_uid,
                "by": n.login,
            })
        })
        .collect();
    let latest: Vec<String> = shown
        .iter()
        .take(3)
        .map(|n| format!("{:?}", truncate(&n.text, 80)))
        .collect();
    let summary = if total == 0 {
        format!(
            "No Grafana annotations from {} to {}.",
            rfc3339(from),
            rfc3339(to)
        )
    } else {
        format!(
            "{total} Grafana annotations from {} to {}{}; latest: {}.",
            rfc3339(from),
            rfc3339(to),
            left_out(shown.len(), omitted, "annotations"),
            latest.join(", ")
        )
    };
    Ok(ToolOutput::new(
        json!({"total": total, "shown": shown.len(), "omitted": omitted, "annotations": rows, "request": {"from": rfc3339(from), "to": rfc3339(to)}}),
        summary,
    ))
}

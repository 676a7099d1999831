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

pub(super) async fn dashboards(
    client: &GrafanaClient,
    limits: &OutputLimits,
    args: Value,
) -> Result<ToolOutput, SourceError> {
    let a: DashboardArgs = args::parse("grafana_dashboards", args)?;
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

pub(super) async fn annotations(
    client: &GrafanaClient,
    limits: &OutputLimits,
    args: Value,
    now: DateTime<Utc>,
) -> Result<ToolOutput, SourceError> {
    const TOOL: &str = "grafana_annotations";
    let a: AnnotationArgs = args::parse(TOOL, args)?;
    let (from, to) = Window {
        since: a.since,
        start: a.start,
        end: a.end,
    }
    .resolve(TOOL, now, Duration::from_secs(6 * 3600))?;
    let query = AnnotationQuery {
        from: Some(from),
        to: Some(to),
        tags: a.tags,
        limit: Some(a.limit.unwrap_or(100)),
        dashboard_uid: a.dashboard_uid,
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

//! The tools' names, descriptions and JSON schemas, as an LLM provider's tool list wants them.
//! Descriptions say what the tool is for and what the answer looks like, since that is all the
//! model knows about it.

use crate::error::Service;
use serde_json::{Value, json};

#[derive(Debug, Clone, PartialEq)]
pub struct ToolDefinition {
    pub name: &'static str,
    pub description: &'static str,
    /// The source the tool reads; a tool is offered only when its source is configured.
    pub service: Service,
    /// JSON Schema (draft 2020-12 subset every provider accepts) of the arguments object.
    pub input_schema: Value,
}

fn window_properties(default_since: &str) -> Value {
    json!({
        "since": {"type": "string", "description": format!("How far back from `end`, e.g. 15m, 2h (default {default_since}). Not with `start`.")},
        "start": {"type": ["string", "number"], "description": "Start: RFC 3339, Unix seconds, or now-<duration>."},
        "end": {"type": ["string", "number"], "description": "End: RFC 3339, Unix seconds, now or now-<duration> (default now)."}
    })
}

fn object(required: &[&str], properties: Value, extra: Value) -> Value {
    let mut properties = properties;
    if let (Some(map), Value::Object(extra)) = (properties.as_object_mut(), extra) {
        map.extend(extra);
    }
    json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false
    })
}

fn matchers() -> Value {
    json!({"type": "array", "items": {"type": "string"},
           "description": "Label matchers, each like alertname=\"X\", namespace=~\"prod-.*\" or severity!=\"info\"; all must match."})
}

/// Every tool this crate provides.
pub fn definitions() -> Vec<ToolDefinition> {
    vec![
        ToolDefinition {
            name: "prometheus_query",
            description: "Evaluate a PromQL expression at one instant (Prometheus /api/v1/query). Returns the series (labels and value) or scalar. Use for current state: error ratios, restarts, resource use.",
            service: Service::Prometheus,
            input_schema: object(
                &["query"],
                json!({
                    "query": {"type": "string", "description": "PromQL, e.g. sum by (pod) (rate(container_cpu_usage_seconds_total{namespace=\"shop\"}[5m]))"},
                    "time": {"type": ["string", "number"], "description": "Evaluation time: RFC 3339, Unix seconds, now or now-<duration> (default now)."}
                }),
                json!({}),
            ),
        },
        ToolDefinition {
            name: "prometheus_query_range",
            description: "Evaluate a PromQL expression over a time window (Prometheus /api/v1/query_range). Returns per series: point count, first/last/min/max and evenly thinned points. Use to see when something changed.",
            service: Service::Prometheus,
            input_schema: object(
                &["query"],
                json!({
                    "query": {"type": "string", "description": "PromQL expression."},
                    "step": {"type": ["string", "number"], "description": "Resolution, e.g. 30s, 5m, or seconds (default: window/60)."}
                }),
                window_properties("1h"),
            ),
        },
        ToolDefinition {
            name: "prometheus_alerts",
            description: "Alerts Prometheus' rules currently have pending or firing (/api/v1/alerts), with labels, annotations and since when.",
            service: Service::Prometheus,
            input_schema: object(
                &[],
                json!({
                    "state": {"type": "string", "enum": ["pending", "firing"], "description": "Only alerts in this state."},
                    "alertname": {"type": "string", "description": "Only alerts of this name."}
                }),
                json!({}),
            ),
        },
        ToolDefinition {
            name: "prometheus_rules",
            description: "Prometheus' alerting and recording rules (/api/v1/rules): expression, for, health, last error and state. Use to learn what an alert means or why it did not fire.",
            service: Service::Prometheus,
            input_schema: object(
                &[],
                json!({
                    "type": {"type": "string", "enum": ["alerting", "recording"]},
                    "name": {"type": "string", "description": "Only rules whose name contains this text."}
                }),
                json!({}),
            ),
        },
        ToolDefinition {
            name: "alertmanager_alerts",
            description: "Alerts in Alertmanager (/api/v2/alerts) with state (active, suppressed, unprocessed), silencing and inhibiting IDs and receivers.",
            service: Service::Alertmanager,
            input_schema: object(
                &[],
                json!({
                    "filter": matchers(),
                    "active": {"type": "boolean", "description": "Include active alerts (default true)."},
                    "silenced": {"type": "boolean", "description": "Include silenced alerts (default true)."},
                    "inhibited": {"type": "boolean", "description": "Include inhibited alerts (default true)."},
                    "receiver": {"type": "string", "description": "Only alerts routed to receivers matching this regex."}
                }),
                json!({}),
            ),
        },
        ToolDefinition {
            name: "alertmanager_silences",
            description: "Silences in Alertmanager (/api/v2/silences): matchers, who created them, why, and until when. Read-only.",
            service: Service::Alertmanager,
            input_schema: object(
                &[],
                json!({
                    "filter": matchers(),
                    "include_expired": {"type": "boolean", "description": "Also list expired silences (default false)."}
                }),
                json!({}),
            ),
        },
        ToolDefinition {
            name: "loki_query",
            description: "Run a LogQL query over a time window (Loki /loki/api/v1/query_range). Log queries return lines grouped by stream, newest first; metric queries (rate, count_over_time) return series like prometheus_query_range.",
            service: Service::Loki,
            input_schema: object(
                &["query"],
                json!({
                    "query": {"type": "string", "description": "LogQL with a stream selector, e.g. {namespace=\"shop\", pod=~\"web-.*\"} |= \"error\""},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 5000, "description": "Lines to fetch (default 100)."},
                    "direction": {"type": "string", "enum": ["backward", "forward"], "description": "backward = newest first (default)."}
                }),
                window_properties("1h"),
            ),
        },
        ToolDefinition {
            name: "victorialogs_query",
            description: "Run a LogsQL query over a time window (VictoriaLogs /select/logsql/query). Returns the newest matching entries: _time, _stream, _msg and other fields.",
            service: Service::VictoriaLogs,
            input_schema: object(
                &["query"],
                json!({
                    "query": {"type": "string", "description": "LogsQL, e.g. _stream:{namespace=\"shop\"} error, or * for everything."},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 5000, "description": "Entries to fetch (default 100)."}
                }),
                window_properties("1h"),
            ),
        },
        ToolDefinition {
            name: "grafana_dashboards",
            description: "Search Grafana dashboards by title and tags (/api/search). Returns uid, title, URL, tags and folder: links for a human.",
            service: Service::Grafana,
            input_schema: object(
                &[],
                json!({
                    "query": {"type": "string", "description": "Text in the title (empty: all)."},
                    "tags": {"type": "array", "items": {"type": "string"}, "description": "Dashboards with all these tags."},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 1000}
                }),
                json!({}),
            ),
        },
        ToolDefinition {
            name: "grafana_annotations",
            description: "Grafana annotations in a time window (/api/annotations): deploys, maintenance and incidents people or pipelines marked. Use to find what changed before a problem.",
            service: Service::Grafana,
            input_schema: object(
                &[],
                json!({
                    "tags": {"type": "array", "items": {"type": "string"}, "description": "Annotations with all these tags."},
                    "dashboard_uid": {"type": "string"},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 1000, "description": "Default 100."}
                }),
                window_properties("6h"),
            ),
        },
    ]
}

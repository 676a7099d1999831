//! HTTP edges. The control server (plain HTTP): health, metrics, state, logs and the missing-
//! image switch. The kubelet server (HTTPS, the lab CA's certificate): the `/containerLogs` path
//! the API server proxies `kubectl logs` to.

use crate::kube_io::Shared;
use crate::logs::LogOptions;
use crate::metrics::{self, Snapshot};
use crate::node;
use crate::runtime::read_log;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use tracing::info;

pub fn control_router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_handler))
        .route("/state", get(state_handler))
        .route(
            "/containerLogs/{namespace}/{pod}/{container}",
            get(container_logs),
        )
        .route("/images/missing", post(mark_missing).delete(unmark_missing))
        .with_state(shared)
}

pub fn kubelet_router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route(
            "/containerLogs/{namespace}/{pod}/{container}",
            get(container_logs),
        )
        .with_state(shared)
}

async fn healthz(State(shared): State<Arc<Shared>>) -> Response {
    if shared.is_healthy() {
        (StatusCode::OK, "ok\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "nodes not registered and Ready yet\n",
        )
            .into_response()
    }
}

async fn metrics_handler(State(shared): State<Arc<Shared>>) -> Response {
    let snapshot = Snapshot {
        pods: shared
            .stores
            .pods
            .state()
            .iter()
            .filter_map(|p| metrics::pod_metrics(p))
            .collect(),
        nodes: shared
            .stores
            .nodes
            .state()
            .iter()
            .filter_map(|n| metrics::node_metrics(n))
            .collect(),
        workloads: shared
            .stores
            .deployments
            .state()
            .iter()
            .filter_map(|d| metrics::deployment_metrics(d))
            .chain(
                shared
                    .stores
                    .replica_sets
                    .state()
                    .iter()
                    .filter_map(|r| metrics::replicaset_metrics(r)),
            )
            .collect(),
        working_sets: shared.lock().working_sets(),
    };
    match metrics::render(&snapshot) {
        Ok(text) => ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], text).into_response(),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "encoding failed\n").into_response(),
    }
}

async fn state_handler(State(shared): State<Arc<Shared>>) -> Response {
    let nodes: Vec<_> = shared
        .settings
        .nodes
        .iter()
        .map(|name| {
            let object = shared.stores.node(name);
            let ready = object
                .as_ref()
                .and_then(|n| n.status.as_ref())
                .and_then(|s| s.conditions.as_ref())
                .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"))
                .map(|c| c.status.clone());
            json!({
                "name": name,
                "registered": object.is_some(),
                "heartbeat": if object.as_ref().is_some_and(|n| node::heartbeat_stopped(n)) {
                    "stopped"
                } else {
                    "running"
                },
                "ready": ready,
                "unschedulable": object.as_ref().and_then(|n| n.spec.as_ref()).and_then(|s| s.unschedulable).unwrap_or(false),
                "taints": object.as_ref().and_then(|n| n.spec.as_ref()).and_then(|s| s.taints.clone()).unwrap_or_default(),
            })
        })
        .collect();
    let mut body = shared.lock().describe();
    body["healthy"] = json!(shared.is_healthy());
    body["nodes"] = json!(nodes);
    Json(body).into_response()
}

/// The kubelet's query parameters for container logs.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogQuery {
    pub previous: Option<String>,
    pub tail_lines: Option<String>,
    pub timestamps: Option<String>,
    pub limit_bytes: Option<String>,
    pub since_time: Option<String>,
    pub since_seconds: Option<String>,
    /// Accepted; the simulator answers with what it has and closes (no streaming).
    pub follow: Option<String>,
}

fn flag(value: &Option<String>) -> bool {
    value
        .as_deref()
        .is_some_and(|v| matches!(v, "true" | "1" | "True" | ""))
}

impl LogQuery {
    pub fn options(&self, now: DateTime<Utc>) -> Result<LogOptions, String> {
        let number = |name: &str, v: &Option<String>| -> Result<Option<usize>, String> {
            v.as_deref()
                .map(|v| {
                    v.parse::<i64>()
                        .map(|n| usize::try_from(n.max(0)).unwrap_or(0))
                        .map_err(|_| format!("{name}: not a number: {v:?}"))
                })
                .transpose()
        };
        let since = match (&self.since_time, &self.since_seconds) {
            (Some(t), _) => Some(
                DateTime::parse_from_rfc3339(t)
                    .map_err(|e| format!("sinceTime: {e}"))?
                    .with_timezone(&Utc),
            ),
            (None, Some(_)) => number("sinceSeconds", &self.since_seconds)?
                .map(|s| now - chrono::TimeDelta::seconds(i64::try_from(s).unwrap_or(0))),
            (None, None) => None,
        };
        Ok(LogOptions {
            previous: flag(&self.previous),
            tail_lines: number("tailLines", &self.tail_lines)?,
            timestamps: flag(&self.timestamps),
            limit_bytes: number("limitBytes", &self.limit_bytes)?,
            since,
        })
    }
}

async fn container_logs(
    State(shared): State<Arc<Shared>>,
    Path((namespace, pod, container)): Path<(String, String, String)>,
    Query(query): Query<LogQuery>,
) -> Response {
    let options = match query.options(Utc::now()) {
        Ok(options) => options,
        Err(message) => return (StatusCode::BAD_REQUEST, message).into_response(),
    };
    let result = read_log(&shared.lock(), &namespace, &pod, &container, &options);
    match result {
        Ok(text) => ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response(),
        Err((code, message)) => (
            StatusCode::from_u16(code).unwrap_or(StatusCode::NOT_FOUND),
            message,
        )
            .into_response(),
    }
}

#[derive(Debug, Deserialize)]
struct ImageBody {
    image: String,
}

async fn mark_missing(State(shared): State<Arc<Shared>>, Json(body): Json<ImageBody>) -> Response {
    info!(image = %body.image, "image marked missing");
    let mut state = shared.lock();
    state.missing_images.insert(body.image);
    Json(json!({"missingImages": state.missing_images})).into_response()
}

async fn unmark_missing(
    State(shared): State<Arc<Shared>>,
    Json(body): Json<ImageBody>,
) -> Response {
    info!(image = %body.image, "image no longer missing");
    let mut state = shared.lock();
    state.missing_images.remove(&body.image);
    Json(json!({"missingImages": state.missing_images})).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_query_parsing() {
        let now = DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let q = LogQuery {
            previous: Some("true".into()),
            tail_lines: Some("5".into()),
            timestamps: Some("false".into()),
            since_seconds: Some("60".into()),
            ..Default::default()
        };
        let o = q.options(now).unwrap();
        assert!(o.previous);
        assert!(!o.timestamps);
        assert_eq!(o.tail_lines, Some(5));
        assert_eq!(o.since.unwrap().to_rfc3339(), "2026-03-01T11:59:00+00:00");
        let bad = LogQuery {
            tail_lines: Some("x".into()),
            ..Default::default()
        };
        assert!(bad.options(now).is_err());
        assert!(!LogQuery::default().options(now).unwrap().previous);
    }
}

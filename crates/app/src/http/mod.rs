//! The HTTP edge: webhook ingest, JSON API, UI, health and metrics. Thin: parsing, state
//! changes and storage live in the core and store crates.

mod actions;
mod api;
mod auth;
mod briefing;
mod error;
mod ingest;
mod live;
mod tuning;
mod ui;
mod ui_actions;
mod who;

use crate::metrics::Metrics;
pub use auth::{AuthConfig, BasicAuth, HmacAuth, SourceAuth};
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use nightwatch_core::Clock;
use nightwatch_store::Store;
use std::sync::Arc;
use tokio::sync::Notify;

pub use error::ApiError;
pub use ingest::IngestLimits;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<Store>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<Metrics>,
    pub auth: Arc<AuthConfig>,
    /// Wakes the queue workers after a delivery is stored.
    pub wake_workers: Arc<Notify>,
    /// Wakes the responder after an approval.
    pub wake_responder: Arc<Notify>,
    /// Writes analyses on request (regenerate).
    pub analyst: Arc<crate::analysis::Analyst>,
    /// Where tuning proposals find the rule files.
    pub tuning: Arc<crate::tuning::TuningConfig>,
    /// Creates approved silences in Alertmanager, when one is configured.
    pub silences: Option<Arc<nightwatch_sources::SilenceWriter>>,
    /// How far ahead of our clock a sender's `startsAt` may be before it is clamped.
    pub max_clock_skew: chrono::Duration,
    /// Size, time, content and concurrency limits of webhook deliveries.
    pub ingest: ingest::IngestLimits,
}

pub fn router(state: AppState) -> Router {
    // The webhooks read their bodies themselves, within `state.ingest`'s limits.
    let webhooks = Router::new()
        .route("/webhook/alertmanager", post(ingest::alertmanager))
        .route("/alertmanager", post(ingest::alertmanager))
        .route("/webhook/grafana", post(ingest::grafana))
        .route("/webhook/signoz", post(ingest::signoz))
        .layer(DefaultBodyLimit::disable());
    Router::new()
        .merge(webhooks)
        .route("/api/incidents", get(api::list_incidents))
        .route("/api/incidents/{id}", get(api::get_incident))
        .route("/api/incidents/{id}/ack", post(api::acknowledge))
        .route("/api/incidents/{id}/resolve", post(api::resolve))
        .route("/api/incidents/{id}/verdict", post(api::verdict))
        .route(
            "/api/incidents/{id}/regenerate-analysis",
            post(api::regenerate_analysis),
        )
        .route("/api/actions", get(actions::list_actions))
        .route("/api/actions/{id}", get(actions::get_action))
        .route("/api/actions/{id}/approve", post(actions::approve))
        .route("/api/actions/{id}/reject", post(actions::reject))
        .route("/", get(ui::incidents_page))
        .route("/incident/{id}", get(ui::incident_page))
        .route("/incident/{id}/{change}", post(ui::change_from_form))
        .route("/actions", get(ui_actions::actions_page))
        .route("/briefing", get(briefing::page))
        .route("/api/briefing", get(briefing::api))
        .route("/api/tuning", get(tuning::api))
        .route("/api/tuning/{alertname}/silence", post(tuning::silence))
        .route("/tuning", get(tuning::page))
        .route(
            "/tuning/{alertname}/silence",
            post(tuning::silence_from_form),
        )
        .route("/actions/{id}/{answer}", post(ui_actions::decide_from_form))
        .route("/api/stream", get(live::stream))
        .route("/live.js", get(live::script))
        .route("/who.js", get(who::script))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .layer(axum::middleware::map_response(error::json_errors))
        .with_state(state)
}

async fn healthz() -> &'static str {
    "ok\n"
}

/// Ready when the database answers and every migration is applied.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match state.store.ready().await {
        Ok(true) => (StatusCode::OK, "ready\n".to_owned()),
        Ok(false) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "database reachable, migrations not applied\n".to_owned(),
        ),
        Err(error) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("database unavailable: {error}\n"),
        ),
    }
}

async fn metrics(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let depth = state.store.queue_depth().await?;
    let counts = state.store.incident_counts().await?;
    state.metrics.set_store_gauges(depth, &counts);
    let body = state
        .metrics
        .encode()
        .map_err(|e| ApiError::internal(format!("encoding metrics: {e}")))?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    ))
}

//! The HTTP edge: webhook ingest, JSON API, UI, health and metrics. Thin: parsing, state
//! changes and storage live in the core and store crates.

mod actions;
mod api;
mod audit;
mod auth;
mod briefing;
mod error;
mod guard;
pub mod identity;
mod ingest;
mod live;
mod login;
pub mod routes;
mod tuning;
mod ui;
mod ui_actions;

use crate::metrics::Metrics;
pub use auth::{AuthConfig, BasicAuth, HmacAuth, SourceAuth};
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
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
    /// Who may do what on the API and the pages (`[access]`), and the limits' memory.
    pub access: Arc<crate::access::AccessControl>,
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

/// Every route with the access it asks for (see `routes.rs`); the guard and the tests read
/// this table.
pub fn routes() -> routes::Routes {
    use nightwatch_core::access::Access::{Public, Role as R, Webhook};
    use nightwatch_core::access::Role::{Admin, Approver, Responder, Viewer};
    // The webhooks read their bodies themselves, within `state.ingest`'s limits, and check
    // their own per-source credentials.
    let mut webhooks = routes::Routes::new()
        .post("/webhook/alertmanager", Webhook, ingest::alertmanager)
        .post("/alertmanager", Webhook, ingest::alertmanager)
        .post("/webhook/grafana", Webhook, ingest::grafana)
        .post("/webhook/signoz", Webhook, ingest::signoz);
    webhooks.router = webhooks.router.layer(DefaultBodyLimit::disable());
    routes::Routes::new()
        .merge(webhooks)
        .get("/api/incidents", R(Viewer), api::list_incidents)
        .get("/api/incidents/{id}", R(Viewer), api::get_incident)
        .post("/api/incidents/{id}/ack", R(Responder), api::acknowledge)
        .post("/api/incidents/{id}/resolve", R(Responder), api::resolve)
        .post("/api/incidents/{id}/verdict", R(Responder), api::verdict)
        .post(
            "/api/incidents/{id}/regenerate-analysis",
            R(Responder),
            api::regenerate_analysis,
        )
        .get("/api/actions", R(Viewer), actions::list_actions)
        .get("/api/actions/{id}", R(Viewer), actions::get_action)
        .post("/api/actions/{id}/approve", R(Approver), actions::approve)
        .post("/api/actions/{id}/reject", R(Approver), actions::reject)
        .get("/", R(Viewer), ui::incidents_page)
        .get("/incident/{id}", R(Viewer), ui::incident_page)
        .post(
            "/incident/{id}/{change}",
            R(Responder),
            ui::change_from_form,
        )
        .get("/actions", R(Viewer), ui_actions::actions_page)
        .post(
            "/actions/{id}/{answer}",
            R(Approver),
            ui_actions::decide_from_form,
        )
        .get("/briefing", R(Viewer), briefing::page)
        .get("/api/briefing", R(Viewer), briefing::api)
        .get("/api/tuning", R(Viewer), tuning::api)
        .post(
            "/api/tuning/{alertname}/silence",
            R(Approver),
            tuning::silence,
        )
        .get("/tuning", R(Viewer), tuning::page)
        .post(
            "/tuning/{alertname}/silence",
            R(Approver),
            tuning::silence_from_form,
        )
        .get("/api/stream", R(Viewer), live::stream)
        .get("/api/whoami", R(Viewer), login::whoami)
        .get("/audit", R(Admin), audit::page)
        .get("/api/audit", R(Admin), audit::api)
        .get("/api/tokens", R(Admin), audit::list_tokens)
        .post("/api/tokens", R(Admin), audit::create_token)
        .post("/api/tokens/{id}/revoke", R(Admin), audit::revoke_token)
        .get("/login", Public, login::page)
        .post("/login", Public, login::submit)
        .post("/logout", R(Viewer), login::logout)
        .get("/password", R(Viewer), login::password_page)
        .post("/password", R(Viewer), login::change_password)
        .get("/live.js", Public, live::script)
        .get("/style.css", Public, style)
        .get("/healthz", Public, healthz)
        .get("/readyz", Public, readyz)
        .get("/metrics", R(Viewer), metrics)
}

pub fn router(state: AppState) -> Router {
    let routes = routes();
    let guard_state = guard::GuardState {
        app: state.clone(),
        table: Arc::new(routes.lookup()),
    };
    routes
        .router
        .layer(axum::middleware::from_fn_with_state(
            guard_state,
            guard::guard,
        ))
        .layer(axum::middleware::map_response(error::json_errors))
        .layer(axum::middleware::map_response(guard::secure_headers))
        .with_state(state)
}

/// The stylesheet: a file of its own, since the pages' policy allows no inline style.
async fn style() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        include_str!("../../static/style.css"),
    )
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

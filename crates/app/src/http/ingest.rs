//! Webhook ingest: authenticate, parse, store durably, then acknowledge.

use super::{ApiError, AppState, auth};
use crate::metrics::{AlertLabels, SourceLabels};
use axum::Json;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{StatusCode, header};
use http_body_util::BodyExt;
use nightwatch_core::model::Source;
use nightwatch_core::parse::limits::{Limits, OverLimit};
use nightwatch_store::{IngestReceipt, NewDelivery};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::time::Instant;

pub async fn alertmanager(
    state: State<AppState>,
    peer: ConnectInfo<SocketAddr>,
    request: Request,
) -> Result<Json<IngestReceipt>, ApiError> {
    ingest(state, Source::Alertmanager, peer, request).await
}

pub async fn grafana(
    state: State<AppState>,
    peer: ConnectInfo<SocketAddr>,
    request: Request,
) -> Result<Json<IngestReceipt>, ApiError> {
    ingest(state, Source::Grafana, peer, request).await
}

pub async fn signoz(
    state: State<AppState>,
    peer: ConnectInfo<SocketAddr>,
    request: Request,
) -> Result<Json<IngestReceipt>, ApiError> {
    ingest(state, Source::Signoz, peer, request).await
}

async fn ingest(
    State(state): State<AppState>,
    source: Source,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Result<Json<IngestReceipt>, ApiError> {
    let started = Instant::now();
    let result = receive(&state, source, peer, request).await;
    match &result {
        Ok(_) => {
            state
                .metrics
                .ingest_seconds
                .get_or_create(&SourceLabels {
                    source: source.as_str().to_owned(),
                })
                .observe(started.elapsed().as_secs_f64());
        }
        Err(error) => {
            let reason = match error.status {
                _ if error.body.get("limit").is_some() => "over_limit",
                _ if error.body.get("busy").is_some() => "busy",
                StatusCode::UNAUTHORIZED => "unauthorized",
                StatusCode::REQUEST_TIMEOUT => "body_timeout",
                StatusCode::PAYLOAD_TOO_LARGE => "too_large",
                StatusCode::BAD_REQUEST => "malformed_json",
                StatusCode::UNPROCESSABLE_ENTITY => "invalid_shape",
                StatusCode::SERVICE_UNAVAILABLE => "storage_unavailable",
                _ => "other",
            };
            state.metrics.reject(source.as_str(), reason);
        }
    }
    result.map(Json)
}

/// Takes a slot, checks the credentials the headers carry, reads the body within its size and
/// time limits, and stores the delivery. Each refusal comes before the work it spares: a busy
/// server or a refused sender costs no body read.
async fn receive(
    state: &AppState,
    source: Source,
    peer: SocketAddr,
    request: Request,
) -> Result<IngestReceipt, ApiError> {
    let limits = &state.ingest;
    // 503, not 429: Alertmanager's webhook notifier retries server errors.
    let _slot = limits
        .slots
        .clone()
        .try_acquire_owned()
        .map_err(|_| ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            body: serde_json::json!({
                "error": format!(
                    "{} deliveries are being received already (ingest.max_concurrent); retry shortly",
                    limits.max_concurrent
                ),
                "busy": true,
            }),
            retry_after: None,
        })?;
    let (parts, body) = request.into_parts();
    let headers = &parts.headers;
    let unauthorized = |auth::Unauthorized(why)| ApiError::new(StatusCode::UNAUTHORIZED, why);
    let checked = state
        .auth
        .check_headers(source, headers, state.clock.now().timestamp())
        .map_err(unauthorized)?;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limits.max_body_bytes) {
        return Err(too_large(limits.max_body_bytes));
    }
    let read = http_body_util::Limited::new(body, limits.max_body_bytes);
    let body = match tokio::time::timeout(limits.body_timeout, read.collect()).await {
        Err(_) => {
            return Err(ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the request body did not arrive within {}s (body_timeout)",
                    limits.body_timeout.as_secs_f64()
                ),
            ));
        }
        Ok(Err(error)) if error.is::<http_body_util::LengthLimitError>() => {
            return Err(too_large(limits.max_body_bytes));
        }
        Ok(Err(error)) => {
            return Err(ApiError::bad_request(format!(
                "could not read the request body: {error}"
            )));
        }
        Ok(Ok(collected)) => collected.to_bytes(),
    };
    let received_at = state.clock.now();
    let subject = match checked {
        auth::HeaderCheck::Decided(subject) => subject,
        auth::HeaderCheck::NeedsBody => state
            .auth
            .check(source, headers, &body, received_at.timestamp())
            .map_err(unauthorized)?,
    };
    limits.content.check_body(&body).map_err(over_limit)?;
    let mut delivery = nightwatch_core::parse::parse(source, &body, received_at)?;
    limits.content.check(&delivery).map_err(over_limit)?;
    let clamped = nightwatch_core::parse::skew::clamp_future_starts(
        &mut delivery,
        received_at,
        state.max_clock_skew,
    );
    if clamped > 0 {
        tracing::warn!(
            source = source.as_str(),
            clamped,
            "startsAt ahead of our clock beyond max_clock_skew: taken as the receive time"
        );
    }
    let mut by_status = [0u64; 2];
    for alert in &delivery.alerts {
        by_status[usize::from(alert.status == nightwatch_core::AlertStatus::Resolved)] += 1;
    }
    let receipt = state
        .store
        .ingest(NewDelivery {
            source,
            received_at,
            auth_subject: subject,
            remote_addr: Some(peer.to_string()),
            content_type: headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            body: body.to_vec(),
            delivery,
        })
        .await?;
    for (status, count) in ["firing", "resolved"].into_iter().zip(by_status) {
        if count > 0 {
            state
                .metrics
                .alerts_received
                .get_or_create(&AlertLabels {
                    source: source.as_str().to_owned(),
                    status: status.to_owned(),
                })
                .inc_by(count);
        }
    }
    state.wake_workers.notify_one();
    Ok(receipt)
}

fn too_large(max: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("request body is larger than the configured limit of {max} bytes (max_body_bytes)"),
    )
}

fn over_limit(over: OverLimit) -> ApiError {
    ApiError {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        body: serde_json::json!({
            "error": over.to_string(),
            "field": over.path,
            "limit": over.limit,
        }),
        retry_after: None,
    }
}

/// How much one delivery, and the deliveries at once, may take.
#[derive(Debug, Clone)]
pub struct IngestLimits {
    pub max_body_bytes: usize,
    /// Deliveries received at once; more get 503 (and are retried).
    pub max_concurrent: usize,
    pub slots: Arc<tokio::sync::Semaphore>,
    /// How long a body may take to arrive once its headers have.
    pub body_timeout: std::time::Duration,
    /// Alerts, labels and sizes within one delivery.
    pub content: Limits,
}

impl IngestLimits {
    pub fn new(
        max_body_bytes: usize,
        max_concurrent: usize,
        body_timeout: std::time::Duration,
        content: Limits,
    ) -> Self {
        Self {
            max_body_bytes,
            max_concurrent,
            slots: Arc::new(tokio::sync::Semaphore::new(max_concurrent.max(1))),
            body_timeout,
            content,
        }
    }
}

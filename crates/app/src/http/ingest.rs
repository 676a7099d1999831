//! Webhook ingest: authenticate, parse, store durably, then acknowledge.

use super::{ApiError, AppState, auth};
use crate::metrics::{AlertLabels, SourceLabels};
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use nightwatch_core::model::Source;
use nightwatch_store::{IngestReceipt, NewDelivery};
use std::net::SocketAddr;
use tokio::time::Instant;

pub async fn alertmanager(
    state: State<AppState>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<IngestReceipt>, ApiError> {
    ingest(state, Source::Alertmanager, peer, headers, body).await
}

pub async fn grafana(
    state: State<AppState>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<IngestReceipt>, ApiError> {
    ingest(state, Source::Grafana, peer, headers, body).await
}

pub async fn signoz(
    state: State<AppState>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<IngestReceipt>, ApiError> {
    ingest(state, Source::Signoz, peer, headers, body).await
}

async fn ingest(
    State(state): State<AppState>,
    source: Source,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<IngestReceipt>, ApiError> {
    let started = Instant::now();
    let result = store_delivery(&state, source, peer, &headers, body).await;
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
                StatusCode::UNAUTHORIZED => "unauthorized",
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

async fn store_delivery(
    state: &AppState,
    source: Source,
    peer: SocketAddr,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<IngestReceipt, ApiError> {
    let body = body.map_err(|rejection| {
        let status = rejection.status();
        let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "request body is larger than the configured limit (max_body_bytes)".to_owned()
        } else {
            format!("could not read the request body: {rejection}")
        };
        ApiError::new(status, message)
    })?;
    let received_at = state.clock.now();
    let subject = state
        .auth
        .check(source, headers, &body, received_at.timestamp())
        .map_err(|auth::Unauthorized(why)| ApiError::new(StatusCode::UNAUTHORIZED, why))?;
    let mut delivery = nightwatch_core::parse::parse(source, &body, received_at)?;
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

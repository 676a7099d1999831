//! The signed generic webhook against a small receiver: signatures that verify (and fail with
//! the wrong secret), retries on 5xx and 429 with the same delivery id, 4xx not retried.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use nightwatch_core::ManualClock;
use nightwatch_notify::webhook::{
    DELIVERY_HEADER, SIGNATURE_HEADER, SignatureError, TIMESTAMP_HEADER, WebhookConfig,
    timestamp_fresh,
};
use nightwatch_notify::{RetrySettings, WebhookClient, WebhookError, verify_signature};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::ms;
use tokio::time::Instant;

#[derive(Default)]
struct Receiver {
    /// (status, Retry-After) answers still to give; 200 after them.
    script: VecDeque<(u16, Option<&'static str>)>,
    received: Vec<(HeaderMap, Bytes)>,
}

async fn receive(
    State(state): State<Arc<Mutex<Receiver>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut s = state.lock().unwrap();
    s.received.push((headers, body));
    let (status, retry_after) = s.script.pop_front().unwrap_or((200, None));
    let mut response = (StatusCode::from_u16(status).unwrap(), "answer").into_response();
    if let Some(v) = retry_after {
        response
            .headers_mut()
            .insert("retry-after", v.parse().unwrap());
    }
    response
}

async fn receiver(script: Vec<(u16, Option<&'static str>)>) -> (String, Arc<Mutex<Receiver>>) {
    let state = Arc::new(Mutex::new(Receiver {
        script: script.into(),
        received: Vec::new(),
    }));
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hook"), state)
}

/// The signer's wall clock: 2023-11-14T22:13:20Z.
const SIGNED_AT: i64 = 1_700_000_000;

fn client(url: String) -> WebhookClient {
    let config = WebhookConfig {
        retry: RetrySettings {
            max_attempts: 4,
            initial_backoff_ms: 100,
            ..RetrySettings::default()
        },
        ..WebhookConfig::new(url, "s3cret")
    };
    let clock = ManualClock::new(chrono::DateTime::from_timestamp(SIGNED_AT, 0).unwrap());
    WebhookClient::new(config, Arc::new(clock)).unwrap()
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers.get(name).unwrap().to_str().unwrap()
}

#[tokio::test(start_paused = true)]
async fn delivery_is_signed_and_verifiable() {
    let (url, state) = receiver(Vec::new()).await;
    let body = json!({"event": "incident.opened", "incident": {"id": 42, "severity": "critical"}});
    let delivery = client(url).post(&body).await.unwrap();

    let s = state.lock().unwrap();
    assert_eq!(s.received.len(), 1);
    let (headers, raw) = &s.received[0];
    assert_eq!(serde_json::from_slice::<Value>(raw).unwrap(), body);
    assert_eq!(header(headers, "content-type"), "application/json");
    assert_eq!(header(headers, DELIVERY_HEADER), delivery);
    let timestamp = header(headers, TIMESTAMP_HEADER);
    let signature = header(headers, SIGNATURE_HEADER);
    assert!(signature.starts_with("sha256="));
    assert_eq!(
        verify_signature(b"s3cret", timestamp, raw, signature),
        Ok(())
    );
    assert_eq!(
        verify_signature(b"not-the-secret", timestamp, raw, signature),
        Err(SignatureError::Mismatch)
    );
    let mut tampered = raw.to_vec();
    tampered.extend_from_slice(b" ");
    assert_eq!(
        verify_signature(b"s3cret", timestamp, &tampered, signature),
        Err(SignatureError::Mismatch)
    );
    // Signed at the injected clock's time.
    assert_eq!(timestamp, SIGNED_AT.to_string());
    assert!(timestamp_fresh(
        timestamp,
        SIGNED_AT + 60,
        Duration::from_secs(300)
    ));
}

#[tokio::test(start_paused = true)]
async fn server_errors_and_rate_limits_are_retried_with_one_delivery_id() {
    let (url, state) = receiver(vec![(503, None), (429, Some("2")), (500, None)]).await;
    let started = Instant::now();
    let delivery = client(url).post(&json!({"n": 1})).await.unwrap();

    // Back-off 100 ms, then the receiver's 2 s, then back-off 400 ms (third retry).
    assert_eq!(started.elapsed(), ms(&[100, 2000, 400]));
    let s = state.lock().unwrap();
    assert_eq!(s.received.len(), 4);
    for (headers, raw) in &s.received {
        assert_eq!(header(headers, DELIVERY_HEADER), delivery);
        assert_eq!(
            verify_signature(
                b"s3cret",
                header(headers, TIMESTAMP_HEADER),
                raw,
                header(headers, SIGNATURE_HEADER)
            ),
            Ok(())
        );
    }
}

#[tokio::test(start_paused = true)]
async fn client_errors_are_not_retried() {
    let (url, state) = receiver(vec![(400, None)]).await;
    let started = Instant::now();
    let err = client(url).post(&json!({})).await.unwrap_err();
    assert!(
        matches!(&err, WebhookError::Http { status: 400, attempts: 1, body, .. } if body == "answer"),
        "{err:?}"
    );
    assert_eq!(state.lock().unwrap().received.len(), 1);
    assert_eq!(started.elapsed(), Duration::ZERO, "nothing waited");
}

#[tokio::test(start_paused = true)]
async fn retries_run_out() {
    let (url, state) = receiver(vec![(502, None); 10]).await;
    let started = Instant::now();
    let err = client(url).post(&json!({})).await.unwrap_err();
    assert!(
        matches!(
            err,
            WebhookError::Http {
                status: 502,
                attempts: 4,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(state.lock().unwrap().received.len(), 4);
    assert_eq!(started.elapsed(), ms(&[100, 200, 400]));
}

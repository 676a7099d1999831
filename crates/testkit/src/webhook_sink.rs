//! A receiver for nightwatch's outgoing webhook: a real HTTP server on a free loopback port
//! that keeps each request's headers and body, for tests to read what was announced.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::routing::post;
use std::sync::{Arc, Mutex};

/// Every request the sink got, in order.
pub type Received = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

/// Starts the sink on `runtime`; returns its URL (`…/hook`) and what it receives.
pub fn start_webhook_sink(runtime: &tokio::runtime::Runtime) -> (String, Received) {
    let received: Received = Arc::default();
    let sink = received.clone();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    runtime.spawn(async move {
        let app = axum::Router::new().route(
            "/hook",
            post(move |headers: HeaderMap, body: Bytes| {
                let sink = sink.clone();
                async move {
                    sink.lock().unwrap().push((headers, body));
                    "ok"
                }
            }),
        );
        axum::serve(listener, app).await.unwrap();
    });
    (url, received)
}

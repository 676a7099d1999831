//! The application driven in-process, as a library: a store on each backend, a manual clock, no
//! cluster and no model. A delivery goes through the HTTP router (ingest), the queue is worked,
//! the responder routes and runs the runbook, the analyst writes the analysis, and the API reads
//! it back — every timestamp from the injected clock. No process, no port, no sleep. Stored
//! `notification_sent` and `analysis` rows read back through their typed payloads.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::{Body, to_bytes};
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use chrono::{DateTime, Duration, Utc};
use nightwatch_app::analysis::Analyst;
use nightwatch_app::metrics::Metrics;
use nightwatch_app::respond::{RespondSettings, Responder};
use nightwatch_app::slack::told_channels;
use nightwatch_core::analysis::AnalysisSource;
use nightwatch_core::event::payload::Payload;
use nightwatch_core::event::{EventKind, EventPayload};
use nightwatch_core::policy::PolicyConfig;
use nightwatch_core::{Clock, ManualClock};
use nightwatch_store::Store;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use tower::ServiceExt;

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

async fn call(app: &axum::Router, method: &str, uri: &str, body: Value) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .header("host", "127.0.0.1:8080")
        // What axum's server adds for every connection: the peer's address.
        .extension(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))))
        .body(Body::from(body.to_string()))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = to_bytes(response.into_body(), 1 << 24).await.unwrap();
    let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, value)
}

/// The application's HTTP surface with authentication off (these tests are about the flow).
fn app(
    store: Arc<Store>,
    clock: Arc<ManualClock>,
    analyst: Arc<Analyst>,
    max_body_bytes: usize,
) -> axum::Router {
    common::app(store, clock, analyst, max_body_bytes, common::auth_off())
}

use common::store_and_analyst;

#[tokio::test]
async fn an_alert_becomes_an_analysed_incident_in_process() {
    for (backend, url, _guard) in nightwatch_testkit::both_backends("inprocess").await {
        let (store, analyst) = store_and_analyst(&url).await;
        let clock = Arc::new(ManualClock::new(at("2026-11-25T10:05:00Z")));
        let library = analyst.library.clone();
        let app = app(store.clone(), clock.clone(), analyst.clone(), 1 << 20);

        let labels = json!({"alertname": "KubePodCrashLooping", "namespace": "shop", "pod": "web-1", "severity": "warning"});
        let body = nightwatch_testkit::webhook_body(
            labels,
            json!({"summary": "web-1 restarts"}),
            at("2026-11-25T10:00:00Z"),
            None,
        );
        let (status, receipt) = call(&app, "POST", "/webhook/alertmanager", body).await;
        assert_eq!(status, StatusCode::OK, "{backend}: {receipt}");
        assert_eq!(receipt["alerts"], 1, "{backend}");

        // What a worker does, once: the stored alert opens an incident.
        assert_eq!(
            store.process_queue(clock.now()).await.unwrap(),
            1,
            "{backend}"
        );
        let responder = Responder {
            store: store.clone(),
            clock: clock.clone(),
            library,
            policy: Arc::new(PolicyConfig::default()),
            cluster: None,
            settings: RespondSettings::default(),
            metrics: Arc::new(Metrics::new()),
            analyst,
            llm: None,
            sources: None,
            recorded_tools: None,
            evidence: None,
            decision_turn: tokio::sync::Mutex::new(()),
        };
        assert_eq!(responder.run_pending().await.unwrap(), 1, "{backend}");

        let (status, page) = call(&app, "GET", "/api/incidents", Value::Null).await;
        assert_eq!(status, StatusCode::OK, "{backend}");
        let id = page["incidents"][0]["id"].as_i64().unwrap();
        let (_, detail) = call(&app, "GET", &format!("/api/incidents/{id}"), Value::Null).await;
        assert_eq!(
            detail["incident"]["runbook"], "RB_CRASHLOOP",
            "{backend}: {detail}"
        );
        let kinds: Vec<&str> = detail["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap())
            .collect();
        for kind in ["triggered", "routed", "final", "analysis"] {
            assert!(kinds.contains(&kind), "{backend}: {kind} in {kinds:?}");
        }
        assert_eq!(detail["analysis"]["source"], "template", "{backend}");
        assert_eq!(
            detail["analysis"]["at"],
            json!(at("2026-11-25T10:05:00Z")),
            "{backend}: the analysis is stamped by the injected clock"
        );

        // An hour later by the manual clock: a regenerated analysis says so.
        clock.advance(Duration::hours(1));
        let (status, fresh) = call(
            &app,
            "POST",
            &format!("/api/incidents/{id}/regenerate-analysis"),
            Value::Null,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{backend}: {fresh}");
        assert_eq!(fresh["at"], json!(at("2026-11-25T11:05:00Z")), "{backend}");
    }
}

/// What the timeline says was told keeps the notifier and the broadcaster from telling it again:
/// `notification_sent` rows as each writer stored them (Slack's announcement and reminders name
/// no event) are read back through their typed payload on each backend. The analysis the
/// responder stored reads back as its typed payload too, and writes back the same text.
#[tokio::test]
async fn stored_notifications_and_analyses_read_back_typed() {
    for (backend, url, _guard) in nightwatch_testkit::both_backends("told").await {
        let (store, analyst) = store_and_analyst(&url).await;
        let clock = Arc::new(ManualClock::new(at("2026-11-25T10:05:00Z")));
        let app = app(store.clone(), clock.clone(), analyst.clone(), 1 << 20);
        let labels = json!({"alertname": "KubePodCrashLooping", "namespace": "shop", "pod": "web-1", "severity": "critical"});
        let body =
            nightwatch_testkit::webhook_body(labels, json!({}), at("2026-11-25T10:00:00Z"), None);
        assert_eq!(
            call(&app, "POST", "/webhook/alertmanager", body).await.0,
            StatusCode::OK
        );
        store.process_queue(clock.now()).await.unwrap();
        let (_, page) = call(&app, "GET", "/api/incidents", Value::Null).await;
        let id = page["incidents"][0]["id"].as_i64().unwrap();
        let triggered = store
            .incident_events_of(id, EventKind::Triggered)
            .await
            .unwrap()
            .remove(0);
        let other = triggered.id + 1000;
        let sent = [
            json!({"channel": "slack", "kind": "announce", "slack_channel": "C1", "ts": "1.2"}),
            json!({"channel": "slack", "kind": "reminder", "nag": 1, "level": 0, "target": null}),
            json!({"channel": "discord", "kind": "announce", "about_event": triggered.id}),
            json!({"channel": "webhook", "kind": "announce", "about_event": other, "delivery": "a-0"}),
            json!({"channel": "slack", "kind": "escalated", "about_event": triggered.id, "action_id": null}),
        ];
        for payload in sent {
            store
                .append_incident_event(
                    id,
                    EventKind::NotificationSent,
                    "nightwatch",
                    payload,
                    clock.now(),
                )
                .await
                .unwrap();
        }
        assert_eq!(
            told_channels(&store, &triggered).await.unwrap(),
            ["discord", "slack"],
            "{backend}"
        );

        let event = analyst.write(id, clock.now()).await.unwrap().unwrap();
        let stored = store.latest_analysis(id).await.unwrap().unwrap();
        assert_eq!(stored.id, event.id, "{backend}");
        let EventPayload::Analysis(analysis) = EventPayload::parse(stored.kind, &stored.payload)
        else {
            panic!("{backend}: the analysis reads as one: {}", stored.payload);
        };
        assert_eq!(
            analysis.to_json().to_string(),
            stored.payload.to_string(),
            "{backend}"
        );
        let report = analysis.analysis().expect("a known source");
        assert_eq!(report.source, AnalysisSource::Template, "{backend}");
        assert_eq!(analysis.markdown, report.to_markdown(), "{backend}");
        assert!(
            analysis.model.is_none() && analysis.fallback_reason.is_none(),
            "{backend}"
        );
    }
}

/// A sender's clock in year 9999 must not blind a fingerprint: the firing-then-resolved alert
/// that claims to start then is taken as starting when it arrived, so the next genuine
/// occurrence opens an incident instead of being filed as stale forever.
#[tokio::test]
async fn a_start_time_from_the_far_future_does_not_shadow_later_alerts() {
    let (url, _guard) = nightwatch_testkit::fresh_sqlite_url();
    let (store, analyst) = store_and_analyst(&url).await;
    let clock = Arc::new(ManualClock::new(at("2026-11-25T10:05:00Z")));
    let app = app(store.clone(), clock.clone(), analyst, 1 << 20);
    let labels = json!({"alertname": "NodeDown", "node": "n1", "severity": "critical"});
    let far = at("9999-01-01T00:00:00Z");
    let post = |body: Value| call(&app, "POST", "/webhook/alertmanager", body);
    let sent = [
        nightwatch_testkit::webhook_body(labels.clone(), json!({}), far, None),
        nightwatch_testkit::webhook_body(labels.clone(), json!({}), far, Some(far)),
    ];
    for body in sent {
        assert_eq!(post(body).await.0, StatusCode::OK);
        store.process_queue(clock.now()).await.unwrap();
        clock.advance(Duration::minutes(1));
    }
    clock.advance(Duration::minutes(15));
    let genuine =
        nightwatch_testkit::webhook_body(labels, json!({}), at("2026-11-25T10:15:00Z"), None);
    assert_eq!(post(genuine).await.0, StatusCode::OK);
    store.process_queue(clock.now()).await.unwrap();

    let (_, page) = call(&app, "GET", "/api/incidents?since=3650d", Value::Null).await;
    let states: Vec<&str> = page["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["triggered", "resolved"], "newest first: {page}");
    let first = page["incidents"][1]["id"].as_i64().unwrap();
    let (_, detail) = call(&app, "GET", &format!("/api/incidents/{first}"), Value::Null).await;
    let alert = &detail["alerts"][0];
    assert_eq!(
        alert["extra"]["startsAt_as_sent"], "9999-01-01T00:00:00+00:00",
        "{alert}"
    );
}

/// Every error answers as JSON `{"error": …}` with its status, axum's own rejections included.
#[tokio::test]
async fn every_error_answers_in_one_json_shape() {
    let (url, _guard) = nightwatch_testkit::fresh_sqlite_url();
    let (store, analyst) = store_and_analyst(&url).await;
    let clock = Arc::new(ManualClock::new(at("2026-11-25T10:05:00Z")));
    let app = app(store.clone(), clock.clone(), analyst, 1024);
    let cases = [
        ("GET", "/api/incidents/not-a-number", Value::Null, 400),
        (
            "GET",
            "/api/incidents?since=100000000000d",
            Value::Null,
            400,
        ),
        ("GET", "/api/incidents/99", Value::Null, 404),
        ("GET", "/no/such/page", Value::Null, 404),
        ("DELETE", "/api/incidents", Value::Null, 405),
        (
            "POST",
            "/webhook/alertmanager",
            json!({"alerts": "x".repeat(4096)}),
            413,
        ),
        ("POST", "/webhook/alertmanager", json!({"alerts": 5}), 422),
    ];
    for (method, uri, body, want) in cases {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/json")
            .header("host", "127.0.0.1:8080")
            .extension(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))))
            .body(Body::from(if body.is_null() {
                String::new()
            } else {
                body.to_string()
            }))
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let kind = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        let bytes = to_bytes(response.into_body(), 1 << 20).await.unwrap();
        let answer: Value = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            panic!(
                "{method} {uri}: not JSON: {}",
                String::from_utf8_lossy(&bytes)
            )
        });
        assert_eq!(status, want, "{method} {uri}: {answer}");
        assert!(
            kind.starts_with("application/json"),
            "{method} {uri}: {kind}"
        );
        assert!(
            answer["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{method} {uri}: {answer}"
        );
    }
}

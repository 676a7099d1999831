//! The application's router built in-process over a store, a manual clock and a template
//! analyst: shared by the in-process test suites.
#![allow(dead_code, clippy::unwrap_used)]

use nightwatch_app::access::{AccessConfig, AccessControl};
use nightwatch_app::analysis::Analyst;
use nightwatch_app::http::{AppState, AuthConfig, router};
use nightwatch_app::metrics::Metrics;
use nightwatch_app::tuning::TuningConfig;
use nightwatch_core::ManualClock;
use nightwatch_core::fingerprint::FingerprintConfig;
use nightwatch_core::runbook::Library;
use nightwatch_store::Store;
use std::sync::Arc;
use tokio::sync::Notify;

pub fn auth_off() -> AccessConfig {
    AccessConfig {
        enabled: false,
        ..AccessConfig::default()
    }
}

/// The application's HTTP surface over `store`, stamped by `clock`, analysed by `analyst`.
pub fn app(
    store: Arc<Store>,
    clock: Arc<ManualClock>,
    analyst: Arc<Analyst>,
    max_body_bytes: usize,
    access: AccessConfig,
) -> axum::Router {
    let state = AppState {
        store,
        clock,
        metrics: Arc::new(Metrics::new()),
        auth: Arc::new(AuthConfig::default()),
        access: Arc::new(AccessControl::new(access)),
        wake_workers: Arc::new(Notify::new()),
        wake_responder: Arc::new(Notify::new()),
        analyst,
        tuning: Arc::new(TuningConfig::default()),
        silences: None,
        max_clock_skew: nightwatch_core::parse::skew::DEFAULT_MAX_CLOCK_SKEW,
        ingest: nightwatch_app::http::IngestLimits::new(
            max_body_bytes,
            64,
            std::time::Duration::from_secs(30),
            nightwatch_core::parse::limits::Limits::default(),
        ),
    };
    router(state)
}

/// A migrated store on `url` and a template analyst over the built-in runbooks.
pub async fn store_and_analyst(url: &str) -> (Arc<Store>, Arc<Analyst>) {
    let store = Arc::new(
        Store::open(url, FingerprintConfig::default())
            .await
            .unwrap(),
    );
    store.migrate().await.unwrap();
    let analyst = Arc::new(Analyst {
        store: store.clone(),
        library: Arc::new(Library::load(&[]).unwrap()),
        llm: None,
    });
    (store, analyst)
}

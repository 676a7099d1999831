//! `nightwatch serve`: migrate, start the queue workers and the HTTP server; on SIGTERM or
//! Ctrl-C stop accepting, finish in-flight requests (and so their commits), stop the workers,
//! close the store.

use crate::config::Config;
use crate::http::{self, AppState};
use crate::metrics::Metrics;
use anyhow::Context;
use nightwatch_core::{Clock, SystemClock};
use nightwatch_store::Backend;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::{Notify, watch};

pub async fn serve(config: Config) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let store = crate::open_store(&config).await?;
    store.migrate().await.context("applying migrations")?;
    let store = Arc::new(store);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let metrics = Arc::new(Metrics::new());
    let wake = Arc::new(Notify::new());
    let (stop_workers, stop_signal) = watch::channel(false);

    // SQLite has a single writer connection: more than one worker would only queue on it.
    let workers = match store.backend() {
        Backend::Sqlite => 1,
        Backend::Postgres => config.workers,
    };
    let worker_handles: Vec<_> = (0..workers)
        .map(|id| {
            tokio::spawn(crate::worker::run(
                id,
                store.clone(),
                clock.clone(),
                wake.clone(),
                metrics.clone(),
                stop_signal.clone(),
            ))
        })
        .collect();

    let state = AppState {
        store: store.clone(),
        clock,
        metrics,
        auth: Arc::new(config.auth.clone()),
        wake_workers: wake,
    };
    let app = http::router(state, config.max_body_bytes)
        .layer(tower_http::trace::TraceLayer::new_for_http());
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    let address = listener.local_addr().context("reading the bound address")?;
    tracing::info!(
        %address,
        store = store.backend().as_str(),
        database = %config.redacted_database_url(),
        workers,
        ready_ms = started.elapsed().as_millis() as u64,
        "nightwatch is listening"
    );
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .context("HTTP server")?;

    tracing::info!("shutting down: in-flight requests done, stopping workers");
    let _ = stop_workers.send(true);
    for handle in worker_handles {
        let _ = handle.await;
    }
    match Arc::try_unwrap(store) {
        Ok(store) => store.close().await,
        Err(_) => tracing::warn!("store still shared at shutdown; pending commits finish on drop"),
    }
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}

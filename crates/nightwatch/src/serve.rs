//! `nightwatch serve`: migrate, start the queue workers and the HTTP server; on SIGTERM or
//! Ctrl-C stop accepting, finish in-flight requests (and so their commits), stop the workers,
//! close the store.

use crate::config::Config;
use anyhow::Context;
use nightwatch_app::http::{self, AppState};
use nightwatch_app::metrics::Metrics;
use nightwatch_core::{Clock, SystemClock};
use nightwatch_store::Backend;
use std::sync::Arc;
use tokio::sync::{Notify, watch};

/// How long in-flight requests get to finish once shutdown starts.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(30);

pub async fn serve(config: Config) -> anyhow::Result<()> {
    let started = tokio::time::Instant::now();
    for source in config.auth.open_sources() {
        tracing::warn!(
            source = source.as_str(),
            "webhook source accepts deliveries without credentials"
        );
    }
    let store = crate::open_store(&config).await?;
    store.migrate().await.context("applying migrations")?;
    let store = Arc::new(store);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    announce_access(&config, &store, clock.now()).await?;
    let metrics = Arc::new(Metrics::new());
    let wake = Arc::new(Notify::new());
    let (stop_workers, stop_signal) = watch::channel(false);
    let library = Arc::new(crate::setup::load_library(config.runbooks_dir.as_deref())?);
    let policy = Arc::new(crate::setup::load_policy(
        config.policy_file.as_deref(),
        config.mode.as_deref(),
    )?);
    let cluster = connect_cluster(&config, clock.clone()).await;
    let llm = connect_llm(&config)?;
    let sources = nightwatch_sources::Sources::from_config(&config.sources, clock.clone())
        .context("configuring the sources")?;
    let sources = (!sources.configured().is_empty()).then(|| Arc::new(sources));
    let analyst = Arc::new(nightwatch_app::analysis::Analyst {
        store: store.clone(),
        library: library.clone(),
        llm: llm.clone(),
    });
    let wake_responder = Arc::new(Notify::new());

    // SQLite has a single writer connection: more than one worker would only queue on it.
    let workers = match store.backend() {
        Backend::Sqlite => 1,
        Backend::Postgres => config.workers,
    };
    let worker_handles: Vec<_> = (0..workers)
        .map(|id| {
            tokio::spawn(nightwatch_app::worker::run(
                id,
                store.clone(),
                clock.clone(),
                wake.clone(),
                wake_responder.clone(),
                metrics.clone(),
                stop_signal.clone(),
            ))
        })
        .collect();
    // With cluster access the analyzers read the objects around each alert before routing.
    let evidence = cluster.as_ref().map(|cluster| {
        Arc::new(nightwatch_app::evidence::LiveEvidence {
            kube: cluster.kube.clone(),
            clock: clock.clone(),
        }) as Arc<dyn nightwatch_app::evidence::EvidenceReader>
    });
    let responder = Arc::new(nightwatch_app::respond::Responder {
        store: store.clone(),
        clock: clock.clone(),
        library: library.clone(),
        policy: policy.clone(),
        cluster,
        settings: respond_settings(&config),
        metrics: metrics.clone(),
        analyst: analyst.clone(),
        llm,
        sources,
        recorded_tools: None,
        evidence,
        decision_turn: tokio::sync::Mutex::new(()),
    });
    let responder_handle = tokio::spawn(responder.run(wake_responder.clone(), stop_signal.clone()));
    let (notifier, notifier_handle) = match start_notifier(
        &config,
        policy.clone(),
        store.clone(),
        clock.clone(),
        wake_responder.clone(),
        stop_signal.clone(),
    )? {
        Some((notifier, handle)) => (Some(notifier), Some(handle)),
        None => (None, None),
    };
    let broadcast_handle =
        start_broadcast(&config, store.clone(), clock.clone(), stop_signal.clone())?;
    let briefing_handle = tokio::spawn(briefings(
        store.clone(),
        clock.clone(),
        notifier,
        config.briefing.on_start,
        config.briefing_schedule.clone(),
        stop_signal.clone(),
    ));

    let retention_handle = tokio::spawn(nightwatch_app::retention::run(
        store.clone(),
        clock.clone(),
        config.retention,
        metrics.clone(),
        stop_signal.clone(),
    ));

    let state = AppState {
        store: store.clone(),
        clock,
        metrics: metrics.clone(),
        auth: Arc::new(config.auth.clone()),
        access: Arc::new(nightwatch_app::access::AccessControl::new(
            config.access.clone(),
        )),
        wake_workers: wake,
        wake_responder: wake_responder.clone(),
        analyst,
        tuning: Arc::new(config.tuning.clone()),
        silences: match &config.sources.alertmanager {
            Some(source) => Some(Arc::new(
                nightwatch_sources::SilenceWriter::new(source)
                    .context("configuring the silence writer")?,
            )),
            None => None,
        },
        max_clock_skew: chrono::Duration::from_std(config.max_clock_skew)
            .context("max_clock_skew")?,
        ingest: http::IngestLimits::new(
            config.max_body_bytes,
            config.max_concurrent_ingest,
            config.body_timeout,
            config.ingest_limits,
        ),
    };
    let app = http::router(state).layer(tower_http::trace::TraceLayer::new_for_http());
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    let address = listener.local_addr().context("reading the bound address")?;
    tracing::info!(
        %address,
        store = store.backend().as_str(),
        database = %config.redacted_database_url(),
        workers,
        mode = policy.mode.as_str(),
        runbooks = library.iter().count(),
        ready_ms = started.elapsed().as_millis() as u64,
        "nightwatch is listening"
    );
    let refused = metrics.clone();
    crate::http_server::serve(
        listener,
        app,
        crate::http_server::ServerLimits {
            max_connections: config.max_connections,
            header_timeout: config.header_timeout,
            shutdown_grace: SHUTDOWN_GRACE,
        },
        move || {
            refused.connections_refused.inc();
        },
        shutdown_signal(),
    )
    .await;

    tracing::info!("shutting down: in-flight requests done, stopping workers");
    let _ = stop_workers.send(true);
    for handle in worker_handles {
        let _ = handle.await;
    }
    let _ = responder_handle.await;
    if let Some(handle) = notifier_handle {
        let _ = handle.await;
    }
    let _ = briefing_handle.await;
    let _ = retention_handle.await;
    if let Some(handle) = broadcast_handle {
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

/// The Slack notifier (and its Socket Mode client), when `[notify.slack]` is configured.
fn start_notifier(
    config: &Config,
    policy: Arc<nightwatch_core::policy::PolicyConfig>,
    store: Arc<nightwatch_store::Store>,
    clock: Arc<dyn Clock>,
    wake_responder: Arc<Notify>,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<
    Option<(
        Arc<nightwatch_app::slack::Notifier>,
        tokio::task::JoinHandle<()>,
    )>,
> {
    let Some(slack) = &config.notify.slack else {
        return Ok(None);
    };
    let mut web = nightwatch_notify::SlackConfig::new(slack.bot_token.clone());
    if let Some(base) = &slack.base_url {
        web.base_url = base.clone();
    }
    let client =
        nightwatch_notify::SlackClient::new(web).context("configuring the Slack client")?;
    let commands = match &slack.app_token {
        Some(token) => {
            let mut socket = nightwatch_notify::SocketModeConfig::new(token.clone());
            if let Some(base) = &slack.base_url {
                socket.base_url = base.clone();
            }
            let (tx, rx) = tokio::sync::mpsc::channel(64);
            let mode = nightwatch_notify::SocketMode::new(socket)
                .context("configuring Slack Socket Mode")?;
            let socket_stop = stop.clone();
            tokio::spawn(async move {
                if let Err(error) = mode.run(tx, socket_stop).await {
                    tracing::error!(%error, "slack socket mode stopped");
                }
            });
            Some(rx)
        }
        None => None,
    };
    let ui_base = ui_base(config);
    let notifier = Arc::new(nightwatch_app::slack::Notifier {
        store,
        clock,
        slack: client,
        channel: slack.channel.clone(),
        min_severity: slack
            .min_severity
            .unwrap_or(nightwatch_core::model::Severity::Warning),
        ui_base,
        policy: config.notify.nag.policy(config.nag_interval),
        targets: config.notify.nag.targets.clone(),
        wake_responder,
        cursor: tokio::sync::Mutex::new(nightwatch_app::slack::EventCursor::default()),
        routes: config.notify.routes.clone(),
        action_policy: policy,
        slack_users: config
            .access
            .enabled
            .then(|| config.access.slack_users.clone()),
    });
    tracing::info!(channel = %slack.channel, socket_mode = slack.app_token.is_some(), "slack notifications on");
    let handle = tokio::spawn(notifier.clone().run(commands, stop));
    Ok(Some((notifier, handle)))
}

/// Discord and the signed webhook, when configured.
fn start_broadcast(
    config: &Config,
    store: Arc<nightwatch_store::Store>,
    clock: Arc<dyn Clock>,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    let notify = &config.notify;
    if notify.discord.is_none() && notify.webhook.is_none() {
        return Ok(None);
    }
    let discord = match &notify.discord {
        Some(section) => Some((
            nightwatch_notify::DiscordClient::new(nightwatch_notify::DiscordConfig::new(
                section.webhook_url.clone(),
            ))
            .context("configuring the Discord webhook")?,
            section
                .min_severity
                .unwrap_or(nightwatch_core::model::Severity::High),
        )),
        None => None,
    };
    let webhook = match &notify.webhook {
        Some(section) => Some((
            nightwatch_notify::WebhookClient::new(
                nightwatch_notify::WebhookConfig::new(section.url.clone(), section.secret.clone()),
                clock.clone(),
            )
            .context("configuring the outgoing webhook")?,
            section
                .min_severity
                .unwrap_or(nightwatch_core::model::Severity::None),
        )),
        None => None,
    };
    let broadcaster = nightwatch_app::broadcast::Broadcaster {
        store,
        clock,
        ui_base: ui_base(config),
        discord,
        webhook,
    };
    Ok(Some(tokio::spawn(broadcaster.run(stop))))
}

fn ui_base(config: &Config) -> String {
    config
        .notify
        .ui_base_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", config.listen))
}

/// The briefing at start and on the schedule: to the log, and to Slack when configured.
async fn briefings(
    store: Arc<nightwatch_store::Store>,
    clock: Arc<dyn Clock>,
    notifier: Option<Arc<nightwatch_app::slack::Notifier>>,
    on_start: bool,
    schedule: Option<croner::Cron>,
    mut stop: watch::Receiver<bool>,
) {
    let tell = || async {
        match nightwatch_app::briefing::gather(
            &store,
            clock.now(),
            nightwatch_app::briefing::DEFAULT_DAYS,
        )
        .await
        {
            Ok(briefing) => tracing::info!(briefing = %briefing.to_markdown(), "briefing"),
            Err(error) => tracing::warn!(%error, "gathering the briefing failed"),
        }
        if let Some(notifier) = &notifier {
            notifier.post_briefing().await;
        }
    };
    if on_start {
        tell().await;
    }
    let Some(schedule) = schedule else {
        return;
    };
    loop {
        let now = clock.now();
        let Ok(next) = schedule.find_next_occurrence(&now, false) else {
            tracing::warn!("the briefing schedule has no next time");
            return;
        };
        let wait = (next - now).to_std().unwrap_or_default();
        tokio::select! {
            _ = tokio::time::sleep(wait) => tell().await,
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
    }
}

/// The model, when one is configured. Its clients are built here so a bad base URL stops the
/// start rather than the first investigation.
fn connect_llm(config: &Config) -> anyhow::Result<Option<Arc<nightwatch_app::investigate::Llm>>> {
    let Some(llm) = &config.llm else {
        tracing::info!("no LLM configured: analyses are written from templates");
        return Ok(None);
    };
    let llm = nightwatch_app::investigate::Llm::new(llm).context("configuring the LLM provider")?;
    tracing::info!(model = %llm.label, "LLM configured: incidents without a runbook are investigated");
    Ok(Some(Arc::new(llm)))
}

/// The cluster, if configured or discoverable; without one, runbooks still route and record
/// that they could not look.
async fn connect_cluster(
    config: &Config,
    clock: Arc<dyn Clock>,
) -> Option<Arc<nightwatch_app::respond::Cluster>> {
    if config.kubernetes.enabled == Some(false) {
        tracing::info!("kubernetes disabled in the config: runbooks route but do not read or act");
        return None;
    }
    let connected = nightwatch_kube::Kube::connect(
        config.kubernetes.kubeconfig.as_deref(),
        config.kubernetes_timeout,
    )
    .await;
    match connected {
        Ok(kube) => {
            tracing::info!("kubernetes: connected");
            let actuator = nightwatch_kube::Actuator::new(kube.clone(), clock.clone());
            Some(Arc::new(nightwatch_app::respond::Cluster {
                kube,
                actuator,
            }))
        }
        Err(error) => {
            tracing::warn!(%error, "no kubernetes access: runbooks route but do not read or act");
            None
        }
    }
}

fn respond_settings(config: &Config) -> nightwatch_app::respond::RespondSettings {
    let mut settings = nightwatch_app::respond::RespondSettings::default();
    let actions = &config.actions;
    settings.fallback_image = actions.fallback_image.clone();
    let timings = &config.action_timings;
    if let Some(lease) = timings.lease {
        settings.lease = lease;
    }
    if let Some(timeout) = timings.verify_timeout {
        settings.verify_timeout = timeout;
    }
    if let Some(interval) = timings.verify_interval {
        settings.verify_interval = interval;
    }
    if let Some(after) = timings.recheck_after {
        settings.recheck_after = after;
    }
    if let Some(times) = actions.max_rechecks {
        settings.max_rechecks = i64::from(times);
    }
    if let Some(patterns) = &config.verdicts.noise_namespaces {
        settings.noise_namespaces = patterns.clone();
    }
    settings
}

/// Says how the API and pages are protected, and on the first start creates the initial admin
/// and prints its password once (as a person installing it needs it to sign in).
async fn announce_access(
    config: &Config,
    store: &nightwatch_store::Store,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<()> {
    if !config.access.enabled {
        tracing::warn!(
            "authentication is OFF (--insecure-no-auth): anyone who can reach {} may acknowledge, \
             approve actions and create silences",
            config.listen
        );
        return Ok(());
    }
    if let Some(password) = nightwatch_app::access::ensure_initial_admin(store, now)
        .await
        .context("creating the initial admin")?
    {
        tracing::warn!(
            user = nightwatch_app::access::INITIAL_ADMIN,
            password = %password,
            "no users yet: created the initial admin; sign in with this password (shown once) \
             and choose your own"
        );
    }
    Ok(())
}

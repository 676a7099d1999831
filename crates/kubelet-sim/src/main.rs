//! kubelet-sim: plays the kubelets of the lab's nodes against a real API server.
// A lab tool: it runs in real time beside real processes, so it reads the system's clocks.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use anyhow::Context;
use clap::Parser;
use kubelet_sim::container::Timing;
use kubelet_sim::kube_io::{self, Settings, Shared, Stores};
use kubelet_sim::{http, node};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tracing::{error, info};

#[derive(Debug, Parser)]
#[command(version, about = "Simulated kubelets for the nightwatch lab")]
struct Args {
    /// Kubeconfig of the API server (default: $KUBECONFIG or ~/.kube/config)
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// Number of nodes to play
    #[arg(long, default_value_t = 3)]
    nodes: u32,
    /// Nodes are named PREFIX-1 … PREFIX-N
    #[arg(long, default_value = "lab-node")]
    node_prefix: String,
    /// Plain HTTP: /healthz, /metrics, /state, /containerLogs, /images/missing
    #[arg(long, default_value = "127.0.0.1:10255")]
    listen: SocketAddr,
    /// HTTPS kubelet API (container logs) the API server proxies to; its port is advertised in
    /// each Node's status
    #[arg(long, default_value = "127.0.0.1:10250")]
    kubelet_listen: SocketAddr,
    /// Serving certificate for --kubelet-listen (PEM)
    #[arg(long)]
    tls_cert: PathBuf,
    /// Its private key (PEM)
    #[arg(long)]
    tls_key: PathBuf,
    /// Lease renewal and node status period
    #[arg(long, value_parser = humantime::parse_duration, default_value = "2s")]
    heartbeat_interval: Duration,
    /// How long a container with sim.nightwatch.dev/exit-code runs before it exits
    #[arg(long, value_parser = humantime::parse_duration, default_value = "3s")]
    crash_after: Duration,
    /// How long a container over its memory limit runs before the OOM kill
    #[arg(long, value_parser = humantime::parse_duration, default_value = "3s")]
    oom_after: Duration,
    /// First CrashLoopBackOff / ImagePullBackOff delay (doubles per failure)
    #[arg(long, value_parser = humantime::parse_duration, default_value = "2s")]
    backoff_base: Duration,
    /// Longest back-off delay
    #[arg(long, value_parser = humantime::parse_duration, default_value = "20s")]
    backoff_max: Duration,
    /// FailedMount / FailedCreatePodSandBox repeat period while a volume's Secret/ConfigMap is
    /// missing or the pod's sandbox fails
    #[arg(long, value_parser = humantime::parse_duration, default_value = "5s")]
    mount_retry: Duration,
    /// How long one second of a probe's initialDelaySeconds / periodSeconds lasts (probes run
    /// sped up: a 10s period is 2s by default)
    #[arg(long, value_parser = humantime::parse_duration, default_value = "200ms")]
    probe_second: Duration,
    /// Pod sync period
    #[arg(long, value_parser = humantime::parse_duration, default_value = "250ms")]
    sync_period: Duration,
}

async fn client(kubeconfig: Option<&PathBuf>) -> anyhow::Result<kube::Client> {
    let config = match kubeconfig {
        Some(path) => {
            let file = kube::config::Kubeconfig::read_from(path)
                .with_context(|| format!("reading kubeconfig {}", path.display()))?;
            kube::Config::from_custom_kubeconfig(file, &kube::config::KubeConfigOptions::default())
                .await
                .context("loading kubeconfig")?
        }
        None => kube::Config::infer()
            .await
            .context("finding a kubeconfig")?,
    };
    kube::Client::try_from(config).context("building the API client")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // An empty RUST_LOG counts as unset (it would otherwise silence everything). Targets match
    // by prefix, so "kube" would also quiet kubelet_sim: name the client crates exactly.
    let filter = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| "info,kube_client=warn,kube_runtime=warn".into());
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
    // rustls needs one process-wide crypto provider; without it the first TLS connection panics.
    if rustls::crypto::ring::default_provider()
        .install_default()
        .is_err()
    {
        info!("a rustls crypto provider was already installed");
    }
    let args = Args::parse();
    let timing = Timing {
        crash_after: args.crash_after,
        oom_after: args.oom_after,
        backoff_base: args.backoff_base,
        backoff_max: args.backoff_max.max(args.backoff_base),
        mount_retry: args.mount_retry,
        sync: Duration::from_secs(1).min(args.backoff_base),
        probe_second: args.probe_second,
    };
    let settings = Settings {
        nodes: node::node_names(&args.node_prefix, args.nodes),
        kubelet_port: args.kubelet_listen.port(),
        timing,
        heartbeat: args.heartbeat_interval,
        tick: args.sync_period,
    };
    let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(&args.tls_cert, &args.tls_key)
        .await
        .with_context(|| {
            format!(
                "loading the kubelet certificate {} / {}",
                args.tls_cert.display(),
                args.tls_key.display()
            )
        })?;
    let client = client(args.kubeconfig.as_ref()).await?;
    let stores = Stores::start(&client);
    let shared = Arc::new(Shared::new(settings, client, stores));

    let control = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let control_app = http::control_router(shared.clone());
    tokio::spawn(async move {
        if let Err(e) = axum::serve(control, control_app).await {
            error!(error = %e, "control server stopped");
        }
    });
    let kubelet_app = http::kubelet_router(shared.clone());
    let kubelet_addr = args.kubelet_listen;
    let kubelet_server = axum_server::bind_rustls(kubelet_addr, tls);
    tokio::spawn(async move {
        if let Err(e) = kubelet_server.serve(kubelet_app.into_make_service()).await {
            error!(error = %e, "kubelet server stopped");
        }
    });
    info!(control = %args.listen, kubelet = %kubelet_addr, nodes = ?shared.settings.nodes, "serving");

    tokio::time::timeout(Duration::from_secs(120), shared.stores.ready())
        .await
        .context("the API server's first lists did not arrive within 120s")??;
    for name in &shared.settings.nodes {
        // Failures are retried by the heartbeat loop, which registers missing nodes too.
        match kube_io::ensure_node(&shared, name).await {
            Ok(_) => kube_io::announce_start(&shared, name).await,
            Err(e) => {
                error!(node = %name, error = %e, "registration failed; retrying in the heartbeat loop")
            }
        }
    }
    tokio::spawn(kube_io::run_heartbeats(shared.clone()));
    tokio::spawn(kube_io::run_pods(shared.clone()));

    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => info!("interrupted; exiting"),
        _ = term.recv() => info!("terminated; exiting"),
    }
    Ok(())
}

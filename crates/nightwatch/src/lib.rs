//! The nightwatch binary's library half: the command line, the configuration and the wiring of
//! the application's services (`nightwatch-app`) to the adapters. Nothing it runs lives here.
//! A library so the configuration can be fuzzed and checked apart from the process.

mod access_cmd;
pub mod cli;
pub mod config;
mod http_server;
mod incidents_cmd;
mod logging;
mod replay_cmd;
mod runbooks_cmd;
mod serve;
mod setup;

use anyhow::Context;
use clap::Parser;
use cli::{Cli, Command};
use nightwatch_core::{Clock, SystemClock};
use nightwatch_store::Store;

/// The whole program: parse the command line, load the configuration, run the command.
pub fn main_with_args() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = config::Config::load(&cli)?;
    logging::init(&config.log_level, config.log_json)?;
    for notice in &config.deprecations {
        tracing::warn!("config: {notice}");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(run(cli, config))
}

async fn run(cli: Cli, config: config::Config) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(_) => serve::serve(config).await,
        Command::Version => {
            println!("nightwatch {}", cli::VERSION);
            Ok(())
        }
        Command::Migrate => {
            let store = open_store(&config).await?;
            store.migrate().await.context("applying migrations")?;
            println!("migrations applied to {}", config.redacted_database_url());
            store.close().await;
            Ok(())
        }
        Command::Users(command) => {
            let store = open_store(&config).await?;
            store.migrate().await.context("applying migrations")?;
            let result = access_cmd::users(&store, command).await;
            store.close().await;
            result
        }
        Command::Tokens(command) => {
            let store = open_store(&config).await?;
            store.migrate().await.context("applying migrations")?;
            let result = access_cmd::tokens(&store, command).await;
            store.close().await;
            result
        }
        Command::Runbooks(command) => runbooks_cmd::run(config.runbooks_dir.as_deref(), command),
        Command::Briefing { days, json } => {
            let store = open_store(&config).await?;
            let result = nightwatch_app::briefing::gather(&store, SystemClock.now(), days).await;
            store.close().await;
            let briefing = result?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&nightwatch_app::briefing::view(&briefing))?
                );
            } else {
                print!("{}", briefing.to_markdown());
            }
            Ok(())
        }
        Command::Replay(args) => {
            let source = args
                .source
                .as_deref()
                .map(|name| {
                    name.parse().map_err(|_| {
                        anyhow::anyhow!("source {name:?}: use alertmanager, grafana or signoz")
                    })
                })
                .transpose()?;
            if args.quality {
                return replay_cmd::quality(
                    &args.path,
                    args.provider,
                    args.format,
                    !args.without_evidence,
                    &config,
                )
                .await;
            }
            replay_cmd::run(
                &args.path,
                source,
                args.provider,
                args.format,
                !args.without_evidence,
                &config,
            )
            .await
        }
        Command::Incidents(command) => {
            let store = open_store(&config).await?;
            let result = incidents_cmd::run(&store, command).await;
            store.close().await;
            result
        }
    }
}

pub(crate) async fn open_store(config: &config::Config) -> anyhow::Result<Store> {
    Store::open(&config.database_url, config.fingerprint.clone())
        .await
        .with_context(|| format!("opening the store at {}", config.redacted_database_url()))
}

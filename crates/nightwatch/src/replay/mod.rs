//! `nightwatch replay PATH`: a delivery or a case through the real pipeline — parse, store
//! (a throwaway SQLite database), fold into incidents, route, run the runbook, investigate,
//! analyse — with every read tool answered from the case's recordings and no cluster (actions
//! are never run: the responder finds no cluster to act on). Prints the analysis, the tool calls
//! and the model's token counts: the base for comparing models and versions on the same cases.

mod case;
mod recorded;
mod report;

pub use case::{Case, load};
pub use report::{Report, render_markdown};

use crate::config::Config;
use crate::investigate::Llm;
use anyhow::Context;
use nightwatch_core::Clock;
use nightwatch_core::model::Source;
use nightwatch_llm::{Investigator, InvestigatorConfig, LlmConfig, ProviderKind, ScriptedProvider};
use nightwatch_store::{IncidentFilter, NewDelivery, Store};
use std::sync::Arc;

/// Which model investigates and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReplayProvider {
    /// The configured one (`[llm]`, `ANTHROPIC_*`, `OPENAI_*`), else none.
    Auto,
    Anthropic,
    Openai,
    /// The deterministic stand-in: calls each offered tool once, then answers from the results.
    Scripted,
    /// No model: template analysis, no investigation.
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReplayFormat {
    Markdown,
    Json,
}

/// The model for `provider`: the configured one re-resolved with the provider asked for.
fn model(
    provider: ReplayProvider,
    config: &Config,
    clock: Arc<dyn nightwatch_llm::Clock>,
) -> anyhow::Result<Option<Llm>> {
    let kind = match provider {
        ReplayProvider::None => return Ok(None),
        ReplayProvider::Scripted => {
            let investigator = Investigator::new(
                Arc::new(ScriptedProvider),
                InvestigatorConfig {
                    model: "scripted".to_owned(),
                    // It costs nothing; the token counts are what it measures.
                    prices: nightwatch_llm::PriceTable {
                        models: Default::default(),
                        default: nightwatch_llm::Price::new(0.0, 0.0),
                    },
                    ..InvestigatorConfig::default()
                },
            )
            .with_clock(clock);
            return Ok(Some(Llm::from_investigator(
                investigator,
                false,
                "scripted".to_owned(),
            )));
        }
        ReplayProvider::Auto => None,
        ReplayProvider::Anthropic => Some(ProviderKind::Anthropic),
        ReplayProvider::Openai => Some(ProviderKind::OpenAi),
    };
    let mut section = config.llm_section.clone().unwrap_or_default();
    if kind.is_some() {
        section.provider = kind;
    }
    let resolved = LlmConfig::resolve(Some(&section), |name| std::env::var(name).ok())?;
    match resolved {
        Some(llm) => Ok(Some(
            Llm::new(&llm, clock).context("configuring the LLM provider")?,
        )),
        None => Ok(None),
    }
}

/// The case `path` names: `delivery:ID` reads a stored delivery from the configured database.
async fn case_of(path: &str, source: Option<Source>, config: &Config) -> anyhow::Result<Case> {
    if let Some(id) = path.strip_prefix("delivery:") {
        let id: i64 = id
            .parse()
            .with_context(|| format!("delivery:{id}: the id is a number"))?;
        let store = crate::open_store(config).await?;
        let stored = store.delivery(id).await?;
        store.close().await;
        let stored = stored
            .with_context(|| format!("no delivery {id} in {}", config.redacted_database_url()))?;
        return Ok(Case::delivery(
            format!("delivery {id}"),
            stored.source,
            stored.body,
        ));
    }
    Ok(load(std::path::Path::new(path), source)?)
}

pub async fn run(
    path: &str,
    source: Option<Source>,
    provider: ReplayProvider,
    format: ReplayFormat,
    config: &Config,
) -> anyhow::Result<()> {
    let case = case_of(path, source, config).await?;
    let report = replay(&case, provider, config).await?;
    match format {
        ReplayFormat::Markdown => print!("{}", render_markdown(&report)),
        ReplayFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
    }
    Ok(())
}

/// Runs `case` through the pipeline and reads back what happened.
pub async fn replay(
    case: &Case,
    provider: ReplayProvider,
    config: &Config,
) -> anyhow::Result<Report> {
    let clock: Arc<dyn Clock> = Arc::new(nightwatch_core::SystemClock);
    let llm = model(
        provider,
        config,
        Arc::new(nightwatch_llm::TokioClock::new()),
    )?
    .map(Arc::new);
    let dir = tempfile::tempdir().context("creating the replay's scratch directory")?;
    let url = format!("sqlite://{}", dir.path().join("replay.db").display());
    let store = Arc::new(Store::open(&url, config.fingerprint.clone()).await?);
    store.migrate().await?;
    let now = clock.now();
    let delivery = nightwatch_core::parse::parse(case.source, &case.body, now)
        .map_err(|error| anyhow::anyhow!("{}: {error}", case.name))?;
    store
        .ingest(NewDelivery {
            source: case.source,
            received_at: now,
            auth_subject: None,
            remote_addr: None,
            content_type: Some("application/json".to_owned()),
            body: case.body.clone(),
            delivery,
        })
        .await?;
    while store.process_queue(clock.now()).await? > 0 {}

    let library = Arc::new(crate::setup::load_library(config.runbooks_dir.as_deref())?);
    // Recommend mode whatever the config says: a replay has no cluster and acts on nothing.
    let policy = Arc::new(crate::setup::load_policy(
        config.policy_file.as_deref(),
        Some("recommend"),
    )?);
    let analyst = Arc::new(crate::analysis::Analyst {
        store: store.clone(),
        library: library.clone(),
        llm: llm.clone(),
    });
    let responder = crate::respond::Responder {
        store: store.clone(),
        clock: clock.clone(),
        library: library.clone(),
        policy,
        cluster: None,
        settings: crate::respond::RespondSettings::default(),
        metrics: Arc::new(crate::metrics::Metrics::new()),
        analyst,
        llm: llm.clone(),
        sources: None,
        recorded_tools: Some(Arc::new(recorded::RecordedToolbox::new(
            &case.recordings,
            library,
        ))),
        decision_turn: tokio::sync::Mutex::new(()),
    };
    responder.run_pending().await?;

    let page = store
        .list_incidents(&IncidentFilter {
            limit: Some(100),
            ..IncidentFilter::default()
        })
        .await?;
    let mut details = Vec::new();
    for incident in page.incidents.iter().rev() {
        if let Some(detail) = store.incident_detail(incident.id).await? {
            details.push(detail);
        }
    }
    let model = llm.as_ref().map(|llm| llm.label.clone());
    Ok(report::build(case, model, &details))
}

//! `nightwatch replay PATH|delivery:ID`: picks the case and the model from the command line and
//! the config, runs it through [`nightwatch_app::replay`] and prints the report.

use crate::config::Config;
use anyhow::Context;
use nightwatch_app::investigate::Llm;
use nightwatch_app::replay::{Case, ReplaySetup, load, render_markdown, replay};
use nightwatch_core::model::Source;
use nightwatch_llm::{Investigator, InvestigatorConfig, LlmConfig, ProviderKind, ScriptedProvider};
use std::sync::Arc;

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
fn model(provider: ReplayProvider, config: &Config) -> anyhow::Result<Option<Llm>> {
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
            );
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
            Llm::new(&llm).context("configuring the LLM provider")?,
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
    evidence: bool,
    config: &Config,
) -> anyhow::Result<()> {
    let case = case_of(path, source, config).await?;
    let report = replay_with(&case, provider, evidence, config).await?;
    match format {
        ReplayFormat::Markdown => print!("{}", render_markdown(&report)),
        ReplayFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
    }
    Ok(())
}

/// The report of `case` run through the pipeline with the configured runbooks, policy and the
/// chosen model.
pub async fn replay_with(
    case: &Case,
    provider: ReplayProvider,
    evidence: bool,
    config: &Config,
) -> anyhow::Result<nightwatch_app::replay::Report> {
    let llm = model(provider, config)?.map(Arc::new);
    let setup = ReplaySetup {
        library: Arc::new(crate::setup::load_library(config.runbooks_dir.as_deref())?),
        policy: crate::setup::load_policy(config.policy_file.as_deref(), None)?,
        llm,
        fingerprints: config.fingerprint.clone(),
        evidence,
    };
    Ok(replay(case, setup).await?)
}

/// Case folders under `root`, to two levels (`third-party/opensre/eks/001-…`, or a group folder
/// given directly), in name order.
fn case_folders(root: &std::path::Path) -> Vec<std::path::PathBuf> {
    let is_case = |dir: &std::path::Path| {
        dir.join("alert.json").is_file() || dir.join("issue_data.json").is_file()
    };
    if is_case(root) {
        return vec![root.to_owned()];
    }
    let children = |dir: &std::path::Path| -> Vec<std::path::PathBuf> {
        let mut found: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.is_dir())
                    .collect()
            })
            .unwrap_or_default();
        found.sort();
        found
    };
    let mut cases = Vec::new();
    for child in children(root) {
        if is_case(&child) {
            cases.push(child);
            continue;
        }
        for grandchild in children(&child) {
            if is_case(&grandchild) {
                cases.push(grandchild);
            } else {
                cases.extend(children(&grandchild).into_iter().filter(|p| is_case(p)));
            }
        }
    }
    cases
}

/// `replay --quality ROOT`: every case under ROOT, one row each, and the totals.
pub async fn quality(
    root: &str,
    provider: ReplayProvider,
    format: ReplayFormat,
    evidence: bool,
    config: &Config,
) -> anyhow::Result<()> {
    let cases = case_folders(std::path::Path::new(root));
    anyhow::ensure!(
        !cases.is_empty(),
        "{root}: no case folder found (docs/replay.md lists the formats)"
    );
    let mut rows = Vec::new();
    for path in cases {
        let case = load(&path, None)?;
        // Wall time of one replay, for the table.
        let started = tokio::time::Instant::now();
        let report = replay_with(&case, provider, evidence, config).await?;
        rows.push(nightwatch_app::replay::QualityRow::of(
            &report,
            started.elapsed().as_millis(),
        ));
    }
    match format {
        ReplayFormat::Markdown => print!("{}", nightwatch_app::replay::render_quality(&rows)),
        ReplayFormat::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
    }
    Ok(())
}

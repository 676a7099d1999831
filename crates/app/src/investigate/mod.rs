//! The LLM at work: investigating incidents no runbook handles, with read-only tools,
//! and writing analyses. The loop, budgets, redaction and providers live in `nightwatch-llm`;
//! the prompts in `core::analysis`; this module picks the names to anonymise, offers the tools
//! and turns transcripts into incident events.

mod record;
mod toolbox;

pub use record::transcript_events;
pub use toolbox::{InvestigationToolbox, kube_definitions, source_definitions};

use chrono::{DateTime, Utc};
use nightwatch_core::analysis::{AnalysisInput, investigation_prompt, llm_prompt};
use nightwatch_llm::{
    Anonymiser, Investigation, Investigator, LlmConfig, LlmError, NameKind, ProviderKind, Toolbox,
};

/// A configured model.
pub struct Llm {
    investigator: Investigator,
    anonymise: bool,
    /// `provider/model`, for logs and the analysis's provenance.
    pub label: String,
    /// What all model calls together may cost per hour / day.
    pub ceiling: nightwatch_llm::SpendCeiling,
}

impl Llm {
    pub fn new(config: &LlmConfig) -> Result<Llm, LlmError> {
        let provider = match config.provider {
            ProviderKind::Anthropic => "anthropic",
            ProviderKind::OpenAi => "openai",
        };
        Ok(Llm {
            investigator: config.investigator()?,
            anonymise: config.anonymise,
            label: format!("{provider}/{}", config.investigator.model),
            ceiling: config.spend_ceiling,
        })
    }

    /// From an investigator built elsewhere (replay's scripted model, tests).
    pub fn from_investigator(investigator: Investigator, anonymise: bool, label: String) -> Llm {
        Llm {
            investigator,
            anonymise,
            label,
            ceiling: nightwatch_llm::SpendCeiling::default(),
        }
    }

    /// Why the model may not be asked now: what the recorded answers cost in the last hour or
    /// day has reached the ceiling. `None`: go on.
    pub async fn over_ceiling(
        &self,
        store: &nightwatch_store::Store,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<String>, nightwatch_store::StoreError> {
        for (limit, window, name) in [
            (
                self.ceiling.per_hour_usd,
                chrono::Duration::hours(1),
                "hour",
            ),
            (self.ceiling.per_day_usd, chrono::Duration::days(1), "day"),
        ] {
            let Some(limit) = limit else { continue };
            let spent = store.model_spend_since(now - window).await?;
            if spent >= limit {
                return Ok(Some(format!(
                    "the model spend ceiling is reached: ${spent:.2} in the last {name}, ceiling \
                     ${limit:.2} (llm.max_spend_per_{name}_usd)"
                )));
            }
        }
        Ok(None)
    }

    /// Investigates `input`'s incident with `toolbox`; never fails (a provider failure is a
    /// `Stop::ProviderError` with whatever was gathered).
    pub async fn investigate(
        &self,
        input: &AnalysisInput,
        toolbox: &dyn Toolbox,
        now: DateTime<Utc>,
    ) -> (Investigation, Option<Anonymiser>) {
        let (system, prompt) = investigation_prompt(input, now);
        let names = self.anonymiser(input);
        let investigation = self
            .investigator
            .run(nightwatch_llm::Task {
                system: &system,
                prompt: &prompt,
                toolbox,
                anonymiser: names.as_ref(),
            })
            .await;
        (investigation, names)
    }

    /// Asks for the seven-section analysis of `input`, without tools.
    pub async fn write_analysis(
        &self,
        input: &AnalysisInput,
        now: DateTime<Utc>,
    ) -> (Investigation, Option<Anonymiser>) {
        let (system, prompt) = llm_prompt(input, now);
        let names = self.anonymiser(input);
        let written = self
            .investigator
            .write(&system, &prompt, names.as_ref())
            .await;
        (written, names)
    }

    /// The incident's and its history's namespace, pod and node names, when anonymising.
    fn anonymiser(&self, input: &AnalysisInput) -> Option<Anonymiser> {
        if !self.anonymise {
            return None;
        }
        let mut names = Anonymiser::new();
        let incident = &input.incident;
        let past = input
            .history
            .iter()
            .map(|p| (&p.namespace, &p.pod, &p.node));
        for (namespace, pod, node) in
            std::iter::once((&incident.namespace, &incident.pod, &incident.node)).chain(past)
        {
            if let Some(pod) = pod {
                names.add(NameKind::Pod, pod);
            }
            if let Some(node) = node {
                names.add(NameKind::Node, node);
            }
            if let Some(namespace) = namespace {
                names.add(NameKind::Namespace, namespace);
            }
        }
        Some(names)
    }
}

//! Configuration: the config file's `[llm]` section ([`LlmSection`]) overlaid by environment
//! values (`ANTHROPIC_API_KEY`, `ANTHROPIC_MODEL`, `ANTHROPIC_BASE_URL`, `OPENAI_API_KEY`,
//! `OPENAI_MODEL`, `OPENAI_BASE_URL`), resolved into an [`LlmConfig`] — or `None` when no LLM is
//! configured (nightwatch then writes analyses from templates). The environment is read through
//! a lookup closure so tests need not touch the process's.

use crate::budget::BudgetConfig;
use crate::investigator::{Investigator, InvestigatorConfig};
use crate::pricing::PriceTable;
use crate::provider::{AnthropicProvider, LlmError, OpenAiProvider, Provider};
use nightwatch_core::retry::{RetryConfig, RetrySettings};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    Anthropic,
    #[serde(alias = "openai")]
    OpenAi,
}

/// An API key; its `Debug` never shows the key.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

pub const DEFAULT_ANTHROPIC_MODEL: &str = "claude-sonnet-4-5";
pub const DEFAULT_OPENAI_MODEL: &str = "gpt-4o";

/// The config file's section. Every field is optional; the environment fills or overrides.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LlmSection {
    pub provider: Option<ProviderKind>,
    pub api_key: Option<ApiKey>,
    pub model: Option<String>,
    pub base_url: Option<String>,
    /// Send `max_completion_tokens` instead of `max_tokens` (OpenAI's reasoning models).
    pub max_completion_tokens: bool,
    pub http: RetryConfig,
    pub max_tokens: Option<u32>,
    pub budget: Option<BudgetConfig>,
    pub prices: Option<PriceTable>,
    pub max_tool_output_bytes: Option<usize>,
    pub max_repeats: Option<u32>,
    pub delegation: Option<bool>,
    /// Replace namespace, pod and node names with stand-ins in everything sent (restored in
    /// what comes back).
    pub anonymise: bool,
    /// The most all model calls together may cost in any hour / day (USD); past it, analyses
    /// come from the template and investigations are skipped, each saying why.
    pub max_spend_per_hour_usd: Option<f64>,
    pub max_spend_per_day_usd: Option<f64>,
}

/// A spend ceiling over all of nightwatch's model calls.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SpendCeiling {
    pub per_hour_usd: Option<f64>,
    pub per_day_usd: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LlmConfig {
    pub provider: ProviderKind,
    pub api_key: Option<ApiKey>,
    pub base_url: Option<String>,
    pub max_completion_tokens: bool,
    pub http: RetrySettings,
    pub anonymise: bool,
    /// Model, budget, prices and the loop's limits.
    pub investigator: InvestigatorConfig,
    pub spend_ceiling: SpendCeiling,
}

/// A ceiling must be a positive amount.
fn positive(key: &'static str, value: Option<f64>) -> Result<Option<f64>, ConfigError> {
    match value {
        Some(v) if !(v.is_finite() && v > 0.0) => Err(ConfigError::NotPositive(key)),
        other => Ok(other),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} must be a positive amount")]
    NotPositive(&'static str),
    #[error("llm: {0} is required for the Anthropic provider")]
    MissingKey(&'static str),
    #[error(
        "llm: OPENAI_API_KEY is required for OpenAI itself (set OPENAI_BASE_URL for a server that needs no key)"
    )]
    MissingOpenAiKey,
    #[error("{0}")]
    Duration(#[from] nightwatch_core::duration::DurationError),
}

impl LlmSection {
    /// The deprecated keys this section uses, each with what to write instead (logged at start).
    pub fn deprecations(&self) -> Vec<String> {
        let mut notices = Vec::new();
        let _ = self.http.resolve("llm.http", &mut notices);
        if let Some(budget) = &self.budget {
            let _ = budget.resolve("llm.budget", &mut notices);
        }
        notices
    }
}

impl LlmConfig {
    /// Resolves the file section and the environment: the environment wins where both speak.
    /// Without an explicit provider, an Anthropic key picks Anthropic, else an OpenAI key or
    /// base URL picks OpenAI, else there is no LLM.
    pub fn resolve(
        section: Option<&LlmSection>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, ConfigError> {
        let env = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let empty = LlmSection::default();
        let section = section.unwrap_or(&empty);
        let provider = match section.provider {
            Some(p) => p,
            None if env("ANTHROPIC_API_KEY").is_some() => ProviderKind::Anthropic,
            None if env("OPENAI_API_KEY").is_some() || env("OPENAI_BASE_URL").is_some() => {
                ProviderKind::OpenAi
            }
            None => return Ok(None),
        };
        let (prefix, default_model) = match provider {
            ProviderKind::Anthropic => ("ANTHROPIC", DEFAULT_ANTHROPIC_MODEL),
            ProviderKind::OpenAi => ("OPENAI", DEFAULT_OPENAI_MODEL),
        };
        let api_key = env(&format!("{prefix}_API_KEY"))
            .map(ApiKey)
            .or_else(|| section.api_key.clone());
        let model = env(&format!("{prefix}_MODEL"))
            .or_else(|| section.model.clone())
            .unwrap_or_else(|| default_model.to_string());
        let base_url = env(&format!("{prefix}_BASE_URL")).or_else(|| section.base_url.clone());
        match provider {
            ProviderKind::Anthropic if api_key.is_none() => {
                return Err(ConfigError::MissingKey("ANTHROPIC_API_KEY"));
            }
            ProviderKind::OpenAi if api_key.is_none() && base_url.is_none() => {
                return Err(ConfigError::MissingOpenAiKey);
            }
            _ => {}
        }
        let defaults = InvestigatorConfig::default();
        let investigator = InvestigatorConfig {
            model,
            max_tokens: section.max_tokens.unwrap_or(defaults.max_tokens),
            budget: match &section.budget {
                Some(budget) => budget.resolve("llm.budget", &mut Vec::new())?,
                None => defaults.budget,
            },
            prices: section.prices.clone().unwrap_or(defaults.prices),
            max_tool_output_bytes: section
                .max_tool_output_bytes
                .unwrap_or(defaults.max_tool_output_bytes),
            max_repeats: section.max_repeats.unwrap_or(defaults.max_repeats),
            delegation: section.delegation.unwrap_or(defaults.delegation),
            sub_agent_system: defaults.sub_agent_system,
        };
        Ok(Some(Self {
            provider,
            api_key,
            base_url,
            max_completion_tokens: section.max_completion_tokens,
            http: section.http.resolve("llm.http", &mut Vec::new())?,
            anonymise: section.anonymise,
            investigator,
            spend_ceiling: SpendCeiling {
                per_hour_usd: positive(
                    "llm.max_spend_per_hour_usd",
                    section.max_spend_per_hour_usd,
                )?,
                per_day_usd: positive("llm.max_spend_per_day_usd", section.max_spend_per_day_usd)?,
            },
        }))
    }

    /// The provider client.
    pub fn provider(&self) -> Result<Arc<dyn Provider>, LlmError> {
        let key = self.api_key.as_ref().map(ApiKey::expose);
        let base = self.base_url.as_deref();
        Ok(match self.provider {
            ProviderKind::Anthropic => Arc::new(AnthropicProvider::new(
                key.unwrap_or_default(),
                base,
                self.http.clone(),
            )?),
            ProviderKind::OpenAi => Arc::new(OpenAiProvider::new(
                key,
                base,
                self.max_completion_tokens,
                self.http.clone(),
            )?),
        })
    }

    pub fn investigator(&self) -> Result<Investigator, LlmError> {
        let provider = self.provider()?;
        Ok(Investigator::new(provider, self.investigator.clone()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn nothing_configured_means_no_llm() {
        assert_eq!(LlmConfig::resolve(None, env(&[])), Ok(None));
    }

    #[test]
    fn anthropic_from_env() {
        let c = LlmConfig::resolve(
            None,
            env(&[("ANTHROPIC_API_KEY", "k1"), ("OPENAI_API_KEY", "k2")]),
        )
        .unwrap()
        .unwrap();
        assert_eq!(c.provider, ProviderKind::Anthropic);
        assert_eq!(c.api_key.unwrap().expose(), "k1");
        assert_eq!(c.investigator.model, DEFAULT_ANTHROPIC_MODEL);
    }

    #[test]
    fn openai_compatible_server_without_key() {
        let c = LlmConfig::resolve(
            None,
            env(&[
                ("OPENAI_BASE_URL", "http://ollama:11434/v1"),
                ("OPENAI_MODEL", "llama3.1"),
            ]),
        )
        .unwrap()
        .unwrap();
        assert_eq!(c.provider, ProviderKind::OpenAi);
        assert_eq!(c.api_key, None);
        assert_eq!(c.base_url.as_deref(), Some("http://ollama:11434/v1"));
        assert_eq!(c.investigator.model, "llama3.1");
    }

    #[test]
    fn file_section_overlaid_by_env() {
        let section: LlmSection = yaml_like(serde_json::json!({
            "provider": "openai", "model": "gpt-4.1", "api_key": "file-key",
            "budget": {"max_steps": 7}, "http": {"max_attempts": 2}
        }));
        let c = LlmConfig::resolve(Some(&section), env(&[("OPENAI_MODEL", "gpt-4o-mini")]))
            .unwrap()
            .unwrap();
        assert_eq!(c.investigator.model, "gpt-4o-mini");
        assert_eq!(c.api_key.as_ref().unwrap().expose(), "file-key");
        assert_eq!(c.investigator.budget.max_steps, Some(7));
        assert_eq!(c.http.max_attempts, 2);
        assert!(!format!("{c:?}").contains("file-key"));
    }

    #[test]
    fn missing_keys_are_errors() {
        let anthropic = LlmSection {
            provider: Some(ProviderKind::Anthropic),
            ..LlmSection::default()
        };
        assert_eq!(
            LlmConfig::resolve(Some(&anthropic), env(&[])),
            Err(ConfigError::MissingKey("ANTHROPIC_API_KEY"))
        );
        let openai = LlmSection {
            provider: Some(ProviderKind::OpenAi),
            ..LlmSection::default()
        };
        assert_eq!(
            LlmConfig::resolve(Some(&openai), env(&[])),
            Err(ConfigError::MissingOpenAiKey)
        );
    }

    fn yaml_like(v: serde_json::Value) -> LlmSection {
        serde_json::from_value(v).unwrap()
    }
}

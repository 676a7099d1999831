//! Budgets: limits on one investigation, and the running spend that the main agent and its
//! sub-agents share (a delegated question draws on the same budget).

use crate::message::Usage;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// `None` means unlimited. Limits are checked before each model call, so a call that starts
/// under a limit may end above it; the final write-up is one call more.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Budget {
    /// Model calls, sub-agents' included.
    pub max_steps: Option<u32>,
    pub max_input_tokens: Option<u64>,
    pub max_output_tokens: Option<u64>,
    pub max_wall_secs: Option<u64>,
    pub max_cost_usd: Option<f64>,
}

impl Default for Budget {
    fn default() -> Self {
        Self {
            max_steps: Some(25),
            max_input_tokens: Some(1_000_000),
            max_output_tokens: Some(50_000),
            max_wall_secs: Some(300),
            max_cost_usd: Some(2.0),
        }
    }
}

impl Budget {
    pub fn unlimited() -> Self {
        Self {
            max_steps: None,
            max_input_tokens: None,
            max_output_tokens: None,
            max_wall_secs: None,
            max_cost_usd: None,
        }
    }
}

/// The configuration file's shape of a [`Budget`] (`[llm.budget]`): the wall time spelled as a
/// duration (`max_wall = "2m"`); the older `max_wall_secs` still loads, noted as deprecated.
/// What is not given keeps [`Budget::default`]'s limit.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BudgetConfig {
    pub max_steps: Option<u32>,
    pub max_input_tokens: Option<u64>,
    pub max_output_tokens: Option<u64>,
    pub max_wall: Option<String>,
    pub max_cost_usd: Option<f64>,
    /// Deprecated spelling of `max_wall`, in seconds.
    pub max_wall_secs: Option<u64>,
}

impl BudgetConfig {
    pub fn resolve(
        &self,
        section: &str,
        notices: &mut Vec<String>,
    ) -> Result<Budget, nightwatch_core::duration::DurationError> {
        let defaults = Budget::default();
        let wall = nightwatch_core::duration::duration_or_seconds(
            (&format!("{section}.max_wall"), self.max_wall.as_deref()),
            (
                &format!("{section}.max_wall_secs"),
                self.max_wall_secs.map(|s| s as f64),
            ),
            notices,
        )?;
        Ok(Budget {
            max_steps: self.max_steps.or(defaults.max_steps),
            max_input_tokens: self.max_input_tokens.or(defaults.max_input_tokens),
            max_output_tokens: self.max_output_tokens.or(defaults.max_output_tokens),
            // Whole seconds, never under one.
            max_wall_secs: wall.map(|d| d.as_secs().max(1)).or(defaults.max_wall_secs),
            max_cost_usd: self.max_cost_usd.or(defaults.max_cost_usd),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetKind {
    Steps,
    InputTokens,
    OutputTokens,
    WallTime,
    Cost,
}

#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Spend {
    pub steps: u32,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: f64,
    pub elapsed_ms: u64,
}

/// The shared meter: a clone is the same meter.
#[derive(Clone)]
pub struct Meter {
    limits: Budget,
    /// Wall-time budgets count on tokio's clock, so paused test time moves them.
    started: tokio::time::Instant,
    spend: Arc<Mutex<Spend>>,
}

impl Meter {
    pub fn new(limits: Budget) -> Self {
        Self {
            limits,
            started: tokio::time::Instant::now(),
            spend: Arc::new(Mutex::new(Spend::default())),
        }
    }

    pub fn record(&self, usage: Usage, cost_usd: f64) {
        let mut spend = self.lock();
        spend.steps += 1;
        spend.input_tokens += usage.input_tokens;
        spend.output_tokens += usage.output_tokens;
        spend.cost_usd += cost_usd;
    }

    pub fn spend(&self) -> Spend {
        let mut spend = *self.lock();
        spend.elapsed_ms = self.elapsed().as_millis() as u64;
        spend
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// The first limit reached, if any.
    pub fn exhausted(&self) -> Option<BudgetKind> {
        let spend = self.spend();
        let l = &self.limits;
        if l.max_steps.is_some_and(|max| spend.steps >= max) {
            return Some(BudgetKind::Steps);
        }
        if l.max_input_tokens
            .is_some_and(|max| spend.input_tokens >= max)
        {
            return Some(BudgetKind::InputTokens);
        }
        if l.max_output_tokens
            .is_some_and(|max| spend.output_tokens >= max)
        {
            return Some(BudgetKind::OutputTokens);
        }
        if l.max_wall_secs
            .is_some_and(|max| spend.elapsed_ms >= max.saturating_mul(1000))
        {
            return Some(BudgetKind::WallTime);
        }
        if l.max_cost_usd.is_some_and(|max| spend.cost_usd >= max) {
            return Some(BudgetKind::Cost);
        }
        None
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Spend> {
        self.spend
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

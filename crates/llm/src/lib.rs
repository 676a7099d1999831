//! nightwatch's LLM layer: providers (Anthropic Messages, OpenAI-compatible chat completions)
//! behind one trait, the budgeted investigation loop with delegation, redaction and reversible
//! anonymisation of what is sent, and the transcript of every exchange.
//!
//! Nothing here knows Kubernetes clients or the store: tools arrive through [`Toolbox`], and the
//! caller stores the [`Transcript`].

pub mod anonymise;
pub mod budget;
mod canonical;
pub mod config;
pub mod delegate;
#[cfg(feature = "fake")]
pub mod fake;
pub mod investigator;
pub mod message;
pub mod pricing;
pub mod provider;
pub mod redact;
pub mod scripted;
pub mod toolbox;
pub mod transcript;
pub mod truncate;

pub use anonymise::{Anonymiser, NameKind};
pub use budget::{Budget, BudgetConfig, BudgetKind, Spend};
pub use config::{
    ApiKey, ConfigError, DEFAULT_ANTHROPIC_MODEL, LlmConfig, LlmSection, ProviderKind, SpendCeiling,
};
pub use investigator::{AnswerSource, Investigation, Investigator, InvestigatorConfig, Stop, Task};
pub use message::{
    ChatRequest, ChatResponse, ContentBlock, Message, Role, StopReason, ToolCall, ToolChoice,
    ToolDefinition, Usage,
};
pub use nightwatch_core::retry::RetrySettings;
pub use nightwatch_core::tool::ToolOutput;
pub use pricing::{Price, PriceTable};
pub use provider::{AnthropicProvider, LlmError, OpenAiProvider, Provider};
pub use scripted::ScriptedProvider;
pub use toolbox::{Subset, Toolbox};
pub use transcript::Transcript;

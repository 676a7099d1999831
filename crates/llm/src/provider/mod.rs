//! Model providers behind one trait. Each provider module owns its wire format (pure translation
//! functions, unit-tested) and a thin client over the shared retrying HTTP sender.

pub mod anthropic;
mod http;
pub mod openai;

use crate::message::{ChatRequest, ChatResponse};
use async_trait::async_trait;
use std::time::Duration;

pub use anthropic::AnthropicProvider;
pub use openai::OpenAiProvider;

#[async_trait]
pub trait Provider: Send + Sync {
    /// Short provider name for errors and transcripts (`anthropic`, `openai`).
    fn name(&self) -> &'static str;
    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError>;
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum LlmError {
    /// The provider answered with an error status (after retries, when the status is retryable).
    #[error("{provider}: HTTP {status}{}: {message} (after {attempts} attempt{})",
        kind.as_ref().map(|k| format!(" {k}")).unwrap_or_default(),
        if *attempts == 1 { "" } else { "s" })]
    Api {
        provider: &'static str,
        status: u16,
        /// The provider's error type (`rate_limit_error`, `invalid_request_error`, …).
        kind: Option<String>,
        message: String,
        attempts: u32,
    },
    /// No HTTP answer: connection refused, reset, timed out.
    #[error("{provider}: request failed: {message} (after {attempts} attempt{})",
        if *attempts == 1 { "" } else { "s" })]
    Transport {
        provider: &'static str,
        message: String,
        attempts: u32,
    },
    /// A 2xx answer we could not read.
    #[error("{provider}: unreadable response: {message}")]
    Decode {
        provider: &'static str,
        message: String,
    },
    #[error("{provider}: invalid configuration: {message}")]
    Config {
        provider: &'static str,
        message: String,
    },
}

impl LlmError {
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Default per-request timeout: long answers from big models take a while.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

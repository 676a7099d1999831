//! The record of one investigation: every model request and response, tool call and tool result,
//! with token counts and estimated cost, as sent (redacted and anonymised). Serialisable so the
//! caller can store it as incident events.

use crate::budget::Spend;
use crate::message::{Message, StopReason, ToolChoice, Usage};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Transcript {
    pub entries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// `main`, or `delegate-N` for the N-th sub-agent.
    pub agent: String,
    /// Since the investigation started.
    pub at_ms: u64,
    /// Nested rather than flattened: flattening buffers numbers in a way that breaks with
    /// serde_json's `arbitrary_precision`, which the workspace enables.
    pub event: Event,
}

/// Externally tagged (`{"response": {..}}`): internally tagged enums buffer their fields, which
/// breaks numbers under `arbitrary_precision`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// A model call. Earlier messages are not repeated: the preceding entries hold them. `system`
    /// is set on an agent's first request; `text` holds what the loop itself added (the prompt,
    /// the write-up instruction).
    Request {
        step: u32,
        model: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        system: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
        tools: Vec<String>,
        tool_choice: ToolChoice,
    },
    Response {
        step: u32,
        model: String,
        message: Message,
        stop_reason: StopReason,
        usage: Usage,
        cost_usd: f64,
    },
    ToolCall {
        id: String,
        name: String,
        input: serde_json::Value,
    },
    ToolResult {
        id: String,
        name: String,
        /// What the model received (after redaction and truncation).
        content: String,
        is_error: bool,
        /// The size before truncation.
        original_bytes: usize,
        truncated: bool,
        /// Not executed: the same call was made before.
        repeat: bool,
    },
    ProviderError {
        message: String,
    },
    Finished {
        stop: String,
        spend: Spend,
    },
}

impl Transcript {
    pub fn responses(&self) -> impl Iterator<Item = &Entry> {
        self.entries
            .iter()
            .filter(|e| matches!(e.event, Event::Response { .. }))
    }

    pub fn tool_results(&self) -> impl Iterator<Item = &Entry> {
        self.entries
            .iter()
            .filter(|e| matches!(e.event, Event::ToolResult { .. }))
    }

    pub fn total_usage(&self) -> Usage {
        self.entries
            .iter()
            .fold(Usage::default(), |acc, e| match &e.event {
                Event::Response { usage, .. } => Usage {
                    input_tokens: acc.input_tokens + usage.input_tokens,
                    output_tokens: acc.output_tokens + usage.output_tokens,
                },
                _ => acc,
            })
    }
}

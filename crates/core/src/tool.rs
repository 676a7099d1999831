//! What a tool returns: structured data for `when` gates, analyses and the LLM, and a short text
//! for people. Shared by every tool family (Kubernetes, Prometheus, logs, …).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolOutput {
    /// Structured result; a runbook's `when` expressions read it as `<step id>.<field>`.
    pub data: serde_json::Value,
    /// One or two sentences a human reads in the timeline.
    pub summary: String,
}

impl ToolOutput {
    pub fn new(data: serde_json::Value, summary: impl Into<String>) -> Self {
        Self {
            data,
            summary: summary.into(),
        }
    }
}

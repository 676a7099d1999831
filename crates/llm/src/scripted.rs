//! A deterministic stand-in model for replays and benchmarks: it calls every tool it is offered
//! once (one per turn, filling required string arguments from the incident in the prompt), then
//! answers from the tool results — seven analysis sections citing the timeline's tool-result
//! events when asked for an analysis, a findings list otherwise. It measures nightwatch's side
//! of an investigation (prompt sizes, tool output sizes, calls) with no model's judgement in it.
//! Token counts are estimated as bytes / 4.
//!
//! It follows the investigation prompt's one rule a model can follow mechanically: when the
//! analyzers' findings quoted first name a cause (a warning or critical finding), it reports
//! from them without calling tools. Replays with and without the analyzers then measure what
//! reading the evidence first saves, for a model that does as it is told.

use crate::message::{
    ChatRequest, ChatResponse, ContentBlock, Message, Role, StopReason, ToolCall, ToolChoice, Usage,
};
use crate::provider::{LlmError, Provider};
use async_trait::async_trait;
use regex::Regex;
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;
use std::sync::LazyLock;

pub struct ScriptedProvider;

/// Bytes per token, the usual rough figure for English and JSON.
const BYTES_PER_TOKEN: u64 = 4;

fn estimate(bytes: usize) -> u64 {
    (bytes as u64).div_ceil(BYTES_PER_TOKEN)
}

static EVENT_TOOL_RESULT: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"\[event (\d+)\] \S+ \S+ \S+ tool_result").ok());

/// `"namespace":"shop"` and the like from the incident JSON in the prompt.
fn incident_field(prompt: &str, field: &str) -> Option<String> {
    let pattern = Regex::new(&format!(r#""{field}":"([^"]+)""#)).ok()?;
    pattern
        .captures(prompt)
        .and_then(|c| c.get(1))
        .map(|m| m.as_str().to_owned())
}

fn first_prompt(request: &ChatRequest) -> String {
    request
        .messages
        .first()
        .map(Message::text)
        .unwrap_or_default()
}

/// Tool names already called in this conversation, and the results' first lines.
fn history(request: &ChatRequest) -> (BTreeSet<String>, Vec<String>) {
    let mut called = BTreeSet::new();
    let mut results = Vec::new();
    for message in &request.messages {
        for block in &message.content {
            match block {
                ContentBlock::ToolUse(call) => {
                    called.insert(call.name.clone());
                }
                ContentBlock::ToolResult { content, .. } => {
                    results.push(content.lines().next().unwrap_or_default().to_owned());
                }
                ContentBlock::Text { .. } => {}
            }
        }
    }
    (called, results)
}

fn arguments(schema: &Value, prompt: &str) -> Value {
    let mut args = Map::new();
    for name in schema["required"].as_array().into_iter().flatten() {
        let Some(name) = name.as_str() else { continue };
        let value = match name {
            "namespace" | "pod" | "node" | "container" => incident_field(prompt, name),
            "query" => {
                incident_field(prompt, "alertname").map(|a| format!("{{alertname=\"{a}\"}}"))
            }
            "id" => Some("RB_UNKNOWN".to_owned()),
            _ => None,
        };
        if let Some(value) = value {
            args.insert(name.to_owned(), json!(value));
        }
    }
    Value::Object(args)
}

/// A finding line of the analyzers' section that names a cause.
fn names_a_cause(line: &str) -> bool {
    line.starts_with("- [critical]") || line.starts_with("- [warning]")
}

/// The analyzers' section leads the prompt with a warning or critical finding.
fn findings_name_a_cause(prompt: &str) -> bool {
    let Some(start) = prompt.find(nightwatch_core::analysis::EVIDENCE_HEADING) else {
        return false;
    };
    let section = &prompt[start..];
    let section = section.find("\n## ").map_or(section, |end| &section[..end]);
    section.lines().any(names_a_cause)
}

fn answer(request: &ChatRequest, results: &[String]) -> String {
    let prompt = first_prompt(request);
    let quoted: Vec<&str> = prompt.lines().filter(|line| names_a_cause(line)).collect();
    let findings = if results.is_empty() && !quoted.is_empty() {
        quoted
            .iter()
            .map(|line| format!("{line} (the analyzers)"))
            .collect::<Vec<_>>()
            .join("\n")
    } else if results.is_empty() {
        "- no tool results".to_owned()
    } else {
        results
            .iter()
            .map(|line| format!("- {line}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    if !request.system.contains("## Summary") {
        return format!(
            "## Findings\n{findings}\n## Likely cause\nunknown (scripted model: no judgement)\n## What a human should do\n- read the findings"
        );
    }
    let cited: Vec<String> = EVENT_TOOL_RESULT
        .as_ref()
        .map(|re| {
            re.captures_iter(&prompt)
                .filter_map(|c| c.get(1))
                .map(|m| format!("[event {}]", m.as_str()))
                .collect()
        })
        .unwrap_or_default();
    let evidence = if cited.is_empty() {
        "no tool results in the timeline".to_owned()
    } else {
        cited.join(" ")
    };
    format!(
        "## Summary\nScripted summary.\n## What happened\nTools ran: {evidence}.\n## Root cause hypothesis\nunknown\n## Action\nnone\n## Why\nThe scripted model does not judge.\n## Historical pattern & SRE recommendation\nsee the history facts\n## Follow-ups\n- review {evidence}"
    )
}

#[async_trait]
impl Provider for ScriptedProvider {
    fn name(&self) -> &'static str {
        "scripted"
    }

    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let input_bytes = serde_json::to_string(request).map(|s| s.len()).unwrap_or(0);
        let (called, results) = history(request);
        let prompt = first_prompt(request);
        let next = match request.tool_choice {
            ToolChoice::None => None,
            _ if findings_name_a_cause(&prompt) => None,
            _ => request
                .tools
                .iter()
                .find(|tool| tool.name != crate::delegate::NAME && !called.contains(&tool.name)),
        };
        let (content, stop_reason) = match next {
            Some(tool) => (
                vec![ContentBlock::ToolUse(ToolCall {
                    id: format!("call_{}", called.len() + 1),
                    name: tool.name.clone(),
                    input: arguments(&tool.input_schema, &prompt),
                    invalid_input: None,
                })],
                StopReason::ToolUse,
            ),
            None => (
                vec![ContentBlock::text(answer(request, &results))],
                StopReason::EndTurn,
            ),
        };
        let output_bytes = serde_json::to_string(&content)
            .map(|s| s.len())
            .unwrap_or(0);
        Ok(ChatResponse {
            model: "scripted".to_owned(),
            message: Message {
                role: Role::Assistant,
                content,
            },
            stop_reason,
            usage: Usage {
                input_tokens: estimate(input_bytes),
                output_tokens: estimate(output_bytes),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::message::ToolDefinition;

    fn request(messages: Vec<Message>, system: &str) -> ChatRequest {
        ChatRequest {
            model: "scripted".into(),
            system: system.into(),
            messages,
            tools: vec![ToolDefinition {
                name: "get_pod_status".into(),
                description: String::new(),
                input_schema: json!({"type": "object", "required": ["namespace", "pod"]}),
            }],
            tool_choice: ToolChoice::Auto,
            max_tokens: 100,
        }
    }

    #[tokio::test]
    async fn answers_from_findings_that_name_a_cause_without_calling_tools() {
        let named = "## What the cluster shows (…)\nConclusion: x\nFindings, most telling first:\n- [critical] pod web-1 was OOM-killed\n\n## Incident\n{\"namespace\":\"shop\",\"pod\":\"web-1\"}";
        let answer = ScriptedProvider
            .complete(&request(vec![Message::user_text(named)], "investigate"))
            .await
            .unwrap();
        assert_eq!(answer.stop_reason, StopReason::EndTurn);
        assert!(
            answer
                .message
                .text()
                .contains("pod web-1 was OOM-killed (the analyzers)")
        );
        // Only informational findings: it reads for itself.
        let informational = named.replace("[critical]", "[info]");
        let first = ScriptedProvider
            .complete(&request(
                vec![Message::user_text(&informational)],
                "investigate",
            ))
            .await
            .unwrap();
        assert_eq!(first.stop_reason, StopReason::ToolUse);
    }

    #[tokio::test]
    async fn calls_each_tool_once_then_answers_citing_tool_results() {
        let prompt = "incident {\"namespace\":\"shop\",\"pod\":\"web-1\"}\n[event 7] 2024-05-01 10:00:00 UTC tool_result {}";
        let first = ScriptedProvider
            .complete(&request(vec![Message::user_text(prompt)], "## Summary"))
            .await
            .unwrap();
        let call = first.message.tool_calls().next().unwrap().clone();
        assert_eq!(call.input, json!({"namespace": "shop", "pod": "web-1"}));
        assert!(first.usage.input_tokens > 0);
        let second = ScriptedProvider
            .complete(&request(
                vec![
                    Message::user_text(prompt),
                    first.message.clone(),
                    Message {
                        role: Role::User,
                        content: vec![ContentBlock::ToolResult {
                            tool_use_id: call.id,
                            content: "pod web-1 is Running\n{}".into(),
                            is_error: false,
                        }],
                    },
                ],
                "## Summary",
            ))
            .await
            .unwrap();
        assert_eq!(second.stop_reason, StopReason::EndTurn);
        let text = second.message.text();
        assert!(text.contains("[event 7]"), "{text}");
        assert!(text.contains("## Follow-ups"));
    }
}

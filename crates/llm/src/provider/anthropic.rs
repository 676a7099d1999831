//! Anthropic Messages API: `POST {base}/v1/messages`. Tool calls are `tool_use` content blocks
//! in assistant messages; their results are `tool_result` blocks in the next user message.

use super::http::JsonSender;
use super::{LlmError, Provider};
use crate::message::{
    ChatRequest, ChatResponse, ContentBlock, Message, Role, StopReason, ToolCall, ToolChoice, Usage,
};
use async_trait::async_trait;
use nightwatch_core::retry::RetrySettings;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;
use serde_json::{Value, json};

const NAME: &str = "anthropic";
pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";
pub const API_VERSION: &str = "2023-06-01";

pub struct AnthropicProvider {
    sender: JsonSender,
    url: String,
    headers: HeaderMap,
}

impl AnthropicProvider {
    pub fn new(
        api_key: &str,
        base_url: Option<&str>,
        settings: RetrySettings,
    ) -> Result<Self, LlmError> {
        let base = base_url.unwrap_or(DEFAULT_BASE_URL).trim_end_matches('/');
        let mut headers = HeaderMap::new();
        let mut key = HeaderValue::from_str(api_key).map_err(|_| LlmError::Config {
            provider: NAME,
            message: "the API key is not a valid header value".into(),
        })?;
        key.set_sensitive(true);
        headers.insert(HeaderName::from_static("x-api-key"), key);
        headers.insert(
            HeaderName::from_static("anthropic-version"),
            HeaderValue::from_static(API_VERSION),
        );
        Ok(Self {
            sender: JsonSender::new(NAME, settings, parse_error)?,
            url: format!("{base}/v1/messages"),
            headers,
        })
    }
}

#[async_trait]
impl Provider for AnthropicProvider {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let body = to_wire(request);
        let bytes = self.sender.post(&self.url, &self.headers, &body).await?;
        from_wire(&bytes)
    }
}

/// The request body for a [`ChatRequest`].
pub fn to_wire(request: &ChatRequest) -> Value {
    let messages: Vec<Value> = request
        .messages
        .iter()
        .map(|message| {
            let role = match message.role {
                Role::User => "user",
                Role::Assistant => "assistant",
            };
            let content: Vec<Value> = message.content.iter().map(block_to_wire).collect();
            json!({ "role": role, "content": content })
        })
        .collect();
    let mut body = json!({
        "model": request.model,
        "max_tokens": request.max_tokens,
        "messages": messages,
    });
    if !request.system.is_empty() {
        body["system"] = json!(request.system);
    }
    if !request.tools.is_empty() {
        let tools: Vec<Value> = request
            .tools
            .iter()
            .map(|t| json!({ "name": t.name, "description": t.description, "input_schema": t.input_schema }))
            .collect();
        body["tools"] = json!(tools);
        let choice = match request.tool_choice {
            ToolChoice::Auto => "auto",
            ToolChoice::None => "none",
        };
        body["tool_choice"] = json!({ "type": choice });
    }
    body
}

fn block_to_wire(block: &ContentBlock) -> Value {
    match block {
        ContentBlock::Text { text } => json!({ "type": "text", "text": text }),
        ContentBlock::ToolUse(call) => {
            // The API insists on an object; arguments that never parsed go back as `{}` (the
            // loop has already told the model they were invalid).
            let input = if call.input.is_object() {
                call.input.clone()
            } else {
                json!({})
            };
            json!({ "type": "tool_use", "id": call.id, "name": call.name, "input": input })
        }
        ContentBlock::ToolResult {
            tool_use_id,
            content,
            is_error,
        } => {
            let mut v =
                json!({ "type": "tool_result", "tool_use_id": tool_use_id, "content": content });
            if *is_error {
                v["is_error"] = json!(true);
            }
            v
        }
    }
}

#[derive(Deserialize)]
struct WireResponse {
    #[serde(default)]
    model: String,
    content: Vec<WireBlock>,
    stop_reason: Option<String>,
    usage: WireUsage,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireBlock {
    Text {
        text: String,
    },
    ToolUse {
        id: String,
        name: String,
        #[serde(default)]
        input: Value,
    },
    /// `thinking`, `redacted_thinking`, server tool blocks, …: not part of our conversation.
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
}

/// Reads a successful response body.
pub fn from_wire(bytes: &[u8]) -> Result<ChatResponse, LlmError> {
    let wire: WireResponse = serde_json::from_slice(bytes).map_err(|e| LlmError::Decode {
        provider: NAME,
        message: e.to_string(),
    })?;
    let content = wire
        .content
        .into_iter()
        .filter_map(|block| match block {
            WireBlock::Text { text } => Some(ContentBlock::Text { text }),
            WireBlock::ToolUse { id, name, input } => Some(ContentBlock::ToolUse(ToolCall {
                id,
                name,
                input,
                invalid_input: None,
            })),
            WireBlock::Other => None,
        })
        .collect();
    let stop_reason = match wire.stop_reason.as_deref() {
        Some("end_turn") | Some("stop_sequence") => StopReason::EndTurn,
        Some("tool_use") => StopReason::ToolUse,
        Some("max_tokens") => StopReason::MaxTokens,
        Some(other) => StopReason::Other(other.to_string()),
        None => StopReason::Other("none".into()),
    };
    // Cached prompt tokens are still input the model read; the budget counts them all.
    let input_tokens = wire.usage.input_tokens
        + wire.usage.cache_creation_input_tokens.unwrap_or(0)
        + wire.usage.cache_read_input_tokens.unwrap_or(0);
    Ok(ChatResponse {
        model: wire.model,
        message: Message {
            role: Role::Assistant,
            content,
        },
        stop_reason,
        usage: Usage {
            input_tokens,
            output_tokens: wire.usage.output_tokens,
        },
    })
}

/// `{"type":"error","error":{"type":..,"message":..}}`
pub(crate) fn parse_error(bytes: &[u8]) -> Option<(Option<String>, String)> {
    let v: Value = serde_json::from_slice(bytes).ok()?;
    let error = v.get("error")?;
    let message = error.get("message")?.as_str()?.to_string();
    let kind = error
        .get("type")
        .and_then(Value::as_str)
        .map(str::to_string);
    Some((kind, message))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::message::ToolDefinition;

    #[test]
    fn request_shape() {
        let request = ChatRequest {
            model: "claude-x".into(),
            system: "be brief".into(),
            messages: vec![
                Message::user_text("why?"),
                Message {
                    role: Role::Assistant,
                    content: vec![
                        ContentBlock::text("checking"),
                        ContentBlock::ToolUse(ToolCall {
                            id: "tu_1".into(),
                            name: "get_pod".into(),
                            input: json!({"name": "p"}),
                            invalid_input: None,
                        }),
                    ],
                },
                Message {
                    role: Role::User,
                    content: vec![ContentBlock::ToolResult {
                        tool_use_id: "tu_1".into(),
                        content: "no such pod".into(),
                        is_error: true,
                    }],
                },
            ],
            tools: vec![ToolDefinition {
                name: "get_pod".into(),
                description: "reads a pod".into(),
                input_schema: json!({"type": "object"}),
            }],
            tool_choice: ToolChoice::None,
            max_tokens: 100,
        };
        let body = to_wire(&request);
        assert_eq!(
            body,
            json!({
                "model": "claude-x", "max_tokens": 100, "system": "be brief",
                "messages": [
                    {"role": "user", "content": [{"type": "text", "text": "why?"}]},
                    {"role": "assistant", "content": [
                        {"type": "text", "text": "checking"},
                        {"type": "tool_use", "id": "tu_1", "name": "get_pod", "input": {"name": "p"}}]},
                    {"role": "user", "content": [
                        {"type": "tool_result", "tool_use_id": "tu_1", "content": "no such pod", "is_error": true}]}
                ],
                "tools": [{"name": "get_pod", "description": "reads a pod", "input_schema": {"type": "object"}}],
                "tool_choice": {"type": "none"}
            })
        );
    }

    #[test]
    fn response_shape() {
        let body = br#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-x",
            "content":[{"type":"thinking","thinking":"hm","signature":"s"},{"type":"text","text":"Let me look."},
                       {"type":"tool_use","id":"tu_9","name":"logs","input":{"pod":"a"}}],
            "stop_reason":"tool_use","stop_sequence":null,
            "usage":{"input_tokens":10,"output_tokens":5,"cache_read_input_tokens":100}}"#;
        let r = from_wire(body).unwrap();
        assert_eq!(r.stop_reason, StopReason::ToolUse);
        assert_eq!(
            r.usage,
            Usage {
                input_tokens: 110,
                output_tokens: 5
            }
        );
        assert_eq!(r.message.text(), "Let me look.");
        let calls: Vec<_> = r.message.tool_calls().collect();
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].name, "logs");
        assert_eq!(calls[0].input, json!({"pod": "a"}));
    }

    #[test]
    fn error_body() {
        let body =
            br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
        assert_eq!(
            parse_error(body),
            Some((Some("overloaded_error".into()), "Overloaded".into()))
        );
        assert_eq!(parse_error(b"<html>bad gateway</html>"), None);
    }
}

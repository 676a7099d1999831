//! OpenAI chat completions: `POST {base_url}/chat/completions`. The base URL is configurable so
//! OpenAI-compatible servers (Ollama, vLLM, LiteLLM, Azure's v1 endpoint) work. Tool calls are
//! `tool_calls` on the assistant message with arguments as a JSON *string*; results are
//! `role: tool` messages.

use super::http::JsonSender;
use super::{LlmError, Provider};
use crate::message::{
    ChatRequest, ChatResponse, ContentBlock, Message, Role, StopReason, ToolCall, ToolChoice, Usage,
};
use async_trait::async_trait;
use nightwatch_core::retry::RetrySettings;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use serde::Deserialize;
use serde_json::{Value, json};

const NAME: &str = "openai";
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";

/// Prefix on tool results that failed: the chat format has no `is_error` flag.
pub const ERROR_PREFIX: &str = "ERROR: ";

pub struct OpenAiProvider {
    sender: JsonSender,
    url: String,
    headers: HeaderMap,
    max_tokens_field: &'static str,
}

impl OpenAiProvider {
    /// `api_key` may be absent for local servers (Ollama, vLLM) that need none.
    /// `max_completion_tokens` selects the newer field that OpenAI's reasoning models require;
    /// most compatible servers only know `max_tokens`.
    pub fn new(
        api_key: Option<&str>,
        base_url: Option<&str>,
        max_completion_tokens: bool,
        settings: RetrySettings,
    ) -> Result<Self, LlmError> {
        let base = base_url.unwrap_or(DEFAULT_BASE_URL).trim_end_matches('/');
        let mut headers = HeaderMap::new();
        if let Some(key) = api_key.filter(|k| !k.is_empty()) {
            let mut value =
                HeaderValue::from_str(&format!("Bearer {key}")).map_err(|_| LlmError::Config {
                    provider: NAME,
                    message: "the API key is not a valid header value".into(),
                })?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        Ok(Self {
            sender: JsonSender::new(NAME, settings, parse_error)?,
            url: format!("{base}/chat/completions"),
            headers,
            max_tokens_field: if max_completion_tokens {
                "max_completion_tokens"
            } else {
                "max_tokens"
            },
        })
    }
}

#[async_trait]
impl Provider for OpenAiProvider {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let mut body = to_wire(request);
        body[self.max_tokens_field] = json!(request.max_tokens);
        let bytes = self.sender.post(&self.url, &self.headers, &body).await?;
        from_wire(&bytes)
    }
}

/// The request body for a [`ChatRequest`], without the max-tokens field (its name depends on
/// the server).
pub fn to_wire(request: &ChatRequest) -> Value {
    let mut messages = Vec::new();
    if !request.system.is_empty() {
        messages.push(json!({ "role": "system", "content": request.system }));
    }
    for message in &request.messages {
        match message.role {
            Role::User => user_to_wire(message, &mut messages),
            Role::Assistant => messages.push(assistant_to_wire(message)),
        }
    }
    let mut body = json!({ "model": request.model, "messages": messages });
    if !request.tools.is_empty() {
        let tools: Vec<Value> = request
            .tools
            .iter()
            .map(|t| {
                json!({ "type": "function", "function": {
                    "name": t.name, "description": t.description, "parameters": t.input_schema } })
            })
            .collect();
        body["tools"] = json!(tools);
        body["tool_choice"] = json!(match request.tool_choice {
            ToolChoice::Auto => "auto",
            ToolChoice::None => "none",
        });
    }
    body
}

/// Tool results become `tool` messages (they must follow the assistant message directly); any
/// text in the same neutral message follows as one user message.
fn user_to_wire(message: &Message, out: &mut Vec<Value>) {
    let mut texts = Vec::new();
    for block in &message.content {
        match block {
            ContentBlock::ToolResult {
                tool_use_id,
                content,
                is_error,
            } => {
                let content = if *is_error {
                    format!("{ERROR_PREFIX}{content}")
                } else {
                    content.clone()
                };
                out.push(
                    json!({ "role": "tool", "tool_call_id": tool_use_id, "content": content }),
                );
            }
            ContentBlock::Text { text } => texts.push(text.as_str()),
            ContentBlock::ToolUse(_) => {}
        }
    }
    if !texts.is_empty() {
        out.push(json!({ "role": "user", "content": texts.join("\n") }));
    }
}

fn assistant_to_wire(message: &Message) -> Value {
    let text = message.text();
    let calls: Vec<Value> = message
        .tool_calls()
        .map(|call| {
            let arguments = match &call.invalid_input {
                Some(raw) => raw.clone(),
                None => call.input.to_string(),
            };
            json!({ "id": call.id, "type": "function",
                    "function": { "name": call.name, "arguments": arguments } })
        })
        .collect();
    let mut v = json!({
        "role": "assistant",
        "content": if text.is_empty() { Value::Null } else { json!(text) },
    });
    if !calls.is_empty() {
        v["tool_calls"] = json!(calls);
    }
    v
}

#[derive(Deserialize)]
struct WireResponse {
    #[serde(default)]
    model: String,
    choices: Vec<WireChoice>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct WireChoice {
    message: WireMessage,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct WireMessage {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    tool_calls: Vec<WireToolCall>,
}

#[derive(Deserialize)]
struct WireToolCall {
    id: String,
    function: WireFunction,
}

#[derive(Deserialize)]
struct WireFunction {
    name: String,
    #[serde(default)]
    arguments: String,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
}

/// Reads a successful response body.
pub fn from_wire(bytes: &[u8]) -> Result<ChatResponse, LlmError> {
    let wire: WireResponse = serde_json::from_slice(bytes).map_err(|e| LlmError::Decode {
        provider: NAME,
        message: e.to_string(),
    })?;
    let Some(choice) = wire.choices.into_iter().next() else {
        return Err(LlmError::Decode {
            provider: NAME,
            message: "no choices in the response".into(),
        });
    };
    let mut content = Vec::new();
    if let Some(text) = choice.message.content.filter(|t| !t.is_empty()) {
        content.push(ContentBlock::Text { text });
    }
    for call in choice.message.tool_calls {
        content.push(ContentBlock::ToolUse(parse_call(call)));
    }
    let stop_reason = match choice.finish_reason.as_deref() {
        Some("stop") => StopReason::EndTurn,
        Some("tool_calls") | Some("function_call") => StopReason::ToolUse,
        Some("length") => StopReason::MaxTokens,
        Some(other) => StopReason::Other(other.to_string()),
        None => StopReason::Other("none".into()),
    };
    let usage = wire.usage.map_or(Usage::default(), |u| Usage {
        input_tokens: u.prompt_tokens,
        output_tokens: u.completion_tokens,
    });
    Ok(ChatResponse {
        model: wire.model,
        message: Message {
            role: Role::Assistant,
            content,
        },
        stop_reason,
        usage,
    })
}

fn parse_call(call: WireToolCall) -> ToolCall {
    let raw = call.function.arguments;
    // Some compatible servers send "" for a call without arguments.
    if raw.trim().is_empty() {
        return ToolCall {
            id: call.id,
            name: call.function.name,
            input: json!({}),
            invalid_input: None,
        };
    }
    match serde_json::from_str::<Value>(&raw) {
        Ok(input) => ToolCall {
            id: call.id,
            name: call.function.name,
            input,
            invalid_input: None,
        },
        Err(_) => ToolCall {
            id: call.id,
            name: call.function.name,
            input: Value::Null,
            invalid_input: Some(raw),
        },
    }
}

/// `{"error":{"message","type","code"}}`, or `{"error":"text"}` from some compatible servers.
pub(crate) fn parse_error(bytes: &[u8]) -> Option<(Option<String>, String)> {
    let v: Value = serde_json::from_slice(bytes).ok()?;
    let error = v.get("error")?;
    if let Some(text) = error.as_str() {
        return Some((None, text.to_string()));
    }
    let message = error.get("message")?.as_str()?.to_string();
    let kind = error
        .get("type")
        .and_then(Value::as_str)
        .or_else(|| error.get("code").and_then(Value::as_str))
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
            model: "gpt-x".into(),
            system: "be brief".into(),
            messages: vec![
                Message::user_text("why?"),
                Message {
                    role: Role::Assistant,
                    content: vec![ContentBlock::ToolUse(ToolCall {
                        id: "c1".into(),
                        name: "get_pod".into(),
                        input: Value::Null,
                        invalid_input: Some("{bad".into()),
                    })],
                },
                Message {
                    role: Role::User,
                    content: vec![
                        ContentBlock::ToolResult {
                            tool_use_id: "c1".into(),
                            content: "arguments are not JSON".into(),
                            is_error: true,
                        },
                        ContentBlock::text("budget is over; write up"),
                    ],
                },
            ],
            tools: vec![ToolDefinition {
                name: "get_pod".into(),
                description: "reads a pod".into(),
                input_schema: json!({"type": "object"}),
            }],
            tool_choice: ToolChoice::Auto,
            max_tokens: 100,
        };
        assert_eq!(
            to_wire(&request),
            json!({
                "model": "gpt-x",
                "messages": [
                    {"role": "system", "content": "be brief"},
                    {"role": "user", "content": "why?"},
                    {"role": "assistant", "content": null, "tool_calls": [
                        {"id": "c1", "type": "function", "function": {"name": "get_pod", "arguments": "{bad"}}]},
                    {"role": "tool", "tool_call_id": "c1", "content": "ERROR: arguments are not JSON"},
                    {"role": "user", "content": "budget is over; write up"}
                ],
                "tools": [{"type": "function", "function": {"name": "get_pod", "description": "reads a pod", "parameters": {"type": "object"}}}],
                "tool_choice": "auto"
            })
        );
    }

    #[test]
    fn response_shape() {
        let body = br#"{"id":"chatcmpl-1","object":"chat.completion","model":"gpt-x",
            "choices":[{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant","content":null,
              "tool_calls":[{"id":"c1","type":"function","function":{"name":"logs","arguments":"{\"pod\":\"a\"}"}},
                            {"id":"c2","type":"function","function":{"name":"logs","arguments":"{\"pod\":"}}]}}],
            "usage":{"prompt_tokens":12,"completion_tokens":7,"total_tokens":19}}"#;
        let r = from_wire(body).unwrap();
        assert_eq!(r.stop_reason, StopReason::ToolUse);
        assert_eq!(
            r.usage,
            Usage {
                input_tokens: 12,
                output_tokens: 7
            }
        );
        let calls: Vec<_> = r.message.tool_calls().collect();
        assert_eq!(calls[0].input, json!({"pod": "a"}));
        assert_eq!(calls[0].invalid_input, None);
        assert_eq!(calls[1].input, Value::Null);
        assert_eq!(calls[1].invalid_input.as_deref(), Some("{\"pod\":"));
    }

    #[test]
    fn error_bodies() {
        let body = br#"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"#;
        assert_eq!(
            parse_error(body),
            Some((Some("requests".into()), "Rate limit reached".into()))
        );
        assert_eq!(
            parse_error(br#"{"error":"model not found"}"#),
            Some((None, "model not found".into()))
        );
    }
}

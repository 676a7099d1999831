//! Wire-faithful fake Anthropic and OpenAI servers (feature `fake`): a real HTTP server on
//! 127.0.0.1 that checks requests the way the real APIs do (headers, role order, every tool call
//! answered, tools defined when the history holds tool blocks), plays a scripted queue of replies
//! and records every request it received, so tests can assert what reached the "provider".

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Anthropic,
    OpenAi,
}

/// One scripted answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// Wait this long (tokio time) before answering, to exercise client timeouts.
    pub delay: Option<std::time::Duration>,
}

impl Reply {
    pub fn json(body: Value) -> Self {
        Self {
            status: 200,
            headers: Vec::new(),
            body: body.to_string(),
            delay: None,
        }
    }

    pub fn status(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.into(),
            delay: None,
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn delayed(mut self, by: std::time::Duration) -> Self {
        self.delay = Some(by);
        self
    }

    /// Sets the token counts in a success body of either flavour.
    pub fn usage(mut self, input: u64, output: u64) -> Self {
        if let Ok(mut v) = serde_json::from_str::<Value>(&self.body) {
            if v.get("choices").is_some() {
                v["usage"] = json!({"prompt_tokens": input, "completion_tokens": output,
                                    "total_tokens": input + output});
            } else {
                v["usage"] = json!({"input_tokens": input, "output_tokens": output});
            }
            self.body = v.to_string();
        }
        self
    }
}

/// What the server received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub headers: BTreeMap<String, String>,
    /// The body as received, byte for byte (as text).
    pub raw: String,
    pub body: Value,
    /// The status the fake answered with.
    pub status: u16,
}

/// A scripted model that answers from the request (e.g. cites an event id it finds in the
/// prompt, or calls the tools it is offered); played when the queue is empty.
pub type Model = Arc<dyn Fn(&Value) -> Reply + Send + Sync>;

#[derive(Default)]
struct State {
    script: VecDeque<Reply>,
    model: Option<Model>,
    requests: Vec<Recorded>,
}

pub struct FakeServer {
    flavor: Flavor,
    addr: std::net::SocketAddr,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeServer {
    /// Starts a server on a free port; `Err` only if it cannot bind.
    pub async fn start(flavor: Flavor, script: Vec<Reply>) -> std::io::Result<Self> {
        let state = Arc::new(Mutex::new(State {
            script: script.into(),
            model: None,
            requests: Vec::new(),
        }));
        let path = match flavor {
            Flavor::Anthropic => "/v1/messages",
            Flavor::OpenAi => "/v1/chat/completions",
        };
        let handler_state = state.clone();
        let app = Router::new().route(
            path,
            post(move |headers: HeaderMap, body: Bytes| {
                let state = handler_state.clone();
                async move {
                    let (delay, response) = handle(flavor, &state, &headers, &body);
                    if let Some(delay) = delay {
                        tokio::time::sleep(delay).await;
                    }
                    response
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                tracing::error!(%error, "fake LLM server stopped");
            }
        });
        Ok(Self {
            flavor,
            addr,
            state,
            task,
        })
    }

    /// The base URL a provider client is configured with (OpenAI's includes `/v1`).
    pub fn base_url(&self) -> String {
        match self.flavor {
            Flavor::Anthropic => format!("http://{}", self.addr),
            Flavor::OpenAi => format!("http://{}/v1", self.addr),
        }
    }

    /// Answers every request the queue has no reply for with `model(request body)`.
    pub fn set_model(&self, model: Model) {
        self.lock().model = Some(model);
    }

    pub fn push(&self, reply: Reply) {
        self.lock().script.push_back(reply);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    /// Replies not yet played.
    pub fn remaining(&self) -> usize {
        self.lock().script.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        lock(&self.state)
    }
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn handle(
    flavor: Flavor,
    state: &Mutex<State>,
    headers: &HeaderMap,
    body: &Bytes,
) -> (Option<std::time::Duration>, Response) {
    let raw = String::from_utf8_lossy(body).into_owned();
    let parsed: Result<Value, _> = serde_json::from_slice(body);
    let checked = match &parsed {
        Ok(v) => match flavor {
            Flavor::Anthropic => check_anthropic(headers, v),
            Flavor::OpenAi => check_openai(headers, v),
        },
        Err(e) => Err((400, format!("body is not JSON: {e}"))),
    };
    let mut state = lock(state);
    let reply = match checked {
        Err((status, message)) => error_reply(flavor, status, &message),
        Ok(()) => match (state.script.pop_front(), &state.model) {
            (Some(reply), _) => reply,
            (None, Some(model)) => model(parsed.as_ref().unwrap_or(&Value::Null)),
            (None, None) => error_reply(flavor, 500, "fake server: the script has no more replies"),
        },
    };
    state.requests.push(Recorded {
        headers: headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        raw,
        body: parsed.unwrap_or(Value::Null),
        status: reply.status,
    });
    drop(state);
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        reply.body,
    )
        .into_response();
    for (name, value) in reply.headers {
        if let (Ok(name), Ok(value)) = (
            axum::http::HeaderName::from_bytes(name.as_bytes()),
            axum::http::HeaderValue::from_str(&value),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    (reply.delay, response)
}

fn error_reply(flavor: Flavor, status: u16, message: &str) -> Reply {
    match flavor {
        Flavor::Anthropic => anthropic::error(status, anthropic_kind(status), message),
        Flavor::OpenAi => openai::error(status, "invalid_request_error", message),
    }
}

fn anthropic_kind(status: u16) -> &'static str {
    match status {
        400 => "invalid_request_error",
        401 => "authentication_error",
        429 => "rate_limit_error",
        529 => "overloaded_error",
        _ => "api_error",
    }
}

type Check = Result<(), (u16, String)>;

fn bad(message: impl Into<String>) -> Check {
    Err((400, message.into()))
}

fn check_anthropic(headers: &HeaderMap, body: &Value) -> Check {
    if headers.get("x-api-key").is_none_or(|v| v.is_empty()) {
        return Err((401, "x-api-key header is required".into()));
    }
    if headers
        .get("anthropic-version")
        .and_then(|v| v.to_str().ok())
        != Some("2023-06-01")
    {
        return bad("anthropic-version: header is required");
    }
    if !body.get("model").is_some_and(Value::is_string) {
        return bad("model: Field required");
    }
    if !body.get("max_tokens").is_some_and(Value::is_u64) {
        return bad("max_tokens: Field required");
    }
    let Some(messages) = body.get("messages").and_then(Value::as_array) else {
        return bad("messages: Field required");
    };
    if messages.is_empty() {
        return bad("messages: at least one message is required");
    }
    let has_tools = body
        .get("tools")
        .and_then(Value::as_array)
        .is_some_and(|t| !t.is_empty());
    let mut expected: Vec<String> = Vec::new();
    for (i, message) in messages.iter().enumerate() {
        let role = message.get("role").and_then(Value::as_str).unwrap_or("");
        let want = if i % 2 == 0 { "user" } else { "assistant" };
        if role != want {
            return bad(format!(
                "messages.{i}: roles must alternate between \"user\" and \"assistant\", starting with \"user\""
            ));
        }
        let Some(blocks) = message.get("content").and_then(Value::as_array) else {
            return bad(format!("messages.{i}.content: expected a list of blocks"));
        };
        let mut results = Vec::new();
        let mut uses = Vec::new();
        for block in blocks {
            match block.get("type").and_then(Value::as_str) {
                Some("text") => {}
                Some("tool_use") => {
                    if !block.get("input").is_some_and(Value::is_object) {
                        return bad(format!("messages.{i}: tool_use.input must be an object"));
                    }
                    uses.push(str_field(block, "id"));
                }
                Some("tool_result") => results.push(str_field(block, "tool_use_id")),
                other => return bad(format!("messages.{i}: unknown block type {other:?}")),
            }
        }
        if (!uses.is_empty() || !results.is_empty()) && !has_tools {
            return bad(
                "Requests which include `tool_use` or `tool_result` blocks must define tools.",
            );
        }
        if role == "user" {
            if results != expected {
                return bad(format!(
                    "messages.{i}: `tool_use` ids were found without `tool_result` blocks immediately after: {expected:?} (got {results:?})"
                ));
            }
            expected.clear();
        } else {
            expected = uses;
        }
    }
    if !expected.is_empty() {
        return bad("the last assistant message has unanswered tool_use blocks");
    }
    Ok(())
}

fn check_openai(headers: &HeaderMap, body: &Value) -> Check {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
    if !auth.is_some_and(|a| a.starts_with("Bearer ") && a.len() > 7) {
        return Err((401, "You didn't provide an API key.".into()));
    }
    if !body.get("model").is_some_and(Value::is_string) {
        return bad("you must provide a model parameter");
    }
    let Some(messages) = body.get("messages").and_then(Value::as_array) else {
        return bad("'messages' is a required property");
    };
    let mut pending: VecDeque<String> = VecDeque::new();
    for (i, message) in messages.iter().enumerate() {
        let role = message.get("role").and_then(Value::as_str).unwrap_or("");
        if role == "tool" {
            let id = str_field(message, "tool_call_id");
            if pending.front() != Some(&id) {
                return bad(format!(
                    "messages.[{i}]: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'"
                ));
            }
            pending.pop_front();
            continue;
        }
        if !pending.is_empty() {
            return bad(format!(
                "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: {}",
                pending.iter().cloned().collect::<Vec<_>>().join(", ")
            ));
        }
        if role == "assistant" {
            for call in message
                .get("tool_calls")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if !call
                    .pointer("/function/arguments")
                    .is_some_and(Value::is_string)
                {
                    return bad(format!(
                        "messages.[{i}].tool_calls: arguments must be a string"
                    ));
                }
                pending.push_back(str_field(call, "id"));
            }
        } else if !matches!(role, "system" | "user" | "developer") {
            return bad(format!("messages.[{i}].role: invalid value {role:?}"));
        }
    }
    if !pending.is_empty() {
        return bad("tool_calls without tool responses at the end of messages");
    }
    Ok(())
}

fn str_field(v: &Value, name: &str) -> String {
    v.get(name)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// Anthropic reply builders.
pub mod anthropic {
    use super::Reply;
    use serde_json::{Value, json};

    fn message(content: Vec<Value>, stop_reason: &str) -> Reply {
        Reply::json(json!({
            "id": "msg_fake", "type": "message", "role": "assistant", "model": "claude-fake-1",
            "content": content, "stop_reason": stop_reason, "stop_sequence": null,
            "usage": {"input_tokens": 100, "output_tokens": 20}
        }))
    }

    pub fn text(text: &str) -> Reply {
        message(vec![json!({"type": "text", "text": text})], "end_turn")
    }

    /// A turn that calls tools: (id, name, input).
    pub fn tool_use(calls: &[(&str, &str, Value)]) -> Reply {
        let mut content = vec![json!({"type": "text", "text": "Let me check."})];
        for (id, name, input) in calls {
            content.push(json!({"type": "tool_use", "id": id, "name": name, "input": input}));
        }
        message(content, "tool_use")
    }

    pub fn max_tokens(text: &str) -> Reply {
        message(vec![json!({"type": "text", "text": text})], "max_tokens")
    }

    pub fn error(status: u16, kind: &str, message: &str) -> Reply {
        Reply::status(
            status,
            json!({"type": "error", "error": {"type": kind, "message": message}}).to_string(),
        )
    }

    pub fn rate_limited(retry_after_secs: u64) -> Reply {
        error(
            429,
            "rate_limit_error",
            "Number of request tokens has exceeded your rate limit.",
        )
        .header("retry-after", &retry_after_secs.to_string())
    }
}

/// OpenAI reply builders.
pub mod openai {
    use super::Reply;
    use serde_json::{Value, json};

    fn completion(message: Value, finish_reason: &str) -> Reply {
        Reply::json(json!({
            "id": "chatcmpl-fake", "object": "chat.completion", "created": 1_700_000_000,
            "model": "gpt-fake-1",
            "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish_reason}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}
        }))
    }

    pub fn text(text: &str) -> Reply {
        completion(json!({"role": "assistant", "content": text}), "stop")
    }

    /// A turn that calls tools: (id, name, arguments as the raw string the model wrote).
    pub fn tool_calls(calls: &[(&str, &str, &str)]) -> Reply {
        let calls: Vec<Value> = calls
            .iter()
            .map(|(id, name, arguments)| {
                json!({"id": id, "type": "function", "function": {"name": name, "arguments": arguments}})
            })
            .collect();
        completion(
            json!({"role": "assistant", "content": null, "tool_calls": calls}),
            "tool_calls",
        )
    }

    pub fn error(status: u16, kind: &str, message: &str) -> Reply {
        Reply::status(
            status,
            json!({"error": {"message": message, "type": kind, "param": null, "code": null}})
                .to_string(),
        )
    }

    pub fn rate_limited(retry_after_ms: u64) -> Reply {
        Reply::status(
            429,
            json!({"error": {"message": "Rate limit reached for requests", "type": "requests",
                              "param": null, "code": "rate_limit_exceeded"}})
            .to_string(),
        )
        .header("retry-after-ms", &retry_after_ms.to_string())
    }
}

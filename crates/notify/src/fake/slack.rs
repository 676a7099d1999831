//! A fake Slack: the Web API methods nightwatch calls (`chat.postMessage`, `chat.update`,
//! `chat.postEphemeral`, `apps.connections.open`), `response_url` targets, and the Socket Mode
//! WebSocket. Tokens are checked like Slack does (`not_authed` without one, the bot token for
//! `chat.*`, the app-level token for `apps.connections.open`, `not_allowed_token_type` for the
//! other kind, `invalid_auth` for an unknown one), connection tickets are single-use, and the
//! envelopes follow Slack's Socket Mode shapes.

use super::{Changes, bind, lock};
use axum::Router;
use axum::body::Bytes;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

pub const BOT_TOKEN: &str = "xoxb-fake-bot-token";
pub const APP_TOKEN: &str = "xapp-1-fake-app-token";
const TEAM_ID: &str = "T0FAKE";
const APP_ID: &str = "A0FAKE";
const BOT_USER: &str = "U0NWBOT";

/// One Web API request as received.
#[derive(Debug, Clone)]
pub struct SlackRequest {
    pub method: String,
    /// The bearer token sent, if any.
    pub token: Option<String>,
    pub body: Value,
    /// The HTTP status answered.
    pub status: u16,
    /// Slack's `error` when it answered `ok: false`.
    pub error: Option<String>,
}

/// A message as the channel holds it now.
#[derive(Debug, Clone, PartialEq)]
pub struct SlackMessage {
    pub ts: String,
    pub thread_ts: Option<String>,
    pub text: String,
    pub blocks: Value,
    /// How many times `chat.update` changed it.
    pub edits: u32,
    /// Its message metadata (`event_type`, `event_payload`), as posted.
    pub metadata: Option<Value>,
}

/// A push found no live Socket Mode connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no Socket Mode connection is open")]
pub struct NotConnected;

#[derive(Debug)]
struct Channel {
    name: String,
    messages: Vec<SlackMessage>,
}

enum Outgoing {
    Frame(String),
    Drop,
}

#[derive(Default)]
struct Inner {
    channels: BTreeMap<String, Channel>,
    requests: Vec<SlackRequest>,
    /// method → Retry-After seconds of the 429s still to give.
    rate_limits: HashMap<String, VecDeque<u64>>,
    /// method → `ok: false` errors still to give.
    failures: HashMap<String, VecDeque<String>>,
    ts_counter: u64,
    tickets: HashSet<String>,
    counter: u64,
    connections_opened: usize,
    live: BTreeMap<u64, mpsc::UnboundedSender<Outgoing>>,
    acks: Vec<String>,
    /// Frames from the client that were not acks.
    unexpected: Vec<String>,
    envelopes: HashMap<String, Value>,
    responses: Vec<(String, Value)>,
    ephemerals: Vec<Value>,
}

struct Shared {
    addr: std::net::SocketAddr,
    inner: Mutex<Inner>,
    changes: Changes,
}

impl Shared {
    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        let result = f(&mut lock(&self.inner));
        self.changes.bump();
        result
    }
}

pub struct FakeSlack {
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeSlack {
    fn drop(&mut self) {
        self.task.abort();
        // Close the Socket Mode connections too: they run on their own tasks.
        for connection in lock(&self.shared.inner).live.values() {
            let _ = connection.send(Outgoing::Drop);
        }
    }
}

impl FakeSlack {
    /// Starts on a free port with one channel, `#alerts` (id `C0ALERTS`).
    pub async fn start() -> std::io::Result<Self> {
        let (listener, addr) = bind().await?;
        let shared = Arc::new(Shared {
            addr,
            inner: Mutex::new(Inner::default()),
            changes: Changes::new(),
        });
        shared.with(|s| {
            s.channels.insert(
                "C0ALERTS".into(),
                Channel {
                    name: "alerts".into(),
                    messages: Vec::new(),
                },
            )
        });
        let app = Router::new()
            .route("/api/{method}", any(web_api))
            .route("/link/", get(link))
            .route("/response/{id}", post(response_url))
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                tracing::error!(%error, "fake Slack stopped");
            }
        });
        Ok(Self { shared, task })
    }

    /// What `base_url` is set to in the clients' configuration.
    pub fn base_url(&self) -> String {
        format!("http://{}/api/", self.shared.addr)
    }

    pub fn bot_token(&self) -> &'static str {
        BOT_TOKEN
    }

    pub fn app_token(&self) -> &'static str {
        APP_TOKEN
    }

    /// Adds a channel; returns its id.
    pub fn add_channel(&self, name: &str) -> String {
        self.shared.with(|s| {
            let id = format!("C{:07}", s.channels.len() + 1);
            s.channels.insert(
                id.clone(),
                Channel {
                    name: name.trim_start_matches('#').to_string(),
                    messages: Vec::new(),
                },
            );
            id
        })
    }

    /// The next `times` calls of `method` answer HTTP 429 with `Retry-After: retry_after_secs`.
    pub fn rate_limit(&self, method: &str, times: usize, retry_after_secs: u64) {
        self.shared.with(|s| {
            s.rate_limits
                .entry(method.to_string())
                .or_default()
                .extend(std::iter::repeat_n(retry_after_secs, times))
        });
    }

    /// The next call of `method` answers `{"ok": false, "error": error}`.
    pub fn fail_next(&self, method: &str, error: &str) {
        self.shared.with(|s| {
            s.failures
                .entry(method.to_string())
                .or_default()
                .push_back(error.to_string())
        });
    }

    pub fn requests(&self) -> Vec<SlackRequest> {
        lock(&self.shared.inner).requests.clone()
    }

    /// Messages of a channel (by id or name), oldest first, as they are now.
    pub fn messages(&self, channel: &str) -> Vec<SlackMessage> {
        let s = lock(&self.shared.inner);
        resolve(&s, channel)
            .and_then(|id| s.channels.get(&id))
            .map(|c| c.messages.clone())
            .unwrap_or_default()
    }

    pub fn ephemerals(&self) -> Vec<Value> {
        lock(&self.shared.inner).ephemerals.clone()
    }

    /// Bodies posted to the `response_url`s this fake handed out, with their URLs.
    pub fn responses(&self) -> Vec<(String, Value)> {
        lock(&self.shared.inner).responses.clone()
    }

    /// Socket Mode connections accepted so far (the current one included).
    pub fn connections(&self) -> usize {
        lock(&self.shared.inner).connections_opened
    }

    pub fn live_connections(&self) -> usize {
        lock(&self.shared.inner).live.len()
    }

    /// Envelope ids acknowledged by the client, in order (repeats included).
    pub fn acks(&self) -> Vec<String> {
        lock(&self.shared.inner).acks.clone()
    }

    /// Frames the client sent that were not acknowledgements.
    pub fn unexpected_frames(&self) -> Vec<String> {
        lock(&self.shared.inner).unexpected.clone()
    }

    pub async fn wait_for_connections(&self, n: usize, timeout: Duration) -> bool {
        self.shared
            .changes
            .wait_for(timeout, || {
                self.connections() >= n && self.live_connections() > 0
            })
            .await
    }

    /// True once `condition` holds for this fake (checked on every change it sees).
    pub async fn wait_until(
        &self,
        timeout: Duration,
        mut condition: impl FnMut(&FakeSlack) -> bool,
    ) -> bool {
        self.shared
            .changes
            .wait_for(timeout, || condition(self))
            .await
    }

    pub async fn wait_for_acks(&self, n: usize, timeout: Duration) -> bool {
        self.shared
            .changes
            .wait_for(timeout, || self.acks().len() >= n)
            .await
    }

    /// Clicks a button of a posted message as `user` would: the `block_actions` payload carries
    /// the message and the button's own `value`. Returns the envelope id.
    pub fn click(
        &self,
        channel: &str,
        message_ts: &str,
        action_id: &str,
        user: &str,
    ) -> Result<String, String> {
        let (channel_id, channel_name, message) = {
            let s = lock(&self.shared.inner);
            let id = resolve(&s, channel).ok_or_else(|| format!("no channel {channel}"))?;
            let c = s
                .channels
                .get(&id)
                .ok_or_else(|| format!("no channel {channel}"))?;
            let m = c
                .messages
                .iter()
                .find(|m| m.ts == message_ts)
                .cloned()
                .ok_or_else(|| format!("no message {message_ts} in {channel}"))?;
            (id, c.name.clone(), m)
        };
        let (block_id, element) = find_button(&message.blocks, action_id)
            .ok_or_else(|| format!("no button {action_id} on message {message_ts}"))?;
        let n = self.next_counter();
        let mut action = json!({
            "action_id": action_id,
            "block_id": block_id,
            "text": element.get("text").cloned().unwrap_or(Value::Null),
            "value": element.get("value").cloned().unwrap_or(Value::Null),
            "type": "button",
            "action_ts": format!("1700000100.{n:06}")
        });
        if let Some(style) = element.get("style") {
            action["style"] = style.clone();
        }
        let payload = json!({
            "type": "block_actions",
            "user": {"id": user_id(user), "username": user, "name": user, "team_id": TEAM_ID},
            "api_app_id": APP_ID,
            "token": "fake-verification-token",
            "container": {"type": "message", "message_ts": message_ts,
                          "channel_id": channel_id, "is_ephemeral": false},
            "trigger_id": format!("{n}.1.fake-trigger"),
            "team": {"id": TEAM_ID, "domain": "fake"},
            "enterprise": null,
            "is_enterprise_install": false,
            "channel": {"id": channel_id, "name": channel_name},
            "message": message_json(&message),
            "state": {"values": {}},
            "response_url": self.response_url(n),
            "actions": [action]
        });
        self.push("interactive", payload, false)
            .map_err(|e| e.to_string())
    }

    /// A slash command typed by `user` in `#alerts`. Returns the envelope id.
    pub fn slash(&self, command: &str, text: &str, user: &str) -> Result<String, NotConnected> {
        let n = self.next_counter();
        let payload = json!({
            "token": "fake-verification-token",
            "team_id": TEAM_ID,
            "team_domain": "fake",
            "channel_id": "C0ALERTS",
            "channel_name": "alerts",
            "user_id": user_id(user),
            "user_name": user,
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": self.response_url(n),
            "trigger_id": format!("{n}.2.fake-trigger")
        });
        self.push("slash_commands", payload, true)
    }

    /// An Events API event (e.g. `{"type": "app_mention", ...}`). Returns the envelope id.
    pub fn event(&self, event: Value) -> Result<String, NotConnected> {
        let n = self.next_counter();
        let payload = json!({
            "token": "fake-verification-token",
            "team_id": TEAM_ID,
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": format!("Ev{n:08}"),
            "event_time": 1_700_000_000 + n,
            "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER, "is_bot": true}],
            "is_ext_shared_channel": false
        });
        self.push("events_api", payload, false)
    }

    /// Sends an envelope again as Slack does when it saw no ack in time: the same envelope id,
    /// `retry_attempt` one higher, `retry_reason` set.
    pub fn retry(&self, envelope_id: &str, reason: &str) -> Result<(), NotConnected> {
        let envelope = self.shared.with(|s| {
            let envelope = s.envelopes.get_mut(envelope_id)?;
            let attempt = envelope
                .get("retry_attempt")
                .and_then(Value::as_u64)
                .unwrap_or(0);
            envelope["retry_attempt"] = json!(attempt + 1);
            envelope["retry_reason"] = json!(reason);
            Some(envelope.clone())
        });
        match envelope {
            Some(envelope) => self.send(Outgoing::Frame(envelope.to_string())),
            None => Err(NotConnected),
        }
    }

    /// Any frame, as given.
    pub fn push_raw(&self, frame: Value) -> Result<(), NotConnected> {
        if let Some(id) = frame.get("envelope_id").and_then(Value::as_str) {
            let id = id.to_string();
            let stored = frame.clone();
            self.shared.with(|s| s.envelopes.insert(id, stored));
        }
        self.send(Outgoing::Frame(frame.to_string()))
    }

    /// Slack's routine "please reconnect": the socket stays open until the client leaves it.
    pub fn disconnect(&self, reason: &str) -> Result<(), NotConnected> {
        let frame = json!({"type": "disconnect", "reason": reason,
                           "debug_info": {"host": "fake-slack"}});
        self.send(Outgoing::Frame(frame.to_string()))
    }

    /// Drops the newest connection without a close handshake.
    pub fn drop_connection(&self) -> Result<(), NotConnected> {
        self.send(Outgoing::Drop)
    }

    fn push(
        &self,
        kind: &str,
        payload: Value,
        accepts_response: bool,
    ) -> Result<String, NotConnected> {
        let n = self.next_counter();
        let envelope_id = format!("{n:08x}-fake-4f94-bfb4-133d0e6c1545");
        let mut envelope = json!({
            "envelope_id": envelope_id,
            "payload": payload,
            "type": kind,
            "accepts_response_payload": accepts_response
        });
        if kind == "events_api" {
            envelope["retry_attempt"] = json!(0);
            envelope["retry_reason"] = json!("");
        }
        self.push_raw(envelope)?;
        Ok(envelope_id)
    }

    /// To the newest live connection, as Slack picks one of the app's connections.
    fn send(&self, outgoing: Outgoing) -> Result<(), NotConnected> {
        let s = lock(&self.shared.inner);
        let (_, connection) = s.live.last_key_value().ok_or(NotConnected)?;
        connection.send(outgoing).map_err(|_| NotConnected)
    }

    fn next_counter(&self) -> u64 {
        self.shared.with(|s| {
            s.counter += 1;
            s.counter
        })
    }

    fn response_url(&self, n: u64) -> String {
        format!("http://{}/response/{n}", self.shared.addr)
    }
}

fn user_id(name: &str) -> String {
    format!("U{}", name.to_ascii_uppercase())
}

fn resolve(s: &Inner, channel: &str) -> Option<String> {
    if s.channels.contains_key(channel) {
        return Some(channel.to_string());
    }
    let name = channel.trim_start_matches('#');
    s.channels
        .iter()
        .find(|(_, c)| c.name == name)
        .map(|(id, _)| id.clone())
}

fn find_button(blocks: &Value, action_id: &str) -> Option<(Value, Value)> {
    blocks.as_array()?.iter().find_map(|block| {
        let element = block
            .get("elements")?
            .as_array()?
            .iter()
            .find(|e| e.get("action_id").and_then(Value::as_str) == Some(action_id))?;
        Some((
            block.get("block_id").cloned().unwrap_or(Value::Null),
            element.clone(),
        ))
    })
}

fn message_json(m: &SlackMessage) -> Value {
    let mut v = json!({
        "type": "message",
        "user": BOT_USER,
        "bot_id": "B0FAKE",
        "app_id": APP_ID,
        "text": m.text,
        "ts": m.ts,
        "blocks": m.blocks,
        "team": TEAM_ID
    });
    if let Some(thread) = &m.thread_ts {
        v["thread_ts"] = json!(thread);
    }
    v
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get("authorization")?.to_str().ok()?;
    value
        .strip_prefix("Bearer ")
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
}

fn slack_error(error: &str) -> Value {
    json!({"ok": false, "error": error})
}

async fn web_api(
    State(shared): State<Arc<Shared>>,
    Path(method): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let token = bearer(&headers);
    // Read methods take their arguments in the query string, write methods a JSON body.
    let body: Value = if body.is_empty() && !params.is_empty() {
        Value::Object(
            params
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect(),
        )
    } else {
        serde_json::from_slice(&body).unwrap_or(Value::Null)
    };
    let (status, retry_after, answer) = shared.with(|s| {
        let (status, retry_after, answer) =
            answer(s, shared.addr, &method, token.as_deref(), &body);
        s.requests.push(SlackRequest {
            method: method.clone(),
            token: token.clone(),
            body: body.clone(),
            status: status.as_u16(),
            error: answer
                .get("error")
                .and_then(Value::as_str)
                .map(str::to_string),
        });
        (status, retry_after, answer)
    });
    let mut response = (status, axum::Json(answer)).into_response();
    if let Some(secs) = retry_after
        && let Ok(value) = secs.to_string().parse()
    {
        response.headers_mut().insert("retry-after", value);
    }
    response
}

fn answer(
    s: &mut Inner,
    addr: std::net::SocketAddr,
    method: &str,
    token: Option<&str>,
    body: &Value,
) -> (StatusCode, Option<u64>, Value) {
    if let Some(secs) = s.rate_limits.get_mut(method).and_then(VecDeque::pop_front) {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            Some(secs),
            slack_error("ratelimited"),
        );
    }
    let wants = match method {
        "apps.connections.open" => (APP_TOKEN, "xapp-"),
        "chat.postMessage" | "chat.update" | "chat.postEphemeral" | "conversations.history" => {
            (BOT_TOKEN, "xoxb-")
        }
        _ => return (StatusCode::OK, None, slack_error("unknown_method")),
    };
    if let Err(error) = check_token(token, wants) {
        return (StatusCode::OK, None, slack_error(error));
    }
    if let Some(error) = s.failures.get_mut(method).and_then(VecDeque::pop_front) {
        return (StatusCode::OK, None, slack_error(&error));
    }
    let result = match method {
        "apps.connections.open" => Ok(open_connection(s, addr)),
        "chat.postMessage" => post_message(s, body),
        "chat.update" => update_message(s, body),
        "conversations.history" => history(s, body),
        _ => post_ephemeral(s, body),
    };
    match result {
        Ok(value) => (StatusCode::OK, None, value),
        Err(error) => (StatusCode::OK, None, slack_error(error)),
    }
}

fn check_token(token: Option<&str>, (expected, prefix): (&str, &str)) -> Result<(), &'static str> {
    let token = token.ok_or("not_authed")?;
    if token == expected {
        Ok(())
    } else if ["xoxb-", "xoxp-", "xapp-"]
        .iter()
        .any(|p| token.starts_with(p))
        && !token.starts_with(prefix)
    {
        Err("not_allowed_token_type")
    } else {
        Err("invalid_auth")
    }
}

fn open_connection(s: &mut Inner, addr: std::net::SocketAddr) -> Value {
    s.counter += 1;
    let ticket = format!("fake-ticket-{}", s.counter);
    s.tickets.insert(ticket.clone());
    json!({"ok": true, "url": format!("ws://{addr}/link/?ticket={ticket}&app_id={APP_ID}")})
}

fn str_field<'a>(body: &'a Value, name: &str) -> Option<&'a str> {
    body.get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn content(body: &Value) -> Result<(String, Value), &'static str> {
    let text = str_field(body, "text").unwrap_or_default().to_string();
    let blocks = body.get("blocks").cloned().unwrap_or(Value::Null);
    match &blocks {
        Value::Null => {}
        Value::Array(list) => {
            if list.len() > 50
                || list
                    .iter()
                    .any(|b| b.get("type").and_then(Value::as_str).is_none())
            {
                return Err("invalid_blocks");
            }
        }
        _ => return Err("invalid_blocks_format"),
    }
    let has_blocks = blocks.as_array().is_some_and(|b| !b.is_empty());
    if text.is_empty() && !has_blocks {
        return Err("no_text");
    }
    Ok((text, blocks))
}

fn channel_of(s: &Inner, body: &Value) -> Result<String, &'static str> {
    let channel = str_field(body, "channel").ok_or("channel_not_found")?;
    resolve(s, channel).ok_or("channel_not_found")
}

/// A message `ts` as Slack makes them: the post time in Unix seconds, and a unique suffix.
// Slack's servers stamp messages with their own clock; this fake stands in for them.
#[allow(clippy::disallowed_methods)]
fn next_ts(s: &mut Inner) -> String {
    s.ts_counter += 100;
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    format!("{seconds}.{:06}", s.ts_counter % 1_000_000)
}

fn post_message(s: &mut Inner, body: &Value) -> Result<Value, &'static str> {
    let channel = channel_of(s, body)?;
    let (text, blocks) = content(body)?;
    let thread_ts = str_field(body, "thread_ts").map(str::to_string);
    let ts = next_ts(s);
    let metadata = match body.get("metadata") {
        None | Some(Value::Null) => None,
        Some(m)
            if m.get("event_type").and_then(Value::as_str).is_some()
                && m.get("event_payload").is_some_and(Value::is_object) =>
        {
            Some(m.clone())
        }
        Some(_) => return Err("invalid_metadata_format"),
    };
    let message = SlackMessage {
        ts: ts.clone(),
        thread_ts,
        text,
        blocks,
        edits: 0,
        metadata,
    };
    let shown = message_json(&message);
    s.channels
        .get_mut(&channel)
        .ok_or("channel_not_found")?
        .messages
        .push(message);
    Ok(json!({"ok": true, "channel": channel, "ts": ts, "message": shown}))
}

/// `conversations.history`: newest first, `oldest` exclusive, `limit` per page (default 100),
/// metadata only with `include_all_metadata=true`; the cursor is the offset into the list.
fn history(s: &mut Inner, query: &Value) -> Result<Value, &'static str> {
    let channel = channel_of(s, query)?;
    let number = |name: &str| str_field(query, name).and_then(|v| v.parse::<f64>().ok());
    let oldest = number("oldest").unwrap_or(0.0);
    let limit = number("limit").map_or(100, |n| n.clamp(1.0, 999.0) as usize);
    let offset = str_field(query, "cursor")
        .map(|c| c.parse::<usize>().map_err(|_| "invalid_cursor"))
        .transpose()?
        .unwrap_or(0);
    let with_metadata = str_field(query, "include_all_metadata") == Some("true");
    let messages = &s
        .channels
        .get(&channel)
        .ok_or("channel_not_found")?
        .messages;
    let newer: Vec<&SlackMessage> = messages
        .iter()
        .rev()
        .filter(|m| m.thread_ts.is_none())
        .filter(|m| m.ts.parse::<f64>().is_ok_and(|ts| ts > oldest))
        .collect();
    let page: Vec<Value> = newer
        .iter()
        .skip(offset)
        .take(limit)
        .map(|m| {
            let mut shown = message_json(m);
            if with_metadata && let Some(metadata) = &m.metadata {
                shown["metadata"] = metadata.clone();
            }
            shown
        })
        .collect();
    let has_more = offset + page.len() < newer.len();
    let next_cursor = if has_more {
        (offset + page.len()).to_string()
    } else {
        String::new()
    };
    Ok(json!({
        "ok": true,
        "messages": page,
        "has_more": has_more,
        "response_metadata": {"next_cursor": next_cursor},
    }))
}

fn update_message(s: &mut Inner, body: &Value) -> Result<Value, &'static str> {
    let channel = channel_of(s, body)?;
    let ts = str_field(body, "ts")
        .ok_or("message_not_found")?
        .to_string();
    let (text, blocks) = content(body)?;
    let message = s
        .channels
        .get_mut(&channel)
        .and_then(|c| c.messages.iter_mut().find(|m| m.ts == ts))
        .ok_or("message_not_found")?;
    message.text = text.clone();
    if !blocks.is_null() {
        message.blocks = blocks;
    }
    message.edits += 1;
    let shown = message_json(message);
    Ok(json!({"ok": true, "channel": channel, "ts": ts, "text": text, "message": shown}))
}

fn post_ephemeral(s: &mut Inner, body: &Value) -> Result<Value, &'static str> {
    channel_of(s, body)?;
    str_field(body, "user").ok_or("user_not_in_channel")?;
    content(body)?;
    s.ephemerals.push(body.clone());
    let ts = next_ts(s);
    Ok(json!({"ok": true, "message_ts": ts}))
}

async fn response_url(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    match serde_json::from_slice::<Value>(&body) {
        Ok(value) => {
            let url = format!("http://{}/response/{id}", shared.addr);
            shared.with(|s| s.responses.push((url, value)));
            (StatusCode::OK, axum::Json(json!({"ok": true}))).into_response()
        }
        Err(_) => (StatusCode::BAD_REQUEST, "invalid_payload").into_response(),
    }
}

async fn link(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let ticket = query.get("ticket").cloned().unwrap_or_default();
    // A ticket opens one connection.
    if !shared.with(|s| s.tickets.remove(&ticket)) {
        return (StatusCode::UNAUTHORIZED, "invalid ticket").into_response();
    }
    upgrade.on_upgrade(move |socket| connection(shared, socket))
}

async fn connection(shared: Arc<Shared>, mut socket: WebSocket) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (id, live) = shared.with(|s| {
        s.counter += 1;
        s.connections_opened += 1;
        s.live.insert(s.counter, tx);
        (s.counter, s.live.len())
    });
    let hello = json!({
        "type": "hello",
        "num_connections": live,
        "debug_info": {"host": "fake-slack", "build_number": 1, "approximate_connection_time": 18060},
        "connection_info": {"app_id": APP_ID}
    });
    if socket
        .send(Message::Text(hello.to_string().into()))
        .await
        .is_ok()
    {
        loop {
            tokio::select! {
                outgoing = rx.recv() => match outgoing {
                    Some(Outgoing::Frame(text)) => {
                        if socket.send(Message::Text(text.into())).await.is_err() {
                            break;
                        }
                    }
                    Some(Outgoing::Drop) | None => break,
                },
                incoming = socket.recv() => match incoming {
                    Some(Ok(Message::Text(text))) => {
                        let ack = serde_json::from_str::<Value>(text.as_str()).ok().and_then(|v| {
                            v.get("envelope_id").and_then(Value::as_str).map(str::to_string)
                        });
                        shared.with(|s| match ack {
                            Some(id) => s.acks.push(id),
                            None => s.unexpected.push(text.to_string()),
                        });
                    }
                    Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                    Some(Ok(_)) => {}
                },
            }
        }
    }
    shared.with(|s| s.live.remove(&id));
}

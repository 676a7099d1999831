//! Slack Web API client: `chat.postMessage`, `chat.update`, `chat.postEphemeral`, replies to a
//! `response_url`, and `apps.connections.open` for Socket Mode. JSON bodies, `Authorization:
//! Bearer <token>`, Slack's `{"ok": false, "error": ...}` turned into [`SlackError::Api`], HTTP 429
//! retried after `Retry-After` and 5xx with back-off, bounded by [`RetrySettings`].

use super::SlackError;
use crate::http::{Answer, Attempt, retry_after, retryable_transport, send};
use nightwatch_core::retry::{RetrySettings, error_chain};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const DEFAULT_BASE_URL: &str = "https://slack.com/api/";

#[derive(Clone, PartialEq, Deserialize)]
pub struct SlackConfig {
    /// Bot token, `xoxb-…`.
    pub bot_token: String,
    /// Where the Web API methods live; ends in `/api/` for real Slack.
    #[serde(default = "default_base_url")]
    pub base_url: String,
    #[serde(default)]
    pub retry: RetrySettings,
}

fn default_base_url() -> String {
    DEFAULT_BASE_URL.to_string()
}

impl SlackConfig {
    pub fn new(bot_token: impl Into<String>) -> Self {
        Self {
            bot_token: bot_token.into(),
            base_url: default_base_url(),
            retry: RetrySettings::default(),
        }
    }
}

// The token stays out of logs and panics.
impl std::fmt::Debug for SlackConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackConfig")
            .field("bot_token", &"[redacted]")
            .field("base_url", &self.base_url)
            .field("retry", &self.retry)
            .finish()
    }
}

/// `chat.postMessage`. `text` is the notification and accessibility fallback for `blocks`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PostMessage {
    pub channel: String,
    pub text: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub blocks: Vec<Value>,
    /// Reply in the thread of this message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thread_ts: Option<String>,
    /// Slack's message metadata: machine-readable, invisible to people, returned by
    /// `conversations.history` with `include_all_metadata` — how a message is found again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<MessageMetadata>,
}

/// `metadata` of a posted message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageMetadata {
    pub event_type: String,
    pub event_payload: Value,
}

/// `chat.update` of a message the bot posted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UpdateMessage {
    pub channel: String,
    pub ts: String,
    pub text: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub blocks: Vec<Value>,
}

/// `chat.postEphemeral`: visible to `user` only.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EphemeralMessage {
    pub channel: String,
    pub user: String,
    pub text: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub blocks: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thread_ts: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseType {
    /// Only the user who clicked or typed sees it.
    Ephemeral,
    InChannel,
}

/// A reply posted to an interaction's or slash command's `response_url` (no token needed; the
/// URL is valid for 30 minutes and five uses).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResponseUrlReply {
    pub text: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub blocks: Vec<Value>,
    pub response_type: ResponseType,
    /// Replace the message the button was on instead of adding one.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub replace_original: bool,
}

impl ResponseUrlReply {
    pub fn ephemeral(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            blocks: Vec::new(),
            response_type: ResponseType::Ephemeral,
            replace_original: false,
        }
    }
}

/// Where a posted or updated message lives: what `chat.update` and `thread_ts` need later.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PostedMessage {
    /// The channel id (Slack answers with the id even when a name was given).
    pub channel: String,
    pub ts: String,
}

/// The HTTP side shared by the bot client and Socket Mode (which calls with the app token).
#[derive(Clone)]
pub(crate) struct SlackApi {
    client: reqwest::Client,
    base_url: String,
    retry: RetrySettings,
}

impl SlackApi {
    pub fn new(base_url: &str, retry: RetrySettings) -> Result<Self, SlackError> {
        let client =
            crate::http::client(&retry).map_err(|e| SlackError::Config(error_chain(&e)))?;
        let mut base_url = base_url.trim().to_string();
        if base_url.is_empty() {
            return Err(SlackError::Config("empty base_url".into()));
        }
        if !base_url.ends_with('/') {
            base_url.push('/');
        }
        Ok(Self {
            client,
            base_url,
            retry,
        })
    }

    /// Calls a Web API method and returns the whole `ok: true` answer.
    pub async fn call(
        &self,
        method: &str,
        token: &str,
        body: &impl Serialize,
    ) -> Result<Value, SlackError> {
        let url = format!("{}{method}", self.base_url);
        let body = serde_json::to_value(body).map_err(|e| SlackError::Decode {
            method: method.to_string(),
            message: format!("request body: {e}"),
        })?;
        send(
            &self.retry,
            method,
            || self.client.post(&url).bearer_auth(token).json(&body),
            |answer, attempt| judge(method, answer, attempt),
        )
        .await
    }

    /// Calls a read method that takes its arguments in the query string (Slack's read
    /// methods, such as `conversations.history`, do not take JSON bodies).
    pub async fn call_get(
        &self,
        method: &str,
        token: &str,
        query: &[(&str, String)],
    ) -> Result<Value, SlackError> {
        let url = format!("{}{method}", self.base_url);
        send(
            &self.retry,
            method,
            || self.client.get(&url).bearer_auth(token).query(query),
            |answer, attempt| judge(method, answer, attempt),
        )
        .await
    }

    /// Posts to a `response_url`: no bearer token, the URL itself is the credential.
    pub async fn respond(
        &self,
        response_url: &str,
        reply: &ResponseUrlReply,
    ) -> Result<(), SlackError> {
        const METHOD: &str = "response_url";
        send(
            &self.retry,
            METHOD,
            || self.client.post(response_url).json(reply),
            |answer, attempt| match answer {
                // Slack has answered both a bare `ok` and `{"ok": true}` here over the years.
                Ok(a) if a.status.is_success() && !a.body.starts_with(b"{") => Attempt::Done(()),
                other => match judge(METHOD, other, attempt) {
                    Attempt::Done(_) => Attempt::Done(()),
                    Attempt::Retry { wait, error } => Attempt::Retry { wait, error },
                    Attempt::Fail(error) => Attempt::Fail(error),
                },
            },
        )
        .await
    }
}

fn judge(
    method: &str,
    answer: Result<Answer, reqwest::Error>,
    attempt: u32,
) -> Attempt<Value, SlackError> {
    let method_name = || method.to_string();
    let answer = match answer {
        Ok(answer) => answer,
        Err(e) => {
            let error = SlackError::Transport {
                method: method_name(),
                message: error_chain(&e),
                attempts: attempt,
            };
            return if retryable_transport(&e) {
                Attempt::Retry { wait: None, error }
            } else {
                Attempt::Fail(error)
            };
        }
    };
    let status = answer.status;
    if status.as_u16() == 429 {
        let wait = retry_after(&answer.headers);
        return Attempt::Retry {
            wait,
            error: SlackError::RateLimited {
                method: method_name(),
                retry_after: wait,
                attempts: attempt,
            },
        };
    }
    if !status.is_success() {
        let error = SlackError::Http {
            method: method_name(),
            status: status.as_u16(),
            body: answer.body_excerpt(),
            attempts: attempt,
        };
        return if status.is_server_error() {
            Attempt::Retry { wait: None, error }
        } else {
            Attempt::Fail(error)
        };
    }
    let value: Value = match serde_json::from_slice(&answer.body) {
        Ok(v) => v,
        Err(e) => {
            return Attempt::Fail(SlackError::Decode {
                method: method_name(),
                message: format!("{e}: {}", answer.body_excerpt()),
            });
        }
    };
    if value.get("ok").and_then(Value::as_bool) == Some(true) {
        Attempt::Done(value)
    } else {
        let error = value
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("unknown_error")
            .to_string();
        Attempt::Fail(SlackError::Api {
            method: method_name(),
            error,
        })
    }
}

/// The bot's Web API client.
#[derive(Clone)]
pub struct SlackClient {
    api: SlackApi,
    bot_token: String,
}

impl SlackClient {
    pub fn new(config: SlackConfig) -> Result<Self, SlackError> {
        if config.bot_token.trim().is_empty() {
            return Err(SlackError::Config("empty bot_token".into()));
        }
        Ok(Self {
            api: SlackApi::new(&config.base_url, config.retry)?,
            bot_token: config.bot_token,
        })
    }

    pub async fn post_message(&self, message: &PostMessage) -> Result<PostedMessage, SlackError> {
        let answer = self
            .api
            .call("chat.postMessage", &self.bot_token, message)
            .await?;
        posted("chat.postMessage", answer)
    }

    pub async fn update_message(
        &self,
        update: &UpdateMessage,
    ) -> Result<PostedMessage, SlackError> {
        let answer = self
            .api
            .call("chat.update", &self.bot_token, update)
            .await?;
        posted("chat.update", answer)
    }

    /// Returns the ephemeral message's `message_ts`.
    pub async fn post_ephemeral(&self, message: &EphemeralMessage) -> Result<String, SlackError> {
        let answer = self
            .api
            .call("chat.postEphemeral", &self.bot_token, message)
            .await?;
        answer
            .get("message_ts")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| SlackError::Decode {
                method: "chat.postEphemeral".into(),
                message: "no message_ts in the answer".into(),
            })
    }

    /// Replies to a button click or slash command through its `response_url`.
    pub async fn respond(
        &self,
        response_url: &str,
        reply: &ResponseUrlReply,
    ) -> Result<(), SlackError> {
        self.api.respond(response_url, reply).await
    }

    /// The `ts` of a message in `channel`, posted after `oldest`, whose metadata is
    /// `event_type` with `event_payload` containing `key: value`; newest first, at most
    /// `HISTORY_PAGES` pages of history read.
    pub async fn find_by_metadata(
        &self,
        channel: &str,
        oldest: &str,
        event_type: &str,
        (key, value): (&str, &Value),
    ) -> Result<Option<String>, SlackError> {
        const METHOD: &str = "conversations.history";
        let mut cursor: Option<String> = None;
        for _ in 0..HISTORY_PAGES {
            let mut query = vec![
                ("channel", channel.to_owned()),
                ("oldest", oldest.to_owned()),
                ("include_all_metadata", "true".to_owned()),
                ("limit", "200".to_owned()),
            ];
            if let Some(cursor) = &cursor {
                query.push(("cursor", cursor.clone()));
            }
            let answer = self.api.call_get(METHOD, &self.bot_token, &query).await?;
            let page: HistoryPage =
                serde_json::from_value(answer).map_err(|e| SlackError::Decode {
                    method: METHOD.into(),
                    message: e.to_string(),
                })?;
            let found = page.messages.into_iter().find(|message| {
                message.metadata.as_ref().is_some_and(|metadata| {
                    metadata.event_type == event_type
                        && metadata.event_payload.get(key) == Some(value)
                })
            });
            if let Some(message) = found {
                return Ok(Some(message.ts));
            }
            cursor = page
                .response_metadata
                .and_then(|meta| meta.next_cursor)
                .filter(|next| page.has_more && !next.is_empty());
            if cursor.is_none() {
                break;
            }
        }
        Ok(None)
    }

    /// Any other Web API method with the bot token; returns the whole `ok: true` answer.
    pub async fn call(&self, method: &str, body: &impl Serialize) -> Result<Value, SlackError> {
        self.api.call(method, &self.bot_token, body).await
    }
}

/// Pages of channel history `find_by_metadata` reads before it gives up.
pub const HISTORY_PAGES: usize = 5;

/// One page of `conversations.history`.
#[derive(Deserialize)]
struct HistoryPage {
    #[serde(default)]
    messages: Vec<HistoryMessage>,
    #[serde(default)]
    has_more: bool,
    #[serde(default)]
    response_metadata: Option<NextCursor>,
}

#[derive(Deserialize)]
struct HistoryMessage {
    ts: String,
    #[serde(default)]
    metadata: Option<MessageMetadata>,
}

#[derive(Deserialize)]
struct NextCursor {
    #[serde(default)]
    next_cursor: Option<String>,
}

fn posted(method: &str, answer: Value) -> Result<PostedMessage, SlackError> {
    serde_json::from_value(answer).map_err(|e| SlackError::Decode {
        method: method.to_string(),
        message: format!("no channel/ts in the answer: {e}"),
    })
}

//! Discord webhook client: one embed per incident (title, description, colour by severity,
//! fields, link to the UI, timestamp), posted to an incoming webhook URL. Rate limits honour
//! Discord's JSON `retry_after` (seconds, fractional) and else the `Retry-After` header; 5xx and
//! refused connections are retried with back-off; a 4xx names Discord's code and the fields it
//! rejected.

use crate::card::{IncidentCard, truncate};
use crate::http::{Answer, Attempt, retry_after, retryable_transport, send};
use nightwatch_core::Severity;
use nightwatch_core::retry::{RetrySettings, error_chain, seconds};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;

/// Discord's embed limits.
pub const TITLE_MAX: usize = 256;
pub const DESCRIPTION_MAX: usize = 4096;
pub const FIELDS_MAX: usize = 25;
pub const FIELD_NAME_MAX: usize = 256;
pub const FIELD_VALUE_MAX: usize = 1024;

pub const COLOR_CRITICAL: u32 = 0xE01E5A;
pub const COLOR_HIGH: u32 = 0xE8912D;
pub const COLOR_WARNING: u32 = 0xECB22E;
pub const COLOR_INFO: u32 = 0x36C5F0;
pub const COLOR_NONE: u32 = 0x9E9E9E;

#[derive(Clone, PartialEq, Deserialize)]
pub struct DiscordConfig {
    /// `https://discord.com/api/webhooks/{id}/{token}`; the token makes it a secret.
    pub webhook_url: String,
    /// Shown instead of the webhook's own name.
    #[serde(default)]
    pub username: Option<String>,
    /// Ask Discord to answer with the created message (`?wait=true`), so its id is known.
    #[serde(default)]
    pub wait: bool,
    #[serde(default)]
    pub retry: RetrySettings,
}

impl DiscordConfig {
    pub fn new(webhook_url: impl Into<String>) -> Self {
        Self {
            webhook_url: webhook_url.into(),
            username: None,
            wait: false,
            retry: RetrySettings::default(),
        }
    }
}

impl std::fmt::Debug for DiscordConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiscordConfig")
            .field("webhook_url", &"[redacted]")
            .field("username", &self.username)
            .field("wait", &self.wait)
            .field("retry", &self.retry)
            .finish()
    }
}

/// The body of "execute webhook".
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WebhookMessage {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    pub embeds: Vec<Embed>,
    /// Always "no mentions": alert text must not be able to ping `@everyone`.
    pub allowed_mentions: AllowedMentions,
}

impl WebhookMessage {
    pub fn embed(embed: Embed) -> Self {
        Self {
            content: None,
            username: None,
            embeds: vec![embed],
            allowed_mentions: AllowedMentions::default(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AllowedMentions {
    pub parse: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Embed {
    pub title: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub color: u32,
    /// ISO 8601.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<EmbedField>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub footer: Option<EmbedFooter>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmbedField {
    pub name: String,
    pub value: String,
    pub inline: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmbedFooter {
    pub text: String,
}

/// Discord gets the incidents that deserve a human's attention now, not every warning.
pub fn posts_to_discord(severity: Severity) -> bool {
    matches!(severity, Severity::Critical | Severity::High)
}

pub fn severity_color(severity: Severity) -> u32 {
    match severity {
        Severity::Critical => COLOR_CRITICAL,
        Severity::High => COLOR_HIGH,
        Severity::Warning => COLOR_WARNING,
        Severity::Info => COLOR_INFO,
        Severity::None => COLOR_NONE,
    }
}

/// The incident's embed, cut to Discord's limits.
pub fn incident_embed(card: &IncidentCard) -> Embed {
    let mut fields = vec![
        ("Alert", Some(card.alertname.clone())),
        ("Severity", Some(card.severity.as_str().to_string())),
        ("State", Some(card.state.as_str().to_string())),
        ("Namespace", card.namespace.clone()),
        ("Pod", card.pod.clone()),
        ("Node", card.node.clone()),
        ("Runbook", card.runbook.clone()),
        ("Verdict", card.verdict.map(|v| v.as_str().to_string())),
    ];
    if let Some(action) = &card.pending_action {
        fields.push((
            "Approval needed",
            Some(format!("action #{}: {}", action.id, action.description)),
        ));
    }
    Embed {
        title: truncate(
            &format!(
                "[{}] #{} {}",
                card.severity.as_str().to_uppercase(),
                card.id,
                card.title
            ),
            TITLE_MAX,
        ),
        description: truncate(card.summary.as_deref().unwrap_or_default(), DESCRIPTION_MAX),
        url: Some(card.ui_url.clone()),
        color: severity_color(card.severity),
        timestamp: card
            .opened_at
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        fields: fields
            .into_iter()
            .filter_map(|(name, value)| {
                let value = value.filter(|v| !v.trim().is_empty())?;
                Some(EmbedField {
                    name: truncate(name, FIELD_NAME_MAX),
                    value: truncate(&value, FIELD_VALUE_MAX),
                    // The approval line reads better on its own row.
                    inline: name != "Approval needed",
                })
            })
            .take(FIELDS_MAX)
            .collect(),
        footer: Some(EmbedFooter {
            text: "nightwatch".into(),
        }),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DiscordError {
    #[error("discord client configuration: {0}")]
    Config(String),
    /// A 4xx other than 429: Discord's JSON error code and message, and for `Invalid Form Body`
    /// each rejected field as `path: message`.
    #[error("discord webhook rejected the message (HTTP {status}, code {code:?}): {message}{}", details(.errors))]
    Rejected {
        status: u16,
        code: Option<u64>,
        message: String,
        errors: Vec<String>,
    },
    #[error("discord webhook: still rate limited after {attempts} attempts")]
    RateLimited {
        retry_after: Option<Duration>,
        global: bool,
        attempts: u32,
    },
    #[error("discord webhook: HTTP {status} after {attempts} attempts: {body}")]
    Http {
        status: u16,
        body: String,
        attempts: u32,
    },
    #[error("discord webhook: {message} (after {attempts} attempts)")]
    Transport { message: String, attempts: u32 },
}

fn details(errors: &[String]) -> String {
    if errors.is_empty() {
        String::new()
    } else {
        format!(" ({})", errors.join("; "))
    }
}

#[derive(Clone)]
pub struct DiscordClient {
    client: reqwest::Client,
    config: DiscordConfig,
}

impl DiscordClient {
    pub fn new(config: DiscordConfig) -> Result<Self, DiscordError> {
        if !config.webhook_url.starts_with("http") {
            return Err(DiscordError::Config(
                "webhook_url is not an http(s) URL".into(),
            ));
        }
        let client = crate::http::client(&config.retry)
            .map_err(|e| DiscordError::Config(error_chain(&e)))?;
        Ok(Self { client, config })
    }

    /// Posts the message; with `wait` configured, returns the created message's id.
    pub async fn post(&self, message: &WebhookMessage) -> Result<Option<String>, DiscordError> {
        let mut body = message.clone();
        if body.username.is_none() {
            body.username = self.config.username.clone();
        }
        let url = self.config.webhook_url.as_str();
        send(
            &self.config.retry,
            "discord webhook",
            || {
                let request = self.client.post(url).json(&body);
                if self.config.wait {
                    request.query(&[("wait", "true")])
                } else {
                    request
                }
            },
            judge,
        )
        .await
    }

    pub async fn post_incident(&self, card: &IncidentCard) -> Result<Option<String>, DiscordError> {
        self.post(&WebhookMessage::embed(incident_embed(card)))
            .await
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    code: Option<u64>,
    #[serde(default)]
    retry_after: Option<f64>,
    #[serde(default)]
    global: bool,
    #[serde(default)]
    errors: Option<Value>,
}

fn judge(
    answer: Result<Answer, reqwest::Error>,
    attempt: u32,
) -> Attempt<Option<String>, DiscordError> {
    let answer = match answer {
        Ok(answer) => answer,
        Err(e) => {
            let error = DiscordError::Transport {
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
    if status.is_success() {
        let id = serde_json::from_slice::<Value>(&answer.body)
            .ok()
            .and_then(|v| v.get("id").and_then(Value::as_str).map(str::to_string));
        return Attempt::Done(id);
    }
    let body: Option<ErrorBody> = serde_json::from_slice(&answer.body).ok();
    if status.as_u16() == 429 {
        // The body's value is fractional; the header is rounded up to whole seconds.
        let wait = body
            .as_ref()
            .and_then(|b| b.retry_after)
            .and_then(seconds)
            .or_else(|| retry_after(&answer.headers));
        return Attempt::Retry {
            wait,
            error: DiscordError::RateLimited {
                retry_after: wait,
                global: body.as_ref().is_some_and(|b| b.global),
                attempts: attempt,
            },
        };
    }
    if status.is_server_error() {
        return Attempt::Retry {
            wait: None,
            error: DiscordError::Http {
                status: status.as_u16(),
                body: answer.body_excerpt(),
                attempts: attempt,
            },
        };
    }
    Attempt::Fail(match body {
        Some(body) => DiscordError::Rejected {
            status: status.as_u16(),
            code: body.code,
            message: body.message.unwrap_or_else(|| answer.body_excerpt()),
            errors: body.errors.as_ref().map(flatten_errors).unwrap_or_default(),
        },
        None => DiscordError::Http {
            status: status.as_u16(),
            body: answer.body_excerpt(),
            attempts: attempt,
        },
    })
}

/// Discord nests field errors by path (`{"embeds": {"0": {"title": {"_errors": [...]}}}}`);
/// flattened to `embeds.0.title: Must be 256 or fewer in length.`
pub fn flatten_errors(errors: &Value) -> Vec<String> {
    fn walk(path: &str, value: &Value, out: &mut Vec<String>) {
        let Some(object) = value.as_object() else {
            return;
        };
        for (key, inner) in object {
            if key == "_errors" {
                for error in inner.as_array().map(Vec::as_slice).unwrap_or_default() {
                    let message = error
                        .get("message")
                        .and_then(Value::as_str)
                        .unwrap_or("invalid");
                    out.push(format!("{path}: {message}"));
                }
            } else {
                let next = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                walk(&next, inner, out);
            }
        }
    }
    let mut out = Vec::new();
    walk("", errors, &mut out);
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::card::{PendingAction, incident_url};
    use expect_test::expect_file;
    use nightwatch_core::incident::{IncidentState, Verdict as IncidentVerdict};
    use serde_json::json;

    fn card(severity: Severity) -> IncidentCard {
        IncidentCard {
            id: 42,
            title: "api crash looping".into(),
            severity,
            state: IncidentState::Triggered,
            verdict: None,
            alertname: "KubePodCrashLooping".into(),
            namespace: Some("shop".into()),
            pod: Some("api-7d9f".into()),
            node: None,
            runbook: None,
            summary: Some("Restarted 5 times".into()),
            acknowledged_by: None,
            pending_action: None,
            ui_url: incident_url("https://nw.example", 42),
            opened_at: chrono::DateTime::from_timestamp(1_700_000_000, 0),
        }
    }

    #[test]
    fn severity_decides_colour_and_channel() {
        let cases = [
            (Severity::Critical, 0xE01E5A, true),
            (Severity::High, COLOR_HIGH, true),
            (Severity::Warning, COLOR_WARNING, false),
            (Severity::Info, COLOR_INFO, false),
            (Severity::None, COLOR_NONE, false),
        ];
        for (severity, color, posts) in cases {
            assert_eq!(severity_color(severity), color, "{severity:?}");
            assert_eq!(incident_embed(&card(severity)).color, color);
            assert_eq!(posts_to_discord(severity), posts, "{severity:?}");
        }
    }

    #[test]
    fn embed_from_card() {
        let embed = incident_embed(&IncidentCard {
            verdict: Some(IncidentVerdict::Real),
            pending_action: Some(PendingAction {
                id: 7,
                description: "restart shop/api".into(),
            }),
            ..card(Severity::Critical)
        });
        // The message exactly as posted to the webhook, read whole: title, description, link,
        // timestamp, fields in order, colour (0xE01E5A) and no pings from alert text.
        let wire = serde_json::to_string_pretty(&WebhookMessage::embed(embed)).unwrap();
        expect_file!["test_data/embed_critical_with_approval.json"].assert_eq(&format!("{wire}\n"));
    }

    #[test]
    fn embed_respects_limits() {
        let embed = incident_embed(&IncidentCard {
            title: "t".repeat(1000),
            summary: Some("d".repeat(5000)),
            namespace: Some("n".repeat(2000)),
            ..card(Severity::High)
        });
        assert_eq!(embed.title.chars().count(), TITLE_MAX);
        assert_eq!(embed.description.chars().count(), DESCRIPTION_MAX);
        let ns = embed.fields.iter().find(|f| f.name == "Namespace").unwrap();
        assert_eq!(ns.value.chars().count(), FIELD_VALUE_MAX);
    }

    #[test]
    fn nested_errors_flattened() {
        let errors = json!({"embeds": {"0": {
            "title": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 256 or fewer in length."}]},
            "fields": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 25 or fewer in length."}]}
        }}});
        let mut got = flatten_errors(&errors);
        got.sort();
        assert_eq!(
            got,
            vec![
                "embeds.0.fields: Must be 25 or fewer in length.",
                "embeds.0.title: Must be 256 or fewer in length.",
            ]
        );
    }
}

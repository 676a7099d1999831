//! Errors of the Slack clients (Web API and Socket Mode).

use std::time::Duration;

/// A failed Slack call. `method` is the Web API method (`chat.postMessage`, …) or
/// `response_url` for a reply to an interaction.
#[derive(Debug, thiserror::Error)]
pub enum SlackError {
    #[error("slack client configuration: {0}")]
    Config(String),
    /// Slack answered `{"ok": false, "error": "..."}` (usually with HTTP 200).
    #[error("slack {method} failed: {error}")]
    Api { method: String, error: String },
    #[error("slack {method}: still rate limited after {attempts} attempts")]
    RateLimited {
        method: String,
        retry_after: Option<Duration>,
        attempts: u32,
    },
    #[error("slack {method}: HTTP {status} after {attempts} attempts: {body}")]
    Http {
        method: String,
        status: u16,
        body: String,
        attempts: u32,
    },
    #[error("slack {method}: {message} (after {attempts} attempts)")]
    Transport {
        method: String,
        message: String,
        attempts: u32,
    },
    #[error("slack {method}: unreadable answer: {message}")]
    Decode { method: String, message: String },
    #[error("slack socket mode: {0}")]
    Socket(String),
}

/// Slack error codes that no retry or reconnect will cure: the token is wrong, revoked or of
/// the wrong type.
const AUTH_ERRORS: &[&str] = &[
    "not_authed",
    "invalid_auth",
    "account_inactive",
    "token_revoked",
    "token_expired",
    "not_allowed_token_type",
    "missing_scope",
];

impl SlackError {
    /// Slack's own error code for an `ok: false` answer.
    pub fn api_error(&self) -> Option<&str> {
        match self {
            SlackError::Api { error, .. } => Some(error),
            _ => None,
        }
    }

    pub fn is_auth(&self) -> bool {
        self.api_error().is_some_and(|e| AUTH_ERRORS.contains(&e))
    }
}

//! Generic outgoing webhook: POST a JSON body signed with HMAC-SHA256 so the receiver can tell
//! it came from this nightwatch and was not altered or replayed.
//!
//! Headers on every attempt:
//! - `X-Nightwatch-Timestamp`: Unix seconds when the attempt was signed;
//! - `X-Nightwatch-Signature`: `sha256=` + lowercase hex of HMAC-SHA256(secret,
//!   `"{timestamp}.{body}"`), the body byte for byte as sent;
//! - `X-Nightwatch-Delivery`: one id per delivery, the same on its retries, for de-duplication
//!   (and, for an announcement, the same if a restart repeats it).
//!
//! Signing the timestamp with the body lets a receiver refuse old deliveries (see
//! [`timestamp_fresh`]). 429 (after `Retry-After`), 5xx and refused connections are retried with
//! back-off; each retry is signed afresh.

use crate::http::{Answer, Attempt, retry_after, retryable_transport, send};
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use nightwatch_core::Clock;
use nightwatch_core::retry::{RetrySettings, error_chain};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub const SIGNATURE_HEADER: &str = "x-nightwatch-signature";
pub const TIMESTAMP_HEADER: &str = "x-nightwatch-timestamp";
pub const DELIVERY_HEADER: &str = "x-nightwatch-delivery";

type HmacSha256 = Hmac<Sha256>;

#[derive(Clone, PartialEq, Deserialize)]
pub struct WebhookConfig {
    pub url: String,
    /// Shared with the receiver; never sent.
    pub secret: String,
    #[serde(default)]
    pub retry: RetrySettings,
}

impl WebhookConfig {
    pub fn new(url: impl Into<String>, secret: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            secret: secret.into(),
            retry: RetrySettings::default(),
        }
    }
}

impl std::fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("url", &self.url)
            .field("secret", &"[redacted]")
            .field("retry", &self.retry)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("webhook configuration: {0}")]
    Config(String),
    #[error("webhook {url}: HTTP {status} after {attempts} attempts: {body}")]
    Http {
        url: String,
        status: u16,
        body: String,
        attempts: u32,
    },
    #[error("webhook {url}: {message} (after {attempts} attempts)")]
    Transport {
        url: String,
        message: String,
        attempts: u32,
    },
    #[error("webhook body: {0}")]
    Body(String),
}

#[derive(Clone)]
pub struct WebhookClient {
    client: reqwest::Client,
    config: WebhookConfig,
    /// The signature's timestamp is a wall-clock fact the receiver checks against its own clock.
    clock: Arc<dyn Clock>,
    deliveries: Arc<AtomicU64>,
    origin: u64,
}

impl WebhookClient {
    pub fn new(config: WebhookConfig, clock: Arc<dyn Clock>) -> Result<Self, WebhookError> {
        if config.secret.is_empty() {
            return Err(WebhookError::Config("empty secret".into()));
        }
        if !config.url.starts_with("http") {
            return Err(WebhookError::Config("url is not an http(s) URL".into()));
        }
        let client = crate::http::client(&config.retry)
            .map_err(|e| WebhookError::Config(error_chain(&e)))?;
        // Delivery ids stay unique across restarts: this process's start time, then a counter.
        let origin = clock.now().timestamp_micros().unsigned_abs();
        Ok(Self {
            client,
            config,
            clock,
            deliveries: Arc::new(AtomicU64::new(0)),
            origin,
        })
    }

    /// Posts `body` as JSON under a fresh delivery id; returns it.
    pub async fn post(&self, body: &impl Serialize) -> Result<String, WebhookError> {
        let delivery = format!(
            "{:x}-{}",
            self.origin,
            self.deliveries.fetch_add(1, Ordering::Relaxed)
        );
        self.post_as(body, delivery).await
    }

    /// Posts `body` as JSON under the caller's delivery id, one that names what is told (the
    /// same after a restart): a process killed between the receiver's answer and its own
    /// record of it tells again, and the receiver sees the id it already has.
    pub async fn post_as(
        &self,
        body: &impl Serialize,
        delivery: String,
    ) -> Result<String, WebhookError> {
        let bytes = serde_json::to_vec(body).map_err(|e| WebhookError::Body(e.to_string()))?;
        let url = self.config.url.as_str();
        let secret = self.config.secret.as_bytes();
        send(
            &self.config.retry,
            "webhook",
            || {
                let timestamp = self.clock.now().timestamp();
                self.client
                    .post(url)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .header(TIMESTAMP_HEADER, timestamp.to_string())
                    .header(SIGNATURE_HEADER, sign(secret, timestamp, &bytes))
                    .header(DELIVERY_HEADER, &delivery)
                    .body(bytes.clone())
            },
            |answer, attempt| judge(url, answer, attempt),
        )
        .await?;
        Ok(delivery)
    }
}

fn judge(
    url: &str,
    answer: Result<Answer, reqwest::Error>,
    attempt: u32,
) -> Attempt<(), WebhookError> {
    match answer {
        Err(e) => {
            let error = WebhookError::Transport {
                url: url.to_string(),
                message: error_chain(&e),
                attempts: attempt,
            };
            if retryable_transport(&e) {
                Attempt::Retry { wait: None, error }
            } else {
                Attempt::Fail(error)
            }
        }
        Ok(answer) if answer.status.is_success() => Attempt::Done(()),
        Ok(answer) => {
            let status = answer.status.as_u16();
            let error = WebhookError::Http {
                url: url.to_string(),
                status,
                body: answer.body_excerpt(),
                attempts: attempt,
            };
            if status == 429 {
                Attempt::Retry {
                    wait: retry_after(&answer.headers),
                    error,
                }
            } else if answer.status.is_server_error() {
                Attempt::Retry { wait: None, error }
            } else {
                Attempt::Fail(error)
            }
        }
    }
}

/// `sha256=<hex>` over `"{timestamp}.{body}"`.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    format!(
        "sha256={}",
        hex::encode(
            mac(secret, timestamp.to_string().as_bytes(), body)
                .finalize()
                .into_bytes()
        )
    )
}

fn mac(secret: &[u8], timestamp: &[u8], body: &[u8]) -> HmacSha256 {
    // RFC 2104's key block, built here so the constructor cannot fail: a key longer than the
    // block is hashed first, a shorter one zero-padded.
    let mut block = hmac::digest::Key::<HmacSha256>::default();
    if secret.len() > block.len() {
        let digest = Sha256::digest(secret);
        block[..digest.len()].copy_from_slice(&digest);
    } else {
        block[..secret.len()].copy_from_slice(secret);
    }
    let mut mac = <HmacSha256 as KeyInit>::new(&block);
    mac.update(timestamp);
    mac.update(b".");
    mac.update(body);
    mac
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("signature header is not `sha256=<hex>`")]
    Malformed,
    #[error("signature does not match")]
    Mismatch,
}

/// Checks the two headers against the body as received, in constant time.
pub fn verify_signature(
    secret: &[u8],
    timestamp: &str,
    body: &[u8],
    signature: &str,
) -> Result<(), SignatureError> {
    let hex_digest = signature
        .trim()
        .strip_prefix("sha256=")
        .ok_or(SignatureError::Malformed)?;
    let expected = hex::decode(hex_digest).map_err(|_| SignatureError::Malformed)?;
    mac(secret, timestamp.trim().as_bytes(), body)
        .verify_slice(&expected)
        .map_err(|_| SignatureError::Mismatch)
}

/// Whether a delivery's timestamp is within `tolerance` of `now` (Unix seconds), to refuse
/// replays of old deliveries.
pub fn timestamp_fresh(timestamp: &str, now: i64, tolerance: Duration) -> bool {
    let Ok(sent) = timestamp.trim().parse::<i64>() else {
        return false;
    };
    sent.abs_diff(now) <= tolerance.as_secs()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_is_hmac_of_timestamp_dot_body() {
        // Expected values computed independently (Python's hmac module); the second key is
        // longer than SHA-256's block, so it is hashed first.
        assert_eq!(
            sign(b"secret", 1_700_000_000, br#"{"a":1}"#),
            "sha256=49f24e537407743fa4a0242bb63b94b9a47ee99cbbe071ccd8a22550ae411686"
        );
        assert_eq!(
            sign(&[b'k'; 100], 1, b"x"),
            "sha256=8dc72019a8a249d8f2d36e36fac06f4497511f4f50cfee8600a5d97fb8a91da5"
        );
    }

    #[test]
    fn verify_table() {
        let body = br#"{"incident":42}"#;
        let good = sign(b"s3cret", 100, body);
        type Case<'a> = (
            &'a [u8],
            &'a str,
            &'a [u8],
            &'a str,
            Result<(), SignatureError>,
        );
        let cases: &[Case<'_>] = &[
            (b"s3cret", "100", body, &good, Ok(())),
            (b"wrong", "100", body, &good, Err(SignatureError::Mismatch)),
            (b"s3cret", "101", body, &good, Err(SignatureError::Mismatch)),
            (
                b"s3cret",
                "100",
                br#"{"incident":43}"#,
                &good,
                Err(SignatureError::Mismatch),
            ),
            (
                b"s3cret",
                "100",
                body,
                "sha1=abcd",
                Err(SignatureError::Malformed),
            ),
            (
                b"s3cret",
                "100",
                body,
                "sha256=zz",
                Err(SignatureError::Malformed),
            ),
            (
                b"s3cret",
                "100",
                body,
                "sha256=abcd",
                Err(SignatureError::Mismatch),
            ),
        ];
        for (secret, ts, body, signature, want) in cases {
            assert_eq!(
                verify_signature(secret, ts, body, signature),
                *want,
                "{ts} {signature}"
            );
        }
    }

    #[test]
    fn freshness() {
        let five_min = Duration::from_secs(300);
        assert!(timestamp_fresh("1000", 1000, five_min));
        assert!(timestamp_fresh("1300", 1000, five_min));
        assert!(timestamp_fresh("700", 1000, five_min));
        assert!(!timestamp_fresh("699", 1000, five_min));
        assert!(!timestamp_fresh("soon", 1000, five_min));
    }
}

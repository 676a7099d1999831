//! The shared HTTP sender: POST a JSON body, retry 429 / 5xx / transport failures with
//! exponential back-off (or the server's `retry-after-ms` / `retry-after`), and turn the final
//! failure into an [`LlmError`] naming the provider, status and the provider's own message.

use super::LlmError;
use crate::clock::Clock;
use reqwest::header::HeaderMap;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default)]
pub struct HttpSettings {
    /// Per-request timeout (each attempt), seconds.
    pub timeout_secs: u64,
    /// Attempts in total, the first included.
    pub max_attempts: u32,
    /// First back-off; doubled on each retry.
    pub initial_backoff_ms: u64,
    /// Ceiling for any single wait, including a server's `retry-after`.
    pub max_backoff_ms: u64,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            timeout_secs: super::DEFAULT_REQUEST_TIMEOUT.as_secs(),
            max_attempts: 4,
            initial_backoff_ms: 500,
            max_backoff_ms: 60_000,
        }
    }
}

/// Reads a provider's error body into (error type, message).
pub(crate) type ErrorParser = fn(&[u8]) -> Option<(Option<String>, String)>;

pub(crate) struct JsonSender {
    pub provider: &'static str,
    pub client: reqwest::Client,
    pub settings: HttpSettings,
    pub clock: Arc<dyn Clock>,
    pub parse_error: ErrorParser,
}

impl JsonSender {
    pub fn new(
        provider: &'static str,
        settings: HttpSettings,
        clock: Arc<dyn Clock>,
        parse_error: ErrorParser,
    ) -> Result<Self, LlmError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(settings.timeout_secs.max(1)))
            .build()
            .map_err(|e| LlmError::Config {
                provider,
                message: e.to_string(),
            })?;
        Ok(Self {
            provider,
            client,
            settings,
            clock,
            parse_error,
        })
    }

    pub async fn post(
        &self,
        url: &str,
        headers: &HeaderMap,
        body: &serde_json::Value,
    ) -> Result<bytes::Bytes, LlmError> {
        let max_attempts = self.settings.max_attempts.max(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let sent = self
                .client
                .post(url)
                .headers(headers.clone())
                .json(body)
                .send()
                .await;
            let failure = match sent {
                Ok(response) => {
                    let status = response.status();
                    let retry_after = retry_after(response.headers());
                    let bytes = response.bytes().await;
                    match bytes {
                        Ok(bytes) if status.is_success() => return Ok(bytes),
                        Ok(bytes) => {
                            let (kind, message) = (self.parse_error)(&bytes).unwrap_or_else(|| {
                                (
                                    None,
                                    String::from_utf8_lossy(&bytes).chars().take(500).collect(),
                                )
                            });
                            Failure {
                                retryable: status.as_u16() == 429 || status.is_server_error(),
                                retry_after,
                                error: LlmError::Api {
                                    provider: self.provider,
                                    status: status.as_u16(),
                                    kind,
                                    message,
                                    attempts: attempt,
                                },
                            }
                        }
                        Err(e) => transport(self.provider, &e, attempt),
                    }
                }
                Err(e) => transport(self.provider, &e, attempt),
            };
            if !failure.retryable || attempt >= max_attempts {
                return Err(failure.error);
            }
            let wait = backoff(&self.settings, attempt, failure.retry_after);
            tracing::warn!(provider = self.provider, attempt, wait_ms = wait.as_millis() as u64,
                error = %failure.error, "LLM request failed; retrying");
            self.clock.sleep(wait).await;
        }
    }
}

struct Failure {
    retryable: bool,
    retry_after: Option<Duration>,
    error: LlmError,
}

fn transport(provider: &'static str, error: &reqwest::Error, attempts: u32) -> Failure {
    // Keep the whole source chain: reqwest's top-level text alone ("error sending request")
    // does not say whether the connection was refused or timed out.
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        message.push_str(": ");
        message.push_str(&inner.to_string());
        source = inner.source();
    }
    Failure {
        retryable: true,
        retry_after: None,
        error: LlmError::Transport {
            provider,
            message,
            attempts,
        },
    }
}

/// `retry-after-ms` (OpenAI, milliseconds) wins over `retry-after` (seconds). The HTTP-date form
/// of `retry-after` is not used by either provider, so it is ignored (plain back-off applies).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let number = |name: &str| -> Option<f64> {
        let value = headers
            .get(name)?
            .to_str()
            .ok()?
            .trim()
            .parse::<f64>()
            .ok()?;
        (value.is_finite() && value >= 0.0).then_some(value)
    };
    if let Some(ms) = number("retry-after-ms") {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    number("retry-after").map(Duration::from_secs_f64)
}

/// The wait before retry number `attempt` (1-based count of attempts made so far).
pub(crate) fn backoff(settings: &HttpSettings, attempt: u32, server: Option<Duration>) -> Duration {
    let cap = Duration::from_millis(settings.max_backoff_ms);
    let wait = server.unwrap_or_else(|| {
        let factor = 2u64.saturating_pow(attempt.saturating_sub(1));
        Duration::from_millis(settings.initial_backoff_ms.saturating_mul(factor))
    });
    wait.min(cap)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_headers() {
        type Case<'a> = (&'a [(&'a str, &'a str)], Option<u64>);
        let cases: &[Case<'_>] = &[
            (&[], None),
            (&[("retry-after", "3")], Some(3000)),
            (&[("retry-after", "1.5")], Some(1500)),
            (
                &[("retry-after-ms", "250"), ("retry-after", "3")],
                Some(250),
            ),
            (&[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")], None),
            (&[("retry-after", "-1")], None),
        ];
        for (headers, want) in cases {
            let mut map = HeaderMap::new();
            for (k, v) in *headers {
                map.insert(*k, HeaderValue::from_str(v).unwrap());
            }
            assert_eq!(
                retry_after(&map).map(|d| d.as_millis() as u64),
                *want,
                "{headers:?}"
            );
        }
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let s = HttpSettings {
            initial_backoff_ms: 100,
            max_backoff_ms: 1000,
            ..HttpSettings::default()
        };
        let waits: Vec<u64> = (1..=6)
            .map(|a| backoff(&s, a, None).as_millis() as u64)
            .collect();
        assert_eq!(waits, vec![100, 200, 400, 800, 1000, 1000]);
        assert_eq!(
            backoff(&s, 1, Some(Duration::from_secs(5))),
            Duration::from_secs(1)
        );
        assert_eq!(
            backoff(&s, 3, Some(Duration::from_millis(20))),
            Duration::from_millis(20)
        );
    }
}

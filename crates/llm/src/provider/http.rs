//! The shared HTTP sender: POST a JSON body, retry 429 / 5xx / transport failures with
//! exponential back-off (or the server's `retry-after-ms` / `retry-after`), and turn the final
//! failure into an [`LlmError`] naming the provider, status and the provider's own message.
//! Settings, back-off and header parsing are core's, shared with the other adapters.

use super::LlmError;
use nightwatch_core::retry::{self, RetrySettings, error_chain};
use reqwest::header::HeaderMap;
use std::time::Duration;

/// Reads a provider's error body into (error type, message).
pub(crate) type ErrorParser = fn(&[u8]) -> Option<(Option<String>, String)>;

pub(crate) struct JsonSender {
    pub provider: &'static str,
    pub client: reqwest::Client,
    pub settings: RetrySettings,
    pub parse_error: ErrorParser,
}

impl JsonSender {
    pub fn new(
        provider: &'static str,
        settings: RetrySettings,
        parse_error: ErrorParser,
    ) -> Result<Self, LlmError> {
        let client = reqwest::Client::builder()
            .timeout(settings.timeout(super::DEFAULT_REQUEST_TIMEOUT))
            .build()
            .map_err(|e| LlmError::Config {
                provider,
                message: e.to_string(),
            })?;
        Ok(Self {
            provider,
            client,
            settings,
            parse_error,
        })
    }

    pub async fn post(
        &self,
        url: &str,
        headers: &HeaderMap,
        body: &serde_json::Value,
    ) -> Result<bytes::Bytes, LlmError> {
        let max_attempts = self.settings.attempts();
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
            let wait = self.settings.backoff(attempt, failure.retry_after);
            tracing::warn!(provider = self.provider, attempt, wait_ms = wait.as_millis() as u64,
                error = %failure.error, "LLM request failed; retrying");
            tokio::time::sleep(wait).await;
        }
    }
}

struct Failure {
    retryable: bool,
    retry_after: Option<Duration>,
    error: LlmError,
}

fn transport(provider: &'static str, error: &reqwest::Error, attempts: u32) -> Failure {
    let message = error_chain(error);
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

/// `retry-after-ms` (OpenAI, milliseconds) wins over `retry-after` (seconds).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = |name: &str| headers.get(name)?.to_str().ok();
    value("retry-after-ms")
        .and_then(retry::retry_after_ms)
        .or_else(|| value("retry-after").and_then(retry::retry_after))
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
}

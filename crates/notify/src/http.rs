//! The one retry loop behind every client: send, let the caller judge the answer (done, retry
//! after an optional server-given wait, or fail), and sleep between attempts on tokio's clock
//! (paused in tests). Each service reads its own rate-limit signals in its judge; the settings,
//! back-off and `Retry-After` parsing are core's, shared with the other adapters.

use nightwatch_core::retry::{self, RetrySettings};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use std::time::Duration;

/// Chat posts and webhooks answer quickly or not at all.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The HTTP client for one service, with its per-attempt timeout.
pub(crate) fn client(settings: &RetrySettings) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .timeout(settings.timeout(DEFAULT_TIMEOUT))
        .build()
}

/// The `Retry-After` header, in seconds.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    retry::retry_after(headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?)
}

/// A complete HTTP answer, body read.
pub(crate) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: bytes::Bytes,
}

impl Answer {
    /// The body as text for an error message, bounded.
    pub fn body_excerpt(&self) -> String {
        String::from_utf8_lossy(&self.body)
            .chars()
            .take(500)
            .collect()
    }
}

/// How an attempt went, as its judge sees it.
pub(crate) enum Attempt<T, E> {
    Done(T),
    Retry { wait: Option<Duration>, error: E },
    Fail(E),
}

/// Whether a transport failure may be retried: only when the request never reached the server
/// (connection refused, DNS), so a retry cannot post a message twice. A timeout after sending
/// is not retried for the same reason.
pub(crate) fn retryable_transport(error: &reqwest::Error) -> bool {
    error.is_connect()
}

pub(crate) async fn send<T, E>(
    settings: &RetrySettings,
    what: &str,
    make: impl Fn() -> reqwest::RequestBuilder,
    judge: impl Fn(Result<Answer, reqwest::Error>, u32) -> Attempt<T, E>,
) -> Result<T, E>
where
    E: std::fmt::Display,
{
    let max_attempts = settings.attempts();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let answer = match make().send().await {
            Ok(response) => {
                let status = response.status();
                let headers = response.headers().clone();
                response.bytes().await.map(|body| Answer {
                    status,
                    headers,
                    body,
                })
            }
            Err(error) => Err(error),
        };
        match judge(answer, attempt) {
            Attempt::Done(value) => return Ok(value),
            Attempt::Fail(error) => return Err(error),
            Attempt::Retry { error, .. } if attempt >= max_attempts => return Err(error),
            Attempt::Retry { wait, error } => {
                let wait = settings.backoff(attempt, wait);
                tracing::warn!(what, attempt, wait_ms = wait.as_millis() as u64, %error,
                    "notification request failed; retrying");
                tokio::time::sleep(wait).await;
            }
        }
    }
}

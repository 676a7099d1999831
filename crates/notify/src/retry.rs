//! Retry settings shared by every client: how many attempts, the exponential back-off between
//! them, the ceiling on any single wait (a server's `Retry-After` included) and the per-attempt
//! timeout. Also the `Retry-After` header reader.

use reqwest::header::HeaderMap;
use serde::Deserialize;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default)]
pub struct RetrySettings {
    /// Attempts in total, the first included.
    pub max_attempts: u32,
    /// First back-off; doubled on each retry.
    pub initial_backoff_ms: u64,
    /// Ceiling for any single wait, including a server's `Retry-After`.
    pub max_backoff_ms: u64,
    /// Per-request timeout (each attempt), seconds.
    pub timeout_secs: u64,
}

impl Default for RetrySettings {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            initial_backoff_ms: 500,
            max_backoff_ms: 60_000,
            timeout_secs: 10,
        }
    }
}

impl RetrySettings {
    /// The wait before retry number `attempt` (1-based count of attempts made so far): the
    /// server's wish when it stated one, else exponential back-off; capped either way.
    pub fn backoff(&self, attempt: u32, server: Option<Duration>) -> Duration {
        let cap = Duration::from_millis(self.max_backoff_ms);
        let wait = server.unwrap_or_else(|| {
            let factor = 2u64.saturating_pow(attempt.saturating_sub(1));
            Duration::from_millis(self.initial_backoff_ms.saturating_mul(factor))
        });
        wait.min(cap)
    }

    pub(crate) fn attempts(&self) -> u32 {
        self.max_attempts.max(1)
    }

    pub(crate) fn http_client(&self) -> Result<reqwest::Client, reqwest::Error> {
        reqwest::Client::builder()
            .timeout(Duration::from_secs(self.timeout_secs.max(1)))
            .build()
    }
}

/// `Retry-After` in seconds (integer or fractional). The HTTP-date form is not sent by Slack or
/// Discord, so it is ignored and plain back-off applies.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<f64>()
        .ok()?;
    seconds(value)
}

/// A non-negative, finite number of seconds as a duration.
pub(crate) fn seconds(value: f64) -> Option<Duration> {
    (value.is_finite() && value >= 0.0).then(|| Duration::from_secs_f64(value))
}

/// reqwest's top-level text alone ("error sending request") does not say whether the connection
/// was refused or timed out, so the whole source chain is kept.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        message.push_str(": ");
        message.push_str(&inner.to_string());
        source = inner.source();
    }
    message
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_header() {
        let cases: &[(Option<&str>, Option<u64>)] = &[
            (None, None),
            (Some("3"), Some(3000)),
            (Some("1.5"), Some(1500)),
            (Some(" 0 "), Some(0)),
            (Some("Wed, 21 Oct 2015 07:28:00 GMT"), None),
            (Some("-1"), None),
            (Some("NaN"), None),
        ];
        for (header, want) in cases {
            let mut map = HeaderMap::new();
            if let Some(v) = header {
                map.insert("retry-after", HeaderValue::from_str(v).unwrap());
            }
            assert_eq!(
                retry_after(&map).map(|d| d.as_millis() as u64),
                *want,
                "{header:?}"
            );
        }
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let s = RetrySettings {
            initial_backoff_ms: 100,
            max_backoff_ms: 1000,
            ..RetrySettings::default()
        };
        let waits: Vec<u64> = (1..=6)
            .map(|a| s.backoff(a, None).as_millis() as u64)
            .collect();
        assert_eq!(waits, vec![100, 200, 400, 800, 1000, 1000]);
        assert_eq!(
            s.backoff(1, Some(Duration::from_secs(5))),
            Duration::from_secs(1)
        );
        assert_eq!(
            s.backoff(3, Some(Duration::from_millis(20))),
            Duration::from_millis(20)
        );
    }
}

//! Retrying a request to another service, the pure part: the settings users configure (attempts,
//! exponential back-off, its ceiling, the per-attempt timeout), the wait before each retry, and
//! the readers for a server's own wish (`Retry-After`, `retry-after-ms`, Discord's JSON
//! `retry_after`). Every HTTP adapter (the LLM providers, the notification clients, the
//! observability sources) retries through these, so one request is paced the same way wherever
//! it goes; the adapters keep only the I/O (sending, sleeping on tokio's clock).

use serde::Deserialize;
use std::time::Duration;

/// How a client retries. Missing keys take the defaults below; the per-attempt timeout has no
/// shared default because a chat post and an LLM completion take very different times, so each
/// client names its own (see [`RetrySettings::timeout`]).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default)]
pub struct RetrySettings {
    /// Attempts in total, the first included.
    pub max_attempts: u32,
    /// First back-off; doubled on each retry.
    pub initial_backoff_ms: u64,
    /// Ceiling for any single wait, including a server's `Retry-After`.
    pub max_backoff_ms: u64,
    /// Per-request timeout (each attempt), seconds; unset means the client's own default.
    pub timeout_secs: Option<u64>,
}

impl Default for RetrySettings {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            initial_backoff_ms: 500,
            max_backoff_ms: 60_000,
            timeout_secs: None,
        }
    }
}

impl RetrySettings {
    /// The wait before retry number `attempt` (1-based count of attempts made so far): the
    /// server's wish when it stated one, else exponential back-off; capped either way.
    pub fn backoff(&self, attempt: u32, server: Option<Duration>) -> Duration {
        backoff(
            self.initial_backoff_ms,
            self.max_backoff_ms,
            attempt,
            server,
        )
    }

    /// Attempts in total; at least one, whatever the configuration says.
    pub fn attempts(&self) -> u32 {
        self.max_attempts.max(1)
    }

    /// The per-attempt timeout: the configured one, else `default`; never under a second, so a
    /// zero in the configuration cannot make every request fail at once.
    pub fn timeout(&self, default: Duration) -> Duration {
        let secs = self.timeout_secs.unwrap_or(default.as_secs());
        Duration::from_secs(secs.max(1))
    }
}

/// Exponential back-off: `initial_ms` doubled for each attempt after the first, or the server's
/// wish when it stated one; capped at `max_ms` either way. Also paces reconnects, which have
/// their own initial and ceiling.
pub fn backoff(initial_ms: u64, max_ms: u64, attempt: u32, server: Option<Duration>) -> Duration {
    let cap = Duration::from_millis(max_ms);
    let wait = server.unwrap_or_else(|| {
        let factor = 2u64.saturating_pow(attempt.saturating_sub(1));
        Duration::from_millis(initial_ms.saturating_mul(factor))
    });
    wait.min(cap)
}

/// A `Retry-After` header value in seconds (integer or fractional). The HTTP-date form is sent by
/// none of the services we call, so it reads as absent and plain back-off applies.
pub fn retry_after(value: &str) -> Option<Duration> {
    seconds(number(value)?)
}

/// A `retry-after-ms` header value (OpenAI's), milliseconds.
pub fn retry_after_ms(value: &str) -> Option<Duration> {
    let ms = number(value)?;
    seconds(ms / 1000.0)
}

/// A non-negative, finite number of seconds as a duration (Discord's JSON `retry_after` too).
pub fn seconds(value: f64) -> Option<Duration> {
    (value.is_finite() && value >= 0.0).then(|| Duration::from_secs_f64(value))
}

fn number(value: &str) -> Option<f64> {
    value.trim().parse::<f64>().ok()
}

/// An error with its whole source chain, `outer: inner: …`. HTTP clients' top-level text alone
/// ("error sending request") does not say whether the connection was refused or timed out.
pub fn error_chain(error: &dyn std::error::Error) -> String {
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
    use super::*;

    #[test]
    fn retry_after_values() {
        let cases: &[(&str, Option<u64>)] = &[
            ("3", Some(3000)),
            ("1.5", Some(1500)),
            (" 0 ", Some(0)),
            ("Wed, 21 Oct 2015 07:28:00 GMT", None),
            ("-1", None),
            ("NaN", None),
            ("inf", None),
        ];
        for (value, want) in cases {
            assert_eq!(
                retry_after(value).map(|d| d.as_millis() as u64),
                *want,
                "{value:?}"
            );
        }
        assert_eq!(retry_after_ms("250"), Some(Duration::from_millis(250)));
        assert_eq!(retry_after_ms("-1"), None);
        assert_eq!(seconds(0.25), Some(Duration::from_millis(250)));
        assert_eq!(seconds(f64::NAN), None);
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

    #[test]
    fn attempts_and_timeout_have_floors() {
        let s = RetrySettings {
            max_attempts: 0,
            timeout_secs: Some(0),
            ..RetrySettings::default()
        };
        assert_eq!(s.attempts(), 1);
        assert_eq!(s.timeout(Duration::from_secs(10)), Duration::from_secs(1));
        let unset = RetrySettings::default();
        assert_eq!(
            unset.timeout(Duration::from_secs(120)),
            Duration::from_secs(120)
        );
    }

    #[test]
    fn error_chain_keeps_every_cause() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("error sending request")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let e = Outer(std::io::Error::other("connection refused"));
        assert_eq!(error_chain(&e), "error sending request: connection refused");
    }
}

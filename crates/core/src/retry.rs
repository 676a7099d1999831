//! Retrying a request to another service, the pure part: the settings users configure (attempts,
//! exponential back-off, its ceiling, the per-attempt timeout), the wait before each retry, and
//! the readers for a server's own wish (`Retry-After`, `retry-after-ms`, Discord's JSON
//! `retry_after`). Every HTTP adapter (the LLM providers, the notification clients, the
//! observability sources) retries through these, so one request is paced the same way wherever
//! it goes; the adapters keep only the I/O (sending, sleeping on tokio's clock).

use crate::duration::{DurationError, duration_or_seconds};
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

/// The configuration file's shape of [`RetrySettings`]: durations spelled one way (`"500ms"`,
/// `"30s"`, `"1m"`); the older `initial_backoff_ms`, `max_backoff_ms` and `timeout_secs` still
/// load, each noted as deprecated. Unknown keys are refused.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryConfig {
    pub max_attempts: Option<u32>,
    pub initial_backoff: Option<String>,
    pub max_backoff: Option<String>,
    /// Per-attempt timeout; unset: the client's own default.
    pub timeout: Option<String>,
    /// Deprecated spellings of the three durations above.
    pub initial_backoff_ms: Option<u64>,
    pub max_backoff_ms: Option<u64>,
    pub timeout_secs: Option<u64>,
}

impl RetryConfig {
    /// The settings, with defaults for what is not given; `section` names the keys in errors
    /// and in the deprecation notices pushed onto `notices` (e.g. `llm.http`).
    pub fn resolve(
        &self,
        section: &str,
        notices: &mut Vec<String>,
    ) -> Result<RetrySettings, DurationError> {
        let key = |name: &str| format!("{section}.{name}");
        let millis = |ms: Option<u64>| ms.map(|ms| ms as f64 / 1000.0);
        let defaults = RetrySettings::default();
        let initial = duration_or_seconds(
            (&key("initial_backoff"), self.initial_backoff.as_deref()),
            (&key("initial_backoff_ms"), millis(self.initial_backoff_ms)),
            notices,
        )?;
        let max = duration_or_seconds(
            (&key("max_backoff"), self.max_backoff.as_deref()),
            (&key("max_backoff_ms"), millis(self.max_backoff_ms)),
            notices,
        )?;
        let timeout = duration_or_seconds(
            (&key("timeout"), self.timeout.as_deref()),
            (&key("timeout_secs"), self.timeout_secs.map(|s| s as f64)),
            notices,
        )?;
        let as_millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Ok(RetrySettings {
            max_attempts: self.max_attempts.unwrap_or(defaults.max_attempts),
            initial_backoff_ms: initial.map_or(defaults.initial_backoff_ms, as_millis),
            max_backoff_ms: max.map_or(defaults.max_backoff_ms, as_millis),
            // Whole seconds, never under one (see `RetrySettings::timeout`).
            timeout_secs: timeout.map(|d| d.as_secs().max(1)),
        })
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

    #[test]
    fn the_file_shape_spells_durations_once_and_still_reads_the_old_keys() {
        let mut notices = Vec::new();
        let new: RetryConfig = toml_like(&[
            ("max_attempts", serde_json::json!(2)),
            ("initial_backoff", serde_json::json!("250ms")),
            ("max_backoff", serde_json::json!("30s")),
            ("timeout", serde_json::json!("1m")),
        ]);
        let settings = new.resolve("llm.http", &mut notices).unwrap();
        assert_eq!(
            settings,
            RetrySettings {
                max_attempts: 2,
                initial_backoff_ms: 250,
                max_backoff_ms: 30_000,
                timeout_secs: Some(60),
            }
        );
        assert!(notices.is_empty());
        let old: RetryConfig = toml_like(&[
            ("initial_backoff_ms", serde_json::json!(500)),
            ("max_backoff_ms", serde_json::json!(30000)),
            ("timeout_secs", serde_json::json!(60)),
        ]);
        let settings = old.resolve("llm.http", &mut notices).unwrap();
        assert_eq!(
            (settings.initial_backoff_ms, settings.max_backoff_ms),
            (500, 30_000)
        );
        assert_eq!(
            (settings.timeout_secs, settings.max_attempts),
            (Some(60), 4)
        );
        assert_eq!(
            notices,
            [
                "llm.http.initial_backoff_ms is deprecated: write initial_backoff = \"500ms\"",
                "llm.http.max_backoff_ms is deprecated: write max_backoff = \"30s\"",
                "llm.http.timeout_secs is deprecated: write timeout = \"1m\"",
            ]
        );
        assert_eq!(
            RetryConfig::default().resolve("x", &mut notices).unwrap(),
            RetrySettings::default()
        );
        let both: RetryConfig = toml_like(&[
            ("timeout", serde_json::json!("1m")),
            ("timeout_secs", serde_json::json!(60)),
        ]);
        assert!(both.resolve("llm.http", &mut notices).is_err());
        assert!(
            serde_json::from_value::<RetryConfig>(serde_json::json!({"timeout_ms": 5})).is_err()
        );
    }

    fn toml_like(pairs: &[(&str, serde_json::Value)]) -> RetryConfig {
        let map: serde_json::Map<String, serde_json::Value> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        serde_json::from_value(serde_json::Value::Object(map)).unwrap()
    }
}

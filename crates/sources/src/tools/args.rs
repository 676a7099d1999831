//! Tool arguments as the LLM sends them: JSON objects checked against a typed struct (unknown
//! fields refused, so a misspelt argument is an error the model sees, not a silent default), and
//! times in the forms a model writes: `now`, `now-15m`, RFC 3339 or Unix seconds.

use crate::error::SourceError;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::time::Duration;

pub(crate) fn parse<T: DeserializeOwned>(tool: &str, args: Value) -> Result<T, SourceError> {
    // Models send `null` or nothing for a tool without required arguments.
    let args = if args.is_null() {
        Value::Object(Default::default())
    } else {
        args
    };
    serde_json::from_value(args).map_err(|e| invalid(tool, e.to_string()))
}

pub(crate) fn invalid(tool: &str, message: impl Into<String>) -> SourceError {
    SourceError::InvalidArguments {
        tool: tool.to_owned(),
        message: message.into(),
    }
}

/// A point in time: `now`, `now-<duration>`, RFC 3339, or Unix seconds (number or string).
pub(crate) fn time(
    tool: &str,
    field: &str,
    value: &Value,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, SourceError> {
    let bad = |why: &str| invalid(tool, format!("{field}: {value} is not a time ({why})"));
    let from_seconds = |seconds: f64| {
        DateTime::from_timestamp_millis((seconds * 1000.0).round() as i64)
            .ok_or_else(|| bad("out of range"))
    };
    match value {
        Value::Number(n) => from_seconds(n.as_f64().ok_or_else(|| bad("not a number"))?),
        Value::String(text) => {
            let text = text.trim();
            if text == "now" {
                return Ok(now);
            }
            if let Some(ago) = text.strip_prefix("now-") {
                let ago = humantime::parse_duration(ago)
                    .map_err(|_| bad("expected now-<duration>, e.g. now-15m"))?;
                return chrono::Duration::from_std(ago)
                    .ok()
                    .and_then(|ago| now.checked_sub_signed(ago))
                    .ok_or_else(|| bad("out of range"));
            }
            if let Ok(seconds) = text.parse::<f64>() {
                return from_seconds(seconds);
            }
            DateTime::parse_from_rfc3339(text)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| bad("expected now, now-15m, RFC 3339 or Unix seconds"))
        }
        _ => Err(bad("expected a string or a number")),
    }
}

/// A duration: humantime (`30s`, `5m`, `1h30m`) or seconds as a number.
pub(crate) fn duration(tool: &str, field: &str, value: &Value) -> Result<Duration, SourceError> {
    let bad = || {
        invalid(
            tool,
            format!("{field}: {value} is not a duration (e.g. 30s, 5m, 1h)"),
        )
    };
    let parsed = match value {
        Value::Number(n) => n
            .as_f64()
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(Duration::from_secs_f64)
            .ok_or_else(bad)?,
        Value::String(text) => humantime::parse_duration(text.trim()).map_err(|_| bad())?,
        _ => return Err(bad()),
    };
    if parsed.is_zero() {
        return Err(bad());
    }
    Ok(parsed)
}

/// The `since`/`start`/`end` arguments every windowed tool takes. (Each tool's argument struct
/// repeats the three fields: serde's `flatten` would switch off `deny_unknown_fields`.)
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct Window {
    #[serde(default)]
    pub since: Option<Value>,
    #[serde(default)]
    pub start: Option<Value>,
    #[serde(default)]
    pub end: Option<Value>,
}

impl Window {
    /// `end` defaults to now, `start` to `end - since` (`since` to `default_since`).
    pub(crate) fn resolve(
        &self,
        tool: &str,
        now: DateTime<Utc>,
        default_since: Duration,
    ) -> Result<(DateTime<Utc>, DateTime<Utc>), SourceError> {
        let end = match &self.end {
            Some(v) => time(tool, "end", v, now)?,
            None => now,
        };
        let start = match (&self.start, &self.since) {
            (Some(_), Some(_)) => return Err(invalid(tool, "give start or since, not both")),
            (Some(v), None) => time(tool, "start", v, now)?,
            (None, since) => {
                let since = match since {
                    Some(v) => duration(tool, "since", v)?,
                    None => default_since,
                };
                chrono::Duration::from_std(since)
                    .ok()
                    .and_then(|since| end.checked_sub_signed(since))
                    .ok_or_else(|| invalid(tool, "since: out of range"))?
            }
        };
        if end < start {
            return Err(invalid(tool, format!("end {end} is before start {start}")));
        }
        Ok((start, end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap()
    }

    #[test]
    fn times_in_every_accepted_form() {
        let cases = [
            (json!("now"), "2024-05-01T12:00:00+00:00"),
            (json!("now-15m"), "2024-05-01T11:45:00+00:00"),
            (json!("now-1h30m"), "2024-05-01T10:30:00+00:00"),
            (
                json!("2024-05-01T10:00:00+02:00"),
                "2024-05-01T08:00:00+00:00",
            ),
            (json!(1714564800), "2024-05-01T12:00:00+00:00"),
            (json!(1714564800.5), "2024-05-01T12:00:00.500+00:00"),
            (json!("1714564800"), "2024-05-01T12:00:00+00:00"),
        ];
        for (value, expected) in cases {
            assert_eq!(
                time("t", "start", &value, now()).unwrap().to_rfc3339(),
                expected,
                "{value}"
            );
        }
        for bad in [
            json!("yesterday"),
            json!("now-"),
            json!(true),
            json!("now-5 parsecs"),
        ] {
            let err = time("t", "start", &bad, now()).unwrap_err().to_string();
            assert!(err.starts_with("t: invalid arguments: start: "), "{err}");
        }
    }

    #[test]
    fn windows_default_and_conflict() {
        let window = |v: Value| {
            parse::<Window>("t", v)
                .unwrap()
                .resolve("t", now(), Duration::from_secs(3600))
        };
        let (start, end) = window(json!({})).unwrap();
        assert_eq!((end - start).num_minutes(), 60);
        let (start, _) = window(json!({"since": "5m"})).unwrap();
        assert_eq!(start.to_rfc3339(), "2024-05-01T11:55:00+00:00");
        assert!(window(json!({"since": "5m", "start": "now-1h"})).is_err());
        assert!(window(json!({"start": "now", "end": "now-1h"})).is_err());
        assert!(window(json!({"since": 0})).is_err());
    }
}

//! Tool arguments as the LLM sends them: JSON objects checked against a typed struct (unknown
//! fields refused, so a misspelt argument is an error the model sees, not a silent default), and
//! times in the forms a model writes: `now`, `now-15m`, RFC 3339 or Unix seconds.

use crate::error::SourceError;
use crate::http::truncate;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::time::Duration;

/// Longest query text taken (PromQL, LogQL, LogsQL). Queries travel in a GET URL, which proxies
/// commonly refuse past 8–16 KiB; a model's query is nowhere near this.
pub(crate) const MAX_QUERY_BYTES: usize = 8 * 1024;
/// Longest other text argument: a name, a matcher, a tag, a receiver regex.
pub(crate) const MAX_TEXT_BYTES: usize = 1024;
/// Most entries of a list argument (matchers, tags).
pub(crate) const MAX_LIST_ITEMS: usize = 50;
/// Deepest nesting of an arguments value. The tools' own arguments are at most two levels deep
/// (object → list → string); the bound keeps serde's recursive descent from exhausting the stack
/// on a hostile value built in memory rather than parsed with serde_json's own depth limit.
const MAX_DEPTH: usize = 16;
/// Longest duration taken (`since`, `step`, `now-<duration>`): a century is beyond any
/// retention, and keeps every sum and difference with a time far inside chrono's range.
pub(crate) const MAX_DURATION: Duration = Duration::from_secs(100 * 31_557_600);
/// Duration texts are at most this long and their numbers at most this many digits before they
/// reach humantime, whose `parse_duration` panics (`Duration::new` overflow) when the running
/// total lands on `u64::MAX` seconds with a nanosecond carry, e.g.
/// `18446744073709551615s 1000000000ns`. At most 32 terms of under 10⁹ years each stay below
/// 2⁶⁰ seconds.
const MAX_DURATION_TEXT: usize = 64;
const MAX_DURATION_DIGITS: usize = 9;
/// How much of a refused value an error message repeats.
const ECHO_CHARS: usize = 80;
/// How much of serde's message about refused arguments is kept.
const MAX_MESSAGE_CHARS: usize = 300;

pub(crate) fn parse<T: DeserializeOwned>(tool: &str, args: Value) -> Result<T, SourceError> {
    // Models send `null` or nothing for a tool without required arguments.
    let mut args = if args.is_null() {
        Value::Object(Default::default())
    } else {
        args
    };
    // Only an object: serde would also fill a struct from an array, positionally, so
    // `["up", "now"]` would pass as a query and a time.
    let Value::Object(map) = &mut args else {
        return Err(invalid(tool, "arguments must be a JSON object"));
    };
    // …and `null` for an argument they mean to leave out: dropped, so it reads as absent for a
    // list or flag with a default as much as for an optional value.
    map.retain(|_, value| !value.is_null());
    if nested_deeper_than(&args, MAX_DEPTH) {
        return Err(invalid(
            tool,
            format!("arguments nested deeper than {MAX_DEPTH} levels"),
        ));
    }
    // serde_path_to_error names the field of a wrong-typed value ("limit: invalid type: …"),
    // which serde_json's own message leaves out. Both are cut short: an unknown field's name is
    // repeated whole in the path and in serde's message, however long.
    serde_path_to_error::deserialize(args).map_err(|e| {
        let path = truncate(&e.path().to_string(), ECHO_CHARS);
        let inner = truncate(&e.into_inner().to_string(), MAX_MESSAGE_CHARS);
        if path == "." {
            invalid(tool, inner)
        } else {
            invalid(tool, format!("{path}: {inner}"))
        }
    })
}

/// Whether `value` holds arrays or objects more than `levels` deep. Recurses at most `levels`
/// frames, so it is safe on any value.
fn nested_deeper_than(value: &Value, levels: usize) -> bool {
    match value {
        Value::Array(items) => {
            levels == 0 || items.iter().any(|v| nested_deeper_than(v, levels - 1))
        }
        Value::Object(map) => {
            levels == 0 || map.values().any(|v| nested_deeper_than(v, levels - 1))
        }
        _ => false,
    }
}

pub(crate) fn invalid(tool: &str, message: impl Into<String>) -> SourceError {
    SourceError::InvalidArguments {
        tool: tool.to_owned(),
        message: message.into(),
    }
}

/// A value as an error message repeats it: a string or number cut short, so a megabyte argument
/// is not echoed back, and an array or object only named, so a deeply nested one is never walked.
fn echo(value: &Value) -> String {
    match value {
        Value::Array(_) => "an array".to_owned(),
        Value::Object(_) => "an object".to_owned(),
        Value::String(text) => format!("{:?}", truncate(text, ECHO_CHARS)),
        scalar => truncate(&scalar.to_string(), ECHO_CHARS),
    }
}

/// A query text: not blank and at most [`MAX_QUERY_BYTES`].
pub(crate) fn query(
    tool: &str,
    field: &str,
    language: &str,
    text: String,
) -> Result<String, SourceError> {
    if text.trim().is_empty() {
        return Err(invalid(tool, format!("{field}: empty {language} query")));
    }
    bounded_text(tool, field, text, MAX_QUERY_BYTES)
}

/// A text argument of at most `max_bytes`.
pub(crate) fn bounded_text(
    tool: &str,
    field: &str,
    text: String,
    max_bytes: usize,
) -> Result<String, SourceError> {
    if text.len() > max_bytes {
        return Err(invalid(
            tool,
            format!("{field}: {} bytes long; at most {max_bytes}", text.len()),
        ));
    }
    Ok(text)
}

/// An optional text argument of at most [`MAX_TEXT_BYTES`].
pub(crate) fn optional_text(
    tool: &str,
    field: &str,
    text: Option<String>,
) -> Result<Option<String>, SourceError> {
    text.map(|t| bounded_text(tool, field, t, MAX_TEXT_BYTES))
        .transpose()
}

/// A list of texts: at most [`MAX_LIST_ITEMS`], each non-blank and at most [`MAX_TEXT_BYTES`].
pub(crate) fn text_list(
    tool: &str,
    field: &str,
    items: Vec<String>,
) -> Result<Vec<String>, SourceError> {
    if items.len() > MAX_LIST_ITEMS {
        return Err(invalid(
            tool,
            format!("{field}: {} entries; at most {MAX_LIST_ITEMS}", items.len()),
        ));
    }
    for (i, item) in items.iter().enumerate() {
        if item.trim().is_empty() {
            return Err(invalid(tool, format!("{field}[{i}]: empty")));
        }
        if item.len() > MAX_TEXT_BYTES {
            return Err(invalid(
                tool,
                format!(
                    "{field}[{i}]: {} bytes long; at most {MAX_TEXT_BYTES}",
                    item.len()
                ),
            ));
        }
    }
    Ok(items)
}

/// A count argument within `min..=max`, `default` when absent.
pub(crate) fn count(
    tool: &str,
    field: &str,
    value: Option<u32>,
    default: u32,
    (min, max): (u32, u32),
) -> Result<u32, SourceError> {
    match value.unwrap_or(default) {
        n if n < min => Err(invalid(tool, format!("{field}: must be at least {min}"))),
        n if n > max => Err(invalid(tool, format!("{field}: {n} is more than {max}"))),
        n => Ok(n),
    }
}

/// A point in time: `now`, `now-<duration>`, RFC 3339, or Unix seconds (number or string).
pub(crate) fn time(
    tool: &str,
    field: &str,
    value: &Value,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, SourceError> {
    let bad = |why: &str| {
        invalid(
            tool,
            format!("{field}: {} is not a time ({why})", echo(value)),
        )
    };
    // NaN and the infinities parse as f64 ("NaN", "inf") and NaN would cast to 0, the epoch:
    // refused rather than read as 1970.
    let from_seconds = |seconds: f64| {
        if !seconds.is_finite() {
            return Err(bad("not a finite number"));
        }
        DateTime::from_timestamp_millis((seconds * 1000.0).round() as i64)
            .ok_or_else(|| bad("out of range"))
    };
    match value {
        Value::Number(n) => from_seconds(n.as_f64().ok_or_else(|| bad("out of range"))?),
        Value::String(text) => {
            let text = text.trim();
            if text == "now" {
                return Ok(now);
            }
            if let Some(ago) = text.strip_prefix("now-") {
                let ago = parse_duration_text(ago).ok_or_else(|| {
                    bad("expected now-<duration>, e.g. now-15m, at most now-100y")
                })?;
                if ago > MAX_DURATION {
                    return Err(bad("out of range: at most now-100y"));
                }
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

/// humantime's reading of `text`, refused (None) unless short enough to be safe to hand it.
fn parse_duration_text(text: &str) -> Option<Duration> {
    if text.len() > MAX_DURATION_TEXT {
        return None;
    }
    let longest_number = text
        .split(|c: char| !c.is_ascii_digit())
        .map(str::len)
        .max()
        .unwrap_or(0);
    if longest_number > MAX_DURATION_DIGITS {
        return None;
    }
    humantime::parse_duration(text).ok()
}

/// A duration: humantime (`30s`, `5m`, `1h30m`) or seconds as a number; more than zero and at
/// most [`MAX_DURATION`].
pub(crate) fn duration(tool: &str, field: &str, value: &Value) -> Result<Duration, SourceError> {
    let bad = |why: &str| {
        invalid(
            tool,
            format!("{field}: {} is not a duration ({why})", echo(value)),
        )
    };
    const EXPECTED: &str = "e.g. 30s, 5m, 1h; at most 100y";
    const TOO_LONG: &str = "out of range: at most 100 years";
    let parsed = match value {
        // `try_from_secs_f64`, not `from_secs_f64`, which panics past u64::MAX seconds (1e30).
        Value::Number(n) => match n.as_f64() {
            Some(seconds) if seconds > MAX_DURATION.as_secs_f64() => return Err(bad(TOO_LONG)),
            Some(seconds) => Duration::try_from_secs_f64(seconds)
                .map_err(|_| bad("expected a positive number of seconds"))?,
            None => return Err(bad(TOO_LONG)),
        },
        Value::String(text) => parse_duration_text(text.trim()).ok_or_else(|| bad(EXPECTED))?,
        _ => return Err(bad(EXPECTED)),
    };
    if parsed.is_zero() {
        return Err(bad("must be more than zero"));
    }
    if parsed > MAX_DURATION {
        return Err(bad(TOO_LONG));
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

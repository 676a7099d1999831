//! Timestamps as senders write them.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};

/// Parses a timestamp leniently. `Ok(None)` for the empty string and Go's zero time
/// (`0001-01-01T00:00:00Z`, which Alertmanager sends as "no end").
#[allow(clippy::result_unit_err)]
pub fn parse_lenient(text: &str) -> Result<Option<DateTime<Utc>>, ()> {
    let text = text.trim();
    if text.is_empty() || text.starts_with("0001-01-01") {
        return Ok(None);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(Some(t.with_timezone(&Utc)));
    }
    // "2024-01-01 10:00:00.123Z" / "+00:00": a space where RFC 3339 has `T`.
    if text.len() > 10 && text.as_bytes()[10] == b' ' {
        let with_t = format!("{}T{}", &text[..10], &text[11..]);
        if let Ok(t) = DateTime::parse_from_rfc3339(&with_t) {
            return Ok(Some(t.with_timezone(&Utc)));
        }
    }
    // Go's time.String(): "2022-11-03 15:11:56.676195 +0800 CST" (zone name optional).
    let without_zone_name = match text.rsplit_once(' ') {
        Some((head, tail)) if tail.chars().all(|c| c.is_ascii_alphabetic()) => head,
        _ => text,
    };
    for format in ["%Y-%m-%d %H:%M:%S%.f %z", "%Y-%m-%dT%H:%M:%S%.f%z"] {
        if let Ok(t) = DateTime::parse_from_str(without_zone_name, format) {
            return Ok(Some(t.with_timezone(&Utc)));
        }
    }
    // No offset at all: taken as UTC.
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Ok(Some(Utc.from_utc_datetime(&t)));
        }
    }
    if let Ok(n) = text.parse::<serde_json::Number>() {
        return from_epoch_number(&n).map(Some).ok_or(());
    }
    Err(())
}

/// Epoch seconds, or milliseconds when the number is too large to be seconds.
pub fn from_epoch_number(n: &serde_json::Number) -> Option<DateTime<Utc>> {
    let value = n.as_f64()?;
    if !value.is_finite() || value < 0.0 {
        return None;
    }
    let millis = if value > 1e11 { value } else { value * 1000.0 };
    if millis > 1e15 {
        return None;
    }
    DateTime::from_timestamp_millis(millis as i64)
}

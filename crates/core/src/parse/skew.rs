//! A sender's clock is not ours to trust. The incident state machine orders occurrences of one
//! fingerprint by `startsAt`, so one alert that claims to have started in year 9999 would make
//! every later genuine alert for that pod or node look older than it — `stale` — and no
//! incident would ever open again. A `startsAt` further ahead of the receive time than the
//! allowed clock skew is therefore taken as the receive time, and the time the sender wrote is
//! kept beside the alert (`extra.startsAt_as_sent`) so nothing is hidden.

use crate::model::Delivery;
use chrono::{DateTime, Duration, Utc};

/// How far ahead of our clock a sender's `startsAt` may be before it is clamped.
pub const DEFAULT_MAX_CLOCK_SKEW: Duration = Duration::minutes(5);

/// The key under `extra` that keeps a clamped `startsAt` as it was sent.
pub const STARTS_AT_AS_SENT: &str = "startsAt_as_sent";

/// Clamps every `startsAt` more than `max_skew` after `received_at` to `received_at`; returns
/// how many were clamped.
pub fn clamp_future_starts(
    delivery: &mut Delivery,
    received_at: DateTime<Utc>,
    max_skew: Duration,
) -> usize {
    let latest = received_at
        .checked_add_signed(max_skew)
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    let mut clamped = 0;
    for alert in &mut delivery.alerts {
        if let Some(started) = alert.starts_at
            && started > latest
        {
            alert.extra.insert(
                STARTS_AT_AS_SENT.to_owned(),
                serde_json::Value::String(started.to_rfc3339()),
            );
            alert.starts_at = Some(received_at);
            clamped += 1;
        }
    }
    clamped
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Source;

    #[test]
    fn only_starts_beyond_the_skew_are_clamped_and_the_sent_time_is_kept() {
        let received: DateTime<Utc> = "2026-12-02T10:00:00Z".parse().unwrap();
        let body = serde_json::json!({"alerts": [
            {"labels": {"alertname": "Far"}, "startsAt": "9999-01-01T00:00:00Z"},
            {"labels": {"alertname": "Slightly"}, "startsAt": "2026-12-02T10:04:00Z"},
            {"labels": {"alertname": "Past"}, "startsAt": "2026-01-01T00:00:00Z"},
            {"labels": {"alertname": "None"}},
        ]});
        let mut delivery =
            crate::parse::parse(Source::Alertmanager, body.to_string().as_bytes(), received)
                .unwrap();
        let before: Vec<_> = delivery.alerts.iter().map(|a| a.starts_at).collect();
        assert_eq!(
            clamp_future_starts(&mut delivery, received, DEFAULT_MAX_CLOCK_SKEW),
            1
        );
        assert_eq!(delivery.alerts[0].starts_at, Some(received));
        assert_eq!(
            delivery.alerts[0].extra[STARTS_AT_AS_SENT],
            "9999-01-01T00:00:00+00:00"
        );
        for (alert, before) in delivery.alerts.iter().zip(before).skip(1) {
            assert_eq!(alert.starts_at, before, "{}", alert.alertname());
            assert!(!alert.extra.contains_key(STARTS_AT_AS_SENT));
        }
        // The largest skew cannot overflow.
        assert_eq!(
            clamp_future_starts(&mut delivery, received, Duration::MAX),
            0
        );
    }
}

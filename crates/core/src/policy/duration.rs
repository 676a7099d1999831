//! Durations written humantime-style (`24h`, `90m`, `1h30m`), for serde `with`.

use serde::{Deserializer, Serializer, de};
use std::fmt;
use std::time::Duration;

pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&short(*d))
}

pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    d.deserialize_str(DurationVisitor)
}

/// Fails inside the visitor, so that the YAML error carries the duration's own position.
struct DurationVisitor;

impl de::Visitor<'_> for DurationVisitor {
    type Value = Duration;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a duration such as 24h, 90m or 1h30m")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Duration, E> {
        humantime::parse_duration(text.trim()).map_err(|error| {
            E::custom(format!(
                "invalid duration {text:?} ({error}); write e.g. 24h, 90m, 1h30m"
            ))
        })
    }
}

/// `24h`, `90m`, `45s`: the shortest whole unit, for reasons and for writing configs back.
pub(crate) fn short(d: Duration) -> String {
    let secs = d.as_secs();
    if d.subsec_nanos() != 0 {
        humantime::format_duration(d).to_string()
    } else if secs != 0 && secs.is_multiple_of(3600) {
        format!("{}h", secs / 3600)
    } else if secs != 0 && secs.is_multiple_of(60) {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    }
}

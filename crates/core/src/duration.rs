//! Durations in the configuration: one spelling for every key, humantime text (`500ms`, `90s`,
//! `10m`, `1h30m`), as the sources and the policy file already write them. Keys that spelled a
//! number of seconds (`verify_timeout_seconds = 180`) still load, with a deprecation notice
//! naming the new key; giving both spellings of one setting is refused.

use std::time::Duration;

/// A duration value nightwatch cannot use, with the key it was given under.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key} = {value}: {reason}")]
pub struct DurationError {
    pub key: String,
    pub value: String,
    pub reason: String,
}

fn refuse(key: &str, value: impl std::fmt::Display, reason: &str) -> DurationError {
    DurationError {
        key: key.to_owned(),
        value: value.to_string(),
        reason: reason.to_owned(),
    }
}

/// `text` as a positive duration (`90s`, `10m`, `1h30m`, `500ms`).
pub fn parse_duration(key: &str, text: &str) -> Result<Duration, DurationError> {
    let duration = humantime::parse_duration(text.trim()).map_err(|error| {
        refuse(
            key,
            format!("{text:?}"),
            &format!("not a duration ({error}); write e.g. \"90s\", \"10m\" or \"1h\""),
        )
    })?;
    if duration.is_zero() {
        return Err(refuse(key, format!("{text:?}"), "must be longer than zero"));
    }
    Ok(duration)
}

/// A number of seconds from a deprecated `…_seconds` key, as a positive duration.
pub fn from_seconds(key: &str, seconds: f64) -> Result<Duration, DurationError> {
    if !(seconds.is_finite() && seconds > 0.0) {
        return Err(refuse(key, seconds, "must be a positive number of seconds"));
    }
    Duration::try_from_secs_f64(seconds).map_err(|_| refuse(key, seconds, "too long"))
}

/// One setting that has a duration key and a deprecated seconds key: the duration when given,
/// else the seconds (noting the deprecation in `notices`), else `None`. Both: refused.
pub fn duration_or_seconds(
    (key, text): (&str, Option<&str>),
    (old_key, seconds): (&str, Option<f64>),
    notices: &mut Vec<String>,
) -> Result<Option<Duration>, DurationError> {
    match (text, seconds) {
        (Some(_), Some(seconds)) => Err(refuse(
            old_key,
            seconds,
            &format!("give only {key} (the seconds key is deprecated)"),
        )),
        (Some(text), None) => parse_duration(key, text).map(Some),
        (None, Some(seconds)) => {
            let duration = from_seconds(old_key, seconds)?;
            notices.push(format!(
                "{old_key} is deprecated: write {} = \"{}\"",
                key.rsplit('.').next().unwrap_or(key),
                humantime::format_duration(duration)
            ));
            Ok(Some(duration))
        }
        (None, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_spelling_and_its_errors() {
        assert_eq!(parse_duration("k", "90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("k", "1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(
            parse_duration("k", " 500ms "),
            Ok(Duration::from_millis(500))
        );
        let error = parse_duration("actions.verify_timeout", "3 minutes please").unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("actions.verify_timeout = \"3 minutes please\": not a duration")
        );
        assert_eq!(
            parse_duration("k", "0s").unwrap_err().reason,
            "must be longer than zero"
        );
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(from_seconds("k_seconds", bad).is_err(), "{bad}");
        }
        assert!(from_seconds("k_seconds", 1e300).is_err());
        assert_eq!(
            from_seconds("k_seconds", 0.5),
            Ok(Duration::from_millis(500))
        );
    }

    #[test]
    fn the_deprecated_seconds_key_still_works_and_says_so() {
        let mut notices = Vec::new();
        let new = ("actions.verify_timeout", None);
        let old = ("actions.verify_timeout_seconds", Some(180.0));
        assert_eq!(
            duration_or_seconds(new, old, &mut notices),
            Ok(Some(Duration::from_secs(180)))
        );
        assert_eq!(
            notices,
            ["actions.verify_timeout_seconds is deprecated: write verify_timeout = \"3m\""]
        );
        let both = duration_or_seconds(
            ("a.x", Some("3m")),
            ("a.x_seconds", Some(180.0)),
            &mut notices,
        );
        assert_eq!(
            both.unwrap_err().reason,
            "give only a.x (the seconds key is deprecated)"
        );
        assert_eq!(
            duration_or_seconds(("a.x", Some("2s")), ("a.x_seconds", None), &mut notices),
            Ok(Some(Duration::from_secs(2)))
        );
        assert_eq!(
            duration_or_seconds(("a.x", None), ("a.x_seconds", None), &mut notices),
            Ok(None)
        );
    }
}

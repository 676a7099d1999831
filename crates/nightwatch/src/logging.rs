//! Logging: the level from the config (`LOG_LEVEL`, `--log-level` or `log_level`), plain text or
//! JSON lines (`LOG_JSON`), on stderr, in colour only when stderr is a terminal and `NO_COLOR`
//! is not set.
//!
//! The level is either one level name, in any case, or `tracing_subscriber::EnvFilter`
//! directives (`nightwatch=debug,info`, `warn,hyper=off`) whose levels may also use those names.
//! The names, beyond tracing's own `off`, `error`, `warn`, `info`, `debug` and `trace`, are
//! the spellings other loggers and deployments use:
//!
//! | written                                                                | level   |
//! |------------------------------------------------------------------------|---------|
//! | `off`, `none`                                                          | `off`   |
//! | `error`, `err`, `critical`, `crit`, `fatal`, `alert`, `emerg`, `emergency`, `panic` | `error` |
//! | `warn`, `warning`                                                      | `warn`  |
//! | `info`, `information`, `informational`, `notice`                       | `info`  |
//! | `debug`                                                                | `debug` |
//! | `trace`, `verbose`, `all`                                              | `trace` |
//!
//! tracing has no level between warn and info, so syslog's `notice` is info (a little more
//! than asked rather than hiding what is significant); the levels above error (`critical`, `fatal`, syslog's `alert` and `emerg`) are error,
//! the highest there is. Anything else is refused at start, naming the setting and the value,
//! where `EnvFilter` alone would read an unknown word such as `WARNING` as a target name and log
//! nothing but that target. So every directive names a level after its `=` (`TARGET=LEVEL`,
//! `TARGET[SPAN]=LEVEL`) or is a span filter (`[request]`): a bare word that is not a level
//! name is refused, write `TARGET=trace` for everything from one target. Numbers are refused
//! too: tracing reads `3` as info and syslog as error.

use anyhow::Context;
use std::ffi::OsStr;
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber, or refuses a `level` that means no filter (see the module's
/// table).
pub fn init(level: &str, json: bool) -> anyhow::Result<()> {
    let directives = filter_directives(level).map_err(|reason| {
        anyhow::anyhow!(
            "invalid log level LOG_LEVEL / --log-level / log_level = {level:?}: {reason}; use a \
             level (error, warn, info, debug, trace, off; warning, critical, fatal, notice… are \
             accepted in any case) or filter directives such as `nightwatch=debug,info`"
        )
    })?;
    let filter = EnvFilter::try_new(&directives).with_context(|| {
        format!("invalid log level LOG_LEVEL / --log-level / log_level = {level:?}")
    })?;
    let no_color = std::env::var_os("NO_COLOR");
    let ansi = !json && colour(std::io::stderr().is_terminal(), no_color.as_deref());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    if json {
        builder.json().flatten_event(true).init();
    } else {
        builder.init();
    }
    Ok(())
}

/// Whether to colour the logs: only on a terminal, and not when `NO_COLOR` has a value
/// (<https://no-color.org>: set and not empty, whatever the value).
fn colour(is_terminal: bool, no_color: Option<&OsStr>) -> bool {
    is_terminal && no_color.is_none_or(OsStr::is_empty)
}

/// The `EnvFilter` directives a log level setting means (see the module's table), or why it
/// means none.
pub fn filter_directives(text: &str) -> Result<String, String> {
    let mut directives = Vec::new();
    for part in text.split(',') {
        let part = part.trim();
        if !part.is_empty() {
            directives.push(directive(part)?);
        }
    }
    if directives.is_empty() {
        return Err("it is empty".to_owned());
    }
    let directives = directives.join(",");
    EnvFilter::builder()
        .parse(&directives)
        .map_err(|error| format!("{error}"))?;
    Ok(directives)
}

/// One directive: a level name, or `TARGET[SPAN{FIELDS}]=LEVEL` with its level name made
/// tracing's.
fn directive(part: &str) -> Result<String, String> {
    if let Some(level) = level_name(part) {
        return Ok(level.to_owned());
    }
    // The level is after the `=` that follows the target, or the span's `]`: fields may hold
    // `=` themselves.
    let (head, level) = match part.rfind(']') {
        Some(end) => match part[end + 1..].strip_prefix('=') {
            Some(level) => (&part[..=end], Some(level)),
            None if end + 1 == part.len() => (part, None),
            None => return Err(format!("{part:?} has text after its span")),
        },
        None => match part.split_once('=') {
            Some((target, level)) => (target.trim_end(), Some(level)),
            None if part.contains('[') => (part, None),
            None if part.chars().all(target_char) => {
                return Err(format!(
                    "{part:?} is not a level name (for everything from a target, write \
                     `{part}=trace`)"
                ));
            }
            None => return Err(format!("{part:?} is not a level name")),
        },
    };
    let target = head.split_once('[').map_or(head, |(target, _)| target);
    if let Some(bad) = target.chars().find(|c| !target_char(*c)) {
        return Err(format!("target {target:?} in {part:?} has {bad:?}"));
    }
    if target.is_empty() && !head.starts_with('[') {
        return Err(format!("{part:?} names no target"));
    }
    match level {
        None => Ok(head.to_owned()),
        Some(level) => match level_name(level.trim()) {
            Some(level) => Ok(format!("{}={level}", head.trim_end())),
            None => Err(format!("{level:?} in {part:?} is not a level name")),
        },
    }
}

/// Whether `c` may be in a target: module paths (`nightwatch_app::worker`) and crate names.
fn target_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | ':' | '-' | '.')
}

/// A level's name, in any case, as tracing spells it (see the module's table).
fn level_name(name: &str) -> Option<&'static str> {
    const NAMES: [(&str, &[&str]); 6] = [
        ("off", &["off", "none"]),
        (
            "error",
            &[
                "error",
                "err",
                "critical",
                "crit",
                "fatal",
                "alert",
                "emerg",
                "emergency",
                "panic",
            ],
        ),
        ("warn", &["warn", "warning"]),
        ("info", &["info", "information", "informational", "notice"]),
        ("debug", &["debug"]),
        ("trace", &["trace", "verbose", "all"]),
    ];
    NAMES.iter().find_map(|(level, names)| {
        names
            .iter()
            .any(|n| n.eq_ignore_ascii_case(name))
            .then_some(*level)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_settings_and_what_they_mean() {
        let ok = |text: &str, want: &str| {
            assert_eq!(filter_directives(text).as_deref(), Ok(want), "{text:?}");
        };
        for (text, want) in [
            // tracing's own names, in any case
            ("info", "info"),
            ("INFO", "info"),
            ("Debug", "debug"),
            ("TRACE", "trace"),
            ("warn", "warn"),
            ("ERROR", "error"),
            ("off", "off"),
            // other loggers' names
            ("WARNING", "warn"),
            ("Warning", "warn"),
            ("warning", "warn"),
            ("CRITICAL", "error"),
            ("fatal", "error"),
            ("FATAL", "error"),
            ("err", "error"),
            ("crit", "error"),
            ("alert", "error"),
            ("emerg", "error"),
            ("panic", "error"),
            ("notice", "info"),
            ("Informational", "info"),
            ("verbose", "trace"),
            ("all", "trace"),
            ("none", "off"),
            ("  warning\n", "warn"),
            // EnvFilter directives, their levels named the same ways
            ("nightwatch=debug,info", "nightwatch=debug,info"),
            ("warn,hyper=off", "warn,hyper=off"),
            (
                "nightwatch=WARNING,sqlx=Critical",
                "nightwatch=warn,sqlx=error",
            ),
            (
                "nightwatch_app::worker=trace",
                "nightwatch_app::worker=trace",
            ),
            ("info, tower_http = debug", "info,tower_http=debug"),
            ("info,", "info"),
            ("nightwatch[request]=debug", "nightwatch[request]=debug"),
            ("[request{method=GET}]=debug", "[request{method=GET}]=debug"),
            ("[request]", "[request]"),
        ] {
            ok(text, want);
        }
        for (text, why) in [
            ("bogus!!", "\"bogus!!\" is not a level name"),
            ("WARNINGS", "\"WARNINGS\" is not a level name"),
            ("nightwatch", "write `nightwatch=trace`"),
            ("info,hyper", "\"hyper\" is not a level name"),
            ("3", "\"3\" is not a level name"),
            (
                "nightwatch=3",
                "\"3\" in \"nightwatch=3\" is not a level name",
            ),
            ("nightwatch=loud", "\"loud\" in"),
            ("bogus!!=info", "target \"bogus!!\""),
            ("=info", "names no target"),
            ("nightwatch=", "\"\" in \"nightwatch=\" is not a level name"),
            ("", "it is empty"),
            (" , ", "it is empty"),
            ("[span]x", "has text after its span"),
            ("[span{}]=info", "invalid filter directive"),
        ] {
            match filter_directives(text) {
                Ok(directives) => panic!("{text:?} accepted as {directives:?}"),
                Err(error) => assert!(error.contains(why), "{text:?}: {error}"),
            }
        }
    }

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(colour(true, None));
        assert!(colour(true, Some(OsStr::new(""))));
        assert!(!colour(true, Some(OsStr::new("1"))));
        assert!(!colour(true, Some(OsStr::new("false"))));
        assert!(!colour(false, None));
        assert!(!colour(false, Some(OsStr::new(""))));
    }
}

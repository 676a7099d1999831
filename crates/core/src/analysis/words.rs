//! Small text helpers shared by the template, the history facts and the prompt, so every part
//! writes times, durations and citations the same way (and the parser reads what they write).

use chrono::{DateTime, Utc};

/// `2024-05-01 10:00:00 UTC`: seconds are enough for a timeline and the zone is explicit.
pub(crate) fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// `45s`, `4m 30s`, `2h 5m`, `3d 4h`: the two largest units, which is what a person reads.
pub(crate) fn duration_secs(secs: i64) -> String {
    let secs = secs.max(0);
    let (days, hours, minutes, seconds) = (
        secs / 86_400,
        secs % 86_400 / 3_600,
        secs % 3_600 / 60,
        secs % 60,
    );
    let pair = |big: i64, big_unit: &str, small: i64, small_unit: &str| {
        if small == 0 {
            format!("{big}{big_unit}")
        } else {
            format!("{big}{big_unit} {small}{small_unit}")
        }
    };
    if days > 0 {
        pair(days, "d", hours, "h")
    } else if hours > 0 {
        pair(hours, "h", minutes, "m")
    } else if minutes > 0 {
        pair(minutes, "m", seconds, "s")
    } else {
        format!("{seconds}s")
    }
}

/// `[event 4]` or `[events 4, 5]`: the citation form the template writes and the parser reads.
pub(crate) fn cite(ids: &[i64]) -> String {
    match ids {
        [] => String::new(),
        [one] => format!("[event {one}]"),
        many => format!(
            "[events {}]",
            many.iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// `1 time` / `3 times` and friends.
pub(crate) fn plural(count: usize, one: &str, many: &str) -> String {
    if count == 1 {
        format!("{count} {one}")
    } else {
        format!("{count} {many}")
    }
}

/// Cuts `text` to at most `max` bytes on a character boundary, marking the cut.
pub fn clip(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…", &text[..cut])
}

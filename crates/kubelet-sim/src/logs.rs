//! Container logs: a bounded buffer per container instance, the current and the previous one,
//! rendered the way the kubelet's `/containerLogs` endpoint does.

use chrono::{DateTime, SecondsFormat, Utc};
use std::collections::VecDeque;

/// Lines kept per instance; older lines fall off like a rotated log file.
pub const MAX_LINES: usize = 1000;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogBuffer {
    lines: VecDeque<(DateTime<Utc>, String)>,
}

impl LogBuffer {
    pub fn push(&mut self, at: DateTime<Utc>, line: impl Into<String>) {
        if self.lines.len() == MAX_LINES {
            self.lines.pop_front();
        }
        self.lines.push_back((at, line.into()));
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The text the kubelet returns for these options.
    pub fn render(&self, options: &LogOptions) -> String {
        let skip = match options.tail_lines {
            Some(tail) => self.lines.len().saturating_sub(tail),
            None => 0,
        };
        let mut out = String::new();
        for (at, line) in self.lines.iter().skip(skip) {
            if options.since.is_some_and(|since| *at < since) {
                continue;
            }
            if options.timestamps {
                out.push_str(&at.to_rfc3339_opts(SecondsFormat::Nanos, true));
                out.push(' ');
            }
            out.push_str(line);
            out.push('\n');
        }
        if let Some(limit) = options.limit_bytes
            && out.len() > limit
        {
            let mut cut = limit;
            while !out.is_char_boundary(cut) {
                cut -= 1;
            }
            out.truncate(cut);
        }
        out
    }
}

/// A container's log: the running (or last) instance and the one before it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContainerLog {
    pub current: Option<LogBuffer>,
    pub previous: Option<LogBuffer>,
}

impl ContainerLog {
    /// A new instance starts: the current log becomes the previous one.
    pub fn start_instance(&mut self) -> &mut LogBuffer {
        self.previous = self.current.take();
        self.current.insert(LogBuffer::default())
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogOptions {
    pub previous: bool,
    pub tail_lines: Option<usize>,
    pub timestamps: bool,
    pub limit_bytes: Option<usize>,
    pub since: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(second: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, second)
            .single()
            .unwrap()
    }

    #[test]
    fn renders_tail_timestamps_limit() {
        let mut buffer = LogBuffer::default();
        for i in 0..5 {
            buffer.push(at(i), format!("line {i}"));
        }
        assert_eq!(
            buffer.render(&LogOptions::default()),
            "line 0\nline 1\nline 2\nline 3\nline 4\n"
        );
        let tail = LogOptions {
            tail_lines: Some(2),
            ..Default::default()
        };
        assert_eq!(buffer.render(&tail), "line 3\nline 4\n");
        let stamped = LogOptions {
            tail_lines: Some(1),
            timestamps: true,
            ..Default::default()
        };
        assert_eq!(
            buffer.render(&stamped),
            "2026-01-02T03:04:04.000000000Z line 4\n"
        );
        let limited = LogOptions {
            limit_bytes: Some(9),
            ..Default::default()
        };
        assert_eq!(buffer.render(&limited), "line 0\nli");
        let since = LogOptions {
            since: Some(at(3)),
            ..Default::default()
        };
        assert_eq!(buffer.render(&since), "line 3\nline 4\n");
    }

    #[test]
    fn bounded_and_rotates_instances() {
        let mut buffer = LogBuffer::default();
        for i in 0..(MAX_LINES + 10) {
            buffer.push(at(0), format!("{i}"));
        }
        assert_eq!(buffer.len(), MAX_LINES);
        assert!(buffer.render(&LogOptions::default()).starts_with("10\n"));

        let mut log = ContainerLog::default();
        log.start_instance().push(at(0), "first");
        log.start_instance().push(at(1), "second");
        log.start_instance().push(at(2), "third");
        let all = LogOptions::default();
        assert_eq!(log.current.as_ref().unwrap().render(&all), "third\n");
        assert_eq!(log.previous.as_ref().unwrap().render(&all), "second\n");
    }
}

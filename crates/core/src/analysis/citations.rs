//! Finding `[event N]` citations in text, checking them against the timeline, and marking the
//! ones that point nowhere. The template and a model's answer go through the same code, so the
//! citations list always says what the text says.

use super::report::{Citation, Section};
use std::collections::BTreeSet;
use std::ops::Range;

/// One bracketed citation: where it is and the ids it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cited {
    pub span: Range<usize>,
    pub ids: Vec<i64>,
}

/// The longest bracket content read as a citation; longer brackets are prose.
const MAX_CITATION_LEN: usize = 200;

/// Every `[event 4]`, `[Event #4]`, `[events 4, 5]` or `[event 4 and 5]` in `text`.
pub(crate) fn find(text: &str) -> Vec<Cited> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(open) = text[from..].find('[').map(|at| at + from) {
        from = open + 1;
        let rest = &text[open + 1..];
        let Some(close) = rest.find(']') else { break };
        let inner = &rest[..close];
        if inner.len() > MAX_CITATION_LEN || inner.contains('[') {
            continue;
        }
        if let Some(ids) = parse_inner(inner) {
            let end = open + 1 + close + 1;
            found.push(Cited {
                span: open..end,
                ids,
            });
            from = end;
        }
    }
    found
}

fn parse_inner(inner: &str) -> Option<Vec<i64>> {
    let lower = inner.trim().to_ascii_lowercase();
    let rest = lower
        .strip_prefix("events")
        .or_else(|| lower.strip_prefix("event"))?;
    // `[eventual …]` is not a citation: the word must end here.
    if !rest.starts_with([' ', '#', ':']) && !rest.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let mut ids = Vec::new();
    for token in rest.split([',', ' ', '#', ':', ';']) {
        match token {
            "" | "and" | "&" => {}
            number => ids.push(number.parse().ok()?),
        }
    }
    (!ids.is_empty()).then_some(ids)
}

/// The citations of `sections`, split into those `known` has and those it has not; each
/// (section, event) once, in order of appearance.
pub(crate) fn collect(
    sections: &[Section],
    known: &BTreeSet<i64>,
) -> (Vec<Citation>, Vec<Citation>) {
    let mut valid = Vec::new();
    let mut unverified = Vec::new();
    for section in sections {
        for cited in find(&section.body) {
            for id in cited.ids {
                let citation = Citation {
                    section: section.title.clone(),
                    event_id: id,
                };
                let list = if known.contains(&id) {
                    &mut valid
                } else {
                    &mut unverified
                };
                if !list.contains(&citation) {
                    list.push(citation);
                }
            }
        }
    }
    (valid, unverified)
}

/// Rewrites citations of unknown ids as `[unverified: event N]` so a reader of the text sees
/// which references do not check out; known ones keep their form.
pub(crate) fn mark_unknown(text: &str, known: &BTreeSet<i64>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for cited in find(text) {
        if cited.ids.iter().all(|id| known.contains(id)) {
            continue;
        }
        out.push_str(&text[last..cited.span.start]);
        let (good, bad): (Vec<i64>, Vec<i64>) = cited.ids.iter().partition(|id| known.contains(id));
        let mut parts = Vec::new();
        if !good.is_empty() {
            parts.push(super::words::cite(&good));
        }
        parts.extend(bad.iter().map(|id| format!("[unverified: event {id}]")));
        out.push_str(&parts.join(" "));
        last = cited.span.end;
    }
    out.push_str(&text[last..]);
    out
}

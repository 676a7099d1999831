//! Reading a model's Markdown answer back into the analysis sections. Models vary the heading
//! level, case, numbering and wording, so headings are matched loosely; a missing section is
//! refused rather than filled in, so the caller can fall back to the template.

use super::citations;
use super::input::AnalysisInput;
use super::report::{Analysis, AnalysisError, AnalysisSource, SECTION_TITLES, Section};
use std::collections::BTreeSet;

/// Accepted heading texts per section (normalised, see [`normalise`]), in [`SECTION_TITLES`]
/// order.
const HEADING_ALIASES: [&[&str]; 7] = [
    &["summary", "executive summary", "tl;dr", "tldr"],
    &["what happened", "timeline"],
    &[
        "root cause hypothesis",
        "root cause hypotheses",
        "root cause",
        "hypothesis",
    ],
    &["action", "actions", "action taken", "actions taken"],
    &["why", "rationale"],
    &[
        "historical pattern and sre recommendation",
        "historical pattern and recommendation",
        "historical pattern and sre recommendations",
        "history and recommendation",
        "historical pattern",
        "sre recommendation",
        "history",
    ],
    &["follow ups", "followups", "follow up", "next steps"],
];

/// Lower case, no markup, numbering or trailing colon; `&` as `and`, hyphens as spaces.
fn normalise(heading: &str) -> String {
    let text = heading
        .trim()
        .trim_start_matches('#')
        .trim()
        .trim_matches(['*', '_'])
        .trim();
    // "1. Summary", "2) What happened", "3 - Root cause"
    let text = text.trim_start_matches(|c: char| c.is_ascii_digit());
    let text = text
        .strip_prefix(['.', ')'])
        .unwrap_or(text)
        .trim_start_matches([' ', '-']);
    let text = text
        .trim_end()
        .trim_end_matches(['*', '_'])
        .trim_end_matches([':', '.'])
        .to_lowercase()
        .replace('&', " and ")
        .replace('-', " ");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The section a line heads, if it is a heading of one: `# …` to `###### …`, or a line that
/// is bold text alone (`**Summary**`, `**Why:**`).
fn heading(line: &str) -> Option<usize> {
    let trimmed = line.trim();
    let hashes = trimmed.chars().take_while(|c| *c == '#').count();
    let is_atx =
        (1..=6).contains(&hashes) && trimmed[hashes..].starts_with(|c: char| c.is_whitespace());
    let is_bold = trimmed.starts_with("**")
        && (trimmed.ends_with("**") || trimmed.ends_with("**:"))
        && trimmed.len() > 4;
    if !is_atx && !is_bold {
        return None;
    }
    let key = normalise(trimmed);
    HEADING_ALIASES
        .iter()
        .position(|aliases| aliases.contains(&key.as_str()))
}

/// Drops a fence around the answer: models like to wrap Markdown in ```markdown, sometimes
/// after a sentence of their own. Only a fence that closes on the last line and has no section
/// heading before it counts, so a code block inside a section stays.
fn unfence(text: &str) -> String {
    let lines: Vec<&str> = text.trim().lines().collect();
    let Some((last, rest)) = lines.split_last() else {
        return String::new();
    };
    if last.trim() != "```" {
        return text.to_owned();
    }
    let Some(open) = rest
        .iter()
        .position(|line| line.trim_start().starts_with("```"))
    else {
        return text.to_owned();
    };
    if rest[..open].iter().any(|line| heading(line).is_some()) {
        return text.to_owned();
    }
    rest[open + 1..].join("\n")
}

/// Splits a model's Markdown answer into the analysis sections (in the required order,
/// whatever order the model used), and checks its `[event N]` citations against `input`'s
/// timeline: unknown ids go to `unverified_citations` and are marked in the text.
pub fn parse_llm_analysis(text: &str, input: &AnalysisInput) -> Result<Analysis, AnalysisError> {
    let text = unfence(text);
    let text = text.as_str();
    if text.trim().is_empty() {
        return Err(AnalysisError::Empty);
    }
    let mut bodies: [Vec<&str>; 7] = Default::default();
    let mut current: Option<usize> = None;
    let mut in_code = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
        }
        if !in_code && let Some(index) = heading(line) {
            if let Some(body) = bodies.get_mut(index)
                && !body.is_empty()
            {
                // The same section twice: keep both parts, apart.
                body.push("");
            }
            current = Some(index);
            continue;
        }
        // Text before the first section heading is the model talking, not analysis.
        if let Some(body) = current.and_then(|index| bodies.get_mut(index)) {
            body.push(line);
        }
    }
    let known: BTreeSet<i64> = input.timeline.iter().map(|event| event.id).collect();
    let raw: Vec<Section> = SECTION_TITLES
        .iter()
        .zip(bodies)
        .map(|(title, lines)| Section {
            title: (*title).to_owned(),
            body: lines.join("\n").trim().to_owned(),
        })
        .collect();
    let missing: Vec<String> = raw
        .iter()
        .filter(|section| section.body.is_empty())
        .map(|section| section.title.clone())
        .collect();
    if !missing.is_empty() {
        return Err(AnalysisError::MissingSections { missing });
    }
    // Collected before marking: a marked citation no longer reads as one.
    let (citations, unverified_citations) = citations::collect(&raw, &known);
    let sections = raw
        .into_iter()
        .map(|section| Section {
            body: citations::mark_unknown(&section.body, &known),
            title: section.title,
        })
        .collect();
    Ok(Analysis {
        source: AnalysisSource::Llm,
        sections,
        citations,
        unverified_citations,
    })
}

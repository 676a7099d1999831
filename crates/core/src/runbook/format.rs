//! The runbook file format: `---` YAML frontmatter `---` then Markdown. Validation is strict
//! and every error names the file and line, so a bad runbook is refused at load, not at 3 am.

use super::gate::Gate;
use super::tools::{ToolKind, tool_kind};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

/// Names a gate may read besides earlier step ids.
pub(crate) const GATE_GLOBALS: &[&str] = &["alert", "incident"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Runbook {
    pub id: String,
    pub title: String,
    #[serde(default, rename = "match")]
    pub matches: RunbookMatch,
    /// Escalation classes (policy `always_escalate`) incidents of this runbook belong to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub escalation_classes: Vec<String>,
    #[serde(default)]
    pub steps: Vec<Step>,
    /// The Markdown body: for people, and later for the LLM.
    #[serde(skip)]
    pub body: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunbookMatch {
    /// The `runbook_id` label value that selects this runbook (defaults to the runbook's id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runbook_id: Option<String>,
    /// Alert names routed here when no `runbook_id` label says otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alertnames: Vec<String>,
    /// Live-state reasons routed here: a container's waiting or last-termination reason
    /// (`ImagePullBackOff`, `OOMKilled`, …), or `NodeNotReady` / `NodeUnschedulable`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub id: String,
    pub tool: String,
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub args: serde_json::Map<String, serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub when_all: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl Step {
    /// Every gate of the step (`when` and each of `when_all`); all must hold.
    pub fn gates(&self) -> impl Iterator<Item = &str> {
        self.when
            .iter()
            .chain(self.when_all.iter())
            .map(String::as_str)
    }

    pub fn kind(&self) -> Option<ToolKind> {
        tool_kind(&self.tool)
    }
}

/// A refused runbook: where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct RunbookError {
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for RunbookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.file, line, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// Parses and validates one runbook. `file` is only used in error messages.
pub fn parse_runbook(file: &str, text: &str) -> Result<Runbook, Vec<RunbookError>> {
    let error = |line: Option<usize>, message: String| RunbookError {
        file: file.to_owned(),
        line,
        message,
    };
    let Some((frontmatter, body)) = split_frontmatter(text) else {
        return Err(vec![error(
            Some(1),
            "a runbook starts with a `---` line, its YAML frontmatter, and a closing `---` line"
                .to_owned(),
        )]);
    };
    // The frontmatter starts on the file's second line.
    let mut runbook: Runbook = yaml_serde::from_str(frontmatter).map_err(|parse| {
        let line = parse.location().map(|location| location.line() + 1);
        vec![error(line, format!("frontmatter: {parse}"))]
    })?;
    runbook.body = body.trim().to_owned();

    // 0-based frontmatter lines are file lines + 2 (the `---` line comes first).
    let line_of = |needle: &str| find_line(frontmatter, needle).map(|line| line + 2);
    let mut errors = Vec::new();
    if !is_runbook_id(&runbook.id) {
        errors.push(error(
            line_of("id:"),
            format!(
                "id {:?} must be upper case letters, digits and underscores (like RB_OOM)",
                runbook.id
            ),
        ));
    }
    if runbook.title.trim().is_empty() {
        errors.push(error(line_of("title:"), "title is empty".to_owned()));
    }
    let mut earlier: BTreeSet<&str> = BTreeSet::new();
    for step in &runbook.steps {
        let line = step_line(frontmatter, &step.id).map(|line| line + 2);
        if !is_step_id(&step.id) {
            errors.push(error(
                line,
                format!(
                    "step id {:?} must be a lower-case identifier (letters, digits, _), so gates can name it",
                    step.id
                ),
            ));
        } else if GATE_GLOBALS.contains(&step.id.as_str()) {
            errors.push(error(
                line,
                format!(
                    "step id {:?} is reserved for the alert/incident in gates",
                    step.id
                ),
            ));
        } else if earlier.contains(step.id.as_str()) {
            errors.push(error(line, format!("step id {:?} is used twice", step.id)));
        }
        if step.kind().is_none() {
            errors.push(error(
                line,
                format!("step {:?}: unknown tool {:?}", step.id, step.tool),
            ));
        }
        for expression in step.gates() {
            match Gate::compile(expression) {
                Err(problem) => errors.push(error(
                    line,
                    format!("step {:?}: gate {expression:?}: {problem}", step.id),
                )),
                Ok(gate) => {
                    for name in gate.variables() {
                        if name == step.id {
                            errors.push(error(
                                line,
                                format!("step {:?}: gate reads its own output", step.id),
                            ));
                        } else if !earlier.contains(name.as_str())
                            && !GATE_GLOBALS.contains(&name.as_str())
                        {
                            errors.push(error(
                                line,
                                format!(
                                    "step {:?}: gate {expression:?} reads {name:?}, which is not an earlier step (earlier: {}) nor alert/incident",
                                    step.id,
                                    if earlier.is_empty() { "none".to_owned() } else { earlier.iter().copied().collect::<Vec<_>>().join(", ") }
                                ),
                            ));
                        }
                    }
                }
            }
        }
        earlier.insert(step.id.as_str());
    }
    if errors.is_empty() {
        Ok(runbook)
    } else {
        Err(errors)
    }
}

/// Splits `---\n<yaml>\n---\n<body>`; tolerates CRLF and a trailing-space delimiter.
fn split_frontmatter(text: &str) -> Option<(&str, &str)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.split_inclusive('\n');
    let first = lines.next()?;
    if first.trim_end() != "---" {
        return None;
    }
    let start = first.len();
    let mut offset = start;
    for line in lines {
        if line.trim_end() == "---" {
            return Some((&text[start..offset], &text[offset + line.len()..]));
        }
        offset += line.len();
    }
    None
}

/// 0-based line within `frontmatter` of the first line containing `needle`.
fn find_line(frontmatter: &str, needle: &str) -> Option<usize> {
    frontmatter.lines().position(|line| line.contains(needle))
}

/// The line a step is declared on: the `id: <step>` after `steps:` (else the `steps:` line).
fn step_line(frontmatter: &str, step_id: &str) -> Option<usize> {
    let steps_at = frontmatter
        .lines()
        .position(|line| line.trim_start().starts_with("steps:"))?;
    let declares = |line: &str| {
        ["id: ", "id: \"", "id: '"].iter().any(|prefix| {
            let needle = format!("{prefix}{step_id}");
            line.match_indices(&needle).any(|(at, _)| {
                let after = line[at + needle.len()..].chars().next();
                let before = line[..at].chars().next_back();
                !matches!(after, Some(c) if c.is_ascii_alphanumeric() || c == '_')
                    && !matches!(before, Some(c) if c.is_ascii_alphanumeric() || c == '_')
            })
        })
    };
    frontmatter
        .lines()
        .enumerate()
        .skip(steps_at)
        .find(|(_, line)| declares(line))
        .map(|(index, _)| index)
        .or(Some(steps_at))
}

fn is_runbook_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

fn is_step_id(id: &str) -> bool {
    let mut chars = id.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

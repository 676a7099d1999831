//! What a replay prints: per incident the route, every tool call with its result, the
//! investigation's report, the analysis, the model's token counts and cost, and how the text
//! fares against the case's expectations.

use super::case::{Case, Expectations};
use nightwatch_core::event::{EventKind, EventPayload};
use nightwatch_store::IncidentDetail;
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub case: String,
    pub format: &'static str,
    /// `provider/model`, or none (template analysis).
    pub model: Option<String>,
    pub incidents: Vec<IncidentReport>,
    pub totals: Totals,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Totals {
    pub tool_calls: usize,
    pub llm_calls: usize,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct IncidentReport {
    pub id: i64,
    pub alertname: String,
    pub subject: String,
    pub runbook: Option<String>,
    pub route_basis: Option<String>,
    /// The class of cause the analyzers concluded, and how many findings they made.
    pub category: Option<String>,
    pub findings: usize,
    pub tool_calls: Vec<ToolCallReport>,
    pub investigation: Option<Value>,
    pub analysis_source: Option<String>,
    pub analysis_fallback: Option<String>,
    pub analysis: Option<String>,
    pub totals: Totals,
    pub expectations: ExpectationReport,
}

#[derive(Debug, Clone, Serialize)]
pub struct ToolCallReport {
    /// The runbook step, or `llm:<agent>`.
    pub step: String,
    pub tool: String,
    pub result: String,
    pub error: bool,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ExpectationReport {
    pub keywords_found: Vec<String>,
    pub keywords_missing: Vec<String>,
    pub forbidden_present: Vec<String>,
    /// For a reviewer: statements the case expects (not scored automatically).
    pub expected: Vec<String>,
    /// The class of cause the case expects, and whether the analysis gave it.
    pub category_expected: Option<String>,
    pub category_right: Option<bool>,
    /// The analysis gave a class the case forbids.
    pub forbidden_category: bool,
}

fn text(value: &Value, key: &str) -> String {
    value[key].as_str().unwrap_or_default().to_owned()
}

/// Keyword hits in `haystack`, case-insensitively.
pub fn score(expect: &Expectations, haystack: &str) -> ExpectationReport {
    let lower = haystack.to_lowercase();
    let (found, missing) = expect
        .keywords
        .iter()
        .cloned()
        .partition(|word| lower.contains(&word.to_lowercase()));
    ExpectationReport {
        keywords_found: found,
        keywords_missing: missing,
        forbidden_present: expect
            .forbidden
            .iter()
            .filter(|word| lower.contains(&word.to_lowercase()))
            .cloned()
            .collect(),
        expected: expect.expected.clone(),
        ..ExpectationReport::default()
    }
}

fn incident_report(case: &Case, detail: &IncidentDetail) -> IncidentReport {
    let incident = &detail.incident;
    let mut report = IncidentReport {
        id: incident.id,
        alertname: incident.alertname.clone(),
        subject: [
            incident
                .namespace
                .as_ref()
                .zip(incident.pod.as_ref())
                .map(|(ns, pod)| format!("pod {ns}/{pod}")),
            incident.node.as_ref().map(|node| format!("node {node}")),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", "),
        runbook: incident.runbook.clone(),
        route_basis: None,
        category: None,
        findings: 0,
        tool_calls: Vec::new(),
        investigation: None,
        analysis_source: None,
        analysis_fallback: None,
        analysis: None,
        totals: Totals::default(),
        expectations: ExpectationReport::default(),
    };
    for event in &detail.events {
        let p = &event.payload;
        match EventPayload::parse(event.kind, p) {
            EventPayload::Routed(routed) => report.route_basis = Some(routed.basis),
            EventPayload::Evidence(assessment) => {
                report.category = Some(assessment.category.as_str().to_owned());
                report.findings = assessment.findings.len();
            }
            EventPayload::ToolResult(result) => {
                let error = result.error.is_some();
                report.tool_calls.push(ToolCallReport {
                    step: result.step,
                    tool: result.tool,
                    result: if error { result.error } else { result.summary }.unwrap_or_default(),
                    error,
                });
            }
            // A model call (not a provider error or the investigation's end).
            EventPayload::LlmResponse(response) if response.call.is_some() => {
                report.totals.llm_calls += 1;
                report.totals.input_tokens += response.input_tokens.unwrap_or(0);
                report.totals.output_tokens += response.output_tokens.unwrap_or(0);
                report.totals.cost_usd += response.cost_usd.unwrap_or(0.0);
            }
            // Kept whole: the report shows the investigation as written.
            EventPayload::Investigation(_)
            | EventPayload::Unparsed(EventKind::Investigation, _) => {
                report.investigation = Some(p.clone())
            }
            EventPayload::Analysis(analysis) => {
                report.analysis_source = Some(analysis.source);
                report.analysis_fallback = analysis.fallback_reason;
                report.analysis = Some(analysis.markdown);
            }
            // Not even an object, yet an analysis was written: shown as an empty one.
            EventPayload::Unparsed(EventKind::Analysis, _) => {
                report.analysis_source = Some(String::new());
                report.analysis_fallback = None;
                report.analysis = Some(String::new());
            }
            _ => {}
        }
    }
    report.totals.tool_calls = report.tool_calls.len();
    let answer = report
        .investigation
        .as_ref()
        .map(|i| text(i, "answer"))
        .unwrap_or_default();
    let haystack = format!(
        "{answer}\n{}",
        report.analysis.as_deref().unwrap_or_default()
    );
    report.expectations = score(&case.expect, &haystack);
    let category = report.category.as_deref();
    report.expectations.category_expected = case.expect.category.clone();
    report.expectations.category_right = case
        .expect
        .category
        .as_deref()
        .map(|expected| category == Some(expected));
    report.expectations.forbidden_category = category.is_some_and(|category| {
        case.expect
            .forbidden_categories
            .iter()
            .any(|forbidden| forbidden == category)
    });
    report
}

pub fn build(case: &Case, model: Option<String>, details: &[IncidentDetail]) -> Report {
    let incidents: Vec<IncidentReport> = details
        .iter()
        .map(|detail| incident_report(case, detail))
        .collect();
    let mut totals = Totals::default();
    for incident in &incidents {
        totals.tool_calls += incident.totals.tool_calls;
        totals.llm_calls += incident.totals.llm_calls;
        totals.input_tokens += incident.totals.input_tokens;
        totals.output_tokens += incident.totals.output_tokens;
        totals.cost_usd += incident.totals.cost_usd;
    }
    Report {
        case: case.name.clone(),
        format: case.format.as_str(),
        model,
        incidents,
        totals,
    }
}

fn one_line(text: &str) -> String {
    text.replace(['\n', '|'], " ")
}

pub fn render_markdown(report: &Report) -> String {
    let mut out = format!(
        "# Replay of {} ({})\n\nModel: {}. Totals: {} tool calls, {} model calls, {} input + {} output tokens, ${:.4}.\n",
        report.case,
        report.format,
        report
            .model
            .as_deref()
            .unwrap_or("none (template analysis)"),
        report.totals.tool_calls,
        report.totals.llm_calls,
        report.totals.input_tokens,
        report.totals.output_tokens,
        report.totals.cost_usd
    );
    if report.incidents.is_empty() {
        out.push_str("\nNo incident was opened (no firing alert in the delivery).\n");
    }
    for incident in &report.incidents {
        out.push_str(&format!(
            "\n## Incident #{} {} {}\n\nRouted to {} ({}).\n\n### Tool calls ({})\n\n",
            incident.id,
            incident.alertname,
            incident.subject,
            incident.runbook.as_deref().unwrap_or("-"),
            incident.route_basis.as_deref().unwrap_or("-"),
            incident.tool_calls.len()
        ));
        if incident.tool_calls.is_empty() {
            out.push_str("none\n");
        } else {
            out.push_str("| step | tool | result |\n|---|---|---|\n");
            for call in &incident.tool_calls {
                out.push_str(&format!(
                    "| {} | {} | {}{} |\n",
                    call.step,
                    call.tool,
                    if call.error { "error: " } else { "" },
                    one_line(&call.result)
                ));
            }
        }
        if let Some(investigation) = &incident.investigation {
            out.push_str(&format!(
                "\n### Investigation (stopped: {})\n\n{}\n",
                investigation["stop"].as_str().unwrap_or("?"),
                investigation["answer"].as_str().unwrap_or_default()
            ));
        }
        out.push_str(&format!(
            "\n### Analysis ({}{})\n\n{}\n",
            incident.analysis_source.as_deref().unwrap_or("none"),
            incident
                .analysis_fallback
                .as_deref()
                .map(|why| format!(", fallback: {why}"))
                .unwrap_or_default(),
            incident.analysis.as_deref().unwrap_or("(none written)")
        ));
        let e = &incident.expectations;
        if !(e.keywords_found.is_empty() && e.keywords_missing.is_empty() && e.expected.is_empty())
        {
            out.push_str(&format!(
                "\n### Expectations\n\nKeywords found {}/{}{}{}\n",
                e.keywords_found.len(),
                e.keywords_found.len() + e.keywords_missing.len(),
                if e.keywords_missing.is_empty() {
                    String::new()
                } else {
                    format!("; missing: {}", e.keywords_missing.join(", "))
                },
                if e.forbidden_present.is_empty() {
                    String::new()
                } else {
                    format!("; forbidden present: {}", e.forbidden_present.join(", "))
                },
            ));
            for line in &e.expected {
                let line = one_line(line);
                let mut shown: String = line.chars().take(400).collect();
                if shown.len() < line.len() {
                    shown.push_str(" …");
                }
                out.push_str(&format!("- expected: {shown}\n"));
            }
        }
        out.push_str(&format!(
            "\nTokens: {} in, {} out over {} model calls; ${:.4}.\n",
            incident.totals.input_tokens,
            incident.totals.output_tokens,
            incident.totals.llm_calls,
            incident.totals.cost_usd
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_are_scored_case_insensitively() {
        let expect = Expectations {
            keywords: vec!["Exit code 137".into(), "memory".into(), "quota".into()],
            forbidden: vec!["healthy".into()],
            expected: vec!["the pod is OOM-killed".into()],
            ..Expectations::default()
        };
        let scored = score(
            &expect,
            "Container ended with exit code 137: out of MEMORY; not healthy",
        );
        assert_eq!(scored.keywords_found, vec!["Exit code 137", "memory"]);
        assert_eq!(scored.keywords_missing, vec!["quota"]);
        assert_eq!(scored.forbidden_present, vec!["healthy"]);
        assert_eq!(scored.expected, vec!["the pod is OOM-killed"]);
    }
}

/// One case's row in the quality table.
#[derive(Debug, Clone, Serialize)]
pub struct QualityRow {
    pub case: String,
    pub format: &'static str,
    pub alertname: String,
    pub runbook: String,
    pub basis: String,
    pub category: String,
    pub category_expected: Option<String>,
    pub category_right: Option<bool>,
    pub forbidden_category: bool,
    pub keywords_found: usize,
    pub keywords_total: usize,
    pub facts_found: usize,
    pub facts_total: usize,
    pub findings: usize,
    pub tool_calls: usize,
    /// The model's calls and tokens (all zero without a model).
    pub llm_calls: usize,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub millis: u128,
}

/// Words of an expected statement that carry its meaning: names (with digits, dashes,
/// dots, slashes or inner capitals) and long words, never the glue between them.
fn salient_terms(statement: &str) -> Vec<String> {
    const GLUE: &[&str] = &[
        "should",
        "because",
        "which",
        "there",
        "their",
        "about",
        "being",
        "these",
        "those",
        "would",
        "could",
        "mention",
        "mentions",
        "output",
        "answer",
        "indicate",
        "indicates",
        "including",
        "explain",
        "explains",
        "identify",
        "identifies",
        "should",
        "that",
        "with",
        "from",
        "this",
        "have",
        "must",
        "into",
        "also",
    ];
    statement
        .split(|c: char| {
            c.is_whitespace() || matches!(c, ',' | ';' | '(' | ')' | '"' | '\'' | '`' | ':')
        })
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
        .filter(|w| !w.is_empty())
        .filter(|w| {
            let lower = w.to_lowercase();
            let named = w
                .chars()
                .any(|c| c.is_ascii_digit() || matches!(c, '-' | '_' | '.' | '/'))
                || w.chars().skip(1).any(|c| c.is_uppercase());
            !GLUE.contains(&lower.as_str()) && (named || w.chars().count() >= 6)
        })
        .map(str::to_lowercase)
        .collect()
}

/// An expected statement counts as named when most of its salient terms are in the text.
/// A measurement for the quality table, not a judgement a reviewer would sign.
pub fn fact_named(statement: &str, haystack_lower: &str) -> bool {
    let terms = salient_terms(statement);
    if terms.is_empty() {
        return false;
    }
    let found = terms
        .iter()
        .filter(|t| haystack_lower.contains(t.as_str()))
        .count();
    found * 5 >= terms.len() * 3
}

impl QualityRow {
    pub fn of(report: &Report, millis: u128) -> QualityRow {
        let first = report.incidents.first();
        let e = first.map(|i| &i.expectations);
        let haystack = first
            .map(|i| {
                format!(
                    "{}\n{}",
                    i.investigation
                        .as_ref()
                        .map(|v| v.to_string())
                        .unwrap_or_default(),
                    i.analysis.as_deref().unwrap_or_default()
                )
                .to_lowercase()
            })
            .unwrap_or_default();
        let facts = e.map(|e| e.expected.clone()).unwrap_or_default();
        let facts_total = if report.format == "holmesgpt" {
            facts.len()
        } else {
            0
        };
        QualityRow {
            case: report.case.clone(),
            format: report.format,
            alertname: first.map(|i| i.alertname.clone()).unwrap_or_default(),
            runbook: first
                .and_then(|i| i.runbook.clone())
                .unwrap_or_else(|| "-".into()),
            basis: first
                .and_then(|i| i.route_basis.clone())
                .unwrap_or_else(|| "-".into()),
            category: first
                .and_then(|i| i.category.clone())
                .unwrap_or_else(|| "-".into()),
            category_expected: e.and_then(|e| e.category_expected.clone()),
            category_right: e.and_then(|e| e.category_right),
            forbidden_category: e.is_some_and(|e| e.forbidden_category),
            keywords_found: e.map(|e| e.keywords_found.len()).unwrap_or(0),
            keywords_total: e
                .map(|e| e.keywords_found.len() + e.keywords_missing.len())
                .unwrap_or(0),
            facts_found: if facts_total > 0 {
                facts.iter().filter(|f| fact_named(f, &haystack)).count()
            } else {
                0
            },
            facts_total,
            findings: first.map(|i| i.findings).unwrap_or(0),
            tool_calls: report.totals.tool_calls,
            llm_calls: report.totals.llm_calls,
            input_tokens: report.totals.input_tokens,
            output_tokens: report.totals.output_tokens,
            millis,
        }
    }
}

fn percent(part: usize, whole: usize) -> String {
    match (part * 100).checked_div(whole) {
        Some(share) => format!("{share}%"),
        None => "-".to_owned(),
    }
}

/// The quality table: one row per case, then the totals.
pub fn render_quality(rows: &[QualityRow]) -> String {
    let mut out = String::from(
        "| case | alert | runbook (basis) | category (expected) | keywords | facts | forbidden category | findings | tool calls | model calls | tokens in/out | ms |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for row in rows {
        out.push_str(&format!(
            "| {} | {} | {} ({}) | {}{} | {} | {} | {} | {} | {} | {} | {}/{} | {} |\n",
            row.case,
            row.alertname,
            row.runbook,
            row.basis,
            row.category,
            match (&row.category_expected, row.category_right) {
                (Some(expected), Some(true)) => format!(" ✓ {expected}"),
                (Some(expected), _) => format!(" ✗ {expected}"),
                _ => String::new(),
            },
            if row.keywords_total > 0 {
                format!("{}/{}", row.keywords_found, row.keywords_total)
            } else {
                "-".into()
            },
            if row.facts_total > 0 {
                format!("{}/{}", row.facts_found, row.facts_total)
            } else {
                "-".into()
            },
            if row.forbidden_category { "yes" } else { "no" },
            row.findings,
            row.tool_calls,
            row.llm_calls,
            row.input_tokens,
            row.output_tokens,
            row.millis
        ));
    }
    let judged: Vec<&QualityRow> = rows.iter().filter(|r| r.category_right.is_some()).collect();
    let right = judged
        .iter()
        .filter(|r| r.category_right == Some(true))
        .count();
    let (kf, kt) = rows.iter().fold((0, 0), |(f, t), r| {
        (f + r.keywords_found, t + r.keywords_total)
    });
    let (ff, ft) = rows
        .iter()
        .fold((0, 0), |(f, t), r| (f + r.facts_found, t + r.facts_total));
    let with_facts = rows
        .iter()
        .filter(|r| r.facts_total > 0)
        .collect::<Vec<_>>();
    let most_facts = with_facts
        .iter()
        .filter(|r| r.facts_found * 2 > r.facts_total)
        .count();
    out.push_str(&format!(
        "\nTotals over {} cases: category right {right}/{} ({}); required keywords {kf}/{kt} ({}); expected facts named {ff}/{ft} ({}), cases with most facts named {most_facts}/{}; forbidden categories hit {}; findings {}; tool calls {}; model calls {}, tokens {} in + {} out.\n",
        rows.len(),
        judged.len(),
        percent(right, judged.len()),
        percent(kf, kt),
        percent(ff, ft),
        with_facts.len(),
        rows.iter().filter(|r| r.forbidden_category).count(),
        rows.iter().map(|r| r.findings).sum::<usize>(),
        rows.iter().map(|r| r.tool_calls).sum::<usize>(),
        rows.iter().map(|r| r.llm_calls).sum::<usize>(),
        rows.iter().map(|r| r.input_tokens).sum::<u64>(),
        rows.iter().map(|r| r.output_tokens).sum::<u64>(),
    ));
    out
}

#[cfg(test)]
mod quality_tests {
    use super::*;

    #[test]
    fn facts_count_when_most_of_their_names_appear() {
        let text = "pod user-profile-resources-659d4dd659-cq4kq is pending: insufficient nvidia.com/gpu on every node";
        assert!(fact_named(
            "The pod user-profile-resources-659d4dd659-cq4kq is pending due to insufficient nvidia.com/gpu",
            text
        ));
        assert!(!fact_named(
            "The image nginx:1.99 does not exist in the registry",
            text
        ));
        assert!(
            !fact_named("it is", text),
            "no salient terms: never counted"
        );
    }
}

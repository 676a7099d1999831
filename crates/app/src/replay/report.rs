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

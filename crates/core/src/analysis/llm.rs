//! The prompt a model gets to write the analysis: the same facts the template uses, as compact
//! text, the required headings, and the rules (cite events, say "unknown" rather than guess).

use super::history::{HISTORY_LIMIT, history_pattern, incident_refs, select_history};
use super::input::AnalysisInput;
use super::report::SECTION_TITLES;
use super::words::{clip, duration_secs, time};
use crate::event::EventKind;
use crate::evidence::Assessment;
use chrono::{DateTime, Utc};

/// Longest payload (compact JSON) quoted per event; tool data beyond this is rarely read and
/// would crowd out the rest of the timeline.
const MAX_EVENT_JSON: usize = 1_500;
/// Repeated firings quoted by id; the rest are counted.
const MAX_SUPPRESSED: usize = 5;

/// `(system, user)` messages for a model writing the analysis of `input` as of `now`.
pub fn llm_prompt(input: &AnalysisInput, now: DateTime<Utc>) -> (String, String) {
    (system_prompt(), user_prompt(input, now))
}

fn system_prompt() -> String {
    let headings = SECTION_TITLES
        .iter()
        .map(|title| format!("## {title}"))
        .collect::<Vec<_>>()
        .join("\n");
    format!(
        "You are nightwatch, an SRE agent writing the analysis of one Kubernetes incident for \
         the on-call engineer.\n\
         \n\
         Answer in Markdown with exactly these sections, in this order, each under its own \
         heading:\n\
         {headings}\n\
         \n\
         Rules:\n\
         - Use only the facts given. Cite the event each claim rests on as [event N], using only \
           the event ids listed in the timeline. Refer to past incidents as #N.\n\
         - Where the facts do not show something, write \"unknown\" rather than guess. The root \
           cause hypothesis must follow from tool results; if none points to a cause, say so and \
           say what to investigate.\n\
         - Do not claim an action was taken, approved or verified unless an event shows it.\n\
         - In the historical section, use the computed history facts; give one concrete SRE \
           recommendation (for a recurring fix, the permanent fix; for noise or flapping, the \
           rule change).\n\
         - Follow-ups are short bullet points a human can act on.\n\
         - Be concise: the whole analysis should fit on one screen."
    )
}

/// `(system, user)` messages for a model investigating `input` (an incident no runbook
/// handles) with read-only tools, as of `now`. Its report becomes an `investigation` event that
/// the analysis writer then reads beside the tool results.
pub fn investigation_prompt(input: &AnalysisInput, now: DateTime<Utc>) -> (String, String) {
    let system = "You are nightwatch, an SRE agent investigating one Kubernetes incident that \
         no runbook matched, for the on-call engineer.\n\
         \n\
         You have read-only tools (Kubernetes, and where configured metrics, alerts, logs, \
         dashboards, and the runbook library). You cannot change anything; never suggest that \
         you did.\n\
         \n\
         How to work:\n\
         - Start from what the cluster shows: nightwatch's analyzers read the objects around \
           the alert before you were called, and their findings come first in the facts. When \
           they name the cause, confirm it with a call or two at most (or none) and report; \
           spend tool calls on what they could not see, never on re-reading what they quote. \
           A subject they find healthy does not explain an alert about something else \
           (latency, errors, traffic): look there.\n\
         - Otherwise start from the alert: which object, which symptom. Form one or two \
           hypotheses and check them with targeted tool calls (status, events, logs of the \
           affected pod or node first). Do not repeat a call you already made.\n\
         - Stop when the evidence points to a cause, or when the tools show nothing more.\n\
         - Never invent a tool result. If a tool fails or a source is not configured, say so.\n\
         \n\
         Finish with a short report in Markdown:\n\
         ## Findings\n\
         - each finding, naming the tool whose result shows it\n\
         ## Likely cause\n\
         the cause the evidence supports, or \"unknown\" and what would tell\n\
         ## What a human should do\n\
         - concrete next steps (a fix to propose, or what to check)"
        .to_owned();
    let mut user = format!(
        "Investigate incident #{} as of {}.\n\n",
        input.incident.id,
        time(now)
    );
    user.push_str(&facts(input, now));
    (system, user)
}

fn user_prompt(input: &AnalysisInput, now: DateTime<Utc>) -> String {
    let mut out = format!(
        "Write the analysis of incident #{} as of {}.\n\n",
        input.incident.id,
        time(now)
    );
    out.push_str(&facts(input, now));
    out.push_str(&format!(
        "\nRequired sections, each as a `## ` heading, in this order: {}.\n",
        SECTION_TITLES.join("; ")
    ));
    out
}

/// Longest investigation report quoted: it is the model's own summary, and the tool results
/// it rests on are quoted beside it.
const MAX_INVESTIGATION_TEXT: usize = 6_000;

/// Heading of the analyzers' section; the scripted stand-in model looks for it.
pub const EVIDENCE_HEADING: &str = "## What the cluster shows";

/// The latest assessment in the timeline, rendered first: the model starts from the facts the
/// analyzers read (and what they could not see) instead of rediscovering them with tools.
fn evidence_section(input: &AnalysisInput) -> Option<(i64, String)> {
    let event = input
        .timeline
        .iter()
        .filter(|event| event.kind == EventKind::Evidence)
        .max_by_key(|event| (event.at, event.id))?;
    let assessment: Assessment = serde_json::from_value(event.payload.clone()).ok()?;
    let mut out = format!(
        "{EVIDENCE_HEADING} (nightwatch's analyzers read it before this call; cite [event {}])\n",
        event.id
    );
    out.push_str(&format!(
        "Conclusion: {} (category {})\n",
        assessment.conclusion, assessment.category
    ));
    if !assessment.findings.is_empty() {
        out.push_str("Findings, most telling first:\n");
    }
    for finding in assessment.findings.iter().take(MAX_FINDINGS) {
        out.push_str(&format!(
            "- [{}] {}\n",
            finding.severity.as_str(),
            clip(&finding.summary, 400)
        ));
        for fact in finding.evidence.iter().take(MAX_FACTS) {
            out.push_str(&format!(
                "  - {} {}: {}\n",
                fact.object,
                fact.source,
                clip(&fact.detail, 300)
            ));
        }
    }
    if let Some(healthy) = &assessment.healthy {
        out.push_str(&format!("Healthy now: {}\n", healthy.summary));
    }
    for unseen in &assessment.unseen {
        out.push_str(&format!("Could not see: {unseen}\n"));
    }
    Some((event.id, out))
}

/// Findings and facts per finding quoted in the prompt; the rest is in the event.
const MAX_FINDINGS: usize = 8;
const MAX_FACTS: usize = 4;

/// The incident, its timeline, related history and the computed history facts.
fn facts(input: &AnalysisInput, now: DateTime<Utc>) -> String {
    let incident = &input.incident;
    let evidence = evidence_section(input);
    let mut out = String::new();
    if let Some((_, section)) = &evidence {
        out.push_str(section);
        out.push('\n');
    }
    out.push_str("## Incident\n");
    out.push_str(&serde_json::to_string(incident).unwrap_or_default());
    out.push_str("\n\n## Timeline (oldest first; cite these ids)\n");
    let mut events: Vec<_> = input.timeline.iter().collect();
    events.sort_by_key(|event| (event.at, event.id));
    let mut suppressed = 0usize;
    for event in events {
        match event.kind {
            // Model transcripts and earlier analyses are not facts about the incident.
            EventKind::LlmRequest | EventKind::LlmResponse | EventKind::Analysis => continue,
            EventKind::Suppressed => {
                suppressed += 1;
                if suppressed > MAX_SUPPRESSED {
                    continue;
                }
            }
            // Quoted in full at the top.
            EventKind::Evidence if evidence.as_ref().is_some_and(|(id, _)| *id == event.id) => {
                out.push_str(&format!(
                    "[event {}] {} evidence: the analyzers' assessment, quoted at the top\n",
                    event.id,
                    time(event.at)
                ));
                continue;
            }
            // A model's conclusions, not a tool's facts: quoted whole and labelled so.
            EventKind::Investigation => {
                let answer = event.payload["answer"].as_str().unwrap_or_default();
                out.push_str(&format!(
                    "[event {}] {} investigation (a model's report from the tool results \
                     above; trust the tool results over it) stop={}:\n{}\n",
                    event.id,
                    time(event.at),
                    event.payload["stop"].as_str().unwrap_or("?"),
                    clip(answer, MAX_INVESTIGATION_TEXT)
                ));
                continue;
            }
            _ => {}
        }
        out.push_str(&format!(
            "[event {}] {} {} {}\n",
            event.id,
            time(event.at),
            event.kind,
            clip(&event.payload.to_string(), MAX_EVENT_JSON)
        ));
    }
    if suppressed > MAX_SUPPRESSED {
        out.push_str(&format!(
            "({} more suppressed events: the alert kept firing)\n",
            suppressed - MAX_SUPPRESSED
        ));
    }
    let related = select_history(incident, &input.history, HISTORY_LIMIT);
    out.push_str("\n## Related past incidents (newest first)\n");
    if related.is_empty() {
        out.push_str("none\n");
    }
    for r in &related {
        let past = &r.incident;
        let matched: Vec<&str> = r.matched.iter().map(|m| m.as_str()).collect();
        let where_ = [
            past.namespace
                .as_ref()
                .zip(past.pod.as_ref())
                .map(|(ns, pod)| format!("pod {ns}/{pod}")),
            past.node.as_ref().map(|node| format!("node {node}")),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ");
        let resolved = past
            .time_to_resolve()
            .map(|took| format!("resolved after {}", duration_secs(took.num_seconds())))
            .unwrap_or_else(|| "not resolved".to_owned());
        let actions: Vec<String> = past
            .actions
            .iter()
            .map(|taken| {
                format!(
                    "{} on {}: {}",
                    taken.action,
                    taken.target.as_deref().unwrap_or("-"),
                    taken.outcome.as_str()
                )
            })
            .collect();
        out.push_str(&format!(
            "{} {} {} {}; {}; verdict {}; runbook {}; actions: {}; matched by {}\n",
            incident_refs(&[past.id]),
            time(past.opened_at),
            past.alertname,
            if where_.is_empty() { "-" } else { &where_ },
            resolved,
            past.verdict.map_or("none", |verdict| verdict.as_str()),
            past.runbook.as_deref().unwrap_or("-"),
            if actions.is_empty() {
                "none".to_owned()
            } else {
                actions.join("; ")
            },
            matched.join("+")
        ));
    }
    let pattern = history_pattern(incident, &related, now);
    out.push_str("\n## History facts (computed)\n");
    for line in pattern.fact_lines() {
        out.push_str(&format!("- {line}\n"));
    }
    out.push_str(&format!(
        "- Rule-based recommendation: {}\n",
        pattern.recommendation.text
    ));
    out
}

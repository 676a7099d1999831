//! The analysis written with no model: each section from the timeline's facts and the history
//! pattern. Every sentence that rests on an event cites it; where the facts say nothing, the
//! text says so instead of guessing.

use super::citations;
use super::history::{
    HISTORY_LIMIT, HistoryPattern, RecommendationKind, history_pattern, select_history,
};
use super::input::AnalysisInput;
use super::report::{Analysis, AnalysisSource, SECTION_TITLES, Section};
use super::timeline::{ActionStatus, ActionTrack, Reading, read};
use super::words::{cite, duration_secs, plural, time};
use crate::runbook::UNKNOWN_RUNBOOK;
use chrono::{DateTime, Utc};
use std::collections::BTreeSet;

/// Most repeated-firing events cited by id; the rest are only counted.
const MAX_SUPPRESSED_CITED: usize = 5;

/// The deterministic analysis of `input` as of `now`.
pub fn template_analysis(input: &AnalysisInput, now: DateTime<Utc>) -> Analysis {
    let reading = read(&input.timeline);
    let related = select_history(&input.incident, &input.history, HISTORY_LIMIT);
    let pattern = history_pattern(&input.incident, &related, now);
    let facts = Facts {
        input,
        reading: &reading,
        pattern: &pattern,
        now,
    };
    let bodies = [
        facts.summary(),
        facts.what_happened(),
        facts.root_cause(),
        facts.action(),
        facts.why(),
        facts.history(),
        facts.follow_ups(),
    ];
    let sections: Vec<Section> = SECTION_TITLES
        .iter()
        .zip(bodies)
        .map(|(title, body)| Section {
            title: (*title).to_owned(),
            body,
        })
        .collect();
    let known: BTreeSet<i64> = input.timeline.iter().map(|event| event.id).collect();
    let (citations, unverified_citations) = citations::collect(&sections, &known);
    Analysis {
        source: AnalysisSource::Template,
        sections,
        citations,
        unverified_citations,
    }
}

struct Facts<'a> {
    input: &'a AnalysisInput,
    reading: &'a Reading,
    pattern: &'a HistoryPattern,
    now: DateTime<Utc>,
}

fn bullets(lines: &[String]) -> String {
    lines
        .iter()
        .map(|line| format!("- {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn unquote(text: &str) -> &str {
    text.trim_end_matches('.')
}

impl Facts<'_> {
    fn runbook(&self) -> Option<&str> {
        self.reading
            .routed
            .as_ref()
            .map(|routed| routed.runbook.as_str())
            .or(self.input.incident.runbook.as_deref())
    }

    fn is_unknown(&self) -> bool {
        self.runbook() == Some(UNKNOWN_RUNBOOK)
    }

    fn recommend_mode(&self) -> bool {
        self.input.incident.mode.as_deref() == Some("recommend")
    }

    fn summary(&self) -> String {
        let incident = &self.input.incident;
        let mut state = incident.state.as_str().to_owned();
        if let Some(resolved) = incident.resolved_at {
            state = format!(
                "resolved after {}",
                duration_secs((resolved - incident.opened_at).num_seconds())
            );
        } else if incident.state.is_open() {
            state = format!(
                "{state}, open for {}",
                duration_secs((self.now - incident.opened_at).num_seconds())
            );
        }
        let mut text = format!(
            "{} ({}) on {}: {}.",
            incident.alertname,
            incident.severity.as_str(),
            incident.subject(),
            state
        );
        if let Some(summary) = &incident.summary {
            text.push_str(&format!(" The alert says: \"{}\".", unquote(summary)));
        }
        for sentence in self.outcome_sentences() {
            text.push(' ');
            text.push_str(&sentence);
        }
        text
    }

    /// What nightwatch did about it, a sentence per action or the reason there is none.
    fn outcome_sentences(&self) -> Vec<String> {
        let reading = self.reading;
        let mut out = Vec::new();
        if let Some(gave_up) = &reading.gave_up {
            out.push(format!(
                "The runbook job gave up: {} {}.",
                unquote(&gave_up.text),
                cite(&[gave_up.event])
            ));
        }
        for track in &reading.actions {
            let at = track
                .status_event()
                .map(|id| cite(&[id]))
                .unwrap_or_default();
            let what = format!("{} on {}", track.action, track.target);
            out.push(match track.status() {
                ActionStatus::Verified => {
                    format!("nightwatch applied {what} and verification confirmed it {at}.")
                }
                ActionStatus::VerifyFailed => {
                    format!("{what} was applied but did not verify, so it was escalated {at}.")
                }
                ActionStatus::ExecuteFailed => format!("{what} failed to execute {at}."),
                ActionStatus::DryRunFailed => {
                    format!("{what} failed its server-side dry-run and was not applied {at}.")
                }
                ActionStatus::Executed => format!("{what} was applied; not verified yet {at}."),
                ActionStatus::Running => format!("{what} was allowed and is under way {at}."),
                ActionStatus::AwaitingApproval => format!("{what} waits for approval {at}."),
                ActionStatus::Approved => format!("{what} was approved and waits to run {at}."),
                ActionStatus::Rejected => format!("{what} was rejected {at}."),
                ActionStatus::Expired => format!("{what} expired unapproved {at}."),
                ActionStatus::Denied | ActionStatus::Forbidden => {
                    format!("The policy refused {what} {at}.")
                }
                ActionStatus::Unfounded => format!(
                    "nightwatch did not do {what}: the cluster does not show the fault it answers now {at}."
                ),
                ActionStatus::Escalated => format!("{what} was escalated to a human {at}."),
                ActionStatus::NotRun => format!("{what} was not run {at}."),
            });
        }
        for escalation in &reading.escalations {
            out.push(format!(
                "Escalated to a human: {} {}.",
                unquote(&escalation.text),
                cite(&[escalation.event])
            ));
        }
        if reading.actions.is_empty() && reading.escalations.is_empty() && reading.gave_up.is_none()
        {
            out.push(
                match (
                    &reading.routed,
                    self.is_unknown(),
                    reading.has_investigation(),
                ) {
                    (None, _, _) => "It has not been routed to a runbook yet.".to_owned(),
                    (Some(_), _, _)
                        if let Some((event, assessment)) = &reading.evidence
                            && (!assessment.findings.is_empty()
                                || assessment.healthy.is_some()) =>
                    {
                        format!(
                            "The cluster shows: {} {}. No action was taken.",
                            unquote(&assessment.conclusion),
                            cite(&[*event])
                        )
                    }
                    (Some(routed), true, false) => format!(
                        "No runbook matched {} and nothing was investigated: an investigation is \
                     needed.",
                        cite(&[routed.event])
                    ),
                    _ => "No action was taken.".to_owned(),
                },
            );
        }
        out
    }

    fn what_happened(&self) -> String {
        let opened = self.input.incident.opened_at;
        let mut lines: Vec<String> = self
            .reading
            .chronology
            .iter()
            .map(|(event, at, line)| {
                let offset = (*at - opened).num_seconds();
                let sign = if offset < 0 { "-" } else { "+" };
                format!(
                    "{sign}{}: {} {}",
                    duration_secs(offset.abs()),
                    line,
                    cite(&[*event])
                )
            })
            .collect();
        let suppressed = &self.reading.suppressed;
        if !suppressed.is_empty() {
            let shown = &suppressed[..suppressed.len().min(MAX_SUPPRESSED_CITED)];
            lines.push(format!(
                "The alert fired again {} while the incident was open {}{}.",
                plural(suppressed.len(), "time", "times"),
                cite(shown),
                if suppressed.len() > shown.len() {
                    " and later"
                } else {
                    ""
                }
            ));
        }
        let header = format!("Times are from the incident's opening at {}.", time(opened));
        if lines.is_empty() {
            return format!("{header}\n\nThe timeline has no events yet.");
        }
        format!("{header}\n\n{}", bullets(&lines))
    }

    /// The analyzers' conclusion with the facts it rests on, or `None` when they found nothing
    /// to say.
    fn evidence_cause(&self) -> Option<String> {
        let (event, assessment) = self.reading.evidence.as_ref()?;
        if assessment.findings.is_empty() && assessment.healthy.is_none() {
            return None;
        }
        let at = cite(&[*event]);
        let mut text = format!(
            "{} (category: {}) {at}",
            capitalised(assessment.conclusion.trim_end_matches('.')),
            assessment.category
        );
        let mut facts: Vec<String> = Vec::new();
        if let Some(primary) = assessment.primary() {
            for evidence in &primary.evidence {
                facts.push(format!(
                    "{} — {}: {}",
                    evidence.object,
                    evidence.source,
                    unquote(&evidence.detail)
                ));
            }
        } else if let Some(healthy) = &assessment.healthy {
            for evidence in &healthy.evidence {
                facts.push(format!(
                    "{} — {}: {}",
                    evidence.object,
                    evidence.source,
                    unquote(&evidence.detail)
                ));
            }
        }
        if !facts.is_empty() {
            text.push_str("\n\nEvidence:\n\n");
            text.push_str(&bullets(&facts));
        }
        let others: Vec<String> = assessment
            .findings
            .iter()
            .skip(1)
            .map(|f| format!("{} ({}, {})", unquote(&f.summary), f.category, f.analyzer))
            .collect();
        if !others.is_empty() {
            text.push_str("\n\nAlso found:\n\n");
            text.push_str(&bullets(&others));
        }
        if !assessment.unseen.is_empty() {
            text.push_str("\n\nNot seen: ");
            text.push_str(&assessment.unseen.join("; "));
            text.push('.');
        }
        Some(text)
    }

    fn root_cause(&self) -> String {
        let from_evidence = self.evidence_cause();
        let runbook = self.runbook_cause();
        match from_evidence {
            Some(evidence) if self.reading.findings.is_empty() => evidence,
            Some(evidence) => format!("{evidence}\n\nThe runbook's checks: {runbook}"),
            None => runbook,
        }
    }

    fn runbook_cause(&self) -> String {
        let reading = self.reading;
        let routed_cite = reading
            .routed
            .as_ref()
            .map(|routed| cite(&[routed.event]))
            .unwrap_or_default();
        let evidence: Vec<String> = reading
            .findings
            .iter()
            .map(|finding| {
                format!(
                    "{} (step {}): {} {}",
                    finding.tool,
                    finding.step,
                    unquote(&finding.text),
                    cite(&[finding.event])
                )
            })
            .collect();
        let errors: Vec<i64> = reading.tool_errors.iter().map(|e| e.event).collect();
        if evidence.is_empty() {
            let mut text = if self.is_unknown() && errors.is_empty() {
                format!(
                    "Unknown. No runbook matched {routed_cite} and no tool ran, so no evidence \
                     points to a cause; an investigation is needed."
                )
            } else if !errors.is_empty() {
                format!(
                    "Unknown: no tool result points to a cause; every check that ran failed {}.",
                    cite(&errors)
                )
            } else {
                "Unknown: no tool result points to a cause.".to_owned()
            };
            if !self.is_unknown()
                && let Some(title) = &self.input.incident.runbook_title
            {
                text.push_str(&format!(
                    " Routing alone suggests \"{}\" {routed_cite}, which is unconfirmed.",
                    unquote(title)
                ));
            }
            return text;
        }
        let mut text = if self.is_unknown() {
            "Unknown: no runbook explains this alert. The tool results are the only evidence and \
             are not interpreted here:"
                .to_owned()
        } else {
            let title = self
                .input
                .incident
                .runbook_title
                .as_deref()
                .map(|title| format!("\"{}\"", unquote(title)))
                .unwrap_or_else(|| "the runbook's failure".to_owned());
            format!(
                "The runbook's hypothesis is {title} ({}) {routed_cite}. It rests only on what \
                 the checks found:",
                self.runbook().unwrap_or("-")
            )
        };
        text.push_str("\n\n");
        text.push_str(&bullets(&evidence));
        if !errors.is_empty() {
            text.push_str(&format!(
                "\n\nSome checks failed and add nothing {}.",
                cite(&errors)
            ));
        }
        let verified: Vec<i64> = self
            .tracks(|status| status == ActionStatus::Verified)
            .filter_map(ActionTrack::status_event)
            .collect();
        let unverified: Vec<i64> = self
            .tracks(|status| status == ActionStatus::VerifyFailed)
            .filter_map(ActionTrack::status_event)
            .collect();
        if !verified.is_empty() {
            text.push_str(&format!(
                "\n\nThe fix for this cause verified {}, which supports the hypothesis.",
                cite(&verified)
            ));
        }
        if !unverified.is_empty() {
            text.push_str(&format!(
                "\n\nThe fix for this cause did not verify {}, so the cause may be different or \
                 incomplete.",
                cite(&unverified)
            ));
        }
        text
    }

    fn tracks(&self, keep: impl Fn(ActionStatus) -> bool) -> impl Iterator<Item = &ActionTrack> {
        self.reading
            .actions
            .iter()
            .filter(move |track| keep(track.status()))
    }

    fn action(&self) -> String {
        let mut lines: Vec<String> = self
            .reading
            .actions
            .iter()
            .map(|track| {
                let mut stages = Vec::new();
                if let Some(decision) = &track.decision {
                    stages.push(format!("policy: {}", decision.outcome));
                }
                if track.approval_requested.is_some() {
                    stages.push("approval requested".to_owned());
                }
                if let Some(approved) = &track.approved {
                    stages.push(format!("approved by {}", approved.text));
                }
                if let Some(rejected) = &track.rejected {
                    stages.push(rejected.text.clone());
                }
                if let Some(redecision) = &track.redecision {
                    stages.push(format!("policy after approval: {}", redecision.outcome));
                }
                for (name, stage) in [
                    ("dry-run", &track.dry_run),
                    ("executed", &track.executed),
                    ("verified", &track.verified),
                ] {
                    if let Some(stage) = stage {
                        stages.push(if stage.ok {
                            name.to_owned()
                        } else {
                            format!("{name} FAILED")
                        });
                    }
                }
                if track.not_run.is_some() {
                    stages.push("not run".to_owned());
                }
                if track.escalated.is_some() {
                    stages.push("escalated".to_owned());
                }
                let id = track
                    .action_id
                    .map(|id| format!("action {id}: "))
                    .unwrap_or_default();
                format!(
                    "{id}{} on {} — {} {}",
                    track.action,
                    track.target,
                    stages.join(" → "),
                    cite(&track.events)
                )
            })
            .collect();
        if lines.is_empty()
            && let Some((event, assessment)) = &self.reading.evidence
            && let Some(remedy) = assessment.primary().and_then(|f| f.remedy.as_deref())
        {
            lines.push(format!(
                "None run. What the evidence calls for: {remedy} {}.",
                cite(&[*event])
            ));
        }
        if lines.is_empty() {
            let because = if self.reading.routed.is_none() {
                "nothing has run yet"
            } else if self
                .reading
                .skipped
                .iter()
                .any(|skip| skip.text.contains("is false"))
            {
                "the runbook's conditions for acting did not hold (see Why)"
            } else {
                "no runbook step proposed one"
            };
            lines.push(format!("None: {because}."));
        }
        if self.recommend_mode() {
            lines.push(
                "Mode is recommend: nightwatch proposes actions and a human approves them."
                    .to_owned(),
            );
        }
        bullets(&lines)
    }

    fn why(&self) -> String {
        let reading = self.reading;
        let mut lines = Vec::new();
        if let Some(routed) = &reading.routed {
            lines.push(format!(
                "Routed to {} by {}: {} {}.",
                routed.runbook,
                routed.basis,
                unquote(&routed.reason),
                cite(&[routed.event])
            ));
        }
        for track in &reading.actions {
            let what = format!("{} on {}", track.action, track.target);
            if let Some(decision) = &track.decision {
                lines.push(format!(
                    "The policy decided {} for {what} (class {}, rule {}): {} {}.",
                    decision.outcome,
                    decision.class,
                    decision.rule,
                    unquote(&decision.reason),
                    cite(&[decision.event])
                ));
            }
            if let Some(redecision) = &track.redecision {
                lines.push(format!(
                    "Asked again after approval, it decided {}: {} {}.",
                    redecision.outcome,
                    unquote(&redecision.reason),
                    cite(&[redecision.event])
                ));
            }
            for stage in [&track.dry_run, &track.executed, &track.verified]
                .into_iter()
                .flatten()
                .filter(|stage| !stage.ok)
            {
                lines.push(format!(
                    "{what} failed: {} {}.",
                    unquote(&stage.detail),
                    cite(&[stage.event])
                ));
            }
            if let Some(escalated) = &track.escalated {
                lines.push(format!(
                    "Escalated because: {} {}.",
                    unquote(&escalated.text),
                    cite(&[escalated.event])
                ));
            }
            if let Some(not_run) = &track.not_run {
                lines.push(format!(
                    "Not run because: {} {}.",
                    unquote(&not_run.text),
                    cite(&[not_run.event])
                ));
            }
        }
        for skip in &reading.skipped {
            lines.push(format!("{} {}", skip.text, cite(&[skip.event])));
        }
        for escalation in &reading.escalations {
            lines.push(format!(
                "Escalated because: {} {}.",
                unquote(&escalation.text),
                cite(&[escalation.event])
            ));
        }
        if lines.is_empty() {
            return "No decision has been recorded yet.".to_owned();
        }
        bullets(&lines)
    }

    fn history(&self) -> String {
        format!(
            "{}\n\n**Recommendation:** {}",
            bullets(&self.pattern.fact_lines()),
            self.pattern.recommendation.text
        )
    }

    fn follow_ups(&self) -> String {
        let incident = &self.input.incident;
        let mut lines = Vec::new();
        for track in &self.reading.actions {
            let what = format!("{} on {}", track.action, track.target);
            let at = track
                .status_event()
                .map(|id| cite(&[id]))
                .unwrap_or_default();
            match track.status() {
                ActionStatus::AwaitingApproval => {
                    let expires = track
                        .approval_requested
                        .as_ref()
                        .and_then(|(_, expires)| expires.clone())
                        .map(|expires| format!(" before it expires ({expires})"))
                        .unwrap_or_default();
                    let id = track
                        .action_id
                        .map(|id| format!("action {id} "))
                        .unwrap_or_default();
                    lines.push(format!("Approve or reject {id}({what}){expires} {at}."));
                }
                ActionStatus::VerifyFailed
                | ActionStatus::ExecuteFailed
                | ActionStatus::DryRunFailed
                | ActionStatus::Escalated => lines.push(format!(
                    "A human should look at {}: {what} did not fix it {at}.",
                    incident.subject()
                )),
                ActionStatus::Denied | ActionStatus::Forbidden => lines.push(format!(
                    "A human decides whether {what} is needed; nightwatch may not do it {at}."
                )),
                ActionStatus::Unfounded => lines.push(format!(
                    "Nothing to fix now: {what} was not needed by what the cluster shows {at}; if the fault comes back, nightwatch looks again."
                )),
                ActionStatus::Verified if incident.state.is_open() => lines.push(format!(
                    "Confirm the alert resolves now that {what} verified {at}."
                )),
                _ => {}
            }
        }
        if !self.reading.escalations.is_empty() {
            let ids: Vec<i64> = self.reading.escalations.iter().map(|e| e.event).collect();
            lines.push(format!(
                "A human should take over {} {}.",
                incident.subject(),
                cite(&ids)
            ));
        }
        if self.is_unknown() {
            lines.push(format!(
                "Investigate {} (logs, events, recent changes) and, if {} recurs, write a runbook \
                 for it.",
                incident.subject(),
                incident.alertname
            ));
        }
        if !self.reading.tool_errors.is_empty() {
            let ids: Vec<i64> = self.reading.tool_errors.iter().map(|e| e.event).collect();
            let tools: BTreeSet<&str> = self
                .reading
                .tool_errors
                .iter()
                .map(|e| e.tool.as_str())
                .collect();
            lines.push(format!(
                "Fix the failing checks ({}) so the next incident has evidence {}.",
                tools.into_iter().collect::<Vec<_>>().join(", "),
                cite(&ids)
            ));
        }
        match self.pattern.recommendation.kind {
            RecommendationKind::Noise | RecommendationKind::Flapping => lines.push(format!(
                "Propose a rule change for {} (see the recommendation).",
                incident.alertname
            )),
            RecommendationKind::RepeatedFix | RecommendationKind::RecurringReal => lines
                .push("Open a ticket for the permanent fix (see the recommendation).".to_owned()),
            RecommendationKind::FailingFix => {
                lines.push(format!("Revise runbook {}.", self.runbook().unwrap_or("-")))
            }
            RecommendationKind::FirstSeen | RecommendationKind::NoClearPattern => {}
        }
        if incident.verdict.is_none() {
            lines.push(
                "Set a verdict (noise, real, auto-fixed, escalated) so the history counts this \
                 incident."
                    .to_owned(),
            );
        }
        if lines.is_empty() {
            lines.push("None.".to_owned());
        }
        bullets(&lines)
    }
}

//! Reads an incident's timeline into facts: how it was routed, what each read tool found,
//! what happened to each action, and who stepped in. The payload shapes are the ones the
//! responder and the store write, parsed into the typed payload of each kind (one reading
//! function per kind); an unexpected shape yields less, never a panic.

use super::input::TimelineEvent;
use super::words::clip;
use crate::action::{ActionRequest, ActionTarget};
use crate::event::EventKind;
use crate::event::payload::{
    Acknowledged, ActionDecided, ActionStage, Approved, EventPayload, Final, Investigation,
    PolicyDecision, Rejected, Resolved, Routed as RoutedPayload, StepSkipped, ToolResult, Verdict,
};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

/// Longest piece of payload text quoted in an analysis.
const MAX_QUOTE: usize = 400;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Routed {
    pub event: i64,
    pub runbook: String,
    pub basis: String,
    pub reason: String,
}

/// A read tool's answer (or its error).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Finding {
    pub event: i64,
    pub step: String,
    pub tool: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Decision {
    pub event: i64,
    pub outcome: String,
    pub class: String,
    pub rule: String,
    pub reason: String,
}

/// One stage of running an action (dry-run, execution, verification).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Stage {
    pub event: i64,
    pub ok: bool,
    pub detail: String,
}

/// One event with a sentence.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Note {
    pub event: i64,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct ActionTrack {
    pub action_id: Option<i64>,
    pub action: String,
    pub target: String,
    pub step: Option<String>,
    pub decision: Option<Decision>,
    pub approval_requested: Option<(i64, Option<String>)>,
    pub approved: Option<Note>,
    pub rejected: Option<Note>,
    /// The decision taken again after a human approved.
    pub redecision: Option<Decision>,
    pub dry_run: Option<Stage>,
    pub executed: Option<Stage>,
    pub verified: Option<Stage>,
    /// Refused at run time (the incident resolved first, or the re-decision said no).
    pub not_run: Option<Note>,
    pub escalated: Option<Note>,
    pub events: Vec<i64>,
}

/// Where an action ended up, as far as the timeline tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ActionStatus {
    Verified,
    VerifyFailed,
    ExecuteFailed,
    DryRunFailed,
    /// Executed, verification not recorded (yet).
    Executed,
    /// Allowed, nothing after the decision yet.
    Running,
    AwaitingApproval,
    Approved,
    Rejected,
    Expired,
    Denied,
    /// Denied because the cluster did not show the fault the action answers (rule `premise`).
    Unfounded,
    Forbidden,
    Escalated,
    NotRun,
}

impl ActionTrack {
    pub(crate) fn status(&self) -> ActionStatus {
        let failed = |stage: &Option<Stage>| stage.as_ref().is_some_and(|stage| !stage.ok);
        if let Some(verified) = &self.verified {
            return if verified.ok {
                ActionStatus::Verified
            } else {
                ActionStatus::VerifyFailed
            };
        }
        if failed(&self.executed) {
            return ActionStatus::ExecuteFailed;
        }
        if self.executed.is_some() {
            return ActionStatus::Executed;
        }
        if failed(&self.dry_run) {
            return ActionStatus::DryRunFailed;
        }
        if self.not_run.is_some() {
            return ActionStatus::NotRun;
        }
        if let Some(rejected) = &self.rejected {
            return if rejected.text.contains("expired") {
                ActionStatus::Expired
            } else {
                ActionStatus::Rejected
            };
        }
        let last = self.redecision.as_ref().or(self.decision.as_ref());
        let outcome = last.map(|decision| decision.outcome.as_str());
        match outcome {
            Some("deny") if last.is_some_and(|d| d.rule == crate::policy::PREMISE_RULE) => {
                ActionStatus::Unfounded
            }
            Some("forbidden") => ActionStatus::Forbidden,
            Some("deny") => ActionStatus::Denied,
            Some("escalate") => ActionStatus::Escalated,
            // An allowed or approvable action whose target could not be resolved is recorded
            // as escalated, whatever the policy said.
            _ if self.escalated.is_some() => ActionStatus::Escalated,
            _ if self.approved.is_some() && self.dry_run.is_none() => ActionStatus::Approved,
            Some("needs_approval") => ActionStatus::AwaitingApproval,
            _ => ActionStatus::Running,
        }
    }

    /// The event that best stands for the action's current status.
    pub(crate) fn status_event(&self) -> Option<i64> {
        let stage = |stage: &Option<Stage>| stage.as_ref().map(|stage| stage.event);
        let note = |note: &Option<Note>| note.as_ref().map(|note| note.event);
        match self.status() {
            ActionStatus::Verified | ActionStatus::VerifyFailed => stage(&self.verified),
            ActionStatus::ExecuteFailed | ActionStatus::Executed => stage(&self.executed),
            ActionStatus::DryRunFailed => stage(&self.dry_run),
            ActionStatus::NotRun => note(&self.not_run),
            ActionStatus::Rejected | ActionStatus::Expired => note(&self.rejected),
            ActionStatus::Approved => note(&self.approved),
            _ => self
                .redecision
                .as_ref()
                .or(self.decision.as_ref())
                .map(|decision| decision.event),
        }
        .or_else(|| self.events.last().copied())
    }
}

/// Everything the template reads from a timeline.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Reading {
    pub triggered: Option<i64>,
    /// The analyzers' latest assessment of the cluster around the alert, and its event.
    pub evidence: Option<(i64, crate::evidence::Assessment)>,
    pub routed: Option<Routed>,
    pub findings: Vec<Finding>,
    pub tool_errors: Vec<Finding>,
    pub skipped: Vec<Note>,
    pub actions: Vec<ActionTrack>,
    /// Escalations not tied to an action (runbook `escalate` steps, missing settings).
    pub escalations: Vec<Note>,
    pub suppressed: Vec<i64>,
    /// Acknowledgements, verdicts, manual or alert resolutions.
    pub people: Vec<Note>,
    pub resolved: Option<(i64, DateTime<Utc>)>,
    /// The runbook job gave up after repeated failures.
    pub gave_up: Option<Note>,
    pub finished: Option<i64>,
    /// A sentence per significant event, in timeline order.
    pub chronology: Vec<(i64, DateTime<Utc>, String)>,
}

impl Reading {
    pub(crate) fn has_investigation(&self) -> bool {
        !self.findings.is_empty() || !self.tool_errors.is_empty()
    }
}

fn text(value: &Value, path: &[&str]) -> Option<String> {
    let mut at = value;
    for key in path {
        at = at.get(key)?;
    }
    match at {
        Value::String(text) if !text.is_empty() => Some(clip(text, MAX_QUOTE)),
        Value::Null | Value::String(_) => None,
        other => Some(clip(&other.to_string(), MAX_QUOTE)),
    }
}

fn or_dash(value: Option<String>) -> String {
    value.unwrap_or_else(|| "-".to_owned())
}

/// A written string as quoted: `None` when empty.
fn quote(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| clip(text, MAX_QUOTE))
}

fn quote_opt(text: Option<&String>) -> Option<String> {
    text.and_then(|text| quote(text))
}

/// A typed value quoted as it is stored (a time as its JSON string, say).
fn quote_stored(value: &impl Serialize) -> Option<String> {
    text(&serde_json::to_value(value).ok()?, &[])
}

fn target_key(target: &ActionTarget) -> String {
    let parts: Vec<&str> = [
        Some(target.kind.as_str()),
        target.namespace.as_deref(),
        Some(target.name.as_str()),
    ]
    .into_iter()
    .flatten()
    .filter(|part| !part.is_empty())
    .collect();
    if parts.is_empty() {
        "an unknown target".to_owned()
    } else {
        parts.join("/")
    }
}

fn decision(event: i64, decided: &PolicyDecision) -> Decision {
    Decision {
        event,
        outcome: or_dash(quote(&decided.outcome)),
        class: or_dash(quote(&decided.class)),
        rule: or_dash(quote(&decided.rule)),
        reason: or_dash(quote(&decided.reason)),
    }
}

fn stage(event: i64, payload: &ActionStage) -> Stage {
    let summary = |value: &Option<Value>| value.as_ref().and_then(|v| text(v, &["summary"]));
    let detail = summary(&payload.report)
        .or_else(|| summary(&payload.verification))
        .or_else(|| quote_opt(payload.error.as_ref()))
        .or_else(|| {
            (payload.timed_out == Some(true))
                .then(|| "not confirmed before the verification timed out".to_owned())
        })
        .unwrap_or_default();
    Stage {
        event,
        ok: payload.ok,
        detail,
    }
}

/// Reads `timeline` (any order; it is read oldest first).
pub(crate) fn read(timeline: &[TimelineEvent]) -> Reading {
    let mut events: Vec<&TimelineEvent> = timeline.iter().collect();
    events.sort_by_key(|event| (event.at, event.id));
    let mut reading = Reading::default();
    for event in events {
        if let Some(line) = read_one(&mut reading, event) {
            reading.chronology.push((event.id, event.at, line));
        }
    }
    reading
}

/// The track an event belongs to: by action id, else a new one (an action recorded without
/// an id still gets its sentence).
fn track<'a>(
    reading: &'a mut Reading,
    action_id: Option<i64>,
    request: Option<&ActionRequest>,
    step: Option<&String>,
) -> &'a mut ActionTrack {
    let found = action_id.and_then(|id| {
        reading
            .actions
            .iter()
            .position(|track| track.action_id == Some(id))
    });
    let index = match found {
        Some(index) => index,
        None => {
            reading.actions.push(ActionTrack {
                action_id,
                action: "an action".to_owned(),
                target: "an unknown target".to_owned(),
                ..ActionTrack::default()
            });
            reading.actions.len() - 1
        }
    };
    let track = &mut reading.actions[index];
    if let Some(request) = request {
        if let Some(action) = quote(&request.action) {
            track.action = action;
        }
        track.target = target_key(&request.target);
    }
    if let Some(step) = quote_opt(step) {
        track.step = Some(step);
    }
    track
}

/// The track of an action event, with the event added to it.
fn action_track<'a>(reading: &'a mut Reading, id: i64, p: &ActionDecided) -> &'a mut ActionTrack {
    let track = track(reading, p.action_id, p.request.as_ref(), p.step.as_ref());
    track.events.push(id);
    track
}

/// A refusal after approval carries no reason of its own; the re-decision just before it has it.
fn after_approval_reason(track: &ActionTrack) -> Option<String> {
    track
        .redecision
        .as_ref()
        .map(|decision| format!("{}: {}", decision.outcome, decision.reason))
}

fn label(track: &ActionTrack) -> String {
    match track.action_id {
        Some(id) => format!("action {id} ({} on {})", track.action, track.target),
        None => format!("{} on {}", track.action, track.target),
    }
}

/// The payload of `event` as its kind's; a shape that cannot be read at all reads as an empty
/// payload of its kind, so the event still tells what it can.
fn payload(event: &TimelineEvent) -> EventPayload {
    match EventPayload::parse(event.kind, &event.payload) {
        EventPayload::Unparsed(kind, _) => {
            EventPayload::parse(kind, &Value::Object(serde_json::Map::new()))
        }
        typed => typed,
    }
}

fn read_one(reading: &mut Reading, event: &TimelineEvent) -> Option<String> {
    let id = event.id;
    match payload(event) {
        EventPayload::Triggered(_) => {
            reading.triggered.get_or_insert(id);
            Some("The alert fired and opened the incident.".to_owned())
        }
        EventPayload::Suppressed(_) => {
            reading.suppressed.push(id);
            None
        }
        EventPayload::Resolved(p) => resolved(reading, id, event.at, &p),
        EventPayload::Acknowledged(p) => acknowledged(reading, id, &p),
        EventPayload::Verdict(p) => verdict(reading, id, &p),
        EventPayload::Evidence(p) => {
            let line = format!(
                "The analyzers read the cluster ({} finding(s)): {}.",
                p.findings.len(),
                p.conclusion.trim_end_matches('.')
            );
            reading.evidence = Some((id, p));
            Some(line)
        }
        EventPayload::Routed(p) => routed(reading, id, &p),
        EventPayload::StepSkipped(p) => step_skipped(reading, id, &p),
        EventPayload::ToolResult(p) => tool_result(reading, id, &p),
        EventPayload::ActionProposed(p)
        | EventPayload::ApprovalRequested(p)
        | EventPayload::ActionDenied(p)
            if p.decision.is_some() =>
        {
            action_decided(reading, id, event.kind, &p)
        }
        EventPayload::ActionProposed(p) | EventPayload::ApprovalRequested(p) => {
            let track = action_track(reading, id, &p);
            Some(format!("Proposed {}.", label(track)))
        }
        EventPayload::ActionDenied(p) => action_not_run(reading, id, &p),
        EventPayload::Escalated(p) => escalated(reading, id, &p),
        EventPayload::ActionDryRun(p) => {
            action_stage(reading, id, &p, "server-side dry-run", |t| &mut t.dry_run)
        }
        EventPayload::ActionExecuted(p) => {
            action_stage(reading, id, &p, "execution", |t| &mut t.executed)
        }
        EventPayload::ActionVerified(p) => {
            action_stage(reading, id, &p, "verification", |t| &mut t.verified)
        }
        EventPayload::Approved(p) => approved(reading, id, &p),
        EventPayload::Rejected(p) => rejected(reading, id, &p),
        EventPayload::Investigation(p) => Some(investigation(&p)),
        EventPayload::Final(p) => finished(reading, id, &p),
        // Calls are told by their results; model traffic, notifications, stale copies and
        // earlier analyses are not part of what happened to the workload.
        EventPayload::ToolCall(_)
        | EventPayload::StepStarted(_)
        | EventPayload::StaleAlert(_)
        | EventPayload::LlmRequest(_)
        | EventPayload::LlmResponse(_)
        | EventPayload::Analysis(_)
        | EventPayload::NotificationSent(_)
        | EventPayload::Unparsed(..) => None,
    }
}

/// A sentence about a person, kept among the people's notes too.
fn person(reading: &mut Reading, id: i64, line: String) -> Option<String> {
    reading.people.push(Note {
        event: id,
        text: line.clone(),
    });
    Some(line)
}

fn resolved(reading: &mut Reading, id: i64, at: DateTime<Utc>, p: &Resolved) -> Option<String> {
    reading.resolved = Some((id, at));
    let line = match quote_opt(p.by.as_ref()) {
        Some(by) if p.manual.is_some() => format!("Resolved by {by}."),
        _ => "The alert resolved.".to_owned(),
    };
    person(reading, id, line)
}

fn acknowledged(reading: &mut Reading, id: i64, p: &Acknowledged) -> Option<String> {
    let line = format!("Acknowledged by {}.", or_dash(quote(&p.by)));
    person(reading, id, line)
}

fn verdict(reading: &mut Reading, id: i64, p: &Verdict) -> Option<String> {
    let line = format!(
        "Verdict set to {} by {}.",
        or_dash(quote(&p.verdict)),
        or_dash(quote(&p.by))
    );
    person(reading, id, line)
}

fn routed(reading: &mut Reading, id: i64, p: &RoutedPayload) -> Option<String> {
    let routed = Routed {
        event: id,
        runbook: or_dash(quote(&p.runbook)),
        basis: or_dash(quote(&p.basis)).replace('_', " "),
        reason: or_dash(quote(&p.reason)),
    };
    let line = format!(
        "Routed to {} by {}: {}.",
        routed.runbook,
        routed.basis,
        routed.reason.trim_end_matches('.')
    );
    reading.routed = Some(routed);
    Some(line)
}

fn step_skipped(reading: &mut Reading, id: i64, p: &StepSkipped) -> Option<String> {
    let line = format!(
        "Step {} ({}) skipped: {}.",
        or_dash(quote(&p.step)),
        or_dash(quote(&p.tool)),
        or_dash(quote(&p.because)).trim_end_matches('.')
    );
    reading.skipped.push(Note {
        event: id,
        text: line.clone(),
    });
    Some(line)
}

fn tool_result(reading: &mut Reading, id: i64, p: &ToolResult) -> Option<String> {
    let step = or_dash(quote(&p.step));
    let tool = or_dash(quote(&p.tool));
    if let Some(error) = quote_opt(p.error.as_ref()) {
        let line = format!("{tool} (step {step}) failed: {error}");
        reading.tool_errors.push(Finding {
            event: id,
            step,
            tool,
            text: error,
        });
        Some(line)
    } else {
        let summary =
            quote_opt(p.summary.as_ref()).unwrap_or_else(|| "returned no summary".to_owned());
        let line = format!("{tool} (step {step}): {summary}");
        reading.findings.push(Finding {
            event: id,
            step,
            tool,
            text: summary,
        });
        Some(line)
    }
}

/// The policy's decision on an action: when it was proposed, or again after a human approved.
fn action_decided(
    reading: &mut Reading,
    id: i64,
    kind: EventKind,
    p: &ActionDecided,
) -> Option<String> {
    let decided = decision(id, p.decision.as_ref()?);
    let expires = p.expires_at.as_ref().and_then(quote_stored);
    let track = action_track(reading, id, p);
    let name = label(track);
    if p.approved_by.is_some() {
        let line = format!(
            "After approval by {}, the policy decided {} for {name}: {}.",
            or_dash(quote_opt(p.approved_by.as_ref())),
            decided.outcome,
            decided.reason.trim_end_matches('.')
        );
        track.redecision = Some(decided);
        return Some(line);
    }
    let line = match kind {
        EventKind::ApprovalRequested => {
            track.approval_requested = Some((id, expires));
            format!(
                "Proposed {name}; the policy asks for approval: {}.",
                decided.reason.trim_end_matches('.')
            )
        }
        EventKind::ActionDenied => format!(
            "Proposed {name}; the policy refused it ({}): {}.",
            decided.outcome,
            decided.reason.trim_end_matches('.')
        ),
        _ => format!(
            "Proposed {name}; the policy decided {}: {}.",
            decided.outcome,
            decided.reason.trim_end_matches('.')
        ),
    };
    track.decision = Some(decided);
    Some(line)
}

/// An allowed action refused at run time (the incident resolved first, or the re-decision
/// after approval said no).
fn action_not_run(reading: &mut Reading, id: i64, p: &ActionDecided) -> Option<String> {
    let track = action_track(reading, id, p);
    let reason = quote_opt(p.reason.as_ref())
        .or_else(|| after_approval_reason(track))
        .unwrap_or_else(|| "the policy refused it when asked again after approval".to_owned());
    track.not_run = Some(Note {
        event: id,
        text: reason.clone(),
    });
    Some(format!("{} was not run: {reason}.", label(track)))
}

fn escalated(reading: &mut Reading, id: i64, p: &ActionDecided) -> Option<String> {
    if let Some(decided) = &p.decision {
        // Recorded escalated at decision time: an always-escalate class, or a target that
        // could not be resolved.
        let decided = decision(id, decided);
        let track = action_track(reading, id, p);
        let line = format!(
            "Proposed {}; escalated to a human: {}.",
            label(track),
            decided.reason.trim_end_matches('.')
        );
        track.escalated = Some(Note {
            event: id,
            text: decided.reason.clone(),
        });
        track.decision = Some(decided);
        return Some(line);
    }
    if p.action_id.is_some() {
        let track = action_track(reading, id, p);
        let reason = or_dash(quote_opt(p.reason.as_ref()).or_else(|| after_approval_reason(track)));
        track.escalated = Some(Note {
            event: id,
            text: reason.clone(),
        });
        return Some(format!("Escalated {}: {reason}.", label(track)));
    }
    let reason = or_dash(quote_opt(p.reason.as_ref()));
    reading.escalations.push(Note {
        event: id,
        text: reason.clone(),
    });
    Some(format!("Escalated to a human: {reason}."))
}

/// A dry-run, execution or verification (`what`), kept in the track's `slot`.
fn action_stage(
    reading: &mut Reading,
    id: i64,
    p: &ActionStage,
    what: &str,
    slot: fn(&mut ActionTrack) -> &mut Option<Stage>,
) -> Option<String> {
    let stage = stage(id, p);
    let track = track(reading, p.action_id, None, None);
    track.events.push(id);
    let line = format!(
        "{}: {what} {}{}",
        label(track),
        if stage.ok { "succeeded" } else { "FAILED" },
        if stage.detail.is_empty() {
            ".".to_owned()
        } else {
            format!(" — {}.", stage.detail.trim_end_matches('.'))
        }
    );
    *slot(track) = Some(stage);
    Some(line)
}

fn approved(reading: &mut Reading, id: i64, p: &Approved) -> Option<String> {
    let by = or_dash(quote(&p.by));
    let track = track(reading, p.action_id, None, None);
    track.events.push(id);
    let line = format!("{} approved by {by}.", label(track));
    track.approved = Some(Note {
        event: id,
        text: by,
    });
    Some(line)
}

fn rejected(reading: &mut Reading, id: i64, p: &Rejected) -> Option<String> {
    let by = or_dash(quote_opt(p.by.as_ref()));
    let track = track(reading, p.action_id, None, None);
    track.events.push(id);
    let (note, line) = if p.expired.is_some() {
        (
            "expired".to_owned(),
            format!("{}: the approval request expired.", label(track)),
        )
    } else {
        (
            format!("rejected by {by}"),
            format!("{} rejected by {by}.", label(track)),
        )
    };
    track.rejected = Some(Note {
        event: id,
        text: note,
    });
    Some(line)
}

fn investigation(p: &Investigation) -> String {
    format!(
        "The LLM investigation stopped ({}) after {} tool calls.",
        or_dash(quote(&p.stop)),
        p.tool_calls
    )
}

fn finished(reading: &mut Reading, id: i64, p: &Final) -> Option<String> {
    reading.finished = Some(id);
    if p.outcome.as_deref() == Some("gave_up") {
        let reason = or_dash(quote_opt(p.reason.as_ref()));
        reading.gave_up = Some(Note {
            event: id,
            text: reason.clone(),
        });
        return Some(format!("The runbook job gave up: {reason}."));
    }
    Some(match quote_opt(p.runbook.as_ref()) {
        Some(runbook) => format!("Runbook {runbook} finished."),
        None => "The response finished.".to_owned(),
    })
}

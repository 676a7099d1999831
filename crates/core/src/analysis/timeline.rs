//! Reads an incident's timeline into facts: how it was routed, what each read tool found,
//! what happened to each action, and who stepped in. The payload shapes are the ones the
//! responder and the store write; an unexpected shape yields less, never a panic.

use super::input::TimelineEvent;
use super::words::clip;
use crate::event::EventKind;
use chrono::{DateTime, Utc};
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
        let outcome = self
            .redecision
            .as_ref()
            .or(self.decision.as_ref())
            .map(|decision| decision.outcome.as_str());
        match outcome {
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

fn target_key(target: &Value) -> String {
    let parts: Vec<&str> = ["kind", "namespace", "name"]
        .iter()
        .filter_map(|key| target.get(key).and_then(Value::as_str))
        .collect();
    if parts.is_empty() {
        "an unknown target".to_owned()
    } else {
        parts.join("/")
    }
}

fn decision(event: i64, payload: &Value) -> Option<Decision> {
    let decision = payload.get("decision")?;
    Some(Decision {
        event,
        outcome: or_dash(text(decision, &["outcome"])),
        class: or_dash(text(decision, &["class"])),
        rule: or_dash(text(decision, &["rule"])),
        reason: or_dash(text(decision, &["reason"])),
    })
}

fn stage(event: i64, payload: &Value) -> Stage {
    let ok = payload.get("ok").and_then(Value::as_bool).unwrap_or(false);
    let detail = text(payload, &["report", "summary"])
        .or_else(|| text(payload, &["verification", "summary"]))
        .or_else(|| text(payload, &["error"]))
        .or_else(|| {
            payload
                .get("timed_out")
                .and_then(Value::as_bool)
                .filter(|timed_out| *timed_out)
                .map(|_| "not confirmed before the verification timed out".to_owned())
        })
        .unwrap_or_default();
    Stage { event, ok, detail }
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
fn track<'a>(reading: &'a mut Reading, payload: &Value) -> &'a mut ActionTrack {
    let action_id = payload.get("action_id").and_then(Value::as_i64);
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
    if let Some(request) = payload.get("request") {
        if let Some(action) = text(request, &["action"]) {
            track.action = action;
        }
        if let Some(target) = request.get("target") {
            track.target = target_key(target);
        }
    }
    if let Some(step) = text(payload, &["step"]) {
        track.step = Some(step);
    }
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

fn read_one(reading: &mut Reading, event: &TimelineEvent) -> Option<String> {
    let p = &event.payload;
    let id = event.id;
    match event.kind {
        EventKind::Triggered => {
            reading.triggered.get_or_insert(id);
            Some("The alert fired and opened the incident.".to_owned())
        }
        EventKind::Suppressed => {
            reading.suppressed.push(id);
            None
        }
        EventKind::Resolved => {
            reading.resolved = Some((id, event.at));
            let line = match text(p, &["by"]) {
                Some(by) if p.get("manual").is_some() => format!("Resolved by {by}."),
                _ => "The alert resolved.".to_owned(),
            };
            reading.people.push(Note {
                event: id,
                text: line.clone(),
            });
            Some(line)
        }
        EventKind::Acknowledged => {
            let line = format!("Acknowledged by {}.", or_dash(text(p, &["by"])));
            reading.people.push(Note {
                event: id,
                text: line.clone(),
            });
            Some(line)
        }
        EventKind::Verdict => {
            let line = format!(
                "Verdict set to {} by {}.",
                or_dash(text(p, &["verdict"])),
                or_dash(text(p, &["by"]))
            );
            reading.people.push(Note {
                event: id,
                text: line.clone(),
            });
            Some(line)
        }
        EventKind::Routed => {
            let routed = Routed {
                event: id,
                runbook: or_dash(text(p, &["runbook"])),
                basis: or_dash(text(p, &["basis"])).replace('_', " "),
                reason: or_dash(text(p, &["reason"])),
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
        EventKind::StepSkipped => {
            let line = format!(
                "Step {} ({}) skipped: {}.",
                or_dash(text(p, &["step"])),
                or_dash(text(p, &["tool"])),
                or_dash(text(p, &["because"])).trim_end_matches('.')
            );
            reading.skipped.push(Note {
                event: id,
                text: line.clone(),
            });
            Some(line)
        }
        EventKind::ToolResult => {
            let step = or_dash(text(p, &["step"]));
            let tool = or_dash(text(p, &["tool"]));
            if let Some(error) = text(p, &["error"]) {
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
                    text(p, &["summary"]).unwrap_or_else(|| "returned no summary".to_owned());
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
        EventKind::ActionProposed | EventKind::ApprovalRequested | EventKind::ActionDenied
            if p.get("decision").is_some() =>
        {
            let after_approval = p.get("approved_by").is_some();
            let decided = decision(id, p);
            let expires = text(p, &["expires_at"]);
            let kind = event.kind;
            let track = track(reading, p);
            track.events.push(id);
            let name = label(track);
            let decided = decided?;
            let line = if after_approval {
                let line = format!(
                    "After approval by {}, the policy decided {} for {name}: {}.",
                    or_dash(text(p, &["approved_by"])),
                    decided.outcome,
                    decided.reason.trim_end_matches('.')
                );
                track.redecision = Some(decided);
                line
            } else {
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
                line
            };
            Some(line)
        }
        EventKind::ActionProposed | EventKind::ApprovalRequested => {
            let track = track(reading, p);
            track.events.push(id);
            Some(format!("Proposed {}.", label(track)))
        }
        EventKind::ActionDenied => {
            let track = track(reading, p);
            track.events.push(id);
            let reason = text(p, &["reason"])
                .or_else(|| after_approval_reason(track))
                .unwrap_or_else(|| {
                    "the policy refused it when asked again after approval".to_owned()
                });
            track.not_run = Some(Note {
                event: id,
                text: reason.clone(),
            });
            Some(format!("{} was not run: {reason}.", label(track)))
        }
        EventKind::Escalated if p.get("decision").is_some() => {
            // Recorded escalated at decision time: an always-escalate class, or a target that
            // could not be resolved.
            let decided = decision(id, p);
            let track = track(reading, p);
            track.events.push(id);
            let name = label(track);
            let decided = decided?;
            let line = format!(
                "Proposed {name}; escalated to a human: {}.",
                decided.reason.trim_end_matches('.')
            );
            track.escalated = Some(Note {
                event: id,
                text: decided.reason.clone(),
            });
            track.decision = Some(decided);
            Some(line)
        }
        EventKind::Escalated => {
            if p.get("action_id").is_some() {
                let track = track(reading, p);
                track.events.push(id);
                let reason = or_dash(text(p, &["reason"]).or_else(|| after_approval_reason(track)));
                track.escalated = Some(Note {
                    event: id,
                    text: reason.clone(),
                });
                Some(format!("Escalated {}: {reason}.", label(track)))
            } else {
                let reason = or_dash(text(p, &["reason"]));
                reading.escalations.push(Note {
                    event: id,
                    text: reason.clone(),
                });
                Some(format!("Escalated to a human: {reason}."))
            }
        }
        EventKind::ActionDryRun | EventKind::ActionExecuted | EventKind::ActionVerified => {
            let stage = stage(id, p);
            let kind = event.kind;
            let track = track(reading, p);
            track.events.push(id);
            let name = label(track);
            let (what, slot) = match kind {
                EventKind::ActionDryRun => ("server-side dry-run", &mut track.dry_run),
                EventKind::ActionExecuted => ("execution", &mut track.executed),
                _ => ("verification", &mut track.verified),
            };
            let line = format!(
                "{name}: {what} {}{}",
                if stage.ok { "succeeded" } else { "FAILED" },
                if stage.detail.is_empty() {
                    ".".to_owned()
                } else {
                    format!(" — {}.", stage.detail.trim_end_matches('.'))
                }
            );
            *slot = Some(stage);
            Some(line)
        }
        EventKind::Approved => {
            let by = or_dash(text(p, &["by"]));
            let track = track(reading, p);
            track.events.push(id);
            let line = format!("{} approved by {by}.", label(track));
            track.approved = Some(Note {
                event: id,
                text: by,
            });
            Some(line)
        }
        EventKind::Rejected => {
            let expired = p.get("expired").is_some();
            let by = or_dash(text(p, &["by"]));
            let track = track(reading, p);
            track.events.push(id);
            let (note, line) = if expired {
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
        EventKind::Investigation => Some(format!(
            "The LLM investigation stopped ({}) after {} tool calls.",
            or_dash(text(p, &["stop"])),
            p.get("tool_calls").and_then(|n| n.as_u64()).unwrap_or(0)
        )),
        EventKind::Final => {
            reading.finished = Some(id);
            if text(p, &["outcome"]).as_deref() == Some("gave_up") {
                let reason = or_dash(text(p, &["reason"]));
                reading.gave_up = Some(Note {
                    event: id,
                    text: reason.clone(),
                });
                Some(format!("The runbook job gave up: {reason}."))
            } else {
                let runbook = text(p, &["runbook"]);
                Some(match runbook {
                    Some(runbook) => format!("Runbook {runbook} finished."),
                    None => "The response finished.".to_owned(),
                })
            }
        }
        // Calls are told by their results; model traffic, notifications, stale copies and
        // earlier analyses are not part of what happened to the workload.
        EventKind::ToolCall
        | EventKind::StepStarted
        | EventKind::StaleAlert
        | EventKind::LlmRequest
        | EventKind::LlmResponse
        | EventKind::Analysis
        | EventKind::NotificationSent => None,
    }
}

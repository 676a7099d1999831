//! The incident page's timeline lines: each event's payload parsed as its kind's, one small
//! function per kind. A payload no function reads (a rare kind, or a shape that does not
//! parse) is shown as its JSON, so nothing in the timeline is hidden.

use nightwatch_core::event::EventPayload;
use nightwatch_core::event::payload::{
    ActionDecided, ActionStage, Analysis, Final, Investigation, LlmRequest, LlmResponse, ToolCall,
    ToolResult, Triggered,
};
use nightwatch_store::EventRow;
use serde::Serialize;
use serde_json::Value;

/// A value as the old key-indexed reader printed it (`null` when absent).
fn shown(value: &impl Serialize) -> String {
    serde_json::to_value(value)
        .unwrap_or(Value::Null)
        .to_string()
}

/// A typed value as its stored string (a time as written), or empty.
fn stored_text(value: &impl Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(text)) => text,
        _ => String::new(),
    }
}

fn or_empty(text: &Option<String>) -> &str {
    text.as_deref().unwrap_or("")
}

/// The long text of a transcript event, if it has one.
pub(super) fn event_full_text(event: &EventRow) -> Option<String> {
    let some = |text: &Option<String>| text.clone().filter(|text| !text.is_empty());
    match EventPayload::parse(event.kind, &event.payload) {
        EventPayload::LlmRequest(p) => {
            let parts: Vec<String> = [some(&p.system), some(&p.text)]
                .into_iter()
                .flatten()
                .collect();
            (!parts.is_empty()).then(|| parts.join("\n\n"))
        }
        EventPayload::LlmResponse(p) => some(&p.text),
        EventPayload::Investigation(p) => p
            .answer
            .as_str()
            .filter(|text| !text.is_empty())
            .map(str::to_owned),
        EventPayload::ToolResult(p) => some(&p.content),
        _ => None,
    }
}

/// A one-glance line for the timeline; the full payload stays available in the API.
pub(super) fn event_details(event: &EventRow) -> String {
    line(EventPayload::parse(event.kind, &event.payload))
        .unwrap_or_else(|| serde_json::to_string_pretty(&event.payload).unwrap_or_default())
}

/// ` (session from 10.0.0.7)`: how the person was identified, when recorded.
fn via(via: &Option<String>) -> String {
    via.as_deref()
        .map(|via| format!(" ({via})"))
        .unwrap_or_default()
}

fn line(payload: EventPayload) -> Option<String> {
    Some(match payload {
        EventPayload::Triggered(p) => triggered(&p),
        EventPayload::Suppressed(p) => format!("duplicate alert {} folded in", p.alert_id),
        EventPayload::Resolved(p) if p.manual.is_some() => {
            format!("resolved by {}{}", or_empty(&p.by), via(&p.via))
        }
        EventPayload::Resolved(p) => format!("alert {} resolved", shown(&p.alert_id)),
        EventPayload::StaleAlert(p) => format!("alert {}: {}", p.alert_id, p.reason),
        EventPayload::Acknowledged(p) => format!("acknowledged by {}{}", p.by, via(&p.via)),
        EventPayload::Verdict(p) => format!("verdict {} by {}{}", p.verdict, p.by, via(&p.via)),
        EventPayload::Evidence(p) => format!(
            "evidence: {} ({}, {} finding(s))",
            p.conclusion,
            p.category,
            p.findings.len()
        ),
        EventPayload::Routed(p) => format!("→ {} ({}: {})", p.runbook, p.basis, p.reason),
        EventPayload::StepSkipped(p) => {
            format!("step {} ({}) skipped: {}", p.step, p.tool, p.because)
        }
        EventPayload::ToolCall(p) => tool_call(&p),
        EventPayload::LlmRequest(p) => llm_request(&p),
        EventPayload::LlmResponse(p) => llm_response(&p),
        EventPayload::Investigation(p) => investigation(&p),
        EventPayload::ToolResult(p) => tool_result(&p),
        EventPayload::ActionProposed(p)
        | EventPayload::ActionDenied(p)
        | EventPayload::ApprovalRequested(p)
            if p.decision.is_some() =>
        {
            action_decided(&p)
        }
        EventPayload::ActionDryRun(p)
        | EventPayload::ActionExecuted(p)
        | EventPayload::ActionVerified(p) => action_stage(&p),
        EventPayload::Escalated(p) => format!("escalated: {}", or_empty(&p.reason)),
        EventPayload::Final(p) if p.runbook.is_some() => runbook_done(&p),
        EventPayload::Approved(p) => {
            format!("action {} by {}{}", shown(&p.action_id), p.by, via(&p.via))
        }
        EventPayload::Rejected(p) => format!(
            "action {} by {}{}",
            shown(&p.action_id),
            if p.expired.is_some() {
                "expiry"
            } else {
                or_empty(&p.by)
            },
            via(&p.via)
        ),
        EventPayload::Analysis(p) => analysis(&p),
        _ => return None,
    })
}

fn triggered(p: &Triggered) -> String {
    let mut line = format!(
        "alert {} firing since {}",
        p.alert_id,
        stored_text(&p.starts_at)
    );
    if let Some(prev) = p.previous_incident_id {
        line.push_str(&format!(", follows #{prev}"));
    }
    line
}

fn tool_call(p: &ToolCall) -> String {
    // The model's calls show their arguments (they are its choice); a runbook's are its own.
    if p.source.is_some() {
        format!("step {}: {} {}", p.step, p.tool, p.args)
    } else {
        format!("step {}: {}", p.step, p.tool)
    }
}

fn llm_request(p: &LlmRequest) -> String {
    format!(
        "{} call {} to {} ({} tools offered)",
        p.agent,
        p.call,
        p.model,
        p.tools.len()
    )
}

fn llm_response(p: &LlmResponse) -> String {
    if p.error.is_some() {
        return format!("{}: provider error: {}", p.agent, or_empty(&p.error));
    }
    if let Some(finished) = &p.finished {
        let spend = p.spend.clone().unwrap_or(Value::Null);
        return format!(
            "{} finished: {finished} ({} steps, {} in + {} out tokens, ${:.4})",
            p.agent,
            spend["steps"],
            spend["input_tokens"],
            spend["output_tokens"],
            spend["cost_usd"].as_f64().unwrap_or(0.0)
        );
    }
    let calls = p.tool_calls.clone().unwrap_or_default();
    let said = if calls.is_empty() {
        let stop = p.stop_reason.as_ref().and_then(Value::as_str).unwrap_or("");
        format!("answered ({stop})")
    } else {
        format!("calls {}", calls.join(", "))
    };
    format!(
        "{} call {}: {said}; {} in + {} out tokens, ${:.4}",
        p.agent,
        shown(&p.call),
        shown(&p.input_tokens),
        shown(&p.output_tokens),
        p.cost_usd.unwrap_or(0.0)
    )
}

fn investigation(p: &Investigation) -> String {
    format!(
        "{}: stopped ({}) after {} tool calls",
        p.model, p.stop, p.tool_calls
    )
}

fn tool_result(p: &ToolResult) -> String {
    match &p.error {
        Some(error) => format!("step {} ({}) failed: {error}", p.step, p.tool),
        None => format!("step {} ({}): {}", p.step, p.tool, or_empty(&p.summary)),
    }
}

fn action_decided(p: &ActionDecided) -> String {
    let decision = p.decision.clone().unwrap_or_default();
    let (action, target) = match &p.request {
        Some(request) => (
            request.action.as_str(),
            super::target_key(&serde_json::to_value(&request.target).unwrap_or_default()),
        ),
        None => ("", super::target_key(&Value::Null)),
    };
    format!(
        "action {} {action} on {target}: {} — {}",
        shown(&p.action_id),
        decision.outcome,
        decision.reason
    )
}

fn action_stage(p: &ActionStage) -> String {
    let summary = |value: &Option<Value>| {
        value
            .as_ref()
            .and_then(|value| value["summary"].as_str())
            .map(str::to_owned)
    };
    let detail = summary(&p.report)
        .or_else(|| summary(&p.verification))
        .or_else(|| p.error.clone())
        .unwrap_or_default();
    format!(
        "action {} {}: {detail}",
        shown(&p.action_id),
        if p.ok { "ok" } else { "FAILED" }
    )
}

fn runbook_done(p: &Final) -> String {
    let count = |list: &Option<Vec<String>>| list.as_ref().map_or(0, Vec::len);
    let actions: Vec<String> = p
        .actions
        .iter()
        .flatten()
        .map(|a| {
            format!(
                "{} {}",
                a["action"].as_str().unwrap_or(""),
                a["outcome"].as_str().unwrap_or("")
            )
        })
        .collect();
    format!(
        "{} done: {} step(s) run, {} skipped{}",
        or_empty(&p.runbook),
        count(&p.steps_run),
        count(&p.steps_skipped),
        if actions.is_empty() {
            String::new()
        } else {
            format!("; actions: {}", actions.join(", "))
        }
    )
}

/// The text itself is shown above the timeline; its payload would be a wall of JSON here.
fn analysis(p: &Analysis) -> String {
    format!(
        "{} analysis: {} sections, {} citations",
        p.source,
        p.sections.len(),
        p.citations.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use nightwatch_core::event::EventKind;
    use serde_json::json;

    fn row(id: i64, kind: EventKind, payload: Value) -> EventRow {
        EventRow {
            id,
            incident_id: 1,
            at: "2026-11-25T10:00:00Z".parse().unwrap_or_default(),
            kind,
            actor: "nightwatch".to_owned(),
            alert_id: None,
            payload,
        }
    }

    /// One timeline, every line the page shows for it, read whole from a file: what a reviewer
    /// checks when a line's wording changes (`UPDATE_EXPECT=1` rewrites it).
    #[test]
    fn a_timeline_reads_as_its_lines() {
        let request = json!({
            "action": "increase_memory_limit",
            "target": {"kind": "Deployment", "namespace": "shop", "name": "api"},
            "args": {"factor": 1.5},
        });
        let decision = json!({
            "outcome": "needs_approval", "class": "prod", "rule": "class_approval",
            "reason": "prod needs a human",
        });
        let timeline = [
            (
                EventKind::Triggered,
                json!({
                    "alert_id": 7, "delivery_id": 3, "status": "firing",
                    "starts_at": "2026-11-25T09:58:00Z", "source": "alertmanager",
                    "labels": {"alertname": "KubePodOOMKilled"}, "annotations": {},
                    "previous_incident_id": 2,
                }),
            ),
            (
                EventKind::Suppressed,
                json!({
                    "alert_id": 8, "delivery_id": 4, "status": "firing",
                    "starts_at": "2026-11-25T09:58:00Z", "source": "alertmanager",
                }),
            ),
            (
                EventKind::Evidence,
                serde_json::to_value(nightwatch_core::evidence::assess(
                    &nightwatch_core::evidence::Snapshot::default(),
                    &nightwatch_core::evidence::Scope::default(),
                ))
                .unwrap(),
            ),
            (
                EventKind::Routed,
                json!({
                    "runbook": "RB_OOM", "basis": "alertname",
                    "reason": "alertname KubePodOOMKilled is mapped to RB_OOM",
                }),
            ),
            (
                EventKind::ToolCall,
                json!({
                    "step": "oom", "tool": "check_oom", "args": {},
                    "target": {"namespace": "shop", "pod": "api-1"},
                }),
            ),
            (
                EventKind::ToolResult,
                json!({
                    "step": "oom", "tool": "check_oom",
                    "summary": "container app OOMKilled (exit 137), memory limit 128Mi",
                    "data": {"oom_killed": true},
                }),
            ),
            (
                EventKind::StepSkipped,
                json!({
                    "step": "restart", "tool": "rollout_restart", "because": "gate closed",
                }),
            ),
            (
                EventKind::ApprovalRequested,
                json!({
                    "action_id": 4, "step": "raise", "request": request, "decision": decision,
                    "expires_at": "2026-11-25T11:00:00Z",
                }),
            ),
            (EventKind::Approved, json!({"action_id": 4, "by": "carol"})),
            (
                EventKind::ActionProposed,
                json!({
                    "action_id": 4, "request": request, "approved_by": "carol",
                    "decision": {"outcome": "allow", "class": "prod", "rule": "approved",
                                 "reason": "approved by carol"},
                }),
            ),
            (
                EventKind::ActionDryRun,
                json!({
                    "action_id": 4, "ok": true, "report": {"summary": "would set limit 192Mi"},
                }),
            ),
            (
                EventKind::ActionExecuted,
                json!({
                    "action_id": 4, "ok": true, "report": {"summary": "limit 128Mi → 192Mi"},
                }),
            ),
            (
                EventKind::ActionVerified,
                json!({
                    "action_id": 4, "ok": true,
                    "verification": {"status": "confirmed", "summary": "rollout complete, no OOM"},
                }),
            ),
            (
                EventKind::Escalated,
                json!({"step": "raise", "reason": "no fallback image"}),
            ),
            (
                EventKind::Rejected,
                json!({"action_id": 5, "expired": true}),
            ),
            (
                EventKind::LlmRequest,
                json!({
                    "agent": "main", "call": 1, "model": "claude", "system": null,
                    "text": "investigate", "tools": ["get_pod_status"], "tool_choice": "auto",
                    "at_ms": 12,
                }),
            ),
            (
                EventKind::LlmResponse,
                json!({"agent": "main", "error": "overloaded"}),
            ),
            (
                EventKind::Investigation,
                json!({
                    "model": "claude", "stop": "answered", "source": "llm", "tool_calls": 2,
                    "spend": {"steps": 3}, "answer": "the pod is out of memory",
                }),
            ),
            (
                EventKind::Final,
                json!({
                    "runbook": "RB_OOM", "steps_run": ["events", "oom", "raise"],
                "steps_skipped": ["restart"],
                "actions": [{"action": "increase_memory_limit", "outcome": "verified"}],
                }),
            ),
            (
                EventKind::Analysis,
                json!({
                    "source": "template",
                    "sections": [
                        {"title": "Summary", "body": "api ran out of memory [event 5]."},
                        {"title": "Action", "body": "The limit was raised [event 11]."},
                    ],
                    "citations": [
                        {"section": "Summary", "event_id": 5},
                        {"section": "Action", "event_id": 11},
                    ],
                    "markdown": "## Summary\n\napi ran out of memory [event 5].\n\n## Action\n\nThe limit was raised [event 11].\n",
                }),
            ),
            (EventKind::Acknowledged, json!({"by": "carol"})),
            (
                EventKind::Verdict,
                json!({"by": "carol", "verdict": "real"}),
            ),
            (EventKind::Resolved, json!({"by": "carol", "manual": true})),
            // A shape no reader knows is shown as its JSON, never dropped.
            (EventKind::NotificationSent, json!(["not", "an", "object"])),
        ];
        let lines: Vec<String> = timeline
            .into_iter()
            .enumerate()
            .map(|(i, (kind, payload))| {
                let event = row(i as i64 + 1, kind, payload);
                format!("{:<20} {}", kind.as_str(), event_details(&event))
            })
            .collect();
        expect_test::expect_file!["test_data/timeline_lines.txt"]
            .assert_eq(&(lines.join("\n") + "\n"));
    }
}

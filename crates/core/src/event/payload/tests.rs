//! Payload round trips: every kind's sample serializes to the JSON its old `json!` writer
//! produced (pinned here as literals) and parses back; old and partial shapes still read.

use super::*;
use serde_json::json;

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

fn request() -> ActionRequest {
    ActionRequest {
        action: "restart_deployment".to_owned(),
        target: crate::action::ActionTarget::namespaced("Deployment", "shop", "web"),
        args: json!({}),
    }
}

fn decision() -> PolicyDecision {
    PolicyDecision {
        outcome: "needs_approval".to_owned(),
        class: "prod".to_owned(),
        rule: "class_approval".to_owned(),
        reason: "prod needs a human".to_owned(),
    }
}

/// One sample per kind with the JSON the writer used to build with `json!`.
fn samples() -> Vec<(EventPayload, Value)> {
    let request_json = json!({
        "action": "restart_deployment",
        "target": {"kind": "Deployment", "namespace": "shop", "name": "web"},
        "args": {},
    });
    vec![
        (
            EventPayload::Triggered(Triggered {
                alert_id: 7,
                delivery_id: 3,
                status: "firing".to_owned(),
                starts_at: None,
                source: "alertmanager".to_owned(),
                labels: json!({"alertname": "KubePodCrashLooping"}),
                annotations: json!({}),
                previous_incident_id: None,
            }),
            json!({
                "alert_id": 7, "delivery_id": 3, "status": "firing", "starts_at": null,
                "source": "alertmanager", "labels": {"alertname": "KubePodCrashLooping"},
                "annotations": {}, "previous_incident_id": null,
            }),
        ),
        (
            EventPayload::Suppressed(Suppressed {
                alert_id: 8,
                delivery_id: 4,
                status: "firing".to_owned(),
                starts_at: Some(at("2026-01-02T03:04:05Z")),
                source: "grafana".to_owned(),
            }),
            json!({
                "alert_id": 8, "delivery_id": 4, "status": "firing",
                "starts_at": "2026-01-02T03:04:05Z", "source": "grafana",
            }),
        ),
        (
            EventPayload::Resolved(Resolved {
                by: Some("ana".to_owned()),
                manual: Some(true),
                ..Resolved::default()
            }),
            json!({"by": "ana", "manual": true}),
        ),
        (
            EventPayload::StaleAlert(StaleAlert {
                alert_id: 9,
                delivery_id: 5,
                status: "resolved".to_owned(),
                starts_at: None,
                source: "alertmanager".to_owned(),
                reason: "resolution with no open incident".to_owned(),
            }),
            json!({
                "alert_id": 9, "delivery_id": 5, "status": "resolved", "starts_at": null,
                "source": "alertmanager", "reason": "resolution with no open incident",
            }),
        ),
        (
            EventPayload::Acknowledged(Acknowledged {
                by: "ana".to_owned(),
            }),
            json!({"by": "ana"}),
        ),
        (
            EventPayload::Verdict(Verdict {
                by: "ana".to_owned(),
                verdict: "noise".to_owned(),
            }),
            json!({"by": "ana", "verdict": "noise"}),
        ),
        (
            EventPayload::Routed(Routed::from(&Route {
                runbook: "RB_CRASHLOOP".to_owned(),
                basis: crate::runbook::RouteBasis::Alertname,
                reason: "alertname KubePodCrashLooping".to_owned(),
                notes: Vec::new(),
            })),
            json!({
                "runbook": "RB_CRASHLOOP", "basis": "alertname",
                "reason": "alertname KubePodCrashLooping",
            }),
        ),
        (EventPayload::StepStarted(StepStarted::default()), json!({})),
        (
            EventPayload::StepSkipped(StepSkipped {
                step: "restart".to_owned(),
                tool: "restart_deployment".to_owned(),
                because: "gate closed".to_owned(),
            }),
            json!({"step": "restart", "tool": "restart_deployment", "because": "gate closed"}),
        ),
        (
            EventPayload::ToolCall(ToolCall {
                step: "status".to_owned(),
                tool: "get_pod_status".to_owned(),
                args: json!({"pod": "web-1"}),
                target: Some(json!({"namespace": "shop", "pod": "web-1"})),
                ..ToolCall::default()
            }),
            json!({
                "step": "status", "tool": "get_pod_status", "args": {"pod": "web-1"},
                "target": {"namespace": "shop", "pod": "web-1"},
            }),
        ),
        (
            EventPayload::ToolResult(ToolResult {
                step: "status".to_owned(),
                tool: "get_pod_status".to_owned(),
                summary: Some("pod web-1 is Running".to_owned()),
                data: Some(json!({"phase": "Running"})),
                ..ToolResult::default()
            }),
            json!({
                "step": "status", "tool": "get_pod_status", "summary": "pod web-1 is Running",
                "data": {"phase": "Running"},
            }),
        ),
        (
            EventPayload::ActionProposed(ActionDecided {
                action_id: Some(4),
                request: Some(request()),
                approved_by: Some("ana".to_owned()),
                decision: Some(decision()),
                ..ActionDecided::default()
            }),
            json!({
                "action_id": 4, "request": request_json, "approved_by": "ana",
                "decision": {
                    "outcome": "needs_approval", "class": "prod", "rule": "class_approval",
                    "reason": "prod needs a human",
                },
            }),
        ),
        (
            EventPayload::ActionDryRun(ActionStage {
                action_id: Some(4),
                ok: true,
                report: Some(json!({"summary": "would restart"})),
                ..ActionStage::default()
            }),
            json!({"action_id": 4, "ok": true, "report": {"summary": "would restart"}}),
        ),
        (
            EventPayload::ActionExecuted(ActionStage {
                action_id: Some(4),
                ok: false,
                error: Some("forbidden".to_owned()),
                ..ActionStage::default()
            }),
            json!({"action_id": 4, "ok": false, "error": "forbidden"}),
        ),
        (
            EventPayload::ActionVerified(ActionStage {
                action_id: Some(4),
                ok: false,
                timed_out: Some(true),
                last: Some(None),
                ..ActionStage::default()
            }),
            json!({"action_id": 4, "ok": false, "timed_out": true, "last": null}),
        ),
        (
            EventPayload::ActionDenied(ActionDecided {
                action_id: Some(4),
                after_approval: Some(true),
                ..ActionDecided::default()
            }),
            json!({"action_id": 4, "after_approval": true}),
        ),
        (
            EventPayload::ApprovalRequested(ActionDecided {
                step: Some("restart".to_owned()),
                request: Some(request()),
                decision: Some(decision()),
                expires_at: Some(Some(at("2026-01-02T04:04:05Z"))),
                ..ActionDecided::default()
            }),
            json!({
                "step": "restart", "request": request_json,
                "decision": {
                    "outcome": "needs_approval", "class": "prod", "rule": "class_approval",
                    "reason": "prod needs a human",
                },
                "expires_at": "2026-01-02T04:04:05Z",
            }),
        ),
        (
            EventPayload::Escalated(ActionDecided {
                step: Some("restart".to_owned()),
                reason: Some("no fallback image".to_owned()),
                ..ActionDecided::default()
            }),
            json!({"step": "restart", "reason": "no fallback image"}),
        ),
        (
            EventPayload::Approved(Approved {
                action_id: Some(4),
                by: "ana".to_owned(),
            }),
            json!({"action_id": 4, "by": "ana"}),
        ),
        (
            EventPayload::Rejected(Rejected {
                action_id: Some(4),
                expired: Some(true),
                ..Rejected::default()
            }),
            json!({"action_id": 4, "expired": true}),
        ),
        (
            EventPayload::LlmRequest(LlmRequest {
                agent: "main".to_owned(),
                call: 1,
                model: "claude".to_owned(),
                system: None,
                text: Some("investigate".to_owned()),
                tools: vec!["get_pod_status".to_owned()],
                tool_choice: json!("auto"),
                at_ms: Some(12),
            }),
            json!({
                "agent": "main", "call": 1, "model": "claude", "system": null,
                "text": "investigate", "tools": ["get_pod_status"], "tool_choice": "auto",
                "at_ms": 12,
            }),
        ),
        (
            EventPayload::LlmResponse(LlmResponse {
                agent: "main".to_owned(),
                error: Some("overloaded".to_owned()),
                ..LlmResponse::default()
            }),
            json!({"agent": "main", "error": "overloaded"}),
        ),
        (
            EventPayload::Investigation(Investigation {
                model: "claude".to_owned(),
                stop: "answered".to_owned(),
                source: json!("llm"),
                tool_calls: 2,
                spend: json!({"steps": 3}),
                answer: json!("the pod is out of memory"),
            }),
            json!({
                "model": "claude", "stop": "answered", "source": "llm", "tool_calls": 2,
                "spend": {"steps": 3}, "answer": "the pod is out of memory",
            }),
        ),
        (
            EventPayload::Analysis(FreeForm(
                json!({"source": "template", "markdown": "# x"})
                    .as_object()
                    .unwrap()
                    .clone(),
            )),
            json!({"source": "template", "markdown": "# x"}),
        ),
        (
            EventPayload::NotificationSent(FreeForm(
                json!({"channel": "slack"}).as_object().unwrap().clone(),
            )),
            json!({"channel": "slack"}),
        ),
        (
            EventPayload::Final(Final {
                outcome: Some("gave_up".to_owned()),
                reason: Some("the runbook job failed 3 times".to_owned()),
                ..Final::default()
            }),
            json!({"outcome": "gave_up", "reason": "the runbook job failed 3 times"}),
        ),
    ]
}

#[test]
fn every_kind_round_trips_to_its_old_shape() {
    let samples = samples();
    for kind in EventKind::ALL {
        let (payload, old) = samples
            .iter()
            .find(|(payload, _)| payload.kind() == *kind)
            .unwrap_or_else(|| panic!("no sample for {kind}"));
        let written = payload.to_json();
        assert_eq!(&written, old, "{kind} writes a different shape");
        // Same keys in the same order as the old writer.
        let keys = |value: &Value| {
            value
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect::<Vec<_>>()
        };
        assert_eq!(keys(&written), keys(old), "{kind} key order");
        assert_eq!(
            &EventPayload::parse(*kind, old),
            payload,
            "{kind} reads back"
        );
    }
}

#[test]
fn more_writer_shapes_round_trip() {
    let shapes = [
        // The runbook's and the LLM's tool results.
        (
            EventKind::ToolResult,
            json!({"step": "status", "tool": "get_pod_status", "error": "unknown tool"}),
        ),
        (
            EventKind::ToolResult,
            json!({
                "step": "llm:main", "tool": "get_pod_status", "call_id": "t1", "source": "llm",
                "content": "pod is Running", "original_bytes": 14, "truncated": false,
                "repeat": false, "summary": "pod is Running", "at_ms": 40,
            }),
        ),
        (
            EventKind::ToolCall,
            json!({
                "step": "llm:main", "tool": "get_pod_status", "call_id": "t1",
                "args": {"pod": "web-1"}, "source": "llm", "at_ms": 30,
            }),
        ),
        (
            EventKind::ActionVerified,
            json!({"action_id": 4, "ok": true, "verification": {"status": "confirmed", "summary": "ready"}}),
        ),
        (
            EventKind::ActionProposed,
            json!({
                "step": "restart",
                "request": {"action": "restart_deployment", "target": {"kind": "Deployment", "name": "web"}, "args": {}},
                "decision": {"outcome": "allow", "class": "dev", "rule": "class_auto", "reason": "ok"},
                "expires_at": null,
            }),
        ),
        (
            EventKind::Escalated,
            json!({"action_id": 4, "reason": "verification failed"}),
        ),
        (
            EventKind::Resolved,
            json!({
                "alert_id": 9, "delivery_id": 5, "status": "resolved", "starts_at": null,
                "source": "alertmanager",
            }),
        ),
        (EventKind::Rejected, json!({"action_id": 4, "by": "ana"})),
        (
            EventKind::LlmResponse,
            json!({
                "agent": "main", "call": 1, "model": "claude", "text": "done",
                "tool_calls": [], "stop_reason": "end_turn", "input_tokens": 100,
                "output_tokens": 20, "cost_usd": 0.01, "at_ms": 50,
            }),
        ),
        (
            EventKind::LlmResponse,
            json!({"agent": "main", "finished": "answered", "spend": {"steps": 1}}),
        ),
        (
            EventKind::Final,
            json!({
                "runbook": "RB_CRASHLOOP", "steps_run": ["status"], "steps_skipped": [],
                "actions": [{"step": "restart", "action": "restart_deployment", "outcome": "verified"}],
                "gated_actions": [], "investigation": null,
                "recheck_at": "2026-01-02T03:06:05Z", "recheck": 1,
            }),
        ),
    ];
    for (kind, old) in shapes {
        let parsed = EventPayload::parse(kind, &old);
        assert!(
            !matches!(parsed, EventPayload::Unparsed(..)),
            "{kind} did not parse: {old}"
        );
        assert_eq!(parsed.to_json(), old, "{kind}");
    }
}

#[test]
fn old_and_partial_shapes_still_read() {
    // Missing keys read as their defaults.
    let EventPayload::ToolResult(result) =
        EventPayload::parse(EventKind::ToolResult, &json!({"tool": "get_logs"}))
    else {
        panic!("a partial tool result reads as one");
    };
    assert_eq!(result.tool, "get_logs");
    assert_eq!(result.step, "");
    assert!(result.summary.is_none());

    let EventPayload::ActionExecuted(stage) =
        EventPayload::parse(EventKind::ActionExecuted, &json!({"action_id": 2}))
    else {
        panic!("a stage without `ok` reads");
    };
    assert!(!stage.ok);

    let EventPayload::Triggered(triggered) =
        EventPayload::parse(EventKind::Triggered, &json!({"source": "grafana"}))
    else {
        panic!("an old trigger without alert ids reads");
    };
    assert_eq!(triggered.source, "grafana");

    // A retyped key costs that key only.
    let odd = json!({"action_id": "four", "by": "ana"});
    assert_eq!(
        EventPayload::parse(EventKind::Approved, &odd),
        EventPayload::Approved(Approved {
            action_id: None,
            by: "ana".to_owned(),
        })
    );
    let EventPayload::ActionVerified(stage) = EventPayload::parse(
        EventKind::ActionVerified,
        &json!({"action_id": 4, "ok": "yes", "error": "timeout"}),
    ) else {
        panic!("a stage with a retyped `ok` reads");
    };
    assert_eq!(stage.error.as_deref(), Some("timeout"));
    assert!(!stage.ok);

    // A shape that cannot be read at all is kept as it is, never dropped.
    let parsed = EventPayload::parse(EventKind::Final, &json!("done"));
    assert_eq!(
        parsed,
        EventPayload::Unparsed(EventKind::Final, json!("done"))
    );
    assert_eq!(parsed.kind(), EventKind::Final);
    assert_eq!(parsed.to_json(), json!("done"));
    // A basis this version does not know still reads.
    let EventPayload::Routed(route) = EventPayload::parse(
        EventKind::Routed,
        &json!({"runbook": "RB_X", "basis": "guesswork"}),
    ) else {
        panic!("an unknown basis reads");
    };
    assert_eq!(route.basis, "guesswork");
}

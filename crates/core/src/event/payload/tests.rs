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

/// A template analysis citing one event.
fn report() -> crate::analysis::Analysis {
    crate::analysis::Analysis {
        source: crate::analysis::AnalysisSource::Template,
        sections: vec![Section {
            title: "Summary".to_owned(),
            body: "Crash loop [event 3].".to_owned(),
        }],
        citations: vec![Citation {
            section: "Summary".to_owned(),
            event_id: 3,
        }],
        unverified_citations: Vec::new(),
    }
}

/// One sample per kind with the JSON the writer used to build with `json!`.
fn samples() -> Vec<(EventPayload, Value)> {
    let request_json = json!({
        "action": "restart_deployment",
        "target": {"kind": "Deployment", "namespace": "shop", "name": "web"},
        "args": {},
    });
    let assessment = crate::evidence::assess(
        &crate::evidence::Snapshot::default(),
        &crate::evidence::Scope::default(),
    );
    vec![
        (
            EventPayload::Evidence(assessment),
            json!({
                "scope": {"namespace": null, "pod": null, "container": null, "workload": null,
                          "node": null, "pvc": null, "hpa": null},
                "findings": [], "healthy": null, "category": "unknown",
                "conclusion": "nothing about the alert's subject could be read, so no cause is named",
                "unseen": ["no cluster object could be read for this alert"],
            }),
        ),
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
                via: Some("session from 10.0.0.7".to_owned()),
            }),
            json!({"by": "ana", "via": "session from 10.0.0.7"}),
        ),
        (
            EventPayload::Verdict(Verdict {
                by: "ana".to_owned(),
                verdict: "noise".to_owned(),
                via: None,
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
                via: None,
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
            EventPayload::Analysis(Analysis {
                model: Some("anthropic/claude".to_owned()),
                spend: Some(json!({"steps": 1, "cost_usd": 0.01})),
                fallback_reason: Some("the model's answer was not usable: empty".to_owned()),
                ..Analysis::from(&report())
            }),
            json!({
                "source": "template",
                "sections": [{"title": "Summary", "body": "Crash loop [event 3]."}],
                "citations": [{"section": "Summary", "event_id": 3}],
                "markdown": "## Summary\n\nCrash loop [event 3].\n",
                "model": "anthropic/claude", "spend": {"steps": 1, "cost_usd": 0.01},
                "fallback_reason": "the model's answer was not usable: empty",
            }),
        ),
        (
            EventPayload::NotificationSent(NotificationSent {
                channel: "slack".to_owned(),
                kind: "announce".to_owned(),
                slack_channel: Some("C123".to_owned()),
                ts: Some("1700000000.000100".to_owned()),
                ..NotificationSent::default()
            }),
            json!({
                "channel": "slack", "kind": "announce", "slack_channel": "C123",
                "ts": "1700000000.000100",
            }),
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
        // A model's analysis with a citation of an event the timeline lacks, and the template's
        // with no model configured.
        (
            EventKind::Analysis,
            json!({
                "source": "llm",
                "sections": [{"title": "Summary", "body": "OOM [event 99]."}],
                "citations": [],
                "unverified_citations": [{"section": "Summary", "event_id": 99}],
                "markdown": "## Summary\n\nOOM [event 99].\n",
                "model": "openai/gpt", "spend": {"steps": 2, "input_tokens": 900},
            }),
        ),
        (
            EventKind::Analysis,
            json!({"source": "template", "sections": [], "citations": [], "markdown": ""}),
        ),
        // Slack's reminders (the target is `null` past the configured ones) and its thread posts
        // (`action_id` is `null` with no pending action).
        (
            EventKind::NotificationSent,
            json!({"channel": "slack", "kind": "reminder", "nag": 1, "level": 0, "target": "<!here>"}),
        ),
        (
            EventKind::NotificationSent,
            json!({"channel": "slack", "kind": "escalation", "nag": 4, "level": 1, "target": null}),
        ),
        (
            EventKind::NotificationSent,
            json!({"channel": "slack", "kind": "escalated", "about_event": 12, "action_id": null}),
        ),
        (
            EventKind::NotificationSent,
            json!({"channel": "slack", "kind": "approval", "about_event": 13, "action_id": 4}),
        ),
        // The broadcaster's announcements.
        (
            EventKind::NotificationSent,
            json!({"channel": "discord", "kind": "announce", "about_event": 1}),
        ),
        (
            EventKind::NotificationSent,
            json!({
                "channel": "webhook", "kind": "announce", "about_event": 1,
                "delivery": "18c4f2a9b1e-0",
            }),
        ),
    ];
    for (kind, old) in shapes {
        let parsed = EventPayload::parse(kind, &old);
        assert!(
            !matches!(parsed, EventPayload::Unparsed(..)),
            "{kind} did not parse: {old}"
        );
        // The same text, byte for byte: same keys, same order, same value types.
        assert_eq!(parsed.to_json().to_string(), old.to_string(), "{kind}");
    }
}

/// The analysis payload as the app built it before the struct: the serialized analysis, then
/// `markdown`, then the provenance keys in the order they were inserted.
fn old_analysis_writer(
    analysis: &crate::analysis::Analysis,
    provenance: &[(&str, Value)],
) -> Value {
    let mut payload = serde_json::to_value(analysis).unwrap();
    let object = payload.as_object_mut().unwrap();
    object.insert("markdown".to_owned(), analysis.to_markdown().into());
    for (key, value) in provenance {
        object.insert((*key).to_owned(), value.clone());
    }
    payload
}

#[test]
fn the_analysis_payload_is_the_old_writers() {
    let mut unverified = report();
    unverified.source = crate::analysis::AnalysisSource::Llm;
    unverified.unverified_citations = vec![Citation {
        section: "Summary".to_owned(),
        event_id: 99,
    }];
    let spend = json!({"steps": 2, "input_tokens": 900, "cost_usd": 0.0123});
    let cases = [
        (report(), vec![]),
        (
            unverified.clone(),
            vec![("model", json!("openai/gpt")), ("spend", spend.clone())],
        ),
        (
            report(),
            vec![
                ("model", json!("openai/gpt")),
                ("spend", spend.clone()),
                (
                    "fallback_reason",
                    json!("the model could not be reached: 503"),
                ),
            ],
        ),
    ];
    for (analysis, provenance) in cases {
        let text = |key: &str| {
            provenance
                .iter()
                .find(|(name, _)| *name == key)
                .map(|(_, value)| value.clone())
        };
        let typed = Analysis {
            model: text("model").and_then(|v| v.as_str().map(str::to_owned)),
            spend: text("spend"),
            fallback_reason: text("fallback_reason").and_then(|v| v.as_str().map(str::to_owned)),
            ..Analysis::from(&analysis)
        };
        let old = old_analysis_writer(&analysis, &provenance);
        assert_eq!(typed.to_json().to_string(), old.to_string());
        // And the analysis reads back out of its payload.
        let EventPayload::Analysis(read) = EventPayload::parse(EventKind::Analysis, &old) else {
            panic!("an analysis reads as one");
        };
        assert_eq!(read, typed);
        assert_eq!(read.analysis(), Some(analysis));
    }
}

#[test]
fn an_analysis_without_a_known_source_is_not_one() {
    // Cut by the payload bound: every key is gone but the marker's.
    let cut = json!({"truncated": true, "original_bytes": 70000, "head": "{\"source\": \"llm\""});
    let EventPayload::Analysis(payload) = EventPayload::parse(EventKind::Analysis, &cut) else {
        panic!("a cut analysis still reads as the kind");
    };
    assert_eq!(payload.analysis(), None);
    let later = json!({"source": "ensemble", "sections": [], "citations": [], "markdown": ""});
    let EventPayload::Analysis(payload) = EventPayload::parse(EventKind::Analysis, &later) else {
        panic!("an unknown source reads");
    };
    assert_eq!(payload.source, "ensemble");
    assert_eq!(payload.analysis(), None);
    // A retyped key costs that key only.
    let odd =
        json!({"source": "template", "sections": "Summary", "citations": [], "markdown": "x"});
    let EventPayload::Analysis(payload) = EventPayload::parse(EventKind::Analysis, &odd) else {
        panic!("a retyped `sections` reads");
    };
    assert!(payload.sections.is_empty());
    assert_eq!(payload.markdown, "x");
}

#[test]
fn a_notification_without_an_event_or_channel_reads() {
    // The reminders name no event; a payload missing `channel` reads it as empty.
    let EventPayload::NotificationSent(sent) = EventPayload::parse(
        EventKind::NotificationSent,
        &json!({"kind": "reminder", "nag": 2, "level": 0}),
    ) else {
        panic!("a partial notification reads");
    };
    assert_eq!(sent.channel, "");
    assert_eq!(sent.about_event, None);
    assert_eq!(sent.target, None);
    assert_eq!(sent.nag, Some(2));
    let EventPayload::NotificationSent(sent) = EventPayload::parse(
        EventKind::NotificationSent,
        &json!({"channel": "slack", "kind": "escalated", "about_event": "12", "action_id": null}),
    ) else {
        panic!("a retyped `about_event` reads");
    };
    assert_eq!(sent.about_event, None);
    assert_eq!(sent.action_id, Some(None));
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
            via: None,
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

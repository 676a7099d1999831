#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::citations;
use super::*;
use crate::event::EventKind;
use crate::incident::{IncidentState, Verdict};
use crate::model::Severity;
use chrono::{DateTime, Duration, TimeZone, Utc};
use expect_test::expect_file;
use serde_json::{Value, json};
use std::collections::BTreeSet;

// ---- builders: scenarios are data ----

fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 1, 10, 0, 0).unwrap()
}

fn at(secs: i64) -> DateTime<Utc> {
    base() + Duration::seconds(secs)
}

fn incident(id: i64, alertname: &str, runbook: &str, title: &str) -> IncidentInfo {
    IncidentInfo {
        id,
        alertname: alertname.to_owned(),
        severity: Severity::High,
        namespace: Some("shop".to_owned()),
        pod: Some("api-1".to_owned()),
        container: Some("api".to_owned()),
        node: Some("node-2".to_owned()),
        state: IncidentState::Triggered,
        opened_at: base(),
        resolved_at: None,
        summary: None,
        runbook: Some(runbook.to_owned()),
        runbook_title: Some(title.to_owned()),
        mode: Some("auto".to_owned()),
        verdict: None,
    }
}

fn ev(id: i64, kind: EventKind, secs: i64, payload: Value) -> TimelineEvent {
    TimelineEvent {
        id,
        kind,
        at: at(secs),
        payload,
    }
}

fn routed(id: i64, runbook: &str, basis: &str) -> TimelineEvent {
    ev(
        id,
        EventKind::Routed,
        1,
        json!({"runbook": runbook, "basis": basis, "reason": format!("matched {runbook}")}),
    )
}

fn tool_result(id: i64, step: &str, tool: &str, summary: &str) -> TimelineEvent {
    ev(
        id,
        EventKind::ToolResult,
        2,
        json!({"step": step, "tool": tool, "summary": summary, "data": {}}),
    )
}

/// `policy`: the decision's outcome, class, rule and reason.
fn decided(
    id: i64,
    kind: EventKind,
    action_id: i64,
    action: &str,
    target: Value,
    policy: [&str; 4],
) -> TimelineEvent {
    ev(
        id,
        kind,
        3,
        json!({
            "step": "fix",
            "request": {"action": action, "target": target, "args": {}},
            "decision": {"outcome": policy[0], "class": policy[1], "rule": policy[2], "reason": policy[3]},
            "expires_at": if kind == EventKind::ApprovalRequested { json!("2024-05-01T11:00:00Z") } else { json!(null) },
            "action_id": action_id,
        }),
    )
}

fn stage(id: i64, kind: EventKind, action_id: i64, ok: bool, summary: &str) -> TimelineEvent {
    let key = if kind == EventKind::ActionVerified {
        "verification"
    } else {
        "report"
    };
    ev(
        id,
        kind,
        id * 10,
        json!({"action_id": action_id, "ok": ok, key: {"summary": summary}}),
    )
}

fn deployment() -> Value {
    json!({"kind": "Deployment", "namespace": "shop", "name": "api"})
}

fn input(incident: IncidentInfo, timeline: Vec<TimelineEvent>) -> AnalysisInput {
    AnalysisInput {
        incident,
        timeline,
        history: Vec::new(),
    }
}

struct Past {
    id: i64,
    alertname: &'static str,
    pod: Option<&'static str>,
    node: Option<&'static str>,
    /// Hours before `base()`.
    hours_ago: i64,
    /// Minutes it stayed open; `None`: still open.
    open_minutes: Option<i64>,
    verdict: Option<Verdict>,
    actions: Vec<TakenAction>,
}

impl Past {
    fn new(id: i64, alertname: &'static str, hours_ago: i64) -> Self {
        Self {
            id,
            alertname,
            pod: Some("api-1"),
            node: Some("node-2"),
            hours_ago,
            open_minutes: Some(10),
            verdict: None,
            actions: Vec::new(),
        }
    }

    fn build(self) -> PastIncident {
        let opened_at = base() - Duration::hours(self.hours_ago);
        PastIncident {
            id: self.id,
            alertname: self.alertname.to_owned(),
            namespace: self.pod.map(|_| "shop".to_owned()),
            pod: self.pod.map(str::to_owned),
            node: self.node.map(str::to_owned),
            opened_at,
            resolved_at: self
                .open_minutes
                .map(|minutes| opened_at + Duration::minutes(minutes)),
            verdict: self.verdict,
            runbook: Some("RB_OOM".to_owned()),
            actions: self.actions,
        }
    }
}

fn bump(outcome: ActionOutcome) -> TakenAction {
    TakenAction {
        action: "increase_memory_limit".to_owned(),
        target: Some("Deployment/shop/api".to_owned()),
        outcome,
    }
}

fn body<'a>(analysis: &'a Analysis, title: &str) -> &'a str {
    &analysis.section(title).unwrap().body
}

fn titles(analysis: &Analysis) -> Vec<&str> {
    analysis.sections.iter().map(|s| s.title.as_str()).collect()
}

/// Every citation points at a timeline event and none is unverified.
fn assert_citations_check_out(analysis: &Analysis, input: &AnalysisInput) {
    let known: BTreeSet<i64> = input.timeline.iter().map(|e| e.id).collect();
    for citation in &analysis.citations {
        assert!(known.contains(&citation.event_id), "{citation:?}");
    }
    assert!(analysis.unverified_citations.is_empty());
    assert_eq!(titles(analysis), SECTION_TITLES.to_vec());
}

fn now() -> DateTime<Utc> {
    at(600)
}

/// A model's prompt, system and user parts, against `test_data/<case>.md`.
fn check_prompt(case: &str, system: &str, user: &str) {
    let text = format!("# system\n\n{system}\n\n# user\n\n{user}\n");
    expect_file![format!("test_data/{case}.md")].assert_eq(&text);
}

/// The whole analysis as Markdown against `test_data/<case>.md`, which a reviewer reads whole;
/// `UPDATE_EXPECT=1 cargo test -p nightwatch-core` rewrites the files after an intended change.
fn check_markdown(case: &str, analysis: &Analysis) {
    expect_file![format!("test_data/{case}.md")].assert_eq(&analysis.to_markdown());
}

// ---- scenarios ----

fn oom_fixture() -> AnalysisInput {
    serde_json::from_str(include_str!("fixtures/oom_autofixed.json")).unwrap()
}

#[test]
fn oom_auto_fixed_and_verified() {
    let input = oom_fixture();
    let analysis = template_analysis(&input, at(600));
    assert_citations_check_out(&analysis, &input);
    assert_eq!(analysis.source, AnalysisSource::Template);

    check_markdown("oom_auto_fixed_and_verified", &analysis);

    assert_eq!(analysis.cited_in("Summary"), vec![110]);
    // Every significant event in order; calls are told by their results.
    assert_eq!(
        analysis.cited_in("What happened"),
        vec![101, 102, 104, 106, 107, 108, 109, 110, 111]
    );
    assert_eq!(
        analysis.cited_in("Root cause hypothesis"),
        vec![102, 104, 106, 110]
    );
    assert_eq!(analysis.cited_in("Why"), vec![102, 107]);
}

#[test]
fn image_pull_waiting_for_approval() {
    let mut incident = incident(
        50,
        "KubeContainerWaiting",
        "RB_IMAGEPULL",
        "Image cannot be pulled",
    );
    incident.mode = Some("recommend".to_owned());
    let input = input(
        incident,
        vec![
            ev(1, EventKind::Triggered, 0, json!({})),
            routed(2, "RB_IMAGEPULL", "reason_label"),
            tool_result(
                3,
                "check",
                "check_imagepullbackoff",
                "image shop/api:v9 not found in registry",
            ),
            decided(
                4,
                EventKind::ApprovalRequested,
                12,
                "patch_image",
                deployment(),
                [
                    "needs_approval",
                    "prod",
                    "approval",
                    "patch_image needs approval in class prod",
                ],
            ),
            ev(
                5,
                EventKind::Final,
                5,
                json!({"runbook": "RB_IMAGEPULL", "steps_run": ["check", "fix"], "steps_skipped": [], "actions": []}),
            ),
        ],
    );
    let analysis = template_analysis(&input, now());
    assert_citations_check_out(&analysis, &input);
    // Routed by a label: Why writes the basis as words ("by reason label").
    check_markdown("image_pull_waiting_for_approval", &analysis);
}

#[test]
fn approved_then_run_and_verified() {
    let input = input(
        incident(
            51,
            "KubeContainerWaiting",
            "RB_IMAGEPULL",
            "Image cannot be pulled",
        ),
        vec![
            routed(2, "RB_IMAGEPULL", "alertname"),
            decided(
                4,
                EventKind::ApprovalRequested,
                12,
                "patch_image",
                deployment(),
                ["needs_approval", "prod", "approval", "needs approval"],
            ),
            ev(
                5,
                EventKind::Approved,
                60,
                json!({"action_id": 12, "by": "alice"}),
            ),
            ev(
                6,
                EventKind::ActionProposed,
                61,
                json!({"action_id": 12, "request": {"action": "patch_image", "target": deployment()}, "approved_by": "alice", "decision": {"outcome": "allow", "class": "prod", "rule": "approved", "reason": "approved by alice"}}),
            ),
            stage(7, EventKind::ActionDryRun, 12, true, "image → shop/api:v8"),
            stage(
                8,
                EventKind::ActionExecuted,
                12,
                true,
                "image → shop/api:v8",
            ),
            stage(9, EventKind::ActionVerified, 12, true, "rolled out"),
        ],
    );
    let analysis = template_analysis(&input, now());
    assert_citations_check_out(&analysis, &input);
    check_markdown("approved_then_run_and_verified", &analysis);
    // Approved and run: nothing is left to approve.
    assert!(!body(&analysis, "Follow-ups").contains("Approve or reject"));
}

#[test]
fn forbidden_action_is_refused() {
    let pvc = json!({"kind": "PersistentVolumeClaim", "namespace": "db", "name": "data"});
    let input = input(
        incident(
            52,
            "KubePersistentVolumeFillingUp",
            "RB_DISK",
            "Volume full",
        ),
        vec![
            routed(2, "RB_DISK", "runbook_id_label"),
            decided(
                5,
                EventKind::ActionDenied,
                3,
                "delete_pvc",
                pvc,
                ["forbidden", "prod", "forbidden", "delete_pvc is forbidden"],
            ),
        ],
    );
    let analysis = template_analysis(&input, now());
    assert_citations_check_out(&analysis, &input);
    // No tool ran: the cause is not claimed, and routing alone is labelled unconfirmed.
    check_markdown("forbidden_action_is_refused", &analysis);
}

#[test]
fn failed_verification_escalates() {
    let input = input(
        incident(
            53,
            "KubePodOOMKilled",
            "RB_OOM",
            "Container killed for running out of memory",
        ),
        vec![
            routed(2, "RB_OOM", "alertname"),
            tool_result(3, "oom", "check_oom", "OOMKilled, 4 restarts"),
            decided(
                4,
                EventKind::ActionProposed,
                8,
                "increase_memory_limit",
                deployment(),
                ["allow", "dev", "auto", "automatic in dev"],
            ),
            stage(5, EventKind::ActionDryRun, 8, true, "256Mi"),
            stage(6, EventKind::ActionExecuted, 8, true, "256Mi"),
            stage(
                7,
                EventKind::ActionVerified,
                8,
                false,
                "still OOMKilled at 256Mi",
            ),
            ev(
                9,
                EventKind::Escalated,
                200,
                json!({"action_id": 8, "reason": "verification failed: still OOMKilled at 256Mi"}),
            ),
        ],
    );
    let analysis = template_analysis(&input, now());
    assert_citations_check_out(&analysis, &input);
    check_markdown("failed_verification_escalates", &analysis);
    // A fix that did not verify is no evidence for the hypothesis.
    assert!(!body(&analysis, "Root cause hypothesis").contains("supports the hypothesis"));
}

#[test]
fn unknown_runbook_with_no_investigation_says_one_is_needed() {
    let input = input(
        incident(
            54,
            "WeirdThing",
            "RB_UNKNOWN",
            "No runbook matched — investigate",
        ),
        vec![
            ev(1, EventKind::Triggered, 0, json!({})),
            ev(
                2,
                EventKind::Routed,
                1,
                json!({"runbook": "RB_UNKNOWN", "basis": "fallback", "reason": "no runbook matched", "notes": ["no cluster access"]}),
            ),
            ev(
                3,
                EventKind::Final,
                1,
                json!({"runbook": "RB_UNKNOWN", "steps_run": [], "steps_skipped": [], "actions": []}),
            ),
        ],
    );
    let analysis = template_analysis(&input, now());
    assert_citations_check_out(&analysis, &input);
    check_markdown("unknown_runbook_with_no_investigation", &analysis);
}

#[test]
fn failed_tools_do_not_become_a_cause() {
    let input = input(
        incident(55, "KubePodCrashLooping", "RB_CRASHLOOP", "Crash loop"),
        vec![
            routed(2, "RB_CRASHLOOP", "alertname"),
            ev(
                3,
                EventKind::ToolResult,
                2,
                json!({"step": "logs", "tool": "get_pod_logs", "error": "no cluster access"}),
            ),
            ev(
                4,
                EventKind::ToolResult,
                2,
                json!({"step": "events", "tool": "get_pod_events", "error": "no cluster access"}),
            ),
            ev(
                5,
                EventKind::StepSkipped,
                3,
                json!({"step": "restart", "tool": "rollout_restart", "because": "`logs.ok` is false"}),
            ),
        ],
    );
    let analysis = template_analysis(&input, now());
    assert_citations_check_out(&analysis, &input);
    check_markdown("failed_tools_do_not_become_a_cause", &analysis);
}

#[test]
fn runbook_escalate_step_and_gave_up_job_are_reported() {
    let input = input(
        incident(56, "KubeNodeNotReady", "RB_NODE_NOTREADY", "Node not ready"),
        vec![
            routed(2, "RB_NODE_NOTREADY", "alertname"),
            ev(
                3,
                EventKind::Escalated,
                2,
                json!({"step": "human", "reason": "the node has been NotReady for 10m"}),
            ),
            ev(
                4,
                EventKind::Final,
                3,
                json!({"outcome": "gave_up", "reason": "the runbook job failed 3 times"}),
            ),
        ],
    );
    let analysis = template_analysis(&input, now());
    assert_citations_check_out(&analysis, &input);
    check_markdown("runbook_escalate_step_and_gave_up_job", &analysis);
}

#[test]
fn repeated_firings_are_counted_with_bounded_citations() {
    let mut timeline = vec![ev(1, EventKind::Triggered, 0, json!({}))];
    timeline.extend((2..=9).map(|id| ev(id, EventKind::Suppressed, id * 10, json!({}))));
    let input = input(incident(57, "X", "RB_OOM", "t"), timeline);
    let analysis = template_analysis(&input, now());
    // Eight repeats, five of them cited and the rest told as "and later".
    check_markdown("repeated_firings_are_counted", &analysis);
    assert_eq!(analysis.cited_in("What happened"), vec![1, 2, 3, 4, 5, 6]);
}

// ---- history ----

#[test]
fn select_history_matches_dedups_orders_and_limits() {
    let current = incident(100, "KubePodOOMKilled", "RB_OOM", "t");
    let mut other_ns_same_pod = Past::new(5, "Other", 5).build();
    other_ns_same_pod.namespace = Some("other".to_owned());
    other_ns_same_pod.node = None;
    let candidates = vec![
        Past::new(1, "KubePodOOMKilled", 30).build(),
        Past {
            node: None,
            pod: None,
            ..Past::new(2, "KubePodOOMKilled", 10)
        }
        .build(),
        Past {
            pod: Some("web-1"),
            node: Some("node-9"),
            ..Past::new(3, "Other", 20)
        }
        .build(),
        Past {
            pod: Some("web-1"),
            node: Some("node-2"),
            ..Past::new(4, "NodeDiskPressure", 2)
        }
        .build(),
        other_ns_same_pod,
        Past::new(100, "KubePodOOMKilled", 0).build(), // the current one
        Past::new(1, "KubePodOOMKilled", 30).build(),  // twice from two lists
        Past {
            pod: None,
            node: None,
            ..Past::new(6, "Unrelated", 1)
        }
        .build(),
    ];
    let related = select_history(&current, &candidates, HISTORY_LIMIT);
    let got: Vec<(i64, Vec<MatchReason>)> = related
        .iter()
        .map(|r| (r.incident.id, r.matched.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (4, vec![MatchReason::Node]),
            (2, vec![MatchReason::Alertname]),
            (
                1,
                vec![MatchReason::Alertname, MatchReason::Pod, MatchReason::Node]
            ),
        ]
    );

    let many: Vec<PastIncident> = (1..=60)
        .map(|id| Past::new(id, "KubePodOOMKilled", id).build())
        .collect();
    let limited = select_history(&current, &many, HISTORY_LIMIT);
    assert_eq!(limited.len(), 50);
    assert_eq!(limited.first().unwrap().incident.id, 1);
    assert_eq!(limited.last().unwrap().incident.id, 50);
    let json = serde_json::to_value(&limited[0]).unwrap();
    assert_eq!(json["matched"], json!(["alertname", "pod", "node"]));
    assert_eq!(json["id"], 1);
}

#[test]
fn recurring_alert_marked_noise_9_of_10() {
    let current = IncidentInfo {
        pod: None,
        namespace: None,
        container: None,
        node: None,
        ..incident(200, "CPUThrottlingHigh", "RB_UNKNOWN", "t")
    };
    // Ten earlier firings: one in the last day, three in the week, all ten in the month.
    let hours = [2, 30, 100, 200, 300, 400, 450, 500, 600, 700];
    let candidates: Vec<PastIncident> = hours
        .iter()
        .enumerate()
        .map(|(i, h)| {
            Past {
                pod: None,
                node: None,
                verdict: Some(if i == 3 {
                    Verdict::Real
                } else {
                    Verdict::Noise
                }),
                open_minutes: Some(5 + i as i64),
                ..Past::new(i as i64 + 1, "CPUThrottlingHigh", *h)
            }
            .build()
        })
        .collect();
    let related = select_history(&current, &candidates, HISTORY_LIMIT);
    let pattern = history_pattern(&current, &related, base());
    assert_eq!(pattern.total, 10);
    assert_eq!(pattern.same_alertname, 10);
    assert_eq!((pattern.same_pod, pattern.same_node), (0, 0));
    assert_eq!(
        pattern.alertname_verdicts,
        VerdictCounts {
            noise: 9,
            real: 1,
            auto_fixed: 0,
            escalated: 0,
            none: 0
        }
    );
    assert_eq!(
        (pattern.last_24h, pattern.last_7d, pattern.last_30d),
        (1, 3, 10)
    );
    // Durations 5..=14 minutes: the median of an even count is the mean of the middle two.
    assert_eq!(pattern.median_resolve_secs, Some(570));
    assert_eq!(pattern.recommendation.kind, RecommendationKind::Noise);
    assert_eq!(
        pattern.recommendation.text,
        "CPUThrottlingHigh was marked noise in 9 of 10 judged earlier incidents; tune the alert \
         rule (threshold, `for:` duration, matchers) or silence it rather than paging for it."
    );
    assert!(
        pattern.flapping.is_none(),
        "durations over a month are not flapping"
    );

    let analysis = template_analysis(
        &AnalysisInput {
            incident: current,
            timeline: vec![],
            history: candidates,
        },
        base(),
    );
    check_markdown("recurring_alert_marked_noise", &analysis);
}

#[test]
fn noise_needs_enough_judged_incidents_and_a_clear_share() {
    let current = incident(300, "A", "RB_OOM", "t");
    let case = |verdicts: &[Option<Verdict>]| {
        let candidates: Vec<PastIncident> = verdicts
            .iter()
            .enumerate()
            .map(|(i, v)| {
                Past {
                    verdict: *v,
                    ..Past::new(i as i64 + 1, "A", 48 + 24 * i as i64)
                }
                .build()
            })
            .collect();
        let related = select_history(&current, &candidates, HISTORY_LIMIT);
        history_pattern(&current, &related, base())
            .recommendation
            .kind
    };
    use Verdict::*;
    let table: [(&[Option<Verdict>], RecommendationKind); 4] = [
        (
            &[Some(Noise), Some(Noise)],
            RecommendationKind::NoClearPattern,
        ),
        (
            &[Some(Noise), Some(Noise), Some(Noise), None, None],
            RecommendationKind::Noise,
        ),
        (
            &[Some(Noise), Some(Noise), Some(Noise), Some(Real)],
            RecommendationKind::NoClearPattern,
        ),
        (
            &[Some(Real), Some(Escalated), Some(Real)],
            RecommendationKind::RecurringReal,
        ),
    ];
    for (verdicts, want) in table {
        assert_eq!(case(verdicts), want, "{verdicts:?}");
    }
}

#[test]
fn same_fix_repeated_on_one_pod_recommends_a_permanent_fix() {
    let current = incident(400, "KubePodOOMKilled", "RB_OOM", "t");
    let candidates: Vec<PastIncident> = [(1, 24), (2, 72), (3, 120)]
        .into_iter()
        .map(|(id, h)| {
            Past {
                verdict: Some(Verdict::AutoFixed),
                actions: vec![bump(ActionOutcome::Verified)],
                ..Past::new(id, "KubePodOOMKilled", h)
            }
            .build()
        })
        .collect();
    let related = select_history(&current, &candidates, HISTORY_LIMIT);
    let pattern = history_pattern(&current, &related, base());
    assert_eq!(
        pattern.fixes,
        vec![FixRecord {
            action: "increase_memory_limit".to_owned(),
            target: "Deployment/shop/api".to_owned(),
            verified: 3,
            failed: 0,
            held: 0,
            incident_ids: vec![1, 2, 3],
        }]
    );
    assert_eq!(pattern.recommendation.kind, RecommendationKind::RepeatedFix);
    assert_eq!(
        pattern.recommendation.text,
        "increase_memory_limit was applied to Deployment/shop/api 3 times before (0 held for 7 \
         days); stop repeating it and set a memory limit that fits in the workload's manifest, or \
         find the leak."
    );
    let lines = pattern.fact_lines();
    assert!(lines.contains(&"increase_memory_limit on Deployment/shop/api: verified 3, held 0, failed 0 (incidents #1, #2, #3).".to_owned()), "{lines:?}");
}

#[test]
fn a_fix_holds_when_the_alert_stays_away_for_the_window() {
    let current = incident(500, "KubePodOOMKilled", "RB_OOM", "t");
    let fixed = |id, hours_ago| Past {
        actions: vec![bump(ActionOutcome::Verified)],
        ..Past::new(id, "KubePodOOMKilled", hours_ago)
    };
    // #1 came back 10 days later as #2 (held); #2 came back 2 days later as the current one.
    let candidates = vec![fixed(2, 48).build(), fixed(1, 48 + 240).build()];
    let related = select_history(&current, &candidates, HISTORY_LIMIT);
    let pattern = history_pattern(&current, &related, base());
    assert_eq!((pattern.fixes[0].verified, pattern.fixes[0].held), (2, 1));
    // A different alert on the pod is not a comeback of this fix.
    let other = IncidentInfo {
        alertname: "Other".to_owned(),
        ..current.clone()
    };
    let related = select_history(&other, &[fixed(3, 48).build()], HISTORY_LIMIT);
    assert_eq!(history_pattern(&other, &related, base()).fixes[0].held, 1);
}

#[test]
fn a_fix_that_keeps_failing_says_so() {
    let current = incident(600, "KubePodOOMKilled", "RB_OOM", "t");
    let candidates: Vec<PastIncident> = [(1, 200), (2, 400)]
        .into_iter()
        .map(|(id, h)| {
            Past {
                actions: vec![bump(ActionOutcome::Failed), bump(ActionOutcome::Denied)],
                ..Past::new(id, "KubePodOOMKilled", h)
            }
            .build()
        })
        .collect();
    let related = select_history(&current, &candidates, HISTORY_LIMIT);
    let pattern = history_pattern(&current, &related, base());
    // Denied actions never reached the cluster and are not counted as fixes.
    assert_eq!((pattern.fixes[0].verified, pattern.fixes[0].failed), (0, 2));
    assert_eq!(pattern.recommendation.kind, RecommendationKind::FailingFix);
    assert!(
        pattern
            .recommendation
            .text
            .starts_with("increase_memory_limit on Deployment/shop/api failed 2 times before")
    );
}

#[test]
fn many_short_incidents_are_flapping() {
    let current = incident(700, "KubePodNotReady", "RB_CRASHLOOP", "t");
    let mut candidates: Vec<PastIncident> = (1..=5)
        .map(|id| {
            Past {
                open_minutes: Some(3),
                ..Past::new(id, "KubePodNotReady", id * 3)
            }
            .build()
        })
        .collect();
    // Long ones and ones on another pod do not count.
    candidates.push(
        Past {
            open_minutes: Some(90),
            ..Past::new(6, "KubePodNotReady", 4)
        }
        .build(),
    );
    candidates.push(
        Past {
            pod: Some("web-1"),
            open_minutes: Some(2),
            ..Past::new(7, "KubePodNotReady", 5)
        }
        .build(),
    );
    let related = select_history(&current, &candidates, HISTORY_LIMIT);
    let pattern = history_pattern(&current, &related, base());
    let flapping = pattern.flapping.clone().unwrap();
    assert_eq!(flapping.count, 5);
    assert_eq!(flapping.subject, "pod shop/api-1");
    assert_eq!(flapping.incident_ids, vec![1, 2, 3, 4, 5]);
    assert_eq!(pattern.recommendation.kind, RecommendationKind::Flapping);
    assert_eq!(
        pattern.recommendation.text,
        "KubePodNotReady flapped on pod shop/api-1: 5 incidents of under 15 minutes in the last 24 \
         hours; lengthen the rule's `for:` duration or add hysteresis to its threshold rather than \
         responding to each one."
    );
    // Two short ones are not enough.
    let few = select_history(&current, &candidates[..2], HISTORY_LIMIT);
    assert!(history_pattern(&current, &few, base()).flapping.is_none());
}

#[test]
fn windows_and_median_edges() {
    let current = incident(800, "A", "RB_OOM", "t");
    let candidates = vec![
        Past {
            open_minutes: None,
            ..Past::new(1, "A", 24)
        }
        .build(), // exactly 24h ago: outside
        Past {
            open_minutes: Some(20),
            ..Past::new(2, "A", 23)
        }
        .build(),
        Past {
            open_minutes: Some(40),
            ..Past::new(3, "A", 24 * 7 + 1)
        }
        .build(),
        Past {
            open_minutes: Some(60),
            ..Past::new(4, "A", 24 * 40)
        }
        .build(),
    ];
    let related = select_history(&current, &candidates, HISTORY_LIMIT);
    let pattern = history_pattern(&current, &related, base());
    assert_eq!(
        (pattern.last_24h, pattern.last_7d, pattern.last_30d),
        (1, 2, 3)
    );
    assert_eq!(pattern.median_resolve_secs, Some(40 * 60));
    assert_eq!(pattern.verdicts.none, 4);
    assert!(
        pattern
            .fact_lines()
            .contains(&"Median time to resolve: 40m.".to_owned())
    );
}

// ---- output, prompt and parsing ----

#[test]
fn analysis_serialises_to_the_documented_shape_and_markdown() {
    let analysis = template_analysis(&oom_fixture(), at(600));
    let json = serde_json::to_value(&analysis).unwrap();
    // The documented shape, read whole.
    expect_file!["test_data/oom_auto_fixed_and_verified.json"].assert_eq(&format!(
        "{}\n",
        serde_json::to_string_pretty(&json).unwrap()
    ));
    // Empty, the list is left out rather than written as [].
    assert!(json.get("unverified_citations").is_none());
    let back: Analysis = serde_json::from_value(json).unwrap();
    assert_eq!(back, analysis);

    let markdown = analysis.to_markdown();
    let headings: Vec<&str> = markdown.lines().filter(|l| l.starts_with("## ")).collect();
    let want: Vec<String> = SECTION_TITLES.iter().map(|t| format!("## {t}")).collect();
    assert_eq!(headings, want);
}

#[test]
fn template_markdown_parses_back_to_the_same_sections() {
    let input = oom_fixture();
    let analysis = template_analysis(&input, at(600));
    let parsed = parse_llm_analysis(&analysis.to_markdown(), &input).unwrap();
    assert_eq!(parsed.source, AnalysisSource::Llm);
    assert_eq!(parsed.sections, analysis.sections);
    assert_eq!(parsed.citations, analysis.citations);
}

#[test]
fn parses_a_models_answer_with_loose_headings_and_checks_citations() {
    let input = oom_fixture();
    let analysis = parse_llm_analysis(include_str!("fixtures/llm_answer.md"), &input).unwrap();
    assert_eq!(titles(&analysis), SECTION_TITLES.to_vec());
    assert!(
        !body(&analysis, "Summary").contains("Sure!"),
        "the preamble is dropped"
    );
    assert_eq!(analysis.cited_in("Summary"), vec![106, 110]);
    assert_eq!(analysis.cited_in("What happened"), vec![101, 102, 106]);
    assert_eq!(analysis.cited_in("Action"), vec![108, 109, 110]);
    assert_eq!(analysis.cited_in("Why"), vec![107]);
    assert_eq!(
        analysis.unverified_citations,
        vec![
            Citation {
                section: "What happened".to_owned(),
                event_id: 999
            },
            Citation {
                section: "Follow-ups".to_owned(),
                event_id: 4242
            },
        ]
    );
    // Citations of events that do not exist are marked in the text.
    check_markdown("llm_answer_parsed", &analysis);
    let json = serde_json::to_value(&analysis).unwrap();
    assert_eq!(json["source"], "llm");
    assert_eq!(json["unverified_citations"][0]["event_id"], 999);
}

#[test]
fn refuses_answers_missing_sections() {
    let input = oom_fixture();
    let text = "## Summary\nok [event 101]\n## What happened\nx\n## Root cause\nunknown\n## Action\nnone\n## Why\n\n## History\nnone\n";
    let error = parse_llm_analysis(text, &input).unwrap_err();
    assert_eq!(
        error,
        AnalysisError::MissingSections {
            missing: vec!["Why".to_owned(), "Follow-ups".to_owned()]
        }
    );
    assert_eq!(
        error.to_string(),
        "the model's analysis lacks required sections: Why, Follow-ups"
    );
    assert_eq!(
        parse_llm_analysis("  \n", &input).unwrap_err(),
        AnalysisError::Empty
    );
    assert_eq!(
        parse_llm_analysis("```\n```", &input).unwrap_err(),
        AnalysisError::Empty
    );
    // Headings inside a code block are content, not sections.
    let fenced = "## Summary\ns\n## What happened\n```\n## Why\n```\n## Root cause hypothesis\nr\n## Action\na\n## Historical pattern\nh\n## Follow-ups\nf\n";
    let error = parse_llm_analysis(fenced, &input).unwrap_err();
    assert_eq!(
        error,
        AnalysisError::MissingSections {
            missing: vec!["Why".to_owned()]
        }
    );
}

#[test]
fn heading_variants_are_recognised() {
    let input = oom_fixture();
    let headings = [
        "# SUMMARY",
        "**What happened:**",
        "### 3. Root-cause hypothesis",
        "## Actions taken",
        "#### why?",
        "## Historical pattern & SRE recommendations",
        "## Follow ups",
    ];
    let text: String = headings.iter().map(|h| format!("{h}\ntext\n\n")).collect();
    let result = parse_llm_analysis(&text, &input);
    // "why?" is not a heading we know: the Why section is missing and named.
    assert_eq!(
        result.unwrap_err(),
        AnalysisError::MissingSections {
            missing: vec!["Why".to_owned()]
        }
    );
    let text = text.replace("#### why?", "#### Why");
    let analysis = parse_llm_analysis(&text, &input).unwrap();
    assert!(analysis.sections.iter().all(|s| s.body == "text"));
    assert!(analysis.citations.is_empty());
}

#[test]
fn citation_forms() {
    let table: [(&str, Vec<Vec<i64>>); 9] = [
        ("a [event 4] b", vec![vec![4]]),
        ("[Event #4]", vec![vec![4]]),
        ("[events 4, 5]", vec![vec![4, 5]]),
        ("[event 4 and 5]", vec![vec![4, 5]]),
        ("[event:7]", vec![vec![7]]),
        ("[eventual 4] [event x] [event] [4]", vec![]),
        ("[link](x) [event 3]", vec![vec![3]]),
        ("[unverified: event 9]", vec![]),
        ("[[event 2]]", vec![vec![2]]),
    ];
    for (text, want) in table {
        let got: Vec<Vec<i64>> = citations::find(text).into_iter().map(|c| c.ids).collect();
        assert_eq!(got, want, "{text}");
    }
}

#[test]
fn prompt_carries_the_facts_headings_and_rules() {
    let mut input = oom_fixture();
    input.timeline.push(ev(
        150,
        EventKind::LlmResponse,
        700,
        json!({"text": "SECRET TRANSCRIPT"}),
    ));
    input
        .timeline
        .extend((151..=160).map(|id| ev(id, EventKind::Suppressed, 800, json!({}))));
    input.history = vec![
        Past {
            verdict: Some(Verdict::AutoFixed),
            actions: vec![bump(ActionOutcome::Verified)],
            pod: Some("api-7d9f8-xk2lp"),
            ..Past::new(12, "KubePodOOMKilled", 72)
        }
        .build(),
    ];
    let (system, user) = llm_prompt(&input, at(600));
    for title in SECTION_TITLES {
        assert!(system.contains(&format!("## {title}")), "{title}");
    }
    check_prompt("llm_prompt_oom", &system, &user);
    assert!(
        !user.contains("SECRET TRANSCRIPT"),
        "model transcripts are not facts"
    );
    // Ten suppressed events: five are listed, the rest counted.
    assert!(user.contains("[event 155]"));
    assert!(!user.contains("[event 156]"));
}

#[test]
fn investigation_prompt_has_the_facts_and_no_section_demand() {
    let mut input = input(
        incident(
            77,
            "KubeDeploymentReplicasMismatch",
            "RB_UNKNOWN",
            "No runbook matched",
        ),
        vec![
            ev(1, EventKind::Triggered, 0, json!({})),
            routed(2, "RB_UNKNOWN", "unknown"),
        ],
    );
    let (system, user) = investigation_prompt(&input, at(60));
    check_prompt("investigation_prompt", &system, &user);
    // It investigates; the analysis that follows is what demands sections.
    assert!(!user.contains("Required sections"));

    // The analyzers' findings come first, quoted once; the timeline points at them.
    let mut with_evidence = input.clone();
    let mut finding = crate::evidence::Finding::new(
        "replicas_mismatch",
        crate::evidence::Severity::Critical,
        crate::evidence::Category::ResourceExhaustion,
        "Deployment shop/api has 1 of 3 replicas: exceeded quota compute-quota",
    );
    finding.evidence.push(crate::evidence::Evidence::new(
        &crate::evidence::ObjectRef::new("ReplicaSet", Some("shop"), "api-5f6d"),
        "event FailedCreate",
        "exceeded quota: compute-quota, requested: cpu=500m",
    ));
    let assessment = crate::evidence::Assessment {
        scope: crate::evidence::Scope::default(),
        findings: vec![finding],
        healthy: None,
        category: crate::evidence::Category::ResourceExhaustion,
        conclusion: "Deployment shop/api has 1 of 3 replicas".to_owned(),
        unseen: vec!["logs of pod api-1 could not be read".to_owned()],
    };
    with_evidence.timeline.insert(
        1,
        ev(
            5,
            EventKind::Evidence,
            1,
            serde_json::to_value(&assessment).unwrap(),
        ),
    );
    let (_, user) = investigation_prompt(&with_evidence, at(60));
    let section = user
        .find(super::EVIDENCE_HEADING)
        .expect("findings section");
    assert!(section < user.find("## Incident").unwrap(), "{user}");
    assert!(user.contains("- [critical] Deployment shop/api has 1 of 3 replicas"));
    assert!(user.contains("ReplicaSet shop/api-5f6d event FailedCreate: exceeded quota"));
    assert!(user.contains("Could not see: logs of pod api-1"));
    assert!(user.contains("[event 5] ") && user.contains("quoted at the top"));
    assert_eq!(
        user.matches("exceeded quota: compute-quota").count(),
        1,
        "{user}"
    );

    // The analysis writer reads the investigation's report whole, labelled as a model's.
    let report = format!(
        "## Findings\n- {}\n## Likely cause\nquota",
        "x".repeat(2_000)
    );
    input.timeline.push(tool_result(
        3,
        "llm:main",
        "list_pods",
        "3 pods in namespace shop, 1 not ready",
    ));
    input.timeline.push(ev(
        4,
        EventKind::Investigation,
        90,
        json!({"answer": report, "stop": "end of turn", "tool_calls": 1}),
    ));
    let (_, user) = llm_prompt(&input, at(120));
    assert!(user.contains("[event 3]"));
    assert!(user.contains("[event 4] 2024-05-01 10:01:30 UTC investigation (a model's report"));
    assert!(
        user.contains(&"x".repeat(2_000)),
        "not clipped at the per-event limit"
    );
    assert!(user.contains("## Likely cause\nquota"));
}

#[test]
fn input_round_trips_and_action_outcomes_match_store_names() {
    let input = oom_fixture();
    let text = serde_json::to_string(&input).unwrap();
    assert_eq!(serde_json::from_str::<AnalysisInput>(&text).unwrap(), input);
    for outcome in ActionOutcome::ALL {
        assert_eq!(outcome.as_str().parse::<ActionOutcome>().unwrap(), outcome);
        assert_eq!(
            serde_json::to_value(outcome).unwrap(),
            json!(outcome.as_str())
        );
    }
    assert!("nope".parse::<ActionOutcome>().is_err());
}

#[test]
fn unexpected_payloads_do_not_panic_and_still_cite() {
    let input = input(
        incident(900, "A", "RB_OOM", "t"),
        vec![
            ev(1, EventKind::Routed, 0, json!(null)),
            ev(2, EventKind::ToolResult, 1, json!("text")),
            ev(3, EventKind::ActionVerified, 2, json!({"ok": "yes"})),
            ev(4, EventKind::ActionDenied, 3, json!({"decision": 5})),
            ev(5, EventKind::Escalated, 4, json!([])),
            ev(6, EventKind::Approved, 5, json!({"action_id": "x"})),
        ],
    );
    let analysis = template_analysis(&input, now());
    assert_citations_check_out(&analysis, &input);
    assert_eq!(analysis.cited_in("What happened"), vec![1, 2, 3, 4, 5, 6]);
}

#[test]
fn an_unresolvable_target_is_escalated_whatever_the_policy_said() {
    let reason = "needs approval in class prod; target not resolved: no owner found";
    let input = input(
        incident(
            58,
            "KubeContainerWaiting",
            "RB_IMAGEPULL",
            "Image cannot be pulled",
        ),
        vec![
            routed(2, "RB_IMAGEPULL", "alertname"),
            decided(
                3,
                EventKind::Escalated,
                4,
                "patch_image",
                json!({"kind": "Pod", "namespace": "shop", "name": "api-1"}),
                ["needs_approval", "prod", "approval", reason],
            ),
        ],
    );
    let analysis = template_analysis(&input, now());
    assert_citations_check_out(&analysis, &input);
    check_markdown("unresolvable_target_is_escalated", &analysis);
    // Escalated, not waiting: there is nothing to approve.
    assert!(!body(&analysis, "Follow-ups").contains("Approve or reject"));
}

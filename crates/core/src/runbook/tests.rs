#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::model::Labels;
use serde_json::json;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn library() -> Library {
    Library::builtin().unwrap()
}

const MINIMAL: &str = "---\nid: RB_TEST\ntitle: Test\nsteps:\n  - { id: first, tool: check_oom }\n  - id: second\n    tool: delete_pod\n    when: first.oom_killed\n---\nBody text.\n";

#[test]
fn builtins_load_and_cover_the_seed_runbooks() {
    let library = library();
    for id in [
        "RB_IMAGEPULL",
        "RB_OOM",
        "RB_CONTAINERCREATING",
        "RB_CRASHLOOP",
        "RB_NODE_UNSCHEDULABLE",
        "RB_NODE_NOTREADY",
        "RB_UNKNOWN",
    ] {
        let loaded = library.get(id).unwrap_or_else(|| panic!("{id} missing"));
        assert_eq!(loaded.origin, RunbookOrigin::Builtin);
        assert!(!loaded.runbook.body.is_empty(), "{id} has no body");
    }
}

#[test]
fn parses_frontmatter_steps_gates_and_body() {
    let runbook = parse_runbook("t.md", MINIMAL).unwrap();
    assert_eq!(runbook.id, "RB_TEST");
    assert_eq!(runbook.steps.len(), 2);
    assert_eq!(runbook.steps[1].when.as_deref(), Some("first.oom_killed"));
    assert_eq!(runbook.steps[1].kind(), Some(ToolKind::Action));
    assert_eq!(runbook.steps[0].kind(), Some(ToolKind::Read));
    assert_eq!(runbook.body, "Body text.");
}

#[test]
fn bad_runbooks_are_refused_with_file_line_and_reason() {
    let cases: &[(&str, &str, Option<usize>, &str)] = &[
        (
            "no frontmatter",
            "# just markdown\n",
            Some(1),
            "starts with a `---`",
        ),
        ("unclosed", "---\nid: RB_X\ntitle: x\n", Some(1), "closing"),
        (
            "yaml syntax",
            "---\nid: RB_X\ntitle: [unclosed\n---\n",
            Some(3),
            "frontmatter",
        ),
        (
            "unknown field",
            "---\nid: RB_X\ntitle: x\nstpes: []\n---\n",
            Some(4),
            "unknown field `stpes`",
        ),
        (
            "bad id",
            "---\nid: rb-x\ntitle: x\n---\n",
            Some(2),
            "upper case",
        ),
        (
            "unknown tool",
            "---\nid: RB_X\ntitle: x\nsteps:\n  - { id: a, tool: check_oom }\n  - { id: b, tool: rm_rf }\n---\n",
            Some(6),
            "unknown tool \"rm_rf\"",
        ),
        (
            "duplicate step",
            "---\nid: RB_X\ntitle: x\nsteps:\n  - { id: a, tool: check_oom }\n  - { id: a, tool: check_oom }\n---\n",
            None,
            "used twice",
        ),
        (
            "gate syntax",
            "---\nid: RB_X\ntitle: x\nsteps:\n  - { id: a, tool: check_oom }\n  - id: b\n    tool: delete_pod\n    when: a.oom_killed &&\n---\n",
            Some(6),
            "does not parse",
        ),
        (
            "forward reference",
            "---\nid: RB_X\ntitle: x\nsteps:\n  - id: a\n    tool: delete_pod\n    when: b.oom_killed\n  - { id: b, tool: check_oom }\n---\n",
            Some(5),
            "reads \"b\", which is not an earlier step",
        ),
        (
            "typo in gate",
            "---\nid: RB_X\ntitle: x\nsteps:\n  - { id: oom, tool: check_oom }\n  - id: bump\n    tool: increase_memory_limit\n    when_all: [oomm.oom_killed]\n---\n",
            Some(6),
            "reads \"oomm\"",
        ),
        (
            "reserved step id",
            "---\nid: RB_X\ntitle: x\nsteps:\n  - { id: alert, tool: check_oom }\n---\n",
            Some(5),
            "reserved",
        ),
    ];
    for (name, text, line, message) in cases {
        let errors = parse_runbook("bad.md", text).expect_err(name);
        let error = &errors[0];
        assert_eq!(error.file, "bad.md", "{name}");
        if line.is_some() {
            assert_eq!(error.line, *line, "{name}: {error}");
        }
        assert!(error.message.contains(message), "{name}: {error}");
        assert!(error.to_string().starts_with("bad.md:"), "{name}");
    }
}

#[test]
fn all_errors_of_a_file_are_reported() {
    let text = "---\nid: bad\ntitle: ''\nsteps:\n  - { id: a, tool: nope }\n---\n";
    let errors = parse_runbook("x.md", text).unwrap_err();
    assert_eq!(errors.len(), 3, "{errors:?}");
}

#[test]
fn macro_variables_are_not_mistaken_for_steps() {
    let text = "---\nid: RB_X\ntitle: x\nsteps:\n  - { id: events, tool: get_pod_events }\n  - id: b\n    tool: delete_pod\n    when: events.items.exists(e, e.reason == 'FailedMount') && alert.labels.namespace != ''\n---\n";
    parse_runbook("x.md", text).unwrap();
}

#[test]
fn gates_evaluate_over_step_outputs() {
    let mut context = GateContext::new();
    context.bind(
        "oom",
        json!({"oom_killed": true, "restarts": 3, "limit": "128Mi"}),
    );
    context.bind(
        "events",
        json!({"missing_volume_objects": [], "items": [{"reason": "BackOff"}]}),
    );
    context.bind("alert", json!({"labels": {"namespace": "dev-a"}}));
    let cases: &[(&str, Result<bool, ()>)] = &[
        ("oom.oom_killed && oom.restarts >= 2", Ok(true)),
        ("oom.restarts >= 4", Ok(false)),
        ("size(events.missing_volume_objects) == 0", Ok(true)),
        ("events.items.exists(e, e.reason == 'BackOff')", Ok(true)),
        ("alert.labels.namespace.startsWith('dev-')", Ok(true)),
        ("oom.limit", Err(())),
        ("oom.no_such_field", Err(())),
        ("missing_step.x", Err(())),
    ];
    for (source, expected) in cases {
        let gate = Gate::compile(source).unwrap();
        let got = gate.evaluate(&context).map_err(|_| ());
        assert_eq!(&got, expected, "{source}");
    }
}

#[test]
fn routes_by_label_then_alertname_then_reason_label() {
    let library = library();
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, RouteBasis);
    let cases: &[Case] = &[
        (
            &[("alertname", "Whatever"), ("runbook_id", "RB_OOM")],
            "RB_OOM",
            RouteBasis::RunbookIdLabel,
        ),
        (
            &[("alertname", "KubePodCrashLooping")],
            "RB_CRASHLOOP",
            RouteBasis::Alertname,
        ),
        (
            &[("alertname", "KubeNodeUnreachable")],
            "RB_NODE_NOTREADY",
            RouteBasis::Alertname,
        ),
        (
            &[("alertname", "KubeletDown")],
            "RB_NODE_NOTREADY",
            RouteBasis::Alertname,
        ),
        (
            &[
                ("alertname", "KubePodImagePullBackOff"),
                ("runbook_id", "RB_NOPE"),
            ],
            "RB_IMAGEPULL",
            RouteBasis::Alertname,
        ),
        (
            &[
                ("alertname", "KubeContainerWaiting"),
                ("reason", "ImagePullBackOff"),
            ],
            "RB_IMAGEPULL",
            RouteBasis::ReasonLabel,
        ),
    ];
    for (pairs, runbook, basis) in cases {
        let route = route_static(&library, &labels(pairs)).unwrap();
        assert_eq!(
            (&route.runbook[..], route.basis),
            (*runbook, *basis),
            "{pairs:?}"
        );
    }
    let notes = route_static(
        &library,
        &labels(&[("alertname", "KubePodNotReady"), ("runbook_id", "RB_NOPE")]),
    )
    .unwrap_err();
    assert!(notes[0].contains("RB_NOPE"), "{notes:?}");
}

#[test]
fn user_runbooks_add_and_override_by_id() {
    let override_oom = MINIMAL.replace("RB_TEST", "RB_OOM");
    let extra = "---\nid: RB_DISK\ntitle: Disk\nmatch: { alertnames: [KubePersistentVolumeFillingUp] }\n---\n";
    let library = Library::load(&[
        ("oom.md".into(), override_oom),
        ("disk.md".into(), extra.into()),
    ])
    .unwrap();
    let oom = library.get("RB_OOM").unwrap();
    assert!(oom.overrides_builtin);
    assert_eq!(oom.origin, RunbookOrigin::File("oom.md".into()));
    assert_eq!(oom.runbook.steps.len(), 2);
    let route = route_static(
        &library,
        &labels(&[("alertname", "KubePersistentVolumeFillingUp")]),
    )
    .unwrap();
    assert_eq!(route.runbook, "RB_DISK");
    // The override has no match block, so the built-in alertnames are gone with it.
    assert!(route_static(&library, &labels(&[("alertname", "KubePodOOMKilled")])).is_err());
}

#[test]
fn user_runbooks_take_over_builtin_alertnames_but_may_not_clash_among_themselves() {
    let mine =
        "---\nid: RB_MY_CRASH\ntitle: Mine\nmatch: { alertnames: [KubePodCrashLooping] }\n---\n";
    let library = Library::load(&[("mine.md".into(), mine.into())]).unwrap();
    let route = route_static(&library, &labels(&[("alertname", "KubePodCrashLooping")])).unwrap();
    assert_eq!(route.runbook, "RB_MY_CRASH");

    let theirs = mine.replace("RB_MY_CRASH", "RB_THEIR_CRASH");
    let errors = Library::load(&[
        ("mine.md".into(), mine.into()),
        ("theirs.md".into(), theirs),
    ])
    .unwrap_err();
    assert!(
        errors.iter().any(|e| e.message.contains("claimed by both")),
        "{errors:?}"
    );

    let errors =
        Library::load(&[("a.md".into(), mine.into()), ("b.md".into(), mine.into())]).unwrap_err();
    assert!(
        errors[0].message.contains("also defined in a.md"),
        "{errors:?}"
    );
}

#[test]
fn forbidden_action_names_load_so_the_policy_can_refuse_them_on_the_record() {
    let text =
        "---\nid: RB_EVIL\ntitle: Evil\nsteps:\n  - { id: wipe, tool: delete_namespace }\n---\n";
    let runbook = parse_runbook("evil.md", text).unwrap();
    assert_eq!(runbook.steps[0].kind(), Some(ToolKind::Action));
}

#[test]
fn crashloop_escalates_when_the_policy_refuses_the_restart_and_only_then() {
    let library = library();
    let runbook = &library.get("RB_CRASHLOOP").unwrap().runbook;
    let step = runbook
        .steps
        .iter()
        .find(|step| step.id == "not_restarted")
        .unwrap();
    assert_eq!(step.tool, "escalate");
    for (outcome, escalates) in [
        ("denied", Some(true)),
        ("forbidden", Some(true)),
        ("verified", Some(false)),
        ("pending", Some(false)),
        ("failed", Some(false)),
    ] {
        let mut context = GateContext::new();
        context.bind("restart", json!({"outcome": outcome}));
        let holds = step
            .gates()
            .map(|source| Gate::compile(source).unwrap().evaluate(&context).ok())
            .collect::<Option<Vec<bool>>>()
            .map(|all| all.iter().all(|held| *held));
        assert_eq!(holds, escalates, "restart {outcome}");
    }
    // A restart step that did not run (its gate was false) leaves nothing to read: no escalation.
    let gate = Gate::compile(step.gates().next().unwrap()).unwrap();
    assert!(gate.evaluate(&GateContext::new()).is_err());
}

fn finding(severity: crate::evidence::Severity, reason: &str) -> crate::evidence::Finding {
    crate::evidence::Finding::new(
        "test",
        severity,
        crate::evidence::Category::Unknown,
        format!("the cluster shows {reason}"),
    )
    .reason(reason)
}

#[test]
fn routes_by_evidence_what_no_label_or_name_routes() {
    use crate::evidence::{Scope, Severity::*, Snapshot, assess};
    let library = library();
    // (labels, findings most telling first, runbook, basis)
    let cases: Vec<(Labels, Vec<crate::evidence::Finding>, &str, RouteBasis)> = vec![
        // a community alertname no runbook lists, about an OOM-killed pod
        (
            labels(&[("alertname", "KubernetesPodCrashLooping")]),
            vec![finding(Critical, "OOMKilled")],
            "RB_OOM",
            RouteBasis::Evidence,
        ),
        // a replica-count symptom no runbook handles is passed over for its pods' cause
        (
            labels(&[("alertname", "KubernetesDeploymentReplicasMismatch")]),
            vec![
                finding(Warning, "ReplicasMismatch"),
                finding(Warning, "ImagePullBackOff"),
            ],
            "RB_IMAGEPULL",
            RouteBasis::Evidence,
        ),
        // an informational finding (a container running again) routes nowhere
        (
            labels(&[("alertname", "KubernetesPodCrashLooping")]),
            vec![finding(Info, "CrashLoopBackOff")],
            "RB_UNKNOWN",
            RouteBasis::Fallback,
        ),
        // a mapped alertname stands unless a critical finding contradicts it
        (
            labels(&[("alertname", "KubePodCrashLooping")]),
            vec![finding(Warning, "OOMKilled")],
            "RB_CRASHLOOP",
            RouteBasis::Alertname,
        ),
        (
            labels(&[("alertname", "KubePodCrashLooping")]),
            vec![finding(Critical, "OOMKilled")],
            "RB_OOM",
            RouteBasis::Evidence,
        ),
        // the runbook_id label wins over any finding
        (
            labels(&[
                ("alertname", "KubePodCrashLooping"),
                ("runbook_id", "RB_CRASHLOOP"),
            ]),
            vec![finding(Critical, "OOMKilled")],
            "RB_CRASHLOOP",
            RouteBasis::RunbookIdLabel,
        ),
    ];
    for (labels, findings, runbook, basis) in cases {
        let route = route_with_evidence(&library, &labels, &findings);
        assert_eq!(
            (route.runbook.as_str(), route.basis),
            (runbook, basis),
            "{labels:?}: {route:?}"
        );
    }

    // An alert about the API server names no object: nothing is read, nothing is found, and
    // it is left to an investigation.
    let labels = labels(&[
        ("alertname", "KubernetesApiServerErrors"),
        ("instance", "10.0.0.1:6443"),
        ("job", "apiserver"),
        ("severity", "critical"),
    ]);
    let scope = Scope::of(&labels, &Default::default());
    assert!(scope.is_empty(), "{scope:?}");
    let assessment = assess(&Snapshot::default(), &scope);
    let route = route_with_evidence(&library, &labels, &assessment.findings);
    assert_eq!(
        (route.runbook.as_str(), route.basis),
        ("RB_UNKNOWN", RouteBasis::Fallback)
    );
}

//! The rules of `decide`, one table row each, and their order.

use super::*;

const POD: &str = "Pod/dev-a/web-1";
const DEPLOY: &str = "Deployment/dev-a/web";
const PROD_DEPLOY: &str = "Deployment/prod-a/web";

/// (name, request, outcome word, rule, class)
fn table() -> Vec<(&'static str, Ask, &'static str, &'static str, &'static str)> {
    vec![
        // 1. forbidden
        (
            "forbidden",
            Ask::new("delete_namespace", "Namespace/dev-a"),
            "forbidden",
            "forbidden",
            "default",
        ),
        (
            "forbidden beats auto mode, approval and auto list",
            Ask::new("delete_pvc", "PersistentVolumeClaim/dev-a/data")
                .auto()
                .approved("alice")
                .config(|c| {
                    c.classes
                        .get_mut("dev")
                        .unwrap()
                        .auto
                        .push("delete_pvc".into())
                }),
            "forbidden",
            "forbidden",
            "dev",
        ),
        (
            "forbidden hidden by case and whitespace",
            Ask::new("  DELETE_Namespace\t", "Namespace/dev-a").approved("alice"),
            "forbidden",
            "forbidden",
            "default",
        ),
        (
            "forbidden hidden by dashes",
            Ask::new("delete-secret", "Secret/prod-a/tls"),
            "forbidden",
            "forbidden",
            "prod",
        ),
        (
            "built-in forbidden names stay forbidden when the config leaves them out",
            Ask::new("git_push", "Deployment/dev-a/web")
                .auto()
                .config(|c| c.forbidden.clear()),
            "forbidden",
            "forbidden",
            "dev",
        ),
        (
            "forbidding patch_image forbids its alias",
            Ask::new("fix_imagepullbackoff", DEPLOY)
                .auto()
                .approved("alice")
                .config(|c| c.forbidden.push("patch_image".into())),
            "forbidden",
            "forbidden",
            "dev",
        ),
        (
            "a forbidden known action beats its class lists",
            Ask::new("delete_pod", POD)
                .auto()
                .config(|c| c.forbidden.push("delete_pod".into())),
            "forbidden",
            "forbidden",
            "dev",
        ),
        (
            "forbidden beats always_escalate",
            Ask::new("scale_to_zero", DEPLOY).escalation(&["unknown"]),
            "forbidden",
            "forbidden",
            "dev",
        ),
        // 2. always_escalate
        (
            "escalate beats auto allow",
            Ask::new("delete_pod", POD)
                .auto()
                .escalation(&["oom", "database_error"]),
            "escalate",
            "always_escalate",
            "dev",
        ),
        (
            "escalate beats approval",
            Ask::new("rollout_restart", PROD_DEPLOY)
                .approved("alice")
                .escalation(&["unknown"]),
            "escalate",
            "always_escalate",
            "prod",
        ),
        (
            "escalation class normalised",
            Ask::new("delete_pod", POD)
                .auto()
                .escalation(&[" Certificate_or_mTLS "]),
            "escalate",
            "always_escalate",
            "dev",
        ),
        (
            "escalate beats unknown action",
            Ask::new("frobnicate", POD).escalation(&["multiple_services"]),
            "escalate",
            "always_escalate",
            "dev",
        ),
        (
            "other incident classes do not escalate",
            Ask::new("delete_pod", POD)
                .auto()
                .escalation(&["oom_killed"]),
            "allow",
            "class_auto",
            "dev",
        ),
        // 3. unknown action
        (
            "unknown action",
            Ask::new("frobnicate", POD).auto(),
            "deny",
            "unknown_action",
            "dev",
        ),
        (
            "unknown action even approved",
            Ask::new("delete_deployment", DEPLOY).approved("alice"),
            "deny",
            "unknown_action",
            "dev",
        ),
        (
            "empty action",
            Ask::new("  ", DEPLOY),
            "deny",
            "unknown_action",
            "dev",
        ),
        // 4, 5. classes
        (
            "not in the class lists",
            Ask::new("drain", "Pod/dev-a/x").auto(),
            "deny",
            "not_permitted",
            "dev",
        ),
        (
            "not in the class lists even approved",
            Ask::new("uncordon", "Deployment/prod-a/x").approved("alice"),
            "deny",
            "not_permitted",
            "prod",
        ),
        (
            "an undefined class allows nothing",
            Ask::new("delete_pod", POD).auto().config(|c| {
                c.classes.remove("dev");
            }),
            "deny",
            "not_permitted",
            "dev",
        ),
        // 7, 8, 9
        (
            "auto list in auto mode",
            Ask::new("delete_pod", "Pod/prod-a/web-1").auto(),
            "allow",
            "class_auto",
            "prod",
        ),
        (
            "auto list in recommend mode waits",
            Ask::new("delete_pod", "Pod/prod-a/web-1"),
            "needs_approval",
            "recommend_mode",
            "prod",
        ),
        (
            "auto list in recommend mode, approved",
            Ask::new("delete_pod", "Pod/prod-a/web-1").approved("bob"),
            "allow",
            "approved",
            "prod",
        ),
        (
            "approval list in auto mode waits",
            Ask::new("rollout_restart", PROD_DEPLOY).auto(),
            "needs_approval",
            "class_approval",
            "prod",
        ),
        (
            "approval list, approved",
            Ask::new("increase_memory_limit", PROD_DEPLOY).approved("alice"),
            "allow",
            "approved",
            "prod",
        ),
        (
            "a blank approver is no approval",
            Ask::new("drain", "Pod/prod-a/x").approved("  "),
            "needs_approval",
            "class_approval",
            "prod",
        ),
        (
            "known action in odd spelling is allowed",
            Ask::new(" Rollout-Restart ", DEPLOY).auto(),
            "allow",
            "class_auto",
            "dev",
        ),
        // classing
        (
            "exact namespace",
            Ask::new("delete_pod", "Pod/payments/api-1").auto(),
            "allow",
            "class_auto",
            "prod",
        ),
        (
            "glob is anchored",
            Ask::new("rollout_restart", "Deployment/payments-v2/api").auto(),
            "needs_approval",
            "class_approval",
            "default",
        ),
        (
            "second rule",
            Ask::new("patch_image", "Deployment/tenant-test-7/api").auto(),
            "allow",
            "class_auto",
            "dev",
        ),
        (
            "default class: approval for every known action",
            Ask::new("delete_pod", "Pod/team-x/api-1").auto(),
            "needs_approval",
            "class_approval",
            "default",
        ),
        (
            "default class, approved",
            Ask::new("uncordon", "Deployment/team-x/api").approved("alice"),
            "allow",
            "approved",
            "default",
        ),
        (
            "namespace labels",
            Ask::new("delete_pod", "Pod/research/x")
                .auto()
                .ns_labels(&[("env", "lab"), ("team", "r")]),
            "needs_approval",
            "class_approval",
            "lab",
        ),
        (
            "namespace labels must all match",
            Ask::new("delete_pod", "Pod/research/x")
                .auto()
                .ns_labels(&[("env", "lab2")]),
            "needs_approval",
            "class_approval",
            "default",
        ),
        (
            "labels unreadable: denied, even where a glob would allow it",
            Ask::new("delete_pod", "Pod/dev-a/x")
                .auto()
                .labels_unknown("connection refused"),
            "deny",
            "labels_unknown",
            "unknown",
        ),
        (
            "labels unreadable: forbidden still wins",
            Ask::new("delete_namespace", "Namespace/dev-a").labels_unknown("timeout"),
            "forbidden",
            "forbidden",
            "default",
        ),
        (
            "namespace globs win over labels by order",
            Ask::new("delete_pod", "Pod/dev-a/x")
                .auto()
                .ns_labels(&[("env", "lab")]),
            "allow",
            "class_auto",
            "dev",
        ),
        (
            "premise holds: the class decides as usual",
            Ask::new("delete_pod", "Pod/dev-a/x")
                .auto()
                .premise(true, "pod dev-a/x is in CrashLoopBackOff"),
            "allow",
            "class_auto",
            "dev",
        ),
        (
            "premise fails: denied, even in an auto class",
            Ask::new("delete_pod", "Pod/dev-a/x")
                .auto()
                .premise(false, "pod dev-a/x is healthy: Running and Ready"),
            "deny",
            "premise",
            "dev",
        ),
        (
            "premise fails: a human's approval does not make a healthy pod sick",
            Ask::new("rollout_restart", PROD_DEPLOY)
                .approved("alice")
                .premise(false, "Deployment api is healthy"),
            "deny",
            "premise",
            "prod",
        ),
        (
            "premise fails: said before any limit",
            Ask::new("rollout_restart", DEPLOY)
                .auto()
                .premise(false, "Deployment api is healthy")
                .ran(3, "delete_pod", DEPLOY, 5),
            "deny",
            "premise",
            "dev",
        ),
        (
            "premise fails: a forbidden action is still forbidden",
            Ask::new("drain", "Node/worker-1")
                .config(|c| c.forbidden.push("drain".to_owned()))
                .premise(false, "node worker-1 is Ready"),
            "forbidden",
            "forbidden",
            "infra",
        ),
        (
            "node target by name glob",
            Ask::new("cordon", "Node/worker-1").auto(),
            "needs_approval",
            "class_approval",
            "infra",
        ),
        (
            "node labels are not namespace labels",
            Ask::new("cordon", "Node/worker-1")
                .auto()
                .ns_labels(&[("env", "lab")])
                .config(|c| {
                    c.environments.pop();
                }),
            "needs_approval",
            "class_approval",
            "default",
        ),
        (
            "node by labels",
            Ask::new("cordon", "Node/gpu-1")
                .auto()
                .node_labels(&[("pool", "gpu")])
                .config(|c| {
                    c.environments.insert(
                        0,
                        EnvironmentRule {
                            class: "dev".into(),
                            namespaces: vec![],
                            namespace_labels: BTreeMap::new(),
                            nodes: vec![],
                            node_labels: labels(&[("pool", "gpu")]),
                        },
                    );
                }),
            "allow",
            "class_auto",
            "dev",
        ),
        (
            "node rule needs name and labels when both are given",
            Ask::new("cordon", "Node/cpu-1")
                .auto()
                .node_labels(&[("pool", "gpu")])
                .config(|c| {
                    c.environments.insert(
                        0,
                        EnvironmentRule {
                            class: "dev".into(),
                            namespaces: vec![],
                            namespace_labels: BTreeMap::new(),
                            nodes: vec!["gpu-*".into()],
                            node_labels: labels(&[("pool", "gpu")]),
                        },
                    );
                }),
            "needs_approval",
            "class_approval",
            "infra",
        ),
        (
            "namespace globs do not class nodes",
            Ask::new("cordon", "Node/dev-node").auto().config(|c| {
                c.environments.pop();
            }),
            "needs_approval",
            "class_approval",
            "default",
        ),
        (
            "other cluster-scoped targets fall to default",
            Ask::new("cordon", "PersistentVolume/prod-pv").auto(),
            "needs_approval",
            "class_approval",
            "default",
        ),
        // alias
        (
            "alias allowed by patch_image in the list",
            Ask::new("fix_imagepullbackoff", DEPLOY).auto(),
            "allow",
            "class_auto",
            "dev",
        ),
        (
            "alias governed by prod's approval list",
            Ask::new("fix_imagepullbackoff", PROD_DEPLOY).auto(),
            "needs_approval",
            "class_approval",
            "prod",
        ),
        (
            "listing the alias allows patch_image",
            Ask::new("patch_image", DEPLOY).auto().config(|c| {
                let dev = c.classes.get_mut("dev").unwrap();
                dev.auto.retain(|a| a != "patch_image");
                dev.auto.push("fix_imagepullbackoff".into());
            }),
            "allow",
            "class_auto",
            "dev",
        ),
        // 6. limits
        (
            "per target: under the limit",
            Ask::new("rollout_restart", DEPLOY)
                .auto()
                .ran(2, "patch_image", DEPLOY, 10),
            "allow",
            "class_auto",
            "dev",
        ),
        (
            "per target: at the limit",
            Ask::new("rollout_restart", DEPLOY)
                .auto()
                .ran(2, "patch_image", DEPLOY, 10)
                .ran(1, "delete_pod", DEPLOY, 59),
            "deny",
            "limit_per_target",
            "dev",
        ),
        (
            "per target: only the last hour counts",
            Ask::new("rollout_restart", DEPLOY)
                .auto()
                .ran(2, "patch_image", DEPLOY, 10)
                .ran(1, "delete_pod", DEPLOY, 60),
            "allow",
            "class_auto",
            "dev",
        ),
        (
            "per target: other targets do not count",
            Ask::new("rollout_restart", DEPLOY).auto().ran(
                5,
                "patch_image",
                "Deployment/dev-a/other",
                10,
            ),
            "allow",
            "class_auto",
            "dev",
        ),
        (
            "limits apply to approved requests",
            Ask::new("rollout_restart", PROD_DEPLOY)
                .approved("alice")
                .ran(3, "delete_pod", PROD_DEPLOY, 5),
            "deny",
            "limit_per_target",
            "prod",
        ),
        (
            "limits come before asking for approval",
            Ask::new("rollout_restart", PROD_DEPLOY).ran(3, "delete_pod", PROD_DEPLOY, 5),
            "deny",
            "limit_per_target",
            "prod",
        ),
        (
            "not_permitted comes before limits",
            Ask::new("drain", DEPLOY).ran(3, "delete_pod", DEPLOY, 5),
            "deny",
            "not_permitted",
            "dev",
        ),
        (
            "future-stamped executions count",
            Ask::new("rollout_restart", DEPLOY)
                .auto()
                .ran(3, "delete_pod", DEPLOY, -5),
            "deny",
            "limit_per_target",
            "dev",
        ),
        (
            "global: at the limit",
            Ask::new("delete_pod", POD)
                .auto()
                .ran(20, "delete_pod", "Pod/dev-b/x", 30),
            "deny",
            "limit_global",
            "dev",
        ),
        (
            "global: under the limit",
            Ask::new("delete_pod", POD)
                .auto()
                .ran(19, "delete_pod", "Pod/dev-b/x", 30)
                .ran(10, "delete_pod", "Pod/dev-b/x", 61),
            "allow",
            "class_auto",
            "dev",
        ),
        (
            "per target is checked before global",
            Ask::new("delete_pod", POD)
                .auto()
                .ran(20, "delete_pod", "Pod/dev-b/x", 30)
                .ran(3, "delete_pod", POD, 30),
            "deny",
            "limit_per_target",
            "dev",
        ),
        // breaker
        (
            "breaker: same action, same target, within the window",
            Ask::new("increase_memory_limit", DEPLOY)
                .auto()
                .ran(1, "increase_memory_limit", DEPLOY, 90)
                .ran(1, "increase_memory_limit", DEPLOY, 600)
                .ran(1, "increase_memory_limit", DEPLOY, 1400),
            "escalate",
            "breaker",
            "dev",
        ),
        (
            "breaker: approval does not lift it",
            Ask::new("increase_memory_limit", PROD_DEPLOY)
                .approved("alice")
                .ran(3, "increase_memory_limit", PROD_DEPLOY, 120),
            "escalate",
            "breaker",
            "prod",
        ),
        (
            "breaker: outside the window does not count",
            Ask::new("increase_memory_limit", DEPLOY)
                .auto()
                .ran(2, "increase_memory_limit", DEPLOY, 120)
                .ran(1, "increase_memory_limit", DEPLOY, 24 * 60),
            "allow",
            "class_auto",
            "dev",
        ),
        (
            "breaker: other actions on the target do not count",
            Ask::new("increase_memory_limit", DEPLOY)
                .auto()
                .ran(2, "increase_memory_limit", DEPLOY, 120)
                .ran(5, "rollout_restart", DEPLOY, 120),
            "allow",
            "class_auto",
            "dev",
        ),
        (
            "breaker: the alias counts as patch_image",
            Ask::new("patch_image", DEPLOY)
                .auto()
                .ran(2, "fix_imagepullbackoff", DEPLOY, 120)
                .ran(1, "Patch_Image", DEPLOY, 300),
            "escalate",
            "breaker",
            "dev",
        ),
        (
            "breaker: configurable window",
            Ask::new("delete_pod", POD)
                .auto()
                .ran(3, "delete_pod", POD, 100)
                .config(|c| c.limits.breaker.window = std::time::Duration::from_secs(90 * 60)),
            "allow",
            "class_auto",
            "dev",
        ),
        (
            "per target limit comes before the breaker",
            Ask::new("delete_pod", POD)
                .auto()
                .ran(3, "delete_pod", POD, 10),
            "deny",
            "limit_per_target",
            "dev",
        ),
    ]
}

#[test]
fn every_rule_in_order() {
    let mut failures = Vec::new();
    for (name, ask, outcome, rule, class) in table() {
        let d = ask.decide();
        if (d.outcome.as_str(), d.rule, d.class.as_str()) != (outcome, rule, class) {
            failures.push(format!(
                "{name}: want {outcome}/{rule}/{class}, got {}/{}/{} ({})",
                d.outcome.as_str(),
                d.rule,
                d.class,
                d.reason
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn allowed_requests_carry_a_permit_for_exactly_the_request() {
    let d = Ask::new("delete_pod", "Pod/prod-a/web-1").auto().decide();
    let permit = d.permit().unwrap();
    assert_eq!(permit.request().target, target("Pod/prod-a/web-1"));
    assert_eq!(permit.request().action, "delete_pod");
    assert_eq!(permit.class(), "prod");
    assert_eq!(permit.authority(), &Authority::Auto);

    let d = Ask::new(" Increase_Memory_Limit ", PROD_DEPLOY)
        .approved(" alice ")
        .decide();
    let permit = d.into_permit().unwrap();
    assert_eq!(permit.request().action, "increase_memory_limit");
    assert_eq!(permit.authority(), &Authority::Human("alice".into()));

    let d = Ask::new("fix_imagepullbackoff", DEPLOY).auto().decide();
    assert_eq!(d.permit().unwrap().request().action, "fix_imagepullbackoff");

    assert!(Ask::new("drain", PROD_DEPLOY).decide().permit().is_none());
}

#[test]
fn reasons_name_action_target_class_and_numbers() {
    let reason = |ask: Ask| ask.decide().reason;
    assert_eq!(
        reason(
            Ask::new("increase_memory_limit", DEPLOY)
                .auto()
                .ran(3, "delete_pod", DEPLOY, 5)
        ),
        "increase_memory_limit on Deployment/dev-a/web (class dev): 3 actions on this target in \
         the last hour (limit 3)"
    );
    assert_eq!(
        reason(
            Ask::new("delete_pod", POD)
                .auto()
                .ran(25, "delete_pod", "Pod/dev-b/x", 5)
        ),
        "delete_pod on Pod/dev-a/web-1 (class dev): 25 actions in the last hour across the \
         cluster (limit 20)"
    );
    assert_eq!(
        reason(
            Ask::new("patch_image", DEPLOY)
                .auto()
                .ran(3, "patch_image", DEPLOY, 200)
        ),
        "patch_image on Deployment/dev-a/web (class dev): patch_image already ran 3 times on \
         this target in the last 24h (breaker at 3); a human should look"
    );
    let forbidden = reason(Ask::new(" Delete_Namespace", "Namespace/prod-a"));
    assert!(
        forbidden.starts_with("delete_namespace (asked as \" Delete_Namespace\") on Namespace/prod-a (class default): forbidden"),
        "{forbidden}"
    );
    let escalated = reason(Ask::new("delete_pod", POD).escalation(&["database_error"]));
    assert!(escalated.contains("database_error"), "{escalated}");
    let approved = reason(Ask::new("drain", "Node/n1").approved("alice"));
    assert!(approved.contains("approved by alice"), "{approved}");
    assert!(approved.contains("Node/n1 (class infra)"), "{approved}");
}

#[test]
fn decisions_serialise_with_a_lowercase_outcome_and_the_permit() {
    let allow = serde_json::to_value(
        Ask::new("delete_pod", "Pod/prod-a/web-1")
            .approved("alice")
            .decide(),
    )
    .unwrap();
    assert_eq!(
        allow,
        serde_json::json!({
            "outcome": "allow",
            "permit": {
                "request": {
                    "action": "delete_pod",
                    "target": { "kind": "Pod", "namespace": "prod-a", "name": "web-1" },
                    "args": null,
                },
                "class": "prod",
                "authority": { "by": "human", "name": "alice" },
            },
            "class": "prod",
            "rule": "approved",
            "reason": "delete_pod on Pod/prod-a/web-1 (class prod): approved by alice",
        })
    );
    let wait = serde_json::to_value(Ask::new("drain", PROD_DEPLOY).decide()).unwrap();
    assert_eq!(wait["outcome"], "needs_approval");
    assert!(wait.get("permit").is_none());
    for (ask, word) in [
        (Ask::new("git_push", DEPLOY), "forbidden"),
        (Ask::new("nope", DEPLOY), "deny"),
        (
            Ask::new("delete_pod", POD).escalation(&["unknown"]),
            "escalate",
        ),
    ] {
        assert_eq!(serde_json::to_value(ask.decide()).unwrap()["outcome"], word);
    }
    let auto = serde_json::to_value(Ask::new("delete_pod", POD).auto().decide()).unwrap();
    assert_eq!(
        auto["permit"]["authority"],
        serde_json::json!({ "by": "auto" })
    );
}

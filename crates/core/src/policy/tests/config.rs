//! Parsing, defaults, validation errors (with line and column), classing helpers, globs.

use super::*;
use crate::policy::glob::glob_match;
use std::time::Duration;

fn parse_err(text: &str) -> PolicyError {
    PolicyConfig::from_yaml(text).unwrap_err()
}

/// The error's line, column and display, or a failure naming the error.
fn located(text: &str) -> (usize, usize, String) {
    let error = parse_err(text);
    let location = error
        .location()
        .unwrap_or_else(|| panic!("no location in {error}"));
    (location.line, location.column, error.to_string())
}

#[test]
fn default_is_the_brief_policy() {
    let parsed = PolicyConfig::from_yaml(&default_yaml()).unwrap();
    assert_eq!(parsed, PolicyConfig::default());
    PolicyConfig::default().validate().unwrap();
    // And the parts of the brief that need no extra class, field by field.
    let d = PolicyConfig::default();
    assert_eq!(d.mode, Mode::Recommend);
    assert_eq!(d.limits.per_target_per_hour, 3);
    assert_eq!(d.limits.global_per_hour, 20);
    assert_eq!(d.limits.breaker.same_action_same_target, 3);
    assert_eq!(d.limits.breaker.window, Duration::from_secs(24 * 3600));
    assert_eq!(d.approval_ttl, Duration::from_secs(3600));
    assert_eq!(d.forbidden, FORBIDDEN_ACTIONS);
    assert_eq!(
        d.class_rules("lab").unwrap().into_owned(),
        ClassRules::fallback()
    );
}

#[test]
fn the_brief_verbatim_names_classes_it_does_not_define() {
    // `lab` and `infra` are used by environments but have no `classes` entry.
    let (line, column, text) = located(BRIEF_YAML);
    assert_eq!((line, column), (5, 14), "{text}");
    assert!(text.contains("environments[2].class"), "{text}");
    assert!(text.contains("class lab is not defined"), "{text}");
}

#[test]
fn fields_left_out_take_defaults() {
    assert_eq!(
        PolicyConfig::from_yaml("{}").unwrap(),
        PolicyConfig::default()
    );
    let c = PolicyConfig::from_yaml("mode: auto\nlimits: { global_per_hour: 5 }\n").unwrap();
    assert_eq!(c.mode, Mode::Auto);
    assert_eq!(c.limits.global_per_hour, 5);
    assert_eq!(c.limits.per_target_per_hour, 3);
    assert_eq!(c.limits.breaker, Breaker::default());
    assert_eq!(c.environments, PolicyConfig::default().environments);
}

#[test]
fn durations_are_humantime() {
    let c = PolicyConfig::from_yaml("approval_ttl: 90m\nlimits: { breaker: { window: 1h30m } }\n")
        .unwrap();
    assert_eq!(c.approval_ttl, Duration::from_secs(90 * 60));
    assert_eq!(c.limits.breaker.window, Duration::from_secs(90 * 60));
}

#[test]
fn serialises_back_to_the_same_config() {
    let c = PolicyConfig {
        approval_ttl: Duration::from_secs(90 * 60),
        ..PolicyConfig::default()
    };
    let text = yaml_serde::to_string(&c).unwrap();
    assert!(text.contains("approval_ttl: 90m"), "{text}");
    assert!(text.contains("window: 24h"), "{text}");
    assert_eq!(PolicyConfig::from_yaml(&text).unwrap(), c);
}

#[test]
fn names_in_any_spelling_are_accepted() {
    let c = PolicyConfig::from_yaml(
        "classes:\n  prod: { auto: [Delete-Pod] }\n  dev: {}\n  lab: {}\n  infra: {}\n",
    )
    .unwrap();
    assert!(
        c.class_rules("prod")
            .unwrap()
            .auto
            .contains(&"Delete-Pod".to_owned())
    );
}

/// (name, yaml, line, column, words the message must contain)
#[test]
fn config_errors_say_where_and_what() {
    let classes = "classes:\n  prod: {}\n  dev: {}\n  lab: {}\n  infra: {}\n";
    let cases: Vec<(&str, String, usize, usize, &[&str])> = vec![
        ("yaml syntax", "mode: auto\nforbidden: [git_push\nlimits: {}\n".into(), 3, 7, &["did not find expected ',' or ']', while parsing a flow sequence at line 2 column 12"]),
        ("duplicate field", "mode: auto\nmode: recommend\n".into(), 1, 1, &["duplicate field `mode`"]),
        ("unknown field", "mode: auto\nenvironments:\n  - { class: prod, namespace: [x] }\n".into(), 3, 20, &["unknown field `namespace`"]),
        ("unknown top-level field", "mode: auto\nlimit: {}\n".into(), 2, 1, &["unknown field `limit`"]),
        ("bad mode", "mode: yolo\n".into(), 1, 7, &["unknown variant `yolo`"]),
        ("negative limit", "limits:\n  per_target_per_hour: -1\n".into(), 2, 24, &["per_target_per_hour"]),
        ("bad duration", "approval_ttl: tomorrow\n".into(), 1, 15, &["invalid duration", "tomorrow"]),
        (
            "undefined class",
            format!("{classes}environments:\n  - class: prod\n    namespaces: [a]\n  - class: staging\n    namespaces: [b]\n"),
            9, 12, &["environments[1].class", "staging", "not defined"],
        ),
        (
            "forbidden action in an auto list",
            "classes:\n  prod: {}\n  dev:\n    auto: [delete_pod, delete_pvc]\n  lab: {}\n  infra: {}\n".into(),
            4, 24, &["classes.dev.auto[1]", "delete_pvc", "can never be allowed"],
        ),
        (
            "action forbidden by the config in an approval list",
            "forbidden: [drain]\nclasses:\n  prod:\n    approval:\n      - cordon\n      - drain\n  dev: {}\n  lab: {}\n  infra: {}\n".into(),
            6, 9, &["classes.prod.approval[1]", "drain is forbidden", "can never be allowed"],
        ),
        (
            "alias of a forbidden action",
            "forbidden: [patch_image]\nclasses:\n  prod: {}\n  dev: { approval: [fix_imagepullbackoff] }\n  lab: {}\n  infra: {}\n".into(),
            4, 21, &["fix_imagepullbackoff is forbidden"],
        ),
        (
            "unknown action in a class",
            "classes:\n  prod: { approval: [restart_everything] }\n  dev: {}\n  lab: {}\n  infra: {}\n".into(),
            2, 22, &["classes.prod.approval[0]", "unknown action \"restart_everything\""],
        ),
        ("unknown action in forbidden", "forbidden: [delete_namespace, drian]\n".into(), 1, 31, &["forbidden[1]", "unknown action \"drian\""]),
        (
            "action in both lists",
            "classes:\n  prod: { auto: [patch_image], approval: [fix_imagepullbackoff] }\n  dev: {}\n  lab: {}\n  infra: {}\n".into(),
            2, 43, &["both the auto and the approval list"],
        ),
        ("empty namespace glob", "environments:\n  - { class: prod, namespaces: [\"prod-*\", \"\"] }\n".into(), 2, 43, &["environments[0].namespaces[1]", "empty glob"]),
        ("empty node glob", "environments:\n  - { class: default, nodes: [\" \"] }\n".into(), 2, 31, &["environments[0].nodes[0]", "empty glob"]),
        ("empty known_noise glob", "known_noise:\n  namespaces: [\"\"]\n".into(), 2, 16, &["known_noise.namespaces[0]", "empty glob"]),
        ("rule without selector", "environments:\n  - class: default\n".into(), 2, 5, &["environments[0]", "no selector"]),
        ("zero per-target limit", "limits: { per_target_per_hour: 0 }\n".into(), 1, 32, &["limits.per_target_per_hour", "more than zero"]),
        ("zero global limit", "limits:\n  global_per_hour: 0\n".into(), 2, 20, &["limits.global_per_hour"]),
        ("zero breaker", "limits: { breaker: { same_action_same_target: 0 } }\n".into(), 1, 47, &["limits.breaker.same_action_same_target"]),
        ("zero window", "limits: { breaker: { window: 0s } }\n".into(), 1, 30, &["limits.breaker.window"]),
        ("zero approval ttl", "approval_ttl: 0m\n".into(), 1, 15, &["approval_ttl", "longer than zero"]),
        ("empty escalation class", "always_escalate: [unknown, \"\"]\n".into(), 1, 28, &["always_escalate[1]"]),
    ];
    let mut failures = Vec::new();
    for (name, yaml, line, column, words) in cases {
        let error = match PolicyConfig::from_yaml(&yaml) {
            Ok(_) => {
                failures.push(format!("{name}: accepted"));
                continue;
            }
            Err(error) => error,
        };
        let text = error.to_string();
        let at = error.location().map(|l| (l.line, l.column));
        if at != Some((line, column)) {
            failures.push(format!(
                "{name}: want line {line} column {column}, got {at:?}: {text}"
            ));
        }
        if !text.contains(&format!("line {line}, column {column}")) {
            failures.push(format!("{name}: location not in the message: {text}"));
        }
        for word in words {
            if !text.contains(word) {
                failures.push(format!("{name}: {word:?} not in: {text}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn validate_without_text_gives_the_path() {
    let mut c = PolicyConfig::default();
    c.classes
        .get_mut("prod")
        .unwrap()
        .auto
        .push("git_push".into());
    let error = c.validate().unwrap_err();
    assert_eq!(error.location(), None);
    assert_eq!(
        error,
        PolicyError::Invalid {
            path: "classes.prod.auto[1]".into(),
            location: None,
            message: "git_push is forbidden, and a forbidden action can never be allowed; \
                      remove it from this list"
                .into(),
        }
    );
}

#[test]
fn default_class_can_be_configured() {
    let c = PolicyConfig::from_yaml(
        "environments: [{ class: default, namespaces: [\"*\"] }]\nclasses:\n  default: { auto: [delete_pod] }\n",
    )
    .unwrap();
    assert_eq!(c.class_rules("default").unwrap().auto, ["delete_pod"]);
    assert!(c.class_rules("default").unwrap().approval.is_empty());
    assert_eq!(
        PolicyConfig::default()
            .class_rules("default")
            .unwrap()
            .into_owned(),
        ClassRules::fallback()
    );
    assert!(PolicyConfig::default().class_rules("nope").is_none());
}

#[test]
fn known_noise() {
    let c = PolicyConfig::default();
    assert!(c.is_known_noise("tenant-test-1"));
    assert!(c.is_known_noise("tenant-test-"));
    assert!(!c.is_known_noise("tenant-prod-1"));
    assert!(!c.is_known_noise("prod-a"));
}

#[test]
fn environment_class_helper() {
    let c = PolicyConfig::default();
    let none = BTreeMap::new();
    assert_eq!(
        c.environment_class(&target("Pod/prod-x/a"), &none, &none),
        "prod"
    );
    assert_eq!(
        c.environment_class(&target("Node/n1"), &none, &none),
        "infra"
    );
    assert_eq!(
        c.environment_class(&target("Namespace/prod-x"), &none, &none),
        "default"
    );
    assert_eq!(
        c.environment_class(&target("Pod/x/a"), &labels(&[("env", "lab")]), &none),
        "lab"
    );
}

#[test]
fn approval_ttl() {
    let c = PolicyConfig::default();
    assert!(!c.approval_expired(minutes_ago(59), now()));
    assert!(c.approval_expired(minutes_ago(60), now()));
}

#[test]
fn action_names() {
    assert_eq!(normalize_action("  Delete-Namespace\n"), "delete_namespace");
    assert_eq!(governing_action("fix_imagepullbackoff"), "patch_image");
    assert_eq!(governing_action("patch_image"), "patch_image");
    assert_eq!(governing_action("drain"), "drain");
    assert_eq!(
        governing_action("scale_to_zero"),
        "scale_to_zero",
        "unknown: itself"
    );
    for name in FORBIDDEN_ACTIONS {
        assert!(!KNOWN_ACTIONS.contains(name));
    }
}

#[test]
fn globs() {
    let cases = [
        ("*", "", true),
        ("*", "anything", true),
        ("prod-*", "prod-", true),
        ("prod-*", "prod-a", true),
        ("prod-*", "xprod-a", false),
        ("payments", "payments", true),
        ("payments", "payments-v2", false),
        ("a?c", "abc", true),
        ("a?c", "ac", false),
        ("*-test-*", "tenant-test-3", true),
        ("*-test-*", "tenant-tests", false),
        ("a*b*c", "aXXbYYbZc", true),
        ("a*b*c", "aXXbYYbZ", false),
        ("**", "x", true),
        ("[ab]", "a", false),
        ("[ab]", "[ab]", true),
    ];
    for (pattern, text, want) in cases {
        assert_eq!(glob_match(pattern, text), want, "{pattern} vs {text}");
    }
}

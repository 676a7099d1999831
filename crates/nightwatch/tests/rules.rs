//! The shipped alert rules: promtool accepts them (as shipped and as the lab scales them), every
//! promtool unit test passes, the PrometheusRule manifest is generated from the same source, and
//! the seven alerts carry the runbook ids the router relies on.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn promtool() -> String {
    std::env::var("PROMTOOL").unwrap_or_else(|_| "promtool".to_owned())
}

fn run(command: &mut Command) -> String {
    let output = command.output().unwrap_or_else(|e| {
        panic!("{command:?}: {e} (promtool comes with Debian's prometheus package)")
    });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{command:?} failed:\n{text}");
    text
}

#[test]
fn promtool_accepts_the_rules_and_their_lab_scaled_copy() {
    let rules = repo().join("rules/nightwatch.rules.yml");
    let out = run(Command::new(promtool())
        .args(["check", "rules"])
        .arg(&rules));
    assert!(out.contains("SUCCESS: 7 rules found"), "{out}");

    let scaled = run(Command::new(repo().join("rules/lab-scale")).arg(&rules));
    assert!(
        scaled.contains("for: 5s") && !scaled.contains("for: 15m"),
        "{scaled}"
    );
    assert!(
        scaled.contains("[30s]") && !scaled.contains("[5m]"),
        "{scaled}"
    );
    let dir = tempfile::tempdir().unwrap();
    let scaled_path = dir.path().join("lab.rules.yml");
    std::fs::write(&scaled_path, scaled).unwrap();
    let out = run(Command::new(promtool())
        .args(["check", "rules"])
        .arg(&scaled_path));
    assert!(out.contains("SUCCESS: 7 rules found"), "{out}");
}

#[test]
fn every_promtool_unit_test_passes() {
    let tests: Vec<PathBuf> = std::fs::read_dir(repo().join("rules/tests"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yml"))
        .collect();
    assert!(tests.len() >= 2, "{tests:?}");
    let out = run(Command::new(promtool())
        .args(["test", "rules"])
        .args(&tests));
    assert_eq!(out.matches("SUCCESS").count(), tests.len(), "{out}");
}

#[test]
fn the_prometheusrule_manifest_is_generated_from_the_rule_file() {
    run(Command::new(repo().join("rules/generate")).arg("--check"));
    let manifest: yaml_serde::Value = yaml_serde::from_str(
        &std::fs::read_to_string(repo().join("rules/prometheusrule.yaml")).unwrap(),
    )
    .unwrap();
    let rules: yaml_serde::Value = yaml_serde::from_str(
        &std::fs::read_to_string(repo().join("rules/nightwatch.rules.yml")).unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["kind"], "PrometheusRule");
    assert_eq!(manifest["spec"], rules);
}

#[test]
fn the_seven_alerts_carry_runbook_ids_severity_and_text() {
    let file: yaml_serde::Value = yaml_serde::from_str(
        &std::fs::read_to_string(repo().join("rules/nightwatch.rules.yml")).unwrap(),
    )
    .unwrap();
    let mut alerts: Vec<(String, String)> = Vec::new();
    for group in file["groups"].as_sequence().unwrap() {
        for rule in group["rules"].as_sequence().unwrap() {
            let name = rule["alert"].as_str().unwrap().to_owned();
            for key in ["summary", "description"] {
                assert!(
                    rule["annotations"][key]
                        .as_str()
                        .is_some_and(|s| !s.is_empty()),
                    "{name} lacks {key}"
                );
            }
            let severity = rule["labels"]["severity"].as_str().unwrap();
            assert!(
                ["warning", "critical"].contains(&severity),
                "{name}: {severity}"
            );
            alerts.push((
                name,
                rule["labels"]["runbook_id"].as_str().unwrap().to_owned(),
            ));
        }
    }
    alerts.sort();
    let expected = [
        ("KubeNodeNotReady", "RB_NODE_NOTREADY"),
        ("KubeNodeUnschedulable", "RB_NODE_UNSCHEDULABLE"),
        ("KubePodContainerCreatingStuck", "RB_CONTAINERCREATING"),
        ("KubePodCrashLoopBackOff", "RB_CRASHLOOP"),
        ("KubePodImagePullBackOff", "RB_IMAGEPULL"),
        ("KubePodMemoryNearLimit", "RB_OOM"),
        ("KubePodOOMKilled", "RB_OOM"),
    ]
    .map(|(a, r)| (a.to_owned(), r.to_owned()));
    assert_eq!(alerts, expected);
}

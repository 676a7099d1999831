//! `nightwatch runbooks …` as a user runs it: list, show, validate a directory (good and bad),
//! and route real third-party webhook payloads.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use nightwatch_testkit::third_party_file;
use std::process::{Command, Output};

fn nightwatch(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nightwatch"))
        .args(args)
        .env_remove("NIGHTWATCH_RUNBOOKS")
        .env_remove("NIGHTWATCH_CONFIG")
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn lists_and_shows_the_builtins() {
    let list: serde_json::Value =
        serde_json::from_str(&stdout(&nightwatch(&["runbooks", "list", "--json"]))).unwrap();
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "RB_CONTAINERCREATING",
            "RB_CRASHLOOP",
            "RB_IMAGEPULL",
            "RB_NODE_NOTREADY",
            "RB_NODE_UNSCHEDULABLE",
            "RB_OOM",
            "RB_UNKNOWN"
        ]
    );
    let shown = stdout(&nightwatch(&["runbooks", "show", "RB_OOM"]));
    assert!(shown.contains("increase_memory_limit (action)"), "{shown}");
    assert!(
        shown.contains("when oom.oom_killed && oom.restarts >= 2"),
        "{shown}"
    );
    assert!(
        shown.contains("# Container killed for running out of memory"),
        "{shown}"
    );
    let missing = nightwatch(&["runbooks", "show", "RB_NOPE"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no runbook \"RB_NOPE\""));
}

#[test]
fn validate_accepts_good_runbooks_and_refuses_bad_ones_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("disk.md"),
        "---\nid: RB_DISK\ntitle: Disk filling up\nmatch: { alertnames: [KubePersistentVolumeFillingUp] }\nsteps:\n  - { id: events, tool: get_pod_events }\n---\nLook at the volume.\n",
    )
    .unwrap();
    let good = stdout(&nightwatch(&[
        "runbooks",
        "validate",
        dir.path().to_str().unwrap(),
    ]));
    assert!(good.contains("1 runbook(s)"), "{good}");

    let listed = stdout(&nightwatch(&[
        "--runbooks",
        dir.path().to_str().unwrap(),
        "runbooks",
        "list",
    ]));
    assert!(listed.contains("RB_DISK"), "{listed}");

    std::fs::write(
        dir.path().join("bad.md"),
        "---\nid: RB_BAD\ntitle: Bad\nsteps:\n  - { id: look, tool: check_oom }\n  - id: wipe\n    tool: rm_rf\n    when: look.oom_killed\n---\n",
    )
    .unwrap();
    let bad = nightwatch(&["runbooks", "validate", dir.path().to_str().unwrap()]);
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("bad.md:6: step \"wipe\": unknown tool \"rm_rf\""),
        "{stderr}"
    );
}

#[test]
fn routes_real_payloads_by_label_and_alertname() {
    let route = |file: &str| -> Vec<(String, String)> {
        let path = third_party_file(format!("payloads/{file}"));
        let out = stdout(&nightwatch(&[
            "runbooks",
            "route",
            path.to_str().unwrap(),
            "--json",
        ]));
        serde_json::from_str::<serde_json::Value>(&out)
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .map(|row| {
                (
                    row["alertname"].as_str().unwrap().to_owned(),
                    row["runbook"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    assert_eq!(
        route("am_kubesphere_alert1.json"),
        [("KubePodCrashLooping".into(), "RB_CRASHLOOP".into())]
    );
    assert_eq!(
        route("am_kubesphere_alerts-without-namespace.json"),
        [("KubeletDown".into(), "RB_NODE_NOTREADY".into())]
    );
    // KubePodNotReady says nothing about why: only the live pod state (in `serve`) can tell.
    let not_ready = route("am_kubesphere_alert10.json");
    assert!(!not_ready.is_empty(), "the payload has alerts");
    assert!(
        not_ready
            .iter()
            .all(|(name, runbook)| name == "KubePodNotReady" && runbook == "RB_UNKNOWN"),
        "{not_ready:?}"
    );
    let bad = nightwatch(&[
        "runbooks",
        "route",
        concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"),
    ]);
    assert!(!bad.status.success(), "a non-JSON file is refused");
}

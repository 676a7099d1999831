//! `nightwatch replay` through the real binary: every third-party evaluation case (HolmesGPT,
//! OpenSRE) with the scripted stand-in model, the documented example case without a model, a
//! stored delivery read back from the database, and a path that is no case.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use nightwatch_testkit::{Nightwatch, third_party_file, third_party_fixtures, wait_for};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_nightwatch");

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

fn replay(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(BIN)
        .arg("replay")
        .args(args)
        .env_remove("ANTHROPIC_API_KEY")
        .env_remove("OPENAI_API_KEY")
        .env_remove("OPENAI_BASE_URL")
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn json_report(path: &Path, provider: &str) -> Value {
    let (ok, stdout, stderr) = replay(&[
        path.to_str().unwrap(),
        "--provider",
        provider,
        "--format",
        "json",
    ]);
    assert!(ok, "{}: {stderr}", path.display());
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{}: {e}: {stdout}", path.display()))
}

#[test]
fn every_third_party_case_replays_with_the_scripted_model() {
    let root = third_party_fixtures();
    let mut cases = 0;
    for group in ["holmesgpt/test_investigate", "opensre/eks"] {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(root.join(group))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        paths.sort();
        for path in paths {
            let report = json_report(&path, "scripted");
            let name = path.display().to_string();
            assert_eq!(report["model"], "scripted", "{name}");
            let incidents = report["incidents"].as_array().unwrap();
            assert_eq!(incidents.len(), 1, "{name}: {report}");
            let incident = &incidents[0];
            assert_eq!(incident["analysis_source"], "llm", "{name}: {incident}");
            assert!(
                incident["analysis"]
                    .as_str()
                    .unwrap()
                    .starts_with("## Summary"),
                "{name}"
            );
            let totals = &incident["totals"];
            // The model writes the analysis; it investigates too when no runbook handles the
            // alert (cases the evidence routes to a runbook are not investigated).
            let least = if incident["runbook"] == "RB_UNKNOWN" {
                2
            } else {
                1
            };
            assert!(
                totals["llm_calls"].as_u64().unwrap() >= least,
                "{name}: {totals}"
            );
            assert!(totals["input_tokens"].as_u64().unwrap() > 0, "{name}");
            if incident["runbook"] == "RB_UNKNOWN" {
                // The scripted model calls each offered tool once (every recording and the
                // two runbook-library tools) — unless the analyzers' findings quoted first
                // already name a cause: then it reports from them, as the prompt asks.
                let llm_calls: Vec<&Value> = incident["tool_calls"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|c| c["step"] == "llm:main")
                    .collect();
                let answer = incident["investigation"]["answer"].as_str().unwrap_or("");
                if answer.contains("(the analyzers)") {
                    assert!(llm_calls.is_empty(), "{name}: {incident}");
                } else {
                    assert!(llm_calls.len() >= 2, "{name}: {incident}");
                }
                assert!(incident["investigation"]["answer"].is_string(), "{name}");
                assert!(
                    llm_calls.iter().all(|c| c["error"] == false),
                    "{name}: recorded tools answer: {incident}"
                );
            }
            cases += 1;
        }
    }
    assert_eq!(cases, 15, "8 HolmesGPT + 7 OpenSRE cases");
}

#[test]
fn reading_the_evidence_first_spends_fewer_model_tokens_and_tool_calls() {
    // Every third-party case with the scripted model, with the analyzers and without: the
    // evidence routes some cases to runbooks (no investigation at all) and lets the model
    // report from findings that name a cause.
    let quality = |extra: &[&str]| -> Vec<Value> {
        let out = Command::new(BIN)
            .args([
                "replay",
                "--quality",
                "--provider",
                "scripted",
                "--format",
                "json",
            ])
            .args(extra)
            .arg(third_party_fixtures())
            .env("DATABASE_URL", "sqlite::memory:")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let sum =
        |rows: &[Value], key: &str| -> u64 { rows.iter().map(|r| r[key].as_u64().unwrap()).sum() };
    let with = quality(&[]);
    let without = quality(&["--without-evidence"]);
    assert_eq!(with.len(), without.len());
    assert!(sum(&without, "findings") == 0 && sum(&with, "findings") > 0);
    for key in ["input_tokens", "llm_calls", "tool_calls"] {
        assert!(
            sum(&with, key) < sum(&without, key),
            "{key}: {} with the evidence, {} without",
            sum(&with, key),
            sum(&without, key)
        );
    }
}

#[test]
fn opensre_oom_case_is_routed_by_its_evidence_and_scored() {
    // The alert calls it a crash loop; the recorded pod was OOM-killed.
    let report = json_report(
        &third_party_file("opensre/eks/001-oomkilled-crashloop"),
        "none",
    );
    let incident = &report["incidents"][0];
    assert_eq!(incident["alertname"], "KubernetesPodCrashLooping");
    assert_eq!(incident["runbook"], "RB_OOM", "{incident}");
    assert_eq!(incident["route_basis"], "evidence");
    assert_eq!(incident["category"], "resource_exhaustion");
    let expect = &incident["expectations"];
    assert_eq!(expect["category_right"], true, "{expect}");
    assert_eq!(expect["forbidden_category"], false, "{expect}");
    assert_eq!(
        expect["keywords_missing"].as_array().unwrap().len(),
        0,
        "{expect}"
    );
    assert_eq!(expect["keywords_found"].as_array().unwrap().len(), 3);
    let analysis = incident["analysis"].as_str().unwrap();
    assert!(analysis.contains("OOM-killed"), "{analysis}");
}

#[test]
fn the_quality_table_has_a_row_per_third_party_case_and_totals() {
    let out = Command::new(BIN)
        .args([
            "replay",
            "--quality",
            "--provider",
            "none",
            "--format",
            "json",
        ])
        .arg(third_party_fixtures())
        .env("DATABASE_URL", "sqlite::memory:")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.len(), 15, "8 HolmesGPT + 7 OpenSRE cases");
    for row in &rows {
        assert!(row["tool_calls"].is_u64(), "{row}");
        assert!(row["category"].is_string(), "{row}");
    }
    let judged = rows
        .iter()
        .filter(|r| r["category_expected"].is_string())
        .count();
    assert_eq!(judged, 7, "every OpenSRE case expects a category");
}

#[test]
fn the_documented_example_case_routes_gates_and_proposes_without_a_model() {
    let report = json_report(&repo("docs/examples/replay/oom-case"), "none");
    assert_eq!(report["model"], Value::Null);
    let incident = &report["incidents"][0];
    assert_eq!(incident["runbook"], "RB_OOM", "{incident}");
    assert_eq!(incident["route_basis"], "alertname");
    let steps: Vec<&str> = incident["tool_calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["step"].as_str().unwrap())
        .collect();
    assert_eq!(steps, vec!["events", "oom", "owner"]);
    assert_eq!(incident["analysis_source"], "template");
    assert_eq!(incident["totals"]["llm_calls"], 0);
    let analysis = incident["analysis"].as_str().unwrap();
    assert!(
        analysis.contains("increase_memory_limit"),
        "the gate opened: {analysis}"
    );
    assert!(
        analysis.contains("no cluster access"),
        "and nothing was run: {analysis}"
    );
    assert_eq!(
        incident["expectations"]["keywords_found"],
        json!(["OOMKilled", "increase_memory_limit", "128Mi"])
    );
    assert_eq!(incident["expectations"]["forbidden_present"], json!([]));

    let (ok, markdown, _) = replay(&[
        repo("docs/examples/replay/oom-case").to_str().unwrap(),
        "--provider",
        "none",
    ]);
    assert!(ok);
    // The whole report, read as a reviewer reads it; the opening time is the replay's own.
    expect_test::expect_file!["test_data/replay_oom_case_template.md"]
        .assert_eq(&redact_times(&markdown));
}

/// A case about `shop/api-1`, said to be crash looping by its alert, whose recorded pod is in
/// `state` (a container status as `kubectl get -o yaml` prints it).
fn crash_loop_case(dir: &Path, ready: bool, state: &str) {
    std::fs::create_dir_all(dir.join("tools")).unwrap();
    std::fs::create_dir_all(dir.join("objects")).unwrap();
    let alert = json!({
        "version": "4", "status": "firing", "receiver": "nightwatch",
        "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {},
        "externalURL": "http://alertmanager.example:9093",
        "alerts": [{
            "status": "firing",
            "labels": {"alertname": "KubePodCrashLooping", "namespace": "shop", "pod": "api-1", "container": "app", "severity": "warning"},
            "annotations": {"summary": "Pod shop/api-1 is crash looping"},
            "startsAt": "2026-11-30T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z"
        }]
    });
    std::fs::write(dir.join("alert.json"), alert.to_string()).unwrap();
    std::fs::write(
        dir.join("tools/get_owner_chain.json"),
        json!({"summary": "owned by Deployment api", "data": {"workload": {"kind": "Deployment", "name": "api"}}}).to_string(),
    )
    .unwrap();
    std::fs::write(
        dir.join("tools/check_oom.json"),
        json!({"summary": "not OOM-killed", "data": {"oom_killed": false, "restarts": 2}})
            .to_string(),
    )
    .unwrap();
    std::fs::write(
        dir.join("objects/pod.yaml"),
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: api-1\n  namespace: shop\n  ownerReferences:\n    - {{kind: ReplicaSet, name: api-5f6d, controller: true}}\n\
             spec:\n  containers:\n    - {{name: app, image: registry.example/api:1}}\n\
             status:\n  phase: Running\n  conditions:\n    - {{type: Ready, status: \"{}\"}}\n\
             \x20 containerStatuses:\n    - name: app\n      ready: {ready}\n      restartCount: 2\n      state: {state}\n\
             \x20     lastState:\n        terminated: {{reason: Error, exitCode: 1, finishedAt: \"2026-11-30T09:00:00Z\"}}\n",
            if ready { "True" } else { "False" },
        ),
    )
    .unwrap();
}

#[test]
fn a_restart_is_refused_for_a_pod_that_is_healthy_now_and_proposed_for_one_that_crashes() {
    let root = tempfile::tempdir().unwrap();
    // The alert says crash looping; the pod runs and is ready (the crashes were an hour ago).
    let healthy = root.path().join("healthy");
    crash_loop_case(
        &healthy,
        true,
        "{running: {startedAt: \"2026-11-30T09:00:05Z\"}}",
    );
    let report = json_report(&healthy, "none");
    let incident = &report["incidents"][0];
    assert_eq!(incident["runbook"], "RB_CRASHLOOP", "{incident}");
    assert_eq!(incident["category"], "healthy", "{incident}");
    let analysis = incident["analysis"].as_str().unwrap();
    assert!(
        analysis.contains("rule premise") && analysis.contains("Running and Ready now"),
        "the restart is refused on the evidence: {analysis}"
    );
    assert!(
        !analysis.contains("the policy does not let nightwatch restart"),
        "a refused premise is not a denial to escalate: {analysis}"
    );

    // The same alert while the container really is in CrashLoopBackOff: the restart is proposed.
    let crashing = root.path().join("crashing");
    crash_loop_case(
        &crashing,
        false,
        "{waiting: {reason: CrashLoopBackOff, message: \"back-off 40s restarting failed container=app\"}}",
    );
    let report = json_report(&crashing, "none");
    let incident = &report["incidents"][0];
    assert_eq!(incident["runbook"], "RB_CRASHLOOP", "{incident}");
    let analysis = incident["analysis"].as_str().unwrap();
    assert!(
        analysis.contains("rollout_restart") && analysis.contains("rule class_approval"),
        "the restart waits for a human: {analysis}"
    );
    assert!(!analysis.contains("rule premise"), "{analysis}");
}

#[test]
fn the_documented_example_case_reports_the_same_with_the_scripted_model() {
    let (ok, markdown, stderr) = replay(&[
        repo("docs/examples/replay/oom-case").to_str().unwrap(),
        "--provider",
        "scripted",
    ]);
    assert!(ok, "{stderr}");
    expect_test::expect_file!["test_data/replay_oom_case_scripted.md"]
        .assert_eq(&redact_times(&markdown));
}

/// Every `YYYY-MM-DD HH:MM:SS` written as `<time>`, and the seconds after a `+` or `for ` (how
/// long after the opening, how long open) as `<n>s`: replays stamp incidents with the time they
/// run, and a slow machine takes a second longer.
fn redact_times(text: &str) -> String {
    let mut out = redact_timestamps(text);
    for lead in ["+", "open for "] {
        let mut rest = out.as_str();
        let mut done = String::new();
        while let Some(at) = rest.find(lead) {
            let after = &rest[at + lead.len()..];
            let digits = after.chars().take_while(char::is_ascii_digit).count();
            done.push_str(&rest[..at + lead.len()]);
            if digits > 0 && after[digits..].starts_with('s') {
                done.push_str("<n>");
                rest = &after[digits..];
            } else {
                rest = after;
            }
        }
        done.push_str(rest);
        out = done;
    }
    out
}

fn redact_timestamps(text: &str) -> String {
    let shape = "dddd-dd-dd dd:dd:dd";
    let chars: Vec<char> = text.chars().collect();
    let fits = |at: usize| {
        shape
            .chars()
            .enumerate()
            .all(|(i, want)| match chars.get(at + i) {
                Some(c) if want == 'd' => c.is_ascii_digit(),
                Some(c) => *c == want,
                None => false,
            })
    };
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        if fits(i) {
            out.push_str("<time>");
            i += shape.len();
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

#[test]
fn times_are_redacted_and_nothing_else() {
    assert_eq!(
        redact_times("opened at 2026-12-02 18:19:11 UTC, 12 alerts, open for 3s, +12s: x, +5 y"),
        "opened at <time> UTC, 12 alerts, open for <n>s, +<n>s: x, +5 y"
    );
}

#[test]
fn a_stored_delivery_replays_from_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("nw.db").display());
    let mut nw = Nightwatch::start(BIN, &url, Some("[kubernetes]\nenabled = false\n"));
    let body = std::fs::read(repo("docs/examples/replay/oom-case/alert.json")).unwrap();
    let response = reqwest::blocking::Client::new()
        .post(nw.url("/webhook/alertmanager"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .unwrap();
    assert!(response.status().is_success());
    wait_for("the incident", Duration::from_secs(30), || {
        nw.incidents("").first().cloned()
    });
    assert!(nw.terminate());
    let (ok, stdout, stderr) = replay(&[
        "--database-url",
        &url,
        "delivery:1",
        "--provider",
        "none",
        "--format",
        "json",
    ]);
    assert!(ok, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["case"], "delivery 1");
    assert_eq!(report["format"], "delivery");
    assert_eq!(report["incidents"][0]["alertname"], "KubePodOOMKilled");
    // Nothing recorded: the runbook's reads say so.
    assert_eq!(
        report["incidents"][0]["tool_calls"][0]["error"], true,
        "{report}"
    );

    let (ok, _, stderr) = replay(&["--database-url", &url, "delivery:42"]);
    assert!(!ok);
    assert!(stderr.contains("no delivery 42"), "{stderr}");
}

#[test]
fn a_path_that_is_no_case_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, stderr) = replay(&[dir.path().to_str().unwrap()]);
    assert!(!ok);
    assert!(
        stderr.contains("not a webhook body file nor a case folder"),
        "{stderr}"
    );
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"alerts\": 3}").unwrap();
    let (ok, _, stderr) = replay(&[bad.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        stderr.contains("alerts"),
        "the parser names the field: {stderr}"
    );
}

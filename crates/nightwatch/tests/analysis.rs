//! Every incident gets an analysis, end to end through the real binary with no cluster
//! configured, on SQLite and on Postgres: a real Alertmanager payload opens an incident, the
//! responder runs its runbook (every read fails: no cluster) and then writes the analysis —
//! seven sections in order, citing the timeline, saying what could not be read. When the same
//! alert fired, resolved and fired again, the new incident's history counts the old one.
//! Regenerating writes a fresh analysis event.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// Tests against a real server and lab: the wall clock and real elapsed time are the point.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use nightwatch_testkit::{Nightwatch, both_backends_blocking, wait_for};
use reqwest::StatusCode;
use reqwest::blocking::Client;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_nightwatch");
const WAIT: Duration = Duration::from_secs(60);
const SECTIONS: [&str; 7] = [
    "Summary",
    "What happened",
    "Root cause hypothesis",
    "Action",
    "Why",
    "Historical pattern & SRE recommendation",
    "Follow-ups",
];

/// Alertmanager's webhook body for the crash-looping pod `shop/api-1`.
fn crash_loop(starts_at: DateTime<Utc>, ends_at: Option<DateTime<Utc>>) -> Value {
    let status = if ends_at.is_some() {
        "resolved"
    } else {
        "firing"
    };
    let labels = json!({
        "alertname": "KubePodCrashLooping", "namespace": "shop", "pod": "api-1",
        "container": "app", "severity": "critical",
    });
    json!({
        "version": "4", "groupKey": "{}:{alertname=\"KubePodCrashLooping\"}", "truncatedAlerts": 0,
        "status": status, "receiver": "nightwatch", "groupLabels": {"alertname": "KubePodCrashLooping"},
        "commonLabels": labels, "commonAnnotations": {}, "externalURL": "http://alertmanager.example:9093",
        "alerts": [{
            "status": status, "labels": labels,
            "annotations": {"summary": "Pod shop/api-1 is crash looping"},
            "startsAt": starts_at.to_rfc3339(),
            "endsAt": ends_at.map(|t| t.to_rfc3339()).unwrap_or_else(|| "0001-01-01T00:00:00Z".to_owned()),
            "generatorURL": "http://prometheus.example:9090/graph",
            "fingerprint": "a1b2c3d4e5f60718",
        }],
    })
}

fn post(client: &Client, nw: &Nightwatch, path: &str, body: &Value) -> (StatusCode, Value) {
    let response = client.post(nw.url(path)).json(body).send().unwrap();
    let status = response.status();
    (status, response.json().unwrap_or(Value::Null))
}

fn incident_ids(nw: &Nightwatch) -> Vec<i64> {
    let mut ids: Vec<i64> = nw
        .incidents("alertname=KubePodCrashLooping")
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    ids.sort_unstable();
    ids
}

/// Waits for the incident's analysis (written once its runbook finished); returns the detail.
fn analysed(nw: &Nightwatch, id: i64) -> Value {
    wait_for(&format!("incident {id}'s analysis"), WAIT, || {
        let detail = nw.incident(id);
        (!detail["analysis"].is_null()).then_some(detail)
    })
}

fn titles(analysis: &Value) -> Vec<String> {
    analysis["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["title"].as_str().unwrap().to_owned())
        .collect()
}

fn body<'a>(analysis: &'a Value, title: &str) -> &'a str {
    analysis["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["title"] == title)
        .unwrap()["body"]
        .as_str()
        .unwrap()
}

#[test]
fn every_incident_gets_an_analysis_on_both_backends() {
    let client = Client::new();
    for (name, url, _guard) in both_backends_blocking("analysis") {
        let nw = Nightwatch::start(BIN, &url, None);
        let t0 = Utc::now() - ChronoDuration::hours(2);

        let (status, _) = post(&client, &nw, "/webhook/alertmanager", &crash_loop(t0, None));
        assert!(status.is_success(), "{name}: {status}");
        let first = wait_for("the first incident", WAIT, || {
            incident_ids(&nw).first().copied()
        });
        let detail = analysed(&nw, first);
        let analysis = &detail["analysis"];
        assert_eq!(titles(analysis), SECTIONS, "{name}: {analysis}");
        assert_eq!(analysis["source"], "template", "{name}");
        let markdown = analysis["markdown"].as_str().unwrap();
        assert!(markdown.starts_with("## Summary\n"), "{name}: {markdown}");
        assert_eq!(markdown.matches("\n## ").count(), 6, "{name}: {markdown}");
        assert!(body(analysis, "Summary").contains("KubePodCrashLooping"));
        // No cluster: the runbook's reads failed, and the analysis says so instead of guessing.
        assert!(
            markdown.contains("no cluster access"),
            "{name}: what could not be read is named: {markdown}"
        );
        assert!(
            body(analysis, "Root cause hypothesis").starts_with("Unknown"),
            "{name}: {analysis}"
        );
        assert!(
            body(analysis, "Historical pattern & SRE recommendation")
                .contains("No related past incidents."),
            "{name}: {analysis}"
        );
        // The analysis is an event after the runbook's `final`, and cites only real events.
        let events = detail["events"].as_array().unwrap();
        let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
        let final_at = kinds.iter().position(|k| *k == "final").unwrap();
        let analysis_at = kinds.iter().position(|k| *k == "analysis").unwrap();
        assert!(final_at < analysis_at, "{name}: {kinds:?}");
        assert_eq!(
            events[analysis_at]["id"], analysis["event_id"],
            "{name}: the API's analysis is the event"
        );
        let ids: BTreeSet<i64> = events.iter().map(|e| e["id"].as_i64().unwrap()).collect();
        let cited: Vec<i64> = analysis["citations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["event_id"].as_i64().unwrap())
            .collect();
        assert!(!cited.is_empty(), "{name}: {analysis}");
        assert!(cited.iter().all(|id| ids.contains(id)), "{name}: {cited:?}");

        // The alert resolves and fires again: a new incident, whose history counts the first.
        let (status, _) = post(
            &client,
            &nw,
            "/webhook/alertmanager",
            &crash_loop(t0, Some(t0 + ChronoDuration::minutes(10))),
        );
        assert!(status.is_success());
        wait_for("the first incident resolved", WAIT, || {
            (nw.incident(first)["incident"]["state"] == "resolved").then_some(())
        });
        let t1 = t0 + ChronoDuration::hours(1);
        let (status, _) = post(&client, &nw, "/webhook/alertmanager", &crash_loop(t1, None));
        assert!(status.is_success());
        let second = wait_for("the second incident", WAIT, || {
            incident_ids(&nw).get(1).copied()
        });
        let detail = analysed(&nw, second);
        let analysis = &detail["analysis"];
        assert_eq!(titles(analysis), SECTIONS, "{name}");
        let history = body(analysis, "Historical pattern & SRE recommendation");
        assert!(
            history.contains("1 related past incident (1 same alertname, 1 same pod, 0 same node)"),
            "{name}: {history}"
        );
        assert!(history.contains("**Recommendation:**"), "{name}: {history}");

        // Regenerate: a new analysis event, now the one the API shows.
        let before = analysis["event_id"].as_i64().unwrap();
        let (status, fresh) = post(
            &client,
            &nw,
            &format!("/api/incidents/{second}/regenerate-analysis"),
            &json!({}),
        );
        assert_eq!(status, StatusCode::OK, "{name}: {fresh}");
        let after = fresh["event_id"].as_i64().unwrap();
        assert!(after > before, "{name}: {before} → {after}");
        assert_eq!(titles(&fresh), SECTIONS);
        let detail = nw.incident(second);
        assert_eq!(detail["analysis"]["event_id"], after, "{name}");
        let analyses = detail["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "analysis")
            .count();
        assert_eq!(
            analyses, 2,
            "{name}: the old analysis stays in the timeline"
        );

        // An unknown incident: 404 with a message.
        let (status, error) = post(
            &client,
            &nw,
            "/api/incidents/999999/regenerate-analysis",
            &json!({}),
        );
        assert_eq!(status, StatusCode::NOT_FOUND, "{name}");
        assert_eq!(error["error"], "incident 999999 not found");
        let response = client.get(nw.url("/api/incidents/999999")).send().unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
}

//! Prometheus and Alertmanager clients (and their tools) against the real ones of the lab:
//! queries of the simulator's series, PromQL errors as Prometheus words them, the rules' alert
//! for a cordoned node in both Prometheus and Alertmanager, and a silence created, seen
//! silencing that alert, and expired. One lab for the whole file (a start costs ~15 s).
// Tests against a real server and lab: the wall clock and real elapsed time are the point.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{Duration, Utc};
use nightwatch_core::clock::SystemClock;
use nightwatch_sources::alertmanager::{AlertFilter, Matcher, NewSilence};
use nightwatch_sources::prometheus::{QueryData, RuleKind};
use nightwatch_sources::{
    AlertmanagerClient, PrometheusClient, SilenceWriter, SourceConfig, SourceError, Sources,
    SourcesConfig,
};
use nightwatch_testkit::{Lab, LabOptions};
use serde_json::json;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

const NODE: &str = "lab-node-2";
const ALERT: &str = "KubeNodeUnschedulable";

/// Polls `probe` (async) until it yields Some, or panics after `secs` with the lab's diagnostics.
fn wait<T, F: Future<Output = Option<T>>>(
    lab: &Lab,
    runtime: &tokio::runtime::Runtime,
    what: &str,
    secs: u64,
    mut probe: impl FnMut() -> F,
) -> T {
    let deadline = Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(value) = runtime.block_on(probe()) {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}\n{}",
            lab.diagnostics()
        );
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
}

#[test]
fn prometheus_and_alertmanager_in_the_lab() {
    let lab = Lab::start(LabOptions {
        nodes: 2,
        ..LabOptions::default()
    });
    // Lab's helpers are blocking (reqwest::blocking); the clients under test are async. They
    // meet here: the lab is driven outside `block_on`, the clients inside.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let prometheus_config = SourceConfig::new(lab.var("LAB_PROMETHEUS_URL"));
    let alertmanager_config = SourceConfig::new(lab.var("LAB_ALERTMANAGER_URL"));
    let prometheus = PrometheusClient::new(&prometheus_config).unwrap();
    let alertmanager = AlertmanagerClient::new(&alertmanager_config).unwrap();
    let writer = SilenceWriter::new(&alertmanager_config).unwrap();
    // The probes' futures hold these references (copied into each `async move`).
    let (prom, am) = (&prometheus, &alertmanager);

    // --- instant query: the simulator's scrape target is up
    let up = wait(
        &lab,
        &runtime,
        "`up` == 1 for the simulator",
        60,
        || async move {
            match prom.query("up", None).await.unwrap().data {
                QueryData::Vector(samples)
                    if samples
                        .iter()
                        .any(|s| s.value.as_ref().is_some_and(|v| v.value() == "1")) =>
                {
                    Some(samples)
                }
                _ => None,
            }
        },
    );
    assert_eq!(up[0].metric["job"], "kube-state-metrics");

    // --- range query: a matrix with a point per step (once Prometheus has scraped a few times)
    let series = wait(
        &lab,
        &runtime,
        "a matrix of several points",
        30,
        || async move {
            let end = Utc::now();
            let range = prom
                .query_range(
                    "up",
                    end - Duration::seconds(20),
                    end,
                    std::time::Duration::from_secs(2),
                )
                .await
                .unwrap();
            match range.data {
                QueryData::Matrix(series)
                    if series.first().is_some_and(|s| s.values.len() >= 3) =>
                {
                    Some(series)
                }
                QueryData::Matrix(_) => None,
                other => panic!("a range query answered {other:?}"),
            }
        },
    );
    assert!(
        series[0]
            .values
            .windows(2)
            .all(|w| (w[1].time() - w[0].time() - 2.0).abs() < 1e-6),
        "{series:?}"
    );
    let scalar = runtime
        .block_on(prometheus.query("scalar(count(up))", None))
        .unwrap();
    assert_eq!(scalar.data.result_type(), "scalar");

    // --- bad PromQL: Prometheus' errorType and message, with the path
    let err = runtime
        .block_on(prometheus.query("sum(rate(up[5m]", None))
        .unwrap_err();
    assert!(
        matches!(err, SourceError::Server { status: 400, .. }),
        "{err}"
    );
    assert_eq!(err.error_type(), Some("bad_data"));
    let text = err.to_string();
    assert!(
        text.starts_with("Prometheus /api/v1/query: HTTP 400 bad_data: "),
        "{text}"
    );
    assert!(text.contains("parse error"), "{text}");

    // --- rules: ours are loaded
    let groups = runtime
        .block_on(prometheus.rules(Some(RuleKind::Alerting)))
        .unwrap();
    let rule = groups
        .iter()
        .flat_map(|g| &g.rules)
        .find(|r| r.name == ALERT)
        .expect("the shipped rules are loaded");
    assert_eq!(rule.kind, "alerting");
    assert!(rule.query.contains("kube_node_spec_unschedulable"));

    // --- a fault: cordon a node; the rule fires in Prometheus and reaches Alertmanager
    lab.cordon(NODE, true);
    wait(
        &lab,
        &runtime,
        "KubeNodeUnschedulable firing in Prometheus",
        90,
        || async move {
            let alerts = prom.alerts().await.unwrap();
            alerts.into_iter().find(|a| {
                a.labels.get("alertname").map(String::as_str) == Some(ALERT) && a.state == "firing"
            })
        },
    );
    let filter = AlertFilter {
        matchers: vec![format!("alertname=\"{ALERT}\""), format!("node=\"{NODE}\"")],
        ..Default::default()
    };
    let filter = &filter;
    let in_alertmanager = wait(
        &lab,
        &runtime,
        "the alert in Alertmanager",
        60,
        || async move { am.alerts(filter).await.unwrap().into_iter().next() },
    );
    assert_eq!(in_alertmanager.status.state, "active");
    assert!(in_alertmanager.status.silenced_by.is_empty());

    // --- a silence created by the writer silences it; expiring it ends that
    let now = Utc::now();
    let id = runtime
        .block_on(writer.create_silence(&NewSilence {
            matchers: vec![
                Matcher::equal("alertname", ALERT),
                Matcher::equal("node", NODE),
            ],
            starts_at: now,
            ends_at: now + Duration::hours(1),
            created_by: "nightwatch-sources test".into(),
            comment: "lab test: planned cordon".into(),
        }))
        .unwrap();
    let silences = runtime
        .block_on(alertmanager.silences(&[format!("alertname=\"{ALERT}\"")]))
        .unwrap();
    let silence = silences
        .iter()
        .find(|s| s.id == id)
        .expect("the new silence is listed");
    assert_eq!(silence.status.state, "active");
    assert_eq!(silence.created_by, "nightwatch-sources test");
    let suppressed = wait(&lab, &runtime, "the alert silenced", 30, || async move {
        am.alerts(filter)
            .await
            .unwrap()
            .into_iter()
            .find(|a| a.status.state == "suppressed")
    });
    assert_eq!(suppressed.status.silenced_by, std::slice::from_ref(&id));
    let hidden = AlertFilter {
        silenced: Some(false),
        ..filter.clone()
    };
    assert!(
        runtime
            .block_on(alertmanager.alerts(&hidden))
            .unwrap()
            .is_empty(),
        "silenced=false hides it"
    );

    // The tools see the same, read-only.
    let sources = Sources::from_config(
        &SourcesConfig {
            prometheus: Some(prometheus_config.clone()),
            alertmanager: Some(alertmanager_config.clone()),
            ..Default::default()
        },
        Arc::new(SystemClock),
    )
    .unwrap();
    let out = runtime
        .block_on(sources.call(
            "alertmanager_silences",
            json!({"filter": [format!("alertname=\"{ALERT}\"")]}),
        ))
        .unwrap();
    assert_eq!(out.data["silences"][0]["id"], id.as_str());
    assert_eq!(
        out.data["silences"][0]["matchers"],
        json!([format!("alertname=\"{ALERT}\""), format!("node=\"{NODE}\"")])
    );
    let out = runtime
        .block_on(sources.call(
            "alertmanager_alerts",
            json!({"filter": [format!("alertname=\"{ALERT}\"")]}),
        ))
        .unwrap();
    assert_eq!(out.data["alerts"][0]["silenced_by"], json!([id.clone()]));
    assert!(
        out.summary.contains(&format!("1× {ALERT}")),
        "{}",
        out.summary
    );
    let out = runtime
        .block_on(sources.call("prometheus_alerts", json!({"state": "firing"})))
        .unwrap();
    assert!(out.summary.contains(ALERT), "{}", out.summary);
    let out = runtime
        .block_on(sources.call(
            "prometheus_query",
            json!({"query": "kube_node_spec_unschedulable == 1"}),
        ))
        .unwrap();
    assert_eq!(out.data["total"], 1, "{}", out.data);
    assert_eq!(out.data["series"][0]["metric"]["node"], NODE);
    let out = runtime
        .block_on(sources.call(
            "prometheus_query_range",
            json!({"query": "up", "since": "30s", "step": "5s"}),
        ))
        .unwrap();
    assert_eq!(out.data["resultType"], "matrix");
    let out = runtime
        .block_on(sources.call("prometheus_rules", json!({"name": "KubeNode"})))
        .unwrap();
    assert_eq!(out.data["total"], 2, "{}", out.data);
    let err = runtime
        .block_on(sources.call("prometheus_query", json!({"query": "up{"})))
        .unwrap_err();
    assert_eq!(err.error_type(), Some("bad_data"));

    runtime.block_on(writer.expire_silence(&id)).unwrap();
    let expired = runtime.block_on(alertmanager.silence(&id)).unwrap();
    assert_eq!(expired.status.state, "expired");
    wait(
        &lab,
        &runtime,
        "the alert active again",
        30,
        || async move {
            am.alerts(filter)
                .await
                .unwrap()
                .into_iter()
                .find(|a| a.status.state == "active")
        },
    );
    let out = runtime
        .block_on(sources.call("alertmanager_silences", json!({})))
        .unwrap();
    assert_eq!(out.data["total"], 0);
    assert_eq!(out.data["expired_not_listed"], 1);
    let err = runtime
        .block_on(writer.expire_silence("00000000-0000-0000-0000-000000000000"))
        .unwrap_err();
    // Alertmanager answers 500 or (newer) 404 here; either way its message comes through.
    assert!(
        matches!(
            err,
            SourceError::Server {
                status: 404 | 500,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().ends_with(": silence not found"), "{err}");
}

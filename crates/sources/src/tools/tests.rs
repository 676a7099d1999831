use super::*;
use crate::config::SourceConfig;
use crate::loki::{LogEntry, LogStream};
use crate::prometheus::{Point, Sample};
use nightwatch_core::clock::ManualClock;
use serde_json::json;

fn clock() -> Arc<dyn Clock> {
    Arc::new(ManualClock::new(
        chrono::TimeZone::with_ymd_and_hms(&Utc, 2024, 5, 1, 12, 0, 0).unwrap(),
    ))
}

#[test]
fn definitions_are_unique_closed_objects() {
    let defs = definitions();
    assert_eq!(defs.len(), 10);
    let mut names: Vec<&str> = defs.iter().map(|d| d.name).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), defs.len());
    for d in &defs {
        let schema = &d.input_schema;
        assert_eq!(schema["type"], "object", "{}", d.name);
        assert_eq!(schema["additionalProperties"], false, "{}", d.name);
        for required in schema["required"].as_array().unwrap() {
            assert!(
                schema["properties"]
                    .get(required.as_str().unwrap())
                    .is_some(),
                "{}",
                d.name
            );
        }
        assert!(
            d.name.starts_with(d.service.key()),
            "{} belongs to {}",
            d.name,
            d.service
        );
    }
}

#[tokio::test]
async fn only_configured_sources_are_offered_and_others_fail_clearly() {
    let none = Sources::new(clock());
    assert!(none.definitions().is_empty());
    let err = none
        .call("loki_query", json!({"query": "{app=\"x\"}"}))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Loki is not configured (no `sources.loki` section)"
    );
    assert!(matches!(
        none.call("kubectl_delete", json!({})).await,
        Err(SourceError::UnknownTool(_))
    ));

    let config = SourcesConfig {
        prometheus: Some(SourceConfig::new("http://127.0.0.1:1")),
        ..SourcesConfig::default()
    };
    let some = Sources::from_config(&config, clock()).unwrap();
    let offered: Vec<&str> = some.definitions().iter().map(|d| d.name).collect();
    assert_eq!(
        offered,
        [
            "prometheus_query",
            "prometheus_query_range",
            "prometheus_alerts",
            "prometheus_rules"
        ]
    );
}

#[tokio::test]
async fn arguments_are_checked_before_any_request() {
    // Port 1 refuses connections: reaching it would be a Transport error, not these.
    let config = SourcesConfig {
        prometheus: Some(SourceConfig::new("http://127.0.0.1:1")),
        ..SourcesConfig::default()
    };
    let sources = Sources::from_config(&config, clock()).unwrap();
    let cases = [
        (
            "prometheus_query",
            json!({"qurey": "up"}),
            "unknown field `qurey`",
        ),
        ("prometheus_query", json!({}), "missing field `query`"),
        (
            "prometheus_query",
            json!({"query": ""}),
            "empty PromQL query",
        ),
        (
            "prometheus_query_range",
            json!({"query": "up", "since": "1h", "start": "now-2h"}),
            "not both",
        ),
        (
            "prometheus_query_range",
            json!({"query": "up", "since": "30d", "step": "1s"}),
            "use a larger step",
        ),
        (
            "prometheus_query_range",
            json!({"query": "up", "step": "soon"}),
            "not a duration",
        ),
        (
            "prometheus_alerts",
            json!({"state": "burning"}),
            "expected pending or firing",
        ),
    ];
    for (tool, args, expected) in cases {
        let err = sources
            .call(tool, args.clone())
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains(expected), "{tool} {args}: {err}");
    }
    let err = sources
        .call("prometheus_query", json!({"query": "up"}))
        .await
        .unwrap_err();
    assert!(matches!(err, SourceError::Transport { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("Prometheus /api/v1/query: request failed: "),
        "{err}"
    );
}

#[test]
fn vectors_are_capped_and_say_so() {
    let samples: Vec<Sample> = (0..120)
        .map(|i| Sample {
            metric: [("pod".to_string(), format!("web-{i}"))].into(),
            value: Some(Point(1.0, i.to_string())),
            histogram: None,
        })
        .collect();
    let limits = OutputLimits {
        max_series: 50,
        ..OutputLimits::default()
    };
    let out = metrics::vector(&samples, &limits, "up");
    assert_eq!(out.data["total"], 120);
    assert_eq!(out.data["shown"], 50);
    assert_eq!(out.data["omitted"], 70);
    assert_eq!(out.data["series"].as_array().unwrap().len(), 50);
    assert!(
        out.summary
            .contains("(showing 50; 70 more series left out)"),
        "{}",
        out.summary
    );
}

#[test]
fn log_lines_are_capped_newest_first_and_shortened() {
    let stream = |app: &str, times: std::ops::Range<i64>| LogStream {
        stream: [("app".to_string(), app.to_string())].into(),
        values: times
            .map(|t| LogEntry {
                timestamp_ns: t * 1_000_000_000,
                line: format!("{app} line {t} {}", "x".repeat(50)),
                metadata: None,
            })
            .collect(),
    };
    let streams = vec![stream("web", 0..100), stream("db", 50..150)];
    let limits = OutputLimits {
        max_lines: 10,
        max_chars: 20,
        ..OutputLimits::default()
    };
    let out = logs_output(&streams, &limits);
    assert_eq!(out.data["total"], 200);
    assert_eq!(out.data["shown"], 10);
    assert_eq!(out.data["omitted"], 190);
    // The newest ten are all db lines 140..149.
    let kept = out.data["streams"].as_array().unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0]["labels"]["app"], "db");
    let first = kept[0]["lines"][0]["line"].as_str().unwrap();
    assert!(first.starts_with("db line 149"), "{first}");
    assert_eq!(first.chars().count(), 21, "20 characters and an ellipsis");
    assert!(
        out.summary.contains("190 more lines left out"),
        "{}",
        out.summary
    );
    assert!(
        out.summary.contains("the limit of 200 was reached"),
        "{}",
        out.summary
    );
}

fn logs_output(streams: &[LogStream], limits: &OutputLimits) -> ToolOutput {
    logs::streams_output_for_tests(streams, limits, "{app=~\".+\"}", 200)
}

use super::*;
use crate::config::SourceConfig;
use crate::loki::{LogEntry, LogStream};
use crate::prometheus::{Point, Sample};
use nightwatch_core::clock::ManualClock;
use serde_json::{Value, json};

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

fn now() -> DateTime<Utc> {
    chrono::TimeZone::with_ymd_and_hms(&Utc, 2024, 5, 1, 12, 0, 0).unwrap()
}

/// A good argument set for each tool, using every form its arguments take.
fn good(tool: &str) -> Value {
    match tool {
        "prometheus_query" => json!({"query": "up{job=\"api\"}", "time": "now-5m"}),
        "prometheus_query_range" => {
            json!({"query": "rate(http_requests_total[5m])", "since": "2h", "step": "1m"})
        }
        "prometheus_alerts" => json!({"state": "firing", "alertname": "KubePodCrashLooping"}),
        "prometheus_rules" => json!({"type": "alerting", "name": "Kube"}),
        "alertmanager_alerts" => json!({
            "filter": ["alertname=\"X\"", "namespace=~\"prod-.*\""],
            "active": true, "silenced": false, "inhibited": null, "receiver": "team-.*"
        }),
        "alertmanager_silences" => {
            json!({"filter": ["severity!=\"info\""], "include_expired": true})
        }
        "loki_query" => json!({
            "query": "{app=\"web\"} |= \"error\"", "limit": 5000, "direction": "forward",
            "start": 1714560000, "end": "2024-05-01T12:00:00Z"
        }),
        "victorialogs_query" => json!({"query": "*", "limit": 1, "since": 3600}),
        "grafana_dashboards" => json!({"query": "", "tags": ["prod"], "limit": 1000}),
        "grafana_annotations" => json!({
            "tags": ["deploy"], "dashboard_uid": "abc", "limit": 1,
            "start": "now-1d", "end": "1714564800.5"
        }),
        other => panic!("no good arguments for {other}"),
    }
}

/// `good(tool)` with `field` set to `value`.
fn with(tool: &str, field: &str, value: Value) -> Value {
    let mut args = good(tool);
    args[field] = value;
    args
}

#[test]
fn every_tool_takes_its_good_arguments() {
    for tool in definitions() {
        check_arguments(tool.name, good(tool.name), now())
            .unwrap_or_else(|e| panic!("{}: {e}", tool.name));
    }
    // Required arguments only, and `null` for the rest.
    for (tool, args) in [
        ("prometheus_query", json!({"query": "up", "time": null})),
        ("prometheus_query_range", json!({"query": "up"})),
        ("alertmanager_alerts", json!({"filter": null})),
        ("alertmanager_silences", Value::Null),
        ("grafana_dashboards", json!({})),
        ("grafana_annotations", json!({"tags": null, "limit": null})),
    ] {
        check_arguments(tool, args.clone(), now()).unwrap_or_else(|e| panic!("{tool} {args}: {e}"));
    }
    assert!(matches!(
        check_arguments("kubectl_delete", json!({}), now()),
        Err(SourceError::UnknownTool(name)) if name == "kubectl_delete"
    ));
}

#[test]
fn arguments_resolve_to_the_request_sent() {
    let range = metrics::range_query(good("prometheus_query_range"), now()).unwrap();
    assert_eq!(range.start.to_rfc3339(), "2024-05-01T10:00:00+00:00");
    assert_eq!(range.end, now());
    assert_eq!(range.step, std::time::Duration::from_secs(60));
    // Without a step: about 60 points over the window.
    let range = metrics::range_query(json!({"query": "up", "since": "1h"}), now()).unwrap();
    assert_eq!(range.step, std::time::Duration::from_secs(60));

    let loki = logs::loki_request(good("loki_query"), now()).unwrap();
    assert_eq!(loki.start.to_rfc3339(), "2024-05-01T10:40:00+00:00");
    assert_eq!((loki.limit, loki.direction.as_str()), (5000, "forward"));

    let annotations = grafana::annotations_request(good("grafana_annotations"), now()).unwrap();
    assert_eq!(annotations.from.to_rfc3339(), "2024-04-30T12:00:00+00:00");
    assert_eq!(annotations.to.to_rfc3339(), "2024-05-01T12:00:00.500+00:00");
    let defaults = grafana::annotations_request(json!({}), now()).unwrap();
    assert_eq!((defaults.to - defaults.from).num_hours(), 6);
    assert_eq!(defaults.limit, 100);

    let filter = alerts::alertmanager_alerts_request(good("alertmanager_alerts")).unwrap();
    assert_eq!(filter.matchers.len(), 2);
    assert_eq!(filter.inhibited, None);
}

/// Hostile arguments, each with the text its error must contain (the field, where there is
/// one). Every tool also gets the cases of `hostile_for_every_tool`.
fn hostile_cases() -> Vec<(&'static str, Value, &'static str)> {
    const Q: &str = "prometheus_query";
    const R: &str = "prometheus_query_range";
    const LOKI: &str = "loki_query";
    const VL: &str = "victorialogs_query";
    const AM: &str = "alertmanager_alerts";
    const GD: &str = "grafana_dashboards";
    const GA: &str = "grafana_annotations";
    let long = "a".repeat(100_000);
    let many: Vec<String> = (0..51).map(|i| format!("a=\"{i}\"")).collect();
    vec![
        // The reported bug: `Duration::from_secs_f64` panicked past u64::MAX seconds.
        (R, with(R, "step", json!(1e30)), "step"),
        (R, with(R, "step", json!(1e308)), "step"),
        (R, with(R, "step", json!(u64::MAX)), "step"),
        (R, with(R, "step", json!(-1)), "step"),
        (R, with(R, "step", json!(0)), "step"),
        (R, with(R, "step", json!(1e-12)), "step"),
        (R, with(R, "step", json!("NaN")), "step"),
        (R, with(R, "step", json!("0s")), "step"),
        (R, with(R, "step", json!("101y")), "step"),
        // 2⁶⁴ ms: wrapped to a zero step in the client's point count and divided by zero.
        (
            R,
            with(R, "step", json!("18446744073709551s 616ms")),
            "step",
        ),
        // humantime's own panic (`Duration::new` overflow on the nanosecond carry).
        (
            R,
            with(R, "step", json!("18446744073709551615s 1000000000ns")),
            "step",
        ),
        (R, with(R, "step", json!("1s ".repeat(40))), "step"),
        (R, with(R, "step", json!(["1m"])), "step"),
        (
            R,
            json!({"query": "up", "since": "30d", "step": "1s"}),
            "step: ",
        ),
        (R, with(R, "since", json!("now-1h")), "since"),
        (R, with(R, "since", json!("99999999999y")), "since"),
        (R, with(R, "since", json!(1e308)), "since"),
        (R, with(R, "since", json!({"h": 1})), "since"),
        (
            R,
            json!({"query": "up", "since": "1h", "start": "now-2h"}),
            "not both",
        ),
        (
            R,
            json!({"query": "up", "start": "now", "end": "now-1h"}),
            "end",
        ),
        (R, json!({"query": "up", "start": -1e308}), "start"),
        (
            R,
            json!({"query": "up", "end": "2024-13-45T00:00:00Z"}),
            "end",
        ),
        // Times: huge, non-finite, far past, wrong type.
        (Q, with(Q, "time", json!(1e308)), "time"),
        (Q, with(Q, "time", json!(u64::MAX)), "time"),
        (Q, with(Q, "time", json!(-1e308)), "time"),
        (Q, with(Q, "time", json!("NaN")), "time"),
        (Q, with(Q, "time", json!("inf")), "time"),
        (Q, with(Q, "time", json!("-infinity")), "time"),
        (Q, with(Q, "time", json!("1e400")), "time"),
        (Q, with(Q, "time", json!("now-99999999999y")), "time"),
        (Q, with(Q, "time", json!("now-101y")), "time"),
        (
            Q,
            with(Q, "time", json!("now-18446744073709551615s 1000000000ns")),
            "time",
        ),
        (Q, with(Q, "time", json!(true)), "time"),
        (Q, with(Q, "time", json!([1714564800])), "time"),
        (Q, with(Q, "time", json!(long)), "time"),
        // Query texts.
        (Q, with(Q, "query", json!("")), "query: empty PromQL query"),
        (Q, with(Q, "query", json!(" \n ")), "query"),
        (Q, with(Q, "query", json!(long)), "query"),
        (Q, with(Q, "query", json!(1e308)), "query"),
        (Q, with(Q, "query", json!(["up"])), "query"),
        (Q, with(Q, "query", json!({"expr": "up"})), "query"),
        (Q, json!({"time": "now"}), "missing field `query`"),
        (VL, with(VL, "query", json!("")), "query"),
        (LOKI, with(LOKI, "query", json!(long)), "query"),
        // Limits and counts.
        (LOKI, with(LOKI, "limit", json!(0)), "limit"),
        (LOKI, with(LOKI, "limit", json!(5001)), "limit"),
        (LOKI, with(LOKI, "limit", json!(-1)), "limit"),
        (LOKI, with(LOKI, "limit", json!(1e308)), "limit"),
        (LOKI, with(LOKI, "limit", json!(u64::MAX)), "limit"),
        (LOKI, with(LOKI, "limit", json!(2.5)), "limit"),
        (LOKI, with(LOKI, "limit", json!("10")), "limit"),
        (VL, with(VL, "limit", json!(0)), "limit"),
        (GD, with(GD, "limit", json!(0)), "limit"),
        (GD, with(GD, "limit", json!(1001)), "limit"),
        (GA, with(GA, "limit", json!(5000)), "limit"),
        (
            LOKI,
            with(LOKI, "direction", json!("sideways")),
            "direction",
        ),
        (LOKI, with(LOKI, "direction", json!(long)), "direction"),
        // Loki's nanosecond timestamps end in 2262.
        (
            LOKI,
            json!({"query": "{a=\"b\"}", "start": "1000-01-01T00:00:00Z"}),
            "start",
        ),
        (
            LOKI,
            json!({"query": "{a=\"b\"}", "start": "now-1h", "end": "9999-12-31T00:00:00Z"}),
            "end",
        ),
        // Enumerations, names and lists.
        ("prometheus_alerts", json!({"state": "burning"}), "state"),
        ("prometheus_alerts", json!({"state": 5}), "state"),
        ("prometheus_alerts", json!({"alertname": long}), "alertname"),
        ("prometheus_alerts", json!({"alertname": []}), "alertname"),
        ("prometheus_rules", json!({"type": "both"}), "type"),
        ("prometheus_rules", json!({"name": long}), "name"),
        (AM, with(AM, "filter", json!("alertname=\"X\"")), "filter"),
        (AM, with(AM, "filter", json!([1])), "filter[0]"),
        (AM, with(AM, "filter", json!([""])), "filter[0]"),
        (AM, with(AM, "filter", json!([long])), "filter[0]"),
        (AM, with(AM, "filter", json!(many)), "filter"),
        (AM, with(AM, "active", json!("true")), "active"),
        (AM, with(AM, "receiver", json!(1e308)), "receiver"),
        (AM, with(AM, "receiver", json!(long)), "receiver"),
        (
            "alertmanager_silences",
            json!({"include_expired": 1}),
            "include_expired",
        ),
        (
            "alertmanager_silences",
            json!({"filter": [["x"]]}),
            "filter[0]",
        ),
        (GD, with(GD, "tags", json!("prod")), "tags"),
        (GD, with(GD, "tags", json!(many)), "tags"),
        (GD, with(GD, "query", json!(long)), "query"),
        (GA, with(GA, "dashboard_uid", json!(7)), "dashboard_uid"),
        (GA, with(GA, "tags", json!([null])), "tags[0]"),
        (GA, json!({"since": "1e30s"}), "since"),
    ]
}

/// Cases every tool must refuse: unknown fields, whole arguments of the wrong shape, nesting.
fn hostile_for_every_tool(tool: &str) -> Vec<(Value, &'static str)> {
    // As deep as serde_json parses (its limit is 128 levels): the deepest a model's text can
    // become.
    let deep: Value =
        serde_json::from_str(&format!("{}1{}", "{\"a\":[".repeat(63), "]}".repeat(63))).unwrap();
    vec![
        (with(tool, "qurey", json!("up")), "unknown field `qurey`"),
        (with(tool, "", json!(1)), "unknown field ``"),
        (
            with(tool, &"k".repeat(100_000), json!(1)),
            "unknown field `kkk",
        ),
        (with(tool, "since", deep.clone()), "nested deeper than"),
        (deep, "nested deeper than"),
        // A struct would take an array positionally: refused as not an object.
        (json!([good(tool)]), "must be a JSON object"),
        (json!(["up", "now"]), "must be a JSON object"),
        (json!("query=up"), "must be a JSON object"),
        (json!(1e308), "must be a JSON object"),
        (json!(true), "must be a JSON object"),
    ]
}

#[test]
fn hostile_arguments_are_refused_naming_the_field() {
    let mut cases = hostile_cases();
    for tool in definitions() {
        for (args, expected) in hostile_for_every_tool(tool.name) {
            cases.push((tool.name, args, expected));
        }
    }
    for (tool, args, expected) in cases {
        let shown = crate::http::truncate(&args.to_string(), 100);
        match check_arguments(tool, args, now()) {
            Err(SourceError::InvalidArguments {
                tool: named,
                message,
            }) => {
                assert_eq!(named, tool, "{shown}");
                assert!(message.contains(expected), "{tool} {shown}: {message}");
                assert!(message.chars().count() < 400, "{tool}: echoed {message}");
            }
            other => panic!("{tool} {shown}: {other:?}"),
        }
    }
}

/// `call` refuses exactly as `check_arguments` does, before any request: the same code.
#[tokio::test]
async fn call_refuses_as_check_arguments_does() {
    // Port 1 refuses connections: reaching it would be a Transport error, not these.
    let unreachable = || Some(SourceConfig::new("http://127.0.0.1:1"));
    let config = SourcesConfig {
        prometheus: unreachable(),
        alertmanager: unreachable(),
        loki: unreachable(),
        victorialogs: unreachable(),
        grafana: unreachable(),
        ..SourcesConfig::default()
    };
    let sources = Sources::from_config(&config, clock()).unwrap();
    let mut cases = hostile_cases();
    for tool in definitions() {
        for (args, expected) in hostile_for_every_tool(tool.name) {
            cases.push((tool.name, args, expected));
        }
    }
    for (tool, args, _) in cases {
        let checked = check_arguments(tool, args.clone(), now()).unwrap_err();
        let called = sources.call(tool, args).await.unwrap_err();
        assert_eq!(called.to_string(), checked.to_string());
    }
    for tool in definitions() {
        let called = sources.call(tool.name, good(tool.name)).await.unwrap_err();
        assert!(
            matches!(called, SourceError::Transport { .. }),
            "{}: {called}",
            tool.name
        );
    }
}

/// Arbitrary JSON: every scalar kind (numbers at the edges, strings of any characters and
/// strings shaped like times and durations) nested a few levels in arrays and objects.
fn json_value() -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        prop_oneof![
            Just(1e308),
            Just(-1e308),
            Just(1e30),
            Just(-1.0),
            Just(5e-324)
        ]
        .prop_map(|f| json!(f)),
        "\\PC{0,40}".prop_map(Value::from),
        "now(-([0-9]{1,22}(\\.[0-9]{1,12})? ?(ns|us|ms|s|m|h|d|w|M|y) ?){1,3})?"
            .prop_map(Value::from),
        "[-+]?([0-9]{1,25}|NaN|inf|infinity)(\\.[0-9]{0,20})?(e[-+]?[0-9]{1,4})?"
            .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z_]{0,12}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest::proptest! {
    /// No JSON value makes any tool's argument checking panic.
    #[test]
    fn no_arguments_make_checking_panic(args in json_value(), pick in 0usize..11) {
        let names: Vec<&str> = definitions().iter().map(|d| d.name).chain(["kubectl_delete"]).collect();
        let _ = check_arguments(names[pick % names.len()], args, now());
    }

    /// Objects with each tool's own argument names, so checking gets past the names to the
    /// values.
    #[test]
    fn no_values_of_known_arguments_make_checking_panic(
        values in proptest::collection::vec(json_value(), 8),
        pick in 0usize..10,
    ) {
        let tool = &definitions()[pick % 10];
        let fields = tool.input_schema["properties"].as_object().unwrap();
        let args: serde_json::Map<String, Value> = fields
            .keys()
            .cloned()
            .zip(values)
            .collect();
        let _ = check_arguments(tool.name, Value::Object(args), now());
    }
}

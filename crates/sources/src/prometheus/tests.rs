//! Answers copied from Prometheus' HTTP API documentation.

use super::*;

fn endpoint() -> Endpoint {
    Endpoint::new(
        Service::Prometheus,
        &SourceConfig::new("http://prometheus.invalid"),
    )
    .unwrap()
}

fn parse<T: DeserializeOwned>(body: &str) -> Result<(T, Vec<String>), SourceError> {
    parse_envelope(&endpoint(), "/api/v1/query", body)
}

#[test]
fn every_result_type_parses() {
    let vector = r#"{
       "status" : "success",
       "data" : {
          "resultType" : "vector",
          "result" : [
             {"metric" : {"__name__" : "up", "job" : "prometheus", "instance" : "localhost:9090"},
              "value": [ 1435781451.781, "1" ]},
             {"metric" : {"__name__" : "up", "job" : "node", "instance" : "localhost:9100"},
              "value" : [ 1435781451.781, "0" ]}
          ]
       }
    }"#;
    let matrix = r#"{
       "status" : "success",
       "data" : {
          "resultType" : "matrix",
          "result" : [
             {"metric" : {"__name__" : "up", "job" : "prometheus", "instance" : "localhost:9090"},
              "values" : [[ 1435781430.781, "1" ], [ 1435781445.781, "1" ], [ 1435781460.781, "1" ]]},
             {"metric" : {"__name__" : "up", "job" : "node", "instance" : "localhost:9091"},
              "values" : [[ 1435781430.781, "0" ], [ 1435781445.781, "0" ], [ 1435781460.781, "1" ]]}
          ]
       }
    }"#;
    let scalar =
        r#"{"status":"success","data":{"resultType":"scalar","result":[1435781451.781,"NaN"]}}"#;
    let string =
        r#"{"status":"success","data":{"resultType":"string","result":[1435781451.781,"hello"]}}"#;
    let with_warnings = r#"{"status":"success","data":{"resultType":"vector","result":[]},
        "warnings":["partial response"],"infos":["PromQL info: metric might not be a counter"]}"#;

    let cases: [(&str, &str, usize, usize); 5] = [
        (vector, "vector", 2, 0),
        (matrix, "matrix", 2, 0),
        (scalar, "scalar", 1, 0),
        (string, "string", 1, 0),
        (with_warnings, "vector", 0, 2),
    ];
    for (body, result_type, len, warnings) in cases {
        let (data, warns): (QueryData, _) = parse(body).unwrap();
        assert_eq!(data.result_type(), result_type);
        let n = match &data {
            QueryData::Vector(v) => v.len(),
            QueryData::Matrix(m) => m.len(),
            QueryData::Scalar(_) | QueryData::String(_) => 1,
        };
        assert_eq!(n, len, "{body}");
        assert_eq!(warns.len(), warnings);
    }

    let (data, _): (QueryData, _) = parse(matrix).unwrap();
    let QueryData::Matrix(series) = data else {
        panic!()
    };
    assert_eq!(series[1].metric["instance"], "localhost:9091");
    assert_eq!(series[1].values[2], Point(1435781460.781, "1".into()));
    let (data, _): (QueryData, _) = parse(scalar).unwrap();
    let QueryData::Scalar(point) = data else {
        panic!()
    };
    assert!(point.as_f64().unwrap().is_nan());
}

#[test]
fn an_error_envelope_names_its_error_type() {
    let body = r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:6: parse error: unexpected end of input"}"#;
    let err = parse::<QueryData>(body).unwrap_err();
    assert_eq!(err.error_type(), Some("bad_data"));
    let text = err.to_string();
    assert!(
        text.starts_with("Prometheus /api/v1/query: HTTP 200 bad_data: invalid parameter"),
        "{text}"
    );
}

#[test]
fn a_wrong_shape_is_a_decode_error() {
    for body in [
        "<html>proxy login</html>",
        r#"{"status":"success"}"#,
        r#"{"status":"success","data":{"resultType":"streams","result":[]}}"#,
    ] {
        let err = parse::<QueryData>(body).unwrap_err();
        assert!(matches!(err, SourceError::Decode { .. }), "{body}: {err}");
    }
}

#[test]
fn alerts_and_rules_parse() {
    let alerts = r#"{
        "data": {"alerts": [{"activeAt": "2018-07-04T20:27:12.60602144+02:00", "annotations": {},
                  "labels": {"alertname": "my-alert"}, "state": "firing", "value": "1e+00"}]},
        "status": "success"
    }"#;
    let (data, _): (AlertsData, _) = parse(alerts).unwrap();
    assert_eq!(data.alerts[0].labels["alertname"], "my-alert");
    assert_eq!(
        data.alerts[0].active_at.unwrap().to_rfc3339(),
        "2018-07-04T18:27:12.606021440+00:00"
    );

    let rules = r#"{
        "data": {"groups": [{
            "rules": [
                {"alerts": [{"activeAt": "2018-07-04T20:27:12.60602144+02:00",
                             "annotations": {"summary": "High request latency"},
                             "labels": {"alertname": "HighRequestLatency", "severity": "page"},
                             "state": "firing", "value": "1e+00"}],
                 "annotations": {"summary": "High request latency"},
                 "duration": 600, "health": "ok", "labels": {"severity": "page"},
                 "name": "HighRequestLatency",
                 "query": "job:request_latency_seconds:mean5m{job=\"myjob\"} > 0.5",
                 "type": "alerting"},
                {"health": "ok", "name": "job:http_inprogress_requests:sum",
                 "query": "sum by (job) (http_inprogress_requests)", "type": "recording"}
            ],
            "file": "/rules.yaml", "interval": 60, "limit": 0, "name": "example"
        }]},
        "status": "success"
    }"#;
    let (data, _): (RulesData, _) = parse(rules).unwrap();
    let group = &data.groups[0];
    assert_eq!(group.name, "example");
    assert_eq!(group.rules[0].kind, "alerting");
    assert_eq!(group.rules[0].duration, Some(600.0));
    assert_eq!(group.rules[0].alerts[0].state, "firing");
    assert_eq!(group.rules[1].kind, "recording");
    assert!(group.rules[1].alerts.is_empty());
}

#[test]
fn point_counts_never_divide_by_zero() {
    let start = DateTime::from_timestamp(1_714_560_000, 0).unwrap();
    let end = DateTime::from_timestamp(1_714_563_600, 0).unwrap();
    // 2⁶⁴ ms: `as i64` made it 0 and the point count divided by zero.
    let huge = Duration::new(18_446_744_073_709_551, 616_000_000);
    let cases = [
        (huge, true),
        (Duration::MAX, true),
        (Duration::from_nanos(1), false),
        (Duration::from_secs(1), true),
        (Duration::ZERO, false),
    ];
    for (step, fits) in cases {
        assert_eq!(check_points(start, end, step).is_ok(), fits, "{step:?}");
    }
}

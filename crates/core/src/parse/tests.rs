//! Parser tables over the real third-party payloads and odd inputs; property tests that no
//! input panics.

use super::{ParseError, parse};
use crate::model::{AlertStatus, Source};
use chrono::{DateTime, TimeZone, Utc};
use proptest::prelude::*;

fn received() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 10, 0, 0).unwrap()
}

macro_rules! payload {
    ($name:literal) => {
        include_bytes!(concat!(
            "../../../../../shared/fixtures/third-party/payloads/",
            $name
        ))
        .as_slice()
    };
}

#[test]
fn every_third_party_payload_parses() {
    // (file, source, alerts, first alertname, groupKey text)
    type Case<'a> = (&'a str, &'a [u8], Source, usize, &'a str, Option<&'a str>);
    let cases: &[Case] = &[
        (
            "kubesphere",
            payload!("am_kubesphere_alert.json"),
            Source::Alertmanager,
            9,
            "CPUThrottlingHigh",
            None,
        ),
        (
            "prometheus_bot",
            payload!("am_prometheus_bot_emptyValue.json"),
            Source::Alertmanager,
            1,
            "empty_value",
            Some("43434343434343434343"),
        ),
        (
            "opensre",
            payload!("am_opensre_alertmanager_alert.json"),
            Source::Alertmanager,
            1,
            "HighErrorRate",
            Some("{}:{alertname=\"HighErrorRate\"}"),
        ),
        (
            "grafana v12",
            payload!("grafana_keep_v12_test_notification.json"),
            Source::Grafana,
            1,
            "TestAlert",
            Some("webhook-c4edaaf9f9f839b0-1777986297"),
        ),
        (
            "grafana no alertname",
            payload!("grafana_zulip_alert_no_alertname_v11.json"),
            Source::Grafana,
            1,
            "Memory (copy)",
            None,
        ),
    ];
    for (name, body, source, count, alertname, group_key) in cases {
        let delivery = parse(*source, body, received()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(delivery.alerts.len(), *count, "{name}");
        assert_eq!(delivery.alerts[0].alertname(), *alertname, "{name}");
        if let Some(key) = group_key {
            assert_eq!(delivery.group_key.as_deref(), Some(*key), "{name}");
        }
    }
}

#[test]
fn grafana_extras_are_kept() {
    let delivery = parse(
        Source::Grafana,
        payload!("grafana_keep_v12_test_notification.json"),
        received(),
    )
    .unwrap();
    assert_eq!(delivery.version.as_deref(), Some("1"));
    assert_eq!(delivery.extra["title"], "TestAlert");
    assert_eq!(delivery.extra["state"], "alerting");
    assert_eq!(delivery.extra["orgId"], 1);
    let alert = &delivery.alerts[0];
    assert_eq!(alert.extra["values"]["B"], 22);
    assert_eq!(
        alert.extra["dashboardURL"],
        "https://grafana.example.com/d/dashboard_uid"
    );
    assert_eq!(alert.ends_at, None, "Go's zero time means no end");
    assert_eq!(
        alert.source_fingerprint.as_deref(),
        Some("c4edaaf9f9f839b0")
    );
}

#[test]
fn missing_status_is_derived_from_ends_at() {
    let delivery = parse(
        Source::Alertmanager,
        payload!("am_prom2teams_without_mandatory_field.json"),
        received(),
    )
    .unwrap();
    assert_eq!(
        delivery.alerts[0].status,
        AlertStatus::Resolved,
        "endsAt in 2017 is past"
    );
    assert_eq!(delivery.status, None);
}

#[test]
fn odd_timestamps_and_values() {
    let body = r#"{"version": 0, "truncatedAlerts": 3, "alerts": [
        {"labels": {"alertname": "Ünïcødé ⚠", "n": 5, "b": true, "gone": null}, "startsAt": "2024-01-01 10:00:00.123456789Z"},
        {"labels": {"alertname": "x"}, "startsAt": "2024-01-01T12:00:00.1+02:00", "endsAt": "2099-01-01T00:00:00Z"},
        {"labels": {"alertname": "y"}, "startsAt": 1704103200}
    ]}"#;
    let delivery = parse(Source::Alertmanager, body.as_bytes(), received()).unwrap();
    assert_eq!(delivery.version.as_deref(), Some("0"));
    assert_eq!(delivery.truncated_alerts, 3);
    let first = &delivery.alerts[0];
    assert_eq!(first.alertname(), "Ünïcødé ⚠");
    assert_eq!(first.labels["n"], "5");
    assert_eq!(first.labels["b"], "true");
    assert!(!first.labels.contains_key("gone"));
    assert_eq!(
        first.starts_at.unwrap().timestamp_subsec_nanos(),
        123_456_789
    );
    assert_eq!(
        delivery.alerts[1].starts_at,
        Some(
            Utc.with_ymd_and_hms(2024, 1, 1, 10, 0, 0).unwrap()
                + chrono::Duration::milliseconds(100)
        )
    );
    assert_eq!(
        delivery.alerts[1].status,
        AlertStatus::Firing,
        "endsAt in the future"
    );
    assert_eq!(
        delivery.alerts[2].starts_at,
        Some(Utc.with_ymd_and_hms(2024, 1, 1, 10, 0, 0).unwrap())
    );
    let huge = format!(
        r#"{{"alerts": [{{"labels": {{"alertname": "big"}}, "annotations": {{"description": "{}"}}}}]}}"#,
        "x".repeat(1 << 20)
    );
    let delivery = parse(Source::Signoz, huge.as_bytes(), received()).unwrap();
    assert_eq!(delivery.alerts[0].annotations["description"].len(), 1 << 20);
}

#[test]
fn legacy_grafana() {
    let alerting = br#"{"title": "[Alerting] CPU", "ruleId": 7, "ruleName": "CPU", "state": "alerting", "evalMatches": [{"value": 100, "metric": "cpu"}], "message": "high", "ruleUrl": "http://g/d/1"}"#;
    let delivery = parse(Source::Grafana, alerting, received()).unwrap();
    assert_eq!(delivery.alerts[0].alertname(), "CPU");
    assert_eq!(delivery.alerts[0].labels["grafana_rule_id"], "7");
    assert_eq!(delivery.alerts[0].status, AlertStatus::Firing);
    let ok = br#"{"ruleName": "CPU", "state": "ok"}"#;
    assert_eq!(
        parse(Source::Grafana, ok, received()).unwrap().alerts[0].status,
        AlertStatus::Resolved
    );
}

#[test]
fn errors_name_the_problem() {
    match parse(Source::Alertmanager, b"{\n  \"alerts\": [,]\n}", received()) {
        Err(ParseError::Syntax { line, column, .. }) => assert_eq!((line, column), (2, 14)),
        other => panic!("{other:?}"),
    }
    let shape = |body: &str| match parse(Source::Alertmanager, body.as_bytes(), received()) {
        Err(ParseError::Shape { path, .. }) => path,
        other => panic!("{body}: {other:?}"),
    };
    assert_eq!(shape(r#"{"alerts": "x"}"#), "alerts");
    assert_eq!(
        shape(r#"{"alerts": [{}, {"labels": ["a"]}]}"#),
        "alerts[1].labels"
    );
    assert_eq!(
        shape(r#"{"alerts": [{"labels": {"foo": {"a": 1}}}]}"#),
        "alerts[0].labels.foo"
    );
    assert_eq!(
        shape(r#"{"alerts": [{"startsAt": "yesterday"}]}"#),
        "alerts[0].startsAt"
    );
    assert_eq!(
        shape(r#"{"alerts": [{"status": "weird"}]}"#),
        "alerts[0].status"
    );
    assert_eq!(shape(r#"[1, 2]"#), "body");
    assert_eq!(shape(r#"{"receiver": "x"}"#), "alerts");
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        "[a-zA-Z0-9 :.+TZ-]{0,30}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("alerts".to_owned()),
                    Just("labels".to_owned()),
                    Just("status".to_owned()),
                    Just("startsAt".to_owned()),
                    "[a-z]{1,8}"
                ],
                inner,
                0..6
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        for source in Source::ALL {
            let _ = parse(source, &bytes, received());
        }
    }

    #[test]
    fn arbitrary_json_never_panics(value in json_value()) {
        let body = serde_json::to_vec(&value).unwrap();
        for source in Source::ALL {
            let _ = parse(source, &body, received());
        }
    }

    #[test]
    fn valid_bodies_round_trip(alerts in prop::collection::vec(
        (prop::collection::btree_map("[a-z_]{1,10}", "\\PC{0,20}", 0..6), any::<bool>()), 0..20)
    ) {
        let items: Vec<_> = alerts.iter().map(|(labels, resolved)| serde_json::json!({
            "status": if *resolved { "resolved" } else { "firing" },
            "labels": labels,
            "startsAt": "2026-11-25T09:00:00Z",
        })).collect();
        let body = serde_json::to_vec(&serde_json::json!({"version": "4", "alerts": items})).unwrap();
        let delivery = parse(Source::Alertmanager, &body, received()).unwrap();
        prop_assert_eq!(delivery.alerts.len(), alerts.len());
        for (parsed, (labels, resolved)) in delivery.alerts.iter().zip(&alerts) {
            prop_assert_eq!(&parsed.labels, labels);
            prop_assert_eq!(parsed.status == AlertStatus::Resolved, *resolved);
        }
    }
}

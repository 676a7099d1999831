//! Answers in the shape of Alertmanager's v2 OpenAPI spec (gettableAlerts, gettableSilences).

use super::*;
use chrono::TimeZone;

#[test]
fn alerts_parse() {
    let body = r#"[
      {
        "annotations": {"summary": "Pod default/web-1 cannot pull its image"},
        "endsAt": "2024-05-01T10:15:00.000Z",
        "fingerprint": "6b3f6d2f0e4c1a77",
        "receivers": [{"name": "nightwatch"}],
        "startsAt": "2024-05-01T10:00:00.123Z",
        "status": {"inhibitedBy": [], "silencedBy": ["0f3c1e3a-6c51-4a4b-9f0e-0d3f2b3c4d5e"], "state": "suppressed"},
        "updatedAt": "2024-05-01T10:10:00.000+02:00",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=up",
        "labels": {"alertname": "KubePodImagePullBackOff", "namespace": "default", "pod": "web-1"}
      },
      {
        "annotations": {}, "endsAt": "2024-05-01T10:15:00Z", "fingerprint": "00aa",
        "receivers": [], "startsAt": "2024-05-01T10:00:00Z",
        "status": {"inhibitedBy": null, "silencedBy": null, "state": "active", "mutedBy": []},
        "updatedAt": "2024-05-01T10:00:00Z", "labels": {"alertname": "Watchdog"}
      }
    ]"#;
    let alerts: Vec<AlertmanagerAlert> = serde_json::from_str(body).unwrap();
    assert_eq!(alerts[0].status.state, "suppressed");
    assert_eq!(alerts[0].status.silenced_by.len(), 1);
    assert_eq!(alerts[0].receivers[0].name, "nightwatch");
    assert_eq!(
        alerts[0].updated_at,
        Some(Utc.with_ymd_and_hms(2024, 5, 1, 8, 10, 0).unwrap())
    );
    assert_eq!(alerts[1].labels["alertname"], "Watchdog");
    assert!(alerts[1].status.inhibited_by.is_empty());
}

#[test]
fn silences_parse_with_and_without_is_equal() {
    let body = r#"[
      {"id": "0f3c1e3a-6c51-4a4b-9f0e-0d3f2b3c4d5e", "status": {"state": "active"},
       "updatedAt": "2024-05-01T10:00:00Z", "comment": "maintenance", "createdBy": "alice",
       "endsAt": "2024-05-01T12:00:00Z", "startsAt": "2024-05-01T10:00:00Z",
       "matchers": [{"isEqual": true, "isRegex": false, "name": "alertname", "value": "KubeNodeUnschedulable"},
                    {"isEqual": false, "isRegex": true, "name": "node", "value": "lab-.*"}]},
      {"id": "1", "status": {"state": "expired"}, "comment": "", "createdBy": "",
       "endsAt": "2024-04-01T12:00:00Z", "startsAt": "2024-04-01T10:00:00Z",
       "matchers": [{"isRegex": false, "name": "job", "value": "x"}]}
    ]"#;
    let silences: Vec<Silence> = serde_json::from_str(body).unwrap();
    assert_eq!(
        silences[0].matchers[0].to_text(),
        r#"alertname="KubeNodeUnschedulable""#
    );
    assert_eq!(silences[0].matchers[1].to_text(), r#"node!~"lab-.*""#);
    assert!(silences[1].matchers[0].is_equal);
    assert_eq!(silences[1].status.state, "expired");
}

#[test]
fn new_silences_serialise_as_postable_silences_and_are_validated() {
    let start = Utc.with_ymd_and_hms(2024, 5, 1, 10, 0, 0).unwrap();
    let silence = NewSilence {
        matchers: vec![Matcher::equal("alertname", "KubeNodeUnschedulable")],
        starts_at: start,
        ends_at: start + chrono::Duration::hours(1),
        created_by: "nightwatch".into(),
        comment: "approved by alice".into(),
    };
    assert_eq!(
        serde_json::to_value(&silence).unwrap(),
        serde_json::json!({
            "matchers": [{"name": "alertname", "value": "KubeNodeUnschedulable", "isRegex": false, "isEqual": true}],
            "startsAt": "2024-05-01T10:00:00Z",
            "endsAt": "2024-05-01T11:00:00Z",
            "createdBy": "nightwatch",
            "comment": "approved by alice"
        })
    );
    assert!(validate(&silence).is_ok());

    let with = |change: &dyn Fn(&mut NewSilence)| {
        let mut s = silence.clone();
        change(&mut s);
        validate(&s).map_err(|e| e.to_string())
    };
    let refused = [
        with(&|s| s.matchers.clear()),
        with(&|s| s.matchers = vec![Matcher::equal("alertname", "")]),
        with(&|s| {
            s.matchers = vec![Matcher {
                name: "alertname".into(),
                value: ".*".into(),
                is_regex: true,
                is_equal: true,
            }]
        }),
        with(&|s| {
            s.matchers = vec![Matcher {
                name: "alertname".into(),
                value: "X".into(),
                is_regex: false,
                is_equal: false,
            }]
        }),
        with(&|s| s.ends_at = s.starts_at),
        with(&|s| s.comment = " ".into()),
    ];
    for result in refused {
        let message = result.unwrap_err();
        assert!(
            message.starts_with("Alertmanager: invalid request: "),
            "{message}"
        );
    }
}

#[test]
fn silence_ids_cannot_reach_other_paths() {
    assert_eq!(
        silence_path("0f3c1e3a-6c51").unwrap(),
        "/api/v2/silence/0f3c1e3a-6c51"
    );
    for id in ["", "../status", "a/b", "x?y"] {
        assert!(silence_path(id).is_err(), "{id}");
    }
}

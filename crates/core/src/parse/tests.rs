//! Parser tests: every real third-party payload against its expected delivery (one file each
//! in `test_data/`), odd inputs, the error paths, and property tests (no input panics; valid
//! bodies round-trip).

use super::{ParseError, parse};
use crate::model::{Alert, AlertStatus, Delivery, Labels, Source};
use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use expect_test::expect_file;
use proptest::prelude::*;
use serde_json::{Value, json};
use std::path::Path;

use AlertStatus::{Firing, Resolved};

/// Every test parses "now" = 2026-11-25T10:00:00Z.
fn received() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 10, 0, 0).unwrap()
}

fn ts(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .with_timezone(&Utc)
}

fn ok(source: Source, body: &[u8]) -> Delivery {
    parse(source, body, received()).unwrap_or_else(|e| {
        panic!(
            "{source}: {e}\nbody: {}",
            String::from_utf8_lossy(&body[..body.len().min(300)])
        )
    })
}

fn am(body: &str) -> Delivery {
    ok(Source::Alertmanager, body.as_bytes())
}

fn one_alert(body: &str) -> Alert {
    let mut delivery = am(body);
    assert_eq!(delivery.alerts.len(), 1, "{body}");
    delivery.alerts.remove(0)
}

/// The field path of a [`ParseError::Shape`]; panics on anything else.
fn shape_path(source: Source, body: &str) -> String {
    match parse(source, body.as_bytes(), received()) {
        Err(ParseError::Shape { path, message }) => {
            assert!(!message.is_empty(), "{body}");
            path
        }
        other => panic!("{source} {body}: expected a shape error, got {other:?}"),
    }
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Third-party payloads
// ---------------------------------------------------------------------------------------------

const AM: Source = Source::Alertmanager;
const GRAFANA: Source = Source::Grafana;

/// Every file in the third-party `payloads` folder, with the parser it belongs to.
const FIXTURES: &[(&str, Source)] = &[
    ("am_kubesphere_alert-auditing.json", AM),
    ("am_kubesphere_alert.json", AM),
    ("am_kubesphere_alert1.json", AM),
    ("am_kubesphere_alert10.json", AM),
    ("am_kubesphere_alert11.json", AM),
    ("am_kubesphere_alert12.json", AM),
    ("am_kubesphere_alerts-without-namespace.json", AM),
    ("am_msteams_card-grafana-inspired-payload.json", AM),
    ("am_msteams_prom_post_request.json", AM),
    ("am_opensre_alertmanager_alert.json", AM),
    ("am_prom2teams_with_common_items.json", AM),
    ("am_prom2teams_without_fingerprint.json", AM),
    ("am_prom2teams_without_mandatory_field.json", AM),
    ("am_prom2teams_without_optional_field.json", AM),
    ("am_prometheus_bot_emptyValue.json", AM),
    ("am_prometheus_bot_noGenURL.json", AM),
    ("am_prometheus_bot_simpe.json", AM),
    ("grafana_keep_v12_test_notification.json", GRAFANA),
    ("grafana_zulip_alert_no_alertname_v11.json", GRAFANA),
];

/// A payload's bytes; a missing file fails the test with the path it was looked for at.
fn payload(name: &str) -> Vec<u8> {
    let path = nightwatch_fixtures::third_party_file(format!("payloads/{name}"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn fixture_body(name: &str) -> (Source, Vec<u8>) {
    let (_, source) = FIXTURES
        .iter()
        .find(|(file, _)| *file == name)
        .unwrap_or_else(|| panic!("no fixture {name}"));
    (*source, payload(name))
}

fn fixture(name: &str) -> Delivery {
    let (source, body) = fixture_body(name);
    ok(source, &body)
}

/// When the prom2teams payloads' alerts ended.
const PROM2TEAMS_ENDS: &str = "2017-05-09T07:08:37.818278Z";

#[test]
fn fixture_list_covers_the_payload_directory() {
    let dir = nightwatch_fixtures::third_party_file("payloads");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut listed: Vec<&str> = FIXTURES.iter().map(|(name, _)| *name).collect();
    listed.sort_unstable();
    assert_eq!(on_disk, listed, "a payload was added or removed");
    for (name, source) in FIXTURES {
        let expected = if name.starts_with("am_") {
            AM
        } else if name.starts_with("grafana_") {
            GRAFANA
        } else {
            panic!("{name}: unknown prefix")
        };
        assert_eq!(*source, expected, "{name}");
    }
    // A missing expected file fails the snapshot test; one left behind by a removed payload
    // fails here.
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/parse/test_data");
    let mut expected: Vec<String> = std::fs::read_dir(&data)
        .unwrap_or_else(|e| panic!("{}: {e}", data.display()))
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    expected.sort();
    assert_eq!(
        expected, listed,
        "every payload has its expected delivery, and no other"
    );
}

/// Each payload's parsed delivery, as pretty JSON, against `test_data/<payload>` (same file
/// name): every field of every alert is compared, and a reviewer reads the files whole.
/// `UPDATE_EXPECT=1 cargo test -p nightwatch-core` rewrites them after an intended change.
#[test]
fn every_third_party_payload_parses_as_expected() {
    for (name, source) in FIXTURES {
        let body = payload(name);
        let delivery = ok(*source, &body);
        assert_eq!(delivery.source, *source, "{name}");
        expect_file![format!("test_data/{name}")].assert_eq(&format!(
            "{}\n",
            serde_json::to_string_pretty(&delivery).unwrap()
        ));
        for (i, alert) in delivery.alerts.iter().enumerate() {
            assert!(alert.starts_at.is_some(), "{name}: alerts[{i}] startsAt");
        }

        // The parsed delivery survives serde (the store keeps it as JSON).
        let text = serde_json::to_string(&delivery).unwrap();
        let back: Delivery = serde_json::from_str(&text).unwrap();
        assert_eq!(back, delivery, "{name}: serde round trip");

        // Alertmanager-shaped payloads parse the same way as SigNoz bodies.
        if *source == AM {
            let signoz = ok(Source::Signoz, &body);
            assert_eq!(signoz.alerts, delivery.alerts, "{name}: as signoz");
        }
    }
}

#[test]
fn group_key_beyond_u64_keeps_every_digit() {
    for name in [
        "am_prometheus_bot_emptyValue.json",
        "am_prometheus_bot_simpe.json",
    ] {
        let delivery = fixture(name);
        assert_eq!(
            delivery.group_key.as_deref(),
            Some("43434343434343434343"),
            "{name}"
        );
        assert_eq!(delivery.version.as_deref(), Some("3"), "{name}");
    }
    let numeric = fixture("am_prometheus_bot_noGenURL.json");
    assert_eq!(numeric.version.as_deref(), Some("0"));
    assert_eq!(numeric.group_key.as_deref(), Some("0"));
    // Even longer, and negative, and fractional: still the exact text.
    let delivery = am(
        r#"{"groupKey": 123456789012345678901234567890123456789, "version": -1.50, "alerts": []}"#,
    );
    assert_eq!(
        delivery.group_key.as_deref(),
        Some("123456789012345678901234567890123456789")
    );
    assert_eq!(delivery.version.as_deref(), Some("-1.50"));
}

#[test]
fn grafana_unified_extras() {
    let keep = fixture("grafana_keep_v12_test_notification.json");
    assert_eq!(keep.extra["title"], "TestAlert");
    assert_eq!(keep.extra["state"], "alerting");
    assert_eq!(keep.extra["message"], "Firing");
    assert_eq!(keep.extra["orgId"], 1);
    assert_eq!(keep.extra["appVersion"], "12.4.2");
    for known in ["version", "groupKey", "alerts", "status", "truncatedAlerts"] {
        assert!(!keep.extra.contains_key(known), "{known} is not an extra");
    }
    assert_eq!(keep.group_labels, labels(&[("alertname", "TestAlert")]));
    assert_eq!(
        keep.common_annotations,
        labels(&[("description", "Test Description")])
    );
    let alert = &keep.alerts[0];
    assert_eq!(alert.extra["values"], json!({"B": 22, "C": 1}));
    assert_eq!(
        alert.extra["silenceURL"],
        "https://grafana.example.com/alerting/silence/new"
    );
    assert_eq!(
        alert.extra["dashboardURL"],
        "https://grafana.example.com/d/dashboard_uid"
    );
    assert_eq!(
        alert.extra["panelURL"],
        "https://grafana.example.com/d/dashboard_uid?viewPanel=1"
    );
    assert_eq!(alert.extra["valueString"], "[ var='B' value=22 ]");
    assert_eq!(alert.extra["orgId"], 1);
    for known in [
        "status",
        "labels",
        "annotations",
        "startsAt",
        "endsAt",
        "fingerprint",
    ] {
        assert!(!alert.extra.contains_key(known), "{known} is not an extra");
    }
    assert_eq!(alert.generator_url.as_deref(), Some("?orgId=1"));
    assert_eq!(
        alert.labels,
        labels(&[
            ("alertname", "TestAlert"),
            ("grafana_folder", "Test Folder"),
            ("instance", "Grafana"),
        ])
    );

    let zulip = fixture("grafana_zulip_alert_no_alertname_v11.json");
    assert_eq!(
        zulip.extra["title"],
        "[FIRING:1] Memory (copy) device (true)"
    );
    assert_eq!(zulip.extra["state"], "alerting");
    assert_eq!(zulip.extra["orgId"], 1);
    assert!(
        zulip.extra["message"]
            .as_str()
            .unwrap()
            .starts_with("**Firing**\n\nValue: A=2.473545728e+09")
    );
    let alert = &zulip.alerts[0];
    assert_eq!(
        alert.extra["values"],
        json!({"A": 2_473_545_728_u64, "B": 0, "C": 1, "minute": 9})
    );
    // `\u0026` in the file.
    assert!(
        alert.extra["silenceURL"]
            .as_str()
            .unwrap()
            .contains("alertmanager=grafana&matcher=alertname%3DMemory+%28copy%29")
    );
    assert_eq!(
        alert.extra["dashboardURL"],
        "https://play.grafana.org/d/ece9fb32-7f71-4be9-bd94-2f23608ae5b9?orgId=1"
    );
    assert_eq!(
        alert.extra["panelURL"],
        "https://play.grafana.org/d/ece9fb32-7f71-4be9-bd94-2f23608ae5b9?orgId=1&viewPanel=2"
    );
    assert_eq!(
        alert.extra["imageURL"],
        "https://grafana.com/assets/img/blog/mixed_styles.png"
    );
}

#[test]
fn alertname_is_inherited_from_the_group() {
    let zulip = fixture("grafana_zulip_alert_no_alertname_v11.json");
    assert_eq!(
        zulip.alerts[0].labels,
        labels(&[
            ("alertname", "Memory (copy)"),
            ("debug", "true"),
            ("grafana_folder", "device"),
        ]),
        "the group's alertname, not the title"
    );

    // From groupLabels when commonLabels has none; commonLabels first when both do.
    let alert = one_alert(
        r#"{"groupLabels": {"alertname": "FromGroup"}, "alerts": [{"labels": {"a": "b"}}]}"#,
    );
    assert_eq!(alert.alertname(), "FromGroup");
    let alert = one_alert(
        r#"{"groupLabels": {"alertname": "G"}, "commonLabels": {"alertname": "C"},
            "alerts": [{"labels": {}}]}"#,
    );
    assert_eq!(alert.alertname(), "C");
    // An alert's own alertname is never overwritten.
    let alert = one_alert(
        r#"{"commonLabels": {"alertname": "C"}, "alerts": [{"labels": {"alertname": "Own"}}]}"#,
    );
    assert_eq!(alert.alertname(), "Own");

    // Grafana: with no alertname anywhere the title names the alert.
    let body = r#"{"version": "1", "title": "Disk full", "alerts": [{"labels": {"x": "1"}}]}"#;
    let delivery = ok(GRAFANA, body.as_bytes());
    assert_eq!(delivery.alerts[0].alertname(), "Disk full");
    // ...but the Alertmanager parser knows no title.
    assert_eq!(am(body).alerts[0].alertname(), "");
}

#[test]
fn missing_status_is_derived_from_ends_at() {
    let delivery = fixture("am_prom2teams_without_mandatory_field.json");
    assert_eq!(delivery.status, None);
    let alert = &delivery.alerts[0];
    assert_eq!(alert.ends_at, Some(ts(PROM2TEAMS_ENDS)));
    assert_eq!(alert.status, Resolved, "endsAt in 2017 is past");
    assert_eq!(alert.alertname(), "");

    // The same body received before its endsAt is still firing.
    let (_, body) = fixture_body("am_prom2teams_without_mandatory_field.json");
    let early = parse(AM, &body, ts("2017-05-09T07:05:00Z")).unwrap();
    assert_eq!(early.alerts[0].status, Firing);
    // endsAt exactly at reception counts as over.
    let exact = parse(AM, &body, ts(PROM2TEAMS_ENDS)).unwrap();
    assert_eq!(exact.alerts[0].status, Resolved);

    // Future endsAt: the group's status, else firing. Zero endsAt: likewise.
    let status_of = |body: &str| one_alert(body).status;
    assert_eq!(
        status_of(r#"{"alerts": [{"endsAt": "2099-01-01T00:00:00Z"}]}"#),
        Firing
    );
    assert_eq!(
        status_of(r#"{"status": "resolved", "alerts": [{"endsAt": "2099-01-01T00:00:00Z"}]}"#),
        Resolved
    );
    assert_eq!(
        status_of(r#"{"status": "resolved", "alerts": [{"endsAt": "0001-01-01T00:00:00Z"}]}"#),
        Resolved
    );
    assert_eq!(
        status_of(r#"{"alerts": [{"endsAt": "0001-01-01T00:00:00Z"}]}"#),
        Firing
    );
    // An explicit status wins over endsAt.
    assert_eq!(
        status_of(r#"{"alerts": [{"status": "firing", "endsAt": "2017-01-01T00:00:00Z"}]}"#),
        Firing
    );
    // Status spelled in capitals, or empty (= absent).
    assert_eq!(
        status_of(r#"{"alerts": [{"status": "RESOLVED"}]}"#),
        Resolved
    );
    assert_eq!(
        status_of(r#"{"alerts": [{"status": "", "endsAt": "2017-01-01T00:00:00Z"}]}"#),
        Resolved
    );
}

#[test]
fn go_zero_time_is_no_end() {
    let mut seen = 0;
    for (name, source) in FIXTURES {
        let body = payload(name);
        let delivery = ok(*source, &body);
        let text = std::str::from_utf8(&body).unwrap();
        if text.contains(r#""endsAt": "0001-01-01T00:00:00Z""#) {
            seen += 1;
            assert!(
                delivery.alerts.iter().all(|a| a.ends_at.is_none()),
                "{name}"
            );
        }
    }
    assert_eq!(seen, 14, "payloads with Go's zero endsAt");
    for zero in [
        "0001-01-01T00:00:00Z",
        "0001-01-01T00:00:00.000Z",
        "0001-01-01 00:00:00 +0000 UTC",
        "",
    ] {
        let alert = one_alert(&format!(r#"{{"alerts": [{{"endsAt": "{zero}"}}]}}"#));
        assert_eq!(alert.ends_at, None, "{zero:?}");
        assert_eq!(alert.status, Firing, "{zero:?}");
    }
    assert_eq!(one_alert(r#"{"alerts": [{"endsAt": null}]}"#).ends_at, None);
}

#[test]
fn payload_details() {
    // Labels that look like timestamps are labels, kept verbatim.
    let auditing = fixture("am_kubesphere_alert-auditing.json");
    assert_eq!(
        auditing.alerts[0].labels["requestReceivedTimestamp"],
        "2022-11-03 15:11:56.676195 +0800 CST"
    );
    assert_eq!(
        auditing.alerts[0].labels["group"],
        r#"["system:authenticated"]"#
    );
    assert_eq!(auditing.alerts[5].labels["name"], "global-email-receiver");
    assert!(auditing.common_annotations.is_empty());
    assert_eq!(
        auditing.common_labels["group"],
        r#"["system:authenticated"]"#
    );
    assert!(auditing.alerts.iter().all(|a| a.generator_url.is_none()));

    // `\u0026` decoded.
    let kubesphere = fixture("am_kubesphere_alert.json");
    assert!(
        kubesphere.alerts[0]
            .generator_url
            .as_deref()
            .unwrap()
            .ends_with("%3E+%2825+%2F+100%29&g0.tab=1")
    );
    assert_eq!(
        kubesphere.group_labels,
        labels(&[
            ("alertname", "CPUThrottlingHigh"),
            ("namespace", "kube-system")
        ])
    );
    assert_eq!(kubesphere.alerts[8].labels["container"], "csi-snapshotter");

    // Empty generatorURL is absent; unknown alert fields land in extra.
    let no_gen = fixture("am_prometheus_bot_noGenURL.json");
    assert!(no_gen.alerts[..7].iter().all(|a| a.generator_url.is_none()));
    assert_eq!(
        no_gen.alerts[7].generator_url.as_deref(),
        Some(
            "https://example.com/graph#%5B%7B%22expr%22%3A%22up%20%3D%3D%200%22%2C%22tab%22%3A0%7D%5D"
        )
    );
    assert!(no_gen.alerts.iter().all(|a| a.extra["sendsAt"] == ""));
    assert_eq!(no_gen.alerts[3].labels["node"], "smpt03.example.com");

    let common = fixture("am_prom2teams_with_common_items.json");
    assert!(common.group_labels.is_empty());
    assert_eq!(common.common_labels["container_name"], "config-reloader");

    let without = fixture("am_prom2teams_without_fingerprint.json");
    assert_eq!(
        without.alerts[0].generator_url.as_deref(),
        Some("my.prometheusserver.url")
    );
    assert!(without.group_labels.is_empty() && without.common_labels.is_empty());

    // The description keeps its literal backslash-n (`\\n` in the file).
    let card = fixture("am_msteams_card-grafana-inspired-payload.json");
    assert!(card.alerts[0].annotations["description"].ends_with("et ea.\\n"));
    assert_eq!(card.common_labels["name_space"], "wh_ate_ver/promstack");
}

// ---------------------------------------------------------------------------------------------
// Odd inputs
// ---------------------------------------------------------------------------------------------

#[test]
fn unicode_labels_and_scalar_values() {
    let alert = one_alert(
        r#"{"alerts": [{"labels": {
            "alertname": "Ünïcødé ⚠",
            "服务": "支付-网关",
            "emoji 🔥": "🚒\u200d🧑‍🚒",
            "rtl": "\u05e9\u05dc\u05d5\u05dd",
            "escaped": "\ud83d\ude00 tab\there \"q\" \\",
            "nul": "a\u0000b",
            "n": 5, "f": 1.50, "neg": -3, "big": 18446744073709551616,
            "t": true, "false": false, "gone": null, "": "empty key", "empty": ""
        }}]}"#,
    );
    let l = &alert.labels;
    assert_eq!(alert.alertname(), "Ünïcødé ⚠");
    assert_eq!(l["服务"], "支付-网关");
    assert_eq!(l["emoji 🔥"], "🚒\u{200d}🧑‍🚒");
    assert_eq!(l["rtl"], "שלום");
    assert_eq!(l["escaped"], "😀 tab\there \"q\" \\");
    assert_eq!(
        l["nul"], "a\u{FFFD}b",
        "NUL is stored as U+FFFD on both backends"
    );
    assert_eq!(l["n"], "5");
    assert_eq!(l["f"], "1.50", "exact JSON spelling");
    assert_eq!(l["neg"], "-3");
    assert_eq!(l["big"], "18446744073709551616");
    assert_eq!(l["t"], "true");
    assert_eq!(l["false"], "false");
    assert!(!l.contains_key("gone"), "null values are dropped");
    assert_eq!(l[""], "empty key");
    assert_eq!(l["empty"], "", "empty values are kept");
    assert_eq!(l.len(), 14);
}

#[test]
fn huge_annotation() {
    let big = "x".repeat(1 << 20);
    let body = json!({
        "truncatedAlerts": 0,
        "alerts": [{"labels": {"alertname": "big"}, "annotations": {"description": big}}],
    });
    for source in Source::ALL {
        let delivery = ok(source, &serde_json::to_vec(&body).unwrap());
        assert_eq!(
            delivery.alerts[0].annotations["description"], big,
            "{source}"
        );
    }
    // Many alerts, for good measure.
    let alerts: Vec<Value> = (0..5000)
        .map(|i| json!({"labels": {"alertname": "many", "i": i}}))
        .collect();
    let delivery = am(&json!({ "alerts": alerts }).to_string());
    assert_eq!(delivery.alerts.len(), 5000);
    assert_eq!(delivery.alerts[4999].labels["i"], "4999");
}

#[test]
fn truncated_alerts_version_and_missing_fields() {
    let delivery = am(r#"{"version": 0, "truncatedAlerts": 3, "alerts": [{}]}"#);
    assert_eq!(delivery.version.as_deref(), Some("0"));
    assert_eq!(delivery.truncated_alerts, 3);
    assert_eq!(
        am(r#"{"truncatedAlerts": "42", "alerts": []}"#).truncated_alerts,
        42
    );
    assert_eq!(
        am(r#"{"truncatedAlerts": 18446744073709551615, "alerts": []}"#).truncated_alerts,
        u64::MAX
    );
    assert_eq!(
        am(r#"{"truncatedAlerts": null, "alerts": []}"#).truncated_alerts,
        0
    );
    assert_eq!(
        am(r#"{"version": 4, "alerts": []}"#).version.as_deref(),
        Some("4")
    );
    assert_eq!(am(r#"{"version": "", "alerts": []}"#).version, None);
    let grafana = ok(
        GRAFANA,
        br#"{"version": "1", "truncatedAlerts": 7, "alerts": []}"#,
    );
    assert_eq!(grafana.truncated_alerts, 7);

    // An alert with nothing at all.
    let alert = &delivery.alerts[0];
    assert_eq!(alert.status, Firing);
    assert!(alert.labels.is_empty() && alert.annotations.is_empty());
    assert_eq!((alert.starts_at, alert.ends_at), (None, None));
    assert_eq!(alert.generator_url, None);
    assert_eq!(alert.source_fingerprint, None);
    assert!(alert.extra.is_empty());
    assert_eq!(delivery.receiver, None);
    assert_eq!(delivery.status, None);
    assert_eq!(delivery.group_key, None);
    assert!(delivery.extra.is_empty());

    // Empty and null alerts.
    assert!(am(r#"{"alerts": []}"#).alerts.is_empty());
    let labels_null = one_alert(r#"{"alerts": [{"labels": null, "annotations": null}]}"#);
    assert!(labels_null.labels.is_empty());

    // No alerts[] but a common alertname: one alert made of the group (OpenSRE's alert.json).
    let delivery = am(
        r#"{"status": "resolved", "commonLabels": {"alertname": "KubePodCrashLooping", "pod": "p"},
            "commonAnnotations": {"summary": "s"}}"#,
    );
    assert_eq!(delivery.alerts.len(), 1);
    let alert = &delivery.alerts[0];
    assert_eq!(alert.alertname(), "KubePodCrashLooping");
    assert_eq!(alert.labels["pod"], "p");
    assert_eq!(alert.annotations["summary"], "s");
    assert_eq!(alert.status, Resolved);
    let null_alerts = am(r#"{"alerts": null, "commonLabels": {"alertname": "A"}}"#);
    assert_eq!(null_alerts.alerts[0].alertname(), "A");
    assert_eq!(null_alerts.alerts[0].status, Firing);

    // Unknown top-level fields are kept.
    let delivery = am(r#"{"alerts": [], "tenant": {"id": 7}, "x": [1]}"#);
    assert_eq!(delivery.extra["tenant"], json!({"id": 7}));
    assert_eq!(delivery.extra["x"], json!([1]));
}

#[test]
fn timestamps_with_any_fraction_digits() {
    let digits = "123456789";
    for n in 0..=9 {
        let fraction = if n == 0 {
            String::new()
        } else {
            format!(".{}", &digits[..n])
        };
        let nanos: u32 = format!("{:0<9}", &digits[..n]).parse().unwrap();
        let expected = Utc.with_ymd_and_hms(2024, 1, 1, 10, 0, 0).unwrap()
            + chrono::Duration::nanoseconds(i64::from(nanos));
        for time in [
            format!("2024-01-01T10:00:00{fraction}Z"),
            format!("2024-01-01 10:00:00{fraction}Z"),
            format!("2024-01-01T12:00:00{fraction}+02:00"),
            format!("2024-01-01 12:00:00{fraction}+02:00"),
            format!("2024-01-01T12:00:00{fraction}+0200"),
            format!("2024-01-01 12:00:00{fraction}+0200"),
            format!("2024-01-01T04:30:00{fraction}-05:30"),
            format!("2024-01-01T10:00:00{fraction}+00:00"),
            format!("2024-01-01t10:00:00{fraction}z"),
            // No offset: UTC.
            format!("2024-01-01T10:00:00{fraction}"),
            format!("2024-01-01 10:00:00{fraction}"),
            // Go's time.String(), with and without the zone name.
            format!("2024-01-01 18:00:00{fraction} +0800 CST"),
            format!("2024-01-01 10:00:00{fraction} +0000 UTC"),
            format!("2024-01-01 10:00:00{fraction} +0000"),
            // Offsets that cross midnight and the year.
            format!("2023-12-31T23:00:00{fraction}-11:00"),
            format!("2024-01-02T00:00:00{fraction}+14:00"),
            format!("  2024-01-01T10:00:00{fraction}Z  "),
        ] {
            let body = json!({"alerts": [{"startsAt": time, "endsAt": time}]});
            let alert = one_alert(&body.to_string());
            assert_eq!(alert.starts_at, Some(expected), "{time:?}");
            assert_eq!(alert.ends_at, Some(expected), "{time:?}");
            assert_eq!(alert.starts_at.unwrap().timestamp_subsec_nanos(), nanos);
        }
    }
    // More than nine digits: truncated to nanoseconds.
    assert_eq!(
        one_alert(r#"{"alerts": [{"startsAt": "2024-01-01T10:00:00.1234567891234Z"}]}"#).starts_at,
        Some(ts("2024-01-01T10:00:00.123456789Z"))
    );
}

#[test]
fn epoch_timestamps() {
    let at =
        |value: &str| one_alert(&format!(r#"{{"alerts": [{{"startsAt": {value}}}]}}"#)).starts_at;
    let ten = ts("2024-01-01T10:00:00Z");
    assert_eq!(at("1704103200"), Some(ten), "seconds");
    assert_eq!(at("1704103200000"), Some(ten), "milliseconds");
    assert_eq!(
        at("1704103200123"),
        Some(ts("2024-01-01T10:00:00.123Z")),
        "milliseconds"
    );
    assert_eq!(at("1704103200.5"), Some(ts("2024-01-01T10:00:00.5Z")));
    assert_eq!(at("1.7041032e9"), Some(ten));
    assert_eq!(at("\"1704103200\""), Some(ten), "epoch in a string");
    assert_eq!(
        at("\"1704103200123\""),
        Some(ts("2024-01-01T10:00:00.123Z"))
    );
    assert_eq!(at("0"), Some(ts("1970-01-01T00:00:00Z")));
    assert_eq!(at("null"), None);
    // Epochs that cannot be a time are refused, not wrapped.
    for bad in ["-1", "1e400", "1e16", "\"-5\""] {
        assert_eq!(
            shape_path(AM, &format!(r#"{{"alerts": [{{"startsAt": {bad}}}]}}"#)),
            "alerts[0].startsAt",
            "{bad}"
        );
    }
}

#[test]
fn legacy_grafana() {
    let alerting = br#"{
        "title": "[Alerting] CPU high", "ruleId": 1, "ruleName": "CPU high", "state": "alerting",
        "evalMatches": [{"value": 100, "metric": "cpu", "tags": {"host": "a"}}],
        "message": "CPU above 90%", "ruleUrl": "http://grafana/d/abc?panelId=2",
        "orgId": 1, "dashboardId": 3, "panelId": 2, "tags": {"team": "infra", "tier": 1}
    }"#;
    let delivery = ok(GRAFANA, alerting);
    assert_eq!(delivery.source, GRAFANA);
    assert_eq!(delivery.status, Some(Firing));
    assert_eq!(delivery.alerts.len(), 1);
    let alert = &delivery.alerts[0];
    assert_eq!(alert.status, Firing);
    assert_eq!(
        alert.labels,
        labels(&[
            ("alertname", "CPU high"),
            ("grafana_rule_id", "1"),
            ("team", "infra"),
            ("tier", "1"),
        ])
    );
    assert_eq!(alert.annotations["description"], "CPU above 90%");
    assert_eq!(alert.annotations["summary"], "[Alerting] CPU high");
    assert_eq!(
        alert.generator_url.as_deref(),
        Some("http://grafana/d/abc?panelId=2")
    );
    assert_eq!(alert.starts_at, Some(received()));
    assert_eq!(alert.ends_at, None);
    assert_eq!(alert.extra["state"], "alerting");
    assert_eq!(alert.extra["evalMatches"][0]["value"], 100);
    assert_eq!(alert.extra["orgId"], 1);
    assert_eq!(delivery.common_labels, alert.labels);

    let resolved = ok(
        GRAFANA,
        br#"{"title": "[OK] CPU high", "ruleId": 1, "ruleName": "CPU high", "state": "ok",
            "evalMatches": [], "message": "back to normal", "ruleUrl": "http://grafana/d/abc"}"#,
    );
    assert_eq!(resolved.status, Some(Resolved));
    let alert = &resolved.alerts[0];
    assert_eq!(alert.status, Resolved);
    assert_eq!(alert.ends_at, Some(received()));
    assert_eq!(alert.alertname(), "CPU high", "same name as when it fired");
    assert_eq!(alert.labels["grafana_rule_id"], "1");

    for (state, status) in [
        ("paused", Resolved),
        ("no_data", Resolved),
        ("pending", Firing),
        ("", Firing),
    ] {
        let body = format!(r#"{{"ruleName": "r", "state": "{state}"}}"#);
        assert_eq!(
            ok(GRAFANA, body.as_bytes()).alerts[0].status,
            status,
            "{state:?}"
        );
    }
    // Title only, evalMatches only.
    let titled = ok(GRAFANA, br#"{"title": "T", "evalMatches": null}"#);
    assert_eq!(titled.alerts[0].alertname(), "T");
    let bare = ok(GRAFANA, br#"{"evalMatches": []}"#);
    assert_eq!(bare.alerts[0].alertname(), "");
    assert_eq!(bare.alerts[0].status, Firing);

    assert_eq!(
        shape_path(GRAFANA, r#"{"ruleName": "r", "state": "exploded"}"#),
        "state"
    );
    assert_eq!(
        shape_path(GRAFANA, r#"{"ruleName": "r", "evalMatches": "x"}"#),
        "evalMatches"
    );
    assert_eq!(
        shape_path(GRAFANA, r#"{"ruleName": "r", "tags": [1]}"#),
        "tags"
    );
    assert_eq!(
        shape_path(GRAFANA, r#"{"ruleName": "r", "tags": {"t": [1]}}"#),
        "tags.t"
    );
    assert_eq!(shape_path(GRAFANA, r#"{"ruleName": ["r"]}"#), "ruleName");
    // The Alertmanager parser does not read legacy bodies.
    assert_eq!(
        shape_path(AM, r#"{"ruleName": "r", "state": "ok"}"#),
        "alerts"
    );
}

#[test]
fn signoz() {
    let body = br#"{
        "receiver": "nightwatch",
        "status": "firing",
        "alerts": [
            {
                "status": "firing",
                "labels": {
                    "alertname": "High p99 latency",
                    "ruleId": "0196c0c5-7c7e-7d0d-9a9b-1f2e3d4c5b6a",
                    "ruleSource": "https://signoz.example.com/alerts/edit?ruleId=0196c0c5-7c7e-7d0d-9a9b-1f2e3d4c5b6a",
                    "service_name": "checkout",
                    "severity": "critical",
                    "threshold.name": "critical"
                },
                "annotations": {
                    "description": "p99 latency is 2.3s (threshold 1s)",
                    "summary": "checkout is slow"
                },
                "startsAt": "2026-11-25T09:51:10.123456789Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "https://signoz.example.com/alerts/edit?ruleId=0196c0c5-7c7e-7d0d-9a9b-1f2e3d4c5b6a",
                "fingerprint": "5f4dcc3b5aa765d6"
            },
            {
                "status": "resolved",
                "labels": {"alertname": "High p99 latency", "ruleId": "4", "ruleSource": "r", "service_name": "cart"},
                "annotations": {},
                "startsAt": "2026-11-25T08:00:00Z",
                "endsAt": "2026-11-25T09:00:00Z"
            }
        ],
        "groupLabels": {"alertname": "High p99 latency"},
        "commonLabels": {"alertname": "High p99 latency"},
        "commonAnnotations": {},
        "externalURL": "https://signoz.example.com",
        "version": "4",
        "groupKey": "{}/{ruleId=~\"-1|0196c0c5-7c7e-7d0d-9a9b-1f2e3d4c5b6a\"}:{alertname=\"High p99 latency\"}",
        "truncatedAlerts": 0
    }"#;
    let delivery = ok(Source::Signoz, body);
    assert_eq!(delivery.source, Source::Signoz);
    assert_eq!(delivery.version.as_deref(), Some("4"));
    assert_eq!(
        delivery.group_key.as_deref(),
        Some(
            r#"{}/{ruleId=~"-1|0196c0c5-7c7e-7d0d-9a9b-1f2e3d4c5b6a"}:{alertname="High p99 latency"}"#
        )
    );
    assert_eq!(delivery.alerts.len(), 2);
    let first = &delivery.alerts[0];
    assert_eq!(first.status, Firing);
    assert_eq!(first.alertname(), "High p99 latency");
    assert_eq!(
        first.labels["ruleId"],
        "0196c0c5-7c7e-7d0d-9a9b-1f2e3d4c5b6a"
    );
    assert!(first.labels["ruleSource"].starts_with("https://signoz.example.com/alerts/edit"));
    assert_eq!(first.labels["threshold.name"], "critical");
    assert_eq!(first.severity(), crate::model::Severity::Critical);
    assert_eq!(first.ends_at, None);
    assert_eq!(
        first.source_fingerprint.as_deref(),
        Some("5f4dcc3b5aa765d6")
    );
    let second = &delivery.alerts[1];
    assert_eq!(second.status, Resolved);
    assert_eq!(second.labels["ruleId"], "4");
    assert_eq!(second.ends_at, Some(ts("2026-11-25T09:00:00Z")));
    assert!(second.annotations.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

fn syntax(body: &[u8]) -> (usize, usize, String) {
    match parse(AM, body, received()) {
        Err(ParseError::Syntax {
            line,
            column,
            message,
        }) => (line, column, message),
        other => panic!(
            "{:?}: expected a syntax error, got {other:?}",
            String::from_utf8_lossy(body)
        ),
    }
}

#[test]
fn malformed_json_reports_line_and_column() {
    let (line, column, message) = syntax(b"{\n  \"alerts\": [,]\n}");
    assert_eq!((line, column), (2, 14), "{message}");
    assert!(!message.contains(" at line "), "{message}");
    assert!(message.contains("expected value"), "{message}");

    assert_eq!(syntax(b"").0, 1);
    assert_eq!(syntax(b"   \n\n  ").0, 3);
    let (line, column, _) = syntax(b"{\"alerts\": []}\n\nx");
    assert_eq!((line, column), (3, 1));
    assert_eq!(
        syntax(b"{\"alerts\": [\n{},\n{\"labels\": {\"a\" \"b\"}}]}").0,
        3
    );
    let (line, _, message) = syntax(b"{\"a\": \"unterminated");
    assert_eq!(line, 1);
    assert!(message.contains("EOF"), "{message}");
    // Not UTF-8; a byte-order mark; single quotes; trailing commas; NaN.
    for bad in [
        b"{\"alerts\": [{\"labels\": {\"a\": \"\xff\"}}]}".as_slice(),
        b"\xef\xbb\xbf{\"alerts\": []}",
        b"{'alerts': []}",
        b"{\"alerts\": [],}",
        b"{\"alerts\": [{\"startsAt\": NaN}]}",
    ] {
        syntax(bad);
    }
    // Deep nesting is refused by serde_json's recursion limit, not a stack overflow.
    let deep = "[".repeat(100_000);
    let (_, _, message) = syntax(deep.as_bytes());
    assert!(message.contains("recursion limit"), "{message}");

    let error = parse(AM, b"{", received()).unwrap_err();
    assert_eq!(error.reason(), "malformed_json");
    assert!(
        error
            .to_string()
            .starts_with("malformed JSON at line 1, column 1: ")
    );
    // Every source reports syntax errors the same way.
    for source in Source::ALL {
        assert_eq!(
            parse(source, b"{\n  \"alerts\": [,]\n}", received()),
            parse(AM, b"{\n  \"alerts\": [,]\n}", received())
        );
    }
}

#[test]
fn wrong_shapes_name_the_field() {
    let cases = [
        (r#"{"alerts": "x"}"#, "alerts"),
        (r#"{"alerts": {"0": {}}}"#, "alerts"),
        (r#"{"alerts": [{}, {"labels": ["a"]}]}"#, "alerts[1].labels"),
        (
            r#"{"alerts": [{"labels": {"foo": {"a": 1}}}]}"#,
            "alerts[0].labels.foo",
        ),
        (
            r#"{"alerts": [{"labels": {"foo": [1]}}]}"#,
            "alerts[0].labels.foo",
        ),
        (
            r#"{"alerts": [{"startsAt": "yesterday"}]}"#,
            "alerts[0].startsAt",
        ),
        (
            r#"{"alerts": [{"startsAt": "2024-13-01T00:00:00Z"}]}"#,
            "alerts[0].startsAt",
        ),
        (
            r#"{"alerts": [{"startsAt": "2024-01-01"}]}"#,
            "alerts[0].startsAt",
        ),
        (r#"{"alerts": [{"startsAt": true}]}"#, "alerts[0].startsAt"),
        (
            r#"{"alerts": [{}, {}, {"endsAt": {}}]}"#,
            "alerts[2].endsAt",
        ),
        (r#"{"alerts": [{"status": "weird"}]}"#, "alerts[0].status"),
        (r#"{"alerts": [{"status": 1}]}"#, "alerts[0].status"),
        (
            r#"{"alerts": [{"status": ["firing"]}]}"#,
            "alerts[0].status",
        ),
        (
            r#"{"alerts": [{"annotations": "text"}]}"#,
            "alerts[0].annotations",
        ),
        (
            r#"{"alerts": [{"annotations": {"d": {}}}]}"#,
            "alerts[0].annotations.d",
        ),
        (
            r#"{"alerts": [{"fingerprint": {}}]}"#,
            "alerts[0].fingerprint",
        ),
        (
            r#"{"alerts": [{"generatorURL": []}]}"#,
            "alerts[0].generatorURL",
        ),
        (r#"{"alerts": [{}, "alert"]}"#, "alerts[1]"),
        (r#"{"alerts": [null]}"#, "alerts[0]"),
        (r#"[1, 2]"#, "body"),
        (r#"[]"#, "body"),
        (r#""alerts""#, "body"),
        ("null", "body"),
        ("42", "body"),
        (r#"{"receiver": "x"}"#, "alerts"),
        ("{}", "alerts"),
        (r#"{"commonLabels": {"severity": "critical"}}"#, "alerts"),
        (r#"{"alerts": null, "commonLabels": {"x": "y"}}"#, "alerts"),
        (r#"{"status": "weird", "alerts": []}"#, "status"),
        (r#"{"receiver": {}, "alerts": []}"#, "receiver"),
        (r#"{"groupKey": [1], "alerts": []}"#, "groupKey"),
        (r#"{"version": {}, "alerts": []}"#, "version"),
        (r#"{"externalURL": [], "alerts": []}"#, "externalURL"),
        (
            r#"{"truncatedAlerts": -1, "alerts": []}"#,
            "truncatedAlerts",
        ),
        (
            r#"{"truncatedAlerts": 1.5, "alerts": []}"#,
            "truncatedAlerts",
        ),
        (
            r#"{"truncatedAlerts": "many", "alerts": []}"#,
            "truncatedAlerts",
        ),
        (
            r#"{"truncatedAlerts": true, "alerts": []}"#,
            "truncatedAlerts",
        ),
        (r#"{"groupLabels": "x", "alerts": []}"#, "groupLabels"),
        (r#"{"commonLabels": [], "alerts": []}"#, "commonLabels"),
        (
            r#"{"commonAnnotations": {"a": {}}, "alerts": []}"#,
            "commonAnnotations.a",
        ),
    ];
    for (body, path) in cases {
        for source in Source::ALL {
            assert_eq!(shape_path(source, body), path, "{source}: {body}");
        }
    }
    let error = parse(AM, br#"{"alerts": "x"}"#, received()).unwrap_err();
    assert_eq!(error.reason(), "invalid_shape");
    assert_eq!(
        error.to_string(),
        "alerts: expected an array, found a string"
    );
    let error = parse(AM, br#"{"alerts": [{"status": "weird"}]}"#, received()).unwrap_err();
    assert_eq!(
        error.to_string(),
        r#"alerts[0].status: expected "firing" or "resolved", found "weird""#
    );
}

#[test]
fn the_first_bad_field_is_reported() {
    // Envelope before alerts, alerts in order, labels before timestamps.
    assert_eq!(
        shape_path(AM, r#"{"status": 1, "alerts": [{"labels": []}]}"#),
        "status"
    );
    assert_eq!(
        shape_path(
            AM,
            r#"{"alerts": [{}, {"labels": [], "startsAt": "x"}, {"status": "x"}]}"#
        ),
        "alerts[1].labels"
    );
}

// ---------------------------------------------------------------------------------------------
// Property tests
// ---------------------------------------------------------------------------------------------

/// Field names the parsers look at, so generated objects reach past the top level.
const FIELD_NAMES: &[&str] = &[
    "version",
    "groupKey",
    "truncatedAlerts",
    "status",
    "receiver",
    "groupLabels",
    "commonLabels",
    "commonAnnotations",
    "externalURL",
    "alerts",
    "labels",
    "annotations",
    "startsAt",
    "endsAt",
    "generatorURL",
    "fingerprint",
    "alertname",
    "title",
    "state",
    "ruleName",
    "ruleId",
    "ruleUrl",
    "message",
    "tags",
    "evalMatches",
];

fn json_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "-?(0|[1-9][0-9]{0,39})(\\.[0-9]{1,10})?([eE][+-]?[0-9]{1,4})?"
            .prop_map(|text| Value::Number(text.parse().expect("a JSON number"))),
    ]
}

fn json_string() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("firing".to_owned()),
        Just("resolved".to_owned()),
        Just("ok".to_owned()),
        Just("alerting".to_owned()),
        Just("alertname".to_owned()),
        Just("0001-01-01T00:00:00Z".to_owned()),
        Just(String::new()),
        "[+-]?[0-9]{4,6}-[0-9]{2}-[0-9]{2}[T t][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{0,12})?\
         ( ?(Z|z|[+-][0-9]{2}:?[0-9]{0,2}))?( [A-Z]{1,4})?",
        "-?[0-9]{1,20}(\\.[0-9]{0,6})?",
        "\\PC{0,24}",
        ".{0,12}",
    ]
}

fn json_scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        json_number(),
        json_string().prop_map(Value::String),
    ]
}

/// Any JSON value: scalars of every kind, nested arrays and objects with parser field names.
fn json_value() -> impl Strategy<Value = Value> {
    json_scalar().prop_recursive(5, 96, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        3 => prop::sample::select(FIELD_NAMES).prop_map(str::to_owned),
                        1 => "\\PC{0,10}",
                    ],
                    inner
                ),
                0..8
            )
            .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

fn scalar_map() -> impl Strategy<Value = Value> {
    prop::collection::btree_map("\\PC{0,8}", json_scalar(), 0..5)
        .prop_map(|m| Value::Object(m.into_iter().collect()))
}

fn status_text() -> impl Strategy<Value = Value> {
    prop::sample::select(&["firing", "resolved", "FIRING", "Resolved", ""][..])
        .prop_map(Value::from)
}

fn time_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => (instant(), style()).prop_map(|(t, s)| write_time(t, s).0),
        1 => Just(Value::from("0001-01-01T00:00:00Z")),
        1 => json_scalar(),
    ]
}

/// A well-formed Alertmanager/Grafana-like body with a few fields (top-level or in one alert)
/// replaced by arbitrary JSON, so the checks deep inside see garbage too.
fn delivery_like() -> impl Strategy<Value = Value> {
    const TOP: &[&str] = &[
        "version",
        "groupKey",
        "truncatedAlerts",
        "status",
        "receiver",
        "groupLabels",
        "commonLabels",
        "commonAnnotations",
        "externalURL",
        "alerts",
        "title",
        "state",
        "ruleName",
        "ruleId",
        "message",
        "tags",
        "evalMatches",
    ];
    const ALERT: &[&str] = &[
        "status",
        "labels",
        "annotations",
        "startsAt",
        "endsAt",
        "generatorURL",
        "fingerprint",
        "values",
    ];
    let alert = (
        scalar_map(),
        scalar_map(),
        prop::option::of(status_text()),
        prop::option::of(time_value()),
        prop::option::of(time_value()),
    )
        .prop_map(|(labels, annotations, status, starts, ends)| {
            let mut obj = json!({"labels": labels, "annotations": annotations});
            for (key, value) in [("status", status), ("startsAt", starts), ("endsAt", ends)] {
                if let Some(value) = value {
                    obj[key] = value;
                }
            }
            obj
        });
    (
        prop::option::of(status_text()),
        scalar_map(),
        scalar_map(),
        prop::option::of(prop::collection::vec(alert, 0..5)),
        prop::collection::vec((prop::sample::select(TOP), json_value()), 0..3),
        prop::collection::vec(
            (
                any::<prop::sample::Index>(),
                prop::sample::select(ALERT),
                json_value(),
            ),
            0..3,
        ),
    )
        .prop_map(|(status, group, common, alerts, top_junk, alert_junk)| {
            let mut body = json!({"version": "4", "groupLabels": group, "commonLabels": common});
            if let Some(status) = status {
                body["status"] = status;
            }
            if let Some(mut alerts) = alerts {
                if !alerts.is_empty() {
                    for (index, key, value) in alert_junk {
                        let i = index.index(alerts.len());
                        alerts[i][key] = value;
                    }
                }
                body["alerts"] = Value::Array(alerts);
            }
            for (key, value) in top_junk {
                body[key] = value;
            }
            body
        })
}

/// What must hold for any valid JSON: never a syntax error; a shape error names a field that is
/// there (or `body`, or the missing `alerts`); a successful Alertmanager/SigNoz parse has one
/// alert per element of `alerts`; a parsed delivery survives serde.
fn check_json(value: &Value) -> Result<(), TestCaseError> {
    let body = serde_json::to_vec(value).unwrap();
    for source in Source::ALL {
        match parse(source, &body, received()) {
            Ok(delivery) => {
                prop_assert_eq!(delivery.source, source);
                if source != GRAFANA
                    && let Some(Value::Array(items)) = value.get("alerts")
                {
                    prop_assert_eq!(delivery.alerts.len(), items.len());
                }
                let text = serde_json::to_string(&delivery).unwrap();
                let back: Delivery = serde_json::from_str(&text)
                    .map_err(|e| TestCaseError::fail(format!("{e}: {text}")))?;
                prop_assert_eq!(back, delivery);
            }
            Err(ParseError::Shape { path, .. }) => {
                let head = path.split(['.', '[']).next().unwrap_or_default();
                match value {
                    Value::Object(top) => prop_assert!(
                        head == "alerts" || top.contains_key(head),
                        "{}: path {:?} names no field",
                        source,
                        path
                    ),
                    _ => prop_assert_eq!(path.as_str(), "body"),
                }
            }
            Err(error @ ParseError::Syntax { .. }) => {
                prop_assert!(false, "{}: valid JSON gave {:?}", source, error);
            }
        }
    }
    Ok(())
}

/// How a generated instant is written into a body.
#[derive(Debug, Clone, Copy)]
enum Style {
    Rfc3339 {
        digits: usize,
        offset_minutes: i32,
        space: bool,
        colon: bool,
    },
    GoString {
        digits: usize,
        offset_minutes: i32,
    },
    EpochSeconds {
        quoted: bool,
    },
    EpochMillis {
        quoted: bool,
    },
}

fn style() -> impl Strategy<Value = Style> {
    let offset = -14 * 60..=14 * 60;
    prop_oneof![
        3 => (0..=9usize, offset.clone(), any::<bool>(), any::<bool>()).prop_map(
            |(digits, offset_minutes, space, colon)| Style::Rfc3339 {
                digits,
                offset_minutes,
                space,
                colon,
            }
        ),
        1 => (0..=9usize, offset).prop_map(|(digits, offset_minutes)| Style::GoString {
            digits,
            offset_minutes,
        }),
        1 => any::<bool>().prop_map(|quoted| Style::EpochSeconds { quoted }),
        1 => any::<bool>().prop_map(|quoted| Style::EpochMillis { quoted }),
    ]
}

/// Writes `instant` in `style`; returns the JSON value and the instant it must parse back to.
fn write_time(instant: DateTime<Utc>, style: Style) -> (Value, DateTime<Utc>) {
    let keep = |digits: usize| {
        let nanos = instant.timestamp_subsec_nanos();
        let unit = 10_u32.pow(9 - u32::try_from(digits).unwrap());
        let kept = DateTime::from_timestamp(instant.timestamp(), nanos - nanos % unit).unwrap();
        let fraction = if digits == 0 {
            String::new()
        } else {
            format!(".{nanos:09}")[..=digits].to_owned()
        };
        (kept, fraction)
    };
    let local = |minutes: i32| instant.with_timezone(&FixedOffset::east_opt(minutes * 60).unwrap());
    let offset_text = |minutes: i32, colon: bool| {
        let sign = if minutes < 0 { '-' } else { '+' };
        let (h, m) = (minutes.abs() / 60, minutes.abs() % 60);
        if colon {
            format!("{sign}{h:02}:{m:02}")
        } else {
            format!("{sign}{h:02}{m:02}")
        }
    };
    match style {
        Style::Rfc3339 {
            digits,
            offset_minutes,
            space,
            colon,
        } => {
            let (kept, fraction) = keep(digits);
            let zone = if offset_minutes == 0 && colon {
                "Z".to_owned()
            } else {
                offset_text(offset_minutes, colon)
            };
            let separator = if space { ' ' } else { 'T' };
            let local = local(offset_minutes);
            let text = format!(
                "{}{separator}{}{fraction}{zone}",
                local.format("%Y-%m-%d"),
                local.format("%H:%M:%S")
            );
            (Value::from(text), kept)
        }
        Style::GoString {
            digits,
            offset_minutes,
        } => {
            let (kept, fraction) = keep(digits);
            let text = format!(
                "{}{fraction} {} XYZ",
                local(offset_minutes).format("%Y-%m-%d %H:%M:%S"),
                offset_text(offset_minutes, false)
            );
            (Value::from(text), kept)
        }
        Style::EpochSeconds { quoted } => {
            let secs = instant.timestamp();
            let value = if quoted {
                Value::from(secs.to_string())
            } else {
                Value::from(secs)
            };
            (value, DateTime::from_timestamp(secs, 0).unwrap())
        }
        Style::EpochMillis { quoted } => {
            let millis = instant.timestamp_millis();
            let value = if quoted {
                Value::from(millis.to_string())
            } else {
                Value::from(millis)
            };
            (value, DateTime::from_timestamp_millis(millis).unwrap())
        }
    }
}

/// An instant between 2001 and 2100 (epoch milliseconds stay above the seconds/millis cut).
fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    (1_000_000_000_i64..4_102_444_800, 0..1_000_000_000_u32)
        .prop_map(|(secs, nanos)| DateTime::from_timestamp(secs, nanos).unwrap())
}

#[derive(Debug, Clone)]
enum GenEnd {
    Absent,
    Zero,
    At(DateTime<Utc>, Style),
}

#[derive(Debug, Clone)]
struct GenAlert {
    labels: Labels,
    annotations: Labels,
    status: Option<AlertStatus>,
    starts: Option<(DateTime<Utc>, Style)>,
    ends: GenEnd,
}

fn label_map() -> impl Strategy<Value = Labels> {
    prop::collection::btree_map(
        prop_oneof!["[a-zA-Z_][a-zA-Z0-9_]{0,12}", "\\PC{1,12}"],
        "\\PC{0,24}",
        0..8,
    )
}

fn alert_status() -> impl Strategy<Value = AlertStatus> {
    prop_oneof![Just(Firing), Just(Resolved)]
}

fn gen_alert() -> impl Strategy<Value = GenAlert> {
    (
        label_map(),
        label_map(),
        prop::option::of(alert_status()),
        prop::option::of((instant(), style())),
        prop_oneof![
            Just(GenEnd::Absent),
            Just(GenEnd::Zero),
            (instant(), style()).prop_map(|(t, s)| GenEnd::At(t, s)),
        ],
    )
        .prop_map(|(labels, annotations, status, starts, ends)| GenAlert {
            labels,
            annotations,
            status,
            starts,
            ends,
        })
}

/// An expected alert: labels (with any inherited alertname), status, startsAt, endsAt.
type Want = (
    Labels,
    AlertStatus,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
);

/// Writes one generated alert as JSON and works out what it must parse into.
fn build_alert(
    alert: &GenAlert,
    group_status: Option<AlertStatus>,
    common_alertname: Option<&String>,
) -> (Value, Want) {
    let mut item = json!({"labels": alert.labels, "annotations": alert.annotations});
    if let Some(status) = alert.status {
        item["status"] = Value::from(status.as_str());
    }
    let starts_at = alert.starts.map(|(t, style)| {
        let (value, back) = write_time(t, style);
        item["startsAt"] = value;
        back
    });
    let ends_at = match alert.ends {
        GenEnd::Absent => None,
        GenEnd::Zero => {
            item["endsAt"] = Value::from("0001-01-01T00:00:00Z");
            None
        }
        GenEnd::At(t, style) => {
            let (value, back) = write_time(t, style);
            item["endsAt"] = value;
            Some(back)
        }
    };
    let status = alert.status.unwrap_or(match ends_at {
        Some(end) if end <= received() => Resolved,
        _ => group_status.unwrap_or(Firing),
    });
    let mut labels = alert.labels.clone();
    if let Some(name) = common_alertname {
        labels
            .entry("alertname".to_owned())
            .or_insert_with(|| name.clone());
    }
    (item, (labels, status, starts_at, ends_at))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        for source in Source::ALL {
            let _ = parse(source, &bytes, received());
        }
    }

    #[test]
    fn mangled_payloads_never_panic(
        index in 0..FIXTURES.len(),
        at in any::<prop::sample::Index>(),
        cut in 0..64usize,
        insert in prop::collection::vec(any::<u8>(), 0..16),
    ) {
        let original = payload(FIXTURES[index].0);
        let start = at.index(original.len());
        let end = (start + cut).min(original.len());
        let mut body = original[..start].to_vec();
        body.extend_from_slice(&insert);
        body.extend_from_slice(&original[end..]);
        for source in Source::ALL {
            let _ = parse(source, &body, received());
        }
    }

    #[test]
    fn arbitrary_json_never_panics(value in json_value()) {
        check_json(&value)?;
    }

    #[test]
    fn delivery_like_json_never_panics(value in delivery_like()) {
        check_json(&value)?;
    }

    #[test]
    fn valid_bodies_round_trip(
        alerts in prop::collection::vec(gen_alert(), 0..12),
        group_status in prop::option::of(alert_status()),
        common_alertname in prop::option::of("\\PC{1,16}"),
        group_key in prop_oneof![
            "\\PC{0,30}".prop_map(Value::from),
            "[1-9][0-9]{0,40}".prop_map(|n| Value::Number(n.parse().unwrap())),
        ],
        truncated in any::<u64>(),
    ) {
        let (items, wanted): (Vec<Value>, Vec<Want>) = alerts
            .iter()
            .map(|alert| build_alert(alert, group_status, common_alertname.as_ref()))
            .unzip();
        let mut body = json!({
            "version": "4",
            "groupKey": group_key,
            "truncatedAlerts": truncated,
            "receiver": "r",
            "alerts": items,
        });
        if let Some(status) = group_status {
            body["status"] = Value::from(status.as_str());
        }
        if let Some(name) = &common_alertname {
            body["commonLabels"] = json!({ "alertname": name });
        }
        let want_key = match &group_key {
            Value::String(s) if s.is_empty() => None,
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        };
        let bytes = serde_json::to_vec(&body).unwrap();
        for source in Source::ALL {
            let delivery = parse(source, &bytes, received())
                .map_err(|e| TestCaseError::fail(format!("{source}: {e}\n{body}")))?;
            prop_assert_eq!(delivery.alerts.len(), alerts.len());
            prop_assert_eq!(delivery.truncated_alerts, truncated);
            prop_assert_eq!(delivery.status, group_status);
            prop_assert_eq!(&delivery.group_key, &want_key);
            for ((parsed, want), generated) in delivery.alerts.iter().zip(&wanted).zip(&alerts) {
                let (labels, status, starts_at, ends_at) = want;
                prop_assert_eq!(&parsed.labels, labels);
                prop_assert_eq!(&parsed.annotations, &generated.annotations);
                prop_assert_eq!(parsed.status, *status);
                prop_assert_eq!(parsed.starts_at, *starts_at);
                prop_assert_eq!(parsed.ends_at, *ends_at);
                prop_assert!(parsed.extra.is_empty());
            }
        }
    }
}

//! End to end through the real binary, on SQLite and on Postgres: webhook ingest and its
//! errors, incidents through the API, manual changes, metrics and health.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// Tests against a real server and lab: the wall clock and real elapsed time are the point.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use nightwatch_testkit::{Nightwatch, both_backends_blocking, third_party_fixtures, wait_for};
use reqwest::blocking::Client;
use serde_json::{Value, json};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_nightwatch");

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(third_party_fixtures().join("payloads").join(name)).unwrap()
}

/// The value of one sample in `/metrics` (0 when absent).
/// nightwatch's `/metrics` page.
fn metrics_text(client: &Client, nw: &Nightwatch) -> String {
    client
        .get(nw.url("/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap()
}

fn metric(client: &Client, nw: &Nightwatch, series: &str) -> f64 {
    let metrics = metrics_text(client, nw);
    metrics
        .lines()
        .find_map(|line| {
            line.strip_prefix(series)
                .and_then(|rest| rest.trim().parse().ok())
        })
        .unwrap_or(0.0)
}

const AM_RESOLVED: &str =
    "nightwatch_alerts_received_total{source=\"alertmanager\",status=\"resolved\"}";

fn queue_empty(client: &Client, nw: &Nightwatch) -> bool {
    let metrics = metrics_text(client, nw);
    metrics
        .lines()
        .any(|line| line == "nightwatch_queue_depth 0")
}

fn crash_loop(status: &str, pod: &str, starts: &str) -> Value {
    json!({
        "version": "4", "status": status, "receiver": "nightwatch", "groupKey": "{}:{alertname=\"KubePodCrashLooping\"}",
        "alerts": [{
            "status": status,
            "labels": {"alertname": "KubePodCrashLooping", "namespace": "shop", "pod": pod, "container": "app", "severity": "critical"},
            "annotations": {"summary": format!("{pod} is crash looping"), "description": "Back-off restarting failed container"},
            "startsAt": starts,
            "endsAt": if status == "resolved" { "2026-11-25T10:05:00Z" } else { "0001-01-01T00:00:00Z" },
        }]
    })
}

#[test]
fn ingest_incidents_and_api_on_both_backends() {
    let client = Client::new();
    for (name, url, _guard) in both_backends_blocking("ingest") {
        let nw = Nightwatch::start(BIN, &url, None);

        // Every real third-party payload is accepted.
        let payloads = std::fs::read_dir(third_party_fixtures().join("payloads")).unwrap();
        let mut accepted = 0;
        for entry in payloads {
            let path = entry.unwrap().path();
            let file = path.file_name().unwrap().to_str().unwrap().to_owned();
            let endpoint = if file.starts_with("grafana_") {
                "/webhook/grafana"
            } else if file.starts_with("am_") {
                "/webhook/alertmanager"
            } else {
                continue;
            };
            let response = client
                .post(nw.url(endpoint))
                .body(std::fs::read(&path).unwrap())
                .send()
                .unwrap();
            assert_eq!(
                response.status(),
                200,
                "{name}: {file}: {}",
                response.text().unwrap()
            );
            accepted += 1;
        }
        assert_eq!(accepted, 19, "{name}");
        let resolved_before = metric(&client, &nw, AM_RESOLVED);

        // The alias and the SigNoz endpoint.
        let signoz = json!({"status": "firing", "alerts": [{"status": "firing", "labels": {"alertname": "HighLatency", "ruleId": "42", "ruleSource": "signoz"}, "startsAt": "2026-11-25T10:00:00Z"}]});
        assert_eq!(
            client
                .post(nw.url("/webhook/signoz"))
                .json(&signoz)
                .send()
                .unwrap()
                .status(),
            200
        );
        let receipt: Value = client
            .post(nw.url("/alertmanager"))
            .json(&crash_loop("firing", "api-1", "2026-11-25T10:00:00Z"))
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(receipt["alerts"], 1, "{name}");

        // Malformed JSON → 400 with line and column; wrong shape → 422 naming the field.
        let bad = client
            .post(nw.url("/webhook/alertmanager"))
            .body("{\n  \"alerts\": [,]\n}")
            .send()
            .unwrap();
        assert_eq!(bad.status(), 400);
        let body: Value = bad.json().unwrap();
        assert_eq!(
            (body["line"].as_u64(), body["column"].as_u64()),
            (Some(2), Some(14)),
            "{body}"
        );
        let shape = client
            .post(nw.url("/webhook/alertmanager"))
            .json(&json!({"alerts": [{"labels": ["x"]}]}))
            .send()
            .unwrap();
        assert_eq!(shape.status(), 422);
        let body: Value = shape.json().unwrap();
        assert_eq!(body["field"], "alerts[0].labels", "{body}");

        let crash = wait_for("the crash-loop incident", Duration::from_secs(20), || {
            nw.incidents("alertname=KubePodCrashLooping&namespace=shop")
                .into_iter()
                .next()
        });
        assert_eq!(crash["namespace"], "shop");
        assert_eq!(crash["pod"], "api-1");
        assert_eq!(crash["container"], "app");
        assert_eq!(crash["severity"], "critical");
        assert_eq!(crash["state"], "triggered");
        let id = crash["id"].as_i64().unwrap();

        // Duplicate → suppressed; ack; verdict; resolved by Alertmanager.
        client
            .post(nw.url("/webhook/alertmanager"))
            .json(&crash_loop("firing", "api-1", "2026-11-25T10:00:00Z"))
            .send()
            .unwrap();
        wait_for("the duplicate folded in", Duration::from_secs(20), || {
            let detail: Value = client
                .get(nw.url(&format!("/api/incidents/{id}")))
                .send()
                .unwrap()
                .json()
                .unwrap();
            (detail["incident"]["alert_count"] == 2).then_some(())
        });
        let ack: Value = client
            .post(nw.url(&format!("/api/incidents/{id}/ack")))
            .json(&json!({"by": "alice"}))
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(ack["state"], "acknowledged");
        // Authentication is off here: the change is the anonymous caller's, whatever the body
        // says (a body's name is never believed).
        assert_eq!(ack["acknowledged_by"], "anonymous");
        assert_eq!(
            client
                .post(nw.url(&format!("/api/incidents/{id}/ack")))
                .send()
                .unwrap()
                .status(),
            409
        );
        let bad_verdict = client
            .post(nw.url(&format!("/api/incidents/{id}/verdict")))
            .json(&json!({"verdict": "maybe"}))
            .send()
            .unwrap();
        assert_eq!(bad_verdict.status(), 400);
        let verdict: Value = client
            .post(nw.url(&format!("/api/incidents/{id}/verdict")))
            .json(&json!({"verdict": "real", "by": "alice"}))
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(verdict["verdict"], "real");
        client
            .post(nw.url("/webhook/alertmanager"))
            .json(&crash_loop("resolved", "api-1", "2026-11-25T10:00:00Z"))
            .send()
            .unwrap();
        let detail: Value = wait_for("resolution", Duration::from_secs(20), || {
            let detail: Value = client
                .get(nw.url(&format!("/api/incidents/{id}")))
                .send()
                .unwrap()
                .json()
                .unwrap();
            (detail["incident"]["state"] == "resolved").then_some(detail)
        });
        // The incident's own lifecycle, in order; the responder's runbook events (routed,
        // tool calls, final, analysis) interleave with it and are checked elsewhere.
        let lifecycle = [
            "triggered",
            "suppressed",
            "acknowledged",
            "verdict",
            "resolved",
        ];
        let kinds: Vec<&str> = detail["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap())
            .filter(|kind| lifecycle.contains(kind))
            .collect();
        assert!(
            detail["events"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["kind"] == "routed"),
            "{name}: the responder routed the incident"
        );
        assert_eq!(
            kinds,
            vec![
                "triggered",
                "suppressed",
                "acknowledged",
                "verdict",
                "resolved"
            ],
            "{name}"
        );
        assert_eq!(detail["alerts"].as_array().unwrap().len(), 3);

        // Firing again after resolve: a new incident linked to the old one, with history.
        client
            .post(nw.url("/webhook/alertmanager"))
            .json(&crash_loop("firing", "api-1", "2026-11-25T11:00:00Z"))
            .send()
            .unwrap();
        let newer = wait_for("the follow-up incident", Duration::from_secs(20), || {
            nw.incidents("alertname=KubePodCrashLooping&namespace=shop&state=triggered")
                .into_iter()
                .next()
        });
        assert_eq!(newer["previous_incident_id"], id);
        let newer_detail: Value = client
            .get(nw.url(&format!("/api/incidents/{}", newer["id"])))
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(newer_detail["related"]["same_pod"][0]["id"], id);
        assert_eq!(newer_detail["related"]["same_pod"][0]["verdict"], "real");

        // Filters.
        assert_eq!(nw.incidents("namespace=shop").len(), 2, "{name}");
        assert!(
            nw.incidents("state=resolved")
                .iter()
                .all(|i| i["state"] == "resolved")
        );
        assert_eq!(
            client
                .get(nw.url("/api/incidents?since=yesterday"))
                .send()
                .unwrap()
                .status(),
            400
        );
        let grafana = nw.incidents("alertname=TestAlert");
        assert_eq!(grafana.len(), 1, "{name}");
        assert_eq!(grafana[0]["source"], "grafana");
        assert_eq!(
            client
                .get(nw.url("/api/incidents/999999"))
                .send()
                .unwrap()
                .status(),
            404
        );

        // Metrics and health.
        wait_for("queue drained", Duration::from_secs(20), || {
            queue_empty(&client, &nw).then_some(())
        });
        let metrics = metrics_text(&client, &nw);
        for expected in [
            "nightwatch_alerts_received_total{source=\"grafana\",status=\"firing\"} 2",
            "nightwatch_deliveries_rejected_total{source=\"alertmanager\",reason=\"malformed_json\"} 1",
            "nightwatch_deliveries_rejected_total{source=\"alertmanager\",reason=\"invalid_shape\"} 1",
            "nightwatch_incidents{state=\"resolved\"} 1",
            "nightwatch_ingest_duration_seconds_count{source=\"signoz\"} 1",
        ] {
            assert!(
                metrics.lines().any(|l| l == expected),
                "{name}: missing {expected:?} in\n{metrics}"
            );
        }
        assert_eq!(
            metric(&client, &nw, AM_RESOLVED),
            resolved_before + 1.0,
            "{name}"
        );
        assert_eq!(client.get(nw.url("/healthz")).send().unwrap().status(), 200);
        assert_eq!(client.get(nw.url("/readyz")).send().unwrap().status(), 200);
    }
}

#[test]
fn auth_per_source_and_body_limit() {
    let client = Client::new();
    let (url, _guard) = nightwatch_testkit::fresh_sqlite_url();
    let config = r#"
max_body_bytes = 4096

[auth.alertmanager]
bearer_token = "am-token"

[auth.grafana.hmac]
secret = "grafana-secret"
timestamp_header = "X-Grafana-Alerting-Timestamp"
"#;
    let nw = Nightwatch::start(BIN, &url, Some(config));
    let body = fixture("am_prometheus_bot_simpe.json");
    let post = |path: &str| client.post(nw.url(path)).body(body.clone());
    assert_eq!(post("/webhook/alertmanager").send().unwrap().status(), 401);
    assert_eq!(
        post("/webhook/alertmanager")
            .bearer_auth("wrong")
            .send()
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        post("/webhook/alertmanager")
            .bearer_auth("am-token")
            .send()
            .unwrap()
            .status(),
        200
    );
    // SigNoz has no credentials of its own while the others have: refused, not open.
    let refused = post("/webhook/signoz").send().unwrap();
    assert_eq!(refused.status(), 401);
    let why: Value = refused.json().unwrap();
    assert!(
        why["error"].as_str().unwrap().contains("open = true"),
        "{why}"
    );

    // Grafana's HMAC over "timestamp:body".
    let grafana = fixture("grafana_keep_v12_test_notification.json");
    let now = chrono::Utc::now().timestamp().to_string();
    let sign = |ts: &str, body: &[u8]| {
        use hmac::Mac;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"grafana-secret").unwrap();
        mac.update(ts.as_bytes());
        mac.update(b":");
        mac.update(body);
        hex::encode(mac.finalize().into_bytes())
    };
    let signed = client
        .post(nw.url("/webhook/grafana"))
        .header("X-Grafana-Alerting-Signature", sign(&now, &grafana))
        .header("X-Grafana-Alerting-Timestamp", &now)
        .body(grafana.clone())
        .send()
        .unwrap();
    assert_eq!(signed.status(), 200);
    let forged = client
        .post(nw.url("/webhook/grafana"))
        .header("X-Grafana-Alerting-Signature", sign(&now, b"other body"))
        .header("X-Grafana-Alerting-Timestamp", &now)
        .body(grafana)
        .send()
        .unwrap();
    assert_eq!(forged.status(), 401);

    // Over the limit → 413 with a message, and nothing stored.
    let big = json!({"alerts": [{"labels": {"alertname": "Big"}, "annotations": {"description": "x".repeat(8192)}}]});
    let response = client
        .post(nw.url("/webhook/alertmanager"))
        .bearer_auth("am-token")
        .json(&big)
        .send()
        .unwrap();
    assert_eq!(response.status(), 413);
    assert!(response.text().unwrap().contains("max_body_bytes"));
    let all: Value = client
        .get(nw.url("/api/incidents"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(
        all["incidents"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["alertname"] != "Big")
    );
    let metrics = metrics_text(&client, &nw);
    assert!(metrics.contains("nightwatch_deliveries_rejected_total{source=\"alertmanager\",reason=\"unauthorized\"} 2"), "{metrics}");
    assert!(
        metrics.contains(
            "nightwatch_deliveries_rejected_total{source=\"alertmanager\",reason=\"too_large\"} 1"
        ),
        "{metrics}"
    );
}

/// A source may stay open beside others with credentials when the config says so, and every
/// open source is named in a warning at start.
#[test]
fn a_source_left_open_on_purpose_is_open_and_warned_about() {
    let (url, _guard) = nightwatch_testkit::fresh_sqlite_url();
    let config = "[auth.alertmanager]\nbearer_token = \"am-token\"\n[auth.signoz]\nopen = true\n";
    let nw = Nightwatch::start(BIN, &url, Some(config));
    let body = fixture("am_prometheus_bot_simpe.json");
    let post = |path: &str| {
        Client::new()
            .post(nw.url(path))
            .body(body.clone())
            .send()
            .unwrap()
    };
    assert_eq!(post("/webhook/signoz").status(), 200);
    assert_eq!(post("/webhook/grafana").status(), 401);
    let log = nw.log();
    assert!(
        log.contains("accepts deliveries without credentials") && log.contains("signoz"),
        "{log}"
    );
}

/// A raw HTTP/1.1 request whose headers promise `length` body bytes and send `sent` of them;
/// the connection stays open (and the body unfinished) while the stream lives.
fn half_sent(
    nw: &Nightwatch,
    path: &str,
    auth: &str,
    length: usize,
    sent: &[u8],
) -> std::net::TcpStream {
    use std::io::Write;
    let address = nw.base_url.trim_start_matches("http://").to_owned();
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n{auth}Content-Length: {length}\r\n\r\n"
    )
    .unwrap();
    stream.write_all(sent).unwrap();
    stream.flush().unwrap();
    stream
}

/// The status line of the answer on `stream` (read until the server answers or closes).
fn status_of(stream: &mut std::net::TcpStream) -> String {
    use std::io::Read;
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn one_sender_cannot_exhaust_nightwatch_limits_answer_before_the_work() {
    let client = Client::new();
    let (url, _guard) = nightwatch_testkit::fresh_sqlite_url();
    let config = r#"
[ingest]
max_concurrent = 1
body_timeout = "6s"
max_alerts = 3
max_labels = 8
max_value_bytes = 1024

[auth.alertmanager]
bearer_token = "am-token"
"#;
    let nw = Nightwatch::start(BIN, &url, Some(config));
    let post = |body: &Value| {
        client
            .post(nw.url("/webhook/alertmanager"))
            .bearer_auth("am-token")
            .json(body)
            .send()
            .unwrap()
    };
    let alert = |labels: Value| json!({"status": "firing", "labels": labels, "annotations": {}});
    // Over each content limit: 413 naming the limit and where, nothing stored.
    let table = [
        (
            json!({"alerts": [alert(json!({"alertname": "A"})), alert(json!({"alertname": "B"})),
                              alert(json!({"alertname": "C"})), alert(json!({"alertname": "D"}))]}),
            "max_alerts",
        ),
        (
            json!({"alerts": [alert(json!({"alertname": "x".repeat(2048)}))]}),
            "max_value_bytes",
        ),
        (
            json!({"alerts": [alert((0..9).map(|i| (format!("l{i}"), json!("v"))).collect::<serde_json::Map<_, _>>().into())]}),
            "max_labels",
        ),
    ];
    for (body, limit) in table {
        let response = post(&body);
        assert_eq!(response.status(), 413, "{limit}");
        let why: Value = response.json().unwrap();
        assert_eq!(why["limit"], limit, "{why}");
        assert!(why["field"].is_string(), "{why}");
    }
    assert_eq!(
        post(&json!({"alerts": [alert(json!({"alertname": "Fits", "namespace": "shop"}))]}))
            .status(),
        200
    );

    // Wrong credentials are refused on the headers: the promised megabyte is never awaited.
    let mut refused = half_sent(
        &nw,
        "/webhook/alertmanager",
        "Authorization: Bearer wrong\r\n",
        1 << 20,
        b"{\"alerts\": [",
    );
    assert!(
        status_of(&mut refused).contains(" 401 "),
        "refused before the body"
    );

    // A body that never finishes: 408 once body_timeout has passed. While it holds the only
    // slot, another delivery is told to come back (503), and is stored once the slot is free.
    // (The slow one may reach the server after a delivery sent later and lose the slot to it:
    // then it was answered 503 itself, and is sent again.)
    let mut attempts = 0;
    let mut slow = loop {
        attempts += 1;
        assert!(attempts <= 10, "the slow delivery never held the slot");
        let slow = half_sent(
            &nw,
            "/webhook/alertmanager",
            "Authorization: Bearer am-token\r\n",
            4096,
            b"{\"alerts\": [",
        );
        std::thread::sleep(std::time::Duration::from_millis(300));
        let status = post(&json!({"alerts": [alert(json!({"alertname": "WhileBusy"}))]})).status();
        if status == 503 {
            break slow;
        }
    };
    assert!(
        status_of(&mut slow).contains(" 408 "),
        "the slow body timed out"
    );
    assert_eq!(
        post(&json!({"alerts": [alert(json!({"alertname": "AfterBusy"}))]})).status(),
        200
    );

    let metrics = metrics_text(&client, &nw);
    for (reason, count) in [("over_limit", 3), ("unauthorized", 1), ("body_timeout", 1)] {
        assert!(
            metrics.contains(&format!(
                "nightwatch_deliveries_rejected_total{{source=\"alertmanager\",reason=\"{reason}\"}} {count}"
            )),
            "{reason}: {metrics}"
        );
    }
    assert!(
        metrics.contains(
            "nightwatch_deliveries_rejected_total{source=\"alertmanager\",reason=\"busy\"}"
        ),
        "{metrics}"
    );
}

#[test]
fn idle_and_half_sent_connections_are_closed_and_never_starve_the_server() {
    use std::io::Read;
    let client = Client::new();
    let (url, _guard) = nightwatch_testkit::fresh_sqlite_url();
    let config = "[http]\nmax_connections = 4\nheader_timeout = \"1s\"\n";
    let nw = Nightwatch::start(BIN, &url, Some(config));
    let address = nw.base_url.trim_start_matches("http://").to_owned();
    // Four connections that send nothing (or half a request line) take every slot…
    let mut idle: Vec<std::net::TcpStream> = (0..4)
        .map(|i| {
            let mut stream = std::net::TcpStream::connect(&address).unwrap();
            if i % 2 == 1 {
                use std::io::Write;
                stream.write_all(b"GET /healthz HT").unwrap();
            }
            stream
        })
        .collect();
    // …so one more is closed on arrival (retried until the server has taken all four).
    let mut refused_seen = false;
    for _ in 0..50 {
        let mut extra = std::net::TcpStream::connect(&address).unwrap();
        extra
            .set_read_timeout(Some(std::time::Duration::from_millis(500)))
            .unwrap();
        let mut buf = [0u8; 16];
        if matches!(extra.read(&mut buf), Ok(0)) {
            refused_seen = true;
            break;
        }
    }
    assert!(refused_seen, "a connection over max_connections is closed");
    // The header deadline closes the idle ones, and the server answers again.
    for stream in &mut idle {
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(30)))
            .unwrap();
        let mut rest = Vec::new();
        let _ = stream.read_to_end(&mut rest);
    }
    let healthy = (0..100).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(100));
        client
            .get(nw.url("/healthz"))
            .send()
            .is_ok_and(|r| r.status() == 200)
    });
    assert!(
        healthy,
        "the server answers once the idle connections are gone"
    );
    assert!(metric(&client, &nw, "nightwatch_connections_refused_total") >= 1.0);
}

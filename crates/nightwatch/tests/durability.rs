//! Durability through crashes and storage failures, on the real binary:
//! - SIGKILL during a flood of posts, restart: every alert that got a 2xx is stored and
//!   processed exactly once (SQLite and Postgres);
//! - storage down answers 503 (so Alertmanager retries) and stores nothing; it recovers;
//! - Postgres gone mid-storm and back: with senders retrying 503s, nothing acknowledged is lost;
//! - a full disk (SQLite on a small tmpfs) answers 503 and readiness fails, never a 200 for
//!   what was not stored; with room again ingest recovers by itself;
//! - two processes on one Postgres never hold two open incidents for one fingerprint.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use nightwatch_testkit::storm::{Db, Storm};
use nightwatch_testkit::{Nightwatch, SmallDisk, both_backends_blocking, free_port, wait_for};
use reqwest::blocking::Client;
use serde_json::{Value, json};
use sqlx::Row;
use std::collections::HashMap;
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_nightwatch");

fn flood_alert(seq: u64) -> Value {
    json!({
        "version": "4", "status": "firing",
        "alerts": [{
            "status": "firing",
            "labels": {"alertname": "Flood", "namespace": "load", "pod": format!("pod-{seq}"), "seq": seq.to_string()},
            "startsAt": "2026-11-25T10:00:00Z",
        }]
    })
}

#[test]
fn sigkill_during_flood_loses_no_acknowledged_alert() {
    for (name, url, _guard) in both_backends_blocking("sigkill") {
        let mut nw = Nightwatch::start(BIN, &url, None);
        let port = nw.port;
        let storm = Storm::start(nw.url("/webhook/alertmanager"), 8, |client, url, seq| {
            match client.post(url).json(&flood_alert(seq)).send() {
                Ok(response) if response.status().is_success() => true,
                Ok(response) => panic!("unexpected status {}", response.status()),
                // The process died under us: this request was never acknowledged.
                Err(_) => false,
            }
        });
        wait_for("some acknowledged posts", Duration::from_secs(30), || {
            (storm.acked() > 300).then_some(())
        });
        nw.kill();
        let acked = storm.stop();

        // Restart on the same database; the queue left by the crash is worked off.
        let nw = Nightwatch::start_on(BIN, &url, None, port);
        let db = Db::connect(&url);
        wait_for(
            "queue drained after restart",
            Duration::from_secs(60),
            || (db.count("SELECT COUNT(*) FROM alert_queue") == 0).then_some(()),
        );
        let rows = db.rows(sqlx::query(
            "SELECT a.labels, a.outcome, a.processed_at, (SELECT COUNT(*) FROM incident_events e WHERE e.alert_id = a.id) AS events \
             FROM alerts a WHERE a.alertname = 'Flood'",
        ));
        let mut by_seq: HashMap<u64, Vec<(String, i64)>> = HashMap::new();
        for row in &rows {
            let labels: Value = serde_json::from_str(&row.get::<String, _>("labels")).unwrap();
            let seq: u64 = labels["seq"].as_str().unwrap().parse().unwrap();
            let outcome: Option<String> = row.get("outcome");
            let processed: Option<i64> = row.get("processed_at");
            assert!(processed.is_some(), "{name}: alert {seq} never processed");
            by_seq
                .entry(seq)
                .or_default()
                .push((outcome.unwrap(), row.get::<i64, _>("events")));
        }
        for seq in &acked {
            let stored = by_seq
                .get(seq)
                .unwrap_or_else(|| panic!("{name}: acknowledged alert {seq} lost"));
            assert_eq!(
                stored.len(),
                1,
                "{name}: alert {seq} stored {} times",
                stored.len()
            );
            assert_eq!(
                stored[0],
                ("opened".to_owned(), 1),
                "{name}: alert {seq} processed exactly once"
            );
        }
        // Each stored alert opened exactly one incident of its own.
        let incidents = db.count("SELECT COUNT(*) FROM incidents WHERE alertname = 'Flood'");
        assert_eq!(incidents as usize, by_seq.len(), "{name}");
        eprintln!(
            "{name}: {} acknowledged before SIGKILL, {} stored (unacknowledged ones may be stored too)",
            acked.len(),
            by_seq.len()
        );
        drop(nw);
    }
}

#[test]
fn storage_down_answers_503_and_stores_nothing() {
    let url = nightwatch_testkit::fresh_postgres_url_blocking("storagedown");
    let admin = nightwatch_testkit::postgres_admin_url();
    let database = url.rsplit('/').next().unwrap().to_owned();
    let nw = Nightwatch::start(BIN, &url, None);
    let client = Client::new();
    let post = |seq: u64| {
        client
            .post(nw.url("/webhook/alertmanager"))
            .json(&flood_alert(seq))
            .send()
            .unwrap()
    };
    assert_eq!(post(1).status(), 200);

    // Take the database away: refuse new connections and cut the open ones.
    let admin_db = Db::connect(&admin);
    admin_db.exec(&format!(
        "ALTER DATABASE {database} ALLOW_CONNECTIONS false"
    ));
    admin_db.exec(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}'"
    ));
    let response = post(2);
    assert_eq!(
        response.status(),
        503,
        "storage failure must make Alertmanager retry"
    );
    assert_eq!(response.headers().get("retry-after").unwrap(), "5");
    let body: Value = response.json().unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("storage unavailable"),
        "{body}"
    );
    assert_eq!(client.get(nw.url("/readyz")).send().unwrap().status(), 503);

    // Back: the same request now succeeds, and only acknowledged deliveries exist.
    admin_db.exec(&format!("ALTER DATABASE {database} ALLOW_CONNECTIONS true"));
    let retried = wait_for("storage back", Duration::from_secs(30), || {
        let response = post(2);
        response.status().is_success().then_some(response)
    });
    assert_eq!(retried.status(), 200);
    let db = Db::connect(&url);
    let seqs: Vec<String> = db
        .rows(sqlx::query("SELECT labels FROM alerts ORDER BY id"))
        .iter()
        .map(|row| {
            serde_json::from_str::<Value>(&row.get::<String, _>("labels")).unwrap()["seq"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        seqs,
        vec!["1", "2"],
        "the refused attempt left nothing behind"
    );
}

/// Postgres taken away in the middle of a storm and given back: the senders retry every 503
/// as Alertmanager does; every alert that got a 2xx is stored and processed, and each seq has
/// exactly one incident. (The outage is this database's: connections refused and the open
/// ones cut, the way a restart looks to a client; the server itself is shared with other
/// tests, so it is not stopped.)
#[test]
fn a_postgres_outage_mid_storm_loses_no_acknowledged_alert() {
    let url = nightwatch_testkit::fresh_postgres_url_blocking("outage");
    let admin = nightwatch_testkit::postgres_admin_url();
    let database = url.rsplit('/').next().unwrap().to_owned();
    let nw = Nightwatch::start(BIN, &url, None);
    let unavailable = Arc::new(AtomicU64::new(0));
    let answered_503 = unavailable.clone();
    let storm = Storm::start(
        nw.url("/webhook/alertmanager"),
        8,
        move |client, url, seq| {
            // Retried until acknowledged (for two minutes at most), as Alertmanager retries a 5xx.
            for _ in 0..1200 {
                match client.post(url).json(&flood_alert(seq)).send() {
                    Ok(response) if response.status().is_success() => return true,
                    Ok(response) if response.status() == 503 => {
                        answered_503.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(100));
                    }
                    Ok(response) => panic!("unexpected status {}", response.status()),
                    Err(error) => panic!("the server went away: {error}"),
                }
            }
            panic!("alert {seq} never acknowledged");
        },
    );
    let acked_count = || storm.acked();
    wait_for("acknowledged posts before", Duration::from_secs(60), || {
        (acked_count() > 200).then_some(())
    });

    // The database goes away mid-storm…
    let admin_db = Db::connect(&admin);
    admin_db.exec(&format!(
        "ALTER DATABASE {database} ALLOW_CONNECTIONS false"
    ));
    admin_db.exec(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}'"
    ));
    wait_for("503s while it is gone", Duration::from_secs(60), || {
        (unavailable.load(Ordering::SeqCst) >= 20).then_some(())
    });
    let client = Client::new();
    assert_eq!(client.get(nw.url("/readyz")).send().unwrap().status(), 503);
    // …and comes back; the storm goes on and the retried alerts get in.
    let before = acked_count();
    admin_db.exec(&format!("ALTER DATABASE {database} ALLOW_CONNECTIONS true"));
    wait_for("acknowledged posts after", Duration::from_secs(120), || {
        (acked_count() > before + 200).then_some(())
    });
    let acked = storm.stop();
    assert_eq!(client.get(nw.url("/readyz")).send().unwrap().status(), 200);

    let db = Db::connect(&url);
    wait_for("queue drained", Duration::from_secs(120), || {
        (db.count("SELECT COUNT(*) FROM alert_queue") == 0).then_some(())
    });
    let rows = db.rows(sqlx::query(
        "SELECT a.labels, a.processed_at FROM alerts a WHERE a.alertname = 'Flood'",
    ));
    let mut stored: HashMap<u64, usize> = HashMap::new();
    for row in &rows {
        let labels: Value = serde_json::from_str(&row.get::<String, _>("labels")).unwrap();
        let seq: u64 = labels["seq"].as_str().unwrap().parse().unwrap();
        let processed: Option<i64> = row.get("processed_at");
        assert!(processed.is_some(), "alert {seq} never processed");
        *stored.entry(seq).or_default() += 1;
    }
    for seq in &acked {
        assert!(stored.contains_key(seq), "acknowledged alert {seq} lost");
    }
    // A delivery whose commit raced the cut may be stored and retried (at least once); it is
    // still one incident.
    let incidents = db.count("SELECT COUNT(*) FROM incidents WHERE alertname = 'Flood'");
    assert_eq!(incidents as usize, stored.len());
    eprintln!(
        "{} acknowledged, {} answers 503 during the outage, {} alerts stored for {} seqs",
        acked.len(),
        unavailable.load(Ordering::SeqCst),
        rows.len(),
        stored.len()
    );
}

/// A delivery of a few kilobytes, so a small disk fills in a few hundred posts.
fn bulky_alert(seq: u64) -> Value {
    let mut delivery = flood_alert(seq);
    delivery["alerts"][0]["annotations"] = json!({"description": "x".repeat(4096)});
    delivery
}

/// SQLite on an 8 MiB tmpfs, posting well past the first 503: every 200 names a new delivery,
/// `/readyz` says not ready while the writer cannot commit, ingest recovers by itself once the
/// disk has room, and after a SIGKILL and a restart every acknowledged delivery and alert is
/// there, processed once.
#[test]
fn full_disk_answers_503_never_acknowledges_what_is_not_stored_and_recovers() {
    let disk = SmallDisk::new("8m");
    let enter = disk.enter();
    let wrapper: Vec<&str> = enter.iter().map(String::as_str).collect();
    let url = format!("sqlite://{}", disk.dir().join("nightwatch.db").display());
    let port = free_port();
    let mut nw = Nightwatch::start_wrapped(&wrapper, BIN, &url, None, port);
    let client = Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let mut acked: Vec<(u64, i64)> = Vec::new();
    let mut refused = 0;
    let mut not_ready = 0;
    let mut seq = 0;
    let post = |seq: u64, acked: &mut Vec<(u64, i64)>| -> u16 {
        let response = client
            .post(nw.url("/webhook/alertmanager"))
            .json(&bulky_alert(seq))
            .send()
            .unwrap();
        let status = response.status().as_u16();
        match status {
            200 => {
                let body: Value = response.json().unwrap();
                acked.push((seq, body["delivery_id"].as_i64().unwrap()));
            }
            503 => {
                assert!(response.headers().contains_key("retry-after"));
            }
            other => panic!("unexpected status {other} for delivery {seq}"),
        }
        status
    };
    // Fill the disk, then keep posting: the bug was 200s again after the first failure.
    while refused < 150 {
        assert!(
            seq < 5_000,
            "an 8 MiB disk never filled: {} acknowledged, {refused} refused",
            acked.len()
        );
        if post(seq, &mut acked) == 503 {
            refused += 1;
            if client.get(nw.url("/readyz")).send().unwrap().status() == 503 {
                not_ready += 1;
            }
        }
        seq += 1;
    }
    let acked_while_full = acked.len();
    assert!(
        not_ready > 0,
        "/readyz stayed ready through {refused} refused deliveries"
    );

    // Room again: ingest and readiness come back without a restart.
    disk.resize("64m");
    wait_for("ingest recovers", Duration::from_secs(60), || {
        let status = post(seq, &mut acked);
        seq += 1;
        (status == 200).then_some(())
    });
    for _ in 0..20 {
        assert_eq!(post(seq, &mut acked), 200, "after recovery");
        seq += 1;
    }
    assert_eq!(client.get(nw.url("/readyz")).send().unwrap().status(), 200);
    let ids: HashSet<i64> = acked.iter().map(|(_, id)| *id).collect();
    assert_eq!(
        ids.len(),
        acked.len(),
        "a delivery id was acknowledged twice"
    );

    // A crash, a restart: everything acknowledged is there and processed once.
    nw.kill();
    let mut nw = Nightwatch::start_wrapped(&wrapper, BIN, &url, None, port);
    wait_for(
        "queue drained after restart",
        Duration::from_secs(60),
        || {
            let metrics = client.get(nw.url("/metrics")).send().ok()?.text().ok()?;
            metrics
                .lines()
                .any(|line| line.starts_with("nightwatch_queue_depth") && line.ends_with(" 0"))
                .then_some(())
        },
    );
    // SQLite resolves the `/proc/PID/root` link to the host's (empty) directory, so the files
    // are read from a copy taken after a clean stop.
    assert!(nw.terminate(), "clean stop:\n{}", nw.log());
    let copy = tempfile::tempdir().unwrap();
    for file in ["nightwatch.db", "nightwatch.db-wal"] {
        if disk.host_path(file).exists() {
            std::fs::copy(disk.host_path(file), copy.path().join(file)).unwrap();
        }
    }
    let db = Db::connect(&format!(
        "sqlite://{}",
        copy.path().join("nightwatch.db").display()
    ));
    assert_eq!(db.count("SELECT COUNT(*) FROM alert_queue"), 0);
    let stored: HashSet<i64> = db
        .rows(sqlx::query("SELECT id FROM deliveries"))
        .iter()
        .map(|row| row.get::<i64, _>("id"))
        .collect();
    let lost: Vec<&(u64, i64)> = acked
        .iter()
        .filter(|(_, id)| !stored.contains(id))
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged deliveries lost: {lost:?}",
        lost.len(),
        acked.len()
    );
    for (seq, delivery_id) in &acked {
        let rows = db.rows(
            sqlx::query(
                "SELECT a.labels, a.outcome, (SELECT COUNT(*) FROM incident_events e WHERE e.alert_id = a.id) AS events \
                 FROM alerts a WHERE a.delivery_id = $1",
            )
            .bind(delivery_id),
        );
        assert_eq!(rows.len(), 1, "delivery {delivery_id}: its one alert");
        let labels: Value = serde_json::from_str(&rows[0].get::<String, _>("labels")).unwrap();
        assert_eq!(labels["seq"], seq.to_string(), "delivery {delivery_id}");
        assert_eq!(rows[0].get::<i64, _>("events"), 1, "applied once");
    }
    eprintln!(
        "full disk: {acked_while_full} acknowledged before and while full, {refused} refused \
         ({not_ready} readiness checks failed), {} acknowledged in all, all stored",
        acked.len()
    );
}

/// Two nightwatch processes on one Postgres, both taking a flapping flood for a few
/// fingerprints: at no point two open incidents for one fingerprint, and every alert applied
/// once, in order per fingerprint.
#[test]
fn two_processes_on_one_postgres_never_open_two_incidents_per_fingerprint() {
    let url = nightwatch_testkit::fresh_postgres_url_blocking("tworeplicas");
    let config = "workers = 3\n";
    let a = Nightwatch::start(BIN, &url, Some(config));
    let b = Nightwatch::start(BIN, &url, Some(config));
    let db = Db::connect(&url);
    let violations = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    // Watch for a violation while the flood is applied (the unique index would also refuse one).
    let watcher = {
        let (url, violations, done) = (url.clone(), violations.clone(), done.clone());
        std::thread::spawn(move || {
            let db = Db::connect(&url);
            while !done.load(Ordering::SeqCst) {
                let n = db.count(
                    "SELECT COUNT(*) FROM (SELECT fingerprint FROM incidents WHERE state <> 'resolved' \
                     GROUP BY fingerprint HAVING COUNT(*) > 1) t",
                );
                violations.fetch_add(n as u64, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let rounds = 40;
    let senders: Vec<_> = [a.url("/webhook/alertmanager"), b.url("/webhook/alertmanager")]
        .into_iter()
        .enumerate()
        .map(|(replica, url)| {
            std::thread::spawn(move || {
                let client = Client::new();
                for round in 0..rounds {
                    let mut alerts = Vec::new();
                    for pod in 0..5 {
                        // Both replicas receive the same alerts, as two Alertmanagers in HA would send.
                        let starts = format!("2026-11-25T10:{:02}:00Z", round);
                        let labels = json!({"alertname": "Flap", "namespace": "ha", "pod": format!("p{pod}")});
                        alerts.push(json!({"status": "firing", "labels": labels, "startsAt": starts}));
                        if round % 4 == 3 {
                            alerts.push(json!({"status": "resolved", "labels": labels, "startsAt": starts, "endsAt": "2026-11-25T11:00:00Z"}));
                        }
                    }
                    let response = client.post(&url).json(&json!({"alerts": alerts})).send().unwrap();
                    assert!(response.status().is_success(), "replica {replica}: {}", response.status());
                }
            })
        })
        .collect();
    for sender in senders {
        sender.join().unwrap();
    }
    wait_for("both queues drained", Duration::from_secs(60), || {
        (db.count("SELECT COUNT(*) FROM alert_queue") == 0).then_some(())
    });
    done.store(true, Ordering::SeqCst);
    watcher.join().unwrap();
    assert_eq!(
        violations.load(Ordering::SeqCst),
        0,
        "two open incidents for one fingerprint seen"
    );
    let unprocessed = db.count("SELECT COUNT(*) FROM alerts WHERE processed_at IS NULL");
    assert_eq!(unprocessed, 0);
    let events = db.count("SELECT COUNT(*) FROM incident_events WHERE alert_id IS NOT NULL");
    let alerts = db.count("SELECT COUNT(*) FROM alerts");
    assert_eq!(
        events, alerts,
        "one event per alert: each applied exactly once"
    );
    // 10 resolution rounds per pod.
    for pod in 0..5 {
        let rows = db.rows(
            sqlx::query("SELECT state FROM incidents WHERE pod = $1 ORDER BY id")
                .bind(format!("p{pod}")),
        );
        let states: Vec<String> = rows.iter().map(|r| r.get("state")).collect();
        // Occurrences that overlap in arrival across the replicas fold into one incident, so
        // there are at most 10; the last round resolves, so none stays open.
        assert!((1..=10).contains(&states.len()), "p{pod}: {states:?}");
        assert!(states.iter().all(|s| s == "resolved"), "p{pod}: {states:?}");
    }
    assert!(
        !a.log().contains("queue processing failed")
            && !b.log().contains("queue processing failed"),
        "{}\n{}",
        a.log(),
        b.log()
    );
}

/// SIGTERM while requests are in flight: they finish (and are committed) before the process
/// exits cleanly.
#[test]
fn sigterm_finishes_in_flight_requests() {
    let (url, _guard) = nightwatch_testkit::fresh_sqlite_url();
    let mut nw = Nightwatch::start(BIN, &url, None);
    let endpoint = nw.url("/webhook/alertmanager");
    let storm: Vec<Value> = (0..20_000)
        .map(|i| json!({"status": "firing", "labels": {"alertname": "Storm", "namespace": "s", "pod": format!("p{i}")}}))
        .collect();
    let body = serde_json::to_vec(&json!({"alerts": storm})).unwrap();
    let posters: Vec<_> = (0..4)
        .map(|_| {
            let (endpoint, body) = (endpoint.clone(), body.clone());
            std::thread::spawn(move || {
                Client::new()
                    .post(&endpoint)
                    .body(body)
                    .send()
                    .map(|r| r.status().as_u16())
            })
        })
        .collect();
    // Let the requests get going, then ask the process to stop.
    std::thread::sleep(Duration::from_millis(150));
    assert!(nw.terminate(), "clean exit on SIGTERM:\n{}", nw.log());
    let acknowledged = posters
        .into_iter()
        .map(|p| p.join().unwrap())
        .filter(|status| matches!(status, Ok(200)))
        .count();
    let db = Db::connect(&url);
    let stored = db.count("SELECT COUNT(*) FROM deliveries");
    assert_eq!(
        stored as usize, acknowledged,
        "every acknowledged delivery stored, no other"
    );
    assert!(nw.log().contains("shutting down"), "{}", nw.log());
    eprintln!("{acknowledged} of 4 storm posts acknowledged before shutdown");
}

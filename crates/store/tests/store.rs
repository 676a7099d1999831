//! Store behaviour, run on both SQLite and a real Postgres.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use nightwatch_core::event::EventKind;
use nightwatch_core::fingerprint::FingerprintConfig;
use nightwatch_core::incident::{IncidentState, ManualChange, TransitionError, Verdict};
use nightwatch_core::model::Source;
use nightwatch_store::{IncidentFilter, NewDelivery, Store, StoreError};
use nightwatch_testkit::both_backends;
use serde_json::json;
use std::sync::Arc;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 10, 0, 0).unwrap()
}

/// An Alertmanager alert: (status, alertname, pod, startsAt minute).
fn alert(status: &str, alertname: &str, pod: &str, minute: i64) -> serde_json::Value {
    let starts = t0() + Duration::minutes(minute);
    json!({
        "status": status,
        "labels": {"alertname": alertname, "namespace": "shop", "pod": pod, "severity": "critical"},
        "annotations": {"summary": format!("{alertname} on {pod}")},
        "startsAt": starts.to_rfc3339(),
        "endsAt": if status == "resolved" { (starts + Duration::minutes(1)).to_rfc3339() } else { "0001-01-01T00:00:00Z".to_owned() },
    })
}

fn delivery(alerts: Vec<serde_json::Value>, received: DateTime<Utc>) -> NewDelivery {
    let body = serde_json::to_vec(
        &json!({"version": "4", "status": "firing", "receiver": "nw", "alerts": alerts}),
    )
    .unwrap();
    let parsed = nightwatch_core::parse::parse(Source::Alertmanager, &body, received).unwrap();
    NewDelivery {
        source: Source::Alertmanager,
        received_at: received,
        auth_subject: None,
        remote_addr: None,
        content_type: Some("application/json".into()),
        body,
        delivery: parsed,
    }
}

async fn stores(tag: &str) -> Vec<(&'static str, Store, Option<tempfile::TempDir>)> {
    let mut out = Vec::new();
    for (name, url, guard) in both_backends(tag).await {
        let store = Store::open(&url, FingerprintConfig::default())
            .await
            .unwrap();
        assert!(
            !store.ready().await.unwrap(),
            "{name}: not ready before migrations"
        );
        store.migrate().await.unwrap();
        assert!(
            store.ready().await.unwrap(),
            "{name}: ready after migrations"
        );
        out.push((name, store, guard));
    }
    out
}

async fn drain(store: &Store, now: DateTime<Utc>) -> usize {
    let mut total = 0;
    loop {
        let n = store.process_queue(now).await.unwrap();
        if n == 0 {
            return total;
        }
        total += n;
    }
}

fn kinds(detail: &nightwatch_store::IncidentDetail) -> Vec<EventKind> {
    detail.events.iter().map(|e| e.kind).collect()
}

#[tokio::test]
async fn deliveries_are_kept_byte_for_byte_for_replay() {
    for (name, store, _guard) in stores("delivery").await {
        let new = delivery(
            vec![alert("firing", "KubePodCrashLooping", "web-1", 0)],
            t0(),
        );
        let body = new.body.clone();
        let receipt = store.ingest(new).await.unwrap();
        let stored = store.delivery(receipt.delivery_id).await.unwrap().unwrap();
        assert_eq!(stored.body, body, "{name}");
        assert_eq!(stored.source, Source::Alertmanager, "{name}");
        assert_eq!(stored.received_at, t0(), "{name}");
        assert_eq!(
            store.delivery(receipt.delivery_id + 100).await.unwrap(),
            None,
            "{name}"
        );
    }
}

/// A NUL in a label or annotation is stored the same on both backends (as U+FFFD; Postgres
/// refuses NUL in text, which would fail every retry of the delivery) and the raw body keeps
/// what was sent.
#[tokio::test]
async fn nul_characters_are_stored_alike_on_both_backends() {
    for (name, store, _guard) in stores("nul").await {
        let mut nul = alert("firing", "Nul\u{0}Alert", "web-\u{0}1", 0);
        nul["annotations"]["summary"] = json!("a \u{0} b");
        nul["generatorURL"] = json!("http://prometheus/\u{0}graph");
        let new = delivery(vec![nul], t0());
        let body = new.body.clone();
        let receipt = store.ingest(new).await.unwrap();
        assert_eq!(drain(&store, t0()).await, 1, "{name}");
        let page = store
            .list_incidents(&IncidentFilter::default())
            .await
            .unwrap();
        let incident = &page.incidents[0];
        assert_eq!(incident.alertname, "Nul\u{FFFD}Alert", "{name}");
        assert_eq!(incident.pod.as_deref(), Some("web-\u{FFFD}1"), "{name}");
        let detail = store.incident_detail(incident.id).await.unwrap().unwrap();
        assert_eq!(
            detail.alerts[0].annotations["summary"], "a \u{FFFD} b",
            "{name}"
        );
        let stored = store.delivery(receipt.delivery_id).await.unwrap().unwrap();
        assert_eq!(stored.body, body, "{name}: the raw body as sent");
    }
}

#[tokio::test]
async fn incident_lifecycle() {
    for (name, store, _guard) in stores("lifecycle").await {
        let now = t0() + Duration::minutes(1);
        let receipt = store
            .ingest(delivery(
                vec![
                    alert("firing", "KubePodCrashLooping", "api-1", 0),
                    alert("firing", "KubePodCrashLooping", "api-2", 0),
                ],
                now,
            ))
            .await
            .unwrap();
        assert_eq!(receipt.alerts, 2, "{name}");
        assert_eq!(store.queue_depth().await.unwrap(), 2, "{name}");
        assert_eq!(drain(&store, now).await, 2, "{name}");
        assert_eq!(store.queue_depth().await.unwrap(), 0, "{name}");

        // A duplicate while open is suppressed into the same incident.
        store
            .ingest(delivery(
                vec![alert("firing", "KubePodCrashLooping", "api-1", 0)],
                now,
            ))
            .await
            .unwrap();
        drain(&store, now).await;
        let page = store
            .list_incidents(&IncidentFilter::default())
            .await
            .unwrap();
        assert_eq!(page.incidents.len(), 2, "{name}");
        let first = page
            .incidents
            .iter()
            .find(|i| i.pod.as_deref() == Some("api-1"))
            .unwrap()
            .clone();
        assert_eq!(first.alert_count, 2, "{name}");
        assert_eq!(first.state, IncidentState::Triggered);
        assert_eq!(first.namespace.as_deref(), Some("shop"));
        assert_eq!(first.fingerprint, "KubePodCrashLooping:shop:api-1:");
        assert_eq!(
            first.summary.as_deref(),
            Some("KubePodCrashLooping on api-1")
        );
        let detail = store.incident_detail(first.id).await.unwrap().unwrap();
        assert_eq!(
            kinds(&detail),
            vec![EventKind::Triggered, EventKind::Suppressed],
            "{name}"
        );
        assert_eq!(detail.alerts.len(), 2);

        // Resolved → incident resolved.
        store
            .ingest(delivery(
                vec![alert("resolved", "KubePodCrashLooping", "api-1", 0)],
                now,
            ))
            .await
            .unwrap();
        drain(&store, now).await;
        let resolved = store.incident(first.id).await.unwrap().unwrap();
        assert_eq!(resolved.state, IncidentState::Resolved, "{name}");
        assert_eq!(resolved.resolved_by.as_deref(), Some("alertmanager"));

        // A late retry of the same occurrence (same startsAt) reopens nothing.
        store
            .ingest(delivery(
                vec![alert("firing", "KubePodCrashLooping", "api-1", 0)],
                now,
            ))
            .await
            .unwrap();
        drain(&store, now).await;
        let detail = store.incident_detail(first.id).await.unwrap().unwrap();
        assert_eq!(
            kinds(&detail),
            vec![
                EventKind::Triggered,
                EventKind::Suppressed,
                EventKind::Resolved,
                EventKind::StaleAlert
            ],
            "{name}"
        );
        assert_eq!(
            store
                .list_incidents(&IncidentFilter::default())
                .await
                .unwrap()
                .incidents
                .len(),
            2
        );

        // A new firing after resolve → a new incident linked to the old one.
        store
            .ingest(delivery(
                vec![alert("firing", "KubePodCrashLooping", "api-1", 30)],
                now,
            ))
            .await
            .unwrap();
        drain(&store, now).await;
        let page = store
            .list_incidents(&IncidentFilter::default())
            .await
            .unwrap();
        assert_eq!(page.incidents.len(), 3, "{name}");
        let newest = &page.incidents[0];
        assert_eq!(newest.previous_incident_id, Some(first.id), "{name}");
        assert_eq!(newest.state, IncidentState::Triggered);
        assert_eq!(
            store.incident(first.id).await.unwrap().unwrap().state,
            IncidentState::Resolved,
            "resolved incidents never reopen"
        );

        // History: the other incidents with the same alertname / pod.
        let related = store.related_incidents(newest).await.unwrap();
        assert_eq!(related.same_alertname.len(), 2, "{name}");
        assert_eq!(
            related.same_pod.iter().map(|i| i.id).collect::<Vec<_>>(),
            vec![first.id]
        );
        assert!(related.same_node.is_empty());

        // Every processed alert is recorded with its outcome.
        let detail = store.incident_detail(first.id).await.unwrap().unwrap();
        let outcomes: Vec<_> = detail
            .alerts
            .iter()
            .map(|a| a.outcome.clone().unwrap())
            .collect();
        assert_eq!(
            outcomes,
            vec!["opened", "suppressed", "resolved", "stale"],
            "{name}"
        );
        store.close().await;
    }
}

#[tokio::test]
async fn manual_changes_and_conflicts() {
    for (name, store, _guard) in stores("manual").await {
        let now = t0();
        store
            .ingest(delivery(
                vec![alert("firing", "KubePodOOMKilled", "w-1", 0)],
                now,
            ))
            .await
            .unwrap();
        drain(&store, now).await;
        let id = store
            .list_incidents(&IncidentFilter::default())
            .await
            .unwrap()
            .incidents[0]
            .id;

        let acked = store
            .change_incident(id, ManualChange::Acknowledge, "alice", now)
            .await
            .unwrap();
        assert_eq!(acked.incident.state, IncidentState::Acknowledged, "{name}");
        assert_eq!(acked.incident.acknowledged_by.as_deref(), Some("alice"));
        let again = store
            .change_incident(id, ManualChange::Acknowledge, "bob", now)
            .await;
        assert!(
            matches!(
                again,
                Err(StoreError::Conflict(TransitionError::AlreadyAcknowledged))
            ),
            "{name}"
        );

        let verdict = store
            .change_incident(id, ManualChange::SetVerdict(Verdict::Noise), "alice", now)
            .await
            .unwrap();
        assert_eq!(verdict.incident.verdict, Some(Verdict::Noise));
        let resolved = store
            .change_incident(id, ManualChange::Resolve, "bob", now)
            .await
            .unwrap();
        assert_eq!(resolved.incident.state, IncidentState::Resolved);
        assert_eq!(resolved.incident.resolved_by.as_deref(), Some("bob"));
        assert!(matches!(
            store
                .change_incident(id, ManualChange::Acknowledge, "carol", now)
                .await,
            Err(StoreError::Conflict(TransitionError::AlreadyResolved))
        ));
        assert!(matches!(
            store
                .change_incident(9999, ManualChange::Resolve, "x", now)
                .await,
            Err(StoreError::IncidentNotFound(9999))
        ));

        let detail = store.incident_detail(id).await.unwrap().unwrap();
        let actors: Vec<_> = detail
            .events
            .iter()
            .map(|e| (e.kind, e.actor.as_str()))
            .collect();
        assert_eq!(
            actors,
            vec![
                (EventKind::Triggered, "alertmanager"),
                (EventKind::Acknowledged, "alice"),
                (EventKind::Verdict, "alice"),
                (EventKind::Resolved, "bob"),
            ],
            "{name}"
        );
        // A resolved alert arriving later is recorded on the incident but changes nothing.
        store
            .ingest(delivery(
                vec![alert("resolved", "KubePodOOMKilled", "w-1", 0)],
                now,
            ))
            .await
            .unwrap();
        drain(&store, now).await;
        let after = store.incident(id).await.unwrap().unwrap();
        assert_eq!(after.resolved_by.as_deref(), Some("bob"), "{name}");
        store.close().await;
    }
}

#[tokio::test]
async fn filters_and_paging() {
    for (name, store, _guard) in stores("filters").await {
        let now = t0();
        let alerts: Vec<_> = (0..7)
            .map(|i| {
                alert(
                    "firing",
                    if i % 2 == 0 { "A" } else { "B" },
                    &format!("p{i}"),
                    0,
                )
            })
            .collect();
        store.ingest(delivery(alerts, now)).await.unwrap();
        drain(&store, now).await;
        let node_alert = json!({"status": "firing", "labels": {"alertname": "KubeNodeNotReady", "node": "n1"}, "startsAt": now.to_rfc3339()});
        store
            .ingest(delivery(vec![node_alert], now + Duration::hours(1)))
            .await
            .unwrap();
        drain(&store, now + Duration::hours(1)).await;

        let by_name = |n: &str| IncidentFilter {
            alertname: Some(n.into()),
            ..Default::default()
        };
        assert_eq!(
            store
                .list_incidents(&by_name("A"))
                .await
                .unwrap()
                .incidents
                .len(),
            4,
            "{name}"
        );
        assert_eq!(
            store
                .list_incidents(&by_name("B"))
                .await
                .unwrap()
                .incidents
                .len(),
            3,
            "{name}"
        );
        let node = IncidentFilter {
            node: Some("n1".into()),
            ..Default::default()
        };
        let node_page = store.list_incidents(&node).await.unwrap();
        assert_eq!(node_page.incidents.len(), 1);
        assert_eq!(node_page.incidents[0].fingerprint, "KubeNodeNotReady:n1");
        let ns = IncidentFilter {
            namespace: Some("shop".into()),
            state: Some(IncidentState::Triggered),
            ..Default::default()
        };
        assert_eq!(store.list_incidents(&ns).await.unwrap().incidents.len(), 7);
        let since = IncidentFilter {
            since: Some(now + Duration::minutes(30)),
            ..Default::default()
        };
        assert_eq!(
            store.list_incidents(&since).await.unwrap().incidents.len(),
            1,
            "{name}: opened_at uses processing time"
        );

        // Paging walks every incident exactly once, newest first.
        let mut seen = Vec::new();
        let mut filter = IncidentFilter {
            limit: Some(3),
            ..Default::default()
        };
        loop {
            let page = store.list_incidents(&filter).await.unwrap();
            seen.extend(page.incidents.iter().map(|i| i.id));
            match page.next_before {
                Some(before) => filter.before = Some(before),
                None => break,
            }
        }
        let mut sorted = seen.clone();
        sorted.sort_unstable_by(|a, b| b.cmp(a));
        assert_eq!(seen, sorted, "{name}");
        assert_eq!(seen.len(), 8, "{name}");
        store.close().await;
    }
}

#[tokio::test]
async fn concurrent_ingest_is_group_committed_and_complete() {
    for (name, store, _guard) in stores("concurrent").await {
        let store = Arc::new(store);
        let mut tasks = Vec::new();
        for i in 0..200 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                store
                    .ingest(delivery(
                        vec![alert("firing", "Load", &format!("p{i}"), 0)],
                        t0(),
                    ))
                    .await
                    .unwrap()
            }));
        }
        let mut ids = Vec::new();
        for task in tasks {
            ids.push(task.await.unwrap().delivery_id);
        }
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 200, "{name}: every request got its own delivery");
        assert_eq!(store.queue_depth().await.unwrap(), 200, "{name}");
        assert_eq!(drain(&store, t0()).await, 200);
        let page = store
            .list_incidents(&IncidentFilter {
                limit: Some(500),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(page.incidents.len(), 200, "{name}");
        Arc::into_inner(store).unwrap().close().await;
    }
}

#[tokio::test]
async fn storm_of_20k_alerts_in_one_delivery() {
    for (name, store, _guard) in stores("storm").await {
        let alerts: Vec<_> = (0..20_000)
            .map(|i| alert("firing", "Storm", &format!("pod-{}", i % 5_000), 0))
            .collect();
        let receipt = store.ingest(delivery(alerts, t0())).await.unwrap();
        assert_eq!(receipt.alerts, 20_000);
        assert_eq!(store.queue_depth().await.unwrap(), 20_000, "{name}");
        assert_eq!(drain(&store, t0()).await, 20_000, "{name}");
        let counts = store.incident_counts().await.unwrap();
        assert_eq!(
            counts,
            vec![(IncidentState::Triggered, 5_000)],
            "{name}: 4 alerts per pod fold into one incident"
        );
        store.close().await;
    }
}

/// Two stores on one Postgres database behave like two nightwatch replicas: workers race on
/// the same queue and never hold two open incidents for one fingerprint.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_never_open_two_incidents_for_one_fingerprint() {
    let url = nightwatch_testkit::fresh_postgres_url("replicas").await;
    let a = Arc::new(
        Store::open(&url, FingerprintConfig::default())
            .await
            .unwrap(),
    );
    a.migrate().await.unwrap();
    let b = Arc::new(
        Store::open(&url, FingerprintConfig::default())
            .await
            .unwrap(),
    );
    // Interleave firing and resolved for a few fingerprints, then let both replicas drain.
    for round in 0..31 {
        let mut alerts = Vec::new();
        for pod in 0..4 {
            alerts.push(alert("firing", "Flap", &format!("p{pod}"), round * 2));
            if round % 3 == 2 {
                alerts.push(alert("resolved", "Flap", &format!("p{pod}"), round * 2));
            }
        }
        let (left, right) = alerts.split_at(alerts.len() / 2);
        a.ingest(delivery(left.to_vec(), t0())).await.unwrap();
        b.ingest(delivery(right.to_vec(), t0())).await.unwrap();
    }
    let workers: Vec<_> = [a.clone(), b.clone(), a.clone(), b.clone()]
        .into_iter()
        .map(|store| tokio::spawn(async move { drain(&store, t0()).await }))
        .collect();
    let mut processed = 0;
    for worker in workers {
        processed += worker.await.unwrap();
    }
    let total_alerts = 31 * 4 + 10 * 4;
    // Deferred rows are picked up by a later round; finish any that remain.
    processed += drain(&a, t0()).await;
    assert_eq!(processed, total_alerts, "each alert applied exactly once");
    assert_eq!(a.queue_depth().await.unwrap(), 0);
    let all = a
        .list_incidents(&IncidentFilter {
            limit: Some(500),
            ..Default::default()
        })
        .await
        .unwrap()
        .incidents;
    for pod in 0..4 {
        let pod = format!("p{pod}");
        let mine: Vec<_> = all
            .iter()
            .filter(|i| i.pod.as_deref() == Some(pod.as_str()))
            .collect();
        let open = mine.iter().filter(|i| i.state.is_open()).count();
        assert!(open <= 1, "{pod}: {open} open incidents");
        // Arrival order is kept per fingerprint: 10 resolve rounds → 10 resolved incidents and
        // one open one for the rounds after the last resolution.
        assert_eq!(mine.len(), 11, "{pod}: {mine:?}");
        assert_eq!(open, 1, "{pod}");
    }
}

/// One batch in which a fingerprint opens, resolves and reopens several times: each incident is
/// written before the next one of its fingerprint, and every event, count and link lands on the
/// right incident.
#[tokio::test]
async fn flapping_within_one_batch() {
    for (name, store, _guard) in stores("flapbatch").await {
        let now = t0() + Duration::hours(1);
        let alerts = vec![
            alert("firing", "Flap", "a", 0),
            alert("firing", "Flap", "b", 0),
            alert("firing", "Flap", "a", 0),
            alert("resolved", "Flap", "a", 0),
            alert("firing", "Flap", "a", 0),
            alert("firing", "Flap", "a", 10),
            alert("resolved", "Flap", "a", 10),
            alert("firing", "Flap", "a", 20),
            alert("resolved", "Flap", "b", -5),
            alert("resolved", "Flap", "c", 0),
            alert("firing", "Flap", "b", 0),
        ];
        store.ingest(delivery(alerts, now)).await.unwrap();
        assert_eq!(
            store.process_queue(now).await.unwrap(),
            11,
            "{name}: one batch"
        );
        assert_eq!(store.queue_depth().await.unwrap(), 0, "{name}");

        let mut incidents = store
            .list_incidents(&IncidentFilter::default())
            .await
            .unwrap()
            .incidents;
        incidents.reverse();
        let ids: Vec<i64> = incidents.iter().map(|i| i.id).collect();
        let summary: Vec<_> = incidents
            .iter()
            .map(|i| {
                (
                    i.pod.clone().unwrap(),
                    i.state,
                    i.alert_count,
                    i.previous_incident_id
                        .map(|p| ids.iter().position(|id| *id == p).unwrap()),
                    i.resolved_by.clone(),
                )
            })
            .collect();
        let resolved = Some("alertmanager".to_owned());
        assert_eq!(
            summary,
            vec![
                (
                    "a".to_owned(),
                    IncidentState::Resolved,
                    2,
                    None,
                    resolved.clone()
                ),
                ("b".to_owned(), IncidentState::Triggered, 2, None, None),
                (
                    "a".to_owned(),
                    IncidentState::Resolved,
                    1,
                    Some(0),
                    resolved
                ),
                ("a".to_owned(), IncidentState::Triggered, 1, Some(2), None),
            ],
            "{name}"
        );

        let mut history = Vec::new();
        for id in &ids {
            let detail = store.incident_detail(*id).await.unwrap().unwrap();
            let outcomes: Vec<String> = detail
                .alerts
                .iter()
                .map(|a| a.outcome.clone().unwrap())
                .collect();
            history.push((kinds(&detail), outcomes));
        }
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            history,
            vec![
                (
                    vec![
                        EventKind::Triggered,
                        EventKind::Suppressed,
                        EventKind::Resolved,
                        EventKind::StaleAlert
                    ],
                    strings(&["opened", "suppressed", "resolved", "stale"])
                ),
                (
                    vec![
                        EventKind::Triggered,
                        EventKind::StaleAlert,
                        EventKind::Suppressed
                    ],
                    strings(&["opened", "stale_resolution", "suppressed"])
                ),
                (
                    vec![EventKind::Triggered, EventKind::Resolved],
                    strings(&["opened", "resolved"])
                ),
                (vec![EventKind::Triggered], strings(&["opened"])),
            ],
            "{name}"
        );
        store.close().await;
    }
}

/// Opens one incident (an OOM alert about pod `a`) and returns its id.
async fn one_incident(store: &Store, now: DateTime<Utc>) -> i64 {
    store
        .ingest(delivery(
            vec![alert("firing", "KubePodOOMKilled", "a", 0)],
            now,
        ))
        .await
        .unwrap();
    drain(store, now).await;
    store
        .list_incidents(&IncidentFilter::default())
        .await
        .unwrap()
        .incidents[0]
        .id
}

fn new_action(
    incident_id: i64,
    step: &str,
    state: nightwatch_store::ActionState,
) -> nightwatch_store::NewAction {
    use nightwatch_core::action::{ActionRequest, ActionTarget};
    nightwatch_store::NewAction {
        incident_id,
        runbook: "RB_OOM".into(),
        step_id: step.into(),
        request: ActionRequest {
            action: "increase_memory_limit".into(),
            target: ActionTarget::namespaced("Deployment", "shop", "web"),
            args: json!({"factor": 2}),
        },
        state,
        class: Some("dev".into()),
        rule: Some("class_auto".into()),
        reason: "because".into(),
        expires_at: Some(t0() + Duration::hours(1)),
    }
}

#[tokio::test]
async fn runbook_jobs_are_written_with_the_incident_and_claimed_with_a_lease() {
    for (name, store, _guard) in stores("jobs").await {
        let now = t0();
        store
            .ingest(delivery(
                vec![
                    alert("firing", "KubePodOOMKilled", "a", 0),
                    alert("firing", "KubePodOOMKilled", "b", 0),
                ],
                now,
            ))
            .await
            .unwrap();
        // A duplicate firing (suppressed) opens nothing and so adds no job.
        store
            .ingest(delivery(
                vec![alert("firing", "KubePodOOMKilled", "a", 0)],
                now,
            ))
            .await
            .unwrap();
        drain(&store, now).await;
        assert_eq!(store.incident_jobs_left().await.unwrap(), 2, "{name}");
        let lease = Duration::minutes(10);
        let first = store.claim_incident_jobs(now, lease, 10).await.unwrap();
        assert_eq!(first.len(), 2, "{name}");
        assert!(first.iter().all(|job| job.attempts == 1), "{name}");
        // Leased: nobody else gets them until the lease runs out.
        assert!(
            store
                .claim_incident_jobs(now + Duration::minutes(9), lease, 10)
                .await
                .unwrap()
                .is_empty(),
            "{name}"
        );
        store
            .finish_incident_job(first[0].incident_id)
            .await
            .unwrap();
        let again = store
            .claim_incident_jobs(now + Duration::minutes(11), lease, 10)
            .await
            .unwrap();
        assert_eq!(again.len(), 1, "{name}: the unfinished job comes back");
        assert_eq!(again[0].incident_id, first[1].incident_id);
        assert_eq!(again[0].attempts, 2, "{name}");
        assert_eq!(again[0].rechecks, 0, "{name}");
        // Deferred for a re-check: not claimable before its time, then back with a fresh
        // retry count and one re-check counted.
        let recheck_at = now + Duration::minutes(13);
        store
            .defer_incident_job(again[0].incident_id, recheck_at)
            .await
            .unwrap();
        assert!(
            store
                .claim_incident_jobs(recheck_at - Duration::seconds(1), lease, 10)
                .await
                .unwrap()
                .is_empty(),
            "{name}: a deferred job waits for its time"
        );
        let rechecked = store
            .claim_incident_jobs(recheck_at, lease, 10)
            .await
            .unwrap();
        assert_eq!(rechecked.len(), 1, "{name}");
        assert_eq!(
            (
                rechecked[0].incident_id,
                rechecked[0].attempts,
                rechecked[0].rechecks
            ),
            (again[0].incident_id, 1, 1),
            "{name}"
        );
        store
            .set_incident_runbook(again[0].incident_id, "RB_OOM", "auto")
            .await
            .unwrap();
        let incident = store.incident(again[0].incident_id).await.unwrap().unwrap();
        assert_eq!(
            (incident.runbook.as_deref(), incident.mode.as_deref()),
            (Some("RB_OOM"), Some("auto")),
            "{name}"
        );
    }
}

#[tokio::test]
async fn an_approved_action_left_running_is_claimed_once_when_its_lease_runs_out() {
    use nightwatch_store::{ActionDecision, ActionState, ActionUpdate};
    for (name, store, _guard) in stores("orphans").await {
        let now = t0();
        let incident = one_incident(&store, now).await;
        let insert = |step: &'static str, state| {
            let store = &store;
            async move {
                store
                    .insert_action(
                        &new_action(incident, step, state),
                        (EventKind::ApprovalRequested, json!({})),
                        now,
                    )
                    .await
                    .unwrap()
            }
        };
        let approved = insert("bump", ActionState::Pending).await;
        store
            .decide_action(approved, ActionDecision::Approve, "alice", now)
            .await
            .unwrap();
        let lease = Duration::minutes(10);
        assert!(
            store
                .transition_action(
                    approved,
                    &[ActionState::Approved],
                    ActionState::Running,
                    ActionUpdate {
                        lease_until: Some(now + lease),
                        ..ActionUpdate::default()
                    },
                )
                .await
                .unwrap()
        );
        // A runbook's own running action (no approver) is its job's to settle, never claimed.
        insert("own", ActionState::Running).await;

        let claim = |at| store.claim_orphaned_actions(at, lease, 10);
        assert!(
            claim(now + Duration::minutes(9)).await.unwrap().is_empty(),
            "{name}: its runner still answers for it"
        );
        let late = now + Duration::minutes(11);
        let taken = claim(late).await.unwrap();
        assert_eq!(
            taken
                .iter()
                .map(|a| (a.id, a.state, a.decided_by.as_deref()))
                .collect::<Vec<_>>(),
            vec![(approved, ActionState::Running, Some("alice"))],
            "{name}"
        );
        assert!(
            claim(late).await.unwrap().is_empty(),
            "{name}: one taker, leased anew"
        );
        assert_eq!(
            claim(late + lease + Duration::seconds(1))
                .await
                .unwrap()
                .len(),
            1,
            "{name}: and again only if that taker died too"
        );
        // Settled: never claimed again.
        store
            .transition_action(
                approved,
                &[ActionState::Running],
                ActionState::Verified,
                ActionUpdate::default(),
            )
            .await
            .unwrap();
        assert!(
            claim(late + Duration::hours(2)).await.unwrap().is_empty(),
            "{name}"
        );
    }
}

#[tokio::test]
async fn actions_are_recorded_decided_once_and_counted_for_limits() {
    use nightwatch_store::{ActionDecision, ActionState, ActionUpdate};
    for (name, store, _guard) in stores("actions").await {
        let now = t0();
        let incident = one_incident(&store, now).await;
        let pending = store
            .insert_action(
                &new_action(incident, "bump", ActionState::Pending),
                (EventKind::ApprovalRequested, json!({})),
                now,
            )
            .await
            .unwrap();
        let listed = store
            .actions(Some(ActionState::Pending), None, 10)
            .await
            .unwrap();
        assert_eq!(listed.len(), 1, "{name}");
        assert_eq!(listed[0].target.key(), "Deployment/shop/web");
        assert_eq!(listed[0].args, json!({"factor": 2}));

        // Approve once; a second decision conflicts.
        let approved = store
            .decide_action(
                pending,
                ActionDecision::Approve,
                "alice",
                now + Duration::minutes(1),
            )
            .await
            .unwrap();
        assert_eq!(
            (approved.state, approved.decided_by.as_deref()),
            (ActionState::Approved, Some("alice")),
            "{name}"
        );
        let again = store
            .decide_action(pending, ActionDecision::Reject, "bob", now)
            .await
            .unwrap_err();
        assert!(
            matches!(
                again,
                StoreError::ActionNotPending {
                    state: "approved",
                    ..
                }
            ),
            "{name}: {again}"
        );
        assert!(matches!(
            store
                .decide_action(9999, ActionDecision::Approve, "x", now)
                .await,
            Err(StoreError::ActionNotFound(9999))
        ));

        // A permitted action counts for the limits from the moment it is running, before it ran;
        // the one being decided again can be left out.
        assert!(
            store.action_history(now, None).await.unwrap().is_empty(),
            "{name}: pending does not count"
        );
        // Only one runner takes an approved action.
        assert!(
            store
                .transition_action(
                    pending,
                    &[ActionState::Approved],
                    ActionState::Running,
                    ActionUpdate::default()
                )
                .await
                .unwrap()
        );
        assert!(
            !store
                .transition_action(
                    pending,
                    &[ActionState::Approved],
                    ActionState::Running,
                    ActionUpdate::default()
                )
                .await
                .unwrap()
        );
        assert_eq!(
            store.action_history(now, None).await.unwrap().len(),
            1,
            "{name}: running counts"
        );
        assert!(
            store
                .action_history(now, Some(pending))
                .await
                .unwrap()
                .is_empty(),
            "{name}"
        );
        let executed_at = now + Duration::minutes(2);
        store
            .transition_action(
                pending,
                &[ActionState::Running],
                ActionState::Verified,
                ActionUpdate {
                    executed_at: Some(executed_at),
                    result: Some(json!({"ok": true})),
                    ..ActionUpdate::default()
                },
            )
            .await
            .unwrap();
        let history = store.action_history(now, None).await.unwrap();
        assert_eq!(history.len(), 1, "{name}");
        assert_eq!(
            (history[0].target_key.as_str(), history[0].at),
            ("Deployment/shop/web", executed_at)
        );
        assert!(
            store
                .action_history(executed_at + Duration::seconds(1), None)
                .await
                .unwrap()
                .is_empty()
        );

        // An unanswered request expires, and then cannot be approved.
        let late = store
            .insert_action(
                &new_action(incident, "other", ActionState::Pending),
                (EventKind::ApprovalRequested, json!({})),
                now,
            )
            .await
            .unwrap();
        assert!(
            store
                .expire_pending_actions(now + Duration::minutes(59))
                .await
                .unwrap()
                .is_empty(),
            "{name}"
        );
        let expired = store
            .expire_pending_actions(now + Duration::minutes(61))
            .await
            .unwrap();
        assert_eq!(
            expired.iter().map(|a| (a.id, a.state)).collect::<Vec<_>>(),
            vec![(late, ActionState::Expired)],
            "{name}"
        );
        assert!(
            store
                .decide_action(
                    late,
                    ActionDecision::Approve,
                    "alice",
                    now + Duration::minutes(62)
                )
                .await
                .is_err()
        );

        // Every step left its event on the incident.
        let detail = store.incident_detail(incident).await.unwrap().unwrap();
        let kinds = kinds(&detail);
        for kind in [
            EventKind::ApprovalRequested,
            EventKind::Approved,
            EventKind::Rejected,
        ] {
            assert!(
                kinds.contains(&kind),
                "{name}: {kind} missing from {kinds:?}"
            );
        }
    }
}

#[tokio::test]
async fn analysis_input_gathers_the_timeline_history_and_past_actions() {
    use nightwatch_core::analysis::{ActionOutcome, TakenAction, template_analysis};
    use nightwatch_store::{ActionState, ActionUpdate};
    for (name, store, _guard) in stores("analysis").await {
        let now = t0() + Duration::minutes(1);
        // api-1 fires, resolves, fires again; api-2 has the same alert; web-1 shares nothing.
        store
            .ingest(delivery(
                vec![
                    alert("firing", "KubePodCrashLooping", "api-1", 0),
                    alert("firing", "KubePodCrashLooping", "api-2", 0),
                    alert("firing", "KubePodOOMKilled", "web-1", 0),
                ],
                now,
            ))
            .await
            .unwrap();
        drain(&store, now).await;
        store
            .ingest(delivery(
                vec![alert("resolved", "KubePodCrashLooping", "api-1", 0)],
                now,
            ))
            .await
            .unwrap();
        drain(&store, now).await;
        let later = t0() + Duration::minutes(30);
        store
            .ingest(delivery(
                vec![alert("firing", "KubePodCrashLooping", "api-1", 20)],
                later,
            ))
            .await
            .unwrap();
        drain(&store, later).await;
        let page = store
            .list_incidents(&IncidentFilter::default())
            .await
            .unwrap();
        let id_of = |pod: &str, state: IncidentState| {
            page.incidents
                .iter()
                .find(|i| i.pod.as_deref() == Some(pod) && i.state == state)
                .unwrap()
                .id
        };
        let first = id_of("api-1", IncidentState::Resolved);
        let current = id_of("api-1", IncidentState::Triggered);
        let neighbour = id_of("api-2", IncidentState::Triggered);
        let unrelated = id_of("web-1", IncidentState::Triggered);
        store
            .change_incident(first, ManualChange::SetVerdict(Verdict::Real), "alice", now)
            .await
            .unwrap();
        // A restart that was made and verified on the first occurrence.
        let mut restart = new_action(first, "restart", ActionState::Running);
        restart.request.action = "rollout_restart".into();
        let action_id = store
            .insert_action(&restart, (EventKind::ActionProposed, json!({})), now)
            .await
            .unwrap();
        assert!(
            store
                .transition_action(
                    action_id,
                    &[ActionState::Running],
                    ActionState::Verified,
                    ActionUpdate::default(),
                )
                .await
                .unwrap(),
            "{name}"
        );

        let input = store.analysis_input(current).await.unwrap().unwrap();
        assert_eq!(input.incident.id, current, "{name}");
        assert_eq!(input.incident.alertname, "KubePodCrashLooping");
        assert_eq!(input.incident.pod.as_deref(), Some("api-1"));
        assert_eq!(
            input.incident.summary.as_deref(),
            Some("KubePodCrashLooping on api-1")
        );
        let detail = store.incident_detail(current).await.unwrap().unwrap();
        assert_eq!(
            input.timeline.iter().map(|e| e.id).collect::<Vec<_>>(),
            detail.events.iter().map(|e| e.id).collect::<Vec<_>>(),
            "{name}: the whole timeline, oldest first"
        );
        assert_eq!(input.timeline[0].kind, EventKind::Triggered);
        // Candidates: the first occurrence (same alertname and pod, so listed twice) and the
        // neighbour (same alertname); never the incident itself or the unrelated one.
        let mut ids: Vec<i64> = input.history.iter().map(|p| p.id).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut expected = vec![first, neighbour];
        expected.sort_unstable();
        assert_eq!(ids, expected, "{name}");
        assert!(!ids.contains(&unrelated) && !ids.contains(&current));
        let past = input.history.iter().find(|p| p.id == first).unwrap();
        assert_eq!(past.verdict, Some(Verdict::Real), "{name}");
        assert!(past.resolved_at.is_some(), "{name}");
        assert_eq!(
            past.actions,
            vec![TakenAction {
                action: "rollout_restart".into(),
                target: Some("Deployment/shop/web".into()),
                outcome: ActionOutcome::Verified,
            }],
            "{name}"
        );
        assert!(
            input
                .history
                .iter()
                .find(|p| p.id == neighbour)
                .unwrap()
                .actions
                .is_empty()
        );

        // What the template makes of it counts each past incident once.
        let analysis = template_analysis(&input, later);
        let history = analysis
            .section("Historical pattern & SRE recommendation")
            .unwrap();
        assert!(
            history
                .body
                .contains("2 related past incidents (2 same alertname, 1 same pod, 0 same node)"),
            "{name}: {}",
            history.body
        );

        // Analysis events: none yet; a recorded one comes back with its id, and is the latest.
        assert!(store.latest_analysis(current).await.unwrap().is_none());
        let written = store
            .record_incident_event(
                current,
                EventKind::Analysis,
                "nightwatch",
                json!({"markdown": "## Summary\n\nfirst"}),
                later,
            )
            .await
            .unwrap();
        let newer = store
            .record_incident_event(
                current,
                EventKind::Analysis,
                "nightwatch",
                json!({"markdown": "## Summary\n\nsecond"}),
                later,
            )
            .await
            .unwrap();
        assert!(newer.id > written.id, "{name}");
        assert_eq!(newer.kind, EventKind::Analysis);
        assert_eq!(newer.incident_id, current);
        assert_eq!(newer.at, later);
        let latest = store.latest_analysis(current).await.unwrap().unwrap();
        assert_eq!(latest, newer, "{name}");
        assert!(store.latest_analysis(first).await.unwrap().is_none());
        assert!(store.analysis_input(999_999).await.unwrap().is_none());
        store.close().await;
    }
}

#[tokio::test]
async fn notifications_are_announced_once_and_due_when_nag_time_comes_or_the_state_moves() {
    use nightwatch_core::escalation::{NagPolicy, NagRecord};
    for (name, store, _guard) in stores("notify").await {
        let now = t0() + Duration::minutes(5);
        store
            .ingest(delivery(
                vec![
                    alert("firing", "KubePodCrashLooping", "web-1", 0),
                    alert("firing", "KubePodCrashLooping", "web-2", 0),
                ],
                t0(),
            ))
            .await
            .unwrap();
        drain(&store, t0()).await;
        let fresh = store
            .incidents_to_announce(t0() - Duration::hours(1), 10)
            .await
            .unwrap();
        assert_eq!(fresh.len(), 2, "{name}");
        let (first, second) = (fresh[0].id, fresh[1].id);
        let policy = NagPolicy::default();
        let record = NagRecord::announced(&policy, now);
        store
            .record_notification(first, "C0ALERTS", "1700.0001", &record, now)
            .await
            .unwrap();
        store
            .record_notification(second, "C0ALERTS", "1700.0002", &record, now)
            .await
            .unwrap();
        assert!(
            store
                .incidents_to_announce(t0() - Duration::hours(1), 10)
                .await
                .unwrap()
                .is_empty(),
            "{name}: announced once"
        );
        // Too old to announce (opened before the window).
        assert!(
            store
                .incidents_to_announce(t0() + Duration::hours(1), 10)
                .await
                .unwrap()
                .is_empty(),
            "{name}"
        );

        assert!(
            store.notifications_due(now, 10).await.unwrap().is_empty(),
            "{name}: nothing due yet"
        );
        let due = store
            .notifications_due(now + Duration::minutes(10), 10)
            .await
            .unwrap();
        assert_eq!(due.len(), 2, "{name}");
        assert_eq!(due[0].message_ts, "1700.0001", "{name}");
        assert_eq!(due[0].record, record, "{name}");

        // Acknowledged: due at once (to stop and update the message), whatever the nag time.
        store
            .change_incident(second, ManualChange::Acknowledge, "bob", now)
            .await
            .unwrap();
        let due = store.notifications_due(now, 10).await.unwrap();
        assert_eq!(
            due.iter().map(|n| n.incident_id).collect::<Vec<_>>(),
            vec![second],
            "{name}"
        );
        let stopped = NagRecord {
            stopped: true,
            ..record.clone()
        };
        store
            .update_notification(second, &stopped, now)
            .await
            .unwrap();
        assert!(
            store.notifications_due(now, 10).await.unwrap().is_empty(),
            "{name}"
        );
        let kept = store.notification(second).await.unwrap().unwrap();
        assert!(kept.record.stopped, "{name}");
        let nagged = NagRecord {
            nags: 2,
            level: 1,
            ..record.clone()
        };
        store
            .update_notification(first, &nagged, now)
            .await
            .unwrap();
        assert_eq!(
            store.notification(first).await.unwrap().unwrap().record,
            nagged,
            "{name}"
        );
        assert_eq!(store.notification(9999).await.unwrap(), None, "{name}");

        // The notifier reads new events by cursor, and one incident's by kind.
        let acked = store
            .events_after(0, EventKind::Acknowledged, 10)
            .await
            .unwrap();
        assert_eq!(acked.len(), 1, "{name}");
        assert_eq!(acked[0].incident_id, second, "{name}");
        assert!(
            store
                .events_after(acked[0].id, EventKind::Acknowledged, 10)
                .await
                .unwrap()
                .is_empty(),
            "{name}"
        );
        let triggered = store
            .incident_events_of(first, EventKind::Triggered)
            .await
            .unwrap();
        assert_eq!(triggered.len(), 1, "{name}");
        assert!(
            store
                .incident_events_of(first, EventKind::Acknowledged)
                .await
                .unwrap()
                .is_empty(),
            "{name}"
        );
    }
}

#[tokio::test]
async fn resolved_incidents_with_a_verified_action_and_no_verdict_are_auto_fixed_candidates() {
    use nightwatch_store::ActionState;
    for (name, store, _guard) in stores("autofixed").await {
        let now = t0() + Duration::minutes(1);
        store
            .ingest(delivery(
                vec![
                    alert("firing", "KubePodOOMKilled", "fixed", 0),
                    alert("firing", "KubePodOOMKilled", "judged", 0),
                    alert("firing", "KubePodOOMKilled", "open", 0),
                    alert("firing", "KubePodOOMKilled", "unfixed", 0),
                ],
                t0(),
            ))
            .await
            .unwrap();
        drain(&store, t0()).await;
        let page = store
            .list_incidents(&IncidentFilter::default())
            .await
            .unwrap();
        let id = |pod: &str| {
            page.incidents
                .iter()
                .find(|i| i.pod.as_deref() == Some(pod))
                .unwrap()
                .id
        };
        for pod in ["fixed", "judged", "open"] {
            store
                .insert_action(
                    &new_action(id(pod), "bump", ActionState::Verified),
                    (EventKind::ActionVerified, json!({})),
                    now,
                )
                .await
                .unwrap();
        }
        for pod in ["fixed", "judged", "unfixed"] {
            store
                .change_incident(id(pod), ManualChange::Resolve, "am", now)
                .await
                .unwrap();
        }
        store
            .change_incident(
                id("judged"),
                ManualChange::SetVerdict(Verdict::Real),
                "alice",
                now,
            )
            .await
            .unwrap();
        assert_eq!(
            store
                .resolved_unjudged_with_verified_action(10)
                .await
                .unwrap(),
            vec![id("fixed")],
            "{name}"
        );
    }
}

#[tokio::test]
async fn retention_prunes_folded_alerts_then_old_incidents_and_never_a_queued_alert() {
    for (name, store, _guard) in stores("retention").await {
        let at = |hours: i64| t0() + Duration::hours(hours);
        let send = async |alerts: Vec<serde_json::Value>, hours: i64, fold: bool| {
            store.ingest(delivery(alerts, at(hours))).await.unwrap();
            if fold {
                drain(&store, at(hours)).await;
            }
        };
        send(
            vec![alert("firing", "KubePodCrashLooping", "api-1", 0)],
            0,
            true,
        )
        .await;
        send(
            vec![alert("firing", "KubePodCrashLooping", "api-1", 0)],
            1,
            true,
        )
        .await;
        send(
            vec![alert("resolved", "KubePodCrashLooping", "api-1", 0)],
            2,
            true,
        )
        .await;
        send(
            vec![alert("firing", "KubePodCrashLooping", "api-1", 180)],
            3,
            true,
        )
        .await;
        // Received before the cutoff but never folded: it must survive.
        send(
            vec![alert("firing", "KubePodCrashLooping", "api-2", 0)],
            4,
            false,
        )
        .await;
        let page = store
            .list_incidents(&IncidentFilter::default())
            .await
            .unwrap();
        let mut ids: Vec<i64> = page.incidents.iter().map(|i| i.id).collect();
        ids.sort();
        let [first, second] = ids[..] else {
            panic!("{name}: two incidents expected, got {ids:?}")
        };
        assert_eq!(
            store
                .incident(second)
                .await
                .unwrap()
                .unwrap()
                .previous_incident_id,
            Some(first),
            "{name}"
        );

        let pruned = store
            .prune(nightwatch_store::Cutoffs {
                alerts_before: Some(at(5)),
                incidents_before: None,
            })
            .await
            .unwrap();
        assert_eq!(
            pruned,
            nightwatch_store::Pruned {
                deliveries: 4,
                alerts: 4,
                events: 1, // the repeat of the first incident
                incidents: 0,
                actions: 0,
            },
            "{name}"
        );
        let detail = store.incident_detail(first).await.unwrap().unwrap();
        assert_eq!(
            kinds(&detail),
            vec![EventKind::Triggered, EventKind::Resolved],
            "{name}: the incident's own record stays"
        );
        assert!(detail.alerts.is_empty(), "{name}");
        assert_eq!(detail.incident.alert_count, 2, "{name}");
        assert_eq!(store.queue_depth().await.unwrap(), 1, "{name}");
        assert_eq!(
            drain(&store, at(5)).await,
            1,
            "{name}: the queued alert still folds"
        );

        // The first incident was resolved at hour 2; the second is open.
        let pruned = store
            .prune(nightwatch_store::Cutoffs {
                alerts_before: None,
                incidents_before: Some(at(2) + Duration::minutes(1)),
            })
            .await
            .unwrap();
        assert_eq!((pruned.incidents, pruned.events), (1, 2), "{name}");
        assert!(store.incident(first).await.unwrap().is_none(), "{name}");
        let second = store.incident(second).await.unwrap().unwrap();
        assert_eq!(second.previous_incident_id, None, "{name}");
        assert_eq!(second.state, IncidentState::Triggered, "{name}");

        // Folded now, the last delivery goes at the next pass; nothing else is left to prune.
        let again = store
            .prune(nightwatch_store::Cutoffs {
                alerts_before: Some(at(5)),
                incidents_before: Some(at(5)),
            })
            .await
            .unwrap();
        assert_eq!((again.deliveries, again.incidents), (1, 0), "{name}");
        let idle = store
            .prune(nightwatch_store::Cutoffs {
                alerts_before: Some(at(5)),
                incidents_before: Some(at(5)),
            })
            .await
            .unwrap();
        assert!(idle.is_empty(), "{name}: {idle:?}");
    }
}

#[tokio::test]
async fn the_updated_order_puts_what_moved_last_first_and_pages_without_gaps() {
    for (name, store, _guard) in stores("updated_order").await {
        let at = |minutes: i64| t0() + Duration::minutes(minutes);
        for (minute, pod) in ["a", "b", "c", "d", "e"].iter().enumerate() {
            let minute = minute as i64;
            store
                .ingest(delivery(
                    vec![alert("firing", "KubePodCrashLooping", pod, minute)],
                    at(minute),
                ))
                .await
                .unwrap();
            drain(&store, at(minute)).await;
        }
        let listed = |order, before: Option<i64>, before_updated: Option<i64>, limit| {
            let store = &store;
            async move {
                store
                    .list_incidents(&IncidentFilter {
                        order,
                        before,
                        before_updated,
                        limit: Some(limit),
                        ..IncidentFilter::default()
                    })
                    .await
                    .unwrap()
            }
        };
        let by_id = listed(nightwatch_store::IncidentOrder::Opened, None, None, 10).await;
        let ids: Vec<i64> = by_id.incidents.iter().map(|i| i.id).collect();
        let oldest = *ids.last().unwrap();
        // The oldest incident is acknowledged later than anything else happened.
        store
            .change_incident(oldest, ManualChange::Acknowledge, "bob", at(30))
            .await
            .unwrap();
        let updated = listed(nightwatch_store::IncidentOrder::Updated, None, None, 10).await;
        assert_eq!(updated.incidents[0].id, oldest, "{name}: moved last, first");
        assert_eq!(updated.incidents[0].updated_at, at(30), "{name}");
        assert_eq!(updated.next_before_updated, None, "{name}: one page");
        // Paging by two through the same order sees every incident once, in order.
        let mut paged = Vec::new();
        let (mut before, mut before_updated) = (None, None);
        loop {
            let page = listed(
                nightwatch_store::IncidentOrder::Updated,
                before,
                before_updated,
                2,
            )
            .await;
            paged.extend(page.incidents.iter().map(|i| i.id));
            match page.next_before {
                Some(next) => {
                    before = Some(next);
                    before_updated = page.next_before_updated;
                    assert!(before_updated.is_some(), "{name}");
                }
                None => break,
            }
        }
        let expected: Vec<i64> = updated.incidents.iter().map(|i| i.id).collect();
        assert_eq!(paged, expected, "{name}");
        // The alert's own start is kept apart from when the incident was opened.
        let first = store.incident(ids[ids.len() - 2]).await.unwrap().unwrap();
        assert_eq!(
            first.started_at,
            Some(t0() + Duration::minutes(1)),
            "{name}"
        );
    }
}

//! The web UI as a person sees it: a real nightwatch fed real webhook payloads, both pages driven
//! in headless Chromium through chromedriver (WebDriver). Checks the rendered text, the computed
//! colours, the filter form and the Acknowledge button, and saves screenshots of every page to
//! `target/ui-screenshots/` so they can be looked at.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// Tests against a real server and lab: the wall clock and real elapsed time are the point.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use nightwatch_testkit::{Nightwatch, free_port, fresh_sqlite_url, third_party_fixtures, wait_for};
use reqwest::blocking::Client as Http;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_nightwatch");
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
const CRASH: &str = "KubePodCrashLooping";
const WAIT: Duration = Duration::from_secs(60);
const SECTIONS: [&str; 7] = [
    "Summary",
    "What happened",
    "Root cause hypothesis",
    "Action",
    "Why",
    "Historical pattern & SRE recommendation",
    "Follow-ups",
];

/// `chromedriver` in a process group of its own, so that it and every Chromium process it
/// started are killed together when the test ends, passing or not.
struct ChromeDriver {
    child: Child,
    url: String,
    /// Chromium's `--user-data-dir` and chromedriver's log.
    dir: tempfile::TempDir,
}

impl ChromeDriver {
    fn start() -> ChromeDriver {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("chromedriver.log")).unwrap();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("starting {CHROMEDRIVER}: {e} (install Debian's chromium-driver)")
            });
        let driver = ChromeDriver {
            child,
            url: format!("http://127.0.0.1:{port}"),
            dir,
        };
        wait_for("chromedriver listening", Duration::from_secs(30), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).ok()
        });
        driver
    }

    fn profile(&self) -> PathBuf {
        self.dir.path().join("profile")
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        // The whole group: chromedriver and the browser it launched.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn open_browser(driver: &ChromeDriver) -> Client {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("browserName".into(), json!("chrome"));
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": CHROMIUM,
            "args": [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--window-size=1400,1000",
                format!("--user-data-dir={}", driver.profile().display()),
            ],
        }),
    );
    ClientBuilder::native()
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .unwrap_or_else(|e| {
            let log = std::fs::read_to_string(driver.dir.path().join("chromedriver.log"))
                .unwrap_or_default();
            panic!("starting Chromium through chromedriver: {e}\n{log}")
        })
}

// ---------------------------------------------------------------------------------------------
// Data: real payloads plus one pod's crash loop that fires, resolves and fires again.

/// Incident ids of the crash-looping pod `shop/api-1`, oldest first.
#[derive(Debug, Clone, Copy)]
struct Seeded {
    /// Fired, fired again (suppressed), resolved, then a late retry (stale). Verdict noise.
    first: i64,
    /// Fired again later, resolved. Verdict real.
    second: i64,
    /// Firing now (and a duplicate folded in): the page the test acts on.
    current: i64,
}

/// The admin token of the nightwatch under test (authentication is on), for the API calls the
/// test makes outside the browser.
static TOKEN: std::sync::OnceLock<String> = std::sync::OnceLock::new();

fn token() -> &'static str {
    TOKEN.get().map(String::as_str).unwrap_or_default()
}

/// The password of every user the test signs in as.
const PASSWORD: &str = "a long enough password";

/// alice's token: the seeded verdicts are hers.
static ALICE: std::sync::OnceLock<String> = std::sync::OnceLock::new();

fn post(http: &Http, nw: &Nightwatch, path: &str, body: Vec<u8>) {
    post_as(http, nw, path, body, token());
}

fn post_as(http: &Http, nw: &Nightwatch, path: &str, body: Vec<u8>, token: &str) {
    let response = http
        .post(nw.url(path))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .unwrap();
    let status = response.status();
    assert!(
        status.is_success(),
        "POST {path}: {status} {}",
        response.text().unwrap_or_default()
    );
}

/// The incident lifecycle's event kinds; the responder's (routing, runbook steps) interleave
/// with them and are checked elsewhere.
const LIFECYCLE: &[&str] = &[
    "triggered",
    "suppressed",
    "resolved",
    "stale_alert",
    "acknowledged",
    "verdict",
];
/// The timeline rows of lifecycle events.
const LIFECYCLE_ROWS: &str = "#timeline tbody tr:is(.event-triggered, .event-suppressed, .event-resolved, .event-stale_alert, .event-acknowledged, .event-verdict)";

fn event_kinds(detail: &Value) -> Vec<String> {
    detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .filter(|kind| LIFECYCLE.contains(&kind.as_str()))
        .collect()
}

/// Waits until the incident's lifecycle timeline is exactly `kinds` (the queue worked the last delivery).
fn wait_events(nw: &Nightwatch, id: i64, kinds: &[&str]) {
    wait_for(&format!("incident {id} events {kinds:?}"), WAIT, || {
        (event_kinds(&nw.incident(id)) == kinds).then_some(())
    });
}

/// The crash-looping pod's alert, as Alertmanager's webhook sends it.
fn crash_delivery(starts_at: DateTime<Utc>, ends_at: Option<DateTime<Utc>>) -> Vec<u8> {
    let status = if ends_at.is_some() {
        "resolved"
    } else {
        "firing"
    };
    let labels = json!({
        "alertname": CRASH, "namespace": "shop", "pod": "api-1", "container": "app",
        "severity": "critical", "team": "checkout",
    });
    let body = json!({
        "version": "4",
        "groupKey": "{}:{alertname=\"KubePodCrashLooping\"}",
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "nightwatch",
        "groupLabels": {"alertname": CRASH},
        "commonLabels": labels,
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example:9093",
        "alerts": [{
            "status": status,
            "labels": labels,
            "annotations": {
                "summary": "Pod shop/api-1 is crash looping",
                "description": "Back-off restarting failed container app in pod shop/api-1 (5 restarts in 10m).",
            },
            "startsAt": starts_at.to_rfc3339(),
            "endsAt": ends_at.map(|t| t.to_rfc3339()).unwrap_or_else(|| "0001-01-01T00:00:00Z".to_owned()),
            "generatorURL": "http://prometheus.example:9090/graph?g0.expr=kube_pod_container_status_restarts_total",
            "fingerprint": "a1b2c3d4e5f60718",
        }],
    });
    serde_json::to_vec(&body).unwrap()
}

fn seed(nw: &Nightwatch) -> Seeded {
    let http = Http::new();
    let payloads = third_party_fixtures().join("payloads");
    let read =
        |name: &str| std::fs::read(payloads.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    // Nine CPUThrottlingHigh alerts, each about its own container; one Grafana test notification.
    post(
        &http,
        nw,
        "/webhook/alertmanager",
        read("am_kubesphere_alert.json"),
    );
    post(
        &http,
        nw,
        "/webhook/grafana",
        read("grafana_keep_v12_test_notification.json"),
    );
    wait_for("the fixtures' ten incidents", WAIT, || {
        (nw.incidents("").len() == 10).then_some(())
    });

    let now = Utc::now();
    let (t0, t1, t2) = (
        now - ChronoDuration::hours(3),
        now - ChronoDuration::hours(2),
        now - ChronoDuration::minutes(10),
    );
    let crash_ids = |count: usize| {
        wait_for(&format!("{count} {CRASH} incidents"), WAIT, || {
            let ids: Vec<i64> = nw
                .incidents(&format!("alertname={CRASH}"))
                .iter()
                .map(|i| i["id"].as_i64().unwrap())
                .collect();
            (ids.len() == count).then(|| ids.into_iter().max().unwrap())
        })
    };
    let am = |body: Vec<u8>| post(&http, nw, "/webhook/alertmanager", body);

    am(crash_delivery(t0, None));
    let first = crash_ids(1);
    am(crash_delivery(t0, None));
    wait_events(nw, first, &["triggered", "suppressed"]);
    am(crash_delivery(t0, Some(t0 + ChronoDuration::minutes(12))));
    wait_events(nw, first, &["triggered", "suppressed", "resolved"]);
    am(crash_delivery(t0, None)); // a late retry of the first occurrence
    wait_events(
        nw,
        first,
        &["triggered", "suppressed", "resolved", "stale_alert"],
    );

    am(crash_delivery(t1, None));
    let second = crash_ids(2);
    am(crash_delivery(t1, Some(t1 + ChronoDuration::minutes(20))));
    wait_events(nw, second, &["triggered", "resolved"]);

    am(crash_delivery(t2, None));
    let current = crash_ids(3);
    am(crash_delivery(t2, None));
    wait_events(nw, current, &["triggered", "suppressed"]);

    for (id, verdict) in [(first, "noise"), (second, "real")] {
        let body = serde_json::to_vec(&json!({"verdict": verdict})).unwrap();
        let alice = ALICE.get().map(String::as_str).unwrap_or_default();
        post_as(
            &http,
            nw,
            &format!("/api/incidents/{id}/verdict"),
            body,
            alice,
        );
    }
    assert_eq!(nw.incidents("").len(), 13);
    Seeded {
        first,
        second,
        current,
    }
}

// ---------------------------------------------------------------------------------------------
// Browser helpers.

async fn api(url: String) -> Value {
    tokio::task::spawn_blocking(move || {
        Http::new()
            .get(url)
            .bearer_auth(token())
            .send()
            .unwrap()
            .json::<Value>()
            .unwrap()
    })
    .await
    .unwrap()
}

/// The event id of the incident's newest analysis, once the responder wrote one.
async fn analysis_event(base: &str, id: i64) -> i64 {
    let deadline = Instant::now() + WAIT;
    loop {
        let detail = api(format!("{base}/api/incidents/{id}")).await;
        if let Some(event) = detail["analysis"]["event_id"].as_i64() {
            return event;
        }
        assert!(
            Instant::now() < deadline,
            "no analysis for incident {id}: {detail}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn find(client: &Client, css: &str) -> Element {
    match client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
    {
        Ok(element) => element,
        Err(e) => panic!(
            "no element {css:?} on {}: {e}",
            client.current_url().await.unwrap()
        ),
    }
}

async fn texts(client: &Client, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    for element in client.find_all(Locator::Css(css)).await.unwrap() {
        out.push(element.text().await.unwrap());
    }
    out
}

/// A two-column table (`th` key, `td` value) as a map.
async fn key_values(client: &Client, css: &str) -> BTreeMap<String, String> {
    let keys = texts(client, &format!("{css} th")).await;
    let values = texts(client, &format!("{css} td")).await;
    assert_eq!(keys.len(), values.len(), "{css}");
    keys.into_iter().zip(values).collect()
}

async fn text(client: &Client, css: &str) -> String {
    find(client, css).await.text().await.unwrap()
}

async fn computed(client: &Client, element: &Element, property: &str) -> String {
    let value = client
        .execute(
            "return getComputedStyle(arguments[0]).getPropertyValue(arguments[1]);",
            vec![serde_json::to_value(element).unwrap(), json!(property)],
        )
        .await
        .unwrap();
    value.as_str().unwrap().to_owned()
}

/// Waits until the browser is on a fully loaded page whose URL passes `check` (after a click
/// that navigates, or a form post answered with a redirect).
async fn wait_url(client: &Client, what: &str, check: impl Fn(&str) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let url = client.current_url().await.unwrap();
        if check(url.as_str()) && ready(client).await {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}, still on {url}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn ready(client: &Client) -> bool {
    client
        .execute("return document.readyState", vec![])
        .await
        .is_ok_and(|state| state == "complete")
}

/// A screenshot of the whole page (the window grown to the page's height for the shot).
async fn screenshot(client: &Client, name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/ui-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let dir = dir.canonicalize().unwrap();
    let number = |v: Value| v.as_u64().unwrap();
    let page_height = number(
        client
            .execute("return document.documentElement.scrollHeight", vec![])
            .await
            .unwrap(),
    );
    let inner_height = number(
        client
            .execute("return window.innerHeight", vec![])
            .await
            .unwrap(),
    );
    let (width, height) = client.get_window_size().await.unwrap();
    let chrome = height.saturating_sub(inner_height);
    client
        .set_window_size(width as u32, (page_height + chrome).max(height) as u32)
        .await
        .unwrap();
    let png = client.screenshot().await.unwrap();
    client
        .set_window_size(width as u32, height as u32)
        .await
        .unwrap();
    let path = dir.join(name);
    std::fs::write(&path, png).unwrap();
    path
}

/// The list page's rows by incident id: the texts of every cell.
async fn rows(client: &Client) -> BTreeMap<i64, Vec<String>> {
    let mut out = BTreeMap::new();
    for row in client
        .find_all(Locator::Css("#incidents tbody tr"))
        .await
        .unwrap()
    {
        let id: i64 = row.attr("data-id").await.unwrap().unwrap().parse().unwrap();
        let mut cells = Vec::new();
        for cell in row.find_all(Locator::Css("td")).await.unwrap() {
            cells.push(cell.text().await.unwrap());
        }
        out.insert(id, cells);
    }
    out
}

/// The ids of the list's rows, top to bottom.
async fn row_order(client: &Client) -> Vec<i64> {
    let mut out = Vec::new();
    for row in client
        .find_all(Locator::Css("#incidents tbody tr"))
        .await
        .unwrap()
    {
        out.push(row.attr("data-id").await.unwrap().unwrap().parse().unwrap());
    }
    out
}

fn ids(rows: &BTreeMap<i64, Vec<String>>) -> BTreeSet<i64> {
    rows.keys().copied().collect()
}

// ---------------------------------------------------------------------------------------------
// The checks.

async fn check_list_page(client: &Client, base: &str, seeded: Seeded) {
    client.goto(&format!("{base}/")).await.unwrap();
    find(client, "#incidents").await;
    assert_eq!(client.title().await.unwrap(), "Incidents · nightwatch");
    assert_eq!(text(client, "main h1").await, "Incidents");

    // Every incident the API knows is a row, with the same state, severity and verdict, in the
    // API's `updated` order: what moved last first.
    let all = api(format!("{base}/api/incidents?order=updated")).await;
    let all = all["incidents"].as_array().unwrap().clone();
    let shown = rows(client).await;
    let order: Vec<i64> = all.iter().map(|i| i["id"].as_i64().unwrap()).collect();
    assert_eq!(row_order(client).await, order, "rows in last-updated order");
    let updated: Vec<&str> = all
        .iter()
        .map(|i| i["updated_at"].as_str().unwrap())
        .collect();
    assert!(
        updated.windows(2).all(|w| w[0] >= w[1]),
        "newest update first: {updated:?}"
    );
    assert_eq!(
        texts(client, "#incidents thead th").await,
        [
            "#",
            "STATE",
            "SEVERITY",
            "ALERT",
            "NAMESPACE/POD",
            "NODE",
            "RUNBOOK",
            "VERDICT",
            "STARTED",
            "UPDATED",
            "ALERTS"
        ]
    );
    assert_eq!(
        shown.len(),
        all.len(),
        "rows on the page vs incidents in the API"
    );
    assert_eq!(shown.len(), 13);
    for incident in &all {
        let id = incident["id"].as_i64().unwrap();
        let cells = &shown[&id];
        assert_eq!(cells[0], id.to_string());
        assert_eq!(
            cells[1],
            incident["state"].as_str().unwrap(),
            "state of #{id}"
        );
        assert_eq!(
            cells[2],
            incident["severity"].as_str().unwrap(),
            "severity of #{id}"
        );
        let alertname = incident["alertname"].as_str().unwrap();
        assert_eq!(
            cells[3],
            if alertname.is_empty() {
                "(no alertname)"
            } else {
                alertname
            }
        );
        assert_eq!(
            cells[7],
            incident["verdict"].as_str().unwrap_or("no verdict"),
            "verdict of #{id}"
        );
        assert_eq!(
            cells[5],
            incident["node"].as_str().unwrap_or(""),
            "node of #{id}"
        );
        assert_eq!(
            cells[6],
            incident["runbook"].as_str().unwrap_or(""),
            "runbook of #{id}"
        );
    }
    let current = &shown[&seeded.current];
    assert_eq!(current[1..4], ["triggered", "critical", CRASH]);
    assert_eq!(current[4], "shop/api-1/app");
    // Started is the alert's own startsAt (ten minutes back), not when nightwatch heard of it.
    assert!(
        ["9m ago", "10m ago", "11m ago"].contains(&current[8].as_str()),
        "started when the alert says: {:?}",
        current[8]
    );
    assert!(
        current[9].ends_with("s ago"),
        "updated moments ago: {:?}",
        current[9]
    );
    assert_eq!(
        current[10], "2",
        "two alerts folded into the current incident"
    );
    assert_eq!(shown[&seeded.first][1], "resolved");
    assert_eq!(shown[&seeded.first][7], "noise");
    assert_eq!(shown[&seeded.second][7], "real");
    let throttling: Vec<_> = shown
        .values()
        .filter(|c| c[3] == "CPUThrottlingHigh")
        .collect();
    assert_eq!(throttling.len(), 9);
    assert!(
        throttling
            .iter()
            .all(|c| c[1] == "triggered" && c[2] == "warning")
    );
    assert!(
        shown.values().any(|c| c[3] == "TestAlert"),
        "the Grafana test alert"
    );

    // Badges are coloured by state and severity (what a person tells rows apart by).
    let row_badge = |id: i64, column: usize| {
        format!("#incidents tr[data-id=\"{id}\"] td:nth-child({column}) .badge")
    };
    let triggered = find(client, &row_badge(seeded.current, 2)).await;
    let resolved = find(client, &row_badge(seeded.first, 2)).await;
    assert_eq!(
        computed(client, &triggered, "background-color").await,
        "rgb(229, 83, 75)"
    );
    assert_eq!(
        computed(client, &resolved, "background-color").await,
        "rgb(87, 171, 90)"
    );
    assert!(triggered.is_displayed().await.unwrap());
    let path = screenshot(client, "incidents.png").await;
    eprintln!("screenshot: {}", path.display());

    // Filter by alertname: only the crash loop's three incidents remain.
    let alertname = find(client, "form.filters input[name=alertname]").await;
    alertname.send_keys(CRASH).await.unwrap();
    find(client, "form.filters button[type=submit]")
        .await
        .click()
        .await
        .unwrap();
    wait_url(client, "the alertname filter", |url| {
        url.contains("alertname=KubePodCrashLooping")
    })
    .await;
    let filtered = rows(client).await;
    assert_eq!(
        ids(&filtered),
        BTreeSet::from([seeded.first, seeded.second, seeded.current])
    );
    assert!(
        filtered
            .values()
            .all(|c| c[3] == CRASH && c[4] == "shop/api-1/app")
    );
    let kept = find(client, "form.filters input[name=alertname]").await;
    assert_eq!(
        kept.prop("value").await.unwrap().as_deref(),
        Some(CRASH),
        "the filter stays filled in"
    );

    // And by state: only the two resolved ones.
    find(client, "form.filters select[name=state]")
        .await
        .select_by_value("resolved")
        .await
        .unwrap();
    find(client, "form.filters button[type=submit]")
        .await
        .click()
        .await
        .unwrap();
    wait_url(client, "the state filter", |url| {
        url.contains("state=resolved")
    })
    .await;
    let resolved_rows = rows(client).await;
    assert_eq!(
        ids(&resolved_rows),
        BTreeSet::from([seeded.first, seeded.second])
    );
    assert!(resolved_rows.values().all(|c| c[1] == "resolved"));
    let state = find(client, "form.filters select[name=state]").await;
    assert_eq!(
        state.prop("value").await.unwrap().as_deref(),
        Some("resolved")
    );
    let path = screenshot(client, "incidents-filtered.png").await;
    eprintln!("screenshot: {}", path.display());

    // "Open" in the header: the triggered ones, as the API counts them.
    find(client, "header a[href=\"/?state=triggered\"]")
        .await
        .click()
        .await
        .unwrap();
    wait_url(client, "the Open link", |url| {
        url.ends_with("/?state=triggered")
    })
    .await;
    let open = api(format!("{base}/api/incidents?state=triggered")).await;
    let open: BTreeSet<i64> = open["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    assert_eq!(open.len(), 11);
    assert_eq!(ids(&rows(client).await), open);

    // A filter that matches nothing says so.
    client
        .goto(&format!("{base}/?alertname=NoSuchAlert"))
        .await
        .unwrap();
    assert_eq!(text(client, "main .empty").await, "No incidents match.");
    // A bad filter shows its message on the page.
    client
        .goto(&format!("{base}/?since=yesterday"))
        .await
        .unwrap();
    assert!(text(client, "main .flash").await.starts_with("since:"));

    // Clicking an incident's name opens its page.
    client
        .goto(&format!("{base}/?alertname={CRASH}"))
        .await
        .unwrap();
    let link = format!(
        "#incidents tr[data-id=\"{}\"] td:nth-child(4) a",
        seeded.current
    );
    find(client, &link).await.click().await.unwrap();
    let target = format!("/incident/{}", seeded.current);
    wait_url(client, "the incident page", |url| url.ends_with(&target)).await;
}

async fn check_incident_page(client: &Client, base: &str, seeded: Seeded) {
    let Seeded {
        first,
        second,
        current,
    } = seeded;
    // The analysis is written once the incident's runbook finished; show the page with it.
    analysis_event(base, current).await;
    client.refresh().await.unwrap();
    wait_url(client, "the reloaded incident page", |url| {
        url.ends_with(&format!("/incident/{current}"))
    })
    .await;
    assert_eq!(text(client, "main h1").await, format!("#{current} {CRASH}"));
    assert_eq!(
        client.title().await.unwrap(),
        format!("#{current} {CRASH} · nightwatch")
    );
    assert_eq!(text(client, "#state").await, "triggered");
    assert_eq!(text(client, "#verdict").await, "no verdict");
    assert_eq!(
        text(client, "#summary").await,
        "Pod shop/api-1 is crash looping"
    );
    let facts = texts(client, "main > p.muted").await;
    let facts = facts.iter().find(|p| p.starts_with("Opened")).unwrap();
    assert!(
        facts.contains("2 alert(s)") && facts.contains("source alertmanager"),
        "{facts}"
    );
    assert!(facts.contains(&format!("follows #{second}")), "{facts}");

    // Labels and annotations, key by value.
    let labels = key_values(client, "#labels").await;
    assert_eq!(labels["namespace"], "shop");
    assert_eq!(labels["pod"], "api-1");
    assert_eq!(labels["container"], "app");
    assert_eq!(labels["alertname"], CRASH);
    assert_eq!(labels["severity"], "critical");
    assert_eq!(labels["team"], "checkout");
    let annotations = key_values(client, "#annotations").await;
    assert_eq!(annotations["summary"], "Pod shop/api-1 is crash looping");
    assert!(annotations["description"].starts_with("Back-off restarting failed container app"));

    // The timeline: opened (following the previous occurrence), then the duplicate folded in.
    // Each event's payload, as stored, is one click away.
    let raw = client
        .execute(
            "const d = document.querySelector('#timeline tbody tr td.raw details'); \
             const closed = !d.open; d.querySelector('summary').click(); \
             return [closed, d.open, JSON.parse(d.querySelector('pre').textContent) !== null];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        raw,
        json!([true, true, true]),
        "the raw JSON opens on a click and parses"
    );
    let kinds = texts(client, &format!("{LIFECYCLE_ROWS} td.kind")).await;
    assert_eq!(kinds, ["triggered", "suppressed"]);
    let details = texts(client, &format!("{LIFECYCLE_ROWS} td:nth-child(4)")).await;
    assert!(
        details[0].contains(&format!("follows #{second}")),
        "{details:?}"
    );
    assert!(details[1].starts_with("duplicate alert"), "{details:?}");
    let alerts = texts(client, "#alerts tbody td:nth-child(2)").await;
    assert_eq!(alerts, ["firing", "firing"]);

    // History: the same pod's earlier incidents, newest first, colour-coded by verdict.
    // Shown as written: names are case-sensitive, so these headings are not upper-cased.
    assert_eq!(
        text(client, "#history-pod h2").await,
        "Same pod (shop/api-1)"
    );
    assert_eq!(
        text(client, "#history-alertname h2").await,
        format!("Same alert ({CRASH})")
    );
    let items = client
        .find_all(Locator::Css("#history-pod li"))
        .await
        .unwrap();
    assert_eq!(items.len(), 2);
    let mut history = Vec::new();
    for item in &items {
        let link = item.find(Locator::Css("a")).await.unwrap();
        let badge = item.find(Locator::Css(".badge")).await.unwrap();
        history.push((
            link.text().await.unwrap(),
            badge.text().await.unwrap(),
            computed(client, &badge, "background-color").await,
            badge.css_value("background-color").await.unwrap(),
            computed(client, item, "border-left-color").await,
            item.text().await.unwrap(),
        ));
    }
    let (real, noise) = (&history[0], &history[1]);
    assert_eq!(
        (real.0.as_str(), real.1.as_str()),
        (format!("#{second}").as_str(), "real")
    );
    assert_eq!(
        (noise.0.as_str(), noise.1.as_str()),
        (format!("#{first}").as_str(), "noise")
    );
    assert_eq!(noise.2, "rgb(118, 131, 144)", "noise badge colour");
    assert_eq!(real.2, "rgb(229, 83, 75)", "real badge colour");
    assert_ne!(noise.3, real.3, "WebDriver's CSS value differs too");
    assert_eq!(
        noise.4, noise.2,
        "the item's left border takes the verdict colour"
    );
    assert_eq!(real.4, real.2);
    assert!(
        noise.5.contains("shop/api-1/app") && noise.5.ends_with("ago · resolved"),
        "{}",
        noise.5
    );
    // What was done comes first on each line, as the API records each incident's actions.
    history_outcomes(client, base, "#history-pod li").await;
    // The same alert's history also holds both.
    let same_alert = texts(client, "#history-alertname li a").await;
    assert_eq!(same_alert, [format!("#{second}"), format!("#{first}")]);

    let path = screenshot(client, "incident.png").await;
    eprintln!("screenshot: {}", path.display());

    check_analysis(client, base, current).await;

    // One name field for the whole page, in the header; the forms have none of their own.
    assert_eq!(
        client
            .find_all(Locator::Css("main input[name=by]:not([type=hidden])"))
            .await
            .unwrap()
            .len(),
        0
    );
    // Who acts is who signed in: the header says so, and no form asks for a name.
    let user = text(client, "#user").await;
    assert!(user.starts_with("bob · approver"), "{user}");
    find(client, "#ack").await.click().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let badge = match client.find(Locator::Css("#state")).await {
            Ok(badge) => badge.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if badge == "acknowledged" && ready(client).await {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "state badge still {badge:?} after Acknowledge"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let state = find(client, "#state").await;
    assert_eq!(
        computed(client, &state, "background-color").await,
        "rgb(198, 144, 38)"
    );
    assert!(
        client
            .current_url()
            .await
            .unwrap()
            .as_str()
            .ends_with(&format!("/incident/{current}"))
    );
    let last = client.find_all(Locator::Css(LIFECYCLE_ROWS)).await.unwrap();
    assert_eq!(last.len(), 3);
    let cells: Vec<String> = {
        let mut cells = Vec::new();
        for cell in last[2].find_all(Locator::Css("td")).await.unwrap() {
            cells.push(cell.text().await.unwrap());
        }
        cells
    };
    assert_eq!(
        cells[1..],
        [
            "acknowledged",
            "bob",
            "acknowledged by bob (session from 127.0.0.1)",
            "JSON"
        ]
    );
    assert!(
        client.find(Locator::Css("#ack")).await.is_err(),
        "no Acknowledge button any more"
    );
    assert!(
        client.find(Locator::Css("#resolve")).await.is_ok(),
        "Resolve is still offered"
    );
    let stored = api(format!("{base}/api/incidents/{current}")).await;
    assert_eq!(stored["incident"]["state"], "acknowledged");
    assert_eq!(stored["incident"]["acknowledged_by"], "bob");
    let path = screenshot(client, "incident-acknowledged.png").await;
    eprintln!("screenshot: {}", path.display());

    // The earlier incident, from its history link: resolved, its whole story, verdict noise.
    find(
        client,
        &format!("#history-pod a[href=\"/incident/{first}\"]"),
    )
    .await
    .click()
    .await
    .unwrap();
    let target = format!("/incident/{first}");
    wait_url(client, "the first incident's page", |url| {
        url.ends_with(&target)
    })
    .await;
    assert_eq!(text(client, "#state").await, "resolved");
    assert_eq!(text(client, "#verdict").await, "noise");
    let kinds = texts(client, &format!("{LIFECYCLE_ROWS} td.kind")).await;
    assert_eq!(
        kinds,
        [
            "triggered",
            "suppressed",
            "resolved",
            "stale_alert",
            "verdict"
        ]
    );
    let details = texts(client, &format!("{LIFECYCLE_ROWS} td:nth-child(4)")).await;
    assert!(details[2].ends_with("resolved"), "{details:?}");
    assert_eq!(details[4], "verdict noise by alice (token from 127.0.0.1)");
    let actors = texts(client, &format!("{LIFECYCLE_ROWS} td:nth-child(3)")).await;
    assert_eq!(actors[4], "alice");
    assert!(client.find(Locator::Css("#ack")).await.is_err());
    assert!(client.find(Locator::Css("#resolve")).await.is_err());
    assert!(client.find(Locator::Css("#set-verdict")).await.is_ok());
    // No verdict is chosen for the person: one careless click must not file it as noise.
    let chosen = client
        .execute(
            "const s = document.querySelector('select[name=verdict]'); return [s.value, s.required];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(chosen, json!(["", true]));
    let later = texts(client, "#history-pod li a").await;
    assert_eq!(later, [format!("#{current}"), format!("#{second}")]);
    // (Without a cluster the seeded restarts never become action rows: "no action" here; the
    // marks themselves are checked in the app's unit tests.)
    history_outcomes(client, base, "#history-pod li").await;
    let path = screenshot(client, "incident-resolved.png").await;
    eprintln!("screenshot: {}", path.display());
}

/// The history lines under `css`: each shows what was done about that past incident first —
/// ✓ executed and verified, → recommended (waiting or declined), ✗ failed — exactly as the
/// API records its actions ("no action" when none), before its verdict.
async fn history_outcomes(client: &Client, base: &str, css: &str) {
    for item in client.find_all(Locator::Css(css)).await.unwrap() {
        let link = item
            .find(Locator::Css("a"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let id: i64 = link.trim_start_matches('#').parse().unwrap();
        let mut shown = Vec::new();
        for outcome in item.find_all(Locator::Css(".outcome")).await.unwrap() {
            shown.push(outcome.text().await.unwrap());
        }
        let actions = api(format!("{base}/api/actions?incident={id}")).await;
        let mut expected: Vec<String> = actions
            .as_array()
            .unwrap()
            .iter()
            .rev()
            .map(|a| {
                let mark = match a["state"].as_str().unwrap() {
                    "verified" => "✓",
                    "failed" | "forbidden" => "✗",
                    _ => "→",
                };
                format!("{mark} {}", a["action"].as_str().unwrap())
            })
            .collect();
        if expected.is_empty() {
            expected.push("no action".to_owned());
        }
        assert_eq!(shown, expected, "what was done about #{id}");
        let line = item.text().await.unwrap();
        let verdict = item
            .find(Locator::Css(".badge"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            line.find(&expected[0]) < line.rfind(&verdict),
            "the outcome comes before the verdict: {line}"
        );
    }
}

/// The analysis above the timeline: its seven headings in order, citations that link to
/// timeline rows, and Regenerate, which writes a fresh analysis (now seeing the verdicts people
/// gave the earlier incidents) and shows it.
async fn check_analysis(client: &Client, base: &str, current: i64) {
    assert_eq!(text(client, "#analysis h2").await, "ANALYSIS");
    assert_eq!(texts(client, "#analysis h3").await, SECTIONS);
    let bodies = texts(client, "#analysis .analysis-body").await;
    assert_eq!(bodies.len(), 7);
    assert!(bodies[0].contains(CRASH), "{bodies:?}");
    assert!(
        bodies[5].contains("2 related past incidents (2 same alertname, 2 same pod, 0 same node)"),
        "{}",
        bodies[5]
    );
    // Above the timeline on the page.
    let above = client
        .execute(
            "return document.querySelector('#analysis').compareDocumentPosition(\
             document.querySelector('#timeline')) & Node.DOCUMENT_POSITION_FOLLOWING",
            vec![],
        )
        .await
        .unwrap();
    assert_ne!(above, json!(0), "the analysis comes before the timeline");
    // A citation is a link to its event's timeline row.
    let link = find(client, "#analysis .analysis-body a[href^='#event-']").await;
    let href = link.attr("href").await.unwrap().unwrap();
    let row = find(client, &format!("#timeline tr{href}")).await;
    assert!(row.is_displayed().await.unwrap());
    link.click().await.unwrap();
    wait_url(client, "the cited timeline row", |url| url.ends_with(&href)).await;

    let before = analysis_event(base, current).await;
    find(client, "#regenerate-analysis")
        .await
        .click()
        .await
        .unwrap();
    wait_url(client, "back on the incident after Regenerate", |url| {
        url.ends_with(&format!("/incident/{current}#analysis"))
    })
    .await;
    let after = analysis_event(base, current).await;
    assert!(after > before, "a new analysis event: {before} → {after}");
    let meta = text(client, "#analysis-meta").await;
    assert!(meta.contains(&format!("event {after}")), "{meta}");
    let bodies = texts(client, "#analysis .analysis-body").await;
    assert!(
        bodies[5].contains("1 noise, 1 real"),
        "the fresh analysis counts the verdicts: {}",
        bodies[5]
    );
    let row = text(
        client,
        &format!("#timeline tr#event-{after}.event-analysis td:nth-child(4)"),
    )
    .await;
    assert!(
        row.starts_with("template analysis: 7 sections, "),
        "the new analysis is in the timeline, in one line: {row}"
    );
    let path = screenshot(client, "incident-analysis.png").await;
    eprintln!("screenshot: {}", path.display());
}

/// A pending action (recorded through the store, as the responder records one when the policy
/// asks for approval) shows on the actions page and the incident page; Approve with a name moves
/// it on, and the timeline says who approved.
async fn check_actions_page(client: &Client, base: &str, seeded: Seeded, database_url: &str) {
    use nightwatch_core::action::{ActionRequest, ActionTarget};
    use nightwatch_core::event::EventKind;
    use nightwatch_store::{ActionState, NewAction, Store};
    let store = Store::open(database_url, Default::default()).await.unwrap();
    let action_id = store
        .insert_action(
            &NewAction {
                incident_id: seeded.current,
                runbook: "RB_CRASHLOOP".into(),
                step_id: "ui_restart".into(),
                request: ActionRequest {
                    action: "rollout_restart".into(),
                    target: ActionTarget::namespaced("Deployment", "shop", "api"),
                    args: json!({}),
                },
                state: ActionState::Pending,
                class: Some("prod".into()),
                rule: Some("class_approval".into()),
                reason: "rollout_restart on Deployment/shop/api needs approval in class prod"
                    .into(),
                expires_at: Some(Utc::now() + ChronoDuration::hours(1)),
            },
            (EventKind::ApprovalRequested, json!({"step": "ui_restart"})),
            Utc::now(),
        )
        .await
        .unwrap();
    store.close().await;

    client
        .goto(&format!("{base}/incident/{}", seeded.current))
        .await
        .unwrap();
    let pending = text(client, &format!("#pending-{action_id}")).await;
    assert!(
        pending.contains("rollout_restart") && pending.contains("Deployment/shop/api"),
        "{pending}"
    );
    assert!(text(client, "#runbook").await.contains("RB_CRASHLOOP"));

    client.goto(&format!("{base}/actions")).await.unwrap();
    let row = find(client, &format!("#pending-{action_id}")).await;
    let row_text = row.text().await.unwrap();
    assert!(
        row_text.contains("needs approval in class prod"),
        "{row_text}"
    );
    let path = screenshot(client, "actions-pending.png").await;
    eprintln!("screenshot: {}", path.display());
    let approve = format!("#pending-{action_id} form[action$='/approve'] button");
    // A responder is shown the button but refused by the server, and nothing changes.
    sign_in(client, base, "rita").await;
    client.goto(&format!("{base}/actions")).await.unwrap();
    find(client, &approve).await.click().await.unwrap();
    let refusal = wait_in_page(
        client,
        "the refusal",
        "return document.body.innerText.includes('approver role') ? document.body.innerText : null;",
    )
    .await;
    assert!(
        refusal.as_str().unwrap().contains("you have responder"),
        "{refusal}"
    );
    let action = api(format!("{base}/api/actions/{action_id}")).await;
    assert_eq!(action["state"], "pending", "{action}");
    // alice, an approver, takes over the browser and approves.
    sign_in(client, base, "alice").await;
    client.goto(&format!("{base}/actions")).await.unwrap();
    find(client, &approve).await.click().await.unwrap();
    wait_url(client, "back on the actions page", |url| {
        url.ends_with("/actions")
    })
    .await;
    // The page was already /actions: wait for the answer's page, where it is no longer pending.
    wait_in_page(
        client,
        "the action no longer pending",
        &format!("return document.getElementById('pending-{action_id}') ? null : true;"),
    )
    .await;
    let recent = text(client, &format!("#action-{action_id}")).await;
    assert!(recent.contains("alice"), "{recent}");
    let path = screenshot(client, "actions-decided.png").await;
    eprintln!("screenshot: {}", path.display());

    let detail = api(format!("{base}/api/incidents/{}", seeded.current)).await;
    let approved = detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|event| event["kind"] == "approved")
        .unwrap_or_else(|| panic!("no approved event: {detail}"));
    assert_eq!(approved["actor"], "alice");
    // Deciding twice is refused with a message, not a crash.
    let action = api(format!("{base}/api/actions/{action_id}")).await;
    assert_ne!(action["state"], "pending", "{action}");
}

/// The briefing: the week's incidents by alert with verdict badges (the computed colour of
/// the noise badge checked), linked from the header; the tuning page says no alert is mostly
/// noise yet (the fixtures' noise is one incident).
async fn check_briefing_and_tuning(client: &Client, base: &str) {
    client.goto(&format!("{base}/")).await.unwrap();
    find(client, "header a[href='/briefing']")
        .await
        .click()
        .await
        .unwrap();
    wait_url(client, "the briefing", |url| url.ends_with("/briefing")).await;
    assert_eq!(text(client, "h1").await, "Briefing, last 7 days");
    let summary = text(client, "#briefing-summary").await;
    assert!(summary.contains("incidents ("), "{summary}");
    let alerts = texts(client, "#by-alert td.mono").await;
    assert!(
        alerts.iter().any(|a| a == "CPUThrottlingHigh"),
        "{alerts:?}"
    );
    let noise = find(client, "#by-alert .verdict-noise").await;
    assert_eq!(
        computed(client, &noise, "background-color").await,
        "rgb(118, 131, 144)"
    );
    let path = screenshot(client, "briefing.png").await;
    eprintln!("screenshot: {}", path.display());
    find(client, "header a[href='/tuning']")
        .await
        .click()
        .await
        .unwrap();
    wait_url(client, "the tuning page", |url| url.ends_with("/tuning")).await;
    assert_eq!(text(client, "h1").await, "Tuning proposals");
    assert!(client.find(Locator::Css("#no-proposals")).await.is_ok());
    let path = screenshot(client, "tuning.png").await;
    eprintln!("screenshot: {}", path.display());
}

/// Alert text reaches the analysis (the template quotes the alert's summary; a model may too),
/// and the analysis is rendered from Markdown: hostile text in it must render inert — raw HTML
/// shown as text, no script run, no `javascript:` link — while Markdown still renders.
async fn check_hostile_analysis(client: &Client, base: &str) {
    const HOSTILE: &str = "<script>window.__pwned=1</script> <img src=x onerror=\"window.__pwned=2\"> \
                           [open](javascript:window.__pwned=3) **bold claim**";
    let body = serde_json::to_vec(&json!({
        "version": "4", "status": "firing", "receiver": "nw", "groupKey": "{}:{}",
        "alerts": [{
            "status": "firing",
            "labels": {"alertname": "HostileMarkdown", "namespace": "shop", "severity": "warning"},
            "annotations": {"summary": HOSTILE},
            "startsAt": Utc::now().to_rfc3339(),
            "endsAt": "0001-01-01T00:00:00Z"
        }]
    }))
    .unwrap();
    let url = format!("{base}/webhook/alertmanager");
    tokio::task::spawn_blocking(move || {
        let response = Http::new()
            .post(url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .unwrap();
        assert!(response.status().is_success(), "{}", response.status());
    })
    .await
    .unwrap();
    let deadline = Instant::now() + WAIT;
    let id = loop {
        let list = api(format!("{base}/api/incidents?alertname=HostileMarkdown")).await;
        if let Some(id) = list["incidents"][0]["id"].as_i64() {
            break id;
        }
        assert!(
            Instant::now() < deadline,
            "no HostileMarkdown incident: {list}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    analysis_event(base, id).await;
    client.goto(&format!("{base}/incident/{id}")).await.unwrap();
    let bodies = texts(client, "#analysis .analysis-body").await.join("\n");
    assert!(
        bodies.contains("<script>window.__pwned=1</script>"),
        "the raw HTML is shown as text: {bodies}"
    );
    let found = client
        .execute(
            "return { pwned: window.__pwned === undefined ? null : window.__pwned, \
                      scripts: document.querySelectorAll('#analysis script').length, \
                      handlers: document.querySelectorAll('#analysis [onerror], #analysis [onload]').length, \
                      js_links: [...document.querySelectorAll('#analysis a')].filter(a => (a.getAttribute('href') || '').toLowerCase().includes('javascript')).length, \
                      bold: document.querySelectorAll('#analysis .analysis-body strong').length }",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        found,
        json!({"pwned": null, "scripts": 0, "handlers": 0, "js_links": 0, "bold": found["bold"]}),
        "hostile analysis text ran or kept an active attribute"
    );
    assert!(
        found["bold"].as_u64().unwrap_or(0) >= 1,
        "Markdown is rendered: {found}"
    );
    let path = screenshot(client, "incident-hostile-analysis.png").await;
    eprintln!("screenshot: {}", path.display());
}

/// Runs `script` in the page until it returns something other than null, retrying while the
/// page reloads itself (a script run mid-navigation fails).
async fn wait_in_page(client: &Client, what: &str, script: &str) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(value) = client.execute(script, vec![]).await
            && !value.is_null()
        {
            return value;
        }
        assert!(Instant::now() < deadline, "waited for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The pages follow changes by themselves: a new incident appears in the open list and an
/// acknowledgement on the open incident page, with the test never reloading or navigating;
/// the header says the feed is live.
async fn check_live_updates(client: &Client, base: &str) {
    let post_json = |path: String, body: Value| async move {
        tokio::task::spawn_blocking(move || {
            let response = Http::new()
                .post(path)
                .bearer_auth(token())
                .json(&body)
                .send()
                .unwrap();
            assert!(response.status().is_success(), "{}", response.status());
        })
        .await
        .unwrap();
    };
    client.goto(&format!("{base}/")).await.unwrap();
    let live = "const m = document.getElementById('live'); \
                return m && m.classList.contains('on') ? m.textContent : null;";
    assert_eq!(
        wait_in_page(client, "the live marker on the list", live).await,
        "live"
    );
    post_json(
        format!("{base}/webhook/alertmanager"),
        json!({
            "version": "4", "status": "firing", "receiver": "nw", "groupKey": "{}:{}",
            "alerts": [{
                "status": "firing",
                "labels": {"alertname": "LiveArrival", "namespace": "shop", "severity": "critical"},
                "annotations": {"summary": "arrives while the page is open"},
                "startsAt": Utc::now().to_rfc3339(),
                "endsAt": "0001-01-01T00:00:00Z"
            }]
        }),
    )
    .await;
    let id = wait_in_page(
        client,
        "the new incident in the open list",
        "const row = [...document.querySelectorAll('#incidents tbody tr')] \
           .find(r => r.cells[3] && r.cells[3].innerText === 'LiveArrival'); \
         return row ? Number(row.dataset.id) : null;",
    )
    .await
    .as_i64()
    .unwrap();
    let top = wait_in_page(
        client,
        "the first row",
        "const r = document.querySelector('#incidents tbody tr'); return r ? Number(r.dataset.id) : null;",
    )
    .await;
    assert_eq!(top, json!(id), "what moved last is at the top");

    client.goto(&format!("{base}/incident/{id}")).await.unwrap();
    assert_eq!(
        wait_in_page(client, "the live marker on the incident", live).await,
        "live"
    );
    post_json(format!("{base}/api/incidents/{id}/ack"), json!({})).await;
    wait_in_page(
        client,
        "the acknowledgement on the open page",
        "return document.querySelector('.badge.state-acknowledged') ? true : null;",
    )
    .await;
    let path = screenshot(client, "incident-live-acknowledged.png").await;
    eprintln!("screenshot: {}", path.display());
}

/// Every page at a phone's width (390 px): nothing wider than the screen, the list as stacked
/// cards, and the buttons that act on an incident at least 44 px tall and on screen.
async fn check_phone(client: &Client, base: &str, seeded: Seeded) {
    let (width, height) = client.get_window_size().await.unwrap();
    client.set_window_size(390, 844).await.unwrap();
    let inner = client
        .execute("return window.innerWidth", vec![])
        .await
        .unwrap()
        .as_u64()
        .unwrap();
    assert!(inner <= 400, "a phone-wide viewport: {inner}");
    for (path, name) in [
        ("/".to_owned(), "phone-incidents.png"),
        (
            format!("/incident/{}", seeded.current),
            "phone-incident.png",
        ),
        ("/actions".to_owned(), "phone-actions.png"),
        ("/briefing".to_owned(), "phone-briefing.png"),
        ("/tuning".to_owned(), "phone-tuning.png"),
    ] {
        client.goto(&format!("{base}{path}")).await.unwrap();
        find(client, "main").await;
        let overflow = client
            .execute(
                "return document.documentElement.scrollWidth - window.innerWidth",
                vec![],
            )
            .await
            .unwrap();
        assert!(
            overflow.as_i64().unwrap() <= 0,
            "{path} scrolls sideways by {overflow} px at 390 px"
        );
        let small = client
            .execute(
                "return [...document.querySelectorAll('main button')] \
                   .map(b => [b.id || b.className || b.textContent, b.getBoundingClientRect()]) \
                   .filter(([_, r]) => r.height < 44 || r.right > window.innerWidth + 1) \
                   .map(([name, r]) => name + ' ' + Math.round(r.height) + 'x' + Math.round(r.width) + ' right ' + Math.round(r.right));",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(small, json!([]), "{path}: buttons too small or off screen");
        let path = screenshot(client, name).await;
        eprintln!("screenshot: {}", path.display());
    }
    // The list is cards: one row's cells stack, each named.
    client.goto(&format!("{base}/")).await.unwrap();
    let stacked = client
        .execute(
            "const td = document.querySelector('#incidents tbody td[data-label=node]'); \
             return [getComputedStyle(td).display, getComputedStyle(td, '::before').content];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(stacked, json!(["block", "\"node: \""]));
    client
        .set_window_size(width as u32, height as u32)
        .await
        .unwrap();
}

/// axe-core (the accessibility engine browsers' dev tools use), run inside Chromium on every
/// page: no serious or critical violation. `scripts/test` installs it from the npm registry and
/// names it in `NIGHTWATCH_TEST_AXE`.
async fn check_accessibility(client: &Client, base: &str, seeded: Seeded) {
    let path = std::env::var("NIGHTWATCH_TEST_AXE").unwrap_or_else(|_| {
        panic!(
            "NIGHTWATCH_TEST_AXE is not set: run ./scripts/test, or \
             npm install --prefix DIR axe-core@4 and set it to DIR/node_modules/axe-core/axe.min.js"
        )
    });
    let axe = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    let mut found = Vec::new();
    for page in [
        "/".to_owned(),
        format!("/incident/{}", seeded.current),
        format!("/incident/{}", seeded.first),
        "/actions".to_owned(),
        "/briefing".to_owned(),
        "/tuning".to_owned(),
    ] {
        client.goto(&format!("{base}{page}")).await.unwrap();
        find(client, "main").await;
        client.execute(&axe, vec![]).await.unwrap();
        let result = client
            .execute_async(
                "const done = arguments[arguments.length - 1]; \
                 axe.run(document, {resultTypes: ['violations']}) \
                   .then(r => done(r.violations \
                     .filter(v => v.impact === 'serious' || v.impact === 'critical') \
                     .map(v => v.id + ' (' + v.impact + '): ' + v.help + ' — ' + \
                          v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | ')))) \
                   .catch(e => done(['axe failed: ' + e]));",
                vec![],
            )
            .await
            .unwrap();
        for violation in result.as_array().unwrap() {
            found.push(format!("{page}: {}", violation.as_str().unwrap()));
        }
    }
    assert!(
        found.is_empty(),
        "accessibility violations:\n{}",
        found.join("\n")
    );
}

/// Keyboard only: from the list, Tab to an open incident and Enter; on its page, Tab to the
/// name field, type, Tab to Acknowledge and Enter. Every stop is reachable and acts.
async fn check_keyboard(client: &Client, base: &str) {
    const TAB: &str = "\u{E004}";
    const ENTER: &str = "\u{E007}";
    let list = api(format!(
        "{base}/api/incidents?state=triggered&alertname=HostileMarkdown"
    ))
    .await;
    let id = list["incidents"][0]["id"].as_i64().unwrap();
    // Signing in, from the keyboard alone.
    sign_out(client, base).await;
    client.goto(&format!("{base}/")).await.unwrap();
    wait_url(client, "the login page", |url| url.contains("/login?next=")).await;
    find(client, "#name").await.send_keys("dana").await.unwrap();
    client
        .active_element()
        .await
        .unwrap()
        .send_keys(TAB)
        .await
        .unwrap();
    let focused = client.active_element().await.unwrap();
    assert_eq!(
        focused.attr("id").await.unwrap().as_deref(),
        Some("password")
    );
    focused
        .send_keys(&format!("{PASSWORD}{ENTER}"))
        .await
        .unwrap();
    wait_url(client, "signed in", |url| url.ends_with('/')).await;
    find(client, "#incidents").await;
    // Tab until focus is on `css`; at most `limit` presses.
    async fn tab_to(client: &Client, css: &str, limit: usize) {
        for _ in 0..limit {
            let on = client
                .execute(
                    "return document.activeElement && document.activeElement.matches(arguments[0]);",
                    vec![json!(css)],
                )
                .await
                .unwrap();
            if on == json!(true) {
                return;
            }
            client
                .active_element()
                .await
                .unwrap()
                .send_keys(TAB)
                .await
                .unwrap();
        }
        panic!("Tab never reached {css}");
    }
    tab_to(client, &format!("#incidents a[href='/incident/{id}']"), 200).await;
    client
        .active_element()
        .await
        .unwrap()
        .send_keys(ENTER)
        .await
        .unwrap();
    wait_url(client, "the incident opened from the keyboard", |url| {
        url.ends_with(&format!("/incident/{id}"))
    })
    .await;
    tab_to(client, "#ack", 50).await;
    client
        .active_element()
        .await
        .unwrap()
        .send_keys(ENTER)
        .await
        .unwrap();
    wait_in_page(
        client,
        "the keyboard acknowledgement",
        "return document.querySelector('#state.state-acknowledged') ? true : null;",
    )
    .await;
    let detail = api(format!("{base}/api/incidents/{id}")).await;
    assert_eq!(
        detail["incident"]["acknowledged_by"],
        json!("dana"),
        "{detail}"
    );
}

/// Signs out if someone is signed in (the header's form).
async fn sign_out(client: &Client, base: &str) {
    client.goto(&format!("{base}/password")).await.unwrap();
    if let Ok(button) = client.find(Locator::Css("#logout")).await {
        button.click().await.unwrap();
        wait_url(client, "signed out", |url| url.contains("/login")).await;
    }
}

/// Signs `name` in through the login page, as a person would.
async fn sign_in(client: &Client, base: &str, name: &str) {
    sign_out(client, base).await;
    client.goto(&format!("{base}/login")).await.unwrap();
    find(client, "#name").await.send_keys(name).await.unwrap();
    find(client, "#password")
        .await
        .send_keys(PASSWORD)
        .await
        .unwrap();
    find(client, "#sign-in").await.click().await.unwrap();
    wait_url(client, "signed in", |url| !url.contains("/login")).await;
    assert!(
        text(client, "#user")
            .await
            .starts_with(&format!("{name} · "))
    );
}

/// Nobody signed in: every page leads to the login page, which takes the person back.
async fn check_login(client: &Client, base: &str, seeded: &Seeded) {
    let page = format!("/incident/{}", seeded.current);
    client.goto(&format!("{base}{page}")).await.unwrap();
    wait_url(client, "the login page", |url| url.contains("/login?next=")).await;
    let path = screenshot(client, "login.png").await;
    eprintln!("screenshot: {}", path.display());
    find(client, "#name").await.send_keys("bob").await.unwrap();
    find(client, "#password")
        .await
        .send_keys("wrong password!")
        .await
        .unwrap();
    find(client, "#sign-in").await.click().await.unwrap();
    assert!(
        text(client, "#login-error")
            .await
            .contains("wrong name or password")
    );
    find(client, "#password")
        .await
        .send_keys(PASSWORD)
        .await
        .unwrap();
    find(client, "#sign-in").await.click().await.unwrap();
    wait_url(client, "back where the person was going", |url| {
        url.ends_with(&page)
    })
    .await;
}

async fn check_pages(client: Client, base: String, seeded: Seeded, database_url: String) {
    check_login(&client, &base, &seeded).await;
    check_list_page(&client, &base, seeded).await;
    check_incident_page(&client, &base, seeded).await;
    check_actions_page(&client, &base, seeded, &database_url).await;
    check_briefing_and_tuning(&client, &base).await;
    check_hostile_analysis(&client, &base).await;
    check_keyboard(&client, &base).await;
    check_live_updates(&client, &base).await;
    check_phone(&client, &base, seeded).await;
    check_accessibility(&client, &base, seeded).await;
}

#[tokio::test]
async fn ui_pages_in_headless_chromium() {
    let started = Instant::now();
    let (database_url, _db_dir) = fresh_sqlite_url();
    let url = database_url.clone();
    let (nw, seeded) = tokio::task::spawn_blocking(move || {
        let nw = Nightwatch::start_secure(BIN, &url, None);
        for (name, role) in [
            ("bob", "approver"),
            ("alice", "approver"),
            ("rita", "responder"),
            ("dana", "responder"),
        ] {
            nightwatch_testkit::run_command(
                BIN,
                &url,
                &["users", "add", name, "--role", role, "--password-stdin"],
                &format!("{PASSWORD}\n"),
            );
        }
        let _ = TOKEN.set(nw.token.clone().unwrap());
        let alice = nightwatch_testkit::run_command(
            BIN,
            &url,
            &[
                "tokens",
                "create",
                "alice-cli",
                "--role",
                "approver",
                "--user",
                "alice",
            ],
            "",
        );
        let _ = ALICE.set(alice.trim().to_owned());
        let seeded = seed(&nw);
        (nw, seeded)
    })
    .await
    .unwrap();
    let seeded_in = started.elapsed();
    let driver = tokio::task::spawn_blocking(ChromeDriver::start)
        .await
        .unwrap();
    let client = open_browser(&driver).await;

    // The checks run as their own task so that the browser session is closed even when one fails.
    let outcome = tokio::spawn(check_pages(
        client.clone(),
        nw.base_url.clone(),
        seeded,
        database_url,
    ))
    .await;
    let _ = client.close().await;
    drop(driver);
    if let Err(error) = outcome {
        eprintln!("nightwatch log:\n{}", nw.log());
        match error.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(error) => panic!("UI checks did not finish: {error}"),
        }
    }
    eprintln!(
        "seeded in {seeded_in:?}, whole test {:?}",
        started.elapsed()
    );
}

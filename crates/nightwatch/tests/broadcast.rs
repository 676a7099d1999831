//! Discord and the signed outgoing webhook, through the real binary: a critical and a warning
//! incident; Discord (the wire-faithful fake, which first answers 429 with `retry_after`) gets
//! an embed for the critical one only, coloured for its severity and linking to the UI; the
//! webhook receiver gets both, each signed so `verify_signature` accepts it with the shared
//! secret and refuses it with another. A restart does not announce them again.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// Tests against a real server and lab: the wall clock and real elapsed time are the point.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use nightwatch_notify::fake::FakeDiscord;
use nightwatch_testkit::webhook_sink::start_webhook_sink;
use nightwatch_testkit::{Nightwatch, wait_for, webhook_body};
use reqwest::blocking::Client;
use serde_json::{Value, json};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_nightwatch");
const WAIT: Duration = Duration::from_secs(60);
const SECRET: &str = "whsec-test-1";

fn alert(alertname: &str, severity: &str) -> Value {
    webhook_body(
        json!({"alertname": alertname, "namespace": "shop", "severity": severity}),
        json!({"summary": format!("{alertname} fired")}),
        chrono::Utc::now(),
        None,
    )
}

#[test]
fn critical_incidents_reach_discord_and_every_incident_the_signed_webhook() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let discord = runtime.block_on(FakeDiscord::start()).unwrap();
    discord.rate_limit(1, 0.2);
    let (receiver, received) = start_webhook_sink(&runtime);
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("nw.db").display());
    let config = format!(
        "[kubernetes]\nenabled = false\n\n[notify]\nui_base_url = \"http://nightwatch.example\"\n\n\
         [notify.discord]\nwebhook_url = \"{}\"\n\n[notify.webhook]\nurl = \"{receiver}\"\nsecret = \"{SECRET}\"\n",
        discord.webhook_url()
    );
    let mut nw = Nightwatch::start(BIN, &url, Some(&config));
    let client = Client::new();
    for (alertname, severity) in [("PaymentsDown", "critical"), ("DiskFillingUp", "warning")] {
        let response = client
            .post(nw.url("/webhook/alertmanager"))
            .json(&alert(alertname, severity))
            .send()
            .unwrap();
        assert!(response.status().is_success());
    }

    let deliveries = wait_for("two webhook deliveries", WAIT, || {
        let got = received.lock().unwrap().clone();
        (got.len() >= 2).then_some(got)
    });
    let mut events = Vec::new();
    for (headers, body) in &deliveries {
        let timestamp = headers["x-nightwatch-timestamp"].to_str().unwrap();
        let signature = headers["x-nightwatch-signature"].to_str().unwrap();
        assert!(signature.starts_with("sha256="), "{signature}");
        nightwatch_notify::verify_signature(SECRET.as_bytes(), timestamp, body, signature)
            .expect("signed with the shared secret");
        assert!(
            nightwatch_notify::verify_signature(b"another", timestamp, body, signature).is_err()
        );
        let value: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(value["event"], "incident.opened");
        events.push(value["incident"]["alertname"].as_str().unwrap().to_owned());
    }
    events.sort();
    assert_eq!(events, ["DiskFillingUp", "PaymentsDown"]);

    let embeds = wait_for("the Discord embed", WAIT, || {
        let messages = discord.messages();
        (!messages.is_empty()).then_some(messages)
    });
    assert_eq!(embeds.len(), 1, "only the critical incident: {embeds:?}");
    let embed = &embeds[0]["embeds"][0];
    assert!(
        embed["title"].as_str().unwrap().contains("CRITICAL"),
        "{embed}"
    );
    assert_eq!(embed["color"], 0xE01E5A);
    assert!(
        embed["url"]
            .as_str()
            .unwrap()
            .starts_with("http://nightwatch.example/incident/")
    );
    assert!(
        discord.requests().iter().any(|r| r.status == 429),
        "the 429 was met and retried"
    );

    // A restart reads the timeline: nothing is announced twice.
    assert!(nw.terminate());
    let nw = Nightwatch::start(BIN, &url, Some(&config));
    let _ = nw.incidents("");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        received.lock().unwrap().len(),
        2,
        "no repeat after a restart"
    );
    assert_eq!(discord.messages().len(), 1);
}

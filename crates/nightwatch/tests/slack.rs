//! Slack end to end, through the real binary and the production Slack clients, against the
//! wire-faithful fake Slack (Web API over HTTP, Socket Mode over a real WebSocket): an alert is
//! posted to `#alerts` with its buttons; reminders go into the thread every interval, the
//! primary target first and the next one after M reminders; bob's Acknowledge click over the
//! socket is acked, acknowledges the incident as bob, rewrites the message without the button
//! and stops the reminders; `/nightwatch status` answers through the response URL.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// Tests against a real server and lab: the wall clock and real elapsed time are the point.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use nightwatch_notify::fake::FakeSlack;
use nightwatch_testkit::{Nightwatch, wait_for, webhook_body};
use reqwest::blocking::Client;
use serde_json::{Value, json};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_nightwatch");
const WAIT: Duration = Duration::from_secs(60);

fn alert() -> Value {
    webhook_body(
        json!({"alertname": "PaymentsErrorRate", "namespace": "payments", "severity": "critical"}),
        json!({"summary": "payments 5xx above 5%"}),
        chrono::Utc::now(),
        None,
    )
}

fn has_button(message: &nightwatch_notify::fake::SlackMessage, action_id: &str) -> bool {
    message
        .blocks
        .to_string()
        .contains(&format!("\"action_id\":\"{action_id}\""))
}

/// nightwatch on the fake Slack with no cluster, no briefing and reminders an hour apart:
/// only announcements and clicks reach the channel.
fn quiet_slack_config(slack: &FakeSlack) -> String {
    format!(
        "[kubernetes]\nenabled = false\n\n\
         [briefing]\non_start = false\n\n\
         [notify.slack]\nbot_token = \"{}\"\napp_token = \"{}\"\nchannel = \"#alerts\"\nbase_url = \"{}\"\n\n\
         [notify.nag]\ninterval = \"1h\"\n",
        slack.bot_token(),
        slack.app_token(),
        slack.base_url()
    )
}

/// Posts `body` to nightwatch as an Alertmanager delivery; it must be acknowledged.
fn post_alert(nw: &Nightwatch, body: &Value) {
    let response = Client::new()
        .post(nw.url("/webhook/alertmanager"))
        .json(body)
        .send()
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
}

/// The incident's card (its own message, with the Acknowledge button) once it is in #alerts.
fn posted_card(slack: &FakeSlack) -> nightwatch_notify::fake::SlackMessage {
    wait_for("the incident message", WAIT, || {
        slack
            .messages("#alerts")
            .into_iter()
            .find(|m| m.thread_ts.is_none() && has_button(m, "nw_ack"))
    })
}

#[test]
fn alert_to_slack_nags_until_bob_acknowledges_over_the_socket() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let slack = runtime.block_on(FakeSlack::start()).unwrap();
    slack.add_channel("#vip");
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("nw.db").display());
    let config = format!(
        "[kubernetes]\nenabled = false\n\n\
         [notify]\nui_base_url = \"http://nightwatch.example\"\n\n\
         [notify.slack]\nbot_token = \"{}\"\napp_token = \"{}\"\nchannel = \"#alerts\"\nbase_url = \"{}\"\n\n\
         [notify.nag]\ninterval = \"1s\"\nnags_per_target = 2\ntargets = [\"<@U0PRIMARY>\", \"<@U0SECOND>\"]\n\n\
         [[notify.routes]]\nnamespaces = [\"vip-*\"]\nseverities = [\"critical\"]\nslack_channel = \"#vip\"\n",
        slack.bot_token(),
        slack.app_token(),
        slack.base_url()
    );
    let nw = Nightwatch::start(BIN, &url, Some(&config));
    let client = Client::new();
    post_alert(&nw, &alert());

    // Posted once, as a card with the buttons and the UI link.
    let message = posted_card(&slack);
    // The briefing went to the channel at start.
    assert!(
        slack
            .messages("#alerts")
            .iter()
            .any(|m| m.text.starts_with("# nightwatch briefing, last 7 days")),
        "{:?}",
        slack.messages("#alerts")
    );
    assert!(
        message.text.contains("PaymentsErrorRate") || message.text.contains("payments 5xx"),
        "{}",
        message.text
    );
    assert!(has_button(&message, "nw_ack"), "{}", message.blocks);
    assert!(
        message
            .blocks
            .to_string()
            .contains("http://nightwatch.example/incident/1")
    );
    let replies = |slack: &FakeSlack| -> Vec<String> {
        slack
            .messages("#alerts")
            .into_iter()
            .filter(|m| m.thread_ts.as_deref() == Some(message.ts.as_str()))
            .map(|m| m.text)
            .collect()
    };

    // Two reminders to the primary, then the escalation to the next target, in the thread.
    let nagged = wait_for("three reminders", WAIT, || {
        let texts = replies(&slack);
        (texts.len() >= 3).then_some(texts)
    });
    assert!(
        nagged[0].starts_with("<@U0PRIMARY> Reminder 1: incident #1"),
        "{nagged:?}"
    );
    assert!(
        nagged[1].starts_with("<@U0PRIMARY> Reminder 2"),
        "{nagged:?}"
    );
    assert!(
        nagged[2].starts_with("<@U0SECOND> Escalating: incident #1"),
        "{nagged:?}"
    );

    // bob clicks Acknowledge over Socket Mode.
    wait_for("the socket mode connection", WAIT, || {
        (slack.live_connections() >= 1).then_some(())
    });
    let envelope = slack
        .click("#alerts", &message.ts, "nw_ack", "bob")
        .unwrap();
    let incident = wait_for("the acknowledgement", WAIT, || {
        let detail = nw.incident(1);
        (detail["incident"]["state"] == "acknowledged").then_some(detail)
    });
    assert_eq!(incident["incident"]["acknowledged_by"], "bob", "{incident}");
    assert!(slack.acks().contains(&envelope), "the envelope was acked");
    let updated = wait_for("the message rewritten", WAIT, || {
        slack
            .messages("#alerts")
            .into_iter()
            .find(|m| m.ts == message.ts && m.edits > 0 && !has_button(m, "nw_ack"))
    });
    assert!(
        updated.blocks.to_string().contains("bob"),
        "{}",
        updated.blocks
    );
    let answered = wait_for("bob's ephemeral answer", WAIT, || {
        slack.responses().into_iter().find(|(_, body)| {
            body["text"]
                .as_str()
                .is_some_and(|t| t.contains("acknowledged by bob"))
        })
    });
    assert_eq!(answered.1["response_type"], "ephemeral");

    // The reminders stopped: none after the acknowledgement, even after more intervals.
    let at_ack = replies(&slack).len();
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(
        replies(&slack).len(),
        at_ack,
        "no reminder after the acknowledgement"
    );
    let events = nw.incident(1)["events"].as_array().unwrap().clone();
    let acked = events
        .iter()
        .position(|e| e["kind"] == "acknowledged")
        .unwrap();
    assert!(
        events[acked..]
            .iter()
            .all(|e| e["kind"] != "notification_sent" || e["payload"]["kind"] == "announce"),
        "{events:?}"
    );
    let sent: Vec<&str> = events
        .iter()
        .filter(|e| e["kind"] == "notification_sent")
        .map(|e| e["payload"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        &sent[..4],
        ["announce", "reminder", "reminder", "escalation"],
        "{sent:?}"
    );

    // Mark noise from the rewritten message: the verdict is carol's.
    slack
        .click("#alerts", &message.ts, "nw_noise", "carol")
        .unwrap();
    wait_for("carol's verdict", WAIT, || {
        (nw.incident(1)["incident"]["verdict"] == "noise").then_some(())
    });
    let verdict = nw.incident(1)["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "verdict")
        .cloned()
        .unwrap();
    assert_eq!(verdict["actor"], "carol", "{verdict}");

    // A route sends a VIP namespace's critical incident to its own channel.
    let mut vip = alert();
    vip["alerts"][0]["labels"]["namespace"] = json!("vip-1");
    vip["alerts"][0]["labels"]["alertname"] = json!("VipCheckoutDown");
    assert!(
        client
            .post(nw.url("/webhook/alertmanager"))
            .json(&vip)
            .send()
            .unwrap()
            .status()
            .is_success()
    );
    let routed = wait_for("the VIP incident in #vip", WAIT, || {
        slack
            .messages("#vip")
            .into_iter()
            .find(|m| m.thread_ts.is_none())
    });
    assert!(
        routed.text.contains("VipCheckoutDown")
            || routed.blocks.to_string().contains("VipCheckoutDown"),
        "{}",
        routed.text
    );
    assert!(
        !slack
            .messages("#alerts")
            .iter()
            .any(|m| m.blocks.to_string().contains("VipCheckoutDown")),
        "not in the default channel"
    );

    // The slash commands answer through their response URLs.
    slack.slash("/nightwatch", "briefing", "carol").unwrap();
    wait_for("the briefing answer", WAIT, || {
        slack.responses().into_iter().find(|(_, body)| {
            body["text"].as_str().is_some_and(|t| {
                t.contains("2 incidents (2 open)") && t.contains("PaymentsErrorRate: 1")
            })
        })
    });
    slack.slash("/nightwatch", "status", "carol").unwrap();
    wait_for("the status answer", WAIT, || {
        slack.responses().into_iter().find(|(_, body)| {
            body["text"]
                .as_str()
                .is_some_and(|t| t.contains("1 acknowledged"))
        })
    });
}

/// Slack drops the Socket Mode connection (as it does on deploys, and as a network would):
/// nightwatch connects again by itself, a click made after that counts, and the incident was
/// posted once.
#[test]
fn a_dropped_slack_socket_is_reconnected_and_a_later_click_counts() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let slack = runtime.block_on(FakeSlack::start()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("nw.db").display());
    let nw = Nightwatch::start(BIN, &url, Some(&quiet_slack_config(&slack)));
    wait_for("the socket mode connection", WAIT, || {
        (slack.live_connections() >= 1).then_some(())
    });
    slack.drop_connection().unwrap();
    // Posted while the socket is down: the Web API does not need it.
    post_alert(&nw, &alert());
    let message = posted_card(&slack);
    wait_for("a second connection", WAIT, || {
        (slack.connections() >= 2 && slack.live_connections() >= 1).then_some(())
    });
    let envelope = slack
        .click("#alerts", &message.ts, "nw_ack", "dana")
        .unwrap();
    let incident = wait_for("the acknowledgement", WAIT, || {
        let detail = nw.incident(1);
        (detail["incident"]["state"] == "acknowledged").then_some(detail)
    });
    assert_eq!(
        incident["incident"]["acknowledged_by"], "dana",
        "{incident}"
    );
    assert!(slack.acks().contains(&envelope), "the envelope was acked");
    let posted = slack
        .messages("#alerts")
        .into_iter()
        .filter(|m| m.thread_ts.is_none())
        .count();
    assert_eq!(posted, 1, "announced once");
}

/// The window a kill can hit: Slack answered the post, the process died before recording it.
/// The restarted binary finds the message by its metadata and adopts it instead of posting the
/// incident a second time; an incident with no message is posted; one opened after the start
/// is posted with no search.
#[test]
fn an_announcement_posted_before_a_crash_is_found_and_not_posted_again() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let slack = runtime.block_on(FakeSlack::start()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("nw.db").display());
    let alert_named = |name: &str| {
        webhook_body(
            json!({"alertname": name, "namespace": "payments", "severity": "critical"}),
            json!({"summary": format!("{name} fired")}),
            chrono::Utc::now(),
            None,
        )
    };
    let send = |nw: &Nightwatch, name: &str| -> i64 {
        post_alert(nw, &alert_named(name));
        let incident = wait_for(name, WAIT, || {
            nw.incidents(&format!("alertname={name}"))
                .into_iter()
                .next()
        });
        incident["id"].as_i64().unwrap()
    };

    // Before the crash: two incidents; Slack is not configured yet, so neither is recorded.
    let mut first = Nightwatch::start(BIN, &url, Some("[kubernetes]\nenabled = false\n"));
    let posted_then_killed = send(&first, "CheckoutLatency");
    let never_posted = send(&first, "CartErrors");
    first.kill();
    // What the killed process had posted: the production client, the production tag.
    let tagged = runtime
        .block_on(
            nightwatch_notify::SlackClient::new(nightwatch_notify::SlackConfig {
                base_url: slack.base_url(),
                ..nightwatch_notify::SlackConfig::new(slack.bot_token())
            })
            .unwrap()
            .post_message(&nightwatch_notify::slack::PostMessage {
                channel: "#alerts".into(),
                text: "incident posted by the process that died".into(),
                blocks: Vec::new(),
                thread_ts: None,
                metadata: Some(nightwatch_notify::slack::MessageMetadata {
                    event_type: nightwatch_app::slack::INCIDENT_METADATA.into(),
                    event_payload: json!({"incident_id": posted_then_killed}),
                }),
            }),
        )
        .unwrap();

    let nw = Nightwatch::start(BIN, &url, Some(&quiet_slack_config(&slack)));
    let tag_of = |m: &nightwatch_notify::fake::SlackMessage| {
        m.metadata
            .as_ref()
            .and_then(|meta| meta["event_payload"]["incident_id"].as_i64())
    };
    let top_level_for = |id: i64| {
        slack
            .messages("#alerts")
            .into_iter()
            .filter(|m| m.thread_ts.is_none() && tag_of(m) == Some(id))
            .collect::<Vec<_>>()
    };
    wait_for("the incident with no message posted", WAIT, || {
        (!top_level_for(never_posted).is_empty()).then_some(())
    });
    let after_start = send(&nw, "RefundErrors");
    wait_for("the incident opened after the start posted", WAIT, || {
        (!top_level_for(after_start).is_empty()).then_some(())
    });
    let adopted = top_level_for(posted_then_killed);
    assert_eq!(adopted.len(), 1, "posted once, not again: {adopted:?}");
    assert_eq!(adopted[0].ts, tagged.ts);
    assert_eq!(top_level_for(never_posted).len(), 1);
    assert_eq!(top_level_for(after_start).len(), 1);
    // The adopted message is the incident's message now: its record and timeline say so.
    let detail: Value = Client::new()
        .get(nw.url(&format!("/api/incidents/{posted_then_killed}")))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let announce = detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "notification_sent" && e["payload"]["kind"] == "announce")
        .unwrap_or_else(|| panic!("no announce event: {detail}"))
        .clone();
    assert_eq!(announce["payload"]["found"], json!(true), "{announce}");
    assert_eq!(announce["payload"]["ts"], json!(tagged.ts), "{announce}");
    // One search per incident that predates the start; none for the one opened after.
    let searches = slack
        .requests()
        .iter()
        .filter(|r| r.method == "conversations.history")
        .count();
    assert_eq!(searches, 2, "{:?}", slack.requests());
}

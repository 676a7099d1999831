//! The Slack Web API client against the fake Slack: posting and updating incident messages in a
//! thread, Slack's `ok: false` errors, token checks, rate limits and unreachable servers.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use nightwatch_core::incident::IncidentState;
use nightwatch_notify::fake::FakeSlack;
use nightwatch_notify::slack::{
    EphemeralMessage, PostMessage, UpdateMessage, incident_blocks, incident_text,
};
use nightwatch_notify::{RetrySettings, SlackClient, SlackConfig, SlackError};
use serde_json::Value;
use std::time::Duration;
use support::{card, ms};
use tokio::time::Instant;

fn client(fake: &FakeSlack, token: &str) -> SlackClient {
    let config = SlackConfig {
        base_url: fake.base_url(),
        retry: RetrySettings {
            max_attempts: 3,
            initial_backoff_ms: 100,
            ..RetrySettings::default()
        },
        ..SlackConfig::new(token)
    };
    SlackClient::new(config).unwrap()
}

fn action_ids(blocks: &Value) -> Vec<String> {
    blocks
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["type"] == "actions")
        .flat_map(|b| b["elements"].as_array().unwrap().clone())
        .map(|e| e["action_id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(start_paused = true)]
async fn incident_posted_updated_and_answered_in_its_thread() {
    let fake = FakeSlack::start().await.unwrap();
    let started = Instant::now();
    let slack = client(&fake, fake.bot_token());

    let incident = card(42);
    let posted = slack
        .post_message(&PostMessage {
            channel: "#alerts".into(),
            text: incident_text(&incident),
            blocks: incident_blocks(&incident),
            thread_ts: None,
            metadata: None,
        })
        .await
        .unwrap();
    // Slack answers with the channel id even when the name was given.
    assert_eq!(posted.channel, "C0ALERTS");

    let reply = slack
        .post_message(&PostMessage {
            channel: posted.channel.clone(),
            text: "Runbook crashloop: container OOMKilled, memory limit 256Mi".into(),
            blocks: Vec::new(),
            thread_ts: Some(posted.ts.clone()),
            metadata: None,
        })
        .await
        .unwrap();
    assert_ne!(reply.ts, posted.ts);

    let acknowledged = nightwatch_notify::IncidentCard {
        state: IncidentState::Acknowledged,
        acknowledged_by: Some("carol".into()),
        ..incident.clone()
    };
    let updated = slack
        .update_message(&UpdateMessage {
            channel: posted.channel.clone(),
            ts: posted.ts.clone(),
            text: incident_text(&acknowledged),
            blocks: incident_blocks(&acknowledged),
        })
        .await
        .unwrap();
    assert_eq!(updated, posted);

    let messages = fake.messages("alerts");
    assert_eq!(messages.len(), 2);
    let parent = &messages[0];
    assert_eq!(parent.ts, posted.ts);
    assert_eq!(parent.thread_ts, None);
    assert_eq!(parent.edits, 1);
    assert_eq!(
        action_ids(&parent.blocks),
        ["nw_noise", "nw_real", "nw_open"],
        "no Acknowledge button once acknowledged"
    );
    assert!(parent.blocks.to_string().contains("acknowledged by carol"));
    assert_eq!(messages[1].thread_ts.as_deref(), Some(posted.ts.as_str()));
    assert!(messages[1].text.contains("OOMKilled"));

    let requests = fake.requests();
    let methods: Vec<&str> = requests.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(
        methods,
        ["chat.postMessage", "chat.postMessage", "chat.update"]
    );
    assert!(
        requests
            .iter()
            .all(|r| r.token.as_deref() == Some(fake.bot_token()))
    );
    // The first post went out as JSON with the fallback text and the blocks.
    assert_eq!(requests[0].body["text"], incident_text(&incident));
    assert_eq!(
        requests[0].body["blocks"],
        serde_json::json!(incident_blocks(&incident))
    );
    assert!(requests[0].body.get("thread_ts").is_none());
    assert_eq!(started.elapsed(), Duration::ZERO, "nothing waited");
}

#[tokio::test(start_paused = true)]
async fn slack_errors_name_the_method_and_the_error() {
    let fake = FakeSlack::start().await.unwrap();
    let started = Instant::now();
    let slack = client(&fake, fake.bot_token());

    let err = slack
        .post_message(&PostMessage {
            channel: "#nowhere".into(),
            text: "hi".into(),
            blocks: Vec::new(),
            thread_ts: None,
            metadata: None,
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SlackError::Api { method, error } if method == "chat.postMessage" && error == "channel_not_found"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "slack chat.postMessage failed: channel_not_found"
    );
    assert!(!err.is_auth());

    let err = slack
        .update_message(&UpdateMessage {
            channel: "C0ALERTS".into(),
            ts: "1.000001".into(),
            text: "x".into(),
            blocks: Vec::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.api_error(), Some("message_not_found"));

    // Slack's errors are answers, not failures to retry.
    assert_eq!(fake.requests().len(), 2);
    assert_eq!(started.elapsed(), Duration::ZERO, "nothing waited");
}

#[tokio::test(start_paused = true)]
async fn tokens_are_checked_like_slack() {
    let fake = FakeSlack::start().await.unwrap();
    let message = PostMessage {
        channel: "#alerts".into(),
        text: "hi".into(),
        blocks: Vec::new(),
        thread_ts: None,
        metadata: None,
    };
    let cases = [
        (fake.app_token(), "not_allowed_token_type"),
        ("xoxb-someone-else", "invalid_auth"),
        ("garbage", "invalid_auth"),
    ];
    for (token, want) in cases {
        let err = client(&fake, token)
            .post_message(&message)
            .await
            .unwrap_err();
        assert_eq!(err.api_error(), Some(want), "{token}");
        assert!(err.is_auth());
    }
    assert!(SlackClient::new(SlackConfig::new(" ")).is_err());
    assert!(fake.messages("alerts").is_empty());
}

#[tokio::test(start_paused = true)]
async fn rate_limit_honours_retry_after_then_succeeds() {
    let fake = FakeSlack::start().await.unwrap();
    let started = Instant::now();
    let slack = client(&fake, fake.bot_token());
    fake.rate_limit("chat.postMessage", 2, 3);

    let posted = slack
        .post_message(&PostMessage {
            channel: "#alerts".into(),
            text: "hello".into(),
            blocks: Vec::new(),
            thread_ts: None,
            metadata: None,
        })
        .await
        .unwrap();

    assert_eq!(started.elapsed(), ms(&[3000, 3000]));
    let statuses: Vec<u16> = fake.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [429, 429, 200]);
    let messages = fake.messages("alerts");
    assert_eq!(messages.len(), 1, "posted once");
    assert_eq!(messages[0].ts, posted.ts);
}

#[tokio::test(start_paused = true)]
async fn rate_limit_gives_up_after_the_attempts() {
    let fake = FakeSlack::start().await.unwrap();
    let started = Instant::now();
    let slack = client(&fake, fake.bot_token());
    fake.rate_limit("chat.update", 5, 120);

    let err = slack
        .update_message(&UpdateMessage {
            channel: "C0ALERTS".into(),
            ts: "1.1".into(),
            text: "x".into(),
            blocks: Vec::new(),
        })
        .await
        .unwrap_err();
    match err {
        SlackError::RateLimited {
            method,
            retry_after,
            attempts,
        } => {
            assert_eq!(method, "chat.update");
            assert_eq!(retry_after, Some(std::time::Duration::from_secs(120)));
            assert_eq!(attempts, 3);
        }
        other => panic!("{other:?}"),
    }
    // Two waits between three attempts, each capped at max_backoff (60 s).
    assert_eq!(started.elapsed(), ms(&[60_000, 60_000]));
}

#[tokio::test(start_paused = true)]
async fn ephemeral_message_for_one_user() {
    let fake = FakeSlack::start().await.unwrap();
    let slack = client(&fake, fake.bot_token());
    let ts = slack
        .post_ephemeral(&EphemeralMessage {
            channel: "#alerts".into(),
            user: "UCAROL".into(),
            text: "2 open incidents".into(),
            blocks: Vec::new(),
            thread_ts: None,
        })
        .await
        .unwrap();
    assert!(!ts.is_empty());
    let sent = fake.ephemerals();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["user"], "UCAROL");
    assert!(fake.messages("alerts").is_empty(), "not a channel message");
}

#[tokio::test(start_paused = true)]
async fn unreachable_slack_is_retried_then_reported() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let started = Instant::now();
    let config = SlackConfig {
        base_url: format!("http://{addr}/api"),
        retry: RetrySettings {
            max_attempts: 3,
            initial_backoff_ms: 100,
            ..RetrySettings::default()
        },
        ..SlackConfig::new("xoxb-x")
    };
    let slack = SlackClient::new(config).unwrap();
    let err = slack
        .post_message(&PostMessage {
            channel: "#alerts".into(),
            text: "x".into(),
            blocks: Vec::new(),
            thread_ts: None,
            metadata: None,
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SlackError::Transport { method, attempts: 3, .. } if method == "chat.postMessage"),
        "{err:?}"
    );
    assert_eq!(started.elapsed(), ms(&[100, 200]));
}

#[tokio::test]
async fn a_posted_message_is_found_again_by_its_metadata_across_pages_of_history() {
    use nightwatch_notify::slack::MessageMetadata;
    let fake = FakeSlack::start().await.unwrap();
    let slack = client(&fake, fake.bot_token());
    let post = |text: String, metadata: Option<MessageMetadata>| PostMessage {
        channel: "C0ALERTS".into(),
        text,
        blocks: Vec::new(),
        thread_ts: None,
        metadata,
    };
    let tagged = |id: i64| {
        Some(MessageMetadata {
            event_type: "nightwatch_incident".into(),
            event_payload: serde_json::json!({"incident_id": id}),
        })
    };
    let wanted = slack
        .post_message(&post("incident 7".into(), tagged(7)))
        .await
        .unwrap();
    // A reply in its thread carries no tag and is not what is searched.
    slack
        .post_message(&PostMessage {
            thread_ts: Some(wanted.ts.clone()),
            ..post("reminder".into(), None)
        })
        .await
        .unwrap();
    // More than one page of newer messages (Slack pages by 200 here), some tagged for others.
    for n in 0..250 {
        let metadata = if n % 50 == 0 { tagged(100 + n) } else { None };
        slack
            .post_message(&post(format!("chatter {n}"), metadata))
            .await
            .unwrap();
    }
    let find = |id: i64, oldest: String| {
        let slack = slack.clone();
        async move {
            slack
                .find_by_metadata(
                    "C0ALERTS",
                    &oldest,
                    "nightwatch_incident",
                    ("incident_id", &serde_json::json!(id)),
                )
                .await
                .unwrap()
        }
    };
    let before: f64 = wanted.ts.parse::<f64>().unwrap() - 60.0;
    assert_eq!(
        find(7, format!("{before:.0}")).await,
        Some(wanted.ts.clone())
    );
    assert_eq!(find(8, format!("{before:.0}")).await, None, "no such tag");
    assert_eq!(
        find(7, wanted.ts.clone()).await,
        None,
        "oldest is exclusive: the message itself is not newer than itself"
    );
    let pages = fake
        .requests()
        .iter()
        .filter(|r| r.method == "conversations.history")
        .count();
    assert!(
        pages >= 4,
        "the search paged through history: {pages} requests"
    );
    // Metadata must be a type and an object payload, as Slack requires.
    let refused = slack
        .call(
            "chat.postMessage",
            &serde_json::json!({"channel": "C0ALERTS", "text": "x", "metadata": {"event_type": "t"}}),
        )
        .await;
    assert!(refused.is_err(), "{refused:?}");
}

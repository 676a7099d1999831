//! The Socket Mode client against the fake Slack's real WebSocket: commands delivered and every
//! envelope acknowledged, repeats delivered once, reconnects after `disconnect`, after a dropped
//! socket and after a failed `apps.connections.open`, refused tokens, and a clean stop.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use nightwatch_notify::fake::FakeSlack;
use nightwatch_notify::slack::{
    ButtonAction, PostMessage, ResponseUrlReply, SlashRequest, incident_blocks, incident_text,
};
use nightwatch_notify::{
    RetrySettings, SlackClient, SlackCommand, SlackConfig, SlackError, SocketMode, SocketModeConfig,
};
use serde_json::json;
use std::time::Duration;
use support::{PATIENCE, card, ms, with_pending};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

struct Running {
    fake: FakeSlack,
    /// When the client started, on tokio's (paused) clock.
    started: Instant,
    commands: mpsc::Receiver<SlackCommand>,
    stop: watch::Sender<bool>,
    task: JoinHandle<Result<(), SlackError>>,
}

fn socket_config(fake: &FakeSlack, token: &str) -> SocketModeConfig {
    SocketModeConfig {
        base_url: fake.base_url(),
        reconnect_initial_ms: 250,
        retry: RetrySettings {
            max_attempts: 2,
            ..RetrySettings::default()
        },
        ..SocketModeConfig::new(token)
    }
}

async fn start() -> Running {
    let fake = FakeSlack::start().await.unwrap();
    let started = Instant::now();
    let (tx, commands) = mpsc::channel(16);
    let (stop, stop_rx) = watch::channel(false);
    let socket = SocketMode::new(socket_config(&fake, fake.app_token())).unwrap();
    let task = socket.spawn(tx, stop_rx);
    assert!(
        fake.wait_for_connections(1, PATIENCE).await,
        "never connected"
    );
    Running {
        fake,
        started,
        commands,
        stop,
        task,
    }
}

impl Running {
    async fn next(&mut self) -> SlackCommand {
        tokio::time::timeout(PATIENCE, self.commands.recv())
            .await
            .expect("no command delivered")
            .expect("channel closed")
    }

    async fn acks(&self, n: usize) -> Vec<String> {
        assert!(self.fake.wait_for_acks(n, PATIENCE).await, "{} acks", n);
        self.fake.acks()
    }

    /// Stops the client and checks it ended cleanly and closed its socket.
    async fn stop(self) -> FakeSlack {
        self.stop.send(true).unwrap();
        let result = tokio::time::timeout(PATIENCE, self.task)
            .await
            .unwrap()
            .unwrap();
        assert!(result.is_ok(), "{result:?}");
        assert!(
            self.fake
                .wait_until(PATIENCE, |f| f.live_connections() == 0)
                .await,
            "socket left open"
        );
        self.fake
    }

    fn bot(&self) -> SlackClient {
        let config = SlackConfig {
            base_url: self.fake.base_url(),
            ..SlackConfig::new(self.fake.bot_token())
        };
        SlackClient::new(config).unwrap()
    }

    async fn post_card(&self, card: &nightwatch_notify::IncidentCard) -> String {
        self.bot()
            .post_message(&PostMessage {
                channel: "#alerts".into(),
                text: incident_text(card),
                blocks: incident_blocks(card),
                thread_ts: None,
                metadata: None,
            })
            .await
            .unwrap()
            .ts
    }
}

#[tokio::test(start_paused = true)]
async fn button_clicks_are_delivered_acknowledged_and_answered() {
    let mut run = start().await;
    let ts = run.post_card(&with_pending(card(42), 7)).await;

    let ack_envelope = run.fake.click("alerts", &ts, "nw_ack", "carol").unwrap();
    let SlackCommand::Button(click) = run.next().await else {
        panic!("not a button")
    };
    assert_eq!(click.action, ButtonAction::Ack);
    assert_eq!(click.incident_id, 42);
    assert_eq!(click.action_id, None);
    assert_eq!(click.user.display(), "carol");
    assert_eq!(click.user.id, "UCAROL");
    assert_eq!(click.channel.as_deref(), Some("C0ALERTS"));
    assert_eq!(click.message_ts.as_deref(), Some(ts.as_str()));

    let approve_envelope = run
        .fake
        .click("alerts", &ts, "nw_approve", "carol")
        .unwrap();
    let SlackCommand::Button(approve) = run.next().await else {
        panic!("not a button")
    };
    assert_eq!(
        (approve.action, approve.incident_id, approve.action_id),
        (ButtonAction::Approve, 42, Some(7))
    );

    // The link button is acknowledged and otherwise ignored.
    let open_envelope = run.fake.click("alerts", &ts, "nw_open", "carol").unwrap();
    assert_eq!(
        run.acks(3).await,
        [ack_envelope, approve_envelope, open_envelope]
    );
    assert!(run.commands.try_recv().is_err());
    assert!(run.fake.unexpected_frames().is_empty());

    // The click's response_url takes a reply without a token.
    let response_url = approve.response_url.clone().unwrap();
    run.bot()
        .respond(
            &response_url,
            &ResponseUrlReply::ephemeral("Approved action #7"),
        )
        .await
        .unwrap();
    let responses = run.fake.responses();
    assert_eq!(responses.len(), 1);
    assert_eq!(responses[0].0, response_url);
    assert_eq!(responses[0].1["text"], "Approved action #7");
    assert_eq!(responses[0].1["response_type"], "ephemeral");

    run.stop().await;
}

#[tokio::test(start_paused = true)]
async fn slash_commands_are_parsed() {
    let mut run = start().await;
    let cases = [
        ("ack 42", SlashRequest::Ack(42)),
        ("status", SlashRequest::Status),
        ("briefing", SlashRequest::Briefing),
        ("", SlashRequest::Help),
        ("reboot prod", SlashRequest::Unknown("reboot prod".into())),
    ];
    for (text, want) in cases {
        run.fake.slash("/nightwatch", text, "dave").unwrap();
        let SlackCommand::Slash(slash) = run.next().await else {
            panic!("not a slash command")
        };
        assert_eq!(slash.request, want, "{text:?}");
        assert_eq!(slash.command, "/nightwatch");
        assert_eq!(slash.text, text);
        assert_eq!(slash.user.display(), "dave");
        assert_eq!(slash.channel, "C0ALERTS");
        assert!(!slash.response_url.is_empty());
    }
    assert_eq!(run.acks(5).await.len(), 5);
    run.stop().await;
}

#[tokio::test(start_paused = true)]
async fn retried_envelopes_are_acknowledged_but_delivered_once() {
    let mut run = start().await;
    let first = run.fake.slash("/nightwatch", "ack 42", "dave").unwrap();
    assert!(matches!(run.next().await, SlackCommand::Slash(_)));

    // Slack's retry: same envelope id, retry_attempt 1.
    run.fake.retry(&first, "timeout").unwrap();
    // A resend under a fresh envelope id with the same event is also a repeat.
    let event = run
        .fake
        .event(json!({"type": "app_mention", "text": "<@U0NWBOT> status"}))
        .unwrap();
    let SlackCommand::Event(mention) = run.next().await else {
        panic!("not an event")
    };
    assert_eq!(mention.kind, "app_mention");
    run.fake
        .push_raw(json!({
            "envelope_id": "resent-under-a-new-id",
            "type": "events_api",
            "accepts_response_payload": false,
            "retry_attempt": 1,
            "retry_reason": "http_timeout",
            "payload": {"type": "event_callback", "event_id": mention.event_id.clone().unwrap(),
                        "event": {"type": "app_mention", "text": "<@U0NWBOT> status"}}
        }))
        .unwrap();
    // A marker: the next delivery must be this, not one of the repeats.
    let marker = run.fake.slash("/nightwatch", "briefing", "dave").unwrap();
    let SlackCommand::Slash(next) = run.next().await else {
        panic!("a repeat was delivered")
    };
    assert_eq!(next.request, SlashRequest::Briefing);

    assert_eq!(
        run.acks(5).await,
        [
            first.clone(),
            first,
            event,
            "resent-under-a-new-id".to_string(),
            marker
        ]
    );
    assert!(run.commands.try_recv().is_err());
    run.stop().await;
}

#[tokio::test(start_paused = true)]
async fn disconnect_opens_a_new_connection_and_keeps_delivering() {
    let mut run = start().await;
    run.fake.slash("/nightwatch", "status", "dave").unwrap();
    assert!(matches!(run.next().await, SlackCommand::Slash(_)));

    run.fake.disconnect("refresh_requested").unwrap();
    assert!(run.fake.wait_for_connections(2, PATIENCE).await);
    // The old socket is closed by the client once the new one is up.
    assert!(
        run.fake
            .wait_until(PATIENCE, |f| f.live_connections() == 1)
            .await
    );

    let after = run.fake.slash("/nightwatch", "ack 9", "dave").unwrap();
    let SlackCommand::Slash(slash) = run.next().await else {
        panic!("not a slash command")
    };
    assert_eq!(slash.request, SlashRequest::Ack(9));
    assert_eq!(run.acks(2).await[1], after);
    assert_eq!(run.fake.connections(), 2);
    // Two connection tickets were asked for with the app token.
    let opens = run
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "apps.connections.open")
        .collect::<Vec<_>>();
    assert_eq!(opens.len(), 2);
    assert!(
        opens
            .iter()
            .all(|r| r.token.as_deref() == Some(run.fake.app_token()))
    );
    // A requested refresh is not a failure: no back-off.
    assert_eq!(run.started.elapsed(), Duration::ZERO, "nothing waited");
    run.stop().await;
}

#[tokio::test(start_paused = true)]
async fn dropped_connection_reconnects_after_a_back_off() {
    let mut run = start().await;
    run.fake.drop_connection().unwrap();
    assert!(run.fake.wait_for_connections(2, PATIENCE).await);

    let ts = run.post_card(&card(5)).await;
    let envelope = run.fake.click("alerts", &ts, "nw_noise", "erin").unwrap();
    let SlackCommand::Button(click) = run.next().await else {
        panic!("not a button")
    };
    assert_eq!((click.action, click.incident_id), (ButtonAction::Noise, 5));
    assert_eq!(run.acks(1).await, [envelope]);
    assert_eq!(run.started.elapsed(), ms(&[250]));

    // And again: each drop after a healthy connection waits the first back-off again.
    run.fake.drop_connection().unwrap();
    assert!(run.fake.wait_for_connections(3, PATIENCE).await);
    run.fake.slash("/nightwatch", "status", "erin").unwrap();
    assert!(matches!(run.next().await, SlackCommand::Slash(_)));
    assert_eq!(run.started.elapsed(), ms(&[250, 250]));
    run.stop().await;
}

#[tokio::test(start_paused = true)]
async fn failed_connection_open_backs_off_and_retries() {
    let fake = FakeSlack::start().await.unwrap();
    fake.fail_next("apps.connections.open", "internal_error");
    fake.fail_next("apps.connections.open", "internal_error");
    let started = Instant::now();
    let (tx, mut commands) = mpsc::channel(4);
    let (stop, stop_rx) = watch::channel(false);
    let task = SocketMode::new(socket_config(&fake, fake.app_token()))
        .unwrap()
        .spawn(tx, stop_rx);
    assert!(fake.wait_for_connections(1, PATIENCE).await);
    // Two failures in a row: the back-off doubles.
    assert_eq!(started.elapsed(), ms(&[250, 500]));
    fake.slash("/nightwatch", "status", "dave").unwrap();
    let got = tokio::time::timeout(PATIENCE, commands.recv())
        .await
        .unwrap();
    assert!(matches!(got, Some(SlackCommand::Slash(_))));
    stop.send(true).unwrap();
    assert!(task.await.unwrap().is_ok());
}

#[tokio::test(start_paused = true)]
async fn refused_app_token_ends_the_client() {
    let fake = FakeSlack::start().await.unwrap();
    let started = Instant::now();
    let (tx, _commands) = mpsc::channel(4);
    let (_stop, stop_rx) = watch::channel(false);
    for token in [fake.bot_token(), "xapp-unknown"] {
        let result = SocketMode::new(socket_config(&fake, token))
            .unwrap()
            .run(tx.clone(), stop_rx.clone())
            .await;
        let err = result.unwrap_err();
        assert!(err.is_auth(), "{err:?}");
    }
    assert_eq!(fake.connections(), 0);
    assert_eq!(started.elapsed(), Duration::ZERO, "nothing waited");
}

#[tokio::test(start_paused = true)]
async fn stop_while_waiting_to_reconnect() {
    let fake = FakeSlack::start().await.unwrap();
    fake.fail_next("apps.connections.open", "internal_error");
    let (tx, _commands) = mpsc::channel(4);
    let (stop, stop_rx) = watch::channel(false);
    // A back-off of a day, on tokio's paused clock: only the stop can get the client out
    // before the patience runs out.
    let config = SocketModeConfig {
        reconnect_initial_ms: 86_400_000,
        reconnect_max_ms: 86_400_000,
        ..socket_config(&fake, fake.app_token())
    };
    let task = SocketMode::new(config).unwrap().spawn(tx, stop_rx);
    assert!(
        fake.wait_until(PATIENCE, |f| !f.requests().is_empty())
            .await
    );
    stop.send(true).unwrap();
    let result = tokio::time::timeout(PATIENCE, task).await.unwrap().unwrap();
    assert!(result.is_ok());
    assert_eq!(fake.connections(), 0);
}

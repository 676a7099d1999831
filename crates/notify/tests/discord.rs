//! The Discord webhook client against the fake Discord: incident embeds, `retry_after` from the
//! body, Discord's form-body errors, an unknown webhook.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use nightwatch_core::Severity;
use nightwatch_notify::discord::{
    COLOR_CRITICAL, DiscordConfig, Embed, EmbedField, incident_embed, posts_to_discord,
};
use nightwatch_notify::fake::FakeDiscord;
use nightwatch_notify::{DiscordClient, DiscordError, RetrySettings, WebhookMessage};
use serde_json::json;
use std::time::Duration;
use support::{card, ms, with_pending};
use tokio::time::Instant;

fn client(url: String, wait: bool) -> DiscordClient {
    let config = DiscordConfig {
        wait,
        username: Some("nightwatch".into()),
        retry: RetrySettings {
            max_attempts: 3,
            ..RetrySettings::default()
        },
        ..DiscordConfig::new(url)
    };
    DiscordClient::new(config).unwrap()
}

#[tokio::test(start_paused = true)]
async fn incident_embed_posted_with_colour_fields_and_link() {
    let fake = FakeDiscord::start().await.unwrap();
    let started = Instant::now();
    let discord = client(fake.webhook_url(), true);

    let incident = with_pending(card(42), 7);
    assert!(posts_to_discord(incident.severity));
    let id = discord.post_incident(&incident).await.unwrap();
    assert!(id.is_some(), "wait=true returns the message");

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    assert!(requests[0].wait);
    let body = &fake.messages()[0];
    assert_eq!(body["username"], "nightwatch");
    assert_eq!(body["allowed_mentions"], json!({"parse": []}));
    let embed = &body["embeds"][0];
    assert_eq!(embed["title"], "[CRITICAL] #42 api-7d9f crash looping");
    assert_eq!(embed["description"], "Restarted 5 times in 10 minutes");
    assert_eq!(embed["color"], COLOR_CRITICAL);
    assert_eq!(embed["url"], "https://nw.example/incident/42");
    assert_eq!(embed["timestamp"], "2023-11-14T22:13:20Z");
    let fields: Vec<(String, String)> = embed["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap().to_string(),
                f["value"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "Alert",
            "Severity",
            "State",
            "Namespace",
            "Pod",
            "Runbook",
            "Approval needed"
        ]
    );
    assert_eq!(fields[6].1, "action #7: restart deployment shop/api");

    // Without wait Discord answers 204 and there is no id.
    let quiet = client(fake.webhook_url(), false);
    let high = nightwatch_notify::IncidentCard {
        severity: Severity::High,
        ..card(43)
    };
    assert_eq!(quiet.post_incident(&high).await.unwrap(), None);
    assert_eq!(fake.requests()[1].status, 204);
    assert_eq!(fake.messages()[1]["embeds"][0]["color"], 0xE8912D);
    assert_eq!(started.elapsed(), Duration::ZERO, "nothing waited");
}

#[tokio::test(start_paused = true)]
async fn rate_limit_waits_the_bodys_retry_after() {
    let fake = FakeDiscord::start().await.unwrap();
    let started = Instant::now();
    let discord = client(fake.webhook_url(), false);
    fake.rate_limit(2, 0.5);

    discord.post_incident(&card(1)).await.unwrap();

    // The body's 0.5 s, not the header's rounded-up 1 s.
    assert_eq!(started.elapsed(), ms(&[500, 500]));
    let statuses: Vec<u16> = fake.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [429, 429, 204]);
    assert_eq!(fake.messages().len(), 1);

    fake.rate_limit(5, 2.25);
    let err = discord.post_incident(&card(2)).await.unwrap_err();
    assert!(
        matches!(
            err,
            DiscordError::RateLimited { attempts: 3, global: false, retry_after: Some(d) }
                if d == std::time::Duration::from_millis(2250)
        ),
        "{err:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn invalid_embed_is_a_clear_error_and_not_retried() {
    let fake = FakeDiscord::start().await.unwrap();
    let started = Instant::now();
    let discord = client(fake.webhook_url(), false);
    let embed = Embed {
        title: "t".repeat(300),
        fields: (0..26)
            .map(|i| EmbedField {
                name: format!("f{i}"),
                value: "v".into(),
                inline: true,
            })
            .collect(),
        ..Embed::default()
    };
    let err = discord
        .post(&WebhookMessage::embed(embed))
        .await
        .unwrap_err();
    match &err {
        DiscordError::Rejected {
            status,
            code,
            message,
            errors,
        } => {
            assert_eq!((*status, *code), (400, Some(50035)));
            assert_eq!(message, "Invalid Form Body");
            let mut errors = errors.clone();
            errors.sort();
            assert_eq!(
                errors,
                [
                    "embeds.0.fields: Must be 25 or fewer in length.",
                    "embeds.0.title: Must be 256 or fewer in length.",
                ]
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(
        err.to_string()
            .contains("embeds.0.title: Must be 256 or fewer in length.")
    );
    assert_eq!(fake.requests().len(), 1);
    assert!(fake.messages().is_empty());
    assert_eq!(started.elapsed(), Duration::ZERO, "nothing waited");

    // The builder keeps a card within the limits however long its text.
    let long = nightwatch_notify::IncidentCard {
        title: "x".repeat(1000),
        summary: Some("y".repeat(5000)),
        ..card(3)
    };
    discord
        .post(&WebhookMessage::embed(incident_embed(&long)))
        .await
        .unwrap();
    assert_eq!(fake.messages().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn unknown_webhook_is_reported() {
    let fake = FakeDiscord::start().await.unwrap();
    let wrong = fake.webhook_url().replace("fake-webhook-token", "revoked");
    let err = client(wrong, false)
        .post_incident(&card(1))
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            DiscordError::Rejected {
                status: 404,
                code: Some(10015),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("Unknown Webhook"));
}

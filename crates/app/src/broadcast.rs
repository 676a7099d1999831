//! One-way announcements of new incidents: Discord webhook embeds (Critical and High by
//! default) and a generic outgoing webhook signed with HMAC-SHA256 (every incident by default).
//! It follows the timeline's `triggered` events; each announcement is recorded as a
//! `notification_sent` event naming the event it is about, so a restart does not repeat it.

use crate::slack::{card, told_channels};
use chrono::{DateTime, Utc};
use nightwatch_core::Clock;
use nightwatch_core::event::EventKind;
use nightwatch_core::event::payload::{NotificationSent, Payload};
use nightwatch_core::model::Severity;
use nightwatch_notify::{DiscordClient, WebhookClient, incident_url};
use nightwatch_store::{EventRow, Store, StoreError};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscordSection {
    pub webhook_url: String,
    /// Incidents below this severity are not posted (default: high).
    #[serde(default)]
    pub min_severity: Option<Severity>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSection {
    pub url: String,
    /// Signs `{timestamp}.{body}` (headers `X-Nightwatch-Timestamp`, `X-Nightwatch-Signature`).
    pub secret: String,
    /// Default: every incident.
    #[serde(default)]
    pub min_severity: Option<Severity>,
}

pub struct Broadcaster {
    pub store: Arc<Store>,
    pub clock: Arc<dyn Clock>,
    pub ui_base: String,
    pub discord: Option<(DiscordClient, Severity)>,
    pub webhook: Option<(WebhookClient, Severity)>,
}

const TICK: Duration = Duration::from_millis(500);
const BATCH: i64 = 50;
/// Incidents opened longer ago than this at start are not announced.
const WINDOW: chrono::Duration = chrono::Duration::hours(24);

impl Broadcaster {
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let started = self.clock.now();
        let mut cursor = 0;
        loop {
            if *stop.borrow() {
                break;
            }
            match self.tick(&mut cursor, started).await {
                Ok(()) => {}
                Err(error) => tracing::warn!(%error, "broadcast: store error; retrying"),
            }
            tokio::select! {
                _ = tokio::time::sleep(TICK) => {}
                _ = stop.changed() => {}
            }
        }
    }

    async fn tick(&self, cursor: &mut i64, started: DateTime<Utc>) -> Result<(), StoreError> {
        for event in self
            .store
            .events_after(*cursor, EventKind::Triggered, BATCH)
            .await?
        {
            *cursor = event.id;
            if event.at < started - WINDOW {
                continue;
            }
            self.announce(&event).await?;
        }
        Ok(())
    }

    async fn announce(&self, event: &EventRow) -> Result<(), StoreError> {
        let Some(incident) = self.store.incident(event.incident_id).await? else {
            return Ok(());
        };
        let now = self.clock.now();
        let told = told_channels(&self.store, event).await?;
        let told = |channel: &str| told.iter().any(|c| c == channel);
        if let Some((discord, min)) = &self.discord
            && incident.severity <= *min
            && !told("discord")
        {
            let card = card(&incident, None, &self.ui_base);
            match discord.post_incident(&card).await {
                Ok(_) => self.record(event, "discord", None, now).await?,
                Err(error) => tracing::warn!(incident = incident.id, %error, "discord post failed"),
            }
        }
        if let Some((webhook, min)) = &self.webhook
            && incident.severity <= *min
            && !told("webhook")
        {
            let body = json!({
                "event": "incident.opened",
                "incident": incident,
                "url": incident_url(&self.ui_base, incident.id),
            });
            // Named by the event it announces: if nightwatch dies after the receiver took it
            // and before the record below, the repeat carries the same delivery id.
            let delivery = format!("incident-{}-event-{}", incident.id, event.id);
            match webhook.post_as(&body, delivery).await {
                Ok(delivery) => self.record(event, "webhook", Some(delivery), now).await?,
                Err(error) => tracing::warn!(incident = incident.id, %error, "webhook post failed"),
            }
        }
        Ok(())
    }

    /// `channel` announced `event` (the webhook's `delivery` id with it).
    async fn record(
        &self,
        event: &EventRow,
        channel: &str,
        delivery: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let sent = NotificationSent {
            channel: channel.to_owned(),
            kind: "announce".to_owned(),
            about_event: Some(event.id),
            delivery,
            ..NotificationSent::default()
        };
        self.store
            .append_incident_event(
                event.incident_id,
                EventKind::NotificationSent,
                nightwatch_core::event::ACTOR,
                sent.to_json(),
                now,
            )
            .await
    }
}

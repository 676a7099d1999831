//! Telling the humans, Slack first: each new incident is posted to the channel
//! (Block Kit card with the buttons), reminders go into its thread every `interval` until
//! someone acknowledges — after M reminders the next target is mentioned — and the message is
//! updated when the incident is acknowledged or resolved. Buttons and `/nightwatch` arrive over
//! Socket Mode and change the incident through the same store calls as the API. The nag
//! decisions are `core::escalation`'s; the record is in the store, so a restart keeps nagging.

use chrono::{DateTime, Utc};
use nightwatch_core::Clock;
use nightwatch_core::access::{Actor, Role};
use nightwatch_core::escalation::{NagPolicy, NagRecord, NagStep, next_step};
use nightwatch_core::event::payload::{NotificationSent, Payload};
use nightwatch_core::event::{EventKind, EventPayload};
use nightwatch_core::incident::{IncidentState, ManualChange, Verdict};
use nightwatch_core::model::Severity;
use nightwatch_notify::slack::{
    ButtonAction, ButtonClick, MessageMetadata, PostMessage, ResponseUrlReply, SlashCommand,
    SlashRequest, UpdateMessage, incident_blocks, incident_text,
};
use nightwatch_notify::{IncidentCard, PendingAction, SlackClient, SlackCommand, incident_url};
use nightwatch_store::{ActionDecision, ActionState, IncidentRow, Store, StoreError};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, mpsc, watch};

/// `[notify]` in the config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotifyConfig {
    /// Where the UI is reachable for the humans (links in messages).
    pub ui_base_url: Option<String>,
    pub slack: Option<SlackSection>,
    pub nag: NagSection,
    pub discord: Option<crate::broadcast::DiscordSection>,
    /// Channels by namespace, severity and environment class; the first match wins, else the
    /// `[notify.slack] channel`.
    pub routes: Vec<nightwatch_core::escalation::NotifyRoute>,
    pub webhook: Option<crate::broadcast::WebhookSection>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackSection {
    /// Bot token (`xoxb-…`): posts and updates messages.
    pub bot_token: String,
    /// App-level token (`xapp-…`): Socket Mode for the buttons and `/nightwatch`. Without it
    /// messages are posted but buttons do nothing.
    #[serde(default)]
    pub app_token: Option<String>,
    /// Channel id or `#name`.
    pub channel: String,
    /// The Web API's base (Slack's own by default).
    #[serde(default)]
    pub base_url: Option<String>,
    /// Incidents below this severity are not posted (default: warning).
    #[serde(default)]
    pub min_severity: Option<Severity>,
}

/// How often to remind when nobody sets another interval.
pub const DEFAULT_NAG_INTERVAL: Duration = Duration::from_secs(600);

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NagSection {
    /// Remind this often until someone acknowledges (`"10m"`); the binary's config loading
    /// parses it (default [`DEFAULT_NAG_INTERVAL`]).
    pub interval: Option<String>,
    /// Deprecated spelling of `interval`, in seconds.
    pub interval_seconds: Option<f64>,
    /// Reminders to one target before the next is mentioned.
    pub nags_per_target: u32,
    /// Who each escalation level mentions, in order (`<!subteam^S123>`, `<@U123>`, `<!here>`).
    /// Empty: reminders mention no one.
    pub targets: Vec<String>,
}

impl Default for NagSection {
    fn default() -> Self {
        NagSection {
            interval: None,
            interval_seconds: None,
            nags_per_target: 3,
            targets: Vec::new(),
        }
    }
}

impl NagSection {
    /// The nag policy for a reminder `interval` (parsed by the config loading, which also
    /// refused a `nags_per_target` of 0).
    pub fn policy(&self, interval: Duration) -> NagPolicy {
        NagPolicy {
            // Only an interval of millions of years does not fit: it means "never".
            interval: chrono::Duration::from_std(interval).unwrap_or(chrono::Duration::MAX),
            nags_per_target: self.nags_per_target.max(1),
            targets: self.targets.len().max(1),
        }
    }
}

/// Announced incidents older than this at start are not posted (a first start on an old
/// database would flood the channel).
const ANNOUNCE_WINDOW: chrono::Duration = chrono::Duration::hours(24);

/// The `event_type` of the metadata on an incident's Slack message (`{"incident_id": N}`).
pub const INCIDENT_METADATA: &str = "nightwatch_incident";
const TICK: Duration = Duration::from_millis(500);
const BATCH: i64 = 20;
use nightwatch_core::event::ACTOR;

pub struct Notifier {
    pub store: Arc<Store>,
    pub clock: Arc<dyn Clock>,
    pub slack: SlackClient,
    pub channel: String,
    pub min_severity: Severity,
    pub ui_base: String,
    pub policy: NagPolicy,
    pub targets: Vec<String>,
    pub wake_responder: Arc<Notify>,
    /// The last `escalated` / `approval_requested` event looked at (in memory: after a restart
    /// the timeline says what was already told).
    pub cursor: tokio::sync::Mutex<EventCursor>,
    pub routes: Vec<nightwatch_core::escalation::NotifyRoute>,
    /// For the environment class of an incident's namespace (routes may name classes).
    pub action_policy: Arc<nightwatch_core::policy::PolicyConfig>,
    /// Who may press the buttons: Slack users mapped to nightwatch users (`[access]
    /// slack_users`), each with that user's role; `None` when authentication is off.
    pub slack_users: Option<std::collections::BTreeMap<String, String>>,
}

/// A Slack user as nightwatch knows them: the nightwatch user and role, or why not.
async fn slack_identity(
    store: &Store,
    map: Option<&std::collections::BTreeMap<String, String>>,
    user: &nightwatch_notify::slack::SlackUser,
    needs: Role,
) -> Result<String, String> {
    let Some(map) = map else {
        // Authentication is off: the Slack name is taken as it is.
        return Ok(user.display().to_owned());
    };
    let Some(name) = map.get(&user.id) else {
        return Err(format!(
            "Not allowed: your Slack user ({}) is not mapped to a nightwatch user ([access] slack_users).",
            user.id
        ));
    };
    match store.user(name).await {
        Ok(Some(found)) if found.role >= needs => Ok(found.name),
        Ok(Some(found)) => Err(format!(
            "Not allowed: this needs the {needs} role; {} is {}.",
            found.name, found.role
        )),
        Ok(None) => Err(format!(
            "Not allowed: {name} (mapped from your Slack user) is not a nightwatch user."
        )),
        Err(error) => Err(format!("Could not check who you are: {error}")),
    }
}

/// Where the notifier is in the timeline's escalations and approval requests.
#[derive(Debug, Default)]
pub struct EventCursor {
    pub escalated: i64,
    pub approval_requested: i64,
}

/// The channels (`slack`, `discord`, `webhook`) that already told `event`, from the timeline's
/// `notification_sent` events: after a restart this is what keeps a message from being sent twice.
pub async fn told_channels(
    store: &Store,
    event: &nightwatch_store::EventRow,
) -> Result<Vec<String>, StoreError> {
    Ok(store
        .incident_events_of(event.incident_id, EventKind::NotificationSent)
        .await?
        .iter()
        .filter_map(|sent| match EventPayload::parse(sent.kind, &sent.payload) {
            EventPayload::NotificationSent(told)
                if told.about_event == Some(event.id) && !told.channel.is_empty() =>
            {
                Some(told.channel)
            }
            _ => None,
        })
        .collect())
}

/// A Slack message's `notification_sent` record; each caller sets what the message told.
fn slack_sent() -> NotificationSent {
    NotificationSent {
        channel: "slack".to_owned(),
        ..NotificationSent::default()
    }
}

/// Why an `escalated` event hands the incident to a human, as its thread post says it.
fn escalation_reason(event: &nightwatch_store::EventRow) -> String {
    match EventPayload::parse(event.kind, &event.payload) {
        EventPayload::Escalated(escalated) => escalated.reason,
        _ => None,
    }
    .unwrap_or_else(|| "a human is needed".to_owned())
}

/// The incident as the channels show it.
pub fn card(incident: &IncidentRow, pending: Option<PendingAction>, ui_base: &str) -> IncidentCard {
    IncidentCard {
        id: incident.id,
        title: incident
            .summary
            .clone()
            .unwrap_or_else(|| incident.alertname.clone()),
        severity: incident.severity,
        state: incident.state,
        verdict: incident.verdict,
        alertname: incident.alertname.clone(),
        namespace: incident.namespace.clone(),
        pod: incident.pod.clone(),
        node: incident.node.clone(),
        runbook: incident.runbook.clone(),
        summary: incident.summary.clone(),
        acknowledged_by: incident.acknowledged_by.clone(),
        pending_action: pending,
        ui_url: incident_url(ui_base, incident.id),
        opened_at: Some(incident.opened_at),
    }
}

/// The reminder text for a nag step.
pub fn reminder(
    step: &NagStep,
    targets: &[String],
    incident: &IncidentRow,
    now: DateTime<Utc>,
) -> Option<String> {
    let (level, nag, escalated) = match step {
        NagStep::Nag { level, nag } => (*level, *nag, false),
        NagStep::Escalate { level, nag } => (*level, *nag, true),
        _ => return None,
    };
    let open = (now - incident.opened_at).num_minutes().max(0);
    let who = targets
        .get(level)
        .map(|t| format!("{t} "))
        .unwrap_or_default();
    Some(if escalated {
        format!(
            "{who}Escalating: incident #{} ({}) is unacknowledged after {open} min and {} reminders.",
            incident.id,
            incident.alertname,
            nag - 1
        )
    } else {
        format!(
            "{who}Reminder {nag}: incident #{} ({}) is still unacknowledged after {open} min.",
            incident.id, incident.alertname
        )
    })
}

impl Notifier {
    pub async fn run(
        self: Arc<Self>,
        mut commands: Option<mpsc::Receiver<SlackCommand>>,
        mut stop: watch::Receiver<bool>,
    ) {
        let started = self.clock.now();
        loop {
            if *stop.borrow() {
                break;
            }
            if let Err(error) = self.tick(started).await {
                tracing::warn!(%error, "notifier: store error; retrying");
            }
            let command = async {
                match commands.as_mut() {
                    Some(rx) => rx.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(TICK) => {}
                received = command => match received {
                    Some(command) => self.command(command).await,
                    None => commands = None,
                },
                _ = stop.changed() => {}
            }
        }
    }

    async fn tick(&self, started: DateTime<Utc>) -> Result<(), StoreError> {
        let now = self.clock.now();
        for incident in self
            .store
            .incidents_to_announce(started - ANNOUNCE_WINDOW, BATCH)
            .await?
        {
            self.announce(&incident, now, started).await?;
        }
        self.tell_events(now, started).await?;
        for notification in self.store.notifications_due(now, BATCH).await? {
            let Some(incident) = self.store.incident(notification.incident_id).await? else {
                continue;
            };
            let (step, after) = next_step(&self.policy, &notification.record, incident.state, now);
            match &step {
                NagStep::Nag { level, nag } | NagStep::Escalate { level, nag } => {
                    let Some(text) = reminder(&step, &self.targets, &incident, now) else {
                        continue;
                    };
                    let posted = self
                        .slack
                        .post_message(&PostMessage {
                            channel: notification.channel.clone(),
                            text,
                            blocks: Vec::new(),
                            thread_ts: Some(notification.message_ts.clone()),
                            metadata: None,
                        })
                        .await;
                    if let Err(error) = posted {
                        // Not recorded: the same nag is tried on the next tick.
                        tracing::warn!(incident = incident.id, %error, "slack reminder failed");
                        continue;
                    }
                    let kind = if matches!(step, NagStep::Escalate { .. }) {
                        "escalation"
                    } else {
                        "reminder"
                    };
                    let sent = NotificationSent {
                        kind: kind.to_owned(),
                        nag: Some(*nag),
                        level: Some(*level),
                        // Written even past the configured targets (as `null`).
                        target: Some(self.targets.get(*level).cloned()),
                        ..slack_sent()
                    };
                    self.event(incident.id, sent, now).await?;
                }
                NagStep::Stop { .. } => {
                    self.refresh(&incident, &notification.channel, &notification.message_ts)
                        .await?
                }
                NagStep::Wait { .. } | NagStep::Done => {}
            }
            self.store
                .update_notification(incident.id, &after, now)
                .await?;
        }
        Ok(())
    }

    /// Escalations (a runbook or the policy handing over to a human) and approval requests go
    /// to the incident's thread at once, the approval with its Approve / Reject buttons.
    async fn tell_events(
        &self,
        now: DateTime<Utc>,
        started: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut cursor = self.cursor.lock().await;
        for kind in [EventKind::ApprovalRequested, EventKind::Escalated] {
            let after = match kind {
                EventKind::Escalated => cursor.escalated,
                _ => cursor.approval_requested,
            };
            for event in self.store.events_after(after, kind, BATCH).await? {
                let notification = self.store.notification(event.incident_id).await?;
                // Announce first (the thread needs its message), unless it never will be: an
                // incident from before the announce window.
                if notification.is_none() && event.at >= started - ANNOUNCE_WINDOW {
                    break;
                }
                match kind {
                    EventKind::Escalated => cursor.escalated = event.id,
                    _ => cursor.approval_requested = event.id,
                }
                let Some(notification) = notification else {
                    continue;
                };
                if notification.message_ts.is_empty()
                    || !told_channels(&self.store, &event).await?.is_empty()
                {
                    continue;
                }
                let Some(incident) = self.store.incident(event.incident_id).await? else {
                    continue;
                };
                let mention = self
                    .targets
                    .first()
                    .map(|t| format!("{t} "))
                    .unwrap_or_default();
                let pending = self.pending_action(incident.id).await?;
                let (text, blocks) = if kind == EventKind::Escalated {
                    (
                        format!(
                            "{mention}Escalated: incident #{} needs a human: {}",
                            incident.id,
                            escalation_reason(&event)
                        ),
                        Vec::new(),
                    )
                } else {
                    let Some(action) = pending.clone() else {
                        // Decided (or expired) before it could be told.
                        continue;
                    };
                    let card = card(&incident, Some(action.clone()), &self.ui_base);
                    (
                        format!(
                            "{mention}Approval needed for incident #{}: {}",
                            incident.id, action.description
                        ),
                        incident_blocks(&card),
                    )
                };
                let posted = self
                    .slack
                    .post_message(&PostMessage {
                        channel: notification.channel.clone(),
                        text,
                        blocks,
                        thread_ts: Some(notification.message_ts.clone()),
                        metadata: None,
                    })
                    .await;
                if let Err(error) = posted {
                    tracing::warn!(incident = incident.id, %error, "slack thread post failed");
                    continue;
                }
                let what = if kind == EventKind::Escalated {
                    "escalated"
                } else {
                    "approval"
                };
                let sent = NotificationSent {
                    kind: what.to_owned(),
                    about_event: Some(event.id),
                    // Written even with no pending action (as `null`).
                    action_id: Some(pending.as_ref().map(|p| p.id)),
                    ..slack_sent()
                };
                self.event(incident.id, sent, now).await?;
                // The top message gets the Approve / Reject buttons too.
                self.show(
                    &incident,
                    pending,
                    &notification.channel,
                    &notification.message_ts,
                )
                .await;
            }
        }
        Ok(())
    }

    /// Posts the briefing to the channel (at start and on the schedule).
    pub async fn post_briefing(&self) {
        match crate::briefing::gather(&self.store, self.clock.now(), crate::briefing::DEFAULT_DAYS)
            .await
        {
            Ok(briefing) => {
                if let Err(error) = self
                    .slack
                    .post_message(&PostMessage {
                        channel: self.channel.clone(),
                        text: briefing.to_markdown(),
                        blocks: Vec::new(),
                        thread_ts: None,
                        metadata: None,
                    })
                    .await
                {
                    tracing::warn!(%error, "posting the briefing to slack failed");
                }
            }
            Err(error) => tracing::warn!(%error, "gathering the briefing failed"),
        }
    }

    async fn pending_action(&self, incident_id: i64) -> Result<Option<PendingAction>, StoreError> {
        Ok(self
            .store
            .actions(Some(ActionState::Pending), Some(incident_id), 1)
            .await?
            .into_iter()
            .next()
            .map(|action| PendingAction {
                id: action.id,
                description: format!("{} on {} ({})", action.action, action.target, action.reason),
            }))
    }

    /// The channel a new incident goes to: its route's, else the default.
    fn channel_for(&self, incident: &IncidentRow) -> String {
        let class = match &incident.namespace {
            Some(namespace) => self
                .action_policy
                .environment_class(
                    &nightwatch_core::action::ActionTarget::namespaced(
                        "Pod",
                        namespace,
                        incident.pod.as_deref().unwrap_or("-"),
                    ),
                    &Default::default(),
                    &Default::default(),
                )
                .to_owned(),
            None => nightwatch_core::policy::DEFAULT_CLASS.to_owned(),
        };
        nightwatch_core::escalation::pick_route(
            &self.routes,
            incident.severity,
            incident.namespace.as_deref(),
            &class,
        )
        .and_then(|route| route.slack_channel.clone())
        .unwrap_or_else(|| self.channel.clone())
    }

    /// Posts the incident's message, tagged with its id in Slack's message metadata. An
    /// incident opened before this notifier started may already have been posted by a process
    /// that stopped between Slack's answer and the record of it: the channel is searched for
    /// the tag first, and a message found is adopted instead of posted again. (A failed search
    /// posts: a repeat is better than silence.)
    async fn announce(
        &self,
        incident: &IncidentRow,
        now: DateTime<Utc>,
        started: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if incident.severity > self.min_severity {
            // Recorded as stopped so it is not considered again.
            let quiet = NagRecord {
                stopped: true,
                ..NagRecord::announced(&self.policy, now)
            };
            return self
                .store
                .record_notification(incident.id, &self.channel, "", &quiet, now)
                .await;
        }
        let channel = self.channel_for(incident);
        let tag = json!(incident.id);
        if incident.opened_at < started {
            // Slack's `oldest` is exclusive, in Unix seconds; a minute covers clock skew.
            let oldest = (incident.opened_at - chrono::Duration::minutes(1)).timestamp();
            match self
                .slack
                .find_by_metadata(
                    &channel,
                    &oldest.to_string(),
                    INCIDENT_METADATA,
                    ("incident_id", &tag),
                )
                .await
            {
                Ok(Some(ts)) => {
                    tracing::info!(incident = incident.id, %ts, "slack message found, not posted again");
                    return self.announced(incident.id, channel, ts, true, now).await;
                }
                Ok(None) => {}
                Err(error) => {
                    tracing::warn!(incident = incident.id, %error, "searching the channel failed; posting");
                }
            }
        }
        let card = card(
            incident,
            self.pending_action(incident.id).await?,
            &self.ui_base,
        );
        let posted = self
            .slack
            .post_message(&PostMessage {
                channel,
                text: incident_text(&card),
                blocks: incident_blocks(&card),
                thread_ts: None,
                metadata: Some(MessageMetadata {
                    event_type: INCIDENT_METADATA.to_owned(),
                    event_payload: json!({"incident_id": tag}),
                }),
            })
            .await;
        match posted {
            Ok(message) => {
                self.announced(incident.id, message.channel, message.ts, false, now)
                    .await
            }
            Err(error) => {
                // Not recorded: announced on a later tick.
                tracing::warn!(incident = incident.id, %error, "slack post failed");
                Ok(())
            }
        }
    }

    /// Records the announcement `ts` in `channel` (`found`: adopted, not posted by us).
    async fn announced(
        &self,
        incident_id: i64,
        channel: String,
        ts: String,
        found: bool,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let record = NagRecord::announced(&self.policy, now);
        self.store
            .record_notification(incident_id, &channel, &ts, &record, now)
            .await?;
        let sent = NotificationSent {
            kind: "announce".to_owned(),
            slack_channel: Some(channel),
            ts: Some(ts),
            found: found.then_some(true),
            ..slack_sent()
        };
        self.event(incident_id, sent, now).await
    }

    /// Rewrites the incident's message to its current state (buttons follow it).
    async fn refresh(
        &self,
        incident: &IncidentRow,
        channel: &str,
        ts: &str,
    ) -> Result<(), StoreError> {
        if ts.is_empty() {
            return Ok(());
        }
        let pending = self.pending_action(incident.id).await?;
        self.show(incident, pending, channel, ts).await;
        Ok(())
    }

    /// Rewrites the message `ts` to the incident as given.
    async fn show(
        &self,
        incident: &IncidentRow,
        pending: Option<PendingAction>,
        channel: &str,
        ts: &str,
    ) {
        let card = card(incident, pending, &self.ui_base);
        if let Err(error) = self
            .slack
            .update_message(&UpdateMessage {
                channel: channel.to_owned(),
                ts: ts.to_owned(),
                text: incident_text(&card),
                blocks: incident_blocks(&card),
            })
            .await
        {
            tracing::warn!(incident = incident.id, %error, "slack update failed");
        }
    }

    async fn event(
        &self,
        incident_id: i64,
        sent: NotificationSent,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.store
            .append_incident_event(
                incident_id,
                EventKind::NotificationSent,
                ACTOR,
                sent.to_json(),
                now,
            )
            .await
    }

    async fn command(&self, command: SlackCommand) {
        let (reply_to, text) = match command {
            SlackCommand::Button(click) => {
                let reply = click.response_url.clone();
                (reply, self.button(click).await)
            }
            SlackCommand::Slash(slash) => {
                let reply = Some(slash.response_url.clone());
                (reply, self.slash(slash).await)
            }
            SlackCommand::Event(_) => return,
        };
        if let Some(url) = reply_to
            && let Err(error) = self
                .slack
                .respond(&url, &ResponseUrlReply::ephemeral(text))
                .await
        {
            tracing::warn!(%error, "slack reply failed");
        }
    }

    /// A button: the same store calls as the API, by the nightwatch user the Slack user maps
    /// to (a press by someone unmapped or without the role changes nothing).
    async fn button(&self, click: ButtonClick) -> String {
        let needs = match click.action {
            ButtonAction::Approve | ButtonAction::Reject => Role::Approver,
            ButtonAction::Ack | ButtonAction::Noise | ButtonAction::Real => Role::Responder,
        };
        let by = match slack_identity(&self.store, self.slack_users.as_ref(), &click.user, needs)
            .await
        {
            Ok(name) => name,
            Err(refusal) => {
                tracing::warn!(slack_user = %click.user.id, "slack button refused: {refusal}");
                return refusal;
            }
        };
        let via = format!("slack {}", click.user.id);
        let actor = Actor {
            name: &by,
            via: Some(&via),
        };
        let now = self.clock.now();
        let id = click.incident_id;
        let outcome = match click.action {
            ButtonAction::Ack => self
                .store
                .change_incident(id, ManualChange::Acknowledge, actor, now)
                .await
                .map(|_| format!("Incident #{id} acknowledged by {by}.")),
            ButtonAction::Noise | ButtonAction::Real => {
                let verdict = if click.action == ButtonAction::Noise {
                    Verdict::Noise
                } else {
                    Verdict::Real
                };
                self.store
                    .change_incident(id, ManualChange::SetVerdict(verdict), actor, now)
                    .await
                    .map(|_| format!("Incident #{id} marked {} by {by}.", verdict.as_str()))
            }
            ButtonAction::Approve | ButtonAction::Reject => {
                let Some(action_id) = click.action_id else {
                    return "That button names no action.".to_owned();
                };
                let decision = if click.action == ButtonAction::Approve {
                    ActionDecision::Approve
                } else {
                    ActionDecision::Reject
                };
                let decided = self
                    .store
                    .decide_action(action_id, decision, actor, now)
                    .await;
                // The responder runs approved actions (through the policy again).
                self.wake_responder.notify_one();
                decided.map(|action| {
                    format!(
                        "Action {} {} is now {} ({by}).",
                        action.id, action.action, action.state
                    )
                })
            }
        };
        let text = outcome.unwrap_or_else(|error| format!("Incident #{id}: {error}"));
        if let (Ok(Some(incident)), Some(channel), Some(ts)) = (
            self.store.incident(id).await,
            click.channel.as_deref(),
            click.message_ts.as_deref(),
        ) {
            let _ = self.refresh(&incident, channel, ts).await;
        }
        text
    }

    async fn slash(&self, slash: SlashCommand) -> String {
        let now = self.clock.now();
        match slash.request {
            SlashRequest::Ack(id) => {
                let by = match slack_identity(
                    &self.store,
                    self.slack_users.as_ref(),
                    &slash.user,
                    Role::Responder,
                )
                .await
                {
                    Ok(name) => name,
                    Err(refusal) => return refusal,
                };
                let via = format!("slack {}", slash.user.id);
                let actor = Actor {
                    name: &by,
                    via: Some(&via),
                };
                match self
                    .store
                    .change_incident(id, ManualChange::Acknowledge, actor, now)
                    .await
                {
                    Ok(_) => format!("Incident #{id} acknowledged by {by}."),
                    Err(error) => format!("Incident #{id}: {error}"),
                }
            }
            SlashRequest::Status => match self.store.incident_counts().await {
                Ok(counts) => {
                    let parts: Vec<String> = counts
                        .iter()
                        .filter(|(state, _)| *state != IncidentState::Resolved)
                        .map(|(state, n)| format!("{n} {}", state.as_str()))
                        .collect();
                    if parts.is_empty() {
                        "No open incidents.".to_owned()
                    } else {
                        format!("Open incidents: {}.", parts.join(", "))
                    }
                }
                Err(error) => format!("status unavailable: {error}"),
            },
            SlashRequest::Briefing => {
                match crate::briefing::gather(&self.store, now, crate::briefing::DEFAULT_DAYS).await
                {
                    Ok(briefing) => briefing.to_markdown(),
                    Err(error) => format!("briefing unavailable: {error}"),
                }
            }
            SlashRequest::Help | SlashRequest::Unknown(_) => {
                "Usage: /nightwatch status | ack ID | briefing".to_owned()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn escalated(payload: Value) -> nightwatch_store::EventRow {
        nightwatch_store::EventRow {
            id: 9,
            incident_id: 1,
            at: "2026-11-25T10:00:00Z".parse().unwrap_or_default(),
            kind: EventKind::Escalated,
            actor: "nightwatch".to_owned(),
            alert_id: None,
            payload,
        }
    }

    #[test]
    fn an_escalation_is_told_with_its_reason_or_a_plain_one() {
        let cases = [
            // A runbook step that escalates, and an action that failed.
            (
                json!({"step": "restart", "reason": "no fallback image"}),
                "no fallback image",
            ),
            (
                json!({"action_id": 4, "reason": "verification failed: still OOM"}),
                "verification failed: still OOM",
            ),
            (json!({"reason": 5}), "a human is needed"),
            (json!("not an object"), "a human is needed"),
        ];
        for (payload, told) in cases {
            assert_eq!(
                escalation_reason(&escalated(payload.clone())),
                told,
                "{payload}"
            );
        }
    }
}

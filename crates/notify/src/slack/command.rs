//! Socket Mode envelopes, read into what nightwatch acts on: a button click on an incident
//! message, a `/nightwatch` slash command, or an Events API event. Pure parsing; the socket loop
//! lives in `socket.rs`.

use super::action::{ButtonAction, ButtonValue, OPEN_ACTION_ID};
use serde::Deserialize;
use serde_json::Value;

/// What the Socket Mode client delivers.
#[derive(Debug, Clone, PartialEq)]
pub enum SlackCommand {
    Button(ButtonClick),
    Slash(SlashCommand),
    Event(SlackEvent),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlackUser {
    pub id: String,
    /// The user's handle, when Slack sent it.
    pub name: Option<String>,
}

impl SlackUser {
    /// The name to record ("acknowledged by carol"), else the id.
    pub fn display(&self) -> &str {
        self.name
            .as_deref()
            .filter(|n| !n.is_empty())
            .unwrap_or(&self.id)
    }
}

/// A click on one of the incident message's buttons.
#[derive(Debug, Clone, PartialEq)]
pub struct ButtonClick {
    pub action: ButtonAction,
    pub incident_id: i64,
    /// The proposed action, for approve and reject.
    pub action_id: Option<i64>,
    pub user: SlackUser,
    pub channel: Option<String>,
    /// The `ts` of the message the button is on, for `chat.update`.
    pub message_ts: Option<String>,
    pub response_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SlashCommand {
    /// As typed, e.g. `/nightwatch`.
    pub command: String,
    /// The raw text after the command.
    pub text: String,
    pub request: SlashRequest,
    pub user: SlackUser,
    pub channel: String,
    pub response_url: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlashRequest {
    Status,
    Briefing,
    Ack(i64),
    Help,
    Unknown(String),
}

impl SlashRequest {
    /// `status`, `briefing`, `ack 42` (or `ack #42`), `help` or nothing; case-insensitive.
    pub fn parse(text: &str) -> SlashRequest {
        let mut words = text.split_whitespace();
        let Some(first) = words.next() else {
            return SlashRequest::Help;
        };
        let rest: Vec<&str> = words.collect();
        match (first.to_ascii_lowercase().as_str(), rest.as_slice()) {
            ("help", []) => SlashRequest::Help,
            ("status", []) => SlashRequest::Status,
            ("briefing", []) => SlashRequest::Briefing,
            ("ack" | "acknowledge", [id]) => match id.trim_start_matches('#').parse::<i64>() {
                Ok(id) if id > 0 => SlashRequest::Ack(id),
                _ => SlashRequest::Unknown(text.trim().to_string()),
            },
            _ => SlashRequest::Unknown(text.trim().to_string()),
        }
    }
}

/// An Events API event (`app_mention`, `message`, …), passed on as Slack sent it.
#[derive(Debug, Clone, PartialEq)]
pub struct SlackEvent {
    pub event_id: Option<String>,
    /// `event.type`.
    pub kind: String,
    pub event: Value,
}

/// One Socket Mode frame from Slack.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Envelope {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub envelope_id: Option<String>,
    #[serde(default)]
    pub payload: Value,
    #[serde(default)]
    pub retry_attempt: Option<u64>,
    #[serde(default)]
    pub retry_reason: Option<String>,
    /// `disconnect`'s reason: `refresh_requested`, `warning`, `link_disabled`.
    #[serde(default)]
    pub reason: Option<String>,
}

/// The commands a Socket Mode message carries, as the socket reads each text frame; a message
/// that is not an envelope is an error.
pub fn commands_in(message: &str) -> Result<Vec<SlackCommand>, serde_json::Error> {
    serde_json::from_str::<Envelope>(message).map(|envelope| envelope.commands())
}

impl Envelope {
    /// Keys under which this delivery is remembered. A retry reuses the envelope id, and the
    /// payload's own identity (`event_id`, or the interaction's `trigger_id`) catches a resend
    /// under a fresh envelope id.
    pub fn identities(&self) -> Vec<String> {
        let mut keys = Vec::new();
        if let Some(id) = &self.envelope_id {
            keys.push(format!("envelope:{id}"));
        }
        if let Some(id) = self.payload.get("event_id").and_then(Value::as_str) {
            keys.push(format!("event:{id}"));
        }
        if let Some(id) = self.payload.get("trigger_id").and_then(Value::as_str) {
            keys.push(format!("trigger:{id}"));
        }
        keys
    }

    /// The commands an envelope carries; anything nightwatch has no use for is dropped (and
    /// logged) here, though the envelope is still acknowledged.
    pub fn commands(&self) -> Vec<SlackCommand> {
        match self.kind.as_str() {
            "interactive" => button_clicks(&self.payload)
                .into_iter()
                .map(SlackCommand::Button)
                .collect(),
            "slash_commands" => slash(&self.payload)
                .map(SlackCommand::Slash)
                .into_iter()
                .collect(),
            "events_api" => event(&self.payload)
                .map(SlackCommand::Event)
                .into_iter()
                .collect(),
            other => {
                tracing::debug!(kind = other, "slack socket mode: envelope type not handled");
                Vec::new()
            }
        }
    }
}

fn text(value: &Value, pointer: &str) -> Option<String> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn button_clicks(payload: &Value) -> Vec<ButtonClick> {
    if payload.get("type").and_then(Value::as_str) != Some("block_actions") {
        tracing::debug!("slack socket mode: interactive payload is not block_actions");
        return Vec::new();
    }
    let Some(user_id) = text(payload, "/user/id") else {
        tracing::warn!("slack socket mode: block_actions without a user; ignored");
        return Vec::new();
    };
    let user = SlackUser {
        id: user_id,
        name: text(payload, "/user/username").or_else(|| text(payload, "/user/name")),
    };
    let channel = text(payload, "/channel/id").or_else(|| text(payload, "/container/channel_id"));
    let message_ts =
        text(payload, "/container/message_ts").or_else(|| text(payload, "/message/ts"));
    let response_url = text(payload, "/response_url");
    let actions = payload
        .get("actions")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    actions
        .iter()
        .filter_map(|action| {
            let action_id = action.get("action_id").and_then(Value::as_str)?;
            let Some(kind) = ButtonAction::from_action_id(action_id) else {
                if action_id != OPEN_ACTION_ID {
                    tracing::debug!(action_id, "slack socket mode: not one of our buttons");
                }
                return None;
            };
            let raw = action
                .get("value")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let Some(value) = ButtonValue::parse(raw) else {
                tracing::warn!(
                    action_id,
                    value = raw,
                    "slack socket mode: unreadable button value"
                );
                return None;
            };
            if kind.needs_action_id() && value.action_id.is_none() {
                tracing::warn!(
                    action_id,
                    value = raw,
                    "slack socket mode: approval button without an action id"
                );
                return None;
            }
            Some(ButtonClick {
                action: kind,
                incident_id: value.incident_id,
                action_id: value.action_id.filter(|_| kind.needs_action_id()),
                user: user.clone(),
                channel: channel.clone(),
                message_ts: message_ts.clone(),
                response_url: response_url.clone(),
            })
        })
        .collect()
}

fn slash(payload: &Value) -> Option<SlashCommand> {
    let command = text(payload, "/command")?;
    let text_typed = payload
        .get("text")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    Some(SlashCommand {
        request: SlashRequest::parse(&text_typed),
        command,
        text: text_typed,
        user: SlackUser {
            id: text(payload, "/user_id")?,
            name: text(payload, "/user_name"),
        },
        channel: text(payload, "/channel_id").unwrap_or_default(),
        response_url: text(payload, "/response_url").unwrap_or_default(),
    })
}

fn event(payload: &Value) -> Option<SlackEvent> {
    let event = payload.get("event")?.clone();
    Some(SlackEvent {
        event_id: text(payload, "/event_id"),
        kind: text(&event, "/type").unwrap_or_default(),
        event,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn slash_text() {
        let cases = [
            ("", SlashRequest::Help),
            ("  ", SlashRequest::Help),
            ("help", SlashRequest::Help),
            ("status", SlashRequest::Status),
            (" STATUS ", SlashRequest::Status),
            ("briefing", SlashRequest::Briefing),
            ("ack 42", SlashRequest::Ack(42)),
            ("ack #42", SlashRequest::Ack(42)),
            ("acknowledge 7", SlashRequest::Ack(7)),
            ("ack", SlashRequest::Unknown("ack".into())),
            ("ack x", SlashRequest::Unknown("ack x".into())),
            ("ack 0", SlashRequest::Unknown("ack 0".into())),
            ("ack 1 2", SlashRequest::Unknown("ack 1 2".into())),
            ("status now", SlashRequest::Unknown("status now".into())),
            ("reboot prod", SlashRequest::Unknown("reboot prod".into())),
        ];
        for (text, want) in cases {
            assert_eq!(SlashRequest::parse(text), want, "{text:?}");
        }
    }

    fn envelope(value: Value) -> Envelope {
        serde_json::from_value(value).unwrap()
    }

    fn block_actions(actions: Value) -> Envelope {
        envelope(json!({
            "envelope_id": "e1",
            "type": "interactive",
            "accepts_response_payload": false,
            "payload": {
                "type": "block_actions",
                "user": {"id": "U1", "username": "carol", "name": "carol", "team_id": "T1"},
                "container": {"type": "message", "message_ts": "1700000000.000100",
                              "channel_id": "C1", "is_ephemeral": false},
                "trigger_id": "t1",
                "channel": {"id": "C1", "name": "alerts"},
                "response_url": "https://hooks.example/actions/1",
                "actions": actions
            }
        }))
    }

    #[test]
    fn button_clicks_read() {
        let e = block_actions(json!([
            {"action_id": "nw_approve", "block_id": "b", "type": "button",
             "value": "incident:42,action:7", "action_ts": "1"},
            {"action_id": "nw_open", "type": "button", "value": "incident:42"},
            {"action_id": "nw_ack", "type": "button", "value": "garbage"},
            {"action_id": "nw_reject", "type": "button", "value": "incident:42"},
            {"action_id": "nw_noise", "type": "button", "value": "incident:42,action:7"}
        ]));
        let got = e.commands();
        let want_user = SlackUser {
            id: "U1".into(),
            name: Some("carol".into()),
        };
        let clicks: Vec<(ButtonAction, i64, Option<i64>)> = got
            .iter()
            .map(|c| match c {
                SlackCommand::Button(b) => {
                    assert_eq!(b.user, want_user);
                    assert_eq!(b.channel.as_deref(), Some("C1"));
                    assert_eq!(b.message_ts.as_deref(), Some("1700000000.000100"));
                    assert_eq!(
                        b.response_url.as_deref(),
                        Some("https://hooks.example/actions/1")
                    );
                    (b.action, b.incident_id, b.action_id)
                }
                other => panic!("{other:?}"),
            })
            .collect();
        // The link button is ignored, the unreadable value and the approval-less reject dropped,
        // and noise does not carry an action id.
        assert_eq!(
            clicks,
            vec![
                (ButtonAction::Approve, 42, Some(7)),
                (ButtonAction::Noise, 42, None)
            ]
        );
        assert_eq!(e.identities(), vec!["envelope:e1", "trigger:t1"]);
    }

    #[test]
    fn slash_and_events_read() {
        let e = envelope(json!({
            "envelope_id": "e2", "type": "slash_commands", "accepts_response_payload": true,
            "payload": {"command": "/nightwatch", "text": "ack 42", "user_id": "U1",
                        "user_name": "carol", "channel_id": "C1", "trigger_id": "t2",
                        "response_url": "https://hooks.example/commands/1"}
        }));
        let commands = e.commands();
        let [SlackCommand::Slash(s)] = commands.as_slice() else {
            panic!("{commands:?}")
        };
        assert_eq!(s.request, SlashRequest::Ack(42));
        assert_eq!(s.user.display(), "carol");
        assert_eq!(s.channel, "C1");

        let e = envelope(json!({
            "envelope_id": "e3", "type": "events_api", "retry_attempt": 0, "retry_reason": "",
            "payload": {"type": "event_callback", "event_id": "Ev1",
                        "event": {"type": "app_mention", "text": "<@U0> status"}}
        }));
        let commands = e.commands();
        let [SlackCommand::Event(ev)] = commands.as_slice() else {
            panic!("{commands:?}")
        };
        assert_eq!(
            (ev.kind.as_str(), ev.event_id.as_deref()),
            ("app_mention", Some("Ev1"))
        );
        assert_eq!(e.identities(), vec!["envelope:e3", "event:Ev1"]);

        let hello = envelope(json!({"type": "hello", "num_connections": 1}));
        assert!(hello.commands().is_empty());
        assert!(hello.identities().is_empty());
    }

    #[test]
    fn user_display_falls_back_to_id() {
        let u = SlackUser {
            id: "U9".into(),
            name: None,
        };
        assert_eq!(u.display(), "U9");
        let u = SlackUser {
            id: "U9".into(),
            name: Some(String::new()),
        };
        assert_eq!(u.display(), "U9");
    }
}

//! Typed incident events. The timeline of an incident is an append-only list of these.

use serde::{Deserialize, Serialize};
use std::fmt;

pub mod payload;
pub use payload::EventPayload;

use std::str::FromStr;

macro_rules! event_kinds {
    ($($variant:ident => $name:literal),+ $(,)?) => {
        /// What happened. Stored as its snake_case name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum EventKind { $($variant),+ }

        impl EventKind {
            pub const ALL: &'static [EventKind] = &[$(EventKind::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $(EventKind::$variant => $name),+ }
            }
        }
    };
}

event_kinds! {
    // Ingest and the incident state machine.
    Triggered => "triggered",
    Suppressed => "suppressed",
    Resolved => "resolved",
    StaleAlert => "stale_alert",
    Acknowledged => "acknowledged",
    Verdict => "verdict",
    // Routing, runbooks, actions, LLM and notifications (written by later stages).
    // What the analyzers found in the cluster around the alert (an evidence::Assessment).
    Evidence => "evidence",
    Routed => "routed",
    StepStarted => "step_started",
    StepSkipped => "step_skipped",
    ToolCall => "tool_call",
    ToolResult => "tool_result",
    ActionProposed => "action_proposed",
    ActionDryRun => "action_dry_run",
    ActionExecuted => "action_executed",
    ActionVerified => "action_verified",
    ActionDenied => "action_denied",
    ApprovalRequested => "approval_requested",
    Escalated => "escalated",
    Approved => "approved",
    Rejected => "rejected",
    LlmRequest => "llm_request",
    LlmResponse => "llm_response",
    // The LLM investigation's conclusion (its answer, why it stopped, what it spent).
    Investigation => "investigation",
    Analysis => "analysis",
    NotificationSent => "notification_sent",
    Final => "final",
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventKind {
    type Err = crate::model::UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventKind::ALL
            .iter()
            .copied()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| crate::model::UnknownValue(s.to_owned()))
    }
}

/// Longest JSON payload an event keeps; larger ones are cut with a visible marker so a
/// pathological alert cannot bloat the timeline.
/// The actor of the events nightwatch writes itself (people and integrations write their own
/// names).
pub const ACTOR: &str = "nightwatch";

pub const MAX_EVENT_PAYLOAD_BYTES: usize = 64 * 1024;

/// Bounds an event payload to [`MAX_EVENT_PAYLOAD_BYTES`] of serialized JSON.
pub fn bounded_payload(payload: serde_json::Value) -> serde_json::Value {
    let text = payload.to_string();
    if text.len() <= MAX_EVENT_PAYLOAD_BYTES {
        return payload;
    }
    let mut cut = MAX_EVENT_PAYLOAD_BYTES;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    serde_json::json!({
        "truncated": true,
        "original_bytes": text.len(),
        "head": &text[..cut],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in EventKind::ALL {
            assert_eq!(kind.as_str().parse::<EventKind>().unwrap(), *kind);
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::json!(kind.as_str())
            );
        }
    }

    #[test]
    fn payloads_are_bounded() {
        let small = serde_json::json!({"a": 1});
        assert_eq!(bounded_payload(small.clone()), small);
        let big = serde_json::json!({"text": "é".repeat(MAX_EVENT_PAYLOAD_BYTES)});
        let bounded = bounded_payload(big);
        assert_eq!(bounded["truncated"], true);
        assert!(bounded.to_string().len() < MAX_EVENT_PAYLOAD_BYTES + 200);
    }
}

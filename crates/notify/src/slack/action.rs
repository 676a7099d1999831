//! The buttons' identities on the wire: each button's `action_id` says what it does and its
//! `value` says which incident (and, for approve/reject, which action) it is about, as
//! `incident:42` or `incident:42,action:7`. Both directions live here so they cannot drift.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ButtonAction {
    Ack,
    Approve,
    Reject,
    Noise,
    Real,
}

impl ButtonAction {
    pub const ALL: [ButtonAction; 5] = [
        ButtonAction::Ack,
        ButtonAction::Approve,
        ButtonAction::Reject,
        ButtonAction::Noise,
        ButtonAction::Real,
    ];

    pub fn action_id(self) -> &'static str {
        match self {
            ButtonAction::Ack => "nw_ack",
            ButtonAction::Approve => "nw_approve",
            ButtonAction::Reject => "nw_reject",
            ButtonAction::Noise => "nw_noise",
            ButtonAction::Real => "nw_real",
        }
    }

    pub fn from_action_id(action_id: &str) -> Option<ButtonAction> {
        ButtonAction::ALL
            .into_iter()
            .find(|a| a.action_id() == action_id)
    }

    /// Approve and reject are about one proposed action, not only the incident.
    pub fn needs_action_id(self) -> bool {
        matches!(self, ButtonAction::Approve | ButtonAction::Reject)
    }
}

/// The `action_id` of the link button that opens the incident in the UI; Slack reports its
/// clicks too, and they are acknowledged and otherwise ignored.
pub const OPEN_ACTION_ID: &str = "nw_open";

/// What a button's `value` carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ButtonValue {
    pub incident_id: i64,
    pub action_id: Option<i64>,
}

impl ButtonValue {
    pub fn encode(self) -> String {
        match self.action_id {
            Some(action) => format!("incident:{},action:{action}", self.incident_id),
            None => format!("incident:{}", self.incident_id),
        }
    }

    pub fn parse(value: &str) -> Option<ButtonValue> {
        let mut incident_id = None;
        let mut action_id = None;
        for part in value.trim().split(',') {
            let (key, number) = part.split_once(':')?;
            let number: i64 = number.trim().parse().ok()?;
            let slot = match key.trim() {
                "incident" => &mut incident_id,
                "action" => &mut action_id,
                _ => return None,
            };
            if slot.replace(number).is_some() {
                return None;
            }
        }
        Some(ButtonValue {
            incident_id: incident_id?,
            action_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_ids_round_trip() {
        for action in ButtonAction::ALL {
            assert_eq!(
                ButtonAction::from_action_id(action.action_id()),
                Some(action)
            );
        }
        assert_eq!(ButtonAction::from_action_id(OPEN_ACTION_ID), None);
        assert_eq!(ButtonAction::from_action_id("ack"), None);
    }

    #[test]
    fn values() {
        type Case<'a> = (&'a str, Option<(i64, Option<i64>)>);
        let cases: &[Case<'_>] = &[
            ("incident:42", Some((42, None))),
            ("incident:42,action:7", Some((42, Some(7)))),
            ("action:7,incident:42", Some((42, Some(7)))),
            (" incident: 42 ", Some((42, None))),
            ("action:7", None),
            ("incident:x", None),
            ("incident:1,incident:2", None),
            ("incident:1,pod:2", None),
            ("42", None),
            ("", None),
        ];
        for (raw, want) in cases {
            let got = ButtonValue::parse(raw).map(|v| (v.incident_id, v.action_id));
            assert_eq!(got, *want, "{raw:?}");
        }
        for value in [
            ButtonValue {
                incident_id: 9,
                action_id: None,
            },
            ButtonValue {
                incident_id: 9,
                action_id: Some(3),
            },
        ] {
            assert_eq!(ButtonValue::parse(&value.encode()), Some(value));
        }
    }
}

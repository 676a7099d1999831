//! The incident state machine: what one alert, or one human, does to an incident.
//!
//! Pure decisions; the store applies them in a transaction.

use crate::model::{AlertStatus, UnknownValue};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IncidentState {
    Triggered,
    Acknowledged,
    Resolved,
}

impl IncidentState {
    pub const ALL: [IncidentState; 3] = [
        IncidentState::Triggered,
        IncidentState::Acknowledged,
        IncidentState::Resolved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IncidentState::Triggered => "triggered",
            IncidentState::Acknowledged => "acknowledged",
            IncidentState::Resolved => "resolved",
        }
    }

    pub fn is_open(self) -> bool {
        self != IncidentState::Resolved
    }
}

impl FromStr for IncidentState {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        IncidentState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| UnknownValue(s.to_owned()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Noise,
    Real,
    AutoFixed,
    Escalated,
}

impl Verdict {
    pub const ALL: [Verdict; 4] = [
        Verdict::Noise,
        Verdict::Real,
        Verdict::AutoFixed,
        Verdict::Escalated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Noise => "noise",
            Verdict::Real => "real",
            Verdict::AutoFixed => "auto-fixed",
            Verdict::Escalated => "escalated",
        }
    }
}

impl FromStr for Verdict {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let normalised = s.trim().to_ascii_lowercase().replace('_', "-");
        Verdict::ALL
            .into_iter()
            .find(|verdict| verdict.as_str() == normalised)
            .ok_or_else(|| UnknownValue(s.to_owned()))
    }
}

/// What the state machine needs to know about an existing incident.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentFacts {
    pub id: i64,
    pub state: IncidentState,
    /// The `startsAt` of the alert that opened this incident.
    pub first_starts_at: Option<DateTime<Utc>>,
    /// The latest `startsAt` of any alert folded into this incident.
    pub last_starts_at: Option<DateTime<Utc>>,
}

/// What one incoming alert does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertOutcome {
    /// No open incident: open one, linked to the previous incident for this fingerprint.
    Open { previous: Option<i64> },
    /// Firing again while open: fold it in and record a `suppressed` event.
    Suppressed { incident: i64 },
    /// Resolved while open: resolve it.
    Resolve { incident: i64 },
    /// A firing alert that belongs to an occurrence already resolved (a retry or a late
    /// delivery with the same `startsAt`): record it on that incident, open nothing.
    Stale { incident: i64 },
    /// A resolution for an older occurrence than the newest one in the open incident (a late
    /// delivery, e.g. from a second Alertmanager): recorded, resolves nothing.
    StaleResolution { incident: i64 },
    /// A resolution with nothing open to resolve (late or duplicate): recorded on the alert only,
    /// or on the last incident if there is one.
    UnmatchedResolution { last: Option<i64> },
}

/// Decides what an alert does, given the open incident for its fingerprint (if any) and the
/// most recent resolved one (if any).
pub fn on_alert(
    open: Option<&IncidentFacts>,
    last_resolved: Option<&IncidentFacts>,
    status: AlertStatus,
    starts_at: Option<DateTime<Utc>>,
) -> AlertOutcome {
    match (status, open) {
        (AlertStatus::Firing, Some(incident)) => AlertOutcome::Suppressed {
            incident: incident.id,
        },
        // A resolution older than the newest occurrence folded into the incident is a late
        // copy: that newer occurrence is still firing.
        (AlertStatus::Resolved, Some(incident)) => match (starts_at, incident.last_starts_at) {
            (Some(started), Some(latest)) if started < latest => AlertOutcome::StaleResolution {
                incident: incident.id,
            },
            _ => AlertOutcome::Resolve {
                incident: incident.id,
            },
        },
        (AlertStatus::Firing, None) => match (last_resolved, starts_at) {
            (Some(previous), Some(started))
                if previous.last_starts_at.is_some_and(|last| started <= last) =>
            {
                AlertOutcome::Stale {
                    incident: previous.id,
                }
            }
            _ => AlertOutcome::Open {
                previous: last_resolved.map(|incident| incident.id),
            },
        },
        (AlertStatus::Resolved, None) => AlertOutcome::UnmatchedResolution {
            last: last_resolved.map(|incident| incident.id),
        },
    }
}

/// A person's (or an API client's) request to change an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManualChange {
    Acknowledge,
    Resolve,
    SetVerdict(Verdict),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("incident is already resolved")]
    AlreadyResolved,
    #[error("incident is already acknowledged")]
    AlreadyAcknowledged,
}

/// The state an incident moves to on a manual change, or why it cannot.
/// Resolved incidents never reopen; a verdict may be set in any state.
pub fn on_manual(
    state: IncidentState,
    change: ManualChange,
) -> Result<IncidentState, TransitionError> {
    match (change, state) {
        (ManualChange::SetVerdict(_), state) => Ok(state),
        (_, IncidentState::Resolved) => Err(TransitionError::AlreadyResolved),
        (ManualChange::Acknowledge, IncidentState::Acknowledged) => {
            Err(TransitionError::AlreadyAcknowledged)
        }
        (ManualChange::Acknowledge, IncidentState::Triggered) => Ok(IncidentState::Acknowledged),
        (ManualChange::Resolve, _) => Ok(IncidentState::Resolved),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(minute: u32) -> Option<DateTime<Utc>> {
        Some(Utc.with_ymd_and_hms(2026, 11, 25, 10, minute, 0).unwrap())
    }

    fn facts(
        id: i64,
        state: IncidentState,
        last_starts_at: Option<DateTime<Utc>>,
    ) -> IncidentFacts {
        IncidentFacts {
            id,
            state,
            first_starts_at: last_starts_at,
            last_starts_at,
        }
    }

    #[test]
    fn alert_outcomes() {
        use AlertStatus::{Firing, Resolved};
        let open = facts(7, IncidentState::Triggered, at(0));
        let acked = facts(7, IncidentState::Acknowledged, at(0));
        let resolved = facts(3, IncidentState::Resolved, at(5));
        let later = facts(8, IncidentState::Triggered, at(4));
        type Case<'a> = (
            Option<&'a IncidentFacts>,
            Option<&'a IncidentFacts>,
            AlertStatus,
            Option<DateTime<Utc>>,
            AlertOutcome,
        );
        let cases: Vec<Case> = vec![
            (
                None,
                None,
                Firing,
                at(0),
                AlertOutcome::Open { previous: None },
            ),
            (
                None,
                None,
                Firing,
                None,
                AlertOutcome::Open { previous: None },
            ),
            (
                Some(&open),
                None,
                Firing,
                at(0),
                AlertOutcome::Suppressed { incident: 7 },
            ),
            (
                Some(&acked),
                Some(&resolved),
                Firing,
                at(9),
                AlertOutcome::Suppressed { incident: 7 },
            ),
            (
                Some(&open),
                None,
                Resolved,
                at(0),
                AlertOutcome::Resolve { incident: 7 },
            ),
            (
                Some(&acked),
                None,
                Resolved,
                at(0),
                AlertOutcome::Resolve { incident: 7 },
            ),
            (
                Some(&open),
                None,
                Resolved,
                None,
                AlertOutcome::Resolve { incident: 7 },
            ),
            (
                Some(&later),
                None,
                Resolved,
                at(2),
                AlertOutcome::StaleResolution { incident: 8 },
            ),
            (
                Some(&later),
                None,
                Resolved,
                at(6),
                AlertOutcome::Resolve { incident: 8 },
            ),
            (
                None,
                Some(&resolved),
                Firing,
                at(9),
                AlertOutcome::Open { previous: Some(3) },
            ),
            (
                None,
                Some(&resolved),
                Firing,
                None,
                AlertOutcome::Open { previous: Some(3) },
            ),
            (
                None,
                Some(&resolved),
                Firing,
                at(5),
                AlertOutcome::Stale { incident: 3 },
            ),
            (
                None,
                Some(&resolved),
                Firing,
                at(1),
                AlertOutcome::Stale { incident: 3 },
            ),
            (
                None,
                None,
                Resolved,
                at(0),
                AlertOutcome::UnmatchedResolution { last: None },
            ),
            (
                None,
                Some(&resolved),
                Resolved,
                at(5),
                AlertOutcome::UnmatchedResolution { last: Some(3) },
            ),
        ];
        for (index, (open, last, status, starts, expected)) in cases.into_iter().enumerate() {
            assert_eq!(
                on_alert(open, last, status, starts),
                expected,
                "case {index}"
            );
        }
    }

    #[test]
    fn manual_changes() {
        use IncidentState::*;
        use ManualChange::*;
        let cases = [
            (Triggered, Acknowledge, Ok(Acknowledged)),
            (
                Acknowledged,
                Acknowledge,
                Err(TransitionError::AlreadyAcknowledged),
            ),
            (Resolved, Acknowledge, Err(TransitionError::AlreadyResolved)),
            (Triggered, Resolve, Ok(Resolved)),
            (Acknowledged, Resolve, Ok(Resolved)),
            (Resolved, Resolve, Err(TransitionError::AlreadyResolved)),
            (Resolved, SetVerdict(Verdict::Noise), Ok(Resolved)),
            (Triggered, SetVerdict(Verdict::Real), Ok(Triggered)),
        ];
        for (state, change, expected) in cases {
            assert_eq!(on_manual(state, change), expected, "{state:?} {change:?}");
        }
    }

    #[test]
    fn verdict_spellings() {
        assert_eq!("auto-fixed".parse::<Verdict>().unwrap(), Verdict::AutoFixed);
        assert_eq!("auto_fixed".parse::<Verdict>().unwrap(), Verdict::AutoFixed);
        assert_eq!("Noise".parse::<Verdict>().unwrap(), Verdict::Noise);
        assert!("maybe".parse::<Verdict>().is_err());
    }
}

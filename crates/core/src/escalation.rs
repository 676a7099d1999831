//! Nagging until someone acknowledges: what to do for one notified incident at
//! `now`, given its state and the nag record. Pure: the notifier stores the record and sends
//! what this says; tests step time by hand.
//!
//! Every `interval` without an acknowledgement is a nag to the current target; after
//! `nags_per_target` nags the next target in the list is told (an escalation), and so on; the
//! last target keeps being nagged. Acknowledging or resolving stops it for good.

use crate::incident::IncidentState;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NagPolicy {
    pub interval: Duration,
    /// Nags to one target before the next one is told (M).
    pub nags_per_target: u32,
    /// How many targets there are (at least one: the channel).
    pub targets: usize,
}

impl Default for NagPolicy {
    fn default() -> Self {
        NagPolicy {
            interval: Duration::minutes(10),
            nags_per_target: 3,
            targets: 1,
        }
    }
}

/// What is remembered between nags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NagRecord {
    /// Nags sent so far, over all targets.
    pub nags: u32,
    /// Index of the target currently nagged.
    pub level: usize,
    pub next_at: DateTime<Utc>,
    pub stopped: bool,
}

impl NagRecord {
    /// Just announced at `now`: the first nag is due an interval later.
    pub fn announced(policy: &NagPolicy, now: DateTime<Utc>) -> NagRecord {
        NagRecord {
            nags: 0,
            level: 0,
            next_at: now + policy.interval,
            stopped: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NagStep {
    /// Nothing to do before `until`.
    Wait { until: DateTime<Utc> },
    /// Remind target `level` (the `nag`-th reminder in all).
    Nag { level: usize, nag: u32 },
    /// Tell target `level` (the next one) for the first time.
    Escalate { level: usize, nag: u32 },
    /// Stop for good: acknowledged or resolved.
    Stop { because: IncidentState },
    /// Already stopped.
    Done,
}

/// The step due at `now` and the record after it.
pub fn next_step(
    policy: &NagPolicy,
    record: &NagRecord,
    state: IncidentState,
    now: DateTime<Utc>,
) -> (NagStep, NagRecord) {
    if record.stopped {
        return (NagStep::Done, record.clone());
    }
    if state != IncidentState::Triggered {
        let mut after = record.clone();
        after.stopped = true;
        return (NagStep::Stop { because: state }, after);
    }
    if now < record.next_at {
        return (
            NagStep::Wait {
                until: record.next_at,
            },
            record.clone(),
        );
    }
    let per_target = policy.nags_per_target.max(1);
    let last = policy.targets.max(1) - 1;
    let nag = record.nags + 1;
    // Nags to the current target so far; at M, move on (unless this is the last target).
    let to_current = record.nags.saturating_sub(record.level as u32 * per_target);
    let (step, level) = if to_current >= per_target && record.level < last {
        let level = record.level + 1;
        (NagStep::Escalate { level, nag }, level)
    } else {
        (
            NagStep::Nag {
                level: record.level,
                nag,
            },
            record.level,
        )
    };
    // A notifier that was down for hours nags once, not once per missed interval.
    let mut next_at = record.next_at + policy.interval;
    if next_at <= now {
        next_at = now + policy.interval;
    }
    (
        step,
        NagRecord {
            nags: nag,
            level,
            next_at,
            stopped: false,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(minutes: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 3, 0, 0).unwrap() + Duration::minutes(minutes)
    }

    fn policy(targets: usize) -> NagPolicy {
        NagPolicy {
            interval: Duration::minutes(10),
            nags_per_target: 2,
            targets,
        }
    }

    /// Runs the clock minute by minute and lists the steps that did something.
    fn run(policy: &NagPolicy, until: i64, ack_at: Option<i64>) -> Vec<(i64, NagStep)> {
        let mut record = NagRecord::announced(policy, t(0));
        let mut out = Vec::new();
        for minute in 0..=until {
            let state = match ack_at {
                Some(at) if minute >= at => IncidentState::Acknowledged,
                _ => IncidentState::Triggered,
            };
            let (step, after) = next_step(policy, &record, state, t(minute));
            if !matches!(step, NagStep::Wait { .. } | NagStep::Done) {
                out.push((minute, step));
            }
            record = after;
        }
        out
    }

    #[test]
    fn nags_every_interval_then_escalates_after_m_nags_per_target() {
        let steps = run(&policy(3), 75, None);
        assert_eq!(
            steps,
            vec![
                (10, NagStep::Nag { level: 0, nag: 1 }),
                (20, NagStep::Nag { level: 0, nag: 2 }),
                (30, NagStep::Escalate { level: 1, nag: 3 }),
                (40, NagStep::Nag { level: 1, nag: 4 }),
                (50, NagStep::Escalate { level: 2, nag: 5 }),
                (60, NagStep::Nag { level: 2, nag: 6 }),
                (70, NagStep::Nag { level: 2, nag: 7 }),
            ]
        );
    }

    #[test]
    fn acknowledging_stops_it_for_good() {
        let steps = run(&policy(2), 60, Some(25));
        assert_eq!(
            steps,
            vec![
                (10, NagStep::Nag { level: 0, nag: 1 }),
                (20, NagStep::Nag { level: 0, nag: 2 }),
                (
                    25,
                    NagStep::Stop {
                        because: IncidentState::Acknowledged
                    }
                ),
            ]
        );
    }

    #[test]
    fn a_long_outage_nags_once_and_keeps_the_rhythm_from_now() {
        let p = policy(1);
        let record = NagRecord::announced(&p, t(0));
        let (step, after) = next_step(&p, &record, IncidentState::Triggered, t(95));
        assert_eq!(step, NagStep::Nag { level: 0, nag: 1 });
        assert_eq!(after.next_at, t(105));
        let (step, _) = next_step(&p, &after, IncidentState::Triggered, t(96));
        assert_eq!(step, NagStep::Wait { until: t(105) });
    }

    #[test]
    fn resolved_stops_and_stopped_stays_stopped() {
        let p = policy(1);
        let record = NagRecord::announced(&p, t(0));
        let (step, after) = next_step(&p, &record, IncidentState::Resolved, t(1));
        assert_eq!(
            step,
            NagStep::Stop {
                because: IncidentState::Resolved
            }
        );
        let (step, _) = next_step(&p, &after, IncidentState::Triggered, t(50));
        assert_eq!(step, NagStep::Done);
    }
}

/// Where an incident is announced: the first route whose conditions all hold (an empty list
/// matches anything); none → the default channel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotifyRoute {
    /// Namespace globs (`prod-*`).
    pub namespaces: Vec<String>,
    pub severities: Vec<crate::model::Severity>,
    /// Environment classes of the policy (`prod`, `staging`, …).
    pub classes: Vec<String>,
    /// The Slack channel the matching incidents go to.
    pub slack_channel: Option<String>,
}

impl NotifyRoute {
    fn matches(
        &self,
        severity: crate::model::Severity,
        namespace: Option<&str>,
        class: &str,
    ) -> bool {
        let namespace_ok = self.namespaces.is_empty()
            || namespace.is_some_and(|ns| {
                self.namespaces
                    .iter()
                    .any(|glob| crate::policy::glob_match(glob, ns))
            });
        namespace_ok
            && (self.severities.is_empty() || self.severities.contains(&severity))
            && (self.classes.is_empty() || self.classes.iter().any(|c| c == class))
    }
}

/// The first route for an incident of `severity` in `namespace` (environment `class`).
pub fn pick_route<'a>(
    routes: &'a [NotifyRoute],
    severity: crate::model::Severity,
    namespace: Option<&str>,
    class: &str,
) -> Option<&'a NotifyRoute> {
    routes
        .iter()
        .find(|route| route.matches(severity, namespace, class))
}

#[cfg(test)]
mod route_tests {
    use super::*;
    use crate::model::Severity;

    #[test]
    fn first_matching_route_wins_and_empty_lists_match_anything() {
        let routes = vec![
            NotifyRoute {
                namespaces: vec!["prod-*".into()],
                severities: vec![Severity::Critical, Severity::High],
                slack_channel: Some("#prod-pager".into()),
                ..NotifyRoute::default()
            },
            NotifyRoute {
                classes: vec!["prod".into()],
                slack_channel: Some("#prod".into()),
                ..NotifyRoute::default()
            },
            NotifyRoute {
                severities: vec![Severity::Info],
                slack_channel: Some("#fyi".into()),
                ..NotifyRoute::default()
            },
        ];
        let channel = |severity, ns: Option<&str>, class: &str| {
            pick_route(&routes, severity, ns, class).and_then(|r| r.slack_channel.as_deref())
        };
        assert_eq!(
            channel(Severity::Critical, Some("prod-pay"), "prod"),
            Some("#prod-pager")
        );
        assert_eq!(
            channel(Severity::Warning, Some("prod-pay"), "prod"),
            Some("#prod")
        );
        assert_eq!(
            channel(Severity::Info, Some("shop"), "default"),
            Some("#fyi")
        );
        assert_eq!(channel(Severity::Warning, Some("shop"), "default"), None);
        assert_eq!(
            channel(Severity::Critical, None, "default"),
            None,
            "no namespace, no glob match"
        );
    }
}

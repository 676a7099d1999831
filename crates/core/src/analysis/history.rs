//! The history an analysis looks back on: which past incidents are related, and what their
//! pattern says (verdicts, frequency, time to resolve, fixes and whether they held, flapping),
//! ending in one deterministic SRE recommendation.

use super::input::{ActionOutcome, IncidentInfo, PastIncident};
use super::words::{duration_secs, plural};
use crate::action::Action;
use crate::incident::Verdict;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// At most this many related incidents feed an analysis.
pub const HISTORY_LIMIT: usize = 50;

/// A verified fix "held" when the same alert did not come back on the same pod or node within
/// this long; a recurrence after that is a new problem as far as the fix is concerned.
pub const HOLD_WINDOW_DAYS: i64 = 7;
/// Past fixes of the same action on the same target from which repeating it is the wrong answer.
pub const REPEATED_FIX_MIN: usize = 2;
/// An incident shorter than this counts toward flapping.
pub const FLAP_MAX_MINUTES: i64 = 15;
/// Short incidents of the same alert on the same subject within 24h that make it flapping.
pub const FLAP_MIN_COUNT: usize = 3;
/// Judged incidents needed before the noise share means anything.
pub const NOISE_MIN_JUDGED: usize = 3;
/// Share of noise verdicts (in percent) from which the alert is called noisy.
pub const NOISE_MIN_PERCENT: usize = 80;

/// Why a past incident is related to the current one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MatchReason {
    Alertname,
    Pod,
    Node,
}

impl MatchReason {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchReason::Alertname => "alertname",
            MatchReason::Pod => "pod",
            MatchReason::Node => "node",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RelatedIncident {
    #[serde(flatten)]
    pub incident: PastIncident,
    /// Every reason it matched, in [`MatchReason`] order.
    pub matched: Vec<MatchReason>,
}

/// The past incidents with the same alertname, the same namespace+pod or the same node,
/// excluding `current`, each once, newest first, at most `limit` (usually [`HISTORY_LIMIT`]).
pub fn select_history(
    current: &IncidentInfo,
    candidates: &[PastIncident],
    limit: usize,
) -> Vec<RelatedIncident> {
    let mut seen = BTreeSet::new();
    let mut related: Vec<RelatedIncident> = candidates
        .iter()
        .filter(|past| past.id != current.id)
        // The store hands over one list per reason, so the same incident can come twice.
        .filter(|past| seen.insert(past.id))
        .filter_map(|past| {
            let matched = match_reasons(current, past);
            (!matched.is_empty()).then(|| RelatedIncident {
                incident: past.clone(),
                matched,
            })
        })
        .collect();
    related.sort_by(|a, b| {
        (b.incident.opened_at, b.incident.id).cmp(&(a.incident.opened_at, a.incident.id))
    });
    related.truncate(limit);
    related
}

fn match_reasons(current: &IncidentInfo, past: &PastIncident) -> Vec<MatchReason> {
    let same = |a: &Option<String>, b: &Option<String>| a.is_some() && a == b;
    let mut reasons = Vec::new();
    if current.alertname == past.alertname {
        reasons.push(MatchReason::Alertname);
    }
    if same(&current.namespace, &past.namespace) && same(&current.pod, &past.pod) {
        reasons.push(MatchReason::Pod);
    }
    if same(&current.node, &past.node) {
        reasons.push(MatchReason::Node);
    }
    reasons
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerdictCounts {
    pub noise: usize,
    pub real: usize,
    pub auto_fixed: usize,
    pub escalated: usize,
    /// Nobody set a verdict.
    pub none: usize,
}

impl VerdictCounts {
    fn add(&mut self, verdict: Option<Verdict>) {
        match verdict {
            Some(Verdict::Noise) => self.noise += 1,
            Some(Verdict::Real) => self.real += 1,
            Some(Verdict::AutoFixed) => self.auto_fixed += 1,
            Some(Verdict::Escalated) => self.escalated += 1,
            None => self.none += 1,
        }
    }

    /// Incidents someone (or nightwatch) gave a verdict.
    pub fn judged(&self) -> usize {
        self.noise + self.real + self.auto_fixed + self.escalated
    }
}

/// One kind of fix on one target across the history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixRecord {
    pub action: String,
    /// The changed object, or the incident's pod/node when the action did not record one.
    pub target: String,
    /// Times the change was made and confirmed.
    pub verified: usize,
    /// Times it was tried and failed (dry-run, execution or verification).
    pub failed: usize,
    /// Verified times after which the alert stayed away from the subject for
    /// [`HOLD_WINDOW_DAYS`].
    pub held: usize,
    /// The incidents it was tried in, newest first.
    pub incident_ids: Vec<i64>,
}

/// Many short incidents of the same alert on the same subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flapping {
    pub subject: String,
    /// Short incidents in the last 24h.
    pub count: usize,
    pub incident_ids: Vec<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecommendationKind {
    FirstSeen,
    Flapping,
    RepeatedFix,
    Noise,
    FailingFix,
    RecurringReal,
    NoClearPattern,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recommendation {
    pub kind: RecommendationKind,
    pub text: String,
}

/// The facts the history section and the recommendation rest on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryPattern {
    pub total: usize,
    pub same_alertname: usize,
    pub same_pod: usize,
    pub same_node: usize,
    /// Over every related incident.
    pub verdicts: VerdictCounts,
    /// Over the same-alertname ones only: whether *this alert* is noise.
    pub alertname_verdicts: VerdictCounts,
    pub last_24h: usize,
    pub last_7d: usize,
    pub last_30d: usize,
    pub median_resolve_secs: Option<i64>,
    pub fixes: Vec<FixRecord>,
    pub flapping: Option<Flapping>,
    pub recommendation: Recommendation,
}

/// Reads the pattern in `related` (from [`select_history`]) as of `now`.
pub fn history_pattern(
    current: &IncidentInfo,
    related: &[RelatedIncident],
    now: DateTime<Utc>,
) -> HistoryPattern {
    let matched = |reason| {
        related
            .iter()
            .filter(|r| r.matched.contains(&reason))
            .count()
    };
    let mut verdicts = VerdictCounts::default();
    let mut alertname_verdicts = VerdictCounts::default();
    for r in related {
        verdicts.add(r.incident.verdict);
        if r.matched.contains(&MatchReason::Alertname) {
            alertname_verdicts.add(r.incident.verdict);
        }
    }
    let within = |window: Duration| {
        related
            .iter()
            .filter(|r| r.incident.opened_at <= now && r.incident.opened_at > now - window)
            .count()
    };
    let mut pattern = HistoryPattern {
        total: related.len(),
        same_alertname: matched(MatchReason::Alertname),
        same_pod: matched(MatchReason::Pod),
        same_node: matched(MatchReason::Node),
        verdicts,
        alertname_verdicts,
        last_24h: within(Duration::hours(24)),
        last_7d: within(Duration::days(7)),
        last_30d: within(Duration::days(30)),
        median_resolve_secs: median_resolve(related),
        fixes: fixes(current, related),
        flapping: flapping(current, related, now),
        recommendation: Recommendation {
            kind: RecommendationKind::FirstSeen,
            text: String::new(),
        },
    };
    pattern.recommendation = recommend(current, &pattern);
    pattern
}

fn median_resolve(related: &[RelatedIncident]) -> Option<i64> {
    let mut secs: Vec<i64> = related
        .iter()
        .filter_map(|r| r.incident.time_to_resolve())
        .map(|took| took.num_seconds())
        .collect();
    secs.sort_unstable();
    let mid = secs.len() / 2;
    match secs.len() {
        0 => None,
        n if n % 2 == 1 => secs.get(mid).copied(),
        _ => Some((secs.get(mid - 1)? + secs.get(mid)?) / 2),
    }
}

/// Whether the same alert came back on the same subject within the hold window after `past`
/// (the current incident counts: it is such a comeback).
fn came_back(current: &IncidentInfo, related: &[RelatedIncident], past: &PastIncident) -> bool {
    let Some(subject) = past.subject_key() else {
        return false;
    };
    let window_end = past.opened_at + Duration::days(HOLD_WINDOW_DAYS);
    let recurs = |alertname: &str, key: Option<String>, opened: DateTime<Utc>| {
        alertname == past.alertname
            && key.as_deref() == Some(subject.as_str())
            && opened > past.opened_at
            && opened <= window_end
    };
    recurs(&current.alertname, current.subject_key(), current.opened_at)
        || related.iter().any(|r| {
            r.incident.id != past.id
                && recurs(
                    &r.incident.alertname,
                    r.incident.subject_key(),
                    r.incident.opened_at,
                )
        })
}

fn fixes(current: &IncidentInfo, related: &[RelatedIncident]) -> Vec<FixRecord> {
    let mut groups: BTreeMap<(String, String), FixRecord> = BTreeMap::new();
    for r in related {
        let past = &r.incident;
        let came_back = came_back(current, related, past);
        for taken in &past.actions {
            if !matches!(
                taken.outcome,
                ActionOutcome::Verified | ActionOutcome::Failed
            ) {
                continue;
            }
            let target = taken
                .target
                .clone()
                .or_else(|| past.subject_key())
                .unwrap_or_else(|| "-".to_owned());
            let record = groups
                .entry((taken.action.clone(), target.clone()))
                .or_insert_with(|| FixRecord {
                    action: taken.action.clone(),
                    target,
                    verified: 0,
                    failed: 0,
                    held: 0,
                    incident_ids: Vec::new(),
                });
            if taken.outcome == ActionOutcome::Verified {
                record.verified += 1;
                if !came_back {
                    record.held += 1;
                }
            } else {
                record.failed += 1;
            }
            if !record.incident_ids.contains(&past.id) {
                record.incident_ids.push(past.id);
            }
        }
    }
    let mut fixes: Vec<FixRecord> = groups.into_values().collect();
    // Most repeated first, so the sentence names the one that matters; ties by name for
    // determinism (the map already ordered them).
    fixes.sort_by_key(|fix| std::cmp::Reverse(fix.verified + fix.failed));
    fixes
}

fn flapping(
    current: &IncidentInfo,
    related: &[RelatedIncident],
    now: DateTime<Utc>,
) -> Option<Flapping> {
    let subject = current.subject_key();
    let short: Vec<i64> = related
        .iter()
        .map(|r| &r.incident)
        .filter(|past| past.alertname == current.alertname && past.subject_key() == subject)
        .filter(|past| past.opened_at <= now && past.opened_at > now - Duration::hours(24))
        .filter(|past| {
            past.time_to_resolve()
                .is_some_and(|took| took <= Duration::minutes(FLAP_MAX_MINUTES))
        })
        .map(|past| past.id)
        .collect();
    (short.len() >= FLAP_MIN_COUNT).then(|| Flapping {
        subject: subject.unwrap_or_else(|| format!("alert {}", current.alertname)),
        count: short.len(),
        incident_ids: short,
    })
}

/// What to do instead of the same thing again, per action.
fn permanent_fix(action: &str) -> &'static str {
    match Action::parse(action) {
        Some(Action::IncreaseMemoryLimit) => {
            "set a memory limit that fits in the workload's manifest, or find the leak"
        }
        Some(Action::FixImagePullBackoff | Action::PatchImage) => {
            "fix the image reference (tag, registry, pull secret) where the workload is deployed from"
        }
        Some(Action::DeletePod) => {
            "find what leaves the pod stuck (volumes, secrets, CNI) and fix that"
        }
        Some(Action::RolloutRestart) => "find why the container crashes and fix that",
        Some(Action::Cordon | Action::Drain | Action::Uncordon) => {
            "find why the node keeps failing (kubelet, hardware, pressure) and repair or replace it"
        }
        None => "make the change permanent where the workload is defined, or remove its cause",
    }
}

fn recommend(current: &IncidentInfo, p: &HistoryPattern) -> Recommendation {
    let make = |kind, text: String| Recommendation { kind, text };
    if p.total == 0 {
        return make(
            RecommendationKind::FirstSeen,
            "No earlier incident shares this alert, pod or node; judge it on its own evidence \
             and set a verdict so the next one has a history."
                .to_owned(),
        );
    }
    if let Some(flap) = &p.flapping {
        return make(
            RecommendationKind::Flapping,
            format!(
                "{} flapped on {}: {} incidents of under {FLAP_MAX_MINUTES} minutes in the last \
                 24 hours; lengthen the rule's `for:` duration or add hysteresis to its threshold \
                 rather than responding to each one.",
                current.alertname, flap.subject, flap.count
            ),
        );
    }
    if let Some(fix) = p.fixes.iter().find(|fix| fix.verified >= REPEATED_FIX_MIN) {
        return make(
            RecommendationKind::RepeatedFix,
            format!(
                "{} was applied to {} {} before ({} held for {HOLD_WINDOW_DAYS} days); stop \
                 repeating it and {}.",
                fix.action,
                fix.target,
                plural(fix.verified, "time", "times"),
                fix.held,
                permanent_fix(&fix.action)
            ),
        );
    }
    let judged = p.alertname_verdicts.judged();
    if judged >= NOISE_MIN_JUDGED && p.alertname_verdicts.noise * 100 >= judged * NOISE_MIN_PERCENT
    {
        return make(
            RecommendationKind::Noise,
            format!(
                "{} was marked noise in {} of {} judged earlier incidents; tune the alert rule \
                 (threshold, `for:` duration, matchers) or silence it rather than paging for it.",
                current.alertname, p.alertname_verdicts.noise, judged
            ),
        );
    }
    if let Some(fix) = p.fixes.iter().find(|fix| fix.failed >= REPEATED_FIX_MIN) {
        return make(
            RecommendationKind::FailingFix,
            format!(
                "{} on {} failed {} before; the runbook's fix does not fit this failure, so hand \
                 it to a human and revise the runbook rather than retrying.",
                fix.action,
                fix.target,
                plural(fix.failed, "time", "times")
            ),
        );
    }
    let serious = p.verdicts.real + p.verdicts.escalated;
    if p.last_7d >= 3 && serious > p.verdicts.noise {
        return make(
            RecommendationKind::RecurringReal,
            format!(
                "This keeps coming back ({} related incidents in 7 days, {} judged real or \
                 escalated); give it an owner and a permanent fix rather than handling each \
                 occurrence.",
                p.last_7d, serious
            ),
        );
    }
    make(
        RecommendationKind::NoClearPattern,
        format!(
            "Seen {} before ({} in the last 7 days) with no dominant pattern; handle it on its \
             evidence and set a verdict so a pattern can show.",
            plural(p.total, "time", "times"),
            p.last_7d
        ),
    )
}

impl HistoryPattern {
    /// The facts as sentences, for the analysis and the prompt.
    pub fn fact_lines(&self) -> Vec<String> {
        if self.total == 0 {
            return vec!["No related past incidents.".to_owned()];
        }
        let v = &self.verdicts;
        let mut lines = vec![
            format!(
                "{} ({} same alertname, {} same pod, {} same node).",
                plural(
                    self.total,
                    "related past incident",
                    "related past incidents"
                ),
                self.same_alertname,
                self.same_pod,
                self.same_node
            ),
            format!(
                "Verdicts: {} noise, {} real, {} auto-fixed, {} escalated, {} without a verdict.",
                v.noise, v.real, v.auto_fixed, v.escalated, v.none
            ),
            format!(
                "Opened in the last 24 hours: {}; 7 days: {}; 30 days: {}.",
                self.last_24h, self.last_7d, self.last_30d
            ),
        ];
        match self.median_resolve_secs {
            Some(secs) => lines.push(format!("Median time to resolve: {}.", duration_secs(secs))),
            None => lines.push("None of them resolved yet.".to_owned()),
        }
        for fix in &self.fixes {
            lines.push(format!(
                "{} on {}: verified {}, held {}, failed {} (incidents {}).",
                fix.action,
                fix.target,
                fix.verified,
                fix.held,
                fix.failed,
                incident_refs(&fix.incident_ids)
            ));
        }
        if let Some(flap) = &self.flapping {
            lines.push(format!(
                "Flapping: {} short incidents on {} in 24 hours (incidents {}).",
                flap.count,
                flap.subject,
                incident_refs(&flap.incident_ids)
            ));
        }
        lines
    }
}

/// `#3, #5`: how past incidents are referred to (they are not events of this incident).
pub(crate) fn incident_refs(ids: &[i64]) -> String {
    ids.iter()
        .map(|id| format!("#{id}"))
        .collect::<Vec<_>>()
        .join(", ")
}

//! The briefing: what the last days looked like — incidents by alert and verdict,
//! time to acknowledge and to resolve, how much was fixed automatically, which alerts are
//! mostly noise, the recent real incidents, and what waits for a human now. Pure: the caller
//! passes the incidents of the window and the open hand-overs.

use crate::incident::{IncidentState, Verdict};
use crate::model::Severity;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One incident as the briefing counts it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BriefingIncident {
    pub id: i64,
    pub alertname: String,
    pub namespace: Option<String>,
    pub severity: Severity,
    pub state: IncidentState,
    pub verdict: Option<Verdict>,
    pub opened_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// What waits for a human at the time of the briefing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Pending {
    /// Open, unacknowledged incidents that were escalated to a human.
    pub escalations: Vec<i64>,
    /// Actions waiting for approval: (action id, incident id, what).
    pub approvals: Vec<(i64, i64, String)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertStats {
    pub alertname: String,
    pub incidents: usize,
    /// Verdict name (`noise`, `real`, `auto-fixed`, `escalated`, `none`) → count.
    pub verdicts: BTreeMap<String, usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoiseStats {
    pub alertname: String,
    pub incidents: usize,
    pub noise: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Briefing {
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub incidents: usize,
    pub open: usize,
    pub by_alertname: Vec<AlertStats>,
    pub by_verdict: BTreeMap<String, usize>,
    /// Mean time to acknowledge, over acknowledged incidents (seconds).
    pub mtta_seconds: Option<i64>,
    /// Mean time to resolve, over resolved incidents (seconds).
    pub mttr_seconds: Option<i64>,
    /// Auto-fixed over incidents with a verdict.
    pub auto_fix_rate: Option<f64>,
    /// Alerts with at least `RECURRING` incidents and two marked noise, at least half of the
    /// judged ones.
    pub recurring_noise: Vec<NoiseStats>,
    /// Newest real incidents (at most 5).
    pub recent_real: Vec<BriefingIncident>,
    pub pending: Pending,
}

/// Incidents of one alert in the window that make it "recurring".
pub const RECURRING: usize = 3;
const RECENT_REAL: usize = 5;

fn verdict_name(verdict: Option<Verdict>) -> String {
    verdict.map_or("none", |v| v.as_str()).to_owned()
}

fn mean_seconds(durations: impl Iterator<Item = Duration>) -> Option<i64> {
    let (sum, n) = durations.fold((0i64, 0i64), |(sum, n), d| (sum + d.num_seconds(), n + 1));
    (n > 0).then(|| sum / n)
}

/// The briefing over `incidents` (those opened in `[since, until]`) and what is `pending`.
pub fn briefing(
    incidents: &[BriefingIncident],
    pending: Pending,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Briefing {
    let window: Vec<&BriefingIncident> = incidents
        .iter()
        .filter(|i| i.opened_at >= since && i.opened_at <= until)
        .collect();
    let mut per_alert: BTreeMap<&str, AlertStats> = BTreeMap::new();
    let mut by_verdict: BTreeMap<String, usize> = BTreeMap::new();
    for incident in &window {
        let stats = per_alert
            .entry(&incident.alertname)
            .or_insert_with(|| AlertStats {
                alertname: incident.alertname.clone(),
                incidents: 0,
                verdicts: BTreeMap::new(),
            });
        stats.incidents += 1;
        *stats
            .verdicts
            .entry(verdict_name(incident.verdict))
            .or_insert(0) += 1;
        *by_verdict
            .entry(verdict_name(incident.verdict))
            .or_insert(0) += 1;
    }
    let mut by_alertname: Vec<AlertStats> = per_alert.into_values().collect();
    by_alertname.sort_by(|a, b| {
        b.incidents
            .cmp(&a.incidents)
            .then_with(|| a.alertname.cmp(&b.alertname))
    });
    let recurring_noise = by_alertname
        .iter()
        .filter_map(|stats| {
            let noise = stats.verdicts.get("noise").copied().unwrap_or(0);
            let judged = stats.incidents - stats.verdicts.get("none").copied().unwrap_or(0);
            (stats.incidents >= RECURRING && noise >= 2 && noise * 2 >= judged).then(|| {
                NoiseStats {
                    alertname: stats.alertname.clone(),
                    incidents: stats.incidents,
                    noise,
                }
            })
        })
        .collect();
    let judged = window.iter().filter(|i| i.verdict.is_some()).count();
    let auto_fixed = window
        .iter()
        .filter(|i| i.verdict == Some(Verdict::AutoFixed))
        .count();
    let mut recent_real: Vec<BriefingIncident> = window
        .iter()
        .filter(|i| i.verdict == Some(Verdict::Real))
        .map(|i| (*i).clone())
        .collect();
    recent_real.sort_by_key(|i| std::cmp::Reverse(i.opened_at));
    recent_real.truncate(RECENT_REAL);
    Briefing {
        since,
        until,
        incidents: window.len(),
        open: window
            .iter()
            .filter(|i| i.state != IncidentState::Resolved)
            .count(),
        by_alertname,
        by_verdict,
        mtta_seconds: mean_seconds(
            window
                .iter()
                .filter_map(|i| i.acknowledged_at.map(|at| at - i.opened_at)),
        ),
        mttr_seconds: mean_seconds(
            window
                .iter()
                .filter_map(|i| i.resolved_at.map(|at| at - i.opened_at)),
        ),
        auto_fix_rate: (judged > 0).then(|| auto_fixed as f64 / judged as f64),
        recurring_noise,
        recent_real,
        pending,
    }
}

/// `45s`, `12m`, `3.5h`, or `—` for none.
pub fn duration_text(seconds: Option<i64>) -> String {
    match seconds {
        None => "—".to_owned(),
        Some(s) if s < 120 => format!("{s}s"),
        Some(s) if s < 7200 => format!("{}m", s / 60),
        Some(s) => format!("{:.1}h", s as f64 / 3600.0),
    }
}

impl Briefing {
    pub fn to_markdown(&self) -> String {
        let days = (self.until - self.since).num_days().max(1);
        let mut out = format!(
            "# nightwatch briefing, last {days} days\n\n{} incidents ({} open). MTTA {}, MTTR {}, auto-fixed {}.\n",
            self.incidents,
            self.open,
            duration_text(self.mtta_seconds),
            duration_text(self.mttr_seconds),
            self.auto_fix_rate
                .map(|r| format!("{:.0}% of judged incidents", r * 100.0))
                .unwrap_or_else(|| "— (no verdicts yet)".to_owned()),
        );
        out.push_str("\n## Waiting for a human\n");
        if self.pending.escalations.is_empty() && self.pending.approvals.is_empty() {
            out.push_str("Nothing.\n");
        }
        for id in &self.pending.escalations {
            out.push_str(&format!("- incident #{id}: escalated, not acknowledged\n"));
        }
        for (action, incident, what) in &self.pending.approvals {
            out.push_str(&format!(
                "- action {action} (incident #{incident}) waits for approval: {what}\n"
            ));
        }
        out.push_str("\n## By alert\n");
        if self.by_alertname.is_empty() {
            out.push_str("No incidents.\n");
        }
        for stats in &self.by_alertname {
            let verdicts: Vec<String> = stats
                .verdicts
                .iter()
                .map(|(v, n)| format!("{n} {v}"))
                .collect();
            out.push_str(&format!(
                "- {}: {} ({})\n",
                stats.alertname,
                stats.incidents,
                verdicts.join(", ")
            ));
        }
        out.push_str("\n## Recurring noise\n");
        if self.recurring_noise.is_empty() {
            out.push_str("None.\n");
        }
        for noise in &self.recurring_noise {
            out.push_str(&format!(
                "- {}: {} incidents, {} marked noise — a candidate for tuning\n",
                noise.alertname, noise.incidents, noise.noise
            ));
        }
        out.push_str("\n## Recent real incidents\n");
        if self.recent_real.is_empty() {
            out.push_str("None.\n");
        }
        for incident in &self.recent_real {
            out.push_str(&format!(
                "- #{} {} {} ({})\n",
                incident.id,
                incident.opened_at.format("%Y-%m-%d %H:%M UTC"),
                incident.alertname,
                incident.namespace.as_deref().unwrap_or("-")
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use expect_test::expect_file;

    fn t(hours: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap() + Duration::hours(hours)
    }

    fn incident(
        id: i64,
        alertname: &str,
        verdict: Option<Verdict>,
        opened: i64,
    ) -> BriefingIncident {
        BriefingIncident {
            id,
            alertname: alertname.into(),
            namespace: Some("shop".into()),
            severity: Severity::Warning,
            state: IncidentState::Resolved,
            verdict,
            opened_at: t(opened),
            acknowledged_at: None,
            resolved_at: None,
        }
    }

    #[test]
    fn counts_times_rates_noise_and_recent_real() {
        let mut incidents = vec![
            incident(1, "CPUThrottlingHigh", Some(Verdict::Noise), -100),
            incident(2, "CPUThrottlingHigh", Some(Verdict::Noise), -90),
            incident(3, "CPUThrottlingHigh", None, -80),
            incident(4, "KubePodOOMKilled", Some(Verdict::AutoFixed), -70),
            incident(5, "KubePodCrashLooping", Some(Verdict::Real), -60),
            incident(6, "KubePodCrashLooping", Some(Verdict::Real), -10),
            incident(7, "Old", Some(Verdict::Real), -24 * 8),
        ];
        incidents[3].acknowledged_at = Some(t(-70) + Duration::seconds(60));
        incidents[3].resolved_at = Some(t(-70) + Duration::minutes(10));
        incidents[4].acknowledged_at = Some(t(-60) + Duration::seconds(180));
        incidents[5].state = IncidentState::Triggered;
        let pending = Pending {
            escalations: vec![6],
            approvals: vec![(9, 6, "rollout_restart on Deployment/shop/api".into())],
        };
        let b = briefing(&incidents, pending, t(-24 * 7), t(0));
        assert_eq!(b.incidents, 6, "the 8-day-old one is outside");
        assert_eq!(b.open, 1);
        assert_eq!(b.by_alertname[0].alertname, "CPUThrottlingHigh");
        assert_eq!(b.by_alertname[0].verdicts["noise"], 2);
        assert_eq!(b.by_verdict["real"], 2);
        assert_eq!(b.mtta_seconds, Some(120));
        assert_eq!(b.mttr_seconds, Some(600));
        assert_eq!(b.auto_fix_rate, Some(0.2));
        assert_eq!(
            b.recurring_noise,
            vec![NoiseStats {
                alertname: "CPUThrottlingHigh".into(),
                incidents: 3,
                noise: 2
            }]
        );
        assert_eq!(
            b.recent_real.iter().map(|i| i.id).collect::<Vec<_>>(),
            vec![6, 5]
        );
        // The briefing as posted, read whole.
        expect_file!["test_data/briefing/a_week.md"].assert_eq(&b.to_markdown());
    }

    #[test]
    fn an_empty_week_says_so() {
        let b = briefing(&[], Pending::default(), t(-24 * 7), t(0));
        assert_eq!(b.mtta_seconds, None);
        assert_eq!(b.auto_fix_rate, None);
        expect_file!["test_data/briefing/an_empty_week.md"].assert_eq(&b.to_markdown());
    }
}

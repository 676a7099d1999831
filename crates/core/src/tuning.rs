//! Noise-tuning proposals: an alert that is mostly noise — marked noise, or resolving
//! by itself quickly and never acted on — gets a concrete proposal with its evidence: a rule
//! diff raising `for:` (when its incidents are short-lived) or excluding the namespaces the
//! noise comes from, else an Alertmanager silence. Pure: the caller passes the incidents and the
//! rule file's text.

use crate::incident::Verdict;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One past incident of the alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TuningIncident {
    pub alertname: String,
    pub namespace: Option<String>,
    pub verdict: Option<Verdict>,
    pub opened_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// Actions executed on it.
    pub acted_on: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub incidents: usize,
    pub noise: usize,
    pub judged: usize,
    pub acted_on: usize,
    pub resolved_by_itself_quickly: usize,
    pub median_duration_seconds: Option<i64>,
    pub p90_duration_seconds: Option<i64>,
    /// Namespace → incidents, for where the noise comes from.
    pub namespaces: BTreeMap<String, usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    /// A unified diff against the rule file.
    RuleDiff { file: String, diff: String },
    /// An Alertmanager silence with these equality matchers, for `hours`.
    Silence {
        matchers: BTreeMap<String, String>,
        hours: u32,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Proposal {
    pub alertname: String,
    pub summary: String,
    pub change: Change,
    pub evidence: Evidence,
}

/// A rule file's text, for diffs.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleFile {
    pub path: String,
    pub text: String,
}

/// Incidents an alert needs in the window before it is judged.
pub const MIN_INCIDENTS: usize = 3;
/// An incident shorter than this that resolved by itself and was not acted on is noise-like.
pub const QUICK: Duration = Duration::minutes(10);
const SILENCE_HOURS: u32 = 24 * 7;

fn percentile(sorted: &[i64], p: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(rank.min(sorted.len() - 1)).copied()
}

pub fn evidence(incidents: &[&TuningIncident]) -> Evidence {
    let mut durations: Vec<i64> = incidents
        .iter()
        .filter_map(|i| {
            i.resolved_at
                .map(|r| (r - i.opened_at).num_seconds().max(0))
        })
        .collect();
    durations.sort_unstable();
    let mut namespaces = BTreeMap::new();
    for incident in incidents {
        if let Some(ns) = &incident.namespace {
            *namespaces.entry(ns.clone()).or_insert(0) += 1;
        }
    }
    Evidence {
        incidents: incidents.len(),
        noise: incidents
            .iter()
            .filter(|i| i.verdict == Some(Verdict::Noise))
            .count(),
        judged: incidents.iter().filter(|i| i.verdict.is_some()).count(),
        acted_on: incidents.iter().filter(|i| i.acted_on).count(),
        resolved_by_itself_quickly: incidents
            .iter()
            .filter(|i| !i.acted_on && i.resolved_at.is_some_and(|r| r - i.opened_at < QUICK))
            .count(),
        median_duration_seconds: percentile(&durations, 0.5),
        p90_duration_seconds: percentile(&durations, 0.9),
        namespaces,
    }
}

/// Whether the evidence says "mostly noise".
fn mostly_noise(e: &Evidence) -> bool {
    if e.incidents < MIN_INCIDENTS || e.acted_on * 2 > e.incidents {
        return false;
    }
    let judged_noise = e.judged > 0 && e.noise * 2 >= e.judged && e.noise >= 2;
    let self_resolving = e.resolved_by_itself_quickly * 10 >= e.incidents * 8;
    judged_noise || self_resolving
}

/// `5m`, `1h30m` → seconds.
fn parse_duration(text: &str) -> Option<i64> {
    let mut total = 0i64;
    let mut number = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: i64 = number.parse().ok()?;
        number.clear();
        total += n * match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86400,
            _ => return None,
        };
    }
    number.is_empty().then_some(total)
}

fn format_duration(seconds: i64) -> String {
    if seconds % 3600 == 0 && seconds >= 3600 {
        format!("{}h", seconds / 3600)
    } else {
        format!("{}m", (seconds + 59) / 60)
    }
}

/// The rule's lines: (index of `- alert: NAME`, index past its block).
fn rule_block(lines: &[&str], alertname: &str) -> Option<(usize, usize)> {
    let start = lines.iter().position(|l| {
        let t = l.trim_start().trim_start_matches("- ").trim();
        t == format!("alert: {alertname}") || t == format!("alert: \"{alertname}\"")
    })?;
    let indent = lines[start].len() - lines[start].trim_start().len();
    let end = lines
        .iter()
        .enumerate()
        .skip(start + 1)
        .find(|(_, l)| {
            let i = l.len() - l.trim_start().len();
            !l.trim().is_empty() && i <= indent
        })
        .map_or(lines.len(), |(n, _)| n);
    Some((start, end))
}

fn diff(file: &RuleFile, line: usize, old: &str, new: &str) -> String {
    format!(
        "--- {path}\n+++ {path} (proposed)\n@@ -{n},1 +{n},1 @@\n-{old}\n+{new}\n",
        path = file.path,
        n = line + 1
    )
}

/// The proposal for one alert's incidents, if they are mostly noise.
pub fn propose(
    alertname: &str,
    incidents: &[&TuningIncident],
    rules: &[RuleFile],
) -> Option<Proposal> {
    let e = evidence(incidents);
    if !mostly_noise(&e) {
        return None;
    }
    let rule = rules.iter().find_map(|file| {
        let lines: Vec<&str> = file.text.lines().collect();
        rule_block(&lines, alertname).map(|(start, end)| (file, lines[start..end].to_vec(), start))
    });
    // Where the noise comes from: the fewest namespaces (at most two) holding 80% of it.
    let noise_only = incidents.iter().any(|i| i.verdict == Some(Verdict::Noise));
    let mut noise_by_ns: BTreeMap<&str, usize> = BTreeMap::new();
    for incident in incidents {
        if let Some(ns) = &incident.namespace
            && (!noise_only || incident.verdict == Some(Verdict::Noise))
        {
            *noise_by_ns.entry(ns).or_insert(0) += 1;
        }
    }
    let noise_total: usize = noise_by_ns.values().sum();
    let mut ranked: Vec<(&str, usize)> = noise_by_ns.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let mut concentrated = Vec::new();
    let mut covered = 0;
    for (ns, n) in ranked {
        if covered * 10 >= noise_total * 8 {
            break;
        }
        concentrated.push(ns.to_owned());
        covered += n;
    }
    if concentrated.len() > 2 || noise_total == 0 {
        concentrated.clear();
    }
    // Excluding them leaves the rule alive only if other namespaces fire it too.
    let noisy_namespaces: Vec<String> = if concentrated.len() < e.namespaces.len() {
        concentrated.clone()
    } else {
        Vec::new()
    };
    let quick = e.resolved_by_itself_quickly * 10 >= e.incidents * 8;
    if let Some((file, block, start)) = rule {
        if quick
            && let Some((n, line)) = block
                .iter()
                .enumerate()
                .find(|(_, l)| l.trim_start().starts_with("for:"))
        {
            let current = parse_duration(line.trim_start().trim_start_matches("for:")).unwrap_or(0);
            let p90 = e.p90_duration_seconds.unwrap_or(0);
            let proposed = (current * 2).max(p90 + 60).max(300);
            let indent = &line[..line.len() - line.trim_start().len()];
            let new = format!("{indent}for: {}", format_duration(proposed));
            return Some(Proposal {
                alertname: alertname.to_owned(),
                summary: format!(
                    "{alertname} fired {} times; {} resolved by themselves within {} (p90 {}s) and none needed action: wait {} before firing.",
                    e.incidents,
                    e.resolved_by_itself_quickly,
                    format_duration(QUICK.num_seconds()),
                    p90,
                    format_duration(proposed)
                ),
                change: Change::RuleDiff {
                    file: file.path.clone(),
                    diff: diff(file, start + n, line, &new),
                },
                evidence: e,
            });
        }
        if !noisy_namespaces.is_empty()
            && let Some((n, line)) = block
                .iter()
                .enumerate()
                .find(|(_, l)| l.trim_start().starts_with("expr:"))
            && let Some(brace) = line.find('{')
        {
            let pattern = noisy_namespaces.join("|");
            let new = format!(
                "{}namespace!~\"{pattern}\",{}",
                &line[..=brace],
                &line[brace + 1..]
            );
            return Some(Proposal {
                alertname: alertname.to_owned(),
                summary: format!(
                    "{alertname}: {} of {} incidents were noise, mostly from {}: exclude those namespaces in the rule.",
                    e.noise,
                    e.incidents,
                    noisy_namespaces.join(", ")
                ),
                change: Change::RuleDiff {
                    file: file.path.clone(),
                    diff: diff(file, start + n, line, &new),
                },
                evidence: e,
            });
        }
    }
    let mut matchers = BTreeMap::from([("alertname".to_owned(), alertname.to_owned())]);
    if let [namespace] = concentrated.as_slice() {
        matchers.insert("namespace".to_owned(), namespace.clone());
    }
    Some(Proposal {
        alertname: alertname.to_owned(),
        summary: format!(
            "{alertname}: {} of {} incidents were noise and {} needed action: silence it for a week while the rule is fixed.",
            e.noise, e.incidents, e.acted_on
        ),
        change: Change::Silence {
            matchers,
            hours: SILENCE_HOURS,
        },
        evidence: e,
    })
}

/// Proposals for every alert in `incidents`, most incidents first.
pub fn proposals(incidents: &[TuningIncident], rules: &[RuleFile]) -> Vec<Proposal> {
    let mut by_alert: BTreeMap<&str, Vec<&TuningIncident>> = BTreeMap::new();
    for incident in incidents {
        by_alert
            .entry(&incident.alertname)
            .or_default()
            .push(incident);
    }
    let mut out: Vec<Proposal> = by_alert
        .iter()
        .filter_map(|(alertname, list)| propose(alertname, list, rules))
        .collect();
    out.sort_by(|a, b| {
        b.evidence
            .incidents
            .cmp(&a.evidence.incidents)
            .then_with(|| a.alertname.cmp(&b.alertname))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use expect_test::expect_file;

    const RULES: &str = "groups:\n  - name: g\n    rules:\n      - alert: CPUThrottlingHigh\n        expr: sum(rate(container_cpu_cfs_throttled_periods_total{container!=\"\"}[5m])) > 0.25\n        for: 5m\n        labels:\n          severity: info\n      - alert: Other\n        expr: up == 0\n";

    fn rules() -> Vec<RuleFile> {
        vec![RuleFile {
            path: "rules/k.yml".into(),
            text: RULES.into(),
        }]
    }

    fn t(minutes: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap() + Duration::minutes(minutes)
    }

    fn incident(
        alertname: &str,
        ns: &str,
        verdict: Option<Verdict>,
        lasted_min: Option<i64>,
        acted: bool,
    ) -> TuningIncident {
        TuningIncident {
            alertname: alertname.into(),
            namespace: Some(ns.into()),
            verdict,
            opened_at: t(0),
            resolved_at: lasted_min.map(t),
            acted_on: acted,
        }
    }

    #[test]
    fn short_lived_unacted_incidents_raise_for() {
        let list: Vec<TuningIncident> = (0..5)
            .map(|i| {
                incident(
                    "CPUThrottlingHigh",
                    &format!("ns{i}"),
                    None,
                    Some(3 + i),
                    false,
                )
            })
            .collect();
        let proposals = proposals(&list, &rules());
        assert_eq!(proposals.len(), 1);
        let p = &proposals[0];
        assert_eq!(p.evidence.resolved_by_itself_quickly, 5);
        assert_eq!(p.evidence.p90_duration_seconds, Some(420));
        let Change::RuleDiff { file, diff } = &p.change else {
            panic!("{p:?}")
        };
        assert_eq!(file, "rules/k.yml");
        assert_eq!(
            diff,
            "--- rules/k.yml\n+++ rules/k.yml (proposed)\n@@ -6,1 +6,1 @@\n-        for: 5m\n+        for: 10m\n"
        );
    }

    #[test]
    fn noise_from_few_namespaces_excludes_them_in_the_expr() {
        let mut list: Vec<TuningIncident> = (0..4)
            .map(|_| {
                incident(
                    "CPUThrottlingHigh",
                    "tenant-test-1",
                    Some(Verdict::Noise),
                    Some(60),
                    false,
                )
            })
            .collect();
        list.push(incident("CPUThrottlingHigh", "shop", None, Some(60), false));
        list.push(incident("CPUThrottlingHigh", "pay", None, None, false));
        let p = &proposals(&list, &rules())[0];
        let Change::RuleDiff { diff, .. } = &p.change else {
            panic!("{p:?}")
        };
        // The proposal as a reviewer sees it: its summary, then the diff to the rule file.
        expect_file!["test_data/tuning/exclude_noisy_namespace.md"]
            .assert_eq(&format!("{}\n\n```diff\n{diff}```\n", p.summary));
    }

    #[test]
    fn without_a_rule_it_is_a_silence_and_real_alerts_get_nothing() {
        let noise: Vec<TuningIncident> = (0..3)
            .map(|_| {
                incident(
                    "VendorAlert",
                    "shop",
                    Some(Verdict::Noise),
                    Some(120),
                    false,
                )
            })
            .collect();
        let p = &proposals(&noise, &rules())[0];
        assert_eq!(
            p.change,
            Change::Silence {
                matchers: BTreeMap::from([
                    ("alertname".into(), "VendorAlert".into()),
                    ("namespace".into(), "shop".into())
                ]),
                hours: 168
            }
        );
        let real: Vec<TuningIncident> = (0..5)
            .map(|_| incident("Other", "shop", Some(Verdict::Real), Some(120), true))
            .collect();
        assert!(proposals(&real, &rules()).is_empty());
        let few: Vec<TuningIncident> = (0..2)
            .map(|_| incident("Other", "shop", Some(Verdict::Noise), Some(1), false))
            .collect();
        assert!(
            proposals(&few, &rules()).is_empty(),
            "two incidents are not a pattern"
        );
    }

    #[test]
    fn durations_parse_and_format() {
        assert_eq!(parse_duration("5m"), Some(300));
        assert_eq!(parse_duration("1h30m"), Some(5400));
        assert_eq!(parse_duration("0m"), Some(0));
        assert_eq!(parse_duration("5x"), None);
        assert_eq!(format_duration(600), "10m");
        assert_eq!(format_duration(7200), "2h");
    }
}

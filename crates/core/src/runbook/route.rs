//! Routing an alert to a runbook: the `runbook_id` label, then the alertname map, then a
//! `reason` label, then the live pod/node state, else RB_UNKNOWN (an LLM investigation).
//! Each decision carries its basis and a sentence saying why, for the incident's record.

use super::UNKNOWN_RUNBOOK;
use super::library::Library;
use crate::evidence::{Finding, Severity};
use crate::model::Labels;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteBasis {
    RunbookIdLabel,
    Alertname,
    ReasonLabel,
    /// Written by the router that read pod and node facts before the analyzers; kept so older
    /// timelines still read.
    LiveState,
    /// The analyzers' findings: what the cluster shows, over what the alert is called.
    Evidence,
    Fallback,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    pub runbook: String,
    pub basis: RouteBasis,
    /// Why, in a sentence.
    pub reason: String,
    /// What was tried before this and did not match.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<RouteNote>,
}

pub type RouteNote = String;

/// Routing from the alert's labels alone. `Err` carries what was tried, for the live step and
/// the record.
pub fn route_static(library: &Library, labels: &Labels) -> Result<Route, Vec<RouteNote>> {
    let mut notes = Vec::new();
    if let Some(value) = labels.get("runbook_id").filter(|value| !value.is_empty()) {
        match library.by_runbook_id(value) {
            Some(loaded) => {
                return Ok(Route {
                    runbook: loaded.runbook.id.clone(),
                    basis: RouteBasis::RunbookIdLabel,
                    reason: format!("label runbook_id={value}"),
                    notes,
                });
            }
            None => notes.push(format!("label runbook_id={value} names no runbook")),
        }
    }
    let alertname = labels.get("alertname").map(String::as_str).unwrap_or("");
    match library.by_alertname(alertname) {
        Some(loaded) => {
            return Ok(Route {
                runbook: loaded.runbook.id.clone(),
                basis: RouteBasis::Alertname,
                reason: format!("alertname {alertname} is mapped to {}", loaded.runbook.id),
                notes,
            });
        }
        None => notes.push(format!("alertname {alertname:?} is in no runbook's map")),
    }
    if let Some(reason) = labels.get("reason").filter(|value| !value.is_empty()) {
        match library.by_reason(reason) {
            Some(loaded) => {
                return Ok(Route {
                    runbook: loaded.runbook.id.clone(),
                    basis: RouteBasis::ReasonLabel,
                    reason: format!("label reason={reason}"),
                    notes,
                });
            }
            None => notes.push(format!("label reason={reason} is in no runbook's reasons")),
        }
    }
    Err(notes)
}

/// Routing by the analyzers' findings: the first finding (most telling first) whose reason a
/// runbook handles. Recoveries and informational findings never route.
pub fn route_evidence(
    library: &Library,
    findings: &[Finding],
    mut notes: Vec<RouteNote>,
) -> Result<Route, Vec<RouteNote>> {
    for finding in findings.iter().filter(|f| f.severity >= Severity::Warning) {
        let Some(reason) = &finding.reason else {
            continue;
        };
        if let Some(loaded) = library.by_reason(reason) {
            return Ok(Route {
                runbook: loaded.runbook.id.clone(),
                basis: RouteBasis::Evidence,
                reason: format!("{} ({reason})", finding.summary),
                notes,
            });
        }
        notes.push(format!(
            "the evidence shows {reason}, which no runbook handles"
        ));
    }
    Err(notes)
}

/// Routing with the evidence in hand: a `runbook_id` label wins; an alertname mapping stands
/// unless the most telling finding points at another runbook (a "CrashLooping" alert whose
/// container was OOM-killed); then the findings; then RB_UNKNOWN.
pub fn route_with_evidence(library: &Library, labels: &Labels, findings: &[Finding]) -> Route {
    let notes = match route_static(library, labels) {
        Ok(route) if route.basis == RouteBasis::RunbookIdLabel => return route,
        Ok(route) => {
            let primary = findings
                .iter()
                .find(|f| f.severity == Severity::Critical && f.reason.is_some());
            let contradicted = primary.and_then(|finding| {
                let reason = finding.reason.as_deref()?;
                let loaded = library.by_reason(reason)?;
                (loaded.runbook.id != route.runbook).then_some((finding, loaded))
            });
            match contradicted {
                Some((finding, loaded)) => {
                    let mut notes = route.notes;
                    notes.push(format!("{}, but the evidence contradicts it", route.reason));
                    return Route {
                        runbook: loaded.runbook.id.clone(),
                        basis: RouteBasis::Evidence,
                        reason: format!(
                            "{} ({})",
                            finding.summary,
                            finding.reason.as_deref().unwrap_or_default()
                        ),
                        notes,
                    };
                }
                None => return route,
            }
        }
        Err(notes) => notes,
    };
    routed_or_unknown(route_evidence(library, findings, notes))
}

/// The fallback when nothing matched.
pub fn routed_or_unknown(found: Result<Route, Vec<RouteNote>>) -> Route {
    found.unwrap_or_else(|notes| Route {
        runbook: UNKNOWN_RUNBOOK.to_owned(),
        basis: RouteBasis::Fallback,
        reason: "no runbook matched; investigate".to_owned(),
        notes,
    })
}

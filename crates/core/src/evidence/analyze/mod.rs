//! The analyzers: deterministic checks over a [`Snapshot`], run on the objects an alert's
//! [`Scope`] points at (its pod, else its workload's pods, else its namespace), their owners,
//! nodes, claims, services and autoscalers. The result is an [`Assessment`]: the findings, most
//! telling first, the class of cause they point to, whether the subject is healthy now, and
//! what could not be seen.

mod logs;
mod network;
mod nodes;
mod pods;
mod scheduling;
mod workloads;

pub use logs::{LogSignal, classify as classify_log_line};
pub use pods::IMAGE_PULL_REASONS;

use super::finding::{Category, Evidence, Finding, Severity};
use super::scope::Scope;
use super::snapshot::{ObjectRef, Pod, Snapshot, Workload};
use serde::{Deserialize, Serialize};

/// The subject is fine now: it recovered, or nothing was wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Healthy {
    pub summary: String,
    pub evidence: Vec<Evidence>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assessment {
    pub scope: Scope,
    /// Problems found, the most telling first (a cause before its symptoms).
    pub findings: Vec<Finding>,
    pub healthy: Option<Healthy>,
    pub category: Category,
    /// The conclusion in one sentence.
    pub conclusion: String,
    /// What could not be seen or read.
    pub unseen: Vec<String>,
}

impl Assessment {
    pub fn primary(&self) -> Option<&Finding> {
        self.findings.first()
    }
}

/// Findings about a workload's state that another finding's cause explains.
const SYMPTOMS: &[&str] = &[
    "replicas_mismatch",
    "rollout_stuck",
    "old_replicaset_serving",
    "job_failed",
    "rolled_back",
];

/// How telling a finding is: the cause of trouble ranks before what it leads to (a
/// replica count, a stuck rollout).
fn rank(finding: &Finding) -> (std::cmp::Reverse<Severity>, bool, u8) {
    let symptom = match finding.analyzer.as_str() {
        "replicas_mismatch" | "old_replicaset_serving" | "rolled_back" => 3,
        "rollout_stuck" | "job_failed" | "service_no_endpoints" => 2,
        "quota_full" | "dependency_refused" => 1,
        _ => 0,
    };
    (
        std::cmp::Reverse(finding.severity),
        finding.category == Category::Unknown,
        symptom,
    )
}

/// True when `pod` belongs to `workload`: owned by it, by one of its ReplicaSets, or named after
/// it the way controllers name their pods.
fn belongs_to(snapshot: &Snapshot, pod: &Pod, workload: &ObjectRef) -> bool {
    if workload
        .namespace
        .as_deref()
        .is_some_and(|ns| ns != pod.namespace)
    {
        return false;
    }
    if let Some(owner) = &pod.owner {
        if owner.name == workload.name {
            return true;
        }
        if owner.kind == "ReplicaSet" || owner.kind == "Job" {
            let parent = snapshot
                .workloads
                .iter()
                .find(|w| w.name == owner.name && w.namespace == pod.namespace)
                .and_then(|rs| rs.owner.as_ref())
                .or_else(|| {
                    snapshot
                        .jobs
                        .iter()
                        .find(|j| j.name == owner.name && j.namespace == pod.namespace)
                        .and_then(|j| j.owner.as_ref())
                });
            if let Some(parent) = parent {
                return parent.name == workload.name;
            }
            return owner.name.starts_with(&format!("{}-", workload.name));
        }
        return false;
    }
    pod.name.starts_with(&format!("{}-", workload.name))
}

/// The pods the alert is about, and what was not found.
fn subject_pods<'a>(
    snapshot: &'a Snapshot,
    scope: &Scope,
    unseen: &mut Vec<String>,
) -> Vec<&'a Pod> {
    if let Some(name) = &scope.pod {
        if let Some(pod) = snapshot.pod(scope.namespace.as_deref(), name) {
            return vec![pod];
        }
        unseen.push(format!(
            "pod {name} is not in what was read (deleted or replaced since the alert, or not recorded)"
        ));
    }
    if let Some(workload) = &scope.workload {
        let pods: Vec<&Pod> = snapshot
            .pods
            .iter()
            .filter(|p| belongs_to(snapshot, p, workload))
            .collect();
        if !pods.is_empty() {
            return pods;
        }
    }
    if scope.pod.is_some() || scope.workload.is_some() || scope.node.is_some() {
        if scope.workload.is_some() {
            unseen.push("no pod of the workload was read".to_owned());
        }
        if scope.node.is_some() && scope.pod.is_none() && scope.workload.is_none() {
            return snapshot
                .pods
                .iter()
                .filter(|p| p.node.as_deref() == scope.node.as_deref())
                .collect();
        }
        return Vec::new();
    }
    snapshot
        .pods
        .iter()
        .filter(|p| {
            scope
                .namespace
                .as_deref()
                .is_none_or(|ns| ns == p.namespace)
        })
        .collect()
}

/// The workloads the alert is about: the named one and the owners of its pods.
fn subject_workloads<'a>(
    snapshot: &'a Snapshot,
    scope: &Scope,
    pods: &[&Pod],
) -> Vec<&'a Workload> {
    snapshot
        .workloads
        .iter()
        .filter(|w| {
            let named = scope.workload.as_ref().is_some_and(|s| {
                s.name == w.name
                    && scope
                        .namespace
                        .as_deref()
                        .is_none_or(|ns| ns == w.namespace)
            });
            let owns = pods
                .iter()
                .any(|p| p.namespace == w.namespace && belongs_to(snapshot, p, &w.object()));
            let unscoped = scope.is_empty();
            (named || owns || unscoped) && w.kind != "ReplicaSet"
        })
        .collect()
}

/// Keeps `findings` about objects in scope: a pod's own, its workload's, its ReplicaSets'.
fn in_scope(finding: &Finding, scope: &Scope, pods: &[&Pod], workloads: &[&Workload]) -> bool {
    if scope.is_empty() {
        return true;
    }
    finding
        .objects
        .iter()
        .any(|object| match object.kind.as_str() {
            "Pod" => pods.iter().any(|p| p.name == object.name),
            "ReplicaSet" | "Deployment" | "StatefulSet" | "DaemonSet" | "Job" | "CronJob" => {
                workloads.iter().any(|w| w.name == object.name)
                    || scope.workload.as_ref().is_some_and(|w| {
                        object.name == w.name || object.name.starts_with(&format!("{}-", w.name))
                    })
                    || pods
                        .iter()
                        .any(|p| p.owner.as_ref().is_some_and(|o| o.name == object.name))
            }
            "Node" => {
                scope.node.as_deref() == Some(object.name.as_str())
                    || pods
                        .iter()
                        .any(|p| p.node.as_deref() == Some(object.name.as_str()))
            }
            "PersistentVolumeClaim" => {
                scope.pvc.as_deref() == Some(object.name.as_str())
                    || pods.iter().any(|p| p.claims.contains(&object.name))
            }
            "HorizontalPodAutoscaler" => {
                scope.hpa.as_deref() == Some(object.name.as_str())
                    || scope.workload.is_some()
                    || !workloads.is_empty()
            }
            _ => scope
                .namespace
                .as_deref()
                .is_none_or(|ns| object.namespace.as_deref() == Some(ns)),
        })
}

/// Runs every analyzer over what `scope` points at in `snapshot`.
pub fn assess(snapshot: &Snapshot, scope: &Scope) -> Assessment {
    let mut unseen = snapshot.gaps.clone();
    let pods = subject_pods(snapshot, scope, &mut unseen);
    let workloads = subject_workloads(snapshot, scope, &pods);
    let mut found = Vec::new();
    for pod in &pods {
        pods::analyze(snapshot, pod, &mut found);
        scheduling::unschedulable(snapshot, pod, &mut found);
    }
    scheduling::refused_pods(snapshot, &mut found);
    for workload in &workloads {
        workloads::rollout(snapshot, workload, &mut found);
    }
    workloads::jobs(snapshot, &mut found);
    workloads::hpas(snapshot, &mut found);
    for node in &snapshot.nodes {
        nodes::analyze(node, &mut found);
    }
    network::services(snapshot, &mut found);
    network::pvcs(snapshot, &mut found);
    network::dependency_logs(snapshot, &pods, &mut found);
    let mut findings: Vec<Finding> = found
        .into_iter()
        .filter(|f| in_scope(f, scope, &pods, &workloads))
        .collect();
    // A pod-level cause explains a workload's missing replicas or stuck rollout: those take
    // the cause's category.
    if let Some(cause) = findings
        .iter()
        .filter(|f| f.category != Category::Unknown && f.severity >= Severity::Warning)
        .filter(|f| !SYMPTOMS.contains(&f.analyzer.as_str()))
        .map(|f| f.category)
        .next()
    {
        for finding in &mut findings {
            if finding.category == Category::Unknown
                && matches!(
                    finding.analyzer.as_str(),
                    "replicas_mismatch" | "rollout_stuck" | "old_replicaset_serving" | "job_failed"
                )
            {
                finding.category = cause;
            }
        }
    }
    // …and cites the cause's facts, so the workload's finding reads whole on its own.
    let cause_evidence: Vec<Evidence> = findings
        .iter()
        .filter(|f| !SYMPTOMS.contains(&f.analyzer.as_str()) && f.severity >= Severity::Warning)
        .flat_map(|f| f.evidence.iter().take(3).cloned())
        .take(3)
        .collect();
    for finding in &mut findings {
        if matches!(finding.analyzer.as_str(), "job_failed" | "rollout_stuck") {
            for evidence in &cause_evidence {
                if !finding.evidence.contains(evidence) {
                    finding.evidence.push(evidence.clone());
                }
            }
        }
    }
    findings.sort_by_key(rank);
    let healthy = if findings.iter().any(|f| f.severity >= Severity::Warning) {
        None
    } else {
        healthy_now(snapshot, scope, &pods, &workloads)
    };
    if snapshot.is_empty() {
        unseen.push("no cluster object could be read for this alert".to_owned());
    }
    let problem = findings
        .first()
        .filter(|f| f.severity >= Severity::Warning || healthy.is_none());
    let (category, conclusion) = match (problem, &healthy) {
        (Some(first), _) => {
            let category = if first.category == Category::Unknown {
                findings
                    .iter()
                    .map(|f| f.category)
                    .find(|c| *c != Category::Unknown)
                    .unwrap_or(Category::Unknown)
            } else {
                first.category
            };
            (category, first.summary.clone())
        }
        (None, Some(healthy)) => (Category::Healthy, healthy.summary.clone()),
        (None, None) => (
            Category::Unknown,
            if snapshot.is_empty() {
                "nothing about the alert's subject could be read, so no cause is named".to_owned()
            } else {
                "what was read shows no problem and no recovery for the alert's subject".to_owned()
            },
        ),
    };
    Assessment {
        scope: scope.clone(),
        findings,
        healthy,
        category,
        conclusion,
        unseen,
    }
}

/// The subject, seen and healthy: its pods Running and Ready with nothing waiting, its
/// workload's replicas all available. Says when restarts were last seen, so a recovery reads
/// as one.
fn healthy_now(
    snapshot: &Snapshot,
    scope: &Scope,
    pods: &[&Pod],
    workloads: &[&Workload],
) -> Option<Healthy> {
    if pods.is_empty() && workloads.is_empty() {
        return None;
    }
    let mut evidence = Vec::new();
    for pod in pods {
        let waiting = pod.all_containers().any(|c| c.state.waiting.is_some());
        if !pod.phase_is("Running") && !pod.phase_is("Succeeded")
            || !pod.ready() && !pod.phase_is("Succeeded")
            || waiting
        {
            return None;
        }
        // A container that ended moments ago is crashing between runs, not recovered.
        if pod.all_containers().any(|c| {
            snapshot.is_recent(c.last_state.as_ref().and_then(|t| t.finished_at.as_deref()))
        }) {
            return None;
        }
        let restarts: i64 = pod.containers.iter().map(|c| c.restart_count).sum();
        let last = pod
            .containers
            .iter()
            .filter_map(|c| c.last_state.as_ref())
            .filter_map(|t| t.finished_at.clone())
            .max();
        evidence.push(Evidence::new(
            &pod.object(),
            "status",
            match (restarts, last) {
                (0, _) => "Running and Ready, 0 restarts".to_owned(),
                (n, Some(at)) => {
                    format!("Running and Ready; {n} restarts, the last instance ended {at}")
                }
                (n, None) => format!("Running and Ready; {n} restarts before"),
            },
        ));
    }
    for workload in workloads {
        match (workload.desired, workload.available.or(workload.ready)) {
            (Some(desired), Some(available)) if available >= desired => {
                evidence.push(Evidence::new(
                    &workload.object(),
                    "status.availableReplicas",
                    format!("{available} of {desired} available"),
                ))
            }
            (Some(_), Some(_)) => return None,
            _ => {}
        }
    }
    let restarted = pods
        .iter()
        .any(|p| p.containers.iter().any(|c| c.restart_count > 0));
    let subject = scope
        .pod
        .as_ref()
        .map(|p| format!("pod {p}"))
        .or_else(|| {
            scope
                .workload
                .as_ref()
                .map(|w| format!("{} {}", w.kind, w.name))
        })
        .unwrap_or_else(|| format!("the {} pod(s) in scope", pods.len()));
    let nodes_ok = snapshot
        .nodes
        .iter()
        .all(|n| n.ready().is_none_or(|r| r.is("True")));
    let summary = if restarted {
        format!(
            "{subject} has recovered: it is Running and Ready now, with no failure showing (earlier restarts have stopped); normal, no failure to fix"
        )
    } else {
        format!(
            "{subject} is healthy: Running and Ready, no restarts, no warning events{}; normal operation, no failure found",
            if nodes_ok && !snapshot.nodes.is_empty() {
                ", nodes Ready"
            } else {
                ""
            }
        )
    };
    Some(Healthy { summary, evidence })
}

#[cfg(test)]
mod tests;

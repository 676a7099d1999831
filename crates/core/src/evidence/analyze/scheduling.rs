//! Pods the scheduler cannot place: what its FailedScheduling message says (capacity, taints,
//! affinity, volumes), and ReplicaSets whose pods are refused at admission (quota, policy).

use crate::evidence::finding::{Category, Evidence, Finding, Severity};
use crate::evidence::snapshot::{Pod, Snapshot, condition};

fn lower(text: &str) -> String {
    text.to_ascii_lowercase()
}

/// The scheduler's reason, read from its message.
fn scheduling_cause(message: &str) -> (Category, String) {
    let m = lower(message);
    let mut insufficient: Vec<String> = Vec::new();
    for resource in [
        "cpu",
        "memory",
        "ephemeral-storage",
        "nvidia.com/gpu",
        "pods",
    ] {
        if m.contains(&format!("insufficient {resource}")) {
            insufficient.push(resource.to_owned());
        }
    }
    if m.contains("too many pods") {
        insufficient.push("pod slots".to_owned());
    }
    if !insufficient.is_empty() {
        return (
            Category::ResourceExhaustion,
            format!(
                "no node has enough free {} for its requests (Insufficient {})",
                insufficient.join(" or "),
                insufficient.join(", ")
            ),
        );
    }
    if m.contains("unbound immediate persistentvolumeclaims")
        || m.contains("persistentvolumeclaim") && m.contains("not found")
        || m.contains("volume node affinity conflict")
    {
        return (
            Category::ConfigurationError,
            "its PersistentVolumeClaim is not bound (or its volume is in another zone)".to_owned(),
        );
    }
    if m.contains("node.kubernetes.io/not-ready") || m.contains("node.kubernetes.io/unreachable") {
        return (
            Category::Infrastructure,
            "the nodes it could use are NotReady or unreachable".to_owned(),
        );
    }
    if m.contains("untolerated taint") || m.contains("had taint") || m.contains("taint") {
        return (
            Category::ConfigurationError,
            "the nodes carry taints it does not tolerate".to_owned(),
        );
    }
    if m.contains("affinity") || m.contains("selector") {
        return (
            Category::ConfigurationError,
            "no node matches its nodeSelector or affinity rules".to_owned(),
        );
    }
    if m.contains("unschedulable") {
        return (
            Category::Infrastructure,
            "the nodes are cordoned (unschedulable)".to_owned(),
        );
    }
    (
        Category::Unknown,
        "the scheduler cannot place it".to_owned(),
    )
}

pub(super) fn unschedulable(snapshot: &Snapshot, pod: &Pod, out: &mut Vec<Finding>) {
    let object = pod.object();
    let condition = condition(&pod.conditions, "PodScheduled").filter(|c| c.is("False"));
    let event = snapshot
        .events_of(&object)
        .filter(|e| e.reason == "FailedScheduling")
        .last();
    let message = event
        .map(|e| e.message.clone())
        .or_else(|| condition.and_then(|c| c.message.clone()));
    let Some(message) = message else {
        placed_nowhere(snapshot, pod, out);
        return;
    };
    // A pod that got placed after all has no scheduling problem now.
    if condition.is_none() && pod.node.is_some() && !pod.phase_is("Pending") {
        return;
    }
    let (category, cause) = scheduling_cause(&message);
    let mut finding = Finding::new(
        "scheduling",
        Severity::Critical,
        category,
        format!("pod {} cannot be scheduled: {cause}", pod.name),
    )
    .reason("Unschedulable")
    .remedy(match category {
        Category::ResourceExhaustion => {
            "add node capacity (or let the autoscaler), or lower the pod's requests"
        }
        Category::Infrastructure => "bring the nodes back (uncordon, repair)",
        _ => "fix the pod's tolerations, nodeSelector/affinity or volume claim",
    });
    if let Some(condition) = condition {
        finding = finding.evidence(Evidence::new(
            &object,
            "status.conditions[PodScheduled]",
            format!(
                "False {}: {}",
                condition.reason.as_deref().unwrap_or(""),
                condition.message.as_deref().unwrap_or("")
            ),
        ));
    }
    if let Some(event) = event {
        finding = finding.evidence(Evidence::new(
            &object,
            "event FailedScheduling",
            event.message.clone(),
        ));
    }
    for resource in ["cpu", "memory"] {
        for container in &pod.containers {
            if let Some(request) = container.requests.get(resource) {
                finding = finding.evidence(Evidence::new(
                    &object,
                    format!(
                        "spec.containers[{}].resources.requests.{resource}",
                        container.name
                    ),
                    request.clone(),
                ));
            }
        }
    }
    out.push(finding);
}

/// FailedCreate on a controller: the API server refused its pods (a quota, an admission
/// webhook, pod security).
pub(super) fn refused_pods(snapshot: &Snapshot, out: &mut Vec<Finding>) {
    let mut seen = std::collections::BTreeSet::new();
    for event in snapshot
        .events
        .iter()
        .filter(|e| e.reason == "FailedCreate")
    {
        if !seen.insert(event.object.clone()) {
            continue;
        }
        let m = lower(&event.message);
        let (category, cause, reason) = if m.contains("exceeded quota") {
            let quota = quota_name(&event.message);
            (
                Category::ResourceExhaustion,
                format!(
                    "the namespace's ResourceQuota{} is exhausted: {}",
                    quota.map(|q| format!(" {q}")).unwrap_or_default(),
                    quota_numbers(&event.message)
                        .unwrap_or_else(|| "no room for another pod".to_owned())
                ),
                "QuotaExceeded",
            )
        } else if m.contains("admission webhook") || m.contains("denied the request") {
            (
                Category::ConfigurationError,
                "an admission webhook denies its pods".to_owned(),
                "AdmissionDenied",
            )
        } else if m.contains("violates podsecurity") || m.contains("pod security") {
            (
                Category::ConfigurationError,
                "its pods violate the namespace's Pod Security level".to_owned(),
                "AdmissionDenied",
            )
        } else if m.contains("serviceaccount") && m.contains("not found") {
            (
                Category::ConfigurationError,
                "the ServiceAccount its pods use does not exist".to_owned(),
                "AdmissionDenied",
            )
        } else {
            (
                Category::ConfigurationError,
                "the API server refuses its pods".to_owned(),
                "FailedCreate",
            )
        };
        out.push(
            Finding::new(
                "failed_create",
                Severity::Critical,
                category,
                format!(
                    "{} {} cannot create pods: {cause}",
                    event.object.kind, event.object.name
                ),
            )
            .reason(reason)
            .evidence(Evidence::new(&event.object, "event FailedCreate", event.message.clone()))
            .remedy(if reason == "QuotaExceeded" {
                "raise the namespace's ResourceQuota, or free quota (scale down, lower requests/limits)"
            } else {
                "fix what the admission refusal names"
            }),
        );
    }
    for quota in &snapshot.quotas {
        for (resource, hard) in &quota.hard {
            let Some(used) = quota.used.get(resource) else {
                continue;
            };
            if crate::evidence::quantity::at_least(used, hard) {
                out.push(
                    Finding::new(
                        "quota_full",
                        Severity::Warning,
                        Category::ResourceExhaustion,
                        format!(
                            "ResourceQuota {} in namespace {} is full for {resource}: {used} used of {hard}",
                            quota.name, quota.namespace
                        ),
                    )
                    .reason("QuotaExceeded")
                    .evidence(Evidence::new(
                        &quota.object(),
                        format!("status.used[{resource}]"),
                        format!("{used} of {hard}"),
                    )),
                );
            }
        }
    }
}

fn quota_name(message: &str) -> Option<String> {
    let at = message.find("exceeded quota: ")? + "exceeded quota: ".len();
    message[at..]
        .split([',', ' '])
        .next()
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// `requested: limits.cpu=2, used: limits.cpu=8, limited: limits.cpu=10`.
fn quota_numbers(message: &str) -> Option<String> {
    let at = message.find("requested: ")?;
    let rest = &message[at..];
    let end = rest
        .find(" —")
        .or_else(|| rest.find(" -"))
        .unwrap_or(rest.len());
    Some(rest[..end].trim().to_owned())
}

/// A pending pod on no node whose scheduler message was not read: what its template asks for
/// is the best lead. A resource only some nodes have (a GPU: any name with a `/`) that no
/// node read advertises is named as the likely shortage.
fn placed_nowhere(snapshot: &Snapshot, pod: &Pod, out: &mut Vec<Finding>) {
    if !pod.phase_is("Pending") || pod.node.is_some() {
        return;
    }
    if pod
        .all_containers()
        .any(|c| c.state.waiting.is_some() || c.state.running.is_some())
    {
        return;
    }
    let Some(workload) = snapshot
        .workloads
        .iter()
        .filter(|w| !w.requests.is_empty())
        .find(|w| super::belongs_to(snapshot, pod, &w.object()))
    else {
        return;
    };
    let asked: Vec<String> = workload
        .requests
        .iter()
        .map(|(resource, value)| format!("{resource} {value}"))
        .collect();
    let scarce: Vec<&String> = workload
        .requests
        .keys()
        .filter(|resource| resource.contains('/'))
        .filter(|resource| {
            !snapshot.nodes.iter().any(|n| {
                n.allocatable.contains_key(*resource) || n.capacity.contains_key(*resource)
            })
        })
        .collect();
    let (category, cause) = if scarce.is_empty() {
        (
            Category::Unknown,
            "the scheduler's reason was not read; compare its requests with the nodes' free capacity, taints and its nodeSelector".to_owned(),
        )
    } else {
        (
            Category::ResourceExhaustion,
            format!(
                "likely insufficient resources: it requests {} that no node read advertises (such resources exist only on nodes whose device plugin offers them)",
                scarce
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    };
    out.push(
        Finding::new(
            "scheduling",
            // A named shortage is as sure as the scheduler's own word; a bare pending pod less.
            if category == Category::Unknown {
                Severity::Warning
            } else {
                Severity::Critical
            },
            category,
            format!(
                "pod {} is Pending on no node: {cause}; its template requests {}",
                pod.name,
                asked.join(", ")
            ),
        )
        .reason("Unschedulable")
        .evidence(Evidence::new(&pod.object(), "status.phase", "Pending, no node assigned"))
        .evidence(Evidence::new(
            &workload.object(),
            "spec.template.spec.containers[].resources.requests",
            asked.join(", "),
        ))
        .remedy("read the pod's FailedScheduling event; add nodes with the resource, or lower the requests"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheduler_messages() {
        let table: &[(&str, Category)] = &[
            (
                "0/3 nodes are available: 3 Insufficient memory.",
                Category::ResourceExhaustion,
            ),
            (
                "0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available",
                Category::ResourceExhaustion,
            ),
            (
                "0/1 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}.",
                Category::ConfigurationError,
            ),
            (
                "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.",
                Category::ConfigurationError,
            ),
            (
                "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims.",
                Category::ConfigurationError,
            ),
            (
                "0/1 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }.",
                Category::Infrastructure,
            ),
        ];
        for (message, category) in table {
            assert_eq!(scheduling_cause(message).0, *category, "{message}");
        }
    }

    #[test]
    fn quota_messages() {
        let message = "Error creating: pods \"x\" is forbidden: exceeded quota: default-quota, requested: limits.cpu=2, used: limits.cpu=8, limited: limits.cpu=10";
        assert_eq!(quota_name(message).as_deref(), Some("default-quota"));
        assert_eq!(
            quota_numbers(message).as_deref(),
            Some("requested: limits.cpu=2, used: limits.cpu=8, limited: limits.cpu=10")
        );
    }
}

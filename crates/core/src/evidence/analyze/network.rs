//! Services without ready endpoints, PersistentVolumeClaims that stay Pending, and what the
//! workload's logs say about the names and services it depends on (DNS, refused connections).

use super::logs::{self, LogSignal};
use crate::evidence::finding::{Category, Evidence, Finding, Severity};
use crate::evidence::snapshot::{ObjectRef, Pod, Snapshot};

pub(super) fn services(snapshot: &Snapshot, out: &mut Vec<Finding>) {
    for service in &snapshot.services {
        if service.selector.is_empty() || service.ready_endpoints != Some(0) {
            continue;
        }
        let matching: Vec<&Pod> = snapshot
            .pods
            .iter()
            .filter(|p| {
                p.namespace == service.namespace
                    && service
                        .selector
                        .iter()
                        .all(|(k, v)| p.labels.get(k) == Some(v))
            })
            .collect();
        let (category, cause) = if matching.is_empty() && !snapshot.pods.is_empty() {
            (
                Category::ConfigurationError,
                "its selector matches no pod".to_owned(),
            )
        } else {
            (
                Category::DependencyFailure,
                format!("none of its {} pods is ready", matching.len()),
            )
        };
        out.push(
            Finding::new(
                "service_no_endpoints",
                Severity::Critical,
                category,
                format!("Service {} has no ready endpoints: {cause}", service.name),
            )
            .reason("NoEndpoints")
            .evidence(Evidence::new(
                &service.object(),
                "endpoints",
                format!(
                    "0 ready, {} not ready; selector {}",
                    service.not_ready_endpoints.unwrap_or(0),
                    service
                        .selector
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(",")
                ),
            )),
        );
    }
}

pub(super) fn pvcs(snapshot: &Snapshot, out: &mut Vec<Finding>) {
    for pvc in &snapshot.pvcs {
        if !pvc
            .phase
            .as_deref()
            .is_some_and(|p| p.eq_ignore_ascii_case("Pending"))
        {
            continue;
        }
        let object = pvc.object();
        let event = snapshot
            .events_of(&object)
            .filter(|e| e.reason == "ProvisioningFailed" || e.reason == "FailedBinding")
            .last();
        let class = pvc.storage_class.as_deref().unwrap_or("(default)");
        let cause = match event {
            Some(e) if e.message.contains("not found") => {
                format!("its StorageClass {class} does not exist")
            }
            Some(e) if e.reason == "FailedBinding" => {
                "no PersistentVolume matches it and none can be provisioned".to_owned()
            }
            Some(_) => format!("StorageClass {class} fails to provision a volume"),
            None => format!("no volume has been bound (StorageClass {class})"),
        };
        let mut finding = Finding::new(
            "pvc_pending",
            Severity::Critical,
            Category::ConfigurationError,
            format!("PersistentVolumeClaim {} is Pending: {cause}", pvc.name),
        )
        .reason("PVCPending")
        .evidence(Evidence::new(&object, "status.phase", "Pending"))
        .remedy(
            "name an existing StorageClass (or create the PersistentVolume) and recreate the claim",
        );
        if let Some(event) = event {
            finding = finding.evidence(Evidence::event(&object, event));
        }
        out.push(finding);
    }
}

/// Dependency trouble in the logs of the subject's pods: one finding per kind, citing lines from
/// each pod that shows it.
pub(super) fn dependency_logs(snapshot: &Snapshot, subjects: &[&Pod], out: &mut Vec<Finding>) {
    let mut names: Vec<(ObjectRef, String, Option<String>)> = Vec::new();
    let mut dns_down: Vec<(ObjectRef, String)> = Vec::new();
    let mut refused: Vec<(ObjectRef, String)> = Vec::new();
    for entry in &snapshot.logs {
        let object = match subjects.iter().find(|p| p.name == entry.pod) {
            Some(pod) => pod.object(),
            None if subjects.is_empty() => {
                ObjectRef::new("Pod", entry.namespace.as_deref(), &entry.pod)
            }
            None => continue,
        };
        for signal in logs::signals(&entry.lines) {
            match signal {
                LogSignal::NameNotFound { host, line } => names.push((object.clone(), line, host)),
                LogSignal::DnsUnavailable(line) => dns_down.push((object.clone(), line)),
                LogSignal::ConnectionFailed(line) => refused.push((object.clone(), line)),
                _ => {}
            }
        }
    }
    if !names.is_empty() {
        let hosts: Vec<String> = {
            let mut hosts: Vec<String> = names.iter().filter_map(|(_, _, h)| h.clone()).collect();
            hosts.sort();
            hosts.dedup();
            hosts
        };
        let pods = distinct(names.iter().map(|(o, _, _)| o));
        let mut finding = Finding::new(
            "dns_name_not_found",
            Severity::Critical,
            Category::ConfigurationError,
            format!(
                "DNS resolution fails in {pods} pod(s): {} does not resolve (NXDOMAIN/ENOTFOUND), so requests that need it fail; the name is wrong or its Service/record is missing",
                if hosts.is_empty() { "a name it uses".to_owned() } else { hosts.join(", ") }
            ),
        )
        .reason("DNSFailure")
        .remedy("correct the hostname in the workload's configuration, or create the Service/DNS record it expects");
        for (object, line) in first_per_object(
            &names
                .iter()
                .map(|(o, l, _)| (o.clone(), l.clone()))
                .collect::<Vec<_>>(),
        ) {
            finding = finding.evidence(Evidence::new(&object, "logs", line));
        }
        out.push(finding);
    }
    if !dns_down.is_empty() {
        let mut finding = Finding::new(
            "dns_unavailable",
            Severity::Critical,
            Category::DependencyFailure,
            format!(
                "DNS lookups time out or fail in {} pod(s): the cluster resolver (CoreDNS) is not answering",
                distinct(dns_down.iter().map(|(o, _)| o))
            ),
        )
        .reason("DNSFailure");
        for (object, line) in first_per_object(&dns_down) {
            finding = finding.evidence(Evidence::new(&object, "logs", line));
        }
        out.push(finding);
    }
    if !refused.is_empty() {
        let mut finding = Finding::new(
            "dependency_refused",
            Severity::Warning,
            Category::DependencyFailure,
            format!(
                "{} pod(s) cannot connect to {} (connections refused or timing out)",
                distinct(refused.iter().map(|(o, _)| o)),
                {
                    let mut endpoints: Vec<String> = refused
                        .iter()
                        .filter_map(|(_, l)| logs::endpoint_in(l))
                        .collect();
                    endpoints.sort();
                    endpoints.dedup();
                    if endpoints.is_empty() {
                        "a dependency".to_owned()
                    } else {
                        endpoints.join(", ")
                    }
                }
            ),
        );
        for (object, line) in first_per_object(&refused) {
            finding = finding.evidence(Evidence::new(&object, "logs", line));
        }
        out.push(finding);
    }
}

fn distinct<'a>(objects: impl Iterator<Item = &'a ObjectRef>) -> usize {
    objects.collect::<std::collections::BTreeSet<_>>().len()
}

fn first_per_object(lines: &[(ObjectRef, String)]) -> Vec<(ObjectRef, String)> {
    let mut seen = std::collections::BTreeSet::new();
    lines
        .iter()
        .filter(|(object, _)| seen.insert(object.clone()))
        .take(3)
        .map(|(o, l)| (o.clone(), crate::analysis::clip(l.trim(), 300)))
        .collect()
}

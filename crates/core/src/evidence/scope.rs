//! What an alert is about, read from its labels and annotations in the spellings real senders
//! use: kube-state-metrics' `pod`/`namespace`, Prometheus' `exported_*` (the metric's own
//! labels when the scrape target's won), Datadog's `kube_*`, OpenTelemetry's `k8s.*.name`, and
//! `workload_type`/`workload_name` pairs.

use super::snapshot::ObjectRef;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    pub namespace: Option<String>,
    pub pod: Option<String>,
    pub container: Option<String>,
    /// A Deployment, StatefulSet, DaemonSet, ReplicaSet, Job or CronJob.
    pub workload: Option<ObjectRef>,
    pub node: Option<String>,
    pub pvc: Option<String>,
    pub hpa: Option<String>,
    /// Which label or annotation gave each part, for the record.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub read_from: Vec<String>,
}

/// Spellings, most specific first: `exported_*` before the plain label, because a plain `pod`
/// beside an `exported_pod` names the exporter, not the subject.
const NAMESPACE: &[&str] = &[
    "exported_namespace",
    "namespace",
    "kube_namespace",
    "k8s_namespace_name",
    "k8s.namespace.name",
    "namespace_name",
];
const POD: &[&str] = &[
    "exported_pod",
    "pod",
    "kube_pod",
    "pod_name",
    "k8s_pod_name",
    "k8s.pod.name",
];
const CONTAINER: &[&str] = &[
    "exported_container",
    "container",
    "kube_container",
    "kube_container_name",
    "container_name",
    "k8s_container_name",
    "k8s.container.name",
];
const NODE: &[&str] = &[
    "exported_node",
    "node",
    "kube_node",
    "nodename",
    "node_name",
    "k8s_node_name",
    "k8s.node.name",
    "host_name",
];
/// Workload labels and the kind each names.
const WORKLOADS: &[(&str, &str)] = &[
    ("deployment", "Deployment"),
    ("kube_deployment", "Deployment"),
    ("k8s_deployment_name", "Deployment"),
    ("k8s.deployment.name", "Deployment"),
    ("statefulset", "StatefulSet"),
    ("kube_stateful_set", "StatefulSet"),
    ("kube_statefulset", "StatefulSet"),
    ("k8s.statefulset.name", "StatefulSet"),
    ("daemonset", "DaemonSet"),
    ("kube_daemon_set", "DaemonSet"),
    ("kube_daemonset", "DaemonSet"),
    ("k8s.daemonset.name", "DaemonSet"),
    ("replicaset", "ReplicaSet"),
    ("kube_replica_set", "ReplicaSet"),
    ("job_name", "Job"),
    ("kube_job", "Job"),
    ("k8s.job.name", "Job"),
    ("cronjob", "CronJob"),
    ("kube_cronjob", "CronJob"),
    ("k8s.cronjob.name", "CronJob"),
];
const PVC: &[&str] = &["persistentvolumeclaim", "pvc", "kube_persistentvolumeclaim"];
const HPA: &[&str] = &["horizontalpodautoscaler", "hpa", "kube_hpa"];

/// Scrape jobs whose own pod is in `pod` on workload- and node-level series.
const EXPORTERS: &[&str] = &["kube-state-metrics", "node-exporter", "kubelet", "cadvisor"];

impl Scope {
    /// Reads the scope from labels, then annotations for what labels leave open.
    pub fn of(labels: &BTreeMap<String, String>, annotations: &BTreeMap<String, String>) -> Scope {
        let mut scope = Scope::default();
        for (map, origin) in [(labels, "label"), (annotations, "annotation")] {
            let first = |names: &[&str]| -> Option<(String, String)> {
                names.iter().find_map(|name| {
                    map.get(*name)
                        .map(|value| value.trim())
                        .filter(|value| !value.is_empty())
                        .map(|value| (format!("{origin} {name}={value}"), value.to_owned()))
                })
            };
            let fill = |slot: &mut Option<String>, names: &[&str], read_from: &mut Vec<String>| {
                if slot.is_none()
                    && let Some((from, value)) = first(names)
                {
                    *slot = Some(value);
                    read_from.push(from);
                }
            };
            let mut read_from = Vec::new();
            fill(&mut scope.namespace, NAMESPACE, &mut read_from);
            fill(&mut scope.pod, POD, &mut read_from);
            fill(&mut scope.container, CONTAINER, &mut read_from);
            fill(&mut scope.node, NODE, &mut read_from);
            fill(&mut scope.pvc, PVC, &mut read_from);
            fill(&mut scope.hpa, HPA, &mut read_from);
            if scope.workload.is_none() {
                let named = WORKLOADS.iter().find_map(|(name, kind)| {
                    map.get(*name)
                        .filter(|v| !v.trim().is_empty())
                        .map(|v| (*name, *kind, v.trim().to_owned()))
                });
                let paired = map
                    .get("workload_name")
                    .filter(|v| !v.trim().is_empty())
                    .map(|name| {
                        let kind = map
                            .get("workload_type")
                            .or_else(|| map.get("workload_kind"))
                            .map(|k| workload_kind(k))
                            .unwrap_or("Deployment");
                        ("workload_name", kind, name.trim().to_owned())
                    });
                if let Some((label, kind, name)) = named.or(paired) {
                    read_from.push(format!("{origin} {label}={name}"));
                    scope.workload = Some(ObjectRef::new(kind, None, &name));
                }
            }
            scope.read_from.extend(read_from);
        }
        scope.drop_exporter_pod(labels);
        scope.node_from_instance(labels);
        if let (Some(workload), Some(namespace)) = (&mut scope.workload, &scope.namespace) {
            workload.namespace = Some(namespace.clone());
        }
        scope
    }

    /// On workload- and node-level series, `pod` and `container` are the exporter's own (the
    /// kube-state-metrics pod): they say nothing about the subject.
    fn drop_exporter_pod(&mut self, labels: &BTreeMap<String, String>) {
        let Some(pod) = &self.pod else { return };
        let scraped_by = labels
            .get("job")
            .or_else(|| labels.get("service"))
            .map(String::as_str)
            .unwrap_or("");
        let exporter_pod = EXPORTERS
            .iter()
            .any(|exporter| pod.starts_with(exporter) && scraped_by.contains(exporter));
        let foreign_to_workload = self.workload.as_ref().is_some_and(|workload| {
            matches!(
                workload.kind.as_str(),
                "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job"
            ) && !pod.starts_with(&format!("{}-", workload.name))
        });
        if exporter_pod || foreign_to_workload {
            self.read_from.push(format!(
                "pod {pod} ignored: it is the exporter's, not the subject"
            ));
            // A node's series has no namespace of its own: one beside the exporter's pod (a
            // target label from service discovery) is the exporter's namespace too.
            let about_a_node = self.node.is_some()
                && self.workload.is_none()
                && self.pvc.is_none()
                && self.hpa.is_none();
            if exporter_pod
                && about_a_node
                && !labels.contains_key("exported_namespace")
                && let Some(namespace) = self.namespace.take()
            {
                self.read_from.push(format!(
                    "namespace {namespace} ignored: the exporter's, beside its pod on a node's series"
                ));
            }
            self.pod = None;
            if self
                .container
                .as_deref()
                .is_some_and(|container| EXPORTERS.iter().any(|e| container.starts_with(e)))
            {
                self.container = None;
            }
        }
    }

    /// Node alerts from node-exporter name the node only by `instance` (`host:9100`).
    fn node_from_instance(&mut self, labels: &BTreeMap<String, String>) {
        if self.node.is_some() || self.pod.is_some() || self.workload.is_some() {
            return;
        }
        let Some(instance) = labels.get("instance").filter(|v| !v.is_empty()) else {
            return;
        };
        let about_nodes = labels
            .get("alertname")
            .is_some_and(|name| name.to_ascii_lowercase().contains("node"))
            || labels.get("job").is_some_and(|job| job.contains("node"));
        if !about_nodes {
            return;
        }
        let host = match instance.rsplit_once(':') {
            Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
            _ => instance.as_str(),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if !host.is_empty() {
            self.node = Some(host.to_owned());
            self.read_from
                .push(format!("label instance={instance} read as node {host}"));
        }
    }

    /// Nothing to look at.
    pub fn is_empty(&self) -> bool {
        self.pod.is_none()
            && self.workload.is_none()
            && self.node.is_none()
            && self.pvc.is_none()
            && self.hpa.is_none()
            && self.namespace.is_none()
    }
}

fn workload_kind(kind: &str) -> &'static str {
    match kind.to_ascii_lowercase().replace(['_', '-'], "").as_str() {
        "statefulset" => "StatefulSet",
        "daemonset" => "DaemonSet",
        "replicaset" => "ReplicaSet",
        "job" => "Job",
        "cronjob" => "CronJob",
        _ => "Deployment",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// Labels, annotations, then the namespace, pod, workload (kind, name) and node read.
    type Row<'a> = (
        &'a [(&'a str, &'a str)],
        &'a [(&'a str, &'a str)],
        Option<&'a str>,
        Option<&'a str>,
        Option<(&'a str, &'a str)>,
        Option<&'a str>,
    );

    #[test]
    fn spellings_of_real_senders() {
        let cases: &[Row] = &[
            // kube-state-metrics pod alert
            (
                &[
                    ("namespace", "shop"),
                    ("pod", "web-1"),
                    ("job", "kube-state-metrics"),
                ],
                &[],
                Some("shop"),
                Some("web-1"),
                None,
                None,
            ),
            // exported_* wins over the scrape target's own label
            (
                &[
                    ("namespace", "monitoring"),
                    ("exported_namespace", "shop"),
                    ("pod", "ksm-0"),
                    ("exported_pod", "web-1"),
                ],
                &[],
                Some("shop"),
                Some("web-1"),
                None,
                None,
            ),
            // Datadog-style tags in annotations
            (
                &[("alertname", "X")],
                &[
                    ("kube_namespace", "pay"),
                    ("kube_pod", "api-7-x"),
                    ("kube_deployment", "api"),
                ],
                Some("pay"),
                Some("api-7-x"),
                Some(("Deployment", "api")),
                None,
            ),
            // workload_type + workload_name
            (
                &[
                    ("namespace", "pay"),
                    ("workload_type", "statefulset"),
                    ("workload_name", "db"),
                ],
                &[],
                Some("pay"),
                None,
                Some(("StatefulSet", "db")),
                None,
            ),
            // a deployment alert carries the kube-state-metrics pod in `pod`
            (
                &[
                    ("namespace", "pay"),
                    ("deployment", "api"),
                    ("pod", "kube-state-metrics-5d-x"),
                    ("container", "kube-state-metrics"),
                ],
                &[],
                Some("pay"),
                None,
                Some(("Deployment", "api")),
                None,
            ),
            // awesome-prometheus-alerts' node alert scraped through service discovery: the
            // exporter's namespace, pod and container come with the node's series
            (
                &[
                    ("alertname", "KubernetesNodeNotReady"),
                    ("node", "n1"),
                    ("condition", "Ready"),
                    ("status", "true"),
                    ("namespace", "monitoring"),
                    ("pod", "kube-state-metrics-7d9c5-x2x7p"),
                    ("container", "kube-state-metrics"),
                    ("job", "kube-state-metrics"),
                    ("instance", "10.0.3.4:8080"),
                ],
                &[],
                None,
                None,
                None,
                Some("n1"),
            ),
            // …its Deployment alert: the series' own namespace stays, the exporter's pod goes
            (
                &[
                    ("alertname", "KubernetesDeploymentReplicasMismatch"),
                    ("namespace", "shop"),
                    ("deployment", "web"),
                    ("pod", "kube-state-metrics-7d9c5-x2x7p"),
                    ("job", "kube-state-metrics"),
                    ("instance", "10.0.3.4:8080"),
                ],
                &[],
                Some("shop"),
                None,
                Some(("Deployment", "web")),
                None,
            ),
            // …and an alert about the API server names no object
            (
                &[
                    ("alertname", "KubernetesApiServerErrors"),
                    ("instance", "10.0.0.1:6443"),
                    ("job", "apiserver"),
                ],
                &[],
                None,
                None,
                None,
                None,
            ),
            // a pod's own node label keeps the pod and its namespace
            (
                &[
                    ("namespace", "shop"),
                    ("pod", "web-1"),
                    ("node", "n1"),
                    ("job", "kube-state-metrics"),
                ],
                &[],
                Some("shop"),
                Some("web-1"),
                None,
                Some("n1"),
            ),
            // node by label, and by instance for node-exporter alerts
            (&[("node", "n1")], &[], None, None, None, Some("n1")),
            (
                &[
                    ("alertname", "NodeFilesystemAlmostOutOfSpace"),
                    ("instance", "n2:9100"),
                    ("job", "node-exporter"),
                ],
                &[],
                None,
                None,
                None,
                Some("n2"),
            ),
            // instance of an application alert is not a node
            (
                &[
                    ("alertname", "HighErrorRate"),
                    ("instance", "10.0.0.1:8080"),
                ],
                &[],
                None,
                None,
                None,
                None,
            ),
        ];
        for (labels, annotations, namespace, pod, workload, node) in cases {
            let scope = Scope::of(&map(labels), &map(annotations));
            assert_eq!(scope.namespace.as_deref(), *namespace, "{labels:?}");
            assert_eq!(scope.pod.as_deref(), *pod, "{labels:?}");
            assert_eq!(
                scope
                    .workload
                    .as_ref()
                    .map(|w| (w.kind.as_str(), w.name.as_str())),
                *workload,
                "{labels:?}"
            );
            assert_eq!(scope.node.as_deref(), *node, "{labels:?}");
        }
    }
}

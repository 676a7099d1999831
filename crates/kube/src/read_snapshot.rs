//! The live evidence snapshot: [`Kube::snapshot`] reads the objects around an alert's
//! [`Scope`] — its pod and the pod's siblings, or its workload's pods, or a node and its pods,
//! or a namespace's unready pods; their controllers, nodes, claims, services, autoscalers,
//! quotas, events and the logs of containers that died — and maps them with
//! [`crate::snapshot`]. The analysis must run whatever the cluster lets it see, so nothing
//! here fails: each read that does not succeed becomes a sentence in [`Snapshot::gaps`].

use crate::owner::{controller_of, selector_string};
use crate::snapshot::{self as views, EventFilter, LogRequest};
use crate::{Kube, KubeError, facts, tools};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{
    Endpoints, Event, Node, PersistentVolumeClaim, Pod, ResourceQuota, Service,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use kube::Api;
use kube::api::{ListParams, LogParams};
use nightwatch_core::evidence::snapshot::{Logs, ObjectRef};
use nightwatch_core::evidence::{Scope, Snapshot};
use serde::de::DeserializeOwned;
use std::collections::{BTreeSet, HashSet};
use std::fmt::Debug;

/// Subject pods kept (the scoped pod and its siblings, a workload's, a node's, a namespace's).
pub const MAX_PODS: usize = 20;
/// Events kept, the newest.
pub const MAX_EVENTS: usize = 200;
/// Containers whose logs are read.
pub const MAX_LOGS: usize = 3;
/// Log lines read from each.
pub const LOG_TAIL: usize = 50;
/// A CronJob's Jobs read, the newest: enough to see whether the last runs failed.
const MAX_CRONJOB_RUNS: usize = 3;
/// Namespaces whose events are read when the subject pods are spread over several (a node's).
const MAX_EVENT_NAMESPACES: usize = 3;
/// Nodes whose events are read: node events live outside the pods' namespace.
const MAX_NODE_EVENTS: usize = 3;

impl Kube {
    /// What the cluster shows around `scope`, with a gap for each read that failed.
    pub async fn snapshot(&self, scope: &Scope) -> Snapshot {
        let mut reader = Reader {
            kube: self,
            snapshot: Snapshot::default(),
            read: HashSet::new(),
        };
        reader.read(scope).await;
        reader.snapshot
    }
}

/// One snapshot being read.
struct Reader<'a> {
    kube: &'a Kube,
    snapshot: Snapshot,
    /// `Kind/namespace/name` of the controllers already read, so each is read once.
    read: HashSet<String>,
}

/// The gap sentence of a failed read: the API server's own message when it answered.
fn failure(what: &str, error: kube::Error) -> String {
    match error {
        kube::Error::Api(status) => format!("{what}: {} ({})", status.message, status.code),
        other => KubeError::api(what)(other).to_string(),
    }
}

/// A label selector as query text; `None` when it selects nothing we can express.
fn selector_text(selector: Option<&LabelSelector>) -> Option<String> {
    let value = serde_json::to_value(selector?).ok()?;
    selector_string(&value)
}

fn uid_of(meta: &ObjectMeta) -> Option<String> {
    meta.uid.clone()
}

impl Reader<'_> {
    fn gap(&mut self, sentence: String) {
        tracing::debug!(gap = %sentence, "snapshot");
        self.snapshot.gaps.push(sentence);
    }

    fn api<K>(&self, namespace: Option<&str>) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        <K as kube::Resource>::DynamicType: Default,
    {
        let client = self.kube.client().clone();
        match namespace {
            Some(ns) => Api::namespaced(client, ns),
            None => Api::all(client),
        }
    }

    /// One object; `None` (and a gap) when it is missing or unreadable.
    async fn get<K>(&mut self, api: Api<K>, what: &str, name: &str) -> Option<K>
    where
        K: Clone + DeserializeOwned + Debug,
    {
        match api.get_opt(name).await {
            Ok(Some(object)) => Some(object),
            Ok(None) => {
                self.gap(format!("{what} not found"));
                None
            }
            Err(e) => {
                self.gap(failure(&format!("reading {what}"), e));
                None
            }
        }
    }

    /// A list; empty (and a gap) when it cannot be read.
    async fn list<K>(&mut self, api: Api<K>, params: &ListParams, what: &str) -> Vec<K>
    where
        K: Clone + DeserializeOwned + Debug,
    {
        match api.list(params).await {
            Ok(list) => list.items,
            Err(e) => {
                self.gap(failure(&format!("listing {what}"), e));
                Vec::new()
            }
        }
    }

    /// First time `kind/namespace/name` comes up.
    fn first_read(&mut self, kind: &str, namespace: &str, name: &str) -> bool {
        self.read.insert(format!("{kind}/{namespace}/{name}"))
    }

    async fn read(&mut self, scope: &Scope) {
        let namespace = scope
            .namespace
            .clone()
            .or_else(|| scope.workload.as_ref().and_then(|w| w.namespace.clone()));
        let mut pods: Vec<Pod> = Vec::new();
        let no_pod_or_workload = scope.pod.is_none() && scope.workload.is_none();
        match namespace.as_deref() {
            Some(ns) => {
                if let Some(name) = &scope.pod {
                    pods = self.scoped_pod(ns, name).await;
                }
                if let Some(workload) = &scope.workload {
                    let workload_pods = self
                        .workload(&workload.kind, ns, &workload.name, pods.is_empty())
                        .await;
                    pods.extend(workload_pods);
                }
                if no_pod_or_workload && scope.node.is_none() {
                    pods = self.unready_pods(ns).await;
                }
            }
            None if !no_pod_or_workload => {
                let what = match (&scope.pod, &scope.workload) {
                    (Some(pod), _) => format!("pod {pod}"),
                    (None, Some(workload)) => format!("{} {}", workload.kind, workload.name),
                    (None, None) => String::new(),
                };
                self.gap(format!(
                    "{what} was named without a namespace, so it was not read"
                ));
            }
            None => {}
        }
        // A node's pods are all listed, so they are counted too (against its pod capacity).
        let mut on_node = None;
        if no_pod_or_workload && let Some(node) = &scope.node {
            pods = self.pods_on_node(node).await;
            on_node = Some(
                pods.iter()
                    .filter(|p| !matches!(facts::pod_phase(p), Some("Succeeded" | "Failed")))
                    .count() as i64,
            );
        }

        let mut subjects: Vec<_> = pods.iter().map(views::pod_view).collect();
        let dropped = views::keep_pods(&mut subjects, scope.pod.as_deref(), MAX_PODS);
        if dropped > 0 {
            self.gap(format!(
                "{dropped} more pods were not read (at most {MAX_PODS} are; ready ones are left out first)"
            ));
        }
        self.snapshot.pods = subjects;

        self.controllers().await;
        self.nodes(scope.node.as_deref()).await;
        if let (Some(count), Some(name)) = (on_node, scope.node.as_deref()) {
            for node in self.snapshot.nodes.iter_mut().filter(|n| n.name == name) {
                node.pods = Some(count);
            }
        }
        if let Some(ns) = namespace.as_deref() {
            self.claims(ns, scope.pvc.as_deref()).await;
            self.services(ns).await;
            self.autoscalers(ns, scope.hpa.as_deref()).await;
            self.quotas(ns).await;
        }
        self.events(scope, namespace.as_deref()).await;
        self.logs(scope.container.as_deref()).await;
    }

    // ---- pods

    /// The scoped pod and the other pods of its controller (all ReplicaSets of a Deployment).
    async fn scoped_pod(&mut self, namespace: &str, name: &str) -> Vec<Pod> {
        let api = self.api::<Pod>(Some(namespace));
        let Some(pod) = self
            .get(api, &format!("pod {namespace}/{name}"), name)
            .await
        else {
            return Vec::new();
        };
        let siblings = match controller_of(&pod.metadata) {
            Some(owner) => {
                self.workload(&owner.kind, namespace, &owner.name, true)
                    .await
            }
            None => Vec::new(),
        };
        let mut pods = vec![pod];
        pods.extend(
            siblings
                .into_iter()
                .filter(|p| p.metadata.name.as_deref() != Some(name)),
        );
        pods
    }

    /// A namespace's pods that are not Ready. Succeeded pods are done, not failing.
    async fn unready_pods(&mut self, namespace: &str) -> Vec<Pod> {
        let api = self.api::<Pod>(Some(namespace));
        let what = format!("pods of namespace {namespace}");
        self.list(api, &ListParams::default(), &what)
            .await
            .into_iter()
            .filter(|p| !facts::pod_running_ready(p) && facts::pod_phase(p) != Some("Succeeded"))
            .collect()
    }

    async fn pods_on_node(&mut self, node: &str) -> Vec<Pod> {
        match self.kube.pods_on_node(node).await {
            Ok(pods) => pods,
            Err(e) => {
                self.gap(e.to_string());
                Vec::new()
            }
        }
    }

    /// The pods `selector` picks that one of `owners` (uids) controls.
    async fn controlled_pods(
        &mut self,
        namespace: &str,
        selector: Option<&LabelSelector>,
        owners: &HashSet<String>,
        what: &str,
    ) -> Vec<Pod> {
        let Some(selector) = selector_text(selector) else {
            self.gap(format!(
                "{what} has no selector its pods could be listed by"
            ));
            return Vec::new();
        };
        let api = self.api::<Pod>(Some(namespace));
        self.list(
            api,
            &ListParams::default().labels(&selector),
            &format!("pods of {what}"),
        )
        .await
        .into_iter()
        .filter(|p| controller_of(&p.metadata).is_some_and(|o| owners.contains(&o.uid)))
        .collect()
    }

    // ---- controllers

    /// Reads a controller into the snapshot (with a Deployment's ReplicaSets, a ReplicaSet's
    /// Deployment, a CronJob's latest Jobs) and, when `with_pods`, returns the pods it controls.
    /// Kinds without a view (a Node's mirror pods, operators' own kinds) are left out.
    async fn workload(
        &mut self,
        kind: &str,
        namespace: &str,
        name: &str,
        with_pods: bool,
    ) -> Vec<Pod> {
        if !self.first_read(kind, namespace, name) && !with_pods {
            return Vec::new();
        }
        let what = format!("{kind} {namespace}/{name}");
        match kind {
            "Deployment" => self.deployment(namespace, name, with_pods).await,
            "ReplicaSet" => {
                let api = self.api::<ReplicaSet>(Some(namespace));
                let Some(rs) = self.get(api, &what, name).await else {
                    return Vec::new();
                };
                self.push_workload(views::replicaset_view(&rs));
                match controller_of(&rs.metadata) {
                    // Siblings of a Deployment's pod include its other ReplicaSets' pods.
                    Some(owner) if owner.kind == "Deployment" => {
                        self.deployment(namespace, &owner.name, with_pods).await
                    }
                    _ if with_pods => {
                        let owners = uid_of(&rs.metadata).into_iter().collect();
                        let selector = Some(&rs.spec.selector);
                        self.controlled_pods(namespace, selector, &owners, &what)
                            .await
                    }
                    _ => Vec::new(),
                }
            }
            "StatefulSet" => {
                self.selected_workload::<StatefulSet>(
                    namespace,
                    name,
                    &what,
                    with_pods,
                    views::statefulset_view,
                    |set| &set.spec.selector,
                )
                .await
            }
            "DaemonSet" => {
                self.selected_workload::<DaemonSet>(
                    namespace,
                    name,
                    &what,
                    with_pods,
                    views::daemonset_view,
                    |set| &set.spec.selector,
                )
                .await
            }
            "Job" => {
                let api = self.api::<Job>(Some(namespace));
                let Some(job) = self.get(api, &what, name).await else {
                    return Vec::new();
                };
                self.push_job(views::job_view(&job));
                if !with_pods {
                    return Vec::new();
                }
                let owners = uid_of(&job.metadata).into_iter().collect();
                let selector = job.spec.as_ref().and_then(|s| s.selector.as_ref());
                self.controlled_pods(namespace, selector, &owners, &what)
                    .await
            }
            "CronJob" => self.cronjob_runs(namespace, name, with_pods).await,
            _ => Vec::new(),
        }
    }

    /// A Deployment and all its ReplicaSets (their revisions tell a rollout from a rollback);
    /// with `with_pods`, the pods of every one of them.
    async fn deployment(&mut self, namespace: &str, name: &str, with_pods: bool) -> Vec<Pod> {
        let what = format!("Deployment {namespace}/{name}");
        // Reached from each of its ReplicaSets' pods: read once unless pods are wanted.
        let known = ObjectRef::new("Deployment", Some(namespace), name);
        if !with_pods && self.snapshot.workloads.iter().any(|w| w.object() == known) {
            return Vec::new();
        }
        let api = self.api::<Deployment>(Some(namespace));
        let Some(deployment) = self.get(api, &what, name).await else {
            return Vec::new();
        };
        self.push_workload(views::deployment_view(&deployment));
        let uid = deployment.metadata.uid.clone().unwrap_or_default();
        let selector = Some(&deployment.spec.selector);
        let Some(selector_text) = selector_text(selector) else {
            self.gap(format!(
                "{what} has no selector its ReplicaSets could be listed by"
            ));
            return Vec::new();
        };
        let api = self.api::<ReplicaSet>(Some(namespace));
        let params = ListParams::default().labels(&selector_text);
        let sets: Vec<ReplicaSet> = self
            .list(api, &params, &format!("ReplicaSets of {what}"))
            .await
            .into_iter()
            .filter(|rs| controller_of(&rs.metadata).is_some_and(|o| o.uid == uid))
            .collect();
        let mut owners = HashSet::new();
        for rs in &sets {
            let view = views::replicaset_view(rs);
            self.first_read("ReplicaSet", namespace, &view.name);
            self.push_workload(view);
            owners.extend(uid_of(&rs.metadata));
        }
        if !with_pods {
            return Vec::new();
        }
        self.controlled_pods(namespace, selector, &owners, &what)
            .await
    }

    /// A CronJob's newest Jobs (the CronJob itself has no view: its runs tell what happens).
    async fn cronjob_runs(&mut self, namespace: &str, name: &str, with_pods: bool) -> Vec<Pod> {
        let api = self.api::<Job>(Some(namespace));
        let what = format!("Jobs of CronJob {namespace}/{name}");
        let mut runs: Vec<Job> = self
            .list(api, &ListParams::default(), &what)
            .await
            .into_iter()
            .filter(|j| {
                controller_of(&j.metadata).is_some_and(|o| o.kind == "CronJob" && o.name == name)
            })
            .collect();
        runs.sort_by_key(|j| {
            std::cmp::Reverse(
                j.metadata
                    .creation_timestamp
                    .as_ref()
                    .map(|t| t.0.as_millisecond()),
            )
        });
        runs.truncate(MAX_CRONJOB_RUNS);
        let mut pods = Vec::new();
        for job in &runs {
            let view = views::job_view(job);
            self.first_read("Job", namespace, &view.name);
            let job_what = format!("Job {namespace}/{}", view.name);
            self.push_job(view);
            if with_pods {
                let owners = uid_of(&job.metadata).into_iter().collect();
                let selector = job.spec.as_ref().and_then(|s| s.selector.as_ref());
                pods.extend(
                    self.controlled_pods(namespace, selector, &owners, &job_what)
                        .await,
                );
            }
        }
        pods
    }

    /// A controller that picks its pods by selector (StatefulSet, DaemonSet): its view, then,
    /// when `with_pods`, the pods its selector finds and it owns.
    async fn selected_workload<K>(
        &mut self,
        namespace: &str,
        name: &str,
        what: &str,
        with_pods: bool,
        view: fn(&K) -> nightwatch_core::evidence::snapshot::Workload,
        selector: fn(&K) -> &LabelSelector,
    ) -> Vec<Pod>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + DeserializeOwned
            + Debug,
        <K as kube::Resource>::DynamicType: Default,
    {
        let api = self.api::<K>(Some(namespace));
        let Some(object) = self.get(api, what, name).await else {
            return Vec::new();
        };
        self.push_workload(view(&object));
        if !with_pods {
            return Vec::new();
        }
        let owners = uid_of(object.meta()).into_iter().collect();
        self.controlled_pods(namespace, Some(selector(&object)), &owners, what)
            .await
    }

    fn push_workload(&mut self, workload: nightwatch_core::evidence::snapshot::Workload) {
        let key = workload.object();
        self.snapshot.workloads.retain(|w| w.object() != key);
        self.snapshot.workloads.push(workload);
    }

    fn push_job(&mut self, job: nightwatch_core::evidence::snapshot::Job) {
        let key = job.object();
        self.snapshot.jobs.retain(|j| j.object() != key);
        self.snapshot.jobs.push(job);
    }

    /// The controllers of every subject pod not read yet (a node's or namespace's pods).
    async fn controllers(&mut self) {
        let owners: BTreeSet<ObjectRef> = self
            .snapshot
            .pods
            .iter()
            .filter_map(|p| p.owner.clone())
            .collect();
        for owner in owners {
            let namespace = owner.namespace.clone().unwrap_or_default();
            self.workload(&owner.kind, &namespace, &owner.name, false)
                .await;
        }
    }

    // ---- what the pods use

    async fn nodes(&mut self, scoped: Option<&str>) {
        let names: BTreeSet<String> = self
            .snapshot
            .pods
            .iter()
            .filter_map(|p| p.node.clone())
            .chain(scoped.map(str::to_owned))
            .collect();
        for name in names {
            let api = Api::<Node>::all(self.kube.client().clone());
            if let Some(node) = self.get(api, &format!("node {name}"), &name).await {
                self.snapshot.nodes.push(views::node_view(&node));
            }
        }
    }

    async fn claims(&mut self, namespace: &str, scoped: Option<&str>) {
        let names: BTreeSet<String> = self
            .snapshot
            .pods
            .iter()
            .filter(|p| p.namespace == namespace)
            .flat_map(|p| p.claims.iter().cloned())
            .chain(scoped.map(str::to_owned))
            .collect();
        for name in names {
            let api = self.api::<PersistentVolumeClaim>(Some(namespace));
            let what = format!("PersistentVolumeClaim {namespace}/{name}");
            if let Some(pvc) = self.get(api, &what, &name).await {
                self.snapshot.pvcs.push(views::pvc_view(&pvc));
            }
        }
    }

    /// Services that select a subject pod, with their endpoints.
    async fn services(&mut self, namespace: &str) {
        if self.snapshot.pods.is_empty() {
            return;
        }
        let api = self.api::<Service>(Some(namespace));
        let what = format!("services of namespace {namespace}");
        let services = self.list(api, &ListParams::default(), &what).await;
        for service in services {
            let selector = service
                .spec
                .as_ref()
                .and_then(|s| s.selector.clone())
                .unwrap_or_default();
            let serves_a_subject = self
                .snapshot
                .pods
                .iter()
                .any(|p| p.namespace == namespace && views::selects(&selector, &p.labels));
            if !serves_a_subject {
                continue;
            }
            let name = service.metadata.name.clone().unwrap_or_default();
            let api = self.api::<Endpoints>(Some(namespace));
            // Endpoints not there yet are unknown counts, not a failure worth a gap.
            let endpoints = match api.get_opt(&name).await {
                Ok(endpoints) => endpoints,
                Err(e) => {
                    let what = format!("reading Endpoints {namespace}/{name}");
                    self.gap(failure(&what, e));
                    None
                }
            };
            self.snapshot
                .services
                .push(views::service_view(&service, endpoints.as_ref()));
        }
    }

    /// Autoscalers that scale a workload read, or the scoped one.
    async fn autoscalers(&mut self, namespace: &str, scoped: Option<&str>) {
        if self.snapshot.workloads.is_empty() && scoped.is_none() {
            return;
        }
        let api = self.api::<HorizontalPodAutoscaler>(Some(namespace));
        let what = format!("HorizontalPodAutoscalers of namespace {namespace}");
        for hpa in self.list(api, &ListParams::default(), &what).await {
            let view = views::hpa_view(&hpa);
            let scales_a_workload = view.target.as_ref().is_some_and(|target| {
                self.snapshot
                    .workloads
                    .iter()
                    .any(|w| w.kind == target.kind && w.name == target.name)
            });
            if scales_a_workload || Some(view.name.as_str()) == scoped {
                self.snapshot.hpas.push(view);
            }
        }
    }

    async fn quotas(&mut self, namespace: &str) {
        let api = self.api::<ResourceQuota>(Some(namespace));
        let what = format!("ResourceQuotas of namespace {namespace}");
        let quotas = self.list(api, &ListParams::default(), &what).await;
        self.snapshot
            .quotas
            .extend(quotas.iter().map(views::quota_view));
    }

    // ---- events and logs

    /// The newest events about what was read (a namespace's, all of them, when the namespace
    /// is the whole scope), plus the nodes' own events, which are not in the pods' namespace.
    async fn events(&mut self, scope: &Scope, namespace: Option<&str>) {
        let whole_namespace = scope.pod.is_none()
            && scope.workload.is_none()
            && scope.node.is_none()
            && scope.namespace.is_some();
        let mut filter = EventFilter::default();
        filter.snapshot(&self.snapshot);
        if let Some(pod) = &scope.pod {
            filter.object("Pod", pod);
        }
        if let Some(workload) = &scope.workload {
            filter.object(&workload.kind, &workload.name);
            filter.prefix(&workload.name);
        }
        for workload in &self.snapshot.workloads {
            filter.prefix(&workload.name);
        }
        for job in &self.snapshot.jobs {
            filter.prefix(&job.name);
        }

        let namespaces: Vec<String> = match namespace {
            Some(ns) => vec![ns.to_owned()],
            None => {
                let spread: BTreeSet<String> = self
                    .snapshot
                    .pods
                    .iter()
                    .map(|p| p.namespace.clone())
                    .collect();
                if spread.len() > MAX_EVENT_NAMESPACES {
                    self.gap(format!(
                        "events of {} namespaces were not read (at most {MAX_EVENT_NAMESPACES} are)",
                        spread.len() - MAX_EVENT_NAMESPACES
                    ));
                }
                spread.into_iter().take(MAX_EVENT_NAMESPACES).collect()
            }
        };
        let mut events: Vec<Event> = Vec::new();
        for ns in &namespaces {
            let api = self.api::<Event>(Some(ns));
            let what = format!("events of namespace {ns}");
            let listed = self.list(api, &ListParams::default(), &what).await;
            events.extend(
                listed
                    .into_iter()
                    .filter(|e| whole_namespace || filter.keeps(e)),
            );
        }
        let nodes: Vec<String> = self
            .snapshot
            .nodes
            .iter()
            .map(|n| n.name.clone())
            .take(MAX_NODE_EVENTS)
            .collect();
        for node in nodes {
            let api = self.api::<Event>(None);
            let params = ListParams::default().fields(&format!(
                "involvedObject.kind=Node,involvedObject.name={node}"
            ));
            let listed = self
                .list(api, &params, &format!("events of node {node}"))
                .await;
            events.extend(listed);
        }
        let mut seen = HashSet::new();
        // A node's events in the pods' namespace come twice; the uid tells.
        events.retain(|e| {
            e.metadata
                .uid
                .as_ref()
                .is_none_or(|uid| seen.insert(uid.clone()))
        });
        let events = views::newest_events(events, MAX_EVENTS);
        self.snapshot.events = events.iter().map(views::event_view).collect();
    }

    async fn logs(&mut self, container: Option<&str>) {
        for request in views::log_requests(&self.snapshot.pods, container, MAX_LOGS) {
            if let Some(logs) = self.log(&request).await {
                self.snapshot.logs.push(logs);
            }
        }
    }

    async fn log(&mut self, request: &LogRequest) -> Option<Logs> {
        let LogRequest {
            namespace,
            pod,
            container,
            previous,
        } = request;
        let params = LogParams {
            container: Some(container.clone()),
            previous: *previous,
            tail_lines: Some(LOG_TAIL as i64),
            limit_bytes: Some(1 << 20),
            ..LogParams::default()
        };
        let instance = if *previous { "previous" } else { "current" };
        let what =
            format!("logs of container {container} ({instance} instance) of pod {namespace}/{pod}");
        match self
            .api::<Pod>(Some(namespace.as_str()))
            .logs(pod, &params)
            .await
        {
            Ok(text) => Some(Logs {
                namespace: Some(namespace.clone()),
                pod: pod.clone(),
                container: Some(container.clone()),
                previous: *previous,
                lines: tools::log_lines(&text, LOG_TAIL).0,
            }),
            Err(e) => {
                self.gap(failure(&format!("reading {what}"), e));
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn selectors_as_query_text() {
        let selector: LabelSelector = serde_json::from_value(json!({
            "matchLabels": {"app": "api"},
            "matchExpressions": [{"key": "tier", "operator": "In", "values": ["web"]}]
        }))
        .unwrap();
        assert_eq!(
            selector_text(Some(&selector)).as_deref(),
            Some("app=api,tier in (web)")
        );
        assert_eq!(selector_text(Some(&LabelSelector::default())), None);
        assert_eq!(selector_text(None), None);
    }

    #[test]
    fn failures_read_as_sentences() {
        let status = kube::core::Status::failure("pods is forbidden", "Forbidden").with_code(403);
        let sentence = failure("listing pods", kube::Error::Api(Box::new(status)));
        assert_eq!(sentence, "listing pods: pods is forbidden (403)");
    }
}

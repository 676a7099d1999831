//! Kubernetes objects as the analyzers' views ([`nightwatch_core::evidence::snapshot`]): pure
//! conversions from the k8s-openapi types, plus the small choices the live reader makes over
//! those views (which pods to keep under the cap, which containers' logs to read, which
//! services select a pod, which events matter). Kept apart from the client so every mapping
//! is tested with tables of objects, including objects that leave optional fields out.

use crate::owner::controller_of;
use crate::time_text;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{
    Container as ContainerSpec, ContainerState as K8sContainerState, ContainerStateTerminated,
    ContainerStatus, Endpoints, Event, Node, PersistentVolumeClaim, Pod, PodSpec, PodTemplateSpec,
    Probe, ResourceQuota, Service,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, MicroTime, ObjectMeta, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use nightwatch_core::evidence::snapshot::{self as view, Condition, ObjectRef};
use std::collections::{BTreeMap, BTreeSet};

/// The annotation a Deployment and its ReplicaSets carry their rollout number in.
pub const REVISION_ANNOTATION: &str = "deployment.kubernetes.io/revision";

/// Longest exec-probe command kept in a probe's text: enough to recognise it, not a script.
const MAX_PROBE_COMMAND: usize = 80;

// ---- shared pieces

fn name_of(meta: &ObjectMeta) -> String {
    meta.name.clone().unwrap_or_default()
}

fn namespace_of(meta: &ObjectMeta) -> String {
    meta.namespace.clone().unwrap_or_default()
}

/// The controller owner, in the object's namespace (controllers never cross namespaces).
fn owner_of(meta: &ObjectMeta) -> Option<ObjectRef> {
    controller_of(meta).map(|o| ObjectRef::new(&o.kind, meta.namespace.as_deref(), &o.name))
}

fn quantities(map: Option<&BTreeMap<String, Quantity>>) -> BTreeMap<String, String> {
    map.into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect()
}

fn micro_time_text(time: &MicroTime) -> String {
    chrono::DateTime::from_timestamp_millis(time.0.as_millisecond())
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| time.0.to_string())
}

/// A condition's `type` or `status`: a `String` on most kinds, an `Option<String>` on others.
trait ConditionText {
    fn text(&self) -> &str;
}

impl ConditionText for String {
    fn text(&self) -> &str {
        self
    }
}

impl ConditionText for Option<String> {
    fn text(&self) -> &str {
        self.as_deref().unwrap_or_default()
    }
}

/// `status.conditions` of any kind of object as views. Each kind has its own condition type
/// with the same fields and no trait in common, hence a macro; nodes add the heartbeat.
macro_rules! conditions_view {
    ($status:expr) => {
        conditions_view!($status, |_c| None)
    };
    ($status:expr, |$c:ident| $heartbeat:expr) => {
        $status
            .and_then(|s| s.conditions.as_deref())
            .unwrap_or_default()
            .iter()
            .map(|$c| {
                condition(
                    ConditionText::text(&$c.type_),
                    ConditionText::text(&$c.status),
                    $c.reason.as_ref(),
                    $c.message.as_ref(),
                    $heartbeat,
                    $c.last_transition_time.as_ref(),
                )
            })
            .collect()
    };
}

/// One condition of any kind of object; callers pass what their condition type has.
fn condition(
    kind: &str,
    status: &str,
    reason: Option<&String>,
    message: Option<&String>,
    last_heartbeat: Option<&Time>,
    last_transition: Option<&Time>,
) -> Condition {
    Condition {
        kind: kind.to_owned(),
        status: status.to_owned(),
        reason: reason.cloned(),
        message: message.cloned(),
        last_heartbeat: last_heartbeat.map(time_text),
        last_transition: last_transition.map(time_text),
    }
}

/// `matchLabels` of a selector; expressions are left to the server when listing.
fn match_labels(selector: Option<&LabelSelector>) -> BTreeMap<String, String> {
    selector
        .and_then(|s| s.match_labels.clone())
        .unwrap_or_default()
}

fn template_images(template: Option<&PodTemplateSpec>) -> Vec<String> {
    template
        .and_then(|t| t.spec.as_ref())
        .map(|spec| {
            spec.containers
                .iter()
                .filter_map(|c| c.image.clone())
                .collect()
        })
        .unwrap_or_default()
}

fn template_requests(template: Option<&PodTemplateSpec>) -> BTreeMap<String, String> {
    let mut requests = BTreeMap::new();
    let containers = template
        .and_then(|t| t.spec.as_ref())
        .map(|spec| spec.containers.as_slice())
        .unwrap_or_default();
    for container in containers {
        let asked = container
            .resources
            .as_ref()
            .and_then(|r| r.requests.as_ref());
        for (resource, quantity) in asked.into_iter().flatten() {
            view::add_request(&mut requests, resource, &quantity.0);
        }
    }
    requests
}

fn revision_of(meta: &ObjectMeta) -> Option<i64> {
    meta.annotations
        .as_ref()?
        .get(REVISION_ANNOTATION)?
        .trim()
        .parse()
        .ok()
}

fn port_text(port: &IntOrString) -> String {
    match port {
        IntOrString::Int(n) => n.to_string(),
        IntOrString::String(name) => name.clone(),
    }
}

// ---- pods

/// A probe in a few words (`httpGet :8080/healthz period 10s timeout 1s failures 3`): enough for
/// a finding to name what is probed and how impatiently.
pub fn probe_text(probe: &Probe) -> String {
    let mut text = if let Some(http) = &probe.http_get {
        let scheme = match http.scheme.as_deref() {
            Some(s) if s.eq_ignore_ascii_case("https") => "https ",
            _ => "",
        };
        format!(
            "httpGet {scheme}{}:{}{}",
            http.host.as_deref().unwrap_or_default(),
            port_text(&http.port),
            http.path.as_deref().unwrap_or_default()
        )
    } else if let Some(tcp) = &probe.tcp_socket {
        format!(
            "tcpSocket {}:{}",
            tcp.host.as_deref().unwrap_or_default(),
            port_text(&tcp.port)
        )
    } else if let Some(grpc) = &probe.grpc {
        match &grpc.service {
            Some(service) if !service.is_empty() => format!("grpc :{} {service}", grpc.port),
            _ => format!("grpc :{}", grpc.port),
        }
    } else if let Some(exec) = &probe.exec {
        let command = exec.command.as_deref().unwrap_or_default().join(" ");
        match command.char_indices().nth(MAX_PROBE_COMMAND) {
            Some((cut, _)) => format!("exec {}…", &command[..cut]),
            None => format!("exec {command}"),
        }
    } else {
        "probe".to_owned()
    };
    for (label, value) in [
        ("delay", probe.initial_delay_seconds),
        ("period", probe.period_seconds),
        ("timeout", probe.timeout_seconds),
    ] {
        if let Some(seconds) = value {
            text.push_str(&format!(" {label} {seconds}s"));
        }
    }
    if let Some(failures) = probe.failure_threshold {
        text.push_str(&format!(" failures {failures}"));
    }
    text
}

fn terminated_view(terminated: &ContainerStateTerminated) -> view::Terminated {
    view::Terminated {
        reason: terminated.reason.clone(),
        exit_code: Some(i64::from(terminated.exit_code)),
        signal: terminated.signal.map(i64::from),
        message: terminated.message.clone(),
        finished_at: terminated.finished_at.as_ref().map(time_text),
    }
}

fn state_view(state: Option<&K8sContainerState>) -> view::ContainerState {
    let Some(state) = state else {
        return view::ContainerState::default();
    };
    view::ContainerState {
        waiting: state.waiting.as_ref().map(|w| view::Waiting {
            reason: w.reason.clone(),
            message: w.message.clone(),
        }),
        running: state.running.as_ref().map(|r| view::Running {
            started_at: r.started_at.as_ref().map(time_text),
        }),
        terminated: state.terminated.as_ref().map(terminated_view),
    }
}

/// One container from its spec and (when the kubelet reported one) its status.
fn container_view(spec: &ContainerSpec, status: Option<&ContainerStatus>) -> view::Container {
    let resources = spec.resources.as_ref();
    view::Container {
        name: spec.name.clone(),
        image: spec
            .image
            .clone()
            .or_else(|| status.map(|s| s.image.clone()).filter(|i| !i.is_empty())),
        ready: status.map(|s| s.ready),
        restart_count: status.map(|s| i64::from(s.restart_count)).unwrap_or(0),
        state: state_view(status.and_then(|s| s.state.as_ref())),
        last_state: status
            .and_then(|s| s.last_state.as_ref())
            .and_then(|l| l.terminated.as_ref())
            .map(terminated_view),
        limits: quantities(resources.and_then(|r| r.limits.as_ref())),
        requests: quantities(resources.and_then(|r| r.requests.as_ref())),
        liveness_probe: spec.liveness_probe.as_ref().map(probe_text),
        readiness_probe: spec.readiness_probe.as_ref().map(probe_text),
    }
}

fn containers_view(specs: &[ContainerSpec], statuses: &[ContainerStatus]) -> Vec<view::Container> {
    specs
        .iter()
        .map(|spec| container_view(spec, statuses.iter().find(|s| s.name == spec.name)))
        .collect()
}

/// ConfigMaps and Secrets the pod mounts or reads into its environment, each once.
fn config_refs(spec: &PodSpec, namespace: &str) -> Vec<ObjectRef> {
    let mut refs: Vec<ObjectRef> = Vec::new();
    let mut push = |kind: &str, name: Option<&str>| {
        if let Some(name) = name.filter(|n| !n.is_empty()) {
            let object = ObjectRef::new(kind, Some(namespace), name);
            if !refs.contains(&object) {
                refs.push(object);
            }
        }
    };
    for volume in spec.volumes.iter().flatten() {
        push(
            "ConfigMap",
            volume.config_map.as_ref().map(|c| c.name.as_str()),
        );
        push(
            "Secret",
            volume
                .secret
                .as_ref()
                .and_then(|s| s.secret_name.as_deref()),
        );
        let projected = volume.projected.as_ref().and_then(|p| p.sources.as_ref());
        for source in projected.into_iter().flatten() {
            push(
                "ConfigMap",
                source.config_map.as_ref().map(|c| c.name.as_str()),
            );
            push("Secret", source.secret.as_ref().map(|s| s.name.as_str()));
        }
    }
    for container in spec
        .init_containers
        .iter()
        .flatten()
        .chain(&spec.containers)
    {
        for from in container.env_from.iter().flatten() {
            push(
                "ConfigMap",
                from.config_map_ref.as_ref().map(|c| c.name.as_str()),
            );
            push("Secret", from.secret_ref.as_ref().map(|s| s.name.as_str()));
        }
        for env in container.env.iter().flatten() {
            let Some(source) = &env.value_from else {
                continue;
            };
            push(
                "ConfigMap",
                source.config_map_key_ref.as_ref().map(|c| c.name.as_str()),
            );
            push(
                "Secret",
                source.secret_key_ref.as_ref().map(|s| s.name.as_str()),
            );
        }
    }
    refs
}

/// `key=value:Effect`, `key:Effect` without a value, `*` for a toleration of every taint.
fn toleration_text(
    key: Option<&str>,
    operator: Option<&str>,
    value: Option<&str>,
    effect: Option<&str>,
) -> String {
    let mut text = match key.filter(|k| !k.is_empty()) {
        Some(key) => key.to_owned(),
        None if operator == Some("Exists") => "*".to_owned(),
        None => String::new(),
    };
    if let Some(value) = value.filter(|v| !v.is_empty()) {
        text.push('=');
        text.push_str(value);
    }
    if let Some(effect) = effect.filter(|e| !e.is_empty()) {
        text.push(':');
        text.push_str(effect);
    }
    text
}

pub fn pod_view(pod: &Pod) -> view::Pod {
    let namespace = namespace_of(&pod.metadata);
    let spec = pod.spec.as_ref();
    let status = pod.status.as_ref();
    let statuses = status
        .and_then(|s| s.container_statuses.as_deref())
        .unwrap_or_default();
    let init_statuses = status
        .and_then(|s| s.init_container_statuses.as_deref())
        .unwrap_or_default();
    view::Pod {
        name: name_of(&pod.metadata),
        phase: status.and_then(|s| s.phase.clone()),
        reason: status.and_then(|s| s.reason.clone()),
        message: status.and_then(|s| s.message.clone()),
        node: spec.and_then(|s| s.node_name.clone()),
        owner: owner_of(&pod.metadata),
        labels: pod.metadata.labels.clone().unwrap_or_default(),
        start_time: status.and_then(|s| s.start_time.as_ref()).map(time_text),
        conditions: conditions_view!(status),
        containers: spec
            .map(|s| containers_view(&s.containers, statuses))
            .unwrap_or_default(),
        init_containers: spec
            .and_then(|s| s.init_containers.as_deref())
            .map(|specs| containers_view(specs, init_statuses))
            .unwrap_or_default(),
        claims: spec
            .and_then(|s| s.volumes.as_deref())
            .unwrap_or_default()
            .iter()
            .filter_map(|v| v.persistent_volume_claim.as_ref())
            .map(|c| c.claim_name.clone())
            .collect(),
        config_refs: spec.map(|s| config_refs(s, &namespace)).unwrap_or_default(),
        node_selector: spec
            .and_then(|s| s.node_selector.clone())
            .unwrap_or_default(),
        tolerations: spec
            .and_then(|s| s.tolerations.as_deref())
            .unwrap_or_default()
            .iter()
            .map(|t| {
                toleration_text(
                    t.key.as_deref(),
                    t.operator.as_deref(),
                    t.value.as_deref(),
                    t.effect.as_deref(),
                )
            })
            .collect(),
        namespace,
    }
}

// ---- nodes and events

pub fn node_view(node: &Node) -> view::Node {
    let spec = node.spec.as_ref();
    let status = node.status.as_ref();
    view::Node {
        name: name_of(&node.metadata),
        conditions: conditions_view!(status, |c| c.last_heartbeat_time.as_ref()),
        unschedulable: spec.and_then(|s| s.unschedulable).unwrap_or(false),
        taints: spec
            .and_then(|s| s.taints.as_deref())
            .unwrap_or_default()
            .iter()
            .map(|t| {
                toleration_text(
                    Some(t.key.as_str()),
                    None,
                    t.value.as_deref(),
                    Some(t.effect.as_str()),
                )
            })
            .collect(),
        labels: node.metadata.labels.clone().unwrap_or_default(),
        allocatable: quantities(status.and_then(|s| s.allocatable.as_ref())),
        capacity: quantities(status.and_then(|s| s.capacity.as_ref())),
        pods: None,
    }
}

pub fn event_view(event: &Event) -> view::Event {
    let object = &event.involved_object;
    let series = event.series.as_ref();
    let event_time = event.event_time.as_ref().map(micro_time_text);
    view::Event {
        object: ObjectRef {
            kind: object.kind.clone().unwrap_or_default(),
            // Cluster-scoped objects (nodes) have an empty namespace in the reference.
            namespace: object.namespace.clone().filter(|ns| !ns.is_empty()),
            name: object.name.clone().unwrap_or_default(),
        },
        kind: event.type_.clone(),
        reason: event.reason.clone().unwrap_or_default(),
        message: event.message.clone().unwrap_or_default(),
        // events.k8s.io-style events count their repeats in the series, not in `count`.
        count: event
            .count
            .or_else(|| series.and_then(|s| s.count))
            .map(i64::from),
        first_seen: event
            .first_timestamp
            .as_ref()
            .map(time_text)
            .or_else(|| event_time.clone()),
        last_seen: event
            .last_timestamp
            .as_ref()
            .map(time_text)
            .or_else(|| {
                series
                    .and_then(|s| s.last_observed_time.as_ref())
                    .map(micro_time_text)
            })
            .or(event_time)
            .or_else(|| event.first_timestamp.as_ref().map(time_text)),
    }
}

// ---- workloads

/// A replica count the API leaves out when it is zero: zero once the status exists, unknown
/// before.
fn count_or_zero(status_present: bool, count: Option<i32>) -> Option<i64> {
    status_present.then(|| i64::from(count.unwrap_or(0)))
}

pub fn deployment_view(deployment: &Deployment) -> view::Workload {
    let meta = &deployment.metadata;
    let spec = &deployment.spec;
    let status = deployment.status.as_ref();
    view::Workload {
        kind: "Deployment".to_owned(),
        namespace: namespace_of(meta),
        name: name_of(meta),
        owner: owner_of(meta),
        // The API server fills in `replicas`; without it (a partial object) the count is unknown.
        desired: spec.replicas.map(i64::from),
        ready: count_or_zero(status.is_some(), status.and_then(|s| s.ready_replicas)),
        available: count_or_zero(status.is_some(), status.and_then(|s| s.available_replicas)),
        updated: count_or_zero(status.is_some(), status.and_then(|s| s.updated_replicas)),
        revision: revision_of(meta),
        conditions: conditions_view!(status),
        images: template_images(Some(&spec.template)),
        requests: template_requests(Some(&spec.template)),
        selector: match_labels(Some(&spec.selector)),
    }
}

pub fn replicaset_view(replicaset: &ReplicaSet) -> view::Workload {
    let meta = &replicaset.metadata;
    let spec = &replicaset.spec;
    let status = replicaset.status.as_ref();
    view::Workload {
        kind: "ReplicaSet".to_owned(),
        namespace: namespace_of(meta),
        name: name_of(meta),
        owner: owner_of(meta),
        desired: spec.replicas.map(i64::from),
        ready: count_or_zero(status.is_some(), status.and_then(|s| s.ready_replicas)),
        available: count_or_zero(status.is_some(), status.and_then(|s| s.available_replicas)),
        // A ReplicaSet's pods all run its one template.
        updated: status.map(|s| i64::from(s.replicas)),
        revision: revision_of(meta),
        conditions: conditions_view!(status),
        images: template_images(spec.template.as_ref()),
        requests: template_requests(spec.template.as_ref()),
        selector: match_labels(Some(&spec.selector)),
    }
}

pub fn statefulset_view(statefulset: &StatefulSet) -> view::Workload {
    let meta = &statefulset.metadata;
    let spec = &statefulset.spec;
    let status = statefulset.status.as_ref();
    view::Workload {
        kind: "StatefulSet".to_owned(),
        namespace: namespace_of(meta),
        name: name_of(meta),
        owner: owner_of(meta),
        desired: spec.replicas.map(i64::from),
        ready: count_or_zero(status.is_some(), status.and_then(|s| s.ready_replicas)),
        available: count_or_zero(status.is_some(), status.and_then(|s| s.available_replicas)),
        updated: count_or_zero(status.is_some(), status.and_then(|s| s.updated_replicas)),
        // Its revisions are controller-revision hashes, not numbers.
        revision: None,
        conditions: conditions_view!(status),
        images: template_images(Some(&spec.template)),
        requests: template_requests(Some(&spec.template)),
        selector: match_labels(Some(&spec.selector)),
    }
}

pub fn daemonset_view(daemonset: &DaemonSet) -> view::Workload {
    let meta = &daemonset.metadata;
    let spec = &daemonset.spec;
    let status = daemonset.status.as_ref();
    view::Workload {
        kind: "DaemonSet".to_owned(),
        namespace: namespace_of(meta),
        name: name_of(meta),
        owner: owner_of(meta),
        // A DaemonSet wants one pod per eligible node, which only its status knows.
        desired: status.map(|s| i64::from(s.desired_number_scheduled)),
        ready: status.map(|s| i64::from(s.number_ready)),
        available: count_or_zero(status.is_some(), status.and_then(|s| s.number_available)),
        updated: count_or_zero(
            status.is_some(),
            status.and_then(|s| s.updated_number_scheduled),
        ),
        revision: None,
        conditions: conditions_view!(status),
        images: template_images(Some(&spec.template)),
        requests: template_requests(Some(&spec.template)),
        selector: match_labels(Some(&spec.selector)),
    }
}

pub fn job_view(job: &Job) -> view::Job {
    let meta = &job.metadata;
    let spec = job.spec.as_ref();
    let status = job.status.as_ref();
    view::Job {
        namespace: namespace_of(meta),
        name: name_of(meta),
        owner: owner_of(meta),
        active: status.and_then(|s| s.active).map(i64::from),
        succeeded: status.and_then(|s| s.succeeded).map(i64::from),
        failed: status.and_then(|s| s.failed).map(i64::from),
        backoff_limit: spec.and_then(|s| s.backoff_limit).map(i64::from),
        conditions: conditions_view!(status),
    }
}

// ---- storage, network, scaling, quotas

pub fn pvc_view(pvc: &PersistentVolumeClaim) -> view::Pvc {
    let spec = pvc.spec.as_ref();
    view::Pvc {
        namespace: namespace_of(&pvc.metadata),
        name: name_of(&pvc.metadata),
        phase: pvc.status.as_ref().and_then(|s| s.phase.clone()),
        storage_class: spec.and_then(|s| s.storage_class_name.clone()),
        requested: spec
            .and_then(|s| s.resources.as_ref())
            .and_then(|r| r.requests.as_ref())
            .and_then(|r| r.get("storage"))
            .map(|q| q.0.clone()),
    }
}

/// A Service with its Endpoints' address counts; without Endpoints the counts are unknown, not
/// zero.
pub fn service_view(service: &Service, endpoints: Option<&Endpoints>) -> view::Service {
    let subsets = endpoints.map(|e| e.subsets.as_deref().unwrap_or_default());
    let count = |pick: fn(&k8s_openapi::api::core::v1::EndpointSubset) -> usize| {
        subsets.map(|subsets| subsets.iter().map(pick).sum::<usize>() as i64)
    };
    view::Service {
        namespace: namespace_of(&service.metadata),
        name: name_of(&service.metadata),
        selector: service
            .spec
            .as_ref()
            .and_then(|s| s.selector.clone())
            .unwrap_or_default(),
        ready_endpoints: count(|s| s.addresses.as_ref().map_or(0, Vec::len)),
        not_ready_endpoints: count(|s| s.not_ready_addresses.as_ref().map_or(0, Vec::len)),
    }
}

pub fn hpa_view(hpa: &HorizontalPodAutoscaler) -> view::Hpa {
    let meta = &hpa.metadata;
    let spec = &hpa.spec;
    let status = hpa.status.as_ref();
    let target = &spec.scale_target_ref;
    view::Hpa {
        namespace: namespace_of(meta),
        name: name_of(meta),
        // A partial object's missing spec reads as empty: no target, no maximum.
        target: (!target.name.is_empty())
            .then(|| ObjectRef::new(&target.kind, meta.namespace.as_deref(), &target.name)),
        min_replicas: spec.min_replicas.map(i64::from),
        max_replicas: (spec.max_replicas > 0).then_some(i64::from(spec.max_replicas)),
        current_replicas: status.and_then(|s| s.current_replicas).map(i64::from),
        desired_replicas: status.map(|s| i64::from(s.desired_replicas)),
        conditions: conditions_view!(status),
    }
}

pub fn quota_view(quota: &ResourceQuota) -> view::Quota {
    let status = quota.status.as_ref();
    let hard = quantities(status.and_then(|s| s.hard.as_ref()));
    view::Quota {
        namespace: namespace_of(&quota.metadata),
        name: name_of(&quota.metadata),
        // Before the quota controller first reports, only the spec knows the limits.
        hard: if hard.is_empty() {
            quantities(quota.spec.as_ref().and_then(|s| s.hard.as_ref()))
        } else {
            hard
        },
        used: quantities(status.and_then(|s| s.used.as_ref())),
    }
}

// ---- choices of the live reader

/// Whether a Service's (or controller's) label selector picks a pod with `labels`. An empty
/// selector selects nothing here: such Services have hand-managed endpoints.
pub fn selects(selector: &BTreeMap<String, String>, labels: &BTreeMap<String, String>) -> bool {
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// Keeps at most `cap` pods: the one named first, then those not ready (the ones an analysis
/// needs), then by name so repeated readings agree. Returns how many were left out.
pub fn keep_pods(pods: &mut Vec<view::Pod>, first: Option<&str>, cap: usize) -> usize {
    pods.sort_by(|a, b| {
        let key = |p: &view::Pod| (Some(p.name.as_str()) != first, p.ready(), p.name.clone());
        key(a).cmp(&key(b))
    });
    pods.dedup_by(|a, b| a.name == b.name && a.namespace == b.namespace);
    let dropped = pods.len().saturating_sub(cap);
    pods.truncate(cap);
    dropped
}

/// One container log to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRequest {
    pub namespace: String,
    pub pod: String,
    pub container: String,
    /// The terminated previous instance's log rather than the current one's.
    pub previous: bool,
}

/// Which container logs tell something, at most `max`, in pod order with the named container
/// first: a container that failed now (its current log is the one that ended), else one that
/// restarted (the previous instance's log says why it died). A container waiting without ever
/// having run has no log to read, and a running or cleanly finished one (a completed init
/// container) has nothing to explain.
pub fn log_requests(pods: &[view::Pod], container: Option<&str>, max: usize) -> Vec<LogRequest> {
    let mut requests: Vec<(bool, LogRequest)> = Vec::new();
    for pod in pods {
        for c in pod.all_containers() {
            let failed_now = c
                .state
                .terminated
                .as_ref()
                .is_some_and(|t| t.exit_code != Some(0));
            let previous = if failed_now {
                false
            } else if c.restart_count > 0 {
                true
            } else {
                continue;
            };
            requests.push((
                Some(c.name.as_str()) != container,
                LogRequest {
                    namespace: pod.namespace.clone(),
                    pod: pod.name.clone(),
                    container: c.name.clone(),
                    previous,
                },
            ));
        }
    }
    // Stable: pod order is kept within each group.
    requests.sort_by_key(|(other, _)| *other);
    requests.into_iter().take(max).map(|(_, r)| r).collect()
}

/// The objects whose events an analysis reads: the namespaced ones by kind and name, nodes by
/// name, and name prefixes (a workload's pods, including those replaced since).
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    objects: BTreeSet<(String, String)>,
    prefixes: Vec<String>,
}

impl EventFilter {
    pub fn object(&mut self, kind: &str, name: &str) {
        self.objects.insert((kind.to_owned(), name.to_owned()));
    }

    /// Objects named `prefix-…` of any kind (a Deployment's ReplicaSets and pods).
    pub fn prefix(&mut self, name: &str) {
        let prefix = format!("{name}-");
        if !self.prefixes.contains(&prefix) {
            self.prefixes.push(prefix);
        }
    }

    /// Everything in the snapshot.
    pub fn snapshot(&mut self, snapshot: &view::Snapshot) {
        for pod in &snapshot.pods {
            self.object("Pod", &pod.name);
        }
        for workload in &snapshot.workloads {
            self.object(&workload.kind, &workload.name);
        }
        for job in &snapshot.jobs {
            self.object("Job", &job.name);
        }
        for pvc in &snapshot.pvcs {
            self.object("PersistentVolumeClaim", &pvc.name);
        }
        for service in &snapshot.services {
            self.object("Service", &service.name);
            self.object("Endpoints", &service.name);
        }
        for hpa in &snapshot.hpas {
            self.object("HorizontalPodAutoscaler", &hpa.name);
        }
        for node in &snapshot.nodes {
            self.object("Node", &node.name);
        }
    }

    pub fn keeps(&self, event: &Event) -> bool {
        let object = &event.involved_object;
        let kind = object.kind.as_deref().unwrap_or_default();
        let name = object.name.as_deref().unwrap_or_default();
        self.objects.contains(&(kind.to_owned(), name.to_owned()))
            || self.prefixes.iter().any(|p| name.starts_with(p.as_str()))
    }
}

/// The newest `max` events, oldest first as the analyzers read them.
pub fn newest_events(mut events: Vec<Event>, max: usize) -> Vec<Event> {
    events.sort_by_key(crate::tools::event_time);
    let skip = events.len().saturating_sub(max);
    events.split_off(skip)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde::de::DeserializeOwned;
    use serde_json::{Value, json};

    fn from<T: DeserializeOwned>(value: Value) -> T {
        serde_json::from_value(value).unwrap()
    }

    fn crash_looping_pod() -> Pod {
        from(json!({
            "metadata": {
                "name": "api-5d8-x", "namespace": "shop", "labels": {"app": "api"},
                "ownerReferences": [
                    {"apiVersion": "v1", "kind": "ConfigMap", "name": "cm", "uid": "0"},
                    {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "api-5d8",
                     "uid": "1", "controller": true}]
            },
            "spec": {
                "nodeName": "n1",
                "nodeSelector": {"pool": "web"},
                "tolerations": [
                    {"key": "dedicated", "operator": "Equal", "value": "web",
                     "effect": "NoSchedule"},
                    {"operator": "Exists"}],
                "initContainers": [{"name": "migrate", "image": "shop/migrate:1",
                    "envFrom": [{"secretRef": {"name": "db-creds"}}]}],
                "containers": [{
                    "name": "api", "image": "shop/api:2",
                    "resources": {"limits": {"memory": "512Mi", "cpu": "1"},
                                  "requests": {"cpu": "250m"}},
                    "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080},
                                      "periodSeconds": 10, "timeoutSeconds": 1,
                                      "failureThreshold": 3},
                    "readinessProbe": {"tcpSocket": {"port": "http"}},
                    "envFrom": [{"configMapRef": {"name": "api-env"}}],
                    "env": [
                        {"name": "A", "value": "1"},
                        {"name": "B", "valueFrom": {"secretKeyRef": {"name": "db-creds",
                                                                      "key": "pw"}}},
                        {"name": "C", "valueFrom": {"configMapKeyRef": {"name": "flags",
                                                                         "key": "c"}}}]
                }],
                "volumes": [
                    {"name": "data", "persistentVolumeClaim": {"claimName": "api-data"}},
                    {"name": "conf", "configMap": {"name": "api-conf"}},
                    {"name": "tls", "secret": {"secretName": "api-tls"}},
                    {"name": "all", "projected": {"sources": [
                        {"configMap": {"name": "ca"}}, {"secret": {"name": "api-tls"}}]}}]
            },
            "status": {
                "phase": "Running", "startTime": "2026-01-01T00:00:00Z",
                "conditions": [{"type": "Ready", "status": "False",
                                "reason": "ContainersNotReady",
                                "lastTransitionTime": "2026-01-01T00:01:00Z"}],
                "initContainerStatuses": [{
                    "name": "migrate", "image": "shop/migrate:1", "imageID": "",
                    "ready": true, "restartCount": 0,
                    "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}],
                "containerStatuses": [{
                    "name": "api", "image": "shop/api:2", "imageID": "", "ready": false,
                    "restartCount": 4,
                    "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off"}},
                    "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137,
                                                 "finishedAt": "2026-01-01T00:02:00Z"}}}]
            }
        }))
    }

    #[test]
    fn a_crash_looping_pod() {
        let pod = pod_view(&crash_looping_pod());
        assert_eq!(
            (pod.namespace.as_str(), pod.name.as_str()),
            ("shop", "api-5d8-x")
        );
        assert_eq!(
            pod.owner,
            Some(ObjectRef::new("ReplicaSet", Some("shop"), "api-5d8"))
        );
        assert_eq!(pod.node.as_deref(), Some("n1"));
        assert_eq!(pod.phase.as_deref(), Some("Running"));
        assert_eq!(pod.start_time.as_deref(), Some("2026-01-01T00:00:00Z"));
        assert!(!pod.ready());
        assert_eq!(
            pod.conditions[0].reason.as_deref(),
            Some("ContainersNotReady")
        );
        assert_eq!(
            pod.conditions[0].last_transition.as_deref(),
            Some("2026-01-01T00:01:00Z")
        );
        assert_eq!(pod.claims, vec!["api-data".to_owned()]);
        assert_eq!(pod.node_selector["pool"], "web");
        assert_eq!(pod.tolerations, vec!["dedicated=web:NoSchedule", "*"]);
        let refs: Vec<String> = pod.config_refs.iter().map(|r| r.to_string()).collect();
        assert_eq!(
            refs,
            vec![
                "ConfigMap shop/api-conf",
                "Secret shop/api-tls",
                "ConfigMap shop/ca",
                "Secret shop/db-creds",
                "ConfigMap shop/api-env",
                "ConfigMap shop/flags",
            ]
        );

        let api = &pod.containers[0];
        assert_eq!(api.image.as_deref(), Some("shop/api:2"));
        assert_eq!(api.ready, Some(false));
        assert_eq!(api.restart_count, 4);
        let waiting = api.state.waiting.as_ref().unwrap();
        assert_eq!(waiting.reason.as_deref(), Some("CrashLoopBackOff"));
        let last = api.last_state.as_ref().unwrap();
        assert_eq!(last.reason.as_deref(), Some("OOMKilled"));
        assert_eq!(last.exit_code, Some(137));
        assert_eq!(last.finished_at.as_deref(), Some("2026-01-01T00:02:00Z"));
        assert_eq!(api.limits["memory"], "512Mi");
        assert_eq!(api.limits["cpu"], "1");
        assert_eq!(api.requests["cpu"], "250m");
        assert_eq!(
            api.liveness_probe.as_deref(),
            Some("httpGet :8080/healthz period 10s timeout 1s failures 3")
        );
        assert_eq!(api.readiness_probe.as_deref(), Some("tcpSocket :http"));

        let migrate = &pod.init_containers[0];
        assert_eq!(migrate.name, "migrate");
        assert_eq!(
            migrate.state.terminated.as_ref().unwrap().reason.as_deref(),
            Some("Completed")
        );
    }

    #[test]
    fn pods_missing_optional_fields() {
        let bare = pod_view(&from(json!({"metadata": {"name": "p"}})));
        assert_eq!(bare.name, "p");
        assert_eq!(bare.namespace, "");
        assert_eq!(bare.phase, None);
        assert_eq!(bare.owner, None);
        assert_eq!(bare.node, None);
        assert!(bare.containers.is_empty() && bare.conditions.is_empty());

        // Scheduled nowhere yet: a container without a status.
        let pending = pod_view(&from(json!({
            "metadata": {"name": "p", "namespace": "d"},
            "spec": {"containers": [{"name": "c"}]},
            "status": {"phase": "Pending"}
        })));
        let c = &pending.containers[0];
        assert_eq!((c.image.clone(), c.ready, c.restart_count), (None, None, 0));
        assert_eq!(c.state, view::ContainerState::default());
        assert_eq!(c.last_state, None);
        assert!(c.limits.is_empty() && c.liveness_probe.is_none());
    }

    #[test]
    fn probes_in_a_few_words() {
        let table = [
            (
                json!({"httpGet": {"path": "/ready", "port": 443, "scheme": "HTTPS"},
                       "initialDelaySeconds": 5}),
                "httpGet https :443/ready delay 5s",
            ),
            (json!({"tcpSocket": {"port": 5432}}), "tcpSocket :5432"),
            (
                json!({"grpc": {"port": 9000, "service": "health"}, "periodSeconds": 5}),
                "grpc :9000 health period 5s",
            ),
            (
                json!({"exec": {"command": ["cat", "/tmp/healthy"]}}),
                "exec cat /tmp/healthy",
            ),
            (json!({}), "probe"),
        ];
        for (probe, want) in table {
            assert_eq!(probe_text(&from(probe.clone())), want, "{probe}");
        }
        let long: Probe = from(json!({"exec": {"command": ["sh", "-c", "x".repeat(200)]}}));
        assert!(probe_text(&long).ends_with('…'));
    }

    #[test]
    fn nodes() {
        let node = node_view(&from(json!({
            "metadata": {"name": "n1", "labels": {"zone": "a"}},
            "spec": {"unschedulable": true, "taints": [
                {"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"},
                {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]},
            "status": {
                "conditions": [{"type": "Ready", "status": "Unknown",
                                "reason": "NodeStatusUnknown",
                                "lastHeartbeatTime": "2026-01-01T03:00:00Z",
                                "lastTransitionTime": "2026-01-01T03:01:00Z"}],
                "allocatable": {"memory": "7Gi", "cpu": "3800m"},
                "capacity": {"memory": "8Gi", "cpu": "4"}}
        })));
        assert_eq!(node.name, "n1");
        assert!(node.unschedulable);
        assert_eq!(
            node.taints,
            vec![
                "node.kubernetes.io/not-ready:NoExecute",
                "dedicated=gpu:NoSchedule"
            ]
        );
        let ready = node.ready().unwrap();
        assert!(ready.is("Unknown"));
        assert_eq!(
            ready.last_heartbeat.as_deref(),
            Some("2026-01-01T03:00:00Z")
        );
        assert_eq!(
            ready.last_transition.as_deref(),
            Some("2026-01-01T03:01:00Z")
        );
        assert_eq!(node.allocatable["cpu"], "3800m");
        assert_eq!(node.capacity["memory"], "8Gi");
        assert_eq!(node.labels["zone"], "a");

        let bare = node_view(&from(json!({"metadata": {"name": "n2"}})));
        assert!(!bare.unschedulable && bare.taints.is_empty() && bare.ready().is_none());
    }

    #[test]
    fn events_from_either_api() {
        type Row = (
            Value,
            &'static str,
            Option<i64>,
            Option<&'static str>,
            Option<&'static str>,
        );
        let table: Vec<Row> = vec![
            // core/v1 with counts and timestamps
            (
                json!({"metadata": {"name": "e1", "namespace": "shop"},
                       "involvedObject": {"kind": "Pod", "namespace": "shop", "name": "api-1"},
                       "type": "Warning", "reason": "BackOff", "message": "Back-off",
                       "count": 7, "firstTimestamp": "2026-01-01T00:00:00Z",
                       "lastTimestamp": "2026-01-01T00:05:00Z"}),
                "Pod shop/api-1",
                Some(7),
                Some("2026-01-01T00:00:00Z"),
                Some("2026-01-01T00:05:00Z"),
            ),
            // events.k8s.io-style: eventTime and a series, node with an empty namespace
            (
                json!({"metadata": {"name": "e2", "namespace": "default"},
                       "involvedObject": {"kind": "Node", "namespace": "", "name": "n1"},
                       "type": "Normal", "reason": "NodeNotReady",
                       "eventTime": "2026-01-01T00:00:00.123456Z",
                       "series": {"count": 3, "lastObservedTime": "2026-01-01T00:09:00.000001Z"}}),
                "Node n1",
                Some(3),
                Some("2026-01-01T00:00:00Z"),
                Some("2026-01-01T00:09:00Z"),
            ),
            // nothing optional
            (
                json!({"metadata": {"name": "e3"}, "involvedObject": {}}),
                "",
                None,
                None,
                None,
            ),
        ];
        for (event, object, count, first, last) in table {
            let got = event_view(&from(event.clone()));
            assert_eq!(got.object.to_string().trim(), object, "{event}");
            assert_eq!(got.count, count, "{event}");
            assert_eq!(got.first_seen.as_deref(), first, "{event}");
            assert_eq!(got.last_seen.as_deref(), last, "{event}");
        }
        let warning = event_view(&from(
            json!({"involvedObject": {"kind": "Pod", "name": "p"},
                                              "metadata": {}, "type": "Warning",
                                              "reason": "Failed"}),
        ));
        assert!(warning.is_warning());
        assert_eq!(warning.reason, "Failed");
    }

    #[test]
    fn workloads() {
        let deployment = deployment_view(&from(json!({
            "metadata": {"name": "api", "namespace": "shop",
                         "annotations": {"deployment.kubernetes.io/revision": "4"}},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "api"}},
                     "template": {"spec": {"containers": [{"name": "api", "image": "shop/api:2"}]}}},
            "status": {"replicas": 3, "readyReplicas": 1, "updatedReplicas": 3,
                       "conditions": [{"type": "Progressing", "status": "False",
                                       "reason": "ProgressDeadlineExceeded"}]}
        })));
        assert_eq!(deployment.object().to_string(), "Deployment shop/api");
        assert_eq!(
            (
                deployment.desired,
                deployment.ready,
                deployment.available,
                deployment.updated
            ),
            (Some(3), Some(1), Some(0), Some(3))
        );
        assert_eq!(deployment.revision, Some(4));
        assert_eq!(deployment.images, vec!["shop/api:2"]);
        assert_eq!(deployment.selector["app"], "api");
        assert_eq!(
            deployment.conditions[0].reason.as_deref(),
            Some("ProgressDeadlineExceeded")
        );

        let replicaset = replicaset_view(&from(json!({
            "metadata": {"name": "api-5d8", "namespace": "shop",
                         "annotations": {"deployment.kubernetes.io/revision": "3"},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
                                              "name": "api", "uid": "d", "controller": true}]},
            "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "api", "h": "5d8"}}},
            "status": {"replicas": 0}
        })));
        assert_eq!(replicaset.kind, "ReplicaSet");
        assert_eq!(replicaset.revision, Some(3));
        assert_eq!(
            replicaset.owner,
            Some(ObjectRef::new("Deployment", Some("shop"), "api"))
        );
        assert_eq!((replicaset.desired, replicaset.ready), (Some(0), Some(0)));

        let statefulset = statefulset_view(&from(json!({
            "metadata": {"name": "db", "namespace": "shop"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "db"}}, "serviceName": "db",
                     "template": {"spec": {"containers": [{"name": "db", "image": "pg:16"}]}}},
            "status": {"replicas": 1, "readyReplicas": 1, "availableReplicas": 1}
        })));
        assert_eq!(
            (
                statefulset.desired,
                statefulset.ready,
                statefulset.available
            ),
            (Some(1), Some(1), Some(1))
        );
        assert_eq!(statefulset.revision, None);

        let daemonset = daemonset_view(&from(json!({
            "metadata": {"name": "agent", "namespace": "ops"},
            "spec": {"selector": {"matchLabels": {"app": "agent"}},
                     "template": {"spec": {"containers": [{"name": "a", "image": "agent:1"}]}}},
            "status": {"desiredNumberScheduled": 5, "currentNumberScheduled": 5,
                       "numberMisscheduled": 0, "numberReady": 4, "numberAvailable": 4,
                       "updatedNumberScheduled": 5}
        })));
        assert_eq!(
            (
                daemonset.desired,
                daemonset.ready,
                daemonset.available,
                daemonset.updated
            ),
            (Some(5), Some(4), Some(4), Some(5))
        );

        // No spec, no status: every count unknown.
        let bare: Vec<view::Workload> = vec![
            deployment_view(&from(json!({"metadata": {"name": "a"}}))),
            replicaset_view(&from(json!({"metadata": {"name": "b"}}))),
            statefulset_view(&from(json!({"metadata": {"name": "c"}}))),
            daemonset_view(&from(json!({"metadata": {"name": "d"}}))),
        ];
        for workload in bare {
            assert_eq!(
                (
                    workload.desired,
                    workload.ready,
                    workload.available,
                    workload.updated
                ),
                (None, None, None, None),
                "{}",
                workload.kind
            );
            assert_eq!(workload.revision, None);
            assert!(workload.images.is_empty() && workload.selector.is_empty());
        }
    }

    #[test]
    fn jobs() {
        let job = job_view(&from(json!({
            "metadata": {"name": "report-1", "namespace": "ops",
                         "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob",
                                              "name": "report", "uid": "c", "controller": true}]},
            "spec": {"backoffLimit": 2, "template": {"spec": {"containers": []}}},
            "status": {"failed": 3, "conditions": [{"type": "Failed", "status": "True",
                                                    "reason": "BackoffLimitExceeded"}]}
        })));
        assert_eq!(
            job.owner,
            Some(ObjectRef::new("CronJob", Some("ops"), "report"))
        );
        assert_eq!(
            (job.failed, job.backoff_limit, job.active),
            (Some(3), Some(2), None)
        );
        assert_eq!(
            job.conditions[0].reason.as_deref(),
            Some("BackoffLimitExceeded")
        );

        let bare = job_view(&from(json!({"metadata": {"name": "j"}})));
        assert_eq!(
            (bare.failed, bare.backoff_limit, bare.owner),
            (None, None, None)
        );
    }

    #[test]
    fn claims_services_autoscalers_quotas() {
        let pvc = pvc_view(&from(json!({
            "metadata": {"name": "data", "namespace": "shop"},
            "spec": {"storageClassName": "fast", "resources": {"requests": {"storage": "10Gi"}}},
            "status": {"phase": "Pending"}
        })));
        assert_eq!(pvc.phase.as_deref(), Some("Pending"));
        assert_eq!(pvc.storage_class.as_deref(), Some("fast"));
        assert_eq!(pvc.requested.as_deref(), Some("10Gi"));
        let bare = pvc_view(&from(json!({"metadata": {"name": "x"}})));
        assert_eq!(
            (bare.phase, bare.storage_class, bare.requested),
            (None, None, None)
        );

        let service: Service = from(json!({
            "metadata": {"name": "api", "namespace": "shop"},
            "spec": {"selector": {"app": "api"}}
        }));
        let endpoints: Endpoints = from(json!({
            "metadata": {"name": "api", "namespace": "shop"},
            "subsets": [
                {"addresses": [{"ip": "10.0.0.1"}], "notReadyAddresses": [{"ip": "10.0.0.2"}]},
                {"addresses": [{"ip": "10.0.0.3"}]}]
        }));
        let seen = service_view(&service, Some(&endpoints));
        assert_eq!(
            (seen.ready_endpoints, seen.not_ready_endpoints),
            (Some(2), Some(1))
        );
        assert_eq!(seen.selector["app"], "api");
        let empty: Endpoints = from(json!({"metadata": {"name": "api"}}));
        let none_ready = service_view(&service, Some(&empty));
        assert_eq!(
            (none_ready.ready_endpoints, none_ready.not_ready_endpoints),
            (Some(0), Some(0))
        );
        let unread = service_view(&service, None);
        assert_eq!(
            (unread.ready_endpoints, unread.not_ready_endpoints),
            (None, None)
        );

        let hpa = hpa_view(&from(json!({
            "metadata": {"name": "api", "namespace": "shop"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                        "name": "api"},
                     "minReplicas": 2, "maxReplicas": 5},
            "status": {"currentReplicas": 5, "desiredReplicas": 5,
                       "conditions": [{"type": "ScalingLimited", "status": "True",
                                       "reason": "TooManyReplicas"}]}
        })));
        assert_eq!(
            hpa.target,
            Some(ObjectRef::new("Deployment", Some("shop"), "api"))
        );
        assert_eq!(
            (
                hpa.min_replicas,
                hpa.max_replicas,
                hpa.current_replicas,
                hpa.desired_replicas
            ),
            (Some(2), Some(5), Some(5), Some(5))
        );
        assert_eq!(hpa.conditions[0].kind, "ScalingLimited");
        let bare = hpa_view(&from(json!({"metadata": {"name": "h"}})));
        assert_eq!(
            (bare.target, bare.max_replicas, bare.desired_replicas),
            (None, None, None)
        );

        let quota = quota_view(&from(json!({
            "metadata": {"name": "q", "namespace": "shop"},
            "spec": {"hard": {"pods": "10"}},
            "status": {"hard": {"pods": "10"}, "used": {"pods": "10"}}
        })));
        assert_eq!(
            (quota.hard["pods"].as_str(), quota.used["pods"].as_str()),
            ("10", "10")
        );
        let unreported = quota_view(&from(json!({"metadata": {"name": "q"},
                                                 "spec": {"hard": {"cpu": "4"}}})));
        assert_eq!(unreported.hard["cpu"], "4");
        assert!(unreported.used.is_empty());
    }

    #[test]
    fn selectors_pick_pods() {
        let map = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect()
        };
        let labels = map(&[("app", "api"), ("tier", "web")]);
        assert!(selects(&map(&[("app", "api")]), &labels));
        assert!(selects(&map(&[("app", "api"), ("tier", "web")]), &labels));
        assert!(!selects(&map(&[("app", "db")]), &labels));
        assert!(!selects(&map(&[("app", "api"), ("zone", "a")]), &labels));
        assert!(!selects(&map(&[]), &labels));
    }

    fn pod_with(name: &str, ready: bool, containers: Vec<view::Container>) -> view::Pod {
        view::Pod {
            namespace: "shop".into(),
            name: name.into(),
            conditions: vec![Condition {
                kind: "Ready".into(),
                status: if ready { "True" } else { "False" }.into(),
                ..Condition::default()
            }],
            containers,
            ..view::Pod::default()
        }
    }

    #[test]
    fn the_cap_keeps_the_named_pod_then_the_unready() {
        let mut pods = vec![
            pod_with("a", true, vec![]),
            pod_with("b", false, vec![]),
            pod_with("c", true, vec![]),
            pod_with("d", false, vec![]),
            pod_with("c", true, vec![]),
        ];
        let dropped = keep_pods(&mut pods, Some("c"), 3);
        let names: Vec<&str> = pods.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, vec!["c", "b", "d"]);
        assert_eq!(dropped, 1);
        let mut few = vec![pod_with("a", true, vec![])];
        assert_eq!(keep_pods(&mut few, None, 20), 0);
    }

    #[test]
    fn logs_worth_reading() {
        let container = |name: &str, restarts: i64, state: view::ContainerState| view::Container {
            name: name.into(),
            restart_count: restarts,
            state,
            ..view::Container::default()
        };
        let waiting = view::ContainerState {
            waiting: Some(view::Waiting::default()),
            ..view::ContainerState::default()
        };
        let ended = |exit_code: i64| view::ContainerState {
            terminated: Some(view::Terminated {
                exit_code: Some(exit_code),
                ..view::Terminated::default()
            }),
            ..view::ContainerState::default()
        };
        let running = view::ContainerState {
            running: Some(view::Running::default()),
            ..view::ContainerState::default()
        };
        let mut p2 = pod_with(
            "p2",
            false,
            vec![
                container("app", 0, ended(1)),
                container("proxy", 1, running.clone()),
            ],
        );
        p2.init_containers = vec![container("migrate", 0, ended(0))];
        let pods = vec![
            pod_with(
                "p1",
                false,
                vec![
                    container("app", 3, waiting.clone()),
                    container("sidecar", 0, running.clone()),
                    container("pull", 0, waiting),
                ],
            ),
            p2,
        ];
        let got = |named: Option<&str>, max: usize| -> Vec<(String, String, bool)> {
            log_requests(&pods, named, max)
                .into_iter()
                .map(|r| (r.pod, r.container, r.previous))
                .collect()
        };
        let row = |p: &str, c: &str, previous: bool| (p.to_owned(), c.to_owned(), previous);
        assert_eq!(
            got(None, 3),
            vec![
                row("p1", "app", true),
                row("p2", "app", false),
                row("p2", "proxy", true)
            ]
        );
        assert_eq!(
            got(Some("proxy"), 2),
            vec![row("p2", "proxy", true), row("p1", "app", true)]
        );
        assert!(log_requests(&[], None, 3).is_empty());
    }

    fn k8s_event(kind: &str, name: &str, last: &str) -> Event {
        from(json!({
            "metadata": {"name": format!("{name}.{last}")},
            "involvedObject": {"kind": kind, "name": name},
            "lastTimestamp": last,
        }))
    }

    #[test]
    fn events_that_matter_newest_kept() {
        let mut filter = EventFilter::default();
        let snapshot = view::Snapshot {
            pods: vec![pod_with("api-1", true, vec![])],
            nodes: vec![view::Node {
                name: "n1".into(),
                ..view::Node::default()
            }],
            ..view::Snapshot::default()
        };
        filter.snapshot(&snapshot);
        filter.prefix("api");
        let table = [
            (k8s_event("Pod", "api-1", "2026-01-01T00:00:00Z"), true),
            (k8s_event("Pod", "api-2-old", "2026-01-01T00:00:00Z"), true),
            (
                k8s_event("ReplicaSet", "api-5d8", "2026-01-01T00:00:00Z"),
                true,
            ),
            (k8s_event("Node", "n1", "2026-01-01T00:00:00Z"), true),
            (k8s_event("Pod", "db-0", "2026-01-01T00:00:00Z"), false),
            (k8s_event("Pod", "apiary", "2026-01-01T00:00:00Z"), false),
        ];
        for (event, keep) in &table {
            assert_eq!(filter.keeps(event), *keep, "{:?}", event.involved_object);
        }

        let events = vec![
            k8s_event("Pod", "b", "2026-01-01T00:02:00Z"),
            k8s_event("Pod", "a", "2026-01-01T00:01:00Z"),
            k8s_event("Pod", "c", "2026-01-01T00:03:00Z"),
        ];
        let kept: Vec<String> = newest_events(events, 2)
            .iter()
            .map(|e| e.involved_object.name.clone().unwrap_or_default())
            .collect();
        assert_eq!(kept, vec!["b", "c"]);
    }
}

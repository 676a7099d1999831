//! What the analyzers read: small views of the cluster objects around an alert, as the read
//! tools saw them (live, or from a recording). Every field is optional or defaulted, so a
//! partial object (a recording that left fields out) still loads and simply proves less.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `Kind/name` in a namespace (none for nodes).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ObjectRef {
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectRef {
    pub fn new(kind: &str, namespace: Option<&str>, name: &str) -> ObjectRef {
        ObjectRef {
            kind: kind.to_owned(),
            namespace: namespace.map(str::to_owned),
            name: name.to_owned(),
        }
    }
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(namespace) => write!(f, "{} {}/{}", self.kind, namespace, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

/// How long after a container's failure it still counts as the trouble now, even if the
/// container runs again: a crash loop's back-off leaves the container running between crashes.
pub const RECENT: chrono::TimeDelta = chrono::TimeDelta::minutes(10);

/// Everything read about one alert's surroundings, and what could not be read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Snapshot {
    pub pods: Vec<Pod>,
    pub nodes: Vec<Node>,
    pub events: Vec<Event>,
    /// Deployments, StatefulSets, DaemonSets and ReplicaSets.
    pub workloads: Vec<Workload>,
    pub jobs: Vec<Job>,
    pub pvcs: Vec<Pvc>,
    pub services: Vec<Service>,
    pub hpas: Vec<Hpa>,
    pub quotas: Vec<Quota>,
    pub logs: Vec<Logs>,
    /// What could not be read or mapped, in a sentence each (a recording that is not JSON, a
    /// tool that failed): the analysis says what it could not see.
    pub gaps: Vec<String>,
    /// When it was read from a live cluster (`None` for a recording): what "recently" is
    /// measured from, so a container that crashed a minute ago and runs again between crashes
    /// is not taken for recovered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub taken_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl Snapshot {
    pub fn is_empty(&self) -> bool {
        self.pods.is_empty()
            && self.nodes.is_empty()
            && self.events.is_empty()
            && self.workloads.is_empty()
            && self.jobs.is_empty()
            && self.pvcs.is_empty()
            && self.services.is_empty()
            && self.hpas.is_empty()
            && self.quotas.is_empty()
            && self.logs.is_empty()
    }

    /// Adds `other`'s objects; an object already present (same kind, namespace and name) is
    /// replaced by the newer reading.
    pub fn merge(&mut self, other: Snapshot) {
        fn upsert<T>(into: &mut Vec<T>, from: Vec<T>, key: impl Fn(&T) -> (String, String)) {
            for item in from {
                let k = key(&item);
                match into.iter_mut().find(|existing| key(existing) == k) {
                    Some(existing) => *existing = item,
                    None => into.push(item),
                }
            }
        }
        upsert(&mut self.pods, other.pods, |p| {
            (p.namespace.clone(), p.name.clone())
        });
        upsert(&mut self.nodes, other.nodes, |n| {
            (String::new(), n.name.clone())
        });
        upsert(&mut self.workloads, other.workloads, |w| {
            (w.namespace.clone(), format!("{}/{}", w.kind, w.name))
        });
        upsert(&mut self.jobs, other.jobs, |j| {
            (j.namespace.clone(), j.name.clone())
        });
        upsert(&mut self.pvcs, other.pvcs, |p| {
            (p.namespace.clone(), p.name.clone())
        });
        upsert(&mut self.services, other.services, |s| {
            (s.namespace.clone(), s.name.clone())
        });
        upsert(&mut self.hpas, other.hpas, |h| {
            (h.namespace.clone(), h.name.clone())
        });
        upsert(&mut self.quotas, other.quotas, |q| {
            (q.namespace.clone(), q.name.clone())
        });
        for event in other.events {
            if !self.events.contains(&event) {
                self.events.push(event);
            }
        }
        for logs in other.logs {
            if !self.logs.contains(&logs) {
                self.logs.push(logs);
            }
        }
        self.gaps.extend(other.gaps);
        self.taken_at = self.taken_at.max(other.taken_at);
    }

    /// True when `at` (an RFC 3339 time from a status) lies within [`RECENT`] before the
    /// reading. Without a reading time (a recording) nothing counts as recent.
    pub fn is_recent(&self, at: Option<&str>) -> bool {
        let (Some(taken_at), Some(at)) = (self.taken_at, at) else {
            return false;
        };
        chrono::DateTime::parse_from_rfc3339(at)
            .is_ok_and(|at| taken_at.signed_duration_since(at) <= RECENT)
    }

    pub fn pod(&self, namespace: Option<&str>, name: &str) -> Option<&Pod> {
        self.pods
            .iter()
            .find(|p| p.name == name && namespace.is_none_or(|ns| p.namespace == ns))
    }

    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// Events about `object` (matched by kind and name; namespace when both have one).
    pub fn events_of<'a>(&'a self, object: &'a ObjectRef) -> impl Iterator<Item = &'a Event> {
        self.events.iter().filter(move |event| {
            event.object.kind.eq_ignore_ascii_case(&object.kind)
                && event.object.name == object.name
                && match (&event.object.namespace, &object.namespace) {
                    (Some(a), Some(b)) => a == b,
                    _ => true,
                }
        })
    }

    /// Logs of a pod's container (`previous`: the terminated instance's).
    pub fn logs_of(&self, pod: &Pod, container: &str, previous: bool) -> Option<&Logs> {
        self.logs.iter().find(|logs| {
            logs.pod == pod.name
                && logs
                    .namespace
                    .as_deref()
                    .is_none_or(|ns| ns == pod.namespace)
                && logs.container.as_deref().is_none_or(|c| c == container)
                && logs.previous == previous
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Condition {
    #[serde(rename = "type")]
    pub kind: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    pub reason: Option<String>,
    pub message: Option<String>,
    /// Nodes: when the kubelet last reported it.
    pub last_heartbeat: Option<String>,
    pub last_transition: Option<String>,
}

impl Condition {
    pub fn is(&self, status: &str) -> bool {
        self.status.eq_ignore_ascii_case(status)
    }
}

/// The condition `kind` among `conditions`.
pub fn condition<'a>(conditions: &'a [Condition], kind: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.kind == kind)
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Pod {
    pub namespace: String,
    pub name: String,
    pub phase: Option<String>,
    /// Pod-level reason and message (`Evicted`, `NodeLost`, …).
    pub reason: Option<String>,
    pub message: Option<String>,
    pub node: Option<String>,
    /// The controller that owns it (a ReplicaSet, StatefulSet, Job, …).
    pub owner: Option<ObjectRef>,
    pub labels: BTreeMap<String, String>,
    pub start_time: Option<String>,
    pub conditions: Vec<Condition>,
    pub containers: Vec<Container>,
    pub init_containers: Vec<Container>,
    /// Claim names of its PersistentVolumeClaim volumes.
    pub claims: Vec<String>,
    /// Names of ConfigMaps and Secrets it mounts or reads (volumes, envFrom, env refs).
    pub config_refs: Vec<ObjectRef>,
    pub node_selector: BTreeMap<String, String>,
    pub tolerations: Vec<String>,
}

impl Pod {
    pub fn object(&self) -> ObjectRef {
        ObjectRef::new("Pod", Some(&self.namespace), &self.name)
    }

    pub fn all_containers(&self) -> impl Iterator<Item = &Container> {
        self.init_containers.iter().chain(&self.containers)
    }

    /// Ready=True, or every app container ready when no condition was recorded.
    pub fn ready(&self) -> bool {
        match condition(&self.conditions, "Ready") {
            Some(ready) => ready.is("True"),
            None => {
                !self.containers.is_empty() && self.containers.iter().all(|c| c.ready == Some(true))
            }
        }
    }

    pub fn phase_is(&self, phase: &str) -> bool {
        self.phase
            .as_deref()
            .is_some_and(|p| p.eq_ignore_ascii_case(phase))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Container {
    pub name: String,
    pub image: Option<String>,
    pub ready: Option<bool>,
    pub restart_count: i64,
    pub state: ContainerState,
    /// The previous instance's end, when it restarted.
    pub last_state: Option<Terminated>,
    /// `limits.memory`, `requests.cpu`, … as written (`512Mi`, `250m`).
    pub limits: BTreeMap<String, String>,
    pub requests: BTreeMap<String, String>,
    pub liveness_probe: Option<String>,
    pub readiness_probe: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContainerState {
    pub waiting: Option<Waiting>,
    pub running: Option<Running>,
    pub terminated: Option<Terminated>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Waiting {
    pub reason: Option<String>,
    pub message: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Running {
    pub started_at: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Terminated {
    pub reason: Option<String>,
    pub exit_code: Option<i64>,
    pub signal: Option<i64>,
    pub message: Option<String>,
    pub finished_at: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Node {
    pub name: String,
    pub conditions: Vec<Condition>,
    /// Cordoned (`spec.unschedulable`).
    pub unschedulable: bool,
    /// `key=value:Effect`.
    pub taints: Vec<String>,
    pub labels: BTreeMap<String, String>,
    pub allocatable: BTreeMap<String, String>,
    pub capacity: BTreeMap<String, String>,
    /// Pods on it that have not terminated, when they were counted (`kubectl describe node`'s
    /// "Non-terminated Pods", or the pods listed on it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pods: Option<i64>,
}

impl Node {
    pub fn object(&self) -> ObjectRef {
        ObjectRef::new("Node", None, &self.name)
    }

    pub fn ready(&self) -> Option<&Condition> {
        condition(&self.conditions, "Ready")
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Event {
    pub object: ObjectRef,
    /// `Normal` or `Warning`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub reason: String,
    pub message: String,
    pub count: Option<i64>,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
}

impl Event {
    pub fn is_warning(&self) -> bool {
        self.kind
            .as_deref()
            .is_none_or(|k| k.eq_ignore_ascii_case("warning"))
    }
}

/// A Deployment, StatefulSet, DaemonSet or ReplicaSet.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Workload {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub owner: Option<ObjectRef>,
    pub desired: Option<i64>,
    pub ready: Option<i64>,
    pub available: Option<i64>,
    pub updated: Option<i64>,
    /// `deployment.kubernetes.io/revision`, when known.
    pub revision: Option<i64>,
    pub conditions: Vec<Condition>,
    /// Images of its pod template.
    pub images: Vec<String>,
    pub selector: BTreeMap<String, String>,
    /// Resource requests of its pod template's containers (`cpu`, `memory`,
    /// `nvidia.com/gpu`…); a resource several containers request is joined with `+`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub requests: BTreeMap<String, String>,
}

/// Adds `value` of `resource` to a template's requests (see [`Workload::requests`]).
pub fn add_request(requests: &mut BTreeMap<String, String>, resource: &str, value: &str) {
    requests
        .entry(resource.to_owned())
        .and_modify(|existing| {
            existing.push('+');
            existing.push_str(value);
        })
        .or_insert_with(|| value.to_owned());
}

impl Workload {
    pub fn object(&self) -> ObjectRef {
        ObjectRef::new(&self.kind, Some(&self.namespace), &self.name)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Job {
    pub namespace: String,
    pub name: String,
    /// The CronJob that made it.
    pub owner: Option<ObjectRef>,
    pub active: Option<i64>,
    pub succeeded: Option<i64>,
    pub failed: Option<i64>,
    pub backoff_limit: Option<i64>,
    pub conditions: Vec<Condition>,
}

impl Job {
    pub fn object(&self) -> ObjectRef {
        ObjectRef::new("Job", Some(&self.namespace), &self.name)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Pvc {
    pub namespace: String,
    pub name: String,
    /// `Pending`, `Bound`, `Lost`.
    pub phase: Option<String>,
    pub storage_class: Option<String>,
    pub requested: Option<String>,
}

impl Pvc {
    pub fn object(&self) -> ObjectRef {
        ObjectRef::new("PersistentVolumeClaim", Some(&self.namespace), &self.name)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Service {
    pub namespace: String,
    pub name: String,
    pub selector: BTreeMap<String, String>,
    /// Ready endpoint addresses; `None` when the Endpoints were not read.
    pub ready_endpoints: Option<i64>,
    pub not_ready_endpoints: Option<i64>,
}

impl Service {
    pub fn object(&self) -> ObjectRef {
        ObjectRef::new("Service", Some(&self.namespace), &self.name)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Hpa {
    pub namespace: String,
    pub name: String,
    pub target: Option<ObjectRef>,
    pub min_replicas: Option<i64>,
    pub max_replicas: Option<i64>,
    pub current_replicas: Option<i64>,
    pub desired_replicas: Option<i64>,
    pub conditions: Vec<Condition>,
}

impl Hpa {
    pub fn object(&self) -> ObjectRef {
        ObjectRef::new("HorizontalPodAutoscaler", Some(&self.namespace), &self.name)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Quota {
    pub namespace: String,
    pub name: String,
    pub hard: BTreeMap<String, String>,
    pub used: BTreeMap<String, String>,
}

impl Quota {
    pub fn object(&self) -> ObjectRef {
        ObjectRef::new("ResourceQuota", Some(&self.namespace), &self.name)
    }
}

/// A container's log tail.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Logs {
    pub namespace: Option<String>,
    pub pod: String,
    pub container: Option<String>,
    pub previous: bool,
    pub lines: Vec<String>,
}

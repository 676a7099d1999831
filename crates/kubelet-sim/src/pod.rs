//! One pod as the kubelet drives it: volumes mounted (or FailedMount while a Secret/ConfigMap is
//! missing), the sandbox (or FailedCreatePodSandBox in the flaky-sandbox scenario), init
//! containers in order, then the app containers; and the `status` the kubelet would post.
//! Pure: the pod's facts and the world come in as values.

use crate::container::{
    self, ContainerFacts, ContainerSim, EventType, ProbeFacts, RestartPolicy, SimEvent, State,
    Terminated, Timing, rfc3339,
};
use crate::quantity;
use crate::sandbox::{self, SandboxFailure};
use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::{ContainerPort, ContainerState, Pod, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// Annotations that stage faults; see the crate README.
pub const ANNOTATION_MEMORY_DEMAND: &str = "sim.nightwatch.dev/memory-demand";
pub const ANNOTATION_EXIT_CODE: &str = "sim.nightwatch.dev/exit-code";
pub const ANNOTATION_LOG: &str = "sim.nightwatch.dev/log";
pub const ANNOTATION_SANDBOX_FAILURES: &str = "sim.nightwatch.dev/sandbox-failures";
pub const ANNOTATION_LIVENESS: &str = "sim.nightwatch.dev/liveness";
pub const ANNOTATION_READINESS: &str = "sim.nightwatch.dev/readiness";
/// The value of the liveness / readiness annotations that makes the container's probe fail.
pub const PROBE_FAILING: &str = "failing";
/// The working set of a container without a memory-demand annotation.
pub const DEFAULT_MEMORY_DEMAND: u64 = 32 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq)]
pub struct ContainerSpec {
    pub name: String,
    pub image: String,
    pub memory_limit: Option<u64>,
    pub cpu_limit: Option<f64>,
    pub liveness_probe: Option<ProbeSpec>,
    pub readiness_probe: Option<ProbeSpec>,
}

/// A liveness or readiness probe of a container's spec, with the API's defaults applied.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeSpec {
    pub check: ProbeCheck,
    pub initial_delay_seconds: u32,
    pub period_seconds: u32,
    pub failure_threshold: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ProbeCheck {
    HttpGet,
    /// The host (None: the pod IP) and the port (a named port resolved through the container's
    /// ports).
    TcpSocket {
        host: Option<String>,
        port: String,
    },
    Exec,
    Grpc,
}

impl ProbeSpec {
    /// None for a probe without a handler (the API rejects those).
    pub fn from_probe(probe: &Probe, ports: &[ContainerPort]) -> Option<ProbeSpec> {
        let check = if probe.http_get.is_some() {
            ProbeCheck::HttpGet
        } else if let Some(tcp) = &probe.tcp_socket {
            let port = match &tcp.port {
                IntOrString::Int(n) => n.to_string(),
                IntOrString::String(name) => ports
                    .iter()
                    .find(|p| p.name.as_deref() == Some(name))
                    .map(|p| p.container_port.to_string())
                    .unwrap_or_else(|| name.clone()),
            };
            ProbeCheck::TcpSocket {
                host: tcp.host.clone().filter(|h| !h.is_empty()),
                port,
            }
        } else if probe.exec.is_some() {
            ProbeCheck::Exec
        } else if probe.grpc.is_some() {
            ProbeCheck::Grpc
        } else {
            return None;
        };
        let seconds = |value: Option<i32>, default: u32, min: u32| {
            value
                .and_then(|v| u32::try_from(v).ok())
                .unwrap_or(default)
                .max(min)
        };
        Some(ProbeSpec {
            check,
            initial_delay_seconds: seconds(probe.initial_delay_seconds, 0, 0),
            period_seconds: seconds(probe.period_seconds, 10, 1),
            failure_threshold: seconds(probe.failure_threshold, 3, 1),
        })
    }

    /// What the kubelet's prober reports when the check fails: an HTTP server answering 500, a
    /// refused connection, an exec command exiting non-zero without output, a gRPC health
    /// service answering NOT_SERVING.
    pub fn failure_output(&self, pod_ip: &str) -> String {
        match &self.check {
            ProbeCheck::HttpGet => "HTTP probe failed with statuscode: 500".to_string(),
            ProbeCheck::TcpSocket { host, port } => {
                let host = host.as_deref().unwrap_or(pod_ip);
                let address = if host.contains(':') {
                    format!("[{host}]:{port}")
                } else {
                    format!("{host}:{port}")
                };
                format!("dial tcp {address}: connect: connection refused")
            }
            ProbeCheck::Exec => String::new(),
            ProbeCheck::Grpc => "service unhealthy (responded with \"NOT_SERVING\")".to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VolumeObject {
    Secret(String),
    ConfigMap(String),
}

/// A non-optional Secret or ConfigMap a volume of the pod needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeRef {
    pub volume: String,
    pub object: VolumeObject,
}

/// What the kubelet last reported for a container, so a restarted simulator adopts it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportedContainer {
    pub name: String,
    pub restart_count: u32,
    pub running_since: Option<DateTime<Utc>>,
    pub last_terminated: Option<Terminated>,
}

/// The facts of a pod object that drive the simulation.
#[derive(Debug, Clone, PartialEq)]
pub struct PodFacts {
    pub uid: String,
    pub namespace: String,
    pub name: String,
    /// The uid of the ownerReferences entry with controller=true (e.g. the ReplicaSet).
    pub controller_uid: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub node: Option<String>,
    pub restart: RestartPolicy,
    pub init_containers: Vec<ContainerSpec>,
    pub containers: Vec<ContainerSpec>,
    pub volumes: Vec<VolumeRef>,
    pub annotations: BTreeMap<String, String>,
    pub deleting: bool,
    pub scheduled_at: Option<DateTime<Utc>>,
    pub reported_start_time: Option<DateTime<Utc>>,
    pub reported_pod_ip: Option<String>,
    pub reported: Vec<ReportedContainer>,
}

pub fn to_chrono(time: &k8s_openapi::apimachinery::pkg::apis::meta::v1::Time) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(time.0.as_millisecond()).unwrap_or_default()
}

fn terminated_from(state: &Option<ContainerState>, fallback_id: &str) -> Option<Terminated> {
    let t = state.as_ref()?.terminated.as_ref()?;
    let id = t.container_id.as_deref().unwrap_or(fallback_id);
    Some(Terminated {
        reason: t.reason.clone().unwrap_or_default(),
        exit_code: t.exit_code,
        started_at: t.started_at.as_ref().map(to_chrono).unwrap_or_default(),
        finished_at: t.finished_at.as_ref().map(to_chrono).unwrap_or_default(),
        container_id: id.trim_start_matches("containerd://").to_string(),
    })
}

impl PodFacts {
    /// None for an object without the identity every real pod has.
    pub fn from_pod(pod: &Pod) -> Option<PodFacts> {
        let meta = &pod.metadata;
        let spec = pod.spec.as_ref()?;
        let containers = |list: &[k8s_openapi::api::core::v1::Container]| {
            list.iter()
                .map(|c| {
                    let limits = c.resources.as_ref().and_then(|r| r.limits.as_ref());
                    let limit = |name: &str| limits.and_then(|l| l.get(name)).map(|q| q.0.clone());
                    let ports = c.ports.as_deref().unwrap_or_default();
                    let probe = |p: &Option<Probe>| {
                        p.as_ref().and_then(|p| ProbeSpec::from_probe(p, ports))
                    };
                    ContainerSpec {
                        name: c.name.clone(),
                        image: c.image.clone().unwrap_or_default(),
                        memory_limit: limit("memory").and_then(|q| quantity::parse_bytes(&q).ok()),
                        cpu_limit: limit("cpu").and_then(|q| quantity::parse(&q).ok()),
                        liveness_probe: probe(&c.liveness_probe),
                        readiness_probe: probe(&c.readiness_probe),
                    }
                })
                .collect::<Vec<_>>()
        };
        let mut volumes = Vec::new();
        for volume in spec.volumes.iter().flatten() {
            if let Some(secret) = &volume.secret
                && !secret.optional.unwrap_or(false)
                && let Some(name) = &secret.secret_name
            {
                volumes.push(VolumeRef {
                    volume: volume.name.clone(),
                    object: VolumeObject::Secret(name.clone()),
                });
            }
            if let Some(cm) = &volume.config_map
                && !cm.optional.unwrap_or(false)
            {
                volumes.push(VolumeRef {
                    volume: volume.name.clone(),
                    object: VolumeObject::ConfigMap(cm.name.clone()),
                });
            }
            for source in volume
                .projected
                .iter()
                .flat_map(|p| p.sources.iter().flatten())
            {
                if let Some(secret) = &source.secret
                    && !secret.optional.unwrap_or(false)
                {
                    volumes.push(VolumeRef {
                        volume: volume.name.clone(),
                        object: VolumeObject::Secret(secret.name.clone()),
                    });
                }
                if let Some(cm) = &source.config_map
                    && !cm.optional.unwrap_or(false)
                {
                    volumes.push(VolumeRef {
                        volume: volume.name.clone(),
                        object: VolumeObject::ConfigMap(cm.name.clone()),
                    });
                }
            }
        }
        let status = pod.status.as_ref();
        let scheduled_at = status
            .and_then(|s| s.conditions.as_ref())
            .and_then(|cs| cs.iter().find(|c| c.type_ == "PodScheduled"))
            .and_then(|c| c.last_transition_time.as_ref())
            .map(to_chrono);
        let reported = status
            .into_iter()
            .flat_map(|s| {
                s.init_container_statuses
                    .iter()
                    .flatten()
                    .chain(s.container_statuses.iter().flatten())
            })
            .map(|cs| {
                let id = cs.container_id.as_deref().unwrap_or_default();
                ReportedContainer {
                    name: cs.name.clone(),
                    restart_count: u32::try_from(cs.restart_count).unwrap_or(0),
                    running_since: cs
                        .state
                        .as_ref()
                        .and_then(|s| s.running.as_ref())
                        .and_then(|r| r.started_at.as_ref())
                        .map(to_chrono),
                    last_terminated: terminated_from(&cs.last_state, id),
                }
            })
            .collect();
        Some(PodFacts {
            uid: meta.uid.clone()?,
            namespace: meta.namespace.clone().unwrap_or_else(|| "default".into()),
            name: meta.name.clone()?,
            controller_uid: meta
                .owner_references
                .iter()
                .flatten()
                .find(|o| o.controller.unwrap_or(false))
                .map(|o| o.uid.clone()),
            created_at: meta.creation_timestamp.as_ref().map(to_chrono),
            node: spec.node_name.clone(),
            restart: RestartPolicy::parse(spec.restart_policy.as_deref()),
            init_containers: containers(spec.init_containers.as_deref().unwrap_or_default()),
            containers: containers(&spec.containers),
            volumes,
            annotations: meta.annotations.clone().unwrap_or_default(),
            deleting: meta.deletion_timestamp.is_some(),
            scheduled_at,
            reported_start_time: status.and_then(|s| s.start_time.as_ref()).map(to_chrono),
            reported_pod_ip: status.and_then(|s| s.pod_ip.clone()),
            reported,
        })
    }

    /// A per-container annotation (`KEY.CONTAINER`) overrides the pod-wide one (`KEY`).
    fn annotation(&self, key: &str, container: &str, pod_wide: bool) -> Option<&str> {
        self.annotations
            .get(&format!("{key}.{container}"))
            .or_else(|| pod_wide.then(|| self.annotations.get(key)).flatten())
            .map(String::as_str)
    }

    /// Whose pods the flaky-sandbox scenario counts together: the controller owner's, or only
    /// this pod's namespace/name when it has none.
    pub fn owner_key(&self) -> String {
        match &self.controller_uid {
            Some(uid) => format!("owner:{uid}"),
            None => format!("pod:{}/{}", self.namespace, self.name),
        }
    }

    /// N of the flaky-sandbox scenario; None without the annotation or with N < 1.
    pub fn sandbox_failures(&self) -> Option<u32> {
        self.annotations
            .get(ANNOTATION_SANDBOX_FAILURES)
            .and_then(|n| n.trim().parse().ok())
            .filter(|n| *n >= 1)
    }

    /// "NAME_NAMESPACE(UID)", as kubelet messages name a pod.
    pub fn pod_ref(&self) -> String {
        format!("{}_{}({})", self.name, self.namespace, self.uid)
    }
}

/// What the simulated node sees outside the pod.
#[derive(Debug, Clone, Copy)]
pub struct World<'a> {
    pub missing_images: &'a BTreeSet<String>,
    /// (namespace, name) of existing Secrets and ConfigMaps.
    pub secrets: &'a HashSet<(String, String)>,
    pub config_maps: &'a HashSet<(String, String)>,
}

/// The facts for one container: spec, scenario annotations and the world. `pod_ip` is where a
/// tcpSocket probe without a host connects.
pub fn container_facts(
    pod: &PodFacts,
    spec: &ContainerSpec,
    init: bool,
    world: &World<'_>,
    pod_ip: &str,
) -> ContainerFacts {
    // Pod-wide scenario annotations target the app containers; an init container only follows
    // an annotation that names it.
    let pod_wide = !init;
    let memory_demand = pod
        .annotation(ANNOTATION_MEMORY_DEMAND, &spec.name, pod_wide)
        .and_then(|q| quantity::parse_bytes(q).ok())
        .unwrap_or(DEFAULT_MEMORY_DEMAND);
    let exit_code = pod
        .annotation(ANNOTATION_EXIT_CODE, &spec.name, pod_wide)
        .and_then(|code| code.trim().parse().ok());
    let log_lines = pod
        .annotation(ANNOTATION_LOG, &spec.name, pod_wide)
        .map(|text| text.lines().map(str::to_string).collect())
        .unwrap_or_default();
    // The probes of the spec; the annotations make them fail. An init container runs to
    // completion here, unprobed.
    let probe = |probe: &Option<ProbeSpec>, annotation: &str| {
        let probe = probe.as_ref().filter(|_| !init)?;
        let failing = pod
            .annotation(annotation, &spec.name, pod_wide)
            .is_some_and(|value| value.trim() == PROBE_FAILING);
        Some(ProbeFacts {
            initial_delay_seconds: probe.initial_delay_seconds,
            period_seconds: probe.period_seconds,
            failure_threshold: probe.failure_threshold,
            failure: failing.then(|| probe.failure_output(pod_ip)),
        })
    };
    ContainerFacts {
        image_missing: crate::images::is_missing(&spec.image, world.missing_images),
        memory_limit: spec.memory_limit,
        memory_demand,
        exit_code,
        log_lines,
        restart: pod.restart,
        liveness: probe(&spec.liveness_probe, ANNOTATION_LIVENESS),
        readiness: probe(&spec.readiness_probe, ANNOTATION_READINESS),
    }
}

/// A running container's cAdvisor view.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkingSet {
    pub container: String,
    pub image: String,
    pub bytes: u64,
}

/// What keeps a pod in ContainerCreating: the reason and messages of its Warning events.
#[derive(Debug, Clone, PartialEq)]
pub struct Stuck {
    pub reason: &'static str,
    pub messages: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PodSim {
    pub uid: String,
    pub namespace: String,
    pub name: String,
    pub node: String,
    pub host_ip: String,
    /// Given to the sandbox once the volumes are mounted (and the sandbox is created).
    pub pod_ip: String,
    pub start_time: DateTime<Utc>,
    pub scheduled_at: DateTime<Utc>,
    pub mounted: bool,
    next_mount_event: Option<DateTime<Utc>>,
    /// Set when the simulator first sees the pod (flaky-sandbox scenario); it stays until the
    /// pod is deleted.
    pub sandbox_failure: Option<SandboxFailure>,
    next_sandbox_event: Option<DateTime<Utc>>,
    /// Why the pod is stuck before its containers can start, as of the last step.
    pub stuck: Option<Stuck>,
    pub initialized_at: Option<DateTime<Utc>>,
    pub ready: bool,
    pub ready_changed_at: DateTime<Utc>,
    pub init_containers: Vec<ContainerSim>,
    pub containers: Vec<ContainerSim>,
    /// Updated on each step, for container_memory_working_set_bytes.
    pub working_sets: Vec<WorkingSet>,
}

impl PodSim {
    /// A pod the simulator first sees. If an earlier simulator run reported it running, its
    /// restart counts and running containers are adopted instead of starting over.
    pub fn new(
        facts: &PodFacts,
        node: &str,
        host_ip: &str,
        pod_ip: &str,
        now: DateTime<Utc>,
    ) -> PodSim {
        let adopt = |spec: &ContainerSpec, init: bool| {
            let mut sim = ContainerSim::new(&facts.uid, &spec.name, &spec.image, init);
            if let Some(reported) = facts.reported.iter().find(|r| r.name == spec.name) {
                sim.restart_count = reported.restart_count;
                sim.last_terminated = reported.last_terminated.clone();
                if let Some(since) = reported.running_since {
                    sim.pulled = true;
                    sim.instances = 1;
                    sim.log.start_instance().push(
                        now,
                        format!("kubelet-sim: adopted running container {}", spec.name),
                    );
                    sim.state = State::Running {
                        started_at: since,
                        container_id: crate::images::fake_hex64(&[
                            &facts.uid, &spec.name, "adopted",
                        ]),
                    };
                }
            }
            sim
        };
        let containers: Vec<ContainerSim> =
            facts.containers.iter().map(|c| adopt(c, false)).collect();
        let adopted = containers.iter().any(|c| c.instances > 0);
        let mut init_containers: Vec<ContainerSim> = facts
            .init_containers
            .iter()
            .map(|c| adopt(c, true))
            .collect();
        if adopted {
            // The app containers ran, so the init containers had finished.
            for c in &mut init_containers {
                c.pulled = true;
                c.state = State::Terminated(Terminated {
                    reason: "Completed".into(),
                    exit_code: 0,
                    started_at: now,
                    finished_at: now,
                    container_id: crate::images::fake_hex64(&[&facts.uid, &c.name, "adopted"]),
                });
            }
        }
        let start_time = facts.reported_start_time.unwrap_or(now);
        PodSim {
            uid: facts.uid.clone(),
            namespace: facts.namespace.clone(),
            name: facts.name.clone(),
            node: node.to_string(),
            host_ip: host_ip.to_string(),
            pod_ip: match (&facts.reported_pod_ip, adopted) {
                (Some(ip), true) => ip.clone(),
                _ => pod_ip.to_string(),
            },
            start_time,
            scheduled_at: facts.scheduled_at.unwrap_or(start_time),
            mounted: adopted,
            next_mount_event: None,
            sandbox_failure: None,
            next_sandbox_event: None,
            stuck: None,
            initialized_at: adopted.then_some(start_time),
            ready: false,
            ready_changed_at: start_time,
            init_containers,
            containers,
            working_sets: Vec::new(),
        }
    }

    /// Advances the pod to `now`; returns the events the kubelet would record.
    pub fn step(
        &mut self,
        facts: &PodFacts,
        world: &World<'_>,
        timing: &Timing,
        now: DateTime<Utc>,
    ) -> Vec<SimEvent> {
        let mut events = Vec::new();
        self.follow_image_changes(facts, &mut events);
        if !self.mounted {
            let missing: Vec<String> = facts
                .volumes
                .iter()
                .filter_map(|v| {
                    let (kind, name, exists) = match &v.object {
                        VolumeObject::Secret(name) => ("secret", name, &world.secrets),
                        VolumeObject::ConfigMap(name) => ("configmap", name, &world.config_maps),
                    };
                    (!exists.contains(&(facts.namespace.clone(), name.clone()))).then(|| {
                        format!(
                            "MountVolume.SetUp failed for volume \"{}\" : {kind} \"{name}\" not found",
                            v.volume
                        )
                    })
                })
                .collect();
            if missing.is_empty() {
                self.mounted = true;
            } else {
                if self.next_mount_event.is_none_or(|at| now >= at) {
                    events.extend(missing.iter().map(|message| SimEvent {
                        kind: EventType::Warning,
                        reason: "FailedMount".into(),
                        message: message.clone(),
                        field_path: None,
                    }));
                    self.next_mount_event = Some(container::after(now, timing.mount_retry));
                }
                self.stuck = Some(Stuck {
                    reason: "FailedMount",
                    messages: missing,
                });
                self.update_ready(now);
                return events;
            }
        }
        // Volumes first, then the sandbox, as the kubelet does. A failing sandbox never recovers:
        // only deleting the pod (its owner makes a new one) gets past it.
        if let Some(failure) = &self.sandbox_failure {
            let message = failure.message();
            if self.next_sandbox_event.is_none_or(|at| now >= at) {
                events.push(SimEvent {
                    kind: EventType::Warning,
                    reason: sandbox::REASON.into(),
                    message: message.clone(),
                    field_path: None,
                });
                self.next_sandbox_event = Some(container::after(now, timing.mount_retry));
            }
            self.stuck = Some(Stuck {
                reason: sandbox::REASON,
                messages: vec![message],
            });
            self.update_ready(now);
            return events;
        }
        self.stuck = None;

        // Init containers one at a time, in order; the app containers once all succeeded.
        let mut initialized = true;
        for (sim, spec) in self.init_containers.iter_mut().zip(&facts.init_containers) {
            if sim.succeeded() {
                continue;
            }
            let f = container_facts(facts, spec, true, world, &self.pod_ip);
            events.extend(sim.step(&f, timing, true, now));
            if !sim.succeeded() {
                initialized = false;
                break;
            }
        }
        if initialized && self.initialized_at.is_none() {
            self.initialized_at = Some(now);
        }
        self.working_sets.clear();
        for (sim, spec) in self.containers.iter_mut().zip(&facts.containers) {
            let f = container_facts(facts, spec, false, world, &self.pod_ip);
            events.extend(sim.step(&f, timing, initialized, now));
            if let Some(bytes) = sim.working_set(&f) {
                self.working_sets.push(WorkingSet {
                    container: sim.name.clone(),
                    image: sim.image.clone(),
                    bytes,
                });
            }
        }
        self.update_ready(now);
        events
    }

    /// A pod's container image can be changed in place; the kubelet then replaces the container.
    fn follow_image_changes(&mut self, facts: &PodFacts, events: &mut Vec<SimEvent>) {
        let pairs = self
            .init_containers
            .iter_mut()
            .zip(&facts.init_containers)
            .chain(self.containers.iter_mut().zip(&facts.containers));
        for (sim, spec) in pairs {
            if sim.image == spec.image {
                continue;
            }
            if sim.running() {
                events.push(SimEvent {
                    kind: EventType::Normal,
                    reason: "Killing".into(),
                    message: format!(
                        "Container {} definition changed, will be restarted",
                        sim.name
                    ),
                    field_path: Some(sim.field_path()),
                });
                if let State::Running {
                    started_at,
                    container_id,
                } = sim.state.clone()
                {
                    sim.last_terminated = Some(Terminated {
                        reason: "Completed".into(),
                        exit_code: 0,
                        started_at,
                        finished_at: started_at,
                        container_id,
                    });
                }
                sim.restart_count += 1;
            }
            sim.image = spec.image.clone();
            sim.pulled = false;
            sim.pull_failures = 0;
            sim.state = State::Creating;
        }
    }

    /// The volumes are mounted and the sandbox (with its pod IP) exists.
    pub fn sandbox_up(&self) -> bool {
        self.mounted && self.sandbox_failure.is_none()
    }

    fn update_ready(&mut self, now: DateTime<Utc>) {
        let ready = self.all_ready();
        if ready != self.ready {
            self.ready = ready;
            self.ready_changed_at = now;
        }
    }

    fn all_ready(&self) -> bool {
        self.initialized_at.is_some()
            && !self.containers.is_empty()
            && self.containers.iter().all(ContainerSim::ready)
    }

    /// The pod is being deleted: every running container stops.
    pub fn kill(&mut self, now: DateTime<Utc>) -> Vec<SimEvent> {
        let events = self
            .containers
            .iter_mut()
            .filter_map(|c| c.kill(now))
            .collect();
        self.working_sets.clear();
        self.update_ready(now);
        events
    }

    pub fn phase(&self) -> &'static str {
        if self.initialized_at.is_none() {
            return "Pending";
        }
        let cs = &self.containers;
        if cs.iter().any(ContainerSim::running) {
            return "Running";
        }
        let terminated: Vec<&Terminated> = cs
            .iter()
            .filter_map(|c| match &c.state {
                State::Terminated(t) => Some(t),
                _ => None,
            })
            .collect();
        if !cs.is_empty() && terminated.len() == cs.len() {
            return if terminated.iter().all(|t| t.exit_code == 0) {
                "Succeeded"
            } else {
                "Failed"
            };
        }
        // Restarting after an exit counts as running, as for the kubelet.
        if cs.iter().any(|c| c.instances > 0) {
            return "Running";
        }
        "Pending"
    }

    /// The pod `status` to merge-patch; depends only on the state, so equal states give equal
    /// values (that is how the adapter skips patches that change nothing).
    pub fn status(&self, facts: &PodFacts) -> Value {
        let pod_ref = facts.pod_ref();
        let has_init = !self.init_containers.is_empty();
        let creating_reason = if has_init && self.initialized_at.is_none() && self.sandbox_up() {
            "PodInitializing"
        } else {
            "ContainerCreating"
        };
        let unready: Vec<&str> = self
            .containers
            .iter()
            .filter(|c| !c.ready())
            .map(|c| c.name.as_str())
            .collect();
        let condition =
            |type_: &str, ok: bool, at: DateTime<Utc>, reason: &str, message: String| {
                let mut c = json!({
                    "type": type_,
                    "status": if ok { "True" } else { "False" },
                    "lastProbeTime": null,
                    "lastTransitionTime": rfc3339(at),
                });
                if !ok {
                    c["reason"] = json!(reason);
                    c["message"] = json!(message);
                }
                c
            };
        let not_ready_message = format!("containers with unready status: [{}]", unready.join(" "));
        let uninitialized: Vec<&str> = self
            .init_containers
            .iter()
            .filter(|c| !c.succeeded())
            .map(|c| c.name.as_str())
            .collect();
        let conditions = json!([
            condition(
                "Initialized",
                self.initialized_at.is_some(),
                self.initialized_at.unwrap_or(self.start_time),
                "ContainersNotInitialized",
                format!(
                    "containers with incomplete status: [{}]",
                    uninitialized.join(" ")
                ),
            ),
            condition(
                "Ready",
                self.ready,
                self.ready_changed_at,
                "ContainersNotReady",
                not_ready_message.clone(),
            ),
            condition(
                "ContainersReady",
                self.ready,
                self.ready_changed_at,
                "ContainersNotReady",
                not_ready_message,
            ),
            condition("PodScheduled", true, self.scheduled_at, "", String::new()),
        ]);
        let mut status = json!({
            "phase": self.phase(),
            "conditions": conditions,
            "hostIP": self.host_ip,
            "startTime": rfc3339(self.start_time),
            "containerStatuses": self
                .containers
                .iter()
                .map(|c| c.status(&pod_ref, creating_reason))
                .collect::<Vec<_>>(),
        });
        if self.sandbox_up() {
            status["podIP"] = json!(self.pod_ip);
            status["podIPs"] = json!([{ "ip": self.pod_ip }]);
        }
        if has_init {
            status["initContainerStatuses"] = json!(
                self.init_containers
                    .iter()
                    .map(|c| c.status(&pod_ref, "PodInitializing"))
                    .collect::<Vec<_>>()
            );
        }
        status
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeDelta, TimeZone};

    fn t(seconds: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).single().unwrap() + TimeDelta::seconds(seconds)
    }

    fn pod(extra: Value) -> Pod {
        let mut base = json!({
            "metadata": {"name": "web-1", "namespace": "shop", "uid": "u-1", "annotations": {}},
            "spec": {
                "nodeName": "lab-node-1",
                "containers": [{
                    "name": "app", "image": "nginx:1.25",
                    "resources": {"limits": {"memory": "128Mi", "cpu": "500m"}}
                }],
            },
            "status": {"phase": "Pending", "conditions": [
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": "2026-03-01T11:59:59Z"}
            ]}
        });
        merge(&mut base, extra);
        serde_json::from_value(base).unwrap()
    }

    fn merge(base: &mut Value, patch: Value) {
        match (base, patch) {
            (Value::Object(b), Value::Object(p)) => {
                for (k, v) in p {
                    merge(b.entry(k).or_insert(Value::Null), v);
                }
            }
            (b, p) => *b = p,
        }
    }

    struct Fixture {
        missing: BTreeSet<String>,
        secrets: HashSet<(String, String)>,
        config_maps: HashSet<(String, String)>,
    }

    impl Fixture {
        fn new() -> Fixture {
            Fixture {
                missing: BTreeSet::new(),
                secrets: HashSet::new(),
                config_maps: HashSet::new(),
            }
        }
        fn world(&self) -> World<'_> {
            World {
                missing_images: &self.missing,
                secrets: &self.secrets,
                config_maps: &self.config_maps,
            }
        }
    }

    fn sim_for(facts: &PodFacts) -> PodSim {
        PodSim::new(facts, "lab-node-1", "127.0.0.1", "10.244.1.5", t(0))
    }

    #[test]
    fn facts_from_a_pod_object() {
        let p = pod(json!({
            "metadata": {"annotations": {"sim.nightwatch.dev/memory-demand": "300Mi",
                                         "sim.nightwatch.dev/memory-demand.side": "10Mi"}},
            "spec": {
                "restartPolicy": "OnFailure",
                "volumes": [
                    {"name": "creds", "secret": {"secretName": "db-creds"}},
                    {"name": "opt", "secret": {"secretName": "maybe", "optional": true}},
                    {"name": "cfg", "configMap": {"name": "app-config"}},
                    {"name": "proj", "projected": {"sources": [{"secret": {"name": "p-secret"}}]}},
                    {"name": "tmp", "emptyDir": {}}
                ]
            }
        }));
        let f = PodFacts::from_pod(&p).unwrap();
        assert_eq!(f.uid, "u-1");
        assert_eq!(f.node.as_deref(), Some("lab-node-1"));
        assert_eq!(f.restart, RestartPolicy::OnFailure);
        assert_eq!(f.containers[0].memory_limit, Some(128 << 20));
        assert_eq!(f.containers[0].cpu_limit, Some(0.5));
        assert_eq!(f.scheduled_at, Some(t(-1)));
        let names: Vec<&VolumeObject> = f.volumes.iter().map(|v| &v.object).collect();
        assert_eq!(
            names,
            [
                &VolumeObject::Secret("db-creds".into()),
                &VolumeObject::ConfigMap("app-config".into()),
                &VolumeObject::Secret("p-secret".into()),
            ]
        );
        let fx = Fixture::new();
        let app = container_facts(&f, &f.containers[0], false, &fx.world(), "10.244.1.5");
        assert_eq!(app.memory_demand, 300 << 20);
        assert!(app.oom());
        let side = ContainerSpec {
            name: "side".into(),
            image: "x".into(),
            memory_limit: None,
            cpu_limit: None,
            liveness_probe: None,
            readiness_probe: None,
        };
        assert_eq!(
            container_facts(&f, &side, false, &fx.world(), "10.244.1.5").memory_demand,
            10 << 20
        );
        // Pod-wide annotations do not reach init containers.
        assert_eq!(
            container_facts(&f, &f.containers[0], true, &fx.world(), "10.244.1.5").memory_demand,
            DEFAULT_MEMORY_DEMAND
        );
    }

    #[test]
    fn healthy_pod_goes_running_and_ready() {
        let f = PodFacts::from_pod(&pod(json!({}))).unwrap();
        let fx = Fixture::new();
        let timing = Timing::default();
        let mut sim = sim_for(&f);
        assert_eq!(sim.phase(), "Pending");
        let events = sim.step(&f, &fx.world(), &timing, t(0));
        let reasons: Vec<&str> = events.iter().map(|e| e.reason.as_str()).collect();
        assert_eq!(reasons, ["Pulling", "Pulled", "Created", "Started"]);
        let status = sim.status(&f);
        assert_eq!(status["phase"], "Running");
        assert_eq!(status["podIP"], "10.244.1.5");
        assert_eq!(status["hostIP"], "127.0.0.1");
        assert_eq!(status["startTime"], "2026-03-01T12:00:00Z");
        let conditions: Vec<(String, String)> = status["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["type"].as_str().unwrap().to_string(),
                    c["status"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let want: Vec<(String, String)> =
            ["Initialized", "Ready", "ContainersReady", "PodScheduled"]
                .iter()
                .map(|c| (c.to_string(), "True".to_string()))
                .collect();
        assert_eq!(conditions, want);
        assert_eq!(
            status["conditions"][3]["lastTransitionTime"],
            "2026-03-01T11:59:59Z"
        );
        // Nothing changes later: the status value is identical, so no patch.
        sim.step(&f, &fx.world(), &timing, t(500));
        assert_eq!(sim.status(&f), status);
        assert_eq!(sim.working_sets[0].bytes, DEFAULT_MEMORY_DEMAND);
    }

    #[test]
    fn missing_secret_blocks_until_created() {
        let f = PodFacts::from_pod(&pod(json!({"spec": {"volumes": [
            {"name": "creds", "secret": {"secretName": "db-creds"}},
            {"name": "cfg", "configMap": {"name": "app-config"}}
        ]}})))
        .unwrap();
        let mut fx = Fixture::new();
        fx.config_maps.insert(("shop".into(), "app-config".into()));
        let timing = Timing::default();
        let mut sim = sim_for(&f);
        let events = sim.step(&f, &fx.world(), &timing, t(0));
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].kind, EventType::Warning);
        assert_eq!(events[0].reason, "FailedMount");
        assert_eq!(
            events[0].message,
            "MountVolume.SetUp failed for volume \"creds\" : secret \"db-creds\" not found"
        );
        assert_eq!(events[0].field_path, None);
        let status = sim.status(&f);
        assert_eq!(status["phase"], "Pending");
        assert_eq!(
            status["containerStatuses"][0]["state"]["waiting"]["reason"],
            "ContainerCreating"
        );
        assert!(status.get("podIP").is_none());
        assert_eq!(status["conditions"][1]["status"], "False");
        assert_eq!(
            status["conditions"][1]["message"],
            "containers with unready status: [app]"
        );
        // Repeats every mount_retry (5s), not on every step.
        assert!(sim.step(&f, &fx.world(), &timing, t(3)).is_empty());
        assert_eq!(sim.step(&f, &fx.world(), &timing, t(5)).len(), 1);

        // A missing ConfigMap says "configmap".
        fx.config_maps.clear();
        let events = sim.step(&f, &fx.world(), &timing, t(10));
        assert_eq!(events.len(), 2);
        assert_eq!(
            events[1].message,
            "MountVolume.SetUp failed for volume \"cfg\" : configmap \"app-config\" not found"
        );

        // The objects are created: the pod starts.
        fx.secrets.insert(("shop".into(), "db-creds".into()));
        fx.config_maps.insert(("shop".into(), "app-config".into()));
        let events = sim.step(&f, &fx.world(), &timing, t(11));
        assert_eq!(events.last().unwrap().reason, "Started");
        assert_eq!(sim.status(&f)["phase"], "Running");
        assert!(sim.ready);
        assert_eq!(sim.ready_changed_at, t(11));
    }

    #[test]
    fn failing_sandbox_keeps_the_pod_creating_after_the_volumes() {
        let f = PodFacts::from_pod(&pod(json!({"spec": {
            "initContainers": [{"name": "migrate", "image": "app:1"}],
            "volumes": [{"name": "creds", "secret": {"secretName": "db-creds"}}]
        }})))
        .unwrap();
        let mut fx = Fixture::new();
        let timing = Timing::default();
        let mut sim = sim_for(&f);
        sim.sandbox_failure = Some(SandboxFailure::new(&f.uid, "10.244.1"));
        let message = sim.sandbox_failure.as_ref().unwrap().message();
        // The volume comes first.
        let events = sim.step(&f, &fx.world(), &timing, t(0));
        assert_eq!(events[0].reason, "FailedMount");
        assert_eq!(sim.stuck.as_ref().unwrap().reason, "FailedMount");
        fx.secrets.insert(("shop".into(), "db-creds".into()));
        let events = sim.step(&f, &fx.world(), &timing, t(1));
        assert_eq!(
            events,
            [SimEvent {
                kind: EventType::Warning,
                reason: "FailedCreatePodSandBox".into(),
                message: message.clone(),
                field_path: None,
            }]
        );
        assert_eq!(
            sim.stuck,
            Some(Stuck {
                reason: "FailedCreatePodSandBox",
                messages: vec![message],
            })
        );
        let status = sim.status(&f);
        assert_eq!(status["phase"], "Pending");
        assert!(status.get("podIP").is_none());
        assert_eq!(
            status["containerStatuses"][0]["state"]["waiting"]["reason"],
            "ContainerCreating"
        );
        assert_eq!(
            status["initContainerStatuses"][0]["state"]["waiting"]["reason"],
            "PodInitializing"
        );
        assert_eq!(status["conditions"][1]["status"], "False");
        // Repeats every mount_retry, and never gets better by itself.
        assert!(sim.step(&f, &fx.world(), &timing, t(3)).is_empty());
        assert_eq!(sim.step(&f, &fx.world(), &timing, t(6)).len(), 1);
        sim.step(&f, &fx.world(), &timing, t(600));
        assert_eq!(sim.status(&f)["phase"], "Pending");
        assert!(sim.containers.iter().all(|c| c.instances == 0));
        assert!(sim.kill(t(601)).is_empty());
    }

    #[test]
    fn secret_in_another_namespace_does_not_count() {
        let f = PodFacts::from_pod(&pod(json!({"spec": {"volumes": [
            {"name": "creds", "secret": {"secretName": "db-creds"}}
        ]}})))
        .unwrap();
        let mut fx = Fixture::new();
        fx.secrets.insert(("other".into(), "db-creds".into()));
        let mut sim = sim_for(&f);
        sim.step(&f, &fx.world(), &Timing::default(), t(0));
        assert!(!sim.mounted);
    }

    #[test]
    fn image_pull_back_off_then_fixed_by_unmarking() {
        let f = PodFacts::from_pod(&pod(json!({}))).unwrap();
        let mut fx = Fixture::new();
        fx.missing.insert("nginx:1.25".into());
        let timing = Timing::default();
        let mut sim = sim_for(&f);
        sim.step(&f, &fx.world(), &timing, t(0));
        let status = sim.status(&f);
        assert_eq!(status["phase"], "Pending");
        let reason = |s: &Value| s["containerStatuses"][0]["state"]["waiting"]["reason"].clone();
        assert_eq!(reason(&status), "ErrImagePull");
        sim.step(&f, &fx.world(), &timing, t(1));
        assert_eq!(reason(&sim.status(&f)), "ImagePullBackOff");
        fx.missing.clear();
        sim.step(&f, &fx.world(), &timing, t(3));
        assert_eq!(sim.status(&f)["phase"], "Running");
    }

    #[test]
    fn crash_loop_pod_stays_running_phase_not_ready() {
        let f = PodFacts::from_pod(&pod(json!({"metadata": {"annotations": {
            "sim.nightwatch.dev/exit-code": "2",
            "sim.nightwatch.dev/log": "boom\nbye"
        }}})))
        .unwrap();
        let fx = Fixture::new();
        let timing = Timing::default();
        let mut sim = sim_for(&f);
        sim.step(&f, &fx.world(), &timing, t(0));
        sim.step(&f, &fx.world(), &timing, t(3));
        let status = sim.status(&f);
        assert_eq!(status["phase"], "Running");
        assert_eq!(status["conditions"][1]["status"], "False");
        let cs = &status["containerStatuses"][0];
        assert_eq!(cs["state"]["waiting"]["reason"], "CrashLoopBackOff");
        assert_eq!(
            cs["state"]["waiting"]["message"],
            "back-off 2s restarting failed container=app pod=web-1_shop(u-1)"
        );
        assert_eq!(cs["lastState"]["terminated"]["exitCode"], 2);
        assert_eq!(cs["restartCount"], 1);
        assert!(sim.working_sets.is_empty());
    }

    #[test]
    fn oom_pod_fixed_by_a_new_pod_with_bigger_limit() {
        let annotations =
            json!({"metadata": {"annotations": {"sim.nightwatch.dev/memory-demand": "300Mi"}}});
        let f = PodFacts::from_pod(&pod(annotations.clone())).unwrap();
        let fx = Fixture::new();
        let timing = Timing::default();
        let mut sim = sim_for(&f);
        sim.step(&f, &fx.world(), &timing, t(0));
        assert_eq!(sim.working_sets[0].bytes, 128 << 20);
        sim.step(&f, &fx.world(), &timing, t(3));
        let status = sim.status(&f);
        assert_eq!(
            status["containerStatuses"][0]["lastState"]["terminated"]["reason"],
            "OOMKilled"
        );

        let mut bigger = pod(annotations);
        if let Some(spec) = bigger.spec.as_mut() {
            spec.containers[0].resources =
                serde_json::from_value(json!({"limits": {"memory": "512Mi"}})).unwrap();
        }
        let f = PodFacts::from_pod(&bigger).unwrap();
        let mut sim = sim_for(&f);
        sim.step(&f, &fx.world(), &timing, t(0));
        sim.step(&f, &fx.world(), &timing, t(600));
        assert_eq!(sim.containers[0].restart_count, 0);
        assert_eq!(sim.working_sets[0].bytes, 300 << 20);
    }

    #[test]
    fn init_containers_run_first() {
        let f = PodFacts::from_pod(&pod(json!({"spec": {"initContainers": [
            {"name": "migrate", "image": "app:1"}
        ]}})))
        .unwrap();
        let fx = Fixture::new();
        let timing = Timing::default();
        let mut sim = sim_for(&f);
        sim.step(&f, &fx.world(), &timing, t(0));
        let status = sim.status(&f);
        assert_eq!(status["phase"], "Pending");
        assert_eq!(status["conditions"][0]["status"], "False");
        assert_eq!(
            status["containerStatuses"][0]["state"]["waiting"]["reason"],
            "PodInitializing"
        );
        sim.step(&f, &fx.world(), &timing, t(1));
        let status = sim.status(&f);
        assert_eq!(status["phase"], "Running");
        assert_eq!(
            status["initContainerStatuses"][0]["state"]["terminated"]["reason"],
            "Completed"
        );
    }

    #[test]
    fn image_change_in_place_restarts_the_container() {
        let f = PodFacts::from_pod(&pod(json!({}))).unwrap();
        let fx = Fixture::new();
        let timing = Timing::default();
        let mut sim = sim_for(&f);
        sim.step(&f, &fx.world(), &timing, t(0));
        let f2 = PodFacts::from_pod(&pod(json!({"spec": {"containers": [
            {"name": "app", "image": "nginx:1.26"}
        ]}})))
        .unwrap();
        let events = sim.step(&f2, &fx.world(), &timing, t(5));
        assert_eq!(events[0].reason, "Killing");
        assert_eq!(events.last().unwrap().reason, "Started");
        assert_eq!(sim.containers[0].image, "nginx:1.26");
        assert_eq!(sim.containers[0].restart_count, 1);
    }

    #[test]
    fn kill_and_adoption() {
        let f = PodFacts::from_pod(&pod(json!({}))).unwrap();
        let fx = Fixture::new();
        let mut sim = sim_for(&f);
        sim.step(&f, &fx.world(), &Timing::default(), t(0));
        let events = sim.kill(t(9));
        assert_eq!(events.len(), 1);
        assert_eq!(
            sim.status(&f)["containerStatuses"][0]["state"]["terminated"]["exitCode"],
            137
        );

        // A pod reported running by an earlier run is adopted, restart count and all.
        let reported = pod(json!({"status": {
            "startTime": "2026-03-01T11:00:00Z", "podIP": "10.244.1.9",
            "containerStatuses": [{
                "name": "app", "image": "nginx:1.25", "imageID": "", "ready": true, "restartCount": 4,
                "state": {"running": {"startedAt": "2026-03-01T11:30:00Z"}},
                "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled",
                    "containerID": "containerd://abc"}}
            }]
        }}));
        let f = PodFacts::from_pod(&reported).unwrap();
        let mut sim = sim_for(&f);
        let events = sim.step(&f, &fx.world(), &Timing::default(), t(0));
        assert!(events.is_empty(), "{events:?}");
        let status = sim.status(&f);
        assert_eq!(status["podIP"], "10.244.1.9");
        assert_eq!(status["startTime"], "2026-03-01T11:00:00Z");
        let cs = &status["containerStatuses"][0];
        assert_eq!(cs["restartCount"], 4);
        assert_eq!(cs["state"]["running"]["startedAt"], "2026-03-01T11:30:00Z");
        assert_eq!(cs["lastState"]["terminated"]["reason"], "OOMKilled");
    }

    /// A pod whose app container has an httpGet liveness probe and a tcpSocket readiness probe on
    /// a named port, with the given annotations.
    fn probed_pod(annotations: Value) -> Pod {
        pod(json!({
            "metadata": {"annotations": annotations},
            "spec": {"containers": [{
                "name": "app", "image": "nginx:1.25",
                "ports": [{"name": "http", "containerPort": 8080}],
                "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"},
                                  "periodSeconds": 5, "failureThreshold": 2},
                "readinessProbe": {"tcpSocket": {"port": "http"}, "initialDelaySeconds": 5}
            }]}
        }))
    }

    #[test]
    fn probes_from_the_spec_fail_by_annotation() {
        let fx = Fixture::new();
        let facts_of = |annotations: Value| {
            let f = PodFacts::from_pod(&probed_pod(annotations)).unwrap();
            container_facts(&f, &f.containers[0], false, &fx.world(), "10.244.1.5")
        };
        let healthy = facts_of(json!({}));
        assert_eq!(
            healthy.liveness,
            Some(ProbeFacts {
                initial_delay_seconds: 0,
                period_seconds: 5,
                failure_threshold: 2,
                failure: None,
            })
        );
        assert_eq!(
            healthy.readiness,
            Some(ProbeFacts {
                initial_delay_seconds: 5,
                period_seconds: 10,
                failure_threshold: 3,
                failure: None,
            })
        );
        let failing = facts_of(json!({
            "sim.nightwatch.dev/liveness": "failing",
            "sim.nightwatch.dev/readiness.app": "failing"
        }));
        assert_eq!(
            failing.liveness.unwrap().failure.as_deref(),
            Some("HTTP probe failed with statuscode: 500")
        );
        assert_eq!(
            failing.readiness.unwrap().failure.as_deref(),
            Some("dial tcp 10.244.1.5:8080: connect: connection refused")
        );
        // Another value, or another container's annotation, does nothing.
        let other = facts_of(json!({
            "sim.nightwatch.dev/liveness": "passing",
            "sim.nightwatch.dev/readiness.side": "failing"
        }));
        assert_eq!(other.liveness.unwrap().failure, None);
        assert_eq!(other.readiness.unwrap().failure, None);
        // Without a probe in the spec the annotation does nothing.
        let f = PodFacts::from_pod(&pod(
            json!({"metadata": {"annotations": {"sim.nightwatch.dev/liveness": "failing"}}}),
        ))
        .unwrap();
        let unprobed = container_facts(&f, &f.containers[0], false, &fx.world(), "10.244.1.5");
        assert_eq!((unprobed.liveness, unprobed.readiness), (None, None));
    }

    #[test]
    fn probe_failure_wording_per_handler() {
        let spec = |probe: Value| {
            let probe: Probe = serde_json::from_value(probe).unwrap();
            let ports: Vec<ContainerPort> =
                serde_json::from_value(json!([{"name": "grpc", "containerPort": 9090}])).unwrap();
            ProbeSpec::from_probe(&probe, &ports)
        };
        let output = |probe: Value| spec(probe).unwrap().failure_output("10.244.1.5");
        assert_eq!(
            output(json!({"httpGet": {"port": 80, "path": "/"}})),
            "HTTP probe failed with statuscode: 500"
        );
        assert_eq!(
            output(json!({"tcpSocket": {"port": 5432}})),
            "dial tcp 10.244.1.5:5432: connect: connection refused"
        );
        assert_eq!(
            output(json!({"tcpSocket": {"port": "grpc", "host": "db.shop"}})),
            "dial tcp db.shop:9090: connect: connection refused"
        );
        assert_eq!(
            output(json!({"tcpSocket": {"port": 80, "host": "fd00::5"}})),
            "dial tcp [fd00::5]:80: connect: connection refused"
        );
        assert_eq!(
            output(json!({"exec": {"command": ["cat", "/tmp/healthy"]}})),
            ""
        );
        assert_eq!(
            output(json!({"grpc": {"port": 9090}})),
            "service unhealthy (responded with \"NOT_SERVING\")"
        );
        assert_eq!(spec(json!({"periodSeconds": 5})), None);
        let clamped = spec(json!({"exec": {}, "periodSeconds": 0, "failureThreshold": 0})).unwrap();
        assert_eq!((clamped.period_seconds, clamped.failure_threshold), (1, 1));
    }

    #[test]
    fn failing_readiness_probe_pod_runs_but_is_not_ready() {
        let f = PodFacts::from_pod(&probed_pod(
            json!({"sim.nightwatch.dev/readiness": "failing"}),
        ))
        .unwrap();
        let fx = Fixture::new();
        let timing = Timing::default();
        let mut sim = sim_for(&f);
        sim.step(&f, &fx.world(), &timing, t(0));
        let status = sim.status(&f);
        assert_eq!(status["phase"], "Running");
        assert_eq!(status["containerStatuses"][0]["ready"], false);
        assert_eq!(status["containerStatuses"][0]["started"], true);
        for (i, condition) in [(1, "Ready"), (2, "ContainersReady")] {
            let c = &status["conditions"][i];
            assert_eq!(c["type"], condition);
            assert_eq!(c["status"], "False");
            assert_eq!(c["reason"], "ContainersNotReady");
            assert_eq!(c["message"], "containers with unready status: [app]");
        }
        assert!(!sim.ready);
        // initialDelaySeconds 5 (1s) + periodSeconds 10 (2s): failures at 3, 5, 7 …
        assert!(sim.step(&f, &fx.world(), &timing, t(2)).is_empty());
        let events = sim.step(&f, &fx.world(), &timing, t(3));
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].kind, EventType::Warning);
        assert_eq!(events[0].reason, "Unhealthy");
        assert_eq!(
            events[0].message,
            "Readiness probe failed: dial tcp 10.244.1.5:8080: connect: connection refused"
        );
        sim.step(&f, &fx.world(), &timing, t(120));
        assert_eq!(sim.containers[0].restart_count, 0);
        assert_eq!(sim.status(&f)["conditions"][1]["status"], "False");
        assert_eq!(sim.working_sets.len(), 1);

        // The annotation is removed: ready.
        let fixed = PodFacts::from_pod(&probed_pod(json!({}))).unwrap();
        assert!(sim.step(&fixed, &fx.world(), &timing, t(121)).is_empty());
        assert!(sim.ready);
        assert_eq!(sim.ready_changed_at, t(121));
    }

    #[test]
    fn failing_liveness_probe_pod_restarts_and_metrics_follow() {
        let annotated = probed_pod(json!({"sim.nightwatch.dev/liveness": "failing"}));
        let f = PodFacts::from_pod(&annotated).unwrap();
        let fx = Fixture::new();
        let timing = Timing::default();
        let mut sim = sim_for(&f);
        sim.step(&f, &fx.world(), &timing, t(0));
        assert!(sim.ready);
        // periodSeconds 5 (1s), failureThreshold 2: failures at 1 and 2, killed at 2.
        let events = sim.step(&f, &fx.world(), &timing, t(1));
        assert_eq!(events.len(), 1);
        assert_eq!(
            events[0].message,
            "Liveness probe failed: HTTP probe failed with statuscode: 500"
        );
        let events = sim.step(&f, &fx.world(), &timing, t(2));
        let described: Vec<(EventType, &str, &str)> = events
            .iter()
            .map(|e| (e.kind, e.reason.as_str(), e.message.as_str()))
            .collect();
        assert_eq!(
            described,
            [
                (
                    EventType::Warning,
                    "Unhealthy",
                    "Liveness probe failed: HTTP probe failed with statuscode: 500"
                ),
                (
                    EventType::Normal,
                    "Killing",
                    "Container app failed liveness probe, will be restarted"
                ),
                (
                    EventType::Warning,
                    "BackOff",
                    "Back-off restarting failed container"
                ),
            ]
        );
        let status = sim.status(&f);
        assert_eq!(status["phase"], "Running");
        assert_eq!(status["conditions"][1]["status"], "False");
        let cs = &status["containerStatuses"][0];
        assert_eq!(cs["restartCount"], 1);
        assert_eq!(cs["state"]["waiting"]["reason"], "CrashLoopBackOff");
        assert_eq!(cs["lastState"]["terminated"]["exitCode"], 137);
        assert_eq!(cs["lastState"]["terminated"]["reason"], "Error");

        // kube-state-metrics read the status the API server has from us.
        let metrics_at = |status: Value| {
            let mut reported = annotated.clone();
            reported.status = serde_json::from_value(status).unwrap();
            let m = crate::metrics::pod_metrics(&reported).unwrap();
            m.containers[0].clone()
        };
        let m = metrics_at(status);
        assert_eq!(m.restarts, 1);
        assert!(!m.ready);
        assert_eq!(m.waiting_reason.as_deref(), Some("CrashLoopBackOff"));
        assert_eq!(m.last_terminated_reason.as_deref(), Some("Error"));

        // Restarted after backoff(1) = 2s: running and ready until the next kill (t=6).
        sim.step(&f, &fx.world(), &timing, t(4));
        let m = metrics_at(sim.status(&f));
        assert_eq!(m.restarts, 1);
        assert!(m.ready);
        assert_eq!(m.waiting_reason, None);
        assert_eq!(m.last_terminated_reason.as_deref(), Some("Error"));
        sim.step(&f, &fx.world(), &timing, t(6));
        assert_eq!(metrics_at(sim.status(&f)).restarts, 2);
    }
}

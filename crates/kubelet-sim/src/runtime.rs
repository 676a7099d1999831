//! The simulated node fleet's memory: every pod it runs, the images marked missing, the event
//! correlator, the flaky-sandbox scenario's per-owner counts. `plan` turns the API server's current pods into the writes a kubelet would make
//! (status patches, events, final deletions); it does no I/O, so the adapter can be tested apart.

use crate::container::{ContainerSim, State};
use crate::container::{EventType, SimEvent, Timing, after};
use crate::events::{Correlator, EventKey, EventWrite, InvolvedObject};
use crate::logs::LogOptions;
use crate::metrics::WorkingSetMetric;
use crate::pod::{PodFacts, PodSim, World};
use crate::sandbox::{OwnerCounts, SandboxFailure};
use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

/// How long before a failed status patch or an unfinished deletion is tried again.
pub const RETRY: Duration = Duration::from_secs(2);
/// How often a pod's status on the API server is compared with ours, so a status someone else
/// overwrote is put back (the kubelet's status manager re-syncs the same way).
pub const DRIFT_CHECK: Duration = Duration::from_secs(5);

/// Whether every field of `want` has the same value in `have` (objects recursively, arrays
/// element by element; a null in `want` matches a missing field).
pub fn is_subset(want: &Value, have: Option<&Value>) -> bool {
    match (want, have) {
        (Value::Null, None | Some(Value::Null)) => true,
        (Value::Object(w), Some(Value::Object(h))) => w.iter().all(|(k, v)| is_subset(v, h.get(k))),
        (Value::Array(w), Some(Value::Array(h))) => {
            w.len() == h.len() && w.iter().zip(h).all(|(a, b)| is_subset(a, Some(b)))
        }
        (w, Some(h)) => w == h,
        (_, None) => false,
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Event(EventWrite),
    /// Merge patch of the status subresource; `body` carries metadata.uid so it cannot land on
    /// a newer pod of the same name (the API server rejects a uid change).
    PatchStatus {
        namespace: String,
        name: String,
        uid: String,
        body: Value,
    },
    /// Delete with grace period 0 and a uid precondition: the kubelet's final word.
    DeletePod {
        namespace: String,
        name: String,
        uid: String,
    },
}

#[derive(Debug, Clone)]
pub struct PodRuntime {
    pub sim: PodSim,
    pub facts: PodFacts,
    /// The status the API server has from us; None → patch on the next tick.
    pub last_patched: Option<Value>,
    pub retry_patch_at: Option<DateTime<Utc>>,
    /// When the API server's copy is next compared with `last_patched`.
    pub drift_check_at: Option<DateTime<Utc>>,
    pub killed: bool,
    pub next_delete_at: Option<DateTime<Utc>>,
}

/// What the world looks like this tick.
pub struct Inputs<'a> {
    pub pods: &'a [Arc<Pod>],
    /// Our node names.
    pub nodes: &'a [String],
    /// Nodes whose heartbeat is stopped: their pods are frozen.
    pub stopped: &'a HashSet<String>,
    pub secrets: &'a HashSet<(String, String)>,
    pub config_maps: &'a HashSet<(String, String)>,
}

#[derive(Debug, Default)]
pub struct SimState {
    pub pods: HashMap<String, PodRuntime>,
    pub missing_images: BTreeSet<String>,
    pub correlator: Correlator,
    /// Pods seen per owner for `sim.nightwatch.dev/sandbox-failures`. Kept after the pods are
    /// gone (a stuck pod's replacement is the owner's next one); a restart forgets them.
    pub owners: OwnerCounts,
    stopped: HashSet<String>,
    next_ip: HashMap<String, u32>,
}

/// The pod subnet of node `node_index` (0-based) without its last octet: "10.244.{index + 1}".
pub fn node_subnet(node_index: usize) -> String {
    format!("10.244.{}", node_index + 1)
}

impl SimState {
    pub fn new() -> SimState {
        SimState::default()
    }

    /// A pod IP in 10.244.{node index}.0/24, as a per-node pod CIDR would give.
    fn allocate_ip(&mut self, node_index: usize) -> String {
        let counter = self.next_ip.entry(node_index.to_string()).or_insert(0);
        *counter += 1;
        let host = (*counter - 1) % 253 + 2;
        format!("{}.{host}", node_subnet(node_index))
    }

    pub fn record_events(
        &mut self,
        facts: &PodFacts,
        node: &str,
        events: Vec<SimEvent>,
        now: DateTime<Utc>,
        out: &mut Vec<Action>,
    ) {
        for e in events {
            let key = EventKey {
                object: InvolvedObject::pod(
                    &facts.namespace,
                    &facts.name,
                    &facts.uid,
                    e.field_path,
                ),
                kind: e.kind,
                reason: e.reason,
                message: e.message,
                host: node.to_string(),
            };
            out.push(Action::Event(self.correlator.record(key, now)));
        }
    }

    pub fn node_event(
        &mut self,
        node: &str,
        kind: EventType,
        reason: &str,
        message: &str,
        now: DateTime<Utc>,
    ) -> Action {
        let key = EventKey {
            object: InvolvedObject::node(node),
            kind,
            reason: reason.into(),
            message: message.into(),
            host: node.into(),
        };
        Action::Event(self.correlator.record(key, now))
    }

    /// One kubelet sync of every node: steps each of our pods to `now`.
    pub fn plan(
        &mut self,
        inputs: &Inputs<'_>,
        timing: &Timing,
        now: DateTime<Utc>,
    ) -> Vec<Action> {
        let mut actions = Vec::new();
        // A node whose heartbeats resume re-asserts its pods' status (the node controller
        // marked them not ready meanwhile).
        let resumed: HashSet<String> = self.stopped.difference(inputs.stopped).cloned().collect();
        self.stopped = inputs.stopped.clone();
        for rt in self.pods.values_mut() {
            if resumed.contains(&rt.sim.node) {
                rt.last_patched = None;
            }
        }
        let missing_images = self.missing_images.clone();
        let world = World {
            missing_images: &missing_images,
            secrets: inputs.secrets,
            config_maps: inputs.config_maps,
        };
        let mut seen = HashSet::new();
        // Oldest first, so "the first N pods of an owner" are its first created among those
        // appearing in the same tick.
        let mut pods: Vec<(PodFacts, &Arc<Pod>)> = inputs
            .pods
            .iter()
            .filter_map(|pod| Some((PodFacts::from_pod(pod)?, pod)))
            .collect();
        pods.sort_by(|(a, _), (b, _)| {
            (a.created_at, &a.namespace, &a.name).cmp(&(b.created_at, &b.namespace, &b.name))
        });
        for (facts, pod) in pods {
            let Some(node_index) = facts
                .node
                .as_ref()
                .and_then(|n| inputs.nodes.iter().position(|ours| ours == n))
            else {
                continue;
            };
            let node = inputs.nodes[node_index].clone();
            seen.insert(facts.uid.clone());
            if !self.pods.contains_key(&facts.uid) {
                let ip = self.allocate_ip(node_index);
                let mut sim = PodSim::new(&facts, &node, crate::node::NODE_IP, &ip, now);
                if self
                    .owners
                    .first_sight(&facts, facts.reported_pod_ip.is_some())
                {
                    sim.sandbox_failure =
                        Some(SandboxFailure::new(&facts.uid, &node_subnet(node_index)));
                }
                self.pods.insert(
                    facts.uid.clone(),
                    PodRuntime {
                        sim,
                        facts: facts.clone(),
                        last_patched: None,
                        retry_patch_at: None,
                        drift_check_at: None,
                        killed: false,
                        next_delete_at: None,
                    },
                );
            }
            if facts.deleting {
                // Deletions finish even on a stopped node, so drains and evictions complete.
                self.finish_deletion(&facts, &node, now, &mut actions);
                continue;
            }
            if inputs.stopped.contains(&node) {
                continue;
            }
            let Some(rt) = self.pods.get_mut(&facts.uid) else {
                continue;
            };
            let events = rt.sim.step(&facts, &world, timing, now);
            rt.facts = facts.clone();
            let status = rt.sim.status(&facts);
            if rt.last_patched.as_ref() == Some(&status)
                && rt.drift_check_at.is_some_and(|at| now >= at)
            {
                rt.drift_check_at = Some(after(now, DRIFT_CHECK));
                let actual = serde_json::to_value(&pod.status).unwrap_or_default();
                if !is_subset(&status, Some(&actual)) {
                    rt.last_patched = None;
                    rt.retry_patch_at = None;
                }
            }
            let due = rt.retry_patch_at.is_none_or(|at| now >= at);
            let patch = (rt.last_patched.as_ref() != Some(&status) && due).then(|| {
                rt.retry_patch_at = Some(after(now, RETRY));
                Action::PatchStatus {
                    namespace: facts.namespace.clone(),
                    name: facts.name.clone(),
                    uid: facts.uid.clone(),
                    body: json!({"metadata": {"uid": facts.uid}, "status": status}),
                }
            });
            self.record_events(&facts, &node, events, now, &mut actions);
            actions.extend(patch);
        }
        let gone: Vec<String> = self
            .pods
            .keys()
            .filter(|uid| !seen.contains(*uid))
            .cloned()
            .collect();
        for uid in gone {
            self.pods.remove(&uid);
            self.correlator.forget_object(&uid);
        }
        actions
    }

    fn finish_deletion(
        &mut self,
        facts: &PodFacts,
        node: &str,
        now: DateTime<Utc>,
        actions: &mut Vec<Action>,
    ) {
        let Some(rt) = self.pods.get_mut(&facts.uid) else {
            return;
        };
        let mut events = Vec::new();
        if !rt.killed {
            rt.killed = true;
            events = rt.sim.kill(now);
        }
        let due = rt.next_delete_at.is_none_or(|at| now >= at);
        if due {
            rt.next_delete_at = Some(after(now, RETRY));
        }
        self.record_events(facts, node, events, now, actions);
        if due {
            actions.push(Action::DeletePod {
                namespace: facts.namespace.clone(),
                name: facts.name.clone(),
                uid: facts.uid.clone(),
            });
        }
    }

    /// The status patch went through.
    pub fn patched(&mut self, uid: &str, body: &Value, now: DateTime<Utc>) {
        if let Some(rt) = self.pods.get_mut(uid) {
            rt.last_patched = body.get("status").cloned();
            rt.retry_patch_at = None;
            // The watch needs a moment to bring our own write back.
            rt.drift_check_at = Some(after(now, DRIFT_CHECK));
        }
    }

    /// Running containers' working sets (none on a stopped node: its cAdvisor is down too).
    pub fn working_sets(&self) -> Vec<WorkingSetMetric> {
        let mut out: Vec<WorkingSetMetric> = self
            .pods
            .values()
            .filter(|rt| !rt.killed && !self.stopped.contains(&rt.sim.node))
            .flat_map(|rt| {
                rt.sim.working_sets.iter().map(|w| WorkingSetMetric {
                    namespace: rt.sim.namespace.clone(),
                    pod: rt.sim.name.clone(),
                    working_set: w.clone(),
                })
            })
            .collect();
        out.sort_by(|a, b| (&a.namespace, &a.pod).cmp(&(&b.namespace, &b.pod)));
        out
    }

    pub fn container_log(&self, namespace: &str, pod: &str, container: &str) -> LogLookup<'_> {
        let Some(rt) = self
            .pods
            .values()
            .find(|rt| rt.sim.namespace == namespace && rt.sim.name == pod)
        else {
            return LogLookup::NoPod;
        };
        match rt
            .sim
            .containers
            .iter()
            .chain(&rt.sim.init_containers)
            .find(|c| c.name == container)
        {
            Some(c) => LogLookup::Found(c),
            None => LogLookup::NoContainer,
        }
    }

    pub fn is_stopped(&self, node: &str) -> bool {
        self.stopped.contains(node)
    }

    /// The /state view.
    pub fn describe(&self) -> Value {
        let mut pods: Vec<&PodRuntime> = self.pods.values().collect();
        pods.sort_by(|a, b| (&a.sim.namespace, &a.sim.name).cmp(&(&b.sim.namespace, &b.sim.name)));
        json!({
            "missingImages": self.missing_images,
            "pods": pods.iter().map(|rt| json!({
                "namespace": rt.sim.namespace,
                "name": rt.sim.name,
                "uid": rt.sim.uid,
                "node": rt.sim.node,
                "podIP": rt.sim.pod_ip,
                "phase": rt.sim.phase(),
                "ready": rt.sim.ready,
                "mounted": rt.sim.mounted,
                "stuck": rt.sim.stuck.as_ref().map(|s| json!({
                    "reason": s.reason, "messages": s.messages
                })),
                "deleting": rt.killed,
                "statusPatched": rt.last_patched.is_some(),
                "status": rt.sim.status(&rt.facts),
                "workingSets": rt.sim.working_sets.iter().map(|w| json!({
                    "container": w.container, "bytes": w.bytes
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        })
    }
}

pub enum LogLookup<'a> {
    NoPod,
    NoContainer,
    Found(&'a ContainerSim),
}

/// The kubelet's answer to a log request: Ok(text) or Err((HTTP status, message)).
pub fn read_log(
    state: &SimState,
    namespace: &str,
    pod: &str,
    container: &str,
    options: &LogOptions,
) -> Result<String, (u16, String)> {
    match state.container_log(namespace, pod, container) {
        LogLookup::NoPod => Err((
            404,
            format!("pod \"{pod}\" in namespace \"{namespace}\" not found on this node"),
        )),
        LogLookup::NoContainer => Err((
            404,
            format!("container \"{container}\" in pod \"{pod}\" is not available"),
        )),
        LogLookup::Found(c) => {
            let log = &c.log;
            let buffer = if options.previous {
                log.previous.as_ref().ok_or_else(|| {
                    (
                        400,
                        format!(
                            "previous terminated container \"{container}\" in pod \"{pod}\" not found"
                        ),
                    )
                })?
            } else {
                log.current.as_ref().ok_or_else(|| {
                    // The kubelet's wording for a container with no instance yet.
                    let why = match c.state {
                        State::PullFailed { .. } | State::PullBackOff { .. } => {
                            "trying and failing to pull image"
                        }
                        _ => "ContainerCreating",
                    };
                    (
                        400,
                        format!(
                            "container \"{container}\" in pod \"{pod}\" is waiting to start: {why}"
                        ),
                    )
                })?
            };
            Ok(buffer.render(options))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::rfc3339;
    use chrono::{TimeDelta, TimeZone};

    fn t(seconds: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).single().unwrap() + TimeDelta::seconds(seconds)
    }

    fn pod(name: &str, uid: &str, node: &str, extra_meta: Value) -> Arc<Pod> {
        let mut meta = json!({"name": name, "namespace": "shop", "uid": uid});
        if let (Some(m), Value::Object(e)) = (meta.as_object_mut(), extra_meta) {
            m.extend(e);
        }
        Arc::new(
            serde_json::from_value(json!({
                "metadata": meta,
                "spec": {"nodeName": node, "containers": [{"name": "app", "image": "app:1"}]},
            }))
            .unwrap(),
        )
    }

    struct World {
        nodes: Vec<String>,
        stopped: HashSet<String>,
        secrets: HashSet<(String, String)>,
        config_maps: HashSet<(String, String)>,
    }

    impl World {
        fn new() -> World {
            World {
                nodes: vec!["lab-node-1".into(), "lab-node-2".into()],
                stopped: HashSet::new(),
                secrets: HashSet::new(),
                config_maps: HashSet::new(),
            }
        }
        fn plan(&self, state: &mut SimState, pods: &[Arc<Pod>], now: DateTime<Utc>) -> Vec<Action> {
            let inputs = Inputs {
                pods,
                nodes: &self.nodes,
                stopped: &self.stopped,
                secrets: &self.secrets,
                config_maps: &self.config_maps,
            };
            state.plan(&inputs, &Timing::default(), now)
        }
    }

    fn patches(actions: &[Action]) -> Vec<&Value> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::PatchStatus { body, .. } => Some(body),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn patches_only_on_change_and_ignores_other_nodes() {
        let world = World::new();
        let mut state = SimState::new();
        let pods = vec![
            pod("a", "u-a", "lab-node-2", json!({})),
            pod("b", "u-b", "elsewhere", json!({})),
        ];
        let actions = world.plan(&mut state, &pods, t(0));
        let p = patches(&actions);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0]["metadata"]["uid"], "u-a");
        assert_eq!(p[0]["status"]["phase"], "Running");
        assert_eq!(p[0]["status"]["podIP"], "10.244.2.2");
        assert_eq!(
            actions
                .iter()
                .filter(|a| matches!(a, Action::Event(_)))
                .count(),
            4
        );
        // Not yet acknowledged, but within the retry delay: no second patch.
        assert!(patches(&world.plan(&mut state, &pods, t(1))).is_empty());
        state.patched("u-a", p[0], t(1));
        // (Before the drift check: these test pods' API copies carry no status.)
        assert!(world.plan(&mut state, &pods, t(4)).is_empty());
        assert_eq!(state.working_sets().len(), 1);
    }

    #[test]
    fn subset_comparison() {
        let want = json!({"a": 1, "b": [{"x": "y", "n": null}], "c": {}});
        let have = json!({"a": 1, "b": [{"x": "y", "extra": 2}], "c": {"d": 1}, "e": 0});
        assert!(is_subset(&want, Some(&have)));
        assert!(!is_subset(&json!({"a": 2}), Some(&have)));
        assert!(!is_subset(&json!({"b": []}), Some(&have)));
        assert!(!is_subset(&json!({"z": 1}), Some(&have)));
    }

    #[test]
    fn status_overwritten_by_someone_else_is_put_back() {
        let world = World::new();
        let mut state = SimState::new();
        let pods = vec![pod("a", "u-a", "lab-node-1", json!({}))];
        let actions = world.plan(&mut state, &pods, t(0));
        let body = patches(&actions)[0].clone();
        state.patched("u-a", &body, t(0));
        // The API server's copy matches what we wrote: nothing to do, even after the check.
        let mut synced: Pod = (*pods[0]).clone();
        synced.status = serde_json::from_value(body["status"].clone()).unwrap();
        let synced = vec![Arc::new(synced)];
        assert!(world.plan(&mut state, &synced, t(10)).is_empty());
        // Someone marked it not ready (as the node controller does): re-patched at the next check.
        let mut overwritten: Pod = (*synced[0]).clone();
        if let Some(conditions) = overwritten
            .status
            .as_mut()
            .and_then(|s| s.conditions.as_mut())
        {
            for c in conditions.iter_mut().filter(|c| c.type_ == "Ready") {
                c.status = "False".into();
            }
        }
        let overwritten = vec![Arc::new(overwritten)];
        assert!(world.plan(&mut state, &overwritten, t(12)).is_empty());
        assert_eq!(
            patches(&world.plan(&mut state, &overwritten, t(15))).len(),
            1
        );
    }

    #[test]
    fn unacknowledged_patch_is_retried() {
        let world = World::new();
        let mut state = SimState::new();
        let pods = vec![pod("a", "u-a", "lab-node-1", json!({}))];
        world.plan(&mut state, &pods, t(0));
        assert_eq!(patches(&world.plan(&mut state, &pods, t(3))).len(), 1);
    }

    #[test]
    fn deletion_kills_and_deletes_with_retry() {
        let world = World::new();
        let mut state = SimState::new();
        world.plan(
            &mut state,
            &[pod("a", "u-a", "lab-node-1", json!({}))],
            t(0),
        );
        let deleting = vec![pod(
            "a",
            "u-a",
            "lab-node-1",
            json!({"deletionTimestamp": "2026-03-01T12:00:05Z"}),
        )];
        let actions = world.plan(&mut state, &deleting, t(5));
        assert!(actions.contains(&Action::DeletePod {
            namespace: "shop".into(),
            name: "a".into(),
            uid: "u-a".into()
        }));
        assert!(actions.iter().any(|a| matches!(a,
            Action::Event(EventWrite::Create { body, .. }) if body["reason"] == "Killing")));
        assert!(state.working_sets().is_empty());
        // Still there a moment later: no new delete until the retry delay passed.
        assert!(world.plan(&mut state, &deleting, t(6)).is_empty());
        assert_eq!(world.plan(&mut state, &deleting, t(8)).len(), 1);
        // Gone from the API: forgotten.
        world.plan(&mut state, &[], t(9));
        assert!(state.pods.is_empty());
        assert!(state.correlator.is_empty());
    }

    #[test]
    fn stopped_node_freezes_pods_and_resume_reasserts_status() {
        let mut world = World::new();
        let mut state = SimState::new();
        let pods = vec![pod("a", "u-a", "lab-node-1", json!({}))];
        let actions = world.plan(&mut state, &pods, t(0));
        state.patched("u-a", patches(&actions)[0], t(0));
        world.stopped.insert("lab-node-1".into());
        assert!(world.plan(&mut state, &pods, t(10)).is_empty());
        assert!(state.working_sets().is_empty());
        assert!(state.is_stopped("lab-node-1"));
        world.stopped.clear();
        let actions = world.plan(&mut state, &pods, t(20));
        assert_eq!(patches(&actions).len(), 1);
    }

    #[test]
    fn logs_through_the_lookup() {
        let world = World::new();
        let mut state = SimState::new();
        let pods = vec![pod(
            "a",
            "u-a",
            "lab-node-1",
            json!({"annotations": {"sim.nightwatch.dev/exit-code": "1", "sim.nightwatch.dev/log": "panic: oh no"}}),
        )];
        world.plan(&mut state, &pods, t(0));
        let opts = LogOptions::default();
        let current = read_log(&state, "shop", "a", "app", &opts).unwrap();
        assert!(current.ends_with("panic: oh no\n"));
        let previous = LogOptions {
            previous: true,
            ..Default::default()
        };
        assert_eq!(
            read_log(&state, "shop", "a", "app", &previous)
                .unwrap_err()
                .0,
            400
        );
        world.plan(&mut state, &pods, t(5));
        assert!(
            read_log(&state, "shop", "a", "app", &previous)
                .unwrap()
                .contains("panic")
        );
        assert_eq!(
            read_log(&state, "shop", "zz", "app", &opts).unwrap_err().0,
            404
        );
        assert_eq!(
            read_log(&state, "shop", "a", "zz", &opts).unwrap_err().0,
            404
        );

        state.missing_images.insert("app:1".into());
        world.plan(
            &mut state,
            &[pod("b", "u-b", "lab-node-1", json!({}))],
            t(6),
        );
        let (code, message) = read_log(&state, "shop", "b", "app", &opts).unwrap_err();
        assert_eq!(code, 400);
        assert_eq!(
            message,
            "container \"app\" in pod \"b\" is waiting to start: trying and failing to pull image"
        );
    }

    #[test]
    fn repeated_failed_mount_updates_one_event() {
        let world = World::new();
        let mut state = SimState::new();
        let p: Arc<Pod> = Arc::new(
            serde_json::from_value(json!({
                "metadata": {"name": "a", "namespace": "shop", "uid": "u-a"},
                "spec": {"nodeName": "lab-node-1",
                    "containers": [{"name": "app", "image": "app:1"}],
                    "volumes": [{"name": "creds", "secret": {"secretName": "nope"}}]},
            }))
            .unwrap(),
        );
        let pods = vec![p];
        let first = world.plan(&mut state, &pods, t(0));
        assert!(first.iter().any(|a| matches!(a, Action::Event(EventWrite::Create { body, .. })
            if body["reason"] == "FailedMount" && body.get("involvedObject").and_then(|o| o.get("fieldPath")).is_none())));
        let again = world.plan(&mut state, &pods, t(5));
        assert!(again.iter().any(
            |a| matches!(a, Action::Event(EventWrite::Update { patch, .. })
            if patch["count"] == 2)
        ));
    }

    /// A pod of ReplicaSet `rs-1` created at t(`created`), with the sandbox-failures annotation.
    fn replica(name: &str, uid: &str, created: i64, extra: Value) -> Arc<Pod> {
        let mut meta = json!({
            "creationTimestamp": rfc3339(t(created)),
            "annotations": {"sim.nightwatch.dev/sandbox-failures": "1"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-5d9c",
                                 "uid": "rs-1", "controller": true}],
        });
        if let (Some(m), Value::Object(e)) = (meta.as_object_mut(), extra) {
            m.extend(e);
        }
        pod(name, uid, "lab-node-2", meta)
    }

    fn created_events<'a>(actions: &'a [Action], reason: &str) -> Vec<&'a Value> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Event(EventWrite::Create { body, .. }) if body["reason"] == reason => {
                    Some(body)
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn sandbox_failure_until_the_pod_is_deleted_then_the_replacement_runs() {
        let world = World::new();
        let mut state = SimState::new();
        let stuck = vec![replica("web-a", "u-a", 0, json!({}))];
        let actions = world.plan(&mut state, &stuck, t(0));
        let events = created_events(&actions, "FailedCreatePodSandBox");
        assert_eq!(events.len(), 1, "{actions:?}");
        assert_eq!(events[0]["type"], "Warning");
        assert_eq!(events[0]["involvedObject"]["uid"], "u-a");
        let message = events[0]["message"].as_str().unwrap();
        assert!(
            message.ends_with("no IP addresses available in range set: 10.244.2.1-10.244.2.254"),
            "{message}"
        );
        let status = &patches(&actions)[0]["status"];
        assert_eq!(status["phase"], "Pending");
        assert!(status.get("podIP").is_none());
        assert_eq!(
            status["containerStatuses"][0]["state"]["waiting"]["reason"],
            "ContainerCreating"
        );
        let described = state.describe();
        assert_eq!(
            described["pods"][0]["stuck"]["reason"],
            "FailedCreatePodSandBox"
        );
        assert_eq!(described["pods"][0]["stuck"]["messages"][0], message);

        // Repeated every mount_retry as one correlated Event; removing the annotation from the
        // pod does not heal it.
        let healed_annotation = vec![replica("web-a", "u-a", 0, json!({"annotations": {}}))];
        let again = world.plan(&mut state, &healed_annotation, t(5));
        assert!(again.iter().any(|a| matches!(a,
            Action::Event(EventWrite::Update { patch, .. })
                if patch["count"] == 2 && patch["message"] == message)));
        assert!(state.working_sets().is_empty());

        // Deleted: killed and deleted for real, then gone from the API.
        let deleting = vec![replica(
            "web-a",
            "u-a",
            0,
            json!({"deletionTimestamp": rfc3339(t(10))}),
        )];
        assert!(
            world
                .plan(&mut state, &deleting, t(10))
                .contains(&Action::DeletePod {
                    namespace: "shop".into(),
                    name: "web-a".into(),
                    uid: "u-a".into()
                })
        );
        world.plan(&mut state, &[], t(11));
        assert!(state.pods.is_empty());

        // The ReplicaSet's replacement is the owner's second pod: it runs.
        let replacement = vec![replica("web-b", "u-b", 11, json!({}))];
        let actions = world.plan(&mut state, &replacement, t(12));
        assert!(created_events(&actions, "FailedCreatePodSandBox").is_empty());
        let status = &patches(&actions)[0]["status"];
        assert_eq!(status["phase"], "Running");
        assert!(status["podIP"].as_str().unwrap().starts_with("10.244.2."));
        assert!(state.describe()["pods"][0]["stuck"].is_null());
    }

    #[test]
    fn the_oldest_new_pod_of_an_owner_is_the_first() {
        let world = World::new();
        let mut state = SimState::new();
        // Listed newest first, as a store may return them.
        let pods = vec![
            replica("web-new", "u-new", 3, json!({})),
            replica("web-old", "u-old", 1, json!({})),
        ];
        world.plan(&mut state, &pods, t(5));
        let failing: Vec<&str> = state
            .pods
            .values()
            .filter(|rt| rt.sim.sandbox_failure.is_some())
            .map(|rt| rt.sim.name.as_str())
            .collect();
        assert_eq!(failing, ["web-old"]);
    }

    #[test]
    fn a_pod_reported_with_an_ip_keeps_its_sandbox_after_a_restart() {
        let world = World::new();
        let mut state = SimState::new();
        let mut adopted: Pod = (*replica("web-a", "u-a", 0, json!({}))).clone();
        adopted.status = serde_json::from_value(json!({"podIP": "10.244.2.7"})).unwrap();
        world.plan(&mut state, &[Arc::new(adopted)], t(1));
        assert!(state.pods["u-a"].sim.sandbox_failure.is_none());
    }

    #[test]
    fn liveness_failures_count_up_one_event_across_kills() {
        let world = World::new();
        let mut state = SimState::new();
        let p: Arc<Pod> = Arc::new(
            serde_json::from_value(json!({
                "metadata": {"name": "a", "namespace": "shop", "uid": "u-a",
                             "annotations": {"sim.nightwatch.dev/liveness": "failing"}},
                "spec": {"nodeName": "lab-node-1", "containers": [{
                    "name": "app", "image": "app:1",
                    "livenessProbe": {"tcpSocket": {"port": 8080}}
                }]},
            }))
            .unwrap(),
        );
        let pods = vec![p];
        world.plan(&mut state, &pods, t(0));
        // periodSeconds 10 (2s), failureThreshold 3.
        let first = world.plan(&mut state, &pods, t(2));
        let unhealthy = created_events(&first, "Unhealthy");
        assert_eq!(unhealthy.len(), 1);
        assert_eq!(unhealthy[0]["type"], "Warning");
        assert_eq!(
            unhealthy[0]["involvedObject"]["fieldPath"],
            "spec.containers{app}"
        );
        assert_eq!(
            unhealthy[0]["message"],
            "Liveness probe failed: dial tcp 10.244.1.2:8080: connect: connection refused"
        );
        world.plan(&mut state, &pods, t(4));
        let third = world.plan(&mut state, &pods, t(6));
        assert!(third.iter().any(|a| matches!(a,
            Action::Event(EventWrite::Update { patch, .. }) if patch["count"] == 3)));
        let killing = created_events(&third, "Killing");
        assert_eq!(killing.len(), 1);
        assert_eq!(killing[0]["type"], "Normal");
        assert_eq!(
            killing[0]["message"],
            "Container app failed liveness probe, will be restarted"
        );
        // Restarted at 8; the next instance's failures bump the same Event.
        world.plan(&mut state, &pods, t(8));
        let again = world.plan(&mut state, &pods, t(10));
        assert!(again.iter().any(|a| matches!(a,
            Action::Event(EventWrite::Update { patch, .. }) if patch["count"] == 4)));
    }
}

//! The edge to the API server: watches (reflector stores of pods, nodes, Deployments and
//! ReplicaSets for their kube-state-metrics series, Secret and ConfigMap metadata), the pod sync loop that executes `SimState::plan`'s writes, and the node heartbeats.
//! Every API error is logged and retried on a later tick; nothing here panics.

use crate::container::{EventType, Timing};
use crate::events::EventWrite;
use crate::node;
use crate::runtime::{Action, Inputs, SimState};
use chrono::Utc;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, Event, Node, Pod, Secret};
use kube::api::{DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use kube::core::PartialObjectMeta;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::fmt::Debug;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use thiserror::Error;
use tracing::{debug, info, warn};

#[derive(Debug, Error)]
pub enum Error {
    #[error("kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("object does not fit its API type: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the {0} watch ended before its first list")]
    WatchStopped(&'static str),
}

/// The HTTP status of an API error, if it was one.
fn api_code(error: &kube::Error) -> Option<u16> {
    match error {
        kube::Error::Api(status) => Some(status.code),
        _ => None,
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub nodes: Vec<String>,
    /// Advertised in each Node's daemonEndpoints: where the API server fetches logs.
    pub kubelet_port: u16,
    pub timing: Timing,
    pub heartbeat: Duration,
    /// How often every pod is synced.
    pub tick: Duration,
}

pub struct Stores {
    pub pods: Store<Pod>,
    pub nodes: Store<Node>,
    pub deployments: Store<Deployment>,
    pub replica_sets: Store<ReplicaSet>,
    pub secrets: Store<PartialObjectMeta<Secret>>,
    pub config_maps: Store<PartialObjectMeta<ConfigMap>>,
}

/// Runs a watch into a store for the life of the process; the watcher's own backoff retries
/// after errors, which are logged.
fn spawn_reflector<K, S>(what: &'static str, writer: reflector::store::Writer<K>, stream: S)
where
    K: Resource + Clone + Debug + Send + Sync + 'static,
    K::DynamicType: Default + Eq + Hash + Clone + Send + Sync,
    S: futures::Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send + 'static,
{
    let stream = reflector::reflector(writer, stream).default_backoff();
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        loop {
            match stream.try_next().await {
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(error) => warn!(what, %error, "watch failed; retrying"),
            }
        }
    });
}

fn watch_all<K>(client: &Client, what: &'static str) -> Store<K>
where
    K: Resource + Clone + Debug + DeserializeOwned + Send + Sync + 'static,
    K::DynamicType: Default + Eq + Hash + Clone + Send + Sync,
{
    let (reader, writer) = reflector::store();
    let api: Api<K> = Api::all(client.clone());
    spawn_reflector(what, writer, watcher(api, watcher::Config::default()));
    reader
}

fn watch_metadata<K>(client: &Client, what: &'static str) -> Store<PartialObjectMeta<K>>
where
    K: Resource + Clone + Debug + DeserializeOwned + Send + Sync + 'static,
    K::DynamicType: Default + Eq + Hash + Clone + Send + Sync,
{
    // Metadata only: the simulator needs to know a Secret exists, never its data.
    let (reader, writer) = reflector::store();
    let api: Api<PartialObjectMeta<K>> = Api::all(client.clone());
    spawn_reflector(what, writer, watcher(api, watcher::Config::default()));
    reader
}

impl Stores {
    pub fn start(client: &Client) -> Stores {
        Stores {
            pods: watch_all(client, "pods"),
            nodes: watch_all(client, "nodes"),
            deployments: watch_all(client, "deployments"),
            replica_sets: watch_all(client, "replicasets"),
            secrets: watch_metadata::<Secret>(client, "secrets"),
            config_maps: watch_metadata::<ConfigMap>(client, "configmaps"),
        }
    }

    /// Waits for the first full list of every watch.
    pub async fn ready(&self) -> Result<(), Error> {
        self.pods
            .wait_until_ready()
            .await
            .map_err(|_| Error::WatchStopped("pods"))?;
        self.nodes
            .wait_until_ready()
            .await
            .map_err(|_| Error::WatchStopped("nodes"))?;
        self.deployments
            .wait_until_ready()
            .await
            .map_err(|_| Error::WatchStopped("deployments"))?;
        self.replica_sets
            .wait_until_ready()
            .await
            .map_err(|_| Error::WatchStopped("replicasets"))?;
        self.secrets
            .wait_until_ready()
            .await
            .map_err(|_| Error::WatchStopped("secrets"))?;
        self.config_maps
            .wait_until_ready()
            .await
            .map_err(|_| Error::WatchStopped("configmaps"))?;
        Ok(())
    }

    pub fn node(&self, name: &str) -> Option<Arc<Node>> {
        self.nodes.get(&ObjectRef::new(name))
    }
}

/// Everything the loops and the HTTP handlers share.
pub struct Shared {
    pub settings: Settings,
    pub client: Client,
    pub stores: Stores,
    pub state: Mutex<SimState>,
    /// All nodes registered and their first heartbeat posted.
    pub healthy: AtomicBool,
}

impl Shared {
    pub fn new(settings: Settings, client: Client, stores: Stores) -> Shared {
        Shared {
            settings,
            client,
            stores,
            state: Mutex::new(SimState::new()),
            healthy: AtomicBool::new(false),
        }
    }

    /// The state lock; a panic elsewhere while holding it leaves data that is still usable.
    pub fn lock(&self) -> MutexGuard<'_, SimState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    /// Our nodes whose heartbeat annotation says stopped.
    pub fn stopped_nodes(&self) -> HashSet<String> {
        self.settings
            .nodes
            .iter()
            .filter(|name| {
                self.stores
                    .node(name)
                    .is_some_and(|n| node::heartbeat_stopped(&n))
            })
            .cloned()
            .collect()
    }
}

fn object_keys<K>(store: &Store<K>) -> HashSet<(String, String)>
where
    K: Resource + Clone + 'static,
    K::DynamicType: Eq + Hash + Clone,
{
    store
        .state()
        .iter()
        .filter_map(|m| Some((m.meta().namespace.clone()?, m.meta().name.clone()?)))
        .collect()
}

/// The pod sync loop: every tick, plan against the stores and carry the writes out.
pub async fn run_pods(shared: Arc<Shared>) {
    let mut interval = tokio::time::interval(shared.settings.tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let pods = shared.stores.pods.state();
        let stopped = shared.stopped_nodes();
        let secrets = object_keys(&shared.stores.secrets);
        let config_maps = object_keys(&shared.stores.config_maps);
        let inputs = Inputs {
            pods: &pods,
            nodes: &shared.settings.nodes,
            stopped: &stopped,
            secrets: &secrets,
            config_maps: &config_maps,
        };
        let actions = shared
            .lock()
            .plan(&inputs, &shared.settings.timing, Utc::now());
        execute(&shared, actions).await;
    }
}

/// Events in order (a create must land before its updates); status patches and deletions
/// concurrently.
pub async fn execute(shared: &Arc<Shared>, actions: Vec<Action>) {
    let (events, others): (Vec<Action>, Vec<Action>) = actions
        .into_iter()
        .partition(|a| matches!(a, Action::Event(_)));
    let events = async {
        for action in events {
            if let Action::Event(write) = action {
                write_event(&shared.client, write).await;
            }
        }
    };
    let others = futures::stream::iter(others)
        .for_each_concurrent(8, |action| run_action(shared.clone(), action));
    tokio::join!(events, others);
}

async fn run_action(shared: Arc<Shared>, action: Action) {
    match action {
        Action::PatchStatus {
            namespace,
            name,
            uid,
            body,
        } => {
            let api: Api<Pod> = Api::namespaced(shared.client.clone(), &namespace);
            match api
                .patch_status(&name, &PatchParams::default(), &Patch::Merge(&body))
                .await
            {
                Ok(_) => {
                    debug!(%namespace, %name, phase = %body["status"]["phase"], "pod status patched");
                    shared.lock().patched(&uid, &body, Utc::now());
                }
                Err(e) if api_code(&e) == Some(404) => {
                    debug!(%namespace, %name, "pod gone before its status patch")
                }
                // 409 (conflict) or 422 (a newer pod of that name): retried on a later tick
                // against the then-current object.
                Err(error) => {
                    warn!(%namespace, %name, %error, "pod status patch failed; will retry")
                }
            }
        }
        Action::DeletePod {
            namespace,
            name,
            uid,
        } => {
            let api: Api<Pod> = Api::namespaced(shared.client.clone(), &namespace);
            let params = DeleteParams {
                grace_period_seconds: Some(0),
                preconditions: Some(Preconditions {
                    uid: Some(uid),
                    resource_version: None,
                }),
                ..DeleteParams::default()
            };
            match api.delete(&name, &params).await {
                Ok(_) => info!(%namespace, %name, "pod deletion finished"),
                Err(e) if matches!(api_code(&e), Some(404 | 409)) => {
                    debug!(%namespace, %name, "pod already gone")
                }
                Err(error) => {
                    warn!(%namespace, %name, %error, "pod deletion failed; will retry")
                }
            }
        }
        Action::Event(write) => write_event(&shared.client, write).await,
    }
}

async fn create_event(client: &Client, namespace: &str, body: Value) {
    let event: Event = match serde_json::from_value(body) {
        Ok(event) => event,
        Err(error) => {
            warn!(%error, "event does not fit the Event type");
            return;
        }
    };
    let api: Api<Event> = Api::namespaced(client.clone(), namespace);
    match api.create(&PostParams::default(), &event).await {
        Ok(_) => debug!(
            %namespace,
            reason = event.reason.as_deref().unwrap_or_default(),
            "event created"
        ),
        Err(e) if api_code(&e) == Some(409) => {}
        Err(error) => warn!(%namespace, %error, "event create failed"),
    }
}

pub async fn write_event(client: &Client, write: EventWrite) {
    match write {
        EventWrite::Create { namespace, body } => create_event(client, &namespace, body).await,
        EventWrite::Update {
            namespace,
            name,
            patch,
            fallback,
        } => {
            let api: Api<Event> = Api::namespaced(client.clone(), &namespace);
            match api
                .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(_) => {}
                // Expired by the API server's event TTL: write it anew, count and all.
                Err(e) if api_code(&e) == Some(404) => {
                    create_event(client, &namespace, fallback).await
                }
                Err(error) => warn!(%namespace, %name, %error, "event update failed"),
            }
        }
    }
}

/// Creates the Node if it does not exist (a kubelet's registration).
pub async fn ensure_node(shared: &Arc<Shared>, name: &str) -> Result<Node, Error> {
    let api: Api<Node> = Api::all(shared.client.clone());
    if let Some(node) = api.get_opt(name).await? {
        return Ok(node);
    }
    let node: Node = serde_json::from_value(node::node_object(name))?;
    let created = match api.create(&PostParams::default(), &node).await {
        Ok(created) => created,
        Err(e) if api_code(&e) == Some(409) => api.get(name).await?,
        Err(e) => return Err(e.into()),
    };
    info!(node = name, "node registered");
    Ok(created)
}

/// The event every kubelet start records on its Node.
pub async fn announce_start(shared: &Arc<Shared>, name: &str) {
    let action = shared.lock().node_event(
        name,
        EventType::Normal,
        "Starting",
        "Starting kubelet.",
        Utc::now(),
    );
    execute(shared, vec![action]).await;
}

/// One heartbeat: renew the Lease, post the status with fresh conditions.
async fn heartbeat(shared: &Arc<Shared>, name: &str, current: Option<&Node>) -> Result<(), Error> {
    let now = Utc::now();
    let leases: Api<Lease> = Api::namespaced(shared.client.clone(), node::LEASE_NAMESPACE);
    let renewal = json!({"spec": node::lease_spec(name, now)});
    match leases
        .patch(name, &PatchParams::default(), &Patch::Merge(&renewal))
        .await
    {
        Ok(_) => {}
        Err(e) if api_code(&e) == Some(404) => {
            let uid = current.and_then(|n| n.metadata.uid.as_deref());
            let lease: Lease = serde_json::from_value(node::lease_object(name, uid, now))?;
            match leases.create(&PostParams::default(), &lease).await {
                Ok(_) => {}
                Err(e) if api_code(&e) == Some(409) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Err(e) => return Err(e.into()),
    }
    let nodes: Api<Node> = Api::all(shared.client.clone());
    let status = json!({
        "status": node::node_status(name, shared.settings.kubelet_port, current, now)
    });
    nodes
        .patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
        .await?;
    if !node::is_ready(current) {
        info!(node = name, "node Ready");
        let action = shared.lock().node_event(
            name,
            EventType::Normal,
            "NodeReady",
            &format!("Node {name} status is now: NodeReady"),
            now,
        );
        execute(shared, vec![action]).await;
    }
    Ok(())
}

/// The heartbeat loop of every node; also re-registers a Node that was deleted.
pub async fn run_heartbeats(shared: Arc<Shared>) {
    let mut interval = tokio::time::interval(shared.settings.heartbeat);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut beating: HashSet<String> = HashSet::new();
    let mut stopped: HashSet<String> = HashSet::new();
    loop {
        interval.tick().await;
        let beats = shared
            .settings
            .nodes
            .iter()
            .map(|name| beat(shared.clone(), name.clone()));
        for (name, outcome) in futures::future::join_all(beats).await {
            match outcome {
                Some(true) => {
                    if stopped.remove(&name) {
                        info!(node = %name, "heartbeats resumed");
                    }
                    beating.insert(name);
                }
                Some(false) => {
                    if stopped.insert(name.clone()) {
                        info!(node = %name, "heartbeats stopped by annotation");
                    }
                    // A node stopped on purpose is registered all the same.
                    beating.insert(name);
                }
                None => {}
            }
        }
        if beating.len() == shared.settings.nodes.len() && !shared.is_healthy() {
            info!(
                nodes = beating.len(),
                "all nodes registered and posting status"
            );
            shared.healthy.store(true, Ordering::Relaxed);
        }
    }
}

/// One node's heartbeat round: Some(true) posted, Some(false) stopped by annotation, None failed.
async fn beat(shared: Arc<Shared>, name: String) -> (String, Option<bool>) {
    let current = match shared.stores.node(&name) {
        Some(node) => Some((*node).clone()),
        None => match ensure_node(&shared, &name).await {
            Ok(node) => Some(node),
            Err(error) => {
                warn!(node = %name, %error, "node registration failed; will retry");
                return (name, None);
            }
        },
    };
    if current.as_ref().is_some_and(node::heartbeat_stopped) {
        return (name, Some(false));
    }
    match heartbeat(&shared, &name, current.as_ref()).await {
        Ok(()) => (name, Some(true)),
        Err(error) => {
            warn!(node = %name, %error, "heartbeat failed; will retry");
            (name, None)
        }
    }
}

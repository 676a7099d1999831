//! The connection to the API server and the read side: each read tool fetches what it needs and
//! hands it to the pure functions of [`crate::tools`].

use crate::owner::{
    ChainLink, OwnerLink, WorkloadKind, controller_of, is_intermediate, owner_resource,
    selector_string, workload_of,
};
use crate::{KubeError, facts, status_of, tools};
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::{Event, Namespace, Node, Pod};
use kube::api::{DynamicObject, ListParams, LogParams};
use kube::{Api, Client};
use nightwatch_core::action::{Action, ActionObject, ActionTarget};
use nightwatch_core::live::NodeFacts;
use nightwatch_core::tool::ToolOutput;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::Duration;

/// What a tool or action is about, from the incident's labels.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolTarget {
    pub namespace: Option<String>,
    pub pod: Option<String>,
    pub container: Option<String>,
    pub node: Option<String>,
}

impl ToolTarget {
    /// From an incident's labels `namespace`, `pod`, `container`, `node` (empty ones ignored).
    pub fn from_labels(labels: &BTreeMap<String, String>) -> ToolTarget {
        let get = |k: &str| labels.get(k).filter(|v| !v.is_empty()).cloned();
        ToolTarget {
            namespace: get("namespace"),
            pod: get("pod"),
            container: get("container"),
            node: get("node"),
        }
    }

    pub fn pod(namespace: &str, pod: &str) -> ToolTarget {
        ToolTarget {
            namespace: Some(namespace.to_owned()),
            pod: Some(pod.to_owned()),
            ..ToolTarget::default()
        }
    }

    pub fn node(node: &str) -> ToolTarget {
        ToolTarget {
            node: Some(node.to_owned()),
            ..ToolTarget::default()
        }
    }
}

/// Which Eviction the server takes (`policy/v1` from Kubernetes 1.22, `policy/v1beta1` before).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum EvictionApi {
    PolicyV1,
    PolicyV1beta1,
}

impl EvictionApi {
    pub fn api_version(self) -> &'static str {
        match self {
            EvictionApi::PolicyV1 => "policy/v1",
            EvictionApi::PolicyV1beta1 => "policy/v1beta1",
        }
    }
}

/// A client of one cluster with what discovery told about it.
#[derive(Clone)]
pub struct Kube {
    client: Client,
    /// The same connection settings without kube's automatic retries.
    no_retry: Client,
    eviction: EvictionApi,
    cronjob_api_version: String,
}

async fn kubeconfig(path: &Path) -> Result<kube::Config, KubeError> {
    let file = kube::config::Kubeconfig::read_from(path)
        .map_err(|e| KubeError::Config(format!("reading {}: {e}", path.display())))?;
    kube::Config::from_custom_kubeconfig(file, &kube::config::KubeConfigOptions::default())
        .await
        .map_err(|e| KubeError::Config(format!("loading {}: {e}", path.display())))
}

/// In-cluster (service account) or `$KUBECONFIG` / `~/.kube/config`.
async fn inferred() -> Result<kube::Config, KubeError> {
    kube::Config::infer()
        .await
        .map_err(|e| KubeError::Config(e.to_string()))
}

fn install_crypto_provider() {
    // One process-wide provider; another part of the process may have installed it already.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// How long one request to the API server may wait for its answer, unless configured. kube
/// sets none (for watches, which nightwatch does not use): an API server that accepts a
/// connection and never answers would otherwise hold a runbook for ever.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

impl Kube {
    /// From a kubeconfig file (its current context).
    pub async fn from_kubeconfig(path: impl AsRef<Path>) -> Result<Kube, KubeError> {
        Kube::from_config(kubeconfig(path.as_ref()).await?).await
    }

    /// In-cluster (service account) or `$KUBECONFIG` / `~/.kube/config`.
    pub async fn infer() -> Result<Kube, KubeError> {
        Kube::from_config(inferred().await?).await
    }

    /// From `kubeconfig`, else inferred, each request answered within `request_timeout`.
    pub async fn connect(
        kubeconfig_path: Option<&Path>,
        request_timeout: Duration,
    ) -> Result<Kube, KubeError> {
        let mut config = match kubeconfig_path {
            Some(path) => kubeconfig(path).await?,
            None => inferred().await?,
        };
        config.read_timeout = Some(request_timeout);
        Kube::from_config(config).await
    }

    /// A bearer token against `url`, trusting the PEM certificates in `ca_pem` (e.g. acting as a
    /// ServiceAccount with its token).
    pub async fn from_token(url: &str, token: &str, ca_pem: &[u8]) -> Result<Kube, KubeError> {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        let uri: http::Uri = url
            .parse()
            .map_err(|e| KubeError::Config(format!("API server URL {url:?}: {e}")))?;
        let certs = CertificateDer::pem_slice_iter(ca_pem)
            .map(|c| c.map(|c| c.to_vec()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| KubeError::Config(format!("CA certificates: {e}")))?;
        if certs.is_empty() {
            return Err(KubeError::Config("no certificate in the CA PEM".into()));
        }
        let mut config = kube::Config::new(uri);
        config.root_cert = Some(certs);
        config.auth_info.token = Some(token.to_owned().into());
        Kube::from_config(config).await
    }

    /// From a client configuration. Two clients share it: one with kube's default retries of
    /// 429/503/504 for reads and patches, and one without for evictions, where a 429 is a
    /// PodDisruptionBudget's refusal that the drain itself backs off from (kube's retry would
    /// hide it for many minutes).
    pub async fn from_config(mut config: kube::Config) -> Result<Kube, KubeError> {
        install_crypto_provider();
        config.read_timeout.get_or_insert(DEFAULT_REQUEST_TIMEOUT);
        let build = |config: kube::Config| {
            Client::try_from(config)
                .map_err(|e| KubeError::Config(format!("building the client: {e}")))
        };
        let mut direct = config.clone();
        direct.default_retry = false;
        let client = build(config)?;
        let no_retry = build(direct)?;
        Kube::discover(client, no_retry).await
    }

    /// Discovers once which Eviction and CronJob versions the server serves.
    async fn discover(client: Client, no_retry: Client) -> Result<Kube, KubeError> {
        let core = client
            .list_core_api_resources("v1")
            .await
            .map_err(KubeError::api("discovering the core API"))?;
        // As kubectl drain does: the pods/eviction subresource names its Eviction version.
        let eviction = match core.resources.iter().find(|r| r.name == "pods/eviction") {
            Some(r) if r.version.as_deref() == Some("v1") => EvictionApi::PolicyV1,
            _ => EvictionApi::PolicyV1beta1,
        };
        let batch_v1 = client
            .list_api_group_resources("batch/v1")
            .await
            .map_err(KubeError::api("discovering batch/v1"))?;
        let cronjob_api_version = if batch_v1.resources.iter().any(|r| r.name == "cronjobs") {
            "batch/v1"
        } else {
            "batch/v1beta1"
        };
        tracing::debug!(
            eviction = eviction.api_version(),
            cronjob_api_version,
            "discovered"
        );
        Ok(Kube {
            client,
            no_retry,
            eviction,
            cronjob_api_version: cronjob_api_version.to_owned(),
        })
    }

    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// The client without automatic retries (evictions).
    pub(crate) fn no_retry_client(&self) -> &Client {
        &self.no_retry
    }

    pub fn eviction_api(&self) -> EvictionApi {
        self.eviction
    }

    /// `batch/v1` or, before Kubernetes 1.21, `batch/v1beta1`.
    pub fn cronjob_api_version(&self) -> &str {
        &self.cronjob_api_version
    }

    // ---- fetching

    pub(crate) async fn get_pod_opt(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<Pod>, KubeError> {
        Api::<Pod>::namespaced(self.client.clone(), namespace)
            .get_opt(name)
            .await
            .map_err(KubeError::api(format!("reading pod {namespace}/{name}")))
    }

    pub(crate) async fn get_pod(&self, namespace: &str, name: &str) -> Result<Pod, KubeError> {
        self.get_pod_opt(namespace, name)
            .await?
            .ok_or_else(|| KubeError::NotFound(format!("pod {namespace}/{name}")))
    }

    pub(crate) async fn get_node(&self, name: &str) -> Result<Node, KubeError> {
        Api::<Node>::all(self.client.clone())
            .get_opt(name)
            .await
            .map_err(KubeError::api(format!("reading node {name}")))?
            .ok_or_else(|| KubeError::NotFound(format!("node {name}")))
    }

    pub(crate) async fn list_pods(
        &self,
        namespace: Option<&str>,
        params: &ListParams,
    ) -> Result<Vec<Pod>, KubeError> {
        let api: Api<Pod> = match namespace {
            Some(ns) => Api::namespaced(self.client.clone(), ns),
            None => Api::all(self.client.clone()),
        };
        Ok(api
            .list(params)
            .await
            .map_err(KubeError::api("listing pods"))?
            .items)
    }

    /// Every pod bound to `node`.
    pub(crate) async fn pods_on_node(&self, node: &str) -> Result<Vec<Pod>, KubeError> {
        self.list_pods(
            None,
            &ListParams::default().fields(&format!("spec.nodeName={node}")),
        )
        .await
    }

    async fn pod_events_raw(&self, namespace: &str, pod: &str) -> Result<Vec<Event>, KubeError> {
        let params = ListParams::default().fields(&format!(
            "involvedObject.kind=Pod,involvedObject.name={pod}"
        ));
        Ok(Api::<Event>::namespaced(self.client.clone(), namespace)
            .list(&params)
            .await
            .map_err(KubeError::api(format!(
                "listing events of pod {namespace}/{pod}"
            )))?
            .items)
    }

    pub(crate) async fn get_dynamic(
        &self,
        resource: &kube::core::ApiResource,
        namespace: &str,
        name: &str,
    ) -> Result<Option<Value>, KubeError> {
        let api: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), namespace, resource);
        let what = format!("reading {} {namespace}/{name}", resource.kind);
        match api.get_opt(name).await.map_err(KubeError::api(&what))? {
            Some(object) => serde_json::to_value(object)
                .map(Some)
                .map_err(|source| KubeError::Decode { what, source }),
            None => Ok(None),
        }
    }

    pub(crate) fn workload_resource(&self, kind: WorkloadKind) -> kube::core::ApiResource {
        kind.resource(&self.cronjob_api_version)
    }

    /// A workload object as JSON.
    pub(crate) async fn get_workload(
        &self,
        kind: WorkloadKind,
        namespace: &str,
        name: &str,
    ) -> Result<Value, KubeError> {
        self.get_dynamic(&self.workload_resource(kind), namespace, name)
            .await?
            .ok_or_else(|| KubeError::NotFound(format!("{} {namespace}/{name}", kind.as_str())))
    }

    /// The live pods a workload controls (through its ReplicaSets for a Deployment). A CronJob's
    /// pods come and go with its Jobs: none are returned.
    pub(crate) async fn workload_pods(
        &self,
        kind: WorkloadKind,
        workload: &Value,
    ) -> Result<Vec<Pod>, KubeError> {
        let namespace = workload["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default();
        let uid = workload["metadata"]["uid"].as_str().unwrap_or_default();
        if kind == WorkloadKind::CronJob {
            return Ok(Vec::new());
        }
        let Some(selector) = selector_string(&workload["spec"]["selector"]) else {
            return Ok(Vec::new());
        };
        let params = ListParams::default().labels(&selector);
        let controllers: HashSet<String> = if kind == WorkloadKind::Deployment {
            Api::<ReplicaSet>::namespaced(self.client.clone(), namespace)
                .list(&params)
                .await
                .map_err(KubeError::api("listing replicasets"))?
                .items
                .iter()
                .filter(|rs| controller_of(&rs.metadata).is_some_and(|o| o.uid == uid))
                .filter_map(|rs| rs.metadata.uid.clone())
                .collect()
        } else {
            HashSet::from([uid.to_owned()])
        };
        Ok(self
            .list_pods(Some(namespace), &params)
            .await?
            .into_iter()
            .filter(|p| controller_of(&p.metadata).is_some_and(|o| controllers.contains(&o.uid)))
            .collect())
    }

    /// The controller chain above a pod, starting with the pod; stops at an owner that is gone,
    /// was replaced (uid differs) or is not a kind that has owners itself.
    pub(crate) async fn owner_chain_of(&self, pod: &Pod) -> Result<Vec<ChainLink>, KubeError> {
        let namespace = pod.metadata.namespace.clone().unwrap_or_default();
        let mut chain = vec![ChainLink {
            kind: "Pod".into(),
            name: pod.metadata.name.clone().unwrap_or_default(),
        }];
        let mut next: Option<OwnerLink> = controller_of(&pod.metadata);
        while let Some(link) = next.take() {
            chain.push(ChainLink {
                kind: link.kind.clone(),
                name: link.name.clone(),
            });
            if !is_intermediate(&link.kind) || chain.len() > 6 {
                break;
            }
            let Some(resource) = owner_resource(&link.api_version, &link.kind) else {
                break;
            };
            let Some(owner) = self.get_dynamic(&resource, &namespace, &link.name).await? else {
                break;
            };
            if owner["metadata"]["uid"].as_str() != Some(link.uid.as_str()) {
                break;
            }
            let meta = serde_json::from_value(owner["metadata"].clone()).map_err(|source| {
                KubeError::Decode {
                    what: format!("metadata of {} {}", link.kind, link.name),
                    source,
                }
            })?;
            next = controller_of(&meta);
        }
        Ok(chain)
    }

    // ---- the read tools

    /// Runs one read tool. `args` are the runbook step's arguments (`container`, `previous`,
    /// `tail_lines` for logs; `container` elsewhere overrides the target's).
    pub async fn read_tool(
        &self,
        tool: &str,
        target: &ToolTarget,
        args: &Value,
    ) -> Result<ToolOutput, KubeError> {
        let container = args["container"].as_str().or(target.container.as_deref());
        match tool {
            "get_pod_events" => {
                let (ns, name) = pod_of(tool, target)?;
                let pod = self.get_pod_opt(ns, name).await?;
                let uid = pod.as_ref().and_then(|p| p.metadata.uid.clone());
                let events = self.pod_events_raw(ns, name).await?;
                Ok(tools::pod_events(name, uid.as_deref(), &events))
            }
            "check_imagepullbackoff" => {
                let (ns, name) = pod_of(tool, target)?;
                let pod = self.get_pod(ns, name).await?;
                let events = self.pod_events_raw(ns, name).await?;
                Ok(tools::image_pull(&pod, &events, container))
            }
            "check_oom" => {
                let (ns, name) = pod_of(tool, target)?;
                Ok(tools::oom(&self.get_pod(ns, name).await?, container))
            }
            "get_pod_status" => {
                let (ns, name) = pod_of(tool, target)?;
                Ok(tools::pod_status(&self.get_pod(ns, name).await?))
            }
            "get_pod_logs" => self.pod_logs(target, container, args).await,
            "get_owner_chain" => {
                let (ns, name) = pod_of(tool, target)?;
                let pod = self.get_pod(ns, name).await?;
                let chain = self.owner_chain_of(&pod).await?;
                Ok(tools::owner_chain(ns, &chain))
            }
            "get_node_ready" => {
                let node = self.node_of(tool, target).await?;
                Ok(tools::node_ready(&self.get_node(&node).await?))
            }
            "get_node_conditions" => {
                let node = self.node_of(tool, target).await?;
                Ok(tools::node_conditions_tool(&self.get_node(&node).await?))
            }
            other => Err(KubeError::UnknownTool(other.to_owned())),
        }
    }

    async fn pod_logs(
        &self,
        target: &ToolTarget,
        container: Option<&str>,
        args: &Value,
    ) -> Result<ToolOutput, KubeError> {
        let (ns, name) = pod_of("get_pod_logs", target)?;
        // Before the first request: bad arguments cost no API call.
        let options = log_options(args)?;
        let pod = self.get_pod(ns, name).await?;
        let container = tools::choose_container(&pod, container, |s| s.restart_count > 0)
            .ok_or_else(|| KubeError::Refused(format!("pod {ns}/{name} has no containers")))?;
        let restarted = facts::status_of(&pod, &container).is_some_and(|s| s.restart_count > 0);
        let previous = options.previous.unwrap_or(restarted);
        let tail = options.tail_lines;
        let params = LogParams {
            container: Some(container.clone()),
            previous,
            // One more than asked: whether there was more is then known.
            tail_lines: Some(i64::from(tail) + 1),
            limit_bytes: Some(1 << 20),
            ..LogParams::default()
        };
        match Api::<Pod>::namespaced(self.client.clone(), ns)
            .logs(name, &params)
            .await
        {
            Ok(text) => Ok(tools::pod_logs(
                name,
                &container,
                previous,
                &text,
                tail as usize,
            )),
            // The kubelet's "waiting to start" / "previous terminated container not found".
            Err(kube::Error::Api(status)) if status.code == 400 => Ok(tools::pod_logs_unavailable(
                name,
                &container,
                previous,
                &status.message,
            )),
            Err(e) => Err(KubeError::api(format!("reading logs of pod {ns}/{name}"))(
                e,
            )),
        }
    }

    /// The target's node, else the node of the target's pod.
    async fn node_of(&self, what: &str, target: &ToolTarget) -> Result<String, KubeError> {
        if let Some(node) = &target.node {
            return Ok(node.clone());
        }
        if let (Some(ns), Some(pod)) = (&target.namespace, &target.pod) {
            let pod = self.get_pod(ns, pod).await?;
            return facts::pod_node(&pod).map(str::to_owned).ok_or_else(|| {
                KubeError::Refused(format!(
                    "pod {ns}/{} is not on a node",
                    target.pod.as_deref().unwrap_or_default()
                ))
            });
        }
        Err(KubeError::MissingTarget {
            what: what.to_owned(),
            field: "node",
        })
    }

    // ---- routing helpers

    /// A node's facts (labels, conditions, cordon); `None` when it does not exist.
    pub async fn node_facts(&self, name: &str) -> Result<Option<NodeFacts>, KubeError> {
        match self.get_node(name).await {
            Ok(node) => Ok(Some(facts::node_facts(&node))),
            Err(KubeError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A namespace's labels (the policy places namespaces in environment classes by them); empty
    /// when the namespace does not exist.
    pub async fn namespace_labels(
        &self,
        namespace: &str,
    ) -> Result<BTreeMap<String, String>, KubeError> {
        Ok(Api::<Namespace>::all(self.client.clone())
            .get_opt(namespace)
            .await
            .map_err(KubeError::api(format!("reading namespace {namespace}")))?
            .and_then(|n| n.metadata.labels)
            .unwrap_or_default())
    }

    // ---- action targets

    /// The object an action changes: the pod's owning workload for template actions, the pod
    /// for `delete_pod`, the node (the target's, or the pod's) for node actions.
    pub async fn resolve_target(
        &self,
        action: &str,
        target: &ToolTarget,
    ) -> Result<ActionTarget, KubeError> {
        let known =
            Action::parse(action).ok_or_else(|| KubeError::UnknownAction(action.to_owned()))?;
        match known.object() {
            ActionObject::Workload => {
                let (ns, name) = pod_of(action, target)?;
                let pod = self.get_pod(ns, name).await?;
                let chain = self.owner_chain_of(&pod).await?;
                match workload_of(ns, &chain) {
                    Some(w) if WorkloadKind::parse(&w.kind).is_some() => {
                        Ok(ActionTarget::namespaced(&w.kind, ns, &w.name))
                    }
                    Some(w) => Err(KubeError::Refused(format!(
                        "{action} changes a Deployment, StatefulSet, DaemonSet or CronJob; pod {ns}/{name} belongs to {} {}",
                        w.kind, w.name
                    ))),
                    None => Err(KubeError::Refused(format!(
                        "{action} needs a controlling workload; pod {ns}/{name} has none (a bare pod)"
                    ))),
                }
            }
            ActionObject::Pod => {
                let (ns, name) = pod_of(action, target)?;
                Ok(ActionTarget::namespaced("Pod", ns, name))
            }
            ActionObject::Node => {
                let node = self.node_of(action, target).await?;
                Ok(ActionTarget::cluster("Node", &node))
            }
        }
    }
}

/// `get_pod_logs`' default and largest `tail_lines`.
const DEFAULT_TAIL_LINES: u32 = 50;
const MAX_TAIL_LINES: u32 = 1000;

/// What `get_pod_logs` reads of its arguments besides the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LogOptions {
    /// The previous (terminated) instance; `None` leaves it to whether the container restarted.
    pub previous: Option<bool>,
    /// Lines from the end, `1..=MAX_TAIL_LINES`.
    pub tail_lines: u32,
}

/// `previous` and `tail_lines` of `get_pod_logs`, checked without any API call.
pub(crate) fn log_options(args: &Value) -> Result<LogOptions, KubeError> {
    let previous = match &args["previous"] {
        Value::Null => None,
        Value::Bool(b) => Some(*b),
        other => {
            return Err(KubeError::arg(
                "previous",
                format!("{} is not true/false", crate::echo(other)),
            ));
        }
    };
    let tail_lines = match &args["tail_lines"] {
        Value::Null => DEFAULT_TAIL_LINES,
        value => value
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| (1..=MAX_TAIL_LINES).contains(n))
            .ok_or_else(|| {
                KubeError::arg(
                    "tail_lines",
                    format!("{} is not 1..={MAX_TAIL_LINES}", crate::echo(value)),
                )
            })?,
    };
    Ok(LogOptions {
        previous,
        tail_lines,
    })
}

/// The target's namespace and pod, or which one is missing.
fn pod_of<'a>(what: &str, target: &'a ToolTarget) -> Result<(&'a str, &'a str), KubeError> {
    let missing = |field| KubeError::MissingTarget {
        what: what.to_owned(),
        field,
    };
    let ns = target
        .namespace
        .as_deref()
        .ok_or_else(|| missing("namespace"))?;
    let pod = target.pod.as_deref().ok_or_else(|| missing("pod"))?;
    Ok((ns, pod))
}

/// Whether a kube error is the API server's `code`.
pub(crate) fn is_status(error: &kube::Error, code: u16) -> bool {
    status_of(error) == Some(code)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn targets_from_labels() {
        let labels: BTreeMap<String, String> = [
            ("namespace", "shop"),
            ("pod", "web-1"),
            ("container", ""),
            ("alertname", "X"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let t = ToolTarget::from_labels(&labels);
        assert_eq!(t, ToolTarget::pod("shop", "web-1"));
        assert_eq!(ToolTarget::node("n1").node.as_deref(), Some("n1"));
    }

    #[test]
    fn missing_target_fields_are_named() {
        let err = pod_of("check_oom", &ToolTarget::node("n1")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "check_oom needs the incident's namespace (no namespace label)"
        );
        let err = pod_of(
            "check_oom",
            &ToolTarget {
                namespace: Some("d".into()),
                ..ToolTarget::default()
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("pod"));
        assert_eq!(EvictionApi::PolicyV1beta1.api_version(), "policy/v1beta1");
    }
}

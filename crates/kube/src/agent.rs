//! The read tools as an investigating model sees them: names, descriptions and JSON schemas, and
//! [`Kube::agent_tool`], which takes the model's arguments (namespace, pod, node named
//! explicitly) instead of an incident's labels. Only reads: nothing here can change the cluster.

use crate::client::{Kube, ToolTarget};
use crate::{KubeError, facts};
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::Api;
use kube::api::ListParams;
use nightwatch_core::tool::ToolOutput;
use serde_json::{Value, json};

/// One tool offered to the model.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentTool {
    pub name: &'static str,
    pub description: &'static str,
    pub input_schema: Value,
}

/// The two tools only the model has; the rest are the runbooks' read tools.
const LISTINGS: [&str; 2] = ["list_pods", "get_namespace_events"];

/// Whether `name` is one of [`agent_tools`] (without building their schemas).
pub fn is_agent_tool(name: &str) -> bool {
    LISTINGS.contains(&name) || nightwatch_core::runbook::READ_TOOLS.contains(&name)
}

/// Pods and events listed per call; the model narrows with a selector when there are more.
const MAX_LISTED: usize = 50;

fn pod_schema(extra: Value) -> Value {
    let mut properties = json!({
        "namespace": {"type": "string", "description": "The pod's namespace."},
        "pod": {"type": "string", "description": "The pod's name."},
        "container": {"type": "string", "description": "A container of the pod (default: the one with restarts or problems, else the first)."}
    });
    if let (Some(map), Value::Object(extra)) = (properties.as_object_mut(), extra) {
        map.extend(extra);
    }
    json!({
        "type": "object",
        "properties": properties,
        "required": ["namespace", "pod"],
        "additionalProperties": false
    })
}

fn node_schema() -> Value {
    json!({
        "type": "object",
        "properties": {"node": {"type": "string", "description": "The node's name."}},
        "required": ["node"],
        "additionalProperties": false
    })
}

/// The Kubernetes tools for an investigation.
pub fn agent_tools() -> Vec<AgentTool> {
    vec![
        AgentTool {
            name: "get_pod_status",
            description: "A pod's phase, readiness, node, conditions and per-container state (waiting/terminated reason and message, restarts, last exit code).",
            input_schema: pod_schema(json!({})),
        },
        AgentTool {
            name: "get_pod_events",
            description: "The Kubernetes events of a pod (newest last, at most 20) with flags for image-pull, mount, sandbox and back-off failures.",
            input_schema: pod_schema(json!({})),
        },
        AgentTool {
            name: "get_pod_logs",
            description: "The last lines of a container's log. `previous` reads the last terminated instance (default: true when the container has restarted).",
            input_schema: pod_schema(json!({
                "previous": {"type": "boolean", "description": "Read the previous (crashed) container instance."},
                "tail_lines": {"type": "integer", "minimum": 1, "maximum": 1000, "description": "Lines from the end (default 50)."}
            })),
        },
        AgentTool {
            name: "check_oom",
            description: "Whether a container was OOM-killed: last termination reason, exit code, restarts and its memory request/limit.",
            input_schema: pod_schema(json!({})),
        },
        AgentTool {
            name: "check_imagepullbackoff",
            description: "Whether a container cannot pull its image: the image, the waiting reason and the pull error events (not found, unauthorised, …).",
            input_schema: pod_schema(json!({})),
        },
        AgentTool {
            name: "get_owner_chain",
            description: "The pod's owners up to its workload (ReplicaSet → Deployment, StatefulSet, DaemonSet, Job → CronJob).",
            input_schema: pod_schema(json!({})),
        },
        AgentTool {
            name: "list_pods",
            description: "Pods of a namespace (at most 50, problems first): phase, ready, restarts, node and any waiting reason. Narrow with a label selector such as `app=web`.",
            input_schema: json!({
                "type": "object",
                "properties": {
                    "namespace": {"type": "string"},
                    "label_selector": {"type": "string", "description": "Kubernetes label selector, e.g. `app=web,tier!=db`."}
                },
                "required": ["namespace"],
                "additionalProperties": false
            }),
        },
        AgentTool {
            name: "get_namespace_events",
            description: "Warning events of a namespace, newest last (at most 50): object, reason, message, count.",
            input_schema: json!({
                "type": "object",
                "properties": {"namespace": {"type": "string"}},
                "required": ["namespace"],
                "additionalProperties": false
            }),
        },
        AgentTool {
            name: "get_node_ready",
            description: "Whether a node is Ready, schedulable (cordoned or not), its taints and pressure conditions.",
            input_schema: node_schema(),
        },
        AgentTool {
            name: "get_node_conditions",
            description: "Every condition of a node (Ready, MemoryPressure, DiskPressure, PIDPressure, …) with reason, message and last heartbeat.",
            input_schema: node_schema(),
        },
    ]
}

fn string_arg(args: &Value, name: &'static str) -> Result<Option<String>, KubeError> {
    match &args[name] {
        Value::Null => Ok(None),
        Value::String(text) if !text.trim().is_empty() => Ok(Some(text.trim().to_owned())),
        other => Err(KubeError::arg(
            name,
            format!("{other} is not a non-empty string"),
        )),
    }
}

fn required(args: &Value, name: &'static str) -> Result<String, KubeError> {
    string_arg(args, name)?.ok_or_else(|| KubeError::arg(name, "is required"))
}

/// The target a tool call names; unknown argument names are refused so a model's typo is
/// told rather than silently ignored.
fn target_of(tool: &str, args: &Value) -> Result<ToolTarget, KubeError> {
    let allowed: &[&str] = match tool {
        "get_node_ready" | "get_node_conditions" => &["node"],
        "get_pod_logs" => &["namespace", "pod", "container", "previous", "tail_lines"],
        _ => &["namespace", "pod", "container"],
    };
    if let Some(object) = args.as_object() {
        if let Some(unknown) = object.keys().find(|key| !allowed.contains(&key.as_str())) {
            return Err(KubeError::arg(
                "arguments",
                format!("unknown argument {unknown:?}"),
            ));
        }
    } else if !args.is_null() {
        return Err(KubeError::arg("arguments", "must be a JSON object"));
    }
    if allowed == ["node"] {
        return Ok(ToolTarget::node(&required(args, "node")?));
    }
    Ok(ToolTarget {
        namespace: Some(required(args, "namespace")?),
        pod: Some(required(args, "pod")?),
        container: string_arg(args, "container")?,
        node: None,
    })
}

impl Kube {
    /// Runs the investigation tool `name` with the model's `args`.
    pub async fn agent_tool(&self, name: &str, args: &Value) -> Result<ToolOutput, KubeError> {
        match name {
            "list_pods" => {
                let namespace = required(args, "namespace")?;
                let selector = string_arg(args, "label_selector")?;
                let mut params = ListParams::default();
                if let Some(selector) = &selector {
                    params = params.labels(selector);
                }
                let pods = self.list_pods(Some(&namespace), &params).await?;
                Ok(pod_list(&namespace, selector.as_deref(), &pods))
            }
            "get_namespace_events" => {
                let namespace = required(args, "namespace")?;
                let events = Api::<Event>::namespaced(self.client().clone(), &namespace)
                    .list(&ListParams::default().fields("type=Warning"))
                    .await
                    .map_err(KubeError::api(format!(
                        "listing events of namespace {namespace}"
                    )))?
                    .items;
                Ok(namespace_events(&namespace, &events))
            }
            tool if is_agent_tool(tool) => {
                let target = target_of(tool, args)?;
                let mut rest = args.clone();
                if let Some(object) = rest.as_object_mut() {
                    object.retain(|key, _| {
                        key == "previous" || key == "tail_lines" || key == "container"
                    });
                }
                self.read_tool(tool, &target, &rest).await
            }
            other => Err(KubeError::UnknownTool(other.to_owned())),
        }
    }
}

/// `list_pods`: unhealthy pods first, then by name, at most [`MAX_LISTED`].
pub fn pod_list(namespace: &str, selector: Option<&str>, pods: &[Pod]) -> ToolOutput {
    let mut rows: Vec<(bool, Value)> = pods
        .iter()
        .map(|pod| {
            let name = pod.metadata.name.clone().unwrap_or_default();
            let statuses = facts::container_statuses(pod);
            let restarts: i32 = statuses.iter().map(|s| s.restart_count).sum();
            let ready = pod
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .into_iter()
                .flatten()
                .any(|c| c.type_ == "Ready" && c.status == "True");
            let waiting: Vec<String> = statuses
                .iter()
                .filter_map(|s| {
                    facts::waiting_reason(s).map(|reason| format!("{} {reason}", s.name))
                })
                .collect();
            let phase = facts::pod_phase(pod).unwrap_or("Unknown").to_owned();
            let healthy = ready && waiting.is_empty();
            (
                healthy,
                json!({
                    "pod": name,
                    "phase": phase,
                    "ready": ready,
                    "restarts": restarts,
                    "node": facts::pod_node(pod),
                    "waiting": waiting,
                    "deleting": facts::is_deleting(pod),
                }),
            )
        })
        .collect();
    rows.sort_by(|(a_ok, a), (b_ok, b)| {
        a_ok.cmp(b_ok)
            .then_with(|| a["pod"].as_str().cmp(&b["pod"].as_str()))
    });
    let total = rows.len();
    let unhealthy = rows.iter().filter(|(ok, _)| !ok).count();
    let shown: Vec<Value> = rows
        .into_iter()
        .take(MAX_LISTED)
        .map(|(_, row)| row)
        .collect();
    let scope = match selector {
        Some(selector) => format!("namespace {namespace} matching {selector}"),
        None => format!("namespace {namespace}"),
    };
    ToolOutput::new(
        json!({
            "namespace": namespace,
            "label_selector": selector,
            "total": total,
            "shown": shown.len(),
            "omitted": total - shown.len(),
            "unhealthy": unhealthy,
            "pods": shown,
        }),
        format!("{total} pods in {scope}, {unhealthy} not ready or waiting"),
    )
}

/// `get_namespace_events`: newest last, at most [`MAX_LISTED`].
pub fn namespace_events(namespace: &str, events: &[Event]) -> ToolOutput {
    let mut sorted: Vec<&Event> = events.iter().collect();
    sorted.sort_by_key(|e| crate::tools::event_last_seen(e));
    let total = sorted.len();
    let shown: Vec<Value> = sorted
        .iter()
        .skip(total.saturating_sub(MAX_LISTED))
        .map(|e| {
            json!({
                "object": format!(
                    "{}/{}",
                    e.involved_object.kind.as_deref().unwrap_or("?"),
                    e.involved_object.name.as_deref().unwrap_or("?")
                ),
                "reason": e.reason,
                "message": e.message,
                "count": e.count.unwrap_or(1),
                "last_timestamp": crate::tools::event_last_seen(e),
            })
        })
        .collect();
    let latest = sorted
        .last()
        .map(|e| {
            format!(
                "; latest {}: {}",
                e.reason.as_deref().unwrap_or("?"),
                e.message.as_deref().unwrap_or_default()
            )
        })
        .unwrap_or_default();
    ToolOutput::new(
        json!({
            "namespace": namespace,
            "total": total,
            "shown": shown.len(),
            "omitted": total - shown.len(),
            "events": shown,
        }),
        format!("{total} warning events in namespace {namespace}{latest}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_agent_tool_is_a_read_tool_or_a_listing() {
        let tools = agent_tools();
        for tool in &tools {
            let read = nightwatch_core::runbook::READ_TOOLS.contains(&tool.name);
            assert!(read || LISTINGS.contains(&tool.name), "{}", tool.name);
            assert!(is_agent_tool(tool.name), "{}", tool.name);
            assert_eq!(tool.input_schema["type"], "object", "{}", tool.name);
        }
        // …and every read tool and listing is offered.
        for name in nightwatch_core::runbook::READ_TOOLS.iter().chain(&LISTINGS) {
            assert!(tools.iter().any(|t| t.name == *name), "{name}");
        }
        assert!(!is_agent_tool("patch_image"));
    }

    #[test]
    fn targets_come_from_the_arguments_and_typos_are_refused() {
        let target = target_of(
            "get_pod_logs",
            &json!({"namespace": "shop", "pod": "web-1", "previous": true}),
        )
        .unwrap();
        assert_eq!(target, ToolTarget::pod("shop", "web-1"));
        assert_eq!(
            target_of("get_node_ready", &json!({"node": "n1"})).unwrap(),
            ToolTarget::node("n1")
        );
        let typo = target_of("get_pod_status", &json!({"namespace": "a", "podname": "b"}))
            .unwrap_err()
            .to_string();
        assert!(typo.contains("podname"), "{typo}");
        let missing = target_of("get_pod_status", &json!({"namespace": "a"}))
            .unwrap_err()
            .to_string();
        assert!(missing.contains("pod"), "{missing}");
        let empty = target_of("get_node_ready", &json!({"node": " "}))
            .unwrap_err()
            .to_string();
        assert!(empty.contains("node"), "{empty}");
    }

    fn pod(name: &str, ready: bool, waiting: Option<&str>) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "shop"},
            "spec": {"nodeName": "n1", "containers": [{"name": "app", "image": "app:1"}]},
            "status": {
                "phase": "Running",
                "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}],
                "containerStatuses": [{
                    "name": "app", "image": "app:1", "imageID": "", "ready": ready,
                    "restartCount": if ready { 0 } else { 4 },
                    "state": match waiting {
                        Some(reason) => json!({"waiting": {"reason": reason}}),
                        None => json!({"running": {}}),
                    }
                }]
            }
        }))
        .unwrap()
    }

    #[test]
    fn pod_list_puts_problems_first_and_counts_them() {
        let pods = vec![
            pod("a-ok", true, None),
            pod("b-crash", false, Some("CrashLoopBackOff")),
            pod("c-ok", true, None),
        ];
        let out = pod_list("shop", Some("app=web"), &pods);
        assert_eq!(out.data["total"], 3);
        assert_eq!(out.data["unhealthy"], 1);
        assert_eq!(out.data["pods"][0]["pod"], "b-crash");
        assert_eq!(out.data["pods"][0]["waiting"][0], "app CrashLoopBackOff");
        assert_eq!(out.data["pods"][0]["restarts"], 4);
        assert_eq!(out.data["pods"][1]["pod"], "a-ok");
        assert_eq!(
            out.summary,
            "3 pods in namespace shop matching app=web, 1 not ready or waiting"
        );
    }

    #[test]
    fn pod_list_is_bounded() {
        let pods: Vec<Pod> = (0..70)
            .map(|i| pod(&format!("p{i:02}"), true, None))
            .collect();
        let out = pod_list("shop", None, &pods);
        assert_eq!(out.data["shown"], 50);
        assert_eq!(out.data["omitted"], 20);
    }

    #[test]
    fn namespace_events_newest_last() {
        let events: Vec<Event> = [
            ("FailedScheduling", "2026-01-01T00:00:05Z"),
            ("BackOff", "2026-01-01T00:00:01Z"),
        ]
        .iter()
        .map(|(reason, at)| {
            serde_json::from_value(json!({
                "metadata": {"name": reason, "namespace": "shop"},
                "involvedObject": {"kind": "Pod", "name": "web-1"},
                "reason": reason, "message": format!("{reason} message"), "type": "Warning",
                "lastTimestamp": at, "count": 2
            }))
            .unwrap()
        })
        .collect();
        let out = namespace_events("shop", &events);
        assert_eq!(out.data["events"][1]["reason"], "FailedScheduling");
        assert_eq!(out.data["events"][0]["object"], "Pod/web-1");
        assert!(
            out.summary
                .ends_with("latest FailedScheduling: FailedScheduling message"),
            "{}",
            out.summary
        );
    }
}

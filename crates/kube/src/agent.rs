//! The read tools as an investigating model sees them: names, descriptions and JSON schemas, and
//! [`Kube::agent_tool`], which takes the model's arguments (namespace, pod, node named
//! explicitly) instead of an incident's labels. Only reads: nothing here can change the cluster.

use crate::client::{Kube, ToolTarget, log_options};
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

/// Longest `label_selector` taken: far beyond any a model writes, and keeps the list request's
/// URL small.
const MAX_SELECTOR_BYTES: usize = 1024;

/// The arguments each agent tool takes; `None` for a name that is not an agent tool.
fn allowed_arguments(tool: &str) -> Option<&'static [&'static str]> {
    match tool {
        "list_pods" => Some(&["namespace", "label_selector"]),
        "get_namespace_events" => Some(&["namespace"]),
        "get_node_ready" | "get_node_conditions" => Some(&["node"]),
        "get_pod_logs" => Some(&["namespace", "pod", "container", "previous", "tail_lines"]),
        tool if is_agent_tool(tool) => Some(&["namespace", "pod", "container"]),
        _ => None,
    }
}

/// Refuses arguments that are not an object (`null` counts as `{}`) or name an argument the
/// tool does not take, so a model's typo is told rather than silently ignored.
fn refuse_unknown(args: &Value, allowed: &[&str]) -> Result<(), KubeError> {
    match args {
        Value::Null => Ok(()),
        Value::Object(object) => match object.keys().find(|key| !allowed.contains(&key.as_str())) {
            Some(unknown) => Err(KubeError::arg(
                "arguments",
                format!(
                    "unknown argument {:?}",
                    unknown.chars().take(80).collect::<String>()
                ),
            )),
            None => Ok(()),
        },
        _ => Err(KubeError::arg("arguments", "must be a JSON object")),
    }
}

fn string_arg(args: &Value, name: &'static str) -> Result<Option<String>, KubeError> {
    match &args[name] {
        Value::Null => Ok(None),
        Value::String(text) if !text.trim().is_empty() => Ok(Some(text.trim().to_owned())),
        other => Err(KubeError::arg(
            name,
            format!("{} is not a non-empty string", crate::echo(other)),
        )),
    }
}

fn required(args: &Value, name: &'static str) -> Result<String, KubeError> {
    string_arg(args, name)?.ok_or_else(|| KubeError::arg(name, "is required"))
}

/// Whether `name` is a DNS-1123 label (`[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63): what
/// Kubernetes requires of namespace and container names.
fn is_dns_label(name: &str) -> bool {
    let bytes = name.as_bytes();
    (1..=63).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
}

/// Whether `name` is a DNS-1123 subdomain (dot-separated labels, at most 253): what Kubernetes
/// requires of pod and node names.
fn is_dns_subdomain(name: &str) -> bool {
    name.len() <= 253
        && name.split('.').all(|label| {
            let bytes = label.as_bytes();
            !bytes.is_empty()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
                && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
                && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
        })
}

/// A name argument Kubernetes could hold. Checked because the names go into request paths and
/// field selectors (`involvedObject.name=…`): a name with `/`, `?` or `,` would change what is
/// read rather than fail.
fn checked_name(
    name: &'static str,
    value: String,
    valid: fn(&str) -> bool,
    rule: &str,
) -> Result<String, KubeError> {
    if valid(&value) {
        Ok(value)
    } else {
        Err(KubeError::arg(
            name,
            format!(
                "{} is not a Kubernetes {name} name ({rule})",
                crate::echo(&Value::String(value))
            ),
        ))
    }
}

const LABEL_RULE: &str = "lowercase letters, digits and '-', at most 63 characters";
const SUBDOMAIN_RULE: &str = "lowercase letters, digits, '-' and '.', at most 253 characters";

fn namespace_arg(args: &Value) -> Result<String, KubeError> {
    checked_name(
        "namespace",
        required(args, "namespace")?,
        is_dns_label,
        LABEL_RULE,
    )
}

/// A pod's or node's name.
fn object_name_arg(args: &Value, name: &'static str) -> Result<String, KubeError> {
    checked_name(
        name,
        required(args, name)?,
        is_dns_subdomain,
        SUBDOMAIN_RULE,
    )
}

fn container_arg(args: &Value) -> Result<Option<String>, KubeError> {
    string_arg(args, "container")?
        .map(|container| checked_name("container", container, is_dns_label, LABEL_RULE))
        .transpose()
}

fn selector_arg(args: &Value) -> Result<Option<String>, KubeError> {
    match string_arg(args, "label_selector")? {
        Some(selector) if selector.len() > MAX_SELECTOR_BYTES => Err(KubeError::arg(
            "label_selector",
            format!(
                "{} bytes long; at most {MAX_SELECTOR_BYTES}",
                selector.len()
            ),
        )),
        other => Ok(other),
    }
}

/// The target a read tool's call names (the arguments' names already checked).
fn read_target(tool: &str, args: &Value) -> Result<ToolTarget, KubeError> {
    if matches!(tool, "get_node_ready" | "get_node_conditions") {
        return Ok(ToolTarget::node(&object_name_arg(args, "node")?));
    }
    Ok(ToolTarget {
        namespace: Some(namespace_arg(args)?),
        pod: Some(object_name_arg(args, "pod")?),
        container: container_arg(args)?,
        node: None,
    })
}

/// An agent tool call, its arguments checked: everything decided before any API call.
#[derive(Debug, Clone, PartialEq)]
enum AgentRequest {
    ListPods {
        namespace: String,
        label_selector: Option<String>,
    },
    NamespaceEvents {
        namespace: String,
    },
    /// One of the runbooks' read tools, on the target the arguments name. `rest` holds what the
    /// tool reads of the arguments beyond the target (`previous`, `tail_lines`).
    Read {
        target: ToolTarget,
        rest: Value,
    },
}

fn agent_request(name: &str, args: &Value) -> Result<AgentRequest, KubeError> {
    let allowed = allowed_arguments(name).ok_or_else(|| KubeError::UnknownTool(name.to_owned()))?;
    refuse_unknown(args, allowed)?;
    match name {
        "list_pods" => Ok(AgentRequest::ListPods {
            namespace: namespace_arg(args)?,
            label_selector: selector_arg(args)?,
        }),
        "get_namespace_events" => Ok(AgentRequest::NamespaceEvents {
            namespace: namespace_arg(args)?,
        }),
        tool => {
            let target = read_target(tool, args)?;
            let mut rest = serde_json::Map::new();
            if tool == "get_pod_logs" {
                // The same check `Kube::read_tool` makes, here so it runs before any request.
                log_options(args)?;
                for key in ["previous", "tail_lines"] {
                    if let Some(value) = args.get(key) {
                        rest.insert(key.to_owned(), value.clone());
                    }
                }
            }
            Ok(AgentRequest::Read {
                target,
                rest: Value::Object(rest),
            })
        }
    }
}

/// Runs all the argument checking [`Kube::agent_tool`] does for the tool `name` before any API
/// call, without a cluster: for fuzzing and tests. An unknown `name` is the same
/// [`KubeError::UnknownTool`] that `agent_tool` returns.
pub fn check_agent_arguments(name: &str, args: &Value) -> Result<(), KubeError> {
    agent_request(name, args).map(drop)
}

impl Kube {
    /// Runs the investigation tool `name` with the model's `args`.
    pub async fn agent_tool(&self, name: &str, args: &Value) -> Result<ToolOutput, KubeError> {
        match agent_request(name, args)? {
            AgentRequest::ListPods {
                namespace,
                label_selector,
            } => {
                let mut params = ListParams::default();
                if let Some(selector) = &label_selector {
                    params = params.labels(selector);
                }
                let pods = self.list_pods(Some(&namespace), &params).await?;
                Ok(pod_list(&namespace, label_selector.as_deref(), &pods))
            }
            AgentRequest::NamespaceEvents { namespace } => {
                let events = Api::<Event>::namespaced(self.client().clone(), &namespace)
                    .list(&ListParams::default().fields("type=Warning"))
                    .await
                    .map_err(KubeError::api(format!(
                        "listing events of namespace {namespace}"
                    )))?
                    .items;
                Ok(namespace_events(&namespace, &events))
            }
            AgentRequest::Read { target, rest } => self.read_tool(name, &target, &rest).await,
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
        let request = agent_request(
            "get_pod_logs",
            &json!({"namespace": "shop", "pod": "web-1", "previous": true, "container": " app "}),
        )
        .unwrap();
        let mut target = ToolTarget::pod("shop", "web-1");
        target.container = Some("app".into());
        assert_eq!(
            request,
            AgentRequest::Read {
                target,
                // The container travels in the (checked, trimmed) target, not in the rest.
                rest: json!({"previous": true}),
            }
        );
        assert_eq!(
            agent_request("get_node_ready", &json!({"node": "n1"})).unwrap(),
            AgentRequest::Read {
                target: ToolTarget::node("n1"),
                rest: json!({}),
            }
        );
        assert_eq!(
            agent_request(
                "list_pods",
                &json!({"namespace": "shop", "label_selector": "app=web,tier!=db"})
            )
            .unwrap(),
            AgentRequest::ListPods {
                namespace: "shop".into(),
                label_selector: Some("app=web,tier!=db".into()),
            }
        );
        let typo = agent_request("get_pod_status", &json!({"namespace": "a", "podname": "b"}))
            .unwrap_err()
            .to_string();
        assert!(typo.contains("\"podname\""), "{typo}");
        let missing = agent_request("get_pod_status", &json!({"namespace": "a"}))
            .unwrap_err()
            .to_string();
        assert!(missing.contains("pod"), "{missing}");
        let empty = agent_request("get_node_ready", &json!({"node": " "}))
            .unwrap_err()
            .to_string();
        assert!(empty.contains("node"), "{empty}");
    }

    const POD: &str = "get_pod_status";
    const LOGS: &str = "get_pod_logs";
    const NODE: &str = "get_node_ready";
    const PODS: &str = "list_pods";
    const EVENTS: &str = "get_namespace_events";

    /// A good argument set for each agent tool.
    fn good(tool: &str) -> Value {
        match tool {
            "get_node_ready" | "get_node_conditions" => json!({"node": "lab-node-2"}),
            "list_pods" => json!({"namespace": "shop", "label_selector": "app=web"}),
            "get_namespace_events" => json!({"namespace": "shop"}),
            "get_pod_logs" => json!({
                "namespace": "shop", "pod": "web-7d9f-x2x", "container": "app",
                "previous": true, "tail_lines": 1000
            }),
            _ => json!({"namespace": "shop", "pod": "web-7d9f-x2x.v2", "container": "app"}),
        }
    }

    /// `good(tool)` with `field` set to `value`.
    fn with(tool: &str, field: &str, value: Value) -> Value {
        let mut args = good(tool);
        args[field] = value;
        args
    }

    #[test]
    fn every_agent_tool_takes_its_good_arguments() {
        for tool in agent_tools() {
            check_agent_arguments(tool.name, &good(tool.name))
                .unwrap_or_else(|e| panic!("{}: {e}", tool.name));
        }
        // The optional arguments may be left out, and `null` fields count as absent.
        check_agent_arguments(LOGS, &json!({"namespace": "shop", "pod": "web-1"})).unwrap();
        check_agent_arguments(PODS, &json!({"namespace": "shop", "label_selector": null})).unwrap();
        assert_eq!(
            log_options(&json!({})).unwrap(),
            crate::client::LogOptions {
                previous: None,
                tail_lines: 50,
            }
        );
        let unknown = check_agent_arguments("patch_image", &json!({})).unwrap_err();
        assert!(matches!(unknown, KubeError::UnknownTool(_)), "{unknown}");
    }

    #[test]
    fn hostile_arguments_are_refused_naming_the_field() {
        // As deep as serde_json parses (its limit is 128 levels): the deepest a model's text can
        // become.
        let deep: Value =
            serde_json::from_str(&format!("{}1{}", "{\"a\":[".repeat(63), "]}".repeat(63)))
                .unwrap();
        let long = "a".repeat(100_000);
        let cases: Vec<(&str, Value, &str)> = vec![
            // Huge and negative numbers, and numbers where text belongs.
            (LOGS, with(LOGS, "tail_lines", json!(1e308)), "tail_lines"),
            (LOGS, with(LOGS, "tail_lines", json!(-1)), "tail_lines"),
            (
                LOGS,
                with(LOGS, "tail_lines", json!(u64::MAX)),
                "tail_lines",
            ),
            (
                LOGS,
                with(LOGS, "tail_lines", json!(u64::from(u32::MAX) + 51)),
                "tail_lines",
            ),
            (LOGS, with(LOGS, "tail_lines", json!(0)), "tail_lines"),
            (LOGS, with(LOGS, "tail_lines", json!(1001)), "tail_lines"),
            (LOGS, with(LOGS, "tail_lines", json!(2.5)), "tail_lines"),
            (LOGS, with(LOGS, "tail_lines", json!("NaN")), "tail_lines"),
            (LOGS, with(LOGS, "tail_lines", json!("50")), "tail_lines"),
            (LOGS, with(LOGS, "previous", json!("true")), "previous"),
            (LOGS, with(LOGS, "previous", json!([true])), "previous"),
            (POD, with(POD, "namespace", json!(1e308)), "namespace"),
            (NODE, with(NODE, "node", json!(-1)), "node"),
            // Wrong types, null where required, arrays, nested objects.
            (POD, with(POD, "pod", json!(["web-1"])), "pod"),
            (POD, with(POD, "pod", json!({"name": "web-1"})), "pod"),
            (POD, with(POD, "pod", Value::Null), "pod"),
            (POD, with(POD, "container", json!(true)), "container"),
            (
                PODS,
                with(PODS, "label_selector", json!({"app": "web"})),
                "label_selector",
            ),
            (EVENTS, with(EVENTS, "namespace", deep.clone()), "namespace"),
            (POD, json!([good(POD)]), "arguments"),
            (POD, json!("namespace=shop"), "arguments"),
            (POD, json!(42), "arguments"),
            (POD, Value::Null, "namespace"),
            (POD, deep, "arguments"),
            // Unknown fields: every tool refuses them, the listings too.
            (POD, with(POD, "name", json!("x")), "\"name\""),
            (PODS, with(PODS, "limit", json!(5)), "\"limit\""),
            (EVENTS, with(EVENTS, "since", json!("1h")), "\"since\""),
            (
                NODE,
                with(NODE, "namespace", json!("shop")),
                "\"namespace\"",
            ),
            (POD, with(POD, "tail_lines", json!(5)), "\"tail_lines\""),
            (
                POD,
                with(POD, &"k".repeat(100_000), json!(5)),
                "unknown argument \"kkk",
            ),
            // Empty, too long, and names Kubernetes cannot hold (which would change the request
            // path or field selector they go into).
            (POD, with(POD, "namespace", json!("")), "namespace"),
            (POD, with(POD, "container", json!("  ")), "container"),
            (POD, with(POD, "pod", json!(long)), "pod"),
            (
                POD,
                with(POD, "namespace", json!("a".repeat(64))),
                "namespace",
            ),
            (NODE, with(NODE, "node", json!("n".repeat(254))), "node"),
            (
                PODS,
                with(PODS, "label_selector", json!(long)),
                "label_selector",
            ),
            (POD, with(POD, "pod", json!("../../secrets/db")), "pod"),
            (
                POD,
                with(POD, "pod", json!("web-1,involvedObject.kind=Node")),
                "pod",
            ),
            (
                POD,
                with(POD, "namespace", json!("kube-system/secrets")),
                "namespace",
            ),
            (POD, with(POD, "namespace", json!("Shop")), "namespace"),
            (POD, with(POD, "pod", json!("web..1")), "pod"),
            (POD, with(POD, "pod", json!("-web")), "pod"),
            (POD, with(POD, "container", json!("app.v2")), "container"),
            (NODE, with(NODE, "node", json!("node?watch=true")), "node"),
            (NODE, with(NODE, "node", json!("nöde")), "node"),
        ];
        for (tool, args, field) in cases {
            let shown = crate::echo(&args);
            let err = check_agent_arguments(tool, &args).unwrap_err();
            assert!(
                matches!(err, KubeError::InvalidArgument { .. }),
                "{tool} {shown}: {err}"
            );
            let message = err.to_string();
            assert!(message.contains(field), "{tool} {shown}: {message}");
            assert!(message.chars().count() < 400, "{tool}: echoed {message}");
        }
    }

    proptest::proptest! {
        /// Whatever the model sends, checking it never panics, and a call it passes has a
        /// target the tool can use.
        #[test]
        fn no_arguments_make_checking_panic(args in json_value(), pick in 0usize..11) {
            let names: Vec<&str> = agent_tools().iter().map(|t| t.name).chain(["kubectl_exec"]).collect();
            let name = names[pick % names.len()];
            if let Ok(AgentRequest::Read { target, .. }) = agent_request(name, &args) {
                proptest::prop_assert!(target.node.is_some() || target.pod.is_some());
            }
        }

        /// Objects with the tools' own field names, so checking gets past the names.
        #[test]
        fn no_named_fields_make_checking_panic(
            values in proptest::collection::vec(json_value(), 6),
            pick in 0usize..10,
        ) {
            let tools = agent_tools();
            let name = tools[pick % tools.len()].name;
            let fields = ["namespace", "pod", "container", "previous", "tail_lines", "node"];
            let args: serde_json::Map<String, Value> = fields
                .iter()
                .zip(values)
                .map(|(field, value)| ((*field).to_owned(), value))
                .collect();
            let _ = check_agent_arguments(name, &Value::Object(args));
        }
    }

    /// Arbitrary JSON: every scalar kind (numbers at the edges too, strings of any characters)
    /// nested a few levels in arrays and objects.
    fn json_value() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(|f| json!(f)),
            Just(json!(1e308)),
            Just(json!(-1)),
            "\\PC{0,40}".prop_map(Value::from),
            "[a-z0-9.-]{0,70}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::btree_map("[a-z_]{0,12}", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
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

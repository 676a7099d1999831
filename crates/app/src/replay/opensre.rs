//! OpenSRE's recorded EKS evidence (`eks_pods.json`, `eks_events.json`,
//! `eks_deployments.json`, `eks_node_health.json`, `eks_pod_logs.json`, `datadog_logs.json`)
//! read into the snapshot the analyzers see. A scenario names a `base:` scenario in its
//! `scenario.yml`; evidence files it does not have come from the base, the way OpenSRE composes
//! them. A file that is not the expected JSON is a gap in the snapshot, never a failure.

use nightwatch_core::evidence::snapshot::{
    Condition, Container, ContainerState, Event, Logs, Node, ObjectRef, Pod, Running, Snapshot,
    Terminated, Waiting, Workload,
};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const EVIDENCE: &[&str] = &[
    "eks_pods.json",
    "eks_events.json",
    "eks_deployments.json",
    "eks_node_health.json",
    "eks_pod_logs.json",
    "datadog_logs.json",
];

/// The scenario's evidence files, each from the scenario or else its base.
fn evidence_files(dir: &Path, gaps: &mut Vec<String>) -> Vec<PathBuf> {
    let base = std::fs::read_to_string(dir.join("scenario.yml"))
        .ok()
        .and_then(|text| {
            text.lines().find_map(|l| {
                l.strip_prefix("base:")
                    .map(|b| b.trim().trim_matches('"').to_owned())
            })
        })
        .filter(|b| !b.is_empty())
        .and_then(|b| dir.parent().map(|parent| parent.join(b)));
    if let Some(base) = &base
        && !base.is_dir()
    {
        gaps.push(format!("base scenario {} is missing", base.display()));
    }
    EVIDENCE
        .iter()
        .filter_map(|file| {
            let own = dir.join(file);
            if own.is_file() {
                return Some(own);
            }
            base.as_ref().map(|b| b.join(file)).filter(|p| p.is_file())
        })
        .collect()
}

fn s(value: &Value, key: &str) -> Option<String> {
    match &value[key] {
        Value::String(text) if !text.is_empty() => Some(text.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "True" } else { "False" }.to_owned()),
        _ => None,
    }
}

fn i(value: &Value, key: &str) -> Option<i64> {
    value[key].as_i64()
}

fn conditions(value: &Value) -> Vec<Condition> {
    value
        .as_array()
        .map(|list| {
            list.iter()
                .map(|c| Condition {
                    kind: s(c, "type").unwrap_or_default(),
                    status: s(c, "status").unwrap_or_default(),
                    reason: s(c, "reason"),
                    message: s(c, "message"),
                    ..Condition::default()
                })
                .collect()
        })
        .unwrap_or_default()
}

fn container(value: &Value) -> Container {
    let state = &value["state"];
    let mut container = Container {
        name: s(value, "name").unwrap_or_default(),
        image: s(value, "image"),
        ready: value["ready"].as_bool(),
        restart_count: i(value, "restart_count").unwrap_or(0),
        ..Container::default()
    };
    let reason = s(state, "reason");
    let message = s(state, "message");
    container.state = if state["waiting"].as_bool() == Some(true) {
        ContainerState {
            waiting: Some(Waiting { reason, message }),
            ..ContainerState::default()
        }
    } else if state["terminated"].as_bool() == Some(true) {
        ContainerState {
            terminated: Some(Terminated {
                reason,
                message,
                exit_code: i(state, "exit_code"),
                ..Terminated::default()
            }),
            ..ContainerState::default()
        }
    } else if state["running"].as_bool() == Some(true) {
        ContainerState {
            running: Some(Running {
                started_at: s(state, "started_at"),
            }),
            ..ContainerState::default()
        }
    } else {
        ContainerState::default()
    };
    // The recording puts the previous instance's exit code beside the waiting state.
    if container.state.waiting.is_some()
        && let Some(code) = i(state, "exit_code").filter(|c| *c != 0)
    {
        container.last_state = Some(Terminated {
            exit_code: Some(code),
            reason: s(state, "last_terminated_reason"),
            ..Terminated::default()
        });
    }
    container
}

fn pods(value: &Value, snapshot: &mut Snapshot) {
    for pod in value["pods"].as_array().into_iter().flatten() {
        let node = s(pod, "node_name").filter(|n| n != "unscheduled" && n != "<none>");
        snapshot.pods.push(Pod {
            namespace: s(pod, "namespace").unwrap_or_default(),
            name: s(pod, "name").unwrap_or_default(),
            phase: s(pod, "phase"),
            node,
            start_time: s(pod, "start_time"),
            conditions: conditions(&pod["conditions"]),
            containers: pod["containers"]
                .as_array()
                .into_iter()
                .flatten()
                .map(container)
                .collect(),
            ..Pod::default()
        });
    }
}

/// `Kind/name`.
fn object(text: &str, namespace: Option<&str>) -> ObjectRef {
    match text.split_once('/') {
        Some((kind, name)) => ObjectRef::new(kind, namespace, name),
        None => ObjectRef::new("Pod", namespace, text),
    }
}

fn events(value: &Value, snapshot: &mut Snapshot) {
    let list = value["warning_events"]
        .as_array()
        .or_else(|| value["events"].as_array());
    for event in list.into_iter().flatten() {
        let namespace = s(event, "namespace");
        snapshot.events.push(Event {
            object: object(
                &s(event, "involved_object").unwrap_or_default(),
                namespace.as_deref(),
            ),
            kind: s(event, "type"),
            reason: s(event, "reason").unwrap_or_default(),
            message: s(event, "message").unwrap_or_default(),
            count: i(event, "count"),
            first_seen: s(event, "first_time"),
            last_seen: s(event, "last_time"),
        });
    }
}

fn deployments(value: &Value, snapshot: &mut Snapshot) {
    for d in value["deployments"].as_array().into_iter().flatten() {
        snapshot.workloads.push(Workload {
            kind: "Deployment".into(),
            namespace: s(d, "namespace").unwrap_or_default(),
            name: s(d, "name").unwrap_or_default(),
            desired: i(d, "desired"),
            ready: i(d, "ready"),
            available: i(d, "available"),
            updated: i(d, "updated"),
            conditions: conditions(&d["conditions"]),
            ..Workload::default()
        });
    }
}

fn nodes(value: &Value, snapshot: &mut Snapshot) {
    for n in value["nodes"].as_array().into_iter().flatten() {
        let mut conditions = Vec::new();
        for (key, kind) in [
            ("ready", "Ready"),
            ("memory_pressure", "MemoryPressure"),
            ("disk_pressure", "DiskPressure"),
            ("pid_pressure", "PIDPressure"),
        ] {
            if let Some(status) = s(n, key) {
                conditions.push(Condition {
                    kind: kind.into(),
                    status,
                    ..Condition::default()
                });
            }
        }
        let resources = |prefix: &str| -> BTreeMap<String, String> {
            ["cpu", "memory"]
                .iter()
                .filter_map(|r| s(n, &format!("{prefix}_{r}")).map(|v| ((*r).to_owned(), v)))
                .collect()
        };
        snapshot.nodes.push(Node {
            name: s(n, "name").unwrap_or_default(),
            conditions,
            unschedulable: n["unschedulable"].as_bool().unwrap_or(false),
            allocatable: resources("allocatable"),
            capacity: resources("capacity"),
            ..Node::default()
        });
    }
}

fn pod_logs(value: &Value, snapshot: &mut Snapshot) {
    if let Some(pod) = s(value, "pod_name") {
        snapshot.logs.push(Logs {
            namespace: s(value, "namespace"),
            pod,
            container: s(value, "container"),
            previous: false,
            lines: s(value, "logs")
                .unwrap_or_default()
                .lines()
                .map(str::to_owned)
                .collect(),
        });
    }
}

/// Log records carry the pod as `host`: one log stream per pod.
fn datadog_logs(value: &Value, snapshot: &mut Snapshot) {
    let mut by_pod: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for record in value["logs"].as_array().into_iter().flatten() {
        let (Some(host), Some(message)) = (s(record, "host"), s(record, "message")) else {
            continue;
        };
        by_pod.entry(host).or_default().push(message);
    }
    for (pod, lines) in by_pod {
        snapshot.logs.push(Logs {
            pod,
            lines,
            ..Logs::default()
        });
    }
}

/// The scenario at `dir` as a snapshot.
pub fn snapshot(dir: &Path) -> Snapshot {
    let mut snapshot = Snapshot::default();
    let mut gaps = Vec::new();
    for path in evidence_files(dir, &mut gaps) {
        let file = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let value: Value = match std::fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|bytes| serde_json::from_slice(&bytes).map_err(|e| e.to_string()))
        {
            Ok(value) => value,
            Err(error) => {
                gaps.push(format!("{file}: not read ({error})"));
                continue;
            }
        };
        match file.as_str() {
            "eks_pods.json" => pods(&value, &mut snapshot),
            "eks_events.json" => events(&value, &mut snapshot),
            "eks_deployments.json" => deployments(&value, &mut snapshot),
            "eks_node_health.json" => nodes(&value, &mut snapshot),
            "eks_pod_logs.json" => pod_logs(&value, &mut snapshot),
            _ => datadog_logs(&value, &mut snapshot),
        }
    }
    for file in ["datadog_monitors.json"] {
        if dir.join(file).is_file() {
            gaps.push(format!(
                "{file}: not mapped (monitor states are not cluster objects)"
            ));
        }
    }
    snapshot.gaps.extend(gaps);
    snapshot
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/fixtures/third-party/opensre/eks")
            .join(name)
    }

    #[test]
    fn evidence_and_the_base_it_inherits() {
        let snapshot = snapshot(&scenario("001-oomkilled-crashloop"));
        // Own files: pods, events, pod logs; the base's: deployments, nodes, datadog logs.
        assert_eq!(snapshot.pods.len(), 3);
        assert_eq!(snapshot.workloads.len(), 1, "deployments from the base");
        assert_eq!(snapshot.nodes.len(), 2, "nodes from the base");
        let crashed = &snapshot.pods[0].containers[0];
        assert_eq!(crashed.restart_count, 8);
        assert_eq!(
            crashed.last_state.as_ref().and_then(|t| t.exit_code),
            Some(137)
        );
        assert!(
            snapshot
                .events
                .iter()
                .any(|e| e.object.kind == "Pod" && e.reason == "BackOff")
        );
        assert!(
            snapshot
                .logs
                .iter()
                .any(|l| l.lines.iter().any(|line| line.contains("out of memory")))
        );
    }

    #[test]
    fn a_file_that_is_not_json_is_a_gap() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("eks_pods.json"), "not json").unwrap();
        std::fs::write(
            dir.path().join("eks_events.json"),
            r#"{"warning_events": [{"reason": 3}]}"#,
        )
        .unwrap();
        let snapshot = snapshot(dir.path());
        assert!(snapshot.pods.is_empty());
        assert!(
            snapshot.gaps[0].starts_with("eks_pods.json: not read"),
            "{:?}",
            snapshot.gaps
        );
        assert_eq!(
            snapshot.events.len(),
            1,
            "a field of the wrong type is left out"
        );
    }
}

//! What each read tool reports, computed from the objects the client fetched. Field names are
//! snake_case and flat, since runbooks gate on them (`oom.oom_killed && oom.restarts >= 2`).

use crate::facts::{
    self, IMAGE_PULL_REASONS, container_spec, container_statuses, init_container_statuses,
    last_terminated_reason, node_condition, node_unschedulable, pod_condition, status_of,
    waiting_message, waiting_reason,
};
use crate::owner::{ChainLink, workload_of};
use crate::quantity::parse_memory;
use crate::time_text;
use k8s_openapi::api::core::v1::{ContainerStatus, Event, Node, Pod};
use nightwatch_core::tool::ToolOutput;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// At most this many events are returned (the newest).
pub const MAX_EVENTS: usize = 50;
/// Longer log lines are cut to this many characters.
pub const MAX_LOG_LINE: usize = 2000;

/// Milliseconds used to order events: last seen, else event time, first seen, creation.
pub(crate) fn event_time(event: &Event) -> i64 {
    event
        .last_timestamp
        .as_ref()
        .map(|t| t.0.as_millisecond())
        .or_else(|| event.event_time.as_ref().map(|t| t.0.as_millisecond()))
        .or_else(|| event.first_timestamp.as_ref().map(|t| t.0.as_millisecond()))
        .or_else(|| {
            event
                .metadata
                .creation_timestamp
                .as_ref()
                .map(|t| t.0.as_millisecond())
        })
        .unwrap_or(0)
}

pub(crate) fn event_last_seen(event: &Event) -> Option<String> {
    event
        .last_timestamp
        .as_ref()
        .map(time_text)
        .or_else(|| event.event_time.as_ref().map(|t| t.0.to_string()))
        .or_else(|| event.first_timestamp.as_ref().map(time_text))
}

/// The events of one pod, oldest first. Events recorded for an earlier pod of the same name (a
/// StatefulSet's replaced pod) are dropped when the pod's uid is known.
pub fn events_of_pod<'a>(events: &'a [Event], pod: &str, uid: Option<&str>) -> Vec<&'a Event> {
    let mut mine: Vec<&Event> = events
        .iter()
        .filter(|e| {
            let object = &e.involved_object;
            object.kind.as_deref().is_none_or(|k| k == "Pod")
                && object.name.as_deref() == Some(pod)
                && match (uid, object.uid.as_deref()) {
                    (Some(want), Some(got)) if !got.is_empty() => want == got,
                    _ => true,
                }
        })
        .collect();
    mine.sort_by_key(|e| event_time(e));
    mine
}

/// `secret "x"` / `configmap "x"` out of a FailedMount message such as
/// `MountVolume.SetUp failed for volume "creds" : secret "db-creds" not found`.
pub fn missing_volume_object(message: &str) -> Option<String> {
    for kind in ["secret", "configmap"] {
        let marker = format!("{kind} \"");
        let mut rest = message;
        while let Some(at) = rest.find(&marker) {
            let after = &rest[at + marker.len()..];
            if let Some(end) = after.find('"') {
                let name = &after[..end];
                if after[end + 1..].trim_start().starts_with("not found") && !name.is_empty() {
                    return Some(format!("{kind} \"{name}\""));
                }
            }
            rest = after;
        }
    }
    None
}

fn is_image_pull_event(reason: &str, message: &str) -> bool {
    matches!(
        reason,
        "ErrImagePull" | "ImagePullBackOff" | "ErrImageNeverPull"
    ) || (reason == "Failed"
        && (message.starts_with("Failed to pull image")
            || message == "Error: ErrImagePull"
            || message == "Error: ImagePullBackOff"
            || message.starts_with("Error: InvalidImageName")))
        || (reason == "BackOff" && message.starts_with("Back-off pulling image"))
        || reason == "InspectFailed"
}

/// `get_pod_events`.
pub fn pod_events(pod: &str, uid: Option<&str>, events: &[Event]) -> ToolOutput {
    let mine = events_of_pod(events, pod, uid);
    let mut missing: Vec<String> = Vec::new();
    let (mut sandbox, mut pull, mut back_off, mut failed_mount) = (false, false, false, false);
    let mut warnings = 0;
    for event in &mine {
        let reason = event.reason.as_deref().unwrap_or_default();
        let message = event.message.as_deref().unwrap_or_default();
        if event.type_.as_deref() == Some("Warning") {
            warnings += 1;
        }
        if reason == "FailedMount" {
            failed_mount = true;
            if let Some(object) = missing_volume_object(message)
                && !missing.contains(&object)
            {
                missing.push(object);
            }
        }
        sandbox |= reason == "FailedCreatePodSandBox";
        pull |= is_image_pull_event(reason, message);
        back_off |= reason == "BackOff" && !message.starts_with("Back-off pulling image");
    }
    let listed: Vec<Value> = mine
        .iter()
        .skip(mine.len().saturating_sub(MAX_EVENTS))
        .map(|e| {
            json!({
                "type": e.type_,
                "reason": e.reason,
                "message": e.message,
                "count": e.count.unwrap_or(1),
                "last_timestamp": event_last_seen(e),
            })
        })
        .collect();
    let mut summary = format!("{} events for pod {pod} ({warnings} warnings)", mine.len());
    if let Some(latest) = mine
        .iter()
        .rev()
        .find(|e| e.type_.as_deref() == Some("Warning"))
    {
        summary.push_str(&format!(
            "; latest warning {}: {}",
            latest.reason.as_deref().unwrap_or("?"),
            latest.message.as_deref().unwrap_or_default()
        ));
    }
    if !missing.is_empty() {
        summary.push_str(&format!("; missing {}", missing.join(", ")));
    }
    ToolOutput::new(
        json!({
            "pod": pod,
            "count": mine.len(),
            "warnings": warnings,
            "events": listed,
            "missing_volume_objects": missing,
            "failed_mount": failed_mount,
            "sandbox_failure": sandbox,
            "image_pull_failure": pull,
            "back_off": back_off,
        }),
        summary,
    )
}

/// All container statuses, app containers first.
fn all_statuses(pod: &Pod) -> impl Iterator<Item = &ContainerStatus> {
    container_statuses(pod)
        .iter()
        .chain(init_container_statuses(pod))
}

/// The container a tool looks at: the one named (if the pod has it), else the first whose status
/// `pick` selects, else the first app container.
pub fn choose_container(
    pod: &Pod,
    named: Option<&str>,
    pick: impl Fn(&ContainerStatus) -> bool,
) -> Option<String> {
    if let Some(name) = named
        && container_spec(pod, name).is_some()
    {
        return Some(name.to_owned());
    }
    all_statuses(pod)
        .find(|s| pick(s))
        .map(|s| s.name.clone())
        .or_else(|| facts::containers(pod).first().map(|c| c.name.clone()))
}

fn pull_failing(status: &ContainerStatus) -> bool {
    waiting_reason(status).is_some_and(|r| IMAGE_PULL_REASONS.contains(&r))
}

/// Whether a pull error message says the image is not there (as opposed to auth or network).
pub fn says_not_found(message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    [
        "not found",
        "notfound",
        "manifest unknown",
        "does not exist",
    ]
    .iter()
    .any(|needle| lower.contains(needle))
}

/// `check_imagepullbackoff`.
pub fn image_pull(pod: &Pod, events: &[Event], named: Option<&str>) -> ToolOutput {
    let name = pod.metadata.name.clone().unwrap_or_default();
    let Some(container) = choose_container(pod, named, pull_failing) else {
        return ToolOutput::new(
            json!({"image_pull_backoff": false, "container": null, "image": null,
                   "reason": null, "message": null, "not_found": false}),
            format!("pod {name} has no containers"),
        );
    };
    let status = status_of(pod, &container);
    let image = container_spec(pod, &container)
        .and_then(|c| c.image.clone())
        .unwrap_or_default();
    let reason = status.and_then(waiting_reason).map(str::to_owned);
    let failing = reason
        .as_deref()
        .is_some_and(|r| IMAGE_PULL_REASONS.contains(&r));
    // The status says `Back-off pulling image "X"`; the kubelet's Failed event carries the
    // registry's answer.
    let pull_prefix = format!("Failed to pull image \"{image}\"");
    let event_message = events_of_pod(events, &name, pod.metadata.uid.as_deref())
        .into_iter()
        .rev()
        .filter_map(|e| e.message.as_deref())
        .find(|m| m.starts_with(&pull_prefix))
        .map(str::to_owned);
    let message = event_message
        .clone()
        .or_else(|| status.and_then(waiting_message).map(str::to_owned));
    let not_found = failing
        && event_message
            .iter()
            .chain(status.and_then(waiting_message).map(str::to_owned).iter())
            .any(|m| says_not_found(m));
    let summary = if failing {
        format!(
            "container {container} of pod {name} cannot pull {image}: {}{}",
            reason.as_deref().unwrap_or_default(),
            if not_found { " (image not found)" } else { "" }
        )
    } else {
        format!("container {container} of pod {name} is not failing to pull {image}")
    };
    ToolOutput::new(
        json!({
            "image_pull_backoff": failing,
            "container": container,
            "image": image,
            "reason": reason,
            "message": message,
            "not_found": not_found,
        }),
        summary,
    )
}

fn oom_killed(status: &ContainerStatus) -> bool {
    last_terminated_reason(status) == Some("OOMKilled")
        || status
            .state
            .as_ref()
            .and_then(|s| s.terminated.as_ref())
            .and_then(|t| t.reason.as_deref())
            == Some("OOMKilled")
}

/// `check_oom`.
pub fn oom(pod: &Pod, named: Option<&str>) -> ToolOutput {
    let name = pod.metadata.name.clone().unwrap_or_default();
    let Some(container) = choose_container(pod, named, oom_killed) else {
        return ToolOutput::new(
            json!({"oom_killed": false, "container": null, "restarts": 0, "memory_limit": null,
                   "memory_limit_bytes": null, "exit_code": null}),
            format!("pod {name} has no containers"),
        );
    };
    let status = status_of(pod, &container);
    // The current termination if the container is down now, else the previous one.
    let termination = status.and_then(|s| {
        s.state
            .as_ref()
            .and_then(|st| st.terminated.as_ref())
            .or_else(|| s.last_state.as_ref().and_then(|l| l.terminated.as_ref()))
    });
    let killed = status.is_some_and(oom_killed);
    let resources = container_spec(pod, &container).and_then(|c| c.resources.as_ref());
    let limit = resources
        .and_then(|r| r.limits.as_ref())
        .and_then(|l| l.get("memory"))
        .map(|q| q.0.clone());
    let request = resources
        .and_then(|r| r.requests.as_ref())
        .and_then(|l| l.get("memory"))
        .map(|q| q.0.clone());
    let limit_bytes = limit.as_deref().and_then(|q| parse_memory(q).ok());
    let restarts = status.map(|s| s.restart_count).unwrap_or(0);
    let summary = if killed {
        format!(
            "container {container} of pod {name} was OOMKilled (limit {}, {restarts} restarts)",
            limit.as_deref().unwrap_or("none")
        )
    } else {
        format!(
            "container {container} of pod {name} was not OOMKilled (limit {}, {restarts} restarts)",
            limit.as_deref().unwrap_or("none")
        )
    };
    ToolOutput::new(
        json!({
            "oom_killed": killed,
            "container": container,
            "restarts": restarts,
            "memory_limit": limit,
            "memory_limit_bytes": limit_bytes,
            "memory_request": request,
            "exit_code": termination.map(|t| t.exit_code),
            "reason": termination.and_then(|t| t.reason.clone()),
            "finished_at": termination.and_then(|t| t.finished_at.as_ref()).map(time_text),
        }),
        summary,
    )
}

fn container_view(pod: &Pod, status: &ContainerStatus) -> Value {
    let state = status.state.as_ref();
    let (state_name, reason, message) = match state {
        Some(s) if s.waiting.is_some() => (
            "waiting",
            waiting_reason(status).map(str::to_owned),
            waiting_message(status).map(str::to_owned),
        ),
        Some(s) if s.running.is_some() => ("running", None, None),
        Some(s) if s.terminated.is_some() => {
            let t = s.terminated.as_ref();
            (
                "terminated",
                t.and_then(|t| t.reason.clone()),
                t.and_then(|t| t.message.clone()),
            )
        }
        _ => ("unknown", None, None),
    };
    json!({
        "name": status.name,
        "image": container_spec(pod, &status.name).and_then(|c| c.image.clone()),
        "ready": status.ready,
        "restarts": status.restart_count,
        "state": state_name,
        "reason": reason,
        "message": message,
        "last_terminated_reason": last_terminated_reason(status),
        "last_exit_code": status.last_state.as_ref()
            .and_then(|l| l.terminated.as_ref()).map(|t| t.exit_code),
    })
}

/// `get_pod_status`.
pub fn pod_status(pod: &Pod) -> ToolOutput {
    let name = pod.metadata.name.clone().unwrap_or_default();
    let status = pod.status.as_ref();
    let mut containers: Vec<Value> = container_statuses(pod)
        .iter()
        .map(|s| container_view(pod, s))
        .collect();
    // Containers not reported yet.
    for c in facts::containers(pod) {
        if !container_statuses(pod).iter().any(|s| s.name == c.name) {
            containers.push(json!({"name": c.name, "image": c.image, "ready": false,
                "restarts": 0, "state": "unknown", "reason": null, "message": null,
                "last_terminated_reason": null, "last_exit_code": null}));
        }
    }
    let init: Vec<Value> = init_container_statuses(pod)
        .iter()
        .map(|s| container_view(pod, s))
        .collect();
    let conditions: BTreeMap<String, String> = status
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .map(|c| (c.type_.clone(), c.status.clone()))
        .collect();
    let ready = pod_condition(pod, "Ready").is_some_and(|c| c.status == "True");
    let restarts: i32 = container_statuses(pod)
        .iter()
        .map(|s| s.restart_count)
        .sum();
    let phase = facts::pod_phase(pod).unwrap_or("Unknown").to_owned();
    let waiting: Vec<String> = container_statuses(pod)
        .iter()
        .filter_map(|s| waiting_reason(s).map(|r| format!("{} {r}", s.name)))
        .collect();
    let unschedulable = pod_condition(pod, "PodScheduled")
        .filter(|c| c.status == "False")
        .and_then(|c| c.reason.clone());
    let mut summary = format!(
        "pod {name} is {phase}{}{}",
        if ready { ", ready" } else { ", not ready" },
        facts::pod_node(pod)
            .map(|n| format!(" on {n}"))
            .unwrap_or_default()
    );
    if !waiting.is_empty() {
        summary.push_str(&format!("; waiting: {}", waiting.join(", ")));
    }
    if restarts > 0 {
        summary.push_str(&format!("; {restarts} restarts"));
    }
    ToolOutput::new(
        json!({
            "pod": name,
            "namespace": pod.metadata.namespace,
            "phase": phase,
            "node": facts::pod_node(pod),
            "pod_ip": status.and_then(|s| s.pod_ip.clone()),
            "ready": ready,
            "deleting": facts::is_deleting(pod),
            "restarts": restarts,
            "reason": status.and_then(|s| s.reason.clone()),
            "message": status.and_then(|s| s.message.clone()),
            "unschedulable_reason": unschedulable,
            "conditions": conditions,
            "containers": containers,
            "init_containers": init,
        }),
        summary,
    )
}

/// The last `tail` lines of a log text, each cut to [`MAX_LOG_LINE`] characters. The client
/// asks the server for one line more than it reports, so `truncated` says there was more.
pub fn log_lines(text: &str, tail: usize) -> (Vec<String>, bool) {
    let all: Vec<&str> = text.lines().collect();
    let truncated = all.len() > tail;
    let lines = all[all.len().saturating_sub(tail)..]
        .iter()
        .map(|line| match line.char_indices().nth(MAX_LOG_LINE) {
            Some((cut, _)) => format!("{}…", &line[..cut]),
            None => (*line).to_owned(),
        })
        .collect();
    (lines, truncated)
}

/// `get_pod_logs` when the server returned the log.
pub fn pod_logs(pod: &str, container: &str, previous: bool, text: &str, tail: usize) -> ToolOutput {
    let (lines, truncated) = log_lines(text, tail);
    let which = if previous {
        "previous instance"
    } else {
        "current instance"
    };
    let summary = match lines.last() {
        Some(last) => format!(
            "{} log lines of {container} ({which}) in pod {pod}; last: {last}",
            lines.len()
        ),
        None => format!("no log lines from {container} ({which}) in pod {pod}"),
    };
    ToolOutput::new(
        json!({
            "available": true,
            "container": container,
            "previous": previous,
            "lines": lines,
            "truncated": truncated,
        }),
        summary,
    )
}

/// `get_pod_logs` when the server has no log to give (a container that never started: 400).
pub fn pod_logs_unavailable(
    pod: &str,
    container: &str,
    previous: bool,
    reason: &str,
) -> ToolOutput {
    ToolOutput::new(
        json!({
            "available": false,
            "container": container,
            "previous": previous,
            "lines": [],
            "truncated": false,
            "reason": reason,
        }),
        format!("no logs of {container} in pod {pod}: {reason}"),
    )
}

/// `get_owner_chain` from the links the client followed (starting with the Pod).
pub fn owner_chain(namespace: &str, chain: &[ChainLink]) -> ToolOutput {
    let workload = workload_of(namespace, chain);
    let path = chain
        .iter()
        .map(|l| format!("{}/{}", l.kind, l.name))
        .collect::<Vec<_>>()
        .join(" → ");
    let summary = match &workload {
        Some(w) => format!("{path}: owned by {} {}", w.kind, w.name),
        None => format!("{path}: no controlling workload"),
    };
    ToolOutput::new(json!({"chain": chain, "workload": workload}), summary)
}

/// `get_node_ready`.
pub fn node_ready(node: &Node) -> ToolOutput {
    let name = node.metadata.name.clone().unwrap_or_default();
    let ready = node_condition(node, "Ready");
    let status = ready.map(|c| c.status.clone()).unwrap_or("Unknown".into());
    let reason = ready.and_then(|c| c.reason.clone());
    let since = ready
        .and_then(|c| c.last_transition_time.as_ref())
        .map(time_text);
    let summary = format!(
        "node {name} Ready={status}{}{}",
        reason
            .as_deref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default(),
        since
            .as_deref()
            .map(|s| format!(" since {s}"))
            .unwrap_or_default()
    );
    ToolOutput::new(
        json!({
            "node": name,
            "ready": status == "True",
            "status": status,
            "reason": reason,
            "message": ready.and_then(|c| c.message.clone()),
            "since": since,
            "last_heartbeat": ready.and_then(|c| c.last_heartbeat_time.as_ref()).map(time_text),
        }),
        summary,
    )
}

/// A taint as kubectl writes it: `key=value:Effect` or `key:Effect`.
pub fn taint_text(taint: &k8s_openapi::api::core::v1::Taint) -> String {
    match taint.value.as_deref() {
        Some(value) if !value.is_empty() => format!("{}={value}:{}", taint.key, taint.effect),
        _ => format!("{}:{}", taint.key, taint.effect),
    }
}

/// `get_node_conditions`.
pub fn node_conditions_tool(node: &Node) -> ToolOutput {
    let facts = facts::node_facts(node);
    let taints: Vec<String> = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.as_ref())
        .into_iter()
        .flatten()
        .map(taint_text)
        .collect();
    let pressures = facts.pressures();
    let ready = facts.ready();
    let unschedulable = node_unschedulable(node);
    let mut summary = format!(
        "node {} {}{}",
        facts.name,
        if ready { "Ready" } else { "not Ready" },
        if unschedulable { ", cordoned" } else { "" }
    );
    if !pressures.is_empty() {
        summary.push_str(&format!("; {}", pressures.join(", ")));
    }
    if !taints.is_empty() {
        summary.push_str(&format!("; taints {}", taints.join(", ")));
    }
    ToolOutput::new(
        json!({
            "node": facts.name,
            "conditions": facts.conditions,
            "pressures": pressures,
            "unschedulable": unschedulable,
            "taints": taints,
            "ready": ready,
        }),
        summary,
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn pod(value: Value) -> Pod {
        serde_json::from_value(value).unwrap()
    }

    fn event(
        name: &str,
        uid: &str,
        type_: &str,
        reason: &str,
        message: &str,
        last: &str,
        count: i32,
    ) -> Event {
        serde_json::from_value(json!({
            "metadata": {"name": format!("{name}.{reason}.{last}"), "namespace": "d"},
            "involvedObject": {"kind": "Pod", "name": name, "namespace": "d", "uid": uid},
            "type": type_, "reason": reason, "message": message, "count": count,
            "lastTimestamp": last,
        }))
        .unwrap()
    }

    #[test]
    fn missing_volume_objects_from_failed_mount_messages() {
        let table = [
            (
                r#"MountVolume.SetUp failed for volume "creds" : secret "db-creds" not found"#,
                Some(r#"secret "db-creds""#),
            ),
            (
                r#"MountVolume.SetUp failed for volume "cfg" : configmap "app-config" not found"#,
                Some(r#"configmap "app-config""#),
            ),
            (
                r#"MountVolume.SetUp failed for volume "x" : secret "a" is forbidden"#,
                None,
            ),
            (
                "Unable to attach or mount volumes: unmounted volumes=[creds]",
                None,
            ),
            ("", None),
        ];
        for (message, want) in table {
            assert_eq!(missing_volume_object(message).as_deref(), want, "{message}");
        }
    }

    #[test]
    fn pod_events_newest_last_with_flags() {
        let events = vec![
            event(
                "web-1",
                "u1",
                "Warning",
                "FailedMount",
                r#"MountVolume.SetUp failed for volume "creds" : secret "db-creds" not found"#,
                "2024-01-01T00:00:30Z",
                3,
            ),
            event(
                "web-1",
                "u1",
                "Normal",
                "Scheduled",
                "Successfully assigned d/web-1 to n1",
                "2024-01-01T00:00:00Z",
                1,
            ),
            event(
                "web-1",
                "u1",
                "Warning",
                "FailedMount",
                r#"MountVolume.SetUp failed for volume "cfg" : configmap "app" not found"#,
                "2024-01-01T00:00:20Z",
                1,
            ),
            event(
                "web-1",
                "u1",
                "Warning",
                "FailedCreatePodSandBox",
                "Failed to create pod sandbox: rpc error",
                "2024-01-01T00:00:10Z",
                1,
            ),
            // An older pod of the same name: not ours.
            event(
                "web-1",
                "old",
                "Warning",
                "BackOff",
                "Back-off restarting failed container",
                "2024-01-01T00:00:40Z",
                9,
            ),
            event(
                "other",
                "u2",
                "Warning",
                "Failed",
                "Error: ErrImagePull",
                "2024-01-01T00:00:05Z",
                1,
            ),
        ];
        let out = pod_events("web-1", Some("u1"), &events);
        let d = &out.data;
        assert_eq!(d["count"], 4);
        assert_eq!(d["warnings"], 3);
        let reasons: Vec<&str> = d["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["reason"].as_str().unwrap())
            .collect();
        assert_eq!(
            reasons,
            [
                "Scheduled",
                "FailedCreatePodSandBox",
                "FailedMount",
                "FailedMount"
            ]
        );
        assert_eq!(d["events"][3]["count"], 3);
        assert_eq!(d["events"][3]["last_timestamp"], "2024-01-01T00:00:30Z");
        assert_eq!(
            d["missing_volume_objects"],
            json!([r#"configmap "app""#, r#"secret "db-creds""#])
        );
        assert_eq!(d["sandbox_failure"], true);
        assert_eq!(d["failed_mount"], true);
        assert_eq!(d["image_pull_failure"], false);
        assert_eq!(d["back_off"], false);
        assert!(out.summary.contains("missing configmap"), "{}", out.summary);

        // Without the uid every event of the name counts.
        let all = pod_events("web-1", None, &events);
        assert_eq!(all.data["count"], 5);
        assert_eq!(all.data["back_off"], true);
    }

    #[test]
    fn image_pull_and_back_off_flags() {
        let table = [
            (
                "Failed",
                "Failed to pull image \"x\": not found",
                true,
                false,
            ),
            ("Failed", "Error: ErrImagePull", true, false),
            ("Failed", "Error: ImagePullBackOff", true, false),
            ("BackOff", "Back-off pulling image \"x\"", true, false),
            (
                "BackOff",
                "Back-off restarting failed container",
                false,
                true,
            ),
            ("Pulled", "Successfully pulled image \"x\"", false, false),
        ];
        for (reason, message, pull, back_off) in table {
            let events = vec![event(
                "p",
                "u",
                "Warning",
                reason,
                message,
                "2024-01-01T00:00:00Z",
                1,
            )];
            let d = pod_events("p", Some("u"), &events).data;
            assert_eq!(d["image_pull_failure"], pull, "{reason}: {message}");
            assert_eq!(d["back_off"], back_off, "{reason}: {message}");
        }
    }

    #[test]
    fn events_are_capped_to_the_newest() {
        let events: Vec<Event> = (0..70)
            .map(|i| {
                event(
                    "p",
                    "u",
                    "Normal",
                    &format!("R{i}"),
                    "m",
                    &format!("2024-01-01T00:{:02}:{:02}Z", i / 60, i % 60),
                    1,
                )
            })
            .collect();
        let d = pod_events("p", Some("u"), &events).data;
        assert_eq!(d["count"], 70);
        let listed = d["events"].as_array().unwrap();
        assert_eq!(listed.len(), MAX_EVENTS);
        assert_eq!(listed[0]["reason"], "R20");
        assert_eq!(listed[49]["reason"], "R69");
    }

    fn image_pull_pod(reason: &str, message: &str) -> Pod {
        pod(json!({
            "metadata": {"name": "web-1", "namespace": "d", "uid": "u1"},
            "spec": {"containers": [
                {"name": "sidecar", "image": "envoy:1"},
                {"name": "web", "image": "registry.invalid/web:1"}]},
            "status": {"phase": "Pending", "containerStatuses": [
                {"name": "sidecar", "image": "envoy:1", "imageID": "", "ready": true, "restartCount": 0,
                 "state": {"running": {}}},
                {"name": "web", "image": "registry.invalid/web:1", "imageID": "", "ready": false,
                 "restartCount": 0, "state": {"waiting": {"reason": reason, "message": message}}}]}
        }))
    }

    #[test]
    fn image_pull_backoff_with_the_registry_answer_from_events() {
        let p = image_pull_pod(
            "ImagePullBackOff",
            "Back-off pulling image \"registry.invalid/web:1\"",
        );
        let events = vec![event(
            "web-1",
            "u1",
            "Warning",
            "Failed",
            "Failed to pull image \"registry.invalid/web:1\": rpc error: code = NotFound desc = failed to pull and unpack image \"registry.invalid/web:1\": not found",
            "2024-01-01T00:00:00Z",
            2,
        )];
        let d = image_pull(&p, &events, None).data;
        assert_eq!(d["image_pull_backoff"], true);
        assert_eq!(d["container"], "web");
        assert_eq!(d["image"], "registry.invalid/web:1");
        assert_eq!(d["reason"], "ImagePullBackOff");
        assert!(
            d["message"]
                .as_str()
                .unwrap()
                .starts_with("Failed to pull image")
        );
        assert_eq!(d["not_found"], true);

        // No event: the status message is all there is.
        let d = image_pull(&p, &[], None).data;
        assert_eq!(d["not_found"], false);
        assert_eq!(
            d["message"],
            "Back-off pulling image \"registry.invalid/web:1\""
        );

        // ErrImagePull with the registry's message in the status.
        let p = image_pull_pod(
            "ErrImagePull",
            "rpc error: code = NotFound desc = not found",
        );
        let d = image_pull(&p, &[], None).data;
        assert_eq!(d["image_pull_backoff"], true);
        assert_eq!(d["reason"], "ErrImagePull");
        assert_eq!(d["not_found"], true);

        // Asking about the healthy sidecar.
        let d = image_pull(&p, &[], Some("sidecar")).data;
        assert_eq!(d["image_pull_backoff"], false);
        assert_eq!(d["container"], "sidecar");
        assert_eq!(d["reason"], Value::Null);

        // A pull denied for auth is not "not found".
        assert!(!says_not_found("pull access denied, authorization failed"));
        assert!(says_not_found("manifest unknown: manifest unknown"));
    }

    fn oom_pod(last_reason: &str, restarts: i32, limit: Option<&str>) -> Pod {
        let resources = match limit {
            Some(l) => json!({"limits": {"memory": l}, "requests": {"memory": "64Mi"}}),
            None => json!({}),
        };
        pod(json!({
            "metadata": {"name": "worker-1", "namespace": "d"},
            "spec": {"containers": [{"name": "worker", "image": "w:1", "resources": resources}]},
            "status": {"phase": "Running", "containerStatuses": [{
                "name": "worker", "image": "w:1", "imageID": "", "ready": false,
                "restartCount": restarts,
                "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                "lastState": {"terminated": {"reason": last_reason, "exitCode": 137,
                    "finishedAt": "2024-01-01T00:01:00Z"}}}]}
        }))
    }

    #[test]
    fn check_oom_table() {
        let table = [
            ("OOMKilled", 3, Some("128Mi"), true, Some(128u64 << 20)),
            ("Error", 3, Some("128Mi"), false, Some(128 << 20)),
            ("OOMKilled", 1, None, true, None),
            ("OOMKilled", 2, Some("1G"), true, Some(1_000_000_000)),
        ];
        for (reason, restarts, limit, killed, bytes) in table {
            let d = oom(&oom_pod(reason, restarts, limit), None).data;
            assert_eq!(d["oom_killed"], killed, "{reason}");
            assert_eq!(d["container"], "worker");
            assert_eq!(d["restarts"], restarts);
            assert_eq!(d["memory_limit"], json!(limit));
            assert_eq!(d["memory_limit_bytes"], json!(bytes));
            assert_eq!(d["exit_code"], 137);
            assert_eq!(d["reason"], reason);
            assert_eq!(d["finished_at"], "2024-01-01T00:01:00Z");
        }
        let d = oom(&oom_pod("OOMKilled", 2, Some("128Mi")), None).data;
        assert_eq!(d["memory_request"], "64Mi");
    }

    #[test]
    fn pod_status_view() {
        let p = pod(json!({
            "metadata": {"name": "api-1", "namespace": "shop"},
            "spec": {"nodeName": "n1", "containers": [
                {"name": "api", "image": "shop/api:2"}, {"name": "late", "image": "x:1"}]},
            "status": {"phase": "Running", "podIP": "10.0.0.5",
                "conditions": [{"type": "Ready", "status": "False"},
                               {"type": "PodScheduled", "status": "True"}],
                "containerStatuses": [{
                    "name": "api", "image": "shop/api:2", "imageID": "", "ready": false,
                    "restartCount": 4,
                    "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s"}},
                    "lastState": {"terminated": {"reason": "Error", "exitCode": 3}}}]}
        }));
        let out = pod_status(&p);
        let d = &out.data;
        assert_eq!(d["phase"], "Running");
        assert_eq!(d["node"], "n1");
        assert_eq!(d["ready"], false);
        assert_eq!(d["restarts"], 4);
        assert_eq!(d["conditions"]["Ready"], "False");
        assert_eq!(d["conditions"]["PodScheduled"], "True");
        assert_eq!(d["containers"][0]["state"], "waiting");
        assert_eq!(d["containers"][0]["reason"], "CrashLoopBackOff");
        assert_eq!(d["containers"][0]["last_terminated_reason"], "Error");
        assert_eq!(d["containers"][0]["last_exit_code"], 3);
        assert_eq!(d["containers"][1]["name"], "late");
        assert_eq!(d["containers"][1]["state"], "unknown");
        assert_eq!(
            out.summary,
            "pod api-1 is Running, not ready on n1; waiting: api CrashLoopBackOff; 4 restarts"
        );
    }

    #[test]
    fn log_tails() {
        let (lines, truncated) = log_lines("a\nb\nc\n", 2);
        assert_eq!(lines, ["b", "c"]);
        assert!(truncated);
        let (lines, truncated) = log_lines("a\nb\n", 2);
        assert_eq!(lines, ["a", "b"]);
        assert!(!truncated);
        let (lines, truncated) = log_lines("", 5);
        assert!(lines.is_empty() && !truncated);
        let long = "é".repeat(MAX_LOG_LINE + 10);
        let (lines, _) = log_lines(&long, 1);
        assert_eq!(lines[0].chars().count(), MAX_LOG_LINE + 1);

        let out = pod_logs("p", "c", true, "x\npanic: boom\n", 50);
        assert_eq!(out.data["lines"], json!(["x", "panic: boom"]));
        assert_eq!(out.data["previous"], true);
        assert_eq!(out.data["available"], true);
        assert!(out.summary.ends_with("last: panic: boom"));
        let out = pod_logs_unavailable(
            "p",
            "c",
            false,
            "container \"c\" in pod \"p\" is waiting to start: ContainerCreating",
        );
        assert_eq!(out.data["available"], false);
        assert_eq!(out.data["lines"], json!([]));
    }

    #[test]
    fn owner_chain_output() {
        let chain = vec![
            ChainLink {
                kind: "Pod".into(),
                name: "web-5d8-x".into(),
            },
            ChainLink {
                kind: "ReplicaSet".into(),
                name: "web-5d8".into(),
            },
            ChainLink {
                kind: "Deployment".into(),
                name: "web".into(),
            },
        ];
        let out = owner_chain("shop", &chain);
        assert_eq!(
            out.data["chain"][1],
            json!({"kind": "ReplicaSet", "name": "web-5d8"})
        );
        assert_eq!(
            out.data["workload"],
            json!({"kind": "Deployment", "namespace": "shop", "name": "web"})
        );
        assert_eq!(
            out.summary,
            "Pod/web-5d8-x → ReplicaSet/web-5d8 → Deployment/web: owned by Deployment web"
        );
        let bare = owner_chain("shop", &chain[..1]);
        assert_eq!(bare.data["workload"], Value::Null);
    }

    #[test]
    fn node_tools() {
        let node: Node = serde_json::from_value(json!({
            "metadata": {"name": "n2"},
            "spec": {"unschedulable": true, "taints": [
                {"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"},
                {"key": "dedicated", "value": "db", "effect": "NoExecute"}]},
            "status": {"conditions": [
                {"type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown",
                 "message": "Kubelet stopped posting node status.",
                 "lastTransitionTime": "2024-01-01T00:00:00Z",
                 "lastHeartbeatTime": "2023-12-31T23:59:00Z"},
                {"type": "MemoryPressure", "status": "Unknown"},
                {"type": "DiskPressure", "status": "False"}]}
        }))
        .unwrap();
        let r = node_ready(&node);
        assert_eq!(r.data["ready"], false);
        assert_eq!(r.data["status"], "Unknown");
        assert_eq!(r.data["reason"], "NodeStatusUnknown");
        assert_eq!(r.data["since"], "2024-01-01T00:00:00Z");
        assert_eq!(r.data["last_heartbeat"], "2023-12-31T23:59:00Z");
        assert_eq!(
            r.summary,
            "node n2 Ready=Unknown (NodeStatusUnknown) since 2024-01-01T00:00:00Z"
        );
        let c = node_conditions_tool(&node).data;
        assert_eq!(c["conditions"]["MemoryPressure"], "Unknown");
        assert_eq!(c["pressures"], json!(["MemoryPressure"]));
        assert_eq!(c["unschedulable"], true);
        assert_eq!(
            c["taints"],
            json!([
                "node.kubernetes.io/unreachable:NoSchedule",
                "dedicated=db:NoExecute"
            ])
        );
        assert_eq!(c["ready"], false);

        let blank: Node = serde_json::from_value(json!({"metadata": {"name": "n3"}})).unwrap();
        assert_eq!(node_ready(&blank).data["status"], "Unknown");
        assert_eq!(node_conditions_tool(&blank).data["unschedulable"], false);
    }
}

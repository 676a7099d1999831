//! HolmesGPT's recorded kubectl outputs read into a [`Snapshot`], so the deterministic analyzers
//! can judge a HolmesGPT case the way they judge a live cluster.
//!
//! HolmesGPT records what kubectl printed for humans — `describe` text, `get` tables, event
//! tables, log tails, now and then `-o yaml` — not API objects. The shape is recognised from the
//! text itself (a `describe_pod` file may hold a Job's description), with the tool's name and
//! parameters as hints for what the text does not say (whose logs these are, which namespace a
//! table was read in). What cannot be mapped (metrics, traces, findings, failed calls) becomes a
//! sentence in `gaps` naming the file, so the assessment says what it could not see. Nothing here
//! panics on odd input: a truncated or garbled output yields what could be read plus a gap.

use super::case::Recording;
use nightwatch_core::evidence::snapshot::{
    Condition, Container, ContainerState, Event, Hpa, Job, Logs, Node, ObjectRef, Pod, Pvc, Quota,
    Running, Service, Snapshot, Terminated, Waiting, Workload, add_request,
};
use serde_json::Value;
use std::collections::BTreeMap;

/// The Snapshot HolmesGPT's `recordings` show. `namespace_hint` (the alert's namespace) places
/// table rows and logs whose namespace the recording does not name.
pub fn snapshot(recordings: &[Recording], namespace_hint: Option<&str>) -> Snapshot {
    let mut out = Snapshot::default();
    // Logs are read last: a log file often names no pod, and the pod described beside it is
    // then the one it belongs to.
    let (logs, others): (Vec<&Recording>, Vec<&Recording>) =
        recordings.iter().partition(|r| is_logs_tool(r));
    for recording in others {
        let mut part = Snapshot::default();
        read_recording(recording, namespace_hint, &mut part);
        merge_preferring_detail(&mut out, part);
    }
    for recording in logs {
        read_logs(recording, namespace_hint, &mut out);
    }
    out
}

/// `Snapshot::merge`, except that one reading never erases another: a pod read from a `get`
/// table (no container names) never replaces one read from a description or a manifest, and a
/// workload, node, job, claim or service read twice keeps the first reading with its blanks
/// filled from the second (a `get deployment` row has no conditions, a description has them).
fn merge_preferring_detail(into: &mut Snapshot, mut part: Snapshot) {
    fn fill<T>(
        into: &mut [T],
        from: &mut Vec<T>,
        same: impl Fn(&T, &T) -> bool,
        add: impl Fn(&mut T, T),
    ) {
        let mut rest = Vec::new();
        for item in from.drain(..) {
            match into.iter_mut().find(|existing| same(existing, &item)) {
                Some(existing) => add(existing, item),
                None => rest.push(item),
            }
        }
        *from = rest;
    }
    fn opt<V>(slot: &mut Option<V>, other: Option<V>) {
        if slot.is_none() {
            *slot = other;
        }
    }
    fn many<C: Default + PartialEq>(slot: &mut C, other: C) {
        if *slot == C::default() {
            *slot = other;
        }
    }
    fill(
        &mut into.workloads,
        &mut part.workloads,
        |a, b| a.kind == b.kind && a.namespace == b.namespace && a.name == b.name,
        |w, n| {
            opt(&mut w.owner, n.owner);
            opt(&mut w.desired, n.desired);
            opt(&mut w.ready, n.ready);
            opt(&mut w.available, n.available);
            opt(&mut w.updated, n.updated);
            opt(&mut w.revision, n.revision);
            many(&mut w.conditions, n.conditions);
            many(&mut w.images, n.images);
            many(&mut w.selector, n.selector);
        },
    );
    fill(
        &mut into.nodes,
        &mut part.nodes,
        |a, b| a.name == b.name,
        |node, n| {
            node.unschedulable |= n.unschedulable;
            many(&mut node.conditions, n.conditions);
            many(&mut node.taints, n.taints);
            many(&mut node.labels, n.labels);
            many(&mut node.allocatable, n.allocatable);
            many(&mut node.capacity, n.capacity);
        },
    );
    fill(
        &mut into.jobs,
        &mut part.jobs,
        |a, b| a.namespace == b.namespace && a.name == b.name,
        |job, n| {
            opt(&mut job.owner, n.owner);
            opt(&mut job.active, n.active);
            opt(&mut job.succeeded, n.succeeded);
            opt(&mut job.failed, n.failed);
            opt(&mut job.backoff_limit, n.backoff_limit);
            many(&mut job.conditions, n.conditions);
        },
    );
    fill(
        &mut into.pvcs,
        &mut part.pvcs,
        |a, b| a.namespace == b.namespace && a.name == b.name,
        |pvc, n| {
            opt(&mut pvc.phase, n.phase);
            opt(&mut pvc.storage_class, n.storage_class);
            opt(&mut pvc.requested, n.requested);
        },
    );
    fill(
        &mut into.services,
        &mut part.services,
        |a, b| a.namespace == b.namespace && a.name == b.name,
        |svc, n| {
            many(&mut svc.selector, n.selector);
            opt(&mut svc.ready_endpoints, n.ready_endpoints);
            opt(&mut svc.not_ready_endpoints, n.not_ready_endpoints);
        },
    );
    // The same event, seen in a description and in an event list, counts once.
    part.events.retain(|e| {
        !into.events.iter().any(|x| {
            x.object.kind.eq_ignore_ascii_case(&e.object.kind)
                && x.object.name == e.object.name
                && x.reason == e.reason
                && x.message == e.message
        })
    });
    part.pods.retain(|pod| {
        let from_table = pod.containers.iter().all(|c| c.name == UNNAMED);
        !(from_table
            && into.pods.iter().any(|p| {
                p.name == pod.name
                    && p.namespace == pod.namespace
                    && p.containers.iter().any(|c| c.name != UNNAMED)
            }))
    });
    into.merge(part);
}

/// The container name given to what a `get pods` table says about a pod's containers: the
/// table shows their state but not their names.
const UNNAMED: &str = "(unnamed)";

fn is_logs_tool(recording: &Recording) -> bool {
    let tool = recording.tool.as_str();
    tool == "get_pod_logs" || tool.contains("logs") && !tool.contains("events")
}

fn param<'a>(recording: &'a Recording, names: &[&str]) -> Option<&'a str> {
    names
        .iter()
        .find_map(|name| recording.params.get(*name).and_then(Value::as_str))
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// The output without kubectl's wrapping: the `Command … failed` line, the `stdout:`/`stderr:`
/// markers, and the `\"` escapes some recordings kept from JSON.
struct Cleaned {
    body: String,
    /// The call failed: kubectl's error, in its words.
    error: Option<String>,
}

fn clean(output: &str) -> Cleaned {
    let unescaped = if output.contains("\\\"") {
        output.replace("\\\"", "\"")
    } else {
        output.to_owned()
    };
    let mut body = Vec::new();
    let mut errors = Vec::new();
    let mut in_stderr = false;
    for line in unescaped.lines() {
        let trimmed = line.trim();
        if trimmed == "stdout:" {
            in_stderr = false;
            continue;
        }
        if trimmed == "stderr:" {
            in_stderr = true;
            continue;
        }
        if trimmed.starts_with("Command `") && trimmed.contains("failed with return code") {
            continue;
        }
        // A lone quote is the end of a JSON string the recording was cut from.
        if trimmed == "\"" {
            continue;
        }
        let lower = trimmed.to_ascii_lowercase();
        if lower.starts_with("error from server") || lower.starts_with("error: error from server") {
            errors.push(trimmed.to_owned());
            continue;
        }
        if in_stderr {
            if !trimmed.is_empty() {
                errors.push(trimmed.to_owned());
            }
        } else {
            body.push(line);
        }
    }
    // Leading and trailing blank lines carry nothing; inner ones separate objects.
    while body.first().is_some_and(|l| l.trim().is_empty()) {
        body.remove(0);
    }
    while body.last().is_some_and(|l| l.trim().is_empty()) {
        body.pop();
    }
    Cleaned {
        body: body.join("\n"),
        error: (!errors.is_empty()).then(|| errors.join("; ")),
    }
}

fn gap(out: &mut Snapshot, recording: &Recording, why: &str) {
    out.gaps.push(format!("{}: {why}", recording.file));
}

fn read_recording(recording: &Recording, hint: Option<&str>, out: &mut Snapshot) {
    let tool = recording.tool.as_str();
    if tool.starts_with("kubectl_top") || tool.contains("memory_requests") {
        return gap(out, recording, "not mapped (metrics usage)");
    }
    if tool.contains("tempo") || tool.contains("trace") {
        return gap(out, recording, "not mapped (traces)");
    }
    if tool.starts_with("fetch_finding") {
        return gap(
            out,
            recording,
            "not mapped (a Robusta finding, not a cluster object)",
        );
    }
    if tool.starts_with("fetch_configuration_changes") {
        return gap(out, recording, "not mapped (configuration change history)");
    }
    if tool == "fetch_webpage" {
        return gap(out, recording, "not mapped (a web page)");
    }
    let cleaned = clean(&recording.output);
    let body = cleaned.body.as_str();
    let first = body.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let namespace = param(recording, &["namespace"]).or(hint);
    let kind = param(recording, &["kind", "resource_type"]).map(str::to_ascii_lowercase);

    if body.trim().is_empty()
        || first.starts_with("No events found")
        || first.starts_with("No resources found")
    {
        if let Some(error) = cleaned.error {
            gap(out, recording, &format!("the call failed: {error}"));
        }
        return;
    }
    if let Some(error) = &cleaned.error {
        // Something was printed beside the error: read it, and say what failed.
        gap(out, recording, &format!("the call reported: {error}"));
    }
    let read = if first.starts_with("apiVersion:")
        || first.starts_with('{')
        || first.starts_with("kind:")
        || first.starts_with("items:")
        || first == "---"
    {
        manifest(body, out)
    } else if first.starts_with("Name:") {
        describe(body, namespace, out)
    } else if first.contains('├') || first.contains('└') || body.contains("├──") {
        Err("not mapped (an ownership tree)".to_owned())
    } else if header_columns(first).first().is_some_and(|c| {
        c.0 == "NAME" || c.0 == "NAMESPACE" || c.0 == "LAST SEEN" || c.0 == "LASTSEEN"
    }) {
        table(body, kind.as_deref(), namespace, out)
    } else if kind.as_deref().is_some_and(|k| k == "pod" || k == "pods") {
        headerless_pods(body, namespace, out)
    } else {
        Err("not mapped (output not recognised)".to_owned())
    };
    if let Err(why) = read {
        gap(out, recording, &why);
    }
}

// ---------------------------------------------------------------------------------------------
// Logs

fn read_logs(recording: &Recording, hint: Option<&str>, out: &mut Snapshot) {
    let cleaned = clean(&recording.output);
    let previous = recording.variant.as_deref() == Some("previous")
        || recording.file.contains("previous")
        || recording.params.get("previous").and_then(Value::as_bool) == Some(true);
    let invocation = recording
        .output
        .lines()
        .find_map(|l| l.trim().strip_prefix("Command `kubectl logs "))
        .map(|rest| rest.split('`').next().unwrap_or(""));
    let invoked_pod = invocation.and_then(|i| i.split_whitespace().next());
    let invoked_ns = invocation.and_then(|i| {
        let words: Vec<&str> = i.split_whitespace().collect();
        words
            .windows(2)
            .find(|w| w[0] == "-n" || w[0] == "--namespace")
            .map(|w| w[1])
    });
    let mut lines = Vec::new();
    let mut meta_pod = None;
    let mut meta_ns = None;
    let mut in_meta = false;
    let mut no_logs = false;
    for line in cleaned.body.lines() {
        let trimmed = line.trim();
        // HolmesGPT's log tool frames its answer in a metadata block of `====` rules.
        if trimmed.len() >= 10 && trimmed.chars().all(|c| c == '=') {
            in_meta = !in_meta;
            continue;
        }
        if trimmed == "LOG QUERY METADATA" {
            in_meta = true;
            continue;
        }
        if in_meta {
            if let Some(pod) = trimmed.strip_prefix("- Pod: ") {
                meta_pod = Some(pod.trim().to_owned());
            } else if let Some(ns) = trimmed.strip_prefix("- Namespace: ") {
                meta_ns = Some(ns.trim().to_owned());
            } else if trimmed.starts_with("Result: No logs found") {
                no_logs = true;
            }
            continue;
        }
        lines.push(line.to_owned());
    }
    let pod = param(recording, &["pod_name", "name", "pod"])
        .map(str::to_owned)
        .or(meta_pod)
        .or(invoked_pod.map(str::to_owned))
        .or_else(|| match out.pods.as_slice() {
            [only] => Some(only.name.clone()),
            _ => None,
        });
    let Some(pod) = pod else {
        return gap(out, recording, "logs of an unnamed pod (not mapped)");
    };
    if let Some(error) = cleaned.error {
        return gap(out, recording, &format!("no logs: {error}"));
    }
    let namespace = param(recording, &["namespace"])
        .map(str::to_owned)
        .or(meta_ns)
        .or(invoked_ns.map(str::to_owned))
        .or_else(|| {
            out.pods
                .iter()
                .find(|p| p.name == pod)
                .map(|p| p.namespace.clone())
        })
        .or(hint.map(str::to_owned));
    if no_logs {
        lines.clear();
    }
    let logs = Logs {
        namespace,
        pod,
        container: param(recording, &["container", "container_name"]).map(str::to_owned),
        previous,
        lines,
    };
    if !out.logs.contains(&logs) {
        out.logs.push(logs);
    }
}

// ---------------------------------------------------------------------------------------------
// Tables

/// Column names of a kubectl table header with the character offset each starts at. Columns
/// are separated by two or more spaces (kubectl pads with at least three), so `LAST SEEN` and
/// `NOMINATED NODE` stay one column.
fn header_columns(line: &str) -> Vec<(String, usize)> {
    let chars: Vec<char> = line.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == ' ' {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && !(chars[i] == ' ' && chars.get(i + 1).is_none_or(|c| *c == ' ')) {
            i += 1;
        }
        let name: String = chars[start..i].iter().collect();
        out.push((name.trim().to_owned(), start));
    }
    out
}

/// A row cut at the header's column offsets. kubectl aligns every cell under its header, so
/// this keeps cells with spaces (`56 (4h ago)`, `Amazon Linux 2`, a message) whole.
fn cells(columns: &[(String, usize)], line: &str) -> BTreeMap<String, String> {
    let chars: Vec<char> = line.chars().collect();
    let mut out = BTreeMap::new();
    for (i, (name, start)) in columns.iter().enumerate() {
        let end = columns.get(i + 1).map_or(chars.len(), |next| next.1);
        let (start, end) = ((*start).min(chars.len()), end.min(chars.len()));
        let mut cell: String = chars[start..end].iter().collect();
        // A cell wider than its column pushes into the next: take whole words only.
        if start > 0 && chars.get(start - 1).is_some_and(|c| *c != ' ') {
            cell = cell
                .split_once(' ')
                .map(|(_, rest)| rest.to_owned())
                .unwrap_or_default();
        }
        out.insert(name.clone(), cell.trim().to_owned());
    }
    out
}

fn none_if_empty(value: Option<&String>) -> Option<String> {
    value
        .map(|v| v.trim())
        .filter(|v| !v.is_empty() && *v != "<none>" && *v != "<unset>" && *v != "-")
        .map(str::to_owned)
}

fn key_values(text: &str) -> BTreeMap<String, String> {
    text.split(',')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .filter(|(k, _)| !k.is_empty())
        .collect()
}

/// `1/2` → (1, 2).
fn fraction(text: &str) -> Option<(i64, i64)> {
    let (a, b) = text.trim().split_once('/')?;
    Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
}

/// The leading integer of `85 (113s ago)`.
fn leading_int(text: &str) -> Option<i64> {
    text.split_whitespace().next()?.parse().ok()
}

/// `21s (x3 over 61s)` → 3.
fn repeat_count(age: &str) -> Option<i64> {
    let start = age.find("(x")? + 2;
    age[start..]
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

fn table(
    body: &str,
    kind: Option<&str>,
    namespace: Option<&str>,
    out: &mut Snapshot,
) -> Result<(), String> {
    let mut lines = body.lines();
    let header = lines.next().unwrap_or("");
    let columns = header_columns(header);
    let has = |name: &str| columns.iter().any(|c| c.0 == name);
    let rows: Vec<BTreeMap<String, String>> = lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| cells(&columns, l))
        .collect();
    let kind = kind.unwrap_or("");
    let shape = if has("REASON") && has("MESSAGE") {
        "event"
    } else if kind.starts_with("pod") || has("RESTARTS") {
        "pod"
    } else if kind.starts_with("node") || has("ROLES") {
        "node"
    } else if kind.starts_with("persistentvolumeclaim")
        || kind == "pvc"
        || has("STORAGECLASS") && has("VOLUME")
    {
        "pvc"
    } else if kind.starts_with("service") || kind == "svc" || has("CLUSTER-IP") {
        "service"
    } else if kind.starts_with("job") || has("COMPLETIONS") {
        "job"
    } else if kind.starts_with("deployment") || has("UP-TO-DATE") && !has("DESIRED") {
        "deployment"
    } else if kind.starts_with("statefulset") {
        "statefulset"
    } else if kind.starts_with("daemonset") || has("NODE SELECTOR") {
        "daemonset"
    } else if kind.starts_with("replicaset") || has("DESIRED") && has("CURRENT") {
        "replicaset"
    } else {
        return Err(format!(
            "not mapped (a table of {})",
            if kind.is_empty() {
                "an unknown kind"
            } else {
                kind
            }
        ));
    };
    for row in rows {
        let name = row.get("NAME").cloned().unwrap_or_default();
        if name.is_empty() && shape != "event" {
            continue;
        }
        let ns = none_if_empty(row.get("NAMESPACE"))
            .or(namespace.map(str::to_owned))
            .unwrap_or_else(|| "default".to_owned());
        match shape {
            "event" => out.events.push(table_event(&row, &ns)),
            "pod" => out.pods.push(table_pod(&row, name, ns)),
            "node" => {
                let status = row.get("STATUS").cloned().unwrap_or_default();
                let mut node = Node {
                    name,
                    labels: none_if_empty(row.get("LABELS"))
                        .map(|l| key_values(&l))
                        .unwrap_or_default(),
                    unschedulable: status.contains("SchedulingDisabled"),
                    ..Node::default()
                };
                let ready = status.split(',').next().unwrap_or("");
                let ready = match ready {
                    "Ready" => Some("True"),
                    "NotReady" => Some("False"),
                    "Unknown" => Some("Unknown"),
                    _ => None,
                };
                if let Some(ready) = ready {
                    node.conditions.push(Condition {
                        kind: "Ready".into(),
                        status: ready.into(),
                        ..Condition::default()
                    });
                }
                out.nodes.push(node);
            }
            "pvc" => out.pvcs.push(Pvc {
                namespace: ns,
                name,
                phase: none_if_empty(row.get("STATUS")),
                storage_class: none_if_empty(row.get("STORAGECLASS")),
                requested: none_if_empty(row.get("CAPACITY")),
            }),
            "service" => out.services.push(Service {
                namespace: ns,
                name,
                selector: none_if_empty(row.get("SELECTOR"))
                    .map(|s| key_values(&s))
                    .unwrap_or_default(),
                ..Service::default()
            }),
            "job" => {
                let completions = row.get("COMPLETIONS").and_then(|c| fraction(c));
                let mut job = Job {
                    namespace: ns,
                    name,
                    succeeded: completions.map(|c| c.0),
                    ..Job::default()
                };
                match row.get("STATUS").map(String::as_str) {
                    Some("Failed") => job.conditions.push(Condition {
                        kind: "Failed".into(),
                        status: "True".into(),
                        ..Condition::default()
                    }),
                    Some("Complete") => job.conditions.push(Condition {
                        kind: "Complete".into(),
                        status: "True".into(),
                        ..Condition::default()
                    }),
                    _ => {}
                }
                out.jobs.push(job);
            }
            _ => {
                let (kind, desired, ready) = match shape {
                    "deployment" | "statefulset" => {
                        let ready = row.get("READY").and_then(|r| fraction(r));
                        (
                            if shape == "deployment" {
                                "Deployment"
                            } else {
                                "StatefulSet"
                            },
                            ready.map(|r| r.1),
                            ready.map(|r| r.0),
                        )
                    }
                    other => (
                        if other == "daemonset" {
                            "DaemonSet"
                        } else {
                            "ReplicaSet"
                        },
                        row.get("DESIRED").and_then(|d| d.parse().ok()),
                        row.get("READY").and_then(|d| d.parse().ok()),
                    ),
                };
                out.workloads.push(Workload {
                    kind: kind.into(),
                    namespace: ns,
                    name,
                    desired,
                    ready,
                    available: row.get("AVAILABLE").and_then(|a| a.parse().ok()),
                    updated: row.get("UP-TO-DATE").and_then(|a| a.parse().ok()),
                    images: none_if_empty(row.get("IMAGES"))
                        .map(|i| i.split(',').map(str::to_owned).collect())
                        .unwrap_or_default(),
                    selector: none_if_empty(row.get("SELECTOR"))
                        .map(|s| key_values(&s))
                        .unwrap_or_default(),
                    ..Workload::default()
                });
            }
        }
    }
    Ok(())
}

fn table_event(row: &BTreeMap<String, String>, namespace: &str) -> Event {
    let object = row
        .get("OBJECT")
        .or(row.get("INVOLVED OBJECT"))
        .cloned()
        .unwrap_or_default();
    let (kind, name) = object
        .split_once('/')
        .map(|(k, n)| (k.to_owned(), n.to_owned()))
        .unwrap_or_else(|| (String::new(), object.clone()));
    let last = row
        .get("LAST SEEN")
        .or(row.get("LASTSEEN"))
        .cloned()
        .unwrap_or_default();
    Event {
        object: ObjectRef::new(
            &kind,
            (!kind.eq_ignore_ascii_case("node")).then_some(namespace),
            &name,
        ),
        kind: none_if_empty(row.get("TYPE")),
        reason: row.get("REASON").cloned().unwrap_or_default(),
        message: row.get("MESSAGE").cloned().unwrap_or_default(),
        count: row
            .get("COUNT")
            .and_then(|c| c.parse().ok())
            .or_else(|| repeat_count(&last)),
        first_seen: none_if_empty(row.get("FIRST SEEN")),
        last_seen: last
            .split(" (")
            .next()
            .map(str::to_owned)
            .filter(|l| !l.is_empty()),
    }
}

/// Container reasons a `get pods` STATUS shows while the container waits to (re)start.
const WAITING: &[&str] = &[
    "ContainerCreating",
    "PodInitializing",
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "ErrImageNeverPull",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
    "PreCreateHookError",
    "PostStartHookError",
    "ContainerStatusUnknown",
];

/// Container reasons it shows once the container ended.
const TERMINATED: &[&str] = &[
    "OOMKilled",
    "Error",
    "Completed",
    "ContainerCannotRun",
    "StartError",
    "DeadlineExceeded",
    "Signal",
];

/// A pod from a `get pods` row: its STATUS is a phase, a pod reason (`Evicted`), or the reason
/// its first unhappy container waits or ended — held by one unnamed container, since the table
/// names none.
fn table_pod(row: &BTreeMap<String, String>, name: String, namespace: String) -> Pod {
    let status = row.get("STATUS").cloned().unwrap_or_default();
    let ready = row.get("READY").and_then(|r| fraction(r));
    let restarts = row
        .get("RESTARTS")
        .and_then(|r| leading_int(r))
        .unwrap_or(0);
    let mut pod = Pod {
        namespace,
        name,
        node: none_if_empty(row.get("NODE")),
        labels: none_if_empty(row.get("LABELS"))
            .map(|l| key_values(&l))
            .unwrap_or_default(),
        ..Pod::default()
    };
    let mut container = Container {
        name: UNNAMED.into(),
        restart_count: restarts,
        ready: ready.map(|(a, b)| a == b && b > 0),
        ..Container::default()
    };
    let (init, reason) = match status.strip_prefix("Init:") {
        Some(rest) => (true, rest.to_owned()),
        None => (false, status.clone()),
    };
    if WAITING.contains(&reason.as_str()) {
        container.state.waiting = Some(Waiting {
            reason: Some(reason.clone()),
            message: None,
        });
        pod.phase = Some(
            if reason == "CrashLoopBackOff" && !init {
                "Running"
            } else {
                "Pending"
            }
            .into(),
        );
    } else if TERMINATED.contains(&reason.as_str())
        || reason.starts_with("Signal:")
        || reason.starts_with("ExitCode:")
    {
        let exit_code = reason
            .strip_prefix("ExitCode:")
            .and_then(|c| c.parse().ok())
            .or((reason == "Completed").then_some(0));
        container.state.terminated = Some(Terminated {
            reason: Some(reason.clone()),
            exit_code,
            ..Terminated::default()
        });
        pod.phase = match reason.as_str() {
            "Completed" => Some("Succeeded".into()),
            _ if ready.is_some_and(|r| r.0 == 0) && restarts == 0 => Some("Failed".into()),
            _ => None,
        };
    } else if init {
        // `Init:0/1`: init containers still running.
        pod.phase = Some("Pending".into());
    } else {
        match status.as_str() {
            "Running" | "Pending" | "Succeeded" | "Failed" | "Unknown" => {
                pod.phase = Some(status.clone());
                if status == "Running" {
                    container.state.running = Some(Running::default());
                }
            }
            "Terminating" | "" => {}
            other => {
                // Evicted, NodeLost, OutOfmemory, UnexpectedAdmissionError…: the pod's reason.
                pod.phase = Some("Failed".into());
                pod.reason = Some(other.to_owned());
            }
        }
    }
    if let Some((a, b)) = ready {
        pod.conditions.push(Condition {
            kind: "Ready".into(),
            status: if a == b && b > 0 { "True" } else { "False" }.into(),
            ..Condition::default()
        });
    }
    if init {
        pod.init_containers.push(container);
    } else {
        pod.containers.push(container);
    }
    pod
}

/// `kubectl get pods … | grep x` has no header: the row is found by its READY fraction.
fn headerless_pods(body: &str, namespace: Option<&str>, out: &mut Snapshot) -> Result<(), String> {
    let mut read = 0;
    for line in body.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some(at) = words.iter().position(|w| fraction(w).is_some()) else {
            continue;
        };
        if at == 0 || at > 2 {
            continue;
        }
        let mut row = BTreeMap::new();
        row.insert("NAME".to_owned(), words[at - 1].to_owned());
        if at == 2 {
            row.insert("NAMESPACE".to_owned(), words[0].to_owned());
        }
        row.insert("READY".to_owned(), words[at].to_owned());
        for (offset, column) in [(1, "STATUS"), (2, "RESTARTS")] {
            if let Some(word) = words.get(at + offset) {
                row.insert(column.to_owned(), (*word).to_owned());
            }
        }
        let ns = none_if_empty(row.get("NAMESPACE"))
            .or(namespace.map(str::to_owned))
            .unwrap_or_else(|| "default".to_owned());
        out.pods.push(table_pod(&row, words[at - 1].to_owned(), ns));
        read += 1;
    }
    if read == 0 {
        return Err("not mapped (rows without a header not recognised)".into());
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// `kubectl describe`

/// One line of a description: its indentation, key and value (`Key:  value`), or just text.
struct Line<'a> {
    indent: usize,
    key: Option<&'a str>,
    value: &'a str,
}

fn split_line(raw: &str) -> Line<'_> {
    let indent = raw.len() - raw.trim_start().len();
    let text = raw.trim();
    // A key is a label before `:` followed by spaces or the end; `http://x` is no key.
    let key_end = text.find(':').filter(|&i| {
        let after = &text[i + 1..];
        (after.is_empty() || after.starts_with(' ') || after.starts_with('\t'))
            && !text[..i].is_empty()
            && !text[..i].contains("  ")
    });
    match key_end {
        Some(i) => Line {
            indent,
            key: Some(&text[..i]),
            value: text[i + 1..].trim(),
        },
        None => Line {
            indent,
            key: None,
            value: text,
        },
    }
}

fn value_of(value: &str) -> Option<String> {
    let v = value.trim();
    (!v.is_empty() && v != "<none>" && v != "<unset>" && v != "<nil>").then(|| v.to_owned())
}

/// Splits concatenated descriptions (`kubectl describe pods -l …`) at each top-level `Name:`.
fn describe(body: &str, namespace: Option<&str>, out: &mut Snapshot) -> Result<(), String> {
    let mut blocks: Vec<Vec<&str>> = Vec::new();
    for line in body.lines() {
        if line.starts_with("Name:") || blocks.is_empty() {
            blocks.push(Vec::new());
        }
        if let Some(block) = blocks.last_mut() {
            block.push(line);
        }
    }
    let mut unmapped = Vec::new();
    for block in blocks {
        if let Err(why) = describe_one(&block, namespace, out) {
            unmapped.push(why);
        }
    }
    if unmapped.is_empty() {
        Ok(())
    } else {
        Err(unmapped.join("; "))
    }
}

/// A description's top-level fields, with continuation lines and sections kept in order.
struct Described<'a> {
    fields: BTreeMap<String, String>,
    /// Multi-line values (`Labels:`, `Taints:`) in full, one entry per line.
    lists: BTreeMap<String, Vec<String>>,
    /// Section name → its indented lines.
    sections: BTreeMap<String, Vec<&'a str>>,
}

fn sectioned<'a>(lines: &[&'a str]) -> Described<'a> {
    let mut fields = BTreeMap::new();
    let mut lists: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut sections: BTreeMap<String, Vec<&'a str>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for raw in lines {
        if raw.trim().is_empty() {
            continue;
        }
        let line = split_line(raw);
        if line.indent == 0
            && let Some(key) = line.key
        {
            current = Some(key.to_owned());
            if !line.value.is_empty() {
                fields
                    .entry(key.to_owned())
                    .or_insert_with(|| line.value.to_owned());
                lists
                    .entry(key.to_owned())
                    .or_default()
                    .push(line.value.to_owned());
            }
            sections.entry(key.to_owned()).or_default();
            continue;
        }
        if let Some(key) = &current {
            sections.entry(key.clone()).or_default().push(raw);
            // A continuation of a one-line value: `Labels:  a=b` then `        c=d`.
            if lists.contains_key(key) {
                lists
                    .entry(key.clone())
                    .or_default()
                    .push(raw.trim().to_owned());
            }
        }
    }
    Described {
        fields,
        lists,
        sections,
    }
}

impl Described<'_> {
    fn field(&self, key: &str) -> Option<String> {
        self.fields.get(key).and_then(|v| value_of(v))
    }

    fn map(&self, key: &str) -> BTreeMap<String, String> {
        self.lists
            .get(key)
            .into_iter()
            .flatten()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect()
    }

    fn section(&self, key: &str) -> &[&str] {
        self.sections.get(key).map(Vec::as_slice).unwrap_or(&[])
    }

    fn has(&self, key: &str) -> bool {
        self.fields.contains_key(key) || self.sections.contains_key(key)
    }
}

fn describe_one(lines: &[&str], namespace: Option<&str>, out: &mut Snapshot) -> Result<(), String> {
    let d = sectioned(lines);
    let Some(name) = d.field("Name") else {
        return Err("not mapped (a description without a name)".into());
    };
    let ns = d.field("Namespace").or(namespace.map(str::to_owned));
    let replicas = d.field("Replicas").unwrap_or_default();
    if d.has("Pods Statuses") || d.has("Completion Mode") || d.has("Backoff Limit") {
        describe_job(&d, name, ns.unwrap_or_else(|| "default".into()), out);
    } else if replicas.contains("desired") || d.has("Desired Number of Nodes Scheduled") {
        describe_workload(&d, name, ns.unwrap_or_else(|| "default".into()), out);
    } else if d.has("StorageClass") && (d.has("Access Modes") || d.has("VolumeMode")) {
        let ns = ns.unwrap_or_else(|| "default".into());
        out.pvcs.push(Pvc {
            namespace: ns.clone(),
            name: name.clone(),
            phase: d.field("Status"),
            storage_class: d.field("StorageClass"),
            requested: d.field("Capacity"),
        });
        events_section(
            &d,
            &ObjectRef::new("PersistentVolumeClaim", Some(&ns), &name),
            out,
        );
    } else if d.has("Taints")
        || d.has("Unschedulable")
        || d.has("Kubelet Version")
        || d.has("Roles")
    {
        describe_node(&d, name, out);
    } else if d.has("Containers") || d.has("Init Containers") || d.has("QoS Class") {
        describe_pod(&d, name, ns.unwrap_or_else(|| "default".into()), out);
    } else if d.has("Endpoints") || d.has("TargetPort") && d.has("Selector") {
        let ns = ns.unwrap_or_else(|| "default".into());
        let endpoints = d.field("Endpoints").map(|e| {
            e.split(',')
                .filter(|a| !a.trim().is_empty() && !a.contains("more"))
                .count() as i64
        });
        out.services.push(Service {
            namespace: ns.clone(),
            name: name.clone(),
            selector: d
                .field("Selector")
                .map(|s| key_values(&s))
                .unwrap_or_default(),
            ready_endpoints: Some(endpoints.unwrap_or(0)),
            not_ready_endpoints: None,
        });
        events_section(&d, &ObjectRef::new("Service", Some(&ns), &name), out);
    } else {
        return Err(format!(
            "not mapped (a description of {name} of an unrecognised kind)"
        ));
    }
    Ok(())
}

fn owner_of(d: &Described<'_>, namespace: &str) -> Option<ObjectRef> {
    d.field("Controlled By").and_then(|c| {
        c.split_once('/')
            .map(|(kind, name)| ObjectRef::new(kind, Some(namespace), name))
    })
}

/// A section's table (`Conditions:`, `Events:`): its header gives the column offsets.
fn section_table(lines: &[&str]) -> Vec<BTreeMap<String, String>> {
    let mut iter = lines.iter().filter(|l| !l.trim().is_empty());
    let Some(header) = iter.next() else {
        return Vec::new();
    };
    let columns = header_columns(header);
    if columns.len() < 2 {
        return Vec::new();
    }
    iter.filter(|l| !l.trim().chars().all(|c| c == '-' || c == ' '))
        .map(|l| cells(&columns, l))
        .collect()
}

fn conditions(lines: &[&str]) -> Vec<Condition> {
    section_table(lines)
        .into_iter()
        .filter_map(|row| {
            let kind = row.get("Type")?.clone();
            let status = row.get("Status")?.clone();
            (!kind.is_empty() && !status.is_empty()).then(|| Condition {
                kind,
                status,
                reason: none_if_empty(row.get("Reason")),
                message: none_if_empty(row.get("Message")),
                last_heartbeat: none_if_empty(row.get("LastHeartbeatTime")),
                last_transition: none_if_empty(row.get("LastTransitionTime")),
            })
        })
        .collect()
}

fn events_section(d: &Described<'_>, object: &ObjectRef, out: &mut Snapshot) {
    for row in section_table(d.section("Events")) {
        let reason = row.get("Reason").cloned().unwrap_or_default();
        if reason.is_empty() {
            continue;
        }
        let age = row.get("Age").cloned().unwrap_or_default();
        let event = Event {
            object: object.clone(),
            kind: none_if_empty(row.get("Type")),
            reason,
            message: row.get("Message").cloned().unwrap_or_default(),
            count: repeat_count(&age),
            first_seen: None,
            last_seen: age
                .split(" (")
                .next()
                .map(str::to_owned)
                .filter(|a| !a.is_empty()),
        };
        if !out.events.contains(&event) {
            out.events.push(event);
        }
    }
}

fn describe_pod(d: &Described<'_>, name: String, namespace: String, out: &mut Snapshot) {
    let mut pod = Pod {
        namespace: namespace.clone(),
        name: name.clone(),
        // `Status:  Terminating (lasts 2m)` → Terminating; the phase word comes first.
        phase: d
            .field("Status")
            .and_then(|s| s.split_whitespace().next().map(str::to_owned)),
        reason: d.field("Reason"),
        message: d.field("Message"),
        node: d
            .field("Node")
            .map(|n| n.split('/').next().unwrap_or("").to_owned())
            .filter(|n| !n.is_empty()),
        owner: owner_of(d, &namespace),
        labels: d.map("Labels"),
        start_time: d.field("Start Time"),
        conditions: conditions(d.section("Conditions")),
        containers: containers(d.section("Containers")),
        init_containers: containers(d.section("Init Containers")),
        node_selector: d.map("Node-Selectors"),
        tolerations: d
            .lists
            .get("Tolerations")
            .into_iter()
            .flatten()
            .filter(|t| value_of(t).is_some())
            .cloned()
            .collect(),
        ..Pod::default()
    };
    volumes(d.section("Volumes"), &namespace, &mut pod);
    for section in ["Containers", "Init Containers"] {
        env_refs(d.section(section), &namespace, &mut pod.config_refs);
    }
    events_section(d, &pod.object(), out);
    out.pods.push(pod);
}

fn containers(lines: &[&str]) -> Vec<Container> {
    let mut out: Vec<Container> = Vec::new();
    let Some(base) = lines.iter().map(|l| split_line(l).indent).min() else {
        return out;
    };
    // Which multi-line field the deeper lines belong to.
    let mut field = String::new();
    for raw in lines {
        let line = split_line(raw);
        if line.indent == base {
            if let Some(name) = line.key.filter(|_| line.value.is_empty()) {
                out.push(Container {
                    name: name.to_owned(),
                    ..Container::default()
                });
                field.clear();
            }
            continue;
        }
        let Some(container) = out.last_mut() else {
            continue;
        };
        if line.indent <= base + 2 {
            let Some(key) = line.key else {
                continue;
            };
            field = key.to_owned();
            let value = line.value;
            match key {
                "Image" => container.image = value_of(value),
                "Ready" => container.ready = value.to_ascii_lowercase().parse().ok(),
                "Restart Count" => container.restart_count = value.parse().unwrap_or(0),
                "State" => match value {
                    "Waiting" => container.state.waiting = Some(Waiting::default()),
                    "Running" => container.state.running = Some(Running::default()),
                    "Terminated" => container.state.terminated = Some(Terminated::default()),
                    _ => {}
                },
                "Last State" if value == "Terminated" => {
                    container.last_state = Some(Terminated::default());
                }
                "Liveness" => container.liveness_probe = value_of(value),
                "Readiness" => container.readiness_probe = value_of(value),
                _ => {}
            }
            continue;
        }
        // Deeper lines: the parts of a state, or a resource list.
        let Some(key) = line.key else {
            continue;
        };
        let value = line.value.to_owned();
        match field.as_str() {
            "State" => state_detail(&mut container.state, key, value),
            "Last State" => {
                if let Some(last) = container.last_state.as_mut() {
                    terminated_detail(last, key, value);
                }
            }
            "Limits" => {
                container.limits.insert(key.to_owned(), value);
            }
            "Requests" => {
                container.requests.insert(key.to_owned(), value);
            }
            _ => {}
        }
    }
    out
}

fn state_detail(state: &mut ContainerState, key: &str, value: String) {
    if let Some(waiting) = state.waiting.as_mut() {
        match key {
            "Reason" => waiting.reason = value_of(&value),
            "Message" => waiting.message = value_of(&value),
            _ => {}
        }
    } else if let Some(running) = state.running.as_mut() {
        if key == "Started" {
            running.started_at = value_of(&value);
        }
    } else if let Some(terminated) = state.terminated.as_mut() {
        terminated_detail(terminated, key, value);
    }
}

fn terminated_detail(terminated: &mut Terminated, key: &str, value: String) {
    match key {
        "Reason" => terminated.reason = value_of(&value),
        "Message" => terminated.message = value_of(&value),
        "Exit Code" => terminated.exit_code = value.trim().parse().ok(),
        "Signal" => terminated.signal = value.trim().parse().ok(),
        "Finished" => terminated.finished_at = value_of(&value),
        _ => {}
    }
}

/// Claims, ConfigMaps and Secrets from `Volumes:` (not the projected service-account token).
fn volumes(lines: &[&str], namespace: &str, pod: &mut Pod) {
    let mut kind = String::new();
    for raw in lines {
        let line = split_line(raw);
        let Some(key) = line.key else {
            continue;
        };
        match key {
            "Type" => {
                kind = line
                    .value
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .to_owned()
            }
            "ClaimName" => {
                if let Some(claim) = value_of(line.value) {
                    pod.claims.push(claim);
                }
            }
            "Name" if kind == "ConfigMap" => {
                if let Some(cm) = value_of(line.value) {
                    pod.config_refs
                        .push(ObjectRef::new("ConfigMap", Some(namespace), &cm));
                }
            }
            "SecretName" if kind == "Secret" => {
                if let Some(secret) = value_of(line.value) {
                    pod.config_refs
                        .push(ObjectRef::new("Secret", Some(namespace), &secret));
                }
            }
            _ => {}
        }
    }
}

/// ConfigMaps and Secrets a container's environment reads: `<set to the key 'k' of config map
/// 'x'>`, `<set to the key 'k' in secret 'y'>`, and `Environment Variables from:` lines.
fn env_refs(lines: &[&str], namespace: &str, refs: &mut Vec<ObjectRef>) {
    let mut push = |kind: &str, name: &str| {
        let object = ObjectRef::new(kind, Some(namespace), name);
        if !name.is_empty() && !refs.contains(&object) {
            refs.push(object);
        }
    };
    let mut in_from = false;
    for raw in lines {
        let text = raw.trim();
        for (needle, kind) in [("config map '", "ConfigMap"), ("secret '", "Secret")] {
            if let Some(at) = text.find(needle) {
                let rest = &text[at + needle.len()..];
                push(kind, rest.split('\'').next().unwrap_or(""));
            }
        }
        if text.starts_with("Environment Variables from:") {
            in_from = true;
            continue;
        }
        if in_from {
            let words: Vec<&str> = text.split_whitespace().collect();
            match words.as_slice() {
                [name, "ConfigMap", ..] => push("ConfigMap", name),
                [name, "Secret", ..] => push("Secret", name),
                _ => in_from = false,
            }
        }
    }
}

fn describe_job(d: &Described<'_>, name: String, namespace: String, out: &mut Snapshot) {
    // `0 Active (0 Ready) / 0 Succeeded / 2 Failed`
    let statuses = d.field("Pods Statuses").unwrap_or_default();
    let count = |word: &str| {
        statuses.split('/').find_map(|part| {
            let part = part.trim();
            part.contains(word).then(|| leading_int(part)).flatten()
        })
    };
    let mut job = Job {
        namespace: namespace.clone(),
        name: name.clone(),
        owner: owner_of(d, &namespace),
        active: count("Active"),
        succeeded: count("Succeeded"),
        failed: count("Failed"),
        backoff_limit: d.field("Backoff Limit").and_then(|b| b.parse().ok()),
        conditions: conditions(d.section("Conditions")),
    };
    events_section(d, &job.object(), out);
    // Older kubectl prints no Conditions for a Job; the controller's event says it failed.
    if job.conditions.is_empty()
        && let Some(event) = out.events_of(&job.object()).find(|e| {
            e.is_warning()
                && matches!(
                    e.reason.as_str(),
                    "BackoffLimitExceeded" | "DeadlineExceeded"
                )
        })
    {
        job.conditions.push(Condition {
            kind: "Failed".into(),
            status: "True".into(),
            reason: Some(event.reason.clone()),
            message: Some(event.message.clone()),
            ..Condition::default()
        });
    }
    out.jobs.push(job);
}

fn describe_workload(d: &Described<'_>, name: String, namespace: String, out: &mut Snapshot) {
    let replicas = d.field("Replicas").unwrap_or_default();
    // `1 desired | 1 updated | 1 total | 0 available | 1 unavailable` (Deployment),
    // `3 desired | 3 total` (StatefulSet), `1 current / 1 desired` (ReplicaSet).
    let count = |word: &str| {
        replicas.split(['|', '/']).find_map(|part| {
            let words: Vec<&str> = part.split_whitespace().collect();
            match words.as_slice() {
                [n, w] if *w == word => n.parse().ok(),
                _ => None,
            }
        })
    };
    // `Pods Status:  2 Running / 1 Waiting / 0 Succeeded / 0 Failed`
    let running = d.field("Pods Status").and_then(|s| {
        s.split('/')
            .find(|p| p.contains("Running"))
            .and_then(leading_int)
    });
    let (kind, desired, ready, available, updated) = if d.has("Desired Number of Nodes Scheduled") {
        let field = |key: &str| d.field(key).and_then(|v| v.parse().ok());
        (
            "DaemonSet",
            field("Desired Number of Nodes Scheduled"),
            running,
            field("Number of Nodes Scheduled with Available Pods"),
            field("Number of Nodes Scheduled with Up-to-date Pods"),
        )
    } else if replicas.contains("current") {
        ("ReplicaSet", count("desired"), running, None, None)
    } else if d.has("StrategyType") || replicas.contains("available") {
        (
            "Deployment",
            count("desired"),
            None,
            count("available"),
            count("updated"),
        )
    } else {
        ("StatefulSet", count("desired"), running, None, None)
    };
    let revision = d.lists.get("Annotations").and_then(|lines| {
        lines.iter().find_map(|l| {
            l.strip_prefix("deployment.kubernetes.io/revision:")
                .and_then(|r| r.trim().parse().ok())
        })
    });
    let images = d
        .section("Pod Template")
        .iter()
        .filter_map(|l| {
            let line = split_line(l);
            (line.key == Some("Image")).then(|| line.value.to_owned())
        })
        .collect();
    // `Requests:` under each container of the template, its resources indented below it.
    let mut requests = BTreeMap::new();
    let mut under: Option<usize> = None;
    for l in d.section("Pod Template") {
        let indent = l.len() - l.trim_start().len();
        let line = split_line(l);
        match under {
            Some(depth) if indent > depth => {
                if let Some(resource) = line.key {
                    add_request(&mut requests, resource, line.value);
                }
                continue;
            }
            _ => under = None,
        }
        if line.key == Some("Requests") {
            under = Some(indent);
        }
    }
    let workload = Workload {
        kind: kind.into(),
        namespace: namespace.clone(),
        name: name.clone(),
        owner: owner_of(d, &namespace),
        desired,
        ready,
        available,
        updated,
        revision,
        conditions: conditions(d.section("Conditions")),
        images,
        selector: d
            .field("Selector")
            .map(|s| key_values(&s))
            .unwrap_or_default(),
        requests,
    };
    events_section(d, &workload.object(), out);
    // `NewReplicaSet:  web-5d98ffcfd (1/1 replicas created)`: the ReplicaSets it owns, so its
    // pods (owned by them) are found as the Deployment's.
    if kind == "Deployment" {
        for key in ["NewReplicaSet", "OldReplicaSets"] {
            let Some(value) = d.field(key) else {
                continue;
            };
            for part in value.split(", ") {
                let Some(rs) = part.split_whitespace().next() else {
                    continue;
                };
                let desired = part
                    .split_once('(')
                    .and_then(|(_, rest)| fraction(rest.split_whitespace().next().unwrap_or("")))
                    .map(|f| f.1);
                out.workloads.push(Workload {
                    kind: "ReplicaSet".into(),
                    namespace: namespace.clone(),
                    name: rs.to_owned(),
                    owner: Some(workload.object()),
                    desired,
                    ..Workload::default()
                });
            }
        }
    }
    out.workloads.push(workload);
}

fn describe_node(d: &Described<'_>, name: String, out: &mut Snapshot) {
    let resources = |key: &str| -> BTreeMap<String, String> {
        d.section(key)
            .iter()
            .filter_map(|l| {
                let line = split_line(l);
                Some((line.key?.to_owned(), line.value.to_owned()))
            })
            .collect()
    };
    let node = Node {
        name,
        conditions: conditions(d.section("Conditions")),
        unschedulable: d.field("Unschedulable").as_deref() == Some("true"),
        taints: d
            .lists
            .get("Taints")
            .into_iter()
            .flatten()
            .filter_map(|t| value_of(t))
            .collect(),
        labels: d.map("Labels"),
        allocatable: resources("Allocatable"),
        capacity: resources("Capacity"),
        // `Non-terminated Pods:          (17 in total)`
        pods: d.field("Non-terminated Pods").and_then(|text| {
            text.trim_start_matches('(')
                .split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
        }),
    };
    events_section(d, &node.object(), out);
    out.nodes.push(node);
}

// ---------------------------------------------------------------------------------------------
// `-o yaml` / `-o json`

/// Objects as `kubectl get -o yaml|json` prints them (one, several, or a `List`), added to
/// `out`; what cannot be mapped is an error naming it.
pub(super) fn manifest(body: &str, out: &mut Snapshot) -> Result<(), String> {
    let mut documents: Vec<Value> = Vec::new();
    if body.trim_start().starts_with('{') {
        let value: Value =
            serde_json::from_str(body).map_err(|e| format!("not JSON as it seemed: {e}"))?;
        documents.push(value);
    } else {
        for text in body.split("\n---") {
            let text = text.trim_start_matches("---");
            if text.trim().is_empty() {
                continue;
            }
            let value: Value =
                yaml_serde::from_str(text).map_err(|e| format!("not YAML as it seemed: {e}"))?;
            documents.push(value);
        }
    }
    let mut unmapped = Vec::new();
    while let Some(doc) = documents.pop() {
        if let Some(items) = doc.get("items").and_then(Value::as_array) {
            documents.extend(items.iter().cloned());
            continue;
        }
        let kind = doc["kind"].as_str().unwrap_or("");
        match kind {
            "Pod" => out.pods.push(manifest_pod(&doc)),
            "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" => {
                out.workloads.push(manifest_workload(&doc, kind));
            }
            "Job" => out.jobs.push(Job {
                namespace: namespace_of(&doc),
                name: name_of(&doc),
                owner: controller_of(&doc),
                active: doc["status"]["active"].as_i64(),
                succeeded: doc["status"]["succeeded"].as_i64(),
                failed: doc["status"]["failed"].as_i64(),
                backoff_limit: doc["spec"]["backoffLimit"].as_i64(),
                conditions: manifest_conditions(&doc["status"]["conditions"]),
            }),
            "Node" => out.nodes.push(Node {
                name: name_of(&doc),
                conditions: manifest_conditions(&doc["status"]["conditions"]),
                unschedulable: doc["spec"]["unschedulable"].as_bool().unwrap_or(false),
                taints: doc["spec"]["taints"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|t| {
                        let key = t["key"].as_str().unwrap_or("");
                        let effect = t["effect"].as_str().unwrap_or("");
                        match t["value"].as_str() {
                            Some(v) => format!("{key}={v}:{effect}"),
                            None => format!("{key}:{effect}"),
                        }
                    })
                    .collect(),
                labels: string_map(&doc["metadata"]["labels"]),
                allocatable: string_map(&doc["status"]["allocatable"]),
                capacity: string_map(&doc["status"]["capacity"]),
                pods: None,
            }),
            "PersistentVolumeClaim" => out.pvcs.push(Pvc {
                namespace: namespace_of(&doc),
                name: name_of(&doc),
                phase: text(&doc["status"]["phase"]),
                storage_class: text(&doc["spec"]["storageClassName"]),
                requested: text(&doc["spec"]["resources"]["requests"]["storage"]),
            }),
            "Service" => out.services.push(Service {
                namespace: namespace_of(&doc),
                name: name_of(&doc),
                selector: string_map(&doc["spec"]["selector"]),
                ..Service::default()
            }),
            "HorizontalPodAutoscaler" => out.hpas.push(Hpa {
                namespace: namespace_of(&doc),
                name: name_of(&doc),
                target: doc["spec"]["scaleTargetRef"]["name"].as_str().map(|n| {
                    ObjectRef::new(
                        doc["spec"]["scaleTargetRef"]["kind"].as_str().unwrap_or(""),
                        Some(&namespace_of(&doc)),
                        n,
                    )
                }),
                min_replicas: doc["spec"]["minReplicas"].as_i64(),
                max_replicas: doc["spec"]["maxReplicas"].as_i64(),
                current_replicas: doc["status"]["currentReplicas"].as_i64(),
                desired_replicas: doc["status"]["desiredReplicas"].as_i64(),
                conditions: manifest_conditions(&doc["status"]["conditions"]),
            }),
            "ResourceQuota" => out.quotas.push(Quota {
                namespace: namespace_of(&doc),
                name: name_of(&doc),
                hard: string_map(&doc["status"]["hard"]),
                used: string_map(&doc["status"]["used"]),
            }),
            "Event" => {
                let involved = &doc["involvedObject"];
                out.events.push(Event {
                    object: ObjectRef {
                        kind: involved["kind"].as_str().unwrap_or("").to_owned(),
                        namespace: text(&involved["namespace"]),
                        name: involved["name"].as_str().unwrap_or("").to_owned(),
                    },
                    kind: text(&doc["type"]),
                    reason: doc["reason"].as_str().unwrap_or("").to_owned(),
                    message: doc["message"].as_str().unwrap_or("").to_owned(),
                    count: doc["count"].as_i64(),
                    first_seen: text(&doc["firstTimestamp"]),
                    last_seen: text(&doc["lastTimestamp"]),
                });
            }
            other => unmapped.push(if other.is_empty() {
                "an object without a kind".to_owned()
            } else {
                format!("a {other}")
            }),
        }
    }
    if unmapped.is_empty() {
        Ok(())
    } else {
        Err(format!("not mapped ({})", unmapped.join(", ")))
    }
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn string_map(value: &Value) -> BTreeMap<String, String> {
    value
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| text(v).map(|v| (k.clone(), v)))
        .collect()
}

fn name_of(doc: &Value) -> String {
    doc["metadata"]["name"].as_str().unwrap_or("").to_owned()
}

fn namespace_of(doc: &Value) -> String {
    doc["metadata"]["namespace"]
        .as_str()
        .unwrap_or("default")
        .to_owned()
}

fn controller_of(doc: &Value) -> Option<ObjectRef> {
    let owners = doc["metadata"]["ownerReferences"].as_array()?;
    let owner = owners
        .iter()
        .find(|o| o["controller"].as_bool() == Some(true))
        .or(owners.first())?;
    Some(ObjectRef::new(
        owner["kind"].as_str().unwrap_or(""),
        Some(&namespace_of(doc)),
        owner["name"].as_str().unwrap_or(""),
    ))
}

fn manifest_conditions(value: &Value) -> Vec<Condition> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| Condition {
            kind: c["type"].as_str().unwrap_or("").to_owned(),
            status: c["status"].as_str().unwrap_or("").to_owned(),
            reason: text(&c["reason"]),
            message: text(&c["message"]),
            last_heartbeat: text(&c["lastHeartbeatTime"]),
            last_transition: text(&c["lastTransitionTime"]),
        })
        .collect()
}

fn probe_text(probe: &Value) -> Option<String> {
    if probe.is_null() {
        return None;
    }
    Some(probe.to_string())
}

fn manifest_containers(specs: &Value, statuses: &Value) -> Vec<Container> {
    specs
        .as_array()
        .into_iter()
        .flatten()
        .map(|spec| {
            let name = spec["name"].as_str().unwrap_or("").to_owned();
            let status = statuses
                .as_array()
                .into_iter()
                .flatten()
                .find(|s| s["name"].as_str() == Some(name.as_str()))
                .cloned()
                .unwrap_or(Value::Null);
            let terminated = |t: &Value| {
                (!t.is_null()).then(|| Terminated {
                    reason: text(&t["reason"]),
                    exit_code: t["exitCode"].as_i64(),
                    signal: t["signal"].as_i64(),
                    message: text(&t["message"]),
                    finished_at: text(&t["finishedAt"]),
                })
            };
            let state = &status["state"];
            Container {
                image: text(&spec["image"]),
                ready: status["ready"].as_bool(),
                restart_count: status["restartCount"].as_i64().unwrap_or(0),
                state: ContainerState {
                    waiting: (!state["waiting"].is_null()).then(|| Waiting {
                        reason: text(&state["waiting"]["reason"]),
                        message: text(&state["waiting"]["message"]),
                    }),
                    running: (!state["running"].is_null()).then(|| Running {
                        started_at: text(&state["running"]["startedAt"]),
                    }),
                    terminated: terminated(&state["terminated"]),
                },
                last_state: terminated(&status["lastState"]["terminated"]),
                limits: string_map(&spec["resources"]["limits"]),
                requests: string_map(&spec["resources"]["requests"]),
                liveness_probe: probe_text(&spec["livenessProbe"]),
                readiness_probe: probe_text(&spec["readinessProbe"]),
                name,
            }
        })
        .collect()
}

fn manifest_pod(doc: &Value) -> Pod {
    let namespace = namespace_of(doc);
    let spec = &doc["spec"];
    let status = &doc["status"];
    let mut config_refs = Vec::new();
    let mut push = |kind: &str, name: Option<&str>| {
        if let Some(name) = name {
            let object = ObjectRef::new(kind, Some(&namespace), name);
            if !config_refs.contains(&object) {
                config_refs.push(object);
            }
        }
    };
    let mut claims = Vec::new();
    for volume in spec["volumes"].as_array().into_iter().flatten() {
        push("ConfigMap", volume["configMap"]["name"].as_str());
        push("Secret", volume["secret"]["secretName"].as_str());
        if let Some(claim) = volume["persistentVolumeClaim"]["claimName"].as_str() {
            claims.push(claim.to_owned());
        }
    }
    for container in ["containers", "initContainers"]
        .iter()
        .flat_map(|k| spec[*k].as_array().into_iter().flatten())
    {
        for from in container["envFrom"].as_array().into_iter().flatten() {
            push("ConfigMap", from["configMapRef"]["name"].as_str());
            push("Secret", from["secretRef"]["name"].as_str());
        }
        for env in container["env"].as_array().into_iter().flatten() {
            push(
                "ConfigMap",
                env["valueFrom"]["configMapKeyRef"]["name"].as_str(),
            );
            push("Secret", env["valueFrom"]["secretKeyRef"]["name"].as_str());
        }
    }
    Pod {
        namespace: namespace.clone(),
        name: name_of(doc),
        phase: text(&status["phase"]),
        reason: text(&status["reason"]),
        message: text(&status["message"]),
        node: text(&spec["nodeName"]),
        owner: controller_of(doc),
        labels: string_map(&doc["metadata"]["labels"]),
        start_time: text(&status["startTime"]),
        conditions: manifest_conditions(&status["conditions"]),
        containers: manifest_containers(&spec["containers"], &status["containerStatuses"]),
        init_containers: manifest_containers(
            &spec["initContainers"],
            &status["initContainerStatuses"],
        ),
        claims,
        config_refs,
        node_selector: string_map(&spec["nodeSelector"]),
        tolerations: spec["tolerations"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| {
                format!(
                    "{}{}{}",
                    t["key"].as_str().unwrap_or(""),
                    t["value"]
                        .as_str()
                        .map(|v| format!("={v}"))
                        .unwrap_or_default(),
                    t["effect"]
                        .as_str()
                        .map(|e| format!(":{e}"))
                        .unwrap_or_default()
                )
            })
            .collect(),
    }
}

fn manifest_workload(doc: &Value, kind: &str) -> Workload {
    let status = &doc["status"];
    let spec = &doc["spec"];
    let daemon = kind == "DaemonSet";
    Workload {
        kind: kind.to_owned(),
        namespace: namespace_of(doc),
        name: name_of(doc),
        owner: controller_of(doc),
        desired: if daemon {
            status["desiredNumberScheduled"].as_i64()
        } else {
            // An omitted `replicas` means one.
            Some(spec["replicas"].as_i64().unwrap_or(1))
        },
        ready: if daemon {
            status["numberReady"].as_i64()
        } else {
            Some(status["readyReplicas"].as_i64().unwrap_or(0))
        },
        available: if daemon {
            status["numberAvailable"].as_i64()
        } else {
            Some(status["availableReplicas"].as_i64().unwrap_or(0))
        },
        updated: if daemon {
            status["updatedNumberScheduled"].as_i64()
        } else {
            status["updatedReplicas"].as_i64()
        },
        revision: doc["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
            .as_str()
            .and_then(|r| r.parse().ok()),
        conditions: manifest_conditions(&status["conditions"]),
        images: spec["template"]["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| text(&c["image"]))
            .collect(),
        selector: string_map(&spec["selector"]["matchLabels"]),
        requests: {
            let mut requests = BTreeMap::new();
            for container in spec["template"]["spec"]["containers"]
                .as_array()
                .into_iter()
                .flatten()
            {
                for (resource, value) in string_map(&container["resources"]["requests"]) {
                    add_request(&mut requests, &resource, &value);
                }
            }
            requests
        },
    }
}

#[cfg(test)]
mod tests;

//! Did the action work? Verifications from objects read after it: rollout state and the workload's
//! pods, the deleted pod and its replacement, the node's schedulability, what a drain left.

use crate::facts::{
    self, FAILING_REASONS, container_statuses, init_container_statuses, pod_running_ready,
    waiting_reason,
};
use crate::owner::WorkloadKind;
use crate::plan::{RESTARTED_AT, drain_plan, template_containers, template_of};
use crate::quantity::parse_memory;
use crate::to_chrono;
use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::{Node, Pod};
use nightwatch_core::action::Action;
use serde::Serialize;
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VerifyStatus {
    /// The action did what it was for.
    Confirmed,
    /// Not yet: ask again later (until the caller's deadline).
    NotYet,
    /// It will not: the new state fails the same way.
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verification {
    pub status: VerifyStatus,
    pub summary: String,
    /// What was read to decide.
    pub observed: Value,
}

impl Verification {
    fn new(status: VerifyStatus, summary: impl Into<String>, observed: Value) -> Self {
        Verification {
            status,
            summary: summary.into(),
            observed,
        }
    }
}

/// A workload's rollout progress, from its status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rollout {
    pub complete: bool,
    pub generation: i64,
    pub observed_generation: i64,
    pub desired: i64,
    pub updated: i64,
    pub ready: i64,
    pub available: i64,
    /// Pods of any template the controller still counts.
    pub total: i64,
}

fn int(value: &Value) -> Option<i64> {
    value.as_i64()
}

/// observedGeneration ≥ generation and updated = ready = available = desired (and no pod of an
/// old template left), per kind. A StatefulSet of 1.20 has no availableReplicas: ready counts.
pub fn rollout(kind: WorkloadKind, object: &Value) -> Rollout {
    let status = &object["status"];
    let generation = int(&object["metadata"]["generation"]).unwrap_or(0);
    let observed_generation = int(&status["observedGeneration"]).unwrap_or(0);
    let (desired, updated, ready, available, total) = match kind {
        WorkloadKind::Deployment | WorkloadKind::StatefulSet => {
            let desired = int(&object["spec"]["replicas"]).unwrap_or(1);
            let ready = int(&status["readyReplicas"]).unwrap_or(0);
            let available = match kind {
                WorkloadKind::StatefulSet => int(&status["availableReplicas"]).unwrap_or(ready),
                _ => int(&status["availableReplicas"]).unwrap_or(0),
            };
            (
                desired,
                int(&status["updatedReplicas"]).unwrap_or(0),
                ready,
                available,
                int(&status["replicas"]).unwrap_or(0),
            )
        }
        WorkloadKind::DaemonSet => {
            let desired = int(&status["desiredNumberScheduled"]).unwrap_or(0);
            (
                desired,
                int(&status["updatedNumberScheduled"]).unwrap_or(0),
                int(&status["numberReady"]).unwrap_or(0),
                int(&status["numberAvailable"]).unwrap_or(0),
                int(&status["currentNumberScheduled"]).unwrap_or(0),
            )
        }
        WorkloadKind::CronJob => (0, 0, 0, 0, 0),
    };
    let revisions_match = match kind {
        WorkloadKind::StatefulSet => status["currentRevision"] == status["updateRevision"],
        _ => true,
    };
    let complete = observed_generation >= generation
        && updated == desired
        && ready == desired
        && available == desired
        && total == desired
        && revisions_match;
    Rollout {
        complete,
        generation,
        observed_generation,
        desired,
        updated,
        ready,
        available,
        total,
    }
}

fn pod_container(pod: &Pod, name: &str) -> Option<Value> {
    let c = facts::container_spec(pod, name)?;
    serde_json::to_value(c).ok()
}

/// Whether a pod was made from `template` in the fields actions change: every container's image
/// and memory limit, and the restartedAt annotation.
pub fn pod_matches_template(pod: &Pod, template: &Value) -> bool {
    let annotation = |annotations: Option<&str>| annotations.map(str::to_owned);
    let pod_restarted = pod
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(RESTARTED_AT))
        .map(String::as_str);
    if annotation(pod_restarted)
        != annotation(template["metadata"]["annotations"][RESTARTED_AT].as_str())
    {
        return false;
    }
    let bytes = |v: &Value| v.as_str().and_then(|q| parse_memory(q).ok());
    template_containers(template).iter().all(|want| {
        let Some(got) = pod_container(pod, &want.name) else {
            return false;
        };
        got["image"].as_str() == want.image.as_deref()
            && bytes(&got["resources"]["limits"]["memory"])
                == want
                    .memory_limit
                    .as_deref()
                    .and_then(|q| parse_memory(q).ok())
    })
}

/// The failing waiting reasons of a pod's containers (`app: ImagePullBackOff`).
fn failing_reasons(pod: &Pod) -> Vec<String> {
    container_statuses(pod)
        .iter()
        .chain(init_container_statuses(pod))
        .filter_map(|s| {
            waiting_reason(s)
                .filter(|r| FAILING_REASONS.contains(r))
                .map(|r| format!("{}: {r}", s.name))
        })
        .collect()
}

/// Containers of a pod OOMKilled after `since` (current or last termination).
fn oom_kills_since(pod: &Pod, since: DateTime<Utc>) -> Vec<String> {
    container_statuses(pod)
        .iter()
        .chain(init_container_statuses(pod))
        .filter(|s| {
            let terminations = [
                s.state.as_ref().and_then(|st| st.terminated.as_ref()),
                s.last_state.as_ref().and_then(|l| l.terminated.as_ref()),
            ];
            terminations.into_iter().flatten().any(|t| {
                t.reason.as_deref() == Some("OOMKilled")
                    && t.finished_at
                        .as_ref()
                        .and_then(to_chrono)
                        .is_some_and(|at| at >= since)
            })
        })
        .map(|s| format!("{}: OOMKilled", s.name))
        .collect()
}

/// The verification of a workload action (patch_image, fix_imagepullbackoff,
/// increase_memory_limit, rollout_restart) from the workload object and its pods.
pub fn workload_verification(
    action: Action,
    kind: WorkloadKind,
    workload: &Value,
    pods: &[Pod],
    executed_at: DateTime<Utc>,
) -> Verification {
    let name = workload["metadata"]["name"].as_str().unwrap_or_default();
    let Some(template) = template_of(kind, workload) else {
        return Verification::new(
            VerifyStatus::Failed,
            format!("{} {name} has no pod template", kind.as_str()),
            json!({}),
        );
    };
    if kind == WorkloadKind::CronJob {
        return Verification::new(
            VerifyStatus::Confirmed,
            format!("CronJob {name}'s job template is changed; it takes effect with the next Job"),
            json!({"template": crate::plan::template_view(kind, workload)}),
        );
    }
    // A restart stamps the template with its time (after `executed_at` was recorded, on the
    // same clock). An older stamp or none means the patch never reached the cluster (the
    // process died in between): a healthy old rollout must not pass for the restart.
    if action == Action::RolloutRestart {
        let stamp = template["metadata"]["annotations"][RESTARTED_AT].as_str();
        let restarted = stamp
            .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
            .map(|at| at.timestamp());
        if restarted.is_none_or(|at| at < executed_at.timestamp()) {
            return Verification::new(
                VerifyStatus::Failed,
                format!(
                    "{} {name} was not restarted: its template's {RESTARTED_AT} is {}, before the restart was recorded at {}",
                    kind.as_str(),
                    stamp.unwrap_or("missing"),
                    executed_at.to_rfc3339()
                ),
                json!({"template": crate::plan::template_view(kind, workload)}),
            );
        }
    }
    let watch_oom = action == Action::IncreaseMemoryLimit;
    let rollout = rollout(kind, workload);
    let mut observed_pods = Vec::new();
    let mut new_failing = Vec::new();
    let mut any_failing = Vec::new();
    for pod in pods.iter().filter(|p| !facts::is_deleting(p)) {
        let pod_name = pod.metadata.name.clone().unwrap_or_default();
        let new = pod_matches_template(pod, template);
        let mut problems = failing_reasons(pod);
        if watch_oom {
            problems.extend(oom_kills_since(pod, executed_at));
        }
        if !problems.is_empty() {
            any_failing.push(format!("{pod_name} ({})", problems.join(", ")));
            if new {
                new_failing.push(format!("{pod_name} ({})", problems.join(", ")));
            }
        }
        observed_pods.push(json!({
            "name": pod_name,
            "template": if new { "current" } else { "old" },
            "phase": facts::pod_phase(pod),
            "ready": pod_running_ready(pod),
            "problems": problems,
        }));
    }
    let observed = json!({"rollout": rollout, "pods": observed_pods});
    let what = format!("{} {name}", kind.as_str());
    if !new_failing.is_empty() {
        return Verification::new(
            VerifyStatus::Failed,
            format!(
                "{what}: pods of the new template still fail: {}",
                new_failing.join("; ")
            ),
            observed,
        );
    }
    if rollout.complete && any_failing.is_empty() {
        return Verification::new(
            VerifyStatus::Confirmed,
            format!(
                "{what} rolled out: {}/{} replicas updated, ready and available",
                rollout.available, rollout.desired
            ),
            observed,
        );
    }
    let mut waiting = format!(
        "{what} rolling out: generation {}/{} observed, {} desired, {} updated, {} ready, {} available, {} total",
        rollout.observed_generation,
        rollout.generation,
        rollout.desired,
        rollout.updated,
        rollout.ready,
        rollout.available,
        rollout.total
    );
    if !any_failing.is_empty() {
        waiting.push_str(&format!("; failing: {}", any_failing.join("; ")));
    }
    Verification::new(VerifyStatus::NotYet, waiting, observed)
}

/// What `delete_pod` removed: the pod's uid and its controller (to find the replacement).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletedPod {
    pub namespace: String,
    pub name: String,
    pub uid: Option<String>,
    /// The controller's uid, `None` for a bare pod; unknown when nightwatch restarted in between.
    pub owner_uid: Option<Option<String>>,
}

/// Seconds-precision creation time, as a chrono time.
fn created(pod: &Pod) -> Option<DateTime<Utc>> {
    pod.metadata.creation_timestamp.as_ref().and_then(to_chrono)
}

/// Whether `pod` is the deleted one: its uid when known, else created before the deletion (to
/// the second, as the API records creation).
fn is_the_deleted_pod(pod: &Pod, deleted: &DeletedPod, executed_at: DateTime<Utc>) -> bool {
    match &deleted.uid {
        Some(uid) => pod.metadata.uid.as_deref() == Some(uid.as_str()),
        None => created(pod).is_none_or(|at| at.timestamp() < executed_at.timestamp()),
    }
}

/// Whether `pod` replaces the deleted one: same controller (or, when that is unknown, the same
/// name as a StatefulSet gives, or the same generateName prefix as a ReplicaSet gives).
fn is_replacement(pod: &Pod, deleted: &DeletedPod, executed_at: DateTime<Utc>) -> bool {
    if is_the_deleted_pod(pod, deleted, executed_at) || facts::is_deleting(pod) {
        return false;
    }
    match &deleted.owner_uid {
        Some(Some(owner)) => {
            crate::owner::controller_of(&pod.metadata).is_some_and(|o| &o.uid == owner)
        }
        Some(None) => false,
        None => {
            let name = pod.metadata.name.as_deref().unwrap_or_default();
            let prefix = pod.metadata.generate_name.as_deref().unwrap_or_default();
            name == deleted.name || (!prefix.is_empty() && deleted.name.starts_with(prefix))
        }
    }
}

/// `delete_pod`: the pod of that uid is gone and its controller has a Running+Ready replacement
/// (a bare pod is confirmed once gone).
pub fn delete_pod_verification(
    deleted: &DeletedPod,
    pods: &[Pod],
    executed_at: DateTime<Utc>,
) -> Verification {
    let still = pods.iter().find(|p| {
        p.metadata.name.as_deref() == Some(deleted.name.as_str())
            && is_the_deleted_pod(p, deleted, executed_at)
    });
    let replacements: Vec<&Pod> = pods
        .iter()
        .filter(|p| is_replacement(p, deleted, executed_at))
        .collect();
    let ready: Vec<&str> = replacements
        .iter()
        .filter(|p| pod_running_ready(p))
        .filter_map(|p| p.metadata.name.as_deref())
        .collect();
    let observed = json!({
        "deleted_pod_present": still.is_some(),
        "deleted_pod_terminating": still.is_some_and(facts::is_deleting),
        "replacements": replacements.iter().map(|p| json!({
            "name": p.metadata.name, "phase": facts::pod_phase(p), "ready": pod_running_ready(p),
        })).collect::<Vec<_>>(),
    });
    let pod = format!("{}/{}", deleted.namespace, deleted.name);
    if let Some(p) = still {
        let how = if facts::is_deleting(p) {
            "terminating"
        } else {
            "still running"
        };
        return Verification::new(
            VerifyStatus::NotYet,
            format!("pod {pod} is {how}"),
            observed,
        );
    }
    if deleted.owner_uid == Some(None) {
        return Verification::new(
            VerifyStatus::Confirmed,
            format!("pod {pod} is gone (no controller recreates it)"),
            observed,
        );
    }
    match ready.first() {
        Some(new) => Verification::new(
            VerifyStatus::Confirmed,
            format!("pod {pod} is gone; replacement {new} is Running and Ready"),
            observed,
        ),
        None => Verification::new(
            VerifyStatus::NotYet,
            format!(
                "pod {pod} is gone; {} replacement(s), none Running and Ready yet",
                replacements.len()
            ),
            observed,
        ),
    }
}

/// `cordon` (want unschedulable) / `uncordon` (want schedulable).
pub fn schedulable_verification(node: &Node, want_unschedulable: bool) -> Verification {
    let name = node.metadata.name.clone().unwrap_or_default();
    let unschedulable = facts::node_unschedulable(node);
    let observed = json!({"node": name, "unschedulable": unschedulable});
    let state = if unschedulable {
        "cordoned"
    } else {
        "schedulable"
    };
    if unschedulable == want_unschedulable {
        Verification::new(
            VerifyStatus::Confirmed,
            format!("node {name} is {state}"),
            observed,
        )
    } else {
        Verification::new(
            VerifyStatus::NotYet,
            format!("node {name} is still {state}"),
            observed,
        )
    }
}

/// `drain`: cordoned, and no pod a drain would evict (or one still terminating) left on it.
pub fn drain_verification(node: &Node, pods: &[Pod], evict_unmanaged: bool) -> Verification {
    let name = node.metadata.name.clone().unwrap_or_default();
    let unschedulable = facts::node_unschedulable(node);
    let plan = drain_plan(pods, &name, evict_unmanaged);
    let observed = json!({
        "node": name,
        "unschedulable": unschedulable,
        "remaining": plan.evict.iter().map(|p| p.key()).collect::<Vec<_>>(),
        "terminating": plan.terminating.iter().map(|p| p.key()).collect::<Vec<_>>(),
        "skipped": plan.skipped,
    });
    if !unschedulable {
        return Verification::new(
            VerifyStatus::NotYet,
            format!("node {name} is not cordoned"),
            observed,
        );
    }
    if plan.evict.is_empty() && plan.terminating.is_empty() {
        return Verification::new(
            VerifyStatus::Confirmed,
            format!(
                "node {name} is drained ({} pods left by rule)",
                plan.skipped.len()
            ),
            observed,
        );
    }
    Verification::new(
        VerifyStatus::NotYet,
        format!(
            "node {name}: {} pods still to evict, {} terminating",
            plan.evict.len(),
            plan.terminating.len()
        ),
        observed,
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn deployment(generation: i64, status: Value) -> Value {
        json!({
            "metadata": {"name": "web", "generation": generation},
            "spec": {"replicas": 2, "template": {
                "metadata": {"annotations": {RESTARTED_AT: "2024-01-01T00:05:00Z"}},
                "spec": {"containers": [{"name": "app", "image": "nginx:1.25",
                    "resources": {"limits": {"memory": "256Mi"}}}]}}},
            "status": status,
        })
    }

    fn complete_status() -> Value {
        json!({"observedGeneration": 4, "replicas": 2, "updatedReplicas": 2, "readyReplicas": 2,
               "availableReplicas": 2})
    }

    #[test]
    fn rollout_states() {
        let table = [
            (complete_status(), true),
            (
                json!({"observedGeneration": 3, "replicas": 2, "updatedReplicas": 2, "readyReplicas": 2, "availableReplicas": 2}),
                false,
            ),
            (
                json!({"observedGeneration": 4, "replicas": 3, "updatedReplicas": 2, "readyReplicas": 2, "availableReplicas": 2}),
                false,
            ),
            (
                json!({"observedGeneration": 4, "replicas": 2, "updatedReplicas": 1, "readyReplicas": 2, "availableReplicas": 2}),
                false,
            ),
            (
                json!({"observedGeneration": 4, "replicas": 2, "updatedReplicas": 2, "readyReplicas": 1, "availableReplicas": 1}),
                false,
            ),
            (json!({}), false),
        ];
        for (status, complete) in table {
            assert_eq!(
                rollout(WorkloadKind::Deployment, &deployment(4, status.clone())).complete,
                complete,
                "{status}"
            );
        }
        let sts = |status: Value| json!({"metadata": {"generation": 2}, "spec": {"replicas": 1}, "status": status});
        assert!(rollout(WorkloadKind::StatefulSet, &sts(json!({"observedGeneration": 2, "replicas": 1,
            "updatedReplicas": 1, "readyReplicas": 1, "currentRevision": "a", "updateRevision": "a"}))).complete);
        assert!(!rollout(WorkloadKind::StatefulSet, &sts(json!({"observedGeneration": 2, "replicas": 1,
            "updatedReplicas": 1, "readyReplicas": 1, "currentRevision": "a", "updateRevision": "b"}))).complete);
        let ds = |status: Value| json!({"metadata": {"generation": 1}, "status": status});
        assert!(rollout(WorkloadKind::DaemonSet, &ds(json!({"observedGeneration": 1, "desiredNumberScheduled": 3,
            "currentNumberScheduled": 3, "updatedNumberScheduled": 3, "numberReady": 3, "numberAvailable": 3}))).complete);
        assert!(!rollout(WorkloadKind::DaemonSet, &ds(json!({"observedGeneration": 1, "desiredNumberScheduled": 3,
            "currentNumberScheduled": 3, "updatedNumberScheduled": 2, "numberReady": 3, "numberAvailable": 3}))).complete);
    }

    fn pod(name: &str, image: &str, limit: &str, restarted: Option<&str>, status: Value) -> Pod {
        let mut annotations = json!({});
        if let Some(r) = restarted {
            annotations[RESTARTED_AT] = json!(r);
        }
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "shop", "uid": format!("uid-{name}"),
                         "annotations": annotations},
            "spec": {"containers": [{"name": "app", "image": image,
                "resources": {"limits": {"memory": limit}}}]},
            "status": status,
        }))
        .unwrap()
    }

    fn running() -> Value {
        json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
               "containerStatuses": [{"name": "app", "image": "x", "imageID": "", "ready": true,
                                      "restartCount": 0, "state": {"running": {}}}]})
    }

    fn waiting(reason: &str) -> Value {
        json!({"phase": "Pending", "containerStatuses": [{"name": "app", "image": "x", "imageID": "",
               "ready": false, "restartCount": 1, "state": {"waiting": {"reason": reason}}}]})
    }

    fn oom_at(finished: &str) -> Value {
        json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
               "containerStatuses": [{"name": "app", "image": "x", "imageID": "", "ready": true,
               "restartCount": 1, "state": {"running": {}},
               "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137, "finishedAt": finished}}}]})
    }

    #[test]
    fn template_matching() {
        let d = deployment(4, complete_status());
        let template = template_of(WorkloadKind::Deployment, &d).unwrap();
        let r = Some("2024-01-01T00:05:00Z");
        assert!(pod_matches_template(
            &pod("a", "nginx:1.25", "256Mi", r, running()),
            template
        ));
        assert!(pod_matches_template(
            &pod("a", "nginx:1.25", "268435456", r, running()),
            template
        ));
        assert!(!pod_matches_template(
            &pod("a", "nginx:1.24", "256Mi", r, running()),
            template
        ));
        assert!(!pod_matches_template(
            &pod("a", "nginx:1.25", "128Mi", r, running()),
            template
        ));
        assert!(!pod_matches_template(
            &pod("a", "nginx:1.25", "256Mi", None, running()),
            template
        ));
    }

    #[test]
    fn workload_verifications() {
        let executed = at("2024-01-01T00:05:00Z");
        let r = Some("2024-01-01T00:05:00Z");
        let done = deployment(4, complete_status());
        let rolling = deployment(
            4,
            json!({"observedGeneration": 4, "replicas": 3, "updatedReplicas": 1,
            "readyReplicas": 2, "availableReplicas": 2}),
        );
        let good = || pod("new-1", "nginx:1.25", "256Mi", r, running());
        let table: Vec<(Action, &Value, Vec<Pod>, VerifyStatus)> = vec![
            (
                Action::PatchImage,
                &done,
                vec![good(), pod("new-2", "nginx:1.25", "256Mi", r, running())],
                VerifyStatus::Confirmed,
            ),
            (
                Action::PatchImage,
                &rolling,
                vec![
                    good(),
                    pod("old-1", "bad:1", "256Mi", r, waiting("ImagePullBackOff")),
                ],
                VerifyStatus::NotYet,
            ),
            // The new template fails the same way: the fix did not work.
            (
                Action::PatchImage,
                &rolling,
                vec![pod(
                    "new-1",
                    "nginx:1.25",
                    "256Mi",
                    r,
                    waiting("ErrImagePull"),
                )],
                VerifyStatus::Failed,
            ),
            (
                Action::RolloutRestart,
                &rolling,
                vec![pod(
                    "new-1",
                    "nginx:1.25",
                    "256Mi",
                    r,
                    waiting("CrashLoopBackOff"),
                )],
                VerifyStatus::Failed,
            ),
            // Restarted at the second it was recorded, rolled out: confirmed.
            (
                Action::RolloutRestart,
                &done,
                vec![good(), pod("new-2", "nginx:1.25", "256Mi", r, running())],
                VerifyStatus::Confirmed,
            ),
            // Counted complete but an old pod still fails: not yet.
            (
                Action::PatchImage,
                &done,
                vec![
                    good(),
                    pod("old-1", "bad:1", "256Mi", r, waiting("ImagePullBackOff")),
                ],
                VerifyStatus::NotYet,
            ),
            // OOM of the new template after the change: failed; before it: history.
            (
                Action::IncreaseMemoryLimit,
                &done,
                vec![pod(
                    "new-1",
                    "nginx:1.25",
                    "256Mi",
                    r,
                    oom_at("2024-01-01T00:06:00Z"),
                )],
                VerifyStatus::Failed,
            ),
            (
                Action::IncreaseMemoryLimit,
                &done,
                vec![pod(
                    "new-1",
                    "nginx:1.25",
                    "256Mi",
                    r,
                    oom_at("2024-01-01T00:04:00Z"),
                )],
                VerifyStatus::Confirmed,
            ),
            (
                Action::IncreaseMemoryLimit,
                &rolling,
                vec![
                    good(),
                    pod(
                        "old-1",
                        "nginx:1.25",
                        "128Mi",
                        r,
                        oom_at("2024-01-01T00:06:00Z"),
                    ),
                ],
                VerifyStatus::NotYet,
            ),
            // OOM only matters to increase_memory_limit.
            (
                Action::PatchImage,
                &done,
                vec![pod(
                    "new-1",
                    "nginx:1.25",
                    "256Mi",
                    r,
                    oom_at("2024-01-01T00:06:00Z"),
                )],
                VerifyStatus::Confirmed,
            ),
        ];
        for (i, (action, workload, pods, want)) in table.into_iter().enumerate() {
            let v =
                workload_verification(action, WorkloadKind::Deployment, workload, &pods, executed);
            assert_eq!(v.status, want, "case {i}: {}", v.summary);
        }
        let v = workload_verification(
            Action::PatchImage,
            WorkloadKind::Deployment,
            &done,
            &[good()],
            executed,
        );
        assert_eq!(v.observed["pods"][0]["template"], "current");
        assert_eq!(v.observed["rollout"]["desired"], 2);

        // Recorded as executed after the template's last restart stamp (or with none): the
        // patch never left, and the healthy old rollout does not count as the restart.
        let never_sent = workload_verification(
            Action::RolloutRestart,
            WorkloadKind::Deployment,
            &done,
            &[good()],
            at("2024-01-01T00:06:00Z"),
        );
        assert_eq!(
            never_sent.status,
            VerifyStatus::Failed,
            "{}",
            never_sent.summary
        );
        assert!(
            never_sent.summary.contains("was not restarted"),
            "{}",
            never_sent.summary
        );
        let mut unstamped = done.clone();
        unstamped["spec"]["template"]["metadata"] = json!({});
        assert_eq!(
            workload_verification(
                Action::RolloutRestart,
                WorkloadKind::Deployment,
                &unstamped,
                &[],
                executed
            )
            .status,
            VerifyStatus::Failed
        );

        let cj = json!({"metadata": {"name": "r"}, "spec": {"jobTemplate": {"spec": {"template": {"spec": {}}}}}});
        assert_eq!(
            workload_verification(
                Action::PatchImage,
                WorkloadKind::CronJob,
                &cj,
                &[],
                executed
            )
            .status,
            VerifyStatus::Confirmed
        );
        assert_eq!(
            workload_verification(
                Action::PatchImage,
                WorkloadKind::Deployment,
                &json!({}),
                &[],
                executed
            )
            .status,
            VerifyStatus::Failed
        );
    }

    fn owned(
        name: &str,
        uid: &str,
        owner: &str,
        created: &str,
        status: Value,
        extra: Value,
    ) -> Pod {
        let mut meta = json!({"name": name, "namespace": "shop", "uid": uid, "creationTimestamp": created,
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": owner, "controller": true}]});
        for (k, v) in extra.as_object().into_iter().flatten() {
            meta[k] = v.clone();
        }
        serde_json::from_value(
            json!({"metadata": meta, "spec": {"containers": []}, "status": status}),
        )
        .unwrap()
    }

    #[test]
    fn delete_pod_verifications() {
        let executed = at("2024-01-01T00:05:00.500Z");
        let known = DeletedPod {
            namespace: "shop".into(),
            name: "web-1".into(),
            uid: Some("u1".into()),
            owner_uid: Some(Some("rs1".into())),
        };
        let old = owned(
            "web-1",
            "u1",
            "rs1",
            "2024-01-01T00:00:00Z",
            running(),
            json!({}),
        );
        let old_going = owned(
            "web-1",
            "u1",
            "rs1",
            "2024-01-01T00:00:00Z",
            running(),
            json!({"deletionTimestamp": "2024-01-01T00:05:01Z"}),
        );
        let new_pending = owned(
            "web-2",
            "u2",
            "rs1",
            "2024-01-01T00:05:01Z",
            waiting("ContainerCreating"),
            json!({}),
        );
        let new_ready = owned(
            "web-2",
            "u2",
            "rs1",
            "2024-01-01T00:05:01Z",
            running(),
            json!({}),
        );
        let stranger = owned(
            "api-1",
            "u9",
            "rs9",
            "2024-01-01T00:05:01Z",
            running(),
            json!({}),
        );
        let table: Vec<(&DeletedPod, Vec<Pod>, VerifyStatus)> = vec![
            (&known, vec![old.clone()], VerifyStatus::NotYet),
            (
                &known,
                vec![old_going, new_ready.clone()],
                VerifyStatus::NotYet,
            ),
            (&known, vec![new_pending], VerifyStatus::NotYet),
            (&known, vec![stranger.clone()], VerifyStatus::NotYet),
            (
                &known,
                vec![new_ready.clone(), stranger.clone()],
                VerifyStatus::Confirmed,
            ),
        ];
        for (i, (deleted, pods, want)) in table.into_iter().enumerate() {
            let v = delete_pod_verification(deleted, &pods, executed);
            assert_eq!(v.status, want, "case {i}: {}", v.summary);
        }
        // A bare pod: gone is enough.
        let bare = DeletedPod {
            owner_uid: Some(None),
            ..known.clone()
        };
        assert_eq!(
            delete_pod_verification(&bare, &[], executed).status,
            VerifyStatus::Confirmed
        );
        assert_eq!(
            delete_pod_verification(&bare, std::slice::from_ref(&old), executed).status,
            VerifyStatus::NotYet
        );

        // Nothing remembered (nightwatch restarted): the same name (StatefulSet) created after
        // the deletion is the replacement; one created before is the old pod.
        let unknown = DeletedPod {
            namespace: "shop".into(),
            name: "db-0".into(),
            uid: None,
            owner_uid: None,
        };
        let sts_old = owned(
            "db-0",
            "a",
            "sts",
            "2024-01-01T00:00:00Z",
            running(),
            json!({}),
        );
        let sts_new = owned(
            "db-0",
            "b",
            "sts",
            "2024-01-01T00:05:02Z",
            running(),
            json!({}),
        );
        assert_eq!(
            delete_pod_verification(&unknown, &[sts_old], executed).status,
            VerifyStatus::NotYet
        );
        assert_eq!(
            delete_pod_verification(&unknown, &[sts_new], executed).status,
            VerifyStatus::Confirmed
        );
        let unknown_rs = DeletedPod {
            name: "web-5d8-abcde".into(),
            ..unknown.clone()
        };
        let by_prefix = owned(
            "web-5d8-zzzzz",
            "c",
            "rs1",
            "2024-01-01T00:05:02Z",
            running(),
            json!({"generateName": "web-5d8-"}),
        );
        assert_eq!(
            delete_pod_verification(&unknown_rs, &[by_prefix, stranger], executed).status,
            VerifyStatus::Confirmed
        );
    }

    fn node(unschedulable: bool) -> Node {
        serde_json::from_value(
            json!({"metadata": {"name": "n1"}, "spec": {"unschedulable": unschedulable}}),
        )
        .unwrap()
    }

    #[test]
    fn node_verifications() {
        assert_eq!(
            schedulable_verification(&node(true), true).status,
            VerifyStatus::Confirmed
        );
        assert_eq!(
            schedulable_verification(&node(false), true).status,
            VerifyStatus::NotYet
        );
        assert_eq!(
            schedulable_verification(&node(false), false).status,
            VerifyStatus::Confirmed
        );
        assert_eq!(
            schedulable_verification(&node(true), false).status,
            VerifyStatus::NotYet
        );

        let on_node = |name: &str, owner: &str, extra: Value| -> Pod {
            let mut p = json!({"metadata": {"name": name, "namespace": "shop", "uid": name,
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": owner, "name": "o", "uid": "o", "controller": true}]},
                "spec": {"nodeName": "n1", "containers": []}, "status": {"phase": "Running"}});
            for (k, v) in extra.as_object().into_iter().flatten() {
                p["metadata"][k] = v.clone();
            }
            serde_json::from_value(p).unwrap()
        };
        let ds = on_node("agent", "DaemonSet", json!({}));
        let web = on_node("web", "ReplicaSet", json!({}));
        let going = on_node(
            "web",
            "ReplicaSet",
            json!({"deletionTimestamp": "2024-01-01T00:00:00Z"}),
        );
        assert_eq!(
            drain_verification(&node(false), std::slice::from_ref(&ds), false).status,
            VerifyStatus::NotYet
        );
        assert_eq!(
            drain_verification(&node(true), &[ds.clone(), web], false).status,
            VerifyStatus::NotYet
        );
        assert_eq!(
            drain_verification(&node(true), &[ds.clone(), going], false).status,
            VerifyStatus::NotYet
        );
        let v = drain_verification(&node(true), &[ds], false);
        assert_eq!(v.status, VerifyStatus::Confirmed);
        assert_eq!(v.observed["skipped"][0]["pod"], "shop/agent");
    }
}

//! The only code that writes to the cluster. Every entry point takes a policy
//! [`Permit`](nightwatch_core::policy::Permit), acts on exactly the permit's target with the
//! permit's arguments, and delegates to private functions over the request.

use crate::KubeError;
use crate::client::{Kube, is_status};
use crate::facts::{self, IMAGE_PULL_REASONS, last_terminated_reason, waiting_reason};
use crate::owner::{WorkloadKind, controller_of};
use crate::plan::{
    self, DrainArgs, MemoryArgs, PodRef, cordon_patch, drain_plan, eviction_body, image_patch,
    memory_patch, memory_plan, pick_container, restart_patch, template_of, template_view,
    uncordon_refusal,
};
use crate::verify::{self, DeletedPod, Verification};
use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Api;
use kube::api::{DeleteParams, DynamicObject, ListParams, Patch, PatchParams, Preconditions};
use nightwatch_core::Clock;
use nightwatch_core::action::{Action, ActionRequest};
use nightwatch_core::policy::Permit;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
// tokio's clock, the one its sleeps run on: under paused test time a deadline then passes with
// the waits instead of in real time.
use tokio::time::Instant;

/// What a dry run or an execution did: the relevant fields before, the server's answer after.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionReport {
    pub before: Value,
    pub after: Value,
    pub summary: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    DryRun,
    Execute,
}

impl Mode {
    fn dry(self) -> bool {
        self == Mode::DryRun
    }

    fn suffix(self) -> &'static str {
        match self {
            Mode::DryRun => " (dry run)",
            Mode::Execute => "",
        }
    }
}

/// Field manager recorded on every write.
const FIELD_MANAGER: &str = "nightwatch";

pub struct Actuator {
    kube: Kube,
    /// Pods `delete_pod` removed (by target key): their uid and controller, so verify knows the
    /// replacement.
    deleted: Mutex<HashMap<String, DeletedPod>>,
    /// The restart annotation's timestamp.
    clock: Arc<dyn Clock>,
}

impl Actuator {
    pub fn new(kube: Kube, clock: Arc<dyn Clock>) -> Actuator {
        Actuator {
            kube,
            deleted: Mutex::new(HashMap::new()),
            clock,
        }
    }

    /// The same write as [`Actuator::execute`] with server-side dry-run (`dryRun=All`): the API
    /// server validates, admits and answers, and stores nothing.
    pub async fn dry_run(&self, permit: &Permit) -> Result<ActionReport, KubeError> {
        self.act(permit.request(), Mode::DryRun).await
    }

    pub async fn execute(&self, permit: &Permit) -> Result<ActionReport, KubeError> {
        self.act(permit.request(), Mode::Execute).await
    }

    /// One look at whether the executed action worked. Never waits: the caller polls until
    /// Confirmed or Failed, or its deadline.
    pub async fn verify(
        &self,
        permit: &Permit,
        executed_at: DateTime<Utc>,
    ) -> Result<Verification, KubeError> {
        self.check(permit.request(), executed_at).await
    }

    /// The same look by the request alone: reading needs no permit, and an action executed
    /// by a process that has since died is verified after the restart without one.
    pub async fn verify_request(
        &self,
        request: &ActionRequest,
        executed_at: DateTime<Utc>,
    ) -> Result<Verification, KubeError> {
        self.check(request, executed_at).await
    }

    async fn act(&self, request: &ActionRequest, mode: Mode) -> Result<ActionReport, KubeError> {
        match action_of(request)? {
            Action::PatchImage | Action::FixImagePullBackoff => {
                self.patch_image(request, mode).await
            }
            Action::IncreaseMemoryLimit => self.increase_memory_limit(request, mode).await,
            Action::RolloutRestart => self.rollout_restart(request, mode).await,
            Action::DeletePod => self.delete_pod(request, mode).await,
            Action::Cordon => self.set_unschedulable(request, true, mode).await,
            Action::Uncordon => self.set_unschedulable(request, false, mode).await,
            Action::Drain => self.drain(request, mode).await,
        }
    }

    async fn check(
        &self,
        request: &ActionRequest,
        executed_at: DateTime<Utc>,
    ) -> Result<Verification, KubeError> {
        let action = action_of(request)?;
        match action {
            Action::PatchImage
            | Action::FixImagePullBackoff
            | Action::IncreaseMemoryLimit
            | Action::RolloutRestart => {
                let (kind, ns, name) = workload_target(request)?;
                let workload = self.kube.get_workload(kind, ns, name).await?;
                let pods = self.kube.workload_pods(kind, &workload).await?;
                Ok(verify::workload_verification(
                    action,
                    kind,
                    &workload,
                    &pods,
                    executed_at,
                ))
            }
            Action::DeletePod => {
                let (ns, name) = pod_target(request)?;
                let remembered = self.lock_deleted().get(&request.target.key()).cloned();
                let deleted = remembered.unwrap_or_else(|| DeletedPod {
                    namespace: ns.to_owned(),
                    name: name.to_owned(),
                    uid: request.args["uid"].as_str().map(str::to_owned),
                    owner_uid: None,
                });
                let pods = self
                    .kube
                    .list_pods(Some(ns), &ListParams::default())
                    .await?;
                Ok(verify::delete_pod_verification(
                    &deleted,
                    &pods,
                    executed_at,
                ))
            }
            Action::Cordon | Action::Uncordon => {
                let node = self.kube.get_node(node_target(request)?).await?;
                Ok(verify::schedulable_verification(
                    &node,
                    action == Action::Cordon,
                ))
            }
            Action::Drain => {
                let name = node_target(request)?;
                let args = DrainArgs::from_args(&request.args)?;
                let node = self.kube.get_node(name).await?;
                let pods = self.kube.pods_on_node(name).await?;
                Ok(verify::drain_verification(&node, &pods, args.force))
            }
        }
    }

    fn lock_deleted(&self) -> std::sync::MutexGuard<'_, HashMap<String, DeletedPod>> {
        // A panic while holding this lock cannot leave the map inconsistent: take it anyway.
        self.deleted.lock().unwrap_or_else(|e| e.into_inner())
    }

    // ---- workloads

    async fn patch_workload(
        &self,
        kind: WorkloadKind,
        namespace: &str,
        name: &str,
        patch: &Value,
        mode: Mode,
    ) -> Result<Value, KubeError> {
        let resource = self.kube.workload_resource(kind);
        let api: Api<DynamicObject> =
            Api::namespaced_with(self.kube.client().clone(), namespace, &resource);
        let params = PatchParams {
            dry_run: mode.dry(),
            field_manager: Some(FIELD_MANAGER.into()),
            ..PatchParams::default()
        };
        let what = format!("patching {} {namespace}/{name}", kind.as_str());
        let answer = api
            .patch(name, &params, &Patch::Strategic(patch))
            .await
            .map_err(KubeError::api(&what))?;
        serde_json::to_value(answer).map_err(|source| KubeError::Decode { what, source })
    }

    /// Containers of the workload's pods that `failing` picks, most recent pods first.
    async fn failing_containers(
        &self,
        kind: WorkloadKind,
        workload: &Value,
        failing: impl Fn(&k8s_openapi::api::core::v1::ContainerStatus) -> bool,
    ) -> Result<Vec<String>, KubeError> {
        let mut pods = self.kube.workload_pods(kind, workload).await?;
        pods.sort_by_key(|p| {
            std::cmp::Reverse(
                p.metadata
                    .creation_timestamp
                    .as_ref()
                    .map(|t| t.0.as_second()),
            )
        });
        let mut names: Vec<String> = Vec::new();
        for pod in &pods {
            for status in facts::container_statuses(pod)
                .iter()
                .chain(facts::init_container_statuses(pod))
            {
                if failing(status) && !names.contains(&status.name) {
                    names.push(status.name.clone());
                }
            }
        }
        Ok(names)
    }

    async fn patch_image(
        &self,
        request: &ActionRequest,
        mode: Mode,
    ) -> Result<ActionReport, KubeError> {
        let (kind, ns, name) = workload_target(request)?;
        let image = request.args["image"]
            .as_str()
            .map(str::trim)
            .filter(|i| !i.is_empty())
            .ok_or_else(|| KubeError::arg("image", "required: the image to set"))?;
        let workload = self.kube.get_workload(kind, ns, name).await?;
        let template = template_of(kind, &workload).ok_or_else(|| {
            KubeError::Refused(format!("{} {ns}/{name} has no pod template", kind.as_str()))
        })?;
        let named = request.args["container"].as_str();
        let failing = match named {
            Some(_) => Vec::new(),
            None => {
                self.failing_containers(kind, &workload, |s| {
                    waiting_reason(s).is_some_and(|r| IMAGE_PULL_REASONS.contains(&r))
                })
                .await?
            }
        };
        let container = pick_container(template, named, &failing)?;
        let answer = self
            .patch_workload(kind, ns, name, &image_patch(kind, &container, image), mode)
            .await?;
        Ok(ActionReport {
            before: template_view(kind, &workload),
            after: template_view(kind, &answer),
            summary: format!(
                "{} {ns}/{name}: container {} image {} → {image}{}",
                kind.as_str(),
                container.name,
                container.image.as_deref().unwrap_or("(none)"),
                mode.suffix()
            ),
        })
    }

    async fn increase_memory_limit(
        &self,
        request: &ActionRequest,
        mode: Mode,
    ) -> Result<ActionReport, KubeError> {
        let (kind, ns, name) = workload_target(request)?;
        let args = MemoryArgs::from_args(&request.args)?;
        let workload = self.kube.get_workload(kind, ns, name).await?;
        let template = template_of(kind, &workload).ok_or_else(|| {
            KubeError::Refused(format!("{} {ns}/{name} has no pod template", kind.as_str()))
        })?;
        let named = request.args["container"].as_str();
        let failing = match named {
            Some(_) => Vec::new(),
            None => {
                self.failing_containers(kind, &workload, |s| {
                    last_terminated_reason(s) == Some("OOMKilled")
                })
                .await?
            }
        };
        let container = pick_container(template, named, &failing)?;
        let plan = memory_plan(&container, &args)?;
        let answer = self
            .patch_workload(kind, ns, name, &memory_patch(kind, &plan), mode)
            .await?;
        let mut before = template_view(kind, &workload);
        before["memory_plan"] = serde_json::to_value(&plan).unwrap_or(Value::Null);
        let request_note = plan
            .new_request
            .as_deref()
            .map(|r| format!(", request → {r}"))
            .unwrap_or_default();
        Ok(ActionReport {
            before,
            after: template_view(kind, &answer),
            summary: format!(
                "{} {ns}/{name}: container {} memory limit {} → {}{request_note}{}",
                kind.as_str(),
                plan.container,
                plan.current_limit,
                plan.new_limit,
                mode.suffix()
            ),
        })
    }

    async fn rollout_restart(
        &self,
        request: &ActionRequest,
        mode: Mode,
    ) -> Result<ActionReport, KubeError> {
        let (kind, ns, name) = workload_target(request)?;
        if kind == WorkloadKind::CronJob {
            return Err(KubeError::Refused(
                "rollout_restart restarts a Deployment, StatefulSet or DaemonSet, not a CronJob"
                    .into(),
            ));
        }
        let workload = self.kube.get_workload(kind, ns, name).await?;
        let now = self.clock.now();
        let answer = self
            .patch_workload(kind, ns, name, &restart_patch(kind, now), mode)
            .await?;
        Ok(ActionReport {
            before: template_view(kind, &workload),
            after: template_view(kind, &answer),
            summary: format!(
                "{} {ns}/{name}: rollout restart at {}{}",
                kind.as_str(),
                plan::restarted_at(now),
                mode.suffix()
            ),
        })
    }

    // ---- pods

    async fn delete_pod(
        &self,
        request: &ActionRequest,
        mode: Mode,
    ) -> Result<ActionReport, KubeError> {
        let (ns, name) = pod_target(request)?;
        let pod = self.kube.get_pod(ns, name).await?;
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        if let Some(wanted) = request.args["uid"].as_str()
            && wanted != uid
        {
            return Err(KubeError::Refused(format!(
                "pod {ns}/{name} was replaced (uid {uid}, not {wanted}); not deleting the new one"
            )));
        }
        let owner = controller_of(&pod.metadata);
        let params = DeleteParams {
            dry_run: mode.dry(),
            preconditions: Some(Preconditions {
                uid: Some(uid.clone()),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        let answer = Api::<Pod>::namespaced(self.kube.client().clone(), ns)
            .delete(name, &params)
            .await
            .map_err(KubeError::api(format!("deleting pod {ns}/{name}")))?;
        if mode == Mode::Execute {
            self.lock_deleted().insert(
                request.target.key(),
                DeletedPod {
                    namespace: ns.to_owned(),
                    name: name.to_owned(),
                    uid: Some(uid.clone()),
                    owner_uid: Some(owner.as_ref().map(|o| o.uid.clone())),
                },
            );
        }
        let after = match answer {
            either::Either::Left(pod) => json!({
                "uid": pod.metadata.uid,
                "deletion_timestamp": pod.metadata.deletion_timestamp.as_ref().map(crate::time_text),
                "grace_period_seconds": pod.metadata.deletion_grace_period_seconds,
            }),
            either::Either::Right(status) => {
                json!({"status": status.status.map(|s| format!("{s:?}")), "message": status.message})
            }
        };
        Ok(ActionReport {
            before: json!({
                "pod": name,
                "namespace": ns,
                "uid": uid,
                "phase": facts::pod_phase(&pod),
                "node": facts::pod_node(&pod),
                "owner": owner.as_ref().map(|o| json!({"kind": o.kind, "name": o.name})),
            }),
            after,
            summary: format!(
                "deleted pod {ns}/{name} (uid {uid}){}{}",
                match &owner {
                    Some(o) => format!("; {} {} recreates it", o.kind, o.name),
                    None => "; no controller recreates it".into(),
                },
                mode.suffix()
            ),
        })
    }

    // ---- nodes

    async fn patch_node(&self, name: &str, patch: &Value, mode: Mode) -> Result<Node, KubeError> {
        let params = PatchParams {
            dry_run: mode.dry(),
            field_manager: Some(FIELD_MANAGER.into()),
            ..PatchParams::default()
        };
        Api::<Node>::all(self.kube.client().clone())
            .patch(name, &params, &Patch::Strategic(patch))
            .await
            .map_err(KubeError::api(format!("patching node {name}")))
    }

    async fn set_unschedulable(
        &self,
        request: &ActionRequest,
        unschedulable: bool,
        mode: Mode,
    ) -> Result<ActionReport, KubeError> {
        let name = node_target(request)?;
        // Re-read now: the node's state when the runbook looked may be stale.
        let node = self.kube.get_node(name).await?;
        if !unschedulable && let Some(why) = uncordon_refusal(&node) {
            return Err(KubeError::Refused(why));
        }
        let answer = self
            .patch_node(name, &cordon_patch(unschedulable), mode)
            .await?;
        let verb = if unschedulable {
            "cordoned"
        } else {
            "uncordoned"
        };
        Ok(ActionReport {
            before: node_view(&node),
            after: node_view(&answer),
            summary: format!("{verb} node {name}{}", mode.suffix()),
        })
    }

    /// One Eviction, built by hand so that it speaks the server's policy version.
    async fn evict(&self, pod: &PodRef, dry_run: bool) -> Result<(), kube::Error> {
        let body = eviction_body(self.kube.eviction_api().api_version(), pod, dry_run);
        let url = format!(
            "/api/v1/namespaces/{}/pods/{}/eviction{}",
            pod.namespace,
            pod.name,
            if dry_run { "?dryRun=All" } else { "" }
        );
        let bytes = serde_json::to_vec(&body).map_err(kube::Error::SerdeError)?;
        let request = http::Request::post(url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(bytes)
            .map_err(kube::Error::HttpError)?;
        self.kube
            .no_retry_client()
            .request::<Value>(request)
            .await
            .map(|_| ())
    }

    async fn drain(&self, request: &ActionRequest, mode: Mode) -> Result<ActionReport, KubeError> {
        let name = node_target(request)?;
        let args = DrainArgs::from_args(&request.args)?;
        let node = self.kube.get_node(name).await?;
        let cordoned = self.patch_node(name, &cordon_patch(true), mode).await?;
        let pods = self.kube.pods_on_node(name).await?;
        let plan = drain_plan(&pods, name, args.force);
        let eviction_api = self.kube.eviction_api().api_version();

        let mut evicted: Vec<String> = Vec::new();
        let mut refused: Vec<Value> = Vec::new();
        let mut errors: Vec<Value> = Vec::new();
        // (pod, attempts, last refusal)
        let mut pending: Vec<(PodRef, u32, String)> = plan
            .evict
            .iter()
            .cloned()
            .map(|p| (p, 0, String::new()))
            .collect();
        let started = Instant::now();
        let deadline = started + args.timeout;
        loop {
            let mut still = Vec::new();
            for (pod, attempts, _) in pending {
                match self.evict(&pod, mode.dry()).await {
                    Ok(()) => evicted.push(pod.key()),
                    // Gone already, or replaced by a pod of the same name (uid precondition).
                    Err(e) if is_status(&e, 404) || is_status(&e, 409) => evicted.push(pod.key()),
                    // A PodDisruptionBudget does not allow it now.
                    Err(kube::Error::Api(status)) if status.code == 429 => {
                        still.push((pod, attempts + 1, status.message.clone()))
                    }
                    Err(e) => errors.push(json!({"pod": pod.key(), "error": e.to_string()})),
                }
            }
            pending = still;
            // A dry run asks once: it reports what the budgets allow now.
            if pending.is_empty() || mode.dry() || Instant::now() + args.retry_every > deadline {
                break;
            }
            tracing::info!(
                node = name,
                pending = pending.len(),
                "evictions refused by a disruption budget; retrying"
            );
            tokio::time::sleep(args.retry_every).await;
        }
        for (pod, attempts, message) in pending {
            refused.push(json!({"pod": pod.key(), "attempts": attempts, "reason": message}));
        }
        let retried = refused
            .iter()
            .any(|r| r["attempts"].as_u64().unwrap_or(0) > 1);
        let mut summary = format!(
            "drain of node {name}: cordoned, {} pods {} through {eviction_api}, {} skipped",
            evicted.len(),
            if mode.dry() {
                "would be evicted"
            } else {
                "evicted"
            },
            plan.skipped.len()
        );
        if !refused.is_empty() {
            summary.push_str(&format!(
                ", {} refused by a PodDisruptionBudget{}",
                refused.len(),
                if retried {
                    format!(" (retried for {}s)", args.timeout.as_secs())
                } else {
                    String::new()
                }
            ));
        }
        if !errors.is_empty() {
            summary.push_str(&format!(", {} failed", errors.len()));
        }
        if !plan.terminating.is_empty() {
            summary.push_str(&format!(", {} already terminating", plan.terminating.len()));
        }
        summary.push_str(mode.suffix());
        Ok(ActionReport {
            before: json!({
                "node": node_view(&node),
                "pods_on_node": pods.len(),
                "to_evict": plan.evict.iter().map(PodRef::key).collect::<Vec<_>>(),
            }),
            after: json!({
                "node": node_view(&cordoned),
                "eviction_api": eviction_api,
                "eviction_seconds": (started.elapsed().as_secs_f64() * 10.0).round() / 10.0,
                "evicted": evicted,
                "refused": refused,
                "errors": errors,
                "skipped": plan.skipped,
                "terminating": plan.terminating.iter().map(PodRef::key).collect::<Vec<_>>(),
            }),
            summary,
        })
    }
}

fn node_view(node: &Node) -> Value {
    let facts = facts::node_facts(node);
    json!({
        "node": facts.name,
        "unschedulable": facts.unschedulable,
        "ready": facts.ready(),
        "pressures": facts.pressures(),
    })
}

/// The permit's target as a workload.
fn workload_target(request: &ActionRequest) -> Result<(WorkloadKind, &str, &str), KubeError> {
    let target = &request.target;
    let kind = WorkloadKind::parse(&target.kind).ok_or_else(|| {
        KubeError::Refused(format!(
            "{} changes a Deployment, StatefulSet, DaemonSet or CronJob, not {}",
            request.action, target.kind
        ))
    })?;
    let ns = target.namespace.as_deref().ok_or_else(|| {
        KubeError::Refused(format!(
            "{} target {target} has no namespace",
            request.action
        ))
    })?;
    Ok((kind, ns, &target.name))
}

fn pod_target(request: &ActionRequest) -> Result<(&str, &str), KubeError> {
    let target = &request.target;
    match (&*target.kind, target.namespace.as_deref()) {
        ("Pod", Some(ns)) => Ok((ns, &target.name)),
        _ => Err(KubeError::Refused(format!(
            "{} acts on a Pod, not {target}",
            request.action
        ))),
    }
}

fn node_target(request: &ActionRequest) -> Result<&str, KubeError> {
    let target = &request.target;
    if target.kind == "Node" {
        Ok(&target.name)
    } else {
        Err(KubeError::Refused(format!(
            "{} acts on a Node, not {target}",
            request.action
        )))
    }
}

/// The known action a request names, or `UnknownAction`.
fn action_of(request: &ActionRequest) -> Result<Action, KubeError> {
    Action::parse(&request.action).ok_or_else(|| KubeError::UnknownAction(request.action.clone()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use nightwatch_core::action::ActionTarget;

    fn request(action: &str, target: ActionTarget) -> ActionRequest {
        ActionRequest {
            action: action.into(),
            target,
            args: json!({}),
        }
    }

    #[test]
    fn targets_must_fit_the_action() {
        let d = ActionTarget::namespaced("Deployment", "shop", "web");
        let pod = ActionTarget::namespaced("Pod", "shop", "web-1");
        let node = ActionTarget::cluster("Node", "n1");
        assert_eq!(
            workload_target(&request("patch_image", d.clone())).unwrap(),
            (WorkloadKind::Deployment, "shop", "web")
        );
        assert!(workload_target(&request("patch_image", pod.clone())).is_err());
        assert!(
            workload_target(&request(
                "patch_image",
                ActionTarget::cluster("Deployment", "x")
            ))
            .is_err()
        );
        assert_eq!(
            pod_target(&request("delete_pod", pod)).unwrap(),
            ("shop", "web-1")
        );
        assert!(pod_target(&request("delete_pod", d.clone())).is_err());
        assert!(pod_target(&request("delete_pod", ActionTarget::cluster("Pod", "x"))).is_err());
        assert_eq!(node_target(&request("cordon", node)).unwrap(), "n1");
        let err = node_target(&request("drain", d)).unwrap_err().to_string();
        assert_eq!(err, "drain acts on a Node, not Deployment/shop/web");
    }
}

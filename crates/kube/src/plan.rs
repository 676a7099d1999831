//! What an action will change, decided before anything is sent: the container it touches, the
//! new memory limit, the strategic-merge patch bodies, the pods a drain evicts. Pure functions.

use crate::KubeError;
use crate::facts::{self, node_condition};
use crate::owner::{WorkloadKind, controller_of};
use crate::quantity::{MI, format_memory, parse_memory};
use chrono::{DateTime, SecondsFormat, Utc};
use k8s_openapi::api::core::v1::{Node, Pod};
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::time::Duration;

/// The annotation `kubectl rollout restart` sets on the pod template.
pub const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";
/// The annotation of a static pod's mirror in the API.
pub const MIRROR_ANNOTATION: &str = "kubernetes.io/config.mirror";

/// The pod template of a workload object.
pub fn template_of(kind: WorkloadKind, object: &Value) -> Option<&Value> {
    kind.template_path()
        .iter()
        .try_fold(object, |value, key| value.get(key))
}

/// A patch that changes `template_patch` inside the workload's pod template.
pub fn wrap_template(kind: WorkloadKind, template_patch: Value) -> Value {
    kind.template_path()
        .iter()
        .rev()
        .fold(template_patch, |inner, key| {
            let mut map = Map::new();
            map.insert((*key).to_owned(), inner);
            Value::Object(map)
        })
}

/// One container of a pod template, with the fields actions read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TemplateContainer {
    pub name: String,
    /// `containers` or `initContainers`: where a patch must put it.
    pub field: &'static str,
    pub image: Option<String>,
    pub memory_limit: Option<String>,
    pub memory_request: Option<String>,
}

/// The containers of a pod template, app containers first.
pub fn template_containers(template: &Value) -> Vec<TemplateContainer> {
    let mut out = Vec::new();
    for field in ["containers", "initContainers"] {
        for c in template["spec"][field].as_array().into_iter().flatten() {
            let text = |v: &Value| v.as_str().map(str::to_owned);
            out.push(TemplateContainer {
                name: text(&c["name"]).unwrap_or_default(),
                field,
                image: text(&c["image"]),
                memory_limit: text(&c["resources"]["limits"]["memory"]),
                memory_request: text(&c["resources"]["requests"]["memory"]),
            });
        }
    }
    out
}

/// The container an action changes: the one named in the args; else the one the workload's pods
/// show failing (`failing`, in order of preference); else the only app container.
pub fn pick_container(
    template: &Value,
    named: Option<&str>,
    failing: &[String],
) -> Result<TemplateContainer, KubeError> {
    let containers = template_containers(template);
    if let Some(name) = named {
        return containers
            .into_iter()
            .find(|c| c.name == name)
            .ok_or_else(|| {
                KubeError::arg(
                    "container",
                    format!("no container {name:?} in the pod template"),
                )
            });
    }
    if let Some(c) = failing
        .iter()
        .find_map(|name| containers.iter().find(|c| &c.name == name))
    {
        return Ok(c.clone());
    }
    let mut apps = containers.iter().filter(|c| c.field == "containers");
    match (apps.next(), apps.next()) {
        (Some(only), None) => Ok(only.clone()),
        (None, _) => Err(KubeError::Refused(
            "the pod template has no containers".into(),
        )),
        (Some(_), Some(_)) => Err(KubeError::arg(
            "container",
            "the pod template has several containers and none is failing: name one",
        )),
    }
}

/// Strategic-merge patch setting one container's image (containers merge by name).
pub fn image_patch(kind: WorkloadKind, container: &TemplateContainer, image: &str) -> Value {
    wrap_template(
        kind,
        json!({"spec": {container.field: [{"name": container.name, "image": image}]}}),
    )
}

/// `increase_memory_limit`'s arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryArgs {
    pub factor: f64,
    pub floor: u64,
    pub cap: u64,
}

fn quantity_arg(args: &Value, name: &'static str, default: &str) -> Result<u64, KubeError> {
    match &args[name] {
        Value::Null => parse_memory(default).map_err(|e| KubeError::arg(name, e.to_string())),
        Value::String(text) => parse_memory(text).map_err(|e| KubeError::arg(name, e.to_string())),
        Value::Number(n) => n
            .as_u64()
            .ok_or_else(|| KubeError::arg(name, format!("{n} is not a whole number of bytes"))),
        other => Err(KubeError::arg(name, format!("{other} is not a quantity"))),
    }
}

impl MemoryArgs {
    /// Reads `{factor: 2, floor: "256Mi", cap: "4Gi"}` (each optional).
    pub fn from_args(args: &Value) -> Result<MemoryArgs, KubeError> {
        let factor = match &args["factor"] {
            Value::Null => 2.0,
            Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
            Value::String(s) => s.trim().parse().unwrap_or(f64::NAN),
            _ => f64::NAN,
        };
        if !(factor > 1.0 && factor <= 64.0) {
            return Err(KubeError::arg(
                "factor",
                format!(
                    "{} must be a number above 1 (and at most 64)",
                    args["factor"]
                ),
            ));
        }
        let floor = quantity_arg(args, "floor", "256Mi")?;
        let cap = quantity_arg(args, "cap", "4Gi")?;
        if floor > cap {
            return Err(KubeError::arg(
                "floor",
                format!(
                    "floor {} is above cap {}",
                    format_memory(floor),
                    format_memory(cap)
                ),
            ));
        }
        Ok(MemoryArgs { factor, floor, cap })
    }
}

/// The new memory limit (and request, if it had to follow) of one container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemoryPlan {
    pub container: String,
    #[serde(skip)]
    pub field: &'static str,
    pub current_limit: String,
    pub current_limit_bytes: u64,
    pub new_limit: String,
    pub new_limit_bytes: u64,
    pub current_request: Option<String>,
    /// Set when the request had to be lowered to stay ≤ the limit.
    pub new_request: Option<String>,
}

/// new limit = clamp(current × factor, floor, cap), rounded up to whole Mi; refused when the
/// current limit is at or above the cap, or there is no limit to raise.
pub fn memory_plan(
    container: &TemplateContainer,
    args: &MemoryArgs,
) -> Result<MemoryPlan, KubeError> {
    let current_text = container.memory_limit.clone().ok_or_else(|| {
        KubeError::Refused(format!(
            "container {} has no memory limit to raise",
            container.name
        ))
    })?;
    let current = parse_memory(&current_text).map_err(|e| KubeError::Refused(e.to_string()))?;
    if current >= args.cap {
        return Err(KubeError::Refused(format!(
            "container {}: memory limit {current_text} is already at cap {}",
            container.name,
            format_memory(args.cap)
        )));
    }
    let scaled = (current as f64 * args.factor).ceil();
    let scaled = if scaled >= u64::MAX as f64 {
        u64::MAX
    } else {
        scaled as u64
    };
    let rounded = if scaled >= MI {
        scaled.div_ceil(MI).saturating_mul(MI)
    } else {
        scaled
    };
    let new = rounded.clamp(args.floor, args.cap);
    let new_request = match container.memory_request.as_deref() {
        Some(request) => match parse_memory(request) {
            Ok(bytes) if bytes > new => Some(format_memory(new)),
            _ => None,
        },
        None => None,
    };
    Ok(MemoryPlan {
        container: container.name.clone(),
        field: container.field,
        current_limit: current_text,
        current_limit_bytes: current,
        new_limit: format_memory(new),
        new_limit_bytes: new,
        current_request: container.memory_request.clone(),
        new_request,
    })
}

pub fn memory_patch(kind: WorkloadKind, plan: &MemoryPlan) -> Value {
    let mut resources = json!({"limits": {"memory": plan.new_limit}});
    if let Some(request) = &plan.new_request {
        resources["requests"] = json!({"memory": request});
    }
    wrap_template(
        kind,
        json!({"spec": {plan.field: [{"name": plan.container, "resources": resources}]}}),
    )
}

/// The value `kubectl rollout restart` writes: RFC 3339 to the second.
pub fn restarted_at(now: DateTime<Utc>) -> String {
    now.to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub fn restart_patch(kind: WorkloadKind, now: DateTime<Utc>) -> Value {
    wrap_template(
        kind,
        json!({"metadata": {"annotations": {RESTARTED_AT: restarted_at(now)}}}),
    )
}

pub fn cordon_patch(unschedulable: bool) -> Value {
    json!({"spec": {"unschedulable": unschedulable}})
}

/// The fields of a workload that actions change, for before/after reports.
pub fn template_view(kind: WorkloadKind, object: &Value) -> Value {
    let template = template_of(kind, object).cloned().unwrap_or(Value::Null);
    let containers: Vec<Value> = template_containers(&template)
        .into_iter()
        .map(|c| {
            json!({"name": c.name, "image": c.image, "memory_limit": c.memory_limit,
                   "memory_request": c.memory_request})
        })
        .collect();
    json!({
        "kind": kind.as_str(),
        "name": object["metadata"]["name"],
        "generation": object["metadata"]["generation"],
        "containers": containers,
        "restarted_at": template["metadata"]["annotations"][RESTARTED_AT],
    })
}

/// Why uncordon must not happen now, if it must not: the node is not Ready or reports pressure.
pub fn uncordon_refusal(node: &Node) -> Option<String> {
    let facts = facts::node_facts(node);
    let name = &facts.name;
    if !facts.ready() {
        let status = node_condition(node, "Ready")
            .map(|c| c.status.clone())
            .unwrap_or_else(|| "missing".into());
        return Some(format!(
            "node {name} is not Ready (Ready={status}); not uncordoning"
        ));
    }
    let pressures = facts.pressures();
    if !pressures.is_empty() {
        return Some(format!(
            "node {name} reports {}; not uncordoning",
            pressures.join(", ")
        ));
    }
    None
}

/// A pod by identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PodRef {
    pub namespace: String,
    pub name: String,
    pub uid: String,
}

impl PodRef {
    pub fn of(pod: &Pod) -> PodRef {
        PodRef {
            namespace: pod.metadata.namespace.clone().unwrap_or_default(),
            name: pod.metadata.name.clone().unwrap_or_default(),
            uid: pod.metadata.uid.clone().unwrap_or_default(),
        }
    }

    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// A pod a drain leaves alone, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub pod: String,
    pub why: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DrainPlan {
    /// Pods to evict.
    pub evict: Vec<PodRef>,
    /// Pods already being deleted (a drain waits for them, it does not evict them again).
    pub terminating: Vec<PodRef>,
    pub skipped: Vec<Skipped>,
}

/// Why a drain leaves `pod` alone, if it does.
pub fn drain_skip_reason(pod: &Pod, evict_unmanaged: bool) -> Option<String> {
    let meta = &pod.metadata;
    if meta
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key(MIRROR_ANNOTATION))
    {
        return Some("mirror pod (static pod of the kubelet)".into());
    }
    let owner = controller_of(meta);
    if owner.as_ref().is_some_and(|o| o.kind == "DaemonSet") {
        return Some("owned by a DaemonSet".into());
    }
    if meta.namespace.as_deref() == Some("kube-system") {
        return Some("in kube-system".into());
    }
    if let Some(phase @ ("Succeeded" | "Failed")) = facts::pod_phase(pod) {
        return Some(format!("already terminated ({phase})"));
    }
    if owner.is_none() && !evict_unmanaged {
        return Some(
            "not managed by a controller: nothing would recreate it (force: true evicts it)".into(),
        );
    }
    None
}

/// Which pods on `node` a drain evicts: all but DaemonSet pods, mirror pods, kube-system pods,
/// terminated pods and (unless `evict_unmanaged`) pods no controller would recreate.
pub fn drain_plan(pods: &[Pod], node: &str, evict_unmanaged: bool) -> DrainPlan {
    let mut plan = DrainPlan::default();
    let mut on_node: Vec<&Pod> = pods
        .iter()
        .filter(|p| facts::pod_node(p) == Some(node))
        .collect();
    on_node.sort_by_key(|p| (p.metadata.namespace.clone(), p.metadata.name.clone()));
    for pod in on_node {
        let id = PodRef::of(pod);
        if let Some(why) = drain_skip_reason(pod, evict_unmanaged) {
            plan.skipped.push(Skipped { pod: id.key(), why });
        } else if facts::is_deleting(pod) {
            plan.terminating.push(id);
        } else {
            plan.evict.push(id);
        }
    }
    plan
}

/// `drain`'s arguments: how long to keep retrying evictions a PodDisruptionBudget refuses, the
/// pause between rounds, and whether to evict pods no controller manages.
#[derive(Debug, Clone, PartialEq)]
pub struct DrainArgs {
    pub timeout: Duration,
    pub retry_every: Duration,
    pub force: bool,
}

fn seconds_arg(args: &Value, name: &'static str, default: f64) -> Result<Duration, KubeError> {
    let seconds = match &args[name] {
        Value::Null => default,
        Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
        other => {
            return Err(KubeError::arg(
                name,
                format!("{other} is not a number of seconds"),
            ));
        }
    };
    if !(0.0..=3600.0).contains(&seconds) {
        return Err(KubeError::arg(
            name,
            format!("{seconds} is not between 0 and 3600 seconds"),
        ));
    }
    Ok(Duration::from_secs_f64(seconds))
}

impl DrainArgs {
    pub fn from_args(args: &Value) -> Result<DrainArgs, KubeError> {
        Ok(DrainArgs {
            timeout: seconds_arg(args, "timeout", 120.0)?,
            retry_every: seconds_arg(args, "retry_every", 5.0)?,
            force: args["force"].as_bool().unwrap_or(false),
        })
    }
}

/// The body of an Eviction for the given policy group version.
pub fn eviction_body(api_version: &str, pod: &PodRef, dry_run: bool) -> Value {
    let mut delete_options = json!({"preconditions": {"uid": pod.uid}});
    if dry_run {
        delete_options["dryRun"] = json!(["All"]);
    }
    json!({
        "apiVersion": api_version,
        "kind": "Eviction",
        "metadata": {"name": pod.name, "namespace": pod.namespace},
        "deleteOptions": delete_options,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::quantity::GI;

    fn deployment(containers: Value) -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "generation": 3},
            "spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: "2024-01-01T00:00:00Z"}},
                                  "spec": {"containers": containers}}}
        })
    }

    fn container(name: &str, limit: Option<&str>, request: Option<&str>) -> TemplateContainer {
        TemplateContainer {
            name: name.into(),
            field: "containers",
            image: Some("img".into()),
            memory_limit: limit.map(Into::into),
            memory_request: request.map(Into::into),
        }
    }

    #[test]
    fn templates_and_patch_wrapping() {
        let d = deployment(json!([{"name": "web", "image": "a:1"}]));
        assert_eq!(
            template_of(WorkloadKind::Deployment, &d).unwrap()["spec"]["containers"][0]["image"],
            "a:1"
        );
        let cj = json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [
            {"name": "job", "image": "j:1"}]}}}}}});
        assert_eq!(
            template_containers(template_of(WorkloadKind::CronJob, &cj).unwrap())[0].name,
            "job"
        );
        assert!(template_of(WorkloadKind::CronJob, &d).is_none());

        let c = container("web", None, None);
        assert_eq!(
            image_patch(WorkloadKind::StatefulSet, &c, "nginx:1.25"),
            json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]}}}})
        );
        assert_eq!(
            image_patch(WorkloadKind::CronJob, &c, "x:2"),
            json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [
                {"name": "web", "image": "x:2"}]}}}}}})
        );
        let now = DateTime::parse_from_rfc3339("2024-05-06T07:08:09.123Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            restart_patch(WorkloadKind::Deployment, now),
            json!({"spec": {"template": {"metadata": {"annotations": {
                "kubectl.kubernetes.io/restartedAt": "2024-05-06T07:08:09Z"}}}}})
        );
        assert_eq!(cordon_patch(true), json!({"spec": {"unschedulable": true}}));
    }

    #[test]
    fn picking_the_container() {
        let template = json!({"spec": {
            "initContainers": [{"name": "init", "image": "i:1"}],
            "containers": [{"name": "app", "image": "a:1"}, {"name": "proxy", "image": "p:1"}]}});
        let pick = |named: Option<&str>, failing: &[&str]| {
            let failing: Vec<String> = failing.iter().map(|s| s.to_string()).collect();
            pick_container(&template, named, &failing).map(|c| (c.name, c.field))
        };
        assert_eq!(
            pick(Some("proxy"), &[]).unwrap(),
            ("proxy".into(), "containers")
        );
        assert_eq!(
            pick(Some("init"), &[]).unwrap(),
            ("init".into(), "initContainers")
        );
        assert!(pick(Some("nope"), &[]).is_err());
        assert_eq!(
            pick(None, &["gone", "proxy"]).unwrap(),
            ("proxy".into(), "containers")
        );
        let err = pick(None, &[]).unwrap_err().to_string();
        assert!(err.contains("several containers"), "{err}");
        let single = json!({"spec": {"containers": [{"name": "only", "image": "o:1"}]}});
        assert_eq!(pick_container(&single, None, &[]).unwrap().name, "only");
        assert!(pick_container(&json!({"spec": {}}), None, &[]).is_err());

        let c = pick_container(&template, Some("init"), &[]).unwrap();
        assert_eq!(
            image_patch(WorkloadKind::DaemonSet, &c, "i:2"),
            json!({"spec": {"template": {"spec": {"initContainers": [{"name": "init", "image": "i:2"}]}}}})
        );
    }

    #[test]
    fn memory_args() {
        let a = MemoryArgs::from_args(&json!({})).unwrap();
        assert_eq!(
            a,
            MemoryArgs {
                factor: 2.0,
                floor: 256 * MI,
                cap: 4 * GI
            }
        );
        let a =
            MemoryArgs::from_args(&json!({"factor": 1.5, "floor": "100Mi", "cap": 2147483648u64}))
                .unwrap();
        assert_eq!(
            a,
            MemoryArgs {
                factor: 1.5,
                floor: 100 * MI,
                cap: 2 * GI
            }
        );
        assert_eq!(
            MemoryArgs::from_args(&json!({"factor": "3"}))
                .unwrap()
                .factor,
            3.0
        );
        for bad in [
            json!({"factor": 1}),
            json!({"factor": 0.5}),
            json!({"factor": "x"}),
            json!({"factor": true}),
            json!({"floor": "lots"}),
            json!({"cap": [1]}),
            json!({"floor": "8Gi", "cap": "4Gi"}),
        ] {
            assert!(MemoryArgs::from_args(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn memory_plans() {
        let defaults = MemoryArgs::from_args(&json!({})).unwrap();
        // (limit, request, args, new limit, new request) — Err(text) when refused.
        type Want = Result<(&'static str, Option<&'static str>), &'static str>;
        let table: Vec<(Option<&str>, Option<&str>, &MemoryArgs, Want)> = vec![
            (Some("128Mi"), None, &defaults, Ok(("256Mi", None))),
            (Some("64Mi"), None, &defaults, Ok(("256Mi", None))), // floor
            (Some("512Mi"), Some("512Mi"), &defaults, Ok(("1Gi", None))),
            (Some("3Gi"), None, &defaults, Ok(("4Gi", None))), // cap
            (Some("4Gi"), None, &defaults, Err("already at cap")),
            (Some("5Gi"), None, &defaults, Err("already at cap")),
            (None, None, &defaults, Err("no memory limit")),
            (Some("1G"), None, &defaults, Ok(("1908Mi", None))), // 2e9 bytes → whole Mi
            (
                Some("300Mi"),
                None,
                &MemoryArgs {
                    factor: 1.5,
                    floor: 0,
                    cap: 4 * GI,
                },
                Ok(("450Mi", None)),
            ),
            // A request above the limit (invalid already) is brought down to the new limit.
            (
                Some("100Mi"),
                Some("1Gi"),
                &MemoryArgs {
                    factor: 2.0,
                    floor: 0,
                    cap: 4 * GI,
                },
                Ok(("200Mi", Some("200Mi"))),
            ),
        ];
        for (limit, request, args, want) in table {
            let got = memory_plan(&container("app", limit, request), args);
            match (got, want) {
                (Ok(plan), Ok((new, new_request))) => {
                    assert_eq!(plan.new_limit, new, "{limit:?}");
                    assert_eq!(plan.new_request.as_deref(), new_request, "{limit:?}");
                    assert_eq!(parse_memory(&plan.new_limit).unwrap(), plan.new_limit_bytes);
                }
                (Err(e), Err(text)) => assert!(e.to_string().contains(text), "{e}"),
                (got, want) => panic!("{limit:?}: got {got:?}, want {want:?}"),
            }
        }
        let plan = memory_plan(&container("app", Some("128Mi"), Some("64Mi")), &defaults).unwrap();
        assert_eq!(
            memory_patch(WorkloadKind::Deployment, &plan),
            json!({"spec": {"template": {"spec": {"containers": [
                {"name": "app", "resources": {"limits": {"memory": "256Mi"}}}]}}}})
        );
        let plan = memory_plan(
            &container("app", Some("100Mi"), Some("1Gi")),
            &MemoryArgs {
                factor: 2.0,
                floor: 0,
                cap: 4 * GI,
            },
        )
        .unwrap();
        assert_eq!(
            memory_patch(WorkloadKind::Deployment, &plan)["spec"]["template"]["spec"]["containers"]
                [0]["resources"],
            json!({"limits": {"memory": "200Mi"}, "requests": {"memory": "200Mi"}})
        );
    }

    #[test]
    fn template_views() {
        let d = deployment(json!([{"name": "web", "image": "a:1",
            "resources": {"limits": {"memory": "128Mi"}}}]));
        assert_eq!(
            template_view(WorkloadKind::Deployment, &d),
            json!({"kind": "Deployment", "name": "web", "generation": 3,
                   "containers": [{"name": "web", "image": "a:1", "memory_limit": "128Mi", "memory_request": null}],
                   "restarted_at": "2024-01-01T00:00:00Z"})
        );
    }

    fn node(conditions: Value) -> Node {
        serde_json::from_value(
            json!({"metadata": {"name": "n1"}, "status": {"conditions": conditions}}),
        )
        .unwrap()
    }

    #[test]
    fn uncordon_only_when_ready_and_without_pressure() {
        let table = [
            (
                json!([{"type": "Ready", "status": "True"}, {"type": "MemoryPressure", "status": "False"}]),
                None,
            ),
            (
                json!([{"type": "Ready", "status": "Unknown"}]),
                Some("not Ready (Ready=Unknown)"),
            ),
            (
                json!([{"type": "Ready", "status": "False"}]),
                Some("not Ready (Ready=False)"),
            ),
            (json!([]), Some("Ready=missing")),
            (
                json!([{"type": "Ready", "status": "True"}, {"type": "DiskPressure", "status": "True"}]),
                Some("reports DiskPressure"),
            ),
            (
                json!([{"type": "Ready", "status": "True"}, {"type": "PIDPressure", "status": "Unknown"}]),
                Some("reports PIDPressure"),
            ),
        ];
        for (conditions, want) in table {
            let got = uncordon_refusal(&node(conditions.clone()));
            match want {
                None => assert_eq!(got, None, "{conditions}"),
                Some(text) => assert!(
                    got.as_deref().unwrap_or_default().contains(text),
                    "{conditions}: {got:?}"
                ),
            }
        }
    }

    fn pod(ns: &str, name: &str, node: &str, owner: Option<&str>, extra: Value) -> Pod {
        let mut p = json!({
            "metadata": {"name": name, "namespace": ns, "uid": format!("uid-{name}")},
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": "i"}]},
            "status": {"phase": "Running"}
        });
        if let Some(kind) = owner {
            p["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": kind,
                "name": "owner", "uid": "o", "controller": true}]);
        }
        for (path, value) in extra.as_object().into_iter().flatten() {
            let (section, key) = path.split_once('.').unwrap();
            p[section][key] = value.clone();
        }
        serde_json::from_value(p).unwrap()
    }

    #[test]
    fn drain_plans() {
        let pods = vec![
            pod("shop", "web-1", "n1", Some("ReplicaSet"), json!({})),
            pod("shop", "db-0", "n1", Some("StatefulSet"), json!({})),
            pod("shop", "agent-x", "n1", Some("DaemonSet"), json!({})),
            pod(
                "kube-system",
                "coredns-1",
                "n1",
                Some("ReplicaSet"),
                json!({}),
            ),
            pod(
                "kube-system",
                "etcd-n1",
                "n1",
                Some("Node"),
                json!({"metadata.annotations": {MIRROR_ANNOTATION: "abc"}}),
            ),
            pod(
                "shop",
                "static-web-n1",
                "n1",
                None,
                json!({"metadata.annotations": {MIRROR_ANNOTATION: "abc"}}),
            ),
            pod(
                "shop",
                "job-x",
                "n1",
                Some("Job"),
                json!({"status.phase": "Succeeded"}),
            ),
            pod(
                "shop",
                "failed-x",
                "n1",
                Some("Job"),
                json!({"status.phase": "Failed"}),
            ),
            pod("shop", "bare", "n1", None, json!({})),
            pod(
                "shop",
                "going",
                "n1",
                Some("ReplicaSet"),
                json!({"metadata.deletionTimestamp": "2024-01-01T00:00:00Z"}),
            ),
            pod("shop", "elsewhere", "n2", Some("ReplicaSet"), json!({})),
        ];
        let plan = drain_plan(&pods, "n1", false);
        let names = |refs: &[PodRef]| refs.iter().map(PodRef::key).collect::<Vec<_>>();
        assert_eq!(names(&plan.evict), ["shop/db-0", "shop/web-1"]);
        assert_eq!(names(&plan.terminating), ["shop/going"]);
        let skipped: Vec<(&str, &str)> = plan
            .skipped
            .iter()
            .map(|s| (s.pod.as_str(), s.why.split(' ').next().unwrap()))
            .collect();
        assert_eq!(
            skipped,
            [
                ("kube-system/coredns-1", "in"),
                ("kube-system/etcd-n1", "mirror"),
                ("shop/agent-x", "owned"),
                ("shop/bare", "not"),
                ("shop/failed-x", "already"),
                ("shop/job-x", "already"),
                ("shop/static-web-n1", "mirror"),
            ]
        );
        let forced = drain_plan(&pods, "n1", true);
        assert_eq!(
            names(&forced.evict),
            ["shop/bare", "shop/db-0", "shop/web-1"]
        );
        assert_eq!(plan.evict[0].uid, "uid-db-0");
    }

    #[test]
    fn drain_args_and_eviction_bodies() {
        let a = DrainArgs::from_args(&json!({})).unwrap();
        assert_eq!(a.timeout, Duration::from_secs(120));
        assert!(!a.force);
        let a = DrainArgs::from_args(&json!({"timeout": 5, "retry_every": 0.5, "force": true}))
            .unwrap();
        assert_eq!(
            (a.timeout, a.retry_every, a.force),
            (Duration::from_secs(5), Duration::from_millis(500), true)
        );
        assert!(DrainArgs::from_args(&json!({"timeout": -1})).is_err());
        assert!(DrainArgs::from_args(&json!({"timeout": "1m"})).is_err());

        let pod = PodRef {
            namespace: "shop".into(),
            name: "web-1".into(),
            uid: "u".into(),
        };
        assert_eq!(
            eviction_body("policy/v1beta1", &pod, true),
            json!({"apiVersion": "policy/v1beta1", "kind": "Eviction",
                   "metadata": {"name": "web-1", "namespace": "shop"},
                   "deleteOptions": {"preconditions": {"uid": "u"}, "dryRun": ["All"]}})
        );
        assert_eq!(
            eviction_body("policy/v1", &pod, false)["deleteOptions"],
            json!({"preconditions": {"uid": "u"}})
        );
    }
}

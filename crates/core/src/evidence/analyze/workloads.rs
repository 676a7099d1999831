//! Controllers: a rollout past its deadline, fewer replicas than desired, an old ReplicaSet
//! still serving, Jobs that gave up, HPAs pinned at their maximum.

use crate::evidence::finding::{Category, Evidence, Finding, Severity};
use crate::evidence::snapshot::{Snapshot, Workload, condition};

pub(super) fn rollout(snapshot: &Snapshot, workload: &Workload, out: &mut Vec<Finding>) {
    let object = workload.object();
    if let Some(progressing) = condition(&workload.conditions, "Progressing")
        .filter(|c| c.is("False") || c.reason.as_deref() == Some("ProgressDeadlineExceeded"))
    {
        out.push(
            Finding::new(
                "rollout_stuck",
                Severity::Critical,
                Category::Unknown,
                format!(
                    "the rollout of {} {} is stuck ({}): its new pods do not become available",
                    workload.kind,
                    workload.name,
                    progressing.reason.as_deref().unwrap_or("Progressing=False")
                ),
            )
            .reason("ProgressDeadlineExceeded")
            .evidence(Evidence::new(
                &object,
                "status.conditions[Progressing]",
                progressing.message.clone().unwrap_or_default(),
            ))
            .remedy("find why the new pods fail (the findings about them), then fix forward or `kubectl rollout undo`"),
        );
    }
    if let (Some(desired), Some(available)) =
        (workload.desired, workload.available.or(workload.ready))
        && available < desired
        && workload.kind != "ReplicaSet"
    {
        out.push(
            Finding::new(
                "replicas_mismatch",
                Severity::Warning,
                Category::Unknown,
                format!(
                    "{} {} has {available} of {desired} desired replicas available",
                    workload.kind, workload.name
                ),
            )
            .reason("ReplicasMismatch")
            .evidence(Evidence::new(
                &object,
                "status.availableReplicas",
                format!("{available} of {desired}"),
            )),
        );
    }
    // Old ReplicaSets of a Deployment that still run pods while the newest is not ready.
    if workload.kind == "Deployment" {
        let mut sets: Vec<&Workload> = snapshot
            .workloads
            .iter()
            .filter(|rs| {
                rs.kind == "ReplicaSet"
                    && rs.namespace == workload.namespace
                    && rs.owner.as_ref().is_some_and(|o| o.name == workload.name)
            })
            .collect();
        sets.sort_by_key(|rs| rs.revision.unwrap_or(0));
        if let Some((newest, older)) = sets.split_last() {
            let newest_ready = newest.ready.unwrap_or(0);
            let serving: Vec<&&Workload> = older
                .iter()
                .filter(|rs| rs.ready.unwrap_or(0) > 0)
                .collect();
            if !serving.is_empty() && newest_ready < newest.desired.unwrap_or(0) {
                let mut finding = Finding::new(
                    "old_replicaset_serving",
                    Severity::Warning,
                    Category::Unknown,
                    format!(
                        "Deployment {} is mid-rollout: the new ReplicaSet {} has {newest_ready} of {} ready while {} still serves",
                        workload.name,
                        newest.name,
                        newest.desired.unwrap_or(0),
                        serving.iter().map(|rs| rs.name.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                )
                .evidence(Evidence::new(&newest.object(), "status.readyReplicas", newest_ready.to_string()));
                for rs in serving {
                    finding = finding.evidence(Evidence::new(
                        &rs.object(),
                        "status.readyReplicas",
                        rs.ready.unwrap_or(0).to_string(),
                    ));
                }
                out.push(finding);
            }
        }
        // A rollback already happened: the controller says so.
        if let Some(event) = snapshot.events_of(&object).find(|e| {
            e.reason == "DeploymentRollback"
                || e.message.to_ascii_lowercase().contains("rolled back")
        }) {
            out.push(
                Finding::new(
                    "rolled_back",
                    Severity::Info,
                    Category::Unknown,
                    format!(
                        "Deployment {} was already rolled back: {}",
                        workload.name, event.message
                    ),
                )
                .evidence(Evidence::event(&object, event)),
            );
        }
    }
}

pub(super) fn jobs(snapshot: &Snapshot, out: &mut Vec<Finding>) {
    for job in &snapshot.jobs {
        let Some(failed) = condition(&job.conditions, "Failed").filter(|c| c.is("True")) else {
            continue;
        };
        let reason = failed.reason.as_deref().unwrap_or("Failed");
        let (category, cause) = match reason {
            "DeadlineExceeded" => (
                Category::ResourceExhaustion,
                "it ran past its activeDeadlineSeconds".to_owned(),
            ),
            _ => (
                Category::Unknown,
                format!(
                    "its pods failed {} times, past its backoffLimit{}",
                    job.failed.unwrap_or(0),
                    job.backoff_limit
                        .map(|b| format!(" of {b}"))
                        .unwrap_or_default()
                ),
            ),
        };
        out.push(
            Finding::new(
                "job_failed",
                Severity::Critical,
                category,
                format!("Job {} failed ({reason}): {cause}", job.name),
            )
            .reason("JobFailed")
            .evidence(Evidence::new(
                &job.object(),
                "status.conditions[Failed]",
                format!("{reason}: {}", failed.message.as_deref().unwrap_or("")),
            ))
            .remedy("fix the error its pods log, then re-run the Job (delete and recreate, or wait for the CronJob's next run)"),
        );
    }
}

pub(super) fn hpas(snapshot: &Snapshot, out: &mut Vec<Finding>) {
    for hpa in &snapshot.hpas {
        let (Some(current), Some(max)) = (hpa.current_replicas, hpa.max_replicas) else {
            continue;
        };
        let limited = condition(&hpa.conditions, "ScalingLimited").filter(|c| c.is("True"));
        if current < max && limited.is_none() {
            continue;
        }
        let mut finding = Finding::new(
            "hpa_at_max",
            Severity::Warning,
            Category::ResourceExhaustion,
            format!(
                "HorizontalPodAutoscaler {} is at its maximum of {max} replicas{}: it cannot add capacity",
                hpa.name,
                hpa.desired_replicas
                    .filter(|d| *d > max)
                    .map(|d| format!(" (it wants {d})"))
                    .unwrap_or_default()
            ),
        )
        .reason("HPAMaxedOut")
        .evidence(Evidence::new(&hpa.object(), "status.currentReplicas", format!("{current} of max {max}")))
        .remedy("raise maxReplicas, or make each replica do more (resources, efficiency)");
        if let Some(limited) = limited {
            finding = finding.evidence(Evidence::new(
                &hpa.object(),
                "status.conditions[ScalingLimited]",
                limited.message.clone().unwrap_or_default(),
            ));
        }
        out.push(finding);
    }
}

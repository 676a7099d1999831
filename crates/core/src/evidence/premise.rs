//! Whether an action's premise holds now: the fault the action is meant to fix is what the
//! cluster shows at the moment of deciding. An alert is a claim (it may be stale, forged or
//! about a pod that recovered); the assessment is what was read. The policy denies an action
//! whose premise does not hold, whoever asks for it — a runbook, in auto mode, or a human's
//! approval given before the pod recovered.

use super::analyze::Assessment;
use super::finding::{Finding, Severity};
use crate::action::{Action, ActionObject, ActionTarget};
use serde::{Deserialize, Serialize};

/// The answer, with the fact it rests on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Premise {
    pub holds: bool,
    /// The finding the action answers, or why none does.
    pub because: String,
}

impl Premise {
    fn holds(finding: &Finding) -> Premise {
        Premise {
            holds: true,
            because: finding.summary.clone(),
        }
    }

    fn fails(because: String) -> Premise {
        Premise {
            holds: false,
            because,
        }
    }
}

const NODE_TROUBLE: &[&str] = &["node_not_ready", "node_pressure"];

/// The premise of `action` on `target` given `assessment`; `None` for an action nightwatch does
/// not know (the policy refuses those on their own account).
pub fn premise(action: &str, target: &ActionTarget, assessment: &Assessment) -> Option<Premise> {
    let action = Action::parse(action)?;
    let about_node = |finding: &&Finding, analyzers: &[&str]| {
        analyzers.contains(&finding.analyzer.as_str())
            && finding
                .objects
                .iter()
                .any(|o| o.kind == "Node" && o.name == target.name)
    };
    let found = |analyzers: &[&str]| {
        assessment
            .findings
            .iter()
            .filter(|f| f.severity >= Severity::Warning)
            .find(|f| about_node(f, analyzers))
    };
    let answer = match action {
        Action::Cordon | Action::Drain => match found(NODE_TROUBLE) {
            Some(finding) => Premise::holds(finding),
            None => Premise::fails(format!(
                "node {} shows no NotReady or pressure condition now",
                target.name
            )),
        },
        Action::Uncordon => match (found(NODE_TROUBLE), found(&["node_cordoned"])) {
            (Some(trouble), _) => Premise::fails(format!(
                "node {} is not healthy: {}",
                target.name, trouble.summary
            )),
            (None, Some(cordoned)) => Premise::holds(cordoned),
            (None, None) => Premise::fails(format!("node {} is not cordoned now", target.name)),
        },
        _ => workload_premise(action, target, assessment),
    };
    Some(answer)
}

/// A pod's or workload's action: a failure the action answers shows on the target's pods now.
fn workload_premise(action: Action, target: &ActionTarget, assessment: &Assessment) -> Premise {
    debug_assert!(matches!(
        action.object(),
        ActionObject::Pod | ActionObject::Workload
    ));
    if let Some(healthy) = &assessment.healthy {
        return Premise::fails(healthy.summary.clone());
    }
    let (analyzers, what): (&[&str], &str) = match action.governing() {
        Action::IncreaseMemoryLimit => (&["oom_killed"], "an out-of-memory kill"),
        Action::PatchImage => (&["image_pull"], "an image that cannot be pulled"),
        // A restart or a fresh pod answers any failing pod; which one is the runbook's call.
        _ => (&[], "a failing pod"),
    };
    let in_namespace = |finding: &&Finding| {
        finding.objects.iter().any(|o| {
            o.kind != "Node"
                && (target.namespace.is_none()
                    || o.namespace.as_deref() == target.namespace.as_deref())
        })
    };
    let supporting = assessment
        .findings
        .iter()
        .filter(|f| f.severity >= Severity::Warning)
        .filter(in_namespace)
        .find(|f| {
            if analyzers.is_empty() {
                !NODE_TROUBLE.contains(&f.analyzer.as_str()) && f.analyzer != "node_cordoned"
            } else {
                analyzers.contains(&f.analyzer.as_str())
            }
        });
    match supporting {
        Some(finding) => Premise::holds(finding),
        None => Premise::fails(format!(
            "no finding shows {what} now ({})",
            assessment.conclusion
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::analyze::Healthy;
    use crate::evidence::finding::Category;
    use crate::evidence::scope::Scope;
    use crate::evidence::snapshot::ObjectRef;

    fn finding(analyzer: &str, severity: Severity, object: ObjectRef) -> Finding {
        let mut finding = Finding::new(
            analyzer,
            severity,
            Category::Unknown,
            format!("{analyzer} on {object}"),
        );
        finding.objects.push(object);
        finding
    }

    fn assessment(findings: Vec<Finding>, healthy: bool) -> Assessment {
        Assessment {
            scope: Scope::default(),
            findings,
            healthy: healthy.then(|| Healthy {
                summary: "pod shop/api-1 is healthy: Running and Ready".to_owned(),
                evidence: Vec::new(),
            }),
            category: Category::Unknown,
            conclusion: "what was read".to_owned(),
            unseen: Vec::new(),
        }
    }

    fn pod(name: &str) -> ObjectRef {
        ObjectRef::new("Pod", Some("shop"), name)
    }

    fn node(name: &str) -> ObjectRef {
        ObjectRef::new("Node", None, name)
    }

    #[test]
    fn each_action_needs_the_fault_it_answers() {
        let deployment = ActionTarget::namespaced("Deployment", "shop", "api");
        let the_pod = ActionTarget::namespaced("Pod", "shop", "api-1");
        let node_1 = ActionTarget::cluster("Node", "node-1");
        let node_2 = ActionTarget::cluster("Node", "node-2");
        let crash = finding("crash_loop", Severity::Critical, pod("api-1"));
        let oom = finding("oom_killed", Severity::Warning, pod("api-1"));
        let pull = finding("image_pull", Severity::Critical, pod("api-1"));
        let not_ready = finding("node_not_ready", Severity::Critical, node("node-1"));
        let cordoned = finding("node_cordoned", Severity::Warning, node("node-1"));
        let elsewhere = finding(
            "crash_loop",
            Severity::Critical,
            ObjectRef::new("Pod", Some("other"), "x"),
        );
        let info = finding("terminated", Severity::Info, pod("api-1"));
        #[rustfmt::skip]
        let table: Vec<(&str, &ActionTarget, Vec<Finding>, bool, bool)> = vec![
            // action, target, findings, healthy, holds
            ("rollout_restart", &deployment, vec![crash.clone()], false, true),
            ("rollout_restart", &deployment, vec![oom.clone()], false, true),
            ("rollout_restart", &deployment, vec![], true, false),
            ("rollout_restart", &deployment, vec![info.clone()], true, false),
            ("rollout_restart", &deployment, vec![], false, false),
            ("rollout_restart", &deployment, vec![elsewhere], false, false),
            ("rollout_restart", &deployment, vec![not_ready.clone()], false, false),
            ("delete_pod", &the_pod, vec![crash.clone()], false, true),
            ("increase_memory_limit", &deployment, vec![oom.clone()], false, true),
            ("increase_memory_limit", &deployment, vec![crash.clone()], false, false),
            ("patch_image", &deployment, vec![pull.clone()], false, true),
            ("fix_imagepullbackoff", &deployment, vec![pull], false, true),
            ("fix_imagepullbackoff", &deployment, vec![crash], false, false),
            ("cordon", &node_1, vec![not_ready.clone()], false, true),
            ("drain", &node_1, vec![not_ready.clone()], false, true),
            ("drain", &node_1, vec![cordoned.clone()], false, false),
            ("drain", &node_2, vec![not_ready.clone()], false, false),
            ("uncordon", &node_1, vec![cordoned.clone()], false, true),
            ("uncordon", &node_1, vec![cordoned, not_ready], false, false),
            ("uncordon", &node_1, vec![], true, false),
        ];
        for (action, target, findings, healthy, holds) in table {
            let premise = premise(action, target, &assessment(findings.clone(), healthy)).unwrap();
            assert_eq!(
                premise.holds, holds,
                "{action} on {target} with {findings:?}: {premise:?}"
            );
            assert!(!premise.because.is_empty());
        }
    }

    #[test]
    fn a_healthy_subject_says_so_and_an_unknown_action_is_left_to_the_policy() {
        let target = ActionTarget::namespaced("Deployment", "shop", "api");
        let healthy = premise("rollout_restart", &target, &assessment(Vec::new(), true)).unwrap();
        assert!(healthy.because.contains("healthy"), "{healthy:?}");
        assert_eq!(
            premise("delete_namespace", &target, &assessment(Vec::new(), false)),
            None
        );
    }
}

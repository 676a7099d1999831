//! Each analyzer on objects built here: the fault it names, and silence on healthy objects.

use super::*;
use crate::evidence::snapshot::*;

fn pod(name: &str) -> Pod {
    Pod {
        namespace: "shop".into(),
        name: name.into(),
        phase: Some("Running".into()),
        node: Some("n1".into()),
        owner: Some(ObjectRef::new("ReplicaSet", Some("shop"), "web-5d8")),
        conditions: vec![Condition {
            kind: "Ready".into(),
            status: "True".into(),
            ..Condition::default()
        }],
        containers: vec![Container {
            name: "app".into(),
            image: Some("shop/web:1.2".into()),
            ready: Some(true),
            state: ContainerState {
                running: Some(Running::default()),
                ..ContainerState::default()
            },
            ..Container::default()
        }],
        ..Pod::default()
    }
}

fn not_ready(mut pod: Pod) -> Pod {
    pod.conditions[0].status = "False".into();
    pod.containers[0].ready = Some(false);
    pod
}

fn waiting(mut pod: Pod, reason: &str, message: &str) -> Pod {
    pod = not_ready(pod);
    pod.containers[0].state = ContainerState {
        waiting: Some(Waiting {
            reason: Some(reason.into()),
            message: Some(message.into()),
        }),
        ..ContainerState::default()
    };
    pod
}

fn event(kind: &str, name: &str, reason: &str, message: &str) -> Event {
    Event {
        object: ObjectRef::new(kind, Some("shop"), name),
        kind: Some("Warning".into()),
        reason: reason.into(),
        message: message.into(),
        count: Some(3),
        ..Event::default()
    }
}

fn deployment(desired: i64, available: i64) -> Workload {
    Workload {
        kind: "Deployment".into(),
        namespace: "shop".into(),
        name: "web".into(),
        desired: Some(desired),
        ready: Some(available),
        available: Some(available),
        ..Workload::default()
    }
}

fn pod_scope(name: &str) -> Scope {
    Scope {
        namespace: Some("shop".into()),
        pod: Some(name.into()),
        ..Scope::default()
    }
}

fn workload_scope() -> Scope {
    Scope {
        namespace: Some("shop".into()),
        workload: Some(ObjectRef::new("Deployment", Some("shop"), "web")),
        ..Scope::default()
    }
}

fn first(assessment: &Assessment) -> &Finding {
    assessment
        .primary()
        .unwrap_or_else(|| panic!("no finding: {assessment:#?}"))
}

#[test]
fn a_healthy_workload_yields_no_finding_and_says_it_is_healthy() {
    let snapshot = Snapshot {
        pods: vec![pod("web-5d8-a"), pod("web-5d8-b")],
        workloads: vec![deployment(2, 2)],
        nodes: vec![Node {
            name: "n1".into(),
            conditions: vec![Condition {
                kind: "Ready".into(),
                status: "True".into(),
                ..Condition::default()
            }],
            ..Node::default()
        }],
        ..Snapshot::default()
    };
    let assessment = assess(&snapshot, &workload_scope());
    assert!(assessment.findings.is_empty(), "{:#?}", assessment.findings);
    assert_eq!(assessment.category, Category::Healthy);
    assert!(
        assessment.conclusion.contains("healthy"),
        "{}",
        assessment.conclusion
    );
    assert_eq!(
        assessment.healthy.as_ref().map(|h| h.evidence.len()),
        Some(3)
    );
}

#[test]
fn image_pull_with_the_registry_answer() {
    let snapshot = Snapshot {
        pods: vec![waiting(
            pod("web-5d8-a"),
            "ImagePullBackOff",
            "Back-off pulling image \"shop/web:9.9\"",
        )],
        events: vec![event(
            "Pod",
            "web-5d8-a",
            "Failed",
            "Failed to pull image \"shop/web:9.9\": rpc error: code = NotFound desc = manifest unknown",
        )],
        ..Snapshot::default()
    };
    let assessment = assess(&snapshot, &pod_scope("web-5d8-a"));
    let finding = first(&assessment);
    assert_eq!(finding.reason.as_deref(), Some("ImagePullBackOff"));
    assert_eq!(finding.category, Category::ConfigurationError);
    assert!(
        finding.summary.contains("does not exist"),
        "{}",
        finding.summary
    );
    assert!(
        finding
            .evidence
            .iter()
            .any(|e| e.detail.contains("manifest unknown"))
    );

    let unreachable = Snapshot {
        pods: vec![waiting(
            pod("web-5d8-a"),
            "ErrImagePull",
            "dial tcp 10.0.0.9:443: i/o timeout",
        )],
        ..Snapshot::default()
    };
    assert_eq!(
        assess(&unreachable, &pod_scope("web-5d8-a")).category,
        Category::DependencyFailure
    );
}

#[test]
fn missing_config_map_and_secret() {
    for (message, named) in [
        ("configmap \"web-config\" not found", "ConfigMap web-config"),
        ("secret \"db-password\" not found", "Secret db-password"),
        (
            "couldn't find key url in ConfigMap shop/web-config",
            "key url in ConfigMap shop/web-config",
        ),
    ] {
        let snapshot = Snapshot {
            pods: vec![waiting(
                pod("web-5d8-a"),
                "CreateContainerConfigError",
                message,
            )],
            ..Snapshot::default()
        };
        let finding = assess(&snapshot, &pod_scope("web-5d8-a"))
            .findings
            .remove(0);
        assert_eq!(finding.category, Category::ConfigurationError);
        assert!(finding.summary.contains(named), "{}", finding.summary);
    }
}

#[test]
fn oom_killed_with_limit_and_crash_loop_from_logs() {
    let mut oom = waiting(
        pod("web-5d8-a"),
        "CrashLoopBackOff",
        "back-off 5m0s restarting failed container",
    );
    oom.containers[0].restart_count = 8;
    oom.containers[0]
        .limits
        .insert("memory".into(), "512Mi".into());
    oom.containers[0].last_state = Some(Terminated {
        reason: Some("OOMKilled".into()),
        exit_code: Some(137),
        ..Terminated::default()
    });
    let snapshot = Snapshot {
        pods: vec![oom, pod("web-5d8-b")],
        ..Snapshot::default()
    };
    let assessment = assess(&snapshot, &pod_scope("web-5d8-a"));
    let finding = first(&assessment);
    assert_eq!(finding.reason.as_deref(), Some("OOMKilled"));
    assert_eq!(assessment.category, Category::ResourceExhaustion);
    assert!(
        finding.summary.contains("512Mi") && finding.summary.contains("137"),
        "{}",
        finding.summary
    );

    let mut crash = waiting(pod("web-5d8-a"), "CrashLoopBackOff", "");
    crash.containers[0].restart_count = 4;
    crash.containers[0].last_state = Some(Terminated {
        reason: Some("Error".into()),
        exit_code: Some(1),
        ..Terminated::default()
    });
    let snapshot = Snapshot {
        logs: vec![Logs {
            pod: "web-5d8-a".into(),
            previous: true,
            lines: vec![
                "starting".into(),
                "FATAL: environment variable DATABASE_URL is not set".into(),
            ],
            ..Logs::default()
        }],
        pods: vec![crash],
        ..Snapshot::default()
    };
    let finding = assess(&snapshot, &pod_scope("web-5d8-a"))
        .findings
        .remove(0);
    assert_eq!(finding.reason.as_deref(), Some("CrashLoopBackOff"));
    assert_eq!(finding.category, Category::ConfigurationError);
    assert!(
        finding
            .evidence
            .iter()
            .any(|e| e.detail.contains("DATABASE_URL"))
    );
}

#[test]
fn liveness_kills_are_the_probe_not_a_crash() {
    let mut restarting = not_ready(pod("web-5d8-a"));
    restarting.containers[0].restart_count = 6;
    restarting.containers[0].last_state = Some(Terminated {
        reason: Some("Error".into()),
        exit_code: Some(137),
        ..Terminated::default()
    });
    let snapshot = Snapshot {
        pods: vec![restarting],
        events: vec![
            event(
                "Pod",
                "web-5d8-a",
                "Unhealthy",
                "Liveness probe failed: HTTP probe failed with statuscode: 500",
            ),
            event(
                "Pod",
                "web-5d8-a",
                "Killing",
                "Container app failed liveness probe, will be restarted",
            ),
        ],
        ..Snapshot::default()
    };
    let assessment = assess(&snapshot, &pod_scope("web-5d8-a"));
    assert_eq!(first(&assessment).analyzer, "liveness_probe");
    assert_eq!(assessment.category, Category::ConfigurationError);
    assert!(
        assessment
            .findings
            .iter()
            .all(|f| f.analyzer != "oom_killed")
    );
}

#[test]
fn scheduling_quota_and_rollouts() {
    let mut pending = pod("web-5d8-p");
    pending.phase = Some("Pending".into());
    pending.node = None;
    pending.conditions = vec![Condition {
        kind: "PodScheduled".into(),
        status: "False".into(),
        reason: Some("Unschedulable".into()),
        message: Some("0/3 nodes are available: 3 Insufficient memory.".into()),
        ..Condition::default()
    }];
    let snapshot = Snapshot {
        pods: vec![pending],
        ..Snapshot::default()
    };
    let finding = assess(&snapshot, &pod_scope("web-5d8-p"))
        .findings
        .remove(0);
    assert_eq!(
        (finding.reason.as_deref(), finding.category),
        (Some("Unschedulable"), Category::ResourceExhaustion)
    );

    let snapshot = Snapshot {
        pods: vec![pod("web-5d8-a")],
        workloads: vec![deployment(3, 1)],
        events: vec![event(
            "ReplicaSet",
            "web-5d8",
            "FailedCreate",
            "Error creating: pods \"web-5d8-x\" is forbidden: exceeded quota: compute, requested: limits.cpu=2, used: limits.cpu=8, limited: limits.cpu=10",
        )],
        ..Snapshot::default()
    };
    let assessment = assess(&snapshot, &workload_scope());
    assert_eq!(first(&assessment).reason.as_deref(), Some("QuotaExceeded"));
    assert_eq!(assessment.category, Category::ResourceExhaustion);
    let mismatch = assessment
        .findings
        .iter()
        .find(|f| f.analyzer == "replicas_mismatch");
    assert_eq!(
        mismatch.map(|f| f.category),
        Some(Category::ResourceExhaustion),
        "the cause's class"
    );
}

#[test]
fn nodes_dns_services_and_pvcs() {
    let node = Node {
        name: "n1".into(),
        conditions: vec![Condition {
            kind: "Ready".into(),
            status: "Unknown".into(),
            reason: Some("NodeStatusUnknown".into()),
            last_heartbeat: Some("2026-12-01T03:00:00Z".into()),
            ..Condition::default()
        }],
        unschedulable: true,
        ..Node::default()
    };
    let snapshot = Snapshot {
        nodes: vec![node],
        ..Snapshot::default()
    };
    let scope = Scope {
        node: Some("n1".into()),
        ..Scope::default()
    };
    let assessment = assess(&snapshot, &scope);
    assert_eq!(first(&assessment).reason.as_deref(), Some("NodeNotReady"));
    assert!(first(&assessment).summary.contains("2026-12-01T03:00:00Z"));
    assert!(
        assessment
            .findings
            .iter()
            .any(|f| f.reason.as_deref() == Some("NodeUnschedulable"))
    );

    let snapshot = Snapshot {
        pods: vec![pod("web-5d8-a")],
        workloads: vec![deployment(1, 1)],
        logs: vec![Logs {
            pod: "web-5d8-a".into(),
            lines: vec!["Error: getaddrinfo ENOTFOUND postgres.db.svc.cluster.local".into()],
            ..Logs::default()
        }],
        ..Snapshot::default()
    };
    let assessment = assess(&snapshot, &workload_scope());
    assert_eq!(first(&assessment).analyzer, "dns_name_not_found");
    assert!(
        first(&assessment)
            .summary
            .contains("postgres.db.svc.cluster.local")
    );
    assert!(assessment.healthy.is_none());

    let mut with_claim = waiting(pod("web-5d8-a"), "ContainerCreating", "");
    with_claim.claims = vec!["data".into()];
    let snapshot = Snapshot {
        pods: vec![with_claim],
        pvcs: vec![Pvc {
            namespace: "shop".into(),
            name: "data".into(),
            phase: Some("Pending".into()),
            storage_class: Some("fast".into()),
            ..Pvc::default()
        }],
        events: vec![event(
            "PersistentVolumeClaim",
            "data",
            "ProvisioningFailed",
            "storageclass.storage.k8s.io \"fast\" not found",
        )],
        services: vec![Service {
            namespace: "shop".into(),
            name: "web".into(),
            selector: [("app".to_owned(), "web".to_owned())].into(),
            ready_endpoints: Some(0),
            ..Service::default()
        }],
        ..Snapshot::default()
    };
    let assessment = assess(
        &snapshot,
        &Scope {
            namespace: Some("shop".into()),
            ..Scope::default()
        },
    );
    let pvc = assessment
        .findings
        .iter()
        .find(|f| f.analyzer == "pvc_pending");
    assert!(
        pvc.is_some_and(|f| f.summary.contains("fast does not exist")),
        "{:#?}",
        assessment.findings
    );
    let service = assessment
        .findings
        .iter()
        .find(|f| f.analyzer == "service_no_endpoints");
    assert_eq!(
        service.map(|f| f.category),
        Some(Category::ConfigurationError),
        "selector matches nothing"
    );
}

#[test]
fn recovery_is_said_instead_of_a_cause() {
    let mut recovered = pod("web-5d8-a");
    recovered.containers[0].restart_count = 3;
    recovered.containers[0].last_state = Some(Terminated {
        reason: Some("Error".into()),
        exit_code: Some(1),
        finished_at: Some("2026-12-01T02:00:00Z".into()),
        ..Terminated::default()
    });
    let snapshot = Snapshot {
        pods: vec![recovered],
        ..Snapshot::default()
    };
    let assessment = assess(&snapshot, &pod_scope("web-5d8-a"));
    // An old error exit on a container running now is history, not the problem.
    assert!(
        assessment
            .findings
            .iter()
            .all(|f| f.severity < Severity::Warning),
        "{:#?}",
        assessment.findings
    );
    assert_eq!(assessment.category, Category::Healthy);
    assert!(
        assessment.conclusion.contains("recovered"),
        "{}",
        assessment.conclusion
    );
}

#[test]
fn a_crash_moments_before_the_reading_is_not_a_recovery() {
    // A crash loop between two crashes: running and ready, the last exit a minute ago.
    let mut between_crashes = pod("web-5d8-a");
    between_crashes.containers[0].restart_count = 4;
    between_crashes.containers[0].last_state = Some(Terminated {
        reason: Some("Error".into()),
        exit_code: Some(1),
        finished_at: Some("2026-12-01T02:00:00Z".into()),
        ..Terminated::default()
    });
    let read_at = |at: &str| Snapshot {
        pods: vec![between_crashes.clone()],
        taken_at: Some(at.parse().unwrap()),
        ..Snapshot::default()
    };
    let scope = pod_scope("web-5d8-a");
    let moments_after = assess(&read_at("2026-12-01T02:01:00Z"), &scope);
    assert!(moments_after.healthy.is_none(), "{moments_after:#?}");
    assert_eq!(first(&moments_after).analyzer, "terminated");
    assert!(first(&moments_after).severity >= Severity::Warning);
    // The same pod read an hour later has recovered; a recording (no reading time) too.
    let hour_after = assess(&read_at("2026-12-01T03:00:00Z"), &scope);
    assert_eq!(hour_after.category, Category::Healthy, "{hour_after:#?}");
    let recorded = Snapshot {
        taken_at: None,
        ..read_at("2026-12-01T02:01:00Z")
    };
    assert_eq!(assess(&recorded, &scope).category, Category::Healthy);
}

#[test]
fn nothing_read_names_no_cause() {
    let assessment = assess(&Snapshot::default(), &pod_scope("gone"));
    assert!(assessment.findings.is_empty());
    assert_eq!(assessment.category, Category::Unknown);
    assert!(assessment.unseen.iter().any(|u| u.contains("gone")));
}

#[test]
fn a_pending_pod_with_no_scheduler_message_is_explained_by_its_template_requests() {
    let mut pending = pod("web-5d8-a");
    pending.phase = Some("Pending".into());
    pending.node = None;
    pending.conditions.clear();
    pending.containers[0].state = ContainerState::default();
    pending.containers[0].ready = Some(false);
    let mut web = deployment(1, 0);
    web.requests = [("cpu", "3"), ("nvidia.com/gpu", "2")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let rs = Workload {
        kind: "ReplicaSet".into(),
        namespace: "shop".into(),
        name: "web-5d8".into(),
        owner: Some(ObjectRef::new("Deployment", Some("shop"), "web")),
        ..Workload::default()
    };
    let snapshot = Snapshot {
        pods: vec![pending.clone()],
        workloads: vec![web.clone(), rs.clone()],
        ..Snapshot::default()
    };
    let assessment = assess(&snapshot, &workload_scope());
    let finding = first(&assessment);
    assert_eq!(finding.analyzer, "scheduling");
    assert_eq!(finding.category, Category::ResourceExhaustion);
    assert!(
        finding.summary.contains("nvidia.com/gpu"),
        "{}",
        finding.summary
    );
    // A node that offers the resource: the shortage is no longer named, only the requests.
    let gpu_node = Node {
        name: "n1".into(),
        allocatable: [("nvidia.com/gpu".to_owned(), "4".to_owned())].into(),
        ..Node::default()
    };
    let with_gpu = Snapshot {
        nodes: vec![gpu_node],
        ..snapshot.clone()
    };
    let scheduling = assess(&with_gpu, &workload_scope())
        .findings
        .into_iter()
        .find(|f| f.analyzer == "scheduling")
        .unwrap();
    assert_eq!(scheduling.category, Category::Unknown);
    assert_eq!(scheduling.severity, Severity::Warning);
}

#[test]
fn a_node_at_its_pod_capacity_is_said_to_be_full() {
    let node = |pods: i64| Node {
        name: "n1".into(),
        allocatable: [("pods".to_owned(), "110".to_owned())].into(),
        pods: Some(pods),
        ..Node::default()
    };
    let scope = Scope {
        node: Some("n1".into()),
        ..Scope::default()
    };
    let full = assess(
        &Snapshot {
            nodes: vec![node(110)],
            ..Snapshot::default()
        },
        &scope,
    );
    assert_eq!(first(&full).analyzer, "node_pod_capacity");
    assert_eq!(full.category, Category::ResourceExhaustion);
    let roomy = assess(
        &Snapshot {
            nodes: vec![node(40)],
            ..Snapshot::default()
        },
        &scope,
    );
    assert!(roomy.findings.is_empty(), "{:#?}", roomy.findings);
}

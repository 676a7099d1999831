//! The simulator against the real control plane of the lab (API server, controller-manager,
//! scheduler 1.20): node registration and heartbeats, the node-lifecycle controller's reaction
//! to stopped heartbeats, pods driven to Running, each pod fault and its fix (a flaky sandbox
//! fixed by deleting the pod), kubelet-style events, `kubectl logs` through the API server's
//! kubelet proxy, metrics and deletions.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use nightwatch_testkit::{Lab, LabDeployment, LabOptions};
use serde_json::{Value, json};
use std::time::Duration;

const NS: &str = "simtest";

fn wait_for<T>(lab: &Lab, what: &str, timeout: Duration, probe: impl FnMut() -> Option<T>) -> T {
    lab.wait_until(what, timeout, String::new, probe)
}

fn deployment(name: &str, image: &str, annotations: Value, volumes: Value) -> Value {
    LabDeployment {
        name,
        container: "app",
        image,
        memory_limit: "128Mi",
        node: "lab-node-1",
        annotations,
        volumes,
    }
    .manifest()
}

/// The live pods of a Deployment (by its app label), not being deleted.
fn pods(lab: &Lab, app: &str) -> Vec<Value> {
    lab.kube_get(&format!(
        "/api/v1/namespaces/{NS}/pods?labelSelector=app%3D{app}"
    ))
    .map(|list| list["items"].as_array().cloned().unwrap_or_default())
    .unwrap_or_default()
    .into_iter()
    .filter(|p| p["metadata"].get("deletionTimestamp").is_none())
    .collect()
}

fn container_status(pod: &Value) -> &Value {
    &pod["status"]["containerStatuses"][0]
}

fn waiting_reason(pod: &Value) -> Option<String> {
    container_status(pod)["state"]["waiting"]["reason"]
        .as_str()
        .map(str::to_string)
}

fn running_pod(lab: &Lab, app: &str) -> Value {
    running_pod_where(lab, app, |_| true)
}

/// A Running, Ready pod of `app` that `select` accepts (e.g. one of the fixed template, while
/// the old pods are still around during the rollout).
fn running_pod_where(lab: &Lab, app: &str, select: impl Fn(&Value) -> bool) -> Value {
    wait_for(
        lab,
        &format!("{app} Running and Ready"),
        Duration::from_secs(60),
        || {
            pods(lab, app).into_iter().find(|p| {
                select(p)
                    && p["status"]["phase"] == "Running"
                    && container_status(p)["ready"] == true
                    && p["status"]["conditions"].as_array().is_some_and(|cs| {
                        cs.iter()
                            .any(|c| c["type"] == "Ready" && c["status"] == "True")
                    })
            })
        },
    )
}

fn events_of(lab: &Lab, pod: &str) -> Vec<Value> {
    lab.kube_get(&format!(
        "/api/v1/namespaces/{NS}/events?fieldSelector=involvedObject.name%3D{pod}"
    ))
    .map(|list| list["items"].as_array().cloned().unwrap_or_default())
    .unwrap_or_default()
}

fn node_ready(lab: &Lab, node: &str) -> (String, Vec<String>) {
    let n = lab.kube_get(&format!("/api/v1/nodes/{node}")).unwrap();
    let ready = n["status"]["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == "Ready"))
        .map(|c| c["status"].as_str().unwrap_or_default().to_string())
        .unwrap_or_default();
    let taints = n["spec"]["taints"]
        .as_array()
        .map(|ts| {
            ts.iter()
                .map(|t| {
                    format!(
                        "{}:{}",
                        t["key"].as_str().unwrap(),
                        t["effect"].as_str().unwrap()
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    (ready, taints)
}

fn sim_post(lab: &Lab, method: reqwest::Method, path: &str, body: &Value) {
    let url = format!("{}{path}", lab.var("LAB_KUBELET_SIM_URL"));
    let response = reqwest::blocking::Client::new()
        .request(method, &url)
        .json(body)
        .send()
        .unwrap();
    assert!(
        response.status().is_success(),
        "{url}: {}",
        response.status()
    );
}

#[test]
fn simulated_kubelets_drive_the_real_control_plane() {
    let lab = Lab::start(LabOptions {
        nodes: 3,
        ..LabOptions::default()
    });
    let sim = lab.var("LAB_KUBELET_SIM_URL").to_string();

    // --- nodes: registered, Ready, advertising the kubelet endpoint, leases renewed
    for i in 1..=3 {
        let node = format!("lab-node-{i}");
        let n = lab.kube_get(&format!("/api/v1/nodes/{node}")).unwrap();
        assert_eq!(
            n["metadata"]["labels"]["kubernetes.io/hostname"],
            node.as_str()
        );
        assert_eq!(n["status"]["addresses"][0]["address"], "127.0.0.1");
        assert!(
            n["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"]
                .as_u64()
                .unwrap()
                > 0
        );
        assert_eq!(node_ready(&lab, &node).0, "True");
        let lease = lab
            .kube_get(&format!(
                "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{node}"
            ))
            .unwrap();
        assert_eq!(lease["spec"]["holderIdentity"], node.as_str());
    }

    lab.kube_create("/api/v1/namespaces", &json!({"metadata": {"name": NS}}));
    let create =
        |d: Value| lab.kube_create(&format!("/apis/apps/v1/namespaces/{NS}/deployments"), &d);
    create(deployment("web", "nginx:1.25", json!({}), json!([])));
    create(deployment(
        "crash",
        "shop/api:2.0",
        json!({"sim.nightwatch.dev/exit-code": "3",
               "sim.nightwatch.dev/log": "loading config\npanic: DATABASE_URL is not set"}),
        json!([]),
    ));
    create(deployment(
        "oom",
        "shop/worker:1.0",
        json!({"sim.nightwatch.dev/memory-demand": "300Mi"}),
        json!([]),
    ));
    create(deployment(
        "badimage",
        "registry.invalid/shop/web:1.4.2",
        json!({}),
        json!([]),
    ));
    create(deployment(
        "mount",
        "shop/web:1.0",
        json!({}),
        json!([{"name": "creds", "secret": {"secretName": "db-creds"}}]),
    ));
    create(deployment(
        "flaky",
        "shop/web:1.0",
        json!({"sim.nightwatch.dev/sandbox-failures": "1"}),
        json!([]),
    ));

    // --- the normal path: Running, Ready, kubelet events, logs through the API server
    let web = running_pod(&lab, "web");
    let web_name = web["metadata"]["name"].as_str().unwrap().to_string();
    assert!(
        web["status"]["podIP"]
            .as_str()
            .unwrap()
            .starts_with("10.244.")
    );
    // Events are written alongside the status, so they may trail it a little.
    wait_for(
        &lab,
        "Pulling, Pulled, Created, Started events",
        Duration::from_secs(20),
        || {
            let reasons: Vec<String> = events_of(&lab, &web_name)
                .iter()
                .filter(|e| e["source"]["component"] == "kubelet")
                .map(|e| e["reason"].as_str().unwrap().to_string())
                .collect();
            ["Pulling", "Pulled", "Created", "Started"]
                .iter()
                .all(|r| reasons.iter().any(|got| got == r))
                .then_some(())
        },
    );
    let log = lab
        .kube_get(&format!(
            "/api/v1/namespaces/{NS}/pods/{web_name}/log?container=app"
        ))
        .unwrap();
    assert!(
        log.as_str().unwrap().contains("container app started"),
        "{log}"
    );

    // --- CrashLoopBackOff with restarts, BackOff events counted on one object, previous logs
    let crash = wait_for(
        &lab,
        "crash pod restarted twice",
        Duration::from_secs(60),
        || {
            pods(&lab, "crash")
                .into_iter()
                .find(|p| container_status(p)["restartCount"].as_u64().unwrap_or(0) >= 2)
        },
    );
    let crash_name = crash["metadata"]["name"].as_str().unwrap().to_string();
    let last = &container_status(&crash)["lastState"]["terminated"];
    assert_eq!(last["exitCode"], 3);
    assert_eq!(last["reason"], "Error");
    let backoff = wait_for(
        &lab,
        "BackOff event counted twice",
        Duration::from_secs(30),
        || {
            events_of(&lab, &crash_name)
                .into_iter()
                .find(|e| e["reason"] == "BackOff" && e["count"].as_u64().unwrap_or(0) >= 2)
        },
    );
    assert_eq!(backoff["type"], "Warning");
    assert_eq!(
        backoff["involvedObject"]["fieldPath"],
        "spec.containers{app}"
    );
    assert_eq!(backoff["source"]["host"], "lab-node-1");
    let previous = lab
        .kube_get(&format!(
            "/api/v1/namespaces/{NS}/pods/{crash_name}/log?container=app&previous=true&tailLines=1"
        ))
        .unwrap();
    assert_eq!(
        previous.as_str().unwrap(),
        "panic: DATABASE_URL is not set\n"
    );

    // --- OOMKilled
    wait_for(&lab, "OOMKilled restart", Duration::from_secs(60), || {
        pods(&lab, "oom").into_iter().find(|p| {
            container_status(p)["lastState"]["terminated"]["reason"] == "OOMKilled"
                && container_status(p)["lastState"]["terminated"]["exitCode"] == 137
        })
    });

    // --- ImagePullBackOff with its events
    let bad = wait_for(&lab, "ImagePullBackOff", Duration::from_secs(60), || {
        pods(&lab, "badimage")
            .into_iter()
            .find(|p| waiting_reason(p).as_deref() == Some("ImagePullBackOff"))
    });
    let bad_events = events_of(&lab, bad["metadata"]["name"].as_str().unwrap());
    assert!(bad_events.iter().any(|e| e["message"]
        .as_str()
        .unwrap()
        .starts_with("Failed to pull image \"registry.invalid/shop/web:1.4.2\": rpc error: code = NotFound")));
    assert!(
        bad_events
            .iter()
            .any(|e| e["message"] == "Error: ImagePullBackOff")
    );

    // --- stuck ContainerCreating with FailedMount
    let stuck = wait_for(&lab, "FailedMount", Duration::from_secs(60), || {
        pods(&lab, "mount").into_iter().find(|p| {
            waiting_reason(p).as_deref() == Some("ContainerCreating")
                && events_of(&lab, p["metadata"]["name"].as_str().unwrap())
                    .iter()
                    .any(|e| e["reason"] == "FailedMount")
        })
    });
    assert_eq!(stuck["status"]["phase"], "Pending");

    // --- stuck ContainerCreating on a failing sandbox, one Event counted up every retry
    let (flaky, sandbox_event) = wait_for(
        &lab,
        "FailedCreatePodSandBox counted twice",
        Duration::from_secs(60),
        || {
            pods(&lab, "flaky").into_iter().find_map(|p| {
                let event = events_of(&lab, p["metadata"]["name"].as_str().unwrap())
                    .into_iter()
                    .find(|e| {
                        e["reason"] == "FailedCreatePodSandBox"
                            && e["count"].as_u64().unwrap_or(0) >= 2
                    })?;
                (waiting_reason(&p).as_deref() == Some("ContainerCreating")).then_some((p, event))
            })
        },
    );
    let flaky_name = flaky["metadata"]["name"].as_str().unwrap().to_string();
    let flaky_uid = flaky["metadata"]["uid"].as_str().unwrap().to_string();
    assert_eq!(flaky["status"]["phase"], "Pending");
    assert!(flaky["status"].get("podIP").is_none(), "{flaky}");
    assert_eq!(sandbox_event["type"], "Warning");
    assert_eq!(sandbox_event["source"]["component"], "kubelet");
    assert_eq!(sandbox_event["involvedObject"]["uid"], flaky_uid.as_str());
    let message = sandbox_event["message"].as_str().unwrap();
    assert!(
        message.starts_with(
            "Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox \""
        ) && message.ends_with(
            "\": plugin type=\"bridge\" name=\"lab\" failed (add): failed to allocate for range 0: no IP addresses available in range set: 10.244.1.1-10.244.1.254"
        ),
        "{message}"
    );
    let state = reqwest::blocking::get(format!("{sim}/state"))
        .unwrap()
        .json::<Value>()
        .unwrap();
    let described = state["pods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["uid"] == flaky_uid.as_str())
        .unwrap();
    assert_eq!(described["stuck"]["reason"], "FailedCreatePodSandBox");

    // --- metrics: every fault is visible as kube-state-metrics would show it
    let scrape = || {
        reqwest::blocking::get(format!("{sim}/metrics"))
            .unwrap()
            .text()
            .unwrap()
    };
    let bad_name = bad["metadata"]["name"].as_str().unwrap().to_string();
    let stuck_name = stuck["metadata"]["name"].as_str().unwrap().to_string();
    for (pod, reason) in [
        (&crash_name, "CrashLoopBackOff"),
        (&bad_name, "ImagePullBackOff"),
        (&stuck_name, "ContainerCreating"),
        (&flaky_name, "ContainerCreating"),
    ] {
        // A crash-looping container is up part of the time: wait for a back-off phase.
        wait_for(
            &lab,
            &format!("{reason} series of {pod}"),
            Duration::from_secs(30),
            || {
                let pod_label = format!("pod=\"{pod}\"");
                let reason_label = format!("reason=\"{reason}\"");
                scrape()
                    .lines()
                    .any(|l| {
                        l.starts_with("kube_pod_container_status_waiting_reason{")
                            && l.contains(&pod_label)
                            && l.contains(&reason_label)
                    })
                    .then_some(())
            },
        );
    }
    let metrics = scrape();
    assert!(metrics.contains("kube_pod_container_status_last_terminated_reason{"));
    assert!(metrics.contains("container_memory_working_set_bytes{"));
    assert!(metrics.contains(
        r#"kube_node_status_condition{node="lab-node-1",condition="Ready",status="true"} 1"#
    ));

    // --- the fixes
    let patch = |name: &str, body: Value| {
        lab.kube_patch(
            &format!("/apis/apps/v1/namespaces/{NS}/deployments/{name}"),
            &body,
        )
    };
    patch(
        "crash",
        json!({"spec": {"template": {"metadata": {"annotations": {"sim.nightwatch.dev/exit-code": null}}}}}),
    );
    patch(
        "oom",
        json!({"spec": {"template": {"spec": {"containers": [
        {"name": "app", "resources": {"limits": {"memory": "512Mi"}}}]}}}}),
    );
    patch(
        "badimage",
        json!({"spec": {"template": {"spec": {"containers": [
        {"name": "app", "image": "nginx:1.25"}]}}}}),
    );
    lab.kube_create(
        &format!("/api/v1/namespaces/{NS}/secrets"),
        &json!({"metadata": {"name": "db-creds"}, "stringData": {"password": "x"}}),
    );
    // The transient sandbox failure is fixed by deleting the pod: the ReplicaSet's replacement
    // (the same template) gets its sandbox.
    lab.kube_delete(&format!("/api/v1/namespaces/{NS}/pods/{flaky_name}"));
    let fixed = |app: &str, p: &Value| match app {
        "crash" => p["metadata"]["annotations"]["sim.nightwatch.dev/exit-code"].is_null(),
        "oom" => p["spec"]["containers"][0]["resources"]["limits"]["memory"] == "512Mi",
        "badimage" => p["spec"]["containers"][0]["image"] == "nginx:1.25",
        "flaky" => p["metadata"]["uid"] != flaky_uid.as_str(),
        _ => true,
    };
    for app in ["crash", "oom", "badimage", "mount", "flaky"] {
        let pod = running_pod_where(&lab, app, |p| fixed(app, p));
        // Stays up: no restart a few crash/OOM periods later.
        if app == "crash" || app == "oom" {
            std::thread::sleep(Duration::from_secs(4));
            let again = pods(&lab, app)
                .into_iter()
                .find(|p| p["metadata"]["uid"] == pod["metadata"]["uid"])
                .unwrap();
            assert_eq!(
                container_status(&again)["restartCount"],
                0,
                "{app}: {again}"
            );
        }
    }
    // The replaced pods were deleted for real, not left Terminating.
    wait_for(
        &lab,
        "old ReplicaSet pods gone",
        Duration::from_secs(60),
        || {
            let all = lab
                .kube_get(&format!("/api/v1/namespaces/{NS}/pods"))
                .unwrap();
            (all["items"].as_array().unwrap().len() == 6).then_some(())
        },
    );

    // --- an image marked missing through the control API, then unmarked
    sim_post(
        &lab,
        reqwest::Method::POST,
        "/images/missing",
        &json!({"image": "nginx:1.25"}),
    );
    lab.kube_delete(&format!("/api/v1/namespaces/{NS}/pods/{web_name}"));
    wait_for(
        &lab,
        "replacement web pod in ErrImagePull/ImagePullBackOff",
        Duration::from_secs(60),
        || {
            pods(&lab, "web").into_iter().find(|p| {
                matches!(
                    waiting_reason(p).as_deref(),
                    Some("ErrImagePull" | "ImagePullBackOff")
                )
            })
        },
    );
    sim_post(
        &lab,
        reqwest::Method::DELETE,
        "/images/missing",
        &json!({"image": "nginx:1.25"}),
    );
    running_pod(&lab, "web");

    // --- heartbeats stopped: the real node-lifecycle controller marks the node and taints it
    let node_path = "/api/v1/nodes/lab-node-2";
    lab.kube_patch(
        node_path,
        &json!({"metadata": {"annotations": {"sim.nightwatch.dev/heartbeat": "stopped"}}}),
    );
    wait_for(
        &lab,
        "lab-node-2 Ready=Unknown and tainted",
        Duration::from_secs(90),
        || {
            let (ready, taints) = node_ready(&lab, "lab-node-2");
            (ready == "Unknown"
                && taints
                    .iter()
                    .any(|t| t == "node.kubernetes.io/unreachable:NoSchedule"))
            .then_some(())
        },
    );
    let metrics = reqwest::blocking::get(format!("{sim}/metrics"))
        .unwrap()
        .text()
        .unwrap();
    assert!(metrics.contains(
        r#"kube_node_status_condition{node="lab-node-2",condition="Ready",status="unknown"} 1"#
    ));
    lab.kube_patch(
        node_path,
        &json!({"metadata": {"annotations": {"sim.nightwatch.dev/heartbeat": null}}}),
    );
    wait_for(
        &lab,
        "lab-node-2 Ready again, untainted",
        Duration::from_secs(90),
        || {
            let (ready, taints) = node_ready(&lab, "lab-node-2");
            (ready == "True" && !taints.iter().any(|t| t.contains("unreachable"))).then_some(())
        },
    );

    // --- deletion finishes: scaling to zero leaves no pod behind, and their series go
    for app in ["web", "crash", "oom", "badimage", "mount", "flaky"] {
        patch(app, json!({"spec": {"replicas": 0}}));
    }
    wait_for(&lab, "every pod deleted", Duration::from_secs(60), || {
        let all = lab
            .kube_get(&format!("/api/v1/namespaces/{NS}/pods"))
            .unwrap();
        all["items"].as_array().unwrap().is_empty().then_some(())
    });
    wait_for(&lab, "pod series gone", Duration::from_secs(10), || {
        let metrics = reqwest::blocking::get(format!("{sim}/metrics"))
            .unwrap()
            .text()
            .unwrap();
        // Pod and container series go with the pods; the Deployments' and ReplicaSets' stay
        // while those objects exist.
        let pod_series = metrics
            .lines()
            .filter(|line| line.starts_with("kube_pod_"))
            .any(|line| line.contains(&format!("namespace=\"{NS}\"")));
        (!pod_series).then_some(())
    });
}

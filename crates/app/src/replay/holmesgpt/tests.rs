use super::*;
use crate::replay::case::{holmesgpt_recordings, load};
use nightwatch_core::evidence::{Scope, assess};
use serde_json::json;

fn rec(tool: &str, file: &str, params: Value, output: &str) -> Recording {
    Recording {
        tool: tool.into(),
        variant: None,
        file: file.into(),
        params,
        output: output.into(),
    }
}

const DESCRIBE_POD: &str = r#"stdout:
Name:             web-5d98ffcfd-tz4nc
Namespace:        shop
Priority:         0
Node:             worker-1/10.0.0.5
Start Time:       Mon, 18 Nov 2024 08:21:31 +0000
Labels:           app=web
                  pod-template-hash=5d98ffcfd
Annotations:      <none>
Status:           Running
IP:               10.244.1.7
Controlled By:  ReplicaSet/web-5d98ffcfd
Containers:
  app:
    Container ID:   containerd://abc
    Image:          registry.example/web:1.2
    Port:           8080/TCP
    Command:
      /bin/web
      --port=8080
    State:          Waiting
      Reason:       CrashLoopBackOff
    Last State:     Terminated
      Reason:       OOMKilled
      Exit Code:    137
      Started:      Mon, 18 Nov 2024 08:30:00 +0000
      Finished:     Mon, 18 Nov 2024 08:30:41 +0000
    Ready:          False
    Restart Count:  7
    Limits:
      memory:  128Mi
    Requests:
      cpu:        100m
      memory:     64Mi
    Liveness:     http-get http://:8080/healthz delay=10s timeout=1s period=10s #success=1 #failure=3
    Readiness:    http-get http://:8080/ready delay=0s timeout=1s period=5s #success=1 #failure=3
    Environment:
      DB_PASSWORD:  <set to the key 'password' in secret 'db-credentials'>  Optional: false
    Mounts:
      /data from data (rw)
Conditions:
  Type                        Status
  Initialized                 True
  Ready                       False
  ContainersReady             False
  PodScheduled                True
Volumes:
  data:
    Type:       PersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)
    ClaimName:  web-data
    ReadOnly:   false
  settings:
    Type:      ConfigMap (a volume populated by a ConfigMap)
    Name:      web-settings
    Optional:  false
QoS Class:                   Burstable
Node-Selectors:              disktype=ssd
Tolerations:                 node.kubernetes.io/not-ready:NoExecute op=Exists for 300s
Events:
  Type     Reason     Age                  From               Message
  ----     ------     ----                 ----               -------
  Normal   Scheduled  10m                  default-scheduler  Successfully assigned shop/web-5d98ffcfd-tz4nc to worker-1
  Warning  Unhealthy  9m (x4 over 10m)     kubelet            Liveness probe failed: HTTP probe failed with statuscode: 500
  Warning  BackOff    2m38s (x26 over 9m)  kubelet            Back-off restarting failed container app in pod web-5d98ffcfd-tz4nc_shop(c84db522)

stderr:
"#;

#[test]
fn describe_pod_maps_containers_states_resources_volumes_and_events() {
    let snap = snapshot(
        &[rec(
            "get_pod_status",
            "kubectl_describe.txt",
            Value::Null,
            DESCRIBE_POD,
        )],
        None,
    );
    assert!(snap.gaps.is_empty(), "{:?}", snap.gaps);
    let pod = snap.pod(Some("shop"), "web-5d98ffcfd-tz4nc").expect("pod");
    assert_eq!(pod.phase.as_deref(), Some("Running"));
    assert_eq!(pod.node.as_deref(), Some("worker-1"));
    assert_eq!(
        pod.owner,
        Some(ObjectRef::new("ReplicaSet", Some("shop"), "web-5d98ffcfd"))
    );
    assert_eq!(
        pod.labels.get("pod-template-hash").map(String::as_str),
        Some("5d98ffcfd")
    );
    assert_eq!(
        pod.node_selector.get("disktype").map(String::as_str),
        Some("ssd")
    );
    assert_eq!(pod.claims, vec!["web-data"]);
    assert!(
        pod.config_refs
            .contains(&ObjectRef::new("ConfigMap", Some("shop"), "web-settings"))
    );
    assert!(
        pod.config_refs
            .contains(&ObjectRef::new("Secret", Some("shop"), "db-credentials"))
    );
    assert!(!pod.ready());
    let c = &pod.containers[0];
    assert_eq!(c.name, "app");
    assert_eq!(c.image.as_deref(), Some("registry.example/web:1.2"));
    assert_eq!(c.restart_count, 7);
    assert_eq!(c.ready, Some(false));
    assert_eq!(
        c.state.waiting.as_ref().and_then(|w| w.reason.as_deref()),
        Some("CrashLoopBackOff")
    );
    let last = c.last_state.as_ref().expect("last state");
    assert_eq!(last.reason.as_deref(), Some("OOMKilled"));
    assert_eq!(last.exit_code, Some(137));
    assert_eq!(c.limits.get("memory").map(String::as_str), Some("128Mi"));
    assert_eq!(c.requests.get("cpu").map(String::as_str), Some("100m"));
    assert!(
        c.liveness_probe
            .as_deref()
            .is_some_and(|p| p.contains("/healthz"))
    );
    assert!(c.readiness_probe.is_some());
    let object = pod.object();
    let events: Vec<_> = snap.events_of(&object).collect();
    assert_eq!(events.len(), 3);
    assert_eq!(events[1].reason, "Unhealthy");
    assert_eq!(events[1].count, Some(4));
    assert!(
        events[2]
            .message
            .starts_with("Back-off restarting failed container app")
    );
    // And the analyzers read it as an OOM kill.
    let scope = Scope {
        namespace: Some("shop".into()),
        pod: Some("web-5d98ffcfd-tz4nc".into()),
        ..Scope::default()
    };
    let assessment = assess(&snap, &scope);
    assert!(assessment.primary().is_some(), "{assessment:?}");
}

#[test]
fn describe_deployment_job_node_and_pvc() {
    let deployment = "Name:                   api
Namespace:              prod
CreationTimestamp:      Tue, 03 Jun 2025 13:30:29 +0200
Annotations:            deployment.kubernetes.io/revision: 3
Selector:               app=api
Replicas:               3 desired | 1 updated | 3 total | 2 available | 1 unavailable
StrategyType:           RollingUpdate
Pod Template:
  Labels:  app=api
  Containers:
   api:
    Image:      example/api:2.0
    Port:       <none>
Conditions:
  Type           Status  Reason
  ----           ------  ------
  Available      False   MinimumReplicasUnavailable
  Progressing    False   ProgressDeadlineExceeded
OldReplicaSets:  api-6b7c9 (2/2 replicas created)
NewReplicaSet:   api-7d8f4 (1/1 replicas created)
Events:          <none>
";
    let job = "Name:             nightly
Namespace:        batch
Selector:         batch.kubernetes.io/controller-uid=05cb
Controlled By:    CronJob/nightly-cron
Parallelism:      1
Completions:      1
Backoff Limit:    2
Pods Statuses:    0 Active (0 Ready) / 0 Succeeded / 3 Failed
Pod Template:
  Containers:
   run:
    Image:      busybox
Events:
  Type     Reason                Age   From            Message
  ----     ------                ----  ----            -------
  Normal   SuccessfulCreate      16m   job-controller  Created pod: nightly-2lhkn
  Warning  BackoffLimitExceeded  13m   job-controller  Job has reached the specified backoff limit
";
    let node = "Name:               worker-2
Roles:              <none>
Labels:             kubernetes.io/hostname=worker-2
Taints:             node.kubernetes.io/memory-pressure:NoSchedule
Unschedulable:      true
Conditions:
  Type             Status  LastHeartbeatTime                 LastTransitionTime                Reason                       Message
  ----             ------  -----------------                 ------------------                ------                       -------
  MemoryPressure   True    Mon, 18 Nov 2024 11:27:57 +0100   Mon, 18 Nov 2024 11:00:00 +0100   KubeletHasInsufficientMemory kubelet has insufficient memory available
  Ready            True    Mon, 18 Nov 2024 11:27:57 +0100   Mon, 14 Oct 2024 08:10:57 +0200   KubeletReady                 kubelet is posting ready status
Capacity:
  cpu:                2
  memory:             3943312Ki
Allocatable:
  cpu:                1930m
  memory:             3388304Ki
Events:              <none>
";
    let pvc = "Name:          redis-data
Namespace:     cache
StorageClass:  fast-ssd
Status:        Pending
Volume:
Access Modes:
VolumeMode:    Filesystem
Events:
  Type     Reason              Age                   From                         Message
  ----     ------              ----                  ----                         -------
  Warning  ProvisioningFailed  21s (x26 over 6m35s)  persistentvolume-controller  storageclass.storage.k8s.io \"fast-ssd\" not found
";
    let snap = snapshot(
        &[
            rec("get_pod_status", "a.txt", Value::Null, deployment),
            rec("get_pod_status", "b.txt", Value::Null, job),
            rec("get_pod_status", "c.txt", Value::Null, node),
            rec("get_pod_status", "d.txt", Value::Null, pvc),
        ],
        None,
    );
    assert!(snap.gaps.is_empty(), "{:?}", snap.gaps);
    let d = snap
        .workloads
        .iter()
        .find(|w| w.kind == "Deployment")
        .expect("deployment");
    assert_eq!(
        (d.desired, d.available, d.updated, d.revision),
        (Some(3), Some(2), Some(1), Some(3))
    );
    assert_eq!(d.images, vec!["example/api:2.0"]);
    assert_eq!(
        d.conditions[1].reason.as_deref(),
        Some("ProgressDeadlineExceeded")
    );
    let rs: Vec<_> = snap
        .workloads
        .iter()
        .filter(|w| w.kind == "ReplicaSet")
        .collect();
    assert_eq!(rs.len(), 2);
    assert!(
        rs.iter()
            .all(|r| r.owner.as_ref().is_some_and(|o| o.name == "api"))
    );
    let j = &snap.jobs[0];
    assert_eq!((j.failed, j.backoff_limit), (Some(3), Some(2)));
    assert_eq!(j.owner.as_ref().map(|o| o.kind.as_str()), Some("CronJob"));
    assert_eq!(
        j.conditions[0].reason.as_deref(),
        Some("BackoffLimitExceeded")
    );
    let n = &snap.nodes[0];
    assert!(n.unschedulable);
    assert_eq!(
        n.taints,
        vec!["node.kubernetes.io/memory-pressure:NoSchedule"]
    );
    assert_eq!(n.conditions[0].kind, "MemoryPressure");
    assert_eq!(n.conditions[0].status, "True");
    assert_eq!(
        n.conditions[0].reason.as_deref(),
        Some("KubeletHasInsufficientMemory")
    );
    assert_eq!(n.allocatable.get("cpu").map(String::as_str), Some("1930m"));
    let p = &snap.pvcs[0];
    assert_eq!(
        (p.phase.as_deref(), p.storage_class.as_deref()),
        (Some("Pending"), Some("fast-ssd"))
    );
    assert!(
        snap.events
            .iter()
            .any(|e| e.reason == "ProvisioningFailed" && e.count == Some(26))
    );
}

#[test]
fn get_tables_map_pods_nodes_workloads_claims_and_events() {
    let pods = "NAME                        READY   STATUS                  RESTARTS         AGE   IP            NODE       NOMINATED NODE   READINESS GATES   LABELS
web-7c67c65579-hr4wn        0/1     ImagePullBackOff        0                22h   10.244.1.48   worker-1   <none>           <none>            app=web
worker-747ccfb9db-4wrhh     0/1     CrashLoopBackOff        85 (65s ago)     22h   10.244.1.41   worker-1   <none>           <none>            app=worker
agent                       0/1     Init:CrashLoopBackOff   85 (113s ago)    22h   10.244.1.69   worker-1   <none>           <none>            <none>
api-5f5b4947b-b7l57         1/1     Running                 3 (4h ago)       77d   10.244.1.5    worker-1   <none>           <none>            app=api
import-9ddzf                0/1     Pending                 0                15d   <none>        <none>     <none>           <none>            <none>
cache-0                     0/1     Evicted                 0                2d    <none>        worker-2   <none>           <none>            <none>
";
    let nodes = "NAME       STATUS                        ROLES           AGE   VERSION
worker-1   Ready                         <none>          28d   v1.31.2
worker-2   NotReady,SchedulingDisabled   <none>          28d   v1.31.2
";
    let deployments =
        "NAME   READY   UP-TO-DATE   AVAILABLE   AGE   CONTAINERS   IMAGES    SELECTOR  LABELS
api    1/3     3            1           34m   api          api:1.0   app=api   <none>
";
    let pvcs = "NAME         STATUS    VOLUME   CAPACITY   ACCESS MODES   STORAGECLASS   AGE
cache-data   Pending                                      standard-v2    6m58s
";
    let events = "LAST SEEN             TYPE      REASON      OBJECT                     MESSAGE
56m (x5 over 58m)     Normal    Pulled      Pod/api-5f5b4947b-b7l57    Container image \"busybox:1.35\" already present on machine
3m30s (x256 over 58m) Warning   BackOff     Pod/api-5f5b4947b-b7l57    Back-off restarting failed container main in pod api
";
    let ns = json!({"namespace": "team-a"});
    let snap = snapshot(
        &[
            rec(
                "kubectl_get_by_kind_in_namespace",
                "p.txt",
                json!({"kind": "pod", "namespace": "team-a"}),
                pods,
            ),
            rec(
                "kubectl_get_by_kind_in_cluster",
                "n.txt",
                json!({"kind": "node"}),
                nodes,
            ),
            rec("kubectl_get_by_name", "d.txt", ns.clone(), deployments),
            rec("kubectl_get_by_name", "c.txt", ns.clone(), pvcs),
            rec("get_pod_events", "e.txt", ns, events),
        ],
        None,
    );
    assert!(snap.gaps.is_empty(), "{:?}", snap.gaps);
    let waiting = |name: &str| {
        snap.pod(Some("team-a"), name)
            .and_then(|p| p.all_containers().find_map(|c| c.state.waiting.as_ref()))
            .and_then(|w| w.reason.clone())
    };
    assert_eq!(
        waiting("web-7c67c65579-hr4wn").as_deref(),
        Some("ImagePullBackOff")
    );
    assert_eq!(
        waiting("worker-747ccfb9db-4wrhh").as_deref(),
        Some("CrashLoopBackOff")
    );
    let agent = snap.pod(Some("team-a"), "agent").expect("agent");
    assert_eq!(agent.init_containers.len(), 1);
    assert_eq!(agent.init_containers[0].restart_count, 85);
    let api = snap
        .pod(Some("team-a"), "api-5f5b4947b-b7l57")
        .expect("api");
    assert!(api.ready() && api.phase_is("Running"));
    assert_eq!(
        snap.pod(None, "import-9ddzf")
            .and_then(|p| p.phase.clone())
            .as_deref(),
        Some("Pending")
    );
    assert_eq!(
        snap.pod(None, "cache-0")
            .and_then(|p| p.reason.clone())
            .as_deref(),
        Some("Evicted")
    );
    assert_eq!(
        snap.nodes[1].ready().map(|c| c.status.as_str()),
        Some("False")
    );
    assert!(snap.nodes[1].unschedulable);
    let d = &snap.workloads[0];
    assert_eq!(
        (d.kind.as_str(), d.desired, d.ready, d.available),
        ("Deployment", Some(3), Some(1), Some(1))
    );
    assert_eq!(d.selector.get("app").map(String::as_str), Some("api"));
    assert_eq!(snap.pvcs[0].storage_class.as_deref(), Some("standard-v2"));
    assert_eq!(snap.events.len(), 2);
    assert_eq!(snap.events[1].count, Some(256));
    assert_eq!(
        snap.events[1].object,
        ObjectRef::new("Pod", Some("team-a"), "api-5f5b4947b-b7l57")
    );
    assert_eq!(snap.events[1].kind.as_deref(), Some("Warning"));
}

#[test]
fn yaml_manifests_map_like_the_api() {
    let yaml = "apiVersion: v1
kind: Pod
metadata:
  name: job-x-mdr44
  namespace: default
  ownerReferences:
  - apiVersion: batch/v1
    kind: Job
    name: job-x
    controller: true
spec:
  nodeName: kind-control-plane
  containers:
  - name: main
    image: busybox
    resources:
      limits:
        memory: 64Mi
    envFrom:
    - configMapRef:
        name: app-config
status:
  phase: Running
  conditions:
  - type: Ready
    status: \"False\"
  containerStatuses:
  - name: main
    ready: false
    restartCount: 4
    state:
      waiting:
        reason: CreateContainerConfigError
        message: configmap \"app-config\" not found
    lastState:
      terminated:
        reason: Error
        exitCode: 1
";
    let snap = snapshot(&[rec("kubectl_get_yaml", "y.txt", Value::Null, yaml)], None);
    assert!(snap.gaps.is_empty(), "{:?}", snap.gaps);
    let pod = &snap.pods[0];
    assert_eq!(pod.owner.as_ref().map(|o| o.name.as_str()), Some("job-x"));
    let c = &pod.containers[0];
    assert_eq!(c.restart_count, 4);
    assert_eq!(c.limits.get("memory").map(String::as_str), Some("64Mi"));
    assert_eq!(
        c.state.waiting.as_ref().and_then(|w| w.reason.as_deref()),
        Some("CreateContainerConfigError")
    );
    assert_eq!(c.last_state.as_ref().and_then(|t| t.exit_code), Some(1));
    assert_eq!(
        pod.config_refs,
        vec![ObjectRef::new("ConfigMap", Some("default"), "app-config")]
    );
}

#[test]
fn logs_take_their_pod_from_the_params_the_invocation_or_the_described_pod() {
    let snap = snapshot(
        &[
            rec(
                "get_pod_status",
                "kubectl_describe.txt",
                Value::Null,
                DESCRIBE_POD,
            ),
            rec(
                "get_pod_logs",
                "kubectl_logs.txt",
                Value::Null,
                "stdout:\nstarting\npanic: boom\n\nstderr:\n",
            ),
            Recording {
                variant: Some("previous".into()),
                ..rec(
                    "get_pod_logs",
                    "kubectl_previous_logs.txt",
                    json!({"pod_name": "other-pod", "namespace": "ns2"}),
                    "java.net.ConnectException: Connection refused",
                )
            },
            rec(
                "get_pod_logs",
                "kubectl_logs_x.txt",
                Value::Null,
                "Command `kubectl logs gone-pod -n ns3` failed with return code 1\nError from server (NotFound): pods \"gone-pod\" not found",
            ),
        ],
        None,
    );
    assert_eq!(snap.logs.len(), 2, "{:?}", snap.logs);
    assert_eq!(snap.logs[0].pod, "web-5d98ffcfd-tz4nc");
    assert_eq!(snap.logs[0].namespace.as_deref(), Some("shop"));
    assert_eq!(snap.logs[0].lines, vec!["starting", "panic: boom"]);
    assert!(!snap.logs[0].previous);
    assert_eq!(snap.logs[1].pod, "other-pod");
    assert!(snap.logs[1].previous);
    assert_eq!(snap.gaps.len(), 1);
    assert!(
        snap.gaps[0].starts_with("kubectl_logs_x.txt: no logs: Error from server (NotFound)"),
        "{:?}",
        snap.gaps
    );
}

#[test]
fn what_cannot_be_mapped_is_a_gap_and_bad_input_never_panics() {
    let inputs = [
        (
            "kubectl_top_pods",
            "NAME  CPU(cores)  MEMORY(bytes)\nx  1m  2Mi",
        ),
        ("fetch_finding_by_id", "{\"id\": 1"),
        (
            "kubectl_get_yaml",
            "apiVersion: v1\nkind: Pod\nmetadata: [unclosed",
        ),
        ("kubectl_get_yaml", "{\"kind\": \"Pod\", \"metadata\": {"),
        ("get_pod_status", "Name:"),
        (
            "get_pod_status",
            "Name:  x\nContainers:\n  a:\n    State:  Waiting\n      Reason:",
        ),
        (
            "get_pod_status",
            "Name: x\nReplicas: desired | | /\nConditions:\n  Type\n",
        ),
        (
            "kubectl_get_by_kind_in_namespace",
            "NAME   READY   STATUS\nx      ½/é     Runn",
        ),
        (
            "get_pod_events",
            "LAST SEEN   TYPE   REASON   OBJECT   MESSAGE\n1m (x",
        ),
        ("kubectl_lineage_children", "NAME  READY\n├── Pod/x  0/1"),
        ("something_else", "\u{0}\u{1}garbage"),
        ("get_pod_logs", ""),
    ];
    for (tool, output) in inputs {
        let snap = snapshot(
            &[rec(tool, &format!("{tool}.txt"), Value::Null, output)],
            Some("ns"),
        );
        // Readable or a gap naming the file; never a panic.
        let _ = snap;
    }
    let snap = snapshot(
        &[rec(
            "kubectl_top_pods",
            "kubectl_top_pods.txt",
            json!({}),
            "x",
        )],
        None,
    );
    assert_eq!(
        snap.gaps,
        vec!["kubectl_top_pods.txt: not mapped (metrics usage)"]
    );
    let snap = snapshot(
        &[rec(
            "kubectl_get_yaml",
            "y.txt",
            Value::Null,
            "apiVersion: v1\nkind: Pod\nmetadata: [unclosed",
        )],
        None,
    );
    assert!(
        snap.gaps[0].starts_with("y.txt: not YAML"),
        "{:?}",
        snap.gaps
    );
}

fn holmes_dirs() -> Vec<std::path::PathBuf> {
    let root = nightwatch_testkit::third_party_file("holmesgpt");
    let mut dirs = Vec::new();
    for group in ["test_investigate", "test_ask_holmes"] {
        let Ok(entries) = std::fs::read_dir(root.join(group)) else {
            continue;
        };
        dirs.extend(
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_dir()),
        );
    }
    dirs.sort();
    dirs
}

/// The alert's labels and annotations from a loaded case's webhook body.
fn alert_maps(body: &[u8]) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let value: Value = serde_json::from_slice(body).unwrap_or_default();
    let map = |v: &Value| -> BTreeMap<String, String> {
        v.as_object()
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
            .collect()
    };
    (
        map(&value["alerts"][0]["labels"]),
        map(&value["alerts"][0]["annotations"]),
    )
}

/// Every HolmesGPT case reads into a snapshot; the per-case primary finding is printed
/// (`cargo test holmesgpt -- --nocapture`) for judging coverage, not asserted by name.
#[test]
fn every_holmesgpt_case_reads_and_is_assessed() {
    let dirs = holmes_dirs();
    assert!(!dirs.is_empty());
    let mut image_pull_cases = 0;
    for dir in dirs {
        let case_name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (recordings, labels, annotations) = match load(&dir, None) {
            Ok(case) => {
                let (labels, annotations) = alert_maps(&case.body);
                (case.recordings, labels, annotations)
            }
            // An ask_holmes case has no alert: its recordings only.
            Err(_) => (
                holmesgpt_recordings(&dir).unwrap(),
                BTreeMap::new(),
                BTreeMap::new(),
            ),
        };
        let scope = Scope::of(&labels, &annotations);
        let snap = snapshot(&recordings, scope.namespace.as_deref());
        let assessment = assess(&snap, &scope);
        println!(
            "{case_name}: files={} pods={} nodes={} events={} workloads={} jobs={} pvcs={} logs={} gaps={} | {:?} | {}",
            recordings.len(),
            snap.pods.len(),
            snap.nodes.len(),
            snap.events.len(),
            snap.workloads.len(),
            snap.jobs.len(),
            snap.pvcs.len(),
            snap.logs.len(),
            snap.gaps.len(),
            assessment.category,
            assessment
                .primary()
                .map(|f| format!("[{}] {}", f.analyzer, f.summary))
                .unwrap_or_else(|| format!("(none) {}", assessment.conclusion)),
        );
        for gap in &snap.gaps {
            println!("    gap: {gap}");
        }
        // Known shape: a described pod waiting on an image pull comes with its pull events.
        for pod in &snap.pods {
            let pulling = pod.all_containers().any(|c| {
                c.name != UNNAMED
                    && c.state
                        .waiting
                        .as_ref()
                        .and_then(|w| w.reason.as_deref())
                        .is_some_and(|r| {
                            nightwatch_core::evidence::analyze::IMAGE_PULL_REASONS.contains(&r)
                        })
            });
            if pulling {
                image_pull_cases += 1;
                assert!(
                    snap.events_of(&pod.object())
                        .any(|e| e.message.contains("pull")),
                    "{case_name}: pod {} waits on a pull without its events",
                    pod.name
                );
                assert_eq!(
                    assessment.primary().map(|f| f.analyzer.as_str()),
                    Some("image_pull"),
                    "{case_name}"
                );
            }
        }
    }
    assert!(
        image_pull_cases > 0,
        "no described image-pull pod in any case"
    );
}

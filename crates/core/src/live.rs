//! Live facts about a pod or node, read from the cluster by the Kubernetes adapter and handed to
//! the pure router (routing falls back to them when labels and alertname say nothing).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContainerFacts {
    pub name: String,
    /// `state.waiting.reason` (ImagePullBackOff, CrashLoopBackOff, ContainerCreating, …).
    pub waiting_reason: Option<String>,
    /// `lastState.terminated.reason` (OOMKilled, Error, …).
    pub last_terminated_reason: Option<String>,
    pub last_exit_code: Option<i32>,
    pub restart_count: i32,
    pub ready: bool,
    pub image: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PodFacts {
    pub namespace: String,
    pub name: String,
    pub phase: Option<String>,
    pub node_name: Option<String>,
    /// `PodScheduled=False` reason, e.g. `Unschedulable`.
    pub unschedulable_reason: Option<String>,
    pub containers: Vec<ContainerFacts>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeFacts {
    pub name: String,
    /// Condition type → status (`True`, `False`, `Unknown`).
    pub conditions: BTreeMap<String, String>,
    pub unschedulable: bool,
    pub labels: BTreeMap<String, String>,
}

impl NodeFacts {
    /// `Ready=True`.
    pub fn ready(&self) -> bool {
        self.conditions.get("Ready").map(String::as_str) == Some("True")
    }

    /// Pressure conditions that are not `False` (`MemoryPressure`, `DiskPressure`, `PIDPressure`,
    /// `NetworkUnavailable`).
    pub fn pressures(&self) -> Vec<String> {
        self.conditions
            .iter()
            .filter(|(kind, status)| kind.as_str() != "Ready" && status.as_str() != "False")
            .map(|(kind, _)| kind.clone())
            .collect()
    }
}

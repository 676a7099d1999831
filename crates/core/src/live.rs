//! Live facts about a node, read from the cluster by the Kubernetes adapter: what the policy
//! classes a node by (its labels) and what node actions check (Ready, pressure, cordon).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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

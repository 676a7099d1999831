//! Incident fingerprints: which alerts are "the same problem".
//!
//! Pod alerts: `alertname:namespace:pod:container`; node alerts: `alertname:node`; anything else:
//! Alertmanager's own fingerprint of the full label set (computed here, so every source agrees).
//! Both label lists are configurable.

use crate::model::Labels;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FingerprintConfig {
    /// Used when the alert has a `pod` label.
    pub pod_labels: Vec<String>,
    /// Used when the alert has a `node` label and no `pod` label.
    pub node_labels: Vec<String>,
}

impl Default for FingerprintConfig {
    fn default() -> Self {
        Self {
            pod_labels: ["alertname", "namespace", "pod", "container"]
                .map(String::from)
                .to_vec(),
            node_labels: ["alertname", "node"].map(String::from).to_vec(),
        }
    }
}

impl FingerprintConfig {
    pub fn fingerprint(&self, labels: &Labels) -> String {
        let chosen = if labels.contains_key("pod") {
            &self.pod_labels
        } else if labels.contains_key("node") {
            &self.node_labels
        } else {
            return format!("{:016x}", label_set_hash(labels));
        };
        chosen
            .iter()
            .map(|name| labels.get(name).map(String::as_str).unwrap_or(""))
            .collect::<Vec<_>>()
            .join(":")
    }
}

/// 64-bit FNV-1a, the hash Prometheus uses for label-set fingerprints.
#[derive(Debug, Clone, Copy)]
pub struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv1a {
    pub fn feed(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    pub fn finish(self) -> u64 {
        self.0
    }
}

/// Prometheus' `LabelSet.Fingerprint()`: FNV-1a 64 over the sorted names and values, each
/// followed by the 0xff separator. Equal to the `fingerprint` Alertmanager puts in its webhooks.
pub fn label_set_hash(labels: &Labels) -> u64 {
    let mut hash = Fnv1a::default();
    // BTreeMap iterates in sorted name order, as Prometheus sorts.
    for (name, value) in labels {
        hash.feed(name.as_bytes());
        hash.feed(&[0xff]);
        hash.feed(value.as_bytes());
        hash.feed(&[0xff]);
    }
    hash.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn pod_node_and_other_alerts() {
        let config = FingerprintConfig::default();
        let cases = [
            (
                labels(&[
                    ("alertname", "KubePodCrashLooping"),
                    ("namespace", "shop"),
                    ("pod", "api-1"),
                    ("container", "app"),
                    ("instance", "10.0.0.1:8080"),
                ]),
                "KubePodCrashLooping:shop:api-1:app",
            ),
            (
                labels(&[
                    ("alertname", "OOM"),
                    ("namespace", "shop"),
                    ("pod", "api-1"),
                ]),
                "OOM:shop:api-1:",
            ),
            (
                labels(&[
                    ("alertname", "KubeNodeNotReady"),
                    ("node", "n1"),
                    ("job", "ksm"),
                ]),
                "KubeNodeNotReady:n1",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(config.fingerprint(&input), expected);
        }
    }

    #[test]
    fn other_alerts_use_alertmanagers_fingerprint() {
        // KubeSphere's fixture is real Alertmanager output: its fingerprints are Alertmanager's.
        let path = nightwatch_fixtures::third_party_file("payloads/am_kubesphere_alert.json");
        let body = std::fs::read_to_string(&path).unwrap();
        let value: serde_json::Value = serde_json::from_str(&body).unwrap();
        let mut checked = 0;
        for alert in value["alerts"].as_array().unwrap() {
            let Some(expected) = alert["fingerprint"].as_str() else {
                continue;
            };
            let labels: Labels = serde_json::from_value(alert["labels"].clone()).unwrap();
            assert_eq!(format!("{:016x}", label_set_hash(&labels)), expected);
            checked += 1;
        }
        assert_eq!(checked, 9, "fixture has alerts with fingerprints");
    }

    #[test]
    fn configurable_label_set() {
        let config = FingerprintConfig {
            pod_labels: vec!["alertname".into(), "namespace".into()],
            node_labels: vec!["node".into()],
        };
        let a = labels(&[("alertname", "X"), ("namespace", "n"), ("pod", "p1")]);
        let b = labels(&[("alertname", "X"), ("namespace", "n"), ("pod", "p2")]);
        assert_eq!(config.fingerprint(&a), config.fingerprint(&b));
        assert_eq!(config.fingerprint(&labels(&[("node", "n9")])), "n9");
    }
}

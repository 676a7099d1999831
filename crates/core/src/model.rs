//! The alert model every webhook format is parsed into.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

pub type Labels = BTreeMap<String, String>;

/// Where a delivery came from; each has its own endpoint and parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Alertmanager,
    Grafana,
    Signoz,
}

impl Source {
    pub const ALL: [Source; 3] = [Source::Alertmanager, Source::Grafana, Source::Signoz];

    pub fn as_str(self) -> &'static str {
        match self {
            Source::Alertmanager => "alertmanager",
            Source::Grafana => "grafana",
            Source::Signoz => "signoz",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Source {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Source::ALL
            .into_iter()
            .find(|source| source.as_str() == s)
            .ok_or_else(|| UnknownValue(s.to_owned()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown value {0:?}")]
pub struct UnknownValue(pub String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    Firing,
    Resolved,
}

impl AlertStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Firing => "firing",
            AlertStatus::Resolved => "resolved",
        }
    }
}

impl FromStr for AlertStatus {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "firing" => Ok(AlertStatus::Firing),
            "resolved" => Ok(AlertStatus::Resolved),
            other => Err(UnknownValue(other.to_owned())),
        }
    }
}

/// Normalised severity. Senders spell it many ways (`critical`, `P1`, `severe`, `warn`…).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Critical,
    High,
    Warning,
    Info,
    None,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Warning,
        Severity::Info,
        Severity::None,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Warning => "warning",
            Severity::Info => "info",
            Severity::None => "none",
        }
    }

    /// Reads the `severity` (or `priority`) label the way people write it.
    pub fn from_labels(labels: &Labels) -> Severity {
        let raw = labels
            .get("severity")
            .or_else(|| labels.get("priority"))
            .map(|s| s.trim().to_ascii_lowercase());
        match raw.as_deref() {
            Some("critical" | "crit" | "page" | "p1" | "sev1" | "fatal" | "emergency") => {
                Severity::Critical
            }
            Some("high" | "error" | "err" | "major" | "severe" | "p2" | "sev2") => Severity::High,
            Some("warning" | "warn" | "medium" | "minor" | "p3" | "sev3") => Severity::Warning,
            Some("info" | "informational" | "low" | "notice" | "p4" | "p5" | "sev4") => {
                Severity::Info
            }
            _ => Severity::None,
        }
    }
}

impl FromStr for Severity {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::ALL
            .into_iter()
            .find(|sev| sev.as_str() == s)
            .ok_or_else(|| UnknownValue(s.to_owned()))
    }
}

/// One alert, whatever format it arrived in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub status: AlertStatus,
    pub labels: Labels,
    pub annotations: Labels,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub generator_url: Option<String>,
    /// The sender's own fingerprint (Alertmanager/Grafana), if it sent one.
    pub source_fingerprint: Option<String>,
    /// Format-specific extras kept as they came (Grafana values, silenceURL, dashboardURL…).
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Alert {
    pub fn alertname(&self) -> &str {
        self.labels
            .get("alertname")
            .map(String::as_str)
            .unwrap_or("")
    }

    pub fn severity(&self) -> Severity {
        Severity::from_labels(&self.labels)
    }
}

/// One webhook body, parsed. The raw bytes are kept separately by the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub source: Source,
    pub version: Option<String>,
    pub receiver: Option<String>,
    pub status: Option<AlertStatus>,
    pub group_key: Option<String>,
    pub truncated_alerts: u64,
    pub group_labels: Labels,
    pub common_labels: Labels,
    pub common_annotations: Labels,
    pub external_url: Option<String>,
    /// Grafana: title, state, message, orgId. SigNoz: ruleId etc.
    pub extra: serde_json::Map<String, serde_json::Value>,
    pub alerts: Vec<Alert>,
}

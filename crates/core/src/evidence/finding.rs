//! What an analyzer concludes: a problem (or a recovery) with its severity, the class of cause,
//! the objects involved and the evidence it rests on, so an analysis can cite each fact.

use super::snapshot::{Event, ObjectRef};
use serde::{Deserialize, Serialize};

/// The class of cause, in the words SRE post-mortems (and other agents' evaluations) use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Out of memory, CPU, quota, disk or schedulable capacity.
    ResourceExhaustion,
    /// A wrong image, probe, reference, selector, storage class…: something someone set.
    ConfigurationError,
    /// Something it depends on is unreachable (DNS, a service without endpoints, a registry).
    DependencyFailure,
    /// The node or the platform under it.
    Infrastructure,
    /// The program itself fails (a non-zero exit with an error in its logs).
    CodeDefect,
    /// Nothing wrong now: the workload is healthy or has recovered.
    Healthy,
    Unknown,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ResourceExhaustion => "resource_exhaustion",
            Self::ConfigurationError => "configuration_error",
            Self::DependencyFailure => "dependency_failure",
            Self::Infrastructure => "infrastructure",
            Self::CodeDefect => "code_defect",
            Self::Healthy => "healthy",
            Self::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for Category {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Critical => "critical",
        }
    }
}

/// One fact a finding rests on: where it was read and what it says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    pub object: ObjectRef,
    /// The field, event or log it was read from (`status.containerStatuses[app].lastState`,
    /// `event FailedScheduling`, `logs (previous)`).
    pub source: String,
    /// What it says, quoted or summarised.
    pub detail: String,
}

impl Evidence {
    /// An event about `object`, quoted.
    pub fn event(object: &ObjectRef, event: &Event) -> Self {
        Evidence::new(
            object,
            format!("event {}", event.reason),
            event.message.clone(),
        )
    }

    pub fn new(object: &ObjectRef, source: impl Into<String>, detail: impl Into<String>) -> Self {
        Evidence {
            object: object.clone(),
            source: source.into(),
            detail: detail.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The analyzer that found it (`container_waiting`, `oom_killed`, `scheduling`, …).
    pub analyzer: String,
    pub severity: Severity,
    pub category: Category,
    /// The cause in one sentence, naming the objects and the numbers.
    pub summary: String,
    /// The reason a runbook handles it by (`OOMKilled`, `ImagePullBackOff`, `NodeNotReady`,
    /// …), when one applies: what routing by evidence matches on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub objects: Vec<ObjectRef>,
    pub evidence: Vec<Evidence>,
    /// What a person (or a runbook) would do about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remedy: Option<String>,
}

impl Finding {
    pub fn new(
        analyzer: &str,
        severity: Severity,
        category: Category,
        summary: impl Into<String>,
    ) -> Finding {
        Finding {
            analyzer: analyzer.to_owned(),
            severity,
            category,
            summary: summary.into(),
            reason: None,
            objects: Vec::new(),
            evidence: Vec::new(),
            remedy: None,
        }
    }

    pub fn reason(mut self, reason: &str) -> Finding {
        self.reason = Some(reason.to_owned());
        self
    }

    pub fn object(mut self, object: ObjectRef) -> Finding {
        if !self.objects.contains(&object) {
            self.objects.push(object);
        }
        self
    }

    pub fn evidence(mut self, evidence: Evidence) -> Finding {
        if !self.objects.contains(&evidence.object) {
            self.objects.push(evidence.object.clone());
        }
        self.evidence.push(evidence);
        self
    }

    pub fn remedy(mut self, remedy: impl Into<String>) -> Finding {
        self.remedy = Some(remedy.into());
        self
    }

    /// A recovery rather than a problem.
    pub fn is_recovery(&self) -> bool {
        self.category == Category::Healthy
    }
}

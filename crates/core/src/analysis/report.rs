//! The analysis itself: titled sections in a fixed order, the events they cite, and where the
//! text came from.

use serde::{Deserialize, Serialize};

/// The sections every analysis has, in this order.
pub const SECTION_TITLES: [&str; 7] = [
    "Summary",
    "What happened",
    "Root cause hypothesis",
    "Action",
    "Why",
    "Historical pattern & SRE recommendation",
    "Follow-ups",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AnalysisSource {
    /// Written by [`super::template_analysis`], no model involved.
    Template,
    /// A model's answer, parsed by [`super::parse_llm_analysis`].
    Llm,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Section {
    pub title: String,
    /// Markdown.
    pub body: String,
}

/// A claim in `section` rests on event `event_id` of the incident's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Citation {
    pub section: String,
    pub event_id: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Analysis {
    pub source: AnalysisSource,
    pub sections: Vec<Section>,
    /// Citations of events that are in the timeline, in order of appearance, each once per
    /// section.
    pub citations: Vec<Citation>,
    /// Citations of event ids the timeline does not have (a model's invention or typo); kept
    /// so a reviewer sees them, never counted as evidence.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unverified_citations: Vec<Citation>,
}

impl Analysis {
    /// The section with this title (exact, as in [`SECTION_TITLES`]).
    pub fn section(&self, title: &str) -> Option<&Section> {
        self.sections.iter().find(|section| section.title == title)
    }

    /// The event ids cited in one section, in order.
    pub fn cited_in(&self, title: &str) -> Vec<i64> {
        self.citations
            .iter()
            .filter(|citation| citation.section == title)
            .map(|citation| citation.event_id)
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnalysisError {
    #[error("the model's analysis is empty")]
    Empty,
    /// Names every required section that is absent or has no text, so the caller can say
    /// exactly what the model left out (and fall back to the template).
    #[error("the model's analysis lacks required sections: {}", .missing.join(", "))]
    MissingSections { missing: Vec<String> },
}

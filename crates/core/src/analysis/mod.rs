//! The incident analysis: Summary, What happened, Root cause hypothesis, Action,
//! Why, Historical pattern & SRE recommendation, Follow-ups.
//!
//! Pure: the caller passes the incident, its timeline and candidate history as plain data
//! ([`AnalysisInput`]) and the time. With no model, [`template_analysis`] writes every section
//! from the facts; with one, [`llm_prompt`] gives it the same facts and [`parse_llm_analysis`]
//! reads its answer back, refusing one that lacks a section and flagging citations of events
//! that do not exist. Either way the result is an [`Analysis`] with the events it cites.
//!
//! Files: `input` (what goes in), `history` (related incidents and their pattern), `timeline`
//! (facts from events), `template`, `llm` (the prompt), `parse` (a model's answer),
//! `citations`, `report` (what comes out), `render` (Markdown), `words` (shared formatting).

mod citations;
mod history;
mod input;
mod llm;
mod parse;
mod render;
mod report;
mod template;
#[cfg(test)]
mod tests;
mod timeline;
mod words;

pub use history::{
    FLAP_MAX_MINUTES, FLAP_MIN_COUNT, FixRecord, Flapping, HISTORY_LIMIT, HOLD_WINDOW_DAYS,
    HistoryPattern, MatchReason, NOISE_MIN_JUDGED, NOISE_MIN_PERCENT, REPEATED_FIX_MIN,
    Recommendation, RecommendationKind, RelatedIncident, VerdictCounts, history_pattern,
    select_history,
};
pub use input::{
    ActionOutcome, AnalysisInput, IncidentInfo, PastIncident, TakenAction, TimelineEvent,
};
pub use llm::{EVIDENCE_HEADING, investigation_prompt, llm_prompt};
pub use parse::parse_llm_analysis;
pub use report::{Analysis, AnalysisError, AnalysisSource, Citation, SECTION_TITLES, Section};
pub use template::template_analysis;
pub use words::clip;

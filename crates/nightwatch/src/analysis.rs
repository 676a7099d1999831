//! Writing an incident's analysis (DESIGN §6) as an `analysis` event: the responder does it when
//! a runbook job finishes, the API when someone asks for a fresh one. Template only for now;
//! the LLM, when wired, writes the same event shape with `source: llm`.

use chrono::{DateTime, Utc};
use nightwatch_core::analysis::template_analysis;
use nightwatch_core::event::EventKind;
use nightwatch_core::runbook::Library;
use nightwatch_store::{EventRow, Store, StoreError};

/// The actor analysis events are written under.
const ACTOR: &str = "nightwatch";

#[derive(Debug, thiserror::Error)]
pub enum AnalysisWriteError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("serialising the analysis: {0}")]
    Serialise(#[from] serde_json::Error),
}

/// Builds incident `incident_id`'s analysis from what the store holds now (its timeline and
/// related history) and appends it; `None` when there is no such incident.
///
/// The event's payload is the serialised `Analysis` (`source`, `sections`, `citations`) plus
/// `markdown`, so a reader needs no renderer and a later model-written analysis has the same
/// shape.
pub async fn write_analysis(
    store: &Store,
    library: &Library,
    incident_id: i64,
    now: DateTime<Utc>,
) -> Result<Option<EventRow>, AnalysisWriteError> {
    let Some(mut input) = store.analysis_input(incident_id).await? else {
        return Ok(None);
    };
    input.incident.runbook_title = input
        .incident
        .runbook
        .as_deref()
        .and_then(|id| library.get(id))
        .map(|loaded| loaded.runbook.title.clone());
    let analysis = template_analysis(&input, now);
    let mut payload = serde_json::to_value(&analysis)?;
    if let Some(object) = payload.as_object_mut() {
        object.insert("markdown".to_owned(), analysis.to_markdown().into());
    }
    let event = store
        .record_incident_event(incident_id, EventKind::Analysis, ACTOR, payload, now)
        .await?;
    Ok(Some(event))
}

/// An analysis event as the API shows it: the payload with the event's id and time.
pub fn analysis_view(event: &EventRow) -> serde_json::Value {
    let mut view = event.payload.clone();
    if let Some(object) = view.as_object_mut() {
        object.insert("event_id".to_owned(), event.id.into());
        object.insert("at".to_owned(), serde_json::json!(event.at));
    }
    view
}

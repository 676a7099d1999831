//! Writing an incident's analysis as an `analysis` event: the responder does it when
//! a runbook job finishes, the API when someone asks for a fresh one. With a model configured
//! the model writes it (its exchange recorded as `llm_request` / `llm_response` events first);
//! when the model fails or its answer lacks a section, the deterministic template writes it and
//! the event says why (`fallback_reason`). Without a model, the template.

use crate::investigate::{Llm, transcript_events};
use chrono::{DateTime, Utc};
use nightwatch_core::analysis::{Analysis, AnalysisInput, parse_llm_analysis, template_analysis};
use nightwatch_core::event::EventKind;
use nightwatch_core::event::payload::{self, Payload};
use nightwatch_core::runbook::Library;
use nightwatch_llm::Stop;
use nightwatch_store::{EventRow, Store, StoreError};
use serde_json::{Value, json};
use std::sync::Arc;

use nightwatch_core::event::ACTOR;

/// Where an analysis came from; empty when no model is configured.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Provenance {
    /// The model's `provider/model` label.
    pub model: Option<String>,
    /// What asking the model cost.
    pub spend: Option<Value>,
    /// Why the template wrote the analysis instead of the model.
    pub fallback_reason: Option<String>,
}

/// Writes analyses; shared by the responder and the API.
pub struct Analyst {
    pub store: Arc<Store>,
    pub library: Arc<Library>,
    pub llm: Option<Arc<Llm>>,
}

/// An analysis and where it came from, before it is stored.
pub struct Written {
    pub analysis: Analysis,
    /// Set on the event's payload.
    pub provenance: Provenance,
    /// The model's exchange, as events to append before the analysis.
    pub transcript: Vec<(EventKind, Value)>,
}

impl Analyst {
    /// What the store holds now about incident `incident_id` (its timeline and related
    /// history), with the runbook's title filled in; `None` when there is no such incident.
    pub async fn input(&self, incident_id: i64) -> Result<Option<AnalysisInput>, StoreError> {
        let Some(mut input) = self.store.analysis_input(incident_id).await? else {
            return Ok(None);
        };
        input.incident.runbook_title = input
            .incident
            .runbook
            .as_deref()
            .and_then(|id| self.library.get(id))
            .map(|loaded| loaded.runbook.title.clone());
        Ok(Some(input))
    }

    /// Builds incident `incident_id`'s analysis and appends it (after the model's exchange,
    /// when a model wrote it); `None` when there is no such incident.
    ///
    /// The event's payload is a [`payload::Analysis`]: the analysis with its `markdown` and
    /// provenance, so a reader needs no renderer.
    pub async fn write(
        &self,
        incident_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Option<EventRow>, StoreError> {
        let Some(input) = self.input(incident_id).await? else {
            return Ok(None);
        };
        let over = match &self.llm {
            Some(llm) => llm.over_ceiling(&self.store, now).await?,
            None => None,
        };
        let written = match over {
            None => compose(self.llm.as_deref(), &input, now).await,
            Some(reason) => {
                tracing::warn!(incident = incident_id, %reason, "template analysis instead of the model's");
                let mut written = compose(None, &input, now).await;
                written.provenance.fallback_reason = Some(reason);
                written
            }
        };
        for (kind, payload) in written.transcript {
            self.store
                .append_incident_event(incident_id, kind, ACTOR, payload, now)
                .await?;
        }
        let payload = analysis_payload(&written.analysis, written.provenance).to_json();
        let event = self
            .store
            .record_incident_event(incident_id, EventKind::Analysis, ACTOR, payload, now)
            .await?;
        Ok(Some(event))
    }
}

/// The analysis of `input`: the model's when there is one and its answer parses, else the
/// template's.
pub async fn compose(llm: Option<&Llm>, input: &AnalysisInput, now: DateTime<Utc>) -> Written {
    let Some(llm) = llm else {
        return Written {
            analysis: template_analysis(input, now),
            provenance: Provenance::default(),
            transcript: Vec::new(),
        };
    };
    let (answer, names) = llm.write_analysis(input, now).await;
    let transcript = transcript_events(&answer.transcript, names.as_ref());
    let mut provenance = Provenance {
        model: Some(llm.label.clone()),
        spend: Some(json!(answer.spend)),
        fallback_reason: None,
    };
    let parsed = match &answer.stop {
        Stop::ProviderError { error } => Err(format!("the model could not be reached: {error}")),
        _ => parse_llm_analysis(&answer.answer, input)
            .map_err(|error| format!("the model's answer was not usable: {error}")),
    };
    let analysis = match parsed {
        Ok(analysis) => analysis,
        Err(reason) => {
            tracing::warn!(incident = input.incident.id, %reason, "template analysis instead of the model's");
            provenance.fallback_reason = Some(reason);
            template_analysis(input, now)
        }
    };
    Written {
        analysis,
        provenance,
        transcript,
    }
}

/// The stored shape: the analysis, its Markdown, its provenance.
pub fn analysis_payload(analysis: &Analysis, provenance: Provenance) -> payload::Analysis {
    payload::Analysis {
        model: provenance.model,
        spend: provenance.spend,
        fallback_reason: provenance.fallback_reason,
        ..payload::Analysis::from(analysis)
    }
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

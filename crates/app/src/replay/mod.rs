//! `nightwatch replay PATH`: a delivery or a case through the real pipeline — parse, store
//! (a throwaway SQLite database), fold into incidents, route, run the runbook, investigate,
//! analyse — with every read tool answered from the case's recordings and no cluster (actions
//! are never run: the responder finds no cluster to act on). Prints the analysis, the tool calls
//! and the model's token counts: the base for comparing models and versions on the same cases.

mod case;
pub mod holmesgpt;
mod opensre;
mod recorded;
mod report;

pub use case::{Case, CaseError, load};
pub use report::{QualityRow, Report, render_markdown, render_quality};

use crate::investigate::Llm;
use nightwatch_core::Clock;
use nightwatch_core::fingerprint::FingerprintConfig;
use nightwatch_core::policy::PolicyConfig;
use nightwatch_core::runbook::Library;
use nightwatch_store::{IncidentFilter, NewDelivery, Store, StoreError};
use std::sync::Arc;

/// What a replay runs with: the runbooks and policy the operator configured, the model (none:
/// the template analysis) and the fingerprint settings.
pub struct ReplaySetup {
    pub library: Arc<Library>,
    /// Its mode is ignored: a replay has no cluster and acts on nothing, so it recommends.
    pub policy: PolicyConfig,
    pub llm: Option<Arc<Llm>>,
    pub fingerprints: FingerprintConfig,
    /// Read the case's recorded cluster objects with the analyzers (routing by evidence,
    /// findings first in prompts, action premises); `false` replays as if there were none, to
    /// measure what the analyzers change.
    pub evidence: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("creating the replay's scratch directory: {0}")]
    ScratchDir(#[source] std::io::Error),
    #[error("{case}: {message}")]
    Parse { case: String, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Runs `case` through the pipeline and reads back what happened.
pub async fn replay(case: &Case, setup: ReplaySetup) -> Result<Report, ReplayError> {
    let ReplaySetup {
        library,
        mut policy,
        llm,
        fingerprints,
        evidence,
    } = setup;
    let clock: Arc<dyn Clock> = Arc::new(nightwatch_core::SystemClock);
    let dir = tempfile::tempdir().map_err(ReplayError::ScratchDir)?;
    let url = format!("sqlite://{}", dir.path().join("replay.db").display());
    let store = Arc::new(Store::open(&url, fingerprints).await?);
    store.migrate().await?;
    let now = clock.now();
    let mut delivery =
        nightwatch_core::parse::parse(case.source, &case.body, now).map_err(|error| {
            ReplayError::Parse {
                case: case.name.clone(),
                message: error.to_string(),
            }
        })?;
    nightwatch_core::parse::skew::clamp_future_starts(
        &mut delivery,
        now,
        nightwatch_core::parse::skew::DEFAULT_MAX_CLOCK_SKEW,
    );
    store
        .ingest(NewDelivery {
            source: case.source,
            received_at: now,
            auth_subject: None,
            remote_addr: None,
            content_type: Some("application/json".to_owned()),
            body: case.body.clone(),
            delivery,
        })
        .await?;
    while store.process_queue(clock.now()).await? > 0 {}

    // Recommend mode whatever the config says: a replay has no cluster and acts on nothing.
    policy.mode = nightwatch_core::policy::Mode::Recommend;
    let policy = Arc::new(policy);
    let analyst = Arc::new(crate::analysis::Analyst {
        store: store.clone(),
        library: library.clone(),
        llm: llm.clone(),
    });
    let responder = crate::respond::Responder {
        store: store.clone(),
        clock: clock.clone(),
        library: library.clone(),
        policy,
        cluster: None,
        settings: crate::respond::RespondSettings::default(),
        metrics: Arc::new(crate::metrics::Metrics::new()),
        analyst,
        llm: llm.clone(),
        sources: None,
        recorded_tools: Some(Arc::new(recorded::RecordedToolbox::new(
            &case.recordings,
            library,
        ))),
        evidence: evidence.then(|| {
            Arc::new(crate::evidence::RecordedEvidence(case.snapshot.clone()))
                as Arc<dyn crate::evidence::EvidenceReader>
        }),
        decision_turn: tokio::sync::Mutex::new(()),
    };
    responder.run_pending().await?;

    let page = store
        .list_incidents(&IncidentFilter {
            limit: Some(100),
            ..IncidentFilter::default()
        })
        .await?;
    let mut details = Vec::new();
    for incident in page.incidents.iter().rev() {
        if let Some(detail) = store.incident_detail(incident.id).await? {
            details.push(detail);
        }
    }
    let model = llm.as_ref().map(|llm| llm.label.clone());
    Ok(report::build(case, model, &details))
}

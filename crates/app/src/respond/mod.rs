//! The responder: takes each opened incident's runbook job, routes it, runs the runbook's steps
//! (read tools freely, actions only through the policy), and runs actions humans approved.
//! Every step lands in the incident's timeline.

mod act;
mod run;

use crate::metrics::Metrics;
use nightwatch_core::Clock;
use nightwatch_core::policy::PolicyConfig;
use nightwatch_core::runbook::Library;
use nightwatch_kube::{Actuator, Kube};
use nightwatch_store::{ActionState, Store};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, Semaphore, watch};
use tokio::task::JoinSet;
use tracing::Instrument;

/// How the responder acts, from the config.
#[derive(Debug, Clone)]
pub struct RespondSettings {
    /// Image `fix_imagepullbackoff` / `patch_image` fall back to when a step gives none.
    pub fallback_image: Option<String>,
    /// How long a verification may take before the action counts as failed.
    pub verify_timeout: Duration,
    /// Pause between verification reads.
    pub verify_interval: Duration,
    /// Incidents handled at once.
    pub concurrency: usize,
    /// A claimed job, or an approved action being run, is taken up by another worker after
    /// this (a crash mid-runbook or mid-action). Longer than `verify_timeout`: a live worker
    /// settles its action within that.
    pub lease: Duration,
    /// A run whose action gates were all closed (and that did not escalate) runs again after
    /// this, while the incident is open…
    pub recheck_after: Duration,
    /// …at most this many times.
    pub max_rechecks: i64,
    /// Incidents in these namespaces (globs) get the verdict noise unless someone set one.
    pub noise_namespaces: Vec<String>,
}

impl Default for RespondSettings {
    fn default() -> Self {
        Self {
            fallback_image: None,
            verify_timeout: Duration::from_secs(180),
            verify_interval: Duration::from_secs(2),
            concurrency: 8,
            lease: Duration::from_secs(600),
            recheck_after: Duration::from_secs(120),
            max_rechecks: 3,
            noise_namespaces: nightwatch_core::verdict::DEFAULT_NOISE_NAMESPACES
                .iter()
                .map(|p| (*p).to_owned())
                .collect(),
        }
    }
}

/// The cluster, when nightwatch has access to one.
pub struct Cluster {
    pub kube: Kube,
    pub actuator: Actuator,
}

pub struct Responder {
    pub store: Arc<Store>,
    pub clock: Arc<dyn Clock>,
    pub library: Arc<Library>,
    pub policy: Arc<PolicyConfig>,
    pub cluster: Option<Arc<Cluster>>,
    pub settings: RespondSettings,
    pub metrics: Arc<Metrics>,
    /// Writes each run's analysis.
    pub analyst: Arc<crate::analysis::Analyst>,
    /// The model that investigates incidents no runbook handles; `None`: no investigation.
    pub llm: Option<Arc<crate::investigate::Llm>>,
    /// The observability sources the investigation may read.
    pub sources: Option<Arc<nightwatch_sources::Sources>>,
    /// Replay only: every read tool (runbook steps and the investigation) is answered from a
    /// case's recordings instead of the cluster and the sources.
    pub recorded_tools: Option<Arc<dyn nightwatch_llm::Toolbox>>,
    /// Where the analyzers read the cluster around an alert; `None`: no assessment.
    pub evidence: Option<Arc<dyn crate::evidence::EvidenceReader>>,
    /// Held from a policy decision until its action is recorded (see `action_step`).
    pub decision_turn: tokio::sync::Mutex<()>,
}

const POLL_INTERVAL: Duration = Duration::from_millis(500);
/// A job that failed this many times is given up (recorded) rather than retried forever.
const MAX_ATTEMPTS: i64 = 3;

impl Responder {
    /// The lease, as a span of the store's times.
    pub(super) fn lease(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.settings.lease).unwrap_or(chrono::Duration::minutes(10))
    }

    pub async fn run(self: Arc<Self>, wake: Arc<Notify>, mut stop: watch::Receiver<bool>) {
        let slots = Arc::new(Semaphore::new(self.settings.concurrency.max(1)));
        let mut tasks = JoinSet::new();
        loop {
            if *stop.borrow() {
                break;
            }
            while tasks.try_join_next().is_some() {}
            let found = self.dispatch(&slots, &mut tasks).await;
            if found == 0 {
                tokio::select! {
                    _ = wake.notified() => {}
                    _ = tokio::time::sleep(POLL_INTERVAL) => {}
                    _ = stop.changed() => {}
                }
            }
        }
        // Let running runbooks finish their current write; they are leased, so an abandoned
        // one is picked up again after a restart.
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
    }

    /// Resolved incidents a verified action fixed get the verdict auto-fixed (never over a
    /// person's verdict: only empty ones are filled).
    async fn auto_fix_verdicts(&self, now: chrono::DateTime<chrono::Utc>) {
        let candidates = match self.store.resolved_unjudged_with_verified_action(20).await {
            Ok(ids) => ids,
            Err(error) => {
                tracing::warn!(%error, "reading auto-fixed candidates failed");
                return;
            }
        };
        for id in candidates {
            self.auto_verdict(id, now).await;
        }
    }

    /// Sets the automatic verdict core::verdict decides for incident `id`, if any.
    pub(super) async fn auto_verdict(&self, id: i64, now: chrono::DateTime<chrono::Utc>) {
        let Ok(Some(incident)) = self.store.incident(id).await else {
            return;
        };
        let verified = match self
            .store
            .actions(Some(ActionState::Verified), Some(id), 1)
            .await
        {
            Ok(actions) => !actions.is_empty(),
            Err(_) => false,
        };
        let facts = nightwatch_core::verdict::VerdictFacts {
            namespace: incident.namespace.as_deref(),
            state: incident.state,
            verdict: incident.verdict,
            verified_action: verified,
        };
        // The policy's `known_noise` namespaces count too: one list a user may keep in either place.
        let mut noise = self.settings.noise_namespaces.clone();
        noise.extend(self.policy.known_noise.namespaces.iter().cloned());
        let Some((verdict, why)) = nightwatch_core::verdict::auto_verdict(&facts, &noise) else {
            return;
        };
        match self
            .store
            .change_incident(
                id,
                nightwatch_core::incident::ManualChange::SetVerdict(verdict),
                run::ACTOR,
                now,
            )
            .await
        {
            Ok(_) => {
                tracing::info!(incident = id, verdict = verdict.as_str(), %why, "automatic verdict")
            }
            Err(error) => {
                tracing::warn!(incident = id, %error, "setting the automatic verdict failed")
            }
        }
    }

    /// Runs every claimable job and approved action to the end, one at a time (replay: no
    /// background loop). Returns how many ran.
    pub async fn run_pending(&self) -> Result<usize, nightwatch_store::StoreError> {
        let mut ran = 0;
        loop {
            let lease = self.lease();
            let jobs = self
                .store
                .claim_incident_jobs(self.clock.now(), lease, 16)
                .await?;
            if jobs.is_empty() {
                return Ok(ran);
            }
            for job in jobs {
                let span = tracing::info_span!("incident", incident = job.incident_id);
                self.handle_job(job).instrument(span).await;
                ran += 1;
            }
        }
    }

    /// Starts work for free slots: approved actions first (a human is waiting), then new jobs.
    async fn dispatch(self: &Arc<Self>, slots: &Arc<Semaphore>, tasks: &mut JoinSet<()>) -> usize {
        let now = self.clock.now();
        if let Err(error) = self.store.expire_pending_actions(now).await {
            tracing::warn!(%error, "expiring pending actions failed");
        }
        self.auto_fix_verdicts(now).await;
        let free = slots.available_permits();
        if free == 0 {
            return 0;
        }
        let mut work: Vec<Work> = Vec::new();
        match self
            .store
            .actions(Some(ActionState::Approved), None, free as i64)
            .await
        {
            Ok(approved) => work.extend(
                approved
                    .into_iter()
                    .map(|action| Work::Approved(Box::new(action))),
            ),
            Err(error) => tracing::warn!(%error, "reading approved actions failed"),
        }
        // Approved actions a process that died left running: their lease ran out.
        let room = free.saturating_sub(work.len());
        if room > 0 {
            let lease = self.lease();
            match self
                .store
                .claim_orphaned_actions(now, lease, room as i64)
                .await
            {
                Ok(orphans) => work.extend(
                    orphans
                        .into_iter()
                        .map(|action| Work::Orphaned(Box::new(action))),
                ),
                Err(error) => tracing::warn!(%error, "claiming orphaned actions failed"),
            }
        }
        let room = free.saturating_sub(work.len());
        if room > 0 {
            let lease = self.lease();
            match self
                .store
                .claim_incident_jobs(now, lease, room as i64)
                .await
            {
                Ok(jobs) => work.extend(jobs.into_iter().map(Work::Job)),
                Err(error) => tracing::warn!(%error, "claiming runbook jobs failed"),
            }
        }
        let started = work.len();
        for item in work {
            // At most `free` items were taken, so a slot is there for each.
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                break;
            };
            let responder = self.clone();
            // Every log line of the work names its incident (a span field; in JSON logs
            // `span.incident`).
            let span = tracing::info_span!("incident", incident = item.incident_id());
            tasks.spawn(
                async move {
                    match item {
                        Work::Approved(action) => responder.run_approved(*action).await,
                        Work::Orphaned(action) => responder.resume_orphaned(*action).await,
                        Work::Job(job) => responder.handle_job(job).await,
                    }
                    drop(slot);
                }
                .instrument(span),
            );
        }
        started
    }
}

/// What the responder starts: an action a human approved (first: someone is waiting), or a
/// new incident's runbook.
enum Work {
    Approved(Box<nightwatch_store::ActionRow>),
    /// Approved, left `running` by a process that died.
    Orphaned(Box<nightwatch_store::ActionRow>),
    Job(nightwatch_store::IncidentJob),
}

impl Work {
    fn incident_id(&self) -> i64 {
        match self {
            Work::Approved(action) | Work::Orphaned(action) => action.incident_id,
            Work::Job(job) => job.incident_id,
        }
    }
}

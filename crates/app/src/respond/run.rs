//! One incident's runbook: route, then each step in order, gates first.

use super::{MAX_ATTEMPTS, Responder};
use chrono::{DateTime, Utc};
use nightwatch_core::event::EventKind;
use nightwatch_core::event::payload::{
    ActionDecided, Final, Investigation, Payload, Routed, StepSkipped, ToolCall, ToolResult,
};
use nightwatch_core::evidence::{Assessment, Scope, assess};
use nightwatch_core::incident::IncidentState;
use nightwatch_core::runbook::Gate;
use nightwatch_core::runbook::{
    GateContext, LoadedRunbook, Route, Step, ToolKind, UNKNOWN_RUNBOOK, route_static,
    route_with_evidence, routed_or_unknown,
};
use nightwatch_kube::ToolTarget;
use nightwatch_store::{IncidentJob, IncidentRow, StoreError};
use serde_json::json;

/// The actor name nightwatch writes its own events under.
pub(super) use nightwatch_core::event::ACTOR;

impl Responder {
    pub(super) async fn handle_job(&self, job: IncidentJob) {
        match self.respond(job).await {
            Ok(None) => {
                if let Err(error) = self.store.finish_incident_job(job.incident_id).await {
                    tracing::warn!(incident = job.incident_id, %error, "finishing runbook job failed");
                }
            }
            Ok(Some(at)) => {
                if let Err(error) = self.store.defer_incident_job(job.incident_id, at).await {
                    tracing::warn!(incident = job.incident_id, %error, "deferring runbook job failed");
                }
            }
            // Left claimed: the lease runs out and the job is retried.
            Err(error) => {
                tracing::warn!(incident = job.incident_id, attempt = job.attempts, %error, "runbook job failed; will retry")
            }
        }
    }

    /// Runs the incident's runbook once; `Some(time)` when it is to run again then (a re-check).
    async fn respond(&self, job: IncidentJob) -> Result<Option<DateTime<Utc>>, StoreError> {
        let Some(incident) = self.store.incident(job.incident_id).await? else {
            return Ok(None);
        };
        // What an earlier run left `running` is settled first, whether this run goes on, gives
        // up or finds the incident resolved: its process died mid-run (a retry), or the API
        // server could not be reached.
        let unsettled = self.resume_interrupted_actions(incident.id).await?;
        if !unsettled.is_empty() {
            if job.rechecks < self.settings.max_rechecks && job.attempts <= MAX_ATTEMPTS {
                return Ok(Some(self.recheck_time()));
            }
            self.give_up_unverified(incident.id).await?;
        }
        if job.rechecks > 0 && incident.state == IncidentState::Resolved {
            return Ok(None);
        }
        // Test tenants and the like: noise, unless someone said otherwise.
        self.auto_verdict(incident.id, self.clock.now()).await;
        if job.attempts > MAX_ATTEMPTS {
            self.event(
                incident.id,
                EventKind::Final,
                Final {
                    outcome: Some("gave_up".to_owned()),
                    reason: Some(format!("the runbook job failed {} times", job.attempts - 1)),
                    ..Final::default()
                }
                .to_json(),
            )
            .await?;
            self.analyse(incident.id).await;
            return Ok(None);
        }
        let assessment = self.assess(&incident).await;
        if let Some(assessment) = &assessment {
            self.event(incident.id, EventKind::Evidence, assessment.to_json())
                .await?;
        }
        let route = self.route(&incident, assessment.as_ref()).await;
        // The incident id comes from the job's span.
        tracing::info!(alertname = %incident.alertname, runbook = %route.runbook, "routed");
        self.event(
            incident.id,
            EventKind::Routed,
            Routed::from(&route).to_json(),
        )
        .await?;
        self.store
            .set_incident_runbook(incident.id, &route.runbook, self.policy.mode.as_str())
            .await?;
        let Some(loaded) = self.library.get(&route.runbook) else {
            // The library always has RB_UNKNOWN, and routes only name loaded runbooks.
            return Ok(None);
        };
        let (mut summary, waiting) = self
            .run_steps(&incident, loaded, assessment.as_ref())
            .await?;
        if loaded.runbook.id == UNKNOWN_RUNBOOK
            && let Some(llm) = &self.llm
        {
            summary.investigation = Some(Some(self.investigate(incident.id, llm).await?));
        }
        // The evidence an action waits for may not be there yet (one OOM kill where the
        // runbook wants two; a node not healthy yet): look again later, a few times, while
        // the incident stays open. A run that escalated has handed over to a human.
        // Without cluster access nothing new can be seen, so there is nothing to re-check.
        let recheck =
            (waiting && self.cluster.is_some() && job.rechecks < self.settings.max_rechecks)
                .then(|| self.recheck_time());
        if recheck.is_none() {
            // No later look: an action the API server kept from being verified fails now.
            self.give_up_unverified(incident.id).await?;
        }
        if let Some(at) = recheck {
            summary.recheck_at = Some(at);
            summary.recheck = Some(job.rechecks + 1);
        }
        self.event(incident.id, EventKind::Final, summary.to_json())
            .await?;
        // Each run writes what it knows; a re-check that finds more writes a newer analysis.
        self.analyse(incident.id).await;
        Ok(recheck)
    }

    /// When a run that is to look again does.
    fn recheck_time(&self) -> DateTime<Utc> {
        self.clock.now()
            + chrono::Duration::from_std(self.settings.recheck_after)
                .unwrap_or(chrono::Duration::minutes(2))
    }

    /// Writes the analysis after the runbook's `final` event. The runbook's work is done and
    /// recorded by then, so a failure here is logged and neither fails nor retries the job
    /// (a retry would run the runbook again); the analysis can be regenerated through the API.
    pub(super) async fn analyse(&self, incident_id: i64) {
        let now = self.clock.now();
        if let Err(error) = self.analyst.write(incident_id, now).await {
            tracing::warn!(incident = incident_id, %error, "writing the analysis failed");
        }
    }

    /// The model investigates with the read tools; its exchange lands in the timeline (tool
    /// calls and results as `llm:<agent>` steps, so the analysis can cite them), then its report
    /// as an `investigation` event. Returns what `final` says of it.
    async fn investigate(
        &self,
        incident_id: i64,
        llm: &crate::investigate::Llm,
    ) -> Result<serde_json::Value, StoreError> {
        let Some(input) = self.analyst.input(incident_id).await? else {
            return Ok(serde_json::Value::Null);
        };
        let live = crate::investigate::InvestigationToolbox {
            kube: self.cluster.as_deref().map(|cluster| &cluster.kube),
            sources: self.sources.as_deref(),
            library: &self.library,
        };
        let toolbox: &dyn nightwatch_llm::Toolbox = match &self.recorded_tools {
            Some(recorded) => recorded.as_ref(),
            None => &live,
        };
        if let Some(reason) = llm.over_ceiling(&self.store, self.clock.now()).await? {
            tracing::warn!(incident = incident_id, %reason, "no investigation");
            let payload = Investigation {
                model: llm.label.clone(),
                stop: reason,
                source: serde_json::Value::Null,
                tool_calls: 0,
                spend: serde_json::Value::Null,
                answer: serde_json::Value::Null,
            }
            .to_json();
            self.event(incident_id, EventKind::Investigation, payload.clone())
                .await?;
            return Ok(payload);
        }
        let (investigation, names) = llm.investigate(&input, toolbox, self.clock.now()).await;
        for (kind, payload) in
            crate::investigate::transcript_events(&investigation.transcript, names.as_ref())
        {
            self.event(incident_id, kind, payload).await?;
        }
        let tool_calls = investigation.transcript.tool_results().count();
        let payload = Investigation {
            model: llm.label.clone(),
            stop: investigation.stop.to_string(),
            source: json!(investigation.source),
            tool_calls: tool_calls as u64,
            spend: json!(investigation.spend),
            answer: json!(investigation.answer),
        }
        .to_json();
        // `final` repeats the conclusion without the answer (the investigation event has it).
        let mut outcome = payload.clone();
        if let Some(object) = outcome.as_object_mut() {
            object.shift_remove("answer");
        }
        self.event(incident_id, EventKind::Investigation, payload)
            .await?;
        Ok(outcome)
    }

    /// The analyzers over what the alert's labels and annotations point at; `None` without an
    /// evidence reader.
    pub(super) async fn assess(&self, incident: &IncidentRow) -> Option<Assessment> {
        let reader = self.evidence.as_ref()?;
        let scope = Scope::of(&incident.labels, &incident.annotations);
        let snapshot = reader.snapshot(&scope).await;
        Some(assess(&snapshot, &scope))
    }

    /// With an assessment: a `runbook_id` label, then the alertname unless the evidence
    /// contradicts it, then the evidence. Without one (no cluster access, nothing to read):
    /// labels and alertname, else RB_UNKNOWN.
    async fn route(&self, incident: &IncidentRow, assessment: Option<&Assessment>) -> Route {
        if let Some(assessment) = assessment {
            return route_with_evidence(&self.library, &incident.labels, &assessment.findings);
        }
        routed_or_unknown(
            route_static(&self.library, &incident.labels).map_err(|mut notes| {
                notes.push("no cluster access to look at the live state".to_owned());
                notes
            }),
        )
    }

    async fn run_steps(
        &self,
        incident: &IncidentRow,
        loaded: &LoadedRunbook,
        assessment: Option<&Assessment>,
    ) -> Result<(Final, bool), StoreError> {
        let runbook = &loaded.runbook;
        let mut context = GateContext::new();
        // Gates may read the analyzers' findings (`evidence.findings`, `evidence.category`).
        context.bind(
            "evidence",
            assessment.map_or(serde_json::Value::Null, |a| a.to_json()),
        );
        context.bind(
            "alert",
            json!({
                "alertname": incident.alertname,
                "labels": incident.labels,
                "annotations": incident.annotations,
                "severity": incident.severity,
            }),
        );
        context.bind(
            "incident",
            json!({
                "id": incident.id,
                "namespace": incident.namespace,
                "pod": incident.pod,
                "container": incident.container,
                "node": incident.node,
                "severity": incident.severity,
            }),
        );
        let target = ToolTarget {
            namespace: incident.namespace.clone(),
            pod: incident.pod.clone(),
            container: incident.container.clone(),
            node: incident.node.clone(),
        };
        let mut ran = Vec::new();
        let mut skipped = Vec::new();
        let mut outcomes = Vec::new();
        let mut gated_actions = Vec::new();
        let mut escalated = false;
        for step in &runbook.steps {
            if let Some(why) = self.closed_gate(step, &context) {
                self.event(
                    incident.id,
                    EventKind::StepSkipped,
                    StepSkipped {
                        step: step.id.clone(),
                        tool: step.tool.clone(),
                        because: why,
                    }
                    .to_json(),
                )
                .await?;
                if step.kind() == Some(ToolKind::Action) {
                    gated_actions.push(step.id.clone());
                }
                skipped.push(step.id.clone());
                continue;
            }
            ran.push(step.id.clone());
            match step.kind() {
                Some(ToolKind::Read) => {
                    self.read_step(incident.id, step, &target, &mut context)
                        .await?
                }
                Some(ToolKind::Engine) => {
                    escalated |= step.tool == "escalate";
                    self.engine_step(incident.id, loaded, step, &mut context)
                        .await?
                }
                Some(ToolKind::Action) => {
                    let outcome = self
                        .action_step(
                            incident,
                            &runbook.id,
                            &runbook.escalation_classes,
                            step,
                            &target,
                            assessment,
                        )
                        .await?;
                    // Later steps may gate on what became of the action (`restart.outcome ==
                    // "denied"` → escalate).
                    context.bind(&step.id, json!({"outcome": outcome}));
                    escalated |= matches!(outcome, "escalated" | "failed");
                    // Nothing to fix now, or the API server did not answer: a later look may
                    // find the fault back, or the server up.
                    if outcome == super::act::UNFOUNDED || outcome == super::act::UNREACHABLE {
                        gated_actions.push(step.id.clone());
                    }
                    outcomes
                        .push(json!({"step": step.id, "action": step.tool, "outcome": outcome}));
                }
                None => {
                    self.event(
                        incident.id,
                        EventKind::ToolResult,
                        ToolResult {
                            step: step.id.clone(),
                            tool: step.tool.clone(),
                            error: Some("unknown tool".to_owned()),
                            ..ToolResult::default()
                        }
                        .to_json(),
                    )
                    .await?;
                }
            }
        }
        let waiting = !gated_actions.is_empty() && !escalated;
        Ok((
            Final {
                runbook: Some(runbook.id.clone()),
                steps_run: Some(ran),
                steps_skipped: Some(skipped),
                actions: Some(outcomes),
                gated_actions: Some(gated_actions),
                ..Final::default()
            },
            waiting,
        ))
    }

    /// `None` when every gate holds; else why the step does not run.
    fn closed_gate(&self, step: &Step, context: &GateContext) -> Option<String> {
        for source in step.gates() {
            let verdict = Gate::compile(source).and_then(|gate| gate.evaluate(context));
            match verdict {
                Ok(true) => {}
                Ok(false) => return Some(format!("`{source}` is false")),
                Err(error) => return Some(format!("`{source}` {error}")),
            }
        }
        None
    }

    async fn read_step(
        &self,
        incident_id: i64,
        step: &Step,
        target: &ToolTarget,
        context: &mut GateContext,
    ) -> Result<(), StoreError> {
        let args = serde_json::Value::Object(step.args.clone());
        self.event(
            incident_id,
            EventKind::ToolCall,
            ToolCall {
                step: step.id.clone(),
                tool: step.tool.clone(),
                args: args.clone(),
                target: Some(json!(target)),
                ..ToolCall::default()
            }
            .to_json(),
        )
        .await?;
        let result = match (&self.recorded_tools, &self.cluster) {
            (Some(recorded), _) => recorded.call(&step.tool, target_args(target, &args)).await,
            (None, None) => Err("no cluster access (kubernetes is not configured)".to_owned()),
            (None, Some(cluster)) => cluster
                .kube
                .read_tool(&step.tool, target, &args)
                .await
                .map_err(|error| error.to_string()),
        };
        match result {
            Ok(output) => {
                context.bind(&step.id, output.data.clone());
                let result = ToolResult {
                    step: step.id.clone(),
                    tool: step.tool.clone(),
                    summary: Some(output.summary),
                    data: Some(output.data),
                    ..ToolResult::default()
                };
                self.event(incident_id, EventKind::ToolResult, result.to_json())
                    .await
            }
            Err(error) => {
                self.event(
                    incident_id,
                    EventKind::ToolResult,
                    ToolResult {
                        step: step.id.clone(),
                        tool: step.tool.clone(),
                        error: Some(error),
                        ..ToolResult::default()
                    }
                    .to_json(),
                )
                .await
            }
        }
    }

    async fn engine_step(
        &self,
        incident_id: i64,
        loaded: &LoadedRunbook,
        step: &Step,
        context: &mut GateContext,
    ) -> Result<(), StoreError> {
        match step.tool.as_str() {
            "escalate" => {
                let reason = step
                    .args
                    .get("reason")
                    .and_then(|reason| reason.as_str())
                    .unwrap_or("the runbook asks for a human");
                self.event(
                    incident_id,
                    EventKind::Escalated,
                    ActionDecided {
                        step: Some(step.id.clone()),
                        reason: Some(reason.to_owned()),
                        ..ActionDecided::default()
                    }
                    .to_json(),
                )
                .await
            }
            _ => {
                // get_runbook: the runbook's own text (or another's, by `id`).
                let id = step
                    .args
                    .get("id")
                    .and_then(|id| id.as_str())
                    .unwrap_or(&loaded.runbook.id);
                let data = match self.library.get(id) {
                    Some(found) => {
                        json!({"id": found.runbook.id, "title": found.runbook.title, "body": found.runbook.body})
                    }
                    None => json!({"id": id, "error": "no such runbook"}),
                };
                context.bind(&step.id, data.clone());
                let result = ToolResult {
                    step: step.id.clone(),
                    tool: step.tool.clone(),
                    summary: Some(format!("runbook {id}")),
                    data: Some(data),
                    ..ToolResult::default()
                };
                self.event(incident_id, EventKind::ToolResult, result.to_json())
                    .await
            }
        }
    }

    pub(super) async fn event(
        &self,
        incident_id: i64,
        kind: EventKind,
        payload: serde_json::Value,
    ) -> Result<(), StoreError> {
        self.store
            .append_incident_event(incident_id, kind, ACTOR, payload, self.clock.now())
            .await
    }
}

/// A step's arguments with the incident's target filled in where the step names none, the way
/// an investigation tool takes them.
fn target_args(target: &ToolTarget, args: &serde_json::Value) -> serde_json::Value {
    let mut args = args.clone();
    if let Some(object) = args.as_object_mut() {
        for (key, value) in [
            ("namespace", &target.namespace),
            ("pod", &target.pod),
            ("container", &target.container),
            ("node", &target.node),
        ] {
            if let Some(value) = value {
                object.entry(key).or_insert_with(|| json!(value));
            }
        }
    }
    args
}

//! Action steps: resolve the target, ask the policy, record the decision, and — only with a
//! permit — server-side dry-run, execute and verify. Approved actions come back here too.

use super::Responder;
use super::run::ACTOR;
use nightwatch_core::action::{Action, ActionRequest, ActionTarget};
use nightwatch_core::event::EventKind;
use nightwatch_core::event::payload::{
    ActionDecided, ActionStage, Payload, PolicyDecision, StepSkipped,
};
use nightwatch_core::evidence::Assessment;
use nightwatch_core::evidence::premise::premise;
use nightwatch_core::policy::{
    ActionHistory, Decision, DecisionInput, Outcome, PREMISE_RULE, Permit, decide,
};
use nightwatch_core::runbook::Step;
use nightwatch_kube::{ToolTarget, VerifyStatus};
use nightwatch_store::{ActionRow, ActionState, ActionUpdate, IncidentRow, NewAction, StoreError};
use serde_json::json;
use std::collections::BTreeMap;

/// The step outcome for such an action: nothing to fix now, so the run neither acts nor
/// escalates, and looks again later.
pub(super) const UNFOUNDED: &str = "unfounded";

/// The step outcome when the API server could not be reached: nothing failed that is known,
/// so the run neither escalates nor gives up; it looks again later (the action, if it may
/// have reached the cluster, is verified then, never run again).
pub(super) const UNREACHABLE: &str = "unreachable";

/// Why an action whose dry-run could not reach the API server is closed.
const UNREACHABLE_BEFORE_EXECUTION: &str =
    "interrupted: the API server could not be reached for the dry-run; nothing was changed";

/// Why an action left `running` by a process that died before it reached the cluster is
/// closed; its step is then decided afresh (if the run goes on).
const INTERRUPTED_BEFORE_EXECUTION: &str =
    "interrupted: nightwatch stopped before the action reached the cluster";

impl Responder {
    /// Returns the word recorded as the step's outcome: the action's state, or `unfounded`
    /// when the evidence does not show the fault the action answers (`assessment`: what the
    /// analyzers made of the cluster at the start of this run).
    pub(super) async fn action_step(
        &self,
        incident: &IncidentRow,
        runbook: &str,
        escalation_classes: &[String],
        step: &Step,
        target: &ToolTarget,
        assessment: Option<&Assessment>,
    ) -> Result<&'static str, StoreError> {
        // A retried job must not propose (or run) the same step's action twice. One refused
        // for want of evidence, or closed before it reached the cluster, was not done: a later
        // look decides afresh.
        let earlier = self.store.actions(None, Some(incident.id), 500).await?;
        if let Some(done) = earlier.iter().find(|action| {
            action.step_id == step.id
                && action.runbook == runbook
                && action.rule.as_deref() != Some(PREMISE_RULE)
                && action.reason != INTERRUPTED_BEFORE_EXECUTION
                && action.reason != UNREACHABLE_BEFORE_EXECUTION
        }) {
            let skipped = StepSkipped {
                step: step.id.clone(),
                tool: step.tool.clone(),
                because: format!(
                    "action {} for this step was already recorded ({})",
                    done.id, done.state
                ),
            };
            self.event(incident.id, EventKind::StepSkipped, skipped.to_json())
                .await?;
            return Ok("already_recorded");
        }
        let mut args = serde_json::Value::Object(step.args.clone());
        if Action::parse(&step.tool).is_some_and(Action::sets_image) && args.get("image").is_none()
        {
            match &self.settings.fallback_image {
                Some(image) => {
                    args["image"] = json!(image);
                }
                None => {
                    let escalated = ActionDecided {
                        step: Some(step.id.clone()),
                        reason: Some(format!(
                            "{} needs a fallback image and none is configured (actions.fallback_image)",
                            step.tool
                        )),
                        ..ActionDecided::default()
                    };
                    self.event(incident.id, EventKind::Escalated, escalated.to_json())
                        .await?;
                    return Ok("escalated");
                }
            }
        }
        let resolved = match &self.cluster {
            None => Err("no cluster access (kubernetes is not configured)".to_owned()),
            Some(cluster) => match cluster.kube.resolve_target(&step.tool, target).await {
                Ok(object) => Ok(object),
                // Nothing is known of the target: nothing is proposed, the run looks again.
                Err(error) if error.unreachable() => {
                    let skipped = StepSkipped {
                        step: step.id.clone(),
                        tool: step.tool.clone(),
                        because: format!("the API server could not be reached: {error}"),
                    };
                    self.event(incident.id, EventKind::StepSkipped, skipped.to_json())
                        .await?;
                    return Ok(UNREACHABLE);
                }
                Err(error) => Err(error.to_string()),
            },
        };
        let (target_object, resolve_note) = match resolved {
            Ok(object) => (object, None),
            // The policy still decides (and records) on the object the alert is about, so a
            // forbidden or unknown action is refused on the record rather than lost.
            Err(error) => (fallback_target(target), Some(error)),
        };
        let request = ActionRequest {
            action: step.tool.clone(),
            target: target_object,
            args,
        };
        // One decision at a time: the limits count running actions, so a decision must see the
        // one before it recorded.
        let _turn = self.decision_turn.lock().await;
        let decision = self
            .decide(&request, escalation_classes, None, None, assessment)
            .await?;
        let resolvable = resolve_note.is_none();
        let state = match (&decision.outcome, resolvable) {
            (Outcome::Forbidden, _) => ActionState::Forbidden,
            (Outcome::Deny, _) => ActionState::Denied,
            (Outcome::Escalate, _) => ActionState::Escalated,
            // Allowed but the target could not be found: nothing can be done; a human looks.
            (_, false) => ActionState::Escalated,
            (Outcome::NeedsApproval, true) => ActionState::Pending,
            (Outcome::Allow(_), true) => ActionState::Running,
        };
        let kind = match state {
            ActionState::Forbidden | ActionState::Denied => EventKind::ActionDenied,
            ActionState::Escalated => EventKind::Escalated,
            ActionState::Pending => EventKind::ApprovalRequested,
            _ => EventKind::ActionProposed,
        };
        let expires_at = (state == ActionState::Pending).then(|| {
            self.clock.now()
                + chrono::Duration::from_std(self.policy.approval_ttl)
                    .unwrap_or(chrono::Duration::hours(1))
        });
        let reason = match &resolve_note {
            Some(note) => format!("{}; target not resolved: {note}", decision.reason),
            None => decision.reason.clone(),
        };
        let new = NewAction {
            incident_id: incident.id,
            runbook: runbook.to_owned(),
            step_id: step.id.clone(),
            request: request.clone(),
            state,
            class: Some(decision.class.clone()),
            rule: Some(decision.rule.to_owned()),
            reason: reason.clone(),
            expires_at,
        };
        let payload = ActionDecided {
            step: Some(step.id.clone()),
            request: Some(request.clone()),
            decision: Some(policy_decision(&decision, reason.clone())),
            // Written even when no approval is asked (as `null`).
            expires_at: Some(expires_at),
            ..ActionDecided::default()
        }
        .to_json();
        let action_id = self
            .store
            .insert_action(&new, (kind, payload), self.clock.now())
            .await?;
        drop(_turn);
        self.metrics.actions_decided(decision.outcome.as_str());
        let unfounded = decision.rule == PREMISE_RULE;
        match decision.into_permit() {
            Some(permit) if resolvable => {
                Ok(self.run_permitted(incident.id, action_id, &permit).await?)
            }
            _ if unfounded => Ok(UNFOUNDED),
            _ => Ok(state.as_str()),
        }
    }

    /// The runbook actions a process that died left `running` (its job came back when the lease
    /// ran out): each settled before the run goes on or gives up.
    /// Returns those still unsettled (the API server could not be reached to verify them).
    pub(super) async fn resume_interrupted_actions(
        &self,
        incident_id: i64,
    ) -> Result<Vec<i64>, StoreError> {
        let mut unsettled = Vec::new();
        for action in self.own_running_actions(incident_id).await? {
            if self.resume_interrupted(&action).await? == Some(UNREACHABLE) {
                unsettled.push(action.id);
            }
        }
        Ok(unsettled)
    }

    /// The runbook's own actions of the incident still `running`. A human-approved one is
    /// another path's (its own lease, `resume_orphaned`).
    async fn own_running_actions(&self, incident_id: i64) -> Result<Vec<ActionRow>, StoreError> {
        let running = self
            .store
            .actions(Some(ActionState::Running), Some(incident_id), 100)
            .await?;
        Ok(running
            .into_iter()
            .filter(|action| action.decided_by.is_none())
            .collect())
    }

    /// The run will not look again: an action still waiting for the API server to be verified
    /// fails (and a human is told) rather than stay `running` for ever.
    pub(super) async fn give_up_unverified(&self, incident_id: i64) -> Result<(), StoreError> {
        for action in self.own_running_actions(incident_id).await? {
            self.fail(
                incident_id,
                action.id,
                "not verified: the API server could not be reached",
            )
            .await?;
        }
        Ok(())
    }

    /// An action a process that died left `running`. Never executed (no `executed_at`: that
    /// is written before the cluster is called): closed, and `None` so the step is decided
    /// afresh. Possibly executed: never run again, only verified, and the outcome returned.
    pub(super) async fn resume_interrupted(
        &self,
        action: &ActionRow,
    ) -> Result<Option<&'static str>, StoreError> {
        let Some(executed_at) = action.executed_at else {
            if self.close(action.id, INTERRUPTED_BEFORE_EXECUTION).await? {
                tracing::info!(
                    action = action.id,
                    "an action interrupted before execution is decided afresh"
                );
                self.stage_failed(
                    action.incident_id,
                    EventKind::ActionExecuted,
                    action.id,
                    INTERRUPTED_BEFORE_EXECUTION.to_owned(),
                )
                .await?;
            }
            return Ok(None);
        };
        tracing::info!(
            action = action.id,
            "an action executed before a restart is verified, not run again"
        );
        let outcome = self
            .settle(
                action.incident_id,
                action.id,
                &action.request(),
                executed_at,
                json!({"resumed": "executed before nightwatch restarted; verified, not run again"}),
            )
            .await?;
        Ok(Some(outcome))
    }

    /// A human-approved action a process that died left `running` (claimed by its lease):
    /// verified if it was executed, else handed back as approved, decided and run afresh.
    pub(super) async fn resume_orphaned(&self, action: ActionRow) {
        // `true` when it was verified (its outcome is then written into the analysis).
        let resumed = match action.executed_at {
            Some(_) => self.resume_interrupted(&action).await.map(|_| true),
            None => self
                .store
                .transition_action(
                    action.id,
                    &[ActionState::Running],
                    ActionState::Approved,
                    ActionUpdate::default(),
                )
                .await
                .map(|_| false),
        };
        match resumed {
            Ok(true) => self.analyse(action.incident_id).await,
            Ok(false) => {}
            Err(error) => {
                tracing::warn!(action = action.id, %error, "taking up an orphaned action failed")
            }
        }
    }

    /// A human approved: decide again with their name (limits and forbidden still apply, and
    /// the cluster may have changed), then run it.
    pub(super) async fn run_approved(&self, action: ActionRow) {
        let result = self.approved(action.clone()).await;
        if let Err(error) = result {
            tracing::warn!(action = action.id, %error, "running an approved action failed");
        }
        // The analysis written when the runbook finished said the action waited for a human;
        // write what became of it.
        self.analyse(action.incident_id).await;
    }

    async fn approved(&self, action: ActionRow) -> Result<(), StoreError> {
        if !self
            .store
            .transition_action(
                action.id,
                &[ActionState::Approved],
                ActionState::Running,
                ActionUpdate {
                    lease_until: Some(self.clock.now() + self.lease()),
                    ..ActionUpdate::default()
                },
            )
            .await?
        {
            return Ok(()); // someone else took it
        }
        let classes = self
            .library
            .get(&action.runbook)
            .map(|loaded| loaded.runbook.escalation_classes.clone())
            .unwrap_or_default();
        let by = action
            .decided_by
            .clone()
            .unwrap_or_else(|| "unknown".to_owned());
        let request = action.request();
        // The pod may have recovered (or the node come back) while the approval waited: the
        // premise is judged on what the cluster shows now.
        let assessment = match self.store.incident(action.incident_id).await? {
            Some(incident) => self.assess(&incident).await,
            None => None,
        };
        // The action is already `running` (counted by other decisions); take the turn so this
        // decision also sees every decision before it.
        let decision = {
            let _turn = self.decision_turn.lock().await;
            self.decide(
                &request,
                &classes,
                Some(&by),
                Some(action.id),
                assessment.as_ref(),
            )
            .await?
        };
        let redecided = ActionDecided {
            action_id: Some(action.id),
            request: Some(request.clone()),
            approved_by: Some(by.clone()),
            decision: Some(policy_decision(&decision, decision.reason.clone())),
            ..ActionDecided::default()
        };
        self.event(
            action.incident_id,
            EventKind::ActionProposed,
            redecided.to_json(),
        )
        .await?;
        let (state, kind) = match &decision.outcome {
            Outcome::Allow(_) => (ActionState::Running, EventKind::ActionProposed),
            Outcome::Forbidden => (ActionState::Forbidden, EventKind::ActionDenied),
            Outcome::Escalate => (ActionState::Escalated, EventKind::Escalated),
            Outcome::Deny | Outcome::NeedsApproval => {
                (ActionState::Denied, EventKind::ActionDenied)
            }
        };
        match decision.into_permit() {
            Some(permit) => {
                self.run_permitted(action.incident_id, action.id, &permit)
                    .await?;
            }
            None => {
                self.store
                    .transition_action(
                        action.id,
                        &[ActionState::Running],
                        state,
                        ActionUpdate {
                            finished_at: Some(self.clock.now()),
                            ..ActionUpdate::default()
                        },
                    )
                    .await?;
                self.event(
                    action.incident_id,
                    kind,
                    ActionDecided {
                        action_id: Some(action.id),
                        after_approval: Some(true),
                        ..ActionDecided::default()
                    }
                    .to_json(),
                )
                .await?;
            }
        }
        Ok(())
    }

    async fn decide(
        &self,
        request: &ActionRequest,
        escalation_classes: &[String],
        approved_by: Option<&str>,
        exclude: Option<i64>,
        assessment: Option<&Assessment>,
    ) -> Result<Decision, StoreError> {
        let premise =
            assessment.and_then(|assessment| premise(&request.action, &request.target, assessment));
        let now = self.clock.now();
        let window = chrono::Duration::from_std(self.policy.limits.breaker.window)
            .unwrap_or(chrono::Duration::hours(24))
            .max(chrono::Duration::hours(1));
        let history = ActionHistory {
            executed: self.store.action_history(now - window, exclude).await?,
        };
        let (known, labels_unknown) = match self.target_labels(&request.target).await {
            Ok(known) => (known, None),
            Err(why) => (TargetLabels::default(), Some(why)),
        };
        Ok(decide(
            &self.policy,
            &DecisionInput {
                request,
                namespace_labels: &known.namespace,
                node_labels: &known.node,
                labels_unknown: labels_unknown.as_deref(),
                escalation_classes,
                approved_by,
                history: &history,
                premise: premise.as_ref(),
                now,
            },
        ))
    }

    /// The labels the policy classes the target by: its namespace's, or the node's. An error
    /// (the API server did not answer) is passed to the policy, which denies: empty labels
    /// could class a prod target as something looser.
    async fn target_labels(&self, target: &ActionTarget) -> Result<TargetLabels, String> {
        let Some(cluster) = &self.cluster else {
            return Ok(TargetLabels::default());
        };
        if target.kind == "Node" {
            let node = cluster
                .kube
                .node_facts(&target.name)
                .await
                .map_err(|error| format!("node {}: {error}", target.name))?;
            return Ok(TargetLabels {
                node: node.map(|node| node.labels).unwrap_or_default(),
                ..TargetLabels::default()
            });
        }
        let namespace = match &target.namespace {
            Some(namespace) => cluster
                .kube
                .namespace_labels(namespace)
                .await
                .map_err(|error| format!("namespace {namespace}: {error}"))?,
            None => BTreeMap::new(),
        };
        Ok(TargetLabels {
            namespace,
            ..TargetLabels::default()
        })
    }

    /// Dry-run → execute → verify, each recorded; a failure escalates.
    async fn run_permitted(
        &self,
        incident_id: i64,
        action_id: i64,
        permit: &Permit,
    ) -> Result<&'static str, StoreError> {
        let Some(cluster) = self.cluster.clone() else {
            return self.fail(incident_id, action_id, "no cluster access").await;
        };
        match cluster.actuator.dry_run(permit).await {
            Ok(report) => {
                self.event(
                    incident_id,
                    EventKind::ActionDryRun,
                    ActionStage {
                        action_id: Some(action_id),
                        ok: true,
                        report: Some(json!(report)),
                        ..ActionStage::default()
                    }
                    .to_json(),
                )
                .await?;
            }
            Err(error) if error.unreachable() => {
                self.stage_failed(
                    incident_id,
                    EventKind::ActionDryRun,
                    action_id,
                    error.to_string(),
                )
                .await?;
                self.close(action_id, UNREACHABLE_BEFORE_EXECUTION).await?;
                return Ok(UNREACHABLE);
            }
            Err(error) => {
                return self
                    .step_failed(
                        incident_id,
                        action_id,
                        EventKind::ActionDryRun,
                        &error,
                        "the server-side dry-run failed",
                    )
                    .await;
            }
        }
        if let Some(incident) = self.store.incident(incident_id).await?
            && incident.state == nightwatch_core::incident::IncidentState::Resolved
        {
            self.store
                .transition_action(
                    action_id,
                    &[ActionState::Running],
                    ActionState::Denied,
                    ActionUpdate {
                        finished_at: Some(self.clock.now()),
                        reason: Some(
                            "the incident resolved before the action ran; not executed".to_owned(),
                        ),
                        ..ActionUpdate::default()
                    },
                )
                .await?;
            self.event(
                incident_id,
                EventKind::ActionDenied,
                ActionDecided {
                    action_id: Some(action_id),
                    reason: Some("incident already resolved".to_owned()),
                    ..ActionDecided::default()
                }
                .to_json(),
            )
            .await?;
            return Ok("not_needed");
        }
        // Counted by the limits from this moment, whatever happens next.
        let executed_at = self.clock.now();
        let still_ours = self
            .store
            .transition_action(
                action_id,
                &[ActionState::Running],
                ActionState::Running,
                ActionUpdate {
                    executed_at: Some(executed_at),
                    ..ActionUpdate::default()
                },
            )
            .await?;
        if !still_ours {
            // Closed meanwhile (taken up as orphaned after a stall longer than the lease):
            // whoever closed it answers for it; running it here could run it twice.
            return Ok("taken_over");
        }
        let report = match cluster.actuator.execute(permit).await {
            Ok(report) => report,
            // It may or may not have reached the cluster: left `running` with its execution
            // time, to be verified (never run again) when the run looks again.
            Err(error) if error.unreachable() => {
                self.stage_failed(
                    incident_id,
                    EventKind::ActionExecuted,
                    action_id,
                    format!("{error}; verified when the API server answers"),
                )
                .await?;
                return Ok(UNREACHABLE);
            }
            Err(error) => {
                return self
                    .step_failed(
                        incident_id,
                        action_id,
                        EventKind::ActionExecuted,
                        &error,
                        "execution failed",
                    )
                    .await;
            }
        };
        self.event(
            incident_id,
            EventKind::ActionExecuted,
            ActionStage {
                action_id: Some(action_id),
                ok: true,
                report: Some(json!(report)),
                ..ActionStage::default()
            }
            .to_json(),
        )
        .await?;
        self.metrics.action_executed();
        self.settle(
            incident_id,
            action_id,
            permit.request(),
            executed_at,
            json!(report),
        )
        .await
    }

    /// Verifies an executed action until it is confirmed, fails or runs out of time, and
    /// records which.
    async fn settle(
        &self,
        incident_id: i64,
        action_id: i64,
        request: &ActionRequest,
        executed_at: chrono::DateTime<chrono::Utc>,
        report: serde_json::Value,
    ) -> Result<&'static str, StoreError> {
        let Some(cluster) = self.cluster.clone() else {
            return self.fail(incident_id, action_id, "no cluster access").await;
        };
        let deadline = tokio::time::Instant::now() + self.settings.verify_timeout;
        let mut last = json!(null);
        loop {
            tokio::time::sleep(self.settings.verify_interval).await;
            // Whether this look failed for want of an API server, not for what it showed.
            let unreachable = match cluster.actuator.verify_request(request, executed_at).await {
                Ok(verification) => {
                    last = json!(verification);
                    let confirmed = match verification.status {
                        VerifyStatus::Confirmed => Some(true),
                        VerifyStatus::Failed => Some(false),
                        // Checked again until the deadline.
                        VerifyStatus::NotYet => None,
                    };
                    if let Some(confirmed) = confirmed {
                        // Either way the verification is recorded; only `ok` differs.
                        let verified = ActionStage {
                            action_id: Some(action_id),
                            ok: confirmed,
                            verification: Some(last.clone()),
                            ..ActionStage::default()
                        };
                        self.event(incident_id, EventKind::ActionVerified, verified.to_json())
                            .await?;
                        if !confirmed {
                            return self
                                .fail(
                                    incident_id,
                                    action_id,
                                    &format!("verification failed: {}", verification.summary),
                                )
                                .await;
                        }
                        self.store
                            .transition_action(
                                action_id,
                                &[ActionState::Running],
                                ActionState::Verified,
                                ActionUpdate {
                                    finished_at: Some(self.clock.now()),
                                    result: Some(json!({"execute": report, "verify": last})),
                                    ..ActionUpdate::default()
                                },
                            )
                            .await?;
                        return Ok("verified");
                    }
                    false
                }
                Err(error) => {
                    last = json!({"error": error.to_string()});
                    error.unreachable()
                }
            };
            if tokio::time::Instant::now() >= deadline {
                self.event(
                    incident_id,
                    EventKind::ActionVerified,
                    ActionStage {
                        action_id: Some(action_id),
                        ok: false,
                        timed_out: Some(true),
                        last: Some(Some(last)),
                        ..ActionStage::default()
                    }
                    .to_json(),
                )
                .await?;
                if unreachable {
                    // Nothing could be read, so nothing is known to have failed: left
                    // `running`, verified again when the run looks again.
                    return Ok(UNREACHABLE);
                }
                return self
                    .fail(
                        incident_id,
                        action_id,
                        &format!(
                            "not confirmed within {}s",
                            self.settings.verify_timeout.as_secs()
                        ),
                    )
                    .await;
            }
        }
    }

    /// A dry-run or execution that errored: recorded on its event, then the action fails.
    async fn step_failed(
        &self,
        incident_id: i64,
        action_id: i64,
        kind: EventKind,
        error: &nightwatch_kube::KubeError,
        what: &str,
    ) -> Result<&'static str, StoreError> {
        self.stage_failed(incident_id, kind, action_id, error.to_string())
            .await?;
        self.fail(incident_id, action_id, &format!("{what}: {error}"))
            .await
    }

    /// The `kind` stage (dry-run, execution) of action `action_id` did not succeed: `error`.
    async fn stage_failed(
        &self,
        incident_id: i64,
        kind: EventKind,
        action_id: i64,
        error: String,
    ) -> Result<(), StoreError> {
        let stage = ActionStage {
            action_id: Some(action_id),
            ok: false,
            error: Some(error),
            ..ActionStage::default()
        };
        self.event(incident_id, kind, stage.to_json()).await
    }

    /// A `running` action ends as failed, `why`; whether it was still running. Nobody is told
    /// here: [`Self::fail`] escalates, an action closed before it reached the cluster does not.
    async fn close(&self, action_id: i64, why: &str) -> Result<bool, StoreError> {
        self.store
            .transition_action(
                action_id,
                &[ActionState::Running],
                ActionState::Failed,
                ActionUpdate {
                    finished_at: Some(self.clock.now()),
                    reason: Some(why.to_owned()),
                    ..ActionUpdate::default()
                },
            )
            .await
    }

    async fn fail(
        &self,
        incident_id: i64,
        action_id: i64,
        why: &str,
    ) -> Result<&'static str, StoreError> {
        self.close(action_id, why).await?;
        self.store
            .append_incident_event(
                incident_id,
                EventKind::Escalated,
                ACTOR,
                ActionDecided {
                    action_id: Some(action_id),
                    reason: Some(why.to_owned()),
                    ..ActionDecided::default()
                }
                .to_json(),
                self.clock.now(),
            )
            .await?;
        Ok("failed")
    }
}

/// The decision as recorded on the action's event, with `reason` (which may add why the target
/// was not resolved).
fn policy_decision(decision: &Decision, reason: String) -> PolicyDecision {
    PolicyDecision {
        outcome: decision.outcome.as_str().to_owned(),
        class: decision.class.clone(),
        rule: decision.rule.to_owned(),
        reason,
    }
}

/// The object an alert is about, for recording a decision when the action's own target could
/// not be resolved.
fn fallback_target(target: &ToolTarget) -> ActionTarget {
    match (&target.namespace, &target.pod, &target.node) {
        (Some(namespace), Some(pod), _) => ActionTarget::namespaced("Pod", namespace, pod),
        (_, _, Some(node)) => ActionTarget::cluster("Node", node),
        (Some(namespace), None, None) => ActionTarget::cluster("Namespace", namespace),
        _ => ActionTarget::cluster("Unknown", "-"),
    }
}

/// The labels a target is classed by: its namespace's (namespaced targets) or its node's.
#[derive(Debug, Default)]
struct TargetLabels {
    namespace: BTreeMap<String, String>,
    node: BTreeMap<String, String>,
}

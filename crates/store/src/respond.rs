//! What the runbook engine keeps: a job per opened incident (claimed with a lease), the
//! incident's runbook and mode, its timeline events, and every action a runbook asked for with
//! the policy's decision and outcome. Executed actions double as the policy's history.

use crate::sql::{append_event, from_millis, millis, opt_from_millis};
use crate::write::close_unless_ok;
use crate::{Backend, Store, StoreError};
use chrono::{DateTime, Duration, Utc};
use nightwatch_core::access::Actor;
use nightwatch_core::action::{ActionRequest, ActionTarget};
use nightwatch_core::event::EventKind;
use nightwatch_core::event::payload::{Approved, Payload, Rejected};
use nightwatch_core::policy::PastAction;
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;
use std::fmt;
use std::str::FromStr;

/// A claimed runbook job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IncidentJob {
    pub incident_id: i64,
    /// How many times it was claimed since it was enqueued or last deferred, this claim
    /// included.
    pub attempts: i64,
    /// How many times it was deferred for a re-check ([`Store::defer_incident_job`]).
    pub rechecks: i64,
}

/// Where an action stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionState {
    /// Waiting for a human (the policy asked for approval, or recommend mode).
    Pending,
    /// Approved; waiting for the engine to run it.
    Approved,
    Rejected,
    /// Nobody decided before `expires_at`.
    Expired,
    Denied,
    Forbidden,
    Escalated,
    /// Dry-run, execution and verification under way.
    Running,
    Verified,
    /// The dry-run, the execution or the verification failed; escalated.
    Failed,
}

impl ActionState {
    pub const ALL: [ActionState; 10] = [
        ActionState::Pending,
        ActionState::Approved,
        ActionState::Rejected,
        ActionState::Expired,
        ActionState::Denied,
        ActionState::Forbidden,
        ActionState::Escalated,
        ActionState::Running,
        ActionState::Verified,
        ActionState::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActionState::Pending => "pending",
            ActionState::Approved => "approved",
            ActionState::Rejected => "rejected",
            ActionState::Expired => "expired",
            ActionState::Denied => "denied",
            ActionState::Forbidden => "forbidden",
            ActionState::Escalated => "escalated",
            ActionState::Running => "running",
            ActionState::Verified => "verified",
            ActionState::Failed => "failed",
        }
    }
}

impl fmt::Display for ActionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ActionState {
    type Err = nightwatch_core::model::UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ActionState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| nightwatch_core::model::UnknownValue(s.to_owned()))
    }
}

/// An action to record.
#[derive(Debug, Clone)]
pub struct NewAction {
    pub incident_id: i64,
    pub runbook: String,
    pub step_id: String,
    pub request: ActionRequest,
    pub state: ActionState,
    pub class: Option<String>,
    pub rule: Option<String>,
    pub reason: String,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionRow {
    pub id: i64,
    pub incident_id: i64,
    pub runbook: String,
    pub step_id: String,
    pub action: String,
    pub target: ActionTarget,
    pub args: serde_json::Value,
    pub state: ActionState,
    pub class: Option<String>,
    pub rule: Option<String>,
    pub reason: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decided_by: Option<String>,
    pub executed_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Dry-run, before/after and verification, as recorded by the engine.
    pub result: Option<serde_json::Value>,
}

impl ActionRow {
    pub fn request(&self) -> ActionRequest {
        ActionRequest {
            action: self.action.clone(),
            target: self.target.clone(),
            args: self.args.clone(),
        }
    }

    fn from_row(row: &AnyRow) -> Result<Self, StoreError> {
        let json = |text: String| -> Result<serde_json::Value, StoreError> {
            serde_json::from_str(&text).map_err(StoreError::corrupt)
        };
        let state: String = row.try_get("state")?;
        Ok(ActionRow {
            id: row.try_get("id")?,
            incident_id: row.try_get("incident_id")?,
            runbook: row.try_get("runbook")?,
            step_id: row.try_get("step_id")?,
            action: row.try_get("action")?,
            target: ActionTarget {
                kind: row.try_get("target_kind")?,
                namespace: row.try_get("target_namespace")?,
                name: row.try_get("target_name")?,
            },
            args: json(row.try_get("args")?)?,
            state: state.parse().map_err(StoreError::corrupt)?,
            class: row.try_get("class")?,
            rule: row.try_get("rule")?,
            reason: row.try_get("reason")?,
            created_at: from_millis(row.try_get("created_at")?),
            expires_at: opt_from_millis(row.try_get("expires_at")?),
            decided_at: opt_from_millis(row.try_get("decided_at")?),
            decided_by: row.try_get("decided_by")?,
            executed_at: opt_from_millis(row.try_get("executed_at")?),
            finished_at: opt_from_millis(row.try_get("finished_at")?),
            result: row
                .try_get::<Option<String>, _>("result")?
                .map(json)
                .transpose()?,
        })
    }
}

const ACTION_COLUMNS: &str = "id, incident_id, runbook, step_id, action, target_kind, \
    target_namespace, target_name, target_key, args, state, class, rule, reason, created_at, \
    expires_at, decided_at, decided_by, executed_at, finished_at, result";

/// A human's answer to a pending action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionDecision {
    Approve,
    Reject,
}

impl Store {
    /// What a claiming sub-select adds so that concurrent claimers on Postgres pass over each
    /// other's rows (SQLite has one writer, so nothing).
    fn skip_locked(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }

    /// Claims up to `limit` runbook jobs whose lease ran out (new jobs have none), leasing them
    /// until `now + lease`.
    pub async fn claim_incident_jobs(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: i64,
    ) -> Result<Vec<IncidentJob>, StoreError> {
        let lock = self.skip_locked();
        let statement = format!(
            "UPDATE incident_jobs SET claimed_until = $1, attempts = attempts + 1 \
             WHERE incident_id IN (SELECT incident_id FROM incident_jobs WHERE claimed_until <= $2 \
             ORDER BY incident_id LIMIT $3{lock}) RETURNING incident_id, attempts, rechecks"
        );
        let rows: Vec<(i64, i64, i64)> = sqlx::query_as(&statement)
            .bind(millis(now + lease))
            .bind(millis(now))
            .bind(limit)
            .fetch_all(&self.write)
            .await?;
        let mut jobs: Vec<IncidentJob> = rows
            .into_iter()
            .map(|(incident_id, attempts, rechecks)| IncidentJob {
                incident_id,
                attempts,
                rechecks,
            })
            .collect();
        jobs.sort_by_key(|job| job.incident_id);
        Ok(jobs)
    }

    /// Claims up to `limit` human-approved actions left `running` by a process that died (their
    /// lease ran out), leasing them until `now + lease` so that one process takes each up.
    pub async fn claim_orphaned_actions(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: i64,
    ) -> Result<Vec<ActionRow>, StoreError> {
        let lock = self.skip_locked();
        let statement = format!(
            "UPDATE actions SET lease_until = $1 WHERE id IN (SELECT id FROM actions \
             WHERE state = 'running' AND decided_by IS NOT NULL AND lease_until < $2 \
             ORDER BY id LIMIT $3{lock}) RETURNING {ACTION_COLUMNS}"
        );
        let rows = sqlx::query(&statement)
            .bind(millis(now + lease))
            .bind(millis(now))
            .bind(limit)
            .fetch_all(&self.write)
            .await?;
        let mut actions = rows
            .iter()
            .map(ActionRow::from_row)
            .collect::<Result<Vec<_>, _>>()?;
        actions.sort_by_key(|action| action.id);
        Ok(actions)
    }

    /// The job is done (or given up); it is not claimed again.
    pub async fn finish_incident_job(&self, incident_id: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM incident_jobs WHERE incident_id = $1")
            .bind(incident_id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// The job runs again from `at` (a re-check): it stays in the table, claimable once `at`
    /// has passed, with its crash-retry count reset and its re-check count raised.
    pub async fn defer_incident_job(
        &self,
        incident_id: i64,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE incident_jobs SET claimed_until = $1, attempts = 0, rechecks = rechecks + 1 \
             WHERE incident_id = $2",
        )
        .bind(millis(at))
        .bind(incident_id)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Resolved incidents with no verdict that had an action verified: auto-fixed candidates.
    pub async fn resolved_unjudged_with_verified_action(
        &self,
        limit: i64,
    ) -> Result<Vec<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT i.id FROM incidents i WHERE i.state = 'resolved' AND i.verdict IS NULL \
             AND EXISTS (SELECT 1 FROM actions a WHERE a.incident_id = i.id AND a.state = 'verified') \
             ORDER BY i.id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.read)
        .await?)
    }

    /// Jobs not finished yet (claimed or not).
    pub async fn incident_jobs_left(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM incident_jobs")
            .fetch_one(&self.read)
            .await?)
    }

    /// Appends one event to an incident's timeline.
    pub async fn append_incident_event(
        &self,
        incident_id: i64,
        kind: EventKind,
        actor: &str,
        payload: serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut conn = self.write.acquire().await?;
        let result = append_event(&mut conn, incident_id, now, kind, actor, None, payload).await;
        close_unless_ok(&mut conn, result.map(|_| ()).map_err(StoreError::from))
    }

    /// Records the runbook an incident was routed to and the mode it is handled in.
    pub async fn set_incident_runbook(
        &self,
        incident_id: i64,
        runbook: &str,
        mode: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE incidents SET runbook = $1, mode = $2 WHERE id = $3")
            .bind(runbook)
            .bind(mode)
            .bind(incident_id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Records an action and the event that goes with it, in one transaction.
    pub async fn insert_action(
        &self,
        new: &NewAction,
        event: (EventKind, serde_json::Value),
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        use sqlx::Connection;
        let mut conn = self.write.acquire().await?;
        let result = async {
            let mut tx = conn.begin().await?;
            let target = &new.request.target;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO actions (incident_id, runbook, step_id, action, target_kind, \
             target_namespace, target_name, target_key, args, state, class, rule, reason, \
             created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
             $13, $14, $15) RETURNING id",
            )
            .bind(new.incident_id)
            .bind(new.runbook.as_str())
            .bind(new.step_id.as_str())
            .bind(new.request.action.as_str())
            .bind(target.kind.as_str())
            .bind(target.namespace.as_deref())
            .bind(target.name.as_str())
            .bind(target.key())
            .bind(new.request.args.to_string())
            .bind(new.state.as_str())
            .bind(new.class.as_deref())
            .bind(new.rule.as_deref())
            .bind(new.reason.as_str())
            .bind(millis(now))
            .bind(new.expires_at.map(millis))
            .fetch_one(&mut *tx)
            .await?;
            let (kind, mut payload) = event;
            if let Some(object) = payload.as_object_mut() {
                object.insert("action_id".to_owned(), id.into());
            }
            append_event(
                &mut tx,
                new.incident_id,
                now,
                kind,
                nightwatch_core::event::ACTOR,
                None,
                payload,
            )
            .await?;
            tx.commit().await?;
            Ok(id)
        }
        .await;
        close_unless_ok(&mut conn, result)
    }

    pub async fn action(&self, id: i64) -> Result<Option<ActionRow>, StoreError> {
        let statement = format!("SELECT {ACTION_COLUMNS} FROM actions WHERE id = $1");
        sqlx::query(&statement)
            .bind(id)
            .fetch_optional(&self.read)
            .await?
            .map(|row| ActionRow::from_row(&row))
            .transpose()
    }

    /// Actions, newest first: all, those in one state, or one incident's.
    pub async fn actions(
        &self,
        state: Option<ActionState>,
        incident_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<ActionRow>, StoreError> {
        let statement = format!(
            "SELECT {ACTION_COLUMNS} FROM actions WHERE ($1 IS NULL OR state = $1) \
             AND ($2 IS NULL OR incident_id = $2) ORDER BY id DESC LIMIT $3"
        );
        let rows = sqlx::query(&statement)
            .bind(state.map(ActionState::as_str))
            .bind(incident_id)
            .bind(limit)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(ActionRow::from_row).collect()
    }

    /// The actions of the incidents `ids` (what was done about each), oldest first.
    pub async fn actions_of_incidents(&self, ids: &[i64]) -> Result<Vec<ActionRow>, StoreError> {
        let mut out = Vec::new();
        for chunk in crate::sql::statement_chunks(ids, 200) {
            let statement = format!(
                "SELECT {ACTION_COLUMNS} FROM actions WHERE incident_id IN ({}) ORDER BY id",
                crate::sql::Marks::new(self.backend).list(chunk.len())
            );
            let mut query = sqlx::query(&statement);
            for id in chunk {
                query = query.bind(*id);
            }
            for row in query.fetch_all(&self.read).await? {
                out.push(ActionRow::from_row(&row)?);
            }
        }
        Ok(out)
    }

    /// What the policy's limits count: actions executed at or after `since`, plus actions
    /// permitted and not yet executed (`running`, counted from when they were recorded) so that
    /// concurrent decisions cannot all squeeze under a limit. `exclude` leaves one action out
    /// (the one being decided again after its approval).
    pub async fn action_history(
        &self,
        since: DateTime<Utc>,
        exclude: Option<i64>,
    ) -> Result<Vec<PastAction>, StoreError> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT action, target_key, COALESCE(executed_at, created_at) AS at FROM actions \
             WHERE (executed_at >= $1 OR (executed_at IS NULL AND state = 'running')) \
             AND id <> $2 ORDER BY at",
        )
        .bind(millis(since))
        .bind(exclude.unwrap_or(-1))
        .fetch_all(&self.read)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(action, target_key, at)| PastAction {
                action,
                target_key,
                at: from_millis(at),
            })
            .collect())
    }

    /// A human approves or rejects a pending action. Only a pending, unexpired action can be
    /// decided (concurrent deciders: the first wins); the event is written in the same
    /// transaction.
    pub async fn decide_action(
        &self,
        id: i64,
        decision: ActionDecision,
        by: impl Into<Actor<'_>>,
        now: DateTime<Utc>,
    ) -> Result<ActionRow, StoreError> {
        use sqlx::Connection;
        let actor = by.into();
        let by = actor.name;
        let (state, kind) = match decision {
            ActionDecision::Approve => (ActionState::Approved, EventKind::Approved),
            ActionDecision::Reject => (ActionState::Rejected, EventKind::Rejected),
        };
        let mut conn = self.write.acquire().await?;
        let result = async {
            let mut tx = conn.begin().await?;
            let updated = sqlx::query(
                "UPDATE actions SET state = $1, decided_at = $2, decided_by = $3 \
             WHERE id = $4 AND state = 'pending' AND (expires_at IS NULL OR expires_at > $2) \
             RETURNING incident_id",
            )
            .bind(state.as_str())
            .bind(millis(now))
            .bind(by)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            // Nothing pending to decide: the transaction rolls back as it is dropped.
            let Some(row) = updated else {
                return Ok(false);
            };
            let incident_id: i64 = row.try_get("incident_id")?;
            append_event(
                &mut tx,
                incident_id,
                now,
                kind,
                by,
                None,
                payload_for(decision, id, actor),
            )
            .await?;
            tx.commit().await?;
            Ok(true)
        }
        .await;
        let decided = close_unless_ok(&mut conn, result)?;
        drop(conn);
        if !decided {
            return match self.action(id).await? {
                None => Err(StoreError::ActionNotFound(id)),
                Some(action) => Err(StoreError::ActionNotPending {
                    id,
                    state: if action.state == ActionState::Pending {
                        ActionState::Expired.as_str()
                    } else {
                        action.state.as_str()
                    },
                }),
            };
        }
        self.action(id).await?.ok_or(StoreError::ActionNotFound(id))
    }

    /// Moves an action from one of `from` to `to`, setting the given columns; false when it
    /// was no longer in one of `from` (someone else moved it).
    pub async fn transition_action(
        &self,
        id: i64,
        from: &[ActionState],
        to: ActionState,
        update: ActionUpdate,
    ) -> Result<bool, StoreError> {
        let allowed = from
            .iter()
            .map(|state| format!("'{}'", state.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        let statement = format!(
            "UPDATE actions SET state = $1, \
             executed_at = COALESCE($2, executed_at), finished_at = COALESCE($3, finished_at), \
             result = COALESCE($4, result), reason = COALESCE($5, reason), \
             lease_until = COALESCE($7, lease_until) \
             WHERE id = $6 AND state IN ({allowed})"
        );
        let done = sqlx::query(&statement)
            .bind(to.as_str())
            .bind(update.executed_at.map(millis))
            .bind(update.finished_at.map(millis))
            .bind(update.result.map(|result| result.to_string()))
            .bind(update.reason)
            .bind(id)
            .bind(update.lease_until.map(millis))
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Pending actions whose time ran out become `expired` (with an event each); returns them.
    pub async fn expire_pending_actions(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<ActionRow>, StoreError> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "UPDATE actions SET state = 'expired', finished_at = $1 \
             WHERE state = 'pending' AND expires_at IS NOT NULL AND expires_at <= $1 \
             RETURNING id, incident_id",
        )
        .bind(millis(now))
        .fetch_all(&self.write)
        .await?;
        let mut expired = Vec::with_capacity(rows.len());
        for (id, incident_id) in rows {
            self.append_incident_event(
                incident_id,
                EventKind::Rejected,
                nightwatch_core::event::ACTOR,
                Rejected {
                    action_id: Some(id),
                    expired: Some(true),
                    ..Rejected::default()
                }
                .to_json(),
                now,
            )
            .await?;
            if let Some(action) = self.action(id).await? {
                expired.push(action);
            }
        }
        Ok(expired)
    }
}

/// The `approved` or `rejected` event of a person's decision on action `id`.
fn payload_for(decision: ActionDecision, id: i64, actor: Actor<'_>) -> serde_json::Value {
    let via = actor.via.map(str::to_owned);
    match decision {
        ActionDecision::Approve => Approved {
            action_id: Some(id),
            by: actor.name.to_owned(),
            via,
        }
        .to_json(),
        ActionDecision::Reject => Rejected {
            action_id: Some(id),
            by: Some(actor.name.to_owned()),
            via,
            ..Rejected::default()
        }
        .to_json(),
    }
}

/// Columns [`Store::transition_action`] may set; `None` leaves a column as it is.
#[derive(Debug, Clone, Default)]
pub struct ActionUpdate {
    /// Until when the process running it answers for it (approved actions).
    pub lease_until: Option<DateTime<Utc>>,
    pub executed_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub result: Option<serde_json::Value>,
    pub reason: Option<String>,
}

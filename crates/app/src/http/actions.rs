//! Pending and past actions: `GET /api/actions[?state=pending&incident=ID&limit=N]`,
//! `GET /api/actions/{id}`, `POST /api/actions/{id}/approve|reject` (as the signed-in approver).
//! An approval only moves the action to `approved`; the responder re-asks the policy with the
//! approver's name and runs it through the same dry-run → execute → verify path.

use super::identity::{ActorText, Identity};
use super::{ApiError, AppState};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use nightwatch_store::{ActionDecision, ActionRow, ActionState};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ActionsQuery {
    state: Option<String>,
    incident: Option<String>,
    limit: Option<String>,
}

pub async fn list_actions(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<ActionRow>>, ApiError> {
    let query: ActionsQuery = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::bad_request(format!("invalid query: {e}")))?;
    let wanted = query
        .state
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<ActionState>().map_err(|_| {
                let known: Vec<&str> = ActionState::ALL
                    .iter()
                    .map(|state| state.as_str())
                    .collect();
                ApiError::bad_request(format!(
                    "state: expected one of {}, found {s:?}",
                    known.join(", ")
                ))
            })
        })
        .transpose()?;
    let number = |name: &str, value: Option<String>| -> Result<Option<i64>, ApiError> {
        value
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<i64>().map_err(|_| {
                    ApiError::bad_request(format!("{name}: expected an integer, found {s:?}"))
                })
            })
            .transpose()
    };
    let incident = number("incident", query.incident)?;
    let limit = number("limit", query.limit)?.unwrap_or(100).clamp(1, 1000);
    Ok(Json(state.store.actions(wanted, incident, limit).await?))
}

pub async fn get_action(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<ActionRow>, ApiError> {
    match state.store.action(id).await? {
        Some(action) => Ok(Json(action)),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("action {id} not found"),
        )),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct DecisionBody {
    by: Option<String>,
}

pub async fn approve(
    State(state): State<AppState>,
    identity: Identity,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<Json<ActionRow>, ApiError> {
    decision_body(&body)?;
    decide(&state, &identity, id, ActionDecision::Approve)
        .await
        .map(Json)
}

pub async fn reject(
    State(state): State<AppState>,
    identity: Identity,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<Json<ActionRow>, ApiError> {
    decision_body(&body)?;
    decide(&state, &identity, id, ActionDecision::Reject)
        .await
        .map(Json)
}

/// Checks an approve / reject body: empty, or `{"by": …}` (ignored, with a warning).
fn decision_body(body: &[u8]) -> Result<(), ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    let body: DecisionBody = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?;
    super::api::warn_ignored_by(body.by.as_deref());
    Ok(())
}

/// Approves or rejects as `identity` (the route asked for the approver role, so the policy's
/// "approved by a human" is an approver's).
pub(super) async fn decide(
    state: &AppState,
    identity: &Identity,
    id: i64,
    decision: ActionDecision,
) -> Result<ActionRow, ApiError> {
    let actor = ActorText::of(identity);
    let action = state
        .store
        .decide_action(id, decision, actor.actor(), state.clock.now())
        .await?;
    // The responder runs approved actions; wake it rather than wait for its poll.
    state.wake_responder.notify_one();
    Ok(action)
}

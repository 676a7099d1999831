//! Actions in the UI: the pending-approvals page, each incident's actions, and the
//! approve/reject buttons (which go through the same store call as the API).

use super::actions::decide;
use super::identity::Identity;
use super::login::Chrome;
use super::{ApiError, AppState};
use askama::Template;
use axum::Form;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use nightwatch_store::{ActionDecision, ActionRow, ActionState};
use serde::Deserialize;

/// One action as a table row.
pub(super) struct ActionView {
    pub id: i64,
    pub incident_id: i64,
    pub action: String,
    pub target: String,
    pub state: &'static str,
    pub rule: String,
    pub reason: String,
    pub class: String,
    pub created_at: String,
    pub expires_at: String,
    pub decided: String,
}

impl ActionView {
    pub(super) fn new(action: &ActionRow) -> ActionView {
        ActionView {
            id: action.id,
            incident_id: action.incident_id,
            action: action.action.clone(),
            target: action.target.key(),
            state: action.state.as_str(),
            rule: action.rule.clone().unwrap_or_default(),
            reason: action.reason.clone(),
            class: action.class.clone().unwrap_or_default(),
            created_at: action.created_at.to_rfc3339(),
            expires_at: action
                .expires_at
                .map(|t| t.to_rfc3339())
                .unwrap_or_default(),
            decided: match (&action.decided_by, action.decided_at) {
                (Some(by), Some(at)) => format!("{by} at {}", at.to_rfc3339()),
                _ => String::new(),
            },
        }
    }
}

#[derive(Template)]
#[template(path = "actions.html")]
struct ActionsPage {
    chrome: Chrome,
    pending: Vec<ActionView>,
    recent: Vec<ActionView>,
    error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct PageQuery {
    error: Option<String>,
}

pub async fn actions_page(
    State(state): State<AppState>,
    identity: Identity,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let query: PageQuery =
        serde_urlencoded::from_str(raw.as_deref().unwrap_or("")).unwrap_or_default();
    let pending = state
        .store
        .actions(Some(ActionState::Pending), None, 200)
        .await?;
    let recent = state.store.actions(None, None, 50).await?;
    let page = ActionsPage {
        chrome: Chrome::of(&identity),
        pending: pending.iter().map(ActionView::new).collect(),
        recent: recent
            .iter()
            .filter(|action| action.state != ActionState::Pending)
            .map(ActionView::new)
            .collect(),
        error: query.error,
    };
    Ok(super::ui::render(&page)?.into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct DecisionForm {
    /// Where to go afterwards: `incident` (the action's incident page) or the actions page.
    back: Option<String>,
}

pub async fn decide_from_form(
    State(state): State<AppState>,
    identity: Identity,
    Path((id, answer)): Path<(i64, String)>,
    Form(form): Form<DecisionForm>,
) -> Result<Redirect, ApiError> {
    let decision = match answer.as_str() {
        "approve" => ActionDecision::Approve,
        "reject" => ActionDecision::Reject,
        other => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("no such answer {other:?}"),
            ));
        }
    };
    let outcome = decide(&state, &identity, id, decision).await;
    let incident = match &outcome {
        Ok(action) => Some(action.incident_id),
        Err(_) => state
            .store
            .action(id)
            .await
            .ok()
            .flatten()
            .map(|action| action.incident_id),
    };
    let back = match (form.back.as_deref(), incident) {
        (Some("incident"), Some(incident)) => format!("/incident/{incident}"),
        _ => "/actions".to_owned(),
    };
    match outcome {
        Ok(_) => Ok(Redirect::to(&back)),
        Err(error)
            if error.status == StatusCode::CONFLICT || error.status == StatusCode::NOT_FOUND =>
        {
            let message = error.body["error"]
                .as_str()
                .unwrap_or("conflict")
                .to_owned();
            let query = serde_urlencoded::to_string([("error", message)]).unwrap_or_default();
            Ok(Redirect::to(&format!("{back}?{query}")))
        }
        Err(error) => Err(error),
    }
}

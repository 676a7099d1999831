//! The audit trail (`/audit`, `GET /api/audit`) and API tokens for admins
//! (`GET|POST /api/tokens`, `POST /api/tokens/{id}/revoke`).

use super::identity::Identity;
use super::login::Chrome;
use super::ui::render;
use super::{ApiError, AppState};
use crate::access::{AccessError, issue_token};
use askama::Template;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Html;
use nightwatch_core::access::Role;
use nightwatch_store::{AuditEntry, AuditFilter, TokenRow};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditQuery {
    actor: Option<String>,
    action: Option<String>,
    /// A duration back from now (`24h`, `7d`) or an RFC 3339 time.
    since: Option<String>,
    before: Option<i64>,
    limit: Option<i64>,
}

impl AuditQuery {
    fn filter(&self, now: chrono::DateTime<chrono::Utc>) -> Result<AuditFilter, ApiError> {
        let since = match self.since.as_deref().filter(|s| !s.is_empty()) {
            Some(text) => Some(super::api::parse_since(text, now)?),
            None => None,
        };
        Ok(AuditFilter {
            actor: self.actor.clone().filter(|s| !s.is_empty()),
            action: self.action.clone().filter(|s| !s.is_empty()),
            since,
            before_id: self.before,
            limit: self.limit.unwrap_or(100).clamp(1, 1000),
        })
    }
}

pub async fn api(
    State(state): State<AppState>,
    Query(query): Query<AuditQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let entries = state.store.audit(&query.filter(state.clock.now())?).await?;
    Ok(Json(serde_json::json!({ "entries": entries })))
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    chrome: Chrome,
    entries: Vec<AuditEntry>,
    actor: String,
    action: String,
    since: String,
    older_link: Option<String>,
}

pub async fn page(
    State(state): State<AppState>,
    identity: Identity,
    Query(query): Query<AuditQuery>,
) -> Result<Html<String>, ApiError> {
    let filter = query.filter(state.clock.now())?;
    let entries = state.store.audit(&filter).await?;
    let older_link = (entries.len() as i64 == filter.limit)
        .then(|| entries.last().and_then(|e| e.id))
        .flatten()
        .map(|id| {
            let mut pairs = vec![("before", id.to_string())];
            for (key, value) in [
                ("actor", &query.actor),
                ("action", &query.action),
                ("since", &query.since),
            ] {
                if let Some(value) = value.clone().filter(|v| !v.is_empty()) {
                    pairs.push((key, value));
                }
            }
            format!(
                "/audit?{}",
                serde_urlencoded::to_string(pairs).unwrap_or_default()
            )
        });
    render(&AuditPage {
        chrome: Chrome::of(&identity),
        entries,
        actor: query.actor.unwrap_or_default(),
        action: query.action.unwrap_or_default(),
        since: query.since.unwrap_or_default(),
        older_link,
    })
}

pub async fn list_tokens(State(state): State<AppState>) -> Result<Json<Vec<TokenRow>>, ApiError> {
    Ok(Json(state.store.tokens().await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    name: String,
    role: String,
    /// The user it acts for (its role never exceeds theirs); none for a service.
    #[serde(default)]
    owner: Option<String>,
    /// How long it lives (`90d`); none: until revoked.
    #[serde(default)]
    expires_in: Option<String>,
}

/// Creates a token; the answer is the only time its secret is shown.
pub async fn create_token(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let request: NewToken = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?;
    let role: Role = request
        .role
        .parse()
        .map_err(|e: nightwatch_core::access::UnknownRole| ApiError::bad_request(e.to_string()))?;
    let issued = issue_token(
        &state.store,
        &request.name,
        request.owner.as_deref(),
        role,
        request
            .expires_in
            .as_deref()
            .map(|text| ("expires_in", text)),
        state.clock.now(),
    )
    .await
    .map_err(|error| match error {
        AccessError::Store(error) => ApiError::from(error),
        other => ApiError::bad_request(other.to_string()),
    })?;
    let (id, expires_at, secret) = (issued.id, issued.expires_at, issued.secret);
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({
            "id": id,
            "name": request.name,
            "role": role,
            "owner": request.owner,
            "expires_at": expires_at,
            "token": secret,
            "note": "shown once: nightwatch keeps only its hash",
        })),
    ))
}

pub async fn revoke_token(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<serde_json::Value>, ApiError> {
    if !state.store.revoke_token(id, state.clock.now()).await? {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no live token {id}"),
        ));
    }
    Ok(Json(serde_json::json!({ "id": id, "revoked": true })))
}

//! Noise-tuning proposals: `GET /api/tuning`, the `/tuning` page, and creating a proposed
//! silence in Alertmanager after a human approves it (`POST /api/tuning/{alertname}/silence`,
//! or the page's button).

use super::AppState;
use super::error::ApiError;
use super::identity::Identity;
use super::login::Chrome;
use super::ui::render;
use askama::Template;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, Redirect};
use nightwatch_core::tuning::{Change, Proposal};
use nightwatch_sources::alertmanager::{Matcher, NewSilence};
use serde::Deserialize;

pub async fn api(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let proposals = crate::tuning::gather(&state.store, &state.tuning, state.clock.now()).await?;
    Ok(Json(serde_json::json!({
        "window_days": crate::tuning::WINDOW_DAYS,
        "proposals": proposals,
    })))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SilenceBody {
    /// Ignored (the signed-in identity creates it), with a warning, for one version.
    by: Option<String>,
}

/// Creates the silence the proposal for `alertname` describes; the answer names its id.
async fn create_silence(
    state: &AppState,
    alertname: &str,
    identity: &Identity,
) -> Result<String, ApiError> {
    let by = identity.name.clone();
    let Some(writer) = &state.silences else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "no Alertmanager configured ([sources.alertmanager])",
        ));
    };
    let proposals = crate::tuning::gather(&state.store, &state.tuning, state.clock.now()).await?;
    let Some(proposal) = proposals.into_iter().find(|p| p.alertname == alertname) else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no tuning proposal for {alertname}"),
        ));
    };
    let Change::Silence { matchers, hours } = &proposal.change else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "the proposal for {alertname} is a rule change: apply its diff to the rule file"
            ),
        ));
    };
    let now = state.clock.now();
    let silence = NewSilence {
        matchers: matchers.iter().map(|(k, v)| Matcher::equal(k, v)).collect(),
        starts_at: now,
        ends_at: now + chrono::Duration::hours(i64::from(*hours)),
        created_by: by.clone(),
        comment: format!(
            "nightwatch tuning proposal, approved by {by}: {}",
            proposal.summary
        ),
    };
    let id = writer.create_silence(&silence).await.map_err(|error| {
        ApiError::new(StatusCode::BAD_GATEWAY, format!("alertmanager: {error}"))
    })?;
    tracing::info!(%alertname, silence = %id, %by, "tuning silence created");
    Ok(id)
}

pub async fn silence(
    State(state): State<AppState>,
    identity: Identity,
    Path(alertname): Path<String>,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let body: SilenceBody = if body.iter().all(u8::is_ascii_whitespace) {
        SilenceBody::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?
    };
    super::api::warn_ignored_by(body.by.as_deref());
    let id = create_silence(&state, &alertname, &identity).await?;
    Ok(Json(
        serde_json::json!({"silence_id": id, "alertname": alertname}),
    ))
}

pub async fn silence_from_form(
    State(state): State<AppState>,
    identity: Identity,
    Path(alertname): Path<String>,
) -> Result<Redirect, ApiError> {
    let id = create_silence(&state, &alertname, &identity).await?;
    Ok(Redirect::to(&format!("/tuning?silenced={id}")))
}

struct ProposalView {
    alertname: String,
    summary: String,
    kind: &'static str,
    diff: Option<String>,
    matchers: String,
    evidence: String,
}

#[derive(Template)]
#[template(path = "tuning.html")]
struct TuningPage {
    chrome: Chrome,
    proposals: Vec<ProposalView>,
    can_silence: bool,
}

fn view(p: Proposal) -> ProposalView {
    let e = &p.evidence;
    let evidence = format!(
        "{} incidents in {} days; {} marked noise of {} judged; {} resolved by themselves within 10m; {} acted on; median {}, p90 {}",
        e.incidents,
        crate::tuning::WINDOW_DAYS,
        e.noise,
        e.judged,
        e.resolved_by_itself_quickly,
        e.acted_on,
        nightwatch_core::briefing::duration_text(e.median_duration_seconds),
        nightwatch_core::briefing::duration_text(e.p90_duration_seconds),
    );
    let (kind, diff, matchers) = match &p.change {
        Change::RuleDiff { diff, .. } => ("rule diff", Some(diff.clone()), String::new()),
        Change::Silence { matchers, hours } => (
            "silence",
            None,
            format!(
                "{} for {hours}h",
                matchers
                    .iter()
                    .map(|(k, v)| format!("{k}=\"{v}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
    };
    ProposalView {
        alertname: p.alertname,
        summary: p.summary,
        kind,
        diff,
        matchers,
        evidence,
    }
}

pub async fn page(
    State(state): State<AppState>,
    identity: Identity,
) -> Result<Html<String>, ApiError> {
    let proposals = crate::tuning::gather(&state.store, &state.tuning, state.clock.now()).await?;
    render(&TuningPage {
        chrome: Chrome::of(&identity),
        proposals: proposals.into_iter().map(view).collect(),
        can_silence: state.silences.is_some(),
    })
}

//! `GET /api/briefing?days=7` (JSON with its Markdown) and the `/briefing` page.

use super::AppState;
use super::error::ApiError;
use super::identity::Identity;
use super::login::Chrome;
use super::ui::render;
use askama::Template;
use axum::Json;
use axum::extract::{Query, State};
use axum::response::Html;
use nightwatch_core::briefing::{Briefing, duration_text};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BriefingQuery {
    days: Option<i64>,
}

impl BriefingQuery {
    fn days(&self) -> Result<i64, ApiError> {
        match self.days {
            None => Ok(crate::briefing::DEFAULT_DAYS),
            Some(days) if (1..=90).contains(&days) => Ok(days),
            Some(days) => Err(ApiError::bad_request(format!("days={days}: use 1 to 90"))),
        }
    }
}

pub async fn api(
    State(state): State<AppState>,
    Query(query): Query<BriefingQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let briefing = crate::briefing::gather(&state.store, state.clock.now(), query.days()?).await?;
    Ok(Json(crate::briefing::view(&briefing)))
}

#[derive(Template)]
#[template(path = "briefing.html")]
struct BriefingPage {
    chrome: Chrome,
    days: i64,
    b: Briefing,
    mtta: String,
    mttr: String,
    auto_fix: String,
}

pub async fn page(
    State(state): State<AppState>,
    identity: Identity,
    Query(query): Query<BriefingQuery>,
) -> Result<Html<String>, ApiError> {
    let days = query.days()?;
    let b = crate::briefing::gather(&state.store, state.clock.now(), days).await?;
    render(&BriefingPage {
        chrome: Chrome::of(&identity),
        days,
        mtta: duration_text(b.mtta_seconds),
        mttr: duration_text(b.mttr_seconds),
        auto_fix: b
            .auto_fix_rate
            .map(|r| format!("{:.0}%", r * 100.0))
            .unwrap_or_else(|| "—".to_owned()),
        b,
    })
}

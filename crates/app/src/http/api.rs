//! The JSON API.

use super::identity::{ActorText, Identity};
use super::{ApiError, AppState};
use crate::analysis::analysis_view;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use chrono::{DateTime, Duration, Utc};
use nightwatch_core::incident::{IncidentState, ManualChange, Verdict};
use nightwatch_store::{
    EventRow, IncidentDetail, IncidentFilter, IncidentOrder, IncidentPage, IncidentRow,
    RelatedIncidents,
};
use serde::{Deserialize, Serialize};

/// Query parameters of `GET /api/incidents` (and the UI list), as text so a bad value gets a
/// message naming it.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    pub state: Option<String>,
    pub alertname: Option<String>,
    pub namespace: Option<String>,
    pub node: Option<String>,
    /// RFC 3339 time, or a duration back from now such as `30m`, `24h`, `7d`.
    pub since: Option<String>,
    pub before: Option<String>,
    /// With `order=updated`: the `next_before_updated` of the previous page.
    pub before_updated: Option<String>,
    /// `opened` (by id, the default) or `updated` (what moved last first).
    pub order: Option<String>,
    pub limit: Option<String>,
}

impl ListQuery {
    pub fn parse(raw: Option<&str>) -> Result<ListQuery, ApiError> {
        serde_urlencoded::from_str(raw.unwrap_or(""))
            .map_err(|e| ApiError::bad_request(format!("invalid query: {e}")))
    }

    pub fn to_filter(&self, now: DateTime<Utc>) -> Result<IncidentFilter, ApiError> {
        let text = |value: &Option<String>| value.clone().filter(|s| !s.trim().is_empty());
        let number = |name: &str, value: &Option<String>| -> Result<Option<i64>, ApiError> {
            text(value)
                .map(|s| {
                    s.trim().parse::<i64>().map_err(|_| {
                        ApiError::bad_request(format!("{name}: expected an integer, found {s:?}"))
                    })
                })
                .transpose()
        };
        let state = text(&self.state)
            .map(|s| {
                s.parse::<IncidentState>().map_err(|_| {
                    ApiError::bad_request(format!(
                        "state: expected triggered, acknowledged or resolved, found {s:?}"
                    ))
                })
            })
            .transpose()?;
        let since = text(&self.since)
            .map(|s| parse_since(&s, now))
            .transpose()?;
        Ok(IncidentFilter {
            state,
            alertname: text(&self.alertname),
            namespace: text(&self.namespace),
            node: text(&self.node),
            since,
            before: number("before", &self.before)?,
            before_updated: number("before_updated", &self.before_updated)?,
            order: match text(&self.order).as_deref().map(str::trim) {
                None | Some("opened") => IncidentOrder::Opened,
                Some("updated") => IncidentOrder::Updated,
                Some(other) => {
                    return Err(ApiError::bad_request(format!(
                        "order: expected opened or updated, found {other:?}"
                    )));
                }
            },
            limit: number("limit", &self.limit)?,
        })
    }
}

pub(super) fn parse_since(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, ApiError> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    let invalid = || {
        ApiError::bad_request(format!(
            "since: expected an RFC 3339 time or a duration like 24h, found {text:?}"
        ))
    };
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(invalid)?;
    let (amount, unit) = text.split_at(split);
    let amount: i64 = amount.parse().map_err(|_| invalid())?;
    let duration = match unit {
        "s" => Duration::try_seconds(amount),
        "m" => Duration::try_minutes(amount),
        "h" => Duration::try_hours(amount),
        "d" => Duration::try_days(amount),
        _ => None,
    }
    .ok_or_else(invalid)?;
    // Checked: a request can ask for a window longer than time itself.
    now.checked_sub_signed(duration).ok_or_else(invalid)
}

pub async fn list_incidents(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<IncidentPage>, ApiError> {
    let filter = ListQuery::parse(query.as_deref())?.to_filter(state.clock.now())?;
    Ok(Json(state.store.list_incidents(&filter).await?))
}

#[derive(Debug, Serialize)]
pub struct IncidentResponse {
    #[serde(flatten)]
    pub detail: IncidentDetail,
    pub related: RelatedIncidents,
    /// The newest analysis (its event's payload with `event_id` and `at`), or null.
    pub analysis: Option<serde_json::Value>,
}

pub async fn get_incident(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<IncidentResponse>, ApiError> {
    let detail = state
        .store
        .incident_detail(id)
        .await?
        .ok_or_else(|| not_found(id))?;
    let related = state.store.related_incidents(&detail.incident).await?;
    let analysis = state
        .store
        .latest_analysis(id)
        .await?
        .as_ref()
        .map(analysis_view);
    Ok(Json(IncidentResponse {
        detail,
        related,
        analysis,
    }))
}

fn not_found(id: i64) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::NOT_FOUND,
        format!("incident {id} not found"),
    )
}

/// Writes a fresh analysis event from the incident's current timeline and history, within
/// the caller's rate (each can cost a model call).
pub(super) async fn regenerate(
    state: &AppState,
    identity: &Identity,
    id: i64,
) -> Result<EventRow, ApiError> {
    if let Err(limited) = state
        .access
        .take_regeneration(&identity.name, state.clock.now())
    {
        let mut error = ApiError::new(
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            format!(
                "too many regenerated analyses: try again in {} s",
                limited.retry_after.num_seconds()
            ),
        );
        error.retry_after = Some(limited.retry_after.num_seconds().max(1));
        return Err(error);
    }
    state
        .analyst
        .write(id, state.clock.now())
        .await?
        .ok_or_else(|| not_found(id))
}

pub async fn regenerate_analysis(
    State(state): State<AppState>,
    identity: Identity,
    Path(id): Path<i64>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let event = regenerate(&state, &identity, id).await?;
    Ok(Json(analysis_view(&event)))
}

/// Body of ack / resolve / verdict. All optional except `verdict` for the verdict call.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChangeBody {
    /// Ignored: who made the change is the signed-in identity. Accepted (with a warning in the
    /// log) for one version so older scripts keep working.
    pub by: Option<String>,
    pub verdict: Option<String>,
}

fn change_body(body: &Bytes) -> Result<ChangeBody, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(ChangeBody::default());
    }
    let body: ChangeBody = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?;
    warn_ignored_by(body.by.as_deref());
    Ok(body)
}

/// A `by` in a body names nobody any more: the actor is who signed in.
pub(super) fn warn_ignored_by(by: Option<&str>) {
    if let Some(by) = by.filter(|s| !s.trim().is_empty()) {
        tracing::warn!(
            by,
            "a request body's \"by\" is ignored: the change is recorded as the signed-in identity"
        );
    }
}

pub(super) async fn apply_change(
    state: &AppState,
    id: i64,
    change: ManualChange,
    identity: &Identity,
) -> Result<IncidentRow, ApiError> {
    let actor = ActorText::of(identity);
    let outcome = state
        .store
        .change_incident(id, change, actor.actor(), state.clock.now())
        .await?;
    Ok(outcome.incident)
}

pub(super) fn parse_verdict(text: Option<&str>) -> Result<Verdict, ApiError> {
    let text = text.ok_or_else(|| {
        ApiError::bad_request("verdict: missing (noise, real, auto-fixed or escalated)")
    })?;
    text.parse().map_err(|_| {
        ApiError::bad_request(format!(
            "verdict: expected noise, real, auto-fixed or escalated, found {text:?}"
        ))
    })
}

pub async fn acknowledge(
    State(state): State<AppState>,
    identity: Identity,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<Json<IncidentRow>, ApiError> {
    change_body(&body)?;
    Ok(Json(
        apply_change(&state, id, ManualChange::Acknowledge, &identity).await?,
    ))
}

pub async fn resolve(
    State(state): State<AppState>,
    identity: Identity,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<Json<IncidentRow>, ApiError> {
    change_body(&body)?;
    Ok(Json(
        apply_change(&state, id, ManualChange::Resolve, &identity).await?,
    ))
}

pub async fn verdict(
    State(state): State<AppState>,
    identity: Identity,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<Json<IncidentRow>, ApiError> {
    let body = change_body(&body)?;
    let verdict = parse_verdict(body.verdict.as_deref())?;
    Ok(Json(
        apply_change(&state, id, ManualChange::SetVerdict(verdict), &identity).await?,
    ))
}

#[cfg(test)]
// Fixtures stamped with the current time; no clock to inject in a unit test of a parser.
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn since_beyond_the_calendar_is_a_bad_request_not_a_panic() {
        let now: DateTime<Utc> = "2026-12-02T10:00:00Z".parse().unwrap();
        for text in [
            "100000000000d",
            "9223372036854775807s",
            "99999999999999999999d",
        ] {
            assert!(parse_since(text, now).is_err(), "{text}");
        }
    }

    #[test]
    fn since_accepts_times_and_durations() {
        let now = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
        assert_eq!(parse_since("24h", now).unwrap(), now - Duration::hours(24));
        assert_eq!(parse_since("7d", now).unwrap(), now - Duration::days(7));
        assert_eq!(
            parse_since("30m", now).unwrap(),
            now - Duration::minutes(30)
        );
        assert_eq!(
            parse_since("2026-11-25T10:00:00+02:00", now).unwrap(),
            Utc.with_ymd_and_hms(2026, 11, 25, 8, 0, 0).unwrap()
        );
        for bad in ["yesterday", "5w", "h", ""] {
            assert!(parse_since(bad, now).is_err(), "{bad}");
        }
    }

    #[test]
    fn list_query_errors_name_the_parameter() {
        let now = Utc::now();
        let query = ListQuery::parse(Some("state=open")).unwrap();
        let error = query.to_filter(now).unwrap_err();
        assert!(error.body["error"].as_str().unwrap().starts_with("state:"));
        let query = ListQuery::parse(Some("limit=ten")).unwrap();
        assert!(
            query.to_filter(now).unwrap_err().body["error"]
                .as_str()
                .unwrap()
                .starts_with("limit:")
        );
        let ok = ListQuery::parse(Some("state=resolved&alertname=X&namespace=&limit=5"))
            .unwrap()
            .to_filter(now)
            .unwrap();
        assert_eq!(ok.state, Some(IncidentState::Resolved));
        assert_eq!(ok.alertname.as_deref(), Some("X"));
        assert_eq!(ok.namespace, None);
        assert_eq!(ok.limit, Some(5));
    }
}

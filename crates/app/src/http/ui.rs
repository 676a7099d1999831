//! Server-rendered pages: the incident list and one incident.

mod events;
mod markdown;

use super::api::{ListQuery, apply_change, parse_verdict, regenerate};
use super::identity::Identity;
use super::login::Chrome;
use super::ui_actions::ActionView;
use super::{ApiError, AppState};
use askama::Template;
use axum::Form;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use events::{event_details, event_full_text};
use nightwatch_core::analysis::AnalysisSource;
use nightwatch_core::event::{EventKind, EventPayload};
use nightwatch_core::incident::{IncidentState, ManualChange, Verdict};
use nightwatch_store::{ActionState, EventRow, IncidentRow};
use serde::Deserialize;

/// One incident as a row of a list.
struct Row {
    id: i64,
    state: &'static str,
    severity: &'static str,
    alertname: String,
    /// `namespace/pod/container` and the node, whatever the incident is about.
    location: String,
    /// `namespace/pod/container` only (the list has a node column).
    workload: String,
    node: String,
    runbook: String,
    summary: String,
    /// When the alert says it started firing (else when nightwatch opened the incident).
    started_at: String,
    started_ago: String,
    opened_at: String,
    opened_ago: String,
    updated_at: String,
    updated_ago: String,
    alert_count: i64,
    verdict: &'static str,
    verdict_class: &'static str,
    fingerprint: String,
    source: String,
    previous_incident_id: Option<i64>,
}

impl Row {
    fn new(incident: &IncidentRow, now: DateTime<Utc>) -> Row {
        let started = incident.started_at.unwrap_or(incident.opened_at);
        Row {
            id: incident.id,
            state: incident.state.as_str(),
            severity: incident.severity.as_str(),
            alertname: if incident.alertname.is_empty() {
                "(no alertname)".to_owned()
            } else {
                incident.alertname.clone()
            },
            location: location(incident),
            workload: workload_parts(incident).join("/"),
            node: incident.node.clone().unwrap_or_default(),
            runbook: incident.runbook.clone().unwrap_or_default(),
            summary: incident.summary.clone().unwrap_or_default(),
            started_at: started.to_rfc3339(),
            started_ago: ago(started, now),
            opened_at: incident.opened_at.to_rfc3339(),
            opened_ago: ago(incident.opened_at, now),
            updated_at: incident.updated_at.to_rfc3339(),
            updated_ago: ago(incident.updated_at, now),
            alert_count: incident.alert_count,
            verdict: incident
                .verdict
                .map(Verdict::as_str)
                .unwrap_or("no verdict"),
            verdict_class: incident.verdict.map(Verdict::as_str).unwrap_or("none"),
            fingerprint: incident.fingerprint.clone(),
            source: incident.source.clone(),
            previous_incident_id: incident.previous_incident_id,
        }
    }
}

/// `namespace/pod/container` or `node/NAME`, whatever the incident is about.
fn location(incident: &IncidentRow) -> String {
    let mut parts = workload_parts(incident);
    if let Some(node) = incident.node.as_deref() {
        parts.push("node");
        parts.push(node);
    }
    parts.join("/")
}

/// The incident's namespace, pod and container, whichever it has.
fn workload_parts(incident: &IncidentRow) -> Vec<&str> {
    [&incident.namespace, &incident.pod, &incident.container]
        .into_iter()
        .filter_map(|part| part.as_deref())
        .collect()
}

fn ago(then: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let seconds = (now - then).num_seconds().max(0);
    match seconds {
        0..60 => format!("{seconds}s ago"),
        60..3600 => format!("{}m ago", seconds / 60),
        3600..86400 => format!("{}h ago", seconds / 3600),
        _ => format!("{}d ago", seconds / 86400),
    }
}

#[derive(Template)]
#[template(path = "incidents.html")]
struct IncidentsPage {
    chrome: Chrome,
    rows: Vec<Row>,
    states: Vec<&'static str>,
    filter_state: String,
    filter_alertname: String,
    filter_namespace: String,
    filter_node: String,
    filter_since: String,
    error: Option<String>,
    older_link: Option<String>,
}

pub(super) fn render(template: &impl Template) -> Result<Html<String>, ApiError> {
    template
        .render()
        .map(Html)
        .map_err(|e| ApiError::internal(format!("rendering page: {e}")))
}

pub async fn incidents_page(
    State(state): State<AppState>,
    identity: Identity,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let now = state.clock.now();
    let mut query = ListQuery::parse(raw.as_deref())?;
    // The on-call list: what moved last comes first.
    if query.order.as_deref().is_none_or(str::is_empty) {
        query.order = Some("updated".to_owned());
    }
    let (rows, next_before, error) = match query.to_filter(now) {
        Ok(filter) => {
            let page = state.store.list_incidents(&filter).await?;
            let next = page.next_before.map(|id| (id, page.next_before_updated));
            (page.incidents, next, None)
        }
        // A bad filter shows the page with the message rather than an error body.
        Err(error) => (
            Vec::new(),
            None,
            error.body["error"].as_str().map(str::to_owned),
        ),
    };
    let older_link = next_before.map(|(before, before_updated)| {
        let mut pairs: Vec<(&str, String)> = [
            ("state", &query.state),
            ("alertname", &query.alertname),
            ("namespace", &query.namespace),
            ("node", &query.node),
            ("since", &query.since),
            ("limit", &query.limit),
            ("order", &query.order),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.clone().filter(|v| !v.is_empty()).map(|v| (name, v)))
        .collect();
        pairs.push(("before", before.to_string()));
        if let Some(updated) = before_updated {
            pairs.push(("before_updated", updated.to_string()));
        }
        format!(
            "/?{}",
            serde_urlencoded::to_string(pairs).unwrap_or_default()
        )
    });
    let page = IncidentsPage {
        chrome: Chrome::of(&identity),
        rows: rows
            .iter()
            .map(|incident| Row::new(incident, now))
            .collect(),
        states: IncidentState::ALL.iter().map(|s| s.as_str()).collect(),
        filter_state: query.state.clone().unwrap_or_default(),
        filter_alertname: query.alertname.clone().unwrap_or_default(),
        filter_namespace: query.namespace.clone().unwrap_or_default(),
        filter_node: query.node.clone().unwrap_or_default(),
        filter_since: query.since.clone().unwrap_or_default(),
        error: error.clone(),
        older_link,
    };
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok((status, render(&page)?).into_response())
}

struct EventView {
    id: i64,
    at: String,
    kind: &'static str,
    actor: String,
    details: String,
    /// The model's and tools' full text, folded under the line (transcripts are long).
    full: Option<String>,
    /// The event's payload as stored, pretty-printed, one click away.
    raw: String,
}

impl EventView {
    fn new(event: &EventRow) -> EventView {
        EventView {
            id: event.id,
            at: event.at.to_rfc3339(),
            kind: event.kind.as_str(),
            actor: event.actor.clone(),
            details: event_details(event),
            full: event_full_text(event),
            raw: serde_json::to_string_pretty(&event.payload).unwrap_or_default(),
        }
    }
}

fn target_key(target: &serde_json::Value) -> String {
    let part = |key: &str| target.get(key).and_then(|v| v.as_str());
    [part("kind"), part("namespace"), part("name")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("/")
}

/// The newest analysis as the page shows it.
struct AnalysisView {
    event_id: i64,
    at: String,
    source: &'static str,
    sections: Vec<SectionView>,
}

struct SectionView {
    title: String,
    /// The section's Markdown as sanitised HTML, citations linked (`markdown::analysis_html`).
    html: String,
}

impl AnalysisView {
    /// `None` when the payload is not an analysis (cut by the payload bound, say): the
    /// timeline still shows the raw event.
    fn new(event: &EventRow) -> Option<AnalysisView> {
        let EventPayload::Analysis(payload) = EventPayload::parse(event.kind, &event.payload)
        else {
            return None;
        };
        let analysis = payload.analysis()?;
        Some(AnalysisView {
            event_id: event.id,
            at: event.at.to_rfc3339(),
            source: match analysis.source {
                AnalysisSource::Template => "template",
                AnalysisSource::Llm => "llm",
            },
            sections: analysis
                .sections
                .into_iter()
                .map(|section| SectionView {
                    html: markdown::analysis_html(&section.body),
                    title: section.title,
                })
                .collect(),
        })
    }
}

struct AlertView {
    id: i64,
    status: &'static str,
    starts_at: String,
    ends_at: String,
    outcome: String,
    delivery_id: i64,
}

struct HistoryGroup {
    key: &'static str,
    title: String,
    rows: Vec<HistoryRow>,
}

/// A past incident as its history line shows it: what was done first, then the verdict.
struct HistoryRow {
    row: Row,
    outcomes: Vec<OutcomeView>,
}

/// One action of a past incident: ✓ executed and verified, → recommended (waiting, or
/// declined by a person or the policy), ✗ failed or forbidden.
#[derive(Clone)]
struct OutcomeView {
    mark: &'static str,
    class: &'static str,
    action: String,
    state: &'static str,
}

impl OutcomeView {
    fn new(action: &nightwatch_store::ActionRow) -> OutcomeView {
        let (mark, class) = match action.state {
            ActionState::Verified => ("✓", "done"),
            ActionState::Failed | ActionState::Forbidden => ("✗", "failed"),
            ActionState::Pending
            | ActionState::Approved
            | ActionState::Running
            | ActionState::Rejected
            | ActionState::Expired
            | ActionState::Denied
            | ActionState::Escalated => ("→", "recommended"),
        };
        OutcomeView {
            mark,
            class,
            action: action.action.clone(),
            state: action.state.as_str(),
        }
    }
}

#[derive(Template)]
#[template(path = "incident.html")]
struct IncidentPage {
    chrome: Chrome,
    i: Row,
    error: Option<String>,
    labels: Vec<(String, String)>,
    annotations: Vec<(String, String)>,
    events: Vec<EventView>,
    analysis: Option<AnalysisView>,
    alerts: Vec<AlertView>,
    history: Vec<HistoryGroup>,
    verdicts: Vec<&'static str>,
    runbook: String,
    mode: String,
    pending: Vec<ActionView>,
    actions: Vec<ActionView>,
}

#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    error: Option<String>,
}

pub async fn incident_page(
    State(state): State<AppState>,
    identity: Identity,
    Path(id): Path<i64>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let now = state.clock.now();
    let query: PageQuery =
        serde_urlencoded::from_str(raw.as_deref().unwrap_or("")).unwrap_or_default();
    let Some(detail) = state.store.incident_detail(id).await? else {
        return Ok((
            StatusCode::NOT_FOUND,
            Html(format!(
                "<h1>Incident {id} not found</h1><p><a href=\"/\">Incidents</a></p>"
            )),
        )
            .into_response());
    };
    let related = state.store.related_incidents(&detail.incident).await?;
    let mut actions = state.store.actions(None, Some(id), 200).await?;
    actions.reverse();
    let incident = &detail.incident;
    let past: Vec<i64> = [
        &related.same_alertname,
        &related.same_pod,
        &related.same_node,
    ]
    .into_iter()
    .flatten()
    .map(|r| r.id)
    .collect::<std::collections::BTreeSet<_>>()
    .into_iter()
    .collect();
    let mut done: std::collections::HashMap<i64, Vec<OutcomeView>> = Default::default();
    for action in state.store.actions_of_incidents(&past).await? {
        done.entry(action.incident_id)
            .or_default()
            .push(OutcomeView::new(&action));
    }
    let rows = |list: &[IncidentRow]| {
        list.iter()
            .map(|r| HistoryRow {
                row: Row::new(r, now),
                outcomes: done.get(&r.id).cloned().unwrap_or_default(),
            })
            .collect::<Vec<_>>()
    };
    let mut history = vec![HistoryGroup {
        key: "alertname",
        title: format!("Same alert ({})", incident.alertname),
        rows: rows(&related.same_alertname),
    }];
    if let (Some(namespace), Some(pod)) = (&incident.namespace, &incident.pod) {
        history.push(HistoryGroup {
            key: "pod",
            title: format!("Same pod ({namespace}/{pod})"),
            rows: rows(&related.same_pod),
        });
    }
    if let Some(node) = &incident.node {
        history.push(HistoryGroup {
            key: "node",
            title: format!("Same node ({node})"),
            rows: rows(&related.same_node),
        });
    }
    let page = IncidentPage {
        chrome: Chrome::of(&identity),
        i: Row::new(incident, now),
        error: query.error,
        labels: incident.labels.clone().into_iter().collect(),
        annotations: incident.annotations.clone().into_iter().collect(),
        events: detail.events.iter().map(EventView::new).collect(),
        analysis: detail
            .events
            .iter()
            .rev()
            .find(|event| event.kind == EventKind::Analysis)
            .and_then(AnalysisView::new),
        alerts: detail
            .alerts
            .iter()
            .map(|a| AlertView {
                id: a.id,
                status: a.status.as_str(),
                starts_at: a.starts_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
                ends_at: a.ends_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
                outcome: a.outcome.clone().unwrap_or_else(|| "queued".to_owned()),
                delivery_id: a.delivery_id,
            })
            .collect(),
        history,
        verdicts: Verdict::ALL.iter().map(|v| v.as_str()).collect(),
        runbook: incident.runbook.clone().unwrap_or_default(),
        mode: incident.mode.clone().unwrap_or_default(),
        pending: actions
            .iter()
            .filter(|action| action.state == ActionState::Pending)
            .map(ActionView::new)
            .collect(),
        actions: actions.iter().map(ActionView::new).collect(),
    };
    Ok(render(&page)?.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_action_state_reads_as_done_recommended_or_failed() {
        let row = |state| nightwatch_store::ActionRow {
            id: 1,
            incident_id: 2,
            runbook: "RB".into(),
            step_id: "s".into(),
            action: "restart_pod".into(),
            target: nightwatch_core::action::ActionTarget {
                kind: "Pod".into(),
                namespace: Some("shop".into()),
                name: "web-1".into(),
            },
            args: serde_json::Value::Null,
            state,
            class: None,
            rule: None,
            reason: String::new(),
            created_at: DateTime::default(),
            expires_at: None,
            decided_at: None,
            decided_by: None,
            executed_at: None,
            finished_at: None,
            result: None,
        };
        for state in ActionState::ALL {
            let shown = OutcomeView::new(&row(state));
            let expected = match state {
                ActionState::Verified => ("✓", "done"),
                ActionState::Failed | ActionState::Forbidden => ("✗", "failed"),
                _ => ("→", "recommended"),
            };
            assert_eq!((shown.mark, shown.class), expected, "{state:?}");
            assert_eq!(shown.action, "restart_pod");
            assert_eq!(shown.state, state.as_str());
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ChangeForm {
    verdict: Option<String>,
}

/// The page's buttons: apply the change, then show the incident again (with the error, if any).
pub async fn change_from_form(
    State(state): State<AppState>,
    identity: Identity,
    Path((id, change)): Path<(i64, String)>,
    Form(form): Form<ChangeForm>,
) -> Result<Redirect, ApiError> {
    if change == "regenerate-analysis" {
        regenerate(&state, &identity, id).await?;
        return Ok(Redirect::to(&format!("/incident/{id}#analysis")));
    }
    let change = match change.as_str() {
        "ack" => ManualChange::Acknowledge,
        "resolve" => ManualChange::Resolve,
        "verdict" => ManualChange::SetVerdict(parse_verdict(form.verdict.as_deref())?),
        other => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("no such action {other:?}"),
            ));
        }
    };
    match apply_change(&state, id, change, &identity).await {
        Ok(_) => Ok(Redirect::to(&format!("/incident/{id}"))),
        Err(error) if error.status == StatusCode::CONFLICT => {
            let message = error.body["error"]
                .as_str()
                .unwrap_or("conflict")
                .to_owned();
            let query = serde_urlencoded::to_string([("error", message)]).unwrap_or_default();
            Ok(Redirect::to(&format!("/incident/{id}?{query}")))
        }
        Err(error) => Err(error),
    }
}

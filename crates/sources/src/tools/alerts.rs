//! Alert tools: Prometheus' rule alerts and rules, Alertmanager's alerts and silences.

use super::args;
use super::{bounded_labels, cap, left_out, rfc3339, tally};
use crate::alertmanager::{AlertFilter, AlertmanagerClient};
use crate::config::OutputLimits;
use crate::error::SourceError;
use crate::http::truncate;
use crate::prometheus::{PrometheusClient, RuleKind};
use nightwatch_core::tool::ToolOutput;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PrometheusAlertsArgs {
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    alertname: Option<String>,
}

/// A `prometheus_alerts` call, validated: the filters applied to Prometheus' alert list.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct PrometheusAlertsRequest {
    pub state: Option<String>,
    pub alertname: Option<String>,
}

pub(super) fn prometheus_alerts_request(
    args: Value,
) -> Result<PrometheusAlertsRequest, SourceError> {
    const TOOL: &str = "prometheus_alerts";
    let a: PrometheusAlertsArgs = args::parse(TOOL, args)?;
    if let Some(state) = &a.state
        && !matches!(state.as_str(), "pending" | "firing")
    {
        return Err(args::invalid(
            TOOL,
            format!(
                "state {:?}: expected pending or firing",
                truncate(state, 40)
            ),
        ));
    }
    Ok(PrometheusAlertsRequest {
        state: a.state,
        alertname: args::optional_text(TOOL, "alertname", a.alertname)?,
    })
}

pub(super) async fn prometheus_alerts(
    client: &PrometheusClient,
    limits: &OutputLimits,
    args: Value,
) -> Result<ToolOutput, SourceError> {
    let a = prometheus_alerts_request(args)?;
    let alerts: Vec<_> = client
        .alerts()
        .await?
        .into_iter()
        .filter(|alert| a.state.as_ref().is_none_or(|s| &alert.state == s))
        .filter(|alert| {
            a.alertname
                .as_ref()
                .is_none_or(|n| alert.labels.get("alertname") == Some(n))
        })
        .collect();
    let total = alerts.len();
    let names = tally(
        alerts
            .iter()
            .map(|a| a.labels.get("alertname").map_or("", String::as_str)),
    );
    let firing = alerts.iter().filter(|a| a.state == "firing").count();
    let (shown, omitted) = cap(alerts, limits.max_items);
    let rows: Vec<Value> = shown
        .iter()
        .map(|alert| {
            json!({
                "labels": bounded_labels(&alert.labels, limits.max_chars),
                "annotations": bounded_labels(&alert.annotations, limits.max_chars),
                "state": alert.state,
                "active_at": alert.active_at.map(rfc3339),
                "value": alert.value,
            })
        })
        .collect();
    let summary = if total == 0 {
        "Prometheus has no pending or firing alerts matching the request.".to_owned()
    } else {
        format!(
            "Prometheus has {total} alerts ({firing} firing, {} pending){}: {names}.",
            total - firing,
            left_out(shown.len(), omitted, "alerts")
        )
    };
    Ok(ToolOutput::new(
        json!({"total": total, "shown": shown.len(), "omitted": omitted, "alerts": rows}),
        summary,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesArgs {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

/// A `prometheus_rules` call, validated: the kind asked of Prometheus and the name filter.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct RulesRequest {
    pub kind: Option<RuleKind>,
    pub name: Option<String>,
}

pub(super) fn rules_request(args: Value) -> Result<RulesRequest, SourceError> {
    const TOOL: &str = "prometheus_rules";
    let a: RulesArgs = args::parse(TOOL, args)?;
    let kind = match a.kind.as_deref() {
        None => None,
        Some("alerting") => Some(RuleKind::Alerting),
        Some("recording") => Some(RuleKind::Recording),
        Some(other) => {
            return Err(args::invalid(
                TOOL,
                format!(
                    "type {:?}: expected alerting or recording",
                    truncate(other, 40)
                ),
            ));
        }
    };
    Ok(RulesRequest {
        kind,
        name: args::optional_text(TOOL, "name", a.name)?,
    })
}

pub(super) async fn prometheus_rules(
    client: &PrometheusClient,
    limits: &OutputLimits,
    args: Value,
) -> Result<ToolOutput, SourceError> {
    let RulesRequest { kind, name } = rules_request(args)?;
    let groups = client.rules(kind).await?;
    let rules: Vec<Value> = groups
        .iter()
        .flat_map(|group| group.rules.iter().map(move |rule| (group, rule)))
        .filter(|(_, rule)| name.as_ref().is_none_or(|n| rule.name.contains(n.as_str())))
        .map(|(group, rule)| {
            json!({
                "group": group.name,
                "name": rule.name,
                "type": rule.kind,
                "query": truncate(&rule.query, limits.max_chars),
                "for_seconds": rule.duration,
                "labels": rule.labels,
                "annotations": bounded_labels(&rule.annotations, limits.max_chars),
                "health": rule.health,
                "last_error": rule.last_error,
                "state": rule.state,
                "active_alerts": rule.alerts.len(),
            })
        })
        .collect();
    let total = rules.len();
    let unhealthy = rules.iter().filter(|r| r["health"] == "err").count();
    let firing = rules.iter().filter(|r| r["state"] == "firing").count();
    let (shown, omitted) = cap(rules, limits.max_items);
    let summary = format!(
        "{total} rules in {} groups{}; {firing} firing, {unhealthy} failing to evaluate.",
        groups.len(),
        left_out(shown.len(), omitted, "rules")
    );
    Ok(ToolOutput::new(
        json!({"total": total, "shown": shown.len(), "omitted": omitted, "rules": shown}),
        summary,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertmanagerAlertsArgs {
    #[serde(default)]
    filter: Vec<String>,
    #[serde(default)]
    active: Option<bool>,
    #[serde(default)]
    silenced: Option<bool>,
    #[serde(default)]
    inhibited: Option<bool>,
    #[serde(default)]
    receiver: Option<String>,
}

/// An `alertmanager_alerts` call, validated: the filter sent to Alertmanager.
pub(super) fn alertmanager_alerts_request(args: Value) -> Result<AlertFilter, SourceError> {
    const TOOL: &str = "alertmanager_alerts";
    let a: AlertmanagerAlertsArgs = args::parse(TOOL, args)?;
    Ok(AlertFilter {
        matchers: args::text_list(TOOL, "filter", a.filter)?,
        active: a.active,
        silenced: a.silenced,
        inhibited: a.inhibited,
        unprocessed: None,
        receiver: args::optional_text(TOOL, "receiver", a.receiver)?,
    })
}

pub(super) async fn alertmanager_alerts(
    client: &AlertmanagerClient,
    limits: &OutputLimits,
    args: Value,
) -> Result<ToolOutput, SourceError> {
    let filter = alertmanager_alerts_request(args)?;
    let alerts = client.alerts(&filter).await?;
    let total = alerts.len();
    let suppressed = alerts
        .iter()
        .filter(|a| a.status.state == "suppressed")
        .count();
    let names = tally(
        alerts
            .iter()
            .map(|a| a.labels.get("alertname").map_or("", String::as_str)),
    );
    let (shown, omitted) = cap(alerts, limits.max_items);
    let rows: Vec<Value> = shown
        .iter()
        .map(|alert| {
            json!({
                "fingerprint": alert.fingerprint,
                "labels": bounded_labels(&alert.labels, limits.max_chars),
                "annotations": bounded_labels(&alert.annotations, limits.max_chars),
                "state": alert.status.state,
                "silenced_by": alert.status.silenced_by,
                "inhibited_by": alert.status.inhibited_by,
                "starts_at": rfc3339(alert.starts_at),
                "ends_at": alert.ends_at.map(rfc3339),
                "receivers": alert.receivers.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
            })
        })
        .collect();
    let summary = if total == 0 {
        "Alertmanager has no alerts matching the request.".to_owned()
    } else {
        format!(
            "Alertmanager has {total} alerts ({suppressed} silenced or inhibited){}: {names}.",
            left_out(shown.len(), omitted, "alerts")
        )
    };
    Ok(ToolOutput::new(
        json!({"total": total, "shown": shown.len(), "omitted": omitted, "alerts": rows}),
        summary,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SilencesArgs {
    #[serde(default)]
    filter: Vec<String>,
    #[serde(default)]
    include_expired: bool,
}

/// An `alertmanager_silences` call, validated: the matchers sent to Alertmanager and whether
/// expired silences are listed.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct SilencesRequest {
    pub filter: Vec<String>,
    pub include_expired: bool,
}

pub(super) fn silences_request(args: Value) -> Result<SilencesRequest, SourceError> {
    const TOOL: &str = "alertmanager_silences";
    let a: SilencesArgs = args::parse(TOOL, args)?;
    Ok(SilencesRequest {
        filter: args::text_list(TOOL, "filter", a.filter)?,
        include_expired: a.include_expired,
    })
}

pub(super) async fn alertmanager_silences(
    client: &AlertmanagerClient,
    limits: &OutputLimits,
    args: Value,
) -> Result<ToolOutput, SourceError> {
    let a = silences_request(args)?;
    let all = client.silences(&a.filter).await?;
    let expired = all.iter().filter(|s| s.status.state == "expired").count();
    let mut silences: Vec<_> = all
        .into_iter()
        .filter(|s| a.include_expired || s.status.state != "expired")
        .collect();
    // The ones ending soonest first: what an investigation asks is "what is hidden right now,
    // and until when".
    silences.sort_by_key(|s| s.ends_at);
    let total = silences.len();
    let active = silences
        .iter()
        .filter(|s| s.status.state == "active")
        .count();
    let (shown, omitted) = cap(silences, limits.max_items);
    let rows: Vec<Value> = shown
        .iter()
        .map(|s| {
            json!({
                "id": s.id,
                "state": s.status.state,
                "matchers": s.matchers.iter().map(|m| m.to_text()).collect::<Vec<_>>(),
                "starts_at": rfc3339(s.starts_at),
                "ends_at": rfc3339(s.ends_at),
                "created_by": s.created_by,
                "comment": truncate(&s.comment, limits.max_chars),
            })
        })
        .collect();
    let hidden = if a.include_expired || expired == 0 {
        String::new()
    } else {
        format!(" ({expired} expired not listed)")
    };
    let summary = format!(
        "{total} silences, {active} active{}{hidden}.",
        left_out(shown.len(), omitted, "silences")
    );
    Ok(ToolOutput::new(
        json!({"total": total, "shown": shown.len(), "omitted": omitted, "expired_not_listed": if a.include_expired { 0 } else { expired }, "silences": rows}),
        summary,
    ))
}

//! Grafana webhooks: unified alerting (`version: "1"`, Alertmanager-shaped plus title, state,
//! message, orgId and per-alert values/silenceURL/dashboardURL/panelURL) and the legacy format
//! (`ruleName`, `state`, `evalMatches`, no `alerts`).

use super::ParseError;
use super::alertmanager;
use super::json::{self, Object};
use crate::model::{Alert, AlertStatus, Delivery, Labels, Source};
use chrono::{DateTime, Utc};
use serde_json::Value;

pub(super) fn parse(value: &Value, received_at: DateTime<Utc>) -> Result<Delivery, ParseError> {
    let top = json::as_object(value, "body")?;
    if top.get("alerts").is_none()
        && (top.contains_key("ruleName") || top.contains_key("evalMatches"))
    {
        return legacy(top, received_at);
    }
    let mut delivery = alertmanager::envelope(Source::Grafana, top)?;
    delivery.extra = json::extras(top, alertmanager::DELIVERY_FIELDS);
    let mut alerts = alertmanager::alerts(top, &delivery, received_at)?;
    // Grafana alerts may lack an alertname (the rule title is the group's name).
    if let Some(title) = json::scalar_text(top, "title", "")? {
        for alert in &mut alerts {
            alert
                .labels
                .entry("alertname".to_owned())
                .or_insert_with(|| title.clone());
        }
    }
    delivery.alerts = alerts;
    Ok(delivery)
}

/// Legacy Grafana alerting: one rule, its state, and the series that matched.
fn legacy(top: &Object, received_at: DateTime<Utc>) -> Result<Delivery, ParseError> {
    let state = json::scalar_text(top, "state", "")?.unwrap_or_default();
    let status = match state.as_str() {
        "ok" | "paused" | "no_data" => AlertStatus::Resolved,
        "alerting" | "pending" | "" => AlertStatus::Firing,
        other => {
            return Err(ParseError::shape(
                "state",
                format!("expected alerting, ok, pending, paused or no_data, found {other:?}"),
            ));
        }
    };
    let mut labels: Labels = json::string_map(top, "tags", "")?;
    let name = json::scalar_text(top, "ruleName", "")?
        .or(json::scalar_text(top, "title", "")?)
        .unwrap_or_default();
    if !name.is_empty() {
        labels.insert("alertname".to_owned(), name);
    }
    if let Some(rule_id) = json::scalar_text(top, "ruleId", "")? {
        labels.insert("grafana_rule_id".to_owned(), rule_id);
    }
    let mut annotations = Labels::new();
    if let Some(message) = json::scalar_text(top, "message", "")? {
        annotations.insert("description".to_owned(), message);
    }
    if let Some(title) = json::scalar_text(top, "title", "")? {
        annotations.insert("summary".to_owned(), title);
    }
    if let Some(matches) = top.get("evalMatches")
        && !matches.is_array()
        && !matches.is_null()
    {
        return Err(ParseError::shape(
            "evalMatches",
            format!("expected an array, found {}", json::kind(matches)),
        ));
    }
    let alert = Alert {
        status,
        labels,
        annotations,
        starts_at: Some(received_at),
        ends_at: (status == AlertStatus::Resolved).then_some(received_at),
        generator_url: json::scalar_text(top, "ruleUrl", "")?,
        source_fingerprint: None,
        extra: json::extras(
            top,
            &["ruleName", "ruleId", "ruleUrl", "message", "title", "tags"],
        ),
    };
    Ok(Delivery {
        source: Source::Grafana,
        version: None,
        receiver: None,
        status: Some(status),
        group_key: None,
        truncated_alerts: 0,
        group_labels: Labels::new(),
        common_labels: alert.labels.clone(),
        common_annotations: alert.annotations.clone(),
        external_url: None,
        extra: Object::new(),
        alerts: vec![alert],
    })
}

//! Alertmanager webhook v4 (also what SigNoz sends, with `ruleId` labels).

use super::ParseError;
use super::json::{self, Object};
use crate::model::{Alert, AlertStatus, Delivery, Labels, Source};
use chrono::{DateTime, Utc};
use serde_json::Value;

/// Delivery-level fields every Alertmanager-shaped format shares (Grafana's unified format too).
pub(super) const DELIVERY_FIELDS: &[&str] = &[
    "version",
    "groupKey",
    "truncatedAlerts",
    "status",
    "receiver",
    "groupLabels",
    "commonLabels",
    "commonAnnotations",
    "externalURL",
    "alerts",
];

const ALERT_FIELDS: &[&str] = &[
    "status",
    "labels",
    "annotations",
    "startsAt",
    "endsAt",
    "generatorURL",
    "fingerprint",
];

pub(super) fn parse(
    source: Source,
    value: &Value,
    received_at: DateTime<Utc>,
) -> Result<Delivery, ParseError> {
    let top = json::as_object(value, "body")?;
    let mut delivery = envelope(source, top)?;
    delivery.extra = json::extras(top, DELIVERY_FIELDS);
    delivery.alerts = alerts(top, &delivery, received_at)?;
    Ok(delivery)
}

/// The delivery-level fields every Alertmanager-shaped format shares.
pub(super) fn envelope(source: Source, top: &Object) -> Result<Delivery, ParseError> {
    Ok(Delivery {
        source,
        version: json::scalar_text(top, "version", "")?,
        receiver: json::scalar_text(top, "receiver", "")?,
        status: json::status(top, "status", "")?,
        group_key: json::scalar_text(top, "groupKey", "")?,
        truncated_alerts: json::unsigned(top, "truncatedAlerts", "")?,
        group_labels: json::string_map(top, "groupLabels", "")?,
        common_labels: json::string_map(top, "commonLabels", "")?,
        common_annotations: json::string_map(top, "commonAnnotations", "")?,
        external_url: json::scalar_text(top, "externalURL", "")?,
        extra: Object::new(),
        alerts: Vec::new(),
    })
}

/// Parses `alerts[]`. A body with no `alerts` but an `alertname` in its common labels is read as
/// one alert made of the common labels and annotations (some senders post only the group).
pub(super) fn alerts(
    top: &Object,
    delivery: &Delivery,
    received_at: DateTime<Utc>,
) -> Result<Vec<Alert>, ParseError> {
    match top.get("alerts") {
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(index, item)| {
                let path = format!("alerts[{index}]");
                let obj = json::as_object(item, &path)?;
                alert(obj, &path, delivery, received_at)
            })
            .collect(),
        None | Some(Value::Null) if delivery.common_labels.contains_key("alertname") => {
            Ok(vec![Alert {
                status: delivery.status.unwrap_or(AlertStatus::Firing),
                labels: delivery.common_labels.clone(),
                annotations: delivery.common_annotations.clone(),
                starts_at: None,
                ends_at: None,
                generator_url: None,
                source_fingerprint: None,
                extra: Object::new(),
            }])
        }
        None | Some(Value::Null) => Err(ParseError::shape(
            "alerts",
            "missing: expected an array of alerts",
        )),
        Some(other) => Err(ParseError::shape(
            "alerts",
            format!("expected an array, found {}", json::kind(other)),
        )),
    }
}

pub(super) fn alert(
    obj: &Object,
    path: &str,
    delivery: &Delivery,
    received_at: DateTime<Utc>,
) -> Result<Alert, ParseError> {
    let mut labels = json::string_map(obj, "labels", path)?;
    fill_alertname(&mut labels, delivery);
    let ends_at = json::timestamp(obj, "endsAt", path)?;
    let status = match json::status(obj, "status", path)? {
        Some(status) => status,
        None => derived_status(ends_at, delivery.status, received_at),
    };
    Ok(Alert {
        status,
        labels,
        annotations: json::string_map(obj, "annotations", path)?,
        starts_at: json::timestamp(obj, "startsAt", path)?,
        ends_at,
        generator_url: json::scalar_text(obj, "generatorURL", path)?,
        source_fingerprint: json::scalar_text(obj, "fingerprint", path)?,
        extra: json::extras(obj, ALERT_FIELDS),
    })
}

/// An alert without its own `status`: an `endsAt` already past means it is over; otherwise the
/// group's status; otherwise firing.
fn derived_status(
    ends_at: Option<DateTime<Utc>>,
    group_status: Option<AlertStatus>,
    received_at: DateTime<Utc>,
) -> AlertStatus {
    match ends_at {
        Some(end) if end <= received_at => AlertStatus::Resolved,
        _ => group_status.unwrap_or(AlertStatus::Firing),
    }
}

/// Alerts without `alertname` take the group's (every alert of a group shares its group labels).
fn fill_alertname(labels: &mut Labels, delivery: &Delivery) {
    if labels.contains_key("alertname") {
        return;
    }
    let inherited = delivery
        .common_labels
        .get("alertname")
        .or_else(|| delivery.group_labels.get("alertname"));
    if let Some(name) = inherited {
        labels.insert("alertname".to_owned(), name.clone());
    }
}

//! Limits on what one delivery may hold, so one sender cannot exhaust memory or the database:
//! alerts per delivery, labels (and annotations) per alert, and the size of a name or a value.
//! Checked before a delivery is stored; a delivery over a limit is refused whole (4xx, no
//! retry helps), naming the limit and where it was crossed.

use crate::model::{Delivery, Labels};
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Alerts in one delivery. Alertmanager sends a group's alerts in one: a storm of 20,000
    /// fits.
    pub max_alerts: usize,
    /// Labels of one alert, and annotations of one alert (each).
    pub max_labels: usize,
    /// Bytes of a label or annotation name.
    pub max_name_bytes: usize,
    /// Bytes of a label or annotation value (an alertname included).
    pub max_value_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_alerts: 25_000,
            max_labels: 128,
            max_name_bytes: 1024,
            max_value_bytes: 32 * 1024,
        }
    }
}

/// A delivery over a limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message} (limit {limit} = {value})")]
pub struct OverLimit {
    /// Where (`alerts`, `alerts[3].labels`, `alerts[3].annotations.description`).
    pub path: String,
    pub message: String,
    /// The configuration key (`max_alerts`, …).
    pub limit: &'static str,
    pub value: usize,
}

/// Bodies at least this large are counted before they are parsed into values, so a body of a
/// million tiny alerts is refused before a million alerts are built.
const COUNT_FIRST_BYTES: usize = 256 * 1024;

/// Counts the top-level `alerts` of a large body without building them; `None` for a small
/// body or one that is not an object with an `alerts` array (the parser says what is wrong).
pub fn count_alerts(body: &[u8]) -> Option<usize> {
    #[derive(Deserialize)]
    struct Count {
        // `IgnoredAny` is zero-sized: the vector holds a count, not the alerts.
        alerts: Vec<serde::de::IgnoredAny>,
    }
    if body.len() < COUNT_FIRST_BYTES {
        return None;
    }
    serde_json::from_slice::<Count>(body)
        .ok()
        .map(|count| count.alerts.len())
}

impl Limits {
    /// The alert count of a large body, before parsing (see [`count_alerts`]).
    pub fn check_body(&self, body: &[u8]) -> Result<(), OverLimit> {
        match count_alerts(body) {
            Some(count) if count > self.max_alerts => Err(self.too_many_alerts(count)),
            _ => Ok(()),
        }
    }

    fn too_many_alerts(&self, count: usize) -> OverLimit {
        OverLimit {
            path: "alerts".to_owned(),
            message: format!("{count} alerts in one delivery"),
            limit: "max_alerts",
            value: self.max_alerts,
        }
    }

    /// Every limit on a parsed delivery.
    pub fn check(&self, delivery: &Delivery) -> Result<(), OverLimit> {
        if delivery.alerts.len() > self.max_alerts {
            return Err(self.too_many_alerts(delivery.alerts.len()));
        }
        for (path, labels) in [
            ("groupLabels", &delivery.group_labels),
            ("commonLabels", &delivery.common_labels),
            ("commonAnnotations", &delivery.common_annotations),
        ] {
            self.check_labels(path.to_owned(), labels)?;
        }
        for (i, alert) in delivery.alerts.iter().enumerate() {
            self.check_labels(format!("alerts[{i}].labels"), &alert.labels)?;
            self.check_labels(format!("alerts[{i}].annotations"), &alert.annotations)?;
        }
        Ok(())
    }

    fn check_labels(&self, path: String, labels: &Labels) -> Result<(), OverLimit> {
        if labels.len() > self.max_labels {
            return Err(OverLimit {
                message: format!("{} entries", labels.len()),
                path,
                limit: "max_labels",
                value: self.max_labels,
            });
        }
        for (name, value) in labels {
            if name.len() > self.max_name_bytes {
                return Err(OverLimit {
                    path: format!("{path} (a name of {} bytes)", name.len()),
                    message: "name too long".to_owned(),
                    limit: "max_name_bytes",
                    value: self.max_name_bytes,
                });
            }
            if value.len() > self.max_value_bytes {
                return Err(OverLimit {
                    path: format!("{path}.{}", crate::analysis::clip(name, 64)),
                    message: format!("value of {} bytes", value.len()),
                    limit: "max_value_bytes",
                    value: self.max_value_bytes,
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::model::Source;
    use serde_json::json;

    fn delivery(alerts: Vec<serde_json::Value>) -> Delivery {
        let body = json!({"version": "4", "status": "firing", "alerts": alerts}).to_string();
        crate::parse::parse(
            Source::Alertmanager,
            body.as_bytes(),
            chrono::DateTime::UNIX_EPOCH,
        )
        .unwrap()
    }

    fn alert(labels: serde_json::Value) -> serde_json::Value {
        json!({"status": "firing", "labels": labels, "annotations": {}})
    }

    #[test]
    fn each_limit_names_itself_and_where_it_was_crossed() {
        let limits = Limits {
            max_alerts: 2,
            max_labels: 3,
            max_name_bytes: 10,
            max_value_bytes: 16,
        };
        let ok = delivery(vec![alert(json!({"alertname": "A", "pod": "p"}))]);
        assert_eq!(limits.check(&ok), Ok(()));
        let table = [
            (
                vec![alert(json!({})), alert(json!({})), alert(json!({}))],
                "max_alerts",
                "alerts",
            ),
            (
                vec![alert(json!({"a": "1", "b": "2", "c": "3", "d": "4"}))],
                "max_labels",
                "alerts[0].labels",
            ),
            (
                vec![alert(json!({"averyverylongname": "1"}))],
                "max_name_bytes",
                "alerts[0].labels",
            ),
            (
                vec![alert(json!({"alertname": "x".repeat(17)}))],
                "max_value_bytes",
                "alerts[0].labels.alertname",
            ),
        ];
        for (alerts, limit, path) in table {
            let over = limits.check(&delivery(alerts)).unwrap_err();
            assert_eq!(over.limit, limit, "{over}");
            assert!(over.path.starts_with(path), "{over}");
        }
    }

    #[test]
    fn a_large_body_is_counted_before_it_is_parsed() {
        let tiny: Vec<serde_json::Value> = (0..40_000).map(|_| json!({"labels": {}})).collect();
        let body = json!({"alerts": tiny}).to_string();
        assert!(body.len() >= COUNT_FIRST_BYTES);
        assert_eq!(count_alerts(body.as_bytes()), Some(40_000));
        let over = Limits::default().check_body(body.as_bytes()).unwrap_err();
        assert_eq!(over.limit, "max_alerts");
        // Small bodies and other shapes are left to the parser.
        assert_eq!(count_alerts(br#"{"alerts": [{}]}"#), None);
        assert_eq!(Limits::default().check_body(b"not json"), Ok(()));
    }

    #[test]
    fn a_storm_of_twenty_thousand_real_sized_alerts_fits() {
        let alerts: Vec<serde_json::Value> = (0..20_000)
            .map(|i| {
                json!({"status": "firing",
                    "labels": {"alertname": "KubePodCrashLooping", "namespace": "shop",
                               "pod": format!("api-{i}"), "container": "app", "severity": "warning",
                               "job": "kube-state-metrics", "instance": "10.0.0.7:8080"},
                    "annotations": {"summary": "Pod is crash looping.",
                                    "description": "Pod shop/api is in waiting state (reason: CrashLoopBackOff).",
                                    "runbook_url": "https://runbooks.example/kubernetes/kubepodcrashlooping"}})
            })
            .collect();
        let body = json!({"version": "4", "status": "firing", "alerts": alerts}).to_string();
        let limits = Limits::default();
        assert_eq!(limits.check_body(body.as_bytes()), Ok(()));
        let parsed = crate::parse::parse(
            Source::Alertmanager,
            body.as_bytes(),
            chrono::DateTime::UNIX_EPOCH,
        )
        .unwrap();
        assert_eq!(limits.check(&parsed), Ok(()));
    }
}

//! core/v1 Events as the kubelet writes them, with its correlator's rule: an event identical to
//! one already written (same object, reason, message, type, source) bumps that Event's `count`
//! and `lastTimestamp` instead of creating another object.

use crate::container::{EventType, rfc3339};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use std::collections::HashMap;

/// Distinct events remembered; past this the least recently seen is forgotten (as the
/// kubelet's LRU cache does), so the next identical event starts a new object.
pub const MAX_REMEMBERED: usize = 4096;

/// The object an event is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InvolvedObject {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub api_version: String,
    pub field_path: Option<String>,
}

impl InvolvedObject {
    pub fn pod(namespace: &str, name: &str, uid: &str, field_path: Option<String>) -> Self {
        InvolvedObject {
            kind: "Pod".into(),
            namespace: namespace.into(),
            name: name.into(),
            uid: uid.into(),
            api_version: "v1".into(),
            field_path,
        }
    }

    /// Node events live in "default" and use the node name as UID, as the kubelet's do.
    pub fn node(name: &str) -> Self {
        InvolvedObject {
            kind: "Node".into(),
            namespace: "default".into(),
            name: name.into(),
            uid: name.into(),
            api_version: "v1".into(),
            field_path: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EventKey {
    pub object: InvolvedObject,
    pub kind: EventType,
    pub reason: String,
    pub message: String,
    /// The node whose kubelet reports it.
    pub host: String,
}

#[derive(Debug, Clone, PartialEq)]
struct Recorded {
    name: String,
    count: u32,
    first: DateTime<Utc>,
    last: DateTime<Utc>,
}

/// What to send to the API server for one recorded event.
#[derive(Debug, Clone, PartialEq)]
pub enum EventWrite {
    /// POST /api/v1/namespaces/{namespace}/events
    Create { namespace: String, body: Value },
    /// PATCH (merge) /api/v1/namespaces/{namespace}/events/{name}
    Update {
        namespace: String,
        name: String,
        patch: Value,
        /// What to create instead if the Event has gone (expired by the API server's TTL).
        fallback: Value,
    },
}

#[derive(Debug, Default)]
pub struct Correlator {
    entries: HashMap<EventKey, Recorded>,
    seq: u64,
}

impl Correlator {
    pub fn new() -> Correlator {
        Correlator::default()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Records one occurrence at `now` and says what to write.
    pub fn record(&mut self, key: EventKey, now: DateTime<Utc>) -> EventWrite {
        if let Some(entry) = self.entries.get_mut(&key) {
            entry.count += 1;
            entry.last = now;
            let entry = entry.clone();
            return EventWrite::Update {
                namespace: key.object.namespace.clone(),
                name: entry.name.clone(),
                patch: json!({
                    "count": entry.count,
                    "lastTimestamp": rfc3339(entry.last),
                    "message": key.message,
                }),
                fallback: body(&key, &entry),
            };
        }
        if self.entries.len() >= MAX_REMEMBERED
            && let Some(oldest) = self
                .entries
                .iter()
                .min_by_key(|(_, r)| r.last)
                .map(|(k, _)| k.clone())
        {
            self.entries.remove(&oldest);
        }
        // "{object}.{nanoseconds in hex}" like the kubelet; the sequence keeps names of events
        // recorded in the same instant apart.
        self.seq += 1;
        let nanos = now.timestamp_nanos_opt().unwrap_or_default() as u64;
        let entry = Recorded {
            name: format!("{}.{:x}", key.object.name, nanos.wrapping_add(self.seq)),
            count: 1,
            first: now,
            last: now,
        };
        let write = EventWrite::Create {
            namespace: key.object.namespace.clone(),
            body: body(&key, &entry),
        };
        self.entries.insert(key, entry);
        write
    }

    /// Forgets the events of an object that is gone.
    pub fn forget_object(&mut self, uid: &str) {
        self.entries.retain(|key, _| key.object.uid != uid);
    }
}

fn body(key: &EventKey, entry: &Recorded) -> Value {
    let o = &key.object;
    let mut involved = json!({
        "kind": o.kind,
        "namespace": o.namespace,
        "name": o.name,
        "uid": o.uid,
        "apiVersion": o.api_version,
    });
    if o.kind == "Node" {
        // Node is cluster-scoped: its reference carries no namespace.
        if let Some(map) = involved.as_object_mut() {
            map.remove("namespace");
        }
    }
    if let Some(path) = &o.field_path {
        involved["fieldPath"] = json!(path);
    }
    json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": { "name": entry.name, "namespace": o.namespace },
        "involvedObject": involved,
        "reason": key.reason,
        "message": key.message,
        "type": key.kind.as_str(),
        "source": { "component": "kubelet", "host": key.host },
        "firstTimestamp": rfc3339(entry.first),
        "lastTimestamp": rfc3339(entry.last),
        "count": entry.count,
        "reportingComponent": "kubelet",
        "reportingInstance": key.host,
        "eventTime": null,
    })
}

/// For logs: a readable one-line form.
pub fn describe(key: &EventKey, at: DateTime<Utc>) -> String {
    format!(
        "{} {} {}/{} {}: {}",
        at.to_rfc3339_opts(SecondsFormat::Secs, true),
        key.kind.as_str(),
        key.object.namespace,
        key.object.name,
        key.reason,
        key.message
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeDelta, TimeZone};

    fn t(seconds: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).single().unwrap() + TimeDelta::seconds(seconds)
    }

    fn key(reason: &str, message: &str) -> EventKey {
        EventKey {
            object: InvolvedObject::pod(
                "shop",
                "web-1",
                "u-1",
                Some("spec.containers{app}".into()),
            ),
            kind: EventType::Warning,
            reason: reason.into(),
            message: message.into(),
            host: "lab-node-1".into(),
        }
    }

    #[test]
    fn first_occurrence_creates_a_kubelet_shaped_event() {
        let mut c = Correlator::new();
        let EventWrite::Create { namespace, body } = c.record(key("BackOff", "Back-off"), t(0))
        else {
            panic!("expected a create");
        };
        assert_eq!(namespace, "shop");
        assert!(
            body["metadata"]["name"]
                .as_str()
                .unwrap()
                .starts_with("web-1.")
        );
        assert_eq!(body["involvedObject"]["kind"], "Pod");
        assert_eq!(body["involvedObject"]["uid"], "u-1");
        assert_eq!(body["involvedObject"]["apiVersion"], "v1");
        assert_eq!(body["involvedObject"]["fieldPath"], "spec.containers{app}");
        assert_eq!(body["type"], "Warning");
        assert_eq!(
            body["source"],
            json!({"component": "kubelet", "host": "lab-node-1"})
        );
        assert_eq!(body["reportingComponent"], "kubelet");
        assert_eq!(body["reportingInstance"], "lab-node-1");
        assert_eq!(body["count"], 1);
        assert_eq!(body["firstTimestamp"], "2026-03-01T12:00:00Z");
    }

    #[test]
    fn repeats_bump_count_and_last_timestamp() {
        let mut c = Correlator::new();
        let EventWrite::Create { body, .. } = c.record(key("BackOff", "m"), t(0)) else {
            panic!("expected a create");
        };
        let name = body["metadata"]["name"].clone();
        c.record(key("BackOff", "m"), t(5));
        let EventWrite::Update {
            name: updated,
            patch,
            fallback,
            ..
        } = c.record(key("BackOff", "m"), t(9))
        else {
            panic!("expected an update");
        };
        assert_eq!(json!(updated), name);
        assert_eq!(patch["count"], 3);
        assert_eq!(patch["lastTimestamp"], "2026-03-01T12:00:09Z");
        assert_eq!(fallback["count"], 3);
        assert_eq!(fallback["firstTimestamp"], "2026-03-01T12:00:00Z");

        // A different message, reason, or container is a different event.
        assert!(matches!(
            c.record(key("BackOff", "other"), t(10)),
            EventWrite::Create { .. }
        ));
        assert!(matches!(
            c.record(key("Failed", "m"), t(10)),
            EventWrite::Create { .. }
        ));
        let mut k = key("BackOff", "m");
        k.object.field_path = Some("spec.containers{side}".into());
        assert!(matches!(c.record(k, t(10)), EventWrite::Create { .. }));
        assert_eq!(c.len(), 4);
        c.forget_object("u-1");
        assert!(c.is_empty());
    }

    #[test]
    fn names_are_unique_within_an_instant_and_memory_is_bounded() {
        let mut c = Correlator::new();
        let mut names = std::collections::HashSet::new();
        for i in 0..(MAX_REMEMBERED + 5) {
            if let EventWrite::Create { body, .. } = c.record(key("R", &format!("{i}")), t(0)) {
                names.insert(body["metadata"]["name"].as_str().unwrap().to_string());
            }
        }
        assert_eq!(names.len(), MAX_REMEMBERED + 5);
        assert_eq!(c.len(), MAX_REMEMBERED);
    }

    #[test]
    fn node_events_have_no_namespace_in_the_reference() {
        let mut c = Correlator::new();
        let k = EventKey {
            object: InvolvedObject::node("lab-node-2"),
            kind: EventType::Normal,
            reason: "NodeReady".into(),
            message: "Node lab-node-2 status is now: NodeReady".into(),
            host: "lab-node-2".into(),
        };
        let EventWrite::Create { namespace, body } = c.record(k, t(0)) else {
            panic!("expected a create");
        };
        assert_eq!(namespace, "default");
        assert!(body["involvedObject"].get("namespace").is_none());
        assert_eq!(body["involvedObject"]["uid"], "lab-node-2");
    }
}

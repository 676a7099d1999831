//! Optional reversible anonymisation: namespace, pod and node names are replaced by placeholders
//! (`anon-ns-1`, `anon-pod-2`, `anon-node-3`) in everything sent to the model, and the
//! placeholders are turned back into names in the model's tool arguments and its answer.
//! Placeholders are valid DNS labels so the model treats them as names; the `anon-` prefix keeps
//! them from colliding with real names.

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::LazyLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NameKind {
    Namespace,
    Pod,
    Node,
}

impl NameKind {
    fn prefix(self) -> &'static str {
        match self {
            Self::Namespace => "ns",
            Self::Pod => "pod",
            Self::Node => "node",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Anonymiser {
    /// name → placeholder
    forward: BTreeMap<String, String>,
    /// placeholder → name
    reverse: BTreeMap<String, String>,
    counters: BTreeMap<&'static str, u32>,
}

static PLACEHOLDER: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"anon-(?:ns|pod|node)-[0-9]+").ok());

impl Anonymiser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a name; returns its placeholder (the same one if already registered).
    pub fn add(&mut self, kind: NameKind, name: &str) -> String {
        if let Some(existing) = self.forward.get(name) {
            return existing.clone();
        }
        let counter = self.counters.entry(kind.prefix()).or_insert(0);
        *counter += 1;
        let placeholder = format!("anon-{}-{counter}", kind.prefix());
        self.forward.insert(name.to_string(), placeholder.clone());
        self.reverse.insert(placeholder.clone(), name.to_string());
        placeholder
    }

    pub fn is_empty(&self) -> bool {
        self.forward.is_empty()
    }

    /// Replaces registered names where they stand as whole names (not inside a longer name).
    pub fn anonymise(&self, text: &str) -> String {
        let mut names: Vec<(&String, &String)> = self.forward.iter().collect();
        // Longest first: a pod name usually contains its namespace's or workload's name.
        names.sort_by_key(|(name, _)| std::cmp::Reverse(name.len()));
        let mut out = text.to_string();
        for (name, placeholder) in names {
            out = replace_whole(&out, name, placeholder);
        }
        out
    }

    pub fn restore(&self, text: &str) -> String {
        let Some(pattern) = PLACEHOLDER.as_ref() else {
            return text.to_string();
        };
        pattern
            .replace_all(text, |c: &regex::Captures<'_>| {
                let found = c.get(0).map_or("", |m| m.as_str());
                self.reverse
                    .get(found)
                    .cloned()
                    .unwrap_or_else(|| found.to_string())
            })
            .into_owned()
    }

    pub fn anonymise_value(&self, value: &Value) -> Value {
        map_strings(value, &|s| self.anonymise(s))
    }

    pub fn restore_value(&self, value: &Value) -> Value {
        map_strings(value, &|s| self.restore(s))
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

fn replace_whole(text: &str, name: &str, placeholder: &str) -> String {
    if name.is_empty() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(name) {
        let before = rest[..i].chars().next_back();
        let after = rest[i + name.len()..].chars().next();
        let whole = !before.is_some_and(is_name_char) && !after.is_some_and(is_name_char);
        out.push_str(&rest[..i]);
        out.push_str(if whole { placeholder } else { name });
        rest = &rest[i + name.len()..];
    }
    out.push_str(rest);
    out
}

/// Maps every string, object keys included (labels and annotations use names as keys).
fn map_strings(value: &Value, f: &dyn Fn(&str) -> String) -> Value {
    match value {
        Value::String(s) => Value::String(f(s)),
        Value::Array(items) => Value::Array(items.iter().map(|v| map_strings(v, f)).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (f(k), map_strings(v, f))).collect())
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Anonymiser {
        let mut a = Anonymiser::new();
        a.add(NameKind::Namespace, "payments");
        a.add(NameKind::Pod, "payments-api-7d9f-x2k");
        a.add(NameKind::Node, "ip-10-0-1-7.ec2.internal");
        a
    }

    #[test]
    fn whole_names_only_and_round_trip() {
        let a = sample();
        let text = "pod payments-api-7d9f-x2k in payments on ip-10-0-1-7.ec2.internal; \
                    payments-api is the deployment; namespace payments.";
        let anon = a.anonymise(text);
        assert_eq!(
            anon,
            "pod anon-pod-1 in anon-ns-1 on anon-node-1; \
             payments-api is the deployment; namespace anon-ns-1."
        );
        assert_eq!(a.restore(&anon), text);
        // Unknown placeholders and longer numbers are left alone.
        assert_eq!(
            a.restore("anon-pod-10 anon-pod-1"),
            "anon-pod-10 payments-api-7d9f-x2k"
        );
    }

    #[test]
    fn values_keys_included() {
        let a = sample();
        let v = json!({"namespace": "payments", "labels": {"payments": "x"}, "n": 3});
        let anon = a.anonymise_value(&v);
        assert_eq!(
            anon,
            json!({"namespace": "anon-ns-1", "labels": {"anon-ns-1": "x"}, "n": 3})
        );
        assert_eq!(a.restore_value(&anon), v);
    }

    #[test]
    fn add_is_idempotent() {
        let mut a = sample();
        assert_eq!(a.add(NameKind::Namespace, "payments"), "anon-ns-1");
        assert_eq!(a.add(NameKind::Namespace, "billing"), "anon-ns-2");
    }
}

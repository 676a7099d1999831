//! Alertmanager's v2 API. Reading (alerts, silences) and writing (creating and expiring
//! silences) are two types on purpose: investigation tools get an [`AlertmanagerClient`], and
//! only the approval path (a later stage) is handed a [`SilenceWriter`].

use crate::config::SourceConfig;
use crate::error::{Service, SourceError};
use crate::http::Endpoint;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub type Labels = BTreeMap<String, String>;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertmanagerAlert {
    #[serde(default)]
    pub labels: Labels,
    #[serde(default)]
    pub annotations: Labels,
    pub fingerprint: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(rename = "generatorURL")]
    pub generator_url: Option<String>,
    #[serde(default)]
    pub receivers: Vec<Receiver>,
    pub status: AlertStatus,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Receiver {
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertStatus {
    /// `unprocessed`, `active` or `suppressed`.
    pub state: String,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub silenced_by: Vec<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub inhibited_by: Vec<String>,
}

/// Go encodes a nil slice as `null`; some Alertmanager versions send that for "none".
fn null_as_empty<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(deserializer)?.unwrap_or_default())
}

/// What `GET /api/v2/alerts` returns. `None` leaves a flag to Alertmanager's default (true).
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    /// Matchers in Alertmanager's syntax: `alertname="X"`, `namespace=~"prod-.*"`, `severity!="info"`.
    pub matchers: Vec<String>,
    pub active: Option<bool>,
    pub silenced: Option<bool>,
    pub inhibited: Option<bool>,
    pub unprocessed: Option<bool>,
    pub receiver: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Matcher {
    pub name: String,
    pub value: String,
    #[serde(default)]
    pub is_regex: bool,
    /// Absent in answers from Alertmanager before 0.22, where every matcher was `=`/`=~`.
    #[serde(default = "yes")]
    pub is_equal: bool,
}

fn yes() -> bool {
    true
}

impl Matcher {
    /// An `name="value"` matcher.
    pub fn equal(name: impl Into<String>, value: impl Into<String>) -> Self {
        Matcher {
            name: name.into(),
            value: value.into(),
            is_regex: false,
            is_equal: true,
        }
    }

    /// The matcher in Alertmanager's text form, e.g. `namespace=~"prod-.*"`.
    pub fn to_text(&self) -> String {
        let op = match (self.is_equal, self.is_regex) {
            (true, false) => "=",
            (false, false) => "!=",
            (true, true) => "=~",
            (false, true) => "!~",
        };
        format!("{}{op}{:?}", self.name, self.value)
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Silence {
    pub id: String,
    pub status: SilenceStatus,
    pub matchers: Vec<Matcher>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub created_by: String,
    #[serde(default)]
    pub comment: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SilenceStatus {
    /// `active`, `pending` or `expired`.
    pub state: String,
}

/// Read-only Alertmanager client.
#[derive(Debug, Clone)]
pub struct AlertmanagerClient {
    endpoint: Endpoint,
}

impl AlertmanagerClient {
    pub fn new(config: &SourceConfig) -> Result<Self, SourceError> {
        Ok(AlertmanagerClient {
            endpoint: Endpoint::new(Service::Alertmanager, config)?,
        })
    }

    /// `GET /api/v2/alerts`.
    pub async fn alerts(
        &self,
        filter: &AlertFilter,
    ) -> Result<Vec<AlertmanagerAlert>, SourceError> {
        let mut params: Vec<(&str, String)> = filter
            .matchers
            .iter()
            .map(|m| ("filter", m.clone()))
            .collect();
        for (name, flag) in [
            ("active", filter.active),
            ("silenced", filter.silenced),
            ("inhibited", filter.inhibited),
            ("unprocessed", filter.unprocessed),
        ] {
            if let Some(flag) = flag {
                params.push((name, flag.to_string()));
            }
        }
        if let Some(receiver) = &filter.receiver {
            params.push(("receiver", receiver.clone()));
        }
        self.endpoint.get_json("/api/v2/alerts", &params).await
    }

    /// `GET /api/v2/silences`, every state (expired ones too, as Alertmanager keeps them for
    /// its retention), optionally narrowed by matchers.
    pub async fn silences(&self, matchers: &[String]) -> Result<Vec<Silence>, SourceError> {
        let params: Vec<(&str, String)> = matchers.iter().map(|m| ("filter", m.clone())).collect();
        self.endpoint.get_json("/api/v2/silences", &params).await
    }

    /// `GET /api/v2/silence/{id}`.
    pub async fn silence(&self, id: &str) -> Result<Silence, SourceError> {
        let path = silence_path(id)?;
        self.endpoint.get_json(&path, &[]).await
    }
}

/// A silence to create.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewSilence {
    pub matchers: Vec<Matcher>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub created_by: String,
    pub comment: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Created {
    #[serde(rename = "silenceID")]
    silence_id: String,
}

/// The one type that changes Alertmanager's state. Kept apart from the read client so holding
/// read access never implies the ability to silence.
#[derive(Debug, Clone)]
pub struct SilenceWriter {
    endpoint: Endpoint,
}

impl SilenceWriter {
    pub fn new(config: &SourceConfig) -> Result<Self, SourceError> {
        Ok(SilenceWriter {
            endpoint: Endpoint::new(Service::Alertmanager, config)?,
        })
    }

    /// `POST /api/v2/silences`; returns the new silence's ID.
    pub async fn create_silence(&self, silence: &NewSilence) -> Result<String, SourceError> {
        validate(silence)?;
        let body = serde_json::to_value(silence).map_err(|e| invalid(e.to_string()))?;
        let created: Created = self.endpoint.post_json("/api/v2/silences", &body).await?;
        Ok(created.silence_id)
    }

    /// `DELETE /api/v2/silence/{id}`: the silence ends now (Alertmanager keeps it as expired).
    pub async fn expire_silence(&self, id: &str) -> Result<(), SourceError> {
        let path = silence_path(id)?;
        self.endpoint.delete(&path).await.map(|_| ())
    }
}

fn invalid(message: String) -> SourceError {
    SourceError::InvalidRequest {
        service: Service::Alertmanager,
        message,
    }
}

/// Alertmanager refuses these too, but with terser messages; the caller (an approval) should
/// learn what is wrong before anything is sent.
fn validate(silence: &NewSilence) -> Result<(), SourceError> {
    if silence.matchers.is_empty() {
        return Err(invalid("a silence needs at least one matcher".into()));
    }
    // Alertmanager's own rule: a silence whose every matcher matches the empty string (an
    // absent label) would silence nearly every alert.
    if silence.matchers.iter().all(matches_empty) {
        return Err(invalid(
            "at least one matcher must not match the empty string (it would silence nearly every alert)".into(),
        ));
    }
    if silence.ends_at <= silence.starts_at {
        return Err(invalid(format!(
            "endsAt {} is not after startsAt {}",
            silence.ends_at, silence.starts_at
        )));
    }
    if silence.created_by.trim().is_empty() || silence.comment.trim().is_empty() {
        return Err(invalid("createdBy and comment are required".into()));
    }
    Ok(())
}

/// Whether a matcher matches an absent label. Regexes are judged by a short list of patterns
/// that match anything; Alertmanager applies the exact rule server-side.
fn matches_empty(matcher: &Matcher) -> bool {
    let pattern_matches_empty = if matcher.is_regex {
        matches!(matcher.value.as_str(), "" | ".*" | "^.*$" | "(.*)" | ".*?")
    } else {
        matcher.value.is_empty()
    };
    pattern_matches_empty == matcher.is_equal
}

/// Silence IDs are UUIDs; anything else would let a caller reach another path.
fn silence_path(id: &str) -> Result<String, SourceError> {
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(invalid(format!("{id:?} is not a silence ID")));
    }
    Ok(format!("/api/v2/silence/{id}"))
}

#[cfg(test)]
mod tests;

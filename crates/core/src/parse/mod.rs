//! Lenient webhook parsers: Alertmanager v4, Grafana (unified and legacy), SigNoz.
//!
//! Real senders disagree on details (see the third-party fixtures): `version` as a string or a
//! number, `groupKey` as a string or a number beyond u64, missing `status`, `endsAt`, `fingerprint`
//! or `alertname`, timestamps with 0–9 fraction digits or a space for `T`. All of that is accepted.
//! What is refused: bytes that are not JSON ([`ParseError::Syntax`], line and column) and JSON whose
//! shape cannot be an alert delivery ([`ParseError::Shape`], naming the field).

mod alertmanager;
mod grafana;
mod json;
pub mod limits;
pub mod skew;
pub mod time;

use crate::model::{Delivery, Source};
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Not JSON at all. Maps to HTTP 400.
    #[error("malformed JSON at line {line}, column {column}: {message}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    /// JSON, but not a delivery. Maps to HTTP 422.
    #[error("{path}: {message}")]
    Shape { path: String, message: String },
}

impl ParseError {
    pub(crate) fn shape(path: impl Into<String>, message: impl Into<String>) -> Self {
        ParseError::Shape {
            path: path.into(),
            message: message.into(),
        }
    }

    /// A short machine label for metrics (`rejects by reason`).
    pub fn reason(&self) -> &'static str {
        match self {
            ParseError::Syntax { .. } => "malformed_json",
            ParseError::Shape { .. } => "invalid_shape",
        }
    }
}

/// Parses one webhook body. `received_at` decides the status of alerts that carry no `status`
/// (an `endsAt` in the past means resolved).
pub fn parse(
    source: Source,
    body: &[u8],
    received_at: DateTime<Utc>,
) -> Result<Delivery, ParseError> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| ParseError::Syntax {
            line: e.line(),
            column: e.column(),
            message: syntax_message(&e),
        })?;
    let mut delivery = match source {
        Source::Alertmanager | Source::Signoz => alertmanager::parse(source, &value, received_at),
        Source::Grafana => grafana::parse(&value, received_at),
    }?;
    replace_nul(&mut delivery);
    Ok(delivery)
}

/// NUL characters become U+FFFD in every text the store keeps as a column. Postgres refuses NUL
/// in text (every retry of the delivery would fail with a storage error, forever) while SQLite
/// would keep it; replacing it here makes both backends store the same thing, and the raw body
/// keeps what was sent.
fn replace_nul(delivery: &mut crate::model::Delivery) {
    fn text(value: &mut String) {
        if value.contains('\0') {
            *value = value.replace('\0', "\u{FFFD}");
        }
    }
    fn labels(map: &mut crate::model::Labels) {
        if map
            .iter()
            .any(|(k, v)| k.contains('\0') || v.contains('\0'))
        {
            *map = std::mem::take(map)
                .into_iter()
                .map(|(mut k, mut v)| {
                    text(&mut k);
                    text(&mut v);
                    (k, v)
                })
                .collect();
        }
    }
    for value in [
        &mut delivery.version,
        &mut delivery.receiver,
        &mut delivery.group_key,
        &mut delivery.external_url,
    ]
    .into_iter()
    .flatten()
    {
        text(value);
    }
    labels(&mut delivery.group_labels);
    labels(&mut delivery.common_labels);
    labels(&mut delivery.common_annotations);
    for alert in &mut delivery.alerts {
        labels(&mut alert.labels);
        labels(&mut alert.annotations);
        for value in [&mut alert.generator_url, &mut alert.source_fingerprint]
            .into_iter()
            .flatten()
        {
            text(value);
        }
    }
}

/// serde_json's message ends with " at line L column C"; we report those separately.
fn syntax_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(cut) => text[..cut].to_owned(),
        None => text,
    }
}

#[cfg(test)]
mod tests;

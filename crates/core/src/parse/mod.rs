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
    match source {
        Source::Alertmanager | Source::Signoz => alertmanager::parse(source, &value, received_at),
        Source::Grafana => grafana::parse(&value, received_at),
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

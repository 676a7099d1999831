//! Errors in a policy config, with where in the YAML they are.

use serde::Serialize;
use std::fmt;

/// A place in the config text, both counted from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The text is not YAML of the policy's shape: a syntax error, an unknown field, a wrong
    /// type, a malformed duration.
    #[error("policy config{}: {message}", at(.location))]
    Parse {
        location: Option<Location>,
        message: String,
    },
    /// The YAML has the right shape but says something the policy refuses; `path` names the
    /// offending entry (`classes.prod.auto[1]`).
    #[error("policy config{}: {path}: {message}", at(.location))]
    Invalid {
        path: String,
        location: Option<Location>,
        message: String,
    },
}

fn at(location: &Option<Location>) -> String {
    location.map(|l| format!(" {l}")).unwrap_or_default()
}

impl PolicyError {
    /// Where in the text the error is, when known.
    pub fn location(&self) -> Option<Location> {
        match self {
            PolicyError::Parse { location, .. } | PolicyError::Invalid { location, .. } => {
                *location
            }
        }
    }

    pub(crate) fn from_yaml(error: &yaml_serde::Error) -> Self {
        let location = error.location().map(|l| Location {
            line: l.line(),
            column: l.column(),
        });
        let mut message = error.to_string();
        // yaml_serde writes the position into the message too; it is already in `location`.
        if let Some(l) = location {
            message = message.replacen(&format!(" at line {} column {}", l.line, l.column), "", 1);
        }
        PolicyError::Parse { location, message }
    }
}

/// One step of a path into the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
}

/// A validation failure before it is given a place in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Invalid {
    pub(crate) path: Vec<Seg>,
    pub(crate) message: String,
}

impl Invalid {
    pub(crate) fn new(path: Vec<Seg>, message: impl Into<String>) -> Self {
        Self {
            path,
            message: message.into(),
        }
    }

    pub(crate) fn into_error(self, location: Option<Location>) -> PolicyError {
        PolicyError::Invalid {
            path: path_text(&self.path),
            location,
            message: self.message,
        }
    }
}

pub(crate) fn path_text(path: &[Seg]) -> String {
    let mut text = String::new();
    for seg in path {
        match seg {
            Seg::Key(key) => {
                if !text.is_empty() {
                    text.push('.');
                }
                text.push_str(key);
            }
            Seg::Index(index) => text.push_str(&format!("[{index}]")),
        }
    }
    text
}

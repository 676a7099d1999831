//! nightwatch's Kubernetes adapter.
//!
//! Pure core, thin edges: what a tool reports, which object an action targets, the patch bodies,
//! which pods a drain evicts, the new memory limit, whether an action worked and the analyzers'
//! views of objects are plain functions over Kubernetes objects ([`tools`], [`owner`],
//! [`plan`], [`verify`], [`quantity`], [`facts`], [`snapshot`]), tested with tables. [`Kube`]
//! only fetches objects and hands them to those functions; [`Actuator`] is the only code that
//! writes to the cluster, and it takes nothing but a policy
//! [`Permit`](nightwatch_core::policy::Permit).

pub mod actuator;
pub mod agent;
pub mod client;
pub mod facts;
pub mod owner;
pub mod plan;
pub mod quantity;
mod read_snapshot;
pub mod snapshot;
pub mod tools;
pub mod verify;

pub use actuator::{ActionReport, Actuator};
pub use agent::{AgentTool, agent_tools, check_agent_arguments, is_agent_tool};
pub use client::{DEFAULT_REQUEST_TIMEOUT, EvictionApi, Kube, ToolTarget};
pub use verify::{Verification, VerifyStatus};

use thiserror::Error;

/// The read tools [`Kube::read_tool`] answers: the runbook format's read tools, one list.
pub use nightwatch_core::runbook::READ_TOOLS as TOOLS;

#[derive(Debug, Error)]
pub enum KubeError {
    #[error("{what}: {source}")]
    Api {
        what: String,
        #[source]
        source: kube::Error,
    },
    #[error("kubernetes client configuration: {0}")]
    Config(String),
    #[error("unknown tool {0:?}")]
    UnknownTool(String),
    #[error("unknown action {0:?}")]
    UnknownAction(String),
    #[error("{what} needs the incident's {field} (no {field} label)")]
    MissingTarget { what: String, field: &'static str },
    #[error("{0} not found")]
    NotFound(String),
    #[error("invalid argument {name}: {reason}")]
    InvalidArgument { name: &'static str, reason: String },
    /// The action cannot be done on this target as it is now (a bare pod, a limit already at its
    /// cap, a node not fit to uncordon, …).
    #[error("{0}")]
    Refused(String),
    #[error("{what}: unexpected object shape: {source}")]
    Decode {
        what: String,
        #[source]
        source: serde_json::Error,
    },
}

impl KubeError {
    /// The API server's HTTP status when the error is its answer (403 forbidden, 404, 409, 429…).
    pub fn status_code(&self) -> Option<u16> {
        match self {
            KubeError::Api {
                source: kube::Error::Api(status),
                ..
            } => Some(status.code),
            _ => None,
        }
    }

    /// Whether the API server could not be reached or did not answer for itself (connection
    /// refused or cut, a timeout, a gateway's 502/503/504): nothing is known of what the
    /// request did, and asking again later may work. Its own answers (403, 404, 409, 422…)
    /// are not this.
    pub fn unreachable(&self) -> bool {
        match self {
            KubeError::Api { source, .. } => match source {
                kube::Error::HyperError(_) | kube::Error::Service(_) => true,
                kube::Error::Api(status) => matches!(status.code, 502..=504),
                _ => false,
            },
            _ => false,
        }
    }

    pub(crate) fn api(what: impl Into<String>) -> impl FnOnce(kube::Error) -> KubeError {
        let what = what.into();
        move |source| KubeError::Api { what, source }
    }

    pub(crate) fn arg(name: &'static str, reason: impl Into<String>) -> KubeError {
        KubeError::InvalidArgument {
            name,
            reason: reason.into(),
        }
    }
}

/// A refused argument value as an error message repeats it: a string or number cut to 80
/// characters, so a megabyte argument is not echoed back to the model, and an array or object
/// only named, so a deeply nested one is never walked.
pub(crate) fn echo(value: &serde_json::Value) -> String {
    const MAX_CHARS: usize = 80;
    let cut = |text: &str| match text.char_indices().nth(MAX_CHARS) {
        None => text.to_owned(),
        Some((end, _)) => format!("{}…", &text[..end]),
    };
    match value {
        serde_json::Value::Array(_) => "an array".to_owned(),
        serde_json::Value::Object(_) => "an object".to_owned(),
        serde_json::Value::String(text) => format!("{:?}", cut(text)),
        scalar => cut(&scalar.to_string()),
    }
}

/// The HTTP status of a kube error, when the API server answered one.
pub(crate) fn status_of(error: &kube::Error) -> Option<u16> {
    match error {
        kube::Error::Api(status) => Some(status.code),
        _ => None,
    }
}

/// Seconds-precision Kubernetes time → chrono.
pub(crate) fn to_chrono(
    time: &k8s_openapi::apimachinery::pkg::apis::meta::v1::Time,
) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp_millis(time.0.as_millisecond())
}

/// RFC 3339 text of a Kubernetes time, as the API writes it.
pub(crate) fn time_text(time: &k8s_openapi::apimachinery::pkg::apis::meta::v1::Time) -> String {
    to_chrono(time)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| time.0.to_string())
}

#[cfg(test)]
mod tests {
    use super::KubeError;

    fn api(source: kube::Error) -> KubeError {
        KubeError::Api {
            what: "reading".into(),
            source,
        }
    }

    fn status(code: u16) -> kube::Error {
        kube::Error::Api(Box::new(kube::core::Status {
            code,
            ..Default::default()
        }))
    }

    #[test]
    fn unreachable_is_a_server_that_did_not_answer_for_itself() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        for (error, unreachable) in [
            (api(kube::Error::Service(Box::new(refused))), true),
            (api(status(503)), true),
            (api(status(504)), true),
            (api(status(502)), true),
            (api(status(500)), false),
            (api(status(404)), false),
            (api(status(403)), false),
            (api(status(409)), false),
            (KubeError::NotFound("pod a".into()), false),
            (KubeError::Refused("a bare pod".into()), false),
        ] {
            assert_eq!(error.unreachable(), unreachable, "{error}");
        }
    }
}

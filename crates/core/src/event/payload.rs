//! The payload of each event kind as a serde struct, and [`EventPayload`], the payload of any
//! event read by its kind.
//!
//! These structs are a stored boundary: `incident_events.payload` rows written years ago are
//! read back through them. A key, once written, is never renamed or retyped; new keys are
//! added as `Option` (or `#[serde(default)]`), and every struct reads missing keys as their
//! default so older rows still parse. Keys a writer sets only sometimes are skipped when
//! absent; keys a writer has always written (even as `null`) stay written, so the stored JSON is
//! the same as the `json!` writers produced before these types existed. Free-form parts (a
//! tool's output, an action report, an LLM's spend) stay `serde_json::Value`.
//!
//! Several kinds share one shape because one writer picks the kind by outcome: the policy's
//! decision on an action ([`ActionDecided`]: proposed, approval requested, denied, escalated)
//! and the stages of running it ([`ActionStage`]: dry-run, executed, verified).

use super::EventKind;
use crate::action::ActionRequest;
use crate::analysis::{AnalysisSource, Citation, Section};
use crate::runbook::Route;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// A key that is sometimes absent and sometimes written as `null`: the outer `Option` says
/// whether the key is written, the inner one whether it holds a value.
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Serializes a payload struct to the JSON object stored in the row.
pub trait Payload: Serialize {
    /// The stored JSON. The payload types hold only string-keyed maps, so serializing cannot
    /// fail; should it ever, the row records why instead of losing the event.
    fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or_else(|error| {
            let mut object = Map::new();
            object.insert("unserializable".to_owned(), error.to_string().into());
            Value::Object(object)
        })
    }
}

/// The alert that opened an incident (written by the store's alert processing).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Triggered {
    pub alert_id: i64,
    pub delivery_id: i64,
    pub status: String,
    /// Written as `null` when the sender gave no start.
    pub starts_at: Option<DateTime<Utc>>,
    pub source: String,
    pub labels: Value,
    pub annotations: Value,
    /// Written as `null` for a fingerprint's first incident.
    pub previous_incident_id: Option<i64>,
}

/// Another firing of an open incident's alert.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Suppressed {
    pub alert_id: i64,
    pub delivery_id: i64,
    pub status: String,
    pub starts_at: Option<DateTime<Utc>>,
    pub source: String,
}

/// The incident resolved: by its alert (the alert keys) or by a person (`by`, `manual`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Resolved {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Written (possibly `null`) by an alert's resolution, absent from a manual one.
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "present")]
    pub starts_at: Option<Option<DateTime<Utc>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manual: Option<bool>,
    /// How and from where the person was identified (`session from 10.0.0.7`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
}

/// An alert that did not change the incident (an older occurrence, an unmatched resolution).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct StaleAlert {
    pub alert_id: i64,
    pub delivery_id: i64,
    pub status: String,
    pub starts_at: Option<DateTime<Utc>>,
    pub source: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Acknowledged {
    pub by: String,
    /// How and from where the person was identified (`session from 10.0.0.7`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Verdict {
    pub by: String,
    pub verdict: String,
    /// How and from where the person was identified (`session from 10.0.0.7`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
}

/// The runbook an incident was routed to: the [`Route`] as it serializes, with its basis
/// and notes kept as written (a basis a later version no longer knows still reads).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Routed {
    pub runbook: String,
    pub basis: String,
    pub reason: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl From<&Route> for Routed {
    fn from(route: &Route) -> Routed {
        Routed {
            runbook: route.runbook.clone(),
            basis: stored(&route.basis).as_str().unwrap_or_default().to_owned(),
            reason: route.reason.clone(),
            notes: route.notes.clone(),
        }
    }
}

/// A value as its JSON (a route's basis serializes to its snake_case name, so this cannot
/// fail; `null` if it ever did).
fn stored<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or_default()
}

/// Declared but not written yet; read as whatever keys it has.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct StepStarted {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct StepSkipped {
    pub step: String,
    pub tool: String,
    pub because: String,
}

/// A read tool called by a runbook step (`target`) or by the LLM (`call_id`, `source: llm`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ToolCall {
    pub step: String,
    pub tool: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_id: Option<String>,
    pub args: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Milliseconds into the LLM investigation (its events only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_ms: Option<u64>,
}

/// A read tool's answer (`summary`, `data`) or its `error`; the LLM's results also keep the
/// content as the model saw it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ToolResult {
    pub step: String,
    pub tool: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncated: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repeat: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_ms: Option<u64>,
}

/// The policy's decision as recorded on an action event.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PolicyDecision {
    pub outcome: String,
    pub class: String,
    pub rule: String,
    pub reason: String,
}

/// An action and what the policy made of it. Shapes written: at decision time (`step`,
/// `request`, `decision`, `expires_at` — `null` unless approval is asked); after a human
/// approved (`action_id`, `request`, `approved_by`, `decision`); refused after approval
/// (`action_id`, `after_approval`); not run or failed (`action_id`, `reason`); and, for
/// `escalated` only, a runbook step that escalates (`step`, `reason`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ActionDecided {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<ActionRequest>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<PolicyDecision>,
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "present")]
    pub expires_at: Option<Option<DateTime<Utc>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_approval: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

pub type ActionProposed = ActionDecided;
pub type ApprovalRequested = ActionDecided;
pub type ActionDenied = ActionDecided;
/// Also written without an action, by a runbook step that escalates (`step`, `reason`).
pub type Escalated = ActionDecided;

/// One stage of running an action: its `report` (dry-run, execution) or `verification`, or
/// the `error`, or a verification that `timed_out` with the `last` check seen.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ActionStage {
    /// Always written; optional so a row without it is not filed under some action.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action_id: Option<i64>,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timed_out: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "present")]
    pub last: Option<Option<Value>>,
}

pub type ActionDryRun = ActionStage;
pub type ActionExecuted = ActionStage;
pub type ActionVerified = ActionStage;

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Approved {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action_id: Option<i64>,
    pub by: String,
    /// How and from where the person was identified (`session from 10.0.0.7`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
}

/// Rejected by a person (`by`) or expired unanswered (`expired`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Rejected {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expired: Option<bool>,
    /// How and from where the person was identified (`session from 10.0.0.7`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
}

/// A request to the model during an investigation.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LlmRequest {
    pub agent: String,
    pub call: u32,
    pub model: String,
    /// Written as `null` when the request repeats no system prompt.
    pub system: Option<String>,
    pub text: Option<String>,
    pub tools: Vec<String>,
    pub tool_choice: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_ms: Option<u64>,
}

/// The model's answer (`call` … `cost_usd`), a provider `error`, or the investigation
/// `finished` with its `spend`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LlmResponse {
    pub agent: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_reason: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spend: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_ms: Option<u64>,
}

/// The LLM investigation's conclusion.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Investigation {
    pub model: String,
    pub stop: String,
    pub source: Value,
    pub tool_calls: u64,
    pub spend: Value,
    pub answer: Value,
}

/// The end of a response: a runbook's summary, or the job giving up (`outcome: gave_up`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Final {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runbook: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub steps_run: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub steps_skipped: Option<Vec<String>>,
    /// Per action step: `step`, `action`, `outcome`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actions: Option<Vec<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gated_actions: Option<Vec<String>>,
    /// What the LLM investigation concluded, when one ran (`null` when it had no input).
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "present")]
    pub investigation: Option<Option<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recheck_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recheck: Option<i64>,
}

/// An incident's analysis as written: the serialized [`crate::analysis::Analysis`] (`source`,
/// `sections`, `citations`, and `unverified_citations` when there are any), its `markdown` so a
/// reader needs no renderer, and — when a model was configured — where it came from: `model`,
/// `spend`, and `fallback_reason` when the template stood in for the model's answer.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Analysis {
    /// `template` or `llm` ([`AnalysisSource`] as it serializes), kept as written so a source a
    /// later version adds still reads.
    pub source: String,
    pub sections: Vec<Section>,
    pub citations: Vec<Citation>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unverified_citations: Vec<Citation>,
    pub markdown: String,
    /// The model's `provider/model` label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// What the model's attempt cost (the LLM crate's `Spend`, kept as written).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spend: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback_reason: Option<String>,
}

impl From<&crate::analysis::Analysis> for Analysis {
    /// The analysis with its Markdown; the writer adds the provenance.
    fn from(analysis: &crate::analysis::Analysis) -> Analysis {
        Analysis {
            source: stored(&analysis.source)
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            sections: analysis.sections.clone(),
            citations: analysis.citations.clone(),
            unverified_citations: analysis.unverified_citations.clone(),
            markdown: analysis.to_markdown(),
            ..Analysis::default()
        }
    }
}

impl Analysis {
    /// The analysis itself; `None` when the source is not one this version knows (a payload cut
    /// by the size bound has none), so a reader does not show an empty or foreign analysis as
    /// one of its own.
    pub fn analysis(&self) -> Option<crate::analysis::Analysis> {
        let source: AnalysisSource =
            serde_json::from_value(Value::String(self.source.clone())).ok()?;
        Some(crate::analysis::Analysis {
            source,
            sections: self.sections.clone(),
            citations: self.citations.clone(),
            unverified_citations: self.unverified_citations.clone(),
        })
    }
}

/// A message a channel sent about an incident. Shapes written: Slack's announcement
/// (`slack_channel`, `ts`); its reminders (`nag`, `level`, `target` — `null` when no target is
/// configured for that level); its thread posts about an escalation or an approval request
/// (`about_event`, `action_id` — `null` with no pending action); and the broadcaster's
/// announcements on Discord and the webhook (`about_event`, and the webhook's `delivery` id).
/// Readers find what was already told by `about_event` and `channel`, so a restart does not tell
/// it twice.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NotificationSent {
    /// `slack`, `discord` or `webhook`.
    pub channel: String,
    /// `announce`, `reminder`, `escalation` (a reminder that moves to the next target),
    /// `escalated` or `approval`.
    pub kind: String,
    /// The event the message told.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub about_event: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "present")]
    pub action_id: Option<Option<i64>>,
    /// Which reminder this is, counted over all targets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nag: Option<u32>,
    /// The escalation level: an index into the configured targets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<usize>,
    /// Who the reminder mentioned.
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "present")]
    pub target: Option<Option<String>>,
    /// The Slack channel id the announcement went to, and its message's `ts`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slack_channel: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ts: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery: Option<String>,
    /// `true`: the announcement was found in the channel (posted by a process that stopped
    /// before recording it) and adopted, not posted again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub found: Option<bool>,
}

impl Payload for Triggered {}
impl Payload for Suppressed {}
impl Payload for Resolved {}
impl Payload for StaleAlert {}
impl Payload for Acknowledged {}
impl Payload for Verdict {}
/// What the analyzers found around the alert, before routing (written by the responder).
pub type Evidence = crate::evidence::Assessment;

impl Payload for Evidence {}
impl Payload for Routed {}
impl Payload for StepStarted {}
impl Payload for StepSkipped {}
impl Payload for ToolCall {}
impl Payload for ToolResult {}
impl Payload for ActionDecided {}
impl Payload for ActionStage {}
impl Payload for Approved {}
impl Payload for Rejected {}
impl Payload for LlmRequest {}
impl Payload for LlmResponse {}
impl Payload for Investigation {}
impl Payload for Final {}
impl Payload for Analysis {}
impl Payload for NotificationSent {}

/// Reads what fits of a payload that does not parse whole: each key is kept only if it parses
/// alone (the structs read missing keys as defaults), so one retyped key costs that key, not
/// the event.
fn salvage<T: serde::de::DeserializeOwned>(payload: &Value) -> Option<T> {
    let object = payload.as_object()?;
    let kept: Map<String, Value> = object
        .iter()
        .filter(|(key, value)| {
            let mut alone = Map::new();
            alone.insert((*key).clone(), (*value).clone());
            T::deserialize(Value::Object(alone)).is_ok()
        })
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    T::deserialize(Value::Object(kept)).ok()
}

macro_rules! event_payloads {
    ($($variant:ident($ty:ty)),+ $(,)?) => {
        /// The payload of an event, by its kind.
        #[derive(Debug, Clone, PartialEq)]
        pub enum EventPayload {
            $($variant($ty),)+
            /// A payload that does not parse as its kind's even in part (not an object, or
            /// missing a key its kind requires): kept as it is, for readers to show what they
            /// can.
            Unparsed(EventKind, Value),
        }

        impl EventPayload {
            /// Parses `payload` as `kind`'s. Never fails: keys of the wrong type are left out
            /// (read as their defaults), and a shape that does not parse even so is kept as
            /// [`EventPayload::Unparsed`].
            pub fn parse(kind: EventKind, payload: &Value) -> EventPayload {
                match kind {
                    $(EventKind::$variant => match <$ty>::deserialize(payload) {
                        Ok(typed) => EventPayload::$variant(typed),
                        Err(_) => match salvage::<$ty>(payload) {
                            Some(typed) => EventPayload::$variant(typed),
                            None => EventPayload::Unparsed(kind, payload.clone()),
                        },
                    },)+
                }
            }

            pub fn kind(&self) -> EventKind {
                match self {
                    $(EventPayload::$variant(_) => EventKind::$variant,)+
                    EventPayload::Unparsed(kind, _) => *kind,
                }
            }

            /// The JSON stored for this payload.
            pub fn to_json(&self) -> Value {
                match self {
                    $(EventPayload::$variant(typed) => typed.to_json(),)+
                    EventPayload::Unparsed(_, value) => value.clone(),
                }
            }
        }
    };
}

event_payloads! {
    Triggered(Triggered),
    Suppressed(Suppressed),
    Resolved(Resolved),
    StaleAlert(StaleAlert),
    Acknowledged(Acknowledged),
    Verdict(Verdict),
    Evidence(Evidence),
    Routed(Routed),
    StepStarted(StepStarted),
    StepSkipped(StepSkipped),
    ToolCall(ToolCall),
    ToolResult(ToolResult),
    ActionProposed(ActionProposed),
    ActionDryRun(ActionDryRun),
    ActionExecuted(ActionExecuted),
    ActionVerified(ActionVerified),
    ActionDenied(ActionDenied),
    ApprovalRequested(ApprovalRequested),
    Escalated(Escalated),
    Approved(Approved),
    Rejected(Rejected),
    LlmRequest(LlmRequest),
    LlmResponse(LlmResponse),
    Investigation(Investigation),
    Analysis(Analysis),
    NotificationSent(NotificationSent),
    Final(Final),
}

#[cfg(test)]
mod tests;

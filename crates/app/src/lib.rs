//! nightwatch's application: the services `nightwatch serve` runs, as a library, so a test can
//! build any of them in-process with a store, a clock and fakes.
//!
//! - [`http`]: webhook ingest, the JSON API, the UI, health and metrics (axum).
//! - [`worker`]: queue workers that fold stored alerts into incidents.
//! - [`respond`]: the responder — routes each opened incident to a runbook, runs its steps, sends
//!   actions through the policy, runs what humans approved.
//! - [`investigate`]: the model's investigation of what no runbook handles, and its tools.
//! - [`analysis`]: the analyst that writes each incident's analysis.
//! - [`evidence`]: where the analyzers' snapshot of the cluster is read from.
//! - [`slack`]: the Slack notifier (posts, nags, escalates, buttons and `/nightwatch`).
//! - [`broadcast`]: Discord embeds and the signed outgoing webhook.
//! - [`briefing`], [`tuning`]: the briefing and the noise-tuning proposals from the store.
//! - [`replay`]: a case or a stored delivery through the whole pipeline, offline.
//!
//! Invariants kept here:
//! - Built on the adapters (store, kube, llm, sources, notify) and core; never imported by
//!   them. The binary on top only parses the command line, loads the config and wires these.
//! - Nothing here changes the cluster except through `nightwatch_kube::Actuator` with a
//!   `core::policy::Permit`, which only the policy can make.
//! - Errors are `thiserror` types or the adapters' own; `anyhow` stays in the binary.

pub mod access;
pub mod analysis;
pub mod briefing;
pub mod broadcast;
pub mod evidence;
pub mod http;
pub mod investigate;
pub mod metrics;
pub mod replay;
pub mod respond;
pub mod retention;
pub mod slack;
pub mod tuning;
pub mod worker;

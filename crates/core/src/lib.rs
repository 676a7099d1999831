//! The pure core of nightwatch: plain functions over data, no I/O and no wall clock.
//!
//! Everything here is deterministic given its inputs (time is passed in), so it is tested with
//! tables and fixtures.

pub mod access;
pub mod action;
pub mod analysis;
pub mod briefing;
pub mod clock;
pub mod duration;
pub mod escalation;
pub mod event;
pub mod evidence;
pub mod fingerprint;
pub mod incident;
pub mod live;
pub mod model;
pub mod parse;
pub mod policy;
pub mod retry;
pub mod runbook;
pub mod tool;
pub mod tuning;
pub mod verdict;

pub use clock::{Clock, ManualClock, SystemClock};
pub use model::{Alert, AlertStatus, Delivery, Severity, Source};

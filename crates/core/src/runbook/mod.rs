//! Runbooks: Markdown files whose YAML frontmatter is a workflow of tool steps gated by CEL
//! expressions. Everything here is pure: parsing and validating runbook text,
//! evaluating gates over earlier step outputs, and routing an alert to a runbook.
//! Reading files, running tools and acting on the cluster happen at the edges.

mod builtin;
mod format;
mod gate;
mod library;
mod route;
mod tools;

pub use builtin::BUILTIN_SOURCES;
pub use format::{Runbook, RunbookError, RunbookMatch, Step, parse_runbook};
pub use gate::{Gate, GateContext, GateError};
pub use library::{Library, LoadedRunbook, RunbookOrigin};
pub use route::{
    Route, RouteBasis, RouteNote, route_evidence, route_static, route_with_evidence,
    routed_or_unknown,
};
pub use tools::{ENGINE_TOOLS, READ_TOOLS, ToolKind, tool_kind};

/// The runbook every alert falls back to when nothing else matches: an LLM investigation.
pub const UNKNOWN_RUNBOOK: &str = "RB_UNKNOWN";

#[cfg(test)]
mod tests;

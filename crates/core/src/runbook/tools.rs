//! The tool names a runbook step may use, and what kind each is. Read tools run freely; actions
//! go through the policy; engine tools are handled by the runbook engine itself.

use crate::policy::{FORBIDDEN_ACTIONS, KNOWN_ACTIONS};

/// Kubernetes read tools (no side effects).
pub const READ_TOOLS: &[&str] = &[
    "get_pod_events",
    "check_imagepullbackoff",
    "check_oom",
    "get_pod_status",
    "get_pod_logs",
    "get_owner_chain",
    "get_node_ready",
    "get_node_conditions",
];

/// Tools the engine answers itself: `get_runbook` (a runbook's text) and `escalate` (hand the
/// incident to a human with a reason).
pub const ENGINE_TOOLS: &[&str] = &["get_runbook", "escalate"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolKind {
    Read,
    Engine,
    /// A change to the cluster; the policy decides. Forbidden action names count as actions
    /// too so a runbook that names one loads and is then refused by the policy, on the record.
    Action,
}

pub fn tool_kind(name: &str) -> Option<ToolKind> {
    if READ_TOOLS.contains(&name) {
        Some(ToolKind::Read)
    } else if ENGINE_TOOLS.contains(&name) {
        Some(ToolKind::Engine)
    } else if KNOWN_ACTIONS.contains(&name) || FORBIDDEN_ACTIONS.contains(&name) {
        Some(ToolKind::Action)
    } else {
        None
    }
}

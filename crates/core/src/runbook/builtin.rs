//! The built-in runbooks, embedded in the binary from the repository's `runbooks/` folder.

/// (file name, text) of every built-in runbook.
pub const BUILTIN_SOURCES: &[(&str, &str)] = &[
    (
        "RB_IMAGEPULL.md",
        include_str!("../../../../runbooks/RB_IMAGEPULL.md"),
    ),
    ("RB_OOM.md", include_str!("../../../../runbooks/RB_OOM.md")),
    (
        "RB_CONTAINERCREATING.md",
        include_str!("../../../../runbooks/RB_CONTAINERCREATING.md"),
    ),
    (
        "RB_CRASHLOOP.md",
        include_str!("../../../../runbooks/RB_CRASHLOOP.md"),
    ),
    (
        "RB_NODE_UNSCHEDULABLE.md",
        include_str!("../../../../runbooks/RB_NODE_UNSCHEDULABLE.md"),
    ),
    (
        "RB_NODE_NOTREADY.md",
        include_str!("../../../../runbooks/RB_NODE_NOTREADY.md"),
    ),
    (
        "RB_UNKNOWN.md",
        include_str!("../../../../runbooks/RB_UNKNOWN.md"),
    ),
];

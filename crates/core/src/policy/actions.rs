//! Action names the policy knows: the known actions, the names that are always forbidden, the
//! aliases, and how a name is normalised before it is compared with anything.

use crate::action::Action;

/// Actions nightwatch can carry out ([`Action`]'s names). Anything else is denied
/// (`unknown_action`).
pub const KNOWN_ACTIONS: &[&str] = Action::NAMES;

/// Names that are recognised but can never be allowed. They are forbidden whether or not the
/// config's `forbidden` list repeats them: leaving one out of the config does not unlock it.
pub const FORBIDDEN_ACTIONS: &[&str] = &[
    "delete_namespace",
    "delete_pvc",
    "delete_secret",
    "delete_argocd_application",
    "scale_to_zero",
    "database_operation",
    "git_push",
];

/// The canonical spelling of an action name: trimmed, lowercase, `-` written as `_`. Every name
/// (request or config) goes through this before it is compared, so `" Delete-Namespace "` is
/// caught as `delete_namespace`.
pub fn normalize_action(name: &str) -> String {
    name.trim().to_lowercase().replace('-', "_")
}

/// The action whose rules govern `canonical` (itself unless it is an alias, or unknown).
pub fn governing_action(canonical: &str) -> &str {
    Action::parse(canonical).map_or(canonical, |action| action.governing().as_str())
}

/// Whether two names (in any spelling) are governed by the same rules.
pub(crate) fn same_governed(a: &str, b: &str) -> bool {
    let (a, b) = (normalize_action(a), normalize_action(b));
    governing_action(&a) == governing_action(&b)
}

/// Whether `list` (names in any spelling) covers the action `name`, aliases included.
pub(crate) fn list_covers(list: &[String], name: &str) -> bool {
    list.iter().any(|entry| same_governed(entry, name))
}

pub(crate) fn is_known(canonical: &str) -> bool {
    Action::parse(canonical).is_some()
}

/// Known, or one of the always-forbidden names: what a config may mention.
pub(crate) fn is_recognised(canonical: &str) -> bool {
    is_known(canonical) || FORBIDDEN_ACTIONS.contains(&canonical)
}

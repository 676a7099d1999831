//! Validation of a policy config: what `PolicyConfig::validate` refuses, each with the path of
//! the offending entry (`from_yaml` turns the path into a line and column).

use super::actions::{
    FORBIDDEN_ACTIONS, KNOWN_ACTIONS, is_known, is_recognised, list_covers, normalize_action,
};
use super::config::{ClassRules, DEFAULT_CLASS, EnvironmentRule, Limits, PolicyConfig};
use super::error::{Invalid, Seg};

impl PolicyConfig {
    pub(crate) fn check(&self) -> Result<(), Invalid> {
        for (i, rule) in self.environments.iter().enumerate() {
            rule.check(self, &[key("environments"), Seg::Index(i)])?;
        }
        check_action_list(&self.forbidden, &[key("forbidden")], |_| None)?;
        for (i, class) in self.always_escalate.iter().enumerate() {
            if class.trim().is_empty() {
                return Err(Invalid::new(
                    vec![key("always_escalate"), Seg::Index(i)],
                    "empty incident class",
                ));
            }
        }
        for (name, rules) in &self.classes {
            self.check_class(name, rules)?;
        }
        self.limits.check()?;
        check_globs(
            &self.known_noise.namespaces,
            &[key("known_noise"), key("namespaces")],
        )?;
        if self.approval_ttl.is_zero() {
            return Err(Invalid::new(
                vec![key("approval_ttl")],
                "must be longer than zero",
            ));
        }
        Ok(())
    }

    fn check_class(&self, name: &str, rules: &ClassRules) -> Result<(), Invalid> {
        if name.trim().is_empty() {
            return Err(Invalid::new(vec![key("classes")], "empty class name"));
        }
        for (list_name, list) in [("auto", &rules.auto), ("approval", &rules.approval)] {
            let path = [key("classes"), key(name), key(list_name)];
            check_action_list(list, &path, |canonical| {
                if self.is_forbidden(canonical) {
                    Some(format!(
                        "{canonical} is forbidden, and a forbidden action can never be allowed; \
                         remove it from this list"
                    ))
                } else if !is_known(canonical) {
                    Some(format!(
                        "{canonical} is not an action nightwatch can carry out"
                    ))
                } else if list_name == "approval" && list_covers(&rules.auto, canonical) {
                    Some(format!(
                        "{canonical} is in both the auto and the approval list of class {name}; \
                         keep it in one"
                    ))
                } else {
                    None
                }
            })?;
        }
        Ok(())
    }
}

impl EnvironmentRule {
    fn check(&self, config: &PolicyConfig, path: &[Seg]) -> Result<(), Invalid> {
        let at = |field: &str| [path, &[key(field)]].concat();
        if self.class.trim().is_empty() {
            return Err(Invalid::new(at("class"), "empty class name"));
        }
        if self.class != DEFAULT_CLASS && !config.classes.contains_key(&self.class) {
            let defined: Vec<&str> = config.classes.keys().map(String::as_str).collect();
            return Err(Invalid::new(
                at("class"),
                format!(
                    "class {} is not defined under `classes` (defined: {}; `{DEFAULT_CLASS}` is \
                     built in)",
                    self.class,
                    defined.join(", ")
                ),
            ));
        }
        if self.namespaces.is_empty()
            && self.namespace_labels.is_empty()
            && self.nodes.is_empty()
            && self.node_labels.is_empty()
        {
            return Err(Invalid::new(
                path.to_vec(),
                "rule has no selector (namespaces, namespace_labels, nodes or node_labels), so \
                 it can never match",
            ));
        }
        check_globs(&self.namespaces, &at("namespaces"))?;
        check_globs(&self.nodes, &at("nodes"))?;
        for (field, labels) in [
            ("namespace_labels", &self.namespace_labels),
            ("node_labels", &self.node_labels),
        ] {
            if labels.keys().any(|k| k.trim().is_empty()) {
                return Err(Invalid::new(at(field), "empty label name"));
            }
        }
        Ok(())
    }
}

impl Limits {
    fn check(&self) -> Result<(), Invalid> {
        let zero = |path: Vec<Seg>| Err(Invalid::new(path, "must be more than zero"));
        if self.per_target_per_hour == 0 {
            return zero(vec![key("limits"), key("per_target_per_hour")]);
        }
        if self.global_per_hour == 0 {
            return zero(vec![key("limits"), key("global_per_hour")]);
        }
        if self.breaker.same_action_same_target == 0 {
            return zero(vec![
                key("limits"),
                key("breaker"),
                key("same_action_same_target"),
            ]);
        }
        if self.breaker.window.is_zero() {
            return zero(vec![key("limits"), key("breaker"), key("window")]);
        }
        Ok(())
    }
}

/// Every name must be recognised; `extra` adds the list's own refusals.
fn check_action_list(
    list: &[String],
    path: &[Seg],
    extra: impl Fn(&str) -> Option<String>,
) -> Result<(), Invalid> {
    for (i, name) in list.iter().enumerate() {
        let at = || [path, &[Seg::Index(i)]].concat();
        let canonical = normalize_action(name);
        if !is_recognised(&canonical) {
            return Err(Invalid::new(
                at(),
                format!(
                    "unknown action {name:?} (known: {}; always forbidden: {})",
                    KNOWN_ACTIONS.join(", "),
                    FORBIDDEN_ACTIONS.join(", ")
                ),
            ));
        }
        if let Some(message) = extra(&canonical) {
            return Err(Invalid::new(at(), message));
        }
    }
    Ok(())
}

fn check_globs(globs: &[String], path: &[Seg]) -> Result<(), Invalid> {
    match globs.iter().position(|glob| glob.trim().is_empty()) {
        Some(i) => Err(Invalid::new(
            [path, &[Seg::Index(i)]].concat(),
            "empty glob",
        )),
        None => Ok(()),
    }
}

fn key(name: &str) -> Seg {
    Seg::Key(name.to_owned())
}

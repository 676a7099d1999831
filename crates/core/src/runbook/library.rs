//! The runbook library: the built-ins embedded in the binary, plus a user directory that adds
//! runbooks or overrides built-ins by id.

use super::UNKNOWN_RUNBOOK;
use super::builtin::BUILTIN_SOURCES;
use super::format::{Runbook, RunbookError, parse_runbook};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "file", rename_all = "snake_case")]
pub enum RunbookOrigin {
    Builtin,
    File(String),
}

#[derive(Debug, Clone, Serialize)]
pub struct LoadedRunbook {
    pub runbook: Runbook,
    pub origin: RunbookOrigin,
    /// A user file that replaced the built-in of the same id.
    pub overrides_builtin: bool,
}

#[derive(Debug, Clone)]
pub struct Library {
    runbooks: BTreeMap<String, LoadedRunbook>,
}

impl Library {
    /// Only the built-ins.
    pub fn builtin() -> Result<Self, Vec<RunbookError>> {
        Self::load(&[])
    }

    /// The built-ins, then `user_files` (file name, text) on top. Every problem in every file is
    /// reported, not only the first.
    pub fn load(user_files: &[(String, String)]) -> Result<Self, Vec<RunbookError>> {
        let mut errors = Vec::new();
        let mut runbooks = BTreeMap::new();
        for (file, text) in BUILTIN_SOURCES {
            match parse_runbook(&format!("builtin:{file}"), text) {
                Ok(runbook) => {
                    runbooks.insert(
                        runbook.id.clone(),
                        LoadedRunbook {
                            runbook,
                            origin: RunbookOrigin::Builtin,
                            overrides_builtin: false,
                        },
                    );
                }
                Err(mut problems) => errors.append(&mut problems),
            }
        }
        let mut user_ids: BTreeMap<String, String> = BTreeMap::new();
        for (file, text) in user_files {
            let runbook = match parse_runbook(file, text) {
                Ok(runbook) => runbook,
                Err(mut problems) => {
                    errors.append(&mut problems);
                    continue;
                }
            };
            if let Some(first) = user_ids.get(&runbook.id) {
                errors.push(RunbookError {
                    file: file.clone(),
                    line: None,
                    message: format!("runbook id {} is also defined in {first}", runbook.id),
                });
                continue;
            }
            user_ids.insert(runbook.id.clone(), file.clone());
            let overrides_builtin = runbooks.contains_key(&runbook.id);
            runbooks.insert(
                runbook.id.clone(),
                LoadedRunbook {
                    runbook,
                    origin: RunbookOrigin::File(file.clone()),
                    overrides_builtin,
                },
            );
        }
        let library = Self { runbooks };
        errors.extend(library.conflicts());
        if !library.runbooks.contains_key(UNKNOWN_RUNBOOK) {
            errors.push(RunbookError {
                file: "library".to_owned(),
                line: None,
                message: format!(
                    "there is no {UNKNOWN_RUNBOOK}, the fallback every unmatched alert needs"
                ),
            });
        }
        if errors.is_empty() {
            Ok(library)
        } else {
            Err(errors)
        }
    }

    /// Two user runbooks claiming the same alertname or reason would make routing depend on file
    /// order; refuse that. (A user runbook may take over a built-in's names: the user wins.)
    fn conflicts(&self) -> Vec<RunbookError> {
        let mut errors = Vec::new();
        let mut claimed: BTreeMap<(&str, &str), &LoadedRunbook> = BTreeMap::new();
        for loaded in self.runbooks.values() {
            let matches = &loaded.runbook.matches;
            let names = matches
                .alertnames
                .iter()
                .map(|name| ("alertname", name.as_str()))
                .chain(
                    matches
                        .reasons
                        .iter()
                        .map(|reason| ("reason", reason.as_str())),
                )
                .chain(
                    matches
                        .runbook_id
                        .iter()
                        .map(|id| ("runbook_id", id.as_str())),
                );
            for key in names {
                match claimed.get(&key) {
                    Some(other)
                        if other.origin != RunbookOrigin::Builtin
                            && loaded.origin != RunbookOrigin::Builtin =>
                    {
                        let RunbookOrigin::File(file) = &loaded.origin else {
                            continue;
                        };
                        errors.push(RunbookError {
                            file: file.clone(),
                            line: None,
                            message: format!(
                                "{} {:?} is claimed by both {} and {}",
                                key.0, key.1, other.runbook.id, loaded.runbook.id
                            ),
                        });
                    }
                    Some(other) if other.origin != RunbookOrigin::Builtin => {}
                    _ => {
                        claimed.insert(key, loaded);
                    }
                }
            }
        }
        errors
    }

    pub fn get(&self, id: &str) -> Option<&LoadedRunbook> {
        self.runbooks.get(id)
    }

    pub fn iter(&self) -> impl Iterator<Item = &LoadedRunbook> {
        self.runbooks.values()
    }

    /// The runbook a `runbook_id` label value names: its id, or its `match.runbook_id`.
    pub fn by_runbook_id(&self, value: &str) -> Option<&LoadedRunbook> {
        self.get(value).or_else(|| {
            self.prefer_user(|runbook| runbook.matches.runbook_id.as_deref() == Some(value))
        })
    }

    pub fn by_alertname(&self, alertname: &str) -> Option<&LoadedRunbook> {
        self.prefer_user(|runbook| {
            runbook
                .matches
                .alertnames
                .iter()
                .any(|name| name == alertname)
        })
    }

    pub fn by_reason(&self, reason: &str) -> Option<&LoadedRunbook> {
        self.prefer_user(|runbook| runbook.matches.reasons.iter().any(|known| known == reason))
    }

    fn prefer_user(&self, wanted: impl Fn(&Runbook) -> bool) -> Option<&LoadedRunbook> {
        let mut found = self
            .runbooks
            .values()
            .filter(|loaded| wanted(&loaded.runbook));
        let first = found.next()?;
        if first.origin == RunbookOrigin::Builtin {
            Some(
                found
                    .find(|loaded| loaded.origin != RunbookOrigin::Builtin)
                    .unwrap_or(first),
            )
        } else {
            Some(first)
        }
    }
}

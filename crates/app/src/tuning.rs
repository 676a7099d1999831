//! Noise-tuning proposals (core::tuning) from the store's last 30 days and the configured rule
//! files, and creating a proposed silence through Alertmanager's API once a human approves it.

use chrono::{DateTime, Duration, Utc};
use nightwatch_core::tuning::{Proposal, RuleFile, TuningIncident, proposals};
use nightwatch_store::{ActionState, Store, StoreError};
use serde::Deserialize;
use std::collections::HashSet;
use std::path::PathBuf;

/// `[tuning]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TuningConfig {
    /// Prometheus rule files the diffs are written against (as deployed).
    pub rule_files: Vec<PathBuf>,
}

pub const WINDOW_DAYS: i64 = 30;

pub async fn gather(
    store: &Store,
    config: &TuningConfig,
    now: DateTime<Utc>,
) -> Result<Vec<Proposal>, StoreError> {
    let since = now - Duration::days(WINDOW_DAYS);
    let rows = crate::briefing::incidents_opened_since(store, since).await?;
    let mut acted: HashSet<i64> = HashSet::new();
    for state in [
        ActionState::Verified,
        ActionState::Failed,
        ActionState::Running,
    ] {
        for action in store.actions(Some(state), None, 5000).await? {
            acted.insert(action.incident_id);
        }
    }
    let incidents: Vec<TuningIncident> = rows
        .into_iter()
        .map(|i| TuningIncident {
            acted_on: acted.contains(&i.id),
            alertname: i.alertname,
            namespace: i.namespace,
            verdict: i.verdict,
            opened_at: i.opened_at,
            resolved_at: i.resolved_at,
        })
        .collect();
    let rules: Vec<RuleFile> = config
        .rule_files
        .iter()
        .filter_map(|path| match std::fs::read_to_string(path) {
            Ok(text) => Some(RuleFile {
                path: path.display().to_string(),
                text,
            }),
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "rule file unreadable; proposals fall back to silences");
                None
            }
        })
        .collect();
    Ok(proposals(&incidents, &rules))
}

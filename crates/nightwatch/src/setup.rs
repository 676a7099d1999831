//! Loading what the responder needs from disk: the runbook library (built-ins plus a user
//! directory) and the policy file. Refuses to start on any error, naming file and line.

use anyhow::{Context, bail};
use nightwatch_core::policy::{Mode, PolicyConfig};
use nightwatch_core::runbook::Library;
use std::path::Path;

/// The built-ins plus every `*.md` in `dir`.
pub fn load_library(dir: Option<&Path>) -> anyhow::Result<Library> {
    let mut files = Vec::new();
    if let Some(dir) = dir {
        let entries = std::fs::read_dir(dir)
            .with_context(|| format!("reading the runbooks directory {}", dir.display()))?;
        let mut paths: Vec<_> = entries
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
            .collect();
        paths.sort();
        for path in paths {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading runbook {}", path.display()))?;
            files.push((path.display().to_string(), text));
        }
    }
    Library::load(&files).map_err(|errors| {
        let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
        anyhow::anyhow!("{} runbook error(s):\n  {}", list.len(), list.join("\n  "))
    })
}

/// The policy file (or the built-in default), with `mode` from the command line on top.
pub fn load_policy(file: Option<&Path>, mode: Option<&str>) -> anyhow::Result<PolicyConfig> {
    let mut policy = match file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading the policy file {}", path.display()))?;
            PolicyConfig::from_yaml(&text)
                .with_context(|| format!("invalid policy file {}", path.display()))?
        }
        None => PolicyConfig::default(),
    };
    match mode {
        None => {}
        Some("recommend") => policy.mode = Mode::Recommend,
        Some("auto") => policy.mode = Mode::Auto,
        Some(other) => bail!("mode {other:?}: use recommend or auto"),
    }
    Ok(policy)
}

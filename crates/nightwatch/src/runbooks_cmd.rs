//! `nightwatch runbooks …`: list, show, validate and route, from the command line.

use crate::cli::RunbooksCommand;
use crate::setup::load_library;
use anyhow::{Context, bail};
use nightwatch_core::model::Source;
use nightwatch_core::runbook::{Library, RunbookOrigin, route_static, routed_or_unknown};
use nightwatch_core::{Clock, SystemClock};
use std::path::Path;

pub fn run(dir: Option<&Path>, command: RunbooksCommand) -> anyhow::Result<()> {
    match command {
        RunbooksCommand::List { json } => list(&load_library(dir)?, json),
        RunbooksCommand::Show { id, json } => show(&load_library(dir)?, &id, json),
        RunbooksCommand::Validate { dir } => validate(&dir),
        RunbooksCommand::Route { file, source, json } => {
            route(&load_library(dir)?, &file, source.as_deref(), json)
        }
    }
}

fn origin(origin: &RunbookOrigin) -> String {
    match origin {
        RunbookOrigin::Builtin => "builtin".to_owned(),
        RunbookOrigin::File(file) => file.clone(),
    }
}

fn list(library: &Library, json: bool) -> anyhow::Result<()> {
    if json {
        let rows: Vec<_> = library
            .iter()
            .map(|loaded| {
                serde_json::json!({
                    "id": loaded.runbook.id,
                    "title": loaded.runbook.title,
                    "origin": origin(&loaded.origin),
                    "overrides_builtin": loaded.overrides_builtin,
                    "match": loaded.runbook.matches,
                    "steps": loaded.runbook.steps.len(),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    println!("{:<24} {:>5}  {:<28} TITLE", "ID", "STEPS", "FROM");
    for loaded in library.iter() {
        let from = if loaded.overrides_builtin {
            format!("{} (overrides builtin)", origin(&loaded.origin))
        } else {
            origin(&loaded.origin)
        };
        println!(
            "{:<24} {:>5}  {:<28} {}",
            loaded.runbook.id,
            loaded.runbook.steps.len(),
            from,
            loaded.runbook.title
        );
    }
    Ok(())
}

fn show(library: &Library, id: &str, json: bool) -> anyhow::Result<()> {
    let Some(loaded) = library.get(id) else {
        bail!("no runbook {id:?} (see `nightwatch runbooks list`)");
    };
    let runbook = &loaded.runbook;
    if json {
        let mut value = serde_json::to_value(runbook)?;
        value["body"] = serde_json::json!(runbook.body);
        value["origin"] = serde_json::json!(origin(&loaded.origin));
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    println!("{} — {}", runbook.id, runbook.title);
    println!("from: {}", origin(&loaded.origin));
    let matches = &runbook.matches;
    if let Some(label) = &matches.runbook_id {
        println!("match runbook_id: {label}");
    }
    if !matches.alertnames.is_empty() {
        println!("match alertnames: {}", matches.alertnames.join(", "));
    }
    if !matches.reasons.is_empty() {
        println!("match reasons: {}", matches.reasons.join(", "));
    }
    if !runbook.escalation_classes.is_empty() {
        println!(
            "escalation classes: {}",
            runbook.escalation_classes.join(", ")
        );
    }
    println!("steps:");
    for (index, step) in runbook.steps.iter().enumerate() {
        let kind = match step.kind() {
            Some(nightwatch_core::runbook::ToolKind::Action) => "action",
            Some(nightwatch_core::runbook::ToolKind::Read) => "read",
            Some(nightwatch_core::runbook::ToolKind::Engine) => "engine",
            None => "?",
        };
        println!("  {}. {} — {} ({kind})", index + 1, step.id, step.tool);
        for gate in step.gates() {
            println!("       when {gate}");
        }
        if !step.args.is_empty() {
            println!(
                "       args {}",
                serde_json::Value::Object(step.args.clone())
            );
        }
    }
    println!("\n{}", runbook.body);
    Ok(())
}

fn validate(dir: &Path) -> anyhow::Result<()> {
    let library = load_library(Some(dir))?;
    let mine: Vec<_> = library
        .iter()
        .filter(|loaded| loaded.origin != RunbookOrigin::Builtin)
        .collect();
    for loaded in &mine {
        let forbidden: Vec<&str> = loaded
            .runbook
            .steps
            .iter()
            .filter(|step| nightwatch_core::policy::FORBIDDEN_ACTIONS.contains(&step.tool.as_str()))
            .map(|step| step.id.as_str())
            .collect();
        if !forbidden.is_empty() {
            println!(
                "warning: {}: steps {} name forbidden actions; the policy will refuse them",
                origin(&loaded.origin),
                forbidden.join(", ")
            );
        }
    }
    println!("{} runbook(s) in {} are valid", mine.len(), dir.display());
    Ok(())
}

fn route(library: &Library, file: &Path, source: Option<&str>, json: bool) -> anyhow::Result<()> {
    let body = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let source = match source {
        Some(name) => name
            .parse::<Source>()
            .map_err(|_| anyhow::anyhow!("source {name:?}: use alertmanager, grafana or signoz"))?,
        None => guess_source(&body),
    };
    let delivery = nightwatch_core::parse::parse(source, &body, SystemClock.now())
        .map_err(|error| anyhow::anyhow!("{}: {error}", file.display()))?;
    let mut rows = Vec::new();
    for alert in &delivery.alerts {
        // Only labels and alertname: the live state needs a cluster (`serve` looks at it).
        let route = routed_or_unknown(route_static(library, &alert.labels));
        rows.push(serde_json::json!({
            "alertname": alert.alertname(),
            "status": alert.status.as_str(),
            "runbook": route.runbook,
            "basis": route.basis,
            "reason": route.reason,
            "notes": route.notes,
        }));
        if !json {
            println!(
                "{:<32} {:<22} {}",
                alert.alertname(),
                route.runbook,
                route.reason
            );
        }
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    }
    Ok(())
}

/// Grafana's payloads carry `orgId`/`title`/`state`; Alertmanager's (and SigNoz's) do not.
fn guess_source(body: &[u8]) -> Source {
    let value: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    if value.get("orgId").is_some() || value.get("state").is_some() && value.get("title").is_some()
    {
        Source::Grafana
    } else {
        Source::Alertmanager
    }
}

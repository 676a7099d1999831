//! `nightwatch incidents list|show`: the same data as the API, in a terminal.

use crate::cli::{IncidentsCommand, ListArgs};
use anyhow::{Context, bail};
use nightwatch_store::{IncidentFilter, Store};

pub async fn run(store: &Store, command: IncidentsCommand) -> anyhow::Result<()> {
    match command {
        IncidentsCommand::List(args) => list(store, args).await,
        IncidentsCommand::Show { id, json } => show(store, id, json).await,
    }
}

async fn list(store: &Store, args: ListArgs) -> anyhow::Result<()> {
    let state = args
        .state
        .as_deref()
        .map(|s| {
            s.parse().map_err(|_| {
                anyhow::anyhow!(
                    "--state: expected triggered, acknowledged or resolved, found {s:?}"
                )
            })
        })
        .transpose()?;
    let filter = IncidentFilter {
        state,
        alertname: args.alertname,
        namespace: args.namespace,
        node: args.node,
        limit: Some(args.limit),
        ..Default::default()
    };
    let page = store.list_incidents(&filter).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&page)?);
        return Ok(());
    }
    println!(
        "{:>6}  {:<12}  {:<8}  {:<28}  {:<40}  OPENED",
        "ID", "STATE", "SEVERITY", "ALERT", "WHERE"
    );
    for i in &page.incidents {
        let place = [&i.namespace, &i.pod, &i.container, &i.node]
            .into_iter()
            .filter_map(|p| p.as_deref())
            .collect::<Vec<_>>()
            .join("/");
        println!(
            "{:>6}  {:<12}  {:<8}  {:<28}  {:<40}  {}",
            i.id,
            i.state.as_str(),
            i.severity.as_str(),
            i.alertname,
            place,
            i.opened_at.to_rfc3339()
        );
    }
    Ok(())
}

async fn show(store: &Store, id: i64, json: bool) -> anyhow::Result<()> {
    let Some(detail) = store
        .incident_detail(id)
        .await
        .context("reading the incident")?
    else {
        bail!("incident {id} not found");
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&detail)?);
        return Ok(());
    }
    let i = &detail.incident;
    println!(
        "#{} {} [{}] {}",
        i.id,
        i.alertname,
        i.state.as_str(),
        i.severity.as_str()
    );
    if let Some(summary) = &i.summary {
        println!("{summary}");
    }
    println!(
        "fingerprint {}  opened {}  alerts {}",
        i.fingerprint,
        i.opened_at.to_rfc3339(),
        i.alert_count
    );
    if let Some(verdict) = i.verdict {
        println!("verdict {}", verdict.as_str());
    }
    println!("\nlabels:");
    for (k, v) in &i.labels {
        println!("  {k}={v}");
    }
    println!("\ntimeline:");
    for e in &detail.events {
        println!(
            "  {}  {:<14} {:<14} {}",
            e.at.to_rfc3339(),
            e.kind.as_str(),
            e.actor,
            e.payload
        );
    }
    Ok(())
}

//! The crate graph stays one-way, read from `cargo metadata`:
//! core at the bottom (no workspace dependency, no I/O); the adapters (store, kube, llm,
//! sources, notify) beside each other on core, never importing one another; the application
//! (`nightwatch-app`) on core and the adapters; the binary on top. Test support (testkit) is
//! only ever a dev-dependency; the lab's kubelet simulator stands apart.
//!
//! A new workspace crate fails this test until it is given a place in [`layer_of`].
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use std::process::Command;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Layer {
    Core,
    Adapter,
    App,
    Binary,
    /// Helps tests; never a normal dependency of anything else.
    TestSupport,
    /// Lab tools (the kubelet simulator): depend on what they like, nothing depends on them.
    LabTool,
}

fn layer_of(package: &str) -> Option<Layer> {
    Some(match package {
        "nightwatch-core" => Layer::Core,
        "nightwatch-store" | "nightwatch-kube" | "nightwatch-llm" | "nightwatch-sources"
        | "nightwatch-notify" => Layer::Adapter,
        "nightwatch-app" => Layer::App,
        "nightwatch" => Layer::Binary,
        "nightwatch-testkit" | "nightwatch-fixtures" => Layer::TestSupport,
        "kubelet-sim" => Layer::LabTool,
        _ => return None,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Normal,
    Dev,
    Build,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Edge {
    from: String,
    to: String,
    kind: Kind,
}

fn edge(from: &str, to: &str, kind: Kind) -> Edge {
    Edge {
        from: from.to_owned(),
        to: to.to_owned(),
        kind,
    }
}

/// Why `edge` breaks the layering, or None when it is allowed.
fn violation(edge: &Edge) -> Option<String> {
    let Edge { from, to, kind } = edge;
    let (Some(source), Some(target)) = (layer_of(from), layer_of(to)) else {
        return Some(format!(
            "{from} → {to}: a workspace crate without a layer (give it one in layer_of)"
        ));
    };
    if from == to {
        // A crate's tests using its own optional features (the `fake` servers).
        return None;
    }
    if target == Layer::LabTool {
        return Some(format!("{from} → {to}: nothing depends on a lab tool"));
    }
    if *kind == Kind::Dev {
        let allowed = target == Layer::TestSupport
            || source == Layer::TestSupport
            || source == Layer::LabTool
            || (target < source && !(source == Layer::Adapter && target == Layer::Adapter));
        return (!allowed).then(|| {
            format!("{from} → {to} (dev): tests may use test support and lower layers only")
        });
    }
    let allowed = match source {
        Layer::Core => false,
        Layer::Adapter => target == Layer::Core,
        Layer::App => matches!(target, Layer::Core | Layer::Adapter),
        Layer::Binary => matches!(target, Layer::Core | Layer::Adapter | Layer::App),
        Layer::TestSupport => matches!(target, Layer::Core | Layer::Adapter | Layer::TestSupport),
        Layer::LabTool => target != Layer::TestSupport,
    };
    (!allowed).then(|| format!("{from} → {to} ({kind:?}): {source:?} may not depend on {target:?}"))
}

/// The dependency edges between workspace crates, as `cargo metadata` declares them.
fn workspace_edges(metadata: &Value) -> Vec<Edge> {
    let packages = metadata["packages"].as_array().expect("packages");
    let names: Vec<&str> = packages
        .iter()
        .map(|p| p["name"].as_str().expect("name"))
        .collect();
    let mut edges = Vec::new();
    for package in packages {
        let from = package["name"].as_str().expect("name");
        for dependency in package["dependencies"].as_array().expect("dependencies") {
            let to = dependency["name"].as_str().expect("dependency name");
            if !names.contains(&to) {
                continue;
            }
            let kind = match dependency["kind"].as_str() {
                None => Kind::Normal,
                Some("dev") => Kind::Dev,
                Some("build") => Kind::Build,
                Some(other) => panic!("unknown dependency kind {other}"),
            };
            edges.push(edge(from, to, kind));
        }
    }
    edges
}

fn violations(edges: &[Edge]) -> Vec<String> {
    edges.iter().filter_map(violation).collect()
}

#[test]
fn the_workspace_crate_graph_is_one_way() {
    let output = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("running cargo metadata");
    assert!(
        output.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).unwrap();
    let edges = workspace_edges(&metadata);
    // The graph is really read: the binary's edge to the application is there.
    assert!(
        edges.contains(&edge("nightwatch", "nightwatch-app", Kind::Normal)),
        "{edges:?}"
    );
    assert_eq!(violations(&edges), Vec::<String>::new());
}

#[test]
fn forbidden_edges_are_refused() {
    let forbidden = [
        edge("nightwatch-core", "nightwatch-store", Kind::Normal),
        edge("nightwatch-store", "nightwatch-kube", Kind::Normal),
        edge("nightwatch-llm", "nightwatch-notify", Kind::Normal),
        edge("nightwatch-app", "nightwatch", Kind::Normal),
        edge("nightwatch-kube", "nightwatch-app", Kind::Normal),
        edge("nightwatch-kube", "nightwatch-testkit", Kind::Normal),
        edge("nightwatch-store", "nightwatch-sources", Kind::Dev),
        edge("nightwatch", "kubelet-sim", Kind::Dev),
        edge("nightwatch-core", "nightwatch-new-thing", Kind::Normal),
    ];
    for forbidden in &forbidden {
        assert!(violation(forbidden).is_some(), "{forbidden:?} was allowed");
    }
    // Fed in among the real edges, one bad edge fails the check.
    let mut edges = vec![
        edge("nightwatch", "nightwatch-app", Kind::Normal),
        edge("nightwatch-app", "nightwatch-store", Kind::Normal),
    ];
    edges.push(edge("nightwatch-store", "nightwatch-kube", Kind::Normal));
    assert_eq!(violations(&edges).len(), 1);
    let allowed = [
        edge("nightwatch-store", "nightwatch-core", Kind::Normal),
        edge("nightwatch-app", "nightwatch-llm", Kind::Normal),
        edge("nightwatch", "nightwatch-app", Kind::Normal),
        edge("nightwatch-store", "nightwatch-testkit", Kind::Dev),
        edge("nightwatch-llm", "nightwatch-llm", Kind::Dev),
        edge("nightwatch-app", "nightwatch-notify", Kind::Dev),
        edge("kubelet-sim", "nightwatch-testkit", Kind::Dev),
        edge("nightwatch-app", "nightwatch-store", Kind::Build),
    ];
    assert_eq!(violations(&allowed), Vec::<String>::new());
}

//! The RBAC manifests under deploy/rbac: readonly grants only reads, remediation only the verbs
//! the actions use, and neither lets nightwatch delete namespaces, volumes or secrets.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use std::collections::BTreeSet;

fn manifests(file: &str) -> Vec<Value> {
    let path = format!("{}/../../deploy/rbac/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    serde_saphyr::from_multiple::<Value>(&text).unwrap()
}

/// Every (group, resource, verb) a manifest's ClusterRoles grant.
fn grants(docs: &[Value]) -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    for role in docs.iter().filter(|d| d["kind"] == "ClusterRole") {
        for rule in role["rules"].as_array().unwrap() {
            for group in rule["apiGroups"].as_array().unwrap() {
                for resource in rule["resources"].as_array().unwrap() {
                    for verb in rule["verbs"].as_array().unwrap() {
                        out.insert((
                            group.as_str().unwrap().to_owned(),
                            resource.as_str().unwrap().to_owned(),
                            verb.as_str().unwrap().to_owned(),
                        ));
                    }
                }
            }
        }
    }
    out
}

fn kinds(docs: &[Value]) -> Vec<(String, String)> {
    docs.iter()
        .map(|d| {
            (
                d["kind"].as_str().unwrap().to_owned(),
                d["metadata"]["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn readonly_grants_reads_only() {
    let docs = manifests("readonly.yaml");
    assert_eq!(
        kinds(&docs),
        [
            ("Namespace".into(), "nightwatch".into()),
            ("ServiceAccount".into(), "nightwatch".into()),
            ("ClusterRole".into(), "nightwatch-readonly".into()),
            ("ClusterRoleBinding".into(), "nightwatch-readonly".into()),
        ]
    );
    let grants = grants(&docs);
    assert!(
        grants
            .iter()
            .all(|(_, _, verb)| ["get", "list", "watch"].contains(&verb.as_str())),
        "{grants:?}"
    );
    for (group, resource) in [
        ("", "pods"),
        ("", "pods/log"),
        ("", "events"),
        ("", "nodes"),
        ("", "namespaces"),
        ("apps", "replicasets"),
        ("apps", "deployments"),
        ("apps", "statefulsets"),
        ("apps", "daemonsets"),
        ("batch", "jobs"),
        ("batch", "cronjobs"),
        ("policy", "poddisruptionbudgets"),
        // What the analyzers read around an alert.
        ("", "services"),
        ("", "endpoints"),
        ("", "persistentvolumeclaims"),
        ("", "resourcequotas"),
        ("autoscaling", "horizontalpodautoscalers"),
    ] {
        for verb in ["get", "list", "watch"] {
            assert!(
                grants.contains(&(group.into(), resource.into(), verb.into())),
                "{group}/{resource} {verb}"
            );
        }
    }
    assert!(
        !grants
            .iter()
            .any(|(_, r, _)| r == "secrets" || r == "configmaps")
    );
    let binding = &docs[3];
    assert_eq!(binding["roleRef"]["name"], "nightwatch-readonly");
    assert_eq!(binding["subjects"][0]["name"], "nightwatch");
    assert_eq!(binding["subjects"][0]["namespace"], "nightwatch");
}

#[test]
fn remediation_grants_exactly_the_action_verbs() {
    let docs = manifests("remediation.yaml");
    let grants = grants(&docs);
    let want: BTreeSet<(String, String, String)> = [
        ("apps", "deployments", "patch"),
        ("apps", "statefulsets", "patch"),
        ("apps", "daemonsets", "patch"),
        ("batch", "cronjobs", "patch"),
        ("", "pods", "delete"),
        ("", "pods/eviction", "create"),
        ("", "nodes", "patch"),
    ]
    .into_iter()
    .map(|(g, r, v)| (g.to_owned(), r.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(grants, want);
    let binding = docs
        .iter()
        .find(|d| d["kind"] == "ClusterRoleBinding")
        .unwrap();
    assert_eq!(binding["roleRef"]["name"], "nightwatch-remediation");
    assert_eq!(binding["subjects"][0]["name"], "nightwatch");
}

//! Nothing secret reaches the provider, and anonymised names come back as real names.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use nightwatch_llm::fake::{Flavor, anthropic, openai};
use nightwatch_llm::{Anonymiser, NameKind, Stop, Task, ToolOutput};
use serde_json::json;
use support::{Tools, config, start};

const SECRETS: &[&str] = &[
    "aHVudGVyMi12ZXJ5LXNlY3JldA==", // Secret data (base64 of a password)
    "plain-string-data-secret",     // Secret stringData
    "env-db-password-771",          // env var value
    "sk-live-4f9a8b7c6d5e4f3a2b1c", // an API key in logs
    "bearer-token-xyz-123456",      // an Authorization header
    "url-pass-998877",              // a password in a URL
    "AKIAIOSFODNN7EXAMPLE",         // an AWS access key id
    "alert-token-5566",             // a token in the alert text (the prompt)
];

fn leaky_tools() -> Tools {
    Tools::new(&["get_secret", "get_pod", "logs"])
        .with("get_secret", |_| {
            Ok(ToolOutput::new(
                json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"},
                       "type": "Opaque",
                       "data": {"password": "aHVudGVyMi12ZXJ5LXNlY3JldA=="},
                       "stringData": {"extra": "plain-string-data-secret"}}),
                "Secret db has 2 keys",
            ))
        })
        .with("get_pod", |_| {
            Ok(ToolOutput::new(
                json!({"spec": {"containers": [{"name": "app", "env": [
                    {"name": "DB_PASSWORD", "value": "env-db-password-771"},
                    {"name": "LOG_LEVEL", "value": "debug"}]}]}}),
                "pod api-1 Running",
            ))
        })
        .with("logs", |_| {
            Err("log tail:\nusing key sk-live-4f9a8b7c6d5e4f3a2b1c\n\
                 > GET /v1 HTTP/1.1\n> Authorization: Bearer bearer-token-xyz-123456\n\
                 connecting to postgres://app:url-pass-998877@db:5432/app\n\
                 aws AKIAIOSFODNN7EXAMPLE"
                .into())
        })
}

#[tokio::test]
async fn secrets_never_reach_the_provider() {
    let server = start(
        Flavor::Anthropic,
        vec![
            anthropic::tool_use(&[
                ("tu_1", "get_secret", json!({"name": "db"})),
                ("tu_2", "get_pod", json!({"name": "api-1"})),
                ("tu_3", "logs", json!({"pod": "api-1"})),
            ]),
            anthropic::text("The database password is set; LOG_LEVEL is debug."),
        ],
    )
    .await;
    let tools = leaky_tools();
    let inv = support::anthropic(&server, config("claude-sonnet-4-5"));
    let out = inv
        .run(Task {
            system: "You investigate incidents.",
            prompt: "Alert annotations: description=\"login fails\" token=alert-token-5566",
            toolbox: &tools,
            anonymiser: None,
        })
        .await;
    assert_eq!(out.stop, Stop::EndTurn);
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    for req in &reqs {
        for secret in SECRETS {
            assert!(
                !req.raw.contains(secret),
                "{secret} reached the provider: {}",
                req.raw
            );
        }
    }
    // What is not secret still reaches the model.
    let second = &reqs[1].raw;
    for kept in [
        "Secret db has 2 keys",
        "LOG_LEVEL",
        "debug",
        "postgres://app:",
        "@db:5432",
    ] {
        assert!(second.contains(kept), "{kept} missing");
    }
    assert!(second.contains("[REDACTED]"));
    // Nor are secrets stored with the transcript.
    let stored = serde_json::to_string(&out.transcript).unwrap();
    for secret in SECRETS {
        assert!(!stored.contains(secret), "{secret} in the transcript");
    }
}

#[tokio::test]
async fn anonymised_names_round_trip() {
    let server = start(
        Flavor::OpenAi,
        vec![
            openai::tool_calls(&[(
                "c1",
                "get_pod",
                r#"{"name":"anon-pod-1","namespace":"anon-ns-1"}"#,
            )]),
            openai::text("anon-pod-1 in anon-ns-1 was OOM-killed on anon-node-1."),
        ],
    )
    .await;
    let tools = Tools::new(&["get_pod"]).with("get_pod", |args| {
        Ok(ToolOutput::new(
            json!({"metadata": {"name": args["name"], "namespace": args["namespace"]},
                   "spec": {"nodeName": "worker-eu-7"},
                   "status": {"reason": "OOMKilled"}}),
            format!(
                "pod {} on worker-eu-7",
                args["name"].as_str().unwrap_or("?")
            ),
        ))
    });
    let mut names = Anonymiser::new();
    names.add(NameKind::Namespace, "payments");
    names.add(NameKind::Pod, "payments-api-7d9f-x2k");
    names.add(NameKind::Node, "worker-eu-7");
    let inv = support::openai(&server, config("gpt-4o"));
    let out = inv
        .run(Task {
            system: "You investigate incidents.",
            prompt: "Pod payments-api-7d9f-x2k in namespace payments on node worker-eu-7 restarts.",
            toolbox: &tools,
            anonymiser: Some(&names),
        })
        .await;
    // The tool got real names back from the model's placeholders.
    assert_eq!(
        tools.calls(),
        vec![(
            "get_pod".into(),
            json!({"name": "payments-api-7d9f-x2k", "namespace": "payments"})
        )]
    );
    // The provider never saw a real name.
    for req in server.requests() {
        for real in ["payments", "worker-eu-7", "7d9f"] {
            assert!(
                !req.raw.contains(real),
                "{real} reached the provider: {}",
                req.raw
            );
        }
    }
    assert!(server.requests()[1].raw.contains("anon-node-1"));
    // The answer reads with real names.
    assert_eq!(
        out.answer,
        "payments-api-7d9f-x2k in payments was OOM-killed on worker-eu-7."
    );
}

//! The LLM investigation and the model-written analysis, end to end through the real binary
//! and the production provider clients, against wire-faithful fake Anthropic and OpenAI servers
//! (real HTTP) and a fake Loki, on SQLite and Postgres.
//!
//! An alert no runbook handles is investigated: the scripted model calls `loki_query` (which
//! reaches the fake Loki) and `list_runbooks`, reads the results, and reports; every exchange
//! lands in the timeline. The analysis is then written by the model, citing the tool result by
//! the event id it finds in its prompt. A password in a log line never reaches the provider.
//! With the OpenAI-compatible provider failing on the analysis call, the template writes it and
//! says why.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// Tests against a real server and lab: the wall clock and real elapsed time are the point.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use chrono::Utc;
use nightwatch_llm::fake::{FakeServer, Flavor, anthropic, openai};
use nightwatch_testkit::fake_logs::FakeLoki;
use nightwatch_testkit::{Nightwatch, both_backends_blocking, wait_for, webhook_body};
use reqwest::blocking::Client;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_nightwatch");
const WAIT: Duration = Duration::from_secs(60);
const SECRET: &str = "hunter2-s3cr3t";

fn unknown_alert() -> Value {
    webhook_body(
        json!({
            "alertname": "CheckoutLatencyHigh", "namespace": "shop", "service": "checkout",
            "severity": "warning",
        }),
        json!({"summary": "checkout p99 latency above 2s"}),
        Utc::now() - chrono::Duration::minutes(5),
        None,
    )
}

/// The system prompt of an Anthropic request (a string, or text blocks).
fn system_of(request: &Value) -> String {
    match &request["system"] {
        Value::String(text) => text.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| b["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// Every text in the request's messages, in order (both wire flavours).
fn message_texts(request: &Value) -> String {
    let mut out = Vec::new();
    for message in request["messages"].as_array().into_iter().flatten() {
        match &message["content"] {
            Value::String(text) => out.push(text.clone()),
            Value::Array(blocks) => {
                for block in blocks {
                    if let Some(text) = block["text"].as_str() {
                        out.push(text.to_owned());
                    }
                    if let Some(text) = block["content"].as_str() {
                        out.push(text.to_owned());
                    }
                }
            }
            _ => {}
        }
    }
    out.join("\n")
}

/// The id of the timeline's `loki_query` result, as the prompt lists it.
fn loki_event_id(prompt: &str) -> Option<String> {
    prompt.lines().find_map(|line| {
        let rest = line.strip_prefix("[event ")?;
        let (id, tail) = rest.split_once(']')?;
        (tail.contains(" tool_result ") && tail.contains("loki_query")).then(|| id.to_owned())
    })
}

fn analysis_answer(prompt: &str) -> String {
    let id = loki_event_id(prompt).unwrap_or_else(|| "0".to_owned());
    format!(
        "## Summary\nCheckout is slow because its database refuses connections [event {id}].\n\
         ## What happened\nThe logs show connection refused to db:5432 [event {id}].\n\
         ## Root cause hypothesis\nThe checkout database is down [event {id}].\n\
         ## Action\nNone taken; no runbook handles this alert.\n\
         ## Why\nUnknown alerts are escalated to a human [event 999999].\n\
         ## Historical pattern & SRE recommendation\nNo related past incidents.\n\
         ## Follow-ups\n- Check the database pod in shop."
    )
}

/// The scripted Anthropic model: investigate (two tools), report, then write the analysis.
fn anthropic_model() -> nightwatch_llm::fake::Model {
    Arc::new(|request: &Value| {
        let system = system_of(request);
        let texts = message_texts(request);
        if system.contains("writing the analysis") {
            return anthropic::text(&analysis_answer(&texts));
        }
        let answered = request["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|m| m["content"].as_array().cloned().unwrap_or_default())
            .any(|block| block["type"] == "tool_result");
        if !answered {
            return anthropic::tool_use(&[
                (
                    "toolu_1",
                    "loki_query",
                    json!({"query": "{namespace=\"shop\"} |= \"error\"", "since": "1h"}),
                ),
                ("toolu_2", "list_runbooks", json!({})),
            ]);
        }
        anthropic::text(
            "## Findings\n- loki_query: checkout logs `connection refused` to db:5432\n\
             ## Likely cause\nthe checkout database is down\n\
             ## What a human should do\n- check the database pod",
        )
    })
}

fn events(detail: &Value) -> Vec<Value> {
    detail["events"].as_array().unwrap().clone()
}

fn kinds(detail: &Value) -> Vec<String> {
    events(detail)
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect()
}

fn analysed(nw: &Nightwatch) -> (i64, Value) {
    let id = wait_for("the incident", WAIT, || {
        nw.incidents("alertname=CheckoutLatencyHigh")
            .first()
            .and_then(|i| i["id"].as_i64())
    });
    let detail = wait_for("its analysis", WAIT, || {
        let detail = nw.incident(id);
        (!detail["analysis"].is_null()).then_some(detail)
    });
    (id, detail)
}

#[test]
fn unknown_alerts_are_investigated_and_analysed_by_the_model() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client = Client::new();
    for (name, url, _guard) in both_backends_blocking("investigation") {
        let fake = runtime
            .block_on(FakeServer::start(Flavor::Anthropic, Vec::new()))
            .unwrap();
        fake.set_model(anthropic_model());
        let loki = FakeLoki::start();
        loki.push(
            &[("namespace", "shop"), ("pod", "checkout-1")],
            Utc::now() - chrono::Duration::minutes(2),
            &format!("error: connection refused to db:5432 (DB_PASSWORD={SECRET})"),
        );
        let config = format!(
            "[kubernetes]\nenabled = false\n\n\
             [llm]\nprovider = \"anthropic\"\napi_key = \"sk-ant-test-key\"\nmodel = \"claude-fake-1\"\nbase_url = \"{}\"\n\n\
             [sources.loki]\nurl = \"{}\"\n",
            fake.base_url(),
            loki.url()
        );
        let nw = Nightwatch::start(BIN, &url, Some(&config));
        let response = client
            .post(nw.url("/webhook/alertmanager"))
            .json(&unknown_alert())
            .send()
            .unwrap();
        assert!(response.status().is_success(), "{name}");
        let (id, detail) = analysed(&nw);
        let kinds = kinds(&detail);
        let events = events(&detail);

        // The investigation's exchange is in the timeline, in order.
        let position = |kind: &str| kinds.iter().position(|k| k == kind).unwrap_or(usize::MAX);
        assert!(
            position("llm_request") < position("tool_call"),
            "{name}: {kinds:?}"
        );
        assert!(
            position("investigation") < position("final"),
            "{name}: {kinds:?}"
        );
        assert!(
            position("final") < position("analysis"),
            "{name}: {kinds:?}"
        );
        let loki_result = events
            .iter()
            .find(|e| e["kind"] == "tool_result" && e["payload"]["tool"] == "loki_query")
            .unwrap_or_else(|| panic!("{name}: {kinds:?}"));
        assert_eq!(loki_result["payload"]["step"], "llm:main", "{name}");
        assert!(
            loki_result["payload"]["summary"]
                .as_str()
                .unwrap()
                .contains("1 line"),
            "{name}: {loki_result}"
        );
        assert!(
            events
                .iter()
                .any(|e| e["kind"] == "tool_result" && e["payload"]["tool"] == "list_runbooks"),
            "{name}"
        );
        let investigation = events
            .iter()
            .find(|e| e["kind"] == "investigation")
            .unwrap();
        assert_eq!(investigation["payload"]["stop"], "end of turn", "{name}");
        assert_eq!(investigation["payload"]["tool_calls"], 2, "{name}");
        assert!(
            investigation["payload"]["answer"]
                .as_str()
                .unwrap()
                .contains("database is down"),
            "{name}"
        );
        let responses: Vec<&Value> = events
            .iter()
            .filter(|e| e["kind"] == "llm_response" && e["payload"]["call"].is_number())
            .collect();
        assert_eq!(responses.len(), 3, "{name}: investigation 2 + analysis 1");
        assert!(responses[0]["payload"]["input_tokens"].as_u64().unwrap() > 0);

        // The model wrote the analysis; its citation of the Loki result checks out, the
        // invented one is kept apart.
        let analysis = &detail["analysis"];
        assert_eq!(analysis["source"], "llm", "{name}: {analysis}");
        assert_eq!(analysis["model"], "anthropic/claude-fake-1", "{name}");
        assert!(analysis.get("fallback_reason").is_none(), "{name}");
        let cited: Vec<i64> = analysis["citations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["event_id"].as_i64().unwrap())
            .collect();
        assert!(
            cited.contains(&loki_result["id"].as_i64().unwrap()),
            "{name}: {analysis}"
        );
        assert_eq!(
            analysis["unverified_citations"][0]["event_id"], 999999,
            "{name}"
        );

        // Loki got the model's query; the password in its answer never reached the provider.
        let loki_queries = loki.requests();
        assert!(
            loki_queries
                .iter()
                .flatten()
                .any(|(k, v)| k == "query" && v.contains("namespace=\"shop\"")),
            "{name}: {loki_queries:?}"
        );
        let requests = fake.requests();
        assert_eq!(requests.len(), 3, "{name}");
        for request in &requests {
            assert!(
                !request.raw.contains(SECRET),
                "{name}: the secret reached the provider"
            );
            assert_eq!(request.headers["x-api-key"], "sk-ant-test-key");
        }
        assert!(
            requests[1].raw.contains("connection refused"),
            "{name}: the tool result went back to the model"
        );
        assert!(
            !serde_json::to_string(&detail).unwrap().contains(SECRET),
            "{name}: nor is it stored"
        );

        // The timeline page shows the exchange.
        let page = client
            .get(nw.url(&format!("/incident/{id}")))
            .send()
            .unwrap()
            .text()
            .unwrap();
        assert!(page.contains("llm_response"), "{name}");
        assert!(page.contains("investigation"), "{name}");
        assert!(page.contains("loki_query"), "{name}");
    }
}

#[test]
fn a_failing_model_leaves_the_template_analysis_and_says_why() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (_name, url, _guard) = both_backends_blocking("investigation-fallback")
        .into_iter()
        .next()
        .unwrap();
    // Investigation: one answer; the analysis call: a 500, not retried (one attempt).
    let fake = runtime
        .block_on(FakeServer::start(
            Flavor::OpenAi,
            vec![
                openai::text("## Findings\n- nothing to look at\n## Likely cause\nunknown"),
                openai::error(500, "server_error", "The server had an error"),
            ],
        ))
        .unwrap();
    let config = format!(
        "[kubernetes]\nenabled = false\n\n\
         [llm]\nprovider = \"openai\"\napi_key = \"sk-local-test\"\nmodel = \"llama3.1\"\nbase_url = \"{}\"\n\n\
         [llm.http]\nmax_attempts = 1\n",
        fake.base_url()
    );
    let nw = Nightwatch::start(BIN, &url, Some(&config));
    let response = Client::new()
        .post(nw.url("/webhook/alertmanager"))
        .json(&unknown_alert())
        .send()
        .unwrap();
    assert!(response.status().is_success());
    let (_, detail) = analysed(&nw);
    let analysis = &detail["analysis"];
    assert_eq!(analysis["source"], "template", "{analysis}");
    let reason = analysis["fallback_reason"].as_str().unwrap();
    assert!(reason.contains("could not be reached"), "{reason}");
    assert!(reason.contains("500"), "{reason}");
    assert!(
        events(&detail)
            .iter()
            .any(|e| e["kind"] == "llm_response" && e["payload"]["error"].is_string()),
        "the provider error is in the timeline"
    );
    assert_eq!(
        fake.requests()[0].headers["authorization"],
        "Bearer sk-local-test"
    );
    assert_eq!(
        fake.requests().len(),
        2,
        "one attempt each: investigation, analysis"
    );
}

/// The model answers nothing useful for longer than any incident's retries: rate limits with
/// Retry-After, server errors and replies slower than the per-attempt timeout, in turn. Every
/// incident still gets its runbook run and a template analysis that says why, no runbook job
/// is left behind, and ingest and health stay answered. When the model is back, the next
/// incident is investigated and analysed by it.
#[test]
fn a_model_outage_leaves_template_analyses_and_nothing_stuck() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client = Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let (name, url, _guard) = both_backends_blocking("model-outage")
        .into_iter()
        .last()
        .unwrap();
    let fake = runtime
        .block_on(FakeServer::start(Flavor::Anthropic, Vec::new()))
        .unwrap();
    let down = Arc::new(AtomicBool::new(true));
    let served = Arc::new([
        AtomicUsize::new(0),
        AtomicUsize::new(0),
        AtomicUsize::new(0),
    ]);
    let working = anthropic_model();
    fake.set_model({
        let (down, served) = (down.clone(), served.clone());
        Arc::new(move |request: &Value| {
            if !down.load(Ordering::SeqCst) {
                return working(request);
            }
            let turn = served
                .iter()
                .map(|n| n.load(Ordering::SeqCst))
                .sum::<usize>()
                % 3;
            served[turn].fetch_add(1, Ordering::SeqCst);
            match turn {
                0 => anthropic::rate_limited(1),
                1 => anthropic::error(500, "api_error", "Internal server error"),
                // Slower than the per-attempt timeout: the client gives up on it.
                _ => anthropic::text("too late").delayed(Duration::from_secs(4)),
            }
        })
    });
    let config = format!(
        "[kubernetes]\nenabled = false\n\n\
         [llm]\nprovider = \"anthropic\"\napi_key = \"sk-ant-test-key\"\nmodel = \"claude-fake-1\"\nbase_url = \"{}\"\n\n\
         [llm.http]\ntimeout = \"1s\"\nmax_attempts = 3\ninitial_backoff = \"100ms\"\nmax_backoff = \"1s\"\n",
        fake.base_url(),
    );
    let nw = Nightwatch::start(BIN, &url, Some(&config));
    let alertnames: Vec<String> = (0..6).map(|n| format!("OutageAlert{n}")).collect();
    for alertname in &alertnames {
        let body = webhook_body(
            json!({"alertname": alertname, "namespace": "shop", "severity": "warning"}),
            json!({"summary": "something is off"}),
            Utc::now() - chrono::Duration::minutes(5),
            None,
        );
        let response = client
            .post(nw.url("/webhook/alertmanager"))
            .json(&body)
            .send()
            .unwrap();
        assert!(response.status().is_success(), "{name}");
    }
    let analyses = wait_for(
        "every incident analysed during the outage",
        WAIT * 3,
        || {
            // Health is answered all along, however long the model keeps nightwatch waiting.
            let health = client.get(nw.url("/healthz")).send().unwrap();
            assert!(health.status().is_success(), "{name}");
            let details: Vec<Value> = alertnames
                .iter()
                .filter_map(|alertname| {
                    let id =
                        nw.incidents(&format!("alertname={alertname}")).first()?["id"].as_i64()?;
                    let detail = nw.incident(id);
                    (!detail["analysis"].is_null()).then_some(detail)
                })
                .collect();
            (details.len() == alertnames.len()).then_some(details)
        },
    );
    for detail in &analyses {
        let analysis = &detail["analysis"];
        assert_eq!(analysis["source"], "template", "{name}: {analysis}");
        let reason = analysis["fallback_reason"].as_str().unwrap_or_default();
        assert!(
            !reason.is_empty(),
            "{name}: the analysis says why: {analysis}"
        );
        let kinds = kinds(detail);
        assert!(kinds.contains(&"final".to_owned()), "{name}: {kinds:?}");
    }
    let kinds_served: Vec<usize> = served.iter().map(|n| n.load(Ordering::SeqCst)).collect();
    assert!(
        kinds_served.iter().all(|n| *n > 0),
        "{name}: 429s, 500s and timeouts all served: {kinds_served:?}"
    );

    // Back: the next incident gets the model's investigation and analysis.
    down.store(false, Ordering::SeqCst);
    let response = client
        .post(nw.url("/webhook/alertmanager"))
        .json(&unknown_alert())
        .send()
        .unwrap();
    assert!(response.status().is_success(), "{name}");
    let (_, detail) = analysed(&nw);
    assert_ne!(
        detail["analysis"]["source"], "template",
        "{name}: {}",
        detail["analysis"]
    );
    eprintln!(
        "{name}: outage served {} rate limits, {} server errors, {} timeouts; {} incidents \
         analysed from the template meanwhile",
        kinds_served[0],
        kinds_served[1],
        kinds_served[2],
        analyses.len()
    );
}

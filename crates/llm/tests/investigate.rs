//! The investigation loop end to end: the production provider clients against the fake servers,
//! a recording toolbox, and paused tokio time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use nightwatch_llm::fake::{Flavor, anthropic, openai};
use nightwatch_llm::transcript::Event;
use nightwatch_llm::{AnswerSource, Budget, BudgetKind, Stop, Task, ToolOutput, Transcript};
use serde_json::{Value, json};
use std::time::Duration;
use support::{Tools, config, last_user_blocks, start};

fn task<'a>(tools: &'a Tools) -> Task<'a> {
    Task {
        system: "You investigate Kubernetes incidents.",
        prompt: "Pod api-1 is crash-looping. Why?",
        toolbox: tools,
        anonymiser: None,
    }
}

fn budget(f: impl FnOnce(&mut Budget)) -> Budget {
    let mut b = Budget::unlimited();
    f(&mut b);
    b
}

#[tokio::test]
async fn multi_step_tool_use_anthropic() {
    let server = start(
        Flavor::Anthropic,
        vec![
            anthropic::tool_use(&[("tu_1", "get_pod", json!({"name": "api-1"}))]),
            anthropic::tool_use(&[
                ("tu_2", "logs", json!({"pod": "api-1", "tail": 50})),
                ("tu_3", "events", json!({})),
            ]),
            anthropic::text("Root cause: the container runs out of memory."),
        ],
    )
    .await;
    let tools = Tools::new(&["get_pod", "logs", "events"]);
    let inv = support::anthropic(&server, config("claude-sonnet-4-5"));
    let out = inv.run(task(&tools)).await;

    assert_eq!(out.answer, "Root cause: the container runs out of memory.");
    assert_eq!(out.stop, Stop::EndTurn);
    assert_eq!(out.source, AnswerSource::Model);
    assert_eq!(
        tools.calls(),
        vec![
            ("get_pod".into(), json!({"name": "api-1"})),
            ("logs".into(), json!({"pod": "api-1", "tail": 50})),
            ("events".into(), json!({})),
        ]
    );
    assert_eq!(out.spend.steps, 3);
    assert_eq!((out.spend.input_tokens, out.spend.output_tokens), (300, 60));
    // claude-fake-1 is not in the price table: the default (15 / 75 USD per Mtok) applies.
    assert!((out.spend.cost_usd - (300.0 * 15.0 + 60.0 * 75.0) / 1e6).abs() < 1e-12);

    let reqs = server.requests();
    assert_eq!(reqs.len(), 3);
    assert_eq!(
        reqs[0].body["system"],
        "You investigate Kubernetes incidents."
    );
    assert_eq!(reqs[0].body["tools"][0]["name"], "get_pod");
    assert!(
        reqs[0].body["tools"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "delegate"),
        "delegate is offered to the main agent"
    );
    let second = last_user_blocks(&reqs[1].body);
    assert_eq!(second[0]["type"], "tool_result");
    assert_eq!(second[0]["tool_use_id"], "tu_1");
    assert!(
        second[0]["content"]
            .as_str()
            .unwrap()
            .starts_with("get_pod ok\n")
    );
    let third = last_user_blocks(&reqs[2].body);
    let ids: Vec<&str> = third
        .iter()
        .map(|b| b["tool_use_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["tu_2", "tu_3"]);

    // The transcript holds every exchange and survives a JSON round trip (it is stored as events).
    assert_eq!(out.transcript.responses().count(), 3);
    assert_eq!(out.transcript.tool_results().count(), 3);
    let stored = serde_json::to_string(&out.transcript).unwrap();
    let back: Transcript = serde_json::from_str(&stored).unwrap();
    assert_eq!(back, out.transcript);
    assert_eq!(back.total_usage().input_tokens, 300);
}

#[tokio::test]
async fn multi_step_tool_use_openai() {
    let server = start(
        Flavor::OpenAi,
        vec![
            openai::tool_calls(&[("call_1", "get_pod", r#"{"name":"api-1"}"#)]),
            openai::tool_calls(&[("call_2", "logs", r#"{"pod":"api-1","tail":50}"#)]),
            openai::text("It is OOM-killed."),
        ],
    )
    .await;
    let tools = Tools::new(&["get_pod", "logs"]);
    let inv = support::openai(&server, config("gpt-4o"));
    let out = inv.run(task(&tools)).await;
    assert_eq!(out.answer, "It is OOM-killed.");
    assert_eq!(out.stop, Stop::EndTurn);
    assert_eq!(
        tools.calls()[1],
        ("logs".into(), json!({"pod": "api-1", "tail": 50}))
    );
    let reqs = server.requests();
    assert_eq!(reqs.len(), 3);
    let messages = reqs[2].body["messages"].as_array().unwrap();
    let roles: Vec<&str> = messages
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(
        roles,
        ["system", "user", "assistant", "tool", "assistant", "tool"]
    );
    assert_eq!(messages[3]["tool_call_id"], "call_1");
    assert_eq!(
        messages[4]["tool_calls"][0]["function"]["arguments"],
        r#"{"pod":"api-1","tail":50}"#
    );
    assert_eq!(reqs[0].body["tools"][0]["type"], "function");
    assert_eq!(reqs[0].body["tool_choice"], "auto");
    // gpt-fake-1 is priced at the default; prompt/completion tokens were read.
    assert_eq!((out.spend.input_tokens, out.spend.output_tokens), (300, 60));
}

#[tokio::test]
async fn step_budget_stops_with_a_tool_less_write_up() {
    let server = start(
        Flavor::Anthropic,
        vec![
            anthropic::tool_use(&[("tu_1", "get_pod", json!({"name": "a"}))]),
            anthropic::tool_use(&[("tu_2", "get_pod", json!({"name": "b"}))]),
            anthropic::text("Known so far: pod a is fine, b is pending."),
            anthropic::text("never asked for"),
        ],
    )
    .await;
    let tools = Tools::new(&["get_pod"]);
    let mut cfg = config("claude-sonnet-4-5");
    cfg.budget = budget(|b| b.max_steps = Some(2));
    let inv = support::anthropic(&server, cfg);
    let out = inv.run(task(&tools)).await;
    assert_eq!(
        out.stop,
        Stop::Budget {
            budget: BudgetKind::Steps
        }
    );
    assert_eq!(out.source, AnswerSource::WriteUp);
    assert_eq!(out.answer, "Known so far: pod a is fine, b is pending.");
    assert_eq!(tools.calls().len(), 2);
    let reqs = server.requests();
    assert_eq!(reqs.len(), 3);
    assert_eq!(server.remaining(), 1);
    // The write-up: tools still defined (the API requires it with tool blocks in the history)
    // but not allowed, and the instruction rides in the user turn with the tool results.
    assert_eq!(reqs[2].body["tool_choice"], json!({"type": "none"}));
    let blocks = last_user_blocks(&reqs[2].body);
    assert_eq!(blocks[0]["type"], "tool_result");
    let instruction = blocks.last().unwrap()["text"].as_str().unwrap();
    assert!(
        instruction.contains("budget reached: steps"),
        "{instruction}"
    );
}

#[tokio::test]
async fn token_budgets_stop_the_loop() {
    for (limit, kind) in [
        (
            budget(|b| b.max_input_tokens = Some(150)),
            BudgetKind::InputTokens,
        ),
        (
            budget(|b| b.max_output_tokens = Some(50)),
            BudgetKind::OutputTokens,
        ),
        (budget(|b| b.max_cost_usd = Some(0.01)), BudgetKind::Cost),
    ] {
        // 200 in / 60 out at the default price is 0.0075 USD: the token limits trip after the
        // first call, the cost limit after the second.
        let mut script =
            vec![openai::tool_calls(&[("c1", "get_pod", r#"{"name":"a"}"#)]).usage(200, 60)];
        if kind == BudgetKind::Cost {
            script.push(openai::tool_calls(&[("c2", "get_pod", r#"{"name":"b"}"#)]).usage(200, 60));
        }
        script.push(openai::text("write-up").usage(10, 5));
        let server = start(Flavor::OpenAi, script).await;
        let tools = Tools::new(&["get_pod"]);
        let mut cfg = config("gpt-fake");
        cfg.budget = limit;
        let inv = support::openai(&server, cfg);
        let out = inv.run(task(&tools)).await;
        assert_eq!(out.stop, Stop::Budget { budget: kind }, "{kind:?}");
        assert_eq!(out.answer, "write-up");
        let expected_calls = if kind == BudgetKind::Cost { 2 } else { 1 };
        assert_eq!(tools.calls().len(), expected_calls, "{kind:?}");
        assert_eq!(
            server.requests().last().unwrap().body["tool_choice"],
            "none"
        );
    }
}

#[tokio::test]
async fn write_up_failure_returns_what_is_known() {
    let server = start(
        Flavor::Anthropic,
        vec![
            anthropic::tool_use(&[("tu_1", "get_pod", json!({"name": "a"}))]),
            anthropic::error(400, "invalid_request_error", "prompt is too long"),
        ],
    )
    .await;
    let tools = Tools::new(&["get_pod"]);
    let mut cfg = config("claude-sonnet-4-5");
    cfg.budget = budget(|b| b.max_steps = Some(1));
    let inv = support::anthropic(&server, cfg);
    let out = inv.run(task(&tools)).await;
    assert_eq!(
        out.stop,
        Stop::Budget {
            budget: BudgetKind::Steps
        }
    );
    assert_eq!(out.source, AnswerSource::Partial);
    assert_eq!(out.answer, "Let me check.");
    assert!(out.transcript.entries.iter().any(|e| matches!(&e.event,
        Event::ProviderError { message } if message.contains("HTTP 400") && message.contains("prompt is too long"))));
}

#[tokio::test]
async fn provider_failure_mid_run_is_reported_not_panicked() {
    let e = || anthropic::error(529, "overloaded_error", "Overloaded");
    let server = start(
        Flavor::Anthropic,
        vec![
            anthropic::tool_use(&[("tu_1", "get_pod", json!({}))]),
            e(),
            e(),
            e(),
        ],
    )
    .await;
    let tools = Tools::new(&["get_pod"]);
    let inv = support::anthropic(&server, config("claude-sonnet-4-5"));
    let out = inv.run(task(&tools)).await;
    match &out.stop {
        Stop::ProviderError { error } => {
            assert_eq!(
                error,
                "anthropic: HTTP 529 overloaded_error: Overloaded (after 3 attempts)"
            )
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(out.source, AnswerSource::Partial);
    assert_eq!(out.answer, "Let me check.");
}

#[tokio::test]
async fn repeated_calls_are_not_rerun_and_a_loop_is_stopped() {
    let server = start(
        Flavor::Anthropic,
        vec![
            anthropic::tool_use(&[("tu_1", "get_pod", json!({"name": "a", "ns": "x"}))]),
            // Same call, keys in another order: still a repeat.
            anthropic::tool_use(&[("tu_2", "get_pod", json!({"ns": "x", "name": "a"}))]),
            anthropic::tool_use(&[("tu_3", "get_pod", json!({"name": "a", "ns": "x"}))]),
            anthropic::text("I was going in circles; pod a is the lead."),
        ],
    )
    .await;
    let tools = Tools::new(&["get_pod"]);
    let mut cfg = config("claude-sonnet-4-5");
    cfg.max_repeats = 2;
    let inv = support::anthropic(&server, cfg);
    let out = inv.run(task(&tools)).await;
    assert_eq!(out.stop, Stop::LoopDetected);
    assert_eq!(out.source, AnswerSource::WriteUp);
    assert_eq!(out.answer, "I was going in circles; pod a is the lead.");
    assert_eq!(tools.calls().len(), 1, "the repeats were not executed");
    let reqs = server.requests();
    assert_eq!(reqs.len(), 4);
    let repeat = &last_user_blocks(&reqs[2].body)[0];
    assert_eq!(repeat["is_error"], true);
    assert!(
        repeat["content"]
            .as_str()
            .unwrap()
            .starts_with("repeated call")
    );
    let repeats = out
        .transcript
        .entries
        .iter()
        .filter(|e| matches!(e.event, Event::ToolResult { repeat: true, .. }))
        .count();
    assert_eq!(repeats, 2);
}

#[tokio::test]
async fn malformed_model_output_becomes_error_results_and_the_model_recovers() {
    let server = start(
        Flavor::OpenAi,
        vec![
            openai::tool_calls(&[("c1", "get_pod", r#"{"name": "api-"#)]),
            openai::tool_calls(&[("c2", "kubectl_exec", r#"{"cmd":"rm -rf /"}"#)]),
            openai::tool_calls(&[("c3", "get_pod", r#"{"name":"api-1"}"#)]),
            openai::text("Recovered: api-1 is OOM-killed."),
        ],
    )
    .await;
    let tools = Tools::new(&["get_pod"]);
    let inv = support::openai(&server, config("gpt-4o"));
    let out = inv.run(task(&tools)).await;
    assert_eq!(out.stop, Stop::EndTurn);
    assert_eq!(out.answer, "Recovered: api-1 is OOM-killed.");
    assert_eq!(
        tools.calls(),
        vec![("get_pod".into(), json!({"name": "api-1"}))]
    );
    let reqs = server.requests();
    let tool_msg = |i: usize| -> String {
        let messages = reqs[i].body["messages"].as_array().unwrap();
        messages.last().unwrap()["content"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(
        tool_msg(1).starts_with("ERROR: the arguments for `get_pod` are not valid JSON"),
        "{}",
        tool_msg(1)
    );
    assert!(
        tool_msg(2).starts_with(
            "ERROR: there is no tool `kubectl_exec`; the tools are: get_pod, delegate"
        ),
        "{}",
        tool_msg(2)
    );
    // The broken arguments went back to the server exactly as the model wrote them.
    let messages = reqs[1].body["messages"].as_array().unwrap();
    assert_eq!(
        messages[2]["tool_calls"][0]["function"]["arguments"],
        r#"{"name": "api-"#
    );
}

#[tokio::test]
async fn unknown_tool_and_tool_errors_on_anthropic() {
    let server = start(
        Flavor::Anthropic,
        vec![
            anthropic::tool_use(&[
                ("tu_1", "no_such_tool", json!({})),
                ("tu_2", "get_pod", json!({"name": "gone"})),
            ]),
            anthropic::text("done"),
        ],
    )
    .await;
    let tools = Tools::new(&["get_pod"]).with("get_pod", |_| Err("pods \"gone\" not found".into()));
    let inv = support::anthropic(&server, config("claude-sonnet-4-5"));
    let out = inv.run(task(&tools)).await;
    assert_eq!(out.answer, "done");
    let blocks = last_user_blocks(&server.requests()[1].body);
    assert_eq!(blocks[0]["is_error"], true);
    assert!(
        blocks[0]["content"]
            .as_str()
            .unwrap()
            .contains("no tool `no_such_tool`")
    );
    assert_eq!(blocks[1]["is_error"], true);
    assert_eq!(blocks[1]["content"], "pods \"gone\" not found");
}

#[tokio::test]
async fn oversized_tool_output_is_truncated_with_a_marker() {
    let server = start(
        Flavor::Anthropic,
        vec![
            anthropic::tool_use(&[("tu_1", "logs", json!({"pod": "a"}))]),
            anthropic::text("ok"),
        ],
    )
    .await;
    let lines: Vec<String> = (0..5000)
        .map(|i| format!("line {i}: GET /healthz 200"))
        .collect();
    let log = lines.join("\n");
    let log_len = log.len();
    let tools = Tools::new(&["logs"]).with("logs", move |_| {
        Ok(ToolOutput::new(Value::Null, log.clone()))
    });
    let mut cfg = config("claude-sonnet-4-5");
    cfg.max_tool_output_bytes = 2000;
    let inv = support::anthropic(&server, cfg);
    let out = inv.run(task(&tools)).await;
    let blocks = last_user_blocks(&server.requests()[1].body);
    let content = blocks[0]["content"].as_str().unwrap();
    assert!(content.len() < 2100, "{}", content.len());
    assert!(content.starts_with("line 0: GET"));
    assert!(content.ends_with("line 4999: GET /healthz 200"));
    let marker = format!(" of {log_len} bytes …]");
    assert!(
        content.contains("[… truncated ") && content.contains(&marker),
        "{content}"
    );
    let entry = out.transcript.tool_results().next().unwrap();
    assert!(
        matches!(&entry.event, Event::ToolResult { truncated: true, original_bytes, .. } if *original_bytes == log_len)
    );
}

#[tokio::test(start_paused = true)]
async fn wall_time_budget_with_paused_tokio_time() {
    let server = start(
        Flavor::Anthropic,
        vec![
            anthropic::tool_use(&[("tu_1", "slow", json!({"q": 1}))]),
            anthropic::tool_use(&[("tu_2", "slow", json!({"q": 2}))]),
            anthropic::text("Out of time."),
        ],
    )
    .await;
    // Each tool call waits 200 s of tokio time (paused time auto-advances, so the test takes
    // milliseconds); the budget is 300 s, so the second call crosses it.
    let tools = Tools::new(&["slow"]).with_async_sleep(Duration::from_secs(200));
    let mut cfg = config("claude-sonnet-4-5");
    cfg.budget = budget(|b| b.max_wall_secs = Some(300));
    let inv = support::anthropic(&server, cfg);
    let out = inv.run(task(&tools)).await;
    assert_eq!(
        out.stop,
        Stop::Budget {
            budget: BudgetKind::WallTime
        }
    );
    assert_eq!(out.source, AnswerSource::WriteUp);
    assert_eq!(out.answer, "Out of time.");
    assert_eq!(tools.calls().len(), 2);
    // Exactly the two tool waits: the provider never backed off.
    assert_eq!(out.spend.elapsed_ms, 400_000);
}

#[tokio::test]
async fn an_empty_final_turn_falls_back_to_what_was_said() {
    let server = start(
        Flavor::Anthropic,
        vec![
            anthropic::tool_use(&[("tu_1", "get_pod", json!({"name": "a"}))]),
            anthropic::text(""),
        ],
    )
    .await;
    let tools = Tools::new(&["get_pod"]);
    let inv = support::anthropic(&server, config("claude-sonnet-4-5"));
    let out = inv.run(task(&tools)).await;
    assert_eq!(out.stop, Stop::EndTurn);
    assert_eq!(out.source, AnswerSource::Partial);
    assert_eq!(out.answer, "Let me check.");
}

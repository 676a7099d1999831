//! The built-in `delegate` tool: a sub-agent with a fresh context and a subset of the tools,
//! sharing the parent's budget.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use nightwatch_llm::fake::{Flavor, anthropic};
use nightwatch_llm::{AnswerSource, Budget, BudgetKind, Stop, Task};
use serde_json::json;
use support::{Tools, config, last_user_blocks, start};

fn task<'a>(tools: &'a Tools) -> Task<'a> {
    Task {
        system: "You investigate Kubernetes incidents.",
        prompt: "Pod api-1 is crash-looping. Why?",
        toolbox: tools,
        anonymiser: None,
    }
}

fn names(tools: &serde_json::Value) -> Vec<String> {
    tools
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn delegation_runs_a_sub_agent_with_a_fresh_context_and_a_tool_subset() {
    let server = start(
        Flavor::Anthropic,
        vec![
            // main: hand the log reading to a sub-agent
            anthropic::tool_use(&[(
                "tu_d",
                "delegate",
                json!({"question": "What do the last logs of pod api-1 say?", "tools": ["logs"]}),
            )]),
            // sub-agent: tries a tool it was not given, then uses its own
            anthropic::tool_use(&[("tu_s1", "get_pod", json!({"name": "api-1"}))]),
            anthropic::tool_use(&[("tu_s2", "logs", json!({"pod": "api-1"}))]),
            anthropic::text("The logs end with java.lang.OutOfMemoryError."),
            // main again, with the sub-agent's answer as the delegate result
            anthropic::text("Root cause: heap exhaustion (OutOfMemoryError)."),
        ],
    )
    .await;
    let tools = Tools::new(&["get_pod", "logs"]);
    let inv = support::anthropic(&server, config("claude-sonnet-4-5"));
    let out = inv.run(task(&tools)).await;

    assert_eq!(out.stop, Stop::EndTurn);
    assert_eq!(
        out.answer,
        "Root cause: heap exhaustion (OutOfMemoryError)."
    );
    assert_eq!(
        tools.calls(),
        vec![("logs".into(), json!({"pod": "api-1"}))]
    );
    // One shared meter: the sub-agent's three calls count with the main agent's two.
    assert_eq!(out.spend.steps, 5);

    let reqs = server.requests();
    assert_eq!(reqs.len(), 5);
    assert_eq!(
        names(&reqs[0].body["tools"]),
        ["get_pod", "logs", "delegate"]
    );
    // The sub-agent's first request: fresh context (just the question), only `logs`, its own
    // system prompt.
    let sub = &reqs[1].body;
    assert_eq!(sub["messages"].as_array().unwrap().len(), 1);
    assert_eq!(
        sub["messages"][0]["content"][0]["text"],
        "What do the last logs of pod api-1 say?"
    );
    assert_eq!(names(&sub["tools"]), ["logs"]);
    assert!(
        sub["system"]
            .as_str()
            .unwrap()
            .starts_with("You are a sub-agent")
    );
    let refused = &last_user_blocks(&reqs[2].body)[0];
    assert_eq!(refused["is_error"], true);
    assert!(
        refused["content"]
            .as_str()
            .unwrap()
            .contains("no tool `get_pod`")
    );
    // Back in the main agent: its own history, plus the sub-agent's answer as the result.
    let main = &reqs[4].body;
    assert_eq!(main["messages"].as_array().unwrap().len(), 3);
    let result = &last_user_blocks(main)[0];
    assert_eq!(result["tool_use_id"], "tu_d");
    assert_eq!(
        result["content"],
        "The logs end with java.lang.OutOfMemoryError."
    );
    assert!(
        out.transcript
            .entries
            .iter()
            .any(|e| e.agent == "delegate-1")
    );
}

#[tokio::test]
async fn delegation_shares_the_budget_and_cannot_nest() {
    let server = start(
        Flavor::Anthropic,
        vec![
            // main: a nested delegate is refused; a valid one runs
            anthropic::tool_use(&[
                (
                    "tu_bad",
                    "delegate",
                    json!({"question": "q", "tools": ["delegate"]}),
                ),
                (
                    "tu_d",
                    "delegate",
                    json!({"question": "Read the logs.", "tools": ["logs"]}),
                ),
            ]),
            // sub-agent spends the rest of the shared budget (3 steps) ...
            anthropic::tool_use(&[("tu_s1", "logs", json!({"pod": "a"}))]),
            anthropic::tool_use(&[("tu_s2", "logs", json!({"pod": "b"}))]),
            // ... and writes up
            anthropic::text("sub: a is fine, b was not read to the end"),
            // main: budget is gone too → its own write-up
            anthropic::text("main write-up"),
        ],
    )
    .await;
    let tools = Tools::new(&["get_pod", "logs"]);
    let mut cfg = config("claude-sonnet-4-5");
    cfg.budget = Budget {
        max_steps: Some(3),
        ..Budget::unlimited()
    };
    let inv = support::anthropic(&server, cfg);
    let out = inv.run(task(&tools)).await;

    assert_eq!(
        out.stop,
        Stop::Budget {
            budget: BudgetKind::Steps
        }
    );
    assert_eq!(out.source, AnswerSource::WriteUp);
    assert_eq!(out.answer, "main write-up");
    assert_eq!(tools.calls().len(), 2);
    let reqs = server.requests();
    assert_eq!(reqs.len(), 5);
    // The sub-agent's write-up was tool-less.
    assert_eq!(reqs[3].body["tool_choice"], json!({"type": "none"}));
    let results = last_user_blocks(&reqs[4].body);
    assert_eq!(results[0]["is_error"], true);
    assert!(
        results[0]["content"]
            .as_str()
            .unwrap()
            .contains("cannot delegate further")
    );
    assert_eq!(results[1]["is_error"], serde_json::Value::Null);
    assert_eq!(
        results[1]["content"],
        "[sub-agent stopped: budget reached: steps]\nsub: a is fine, b was not read to the end"
    );
    assert_eq!(reqs[4].body["tool_choice"], json!({"type": "none"}));
}

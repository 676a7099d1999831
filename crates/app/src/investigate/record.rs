//! A transcript as incident events: each model request and response becomes `llm_request` /
//! `llm_response`, each tool call and result `tool_call` / `tool_result` (with `step` naming the
//! agent, `llm:main` or `llm:delegate-1`, so they read like a runbook's steps in the timeline and
//! the analysis can cite them). Names an anonymiser replaced are restored: the timeline is
//! nightwatch's own record and is read by people.

use nightwatch_core::analysis::clip;
use nightwatch_core::event::EventKind;
use nightwatch_core::event::payload::{LlmRequest, LlmResponse, Payload, ToolCall, ToolResult};
use nightwatch_llm::Anonymiser;
use nightwatch_llm::transcript::{Event, Transcript};
use serde_json::{Value, json};

/// The summary line of a tool result as sent: its first line (tools put their one-sentence
/// summary there), cut to a readable length.
fn first_line(content: &str) -> String {
    clip(content.lines().next().unwrap_or_default(), 300)
}

/// The events for `transcript`, in its order.
pub fn transcript_events(
    transcript: &Transcript,
    names: Option<&Anonymiser>,
) -> Vec<(EventKind, Value)> {
    transcript
        .entries
        .iter()
        .map(|entry| {
            let agent = entry.agent.as_str();
            let step = format!("llm:{agent}");
            let (kind, payload) = match &entry.event {
                Event::Request {
                    step: call,
                    model,
                    system,
                    text,
                    tools,
                    tool_choice,
                } => (
                    EventKind::LlmRequest,
                    LlmRequest {
                        agent: agent.to_owned(),
                        call: *call,
                        model: model.clone(),
                        system: system.clone(),
                        text: text.clone(),
                        tools: tools.clone(),
                        tool_choice: json!(tool_choice),
                        at_ms: None,
                    }
                    .to_json(),
                ),
                Event::Response {
                    step: call,
                    model,
                    message,
                    stop_reason,
                    usage,
                    cost_usd,
                } => {
                    let calls: Vec<String> = message.tool_calls().map(|c| c.name.clone()).collect();
                    (
                        EventKind::LlmResponse,
                        LlmResponse {
                            agent: agent.to_owned(),
                            call: Some(*call),
                            model: Some(model.clone()),
                            text: Some(message.text()),
                            tool_calls: Some(calls),
                            stop_reason: Some(json!(stop_reason)),
                            input_tokens: Some(usage.input_tokens),
                            output_tokens: Some(usage.output_tokens),
                            cost_usd: Some(*cost_usd),
                            ..LlmResponse::default()
                        }
                        .to_json(),
                    )
                }
                Event::ToolCall { id, name, input } => (
                    EventKind::ToolCall,
                    ToolCall {
                        step,
                        tool: name.clone(),
                        call_id: Some(id.clone()),
                        args: input.clone(),
                        source: Some("llm".to_owned()),
                        ..ToolCall::default()
                    }
                    .to_json(),
                ),
                Event::ToolResult {
                    id,
                    name,
                    content,
                    is_error,
                    original_bytes,
                    truncated,
                    repeat,
                } => {
                    // An error's first line is its `error`, an answer's its `summary`.
                    let line = Some(first_line(content));
                    let result = ToolResult {
                        step,
                        tool: name.clone(),
                        call_id: Some(id.clone()),
                        source: Some("llm".to_owned()),
                        content: Some(content.clone()),
                        original_bytes: Some(*original_bytes as u64),
                        truncated: Some(*truncated),
                        repeat: Some(*repeat),
                        summary: if *is_error { None } else { line.clone() },
                        error: if *is_error { line } else { None },
                        ..ToolResult::default()
                    };
                    (EventKind::ToolResult, result.to_json())
                }
                Event::ProviderError { message } => (
                    EventKind::LlmResponse,
                    LlmResponse {
                        agent: agent.to_owned(),
                        error: Some(message.clone()),
                        ..LlmResponse::default()
                    }
                    .to_json(),
                ),
                Event::Finished { stop, spend } => (
                    EventKind::LlmResponse,
                    LlmResponse {
                        agent: agent.to_owned(),
                        finished: Some(stop.clone()),
                        spend: Some(json!(spend)),
                        ..LlmResponse::default()
                    }
                    .to_json(),
                ),
            };
            let mut payload = match names {
                Some(names) => names.restore_value(&payload),
                None => payload,
            };
            if let Some(object) = payload.as_object_mut() {
                object.insert("at_ms".to_owned(), json!(entry.at_ms));
            }
            (kind, payload)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use nightwatch_llm::transcript::Entry;
    use nightwatch_llm::{
        ContentBlock, Message, NameKind, Role, Spend, StopReason, ToolCall, ToolChoice, Usage,
    };

    fn entry(agent: &str, event: Event) -> Entry {
        Entry {
            agent: agent.to_owned(),
            at_ms: 5,
            event,
        }
    }

    #[test]
    fn every_entry_becomes_an_event_with_names_restored() {
        let mut names = Anonymiser::new();
        let pod = names.add(NameKind::Pod, "web-7d9f-x2k");
        let transcript = Transcript {
            entries: vec![
                entry(
                    "main",
                    Event::Request {
                        step: 1,
                        model: "m".into(),
                        system: Some("sys".into()),
                        text: Some(format!("investigate {pod}")),
                        tools: vec!["get_pod_status".into()],
                        tool_choice: ToolChoice::Auto,
                    },
                ),
                entry(
                    "main",
                    Event::Response {
                        step: 1,
                        model: "m".into(),
                        message: Message {
                            role: Role::Assistant,
                            content: vec![
                                ContentBlock::text("looking"),
                                ContentBlock::ToolUse(ToolCall {
                                    id: "c1".into(),
                                    name: "get_pod_status".into(),
                                    input: json!({"pod": pod}),
                                    invalid_input: None,
                                }),
                            ],
                        },
                        stop_reason: StopReason::ToolUse,
                        usage: Usage {
                            input_tokens: 100,
                            output_tokens: 20,
                        },
                        cost_usd: 0.01,
                    },
                ),
                entry(
                    "main",
                    Event::ToolCall {
                        id: "c1".into(),
                        name: "get_pod_status".into(),
                        input: json!({"pod": pod}),
                    },
                ),
                entry(
                    "delegate-1",
                    Event::ToolResult {
                        id: "c1".into(),
                        name: "get_pod_status".into(),
                        content: format!(
                            "pod {pod} is Running, not ready\n{{\"phase\":\"Running\"}}"
                        ),
                        is_error: false,
                        original_bytes: 40,
                        truncated: false,
                        repeat: false,
                    },
                ),
                entry(
                    "main",
                    Event::ToolResult {
                        id: "c2".into(),
                        name: "nope".into(),
                        content: "unknown tool `nope`".into(),
                        is_error: true,
                        original_bytes: 19,
                        truncated: false,
                        repeat: false,
                    },
                ),
                entry(
                    "main",
                    Event::ProviderError {
                        message: "anthropic: HTTP 500".into(),
                    },
                ),
                entry(
                    "main",
                    Event::Finished {
                        stop: "end of turn".into(),
                        spend: Spend::default(),
                    },
                ),
            ],
        };
        let events = transcript_events(&transcript, Some(&names));
        let kinds: Vec<EventKind> = events.iter().map(|(kind, _)| *kind).collect();
        assert_eq!(
            kinds,
            vec![
                EventKind::LlmRequest,
                EventKind::LlmResponse,
                EventKind::ToolCall,
                EventKind::ToolResult,
                EventKind::ToolResult,
                EventKind::LlmResponse,
                EventKind::LlmResponse,
            ]
        );
        assert_eq!(events[0].1["text"], "investigate web-7d9f-x2k");
        assert_eq!(events[1].1["tool_calls"], json!(["get_pod_status"]));
        assert_eq!(events[1].1["input_tokens"], 100);
        assert_eq!(events[2].1["args"]["pod"], "web-7d9f-x2k");
        assert_eq!(events[2].1["step"], "llm:main");
        assert_eq!(events[3].1["step"], "llm:delegate-1");
        assert_eq!(
            events[3].1["summary"],
            "pod web-7d9f-x2k is Running, not ready"
        );
        assert_eq!(events[4].1["error"], "unknown tool `nope`");
        assert!(events[4].1.get("summary").is_none());
        assert_eq!(events[5].1["error"], "anthropic: HTTP 500");
        assert_eq!(events[6].1["finished"], "end of turn");
        assert_eq!(events[6].1["at_ms"], 5);
    }

    #[test]
    fn long_summaries_are_cut_on_a_character_boundary() {
        let line = "é".repeat(400);
        let cut = first_line(&line);
        assert!(cut.ends_with('…'));
        assert!(cut.len() <= 304);
    }
}

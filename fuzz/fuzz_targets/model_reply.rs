//! A model's reply as the provider sends it (Anthropic Messages or an OpenAI-compatible chat
//! completion; the first byte picks which), tool calls and their arguments included: parsed
//! into a message or refused with an error, never a panic. A parsed reply then goes back to
//! either provider as the next turn's history (calls whose arguments never parsed included),
//! as the investigation loop does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nightwatch_llm::ChatRequest;
use nightwatch_llm::provider::{anthropic, openai};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let parsed = if pick % 2 == 0 {
        anthropic::from_wire(body)
    } else {
        openai::from_wire(body)
    };
    let Ok(reply) = parsed else {
        return;
    };
    for call in reply.message.tool_calls() {
        // Arguments that parsed are what the tools get: JSON, or nothing.
        assert!(call.invalid_input.is_none() || call.input.is_null());
    }
    let request = ChatRequest {
        model: reply.model.clone(),
        system: String::new(),
        messages: vec![reply.message],
        tools: Vec::new(),
        tool_choice: Default::default(),
        max_tokens: 1024,
    };
    let _ = serde_json::to_vec(&anthropic::to_wire(&request));
    let _ = serde_json::to_vec(&openai::to_wire(&request));
});

//! A runbook `when` gate (CEL): compiled and evaluated over an alert-shaped context — true,
//! false or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nightwatch_core::runbook::{Gate, GateContext};

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(gate) = Gate::compile(source) else {
        return;
    };
    let _ = gate.variables();
    let mut context = GateContext::new();
    context.bind(
        "alert",
        serde_json::json!({"alertname": "KubePodCrashLooping", "labels": {"namespace": "shop"}}),
    );
    context.bind(
        "oom",
        serde_json::json!({"oom_killed": true, "restarts": 3}),
    );
    let _ = gate.evaluate(&context);
});

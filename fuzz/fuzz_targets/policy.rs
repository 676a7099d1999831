//! The policy file: parsed and validated — an error naming the key, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(config) = nightwatch_core::policy::PolicyConfig::from_yaml(text) {
        let _ = config.validate();
    }
});

//! A Slack Socket Mode message (interactive buttons, slash commands, events): the commands it
//! carries, or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = nightwatch_notify::slack::commands_in(text);
});

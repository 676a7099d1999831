//! The config file, as `nightwatch serve` takes it: TOML into the typed sections, then every
//! check and resolution (durations, cron, limits, the model section). Never a panic; a bad
//! file is an error naming the key.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = nightwatch::config::Config::from_file_text(text);
    }
});

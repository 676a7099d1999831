//! A runbook file (YAML frontmatter and Markdown): parsed and loaded into a library beside the
//! built-ins, gates compiled — an error with a location, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = nightwatch_core::runbook::parse_runbook("fuzz.md", text);
    let _ = nightwatch_core::runbook::Library::load(&[("fuzz.md".to_owned(), text.to_owned())]);
});

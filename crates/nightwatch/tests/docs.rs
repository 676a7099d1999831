//! The documented example config must stay loadable by the real binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

#[test]
fn example_config_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/nightwatch.example.toml"
    );
    let output = Command::new(env!("CARGO_BIN_EXE_nightwatch"))
        .args(["--config", example, "migrate"])
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/doc.db", dir.path().display()),
        )
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("migrations applied"));
}

#[test]
fn version_names_the_commit_and_its_date() {
    for args in [&["version"][..], &["--version"][..]] {
        let output = Command::new(env!("CARGO_BIN_EXE_nightwatch"))
            .args(args)
            .output()
            .unwrap();
        assert!(output.status.success(), "{args:?}");
        let text = String::from_utf8(output.stdout).unwrap();
        let expected_start = format!("nightwatch {} (commit ", env!("CARGO_PKG_VERSION"));
        assert!(text.starts_with(&expected_start), "{args:?}: {text}");
        // `(commit 1a2b3c4d5e6f, 2026-12-03)` from a checkout; `unknown` outside one.
        let inside = text[expected_start.len()..]
            .trim_end()
            .trim_end_matches(')');
        let (commit, date) = inside.split_once(", ").unwrap();
        assert!(
            commit == "unknown"
                || (commit.len() == 12 && commit.chars().all(|c| c.is_ascii_hexdigit())),
            "{text}"
        );
        assert!(date == "unknown" || date.len() == 10, "{text}");
    }
}

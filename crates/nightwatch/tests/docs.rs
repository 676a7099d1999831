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

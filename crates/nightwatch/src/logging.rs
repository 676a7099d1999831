//! Logging: the level from the config (an `EnvFilter` directive such as `info` or
//! `nightwatch=debug`), plain text or JSON lines.

use anyhow::Context;
use tracing_subscriber::EnvFilter;

pub fn init(level: &str, json: bool) -> anyhow::Result<()> {
    let filter =
        EnvFilter::try_new(level).with_context(|| format!("invalid LOG_LEVEL {level:?}"))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().flatten_event(true).init();
    } else {
        builder.init();
    }
    Ok(())
}

//! What the loop calls tools through. The responder implements [`Toolbox`] over its read tools;
//! the loop adds the built-in `delegate` tool itself.

use crate::message::ToolDefinition;
use async_trait::async_trait;
use nightwatch_core::tool::ToolOutput;
use std::collections::BTreeSet;

#[async_trait]
pub trait Toolbox: Send + Sync {
    fn definitions(&self) -> Vec<ToolDefinition>;
    /// `Err` is a message for the model (it becomes an `is_error` tool result), not a crash.
    async fn call(&self, name: &str, args: serde_json::Value) -> Result<ToolOutput, String>;
}

/// A view of a toolbox that offers only the named tools (a sub-agent's toolbox).
pub struct Subset<'a> {
    inner: &'a dyn Toolbox,
    names: BTreeSet<String>,
}

impl<'a> Subset<'a> {
    pub fn new(inner: &'a dyn Toolbox, names: impl IntoIterator<Item = String>) -> Self {
        Self {
            inner,
            names: names.into_iter().collect(),
        }
    }
}

#[async_trait]
impl Toolbox for Subset<'_> {
    fn definitions(&self) -> Vec<ToolDefinition> {
        self.inner
            .definitions()
            .into_iter()
            .filter(|d| self.names.contains(&d.name))
            .collect()
    }

    async fn call(&self, name: &str, args: serde_json::Value) -> Result<ToolOutput, String> {
        if !self.names.contains(name) {
            return Err(format!("tool `{name}` is not available here"));
        }
        self.inner.call(name, args).await
    }
}

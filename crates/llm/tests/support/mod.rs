//! Shared test helpers: a scriptable toolbox that records its calls, and investigators wired to
//! the fake servers through the production clients.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use nightwatch_llm::fake::{FakeServer, Flavor, Reply};
use nightwatch_llm::{
    AnthropicProvider, Investigator, InvestigatorConfig, OpenAiProvider, RetrySettings,
    ToolDefinition, ToolOutput, Toolbox,
};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Behaviour = Box<dyn Fn(&Value) -> Result<ToolOutput, String> + Send + Sync>;

pub struct Tools {
    names: Vec<String>,
    behaviours: HashMap<String, Behaviour>,
    calls: Mutex<Vec<(String, Value)>>,
    sleep: Option<Duration>,
}

impl Tools {
    pub fn new(names: &[&str]) -> Self {
        Self {
            names: names.iter().map(|n| n.to_string()).collect(),
            behaviours: HashMap::new(),
            calls: Mutex::new(Vec::new()),
            sleep: None,
        }
    }

    pub fn with(
        mut self,
        name: &str,
        f: impl Fn(&Value) -> Result<ToolOutput, String> + Send + Sync + 'static,
    ) -> Self {
        self.behaviours.insert(name.to_string(), Box::new(f));
        self
    }

    /// Every call waits `d` of tokio time (tests run it in paused time).
    pub fn with_async_sleep(mut self, d: Duration) -> Self {
        self.sleep = Some(d);
        self
    }

    pub fn calls(&self) -> Vec<(String, Value)> {
        self.calls.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl Toolbox for Tools {
    fn definitions(&self) -> Vec<ToolDefinition> {
        self.names
            .iter()
            .map(|name| ToolDefinition {
                name: name.clone(),
                description: format!("the {name} tool"),
                input_schema: json!({"type": "object", "properties": {}}),
            })
            .collect()
    }

    async fn call(&self, name: &str, args: Value) -> Result<ToolOutput, String> {
        self.calls
            .lock()
            .unwrap()
            .push((name.to_string(), args.clone()));
        if let Some(d) = self.sleep {
            tokio::time::sleep(d).await;
        }
        match self.behaviours.get(name) {
            Some(f) => f(&args),
            None => Ok(ToolOutput::new(
                json!({"tool": name, "args": args}),
                format!("{name} ok"),
            )),
        }
    }
}

pub fn quick_http() -> RetrySettings {
    RetrySettings {
        timeout_secs: Some(10),
        max_attempts: 3,
        initial_backoff_ms: 500,
        max_backoff_ms: 60_000,
    }
}

pub fn config(model: &str) -> InvestigatorConfig {
    InvestigatorConfig {
        model: model.into(),
        max_tokens: 1000,
        ..InvestigatorConfig::default()
    }
}

pub async fn start(flavor: Flavor, script: Vec<Reply>) -> FakeServer {
    FakeServer::start(flavor, script).await.unwrap()
}

pub fn anthropic(server: &FakeServer, config: InvestigatorConfig) -> Investigator {
    let provider =
        AnthropicProvider::new("test-key", Some(&server.base_url()), quick_http()).unwrap();
    Investigator::new(Arc::new(provider), config)
}

pub fn openai(server: &FakeServer, config: InvestigatorConfig) -> Investigator {
    let provider = OpenAiProvider::new(
        Some("test-key"),
        Some(&server.base_url()),
        false,
        quick_http(),
    )
    .unwrap();
    Investigator::new(Arc::new(provider), config)
}

/// The Anthropic request bodies' last user message blocks.
pub fn last_user_blocks(body: &Value) -> Vec<Value> {
    let messages = body["messages"].as_array().unwrap();
    messages.last().unwrap()["content"]
        .as_array()
        .unwrap()
        .clone()
}

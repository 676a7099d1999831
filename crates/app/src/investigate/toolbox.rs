//! The tools an investigating model may call: the Kubernetes read tools (when nightwatch has
//! cluster access), the configured observability sources, and the runbook library. All read;
//! nothing here reaches the policy or the actuator.

use async_trait::async_trait;
use nightwatch_core::runbook::Library;
use nightwatch_core::tool::ToolOutput;
use nightwatch_kube::Kube;
use nightwatch_llm::{ToolDefinition, Toolbox};
use nightwatch_sources::Sources;
use serde_json::{Value, json};

pub struct InvestigationToolbox<'a> {
    pub kube: Option<&'a Kube>,
    pub sources: Option<&'a Sources>,
    pub library: &'a Library,
}

const LIST_RUNBOOKS: &str = "list_runbooks";
const GET_RUNBOOK: &str = "get_runbook";

fn runbook_tools() -> Vec<ToolDefinition> {
    vec![
        ToolDefinition {
            name: LIST_RUNBOOKS.to_owned(),
            description: "The runbooks nightwatch knows: id, title and the alerts each handles. \
                Useful to see how a similar problem is handled."
                .to_owned(),
            input_schema: json!({"type": "object", "properties": {}, "additionalProperties": false}),
        },
        ToolDefinition {
            name: GET_RUNBOOK.to_owned(),
            description: "One runbook's text and steps, by id (from list_runbooks).".to_owned(),
            input_schema: json!({
                "type": "object",
                "properties": {"id": {"type": "string"}},
                "required": ["id"],
                "additionalProperties": false
            }),
        },
    ]
}

/// The Kubernetes tools as the model's tool list wants them.
pub fn kube_definitions() -> impl Iterator<Item = ToolDefinition> {
    nightwatch_kube::agent_tools()
        .into_iter()
        .map(|tool| ToolDefinition {
            name: tool.name.to_owned(),
            description: tool.description.to_owned(),
            input_schema: tool.input_schema,
        })
}

/// Source tools as the model's tool list wants them.
pub fn source_definitions(
    tools: Vec<nightwatch_sources::ToolDefinition>,
) -> impl Iterator<Item = ToolDefinition> {
    tools.into_iter().map(|tool| ToolDefinition {
        name: tool.name.to_owned(),
        description: tool.description.to_owned(),
        input_schema: tool.input_schema,
    })
}

impl InvestigationToolbox<'_> {
    fn runbook_call(&self, name: &str, args: &Value) -> Result<ToolOutput, String> {
        if name == LIST_RUNBOOKS {
            let runbooks: Vec<Value> = self
                .library
                .iter()
                .map(|loaded| {
                    let runbook = &loaded.runbook;
                    json!({
                        "id": runbook.id,
                        "title": runbook.title,
                        "alertnames": runbook.matches.alertnames,
                        "reasons": runbook.matches.reasons,
                    })
                })
                .collect();
            return Ok(ToolOutput::new(
                json!({"runbooks": runbooks}),
                format!("{} runbooks", runbooks.len()),
            ));
        }
        let id = args["id"]
            .as_str()
            .ok_or("get_runbook needs `id`, a runbook id from list_runbooks")?;
        let loaded = self
            .library
            .get(id)
            .ok_or_else(|| format!("no runbook {id:?}; list_runbooks lists them"))?;
        let runbook = &loaded.runbook;
        let steps: Vec<Value> = runbook
            .steps
            .iter()
            .map(|step| json!({"id": step.id, "tool": step.tool, "when": step.gates().collect::<Vec<_>>()}))
            .collect();
        Ok(ToolOutput::new(
            json!({"id": runbook.id, "title": runbook.title, "steps": steps, "body": runbook.body}),
            format!("runbook {}: {}", runbook.id, runbook.title),
        ))
    }
}

#[async_trait]
impl Toolbox for InvestigationToolbox<'_> {
    fn definitions(&self) -> Vec<ToolDefinition> {
        let mut tools = Vec::new();
        if self.kube.is_some() {
            tools.extend(kube_definitions());
        }
        if let Some(sources) = self.sources {
            tools.extend(source_definitions(sources.definitions()));
        }
        tools.extend(runbook_tools());
        tools
    }

    async fn call(&self, name: &str, args: Value) -> Result<ToolOutput, String> {
        if name == LIST_RUNBOOKS || name == GET_RUNBOOK {
            return self.runbook_call(name, &args);
        }
        if nightwatch_kube::is_agent_tool(name) {
            let Some(kube) = self.kube else {
                return Err("no cluster access: the Kubernetes tools are not available".to_owned());
            };
            return kube
                .agent_tool(name, &args)
                .await
                .map_err(|error| error.to_string());
        }
        match self.sources {
            Some(sources) if sources.definitions().iter().any(|tool| tool.name == name) => sources
                .call(name, args)
                .await
                .map_err(|error| error.to_string()),
            _ => Err(format!("unknown tool `{name}`")),
        }
    }
}

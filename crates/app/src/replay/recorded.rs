//! A case's recorded tool outputs as a toolbox. nightwatch's own tools keep their real
//! definitions (the model sees what it sees in production); third-party tools without a
//! counterpart are offered under their own names with an open schema. The runbook library is
//! live. A call to anything not recorded says so, the way a missing source would.

use super::case::Recording;
use crate::investigate::{InvestigationToolbox, kube_definitions, source_definitions};
use async_trait::async_trait;
use nightwatch_core::runbook::Library;
use nightwatch_core::tool::ToolOutput;
use nightwatch_llm::{ToolDefinition, Toolbox};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

pub struct RecordedToolbox {
    /// Tool → its recordings, in file order.
    recordings: BTreeMap<String, Vec<Recording>>,
    library: Arc<Library>,
}

impl RecordedToolbox {
    pub fn new(recordings: &[Recording], library: Arc<Library>) -> Self {
        let mut by_tool: BTreeMap<String, Vec<Recording>> = BTreeMap::new();
        for recording in recordings {
            by_tool
                .entry(recording.tool.clone())
                .or_default()
                .push(recording.clone());
        }
        RecordedToolbox {
            recordings: by_tool,
            library,
        }
    }

    fn library_tools(&self) -> InvestigationToolbox<'_> {
        InvestigationToolbox {
            kube: None,
            sources: None,
            library: &self.library,
        }
    }
}

/// The recording that answers a call: the `previous` one when previous logs are asked for,
/// else the first plain one, else the first.
fn pick<'a>(recordings: &'a [Recording], args: &Value) -> Option<&'a Recording> {
    let previous = args["previous"].as_bool() == Some(true);
    let wanted = previous.then_some("previous");
    recordings
        .iter()
        .find(|r| r.variant.as_deref() == wanted)
        .or_else(|| recordings.first())
}

#[async_trait]
impl Toolbox for RecordedToolbox {
    fn definitions(&self) -> Vec<ToolDefinition> {
        // nightwatch's own tools keep their real definitions.
        let mut own: BTreeMap<String, ToolDefinition> = kube_definitions()
            .chain(source_definitions(nightwatch_sources::definitions()))
            .map(|tool| (tool.name.clone(), tool))
            .collect();
        let mut tools: Vec<ToolDefinition> = self
            .recordings
            .keys()
            .map(|name| {
                own.remove(name).unwrap_or_else(|| ToolDefinition {
                    name: name.clone(),
                    description: format!(
                        "Recorded output of the tool `{name}` from the case's environment."
                    ),
                    input_schema: json!({"type": "object", "properties": {}, "additionalProperties": true}),
                })
            })
            .collect();
        tools.extend(
            self.library_tools()
                .definitions()
                .into_iter()
                .filter(|tool| !self.recordings.contains_key(&tool.name)),
        );
        tools
    }

    async fn call(&self, name: &str, args: Value) -> Result<ToolOutput, String> {
        let Some(recordings) = self.recordings.get(name) else {
            if ["list_runbooks", "get_runbook"].contains(&name) {
                return self.library_tools().call(name, args).await;
            }
            return Err(format!(
                "`{name}` has no recorded output in this case (not available)"
            ));
        };
        let Some(recording) = pick(recordings, &args) else {
            return Err(format!("`{name}` has no recorded output in this case"));
        };
        let data = serde_json::from_str::<Value>(&recording.output)
            .unwrap_or_else(|_| Value::String(recording.output.clone()));
        // nightwatch's own recordings are tool outputs as its tools return them, so runbook
        // gates read the same fields they read live.
        if let Ok(output) = serde_json::from_value::<ToolOutput>(data.clone())
            && data.as_object().is_some_and(|o| o.len() == 2)
        {
            return Ok(output);
        }
        // A JSON recording's first line is a brace: show its compact start instead.
        let gist = match &data {
            Value::String(text) => text
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("")
                .to_owned(),
            structured => structured.to_string(),
        };
        let mut summary = format!("recorded {name} ({}): ", recording.file);
        summary.extend(gist.chars().take(200));
        Ok(ToolOutput::new(data, summary))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recording(tool: &str, variant: Option<&str>, output: &str) -> Recording {
        Recording {
            tool: tool.into(),
            variant: variant.map(str::to_owned),
            file: format!("{tool}.txt"),
            params: serde_json::Value::Null,
            output: output.into(),
        }
    }

    #[tokio::test]
    async fn recordings_answer_by_tool_and_variant() {
        let library = Arc::new(Library::builtin().unwrap());
        let toolbox = RecordedToolbox::new(
            &[
                recording("get_pod_logs", None, "current line"),
                recording("get_pod_logs", Some("previous"), "crashed line"),
                recording("eks_deployments", None, "{\"deployments\": []}"),
            ],
            library,
        );
        let names: Vec<String> = toolbox.definitions().into_iter().map(|d| d.name).collect();
        assert_eq!(
            names,
            vec![
                "eks_deployments",
                "get_pod_logs",
                "list_runbooks",
                "get_runbook"
            ]
        );
        let own = &toolbox.definitions()[1];
        assert_eq!(
            own.input_schema["required"],
            json!(["namespace", "pod"]),
            "the real schema"
        );
        let previous = toolbox
            .call("get_pod_logs", json!({"previous": true}))
            .await
            .unwrap();
        assert_eq!(previous.data, json!("crashed line"));
        let current = toolbox.call("get_pod_logs", json!({})).await.unwrap();
        assert!(current.summary.ends_with("current line"));
        let structured = toolbox.call("eks_deployments", json!({})).await.unwrap();
        assert_eq!(structured.data, json!({"deployments": []}));
        let missing = toolbox.call("get_node_ready", json!({})).await.unwrap_err();
        assert!(missing.contains("no recorded output"), "{missing}");
        let runbooks = toolbox.call("list_runbooks", json!({})).await.unwrap();
        assert!(runbooks.summary.ends_with("runbooks"));
    }
}

//! The built-in `delegate` tool's definition and argument checking. The loop runs the sub-agent
//! (see `Investigator::delegate`); depth is one because sub-agents are never offered this tool.

use crate::message::ToolDefinition;
use serde_json::{Value, json};
use std::collections::BTreeSet;

pub const NAME: &str = "delegate";

pub fn definition() -> ToolDefinition {
    ToolDefinition {
        name: NAME.into(),
        description: "Hand a focused sub-question to a sub-agent that starts with a fresh context \
            and only the tools you name. It returns a summary of its findings. Use it for \
            self-contained digging (for example reading many logs) so your own context stays \
            small. It shares your budget."
            .into(),
        input_schema: json!({
            "type": "object",
            "properties": {
                "question": {"type": "string", "description": "The question, with every detail the sub-agent needs: it sees nothing else."},
                "tools": {"type": "array", "items": {"type": "string"}, "description": "Names of the tools the sub-agent may use."}
            },
            "required": ["question", "tools"]
        }),
    }
}

#[derive(Debug, PartialEq)]
pub struct Request {
    pub question: String,
    pub tools: Vec<String>,
}

/// Checks the model's arguments; an `Err` goes back to the model as an error result.
pub fn parse(input: &Value, available: &BTreeSet<String>) -> Result<Request, String> {
    let question = input
        .get("question")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .ok_or("`question` must be a non-empty string")?;
    let tools = input
        .get("tools")
        .and_then(Value::as_array)
        .ok_or("`tools` must be an array of tool names")?;
    let mut names = Vec::new();
    for tool in tools {
        let name = tool.as_str().ok_or("`tools` must contain only strings")?;
        if name == NAME {
            return Err("a sub-agent cannot delegate further; leave `delegate` out".into());
        }
        if !available.contains(name) {
            let list: Vec<&str> = available.iter().map(String::as_str).collect();
            return Err(format!(
                "there is no tool `{name}` to give the sub-agent; the tools are: {}",
                list.join(", ")
            ));
        }
        if !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    }
    if names.is_empty() {
        return Err("name at least one tool for the sub-agent".into());
    }
    Ok(Request {
        question: question.to_string(),
        tools: names,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argument_checks() {
        let available: BTreeSet<String> = ["logs", "get_pod"].map(String::from).into();
        assert_eq!(
            parse(
                &json!({"question": " why? ", "tools": ["logs", "logs"]}),
                &available
            ),
            Ok(Request {
                question: "why?".into(),
                tools: vec!["logs".into()]
            })
        );
        for bad in [
            json!({"tools": ["logs"]}),
            json!({"question": "", "tools": ["logs"]}),
            json!({"question": "q", "tools": "logs"}),
            json!({"question": "q", "tools": []}),
            json!({"question": "q", "tools": ["delegate"]}),
            json!({"question": "q", "tools": ["exec"]}),
        ] {
            assert!(parse(&bad, &available).is_err(), "{bad}");
        }
    }
}

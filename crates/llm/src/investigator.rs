//! The investigation loop: call the model, run the tools it asks for, feed the results back,
//! until it ends its turn or a budget is reached — then one last call without tools for a
//! write-up of what is known. Everything entering the conversation is redacted (and anonymised
//! when asked) first; tool outputs are truncated; repeated calls are answered from the rule, not
//! executed; a model that keeps repeating itself is stopped.

use crate::anonymise::Anonymiser;
use crate::budget::{Budget, BudgetKind, Meter, Spend};
use crate::canonical::canonical;
use crate::delegate;
use crate::message::{
    ChatRequest, ContentBlock, Message, Role, StopReason, ToolCall, ToolChoice, ToolDefinition,
};
use crate::pricing::PriceTable;
use crate::provider::Provider;
use crate::redact::{redact_text, redact_value};
use crate::toolbox::Toolbox;
use crate::transcript::{Event, Transcript};
use crate::truncate::truncate;
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct InvestigatorConfig {
    pub model: String,
    /// Per response.
    pub max_tokens: u32,
    pub budget: Budget,
    pub prices: PriceTable,
    /// Tool output larger than this (bytes of text) is cut with a marker.
    pub max_tool_output_bytes: usize,
    /// Repeated identical calls tolerated before the loop stops as `loop_detected`.
    pub max_repeats: u32,
    /// Offer the built-in `delegate` tool to the main agent.
    pub delegation: bool,
    /// The sub-agents' system prompt.
    pub sub_agent_system: String,
}

impl Default for InvestigatorConfig {
    fn default() -> Self {
        Self {
            model: String::new(),
            max_tokens: 4096,
            budget: Budget::default(),
            prices: PriceTable::default(),
            max_tool_output_bytes: 16 * 1024,
            max_repeats: 3,
            delegation: true,
            sub_agent_system: "You are a sub-agent helping an SRE investigation of a Kubernetes \
                incident. Answer the question you are given using the tools available. Reply with \
                a concise summary of your findings and the evidence for them."
                .into(),
        }
    }
}

/// One investigation's inputs.
pub struct Task<'a> {
    pub system: &'a str,
    pub prompt: &'a str,
    pub toolbox: &'a dyn Toolbox,
    pub anonymiser: Option<&'a Anonymiser>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Stop {
    /// The model finished on its own.
    EndTurn,
    /// The model's last answer hit the per-response token limit.
    MaxTokens,
    Budget {
        budget: BudgetKind,
    },
    LoopDetected,
    /// The provider failed (after retries); `error` says provider, status and message.
    ProviderError {
        error: String,
    },
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::EndTurn => f.write_str("end of turn"),
            Self::MaxTokens => f.write_str("response token limit"),
            Self::Budget { budget } => write!(f, "budget reached: {}", budget_name(*budget)),
            Self::LoopDetected => f.write_str("loop detected: the same tool calls keep repeating"),
            Self::ProviderError { error } => write!(f, "provider error: {error}"),
        }
    }
}

fn budget_name(kind: BudgetKind) -> &'static str {
    match kind {
        BudgetKind::Steps => "steps",
        BudgetKind::InputTokens => "input tokens",
        BudgetKind::OutputTokens => "output tokens",
        BudgetKind::WallTime => "wall time",
        BudgetKind::Cost => "cost",
    }
}

/// Where the answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerSource {
    /// The model's own final message.
    Model,
    /// The tool-less write-up asked for when a budget or the loop guard stopped it.
    WriteUp,
    /// The write-up was impossible: the assistant text gathered so far (may be empty).
    Partial,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Investigation {
    /// With anonymised names restored.
    pub answer: String,
    pub source: AnswerSource,
    pub stop: Stop,
    pub spend: Spend,
    pub transcript: Transcript,
}

pub struct Investigator {
    provider: Arc<dyn Provider>,
    config: InvestigatorConfig,
}

/// The toolbox of a tool-less call.
struct NoTools;

#[async_trait::async_trait]
impl Toolbox for NoTools {
    fn definitions(&self) -> Vec<ToolDefinition> {
        Vec::new()
    }

    async fn call(
        &self,
        name: &str,
        _args: serde_json::Value,
    ) -> Result<nightwatch_core::tool::ToolOutput, String> {
        Err(format!("no tools are available here (asked for `{name}`)"))
    }
}

/// State shared by the main agent and its sub-agents during one run.
struct Run<'a> {
    meter: Meter,
    transcript: Transcript,
    anonymiser: Option<&'a Anonymiser>,
    delegations: u32,
}

struct Outcome {
    answer: String,
    source: AnswerSource,
    stop: Stop,
}

/// One agent's conversation.
struct Agent<'a> {
    label: String,
    system: String,
    toolbox: &'a dyn Toolbox,
    delegate: bool,
    tools: Vec<ToolDefinition>,
    messages: Vec<Message>,
    seen: HashSet<String>,
    repeats: u32,
    sent_system: bool,
    /// Text the loop added since the last request, for the transcript.
    pending_text: Vec<String>,
}

impl Investigator {
    pub fn new(provider: Arc<dyn Provider>, config: InvestigatorConfig) -> Self {
        Self { provider, config }
    }

    pub fn config(&self) -> &InvestigatorConfig {
        &self.config
    }

    pub async fn run(&self, task: Task<'_>) -> Investigation {
        self.run_with(task, self.config.delegation).await
    }

    /// One answer without tools (writing up from given facts): the same redaction,
    /// anonymisation, budgets and transcript as an investigation.
    pub async fn write(
        &self,
        system: &str,
        prompt: &str,
        anonymiser: Option<&Anonymiser>,
    ) -> Investigation {
        let task = Task {
            system,
            prompt,
            toolbox: &NoTools,
            anonymiser,
        };
        self.run_with(task, false).await
    }

    async fn run_with(&self, task: Task<'_>, delegation: bool) -> Investigation {
        let mut run = Run {
            meter: Meter::new(self.config.budget.clone()),
            transcript: Transcript::default(),
            anonymiser: task.anonymiser,
            delegations: 0,
        };
        let system = clean(&run, task.system);
        let prompt = clean(&run, task.prompt);
        let outcome = self
            .agent(
                &mut run,
                "main".into(),
                system,
                prompt,
                task.toolbox,
                delegation,
            )
            .await;
        let spend = run.meter.spend();
        let answer = match run.anonymiser {
            Some(a) => a.restore(&outcome.answer),
            None => outcome.answer,
        };
        Investigation {
            answer,
            source: outcome.source,
            stop: outcome.stop,
            spend,
            transcript: run.transcript,
        }
    }

    /// Boxed because a delegated question runs an agent from inside an agent.
    fn agent<'a>(
        &'a self,
        run: &'a mut Run<'_>,
        label: String,
        system: String,
        prompt: String,
        toolbox: &'a dyn Toolbox,
        delegate: bool,
    ) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let mut tools = toolbox.definitions();
            tools.retain(|t| t.name != delegate::NAME);
            if delegate {
                tools.push(delegate::definition());
            }
            let mut agent = Agent {
                label,
                system,
                toolbox,
                delegate,
                tools,
                messages: vec![Message::user_text(prompt.clone())],
                seen: HashSet::new(),
                repeats: 0,
                sent_system: false,
                pending_text: vec![prompt],
            };
            let outcome = self.agent_loop(run, &mut agent).await;
            record(
                run,
                &agent.label,
                Event::Finished {
                    stop: outcome.stop.to_string(),
                    spend: run.meter.spend(),
                },
            );
            outcome
        })
    }

    async fn agent_loop(&self, run: &mut Run<'_>, agent: &mut Agent<'_>) -> Outcome {
        loop {
            if let Some(budget) = run.meter.exhausted() {
                return self.write_up(run, agent, Stop::Budget { budget }).await;
            }
            let response = match self.call(run, agent, ToolChoice::Auto).await {
                Ok(response) => response,
                Err(error) => {
                    return Outcome {
                        answer: gathered_text(&agent.messages),
                        source: AnswerSource::Partial,
                        stop: Stop::ProviderError { error },
                    };
                }
            };
            let calls: Vec<ToolCall> = response.message.tool_calls().cloned().collect();
            let text = response.message.text();
            agent.messages.push(response.message);
            if calls.is_empty() {
                let stop = match response.stop_reason {
                    StopReason::MaxTokens => Stop::MaxTokens,
                    _ => Stop::EndTurn,
                };
                // Models do end a turn with nothing to say right after tool results; what they
                // said along the way is then the best answer there is.
                if text.trim().is_empty() {
                    return Outcome {
                        answer: gathered_text(&agent.messages),
                        source: AnswerSource::Partial,
                        stop,
                    };
                }
                return Outcome {
                    answer: text,
                    source: AnswerSource::Model,
                    stop,
                };
            }
            let mut results = Vec::with_capacity(calls.len());
            for call in calls {
                results.push(self.execute(run, agent, call).await);
            }
            agent.messages.push(Message {
                role: Role::User,
                content: results,
            });
            if agent.repeats >= self.config.max_repeats {
                return self.write_up(run, agent, Stop::LoopDetected).await;
            }
        }
    }

    /// One model call, recorded and metered.
    async fn call(
        &self,
        run: &mut Run<'_>,
        agent: &mut Agent<'_>,
        tool_choice: ToolChoice,
    ) -> Result<crate::message::ChatResponse, String> {
        let step = run.meter.spend().steps + 1;
        let request = ChatRequest {
            model: self.config.model.clone(),
            system: agent.system.clone(),
            messages: agent.messages.clone(),
            tools: agent.tools.clone(),
            tool_choice,
            max_tokens: self.config.max_tokens,
        };
        let text = std::mem::take(&mut agent.pending_text);
        record(
            run,
            &agent.label,
            Event::Request {
                step,
                model: request.model.clone(),
                system: (!agent.sent_system).then(|| agent.system.clone()),
                text: (!text.is_empty()).then(|| text.join("\n")),
                tools: request.tools.iter().map(|t| t.name.clone()).collect(),
                tool_choice,
            },
        );
        agent.sent_system = true;
        match self.provider.complete(&request).await {
            Ok(response) => {
                // The answering model's id prices best (a deployment alias may hide it).
                let priced = if response.model.is_empty() {
                    &request.model
                } else {
                    &response.model
                };
                let cost = self.config.prices.cost(priced, response.usage);
                run.meter.record(response.usage, cost);
                record(
                    run,
                    &agent.label,
                    Event::Response {
                        step,
                        model: response.model.clone(),
                        message: response.message.clone(),
                        stop_reason: response.stop_reason.clone(),
                        usage: response.usage,
                        cost_usd: cost,
                    },
                );
                Ok(response)
            }
            Err(error) => {
                let message = error.to_string();
                tracing::warn!(agent = %agent.label, error = %message, "LLM call failed");
                record(
                    run,
                    &agent.label,
                    Event::ProviderError {
                        message: message.clone(),
                    },
                );
                Err(message)
            }
        }
    }

    /// The last call: same history, tools still defined (providers refuse tool blocks without
    /// them) but not allowed, and an instruction to write up what is known.
    async fn write_up(&self, run: &mut Run<'_>, agent: &mut Agent<'_>, stop: Stop) -> Outcome {
        let instruction = format!(
            "Stop investigating now ({stop}). Do not call any more tools. Write up what you know \
             so far: what happened, the most likely cause with its evidence, and what is still \
             unknown."
        );
        match agent.messages.last_mut() {
            Some(last) if last.role == Role::User => {
                last.content.push(ContentBlock::text(instruction.clone()));
            }
            _ => agent.messages.push(Message::user_text(instruction.clone())),
        }
        agent.pending_text.push(instruction);
        match self.call(run, agent, ToolChoice::None).await {
            Ok(response) if !response.message.text().trim().is_empty() => {
                let answer = response.message.text();
                agent.messages.push(response.message);
                Outcome {
                    answer,
                    source: AnswerSource::WriteUp,
                    stop,
                }
            }
            Ok(_) | Err(_) => Outcome {
                answer: gathered_text(&agent.messages),
                source: AnswerSource::Partial,
                stop,
            },
        }
    }

    /// Runs one tool call (or explains why not) and returns its `tool_result` block.
    async fn execute(
        &self,
        run: &mut Run<'_>,
        agent: &mut Agent<'_>,
        call: ToolCall,
    ) -> ContentBlock {
        record(
            run,
            &agent.label,
            Event::ToolCall {
                id: call.id.clone(),
                name: call.name.clone(),
                input: call.input.clone(),
            },
        );
        let key = format!(
            "{}\u{0}{}",
            call.name,
            call.invalid_input
                .clone()
                .unwrap_or_else(|| canonical(&call.input))
        );
        let mut repeat = false;
        let result: Result<String, String> = if let Some(raw) = &call.invalid_input {
            let why = serde_json::from_str::<serde_json::Value>(raw)
                .err()
                .map_or_else(String::new, |e| format!(" ({e})"));
            Err(format!(
                "the arguments for `{}` are not valid JSON{why}; call it again with a JSON object \
                 that matches its schema",
                call.name
            ))
        } else if !agent.tools.iter().any(|t| t.name == call.name) {
            let names: Vec<&str> = agent.tools.iter().map(|t| t.name.as_str()).collect();
            Err(format!(
                "there is no tool `{}`; the tools are: {}",
                call.name,
                names.join(", ")
            ))
        } else if !agent.seen.insert(key) {
            repeat = true;
            agent.repeats += 1;
            Err(format!(
                "repeated call: `{}` was already called with these arguments and its result is \
                 above; it was not run again. Use that result or try something different.",
                call.name
            ))
        } else if agent.delegate && call.name == delegate::NAME {
            self.delegate(run, agent.toolbox, &call.input).await
        } else {
            let args = match run.anonymiser {
                Some(a) => a.restore_value(&call.input),
                None => call.input.clone(),
            };
            match agent.toolbox.call(&call.name, args).await {
                Ok(output) => {
                    let mut data = output.data;
                    redact_value(&mut data);
                    let text = if data.is_null() {
                        output.summary
                    } else {
                        format!("{}\n{}", output.summary, data)
                    };
                    Ok(clean(run, &text))
                }
                Err(message) => Err(clean(run, &message)),
            }
        };
        let is_error = result.is_err();
        let full = result.unwrap_or_else(|e| e);
        let content = truncate(&full, self.config.max_tool_output_bytes);
        record(
            run,
            &agent.label,
            Event::ToolResult {
                id: call.id.clone(),
                name: call.name.clone(),
                content: content.clone(),
                is_error,
                original_bytes: full.len(),
                truncated: content != full,
                repeat,
            },
        );
        ContentBlock::ToolResult {
            tool_use_id: call.id,
            content,
            is_error,
        }
    }

    /// The `delegate` tool: a sub-agent with a fresh context and the named tools (never
    /// `delegate` itself), drawing on the same budget. Its answer is the tool's result.
    async fn delegate(
        &self,
        run: &mut Run<'_>,
        toolbox: &dyn Toolbox,
        input: &serde_json::Value,
    ) -> Result<String, String> {
        let available: BTreeSet<String> = toolbox
            .definitions()
            .into_iter()
            .map(|d| d.name)
            .filter(|n| n != delegate::NAME)
            .collect();
        let request = delegate::parse(input, &available)?;
        run.delegations += 1;
        let label = format!("delegate-{}", run.delegations);
        let subset = crate::toolbox::Subset::new(toolbox, request.tools);
        let system = clean(run, &self.config.sub_agent_system);
        let question = clean(run, &request.question);
        let outcome = self
            .agent(run, label, system, question, &subset, false)
            .await;
        match outcome.stop {
            Stop::EndTurn => Ok(outcome.answer),
            Stop::ProviderError { error } if outcome.answer.trim().is_empty() => {
                Err(format!("the sub-agent failed: {error}"))
            }
            stop => Ok(format!("[sub-agent stopped: {stop}]\n{}", outcome.answer)),
        }
    }
}

/// Redacts, then anonymises (placeholders never look like credentials, so the order is safe).
fn clean(run: &Run<'_>, text: &str) -> String {
    let redacted = redact_text(text);
    match run.anonymiser {
        Some(a) => a.anonymise(&redacted),
        None => redacted.into_owned(),
    }
}

fn record(run: &mut Run<'_>, agent: &str, event: Event) {
    let at_ms = run.meter.elapsed().as_millis() as u64;
    run.transcript.entries.push(crate::transcript::Entry {
        agent: agent.to_string(),
        at_ms,
        event,
    });
}

/// Everything the assistant said so far, for when no write-up could be had.
fn gathered_text(messages: &[Message]) -> String {
    let texts: Vec<String> = messages
        .iter()
        .filter(|m| m.role == Role::Assistant)
        .map(Message::text)
        .filter(|t| !t.trim().is_empty())
        .collect();
    texts.join("\n\n")
}

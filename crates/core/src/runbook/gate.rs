//! `when` gates: CEL expressions (the language Kubernetes admission policies use) over the
//! outputs of earlier steps plus `alert` and `incident`. CEL is side-effect free and always
//! terminates, so a user's runbook cannot do anything but answer true or false.

use cel::common::ast::{EntryExpr, Expr, IdedExpr};
use cel::objects::{Key, Map};
use cel::{Context, Program, Value};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GateError {
    #[error("does not parse: {0}")]
    Parse(String),
    #[error("could not be evaluated: {0}")]
    Evaluate(String),
    #[error("evaluated to {0}, not a boolean")]
    NotBoolean(String),
}

/// A compiled gate.
#[derive(Debug)]
pub struct Gate {
    source: String,
    program: Program,
}

/// The names a gate can read: each earlier step's output data by step id, `alert`
/// (`labels`, `annotations`, `alertname`, `status`) and `incident`.
#[derive(Debug, Default, Clone)]
pub struct GateContext {
    variables: Vec<(String, serde_json::Value)>,
}

impl GateContext {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn bind(&mut self, name: &str, value: serde_json::Value) {
        self.variables.retain(|(bound, _)| bound != name);
        self.variables.push((name.to_owned(), value));
    }
}

impl Gate {
    pub fn compile(source: &str) -> Result<Self, GateError> {
        let program =
            Program::compile(source).map_err(|error| GateError::Parse(error.to_string()))?;
        Ok(Self {
            source: source.to_owned(),
            program,
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// Free variables the gate reads (names bound by macros such as `all(x, …)` excluded).
    pub fn variables(&self) -> BTreeSet<String> {
        let mut bound = BTreeSet::new();
        collect_bound(self.program.expression(), &mut bound);
        self.program
            .references()
            .variables()
            .into_iter()
            .filter(|name| !bound.contains(*name))
            .map(str::to_owned)
            .collect()
    }

    pub fn evaluate(&self, context: &GateContext) -> Result<bool, GateError> {
        let mut cel = Context::default();
        for (name, value) in &context.variables {
            cel.add_variable_from_value(name.clone(), json_to_cel(value));
        }
        match self.program.execute(&cel) {
            Ok(Value::Bool(answer)) => Ok(answer),
            Ok(other) => Err(GateError::NotBoolean(format!("{other:?}"))),
            Err(error) => Err(GateError::Evaluate(error.to_string())),
        }
    }
}

/// Names introduced by comprehensions (`all`, `exists`, `map`, `filter`) anywhere in `expr`.
fn collect_bound(expr: &IdedExpr, bound: &mut BTreeSet<String>) {
    match &expr.expr {
        Expr::Comprehension(comprehension) => {
            bound.insert(comprehension.iter_var.clone());
            if let Some(second) = &comprehension.iter_var2 {
                bound.insert(second.clone());
            }
            bound.insert(comprehension.accu_var.clone());
            for part in [
                &comprehension.iter_range,
                &comprehension.accu_init,
                &comprehension.loop_cond,
                &comprehension.loop_step,
                &comprehension.result,
            ] {
                collect_bound(part, bound);
            }
        }
        Expr::Call(call) => {
            if let Some(target) = &call.target {
                collect_bound(target, bound);
            }
            for arg in &call.args {
                collect_bound(arg, bound);
            }
        }
        Expr::List(list) => list.elements.iter().for_each(|e| collect_bound(e, bound)),
        Expr::Map(map) => {
            for entry in &map.entries {
                match &entry.expr {
                    EntryExpr::StructField(field) => collect_bound(&field.value, bound),
                    EntryExpr::MapEntry(entry) => {
                        collect_bound(&entry.key, bound);
                        collect_bound(&entry.value, bound);
                    }
                }
            }
        }
        Expr::Select(select) => collect_bound(&select.operand, bound),
        _ => {}
    }
}

/// JSON → CEL value. Written out (rather than through serde) because the workspace's
/// serde_json keeps numbers in arbitrary precision, which serde-based converters mis-read.
fn json_to_cel(value: &serde_json::Value) -> Value {
    match value {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(flag) => Value::Bool(*flag),
        serde_json::Value::Number(number) => {
            if let Some(int) = number.as_i64() {
                Value::Int(int)
            } else if let Some(uint) = number.as_u64() {
                Value::UInt(uint)
            } else {
                Value::Float(number.as_f64().unwrap_or(f64::NAN))
            }
        }
        serde_json::Value::String(text) => Value::String(Arc::new(text.clone())),
        serde_json::Value::Array(items) => {
            Value::List(Arc::new(items.iter().map(json_to_cel).collect()))
        }
        serde_json::Value::Object(fields) => {
            let map: HashMap<Key, Value> = fields
                .iter()
                .map(|(key, value)| (Key::from(key.clone()), json_to_cel(value)))
                .collect();
            Value::Map(Map::from(map))
        }
    }
}

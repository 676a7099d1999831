//! Estimated cost per model: USD per million input / output tokens. Lookup is by the longest
//! table key that the model name starts with, so dated model ids (`claude-sonnet-4-5-20250929`)
//! find their family. Unknown models use the table's default, which is deliberately high so a
//! cost budget cannot be outrun by a model nobody priced.

use crate::message::Usage;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Price {
    pub input_per_mtok: f64,
    pub output_per_mtok: f64,
}

impl Price {
    pub const fn new(input_per_mtok: f64, output_per_mtok: f64) -> Self {
        Self {
            input_per_mtok,
            output_per_mtok,
        }
    }

    pub fn cost(&self, usage: Usage) -> f64 {
        (usage.input_tokens as f64 * self.input_per_mtok
            + usage.output_tokens as f64 * self.output_per_mtok)
            / 1_000_000.0
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PriceTable {
    pub models: BTreeMap<String, Price>,
    pub default: Price,
}

impl Default for PriceTable {
    /// List prices as published when this was written; configuration overrides them.
    fn default() -> Self {
        let known = [
            ("claude-opus-4-5", Price::new(5.0, 25.0)),
            ("claude-opus-4", Price::new(15.0, 75.0)),
            ("claude-sonnet-4", Price::new(3.0, 15.0)),
            ("claude-3-7-sonnet", Price::new(3.0, 15.0)),
            ("claude-3-5-sonnet", Price::new(3.0, 15.0)),
            ("claude-haiku-4-5", Price::new(1.0, 5.0)),
            ("claude-3-5-haiku", Price::new(0.8, 4.0)),
            ("gpt-4o-mini", Price::new(0.15, 0.6)),
            ("gpt-4o", Price::new(2.5, 10.0)),
            ("gpt-4.1-nano", Price::new(0.1, 0.4)),
            ("gpt-4.1-mini", Price::new(0.4, 1.6)),
            ("gpt-4.1", Price::new(2.0, 8.0)),
        ];
        Self {
            models: known
                .into_iter()
                .map(|(name, price)| (name.to_string(), price))
                .collect(),
            default: Price::new(15.0, 75.0),
        }
    }
}

impl PriceTable {
    pub fn price(&self, model: &str) -> Price {
        self.models
            .iter()
            .filter(|(key, _)| model.starts_with(key.as_str()))
            .max_by_key(|(key, _)| key.len())
            .map_or(self.default, |(_, price)| *price)
    }

    pub fn cost(&self, model: &str, usage: Usage) -> f64 {
        self.price(model).cost(usage)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_by_longest_prefix() {
        let table = PriceTable::default();
        let cases = [
            ("claude-opus-4-5-20251101", 5.0),
            ("claude-opus-4-1-20250805", 15.0),
            ("claude-sonnet-4-5-20250929", 3.0),
            ("gpt-4o-mini-2024-07-18", 0.15),
            ("gpt-4o-2024-08-06", 2.5),
            ("llama3.1:8b", 15.0),
        ];
        for (model, input) in cases {
            assert_eq!(table.price(model).input_per_mtok, input, "{model}");
        }
        let usage = Usage {
            input_tokens: 2_000_000,
            output_tokens: 100_000,
        };
        assert!((table.cost("claude-sonnet-4-5", usage) - 7.5).abs() < 1e-9);
    }
}

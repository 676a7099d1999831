//! A bounded memory of recently handled deliveries, so a retried envelope is acknowledged again
//! but not acted on twice. The oldest key is forgotten first.

use std::collections::{HashSet, VecDeque};

#[derive(Debug)]
pub(crate) struct RecentIds {
    capacity: usize,
    order: VecDeque<String>,
    known: HashSet<String>,
}

impl RecentIds {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            order: VecDeque::new(),
            known: HashSet::new(),
        }
    }

    /// Remembers every key; true when any of them had been seen before.
    pub fn seen_before(&mut self, keys: &[String]) -> bool {
        let seen = keys.iter().any(|k| self.known.contains(k));
        for key in keys {
            if self.known.insert(key.clone()) {
                self.order.push_back(key.clone());
            }
        }
        while self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.known.remove(&old);
            }
        }
        seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(k: &[&str]) -> Vec<String> {
        k.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn remembers_and_forgets_the_oldest() {
        let mut r = RecentIds::new(3);
        assert!(!r.seen_before(&keys(&["envelope:1", "event:a"])));
        assert!(r.seen_before(&keys(&["envelope:1"])));
        // A fresh envelope id with a known event id is still a repeat.
        assert!(r.seen_before(&keys(&["envelope:2", "event:a"])));
        assert!(!r.seen_before(&keys(&["envelope:3"])));
        // Capacity 3: envelope:1 has been pushed out.
        assert!(!r.seen_before(&keys(&["envelope:1"])));
        assert!(!r.seen_before(&[]));
    }
}

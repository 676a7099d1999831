//! Keeps tool outputs from flooding the context: text over the limit keeps its head and tail
//! (logs end with the failure, objects start with their identity) around a visible marker that
//! says how much was cut, so the model knows it is not seeing everything.

/// Cuts `text` to at most about `limit` bytes plus the marker.
pub fn truncate(text: &str, limit: usize) -> String {
    let total = text.len();
    if total <= limit {
        return text.to_string();
    }
    let head_len = floor_char_boundary(text, limit * 3 / 4);
    let tail_start = ceil_char_boundary(text, total - (limit - limit * 3 / 4));
    let tail_start = tail_start.max(head_len);
    let cut = tail_start - head_len;
    format!(
        "{}\n[… truncated {cut} of {total} bytes …]\n{}",
        &text[..head_len],
        &text[tail_start..]
    )
}

fn floor_char_boundary(text: &str, mut index: usize) -> usize {
    while index > 0 && !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

fn ceil_char_boundary(text: &str, mut index: usize) -> usize {
    while index < text.len() && !text.is_char_boundary(index) {
        index += 1;
    }
    index
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_unchanged() {
        assert_eq!(truncate("hello", 5), "hello");
    }

    #[test]
    fn long_text_keeps_head_and_tail_with_marker() {
        let text = format!("HEAD{}TAIL", "x".repeat(10_000));
        let out = truncate(&text, 100);
        assert!(out.starts_with("HEAD"));
        assert!(out.ends_with("TAIL"));
        assert!(out.contains("[… truncated 9908 of 10008 bytes …]"), "{out}");
        assert!(out.len() < 200);
    }

    #[test]
    fn never_splits_a_character() {
        let text = "é".repeat(1000);
        for limit in [1, 7, 99, 500] {
            let out = truncate(&text, limit);
            assert!(out.contains("truncated"));
        }
    }
}

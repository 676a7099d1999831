//! Kubernetes quantities (`500m`, `2`, `512Mi`, `1G`) read as numbers, enough to compare a
//! quota's use with its limit.

/// The quantity as a plain number (`250m` → 0.25, `1Ki` → 1024); `None` when it is not one.
pub fn parse(text: &str) -> Option<f64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let factor = match suffix {
        "" => 1.0,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        "Ti" => 1024.0_f64.powi(4),
        _ => return None,
    };
    Some(number * factor)
}

/// `used >= hard`, when both are quantities.
pub fn at_least(used: &str, hard: &str) -> bool {
    matches!((parse(used), parse(hard)), (Some(u), Some(h)) if u >= h)
}

#[cfg(test)]
mod tests {
    #[test]
    fn quantities() {
        assert_eq!(super::parse("250m"), Some(0.25));
        assert_eq!(super::parse("512Mi"), Some(512.0 * 1024.0 * 1024.0));
        assert_eq!(super::parse("2"), Some(2.0));
        assert_eq!(super::parse("lots"), None);
        assert!(super::at_least("10", "10"));
        assert!(!super::at_least("8", "10"));
        assert!(super::at_least("1Gi", "1000Mi"));
    }
}

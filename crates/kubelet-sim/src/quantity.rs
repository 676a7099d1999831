//! Kubernetes resource quantities ("300Mi", "1.5Gi", "500m", "2") as plain numbers.

use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
#[error("not a Kubernetes quantity: {0:?}")]
pub struct QuantityError(pub String);

/// The value of a quantity in base units (bytes for memory, cores for CPU).
pub fn parse(text: &str) -> Result<f64, QuantityError> {
    let err = || QuantityError(text.to_string());
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    // "1e3" is a decimal exponent, not the suffix "e3".
    let (number, suffix) = match suffix.strip_prefix(['e', 'E']) {
        Some(exp) if !exp.is_empty() && exp.parse::<i32>().is_ok() => {
            let value: f64 = number.parse().map_err(|_| err())?;
            let exp: i32 = exp.parse().map_err(|_| err())?;
            return Ok(value * 10f64.powi(exp));
        }
        _ => (number, suffix),
    };
    let value: f64 = number.parse().map_err(|_| err())?;
    let factor = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        "Ti" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        "Pi" => 1024.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0,
        "Ei" => 1024.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return Err(err()),
    };
    Ok(value * factor)
}

/// A memory quantity in whole bytes (rounded up, as the API server does for fractions).
pub fn parse_bytes(text: &str) -> Result<u64, QuantityError> {
    let value = parse(text)?;
    if value < 0.0 || !value.is_finite() {
        return Err(QuantityError(text.to_string()));
    }
    Ok(value.ceil() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_suffix_form() {
        let cases: &[(&str, f64)] = &[
            ("300Mi", 300.0 * 1024.0 * 1024.0),
            ("1Gi", 1073741824.0),
            ("8Gi", 8.0 * 1073741824.0),
            ("1.5Gi", 1.5 * 1073741824.0),
            ("128974848", 128974848.0),
            ("129e6", 129e6),
            ("129M", 129e6),
            ("500m", 0.5),
            ("2", 2.0),
            ("64Ki", 65536.0),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text), Ok(*want), "{text}");
        }
    }

    #[test]
    fn rejects_garbage() {
        for text in ["", "Mi", "12Xi", "abc", "1.2.3Mi"] {
            assert!(parse(text).is_err(), "{text}");
        }
        assert!(parse_bytes("-1Mi").is_err());
    }
}

//! Memory quantities as Kubernetes writes them (`128Mi`, `1G`, `1.5Gi`, `129e6`, `500000`),
//! parsed to whole bytes and written back in the most readable exact form.

use thiserror::Error;

pub const KI: u64 = 1 << 10;
pub const MI: u64 = 1 << 20;
pub const GI: u64 = 1 << 30;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid memory quantity {quantity:?}: {reason}")]
pub struct QuantityError {
    pub quantity: String,
    pub reason: &'static str,
}

fn error(quantity: &str, reason: &'static str) -> QuantityError {
    QuantityError {
        quantity: quantity.to_owned(),
        reason,
    }
}

/// A multiplier as a fraction `numerator / denominator`.
fn suffix_multiplier(suffix: &str) -> Option<(u128, u128)> {
    let pow10 = |n: u32| 10u128.pow(n);
    Some(match suffix {
        "" => (1, 1),
        "Ki" => (1 << 10, 1),
        "Mi" => (1 << 20, 1),
        "Gi" => (1 << 30, 1),
        "Ti" => (1 << 40, 1),
        "Pi" => (1 << 50, 1),
        "Ei" => (1 << 60, 1),
        "n" => (1, pow10(9)),
        "u" => (1, pow10(6)),
        "m" => (1, pow10(3)),
        // Kubernetes writes kilo as `k`; `K` is accepted as people write it.
        "k" | "K" => (pow10(3), 1),
        "M" => (pow10(6), 1),
        "G" => (pow10(9), 1),
        "T" => (pow10(12), 1),
        "P" => (pow10(15), 1),
        "E" => (pow10(18), 1),
        _ => {
            // A decimal exponent: e3, E-2, e+9.
            let exponent = suffix
                .strip_prefix('e')
                .or_else(|| suffix.strip_prefix('E'))?;
            let digits = exponent
                .strip_prefix('+')
                .or_else(|| exponent.strip_prefix('-'))
                .unwrap_or(exponent);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let value: u32 = digits.parse().ok()?;
            if value > 30 {
                return None;
            }
            if exponent.starts_with('-') {
                (1, pow10(value))
            } else {
                (pow10(value), 1)
            }
        }
    })
}

/// Whole bytes of a memory quantity, rounded up (as the kubelet does for fractional bytes).
pub fn parse_memory(quantity: &str) -> Result<u64, QuantityError> {
    let text = quantity.trim();
    let unsigned = text.strip_prefix('+').unwrap_or(text);
    if unsigned.starts_with('-') {
        return Err(error(quantity, "negative"));
    }
    let number_len = unsigned
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(unsigned.len());
    let (number, suffix) = unsigned.split_at(number_len);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() {
        return Err(error(quantity, "no number"));
    }
    if fraction.contains('.') {
        return Err(error(quantity, "more than one decimal point"));
    }
    if whole.len() + fraction.len() > 30 {
        return Err(error(quantity, "too many digits"));
    }
    let (multiplier, divisor) =
        suffix_multiplier(suffix).ok_or_else(|| error(quantity, "unknown suffix"))?;
    let mantissa: u128 = format!("{whole}{fraction}")
        .parse()
        .map_err(|_| error(quantity, "not a number"))?;
    let scale = 10u128.pow(fraction.len() as u32);
    let overflow = || error(quantity, "too large");
    let numerator = mantissa.checked_mul(multiplier).ok_or_else(overflow)?;
    let denominator = scale.checked_mul(divisor).ok_or_else(overflow)?;
    let bytes = numerator.div_ceil(denominator);
    u64::try_from(bytes).map_err(|_| overflow())
}

/// `Gi` or `Mi` when the value is a whole number of them, else plain bytes.
pub fn format_memory(bytes: u64) -> String {
    if bytes == 0 {
        "0".to_owned()
    } else if bytes.is_multiple_of(GI) {
        format!("{}Gi", bytes / GI)
    } else if bytes.is_multiple_of(MI) {
        format!("{}Mi", bytes / MI)
    } else {
        bytes.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_suffix() {
        let table: &[(&str, u64)] = &[
            ("128Mi", 128 * MI),
            ("1Gi", GI),
            ("4Gi", 4 * GI),
            ("1.5Gi", 3 * GI / 2),
            ("512Ki", 512 * KI),
            ("1Ti", 1 << 40),
            ("2Pi", 2 << 50),
            ("1Ei", 1 << 60),
            ("1k", 1000),
            ("1K", 1000),
            ("500M", 500_000_000),
            ("1G", 1_000_000_000),
            ("2T", 2_000_000_000_000),
            ("1P", 1_000_000_000_000_000),
            ("1E", 1_000_000_000_000_000_000),
            ("134217728", 128 * MI),
            ("0", 0),
            ("129e6", 129_000_000),
            ("1E6", 1_000_000),
            ("1e+3", 1000),
            ("1.5e3", 1500),
            ("12e-1", 2), // 1.2 bytes, rounded up
            ("100m", 1),  // a tenth of a byte, rounded up
            ("1000m", 1),
            ("0.5", 1),
            (".5Ki", 512),
            ("5.", 5),
            ("+1Mi", MI),
            (" 64Mi ", 64 * MI),
            ("1n", 1),
            ("1000000u", 1),
        ];
        for (text, bytes) in table {
            assert_eq!(parse_memory(text), Ok(*bytes), "{text}");
        }
    }

    #[test]
    fn rejects_what_is_not_a_quantity() {
        for text in [
            "", "Mi", "-1Mi", "1MB", "1mi", "1.2.3", "abc", "1e", "1e99", "1 Mi", "1Mii", "16Ei",
            "1e-", ".",
        ] {
            assert!(parse_memory(text).is_err(), "{text:?} parsed");
        }
        let err = parse_memory("12XB").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid memory quantity \"12XB\": unknown suffix"
        );
    }

    #[test]
    fn formats_exact_units() {
        let table: &[(u64, &str)] = &[
            (0, "0"),
            (MI, "1Mi"),
            (256 * MI, "256Mi"),
            (1024 * MI, "1Gi"),
            (3 * GI / 2, "1536Mi"),
            (4 * GI, "4Gi"),
            (KI, "1024"),
            (1_000_000_000, "1000000000"),
            (129 * MI + 1, "135266305"),
        ];
        for (bytes, text) in table {
            assert_eq!(format_memory(*bytes), *text, "{bytes}");
        }
    }

    #[test]
    fn formatting_round_trips() {
        for bytes in [0, 1, KI, MI, 3 * MI, GI, 5 * GI, 123_456_789] {
            assert_eq!(parse_memory(&format_memory(bytes)), Ok(bytes));
        }
    }
}

//! The property the `byte_size` fuzz target checks: `--spool-cap` sizes read as an independent
//! reading predicts, and what is printed reads back.
//!
//! - Any text either reads as a size or is refused, and a size it reads is exactly the digits
//!   times the unit's factor (IEC or SI, the unit matched without regard to case), computed here
//!   without the parser; anything else (signs, fractions, unknown units) is refused.
//! - The printed form of any number reads back to that number.

use otsentry::delivery::{format_size, parse_size};

/// The factor of a unit as written after the number, or `None` for no unit this build knows.
fn factor_of(unit: &str) -> Option<u128> {
    let factor = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        _ => return None,
    };
    Some(factor)
}

/// What `parse_size` should give for `text`, by a reading of its own.
fn predicted(text: &str) -> Option<u64> {
    let trimmed = text.trim();
    let digits: String = trimmed.chars().take_while(char::is_ascii_digit).collect();
    if digits.is_empty() {
        return None;
    }
    let unit = trimmed[digits.len()..].trim_start();
    let factor = factor_of(unit)?;
    // Leading zeros aside, more than 39 digits cannot fit even a u128.
    let significant = digits.trim_start_matches('0');
    if significant.len() > 30 {
        return None;
    }
    let value = significant
        .parse::<u128>()
        .unwrap_or(0)
        .checked_mul(factor)?;
    u64::try_from(value).ok()
}

/// Checks both properties on one input.
pub fn check_byte_size(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    assert_eq!(parse_size(&text).ok(), predicted(&text), "{text:?}");
    let mut bytes = [0u8; 8];
    for (slot, byte) in bytes.iter_mut().zip(data) {
        *slot = *byte;
    }
    let number = u64::from_le_bytes(bytes);
    assert_eq!(parse_size(&format_size(number)), Ok(number));
}

#[cfg(test)]
mod tests {
    use super::check_byte_size;

    #[test]
    fn regression_inputs() {
        for input in [
            "",
            "0",
            "512MiB",
            " 1 gib ",
            "18446744073709551615",
            "18446744073709551616",
            "00000000000000000000000000000000000000000001KiB",
            "16777216TiB",
            "1.5GiB",
            "-1",
            "1 M",
            "\u{a0}1KiB",
            "1\u{a0}KiB",
        ] {
            check_byte_size(input.as_bytes());
        }
    }
}

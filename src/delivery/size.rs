//! Byte sizes as people write them on a command line (`512MiB`, `1 GiB`, `200MB`, `65536`): a
//! whole number with an optional unit, IEC (KiB, MiB, GiB, TiB) or SI (kB, MB, GB, TB), and the
//! inverse, which prints a size in the largest unit that divides it, so that parsing what was
//! printed gives the same number back.

use thiserror::Error;

/// Every unit, largest factor first, so the first that divides a size is the one
/// [`format_size`] prints (`B` before the bare number, which means bytes too).
const UNITS: [(&str, u64); 10] = [
    ("TiB", 1 << 40),
    ("TB", 1_000_000_000_000),
    ("GiB", 1 << 30),
    ("GB", 1_000_000_000),
    ("MiB", 1 << 20),
    ("MB", 1_000_000),
    ("KiB", 1 << 10),
    ("kB", 1_000),
    ("B", 1),
    ("", 1),
];

/// Why a size could not be read.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum SizeError {
    #[error(
        "{text:?} is not a size: expected a whole number with an optional unit (B, KiB, MiB, GiB, TiB, kB, MB, GB, TB), e.g. 512MiB"
    )]
    Malformed { text: String },
    #[error("{text:?} is larger than {max} bytes", max = u64::MAX)]
    TooLarge { text: String },
}

/// Parses a size: digits, optional spaces, an optional unit (matched without regard to case,
/// so `mib` and `MIB` are MiB and `kb` is kB).
pub fn parse_size(text: &str) -> Result<u64, SizeError> {
    let malformed = || SizeError::Malformed {
        text: text.to_string(),
    };
    let trimmed = text.trim();
    let digits_end = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (digits, unit) = trimmed.split_at(digits_end);
    if digits.is_empty() {
        return Err(malformed());
    }
    let unit = unit.trim_start();
    let factor = UNITS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(unit))
        .map(|(_, factor)| *factor)
        .ok_or_else(malformed)?;
    let too_large = || SizeError::TooLarge {
        text: text.to_string(),
    };
    digits
        .parse::<u64>()
        .map_err(|_| too_large())?
        .checked_mul(factor)
        .ok_or_else(too_large)
}

/// Prints `bytes` in the largest unit that divides it exactly (`512 MiB`, `1 GB`, `65537 B`).
pub fn format_size(bytes: u64) -> String {
    let (name, factor) = UNITS
        .iter()
        .find(|(_, factor)| bytes != 0 && bytes.is_multiple_of(*factor))
        .copied()
        .unwrap_or(("B", 1));
    format!("{} {name}", bytes / factor)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn check(text: &str, expected: Result<u64, &str>) {
        match (parse_size(text), expected) {
            (Ok(found), Ok(expected)) => assert_eq!(found, expected, "{text:?}"),
            (Err(error), Err(part)) => {
                let message = error.to_string();
                assert!(message.contains(part), "{text:?}: {message}");
            }
            (found, expected) => panic!("{text:?}: {found:?}, expected {expected:?}"),
        }
    }

    #[test]
    fn sizes_read_as_written() {
        check("65536", Ok(65536));
        check("512MiB", Ok(512 << 20));
        check("512 MiB", Ok(512 << 20));
        check(" 1gib ", Ok(1 << 30));
        check("2TiB", Ok(2 << 40));
        check("200MB", Ok(200_000_000));
        check("64kB", Ok(64_000));
        check("64KB", Ok(64_000));
        check("64KiB", Ok(65_536));
        check("10B", Ok(10));
        check("0", Ok(0));
    }

    #[test]
    fn bad_sizes_are_named() {
        check("", Err("\"\" is not a size"));
        check("MiB", Err("is not a size"));
        check("1.5GiB", Err("\"1.5GiB\" is not a size"));
        check("-1", Err("is not a size"));
        check("12 parsecs", Err("e.g. 512MiB"));
        check("1 M", Err("is not a size"));
        check("99999999999999999999", Err("larger than"));
        check("20000000TiB", Err("larger than"));
    }

    #[test]
    fn sizes_print_in_their_largest_exact_unit() {
        assert_eq!(format_size(512 << 20), "512 MiB");
        assert_eq!(format_size(1 << 30), "1 GiB");
        assert_eq!(format_size(200_000_000), "200 MB");
        assert_eq!(format_size(65_537), "65537 B");
        assert_eq!(format_size(1_000_000_000_000), "1 TB");
        assert_eq!(format_size(1_024_000), "1000 KiB");
        assert_eq!(format_size(0), "0 B");
    }

    proptest! {
        #[test]
        fn what_is_printed_parses_back(bytes in any::<u64>()) {
            prop_assert_eq!(parse_size(&format_size(bytes)), Ok(bytes));
        }

        #[test]
        fn a_number_and_a_unit_is_their_product(n in 0u64..1 << 24, unit_idx in 0usize..UNITS.len()) {
            let (name, factor) = UNITS[unit_idx];
            prop_assert_eq!(parse_size(&format!("{n}{name}")), Ok(n * factor));
        }

        #[test]
        fn any_text_is_a_size_or_an_error(text in "\\PC{0,24}") {
            let _ = parse_size(&text);
        }
    }
}

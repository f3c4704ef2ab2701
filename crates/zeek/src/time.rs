//! Zeek `time` values: epoch seconds with a fraction (TSV and most JSON), ISO-8601 strings (JSON
//! written with `JSON::TS_ISO8601`), and the `XXXXXXXXXX.XXXXXX` mask of test baselines.
//!
//! Times are kept as whole microseconds since the Unix epoch in an `i64`, parsed by hand without
//! going through a float, so that `1424273686.951089` reads back exactly.

use std::fmt;

/// A log time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Timestamp {
    /// Microseconds since 1970-01-01T00:00:00Z.
    Micros(i64),
    /// A btest baseline replaced the time with `X`s: the value is unknown, not wrong.
    Masked,
}

impl Timestamp {
    /// Parses epoch seconds (`1424273686.951089`, `-1.5`, `1424273686`), ISO-8601
    /// (`2015-02-18T15:34:46.951089Z`, with `Z` or a `+hh:mm` offset) or a mask of `X`s.
    pub fn parse(raw: &str) -> Option<Timestamp> {
        // Epoch seconds are by far the most common, so they are tried first.
        if let Some(micros) = parse_epoch(raw) {
            return Some(Timestamp::Micros(micros));
        }
        if !raw.is_empty() && raw.bytes().all(|byte| byte == b'X' || byte == b'.') {
            return Some(Timestamp::Masked);
        }
        if raw.len() >= 19 && raw.as_bytes().get(4) == Some(&b'-') {
            return parse_iso8601(raw).map(Timestamp::Micros);
        }
        None
    }

    /// Microseconds since the epoch, unless masked.
    pub fn micros(self) -> Option<i64> {
        match self {
            Timestamp::Micros(micros) => Some(micros),
            Timestamp::Masked => None,
        }
    }

    /// Seconds since the epoch, unless masked.
    pub fn seconds(self) -> Option<f64> {
        self.micros().map(|micros| micros as f64 / 1e6)
    }

    /// True for a btest mask.
    pub fn is_masked(self) -> bool {
        matches!(self, Timestamp::Masked)
    }
}

impl fmt::Display for Timestamp {
    /// Writes epoch seconds with six decimals, as Zeek does, or the mask.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Timestamp::Masked => formatter.write_str("XXXXXXXXXX.XXXXXX"),
            Timestamp::Micros(micros) => {
                let sign = if *micros < 0 { "-" } else { "" };
                let magnitude = micros.unsigned_abs();
                write!(
                    formatter,
                    "{sign}{}.{:06}",
                    magnitude / 1_000_000,
                    magnitude % 1_000_000
                )
            }
        }
    }
}

/// Seconds with any number of fraction digits (digits past the sixth are truncated), in one
/// pass over the bytes.
fn parse_epoch(raw: &str) -> Option<i64> {
    let bytes = raw.as_bytes();
    let (negative, digits) = match bytes.first() {
        Some(b'-') => (true, &bytes[1..]),
        _ => (false, bytes),
    };
    let mut seconds: i64 = 0;
    let mut micros: i64 = 0;
    let mut fraction_digits: Option<u32> = None;
    let mut any_digit = false;
    for &byte in digits {
        if byte == b'.' {
            if fraction_digits.is_some() {
                return None;
            }
            fraction_digits = Some(0);
            continue;
        }
        let digit = digit_value(byte)?;
        any_digit = true;
        match &mut fraction_digits {
            None => seconds = seconds.checked_mul(10)?.checked_add(digit)?,
            Some(count) => {
                if *count < 6 {
                    micros = micros * 10 + digit;
                    *count += 1;
                }
            }
        }
    }
    if !any_digit {
        return None;
    }
    for _ in fraction_digits.unwrap_or(0)..6 {
        micros *= 10;
    }
    let total = seconds.checked_mul(1_000_000)?.checked_add(micros)?;
    Some(if negative { -total } else { total })
}

fn digit_value(byte: u8) -> Option<i64> {
    byte.is_ascii_digit().then(|| i64::from(byte - b'0'))
}

/// `YYYY-MM-DDTHH:MM:SS[.ffffff](Z|±HH:MM)`; a missing zone means UTC.
fn parse_iso8601(raw: &str) -> Option<i64> {
    let bytes = raw.as_bytes();
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let text = raw.get(range)?;
        if text.bytes().all(|byte| byte.is_ascii_digit()) {
            text.parse().ok()
        } else {
            None
        }
    };
    let year = number(0..4)?;
    let month = number(5..7)?;
    let day = number(8..10)?;
    let hour = number(11..13)?;
    let minute = number(14..16)?;
    let second = number(17..19)?;
    if bytes.get(7) != Some(&b'-')
        || !matches!(bytes.get(10), Some(b'T' | b't' | b' '))
        || bytes.get(13) != Some(&b':')
        || bytes.get(16) != Some(&b':')
        || !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = &raw[19..];
    let mut micros = 0;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        micros = parse_epoch(&format!("0.{}", &fraction[..digits]))?;
        rest = &fraction[digits..];
    }
    let offset_seconds = match rest {
        "" | "Z" | "z" => 0,
        zone => {
            let sign = match zone.as_bytes().first() {
                Some(b'+') => 1,
                Some(b'-') => -1,
                _ => return None,
            };
            let zone = &zone[1..];
            let (hours, minutes) = zone
                .split_once(':')
                .unwrap_or((zone.get(..2)?, zone.get(2..)?));
            let hours: i64 = hours.parse().ok()?;
            let minutes: i64 = if minutes.is_empty() {
                0
            } else {
                minutes.parse().ok()?
            };
            sign * (hours * 3600 + minutes * 60)
        }
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_seconds;
    Some(seconds * 1_000_000 + micros)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let shifted_month = (month + 9) % 12;
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn check(raw: &str, expected: Option<Timestamp>) {
        assert_eq!(Timestamp::parse(raw), expected, "{raw:?}");
    }

    #[test]
    fn parses_the_forms_zeek_writes() {
        check(
            "1424273686.951089",
            Some(Timestamp::Micros(1_424_273_686_951_089)),
        );
        check(
            "1424273686.9526",
            Some(Timestamp::Micros(1_424_273_686_952_600)),
        );
        check("1424273686", Some(Timestamp::Micros(1_424_273_686_000_000)));
        check("XXXXXXXXXX.XXXXXX", Some(Timestamp::Masked));
        check(
            "2015-02-18T15:34:46.951089Z",
            Some(Timestamp::Micros(1_424_273_686_951_089)),
        );
        check(
            "2015-02-18T16:34:46.951089+01:00",
            Some(Timestamp::Micros(1_424_273_686_951_089)),
        );
        check("1970-01-01T00:00:00Z", Some(Timestamp::Micros(0)));
        check("", None);
        check("abc", None);
        check("12.3.4", None);
        check("2015-13-18T15:34:46Z", None);
    }

    #[test]
    fn displays_like_zeek() {
        assert_eq!(
            Timestamp::Micros(1_424_273_686_951_089).to_string(),
            "1424273686.951089"
        );
        assert_eq!(Timestamp::Masked.to_string(), "XXXXXXXXXX.XXXXXX");
    }

    proptest! {
        #[test]
        fn display_then_parse_is_identity(micros in -10_000_000_000_000_000i64..10_000_000_000_000_000) {
            let timestamp = Timestamp::Micros(micros);
            prop_assert_eq!(Timestamp::parse(&timestamp.to_string()), Some(timestamp));
        }
    }
}

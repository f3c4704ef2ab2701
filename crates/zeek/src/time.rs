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
        // Zeek's own `seconds.micros` is by far the most common form, so it has a fast path.
        if let Some(micros) = parse_zeek_epoch(raw) {
            return Some(Timestamp::Micros(micros));
        }
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

impl serde::Serialize for Timestamp {
    /// Serializes as the text Zeek writes (`1424273686.951089` or the mask), which keeps every
    /// microsecond that a JSON float could lose.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl Timestamp {
    /// ISO-8601 in UTC with microseconds (`2015-02-18T15:34:46.951089Z`), or the mask.
    pub fn to_iso8601(self) -> String {
        let Timestamp::Micros(micros) = self else {
            return "XXXX-XX-XXTXX:XX:XX.XXXXXXZ".to_owned();
        };
        let seconds = micros.div_euclid(1_000_000);
        let fraction = micros.rem_euclid(1_000_000);
        let days = seconds.div_euclid(86_400);
        let second_of_day = seconds.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        format!(
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{fraction:06}Z",
            second_of_day / 3600,
            second_of_day / 60 % 60,
            second_of_day % 60
        )
    }
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
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

/// Exactly what Zeek writes: 1 to 12 digits, a dot, 6 digits. Digits are checked and summed
/// in straight-line loops the compiler unrolls; anything else goes to [`parse_epoch`].
#[inline]
fn parse_zeek_epoch(raw: &str) -> Option<i64> {
    let bytes = raw.as_bytes();
    let length = bytes.len();
    if !(8..=19).contains(&length) || bytes[length - 7] != b'.' {
        return None;
    }
    let mut value: i64 = 0;
    for &byte in &bytes[..length - 7] {
        let digit = byte.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        value = value * 10 + i64::from(digit);
    }
    for &byte in &bytes[length - 6..] {
        let digit = byte.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        value = value * 10 + i64::from(digit);
    }
    Some(value)
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

    #[test]
    fn formats_iso8601_in_utc() {
        assert_eq!(
            Timestamp::Micros(1_424_273_686_951_089).to_iso8601(),
            "2015-02-18T15:34:46.951089Z"
        );
        assert_eq!(
            Timestamp::Micros(-1).to_iso8601(),
            "1969-12-31T23:59:59.999999Z"
        );
    }

    proptest! {
        #[test]
        fn iso8601_then_parse_is_identity(micros in -10_000_000_000_000_000i64..10_000_000_000_000_000) {
            let timestamp = Timestamp::Micros(micros);
            prop_assert_eq!(Timestamp::parse(&timestamp.to_iso8601()), Some(timestamp));
        }

        #[test]
        fn display_then_parse_is_identity(micros in -10_000_000_000_000_000i64..10_000_000_000_000_000) {
            let timestamp = Timestamp::Micros(micros);
            prop_assert_eq!(Timestamp::parse(&timestamp.to_string()), Some(timestamp));
        }
    }
}

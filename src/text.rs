//! Text from outside (what an AI principal stores, what comes off the network, what a Zeek log
//! holds) made safe to print on an analyst's terminal. Such text is stored exactly as received;
//! only its terminal form is escaped, so that a scorer cannot clear, redraw or retitle the screen
//! of the person reading `alert list`, nor reorder what they read with bidirectional overrides.
//!
//! Two views: [`escape_terminal`] for text printed as it is (table cells, status lines), and
//! [`json_for_terminal`] for JSON printed to a terminal, which stays valid JSON with the same
//! value. Beside them, [`human_duration`]: how the tables write a delay, and [`rfc3339`] and
//! [`rfc3339_micros`]: how alerts, tables and records write a time.

use std::borrow::Cow;
use std::fmt::Write;

/// Whether a character can change how a terminal shows what follows it: the C0 and C1 control
/// characters and DEL (escape sequences, carriage return, backspace, bell), and the Unicode
/// bidirectional embeddings, overrides and isolates (which reorder the text around them).
fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every character that could steer a terminal written as `\u{..}`; tabs and
/// newlines too, so one value stays one line. Text without such characters is returned as it
/// is, without copying.
pub fn escape_terminal(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for ch in text.chars() {
        if is_unsafe(ch) {
            let _ = write!(out, "\\u{{{:x}}}", ch as u32);
        } else {
            out.push(ch);
        }
    }
    Cow::Owned(out)
}

/// A JSON document (as serde_json writes it) with the characters serde_json leaves raw but a
/// terminal acts on (DEL, the C1 controls, bidirectional controls) written as `\uXXXX` escapes.
/// Those characters can only occur inside JSON strings, where the escape means the same
/// character, so the document keeps its value. serde_json already escapes the C0 controls.
pub fn json_for_terminal(json: &str) -> Cow<'_, str> {
    if !json.chars().any(is_unsafe) {
        return Cow::Borrowed(json);
    }
    let mut escaped = String::with_capacity(json.len() + 8);
    for c in json.chars() {
        // Newlines and indentation between tokens are layout, not content.
        if is_unsafe(c) && !matches!(c, '\n' | '\t' | '\r') {
            let _ = write!(escaped, "\\u{:04x}", u32::from(c));
        } else {
            escaped.push(c);
        }
    }
    Cow::Owned(escaped)
}

/// Seconds as a person reads a delay: `0.6 s`, `12.5 min`, `25.6 h`.
pub fn human_duration(seconds: f64) -> String {
    if seconds < 120.0 {
        format!("{seconds:.1} s")
    } else if seconds < 7200.0 {
        format!("{:.1} min", seconds / 60.0)
    } else {
        format!("{:.1} h", seconds / 3600.0)
    }
}

/// A log time (seconds since the epoch) as RFC 3339 in UTC, to the microsecond; a time outside
/// the calendar's range is written as the number it is.
pub fn rfc3339(ts: f64) -> String {
    format_nanos((ts * 1e6).round() as i128 * 1000).unwrap_or_else(|| format!("{ts}"))
}

/// Epoch microseconds (how the store, the audit log and the simulator keep times) as RFC 3339
/// in UTC; a time outside the calendar's range is written as the number it is.
pub fn rfc3339_micros(micros: i64) -> String {
    format_nanos(i128::from(micros) * 1000).unwrap_or_else(|| micros.to_string())
}

fn format_nanos(nanos: i128) -> Option<String> {
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()?
        .format(&time::format_description::well_known::Rfc3339)
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: &str) {
        assert_eq!(escape_terminal(input), expected, "{input:?}");
    }

    #[test]
    fn controls_become_visible_escapes_and_other_text_is_untouched() {
        check("plc-7.local 10.0.0.5", "plc-7.local 10.0.0.5");
        check("Ünïcödé ✓", "Ünïcödé ✓");
        check("a\x1b[2Jb", "a\\u{1b}[2Jb");
        check("x\ny\tz\u{7f}", "x\\u{a}y\\u{9}z\\u{7f}");
        check("bell\u{7}\r", "bell\\u{7}\\u{d}");
        check("\u{9b}31m", "\\u{9b}31m");
        check("abc\u{202e}fed", "abc\\u{202e}fed");
        check("\u{2066}x\u{2069}", "\\u{2066}x\\u{2069}");
        assert!(matches!(escape_terminal("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn delays_read_in_the_unit_that_fits() {
        assert_eq!(human_duration(0.64), "0.6 s");
        assert_eq!(human_duration(119.9), "119.9 s");
        assert_eq!(human_duration(750.0), "12.5 min");
        assert_eq!(human_duration(92_160.0), "25.6 h");
    }

    #[test]
    fn json_keeps_its_value() {
        let value = serde_json::json!({"src": "\u{1b}[2J\u{9b}2J\u{7f}\u{202e}x", "n": 1});
        let pretty = serde_json::to_string_pretty(&value).unwrap();
        let safe = json_for_terminal(&pretty);
        assert!(!safe.chars().any(|c| is_unsafe(c) && c != '\n'), "{safe}");
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, value);
    }

    proptest::proptest! {
        #[test]
        fn terminal_text_never_holds_a_control(text in "\\PC*|[\\x00-\\x{a0}\\x{202a}-\\x{202e}]*") {
            let safe = escape_terminal(&text);
            proptest::prop_assert!(!safe.chars().any(is_unsafe));
        }

        #[test]
        fn json_for_the_terminal_parses_to_the_same_value(text in ".*|[\\x00-\\x{a0}\\x{2066}-\\x{2069}]*") {
            let value = serde_json::json!({"text": text});
            let json = serde_json::to_string(&value).unwrap();
            let safe = json_for_terminal(&json);
            proptest::prop_assert!(!safe.chars().any(is_unsafe));
            let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
            proptest::prop_assert_eq!(back, value);
        }
    }
}

//! Zeek's `\xNN` value escaping: decoding what Zeek wrote, and encoding values so that a TSV line
//! read back gives the same fields (used by the JSON reader, printing and the fuzz properties).
//!
//! Zeek's ASCII writer replaces bytes that would break the line (the separator, newlines, other
//! control bytes) with `\x` and two hex digits, and writes a value that would read as the unset or
//! empty marker with its first byte escaped. Decoding is the hot path, so it only allocates when a
//! backslash is present.

use std::borrow::Cow;

/// Decodes `\xNN` escapes. A backslash not followed by `x` and two hex digits is kept as is, which
/// is what Zeek's own readers do. Bytes that do not form UTF-8 after decoding become U+FFFD.
pub fn unescape(raw: &str) -> Cow<'_, str> {
    let bytes = raw.as_bytes();
    let Some(first) = memchr::memchr(b'\\', bytes) else {
        return Cow::Borrowed(raw);
    };
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[..first]);
    let mut idx = first;
    while idx < bytes.len() {
        let byte = bytes[idx];
        if byte == b'\\'
            && idx + 3 < bytes.len()
            && bytes[idx + 1] == b'x'
            && let (Some(high), Some(low)) = (hex_value(bytes[idx + 2]), hex_value(bytes[idx + 3]))
        {
            out.push(high << 4 | low);
            idx += 4;
            continue;
        }
        out.push(byte);
        idx += 1;
    }
    match String::from_utf8(out) {
        Ok(text) if text == raw => Cow::Borrowed(raw),
        Ok(text) => Cow::Owned(text),
        Err(error) => Cow::Owned(String::from_utf8_lossy(error.as_bytes()).into_owned()),
    }
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// How a value is being written, so [`escape_into`] knows which bytes would be ambiguous.
#[derive(Debug, Clone, Copy)]
pub struct EscapeContext<'a> {
    /// The field separator (a tab in every real log).
    pub separator: u8,
    /// Escaped inside set and vector items only.
    pub set_separator: &'a str,
    /// A whole value equal to this marker gets its first byte escaped.
    pub unset_field: &'a str,
    /// A whole value equal to this marker gets its first byte escaped.
    pub empty_field: &'a str,
    /// True when the value is one item of a set or vector.
    pub in_set: bool,
}

/// Appends `value` to `out` escaped so that [`unescape`] of the written text gives `value` back
/// and the text can't be mistaken for a separator, a line end, or the unset or empty marker.
///
/// A leading `#` is escaped too: in the first column it would make the line read as a header
/// directive, and escaping it everywhere keeps this function independent of the column.
pub fn escape_into(value: &str, context: &EscapeContext<'_>, out: &mut String) {
    let marker = value == context.unset_field || value == context.empty_field;
    if !value.is_empty() && (marker || value.starts_with('#')) {
        let mut chars = value.chars();
        if let Some(first) = chars.next() {
            push_escaped_char(first, out);
            escape_plain(chars.as_str(), context, out);
        }
        return;
    }
    escape_plain(value, context, out);
}

fn escape_plain(value: &str, context: &EscapeContext<'_>, out: &mut String) {
    let set_first = context.set_separator.chars().next();
    for character in value.chars() {
        let is_separator = character.is_ascii() && character as u32 == u32::from(context.separator);
        let is_set_separator = context.in_set && Some(character) == set_first;
        if character == '\\'
            || character.is_control() && character.is_ascii()
            || is_separator
            || is_set_separator
        {
            push_escaped_char(character, out);
        } else {
            out.push(character);
        }
    }
}

fn push_escaped_char(character: char, out: &mut String) {
    let mut buffer = [0u8; 4];
    for byte in character.encode_utf8(&mut buffer).bytes() {
        out.push_str("\\x");
        out.push(char::from_digit(u32::from(byte >> 4), 16).unwrap_or('0'));
        out.push(char::from_digit(u32::from(byte & 0xf), 16).unwrap_or('0'));
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const CONTEXT: EscapeContext<'static> = EscapeContext {
        separator: b'\t',
        set_separator: ",",
        unset_field: "-",
        empty_field: "(empty)",
        in_set: true,
    };

    fn check(raw: &str, expected: &str) {
        assert_eq!(unescape(raw), expected, "unescape({raw:?})");
    }

    #[test]
    fn decodes_hex_escapes_and_keeps_stray_backslashes() {
        check("plain", "plain");
        check("\\x09", "\t");
        check("a\\x2cb", "a,b");
        check("\\x2d", "-");
        check("C:\\temp", "C:\\temp");
        check("\\x4", "\\x4");
        check("\\xzz", "\\xzz");
        check("end\\", "end\\");
        check("\\xc3\\xa9", "é");
    }

    #[test]
    fn invalid_utf8_after_decoding_becomes_replacement_characters() {
        assert_eq!(unescape("\\xff"), "\u{fffd}");
    }

    #[test]
    fn markers_are_escaped_only_as_whole_values() {
        let mut out = String::new();
        escape_into("-", &CONTEXT, &mut out);
        assert_eq!(out, "\\x2d");
        out.clear();
        escape_into("a-b", &CONTEXT, &mut out);
        assert_eq!(out, "a-b");
        out.clear();
        escape_into("(empty)", &CONTEXT, &mut out);
        assert_eq!(out, "\\x28empty)");
        out.clear();
        escape_into("#fields", &CONTEXT, &mut out);
        assert_eq!(out, "\\x23fields");
    }

    proptest! {
        #[test]
        fn escape_then_unescape_is_identity(value in any::<String>()) {
            let mut out = String::new();
            escape_into(&value, &CONTEXT, &mut out);
            prop_assert!(!out.contains('\t') && !out.contains('\n') && !out.contains(','));
            prop_assert_eq!(unescape(&out), value.as_str());
        }
    }
}

//! Text that came from outside (off the network, from an AI principal, from a log) made safe for
//! a terminal: control characters are shown as escapes, never sent to the terminal, so a crafted
//! hostname or reason cannot clear or redraw an analyst's screen.

use std::borrow::Cow;
use std::fmt::Write;

/// `text` with every control character (C0, DEL, C1, and the bidirectional overrides that can
/// reorder what is shown) written as `\u{..}`; tabs and newlines too, so one value stays one line.
pub fn escape_terminal(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for ch in text.chars() {
        if needs_escape(ch) {
            let _ = write!(out, "\\u{{{:x}}}", ch as u32);
        } else {
            out.push(ch);
        }
    }
    Cow::Owned(out)
}

fn needs_escape(ch: char) -> bool {
    ch.is_control() || matches!(ch, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::escape_terminal;

    #[test]
    fn control_characters_are_shown_not_sent() {
        assert_eq!(escape_terminal("plc-7.local"), "plc-7.local");
        assert_eq!(escape_terminal("a\x1b[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(escape_terminal("x\ny\tz\u{7f}"), "x\\u{a}y\\u{9}z\\u{7f}");
        assert_eq!(escape_terminal("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(escape_terminal("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert!(!escape_terminal("\x07\x08\r").chars().any(char::is_control));
    }
}

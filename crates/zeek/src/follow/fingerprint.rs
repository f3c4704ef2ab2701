//! File identity for the follower: a checksum of a log's first lines, so that a file keeps its
//! identity when it is renamed, gzipped or moved into an archive directory.
//!
//! Device and inode numbers change when zeekctl gzips a log into its archive, and an inode is
//! reused after a delete, so they are only a hint (a cache key). The checksum covers the bytes up
//! to and including the first line that tells files apart: the `#open` line of a TSV header
//! (which carries the second the file was opened, after `#path`) or, for JSON and header-less
//! logs, the first data line (which carries a `ts` and a `uid`). The constant lines before it
//! (`#separator`, `#fields`, ...) are included, so logs of different paths differ. The checksum is
//! computed over decompressed bytes, so `conn.log` and the `conn.10:00:00-11:00:00.log.gz` it
//! becomes have the same fingerprint.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

/// The most bytes a fingerprint covers: a prefix this long identifies a file even when no line
/// in it ends the header (a very long first line).
pub const FINGERPRINT_BYTES: usize = 4096;

/// The identity of a followed file: the first 128 bits of the SHA-256 of its first lines, shown
/// as 32 lower-case hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint([u8; 16]);

impl Fingerprint {
    /// The fingerprint of a file whose decompressed content starts with `prefix` (the first
    /// [`FINGERPRINT_BYTES`] bytes or fewer), or `None` while the lines that identify the file
    /// are not complete yet (a file that holds only part of its header).
    pub fn of_prefix(prefix: &[u8]) -> Option<Fingerprint> {
        let prefix = &prefix[..prefix.len().min(FINGERPRINT_BYTES)];
        let mut start = 0;
        let end = loop {
            let Some(newline) = memchr::memchr(b'\n', &prefix[start..]) else {
                if prefix.len() == FINGERPRINT_BYTES {
                    break prefix.len();
                }
                return None;
            };
            let line = &prefix[start..start + newline];
            start += newline + 1;
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            // Blank lines carry nothing; constant header lines carry too little.
            if line.iter().all(|byte| *byte == b' ') {
                continue;
            }
            if line.first() != Some(&b'#') || line.starts_with(b"#open") {
                break start;
            }
        };
        let digest = Sha256::digest(&prefix[..end]);
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        Some(Fingerprint(bytes))
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "Fingerprint({self})")
    }
}

/// Why a text is not a fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected 32 lower-case hex digits, found {found:?}")]
pub struct BadFingerprint {
    found: String,
}

impl FromStr for Fingerprint {
    type Err = BadFingerprint;

    fn from_str(text: &str) -> Result<Fingerprint, BadFingerprint> {
        let bad = || BadFingerprint {
            found: text.chars().take(40).collect(),
        };
        let is_lower_hex = |byte: u8| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte);
        if text.len() != 32 || !text.bytes().all(is_lower_hex) {
            return Err(bad());
        }
        let mut bytes = [0u8; 16];
        hex::decode_to_slice(text, &mut bytes).map_err(|_| bad())?;
        Ok(Fingerprint(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n";

    fn print(text: &str) -> Option<Fingerprint> {
        Fingerprint::of_prefix(text.as_bytes())
    }

    #[test]
    fn a_header_is_identified_by_its_open_line() {
        let first = format!("{HEADER}#open\t2026-11-01-10-00-00\n");
        let later = format!("{first}#fields\tts\n#types\ttime\n1.0\n");
        assert!(print(&first).is_some());
        assert_eq!(
            print(&first),
            print(&later),
            "lines after #open do not count"
        );
        let next_hour = format!("{HEADER}#open\t2026-11-01-11-00-00\n");
        assert_ne!(print(&first), print(&next_hour));
        let other_path = first.replace("#path\tconn", "#path\tmodbus");
        assert_ne!(print(&first), print(&other_path));
    }

    #[test]
    fn an_incomplete_header_has_no_fingerprint_yet() {
        assert_eq!(print(""), None);
        assert_eq!(print(HEADER), None, "no #open and no data line yet");
        assert_eq!(print(&format!("{HEADER}#open\t2026-11-01")), None);
    }

    #[test]
    fn json_and_headerless_logs_are_identified_by_their_first_line() {
        let json = "{\"ts\":1.5,\"uid\":\"C1\"}\n";
        assert!(print(json).is_some());
        assert_eq!(print(json), print(&format!("{json}{{\"ts\":2.0}}\n")));
        assert_ne!(print(json), print("{\"ts\":1.5,\"uid\":\"C2\"}\n"));
        assert_eq!(print("{\"ts\":1.5"), None);
        assert!(print("\n\n1.0\tC1\n").is_some(), "blank lines are skipped");
    }

    #[test]
    fn a_long_first_line_is_identified_by_its_first_bytes() {
        let long = "x".repeat(FINGERPRINT_BYTES + 10);
        assert!(print(&long).is_some());
        assert_eq!(print(&long), print(&long[..FINGERPRINT_BYTES]));
        assert_eq!(print(&long[..FINGERPRINT_BYTES - 1]), None);
    }

    #[test]
    fn fingerprints_print_and_parse_as_hex() {
        let fingerprint = print("1.0\tC1\n").expect("a data line");
        let text = fingerprint.to_string();
        assert_eq!(text.len(), 32);
        assert_eq!(text.parse::<Fingerprint>(), Ok(fingerprint));
        for bad in [
            "",
            "abc",
            &text.to_uppercase(),
            &format!("{text}0"),
            &"g".repeat(32),
        ] {
            let error = bad.parse::<Fingerprint>().expect_err(bad);
            assert!(
                error
                    .to_string()
                    .starts_with("expected 32 lower-case hex digits")
            );
        }
    }
}

//! Strict YAML reading for policy files: a tight budget against hostile input and errors that
//! carry the line and column of the offending key.

use serde::de::DeserializeOwned;
use serde_saphyr::{Location, Spanned};

use super::error::PolicyError;

/// Policy files are a few kilobytes; anything much larger or deeper is refused rather than parsed.
fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_reader_input_bytes: Some(256 * 1024),
            max_events: 20_000,
            max_aliases: 0,
            max_anchors: 0,
            max_depth: 16,
            max_documents: 1,
            max_nodes: 10_000,
            max_total_scalar_bytes: 256 * 1024,
            max_merge_keys: 0,
        },
    }
}

/// Parses `text` into `T`, turning serde-saphyr's error into one that names origin, line and column.
pub fn parse<T: DeserializeOwned>(text: &str, origin: &str) -> Result<T, PolicyError> {
    serde_saphyr::from_str_with_options(text, options()).map_err(|error| {
        let location = error.location();
        let message = error.without_snippet().to_string();
        // serde-saphyr may prefix its own "line N column M:" text; keep only the message body.
        let message = strip_location_prefix(&message);
        PolicyError::Shape {
            origin: origin.to_string(),
            line: location.map_or(0, |l| l.line()),
            column: location.map_or(0, |l| l.column()),
            message,
        }
    })
}

/// Keeps serde-saphyr's message body: drops its own location text (we print ours in front) and
/// speaks of keys, which is what a policy author sees, rather than serde's fields and variants.
fn strip_location_prefix(message: &str) -> String {
    let first_line = message.lines().next().unwrap_or(message).trim();
    let body = match first_line.split_once(": ") {
        Some((head, rest)) if head.contains("line") && head.contains("column") => rest,
        _ => first_line,
    };
    let body = match body.rfind(" at line ") {
        Some(index) if body[index..].contains("column") => &body[..index],
        _ => body,
    };
    if body.contains("budget breached") && (body.contains("Anchors") || body.contains("Aliases")) {
        return "YAML anchors and aliases are not allowed in policy files".to_string();
    }
    if body.contains("budget breached") {
        return format!("policy file exceeds the size limits ({body})");
    }
    body.replace("unknown field", "unknown key")
        .replace("unknown variant", "unknown key")
}

/// The 1-based line where a spanned value was written.
pub fn line_of<T>(spanned: &Spanned<T>) -> u64 {
    line(&spanned.referenced)
}

fn line(location: &Location) -> u64 {
    location.line()
}

/// Builds a validation error for a spanned value.
pub fn invalid<T>(
    origin: &str,
    spanned: &Spanned<T>,
    key: &str,
    message: impl Into<String>,
) -> PolicyError {
    PolicyError::Invalid {
        origin: origin.to_string(),
        line: line_of(spanned),
        key: key.to_string(),
        message: message.into(),
    }
}

//! Strict YAML reading for inventory files: a budget sized for a large plant but not for hostile
//! input, and errors that carry the line and column of the offending key.

use serde::de::DeserializeOwned;

use super::error::InventoryError;

/// An inventory of a few thousand assets is a few megabytes; anything much larger or deeper is
/// refused rather than parsed. Anchors are allowed (a site may share one maintenance window among
/// many assets) but counted, so an alias bomb stops at the budget.
fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_reader_input_bytes: Some(16 * 1024 * 1024),
            max_events: 2_000_000,
            max_aliases: 10_000,
            max_anchors: 10_000,
            max_depth: 24,
            max_documents: 1,
            max_nodes: 1_000_000,
            max_total_scalar_bytes: 16 * 1024 * 1024,
            max_merge_keys: 10_000,
        },
    }
}

/// Parses `text` into `T`, turning serde-saphyr's error into one that names origin, line and column.
pub fn parse<T: DeserializeOwned>(text: &str, origin: &str) -> Result<T, InventoryError> {
    serde_saphyr::from_str_with_options(text, options()).map_err(|error| {
        let location = error.location();
        let message = error.without_snippet().to_string();
        InventoryError::Shape {
            origin: origin.to_string(),
            line: location.map_or(0, |l| l.line()),
            column: location.map_or(0, |l| l.column()),
            message: message_body(&message),
        }
    })
}

/// Keeps serde-saphyr's message body without its own location text (ours is printed in front),
/// speaking of keys, which is what an author sees, rather than serde's fields.
fn message_body(message: &str) -> String {
    let first_line = message.lines().next().unwrap_or(message).trim();
    let body = match first_line.split_once(": ") {
        Some((head, rest)) if head.contains("line") && head.contains("column") => rest,
        _ => first_line,
    };
    let body = match body.rfind(" at line ") {
        Some(index) if body[index..].contains("column") => &body[..index],
        _ => body,
    };
    if body.contains("budget breached") {
        return format!("inventory file exceeds the size limits ({body})");
    }
    body.replace("unknown field", "unknown key")
        .replace("missing field", "missing key")
}

//! Replaying the log against the state: every entry that changed state carries the rows it
//! wrote, so applying them in order yields what the security tables must hold. Any row that
//! differs, that no entry wrote, or that an entry wrote and is now gone, is named.

use std::collections::BTreeMap;

use super::entry::{AuditEntry, Effect};

/// One row the log does not explain.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Unexplained {
    pub table: String,
    pub key: String,
    /// What is wrong, in words.
    pub problem: String,
}

impl std::fmt::Display for Unexplained {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.table, self.key, self.problem)
    }
}

fn short(value: &serde_json::Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 80 {
        format!("{}...", text.chars().take(77).collect::<String>())
    } else {
        text
    }
}

fn differences(stored: &serde_json::Value, logged: &serde_json::Value) -> Vec<String> {
    let empty = serde_json::Map::new();
    let stored = stored.as_object().unwrap_or(&empty);
    let logged = logged.as_object().unwrap_or(&empty);
    let mut columns: Vec<&String> = stored.keys().chain(logged.keys()).collect();
    columns.sort();
    columns.dedup();
    columns
        .into_iter()
        .filter_map(|column| {
            let null = serde_json::Value::Null;
            let now = stored.get(column).unwrap_or(&null);
            let then = logged.get(column).unwrap_or(&null);
            (now != then).then(|| {
                format!(
                    "{column} is {} but the log says {}",
                    short(now),
                    short(then)
                )
            })
        })
        .collect()
}

/// Replays `entries` and compares the result with `state` (every row of every state table).
pub fn unexplained(entries: &[AuditEntry], state: &[Effect]) -> Vec<Unexplained> {
    let mut expected: BTreeMap<(&str, &str), (&serde_json::Value, i64)> = BTreeMap::new();
    let mut deleted: BTreeMap<(&str, &str), i64> = BTreeMap::new();
    for entry in entries {
        for effect in &entry.effects {
            let key = (effect.table.as_str(), effect.key.as_str());
            match &effect.row {
                Some(row) => {
                    expected.insert(key, (row, entry.seq));
                    deleted.remove(&key);
                }
                None => {
                    expected.remove(&key);
                    deleted.insert(key, entry.seq);
                }
            }
        }
    }
    let mut problems = Vec::new();
    for row in state {
        let key = (row.table.as_str(), row.key.as_str());
        let stored = row.row.as_ref().unwrap_or(&serde_json::Value::Null);
        match expected.remove(&key) {
            None => problems.push(Unexplained {
                table: row.table.clone(),
                key: row.key.clone(),
                problem: match deleted.get(&key) {
                    Some(seq) => format!("entry {seq} deleted this row, yet it exists"),
                    None => "no audit entry wrote this row".to_string(),
                },
            }),
            Some((logged, seq)) if logged != stored => problems.push(Unexplained {
                table: row.table.clone(),
                key: row.key.clone(),
                problem: format!(
                    "{} (last written by entry {seq})",
                    differences(stored, logged).join(", ")
                ),
            }),
            Some(_) => {}
        }
    }
    for ((table, key), (_, seq)) in expected {
        problems.push(Unexplained {
            table: table.to_string(),
            key: key.to_string(),
            problem: format!("entry {seq} wrote this row, and it is gone"),
        });
    }
    problems
}

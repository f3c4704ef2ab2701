//! Verifying the chain: walks the stored entries in storage order and names the first one that
//! was modified, removed, reordered or inserted (or whose signature does not verify).

use ed25519_dalek::{Signature, VerifyingKey};
use serde::Serialize;

use super::entry::{AuditEntry, GENESIS_HASH};

/// One row as the store holds it: its storage position, the entry JSON and the hash column.
#[derive(Debug, Clone)]
pub struct StoredEntry {
    pub row_seq: i64,
    pub json: String,
    pub hash: String,
}

/// The first place the chain is broken, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChainBreak {
    #[error("entry {seq} is not a valid audit entry: {message}")]
    Unreadable { seq: i64, message: String },
    #[error("entry {seq} was modified: its content no longer matches its hash")]
    Modified { seq: i64 },
    #[error("entry {seq} was removed: the chain jumps from entry {previous} to entry {found}")]
    Removed { seq: i64, previous: i64, found: i64 },
    #[error("entry {seq} was reordered: it is stored at position {position}")]
    Reordered { seq: i64, position: i64 },
    #[error(
        "an entry was inserted at position {position}: entry {seq} follows entries that are not part of the chain"
    )]
    Inserted { position: i64, seq: i64 },
    #[error(
        "entry {seq} does not link to entry {previous}: entry {previous} was rewritten with a fresh hash, or entry {seq} was forged"
    )]
    BrokenLink { seq: i64, previous: i64 },
    #[error("entry {seq} has no valid signature for the given public key")]
    BadSignature { seq: i64 },
    #[error("the log no longer contains the recorded head {head}: its newest entries were removed")]
    Truncated { head: String },
}

/// What a successful verification covered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    pub entries: usize,
    /// The last entry's hash: record it elsewhere to also detect truncation of the log's end.
    pub head: String,
    pub signatures_checked: bool,
}

/// Verifies `rows` (in storage order). With a key, every entry must carry a valid signature,
/// which also catches a forged entry appended with a correctly recomputed hash. With an
/// `expected_head` (a head reported earlier and kept elsewhere), the log must still contain that
/// entry, which catches removal of the newest entries.
pub fn verify_chain(
    rows: &[StoredEntry],
    key: Option<&VerifyingKey>,
    expected_head: Option<&str>,
) -> Result<VerifyReport, ChainBreak> {
    let mut entries = Vec::with_capacity(rows.len());
    for row in rows {
        let entry: AuditEntry =
            serde_json::from_str(&row.json).map_err(|error| ChainBreak::Unreadable {
                seq: row.row_seq,
                message: error.to_string(),
            })?;
        if entry.compute_hash() != entry.hash || entry.hash != row.hash {
            return Err(ChainBreak::Modified { seq: row.row_seq });
        }
        entries.push(entry);
    }

    let mut prev_hash = GENESIS_HASH.to_string();
    for (index, entry) in entries.iter().enumerate() {
        let position = i64::try_from(index).unwrap_or(i64::MAX).saturating_add(1);
        if entry.seq > position {
            // The entry that belongs here is either later in the table (reordered) or gone.
            if let Some(moved) = entries[index..].iter().position(|e| e.seq == position) {
                return Err(ChainBreak::Reordered {
                    seq: position,
                    position: position + i64::try_from(moved).unwrap_or(0),
                });
            }
            return Err(ChainBreak::Removed {
                seq: position,
                previous: position - 1,
                found: entry.seq,
            });
        }
        if entry.seq < position {
            // Everything from `entry.seq` up to here passed, so the extra rows were inserted.
            return Err(ChainBreak::Inserted {
                position: entry.seq,
                seq: entry.seq,
            });
        }
        if entry.prev_hash != prev_hash {
            // A self-consistent entry that does not link: either the previous entry was rewritten
            // with a fresh hash, or this one was forged; the chain alone cannot tell which.
            return Err(ChainBreak::BrokenLink {
                seq: position,
                previous: position - 1,
            });
        }
        if let Some(key) = key {
            let valid = entry
                .signature
                .as_deref()
                .and_then(|text| hex::decode(text).ok())
                .and_then(|bytes| <[u8; 64]>::try_from(bytes).ok())
                .map(|bytes| Signature::from_bytes(&bytes))
                .is_some_and(|signature| {
                    key.verify_strict(entry.hash.as_bytes(), &signature).is_ok()
                });
            if !valid {
                return Err(ChainBreak::BadSignature { seq: position });
            }
        }
        prev_hash.clone_from(&entry.hash);
    }
    if let Some(expected) = expected_head
        && !entries.iter().any(|entry| entry.hash == expected)
    {
        return Err(ChainBreak::Truncated {
            head: expected.to_string(),
        });
    }
    Ok(VerifyReport {
        entries: entries.len(),
        head: prev_hash,
        signatures_checked: key.is_some(),
    })
}

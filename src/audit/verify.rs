//! Verifying the chain: walks the stored entries in storage order and names the first one that
//! was modified, removed, reordered or inserted (or whose signature does not verify), checks the
//! head anchored outside the database, and replays the log against the state tables.

use ed25519_dalek::{Signature, VerifyingKey};
use serde::Serialize;

use super::entry::{AuditEntry, Effect, GENESIS_HASH};
use super::replay::{Unexplained, unexplained};
use super::sign::{ADOPT_KEY_ACTION, adopted_key_hex};

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
    #[error(
        "the log no longer contains entry {seq} with the head anchored beside the database ({hash}): the log was truncated or rewritten"
    )]
    AnchorMismatch { seq: i64, hash: String },
    #[error(
        "the log holds {entries} entries but no chain head is anchored beside the database: the head file was removed"
    )]
    AnchorMissing { entries: usize },
    #[error("entry {seq} adopts signing key {found}, but the key given is {expected}")]
    KeyMismatch {
        seq: i64,
        found: String,
        expected: String,
    },
    #[error(
        "{} row(s) of the security state are not explained by the audit log: {}",
        rows.len(),
        rows.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
    )]
    Unexplained { rows: Vec<Unexplained> },
}

/// What to check beyond the chain itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct VerifyOptions<'a> {
    /// Every entry must be signed by this key (and a key the log adopted must be this one).
    pub key: Option<&'a VerifyingKey>,
    /// A head kept elsewhere, which the log must still contain.
    pub head: Option<&'a str>,
}

/// The newest signing key the log adopted, if any (read without verifying the chain).
pub fn adopted_key(rows: &[StoredEntry]) -> Option<VerifyingKey> {
    rows.iter()
        .rev()
        .filter_map(|row| serde_json::from_str::<AuditEntry>(&row.json).ok())
        .find(|entry| entry.action == ADOPT_KEY_ACTION)
        .and_then(|entry| adopted_key_hex(&entry.resource))
        .and_then(|hex| key_from_hex(&hex))
}

fn key_from_hex(text: &str) -> Option<VerifyingKey> {
    let bytes = <[u8; 32]>::try_from(hex::decode(text).ok()?).ok()?;
    VerifyingKey::from_bytes(&bytes).ok()
}

fn signed_by(entry: &AuditEntry, key: &VerifyingKey) -> bool {
    entry
        .signature
        .as_deref()
        .and_then(|text| hex::decode(text).ok())
        .and_then(|bytes| <[u8; 64]>::try_from(bytes).ok())
        .map(|bytes| Signature::from_bytes(&bytes))
        .is_some_and(|signature| key.verify_strict(entry.hash.as_bytes(), &signature).is_ok())
}

/// Everything `audit verify` checks: the chain (with signatures from the given key or the key
/// the log adopted), the given head, the head anchored beside the database, and the replay of
/// the log against `state`.
pub fn verify_all(
    rows: &[StoredEntry],
    state: &[Effect],
    anchored: Option<(i64, String)>,
    options: &VerifyOptions<'_>,
) -> Result<VerifyReport, ChainBreak> {
    let report = verify_chain(rows, options.key, options.head)?;
    let entries: Vec<AuditEntry> = rows
        .iter()
        .filter_map(|row| serde_json::from_str(&row.json).ok())
        .collect();
    match anchored {
        Some((seq, hash))
            if !entries
                .iter()
                .any(|entry| entry.seq == seq && entry.hash == hash) =>
        {
            return Err(ChainBreak::AnchorMismatch { seq, hash });
        }
        Some(_) => {}
        None if !entries.is_empty() => {
            return Err(ChainBreak::AnchorMissing {
                entries: entries.len(),
            });
        }
        None => {}
    }
    let rows = unexplained(&entries, state);
    if !rows.is_empty() {
        return Err(ChainBreak::Unexplained { rows });
    }
    Ok(report)
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
    let mut adopted: Option<VerifyingKey> = None;
    let has_adoption = entries.iter().any(|entry| entry.action == ADOPT_KEY_ACTION);
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
        if entry.action == ADOPT_KEY_ACTION
            && let Some(found) = adopted_key_hex(&entry.resource)
        {
            // An adoption must come from the key already in force (or the one given), and is
            // signed by the key it adopts: whoever adopts a key proves they hold it.
            let adopting = key_from_hex(&found);
            if let Some(expected) = key.or(adopted.as_ref())
                && adopting.as_ref() != Some(expected)
            {
                return Err(ChainBreak::KeyMismatch {
                    seq: position,
                    found,
                    expected: hex::encode(expected.to_bytes()),
                });
            }
            match adopting {
                Some(adopting) if signed_by(entry, &adopting) => adopted = Some(adopting),
                _ => return Err(ChainBreak::BadSignature { seq: position }),
            }
        }
        // Before a log's first adoption its entries are unsigned; a log that never adopted a key
        // is checked against the given key from its first entry (signing from the start).
        let required = match &adopted {
            Some(adopted) => Some(adopted),
            None if has_adoption => None,
            None => key,
        };
        if let Some(key) = required
            && !signed_by(entry, key)
        {
            return Err(ChainBreak::BadSignature { seq: position });
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
        signatures_checked: key.is_some() || adopted.is_some(),
    })
}

//! One audit entry: its fields, the canonical bytes its hash covers, and sealing a draft into a
//! chained (and optionally signed) entry. An entry that changed state carries the rows it wrote
//! (`effects`), so that replaying the log reproduces the security state.

use ed25519_dalek::{Signer, SigningKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What the caller knows about a decision before it is chained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditDraft {
    /// `human:alice`, `ai:scorer-1`, or `unauthenticated`.
    pub principal: String,
    pub action: String,
    pub resource: String,
    /// `allow`, `deny`, or `record` for facts that are not decisions (a server start).
    pub decision: String,
    pub reason: String,
    pub policy_sha256: String,
}

/// One row as a state change left it: `row` is the whole row as a JSON object (column name to
/// value), or `None` when the change deleted it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Effect {
    pub table: String,
    pub key: String,
    pub row: Option<serde_json::Value>,
}

/// A chained audit entry, stored and exported as one JSON object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditEntry {
    pub seq: i64,
    /// RFC 3339 UTC wall-clock time of the decision.
    pub time: String,
    pub principal: String,
    pub action: String,
    pub resource: String,
    pub decision: String,
    pub reason: String,
    /// The rows this entry's state change wrote, in the same transaction.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub effects: Vec<Effect>,
    pub policy_sha256: String,
    pub prev_hash: String,
    /// Hex SHA-256 over the canonical JSON of every field above.
    pub hash: String,
    /// Hex ed25519 signature over `hash`, when the log is signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

/// The fields the hash covers, in a fixed order: serde_json writes struct fields in declaration
/// order, so these bytes are canonical.
#[derive(Serialize)]
struct Hashed<'a> {
    seq: i64,
    time: &'a str,
    principal: &'a str,
    action: &'a str,
    resource: &'a str,
    decision: &'a str,
    reason: &'a str,
    // Absent when empty, so entries written before effects existed keep their hashes.
    #[serde(skip_serializing_if = "<[Effect]>::is_empty")]
    effects: &'a [Effect],
    policy_sha256: &'a str,
    prev_hash: &'a str,
}

impl AuditEntry {
    /// Recomputes the hash from the entry's own fields.
    pub fn compute_hash(&self) -> String {
        let hashed = Hashed {
            seq: self.seq,
            time: &self.time,
            principal: &self.principal,
            action: &self.action,
            resource: &self.resource,
            decision: &self.decision,
            reason: &self.reason,
            effects: &self.effects,
            policy_sha256: &self.policy_sha256,
            prev_hash: &self.prev_hash,
        };
        // Serialising strings, integers and JSON values cannot fail.
        let bytes = serde_json::to_vec(&hashed).unwrap_or_default();
        hex::encode(Sha256::digest(&bytes))
    }

    /// The entry as one JSON line.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Where a new entry goes: its position, the previous entry's hash, and the rows its
/// transaction wrote.
#[derive(Debug, Clone)]
pub struct Link<'a> {
    pub seq: i64,
    pub prev_hash: &'a str,
    pub effects: Vec<Effect>,
}

/// Turns a draft into the entry at `link`.
pub fn seal(
    draft: AuditDraft,
    link: Link<'_>,
    time: String,
    signer: Option<&SigningKey>,
) -> AuditEntry {
    let Link {
        seq,
        prev_hash,
        effects,
    } = link;
    let mut entry = AuditEntry {
        seq,
        time,
        principal: draft.principal,
        action: draft.action,
        resource: draft.resource,
        decision: draft.decision,
        reason: draft.reason,
        effects,
        policy_sha256: draft.policy_sha256,
        prev_hash: prev_hash.to_string(),
        hash: String::new(),
        signature: None,
    };
    entry.hash = entry.compute_hash();
    entry.signature = signer.map(|key| hex::encode(key.sign(entry.hash.as_bytes()).to_bytes()));
    entry
}

//! One audit entry: its fields, the canonical bytes its hash covers, and sealing a draft into a
//! chained (and optionally signed) entry.

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
            policy_sha256: &self.policy_sha256,
            prev_hash: &self.prev_hash,
        };
        // Serialising a struct of strings and an integer cannot fail.
        let bytes = serde_json::to_vec(&hashed).unwrap_or_default();
        hex::encode(Sha256::digest(&bytes))
    }

    /// The entry as one JSON line.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Turns a draft into the entry following `prev_hash` at position `seq`.
pub fn seal(
    draft: AuditDraft,
    seq: i64,
    prev_hash: &str,
    time: String,
    signer: Option<&SigningKey>,
) -> AuditEntry {
    let mut entry = AuditEntry {
        seq,
        time,
        principal: draft.principal,
        action: draft.action,
        resource: draft.resource,
        decision: draft.decision,
        reason: draft.reason,
        policy_sha256: draft.policy_sha256,
        prev_hash: prev_hash.to_string(),
        hash: String::new(),
        signature: None,
    };
    entry.hash = entry.compute_hash();
    entry.signature = signer.map(|key| hex::encode(key.sign(entry.hash.as_bytes()).to_bytes()));
    entry
}

//! The audit log: append-only, hash-chained JSON entries, optionally signed with ed25519.
//!
//! Each entry records who did what to which resource, the decision and its reason, and the
//! SHA-256 of the policy that decided; it carries the previous entry's hash so that modifying,
//! removing, reordering or inserting an entry breaks the chain where it happened.
//!
//! **Architecture invariant:** this module offers `append` and read operations only; nothing here
//! (or in the store's audit table, guarded by triggers) updates or deletes an entry.

mod entry;
mod replay;
mod sign;
mod verify;

pub use entry::{AuditDraft, AuditEntry, Effect, GENESIS_HASH, Link, seal};
pub use replay::{Unexplained, unexplained};
pub use sign::{
    ADOPT_KEY_ACTION, KeyError, adopted_key_hex, adoption_resource, load_signing_key,
    load_verifying_key, write_new_signing_key,
};
pub use verify::{
    ChainBreak, StoredEntry, VerifyOptions, VerifyReport, adopted_key, verify_all, verify_chain,
};

//! The store: where principals, tokens, alerts, decisions, recommendations, approvals, reviews,
//! policies, model versions, staging evidence, incidents, retrain runs and the audit log live. A small trait with one implementation per back end (SQLite
//! now; PostgreSQL can follow behind the same trait).
//!
//! Every change happens in a [`StoreTx`]: it takes the write lock when it begins, each write
//! takes the gate's [`Permit`] and records the rows it left (an [`Effect`]), and `commit` appends
//! the one audit entry describing the change, with those rows, in the same transaction. A
//! transaction dropped without `commit` rolls back, so there is no state change without its
//! entry and no entry for a change that did not happen.
//!
//! **Architecture invariant:** the store holds no business rules. It persists what governance
//! decided; the only checks here are the database's own constraints (uniqueness, one approval per
//! person and role, optimistic versions) reported as [`StoreError::Conflict`].

pub mod records;
pub mod retraining;
mod sqlite;
pub mod staging;

use std::future::Future;

pub use records::*;
pub use retraining::*;
pub use sqlite::SqliteStore;
pub use staging::*;

use crate::audit::{AuditEntry, Effect, Link, StoredEntry};
use crate::governance::principal::{Principal, PrincipalKind};
use crate::governance::{Permit, Scribe};

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(sqlx::Error),
    /// A write named a row that does not exist (a foreign key refused it): a recommendation for
    /// an alert that is not there. The caller's mistake, not the database's.
    #[error("the request refers to a record that does not exist ({0})")]
    Missing(String),
    #[error("cannot create the database file: {0}")]
    Io(std::io::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A uniqueness or version constraint refused the write.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The entry could not be sealed (a signed log and no signing key): nothing was written.
    #[error("{0}")]
    Refused(String),
    /// The chain head kept beside the database cannot be read or written.
    #[error("audit head file {path}: {message}")]
    Anchor { path: String, message: String },
    /// A stored value is not one the code wrote (hand-edited database).
    #[error("corrupt row in {table}: {message}")]
    Corrupt {
        table: &'static str,
        message: String,
    },
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                StoreError::Missing(db.message().to_lowercase())
            }
            _ => StoreError::Database(error),
        }
    }
}

type R<T> = Result<T, StoreError>;

/// Builds the audit entry that closes a transaction: it receives the entry's place in the chain
/// (with the rows the transaction wrote) and the signing key the log has adopted, if any.
pub type SealFn<'a> =
    Box<dyn FnOnce(Link<'_>, Option<&str>) -> Result<AuditEntry, String> + Send + 'a>;

/// A database: transactions, the audit rows, and the state the audit log must explain.
pub trait Store: Clone + Send + Sync + 'static {
    type Tx: StoreTx + RetrainingTx + StagingTx;

    /// A write transaction; it holds the write lock from the start, so everything decided inside
    /// it (counting approvals, checking a version) is serialised with every other writer.
    fn begin(&self) -> impl Future<Output = R<Self::Tx>> + Send;
    /// A read-only snapshot (its writes need a permit like any other and are never committed).
    fn read(&self) -> impl Future<Output = R<Self::Tx>> + Send;
    /// Every audit row in storage order.
    fn audit_entries(&self) -> impl Future<Output = R<Vec<StoredEntry>>> + Send;
    /// Every row of the tables the audit log must explain, shaped as an [`Effect`] would record it.
    fn state_rows(&self) -> impl Future<Output = R<Vec<Effect>>> + Send;
    /// The chain head kept outside the database (position and hash of the newest entry written),
    /// or `None` when no entry was ever written through this file's anchor.
    fn anchored_head(&self) -> R<Option<(i64, String)>>;
    /// Closes the store (checkpointing what it must).
    fn close(&self) -> impl Future<Output = ()> + Send;
}

/// Reads and writes inside one transaction. Writes take the gate's permit; `commit` appends the
/// audit entry and makes everything durable together.
pub trait StoreTx: Send + Sized {
    fn principal(&mut self, id: i64) -> impl Future<Output = R<Option<Principal>>> + Send;
    fn principal_by_name(
        &mut self,
        name: &str,
    ) -> impl Future<Output = R<Option<Principal>>> + Send;
    fn list_principals(&mut self) -> impl Future<Output = R<Vec<Principal>>> + Send;
    /// The Argon2id PHC string of a person's own passphrase, once they enrolled.
    fn passphrase(&mut self, principal_id: i64) -> impl Future<Output = R<Option<String>>> + Send;
    fn token(&mut self, id: &str) -> impl Future<Output = R<Option<TokenRecord>>> + Send;
    fn enrollment(&mut self, id: &str) -> impl Future<Output = R<Option<EnrollmentRecord>>> + Send;
    fn alert(&mut self, id: i64) -> impl Future<Output = R<Option<AlertRecord>>> + Send;
    fn list_alerts(
        &mut self,
        status: Option<AlertStatus>,
        limit: i64,
    ) -> impl Future<Output = R<Vec<AlertRecord>>> + Send;
    fn decisions(&mut self, alert_id: i64) -> impl Future<Output = R<Vec<DecisionRecord>>> + Send;
    /// Counts decisions of one kind made in `[since, until)`.
    fn count_decisions(
        &mut self,
        decision: AlertDecision,
        since: i64,
        until: i64,
    ) -> impl Future<Output = R<i64>> + Send;
    fn triage(&mut self, alert_id: i64) -> impl Future<Output = R<Vec<TriageRecord>>> + Send;
    fn recommendation(
        &mut self,
        id: i64,
    ) -> impl Future<Output = R<Option<RecommendationRecord>>> + Send;
    fn list_recommendations(
        &mut self,
        status: Option<RecommendationStatus>,
    ) -> impl Future<Output = R<Vec<RecommendationRecord>>> + Send;
    fn change_request(
        &mut self,
        id: i64,
    ) -> impl Future<Output = R<Option<ChangeRequestRecord>>> + Send;
    fn list_change_requests(
        &mut self,
        status: Option<ChangeStatus>,
    ) -> impl Future<Output = R<Vec<ChangeRequestRecord>>> + Send;
    fn approvals(&mut self, request_id: i64)
    -> impl Future<Output = R<Vec<ApprovalRecord>>> + Send;
    fn approval_codes(
        &mut self,
        request_id: i64,
    ) -> impl Future<Output = R<Vec<ApprovalCodeRecord>>> + Send;
    fn setting(&mut self, name: &str) -> impl Future<Output = R<Option<String>>> + Send;
    fn list_reviews(
        &mut self,
        open_only: bool,
    ) -> impl Future<Output = R<Vec<ReviewRecord>>> + Send;
    /// The text of a policy file kept when it was first enforced.
    fn policy_text(&mut self, sha256: &str) -> impl Future<Output = R<Option<String>>> + Send;

    fn create_principal(
        &mut self,
        permit: &Permit,
        name: &str,
        kind: &PrincipalKind,
        at: i64,
    ) -> impl Future<Output = R<Principal>> + Send;
    fn set_passphrase(
        &mut self,
        permit: &Permit,
        principal_id: i64,
        phc: Option<&str>,
    ) -> impl Future<Output = R<()>> + Send;
    fn insert_token(
        &mut self,
        permit: &Permit,
        token: &TokenRecord,
    ) -> impl Future<Output = R<()>> + Send;
    /// Marks a token revoked; false if it does not exist or was already revoked.
    fn revoke_token(
        &mut self,
        permit: &Permit,
        id: &str,
        at: i64,
    ) -> impl Future<Output = R<bool>> + Send;
    /// Revokes every live token and unredeemed enrollment of a principal; returns how many.
    fn revoke_credentials_of(
        &mut self,
        permit: &Permit,
        principal_id: i64,
        at: i64,
    ) -> impl Future<Output = R<u64>> + Send;
    fn insert_enrollment(
        &mut self,
        permit: &Permit,
        enrollment: &EnrollmentRecord,
    ) -> impl Future<Output = R<()>> + Send;
    /// Marks an enrollment redeemed; false if it was already redeemed.
    fn redeem_enrollment(
        &mut self,
        permit: &Permit,
        id: &str,
        at: i64,
    ) -> impl Future<Output = R<bool>> + Send;
    fn insert_alert(
        &mut self,
        permit: &Permit,
        alert: &NewAlert,
        created_by: i64,
        at: i64,
    ) -> impl Future<Output = R<AlertRecord>> + Send;
    /// Writes a decision and the alert's new state; `Conflict` if the alert's version is no
    /// longer `expected_version`.
    fn apply_alert_change(
        &mut self,
        permit: &Permit,
        change: &AlertChange,
    ) -> impl Future<Output = R<DecisionRecord>> + Send;
    fn insert_triage(
        &mut self,
        permit: &Permit,
        alert_id: i64,
        triage: &NewTriage,
        principal_id: i64,
        at: i64,
    ) -> impl Future<Output = R<TriageRecord>> + Send;
    fn insert_recommendation(
        &mut self,
        permit: &Permit,
        draft: &NewRecommendation,
        principal_id: i64,
        at: i64,
    ) -> impl Future<Output = R<RecommendationRecord>> + Send;
    /// Records a person's decision; `Conflict` if the recommendation was already decided.
    fn decide_recommendation(
        &mut self,
        permit: &Permit,
        id: i64,
        status: RecommendationStatus,
        decided_by: i64,
        justification: &str,
        at: i64,
    ) -> impl Future<Output = R<RecommendationRecord>> + Send;
    fn insert_change_request(
        &mut self,
        permit: &Permit,
        request: &NewChangeRequest,
    ) -> impl Future<Output = R<ChangeRequestRecord>> + Send;
    /// Moves a pending request to `status` (withdrawn, expired); false if it was not pending.
    fn close_change_request(
        &mut self,
        permit: &Permit,
        id: i64,
        status: ChangeStatus,
        at: i64,
    ) -> impl Future<Output = R<bool>> + Send;
    /// `Conflict` when this person, or this role, already approved the request.
    fn insert_approval(
        &mut self,
        permit: &Permit,
        approval: &NewApproval,
    ) -> impl Future<Output = R<ApprovalRecord>> + Send;
    fn insert_approval_code(
        &mut self,
        permit: &Permit,
        request_id: i64,
        digest: &str,
    ) -> impl Future<Output = R<()>> + Send;
    /// Spends a code; false if it was already used.
    fn use_approval_code(
        &mut self,
        permit: &Permit,
        code_id: i64,
        principal_id: i64,
        at: i64,
    ) -> impl Future<Output = R<bool>> + Send;
    /// Marks a pending request applied and writes the setting.
    fn apply_change_request(
        &mut self,
        permit: &Permit,
        id: i64,
        setting: &str,
        value: &str,
        at: i64,
    ) -> impl Future<Output = R<()>> + Send;
    /// Writes a setting (a policy approval, not a governed threshold: those go through
    /// `apply_change_request`).
    fn put_setting(
        &mut self,
        permit: &Permit,
        name: &str,
        value: &str,
        at: i64,
    ) -> impl Future<Output = R<()>> + Send;
    /// Opens a review; returns `None` when one with the same `dedupe_key` already exists.
    fn open_review(
        &mut self,
        permit: &Permit,
        review: &NewReview<'_>,
    ) -> impl Future<Output = R<Option<ReviewRecord>>> + Send;
    /// Keeps a copy of a policy file the first time it is enforced.
    fn record_policy(
        &mut self,
        permit: &Permit,
        policy: &PolicyCopy<'_>,
    ) -> impl Future<Output = R<()>> + Send;

    fn model_version(
        &mut self,
        id: i64,
    ) -> impl Future<Output = R<Option<ModelVersionRecord>>> + Send;
    fn model_version_by_sha(
        &mut self,
        sha256: &str,
    ) -> impl Future<Output = R<Option<ModelVersionRecord>>> + Send;
    fn list_model_versions(&mut self) -> impl Future<Output = R<Vec<ModelVersionRecord>>> + Send;
    /// The versions that entered production, oldest first, one per entry into production, read
    /// from the audit log (the record of truth: every stage change leaves the version's row
    /// there). A version that was never in production is not in it.
    fn production_history(&mut self) -> impl Future<Output = R<Vec<i64>>> + Send;
    /// `Conflict` when a version with the same SHA-256 is registered.
    fn insert_model_version(
        &mut self,
        permit: &Permit,
        version: &NewModelVersion,
    ) -> impl Future<Output = R<ModelVersionRecord>> + Send;
    /// Moves a version to `stage`; `Conflict` when a second production model would result.
    fn set_model_stage(
        &mut self,
        permit: &Permit,
        id: i64,
        stage: ModelStage,
        by: &str,
        at: i64,
    ) -> impl Future<Output = R<()>> + Send;
    fn set_model_certification(
        &mut self,
        permit: &Permit,
        id: i64,
        report: &serde_json::Value,
        passed: bool,
    ) -> impl Future<Output = R<()>> + Send;
    /// The baseline-diff items of a version, in id order.
    fn diff_items(
        &mut self,
        version_id: i64,
    ) -> impl Future<Output = R<Vec<DiffItemRecord>>> + Send;
    /// Adds an item unless the same one is already recorded.
    fn insert_diff_item(
        &mut self,
        permit: &Permit,
        version_id: i64,
        against_id: i64,
        kind: &str,
        item: &str,
    ) -> impl Future<Output = R<()>> + Send;
    /// Records a person's acknowledgement; false if the item does not exist or was acknowledged.
    fn acknowledge_diff_item(
        &mut self,
        permit: &Permit,
        id: i64,
        by: &str,
        justification: &str,
        at: i64,
    ) -> impl Future<Output = R<bool>> + Send;

    /// Appends the entry `seal` builds, after the newest one, with the rows this transaction
    /// wrote, and commits; then moves the anchored head forward.
    fn commit(
        self,
        scribe: &Scribe,
        seal: SealFn<'_>,
    ) -> impl Future<Output = R<AuditEntry>> + Send;
}

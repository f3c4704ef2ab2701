//! The store: where principals, tokens, alerts, decisions, recommendations, approvals, reviews,
//! policies and the audit log live. A small trait with one implementation per back end (SQLite
//! now; PostgreSQL can follow behind the same trait).
//!
//! **Architecture invariant:** the store holds no business rules. It persists what governance
//! decided; the only checks here are the database's own constraints (uniqueness, one approval per
//! person and role, optimistic versions) reported as [`StoreError::Conflict`].

pub mod records;
mod sqlite;

use std::future::Future;

pub use records::*;
pub use sqlite::SqliteStore;

use crate::audit::{AuditEntry, StoredEntry};
use crate::governance::principal::{Principal, PrincipalKind};

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

/// Everything governance needs to persist. Implementations must be safe for concurrent readers
/// and must serialise audit appends.
pub trait Store: Clone + Send + Sync + 'static {
    fn create_principal(
        &self,
        name: &str,
        kind: &PrincipalKind,
        at: i64,
    ) -> impl Future<Output = R<Principal>> + Send;
    fn principal(&self, id: i64) -> impl Future<Output = R<Option<Principal>>> + Send;
    fn principal_by_name(&self, name: &str) -> impl Future<Output = R<Option<Principal>>> + Send;
    fn list_principals(&self) -> impl Future<Output = R<Vec<Principal>>> + Send;

    fn insert_token(&self, token: &TokenRecord) -> impl Future<Output = R<()>> + Send;
    fn token(&self, id: &str) -> impl Future<Output = R<Option<TokenRecord>>> + Send;
    /// Marks a token revoked; false if it does not exist or was already revoked.
    fn revoke_token(&self, id: &str, at: i64) -> impl Future<Output = R<bool>> + Send;

    fn insert_alert(
        &self,
        alert: &NewAlert,
        created_by: i64,
        at: i64,
    ) -> impl Future<Output = R<AlertRecord>> + Send;
    fn alert(&self, id: i64) -> impl Future<Output = R<Option<AlertRecord>>> + Send;
    fn list_alerts(
        &self,
        status: Option<AlertStatus>,
        limit: i64,
    ) -> impl Future<Output = R<Vec<AlertRecord>>> + Send;
    /// Writes a decision and the alert's new state in one transaction; `Conflict` if the alert's
    /// version is no longer `expected_version`.
    fn apply_alert_change(
        &self,
        change: &AlertChange,
    ) -> impl Future<Output = R<DecisionRecord>> + Send;
    fn decisions(&self, alert_id: i64) -> impl Future<Output = R<Vec<DecisionRecord>>> + Send;
    /// Counts decisions of one kind made in `[since, until)`.
    fn count_decisions(
        &self,
        decision: AlertDecision,
        since: i64,
        until: i64,
    ) -> impl Future<Output = R<i64>> + Send;

    fn insert_triage(
        &self,
        alert_id: i64,
        triage: &NewTriage,
        principal_id: i64,
        at: i64,
    ) -> impl Future<Output = R<TriageRecord>> + Send;
    fn triage(&self, alert_id: i64) -> impl Future<Output = R<Vec<TriageRecord>>> + Send;

    fn insert_recommendation(
        &self,
        draft: &NewRecommendation,
        principal_id: i64,
        at: i64,
    ) -> impl Future<Output = R<RecommendationRecord>> + Send;
    fn recommendation(
        &self,
        id: i64,
    ) -> impl Future<Output = R<Option<RecommendationRecord>>> + Send;
    fn list_recommendations(
        &self,
        status: Option<RecommendationStatus>,
    ) -> impl Future<Output = R<Vec<RecommendationRecord>>> + Send;
    /// Records a person's decision; `Conflict` if the recommendation was already decided.
    fn decide_recommendation(
        &self,
        id: i64,
        status: RecommendationStatus,
        decided_by: i64,
        justification: &str,
        at: i64,
    ) -> impl Future<Output = R<RecommendationRecord>> + Send;

    fn insert_change_request(
        &self,
        action: &str,
        proposed_value: &str,
        reason: &str,
        requested_by: i64,
        at: i64,
    ) -> impl Future<Output = R<ChangeRequestRecord>> + Send;
    fn change_request(
        &self,
        id: i64,
    ) -> impl Future<Output = R<Option<ChangeRequestRecord>>> + Send;
    fn list_change_requests(
        &self,
        status: Option<ChangeStatus>,
    ) -> impl Future<Output = R<Vec<ChangeRequestRecord>>> + Send;
    /// `Conflict` when this person, or this role, already approved the request.
    fn insert_approval(
        &self,
        request_id: i64,
        principal_id: i64,
        role: &str,
        channel: &str,
        note: Option<&str>,
        at: i64,
    ) -> impl Future<Output = R<ApprovalRecord>> + Send;
    fn approvals(&self, request_id: i64) -> impl Future<Output = R<Vec<ApprovalRecord>>> + Send;
    /// Marks a pending request applied and writes the setting in one transaction.
    fn apply_change_request(
        &self,
        id: i64,
        setting: &str,
        value: &str,
        at: i64,
    ) -> impl Future<Output = R<()>> + Send;
    fn setting(&self, name: &str) -> impl Future<Output = R<Option<String>>> + Send;

    /// Opens a review; returns `None` when one with the same `dedupe_key` already exists.
    fn open_review(
        &self,
        trigger_event: &str,
        detail: &str,
        opened_by: &str,
        dedupe_key: Option<&str>,
        at: i64,
    ) -> impl Future<Output = R<Option<ReviewRecord>>> + Send;
    fn list_reviews(&self, open_only: bool) -> impl Future<Output = R<Vec<ReviewRecord>>> + Send;

    /// Keeps a copy of a policy file the first time it is enforced.
    fn record_policy(
        &self,
        sha256: &str,
        kind: &str,
        system_id: &str,
        text: &str,
        at: i64,
    ) -> impl Future<Output = R<()>> + Send;

    /// Appends one audit entry under the write lock: `build` receives the next position and the
    /// previous entry's hash (or `None` for the first entry) and returns the sealed entry.
    fn append_audit<F>(&self, build: F) -> impl Future<Output = R<AuditEntry>> + Send
    where
        F: FnOnce(i64, Option<&str>) -> AuditEntry + Send;
    /// Every audit row in storage order.
    fn audit_entries(&self) -> impl Future<Output = R<Vec<StoredEntry>>> + Send;
}

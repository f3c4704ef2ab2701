//! The one error type of governance operations; each variant maps to one HTTP status.

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum GovernanceError {
    /// No valid credential (missing, forged, expired or revoked token): 401.
    #[error("not authenticated: {0}")]
    Unauthenticated(String),
    /// The gate refused (and audited) the action: 403.
    #[error("refused: {0}")]
    Denied(String),
    /// 404.
    #[error("{0} not found")]
    NotFound(String),
    /// The state changed or the action was already done (a second approval by the same person): 409.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The request is well-formed but not acceptable (a dismissal without justification): 422.
    #[error("invalid request: {0}")]
    Invalid(String),
    /// Anything the caller cannot fix: 500, cause logged, not sent.
    #[error(transparent)]
    Store(StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for GovernanceError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict(message) => GovernanceError::Conflict(message),
            missing @ StoreError::Missing(_) => GovernanceError::Invalid(missing.to_string()),
            other => GovernanceError::Store(other),
        }
    }
}

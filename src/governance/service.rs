//! The governance service: the audited decision point (`authorize`), authentication, and the
//! administration of principals and tokens. Alert, change and review operations extend it in
//! `alerts.rs` and `changes.rs`.

use std::sync::Arc;

use ed25519_dalek::SigningKey;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::action::{Action, Resource};
use super::error::GovernanceError;
use super::gate::{Verdict, decide};
use super::policy::PolicySet;
use super::principal::{Principal, PrincipalKind, check_principal_name};
use super::token;
use crate::audit::{AuditDraft, AuditEntry, GENESIS_HASH, seal};
use crate::store::{Store, TokenRecord};

/// Site settings that are not policy: the shift length for false-positive clusters.
#[derive(Debug, Clone)]
pub struct GovernanceConfig {
    pub shift_hours: u32,
}

impl Default for GovernanceConfig {
    fn default() -> Self {
        GovernanceConfig { shift_hours: 8 }
    }
}

/// Proof that the gate allowed an action; only `authorize` makes one.
#[derive(Debug)]
#[must_use]
#[non_exhaustive]
pub struct Permit {
    pub action: Action,
}

/// Who acts: an authenticated principal, the local administrator using the database file
/// directly (whose power comes from file access, and who is audited all the same), or governance
/// itself recording a consequence of decisions already made (a completed approval applied).
#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    Principal(&'a Principal),
    Local,
    System,
}

impl Actor<'_> {
    fn audit_name(&self) -> String {
        match self {
            Actor::Principal(principal) => principal.audit_name(),
            Actor::Local => "local:cli".to_string(),
            Actor::System => "system:governance".to_string(),
        }
    }
}

/// The longest a token may be valid, in days (ten years): a longer wish is refused rather than
/// overflowing into a token expired from birth.
pub const MAX_TOKEN_VALID_DAYS: u32 = 3650;

/// A newly issued token: `token` is shown once and never stored.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IssuedToken {
    pub id: String,
    pub principal: String,
    pub token: String,
    pub expires_at: Option<i64>,
}

/// The governance service over a store.
#[derive(Debug, Clone)]
pub struct Governance<S> {
    pub(super) store: S,
    pub(super) policies: Arc<PolicySet>,
    signer: Option<Arc<SigningKey>>,
    pub(super) config: GovernanceConfig,
}

/// Wall-clock now, epoch microseconds.
pub fn now_micros() -> i64 {
    i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

/// Formats epoch microseconds as RFC 3339 UTC.
pub fn format_micros(micros: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
        .ok()
        .and_then(|time| time.format(&Rfc3339).ok())
        .unwrap_or_else(|| micros.to_string())
}

impl<S: Store> Governance<S> {
    pub fn new(
        store: S,
        policies: PolicySet,
        signer: Option<SigningKey>,
        config: GovernanceConfig,
    ) -> Self {
        Governance {
            store,
            policies: Arc::new(policies),
            signer: signer.map(Arc::new),
            config,
        }
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn policies(&self) -> &PolicySet {
        &self.policies
    }

    /// Stores a copy of every enforced policy file and audits the start of enforcement.
    pub async fn record_policies(&self, actor: Actor<'_>) -> Result<(), GovernanceError> {
        for file in &self.policies.files {
            self.store
                .record_policy(
                    &file.sha256,
                    file.kind_name(),
                    file.system_id(),
                    &file.text,
                    now_micros(),
                )
                .await?;
        }
        self.record(
            actor,
            "enforce_policy",
            &Resource::Api,
            &format!("policy set {} in force", self.policies.sha256),
        )
        .await?;
        Ok(())
    }

    /// Appends one audit entry.
    pub async fn audit(&self, draft: AuditDraft) -> Result<AuditEntry, GovernanceError> {
        let signer = self.signer.clone();
        let time = format_micros(now_micros());
        let entry = self
            .store
            .append_audit(move |seq, prev| {
                seal(
                    draft,
                    seq,
                    prev.unwrap_or(GENESIS_HASH),
                    time,
                    signer.as_deref(),
                )
            })
            .await?;
        Ok(entry)
    }

    fn draft(
        &self,
        actor: &Actor<'_>,
        action: &str,
        resource: &Resource,
        decision: &str,
        reason: &str,
    ) -> AuditDraft {
        AuditDraft {
            principal: actor.audit_name(),
            action: action.to_string(),
            resource: resource.to_string(),
            decision: decision.to_string(),
            reason: reason.to_string(),
            policy_sha256: self.policies.sha256.clone(),
        }
    }

    /// Audits a fact that is not a decision (an approval's channel, a threshold applied).
    pub async fn record(
        &self,
        actor: Actor<'_>,
        action: &str,
        resource: &Resource,
        reason: &str,
    ) -> Result<(), GovernanceError> {
        self.audit(self.draft(&actor, action, resource, "record", reason))
            .await?;
        Ok(())
    }

    /// The decision point: decides from the policy, audits the decision (allow and deny alike),
    /// and returns a permit or `Denied` with the reason.
    pub async fn authorize(
        &self,
        actor: Actor<'_>,
        action: Action,
        resource: &Resource,
    ) -> Result<Permit, GovernanceError> {
        let (verdict, reason) = match actor {
            Actor::Principal(principal) => {
                let decision = decide(&self.policies, principal, action, resource);
                (decision.verdict, decision.reason)
            }
            Actor::Local => (
                Verdict::Allow,
                "local administration with direct access to the database file".to_string(),
            ),
            // Governance records facts; it never acts on its own initiative.
            Actor::System => (
                Verdict::Deny,
                "governance itself takes no actions; it only records their consequences"
                    .to_string(),
            ),
        };
        let decision = match verdict {
            Verdict::Allow => "allow",
            Verdict::Deny => "deny",
        };
        self.audit(self.draft(&actor, action.name(), resource, decision, &reason))
            .await?;
        match verdict {
            Verdict::Allow => Ok(Permit { action }),
            Verdict::Deny => Err(GovernanceError::Denied(reason)),
        }
    }

    /// Authenticates a bearer token. A failure is returned, not audited here: one audit entry
    /// per failed request would let a flood of bad tokens fill the log, so the caller counts
    /// failures per source and records them with [`Governance::record_failed_authentications`]
    /// (the API does, once per source and interval).
    pub async fn authenticate(&self, presented: &str) -> Result<Principal, GovernanceError> {
        self.check_token(presented).await
    }

    /// Audits the failed authentications of one source over an interval as a single entry
    /// (`unauthenticated`, `authenticate`, `deny`); `summary` says how many, when and why.
    pub async fn record_failed_authentications(
        &self,
        summary: &str,
    ) -> Result<AuditEntry, GovernanceError> {
        self.audit(AuditDraft {
            principal: "unauthenticated".to_string(),
            action: Action::Authenticate.name().to_string(),
            resource: Resource::Api.to_string(),
            decision: "deny".to_string(),
            reason: summary.to_string(),
            policy_sha256: self.policies.sha256.clone(),
        })
        .await
    }

    async fn check_token(&self, presented: &str) -> Result<Principal, GovernanceError> {
        let unauthenticated = |reason: &str| GovernanceError::Unauthenticated(reason.to_string());
        let (id, secret) =
            token::split(presented).ok_or_else(|| unauthenticated("malformed token"))?;
        let record = self
            .store
            .token(id)
            .await?
            .ok_or_else(|| unauthenticated("unknown token"))?;
        let (secret, phc) = (secret.to_string(), record.phc.clone());
        // Argon2 is deliberately slow: keep it off the async worker threads.
        let valid = tokio::task::spawn_blocking(move || token::verify(&secret, &phc))
            .await
            .map_err(|error| GovernanceError::Internal(error.to_string()))?;
        if !valid {
            return Err(unauthenticated("token secret does not match"));
        }
        if record.revoked_at.is_some() {
            return Err(unauthenticated("token was revoked"));
        }
        if record
            .expires_at
            .is_some_and(|expiry| expiry <= now_micros())
        {
            return Err(unauthenticated("token expired"));
        }
        self.store
            .principal(record.principal_id)
            .await?
            .ok_or_else(|| unauthenticated("token's principal no longer exists"))
    }

    /// Creates a principal (a person with roles or an AI component).
    pub async fn create_principal(
        &self,
        actor: Actor<'_>,
        name: &str,
        kind: PrincipalKind,
    ) -> Result<Principal, GovernanceError> {
        check_principal_name(name).map_err(GovernanceError::Invalid)?;
        if let PrincipalKind::Human { roles } = &kind
            && roles.is_empty()
        {
            return Err(GovernanceError::Invalid(format!(
                "person `{name}` needs at least one role"
            )));
        }
        let _permit = self
            .authorize(
                actor,
                Action::ManagePrincipals,
                &Resource::Principal(name.to_string()),
            )
            .await?;
        Ok(self
            .store
            .create_principal(name, &kind, now_micros())
            .await?)
    }

    /// Issues a token for `principal_name`; the returned secret is shown once.
    pub async fn issue_token(
        &self,
        actor: Actor<'_>,
        principal_name: &str,
        valid_for_days: Option<u32>,
    ) -> Result<IssuedToken, GovernanceError> {
        if let Some(days) = valid_for_days
            && !(1..=MAX_TOKEN_VALID_DAYS).contains(&days)
        {
            return Err(GovernanceError::Invalid(format!(
                "a token is valid for 1 to {MAX_TOKEN_VALID_DAYS} days, not {days}"
            )));
        }
        let _permit = self
            .authorize(
                actor,
                Action::ManagePrincipals,
                &Resource::Principal(principal_name.to_string()),
            )
            .await?;
        let principal = self
            .store
            .principal_by_name(principal_name)
            .await?
            .ok_or_else(|| GovernanceError::NotFound(format!("principal `{principal_name}`")))?;
        let new = tokio::task::spawn_blocking(token::generate)
            .await
            .map_err(|error| GovernanceError::Internal(error.to_string()))?
            .map_err(GovernanceError::Internal)?;
        let now = now_micros();
        let expires_at = valid_for_days.map(|days| now + i64::from(days) * 86_400_000_000);
        self.store
            .insert_token(&TokenRecord {
                id: new.id.clone(),
                principal_id: principal.id,
                phc: new.phc,
                created_at: now,
                expires_at,
                revoked_at: None,
            })
            .await?;
        self.record(
            actor,
            "issue_token",
            &Resource::Token(new.id.clone()),
            &format!("token issued to {}", principal.audit_name()),
        )
        .await?;
        Ok(IssuedToken {
            id: new.id,
            principal: principal.name,
            token: new.token,
            expires_at,
        })
    }

    /// Revokes a token by its id.
    pub async fn revoke_token(
        &self,
        actor: Actor<'_>,
        token_id: &str,
    ) -> Result<(), GovernanceError> {
        let _permit = self
            .authorize(
                actor,
                Action::ManagePrincipals,
                &Resource::Token(token_id.to_string()),
            )
            .await?;
        if self.store.revoke_token(token_id, now_micros()).await? {
            Ok(())
        } else if self.store.token(token_id).await?.is_some() {
            Err(GovernanceError::Conflict(format!(
                "token {token_id} is already revoked"
            )))
        } else {
            Err(GovernanceError::NotFound(format!("token {token_id}")))
        }
    }
}

impl<S: Store> Governance<S> {
    /// Every audit entry as one JSON line each, in order.
    pub async fn audit_export(&self, actor: Actor<'_>) -> Result<Vec<String>, GovernanceError> {
        let _permit = self
            .authorize(actor, Action::ReadAudit, &Resource::AuditLog)
            .await?;
        Ok(self
            .store
            .audit_entries()
            .await?
            .into_iter()
            .map(|row| row.json)
            .collect())
    }

    /// Verifies the whole chain; with a public key every entry's signature is checked too.
    /// The outer error is an operational failure; the inner one names the first broken entry.
    pub async fn audit_verify(
        &self,
        actor: Actor<'_>,
        key: Option<&ed25519_dalek::VerifyingKey>,
    ) -> Result<Result<crate::audit::VerifyReport, crate::audit::ChainBreak>, GovernanceError> {
        // Read the rows before auditing this verification, so the check covers exactly the
        // log as it was when asked.
        let rows = self.store.audit_entries().await?;
        let _permit = self
            .authorize(actor, Action::ReadAudit, &Resource::AuditLog)
            .await?;
        Ok(crate::audit::verify_chain(&rows, key, None))
    }
}

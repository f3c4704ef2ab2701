//! The governance service: the decision point (`authorize` for reads, `begin_change` and
//! `finish` for state changes), authentication, the administration of principals, enrollments
//! and tokens, and the audit log's signing key. Alert, change and review operations extend it in
//! `alerts.rs` and `changes.rs`.
//!
//! A state change runs in one store transaction: the gate decides, the change is made with the
//! gate's permit, and one audit entry recording the outcome (applied, or refused with the reason)
//! is appended with the rows the change wrote, all committed together. A refused change is rolled
//! back and its refusal is audited on its own.

use std::sync::Arc;

use ed25519_dalek::{SigningKey, VerifyingKey};
use time::OffsetDateTime;

use super::action::{Action, Resource};
use super::error::GovernanceError;
use super::gate::{Verdict, decide};
use super::policy::PolicySet;
use super::principal::{Principal, PrincipalKind, check_principal_name};
use super::token;
use crate::audit::{ADOPT_KEY_ACTION, AuditDraft, AuditEntry, adoption_resource, seal};
use crate::store::{EnrollmentRecord, SealFn, Store, StoreTx, TokenRecord};

/// Site settings that are not policy.
#[derive(Debug, Clone)]
pub struct GovernanceConfig {
    /// The shift length for false-positive clusters.
    pub shift_hours: u32,
    /// How long a change request waits for its approvals before it expires.
    pub request_ttl_hours: u32,
    /// How long an enrollment code can be redeemed.
    pub enrollment_ttl_hours: u32,
    /// The ticketing system's ed25519 public key, which verifies signed-ticket approvals.
    pub ticket_key: Option<VerifyingKey>,
}

impl Default for GovernanceConfig {
    fn default() -> Self {
        GovernanceConfig {
            shift_hours: 8,
            request_ttl_hours: 72,
            enrollment_ttl_hours: 72,
            ticket_key: None,
        }
    }
}

/// Proof that the gate allowed an action; only governance makes one, and every store write
/// takes one.
// A private field, not `#[non_exhaustive]`: that would still let the store (same crate) build one.
#[allow(clippy::manual_non_exhaustive)]
#[derive(Debug)]
#[must_use]
pub struct Permit {
    pub action: Action,
    _sealed: (),
}

impl Permit {
    /// A permit for a consequence of decisions already made and audited (an expiry, a
    /// completed approval applied).
    pub(super) fn consequence(action: Action) -> Self {
        Permit {
            action,
            _sealed: (),
        }
    }
}

/// The right to append to the audit log; only governance holds one.
#[derive(Debug)]
pub struct Scribe {
    _sealed: (),
}

const SCRIBE: Scribe = Scribe { _sealed: () };

/// Who acts: an authenticated principal, the local administrator using the database file
/// directly (whose power comes from file access, and who is audited all the same), or governance
/// itself recording a consequence of decisions already made (a request expired).
#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    Principal(&'a Principal),
    Local,
    System,
}

impl Actor<'_> {
    pub(super) fn audit_name(&self) -> String {
        match self {
            Actor::Principal(principal) => principal.audit_name(),
            Actor::Local => "local:cli".to_string(),
            Actor::System => "system:governance".to_string(),
        }
    }
}

/// A person who proved, at the otsentry host's console, that they know their own passphrase.
/// Only [`Governance::console_login`] makes one; the HTTP API never does, which is what makes
/// "physical presence" mean presence.
#[derive(Debug, Clone)]
pub struct ConsolePerson {
    principal: Principal,
}

impl ConsolePerson {
    pub fn principal(&self) -> &Principal {
        &self.principal
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

/// A newly issued enrollment code: handed to the person, who redeems it to set their own
/// passphrase and receive their first token.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IssuedEnrollment {
    pub id: String,
    pub principal: String,
    pub code: String,
    pub expires_at: i64,
}

/// The governance service over a store.
#[derive(Debug, Clone)]
pub struct Governance<S> {
    pub(super) store: S,
    pub(super) policies: Arc<PolicySet>,
    signer: Option<Arc<SigningKey>>,
    pub(super) config: GovernanceConfig,
}

/// What the entry closing a change will say, decided when the change began.
#[derive(Debug)]
pub(super) struct Pending {
    principal: String,
    action: &'static str,
    resource: String,
}

/// Wall-clock now, epoch microseconds.
pub fn now_micros() -> i64 {
    i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

pub use crate::text::rfc3339_micros as format_micros;

pub(super) const HOUR_MICROS: i64 = 3_600_000_000;

/// Refusals a caller can act on are audited with their message; anything else is an internal
/// failure, audited without its cause.
fn refusal_reason(error: &GovernanceError) -> String {
    match error {
        GovernanceError::Store(_) | GovernanceError::Internal(_) => {
            "failed: internal error (see the server log)".to_string()
        }
        other => other.to_string(),
    }
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

    pub fn policies(&self) -> &PolicySet {
        &self.policies
    }

    /// Closes the store underneath.
    pub async fn close(&self) {
        self.store.close().await;
    }

    fn seal_fn(&self, draft: AuditDraft) -> SealFn<'static> {
        let signer = self.signer.clone();
        let time = format_micros(now_micros());
        Box::new(move |link, adopted| {
            let ours = signer
                .as_deref()
                .map(|key| hex::encode(key.verifying_key().to_bytes()));
            match (adopted, ours.as_deref()) {
                (Some(adopted), None) => Err(format!(
                    "the audit log is signed (it adopted key {adopted}); give the signing key (--signing-key) to write to it"
                )),
                (Some(adopted), Some(ours)) if adopted != ours => Err(format!(
                    "the signing key given ({ours}) is not the key the audit log adopted ({adopted})"
                )),
                _ => Ok(seal(draft, link, time, signer.as_deref())),
            }
        })
    }

    fn draft(
        &self,
        principal: String,
        action: &str,
        resource: String,
        decision: &str,
        reason: String,
    ) -> AuditDraft {
        AuditDraft {
            principal,
            action: action.to_string(),
            resource,
            decision: decision.to_string(),
            reason,
            policy_sha256: self.policies.sha256.clone(),
        }
    }

    /// Appends one entry in a transaction of its own (a fact, a read, a refusal).
    pub(super) async fn append(&self, draft: AuditDraft) -> Result<AuditEntry, GovernanceError> {
        let tx = self.store.begin().await?;
        Ok(tx.commit(&SCRIBE, self.seal_fn(draft)).await?)
    }

    /// Checks that this service can write to the log (a signed log needs its key) and, when a
    /// signing key is given to a log that has none yet, adopts it with an entry it signs.
    pub async fn prepare_signing(&self, actor: Actor<'_>) -> Result<(), GovernanceError> {
        let rows = self.store.audit_entries().await?;
        let adopted = crate::audit::adopted_key(&rows);
        let ours = self.signer.as_deref().map(SigningKey::verifying_key);
        match (adopted, ours) {
            (Some(adopted), None) => Err(GovernanceError::Invalid(format!(
                "the audit log is signed (it adopted key {}); give the signing key (--signing-key or OTSENTRY_SIGNING_KEY)",
                hex::encode(adopted.to_bytes())
            ))),
            (Some(adopted), Some(ours)) if adopted != ours => {
                Err(GovernanceError::Invalid(format!(
                    "the signing key given is not the key the audit log adopted ({})",
                    hex::encode(adopted.to_bytes())
                )))
            }
            (None, Some(ours)) => {
                let draft = self.draft(
                    actor.audit_name(),
                    ADOPT_KEY_ACTION,
                    adoption_resource(&ours),
                    "record",
                    "from this entry on, every entry must carry a valid signature by this key"
                        .into(),
                );
                self.append(draft).await?;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// The gate's verdict and reason for `actor`, without auditing it.
    pub(super) fn verdict(
        &self,
        actor: Actor<'_>,
        action: Action,
        resource: &Resource,
    ) -> (Verdict, String) {
        match actor {
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
        }
    }

    /// The decision point for reads: decides from the policy, audits the decision (allow and
    /// deny alike) and returns a permit or `Denied` with the reason.
    pub async fn authorize(
        &self,
        actor: Actor<'_>,
        action: Action,
        resource: &Resource,
    ) -> Result<Permit, GovernanceError> {
        let (verdict, reason) = self.verdict(actor, action, resource);
        let decision = match verdict {
            Verdict::Allow => "allow",
            Verdict::Deny => "deny",
        };
        self.append(self.draft(
            actor.audit_name(),
            action.name(),
            resource.to_string(),
            decision,
            reason.clone(),
        ))
        .await?;
        match verdict {
            Verdict::Allow => Ok(Permit::consequence(action)),
            Verdict::Deny => Err(GovernanceError::Denied(reason)),
        }
    }

    /// Begins a state change: takes the write lock, asks the gate, and on a deny commits the
    /// deny entry and returns `Denied`. On an allow the caller makes the change with the permit
    /// and passes the outcome to [`Governance::finish`].
    pub(super) async fn begin_change(
        &self,
        actor: Actor<'_>,
        action: Action,
        resource: &Resource,
    ) -> Result<(S::Tx, Permit, Pending), GovernanceError> {
        let verdict = self.verdict(actor, action, resource);
        self.open_change(actor, action, resource, verdict, action.name())
            .await
    }

    /// [`Governance::begin_change`] with a verdict the caller decided (from rows it read).
    pub(super) async fn open_change(
        &self,
        actor: Actor<'_>,
        action: Action,
        resource: &Resource,
        (verdict, reason): (Verdict, String),
        audit_action: &'static str,
    ) -> Result<(S::Tx, Permit, Pending), GovernanceError> {
        let pending = Pending {
            principal: actor.audit_name(),
            action: audit_action,
            resource: resource.to_string(),
        };
        match verdict {
            Verdict::Allow => {
                let tx = self.store.begin().await?;
                Ok((tx, Permit::consequence(action), pending))
            }
            Verdict::Deny => {
                self.append(self.draft(
                    pending.principal,
                    pending.action,
                    pending.resource,
                    "deny",
                    reason.clone(),
                ))
                .await?;
                Err(GovernanceError::Denied(reason))
            }
        }
    }

    /// Ends a state change: on success the entry (`applied`, with `describe`'s words and the
    /// rows written) commits with the change; on a refusal the change is rolled back and the
    /// refusal is audited with its reason.
    pub(super) async fn finish<T>(
        &self,
        tx: S::Tx,
        pending: Pending,
        outcome: Result<T, GovernanceError>,
        describe: impl FnOnce(&T) -> String,
    ) -> Result<T, GovernanceError> {
        match outcome {
            Ok(value) => {
                let draft = self.draft(
                    pending.principal,
                    pending.action,
                    pending.resource,
                    "applied",
                    describe(&value),
                );
                tx.commit(&SCRIBE, self.seal_fn(draft)).await?;
                Ok(value)
            }
            Err(error) => {
                drop(tx);
                let draft = self.draft(
                    pending.principal,
                    pending.action,
                    pending.resource,
                    "refuse",
                    refusal_reason(&error),
                );
                if let Err(audit_error) = self.append(draft).await {
                    tracing::error!(error = %audit_error, "Cannot audit a refused change");
                }
                Err(error)
            }
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
        self.append(self.draft(
            "unauthenticated".to_string(),
            Action::Authenticate.name(),
            Resource::Api.to_string(),
            "deny",
            summary.to_string(),
        ))
        .await
    }

    async fn check_token(&self, presented: &str) -> Result<Principal, GovernanceError> {
        let unauthenticated = |reason: &str| GovernanceError::Unauthenticated(reason.to_string());
        let (id, secret) = token::split(token::TOKEN_PREFIX, presented)
            .ok_or_else(|| unauthenticated("malformed token"))?;
        let mut read = self.store.read().await?;
        let record = read.token(id).await?;
        // The digest is compared whether or not the id exists, so both cost the same.
        let valid = token::verify(secret, record.as_ref().map(|record| record.digest.as_str()));
        let Some(record) = record else {
            return Err(unauthenticated("unknown token id"));
        };
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
        read.principal(record.principal_id)
            .await?
            .ok_or_else(|| unauthenticated("token's principal no longer exists"))
    }

    /// A person proves at the console that they know their own passphrase.
    pub async fn console_login(
        &self,
        name: &str,
        passphrase: &str,
    ) -> Result<ConsolePerson, GovernanceError> {
        let mut read = self.store.read().await?;
        let principal = read.principal_by_name(name).await?;
        let phc = match &principal {
            Some(principal) => read.passphrase(principal.id).await?,
            None => None,
        };
        drop(read);
        let passphrase = passphrase.to_string();
        let valid = tokio::task::spawn_blocking(move || {
            phc.as_deref()
                .is_some_and(|phc| token::verify_passphrase(&passphrase, phc))
        })
        .await
        .map_err(|error| GovernanceError::Internal(error.to_string()))?;
        match principal {
            Some(principal) if valid && !principal.is_ai() => Ok(ConsolePerson { principal }),
            _ => {
                self.append(self.draft(
                    "unauthenticated".to_string(),
                    Action::Authenticate.name(),
                    Resource::Principal(name.to_string()).to_string(),
                    "deny",
                    "console passphrase does not match (or the person has not enrolled)".into(),
                ))
                .await?;
                Err(GovernanceError::Unauthenticated(format!(
                    "wrong passphrase for `{name}`, or `{name}` has not enrolled"
                )))
            }
        }
    }

    /// Creates a principal (a person with roles or an AI component). A person then needs an
    /// enrollment code ([`Governance::enroll`]) to set their own credentials.
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
        let (mut tx, permit, pending) = self
            .begin_change(
                actor,
                Action::ManagePrincipals,
                &Resource::Principal(name.to_string()),
            )
            .await?;
        let outcome = tx
            .create_principal(&permit, name, &kind, now_micros())
            .await
            .map_err(GovernanceError::from);
        self.finish(tx, pending, outcome, |principal| {
            format!("created {}", principal.audit_name())
        })
        .await
    }

    /// Issues a one-time enrollment code for a person. The person redeems it to choose their own
    /// passphrase and get their first token; whoever issues the code never sees either. A new
    /// code for someone already enrolled revokes their tokens and passphrase first, so a takeover
    /// locks the real person out, and they notice.
    pub async fn enroll(
        &self,
        actor: Actor<'_>,
        name: &str,
    ) -> Result<IssuedEnrollment, GovernanceError> {
        let (mut tx, permit, pending) = self
            .begin_change(
                actor,
                Action::ManagePrincipals,
                &Resource::Principal(name.to_string()),
            )
            .await?;
        let issued_by = actor.audit_name();
        let ttl = i64::from(self.config.enrollment_ttl_hours.max(1)) * HOUR_MICROS;
        let outcome = async {
            let principal = tx
                .principal_by_name(name)
                .await?
                .ok_or_else(|| GovernanceError::NotFound(format!("principal `{name}`")))?;
            if principal.is_ai() {
                return Err(GovernanceError::Invalid(format!(
                    "{name} is an AI component; it gets a token (`token create`), not an enrollment"
                )));
            }
            let now = now_micros();
            let revoked = tx.revoke_credentials_of(&permit, principal.id, now).await?;
            if tx.passphrase(principal.id).await?.is_some() {
                tx.set_passphrase(&permit, principal.id, None).await?;
            }
            let secret = token::generate(token::ENROLLMENT_PREFIX);
            let record = EnrollmentRecord {
                id: secret.id.clone(),
                principal_id: principal.id,
                digest: secret.digest.clone(),
                issued_by: issued_by.clone(),
                created_at: now,
                expires_at: now.saturating_add(ttl),
                redeemed_at: None,
            };
            tx.insert_enrollment(&permit, &record).await?;
            Ok::<_, GovernanceError>((
                IssuedEnrollment {
                    id: secret.id,
                    principal: principal.name,
                    code: secret.text,
                    expires_at: record.expires_at,
                },
                revoked,
            ))
        }
        .await;
        self.finish(tx, pending, outcome, |(issued, revoked)| {
            format!(
                "enrollment {} issued for human:{}; {revoked} earlier credential(s) revoked",
                issued.id, issued.principal
            )
        })
        .await
        .map(|(issued, _)| issued)
    }

    /// A person redeems their enrollment code: sets their passphrase (which only they know) and
    /// receives their first token.
    pub async fn redeem_enrollment(
        &self,
        code: &str,
        passphrase: &str,
        valid_for_days: Option<u32>,
    ) -> Result<IssuedToken, GovernanceError> {
        let phc = token::hash_passphrase(passphrase).map_err(GovernanceError::Invalid)?;
        let (id, secret) = token::split(token::ENROLLMENT_PREFIX, code.trim())
            .ok_or_else(|| GovernanceError::Invalid("this is not an enrollment code".into()))?;
        let mut tx = self.store.begin().await?;
        let record = tx.enrollment(id).await?;
        let valid = token::verify(secret, record.as_ref().map(|record| record.digest.as_str()));
        let principal = match &record {
            Some(record) if valid => tx.principal(record.principal_id).await?,
            _ => None,
        };
        let (Some(record), Some(principal)) = (record, principal) else {
            drop(tx);
            self.append(self.draft(
                "unauthenticated".into(),
                Action::RedeemEnrollment.name(),
                format!("enrollment:{id}"),
                "deny",
                "unknown enrollment code".into(),
            ))
            .await?;
            return Err(GovernanceError::Unauthenticated(
                "the enrollment code is not valid".into(),
            ));
        };
        let actor_principal = principal.clone();
        let permit = Permit::consequence(Action::RedeemEnrollment);
        let pending = Pending {
            principal: actor_principal.audit_name(),
            action: Action::RedeemEnrollment.name(),
            resource: format!("enrollment:{id}"),
        };
        let outcome = async {
            let now = now_micros();
            if record.redeemed_at.is_some() {
                return Err(GovernanceError::Conflict(format!(
                    "enrollment {id} was already redeemed or revoked; ask for a new code"
                )));
            }
            if record.expires_at <= now {
                return Err(GovernanceError::Conflict(format!(
                    "enrollment {id} expired; ask for a new code"
                )));
            }
            tx.redeem_enrollment(&permit, id, now).await?;
            tx.set_passphrase(&permit, principal.id, Some(&phc)).await?;
            let issued = self
                .insert_new_token(&mut tx, &permit, &principal, valid_for_days, now)
                .await?;
            Ok::<_, GovernanceError>(issued)
        }
        .await;
        self.finish(tx, pending, outcome, |issued| {
            format!(
                "enrolled: passphrase set and token {} issued to {}",
                issued.id,
                actor_principal.audit_name()
            )
        })
        .await
    }

    async fn insert_new_token(
        &self,
        tx: &mut S::Tx,
        permit: &Permit,
        principal: &Principal,
        valid_for_days: Option<u32>,
        now: i64,
    ) -> Result<IssuedToken, GovernanceError> {
        if let Some(days) = valid_for_days
            && !(1..=MAX_TOKEN_VALID_DAYS).contains(&days)
        {
            return Err(GovernanceError::Invalid(format!(
                "a token is valid for 1 to {MAX_TOKEN_VALID_DAYS} days, not {days}"
            )));
        }
        let new = token::generate(token::TOKEN_PREFIX);
        let expires_at = valid_for_days
            .map(|days| now.saturating_add(i64::from(days).saturating_mul(86_400_000_000)));
        tx.insert_token(
            permit,
            &TokenRecord {
                id: new.id.clone(),
                principal_id: principal.id,
                digest: new.digest,
                created_at: now,
                expires_at,
                revoked_at: None,
            },
        )
        .await?;
        Ok(IssuedToken {
            id: new.id,
            principal: principal.name.clone(),
            token: new.text,
            expires_at,
        })
    }

    /// Issues a token for `principal_name`. An AI component's token is issued by an admin (or the
    /// local administrator); a person's token only by that person, signed in.
    pub async fn issue_token(
        &self,
        actor: Actor<'_>,
        principal_name: &str,
        valid_for_days: Option<u32>,
    ) -> Result<IssuedToken, GovernanceError> {
        let resource = Resource::Principal(principal_name.to_string());
        let mut read = self.store.read().await?;
        let target = read.principal_by_name(principal_name).await?;
        drop(read);
        let verdict = match (&target, actor) {
            (Some(target), Actor::Principal(me)) if !target.is_ai() && target.id == me.id => (
                Verdict::Allow,
                "a person issues a token for themselves".to_string(),
            ),
            (Some(target), _) if !target.is_ai() => (
                Verdict::Deny,
                format!(
                    "nobody issues credentials for another person: give {} an enrollment code (`otsentry principal enroll {}`) and let them redeem it",
                    target.name, target.name
                ),
            ),
            _ => self.verdict(actor, Action::ManagePrincipals, &resource),
        };
        let (mut tx, permit, pending) = self
            .open_change(
                actor,
                Action::ManagePrincipals,
                &resource,
                verdict,
                "issue_token",
            )
            .await?;
        let outcome = async {
            let principal = tx.principal_by_name(principal_name).await?.ok_or_else(|| {
                GovernanceError::NotFound(format!("principal `{principal_name}`"))
            })?;
            self.insert_new_token(&mut tx, &permit, &principal, valid_for_days, now_micros())
                .await
        }
        .await;
        self.finish(tx, pending, outcome, |issued| {
            format!("token {} issued to {}", issued.id, issued.principal)
        })
        .await
    }

    /// Revokes a token by its id: an admin any token, a person their own.
    pub async fn revoke_token(
        &self,
        actor: Actor<'_>,
        token_id: &str,
    ) -> Result<(), GovernanceError> {
        let resource = Resource::Token(token_id.to_string());
        let mut read = self.store.read().await?;
        let record = read.token(token_id).await?;
        drop(read);
        let verdict = match (&record, actor) {
            (Some(record), Actor::Principal(me)) if record.principal_id == me.id => (
                Verdict::Allow,
                "a principal revokes its own token".to_string(),
            ),
            _ => self.verdict(actor, Action::ManagePrincipals, &resource),
        };
        let (mut tx, permit, pending) = self
            .open_change(
                actor,
                Action::ManagePrincipals,
                &resource,
                verdict,
                "revoke_token",
            )
            .await?;
        let outcome = async {
            if tx.revoke_token(&permit, token_id, now_micros()).await? {
                Ok(())
            } else if tx.token(token_id).await?.is_some() {
                Err(GovernanceError::Conflict(format!(
                    "token {token_id} is already revoked"
                )))
            } else {
                Err(GovernanceError::NotFound(format!("token {token_id}")))
            }
        }
        .await;
        self.finish(tx, pending, outcome, |()| {
            format!("token {token_id} revoked")
        })
        .await
    }

    /// Every principal (read through the gate).
    pub async fn list_principals(
        &self,
        actor: Actor<'_>,
    ) -> Result<Vec<Principal>, GovernanceError> {
        let _permit = self
            .authorize(
                actor,
                Action::ManagePrincipals,
                &Resource::Principal("*".into()),
            )
            .await?;
        Ok(self.store.read().await?.list_principals().await?)
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

    /// Verifies the whole chain and replays it against the state tables; with a public key
    /// every entry's signature is checked too. The outer error is an operational failure; the
    /// inner one names what is broken.
    pub async fn audit_verify(
        &self,
        actor: Actor<'_>,
        options: &crate::audit::VerifyOptions<'_>,
    ) -> Result<Result<crate::audit::VerifyReport, crate::audit::ChainBreak>, GovernanceError> {
        // Read before auditing this verification, so the check covers exactly the log as it was
        // when asked.
        let outcome = verify_store(&self.store, options).await?;
        let _permit = self
            .authorize(actor, Action::ReadAudit, &Resource::AuditLog)
            .await?;
        Ok(outcome)
    }
}

/// Verifies a store's chain, its anchored head and its state, without writing anything (what
/// `otsentry audit verify` runs).
pub async fn verify_store<S: Store>(
    store: &S,
    options: &crate::audit::VerifyOptions<'_>,
) -> Result<Result<crate::audit::VerifyReport, crate::audit::ChainBreak>, GovernanceError> {
    let anchored = store.anchored_head()?;
    let rows = store.audit_entries().await?;
    let state = store.state_rows().await?;
    Ok(crate::audit::verify_all(&rows, &state, anchored, options))
}

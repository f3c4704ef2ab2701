//! Policy files: reading either kind (told apart by the top-level key), validating it into a
//! checked form, fingerprinting it with SHA-256, and explaining it in plain words.

mod ai;
mod error;
mod explain;
mod retraining;
mod yaml;

use std::path::Path;

use serde::Deserialize;
use sha2::{Digest, Sha256};

pub use ai::{AiGovernancePolicy, ApprovalRequirement, DataAccess, DataSource, Prohibition};
pub use error::PolicyError;
pub use explain::explain;
pub use retraining::{Condition, LOG_FIELDS, Requirement, RetrainBlocker, RetrainingPolicy};

/// The top level of a policy file: exactly one of the two documented keys.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum RawPolicyFile {
    AiGovernancePolicy(ai::RawAiPolicy),
    RetrainingPolicy(retraining::RawRetrainingPolicy),
}

/// A validated policy of either kind.
#[derive(Debug, Clone)]
pub enum PolicyKind {
    AiGovernance(AiGovernancePolicy),
    Retraining(RetrainingPolicy),
}

/// A validated policy with the file's text and SHA-256, which every decision records.
#[derive(Debug, Clone)]
pub struct Policy {
    pub kind: PolicyKind,
    /// Lower-case hex SHA-256 of the file's bytes.
    pub sha256: String,
    pub text: String,
}

impl Policy {
    /// The top-level key naming this policy's kind.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            PolicyKind::AiGovernance(_) => "ai_governance_policy",
            PolicyKind::Retraining(_) => "retraining_policy",
        }
    }

    /// The `system_id` the policy governs.
    pub fn system_id(&self) -> &str {
        match &self.kind {
            PolicyKind::AiGovernance(policy) => &policy.system_id,
            PolicyKind::Retraining(policy) => &policy.system_id,
        }
    }
}

/// Parses and validates policy text; `origin` names it in errors (usually the file path).
pub fn parse_policy(text: &str, origin: &str) -> Result<Policy, PolicyError> {
    let raw: RawPolicyFile = yaml::parse(text, origin)?;
    let kind = match raw {
        RawPolicyFile::AiGovernancePolicy(raw) => PolicyKind::AiGovernance(raw.check(origin)?),
        RawPolicyFile::RetrainingPolicy(raw) => PolicyKind::Retraining(raw.check(origin)?),
    };
    Ok(Policy {
        kind,
        sha256: sha256_hex(text.as_bytes()),
        text: text.to_string(),
    })
}

/// Reads, parses and validates a policy file.
pub fn load_policy(path: &Path) -> Result<Policy, PolicyError> {
    let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_policy(&text, &path.display().to_string())
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The policies a running system enforces: one AI governance policy, optionally a retraining
/// policy for the same system.
#[derive(Debug, Clone)]
pub struct PolicySet {
    pub ai: AiGovernancePolicy,
    pub retraining: Option<RetrainingPolicy>,
    /// The SHA-256 recorded with every decision: the AI governance policy's, or, when a
    /// retraining policy is loaded too, the SHA-256 over both fingerprints in that order.
    pub sha256: String,
    pub files: Vec<Policy>,
}

/// Why a set of policies cannot be enforced together.
#[derive(Debug, thiserror::Error)]
pub enum PolicySetError {
    #[error("no ai_governance_policy given; the gate cannot decide without one")]
    MissingAiPolicy,
    #[error("more than one {kind} given")]
    Duplicate { kind: &'static str },
    #[error("retraining_policy governs `{retraining}` but ai_governance_policy governs `{ai}`")]
    SystemMismatch { ai: String, retraining: String },
}

impl PolicySet {
    /// Combines validated policy files into the set the gate enforces.
    pub fn from_policies(files: Vec<Policy>) -> Result<Self, PolicySetError> {
        let mut ai = None;
        let mut retraining = None;
        for file in &files {
            match &file.kind {
                PolicyKind::AiGovernance(policy) => {
                    if ai.replace((policy.clone(), file.sha256.clone())).is_some() {
                        return Err(PolicySetError::Duplicate {
                            kind: "ai_governance_policy",
                        });
                    }
                }
                PolicyKind::Retraining(policy) => {
                    if retraining
                        .replace((policy.clone(), file.sha256.clone()))
                        .is_some()
                    {
                        return Err(PolicySetError::Duplicate {
                            kind: "retraining_policy",
                        });
                    }
                }
            }
        }
        let (ai, ai_sha) = ai.ok_or(PolicySetError::MissingAiPolicy)?;
        let sha256 = match &retraining {
            Some((policy, sha)) => {
                if policy.system_id != ai.system_id {
                    return Err(PolicySetError::SystemMismatch {
                        ai: ai.system_id.clone(),
                        retraining: policy.system_id.clone(),
                    });
                }
                sha256_hex(format!("{ai_sha}\n{sha}\n").as_bytes())
            }
            None => ai_sha,
        };
        Ok(PolicySet {
            ai,
            retraining: retraining.map(|(policy, _)| policy),
            sha256,
            files,
        })
    }
}

//! Principals: the people and AI components that act, each authenticated by a token. A human
//! carries roles; an AI component is a service identity whose limits are fixed in code.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A role name such as `analyst` or `ot-security-lead`: lower-case letters, digits and dashes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Role(String);

impl Role {
    /// The role that manages principals and tokens and reads the audit log.
    pub const ADMIN: &'static str = "admin";

    /// Checks a role name.
    pub fn parse(name: &str) -> Result<Self, String> {
        let name = name.trim();
        let valid = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if valid {
            Ok(Role(name.to_string()))
        } else {
            Err(format!(
                "`{name}` is not a role name (lower-case letters, digits, - and _, at most 64 characters)"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Role {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        Role::parse(&value)
    }
}

impl From<Role> for String {
    fn from(role: Role) -> String {
        role.0
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The AI components otsentry runs, each a service identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AiComponent {
    /// The detectors that raise alerts.
    Scorer,
    /// The advisory triage assistant.
    Triage,
}

impl AiComponent {
    pub fn name(self) -> &'static str {
        match self {
            AiComponent::Scorer => "scorer",
            AiComponent::Triage => "triage",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "scorer" => Some(AiComponent::Scorer),
            "triage" => Some(AiComponent::Triage),
            _ => None,
        }
    }
}

/// What kind of principal acts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PrincipalKind {
    Human { roles: Vec<Role> },
    Ai { component: AiComponent },
}

/// An authenticated actor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    pub id: i64,
    pub name: String,
    #[serde(flatten)]
    pub kind: PrincipalKind,
}

impl Principal {
    pub fn is_ai(&self) -> bool {
        matches!(self.kind, PrincipalKind::Ai { .. })
    }

    /// The roles a human holds; an AI holds none.
    pub fn roles(&self) -> &[Role] {
        match &self.kind {
            PrincipalKind::Human { roles } => roles,
            PrincipalKind::Ai { .. } => &[],
        }
    }

    pub fn has_role(&self, role: &str) -> bool {
        self.roles().iter().any(|held| held.as_str() == role)
    }

    /// How the principal appears in the audit log: `human:alice` or `ai:scorer-1`.
    pub fn audit_name(&self) -> String {
        match self.kind {
            PrincipalKind::Human { .. } => format!("human:{}", self.name),
            PrincipalKind::Ai { .. } => format!("ai:{}", self.name),
        }
    }
}

/// A principal name: 1 to 64 characters of letters, digits, `.`, `-`, `_` and `@`.
pub fn check_principal_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@'));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a principal name (letters, digits, . - _ @, at most 64 characters)"
        ))
    }
}

//! Credentials. API tokens and enrollment codes are random 256-bit secrets shown once, looked up
//! by a separate non-secret id and stored only as a SHA-256 digest: a secret that random cannot
//! be guessed, so a fast digest compared in constant time is the standard (and keeps every
//! request cheap). A passphrase, which a person chooses, is stored as an Argon2id hash.
//! A token reads `ots_<id>_<secret>`, an enrollment code `otsenroll_<id>_<secret>`.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use sha2::{Digest, Sha256};

/// A freshly generated secret; `text` is the only copy.
#[derive(Debug, Clone)]
pub struct NewSecret {
    pub id: String,
    pub text: String,
    pub digest: String,
}

pub const TOKEN_PREFIX: &str = "ots_";
pub const ENROLLMENT_PREFIX: &str = "otsenroll_";

fn random_hex(n_bytes: usize) -> String {
    let mut bytes = vec![0u8; n_bytes];
    rand::fill(bytes.as_mut_slice());
    hex::encode(bytes)
}

/// The hex SHA-256 of a secret, as stored.
pub fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Generates a secret with `prefix` and its digest.
pub fn generate(prefix: &str) -> NewSecret {
    let id = random_hex(8);
    let secret = random_hex(32);
    NewSecret {
        text: format!("{prefix}{id}_{secret}"),
        digest: digest(&secret),
        id,
    }
}

/// Splits a presented secret into its id and secret part; `None` if it is not shaped like one.
pub fn split<'a>(prefix: &str, presented: &'a str) -> Option<(&'a str, &'a str)> {
    let rest = presented.strip_prefix(prefix)?;
    let (id, secret) = rest.split_once('_')?;
    let hex_of =
        |text: &str, len: usize| text.len() == len && text.bytes().all(|b| b.is_ascii_hexdigit());
    (hex_of(id, 16) && hex_of(secret, 64)).then_some((id, secret))
}

/// Compares two byte strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Checks a presented secret against a stored digest (`None` when the id is unknown: the same
/// work is done so the answer's timing does not say whether the id exists).
pub fn verify(secret: &str, stored: Option<&str>) -> bool {
    let presented = digest(secret);
    const UNKNOWN: &str = "unknown-id-placeholder-digest-of-the-same-length-as-a-real-one!!";
    let stored = stored.unwrap_or(UNKNOWN);
    constant_time_eq(presented.as_bytes(), stored.as_bytes()) && stored != UNKNOWN
}

/// The least a passphrase must be: long enough that guessing it online is hopeless.
pub const MIN_PASSPHRASE_CHARS: usize = 12;

/// Hashes a person's passphrase with Argon2id.
pub fn hash_passphrase(passphrase: &str) -> Result<String, String> {
    if passphrase.chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(format!(
            "a passphrase needs at least {MIN_PASSPHRASE_CHARS} characters"
        ));
    }
    Argon2::default()
        .hash_password(passphrase.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|error| format!("cannot hash the passphrase: {error}"))
}

/// Checks a passphrase against its Argon2id hash (constant-time inside argon2).
pub fn verify_passphrase(passphrase: &str, phc: &str) -> bool {
    Argon2::default()
        .verify_password(passphrase.as_bytes(), phc)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_token_verifies_and_a_changed_one_does_not() {
        let new = generate(TOKEN_PREFIX);
        let (id, secret) = split(TOKEN_PREFIX, &new.text).expect("well-formed");
        assert_eq!(id, new.id);
        assert_eq!(new.digest.len(), 64);
        assert!(verify(secret, Some(&new.digest)));
        let mut forged = secret.to_string();
        forged.replace_range(0..1, if secret.starts_with('0') { "1" } else { "0" });
        assert!(!verify(&forged, Some(&new.digest)));
        assert!(!verify(secret, None));
        assert!(split(TOKEN_PREFIX, "ots_short_abc").is_none());
        assert!(split(TOKEN_PREFIX, "Bearer something").is_none());
        assert!(split(ENROLLMENT_PREFIX, &new.text).is_none());
    }

    #[test]
    fn passphrases_are_argon2id_and_must_be_long() {
        assert!(hash_passphrase("short").is_err());
        let phc = hash_passphrase("correct horse battery").expect("hashes");
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_passphrase("correct horse battery", &phc));
        assert!(!verify_passphrase("correct horse batterz", &phc));
    }
}

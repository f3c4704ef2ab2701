//! API tokens: a random 256-bit secret shown once, stored only as an Argon2id PHC hash and looked
//! up by a separate non-secret id. The full token reads `ots_<id>_<secret>`.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

/// A freshly generated token; `token` is the only copy of the secret.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub id: String,
    pub token: String,
    pub phc: String,
}

const PREFIX: &str = "ots_";

fn random_hex(n_bytes: usize) -> String {
    let mut bytes = vec![0u8; n_bytes];
    rand::fill(bytes.as_mut_slice());
    hex::encode(bytes)
}

/// Generates a token and hashes its secret.
pub fn generate() -> Result<NewToken, String> {
    let id = random_hex(8);
    let secret = random_hex(32);
    let phc = Argon2::default()
        .hash_password(secret.as_bytes())
        .map_err(|error| format!("cannot hash token secret: {error}"))?
        .to_string();
    Ok(NewToken {
        token: format!("{PREFIX}{id}_{secret}"),
        id,
        phc,
    })
}

/// Splits a presented token into its id and secret; `None` if it is not shaped like one.
pub fn split(token: &str) -> Option<(&str, &str)> {
    let rest = token.strip_prefix(PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let hex_of =
        |text: &str, len: usize| text.len() == len && text.bytes().all(|b| b.is_ascii_hexdigit());
    (hex_of(id, 16) && hex_of(secret, 64)).then_some((id, secret))
}

/// Checks a secret against its stored PHC hash (constant-time inside argon2).
pub fn verify(secret: &str, phc: &str) -> bool {
    Argon2::default()
        .verify_password(secret.as_bytes(), phc)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_token_verifies_and_a_changed_one_does_not() {
        let new = generate().expect("hashing works");
        let (id, secret) = split(&new.token).expect("well-formed");
        assert_eq!(id, new.id);
        assert!(new.phc.starts_with("$argon2id$"));
        assert!(verify(secret, &new.phc));
        let mut forged = secret.to_string();
        forged.replace_range(0..1, if secret.starts_with('0') { "1" } else { "0" });
        assert!(!verify(&forged, &new.phc));
        assert!(split("ots_short_abc").is_none());
        assert!(split("Bearer something").is_none());
    }
}

//! Password hashing with Argon2id.
//!
//! Parameters: Argon2id, version 0x13, 19 MiB of memory (m = 19456 KiB), 2 iterations,
//! 1 lane, 16-byte random salt, 32-byte output — OWASP's Password Storage Cheat Sheet's
//! first recommended configuration. Hashes are stored as PHC strings
//! (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`), so the parameters travel with each
//! hash and can be raised later: [`needs_rehash`] says when a stored hash uses other ones.
//! On this project's 2-core machine one hash or verification takes well under the 250 ms
//! log-in budget (`docs/performance.md`).
//!
//! [`verify_unknown_account`] spends the same time as a real verification, so that a log-in
//! for an e-mail nobody registered cannot be told apart by its timing.

use std::sync::LazyLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use super::password::Password;
use crate::crypto::CryptoError;

/// Memory cost in KiB.
pub const MEMORY_KIB: u32 = 19 * 1024;
/// Iterations.
pub const ITERATIONS: u32 = 2;
/// Lanes.
pub const LANES: u32 = 1;

fn argon2() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, LANES, Some(32))
        .unwrap_or_else(|_| unreachable!("the constant Argon2 parameters are valid"));
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Why a password could not be hashed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    /// No random salt could be generated.
    #[error("no random salt could be generated")]
    Randomness(#[from] CryptoError),
    /// Argon2 refused the input (it cannot for a parsed [`Password`]).
    #[error("the password could not be hashed")]
    Hashing,
}

/// The PHC string of `password`'s Argon2id hash with a fresh salt.
pub fn hash(password: &Password) -> Result<String, HashError> {
    let mut salt = [0u8; 16];
    crate::crypto::random(&mut salt)?;
    let salt = SaltString::encode_b64(&salt).map_err(|_| HashError::Hashing)?;
    argon2()
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|_| HashError::Hashing)
}

/// Whether `candidate` matches the stored PHC string. A malformed stored hash never matches.
pub fn verify(stored: &str, candidate: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    // The parameters come from the stored string; the verifier itself only needs Argon2id.
    argon2()
        .verify_password(candidate.as_bytes(), &parsed)
        .is_ok()
}

/// Whether a stored hash was made with other parameters than today's, so that it should be
/// replaced after the next successful log-in.
pub fn needs_rehash(stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return true;
    };
    let current = (Some(MEMORY_KIB), Some(ITERATIONS), Some(LANES));
    let param = |name: &str| parsed.params.get_decimal(name);
    parsed.algorithm.as_str() != "argon2id" || (param("m"), param("t"), param("p")) != current
}

/// A hash of a random password, made once: what [`verify_unknown_account`] checks against.
static DUMMY: LazyLock<Option<String>> = LazyLock::new(|| {
    let mut bytes = [0u8; 24];
    crate::crypto::random(&mut bytes).ok()?;
    let text: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let password = Password::parse(text).ok()?;
    hash(&password).ok()
});

/// Spends the time of a verification for a log-in whose e-mail matches no account, and
/// always answers `false`.
pub fn verify_unknown_account(candidate: &str) -> bool {
    if let Some(dummy) = DUMMY.as_deref() {
        let _ = verify(dummy, candidate);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn password(text: &str) -> Password {
        Password::parse(text.to_owned()).expect("a valid password")
    }

    #[test]
    fn a_hash_verifies_its_password_only_and_records_its_parameters() {
        let stored = hash(&password("correct horse battery staple")).expect("hashes");
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        assert!(verify(&stored, "correct horse battery staple"));
        assert!(!verify(&stored, "correct horse battery stapler"));
        assert!(!verify(&stored, ""));
        assert!(!needs_rehash(&stored));
    }

    #[test]
    fn the_same_password_hashes_differently_each_time() {
        let a = hash(&password("correct horse battery staple")).expect("hashes");
        let b = hash(&password("correct horse battery staple")).expect("hashes");
        assert_ne!(a, b, "random salts");
    }

    #[test]
    fn malformed_or_outdated_stored_hashes_never_match_and_ask_for_a_rehash() {
        let cases = [
            ("", true),
            ("not a phc string", true),
            (
                "$argon2id$v=19$m=4096,t=3,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA",
                true,
            ),
            (
                "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA",
                true,
            ),
        ];
        for (stored, rehash) in cases {
            assert!(
                !verify(stored, "correct horse battery staple"),
                "{stored:?}"
            );
            assert_eq!(needs_rehash(stored), rehash, "{stored:?}");
        }
    }

    #[test]
    fn an_unknown_account_never_verifies() {
        assert!(!verify_unknown_account("correct horse battery staple"));
        assert!(
            DUMMY.is_some(),
            "the dummy hash exists, so the timing is spent"
        );
    }
}

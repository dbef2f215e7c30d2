//! Blind indexes: deterministic look-up tokens for equality search on encrypted values.
//!
//! `token = HMAC-SHA256(k_purpose, value)`, with `k_purpose` derived from the system key by
//! HKDF-SHA256 (salt `icecone.blind-index.v1`, info = the purpose). Each purpose (e-mail
//! at login, ...) has its own key, so tokens of one column say nothing about another. The
//! system key does not change when the KEK rotates, so tokens stay valid. Callers normalise
//! values (e.g. case-fold an e-mail address) before computing a token.

use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::keys::SecretKey;

/// A key for the blind index of one purpose.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct BlindIndexKey([u8; 32]);

impl std::fmt::Debug for BlindIndexKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BlindIndexKey([redacted])")
    }
}

impl BlindIndexKey {
    /// Derives the key of `purpose` from the system key.
    pub fn derive(system_key: &SecretKey, purpose: &str) -> Self {
        let hkdf = Hkdf::<Sha256>::new(Some(b"icecone.blind-index.v1"), system_key.expose());
        let mut key = [0u8; 32];
        // 32 bytes is far below HKDF-SHA256's 8160-byte output limit: this cannot fail.
        if hkdf.expand(purpose.as_bytes(), &mut key).is_err() {
            unreachable!("HKDF-SHA256 can expand to 32 bytes");
        }
        Self(key)
    }

    /// The token of a (normalised) value.
    pub fn token(&self, value: &[u8]) -> [u8; 32] {
        let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(&self.0) else {
            unreachable!("HMAC takes keys of any length");
        };
        mac.update(value);
        mac.finalize().into_bytes().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_deterministic_per_purpose_and_differ_across_purposes_and_keys() {
        let system = SecretKey::from_slice(&[3; 32]).expect("key");
        let email = BlindIndexKey::derive(&system, "accounts.email");
        assert_eq!(
            email.token(b"alice@example.com"),
            email.token(b"alice@example.com")
        );
        assert_ne!(
            email.token(b"alice@example.com"),
            email.token(b"bob@example.com")
        );
        let other = BlindIndexKey::derive(&system, "partners.contact");
        assert_ne!(
            email.token(b"alice@example.com"),
            other.token(b"alice@example.com")
        );
        let other_system = BlindIndexKey::derive(
            &SecretKey::from_slice(&[4; 32]).expect("key"),
            "accounts.email",
        );
        assert_ne!(
            email.token(b"alice@example.com"),
            other_system.token(b"alice@example.com")
        );
    }

    #[test]
    fn hmac_sha256_matches_rfc_4231_test_case_2() {
        // Checks the primitive the tokens are made of: key "Jefe", data below.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(b"Jefe").expect("any key length");
        mac.update(b"what do ya want for nothing?");
        let expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        let got: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(got, expected);
    }
}

//! Envelope encryption for data at rest, with no IO.
//!
//! - [`aead`]: the two AEAD algorithms, AES-256-GCM (default) and XChaCha20-Poly1305, both
//!   with 256-bit keys.
//! - [`envelope`]: the versioned ciphertext format (`docs/encryption.md` documents it byte by
//!   byte) and [`envelope::Binding`], the associated data that ties a ciphertext to its table,
//!   column, row and data subject.
//! - [`keys`]: the key hierarchy — root key-encryption keys (KEKs) by version behind the
//!   [`keys::KeyProvider`] trait, one data-encryption key (DEK) per data subject wrapped by a
//!   KEK, a system key for non-personal secrets — and the keyring text format.
//! - [`blind_index`]: HMAC-SHA256 look-up tokens for equality search on encrypted values.
//!
//! Every failure is a [`CryptoError`]: never a panic, never a partial plaintext.

pub mod aead;
pub mod blind_index;
pub mod envelope;
pub mod keys;

/// Why data could not be encrypted or decrypted. Messages never contain key material or
/// plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// The ciphertext is shorter than its header and tag.
    #[error("the ciphertext is truncated")]
    Truncated,
    /// The ciphertext was written by a format this code does not know.
    #[error("unknown ciphertext format version {0}")]
    UnknownFormat(u8),
    /// The ciphertext names an algorithm this code does not know.
    #[error("unknown encryption algorithm id {0}")]
    UnknownAlgorithm(u8),
    /// The ciphertext was sealed with a key version that is not available.
    #[error("no key with version {0} is available")]
    UnknownKeyVersion(u32),
    /// Authentication failed: the ciphertext was tampered with, belongs to another place or
    /// person (associated-data binding), or the key is wrong. Deliberately one error: telling
    /// these apart would help an attacker.
    #[error("the ciphertext could not be authenticated (tampered, moved, or wrong key)")]
    Authentication,
    /// Key material has the wrong length or encoding.
    #[error("invalid key material: {0}")]
    InvalidKey(&'static str),
    /// The operating system's random number generator failed.
    #[error("the system random number generator failed")]
    Randomness,
    /// The key was destroyed (crypto-shredding): the data is gone for good.
    #[error("the data key was destroyed")]
    KeyDestroyed,
}

/// Fills `buffer` from the operating system's random number generator.
pub(crate) fn random(buffer: &mut [u8]) -> Result<(), CryptoError> {
    getrandom::fill(buffer).map_err(|_| CryptoError::Randomness)
}

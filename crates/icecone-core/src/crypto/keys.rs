//! The key hierarchy.
//!
//! ```text
//! root key-encryption keys (KEKs), by version ── from a KeyProvider (key file, environment,
//!        │                                        or a KMS such as Vault transit)
//!        ├── wraps one data-encryption key (DEK) per data subject ── encrypts their fields
//!        └── wraps the system key ── encrypts non-personal secrets (provider API keys)
//!                                   └── derives the blind-index keys
//! ```
//!
//! Rotating the KEK adds a version and re-wraps every DEK and the system key; the data they
//! encrypt is untouched. Destroying a subject's wrapped DEK (crypto-shredding) makes every
//! copy of that subject's data unreadable, backups included.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::CryptoError;
use super::aead::Algorithm;
use super::envelope::{self, Binding, Header};

/// The length of every key, in bytes (256 bits).
pub const KEY_LEN: usize = 32;

/// A 256-bit key, wiped from memory when dropped. Its `Debug` output is redacted.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SecretKey([u8; KEY_LEN]);

impl SecretKey {
    /// A fresh random key.
    pub fn generate() -> Result<Self, CryptoError> {
        let mut key = Self([0; KEY_LEN]);
        super::random(&mut key.0)?;
        Ok(key)
    }

    /// A key from exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, CryptoError> {
        let array: [u8; KEY_LEN] = bytes
            .try_into()
            .map_err(|_| CryptoError::InvalidKey("a key is exactly 32 bytes"))?;
        Ok(Self(array))
    }

    /// The key bytes.
    pub fn expose(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey([redacted])")
    }
}

/// The binding of a subject's wrapped data key: it opens for that subject only.
pub fn data_key_binding(subject: &str) -> Binding {
    Binding::personal("data_keys", "wrapped_key", subject, subject)
}

/// The binding of a wrapped system key.
pub fn system_key_binding(name: &str) -> Binding {
    Binding::system("system_keys", "wrapped_key", name)
}

/// Local root keys by version: what a key file or an environment variable holds.
///
/// Text form, one key per line, the highest version current:
///
/// ```text
/// # comments and blank lines are ignored
/// 1 <32 bytes, base64>
/// 2 <32 bytes, base64>
/// ```
///
/// A text holding a single bare base64 key (what `openssl rand -base64 32` writes) is
/// version 1. In an environment variable, `;` separates lines.
#[derive(Clone, Default)]
pub struct Keyring {
    keys: BTreeMap<u32, SecretKey>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("versions", &self.versions())
            .finish()
    }
}

/// Why a keyring text cannot be used. Messages give line numbers, never key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyringError {
    /// No key at all.
    #[error("the keyring holds no key")]
    Empty,
    /// A line is not `<version> <base64 key>`.
    #[error("line {0}: expected `<version> <32 bytes in base64>`")]
    Malformed(usize),
    /// A version appears twice.
    #[error("line {0}: version {1} appears twice")]
    Duplicate(usize, u32),
    /// Version 0 is not a version.
    #[error("line {0}: versions start at 1")]
    ZeroVersion(usize),
}

impl Keyring {
    /// Parses the text form.
    pub fn parse(text: &str) -> Result<Self, KeyringError> {
        let mut keys = BTreeMap::new();
        let lines: Vec<(usize, &str)> = text
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.trim_start().starts_with('#'))
            .flat_map(|(i, line)| line.split(';').map(move |entry| (i + 1, entry.trim())))
            .filter(|(_, entry)| !entry.is_empty())
            .collect();
        if let [(number, single)] = lines.as_slice()
            && !single.contains(char::is_whitespace)
        {
            keys.insert(
                1,
                decode_key(single).ok_or(KeyringError::Malformed(*number))?,
            );
            return Ok(Self { keys });
        }
        for (number, line) in lines {
            let (version, key) = line
                .split_once(char::is_whitespace)
                .ok_or(KeyringError::Malformed(number))?;
            let version: u32 = version
                .trim()
                .parse()
                .map_err(|_| KeyringError::Malformed(number))?;
            if version == 0 {
                return Err(KeyringError::ZeroVersion(number));
            }
            let key = decode_key(key.trim()).ok_or(KeyringError::Malformed(number))?;
            if keys.insert(version, key).is_some() {
                return Err(KeyringError::Duplicate(number, version));
            }
        }
        if keys.is_empty() {
            return Err(KeyringError::Empty);
        }
        Ok(Self { keys })
    }

    /// The text form, wiped from memory when dropped.
    pub fn to_text(&self) -> Zeroizing<String> {
        let mut text = Zeroizing::new(String::from(
            "# IceCone root keys: `<version> <base64>`; the highest version is current.\n",
        ));
        for (version, key) in &self.keys {
            let encoded = Zeroizing::new(STANDARD.encode(key.expose()));
            text.push_str(&format!("{version} {}\n", encoded.as_str()));
        }
        text
    }

    /// A keyring with one fresh key, version 1.
    pub fn generate() -> Result<Self, CryptoError> {
        Ok(Self {
            keys: BTreeMap::from([(1, SecretKey::generate()?)]),
        })
    }

    /// The current (highest) version.
    pub fn current_version(&self) -> u32 {
        self.keys.keys().next_back().copied().unwrap_or(0)
    }

    /// Every version, ascending.
    pub fn versions(&self) -> Vec<u32> {
        self.keys.keys().copied().collect()
    }

    /// This keyring plus a fresh key one version above the current one.
    pub fn with_new_version(&self) -> Result<(Self, u32), CryptoError> {
        let version = self.current_version() + 1;
        let mut keys = self.keys.clone();
        keys.insert(version, SecretKey::generate()?);
        Ok((Self { keys }, version))
    }

    /// This keyring without `version`; the current version cannot be removed.
    pub fn without(&self, version: u32) -> Option<Self> {
        if version == self.current_version() || !self.keys.contains_key(&version) {
            return None;
        }
        let mut keys = self.keys.clone();
        keys.remove(&version);
        Some(Self { keys })
    }

    /// Wraps `key` for `binding` with the current root key.
    pub fn wrap(
        &self,
        algorithm: Algorithm,
        key: &SecretKey,
        binding: &Binding,
    ) -> Result<Vec<u8>, CryptoError> {
        let version = self.current_version();
        let kek = self
            .keys
            .get(&version)
            .ok_or(CryptoError::UnknownKeyVersion(version))?;
        envelope::seal(algorithm, kek, version, binding, key.expose())
    }

    /// Unwraps a key wrapped for `binding` by any version this keyring holds.
    pub fn unwrap(&self, wrapped: &[u8], binding: &Binding) -> Result<SecretKey, CryptoError> {
        let version = Header::parse(wrapped)?.key_version;
        let kek = self
            .keys
            .get(&version)
            .ok_or(CryptoError::UnknownKeyVersion(version))?;
        let bytes = envelope::open(kek, version, binding, wrapped)?;
        SecretKey::from_slice(&bytes)
    }
}

fn decode_key(text: &str) -> Option<SecretKey> {
    let bytes = Zeroizing::new(STANDARD.decode(text).ok()?);
    SecretKey::from_slice(&bytes).ok()
}

/// Why a key provider could not answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyProviderError {
    /// Wrapping or unwrapping failed (tampered, wrong binding, unknown version).
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// The provider's backing store (file, KMS) could not be reached or read; the message
    /// names the place, never key material.
    #[error("the key provider is unavailable: {0}")]
    Unavailable(String),
    /// The provider cannot do this (e.g. add a version to an environment variable).
    #[error("{0}")]
    Unsupported(String),
}

/// A boxed future, so that [`KeyProvider`] stays dyn-compatible.
pub type KeyFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, KeyProviderError>> + Send + 'a>>;

/// Where the root key-encryption keys live.
///
/// The gateway never needs a KEK's bytes: it asks the provider to wrap and unwrap data
/// keys. That is what lets a KMS hold the KEK without ever releasing it — an implementation
/// for Vault transit would call `POST /transit/encrypt/<key>` in `wrap` (with the binding as
/// `context`/associated data) and `POST /transit/decrypt/<key>` in `unwrap`, report Vault's
/// key versions from `versions`, and map `create_version` to `POST /transit/keys/<key>/rotate`.
/// A cloud KMS maps the same way (`Encrypt`/`Decrypt` with an encryption context).
///
/// Wrapped keys must be envelopes of this crate's format whose header holds the KEK version
/// (see [`envelope::Header`]), so that rotation can tell which keys still need re-wrapping.
pub trait KeyProvider: fmt::Debug + Send + Sync {
    /// The version new wraps use.
    fn current_version(&self) -> KeyFuture<'_, u32>;
    /// Every version that can still unwrap, ascending.
    fn versions(&self) -> KeyFuture<'_, Vec<u32>>;
    /// Wraps `key` for `binding` with the current version.
    fn wrap<'a>(&'a self, key: &'a SecretKey, binding: &'a Binding) -> KeyFuture<'a, Vec<u8>>;
    /// Unwraps a key wrapped for `binding`.
    fn unwrap<'a>(&'a self, wrapped: &'a [u8], binding: &'a Binding) -> KeyFuture<'a, SecretKey>;
    /// Adds a new current version, when the provider can.
    fn create_version(&self) -> KeyFuture<'_, u32>;
    /// Removes an old version, when the provider can. Callers make sure nothing uses it.
    fn retire_version(&self, version: u32) -> KeyFuture<'_, ()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_A: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const KEY_B: &str = "HxweHRwbGhkYFxYVFBMSERAPDg0MCwoJCAcGBQQDAgE=";

    #[test]
    fn keyring_texts_parse_or_say_which_line_is_wrong() {
        let cases: Vec<(String, Result<Vec<u32>, KeyringError>)> = vec![
            (KEY_A.to_owned(), Ok(vec![1])),
            (format!("{KEY_A}\n"), Ok(vec![1])),
            (format!("# root\n1 {KEY_A}\n2 {KEY_B}\n"), Ok(vec![1, 2])),
            (format!("3 {KEY_B}; 1 {KEY_A}"), Ok(vec![1, 3])),
            (format!("# a; comment\n1 {KEY_A}"), Ok(vec![1])),
            (String::new(), Err(KeyringError::Empty)),
            ("# nothing\n".to_owned(), Err(KeyringError::Empty)),
            ("not base64!".to_owned(), Err(KeyringError::Malformed(1))),
            ("AAECAwQ=".to_owned(), Err(KeyringError::Malformed(1))),
            (
                format!("1 {KEY_A}\nx {KEY_B}"),
                Err(KeyringError::Malformed(2)),
            ),
            (
                format!("1 {KEY_A}\n1 {KEY_B}"),
                Err(KeyringError::Duplicate(2, 1)),
            ),
            (format!("0 {KEY_A}"), Err(KeyringError::ZeroVersion(1))),
            (format!("1 {KEY_A}\n2"), Err(KeyringError::Malformed(2))),
        ];
        for (text, expected) in cases {
            assert_eq!(
                Keyring::parse(&text).map(|k| k.versions()),
                expected,
                "text: {text:?}"
            );
        }
    }

    #[test]
    fn a_keyring_survives_its_text_form_and_never_shows_keys_in_debug() {
        let (keyring, version) = Keyring::generate()
            .expect("keyring")
            .with_new_version()
            .expect("v2");
        assert_eq!(version, 2);
        let again = Keyring::parse(&keyring.to_text()).expect("parses");
        assert_eq!(again.versions(), vec![1, 2]);
        let dek = SecretKey::generate().expect("dek");
        let wrapped = keyring
            .wrap(Algorithm::default(), &dek, &data_key_binding("s1"))
            .expect("wraps");
        assert_eq!(
            again
                .unwrap(&wrapped, &data_key_binding("s1"))
                .expect("unwraps")
                .expose(),
            dek.expose()
        );
        let debug = format!("{keyring:?} {dek:?}");
        let text = keyring.to_text();
        let first_key = text
            .lines()
            .nth(1)
            .and_then(|l| l.split(' ').nth(1))
            .expect("a key");
        assert!(!debug.contains(first_key), "{debug}");
        assert!(debug.contains("redacted"));
    }

    #[test]
    fn wrapped_keys_open_for_their_own_subject_only() {
        let keyring = Keyring::parse(KEY_A).expect("keyring");
        let dek = SecretKey::generate().expect("dek");
        for algorithm in [Algorithm::XChaCha20Poly1305, Algorithm::Aes256Gcm] {
            let wrapped = keyring
                .wrap(algorithm, &dek, &data_key_binding("alice"))
                .expect("wraps");
            assert_eq!(Header::parse(&wrapped).expect("header").key_version, 1);
            assert!(keyring.unwrap(&wrapped, &data_key_binding("alice")).is_ok());
            assert_eq!(
                keyring
                    .unwrap(&wrapped, &data_key_binding("bob"))
                    .map(|k| k.expose().to_vec()),
                Err(CryptoError::Authentication)
            );
            assert!(
                keyring
                    .unwrap(&wrapped, &system_key_binding("alice"))
                    .is_err()
            );
        }
    }

    #[test]
    fn rotation_wraps_with_the_new_version_and_the_old_one_still_unwraps_until_retired() {
        let v1 = Keyring::parse(KEY_A).expect("keyring");
        let dek = SecretKey::generate().expect("dek");
        let old = v1
            .wrap(Algorithm::default(), &dek, &data_key_binding("s"))
            .expect("wraps");
        let (v2, _) = v1.with_new_version().expect("rotates");
        let new = v2
            .wrap(Algorithm::default(), &dek, &data_key_binding("s"))
            .expect("re-wraps");
        assert_eq!(Header::parse(&new).expect("header").key_version, 2);
        assert!(
            v2.unwrap(&old, &data_key_binding("s")).is_ok(),
            "old version still unwraps"
        );
        let retired = v2.without(1).expect("retires");
        assert_eq!(
            retired.unwrap(&old, &data_key_binding("s")).map(|_| ()),
            Err(CryptoError::UnknownKeyVersion(1))
        );
        assert!(retired.unwrap(&new, &data_key_binding("s")).is_ok());
        assert!(
            v2.without(2).is_none(),
            "the current version cannot be retired"
        );
        assert!(v2.without(9).is_none());
    }

    #[test]
    fn a_key_is_exactly_32_bytes() {
        assert!(SecretKey::from_slice(&[0; 31]).is_err());
        assert!(SecretKey::from_slice(&[0; 33]).is_err());
        assert!(SecretKey::from_slice(&[0; 32]).is_ok());
        assert_ne!(
            SecretKey::generate().expect("a").expose(),
            SecretKey::generate().expect("b").expose()
        );
    }
}

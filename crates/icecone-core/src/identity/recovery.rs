//! Recovery codes: ten single-use codes that stand in for the second factor when the
//! authenticator is lost.
//!
//! A code is 10 characters of Crockford's base32 alphabet (`0-9` and `a-z` without `i`, `l`,
//! `o` and `u`), 50 random bits, shown as `xxxxx-xxxxx`. [`RecoveryCode::parse`] is forgiving
//! about what people type: case, spaces and dashes are ignored, and `i`/`l` read as `1`, `o`
//! as `0`, the characters the alphabet leaves out because they look alike.
//!
//! **Storage.** 50 bits is well under the 112 bits above which NIST SP 800-63B (5.1.2.2)
//! lets look-up secrets be stored plainly, so codes are stored as [`code_digest`]s — an
//! HMAC-SHA256 under a pepper — and attempts are rate-limited like any second factor (see
//! `identity::throttle`). The pepper is derived from the system key by HKDF
//! ([`derive_pepper`], like `crypto::blind_index`), so it never sits in the database next to
//! the digests: a stolen table of digests cannot be searched offline. The account's salt (its
//! id, say) makes the same code give different digests on different accounts. Each code is
//! spent once: the gateway marks the digest used in the same statement that finds it.

use std::fmt;

use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::crypto::CryptoError;
use crate::crypto::keys::SecretKey;

/// The codes in a set.
pub const SET_SIZE: usize = 10;
/// The characters of a code, without the dash.
pub const CODE_LEN: usize = 10;
/// Crockford's base32 alphabet, lower case.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// One recovery code in its canonical form (10 lower-case alphabet characters).
///
/// Overwritten with zeroes when dropped; `Debug` is redacted. Show it with
/// [`RecoveryCode::display_form`] exactly once, when the set is issued. Equality is decided
/// in constant time.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct RecoveryCode([u8; CODE_LEN]);

impl PartialEq for RecoveryCode {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for RecoveryCode {}

/// Why a typed recovery code was refused. Messages never repeat the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecoveryCodeError {
    /// Not 10 characters once spaces and dashes are removed.
    #[error("a recovery code has {CODE_LEN} characters")]
    Length,
    /// A character that cannot appear in a recovery code.
    #[error("a recovery code contains only letters and digits")]
    Character,
}

impl RecoveryCode {
    /// A fresh set of [`SET_SIZE`] distinct codes.
    pub fn generate_set() -> Result<Vec<RecoveryCode>, CryptoError> {
        let mut set: Vec<RecoveryCode> = Vec::with_capacity(SET_SIZE);
        while set.len() < SET_SIZE {
            let code = Self::generate()?;
            if !set.contains(&code) {
                set.push(code);
            }
        }
        Ok(set)
    }

    /// One fresh code: 50 bits from the system's random number generator.
    fn generate() -> Result<Self, CryptoError> {
        let mut random = Zeroizing::new([0u8; 8]);
        crate::crypto::random(&mut random[..])?;
        let mut bits = Zeroizing::new(u64::from_be_bytes(*random));
        let mut code = [0u8; CODE_LEN];
        for symbol in &mut code {
            // The low five bits index the 32-letter alphabet: `& 31` keeps it in range.
            *symbol = ALPHABET[usize::from(u8::try_from(*bits & 31).unwrap_or(0))];
            *bits >>= 5;
        }
        Ok(Self(code))
    }

    /// Reads a code as a person typed it: case, spaces and dashes are ignored, and `i`, `l`
    /// and `o` are read as `1`, `1` and `0`.
    pub fn parse(input: &str) -> Result<Self, RecoveryCodeError> {
        let mut code = [0u8; CODE_LEN];
        let mut len = 0;
        for c in input.chars() {
            if c == '-' || c.is_whitespace() {
                continue;
            }
            let symbol = match c.to_ascii_lowercase() {
                'i' | 'l' => b'1',
                'o' => b'0',
                other => match u8::try_from(other) {
                    Ok(byte) if ALPHABET.contains(&byte) => byte,
                    _ => {
                        code.zeroize();
                        return Err(RecoveryCodeError::Character);
                    }
                },
            };
            let Some(slot) = code.get_mut(len) else {
                code.zeroize();
                return Err(RecoveryCodeError::Length);
            };
            *slot = symbol;
            len += 1;
        }
        if len != CODE_LEN {
            code.zeroize();
            return Err(RecoveryCodeError::Length);
        }
        Ok(Self(code))
    }

    /// The canonical characters (what [`code_digest`] hashes).
    pub fn as_bytes(&self) -> &[u8; CODE_LEN] {
        &self.0
    }

    /// The form shown to people: `xxxxx-xxxxx`.
    pub fn display_form(&self) -> Zeroizing<String> {
        let mut shown = Zeroizing::new(String::with_capacity(CODE_LEN + 1));
        for (i, &symbol) in self.0.iter().enumerate() {
            if i == CODE_LEN / 2 {
                shown.push('-');
            }
            shown.push(char::from(symbol));
        }
        shown
    }
}

impl fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryCode(<redacted>)")
    }
}

/// The pepper of recovery-code digests, derived from the system key by HKDF-SHA256 (salt
/// `icecone.recovery-code.v1`, info `pepper`).
pub fn derive_pepper(system_key: &SecretKey) -> Zeroizing<[u8; 32]> {
    let hkdf = Hkdf::<Sha256>::new(Some(b"icecone.recovery-code.v1"), system_key.expose());
    let mut pepper = Zeroizing::new([0u8; 32]);
    // 32 bytes is far below HKDF-SHA256's 8160-byte output limit: this cannot fail.
    if hkdf.expand(b"pepper", &mut pepper[..]).is_err() {
        unreachable!("HKDF-SHA256 can expand to 32 bytes");
    }
    pepper
}

/// What a recovery code is stored as: HMAC-SHA256 keyed by `pepper` over a domain tag, the
/// length-prefixed `account_salt` and the canonical code.
pub fn code_digest(pepper: &[u8; 32], account_salt: &[u8], code: &RecoveryCode) -> [u8; 32] {
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(pepper) else {
        unreachable!("HMAC takes keys of any length");
    };
    mac.update(b"icecone.recovery-code.v1");
    let salt_len = u64::try_from(account_salt.len()).unwrap_or(u64::MAX);
    mac.update(&salt_len.to_be_bytes());
    mac.update(account_salt);
    mac.update(&code.0);
    mac.finalize().into_bytes().into()
}

/// Compares two digests in constant time.
pub fn digests_equal(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn a_generated_set_has_ten_distinct_well_formed_codes() {
        let set = RecoveryCode::generate_set().expect("randomness");
        assert_eq!(set.len(), SET_SIZE);
        let distinct: HashSet<[u8; CODE_LEN]> = set.iter().map(|c| *c.as_bytes()).collect();
        assert_eq!(distinct.len(), SET_SIZE);
        for code in &set {
            let shown = code.display_form();
            assert_eq!(shown.len(), 11);
            assert_eq!(shown.as_bytes()[5], b'-');
            assert!(code.as_bytes().iter().all(|b| ALPHABET.contains(b)));
            assert_eq!(RecoveryCode::parse(&shown).as_ref(), Ok(code));
        }
    }

    #[test]
    fn the_alphabet_has_32_distinct_unambiguous_symbols() {
        let distinct: HashSet<&u8> = ALPHABET.iter().collect();
        assert_eq!(distinct.len(), 32);
        for ambiguous in b"ilou" {
            assert!(!ALPHABET.contains(ambiguous));
        }
        // 10 symbols of 5 bits each.
        const { assert!(CODE_LEN * 5 >= 50) };
    }

    #[test]
    fn typed_codes_are_normalised() {
        let canonical = RecoveryCode::parse("abcde-12345").expect("valid");
        let table = [
            ("abcde-12345", Ok(())),
            ("ABCDE-12345", Ok(())),
            ("abcde12345", Ok(())),
            ("  abc de 123 45 ", Ok(())),
            ("a-b-c-d-e-1-2-3-4-5", Ok(())),
            ("abcde\t12345\n", Ok(())),
            ("abcde-i2345", Ok(())),
            ("abcde-L2345", Ok(())),
            ("abcde-12345-", Ok(())),
            ("", Err(RecoveryCodeError::Length)),
            ("abcde-1234", Err(RecoveryCodeError::Length)),
            ("abcde-123456", Err(RecoveryCodeError::Length)),
            ("abcde-1234u", Err(RecoveryCodeError::Character)),
            ("abcde_12345", Err(RecoveryCodeError::Character)),
            ("abcdé-12345", Err(RecoveryCodeError::Character)),
            ("ａbcde-12345", Err(RecoveryCodeError::Character)),
        ];
        for (input, expected) in table {
            let parsed = RecoveryCode::parse(input);
            match expected {
                Ok(()) => assert_eq!(parsed.as_ref(), Ok(&canonical), "{input:?}"),
                Err(error) => assert_eq!(parsed, Err(error), "{input:?}"),
            }
        }
        assert_eq!(
            RecoveryCode::parse("o0o0o-00000").map(|c| c.display_form().to_string()),
            Ok("00000-00000".to_owned())
        );
    }

    #[test]
    fn digests_depend_on_pepper_salt_and_code() {
        let system = SecretKey::from_slice(&[9; 32]).expect("key");
        let pepper = derive_pepper(&system);
        let other_pepper = derive_pepper(&SecretKey::from_slice(&[8; 32]).expect("key"));
        let code = RecoveryCode::parse("abcde-12345").expect("valid");
        let other_code = RecoveryCode::parse("abcde-12346").expect("valid");
        let digest = code_digest(&pepper, b"account-1", &code);
        assert!(digests_equal(
            &digest,
            &code_digest(&pepper, b"account-1", &code)
        ));
        let different = [
            code_digest(&other_pepper, b"account-1", &code),
            code_digest(&pepper, b"account-2", &code),
            code_digest(&pepper, b"account-1", &other_code),
            code_digest(&pepper, b"", &code),
        ];
        for other in different {
            assert!(!digests_equal(&digest, &other));
        }
        assert_ne!(
            *pepper,
            *system.expose(),
            "the pepper is not the system key"
        );
    }

    #[test]
    fn debug_output_and_errors_never_show_the_code() {
        let code = RecoveryCode::parse("abcde-12345").expect("valid");
        assert_eq!(format!("{code:?}"), "RecoveryCode(<redacted>)");
        for input in ["abcde-1234", "abcde-1234u"] {
            let message = RecoveryCode::parse(input).expect_err("invalid").to_string();
            assert!(!message.contains("abcde"), "{message}");
        }
    }
}

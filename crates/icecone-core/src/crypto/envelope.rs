//! The ciphertext format and the associated-data binding.
//!
//! ```text
//! offset  size   field
//! 0       1      format version (1)
//! 1       1      algorithm id (1 = XChaCha20-Poly1305, 2 = AES-256-GCM)
//! 2       2      reserved, zero
//! 4       4      key version, big-endian (the data key's for data, the KEK's for wrapped keys)
//! 8       n      nonce (24 bytes for XChaCha20-Poly1305, 12 for AES-256-GCM), random
//! 8+n     m+16   ciphertext followed by the 16-byte tag
//! ```
//!
//! The associated data is the 8 header bytes followed by the [`Binding`] and zero bytes up to
//! a multiple of 64 bytes, so changing any
//! header byte, or presenting the ciphertext for another table, column, row or person, fails.
//! The header is 8 bytes so that an XChaCha20-Poly1305 body starts 32 bytes in, aligned for
//! the cipher's vector code.

use super::CryptoError;
use super::aead::{self, Algorithm, TAG_LEN};
use super::keys::SecretKey;

/// The only format this code writes.
pub const FORMAT_VERSION: u8 = 1;

const HEADER_LEN: usize = 8;

/// Where a ciphertext belongs: table, column, row id and data subject. Sealed under one
/// binding, a ciphertext opens under that binding only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding(Vec<u8>);

impl Binding {
    /// The binding of a personal field: `subject` is the data subject the value is about.
    pub fn personal(table: &str, column: &str, row_id: &str, subject: &str) -> Self {
        Self::encode(b'P', [table, column, row_id, subject])
    }

    /// The binding of a non-personal secret (a provider API key, the system key itself).
    pub fn system(table: &str, column: &str, row_id: &str) -> Self {
        Self::encode(b'S', [table, column, row_id, ""])
    }

    /// Unambiguous: a domain tag, a kind byte, then each part prefixed by its length.
    fn encode(kind: u8, parts: [&str; 4]) -> Self {
        let mut bytes = Vec::with_capacity(16 + parts.iter().map(|p| p.len() + 4).sum::<usize>());
        bytes.extend_from_slice(b"icecone.binding.v1");
        bytes.push(kind);
        for part in parts {
            let len = u32::try_from(part.len()).unwrap_or(u32::MAX);
            bytes.extend_from_slice(&len.to_be_bytes());
            bytes.extend_from_slice(part.as_bytes());
        }
        Self(bytes)
    }

    fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// The header of a ciphertext, read without decrypting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The algorithm it was sealed with.
    pub algorithm: Algorithm,
    /// The version of the key it was sealed with.
    pub key_version: u32,
}

impl Header {
    /// Reads the header of `ciphertext`, checking that the whole envelope is long enough.
    pub fn parse(ciphertext: &[u8]) -> Result<Self, CryptoError> {
        let (&format, _) = ciphertext.split_first().ok_or(CryptoError::Truncated)?;
        if format != FORMAT_VERSION {
            return Err(CryptoError::UnknownFormat(format));
        }
        if ciphertext.len() < HEADER_LEN {
            return Err(CryptoError::Truncated);
        }
        // Reserved: zero in format 1. Anything else is a format this code does not know.
        if ciphertext[2] != 0 || ciphertext[3] != 0 {
            return Err(CryptoError::UnknownFormat(format));
        }
        let algorithm = Algorithm::from_id(ciphertext[1])?;
        if ciphertext.len() < HEADER_LEN + algorithm.nonce_len() + TAG_LEN {
            return Err(CryptoError::Truncated);
        }
        let key_version =
            u32::from_be_bytes([ciphertext[4], ciphertext[5], ciphertext[6], ciphertext[7]]);
        Ok(Self {
            algorithm,
            key_version,
        })
    }

    fn bytes(self) -> [u8; HEADER_LEN] {
        let v = self.key_version.to_be_bytes();
        [
            FORMAT_VERSION,
            self.algorithm.id(),
            0,
            0,
            v[0],
            v[1],
            v[2],
            v[3],
        ]
    }
}

fn aad(header: Header, binding: &Binding) -> Vec<u8> {
    let mut aad = Vec::with_capacity((HEADER_LEN + binding.as_bytes().len()).next_multiple_of(64));
    aad.extend_from_slice(&header.bytes());
    aad.extend_from_slice(binding.as_bytes());
    // Zero padding to a multiple of 64 bytes (four Poly1305 blocks): with an associated
    // data length that leaves a partial batch, the poly1305 crate's AVX2 code falls back to
    // its slow path for the whole message (measured: XChaCha20-Poly1305 envelopes at 86% of
    // the raw cipher's throughput without the padding, 99-100% with it). The binding is
    // self-delimiting, so the padding cannot make two bindings equal.
    aad.resize(aad.len().next_multiple_of(64), 0);
    aad
}

/// Encrypts `plaintext` for `binding` with `key`, recording `key_version` in the header.
///
/// One allocation, sized for the whole envelope; the plaintext is copied into it once and
/// encrypted in place.
pub fn seal(
    algorithm: Algorithm,
    key: &SecretKey,
    key_version: u32,
    binding: &Binding,
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let header = Header {
        algorithm,
        key_version,
    };
    let nonce_end = HEADER_LEN + algorithm.nonce_len();
    let mut out = Vec::with_capacity(nonce_end + plaintext.len() + TAG_LEN);
    out.extend_from_slice(&header.bytes());
    out.resize(nonce_end, 0);
    super::random(&mut out[HEADER_LEN..nonce_end])?;
    out.extend_from_slice(plaintext);
    let (head, body) = out.split_at_mut(nonce_end);
    let tag = aead::seal_in_place(
        algorithm,
        key,
        &head[HEADER_LEN..],
        &aad(header, binding),
        body,
    )?;
    out.extend_from_slice(&tag);
    Ok(out)
}

/// Decrypts a ciphertext sealed for `binding` with `key` (whose version is `key_version`).
pub fn open(
    key: &SecretKey,
    key_version: u32,
    binding: &Binding,
    ciphertext: &[u8],
) -> Result<Plaintext, CryptoError> {
    let header = Header::parse(ciphertext)?;
    if header.key_version != key_version {
        return Err(CryptoError::UnknownKeyVersion(header.key_version));
    }
    let nonce_end = HEADER_LEN + header.algorithm.nonce_len();
    let tag_start = ciphertext.len() - TAG_LEN;
    let mut plaintext = Plaintext(ciphertext[nonce_end..tag_start].to_vec());
    aead::open_in_place(
        header.algorithm,
        key,
        &ciphertext[HEADER_LEN..nonce_end],
        &aad(header, binding),
        &mut plaintext.0,
        &ciphertext[tag_start..],
    )?;
    Ok(plaintext)
}

/// A decrypted value, overwritten with zeroes when dropped.
///
/// The wipe is a plain `fill(0)` that the optimiser is kept from removing (best effort) by
/// `std::hint::black_box`, so that large plaintexts (media) are wiped at memory speed
/// rather than byte by byte; keys use `zeroize`.
pub struct Plaintext(Vec<u8>);

impl Plaintext {
    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }
}

impl std::ops::Deref for Plaintext {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Plaintext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Plaintext({} bytes, redacted)", self.0.len())
    }
}

impl Drop for Plaintext {
    fn drop(&mut self) {
        self.0.fill(0);
        std::hint::black_box(&mut self.0);
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn key(byte: u8) -> SecretKey {
        SecretKey::from_slice(&[byte; 32]).expect("32 bytes")
    }

    fn binding() -> Binding {
        Binding::personal("accounts", "email", "row-1", "subject-1")
    }

    const ALGORITHMS: [Algorithm; 2] = [Algorithm::XChaCha20Poly1305, Algorithm::Aes256Gcm];

    #[test]
    fn a_sealed_value_opens_with_the_same_key_and_binding() {
        for algorithm in ALGORITHMS {
            let sealed =
                seal(algorithm, &key(1), 7, &binding(), b"alice@example.com").expect("seals");
            assert_eq!(
                Header::parse(&sealed),
                Ok(Header {
                    algorithm,
                    key_version: 7
                })
            );
            assert_eq!(sealed.len(), 8 + algorithm.nonce_len() + 17 + 16);
            let opened = open(&key(1), 7, &binding(), &sealed).expect("opens");
            assert_eq!(opened.as_slice(), b"alice@example.com");
        }
    }

    #[test]
    fn two_seals_of_the_same_value_differ() {
        let a = seal(Algorithm::default(), &key(1), 1, &binding(), b"same").expect("seals");
        let b = seal(Algorithm::default(), &key(1), 1, &binding(), b"same").expect("seals");
        assert_ne!(a, b, "random nonces");
    }

    #[test]
    fn bad_ciphertexts_are_typed_errors() {
        let sealed = seal(
            Algorithm::XChaCha20Poly1305,
            &key(1),
            3,
            &binding(),
            b"secret",
        )
        .expect("seals");
        let mut unknown_format = sealed.clone();
        unknown_format[0] = 9;
        let mut unknown_algorithm = sealed.clone();
        unknown_algorithm[1] = 77;
        let mut reserved = sealed.clone();
        reserved[3] = 1;
        let mut other_version = sealed.clone();
        other_version[7] = 4;
        let mut flipped_tag = sealed.clone();
        let last = flipped_tag.len() - 1;
        flipped_tag[last] ^= 1;
        let (key_1, key_2) = (key(1), key(2));
        let cases: Vec<(&str, Vec<u8>, &SecretKey, Binding, CryptoError)> = vec![
            ("empty", vec![], &key_1, binding(), CryptoError::Truncated),
            (
                "header only",
                sealed[..6].to_vec(),
                &key_1,
                binding(),
                CryptoError::Truncated,
            ),
            (
                "truncated tag",
                sealed[..sealed.len() - 1 - 6].to_vec(),
                &key_1,
                binding(),
                CryptoError::Truncated,
            ),
            (
                "one byte short",
                sealed[..sealed.len() - 1].to_vec(),
                &key_1,
                binding(),
                CryptoError::Authentication,
            ),
            (
                "unknown format",
                unknown_format,
                &key_1,
                binding(),
                CryptoError::UnknownFormat(9),
            ),
            (
                "reserved byte set",
                reserved,
                &key_1,
                binding(),
                CryptoError::UnknownFormat(1),
            ),
            (
                "unknown algorithm",
                unknown_algorithm,
                &key_1,
                binding(),
                CryptoError::UnknownAlgorithm(77),
            ),
            (
                "other key version",
                other_version,
                &key_1,
                binding(),
                CryptoError::UnknownKeyVersion(4),
            ),
            (
                "flipped tag",
                flipped_tag,
                &key_1,
                binding(),
                CryptoError::Authentication,
            ),
            (
                "wrong key",
                sealed.clone(),
                &key_2,
                binding(),
                CryptoError::Authentication,
            ),
            (
                "other row",
                sealed.clone(),
                &key_1,
                Binding::personal("accounts", "email", "row-2", "subject-1"),
                CryptoError::Authentication,
            ),
            (
                "other person",
                sealed.clone(),
                &key_1,
                Binding::personal("accounts", "email", "row-1", "subject-2"),
                CryptoError::Authentication,
            ),
            (
                "other column",
                sealed.clone(),
                &key_1,
                Binding::personal("accounts", "display_name", "row-1", "subject-1"),
                CryptoError::Authentication,
            ),
            (
                "system binding",
                sealed.clone(),
                &key_1,
                Binding::system("accounts", "email", "row-1"),
                CryptoError::Authentication,
            ),
        ];
        for (name, ciphertext, key, binding, expected) in cases {
            assert_eq!(
                open(key, 3, &binding, &ciphertext).map(|p| p.to_vec()),
                Err(expected),
                "{name}"
            );
        }
    }

    #[test]
    fn bindings_do_not_collide_when_parts_are_shifted() {
        assert_ne!(
            Binding::personal("ab", "c", "r", "s"),
            Binding::personal("a", "bc", "r", "s")
        );
        assert_ne!(
            Binding::personal("t", "c", "r", ""),
            Binding::system("t", "c", "r")
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn any_plaintext_and_binding_round_trip(
            plaintext in proptest::collection::vec(any::<u8>(), 0..2048),
            table in "[a-z_]{1,12}", column in "[a-z_]{1,12}", row in ".{0,16}", subject in ".{0,16}",
            aes in any::<bool>(),
        ) {
            let algorithm = if aes { Algorithm::Aes256Gcm } else { Algorithm::XChaCha20Poly1305 };
            let binding = Binding::personal(&table, &column, &row, &subject);
            let sealed = seal(algorithm, &key(5), 1, &binding, &plaintext).expect("seals");
            let opened = open(&key(5), 1, &binding, &sealed).expect("opens");
            prop_assert_eq!(opened.as_slice(), plaintext.as_slice());
        }

        #[test]
        fn any_single_bit_flip_is_rejected(
            plaintext in proptest::collection::vec(any::<u8>(), 0..256),
            bit in any::<prop::sample::Index>(),
            aes in any::<bool>(),
        ) {
            let algorithm = if aes { Algorithm::Aes256Gcm } else { Algorithm::XChaCha20Poly1305 };
            let mut sealed = seal(algorithm, &key(5), 1, &binding(), &plaintext).expect("seals");
            let bit = bit.index(sealed.len() * 8);
            sealed[bit / 8] ^= 1 << (bit % 8);
            prop_assert!(open(&key(5), 1, &binding(), &sealed).is_err());
        }

        #[test]
        fn a_ciphertext_moved_to_another_binding_is_rejected(
            row in "[a-z0-9-]{1,16}", other_row in "[a-z0-9-]{1,16}",
            subject in "[a-z0-9-]{1,16}", other_subject in "[a-z0-9-]{1,16}",
        ) {
            prop_assume!(row != other_row || subject != other_subject);
            let from = Binding::personal("generations", "prompt", &row, &subject);
            let to = Binding::personal("generations", "prompt", &other_row, &other_subject);
            let sealed = seal(Algorithm::default(), &key(5), 1, &from, b"a prompt").expect("seals");
            prop_assert_eq!(open(&key(5), 1, &to, &sealed).map(|p| p.to_vec()), Err(CryptoError::Authentication));
        }
    }
}

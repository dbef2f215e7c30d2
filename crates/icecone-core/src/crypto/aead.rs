//! The AEAD algorithms, behind one enum.

use aes_gcm::Aes256Gcm;
use chacha20poly1305::XChaCha20Poly1305;
use chacha20poly1305::aead::{AeadInPlace, KeyInit};

use super::CryptoError;
use super::keys::SecretKey;

/// An AEAD algorithm with a 256-bit key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Algorithm {
    /// XChaCha20-Poly1305: 192-bit random nonces, safe to generate at random for any volume.
    /// Selectable; ciphertexts made with it stay readable whatever the deployment selects.
    XChaCha20Poly1305,
    /// AES-256-GCM, the default: the privacy policy promises AES-256 at rest. 96-bit random
    /// nonces: keep fewer than 2^32 messages per key (per data subject, that is never reached).
    #[default]
    Aes256Gcm,
}

/// The length of every authentication tag.
pub const TAG_LEN: usize = 16;

impl Algorithm {
    /// The id written into the ciphertext header.
    pub fn id(self) -> u8 {
        match self {
            Self::XChaCha20Poly1305 => 1,
            Self::Aes256Gcm => 2,
        }
    }

    /// The algorithm with a header id.
    pub fn from_id(id: u8) -> Result<Self, CryptoError> {
        match id {
            1 => Ok(Self::XChaCha20Poly1305),
            2 => Ok(Self::Aes256Gcm),
            other => Err(CryptoError::UnknownAlgorithm(other)),
        }
    }

    /// The algorithm by its configuration name (`xchacha20poly1305` or `aes256gcm`).
    pub fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().replace(['-', '_'], "").as_str() {
            "xchacha20poly1305" => Some(Self::XChaCha20Poly1305),
            "aes256gcm" => Some(Self::Aes256Gcm),
            _ => None,
        }
    }

    /// The algorithm's configuration name, which [`Algorithm::from_name`] reads back.
    pub fn config_name(self) -> &'static str {
        match self {
            Self::XChaCha20Poly1305 => "xchacha20poly1305",
            Self::Aes256Gcm => "aes256gcm",
        }
    }

    /// The algorithm's name as people read it (`AES-256-GCM`), for the privacy page.
    pub fn display_name(self) -> &'static str {
        match self {
            Self::XChaCha20Poly1305 => "XChaCha20-Poly1305",
            Self::Aes256Gcm => "AES-256-GCM",
        }
    }

    /// Whether it is AES with a 256-bit key — what the privacy policy's "at rest using
    /// AES-256 encryption" promises. A deployment that selects anything else must say so.
    pub fn is_aes_256(self) -> bool {
        matches!(self, Self::Aes256Gcm)
    }

    /// The nonce length in bytes.
    pub fn nonce_len(self) -> usize {
        match self {
            Self::XChaCha20Poly1305 => 24,
            Self::Aes256Gcm => 12,
        }
    }
}

/// Encrypts `buffer` in place with an explicit nonce; returns the tag.
pub(crate) fn seal_in_place(
    algorithm: Algorithm,
    key: &SecretKey,
    nonce: &[u8],
    aad: &[u8],
    buffer: &mut [u8],
) -> Result<[u8; TAG_LEN], CryptoError> {
    if nonce.len() != algorithm.nonce_len() {
        return Err(CryptoError::InvalidKey(
            "nonce length does not match the algorithm",
        ));
    }
    let tag = match algorithm {
        Algorithm::XChaCha20Poly1305 => XChaCha20Poly1305::new(key.expose().into())
            .encrypt_in_place_detached(nonce.into(), aad, buffer),
        Algorithm::Aes256Gcm => {
            Aes256Gcm::new(key.expose().into()).encrypt_in_place_detached(nonce.into(), aad, buffer)
        }
    };
    // Encryption fails only for messages beyond the algorithm's length limit (~64 GiB).
    tag.map(Into::into)
        .map_err(|_| CryptoError::InvalidKey("the message is too long for the algorithm"))
}

/// Decrypts `buffer` in place; any failure is [`CryptoError::Authentication`], and then
/// `buffer` holds no plaintext (the AEAD crates verify the tag before decrypting).
pub(crate) fn open_in_place(
    algorithm: Algorithm,
    key: &SecretKey,
    nonce: &[u8],
    aad: &[u8],
    buffer: &mut [u8],
    tag: &[u8],
) -> Result<(), CryptoError> {
    if nonce.len() != algorithm.nonce_len() || tag.len() != TAG_LEN {
        return Err(CryptoError::Truncated);
    }
    let opened = match algorithm {
        Algorithm::XChaCha20Poly1305 => XChaCha20Poly1305::new(key.expose().into())
            .decrypt_in_place_detached(nonce.into(), aad, buffer, tag.into()),
        Algorithm::Aes256Gcm => Aes256Gcm::new(key.expose().into()).decrypt_in_place_detached(
            nonce.into(),
            aad,
            buffer,
            tag.into(),
        ),
    };
    opened.map_err(|_| CryptoError::Authentication)
}

#[cfg(test)]
mod tests {
    use chacha20poly1305::ChaCha20Poly1305;
    use chacha20poly1305::aead::{Aead, Payload};

    use super::*;

    fn seal_with_nonce(
        algorithm: Algorithm,
        key: &SecretKey,
        nonce: &[u8],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let mut buffer = plaintext.to_vec();
        let tag = seal_in_place(algorithm, key, nonce, aad, &mut buffer)?;
        buffer.extend_from_slice(&tag);
        Ok(buffer)
    }

    fn open_with_nonce(
        algorithm: Algorithm,
        key: &SecretKey,
        nonce: &[u8],
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let (body, tag) = sealed.split_at(sealed.len() - TAG_LEN);
        let mut buffer = body.to_vec();
        open_in_place(algorithm, key, nonce, aad, &mut buffer, tag)?;
        Ok(buffer)
    }

    pub(crate) fn hex(text: &str) -> Vec<u8> {
        let text: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
            .collect()
    }

    fn key(hex_text: &str) -> SecretKey {
        SecretKey::from_slice(&hex(hex_text)).expect("32 bytes")
    }

    const SUNSCREEN: &[u8] = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";

    #[test]
    fn rfc_8439_section_2_8_2_chacha20_poly1305_vector() {
        // The IETF construction our XChaCha20 variant extends, checked on the same crate.
        let key = hex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
        let nonce = hex("070000004041424344454647");
        let aad = hex("50515253c0c1c2c3c4c5c6c7");
        let sealed = ChaCha20Poly1305::new(key.as_slice().into())
            .encrypt(
                nonce.as_slice().into(),
                Payload {
                    msg: SUNSCREEN,
                    aad: &aad,
                },
            )
            .expect("encrypts");
        let expected = hex(
            "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6
             3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36
             92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc
             3ff4def08e4b7a9de576d26586cec64b6116
             1ae10b594f09e26a7e902ecbd0600691",
        );
        assert_eq!(sealed, expected);
    }

    #[test]
    fn xchacha20_poly1305_draft_vector_through_our_wrapper() {
        // draft-irtf-cfrg-xchacha-03, appendix A.3.1.
        let key = key("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
        let nonce = hex("404142434445464748494a4b4c4d4e4f5051525354555657");
        let aad = hex("50515253c0c1c2c3c4c5c6c7");
        let sealed = seal_with_nonce(Algorithm::XChaCha20Poly1305, &key, &nonce, &aad, SUNSCREEN)
            .expect("encrypts");
        let expected = hex(
            "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb
             731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452
             2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9
             21f9664c97637da9768812f615c68b13b52e
             c0875924c1c7987947deafd8780acf49",
        );
        assert_eq!(sealed, expected);
        let opened = open_with_nonce(Algorithm::XChaCha20Poly1305, &key, &nonce, &aad, &sealed)
            .expect("decrypts");
        assert_eq!(opened, SUNSCREEN);
    }

    #[test]
    fn aes_256_gcm_vector_through_our_wrapper() {
        // The GCM specification (McGrew & Viega), test case 16.
        let key = key("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
        let nonce = hex("cafebabefacedbaddecaf888");
        let aad = hex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
        let plaintext = hex(
            "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72
             1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
        );
        let sealed = seal_with_nonce(Algorithm::Aes256Gcm, &key, &nonce, &aad, &plaintext)
            .expect("encrypts");
        let expected = hex(
            "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa
             8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662
             76fc6ece0f4e1768cddf8853bb2d551b",
        );
        assert_eq!(sealed, expected);
        let opened =
            open_with_nonce(Algorithm::Aes256Gcm, &key, &nonce, &aad, &sealed).expect("decrypts");
        assert_eq!(opened, plaintext);
    }

    #[test]
    fn algorithm_ids_and_names_round_trip() {
        for algorithm in [Algorithm::XChaCha20Poly1305, Algorithm::Aes256Gcm] {
            assert_eq!(Algorithm::from_id(algorithm.id()), Ok(algorithm));
        }
        assert_eq!(Algorithm::from_id(0), Err(CryptoError::UnknownAlgorithm(0)));
        assert_eq!(Algorithm::from_id(9), Err(CryptoError::UnknownAlgorithm(9)));
        assert_eq!(
            Algorithm::from_name("AES-256-GCM"),
            Some(Algorithm::Aes256Gcm)
        );
        assert_eq!(
            Algorithm::from_name("xchacha20-poly1305"),
            Some(Algorithm::XChaCha20Poly1305)
        );
        assert_eq!(Algorithm::from_name("rot13"), None);
        for algorithm in [Algorithm::XChaCha20Poly1305, Algorithm::Aes256Gcm] {
            assert_eq!(
                Algorithm::from_name(algorithm.config_name()),
                Some(algorithm)
            );
            assert_eq!(
                Algorithm::from_name(algorithm.display_name()),
                Some(algorithm)
            );
        }
    }

    #[test]
    fn the_default_is_aes_256_as_the_policy_promises() {
        assert_eq!(Algorithm::default(), Algorithm::Aes256Gcm);
        assert!(Algorithm::default().is_aes_256());
        assert!(!Algorithm::XChaCha20Poly1305.is_aes_256());
        assert_eq!(Algorithm::default().display_name(), "AES-256-GCM");
    }
}

//! A provider API key set at run time (`setProviderCredential`), and its fingerprint — the
//! only thing about a key that is ever shown.

use std::fmt;

use sha2::{Digest as _, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// A provider API key: 8 to 512 visible ASCII characters, no spaces.
///
/// `Debug` is redacted and the key is wiped from memory when dropped. It is shown nowhere:
/// the gateway seals it with the system key, hands it to the adapter, and answers only
/// [`ApiCredential::fingerprint`].
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct ApiCredential(String);

impl fmt::Debug for ApiCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiCredential(<redacted>)")
    }
}

/// Why a text cannot be a provider API key. The message never repeats it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an API key has 8 to 512 visible ASCII characters and no spaces")]
pub struct InvalidCredential;

impl ApiCredential {
    /// Parses a key an administrator typed; surrounding whitespace is dropped.
    pub fn parse(text: &str) -> Result<Self, InvalidCredential> {
        let key = text.trim();
        let visible = key.bytes().all(|b| b.is_ascii_graphic());
        if (8..=512).contains(&key.len()) && visible {
            Ok(Self(key.to_owned()))
        } else {
            Err(InvalidCredential)
        }
    }

    /// The key, for the provider's authentication header only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `sha256:` and the first 16 hex digits of the key's SHA-256: enough to tell which key
    /// is in use, nothing to recover it from.
    pub fn fingerprint(&self) -> String {
        let digest = Sha256::digest(self.0.as_bytes());
        let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        format!("sha256:{hex}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_trimmed_and_bounded_and_show_only_a_fingerprint() {
        let table = [
            ("  sk-proj-abcdefgh  ", true),
            ("sk-1234", false),
            ("sk-proj abcdefgh", false),
            ("sk-proj-abcdéfgh", false),
            ("", false),
        ];
        for (text, ok) in table {
            assert_eq!(ApiCredential::parse(text).is_ok(), ok, "{text:?}");
        }
        assert!(ApiCredential::parse(&"k".repeat(512)).is_ok());
        assert!(ApiCredential::parse(&"k".repeat(513)).is_err());

        let key = ApiCredential::parse("sk-proj-abcdefgh").expect("valid");
        assert_eq!(key.expose(), "sk-proj-abcdefgh");
        assert_eq!(format!("{key:?}"), "ApiCredential(<redacted>)");
        let fingerprint = key.fingerprint();
        assert!(
            fingerprint.starts_with("sha256:") && fingerprint.len() == 23,
            "{fingerprint}"
        );
        assert!(!fingerprint.contains("abcdefgh"));
        let other = ApiCredential::parse("sk-proj-abcdefgi").expect("valid");
        assert_ne!(other.fingerprint(), fingerprint);
    }
}

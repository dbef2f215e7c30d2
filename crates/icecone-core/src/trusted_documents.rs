//! Trusted documents (persisted operations): the GraphQL documents of the first-party app,
//! registered by the SHA-256 of their text, and the one decision of who may run a document
//! that is not registered.
//!
//! The manifest is the JSON object graphql-codegen's client preset writes
//! (`persisted-documents.json`) and Relay's compiler writes (`persisted_queries.json`):
//! `{ "<hash>": "<document text>", ... }`. [`Manifest::parse`] reads both; every key must be
//! the lowercase or uppercase hex SHA-256 of its text as written, the hash clients send as
//! `extensions.persistedQuery.sha256Hash` (Apollo's APQ wire format).

use std::collections::HashMap;
use std::fmt;

use sha2::{Digest, Sha256};

/// The SHA-256 of a document's text, as clients name a persisted document.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct DocumentHash([u8; 32]);

/// A hash that is not 64 hexadecimal digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a document hash must be 64 hexadecimal digits (a SHA-256)")]
pub struct InvalidDocumentHash;

impl DocumentHash {
    /// The hash of `text`, byte for byte as sent or registered.
    pub fn of(text: &str) -> Self {
        Self(Sha256::digest(text.as_bytes()).into())
    }

    /// Parses 64 hexadecimal digits, either case.
    pub fn parse(hex: &str) -> Result<Self, InvalidDocumentHash> {
        let bytes = hex.as_bytes();
        if bytes.len() != 64 {
            return Err(InvalidDocumentHash);
        }
        let mut digest = [0u8; 32];
        for (i, pair) in bytes.chunks_exact(2).enumerate() {
            let high = hex_value(pair[0]).ok_or(InvalidDocumentHash)?;
            let low = hex_value(pair[1]).ok_or(InvalidDocumentHash)?;
            digest[i] = (high << 4) | low;
        }
        Ok(Self(digest))
    }
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

impl fmt::Display for DocumentHash {
    /// Lowercase hex, as graphql-codegen and Apollo write it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for DocumentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DocumentHash({self})")
    }
}

/// Why a manifest is refused. The messages name an entry by its hash only: the documents
/// are the app's code, not personal data, but there is no need to repeat them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// The text is not one JSON object of strings.
    #[error("the manifest must be a JSON object mapping each document's SHA-256 to its text")]
    NotAnObjectOfStrings,
    /// A key is not a SHA-256 in hex.
    #[error("the key {0:?} is not a SHA-256 in hexadecimal")]
    InvalidKey(String),
    /// A key is not the SHA-256 of its document.
    #[error("the key {0} is not the SHA-256 of its document")]
    HashMismatch(String),
    /// Two keys name the same hash (once in each case).
    #[error("the hash {0} is listed twice")]
    Duplicate(String),
}

/// The registered documents by their hash.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest(HashMap<DocumentHash, String>);

impl Manifest {
    /// Reads a manifest from the entries of its JSON object (the caller decodes the JSON,
    /// which keeps this crate free of a JSON dependency): each key must be the SHA-256 of
    /// its text.
    pub fn from_entries(
        entries: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ManifestError> {
        let mut documents = HashMap::new();
        for (key, text) in entries {
            let hash = DocumentHash::parse(&key).map_err(|_| ManifestError::InvalidKey(key))?;
            if DocumentHash::of(&text) != hash {
                return Err(ManifestError::HashMismatch(hash.to_string()));
            }
            if documents.insert(hash, text).is_some() {
                return Err(ManifestError::Duplicate(hash.to_string()));
            }
        }
        Ok(Self(documents))
    }

    /// The text registered under `hash`.
    pub fn get(&self, hash: &DocumentHash) -> Option<&str> {
        self.0.get(hash).map(String::as_str)
    }

    /// Whether a document with this hash is registered.
    pub fn contains(&self, hash: &DocumentHash) -> bool {
        self.0.contains_key(hash)
    }

    /// The registered documents.
    pub fn iter(&self) -> impl Iterator<Item = (&DocumentHash, &str)> {
        self.0.iter().map(|(hash, text)| (hash, text.as_str()))
    }

    /// How many documents are registered.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Who sends a document, as far as the rule cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// No credentials: signing up, logging in, public fields.
    Anonymous,
    /// A signed-in person (an access token, by header or — for browsers — cookie).
    Person,
    /// A signed-in person who holds a staff role (the staff console).
    Staff,
    /// A partner, by its API key.
    Partner,
}

/// The rule's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// The document may run (limits and validation still apply).
    Allowed,
    /// Only a registered document may run for this caller: `TRUSTED_DOCUMENT_REQUIRED`.
    TrustedDocumentRequired,
}

/// Whether `caller` may run a document, `registered` or not.
///
/// A registered document always may. An unregistered one may in development; in production
/// when no manifest is configured (the operator has not turned the rule on); and, with a
/// manifest, for partners and staff, who write their own operations. People and anonymous
/// callers — the first-party app, in the browser or native, and any script holding a
/// person's token — may run only the app's registered documents: a stolen session or an
/// injected script cannot run arbitrary queries, and every query people run was measured
/// and cached in advance.
pub fn admission(production: bool, caller: Caller, manifest: bool, registered: bool) -> Admission {
    if registered || !production || !manifest {
        return Admission::Allowed;
    }
    match caller {
        Caller::Partner | Caller::Staff => Admission::Allowed,
        Caller::Person | Caller::Anonymous => Admission::TrustedDocumentRequired,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: &str = "{ me { id email } }";

    #[test]
    fn who_may_run_which_document() {
        use Admission::{Allowed, TrustedDocumentRequired as Required};
        use Caller::*;
        // (production, caller, manifest configured, document registered) → answer
        let cases = [
            (false, Anonymous, false, false, Allowed),
            (false, Person, true, false, Allowed),
            (false, Staff, true, false, Allowed),
            (false, Partner, true, false, Allowed),
            (true, Person, false, false, Allowed),
            (true, Anonymous, false, false, Allowed),
            (true, Person, true, true, Allowed),
            (true, Anonymous, true, true, Allowed),
            (true, Person, true, false, Required),
            (true, Anonymous, true, false, Required),
            (true, Staff, true, false, Allowed),
            (true, Partner, true, false, Allowed),
            (true, Partner, true, true, Allowed),
            (true, Staff, true, true, Allowed),
        ];
        for (production, caller, manifest, registered, expected) in cases {
            assert_eq!(
                admission(production, caller, manifest, registered),
                expected,
                "{production} {caller:?} manifest={manifest} registered={registered}"
            );
        }
    }

    #[test]
    fn a_hash_is_the_sha256_of_the_text_in_hex() {
        let hash = DocumentHash::of(ME);
        let hex = hash.to_string();
        assert_eq!(hex.len(), 64);
        assert_eq!(DocumentHash::parse(&hex), Ok(hash));
        assert_eq!(DocumentHash::parse(&hex.to_uppercase()), Ok(hash));
        // The well-known SHA-256 of the empty string.
        assert_eq!(
            DocumentHash::of("").to_string(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        for bad in [
            "",
            "abc",
            &hex[..63],
            &format!("{}g", &hex[..63]),
            &format!("{hex}0"),
        ] {
            assert_eq!(
                DocumentHash::parse(bad),
                Err(InvalidDocumentHash),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_manifest_holds_documents_under_their_own_hash_only() {
        let hash = DocumentHash::of(ME).to_string();
        let manifest = Manifest::from_entries([(hash.clone(), ME.to_owned())]).expect("valid");
        assert_eq!(manifest.len(), 1);
        assert_eq!(manifest.get(&DocumentHash::of(ME)), Some(ME));
        assert!(!manifest.contains(&DocumentHash::of("{ me { id } }")));

        let cases = [
            (
                vec![("sha256:x".to_owned(), ME.to_owned())],
                ManifestError::InvalidKey("sha256:x".to_owned()),
            ),
            (
                vec![(hash.clone(), "{ me { id } }".to_owned())],
                ManifestError::HashMismatch(hash.clone()),
            ),
            (
                vec![
                    (hash.clone(), ME.to_owned()),
                    (hash.to_uppercase(), ME.to_owned()),
                ],
                ManifestError::Duplicate(hash.clone()),
            ),
        ];
        for (entries, expected) in cases {
            assert_eq!(Manifest::from_entries(entries), Err(expected));
        }
    }
}

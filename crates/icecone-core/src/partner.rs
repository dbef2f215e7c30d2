//! Partners: organisations that read a person's data through the API with an API key, and
//! only with that person's grant.
//!
//! Three things must all allow a partner's read of one kind of data about one person
//! ([`partner_access`]): the partner's key carries the [`PartnerScope`] (what IceCone let the
//! partner ask for), the person's live grant to that partner names the scope (what the
//! person agreed to share), and — checked by the gateway through the consent decision — the
//! purpose of the data allows processing for that person now.
//!
//! **Keys.** An [`ApiKey`] is `icp_` and 43 characters of base64url: 256 random bits. That
//! is far above the 112 bits NIST SP 800-63B asks before a secret may be stored as a plain
//! hash, so a key is stored only as its SHA-256 [`ApiKey::digest`] and found by it; the
//! key itself is shown once, when it is issued. `Debug` is redacted and the key is wiped
//! from memory when dropped.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::crypto::CryptoError;

/// What kind of a person's data a partner may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PartnerScope {
    /// The account: its id, e-mail address and when it was created.
    Profile,
    /// The personalised features derived from the person's generation history (which also
    /// needs the person's `PERSONALIZATION` consent).
    Personalization,
}

impl PartnerScope {
    /// Every scope, in declaration order.
    pub const ALL: [Self; 2] = [Self::Profile, Self::Personalization];

    /// The stored and published name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Profile => "PROFILE",
            Self::Personalization => "PERSONALIZATION",
        }
    }

    /// The scope named `text`.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|scope| scope.as_str() == text)
    }
}

impl fmt::Display for PartnerScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of scopes, stored as their names joined by commas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ScopeSet(u8);

/// A stored scope list that names no scope this version knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown partner scope")]
pub struct UnknownScope;

impl ScopeSet {
    fn bit(scope: PartnerScope) -> u8 {
        match scope {
            PartnerScope::Profile => 1,
            PartnerScope::Personalization => 2,
        }
    }

    /// Whether the set holds `scope`.
    pub fn contains(self, scope: PartnerScope) -> bool {
        self.0 & Self::bit(scope) != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The scopes in declaration order.
    pub fn scopes(self) -> Vec<PartnerScope> {
        PartnerScope::ALL
            .into_iter()
            .filter(|scope| self.contains(*scope))
            .collect()
    }

    /// The stored form: names joined by commas, in declaration order.
    pub fn to_stored(self) -> String {
        self.scopes()
            .iter()
            .map(|scope| scope.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Parses the stored form.
    pub fn from_stored(text: &str) -> Result<Self, UnknownScope> {
        text.split(',')
            .filter(|name| !name.is_empty())
            .map(|name| PartnerScope::parse(name).ok_or(UnknownScope))
            .collect()
    }
}

impl FromIterator<PartnerScope> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = PartnerScope>>(iter: I) -> Self {
        Self(
            iter.into_iter()
                .fold(0, |bits, scope| bits | Self::bit(scope)),
        )
    }
}

/// Why a partner may not read a kind of data about a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PartnerDenial {
    /// The person has given this partner no grant, or revoked it. Also the answer for a
    /// person who does not exist, so a partner cannot probe for accounts.
    #[error("this person has not granted your organisation access")]
    NoGrant,
    /// The person's grant does not name the scope.
    #[error("this person's grant does not include {0}")]
    NotGranted(PartnerScope),
    /// The partner's key does not carry the scope.
    #[error("this API key does not carry the {0} scope")]
    KeyLacksScope(PartnerScope),
}

/// Whether a partner whose key carries `key` may read `needed` about a person whose live
/// grant to that partner is `grant` (`None`: no grant).
pub fn partner_access(
    key: ScopeSet,
    grant: Option<ScopeSet>,
    needed: PartnerScope,
) -> Result<(), PartnerDenial> {
    let grant = grant.ok_or(PartnerDenial::NoGrant)?;
    if !key.contains(needed) {
        return Err(PartnerDenial::KeyLacksScope(needed));
    }
    if !grant.contains(needed) {
        return Err(PartnerDenial::NotGranted(needed));
    }
    Ok(())
}

/// A partner organisation's name: 2 to 100 characters once trimmed, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerName(String);

/// Why a partner name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidPartnerName {
    /// Fewer than 2 or more than 100 characters.
    #[error("a partner name has 2 to 100 characters")]
    Length,
    /// A control character.
    #[error("a partner name cannot contain control characters")]
    Control,
}

impl PartnerName {
    /// Parses a name typed by staff.
    pub fn parse(text: &str) -> Result<Self, InvalidPartnerName> {
        let trimmed = text.trim();
        if !(2..=100).contains(&trimmed.chars().count()) {
            return Err(InvalidPartnerName::Length);
        }
        if trimmed.chars().any(char::is_control) {
            return Err(InvalidPartnerName::Control);
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The marker every key starts with, so a leaked key is recognisable (and secret scanners
/// can find it).
const PREFIX: &str = "icp_";
/// Random bytes in a key.
const RANDOM_BYTES: usize = 32;
/// Characters after the prefix: base64url of [`RANDOM_BYTES`], unpadded.
const ENCODED_LEN: usize = 43;
/// Characters of the encoded part kept for display (`icp_AbCdEfGh…`).
const HINT_LEN: usize = 8;

/// A partner API key, held only while it is issued or checked.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct ApiKey(String);

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// A text that cannot be a partner API key. The message never repeats it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not an IceCone partner API key")]
pub struct MalformedApiKey;

impl ApiKey {
    /// A fresh key: 256 bits from the system's random number generator.
    pub fn generate() -> Result<Self, CryptoError> {
        let mut random = Zeroizing::new([0u8; RANDOM_BYTES]);
        crate::crypto::random(&mut random[..])?;
        Ok(Self(format!(
            "{PREFIX}{}",
            URL_SAFE_NO_PAD.encode(&random[..])
        )))
    }

    /// Parses what a partner sent: the prefix and 43 base64url characters.
    pub fn parse(text: &str) -> Result<Self, MalformedApiKey> {
        let encoded = text.strip_prefix(PREFIX).ok_or(MalformedApiKey)?;
        let well_formed = encoded.len() == ENCODED_LEN
            && encoded
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if well_formed {
            Ok(Self(text.to_owned()))
        } else {
            Err(MalformedApiKey)
        }
    }

    /// The key, to show once when it is issued.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What is stored and looked up: the SHA-256 of the key.
    pub fn digest(&self) -> [u8; 32] {
        Sha256::digest(self.0.as_bytes()).into()
    }

    /// The start of the key, which identifies it in lists without revealing it.
    pub fn hint(&self) -> String {
        format!("{}…", &self.0[..PREFIX.len() + HINT_LEN])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROFILE: PartnerScope = PartnerScope::Profile;
    const PERSONAL: PartnerScope = PartnerScope::Personalization;

    fn set(scopes: &[PartnerScope]) -> ScopeSet {
        scopes.iter().copied().collect()
    }

    /// Key scopes, grant scopes (or no grant), the scope needed, the answer.
    type Row = (
        &'static [PartnerScope],
        Option<&'static [PartnerScope]>,
        PartnerScope,
        Result<(), PartnerDenial>,
    );

    #[test]
    fn access_needs_a_grant_and_the_scope_on_both_key_and_grant() {
        use PartnerDenial::*;
        const BOTH: &[PartnerScope] = &[PROFILE, PERSONAL];
        let table: [Row; 10] = [
            (BOTH, Some(BOTH), PROFILE, Ok(())),
            (BOTH, Some(BOTH), PERSONAL, Ok(())),
            (BOTH, None, PROFILE, Err(NoGrant)),
            (&[], None, PROFILE, Err(NoGrant)),
            (BOTH, Some(&[PROFILE]), PERSONAL, Err(NotGranted(PERSONAL))),
            (BOTH, Some(&[]), PROFILE, Err(NotGranted(PROFILE))),
            (
                &[PROFILE],
                Some(BOTH),
                PERSONAL,
                Err(KeyLacksScope(PERSONAL)),
            ),
            (&[], Some(BOTH), PROFILE, Err(KeyLacksScope(PROFILE))),
            (
                &[PERSONAL],
                Some(&[PROFILE]),
                PROFILE,
                Err(KeyLacksScope(PROFILE)),
            ),
            (&[PROFILE], Some(&[PROFILE]), PROFILE, Ok(())),
        ];
        for (key, grant, needed, expected) in table {
            assert_eq!(
                partner_access(set(key), grant.map(set), needed),
                expected,
                "key {key:?}, grant {grant:?}, needed {needed}"
            );
        }
    }

    #[test]
    fn scope_sets_round_trip_through_their_stored_form() {
        for scopes in [&[][..], &[PROFILE], &[PERSONAL], &[PROFILE, PERSONAL]] {
            let stored = set(scopes).to_stored();
            assert_eq!(ScopeSet::from_stored(&stored), Ok(set(scopes)), "{stored}");
            assert_eq!(set(scopes).scopes(), scopes);
        }
        assert_eq!(
            set(&[PERSONAL, PROFILE]).to_stored(),
            "PROFILE,PERSONALIZATION"
        );
        assert_eq!(ScopeSet::from_stored("PROFILE,ADMIN"), Err(UnknownScope));
        assert!(ScopeSet::from_stored("").is_ok_and(ScopeSet::is_empty));
    }

    #[test]
    fn partner_names_are_trimmed_and_bounded() {
        let table = [
            ("  Acme Ltd  ", Ok("Acme Ltd")),
            ("Zé", Ok("Zé")),
            ("A", Err(InvalidPartnerName::Length)),
            ("   ", Err(InvalidPartnerName::Length)),
            ("Acme\nLtd", Err(InvalidPartnerName::Control)),
        ];
        for (text, expected) in table {
            let parsed = PartnerName::parse(text);
            assert_eq!(
                parsed.as_ref().map(PartnerName::as_str),
                expected.as_ref().map(|s| *s),
                "{text:?}"
            );
        }
        assert_eq!(
            PartnerName::parse(&"x".repeat(100)).map(|n| n.as_str().len()),
            Ok(100)
        );
        assert_eq!(
            PartnerName::parse(&"x".repeat(101)),
            Err(InvalidPartnerName::Length)
        );
    }

    #[test]
    fn generated_keys_parse_and_differ() {
        let one = ApiKey::generate().expect("random");
        let two = ApiKey::generate().expect("random");
        assert_ne!(one.expose(), two.expose());
        assert_eq!(one.expose().len(), PREFIX.len() + ENCODED_LEN);
        let parsed = ApiKey::parse(one.expose()).expect("a generated key parses");
        assert_eq!(parsed.digest(), one.digest());
        assert_ne!(one.digest(), two.digest());
        assert!(one.hint().starts_with("icp_") && one.hint().ends_with('…'));
        assert!(!format!("{one:?}").contains(&one.expose()[4..]));
    }

    #[test]
    fn malformed_keys_are_refused() {
        let good = ApiKey::generate().expect("random");
        let encoded = &good.expose()[PREFIX.len()..];
        for bad in [
            String::new(),
            encoded.to_owned(),
            format!("icx_{encoded}"),
            format!("{PREFIX}{}", &encoded[1..]),
            format!("{PREFIX}{encoded}A"),
            format!("{PREFIX}{}+", &encoded[1..]),
            format!("{PREFIX}{} ", &encoded[1..]),
        ] {
            assert_eq!(
                ApiKey::parse(&bad).map(|_| ()),
                Err(MalformedApiKey),
                "{bad:?}"
            );
        }
    }
}

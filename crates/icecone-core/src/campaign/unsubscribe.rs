//! The one-click unsubscribe token (RFC 8058) of a marketing mail.
//!
//! Stateless: `base64url(account id ‖ MAC)`, 64 characters, where the MAC is the account
//! id's blind-index token under the purpose [`PURPOSE`] — an HMAC-SHA256 with a key derived
//! from the system key for this purpose alone, so the token is bound to one account and to
//! unsubscribing from marketing, and nobody without the system key can make one. It
//! carries no address and expires never: all it can do is withdraw `MARKETING`, which is
//! harmless to repeat and which the person may always do.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;
use uuid::Uuid;

/// The blind-index purpose whose key MACs unsubscribe tokens.
pub const PURPOSE: &str = "mail.unsubscribe.marketing";

/// A token's length in characters.
const TOKEN_CHARS: usize = 64;

/// The token did not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not an unsubscribe token")]
pub struct InvalidToken;

/// A parsed unsubscribe token (not yet checked: see [`UnsubscribeToken::verify`]).
#[derive(Clone, PartialEq, Eq)]
pub struct UnsubscribeToken {
    account: Uuid,
    mac: [u8; 32],
}

impl std::fmt::Debug for UnsubscribeToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnsubscribeToken")
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

impl UnsubscribeToken {
    /// The token of `account`, with the MAC of its id under [`PURPOSE`].
    pub fn new(account: Uuid, mac: [u8; 32]) -> Self {
        Self { account, mac }
    }

    /// Parses a token's text.
    pub fn parse(text: &str) -> Result<Self, InvalidToken> {
        if text.len() != TOKEN_CHARS {
            return Err(InvalidToken);
        }
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| InvalidToken)?;
        let (id, mac) = bytes.split_at_checked(16).ok_or(InvalidToken)?;
        Ok(Self {
            account: Uuid::from_slice(id).map_err(|_| InvalidToken)?,
            mac: mac.try_into().map_err(|_| InvalidToken)?,
        })
    }

    /// The token's text (URL-safe).
    pub fn encode(&self) -> String {
        let mut bytes = Vec::with_capacity(48);
        bytes.extend_from_slice(self.account.as_bytes());
        bytes.extend_from_slice(&self.mac);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The account it names (trust it only after [`Self::verify`]).
    pub fn account(&self) -> Uuid {
        self.account
    }

    /// Whether its MAC is `expected` (the MAC of its account id), compared in constant time.
    pub fn verify(&self, expected: &[u8; 32]) -> bool {
        self.mac.ct_eq(expected).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_round_trips_and_only_its_own_mac_verifies_it() {
        let account = Uuid::new_v4();
        let token = UnsubscribeToken::new(account, [7; 32]);
        let text = token.encode();
        assert_eq!(text.len(), TOKEN_CHARS);
        assert!(
            text.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        let parsed = UnsubscribeToken::parse(&text).expect("parses");
        assert_eq!(parsed, token);
        assert_eq!(parsed.account(), account);
        assert!(parsed.verify(&[7; 32]));
        assert!(!parsed.verify(&[8; 32]));
        assert!(!format!("{parsed:?}").contains("7, 7"));
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let good = UnsubscribeToken::new(Uuid::nil(), [1; 32]).encode();
        let cases = [
            String::new(),
            good[..63].to_owned(),
            format!("{good}A"),
            format!("{}+", &good[..63]),
            "!".repeat(64),
        ];
        for case in cases {
            assert_eq!(UnsubscribeToken::parse(&case), Err(InvalidToken), "{case}");
        }
    }
}

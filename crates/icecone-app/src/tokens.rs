//! Access tokens: JWTs signed with Ed25519 (`EdDSA`), 15 minutes long, published keys at
//! `/.well-known/jwks.json`.
//!
//! Following RFC 8725 (JWT best current practice) and RFC 9068 (JWT access tokens):
//! - the only accepted algorithm is `EdDSA`, fixed before the token is looked at — `none`,
//!   HMAC (e.g. HS256 "signed" with the public key) and everything else are refused;
//! - the header must say `typ: at+jwt`, which no other token IceCone issues carries (refresh
//!   tokens are opaque random strings, not JWTs), so the validation rules of different token
//!   kinds cannot be confused;
//! - `iss`, `aud`, `sub`, `exp` and `iat` are required and checked; the `kid` must name a
//!   published key.
//!
//! Signing keys are Ed25519 key pairs stored in `signing_keys`: the private half sealed with
//! the vault's system key, bound to its key id; the public half in clear (it is published).
//! Rotation adds a key and signs with it; older keys stay published, so tokens they signed
//! verify until they expire, and are retired afterwards.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use ed25519_dalek::SigningKey;
use icecone_core::crypto::envelope::Binding;
use icecone_core::crypto::keys::SecretKey;
use icecone_store::Store;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::keys::vault::{Vault, VaultError};

/// The JOSE `typ` of access tokens (RFC 9068).
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";
/// The issuer of every token.
pub const ISSUER: &str = "icecone";
/// The audience of access tokens: this gateway's GraphQL API.
pub const AUDIENCE: &str = "icecone:graphql";
/// The key id of a database's first signing key (see [`TokenSigner::load_or_create`]).
pub const FIRST_KID: &str = "ed25519-first";
/// How long an access token is valid.
pub const ACCESS_TOKEN_LIFETIME: chrono::TimeDelta = chrono::TimeDelta::minutes(15);
/// Allowed clock difference between gateway instances, in seconds.
const LEEWAY_SECONDS: u64 = 5;

/// Authentication assurance level of a session (NIST SP 800-63B).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Acr {
    /// One factor (a password).
    #[serde(rename = "aal1")]
    Aal1,
    /// Two factors (password and TOTP or a recovery code).
    #[serde(rename = "aal2")]
    Aal2,
}

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// Issuer: [`ISSUER`].
    pub iss: String,
    /// Audience: [`AUDIENCE`].
    pub aud: String,
    /// The account id.
    pub sub: String,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// When the user last authenticated, seconds since the epoch.
    pub auth_time: i64,
    /// Authentication methods (`pwd`, `otp`, ...).
    pub amr: Vec<String>,
    /// Assurance level.
    pub acr: Acr,
    /// The session id.
    pub sid: String,
}

impl AccessClaims {
    /// Claims for `account` in `session`, issued `now`.
    pub fn new(
        account: &str,
        session: &str,
        auth_time: DateTime<Utc>,
        amr: Vec<String>,
        acr: Acr,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            sub: account.to_owned(),
            exp: (now + ACCESS_TOKEN_LIFETIME).timestamp(),
            iat: now.timestamp(),
            auth_time: auth_time.timestamp(),
            amr,
            acr,
            sid: session.to_owned(),
        }
    }
}

/// Why a token was refused. Deliberately coarse: the client learns that the token is not
/// accepted, the operator's log gets the kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a JWT at all (for example a refresh token).
    #[error("the token is not a well-formed JWT")]
    Malformed,
    /// A JWT, but not an access token (`typ` is not `at+jwt`).
    #[error("the token is not an access token")]
    WrongType,
    /// Signed with an algorithm other than EdDSA.
    #[error("the token's algorithm is not accepted")]
    WrongAlgorithm,
    /// Its `kid` names no published key.
    #[error("the token's key is unknown")]
    UnknownKey,
    /// Its lifetime is over.
    #[error("the token has expired")]
    Expired,
    /// The signature, issuer, audience or another claim is wrong.
    #[error("the token is invalid")]
    Invalid,
    /// Signing failed (a broken key).
    #[error("the token could not be signed")]
    Signing,
}

struct KeyPair {
    kid: String,
    encoding: EncodingKey,
    public: [u8; 32],
}

/// Signs and verifies access tokens with the published Ed25519 keys.
pub struct TokenSigner {
    current: KeyPair,
    verifying: HashMap<String, DecodingKey>,
    jwks: serde_json::Value,
    /// Tokens that verified, by SHA-256 digest, with their claims: a token is checked with
    /// Ed25519 once, and until it expires a repeat costs a hash and a look-up. The keys a
    /// signer verifies with never change during its life, so a cached verification stays
    /// true; expiry is checked on every use.
    verified: Mutex<HashMap<[u8; 32], AccessClaims>>,
}

/// The most verified tokens remembered; past it the memory starts over.
const MAX_VERIFIED: usize = 20_000;

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSigner")
            .field("current_kid", &self.current.kid)
            .field("published", &self.verifying.len())
            .finish_non_exhaustive()
    }
}

fn signing_key_binding(kid: &str) -> Binding {
    Binding::system("signing_keys", "private_sealed", kid)
}

/// PKCS#8 v1 DER of an Ed25519 private key (RFC 8410): a fixed 16-byte prefix and the seed.
fn pkcs8_der(seed: &[u8; 32]) -> Zeroizing<Vec<u8>> {
    const PREFIX: [u8; 16] = [
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    let mut der = Zeroizing::new(Vec::with_capacity(48));
    der.extend_from_slice(&PREFIX);
    der.extend_from_slice(seed);
    der
}

fn base64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl TokenSigner {
    /// Loads the published signing keys, creating the first one on a fresh database.
    ///
    /// Instances starting together on a fresh database all find no key: each adds the first
    /// key under the one id [`FIRST_KID`], the primary key lets one of them win, and every
    /// one then loads that key. (With a random id each, each instance signed with a key it
    /// had added and the others had not loaded, and refused their tokens until restarted —
    /// what the soak harness found.)
    pub async fn load_or_create(store: &Store, vault: &Vault) -> Result<Self, VaultError> {
        if store.signing_keys(false).await?.is_empty() {
            match Self::add_key_as(store, vault, FIRST_KID.to_owned()).await {
                Ok(_) => {}
                // Another instance added it first.
                Err(VaultError::Store(icecone_store::StoreError::Duplicate))
                    if !store.signing_keys(false).await?.is_empty() => {}
                // The first key exists but is retired, and no other is published.
                Err(VaultError::Store(icecone_store::StoreError::Duplicate)) => {
                    Self::add_key(store, vault).await?;
                }
                Err(error) => return Err(error),
            }
        }
        Self::load(store, vault).await
    }

    /// Adds a signing key, which becomes the one new tokens are signed with. Older keys stay
    /// published. Returns the new key id.
    pub async fn add_key(store: &Store, vault: &Vault) -> Result<String, VaultError> {
        let kid = format!("ed25519-{}", uuid::Uuid::new_v4().simple());
        Self::add_key_as(store, vault, kid).await
    }

    /// [`TokenSigner::add_key`] under the key id `kid`.
    async fn add_key_as(store: &Store, vault: &Vault, kid: String) -> Result<String, VaultError> {
        let seed = SecretKey::generate()?;
        let public = SigningKey::from_bytes(seed.expose())
            .verifying_key()
            .to_bytes();
        let sealed = vault.seal_system(&signing_key_binding(&kid), seed.expose())?;
        store
            .insert_signing_key(&kid, sealed, public, Utc::now())
            .await?;
        Ok(kid)
    }

    /// Loads the published keys; the newest signs.
    pub async fn load(store: &Store, vault: &Vault) -> Result<Self, VaultError> {
        let records = store.signing_keys(false).await?;
        let mut pairs = Vec::with_capacity(records.len());
        for record in records {
            let seed =
                vault.open_system(&signing_key_binding(&record.kid), &record.private_sealed)?;
            let seed = SecretKey::from_slice(&seed)?;
            pairs.push((record.kid, seed));
        }
        Self::from_seeds(pairs).ok_or(VaultError::SystemKeyMissing)
    }

    /// A signer over `(kid, seed)` pairs, newest first. `None` when there is none.
    fn from_seeds(pairs: Vec<(String, SecretKey)>) -> Option<Self> {
        let mut verifying = HashMap::new();
        let mut keys = Vec::new();
        let mut current = None;
        for (kid, seed) in pairs {
            let public = SigningKey::from_bytes(seed.expose())
                .verifying_key()
                .to_bytes();
            verifying.insert(kid.clone(), DecodingKey::from_ed_der(&public));
            keys.push(serde_json::json!({
                "kty": "OKP",
                "crv": "Ed25519",
                "x": base64url(&public),
                "kid": kid,
                "alg": "EdDSA",
                "use": "sig",
            }));
            if current.is_none() {
                let encoding = EncodingKey::from_ed_der(&pkcs8_der(seed.expose()));
                current = Some(KeyPair {
                    kid,
                    encoding,
                    public,
                });
            }
        }
        Some(Self {
            current: current?,
            verifying,
            jwks: serde_json::json!({ "keys": keys }),
            verified: Mutex::default(),
        })
    }

    /// The key id new tokens are signed with.
    pub fn current_kid(&self) -> &str {
        &self.current.kid
    }

    /// The public key new tokens are signed with.
    pub fn current_public_key(&self) -> [u8; 32] {
        self.current.public
    }

    /// The JSON Web Key Set of every published key (public halves only).
    pub fn jwks(&self) -> &serde_json::Value {
        &self.jwks
    }

    /// Signs an access token.
    pub fn issue(&self, claims: &AccessClaims) -> Result<String, TokenError> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some(ACCESS_TOKEN_TYPE.to_owned());
        header.kid = Some(self.current.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.current.encoding)
            .map_err(|_| TokenError::Signing)
    }

    /// Verifies an access token and returns its claims.
    pub fn verify(&self, token: &str) -> Result<AccessClaims, TokenError> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let remembered = self
            .verified
            .lock()
            .ok()
            .and_then(|verified| verified.get(&digest).cloned());
        if let Some(claims) = remembered {
            let leeway = i64::try_from(LEEWAY_SECONDS).unwrap_or(0);
            return if claims.exp.saturating_add(leeway) < Utc::now().timestamp() {
                Err(TokenError::Expired)
            } else {
                Ok(claims)
            };
        }
        let claims = self.verify_signature_and_claims(token)?;
        if let Ok(mut verified) = self.verified.lock() {
            if verified.len() >= MAX_VERIFIED {
                verified.clear();
            }
            verified.insert(digest, claims.clone());
        }
        Ok(claims)
    }

    fn verify_signature_and_claims(&self, token: &str) -> Result<AccessClaims, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        if header.alg != Algorithm::EdDSA {
            return Err(TokenError::WrongAlgorithm);
        }
        if header.typ.as_deref() != Some(ACCESS_TOKEN_TYPE) {
            return Err(TokenError::WrongType);
        }
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.verifying.get(kid))
            .ok_or(TokenError::UnknownKey)?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.algorithms = vec![Algorithm::EdDSA];
        validation.leeway = LEEWAY_SECONDS;
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        jsonwebtoken::decode::<AccessClaims>(token, key, &validation)
            .map(|data| data.claims)
            .map_err(|error| match error.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(kids: &[(&str, u8)]) -> TokenSigner {
        let pairs = kids
            .iter()
            .map(|(kid, byte)| {
                (
                    (*kid).to_owned(),
                    SecretKey::from_slice(&[*byte; 32]).expect("seed"),
                )
            })
            .collect();
        TokenSigner::from_seeds(pairs).expect("a key")
    }

    fn claims(now: DateTime<Utc>) -> AccessClaims {
        AccessClaims::new(
            "account-1",
            "session-1",
            now,
            vec!["pwd".to_owned(), "otp".to_owned()],
            Acr::Aal2,
            now,
        )
    }

    #[test]
    fn a_verified_token_is_remembered_and_still_expires() {
        let signer = signer(&[("k1", 1)]);
        let now = Utc::now();
        let token = signer.issue(&claims(now)).expect("signed");
        assert_eq!(signer.verify(&token), Ok(claims(now)));
        assert_eq!(signer.verify(&token), Ok(claims(now)), "served from memory");
        assert_eq!(signer.verified.lock().expect("lock").len(), 1);

        // A remembered token whose expiry has passed is refused like any other.
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let mut stale = claims(now);
        stale.exp = now.timestamp() - i64::try_from(LEEWAY_SECONDS).unwrap_or(0) - 1;
        signer.verified.lock().expect("lock").insert(digest, stale);
        assert_eq!(signer.verify(&token), Err(TokenError::Expired));

        // Another token — even one differing in a single character — is verified afresh.
        let mut tampered = token.clone();
        tampered.pop();
        tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
        assert!(signer.verify(&tampered).is_err());
    }

    /// Re-encodes one segment of a token.
    fn with_segment(token: &str, index: usize, json: &serde_json::Value) -> String {
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        parts[index] = base64url(json.to_string().as_bytes());
        parts.join(".")
    }

    #[test]
    fn a_token_we_issued_verifies_with_its_claims() {
        let signer = signer(&[("k1", 1)]);
        let issued = claims(Utc::now());
        let token = signer.issue(&issued).expect("signs");
        assert_eq!(signer.verify(&token), Ok(issued));
        let header = jsonwebtoken::decode_header(&token).expect("header");
        assert_eq!(
            (header.alg, header.typ.as_deref(), header.kid.as_deref()),
            (Algorithm::EdDSA, Some("at+jwt"), Some("k1"))
        );
    }

    #[test]
    fn attacks_on_access_tokens_fail() {
        let signer = signer(&[("k1", 1)]);
        let now = Utc::now();
        let good = signer.issue(&claims(now)).expect("signs");
        let payload = serde_json::to_value(claims(now)).expect("json");

        // alg: none, unsigned.
        let none = format!(
            "{}.{}.",
            base64url(br#"{"alg":"none","typ":"at+jwt","kid":"k1"}"#),
            base64url(payload.to_string().as_bytes())
        );
        // HS256 "signed" with the public key as the HMAC secret (key confusion).
        let mut hs_header = Header::new(Algorithm::HS256);
        hs_header.typ = Some(ACCESS_TOKEN_TYPE.to_owned());
        hs_header.kid = Some("k1".to_owned());
        let hs256 = jsonwebtoken::encode(
            &hs_header,
            &claims(now),
            &EncodingKey::from_secret(&signer.current_public_key()),
        )
        .expect("hs256");
        let expired = signer
            .issue(&AccessClaims {
                exp: (now - chrono::TimeDelta::minutes(1)).timestamp(),
                ..claims(now)
            })
            .expect("signs");
        let wrong_aud = signer
            .issue(&AccessClaims {
                aud: "someone-else".to_owned(),
                ..claims(now)
            })
            .expect("signs");
        let wrong_iss = signer
            .issue(&AccessClaims {
                iss: "evil".to_owned(),
                ..claims(now)
            })
            .expect("signs");
        let wrong_typ = with_segment(
            &good,
            0,
            &serde_json::json!({ "alg": "EdDSA", "typ": "JWT", "kid": "k1" }),
        );
        let mut tampered_payload = payload.clone();
        tampered_payload["sub"] = serde_json::json!("account-2");
        let tampered = with_segment(&good, 1, &tampered_payload);
        let unknown_kid = with_segment(
            &good,
            0,
            &serde_json::json!({ "alg": "EdDSA", "typ": "at+jwt", "kid": "k9" }),
        );
        let other_signer = signer_with_same_kid();
        let forged = other_signer.issue(&claims(now)).expect("signs");
        let refresh_token = base64url(&[7u8; 32]);

        let cases: Vec<(&str, String, TokenError)> = vec![
            ("alg none", none, TokenError::Malformed),
            (
                "HS256 with the public key",
                hs256,
                TokenError::WrongAlgorithm,
            ),
            ("expired", expired, TokenError::Expired),
            ("wrong audience", wrong_aud, TokenError::Invalid),
            ("wrong issuer", wrong_iss, TokenError::Invalid),
            ("wrong typ", wrong_typ, TokenError::WrongType),
            ("tampered payload", tampered, TokenError::Invalid),
            ("unknown kid", unknown_kid, TokenError::UnknownKey),
            (
                "signed by another key under our kid",
                forged,
                TokenError::Invalid,
            ),
            ("a refresh token", refresh_token, TokenError::Malformed),
            ("empty", String::new(), TokenError::Malformed),
        ];
        for (name, token, expected) in cases {
            assert_eq!(signer.verify(&token), Err(expected), "{name}");
        }
    }

    fn signer_with_same_kid() -> TokenSigner {
        signer(&[("k1", 2)])
    }

    #[test]
    fn after_rotation_new_tokens_use_the_new_key_and_old_ones_still_verify() {
        let before = signer(&[("k1", 1)]);
        let old_token = before.issue(&claims(Utc::now())).expect("signs");
        let after = signer(&[("k2", 2), ("k1", 1)]);
        assert_eq!(after.current_kid(), "k2");
        assert!(after.verify(&old_token).is_ok());
        let new_token = after.issue(&claims(Utc::now())).expect("signs");
        assert_eq!(
            jsonwebtoken::decode_header(&new_token)
                .expect("header")
                .kid
                .as_deref(),
            Some("k2")
        );
        let kids: Vec<&str> = after.jwks()["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .filter_map(|k| k["kid"].as_str())
            .collect();
        assert_eq!(kids, ["k2", "k1"]);
    }

    #[test]
    fn the_jwks_holds_public_keys_only() {
        let signer = signer(&[("k1", 1)]);
        let key = &signer.jwks()["keys"][0];
        assert_eq!(
            (
                key["kty"].as_str(),
                key["crv"].as_str(),
                key["alg"].as_str()
            ),
            (Some("OKP"), Some("Ed25519"), Some("EdDSA"))
        );
        assert_eq!(
            key["x"].as_str(),
            Some(base64url(&signer.current_public_key()).as_str())
        );
        assert!(key.get("d").is_none(), "no private part");
        assert!(
            !signer.jwks().to_string().contains(&base64url(&[1u8; 32])),
            "the seed is not published"
        );
    }
}

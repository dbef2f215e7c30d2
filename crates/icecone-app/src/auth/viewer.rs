//! Who is asking: the `Authorization` header turned into a [`Viewer`].
//!
//! No header: anonymous. `Bearer <access token>`: the token must verify
//! ([`crate::tokens`]) and its session must exist, belong to the token's subject and not be
//! revoked — so logging out or a detected refresh-token reuse ends access at once, not when
//! the token expires. `ApiKey <key>`: a partner's key, which must be live (found by its
//! digest, not revoked) — revoking it ends access at once. Anything else is refused with 401.
//!
//! A browser on the cookie transport holds no access token: its session cookie holds the
//! session's current refresh token, an opaque handle that [`authenticate_session_handle`]
//! looks up by digest. It authenticates exactly as long as an access token issued with it
//! would — [`ACCESS_TOKEN_LIFETIME`] from its issue, and only while its session is live —
//! so refresh rotation, revocation, step-up and suspension are the bearer tokens' own.

use chrono::{DateTime, Utc};
use icecone_store::Store;
use icecone_store::sessions::SessionRecord;
use uuid::Uuid;

use icecone_core::partner::ApiKey;

use super::login::digest;
use crate::partners::{self, PartnerCaller};
use crate::tokens::{ACCESS_TOKEN_LIFETIME, Acr, TokenError, TokenSigner};

/// An authenticated account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    /// The account.
    pub account: Uuid,
    /// The session.
    pub session: Uuid,
    /// The assurance level of the token.
    pub acr: Acr,
    /// When the person last authenticated.
    pub auth_time: DateTime<Utc>,
    /// When the access token expires.
    pub token_expires_at: DateTime<Utc>,
}

/// Whether a stored session lets `account` in: it is theirs and not revoked.
fn is_live(record: &SessionRecord, account: Uuid) -> bool {
    record.account == account && record.revoked_at.is_none()
}

/// Who a request comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Viewer {
    /// No credentials.
    Anonymous,
    /// A signed-in account.
    Account(Authenticated),
    /// A partner, by its API key.
    Partner(PartnerCaller),
}

/// Why credentials were refused (all answered alike, as `invalid_token`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthFailure {
    /// The header is neither `Bearer <token>` nor `ApiKey <key>`.
    #[error("the Authorization header is neither a bearer token nor an API key")]
    Scheme,
    /// The API key is malformed, unknown or revoked.
    #[error("the API key is not a live partner key")]
    ApiKey,
    /// The token does not verify.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The token's session is unknown, revoked or someone else's.
    #[error("the session has ended")]
    Session,
    /// The session could not be read.
    #[error("the session could not be checked")]
    Unavailable,
}

/// The credentials of an `Authorization` header in `scheme`, whose name is matched
/// without regard to case (RFC 9110 §11.1), followed by one or more spaces.
fn credentials<'a>(header: &'a str, scheme: &str) -> Option<&'a str> {
    let (name, rest) = header.split_once(' ')?;
    name.eq_ignore_ascii_case(scheme).then(|| rest.trim_start())
}

/// The viewer of a request with this `Authorization` header.
pub async fn authenticate(
    header: Option<&str>,
    tokens: &TokenSigner,
    store: &Store,
) -> Result<Viewer, AuthFailure> {
    let Some(header) = header else {
        return Ok(Viewer::Anonymous);
    };
    if let Some(key) = credentials(header, "ApiKey") {
        let key = ApiKey::parse(key.trim()).map_err(|_| AuthFailure::ApiKey)?;
        return match partners::caller(store, &key).await {
            Ok(Some(caller)) => Ok(Viewer::Partner(caller)),
            Ok(None) => Err(AuthFailure::ApiKey),
            Err(_) => Err(AuthFailure::Unavailable),
        };
    }
    let token = credentials(header, "Bearer")
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(AuthFailure::Scheme)?;
    let claims = tokens.verify(token)?;
    let account =
        Uuid::try_parse(&claims.sub).map_err(|_| AuthFailure::Token(TokenError::Invalid))?;
    let session =
        Uuid::try_parse(&claims.sid).map_err(|_| AuthFailure::Token(TokenError::Invalid))?;
    let record = store
        .session_cached(session)
        .await
        .map_err(|_| AuthFailure::Unavailable)?;
    match record {
        Some(record) if is_live(&record, account) => {
            let auth_time = DateTime::from_timestamp(claims.auth_time, 0)
                .ok_or(AuthFailure::Token(TokenError::Invalid))?;
            let token_expires_at = DateTime::from_timestamp(claims.exp, 0)
                .ok_or(AuthFailure::Token(TokenError::Invalid))?;
            Ok(Viewer::Account(Authenticated {
                account,
                session,
                acr: claims.acr,
                auth_time,
                token_expires_at,
            }))
        }
        _ => Err(AuthFailure::Session),
    }
}

/// The viewer of a request that carries the browser session cookie with `handle` at `now`:
/// the refresh token it holds must exist, have been issued less than
/// [`ACCESS_TOKEN_LIFETIME`] ago (spent or not: an access token issued with it would still
/// be valid), and its session must be live. The assurance level and the time of
/// authentication are the session's, as the access token's claims would carry them.
pub async fn authenticate_session_handle(
    handle: &str,
    store: &Store,
    now: DateTime<Utc>,
) -> Result<Viewer, AuthFailure> {
    let token = store
        .refresh_token(&digest(handle))
        .await
        .map_err(|_| AuthFailure::Unavailable)?
        .ok_or(AuthFailure::Session)?;
    let token_expires_at = token.issued_at + ACCESS_TOKEN_LIFETIME;
    if token_expires_at <= now {
        return Err(AuthFailure::Token(TokenError::Expired));
    }
    let record = store
        .session_cached(token.session)
        .await
        .map_err(|_| AuthFailure::Unavailable)?
        .filter(|record| record.revoked_at.is_none())
        .ok_or(AuthFailure::Session)?;
    Ok(Viewer::Account(Authenticated {
        account: record.account,
        session: record.id,
        acr: if record.mfa_at.is_some() {
            Acr::Aal2
        } else {
            Acr::Aal1
        },
        auth_time: record.auth_time,
        token_expires_at,
    }))
}

#[cfg(test)]
mod tests {
    use super::credentials;

    #[test]
    fn auth_schemes_are_matched_without_regard_to_case() {
        // (header, scheme, credentials)
        let cases = [
            ("Bearer abc", "Bearer", Some("abc")),
            ("bearer abc", "Bearer", Some("abc")),
            ("BEARER  abc", "Bearer", Some("abc")),
            ("ApiKey icp_x", "ApiKey", Some("icp_x")),
            ("apikey icp_x", "ApiKey", Some("icp_x")),
            ("Bearerabc", "Bearer", None),
            ("Basic abc", "Bearer", None),
            ("ApiKey icp_x", "Bearer", None),
            ("Bearer", "Bearer", None),
        ];
        for (header, scheme, expected) in cases {
            assert_eq!(credentials(header, scheme), expected, "{header}");
        }
    }
}

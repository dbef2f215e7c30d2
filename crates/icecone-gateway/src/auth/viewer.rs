//! Who is asking: the `Authorization` header turned into a [`Viewer`].
//!
//! No header: anonymous. `Bearer <access token>`: the token must verify
//! ([`super::tokens`]) and its session must exist, belong to the token's subject and not be
//! revoked — so logging out or a detected refresh-token reuse ends access at once, not when
//! the token expires. Anything else is refused with 401 (RFC 6750 `invalid_token`).

use chrono::{DateTime, Utc};
use icecone_store::Store;
use uuid::Uuid;

use super::tokens::{Acr, TokenError, TokenSigner};

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
}

/// Who a request comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Viewer {
    /// No credentials.
    Anonymous,
    /// A signed-in account.
    Account(Authenticated),
}

/// Why credentials were refused (all answered alike, as `invalid_token`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthFailure {
    /// The header is not `Bearer <token>`.
    #[error("the Authorization header is not a bearer token")]
    Scheme,
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

/// The viewer of a request with this `Authorization` header.
pub async fn authenticate(
    header: Option<&str>,
    tokens: &TokenSigner,
    store: &Store,
) -> Result<Viewer, AuthFailure> {
    let Some(header) = header else {
        return Ok(Viewer::Anonymous);
    };
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
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
        Some(record) if record.account == account && record.revoked_at.is_none() => {
            let auth_time = DateTime::from_timestamp(claims.auth_time, 0)
                .ok_or(AuthFailure::Token(TokenError::Invalid))?;
            Ok(Viewer::Account(Authenticated {
                account,
                session,
                acr: claims.acr,
                auth_time,
            }))
        }
        _ => Err(AuthFailure::Session),
    }
}

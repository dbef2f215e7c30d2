//! Who is asking: the `Authorization` header turned into a [`Viewer`].
//!
//! No header: anonymous. `Bearer <access token>`: the token must verify
//! ([`super::tokens`]) and its session must exist, belong to the token's subject and not be
//! revoked — so logging out or a detected refresh-token reuse ends access at once, not when
//! the token expires. `ApiKey <key>`: a partner's key, which must be live (found by its
//! digest, not revoked) — revoking it ends access at once. Anything else is refused with 401.

use chrono::{DateTime, Utc};
use icecone_store::Store;
use icecone_store::sessions::SessionRecord;
use uuid::Uuid;

use icecone_core::partner::ApiKey;

use super::tokens::{Acr, TokenError, TokenSigner};
use crate::partners::{self, PartnerCaller};

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

impl Authenticated {
    /// Whether this caller is still signed in at `now`, with `session` as the store has it:
    /// the access token has not expired, and the session exists, is this account's and is
    /// not revoked. What a connection that stays open (a subscription) asks before each
    /// message it sends; a request asks the session part once, in [`authenticate`].
    pub fn admitted_at(&self, session: Option<&SessionRecord>, now: DateTime<Utc>) -> bool {
        now < self.token_expires_at && session.is_some_and(|record| is_live(record, self.account))
    }
}

/// Whether `viewer` is still signed in now (see [`Authenticated::admitted_at`]), reading
/// the session through the store's cache. A session that cannot be read counts as ended.
pub async fn still_signed_in(store: &Store, viewer: &Authenticated) -> bool {
    match store.session_cached(viewer.session).await {
        Ok(record) => viewer.admitted_at(record.as_ref(), Utc::now()),
        Err(_) => {
            tracing::warn!("a session could not be read: counted as ended");
            false
        }
    }
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

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeDelta};
    use icecone_store::sessions::SessionRecord;
    use uuid::Uuid;

    use super::{Acr, Authenticated, credentials};

    #[test]
    fn a_caller_stays_signed_in_while_the_token_lasts_and_the_session_is_theirs_and_live() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).expect("a time");
        let account = Uuid::from_u128(1);
        let viewer = |expires_in: i64| Authenticated {
            account,
            session: Uuid::from_u128(2),
            acr: Acr::Aal1,
            auth_time: now,
            token_expires_at: now + TimeDelta::seconds(expires_in),
        };
        let session = |owner: Uuid, revoked: bool| SessionRecord {
            id: Uuid::from_u128(2),
            account: owner,
            created_at: now,
            auth_time: now,
            mfa_at: None,
            amr: "pwd".to_owned(),
            last_refreshed_at: now,
            revoked_at: revoked.then_some(now),
            revoked_reason: revoked.then(|| "logout".to_owned()),
        };
        let someone_else = Uuid::from_u128(3);
        // (seconds until the token expires, the stored session, admitted)
        let cases = [
            (60, Some(session(account, false)), true),
            (1, Some(session(account, false)), true),
            (0, Some(session(account, false)), false),
            (-60, Some(session(account, false)), false),
            (60, Some(session(account, true)), false),
            (60, Some(session(someone_else, false)), false),
            (60, None, false),
        ];
        for (expires_in, stored, admitted) in cases {
            assert_eq!(
                viewer(expires_in).admitted_at(stored.as_ref(), now),
                admitted,
                "{expires_in} {stored:?}"
            );
        }
    }

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

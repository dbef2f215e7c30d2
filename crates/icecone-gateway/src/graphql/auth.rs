//! `logIn` and `refreshSession`, and how every mutation that opens or extends a session
//! hands it over ([`deliver`]): in the body for bearer clients, in the session cookie for
//! browsers on the cookie transport.

use async_graphql::{Context, Object, SimpleObject, Union};
use chrono::{DateTime, Utc};
use icecone_core::identity::email::Email;

use super::caller::services;
use super::classification::essential;
use super::consent::PurposeValue;
use super::error::{ApiError, WRONG_CREDENTIALS};
use crate::request::{ClientAddress, RequestId};
use crate::session_cookie::{self, SessionTransport};
use icecone_app::auth::login::{self, LogIn, Tokens};

#[derive(Debug, Default)]
pub(crate) struct AuthMutation;

/// What the per-address limits count this operation by. Every transport attaches it; an
/// operation that arrives without one is refused rather than let past the limits.
pub(super) fn client_address<'a>(ctx: &Context<'a>) -> Result<&'a str, ApiError> {
    ctx.data_opt::<ClientAddress>()
        .map(|address| address.0.as_str())
        .ok_or(ApiError::Forbidden(
            "the client's address is unknown, so its per-address limits cannot be applied",
        ))
}

pub(super) fn login_context<'a>(
    ctx: &Context<'a>,
) -> Result<icecone_app::context::Context<'a>, ApiError> {
    let services = services(ctx)?;
    Ok(icecone_app::context::Context {
        store: &services.store,
        vault: &services.vault,
        tokens: &services.tokens,
        client_address: client_address(ctx)?,
        request_id: ctx.data_opt::<RequestId>().map(|id| id.0.as_str()),
    })
}

#[Object]
impl AuthMutation {
    /// Signs in with e-mail and password. Accounts with a second factor get an
    /// `MfaChallenge` to finish with `completeMfa`; the others an `AuthSession`. Wrong
    /// e-mail and wrong password get the same `UNAUTHENTICATED` answer in the same time;
    /// repeated failures answer `RATE_LIMITED` with `retryAfterSeconds`.
    async fn log_in(
        &self,
        ctx: &Context<'_>,
        email: String,
        password: String,
    ) -> Result<LogInResult, ApiError> {
        let Ok(email) = Email::parse(&email) else {
            return Err(ApiError::Unauthenticated(WRONG_CREDENTIALS));
        };
        match login::log_in(login_context(ctx)?, &email, password).await? {
            LogIn::Session(tokens) => Ok(LogInResult::AuthSession(deliver(ctx, tokens))),
            LogIn::Challenge {
                challenge,
                expires_at,
            } => Ok(LogInResult::MfaChallenge(MfaChallenge {
                challenge,
                expires_at,
            })),
        }
    }

    /// Spends a refresh token for a new access token and a new refresh token. A refresh
    /// token that was already spent ends its whole session. On the cookie transport the
    /// argument is left out: the session cookie's handle is spent, and the answer sets the
    /// next one.
    async fn refresh_session(
        &self,
        ctx: &Context<'_>,
        refresh_token: Option<String>,
    ) -> Result<AuthSession, ApiError> {
        let transport = ctx.data_opt::<SessionTransport>();
        let refresh_token = match (refresh_token, transport.and_then(SessionTransport::handle)) {
            (Some(token), _) => token,
            (None, Some(handle)) => handle.to_owned(),
            (None, None) => {
                return Err(ApiError::BadUserInput(
                    "send refreshToken, or the session cookie with X-IceCone-Session: cookie"
                        .to_owned(),
                ));
            }
        };
        let tokens = login::refresh(login_context(ctx)?, &refresh_token).await?;
        Ok(deliver(ctx, tokens))
    }
}

/// A signed-in session. Bearer clients get its tokens; a browser that asked for the cookie
/// transport (`X-IceCone-Session: cookie`) gets both token fields `null`, its session in an
/// `HttpOnly` cookie no script can read.
#[derive(SimpleObject)]
#[graphql(directive = essential::apply(PurposeValue::Security))]
pub(crate) struct AuthSession {
    /// The access token: `Authorization: Bearer <accessToken>`. `null` on the cookie
    /// transport.
    access_token: Option<String>,
    /// The refresh token for `refreshSession`; spent on use. `null` on the cookie
    /// transport, where the session cookie holds it.
    refresh_token: Option<String>,
    /// When the access token expires (on the cookie transport: when the session cookie
    /// stops authenticating until `refreshSession` rotates it).
    expires_at: DateTime<Utc>,
}

/// Hands a session that was just opened or extended to the client: its tokens in the body,
/// or — on the cookie transport — its refresh token in the session cookie and no token in
/// the body (the access token never leaves the gateway).
pub(super) fn deliver(ctx: &Context<'_>, tokens: Tokens) -> AuthSession {
    let cookie = ctx
        .data_opt::<SessionTransport>()
        .is_some_and(SessionTransport::is_cookie);
    if cookie {
        ctx.append_http_header(
            "set-cookie",
            session_cookie::set_cookie(&tokens.refresh_token),
        );
        AuthSession {
            access_token: None,
            refresh_token: None,
            expires_at: tokens.expires_at,
        }
    } else {
        AuthSession {
            access_token: Some(tokens.access_token),
            refresh_token: Some(tokens.refresh_token),
            expires_at: tokens.expires_at,
        }
    }
}

/// The password was right; send a second factor with this challenge to `completeMfa`.
#[derive(SimpleObject)]
#[graphql(directive = essential::apply(PurposeValue::Security))]
pub(crate) struct MfaChallenge {
    /// The challenge.
    challenge: String,
    /// When it expires.
    expires_at: DateTime<Utc>,
}

/// What `logIn` gives.
#[derive(Union)]
pub(crate) enum LogInResult {
    /// Signed in.
    AuthSession(AuthSession),
    /// A second factor is needed.
    MfaChallenge(MfaChallenge),
}

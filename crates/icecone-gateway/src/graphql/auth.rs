//! `logIn` and `refreshSession`.

use async_graphql::{Context, Object, SimpleObject, Union};
use chrono::{DateTime, Utc};
use icecone_core::identity::email::Email;

use super::caller::services;
use super::classification::essential;
use super::consent::PurposeValue;
use super::error::{ApiError, WRONG_CREDENTIALS};
use crate::request::{ClientAddress, RequestId};
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
            LogIn::Session(tokens) => Ok(LogInResult::AuthSession(tokens.into())),
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
    /// token that was already spent ends its whole session.
    async fn refresh_session(
        &self,
        ctx: &Context<'_>,
        refresh_token: String,
    ) -> Result<AuthSession, ApiError> {
        let tokens = login::refresh(login_context(ctx)?, &refresh_token).await?;
        Ok(tokens.into())
    }
}

/// A signed-in session's tokens.
#[derive(SimpleObject)]
#[graphql(directive = essential::apply(PurposeValue::Security))]
pub(crate) struct AuthSession {
    /// The access token: `Authorization: Bearer <accessToken>`.
    access_token: String,
    /// The refresh token for `refreshSession`; spent on use.
    refresh_token: String,
    /// When the access token expires.
    expires_at: DateTime<Utc>,
}

impl From<Tokens> for AuthSession {
    fn from(tokens: Tokens) -> Self {
        Self {
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
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

//! `enrollTotp`, `confirmTotp` and `completeMfa`.

use async_graphql::{Context, Object, SimpleObject};

use super::auth::{AuthSession, deliver, login_context};
use super::caller::{services, viewer_account};
use super::classification::essential;
use super::consent::PurposeValue;
use super::error::ApiError;
use icecone_app::auth::mfa;

#[derive(Debug, Default)]
pub(crate) struct MfaMutation;

#[Object]
impl MfaMutation {
    /// Starts TOTP enrolment: a new secret for an authenticator app, shown once. Replaces an
    /// enrolment that was not confirmed yet. Needs a log-in within the last five minutes
    /// (`REAUTHENTICATION_REQUIRED` otherwise).
    async fn enroll_totp(&self, ctx: &Context<'_>) -> Result<TotpEnrollment, ApiError> {
        let (viewer, account) = viewer_account(ctx).await?;
        let services = services(ctx)?;
        let enrollment = mfa::enroll(&services.store, &services.vault, viewer, &account).await?;
        Ok(TotpEnrollment {
            secret: enrollment.secret.to_string(),
            otpauth_uri: enrollment.otpauth_uri.to_string(),
        })
    }

    /// Activates TOTP with a first code; answers the ten single-use recovery codes, shown
    /// once. Needs a log-in within the last five minutes (`REAUTHENTICATION_REQUIRED`
    /// otherwise).
    #[graphql(directive = essential::apply(PurposeValue::Security))]
    async fn confirm_totp(&self, ctx: &Context<'_>, code: String) -> Result<Vec<String>, ApiError> {
        let (viewer, account) = viewer_account(ctx).await?;
        let cx = login_context(ctx)?;
        let codes = mfa::confirm(cx, viewer, &account, &code).await?;
        Ok(codes.iter().map(|c| c.to_string()).collect())
    }

    /// Turns TOTP off and voids the recovery codes. Needs a second factor performed within
    /// the last five minutes (`REAUTHENTICATION_REQUIRED` otherwise) and a current code.
    #[graphql(directive = essential::apply(PurposeValue::Security))]
    async fn disable_totp(&self, ctx: &Context<'_>, code: String) -> Result<bool, ApiError> {
        let (viewer, account) = viewer_account(ctx).await?;
        let cx = login_context(ctx)?;
        mfa::disable(cx, &account, viewer.session, &code).await?;
        Ok(true)
    }

    /// Finishes a log-in that answered an `MfaChallenge`, with a TOTP or a recovery code.
    /// The challenge is used up either way: after a wrong code, log in again.
    async fn complete_mfa(
        &self,
        ctx: &Context<'_>,
        challenge: String,
        code: String,
    ) -> Result<AuthSession, ApiError> {
        let tokens = mfa::complete(login_context(ctx)?, &challenge, &code).await?;
        Ok(deliver(ctx, tokens))
    }
}

/// A TOTP secret to add to an authenticator app.
#[derive(SimpleObject)]
#[graphql(directive = essential::apply(PurposeValue::Security))]
pub(crate) struct TotpEnrollment {
    /// The secret, base32.
    secret: String,
    /// The `otpauth://` URI, for a QR code.
    otpauth_uri: String,
}

//! `signUp`, `verifyEmail` and `resendVerificationEmail`.

use async_graphql::{Context, InputObject, Object};
use icecone_core::identity::email::Email;
use icecone_core::identity::password::Password;
use icecone_core::identity::policy::PolicyVersion;

use icecone_core::consent::Purpose;

use super::auth::{AuthSession, deliver, login_context};
use super::caller::{services, signed_in};
use super::classification::essential;
use super::consent::PurposeValue;
use super::error::ApiError;
use icecone_app::auth::sign_up;

#[derive(Debug, Default)]
pub(crate) struct SignUpMutation;

/// What `signUp` takes.
#[derive(InputObject)]
pub(crate) struct SignUpInput {
    /// The e-mail address; it becomes the account's sign-in name once verified.
    email: String,
    /// 12 to 128 characters, not on the list of common passwords; no composition rules.
    password: String,
    /// The privacy policy version the person accepted: must be the current one
    /// (`privacyPolicy { version }`).
    accepted_policy_version: String,
    /// The consent-based purposes the person opts into (recorded with the source
    /// `SIGN_UP`); all others stay off. Purposes that do not rest on consent are
    /// `BAD_USER_INPUT`.
    #[graphql(default)]
    consents: Vec<PurposeValue>,
}

#[Object]
impl SignUpMutation {
    /// Creates an account and signs it in. The answer is the same whether or not the
    /// address already has an account (no one learns who has one): the address is
    /// unverified until the link sent to it is used with `verifyEmail`, and only then can
    /// it be used with `logIn`. If the address belongs to an account already, its owner is
    /// told that someone tried to sign up with it, and the new account never gets it.
    async fn sign_up(
        &self,
        ctx: &Context<'_>,
        input: SignUpInput,
    ) -> Result<AuthSession, ApiError> {
        let email = Email::parse(&input.email)
            .map_err(|error| ApiError::BadUserInput(format!("email: {error}")))?;
        let password = Password::parse(input.password)
            .map_err(|error| ApiError::BadUserInput(format!("password: {error}")))?;
        let policy =
            PolicyVersion::parse_current(&input.accepted_policy_version, services(ctx)?.policy)
                .map_err(|error| {
                    ApiError::BadUserInput(format!("acceptedPolicyVersion: {error}"))
                })?;
        let consents: Vec<Purpose> = input.consents.into_iter().map(Purpose::from).collect();
        if let Some(purpose) = consents.iter().find(|p| !p.needs_consent()) {
            return Err(ApiError::BadUserInput(format!(
                "consents: {purpose} does not rest on consent"
            )));
        }
        let tokens = sign_up::sign_up(
            login_context(ctx)?,
            &email,
            password,
            policy,
            &consents,
            services(ctx)?.policy,
        )
        .await?;
        Ok(deliver(ctx, tokens))
    }

    /// Uses the token of a verification link: the address it was sent to becomes the
    /// account's sign-in name. Works without signing in (the link may be opened anywhere).
    #[graphql(directive = essential::apply(PurposeValue::Security))]
    async fn verify_email(&self, ctx: &Context<'_>, token: String) -> Result<bool, ApiError> {
        sign_up::verify_email(login_context(ctx)?, &token).await?;
        Ok(true)
    }

    /// Sends a new verification link to the signed-in account's unverified address (three
    /// per 15 minutes).
    #[graphql(directive = essential::apply(PurposeValue::Security))]
    async fn resend_verification_email(&self, ctx: &Context<'_>) -> Result<bool, ApiError> {
        let viewer = signed_in(ctx)?;
        sign_up::resend_verification(login_context(ctx)?, viewer.account).await?;
        Ok(true)
    }
}

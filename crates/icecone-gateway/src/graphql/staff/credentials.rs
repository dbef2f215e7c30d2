//! `setProviderCredential`: ADMIN sets a provider's API key with a fresh second factor. The
//! key is write-only: the answer, the audit trail and the logs carry its fingerprint only.

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use icecone_core::identity::roles::RoleRule;
use icecone_core::provider::ProviderId;
use icecone_core::provider::credential::ApiCredential;

use super::access::{StaffField, requires_mfa, requires_role};
use crate::graphql::auth::login_context;
use crate::graphql::caller::{services, signed_in};
use crate::graphql::classification::not_personal;
use crate::graphql::error::ApiError;
use crate::graphql::providers::Provider;
use icecone_app::providers::credentials;

/// ADMIN, with a second factor within the last five minutes.
const SET_CREDENTIAL: StaffField = StaffField::fresh(RoleRule::Admin);

#[derive(Debug, Default)]
pub(crate) struct CredentialMutation;

#[Object]
impl CredentialMutation {
    /// Sets the API key this deployment uses for a provider, in place of the configured one,
    /// on every gateway instance (within 30 seconds on the others). The key is stored
    /// sealed with the system key and can never be read back: the answer, the audit trail
    /// and the logs carry its fingerprint only. An unknown provider is `NOT_FOUND`; a
    /// provider that takes no key (`local`) or a malformed key, `BAD_USER_INPUT`.
    #[graphql(
        guard = SET_CREDENTIAL.guard(),
        directive = requires_role::apply(SET_CREDENTIAL.roles()),
        directive = requires_mfa::apply(SET_CREDENTIAL.fresh_mfa())
    )]
    async fn set_provider_credential(
        &self,
        ctx: &Context<'_>,
        provider: ID,
        api_key: String,
    ) -> Result<ProviderCredentialInfo, ApiError> {
        let key = ApiCredential::parse(&api_key)
            .map_err(|error| ApiError::BadUserInput(error.to_string()))?;
        let provider = ProviderId::parse(&provider).map_err(|_| ApiError::NotFound)?;
        let admin = signed_in(ctx)?.account;
        let router = &services(ctx)?.providers;
        let (entry, info) =
            credentials::set(login_context(ctx)?, router, admin, &provider, key).await?;
        Ok(ProviderCredentialInfo {
            provider: Provider::new(entry),
            fingerprint: info.fingerprint,
            set_at: info.set_at,
        })
    }
}

/// What is shown of a provider API key once it is set: never the key.
#[derive(SimpleObject)]
#[graphql(directive = not_personal::apply())]
pub(crate) struct ProviderCredentialInfo {
    /// The provider, now available.
    provider: Provider,
    /// `sha256:` and the first 16 hex digits of the key's SHA-256: tells which key is in
    /// use, reveals nothing of it.
    fingerprint: String,
    /// When it was set.
    set_at: DateTime<Utc>,
}

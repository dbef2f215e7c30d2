//! `updateProfile` (GDPR Art. 16): the display name at once; a new e-mail address after
//! re-authentication and once verified (`icecone_app::auth::profile`).

use async_graphql::{Context, InputObject, Object};

use super::account::Account;
use super::auth::login_context;
use super::caller::{services, viewer_account};
use super::classification::essential;
use super::consent::PurposeValue;
use super::error::{ApiError, internal};
use icecone_app::auth::profile;

/// What `updateProfile` changes; a field left out stays as it is.
#[derive(InputObject, Debug)]
pub(crate) struct UpdateProfileInput {
    /// The display name (at most 100 characters); `""` removes it.
    display_name: Option<String>,
    /// A new e-mail address: needs a log-in (and second factor, when on) within the last
    /// five minutes; a verification link is sent to it and the account keeps its current
    /// address until the link is followed (`verifyEmail`).
    email: Option<String>,
}

#[derive(Debug, Default)]
pub(crate) struct ProfileMutation;

#[Object]
impl ProfileMutation {
    /// Corrects the signed-in account's profile. Changing the e-mail address without a
    /// recent log-in is `REAUTHENTICATION_REQUIRED`; an invalid name or address is
    /// `BAD_USER_INPUT` (nothing is changed).
    #[graphql(directive = essential::apply(PurposeValue::ServiceProvision))]
    async fn update_profile(
        &self,
        ctx: &Context<'_>,
        input: UpdateProfileInput,
    ) -> Result<Account, ApiError> {
        let (viewer, record) = viewer_account(ctx).await?;
        profile::update(
            login_context(ctx)?,
            viewer,
            &record,
            input.display_name.as_deref(),
            input.email.as_deref(),
        )
        .await?;
        let record = services(ctx)?
            .store
            .account(record.id)
            .await
            .map_err(internal)?
            .ok_or(ApiError::Unauthenticated(super::caller::SIGN_IN_FIRST))?;
        Ok(Account::new(record, viewer.session))
    }
}

//! What a resolver reads from its context: the services, and who is calling.

use async_graphql::Context;
use icecone_app::auth::viewer::{Authenticated, Viewer};
use icecone_store::accounts::AccountRecord;

use super::Services;
use super::error::{ApiError, internal};

/// The message of `UNAUTHENTICATED` for anonymous requests.
pub(super) const SIGN_IN_FIRST: &str = "sign in first";

/// The services, or an internal error when the schema was built without them.
pub(super) fn services<'a>(ctx: &Context<'a>) -> Result<&'a Services, ApiError> {
    ctx.data::<Services>()
        .map_err(|_| ApiError::Internal(anyhow::anyhow!("schema built without services")))
}

/// The signed-in viewer, or `UNAUTHENTICATED`.
pub(super) fn signed_in<'a>(ctx: &Context<'a>) -> Result<&'a Authenticated, ApiError> {
    match ctx.data::<Viewer>() {
        Ok(Viewer::Account(viewer)) => Ok(viewer),
        _ => Err(ApiError::Unauthenticated(SIGN_IN_FIRST)),
    }
}

/// The signed-in viewer and their account, or `UNAUTHENTICATED`.
pub(super) async fn viewer_account<'a>(
    ctx: &Context<'a>,
) -> Result<(&'a Authenticated, AccountRecord), ApiError> {
    let viewer = signed_in(ctx)?;
    let record = services(ctx)?
        .store
        .account_cached(viewer.account)
        .await
        .map_err(internal)?
        .ok_or(ApiError::Unauthenticated(SIGN_IN_FIRST))?;
    Ok((viewer, record))
}

//! `me`: the signed-in account.

use std::sync::Arc;

use async_graphql::{Context, ID, Object, SimpleObject};
use icecone_store::Store;

use super::Services;
use super::error::ApiError;
use crate::auth::accounts;
use crate::auth::viewer::Viewer;

#[derive(Debug, Default)]
pub(crate) struct AccountQuery;

#[Object]
impl AccountQuery {
    /// The signed-in account. `UNAUTHENTICATED` when anonymous.
    async fn me(&self, ctx: &Context<'_>) -> Result<Account, ApiError> {
        let Ok(Viewer::Account(viewer)) = ctx.data::<Viewer>() else {
            return Err(ApiError::Unauthenticated);
        };
        let services = ctx
            .data::<Services>()
            .map_err(|_| ApiError::Internal(anyhow::anyhow!("schema built without services")))?;
        let store: &Arc<Store> = &services.store;
        let record = store
            .account(viewer.account)
            .await
            .map_err(|e| ApiError::Internal(e.into()))?
            .ok_or(ApiError::Unauthenticated)?;
        let email = accounts::email_of(&services.vault, &record)
            .await
            .map_err(|e| ApiError::Internal(e.into()))?;
        let mfa_enabled = store
            .totp_factor(record.id)
            .await
            .map_err(|e| ApiError::Internal(e.into()))?
            .is_some_and(|factor| factor.confirmed_at.is_some());
        Ok(Account {
            id: ID(record.id.to_string()),
            email,
            mfa_enabled,
        })
    }
}

/// An IceCone account, as its owner sees it.
#[derive(SimpleObject)]
pub(crate) struct Account {
    /// The account's id.
    id: ID,
    /// The e-mail address (stored encrypted with the person's own key).
    email: String,
    /// Whether a second factor (TOTP) is active.
    mfa_enabled: bool,
}

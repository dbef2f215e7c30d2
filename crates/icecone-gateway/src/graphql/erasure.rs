//! `requestAccountDeletion` and `cancelAccountDeletion` (GDPR Art. 17), and the person's
//! open deletion request on `me` (`Account.accountDeletion`).

use async_graphql::{Context, Object};

use super::auth::login_context;
use super::caller::{services, viewer_account};
use super::classification::essential;
use super::consent::PurposeValue;
use super::error::{ApiError, internal};
use super::rights::DataRequest;
use icecone_app::analytics::Happened;
use icecone_app::erasure::{self, HoldGround};

/// The request as the person sees it, with the grounds of the holds in force.
pub(crate) async fn data_request_of(
    ctx: &Context<'_>,
    deletion: icecone_store::erasure::AccountDeletion,
) -> Result<DataRequest, ApiError> {
    let holds = services(ctx)?
        .store
        .active_legal_holds(deletion.account)
        .await
        .map_err(internal)?;
    let mut grounds: Vec<HoldGround> = holds
        .iter()
        .filter_map(|hold| HoldGround::parse(&hold.ground))
        .collect();
    grounds.sort_by_key(|ground| ground.as_str());
    grounds.dedup();
    Ok(DataRequest::erasure(deletion, grounds))
}

#[derive(Debug, Default)]
pub(crate) struct ErasureMutation;

#[Object]
impl ErasureMutation {
    /// Asks IceCone to delete the signed-in account and all data about the person. Needs
    /// the password and, when TOTP is on, a current `code` (missing: `MFA_REQUIRED`; a
    /// wrong password or code: `REAUTHENTICATION_REQUIRED`; repeated failures:
    /// `RATE_LIMITED`). The erasure runs when the grace period (`ICECONE_ERASURE_GRACE`)
    /// ends and can be cancelled until then with `cancelAccountDeletion`; asked again, the
    /// open request is answered. A legal hold keeps it from running: the request is then
    /// `DENIED` with the hold's grounds in `legalHoldGrounds`, and the person is notified.
    #[graphql(directive = essential::apply(PurposeValue::LegalCompliance))]
    async fn request_account_deletion(
        &self,
        ctx: &Context<'_>,
        password: String,
        code: Option<String>,
    ) -> Result<DataRequest, ApiError> {
        let (_, account) = viewer_account(ctx).await?;
        let grace = services(ctx)?.erasure_grace;
        let billing_records = services(ctx)?.billing_records;
        let deletion = erasure::request(
            login_context(ctx)?,
            &account,
            password,
            code.as_deref(),
            grace,
            billing_records,
        )
        .await
        .map_err(ApiError::from)?;
        services(ctx)?
            .analytics
            .capture(
                account.id,
                &Happened::RightExercised(icecone_core::rights::DataRequestKind::Erasure),
            )
            .await;
        data_request_of(ctx, deletion).await
    }

    /// Cancels the signed-in account's deletion request while its grace period lasts.
    /// No open request: `NOT_FOUND`; the grace period is over: `BAD_USER_INPUT`.
    #[graphql(directive = essential::apply(PurposeValue::LegalCompliance))]
    async fn cancel_account_deletion(&self, ctx: &Context<'_>) -> Result<bool, ApiError> {
        let (_, account) = viewer_account(ctx).await?;
        erasure::cancel(login_context(ctx)?, account.id)
            .await
            .map_err(ApiError::from)?;
        Ok(true)
    }
}

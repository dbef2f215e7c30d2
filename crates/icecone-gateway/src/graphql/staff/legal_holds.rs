//! `setLegalHold` and `releaseLegalHold` (DPO or ADMIN, second factor within five
//! minutes, audited before they happen), and `erasureFollowups`: the providers' copies of
//! erased people's outputs that could not be deleted, for DPO staff to follow up.

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use icecone_core::identity::roles::RoleRule;

use super::access::{StaffField, requires_mfa, requires_role};
use crate::graphql::arguments;
use crate::graphql::auth::login_context;
use crate::graphql::caller::{services, signed_in};
use crate::graphql::classification::{essential, not_personal};
use crate::graphql::consent::PurposeValue;
use crate::graphql::data_request::LegalHoldGroundValue;
use crate::graphql::error::{ApiError, internal};
use icecone_app::erasure;

/// `setLegalHold` / `releaseLegalHold`: DPO or ADMIN, second factor in the last five
/// minutes.
const HOLD: StaffField = StaffField::fresh(RoleRule::Dpo);
/// `erasureFollowups`: DPO or ADMIN, second factor in the session.
const FOLLOWUPS: StaffField = StaffField::new(RoleRule::Dpo);

/// A legal hold as DPO staff see it (the note is not shown back: it is in the audit trail).
#[derive(SimpleObject)]
#[graphql(directive = essential::apply(PurposeValue::LegalCompliance))]
pub(crate) struct LegalHoldInfo {
    /// The hold's id.
    id: ID,
    /// The account held.
    account_id: ID,
    /// The Art. 17(3) ground.
    ground: LegalHoldGroundValue,
    /// When it was set.
    set_at: DateTime<Utc>,
}

/// A provider's copy of an erased person's output that could not be deleted.
#[derive(SimpleObject)]
#[graphql(directive = not_personal::apply())]
pub(crate) struct ErasureFollowupInfo {
    /// The erasure's tombstone (the deletion request's id).
    tombstone_id: ID,
    /// The provider.
    provider: ID,
    /// The provider's reference of the job whose copy remains.
    remote_ref: String,
    /// Why the deletion failed.
    error_code: String,
    /// When it was recorded.
    recorded_at: DateTime<Utc>,
}

#[derive(Debug, Default)]
pub(crate) struct LegalHoldMutation;

#[Object]
impl LegalHoldMutation {
    /// Holds a person's erasure on an Art. 17(3) `ground`, documented by `note` (10 to 500
    /// characters, sealed under the person's key and recorded in the audit trail). An open
    /// deletion request is held at once and the person told the ground (never the note).
    /// An unknown account is `NOT_FOUND`.
    #[graphql(
        guard = HOLD.guard(),
        directive = requires_role::apply(HOLD.roles()),
        directive = requires_mfa::apply(HOLD.fresh_mfa())
    )]
    async fn set_legal_hold(
        &self,
        ctx: &Context<'_>,
        account_id: ID,
        ground: LegalHoldGroundValue,
        note: String,
    ) -> Result<LegalHoldInfo, ApiError> {
        let note = arguments::staff_reason(&note, "note")?;
        let target = arguments::account_id(&account_id, "accountId")?;
        let staff = signed_in(ctx)?.account;
        let hold = erasure::set_hold(
            login_context(ctx)?,
            staff,
            target,
            ground.into(),
            note.as_str(),
        )
        .await?;
        Ok(LegalHoldInfo {
            id: ID(hold.id.to_string()),
            account_id: ID(hold.account.to_string()),
            ground,
            set_at: hold.set_at,
        })
    }

    /// Releases every legal hold on a person's account, with a `reason` (10 to 500
    /// characters) recorded in the audit trail; a held deletion request runs again (at
    /// once when its grace period is over). Returns whether a hold was in force.
    #[graphql(
        guard = HOLD.guard(),
        directive = requires_role::apply(HOLD.roles()),
        directive = requires_mfa::apply(HOLD.fresh_mfa()),
        directive = essential::apply(PurposeValue::LegalCompliance)
    )]
    async fn release_legal_hold(
        &self,
        ctx: &Context<'_>,
        account_id: ID,
        reason: String,
    ) -> Result<bool, ApiError> {
        let reason = arguments::staff_reason(&reason, "reason")?;
        let target = arguments::account_id(&account_id, "accountId")?;
        let staff = signed_in(ctx)?.account;
        Ok(erasure::release_holds(login_context(ctx)?, staff, target, reason.as_str()).await?)
    }
}

#[derive(Debug, Default)]
pub(crate) struct LegalHoldQuery;

#[Object]
impl LegalHoldQuery {
    /// Providers' copies of erased people's outputs that could not be deleted after the
    /// retries, oldest first: DPO staff follow them up with the provider.
    #[graphql(
        guard = FOLLOWUPS.guard(),
        directive = requires_role::apply(FOLLOWUPS.roles()),
        directive = requires_mfa::apply(FOLLOWUPS.fresh_mfa())
    )]
    async fn erasure_followups(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Vec<ErasureFollowupInfo>, ApiError> {
        let followups = services(ctx)?
            .store
            .erasure_followups()
            .await
            .map_err(internal)?;
        Ok(followups
            .into_iter()
            .map(|followup| ErasureFollowupInfo {
                tombstone_id: ID(followup.tombstone.to_string()),
                provider: ID(followup.provider.to_string()),
                remote_ref: followup.remote_ref,
                error_code: followup.error_code,
                recorded_at: followup.recorded_at,
            })
            .collect())
    }
}

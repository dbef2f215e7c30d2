//! `staffAccount` (read a person's account, with a reason) and `suspendAccount`.

use async_graphql::{Context, Enum, ID, Object};
use chrono::{DateTime, Utc};
use icecone_core::identity::roles::RoleRule;
use icecone_store::accounts::AccountKind;

use super::access::{StaffField, StaffRoleValue, requires_mfa, requires_role};
use crate::graphql::arguments;
use crate::graphql::auth::login_context;
use crate::graphql::caller::{services, signed_in};
use crate::graphql::classification::essential;
use crate::graphql::consent::PurposeValue;
use crate::graphql::error::{ApiError, internal};
use crate::graphql::generation::PlanValue;
use icecone_app::accounts;
use icecone_app::auth::staff::{self, AccountFile};

/// `staffAccount`: SUPPORT, DPO or ADMIN, with a second factor in the session.
const READ_ACCOUNT: StaffField = StaffField::new(RoleRule::SupportOrAbove);
/// `suspendAccount`: SUPPORT, DPO or ADMIN, with a second factor in the last five minutes.
const SUSPEND_ACCOUNT: StaffField = StaffField::fresh(RoleRule::SupportOrAbove);
/// `setAccountPlan`: ADMIN, with a second factor in the last five minutes.
const SET_PLAN: StaffField = StaffField::fresh(RoleRule::Admin);

#[derive(Debug, Default)]
pub(crate) struct StaffAccountQuery;

#[Object]
impl StaffAccountQuery {
    /// A person's account, for staff who say why they need it: `reason` (10 to 500
    /// characters, e.g. a ticket reference) is recorded in the audit trail with who looked
    /// at whom, before anything is read — also when no account has the id (`null`). A
    /// malformed id or a short reason is `BAD_USER_INPUT`, and nothing is read or recorded.
    #[graphql(
        guard = READ_ACCOUNT.guard(),
        directive = requires_role::apply(READ_ACCOUNT.roles()),
        directive = requires_mfa::apply(READ_ACCOUNT.fresh_mfa())
    )]
    async fn staff_account(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: String,
    ) -> Result<Option<StaffAccountView>, ApiError> {
        let reason = arguments::staff_reason(&reason, "reason")?;
        let target = arguments::account_id(&id, "id")?;
        let staff_member = signed_in(ctx)?.account;
        let file = staff::read_account(login_context(ctx)?, staff_member, target, &reason).await?;
        Ok(file.map(StaffAccountView))
    }
}

#[derive(Debug, Default)]
pub(crate) struct StaffAccountMutation;

#[Object]
impl StaffAccountMutation {
    /// Suspends a person's account, for staff who say why (10 to 500 characters): it can no
    /// longer log in, all its sessions end at once, and its holder is notified. Recorded in
    /// the audit trail before it happens. Needs a second factor within the last five
    /// minutes. Staff cannot suspend their own account, and suspending a staff account
    /// needs ADMIN (`FORBIDDEN`); an unknown id is `NOT_FOUND`.
    #[graphql(
        guard = SUSPEND_ACCOUNT.guard(),
        directive = requires_role::apply(SUSPEND_ACCOUNT.roles()),
        directive = requires_mfa::apply(SUSPEND_ACCOUNT.fresh_mfa())
    )]
    async fn suspend_account(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: String,
    ) -> Result<Option<StaffAccountView>, ApiError> {
        let reason = arguments::staff_reason(&reason, "reason")?;
        let target = arguments::account_id(&id, "id")?;
        let staff_member = signed_in(ctx)?.account;
        let file = staff::suspend(login_context(ctx)?, staff_member, target, &reason).await?;
        Ok(Some(StaffAccountView(file)))
    }

    /// Puts a person's account on a plan, which sets their monthly generation quota from
    /// their next request on, for ADMIN who says why (10 to 500 characters). Recorded in
    /// the audit trail before it happens. Needs a second factor within the last five
    /// minutes. An unknown id is `NOT_FOUND`; a staff account has no plan (`FORBIDDEN`).
    #[graphql(
        guard = SET_PLAN.guard(),
        directive = requires_role::apply(SET_PLAN.roles()),
        directive = requires_mfa::apply(SET_PLAN.fresh_mfa())
    )]
    async fn set_account_plan(
        &self,
        ctx: &Context<'_>,
        id: ID,
        plan: PlanValue,
        reason: String,
    ) -> Result<Option<StaffAccountView>, ApiError> {
        let reason = arguments::staff_reason(&reason, "reason")?;
        let target = arguments::account_id(&id, "id")?;
        let staff_member = signed_in(ctx)?.account;
        let file = staff::set_plan(
            login_context(ctx)?,
            staff_member,
            target,
            plan.into(),
            &reason,
        )
        .await?;
        Ok(Some(StaffAccountView(file)))
    }
}

/// Whose account it is.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "AccountKind")]
pub(crate) enum AccountKindValue {
    /// A user of the product.
    User,
    /// A member of IceCone's staff.
    Staff,
}

pub(crate) struct StaffAccountView(AccountFile);

/// An account as staff see it: never its password hash or second-factor secret.
#[Object(directive = essential::apply(PurposeValue::ServiceProvision))]
impl StaffAccountView {
    /// The account's id.
    async fn id(&self) -> ID {
        ID(self.0.record.id.to_string())
    }

    /// The e-mail address (decrypted for this read, which the audit trail records).
    async fn email(&self, ctx: &Context<'_>) -> Result<String, ApiError> {
        accounts::email_of(&services(ctx)?.vault, &self.0.record)
            .await
            .map_err(internal)
    }

    /// A user's or a staff member's account.
    async fn kind(&self) -> AccountKindValue {
        match self.0.record.kind {
            AccountKind::User => AccountKindValue::User,
            AccountKind::Staff => AccountKindValue::Staff,
        }
    }

    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.record.created_at
    }

    /// Whether it is suspended.
    async fn suspended(&self) -> bool {
        self.0.record.suspended_at.is_some()
    }

    /// When it was suspended, if it is.
    async fn suspended_at(&self) -> Option<DateTime<Utc>> {
        self.0.record.suspended_at
    }

    /// Whether a second factor (TOTP) is active.
    async fn mfa_enabled(&self) -> bool {
        self.0.mfa_enabled
    }

    /// The plan, which sets the monthly generation quota.
    async fn plan(&self) -> PlanValue {
        self.0.record.plan.into()
    }

    /// Whether mail servers refused mail to its current address for good (see
    /// `mailSuppressions`): no mail is tried to it.
    async fn mail_suppressed(&self, ctx: &Context<'_>) -> Result<bool, ApiError> {
        icecone_app::campaigns::is_suppressed(&services(ctx)?.store, &self.0.record)
            .await
            .map_err(internal)
    }

    /// The staff roles it holds (none for users).
    async fn roles(&self) -> Vec<StaffRoleValue> {
        self.0
            .roles
            .iter()
            .map(|role| StaffRoleValue::from(*role))
            .collect()
    }
}

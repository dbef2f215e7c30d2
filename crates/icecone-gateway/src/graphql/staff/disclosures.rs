//! Disclosures required by law for staff: `disclosures` (DPO or ADMIN; the read audited),
//! `recordDisclosure` (DPO or ADMIN) and `approveDisclosure` / `refuseDisclosure` (ADMIN,
//! someone other than the recorder) — each with a second factor within five minutes and
//! audited before it happens (who, which request; never the text).

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use icecone_core::identity::roles::RoleRule;

use super::access::{StaffField, requires_mfa, requires_role};
use crate::graphql::arguments;
use crate::graphql::caller::{services, signed_in};
use crate::graphql::classification::essential;
use crate::graphql::consent::PurposeValue;
use crate::graphql::disclosures::{
    AuthorityTypeValue, DisclosedCategoryValue, DisclosureStatusValue,
};
use crate::graphql::error::{ApiError, internal};
use crate::request::RequestId;
use icecone_app::audit::{self, AuditEvent};
use icecone_app::disclosures::{self, Act, DisclosureInput, OpenedDisclosure};

/// `disclosures`: DPO or ADMIN, a second factor in the session.
const READ: StaffField = StaffField::new(RoleRule::Dpo);
/// `recordDisclosure`: DPO or ADMIN, a second factor within five minutes.
const RECORD: StaffField = StaffField::fresh(RoleRule::Dpo);
/// `approveDisclosure`, `refuseDisclosure`: ADMIN, a second factor within five minutes.
const DECIDE: StaffField = StaffField::fresh(RoleRule::Admin);

/// A confidentiality order: the people concerned are not told before it ends.
#[derive(InputObject, Debug)]
#[graphql(name = "ConfidentialityOrderInput")]
pub(crate) struct ConfidentialityOrderInput {
    /// When it ends (in the future): the people concerned are told then.
    until: DateTime<Utc>,
    /// The order's reference (1 to 200 characters).
    reference: String,
}

/// An authority's request for data, as the DPO records it.
#[derive(InputObject, Debug)]
#[graphql(name = "DisclosureInput")]
pub(crate) struct DisclosureRequestInput {
    /// The authority's name (1 to 200 characters).
    authority_name: String,
    /// Its type.
    authority_type: AuthorityTypeValue,
    /// The legal basis it invokes (1 to 1000 characters).
    legal_basis: String,
    /// Its reference (1 to 200 characters).
    reference: String,
    /// The accounts concerned (1 to 100).
    account_ids: Vec<ID>,
    /// The data asked for (at least one category).
    categories: Vec<DisclosedCategoryValue>,
    /// A confidentiality order, if the authority issued one.
    confidentiality: Option<ConfidentialityOrderInput>,
}

/// A confidentiality order as recorded.
#[derive(SimpleObject)]
#[graphql(directive = essential::apply(PurposeValue::LegalCompliance))]
pub(crate) struct ConfidentialityOrder {
    /// When it ends.
    until: DateTime<Utc>,
    /// Its reference.
    reference: String,
}

/// A disclosure request, for staff.
#[derive(SimpleObject)]
#[graphql(directive = essential::apply(PurposeValue::LegalCompliance))]
pub(crate) struct DisclosureRequest {
    /// Its id.
    id: ID,
    /// The authority's name.
    authority_name: String,
    /// Its type.
    authority_type: AuthorityTypeValue,
    /// The legal basis it invokes.
    legal_basis: String,
    /// Its reference.
    reference: String,
    /// The data asked for.
    categories: Vec<DisclosedCategoryValue>,
    /// The accounts concerned.
    account_ids: Vec<ID>,
    /// A confidentiality order recorded with it.
    confidentiality: Option<ConfidentialityOrder>,
    /// Where it stands.
    status: DisclosureStatusValue,
    /// The DPO who recorded it.
    recorded_by: ID,
    /// When.
    recorded_at: DateTime<Utc>,
    /// The administrator who decided.
    decided_by: Option<ID>,
    /// When.
    decided_at: Option<DateTime<Utc>>,
    /// Why it was refused.
    refusal_reason: Option<String>,
    /// When the people concerned were told (on approval, or when the order ended).
    told_at: Option<DateTime<Utc>>,
}

impl From<OpenedDisclosure> for DisclosureRequest {
    fn from(opened: OpenedDisclosure) -> Self {
        Self {
            id: ID(opened.id.to_string()),
            authority_name: opened.authority_name,
            authority_type: opened.authority_type.into(),
            legal_basis: opened.legal_basis,
            reference: opened.reference,
            categories: opened.categories.into_iter().map(Into::into).collect(),
            account_ids: opened
                .accounts
                .iter()
                .map(|id| ID(id.to_string()))
                .collect(),
            confidentiality: opened.order.map(|order| ConfidentialityOrder {
                until: order.until,
                reference: order.reference,
            }),
            status: opened.status.into(),
            recorded_by: ID(opened.recorded_by.to_string()),
            recorded_at: opened.recorded_at,
            decided_by: opened.decided_by.map(|id| ID(id.to_string())),
            decided_at: opened.decided_at,
            refusal_reason: opened.refusal_reason,
            told_at: opened.told_at,
        }
    }
}

fn act<'a>(ctx: &Context<'a>) -> Result<Act<'a>, ApiError> {
    Ok(Act {
        staff: signed_in(ctx)?.account,
        request_id: ctx.data_opt::<RequestId>().map(|id| id.0.as_str()),
    })
}

fn request_id(id: &ID) -> Result<uuid::Uuid, ApiError> {
    arguments::uuid(id, "id", "a disclosure request id")
}

#[derive(Debug, Default)]
pub(crate) struct DisclosureQuery;

#[Object]
impl DisclosureQuery {
    /// Every disclosure request, newest first, opened, with where it stands. The read is
    /// recorded in the audit trail first.
    #[graphql(
        guard = READ.guard(),
        directive = requires_role::apply(READ.roles()),
        directive = requires_mfa::apply(READ.fresh_mfa())
    )]
    async fn disclosures(&self, ctx: &Context<'_>) -> Result<Vec<DisclosureRequest>, ApiError> {
        let services = services(ctx)?;
        let actor = format!("account:{}", signed_in(ctx)?.account);
        audit::record(
            &services.store,
            &services.vault,
            AuditEvent {
                actor: &actor,
                action: "legal_disclosures.read",
                target: Some("legal_disclosures"),
                reason: None,
                request_id: ctx.data_opt::<RequestId>().map(|id| id.0.as_str()),
            },
        )
        .await
        .map_err(internal)?;
        Ok(disclosures::read_all(&services.store, &services.vault)
            .await?
            .into_iter()
            .map(DisclosureRequest::from)
            .collect())
    }
}

#[derive(Debug, Default)]
pub(crate) struct DisclosureMutation;

#[Object]
impl DisclosureMutation {
    /// Records an authority's request for the data of `input.accountIds` (`RECORDED`):
    /// the free text is kept encrypted; nothing is disclosed and nobody told until an
    /// administrator approves it. `BAD_USER_INPUT` for a rule broken (an unknown account,
    /// no category, an order ending in the past). Recorded in the audit trail (who, which
    /// request; never the text or the accounts).
    #[graphql(
        guard = RECORD.guard(),
        directive = requires_role::apply(RECORD.roles()),
        directive = requires_mfa::apply(RECORD.fresh_mfa())
    )]
    async fn record_disclosure(
        &self,
        ctx: &Context<'_>,
        input: DisclosureRequestInput,
    ) -> Result<DisclosureRequest, ApiError> {
        let accounts = input
            .account_ids
            .iter()
            .map(|id| arguments::account_id(id, "accountIds"))
            .collect::<Result<Vec<_>, _>>()?;
        let categories: Vec<_> = input.categories.iter().map(|c| (*c).into()).collect();
        let services = services(ctx)?;
        let opened = disclosures::record(
            &services.store,
            &services.vault,
            act(ctx)?,
            DisclosureInput {
                authority_name: &input.authority_name,
                authority_type: input.authority_type.into(),
                legal_basis: &input.legal_basis,
                reference: &input.reference,
                accounts: &accounts,
                categories: &categories,
                order: input
                    .confidentiality
                    .as_ref()
                    .map(|order| (order.until, order.reference.as_str())),
            },
            Utc::now(),
        )
        .await?;
        Ok(opened.into())
    }

    /// Approves a recorded request (`APPROVED`): the data may be disclosed, and the people
    /// concerned are told by e-mail at once — or, under a confidentiality order, when it
    /// ends. ADMIN only, and not the one who recorded it (`FORBIDDEN`: four eyes);
    /// `FAILED_PRECONDITION` when it was decided already, `NOT_FOUND` for an unknown id.
    /// Recorded in the audit trail first.
    #[graphql(
        guard = DECIDE.guard(),
        directive = requires_role::apply(DECIDE.roles()),
        directive = requires_mfa::apply(DECIDE.fresh_mfa())
    )]
    async fn approve_disclosure(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<DisclosureRequest, ApiError> {
        let id = request_id(&id)?;
        let services = services(ctx)?;
        let opened =
            disclosures::approve(&services.store, &services.vault, act(ctx)?, id, Utc::now())
                .await?;
        Ok(opened.into())
    }

    /// Refuses a recorded request (`REFUSED`) for `reason` (1 to 1000 characters, kept
    /// encrypted): nothing is disclosed, nobody is told. Same rules as
    /// `approveDisclosure`.
    #[graphql(
        guard = DECIDE.guard(),
        directive = requires_role::apply(DECIDE.roles()),
        directive = requires_mfa::apply(DECIDE.fresh_mfa())
    )]
    async fn refuse_disclosure(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: String,
    ) -> Result<DisclosureRequest, ApiError> {
        let id = request_id(&id)?;
        let services = services(ctx)?;
        let opened = disclosures::refuse(
            &services.store,
            &services.vault,
            act(ctx)?,
            id,
            &reason,
            Utc::now(),
        )
        .await?;
        Ok(opened.into())
    }
}

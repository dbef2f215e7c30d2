//! Disclosures required by law as GraphQL sees them: the vocabulary (authority types,
//! categories, statuses), `me { disclosures }` — a person's own, once they may be shown.
//! The staff fields are in `staff::disclosures`; refusals map to codes in `error`.

use async_graphql::{Context, Enum, ID, SimpleObject};
use chrono::{DateTime, Utc};

use super::caller::services;
use super::classification::essential;
use super::consent::PurposeValue;
use super::error::{ApiError, internal};
use icecone_app::disclosures::{self, ShownDisclosure};

/// The kind of authority a request for data comes from.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(
    name = "AuthorityType",
    remote = "icecone_core::disclosure::AuthorityType"
)]
pub(crate) enum AuthorityTypeValue {
    /// A court or a judge.
    Court,
    /// The police, a prosecutor or another law-enforcement body.
    Police,
    /// A regulator (data protection, consumer or sector authority).
    Regulator,
    /// A tax authority.
    Tax,
    /// Any other public authority the law empowers to ask.
    Other,
}

/// A kind of a person's data an authority may ask for, named after the sections of the
/// person's data export.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(
    name = "DisclosedCategory",
    remote = "icecone_core::disclosure::DisclosedCategory"
)]
pub(crate) enum DisclosedCategoryValue {
    /// The account: e-mail address, plan, dates, roles.
    Account,
    /// Sign-in sessions.
    Sessions,
    /// Generations: prompts and outputs.
    Generations,
    /// The consent history.
    ConsentHistory,
    /// Usage counters.
    Usage,
    /// Notifications sent to the person.
    Notifications,
    /// Data subject requests.
    DataRequests,
    /// Messages to the data protection officer.
    PrivacyTickets,
    /// Grants to partners.
    PartnerGrants,
    /// Audit entries naming the account.
    AuditEntries,
}

/// Where a disclosure request stands.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(
    name = "DisclosureStatus",
    remote = "icecone_core::disclosure::lifecycle::DisclosureStatus"
)]
pub(crate) enum DisclosureStatusValue {
    /// Recorded by the DPO, awaiting an administrator's decision.
    Recorded,
    /// Approved: the data was disclosed.
    Approved,
    /// Refused: nothing was disclosed.
    Refused,
}

/// A disclosure of the viewer's data required by law.
#[derive(SimpleObject)]
#[graphql(directive = essential::apply(PurposeValue::LegalCompliance))]
pub(crate) struct Disclosure {
    /// Its id (the reference the notice mail gave).
    id: ID,
    /// The authority that asked.
    authority_name: String,
    /// Its type.
    authority_type: AuthorityTypeValue,
    /// The legal basis it invoked.
    legal_basis: String,
    /// The authority's reference.
    reference: String,
    /// The data disclosed.
    categories: Vec<DisclosedCategoryValue>,
    /// When the request was received.
    requested_at: DateTime<Utc>,
    /// When the data was disclosed.
    disclosed_at: DateTime<Utc>,
    /// When a confidentiality order that kept it from the viewer ended, if there was one.
    confidential_until: Option<DateTime<Utc>>,
}

impl From<ShownDisclosure> for Disclosure {
    fn from(shown: ShownDisclosure) -> Self {
        Self {
            id: ID(shown.id.to_string()),
            authority_name: shown.authority_name,
            authority_type: shown.authority_type.into(),
            legal_basis: shown.legal_basis,
            reference: shown.reference,
            categories: shown.categories.into_iter().map(Into::into).collect(),
            requested_at: shown.requested_at,
            disclosed_at: shown.disclosed_at,
            confidential_until: shown.confidential_until,
        }
    }
}

/// The disclosures of `account` it may be shown now, newest first.
pub(crate) async fn shown_to(
    ctx: &Context<'_>,
    account: uuid::Uuid,
) -> Result<Vec<Disclosure>, ApiError> {
    let services = services(ctx)?;
    Ok(
        disclosures::shown_to(&services.store, &services.vault, account, Utc::now())
            .await
            .map_err(internal)?
            .into_iter()
            .map(Disclosure::from)
            .collect(),
    )
}

//! The staff console: `staffAccount`, `suspendAccount`, `auditLog` and partner management
//! (`createPartner`, `issuePartnerKey`, `revokePartnerKey`, `partnerKeys`) and
//! `setProviderCredential`, and DPO's queue of data subject requests (`dataRequests`,
//! `privacyTickets`, `extendDataRequest`, `completeDataRequest`, `denyDataRequest`) and
//! legal holds on erasure (`setLegalHold`, `releaseLegalHold`, `erasureFollowups`), and
//! mail campaigns and the suppression list (`sendProductNews`, `sendServiceAnnouncement`,
//! `mailSuppressions`, `liftMailSuppression`), and disclosures required by law
//! (`disclosures`, `recordDisclosure`, `approveDisclosure`, `refuseDisclosure`), and
//! anonymised aggregates (`analytics`, ANALYST and ADMIN).
//!
//! Every field here declares one [`access::StaffField`] — a role rule and a second-factor
//! requirement — from which both its guard (enforcement at resolve time) and its
//! `@requiresRole` / `@requiresMfa` directives (what the SDL shows partners) are made, so
//! the two cannot disagree. The decision itself is
//! `icecone_core::identity::staff_access::staff_access`; the actions (audited before they
//! happen) are in `icecone_app::auth::staff`.

use async_graphql::MergedObject;

mod access;
mod account;
mod analytics;
mod audit_log;
mod campaigns;
mod credentials;
mod disclosures;
mod legal_holds;
mod partners;
mod rights;

/// The staff console's queries.
#[derive(MergedObject, Default, Debug)]
pub(crate) struct StaffQuery(
    account::StaffAccountQuery,
    audit_log::AuditLogQuery,
    partners::PartnerKeysQuery,
    rights::RightsStaffQuery,
    legal_holds::LegalHoldQuery,
    campaigns::CampaignQuery,
    disclosures::DisclosureQuery,
    analytics::AnalyticsQuery,
);

/// The staff console's mutations.
#[derive(MergedObject, Default, Debug)]
pub(crate) struct StaffMutation(
    account::StaffAccountMutation,
    partners::PartnerKeysMutation,
    credentials::CredentialMutation,
    rights::RightsStaffMutation,
    legal_holds::LegalHoldMutation,
    campaigns::CampaignMutation,
    disclosures::DisclosureMutation,
);

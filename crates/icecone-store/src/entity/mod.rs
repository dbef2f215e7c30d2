//! sea-orm entities. Crate-private: they never leave the store, so the database is never
//! the API.

// sea-orm's derive macros generate `pub` items; the modules themselves are crate-private.
#![allow(unreachable_pub)]

pub(crate) mod account;
pub(crate) mod account_deletion;
pub(crate) mod analytics_cell;
pub(crate) mod analytics_day;
pub(crate) mod analytics_event;
pub(crate) mod attempt_counter;
pub(crate) mod audit_entry;
pub(crate) mod billing_customer;
pub(crate) mod billing_event;
pub(crate) mod billing_invoice;
pub(crate) mod consent_entry;
pub(crate) mod data_export;
pub(crate) mod data_export_chunk;
pub(crate) mod data_key;
pub(crate) mod data_request;
pub(crate) mod data_request_event;
pub(crate) mod data_subject;
pub(crate) mod email_verification;
pub(crate) mod erasure_followup;
pub(crate) mod erasure_tombstone;
pub(crate) mod generation;
pub(crate) mod generation_rating;
pub(crate) mod job;
pub(crate) mod legal_disclosure;
pub(crate) mod legal_disclosure_account;
pub(crate) mod legal_hold;
pub(crate) mod mail_campaign;
pub(crate) mod mail_suppression;
pub(crate) mod mfa_challenge;
pub(crate) mod notification;
pub(crate) mod partner;
pub(crate) mod partner_grant;
pub(crate) mod partner_key;
pub(crate) mod privacy_ticket;
pub(crate) mod privacy_ticket_event;
pub(crate) mod provider_credential;
pub(crate) mod recovery_code;
pub(crate) mod refresh_token;
pub(crate) mod session;
pub(crate) mod signing_key;
pub(crate) mod staff_role;
pub(crate) mod subprocessor_version;
pub(crate) mod system_key;
pub(crate) mod totp_factor;
pub(crate) mod usage_counter;

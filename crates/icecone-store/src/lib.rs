//! IceCone's storage: one [`Store`] over sea-orm, the migrations, and the repositories.
//!
//! The same migrations run on SQLite (the embedded default) and PostgreSQL. Nothing here
//! logs SQL or bound values: statement logging is switched off at the connection, because
//! bound values are personal data.

pub mod accounts;
pub mod analytics;
pub mod attempts;
pub mod audit_log;
pub mod billing;
pub mod campaigns;
pub mod consent;
mod convert;
pub mod data_requests;
mod database_url;
mod entity;
pub mod erasure;
pub mod generations;
mod group_commit;
pub mod jobs;
pub mod keys;
pub mod legal_disclosures;
pub mod mfa;
mod migration;
pub mod outbox;
pub mod partners;
pub mod personal_data;
pub mod policy_notices;
pub mod privacy_tickets;
pub mod provider_credentials;
pub mod purge;
pub mod read_cache;
pub mod sessions;
pub mod signing_keys;
mod store;
pub mod subprocessor_versions;
#[cfg(feature = "testing")]
pub mod testing;
pub mod usage;
pub mod verifications;

pub use database_url::{Backend, DatabaseUrl, InvalidDatabaseUrl};
pub use store::{Store, StoreError};
pub use usage::Metering;

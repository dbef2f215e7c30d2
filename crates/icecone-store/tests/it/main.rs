//! The store's integration tests, run on SQLite and, with `ICECONE_TEST_DATABASE_URL`, on
//! PostgreSQL.

mod accounts;
mod attempts;
mod audit_log;
mod campaigns;
mod consent;
mod data_requests;
mod generations;
mod jobs;
mod keys;
mod mfa;
mod migrations;
mod outbox;
mod partners;
mod personal_data;
mod policy_notices;
mod privacy_tickets;
mod provider_credentials;
mod sessions;
mod signing_keys;
mod subprocessor_versions;
mod support;
mod tls;
mod usage;
mod verifications;

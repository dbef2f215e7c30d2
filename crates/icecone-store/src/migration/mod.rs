//! Schema migrations, identical on SQLite and PostgreSQL. Append new migrations at the end;
//! never edit one that has shipped.

// `MigrationTrait` is an `async_trait` whose signature elides the `SchemaManager` lifetime;
// naming it in the impl does not compile, so the idiom lint is switched off here only.
#![allow(elided_lifetimes_in_paths)]

use sea_orm_migration::prelude::*;

mod m20261128_000001_data_subjects;
mod m20261128_000002_keys;
mod m20261129_000003_accounts;
mod m20261129_000004_email_verification;
mod m20261129_000005_consent_ledger;
mod m20261129_000006_partners;
mod m20261129_000007_generations;
mod m20261129_000008_provider_credentials;
mod m20261129_000009_account_plans;
mod m20261129_000010_jobs;
mod m20261129_000011_data_requests;
mod m20261129_000012_erasure;
mod m20261129_000013_person_indexes;
mod m20261129_000014_generations_by_account;
mod m20261207_000016_export_chunks;
mod m20261207_000017_generation_parameters;
mod m20261207_000018_mail_delivery;
mod m20261207_000019_privacy_ticket_history;
mod m20261207_000020_mail_campaigns;
mod m20261207_000021_policy_notices;
mod m20261207_000040_legal_disclosures;
mod m20261207_000060_subprocessor_versions;
mod m20261207_000100_prompt_minimisation;
mod m20261207_000120_analytics;
mod m20261207_000200_billing;
mod m20261207_000220_generation_history_version;

pub(crate) struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261128_000001_data_subjects::Migration),
            Box::new(m20261128_000002_keys::Migration),
            Box::new(m20261129_000003_accounts::Migration),
            Box::new(m20261129_000004_email_verification::Migration),
            Box::new(m20261129_000005_consent_ledger::Migration),
            Box::new(m20261129_000006_partners::Migration),
            Box::new(m20261129_000007_generations::Migration),
            Box::new(m20261129_000008_provider_credentials::Migration),
            Box::new(m20261129_000009_account_plans::Migration),
            Box::new(m20261129_000010_jobs::Migration),
            Box::new(m20261129_000011_data_requests::Migration),
            Box::new(m20261129_000012_erasure::Migration),
            Box::new(m20261129_000013_person_indexes::Migration),
            Box::new(m20261129_000014_generations_by_account::Migration),
            Box::new(m20261207_000016_export_chunks::Migration),
            Box::new(m20261207_000017_generation_parameters::Migration),
            Box::new(m20261207_000018_mail_delivery::Migration),
            Box::new(m20261207_000019_privacy_ticket_history::Migration),
            Box::new(m20261207_000020_mail_campaigns::Migration),
            Box::new(m20261207_000021_policy_notices::Migration),
            Box::new(m20261207_000040_legal_disclosures::Migration),
            Box::new(m20261207_000060_subprocessor_versions::Migration),
            Box::new(m20261207_000100_prompt_minimisation::Migration),
            Box::new(m20261207_000120_analytics::Migration),
            Box::new(m20261207_000200_billing::Migration),
            Box::new(m20261207_000220_generation_history_version::Migration),
        ]
    }
}

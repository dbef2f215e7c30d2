//! Subprocessor versions, announced before they take effect.
//!
//! - `subprocessor_versions`: every published list of subprocessors, numbered from 1 (the
//!   primary key: two instances publishing at once cannot both take a number), the list's
//!   digest, the list itself (JSON, organisations and agreement references: not personal
//!   data), whether it was announced to the accounts (the first version is not: it
//!   describes the processing as it already was), when it was published and when it takes
//!   effect.
//! - `accounts.subprocessors_notified_version`: the version the account was last told
//!   about (0: none). The notice task advances it by compare-and-set in the transaction
//!   that queues the notice, so each account is told of a version once, whichever instance
//!   runs the task. Indexed, so that finding the accounts behind reads only those.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum SubprocessorVersions {
    Table,
    Version,
    Digest,
    Entries,
    Announced,
    PublishedAt,
    TakesEffectAt,
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    SubprocessorsNotifiedVersion,
}

const INDEX: &str = "idx_accounts_subprocessors_notified_version";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SubprocessorVersions::Table)
                    .col(
                        ColumnDef::new(SubprocessorVersions::Version)
                            .integer()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(SubprocessorVersions::Digest)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SubprocessorVersions::Entries)
                            .text()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SubprocessorVersions::Announced)
                            .boolean()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SubprocessorVersions::PublishedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SubprocessorVersions::TakesEffectAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Accounts::Table)
                    .add_column(
                        ColumnDef::new(Accounts::SubprocessorsNotifiedVersion)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(Accounts::Table)
                    .col(Accounts::SubprocessorsNotifiedVersion)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(INDEX).table(Accounts::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Accounts::Table)
                    .drop_column(Accounts::SubprocessorsNotifiedVersion)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(SubprocessorVersions::Table).to_owned())
            .await
    }
}

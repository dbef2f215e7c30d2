//! The consent ledger: one append-only row per consent given or withdrawn, objection, and
//! restriction set or lifted, with the policy version in force, the source and the time.
//! The current state is computed from the rows (`icecone_core::consent::ledger`); rows are
//! never updated. No personal value is stored: the account is a pseudonymous id.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum ConsentLedger {
    Table,
    Seq,
    AccountId,
    Kind,
    Purpose,
    Granted,
    PolicyVersion,
    Source,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ConsentLedger::Table)
                    .col(
                        ColumnDef::new(ConsentLedger::Seq)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(ConsentLedger::AccountId).uuid().not_null())
                    .col(
                        ColumnDef::new(ConsentLedger::Kind)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(ColumnDef::new(ConsentLedger::Purpose).string_len(24))
                    .col(ColumnDef::new(ConsentLedger::Granted).boolean().not_null())
                    .col(
                        ColumnDef::new(ConsentLedger::PolicyVersion)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ConsentLedger::Source)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ConsentLedger::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_consent_ledger_account")
                            .from(ConsentLedger::Table, ConsentLedger::AccountId)
                            .to(Accounts::Table, Accounts::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_consent_ledger_account")
                    .table(ConsentLedger::Table)
                    .col(ConsentLedger::AccountId)
                    .col(ConsentLedger::Seq)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ConsentLedger::Table).to_owned())
            .await
    }
}

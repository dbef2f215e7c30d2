//! The generation pipeline (issue #6):
//!
//! - `generations`: one row per generation — its account, kind (`TEXT`, `IMAGE`, `VIDEO`),
//!   status (`QUEUED`, `RUNNING`, `SUCCEEDED`, `FAILED`, `CANCELLED`, so that an
//!   asynchronous job can later be queued and filled in), the provider that took it and the
//!   provider's job id where it runs one, the prompt and the output — text, or media bytes
//!   (in their own column, so lists never load them) with their media type — sealed under
//!   the account's data key, an error code (never a
//!   provider's message or personal data), what it was metered at, and when it was created
//!   and completed. Indexed by account and creation time for the owner's newest-first list;
//!   by creation time alone for the retention purge.
//! - `usage_counters`: per account and period (`YYYY-MM`), the tokens, images and video
//!   seconds used — changed by one conditional statement each time.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Generations {
    Table,
    Id,
    AccountId,
    Kind,
    Status,
    Provider,
    ProviderJobId,
    PromptSealed,
    TextSealed,
    MediaSealed,
    MediaType,
    ErrorCode,
    Tokens,
    Images,
    VideoSeconds,
    CreatedAt,
    CompletedAt,
}

#[derive(DeriveIden)]
enum UsageCounters {
    Table,
    AccountId,
    Period,
    Tokens,
    Images,
    VideoSeconds,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Generations::Table)
                    .col(
                        ColumnDef::new(Generations::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Generations::AccountId).uuid().not_null())
                    .col(ColumnDef::new(Generations::Kind).string_len(8).not_null())
                    .col(
                        ColumnDef::new(Generations::Status)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Generations::Provider)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Generations::ProviderJobId).string_len(200))
                    .col(ColumnDef::new(Generations::PromptSealed).blob().not_null())
                    .col(ColumnDef::new(Generations::TextSealed).blob())
                    .col(ColumnDef::new(Generations::MediaSealed).blob())
                    .col(ColumnDef::new(Generations::MediaType).string_len(64))
                    .col(ColumnDef::new(Generations::ErrorCode).string_len(32))
                    .col(ColumnDef::new(Generations::Tokens).big_integer().not_null())
                    .col(ColumnDef::new(Generations::Images).big_integer().not_null())
                    .col(
                        ColumnDef::new(Generations::VideoSeconds)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Generations::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Generations::CompletedAt).timestamp_with_time_zone())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_generations_account")
                            .from(Generations::Table, Generations::AccountId)
                            .to(Accounts::Table, Accounts::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_generations_account_created")
                    .table(Generations::Table)
                    .col(Generations::AccountId)
                    .col(Generations::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_generations_created")
                    .table(Generations::Table)
                    .col(Generations::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(UsageCounters::Table)
                    .col(ColumnDef::new(UsageCounters::AccountId).uuid().not_null())
                    .col(
                        ColumnDef::new(UsageCounters::Period)
                            .string_len(7)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(UsageCounters::Tokens)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(UsageCounters::Images)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(UsageCounters::VideoSeconds)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(UsageCounters::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(UsageCounters::AccountId)
                            .col(UsageCounters::Period),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_usage_counters_account")
                            .from(UsageCounters::Table, UsageCounters::AccountId)
                            .to(Accounts::Table, Accounts::Id),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(UsageCounters::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Generations::Table).to_owned())
            .await
    }
}

//! Durable jobs (issue #7) and what asynchronous generations need:
//!
//! - `jobs`: one row per unit of background work — its kind (`video_generation`, later the
//!   data-rights workflows), the account it acts for and the subject it is about (such as a
//!   generation id), its state (`queued`, `running`, `succeeded`, `failed`, `cancelled`), the
//!   step its handler reached (handlers resume from it after a crash), attempts and the most
//!   allowed, when it may run next, the lease (owner and expiry) of the worker running it,
//!   its deadline, the code of its last error (never a message) and when it was created and
//!   last changed. Indexed by state and due time for claiming, by kind and subject for
//!   cancelling a subject's jobs.
//! - `generations.input_sealed`: the request parameters an asynchronous generation is
//!   submitted with later (such as the image URL of a video), sealed under the account's data
//!   key.
//! - `generations.remote_copy`: what became of the provider's copy of the output (`DELETED`,
//!   `NOTHING_KEPT`, `NOT_SUPPORTED`, `DELETE_FAILED`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Jobs {
    Table,
    Id,
    Kind,
    AccountId,
    Subject,
    State,
    Step,
    Attempts,
    MaxAttempts,
    RunAfter,
    LeaseOwner,
    LeaseExpiresAt,
    Deadline,
    LastErrorCode,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Generations {
    Table,
    InputSealed,
    RemoteCopy,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Jobs::Table)
                    .col(ColumnDef::new(Jobs::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Jobs::Kind).string_len(32).not_null())
                    .col(ColumnDef::new(Jobs::AccountId).uuid())
                    .col(ColumnDef::new(Jobs::Subject).string_len(64).not_null())
                    .col(ColumnDef::new(Jobs::State).string_len(16).not_null())
                    .col(ColumnDef::new(Jobs::Step).string_len(32).not_null())
                    .col(ColumnDef::new(Jobs::Attempts).integer().not_null())
                    .col(ColumnDef::new(Jobs::MaxAttempts).integer().not_null())
                    .col(
                        ColumnDef::new(Jobs::RunAfter)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Jobs::LeaseOwner).string_len(64))
                    .col(ColumnDef::new(Jobs::LeaseExpiresAt).timestamp_with_time_zone())
                    .col(ColumnDef::new(Jobs::Deadline).timestamp_with_time_zone())
                    .col(ColumnDef::new(Jobs::LastErrorCode).string_len(32))
                    .col(
                        ColumnDef::new(Jobs::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Jobs::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_jobs_state_run_after")
                    .table(Jobs::Table)
                    .col(Jobs::State)
                    .col(Jobs::RunAfter)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_jobs_kind_subject")
                    .table(Jobs::Table)
                    .col(Jobs::Kind)
                    .col(Jobs::Subject)
                    .to_owned(),
            )
            .await?;
        // SQLite alters one column per statement.
        manager
            .alter_table(
                Table::alter()
                    .table(Generations::Table)
                    .add_column(ColumnDef::new(Generations::InputSealed).blob())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Generations::Table)
                    .add_column(ColumnDef::new(Generations::RemoteCopy).string_len(16))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Generations::Table)
                    .drop_column(Generations::RemoteCopy)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Generations::Table)
                    .drop_column(Generations::InputSealed)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(Jobs::Table).to_owned())
            .await
    }
}

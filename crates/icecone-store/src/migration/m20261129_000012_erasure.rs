//! Erasure (GDPR Art. 17) and what holds it back:
//!
//! - `account_deletions`: a person's request to delete their account — when it was made,
//!   when it runs (`runs_at` = requested + the grace period), when it was cancelled, its
//!   state (`pending`, `held`, `running`, `cancelled`) and the job that runs it. `open_account`
//!   is the account while the request is open and NULL once it is cancelled: its unique index
//!   makes "one open request per account" one conditional insert on both databases. Its id is
//!   the id the person is shown and becomes the tombstone's id. The row is deleted with the
//!   account's other rows when the erasure runs.
//! - `legal_holds`: a hold on an account's erasure set by DPO staff on an Art. 17(3) ground,
//!   with a note sealed under the person's key, who set it and when, and its release.
//! - `erasure_tombstones`: all that is left of an erased account — a pseudonymous id (the
//!   deletion request's random id, linked to nothing else once the erasure ran), when the
//!   erasure was requested and when it ran.
//! - `erasure_followups`: a provider's copy of an erased person's output that could not be
//!   deleted (after the retries): the tombstone, the provider, the provider's reference of
//!   the job, the error code, for DPO staff to follow up with the provider.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum AccountDeletions {
    Table,
    Id,
    AccountId,
    OpenAccount,
    State,
    RequestedAt,
    RunsAt,
    CancelledAt,
    JobId,
}

#[derive(DeriveIden)]
enum LegalHolds {
    Table,
    Id,
    AccountId,
    Ground,
    NoteSealed,
    SetBy,
    SetAt,
    ReleasedAt,
    ReleasedBy,
}

#[derive(DeriveIden)]
enum ErasureTombstones {
    Table,
    Id,
    RequestedAt,
    ErasedAt,
}

#[derive(DeriveIden)]
enum ErasureFollowups {
    Table,
    Id,
    TombstoneId,
    Provider,
    RemoteRef,
    ErrorCode,
    RecordedAt,
    ResolvedAt,
}

fn timestamp<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

fn optional_timestamp<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).timestamp_with_time_zone().to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AccountDeletions::Table)
                    .col(
                        ColumnDef::new(AccountDeletions::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(AccountDeletions::AccountId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AccountDeletions::OpenAccount)
                            .uuid()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new(AccountDeletions::State)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(timestamp(AccountDeletions::RequestedAt))
                    .col(timestamp(AccountDeletions::RunsAt))
                    .col(optional_timestamp(AccountDeletions::CancelledAt))
                    .col(ColumnDef::new(AccountDeletions::JobId).uuid())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_account_deletions_account")
                            .from(AccountDeletions::Table, AccountDeletions::AccountId)
                            .to(Accounts::Table, Accounts::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_account_deletions_account")
                    .table(AccountDeletions::Table)
                    .col(AccountDeletions::AccountId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(LegalHolds::Table)
                    .col(
                        ColumnDef::new(LegalHolds::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(LegalHolds::AccountId).uuid().not_null())
                    .col(ColumnDef::new(LegalHolds::Ground).string_len(32).not_null())
                    .col(ColumnDef::new(LegalHolds::NoteSealed).blob().not_null())
                    .col(ColumnDef::new(LegalHolds::SetBy).uuid().not_null())
                    .col(timestamp(LegalHolds::SetAt))
                    .col(optional_timestamp(LegalHolds::ReleasedAt))
                    .col(ColumnDef::new(LegalHolds::ReleasedBy).uuid())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_legal_holds_account")
                            .from(LegalHolds::Table, LegalHolds::AccountId)
                            .to(Accounts::Table, Accounts::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_legal_holds_account")
                    .table(LegalHolds::Table)
                    .col(LegalHolds::AccountId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ErasureTombstones::Table)
                    .col(
                        ColumnDef::new(ErasureTombstones::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(timestamp(ErasureTombstones::RequestedAt))
                    .col(timestamp(ErasureTombstones::ErasedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ErasureFollowups::Table)
                    .col(
                        ColumnDef::new(ErasureFollowups::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(ErasureFollowups::TombstoneId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ErasureFollowups::Provider)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ErasureFollowups::RemoteRef)
                            .string_len(200)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ErasureFollowups::ErrorCode)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(timestamp(ErasureFollowups::RecordedAt))
                    .col(optional_timestamp(ErasureFollowups::ResolvedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_erasure_followups_remote")
                    .table(ErasureFollowups::Table)
                    .col(ErasureFollowups::TombstoneId)
                    .col(ErasureFollowups::Provider)
                    .col(ErasureFollowups::RemoteRef)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ErasureFollowups::Table.into_iden(),
            ErasureTombstones::Table.into_iden(),
            LegalHolds::Table.into_iden(),
            AccountDeletions::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

//! Data subject rights (issue #8, access, export, restriction, objection and tracking):
//!
//! - `data_requests`: one row per request a person made — its account, kind (`ACCESS`,
//!   `EXPORT`, `RECTIFICATION`, `ERASURE`, `RESTRICTION`, `OBJECTION`), status (`RECEIVED`,
//!   `IN_PROGRESS`, `COMPLETED`, `EXTENDED`, `DENIED`, `CANCELLED`), when it was received and
//!   is due (GDPR Art. 12(3)), the extended due date and the extension's reason (sealed under
//!   the account's data key: it is told to the person), when it was completed, and for an
//!   export the SHA-256 digest of its download token (never the token), when the link expires
//!   and when it was used. Indexed by account (the person's list), by status and due date
//!   (DPO's queue), and uniquely by download digest.
//! - `data_exports`: the export bundle (a ZIP) of a completed `EXPORT` request, sealed under
//!   the account's data key, in its own table so that lists never load it, with when it
//!   expires (the purge deletes it then).
//! - `data_request_events`: each request's history — when, from which status to which, who
//!   (`subject`, `staff:<uuid>`, `system`) and a note code (never free text).
//! - `privacy_tickets`: messages to the data protection officer — the account when signed in,
//!   the reply address (sealed), its blind index (for rate limiting), the subject and the
//!   message (sealed), when it arrived and its status. Sealed under the account's data key
//!   when signed in, else under the system key.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum DataRequests {
    Table,
    Id,
    AccountId,
    Kind,
    Status,
    ReceivedAt,
    DueAt,
    ExtendedDueAt,
    ExtensionReasonSealed,
    CompletedAt,
    DownloadDigest,
    DownloadExpiresAt,
    DownloadUsedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum DataExports {
    Table,
    RequestId,
    AccountId,
    Sealed,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum DataRequestEvents {
    Table,
    Id,
    RequestId,
    At,
    FromStatus,
    ToStatus,
    Actor,
    NoteCode,
}

#[derive(DeriveIden)]
enum PrivacyTickets {
    Table,
    Id,
    AccountId,
    EmailSealed,
    EmailIndex,
    SubjectSealed,
    MessageSealed,
    ReceivedAt,
    Status,
}

fn at(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(DataRequests::Table)
                    .col(
                        ColumnDef::new(DataRequests::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(DataRequests::AccountId).uuid().not_null())
                    .col(ColumnDef::new(DataRequests::Kind).string_len(16).not_null())
                    .col(
                        ColumnDef::new(DataRequests::Status)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(at(DataRequests::ReceivedAt))
                    .col(at(DataRequests::DueAt))
                    .col(ColumnDef::new(DataRequests::ExtendedDueAt).timestamp_with_time_zone())
                    .col(ColumnDef::new(DataRequests::ExtensionReasonSealed).blob())
                    .col(ColumnDef::new(DataRequests::CompletedAt).timestamp_with_time_zone())
                    .col(ColumnDef::new(DataRequests::DownloadDigest).blob())
                    .col(ColumnDef::new(DataRequests::DownloadExpiresAt).timestamp_with_time_zone())
                    .col(ColumnDef::new(DataRequests::DownloadUsedAt).timestamp_with_time_zone())
                    .col(at(DataRequests::CreatedAt))
                    .col(at(DataRequests::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_data_requests_account")
                    .table(DataRequests::Table)
                    .col(DataRequests::AccountId)
                    .col(DataRequests::ReceivedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_data_requests_status_due")
                    .table(DataRequests::Table)
                    .col(DataRequests::Status)
                    .col(DataRequests::DueAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_data_requests_download")
                    .table(DataRequests::Table)
                    .col(DataRequests::DownloadDigest)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(DataExports::Table)
                    .col(
                        ColumnDef::new(DataExports::RequestId)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(DataExports::AccountId).uuid().not_null())
                    .col(ColumnDef::new(DataExports::Sealed).blob().not_null())
                    .col(at(DataExports::CreatedAt))
                    .col(at(DataExports::ExpiresAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_data_exports_request")
                            .from(DataExports::Table, DataExports::RequestId)
                            .to(DataRequests::Table, DataRequests::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_data_exports_expires")
                    .table(DataExports::Table)
                    .col(DataExports::ExpiresAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(DataRequestEvents::Table)
                    .col(
                        ColumnDef::new(DataRequestEvents::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(DataRequestEvents::RequestId)
                            .uuid()
                            .not_null(),
                    )
                    .col(at(DataRequestEvents::At))
                    .col(ColumnDef::new(DataRequestEvents::FromStatus).string_len(16))
                    .col(
                        ColumnDef::new(DataRequestEvents::ToStatus)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(DataRequestEvents::Actor)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(ColumnDef::new(DataRequestEvents::NoteCode).string_len(32))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_data_request_events_request")
                            .from(DataRequestEvents::Table, DataRequestEvents::RequestId)
                            .to(DataRequests::Table, DataRequests::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_data_request_events_request")
                    .table(DataRequestEvents::Table)
                    .col(DataRequestEvents::RequestId)
                    .col(DataRequestEvents::At)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PrivacyTickets::Table)
                    .col(
                        ColumnDef::new(PrivacyTickets::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(PrivacyTickets::AccountId).uuid())
                    .col(ColumnDef::new(PrivacyTickets::EmailSealed).blob())
                    .col(ColumnDef::new(PrivacyTickets::EmailIndex).blob())
                    .col(
                        ColumnDef::new(PrivacyTickets::SubjectSealed)
                            .blob()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(PrivacyTickets::MessageSealed)
                            .blob()
                            .not_null(),
                    )
                    .col(at(PrivacyTickets::ReceivedAt))
                    .col(
                        ColumnDef::new(PrivacyTickets::Status)
                            .string_len(16)
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_privacy_tickets_received")
                    .table(PrivacyTickets::Table)
                    .col(PrivacyTickets::ReceivedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            PrivacyTickets::Table.into_iden(),
            DataRequestEvents::Table.into_iden(),
            DataExports::Table.into_iden(),
            DataRequests::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

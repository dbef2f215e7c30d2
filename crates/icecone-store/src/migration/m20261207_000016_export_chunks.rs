//! Export bundles stored in chunks (issue #16): a person with gigabytes of media gets an
//! export built and downloaded without the gateway holding it whole.
//!
//! - `data_export_chunks`: the ZIP of an export request in pieces of about a mebibyte, each
//!   sealed on its own under the person's data key and bound to its request and position
//!   (the last one marked as last, so that a bundle cut short does not open): the request,
//!   its position from 0, the account (erasure finds the rows by it) and the ciphertext.
//!   Keyed by request and position; indexed by account.
//! - `data_exports.chunks`: how many chunks the request's bundle has. `NULL` for a bundle
//!   stored whole in `data_exports.sealed` (those made before this migration); a chunked
//!   bundle leaves `sealed` empty.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum DataRequests {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum DataExports {
    Table,
    Chunks,
}

#[derive(DeriveIden)]
enum DataExportChunks {
    Table,
    RequestId,
    Seq,
    AccountId,
    Sealed,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(DataExportChunks::Table)
                    .col(
                        ColumnDef::new(DataExportChunks::RequestId)
                            .uuid()
                            .not_null(),
                    )
                    .col(ColumnDef::new(DataExportChunks::Seq).integer().not_null())
                    .col(
                        ColumnDef::new(DataExportChunks::AccountId)
                            .uuid()
                            .not_null(),
                    )
                    .col(ColumnDef::new(DataExportChunks::Sealed).blob().not_null())
                    .primary_key(
                        Index::create()
                            .col(DataExportChunks::RequestId)
                            .col(DataExportChunks::Seq),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_data_export_chunks_request")
                            .from(DataExportChunks::Table, DataExportChunks::RequestId)
                            .to(DataRequests::Table, DataRequests::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_data_export_chunks_account")
                    .table(DataExportChunks::Table)
                    .col(DataExportChunks::AccountId)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(DataExports::Table)
                    .add_column(ColumnDef::new(DataExports::Chunks).integer())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(DataExports::Table)
                    .drop_column(DataExports::Chunks)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(DataExportChunks::Table).to_owned())
            .await
    }
}

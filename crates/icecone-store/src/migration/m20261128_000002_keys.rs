//! `data_keys`: each data subject's data-encryption key, wrapped by a root key version;
//! `system_keys`: the system key for non-personal secrets, wrapped the same way.
//!
//! Neither table holds a key in clear. Destroying a subject's key (crypto-shredding) clears
//! `wrapped_key` and sets `destroyed_at`.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum DataKeys {
    Table,
    SubjectId,
    KekVersion,
    WrappedKey,
    CreatedAt,
    RewrappedAt,
    DestroyedAt,
}

#[derive(DeriveIden)]
enum SystemKeys {
    Table,
    Name,
    KekVersion,
    WrappedKey,
    CreatedAt,
    RewrappedAt,
}

#[derive(DeriveIden)]
enum DataSubjects {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(DataKeys::Table)
                    .col(
                        ColumnDef::new(DataKeys::SubjectId)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(DataKeys::KekVersion).integer().not_null())
                    .col(ColumnDef::new(DataKeys::WrappedKey).blob())
                    .col(
                        ColumnDef::new(DataKeys::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(DataKeys::RewrappedAt).timestamp_with_time_zone())
                    .col(ColumnDef::new(DataKeys::DestroyedAt).timestamp_with_time_zone())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_data_keys_subject")
                            .from(DataKeys::Table, DataKeys::SubjectId)
                            .to(DataSubjects::Table, DataSubjects::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_data_keys_kek_version")
                    .table(DataKeys::Table)
                    .col(DataKeys::KekVersion)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SystemKeys::Table)
                    .col(
                        ColumnDef::new(SystemKeys::Name)
                            .string_len(64)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(SystemKeys::KekVersion).integer().not_null())
                    .col(ColumnDef::new(SystemKeys::WrappedKey).blob().not_null())
                    .col(
                        ColumnDef::new(SystemKeys::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(SystemKeys::RewrappedAt).timestamp_with_time_zone())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SystemKeys::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(DataKeys::Table).to_owned())
            .await
    }
}

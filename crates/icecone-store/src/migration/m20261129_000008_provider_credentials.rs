//! Provider API keys set through `setProviderCredential`: one row per provider, the key
//! sealed with the system key (bound to its row), its fingerprint, who set it and when.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum ProviderCredentials {
    Table,
    Provider,
    KeySealed,
    Fingerprint,
    SetBy,
    SetAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ProviderCredentials::Table)
                    .col(
                        ColumnDef::new(ProviderCredentials::Provider)
                            .string_len(32)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(ProviderCredentials::KeySealed)
                            .binary()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ProviderCredentials::Fingerprint)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(ColumnDef::new(ProviderCredentials::SetBy).uuid().not_null())
                    .col(
                        ColumnDef::new(ProviderCredentials::SetAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ProviderCredentials::Table).to_owned())
            .await
    }
}

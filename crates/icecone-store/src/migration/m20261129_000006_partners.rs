//! Partners and the grants people give them.
//!
//! - `partners`: organisations that read people's data through the API (a name, no
//!   personal data).
//! - `partner_keys`: their API keys, stored only as SHA-256 digests (the key itself is shown
//!   once, when issued), with the scopes the key carries, a display hint and when it was
//!   revoked.
//! - `partner_grants`: a person's grant of some scopes to one partner; revoking sets
//!   `revoked_at`, so the history stays for the person's export. The account is a
//!   pseudonymous id.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Partners {
    Table,
    Id,
    Name,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PartnerKeys {
    Table,
    Id,
    PartnerId,
    KeyDigest,
    Hint,
    Scopes,
    CreatedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum PartnerGrants {
    Table,
    Id,
    AccountId,
    PartnerId,
    Scopes,
    GrantedAt,
    RevokedAt,
}

fn created_at<T: IntoIden>(column: T) -> ColumnDef {
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
                    .table(Partners::Table)
                    .col(ColumnDef::new(Partners::Id).uuid().not_null().primary_key())
                    .col(
                        ColumnDef::new(Partners::Name)
                            .string_len(100)
                            .not_null()
                            .unique_key(),
                    )
                    .col(created_at(Partners::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PartnerKeys::Table)
                    .col(
                        ColumnDef::new(PartnerKeys::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(PartnerKeys::PartnerId).uuid().not_null())
                    .col(
                        ColumnDef::new(PartnerKeys::KeyDigest)
                            .binary_len(32)
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(PartnerKeys::Hint).string_len(16).not_null())
                    .col(
                        ColumnDef::new(PartnerKeys::Scopes)
                            .string_len(200)
                            .not_null(),
                    )
                    .col(created_at(PartnerKeys::CreatedAt))
                    .col(ColumnDef::new(PartnerKeys::RevokedAt).timestamp_with_time_zone())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_partner_keys_partner")
                            .from(PartnerKeys::Table, PartnerKeys::PartnerId)
                            .to(Partners::Table, Partners::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PartnerGrants::Table)
                    .col(
                        ColumnDef::new(PartnerGrants::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(PartnerGrants::AccountId).uuid().not_null())
                    .col(ColumnDef::new(PartnerGrants::PartnerId).uuid().not_null())
                    .col(
                        ColumnDef::new(PartnerGrants::Scopes)
                            .string_len(200)
                            .not_null(),
                    )
                    .col(created_at(PartnerGrants::GrantedAt))
                    .col(ColumnDef::new(PartnerGrants::RevokedAt).timestamp_with_time_zone())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_partner_grants_account")
                            .from(PartnerGrants::Table, PartnerGrants::AccountId)
                            .to(Accounts::Table, Accounts::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_partner_grants_partner")
                            .from(PartnerGrants::Table, PartnerGrants::PartnerId)
                            .to(Partners::Table, Partners::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_partner_grants_account_partner")
                    .table(PartnerGrants::Table)
                    .col(PartnerGrants::AccountId)
                    .col(PartnerGrants::PartnerId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            PartnerGrants::Table.into_iden(),
            PartnerKeys::Table.into_iden(),
            Partners::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

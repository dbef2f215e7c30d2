//! E-mail verification: an account's address becomes its sign-in name only once the person
//! proves they read its mailbox.
//!
//! - `accounts.email_verified_at`: when the address in `email_sealed` was verified. Accounts
//!   created before this migration were made by operators (`icecone staff create`) or by
//!   tests, never by self-service sign-up, so they count as verified from their creation.
//! - `email_verifications`: one row per verification link sent — the link's token as a
//!   SHA-256 digest only, the address being verified (sealed under the account's data key)
//!   and its blind index, the expiry and when it was used.
//! - `notification_outbox.payload_sealed`: what a notification carries beyond its kind (a
//!   verification link's token), sealed under the recipient's data key.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
    CreatedAt,
    EmailVerifiedAt,
}

#[derive(DeriveIden)]
enum EmailVerifications {
    Table,
    TokenDigest,
    AccountId,
    EmailSealed,
    EmailIndex,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum NotificationOutbox {
    Table,
    PayloadSealed,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Accounts::Table)
                    .add_column(
                        ColumnDef::new(Accounts::EmailVerifiedAt).timestamp_with_time_zone(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::update()
                    .table(Accounts::Table)
                    .value(Accounts::EmailVerifiedAt, Expr::col(Accounts::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(NotificationOutbox::Table)
                    .add_column(ColumnDef::new(NotificationOutbox::PayloadSealed).blob())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(EmailVerifications::Table)
                    .col(
                        ColumnDef::new(EmailVerifications::TokenDigest)
                            .binary_len(32)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(EmailVerifications::AccountId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(EmailVerifications::EmailSealed)
                            .blob()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(EmailVerifications::EmailIndex)
                            .binary_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(EmailVerifications::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(EmailVerifications::ExpiresAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(EmailVerifications::UsedAt).timestamp_with_time_zone())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_email_verifications_account")
                            .from(EmailVerifications::Table, EmailVerifications::AccountId)
                            .to(Accounts::Table, Accounts::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_email_verifications_account")
                    .table(EmailVerifications::Table)
                    .col(EmailVerifications::AccountId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(EmailVerifications::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(NotificationOutbox::Table)
                    .drop_column(NotificationOutbox::PayloadSealed)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Accounts::Table)
                    .drop_column(Accounts::EmailVerifiedAt)
                    .to_owned(),
            )
            .await
    }
}

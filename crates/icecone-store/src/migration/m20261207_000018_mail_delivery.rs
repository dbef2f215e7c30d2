//! E-mail delivery with retries and a suppression list.
//!
//! - `notification_outbox.attempts`: how many times delivery was tried (a claim counts as
//!   one; a claim is a compare-and-set on this number).
//! - `notification_outbox.next_attempt_at`: when the notification is next due (`NULL`:
//!   now). A claim moves it a lease ahead, so a notification whose deliverer crashed is due
//!   again once the lease runs out; a temporary failure moves it by the backoff.
//! - `notification_outbox.given_up_at`: when delivery was given up (a permanent refusal,
//!   attempts exhausted, a suppressed address, or nobody to deliver to any more).
//! - `mail_suppressions`: addresses that mail servers refused permanently, keyed by the
//!   blind index of the address (never the address), with the account whose mail was
//!   refused, the server's reply code and when. Mail to a suppressed address is not tried.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum NotificationOutbox {
    Table,
    Attempts,
    NextAttemptAt,
    GivenUpAt,
}

#[derive(DeriveIden)]
enum MailSuppressions {
    Table,
    EmailIndex,
    AccountId,
    ReplyCode,
    SuppressedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters a table one column at a time.
        for column in [
            ColumnDef::new(NotificationOutbox::Attempts)
                .integer()
                .not_null()
                .default(0)
                .to_owned(),
            ColumnDef::new(NotificationOutbox::NextAttemptAt)
                .timestamp_with_time_zone()
                .to_owned(),
            ColumnDef::new(NotificationOutbox::GivenUpAt)
                .timestamp_with_time_zone()
                .to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(NotificationOutbox::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(MailSuppressions::Table)
                    .col(
                        ColumnDef::new(MailSuppressions::EmailIndex)
                            .binary_len(32)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(MailSuppressions::AccountId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(MailSuppressions::ReplyCode)
                            .integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(MailSuppressions::SuppressedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_mail_suppressions_account")
                            .from(MailSuppressions::Table, MailSuppressions::AccountId)
                            .to(Accounts::Table, Accounts::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_mail_suppressions_account")
                    .table(MailSuppressions::Table)
                    .col(MailSuppressions::AccountId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(MailSuppressions::Table).to_owned())
            .await?;
        for column in [
            NotificationOutbox::GivenUpAt,
            NotificationOutbox::NextAttemptAt,
            NotificationOutbox::Attempts,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(NotificationOutbox::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

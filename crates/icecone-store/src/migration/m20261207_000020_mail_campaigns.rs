//! Mail campaigns: product news and service announcements written by ADMIN.
//!
//! - `mail_campaigns`: the campaign's id (derived from its kind, subject and text, so the
//!   same campaign sent again is the same row), its kind (`product_news`,
//!   `service_announcement`), subject and text as ADMIN wrote them (not personal data), the
//!   staff account that sent it first (a bare id, no foreign key: erasing a staff account
//!   leaves the campaign) and when.
//! - `notification_outbox.campaign_id`: the campaign a queued message belongs to (`NULL`
//!   for every other notification), unique with the account: an account is queued once per
//!   campaign however often, and however concurrently, the campaign is sent.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum MailCampaigns {
    Table,
    Id,
    Kind,
    Subject,
    Body,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum NotificationOutbox {
    Table,
    CampaignId,
    AccountId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(MailCampaigns::Table)
                    .col(
                        ColumnDef::new(MailCampaigns::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(MailCampaigns::Kind)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(ColumnDef::new(MailCampaigns::Subject).text().not_null())
                    .col(ColumnDef::new(MailCampaigns::Body).text().not_null())
                    .col(ColumnDef::new(MailCampaigns::CreatedBy).uuid().not_null())
                    .col(
                        ColumnDef::new(MailCampaigns::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(NotificationOutbox::Table)
                    .add_column(ColumnDef::new(NotificationOutbox::CampaignId).uuid())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_notification_outbox_campaign_account")
                    .table(NotificationOutbox::Table)
                    .col(NotificationOutbox::CampaignId)
                    .col(NotificationOutbox::AccountId)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("uq_notification_outbox_campaign_account")
                    .table(NotificationOutbox::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(NotificationOutbox::Table)
                    .drop_column(NotificationOutbox::CampaignId)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(MailCampaigns::Table).to_owned())
            .await
    }
}

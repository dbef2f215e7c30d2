//! Disclosures required by law.
//!
//! - `legal_disclosures`: an authority's request as the DPO recorded it — the authority's
//!   name, the legal basis, the authority's reference, the reason of a refusal and the
//!   reference of a confidentiality order sealed under the system key (free text that may
//!   name people); the authority's type, the categories of data asked for, the status and
//!   the order's end in clear (what the transparency report and the notice task read);
//!   who recorded and who decided (bare staff ids) and when; and when the people concerned
//!   were told (`notice_queued_at`, set by compare-and-set with their notices queued).
//! - `legal_disclosure_accounts`: the accounts a request concerns (bare ids, no foreign
//!   key to `accounts`: the link is kept, pseudonymised, when the account is erased).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum LegalDisclosures {
    Table,
    Id,
    AuthorityNameSealed,
    AuthorityType,
    LegalBasisSealed,
    ReferenceSealed,
    Categories,
    ConfidentialUntil,
    ConfidentialityReferenceSealed,
    Status,
    RecordedBy,
    RecordedAt,
    DecidedBy,
    DecidedAt,
    RefusalReasonSealed,
    NoticeQueuedAt,
}

#[derive(DeriveIden)]
enum LegalDisclosureAccounts {
    Table,
    DisclosureId,
    AccountId,
}

const STATUS_INDEX: &str = "idx_legal_disclosures_status_decided";
const ACCOUNT_INDEX: &str = "idx_legal_disclosure_accounts_account";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use LegalDisclosures as D;
        manager
            .create_table(
                Table::create()
                    .table(D::Table)
                    .col(ColumnDef::new(D::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(D::AuthorityNameSealed).blob().not_null())
                    .col(ColumnDef::new(D::AuthorityType).string_len(16).not_null())
                    .col(ColumnDef::new(D::LegalBasisSealed).blob().not_null())
                    .col(ColumnDef::new(D::ReferenceSealed).blob().not_null())
                    .col(ColumnDef::new(D::Categories).string_len(255).not_null())
                    .col(ColumnDef::new(D::ConfidentialUntil).timestamp_with_time_zone())
                    .col(ColumnDef::new(D::ConfidentialityReferenceSealed).blob())
                    .col(ColumnDef::new(D::Status).string_len(16).not_null())
                    .col(ColumnDef::new(D::RecordedBy).uuid().not_null())
                    .col(
                        ColumnDef::new(D::RecordedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(D::DecidedBy).uuid())
                    .col(ColumnDef::new(D::DecidedAt).timestamp_with_time_zone())
                    .col(ColumnDef::new(D::RefusalReasonSealed).blob())
                    .col(ColumnDef::new(D::NoticeQueuedAt).timestamp_with_time_zone())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(STATUS_INDEX)
                    .table(D::Table)
                    .col(D::Status)
                    .col(D::DecidedAt)
                    .to_owned(),
            )
            .await?;
        use LegalDisclosureAccounts as A;
        manager
            .create_table(
                Table::create()
                    .table(A::Table)
                    .col(ColumnDef::new(A::DisclosureId).uuid().not_null())
                    .col(ColumnDef::new(A::AccountId).uuid().not_null())
                    .primary_key(Index::create().col(A::DisclosureId).col(A::AccountId))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_legal_disclosure_accounts_disclosure")
                            .from(A::Table, A::DisclosureId)
                            .to(D::Table, D::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(ACCOUNT_INDEX)
                    .table(A::Table)
                    .col(A::AccountId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(LegalDisclosureAccounts::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(LegalDisclosures::Table).to_owned())
            .await
    }
}

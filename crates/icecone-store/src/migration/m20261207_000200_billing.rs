//! Billing through Stripe.
//!
//! - `billing_customers`: one row per account that started a checkout — a random
//!   `billing_ref` (the only thing Stripe is told about the person: the customer's
//!   metadata and the Checkout Session's `client_reference_id`), the Stripe customer's id,
//!   and the subscription as last observed (id, status, end of the paid period, and the
//!   `created` time of the event that reported it, so that an older event never overwrites
//!   a newer state). No card number, name, e-mail or address.
//! - `billing_invoices`: the invoices Stripe reported (its id, amount in the currency's
//!   minor unit, currency, date, status), tied to the account until it is erased; then
//!   `account_id` is cleared and `held_since` set: kept under the statutory retention of
//!   accounting records (GDPR Art. 17(3)(b)) until the billing record retention ends.
//! - `billing_events`: the ids of the webhook events processed, recorded in the same
//!   transaction as their effect, so that an event is applied exactly once however often
//!   Stripe delivers it.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum BillingCustomers {
    Table,
    AccountId,
    BillingRef,
    CustomerId,
    SubscriptionId,
    Status,
    PeriodEnd,
    StateAsOf,
    CreatedAt,
}

#[derive(DeriveIden)]
enum BillingInvoices {
    Table,
    Id,
    AccountId,
    Amount,
    Currency,
    IssuedAt,
    Status,
    HeldSince,
}

#[derive(DeriveIden)]
enum BillingEvents {
    Table,
    Id,
    Kind,
    ProcessedAt,
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
}

const CUSTOMER_INDEX: &str = "idx_billing_customers_customer_id";
const INVOICE_ACCOUNT_INDEX: &str = "idx_billing_invoices_account_id";
const INVOICE_ISSUED_INDEX: &str = "idx_billing_invoices_issued_at";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(BillingCustomers::Table)
                    .col(
                        ColumnDef::new(BillingCustomers::AccountId)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(BillingCustomers::BillingRef)
                            .uuid()
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(BillingCustomers::CustomerId).string_len(255))
                    .col(ColumnDef::new(BillingCustomers::SubscriptionId).string_len(255))
                    .col(ColumnDef::new(BillingCustomers::Status).string_len(32))
                    .col(ColumnDef::new(BillingCustomers::PeriodEnd).timestamp_with_time_zone())
                    .col(ColumnDef::new(BillingCustomers::StateAsOf).timestamp_with_time_zone())
                    .col(
                        ColumnDef::new(BillingCustomers::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(BillingCustomers::Table, BillingCustomers::AccountId)
                            .to(Accounts::Table, Accounts::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(CUSTOMER_INDEX)
                    .table(BillingCustomers::Table)
                    .col(BillingCustomers::CustomerId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(BillingInvoices::Table)
                    .col(
                        ColumnDef::new(BillingInvoices::Id)
                            .string_len(255)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(BillingInvoices::AccountId).uuid())
                    .col(
                        ColumnDef::new(BillingInvoices::Amount)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(BillingInvoices::Currency)
                            .string_len(3)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(BillingInvoices::IssuedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(BillingInvoices::Status)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(ColumnDef::new(BillingInvoices::HeldSince).timestamp_with_time_zone())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(INVOICE_ACCOUNT_INDEX)
                    .table(BillingInvoices::Table)
                    .col(BillingInvoices::AccountId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(INVOICE_ISSUED_INDEX)
                    .table(BillingInvoices::Table)
                    .col(BillingInvoices::IssuedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(BillingEvents::Table)
                    .col(
                        ColumnDef::new(BillingEvents::Id)
                            .string_len(255)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(BillingEvents::Kind)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(BillingEvents::ProcessedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            BillingEvents::Table.into_iden(),
            BillingInvoices::Table.into_iden(),
            BillingCustomers::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

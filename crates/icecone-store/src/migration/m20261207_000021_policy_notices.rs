//! Policy-change notices: `accounts.policy_notified_version`, the privacy policy version
//! the account was last told about. Set at sign-up to the version the person accepted;
//! backfilled here to that same version (nobody has been told of a later one yet). The
//! policy-notice task advances it by compare-and-set in the transaction that queues the
//! notice, so each account is told of a version once, whichever instance runs the task.
//! Indexed, so that finding the accounts behind the current version reads only those.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Accounts {
    Table,
    PolicyVersion,
    PolicyNotifiedVersion,
}

const INDEX: &str = "idx_accounts_policy_notified_version";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Accounts::Table)
                    .add_column(
                        ColumnDef::new(Accounts::PolicyNotifiedVersion)
                            .string_len(32)
                            .not_null()
                            .default(""),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::update()
                    .table(Accounts::Table)
                    .value(
                        Accounts::PolicyNotifiedVersion,
                        Expr::col(Accounts::PolicyVersion),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(Accounts::Table)
                    .col(Accounts::PolicyNotifiedVersion)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(INDEX).table(Accounts::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Accounts::Table)
                    .drop_column(Accounts::PolicyNotifiedVersion)
                    .to_owned(),
            )
            .await
    }
}

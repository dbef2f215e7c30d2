//! Prompt minimisation: `accounts.minimize_prompts`, whether a person's prompts are
//! minimised unless a request says otherwise (every account starts with it on), and
//! `generations.redactions`, what minimisation withheld from a generation's provider — per
//! kind how many values, as `EMAIL:2,PHONE:1`, never a value; empty when nothing was
//! found, `NULL` when the prompt was sent as written (minimisation off, or the in-process
//! provider) or the generation predates minimisation.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Accounts {
    Table,
    MinimizePrompts,
}

#[derive(DeriveIden)]
enum Generations {
    Table,
    Redactions,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Accounts::Table)
                    .add_column(
                        ColumnDef::new(Accounts::MinimizePrompts)
                            .boolean()
                            .not_null()
                            .default(true),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Generations::Table)
                    .add_column(ColumnDef::new(Generations::Redactions).string_len(256))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Generations::Table)
                    .drop_column(Generations::Redactions)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Accounts::Table)
                    .drop_column(Accounts::MinimizePrompts)
                    .to_owned(),
            )
            .await
    }
}

//! `accounts.history_version`: a counter of changes to a person's generation history, bumped
//! by a trigger in the same statement as every insert into `generations`, every delete from
//! it (a person's deletion, the erasure, the retention purge) and every change of a
//! generation's kind, provider or sealed prompt — whichever code path or gateway instance
//! makes it. The personalization profile derived from the history is cached per account
//! and served only while the account row read with it shows the same version.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Accounts {
    Table,
    HistoryVersion,
}

const SQLITE_TRIGGERS: &[&str] = &[
    "CREATE TRIGGER generations_history_insert AFTER INSERT ON generations \
     BEGIN UPDATE accounts SET history_version = history_version + 1 WHERE id = NEW.account_id; END",
    "CREATE TRIGGER generations_history_delete AFTER DELETE ON generations \
     BEGIN UPDATE accounts SET history_version = history_version + 1 WHERE id = OLD.account_id; END",
    "CREATE TRIGGER generations_history_update AFTER UPDATE OF kind, provider, prompt_sealed, account_id ON generations \
     BEGIN UPDATE accounts SET history_version = history_version + 1 WHERE id IN (OLD.account_id, NEW.account_id); END",
];

const POSTGRES_TRIGGERS: &[&str] = &[
    "CREATE FUNCTION generations_history_version() RETURNS trigger LANGUAGE plpgsql AS $$ \
     BEGIN \
       IF TG_OP IN ('INSERT', 'UPDATE') THEN \
         UPDATE accounts SET history_version = history_version + 1 WHERE id = NEW.account_id; \
       END IF; \
       IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND OLD.account_id <> NEW.account_id) THEN \
         UPDATE accounts SET history_version = history_version + 1 WHERE id = OLD.account_id; \
       END IF; \
       RETURN NULL; \
     END $$",
    "CREATE TRIGGER generations_history_version \
     AFTER INSERT OR DELETE OR UPDATE OF kind, provider, prompt_sealed, account_id ON generations \
     FOR EACH ROW EXECUTE FUNCTION generations_history_version()",
];

const SQLITE_DROP: &[&str] = &[
    "DROP TRIGGER IF EXISTS generations_history_insert",
    "DROP TRIGGER IF EXISTS generations_history_delete",
    "DROP TRIGGER IF EXISTS generations_history_update",
];

const POSTGRES_DROP: &[&str] = &[
    "DROP TRIGGER IF EXISTS generations_history_version ON generations",
    "DROP FUNCTION IF EXISTS generations_history_version()",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Accounts::Table)
                    .add_column(
                        ColumnDef::new(Accounts::HistoryVersion)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .to_owned(),
            )
            .await?;
        let statements = match manager.get_database_backend() {
            DbBackend::Sqlite => SQLITE_TRIGGERS,
            _ => POSTGRES_TRIGGERS,
        };
        for statement in statements {
            manager
                .get_connection()
                .execute_unprepared(statement)
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let statements = match manager.get_database_backend() {
            DbBackend::Sqlite => SQLITE_DROP,
            _ => POSTGRES_DROP,
        };
        for statement in statements {
            manager
                .get_connection()
                .execute_unprepared(statement)
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Accounts::Table)
                    .drop_column(Accounts::HistoryVersion)
                    .to_owned(),
            )
            .await
    }
}

//! `generations` keyed by account (issue #8): the primary key becomes `(account_id, id)` and
//! the index on `created_at` alone goes.
//!
//! Every read and write of a generation names its account, so nothing needs the id alone.
//! With the key on the random id, and the retention purge's index on the creation time of
//! everyone's generations, a person's entries in both indexes lay between everyone else's:
//! deleting a person's 10,000 generations rewrote about one index page per generation per
//! index, and the more other rows, the more pages (measured by `benches/rights.rs` of the
//! gateway, `docs/performance.md`). Keyed by account, a person's entries are next to each
//! other in every index of the table, so an erasure rewrites pages in proportion to the
//! person's own generations. The retention purge walks the accounts instead
//! (`Store::purge_generations_before`), through `idx_generations_account_created`.
//!
//! A generation id is unique within its account by the key; ids are random version 4
//! UUIDs made by the gateway, so two accounts do not share one in practice, and no lookup
//! would mix them up if they did.
//!
//! SQLite cannot change a table's primary key, so there the table is rebuilt (the whole
//! migration is one transaction); PostgreSQL changes the constraint in place.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Generations {
    Table,
    Id,
    AccountId,
    Kind,
    Status,
    Provider,
    ProviderJobId,
    PromptSealed,
    TextSealed,
    MediaSealed,
    MediaType,
    ErrorCode,
    Tokens,
    Images,
    VideoSeconds,
    CreatedAt,
    CompletedAt,
    InputSealed,
    RemoteCopy,
}

/// Every column of the table.
const COLUMNS: &str = "id, account_id, kind, status, provider, provider_job_id, prompt_sealed, \
    text_sealed, media_sealed, media_type, error_code, tokens, images, video_seconds, \
    created_at, completed_at, input_sealed, remote_copy";

/// The table being rebuilt on SQLite, renamed to `generations` once filled.
const REBUILT: &str = "generations_rebuilt";

/// The index the purge of migration 7 used.
const CREATED_INDEX: &str = "idx_generations_created";

/// The owner's newest-first list (migration 7), rebuilt with the table on SQLite.
const ACCOUNT_CREATED_INDEX: &str = "idx_generations_account_created";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// SQLite's rebuild drops the old table: it must not stop half way.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        match manager.get_database_backend() {
            DbBackend::Sqlite => {
                rebuild_on_sqlite(manager, PrimaryKey::AccountAndId).await?;
                create_account_created_index(manager).await
            }
            _ => {
                set_primary_key_in_place(manager, PrimaryKey::AccountAndId).await?;
                manager
                    .drop_index(
                        Index::drop()
                            .name(CREATED_INDEX)
                            .table(Generations::Table)
                            .to_owned(),
                    )
                    .await
            }
        }
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        match manager.get_database_backend() {
            DbBackend::Sqlite => {
                rebuild_on_sqlite(manager, PrimaryKey::Id).await?;
                create_account_created_index(manager).await?;
            }
            _ => set_primary_key_in_place(manager, PrimaryKey::Id).await?,
        }
        manager
            .create_index(
                Index::create()
                    .name(CREATED_INDEX)
                    .table(Generations::Table)
                    .col(Generations::CreatedAt)
                    .to_owned(),
            )
            .await
    }
}

/// The primary key of `generations`: after this migration, or before it.
#[derive(Clone, Copy)]
enum PrimaryKey {
    AccountAndId,
    Id,
}

impl PrimaryKey {
    fn columns(self) -> &'static [Generations] {
        match self {
            Self::AccountAndId => &[Generations::AccountId, Generations::Id],
            Self::Id => &[Generations::Id],
        }
    }

    fn sql(self) -> &'static str {
        match self {
            Self::AccountAndId => "account_id, id",
            Self::Id => "id",
        }
    }
}

/// PostgreSQL: swaps the primary-key constraint.
async fn set_primary_key_in_place(
    manager: &SchemaManager<'_>,
    key: PrimaryKey,
) -> Result<(), DbErr> {
    manager
        .get_connection()
        .execute_unprepared(&format!(
            "ALTER TABLE generations DROP CONSTRAINT generations_pkey, \
             ADD CONSTRAINT generations_pkey PRIMARY KEY ({})",
            key.sql()
        ))
        .await
        .map(|_| ())
}

/// SQLite: a new table with `key`, filled from the old one, which is dropped (with its
/// indexes) and replaced. The caller recreates the indexes it keeps.
async fn rebuild_on_sqlite(manager: &SchemaManager<'_>, key: PrimaryKey) -> Result<(), DbErr> {
    let mut primary_key = Index::create();
    for column in key.columns() {
        primary_key.col(*column);
    }
    manager
        .create_table(
            Table::create()
                .table(Alias::new(REBUILT))
                .col(ColumnDef::new(Generations::Id).uuid().not_null())
                .col(ColumnDef::new(Generations::AccountId).uuid().not_null())
                .col(ColumnDef::new(Generations::Kind).string_len(8).not_null())
                .col(
                    ColumnDef::new(Generations::Status)
                        .string_len(16)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(Generations::Provider)
                        .string_len(32)
                        .not_null(),
                )
                .col(ColumnDef::new(Generations::ProviderJobId).string_len(200))
                .col(ColumnDef::new(Generations::PromptSealed).blob().not_null())
                .col(ColumnDef::new(Generations::TextSealed).blob())
                .col(ColumnDef::new(Generations::MediaSealed).blob())
                .col(ColumnDef::new(Generations::MediaType).string_len(64))
                .col(ColumnDef::new(Generations::ErrorCode).string_len(32))
                .col(ColumnDef::new(Generations::Tokens).big_integer().not_null())
                .col(ColumnDef::new(Generations::Images).big_integer().not_null())
                .col(
                    ColumnDef::new(Generations::VideoSeconds)
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(Generations::CreatedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .col(ColumnDef::new(Generations::CompletedAt).timestamp_with_time_zone())
                .col(ColumnDef::new(Generations::InputSealed).blob())
                .col(ColumnDef::new(Generations::RemoteCopy).string_len(16))
                .primary_key(&mut primary_key)
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_generations_account")
                        .from(Alias::new(REBUILT), Generations::AccountId)
                        .to(Accounts::Table, Accounts::Id),
                )
                .to_owned(),
        )
        .await?;
    let connection = manager.get_connection();
    for statement in [
        format!("INSERT INTO {REBUILT} ({COLUMNS}) SELECT {COLUMNS} FROM generations"),
        "DROP TABLE generations".to_owned(),
        format!("ALTER TABLE {REBUILT} RENAME TO generations"),
    ] {
        connection.execute_unprepared(&statement).await?;
    }
    Ok(())
}

/// The owner's newest-first list, by account and creation time.
async fn create_account_created_index(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_index(
            Index::create()
                .name(ACCOUNT_CREATED_INDEX)
                .table(Generations::Table)
                .col(Generations::AccountId)
                .col(Generations::CreatedAt)
                .to_owned(),
        )
        .await
}

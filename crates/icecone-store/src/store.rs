use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr, SqlErr};
use sea_orm_migration::MigratorTrait;

use crate::migration::Migrator;
use crate::{Backend, DatabaseUrl};

/// An error from the database.
///
/// Its message never contains SQL, bound values or the database URL; the underlying driver
/// error is kept as the `source` for the operator's logs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database could not be reached or opened.
    #[error("could not connect to the database")]
    Connect(#[source] DbErr),
    /// Applying or inspecting migrations failed.
    #[error("database migration failed")]
    Migrate(#[source] DbErr),
    /// The database answered, but its schema is behind the code: run `icecone migrate`.
    #[error("the database schema is behind the code: {pending} migration(s) not applied")]
    SchemaBehind {
        /// How many migrations are missing.
        pending: usize,
    },
    /// A query failed.
    #[error("database query failed")]
    Query(#[source] DbErr),
    /// A stored number does not fit the domain type (a corrupted or foreign row).
    #[error("a stored {0} is out of range")]
    OutOfRange(&'static str),
    /// The row conflicts with one that exists: a unique key (an e-mail index, an audit
    /// sequence number, a token digest...) is taken, or a confirmed TOTP factor is in the way.
    /// Nothing was written; the caller decides (re-read and retry, or refuse).
    #[error("a conflicting row already exists")]
    Duplicate,
    /// A queued write was dropped before it was committed (its batch's task ended early).
    #[error("a queued write was interrupted before it was committed")]
    Interrupted,
    /// The database stayed busy with other connections' work longer than the operation
    /// waits (what it was doing is named).
    #[error("the database stayed busy during {0}")]
    Busy(&'static str),
}

impl StoreError {
    /// Maps the error of an insert: a unique (or primary key) violation becomes
    /// [`StoreError::Duplicate`], anything else a [`StoreError::Query`].
    pub(crate) fn from_insert(err: DbErr) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => Self::Duplicate,
            _ => Self::Query(err),
        }
    }
}

/// IceCone's database: a connection pool plus the operations the gateway needs.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) db: DatabaseConnection,
    backend: Backend,
    /// Rows the per-request path reads through (see `read_cache`); shared by clones.
    pub(crate) cache: std::sync::Arc<crate::read_cache::ReadCache>,
    /// The queue and gate of finished generations' writes (see `group_commit`), with their
    /// connection: on SQLite one more, kept by the group commit, so these writes never
    /// wait in `busy_timeout`'s sleeps for each other and their page cache stays warm; on
    /// PostgreSQL the pool.
    pub(crate) group_commit: std::sync::Arc<crate::group_commit::GroupCommit>,
}

impl Store {
    /// Connects to the database. An SQLite file is created if missing and put in WAL mode
    /// with `synchronous = NORMAL`.
    pub async fn connect(url: &DatabaseUrl) -> Result<Self, StoreError> {
        let mut options = ConnectOptions::new(url.expose().to_owned());
        options
            // Statements and their bound values are personal data: never log them, and never
            // record them in the spans sea-orm opens (they would reach OpenTelemetry).
            .sqlx_logging(false)
            .record_stmt_in_spans(false)
            .connect_timeout(Duration::from_secs(10))
            .acquire_timeout(Duration::from_secs(10))
            // A pooled connection is pinged before use only after 30 s idle, when a server,
            // proxy or firewall may have dropped it: pinging on every acquire cost one
            // extra round trip per statement (on SQLite, to the connection's worker thread).
            .test_before_acquire_if_idle_for(Duration::from_secs(30));
        let sqlite = |options: &mut ConnectOptions, connections: u32| {
            options
                .max_connections(connections)
                .map_sqlx_sqlite_opts(|opts| {
                    // WAL with `synchronous = NORMAL`: a commit is not flushed to disk on its
                    // own but with the next checkpoint. Committed rows survive a crash of the
                    // process; a power loss may lose the last commits, never corrupt the file
                    // (SQLite's documented guarantee). The load run showed an fsync per commit
                    // as the limit of writes per second.
                    opts.create_if_missing(true)
                        .journal_mode(SqliteJournalMode::Wal)
                        .synchronous(SqliteSynchronous::Normal)
                        .foreign_keys(true)
                        // Deleted rows are overwritten, not left in free pages: an erased
                        // person's bytes must not stay readable in the file.
                        .pragma("secure_delete", "ON")
                        // Pages are read through a memory map rather than one `pread` each.
                        .pragma("mmap_size", "268435456")
                        .busy_timeout(Duration::from_secs(5))
                });
        };
        let (db, writer) = match url.backend() {
            Backend::Sqlite => {
                // 16 connections: each runs its statements on its own worker thread, and a
                // statement's round trip to it (and the connection's return to the pool)
                // takes longer than the statement itself; the generation bench persisted
                // about 15 % more per second with 16 than with 8, and no more with 32.
                let mut writer = options.clone();
                sqlite(&mut options, 16);
                sqlite(&mut writer, 1);
                let db = Database::connect(options)
                    .await
                    .map_err(StoreError::Connect)?;
                let writer = Database::connect(writer)
                    .await
                    .map_err(StoreError::Connect)?;
                (db, writer)
            }
            Backend::Postgres => {
                options.max_connections(16);
                // A connection's buffers grow to the largest message it carried (a media
                // row, an export chunk) and sqlx keeps them: shrunk back on every release,
                // the pool holds kilobytes per connection, not sixteen copies of the
                // largest row (the gateway's e2e test
                // `an_export_is_built_and_downloaded_in_memory_bounded_by_one_media_file_not_the_export`
                // measured 34 MiB kept after one export of 64 MiB of media, 10 MiB with this).
                options.map_sqlx_postgres_pool_opts(|pool| {
                    pool.after_release(|connection, _| {
                        Box::pin(async move {
                            sea_orm::sqlx::Connection::shrink_buffers(connection);
                            Ok(true)
                        })
                    })
                });
                let db = Database::connect(options)
                    .await
                    .map_err(StoreError::Connect)?;
                (db.clone(), db)
            }
        };
        let cache = std::sync::Arc::<crate::read_cache::ReadCache>::default();
        let group_commit = crate::group_commit::GroupCommit::new(
            writer,
            url.backend(),
            std::sync::Arc::clone(&cache),
        );
        Ok(Self {
            db,
            backend: url.backend(),
            cache,
            group_commit: std::sync::Arc::new(group_commit),
        })
    }

    /// Which engine this store runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Applies every pending migration.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        Migrator::up(&self.db, None)
            .await
            .map_err(StoreError::Migrate)
    }

    /// Rolls back the newest `steps` migrations (used by the migration tests).
    pub async fn migrate_down(&self, steps: u32) -> Result<(), StoreError> {
        Migrator::down(&self.db, Some(steps))
            .await
            .map_err(StoreError::Migrate)
    }

    /// Rolls back every migration (used by the migration tests).
    pub async fn migrate_down_all(&self) -> Result<(), StoreError> {
        Migrator::down(&self.db, None)
            .await
            .map_err(StoreError::Migrate)
    }

    /// The names of the migrations this code knows but the database has not applied.
    pub async fn pending_migrations(&self) -> Result<Vec<String>, StoreError> {
        let pending = Migrator::get_pending_migrations(&self.db)
            .await
            .map_err(StoreError::Migrate)?;
        Ok(pending.iter().map(|m| m.name().to_owned()).collect())
    }

    /// Answers whether the database is reachable and its schema is up to date.
    pub async fn check_ready(&self) -> Result<(), StoreError> {
        self.db
            .execute_unprepared("SELECT 1")
            .await
            .map_err(StoreError::Query)?;
        let pending = self.pending_migrations().await?.len();
        if pending > 0 {
            return Err(StoreError::SchemaBehind { pending });
        }
        Ok(())
    }

    /// Whether the connection to PostgreSQL is encrypted, as the server sees it
    /// (`pg_stat_ssl` of one pooled connection's backend); `None` for SQLite, which has no
    /// connection to protect. Logged at start-up.
    pub async fn connection_encrypted(&self) -> Result<Option<bool>, StoreError> {
        if self.backend != Backend::Postgres {
            return Ok(None);
        }
        let row = self
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                self.db.get_database_backend(),
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            ))
            .await
            .map_err(StoreError::Query)?;
        row.map(|row| row.try_get::<bool>("", "ssl"))
            .transpose()
            .map_err(StoreError::Query)
    }

    /// The names of the tables IceCone owns, sorted (for the migration tests).
    pub async fn table_names(&self) -> Result<Vec<String>, StoreError> {
        let sql = match self.backend {
            Backend::Sqlite => {
                "SELECT name FROM sqlite_master WHERE type = 'table' \
                 AND name NOT LIKE 'sqlite_%' AND name <> 'seaql_migrations' ORDER BY name"
            }
            Backend::Postgres => {
                "SELECT table_name AS name FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name <> 'seaql_migrations' \
                 ORDER BY table_name"
            }
        };
        let rows = self
            .db
            .query_all_raw(sea_orm::Statement::from_string(
                self.db.get_database_backend(),
                sql,
            ))
            .await
            .map_err(StoreError::Query)?;
        rows.iter()
            .map(|row| row.try_get::<String>("", "name").map_err(StoreError::Query))
            .collect()
    }

    /// The options SQLite was compiled with (`PRAGMA compile_options`), for the tests.
    pub async fn sqlite_compile_options(&self) -> Result<Vec<String>, StoreError> {
        let rows = self
            .db
            .query_all_raw(sea_orm::Statement::from_string(
                self.db.get_database_backend(),
                "PRAGMA compile_options",
            ))
            .await
            .map_err(StoreError::Query)?;
        rows.iter()
            .map(|row| row.try_get_by_index::<String>(0).map_err(StoreError::Query))
            .collect()
    }

    /// SQLite's journal mode (`wal` for every store this crate opens), for the tests.
    pub async fn sqlite_journal_mode(&self) -> Result<String, StoreError> {
        let row = self
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                self.db.get_database_backend(),
                "PRAGMA journal_mode",
            ))
            .await
            .map_err(StoreError::Query)?
            .ok_or(StoreError::Query(DbErr::RecordNotFound(
                "journal_mode".into(),
            )))?;
        row.try_get::<String>("", "journal_mode")
            .map_err(StoreError::Query)
    }

    /// Closes every connection of the pool.
    pub async fn close(self) -> Result<(), StoreError> {
        self.db.close().await.map_err(StoreError::Query)
    }
}

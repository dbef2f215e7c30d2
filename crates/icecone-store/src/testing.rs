//! A fresh, migrated database per test.
//!
//! SQLite by default (a file in a temporary directory). When `ICECONE_TEST_DATABASE_URL`
//! points at a PostgreSQL server, each test gets its own database on it instead, created
//! from that URL and dropped when the [`TestDatabase`] is dropped.

use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};

use crate::{DatabaseUrl, Store};

/// The environment variable that switches the tests to PostgreSQL.
pub const TEST_DATABASE_URL_VAR: &str = "ICECONE_TEST_DATABASE_URL";

/// A database that exists for one test.
#[derive(Debug)]
pub struct TestDatabase {
    url: DatabaseUrl,
    store: Store,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    /// The SQLite file lives in this directory, removed on drop.
    Directory(tempfile::TempDir),
    /// A PostgreSQL database to drop, reached through the admin URL.
    PostgresDatabase { admin_url: String, name: String },
}

impl TestDatabase {
    /// Creates and migrates a fresh database.
    ///
    /// # Panics
    /// When the database cannot be created: a test cannot run without one.
    pub async fn new() -> Self {
        let db = Self::unmigrated().await;
        db.store
            .migrate()
            .await
            .expect("migrating the test database");
        db
    }

    /// Creates a fresh database without applying the migrations.
    ///
    /// # Panics
    /// When the database cannot be created.
    pub async fn unmigrated() -> Self {
        match std::env::var(TEST_DATABASE_URL_VAR) {
            Ok(admin_url) if !admin_url.is_empty() => Self::postgres(admin_url).await,
            _ => Self::sqlite().await,
        }
    }

    /// Creates an unmigrated SQLite database whatever the environment says, for tests of
    /// SQLite-only behaviour.
    ///
    /// # Panics
    /// When the database cannot be created.
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("creating a temporary directory");
        let url = DatabaseUrl::sqlite_file(&dir.path().join("icecone.db"));
        let store = Store::connect(&url)
            .await
            .expect("opening the SQLite test database");
        Self {
            url,
            store,
            cleanup: Cleanup::Directory(dir),
        }
    }

    async fn postgres(admin_url: String) -> Self {
        let name = format!("icecone_test_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(&admin_url)
            .await
            .expect("connecting to ICECONE_TEST_DATABASE_URL");
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .expect("creating a PostgreSQL test database");
        admin.close().await.expect("closing the admin connection");
        let url = DatabaseUrl::parse(&with_database_name(&admin_url, &name))
            .expect("ICECONE_TEST_DATABASE_URL is a postgres:// URL");
        let store = Store::connect(&url)
            .await
            .expect("opening the PostgreSQL test database");
        Self {
            url,
            store,
            cleanup: Cleanup::PostgresDatabase { admin_url, name },
        }
    }

    /// The store over this database.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The URL of this database, for a gateway started by the test.
    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// Runs SQL without parameters (DDL for scratch tables in tests).
    ///
    /// # Panics
    /// When the statement fails.
    pub async fn execute(&self, sql: &str) {
        self.store
            .db
            .execute_unprepared(sql)
            .await
            .expect("test SQL runs");
    }

    /// How many rows `table` holds.
    ///
    /// # Panics
    /// When the query fails.
    pub async fn count(&self, table: &str) -> i64 {
        let backend = self.store.db.get_database_backend();
        let row = self
            .store
            .db
            .query_one_raw(Statement::from_string(
                backend,
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .expect("count runs")
            .expect("a count row");
        row.try_get::<i64>("", "n").expect("a count")
    }

    /// Inserts `(id, value)` into a scratch table created with [`TestDatabase::execute`].
    ///
    /// # Panics
    /// When the insert fails.
    pub async fn insert_blob(&self, table: &str, id: &str, value: Vec<u8>) {
        let backend = self.store.db.get_database_backend();
        let sql = match backend {
            DbBackend::Postgres => format!("INSERT INTO {table} (id, value) VALUES ($1, $2)"),
            _ => format!("INSERT INTO {table} (id, value) VALUES (?, ?)"),
        };
        let statement = Statement::from_sql_and_values(backend, sql, [id.into(), value.into()]);
        self.store
            .db
            .execute_raw(statement)
            .await
            .expect("test insert runs");
    }

    /// Everything the database holds, as bytes an attacker with the disk or a dump would
    /// see: the SQLite file and its write-ahead log, or a `pg_dump` of the PostgreSQL
    /// database.
    ///
    /// # Panics
    /// When the file cannot be read or `pg_dump` cannot run.
    pub async fn raw_bytes(&self) -> Vec<u8> {
        match &self.cleanup {
            Cleanup::Directory(dir) => {
                let mut bytes = Vec::new();
                for entry in std::fs::read_dir(dir.path()).expect("the database directory") {
                    let path = entry.expect("entry").path();
                    bytes.extend(std::fs::read(&path).expect("a database file"));
                }
                bytes
            }
            Cleanup::PostgresDatabase { .. } => {
                let output = std::process::Command::new("pg_dump")
                    .arg("--no-owner")
                    .arg(self.url.expose())
                    .output()
                    .expect("pg_dump runs");
                assert!(
                    output.status.success(),
                    "pg_dump failed: {}",
                    String::from_utf8_lossy(&output.stderr)
                );
                output.stdout
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Cleanup::PostgresDatabase { admin_url, name } = &self.cleanup else {
            return;
        };
        let (admin_url, name) = (admin_url.clone(), name.clone());
        // Drop may run inside an async test's runtime, which must not be blocked on;
        // a thread with its own runtime does the clean-up.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("building a runtime for the clean-up");
            runtime.block_on(async {
                let admin = Database::connect(&admin_url).await?;
                admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .await?;
                admin.close().await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) && !std::thread::panicking() {
            panic!("dropping the PostgreSQL test database failed");
        }
    }
}

/// Replaces the database name (the URL path) of a PostgreSQL URL.
fn with_database_name(url: &str, name: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
    let (authority_and_path, query) = match rest.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (rest, None),
    };
    let authority = authority_and_path
        .split_once('/')
        .map_or(authority_and_path, |(authority, _)| authority);
    match query {
        Some(query) => format!("{scheme}://{authority}/{name}?{query}"),
        None => format!("{scheme}://{authority}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::with_database_name;

    #[test]
    fn the_database_name_of_a_postgres_url_is_replaced() {
        let cases = [
            (
                "postgres://postgres@127.0.0.1:5432/test",
                "postgres://postgres@127.0.0.1:5432/t1",
            ),
            (
                "postgres://u:p@db/test?sslmode=disable",
                "postgres://u:p@db/t1?sslmode=disable",
            ),
            ("postgresql://db", "postgresql://db/t1"),
        ];
        for (input, expected) in cases {
            assert_eq!(with_database_name(input, "t1"), expected, "input: {input}");
        }
    }
}

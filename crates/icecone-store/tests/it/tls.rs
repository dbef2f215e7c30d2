//! The connection to PostgreSQL can require TLS (`sslmode=require`, what production asks
//! of a database on another host): proved against the local server, which has SSL on. Runs
//! in the PostgreSQL run only (`ICECONE_TEST_DATABASE_URL`); SQLite has no connection.

use icecone_store::testing::TestDatabase;
use icecone_store::{DatabaseUrl, Store};

/// The test database's URL with `sslmode` set to `mode`.
fn with_sslmode(url: &DatabaseUrl, mode: &str) -> DatabaseUrl {
    let url = url.expose();
    let separator = if url.contains('?') { '&' } else { '?' };
    DatabaseUrl::parse(&format!("{url}{separator}sslmode={mode}")).expect("a postgres URL")
}

#[tokio::test]
async fn a_postgres_connection_with_sslmode_require_is_encrypted() {
    // The SQLite run has no database connection to encrypt.
    if !std::env::var("ICECONE_TEST_DATABASE_URL").is_ok_and(|url| !url.is_empty()) {
        return;
    }
    let db = TestDatabase::new().await;
    let required = Store::connect(&with_sslmode(db.url(), "require"))
        .await
        .expect("a TLS connection to the local PostgreSQL");
    assert_eq!(
        TestDatabase::connection_encrypted(&required).await,
        Some(true)
    );
    // The check itself tells plaintext apart.
    let plain = Store::connect(&with_sslmode(db.url(), "disable"))
        .await
        .expect("a plaintext connection");
    assert_eq!(
        TestDatabase::connection_encrypted(&plain).await,
        Some(false)
    );
    // Through the TLS connection the store works as ever.
    assert!(required.check_ready().await.is_ok());
}

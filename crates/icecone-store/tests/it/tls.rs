//! The connection to PostgreSQL can require TLS (`sslmode=require`, what production asks
//! of a database on another host): proved against the local server, which has SSL on. On
//! SQLite there is no connection to encrypt, and the test checks only that.

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
    let db = TestDatabase::new().await;
    if !std::env::var("ICECONE_TEST_DATABASE_URL").is_ok_and(|url| !url.is_empty()) {
        assert_eq!(
            db.store().connection_encrypted().await.expect("asked"),
            None
        );
        return;
    }
    let required = Store::connect(&with_sslmode(db.url(), "require"))
        .await
        .expect("a TLS connection to the local PostgreSQL");
    assert_eq!(
        required.connection_encrypted().await.expect("asked"),
        Some(true)
    );
    // Through the TLS connection the store works as ever.
    assert!(required.check_ready().await.is_ok());
    // The check itself tells plaintext apart.
    let plain = Store::connect(&with_sslmode(db.url(), "disable"))
        .await
        .expect("a plaintext connection");
    assert_eq!(
        plain.connection_encrypted().await.expect("asked"),
        Some(false)
    );
    // Verifying needs the server's CA, which the test server's self-signed certificate is
    // not signed by: the connection is refused, never downgraded.
    assert!(
        Store::connect(&with_sslmode(db.url(), "verify-ca"))
            .await
            .is_err()
    );
}

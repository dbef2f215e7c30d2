//! The connection to PostgreSQL over TLS: a URL with `sslmode=require` connects encrypted
//! (the server's `pg_stat_ssl` says so) and one with `sslmode=disable` does not. Run when
//! `ICECONE_TEST_DATABASE_URL` points at a PostgreSQL server (Debian's ships with SSL on);
//! on SQLite there is no connection to protect, and the test checks only that.

use icecone_store::testing::{TEST_DATABASE_URL_VAR, TestDatabase};
use icecone_store::{DatabaseUrl, Store, Transport};

/// `url` with `sslmode` set to `mode`.
fn with_sslmode(url: &str, mode: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}sslmode={mode}")
}

#[tokio::test]
async fn a_postgres_url_with_sslmode_require_connects_encrypted_and_disable_does_not() {
    let Some(admin) = std::env::var(TEST_DATABASE_URL_VAR)
        .ok()
        .filter(|url| !url.is_empty())
    else {
        // SQLite: a file, no connection to encrypt.
        let db = TestDatabase::new().await;
        assert_eq!(
            db.store().connection_encrypted().await.expect("asked"),
            None
        );
        return;
    };
    for (mode, transport, encrypted) in [
        ("require", Transport::Tls, true),
        ("verify-ca", Transport::Tls, true),
        ("disable", Transport::Local, false),
    ] {
        let url = DatabaseUrl::parse(&with_sslmode(&admin, mode)).expect("a postgres URL");
        assert_eq!(url.transport(), transport, "{mode}");
        if mode == "verify-ca" {
            // Verifying needs the server's CA, which a test machine's self-signed server
            // certificate is not signed by: the connection is refused, never downgraded.
            assert!(Store::connect(&url).await.is_err(), "{mode}");
            continue;
        }
        let store = Store::connect(&url).await.expect("connected");
        assert_eq!(
            store.connection_encrypted().await.expect("asked"),
            Some(encrypted),
            "{mode}"
        );
        store.close().await.expect("closed");
    }
}

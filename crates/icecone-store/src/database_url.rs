use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use sea_orm::sqlx::postgres::{PgConnectOptions, PgSslMode};
use sea_orm::{ConnectionTrait, Statement};

use crate::{Store, StoreError};

/// Which database engine a [`DatabaseUrl`] points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file (the embedded default).
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// A database URL that IceCone can connect to: `sqlite://...` or `postgres://...`.
///
/// It may hold a password, so its `Debug` output shows only the backend.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    url: String,
    backend: Backend,
}

/// How the connection a [`DatabaseUrl`] makes is protected on its way to the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// It does not leave the machine: an SQLite file, a PostgreSQL Unix socket or a
    /// loopback address (`localhost`, `127.0.0.0/8`, `::1`).
    Local,
    /// PostgreSQL over TLS the driver insists on: `sslmode` `require`, `verify-ca` or
    /// `verify-full`.
    Tls,
    /// PostgreSQL on another machine without TLS, or with TLS only if the server offers it
    /// (`disable`, `allow`, `prefer` — the default — which anyone on the path can turn off).
    Plaintext,
}

/// A PostgreSQL URL that would send the database traffic in clear over the network. The
/// message does not repeat the URL (it may hold a password).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "a PostgreSQL server that is not on this machine is reached over TLS only: add \
     sslmode=require (or verify-ca, verify-full) to the database URL"
)]
pub struct PlaintextDatabase;

/// Whether `host` is this machine: `localhost` or a loopback address (an IPv6 one in
/// brackets or not, an IPv4-mapped one too).
fn is_loopback(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let bare = host
        .strip_prefix('[')
        .and_then(|host| host.strip_suffix(']'))
        .unwrap_or(host);
    bare.parse::<IpAddr>()
        .is_ok_and(|ip| ip.to_canonical().is_loopback())
}

/// How a PostgreSQL connection to `host` (or a Unix socket) with `ssl` travels.
fn postgres_transport(host: &str, socket: bool, ssl: PgSslMode) -> Transport {
    match ssl {
        PgSslMode::Require | PgSslMode::VerifyCa | PgSslMode::VerifyFull => Transport::Tls,
        _ if socket || is_loopback(host) => Transport::Local,
        _ => Transport::Plaintext,
    }
}

/// Why a text is not a [`DatabaseUrl`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the database URL must start with sqlite:// or postgres:// (or postgresql://)")]
pub struct InvalidDatabaseUrl;

impl DatabaseUrl {
    /// Parses a database URL by its scheme.
    pub fn parse(url: &str) -> Result<Self, InvalidDatabaseUrl> {
        let backend = if url.starts_with("sqlite://") || url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(InvalidDatabaseUrl);
        };
        let rest = url.split_once(':').map_or("", |(_, rest)| rest);
        if rest.trim_start_matches('/').is_empty() {
            return Err(InvalidDatabaseUrl);
        }
        Ok(Self {
            url: url.to_owned(),
            backend,
        })
    }

    /// The URL of an SQLite database file.
    pub fn sqlite_file(path: &std::path::Path) -> Self {
        Self {
            url: format!("sqlite://{}", path.display()),
            backend: Backend::Sqlite,
        }
    }

    /// The backend the URL points at.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// How its connection travels, read as the driver reads the URL (the `PG*` environment
    /// variables the driver honours included). A URL the driver cannot read counts as
    /// [`Transport::Plaintext`]; connecting with it fails anyway.
    pub fn transport(&self) -> Transport {
        match self.backend {
            Backend::Sqlite => Transport::Local,
            Backend::Postgres => match PgConnectOptions::from_str(&self.url) {
                Ok(options) => postgres_transport(
                    options.get_host(),
                    options.get_socket().is_some(),
                    options.get_ssl_mode(),
                ),
                Err(_) => Transport::Plaintext,
            },
        }
    }

    /// What production requires of the URL: its connection stays on this machine or uses
    /// TLS ([`Transport::Plaintext`] is refused).
    pub fn require_tls_off_this_machine(&self) -> Result<(), PlaintextDatabase> {
        match self.transport() {
            Transport::Plaintext => Err(PlaintextDatabase),
            Transport::Local | Transport::Tls => Ok(()),
        }
    }

    /// The whole URL, password included: pass it to a driver, never to a log.
    pub fn expose(&self) -> &str {
        &self.url
    }
}

impl Store {
    /// Whether the store's connections to PostgreSQL are encrypted, as the server sees one
    /// of them (`pg_stat_ssl`); `None` for SQLite, which has no connection to protect.
    pub async fn connection_encrypted(&self) -> Result<Option<bool>, StoreError> {
        if self.backend() != Backend::Postgres {
            return Ok(None);
        }
        let row = self
            .db
            .query_one_raw(Statement::from_string(
                self.db.get_database_backend(),
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            ))
            .await
            .map_err(StoreError::Query)?;
        row.map(|row| row.try_get::<bool>("", "ssl"))
            .transpose()
            .map_err(StoreError::Query)
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseUrl")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Option<Backend>) {
        assert_eq!(
            DatabaseUrl::parse(input).ok().map(|url| url.backend()),
            expected,
            "input: {input:?}"
        );
    }

    #[test]
    fn database_urls_are_recognised_by_their_scheme() {
        check("sqlite://data/icecone.db", Some(Backend::Sqlite));
        check("sqlite::memory:", Some(Backend::Sqlite));
        check(
            "postgres://postgres@127.0.0.1:5432/test",
            Some(Backend::Postgres),
        );
        check("postgresql://u:p@db/icecone", Some(Backend::Postgres));
        check("mysql://root@localhost/icecone", None);
        check("data/icecone.db", None);
        check("sqlite://", None);
        check("postgres://", None);
        check("", None);
    }

    #[test]
    fn a_postgres_url_is_local_tls_or_plaintext_by_its_host_and_sslmode() {
        use Transport::{Local, Plaintext, Tls};
        let table = [
            ("sqlite://data/icecone.db", Local),
            ("postgres://u:p@127.0.0.1:5432/icecone", Local),
            ("postgres://u:p@127.0.0.2/icecone", Local),
            ("postgres://u:p@localhost/icecone", Local),
            ("postgres://u:p@LOCALHOST/icecone?sslmode=disable", Local),
            ("postgres://u:p@[::1]:5432/icecone", Local),
            ("postgres:///icecone?host=/var/run/postgresql", Local),
            ("postgres://u@%2Fvar%2Frun%2Fpostgresql/icecone", Local),
            ("postgres://u:p@db.example.com/icecone", Plaintext),
            (
                "postgres://u:p@db.example.com/icecone?sslmode=disable",
                Plaintext,
            ),
            (
                "postgres://u:p@db.example.com/icecone?sslmode=allow",
                Plaintext,
            ),
            (
                "postgres://u:p@db.example.com/icecone?sslmode=prefer",
                Plaintext,
            ),
            ("postgres://u:p@10.0.0.5/icecone", Plaintext),
            ("postgres://u:p@[2001:db8::5]/icecone", Plaintext),
            ("postgresql://u:p@db/icecone?application_name=x", Plaintext),
            // The driver reads the last `host`: the loopback in the authority does not count.
            (
                "postgres://u:p@127.0.0.1/icecone?host=db.example.com",
                Plaintext,
            ),
            ("postgres://u:p@db.example.com/icecone?sslmode=require", Tls),
            (
                "postgres://u:p@db.example.com/icecone?ssl-mode=verify-ca",
                Tls,
            ),
            (
                "postgres://u:p@db.example.com/icecone?sslmode=VERIFY-FULL",
                Tls,
            ),
            (
                "postgres://u:p@db.example.com/icecone?sslmode=disable&sslmode=require",
                Tls,
            ),
            (
                "postgres://u:p@db.example.com/icecone?sslmode=require&sslmode=prefer",
                Plaintext,
            ),
            ("postgres://u:p@127.0.0.1/icecone?sslmode=require", Tls),
            (
                "postgres://u:p@db.example.com/icecone?sslmode=sometimes",
                Plaintext,
            ),
        ];
        for (url, expected) in table {
            let parsed = DatabaseUrl::parse(url).expect("a database URL");
            assert_eq!(parsed.transport(), expected, "{url}");
            assert_eq!(
                parsed.require_tls_off_this_machine().is_ok(),
                expected != Plaintext,
                "{url}"
            );
        }
    }

    #[test]
    fn the_refusal_does_not_repeat_the_url() {
        let url = DatabaseUrl::parse("postgres://icecone:hunter2-secret@db.example.com/icecone")
            .expect("valid url");
        let refused = url.require_tls_off_this_machine().expect_err("plaintext");
        assert!(!refused.to_string().contains("hunter2"), "{refused}");
        assert!(!refused.to_string().contains("db.example.com"), "{refused}");
    }

    #[test]
    fn the_debug_output_of_a_database_url_hides_the_password() {
        let url =
            DatabaseUrl::parse("postgres://icecone:hunter2-secret@db/icecone").expect("valid url");
        let shown = format!("{url:?}");
        assert!(!shown.contains("hunter2-secret"), "{shown}");
        assert!(shown.contains("Postgres"), "{shown}");
    }
}

use std::fmt;

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

    /// The whole URL, password included: pass it to a driver, never to a log.
    pub fn expose(&self) -> &str {
        &self.url
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
    fn the_debug_output_of_a_database_url_hides_the_password() {
        let url =
            DatabaseUrl::parse("postgres://icecone:hunter2-secret@db/icecone").expect("valid url");
        let shown = format!("{url:?}");
        assert!(!shown.contains("hunter2-secret"), "{shown}");
        assert!(shown.contains("Postgres"), "{shown}");
    }
}

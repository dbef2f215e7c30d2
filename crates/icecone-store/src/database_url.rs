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

    /// Whether a connection to this database would cross the network in clear: a
    /// PostgreSQL URL naming a host that is not this machine (not a loopback address, not
    /// `localhost`, not a Unix socket) and not asking for TLS with `sslmode=require`,
    /// `verify-ca` or `verify-full` (`prefer` and `allow` fall back to plaintext, so they
    /// do not count). An SQLite file never leaves the host.
    pub fn crosses_network_in_clear(&self) -> bool {
        if self.backend == Backend::Sqlite {
            return false;
        }
        let (hosts, params) = postgres_hosts_and_params(&self.url);
        let requires_tls = params
            .iter()
            .rfind(|(key, _)| key == "sslmode" || key == "ssl-mode")
            .is_some_and(|(_, mode)| {
                ["require", "verify-ca", "verify-full"]
                    .iter()
                    .any(|strict| mode.eq_ignore_ascii_case(strict))
            });
        let remote = hosts.iter().any(|host| !is_this_machine(host));
        remote && !requires_tls
    }

    /// The whole URL, password included: pass it to a driver, never to a log.
    pub fn expose(&self) -> &str {
        &self.url
    }
}

/// The hosts a PostgreSQL URL names — those of its authority, or of its `host` and
/// `hostaddr` parameters, which take their place — and its query parameters, decoded.
fn postgres_hosts_and_params(url: &str) -> (Vec<String>, Vec<(String, String)>) {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let (before_query, query) = rest.split_once('?').unwrap_or((rest, ""));
    let authority = before_query.split('/').next().unwrap_or("");
    let hostlist = authority
        .rsplit_once('@')
        .map_or(authority, |(_, hosts)| hosts);
    let params: Vec<(String, String)> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(key), percent_decode(value))
        })
        .collect();
    let from_params: Vec<String> = params
        .iter()
        .filter(|(key, _)| key == "host" || key == "hostaddr")
        .flat_map(|(_, value)| value.split(',').map(str::to_owned).collect::<Vec<_>>())
        .collect();
    let hosts = if from_params.is_empty() {
        hostlist
            .split(',')
            .map(|host| percent_decode(strip_port(host)))
            .collect()
    } else {
        from_params
    };
    (hosts, params)
}

/// `host` without its `:port`; an IPv6 address keeps its brackets off.
fn strip_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    host.split(':').next().unwrap_or(host)
}

/// `%XX` sequences decoded; anything malformed is kept as it is.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
        });
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether a PostgreSQL host is this machine: no host (the driver's local default), a Unix
/// socket directory, `localhost` or a loopback address.
fn is_this_machine(host: &str) -> bool {
    host.is_empty()
        || host.starts_with('/')
        || host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|address| address.is_loopback())
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
    fn a_postgres_url_off_this_machine_must_require_tls() {
        // (URL, crosses the network in clear)
        let cases = [
            ("sqlite://data/icecone.db", false),
            ("postgres://u:p@127.0.0.1:5432/icecone", false),
            ("postgres://u:p@localhost/icecone", false),
            ("postgres://u:p@[::1]:5432/icecone", false),
            ("postgres://u@%2Fvar%2Frun%2Fpostgresql/icecone", false),
            ("postgres:///icecone?host=/var/run/postgresql", false),
            ("postgres://u:p@db.internal/icecone", true),
            (
                "postgres://u:p@db.internal:5432/icecone?sslmode=disable",
                true,
            ),
            ("postgres://u:p@db.internal/icecone?sslmode=prefer", true),
            ("postgres://u:p@db.internal/icecone?sslmode=allow", true),
            ("postgres://u:p@db.internal/icecone?sslmode=require", false),
            (
                "postgres://u:p@db.internal/icecone?sslmode=verify-ca",
                false,
            ),
            (
                "postgresql://u:p@10.0.0.5/icecone?application_name=x&sslmode=VERIFY-FULL",
                false,
            ),
            ("postgres://u:p@db.internal/icecone?ssl-mode=require", false),
            // The last sslmode wins, as the driver reads it.
            (
                "postgres://u:p@db.internal/icecone?sslmode=require&sslmode=disable",
                true,
            ),
            // A password with @ and a host parameter that takes the authority's place.
            (
                "postgres://u:p%40ss@127.0.0.1/icecone?host=db.internal",
                true,
            ),
            ("postgres://u:p@db.internal/icecone?host=%2Ftmp", false),
            // One remote host among several is enough.
            ("postgres://u:p@127.0.0.1,db.internal/icecone", true),
            ("postgres://u:p@203.0.113.7/icecone", true),
        ];
        for (url, in_clear) in cases {
            let parsed = DatabaseUrl::parse(url).expect(url);
            assert_eq!(parsed.crosses_network_in_clear(), in_clear, "{url}");
        }
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

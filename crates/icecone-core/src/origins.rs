//! Which browser origins may call the API: [`Origin`], an exact web origin parsed from the
//! operator's list, and [`AllowedOrigins`], the allowlist whose [`AllowedOrigins::allows`]
//! is the one decision of whether a request's `Origin` header names a trusted frontend.
//! CORS asks it for every request; a rule that refuses cross-site requests carrying a
//! cookie asks the same question.
//!
//! Only exact origins are listed: no wildcard, because an allowed origin may send requests
//! that carry credentials. The one exception is the development default, which allows
//! `http://localhost` and `http://127.0.0.1` on any port (a developer's frontend server
//! picks its own port), and only when no list was given.

use std::fmt;
use std::str::FromStr;

/// A web origin as browsers serialise it in the `Origin` header: `scheme://host[:port]`,
/// scheme and host in lower case, the scheme's default port left out.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin(String);

/// Why a text is not an [`Origin`]. The message does not repeat the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidOrigin {
    /// `*` or a pattern: only exact origins may be listed.
    #[error("wildcards are not allowed: list each origin exactly, such as https://app.example.com")]
    Wildcard,
    /// Neither `http://` nor `https://`.
    #[error("an origin starts with https:// or http://")]
    Scheme,
    /// A path (even `/`), query, fragment or user name after the host.
    #[error("an origin is only scheme, host and port, with no path (not even a trailing /)")]
    NotAnOrigin,
    /// The host is empty or not written in ASCII letters, digits, `-` and `.` (or an
    /// IPv6 address in brackets).
    #[error("the host is empty or not ASCII (write an internationalised name in punycode)")]
    Host,
    /// The port is not a number from 1 to 65535.
    #[error("the port is not a number from 1 to 65535")]
    Port,
}

impl FromStr for Origin {
    type Err = InvalidOrigin;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if text.contains('*') {
            return Err(InvalidOrigin::Wildcard);
        }
        let lower = text.to_ascii_lowercase();
        let (scheme, rest) = if let Some(rest) = lower.strip_prefix("https://") {
            ("https", rest)
        } else if let Some(rest) = lower.strip_prefix("http://") {
            ("http", rest)
        } else {
            return Err(InvalidOrigin::Scheme);
        };
        if rest.contains(['/', '?', '#', '@']) {
            return Err(InvalidOrigin::NotAnOrigin);
        }
        let (host, port) = split_host_port(rest)?;
        let default_port = if scheme == "https" { 443 } else { 80 };
        Ok(Self(match port {
            Some(port) if port != default_port => format!("{scheme}://{host}:{port}"),
            _ => format!("{scheme}://{host}"),
        }))
    }
}

/// Splits `host[:port]` (`[v6]:port` for IPv6) and checks both.
fn split_host_port(text: &str) -> Result<(&str, Option<u16>), InvalidOrigin> {
    let (host, port) = if text.starts_with('[') {
        let end = text.find(']').ok_or(InvalidOrigin::Host)?;
        let (host, after) = text.split_at(end + 1);
        let inner = &host[1..host.len() - 1];
        if inner.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(InvalidOrigin::Host);
        }
        match after {
            "" => (host, None),
            _ => (
                host,
                Some(after.strip_prefix(':').ok_or(InvalidOrigin::Port)?),
            ),
        }
    } else {
        let (host, port) = match text.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        };
        let valid = !host.is_empty()
            && !host.starts_with(['.', '-'])
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
        if !valid {
            return Err(InvalidOrigin::Host);
        }
        (host, port)
    };
    let port = match port {
        None => None,
        Some(port) => Some(
            port.parse::<u16>()
                .ok()
                .filter(|p| *p != 0 && port.bytes().all(|b| b.is_ascii_digit()))
                .ok_or(InvalidOrigin::Port)?,
        ),
    };
    Ok((host, port))
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Origin {
    /// The serialised origin, as a browser sends it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a list of origins was refused: which entry (counting from 1) and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("entry {position} of the comma-separated list: {reason}")]
pub struct InvalidOriginList {
    /// The entry's position, from 1.
    pub position: usize,
    /// What is wrong with it.
    pub reason: InvalidOrigin,
}

/// The loopback hosts the development default allows on any port, over plain HTTP.
pub const DEVELOPMENT_HOSTS: [&str; 2] = ["localhost", "127.0.0.1"];

/// The browser origins allowed to call the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedOrigins {
    exact: Vec<Origin>,
    /// `http://localhost:*` and `http://127.0.0.1:*` (development, no list given).
    loopback_any_port: bool,
}

impl AllowedOrigins {
    /// No origin: browsers on other origins cannot read any answer.
    pub fn none() -> Self {
        Self {
            exact: Vec::new(),
            loopback_any_port: false,
        }
    }

    /// The development default: `http://localhost` and `http://127.0.0.1`, any port.
    pub fn development() -> Self {
        Self {
            exact: Vec::new(),
            loopback_any_port: true,
        }
    }

    /// A comma-separated list of exact origins; blank entries are skipped, so an empty
    /// text allows none.
    pub fn parse(list: &str) -> Result<Self, InvalidOriginList> {
        let mut exact: Vec<Origin> = Vec::new();
        for (index, entry) in list.split(',').enumerate() {
            if entry.trim().is_empty() {
                continue;
            }
            let origin = entry.parse().map_err(|reason| InvalidOriginList {
                position: index + 1,
                reason,
            })?;
            if !exact.contains(&origin) {
                exact.push(origin);
            }
        }
        Ok(Self {
            exact,
            loopback_any_port: false,
        })
    }

    /// The allowlist a deployment runs with: the list when one is given (even an empty
    /// one); otherwise the development default in development and none in production.
    pub fn resolve(list: Option<&str>, development: bool) -> Result<Self, InvalidOriginList> {
        match list {
            Some(list) => Self::parse(list),
            None if development => Ok(Self::development()),
            None => Ok(Self::none()),
        }
    }

    /// Whether a request's `Origin` header value names an allowed origin. Compared exactly
    /// with the serialised form browsers send; `null` (sandboxed frames, `file:` pages,
    /// some redirects) is never allowed.
    pub fn allows(&self, origin: &str) -> bool {
        if self.exact.iter().any(|allowed| allowed.as_str() == origin) {
            return true;
        }
        self.loopback_any_port
            && origin
                .strip_prefix("http://")
                .is_some_and(|rest| match rest.split_once(':') {
                    None => DEVELOPMENT_HOSTS.contains(&rest),
                    Some((host, port)) => {
                        DEVELOPMENT_HOSTS.contains(&host)
                            && port.bytes().all(|b| b.is_ascii_digit())
                            && port.parse::<u16>().is_ok_and(|p| p != 0)
                    }
                })
    }

    /// The exact origins listed.
    pub fn exact(&self) -> &[Origin] {
        &self.exact
    }

    /// Whether any origin at all is allowed.
    pub fn is_empty(&self) -> bool {
        self.exact.is_empty() && !self.loopback_any_port
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_parse_into_the_form_browsers_send() {
        let cases: &[(&str, Result<&str, InvalidOrigin>)] = &[
            ("https://app.example.com", Ok("https://app.example.com")),
            ("  HTTPS://App.Example.COM ", Ok("https://app.example.com")),
            ("https://app.example.com:443", Ok("https://app.example.com")),
            ("http://app.example.com:80", Ok("http://app.example.com")),
            (
                "https://app.example.com:8443",
                Ok("https://app.example.com:8443"),
            ),
            ("http://localhost:3000", Ok("http://localhost:3000")),
            ("http://[::1]:5173", Ok("http://[::1]:5173")),
            ("http://127.0.0.1:80", Ok("http://127.0.0.1")),
            ("*", Err(InvalidOrigin::Wildcard)),
            ("https://*.example.com", Err(InvalidOrigin::Wildcard)),
            ("http://localhost:*", Err(InvalidOrigin::Wildcard)),
            ("app.example.com", Err(InvalidOrigin::Scheme)),
            ("ftp://app.example.com", Err(InvalidOrigin::Scheme)),
            ("null", Err(InvalidOrigin::Scheme)),
            ("https://app.example.com/", Err(InvalidOrigin::NotAnOrigin)),
            (
                "https://app.example.com/app",
                Err(InvalidOrigin::NotAnOrigin),
            ),
            ("https://app.example.com?x", Err(InvalidOrigin::NotAnOrigin)),
            (
                "https://user@app.example.com",
                Err(InvalidOrigin::NotAnOrigin),
            ),
            ("https://", Err(InvalidOrigin::Host)),
            ("https://bücher.example", Err(InvalidOrigin::Host)),
            ("https://app example.com", Err(InvalidOrigin::Host)),
            ("https://[zz]:1", Err(InvalidOrigin::Host)),
            ("https://app.example.com:0", Err(InvalidOrigin::Port)),
            ("https://app.example.com:65536", Err(InvalidOrigin::Port)),
            ("https://app.example.com:+80", Err(InvalidOrigin::Port)),
            ("https://app.example.com:", Err(InvalidOrigin::Port)),
            ("https://[::1]x", Err(InvalidOrigin::Port)),
        ];
        for (text, expected) in cases {
            let parsed = text.parse::<Origin>();
            assert_eq!(
                parsed.as_ref().map(Origin::as_str).map_err(|e| *e),
                *expected,
                "{text:?}"
            );
        }
    }

    #[test]
    fn the_allowlist_decides_each_origin_header_exactly() {
        let listed = AllowedOrigins::parse("https://app.example.com, http://localhost:3000,")
            .expect("valid");
        let development = AllowedOrigins::development();
        let none = AllowedOrigins::none();
        // (origin header, listed, development default, none)
        let cases: &[(&str, bool, bool, bool)] = &[
            ("https://app.example.com", true, false, false),
            ("https://app.example.com:443", false, false, false),
            ("https://App.example.com", false, false, false),
            ("https://app.example.com.evil.example", false, false, false),
            ("https://evil.example", false, false, false),
            ("http://app.example.com", false, false, false),
            ("http://localhost:3000", true, true, false),
            ("http://localhost:3001", false, true, false),
            ("http://localhost", false, true, false),
            ("http://127.0.0.1:5173", false, true, false),
            ("https://localhost:3000", false, false, false),
            ("http://localhost.evil.example:3000", false, false, false),
            ("http://localhost:0", false, false, false),
            ("http://localhost:99999", false, false, false),
            ("http://localhost:3000/", false, false, false),
            ("http://localhost:", false, false, false),
            ("http://localhost:+80", false, false, false),
            ("http://[::1]:3000", false, false, false),
            ("null", false, false, false),
            ("", false, false, false),
        ];
        for (origin, in_list, in_development, in_none) in cases {
            assert_eq!(listed.allows(origin), *in_list, "listed: {origin:?}");
            assert_eq!(
                development.allows(origin),
                *in_development,
                "development: {origin:?}"
            );
            assert_eq!(none.allows(origin), *in_none, "none: {origin:?}");
        }
    }

    #[test]
    fn a_given_list_replaces_the_development_default_and_production_allows_none_by_default() {
        let cases: &[(Option<&str>, bool, AllowedOrigins)] = &[
            (None, true, AllowedOrigins::development()),
            (None, false, AllowedOrigins::none()),
            (Some(""), true, AllowedOrigins::none()),
            (Some(" , "), false, AllowedOrigins::none()),
            (
                Some("https://a.example, https://a.example:443"),
                false,
                AllowedOrigins::parse("https://a.example").expect("valid"),
            ),
        ];
        for (list, development, expected) in cases {
            assert_eq!(
                AllowedOrigins::resolve(*list, *development).as_ref(),
                Ok(expected),
                "{list:?} {development}"
            );
        }
        assert_eq!(
            AllowedOrigins::parse("https://a.example")
                .expect("valid")
                .exact()
                .len(),
            1
        );
        assert!(AllowedOrigins::none().is_empty());
        assert!(!AllowedOrigins::development().is_empty());
    }

    #[test]
    fn a_refused_list_names_the_entry_and_the_reason_but_not_the_text() {
        let error = AllowedOrigins::parse("https://ok.example, https://secret-host.example/")
            .expect_err("refused");
        assert_eq!(
            error,
            InvalidOriginList {
                position: 2,
                reason: InvalidOrigin::NotAnOrigin
            }
        );
        let message = error.to_string();
        assert!(message.starts_with("entry 2 "), "{message}");
        assert!(!message.contains("secret-host"), "{message}");
        assert_eq!(
            AllowedOrigins::parse("*").expect_err("refused").reason,
            InvalidOrigin::Wildcard
        );
    }
}

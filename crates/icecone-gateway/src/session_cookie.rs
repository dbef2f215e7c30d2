//! The browser session cookie: the cookie transport of a session (`X-IceCone-Session:
//! cookie`), in the style of the token-handler pattern. The browser holds only an opaque
//! handle — the session's current refresh token — in a `__Host-` cookie that scripts cannot
//! read (`HttpOnly`), that is sent only over a secure connection (`Secure`; browsers treat
//! `http://localhost` and `http://127.0.0.1` as secure, so development over plain HTTP on
//! loopback works), only to this host (`__Host-`, `Path=/`, no `Domain`) and only with
//! requests a page of the same site started (`SameSite=Strict`). No token is in any body.
//! The HTTP doors read the handle (`http::session`); the GraphQL mutations that open,
//! extend or end a session set or clear the cookie.

use actix_web::HttpRequest;
use actix_web::http::header;
use secrecy::{ExposeSecret, SecretString};

use icecone_app::auth::login::REFRESH_TOKEN_LIFETIME;

/// The cookie's name.
pub(crate) const COOKIE_NAME: &str = "__Host-icecone-session";

/// The request header with which a browser asks for the cookie transport.
pub(crate) const TRANSPORT_HEADER: header::HeaderName =
    header::HeaderName::from_static("x-icecone-session");

/// The attributes of every cookie the gateway sets.
const ATTRIBUTES: &str = "Path=/; Secure; HttpOnly; SameSite=Strict";

/// How a request's session travels, which the GraphQL mutations of sessions read.
#[derive(Clone)]
pub(crate) enum SessionTransport {
    /// Tokens in the body, the access token in `Authorization: Bearer`.
    Bearer,
    /// The session cookie: asked for with [`TRANSPORT_HEADER`], or sent without an
    /// `Authorization` header.
    Cookie {
        /// The handle the request's cookie holds, if it carries one.
        handle: Option<SecretString>,
    },
}

impl std::fmt::Debug for SessionTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Bearer => f.write_str("Bearer"),
            Self::Cookie { handle } => f
                .debug_struct("Cookie")
                .field("handle", &handle.as_ref().map(|_| "[redacted]"))
                .finish(),
        }
    }
}

impl SessionTransport {
    /// The transport of `request`.
    pub(crate) fn of(request: &HttpRequest) -> Self {
        let asked = request
            .headers()
            .get(TRANSPORT_HEADER)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.trim().eq_ignore_ascii_case("cookie"));
        let handle = handle_of(request);
        let bearer = request.headers().contains_key(header::AUTHORIZATION);
        if asked || (handle.is_some() && !bearer) {
            Self::Cookie {
                handle: handle.map(|handle| SecretString::from(handle.to_owned())),
            }
        } else {
            Self::Bearer
        }
    }

    /// Whether the session travels in the cookie.
    pub(crate) fn is_cookie(&self) -> bool {
        matches!(self, Self::Cookie { .. })
    }

    /// The handle of the request's cookie, if it carries one.
    pub(crate) fn handle(&self) -> Option<&str> {
        match self {
            Self::Cookie {
                handle: Some(handle),
            } => Some(handle.expose_secret()),
            _ => None,
        }
    }
}

/// The handle in `request`'s session cookie, if it carries one (the first, should a
/// browser send several).
pub(crate) fn handle_of(request: &HttpRequest) -> Option<&str> {
    request
        .headers()
        .get_all(header::COOKIE)
        .filter_map(|value| value.to_str().ok())
        .find_map(|value| handle_in(value))
}

/// The handle in one `Cookie` header value.
fn handle_in(cookies: &str) -> Option<&str> {
    cookies.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        let value = value.trim();
        (name.trim() == COOKIE_NAME && !value.is_empty()).then_some(value)
    })
}

/// The `Set-Cookie` value that hands the browser `handle`, for as long as the refresh token
/// it is can be spent.
pub(crate) fn set_cookie(handle: &str) -> String {
    format!(
        "{COOKIE_NAME}={handle}; {ATTRIBUTES}; Max-Age={}",
        REFRESH_TOKEN_LIFETIME.num_seconds()
    )
}

/// The `Set-Cookie` value that makes the browser forget the session cookie.
pub(crate) fn clear_cookie() -> String {
    format!("{COOKIE_NAME}=; {ATTRIBUTES}; Max-Age=0")
}

#[cfg(test)]
mod tests {
    use super::{clear_cookie, handle_in, set_cookie};

    #[test]
    fn the_handle_is_read_from_the_cookie_header_by_its_exact_name() {
        // (Cookie header, handle)
        let cases = [
            ("__Host-icecone-session=abc", Some("abc")),
            ("a=1; __Host-icecone-session=abc; b=2", Some("abc")),
            ("a=1;__Host-icecone-session = abc ", Some("abc")),
            ("icecone-session=abc", None),
            ("__host-icecone-session=abc", None),
            ("__Host-icecone-session=", None),
            ("__Host-icecone-session", None),
            ("", None),
        ];
        for (header, expected) in cases {
            assert_eq!(handle_in(header), expected, "{header}");
        }
    }

    #[test]
    fn the_cookie_is_host_only_secure_http_only_and_same_site_strict() {
        assert_eq!(
            set_cookie("h"),
            "__Host-icecone-session=h; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=2592000"
        );
        assert_eq!(
            clear_cookie(),
            "__Host-icecone-session=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0"
        );
    }
}

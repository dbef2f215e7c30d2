//! Cross-site request forgery: the one decision of whether a request that authenticates by
//! the browser's session cookie may run.
//!
//! The cookie is `SameSite=Strict`, so a browser attaches it only to requests that another
//! page of the same site started. On top of that, a request that may change state and
//! carries the cookie must be one a page on another site cannot send without the browser
//! asking the gateway first (a CORS preflight): a JSON body (`application/json` is not a
//! CORS-safelisted content type, while an HTML form can only send
//! `application/x-www-form-urlencoded`, `multipart/form-data` or `text/plain`) and an
//! `Origin` that [`AllowedOrigins::allows`]. A missing `Origin` is refused too: every
//! browser sends it on a `POST`, so only a client that is not a browser omits it — and such a
//! client has no business holding a browser's cookie.
//!
//! Safe methods (`GET`, `HEAD`) change no state (GraphQL over `GET` runs queries only), so
//! they are left to `SameSite=Strict`. Requests that authenticate with an `Authorization`
//! header are not subject to this decision at all: a page on another site cannot make a
//! browser attach that header.

use crate::origins::AllowedOrigins;

/// What the decision needs to know of a request that carries the session cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CookieRequest<'a> {
    /// Whether the method may change state (anything but `GET` and `HEAD`).
    pub state_changing: bool,
    /// Whether the body is declared `application/json` (not a CORS-safelisted type).
    pub json_body: bool,
    /// The request's `Origin` header, if any.
    pub origin: Option<&'a str>,
}

/// Why a request with the session cookie was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CsrfRefusal {
    /// A state-changing request without an `Origin` header.
    #[error("a request with the session cookie must carry an Origin header")]
    MissingOrigin,
    /// The `Origin` is not one whose pages may call the API.
    #[error("a request with the session cookie must come from an allowed origin")]
    OriginNotAllowed,
    /// The body is not JSON, so the browser sent it without a preflight.
    #[error("a request with the session cookie must send an application/json body")]
    SimpleContentType,
}

/// Whether a request that authenticates by the session cookie may run.
pub fn check(request: CookieRequest<'_>, allowed: &AllowedOrigins) -> Result<(), CsrfRefusal> {
    if !request.state_changing {
        return Ok(());
    }
    if !request.json_body {
        return Err(CsrfRefusal::SimpleContentType);
    }
    match request.origin {
        None => Err(CsrfRefusal::MissingOrigin),
        Some(origin) if allowed.allows(origin) => Ok(()),
        Some(_) => Err(CsrfRefusal::OriginNotAllowed),
    }
}

#[cfg(test)]
mod tests {
    use super::{CookieRequest, CsrfRefusal, check};
    use crate::origins::AllowedOrigins;

    #[test]
    fn a_cookie_request_that_changes_state_must_be_json_from_an_allowed_origin() {
        let allowed = AllowedOrigins::parse("https://app.example.com").expect("origins");
        let app = Some("https://app.example.com");
        let evil = Some("https://evil.example");
        // (state_changing, json_body, origin, expected)
        let cases = [
            (true, true, app, Ok(())),
            (true, true, evil, Err(CsrfRefusal::OriginNotAllowed)),
            (true, true, Some("null"), Err(CsrfRefusal::OriginNotAllowed)),
            (
                true,
                true,
                Some("https://app.example.com:8443"),
                Err(CsrfRefusal::OriginNotAllowed),
            ),
            (true, true, None, Err(CsrfRefusal::MissingOrigin)),
            (true, false, app, Err(CsrfRefusal::SimpleContentType)),
            (true, false, evil, Err(CsrfRefusal::SimpleContentType)),
            (true, false, None, Err(CsrfRefusal::SimpleContentType)),
            (false, false, None, Ok(())),
            (false, false, evil, Ok(())),
            (false, true, app, Ok(())),
        ];
        for (state_changing, json_body, origin, expected) in cases {
            let request = CookieRequest {
                state_changing,
                json_body,
                origin,
            };
            assert_eq!(check(request, &allowed), expected, "{request:?}");
        }
    }

    #[test]
    fn without_allowed_origins_no_cookie_request_may_change_state() {
        let none = AllowedOrigins::none();
        let request = CookieRequest {
            state_changing: true,
            json_body: true,
            origin: Some("http://localhost:3000"),
        };
        assert_eq!(check(request, &none), Err(CsrfRefusal::OriginNotAllowed));
        let development = AllowedOrigins::development();
        assert_eq!(check(request, &development), Ok(()));
    }
}

//! CORS for browser frontends on other origins, through `actix-cors`: an origin is allowed
//! exactly when core's [`AllowedOrigins::allows`] says so (`ICECONE_CORS_ORIGINS`; in
//! development, without it, `http://localhost:*` and `http://127.0.0.1:*`).
//!
//! The middleware wraps every route, so `/graphql`, `/media/{id}`, `/exports/{token}` and
//! the mail-link pages all answer preflights. A preflight from an allowed origin is
//! answered `200` with the allowed methods and request headers and an
//! `Access-Control-Max-Age`; an actual request from it gets `Access-Control-Allow-Origin`
//! echoing the origin. A disallowed origin gets no CORS header at all, and its request is
//! processed exactly as one without `Origin` (the browser then withholds the answer from
//! the page); its preflight is refused (`400`), so the browser never sends the request.
//! `Vary: Origin, Access-Control-Request-Method, Access-Control-Request-Headers` is on
//! every response, so no cache hands one origin's answer to another.
//!
//! Credentials are allowed (`Access-Control-Allow-Credentials: true`) for the allowed
//! origins only, so a page on one of them may send the browser session cookie with
//! `credentials: "include"` and read the answer; `X-IceCone-Session` is an allowed request
//! header, with which such a page asks for the cookie transport. Whether a request with the
//! cookie may change state is core's `csrf::check` (`http::session`), not CORS: CORS only
//! decides whether the page may read the answer.

use std::sync::Arc;

use actix_cors::Cors;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{self, HeaderMap, HeaderName};
use icecone_core::origins::AllowedOrigins;

/// The methods a cross-origin request may use.
pub(crate) const ALLOWED_METHODS: [Method; 2] = [Method::GET, Method::POST];

/// The request headers a cross-origin request may carry beyond the CORS-safelisted ones:
/// the credentials, a JSON body's media type and the choice of the session transport.
pub(crate) const ALLOWED_REQUEST_HEADERS: [HeaderName; 3] = [
    header::AUTHORIZATION,
    header::CONTENT_TYPE,
    crate::session_cookie::TRANSPORT_HEADER,
];

/// How long a browser may reuse a preflight's answer: ten minutes, so a change of the
/// allowlist reaches browsers soon (Chromium caps the value at two hours).
pub(crate) const MAX_AGE_SECONDS: usize = 600;

/// The CORS middleware over `origins`.
pub(crate) fn middleware(origins: Arc<AllowedOrigins>) -> Cors {
    Cors::default()
        .allowed_origin_fn(move |origin, _request| {
            origin.to_str().is_ok_and(|origin| origins.allows(origin))
        })
        .allowed_methods(ALLOWED_METHODS)
        .allowed_headers(ALLOWED_REQUEST_HEADERS)
        .max_age(MAX_AGE_SECONDS)
        .supports_credentials()
        // A disallowed origin's request runs as if it had no `Origin`: without CORS
        // headers, the browser keeps the answer from the page.
        .block_on_origin_mismatch(false)
}

/// Drops `Access-Control-Allow-Credentials` from an answer that allows no origin
/// (`actix-cors` adds it to every answer to a request with an `Origin`): a disallowed origin
/// gets no CORS header at all. Wraps [`middleware`].
pub(crate) fn only_with_an_allowed_origin<S, B>(
    request: ServiceRequest,
    service: &S,
) -> impl std::future::Future<Output = Result<ServiceResponse<B>, actix_web::Error>> + use<S, B>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    let future = service.call(request);
    async move {
        let mut response = future.await?;
        strip_stray_credentials(response.headers_mut());
        Ok(response)
    }
}

fn strip_stray_credentials(headers: &mut HeaderMap) {
    if !headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN) {
        headers.remove(header::ACCESS_CONTROL_ALLOW_CREDENTIALS);
    }
}

//! How every HTTP door (`/graphql`, `/media/{id}`, `/exports/{token}`, `/graphql/ws`)
//! reads a request's credentials: the `Authorization` header when it has one, otherwise
//! the browser session cookie ([`crate::session_cookie`]) — and, for a request in the
//! cookie transport, core's [`csrf::check`] before anything runs.
//!
//! A cookie that no longer authenticates (its handle's access lifetime passed, its session
//! ended) makes the request anonymous rather than refused: the browser cannot leave the
//! cookie off, and `refreshSession` must still reach the gateway to rotate it. Fields that
//! need a signed-in caller then answer `UNAUTHENTICATED`, as they do without credentials.

use actix_web::HttpRequest;
use actix_web::http::{Method, header};
use chrono::Utc;
use icecone_app::auth::viewer::{AuthFailure, Viewer, authenticate, authenticate_session_handle};
use icecone_core::csrf::{self, CookieRequest, CsrfRefusal};

use super::AppState;
use super::negotiate::is_json_body;
use crate::session_cookie::{SessionTransport, handle_of};

/// The viewer of `request`, from its `Authorization` header or else its session cookie.
pub(crate) async fn viewer(request: &HttpRequest, state: &AppState) -> Result<Viewer, AuthFailure> {
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    if authorization.is_some() {
        return authenticate(authorization, &state.tokens, &state.store).await;
    }
    let Some(handle) = handle_of(request) else {
        return Ok(Viewer::Anonymous);
    };
    match authenticate_session_handle(handle, &state.store, Utc::now()).await {
        Ok(viewer) => Ok(viewer),
        Err(AuthFailure::Unavailable) => Err(AuthFailure::Unavailable),
        Err(failure) => {
            tracing::info!(reason = %failure, "the session cookie does not authenticate");
            Ok(Viewer::Anonymous)
        }
    }
}

/// Why `request` must not run, when it is in the cookie transport and a page on another
/// site could have sent it (core's [`csrf::check`]).
pub(crate) fn forgery(request: &HttpRequest, state: &AppState) -> Option<CsrfRefusal> {
    if !SessionTransport::of(request).is_cookie() {
        return None;
    }
    let cookie_request = CookieRequest {
        state_changing: !matches!(*request.method(), Method::GET | Method::HEAD),
        json_body: is_json_body(
            request
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|value| value.to_str().ok()),
        ),
        origin: request
            .headers()
            .get(header::ORIGIN)
            .and_then(|value| value.to_str().ok()),
    };
    let refusal = csrf::check(cookie_request, &state.origins).err()?;
    tracing::info!(reason = %refusal, "a request with the session cookie was refused");
    Some(refusal)
}

/// Whether `request`, which carries the session cookie, comes from a page whose origin may
/// call the API: what a WebSocket authenticated by the cookie must show, since browsers
/// send no preflight before an upgrade.
pub(crate) fn cookie_origin_allowed(request: &HttpRequest, state: &AppState) -> bool {
    request
        .headers()
        .get(header::ORIGIN)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|origin| state.origins.allows(origin))
}

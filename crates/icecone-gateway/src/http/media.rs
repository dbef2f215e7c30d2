//! `GET /media/{id}`: a generation's media, decrypted, for its owner only.
//!
//! The caller must carry the owner's bearer token or session cookie (`http::session`, as `/graphql`):
//! anonymous callers, other people and unknown ids all get the same `404`, so the route
//! tells nobody which generations exist. Every answer is `Cache-Control: private,
//! no-store` (and carries the security headers of every response, `nosniff` among them);
//! the `Content-Type` is the one stored with the media.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use uuid::Uuid;

use super::AppState;
use icecone_app::auth::viewer::{AuthFailure, Viewer};

const NO_STORE: &str = "private, no-store";

/// `GET /media/{id}`.
pub(crate) async fn get(
    request: HttpRequest,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let viewer = match super::session::viewer(&request, &state).await {
        Ok(viewer) => viewer,
        Err(AuthFailure::Unavailable) => {
            tracing::error!("the session store could not be read while authenticating");
            return plain(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
        }
        Err(failure) => {
            tracing::info!(reason = %failure, "credentials refused");
            let mut response = plain(StatusCode::UNAUTHORIZED, "the access token is not valid");
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
            return response;
        }
    };
    let Viewer::Account(viewer) = viewer else {
        return not_found();
    };
    let Ok(id) = Uuid::try_parse(&id) else {
        return not_found();
    };
    let media = match state.store.account_cached(viewer.account).await {
        Ok(Some(account)) => state.generations.media(&account, id).await,
        Ok(None) => return not_found(),
        Err(error) => Err(error.into()),
    };
    match media {
        Ok(Some(media)) => match HeaderValue::from_str(&media.media_type) {
            Ok(content_type) => {
                let mut response = HttpResponse::Ok()
                    .insert_header((header::CACHE_CONTROL, NO_STORE))
                    .body(media.bytes);
                response
                    .headers_mut()
                    .insert(header::CONTENT_TYPE, content_type);
                response
            }
            Err(_) => {
                tracing::error!("a stored media type is not a valid header value");
                plain(StatusCode::INTERNAL_SERVER_ERROR, "internal server error")
            }
        },
        Ok(None) => not_found(),
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "media could not be read");
            plain(StatusCode::INTERNAL_SERVER_ERROR, "internal server error")
        }
    }
}

fn not_found() -> HttpResponse {
    plain(StatusCode::NOT_FOUND, "not found")
}

fn plain(status: StatusCode, text: &'static str) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, NO_STORE))
        .content_type("text/plain; charset=utf-8")
        .body(text)
}

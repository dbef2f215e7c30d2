//! `GET /exports/{token}`: a completed data export (a ZIP), once, for its owner only; and
//! `GET /schemas/export-v1.json`, the published JSON Schema of its `export.json`.
//!
//! The caller must carry the owner's bearer token or session cookie. An unknown token, an anonymous caller
//! and someone else's link all get the same `404`. A link that was used or has expired is
//! `410 Gone` with a typed JSON error (`EXPORT_LINK_USED`, `EXPORT_LINK_EXPIRED`): the
//! bundle is deleted once downloaded, and the purge deletes it when the link expires. A
//! bundle is sent as it is opened, a chunk at a time.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use futures_util::StreamExt as _;
use icecone_store::data_requests::StoredExport;

use super::AppState;
use crate::graphql::error::{ErrorCode, INTERNAL_MESSAGE};
use icecone_app::auth::viewer::{AuthFailure, Viewer};
use icecone_app::rights::export;

const NO_STORE: &str = "private, no-store";

/// `GET /schemas/export-v1.json`.
pub(crate) async fn schema() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/schema+json")
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(export::SCHEMA_JSON)
}

/// `GET /exports/{token}`.
pub(crate) async fn get(
    request: HttpRequest,
    token: web::Path<String>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let viewer = match super::session::viewer(&request, &state).await {
        Ok(viewer) => viewer,
        Err(AuthFailure::Unavailable) => {
            tracing::error!("the session store could not be read while authenticating");
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::InternalServerError,
                INTERNAL_MESSAGE,
            );
        }
        Err(failure) => {
            tracing::info!(reason = %failure, "credentials refused");
            let mut response = error(
                StatusCode::UNAUTHORIZED,
                ErrorCode::Unauthenticated,
                "the access token is not valid",
            );
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
    let digest = icecone_app::auth::login::digest(&token);
    let request = match state.store.data_request_by_download(&digest).await {
        Ok(Some(request)) if request.account == viewer.account => request,
        Ok(_) => return not_found(),
        Err(failure) => return internal(&failure),
    };
    let now = Utc::now();
    if request.download_used_at.is_some() {
        return gone(
            ErrorCode::ExportLinkUsed,
            "this download link was used already",
        );
    }
    if request
        .download_expires_at
        .is_none_or(|expires| expires <= now)
    {
        return gone(
            ErrorCode::ExportLinkExpired,
            "this download link has expired",
        );
    }
    let owner = match state.store.account(viewer.account).await {
        Ok(Some(owner)) => owner,
        Ok(None) => return not_found(),
        Err(failure) => return internal(&failure),
    };
    let stored = match state.store.take_export(owner.id, request.id, now).await {
        Ok(Some(stored)) => stored,
        // Spent or expired between the read and the update.
        Ok(None) => {
            return gone(
                ErrorCode::ExportLinkUsed,
                "this download link was used already",
            );
        }
        Err(failure) => return internal(&failure),
    };
    let mut response = HttpResponse::Ok();
    response
        .content_type("application/zip")
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"icecone-export.zip\"",
        ))
        .insert_header((header::CACHE_CONTROL, NO_STORE));
    match stored {
        // Sent a chunk at a time, as it is opened: never held whole.
        StoredExport::Chunked(count) => {
            let chunks = export::chunks(
                state.store.clone(),
                state.vault.clone(),
                owner,
                request.id,
                count,
            )
            .map(|chunk| {
                chunk.map(web::Bytes::from).map_err(|failure| {
                    tracing::error!(
                        error = format!("{failure:#}"),
                        "an export could not be opened"
                    );
                    actix_web::error::ErrorInternalServerError(INTERNAL_MESSAGE)
                })
            });
            response.streaming(chunks)
        }
        StoredExport::Whole(sealed) => {
            match export::open_bundle(&state.vault, &owner, request.id, &sealed).await {
                Ok(zip) => response.body(zip),
                Err(failure) => {
                    tracing::error!(
                        error = format!("{failure:#}"),
                        "an export could not be opened"
                    );
                    error(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        ErrorCode::InternalServerError,
                        INTERNAL_MESSAGE,
                    )
                }
            }
        }
    }
}

fn internal(failure: &icecone_store::StoreError) -> HttpResponse {
    tracing::error!(error = %icecone_app::error_chain(failure), "an export could not be read");
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::InternalServerError,
        INTERNAL_MESSAGE,
    )
}

fn not_found() -> HttpResponse {
    error(StatusCode::NOT_FOUND, ErrorCode::NotFound, "not found")
}

fn gone(code: ErrorCode, message: &'static str) -> HttpResponse {
    error(StatusCode::GONE, code, message)
}

/// A JSON error: `{"error": {"code", "message"}}`, the code from the one list.
fn error(status: StatusCode, code: ErrorCode, message: &'static str) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, NO_STORE))
        .json(serde_json::json!({ "error": { "code": code.as_str(), "message": message } }))
}

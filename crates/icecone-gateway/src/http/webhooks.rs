//! `POST /webhooks/stripe`: Stripe's events, verified and applied by
//! `icecone_app::billing::Billing::handle_webhook`. The body is read as raw bytes (the
//! signature covers them exactly) up to the gateway's body limit.
//!
//! | answer | when |
//! | --- | --- |
//! | `200` `{"received": true}` | verified: applied now, applied before (a duplicate), about no account here, or a type billing ignores |
//! | `400` `BAD_USER_INPUT` | no, a forged, stale or malformed `Stripe-Signature`, or a body that is not a Stripe event: nothing changes |
//! | `404` `BILLING_UNAVAILABLE` | billing is off on this deployment |
//! | `500` `INTERNAL_SERVER_ERROR` | the database or Stripe failed: nothing changed, and Stripe delivers the event again |
//!
//! Nothing of the request is logged but the outcome; a refusal's reason is logged as its
//! kind (`stale`), never a header or body value.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use icecone_app::billing::webhook::WebhookError;

use super::AppState;
use crate::graphql::error::{ErrorCode, INTERNAL_MESSAGE};

fn error(status: StatusCode, code: ErrorCode, message: &'static str) -> HttpResponse {
    HttpResponse::build(status)
        .json(serde_json::json!({ "error": { "code": code.as_str(), "message": message } }))
}

/// `POST /webhooks/stripe`.
pub(crate) async fn stripe(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let Some(billing) = state.billing.as_deref() else {
        return error(
            StatusCode::NOT_FOUND,
            ErrorCode::BillingUnavailable,
            "billing is not available on this deployment",
        );
    };
    let signature = request
        .headers()
        .get("stripe-signature")
        .and_then(|value| value.to_str().ok());
    match billing.handle_webhook(signature, &body, Utc::now()).await {
        Ok(_) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(serde_json::json!({ "received": true })),
        Err(WebhookError::Refused(refusal)) => {
            tracing::warn!(reason = %refusal, "a Stripe webhook request was refused");
            error(
                StatusCode::BAD_REQUEST,
                ErrorCode::BadUserInput,
                "the Stripe-Signature header does not verify",
            )
        }
        Err(WebhookError::Malformed) => {
            tracing::warn!("a verified Stripe webhook body could not be read");
            error(
                StatusCode::BAD_REQUEST,
                ErrorCode::BadUserInput,
                "the body is not a Stripe event",
            )
        }
        Err(WebhookError::Unavailable) => error(
            StatusCode::NOT_FOUND,
            ErrorCode::BillingUnavailable,
            "billing is not available on this deployment",
        ),
        Err(other) => {
            tracing::error!(
                error = %icecone_app::error_chain(&other),
                "a Stripe webhook event could not be applied: Stripe delivers it again"
            );
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::InternalServerError,
                INTERNAL_MESSAGE,
            )
        }
    }
}

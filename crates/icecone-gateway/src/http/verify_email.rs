//! `GET /verify-email?token=…` and `POST /verify-email`: the page a verification link in an
//! e-mail opens.
//!
//! `GET` only shows a page with a button: it never reads or spends the token, so a mail
//! scanner that prefetches links cannot use it up. The button posts the token back to the
//! same path, and `POST` does exactly what the `verifyEmail(token)` mutation does (the same
//! application function, `sign_up::verify_email`), answering with a page: `200` when the
//! address is confirmed, `400` for a link that is unknown, used or expired (or an address
//! verified already or taken by another account — `BAD_USER_INPUT` in the API), `429` when
//! throttled, `500` otherwise. Pages carry no personal data, are never cached, send no
//! `Referer` (the token is in the URL) and allow no script, style or frame.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpMessage as _, HttpRequest, HttpResponse, web};
use icecone_app::auth::sign_up::{self, SignUpError};
use icecone_app::mail::templates::escape;
use serde::Deserialize;

use super::page::page;
use super::{AppState, ClientAddress, RequestId};

/// The token, from the query string (`GET`) or the form (`POST`).
#[derive(Deserialize)]
pub(crate) struct TokenParameter {
    token: Option<String>,
}

/// `GET /verify-email?token=…`: the page with the button.
pub(crate) async fn get(query: web::Query<TokenParameter>) -> HttpResponse {
    match query.into_inner().token.filter(|token| !token.is_empty()) {
        Some(token) => page(
            StatusCode::OK,
            "Confirm your e-mail address",
            &format!(
                "<p>Press the button to confirm your e-mail address for IceCone.</p>\n\
                 <form method=\"post\" action=\"/verify-email\">\
                 <input type=\"hidden\" name=\"token\" value=\"{}\">\
                 <button type=\"submit\">Confirm my address</button></form>",
                escape(&token)
            ),
        ),
        None => incomplete(),
    }
}

/// `POST /verify-email` with the form field `token`: confirms the address.
pub(crate) async fn post(
    request: HttpRequest,
    form: Option<web::Form<TokenParameter>>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let Some(token) = form
        .and_then(|form| form.into_inner().token)
        .filter(|token| !token.is_empty())
    else {
        return incomplete();
    };
    let Some(address) = ClientAddress::of(&request, &state.trusted_proxies) else {
        return page(
            StatusCode::FORBIDDEN,
            "Not confirmed",
            "<p>The address of your connection is unknown, so the link cannot be used from it.</p>",
        );
    };
    let request_id = request.extensions().get::<RequestId>().cloned();
    let cx = icecone_app::context::Context {
        store: &state.store,
        vault: &state.vault,
        tokens: &state.tokens,
        client_address: &address.0,
        request_id: request_id.as_ref().map(|id| id.0.as_str()),
    };
    match sign_up::verify_email(cx, &token).await {
        Ok(_) => page(
            StatusCode::OK,
            "Address confirmed",
            "<p>Thank you: your e-mail address is confirmed. You can sign in to IceCone with it now.</p>",
        ),
        Err(SignUpError::InvalidLink) => page(
            StatusCode::BAD_REQUEST,
            "This link does not work any more",
            "<p>This confirmation link was used already or has expired. Sign in and ask for a new link if your address is not confirmed yet.</p>",
        ),
        Err(SignUpError::AlreadyVerified) => page(
            StatusCode::BAD_REQUEST,
            "Already confirmed",
            "<p>This e-mail address is confirmed already.</p>",
        ),
        Err(SignUpError::AddressTaken) => page(
            StatusCode::BAD_REQUEST,
            "Not confirmed",
            "<p>This address belongs to another IceCone account: sign in to that one instead.</p>",
        ),
        Err(SignUpError::Throttled {
            retry_after_seconds,
        }) => {
            let mut response = page(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many attempts",
                "<p>Too many attempts: please try again later.</p>",
            );
            if let Ok(value) = HeaderValue::from_str(&retry_after_seconds.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
        Err(error @ (SignUpError::Session(_) | SignUpError::Register(_))) => {
            tracing::error!(
                error = %icecone_app::error_chain(&error),
                "an e-mail verification link could not be used"
            );
            page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "<p>Your address could not be confirmed just now. Please try again later.</p>",
            )
        }
    }
}

fn incomplete() -> HttpResponse {
    page(
        StatusCode::BAD_REQUEST,
        "This link is incomplete",
        "<p>This confirmation link is incomplete. Open the whole link from the e-mail.</p>",
    )
}

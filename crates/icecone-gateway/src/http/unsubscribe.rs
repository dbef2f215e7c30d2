//! `GET /unsubscribe?token=…` and `POST /unsubscribe`: the one-click unsubscribe of a
//! product-news mail (RFC 8058).
//!
//! `GET` only shows a page with a button (a mail scanner that prefetches links changes
//! nothing). `POST` withdraws `MARKETING` for the account the token names, with source
//! `UNSUBSCRIBE` (`icecone_app::campaigns::unsubscribe`): from a mail client, which posts
//! `List-Unsubscribe=One-Click` to the URI of the `List-Unsubscribe` header (the token in
//! its query), or from the page's button (the token in the form as well). It answers `200`
//! with a small page, also when marketing was withdrawn already; `400` with a page that says
//! only that the link is not valid for a token that does not parse, does not verify or
//! names no account.
//!
//! No sign-in, no cookie and no CSRF token: RFC 8058 requires that the `POST` work without
//! either, from a mail provider's servers. The token itself is the capability — an HMAC
//! under a key only this deployment has, bound to one account and to this one act — so a
//! cross-site form that posts it can only do what the link's holder may do anyway, and a
//! forged one does nothing. Not rate limited: a token is a 256-bit MAC, which no number of
//! attempts finds, and a valid one can only withdraw a consent once.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use icecone_app::campaigns::{self, UnsubscribeError};
use icecone_app::mail::templates::escape;
use serde::Deserialize;

use super::AppState;
use super::page::page;

/// The token, from the query string or the page's form. (A mail client's form,
/// `List-Unsubscribe=One-Click`, carries no token: it is in the URI's query.)
#[derive(Deserialize)]
pub(crate) struct TokenParameter {
    token: Option<String>,
}

/// `GET /unsubscribe?token=…`: the page with the button.
pub(crate) async fn get(query: web::Query<TokenParameter>) -> HttpResponse {
    match query.into_inner().token.filter(|token| !token.is_empty()) {
        Some(token) => page(
            StatusCode::OK,
            "Unsubscribe from IceCone's product news",
            &format!(
                "<p>Press the button to stop receiving IceCone's product news. Messages about your account and the service still reach you.</p>\n\
                 <form method=\"post\" action=\"/unsubscribe?token={token}\">\
                 <input type=\"hidden\" name=\"token\" value=\"{token}\">\
                 <button type=\"submit\">Unsubscribe</button></form>",
                token = escape(&token)
            ),
        ),
        None => invalid(),
    }
}

/// `POST /unsubscribe`: the token from the query or the form.
pub(crate) async fn post(
    query: web::Query<TokenParameter>,
    form: Option<web::Form<TokenParameter>>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let token = query
        .into_inner()
        .token
        .or_else(|| form.and_then(|form| form.into_inner().token))
        .filter(|token| !token.is_empty());
    let Some(token) = token else {
        return invalid();
    };
    match campaigns::unsubscribe(&state.store, &state.vault, &token, state.policy).await {
        Ok(_) => page(
            StatusCode::OK,
            "You are unsubscribed",
            "<p>You will receive no more product news from IceCone. You can agree to it again at any time in your privacy settings.</p>",
        ),
        Err(UnsubscribeError::InvalidLink) => invalid(),
        Err(error @ UnsubscribeError::Store(_)) => {
            tracing::error!(
                error = %icecone_app::error_chain(&error),
                "an unsubscribe link could not be used"
            );
            page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "<p>You could not be unsubscribed just now. Please try again later.</p>",
            )
        }
    }
}

fn invalid() -> HttpResponse {
    page(
        StatusCode::BAD_REQUEST,
        "This link is not valid",
        "<p>This unsubscribe link is not valid. Open the whole link from the e-mail, or change what you receive in your privacy settings.</p>",
    )
}

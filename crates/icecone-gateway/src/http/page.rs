//! The small HTML pages the gateway serves itself (the mail links' `/verify-email` and
//! `/unsubscribe`): no script, no style, no remote resource, and a policy that allows only
//! a form posting back to the gateway. The security-headers middleware adds the rest.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header;
use icecone_app::mail::templates::escape;

/// The pages' Content-Security-Policy: nothing loads; a form may post only to the gateway.
const CSP: &str = "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// A page: `title` is text (escaped here), `body` trusted HTML written by the caller with
/// every inserted value escaped.
pub(super) fn page(status: StatusCode, title: &str, body: &str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .body(format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width\"><title>{title} · IceCone</title></head>\n\
             <body>\n<h1>{title}</h1>\n{body}\n</body>\n</html>\n",
            title = escape(title),
        ))
}

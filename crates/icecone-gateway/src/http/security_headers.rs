//! The security headers of every response, set in one middleware that wraps every route
//! (a new page gets them without work):
//!
//! - `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`;
//! - `Cross-Origin-Resource-Policy: same-site`, media included. A frontend on another
//!   site reads media with `fetch` (CORS mode, where the allowlist governs and CORP does
//!   not apply) because `/media/{id}` needs the `Authorization` header, which an `<img>`
//!   cannot send; `cross-origin` would only let any site embed an answer without asking
//!   the allowlist;
//! - `X-Frame-Options: DENY` and a `Content-Security-Policy`: a handler's own policy
//!   (the verification page allows its form, GraphiQL its own scripts), otherwise
//!   [`DEFAULT_CSP`], which allows nothing to load, run, frame or submit;
//! - `Cache-Control: no-store` unless the handler chose a caching policy: only answers
//!   without personal data choose one (the JWKS, the GPC statement, the export and privacy schemas,
//!   GraphiQL's files), so every answer that may carry personal data is `no-store`;
//! - `Vary` naming `Origin` (the CORS middleware sets it; this makes sure).

use actix_web::body::BoxBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::header::{self, HeaderMap, HeaderValue};

/// The policy of every response whose handler sets none: nothing may load, run, be
/// submitted, or frame it.
pub(crate) const DEFAULT_CSP: &str =
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// The middleware: the headers on the answer, also when the inner service failed.
pub(crate) fn apply<S, B>(
    request: ServiceRequest,
    service: &S,
) -> impl std::future::Future<Output = Result<ServiceResponse<BoxBody>, actix_web::Error>> + use<S, B>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: actix_web::body::MessageBody + 'static,
{
    let future = service.call(request);
    async move {
        match future.await {
            Ok(response) => {
                let mut response = response.map_into_boxed_body();
                set(response.headers_mut());
                Ok(response)
            }
            // The answer an error becomes, with the headers, still as an error (the
            // request is gone, and cloning it before the call would break routing).
            Err(error) => {
                let mut response = error.error_response();
                set(response.headers_mut());
                Err(InternalError::from_response("the request failed", response).into())
            }
        }
    }
}

/// Sets the security headers on a response's headers.
pub(crate) fn set(headers: &mut HeaderMap) {
    for (name, value) in [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CROSS_ORIGIN_RESOURCE_POLICY, "same-site"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(DEFAULT_CSP),
        );
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    let varies_by_origin = headers.get_all(header::VARY).any(|value| {
        value.to_str().is_ok_and(|value| {
            value
                .split(',')
                .any(|name| name.trim().eq_ignore_ascii_case("origin") || name.trim() == "*")
        })
    });
    if !varies_by_origin {
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(name.clone(), HeaderValue::from_static(value));
        }
        map
    }

    fn values(map: &HeaderMap, name: header::HeaderName) -> Vec<&str> {
        map.get_all(name)
            .map(|value| value.to_str().expect("text"))
            .collect()
    }

    /// Headers the handler set; the CSP, Cache-Control and Vary expected.
    type Case = (
        Vec<(header::HeaderName, &'static str)>,
        &'static str,
        &'static str,
        Vec<&'static str>,
    );

    #[test]
    fn every_answer_gets_the_headers_and_a_handlers_own_policy_is_kept() {
        // (headers the handler set, expected CSP, expected Cache-Control, expected Vary)
        let cases: &[Case] = &[
            (vec![], DEFAULT_CSP, "no-store", vec!["Origin"]),
            (
                vec![
                    (header::CONTENT_SECURITY_POLICY, "default-src 'self'"),
                    (header::CACHE_CONTROL, "public, max-age=60"),
                ],
                "default-src 'self'",
                "public, max-age=60",
                vec!["Origin"],
            ),
            (
                vec![(header::VARY, "Origin, Access-Control-Request-Method")],
                DEFAULT_CSP,
                "no-store",
                vec!["Origin, Access-Control-Request-Method"],
            ),
            (
                vec![(header::VARY, "Accept")],
                DEFAULT_CSP,
                "no-store",
                vec!["Accept", "Origin"],
            ),
            (
                vec![
                    (header::X_FRAME_OPTIONS, "SAMEORIGIN"),
                    (header::REFERRER_POLICY, "origin"),
                ],
                DEFAULT_CSP,
                "no-store",
                vec!["Origin"],
            ),
        ];
        for (set_by_handler, csp, cache, vary) in cases {
            let mut map = headers(set_by_handler);
            set(&mut map);
            assert_eq!(values(&map, header::CONTENT_SECURITY_POLICY), [*csp]);
            assert_eq!(values(&map, header::CACHE_CONTROL), [*cache]);
            assert_eq!(&values(&map, header::VARY), vary);
            assert_eq!(values(&map, header::X_CONTENT_TYPE_OPTIONS), ["nosniff"]);
            assert_eq!(values(&map, header::REFERRER_POLICY), ["no-referrer"]);
            assert_eq!(
                values(&map, header::CROSS_ORIGIN_RESOURCE_POLICY),
                ["same-site"]
            );
            assert_eq!(values(&map, header::X_FRAME_OPTIONS), ["DENY"]);
        }
    }
}

//! The HTTP surface: routes, the request-id middleware, health and schema endpoints.

use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{HttpMessage, HttpResponse, web};
use icecone_core::client_address::{LimitKey, TrustedProxies, client_ip};
use icecone_store::Store;
use tracing::Instrument;

use crate::config::Environment;
use crate::graphql::Executor;

mod exports;
mod graphql;
mod media;
mod negotiate;
mod websocket;

pub(crate) use websocket::Sockets;

/// What every handler can reach.
pub(crate) struct AppState {
    pub(crate) executor: Executor,
    /// Signs and verifies access tokens; publishes their keys.
    pub(crate) tokens: std::sync::Arc<crate::auth::tokens::TokenSigner>,
    /// The stored generations, whose media `/media/{id}` serves.
    pub(crate) generations: std::sync::Arc<crate::generation::Generations>,
    pub(crate) store: Store,
    /// Opens the data exports `/exports/{token}` serves.
    pub(crate) vault: std::sync::Arc<crate::keys::vault::Vault>,
    pub(crate) environment: Environment,
    pub(crate) max_body_bytes: usize,
    pub(crate) max_batch: usize,
    /// The proxies whose forwarding headers name the client.
    pub(crate) trusted_proxies: TrustedProxies,
    /// The WebSocket connections open on this instance, and their limits.
    pub(crate) sockets: websocket::Sockets,
    /// The SDL, rendered once at start-up.
    pub(crate) sdl: String,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("store", &self.store)
            .field("environment", &self.environment)
            .finish_non_exhaustive()
    }
}

/// The request-id header, set on every response and accepted from a trusted proxy.
pub(crate) const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The `Strict-Transport-Security` value sent on every response when the gateway serves
/// HTTPS: browsers keep to HTTPS for this host and its subdomains for two years. Never sent
/// over plain HTTP, where browsers ignore it; behind a TLS proxy, the proxy sends it.
pub(crate) const HSTS: &str = "max-age=63072000; includeSubDomains";

/// Registers every route.
pub(crate) fn routes(config: &mut web::ServiceConfig) {
    config
        .service(
            web::resource("/graphql")
                .route(web::post().to(graphql::post))
                .route(web::get().to(graphql::get))
                .default_service(web::to(graphql::method_not_allowed)),
        )
        .route("/graphql/ws", web::get().to(websocket::upgrade))
        .route("/media/{id}", web::get().to(media::get))
        .route("/exports/{token}", web::get().to(exports::get))
        .route("/schemas/export-v1.json", web::get().to(exports::schema))
        .route("/schema.graphql", web::get().to(schema_sdl))
        .route("/.well-known/jwks.json", web::get().to(jwks))
        .route("/.well-known/gpc.json", web::get().to(gpc))
        .route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz));
}

async fn schema_sdl(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(state.sdl.clone())
}

/// The public keys of access tokens (RFC 7517), for clients and partners that verify them.
async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/jwk-set+json")
        .insert_header(("cache-control", "public, max-age=300"))
        .json(state.tokens.jwks())
}

/// The Global Privacy Control support resource: signed-in requests with `Sec-GPC: 1`
/// withdraw consent to marketing. `lastUpdate` is when that behaviour last changed.
async fn gpc() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("cache-control", "public, max-age=86400"))
        .json(serde_json::json!({ "gpc": true, "lastUpdate": GPC_LAST_UPDATE }))
}

/// When the gateway's handling of GPC last changed.
const GPC_LAST_UPDATE: &str = "2026-11-29";

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match state.store.check_ready().await {
        Ok(()) => HttpResponse::Ok().json(serde_json::json!({ "status": "ready" })),
        Err(error) => {
            tracing::warn!(error = %error_chain(&error), "not ready");
            HttpResponse::ServiceUnavailable().json(serde_json::json!({ "status": "unavailable" }))
        }
    }
}

/// An error and its causes on one line.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// What per-address limits count a request by: its client's IP address (the TCP peer, or
/// what the operator's trusted proxies say it forwarded), IPv6 grouped by /64. Personal
/// data: it is only ever stored as a keyed blind index. Every door that runs GraphQL
/// operations attaches one; an operation that needs it and finds none is refused.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ClientAddress(pub(crate) String);

impl ClientAddress {
    /// The client of `request`; `None` when the connection has no IP peer.
    pub(crate) fn of(request: &actix_web::HttpRequest, trusted: &TrustedProxies) -> Option<Self> {
        let peer = request.peer_addr()?.ip();
        let values = |name: &str| -> Vec<&str> {
            request
                .headers()
                .get_all(name)
                .filter_map(|value| value.to_str().ok())
                .collect()
        };
        let client = client_ip(
            peer,
            &values("forwarded"),
            &values("x-forwarded-for"),
            trusted,
        );
        Some(Self(LimitKey::of(client).as_str().to_owned()))
    }
}

/// A request id: the caller's `x-request-id` when it is a short token of safe characters
/// (so nothing personal or hostile can ride on it into the logs), else a fresh UUID.
#[derive(Debug, Clone)]
pub(crate) struct RequestId(pub(crate) String);

impl RequestId {
    fn from_header(value: Option<&HeaderValue>) -> Self {
        let given = value.and_then(|v| v.to_str().ok()).filter(|v| {
            (1..=64).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
        Self(given.map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned))
    }
}

/// Wraps the app: one span per request carrying the request id (so every log line of the
/// request has it), the id echoed on the response, and one access-log line with method,
/// route pattern, status and latency. The path and query string are never logged: GET
/// requests carry GraphQL variables there.
pub(crate) fn request_span<S, B>(
    request: actix_web::dev::ServiceRequest,
    service: &S,
) -> impl std::future::Future<Output = Result<ServiceResponse<B>, actix_web::Error>> + use<S, B>
where
    S: Service<
            actix_web::dev::ServiceRequest,
            Response = ServiceResponse<B>,
            Error = actix_web::Error,
        >,
{
    let id = RequestId::from_header(request.headers().get(REQUEST_ID));
    let route = request
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let span = tracing::info_span!(
        "request",
        request_id = %id.0,
        method = %request.method(),
        route = %route,
        status = tracing::field::Empty,
    );
    request.extensions_mut().insert(id.clone());
    let started = std::time::Instant::now();
    let future = {
        let _entered = span.enter();
        service.call(request)
    };
    async move {
        let mut response = future.await?;
        let status = response.status().as_u16();
        tracing::Span::current().record("status", status);
        if let Ok(value) = HeaderValue::from_str(&id.0) {
            response.headers_mut().insert(REQUEST_ID, value);
        }
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        tracing::info!(latency_ms, "request finished");
        Ok(response)
    }
    .instrument(span)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_safe_short_request_ids_are_taken_from_the_caller() {
        let cases: &[(&str, bool)] = &[
            ("abc-123_DEF", true),
            ("0f8fad5b-d9cb-469f-a165-70867728950e", true),
            ("", false),
            ("has space", false),
            ("alice@example.com", false),
            ("line\nbreak", false),
            (&"x".repeat(65), false),
        ];
        for (given, kept) in cases {
            let value = HeaderValue::from_str(given).ok();
            let id = RequestId::from_header(value.as_ref());
            assert_eq!(id.0 == *given, *kept, "given {given:?}");
            assert!(!id.0.is_empty());
        }
    }

    #[test]
    fn an_error_chain_lists_every_cause() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer")]
        struct Outer(#[source] std::io::Error);
        let text = error_chain(&Outer(std::io::Error::other("inner")));
        assert_eq!(text, "outer: inner");
    }
}

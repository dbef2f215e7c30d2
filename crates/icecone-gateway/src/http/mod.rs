//! The HTTP surface: routes, the request-id middleware, health and schema endpoints; CORS
//! ([`cors`]) and the security headers of every response ([`security_headers`]).

use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{HttpMessage, HttpResponse, web};
use icecone_store::Store;
use tracing::Instrument;

use crate::config::Environment;
use crate::graphql::Executor;

pub(crate) mod cors;
mod exports;
mod graphiql;
mod graphql;
mod media;
mod negotiate;
mod page;
mod privacy;
pub(crate) mod security_headers;
mod session;
mod unsubscribe;
mod verify_email;
mod webhooks;
mod websocket;

pub(crate) use crate::request::{ClientAddress, RequestId};

pub(crate) use websocket::Sockets;

/// What every handler can reach.
pub(crate) struct AppState {
    pub(crate) executor: Executor,
    /// Signs and verifies access tokens; publishes their keys.
    pub(crate) tokens: std::sync::Arc<icecone_app::tokens::TokenSigner>,
    /// The stored generations, whose media `/media/{id}` serves.
    pub(crate) generations: std::sync::Arc<icecone_app::generation::Generations>,
    pub(crate) store: Store,
    /// Opens the data exports `/exports/{token}` serves.
    pub(crate) vault: std::sync::Arc<icecone_app::keys::vault::Vault>,
    pub(crate) environment: Environment,
    pub(crate) max_body_bytes: usize,
    pub(crate) max_batch: usize,
    /// The proxies whose forwarding headers name the client.
    pub(crate) trusted_proxies: icecone_core::client_address::TrustedProxies,
    /// The WebSocket connections open on this instance, and their limits.
    pub(crate) sockets: websocket::Sockets,
    /// The SDL, rendered once at start-up.
    pub(crate) sdl: String,
    /// The privacy policy versions the gateway runs with (the last in force).
    pub(crate) policy: icecone_core::consent::policy::PolicyHistory,
    /// The browser origins whose pages may call the API (CORS, and the session cookie's
    /// cross-site request rule).
    pub(crate) origins: std::sync::Arc<icecone_core::origins::AllowedOrigins>,
    /// What the privacy page and `privacy.json` publish.
    pub(crate) transparency: std::sync::Arc<icecone_app::transparency::Sources>,
    /// Billing through Stripe (`/webhooks/stripe`); `None`: billing is off.
    pub(crate) billing: Option<std::sync::Arc<icecone_app::billing::Billing>>,
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
        .route("/graphiql/{file}", web::get().to(graphiql::asset))
        .service(
            web::resource("/verify-email")
                .route(web::get().to(verify_email::get))
                .route(web::post().to(verify_email::post)),
        )
        .service(
            web::resource("/unsubscribe")
                .route(web::get().to(unsubscribe::get))
                .route(web::post().to(unsubscribe::post)),
        )
        .route("/webhooks/stripe", web::post().to(webhooks::stripe))
        .route("/media/{id}", web::get().to(media::get))
        .route("/exports/{token}", web::get().to(exports::get))
        .route("/schemas/export-v1.json", web::get().to(exports::schema))
        .route("/privacy", web::get().to(privacy::page))
        .route("/privacy.json", web::get().to(privacy::json))
        .route("/schemas/privacy-v1.json", web::get().to(privacy::schema))
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
            tracing::warn!(error = %icecone_app::error_chain(&error), "not ready");
            HttpResponse::ServiceUnavailable().json(serde_json::json!({ "status": "unavailable" }))
        }
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

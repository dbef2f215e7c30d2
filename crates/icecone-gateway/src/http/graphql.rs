//! `/graphql`: the GraphQL-over-HTTP endpoint, written by hand so that status codes and
//! media types follow the spec (async-graphql's actix integration answers every request
//! with 200 `application/graphql-response+json`).
//!
//! | situation | `application/json` | `application/graphql-response+json` |
//! | --- | --- | --- |
//! | executed (data present, maybe with field errors) | 200 | 200 |
//! | request error: syntax, validation, limits, variables | 200 | 400 |
//! | body not JSON, no `query`, batch over the cap | 400 | 400 |
//! | body not `application/json` | 415 | 415 |
//! | body too large | 413 | 413 |
//! | `Accept` names nothing we produce | 406 | 406 |
//! | mutation over GET | 405 | 405 |
//! | cookie transport, sendable by another site (`http::session::forgery`) | 403 | 403 |

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use async_graphql::parser::types::OperationType;
use async_graphql::{BatchRequest, BatchResponse, Request, Response, ServerError, Variables};
use futures_util::StreamExt;
use serde::Serialize;
use serde_json::Value as Json;

use super::negotiate::{ResponseType, is_json_body, response_type, wants_html};
use super::{AppState, ClientAddress, RequestId};
use crate::config::Environment;
use crate::graphql::error::ErrorCode;
use crate::graphql::trusted::PERSISTED_QUERY;
use crate::session_cookie::SessionTransport;
use icecone_app::auth::viewer::{AuthFailure, Viewer};
use icecone_app::consent;
use icecone_core::trusted_documents::DocumentHash;

/// `POST /graphql`.
pub(crate) async fn post(
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let Some(response_type) = response_type(header_str(&request, header::ACCEPT)) else {
        return not_acceptable();
    };
    if let Some(forgery) = super::session::forgery(&request, &state) {
        return refusal(
            response_type,
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
            &forgery.to_string(),
        );
    }
    if !is_json_body(header_str(&request, header::CONTENT_TYPE)) {
        return refusal(
            response_type,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::BadUserInput,
            "the request body must be application/json",
        );
    }
    let body = match read_body(payload, state.max_body_bytes).await {
        Ok(body) => body,
        Err(BodyError::TooLarge) => {
            return refusal(
                response_type,
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::BadUserInput,
                &format!(
                    "the request body is larger than {} bytes",
                    state.max_body_bytes
                ),
            );
        }
        Err(BodyError::Broken) => {
            return bad_request(response_type, "the request body could not be read");
        }
    };
    let json: Json = match serde_json::from_slice(&body) {
        Ok(json) => json,
        Err(_) => {
            return bad_request(response_type, "the request body is not valid JSON");
        }
    };
    let batch = match json {
        Json::Array(items) => {
            if items.is_empty() {
                return bad_request(response_type, "the batch is empty");
            }
            if items.len() > state.max_batch {
                return refusal(
                    response_type,
                    StatusCode::BAD_REQUEST,
                    ErrorCode::QueryTooComplex,
                    &format!("a batch may hold at most {} operations", state.max_batch),
                );
            }
            match items
                .into_iter()
                .map(graphql_request)
                .collect::<Result<Vec<_>, _>>()
            {
                Ok(requests) => BatchRequest::Batch(requests),
                Err(message) => {
                    return bad_request(response_type, message);
                }
            }
        }
        other => match graphql_request(other) {
            Ok(request) => BatchRequest::Single(request),
            Err(message) => {
                return bad_request(response_type, message);
            }
        },
    };
    let context = match RequestContext::of(&request, &state).await {
        Ok(context) => context,
        Err(refusal) => return refusal,
    };
    let with_context = |graphql| context.attach(graphql);
    let batch = match batch {
        BatchRequest::Single(graphql) => BatchRequest::Single(with_context(graphql)),
        BatchRequest::Batch(requests) => {
            BatchRequest::Batch(requests.into_iter().map(with_context).collect())
        }
    };
    let response = state.executor.execute_batch(batch).await;
    respond(response_type, response)
}

/// What every GraphQL operation of one HTTP request can reach: who sent it, its id and the
/// client's address.
struct RequestContext {
    viewer: Viewer,
    transport: SessionTransport,
    request_id: Option<RequestId>,
    address: Option<ClientAddress>,
}

impl RequestContext {
    /// Authenticates the request (or answers the refusal) and, for a signed-in request that
    /// carries `Sec-GPC: 1`, withdraws marketing before anything runs.
    async fn of(request: &HttpRequest, state: &AppState) -> Result<Self, HttpResponse> {
        let viewer = viewer_of(request, state).await?;
        if let Viewer::Account(account) = &viewer
            && header_str(request, GPC).is_some_and(|value| value.trim() == "1")
            && let Err(error) =
                consent::honour_gpc(&state.store, account.account, state.policy).await
        {
            tracing::error!(
                error = format!("{error:#}"),
                "a GPC signal could not be recorded"
            );
        }
        Ok(Self {
            viewer,
            transport: SessionTransport::of(request),
            request_id: actix_web::HttpMessage::extensions(request)
                .get::<RequestId>()
                .cloned(),
            address: ClientAddress::of(request, &state.trusted_proxies),
        })
    }

    fn attach(&self, graphql: async_graphql::Request) -> async_graphql::Request {
        let mut graphql = graphql
            .data(self.viewer.clone())
            .data(self.transport.clone());
        if let Some(id) = &self.request_id {
            graphql = graphql.data(id.clone());
        }
        if let Some(address) = &self.address {
            graphql = graphql.data(address.clone());
        }
        graphql
    }
}

/// The Global Privacy Control request header.
const GPC: header::HeaderName = header::HeaderName::from_static("sec-gpc");

/// Who sent the request, or the 401 (RFC 6750 `invalid_token`) that refuses it.
async fn viewer_of(request: &HttpRequest, state: &AppState) -> Result<Viewer, HttpResponse> {
    let response_type =
        response_type(header_str(request, header::ACCEPT)).unwrap_or(ResponseType::Json);
    match super::session::viewer(request, state).await {
        Ok(viewer) => Ok(viewer),
        Err(AuthFailure::Unavailable) => {
            tracing::error!("the session store could not be read while authenticating");
            Err(refusal(
                response_type,
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::InternalServerError,
                crate::graphql::error::INTERNAL_MESSAGE,
            ))
        }
        Err(failure) => {
            tracing::info!(reason = %failure, "credentials refused");
            let (message, challenge) = match failure {
                AuthFailure::ApiKey => ("the API key is not valid or was revoked", "ApiKey"),
                _ => (
                    "the access token is not valid: sign in again",
                    "Bearer error=\"invalid_token\"",
                ),
            };
            let mut response = refusal(
                response_type,
                StatusCode::UNAUTHORIZED,
                ErrorCode::Unauthenticated,
                message,
            );
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
            Err(response)
        }
    }
}

/// The parameters of a GET request.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetParams {
    query: Option<String>,
    operation_name: Option<String>,
    variables: Option<String>,
    extensions: Option<String>,
}

/// `GET /graphql`: GraphiQL for browsers in development, queries (never mutations) for
/// everyone else.
pub(crate) async fn get(request: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let accept = header_str(&request, header::ACCEPT);
    let Ok(params) = serde_urlencoded::from_str::<GetParams>(request.query_string()) else {
        return bad_request(
            response_type(accept).unwrap_or(ResponseType::Json),
            "the query string could not be decoded",
        );
    };
    if params.query.is_none() && wants_html(accept) && state.environment == Environment::Development
    {
        return super::graphiql::page();
    }
    let Some(response_type) = response_type(accept) else {
        return not_acceptable();
    };
    // A persisted document's hash may stand in for the query (Apollo's APQ over GET): the
    // registered text tells which operation would run.
    let mut extensions = None;
    if let Some(text) = params.extensions {
        let Ok(json) = serde_json::from_str::<Json>(&text) else {
            return bad_request(response_type, "`extensions` is not valid JSON");
        };
        extensions = Some(json);
    }
    let persisted = extensions.as_ref().and_then(persisted_hash);
    let operation_text = match (&params.query, &persisted) {
        (Some(query), _) => Some(query.as_str()),
        (None, Some(hash)) => state.executor.trusted_text(hash),
        (None, None) => {
            return bad_request(response_type, "the `query` parameter is missing");
        }
    };
    if operation_text.is_some_and(|text| selects_non_query(text, params.operation_name.as_deref()))
    {
        let mut response = refusal(
            response_type,
            StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::BadUserInput,
            "only queries may be sent with GET; send mutations with POST",
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
        return response;
    }
    let mut object = serde_json::Map::new();
    if let Some(query) = params.query {
        object.insert("query".to_owned(), Json::String(query));
    }
    if let Some(name) = params.operation_name {
        object.insert("operationName".to_owned(), Json::String(name));
    }
    // GET carries `variables` and `extensions` as JSON text inside the query string.
    if let Some(text) = params.variables {
        let Ok(json) = serde_json::from_str::<Json>(&text) else {
            return bad_request(response_type, "`variables` is not valid JSON");
        };
        object.insert("variables".to_owned(), json);
    }
    if let Some(json) = extensions {
        object.insert("extensions".to_owned(), json);
    }
    let context = match RequestContext::of(&request, &state).await {
        Ok(context) => context,
        Err(refusal) => return refusal,
    };
    match graphql_request(Json::Object(object)) {
        Ok(graphql) => respond(
            response_type,
            BatchResponse::Single(state.executor.execute(context.attach(graphql)).await),
        ),
        Err(message) => bad_request(response_type, message),
    }
}

/// Whether the operation a GET request would run is a mutation or a subscription.
fn selects_non_query(query: &str, operation_name: Option<&str>) -> bool {
    operation_type(query, operation_name).is_some_and(|kind| kind != OperationType::Query)
}

/// The type of the operation a request would run: the one named, or the only one. `None`
/// for a document that does not parse or does not say which: the executor reports those.
pub(super) fn operation_type(query: &str, operation_name: Option<&str>) -> Option<OperationType> {
    let document = async_graphql::parser::parse_query(query).ok()?;
    let mut operations = document.operations.iter();
    let (_, operation) = match operation_name {
        Some(wanted) => operations.find(|(name, _)| name.is_some_and(|name| name == wanted))?,
        None if operations.len() == 1 => operations.next()?,
        None => return None,
    };
    Some(operation.node.ty)
}

/// Turns one JSON request object into an async-graphql request, checking the parameter
/// types the spec prescribes.
pub(super) fn graphql_request(json: Json) -> Result<Request, &'static str> {
    let Json::Object(mut object) = json else {
        return Err("a GraphQL request must be a JSON object");
    };
    let extensions = match object.remove("extensions") {
        None | Some(Json::Null) => serde_json::Map::new(),
        Some(Json::Object(extensions)) => extensions,
        Some(_) => return Err("`extensions` must be an object"),
    };
    // A request naming a persisted document (`extensions.persistedQuery`) may leave the
    // document out: the executor finds it by its hash.
    let query = match object.remove("query") {
        Some(Json::String(query)) => query,
        None | Some(Json::Null) if extensions.contains_key(PERSISTED_QUERY) => String::new(),
        _ => return Err("`query` must be a string holding a GraphQL document"),
    };
    let mut request = Request::new(query);
    match object.remove("operationName") {
        None | Some(Json::Null) => {}
        Some(Json::String(name)) => request = request.operation_name(name),
        Some(_) => return Err("`operationName` must be a string"),
    }
    match object.remove("variables") {
        None | Some(Json::Null) => {}
        Some(variables @ Json::Object(_)) => {
            request = request.variables(Variables::from_json(variables));
        }
        Some(_) => return Err("`variables` must be an object"),
    }
    // Only the persisted-query extension means anything here; others are ignored, as the
    // GraphQL-over-HTTP spec allows.
    if let Some(persisted) = extensions.get(PERSISTED_QUERY) {
        let Ok(value) = async_graphql::Value::from_json(persisted.clone()) else {
            return Err("`extensions.persistedQuery` must be an object");
        };
        request
            .extensions
            .0
            .insert(PERSISTED_QUERY.to_owned(), value);
    }
    Ok(request)
}

/// The hash an `extensions` object's `persistedQuery` names, when it is well-formed (the
/// executor answers a malformed one).
fn persisted_hash(extensions: &Json) -> Option<DocumentHash> {
    let hash = extensions
        .get(PERSISTED_QUERY)?
        .get("sha256Hash")?
        .as_str()?;
    DocumentHash::parse(hash).ok()
}

/// The body of a GraphQL response. `data` is left out for request errors, as the spec asks.
#[derive(Serialize)]
struct Body<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a async_graphql::Value>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [ServerError],
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    extensions: &'a std::collections::BTreeMap<String, async_graphql::Value>,
}

impl<'a> Body<'a> {
    fn of(response: &'a Response) -> Self {
        Self {
            data: (!is_request_error(response)).then_some(&response.data),
            errors: &response.errors,
            extensions: &response.extensions,
        }
    }
}

pub(super) use crate::graphql::is_request_error;

fn respond(response_type: ResponseType, response: BatchResponse) -> HttpResponse {
    let (status, body) = match &response {
        BatchResponse::Single(single) => {
            let status = match response_type {
                ResponseType::GraphqlResponseJson if is_request_error(single) => {
                    StatusCode::BAD_REQUEST
                }
                _ => StatusCode::OK,
            };
            (status, serde_json::to_vec(&Body::of(single)))
        }
        BatchResponse::Batch(all) => (
            StatusCode::OK,
            serde_json::to_vec(&all.iter().map(Body::of).collect::<Vec<_>>()),
        ),
    };
    match body {
        Ok(body) => {
            let mut answer = HttpResponse::build(status);
            answer.content_type(response_type.content_type());
            for cookie in set_cookies(&response) {
                answer.append_header((header::SET_COOKIE, cookie));
            }
            answer.body(body)
        }
        Err(error) => {
            tracing::error!(error = %error, "serializing a GraphQL response failed");
            refusal(
                response_type,
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::InternalServerError,
                crate::graphql::error::INTERNAL_MESSAGE,
            )
        }
    }
}

/// The `Set-Cookie` values the operations set (the session cookie).
fn set_cookies(response: &BatchResponse) -> Vec<String> {
    let responses: Vec<&Response> = match response {
        BatchResponse::Single(single) => vec![single],
        BatchResponse::Batch(all) => all.iter().collect(),
    };
    responses
        .into_iter()
        .flat_map(|response| response.http_headers.get_all("set-cookie"))
        .filter_map(|value| value.to_str().ok().map(str::to_owned))
        .collect()
}

/// A response for a request refused before GraphQL processing.
pub(crate) fn refusal(
    response_type: ResponseType,
    status: StatusCode,
    code: ErrorCode,
    message: &str,
) -> HttpResponse {
    let body = serde_json::json!({
        "errors": [{ "message": message, "extensions": { "code": code.as_str() } }]
    });
    HttpResponse::build(status)
        .content_type(response_type.content_type())
        .body(body.to_string())
}

/// A 400 for a request that is not a well-formed GraphQL-over-HTTP request.
fn bad_request(response_type: ResponseType, message: &str) -> HttpResponse {
    refusal(
        response_type,
        StatusCode::BAD_REQUEST,
        ErrorCode::BadUserInput,
        message,
    )
}

fn not_acceptable() -> HttpResponse {
    refusal(
        ResponseType::Json,
        StatusCode::NOT_ACCEPTABLE,
        ErrorCode::BadUserInput,
        "Accept must allow application/graphql-response+json or application/json",
    )
}

/// Any other method on `/graphql`.
pub(crate) async fn method_not_allowed(request: HttpRequest) -> HttpResponse {
    let response_type =
        response_type(header_str(&request, header::ACCEPT)).unwrap_or(ResponseType::Json);
    let mut response = refusal(
        response_type,
        StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::BadUserInput,
        "use POST, or GET for queries",
    );
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
    response
}

fn header_str(request: &HttpRequest, name: header::HeaderName) -> Option<&str> {
    request.headers().get(name).and_then(|v| v.to_str().ok())
}

enum BodyError {
    TooLarge,
    Broken,
}

/// Reads the body, refusing early (by `Content-Length` or while streaming) once it exceeds
/// `limit`.
async fn read_body(mut payload: web::Payload, limit: usize) -> Result<web::BytesMut, BodyError> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|error| match error {
            actix_web::error::PayloadError::Overflow => BodyError::TooLarge,
            _ => BodyError::Broken,
        })?;
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

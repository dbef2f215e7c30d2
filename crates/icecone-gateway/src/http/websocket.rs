//! `GET /graphql/ws`: subscriptions over `graphql-transport-ws`, under the same rules as
//! `POST /graphql`.
//!
//! - **Subscriptions only.** Queries and mutations belong on `POST /graphql`; one sent here
//!   is answered with an `error` (`BAD_USER_INPUT`), so the socket is no second door to
//!   them.
//! - **Authorised per operation.** `connection_init` carries the credentials as HTTP does
//!   (`{"Authorization": "Bearer <token>"}` or `ApiKey <key>`). They are checked by the
//!   same [`authenticate`] when the connection opens, again for every `subscribe` at the
//!   moment it arrives, and once a second while the connection is open: when the session
//!   ends (log-out, revocation, refresh-token reuse, suspension, erasure), the token
//!   expires or the partner key is revoked, the server closes the socket with 4403.
//!   A browser on the cookie transport sends no credentials in `connection_init`: the
//!   session cookie of the upgrade request authenticates instead (as
//!   `authenticate_session_handle` decides for HTTP, a cookie that no longer does closing
//!   the socket with 4403). Browsers send no preflight before an upgrade, so an upgrade
//!   carrying the cookie must come from an `Origin` that `AllowedOrigins::allows`, or it is
//!   refused with 403 (`FORBIDDEN`) — no page on another origin rides the cookie.
//!   Every operation runs through [`Executor::subscribe`](crate::graphql::Executor), the
//!   executor HTTP uses (limits, error codes), with its own request id and the client's
//!   address.
//! - **Bounded.** A message is capped at the HTTP body limit (continuation frames
//!   included); `connection_init` must come within `ws_init_timeout` (else 4408); a
//!   connection with no running subscription closes after `ws_idle_timeout` of silence;
//!   connections are capped per client address (before the upgrade, 429) and per account
//!   or partner (1008 after `connection_init`), subscriptions per connection
//!   (`RATE_LIMITED`). Answers wait for the socket to take them, so a client that does
//!   not read cannot make the server buffer; one that takes nothing for ten seconds is
//!   dropped.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::{AggregatedMessage, CloseCode, CloseReason, ProtocolError, Session};
use async_graphql::Response;
use async_graphql::parser::types::OperationType;
use futures_util::StreamExt;
use serde_json::{Value as Json, json};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use uuid::Uuid;

use super::graphql::{graphql_request, is_request_error, operation_type, refusal};
use super::negotiate::ResponseType;
use super::{AppState, ClientAddress, RequestId};
use crate::config::WsLimits;
use crate::graphql::error::ErrorCode;
use crate::session_cookie::handle_of;
use chrono::Utc;
use icecone_app::auth::viewer::{AuthFailure, Viewer, authenticate, authenticate_session_handle};
use secrecy::ExposeSecret;

/// The only subprotocol spoken here.
const PROTOCOL: &str = "graphql-transport-ws";
/// How often an open connection's credentials are checked again.
const RECHECK: Duration = Duration::from_secs(1);
/// Answers of one connection's subscriptions waiting for the socket.
const PENDING_ANSWERS: usize = 16;
/// How long the socket may refuse to take a message (a client that stops reading) before
/// the connection is dropped.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// The connections open on this instance, counted per client address and per holder.
#[derive(Debug)]
pub(crate) struct Sockets {
    limits: WsLimits,
    open: Arc<Mutex<HashMap<Holder, usize>>>,
}

/// Whom a connection counts against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Holder {
    Address(ClientAddress),
    Account(Uuid),
    Partner(Uuid),
}

/// One counted connection; dropping it gives the place back.
#[derive(Debug)]
struct Slot {
    open: Arc<Mutex<HashMap<Holder, usize>>>,
    holder: Holder,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.holder) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.holder);
            }
        }
    }
}

impl Sockets {
    pub(crate) fn new(limits: WsLimits) -> Self {
        Self {
            limits,
            open: Arc::default(),
        }
    }

    /// A place for one more connection of `holder`, unless it holds `cap` already.
    fn take(&self, holder: Holder, cap: usize) -> Option<Slot> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(holder.clone()).or_insert(0);
        if *count >= cap {
            return None;
        }
        *count += 1;
        Some(Slot {
            open: self.open.clone(),
            holder,
        })
    }
}

/// Upgrades to a WebSocket, or refuses with a coded JSON error: 400 without the subprotocol
/// or a well-formed upgrade, 403 without a client address, 429 when the address has its
/// share of connections open.
pub(crate) async fn upgrade(
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let offered = request
        .headers()
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|protocol| protocol.trim() == PROTOCOL);
    if !offered {
        return refusal(
            ResponseType::Json,
            StatusCode::BAD_REQUEST,
            ErrorCode::BadUserInput,
            "ask for the graphql-transport-ws subprotocol (Sec-WebSocket-Protocol)",
        );
    }
    let Some(address) = ClientAddress::of(&request, &state.trusted_proxies) else {
        return refusal(
            ResponseType::Json,
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
            "the client's address is unknown, so its per-address limits cannot be applied",
        );
    };
    let cookie = handle_of(&request).map(|handle| secrecy::SecretString::from(handle.to_owned()));
    if cookie.is_some() && !super::session::cookie_origin_allowed(&request, &state) {
        tracing::info!("a WebSocket upgrade with the session cookie came from another origin");
        return refusal(
            ResponseType::Json,
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
            "a WebSocket with the session cookie must come from an allowed origin",
        );
    }
    let limits = state.sockets.limits;
    let Some(address_slot) = state.sockets.take(
        Holder::Address(address.clone()),
        limits.connections_per_address,
    ) else {
        let mut response = refusal(
            ResponseType::Json,
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::RateLimited,
            "too many WebSockets are open from this address",
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
        return response;
    };
    let (mut response, session, stream) = match actix_ws::handle(&request, payload) {
        Ok(parts) => parts,
        // Not a well-formed upgrade (no `Upgrade: websocket`, no key or version): refused
        // with the handshake's status and a coded error, as every other refusal.
        Err(error) => {
            return refusal(
                ResponseType::Json,
                error.error_response().status(),
                ErrorCode::BadUserInput,
                "not a WebSocket upgrade: send Upgrade, Sec-WebSocket-Key and \
                 Sec-WebSocket-Version 13",
            );
        }
    };
    response.headers_mut().insert(
        header::SEC_WEBSOCKET_PROTOCOL,
        HeaderValue::from_static(PROTOCOL),
    );
    let max = state.max_body_bytes;
    let messages = stream
        .max_frame_size(max)
        .aggregate_continuations()
        .max_continuation_size(max);
    let connection = Connection {
        state: state.clone(),
        session,
        cookie,
        address,
        request_id: actix_web::HttpMessage::extensions(&request)
            .get::<RequestId>()
            .cloned(),
        slots: vec![address_slot],
    };
    actix_web::rt::spawn(connection.run(messages));
    response
}

/// How a connection ends.
struct Close(CloseCode, &'static str);

impl Close {
    fn protocol(code: u16, text: &'static str) -> Self {
        Self(CloseCode::Other(code), text)
    }
}

/// One open connection.
struct Connection {
    state: web::Data<AppState>,
    session: Session,
    /// The handle of the upgrade request's session cookie.
    cookie: Option<secrecy::SecretString>,
    address: ClientAddress,
    request_id: Option<RequestId>,
    slots: Vec<Slot>,
}

/// What a subscription's task reports to its connection.
enum Event {
    Answer(String, Box<Response>),
    Done(String),
}

/// A message from the client, as graphql-transport-ws defines them.
enum Incoming {
    ConnectionInit(Option<Json>),
    Ping,
    Pong,
    Subscribe(String, Json),
    Complete(String),
}

impl Incoming {
    fn parse(text: &str) -> Option<Self> {
        let Json::Object(mut message) = serde_json::from_str::<Json>(text).ok()? else {
            return None;
        };
        let id = |message: &mut serde_json::Map<String, Json>| match message.remove("id") {
            Some(Json::String(id)) if !id.is_empty() => Some(id),
            _ => None,
        };
        match message.get("type").and_then(Json::as_str)? {
            "connection_init" => Some(Self::ConnectionInit(message.remove("payload"))),
            "ping" => Some(Self::Ping),
            "pong" => Some(Self::Pong),
            "subscribe" => {
                let id = id(&mut message)?;
                let payload = message.remove("payload").filter(Json::is_object)?;
                Some(Self::Subscribe(id, payload))
            }
            "complete" => Some(Self::Complete(id(&mut message)?)),
            _ => None,
        }
    }
}

impl Connection {
    async fn run(mut self, mut messages: actix_ws::AggregatedMessageStream) {
        let close = self.serve(&mut messages).await;
        let Close(code, text) = close;
        let reason = CloseReason {
            code,
            description: Some(text.to_owned()),
        };
        // A client that does not read gets no close frame: dropping the session ends the
        // connection all the same.
        let _ = tokio::time::timeout(SEND_TIMEOUT, self.session.close(Some(reason))).await;
    }

    /// Serves the connection until it must close; answers how.
    async fn serve(&mut self, messages: &mut actix_ws::AggregatedMessageStream) -> Close {
        let limits = self.state.sockets.limits;
        let mut ponger = self.session.clone();
        // Until `connection_init`: pings are answered, anything else closes.
        let init = tokio::time::timeout(limits.init_timeout, async {
            loop {
                match next_text(messages, &mut ponger).await {
                    Err(close) => return Err(close),
                    Ok(text) => match Incoming::parse(&text) {
                        Some(Incoming::ConnectionInit(payload)) => return Ok(payload),
                        Some(Incoming::Ping) => {
                            if self.send(&json!({ "type": "pong" })).await.is_err() {
                                return Err(Close(CloseCode::Normal, "gone"));
                            }
                        }
                        Some(Incoming::Pong) => {}
                        Some(Incoming::Subscribe(..)) => {
                            return Err(Close::protocol(4401, "Unauthorized"));
                        }
                        Some(Incoming::Complete(_)) | None => {
                            return Err(Close::protocol(4400, "invalid message"));
                        }
                    },
                }
            }
        })
        .await;
        let payload = match init {
            Err(_) => return Close::protocol(4408, "Connection initialisation timeout"),
            Ok(Err(close)) => return close,
            Ok(Ok(payload)) => payload,
        };
        let credentials = payload
            .as_ref()
            .and_then(|payload| {
                payload
                    .get("Authorization")
                    .or_else(|| payload.get("authorization"))
            })
            .and_then(Json::as_str)
            .map(str::to_owned);
        let viewer = match self.viewer(credentials.as_deref()).await {
            Ok(viewer) => viewer,
            Err(close) => return close,
        };
        let holder = match &viewer {
            Viewer::Anonymous => None,
            Viewer::Account(account) => Some(Holder::Account(account.account)),
            Viewer::Partner(partner) => Some(Holder::Partner(partner.partner)),
        };
        if let Some(holder) = holder {
            match self
                .state
                .sockets
                .take(holder, limits.connections_per_account)
            {
                Some(slot) => self.slots.push(slot),
                None => {
                    return Close(CloseCode::Policy, "too many WebSockets for this account");
                }
            }
        }
        if self
            .send(&json!({ "type": "connection_ack" }))
            .await
            .is_err()
        {
            return Close(CloseCode::Normal, "gone");
        }

        let (events, mut answers) = mpsc::channel::<Event>(PENDING_ANSWERS);
        let mut running: HashMap<String, AbortHandle> = HashMap::new();
        let mut recheck = tokio::time::interval(RECHECK);
        recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        recheck.tick().await;
        let idle = tokio::time::sleep(limits.idle_timeout);
        tokio::pin!(idle);
        let close = loop {
            tokio::select! {
                text = next_text(messages, &mut ponger) => {
                    let text = match text {
                        Ok(text) => text,
                        Err(close) => break close,
                    };
                    idle.as_mut()
                        .reset(tokio::time::Instant::now() + limits.idle_timeout);
                    match Incoming::parse(&text) {
                        Some(Incoming::Ping) => {
                            if self.send(&json!({ "type": "pong" })).await.is_err() {
                                break Close(CloseCode::Normal, "gone");
                            }
                        }
                        Some(Incoming::Pong) => {}
                        Some(Incoming::ConnectionInit(_)) => {
                            break Close::protocol(4429, "Too many initialisation requests");
                        }
                        Some(Incoming::Complete(id)) => {
                            if let Some(task) = running.remove(&id) {
                                task.abort();
                            }
                        }
                        Some(Incoming::Subscribe(id, payload)) => {
                            if running.contains_key(&id) {
                                break Close::protocol(4409, "Subscriber for this id already exists");
                            }
                            if let Err(close) = self
                                .subscribe(credentials.as_deref(), &mut running, &events, id, payload)
                                .await
                            {
                                break close;
                            }
                        }
                        None => break Close::protocol(4400, "invalid message"),
                    }
                }
                Some(event) = answers.recv() => {
                    let message = match event {
                        Event::Answer(id, response) => {
                            // An `error` ends the operation: no `complete` follows it.
                            if is_request_error(&response)
                                && let Some(task) = running.remove(&id)
                            {
                                task.abort();
                            }
                            answer(&id, &response)
                        }
                        Event::Done(id) => {
                            if running.remove(&id).is_none() {
                                continue;
                            }
                            if running.is_empty() {
                                idle.as_mut()
                                    .reset(tokio::time::Instant::now() + limits.idle_timeout);
                            }
                            json!({ "type": "complete", "id": id })
                        }
                    };
                    if self.send(&message).await.is_err() {
                        break Close(CloseCode::Normal, "gone");
                    }
                }
                _ = recheck.tick() => {
                    if let Err(close) = self.viewer(credentials.as_deref()).await {
                        break close;
                    }
                }
                () = &mut idle, if running.is_empty() => {
                    break Close(CloseCode::Normal, "idle");
                }
            }
        };
        for task in running.values() {
            task.abort();
        }
        close
    }

    /// The viewer of `credentials` now, as [`authenticate`] decides for HTTP; refused
    /// credentials close the connection.
    async fn viewer(&self, credentials: Option<&str>) -> Result<Viewer, Close> {
        let authenticated = match (credentials, &self.cookie) {
            (None, Some(handle)) => {
                authenticate_session_handle(handle.expose_secret(), &self.state.store, Utc::now())
                    .await
            }
            _ => authenticate(credentials, &self.state.tokens, &self.state.store).await,
        };
        match authenticated {
            Ok(viewer) => Ok(viewer),
            Err(AuthFailure::Unavailable) => {
                tracing::error!("the session store could not be read while authenticating");
                Err(Close::protocol(4500, "internal server error"))
            }
            Err(failure) => {
                tracing::info!(reason = %failure, "WebSocket credentials refused");
                Err(Close::protocol(4403, "Forbidden: sign in again"))
            }
        }
    }

    /// Starts the subscription `id` asks for, authorised now; a refusal of this one
    /// operation is answered with an `error`, refused credentials close the connection.
    async fn subscribe(
        &mut self,
        credentials: Option<&str>,
        running: &mut HashMap<String, AbortHandle>,
        events: &mpsc::Sender<Event>,
        id: String,
        payload: Json,
    ) -> Result<(), Close> {
        let viewer = self.viewer(credentials).await?;
        let refuse = |code: ErrorCode, message: &str| {
            json!({
                "type": "error",
                "id": id,
                "payload": [{ "message": message, "extensions": { "code": code.as_str() } }],
            })
        };
        let request = match graphql_request(payload) {
            Ok(request) => request.data(viewer.clone()),
            Err(message) => {
                return self.reply(&refuse(ErrorCode::BadUserInput, message)).await;
            }
        };
        // A persisted document resolved, and the trusted-documents rule applied, before the
        // operation's type is looked at.
        let request = match self.state.executor.admit(request).await {
            Ok(request) => request,
            Err(refusal) => return self.reply(&answer(&id, &refusal)).await,
        };
        if operation_type(&request.query, request.operation_name.as_deref())
            .is_some_and(|kind| kind != OperationType::Subscription)
        {
            return self
                .reply(&refuse(
                    ErrorCode::BadUserInput,
                    "this socket carries subscriptions; send queries and mutations to POST /graphql",
                ))
                .await;
        }
        if running.len() >= self.state.sockets.limits.subscriptions_per_connection {
            return self
                .reply(&refuse(
                    ErrorCode::RateLimited,
                    "too many subscriptions are running on this connection",
                ))
                .await;
        }
        let operation_id = RequestId(Uuid::new_v4().to_string());
        tracing::info!(
            connection = self.request_id.as_ref().map_or("", |id| id.0.as_str()),
            request_id = %operation_id.0,
            "subscription started"
        );
        let request = request
            .data(viewer)
            .data(operation_id)
            .data(self.address.clone());
        let mut stream = self.state.executor.subscribe(request);
        let events = events.clone();
        let task_id = id.clone();
        let task = tokio::spawn(async move {
            while let Some(response) = stream.next().await {
                if events
                    .send(Event::Answer(task_id.clone(), Box::new(response)))
                    .await
                    .is_err()
                {
                    return;
                }
            }
            let _ = events.send(Event::Done(task_id)).await;
        });
        running.insert(id, task.abort_handle());
        Ok(())
    }

    async fn reply(&mut self, message: &Json) -> Result<(), Close> {
        self.send(message)
            .await
            .map_err(|()| Close(CloseCode::Normal, "gone"))
    }

    /// Sends one message, waiting at most [`SEND_TIMEOUT`] for the socket to take it.
    async fn send(&mut self, message: &Json) -> Result<(), ()> {
        match tokio::time::timeout(SEND_TIMEOUT, self.session.text(message.to_string())).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_closed)) => Err(()),
            Err(_elapsed) => {
                tracing::info!("a WebSocket client stopped reading: dropped");
                Err(())
            }
        }
    }
}

/// The message carrying one answer of subscription `id`: `error` for a request error
/// (nothing ran), else `next`.
fn answer(id: &str, response: &Response) -> Json {
    if is_request_error(response) {
        json!({ "type": "error", "id": id, "payload": response.errors })
    } else {
        json!({ "type": "next", "id": id, "payload": response })
    }
}

/// The next text message, answering WebSocket pings on the way; a close, an oversized or
/// malformed frame, binary data or the end of the stream ends the connection.
async fn next_text(
    messages: &mut actix_ws::AggregatedMessageStream,
    session: &mut Session,
) -> Result<String, Close> {
    loop {
        match messages.next().await {
            Some(Ok(AggregatedMessage::Text(text))) => return Ok(text.to_string()),
            Some(Ok(AggregatedMessage::Ping(bytes))) => {
                let pong = tokio::time::timeout(SEND_TIMEOUT, session.pong(&bytes)).await;
                if !matches!(pong, Ok(Ok(()))) {
                    return Err(Close(CloseCode::Normal, "gone"));
                }
            }
            Some(Ok(AggregatedMessage::Pong(_))) => {}
            Some(Ok(AggregatedMessage::Binary(_))) => {
                return Err(Close::protocol(4400, "messages are JSON text"));
            }
            Some(Ok(AggregatedMessage::Close(_))) | None => {
                return Err(Close(CloseCode::Normal, "closed"));
            }
            // A frame over the cap, or continuations adding up to more (actix-ws reports
            // those as its only `Other` I/O error).
            Some(Err(ProtocolError::Overflow)) => {
                return Err(Close(CloseCode::Size, "message too big"));
            }
            Some(Err(ProtocolError::Io(error))) if error.kind() == std::io::ErrorKind::Other => {
                return Err(Close(CloseCode::Size, "message too big"));
            }
            Some(Err(_)) => return Err(Close(CloseCode::Protocol, "protocol error")),
        }
    }
}

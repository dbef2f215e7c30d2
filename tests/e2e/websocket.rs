//! `/graphql/ws` under the same rules as `POST /graphql`, over a real WebSocket client: the
//! socket closes (4403) when the session behind it ends, however it ends; queries and
//! mutations are refused; messages, silence, connections and subscriptions are bounded.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use icecone_core::identity::roles::StaffRole;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use uuid::Uuid;

use crate::partners::REVOKE_KEY;
use crate::support::app::{Admin, FRESH, PASSWORD, Person, StaffMember, TestApp};

/// A `graphql-transport-ws` connection to the gateway.
pub(crate) struct Socket {
    socket: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

impl Socket {
    /// Opens a WebSocket speaking `graphql-transport-ws`, sending nothing yet.
    pub(crate) async fn open(app: &TestApp) -> Self {
        Self::try_open(app).await.expect("the WebSocket opens")
    }

    /// Opens a WebSocket, or the HTTP status that refused it.
    async fn try_open(app: &TestApp) -> Result<Self, u16> {
        Self::try_open_with(app, &[]).await
    }

    /// Opens a WebSocket whose upgrade request carries `headers` too (a browser's `Origin`
    /// and `Cookie`), or the HTTP status that refused it.
    pub(crate) async fn try_open_with(
        app: &TestApp,
        headers: &[(&'static str, String)],
    ) -> Result<Self, u16> {
        let mut request = format!("ws://{}/graphql/ws", app.address)
            .into_client_request()
            .expect("request");
        request.headers_mut().insert(
            "sec-websocket-protocol",
            HeaderValue::from_static("graphql-transport-ws"),
        );
        for (name, value) in headers {
            request
                .headers_mut()
                .insert(*name, HeaderValue::from_str(value).expect("header value"));
        }
        match tokio_tungstenite::connect_async(request).await {
            Ok((socket, response)) => {
                assert_eq!(
                    response
                        .headers()
                        .get("sec-websocket-protocol")
                        .and_then(|v| v.to_str().ok()),
                    Some("graphql-transport-ws")
                );
                Ok(Self { socket })
            }
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                Err(response.status().as_u16())
            }
            Err(error) => panic!("the WebSocket did not open: {error}"),
        }
    }

    /// Opens a WebSocket and sends `connection_init` with `payload`.
    pub(crate) async fn connect(app: &TestApp, payload: Value) -> Self {
        let mut socket = Self::open(app).await;
        socket
            .send(json!({ "type": "connection_init", "payload": payload }))
            .await;
        socket
    }

    /// Opens a WebSocket as the bearer of `token` and waits for the acknowledgement.
    pub(crate) async fn signed_in(app: &TestApp, authorization: &str) -> Self {
        let mut socket = Self::connect(app, json!({ "Authorization": authorization })).await;
        let ack = socket.next().await.expect("an acknowledgement");
        assert_eq!(ack["type"], "connection_ack", "{ack}");
        socket
    }

    pub(crate) async fn send(&mut self, message: Value) {
        self.socket
            .send(Message::Text(message.to_string().into()))
            .await
            .expect("sent");
    }

    /// The next JSON message; `None` once the connection is closed.
    pub(crate) async fn next(&mut self) -> Option<Value> {
        loop {
            let message = tokio::time::timeout(Duration::from_secs(20), self.socket.next())
                .await
                .expect("a message in time");
            match message {
                Some(Ok(Message::Text(text))) => {
                    return Some(serde_json::from_str(&text).expect("JSON message"));
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => {}
            }
        }
    }

    /// Waits for the server to close the connection; answers the close code and reason.
    /// Text messages before the close are skipped.
    pub(crate) async fn closed(&mut self) -> (u16, String) {
        loop {
            let message = tokio::time::timeout(Duration::from_secs(20), self.socket.next())
                .await
                .expect("the connection closes in time");
            match message {
                Some(Ok(Message::Close(Some(frame)))) => {
                    return (u16::from(frame.code), frame.reason.to_string());
                }
                Some(Ok(Message::Close(None))) | None | Some(Err(_)) => {
                    panic!("the connection ended without a close code")
                }
                Some(Ok(_)) => {}
            }
        }
    }

    pub(crate) async fn subscribe(&mut self, id: &str, generation: &str) {
        self.send(json!({
            "id": id,
            "type": "subscribe",
            "payload": {
                "query": "subscription S($id: ID!) { generationUpdated(id: $id) { id status error output { __typename } } }",
                "variables": { "id": generation },
            },
        }))
        .await;
    }
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// A signed-in person with a video that runs far longer than any test, so that only the
/// end of the session can end its subscription.
async fn watching(app: &TestApp, email: &str) -> (Uuid, String, Socket) {
    let Person {
        id: account,
        access_token: token,
        ..
    } = app.person(email).await;
    let queued = app
        .graphql(
            Some(&token),
            "mutation V($i: GenerateVideoInput!) { generateVideo(input: $i) { id } }",
            json!({ "i": { "prompt": "a long night", "durationSeconds": 1 } }),
        )
        .await;
    let id = queued["data"]["generateVideo"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{queued}"))
        .to_owned();
    let mut socket = Socket::signed_in(app, &bearer(&token)).await;
    socket.subscribe("1", &id).await;
    let first = socket.next().await.expect("the generation as it stands");
    assert_eq!(first["type"], "next", "{first}");
    (account, token, socket)
}

async fn spawn_for_videos() -> TestApp {
    TestApp::spawn_with(|settings| {
        settings.job_poll_interval_ms = 100;
        settings.local_video_delay = "10m".to_owned();
    })
    .await
}

#[tokio::test]
async fn a_websocket_closes_with_4403_however_its_session_ends() {
    let app = spawn_for_videos().await;
    let (_, tokens) = app.keys().await;

    // Log-out.
    let (_, token, mut socket) = watching(&app, "leave@example.com").await;
    let out = app
        .graphql(Some(&token), "mutation { logOut }", json!({}))
        .await;
    assert_eq!(out["data"]["logOut"], true, "{out}");
    assert_eq!(socket.closed().await.0, 4403, "after logOut");

    // Revocation of the session from another one.
    let (_, token, mut socket) = watching(&app, "revoked@example.com").await;
    let other = app.graphql(None,
        "mutation L($e: String!, $p: String!) { logIn(email: $e, password: $p) { ... on AuthSession { accessToken } } }",
        json!({ "e": "revoked@example.com", "p": PASSWORD }),
    )
    .await;
    let other = other["data"]["logIn"]["accessToken"]
        .as_str()
        .expect("a second session")
        .to_owned();
    let sessions = app
        .graphql(
            Some(&other),
            "{ me { sessions { id current } } }",
            json!({}),
        )
        .await;
    let first = sessions["data"]["me"]["sessions"]
        .as_array()
        .expect("sessions")
        .iter()
        .find(|session| session["current"] == false)
        .expect("the watching session")["id"]
        .clone();
    let revoked = app
        .graphql(
            Some(&other),
            "mutation R($id: ID!) { revokeSession(id: $id) }",
            json!({ "id": first }),
        )
        .await;
    assert_eq!(revoked["data"]["revokeSession"], true, "{revoked}");
    assert_eq!(socket.closed().await.0, 4403, "after revokeSession");
    drop(token);

    // A refresh token spent twice ends its session.
    app.register("reused@example.com").await;
    let logged_in = app.graphql(None,
        "mutation L($e: String!, $p: String!) { logIn(email: $e, password: $p) { ... on AuthSession { accessToken refreshToken } } }",
        json!({ "e": "reused@example.com", "p": PASSWORD }),
    )
    .await;
    let access = logged_in["data"]["logIn"]["accessToken"]
        .as_str()
        .expect("access token")
        .to_owned();
    let refresh = logged_in["data"]["logIn"]["refreshToken"]
        .as_str()
        .expect("refresh token")
        .to_owned();
    let mut socket = Socket::signed_in(&app, &bearer(&access)).await;
    let refresh_query =
        "mutation R($t: String!) { refreshSession(refreshToken: $t) { accessToken } }";
    for _ in 0..2 {
        app.graphql(None, refresh_query, json!({ "t": refresh }))
            .await;
    }
    assert_eq!(socket.closed().await.0, 4403, "after refresh-token reuse");

    // Suspension by staff.
    let (suspended, token, mut socket) = watching(&app, "suspended@example.com").await;
    let StaffMember { id: support, .. } = app
        .staff_member("support@icecone.test", StaffRole::Support)
        .await;
    let staff = app.mint_token(support, FRESH).await;
    let body = app.graphql(Some(&staff),
        "mutation S($id: ID!, $r: String!) { suspendAccount(id: $id, reason: $r) { suspended } }",
        json!({ "id": suspended, "r": "ticket 1: abuse report" }),
    )
    .await;
    assert_eq!(body["data"]["suspendAccount"]["suspended"], true, "{body}");
    assert_eq!(socket.closed().await.0, 4403, "after suspension");
    drop(token);

    // A partner key's revocation.
    let Admin { fresh: admin, .. } = app.admin("admin@icecone.test").await;
    let partner = app.create_partner(&admin, "Acme", &["PROFILE"]).await;
    let mut socket = Socket::signed_in(&app, &format!("ApiKey {}", partner.key)).await;
    let revoked = app
        .graphql(Some(&admin), REVOKE_KEY, json!({ "id": partner.key_id }))
        .await;
    assert_eq!(revoked["data"]["revokePartnerKey"], true, "{revoked}");
    assert_eq!(socket.closed().await.0, 4403, "after the key's revocation");

    // Expiry of the access token the connection was opened with.
    let account = app.register("expiring@example.com").await;
    let session = Uuid::new_v4();
    let issued_at = chrono::Utc::now() - icecone_app::tokens::ACCESS_TOKEN_LIFETIME
        + chrono::TimeDelta::seconds(2);
    app.db
        .store()
        .create_session(icecone_store::sessions::NewSession {
            id: session,
            account,
            auth_time: issued_at,
            mfa_at: None,
            amr: "pwd".to_owned(),
        })
        .await
        .expect("session");
    let expiring = tokens
        .issue(&icecone_app::tokens::AccessClaims::new(
            &account.to_string(),
            &session.to_string(),
            issued_at,
            vec!["pwd".to_owned()],
            icecone_app::tokens::Acr::Aal1,
            issued_at,
        ))
        .expect("token");
    let mut socket = Socket::signed_in(&app, &bearer(&expiring)).await;
    assert_eq!(socket.closed().await.0, 4403, "after the token expired");
}

#[tokio::test]
async fn a_subscribe_is_authorised_when_it_arrives_not_when_the_socket_opened() {
    let app = spawn_for_videos().await;
    let Person {
        access_token: token,
        ..
    } = app.person("late@example.com").await;
    let mut socket = Socket::signed_in(&app, &bearer(&token)).await;
    let out = app
        .graphql(Some(&token), "mutation { logOut }", json!({}))
        .await;
    assert_eq!(out["data"]["logOut"], true, "{out}");
    // Whether the once-a-second check or the subscribe sees it first, nothing runs.
    socket.subscribe("1", &Uuid::new_v4().to_string()).await;
    let (code, _) = socket.closed().await;
    assert_eq!(code, 4403);
}

#[tokio::test]
async fn queries_and_mutations_are_refused_over_the_websocket() {
    let app = TestApp::spawn().await;
    let Person {
        access_token: token,
        ..
    } = app.person("door@example.com").await;
    let mut socket = Socket::signed_in(&app, &bearer(&token)).await;
    for (id, query) in [
        ("1", "mutation { logOut }"),
        ("2", "{ me { id } }"),
        (
            "3",
            "query Me { me { id } } subscription S { generationUpdated(id: \"x\") { id } }",
        ),
    ] {
        let mut payload = json!({ "query": query });
        if id == "3" {
            payload["operationName"] = json!("Me");
        }
        socket
            .send(json!({ "id": id, "type": "subscribe", "payload": payload }))
            .await;
        let answer = socket.next().await.expect("an answer");
        assert_eq!(answer["type"], "error", "{answer}");
        assert_eq!(answer["id"], id, "{answer}");
        assert_eq!(answer["payload"][0]["extensions"]["code"], "BAD_USER_INPUT");
    }
    // A subscription that does not validate gets an `error`, which ends it: no `complete`
    // follows (the next message is the answer to a ping).
    socket
        .send(json!({ "id": "4", "type": "subscribe", "payload": { "query": "subscription { nope }" } }))
        .await;
    let answer = socket.next().await.expect("an answer");
    assert_eq!(
        (answer["type"].as_str(), answer["id"].as_str()),
        (Some("error"), Some("4")),
        "{answer}"
    );
    socket.send(json!({ "type": "ping" })).await;
    let pong = socket.next().await.expect("a pong");
    assert_eq!(pong["type"], "pong", "{pong}");

    // The log-out never ran: the session still works over HTTP.
    let me = app.graphql(Some(&token), "{ me { id } }", json!({})).await;
    assert!(me["data"]["me"]["id"].is_string(), "{me}");

    // So per-address limits cannot be passed by the socket: twenty sign-ups, none run.
    let mut anonymous = Socket::connect(&app, json!({})).await;
    assert_eq!(
        anonymous.next().await.expect("ack")["type"],
        "connection_ack"
    );
    for n in 0..20 {
        anonymous
            .send(json!({
                "id": format!("s{n}"),
                "type": "subscribe",
                "payload": {
                    "query": "mutation S($i: SignUpInput!) { signUp(input: $i) { accessToken } }",
                    "variables": { "i": {
                        "email": format!("flood{n}@example.com"),
                        "password": PASSWORD,
                        "acceptedPolicyVersion": icecone_core::identity::policy::CURRENT_POLICY_VERSION,
                    } },
                },
            }))
            .await;
        let answer = anonymous.next().await.expect("an answer");
        assert_eq!(answer["type"], "error", "{answer}");
    }
}

/// Asserts that every error of `errors` carries an `extensions.code`; answers the codes.
fn codes_of(errors: &Value) -> Vec<String> {
    let errors = errors
        .as_array()
        .unwrap_or_else(|| panic!("no errors: {errors}"));
    assert!(!errors.is_empty(), "an error message with no error");
    errors
        .iter()
        .map(|error| {
            error["extensions"]["code"]
                .as_str()
                .unwrap_or_else(|| panic!("an error without a code: {error}"))
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn every_websocket_error_message_carries_a_code() {
    let app = TestApp::spawn().await;
    let mut socket = Socket::connect(&app, json!({})).await;
    assert_eq!(socket.next().await.expect("ack")["type"], "connection_ack");
    let aliases: String = (0..20)
        .map(|n| format!("a{n}: generationUpdated(id: \"x\") {{ id }} "))
        .collect();
    let refused = [
        // Refused by the transport before GraphQL sees it.
        (json!({ "query": 5 }), "BAD_USER_INPUT"),
        (json!({ "query": "{ __typename }" }), "BAD_USER_INPUT"),
        // Refused by the limits, by the parser, by validation and by variable coercion.
        (
            json!({ "query": format!("subscription {{ {aliases}}}") }),
            "QUERY_TOO_COMPLEX",
        ),
        (json!({ "query": "subscription {" }), "BAD_USER_INPUT"),
        (
            json!({ "query": "subscription { nope }" }),
            "BAD_USER_INPUT",
        ),
    ];
    for (n, (payload, expected)) in refused.into_iter().enumerate() {
        let id = n.to_string();
        socket
            .send(json!({ "id": id, "type": "subscribe", "payload": payload }))
            .await;
        let answer = socket.next().await.expect("an answer");
        assert_eq!(
            (answer["type"].as_str(), answer["id"].as_str()),
            (Some("error"), Some(id.as_str())),
            "{answer}"
        );
        assert_eq!(codes_of(&answer["payload"]), [expected], "{answer}");
    }

    // Errors of a field (a variable left out, a resolver's refusal) arrive in a `next`:
    // coded too.
    socket
        .send(json!({ "id": "unset", "type": "subscribe", "payload": {
            "query": "subscription S($id: ID!) { generationUpdated(id: $id) { id } }",
        } }))
        .await;
    let answer = socket.next().await.expect("an answer");
    assert_eq!(answer["type"], "next", "{answer}");
    assert_eq!(
        codes_of(&answer["payload"]["errors"]),
        ["BAD_USER_INPUT"],
        "{answer}"
    );
    socket
        .subscribe("anonymous", &Uuid::new_v4().to_string())
        .await;
    let answer = loop {
        let answer = socket.next().await.expect("an answer");
        if answer["id"] == "anonymous" && answer["type"] == "next" {
            break answer;
        }
    };
    assert_eq!(
        codes_of(&answer["payload"]["errors"]),
        ["UNAUTHENTICATED"],
        "{answer}"
    );

    // So is the refusal of an upgrade that is not one.
    let refusal = app
        .send(
            app.client
                .get(app.url("/graphql/ws"))
                .header("sec-websocket-protocol", "graphql-transport-ws"),
        )
        .await;
    assert_eq!(refusal.status, 400, "{}", refusal.text);
    assert_eq!(refusal.first_code(), "BAD_USER_INPUT");
}

#[tokio::test]
async fn an_oversized_websocket_message_closes_the_connection_with_1009() {
    let app = TestApp::spawn_with(|settings| settings.max_body_bytes = 16 * 1024).await;

    // One message built from continuation frames, each small, together over the limit.
    let mut socket = Socket::open(&app).await;
    let first = Frame::message(
        br#"{"type":"connection_init","payload":{"pad":""#.to_vec(),
        OpCode::Data(Data::Text),
        false,
    );
    let _ = socket.socket.send(Message::Frame(first)).await;
    for _ in 0..64 {
        let piece = Frame::message(vec![b'x'; 1024], OpCode::Data(Data::Continue), false);
        if socket.socket.send(Message::Frame(piece)).await.is_err() {
            break;
        }
    }
    let last = Frame::message(br#""}}"#.to_vec(), OpCode::Data(Data::Continue), true);
    let _ = socket.socket.send(Message::Frame(last)).await;
    assert_eq!(socket.closed().await.0, 1009, "continuations over the cap");

    // One frame over the limit.
    let mut socket = Socket::open(&app).await;
    let big = json!({ "type": "connection_init", "payload": { "pad": "x".repeat(32 * 1024) } });
    let _ = socket
        .socket
        .send(Message::Text(big.to_string().into()))
        .await;
    assert_eq!(socket.closed().await.0, 1009, "a frame over the cap");

    // Under the limit, the same message is served.
    let mut socket = Socket::open(&app).await;
    let small = json!({ "type": "connection_init", "payload": { "pad": "x".repeat(1024) } });
    socket.send(small).await;
    assert_eq!(socket.next().await.expect("ack")["type"], "connection_ack");
}

#[tokio::test]
async fn silent_websockets_are_closed_before_and_after_connection_init() {
    let app = TestApp::spawn_with(|settings| {
        settings.ws_init_timeout = "1s".to_owned();
        settings.ws_idle_timeout = "1s".to_owned();
    })
    .await;
    let mut silent = Socket::open(&app).await;
    assert_eq!(silent.closed().await.0, 4408, "no connection_init");

    let mut idle = Socket::connect(&app, json!({})).await;
    assert_eq!(idle.next().await.expect("ack")["type"], "connection_ack");
    assert_eq!(
        idle.closed().await.0,
        1000,
        "idle after the acknowledgement"
    );

    // Subscribing before connection_init is refused as the protocol says.
    let mut early = Socket::open(&app).await;
    early.subscribe("1", &Uuid::new_v4().to_string()).await;
    assert_eq!(early.closed().await.0, 4401);
}

#[tokio::test]
async fn websockets_are_capped_per_address_per_account_and_in_subscriptions() {
    let app = TestApp::spawn_with(|settings| {
        settings.job_poll_interval_ms = 100;
        settings.local_video_delay = "10m".to_owned();
        settings.ws_connections_per_address = 3;
        settings.ws_connections_per_account = 1;
        settings.ws_subscriptions_per_connection = 1;
    })
    .await;
    let (_, token, mut watcher) = watching(&app, "many@example.com").await;

    // One connection per account: a second one for the same person is closed.
    let mut second = Socket::connect(&app, json!({ "Authorization": bearer(&token) })).await;
    assert_eq!(second.closed().await.0, 1008);

    // One subscription per connection: the next is refused, the first keeps running.
    watcher.subscribe("2", &Uuid::new_v4().to_string()).await;
    let answer = watcher.next().await.expect("an answer");
    assert_eq!(answer["type"], "error", "{answer}");
    assert_eq!(answer["id"], "2");
    assert_eq!(answer["payload"][0]["extensions"]["code"], "RATE_LIMITED");

    // Three connections per address (the watcher's is one): the fourth upgrade is refused
    // with 429, and closing one gives its place back.
    let a = open_when_room(&app).await;
    let _b = open_when_room(&app).await;
    assert_eq!(Socket::try_open(&app).await.err(), Some(429));
    drop(a);
    let _c = open_when_room(&app).await;
}

/// Opens a WebSocket once a place is free: a connection the server just closed gives its
/// place back a moment after its close frame.
async fn open_when_room(app: &TestApp) -> Socket {
    for _ in 0..50 {
        if let Ok(socket) = Socket::try_open(app).await {
            return socket;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no place for a WebSocket came free");
}

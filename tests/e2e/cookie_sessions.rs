//! The cookie transport for browsers (`X-IceCone-Session: cookie`), without a browser: the
//! cookie's flags, bodies without a token, refresh rotation and reuse, log-out, suspension,
//! a second factor, `/media/{id}`, `/exports/{token}` and the WebSocket by the cookie, and
//! every cross-site request rule (core's `csrf::check`). `browser.rs` repeats the journey
//! in Chromium.

use icecone_core::identity::policy::CURRENT_POLICY_VERSION;
use icecone_core::identity::roles::StaffRole;
use serde_json::{Value, json};

use crate::support::app::{Answer, FRESH, PASSWORD, TestApp, code};
use crate::support::totp::code_at;
use crate::websocket::Socket;

/// The browser frontend's origin, the one allowed origin of these tests.
const APP: &str = "https://app.example.com";
const ELSEWHERE: &str = "https://evil.example";
const COOKIE: &str = "__Host-icecone-session";

const LOG_IN: &str = "mutation L($e: String!, $p: String!) { logIn(email: $e, password: $p) { \
    __typename ... on AuthSession { accessToken refreshToken expiresAt } \
    ... on MfaChallenge { challenge } } }";
const REFRESH: &str = "mutation { refreshSession { accessToken refreshToken expiresAt } }";
const ME: &str = "{ me { id sessions { current mfa } } }";

async fn spawn() -> TestApp {
    TestApp::spawn_with(|settings| settings.cors_origins = Some(APP.to_owned())).await
}

/// How a test request is sent: what a browser page on [`APP`] sends, or one of the
/// requests a page elsewhere could make a browser send.
struct Browser<'a> {
    origin: Option<&'a str>,
    content_type: &'a str,
}

const PAGE: Browser<'static> = Browser {
    origin: Some(APP),
    content_type: "application/json",
};

/// POSTs `query` to `/graphql` on the cookie transport, with the session cookie `handle`
/// if any.
async fn post(
    app: &TestApp,
    browser: &Browser<'_>,
    handle: Option<&str>,
    query: &str,
    variables: Value,
) -> Answer {
    let mut request = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", browser.content_type)
        .header("x-icecone-session", "cookie")
        .body(json!({ "query": query, "variables": variables }).to_string());
    if let Some(origin) = browser.origin {
        request = request.header("origin", origin);
    }
    if let Some(handle) = handle {
        request = request.header("cookie", format!("{COOKIE}={handle}"));
    }
    app.send(request).await
}

/// The `Set-Cookie` values of an answer.
fn set_cookies(answer: &Answer) -> Vec<String> {
    answer
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().expect("ASCII").to_owned())
        .collect()
}

/// The session cookie an answer sets, checked for its flags; its value.
fn session_cookie(answer: &Answer) -> String {
    let cookies = set_cookies(answer);
    assert_eq!(cookies.len(), 1, "one cookie: {cookies:?} {}", answer.text);
    let cookie = &cookies[0];
    let mut parts = cookie.split(';').map(str::trim);
    let (name, value) = parts
        .next()
        .and_then(|pair| pair.split_once('='))
        .expect("name=value");
    assert_eq!(name, COOKIE);
    assert!(value.len() >= 40, "an opaque random handle: {cookie}");
    let attributes: Vec<&str> = parts.collect();
    for flag in ["Path=/", "Secure", "HttpOnly", "SameSite=Strict"] {
        assert!(attributes.contains(&flag), "{flag} in {cookie}");
    }
    assert!(
        !attributes
            .iter()
            .any(|a| a.to_ascii_lowercase().starts_with("domain")),
        "a __Host- cookie has no Domain: {cookie}"
    );
    assert!(
        !answer.text.contains(value),
        "the handle is not in the body: {}",
        answer.text
    );
    value.to_owned()
}

/// Asserts that an answer's body carries no token: both token fields null, no JWT.
fn no_token_in(answer: &Answer, field: &str) {
    let body = answer.json();
    let session = &body["data"][field];
    assert!(session["expiresAt"].is_string(), "{body}");
    assert!(session["accessToken"].is_null(), "{body}");
    assert!(session["refreshToken"].is_null(), "{body}");
    assert!(!answer.text.contains("eyJ"), "no JWT: {}", answer.text);
}

/// Logs `email` in on the cookie transport; the session cookie's handle.
async fn cookie_log_in(app: &TestApp, email: &str) -> String {
    let answer = post(
        app,
        &PAGE,
        None,
        LOG_IN,
        json!({ "e": email, "p": PASSWORD }),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    no_token_in(&answer, "logIn");
    session_cookie(&answer)
}

/// `me` with the session cookie `handle`: the answer's body.
async fn me(app: &TestApp, handle: &str) -> Value {
    post(app, &PAGE, Some(handle), ME, json!({})).await.json()
}

#[tokio::test]
async fn on_the_cookie_transport_the_session_is_a_host_only_http_only_cookie_and_no_body_has_a_token()
 {
    let app = spawn().await;
    let account = app.register("cleo@example.com").await;
    let handle = cookie_log_in(&app, "cleo@example.com").await;
    let signed_in = me(&app, &handle).await;
    assert_eq!(
        signed_in["data"]["me"]["id"],
        account.to_string(),
        "{signed_in}"
    );

    // Sign-up too answers with the cookie and no token.
    let signed_up = post(
        &app,
        &PAGE,
        None,
        "mutation S($i: SignUpInput!) { signUp(input: $i) { accessToken refreshToken expiresAt } }",
        json!({ "i": { "email": "noor@example.com", "password": PASSWORD,
                       "acceptedPolicyVersion": CURRENT_POLICY_VERSION } }),
    )
    .await;
    no_token_in(&signed_up, "signUp");
    let new_handle = session_cookie(&signed_up);
    assert!(me(&app, &new_handle).await["data"]["me"]["id"].is_string());

    // Bearer clients are unchanged: tokens in the body, no cookie.
    let bearer = app
        .send(
            app.client
                .post(app.url("/graphql"))
                .header("content-type", "application/json")
                .body(
                    json!({ "query": LOG_IN, "variables": { "e": "cleo@example.com", "p": PASSWORD } })
                        .to_string(),
                ),
        )
        .await;
    assert!(bearer.json()["data"]["logIn"]["accessToken"].is_string());
    assert!(set_cookies(&bearer).is_empty(), "{:?}", bearer.headers);
}

#[tokio::test]
async fn the_session_cookie_rotates_on_refresh_and_a_replayed_handle_ends_the_session() {
    let app = spawn().await;
    app.register("rhea@example.com").await;
    let first = cookie_log_in(&app, "rhea@example.com").await;

    let renewed = post(&app, &PAGE, Some(&first), REFRESH, json!({})).await;
    no_token_in(&renewed, "refreshSession");
    let second = session_cookie(&renewed);
    assert_ne!(second, first, "the handle rotates");
    assert!(me(&app, &second).await["data"]["me"]["id"].is_string());

    // The spent handle sent to refreshSession again: someone holds a copy, so the whole
    // session ends, as for a replayed refresh token.
    let replayed = post(&app, &PAGE, Some(&first), REFRESH, json!({})).await;
    assert_eq!(
        code(&replayed.json()),
        "UNAUTHENTICATED",
        "{}",
        replayed.text
    );
    assert!(set_cookies(&replayed).is_empty());
    let after = me(&app, &second).await;
    assert_eq!(code(&after), "UNAUTHENTICATED", "{after}");
    let again = post(&app, &PAGE, Some(&second), REFRESH, json!({})).await;
    assert_eq!(code(&again.json()), "UNAUTHENTICATED", "{}", again.text);

    // Without a cookie and without an argument there is nothing to refresh.
    let nothing = post(&app, &PAGE, None, REFRESH, json!({})).await;
    assert_eq!(code(&nothing.json()), "BAD_USER_INPUT", "{}", nothing.text);
}

#[tokio::test]
async fn log_out_on_the_cookie_transport_ends_the_session_and_clears_the_cookie() {
    let app = spawn().await;
    let account = app.register("lior@example.com").await;
    let handle = cookie_log_in(&app, "lior@example.com").await;
    let out = post(&app, &PAGE, Some(&handle), "mutation { logOut }", json!({})).await;
    assert_eq!(out.json()["data"]["logOut"], true, "{}", out.text);
    assert_eq!(
        set_cookies(&out),
        [format!(
            "{COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0"
        )]
    );
    assert_eq!(code(&me(&app, &handle).await), "UNAUTHENTICATED");
    let sessions = app.db.store().sessions_of(account).await.expect("sessions");
    assert_eq!(
        sessions
            .iter()
            .map(|s| s.revoked_reason.as_deref())
            .collect::<Vec<_>>(),
        [Some("logout")]
    );
}

#[tokio::test]
async fn a_suspended_accounts_session_cookie_stops_working_and_is_not_refreshed() {
    let app = spawn().await;
    let account = app.register("suri@example.com").await;
    let handle = cookie_log_in(&app, "suri@example.com").await;
    let support = app
        .staff_member("support.suri@icecone.example", StaffRole::Support)
        .await;
    let staff = app.mint_token(support.id, FRESH).await;
    let suspended = app
        .graphql(
            Some(&staff),
            "mutation S($id: ID!, $r: String!) { suspendAccount(id: $id, reason: $r) { suspended } }",
            json!({ "id": account.to_string(), "r": "ticket 4713: account reported as hijacked" }),
        )
        .await;
    assert_eq!(
        suspended["data"]["suspendAccount"]["suspended"], true,
        "{suspended}"
    );
    assert_eq!(code(&me(&app, &handle).await), "UNAUTHENTICATED");
    let refreshed = post(&app, &PAGE, Some(&handle), REFRESH, json!({})).await;
    assert_eq!(
        code(&refreshed.json()),
        "UNAUTHENTICATED",
        "{}",
        refreshed.text
    );
    assert!(set_cookies(&refreshed).is_empty());
}

#[tokio::test]
async fn completing_mfa_on_the_cookie_transport_gives_a_cookie_session_with_the_second_factor() {
    let app = spawn().await;
    let (person, totp) = app.person_with_totp("mira@example.com").await;
    let first = post(
        &app,
        &PAGE,
        None,
        LOG_IN,
        json!({ "e": person.email, "p": PASSWORD }),
    )
    .await;
    let body = first.json();
    assert_eq!(
        body["data"]["logIn"]["__typename"], "MfaChallenge",
        "{body}"
    );
    assert!(
        set_cookies(&first).is_empty(),
        "no session before the second factor"
    );
    let challenge = body["data"]["logIn"]["challenge"]
        .as_str()
        .expect("challenge");
    let completed = post(
        &app,
        &PAGE,
        None,
        "mutation C($c: String!, $k: String!) { completeMfa(challenge: $c, code: $k) { accessToken refreshToken expiresAt } }",
        json!({ "c": challenge, "k": code_at(&totp.secret, 0) }),
    )
    .await;
    no_token_in(&completed, "completeMfa");
    let handle = session_cookie(&completed);
    let signed_in = me(&app, &handle).await;
    let sessions = signed_in["data"]["me"]["sessions"]
        .as_array()
        .unwrap_or_else(|| panic!("{signed_in}"));
    let current: Vec<&Value> = sessions.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1, "{signed_in}");
    assert_eq!(current[0]["mfa"], true, "{signed_in}");
    // The second factor survives a refresh, as a bearer session's does.
    let renewed = post(&app, &PAGE, Some(&handle), REFRESH, json!({})).await;
    let next = session_cookie(&renewed);
    assert!(
        me(&app, &next).await["data"]["me"]["sessions"]
            .as_array()
            .expect("sessions")
            .iter()
            .any(|s| s["current"] == true && s["mfa"] == true)
    );
}

#[tokio::test]
async fn cookie_requests_a_page_on_another_site_could_send_are_forbidden_and_change_nothing() {
    let app = spawn().await;
    let account = app.register("tove@example.com").await;
    let handle = cookie_log_in(&app, "tove@example.com").await;
    let refusals = [
        ("another origin", Some(ELSEWHERE), "application/json"),
        ("no origin", None, "application/json"),
        ("the literal null origin", Some("null"), "application/json"),
        (
            "a form's content type",
            Some(APP),
            "application/x-www-form-urlencoded",
        ),
        (
            "a multipart form",
            Some(APP),
            "multipart/form-data; boundary=x",
        ),
        ("text/plain", Some(APP), "text/plain"),
        ("a form from another origin", Some(ELSEWHERE), "text/plain"),
    ];
    for (what, origin, content_type) in refusals {
        let browser = Browser {
            origin,
            content_type,
        };
        let refused = post(
            &app,
            &browser,
            Some(&handle),
            "mutation { logOut }",
            json!({}),
        )
        .await;
        assert_eq!(refused.status, 403, "{what}: {}", refused.text);
        assert_eq!(refused.first_code(), "FORBIDDEN", "{what}");
        assert!(set_cookies(&refused).is_empty(), "{what}");
        // Asking for the cookie transport without a cookie is held to the same rule, so
        // no page elsewhere signs a browser into an account of its choosing.
        let log_in = post(
            &app,
            &browser,
            None,
            LOG_IN,
            json!({ "e": "tove@example.com", "p": PASSWORD }),
        )
        .await;
        assert_eq!(log_in.status, 403, "{what}: {}", log_in.text);
        assert!(set_cookies(&log_in).is_empty(), "{what}");
    }
    // Nothing ran: the session is live.
    assert_eq!(
        me(&app, &handle).await["data"]["me"]["id"],
        account.to_string()
    );
    let sessions = app.db.store().sessions_of(account).await.expect("sessions");
    assert_eq!(
        sessions.len(),
        1,
        "no session was opened by a refused log-in"
    );
    assert!(sessions[0].revoked_at.is_none());

    // A query over GET with the cookie changes nothing; SameSite=Strict guards it.
    let read = app
        .send(
            app.client
                .get(app.url("/graphql?query=%7B%20me%20%7B%20id%20%7D%20%7D"))
                .header("cookie", format!("{COOKIE}={handle}")),
        )
        .await;
    assert_eq!(
        read.json()["data"]["me"]["id"],
        account.to_string(),
        "{}",
        read.text
    );

    // A bearer request is not subject to the rule: no page elsewhere can attach the header.
    let person = app.person("ulla@example.com").await;
    let bearer = app
        .send(
            app.client
                .post(app.url("/graphql"))
                .header("content-type", "application/json")
                .header("origin", ELSEWHERE)
                .header("authorization", format!("Bearer {}", person.access_token))
                .body(json!({ "query": "{ me { id } }" }).to_string()),
        )
        .await;
    assert_eq!(bearer.json()["data"]["me"]["id"], person.id.to_string());
}

#[tokio::test]
async fn media_and_the_websocket_authenticate_by_the_session_cookie() {
    let app = spawn().await;
    app.register("ines@example.com").await;
    let handle = cookie_log_in(&app, "ines@example.com").await;
    let generated = post(
        &app,
        &PAGE,
        Some(&handle),
        "mutation G($i: GenerateImageInput!) { generateImage(input: $i) { id } }",
        json!({ "i": { "prompt": "a lighthouse" } }),
    )
    .await
    .json();
    let id = generated["data"]["generateImage"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{generated}"))
        .to_owned();
    let media = app
        .send(
            app.client
                .get(app.url(&format!("/media/{id}")))
                .header("cookie", format!("{COOKIE}={handle}")),
        )
        .await;
    assert_eq!(media.status, 200);
    assert_eq!(media.content_type, "image/png");
    assert_eq!(app.get(&format!("/media/{id}")).await.status, 404);

    // The WebSocket: the upgrade's cookie authenticates, from an allowed origin only.
    let cookie = format!("{COOKIE}={handle}");
    for (what, origin) in [("another origin", Some(ELSEWHERE)), ("no origin", None)] {
        let mut headers = vec![("cookie", cookie.clone())];
        if let Some(origin) = origin {
            headers.push(("origin", origin.to_owned()));
        }
        assert_eq!(
            Socket::try_open_with(&app, &headers).await.err(),
            Some(403),
            "{what}"
        );
    }
    let mut socket = Socket::try_open_with(
        &app,
        &[("cookie", cookie.clone()), ("origin", APP.to_owned())],
    )
    .await
    .expect("the WebSocket opens");
    socket
        .send(json!({ "type": "connection_init", "payload": {} }))
        .await;
    let ack = socket.next().await.expect("an acknowledgement");
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    socket.subscribe("1", &id).await;
    let first = socket.next().await.expect("the generation");
    assert_eq!(first["type"], "next", "{first}");
    assert_eq!(
        first["payload"]["data"]["generationUpdated"]["id"], id,
        "{first}"
    );

    // Log-out ends the socket's session too.
    post(&app, &PAGE, Some(&handle), "mutation { logOut }", json!({})).await;
    assert_eq!(socket.closed().await.0, 4403);
}

#[tokio::test]
async fn an_export_is_downloaded_once_by_the_session_cookie() {
    let app = TestApp::spawn_with(|settings| {
        settings.cors_origins = Some(APP.to_owned());
        settings.job_poll_interval_ms = 100;
    })
    .await;
    app.register("esme@example.com").await;
    let handle = cookie_log_in(&app, "esme@example.com").await;
    let requested = post(
        &app,
        &PAGE,
        Some(&handle),
        "mutation { requestDataExport { id } }",
        json!({}),
    )
    .await
    .json();
    let id = requested["data"]["requestDataExport"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{requested}"))
        .to_owned();
    let started = std::time::Instant::now();
    let url = loop {
        let listed = post(
            &app,
            &PAGE,
            Some(&handle),
            "{ me { dataRequests { id status downloadUrl } } }",
            json!({}),
        )
        .await
        .json();
        let found = listed["data"]["me"]["dataRequests"]
            .as_array()
            .unwrap_or_else(|| panic!("{listed}"))
            .iter()
            .find(|request| request["id"] == id.as_str())
            .cloned()
            .expect("the request is listed");
        if found["status"] == "COMPLETED" {
            break found["downloadUrl"].as_str().expect("a link").to_owned();
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "the export did not complete: {found}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(app.get(&url).await.status, 404, "not without the cookie");
    let with_cookie = || {
        app.client
            .get(app.url(&url))
            .header("cookie", format!("{COOKIE}={handle}"))
    };
    let first = app.send(with_cookie()).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.content_type, "application/zip");
    assert_eq!(app.send(with_cookie()).await.status, 410, "once");
}

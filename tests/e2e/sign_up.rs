//! Sign-up and e-mail verification over HTTP: the journey, the same answer for taken and
//! free addresses, refused input that is not echoed, verification links that work once,
//! and the per-address sign-up limit.

use icecone_app::notify::NotificationKind;
use icecone_core::identity::policy::CURRENT_POLICY_VERSION;
use serde_json::{Value, json};

use crate::support::app::{PASSWORD, TestApp, code};
use crate::support::totp::{base32_decode, code_at};

const SIGN_UP: &str =
    "mutation S($i: SignUpInput!) { signUp(input: $i) { accessToken refreshToken expiresAt } }";
const VERIFY: &str = "mutation V($t: String!) { verifyEmail(token: $t) }";
const RESEND: &str = "mutation { resendVerificationEmail }";
const ME: &str = "{ me { id email emailVerified } }";
const LOG_IN: &str = "mutation L($e: String!, $p: String!) { logIn(email: $e, password: $p) { \
    __typename ... on AuthSession { accessToken } } }";

async fn sign_up(app: &TestApp, email: &str, password: &str, version: &str) -> Value {
    app.graphql(
        None,
        SIGN_UP,
        json!({ "i": { "email": email, "password": password, "acceptedPolicyVersion": version } }),
    )
    .await
}

fn access_token(body: &Value) -> String {
    body["data"]["signUp"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("no session: {body}"))
        .to_owned()
}

/// The shape of an answer with every value replaced by its JSON type.
fn shape(value: &Value) -> Value {
    match value {
        Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), shape(v))).collect(),
        Value::Array(items) => items.iter().map(shape).collect(),
        Value::String(_) => json!("string"),
        Value::Number(_) => json!("number"),
        Value::Bool(_) => json!("bool"),
        Value::Null => Value::Null,
    }
}

#[tokio::test]
async fn sign_up_verify_and_log_in_end_to_end() {
    let app = TestApp::spawn().await;
    let body = sign_up(&app, "Kim@Example.com", PASSWORD, CURRENT_POLICY_VERSION).await;
    let token = access_token(&body);
    let me = app.graphql(Some(&token), ME, json!({})).await;
    assert_eq!(me["data"]["me"]["email"], "kim@example.com", "{me}");
    assert_eq!(me["data"]["me"]["emailVerified"], false, "{me}");

    // Unverified, the address is not a sign-in name yet: the same answer as an unknown one.
    let early = app
        .graphql(
            None,
            LOG_IN,
            json!({ "e": "kim@example.com", "p": PASSWORD }),
        )
        .await;
    assert_eq!(code(&early), "UNAUTHENTICATED", "{early}");

    let link = app
        .notifications
        .wait_for(NotificationKind::VerifyEmail, "kim@example.com")
        .await;
    let verification = link.token.expect("a verification token");
    let verified = app
        .graphql(None, VERIFY, json!({ "t": verification }))
        .await;
    assert_eq!(verified["data"]["verifyEmail"], true, "{verified}");
    let again = app
        .graphql(None, VERIFY, json!({ "t": verification }))
        .await;
    assert_eq!(code(&again), "BAD_USER_INPUT", "a link works once: {again}");

    let me = app.graphql(Some(&token), ME, json!({})).await;
    assert_eq!(me["data"]["me"]["emailVerified"], true, "{me}");
    let logged_in = app
        .graphql(
            None,
            LOG_IN,
            json!({ "e": "kim@example.com", "p": PASSWORD }),
        )
        .await;
    assert_eq!(
        logged_in["data"]["logIn"]["__typename"], "AuthSession",
        "{logged_in}"
    );
    let resend = app.graphql(Some(&token), RESEND, json!({})).await;
    assert_eq!(
        code(&resend),
        "BAD_USER_INPUT",
        "verified already: {resend}"
    );
}

#[tokio::test]
async fn sign_up_answers_alike_whether_or_not_the_address_is_taken() {
    let app = TestApp::spawn().await;
    let owner = app.register("lee@example.com").await;

    let taken = sign_up(
        &app,
        "lee@example.com",
        "another long passphrase",
        CURRENT_POLICY_VERSION,
    )
    .await;
    let free = sign_up(
        &app,
        "mo@example.com",
        "another long passphrase",
        CURRENT_POLICY_VERSION,
    )
    .await;
    assert_eq!(shape(&taken), shape(&free), "{taken} / {free}");
    assert!(taken.get("errors").is_none(), "{taken}");
    let me_taken = app
        .graphql(Some(&access_token(&taken)), ME, json!({}))
        .await;
    let me_free = app.graphql(Some(&access_token(&free)), ME, json!({})).await;
    assert_eq!(me_taken["data"]["me"]["emailVerified"], false);
    assert_eq!(me_free["data"]["me"]["emailVerified"], false);
    assert_ne!(me_taken["data"]["me"]["id"], owner.to_string());

    // The owner is told; the newcomer gets no link to an address that is not theirs.
    let notice = app
        .notifications
        .wait_for(NotificationKind::SignUpAttempt, "lee@example.com")
        .await;
    assert_eq!(notice.account, Some(owner));
    assert_eq!(notice.token, None);
    app.notifications
        .wait_for(NotificationKind::VerifyEmail, "mo@example.com")
        .await;
    assert!(
        !app.notifications
            .delivered()
            .iter()
            .any(|d| d.kind == NotificationKind::VerifyEmail && d.recipient == "lee@example.com"),
        "a verification link went to a taken address"
    );

    // The owner still signs in with their password; the newcomer's password does nothing.
    let owner_log_in = app
        .graphql(
            None,
            LOG_IN,
            json!({ "e": "lee@example.com", "p": PASSWORD }),
        )
        .await;
    assert_eq!(owner_log_in["data"]["logIn"]["__typename"], "AuthSession");
    let newcomer = app
        .graphql(
            None,
            LOG_IN,
            json!({ "e": "lee@example.com", "p": "another long passphrase" }),
        )
        .await;
    assert_eq!(code(&newcomer), "UNAUTHENTICATED", "{newcomer}");
}

#[tokio::test]
async fn sign_up_refuses_bad_input_without_echoing_it_or_keeping_anything() {
    let app = TestApp::spawn().await;
    let accounts_before = app.db.count("accounts").await;
    let cases = [
        ("not-an-address", PASSWORD, CURRENT_POLICY_VERSION, "email"),
        (
            "nia@example.com",
            "short-pass",
            CURRENT_POLICY_VERSION,
            "password",
        ),
        (
            "nia@example.com",
            "password1234",
            CURRENT_POLICY_VERSION,
            "password",
        ),
        (
            "nia@example.com",
            &"x".repeat(129),
            CURRENT_POLICY_VERSION,
            "password",
        ),
        (
            "nia@example.com",
            PASSWORD,
            "2020-01-01",
            "acceptedPolicyVersion",
        ),
    ];
    for (email, password, version, field) in cases {
        let body = sign_up(&app, email, password, version).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{field}: {body}");
        let message = body["errors"][0]["message"].as_str().expect("message");
        assert!(message.starts_with(field), "{message}");
        assert!(!message.contains(email), "the address is echoed: {message}");
        assert!(
            !message.contains(password),
            "the password is echoed: {message}"
        );
    }
    assert_eq!(app.db.count("accounts").await, accounts_before);
    assert_eq!(app.db.count("email_verifications").await, 0);
}

#[tokio::test]
async fn verification_links_fail_when_unknown_expired_or_the_address_was_verified_elsewhere() {
    let app = TestApp::spawn().await;
    let unknown = app
        .graphql(None, VERIFY, json!({ "t": "not-a-token" }))
        .await;
    assert_eq!(code(&unknown), "BAD_USER_INPUT", "{unknown}");

    // Two unverified sign-ups for one free address: each gets a link; the first used wins.
    let first = sign_up(&app, "ola@example.com", PASSWORD, CURRENT_POLICY_VERSION).await;
    let second = sign_up(&app, "ola@example.com", PASSWORD, CURRENT_POLICY_VERSION).await;
    let first_token = access_token(&first);
    let second_token = access_token(&second);
    let mut links = Vec::new();
    for _ in 0..200 {
        links = app
            .notifications
            .delivered()
            .into_iter()
            .filter(|d| d.kind == NotificationKind::VerifyEmail)
            .collect();
        if links.len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(links.len(), 2, "{links:?}");
    let second_id = app.graphql(Some(&second_token), ME, json!({})).await["data"]["me"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (for_second, for_first): (Vec<_>, Vec<_>) = links
        .into_iter()
        .partition(|d| d.account.map(|id| id.to_string()) == Some(second_id.to_string()));
    let verified = app
        .graphql(
            None,
            VERIFY,
            json!({ "t": for_second[0].token.clone().expect("token") }),
        )
        .await;
    assert_eq!(verified["data"]["verifyEmail"], true, "{verified}");
    let too_late = app
        .graphql(
            None,
            VERIFY,
            json!({ "t": for_first[0].token.clone().expect("token") }),
        )
        .await;
    assert_eq!(code(&too_late), "BAD_USER_INPUT", "{too_late}");
    let me = app.graphql(Some(&first_token), ME, json!({})).await;
    assert_eq!(me["data"]["me"]["emailVerified"], false, "{me}");

    // An expired link does nothing; a new one can be asked for.
    sign_up(&app, "pia@example.com", PASSWORD, CURRENT_POLICY_VERSION).await;
    let link = app
        .notifications
        .wait_for(NotificationKind::VerifyEmail, "pia@example.com")
        .await;
    app.db
        .execute("UPDATE email_verifications SET expires_at = created_at WHERE used_at IS NULL")
        .await;
    let expired = app
        .graphql(None, VERIFY, json!({ "t": link.token.expect("token") }))
        .await;
    assert_eq!(code(&expired), "BAD_USER_INPUT", "{expired}");
}

#[tokio::test]
async fn a_new_verification_link_can_be_asked_for_a_few_times() {
    let app = TestApp::spawn().await;
    let body = sign_up(&app, "quinn@example.com", PASSWORD, CURRENT_POLICY_VERSION).await;
    let token = access_token(&body);
    let anonymous = app.graphql(None, RESEND, json!({})).await;
    assert_eq!(code(&anonymous), "UNAUTHENTICATED", "{anonymous}");
    for _ in 0..3 {
        let resent = app.graphql(Some(&token), RESEND, json!({})).await;
        assert_eq!(resent["data"]["resendVerificationEmail"], true, "{resent}");
    }
    let limited = app.graphql(Some(&token), RESEND, json!({})).await;
    assert_eq!(code(&limited), "RATE_LIMITED", "{limited}");
    // The sign-up's link and the three new ones all arrive; the newest works.
    let mut links = Vec::new();
    for _ in 0..200 {
        links = app.notifications.delivered();
        if links.len() == 4 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(links.len(), 4, "{links:?}");
    let newest = links.last().and_then(|d| d.token.clone()).expect("token");
    let verified = app.graphql(None, VERIFY, json!({ "t": newest })).await;
    assert_eq!(verified["data"]["verifyEmail"], true, "{verified}");
}

#[tokio::test]
async fn sign_ups_from_one_client_address_are_limited() {
    let app = TestApp::spawn().await;
    for n in 0..10 {
        let body = sign_up(
            &app,
            &format!("r{n}@example.com"),
            PASSWORD,
            CURRENT_POLICY_VERSION,
        )
        .await;
        assert!(body.get("errors").is_none(), "{body}");
    }
    let limited = sign_up(&app, "r10@example.com", PASSWORD, CURRENT_POLICY_VERSION).await;
    assert_eq!(code(&limited), "RATE_LIMITED", "{limited}");
    assert!(
        limited["errors"][0]["extensions"]["retryAfterSeconds"]
            .as_u64()
            .is_some_and(|s| s > 0 && s <= 900),
        "{limited}"
    );
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

#[tokio::test]
async fn a_sign_up_leaves_no_address_password_or_link_in_clear_in_the_database() {
    let app = TestApp::spawn().await;
    let address = "canary.signup@example.com";
    let password = "canary sign-up passphrase";
    let body = sign_up(&app, address, password, CURRENT_POLICY_VERSION).await;
    access_token(&body);
    let link = app
        .notifications
        .wait_for(NotificationKind::VerifyEmail, address)
        .await;
    let token = link.token.expect("token");
    let raw = app.db.raw_bytes().await;
    assert!(
        contains(&raw, b"email_verifications"),
        "the scan reads the database"
    );
    for secret in [address, password, token.as_str()] {
        assert!(!contains(&raw, secret.as_bytes()), "{secret} is in clear");
    }
}

#[tokio::test]
async fn security_alerts_reach_the_account_holder_through_the_notifier() {
    let app = TestApp::spawn().await;
    let account = app.register("sam@example.com").await;
    // The first two rounds fail (the mail server is down); the alert stays queued.
    app.notifications.fail_next(2);
    let logged_in = app
        .graphql(
            None,
            LOG_IN,
            json!({ "e": "sam@example.com", "p": PASSWORD }),
        )
        .await;
    assert_eq!(logged_in["data"]["logIn"]["__typename"], "AuthSession");
    let alert = app
        .notifications
        .wait_for(NotificationKind::NewSignIn, "sam@example.com")
        .await;
    assert_eq!(alert.account, Some(account));
    // Delivered once: the outbox row is claimed, and later rounds do not send it again.
    assert_eq!(
        app.db
            .count("notification_outbox WHERE delivered_at IS NOT NULL")
            .await,
        1
    );
    tokio::time::sleep(icecone_app::notify::DELIVERY_INTERVAL * 2).await;
    let sent = app
        .notifications
        .delivered()
        .into_iter()
        .filter(|d| d.kind == NotificationKind::NewSignIn)
        .count();
    assert_eq!(sent, 1);
    assert_eq!(
        app.db
            .count("notification_outbox WHERE delivered_at IS NULL")
            .await,
        0
    );
}

#[tokio::test]
async fn the_whole_journey_sign_up_log_in_enroll_mfa_log_in_refresh_log_out() {
    use icecone_core::identity::totp::TotpSecret;

    let app = TestApp::spawn().await;
    let email = "journey@example.com";
    let signed_up = sign_up(&app, email, PASSWORD, CURRENT_POLICY_VERSION).await;
    access_token(&signed_up);
    let link = app
        .notifications
        .wait_for(NotificationKind::VerifyEmail, email)
        .await;
    let verified = app
        .graphql(None, VERIFY, json!({ "t": link.token.expect("token") }))
        .await;
    assert_eq!(verified["data"]["verifyEmail"], true, "{verified}");

    let log_in = "mutation L($e: String!, $p: String!) { logIn(email: $e, password: $p) { \
        __typename ... on AuthSession { accessToken refreshToken } \
        ... on MfaChallenge { challenge } } }";
    let first = app
        .graphql(None, log_in, json!({ "e": email, "p": PASSWORD }))
        .await;
    assert_eq!(
        first["data"]["logIn"]["__typename"], "AuthSession",
        "{first}"
    );
    let token = first["data"]["logIn"]["accessToken"]
        .as_str()
        .expect("token")
        .to_owned();

    let enrolled = app
        .graphql(
            Some(&token),
            "mutation { enrollTotp { secret } }",
            json!({}),
        )
        .await;
    let secret = TotpSecret::from_bytes(&base32_decode(
        enrolled["data"]["enrollTotp"]["secret"]
            .as_str()
            .expect("secret"),
    ))
    .expect("secret");
    let confirmed = app
        .graphql(
            Some(&token),
            "mutation C($k: String!) { confirmTotp(code: $k) }",
            json!({ "k": code_at(&secret, 0) }),
        )
        .await;
    assert_eq!(
        confirmed["data"]["confirmTotp"].as_array().map(Vec::len),
        Some(10),
        "{confirmed}"
    );

    // With a second factor, log-in ends in a challenge that the next code completes.
    let second = app
        .graphql(None, log_in, json!({ "e": email, "p": PASSWORD }))
        .await;
    assert_eq!(
        second["data"]["logIn"]["__typename"], "MfaChallenge",
        "{second}"
    );
    let completed = app
        .graphql(
            None,
            "mutation C($c: String!, $k: String!) { completeMfa(challenge: $c, code: $k) { \
         accessToken refreshToken } }",
            json!({ "c": second["data"]["logIn"]["challenge"], "k": code_at(&secret, 30) }),
        )
        .await;
    let refresh_token = completed["data"]["completeMfa"]["refreshToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{completed}"))
        .to_owned();

    let refreshed = app
        .graphql(
            None,
            "mutation R($t: String!) { refreshSession(refreshToken: $t) { accessToken } }",
            json!({ "t": refresh_token }),
        )
        .await;
    let access = refreshed["data"]["refreshSession"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{refreshed}"))
        .to_owned();
    let me = app
        .graphql(
            Some(&access),
            "{ me { email mfaEnabled emailVerified } }",
            json!({}),
        )
        .await;
    assert_eq!(
        me["data"]["me"],
        json!({ "email": email, "mfaEnabled": true, "emailVerified": true }),
        "{me}"
    );

    let logged_out = app
        .graphql(Some(&access), "mutation { logOut }", json!({}))
        .await;
    assert_eq!(logged_out["data"]["logOut"], true, "{logged_out}");
    let after = app
        .send(
            app.client
                .post(app.url("/graphql"))
                .header("content-type", "application/json")
                .header("authorization", format!("Bearer {access}"))
                .body(json!({ "query": "{ me { id } }" }).to_string()),
        )
        .await;
    assert_eq!(
        after.status, 401,
        "the logged-out token is refused: {}",
        after.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sign_ups_sent_at_once_from_one_client_address_are_limited_alike() {
    let app = TestApp::spawn().await;
    let answers = futures_util::future::join_all((0..20).map(|n| {
        let email = format!("s{n}@example.com");
        let app = &app;
        async move { sign_up(app, &email, PASSWORD, CURRENT_POLICY_VERSION).await }
    }))
    .await;
    let codes: Vec<&str> = answers.iter().map(code).collect();
    assert_eq!(
        codes.iter().filter(|c| **c == "none").count(),
        10,
        "each sign-up takes its place in the window before it runs: {codes:?}"
    );
    assert_eq!(
        codes.iter().filter(|c| **c == "RATE_LIMITED").count(),
        10,
        "{codes:?}"
    );
}

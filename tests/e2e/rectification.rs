//! Rectification (GDPR Art. 16) over HTTP: `updateProfile` changes the display name at
//! once (sealed), and the e-mail address only after a recent log-in and once the new
//! address is verified.

use icecone_app::notify::NotificationKind;
use serde_json::{Value, json};

use crate::support::app::{PASSWORD, Person, STALE, TestApp, code};

const UPDATE: &str = "mutation U($input: UpdateProfileInput!) { updateProfile(input: $input) { \
    email emailVerified displayName } }";
const VERIFY: &str = "mutation V($t: String!) { verifyEmail(token: $t) }";
const LOG_IN: &str = "mutation L($e: String!, $p: String!) { logIn(email: $e, password: $p) { \
    ... on AuthSession { accessToken } } }";

async fn update(app: &TestApp, token: &str, input: Value) -> Value {
    app.graphql(Some(token), UPDATE, json!({ "input": input }))
        .await
}

async fn logs_in(app: &TestApp, email: &str) -> bool {
    let body = app
        .graphql(None, LOG_IN, json!({ "e": email, "p": PASSWORD }))
        .await;
    body["data"]["logIn"]["accessToken"].is_string()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

#[tokio::test]
async fn the_display_name_is_corrected_at_once_and_stored_sealed() {
    let app = TestApp::spawn().await;
    let Person {
        access_token: token,
        ..
    } = app.person("ines@example.com").await;
    let body = update(&app, &token, json!({ "displayName": "Ines Canarysurname" })).await;
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(
        body["data"]["updateProfile"]["displayName"],
        "Ines Canarysurname"
    );
    let me = app
        .graphql(Some(&token), "{ me { displayName } }", json!({}))
        .await;
    assert_eq!(me["data"]["me"]["displayName"], "Ines Canarysurname");
    assert!(
        !contains(&app.db.raw_bytes().await, b"Canarysurname"),
        "the display name is in the database in clear"
    );

    let too_long = update(&app, &token, json!({ "displayName": "x".repeat(101) })).await;
    assert_eq!(code(&too_long), "BAD_USER_INPUT", "{too_long}");
    let me = app
        .graphql(Some(&token), "{ me { displayName } }", json!({}))
        .await;
    assert_eq!(
        me["data"]["me"]["displayName"], "Ines Canarysurname",
        "unchanged"
    );

    let cleared = update(&app, &token, json!({ "displayName": "" })).await;
    assert_eq!(
        cleared["data"]["updateProfile"]["displayName"],
        Value::Null,
        "{cleared}"
    );
}

#[tokio::test]
async fn a_new_email_needs_a_recent_log_in_and_is_used_only_once_verified() {
    let app = TestApp::spawn().await;
    let Person {
        id: account,
        access_token: token,
        ..
    } = app.person("jon.old@example.com").await;

    // A session whose log-in is ten minutes old may not change the address.
    let stale = app.mint_token(account, STALE).await;
    let refused = update(&app, &stale, json!({ "email": "jon.new@example.com" })).await;
    assert_eq!(code(&refused), "REAUTHENTICATION_REQUIRED", "{refused}");
    let invalid = update(&app, &token, json!({ "email": "not an address" })).await;
    assert_eq!(code(&invalid), "BAD_USER_INPUT", "{invalid}");

    let body = update(&app, &token, json!({ "email": "jon.new@example.com" })).await;
    assert!(body.get("errors").is_none(), "{body}");
    // Still the old address until the new one is verified.
    assert_eq!(
        body["data"]["updateProfile"]["email"],
        "jon.old@example.com"
    );
    assert!(logs_in(&app, "jon.old@example.com").await);
    assert!(!logs_in(&app, "jon.new@example.com").await);

    let link = app
        .notifications
        .wait_for(NotificationKind::VerifyNewEmail, "jon.new@example.com")
        .await;
    assert!(
        app.notifications
            .delivered()
            .iter()
            .all(|d| !(d.recipient == "jon.old@example.com" && d.token.is_some())),
        "the link went to the old address"
    );
    let verified = app
        .graphql(
            None,
            VERIFY,
            json!({ "t": link.token.expect("a verification token") }),
        )
        .await;
    assert_eq!(verified["data"]["verifyEmail"], true, "{verified}");
    assert!(logs_in(&app, "jon.new@example.com").await);
    assert!(!logs_in(&app, "jon.old@example.com").await);
    let me = app
        .graphql(Some(&token), "{ me { email emailVerified } }", json!({}))
        .await;
    assert_eq!(me["data"]["me"]["email"], "jon.new@example.com");
    assert_eq!(me["data"]["me"]["emailVerified"], true);
}

#[tokio::test]
async fn an_address_another_account_holds_is_never_sent_a_link_and_never_taken() {
    let app = TestApp::spawn().await;
    let Person {
        access_token: token,
        ..
    } = app.person("kim@example.com").await;
    app.person("lee.taken@example.com").await;
    let body = update(&app, &token, json!({ "email": "lee.taken@example.com" })).await;
    // Answered like any change, so it does not tell who has an account.
    assert!(body.get("errors").is_none(), "{body}");
    let notice = app
        .notifications
        .wait_for(NotificationKind::SignUpAttempt, "lee.taken@example.com")
        .await;
    assert_eq!(notice.token, None, "the holder gets a notice, never a link");
    assert!(
        app.notifications
            .delivered()
            .iter()
            .all(|d| !(d.kind == NotificationKind::VerifyEmail
                && d.recipient == "lee.taken@example.com"))
    );
    assert!(logs_in(&app, "kim@example.com").await);
}

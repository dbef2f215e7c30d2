//! Log-in and refresh over HTTP: the journey, refresh-token reuse, enumeration resistance
//! and throttling (including attempts packed as aliases).

use chrono::Utc;
use icecone_app::notify::NotificationKind;
use serde_json::{Value, json};

use crate::support::app::{PASSWORD, TestApp, code};

const LOG_IN: &str = "mutation L($e: String!, $p: String!) { logIn(email: $e, password: $p) { \
    __typename ... on AuthSession { accessToken refreshToken expiresAt } \
    ... on MfaChallenge { challenge expiresAt } } }";
const REFRESH: &str =
    "mutation R($t: String!) { refreshSession(refreshToken: $t) { accessToken refreshToken } }";

async fn log_in(app: &TestApp, email: &str, password: &str) -> Value {
    app.graphql(None, LOG_IN, json!({ "e": email, "p": password }))
        .await
}

#[tokio::test]
async fn log_in_refresh_and_reuse_detection_end_to_end() {
    let app = TestApp::spawn().await;
    let account = app.register("dana@example.com").await;

    let body = log_in(&app, "Dana@Example.com", PASSWORD).await;
    let session = &body["data"]["logIn"];
    assert_eq!(session["__typename"], "AuthSession", "{body}");
    let access = session["accessToken"]
        .as_str()
        .expect("access token")
        .to_owned();
    let refresh = session["refreshToken"]
        .as_str()
        .expect("refresh token")
        .to_owned();
    let me = app
        .graphql(Some(&access), "{ me { id email } }", json!({}))
        .await;
    assert_eq!(me["data"]["me"]["id"], account.to_string(), "{me}");
    assert_eq!(me["data"]["me"]["email"], "dana@example.com");

    let renewed = app.graphql(None, REFRESH, json!({ "t": refresh })).await;
    let new_access = renewed["data"]["refreshSession"]["accessToken"]
        .as_str()
        .expect("new access")
        .to_owned();
    let new_refresh = renewed["data"]["refreshSession"]["refreshToken"]
        .as_str()
        .expect("new refresh")
        .to_owned();
    assert_ne!(new_refresh, refresh, "refresh tokens rotate");
    assert!(
        app.graphql(Some(&new_access), "{ me { id } }", json!({}))
            .await["data"]["me"]["id"]
            .is_string()
    );

    // The spent token used again: someone holds a copy, so the whole session ends.
    let reused = app.graphql(None, REFRESH, json!({ "t": refresh })).await;
    assert_eq!(code(&reused), "UNAUTHENTICATED", "{reused}");
    let after = app
        .send(
            app.client
                .post(app.url("/graphql"))
                .header("content-type", "application/json")
                .header("authorization", format!("Bearer {new_access}"))
                .body(json!({ "query": "{ me { id } }" }).to_string()),
        )
        .await;
    assert_eq!(after.status, 401, "the session was revoked");
    assert_eq!(
        code(
            &app.graphql(None, REFRESH, json!({ "t": new_refresh }))
                .await
        ),
        "UNAUTHENTICATED"
    );
    assert_eq!(
        code(
            &app.graphql(None, REFRESH, json!({ "t": "not-a-token" }))
                .await
        ),
        "UNAUTHENTICATED"
    );

    let trail = app.db.store().audit_page(None, 10).await.expect("audit");
    let actions: Vec<&str> = trail.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["auth.sign_in", "auth.refresh_reuse"]);
    let notice = app
        .notifications
        .wait_for(NotificationKind::NewSignIn, "dana@example.com")
        .await;
    assert_eq!(notice.account, Some(account));
}

#[tokio::test]
async fn wrong_passwords_and_unknown_emails_get_the_same_answer_and_the_same_throttle() {
    let app = TestApp::spawn().await;
    app.register("erin@example.com").await;
    let wrong = log_in(&app, "erin@example.com", "not the password at all").await;
    let unknown = log_in(&app, "nobody@example.com", "not the password at all").await;
    assert_eq!(code(&wrong), "UNAUTHENTICATED");
    assert_eq!(
        wrong["errors"][0]["message"], unknown["errors"][0]["message"],
        "one answer for both"
    );
    // The first failures are free (core's throttle policy), then both addresses are
    // throttled alike.
    for _ in 0..3 {
        assert_eq!(
            code(&log_in(&app, "erin@example.com", "nope nope nope").await),
            "UNAUTHENTICATED"
        );
        assert_eq!(
            code(&log_in(&app, "nobody@example.com", "nope nope nope").await),
            "UNAUTHENTICATED"
        );
    }
    for email in ["erin@example.com", "nobody@example.com"] {
        let body = log_in(&app, email, PASSWORD).await;
        assert_eq!(code(&body), "RATE_LIMITED", "{email}: {body}");
        assert!(
            body["errors"][0]["extensions"]["retryAfterSeconds"]
                .as_u64()
                .is_some_and(|s| s >= 1),
            "{body}"
        );
    }
}

#[tokio::test]
async fn log_in_attempts_packed_as_aliases_each_count() {
    let app = TestApp::spawn().await;
    app.register("finn@example.com").await;
    let fields: String = (0..8)
        .map(|i| format!("a{i}: logIn(email: \"finn@example.com\", password: \"guess-number-{i:04}\") {{ __typename }} "))
        .collect();
    let body = app
        .graphql(None, &format!("mutation {{ {fields} }}"), json!({}))
        .await;
    let codes: Vec<&str> = body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["extensions"]["code"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        codes,
        [
            "UNAUTHENTICATED",
            "UNAUTHENTICATED",
            "UNAUTHENTICATED",
            "UNAUTHENTICATED",
            "RATE_LIMITED",
            "RATE_LIMITED",
            "RATE_LIMITED",
            "RATE_LIMITED"
        ],
        "{body}"
    );
    // The right password is throttled too until the delay is over.
    assert_eq!(
        code(&log_in(&app, "finn@example.com", PASSWORD).await),
        "RATE_LIMITED"
    );
}

#[tokio::test]
async fn suspended_accounts_and_second_factors() {
    let app = TestApp::spawn().await;
    let suspended = app.register("gus@example.com").await;
    app.db
        .store()
        .suspend_account(suspended, Utc::now())
        .await
        .expect("suspended");
    assert_eq!(
        code(&log_in(&app, "gus@example.com", "wrong wrong wrong").await),
        "UNAUTHENTICATED"
    );
    assert_eq!(
        code(&log_in(&app, "gus@example.com", PASSWORD).await),
        "FORBIDDEN",
        "only with the password"
    );

    let with_totp = app.register("hana@example.com").await;
    app.db
        .store()
        .put_totp_factor(with_totp, vec![1, 2, 3])
        .await
        .expect("enrolled");
    app.db
        .store()
        .confirm_totp_factor(with_totp, Utc::now())
        .await
        .expect("confirmed");
    let body = log_in(&app, "hana@example.com", PASSWORD).await;
    assert_eq!(
        body["data"]["logIn"]["__typename"], "MfaChallenge",
        "{body}"
    );
    assert!(
        body["data"]["logIn"]["challenge"]
            .as_str()
            .is_some_and(|c| c.len() >= 40)
    );
}

/// The answers' error codes, in no particular order.
async fn concurrent_codes(
    app: &TestApp,
    requests: impl IntoIterator<Item = reqwest::RequestBuilder>,
) -> Vec<String> {
    let answers = futures_util::future::join_all(
        requests
            .into_iter()
            .map(|request| async move { app.send(request).await.json() }),
    )
    .await;
    answers.iter().map(|body| code(body).to_owned()).collect()
}

/// How many of `codes` are `code`.
pub(crate) fn count_of(codes: &[String], code: &str) -> usize {
    codes.iter().filter(|c| c.as_str() == code).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forty_concurrent_wrong_passwords_on_two_instances_run_only_the_free_checks() {
    let app = TestApp::spawn().await;
    app.register("iris@example.com").await;
    let second = app.another_instance(|_| {}).await;
    let body = json!({ "query": LOG_IN, "variables": { "e": "iris@example.com", "p": "a wrong password guess" } })
        .to_string();
    let requests = (0..40).map(|i| {
        let url = if i % 2 == 0 {
            app.url("/graphql")
        } else {
            format!("http://{second}/graphql")
        };
        app.client
            .post(url)
            .header("content-type", "application/json")
            .body(body.clone())
    });
    let codes = concurrent_codes(&app, requests).await;
    // Each attempt is reserved in the database before its password check: of 40 at once,
    // exactly the free failures are checked, on whichever instance.
    assert_eq!(
        count_of(&codes, "UNAUTHENTICATED"),
        usize::try_from(icecone_core::identity::throttle::FREE_FAILURES + 1).expect("small"),
        "{codes:?}"
    );
    assert_eq!(count_of(&codes, "RATE_LIMITED"), 36, "{codes:?}");
}

#[tokio::test]
async fn a_suspended_account_cannot_refresh_its_session() {
    let app = TestApp::spawn().await;
    let account = app.register("jade@example.com").await;
    let body = log_in(&app, "jade@example.com", PASSWORD).await;
    let refresh = body["data"]["logIn"]["refreshToken"]
        .as_str()
        .unwrap_or_else(|| panic!("signed in: {body}"))
        .to_owned();
    // Suspended, its sessions not ended yet: the moment between the two writes of a
    // suspension, or a session its revocation missed.
    app.db
        .store()
        .suspend_account(account, Utc::now())
        .await
        .expect("suspended");
    let refreshed = app.graphql(None, REFRESH, json!({ "t": refresh })).await;
    assert_eq!(code(&refreshed), "FORBIDDEN", "{refreshed}");
    assert!(refreshed["data"].is_null(), "no tokens: {refreshed}");
    let sessions = app.db.store().sessions_of(account).await.expect("sessions");
    assert!(
        sessions.iter().all(|session| session.revoked_at.is_some()),
        "the session it tried to extend is ended: {sessions:?}"
    );
}

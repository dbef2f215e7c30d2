//! Accounts and bearer authentication: the e-mail sealed with the person's own key, `me`
//! decrypting it for its owner only, and every way a bearer token can fail.

use chrono::Utc;
use icecone_app::accounts::{self, RegisterError};
use icecone_app::tokens::{AccessClaims, Acr, TokenSigner};
use icecone_core::identity::email::Email;
use icecone_core::identity::password::Password;
use icecone_core::identity::policy::PolicyVersion;
use icecone_store::accounts::AccountKind;
use icecone_store::sessions::NewSession;
use uuid::Uuid;

use crate::support::app::TestApp;

/// A registered person with a session of their own: account, session and access token.
async fn signed_in(app: &TestApp, tokens: &TokenSigner, email: &str) -> (Uuid, Uuid, String) {
    let account = app.register(email).await;
    let (session, token) = second_session(app, tokens, account).await;
    (account, session, token)
}

async fn me(app: &TestApp, authorization: Option<&str>) -> crate::support::app::Answer {
    let mut request = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .body(serde_json::json!({ "query": "{ me { id email mfaEnabled } }" }).to_string());
    if let Some(authorization) = authorization {
        request = request.header("authorization", authorization);
    }
    app.send(request).await
}

#[tokio::test]
async fn me_answers_the_signed_in_owner_with_their_decrypted_email() {
    let app = TestApp::spawn().await;
    let (_, tokens) = app.keys().await;
    let canary = format!("canary.{}@example.com", Uuid::new_v4().simple());
    let (account, _, token) = signed_in(&app, &tokens, &canary).await;
    let answer = me(&app, Some(&format!("Bearer {token}"))).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let body = answer.json();
    assert_eq!(body["data"]["me"]["id"], account.to_string(), "{body}");
    assert_eq!(body["data"]["me"]["email"], canary);
    assert_eq!(body["data"]["me"]["mfaEnabled"], false);
    // Stored sealed: the address is nowhere in the database in clear.
    let raw = app.db.raw_bytes().await;
    assert!(
        !raw.windows(canary.len()).any(|w| w == canary.as_bytes()),
        "the e-mail is stored in clear"
    );
}

#[tokio::test]
async fn anonymous_me_is_unauthenticated() {
    let app = TestApp::spawn().await;
    let answer = me(&app, None).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.first_code(), "UNAUTHENTICATED");
    assert!(answer.json()["data"].is_null());
}

#[tokio::test]
async fn bad_bearer_credentials_are_refused_with_401() {
    let app = TestApp::spawn().await;
    let (_, tokens) = app.keys().await;
    let (_, session, token) = signed_in(&app, &tokens, "alice@example.com").await;
    let (_, _, other_token) = signed_in(&app, &tokens, "bob@example.com").await;
    let mut tampered = token.clone();
    tampered.pop();
    let cases = [
        ("not bearer", "Basic YWxpY2U6c2VjcmV0".to_owned()),
        ("empty bearer", "Bearer ".to_owned()),
        ("garbage", "Bearer not-a-token".to_owned()),
        ("tampered signature", format!("Bearer {tampered}")),
    ];
    for (name, authorization) in cases {
        let answer = me(&app, Some(&authorization)).await;
        assert_eq!(answer.status, 401, "{name}: {}", answer.text);
        assert_eq!(answer.first_code(), "UNAUTHENTICATED", "{name}");
        let challenge = answer
            .headers
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok());
        assert_eq!(challenge, Some("Bearer error=\"invalid_token\""), "{name}");
    }
    // A revoked session ends access at once, before the token expires.
    app.db
        .store()
        .revoke_session(session, "logout", Utc::now())
        .await
        .expect("revoked");
    assert_eq!(me(&app, Some(&format!("Bearer {token}"))).await.status, 401);
    assert_eq!(
        me(&app, Some(&format!("Bearer {other_token}")))
            .await
            .status,
        200,
        "other sessions go on"
    );
}

#[tokio::test]
async fn an_email_can_hold_one_account_only() {
    let app = TestApp::spawn().await;
    let (vault, _) = app.keys().await;
    let register = |email: &'static str| {
        let (store, vault) = (app.db.store(), &vault);
        async move {
            accounts::register(
                store,
                vault,
                &Email::parse(email).expect("email"),
                &Password::parse("correct horse battery staple".to_owned()).expect("password"),
                PolicyVersion::current(),
                AccountKind::User,
            )
            .await
        }
    };
    register("Carol@Example.com").await.expect("first");
    assert!(
        matches!(
            register("carol@example.com").await,
            Err(RegisterError::EmailTaken)
        ),
        "case-insensitive"
    );
}

async fn graphql(
    app: &TestApp,
    token: Option<&str>,
    query: &str,
    variables: serde_json::Value,
) -> crate::support::app::Answer {
    let mut request = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .body(serde_json::json!({ "query": query, "variables": variables }).to_string());
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    app.send(request).await
}

/// A new session of `account`, with its own access token.
async fn second_session(app: &TestApp, tokens: &TokenSigner, account: Uuid) -> (Uuid, String) {
    let session = Uuid::new_v4();
    let now = Utc::now();
    app.db
        .store()
        .create_session(NewSession {
            id: session,
            account,
            auth_time: now,
            mfa_at: None,
            amr: "pwd".to_owned(),
        })
        .await
        .expect("session");
    let claims = AccessClaims::new(
        &account.to_string(),
        &session.to_string(),
        now,
        vec!["pwd".to_owned()],
        Acr::Aal1,
        now,
    );
    (session, tokens.issue(&claims).expect("token"))
}

#[tokio::test]
async fn people_see_and_end_their_own_sessions_only() {
    let app = TestApp::spawn().await;
    let (_, tokens) = app.keys().await;
    let (alice, alice_session, alice_token) = signed_in(&app, &tokens, "alice@example.com").await;
    let (laptop, laptop_token) = second_session(&app, &tokens, alice).await;
    let (_, bob_session, bob_token) = signed_in(&app, &tokens, "bob@example.com").await;

    let listed = graphql(
        &app,
        Some(&alice_token),
        "{ me { sessions { id current mfa } } }",
        serde_json::json!({}),
    )
    .await;
    let sessions = listed.json()["data"]["me"]["sessions"]
        .as_array()
        .cloned()
        .expect("sessions");
    let mut seen: Vec<(String, bool)> = sessions
        .iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap_or("").to_owned(),
                s["current"].as_bool().unwrap_or(false),
            )
        })
        .collect();
    seen.sort();
    let mut expected = vec![
        (alice_session.to_string(), true),
        (laptop.to_string(), false),
    ];
    expected.sort();
    assert_eq!(seen, expected, "{}", listed.text);

    let revoke = "mutation R($id: ID!) { revokeSession(id: $id) }";
    let answer = graphql(
        &app,
        Some(&alice_token),
        revoke,
        serde_json::json!({ "id": bob_session.to_string() }),
    )
    .await;
    assert_eq!(
        answer.first_code(),
        "NOT_FOUND",
        "another person's session: {}",
        answer.text
    );
    let answer = graphql(
        &app,
        Some(&alice_token),
        revoke,
        serde_json::json!({ "id": "not-a-uuid" }),
    )
    .await;
    assert_eq!(answer.first_code(), "BAD_USER_INPUT");
    let answer = graphql(
        &app,
        Some(&alice_token),
        revoke,
        serde_json::json!({ "id": laptop.to_string() }),
    )
    .await;
    assert_eq!(
        answer.json()["data"]["revokeSession"],
        true,
        "{}",
        answer.text
    );
    assert_eq!(
        me(&app, Some(&format!("Bearer {laptop_token}")))
            .await
            .status,
        401,
        "the laptop is signed out"
    );
    assert_eq!(
        me(&app, Some(&format!("Bearer {bob_token}"))).await.status,
        200,
        "Bob is untouched"
    );

    let answer = graphql(
        &app,
        Some(&alice_token),
        "mutation { logOut }",
        serde_json::json!({}),
    )
    .await;
    assert_eq!(answer.json()["data"]["logOut"], true, "{}", answer.text);
    assert_eq!(
        me(&app, Some(&format!("Bearer {alice_token}")))
            .await
            .status,
        401,
        "logged out at once"
    );
    let anonymous = graphql(&app, None, "mutation { logOut }", serde_json::json!({})).await;
    assert_eq!(anonymous.first_code(), "UNAUTHENTICATED");

    // Both ends are in the audit trail, by pseudonymous ids only.
    let trail = app.db.store().audit_page(None, 10).await.expect("audit");
    let actions: Vec<(&str, &str)> = trail
        .iter()
        .map(|e| (e.action.as_str(), e.target.as_deref().unwrap_or("")))
        .collect();
    assert_eq!(
        actions,
        [
            ("auth.session_ended", format!("session:{laptop}").as_str()),
            (
                "auth.session_ended",
                format!("session:{alice_session}").as_str()
            )
        ]
    );
    assert!(
        trail.iter().all(|e| !e.actor.contains('@')),
        "no e-mail addresses in the trail"
    );
}

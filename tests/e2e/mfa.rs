//! TOTP over HTTP: enrol, confirm (recovery codes), log in with a second factor, replay
//! refusal, recovery codes used once.

use icecone_app::notify::NotificationKind;
use icecone_core::identity::totp::TotpSecret;
use serde_json::{Value, json};

use crate::support::app::{FRESH, PASSWORD, STALE, StaffMember, TestApp, code};
use crate::support::totp::{base32_decode, code_at};

const LOG_IN: &str = "mutation L($e: String!, $p: String!) { logIn(email: $e, password: $p) { \
    __typename ... on AuthSession { accessToken } ... on MfaChallenge { challenge } } }";
const COMPLETE: &str =
    "mutation C($c: String!, $k: String!) { completeMfa(challenge: $c, code: $k) { accessToken } }";

async fn challenge(app: &TestApp, email: &str) -> String {
    let body = app
        .graphql(None, LOG_IN, json!({ "e": email, "p": PASSWORD }))
        .await;
    assert_eq!(
        body["data"]["logIn"]["__typename"], "MfaChallenge",
        "{body}"
    );
    body["data"]["logIn"]["challenge"]
        .as_str()
        .expect("challenge")
        .to_owned()
}

fn claim(access_token: &str, name: &str) -> String {
    let payload = access_token.split('.').nth(1).expect("payload");
    let bytes = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
        .expect("base64");
    let claims: Value = serde_json::from_slice(&bytes).expect("claims");
    claims[name].as_str().unwrap_or("").to_owned()
}

fn acr_of(access_token: &str) -> String {
    claim(access_token, "acr")
}

#[tokio::test]
async fn the_totp_journey_with_replay_refusal_and_single_use_recovery_codes() {
    let app = TestApp::spawn().await;
    app.register("ivy@example.com").await;
    let first = app
        .graphql(
            None,
            LOG_IN,
            json!({ "e": "ivy@example.com", "p": PASSWORD }),
        )
        .await;
    let token = first["data"]["logIn"]["accessToken"]
        .as_str()
        .expect("signed in")
        .to_owned();

    let enrolled = app
        .graphql(
            Some(&token),
            "mutation { enrollTotp { secret otpauthUri } }",
            json!({}),
        )
        .await;
    let secret_text = enrolled["data"]["enrollTotp"]["secret"]
        .as_str()
        .expect("secret")
        .to_owned();
    let uri = enrolled["data"]["enrollTotp"]["otpauthUri"]
        .as_str()
        .expect("uri");
    assert!(
        uri.starts_with("otpauth://totp/IceCone:ivy%40example.com?")
            || uri.starts_with("otpauth://totp/IceCone:ivy@example.com?"),
        "{uri}"
    );
    let secret = TotpSecret::from_bytes(&base32_decode(&secret_text)).expect("secret");

    let wrong = app
        .graphql(
            Some(&token),
            "mutation C($k: String!) { confirmTotp(code: $k) }",
            json!({ "k": "000000" }),
        )
        .await;
    assert_eq!(code(&wrong), "UNAUTHENTICATED", "{wrong}");
    let now_code = code_at(&secret, 0);
    let confirmed = app
        .graphql(
            Some(&token),
            "mutation C($k: String!) { confirmTotp(code: $k) }",
            json!({ "k": now_code }),
        )
        .await;
    let recovery: Vec<String> = confirmed["data"]["confirmTotp"]
        .as_array()
        .expect("codes")
        .iter()
        .map(|c| c.as_str().expect("code").to_owned())
        .collect();
    assert_eq!(recovery.len(), 10, "{confirmed}");
    let me = app
        .graphql(Some(&token), "{ me { mfaEnabled } }", json!({}))
        .await;
    assert_eq!(me["data"]["me"]["mfaEnabled"], true);
    let again = app
        .graphql(
            Some(&token),
            "mutation { enrollTotp { secret } }",
            json!({}),
        )
        .await;
    assert_eq!(
        code(&again),
        "BAD_USER_INPUT",
        "a second enrolment needs disabling first"
    );

    // The code that confirmed enrolment cannot be used again (accepted once only).
    let replay = app
        .graphql(
            None,
            COMPLETE,
            json!({ "c": challenge(&app, "ivy@example.com").await, "k": now_code }),
        )
        .await;
    assert_eq!(code(&replay), "UNAUTHENTICATED", "replayed TOTP: {replay}");

    // The next time step's code works (within the one-step skew).
    let next = app
        .graphql(
            None,
            COMPLETE,
            json!({ "c": challenge(&app, "ivy@example.com").await, "k": code_at(&secret, 30) }),
        )
        .await;
    let access = next["data"]["completeMfa"]["accessToken"]
        .as_str()
        .expect("signed in with TOTP");
    assert_eq!(acr_of(access), "aal2");

    // A recovery code works once.
    let with_recovery = app
        .graphql(
            None,
            COMPLETE,
            json!({ "c": challenge(&app, "ivy@example.com").await, "k": recovery[0] }),
        )
        .await;
    assert!(
        with_recovery["data"]["completeMfa"]["accessToken"].is_string(),
        "{with_recovery}"
    );
    let reused = app
        .graphql(
            None,
            COMPLETE,
            json!({ "c": challenge(&app, "ivy@example.com").await, "k": recovery[0] }),
        )
        .await;
    assert_eq!(
        code(&reused),
        "UNAUTHENTICATED",
        "a recovery code is single-use"
    );

    // A challenge is used up by any attempt.
    let used_up = challenge(&app, "ivy@example.com").await;
    let _ = app
        .graphql(None, COMPLETE, json!({ "c": used_up, "k": "123456" }))
        .await;
    let later = app
        .graphql(None, COMPLETE, json!({ "c": used_up, "k": recovery[1] }))
        .await;
    assert_eq!(code(&later), "UNAUTHENTICATED");

    let trail = app.db.store().audit_page(None, 20).await.expect("audit");
    assert!(trail.iter().any(|e| e.action == "mfa.enabled"));
    assert_eq!(
        trail
            .iter()
            .filter(|e| e.action == "auth.sign_in_mfa")
            .count(),
        2
    );
}

#[tokio::test]
async fn turning_totp_off_needs_a_recent_second_factor() {
    let app = TestApp::spawn().await;
    app.register("jo@example.com").await;
    let first = app
        .graphql(
            None,
            LOG_IN,
            json!({ "e": "jo@example.com", "p": PASSWORD }),
        )
        .await;
    let aal1 = first["data"]["logIn"]["accessToken"]
        .as_str()
        .expect("signed in")
        .to_owned();
    let enrolled = app
        .graphql(Some(&aal1), "mutation { enrollTotp { secret } }", json!({}))
        .await;
    let secret = TotpSecret::from_bytes(&base32_decode(
        enrolled["data"]["enrollTotp"]["secret"]
            .as_str()
            .expect("secret"),
    ))
    .expect("secret");
    // Three consecutive steps: the previous one confirms, the current one logs in, the next
    // one turns the factor off (each step is accepted once only).
    let confirm = "mutation C($k: String!) { confirmTotp(code: $k) }";
    let confirmed = app
        .graphql(Some(&aal1), confirm, json!({ "k": code_at(&secret, -30) }))
        .await;
    assert!(confirmed["data"]["confirmTotp"].is_array(), "{confirmed}");

    // Confirming proves the factor in this session; ten minutes later that is stale.
    let session = claim(&aal1, "sid").parse::<uuid::Uuid>().expect("sid");
    let ten_minutes_ago = chrono::Utc::now() - chrono::TimeDelta::minutes(10);
    app.db
        .store()
        .record_mfa(session, ten_minutes_ago)
        .await
        .expect("aged");
    let disable = "mutation D($k: String!) { disableTotp(code: $k) }";
    let stale = app
        .graphql(Some(&aal1), disable, json!({ "k": code_at(&secret, 30) }))
        .await;
    assert_eq!(code(&stale), "REAUTHENTICATION_REQUIRED", "{stale}");

    let completed = app
        .graphql(
            None,
            COMPLETE,
            json!({ "c": challenge(&app, "jo@example.com").await, "k": code_at(&secret, 0) }),
        )
        .await;
    let aal2 = completed["data"]["completeMfa"]["accessToken"]
        .as_str()
        .expect("aal2")
        .to_owned();
    let off = app
        .graphql(Some(&aal2), disable, json!({ "k": code_at(&secret, 30) }))
        .await;
    assert_eq!(off["data"]["disableTotp"], true, "{off}");
    assert_eq!(
        app.graphql(Some(&aal2), "{ me { mfaEnabled } }", json!({}))
            .await["data"]["me"]["mfaEnabled"],
        false
    );
    let plain = app
        .graphql(
            None,
            LOG_IN,
            json!({ "e": "jo@example.com", "p": PASSWORD }),
        )
        .await;
    assert_eq!(
        plain["data"]["logIn"]["__typename"], "AuthSession",
        "no challenge any more: {plain}"
    );
    // Enabled and disabled are notified.
    let notices = app
        .notifications
        .wait_for_all(NotificationKind::MfaChanged, "jo@example.com", 2)
        .await;
    assert_eq!(notices.len(), 2, "{notices:?}");
}

/// Sends `bodies` to /graphql all at once (with `token`, if any); the error codes of the
/// answers, `none` for a success.
async fn at_once(app: &TestApp, token: Option<&str>, bodies: Vec<Value>) -> Vec<String> {
    let answers = futures_util::future::join_all(bodies.into_iter().map(|body| {
        let mut request = app
            .client
            .post(app.url("/graphql"))
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        async move { app.send(request).await.json() }
    }))
    .await;
    answers.iter().map(|body| code(body).to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_wrong_codes_in_complete_mfa_are_checked_only_as_often_as_allowed() {
    let app = TestApp::spawn().await;
    app.person_with_totp("kit@example.com").await;
    let mut challenges = Vec::new();
    for _ in 0..16 {
        challenges.push(challenge(&app, "kit@example.com").await);
    }
    // Half wrong TOTP codes, half wrong recovery codes: one counter, reserved before each
    // code is looked at.
    let bodies = challenges
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let guess = if i % 2 == 0 {
                format!("{:06}", 100_000 + i)
            } else {
                format!("abcde-{:05}", i)
            };
            json!({ "query": COMPLETE, "variables": { "c": c, "k": guess } })
        })
        .collect();
    let codes = at_once(&app, None, bodies).await;
    let free = usize::try_from(icecone_core::identity::throttle::FREE_FAILURES + 1).expect("small");
    assert_eq!(
        crate::login::count_of(&codes, "UNAUTHENTICATED"),
        free,
        "{codes:?}"
    );
    assert_eq!(
        crate::login::count_of(&codes, "RATE_LIMITED"),
        16 - free,
        "{codes:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_wrong_codes_in_confirm_totp_are_checked_only_as_often_as_allowed() {
    let app = TestApp::spawn().await;
    app.register("lou@example.com").await;
    let first = app
        .graphql(
            None,
            LOG_IN,
            json!({ "e": "lou@example.com", "p": PASSWORD }),
        )
        .await;
    let token = first["data"]["logIn"]["accessToken"]
        .as_str()
        .expect("signed in")
        .to_owned();
    let enrolled = app
        .graphql(
            Some(&token),
            "mutation { enrollTotp { secret } }",
            json!({}),
        )
        .await;
    assert!(
        enrolled["data"]["enrollTotp"]["secret"].is_string(),
        "{enrolled}"
    );
    let bodies = (0..40)
        .map(|i| {
            json!({
                "query": "mutation C($k: String!) { confirmTotp(code: $k) }",
                "variables": { "k": format!("{:06}", 200_000 + i) },
            })
        })
        .collect();
    let codes = at_once(&app, Some(&token), bodies).await;
    let free = usize::try_from(icecone_core::identity::throttle::FREE_FAILURES + 1).expect("small");
    assert_eq!(
        crate::login::count_of(&codes, "UNAUTHENTICATED"),
        free,
        "{codes:?}"
    );
    assert_eq!(
        crate::login::count_of(&codes, "RATE_LIMITED"),
        40 - free,
        "{codes:?}"
    );
}

#[tokio::test]
async fn suspension_voids_a_pending_mfa_challenge() {
    let app = TestApp::spawn().await;
    let (person, totp) = app.person_with_totp("max@example.com").await;
    let (account, secret, recovery) = (person.id, totp.secret, totp.recovery_codes);
    // The password was right before the suspension: a challenge is pending.
    let pending = challenge(&app, &person.email).await;
    let StaffMember { id: support, .. } = app
        .staff_member(
            "support.max@icecone.example",
            icecone_core::identity::roles::StaffRole::Support,
        )
        .await;
    let staff = app.mint_token(support, FRESH).await;
    let suspended = app.graphql(Some(&staff),
        "mutation S($id: ID!, $r: String!) { suspendAccount(id: $id, reason: $r) { suspended } }",
        json!({ "id": account.to_string(), "r": "ticket 4712: account reported as hijacked" }),
    )
    .await;
    assert_eq!(
        suspended["data"]["suspendAccount"]["suspended"], true,
        "{suspended}"
    );
    let completed = app
        .graphql(
            None,
            COMPLETE,
            json!({ "c": pending, "k": code_at(&secret, 0) }),
        )
        .await;
    assert_eq!(code(&completed), "UNAUTHENTICATED", "{completed}");
    assert!(completed["data"].is_null(), "no tokens: {completed}");
    // The recovery code the attempt did not reach is still unused.
    assert_eq!(
        app.db
            .store()
            .unused_recovery_codes(account)
            .await
            .expect("count"),
        u64::try_from(recovery.len()).expect("small")
    );
    let sessions = app.db.store().sessions_of(account).await.expect("sessions");
    assert!(
        sessions.iter().all(|session| session.revoked_at.is_some()),
        "no live session: {sessions:?}"
    );
}

#[tokio::test]
async fn a_suspended_account_gets_no_session_from_complete_mfa_even_with_a_challenge_in_hand() {
    let app = TestApp::spawn().await;
    let (person, totp) = app.person_with_totp("nell@example.com").await;
    let (account, secret, recovery) = (person.id, totp.secret, totp.recovery_codes);
    let by_totp = challenge(&app, &person.email).await;
    let by_recovery = challenge(&app, &person.email).await;
    // Suspended while the challenges were out, as another instance's staff action would
    // land: the account is marked before its sessions and challenges are ended.
    app.db
        .store()
        .suspend_account(account, chrono::Utc::now())
        .await
        .expect("suspended");
    for (challenge, code_given) in [
        (by_totp, code_at(&secret, 0)),
        (by_recovery, recovery[0].clone()),
    ] {
        let completed = app
            .graphql(None, COMPLETE, json!({ "c": challenge, "k": code_given }))
            .await;
        assert_eq!(code(&completed), "FORBIDDEN", "{completed}");
    }
    let sessions = app.db.store().sessions_of(account).await.expect("sessions");
    assert_eq!(
        sessions
            .iter()
            .filter(|session| session.revoked_at.is_none())
            .count(),
        1,
        "only the session that enrolled the factor, made before the suspension: {sessions:?}"
    );
    assert_eq!(
        app.db
            .store()
            .unused_recovery_codes(account)
            .await
            .expect("count"),
        10,
        "a suspended account does not spend its recovery codes"
    );
}

#[tokio::test]
async fn enrolling_and_confirming_totp_need_a_recent_log_in() {
    let app = TestApp::spawn().await;
    let account = app.register("otto@example.com").await;
    // A session whose log-in is ten minutes old — a hijacked one, say — may not add a
    // second factor that would lock the owner out.
    let stale = app.mint_token(account, STALE).await;
    let refused = app
        .graphql(
            Some(&stale),
            "mutation { enrollTotp { secret } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&refused), "REAUTHENTICATION_REQUIRED", "{refused}");
    assert_eq!(
        app.db.store().totp_factor(account).await.expect("read"),
        None,
        "nothing enrolled"
    );

    let first = app
        .graphql(
            None,
            LOG_IN,
            json!({ "e": "otto@example.com", "p": PASSWORD }),
        )
        .await;
    let fresh = first["data"]["logIn"]["accessToken"]
        .as_str()
        .expect("signed in")
        .to_owned();
    let enrolled = app
        .graphql(
            Some(&fresh),
            "mutation { enrollTotp { secret } }",
            json!({}),
        )
        .await;
    let secret = TotpSecret::from_bytes(&base32_decode(
        enrolled["data"]["enrollTotp"]["secret"]
            .as_str()
            .unwrap_or_else(|| panic!("a recent log-in enrols: {enrolled}")),
    ))
    .expect("secret");
    let confirm = "mutation C($k: String!) { confirmTotp(code: $k) }";
    let stale_confirm = app
        .graphql(Some(&stale), confirm, json!({ "k": code_at(&secret, 0) }))
        .await;
    assert_eq!(
        code(&stale_confirm),
        "REAUTHENTICATION_REQUIRED",
        "{stale_confirm}"
    );
    assert!(
        app.db
            .store()
            .totp_factor(account)
            .await
            .expect("read")
            .is_some_and(|factor| factor.confirmed_at.is_none()),
        "still pending"
    );
    let confirmed = app
        .graphql(Some(&fresh), confirm, json!({ "k": code_at(&secret, 0) }))
        .await;
    assert!(confirmed["data"]["confirmTotp"].is_array(), "{confirmed}");
}

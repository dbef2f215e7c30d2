//! The staff console over HTTP: who may use which staff field (role, second factor, fresh
//! second factor), `staffAccount` with its audited reason, `suspendAccount` ending every
//! session of the person, `auditLog` paging. The walks of the schema that hold every staff
//! field to a role rule and a second factor are in `schema_walks.rs`.

use chrono::Utc;
use icecone_app::notify::NotificationKind;
use icecone_core::identity::roles::StaffRole;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::app::{FRESH, Factor, PASSWORD, STALE, StaffMember, TestApp, code};
use crate::support::totp::code_at;

const STAFF_ACCOUNT: &str = "query S($id: ID!, $r: String!) { staffAccount(id: $id, reason: $r) \
    { id email kind createdAt suspended suspendedAt mfaEnabled roles } }";
const SUSPEND: &str = "mutation S($id: ID!, $r: String!) { suspendAccount(id: $id, reason: $r) \
    { id suspended suspendedAt } }";
const AUDIT_LOG: &str = "query A($first: Int, $after: String) { auditLog(first: $first, after: $after) \
    { edges { cursor node { seq at actor action target reason requestId } } \
      pageInfo { hasNextPage endCursor } } }";
const REASON: &str = "ticket 4711: the person asked why sign-in fails";

/// Whether an answer carries no data: `data` is null or holds only nulls.
fn no_data(body: &Value) -> bool {
    match &body["data"] {
        Value::Null => true,
        Value::Object(fields) => fields.values().all(Value::is_null),
        _ => false,
    }
}

/// How many entries of the audit trail record `action`.
pub(crate) async fn actions(app: &TestApp, action: &str) -> usize {
    app.db
        .store()
        .audit_page(None, 1000)
        .await
        .expect("audit")
        .iter()
        .filter(|row| row.action == action)
        .count()
}

async fn staff_account(app: &TestApp, token: Option<&str>, id: Uuid, reason: &str) -> Value {
    app.graphql(
        token,
        STAFF_ACCOUNT,
        json!({ "id": id.to_string(), "r": reason }),
    )
    .await
}

async fn suspend(app: &TestApp, token: &str, id: Uuid, reason: &str) -> Value {
    app.graphql(
        Some(token),
        SUSPEND,
        json!({ "id": id.to_string(), "r": reason }),
    )
    .await
}

async fn audit_log(app: &TestApp, token: &str, first: Option<i64>, after: Option<&str>) -> Value {
    app.graphql(
        Some(token),
        AUDIT_LOG,
        json!({ "first": first, "after": after }),
    )
    .await
}

#[tokio::test]
async fn staff_fields_refuse_anonymous_callers_and_people_who_are_not_staff() {
    let app = TestApp::spawn().await;
    let mallory = app.register("mallory@example.com").await;
    let dana = app.register("dana@example.com").await;
    let before = actions(&app, "staff.read_account").await;

    let anonymous = [
        staff_account(&app, None, dana, REASON).await,
        app.graphql(None, AUDIT_LOG, json!({})).await,
        app.graphql(
            None,
            SUSPEND,
            json!({ "id": dana.to_string(), "r": REASON }),
        )
        .await,
    ];
    for body in &anonymous {
        assert_eq!(code(body), "UNAUTHENTICATED", "{body}");
    }

    // A person reading another person's account by id: the only by-id account field is the
    // staff console's, and it tells them nothing about the person — with or without a
    // second factor in their session.
    for factor in [Factor::None, FRESH] {
        let token = app.mint_token(mallory, factor).await;
        let bodies = [
            staff_account(&app, Some(&token), dana, REASON).await,
            audit_log(&app, &token, None, None).await,
            suspend(&app, &token, dana, REASON).await,
        ];
        for body in &bodies {
            assert_eq!(code(body), "FORBIDDEN", "{factor:?}: {body}");
            assert!(no_data(body), "no data at all: {body}");
            let text = body.to_string();
            assert!(!text.contains("dana@example.com"), "{text}");
            assert!(!text.contains(&dana.to_string()), "{text}");
        }
    }
    assert_eq!(actions(&app, "staff.read_account").await, before);
    let person = app
        .db
        .store()
        .account(dana)
        .await
        .expect("read")
        .expect("dana");
    assert!(person.suspended_at.is_none(), "nobody suspended dana");
}

#[tokio::test]
async fn staff_without_a_second_factor_get_mfa_required_on_every_staff_field() {
    let app = TestApp::spawn().await;
    let dana = app.register("dana@example.com").await;
    for (email, role) in [
        ("support@icecone.example", StaffRole::Support),
        ("auditor@icecone.example", StaffRole::Auditor),
        ("admin@icecone.example", StaffRole::Admin),
    ] {
        let StaffMember { id, .. } = app.staff_member(email, role).await;
        let aal1 = app.mint_token(id, Factor::None).await;
        let bodies = [
            staff_account(&app, Some(&aal1), dana, REASON).await,
            audit_log(&app, &aal1, None, None).await,
            suspend(&app, &aal1, dana, REASON).await,
        ];
        for body in &bodies {
            assert_eq!(code(body), "MFA_REQUIRED", "{role}: {body}");
            assert!(no_data(body), "{body}");
        }
    }
    assert_eq!(actions(&app, "staff.read_account").await, 0);
}

#[tokio::test]
async fn staff_log_in_with_totp_and_each_role_reaches_only_its_fields() {
    let app = TestApp::spawn().await;
    let dana = app.register("dana@example.com").await;
    let StaffMember {
        secret: support_secret,
        ..
    } = app
        .staff_member("support@icecone.example", StaffRole::Support)
        .await;
    let StaffMember { id: auditor, .. } = app
        .staff_member("auditor@icecone.example", StaffRole::Auditor)
        .await;

    // A real staff log-in: the password, then the TOTP code, gives an aal2 session.
    let challenge = app
        .graphql(
            None,
            "mutation L($e: String!, $p: String!) { logIn(email: $e, password: $p) { \
         __typename ... on MfaChallenge { challenge } } }",
            json!({ "e": "support@icecone.example", "p": PASSWORD }),
        )
        .await;
    assert_eq!(
        challenge["data"]["logIn"]["__typename"], "MfaChallenge",
        "{challenge}"
    );
    let completed = app.graphql(None,
        "mutation C($c: String!, $k: String!) { completeMfa(challenge: $c, code: $k) { accessToken } }",
        json!({ "c": challenge["data"]["logIn"]["challenge"], "k": code_at(&support_secret, 0) }),
    )
    .await;
    let support = completed["data"]["completeMfa"]["accessToken"]
        .as_str()
        .expect("signed in with TOTP")
        .to_owned();
    let read = staff_account(&app, Some(&support), dana, REASON).await;
    assert_eq!(
        read["data"]["staffAccount"]["email"], "dana@example.com",
        "{read}"
    );
    assert_eq!(
        code(&audit_log(&app, &support, None, None).await),
        "FORBIDDEN",
        "SUPPORT does not read the audit trail"
    );

    // AUDITOR reads the trail and nothing else: not the people it is about.
    let auditor_token = app.mint_token(auditor, FRESH).await;
    let denied = staff_account(&app, Some(&auditor_token), dana, REASON).await;
    assert_eq!(code(&denied), "FORBIDDEN", "{denied}");
    assert!(!denied.to_string().contains("dana@example.com"));
    assert!(
        audit_log(&app, &auditor_token, None, None).await["data"]["auditLog"]["edges"].is_array()
    );

    // Roles are read on every request, not taken from the token: granting one works at
    // once, on the same token.
    app.db
        .store()
        .grant_staff_role(auditor, StaffRole::Support.as_str())
        .await
        .expect("granted");
    let now_allowed = staff_account(&app, Some(&auditor_token), dana, REASON).await;
    assert_eq!(
        now_allowed["data"]["staffAccount"]["id"],
        dana.to_string(),
        "{now_allowed}"
    );

    // A suspended staff account is refused even with a live session.
    app.db
        .store()
        .suspend_account(auditor, Utc::now())
        .await
        .expect("suspended");
    assert_eq!(
        code(&audit_log(&app, &auditor_token, None, None).await),
        "FORBIDDEN"
    );
}

#[tokio::test]
async fn reading_an_account_needs_a_reason_and_is_audited_before_it_is_returned() {
    let app = TestApp::spawn().await;
    let dana = app.register("dana@example.com").await;
    let StaffMember { id: support, .. } = app
        .staff_member("support@icecone.example", StaffRole::Support)
        .await;
    let StaffMember { id: admin, .. } = app
        .staff_member("admin@icecone.example", StaffRole::Admin)
        .await;
    let StaffMember { id: auditor, .. } = app
        .staff_member("auditor@icecone.example", StaffRole::Auditor)
        .await;
    let support_token = app.mint_token(support, FRESH).await;

    for short in ["", "because", "   dana    "] {
        let body = staff_account(&app, Some(&support_token), dana, short).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{short:?}: {body}");
        assert!(body["data"]["staffAccount"].is_null());
        if !short.trim().is_empty() {
            assert!(
                !body.to_string().contains(short.trim()),
                "the reason is not echoed: {body}"
            );
        }
    }
    let malformed = app
        .graphql(
            Some(&support_token),
            STAFF_ACCOUNT,
            json!({ "id": "not-an-id", "r": REASON }),
        )
        .await;
    assert_eq!(code(&malformed), "BAD_USER_INPUT", "{malformed}");
    assert_eq!(
        actions(&app, "staff.read_account").await,
        0,
        "nothing read, nothing recorded"
    );

    let read = staff_account(&app, Some(&support_token), dana, REASON).await;
    assert!(read["errors"].is_null(), "{read}");
    let view = &read["data"]["staffAccount"];
    assert_eq!(view["id"], dana.to_string());
    assert_eq!(view["email"], "dana@example.com");
    assert_eq!(view["kind"], "USER");
    assert_eq!(view["suspended"], false);
    assert!(view["suspendedAt"].is_null());
    assert_eq!(view["mfaEnabled"], false);
    assert_eq!(view["roles"], json!([]));
    assert!(view["createdAt"].is_string());

    let staff_view = staff_account(&app, Some(&support_token), admin, REASON).await;
    assert_eq!(staff_view["data"]["staffAccount"]["kind"], "STAFF");
    assert_eq!(
        staff_view["data"]["staffAccount"]["roles"],
        json!(["ADMIN"])
    );
    assert_eq!(staff_view["data"]["staffAccount"]["mfaEnabled"], true);

    // An unknown id answers null — and the look-up is recorded all the same.
    let nobody = Uuid::new_v4();
    let unknown = staff_account(&app, Some(&support_token), nobody, REASON).await;
    assert!(unknown["errors"].is_null(), "{unknown}");
    assert!(unknown["data"]["staffAccount"].is_null());

    // Who looked at whom and why, as AUDITOR and ADMIN see it through auditLog.
    for reader in [auditor, admin] {
        let reader_token = app.mint_token(reader, FRESH).await;
        let page = audit_log(&app, &reader_token, Some(200), None).await;
        let entries: Vec<&Value> = page["data"]["auditLog"]["edges"]
            .as_array()
            .unwrap_or_else(|| panic!("{page}"))
            .iter()
            .map(|edge| &edge["node"])
            .filter(|node| node["action"] == "staff.read_account")
            .collect();
        assert_eq!(entries.len(), 3, "{page}");
        let targets: Vec<String> = [dana, admin, nobody]
            .iter()
            .map(|id| format!("account:{id}"))
            .collect();
        for (entry, target) in entries.iter().zip(&targets) {
            assert_eq!(entry["actor"], format!("account:{support}"));
            assert_eq!(entry["target"], *target);
            assert_eq!(entry["reason"], REASON, "reasons are opened for readers");
            assert!(
                entry["requestId"].as_str().is_some_and(|id| !id.is_empty()),
                "{entry}"
            );
        }
        assert!(
            !page.to_string().contains("dana@example.com"),
            "no e-mail in the trail"
        );
    }
    // The reason is sealed at rest.
    let raw = app.db.raw_bytes().await;
    assert!(
        !raw.windows(11).any(|w| w == b"ticket 4711"),
        "the reason is stored in clear"
    );
}

#[tokio::test]
async fn suspending_needs_a_second_factor_within_five_minutes() {
    let app = TestApp::spawn().await;
    let dana = app.register("dana@example.com").await;
    let StaffMember { id: support, .. } = app
        .staff_member("support@icecone.example", StaffRole::Support)
        .await;
    let stale = app.mint_token(support, STALE).await;
    let body = suspend(&app, &stale, dana, REASON).await;
    assert_eq!(code(&body), "REAUTHENTICATION_REQUIRED", "{body}");
    // A stale second factor is still enough for reading.
    let read = staff_account(&app, Some(&stale), dana, REASON).await;
    assert_eq!(read["data"]["staffAccount"]["suspended"], false, "{read}");
    assert_eq!(actions(&app, "staff.suspend_account").await, 0);
    let person = app
        .db
        .store()
        .account(dana)
        .await
        .expect("read")
        .expect("dana");
    assert!(person.suspended_at.is_none());

    let fresh = app.mint_token(support, FRESH).await;
    let short = suspend(&app, &fresh, dana, "spam").await;
    assert_eq!(code(&short), "BAD_USER_INPUT", "{short}");
    let unknown = suspend(&app, &fresh, Uuid::new_v4(), REASON).await;
    assert_eq!(code(&unknown), "NOT_FOUND", "{unknown}");
    assert_eq!(actions(&app, "staff.suspend_account").await, 0);
}

#[tokio::test]
async fn a_suspended_person_loses_every_session_and_cannot_log_in() {
    let app = TestApp::spawn().await;
    let dana = app.register("dana@example.com").await;
    let StaffMember { id: support, .. } = app
        .staff_member("support@icecone.example", StaffRole::Support)
        .await;
    let logged_in = app
        .graphql(
            None,
            "mutation L($e: String!, $p: String!) { logIn(email: $e, password: $p) { \
         ... on AuthSession { accessToken refreshToken } } }",
            json!({ "e": "dana@example.com", "p": PASSWORD }),
        )
        .await;
    let access = logged_in["data"]["logIn"]["accessToken"]
        .as_str()
        .expect("signed in")
        .to_owned();
    let refresh = logged_in["data"]["logIn"]["refreshToken"]
        .as_str()
        .expect("refresh token")
        .to_owned();
    let other_access = app.mint_token(dana, Factor::None).await;
    assert!(
        app.graphql(Some(&access), "{ me { id } }", json!({})).await["data"]["me"]["id"]
            .is_string()
    );

    let fresh = app.mint_token(support, FRESH).await;
    let body = suspend(&app, &fresh, dana, REASON).await;
    assert!(body["errors"].is_null(), "{body}");
    assert_eq!(body["data"]["suspendAccount"]["id"], dana.to_string());
    assert_eq!(body["data"]["suspendAccount"]["suspended"], true);
    assert!(body["data"]["suspendAccount"]["suspendedAt"].is_string());

    for token in [&access, &other_access] {
        let answer = app
            .send(
                app.client
                    .post(app.url("/graphql"))
                    .header("content-type", "application/json")
                    .header("authorization", format!("Bearer {token}"))
                    .body(json!({ "query": "{ me { id } }" }).to_string()),
            )
            .await;
        assert_eq!(answer.status, 401, "every session ended: {}", answer.text);
    }
    let refreshed = app
        .graphql(
            None,
            "mutation R($t: String!) { refreshSession(refreshToken: $t) { accessToken } }",
            json!({ "t": refresh }),
        )
        .await;
    assert_eq!(code(&refreshed), "UNAUTHENTICATED", "{refreshed}");
    let again = app.graphql(None,
        "mutation L($e: String!, $p: String!) { logIn(email: $e, password: $p) { __typename } }",
        json!({ "e": "dana@example.com", "p": PASSWORD }),
    )
    .await;
    assert_eq!(code(&again), "FORBIDDEN", "{again}");
    assert!(
        again["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("suspended"))
    );

    let rows = app.db.store().audit_page(None, 1000).await.expect("audit");
    let entry = rows
        .iter()
        .find(|row| row.action == "staff.suspend_account")
        .expect("the suspension is recorded");
    assert_eq!(entry.actor, format!("account:{support}"));
    assert_eq!(
        entry.target.as_deref(),
        Some(format!("account:{dana}").as_str())
    );
    assert!(entry.reason_sealed.is_some());
    // The person is told.
    let notice = app
        .notifications
        .wait_for(NotificationKind::AccountSuspended, "dana@example.com")
        .await;
    assert_eq!(notice.account, Some(dana));

    // Suspending again keeps the first suspension time.
    let first_time = body["data"]["suspendAccount"]["suspendedAt"].clone();
    let twice = suspend(&app, &fresh, dana, REASON).await;
    assert_eq!(
        twice["data"]["suspendAccount"]["suspendedAt"], first_time,
        "{twice}"
    );
}

#[tokio::test]
async fn nothing_is_read_or_changed_when_the_audit_trail_cannot_record_it() {
    let app = TestApp::spawn().await;
    let dana = app.register("dana@example.com").await;
    let StaffMember { id: support, .. } = app
        .staff_member("support@icecone.example", StaffRole::Support)
        .await;
    let StaffMember { id: auditor, .. } = app
        .staff_member("auditor@icecone.example", StaffRole::Auditor)
        .await;
    let support_token = app.mint_token(support, FRESH).await;
    let auditor_token = app.mint_token(auditor, FRESH).await;

    // The trail's table is out of reach: every append fails.
    app.db
        .execute("ALTER TABLE audit_log RENAME TO audit_log_away")
        .await;
    let read = staff_account(&app, Some(&support_token), dana, REASON).await;
    let suspended = suspend(&app, &support_token, dana, REASON).await;
    let trail = audit_log(&app, &auditor_token, None, None).await;
    app.db
        .execute("ALTER TABLE audit_log_away RENAME TO audit_log")
        .await;

    for body in [&read, &suspended, &trail] {
        assert_eq!(code(body), "INTERNAL_SERVER_ERROR", "{body}");
        assert!(no_data(body), "{body}");
        assert_eq!(body["errors"][0]["message"], "internal server error");
        let text = body.to_string();
        assert!(!text.contains("dana@example.com"), "{text}");
        assert!(!text.contains("audit_log"), "no SQL in the answer: {text}");
    }
    let person = app
        .db
        .store()
        .account(dana)
        .await
        .expect("read")
        .expect("dana");
    assert!(
        person.suspended_at.is_none(),
        "an unrecorded suspension did not happen"
    );
    let read = staff_account(&app, Some(&support_token), dana, REASON).await;
    assert_eq!(
        read["data"]["staffAccount"]["email"], "dana@example.com",
        "{read}"
    );
}

#[tokio::test]
async fn staff_cannot_suspend_themselves_and_only_admins_suspend_staff() {
    let app = TestApp::spawn().await;
    let StaffMember { id: support, .. } = app
        .staff_member("support@icecone.example", StaffRole::Support)
        .await;
    let StaffMember { id: dpo, .. } = app
        .staff_member("dpo@icecone.example", StaffRole::Dpo)
        .await;
    let StaffMember { id: admin, .. } = app
        .staff_member("admin@icecone.example", StaffRole::Admin)
        .await;
    let support_token = app.mint_token(support, FRESH).await;
    let admin_token = app.mint_token(admin, FRESH).await;

    let own = suspend(&app, &support_token, support, REASON).await;
    assert_eq!(code(&own), "FORBIDDEN", "{own}");
    let own_admin = suspend(&app, &admin_token, admin, REASON).await;
    assert_eq!(code(&own_admin), "FORBIDDEN", "{own_admin}");
    let colleague = suspend(&app, &support_token, dpo, REASON).await;
    assert_eq!(code(&colleague), "FORBIDDEN", "{colleague}");
    assert_eq!(actions(&app, "staff.suspend_account").await, 0);

    let dpo_token = app.mint_token(dpo, FRESH).await;
    let by_admin = suspend(&app, &admin_token, dpo, REASON).await;
    assert_eq!(
        by_admin["data"]["suspendAccount"]["suspended"], true,
        "{by_admin}"
    );
    let answer = app
        .send(
            app.client
                .post(app.url("/graphql"))
                .header("content-type", "application/json")
                .header("authorization", format!("Bearer {dpo_token}"))
                .body(json!({ "query": "{ me { id } }" }).to_string()),
        )
        .await;
    assert_eq!(
        answer.status, 401,
        "the suspended staff member's session ended"
    );
}

#[tokio::test]
async fn the_audit_log_pages_oldest_first_with_opaque_cursors() {
    let app = TestApp::spawn().await;
    let StaffMember { id: admin, .. } = app
        .staff_member("admin@icecone.example", StaffRole::Admin)
        .await;
    let StaffMember { id: dpo, .. } = app
        .staff_member("dpo@icecone.example", StaffRole::Dpo)
        .await;
    let admin_token = app.mint_token(admin, FRESH).await;
    let dpo_token = app.mint_token(dpo, FRESH).await;

    let first = audit_log(&app, &admin_token, Some(2), None).await;
    let page = &first["data"]["auditLog"];
    let edges = page["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{first}"));
    assert_eq!(edges.len(), 2);
    assert_eq!(edges[0]["node"]["seq"], 1);
    assert_eq!(edges[1]["node"]["seq"], 2);
    assert_eq!(edges[0]["node"]["action"], "staff.created");
    assert_eq!(edges[0]["node"]["actor"], "cli");
    assert_eq!(edges[0]["node"]["reason"], "ADMIN");
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    let cursor = page["pageInfo"]["endCursor"].as_str().expect("cursor");
    assert_eq!(edges[1]["cursor"], cursor);
    assert_ne!(cursor, "2", "the cursor is opaque");

    // The next page continues after the cursor; the reads themselves were recorded.
    let second = audit_log(&app, &dpo_token, Some(2), Some(cursor)).await;
    let edges = second["data"]["auditLog"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{second}"));
    assert_eq!(edges.len(), 2, "{second}");
    assert_eq!(edges[0]["node"]["seq"], 3);
    assert_eq!(edges[1]["node"]["seq"], 4);
    // Reading is recorded before the page is read: the first read (by ADMIN) is entry 3,
    // this one (by DPO) entry 4.
    assert_eq!(edges[0]["node"]["action"], "audit.read");
    assert_eq!(edges[0]["node"]["actor"], format!("account:{admin}"));
    assert_eq!(edges[1]["node"]["action"], "audit.read");
    assert_eq!(edges[1]["node"]["actor"], format!("account:{dpo}"));

    let all = audit_log(&app, &admin_token, None, None).await;
    let seqs: Vec<u64> = all["data"]["auditLog"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{all}"))
        .iter()
        .map(|edge| edge["node"]["seq"].as_u64().expect("seq"))
        .collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as u64).collect::<Vec<_>>(),
        "oldest first, no gaps"
    );
    assert_eq!(all["data"]["auditLog"]["pageInfo"]["hasNextPage"], false);

    for bad in [0, -1, 201] {
        let body = audit_log(&app, &admin_token, Some(bad), None).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "first: {bad}: {body}");
    }
    for bad in ["", "not a cursor", "YXVkaXQ6eA"] {
        let body = audit_log(&app, &admin_token, Some(2), Some(bad)).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "after: {bad:?}: {body}");
    }
    assert!(audit_log(&app, &admin_token, Some(200), None).await["errors"].is_null());
}

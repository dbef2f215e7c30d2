//! Erasure (GDPR Art. 17) over HTTP: `requestAccountDeletion` with its grace period,
//! cancellation, re-authentication, legal holds, a provider that will not delete its copy,
//! and the raw database scanned afterwards for anything of the erased person.

use std::time::Duration;

use chrono::Utc;
use icecone_app::audit::{self, Verification};
use icecone_app::notify::NotificationKind;
use icecone_core::generation::GenerationKind;
use icecone_core::generation::GenerationStatus;
use icecone_core::provider::ProviderId;
use icecone_core::usage::Usage;
use icecone_store::Backend;
use icecone_store::generations::GenerationRecord;
use icecone_store::jobs::JobState;
use secrecy::SecretString;
use serde_json::{Value, json};
use uuid::Uuid;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::app::{FRESH, PASSWORD, Person, StaffMember, TestApp, code};
use crate::support::totp::code_at;

pub(crate) const REQUEST: &str = "mutation D($p: String!, $c: String) { \
    requestAccountDeletion(password: $p, code: $c) { \
    id kind status receivedAt dueAt completedAt downloadUrl erasureRunsAt legalHoldGrounds } }";
const CANCEL: &str = "mutation { cancelAccountDeletion }";
const MY_DELETION: &str = "{ me { accountDeletion { id status legalHoldGrounds } } }";
const LOG_IN: &str = "mutation L($e: String!, $p: String!) { logIn(email: $e, password: $p) { \
    ... on AuthSession { accessToken } } }";
const GENERATE_TEXT: &str =
    "mutation G($input: GenerateTextInput!) { generateText(input: $input) { id } }";
const GENERATE_IMAGE: &str =
    "mutation G($input: GenerateImageInput!) { generateImage(input: $input) { id } }";
const GENERATE_VIDEO: &str =
    "mutation G($input: GenerateVideoInput!) { generateVideo(input: $input) { id } }";
const LIST: &str = "{ me { generations(first: 10) { edges { node { id prompt \
    output { __typename ... on TextOutput { text } } } } } } }";
const SET_HOLD: &str = "mutation H($a: ID!, $g: LegalHoldGround!, $n: String!) { \
    setLegalHold(accountId: $a, ground: $g, note: $n) { id ground } }";
const RELEASE_HOLD: &str =
    "mutation R($a: ID!, $r: String!) { releaseLegalHold(accountId: $a, reason: $r) }";
const CONTACT: &str = "mutation C($i: PrivacyTicketInput!) { contactPrivacyOfficer(input: $i) \
    { id } }";
const FOLLOWUPS: &str = "{ erasureFollowups { tombstoneId provider remoteRef errorCode } }";

async fn spawn(grace: &str) -> TestApp {
    let grace = grace.to_owned();
    TestApp::spawn_with(move |settings| {
        settings.erasure_grace = grace;
        settings.job_poll_interval_ms = 100;
    })
    .await
}

pub(crate) async fn request_deletion(
    app: &TestApp,
    token: &str,
    password: &str,
    code: Option<&str>,
) -> Value {
    app.graphql(Some(token), REQUEST, json!({ "p": password, "c": code }))
        .await
}

pub(crate) fn request_id(body: &Value) -> Uuid {
    let id = body["data"]["requestAccountDeletion"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no request: {body}"));
    Uuid::try_parse(id).expect("a uuid")
}

/// Waits (up to 20 s) until the erasure `request` left its tombstone.
pub(crate) async fn wait_for_tombstone(app: &TestApp, request: Uuid) {
    wait_for_tombstone_in(app.db.store(), request).await;
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty()
        && haystack
            .windows(needle.len())
            .any(|window| window == needle)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The raw database without the audit trail's rows (a `pg_dump`'s `COPY` block of
/// `audit_log`), which keep account ids on purpose (see `docs/privacy-model.md`).
fn without_audit_rows(raw: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(raw).into_owned();
    let Some(start) = text.find("COPY public.audit_log") else {
        return raw.to_vec();
    };
    let end = text[start..]
        .find("\n\\.\n")
        .map_or(text.len(), |offset| start + offset);
    let mut kept = text[..start].to_owned();
    kept.push_str(&text[end..]);
    kept.into_bytes()
}

/// Asserts the raw database (file and write-ahead log, or a dump) holds no row naming
/// `account` or `subject`, but for the audit trail (which names account ids as text).
fn assert_no_reference(raw: &[u8], backend: Backend, id: Uuid, what: &str) {
    match backend {
        // SQLite keeps uuids as 16 bytes; the audit trail keeps `account:<id>` as text.
        Backend::Sqlite => assert!(
            !contains(raw, id.as_bytes()),
            "a row still refers to the erased person's {what}"
        ),
        Backend::Postgres => assert!(
            !contains(&without_audit_rows(raw), id.to_string().as_bytes()),
            "a row still refers to the erased person's {what}"
        ),
    }
}

/// Every `table.column` of the database but the audit trail (which names account ids on
/// purpose) in which a row, read as text, holds `id` as text: what a scan for the bytes of
/// an id misses, such as a throttling bucket named with an account id.
async fn text_mentions(app: &TestApp, id: Uuid) -> Vec<String> {
    use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
    let db = Database::connect(app.db.url().expose())
        .await
        .expect("connected");
    let backend = db.get_database_backend();
    let id = id.to_string();
    let mut found = Vec::new();
    for table in app.db.store().table_names().await.expect("tables") {
        if table == "audit_log" {
            continue;
        }
        let columns = match backend {
            DbBackend::Sqlite => format!("SELECT name FROM pragma_table_info('{table}')"),
            _ => format!(
                "SELECT column_name AS name FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = '{table}'"
            ),
        };
        let columns = db
            .query_all_raw(Statement::from_string(backend, columns))
            .await
            .expect("columns");
        for column in columns {
            let column: String = column.try_get("", "name").expect("a column name");
            let position = match backend {
                DbBackend::Sqlite => "instr",
                _ => "strpos",
            };
            let count = db
                .query_one_raw(Statement::from_string(
                    backend,
                    format!(
                        "SELECT COUNT(*) AS n FROM \"{table}\" \
                         WHERE {position}(CAST(\"{column}\" AS TEXT), '{id}') > 0"
                    ),
                ))
                .await
                .expect("counted")
                .expect("a row");
            let n: i64 = count.try_get("", "n").expect("a count");
            if n > 0 {
                found.push(format!("{table}.{column}"));
            }
        }
    }
    db.close().await.expect("closed");
    found
}

fn has_reference(raw: &[u8], backend: Backend, id: Uuid) -> bool {
    match backend {
        Backend::Sqlite => contains(raw, id.as_bytes()),
        Backend::Postgres => contains(&without_audit_rows(raw), id.to_string().as_bytes()),
    }
}

async fn generate(app: &TestApp, token: &str, prompt: &str) -> Vec<String> {
    let text = app
        .graphql(
            Some(token),
            GENERATE_TEXT,
            json!({ "input": { "prompt": prompt, "maxTokens": 20 } }),
        )
        .await;
    assert!(text.get("errors").is_none(), "{text}");
    let image = app
        .graphql(
            Some(token),
            GENERATE_IMAGE,
            json!({ "input": { "prompt": format!("{prompt} as a picture"), "provider": "local" } }),
        )
        .await;
    assert!(image.get("errors").is_none(), "{image}");
    let video = app
        .graphql(
            Some(token),
            GENERATE_VIDEO,
            json!({ "input": { "prompt": format!("{prompt} in motion"), "durationSeconds": 2 } }),
        )
        .await;
    assert!(video.get("errors").is_none(), "{video}");
    let video = video["data"]["generateVideo"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    // The local provider's video job runs to its end, stored like any other.
    crate::rights::wait_for_video(app, token, &video).await;
    vec![
        text["data"]["generateText"]["id"]
            .as_str()
            .expect("id")
            .to_owned(),
        image["data"]["generateImage"]["id"]
            .as_str()
            .expect("id")
            .to_owned(),
        video,
    ]
}

async fn log_in(app: &TestApp, email: &str) -> Option<String> {
    let body = app
        .graphql(None, LOG_IN, json!({ "e": email, "p": PASSWORD }))
        .await;
    body["data"]["logIn"]["accessToken"]
        .as_str()
        .map(str::to_owned)
}

#[tokio::test]
async fn an_erased_account_leaves_only_a_tombstone_and_everyone_else_is_untouched() {
    let app = spawn("0s").await;
    let store = app.db.store();
    let Person {
        id: alice,
        access_token: alice_token,
        ..
    } = app.person("alice.erased@example.com").await;
    let Person {
        id: bob,
        access_token: bob_token,
        ..
    } = app.person("bob.kept@example.com").await;
    for token in [&alice_token, &bob_token] {
        let body = app.set_consent(token, "PERSONALIZATION", true).await;
        assert!(body.get("errors").is_none(), "{body}");
    }
    let alice_generations = generate(&app, &alice_token, "canary alice zebra lantern").await;
    generate(&app, &bob_token, "canary bob otter teapot").await;

    let alice_record = store.account(alice).await.expect("read").expect("alice");
    let bob_record = store.account(bob).await.expect("read").expect("bob");
    let alice_prompt_sealed = store
        .generation_of(alice, Uuid::try_parse(&alice_generations[0]).expect("id"))
        .await
        .expect("read")
        .expect("alice's text")
        .prompt_sealed;
    // Messages to the DPO: one signed in (its rate-limit window is named with alice's
    // id), one anonymous from her address and one from bob's (tied to each only by the
    // blind index of the reply address).
    let mut bob_ticket = None;
    for (token, email) in [
        (Some(&alice_token), None),
        (None, Some("alice.erased@example.com")),
        (None, Some("bob.kept@example.com")),
    ] {
        let body = app
            .graphql(
                token.map(String::as_str),
                CONTACT,
                json!({ "i": { "email": email, "subject": "What do you keep about me?",
                            "message": "canary ticket heron" } }),
            )
            .await;
        assert!(body.get("errors").is_none(), "{body}");
        if email == Some("bob.kept@example.com") {
            bob_ticket = body["data"]["contactPrivacyOfficer"]["id"]
                .as_str()
                .map(str::to_owned);
        }
    }
    assert!(
        !text_mentions(&app, alice).await.is_empty(),
        "the text scan sees alice's id"
    );
    let bob_before = store
        .rows_about(bob, bob_record.subject, &bob_record.email_index)
        .await
        .expect("count");
    let backend = app.db.url().backend();
    let raw = app.db.raw_bytes().await;
    // The scan can see what it looks for.
    assert!(
        has_reference(&raw, backend, alice),
        "alice is not in the raw database"
    );
    assert!(
        contains(&raw, &alice_record.email_sealed)
            || contains(&raw, hex(&alice_record.email_sealed).as_bytes())
    );

    let first = request_deletion(&app, &alice_token, PASSWORD, None).await;
    assert!(first.get("errors").is_none(), "{first}");
    let request = &first["data"]["requestAccountDeletion"];
    assert_eq!(request["kind"], "ERASURE");
    assert_eq!(request["completedAt"], Value::Null);
    assert_eq!(request["downloadUrl"], Value::Null);
    assert_eq!(request["legalHoldGrounds"], json!([]));
    let id = request_id(&first);
    // Asked twice: the same request, no second job.
    let second = request_deletion(&app, &alice_token, PASSWORD, None).await;
    if second.get("errors").is_none() {
        assert_eq!(request_id(&second), id);
    } else {
        // The erasure already revoked the session.
        assert_eq!(code(&second), "UNAUTHENTICATED", "{second}");
    }
    wait_for_tombstone(&app, id).await;
    let jobs = finished_jobs(store, id).await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].state, JobState::Succeeded);
    assert_eq!(jobs[0].account, None);

    // Alice is gone: her token, her log-in, every row.
    let me = app
        .graphql(Some(&alice_token), "{ me { id } }", json!({}))
        .await;
    assert!(
        me["data"]["me"].is_null() || me.get("errors").is_some(),
        "{me}"
    );
    let left = store
        .rows_about(alice, alice_record.subject, &alice_record.email_index)
        .await
        .expect("count");
    for (table, count) in &left {
        if *table == "audit_log" {
            assert!(*count > 0, "the audit trail keeps its entries");
        } else {
            assert_eq!(*count, 0, "{table} still has rows about alice");
        }
    }
    let raw = app.db.raw_bytes().await;
    assert_no_reference(&raw, backend, alice, "account id");
    assert_eq!(
        text_mentions(&app, alice).await,
        Vec::<String>::new(),
        "a row names the erased person's account id as text"
    );
    // Her anonymous message went with her; bob's stays.
    let tickets: Vec<String> = store
        .privacy_tickets()
        .await
        .expect("tickets")
        .iter()
        .map(|ticket| ticket.id.to_string())
        .collect();
    assert_eq!(tickets, [bob_ticket.expect("bob's ticket")]);
    assert_no_reference(&raw, backend, alice_record.subject.as_uuid(), "subject id");
    for needle in [
        &b"alice.erased@example.com"[..],
        b"canary alice zebra lantern",
        b"words lantern zebra alice canary",
    ] {
        assert!(
            !contains(&raw, needle),
            "{} is in the database",
            String::from_utf8_lossy(needle)
        );
    }
    for sealed in [&alice_record.email_sealed, &alice_prompt_sealed] {
        assert!(
            !contains(&raw, sealed),
            "a ciphertext of alice is in the database"
        );
        assert!(
            !contains(&raw, hex(sealed).as_bytes()),
            "a ciphertext of alice is in the dump"
        );
    }
    let tombstone = store
        .erasure_tombstone(id)
        .await
        .expect("read")
        .expect("tombstone");
    assert!(tombstone.erased_at >= tombstone.requested_at);
    // The audit trail still verifies.
    let (vault, _) = app.keys().await;
    assert!(matches!(
        audit::verify(store, &vault).await.expect("verify"),
        Verification::Intact(_)
    ));

    // Her address no longer signs in (the failed attempt is counted under its blind index
    // like any unknown address's: a new counter, not a leftover).
    assert!(log_in(&app, "alice.erased@example.com").await.is_none());

    // Bob: every row as before, log-in works and his generations read back.
    assert_eq!(
        store
            .rows_about(bob, bob_record.subject, &bob_record.email_index)
            .await
            .expect("count")
            .into_iter()
            .filter(|(table, _)| *table != "audit_log"
                && *table != "sessions"
                && *table != "refresh_tokens"
                && *table != "notification_outbox")
            .collect::<Vec<_>>(),
        bob_before
            .into_iter()
            .filter(|(table, _)| *table != "audit_log"
                && *table != "sessions"
                && *table != "refresh_tokens"
                && *table != "notification_outbox")
            .collect::<Vec<_>>()
    );
    let bob_token = log_in(&app, "bob.kept@example.com")
        .await
        .expect("bob still logs in");
    let list = app.graphql(Some(&bob_token), LIST, json!({})).await;
    let prompts: Vec<&str> = list["data"]["me"]["generations"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{list}"))
        .iter()
        .filter_map(|edge| edge["node"]["prompt"].as_str())
        .collect();
    assert_eq!(
        prompts,
        [
            "canary bob otter teapot in motion",
            "canary bob otter teapot as a picture",
            "canary bob otter teapot"
        ]
    );
}

#[tokio::test]
async fn cancelling_works_within_the_grace_period_and_is_refused_after_it() {
    let app = spawn("1h").await;
    let Person {
        id: account,
        access_token: token,
        ..
    } = app.person("carol@example.com").await;
    let body = request_deletion(&app, &token, PASSWORD, None).await;
    assert!(body.get("errors").is_none(), "{body}");
    let id = request_id(&body);
    let request = &body["data"]["requestAccountDeletion"];
    assert_eq!(request["status"], "RECEIVED");
    let received: chrono::DateTime<Utc> = request["receivedAt"]
        .as_str()
        .expect("at")
        .parse()
        .expect("a time");
    let runs: chrono::DateTime<Utc> = request["erasureRunsAt"]
        .as_str()
        .expect("at")
        .parse()
        .expect("a time");
    assert_eq!(runs - received, chrono::TimeDelta::hours(1));
    let mine = app.graphql(Some(&token), MY_DELETION, json!({})).await;
    assert_eq!(mine["data"]["me"]["accountDeletion"]["id"], id.to_string());
    let again = request_deletion(&app, &token, PASSWORD, None).await;
    assert_eq!(request_id(&again), id, "asked twice: the same request");
    let jobs = app
        .db
        .store()
        .jobs_for(icecone_app::erasure::job::KIND, &id.to_string())
        .await
        .expect("jobs");
    assert_eq!(jobs.len(), 1, "asked twice: one job");

    let cancelled = app.graphql(Some(&token), CANCEL, json!({})).await;
    assert_eq!(
        cancelled["data"]["cancelAccountDeletion"], true,
        "{cancelled}"
    );
    let job = app
        .db
        .store()
        .job(jobs[0].id)
        .await
        .expect("read")
        .expect("job");
    assert_eq!(job.state, JobState::Cancelled);
    let mine = app.graphql(Some(&token), MY_DELETION, json!({})).await;
    assert_eq!(mine["data"]["me"]["accountDeletion"], Value::Null);
    let twice = app.graphql(Some(&token), CANCEL, json!({})).await;
    assert_eq!(code(&twice), "NOT_FOUND", "{twice}");
    assert!(
        app.db
            .store()
            .account(account)
            .await
            .expect("read")
            .is_some()
    );

    // Past the grace period (0 s, no workers to run it): too late to cancel.
    let late = TestApp::spawn_with(|settings| {
        settings.erasure_grace = "0s".to_owned();
        settings.job_workers = 0;
    })
    .await;
    let Person {
        id: late_account,
        access_token: late_token,
        ..
    } = late.person("dave@example.com").await;
    let body = request_deletion(&late, &late_token, PASSWORD, None).await;
    assert!(body.get("errors").is_none(), "{body}");
    let refused = late.graphql(Some(&late_token), CANCEL, json!({})).await;
    assert_eq!(code(&refused), "BAD_USER_INPUT", "{refused}");
    assert!(
        late.db
            .store()
            .open_account_deletion(late_account)
            .await
            .expect("read")
            .is_some()
    );
}

#[tokio::test]
async fn deletion_needs_the_password_and_the_totp_code_when_totp_is_on() {
    let app = TestApp::spawn_with(|settings| settings.job_workers = 0).await;
    let Person {
        id: account,
        access_token: token,
        ..
    } = app.person("erin@example.com").await;
    let wrong = request_deletion(&app, &token, "not the password at all", None).await;
    assert_eq!(code(&wrong), "REAUTHENTICATION_REQUIRED", "{wrong}");
    assert!(
        app.db
            .store()
            .open_account_deletion(account)
            .await
            .expect("read")
            .is_none()
    );

    let StaffMember {
        id: member, secret, ..
    } = app
        .staff_member(
            "frank.totp@example.com",
            icecone_core::identity::roles::StaffRole::Support,
        )
        .await;
    let staff_token = app.mint_token(member, FRESH).await;
    let missing = request_deletion(&app, &staff_token, PASSWORD, None).await;
    assert_eq!(code(&missing), "MFA_REQUIRED", "{missing}");
    let wrong_code = request_deletion(&app, &staff_token, PASSWORD, Some("000000")).await;
    assert_eq!(
        code(&wrong_code),
        "REAUTHENTICATION_REQUIRED",
        "{wrong_code}"
    );
    let wrong_password = request_deletion(
        &app,
        &staff_token,
        "not the password at all",
        Some(&code_at(&secret, 0)),
    )
    .await;
    assert_eq!(
        code(&wrong_password),
        "REAUTHENTICATION_REQUIRED",
        "{wrong_password}"
    );
    assert!(
        app.db
            .store()
            .open_account_deletion(member)
            .await
            .expect("read")
            .is_none()
    );
    let accepted = request_deletion(&app, &staff_token, PASSWORD, Some(&code_at(&secret, 0))).await;
    assert!(accepted.get("errors").is_none(), "{accepted}");
    assert_eq!(
        accepted["data"]["requestAccountDeletion"]["status"],
        "RECEIVED"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn wrong_passwords_sent_at_once_for_deletion_are_checked_only_as_often_as_allowed() {
    let app = TestApp::spawn_with(|settings| settings.job_workers = 0).await;
    let Person {
        id: account,
        access_token: token,
        ..
    } = app.person("fay.guess@example.com").await;
    let answers = futures_util::future::join_all((0..40).map(|i| {
        let (app, token) = (&app, &token);
        async move { request_deletion(app, token, &format!("guess number {i:04}"), None).await }
    }))
    .await;
    let codes: Vec<&str> = answers.iter().map(code).collect();
    // The same throttle as log-in, reserved before Argon2id runs.
    let free = usize::try_from(icecone_core::identity::throttle::FREE_FAILURES + 1).expect("small");
    assert_eq!(
        codes
            .iter()
            .filter(|c| **c == "REAUTHENTICATION_REQUIRED")
            .count(),
        free,
        "{codes:?}"
    );
    assert_eq!(
        codes.iter().filter(|c| **c == "RATE_LIMITED").count(),
        40 - free,
        "{codes:?}"
    );
    assert!(
        app.db
            .store()
            .open_account_deletion(account)
            .await
            .expect("read")
            .is_none()
    );
}

#[tokio::test]
async fn a_legal_hold_blocks_erasure_and_tells_the_person_why_until_it_is_released() {
    let app = spawn("0s").await;
    let Person {
        id: account,
        access_token: person_token,
        ..
    } = app.person("grace.held@example.com").await;
    let StaffMember { id: dpo, .. } = app
        .staff_member(
            "dpo@example.com",
            icecone_core::identity::roles::StaffRole::Dpo,
        )
        .await;
    let dpo_token = app.mint_token(dpo, FRESH).await;
    let note = "Case 2026-118: records under litigation hold";
    let held = app
        .graphql(
            Some(&dpo_token),
            SET_HOLD,
            json!({ "a": account.to_string(), "g": "LEGAL_CLAIMS", "n": note }),
        )
        .await;
    assert_eq!(
        held["data"]["setLegalHold"]["ground"], "LEGAL_CLAIMS",
        "{held}"
    );
    // The person cannot set or release holds.
    let forbidden = app
        .graphql(
            Some(&person_token),
            RELEASE_HOLD,
            json!({ "a": account.to_string(), "r": "I would like to be erased" }),
        )
        .await;
    assert_eq!(code(&forbidden), "FORBIDDEN", "{forbidden}");

    let body = request_deletion(&app, &person_token, PASSWORD, None).await;
    assert!(body.get("errors").is_none(), "{body}");
    let id = request_id(&body);
    assert_eq!(body["data"]["requestAccountDeletion"]["status"], "DENIED");
    assert_eq!(
        body["data"]["requestAccountDeletion"]["legalHoldGrounds"],
        json!(["LEGAL_CLAIMS"])
    );
    let told = app
        .notifications
        .wait_for(NotificationKind::ErasureHeld, "grace.held@example.com")
        .await;
    assert_eq!(told.token.as_deref(), Some("LEGAL_CLAIMS"));
    // Past the grace period, the job ran and found the hold: nothing erased.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        app.db
            .store()
            .account(account)
            .await
            .expect("read")
            .is_some()
    );
    assert!(
        app.db
            .store()
            .erasure_tombstone(id)
            .await
            .expect("read")
            .is_none()
    );
    let mine = app
        .graphql(Some(&person_token), MY_DELETION, json!({}))
        .await;
    assert_eq!(
        mine["data"]["me"]["accountDeletion"]["status"], "DENIED",
        "{mine}"
    );
    assert_eq!(
        mine["data"]["me"]["accountDeletion"]["legalHoldGrounds"],
        json!(["LEGAL_CLAIMS"])
    );
    // DPO staff track the held erasure with every other request: DENIED while held.
    let listed = |body: &Value| {
        body["data"]["dataRequests"]
            .as_array()
            .expect("a list")
            .iter()
            .filter(|request| request["id"] == id.to_string())
            .cloned()
            .collect::<Vec<_>>()
    };
    let denied = app
        .graphql(
            Some(&dpo_token),
            crate::rights::STAFF_REQUESTS,
            json!({ "s": "DENIED" }),
        )
        .await;
    let entry = listed(&denied);
    assert_eq!(entry.len(), 1, "{denied}");
    assert_eq!(
        (
            &entry[0]["kind"],
            &entry[0]["accountId"],
            &entry[0]["overdue"]
        ),
        (
            &json!("ERASURE"),
            &json!(account.to_string()),
            &json!(false)
        )
    );
    let received = app
        .graphql(
            Some(&dpo_token),
            crate::rights::STAFF_REQUESTS,
            json!({ "s": "RECEIVED" }),
        )
        .await;
    assert!(listed(&received).is_empty(), "{received}");
    // The note never reaches the person.
    assert!(
        app.notifications
            .delivered()
            .iter()
            .all(|d| d.token.as_deref().is_none_or(|t| !t.contains("litigation")))
    );

    let released = app
        .graphql(
            Some(&dpo_token),
            RELEASE_HOLD,
            json!({ "a": account.to_string(), "r": "Case 2026-118 closed by settlement" }),
        )
        .await;
    assert_eq!(released["data"]["releaseLegalHold"], true, "{released}");
    wait_for_tombstone(&app, id).await;
    assert!(
        app.db
            .store()
            .account(account)
            .await
            .expect("read")
            .is_none()
    );
}

#[tokio::test]
async fn a_provider_that_will_not_delete_its_copy_is_retried_recorded_for_dpo_and_never_blocks_erasure()
 {
    let luma = MockServer::start().await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(503))
        .expect(u64::from(icecone_app::erasure::job::REMOTE_ATTEMPTS))
        .mount(&luma)
        .await;
    let base = luma.uri();
    let app = TestApp::spawn_with(move |settings| {
        settings.erasure_grace = "0s".to_owned();
        settings.job_poll_interval_ms = 100;
        settings.providers.set(icecone_provider_luma::LumaSettings {
            api_key: Some(SecretString::from("luma-test-key")),
            base_url: base,
            ..icecone_provider_luma::LumaSettings::default()
        });
    })
    .await;
    let Person {
        id: account,
        access_token: token,
        ..
    } = app.person("hank@example.com").await;
    let remote_ref = "a1b2c3d4-0000-4000-8000-00000000beef";
    luma_video(app.db.store(), account, remote_ref).await;

    let body = request_deletion(&app, &token, PASSWORD, None).await;
    let id = request_id(&body);
    wait_for_tombstone(&app, id).await;
    luma.verify().await;
    assert!(
        app.db
            .store()
            .account(account)
            .await
            .expect("read")
            .is_none()
    );
    let followups = app.db.store().erasure_followups().await.expect("read");
    assert_eq!(followups.len(), 1, "{followups:?}");
    assert_eq!(followups[0].tombstone, id);
    assert_eq!(followups[0].provider.as_str(), "luma");
    assert_eq!(followups[0].remote_ref, remote_ref);
    assert_eq!(followups[0].error_code, "PROVIDER_UNAVAILABLE");

    // DPO staff see it.
    let StaffMember { id: dpo, .. } = app
        .staff_member(
            "dpo.followups@example.com",
            icecone_core::identity::roles::StaffRole::Dpo,
        )
        .await;
    let dpo_token = app.mint_token(dpo, FRESH).await;
    let seen = app.graphql(Some(&dpo_token), FOLLOWUPS, json!({})).await;
    assert_eq!(
        seen["data"]["erasureFollowups"],
        json!([{ "tombstoneId": id.to_string(), "provider": "luma",
                 "remoteRef": remote_ref, "errorCode": "PROVIDER_UNAVAILABLE" }]),
        "{seen}"
    );
}

/// A luma video generation of `account` whose provider job is `remote_ref`, stored as the
/// video job leaves it before the remote copy is settled.
async fn luma_video(store: &icecone_store::Store, account: Uuid, remote_ref: &str) {
    store
        .insert_generation(
            &GenerationRecord {
                id: Uuid::new_v4(),
                account,
                kind: GenerationKind::Video,
                status: GenerationStatus::Succeeded,
                provider: ProviderId::parse("luma").expect("provider id"),
                provider_job_id: Some(remote_ref.to_owned()),
                prompt_sealed: vec![0xAB; 40],
                text_sealed: None,
                media_type: Some("video/mp4".to_owned()),
                error_code: None,
                duration_seconds: Some(5),
                usage: Usage {
                    tokens: 0,
                    images: 0,
                    video_seconds: 5,
                },
                created_at: Utc::now(),
                completed_at: Some(Utc::now()),
                remote_copy: None,
                redactions: None,
            },
            Some(vec![0xCD; 64]),
        )
        .await
        .expect("a video generation at luma");
}

#[tokio::test]
async fn an_erasure_survives_sigkill_of_the_gateway_and_finishes_touching_no_one_else() {
    use crate::support::binary::{BinaryApp, free_port};

    let luma = MockServer::start().await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_millis(1500)))
        .mount(&luma)
        .await;
    let db = icecone_store::testing::TestDatabase::new().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let start = || {
        BinaryApp::spawn(dir.path(), port, |command| {
            command
                .env("ICECONE_DATA_DIR", dir.path())
                .env("ICECONE_DATABASE_URL", db.url().expose())
                .env("ICECONE_ERASURE_GRACE", "0s")
                .env("ICECONE_JOB_POLL_INTERVAL_MS", "200")
                .env("ICECONE_JOB_LEASE_SECONDS", "2")
                .env("ICECONE_LUMA_API_KEY", "luma-test-key")
                .env("ICECONE_LUMA_BASE_URL", luma.uri());
        })
    };
    let mut first = start();
    first.wait_until_healthy().await;
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/graphql");
    let password = "a long enough passphrase 42";
    let mut people = Vec::new();
    for email in ["killed.erased@example.com", "kept.intact@example.com"] {
        let token = first.sign_up(email, password).await;
        let me: Value = client
            .post(&url)
            .bearer_auth(&token)
            .json(&json!({ "query": "{ me { id } }" }))
            .send()
            .await
            .expect("me")
            .json()
            .await
            .expect("JSON");
        let id = Uuid::try_parse(me["data"]["me"]["id"].as_str().expect("id")).expect("uuid");
        people.push((id, token));
    }
    let (person, person_token) = people[0].clone();
    let (other, _) = people[1].clone();
    let store = db.store();
    let refs: Vec<String> = (0..4).map(|i| format!("erased-video-{i}")).collect();
    for remote_ref in &refs {
        luma_video(store, person, remote_ref).await;
    }
    luma_video(store, other, "kept-video-0").await;
    let person_record = store.account(person).await.expect("read").expect("person");
    let other_record = store.account(other).await.expect("read").expect("other");
    let other_before = store
        .rows_about(other, other_record.subject, &other_record.email_index)
        .await
        .expect("count");

    let body: Value = client
        .post(&url)
        .bearer_auth(&person_token)
        .json(&json!({ "query": REQUEST, "variables": { "p": password } }))
        .send()
        .await
        .expect("requestAccountDeletion")
        .json()
        .await
        .expect("JSON");
    let request = request_id(&body);
    // Wait until the erasure is asking the provider (each answer takes 1.5 s).
    let started = std::time::Instant::now();
    while luma
        .received_requests()
        .await
        .unwrap_or_default()
        .is_empty()
    {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no remote delete was asked"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // SIGKILL in the middle of the remote_copies step.
    first.kill();
    let jobs = store
        .jobs_for(icecone_app::erasure::job::KIND, &request.to_string())
        .await
        .expect("jobs");
    assert_eq!(jobs.len(), 1);
    assert_eq!(
        jobs[0].step,
        icecone_app::erasure::job::REMOTE_COPIES,
        "{:?}",
        jobs[0]
    );
    assert!(!jobs[0].state.is_final());
    assert!(
        store.account(person).await.expect("read").is_some(),
        "not erased yet"
    );

    let mut second = start();
    second.wait_until_healthy().await;
    wait_for_tombstone_in(store, request).await;
    second.terminate();

    assert_eq!(
        finished_jobs(store, request).await[0].state,
        JobState::Succeeded
    );
    for (table, count) in store
        .rows_about(person, person_record.subject, &person_record.email_index)
        .await
        .expect("count")
    {
        if table != "audit_log" {
            assert_eq!(count, 0, "{table} still has rows about the erased person");
        }
    }
    let paths: Vec<String> = luma
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|request| request.url.path().to_owned())
        .collect();
    for remote_ref in &refs {
        assert!(
            paths.iter().any(|path| path.ends_with(remote_ref.as_str())),
            "{remote_ref} was never deleted at the provider: {paths:?}"
        );
    }
    assert!(
        paths.iter().all(|path| !path.ends_with("kept-video-0")),
        "the other person's copy was deleted: {paths:?}"
    );
    assert_eq!(
        store
            .rows_about(other, other_record.subject, &other_record.email_index)
            .await
            .expect("count"),
        other_before,
        "the other person's rows changed"
    );
    let raw = db.raw_bytes().await;
    assert_no_reference(&raw, db.url().backend(), person, "account id");
}

async fn wait_for_tombstone_in(store: &icecone_store::Store, request: Uuid) {
    for _ in 0..600 {
        if store
            .erasure_tombstone(request)
            .await
            .expect("read")
            .is_some()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the erasure did not finish after the restart");
}

/// The erasure jobs of `request`, once the runner recorded their outcome (the tombstone is
/// committed just before).
async fn finished_jobs(
    store: &icecone_store::Store,
    request: Uuid,
) -> Vec<icecone_store::jobs::JobRecord> {
    for _ in 0..200 {
        let jobs = store
            .jobs_for(icecone_app::erasure::job::KIND, &request.to_string())
            .await
            .expect("jobs");
        if jobs.iter().all(|job| job.state.is_final()) {
            return jobs;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the erasure job did not end");
}

/// The `export.json` of a new export of the signed-in person's data, over HTTP.
pub(crate) async fn export_json(app: &TestApp, token: &str) -> Value {
    const REQUEST_EXPORT: &str = "mutation { requestDataExport { id } }";
    const MINE: &str = "{ me { dataRequests { id status downloadUrl } } }";
    let body = app.graphql(Some(token), REQUEST_EXPORT, json!({})).await;
    let id = body["data"]["requestDataExport"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("an export request: {body}"))
        .to_owned();
    let mut url = None;
    for _ in 0..200 {
        let mine = app.graphql(Some(token), MINE, json!({})).await;
        url = mine["data"]["me"]["dataRequests"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|request| request["id"] == id.as_str() && request["status"] == "COMPLETED")
            .and_then(|request| request["downloadUrl"].as_str().map(str::to_owned));
        if url.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let url = url.expect("the export was built");
    let path = url
        .find("/exports/")
        .map(|start| &url[start..])
        .expect("a download path");
    let bytes = app
        .client
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .expect("downloaded")
        .bytes()
        .await
        .expect("a body");
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a ZIP");
    let mut document = String::new();
    std::io::Read::read_to_string(
        &mut archive.by_name("export.json").expect("export.json"),
        &mut document,
    )
    .expect("readable");
    serde_json::from_str(&document).expect("JSON")
}

#[tokio::test]
async fn anonymous_messages_from_a_verified_address_are_in_its_owners_export_only() {
    let app = spawn("7d").await;
    let write =
        |token: Option<String>, email: Option<&'static str>, message: &'static str| {
            let app = &app;
            async move {
                let body = app.graphql(token.as_deref(),
                CONTACT,
                json!({ "i": { "email": email, "subject": "My data", "message": message } }),
            )
            .await;
                assert!(body.get("errors").is_none(), "{body}");
            }
        };
    // Someone writes without an account from dora's address...
    write(
        None,
        Some("dora.export@example.com"),
        "canary anonymous heron",
    )
    .await;
    write(None, Some("eve.other@example.com"), "canary someone else").await;
    // ...someone signs up with it and never verifies it: not theirs to read...
    let signed_up = app.graphql(None,
        "mutation S($i: SignUpInput!) { signUp(input: $i) { accessToken } }",
        json!({ "i": { "email": "dora.export@example.com", "password": PASSWORD,
                        "acceptedPolicyVersion": icecone_core::identity::policy::CURRENT_POLICY_VERSION } }),
    )
    .await;
    let claimant = signed_up["data"]["signUp"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("signed up: {signed_up}"))
        .to_owned();
    // ...and dora, whose verified address it is, writes once signed in.
    let Person {
        access_token: dora, ..
    } = app.person("dora.export@example.com").await;
    write(Some(dora.clone()), None, "canary signed heron").await;

    let messages = |document: &Value| -> Vec<String> {
        document["privacyTickets"]
            .as_array()
            .unwrap_or_else(|| panic!("a ticket section: {document}"))
            .iter()
            .map(|ticket| ticket["message"].as_str().expect("a message").to_owned())
            .collect()
    };
    assert_eq!(
        messages(&export_json(&app, &dora).await),
        ["canary signed heron", "canary anonymous heron"],
        "her own messages, newest first, the anonymous one included"
    );
    assert_eq!(
        messages(&export_json(&app, &claimant).await),
        Vec::<String>::new(),
        "an unverified address gives no one its messages"
    );
}

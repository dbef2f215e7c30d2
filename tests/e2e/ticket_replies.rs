//! The DPO's replies to messages (`answerPrivacyTicket`, `closePrivacyTicket`): the reply
//! goes by e-mail through a real SMTP server — to a signed-in sender's account, or to the
//! address an anonymous sender gave — and shows in the sender's `me { privacyTickets }`;
//! the ticket's states and history; who may answer; the audit trail; the logs.

use std::time::Duration;

use icecone_core::identity::roles::StaffRole;
use serde_json::{Value, json};

use crate::mail::{FROM, mail_to};
use crate::staff_console::actions;
use crate::support::app::{FRESH, Person, STALE, StaffMember, TestApp, code};
use crate::support::binary::{BinaryApp, free_port, icecone};
use crate::support::smtp::{Mail, Reply, SmtpServer};

const CONTACT: &str = "mutation C($i: PrivacyTicketInput!) { contactPrivacyOfficer(input: $i) \
    { id status } }";
const ANSWER: &str = "mutation A($id: ID!, $m: String!) { answerPrivacyTicket(id: $id, message: $m) \
    { id status replies { message sentAt } } }";
const CLOSE: &str = "mutation C($id: ID!) { closePrivacyTicket(id: $id) { id status } }";
const MINE: &str =
    "{ me { privacyTickets { id subject message status replies { message sentAt } } } }";
const TICKETS: &str = "{ privacyTickets { id status history { kind staffId reply at } } }";
const SUBJECT: &str = "Our Data Protection Officer answered your message";
/// A reply with markup, an ampersand and a line break: escaped in the HTML part.
const REPLY: &str = "We keep <b>nothing</b> of yours & delete it on request.\nBest regards";

fn message(email: Option<&str>) -> Value {
    json!({ "i": { "email": email, "subject": "What do you keep?",
                    "message": "Please tell me what you keep about me" } })
}

fn id_of(body: &Value, field: &str) -> String {
    body["data"][field]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no {field}: {body}"))
        .to_owned()
}

/// Waits (up to 15 s) for the mail with the reply's subject and returns it with its
/// envelope recipients.
async fn reply_mail(server: &SmtpServer) -> (Mail, Vec<String>) {
    for _ in 0..300 {
        for received in server.received() {
            let mail = Mail::parse(&received.data);
            if mail.header("Subject") == Some(SUBJECT) {
                assert!(received.tls, "sent after STARTTLS");
                return (mail, received.to.clone());
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no reply mail arrived");
}

/// Asserts the whole reply mail: headers, both parts, the reference, the escaping.
fn assert_reply_mail(mail: &Mail, to: &str, ticket: &str, outbox_id: &str) {
    assert_eq!(
        mail.header_names(),
        [
            "Message-ID",
            "From",
            "To",
            "Subject",
            "Date",
            "MIME-Version",
            "Content-Type"
        ]
    );
    assert_eq!(mail.header("From"), Some(FROM));
    assert_eq!(mail.header("To"), Some(to));
    assert_eq!(
        mail.header("Message-ID"),
        Some(format!("<{outbox_id}@icecone.example>").as_str())
    );
    // Parts travel with CRLF line ends, and the boundary adds one after the last line.
    let lines = |part: &str| part.replace("\r\n", "\n").trim_end().to_owned();
    assert_eq!(
        lines(&mail.text),
        format!(
            "IceCone's Data Protection Officer answered the message you sent us (reference \
             {ticket}):\n\n> We keep <b>nothing</b> of yours & delete it on request.\n> Best \
             regards\n\nTo write again, use the contact form of our privacy page and quote the \
             reference.\n\n-- \nIceCone"
        )
    );
    assert_eq!(
        lines(&mail.html),
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>{SUBJECT}\
             </title></head>\n<body>\n<p>IceCone&#39;s Data Protection Officer answered the \
             message you sent us (reference {ticket}):</p>\n<blockquote><p>We keep \
             &lt;b&gt;nothing&lt;/b&gt; of yours &amp; delete it on request.<br>\nBest \
             regards</p></blockquote>\n<p>To write again, use the contact form of our privacy \
             page and quote the reference.</p>\n<p>&#8212;<br>IceCone</p>\n</body>\n</html>"
        )
    );
    assert!(
        !mail.text.contains("What do you keep"),
        "the subject is not repeated"
    );
}

async fn dpo(app: &TestApp) -> (uuid::Uuid, String) {
    let StaffMember { id, .. } = app.staff_member("dpo@example.com", StaffRole::Dpo).await;
    (id, app.mint_token(id, FRESH).await)
}

#[tokio::test]
async fn a_signed_in_sender_gets_the_reply_by_mail_and_sees_it_with_the_status_in_me() {
    let server = SmtpServer::start(Reply::Accept);
    let app = TestApp::spawn_mailing(|settings| mail_to(&server, settings)).await;
    let person: Person = app.person("sender@example.com").await;
    let ticket = id_of(
        &person.graphql(&app, CONTACT, message(None)).await,
        "contactPrivacyOfficer",
    );
    let (dpo, dpo_token) = dpo(&app).await;

    let body = app
        .graphql(
            Some(&dpo_token),
            ANSWER,
            json!({ "id": ticket, "m": REPLY }),
        )
        .await;
    assert_eq!(
        body["data"]["answerPrivacyTicket"]["status"], "ANSWERED",
        "{body}"
    );
    assert_eq!(
        body["data"]["answerPrivacyTicket"]["replies"][0]["message"],
        REPLY
    );

    let (mail, to) = reply_mail(&server).await;
    assert_eq!(to, ["sender@example.com"]);
    let outbox = app
        .db
        .store()
        .notifications_of(person.id)
        .await
        .expect("outbox");
    let row = outbox
        .iter()
        .find(|row| row.kind == "privacy_ticket_answered")
        .expect("queued for the account");
    assert_reply_mail(&mail, "sender@example.com", &ticket, &row.id.to_string());

    let mine = person.graphql(&app, MINE, json!({})).await;
    let tickets = &mine["data"]["me"]["privacyTickets"];
    assert_eq!(tickets.as_array().map(Vec::len), Some(1), "{mine}");
    assert_eq!(tickets[0]["id"], ticket.as_str());
    assert_eq!(tickets[0]["status"], "ANSWERED");
    assert_eq!(tickets[0]["subject"], "What do you keep?");
    assert_eq!(tickets[0]["replies"][0]["message"], REPLY);
    assert!(
        !mine.to_string().contains(&dpo.to_string()),
        "no staff identity"
    );

    // Audited: who and which ticket, never the text.
    assert_eq!(actions(&app, "privacy_ticket.answer").await, 1);
    let entries = app.db.store().audit_page(None, 1000).await.expect("audit");
    let entry = entries
        .iter()
        .find(|row| row.action == "privacy_ticket.answer")
        .expect("entry");
    assert_eq!(entry.actor, format!("account:{dpo}"));
    let simple = uuid::Uuid::parse_str(&ticket)
        .expect("id")
        .simple()
        .to_string();
    assert_eq!(
        entry.target.as_deref(),
        Some(format!("account:{}:pt:{simple}", person.id).as_str())
    );
    assert_eq!(entry.reason_sealed, None);

    // Answered again, then closed; a closed ticket is neither answered nor closed again.
    let again = app
        .graphql(
            Some(&dpo_token),
            ANSWER,
            json!({ "id": ticket, "m": "One more thing." }),
        )
        .await;
    assert_eq!(
        again["data"]["answerPrivacyTicket"]["replies"]
            .as_array()
            .map(Vec::len),
        Some(2),
        "{again}"
    );
    let closed = app
        .graphql(Some(&dpo_token), CLOSE, json!({ "id": ticket }))
        .await;
    assert_eq!(
        closed["data"]["closePrivacyTicket"]["status"], "CLOSED",
        "{closed}"
    );
    assert_eq!(actions(&app, "privacy_ticket.close").await, 1);
    let refused = app
        .graphql(
            Some(&dpo_token),
            ANSWER,
            json!({ "id": ticket, "m": "Too late." }),
        )
        .await;
    assert_eq!(code(&refused), "FAILED_PRECONDITION", "{refused}");
    assert_eq!(
        refused["errors"][0]["message"],
        "the ticket is closed: it cannot be answered"
    );
    let refused = app
        .graphql(Some(&dpo_token), CLOSE, json!({ "id": ticket }))
        .await;
    assert_eq!(code(&refused), "FAILED_PRECONDITION", "{refused}");

    let history = app.graphql(Some(&dpo_token), TICKETS, json!({})).await;
    let entry = &history["data"]["privacyTickets"][0];
    assert_eq!(entry["status"], "CLOSED", "{history}");
    let kinds: Vec<&Value> = entry["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|event| &event["kind"])
        .collect();
    assert_eq!(kinds, ["RECEIVED", "ANSWERED", "ANSWERED", "CLOSED"]);
    assert_eq!(entry["history"][0]["staffId"], Value::Null);
    assert_eq!(entry["history"][1]["staffId"], dpo.to_string());
    assert_eq!(entry["history"][1]["reply"], REPLY);
    let mine = person.graphql(&app, MINE, json!({})).await;
    assert_eq!(mine["data"]["me"]["privacyTickets"][0]["status"], "CLOSED");
    assert_eq!(
        actions(&app, "privacy_ticket.answer").await,
        2,
        "refusals record nothing"
    );
}

#[tokio::test]
async fn an_anonymous_sender_gets_the_reply_at_the_address_they_gave_and_it_is_stored_sealed() {
    let server = SmtpServer::start(Reply::Accept);
    let app = TestApp::spawn_mailing(|settings| mail_to(&server, settings)).await;
    let ticket = id_of(
        &app.graphql(None, CONTACT, message(Some("anon.sender@example.com")))
            .await,
        "contactPrivacyOfficer",
    );
    let (_, dpo_token) = dpo(&app).await;
    let body = app
        .graphql(
            Some(&dpo_token),
            ANSWER,
            json!({ "id": ticket, "m": REPLY }),
        )
        .await;
    assert_eq!(
        body["data"]["answerPrivacyTicket"]["status"], "ANSWERED",
        "{body}"
    );

    let (mail, to) = reply_mail(&server).await;
    assert_eq!(to, ["anon.sender@example.com"]);
    let (vault, _) = app.keys().await;
    let index = vault.blind_index(
        icecone_app::accounts::EMAIL_INDEX,
        b"anon.sender@example.com",
    );
    let rows = app
        .db
        .store()
        .notifications_to_address(&index)
        .await
        .expect("outbox");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].account, None);
    assert_reply_mail(
        &mail,
        "anon.sender@example.com",
        &ticket,
        &rows[0].id.to_string(),
    );
    for _ in 0..100 {
        let rows = app
            .db
            .store()
            .notifications_to_address(&index)
            .await
            .expect("outbox");
        if rows[0].delivered_at.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let raw = app.db.raw_bytes().await;
    for secret in [&b"anon.sender@example.com"[..], b"delete it on request"] {
        assert!(
            !raw.windows(secret.len()).any(|window| window == secret),
            "the address and the reply are stored encrypted"
        );
    }
}

#[tokio::test]
async fn only_a_dpo_with_a_fresh_second_factor_answers_and_bad_input_changes_nothing() {
    let app = TestApp::spawn().await;
    let person = app.person("asker@example.com").await;
    let ticket = id_of(
        &person.graphql(&app, CONTACT, message(None)).await,
        "contactPrivacyOfficer",
    );
    let (dpo, fresh) = dpo(&app).await;
    let stale = app.mint_token(dpo, STALE).await;
    let StaffMember { id: support, .. } = app
        .staff_member("support@example.com", StaffRole::Support)
        .await;
    let support = app.mint_token(support, FRESH).await;
    let answer = |id: &str, text: &str| json!({ "id": id, "m": text });

    for (token, expected) in [
        (Some(stale.as_str()), "REAUTHENTICATION_REQUIRED"),
        (Some(support.as_str()), "FORBIDDEN"),
        (Some(person.access_token.as_str()), "FORBIDDEN"),
        (None, "UNAUTHENTICATED"),
    ] {
        let body = app.graphql(token, ANSWER, answer(&ticket, "A reply")).await;
        assert_eq!(code(&body), expected, "{body}");
        let body = app.graphql(token, CLOSE, json!({ "id": ticket })).await;
        assert_eq!(code(&body), expected, "{body}");
    }
    for (id, text, expected) in [
        (uuid::Uuid::new_v4().to_string(), "A reply", "NOT_FOUND"),
        ("not-an-id".to_owned(), "A reply", "NOT_FOUND"),
        (ticket.clone(), "   ", "BAD_USER_INPUT"),
        (ticket.clone(), &*"x".repeat(5001), "BAD_USER_INPUT"),
    ] {
        let body = app.graphql(Some(&fresh), ANSWER, answer(&id, text)).await;
        assert_eq!(code(&body), expected, "{body}");
    }
    let body = app
        .graphql(
            Some(&fresh),
            CLOSE,
            json!({ "id": uuid::Uuid::new_v4().to_string() }),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND");
    let mine = person.graphql(&app, MINE, json!({})).await;
    assert_eq!(
        mine["data"]["me"]["privacyTickets"][0]["status"], "OPEN",
        "{mine}"
    );
    assert_eq!(
        mine["data"]["me"]["privacyTickets"][0]["replies"],
        json!([])
    );
    assert_eq!(actions(&app, "privacy_ticket.answer").await, 0);
    let body = app
        .graphql(Some(&fresh), ANSWER, answer(&ticket, &"x".repeat(5000)))
        .await;
    assert_eq!(
        body["data"]["answerPrivacyTicket"]["status"], "ANSWERED",
        "{body}"
    );
}

#[tokio::test]
async fn no_reply_text_or_address_reaches_the_logs_while_a_reply_is_sent() {
    let server = SmtpServer::start(Reply::Accept);
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = dir.path().join("smtp-ca.pem");
    std::fs::write(&ca, server.ca_pem()).expect("CA file");
    // The DPO, made as operators make staff: `icecone staff create`.
    let created = {
        use std::io::Write;
        let mut child = icecone(dir.path())
            .args([
                "staff",
                "create",
                "--email",
                "dpo@example.com",
                "--role",
                "DPO",
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("icecone runs");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(b"dpo passphrase for the logs\n")
            .expect("password");
        child.wait_with_output().expect("output")
    };
    assert!(created.status.success(), "{created:?}");
    let uri = String::from_utf8_lossy(&created.stdout).trim().to_owned();
    let secret = uri
        .split("secret=")
        .nth(1)
        .and_then(|rest| rest.split('&').next())
        .expect("secret");
    let secret = icecone_core::identity::totp::TotpSecret::from_bytes(
        &crate::support::totp::base32_decode(secret),
    )
    .expect("secret");

    let port = free_port();
    let mut gateway = BinaryApp::start(dir.path(), port, |command| {
        command
            .env("ICECONE_SMTP_URL", server.starttls_url())
            .env("ICECONE_SMTP_CA_FILE", &ca)
            .env("ICECONE_MAIL_FROM", FROM)
            .env("ICECONE_LOG", "debug");
    })
    .await;
    let client = reqwest::Client::new();
    let endpoint = gateway.url("/graphql");
    let graphql = |token: Option<String>, query: &'static str, variables: Value| {
        let client = client.clone();
        let url = endpoint.clone();
        async move {
            let mut request = client
                .post(url)
                .header("content-type", "application/json")
                .body(json!({ "query": query, "variables": variables }).to_string());
            if let Some(token) = token {
                request = request.header("authorization", format!("Bearer {token}"));
            }
            request
                .send()
                .await
                .expect("answer")
                .json::<Value>()
                .await
                .expect("json")
        }
    };
    let sentinel = "logs.sentinel@example.com";
    let ticket = id_of(
        &graphql(None, CONTACT, message(Some(sentinel))).await,
        "contactPrivacyOfficer",
    );
    let logged_in = graphql(
        None,
        "mutation L($e: String!, $p: String!) { logIn(email: $e, password: $p) { \
         ... on MfaChallenge { challenge } } }",
        json!({ "e": "dpo@example.com", "p": "dpo passphrase for the logs" }),
    )
    .await;
    let challenge = logged_in["data"]["logIn"]["challenge"]
        .as_str()
        .unwrap_or_else(|| panic!("{logged_in}"))
        .to_owned();
    let completed = graphql(
        None,
        "mutation C($c: String!, $k: String!) { completeMfa(challenge: $c, code: $k) { accessToken } }",
        json!({ "c": challenge, "k": crate::support::totp::code_at(&secret, 0) }),
    )
    .await;
    let token = completed["data"]["completeMfa"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{completed}"))
        .to_owned();
    let reply = "logsentinelreply nothing is kept";
    let answered = graphql(Some(token), ANSWER, json!({ "id": ticket, "m": reply })).await;
    assert_eq!(
        answered["data"]["answerPrivacyTicket"]["status"], "ANSWERED",
        "{answered}"
    );
    let (mail, _) = reply_mail(&server).await;
    assert!(mail.text.contains(reply));
    tokio::time::sleep(icecone_app::notify::DELIVERY_INTERVAL * 2).await;
    let status = gateway.terminate();
    assert!(status.success(), "{status}");
    let output = gateway.output();
    assert!(
        output.contains("e-mail goes to the mail server"),
        "{output}"
    );
    for secret in [
        sentinel,
        "logsentinelreply",
        "What do you keep",
        "Please tell me",
    ] {
        assert!(
            !output.contains(secret),
            "{secret} reached the logs: {output}"
        );
    }
}

#[tokio::test]
async fn an_erased_persons_anonymous_tickets_go_with_their_history_and_replies_after_the_export_showed_them()
 {
    let app = TestApp::spawn_with(|settings| {
        settings.erasure_grace = "0s".to_owned();
        settings.job_poll_interval_ms = 100;
    })
    .await;
    let mut tickets = Vec::new();
    for email in ["gina.erased@example.com", "hal.kept@example.com"] {
        tickets.push(id_of(
            &app.graphql(None, CONTACT, message(Some(email))).await,
            "contactPrivacyOfficer",
        ));
    }
    let gina = app.person("gina.erased@example.com").await;
    let (_, dpo_token) = dpo(&app).await;
    for ticket in &tickets {
        let body = app
            .graphql(
                Some(&dpo_token),
                ANSWER,
                json!({ "id": ticket, "m": REPLY }),
            )
            .await;
        assert_eq!(
            body["data"]["answerPrivacyTicket"]["status"], "ANSWERED",
            "{body}"
        );
    }
    // Her anonymous message is hers once her address is verified: shown with its reply.
    let mine = gina.graphql(&app, MINE, json!({})).await;
    assert_eq!(
        mine["data"]["me"]["privacyTickets"][0]["replies"][0]["message"], REPLY,
        "{mine}"
    );
    let document = crate::erasure::export_json(&app, &gina.access_token).await;
    let exported = &document["privacyTickets"][0];
    assert_eq!(exported["id"], tickets[0].as_str());
    assert_eq!(exported["status"], "ANSWERED");
    assert_eq!(
        exported["history"],
        json!([
            { "at": exported["history"][0]["at"], "kind": "RECEIVED", "reply": null },
            { "at": exported["history"][1]["at"], "kind": "ANSWERED", "reply": REPLY },
        ]),
        "no staff id"
    );
    let replies = document["notifications"]
        .as_array()
        .expect("notifications")
        .iter()
        .filter(|n| n["kind"] == "privacy_ticket_answered")
        .count();
    assert_eq!(replies, 1, "the reply to her address is in her export");

    let (vault, _) = app.keys().await;
    let index =
        |email: &str| vault.blind_index(icecone_app::accounts::EMAIL_INDEX, email.as_bytes());
    let store = app.db.store();
    let deletion = crate::erasure::request_deletion(
        &app,
        &gina.access_token,
        crate::support::app::PASSWORD,
        None,
    )
    .await;
    crate::erasure::wait_for_tombstone(&app, crate::erasure::request_id(&deletion)).await;

    assert!(
        store
            .notifications_to_address(&index("gina.erased@example.com"))
            .await
            .expect("outbox")
            .is_empty(),
        "her queued reply went with her"
    );
    assert_eq!(
        store
            .notifications_to_address(&index("hal.kept@example.com"))
            .await
            .expect("outbox")
            .len(),
        1
    );
    let ids: Vec<uuid::Uuid> = tickets.iter().map(|t| t.parse().expect("id")).collect();
    let history = store.privacy_ticket_events(&ids).await.expect("history");
    assert!(
        history.iter().all(|event| event.ticket == ids[1]),
        "{history:?}"
    );
    assert_eq!(history.len(), 2, "hal's ticket keeps its history");
    let left: Vec<uuid::Uuid> = store
        .privacy_tickets()
        .await
        .expect("tickets")
        .into_iter()
        .map(|ticket| ticket.id)
        .collect();
    assert_eq!(left, [ids[1]]);
}

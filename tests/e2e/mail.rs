//! E-mail delivery against a real SMTP server started by the test (STARTTLS on a test
//! certificate): whole messages, the verification link's page, retries, suppression, and
//! what reaches the logs.

use std::time::Duration;

use icecone_core::identity::policy::CURRENT_POLICY_VERSION;
use icecone_gateway::config::Settings;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::app::{PASSWORD, TestApp};
use crate::support::binary::{BinaryApp, free_port};
use crate::support::smtp::{Mail, Reply, SmtpServer};

const SIGN_UP: &str = "mutation S($i: SignUpInput!) { signUp(input: $i) { accessToken } }";
const RESEND: &str = "mutation { resendVerificationEmail }";
const ME: &str = "{ me { id emailVerified } }";
const LOG_IN: &str = "mutation L($e: String!, $p: String!) { logIn(email: $e, password: $p) { \
    __typename ... on AuthSession { accessToken } } }";
pub(crate) const FROM: &str = "IceCone <no-reply@icecone.example>";

/// Points the gateway at `server` over STARTTLS, trusting its certificate.
pub(crate) fn mail_to(server: &SmtpServer, settings: &mut Settings) {
    std::fs::create_dir_all(&settings.data_dir).expect("data dir");
    let ca = settings.data_dir.join("smtp-ca.pem");
    std::fs::write(&ca, server.ca_pem()).expect("CA file");
    settings.smtp_url = Some(server.starttls_url().into());
    settings.smtp_ca_file = Some(ca);
    settings.mail_from = Some(FROM.to_owned());
}

/// Signs `email` up; the access token and the account id.
pub(crate) async fn sign_up(app: &TestApp, email: &str) -> (String, Uuid) {
    let body = app
        .graphql(
            None,
            SIGN_UP,
            json!({ "i": { "email": email, "password": PASSWORD,
                           "acceptedPolicyVersion": CURRENT_POLICY_VERSION } }),
        )
        .await;
    let token = body["data"]["signUp"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned();
    let me = app.graphql(Some(&token), ME, json!({})).await;
    let id = me["data"]["me"]["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("{me}"));
    (token, id)
}

/// The verification link in a mail's plain-text part.
fn link_in(text: &str) -> String {
    text.lines()
        .find(|line| line.contains("/verify-email?token="))
        .unwrap_or_else(|| panic!("no link in {text}"))
        .trim()
        .to_owned()
}

/// Waits (up to 15 s) until `done` holds for the account's notifications.
async fn wait_for_outbox(
    app: &TestApp,
    account: Uuid,
    done: impl Fn(&[icecone_store::outbox::NotificationRecord]) -> bool,
) -> Vec<icecone_store::outbox::NotificationRecord> {
    for _ in 0..300 {
        let rows = app
            .db
            .store()
            .notifications_of(account)
            .await
            .expect("outbox");
        if done(&rows) {
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the outbox did not reach the expected state");
}

#[tokio::test]
async fn sign_up_journey_receives_the_link_over_smtp_follows_it_and_logs_in() {
    let server = SmtpServer::start(Reply::Accept);
    let app = TestApp::spawn_mailing(|settings| mail_to(&server, settings)).await;
    let (_, account) = sign_up(&app, "journey@example.com").await;

    let received = server.wait_for(1).await.remove(0);
    assert!(received.tls, "the message came after STARTTLS");
    assert_eq!(received.from, "no-reply@icecone.example");
    assert_eq!(received.to, ["journey@example.com"]);
    let mail = Mail::parse(&received.data);
    let outbox = wait_for_outbox(&app, account, |rows| rows[0].delivered_at.is_some()).await;
    assert_eq!(outbox.len(), 1);
    assert_eq!(mail.header("From"), Some(FROM));
    assert_eq!(mail.header("To"), Some("journey@example.com"));
    assert_eq!(
        mail.header("Subject"),
        Some("Confirm your e-mail address for IceCone")
    );
    assert_eq!(
        mail.header("Message-ID"),
        Some(format!("<{}@icecone.example>", outbox[0].id).as_str()),
        "the Message-ID is derived from the outbox row"
    );
    assert!(mail.header("Date").is_some());
    assert_eq!(mail.header("MIME-Version"), Some("1.0"));
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
        ],
        "no other header (no tracking, no list headers)"
    );
    let link = link_in(&mail.text);
    let prefix = app.url("/verify-email?token=");
    assert!(link.starts_with(&prefix), "{link}");
    assert!(mail.text.contains("finish signing up"), "{}", mail.text);
    assert!(
        mail.html
            .contains(&format!("<a href=\"{link}\">Confirm my address</a>")),
        "{}",
        mail.html
    );
    for remote in ["<img", "src=", "<script", "<link"] {
        assert!(!mail.html.contains(remote), "{}", mail.html);
    }
    assert!(!mail.text.contains("journey@") && !mail.html.contains("journey@"));

    // A prefetching scanner's GETs show the page and leave the token valid.
    for _ in 0..2 {
        let page = app.send(app.client.get(&link)).await;
        assert_eq!(page.status, 200);
        assert!(page.content_type.starts_with("text/html"));
        assert!(
            page.text
                .contains("<form method=\"post\" action=\"/verify-email\">")
        );
        assert_eq!(page.headers["referrer-policy"], "no-referrer");
        assert_eq!(page.headers["cache-control"], "no-store");
    }
    let token = link.strip_prefix(&prefix).expect("prefix").to_owned();
    let used = app
        .send(
            app.client
                .post(app.url("/verify-email"))
                .form(&[("token", token.as_str())]),
        )
        .await;
    assert_eq!(used.status, 200, "{}", used.text);
    assert!(used.text.contains("confirmed"), "{}", used.text);
    let again = app
        .send(
            app.client
                .post(app.url("/verify-email"))
                .form(&[("token", token.as_str())]),
        )
        .await;
    assert_eq!(
        again.status, 400,
        "a used link, as verifyEmail answers BAD_USER_INPUT"
    );
    assert!(again.text.contains("used already"), "{}", again.text);
    let unknown = app
        .send(
            app.client
                .post(app.url("/verify-email"))
                .form(&[("token", "not-a-token")]),
        )
        .await;
    assert_eq!(unknown.status, 400);

    let logged_in = app
        .graphql(
            None,
            LOG_IN,
            json!({ "e": "journey@example.com", "p": PASSWORD }),
        )
        .await;
    assert_eq!(
        logged_in["data"]["logIn"]["__typename"], "AuthSession",
        "{logged_in}"
    );
}

#[tokio::test]
async fn an_unreachable_mail_server_leaves_the_message_queued_until_it_answers() {
    let port = free_port();
    let placeholder = SmtpServer::start(Reply::Accept);
    let app = TestApp::spawn_mailing(|settings| {
        mail_to(&placeholder, settings);
        settings.smtp_url = Some(format!("smtp://127.0.0.1:{port}?tls=required").into());
    })
    .await;
    let (_, account) = sign_up(&app, "patient@example.com").await;
    let rows = wait_for_outbox(&app, account, |rows| rows[0].attempts >= 2).await;
    assert_eq!(rows[0].delivered_at, None);
    assert_eq!(
        rows[0].given_up_at, None,
        "a connection failure is temporary"
    );

    // The server comes up on that port, with the certificate the gateway trusts.
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).expect("the port");
    let server = placeholder_with_listener(&placeholder, listener);
    let received = server.wait_for(1).await;
    assert_eq!(received[0].to, ["patient@example.com"]);
    wait_for_outbox(&app, account, |rows| rows[0].delivered_at.is_some()).await;
}

/// A server on `listener` presenting the certificate `like`'s clients trust.
fn placeholder_with_listener(like: &SmtpServer, listener: std::net::TcpListener) -> SmtpServer {
    SmtpServer::start_on_with_identity(listener, Reply::Accept, like)
}

#[tokio::test]
async fn a_temporary_refusal_is_retried_and_the_message_arrives_once() {
    let server = SmtpServer::start(Reply::TemporaryFor(2));
    let app = TestApp::spawn_mailing(|settings| mail_to(&server, settings)).await;
    let (_, account) = sign_up(&app, "later@example.com").await;
    let received = server.wait_for(1).await;
    assert_eq!(received[0].to, ["later@example.com"]);
    let rows = wait_for_outbox(&app, account, |rows| rows[0].delivered_at.is_some()).await;
    assert_eq!(rows[0].attempts, 3, "two 451s, then accepted");
    assert_eq!(rows[0].given_up_at, None);
    tokio::time::sleep(icecone_app::notify::DELIVERY_INTERVAL * 3).await;
    assert_eq!(server.accepted(), 1, "delivered once");
}

#[tokio::test]
async fn a_permanent_refusal_suppresses_the_address_and_later_mail_is_not_attempted() {
    let server = SmtpServer::start(Reply::Permanent);
    let app = TestApp::spawn_mailing(|settings| mail_to(&server, settings)).await;
    let (token, account) = sign_up(&app, "gone@example.com").await;
    let rows = wait_for_outbox(&app, account, |rows| rows[0].given_up_at.is_some()).await;
    assert_eq!(rows[0].delivered_at, None);
    assert_eq!(rows[0].attempts, 1, "a 550 is not retried");
    let tried = server.recipients_tried();
    assert_eq!(tried, 1);

    // The server would accept now, but the address is suppressed: nothing is attempted.
    server.set_reply(Reply::Accept);
    let resent: Value = app.graphql(Some(&token), RESEND, json!({})).await;
    assert_eq!(resent["data"]["resendVerificationEmail"], true, "{resent}");
    let rows = wait_for_outbox(&app, account, |rows| {
        rows.len() == 2 && rows.iter().all(|row| row.given_up_at.is_some())
    })
    .await;
    assert!(rows.iter().all(|row| row.delivered_at.is_none()));
    tokio::time::sleep(icecone_app::notify::DELIVERY_INTERVAL * 2).await;
    assert_eq!(server.recipients_tried(), tried, "no delivery attempted");
    assert!(server.received().is_empty());
}

#[tokio::test]
async fn no_token_or_address_reaches_the_logs_while_mail_is_sent() {
    let server = SmtpServer::start(Reply::Accept);
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = dir.path().join("smtp-ca.pem");
    std::fs::write(&ca, server.ca_pem()).expect("CA file");
    let port = free_port();
    let mut gateway = BinaryApp::start(dir.path(), port, |command| {
        command
            .env("ICECONE_SMTP_URL", server.starttls_url())
            .env("ICECONE_SMTP_CA_FILE", &ca)
            .env("ICECONE_MAIL_FROM", FROM)
            .env("ICECONE_LOG", "debug");
    })
    .await;
    let sentinel = "mail.sentinel@example.com";
    gateway.sign_up(sentinel, "sentinel passphrase 42").await;
    let received = server.wait_for(1).await;
    let mail = Mail::parse(&received[0].data);
    let link = link_in(&mail.text);
    let token = link.split("token=").nth(1).expect("token").to_owned();
    let page = reqwest::Client::new()
        .get(&link)
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), 200);
    tokio::time::sleep(icecone_app::notify::DELIVERY_INTERVAL * 2).await;
    let status = gateway.terminate();
    assert!(status.success(), "{status}");
    let output = gateway.output();
    assert!(
        output.contains("e-mail goes to the mail server"),
        "{output}"
    );
    for secret in [sentinel, token.as_str(), "sentinel passphrase 42"] {
        assert!(
            !output.contains(secret),
            "{secret} reached the logs: {output}"
        );
    }
}

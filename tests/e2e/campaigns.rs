//! Mail campaigns against a real SMTP server (STARTTLS): product news reaches only the
//! verified accounts whose marketing consent counts, with RFC 8058 one-click unsubscribe
//! headers and a visible link; the one-click POST withdraws marketing without a log-in;
//! service announcements reach every verified, unrestricted account; the suppression list
//! as staff see it.

use std::time::Duration;

use chrono::Utc;
use icecone_app::accounts::EMAIL_INDEX;
use icecone_core::identity::roles::StaffRole;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::mail::{mail_to, sign_up};
use crate::staff_console::actions;
use crate::support::app::{FRESH, Person, TestApp, code};
use crate::support::smtp::{Mail, Received, Reply, SmtpServer};

const NEWS: &str = "mutation N($s: String!, $t: String!) { sendProductNews(subject: $s, text: $t) \
    { id kind subject queuedFor createdAt } }";
const ANNOUNCEMENT: &str = "mutation N($s: String!, $t: String!) { \
    sendServiceAnnouncement(subject: $s, text: $t) { id kind subject queuedFor createdAt } }";
const CONSENTS: &str = "{ me { consents { purpose granted source } } }";

/// The person's current `MARKETING` consent (`granted`, `source`).
async fn marketing(app: &TestApp, token: &str) -> Value {
    let body = app.graphql(Some(token), CONSENTS, json!({})).await;
    body["data"]["me"]["consents"]
        .as_array()
        .and_then(|all| all.iter().find(|c| c["purpose"] == "MARKETING"))
        .cloned()
        .unwrap_or_else(|| panic!("no MARKETING in {body}"))
}

/// A registered, signed-in person who agreed to marketing.
async fn consenting(app: &TestApp, email: &str) -> Person {
    let person = app.person(email).await;
    let body = app
        .set_consent(&person.access_token, "MARKETING", true)
        .await;
    assert_eq!(body["data"]["setConsent"]["granted"], true, "{body}");
    person
}

/// The messages the server accepted whose subject is `subject`.
fn with_subject(server: &SmtpServer, subject: &str) -> Vec<(Received, Mail)> {
    server
        .received()
        .into_iter()
        .map(|received| {
            let mail = Mail::parse(&received.data);
            (received, mail)
        })
        .filter(|(_, mail)| mail.header("Subject") == Some(subject))
        .collect()
}

/// Waits (up to 15 s) for `count` messages with `subject`, then a few delivery rounds more
/// so that one too many would show.
async fn settle(server: &SmtpServer, subject: &str, count: usize) -> Vec<(Received, Mail)> {
    for _ in 0..300 {
        if with_subject(server, subject).len() >= count {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(icecone_app::notify::DELIVERY_INTERVAL * 3).await;
    with_subject(server, subject)
}

#[tokio::test]
async fn product_news_reaches_only_consenting_verified_accounts_once_with_one_click_unsubscribe() {
    let server = SmtpServer::start(Reply::Accept);
    let app = TestApp::spawn_mailing(|settings| mail_to(&server, settings)).await;

    let yes = consenting(&app, "yes@example.com").await;
    app.person("never@example.com").await;
    let objected = consenting(&app, "objected@example.com").await;
    let body = objected
        .graphql(
            &app,
            "mutation { objectToProcessing(purpose: MARKETING) { granted } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["data"]["objectToProcessing"]["granted"], false,
        "{body}"
    );
    let restricted = consenting(&app, "restricted@example.com").await;
    let body = restricted
        .graphql(
            &app,
            "mutation { restrictProcessing(restricted: true) { processingRestricted } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["data"]["restrictProcessing"]["processingRestricted"], true,
        "{body}"
    );
    let gpc = consenting(&app, "gpc@example.com").await;
    let answer = app
        .send(
            app.client
                .post(app.url("/graphql"))
                .header("content-type", "application/json")
                .header("authorization", format!("Bearer {}", gpc.access_token))
                .header("sec-gpc", "1")
                .body(json!({ "query": CONSENTS }).to_string()),
        )
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(marketing(&app, &gpc.access_token).await["source"], "GPC");
    let (unverified_token, _) = sign_up(&app, "unverified@example.com").await;
    let body = app.set_consent(&unverified_token, "MARKETING", true).await;
    assert_eq!(body["data"]["setConsent"]["granted"], true, "{body}");
    let suppressed = consenting(&app, "suppressed@example.com").await;
    let (vault, _) = app.keys().await;
    let index = vault.blind_index(EMAIL_INDEX, b"suppressed@example.com");
    app.db
        .store()
        .suppress_address(&index, suppressed.id, 550, Utc::now())
        .await
        .expect("suppressed");

    let admin = app.admin("admin@icecone.example").await;
    let subject = "IceCone news: <video> & more";
    let text =
        "New video models are here.\nTry them today.\n\nPrompts <b>can</b> be longer & richer.";
    let sent = app
        .graphql(Some(&admin.fresh), NEWS, json!({ "s": subject, "t": text }))
        .await;
    let campaign = &sent["data"]["sendProductNews"];
    assert_eq!(campaign["kind"], "PRODUCT_NEWS", "{sent}");
    assert_eq!(campaign["subject"], subject);
    assert_eq!(
        campaign["queuedFor"], 1,
        "only yes@ is in the audience: {sent}"
    );

    let received = settle(&server, subject, 1).await;
    assert_eq!(received.len(), 1);
    let (envelope, mail) = &received[0];
    assert!(envelope.tls);
    assert_eq!(envelope.to, ["yes@example.com"]);

    // Sending the same campaign again (a retried request) queues and sends nothing new.
    let again = app
        .graphql(Some(&admin.fresh), NEWS, json!({ "s": subject, "t": text }))
        .await;
    assert_eq!(
        again["data"]["sendProductNews"]["id"], campaign["id"],
        "{again}"
    );
    assert_eq!(again["data"]["sendProductNews"]["queuedFor"], 1);
    assert_eq!(settle(&server, subject, 2).await.len(), 1, "delivered once");
    assert_eq!(
        actions(&app, "mail.send_product_news").await,
        2,
        "each send audited"
    );

    // The whole message.
    let outbox = app
        .db
        .store()
        .notifications_of(yes.id)
        .await
        .expect("outbox");
    let row = outbox
        .iter()
        .find(|row| row.kind == "product_news")
        .expect("the news in the outbox");
    assert!(row.delivered_at.is_some());
    let prefix = app.url("/unsubscribe?token=");
    let header = mail.header("List-Unsubscribe").expect("List-Unsubscribe");
    let link = header
        .strip_prefix('<')
        .and_then(|rest| rest.strip_suffix('>'))
        .unwrap_or_else(|| panic!("one URI in angle brackets: {header}"))
        .to_owned();
    assert!(link.starts_with(&prefix), "{link}");
    let token = link.strip_prefix(&prefix).expect("prefix").to_owned();
    assert_eq!(token.len(), 64, "{token}");
    assert_eq!(
        mail.header("List-Unsubscribe-Post"),
        Some("List-Unsubscribe=One-Click")
    );
    assert_eq!(
        mail.header("Message-ID"),
        Some(format!("<{}@icecone.example>", row.id).as_str())
    );
    assert_eq!(mail.header("To"), Some("yes@example.com"));
    assert_eq!(
        mail.header_names(),
        [
            "Message-ID",
            "From",
            "To",
            "Subject",
            "Date",
            "List-Unsubscribe",
            "List-Unsubscribe-Post",
            "MIME-Version",
            "Content-Type"
        ]
    );
    // Quoted-printable carries the part's line ends as CRLF.
    let text = mail.text.replace("\r\n", "\n");
    assert!(
        text.starts_with(
            "New video models are here.\nTry them today.\n\nPrompts <b>can</b> be longer & richer.\n\n"
        ),
        "{}",
        mail.text
    );
    assert!(
        text.contains(&format!("Unsubscribe from IceCone's product news:\n{link}")),
        "{text}"
    );
    assert!(
        mail.html
            .contains("<p>Prompts &lt;b&gt;can&lt;/b&gt; be longer &amp; richer.</p>"),
        "{}",
        mail.html
    );
    assert!(
        mail.html.contains(&format!(
            "<a href=\"{link}\">Unsubscribe from IceCone&#39;s product news</a>"
        )),
        "{}",
        mail.html
    );
    for remote in ["<img", "src=", "<script", "<link"] {
        assert!(!mail.html.contains(remote), "{}", mail.html);
    }

    // A scanner's GET shows the page and changes nothing.
    let page = app.send(app.client.get(&link)).await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("<form method=\"post\""), "{}", page.text);
    assert_eq!(page.headers["cache-control"], "no-store");
    assert_eq!(marketing(&app, &yes.access_token).await["granted"], true);

    // A forged token is refused and changes nothing.
    let mut forged = token.clone().into_bytes();
    forged[63] = if forged[63] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).expect("ascii");
    for bad in [forged.as_str(), "not-a-token", ""] {
        let refused = app
            .send(
                app.client
                    .post(format!("{prefix}{bad}"))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body("List-Unsubscribe=One-Click"),
            )
            .await;
        assert_eq!(refused.status, 400, "{bad}");
        assert!(refused.text.contains("not valid"), "{}", refused.text);
    }
    assert_eq!(marketing(&app, &yes.access_token).await["granted"], true);

    // The mail client's one-click POST, exactly as RFC 8058 writes it: no cookie, no login.
    for _ in 0..2 {
        let done = app
            .send(
                reqwest::Client::new()
                    .post(&link)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body("List-Unsubscribe=One-Click"),
            )
            .await;
        assert_eq!(done.status, 200, "{}", done.text);
        assert!(done.text.contains("unsubscribed"), "{}", done.text);
    }
    let now = marketing(&app, &yes.access_token).await;
    assert_eq!(now["granted"], false, "{now}");
    assert_eq!(now["source"], "UNSUBSCRIBE");
    let ledger = app
        .db
        .store()
        .consent_entries(yes.id)
        .await
        .expect("ledger");
    assert_eq!(
        ledger
            .iter()
            .filter(|entry| entry.source.as_str() == "UNSUBSCRIBE")
            .count(),
        1,
        "the second click records nothing"
    );
    // The token did nothing else: the other consents and the account are as they were.
    let body = app
        .graphql(Some(&yes.access_token), "{ me { id } }", json!({}))
        .await;
    assert_eq!(body["data"]["me"]["id"], yes.id.to_string(), "{body}");
}

#[tokio::test]
async fn a_service_announcement_reaches_verified_accounts_without_marketing_consent_but_no_restricted_one()
 {
    let server = SmtpServer::start(Reply::Accept);
    let app = TestApp::spawn_mailing(|settings| mail_to(&server, settings)).await;
    app.person("plain@example.com").await;
    let restricted = app.person("held@example.com").await;
    let body = restricted
        .graphql(
            &app,
            "mutation { restrictProcessing(restricted: true) { processingRestricted } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["data"]["restrictProcessing"]["processingRestricted"], true,
        "{body}"
    );
    sign_up(&app, "unconfirmed@example.com").await;
    let admin = app.admin("admin@icecone.example").await;

    let subject = "Planned maintenance on Sunday";
    let sent = app
        .graphql(
            Some(&admin.fresh),
            ANNOUNCEMENT,
            json!({ "s": subject, "t": "IceCone is unavailable from 02:00 to 03:00 UTC." }),
        )
        .await;
    assert_eq!(
        sent["data"]["sendServiceAnnouncement"]["kind"], "SERVICE_ANNOUNCEMENT",
        "{sent}"
    );
    assert_eq!(
        sent["data"]["sendServiceAnnouncement"]["queuedFor"], 1,
        "{sent}"
    );
    assert_eq!(actions(&app, "mail.send_service_announcement").await, 1);

    let received = settle(&server, subject, 1).await;
    assert_eq!(received.len(), 1);
    let (envelope, mail) = &received[0];
    assert_eq!(envelope.to, ["plain@example.com"]);
    assert_eq!(mail.header("List-Unsubscribe"), None);
    assert_eq!(mail.header("List-Unsubscribe-Post"), None);
    let text = mail.text.replace("\r\n", "\n");
    assert!(
        text.starts_with("IceCone is unavailable from 02:00 to 03:00 UTC.\n\n"),
        "{}",
        mail.text
    );
    assert!(
        mail.text.contains("because you have an IceCone account"),
        "{}",
        mail.text
    );
    assert!(!mail.text.contains("/unsubscribe") && !mail.html.contains("/unsubscribe"));
}

#[tokio::test]
async fn campaigns_need_an_admin_with_a_fresh_second_factor_and_valid_text() {
    let app = TestApp::spawn().await;
    let admin = app.admin("admin@icecone.example").await;
    let support = app
        .staff_member("support@icecone.example", StaffRole::Support)
        .await;
    let support = app.mint_token(support.id, FRESH).await;
    let person = app.person("someone@example.com").await;
    let variables = json!({ "s": "News", "t": "Hello" });
    for query in [NEWS, ANNOUNCEMENT] {
        let stale = app
            .graphql(Some(&admin.stale), query, variables.clone())
            .await;
        assert_eq!(code(&stale), "REAUTHENTICATION_REQUIRED", "{stale}");
        let body = app.graphql(Some(&support), query, variables.clone()).await;
        assert_eq!(code(&body), "FORBIDDEN", "{body}");
        let body = person.graphql(&app, query, variables.clone()).await;
        assert_ne!(code(&body), "none", "a person cannot send: {body}");
        let anonymous = app.graphql(None, query, variables.clone()).await;
        assert_ne!(code(&anonymous), "none", "{anonymous}");
        for (subject, text, argument) in [
            ("  ", "Hello", "subject"),
            ("two\nlines", "Hello", "subject"),
            ("News", "", "text"),
        ] {
            let body = app
                .graphql(
                    Some(&admin.fresh),
                    query,
                    json!({ "s": subject, "t": text }),
                )
                .await;
            assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
            let message = body["errors"][0]["message"].as_str().unwrap_or_default();
            assert!(message.starts_with(argument), "{message}");
        }
    }
    assert_eq!(actions(&app, "mail.send_product_news").await, 0);
    assert_eq!(actions(&app, "mail.send_service_announcement").await, 0);
}

#[tokio::test]
async fn staff_see_suppressed_addresses_and_an_admin_lifts_a_suppression() {
    let app = TestApp::spawn().await;
    let person = app.person("bounced@example.com").await;
    let other = app.person("fine@example.com").await;
    let (vault, _) = app.keys().await;
    let index = vault.blind_index(EMAIL_INDEX, b"bounced@example.com");
    app.db
        .store()
        .suppress_address(&index, person.id, 550, Utc::now())
        .await
        .expect("suppressed");
    let support = app
        .staff_member("support@icecone.example", StaffRole::Support)
        .await;
    let support = app.mint_token(support.id, FRESH).await;
    let admin = app.admin("admin@icecone.example").await;

    let list = app
        .graphql(
            Some(&support),
            "{ mailSuppressions { accountId replyCode suppressedAt } }",
            json!({}),
        )
        .await;
    let entries = list["data"]["mailSuppressions"]
        .as_array()
        .unwrap_or_else(|| panic!("{list}"));
    assert_eq!(entries.len(), 1, "{list}");
    assert_eq!(entries[0]["accountId"], person.id.to_string());
    assert_eq!(entries[0]["replyCode"], 550);
    assert!(!list.to_string().contains("bounced@"), "{list}");
    assert_eq!(
        actions(&app, "mail.read_suppressions").await,
        1,
        "an audited read"
    );

    let view = |id: Uuid| {
        let app = &app;
        let support = support.clone();
        async move {
            let body = app
                .graphql(
                    Some(&support),
                    "query S($id: ID!) { staffAccount(id: $id, reason: \"ticket 4711: bounced mail\") { mailSuppressed } }",
                    json!({ "id": id.to_string() }),
                )
                .await;
            body["data"]["staffAccount"]["mailSuppressed"]
                .as_bool()
                .unwrap_or_else(|| panic!("{body}"))
        }
    };
    assert!(view(person.id).await);
    assert!(!view(other.id).await);

    const LIFT: &str = "mutation L($a: ID!) { liftMailSuppression(accountId: $a) }";
    let body = app
        .graphql(Some(&support), LIFT, json!({ "a": person.id.to_string() }))
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    let body = app
        .graphql(
            Some(&admin.stale),
            LIFT,
            json!({ "a": person.id.to_string() }),
        )
        .await;
    assert_eq!(code(&body), "REAUTHENTICATION_REQUIRED", "{body}");
    let body = app
        .graphql(
            Some(&admin.fresh),
            LIFT,
            json!({ "a": person.id.to_string() }),
        )
        .await;
    assert_eq!(body["data"]["liftMailSuppression"], true, "{body}");
    assert_eq!(actions(&app, "mail.lift_suppression").await, 1);
    assert!(!view(person.id).await);
    let again = app
        .graphql(
            Some(&admin.fresh),
            LIFT,
            json!({ "a": person.id.to_string() }),
        )
        .await;
    assert_eq!(code(&again), "BAD_USER_INPUT", "{again}");
    let unknown = app
        .graphql(
            Some(&admin.fresh),
            LIFT,
            json!({ "a": Uuid::new_v4().to_string() }),
        )
        .await;
    assert_eq!(code(&unknown), "NOT_FOUND", "{unknown}");
}

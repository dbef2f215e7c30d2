//! A new privacy policy version: every account is told once by e-mail — whatever the
//! number of instances telling it at once — with what changed and the consents to give
//! again, which `me { consentsToRenew }` shows until they are given.

use std::net::SocketAddr;
use std::time::Duration;

use chrono::NaiveDate;
use icecone_app::policy_notice;
use icecone_core::consent::Purpose;
use icecone_core::consent::policy::{HISTORY, PolicyHistory, PublishedPolicy};
use icecone_gateway::config::{Config, Settings};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::mail::{FROM, mail_to};
use crate::support::app::{Factor, TestApp};
use crate::support::smtp::{Mail, Reply, SmtpServer};

const PUBLIC_URL: &str = "https://icecone.example";

/// A second version that changed what marketing covers.
const SECOND: PublishedPolicy = PublishedPolicy {
    version: "2026-12-15",
    effective_on: match NaiveDate::from_ymd_opt(2026, 12, 15) {
        Some(date) => date,
        None => panic!("date"),
    },
    changed: &[Purpose::Marketing],
    summary: "Marketing e-mails may now tell you about offers of IceCone's partners.",
};

static WITH_SECOND: [PublishedPolicy; 2] = [HISTORY[0], SECOND];

const ME: &str = "{ me { consentsToRenew consents { purpose granted policyVersion } } }";

/// `query` as the bearer of `token`, sent to the instance at `address`.
async fn graphql_at(
    app: &TestApp,
    address: SocketAddr,
    token: &str,
    query: &str,
    variables: Value,
) -> Value {
    app.client
        .post(format!("http://{address}/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .expect("an answer")
        .json()
        .await
        .expect("JSON")
}

fn mailing(server: &SmtpServer, settings: &mut Settings) {
    mail_to(server, settings);
    settings.public_url = Some(PUBLIC_URL.to_owned());
}

/// A registered person with a verified address, and an access token.
async fn someone(app: &TestApp, email: &str) -> (Uuid, String) {
    let id = app.register(email).await;
    (id, app.mint_token(id, Factor::None).await)
}

/// A decoded part as its lines, without the transfer's CRLFs and trailing blank lines.
fn part(text: &str) -> String {
    text.replace("\r\n", "\n").trim_end().to_owned()
}

fn granted(me: &Value, purpose: &str) -> (bool, String) {
    let consent = me["data"]["me"]["consents"]
        .as_array()
        .and_then(|all| all.iter().find(|c| c["purpose"] == purpose))
        .unwrap_or_else(|| panic!("{me}"));
    (
        consent["granted"].as_bool().unwrap_or_default(),
        consent["policyVersion"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

#[tokio::test]
async fn a_new_policy_version_is_told_to_every_account_once_with_the_consents_to_give_again() {
    let server = SmtpServer::start(Reply::Accept);
    let app = TestApp::spawn_mailing(|settings| mailing(&server, settings)).await;
    // Under the first version: Ann consents to marketing and personalisation, Bob to
    // nothing, Cara restricts processing.
    let (ann, ann_token) = someone(&app, "ann@example.com").await;
    for purpose in ["MARKETING", "PERSONALIZATION"] {
        let answer = app.set_consent(&ann_token, purpose, true).await;
        assert_eq!(answer["data"]["setConsent"]["granted"], true, "{answer}");
    }
    let (bob, _) = someone(&app, "bob@example.com").await;
    let (cara, cara_token) = someone(&app, "cara@example.com").await;
    let restricted = app
        .graphql(
            Some(&cara_token),
            "mutation { restrictProcessing(restricted: true) { processingRestricted } }",
            json!({}),
        )
        .await;
    assert_eq!(
        restricted["data"]["restrictProcessing"]["processingRestricted"], true,
        "{restricted}"
    );
    let me = app.graphql(Some(&ann_token), ME, json!({})).await;
    assert_eq!(me["data"]["me"]["consentsToRenew"], json!([]), "{me}");

    // The second version is published: two new instances start at once, and a third
    // runner tells accounts alongside them, a page of one account at a time.
    let history = PolicyHistory::parse(&WITH_SECOND).expect("a valid history");
    let (vault, _) = app.keys().await;
    let with_second = |config: &mut Config| config.policy = history;
    let (first, _second, direct) = tokio::join!(
        app.another_mailing_instance(|s| mailing(&server, s), with_second),
        app.another_mailing_instance(|s| mailing(&server, s), with_second),
        policy_notice::tell_accounts(app.db.store(), &vault, history, 1),
    );
    direct.expect("the direct run");

    let received = server.wait_for(3).await;
    // Every instance delivers every second: give a duplicate time to show.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let received = if server.received().len() > received.len() {
        server.received()
    } else {
        received
    };
    let mut recipients: Vec<String> = received.iter().flat_map(|r| r.to.clone()).collect();
    recipients.sort();
    assert_eq!(
        recipients,
        ["ann@example.com", "bob@example.com", "cara@example.com"],
        "exactly one notice per account, including the one that restricted processing"
    );
    for account in [ann, bob, cara] {
        let outbox = app
            .db
            .store()
            .notifications_of(account)
            .await
            .expect("outbox");
        let notices: Vec<_> = outbox
            .iter()
            .filter(|n| n.kind == "policy_changed")
            .collect();
        assert_eq!(notices.len(), 1, "{account}");
        assert!(notices[0].delivered_at.is_some());
    }

    let mail_to_person = |address: &str| {
        let found = received
            .iter()
            .find(|r| r.to == [address])
            .unwrap_or_else(|| panic!("no mail to {address}"));
        assert!(found.tls, "sent after STARTTLS");
        Mail::parse(&found.data)
    };
    let ann_mail = mail_to_person("ann@example.com");
    assert_eq!(ann_mail.header("From"), Some(FROM));
    assert_eq!(ann_mail.header("To"), Some("ann@example.com"));
    assert_eq!(
        ann_mail.header("Subject"),
        Some("IceCone's privacy policy has changed")
    );
    assert_eq!(
        ann_mail.header_names(),
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
    let changed = "We have changed IceCone's privacy policy. What changed, by version \
                   (each named after the day it took effect):";
    let version = "Version 2026-12-15: Marketing e-mails may now tell you about offers of \
                   IceCone's partners.";
    let renew = "The new version changed what these purposes cover, so the consent you gave \
                 to them no longer counts. Until you give it again, we do not process your data \
                 for them:";
    let marketing = "MARKETING: To send optional marketing communications (with your consent).";
    let where_to = "You can give them again, or leave them off, in your privacy settings.";
    let why = "We send this to every account because the law requires us to tell you how your \
               data is processed, even if you restricted processing or asked not to receive \
               marketing.";
    assert_eq!(
        part(&ann_mail.text),
        format!(
            "{changed}\n\n{version}\n\n{renew}\n\n{marketing}\n\n{where_to}\n\n\
             Review your privacy settings:\n{PUBLIC_URL}/\n\n{why}\n\n-- \nIceCone"
        )
    );
    let escaped = |text: &str| text.replace('\'', "&#39;");
    assert_eq!(
        part(&ann_mail.html),
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\">\
             <title>IceCone&#39;s privacy policy has changed</title></head>\n<body>\n\
             <p>{}</p>\n<p>{}</p>\n<p>{renew}</p>\n<p>{marketing}</p>\n<p>{where_to}</p>\n\
             <p><a href=\"{PUBLIC_URL}/\">Review your privacy settings</a></p>\n<p>{why}</p>\n\
             <p>&#8212;<br>IceCone</p>\n</body>\n</html>",
            escaped(changed),
            escaped(version),
        )
    );
    // Bob consented to nothing and Cara restricted processing: nothing to give again.
    for address in ["bob@example.com", "cara@example.com"] {
        let mail = mail_to_person(address);
        assert_eq!(
            part(&mail.text),
            format!(
                "{changed}\n\n{version}\n\nThe choices you made about your data still count \
                 under the new version: you need do nothing.\n\n\
                 Review your privacy settings:\n{PUBLIC_URL}/\n\n{why}\n\n-- \nIceCone"
            )
        );
        assert!(!mail.text.contains("MARKETING"));
    }

    // `me` shows the consent to give again; the one the version left alone still counts.
    let me = graphql_at(&app, first, &ann_token, ME, json!({})).await;
    assert_eq!(
        me["data"]["me"]["consentsToRenew"],
        json!(["MARKETING"]),
        "{me}"
    );
    assert_eq!(
        granted(&me, "MARKETING"),
        (false, HISTORY[0].version.to_owned())
    );
    assert_eq!(
        granted(&me, "PERSONALIZATION"),
        (true, HISTORY[0].version.to_owned())
    );
    let policy = graphql_at(
        &app,
        first,
        &ann_token,
        "{ privacyPolicy { version summary } }",
        json!({}),
    )
    .await;
    assert_eq!(
        policy["data"]["privacyPolicy"],
        json!({ "version": SECOND.version, "summary": SECOND.summary })
    );

    // Giving it again under the current version clears it.
    let given = graphql_at(
        &app,
        first,
        &ann_token,
        "mutation { setConsent(purpose: MARKETING, granted: true) { granted policyVersion } }",
        json!({}),
    )
    .await;
    assert_eq!(
        given["data"]["setConsent"],
        json!({ "granted": true, "policyVersion": SECOND.version }),
        "{given}"
    );
    let me = graphql_at(&app, first, &ann_token, ME, json!({})).await;
    assert_eq!(me["data"]["me"]["consentsToRenew"], json!([]), "{me}");
    assert_eq!(granted(&me, "MARKETING"), (true, SECOND.version.to_owned()));

    // Told once: nothing more is queued by another run.
    let again = policy_notice::tell_accounts(app.db.store(), &vault, history, 10)
        .await
        .expect("another run");
    assert_eq!(again, 0);
}

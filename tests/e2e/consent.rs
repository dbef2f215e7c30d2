//! Consent over HTTP: the public policy, the ledger behind `me { consents }`, the
//! `@requiresConsent` gate on `Account.personalization` and every way around it that must
//! fail, restriction, objection, Global Privacy Control and the consent gate on
//! notifications. The walks of the schema are in `schema_walks.rs`.

use icecone_app::notify::NotificationKind;
use icecone_core::consent::Purpose;
use icecone_core::consent::ledger::{Change, ConsentSource, LedgerEntry};
use icecone_core::identity::policy::CURRENT_POLICY_VERSION;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::app::{PASSWORD, Person, TestApp, codes};

const PERSONALIZATION: &str =
    "{ me { id personalization { favouriteKinds suggestedPrompts preferredProviders } } }";

/// Asserts the answer withheld personalization with `code` (and, for consent, the purpose)
/// while `me { id }` still resolved.
fn assert_gated(body: &Value, code: &str) {
    assert_eq!(codes(body), [code], "{body}");
    if code == "CONSENT_REQUIRED" {
        assert_eq!(
            body["errors"][0]["extensions"]["purpose"],
            "PERSONALIZATION"
        );
    }
    let text = body.to_string();
    assert!(!text.contains("favouriteKinds\":["), "data leaked: {text}");
}

fn consent_of<'a>(me: &'a Value, purpose: &str) -> &'a Value {
    me["data"]["me"]["consents"]
        .as_array()
        .and_then(|all| all.iter().find(|c| c["purpose"] == purpose))
        .unwrap_or_else(|| panic!("no {purpose} in {me}"))
}

const CONSENTS: &str = "{ me { processingRestricted consents { purpose granted legalBasis source policyVersion objected updatedAt } } }";

#[tokio::test]
async fn the_privacy_policy_is_public_and_names_every_purpose_with_its_legal_basis() {
    let app = TestApp::spawn().await;
    let body = app.graphql(None,
        "{ privacyPolicy { version effectiveOn purposes { purpose legalBasis description dataUse onByDefault withdrawable revisedIn } } }",
        json!({}),
    )
    .await;
    let policy = &body["data"]["privacyPolicy"];
    assert_eq!(policy["version"], CURRENT_POLICY_VERSION, "{body}");
    assert_eq!(policy["effectiveOn"], CURRENT_POLICY_VERSION);
    let purposes = policy["purposes"].as_array().expect("purposes");
    assert_eq!(purposes.len(), Purpose::ALL.len());
    for (row, purpose) in purposes.iter().zip(Purpose::ALL) {
        assert_eq!(row["purpose"], purpose.as_str());
        assert_eq!(row["dataUse"], purpose.data_use());
        assert_eq!(row["onByDefault"], !purpose.needs_consent());
        assert_eq!(row["withdrawable"], purpose.needs_consent());
        assert_eq!(
            row["legalBasis"] == "CONSENT",
            purpose.needs_consent(),
            "{row}"
        );
    }
}

#[tokio::test]
async fn me_lists_every_purpose_and_consents_are_recorded_changed_and_refused_where_they_cannot_be()
{
    let app = TestApp::spawn().await;
    let Person {
        access_token: token,
        ..
    } = app.person("cara@example.com").await;
    let me = app.graphql(Some(&token), CONSENTS, json!({})).await;
    assert_eq!(me["data"]["me"]["processingRestricted"], false, "{me}");
    for purpose in Purpose::ALL {
        let consent = consent_of(&me, purpose.as_str());
        assert_eq!(consent["granted"], !purpose.needs_consent(), "{consent}");
        assert_eq!(consent["source"], "DEFAULT");
        assert_eq!(consent["policyVersion"], Value::Null);
    }

    let given = app.set_consent(&token, "MARKETING", true).await;
    assert_eq!(given["data"]["setConsent"]["granted"], true, "{given}");
    assert_eq!(given["data"]["setConsent"]["source"], "USER");
    let me = app.graphql(Some(&token), CONSENTS, json!({})).await;
    assert_eq!(
        consent_of(&me, "MARKETING")["policyVersion"],
        CURRENT_POLICY_VERSION
    );

    for (purpose, granted) in [("SECURITY", false), ("SERVICE_PROVISION", false)] {
        let refused = app.set_consent(&token, purpose, granted).await;
        assert_eq!(codes(&refused), ["BAD_USER_INPUT"], "{refused}");
    }
    let objected = app
        .graphql(
            Some(&token),
            "mutation { objectToProcessing(purpose: MARKETING) { granted objected } }",
            json!({}),
        )
        .await;
    assert_eq!(
        objected["data"]["objectToProcessing"],
        json!({ "granted": false, "objected": true }),
        "{objected}"
    );
    let again = app.set_consent(&token, "MARKETING", true).await;
    assert_eq!(
        again["data"]["setConsent"]["objected"], false,
        "the person lifts their own objection: {again}"
    );
    let ledger = app.db.count("consent_ledger").await;
    assert_eq!(ledger, 3, "given, objected, given again");
}

#[tokio::test]
async fn personalization_needs_consent_while_the_rest_of_the_answer_resolves() {
    let app = TestApp::spawn().await;
    let Person {
        id: account,
        access_token: token,
        ..
    } = app.person("dev@example.com").await;
    let body = app.graphql(Some(&token), PERSONALIZATION, json!({})).await;
    assert_gated(&body, "CONSENT_REQUIRED");
    assert_eq!(body["data"]["me"]["id"], account.to_string(), "{body}");
    assert_eq!(body["data"]["me"]["personalization"], Value::Null);
    assert_eq!(
        body["errors"][0]["path"],
        json!(["me", "personalization"]),
        "{body}"
    );

    app.set_consent(&token, "PERSONALIZATION", true).await;
    let body = app.graphql(Some(&token), PERSONALIZATION, json!({})).await;
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(
        body["data"]["me"]["personalization"],
        json!({ "favouriteKinds": [], "suggestedPrompts": [], "preferredProviders": [] })
    );

    app.set_consent(&token, "PERSONALIZATION", false).await;
    let body = app.graphql(Some(&token), PERSONALIZATION, json!({})).await;
    assert_gated(&body, "CONSENT_REQUIRED");
}

#[tokio::test]
async fn every_way_around_the_consent_gate_is_closed() {
    let app = TestApp::spawn().await;
    let Person {
        access_token: token,
        ..
    } = app.person("eli@example.com").await;
    // Consent to another purpose opens nothing.
    app.set_consent(&token, "MARKETING", true).await;
    app.set_consent(&token, "ANALYTICS", true).await;

    let documents = [
        ("alias", "{ me { p: personalization { favouriteKinds } } }"),
        (
            "named fragment",
            "query { me { ...P } } fragment P on Account { personalization { favouriteKinds } }",
        ),
        (
            "inline fragment",
            "{ me { ... on Account { personalization { favouriteKinds } } } }",
        ),
        (
            "nested fragments",
            "query { ...Q } fragment Q on Query { me { ... { ...P } } } \
             fragment P on Account { personalization { favouriteKinds } }",
        ),
        (
            "many aliases",
            "{ me { a: personalization { favouriteKinds } b: personalization { favouriteKinds } } }",
        ),
    ];
    for (how, document) in documents {
        let body = app.graphql(Some(&token), document, json!({})).await;
        assert!(!codes(&body).is_empty(), "{how}: {body}");
        assert!(
            codes(&body).iter().all(|c| c == "CONSENT_REQUIRED"),
            "{how}: {body}"
        );
        assert!(
            !body.to_string().contains("favouriteKinds\":["),
            "{how}: {body}"
        );
    }

    // A batch of operations.
    let batch: Value = app
        .send(
            app.client
                .post(app.url("/graphql"))
                .header("content-type", "application/json")
                .header("authorization", format!("Bearer {token}"))
                .body(
                    json!([
                        { "query": "{ me { id } }" },
                        { "query": PERSONALIZATION },
                    ])
                    .to_string(),
                ),
        )
        .await
        .json();
    assert_eq!(codes(&batch[1]), ["CONSENT_REQUIRED"], "{batch}");
    assert!(batch[0]["data"]["me"]["id"].is_string(), "{batch}");

    // A GET query.
    let get = app
        .send(
            app.client
                .get(app.url("/graphql"))
                .query(&[("query", PERSONALIZATION)])
                .header("accept", "application/json")
                .header("authorization", format!("Bearer {token}")),
        )
        .await
        .json();
    assert_gated(&get, "CONSENT_REQUIRED");

    // A subscription: the schema has none, so the operation is refused outright.
    let subscription = app
        .graphql(
            Some(&token),
            "subscription { me { personalization { favouriteKinds } } }",
            json!({}),
        )
        .await;
    assert!(subscription["data"].is_null(), "{subscription}");
    assert!(!codes(&subscription).is_empty(), "{subscription}");
}

#[tokio::test]
async fn a_consent_given_under_an_older_policy_version_does_not_count() {
    let app = TestApp::spawn().await;
    let Person {
        id: account,
        access_token: token,
        ..
    } = app.person("fay@example.com").await;
    app.db
        .store()
        .append_consent_entries(
            account,
            &[LedgerEntry {
                change: Change::Consent {
                    purpose: Purpose::Personalization,
                    granted: true,
                },
                policy_version: "2000-01-01".to_owned(),
                source: ConsentSource::User,
                at: chrono::Utc::now(),
            }],
        )
        .await
        .expect("an old consent");
    let me = app.graphql(Some(&token), CONSENTS, json!({})).await;
    let consent = consent_of(&me, "PERSONALIZATION");
    assert_eq!(consent["granted"], false, "{consent}");
    assert_eq!(consent["policyVersion"], "2000-01-01");
    let body = app.graphql(Some(&token), PERSONALIZATION, json!({})).await;
    assert_gated(&body, "CONSENT_REQUIRED");
    // Renewed under the current version, it counts.
    app.set_consent(&token, "PERSONALIZATION", true).await;
    let body = app.graphql(Some(&token), PERSONALIZATION, json!({})).await;
    assert!(body.get("errors").is_none(), "{body}");
}

#[tokio::test]
async fn restriction_leaves_only_the_persons_own_access() {
    let app = TestApp::spawn().await;
    let Person {
        access_token: token,
        ..
    } = app.person("gil@example.com").await;
    app.set_consent(&token, "PERSONALIZATION", true).await;
    let restricted = app
        .graphql(
            Some(&token),
            "mutation { restrictProcessing(restricted: true) { processingRestricted } }",
            json!({}),
        )
        .await;
    assert_eq!(
        restricted["data"]["restrictProcessing"]["processingRestricted"], true,
        "{restricted}"
    );
    let body = app.graphql(Some(&token), PERSONALIZATION, json!({})).await;
    assert_gated(&body, "PROCESSING_RESTRICTED");
    // The person's own access still works.
    let own = app
        .graphql(
            Some(&token),
            "{ me { email consents { purpose } } }",
            json!({}),
        )
        .await;
    assert!(own.get("errors").is_none(), "{own}");
    assert_eq!(own["data"]["me"]["email"], "gil@example.com");

    app.graphql(
        Some(&token),
        "mutation { restrictProcessing(restricted: false) { processingRestricted } }",
        json!({}),
    )
    .await;
    let body = app.graphql(Some(&token), PERSONALIZATION, json!({})).await;
    assert!(body.get("errors").is_none(), "{body}");
}

#[tokio::test]
async fn global_privacy_control_withdraws_marketing_and_is_announced() {
    let app = TestApp::spawn().await;
    let gpc = app.get("/.well-known/gpc.json").await;
    assert_eq!(gpc.status, 200);
    assert_eq!(gpc.json()["gpc"], true);
    assert!(gpc.json()["lastUpdate"].is_string());

    let Person {
        access_token: token,
        ..
    } = app.person("hal@example.com").await;
    app.set_consent(&token, "MARKETING", true).await;
    app.set_consent(&token, "ANALYTICS", true).await;
    let body: Value = app
        .send(
            app.client
                .post(app.url("/graphql"))
                .header("content-type", "application/json")
                .header("authorization", format!("Bearer {token}"))
                .header("sec-gpc", "1")
                .body(json!({ "query": CONSENTS }).to_string()),
        )
        .await
        .json();
    let marketing = consent_of(&body, "MARKETING");
    assert_eq!(marketing["granted"], false, "{body}");
    assert_eq!(marketing["source"], "GPC");
    assert_eq!(
        consent_of(&body, "ANALYTICS")["granted"],
        true,
        "only marketing"
    );
    // Recorded once: a second signal finds marketing withdrawn already.
    let before = app.db.count("consent_ledger").await;
    app.send(
        app.client
            .post(app.url("/graphql"))
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {token}"))
            .header("sec-gpc", "1")
            .body(json!({ "query": "{ me { id } }" }).to_string()),
    )
    .await;
    assert_eq!(app.db.count("consent_ledger").await, before);
}

#[tokio::test]
async fn consents_chosen_at_sign_up_are_recorded_with_their_source() {
    let app = TestApp::spawn().await;
    let query = "mutation S($i: SignUpInput!) { signUp(input: $i) { accessToken } }";
    let body = app
        .graphql(
            None,
            query,
            json!({ "i": { "email": "ida@example.com", "password": PASSWORD,
                       "acceptedPolicyVersion": CURRENT_POLICY_VERSION,
                       "consents": ["MARKETING"] } }),
        )
        .await;
    let token = body["data"]["signUp"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned();
    let me = app.graphql(Some(&token), CONSENTS, json!({})).await;
    assert_eq!(consent_of(&me, "MARKETING")["source"], "SIGN_UP", "{me}");
    assert_eq!(consent_of(&me, "MARKETING")["granted"], true);
    assert_eq!(consent_of(&me, "PERSONALIZATION")["granted"], false);

    let refused = app
        .graphql(
            None,
            query,
            json!({ "i": { "email": "jon@example.com", "password": PASSWORD,
                       "acceptedPolicyVersion": CURRENT_POLICY_VERSION,
                       "consents": ["SECURITY"] } }),
        )
        .await;
    assert_eq!(codes(&refused), ["BAD_USER_INPUT"], "{refused}");
}

#[tokio::test]
async fn marketing_notifications_are_delivered_only_with_consent() {
    let app = TestApp::spawn().await;
    let Person {
        id: account,
        access_token: token,
        ..
    } = app.person("kai@example.com").await;
    let store = app.db.store();
    // A message of a campaign of its own each time (an account is queued once per campaign).
    let news = |id: Uuid| async move {
        store
            .put_mail_campaign(&icecone_store::campaigns::CampaignRecord {
                id,
                kind: "product_news".to_owned(),
                subject: "News".to_owned(),
                body: "Hello".to_owned(),
                created_by: Uuid::new_v4(),
                created_at: chrono::Utc::now(),
            })
            .await?;
        store
            .queue_campaign_messages(
                id,
                NotificationKind::ProductNews.as_str(),
                &[account],
                chrono::Utc::now(),
            )
            .await
    };
    news(Uuid::new_v4()).await.expect("queued");
    // The sign-in alert arrives; the news, without consent, does not.
    app.notifications
        .wait_for(NotificationKind::NewSignIn, "kai@example.com")
        .await;
    tokio::time::sleep(icecone_app::notify::DELIVERY_INTERVAL * 2).await;
    assert!(
        !app.notifications
            .delivered()
            .iter()
            .any(|d| d.kind == NotificationKind::ProductNews),
        "marketing went out without consent"
    );
    app.set_consent(&token, "MARKETING", true).await;
    news(Uuid::new_v4()).await.expect("queued");
    app.notifications
        .wait_for(NotificationKind::ProductNews, "kai@example.com")
        .await;
}

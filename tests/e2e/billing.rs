//! Payments through Stripe over HTTP, against a local mock speaking Stripe's wire format:
//! the subscription journey (checkout, the signed webhook, the `PRO` quota, a failed
//! renewal, the downgrade at the end of the paid period), the webhook forgery table, events
//! twice and out of order, a SIGKILL while a webhook is processed, erasure with invoices,
//! and billing off. No test touches the internet.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use icecone_app::notify::NotificationKind;
use icecone_core::billing::webhook::{SigningSecret, sign};
use icecone_store::purge::Purge;
use serde_json::{Value, json};
use uuid::Uuid;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::erasure::{request_deletion, request_id, wait_for_tombstone};
use crate::support::app::{PASSWORD, Person, TestApp, code};
use crate::support::binary::{BinaryApp, free_port};

const KEY: &str = "sk_test_billing0123456789";
const WEBHOOK_SECRET: &str = "whsec_test_billing_secret";
const PRICE: &str = "price_pro_monthly";
const CUSTOMER: &str = "cus_TestCustomer1";
const SUBSCRIPTION: &str = "sub_TestSubscription1";
const CHECKOUT_URL: &str = "https://checkout.stripe.com/c/pay/cs_test_journey";

const START_CHECKOUT: &str = "mutation { startCheckout(plan: PRO) }";
const PORTAL: &str = "mutation { billingPortal }";
const BILLING: &str = "{ me { billing { plan status renewsOn invoices { id amount currency \
    issuedAt status } } } }";
const IMAGE: &str = "mutation I($i: GenerateImageInput!) { generateImage(input: $i) { id } }";

/// A mock Stripe answering the calls of a checkout and of the completed session's
/// subscription (active until `period_end`), as its API does.
async fn stripe(period_end: DateTime<Utc>) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/customers"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": CUSTOMER, "object": "customer", "email": null, "name": null, "metadata": {}
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "cs_test_journey", "object": "checkout.session", "mode": "subscription",
            "url": CHECKOUT_URL
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v1/subscriptions/{SUBSCRIPTION}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(subscription("active", period_end)))
        .mount(&server)
        .await;
    server
}

fn subscription(status: &str, period_end: DateTime<Utc>) -> Value {
    json!({
        "id": SUBSCRIPTION, "object": "subscription", "customer": CUSTOMER, "status": status,
        "items": { "object": "list", "data": [
            { "id": "si_1", "object": "subscription_item",
              "current_period_end": period_end.timestamp() }
        ] }
    })
}

fn billing_on(settings: &mut icecone_gateway::config::Settings, stripe: &MockServer) {
    settings.stripe_secret_key = Some(KEY.into());
    settings.stripe_webhook_secret = Some(WEBHOOK_SECRET.into());
    settings.stripe_price_pro = Some(PRICE.to_owned());
    settings.stripe_base_url = stripe.uri();
    settings.quota_images_per_month = 0;
    settings.pro_quota_images_per_month = 5;
    settings.erasure_grace = "0s".to_owned();
    settings.job_poll_interval_ms = 100;
}

fn secret() -> SigningSecret {
    SigningSecret::new(WEBHOOK_SECRET).expect("secret")
}

/// A Stripe event of `kind` about `object`, created at `created`.
fn event(id: &str, kind: &str, created: DateTime<Utc>, object: Value) -> String {
    json!({
        "id": id, "object": "event", "api_version": icecone_billing_stripe::API_VERSION,
        "created": created.timestamp(), "livemode": false, "type": kind,
        "data": { "object": object }
    })
    .to_string()
}

fn checkout_completed(billing_ref: Uuid, created: DateTime<Utc>) -> String {
    event(
        "evt_checkout",
        "checkout.session.completed",
        created,
        json!({
            "id": "cs_test_journey", "object": "checkout.session", "mode": "subscription",
            "status": "complete", "payment_status": "paid", "customer": CUSTOMER,
            "subscription": SUBSCRIPTION, "client_reference_id": billing_ref.to_string()
        }),
    )
}

fn invoice(
    id: &str,
    kind: &str,
    created: DateTime<Utc>,
    status: &str,
    period_end: DateTime<Utc>,
) -> String {
    event(
        id,
        kind,
        created,
        json!({
            "id": format!("in_{id}"), "object": "invoice", "customer": CUSTOMER,
            "amount_due": 1_900, "amount_paid": if status == "paid" { 1_900 } else { 0 },
            "currency": "eur", "created": created.timestamp(), "status": status,
            "parent": { "type": "subscription_details",
                        "subscription_details": { "subscription": SUBSCRIPTION } },
            "lines": { "object": "list", "data": [
                { "id": "il_1", "object": "line_item", "amount": 1_900, "currency": "eur",
                  "period": { "start": created.timestamp(), "end": period_end.timestamp() } }
            ] }
        }),
    )
}

async fn post_webhook(app: &TestApp, signature: Option<&str>, body: &str) -> (u16, Value) {
    let mut request = app
        .client
        .post(app.url("/webhooks/stripe"))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(signature) = signature {
        request = request.header("stripe-signature", signature);
    }
    let answer = app.send(request).await;
    let body = serde_json::from_str(&answer.text).unwrap_or(Value::Null);
    (answer.status, body)
}

/// Posts `body` signed now with the endpoint's secret.
async fn deliver(app: &TestApp, body: &str) -> u16 {
    let signature = sign(&secret(), Utc::now(), body.as_bytes());
    post_webhook(app, Some(&signature), body).await.0
}

async fn billing(app: &TestApp, person: &Person) -> Value {
    let body = app
        .graphql(Some(&person.access_token), BILLING, json!({}))
        .await;
    body["data"]["me"]["billing"].clone()
}

async fn image(app: &TestApp, person: &Person) -> Value {
    app.graphql(
        Some(&person.access_token),
        IMAGE,
        json!({ "i": { "prompt": "a lighthouse", "provider": "local" } }),
    )
    .await
}

/// Checks out and delivers the completed session: the person is on `PRO`.
async fn subscribe(app: &TestApp, person: &Person) -> Uuid {
    let url = app
        .graphql(Some(&person.access_token), START_CHECKOUT, json!({}))
        .await;
    assert_eq!(url["data"]["startCheckout"], CHECKOUT_URL, "{url}");
    let billing_ref = app
        .db
        .store()
        .billing_customer(person.id)
        .await
        .expect("read")
        .expect("a billing row")
        .billing_ref;
    assert_eq!(
        deliver(app, &checkout_completed(billing_ref, Utc::now())).await,
        200
    );
    billing_ref
}

#[tokio::test]
async fn a_subscription_journey_over_http_pays_gets_pro_and_lapses_to_free_after_a_failed_renewal()
{
    let period_end = Utc::now() + TimeDelta::days(30);
    let stripe = stripe(period_end).await;
    let app = TestApp::spawn_with(|settings| billing_on(settings, &stripe)).await;
    let person = app.person("payer@example.com").await;
    assert_eq!(code(&image(&app, &person).await), "QUOTA_EXCEEDED");
    assert_eq!(billing(&app, &person).await["plan"], "FREE");

    let billing_ref = subscribe(&app, &person).await;
    // Stripe was told a random reference, never the account id or the address.
    let sent: Vec<String> = stripe
        .received_requests()
        .await
        .expect("recorded")
        .iter()
        .filter(|request| request.method.as_str() == "POST")
        .map(|request| String::from_utf8_lossy(&request.body).into_owned())
        .collect();
    assert_eq!(sent.len(), 2, "a customer, then a session: {sent:?}");
    assert_eq!(
        sent[0],
        format!("metadata%5Bbilling_ref%5D={billing_ref}"),
        "the customer carries the reference only"
    );
    assert!(
        sent[1].contains(&format!("client_reference_id={billing_ref}")),
        "{}",
        sent[1]
    );
    assert!(sent[1].contains(&format!("line_items%5B0%5D%5Bprice%5D={PRICE}")));
    for body in &sent {
        assert!(!body.contains(&person.id.to_string()), "{body}");
        assert!(!body.contains("payer"), "{body}");
    }

    let paid = billing(&app, &person).await;
    assert_eq!(paid["plan"], "PRO", "{paid}");
    assert_eq!(paid["status"], "ACTIVE");
    assert_eq!(
        paid["renewsOn"]
            .as_str()
            .map(|t| DateTime::parse_from_rfc3339(t).expect("time").timestamp()),
        Some(period_end.timestamp())
    );
    assert!(
        image(&app, &person).await.get("errors").is_none(),
        "PRO quota applies"
    );
    let again = app
        .graphql(Some(&person.access_token), START_CHECKOUT, json!({}))
        .await;
    assert_eq!(code(&again), "FAILED_PRECONDITION", "{again}");

    // The renewal fails: PRO until the end of the period paid for, then FREE.
    let failed = invoice(
        "evt_renewal_failed",
        "invoice.payment_failed",
        Utc::now() + TimeDelta::seconds(1),
        "open",
        period_end + TimeDelta::days(30),
    );
    assert_eq!(deliver(&app, &failed).await, 200);
    let past_due = billing(&app, &person).await;
    assert_eq!(past_due["status"], "PAST_DUE", "{past_due}");
    assert_eq!(past_due["plan"], "PRO");
    assert_eq!(past_due["invoices"][0]["status"], "open");
    assert_eq!(past_due["invoices"][0]["amount"], 1_900);
    assert_eq!(past_due["invoices"][0]["currency"], "eur");

    let store = app.db.store();
    assert_eq!(
        icecone_app::billing::lapse(store, period_end - TimeDelta::hours(1))
            .await
            .expect("lapse"),
        0
    );
    assert_eq!(
        icecone_app::billing::lapse(store, period_end + TimeDelta::hours(1))
            .await
            .expect("lapse"),
        1
    );
    // The gateway's cache of the account sees a change made elsewhere within its TTL.
    tokio::time::sleep(icecone_store::read_cache::READ_CACHE_TTL + Duration::from_millis(200))
        .await;
    assert_eq!(billing(&app, &person).await["plan"], "FREE");
    assert_eq!(code(&image(&app, &person).await), "QUOTA_EXCEEDED");
}

#[tokio::test]
async fn forged_stale_replayed_and_malformed_webhooks_answer_400_and_change_nothing() {
    let stripe = stripe(Utc::now() + TimeDelta::days(30)).await;
    let app = TestApp::spawn_with(|settings| billing_on(settings, &stripe)).await;
    let person = app.person("target@example.com").await;
    app.graphql(Some(&person.access_token), START_CHECKOUT, json!({}))
        .await;
    let billing_ref = app
        .db
        .store()
        .billing_customer(person.id)
        .await
        .expect("read")
        .expect("row")
        .billing_ref;
    let body = checkout_completed(billing_ref, Utc::now());
    let now = Utc::now();
    let good = sign(&secret(), now, body.as_bytes());
    let v1 = good.split_once(",v1=").expect("v1").1.to_owned();
    let t = now.timestamp();
    let other_secret = sign(
        &SigningSecret::new("whsec_guessed").expect("s"),
        now,
        body.as_bytes(),
    );
    let stale_at = now - TimeDelta::seconds(301);
    let future_at = now + TimeDelta::seconds(301);
    let tampered = body.replace("\"paid\"", "\"unpaid\"");
    let not_json = "{\"id\": \"evt_x\", \"type\": ";
    let cases: Vec<(&str, Option<String>, String)> = vec![
        ("no header", None, body.clone()),
        ("wrong secret", Some(other_secret), body.clone()),
        ("modified payload", Some(good.clone()), tampered),
        (
            "stale (a replay)",
            Some(sign(&secret(), stale_at, body.as_bytes())),
            body.clone(),
        ),
        (
            "future",
            Some(sign(&secret(), future_at, body.as_bytes())),
            body.clone(),
        ),
        ("missing t", Some(format!("v1={v1}")), body.clone()),
        ("missing v1", Some(format!("t={t}")), body.clone()),
        ("v0 only", Some(format!("t={t},v0={v1}")), body.clone()),
        (
            "duplicated t",
            Some(format!("t={t},t={t},v1={v1}")),
            body.clone(),
        ),
        ("malformed header", Some("garbage".to_owned()), body.clone()),
        ("empty header", Some(String::new()), body.clone()),
        (
            "signed but not an event",
            Some(sign(&secret(), now, not_json.as_bytes())),
            not_json.to_owned(),
        ),
    ];
    for (name, signature, payload) in cases {
        let (status, answer) = post_webhook(&app, signature.as_deref(), &payload).await;
        assert_eq!(status, 400, "{name}: {answer}");
        assert_eq!(answer["error"]["code"], "BAD_USER_INPUT", "{name}");
        assert!(
            !app.db
                .store()
                .billing_event_processed("evt_checkout")
                .await
                .expect("read"),
            "{name}"
        );
        assert_eq!(billing(&app, &person).await["plan"], "FREE", "{name}");
    }
    let no_subscription_read = stripe
        .received_requests()
        .await
        .expect("recorded")
        .iter()
        .all(|request| request.method.as_str() != "GET");
    assert!(no_subscription_read, "nothing unverified reaches Stripe");
    // The genuine request still works.
    assert_eq!(post_webhook(&app, Some(&good), &body).await.0, 200);
    assert_eq!(billing(&app, &person).await["plan"], "PRO");
}

#[tokio::test]
async fn duplicate_and_out_of_order_events_apply_once_and_never_undo_a_newer_state() {
    let period_end = Utc::now() + TimeDelta::days(30);
    let stripe = stripe(period_end).await;
    let app = TestApp::spawn_with(|settings| billing_on(settings, &stripe)).await;
    let person = app.person("ordered@example.com").await;
    let billing_ref = subscribe(&app, &person).await;
    // The same delivery again, within the tolerance: acknowledged, applied once.
    assert_eq!(
        deliver(&app, &checkout_completed(billing_ref, Utc::now())).await,
        200
    );

    let base = Utc::now();
    let paid = invoice(
        "evt_paid",
        "invoice.paid",
        base + TimeDelta::seconds(5),
        "paid",
        period_end,
    );
    let deleted = event(
        "evt_deleted",
        "customer.subscription.deleted",
        base + TimeDelta::seconds(20),
        subscription("canceled", period_end),
    );
    let older_update = event(
        "evt_older_update",
        "customer.subscription.updated",
        base + TimeDelta::seconds(10),
        subscription("active", period_end + TimeDelta::days(30)),
    );
    for body in [&paid, &paid, &deleted, &older_update, &deleted, &paid] {
        assert_eq!(deliver(&app, body).await, 200);
    }
    let state = billing(&app, &person).await;
    assert_eq!(
        state["plan"], "FREE",
        "the cancellation is the newest state: {state}"
    );
    assert_eq!(state["status"], "CANCELED");
    assert_eq!(
        state["invoices"].as_array().map(Vec::len),
        Some(1),
        "{state}"
    );
    assert_eq!(state["invoices"][0]["status"], "paid");
    let subscription_reads = stripe
        .received_requests()
        .await
        .expect("recorded")
        .iter()
        .filter(|request| request.method.as_str() == "GET")
        .count();
    assert_eq!(
        subscription_reads, 1,
        "the duplicate checkout event asked Stripe nothing"
    );
}

#[tokio::test]
async fn billing_off_answers_billing_unavailable_and_the_webhook_404() {
    let app = TestApp::spawn().await;
    let person = app.person("nobilling@example.com").await;
    for mutation in [START_CHECKOUT, PORTAL] {
        let answer = app
            .graphql(Some(&person.access_token), mutation, json!({}))
            .await;
        assert_eq!(code(&answer), "BILLING_UNAVAILABLE", "{answer}");
    }
    let body = event("evt_1", "invoice.paid", Utc::now(), json!({}));
    let signature = sign(&secret(), Utc::now(), body.as_bytes());
    let (status, answer) = post_webhook(&app, Some(&signature), &body).await;
    assert_eq!(status, 404);
    assert_eq!(answer["error"]["code"], "BILLING_UNAVAILABLE");
    let state = billing(&app, &person).await;
    assert_eq!(
        state,
        json!({ "plan": "FREE", "status": null, "renewsOn": null, "invoices": [] })
    );
    // The privacy page lists no payment processor while billing is off.
    let page = app.get("/privacy.json").await.text;
    assert!(!page.contains("\"Stripe\""));
}

#[tokio::test]
async fn erasure_deletes_the_stripe_customer_and_keeps_invoices_unlinked_until_the_purge() {
    let period_end = Utc::now() + TimeDelta::days(30);
    let stripe = stripe(period_end).await;
    Mock::given(method("DELETE"))
        .and(path(format!("/v1/customers/{CUSTOMER}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": CUSTOMER, "object": "customer", "deleted": true
        })))
        .expect(1)
        .mount(&stripe)
        .await;
    let app = TestApp::spawn_with(|settings| {
        billing_on(settings, &stripe);
        // Long enough for the notices to be delivered before the rows go.
        settings.erasure_grace = "3s".to_owned();
    })
    .await;
    // Stripe is a subprocessor while billing is on.
    assert!(app.get("/privacy.json").await.text.contains("\"Stripe\""));
    let person = app.person("leaving@example.com").await;
    subscribe(&app, &person).await;
    let paid = invoice("evt_paid", "invoice.paid", Utc::now(), "paid", period_end);
    assert_eq!(deliver(&app, &paid).await, 200);

    let answer = request_deletion(&app, &person.access_token, PASSWORD, None).await;
    let request = request_id(&answer);
    let told = app
        .notifications
        .wait_for(NotificationKind::BillingRecordsKept, &person.email)
        .await;
    assert_eq!(
        told.token.as_deref(),
        Some("10 years"),
        "the period is named"
    );
    wait_for_tombstone(&app, request).await;

    let store = app.db.store();
    assert!(
        store
            .billing_customer(person.id)
            .await
            .expect("read")
            .is_none()
    );
    let held = store.held_invoices(10).await.expect("held");
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(held[0].id, "in_evt_paid");
    assert_eq!((held[0].amount, held[0].currency.as_str()), (1_900, "eur"));
    assert!(held[0].held_since.is_some());
    // Nothing ties the record to the erased person: no column of the table holds the id.
    assert_eq!(
        app.db
            .count("billing_invoices WHERE account_id IS NOT NULL")
            .await,
        0
    );

    let (vault, _) = app.keys().await;
    let retention = icecone_app::settings::RetentionConfig::default();
    let within = icecone_app::retention::housekeeping::run(
        Purge::ExpiredInvoices,
        store,
        &vault,
        &retention,
        Utc::now() + TimeDelta::days(9 * 365),
    )
    .await
    .expect("purge");
    assert_eq!(within, 0, "kept for the statutory period");
    let after = icecone_app::retention::housekeeping::run(
        Purge::ExpiredInvoices,
        store,
        &vault,
        &retention,
        Utc::now() + TimeDelta::days(10 * 365 + 1),
    )
    .await
    .expect("purge");
    assert_eq!(after, 1);
    assert!(store.held_invoices(10).await.expect("held").is_empty());
    stripe.verify().await;
}

#[tokio::test]
async fn a_webhook_killed_mid_processing_is_applied_exactly_once_on_stripes_retry() {
    let db = icecone_store::testing::TestDatabase::new().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let period_end = Utc::now() + TimeDelta::days(30);
    // Stripe answers the subscription read slowly the first time: the gateway is killed
    // while it waits, after verifying the event and before anything is committed.
    let stripe = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/v1/subscriptions/{SUBSCRIPTION}")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(subscription("active", period_end))
                .set_delay(Duration::from_secs(30)),
        )
        .up_to_n_times(1)
        .mount(&stripe)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v1/subscriptions/{SUBSCRIPTION}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(subscription("active", period_end)))
        .mount(&stripe)
        .await;
    let port = free_port();
    let start = || {
        BinaryApp::spawn(dir.path(), port, |command| {
            command
                .env("ICECONE_DATA_DIR", dir.path())
                .env("ICECONE_DATABASE_URL", db.url().expose())
                .env("ICECONE_STRIPE_SECRET_KEY", KEY)
                .env("ICECONE_STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
                .env("ICECONE_STRIPE_PRICE_PRO", PRICE)
                .env("ICECONE_STRIPE_BASE_URL", stripe.uri());
        })
    };
    let mut first = start();
    first.wait_until_healthy().await;
    let token = first
        .sign_up("killed-billing@example.com", "a long enough passphrase 42")
        .await;
    let client = reqwest::Client::new();
    let me: Value = client
        .post(first.url("/graphql"))
        .bearer_auth(&token)
        .json(&json!({ "query": "{ me { id } }" }))
        .send()
        .await
        .expect("me")
        .json()
        .await
        .expect("JSON");
    let account = Uuid::try_parse(me["data"]["me"]["id"].as_str().expect("id")).expect("uuid");
    let store = db.store();
    let billing_ref = Uuid::new_v4();
    store
        .ensure_billing_customer(account, billing_ref, Utc::now())
        .await
        .expect("billing row");
    let body = checkout_completed(billing_ref, Utc::now());
    let signature = sign(&secret(), Utc::now(), body.as_bytes());
    let url = first.url("/webhooks/stripe");
    let in_flight = tokio::spawn({
        let (client, url, body, signature) =
            (client.clone(), url.clone(), body.clone(), signature.clone());
        async move {
            client
                .post(url)
                .header("stripe-signature", signature)
                .body(body)
                .send()
                .await
        }
    });
    // Wait until the gateway is inside the event (asking Stripe), then SIGKILL it.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while stripe
        .received_requests()
        .await
        .expect("recorded")
        .is_empty()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the webhook never reached Stripe"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    first.kill();
    assert!(
        in_flight.await.expect("task").is_err(),
        "no answer: the process died"
    );
    assert!(
        !store
            .billing_event_processed("evt_checkout")
            .await
            .expect("read")
    );
    let plan = |store: &icecone_store::Store| {
        let store = store.clone();
        async move {
            store
                .account(account)
                .await
                .expect("read")
                .expect("account")
                .plan
        }
    };
    assert_eq!(
        plan(store).await,
        icecone_core::usage::Plan::Free,
        "nothing half-done"
    );

    // Stripe retries the same event (a new signature time): applied once.
    let mut second = start();
    second.wait_until_healthy().await;
    for _ in 0..2 {
        let retry = sign(&secret(), Utc::now(), body.as_bytes());
        let answer = client
            .post(second.url("/webhooks/stripe"))
            .header("stripe-signature", retry)
            .body(body.clone())
            .send()
            .await
            .expect("answered");
        assert_eq!(answer.status().as_u16(), 200);
    }
    second.terminate();
    assert!(
        store
            .billing_event_processed("evt_checkout")
            .await
            .expect("read")
    );
    assert_eq!(plan(store).await, icecone_core::usage::Plan::Pro);
    assert_eq!(db.count("billing_events").await, 1, "recorded once");
    let reads = stripe.received_requests().await.expect("recorded").len();
    assert_eq!(
        reads, 2,
        "the killed attempt and the retry; the duplicate asked nothing"
    );
}

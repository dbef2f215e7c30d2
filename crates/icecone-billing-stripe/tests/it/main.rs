//! The Stripe client against a local mock speaking Stripe's wire format (wiremock): each
//! call's exact request (method, path, `Authorization`, `Stripe-Version`,
//! `Idempotency-Key`, the form body field by field) and the fault table (401, 402, 429
//! with and without `Retry-After`, 5xx, timeouts, refused connections, unreadable
//! answers). Answers are shaped as Stripe's published OpenAPI fixtures
//! (`stripe/openapi`, `openapi/fixtures3.json`) show them. No test touches the internet.

use std::time::Duration;

use icecone_billing_stripe::{
    API_VERSION, CheckoutRequest, Code, CustomerId, Deletion, StripeClient, StripeConfig,
    StripeError, SubscriptionId,
};
use secrecy::SecretString;
use serde_json::json;
use wiremock::matchers::{body_string, header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const KEY: &str = "sk_test_canary0123456789";
const TIMEOUT: Duration = Duration::from_secs(5);

async fn setup() -> (MockServer, StripeClient) {
    let server = MockServer::start().await;
    let client = client_for(&server.uri(), TIMEOUT);
    (server, client)
}

fn client_for(base: &str, timeout: Duration) -> StripeClient {
    StripeClient::new(StripeConfig {
        secret_key: SecretString::from(KEY),
        base_url: base.to_owned(),
        timeout,
    })
    .expect("client")
}

/// A form body as `application/x-www-form-urlencoded` encodes these pairs, in order.
fn form(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).expect("form")
}

/// Every request Stripe receives from the client carries these.
fn stripe_request(verb: &str, at: &str) -> wiremock::MockBuilder {
    Mock::given(method(verb))
        .and(path(at))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .and(header("stripe-version", API_VERSION))
}

fn customer() -> CustomerId {
    CustomerId::parse("cus_QXg1o8vcGmoR32").expect("id")
}

async fn the_only_request(server: &MockServer) -> Request {
    let mut received = server.received_requests().await.expect("recording");
    assert_eq!(received.len(), 1, "exactly one request");
    received.remove(0)
}

#[tokio::test]
async fn create_customer_sends_only_the_billing_reference_with_an_idempotency_key() {
    let (server, client) = setup().await;
    stripe_request("POST", "/v1/customers")
        .and(header("idempotency-key", "customer-ref-1"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string(form(&[("metadata[billing_ref]", "ref-1")])))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "cus_QXg1o8vcGmoR32", "object": "customer", "email": null, "name": null,
            "metadata": {"billing_ref": "ref-1"}, "created": 1_234_567_890, "livemode": false
        })))
        .expect(1)
        .mount(&server)
        .await;
    let id = client
        .create_customer("ref-1", "customer-ref-1")
        .await
        .expect("created");
    assert_eq!(id, customer());
    let request = the_only_request(&server).await;
    let body = String::from_utf8(request.body).expect("utf-8");
    for absent in ["email", "name", "address", "phone"] {
        assert!(!body.contains(absent), "{absent} is never sent");
    }
}

#[tokio::test]
async fn create_checkout_session_sends_a_subscription_for_one_unit_of_the_price() {
    let (server, client) = setup().await;
    stripe_request("POST", "/v1/checkout/sessions")
        .and(header("idempotency-key", "checkout-1"))
        .and(body_string(form(&[
            ("mode", "subscription"),
            ("customer", "cus_QXg1o8vcGmoR32"),
            ("client_reference_id", "ref-1"),
            ("line_items[0][price]", "price_pro"),
            ("line_items[0][quantity]", "1"),
            ("success_url", "https://icecone.example/billing/success"),
            ("cancel_url", "https://icecone.example/billing/cancel"),
        ])))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "cs_test_a1", "object": "checkout.session", "mode": "subscription",
            "status": "open", "payment_status": "unpaid", "customer": "cus_QXg1o8vcGmoR32",
            "client_reference_id": "ref-1", "subscription": null,
            "url": "https://checkout.stripe.com/c/pay/cs_test_a1"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let session = client
        .create_checkout_session(
            &CheckoutRequest {
                customer: &customer(),
                price: "price_pro",
                client_reference_id: "ref-1",
                success_url: "https://icecone.example/billing/success",
                cancel_url: "https://icecone.example/billing/cancel",
            },
            "checkout-1",
        )
        .await
        .expect("session");
    assert_eq!(session.id, "cs_test_a1");
    assert_eq!(session.url, "https://checkout.stripe.com/c/pay/cs_test_a1");
}

#[tokio::test]
async fn a_checkout_session_without_a_url_is_malformed() {
    let (server, client) = setup().await;
    stripe_request("POST", "/v1/checkout/sessions")
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "cs_test_a1", "object": "checkout.session", "url": null
        })))
        .mount(&server)
        .await;
    let error = client
        .create_checkout_session(
            &CheckoutRequest {
                customer: &customer(),
                price: "price_pro",
                client_reference_id: "ref-1",
                success_url: "https://a.example/s",
                cancel_url: "https://a.example/c",
            },
            "k",
        )
        .await
        .expect_err("no url");
    assert_eq!(error, StripeError::Malformed);
}

#[tokio::test]
async fn create_portal_session_sends_the_customer_and_return_url() {
    let (server, client) = setup().await;
    stripe_request("POST", "/v1/billing_portal/sessions")
        .and(header("idempotency-key", "portal-1"))
        .and(body_string(form(&[
            ("customer", "cus_QXg1o8vcGmoR32"),
            ("return_url", "https://icecone.example/account"),
        ])))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "bps_1", "object": "billing_portal.session", "customer": "cus_QXg1o8vcGmoR32",
            "return_url": "https://icecone.example/account",
            "url": "https://billing.stripe.com/p/session/test_1"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let url = client
        .create_portal_session(&customer(), "https://icecone.example/account", "portal-1")
        .await
        .expect("url");
    assert_eq!(url, "https://billing.stripe.com/p/session/test_1");
}

#[tokio::test]
async fn delete_customer_sends_a_delete_and_a_missing_customer_is_already_gone() {
    let (server, client) = setup().await;
    stripe_request("DELETE", "/v1/customers/cus_QXg1o8vcGmoR32")
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "cus_QXg1o8vcGmoR32", "object": "customer", "deleted": true
        })))
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(
        client.delete_customer(&customer()).await,
        Ok(Deletion::Deleted)
    );
    let request = the_only_request(&server).await;
    assert!(request.body.is_empty(), "a DELETE carries no body");
    assert!(request.headers.get("idempotency-key").is_none());

    let (server, client) = setup().await;
    stripe_request("DELETE", "/v1/customers/cus_QXg1o8vcGmoR32")
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"error": {
            "type": "invalid_request_error", "code": "resource_missing",
            "message": "No such customer: 'cus_QXg1o8vcGmoR32'", "param": "id"
        }})))
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(
        client.delete_customer(&customer()).await,
        Ok(Deletion::AlreadyGone)
    );
}

#[tokio::test]
async fn subscription_reads_the_status_and_the_latest_item_period_end() {
    let (server, client) = setup().await;
    stripe_request("GET", "/v1/subscriptions/sub_1Pgc6rB7WZ01zgkWNy0Cn5nw")
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "sub_1Pgc6rB7WZ01zgkWNy0Cn5nw", "object": "subscription",
            "customer": "cus_QXg1o8vcGmoR32", "status": "active", "created": 1_234_567_890,
            "items": {"object": "list", "has_more": false, "url": "/v1/subscription_items",
                "data": [
                    {"id": "si_1", "object": "subscription_item", "current_period_start": 1_800_000_000, "current_period_end": 1_802_592_000},
                    {"id": "si_2", "object": "subscription_item", "current_period_start": 1_800_000_000, "current_period_end": 1_802_600_000}
                ]}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let id = SubscriptionId::parse("sub_1Pgc6rB7WZ01zgkWNy0Cn5nw").expect("id");
    let subscription = client.subscription(&id).await.expect("read");
    assert_eq!(subscription.id, id);
    assert_eq!(subscription.customer, customer());
    assert_eq!(subscription.status, "active");
    assert_eq!(subscription.current_period_end, Some(1_802_600_000));
}

fn stripe_error(status: u16, kind: &str, code: &str, decline: Option<&str>) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({"error": {
        "type": kind, "code": code, "decline_code": decline,
        "message": "Your card was declined, cus_QXg1o8vcGmoR32 person@example.com"
    }}))
}

/// Every call, answered with `answer`, comes back as `expected`.
async fn every_call_maps(answer: ResponseTemplate, expected: &StripeError) {
    let (server, client) = setup().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(answer)
        .mount(&server)
        .await;
    let checkout = CheckoutRequest {
        customer: &customer(),
        price: "price_pro",
        client_reference_id: "ref",
        success_url: "https://a.example/s",
        cancel_url: "https://a.example/c",
    };
    let sub = SubscriptionId::parse("sub_1").expect("id");
    let results = [
        client.create_customer("ref", "k").await.map(drop),
        client
            .create_checkout_session(&checkout, "k")
            .await
            .map(drop),
        client
            .create_portal_session(&customer(), "https://a.example", "k")
            .await
            .map(drop),
        client.delete_customer(&customer()).await.map(drop),
        client.subscription(&sub).await.map(drop),
    ];
    for (call, result) in results.iter().enumerate() {
        let error = result.as_ref().expect_err("an error");
        assert_eq!(error, expected, "call {call}");
        let shown = format!("{error} {error:?}");
        for secret in [KEY, "person@example.com", "cus_QXg1o8vcGmoR32", "declined,"] {
            assert!(
                !shown.contains(secret),
                "call {call} shows {secret}: {shown}"
            );
        }
    }
}

#[tokio::test]
async fn every_call_maps_stripes_faults_to_typed_errors_without_stripes_message() {
    let code = |text| Code::parse(text);
    let cases: Vec<(ResponseTemplate, StripeError)> = vec![
        (
            stripe_error(401, "invalid_request_error", "api_key_invalid", None),
            StripeError::Authentication,
        ),
        (
            stripe_error(403, "invalid_request_error", "secret_key_required", None),
            StripeError::Authentication,
        ),
        (
            stripe_error(
                402,
                "card_error",
                "card_declined",
                Some("insufficient_funds"),
            ),
            StripeError::Card {
                code: code("card_declined"),
                decline_code: code("insufficient_funds"),
            },
        ),
        (
            stripe_error(429, "invalid_request_error", "rate_limit", None)
                .insert_header("Retry-After", "7"),
            StripeError::RateLimited {
                retry_after: Some(Duration::from_secs(7)),
            },
        ),
        (
            stripe_error(429, "invalid_request_error", "rate_limit", None),
            StripeError::RateLimited { retry_after: None },
        ),
        (
            stripe_error(500, "api_error", "", None),
            StripeError::Unavailable,
        ),
        (ResponseTemplate::new(503), StripeError::Unavailable),
        (
            stripe_error(400, "invalid_request_error", "resource_missing", None),
            StripeError::InvalidRequest {
                code: code("resource_missing"),
            },
        ),
        (
            stripe_error(409, "idempotency_error", "idempotency_key_in_use", None),
            StripeError::InvalidRequest {
                code: code("idempotency_key_in_use"),
            },
        ),
        (
            ResponseTemplate::new(200).set_body_string("<html>not json</html>"),
            StripeError::Malformed,
        ),
        (
            ResponseTemplate::new(302).insert_header("Location", "https://elsewhere.example/"),
            StripeError::Malformed,
        ),
    ];
    for (answer, expected) in cases {
        every_call_maps(answer, &expected).await;
    }
}

#[tokio::test]
async fn a_free_text_code_is_dropped_rather_than_kept() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .respond_with(stripe_error(
            402,
            "card_error",
            "Declined for person@example.com",
            None,
        ))
        .mount(&server)
        .await;
    let error = client.create_customer("ref", "k").await.expect_err("402");
    assert_eq!(
        error,
        StripeError::Card {
            code: None,
            decline_code: None
        }
    );
}

#[tokio::test]
async fn a_slow_answer_is_a_timeout_and_a_refused_connection_is_unavailable() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": "cus_1"}))
                .set_delay(Duration::from_secs(3)),
        )
        .mount(&server)
        .await;
    let client = client_for(&server.uri(), Duration::from_millis(300));
    let error = client.create_customer("ref", "k").await.expect_err("slow");
    assert_eq!(error, StripeError::Timeout);
    assert!(error.is_transient());

    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
    let address = listener.local_addr().expect("address");
    drop(listener);
    let client = client_for(&format!("http://{address}"), TIMEOUT);
    let error = client
        .create_customer("ref", "k")
        .await
        .expect_err("refused");
    assert_eq!(error, StripeError::Unavailable);
    assert!(error.is_transient());
    assert!(!StripeError::Authentication.is_transient());
}

#[test]
fn ids_are_checked_before_they_go_into_a_path() {
    assert!(CustomerId::parse("cus_QXg1o8vcGmoR32").is_some());
    for bad in [
        "cus_",
        "sub_1",
        "cus_../v1/charges",
        "cus_a/b",
        "cus_a?x=1",
        "",
        "cus_a b",
    ] {
        assert!(CustomerId::parse(bad).is_none(), "{bad}");
    }
    assert!(SubscriptionId::parse("sub_1Pgc6r").is_some());
    assert!(SubscriptionId::parse("cus_1").is_none());
}

#[test]
fn the_key_never_shows_in_debug_output() {
    let config = StripeConfig {
        secret_key: SecretString::from(KEY),
        base_url: "https://api.stripe.com".to_owned(),
        timeout: TIMEOUT,
    };
    let client = StripeClient::new(config.clone()).expect("client");
    for shown in [format!("{config:?}"), format!("{client:?}")] {
        assert!(!shown.contains(KEY), "{shown}");
    }
    assert!(
        StripeClient::new(StripeConfig {
            base_url: "ftp://api.stripe.com".to_owned(),
            ..config
        })
        .is_err()
    );
}

#[test]
fn stripe_is_a_valid_subprocessor_entry() {
    let entry =
        icecone_core::subprocessor::Subprocessor::parse(icecone_billing_stripe::SUBPROCESSOR)
            .expect("parses");
    assert_eq!(entry.name().as_str(), "Stripe");
}

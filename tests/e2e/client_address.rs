//! Who per-address limits count: the TCP peer, unless it is a trusted proxy
//! (`ICECONE_TRUSTED_PROXIES`), whose `Forwarded` / `X-Forwarded-For` then names the client;
//! IPv6 clients are counted by their /64. Proved with the anonymous `contactPrivacyOfficer`
//! limit (five per address in each window; each message from a new reply address, whose own
//! limit is three).

use serde_json::{Value, json};

use crate::support::app::TestApp;

const CONTACT: &str =
    "mutation C($i: PrivacyTicketInput!) { contactPrivacyOfficer(input: $i) { id } }";

/// An anonymous message to the DPO, sent with the forwarding header `header: value` if given;
/// answers the error code, or `OK`.
async fn contact(app: &TestApp, header: Option<(&str, &str)>) -> String {
    let mut request = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .body(
            json!({ "query": CONTACT, "variables": { "i": {
                "email": format!("{}@example.com", uuid::Uuid::new_v4()),
                "subject": "my data",
                "message": "please tell me what you hold",
            } } })
            .to_string(),
        );
    if let Some((name, value)) = header {
        request = request.header(name, value);
    }
    let body: Value = app.send(request).await.json();
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("OK")
        .to_owned()
}

/// Sends five messages as each of `clients` in turn (one header each), all allowed, then
/// one more as `over`, which must be refused.
async fn fill_then_refuse(app: &TestApp, clients: &[(&str, String)], over: (&str, &str)) {
    assert_eq!(clients.len(), 5);
    for (name, value) in clients {
        assert_eq!(
            contact(app, Some((name, value))).await,
            "OK",
            "{name}: {value}"
        );
    }
    assert_eq!(contact(app, Some(over)).await, "RATE_LIMITED", "{over:?}");
}

#[tokio::test]
async fn forwarding_headers_count_only_from_trusted_proxies_and_ipv6_by_its_64() {
    let app = TestApp::spawn_with(|settings| {
        settings.trusted_proxies = Some("127.0.0.1/32, ::1".to_owned());
    })
    .await;
    let xff = "x-forwarded-for";
    // One client behind the proxy has its own five; the next client is not limited by it.
    let one: Vec<_> = (0..5).map(|_| (xff, "198.51.100.1".to_owned())).collect();
    fill_then_refuse(&app, &one, (xff, "198.51.100.1")).await;
    assert_eq!(contact(&app, Some((xff, "198.51.100.2"))).await, "OK");
    // A client cannot escape by prepending an address: the proxy appended the real one.
    assert_eq!(
        contact(&app, Some((xff, "203.0.113.77, 198.51.100.1"))).await,
        "RATE_LIMITED"
    );
    // IPv6 by /64: five different addresses of one /64 share its five.
    let same_64: Vec<_> = (1..=5)
        .map(|n| (xff, format!("2001:db8:0:1::{n:x}")))
        .collect();
    fill_then_refuse(&app, &same_64, (xff, "2001:db8:0:1:ffff::1")).await;
    assert_eq!(contact(&app, Some((xff, "2001:db8:0:2::1"))).await, "OK");
    // RFC 7239 `Forwarded` is read too, and wins over `X-Forwarded-For`.
    let forwarded: Vec<_> = (0..5)
        .map(|_| ("forwarded", "for=\"[2001:db8:0:3::1]:4711\"".to_owned()))
        .collect();
    fill_then_refuse(&app, &forwarded, ("forwarded", "for=\"[2001:db8:0:3::2]\"")).await;
}

#[tokio::test]
async fn forwarding_headers_from_an_untrusted_peer_change_nothing() {
    let app = TestApp::spawn().await;
    let spoofed: Vec<_> = (1..=5)
        .map(|n| ("x-forwarded-for", format!("198.51.100.{n}")))
        .collect();
    fill_then_refuse(&app, &spoofed, ("forwarded", "for=198.51.100.99")).await;
}

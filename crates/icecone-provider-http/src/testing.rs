//! What the adapters' wiremock tests share (behind the `testing` feature, enabled only by
//! the adapters' dev-dependencies): a mock server with an adapter pointed at it, mounting
//! an answer, and the assertions every adapter must pass — nothing sent, no key or prompt
//! in an error, no key in `Debug`, every policy claim sourced and dated. What the provider
//! answers and what exactly is sent stay in each adapter's own tests.

use std::fmt;
use std::time::Duration;

use icecone_core::provider::adapter::{GenerationRequest, ProviderAdapter, ProviderError};
use icecone_core::provider::credential::ApiCredential;
use wiremock::matchers::{HeaderExactMatcher, header, method};
use wiremock::{Mock, MockBuilder, MockServer, ResponseTemplate};

/// The request timeout of an adapter under test: long enough for a busy machine; the
/// timeout tests set their own, shorter one.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// The smallest valid PNG: 1 × 1, RGB.
pub const ONE_PIXEL_PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90, 0x77, 0x53,
    0xde, 0x00, 0x00, 0x00, 0x0c, 0x49, 0x44, 0x41, 0x54, 0x08, 0xd7, 0x63, 0xf8, 0xcf, 0xc0, 0x00,
    0x00, 0x03, 0x01, 0x01, 0x00, 0x18, 0xdd, 0x8d, 0xb0, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e,
    0x44, 0xae, 0x42, 0x60, 0x82,
];

/// A fresh mock server and the adapter `build` makes from the server's URL
/// (`http://127.0.0.1:<port>`, no trailing `/`).
pub async fn adapter_against_mock<A, E: fmt::Debug>(
    build: impl FnOnce(&str) -> Result<A, E>,
) -> (MockServer, A) {
    let server = MockServer::start().await;
    let adapter = build(&server.uri()).expect("adapter builds");
    (server, adapter)
}

/// The base URL of a local port nothing listens on: every request to it fails to connect.
pub fn unreachable_base_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let address = listener.local_addr().expect("address");
    drop(listener);
    format!("http://{address}")
}

/// Matches `Authorization: Bearer <key>`.
pub fn bearer(key: &str) -> HeaderExactMatcher {
    header("authorization", format!("Bearer {key}").as_str())
}

/// Answers `expected` (a `Mock::given(..)` with its matchers) with `answer`, and fails the
/// test, when the server is dropped, unless exactly one request matched.
pub async fn answer_once(server: &MockServer, expected: MockBuilder, answer: ResponseTemplate) {
    expected.respond_with(answer).expect(1).mount(server).await;
}

/// Submits `request` to `adapter`, whose mock answers one `POST` with `answer`, and returns
/// the error the adapter makes of it.
pub async fn submit_answered(
    server: &MockServer,
    adapter: &dyn ProviderAdapter,
    request: &GenerationRequest,
    answer: ResponseTemplate,
) -> ProviderError {
    answer_once(server, Mock::given(method("POST")), answer).await;
    adapter
        .submit(request)
        .await
        .expect_err("the mock answers an error")
}

/// Sets `key` as the adapter's API key, as `setProviderCredential` does, asserting that the
/// adapter takes a key and is available afterwards.
pub fn set_key_at_run_time(adapter: &dyn ProviderAdapter, key: &str) {
    assert!(adapter.takes_credential());
    adapter.replace_credential(ApiCredential::parse(key).expect("valid key"));
    assert!(adapter.is_available());
}

/// Asserts that the mock has received no request at all.
pub async fn assert_nothing_sent(server: &MockServer) {
    let received = server.received_requests().await.expect("recorded");
    assert!(received.is_empty(), "{} requests sent", received.len());
}

/// Asserts that neither the `Display` nor the `Debug` output of `error` contains any of
/// `hidden` (parts of the key or of the prompt that the provider's answer quoted).
pub fn assert_error_hides(error: &ProviderError, hidden: &[&str]) {
    for shown in [error.to_string(), format!("{error:?}")] {
        for part in hidden {
            assert!(!shown.contains(part), "{part:?} shown in {shown}");
        }
    }
}

/// Asserts that the `Debug` output of `value` (an adapter) contains none of `keys`.
pub fn assert_debug_hides(value: &impl fmt::Debug, keys: &[&str]) {
    let shown = format!("{value:?}");
    for key in keys {
        assert!(!shown.contains(key), "{key:?} shown in {shown}");
    }
}

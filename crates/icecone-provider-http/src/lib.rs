//! What every HTTP provider adapter shares, written once: [`AdapterBase`] (the adapter's
//! identity, base URL, client and API key, and the requests it sends with that key), the
//! base URL check, the client with its timeouts, the slot holding the API key, the mapping
//! of HTTP answers and transport failures to [`ProviderError`], and fetching a finished
//! job's output from the provider's temporary URL ([`fetch`], where the provider's answer
//! never chooses where the gateway connects). How an adapter is configured — its section
//! of the settings, read and checked, and its registration ([`settings`]). Behind the
//! `testing` feature, the helpers of the adapters' wiremock tests (`testing`).
//!
//! Nothing here reads a provider's free-text error message (it may quote the prompt), logs
//! a URL (signed URLs carry credentials) or shows a key. Adapters' clients follow no
//! redirect: a provider's API answers where it was asked (a `3xx` is
//! [`ProviderError::Malformed`]), so an answer can neither send the request — with its
//! key — elsewhere nor make the gateway connect where it chooses.

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use icecone_core::provider::ProviderId;
use icecone_core::provider::adapter::{InvalidRequest, ProviderError};
use icecone_core::provider::credential::ApiCredential;
use icecone_core::provider::policy::ProviderPolicy;
use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret as _, SecretString};
use serde::de::DeserializeOwned;

pub mod fetch;
pub mod settings;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

/// Why an adapter cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The base URL is not an `http://` or `https://` URL.
    #[error("a provider base URL must start with https:// (or http:// for a local mock)")]
    BaseUrl,
    /// The HTTP client could not be initialised.
    #[error("cannot initialise the HTTP client")]
    Client(#[source] reqwest::Error),
    /// The adapter's id is not a valid provider id (a mistake in the adapter's code).
    #[error("an adapter's id must be a valid provider id")]
    Id,
}

/// The base URL without surrounding blanks or trailing `/`, if it is `http(s)://`.
pub fn base_url(text: &str) -> Result<String, BuildError> {
    let base = text.trim().trim_end_matches('/');
    if base.starts_with("https://") || base.starts_with("http://") {
        Ok(base.to_owned())
    } else {
        Err(BuildError::BaseUrl)
    }
}

/// A client whose requests give up after `timeout`, connecting for at most 10 s of it, and
/// that follows no redirect.
pub fn client(timeout: Duration) -> Result<reqwest::Client, BuildError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(BuildError::Client)
}

/// The API key an adapter uses: the configured one, until `setProviderCredential`
/// replaces it.
#[derive(Debug, Default)]
pub struct KeySlot(RwLock<Option<Arc<SecretString>>>);

impl KeySlot {
    /// A slot holding `key`, or nothing.
    pub fn new(key: Option<SecretString>) -> Self {
        Self(RwLock::new(key.map(Arc::new)))
    }

    /// The key in use, if any.
    pub fn get(&self) -> Option<Arc<SecretString>> {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The key in use, or [`ProviderError::Unauthorized`] when there is none.
    pub fn require(&self) -> Result<Arc<SecretString>, ProviderError> {
        self.get().ok_or(ProviderError::Unauthorized)
    }

    /// Uses `credential` from now on.
    pub fn replace(&self, credential: ApiCredential) {
        let key = Arc::new(SecretString::from(credential.expose()));
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = Some(key);
    }
}

/// Who an adapter is: what the gateway lists, publishes and routes on.
#[derive(Debug, Clone, Copy)]
pub struct Identity {
    /// The stable id clients use to pick the provider; a valid [`ProviderId`].
    pub id: &'static str,
    /// A human-readable name.
    pub name: &'static str,
    /// The provider's declared data-handling policy.
    pub policy: &'static ProviderPolicy,
}

/// How a provider takes its API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyHeader {
    /// `Authorization: Bearer <key>`.
    Bearer,
    /// The key alone in the named header, such as `X-Api-Key`.
    Named(&'static str),
}

/// What every HTTP adapter holds: its identity, the provider's base URL, the client, and
/// the API key in a [`KeySlot`]. An adapter keeps one and delegates the identity methods of
/// `ProviderAdapter` (`id`, `name`, `policy`, `is_available`, `replace_credential`) to it;
/// what remains in the adapter is the provider's own wire format, endpoints and status
/// mapping.
pub struct AdapterBase {
    id: ProviderId,
    name: &'static str,
    policy: &'static ProviderPolicy,
    key_header: KeyHeader,
    base_url: String,
    http: reqwest::Client,
    api_key: KeySlot,
}

impl AdapterBase {
    /// Checks the base URL and builds the client (see [`base_url`] and [`client`]); no
    /// request is sent.
    pub fn new(
        identity: Identity,
        key_header: KeyHeader,
        api_key: Option<SecretString>,
        base_url_text: &str,
        timeout: Duration,
    ) -> Result<Self, BuildError> {
        Ok(Self {
            id: ProviderId::parse(identity.id).map_err(|_| BuildError::Id)?,
            name: identity.name,
            policy: identity.policy,
            key_header,
            base_url: base_url(base_url_text)?,
            http: client(timeout)?,
            api_key: KeySlot::new(api_key),
        })
    }

    /// The adapter's id.
    pub fn id(&self) -> &ProviderId {
        &self.id
    }

    /// The adapter's human-readable name.
    pub fn name(&self) -> &str {
        self.name
    }

    /// The provider's declared data-handling policy.
    pub fn policy(&self) -> &ProviderPolicy {
        self.policy
    }

    /// Whether a key is set: without one, every request is refused before it is sent.
    pub fn has_key(&self) -> bool {
        self.api_key.get().is_some()
    }

    /// Uses `credential` as the API key from now on.
    pub fn replace_key(&self, credential: ApiCredential) {
        self.api_key.replace(credential);
    }

    /// A request to `path` (appended to the base URL) carrying the key as the provider
    /// takes it, or [`ProviderError::Unauthorized`] when there is no key.
    pub fn request(
        &self,
        method: Method,
        path: &str,
    ) -> Result<reqwest::RequestBuilder, ProviderError> {
        let key = self.api_key.require()?;
        let request = self
            .http
            .request(method, format!("{}{path}", self.base_url));
        Ok(match self.key_header {
            KeyHeader::Bearer => request.bearer_auth(key.expose_secret()),
            KeyHeader::Named(header) => {
                // Marked sensitive as `bearer_auth` marks its header: never in a `Debug`.
                let mut value = HeaderValue::from_str(key.expose_secret())
                    .map_err(|_| ProviderError::Unauthorized)?;
                value.set_sensitive(true);
                request.header(header, value)
            }
        })
    }
}

/// The policy is left out: it is public and long.
impl fmt::Debug for AdapterBase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdapterBase")
            .field("id", &self.id)
            .field("base_url", &self.base_url)
            .field("key_header", &self.key_header)
            .field("api_key", &self.api_key)
            .finish_non_exhaustive()
    }
}

/// A failure to exchange the request at all. The `reqwest` error is dropped: its text
/// names the URL, which is not ours to log from here.
pub fn transport(error: reqwest::Error) -> ProviderError {
    if error.is_timeout() {
        ProviderError::Timeout
    } else if error.is_decode() || error.is_body() {
        ProviderError::Malformed
    } else {
        ProviderError::Connect
    }
}

/// `Retry-After` in seconds (RFC 9110 §10.2.3). The HTTP-date form is not read: the
/// providers we speak to send seconds, and without it the router's own backoff applies.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    value.parse::<u64>().ok().map(Duration::from_secs)
}

/// The error an unsuccessful status means when the provider's body says nothing more
/// specific: 401/403 credentials, 408 timeout, 429 rate limit (with `Retry-After`), other
/// 4xx the request's parameters, 5xx the provider.
pub fn error_for_status(status: StatusCode, headers: &HeaderMap) -> ProviderError {
    match status.as_u16() {
        401 | 403 => ProviderError::Unauthorized,
        408 => ProviderError::Timeout,
        429 => ProviderError::RateLimited {
            retry_after: retry_after(headers),
        },
        status @ 400..=499 => InvalidRequest::Rejected { status }.into(),
        status @ 500..=599 => ProviderError::Unavailable { status },
        _ => ProviderError::Malformed,
    }
}

/// A whole answer: its status, headers and body.
#[derive(Debug)]
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Vec<u8>,
}

impl Answer {
    /// Sends `request` and reads the whole answer.
    pub async fn of(request: reqwest::RequestBuilder) -> Result<Self, ProviderError> {
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(transport)?.to_vec();
        Ok(Self {
            status,
            headers,
            body,
        })
    }

    /// The body as `R` when the status is a success; otherwise what `refine` makes of the
    /// error body, or [`error_for_status`].
    pub fn json<R: DeserializeOwned>(
        self,
        refine: impl FnOnce(StatusCode, &[u8]) -> Option<ProviderError>,
    ) -> Result<R, ProviderError> {
        if self.status.is_success() {
            serde_json::from_slice(&self.body).map_err(|_| ProviderError::Malformed)
        } else {
            Err(self.error(refine))
        }
    }

    /// For a call on a remote job, such as a delete: `Ok(true)` when the status is a
    /// success, `Ok(false)` when the provider does not know the job (404), otherwise what
    /// `refine` makes of the error body, or [`error_for_status`].
    pub fn found(
        self,
        refine: impl FnOnce(StatusCode, &[u8]) -> Option<ProviderError>,
    ) -> Result<bool, ProviderError> {
        match self.status {
            status if status.is_success() => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            _ => Err(self.error(refine)),
        }
    }

    /// The error an unsuccessful answer means: what `refine` makes of its body, or
    /// [`error_for_status`].
    pub fn error(
        &self,
        refine: impl FnOnce(StatusCode, &[u8]) -> Option<ProviderError>,
    ) -> ProviderError {
        refine(self.status, &self.body)
            .unwrap_or_else(|| error_for_status(self.status, &self.headers))
    }
}

/// The media type of a file by its magic bytes: PNG, JPEG, WebP, MP4/QuickTime or WebM.
pub fn sniff_media(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Some("image/jpeg")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        if &bytes[8..12] == b"qt  " {
            Some("video/quicktime")
        } else {
            Some("video/mp4")
        }
    } else if bytes.starts_with(&[0x1a, 0x45, 0xdf, 0xa3]) {
        Some("video/webm")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    #[test]
    fn statuses_map_to_typed_errors() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, "7".parse().expect("header"));
        // (status, with Retry-After, expected)
        let cases = [
            (401, false, ProviderError::Unauthorized),
            (403, false, ProviderError::Unauthorized),
            (408, false, ProviderError::Timeout),
            (
                429,
                true,
                ProviderError::RateLimited {
                    retry_after: Some(Duration::from_secs(7)),
                },
            ),
            (429, false, ProviderError::RateLimited { retry_after: None }),
            (400, false, InvalidRequest::Rejected { status: 400 }.into()),
            (422, false, InvalidRequest::Rejected { status: 422 }.into()),
            (500, false, ProviderError::Unavailable { status: 500 }),
            (503, false, ProviderError::Unavailable { status: 503 }),
            (302, false, ProviderError::Malformed),
        ];
        for (status, with_retry_after, expected) in cases {
            let status = StatusCode::from_u16(status).expect("status");
            let headers = if with_retry_after {
                headers.clone()
            } else {
                HeaderMap::new()
            };
            assert_eq!(error_for_status(status, &headers), expected, "{status}");
        }
    }

    #[test]
    fn retry_after_is_read_in_seconds_only() {
        for (value, expected) in [
            ("12", Some(Duration::from_secs(12))),
            (" 3 ", Some(Duration::from_secs(3))),
            ("Wed, 21 Oct 2015 07:28:00 GMT", None),
            ("-1", None),
        ] {
            let mut headers = HeaderMap::new();
            headers.insert(RETRY_AFTER, value.parse().expect("header"));
            assert_eq!(retry_after(&headers), expected, "{value}");
        }
    }

    #[test]
    fn media_types_are_read_from_magic_bytes() {
        let cases: [(&[u8], Option<&str>); 7] = [
            (b"\x89PNG\r\n\x1a\n....", Some("image/png")),
            (&[0xff, 0xd8, 0xff, 0xe0], Some("image/jpeg")),
            (b"RIFF\0\0\0\0WEBPVP8 ", Some("image/webp")),
            (b"\0\0\0\x18ftypmp42\0\0\0\0", Some("video/mp4")),
            (b"\0\0\0\x14ftypqt  \0\0\0\0", Some("video/quicktime")),
            (&[0x1a, 0x45, 0xdf, 0xa3, 0x01], Some("video/webm")),
            (b"<html>not media</html>", None),
        ];
        for (bytes, expected) in cases {
            assert_eq!(sniff_media(bytes), expected, "{bytes:?}");
        }
    }

    #[test]
    fn base_urls_are_http_or_https_without_a_trailing_slash() {
        assert_eq!(
            base_url(" https://api.example.com/v1/ ").expect("valid"),
            "https://api.example.com/v1"
        );
        assert!(base_url("ftp://api.example.com").is_err());
        assert!(base_url("api.example.com").is_err());
    }

    #[test]
    fn the_key_slot_is_empty_until_a_credential_arrives_and_never_debugs_the_key() {
        let slot = KeySlot::new(None);
        assert_eq!(slot.require().err(), Some(ProviderError::Unauthorized));
        slot.replace(ApiCredential::parse("sk-secret-value-123456").expect("valid"));
        assert!(slot.require().is_ok());
        assert!(!format!("{slot:?}").contains("secret-value"));
    }

    #[tokio::test]
    async fn the_base_sends_the_key_as_the_provider_takes_it_and_nothing_without_one() {
        use icecone_core::provider::policy::Claim;
        const URL: &str = "https://example.com/terms";
        const POLICY: ProviderPolicy = ProviderPolicy {
            capabilities: &[],
            data_categories: &[],
            training_use: Claim::unread(URL, "not read", chrono::NaiveDate::MIN),
            retention: Claim::unread(URL, "not read", chrono::NaiveDate::MIN),
            zero_data_retention: Claim::unread(URL, "not read", chrono::NaiveDate::MIN),
            output_retention: Claim::unread(URL, "not read", chrono::NaiveDate::MIN),
            region: Claim::unread(URL, "not read", chrono::NaiveDate::MIN),
            onward_processors: Claim::unread(URL, "not read", chrono::NaiveDate::MIN),
        };
        let identity = Identity {
            id: "example",
            name: "Example",
            policy: &POLICY,
        };
        let server = MockServer::start().await;
        let base_url = format!("{}/v1/", server.uri());
        let key = || Some(SecretString::from("sk-secret-value-123456"));
        let timeout = Duration::from_secs(5);
        for (key_header, name, value) in [
            (
                KeyHeader::Bearer,
                "authorization",
                "Bearer sk-secret-value-123456",
            ),
            (
                KeyHeader::Named("x-api-key"),
                "x-api-key",
                "sk-secret-value-123456",
            ),
        ] {
            Mock::given(method("GET"))
                .and(path("/v1/things"))
                .and(header(name, value))
                .respond_with(ResponseTemplate::new(204))
                .expect(1)
                .mount(&server)
                .await;
            let base =
                AdapterBase::new(identity, key_header, key(), &base_url, timeout).expect("builds");
            assert_eq!(
                (base.id().as_str(), base.name(), base.policy()),
                ("example", "Example", &POLICY)
            );
            assert!(base.has_key());
            assert!(!format!("{base:?}").contains("secret-value"));
            let request = base.request(Method::GET, "/things").expect("a key");
            let built = request
                .try_clone()
                .expect("no body")
                .build()
                .expect("a request");
            assert!(
                built.headers()[name].is_sensitive(),
                "the key's header is marked sensitive"
            );
            assert_eq!(
                Answer::of(request).await.map(|answer| answer.status),
                Ok(StatusCode::NO_CONTENT)
            );
            server.verify().await;
            server.reset().await;
        }

        // A redirect is answered, not followed: the key never goes where an answer says.
        Mock::given(method("GET"))
            .and(path("/v1/moved"))
            .respond_with(
                ResponseTemplate::new(302)
                    .insert_header("location", format!("{}/elsewhere", server.uri())),
            )
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(path("/elsewhere"))
            .respond_with(ResponseTemplate::new(200))
            .expect(0)
            .mount(&server)
            .await;
        let base = AdapterBase::new(identity, KeyHeader::Bearer, key(), &base_url, timeout)
            .expect("builds");
        let moved = Answer::of(base.request(Method::GET, "/moved").expect("a key"))
            .await
            .expect("answered");
        assert_eq!(moved.status, StatusCode::FOUND);
        assert_eq!(moved.error(|_, _| None), ProviderError::Malformed);
        server.verify().await;
        server.reset().await;

        let keyless = AdapterBase::new(identity, KeyHeader::Bearer, None, &base_url, timeout)
            .expect("builds");
        assert!(!keyless.has_key());
        assert_eq!(
            keyless.request(Method::GET, "/things").err(),
            Some(ProviderError::Unauthorized)
        );
        keyless.replace_key(ApiCredential::parse("sk-rotated-value-654321").expect("valid"));
        assert!(keyless.has_key());
        testing::assert_nothing_sent(&server).await;

        let invalid = Identity {
            id: "Not An Id",
            ..identity
        };
        assert!(matches!(
            AdapterBase::new(invalid, KeyHeader::Bearer, None, &base_url, timeout),
            Err(BuildError::Id)
        ));
    }
}

//! What every HTTP provider adapter shares, written once: the base URL check, the client
//! with its timeouts, the slot holding the API key, the mapping of HTTP answers and
//! transport failures to [`ProviderError`], and fetching a finished job's output from the
//! provider's temporary URL.
//!
//! Nothing here reads a provider's free-text error message (it may quote the prompt), logs
//! a URL (signed URLs carry credentials) or shows a key.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use icecone_core::provider::adapter::{InvalidRequest, MediaUrl, Output, ProviderError};
use icecone_core::provider::credential::ApiCredential;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use secrecy::SecretString;
use serde::de::DeserializeOwned;

/// Why an adapter cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The base URL is not an `http://` or `https://` URL.
    #[error("a provider base URL must start with https:// (or http:// for a local mock)")]
    BaseUrl,
    /// The HTTP client could not be initialised.
    #[error("cannot initialise the HTTP client")]
    Client(#[source] reqwest::Error),
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

/// A client whose requests give up after `timeout`, connecting for at most 10 s of it.
pub fn client(timeout: Duration) -> Result<reqwest::Client, BuildError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
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
            Err(refine(self.status, &self.body)
                .unwrap_or_else(|| error_for_status(self.status, &self.headers)))
        }
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

/// Fetches a finished job's output from the provider's temporary URL: at most `max_bytes`,
/// its media type read from its bytes (a type other than the expected family is
/// [`ProviderError::Malformed`]). A 403, 404 or 410 means the URL no longer serves it
/// ([`ProviderError::OutputGone`]).
pub async fn fetch_media(
    client: &reqwest::Client,
    url: &MediaUrl,
    max_bytes: usize,
) -> Result<Output, ProviderError> {
    let mut response = client.get(url.as_str()).send().await.map_err(transport)?;
    let status = response.status();
    if matches!(status.as_u16(), 403 | 404 | 410) {
        return Err(ProviderError::OutputGone);
    }
    if !status.is_success() {
        return Err(error_for_status(status, response.headers()));
    }
    if response
        .content_length()
        .is_some_and(|length| length > max_bytes as u64)
    {
        return Err(ProviderError::Malformed);
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport)? {
        if bytes.len() + chunk.len() > max_bytes {
            return Err(ProviderError::Malformed);
        }
        bytes.extend_from_slice(&chunk);
    }
    let mime_type = sniff_media(&bytes).ok_or(ProviderError::Malformed)?;
    Ok(Output::Media { bytes, mime_type })
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremock::matchers::{method, path};
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
    async fn fetching_media_reads_its_type_refuses_too_much_and_gone_urls() {
        let server = MockServer::start().await;
        let mp4 = b"\0\0\0\x18ftypmp42\0\0\0\0rest-of-video".to_vec();
        Mock::given(method("GET"))
            .and(path("/video.mp4"))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(mp4.clone()))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/page"))
            .respond_with(ResponseTemplate::new(200).set_body_string("<html></html>"))
            .mount(&server)
            .await;
        for (gone, status) in [("/gone-404", 404), ("/gone-410", 410), ("/expired", 403)] {
            Mock::given(method("GET"))
                .and(path(gone))
                .respond_with(ResponseTemplate::new(status))
                .mount(&server)
                .await;
        }
        Mock::given(method("GET"))
            .and(path("/busy"))
            .respond_with(ResponseTemplate::new(503))
            .mount(&server)
            .await;
        let client = client(Duration::from_secs(5)).expect("client");
        let url = |path: &str| MediaUrl::parse(&format!("{}{path}", server.uri())).expect("url");

        let fetched = fetch_media(&client, &url("/video.mp4"), 1024)
            .await
            .expect("fetched");
        assert_eq!(
            fetched,
            Output::Media {
                bytes: mp4.clone(),
                mime_type: "video/mp4"
            }
        );
        assert_eq!(
            fetch_media(&client, &url("/video.mp4"), mp4.len() - 1).await,
            Err(ProviderError::Malformed)
        );
        assert_eq!(
            fetch_media(&client, &url("/page"), 1024).await,
            Err(ProviderError::Malformed)
        );
        for gone in ["/gone-404", "/gone-410", "/expired"] {
            assert_eq!(
                fetch_media(&client, &url(gone), 1024).await,
                Err(ProviderError::OutputGone),
                "{gone}"
            );
        }
        assert_eq!(
            fetch_media(&client, &url("/busy"), 1024).await,
            Err(ProviderError::Unavailable { status: 503 })
        );
    }
}

//! Fetching a URL that a provider's answer gave us — a finished job's output at its
//! temporary URL — without letting that answer choose where the gateway connects.
//!
//! Every destination is vetted by core's address policy
//! (`icecone_core::provider::outbound`) before anything is sent to it:
//!
//! - the scheme (`https` only in production);
//! - an address written in the URL, before the request is made;
//! - a host name, by the client's own resolver ([`VettingResolver`]): it resolves the name,
//!   refuses it when any of its addresses is refused, and hands the connector exactly the
//!   addresses it vetted — so the connection goes to a vetted address, and a second lookup
//!   (DNS rebinding) cannot swap it;
//! - every redirect, as the first URL (at most [`MAX_REDIRECTS`]).
//!
//! The client uses no proxy (a proxy would resolve the name itself) and sends no `Referer`
//! (a signed URL's query is a credential). A refused destination is
//! [`ProviderError::UnsafeUrl`]: nothing was sent there.

use std::error::Error as StdError;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use icecone_core::provider::adapter::{MediaUrl, Output, ProviderError};
use icecone_core::provider::outbound::{OutboundPolicy, Refusal, vet_address, vet_scheme};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::{BuildError, error_for_status, sniff_media, transport};

/// The most redirects followed from an output's URL.
pub const MAX_REDIRECTS: usize = 3;

/// A destination refused by the address policy; carried through the HTTP client's error
/// chain so that it surfaces as [`ProviderError::UnsafeUrl`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(transparent)]
pub struct Refused(pub Refusal);

/// More redirects than [`MAX_REDIRECTS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many redirects")]
struct TooManyRedirects;

/// The address written in a URL's host, if it is one (`[::1]` included).
fn literal_address(host: &str) -> Option<IpAddr> {
    host.strip_prefix('[')
        .and_then(|host| host.strip_suffix(']'))
        .unwrap_or(host)
        .parse()
        .ok()
}

/// Vets what can be vetted of `url` without resolving: its scheme and an address written
/// in it. A host name is vetted when it is resolved ([`VettingResolver`]).
pub fn vet_url(url: &reqwest::Url, policy: &OutboundPolicy) -> Result<(), Refused> {
    vet_scheme(url.scheme(), policy).map_err(Refused)?;
    let host = url.host_str().ok_or(Refused(Refusal::Address(
        icecone_core::provider::outbound::AddressClass::Unspecified,
    )))?;
    match literal_address(host) {
        Some(ip) => vet_address(ip, policy).map_err(Refused),
        None => Ok(()),
    }
}

/// The client's resolver: resolves with the system's resolver and returns the addresses
/// only when every one of them passes the policy.
pub struct VettingResolver {
    policy: Arc<OutboundPolicy>,
}

impl fmt::Debug for VettingResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VettingResolver")
            .field("policy", &self.policy)
            .finish()
    }
}

impl Resolve for VettingResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            for address in &found {
                vet_address(address.ip(), &policy).map_err(Refused)?;
            }
            Ok(Box::new(found.into_iter()) as Addrs)
        })
    }
}

/// Whether `error`'s chain holds a refusal of the address policy.
fn refused(error: &(dyn StdError + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(error) = next {
        if error.is::<Refused>() {
            return true;
        }
        next = error.source();
    }
    false
}

fn too_many_redirects(error: &(dyn StdError + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(error) = next {
        if error.is::<TooManyRedirects>() {
            return true;
        }
        next = error.source();
    }
    false
}

/// The provider error a failed exchange means: a refused destination, too many redirects,
/// or [`transport`].
fn failure(error: reqwest::Error) -> ProviderError {
    if refused(&error) {
        ProviderError::UnsafeUrl
    } else if too_many_redirects(&error) {
        ProviderError::Malformed
    } else {
        transport(error)
    }
}

/// Fetches outputs from the URLs providers' answers give, only from destinations the
/// address policy allows.
pub struct MediaFetcher {
    http: reqwest::Client,
    policy: Arc<OutboundPolicy>,
}

impl fmt::Debug for MediaFetcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MediaFetcher")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl MediaFetcher {
    /// A fetcher whose requests give up after `timeout` (connecting for at most 10 s of
    /// it), going only where `policy` allows.
    pub fn new(timeout: Duration, policy: OutboundPolicy) -> Result<Self, BuildError> {
        let policy = Arc::new(policy);
        let redirects = policy.clone();
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .no_proxy()
            .referer(false)
            .dns_resolver(Arc::new(VettingResolver {
                policy: policy.clone(),
            }))
            .redirect(reqwest::redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() > MAX_REDIRECTS {
                    return attempt.error(TooManyRedirects);
                }
                match vet_url(attempt.url(), &redirects) {
                    Ok(()) => attempt.follow(),
                    Err(refusal) => attempt.error(refusal),
                }
            }))
            .build()
            .map_err(BuildError::Client)?;
        Ok(Self { http, policy })
    }

    /// Fetches a finished job's output from the provider's temporary URL: at most
    /// `max_bytes`, its media type read from its bytes (a type other than the expected
    /// family is [`ProviderError::Malformed`]). A 403, 404 or 410 means the URL no longer
    /// serves it ([`ProviderError::OutputGone`]); a destination the policy refuses, at the
    /// URL or a redirect, is [`ProviderError::UnsafeUrl`] and nothing is sent there.
    pub async fn fetch(&self, url: &MediaUrl, max_bytes: usize) -> Result<Output, ProviderError> {
        let parsed = reqwest::Url::parse(url.as_str()).map_err(|_| ProviderError::Malformed)?;
        vet_url(&parsed, &self.policy).map_err(|_| ProviderError::UnsafeUrl)?;
        let mut response = self.http.get(parsed).send().await.map_err(failure)?;
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
        while let Some(chunk) = response.chunk().await.map_err(failure)? {
            if bytes.len() + chunk.len() > max_bytes {
                return Err(ProviderError::Malformed);
            }
            bytes.extend_from_slice(&chunk);
        }
        let mime_type = sniff_media(&bytes).ok_or(ProviderError::Malformed)?;
        Ok(Output::Media { bytes, mime_type })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use icecone_core::net::Cidr;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn fetcher(allow: &[&str]) -> MediaFetcher {
        let allow = allow
            .iter()
            .map(|cidr| cidr.parse::<Cidr>().expect("cidr"))
            .collect();
        MediaFetcher::new(Duration::from_secs(5), OutboundPolicy::development(allow))
            .expect("fetcher")
    }

    fn url(text: &str) -> MediaUrl {
        MediaUrl::parse(text).expect("url")
    }

    /// A mock server on `ip`, answering every request with 500: none may arrive.
    async fn forbidden_server(ip: &str) -> MockServer {
        let listener = std::net::TcpListener::bind((ip, 0)).expect("bind");
        let server = MockServer::builder().listener(listener).start().await;
        Mock::given(wiremock::matchers::any())
            .respond_with(ResponseTemplate::new(500))
            .expect(0)
            .mount(&server)
            .await;
        server
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
        let fetcher = fetcher(&["127.0.0.1/32"]);
        let at = |path: &str| url(&format!("{}{path}", server.uri()));

        let fetched = fetcher
            .fetch(&at("/video.mp4"), 1024)
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
            fetcher.fetch(&at("/video.mp4"), mp4.len() - 1).await,
            Err(ProviderError::Malformed)
        );
        assert_eq!(
            fetcher.fetch(&at("/page"), 1024).await,
            Err(ProviderError::Malformed)
        );
        for gone in ["/gone-404", "/gone-410", "/expired"] {
            assert_eq!(
                fetcher.fetch(&at(gone), 1024).await,
                Err(ProviderError::OutputGone),
                "{gone}"
            );
        }
        assert_eq!(
            fetcher.fetch(&at("/busy"), 1024).await,
            Err(ProviderError::Unavailable { status: 503 })
        );
    }

    #[tokio::test]
    async fn a_url_at_a_refused_address_is_never_requested() {
        let server = forbidden_server("127.0.0.1").await;
        let port = server.address().port();
        let nothing_allowed = fetcher(&[]);
        for text in [
            server.uri(),
            format!("http://127.0.0.1:{port}/out.mp4"),
            // Other spellings of the same address.
            format!("http://2130706433:{port}/out.mp4"),
            format!("http://0x7f.0.0.1:{port}/out.mp4"),
            format!("http://[::ffff:127.0.0.1]:{port}/out.mp4"),
            // A name that resolves to loopback.
            format!("http://localhost:{port}/out.mp4"),
        ] {
            assert_eq!(
                nothing_allowed.fetch(&url(&text), 1024).await,
                Err(ProviderError::UnsafeUrl),
                "{text}"
            );
        }
        // Listed or not, never the metadata service, a private or a link-local address.
        let loopback_allowed = fetcher(&["127.0.0.1/32", "169.254.0.0/16"]);
        for text in [
            "http://169.254.169.254/latest/meta-data/",
            "http://[fd00:ec2::254]/latest/meta-data/",
            "http://10.0.0.1/out.mp4",
            "http://[fe80::1]/out.mp4",
            "http://100.64.0.1/out.mp4",
            "http://0.0.0.0/out.mp4",
        ] {
            assert_eq!(
                loopback_allowed.fetch(&url(text), 1024).await,
                Err(ProviderError::UnsafeUrl),
                "{text}"
            );
        }
        // Production fetches https only.
        let production = MediaFetcher::new(Duration::from_secs(5), OutboundPolicy::production())
            .expect("fetcher");
        assert_eq!(
            production
                .fetch(&url("http://cdn.example.com/out.mp4"), 1024)
                .await,
            Err(ProviderError::UnsafeUrl)
        );
        server.verify().await;
    }

    #[tokio::test]
    async fn a_name_is_connected_to_at_the_address_its_resolution_vetted() {
        let server = MockServer::start().await;
        let png = b"\x89PNG\r\n\x1a\n0123".to_vec();
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(png.clone()))
            .expect(1)
            .mount(&server)
            .await;
        let port = server.address().port();
        // `localhost` may resolve to 127.0.0.1 and ::1: allowed when both are.
        let fetched = fetcher(&["127.0.0.1/32", "::1/128"])
            .fetch(&url(&format!("http://localhost:{port}/out.png")), 1024)
            .await;
        assert_eq!(
            fetched,
            Ok(Output::Media {
                bytes: png,
                mime_type: "image/png"
            })
        );
    }

    #[tokio::test]
    async fn every_redirect_is_vetted_like_the_first_url() {
        let target = forbidden_server("127.0.0.2").await;
        let origin = MockServer::start().await;
        let png = b"\x89PNG\r\n\x1a\n0123".to_vec();
        Mock::given(path("/to-loopback"))
            .respond_with(
                ResponseTemplate::new(302)
                    .insert_header("location", format!("{}/secret", target.uri())),
            )
            .expect(1)
            .mount(&origin)
            .await;
        Mock::given(path("/to-metadata"))
            .respond_with(
                ResponseTemplate::new(307)
                    .insert_header("location", "http://169.254.169.254/latest/meta-data/"),
            )
            .expect(1)
            .mount(&origin)
            .await;
        Mock::given(path("/loop"))
            .respond_with(ResponseTemplate::new(302).insert_header("location", "/loop"))
            .mount(&origin)
            .await;
        Mock::given(path("/hop"))
            .respond_with(ResponseTemplate::new(302).insert_header("location", "/final"))
            .expect(1)
            .mount(&origin)
            .await;
        Mock::given(path("/final"))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(png.clone()))
            .expect(1)
            .mount(&origin)
            .await;
        // Only the origin's own address is allowed.
        let fetcher = fetcher(&["127.0.0.1/32"]);
        for refused in ["/to-loopback", "/to-metadata"] {
            assert_eq!(
                fetcher
                    .fetch(&url(&format!("{}{refused}", origin.uri())), 1024)
                    .await,
                Err(ProviderError::UnsafeUrl),
                "{refused}"
            );
        }
        assert_eq!(
            fetcher
                .fetch(&url(&format!("{}/loop", origin.uri())), 1024)
                .await,
            Err(ProviderError::Malformed)
        );
        assert_eq!(
            fetcher
                .fetch(&url(&format!("{}/hop", origin.uri())), 1024)
                .await,
            Ok(Output::Media {
                bytes: png,
                mime_type: "image/png"
            })
        );
        target.verify().await;
        origin.verify().await;
    }
}

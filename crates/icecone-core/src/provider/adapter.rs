//! The provider-neutral requests and outputs, the typed [`ProviderError`], and the
//! dyn-compatible [`ProviderAdapter`] trait.
//!
//! Futures are std futures, boxed so that the trait stays dyn-compatible; core depends on
//! no async runtime. An adapter crate knows its provider's wire format and nothing else.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use super::credential::ApiCredential;
use super::policy::ProviderPolicy;
use super::{Capability, ProviderId};

/// A prompt: not blank, at most [`Prompt::MAX_CHARS`] characters.
///
/// Its `Debug` output shows the length only: a prompt is personal data.
#[derive(Clone, PartialEq, Eq)]
pub struct Prompt(String);

impl Prompt {
    /// The longest prompt any adapter is given; adapters may accept less
    /// ([`InvalidRequest::PromptTooLong`]).
    pub const MAX_CHARS: usize = 32_000;

    /// Parses a prompt.
    pub fn parse(text: &str) -> Result<Self, InvalidRequest> {
        if text.trim().is_empty() {
            return Err(InvalidRequest::EmptyPrompt);
        }
        if text.chars().count() > Self::MAX_CHARS {
            return Err(InvalidRequest::PromptTooLong {
                max_chars: Self::MAX_CHARS,
            });
        }
        Ok(Self(text.to_owned()))
    }

    /// The prompt's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Its length in characters.
    pub fn chars(&self) -> usize {
        self.0.chars().count()
    }

    /// Refuses the prompt when it is longer than an adapter accepts.
    pub fn check_len(&self, max_chars: usize) -> Result<(), InvalidRequest> {
        if self.chars() > max_chars {
            Err(InvalidRequest::PromptTooLong { max_chars })
        } else {
            Ok(())
        }
    }
}

impl fmt::Debug for Prompt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Prompt({} chars)", self.chars())
    }
}

/// A text generation request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextRequest {
    /// What to write about.
    pub prompt: Prompt,
    /// The most tokens to generate; `None` leaves it to the provider.
    pub max_tokens: Option<u32>,
}

/// The shape of a generated image; adapters map it to the nearest size their provider has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageSize {
    /// Square.
    Square,
    /// Wider than high.
    Landscape,
    /// Higher than wide.
    Portrait,
}

/// An image generation request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRequest {
    /// What to draw.
    pub prompt: Prompt,
    /// The shape of the image.
    pub size: ImageSize,
}

/// A video generation request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoRequest {
    /// What to film (for a talking avatar: what it says).
    pub prompt: Prompt,
    /// An image to start the video from, where the provider animates images.
    pub image: Option<MediaUrl>,
    /// How long the video should be.
    pub duration_seconds: u32,
}

/// An `http` or `https` URL of a piece of media: an input image a person gives, or the
/// temporary URL where a provider keeps an output until we fetch it.
///
/// Parsed, not validated: a scheme other than `http`/`https`, a missing host, credentials in
/// the authority, whitespace or control characters are refused. Its `Debug` output shows
/// the scheme and host only — signed URLs carry credentials in their query.
#[derive(Clone, PartialEq, Eq)]
pub struct MediaUrl(String);

/// Why a text is not a [`MediaUrl`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a media URL is an http or https URL with a host and no credentials")]
pub struct InvalidMediaUrl;

impl MediaUrl {
    /// The longest URL accepted.
    pub const MAX_LEN: usize = 4_096;

    /// Parses a URL.
    pub fn parse(text: &str) -> Result<Self, InvalidMediaUrl> {
        if text.len() > Self::MAX_LEN || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(InvalidMediaUrl);
        }
        let lower = text.get(..8).unwrap_or(text).to_ascii_lowercase();
        let rest = if lower.starts_with("https://") {
            &text[8..]
        } else if lower.starts_with("http://") {
            &text[7..]
        } else {
            return Err(InvalidMediaUrl);
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let host = match authority.rsplit_once(':') {
            Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
            _ => authority,
        };
        if host.is_empty() || authority.contains('@') {
            return Err(InvalidMediaUrl);
        }
        Ok(Self(text.to_owned()))
    }

    /// The URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The scheme and authority, such as `https://cdn.example.com`: what may be logged.
    pub fn origin(&self) -> &str {
        let after_scheme = self.0.find("://").map_or(0, |at| at + 3);
        let end = self.0[after_scheme..]
            .find(['/', '?', '#'])
            .map_or(self.0.len(), |at| after_scheme + at);
        &self.0[..end]
    }
}

impl fmt::Debug for MediaUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MediaUrl({}/…)", self.origin())
    }
}

/// A finished job's output that the provider keeps at a temporary URL; the gateway fetches
/// it into its encrypted store and then asks the provider to delete its copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteMedia {
    /// Where the output can be fetched.
    pub url: MediaUrl,
    /// Its media type, such as `video/mp4`.
    pub mime_type: &'static str,
}

/// Something to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GenerationRequest {
    /// Text.
    Text(TextRequest),
    /// An image.
    Image(ImageRequest),
    /// A video.
    Video(VideoRequest),
}

impl GenerationRequest {
    /// The capability a provider needs to take the request.
    pub fn capability(&self) -> Capability {
        match self {
            Self::Text(_) => Capability::Text,
            Self::Image(_) => Capability::Image,
            Self::Video(_) => Capability::Video,
        }
    }

    /// The request's prompt.
    pub fn prompt(&self) -> &Prompt {
        match self {
            Self::Text(request) => &request.prompt,
            Self::Image(request) => &request.prompt,
            Self::Video(request) => &request.prompt,
        }
    }
}

/// Tokens counted for a text generation, for metering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TokenUsage {
    /// Tokens of the prompt.
    pub prompt_tokens: u32,
    /// Tokens generated.
    pub completion_tokens: u32,
}

/// What a provider generated.
#[derive(Clone, PartialEq, Eq)]
pub enum Output {
    /// Generated text.
    Text {
        /// The text.
        text: String,
        /// The tokens it took.
        usage: TokenUsage,
    },
    /// A generated image or video.
    Media {
        /// The file's bytes.
        bytes: Vec<u8>,
        /// Its media type, such as `image/png`.
        mime_type: &'static str,
    },
}

impl fmt::Debug for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text { text, usage } => f
                .debug_struct("Text")
                .field("chars", &text.chars().count())
                .field("usage", usage)
                .finish(),
            Self::Media { bytes, mime_type } => f
                .debug_struct("Media")
                .field("bytes", &bytes.len())
                .field("mime_type", mime_type)
                .finish(),
        }
    }
}

/// A provider's id for a job that runs asynchronously on its side.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JobHandle(String);

impl JobHandle {
    /// Wraps a provider's job id.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The provider's job id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The answer to a submitted request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submission {
    /// The provider answered at once.
    Done(Output),
    /// The provider runs the job asynchronously: poll it.
    Pending(JobHandle),
}

/// The state of an asynchronous job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobStatus {
    /// Queued or running.
    Running,
    /// Finished with an output.
    Done(Output),
    /// Finished; the output waits at a temporary URL for the gateway to fetch.
    Ready(RemoteMedia),
    /// Cancelled before it finished.
    Cancelled,
}

/// What became of the provider's copy of a job's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoteDeletion {
    /// The provider deleted it on our request.
    Deleted,
    /// The provider keeps nothing that could be deleted (see the effective policy).
    NothingKept,
    /// The provider offers no way to delete it; its retention is what the effective policy
    /// says.
    NotSupported,
}

/// Why a request is refused before or by the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidRequest {
    /// The prompt is empty or blank.
    #[error("the prompt is empty")]
    EmptyPrompt,
    /// The prompt is longer than accepted.
    #[error("the prompt is longer than {max_chars} characters")]
    PromptTooLong {
        /// The most characters accepted.
        max_chars: usize,
    },
    /// The adapter cannot generate this kind of content.
    #[error("the provider cannot generate {}", .0.as_str())]
    Unsupported(Capability),
    /// The provider refused the request's parameters (HTTP 400, 404 or 422).
    #[error("the provider refused the request's parameters (HTTP {status})")]
    Rejected {
        /// The provider's HTTP status.
        status: u16,
    },
}

/// Why a provider call failed. Never carries a prompt, an output, a key or a provider's
/// free-text message (which may quote the prompt).
///
/// [`ProviderError::is_transient`] errors are worth a retry; the others are permanent for
/// this request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProviderError {
    /// The provider refused our credentials (HTTP 401 or 403), or none are configured.
    #[error("the provider refused the credentials")]
    Unauthorized,
    /// The provider asks us to slow down (HTTP 429).
    #[error("the provider is rate limiting requests")]
    RateLimited {
        /// How long the provider asked us to wait (`Retry-After`), when it said.
        retry_after: Option<Duration>,
    },
    /// The account's quota or credit at the provider is spent.
    #[error("the provider account's quota is exhausted")]
    QuotaExhausted,
    /// The provider failed or is overloaded (HTTP 5xx).
    #[error("the provider is unavailable (HTTP {status})")]
    Unavailable {
        /// The provider's HTTP status.
        status: u16,
    },
    /// No answer in time.
    #[error("the provider did not answer in time")]
    Timeout,
    /// The provider could not be reached.
    #[error("the provider could not be reached")]
    Connect,
    /// The provider answered something we cannot read.
    #[error("the provider's answer is malformed")]
    Malformed,
    /// The provider refused the content under its usage policy.
    #[error("the provider refused the request under its content policy")]
    ContentPolicy,
    /// The request is invalid for this provider.
    #[error(transparent)]
    InvalidRequest(#[from] InvalidRequest),
    /// The adapter does not support this operation (for example polling a synchronous
    /// provider).
    #[error("the provider does not support this operation")]
    UnsupportedOperation,
    /// The provider reports that the job failed (its reason is not kept: it may quote the
    /// prompt).
    #[error("the provider reports that the job failed")]
    JobFailed,
    /// The provider does not know the job (it expired or was deleted).
    #[error("the provider does not know the job")]
    UnknownJob,
    /// The output's temporary URL no longer serves it (HTTP 403, 404 or 410).
    #[error("the output is no longer available at the provider")]
    OutputGone,
    /// A URL in the provider's answer (or a redirect from it) leads to a destination the
    /// gateway does not connect to: a loopback, private, link-local, metadata or otherwise
    /// non-public address, or plain HTTP in production. Nothing was sent there.
    #[error("the provider's answer points at a destination the gateway does not fetch from")]
    UnsafeUrl,
    /// The provider does not know, or no longer offers, the model configured for `kind`
    /// (retired, renamed, or not open to this account): the deployment's setting `setting`
    /// of the provider's section must change. Nothing about the request is wrong.
    #[error("the provider does not offer the {} model this deployment is configured with", .kind.as_str())]
    ModelUnavailable {
        /// The kind of content the model was configured for.
        kind: Capability,
        /// The key of the model setting in the provider's section (`text_model`).
        setting: &'static str,
    },
}

impl ProviderError {
    /// Whether the same request may succeed if tried again shortly: rate limits, 5xx,
    /// timeouts and connection failures.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. } | Self::Unavailable { .. } | Self::Timeout | Self::Connect
        )
    }

    /// Whether the failure says something about the provider rather than about this
    /// request: these count towards opening its circuit breaker. An unavailable model does not count either: it says something about one kind of
    /// the provider's content, which the router takes out of use on its own.
    pub fn counts_against_provider(&self) -> bool {
        !matches!(
            self,
            Self::ContentPolicy
                | Self::InvalidRequest(_)
                | Self::UnsupportedOperation
                | Self::ModelUnavailable { .. }
        )
    }

    /// How long the provider asked us to wait, when it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after } => *retry_after,
            _ => None,
        }
    }
}

/// The boxed future every adapter method returns (dyn-compatible, runtime-free).
pub type ProviderFuture<'a, T> =
    Pin<Box<dyn Future<Output = Result<T, ProviderError>> + Send + 'a>>;

/// An AI provider as the gateway uses it.
///
/// Dyn-compatible: the gateway holds adapters as `Arc<dyn ProviderAdapter>`. An adapter
/// sends only the request's prompt and the parameters the provider needs — never an
/// e-mail address, a name or an account id.
pub trait ProviderAdapter: fmt::Debug + Send + Sync {
    /// The adapter's stable id.
    fn id(&self) -> &ProviderId;
    /// A human-readable name.
    fn name(&self) -> &str;
    /// The provider's declared data-handling policy.
    fn policy(&self) -> &ProviderPolicy;
    /// Whether the adapter can take requests now (for example, whether it has an API key).
    fn is_available(&self) -> bool;
    /// The model this deployment uses for each kind of content the adapter generates, with
    /// its family. Adapters that declare none are their own family for routing.
    fn models(&self) -> Vec<super::ModelRoute> {
        Vec::new()
    }
    /// Whether the adapter authenticates with an API key (the built-in `local` does not).
    fn takes_credential(&self) -> bool {
        false
    }
    /// Uses `credential` as the provider API key from now on. Adapters that take no key
    /// ignore it.
    fn replace_credential(&self, credential: ApiCredential) {
        let _ = credential;
    }
    /// Sends a request; synchronous providers answer [`Submission::Done`].
    fn submit<'a>(&'a self, request: &'a GenerationRequest) -> ProviderFuture<'a, Submission>;
    /// The state of an asynchronous job.
    fn poll<'a>(&'a self, job: &'a JobHandle) -> ProviderFuture<'a, JobStatus> {
        let _ = job;
        Box::pin(std::future::ready(Err(ProviderError::UnsupportedOperation)))
    }
    /// Cancels an asynchronous job.
    fn cancel<'a>(&'a self, job: &'a JobHandle) -> ProviderFuture<'a, ()> {
        let _ = job;
        Box::pin(std::future::ready(Err(ProviderError::UnsupportedOperation)))
    }
    /// Deletes the provider's copy of a job's data, where the provider supports it.
    fn delete_remote<'a>(&'a self, job: &'a JobHandle) -> ProviderFuture<'a, RemoteDeletion> {
        let _ = job;
        Box::pin(std::future::ready(Ok(RemoteDeletion::NotSupported)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts_are_not_blank_and_not_too_long_and_debug_shows_their_length_only() {
        assert_eq!(Prompt::parse(""), Err(InvalidRequest::EmptyPrompt));
        assert_eq!(Prompt::parse(" \n\t"), Err(InvalidRequest::EmptyPrompt));
        let longest = "é".repeat(Prompt::MAX_CHARS);
        assert!(Prompt::parse(&longest).is_ok());
        assert_eq!(
            Prompt::parse(&format!("{longest}x")),
            Err(InvalidRequest::PromptTooLong {
                max_chars: Prompt::MAX_CHARS
            })
        );
        let prompt = Prompt::parse("a secret wish").expect("valid");
        assert_eq!(format!("{prompt:?}"), "Prompt(13 chars)");
        assert_eq!(
            prompt.check_len(12),
            Err(InvalidRequest::PromptTooLong { max_chars: 12 })
        );
        assert_eq!(prompt.check_len(13), Ok(()));
    }

    #[test]
    fn transient_errors_are_exactly_rate_limits_5xx_timeouts_and_connection_failures() {
        // (error, transient, counts against the provider)
        let cases = [
            (ProviderError::Unauthorized, false, true),
            (ProviderError::RateLimited { retry_after: None }, true, true),
            (ProviderError::QuotaExhausted, false, true),
            (ProviderError::Unavailable { status: 503 }, true, true),
            (ProviderError::Timeout, true, true),
            (ProviderError::Connect, true, true),
            (ProviderError::Malformed, false, true),
            (ProviderError::ContentPolicy, false, false),
            (InvalidRequest::EmptyPrompt.into(), false, false),
            (ProviderError::UnsupportedOperation, false, false),
            (ProviderError::JobFailed, false, true),
            (ProviderError::UnknownJob, false, true),
            (ProviderError::OutputGone, false, true),
            (
                ProviderError::ModelUnavailable {
                    kind: Capability::Text,
                    setting: "text_model",
                },
                false,
                false,
            ),
        ];
        for (error, transient, counts) in cases {
            assert_eq!(error.is_transient(), transient, "{error:?}");
            assert_eq!(error.counts_against_provider(), counts, "{error:?}");
        }
    }

    #[test]
    fn media_urls_are_http_or_https_with_a_host_and_debug_shows_the_origin_only() {
        // (text, accepted)
        let cases = [
            ("https://cdn.example.com/v/1.mp4?sig=secret", true),
            ("HTTPS://cdn.example.com/v.mp4", true),
            ("http://127.0.0.1:8080/out", true),
            ("https://[::1]:443/out", true),
            ("https://cdn.example.com", true),
            ("ftp://cdn.example.com/v.mp4", false),
            ("file:///etc/passwd", false),
            ("data:image/png;base64,AAAA", false),
            ("javascript:alert(1)", false),
            ("https://", false),
            ("https:///path", false),
            ("https://user:pass@cdn.example.com/v.mp4", false),
            ("https://cdn.example.com/a b", false),
            ("https://cdn.example.com/\u{7}", false),
            ("cdn.example.com/v.mp4", false),
            ("", false),
        ];
        for (text, accepted) in cases {
            assert_eq!(MediaUrl::parse(text).is_ok(), accepted, "{text}");
        }
        let long = format!("https://cdn.example.com/{}", "a".repeat(MediaUrl::MAX_LEN));
        assert_eq!(MediaUrl::parse(&long), Err(InvalidMediaUrl));

        let url =
            MediaUrl::parse("https://cdn.example.com:8443/v/1.mp4?sig=secret").expect("valid");
        assert_eq!(url.origin(), "https://cdn.example.com:8443");
        assert_eq!(
            format!("{url:?}"),
            "MediaUrl(https://cdn.example.com:8443/…)"
        );
        assert!(!format!("{url:?}").contains("secret"));
    }

    #[test]
    fn outputs_show_sizes_not_content_in_debug() {
        let text = Output::Text {
            text: "private words".to_owned(),
            usage: TokenUsage::default(),
        };
        assert!(!format!("{text:?}").contains("private"));
    }
}

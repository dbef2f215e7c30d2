//! `stability`: images through Stability AI's Stable Image endpoints
//! (`POST /v2beta/stable-image/generate/{core|ultra}`, multipart/form-data, the image's
//! bytes in the answer), with Stability AI's data-handling policy as sourced, dated claims.
//!
//! Only the prompt, the aspect ratio and the output format are sent: no e-mail address,
//! name, account id, `stability-client-user-id` or any other identifying header. The API key
//! is held as a [`SecretString`] and is never logged, shown by `Debug` or carried by an
//! error.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::NaiveDate;
use icecone_core::provider::adapter::{
    GenerationRequest, InvalidRequest, ProviderAdapter, ProviderFuture, Submission,
};
use icecone_core::provider::credential::ApiCredential;
use icecone_core::provider::policy::{Claim, DataCategory, ProviderPolicy};
use icecone_core::provider::{Capability, ProviderId};
use icecone_provider_http::{AdapterBase, Identity, KeyHeader};
use secrecy::SecretString;

mod client;
mod wire;

/// The id clients use to pick this provider.
pub const ID: &str = "stability";

/// Stability AI's public API.
pub const DEFAULT_BASE_URL: &str = "https://api.stability.ai";

/// The longest prompt the Stable Image endpoints take (`prompt`: 1 to 10,000 characters).
const MAX_PROMPT_CHARS: usize = 10_000;

/// The day the sentences quoted below were read (from stored copies of the pages; see
/// `docs/providers.md`, "Re-verifying claims").
const READ_ON: NaiveDate = match NaiveDate::from_ymd_opt(2026, 12, 7) {
    Some(date) => date,
    None => panic!("invalid date"),
};

/// Stability AI's privacy policy.
const PRIVACY_POLICY: &str = "https://stability.ai/privacy-policy";

/// Stability AI's terms of service, which govern the API.
const TERMS_OF_SERVICE: &str = "https://stability.ai/terms-of-service";

/// Stability AI's API reference.
const API_REFERENCE: &str = "https://platform.stability.ai/docs/api-reference";

/// Stability AI's declared data-handling policy for API requests. None of Stability AI's
/// own pages on these questions could be read, so every claim is unknown — which never
/// satisfies a promise, so the router never sends Stability AI a prompt.
pub const POLICY: ProviderPolicy = ProviderPolicy {
    capabilities: &[Capability::Image],
    data_categories: &[DataCategory::UserContentPrivate],
    training_use: Claim::unread(
        PRIVACY_POLICY,
        "Stability AI's own privacy policy could not be read; the only text found was a third-party summary saying prompts and outputs may be used to develop its models",
        READ_ON,
    ),
    retention: Claim::unread(
        PRIVACY_POLICY,
        "no retention period found in Stability AI's own text",
        READ_ON,
    ),
    zero_data_retention: Claim::unread(
        TERMS_OF_SERVICE,
        "no zero-data-retention offer or refusal found in Stability AI's own text",
        READ_ON,
    ),
    output_retention: Claim::unread(
        API_REFERENCE,
        "Stability AI's own API reference could not be read; the adapter asks for the image bytes in the answer (`Accept: image/*`)",
        READ_ON,
    ),
    region: Claim::unread(
        TERMS_OF_SERVICE,
        "the terms name the contracting entity (Stability AI Ltd for the UK, EU and Switzerland), not a processing region",
        READ_ON,
    ),
    onward_processors: Claim::unread(
        PRIVACY_POLICY,
        "no sub-processor list of Stability AI's found",
        READ_ON,
    ),
};

const IDENTITY: Identity = Identity {
    id: ID,
    name: "Stability AI",
    policy: &POLICY,
};

/// `Authorization: Bearer <key>`.
const KEY_HEADER: KeyHeader = KeyHeader::Bearer;

/// Which Stable Image endpoint generates the images.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum StabilityModel {
    /// `core`: Stable Image Core, the fast, cheaper tier.
    #[default]
    Core,
    /// `ultra`: Stable Image Ultra, the highest-quality tier.
    Ultra,
}

impl StabilityModel {
    /// The endpoint's last path segment.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Core => "core",
            Self::Ultra => "ultra",
        }
    }
}

/// Why a text names no Stable Image endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownModel;

impl fmt::Display for UnknownModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Stability model is `core` or `ultra`")
    }
}

impl std::error::Error for UnknownModel {}

impl FromStr for StabilityModel {
    type Err = UnknownModel;

    /// `core` or `ultra`, in any case, surrounding blanks ignored.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "core" => Ok(Self::Core),
            "ultra" => Ok(Self::Ultra),
            _ => Err(UnknownModel),
        }
    }
}

/// How the adapter reaches Stability AI.
#[derive(Debug, Clone)]
pub struct StabilityConfig {
    /// The API key; `None` leaves the adapter listed but unavailable.
    pub api_key: Option<SecretString>,
    /// The API's base URL, without `/v2beta`.
    pub base_url: String,
    /// Which Stable Image endpoint generates the images.
    pub model: StabilityModel,
    /// The longest a request may take, connection included.
    pub timeout: Duration,
    /// The longest prompt sent; longer ones are refused before any request (never more
    /// than the endpoints' 10,000 characters).
    pub max_prompt_chars: usize,
}

impl StabilityConfig {
    /// The defaults: Stability's public URL, Stable Image Core, 60 s, 10,000 characters
    /// (the endpoints' prompt limit).
    pub fn new(api_key: Option<SecretString>) -> Self {
        Self {
            api_key,
            base_url: DEFAULT_BASE_URL.to_owned(),
            model: StabilityModel::Core,
            timeout: Duration::from_secs(60),
            max_prompt_chars: MAX_PROMPT_CHARS,
        }
    }
}

pub use icecone_provider_http::BuildError;

/// The Stability AI adapter.
#[derive(Debug)]
pub struct StabilityProvider {
    /// The identity, base URL, client and key (the configured one, until
    /// `setProviderCredential` replaces it).
    base: AdapterBase,
    config: StabilityConfig,
}

impl StabilityProvider {
    /// Builds the adapter; no request is sent.
    pub fn new(mut config: StabilityConfig) -> Result<Self, BuildError> {
        let key = config.api_key.take();
        let base = AdapterBase::new(IDENTITY, KEY_HEADER, key, &config.base_url, config.timeout)?;
        Ok(Self { base, config })
    }
}

impl ProviderAdapter for StabilityProvider {
    fn id(&self) -> &ProviderId {
        self.base.id()
    }

    fn name(&self) -> &str {
        self.base.name()
    }

    fn policy(&self) -> &ProviderPolicy {
        self.base.policy()
    }

    fn is_available(&self) -> bool {
        self.base.has_key()
    }

    fn takes_credential(&self) -> bool {
        true
    }

    fn replace_credential(&self, credential: ApiCredential) {
        self.base.replace_key(credential);
    }

    fn submit<'a>(&'a self, request: &'a GenerationRequest) -> ProviderFuture<'a, Submission> {
        Box::pin(async move {
            request.prompt().check_len(self.config.max_prompt_chars)?;
            match request {
                GenerationRequest::Image(image) => Ok(Submission::Done(self.image(image).await?)),
                GenerationRequest::Text(_) | GenerationRequest::Video(_) => {
                    Err(InvalidRequest::Unsupported(request.capability()).into())
                }
            }
        })
    }
}

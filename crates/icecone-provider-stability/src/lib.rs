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
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use icecone_core::provider::adapter::{
    GenerationRequest, InvalidRequest, ProviderAdapter, ProviderFuture, Submission,
};
use icecone_core::provider::credential::ApiCredential;
use icecone_core::provider::policy::{Claim, DataCategory, ProviderPolicy};
use icecone_core::provider::{Capability, ModelFamily, ModelRoute, ProviderId};
use icecone_core::settings::SettingDoc;
use icecone_provider_http::settings::{
    Access, AccessSettings, AdapterConfig, ProviderSettings, Registered, SettingError, redacted,
};
use icecone_provider_http::{AdapterBase, Identity, KeyHeader};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

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

impl AdapterConfig for StabilityConfig {
    fn id(&self) -> &'static str {
        ID
    }

    fn build(&self) -> Result<Arc<dyn ProviderAdapter>, BuildError> {
        Ok(Arc::new(StabilityProvider::new(self.clone())?))
    }
}

/// The `[providers.stability]` section of the settings (`ICECONE_STABILITY_<KEY>`).
#[derive(Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct StabilitySettings {
    /// The API key; unset or blank leaves Stability AI listed but unavailable.
    #[serde(serialize_with = "redacted")]
    pub api_key: Option<SecretString>,
    /// The API's base URL.
    pub base_url: String,
    /// The reference of this deployment's zero-data-retention contract with Stability AI.
    pub zdr_contract: Option<String>,
    /// The Stable Image model images are generated with, which names its endpoint: `core`
    /// or `ultra`.
    pub image_model: String,
}

impl Default for StabilitySettings {
    fn default() -> Self {
        Self {
            api_key: None,
            base_url: DEFAULT_BASE_URL.to_owned(),
            zdr_contract: None,
            image_model: StabilityModel::Core.as_str().to_owned(),
        }
    }
}

impl ProviderSettings for StabilitySettings {
    const ID: &'static str = ID;
    const SETTINGS: &'static [SettingDoc] = &[
        SettingDoc {
            key: "api_key",
            default: None,
            help: "Stability AI API key (images), server-side only, never logged; unset: Stability is listed but unavailable",
        },
        SettingDoc {
            key: "base_url",
            default: Some(DEFAULT_BASE_URL),
            help: "Stability AI API base URL (tests point it at a local mock); https:// in production",
        },
        SettingDoc {
            key: "zdr_contract",
            default: None,
            help: "reference of this deployment's zero-data-retention contract with Stability AI; it changes the effective retention only where Stability AI grants zero data retention by contract",
        },
        SettingDoc {
            key: "image_model",
            default: Some("core"),
            help: "the Stable Image model images are generated with, which names its endpoint: core (Stable Image Core) or ultra (Stable Image Ultra)",
        },
    ];
    type Config = StabilityConfig;

    fn access(&self) -> AccessSettings<'_> {
        AccessSettings {
            api_key: self.api_key.as_ref(),
            base_url: &self.base_url,
            zdr_contract: self.zdr_contract.as_deref(),
        }
    }

    fn config(&self, access: Access) -> Result<StabilityConfig, SettingError> {
        let mut config = StabilityConfig::new(access.api_key);
        config.base_url = access.base_url;
        config.timeout = access.timeout;
        config.model = self
            .image_model
            .parse()
            .map_err(|_| SettingError::invalid("image_model", "must be core or ultra"))?;
        Ok(config)
    }
}

/// Stability AI, for the application's registry of providers.
pub static REGISTRATION: Registered<StabilitySettings> = Registered::new();

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

    fn models(&self) -> Vec<ModelRoute> {
        vec![ModelRoute {
            capability: Capability::Image,
            model: self.config.model.as_str().to_owned(),
            family: ModelFamily::STABILITY,
        }]
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

//! `luma`: video through Luma's Dream Machine API — `POST /generations/video` starts a
//! generation, `GET /generations/{id}` polls it until its video waits at a temporary URL,
//! `DELETE /generations/{id}` deletes Luma's copy — with Luma's data-handling policy as
//! sourced, dated claims.
//!
//! Only the prompt, the model, the aspect ratio, the duration and, for image-to-video, the
//! start image's URL are sent: no e-mail address, name, account id or `callback_url`. The
//! API key is held as a [`SecretString`] and is never logged, shown by `Debug` or carried by
//! an error.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use icecone_core::provider::adapter::{
    GenerationRequest, InvalidRequest, JobHandle, JobStatus, ProviderAdapter, ProviderError,
    ProviderFuture, RemoteDeletion, Submission,
};
use icecone_core::provider::credential::ApiCredential;
use icecone_core::provider::policy::{Claim, DataCategory, OutputRetention, ProviderPolicy};
use icecone_core::provider::{Capability, ModelFamily, ModelRoute, ProviderId};
use icecone_core::settings::SettingDoc;
use icecone_provider_http::settings::{
    Access, AccessSettings, AdapterConfig, ProviderSettings, Registered, SettingError, model_id,
    redacted,
};
use icecone_provider_http::{AdapterBase, Identity, KeyHeader};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

mod client;
mod wire;

/// The id clients use to pick this provider.
pub const ID: &str = "luma";

/// Luma's public Dream Machine API.
pub const DEFAULT_BASE_URL: &str = "https://api.lumalabs.ai/dream-machine/v1";

/// The day the sentences quoted below were read (from stored copies of the pages; see
/// `docs/providers.md`, "Re-verifying claims").
const READ_ON: NaiveDate = match NaiveDate::from_ymd_opt(2026, 12, 7) {
    Some(date) => date,
    None => panic!("invalid date"),
};

/// Luma's terms of service.
const TERMS_OF_SERVICE: &str = "https://lumalabs.ai/legal/tos";

/// Luma's business (API) terms, which supplement the terms of service.
const API_TERMS: &str = "https://lumalabs.ai/dream-machine/api/terms";

/// Luma's declared data-handling policy for API requests.
///
/// - Training, retention, zero data retention, region, onward processors: unknown — Luma's
///   own text on them could not be read, so the router never sends Luma a prompt.
/// - Outputs: a finished video waits at a URL; the gateway asks Luma to delete the
///   generation once it has fetched it. Luma's own description of that call is all it
///   promises.
pub const POLICY: ProviderPolicy = ProviderPolicy {
    capabilities: &[Capability::Video],
    data_categories: &[DataCategory::UserContentPrivate],
    training_use: Claim::unread(
        TERMS_OF_SERVICE,
        "the stored terms of service did not show the input licence; only a third-party summary quotes it",
        READ_ON,
    ),
    retention: Claim::unread(API_TERMS, "no retention period found in Luma's own text", READ_ON),
    zero_data_retention: Claim::unread(
        API_TERMS,
        "no zero-data-retention offer found in Luma's own text",
        READ_ON,
    ),
    output_retention: Claim::read(
        OutputRetention::DeleteOnRequest,
        "https://github.com/lumalabs/lumaai-python/blob/31342b33279fe81e336b41feee4c9569a688cf68/src/lumaai/resources/generations/generations.py",
        "Remove a specific generation by its ID",
        READ_ON,
    )
    .noting("the whole description of the delete call: it does not say the video files, copies or inputs are erased"),
    region: Claim::unread(API_TERMS, "no hosting region found in Luma's own text", READ_ON),
    onward_processors: Claim::unread(
        API_TERMS,
        "no sub-processor list of Luma's found",
        READ_ON,
    ),
};

const IDENTITY: Identity = Identity {
    id: ID,
    name: "Luma Dream Machine",
    policy: &POLICY,
};

/// `Authorization: Bearer <key>`.
const KEY_HEADER: KeyHeader = KeyHeader::Bearer;

/// The default video model.
pub const DEFAULT_VIDEO_MODEL: &str = "ray-2";

/// How the adapter reaches Luma.
#[derive(Debug, Clone)]
pub struct LumaConfig {
    /// The API key; `None` leaves the adapter listed but unavailable.
    pub api_key: Option<SecretString>,
    /// The API's base URL, up to and including `/dream-machine/v1`.
    pub base_url: String,
    /// The video model, such as `ray-2` or `ray-flash-2`.
    pub model: String,
    /// The videos' aspect ratio, such as `16:9`.
    pub aspect_ratio: String,
    /// The longest a request may take, connection included.
    pub timeout: Duration,
    /// The longest prompt sent; longer ones are refused before any request.
    pub max_prompt_chars: usize,
}

impl LumaConfig {
    /// The defaults: Luma's public URL, `ray-2`, 16:9, 60 s, 5,000 characters (the
    /// adapter's own cap: Luma publishes no prompt limit).
    pub fn new(api_key: Option<SecretString>) -> Self {
        Self {
            api_key,
            base_url: DEFAULT_BASE_URL.to_owned(),
            model: DEFAULT_VIDEO_MODEL.to_owned(),
            aspect_ratio: "16:9".to_owned(),
            timeout: Duration::from_secs(60),
            max_prompt_chars: 5_000,
        }
    }
}

impl AdapterConfig for LumaConfig {
    fn id(&self) -> &'static str {
        ID
    }

    fn build(&self) -> Result<Arc<dyn ProviderAdapter>, BuildError> {
        Ok(Arc::new(LumaProvider::new(self.clone())?))
    }
}

/// The `[providers.luma]` section of the settings (`ICECONE_LUMA_<KEY>`).
#[derive(Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LumaSettings {
    /// The API key; unset or blank leaves Luma listed but unavailable.
    #[serde(serialize_with = "redacted")]
    pub api_key: Option<SecretString>,
    /// The API's base URL, up to and including `/dream-machine/v1`.
    pub base_url: String,
    /// The reference of this deployment's zero-data-retention contract with Luma.
    pub zdr_contract: Option<String>,
    /// The Dream Machine model videos are generated with.
    pub video_model: String,
}

impl Default for LumaSettings {
    fn default() -> Self {
        Self {
            api_key: None,
            base_url: DEFAULT_BASE_URL.to_owned(),
            zdr_contract: None,
            video_model: DEFAULT_VIDEO_MODEL.to_owned(),
        }
    }
}

impl ProviderSettings for LumaSettings {
    const ID: &'static str = ID;
    const SETTINGS: &'static [SettingDoc] = &[
        SettingDoc {
            key: "api_key",
            default: None,
            help: "Luma Dream Machine API key (video), server-side only, never logged; unset: Luma is listed but unavailable",
        },
        SettingDoc {
            key: "base_url",
            default: Some(DEFAULT_BASE_URL),
            help: "Luma Dream Machine API base URL up to /dream-machine/v1 (tests point it at a local mock); https:// in production",
        },
        SettingDoc {
            key: "zdr_contract",
            default: None,
            help: "reference of this deployment's zero-data-retention contract with Luma; it changes the effective retention only where Luma grants zero data retention by contract",
        },
        SettingDoc {
            key: "video_model",
            default: Some(DEFAULT_VIDEO_MODEL),
            help: "the Dream Machine model videos are generated with (ray-2, ray-flash-2, ...)",
        },
    ];
    type Config = LumaConfig;

    fn access(&self) -> AccessSettings<'_> {
        AccessSettings {
            api_key: self.api_key.as_ref(),
            base_url: &self.base_url,
            zdr_contract: self.zdr_contract.as_deref(),
        }
    }

    fn config(&self, access: Access) -> Result<LumaConfig, SettingError> {
        let mut config = LumaConfig::new(access.api_key);
        config.base_url = access.base_url;
        config.timeout = access.timeout;
        config.model = model_id("video_model", &self.video_model)?;
        Ok(config)
    }
}

/// Luma, for the application's registry of providers.
pub static REGISTRATION: Registered<LumaSettings> = Registered::new();

pub use icecone_provider_http::BuildError;

/// The Luma Dream Machine adapter.
#[derive(Debug)]
pub struct LumaProvider {
    /// The identity, base URL, client and key (the configured one, until
    /// `setProviderCredential` replaces it).
    base: AdapterBase,
    config: LumaConfig,
}

impl LumaProvider {
    /// Builds the adapter; no request is sent.
    pub fn new(mut config: LumaConfig) -> Result<Self, BuildError> {
        let key = config.api_key.take();
        let base = AdapterBase::new(IDENTITY, KEY_HEADER, key, &config.base_url, config.timeout)?;
        Ok(Self { base, config })
    }
}

impl ProviderAdapter for LumaProvider {
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
            capability: Capability::Video,
            model: self.config.model.clone(),
            family: ModelFamily::LUMA,
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
                GenerationRequest::Video(video) => {
                    Ok(Submission::Pending(self.create(video).await?))
                }
                GenerationRequest::Text(_) | GenerationRequest::Image(_) => {
                    Err(InvalidRequest::Unsupported(request.capability()).into())
                }
            }
        })
    }

    fn poll<'a>(&'a self, job: &'a JobHandle) -> ProviderFuture<'a, JobStatus> {
        Box::pin(self.status(job))
    }

    /// Luma has no cancel endpoint: deleting the generation stops it.
    fn cancel<'a>(&'a self, job: &'a JobHandle) -> ProviderFuture<'a, ()> {
        Box::pin(async move {
            if self.delete(job).await? {
                Ok(())
            } else {
                Err(ProviderError::UnknownJob)
            }
        })
    }

    /// A generation Luma no longer knows (404) is already gone: deleted all the same.
    fn delete_remote<'a>(&'a self, job: &'a JobHandle) -> ProviderFuture<'a, RemoteDeletion> {
        Box::pin(async move {
            self.delete(job).await?;
            Ok(RemoteDeletion::Deleted)
        })
    }
}

//! `runway`: video through Runway's API — `POST /image_to_video` when the request has an
//! input image, `POST /text_to_video` when it has none — as asynchronous tasks that are
//! polled (`GET /tasks/{id}`) and deleted (`DELETE /tasks/{id}`) once the gateway has
//! fetched the output, with Runway's data-handling policy as sourced, dated claims.
//!
//! Every call carries `X-Runway-Version: 2024-11-06`. Only the prompt, the input image's
//! URL and the parameters the endpoint needs are sent: no e-mail address, name or account
//! id. The API key is held as a [`SecretString`] and is never logged, shown by `Debug` or
//! carried by an error.

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
pub const ID: &str = "runway";

/// Runway's public API.
pub const DEFAULT_BASE_URL: &str = "https://api.dev.runwayml.com/v1";

/// The API version this adapter speaks, sent as `X-Runway-Version` on every call.
pub const API_VERSION: &str = "2024-11-06";

/// The day the sentences quoted below were read (from stored copies of the pages; see
/// `docs/providers.md`, "Re-verifying claims").
const READ_ON: NaiveDate = match NaiveDate::from_ymd_opt(2026, 12, 7) {
    Some(date) => date,
    None => panic!("invalid date"),
};

/// Runway's terms of use.
const TERMS_OF_USE: &str = "https://runwayml.com/terms-of-use";

/// Runway's privacy policy.
const PRIVACY_POLICY: &str = "https://runwayml.com/privacy-policy";

/// Runway's enterprise terms.
const ENTERPRISE_TERMS: &str = "https://runwayml.com/enterprise-terms";

/// Runway's declared data-handling policy for API requests.
///
/// - Training, retention, zero data retention, region, onward processors: unknown —
///   Runway's own text on them could not be read, so the router never sends Runway a
///   prompt.
/// - Outputs: a task's output waits at URLs that expire within 24–48 hours; the gateway
///   deletes the task once it has fetched them, and Runway says the output is then
///   deleted under a data retention policy whose period is not published.
pub const POLICY: ProviderPolicy = ProviderPolicy {
    capabilities: &[Capability::Video],
    data_categories: &[DataCategory::UserContentPrivate],
    training_use: Claim::unread(
        TERMS_OF_USE,
        "Runway's terms of use could not be read; only a third-party summary quotes a training licence",
        READ_ON,
    ),
    retention: Claim::unread(
        PRIVACY_POLICY,
        "the privacy policy excludes processing for business customers and states no period; the data retention policy the API refers to was not found",
        READ_ON,
    ),
    zero_data_retention: Claim::unread(
        ENTERPRISE_TERMS,
        "no zero-data-retention offer found in Runway's own text",
        READ_ON,
    ),
    output_retention: Claim::read(
        OutputRetention::DeleteOnRequest,
        "https://github.com/runwayml/sdk-node/blob/2f91b221833ef12e3c8d2f2e4fc3a0acd73a26d4/src/resources/tasks.ts",
        "The output data associated with a deleted task will be deleted from persistent storage in accordance with our data retention policy.",
        READ_ON,
    )
    .noting("that policy's period is not published; output URLs expire within 24-48 hours"),
    region: Claim::unread(PRIVACY_POLICY, "no hosting region found in Runway's own text", READ_ON),
    onward_processors: Claim::unread(
        PRIVACY_POLICY,
        "no sub-processor list of Runway's found",
        READ_ON,
    ),
};

const IDENTITY: Identity = Identity {
    id: ID,
    name: "Runway",
    policy: &POLICY,
};

/// `Authorization: Bearer <key>`.
const KEY_HEADER: KeyHeader = KeyHeader::Bearer;

/// The default model for videos from a prompt alone (`POST /text_to_video`).
pub const DEFAULT_VIDEO_MODEL: &str = "gen4.5";

/// The default model for videos started from an image (`POST /image_to_video`).
pub const DEFAULT_IMAGE_TO_VIDEO_MODEL: &str = "gen4_turbo";

/// How the adapter reaches Runway.
#[derive(Debug, Clone)]
pub struct RunwayConfig {
    /// The API key; `None` leaves the adapter listed but unavailable.
    pub api_key: Option<SecretString>,
    /// The API's base URL, up to and including `/v1`.
    pub base_url: String,
    /// The model for videos started from an image (`POST /image_to_video`).
    pub image_model: String,
    /// The model for videos from a prompt alone (`POST /text_to_video`); `None` refuses
    /// such requests before any is sent.
    pub text_model: Option<String>,
    /// The output's shape as a Runway ratio, such as `1280:720`: each model is sent this
    /// ratio, or its own ratio of the same proportions (`1920:1080` → `1280:720`); a request
    /// for a model with neither is refused before it is sent.
    pub ratio: String,
    /// The longest a request may take, connection included.
    pub timeout: Duration,
    /// The longest prompt sent; longer ones are refused before any request.
    pub max_prompt_chars: usize,
}

impl RunwayConfig {
    /// The defaults: Runway's public URL, `gen4_turbo` for images, `gen4.5` for text alone,
    /// `1280:720`, 60 s, 1,000 characters (Runway's `promptText` limit).
    pub fn new(api_key: Option<SecretString>) -> Self {
        Self {
            api_key,
            base_url: DEFAULT_BASE_URL.to_owned(),
            image_model: DEFAULT_IMAGE_TO_VIDEO_MODEL.to_owned(),
            text_model: Some(DEFAULT_VIDEO_MODEL.to_owned()),
            ratio: "1280:720".to_owned(),
            timeout: Duration::from_secs(60),
            max_prompt_chars: 1_000,
        }
    }
}

impl AdapterConfig for RunwayConfig {
    fn id(&self) -> &'static str {
        ID
    }

    fn build(&self) -> Result<Arc<dyn ProviderAdapter>, BuildError> {
        Ok(Arc::new(RunwayProvider::new(self.clone())?))
    }
}

/// The `[providers.runway]` section of the settings (`ICECONE_RUNWAY_<KEY>`).
#[derive(Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunwaySettings {
    /// The API key; unset or blank leaves Runway listed but unavailable.
    #[serde(serialize_with = "redacted")]
    pub api_key: Option<SecretString>,
    /// The API's base URL, up to and including `/v1`.
    pub base_url: String,
    /// The reference of this deployment's zero-data-retention contract with Runway.
    pub zdr_contract: Option<String>,
    /// The model for videos from a prompt alone.
    pub video_model: String,
    /// The model for videos started from an image.
    pub image_to_video_model: String,
}

impl Default for RunwaySettings {
    fn default() -> Self {
        Self {
            api_key: None,
            base_url: DEFAULT_BASE_URL.to_owned(),
            zdr_contract: None,
            video_model: DEFAULT_VIDEO_MODEL.to_owned(),
            image_to_video_model: DEFAULT_IMAGE_TO_VIDEO_MODEL.to_owned(),
        }
    }
}

impl ProviderSettings for RunwaySettings {
    const ID: &'static str = ID;
    const SETTINGS: &'static [SettingDoc] = &[
        SettingDoc {
            key: "api_key",
            default: None,
            help: "Runway API key (video), server-side only, never logged; unset: Runway is listed but unavailable",
        },
        SettingDoc {
            key: "base_url",
            default: Some(DEFAULT_BASE_URL),
            help: "Runway API base URL up to /v1 (tests point it at a local mock); https:// in production",
        },
        SettingDoc {
            key: "zdr_contract",
            default: None,
            help: "reference of this deployment's zero-data-retention contract with Runway; it changes the effective retention only where Runway grants zero data retention by contract",
        },
        SettingDoc {
            key: "video_model",
            default: Some(DEFAULT_VIDEO_MODEL),
            help: "the Runway model for videos from a prompt alone (POST /text_to_video): a model the adapter knows for that path (see docs/providers.md)",
        },
        SettingDoc {
            key: "image_to_video_model",
            default: Some(DEFAULT_IMAGE_TO_VIDEO_MODEL),
            help: "the Runway model for videos started from an image (POST /image_to_video): a model the adapter knows for that path (see docs/providers.md)",
        },
    ];
    type Config = RunwayConfig;

    fn access(&self) -> AccessSettings<'_> {
        AccessSettings {
            api_key: self.api_key.as_ref(),
            base_url: &self.base_url,
            zdr_contract: self.zdr_contract.as_deref(),
        }
    }

    fn config(&self, access: Access) -> Result<RunwayConfig, SettingError> {
        let mut config = RunwayConfig::new(access.api_key);
        config.base_url = access.base_url;
        config.timeout = access.timeout;
        // A model the adapter does not know for its path would refuse every request: it is
        // refused at start, by its setting.
        let known = |key: &str, value: &str, text_only: bool| {
            let model = model_id(key, value)?;
            if client::knows(&model, text_only) {
                Ok(model)
            } else {
                Err(SettingError::invalid(
                    key,
                    "must be a Runway model the adapter knows for this path (see docs/providers.md)",
                ))
            }
        };
        config.text_model = Some(known("video_model", &self.video_model, true)?);
        config.image_model = known("image_to_video_model", &self.image_to_video_model, false)?;
        Ok(config)
    }
}

/// Runway, for the application's registry of providers.
pub static REGISTRATION: Registered<RunwaySettings> = Registered::new();

pub use icecone_provider_http::BuildError;

/// The Runway adapter.
#[derive(Debug)]
pub struct RunwayProvider {
    /// The identity, base URL, client and key (the configured one, until
    /// `setProviderCredential` replaces it).
    base: AdapterBase,
    config: RunwayConfig,
}

impl RunwayProvider {
    /// Builds the adapter; no request is sent.
    pub fn new(mut config: RunwayConfig) -> Result<Self, BuildError> {
        let key = config.api_key.take();
        let base = AdapterBase::new(IDENTITY, KEY_HEADER, key, &config.base_url, config.timeout)?;
        Ok(Self { base, config })
    }
}

impl ProviderAdapter for RunwayProvider {
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

    /// Both of its models make videos: from a prompt alone (when configured) and from an
    /// image.
    fn models(&self) -> Vec<ModelRoute> {
        let text = self.config.text_model.iter();
        text.chain(std::iter::once(&self.config.image_model))
            .map(|model| ModelRoute {
                capability: Capability::Video,
                model: model.clone(),
                family: ModelFamily::RUNWAY,
            })
            .collect()
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
                    Ok(Submission::Pending(self.video(video).await?))
                }
                other => Err(InvalidRequest::Unsupported(other.capability()).into()),
            }
        })
    }

    fn poll<'a>(&'a self, job: &'a JobHandle) -> ProviderFuture<'a, JobStatus> {
        Box::pin(self.task(job))
    }

    fn cancel<'a>(&'a self, job: &'a JobHandle) -> ProviderFuture<'a, ()> {
        Box::pin(async move {
            if self.delete_task(job).await? {
                Ok(())
            } else {
                Err(ProviderError::UnknownJob)
            }
        })
    }

    fn delete_remote<'a>(&'a self, job: &'a JobHandle) -> ProviderFuture<'a, RemoteDeletion> {
        Box::pin(self.delete(job))
    }
}

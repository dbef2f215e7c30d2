//! `heygen`: talking-avatar videos through HeyGen's v3 API — `POST /v3/videos` with a
//! configured avatar (and voice) speaking the prompt, polled with
//! `GET /v3/videos/{video_id}` and deleted with `DELETE /v3/videos/{video_id}` once the
//! gateway has fetched the output — with HeyGen's data-handling policy as sourced, dated
//! claims.
//!
//! v3, not v2: HeyGen supported its v1/v2 endpoints until 2026-10-31 and retired them on
//! 2026-11-01, with `POST /v3/videos` replacing `POST /v2/video/generate` and
//! `GET /v3/videos/{id}` replacing `GET /v1/video_status.get`.
//!
//! Only the script (the prompt), the configured avatar and voice ids and the output's
//! resolution and aspect ratio are sent: no title, e-mail address, name or account id. The
//! API key is held as a [`SecretString`], sent only in `X-Api-Key`, and is never logged,
//! shown by `Debug` or carried by an error.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use icecone_core::provider::adapter::{
    GenerationRequest, InvalidRequest, JobHandle, JobStatus, ProviderAdapter, ProviderError,
    ProviderFuture, RemoteDeletion, Submission,
};
use icecone_core::provider::credential::ApiCredential;
use icecone_core::provider::policy::{
    Claim, DataCategory, OutputRetention, Processor, Processors, ProviderPolicy, Region, Retention,
    TrainingUse,
};
use icecone_core::provider::{Capability, ProviderId};
use icecone_core::settings::SettingDoc;
use icecone_provider_http::settings::{
    Access, AccessSettings, AdapterConfig, ProviderSettings, Registered, SettingError, non_blank,
    redacted,
};
use icecone_provider_http::{AdapterBase, Identity, KeyHeader};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

mod client;
mod wire;

/// The id clients use to pick this provider.
pub const ID: &str = "heygen";

/// HeyGen's public API (the version is part of each path).
pub const DEFAULT_BASE_URL: &str = "https://api.heygen.com";

/// The day the sentences quoted below were read (from stored copies of the pages; see
/// `docs/providers.md`, "Re-verifying claims").
const READ_ON: NaiveDate = match NaiveDate::from_ymd_opt(2026, 12, 7) {
    Some(date) => date,
    None => panic!("invalid date"),
};

/// HeyGen's GDPR commitment page.
const GDPR: &str = "https://www.heygen.com/gdpr-commitment";

/// HeyGen's privacy policy.
const PRIVACY_POLICY: &str = "https://www.heygen.com/policy";

/// HeyGen's trust center, with its subprocessors.
const TRUST_CENTER: &str = "https://security.heygen.com/";

/// HeyGen's declared data-handling policy for API requests.
///
/// - Training: unknown — HeyGen's text on using data only to deliver the service is not a
///   statement about training on API scripts (its biometric notice says uploaded avatar
///   footage is used for training; this adapter uploads none).
/// - Retention: kept until deleted — no bound.
/// - Zero data retention: unknown.
/// - Outputs: a finished video waits in the account; the gateway deletes it through the API
///   once fetched, which HeyGen describes as deleting the video and its files.
/// - Region: hosted in the United States on AWS.
/// - Onward processors: HeyGen's list, including two text-to-speech services that receive
///   the script.
pub const POLICY: ProviderPolicy = ProviderPolicy {
    capabilities: &[Capability::Video, Capability::AvatarVideo],
    data_categories: &[DataCategory::UserContentPrivate],
    training_use: Claim::read(
        TrainingUse::Unknown,
        GDPR,
        "We do not use your data for other purposes than delivering the best quality and suited service for you.",
        READ_ON,
    )
    .noting("not a statement about training on API scripts"),
    retention: Claim::read(
        Retention::Unbounded {
            usual_days: None,
            condition: "scripts and videos stay in the account until they are deleted",
            exceptions: &[],
        },
        GDPR,
        "Our users are in full control of their data and decide what data and when to upload and delete from our platform.",
        READ_ON,
    ),
    zero_data_retention: Claim::unread(
        PRIVACY_POLICY,
        "no zero-data-retention offer found in HeyGen's own text",
        READ_ON,
    ),
    output_retention: Claim::read(
        OutputRetention::DeleteOnRequest,
        "https://github.com/heygen-com/heygen-cli/blob/7699a8ee00a4decafb9bef93c80950217e4cba6e/gen/video.go",
        "Permanently deletes a video and its associated files. This action cannot be undone.",
        READ_ON,
    )
    .noting("says nothing of the script, logs, or audio made by the speech processors; no lifetime of video_url was found"),
    region: Claim::read(
        Region::Disclosed("United States (Amazon Web Services)"),
        "https://www-redesign.heygen.com/security",
        "HeyGen's services are hosted on Amazon Web Services (AWS) in the United States.",
        READ_ON,
    ),
    onward_processors: Claim::read(
        Processors::Disclosed(&[
            Processor {
                name: "Amazon Web Services",
                purpose: "web hosting, data storage, image content moderation, video processing",
                location: Some("Seattle, WA, United States"),
            },
            Processor {
                name: "Microsoft Azure",
                purpose: "text to speech, data warehouse: script data are transmitted for generating audio",
                location: Some("Virginia, United States"),
            },
            Processor {
                name: "ElevenLabs",
                purpose: "text to speech",
                location: Some("New York, United States"),
            },
            Processor {
                name: "Datadog",
                purpose: "application monitoring and alerting, logs storage and collecting",
                location: Some("New York, United States"),
            },
            Processor {
                name: "Intercom",
                purpose: "customer support",
                location: Some("San Francisco, United States"),
            },
        ]),
        TRUST_CENTER,
        "Text to speech, data warehouse. Script data are transmitted for generating audio. Location: Virginia, United States of America",
        READ_ON,
    )
    .noting("the stored list ends after ElevenLabs and may be longer"),
};

const IDENTITY: Identity = Identity {
    id: ID,
    name: "HeyGen",
    policy: &POLICY,
};

/// `X-Api-Key: <key>`.
const KEY_HEADER: KeyHeader = KeyHeader::Named("X-Api-Key");

/// How the adapter reaches HeyGen.
#[derive(Debug, Clone)]
pub struct HeyGenConfig {
    /// The API key; `None` leaves the adapter listed but unavailable.
    pub api_key: Option<SecretString>,
    /// The API's base URL, without a version.
    pub base_url: String,
    /// The avatar (look) that speaks; `None` leaves the adapter unavailable.
    pub avatar_id: Option<String>,
    /// The voice it speaks with; `None` uses the avatar's default voice.
    pub voice_id: Option<String>,
    /// The output's resolution: `720p`, `1080p` or `4k`.
    pub resolution: String,
    /// The output's aspect ratio: `16:9` or `9:16`.
    pub aspect_ratio: String,
    /// The longest a request may take, connection included.
    pub timeout: Duration,
    /// The longest script sent; longer ones are refused before any request.
    pub max_prompt_chars: usize,
}

impl HeyGenConfig {
    /// The defaults: HeyGen's public URL, no avatar or voice, `720p`, `16:9`, 60 s, 5,000
    /// characters (HeyGen's text limit per scene).
    pub fn new(api_key: Option<SecretString>) -> Self {
        Self {
            api_key,
            base_url: DEFAULT_BASE_URL.to_owned(),
            avatar_id: None,
            voice_id: None,
            resolution: "720p".to_owned(),
            aspect_ratio: "16:9".to_owned(),
            timeout: Duration::from_secs(60),
            max_prompt_chars: 5_000,
        }
    }
}

impl AdapterConfig for HeyGenConfig {
    fn id(&self) -> &'static str {
        ID
    }

    fn build(&self) -> Result<Arc<dyn ProviderAdapter>, BuildError> {
        Ok(Arc::new(HeyGenProvider::new(self.clone())?))
    }
}

/// The `[providers.heygen]` section of the settings (`ICECONE_HEYGEN_<KEY>`).
#[derive(Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct HeyGenSettings {
    /// The API key; unset or blank leaves HeyGen listed but unavailable.
    #[serde(serialize_with = "redacted")]
    pub api_key: Option<SecretString>,
    /// The API's base URL.
    pub base_url: String,
    /// The reference of this deployment's zero-data-retention contract with HeyGen.
    pub zdr_contract: Option<String>,
    /// The avatar that speaks a video's script; unset or blank leaves HeyGen unavailable.
    pub avatar_id: Option<String>,
    /// The voice the avatar speaks with; unset or blank: the avatar's default voice.
    pub voice_id: Option<String>,
}

impl Default for HeyGenSettings {
    fn default() -> Self {
        Self {
            api_key: None,
            base_url: DEFAULT_BASE_URL.to_owned(),
            zdr_contract: None,
            avatar_id: None,
            voice_id: None,
        }
    }
}

impl ProviderSettings for HeyGenSettings {
    const ID: &'static str = ID;
    const SETTINGS: &'static [SettingDoc] = &[
        SettingDoc {
            key: "api_key",
            default: None,
            help: "HeyGen API key (avatar video), server-side only, never logged; unset: HeyGen is listed but unavailable",
        },
        SettingDoc {
            key: "base_url",
            default: Some(DEFAULT_BASE_URL),
            help: "HeyGen API base URL (tests point it at a local mock); https:// in production",
        },
        SettingDoc {
            key: "zdr_contract",
            default: None,
            help: "reference of this deployment's zero-data-retention contract with HeyGen; it changes the effective retention only where HeyGen grants zero data retention by contract",
        },
        SettingDoc {
            key: "avatar_id",
            default: None,
            help: "the HeyGen avatar that speaks a video's script; unset: HeyGen is unavailable",
        },
        SettingDoc {
            key: "voice_id",
            default: None,
            help: "the HeyGen voice the avatar speaks with; unset: the avatar's default voice",
        },
    ];
    type Config = HeyGenConfig;

    fn access(&self) -> AccessSettings<'_> {
        AccessSettings {
            api_key: self.api_key.as_ref(),
            base_url: &self.base_url,
            zdr_contract: self.zdr_contract.as_deref(),
        }
    }

    fn config(&self, access: Access) -> Result<HeyGenConfig, SettingError> {
        let mut config = HeyGenConfig::new(access.api_key);
        config.base_url = access.base_url;
        config.timeout = access.timeout;
        config.avatar_id = non_blank(self.avatar_id.as_deref());
        config.voice_id = non_blank(self.voice_id.as_deref());
        Ok(config)
    }
}

/// HeyGen, for the application's registry of providers.
pub static REGISTRATION: Registered<HeyGenSettings> = Registered::new();

pub use icecone_provider_http::BuildError;

/// The HeyGen adapter.
#[derive(Debug)]
pub struct HeyGenProvider {
    /// The identity, base URL, client and key (the configured one, until
    /// `setProviderCredential` replaces it).
    base: AdapterBase,
    config: HeyGenConfig,
}

impl HeyGenProvider {
    /// Builds the adapter; no request is sent.
    pub fn new(mut config: HeyGenConfig) -> Result<Self, BuildError> {
        let key = config.api_key.take();
        let base = AdapterBase::new(IDENTITY, KEY_HEADER, key, &config.base_url, config.timeout)?;
        Ok(Self { base, config })
    }
}

impl ProviderAdapter for HeyGenProvider {
    fn id(&self) -> &ProviderId {
        self.base.id()
    }

    fn name(&self) -> &str {
        self.base.name()
    }

    fn policy(&self) -> &ProviderPolicy {
        self.base.policy()
    }

    /// A key and an avatar: without an avatar every request would be refused.
    fn is_available(&self) -> bool {
        self.base.has_key() && self.config.avatar_id.is_some()
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
        Box::pin(self.status(job))
    }

    /// HeyGen's API has no cancel call: cancelling deletes the video (whether that stops a
    /// render already running is not documented; the gateway stops polling either way).
    fn cancel<'a>(&'a self, job: &'a JobHandle) -> ProviderFuture<'a, ()> {
        Box::pin(async move {
            if self.delete_video(job).await? {
                Ok(())
            } else {
                Err(ProviderError::UnknownJob)
            }
        })
    }

    fn delete_remote<'a>(&'a self, job: &'a JobHandle) -> ProviderFuture<'a, RemoteDeletion> {
        Box::pin(async move {
            // A video HeyGen no longer knows is gone already.
            self.delete_video(job).await?;
            Ok(RemoteDeletion::Deleted)
        })
    }
}

//! `openai`: text through Chat Completions (`POST /chat/completions` with `store: false`)
//! and images through `POST /images/generations` (base64 answers), with OpenAI's
//! data-handling policy as sourced, dated claims.
//!
//! Only the prompt and the parameters the endpoint needs are sent: no e-mail address, name,
//! account id or `user` field. The API key is held as a [`SecretString`] and is never
//! logged, shown by `Debug` or carried by an error.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use icecone_core::provider::adapter::{
    GenerationRequest, InvalidRequest, ProviderAdapter, ProviderError, ProviderFuture, Submission,
};
use icecone_core::provider::credential::ApiCredential;
use icecone_core::provider::policy::{
    Claim, DataCategory, OutputRetention, Processor, Processors, ProviderPolicy, Region, Retention,
    TrainingUse, ZdrArrangement,
};
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
pub const ID: &str = "openai";

/// OpenAI's public API.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";

/// The default text model (`gpt-4o-mini` shuts down on 2027-01-14).
pub const DEFAULT_TEXT_MODEL: &str = "gpt-5.6-luna";

/// The default image model, a GPT image model (`gpt-image-1` is shut down, `gpt-image-1.5`
/// shuts down on 2026-12-01).
pub const DEFAULT_IMAGE_MODEL: &str = "gpt-image-2";

/// The day the sentences quoted below were read (from stored copies of the pages; see
/// `docs/providers.md`, "Re-verifying claims").
const READ_ON: NaiveDate = match NaiveDate::from_ymd_opt(2026, 12, 7) {
    Some(date) => date,
    None => panic!("invalid date"),
};

/// OpenAI's data-controls page for the API.
const YOUR_DATA: &str = "https://developers.openai.com/api/docs/guides/your-data";

/// OpenAI's declared data-handling policy for API requests, each claim resting on a
/// sentence of OpenAI's own text.
///
/// - Training: no (the deployment never opts in).
/// - Retention: abuse-monitoring logs, which may hold prompts and outputs, are kept 30 days
///   by default and longer where the law requires it or OpenAI finds it "reasonably
///   necessary to protect our services": no bound.
/// - Zero data retention: by contract, for an approved organisation or project, with the
///   exceptions OpenAI documents.
/// - Outputs: inline (text, and images as base64).
/// - Region: none committed; data residency is a per-project option.
/// - Onward processors: OpenAI's sub-processor list.
pub const POLICY: ProviderPolicy = ProviderPolicy {
    capabilities: &[Capability::Text, Capability::Image],
    data_categories: &[DataCategory::UserContentPrivate],
    training_use: Claim::read(
        TrainingUse::No,
        YOUR_DATA,
        "data sent to the OpenAI API is not used to train or improve OpenAI models (unless you explicitly opt in …)",
        READ_ON,
    )
    .noting("this deployment never opts in"),
    retention: Claim::read(
        Retention::Unbounded {
            usual_days: Some(30),
            condition: "abuse-monitoring logs, which may contain prompts and responses",
            exceptions: &[
                "longer where retention is required by law",
                "longer where OpenAI finds it reasonably necessary to protect its services or any third party from harm",
            ],
        },
        YOUR_DATA,
        "abuse monitoring logs … retained for up to 30 days, unless longer retention is required by law, or is reasonably necessary to protect our services",
        READ_ON,
    ),
    zero_data_retention: Claim::read(
        ZdrArrangement::ByContract {
            exceptions: &[
                "Safety Retention: after written notice, OpenAI may make a model ineligible for zero retention to investigate or prevent severe risk activity",
                "images and files flagged as potential CSAM are kept for manual review",
                "for images, zero retention holds only with the gpt-image models OpenAI lists",
                "content OpenAI is legally required to preserve (a court order made it keep API content in 2025)",
            ],
        },
        YOUR_DATA,
        "Currently, these controls are subject to prior approval by OpenAI and acceptance of additional requirements.",
        READ_ON,
    )
    .noting("the exceptions are on the same page (Safety Retention, CSAM, image models); the 2025 preservation order was read in a copy of OpenAI's post"),
    output_retention: Claim::read(
        OutputRetention::Inline,
        "https://github.com/openai/openai-python/blob/04448952820aa3029e61907c1785a7293c3ddbc2/src/openai/types/image.py",
        "The base64-encoded JSON of the generated image. Default value for `gpt-image-1` …",
        READ_ON,
    )
    .noting("inline says what the answer carries; what OpenAI keeps in its logs is its retention"),
    region: Claim::read(
        Region::NotCommitted,
        "https://developers.openai.com/api/docs/guides/data-residency",
        "Data residency is a project configuration option that lets you choose the location of infrastructure OpenAI uses to provide services.",
        READ_ON,
    )
    .noting("only for eligible projects that enable it; this deployment records none"),
    onward_processors: Claim::read(
        Processors::Disclosed(&[
            Processor {
                name: "Microsoft Corporation",
                purpose: "cloud infrastructure",
                location: None,
            },
            Processor {
                name: "Cloudflare",
                purpose: "content delivery network",
                location: Some("the data center closest to the end user"),
            },
            Processor {
                name: "Snowflake",
                purpose: "data warehousing",
                location: Some("United States"),
            },
            Processor {
                name: "TaskUs",
                purpose: "customer support and moderation of API content",
                location: Some("Philippines"),
            },
            Processor {
                name: "Cinder",
                purpose: "content-moderation platform",
                location: None,
            },
            Processor {
                name: "Confluent",
                purpose: "infrastructure management",
                location: None,
            },
        ]),
        "https://openai.com/policies/sub-processor-list/",
        "OpenAI engages the following entities to provide processing activities for Customer Data (as defined in the OpenAI Data Processing Agreement).",
        READ_ON,
    )
    .noting("the API entries of the list as stored (dated 2025-04-30); support-only tools are left out"),
};

const IDENTITY: Identity = Identity {
    id: ID,
    name: "OpenAI",
    policy: &POLICY,
};

/// `Authorization: Bearer <key>`.
const KEY_HEADER: KeyHeader = KeyHeader::Bearer;

/// How the adapter reaches OpenAI.
#[derive(Debug, Clone)]
pub struct OpenAiConfig {
    /// The API key; `None` leaves the adapter listed but unavailable.
    pub api_key: Option<SecretString>,
    /// The API's base URL, up to and including `/v1`.
    pub base_url: String,
    /// The model for text.
    pub text_model: String,
    /// The model for images: a GPT image model (`gpt-image-*`).
    pub image_model: String,
    /// The longest a request may take, connection included.
    pub timeout: Duration,
    /// The longest prompt sent; longer ones are refused before any request.
    pub max_prompt_chars: usize,
}

impl OpenAiConfig {
    /// The defaults: OpenAI's public URL, `gpt-5.6-luna`, `gpt-image-2`, 60 s, 32,000
    /// characters (the GPT image models' prompt limit).
    pub fn new(api_key: Option<SecretString>) -> Self {
        Self {
            api_key,
            base_url: DEFAULT_BASE_URL.to_owned(),
            text_model: DEFAULT_TEXT_MODEL.to_owned(),
            image_model: DEFAULT_IMAGE_MODEL.to_owned(),
            timeout: Duration::from_secs(60),
            max_prompt_chars: 32_000,
        }
    }
}

impl AdapterConfig for OpenAiConfig {
    fn id(&self) -> &'static str {
        ID
    }

    fn build(&self) -> Result<Arc<dyn ProviderAdapter>, BuildError> {
        Ok(Arc::new(OpenAiProvider::new(self.clone())?))
    }
}

/// The `[providers.openai]` section of the settings (`ICECONE_OPENAI_<KEY>`).
#[derive(Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct OpenAiSettings {
    /// The API key; unset or blank leaves OpenAI listed but unavailable.
    #[serde(serialize_with = "redacted")]
    pub api_key: Option<SecretString>,
    /// The API's base URL, up to and including `/v1`.
    pub base_url: String,
    /// The reference of this deployment's zero-data-retention contract with OpenAI.
    pub zdr_contract: Option<String>,
    /// The Chat Completions model texts are generated with.
    pub text_model: String,
    /// The GPT image model images are generated with.
    pub image_model: String,
}

impl Default for OpenAiSettings {
    fn default() -> Self {
        Self {
            api_key: None,
            base_url: DEFAULT_BASE_URL.to_owned(),
            zdr_contract: None,
            text_model: DEFAULT_TEXT_MODEL.to_owned(),
            image_model: DEFAULT_IMAGE_MODEL.to_owned(),
        }
    }
}

impl ProviderSettings for OpenAiSettings {
    const ID: &'static str = ID;
    const SETTINGS: &'static [SettingDoc] = &[
        SettingDoc {
            key: "api_key",
            default: None,
            help: "OpenAI API key, server-side only, never logged; unset: OpenAI is listed but unavailable",
        },
        SettingDoc {
            key: "base_url",
            default: Some(DEFAULT_BASE_URL),
            help: "OpenAI API base URL up to /v1 (tests point it at a local mock); https:// in production",
        },
        SettingDoc {
            key: "zdr_contract",
            default: None,
            help: "reference of this deployment's zero-data-retention contract with OpenAI; when set, OpenAI's effective retention is none",
        },
        SettingDoc {
            key: "text_model",
            default: Some(DEFAULT_TEXT_MODEL),
            help: "the Chat Completions model texts are generated with; when OpenAI answers that it does not exist (retired), OpenAI is not asked for texts until this changes (see docs/providers.md)",
        },
        SettingDoc {
            key: "image_model",
            default: Some(DEFAULT_IMAGE_MODEL),
            help: "the GPT image model (gpt-image-*) images are generated with; when OpenAI answers that it does not exist (retired), OpenAI is not asked for images until this changes",
        },
    ];
    type Config = OpenAiConfig;

    fn access(&self) -> AccessSettings<'_> {
        AccessSettings {
            api_key: self.api_key.as_ref(),
            base_url: &self.base_url,
            zdr_contract: self.zdr_contract.as_deref(),
        }
    }

    fn config(&self, access: Access) -> Result<OpenAiConfig, SettingError> {
        let mut config = OpenAiConfig::new(access.api_key);
        config.base_url = access.base_url;
        config.timeout = access.timeout;
        config.text_model = model_id("text_model", &self.text_model)?;
        config.image_model = model_id("image_model", &self.image_model)?;
        Ok(config)
    }
}

/// OpenAI, for the application's registry of providers.
pub static REGISTRATION: Registered<OpenAiSettings> = Registered::new();

pub use icecone_provider_http::BuildError;

/// The OpenAI adapter.
#[derive(Debug)]
pub struct OpenAiProvider {
    /// The identity, base URL, client and key (the configured one, until
    /// `setProviderCredential` replaces it).
    base: AdapterBase,
    config: OpenAiConfig,
}

impl OpenAiProvider {
    /// Builds the adapter; no request is sent.
    pub fn new(mut config: OpenAiConfig) -> Result<Self, BuildError> {
        let key = config.api_key.take();
        let base = AdapterBase::new(IDENTITY, KEY_HEADER, key, &config.base_url, config.timeout)?;
        Ok(Self { base, config })
    }
}

impl ProviderAdapter for OpenAiProvider {
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
        vec![
            ModelRoute {
                capability: Capability::Text,
                model: self.config.text_model.clone(),
                family: ModelFamily::OPENAI_GPT,
            },
            ModelRoute {
                capability: Capability::Image,
                model: self.config.image_model.clone(),
                family: ModelFamily::OPENAI_IMAGE,
            },
        ]
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
            let output = match request {
                GenerationRequest::Text(text) => self.chat(text).await?,
                GenerationRequest::Image(image) => self.image(image).await?,
                GenerationRequest::Video(_) => {
                    return Err(ProviderError::InvalidRequest(InvalidRequest::Unsupported(
                        Capability::Video,
                    )));
                }
            };
            Ok(Submission::Done(output))
        })
    }
}

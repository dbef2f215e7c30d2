//! `bedrock`: images and videos through Amazon Bedrock, with AWS's data-handling terms as
//! sourced, dated claims.
//!
//! - Images: `InvokeModel` (`POST /model/{modelId}/invoke`), synchronous, the image's bytes
//!   base64-encoded in the answer — Stability's models on Bedrock (Stable Image Core and
//!   Ultra, SD3.5 Large) and Amazon Nova Canvas.
//! - Videos: `StartAsyncInvoke` (`POST /async-invoke`) writes the MP4 into this deployment's
//!   own S3 bucket; `GetAsyncInvoke` (`GET /async-invoke/{invocationArn}`) follows the job;
//!   once it is `Completed` the adapter reads the object (`GetObject`) — only under the
//!   configured bucket and prefix, at the key the invocation's id decides, never a URI from
//!   an answer — and `delete_remote` deletes it (`DeleteObject`), reporting it deleted only
//!   once S3 no longer has it (`HeadObject` answers 404) — Luma Ray2 and Amazon Nova Reel.
//!
//! The model is a parameter of the route: the settings choose one image and one video model
//! among [`MODELS`], and [`ProviderAdapter::models`] publishes them with their family.
//! Every request is signed with SigV4 ([`sign`]) with the deployment's AWS keys, which are
//! held as [`SecretString`]s and never logged, shown by `Debug` or carried by an error. Only
//! the prompt and the model's parameters are sent: no e-mail address, name, account id,
//! idempotency token or tag.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use icecone_core::provider::adapter::{
    GenerationRequest, InvalidRequest, JobHandle, JobStatus, ProviderAdapter, ProviderError,
    ProviderFuture, RemoteDeletion, Submission,
};
use icecone_core::provider::policy::{
    Claim, DataCategory, OutputRetention, Processors, ProviderPolicy, Retention, TrainingUse,
    ZdrArrangement,
};
use icecone_core::provider::{Capability, ModelFamily, ModelRoute, ProviderId};
use icecone_core::settings::SettingDoc;
use icecone_provider_http::settings::{
    Access, AccessSettings, AdapterConfig, ProviderSettings, Registered, SettingError, non_blank,
    redacted,
};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

mod client;
pub mod sign;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod wire;

use sign::Signer;

pub use icecone_provider_http::BuildError;

/// The id clients use to pick this provider.
pub const ID: &str = "bedrock";

/// The default region.
pub const DEFAULT_REGION: &str = "us-east-1";

/// The runtime endpoint of the default region.
pub const DEFAULT_BASE_URL: &str = "https://bedrock-runtime.us-east-1.amazonaws.com";

/// The default image model.
pub const DEFAULT_IMAGE_MODEL: &str = "amazon.nova-canvas-v1:0";

/// The default video model.
pub const DEFAULT_VIDEO_MODEL: &str = "luma.ray-v2:0";

/// The largest video read back from the bucket.
pub const MAX_OUTPUT_BYTES: usize = 256 * 1024 * 1024;

/// The day the sentences quoted below were read (from stored copies of the pages; see
/// `docs/providers.md`, "Re-verifying claims").
const READ_ON: NaiveDate = match NaiveDate::from_ymd_opt(2026, 12, 7) {
    Some(date) => date,
    None => panic!("invalid date"),
};

/// AWS's Bedrock data protection page.
const DATA_PROTECTION: &str =
    "https://docs.aws.amazon.com/bedrock/latest/userguide/data-protection.html";

/// AWS's Bedrock data retention page (the `data_retention_mode` of an account or project).
const DATA_RETENTION: &str =
    "https://docs.aws.amazon.com/bedrock/latest/userguide/data-retention.html";

/// AWS's page on Luma's models on Bedrock (asynchronous, output to the caller's bucket).
const LUMA_ON_BEDROCK: &str =
    "https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-luma.html";

/// The conditions under which AWS's zero-data-retention mode is taken to hold here.
const RETENTION_CONDITIONS: &[&str] = &[
    "the page says the mode is enforced across the Messages, Chat Completions and Responses APIs; it does not name InvokeModel or StartAsyncInvoke, which this adapter calls",
    "a model that requires retention is refused while the mode is none: such a model cannot be configured here",
];

/// AWS's declared data-handling for Bedrock inference.
///
/// - Training: AWS's data protection page says prompts and completions train no AWS model
///   and are not distributed to third parties.
/// - Retention: in the default mode AWS may keep data for safety and abuse prevention,
///   without a bound; zero data retention is the account's or project's
///   `data_retention_mode: none`, which a deployment records as its `zdr_contract`, with the
///   conditions above.
/// - Outputs: images come in the answer; videos are written to this deployment's own bucket
///   and deleted by the gateway once it has read them.
/// - Onward processors: the model's maker (Stability AI, Luma AI) does not receive the data.
pub const POLICY: ProviderPolicy = ProviderPolicy {
    capabilities: &[Capability::Image, Capability::Video],
    data_categories: &[DataCategory::UserContentPrivate],
    training_use: Claim::read(
        TrainingUse::No,
        DATA_PROTECTION,
        "Amazon Bedrock doesn't use your prompts and completions to train any AWS models and doesn't distribute them to third parties.",
        READ_ON,
    )
    .noting("the stored copy of AWS's page ends before this sentence; it was read as GitHub's Copilot documentation quotes that page, and the data retention page says the same of model providers"),
    retention: Claim::read(
        Retention::Unbounded {
            usual_days: None,
            condition: "in the default data retention mode, inference data AWS keeps for safety and abuse prevention",
            exceptions: &["the model's own retention policy applies in the default mode"],
        },
        DATA_RETENTION,
        "AWS may retain the data for safety and abuse-prevention purposes. The model provider does not receive it.",
        READ_ON,
    ),
    zero_data_retention: Claim::read(
        ZdrArrangement::ByContract {
            exceptions: RETENTION_CONDITIONS,
        },
        DATA_RETENTION,
        "Zero data retention. No request or response data is written to durable storage by AWS or shared with the model provider.",
        READ_ON,
    )
    .noting("set per account or project (data_retention_mode: none); record it in zdr_contract only once it is set"),
    output_retention: Claim::read(
        OutputRetention::DeleteOnRequest,
        LUMA_ON_BEDROCK,
        "The MP4 file will be stored in the Amazon S3 bucket as configured in the response.",
        READ_ON,
    )
    .noting("videos only, in this deployment's own bucket: the gateway reads the object and deletes it, and records it deleted once S3 no longer has it; images come in the answer"),
    region: Claim::unread(
        DATA_PROTECTION,
        "requests go to the endpoint of the configured `region`; AWS's own sentence on where Bedrock processes them was not found in the stored pages",
        READ_ON,
    ),
    onward_processors: Claim::read(
        Processors::Disclosed(&[]),
        DATA_RETENTION,
        "The model provider does not receive it.",
        READ_ON,
    )
    .noting("Stability AI and Luma AI, whose models run on Bedrock, receive neither prompts nor outputs; AWS itself is the provider"),
};

/// How a model takes its request: the body format of its family on Bedrock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    /// Stability's image models: `prompt`, `aspect_ratio`, `output_format`.
    Stability,
    /// Amazon Nova Canvas: `TEXT_IMAGE`.
    NovaCanvas,
    /// Luma Ray2: `prompt`, `aspect_ratio`, `loop`, `duration`, `resolution`.
    LumaRay,
    /// Amazon Nova Reel: `TEXT_VIDEO`.
    NovaReel,
}

/// A model this adapter can call on Bedrock: its id, what it makes, its family and the
/// page AWS documents its request and response on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Model {
    id: &'static str,
    name: &'static str,
    capability: Capability,
    family: ModelFamily,
    format: Format,
    max_prompt_chars: usize,
    documented_at: &'static str,
}

impl Model {
    /// Bedrock's model id.
    pub fn id(&self) -> &'static str {
        self.id
    }

    /// The model's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// What it generates.
    pub fn capability(&self) -> Capability {
        self.capability
    }

    /// Its family.
    pub fn family(&self) -> ModelFamily {
        self.family
    }

    /// The longest prompt it takes, as AWS documents it.
    pub fn max_prompt_chars(&self) -> usize {
        self.max_prompt_chars
    }

    /// Where AWS documents its request and response bodies.
    pub fn documented_at(&self) -> &'static str {
        self.documented_at
    }

    /// The model with Bedrock id `id` that generates `capability`, if the adapter knows it.
    pub fn find(id: &str, capability: Capability) -> Option<&'static Self> {
        MODELS
            .iter()
            .find(|model| model.id == id && model.capability == capability)
    }
}

const STABLE_IMAGE_CORE_PAGE: &str = "https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-diffusion-stable-image-core-text-image-request-response.html";
const STABLE_IMAGE_ULTRA_PAGE: &str = "https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-diffusion-stable-ultra-text-image-request-response.html";
const SD35_LARGE_PAGE: &str = "https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-diffusion-3-5-large.html";
const NOVA_CANVAS_PAGE: &str =
    "https://docs.aws.amazon.com/nova/latest/userguide/image-gen-req-resp-structure.html";
const NOVA_REEL_PAGE: &str =
    "https://docs.aws.amazon.com/nova/latest/userguide/video-gen-access.html";

/// Every model the adapter can be configured with: one table, from which the settings'
/// checks, the request bodies and the published model routes are derived.
pub const MODELS: &[Model] = &[
    Model {
        id: "stability.stable-image-core-v1:1",
        name: "Stable Image Core",
        capability: Capability::Image,
        family: ModelFamily::STABILITY,
        format: Format::Stability,
        max_prompt_chars: 10_000,
        documented_at: STABLE_IMAGE_CORE_PAGE,
    },
    Model {
        id: "stability.stable-image-ultra-v1:1",
        name: "Stable Image Ultra",
        capability: Capability::Image,
        family: ModelFamily::STABILITY,
        format: Format::Stability,
        max_prompt_chars: 10_000,
        documented_at: STABLE_IMAGE_ULTRA_PAGE,
    },
    Model {
        id: "stability.sd3-5-large-v1:0",
        name: "Stable Diffusion 3.5 Large",
        capability: Capability::Image,
        family: ModelFamily::STABILITY,
        format: Format::Stability,
        max_prompt_chars: 10_000,
        documented_at: SD35_LARGE_PAGE,
    },
    Model {
        id: "amazon.nova-canvas-v1:0",
        name: "Amazon Nova Canvas",
        capability: Capability::Image,
        family: ModelFamily::AMAZON_NOVA,
        format: Format::NovaCanvas,
        max_prompt_chars: 1_024,
        documented_at: NOVA_CANVAS_PAGE,
    },
    Model {
        id: "luma.ray-v2:0",
        name: "Luma Ray2",
        capability: Capability::Video,
        family: ModelFamily::LUMA,
        format: Format::LumaRay,
        max_prompt_chars: 5_000,
        documented_at: LUMA_ON_BEDROCK,
    },
    Model {
        id: "amazon.nova-reel-v1:0",
        name: "Amazon Nova Reel 1.0",
        capability: Capability::Video,
        family: ModelFamily::AMAZON_NOVA,
        format: Format::NovaReel,
        max_prompt_chars: 512,
        documented_at: NOVA_REEL_PAGE,
    },
    Model {
        id: "amazon.nova-reel-v1:1",
        name: "Amazon Nova Reel 1.1",
        capability: Capability::Video,
        family: ModelFamily::AMAZON_NOVA,
        format: Format::NovaReel,
        max_prompt_chars: 512,
        documented_at: NOVA_REEL_PAGE,
    },
];

/// Where the videos are written: a bucket of this deployment and a key prefix in it.
///
/// Parsed: the bucket is an S3 bucket name (3 to 63 lower-case letters, digits, `.` and
/// `-`, starting and ending with a letter or digit); the prefix is empty or `/`-separated
/// segments of letters, digits, `-`, `_` and `.` (none of them `.` or `..`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputLocation {
    bucket: String,
    prefix: Vec<String>,
}

/// Why a bucket or prefix is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidLocation {
    /// Not an S3 bucket name.
    Bucket,
    /// Not a prefix of safe segments.
    Prefix,
}

impl OutputLocation {
    /// Parses a bucket name and a key prefix (surrounding `/` ignored).
    pub fn parse(bucket: &str, prefix: &str) -> Result<Self, InvalidLocation> {
        let bucket = bucket.trim();
        let edge_ok =
            |b: Option<u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
            && edge_ok(bucket.bytes().next())
            && edge_ok(bucket.bytes().last())
            && !bucket.contains("..");
        if !bucket_ok {
            return Err(InvalidLocation::Bucket);
        }
        let prefix = prefix.trim().trim_matches('/');
        let segments: Vec<String> = if prefix.is_empty() {
            Vec::new()
        } else {
            prefix.split('/').map(str::to_owned).collect()
        };
        let segment_ok = |segment: &String| {
            !segment.is_empty()
                && segment != "."
                && segment != ".."
                && segment.len() <= 255
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        };
        if prefix.len() > 512 || !segments.iter().all(segment_ok) {
            return Err(InvalidLocation::Prefix);
        }
        Ok(Self {
            bucket: bucket.to_owned(),
            prefix: segments,
        })
    }

    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// `s3://bucket` or `s3://bucket/prefix`: where Bedrock is told to write.
    pub fn s3_uri(&self) -> String {
        if self.prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{}", self.bucket, self.prefix.join("/"))
        }
    }

    /// The key of the video an invocation with id `invocation_id` writes:
    /// `prefix/<invocation id>/output.mp4`.
    pub fn video_key(&self, invocation_id: &str) -> String {
        let mut key = self.prefix.join("/");
        if !key.is_empty() {
            key.push('/');
        }
        key.push_str(invocation_id);
        key.push_str("/output.mp4");
        key
    }
}

/// How the adapter reaches Bedrock and the bucket.
#[derive(Clone)]
pub struct BedrockConfig {
    /// The AWS access key id; without it (or without the secret) the adapter is listed but
    /// unavailable.
    pub access_key_id: Option<SecretString>,
    /// The AWS secret access key.
    pub secret_access_key: Option<SecretString>,
    /// The session token of temporary credentials.
    pub session_token: Option<SecretString>,
    /// The AWS region requests are signed for.
    pub region: String,
    /// The Bedrock runtime's base URL.
    pub base_url: String,
    /// S3's base URL; objects are addressed path-style (`<s3_url>/<bucket>/<key>`).
    pub s3_url: String,
    /// Where videos are written.
    pub output: OutputLocation,
    /// The image model.
    pub image_model: &'static Model,
    /// The video model.
    pub video_model: &'static Model,
    /// The longest a request may take, connection included.
    pub timeout: Duration,
    /// The largest video read back.
    pub max_output_bytes: usize,
}

impl BedrockConfig {
    /// The defaults for `region`: its runtime and S3 endpoints, Nova Canvas for images,
    /// Luma Ray2 for videos, 60 s, [`MAX_OUTPUT_BYTES`]; no credentials.
    pub fn new(region: &str, output: OutputLocation) -> Self {
        Self {
            access_key_id: None,
            secret_access_key: None,
            session_token: None,
            region: region.to_owned(),
            base_url: runtime_url(region),
            s3_url: s3_url(region),
            output,
            image_model: Model::find(DEFAULT_IMAGE_MODEL, Capability::Image).unwrap_or(&MODELS[3]),
            video_model: Model::find(DEFAULT_VIDEO_MODEL, Capability::Video).unwrap_or(&MODELS[4]),
            timeout: Duration::from_secs(60),
            max_output_bytes: MAX_OUTPUT_BYTES,
        }
    }
}

/// The keys are left out.
impl fmt::Debug for BedrockConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BedrockConfig")
            .field("has_credentials", &self.access_key_id.is_some())
            .field("region", &self.region)
            .field("base_url", &self.base_url)
            .field("s3_url", &self.s3_url)
            .field("output", &self.output)
            .field("image_model", &self.image_model.id)
            .field("video_model", &self.video_model.id)
            .finish_non_exhaustive()
    }
}

impl AdapterConfig for BedrockConfig {
    fn id(&self) -> &'static str {
        ID
    }

    fn build(&self) -> Result<Arc<dyn ProviderAdapter>, BuildError> {
        Ok(Arc::new(BedrockProvider::new(self.clone())?))
    }
}

/// The runtime endpoint of `region`.
pub fn runtime_url(region: &str) -> String {
    format!("https://bedrock-runtime.{region}.amazonaws.com")
}

/// The S3 endpoint of `region`.
pub fn s3_url(region: &str) -> String {
    format!("https://s3.{region}.amazonaws.com")
}

/// The `[providers.bedrock]` section of the settings (`ICECONE_BEDROCK_<KEY>`).
#[derive(Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct BedrockSettings {
    /// The AWS region.
    pub region: String,
    /// The AWS access key id.
    #[serde(serialize_with = "redacted")]
    pub access_key_id: Option<SecretString>,
    /// The AWS secret access key; unset or blank leaves Bedrock listed but unavailable.
    #[serde(serialize_with = "redacted")]
    pub secret_access_key: Option<SecretString>,
    /// The session token of temporary credentials.
    #[serde(serialize_with = "redacted")]
    pub session_token: Option<SecretString>,
    /// The Bedrock runtime's base URL; blank: the region's endpoint.
    pub base_url: String,
    /// S3's base URL; unset or blank: the region's endpoint.
    pub s3_url: Option<String>,
    /// The bucket videos are written to.
    pub output_bucket: Option<String>,
    /// The key prefix in it.
    pub output_prefix: Option<String>,
    /// The reference of the account's or project's zero data retention setting.
    pub zdr_contract: Option<String>,
    /// The image model.
    pub image_model: String,
    /// The video model.
    pub video_model: String,
}

impl Default for BedrockSettings {
    fn default() -> Self {
        Self {
            region: DEFAULT_REGION.to_owned(),
            access_key_id: None,
            secret_access_key: None,
            session_token: None,
            base_url: DEFAULT_BASE_URL.to_owned(),
            s3_url: None,
            output_bucket: None,
            output_prefix: None,
            zdr_contract: None,
            image_model: DEFAULT_IMAGE_MODEL.to_owned(),
            video_model: DEFAULT_VIDEO_MODEL.to_owned(),
        }
    }
}

/// An AWS region name such as `us-east-1`: lower-case letters, digits and `-`.
fn region(value: &str) -> Result<String, SettingError> {
    let region = value.trim();
    let valid = (1..=20).contains(&region.len())
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && region
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase());
    if valid {
        Ok(region.to_owned())
    } else {
        Err(SettingError::invalid(
            "region",
            "must be an AWS region such as us-east-1",
        ))
    }
}

/// The model setting `key` checked against the models the adapter knows for `capability`.
fn model(key: &str, value: &str, capability: Capability) -> Result<&'static Model, SettingError> {
    Model::find(value.trim(), capability).ok_or_else(|| {
        let known: Vec<&str> = MODELS
            .iter()
            .filter(|model| model.capability == capability)
            .map(|model| model.id)
            .collect();
        SettingError::invalid(key, &format!("must be one of {}", known.join(", ")))
    })
}

impl ProviderSettings for BedrockSettings {
    const ID: &'static str = ID;
    const SETTINGS: &'static [SettingDoc] = &[
        SettingDoc {
            key: "region",
            default: Some(DEFAULT_REGION),
            help: "the AWS region Bedrock is called in and requests are signed for; it also chooses the default runtime and S3 endpoints",
        },
        SettingDoc {
            key: "access_key_id",
            default: None,
            help: "AWS access key id of an IAM principal allowed bedrock:InvokeModel and, on the output bucket, s3:GetObject and s3:DeleteObject; server-side only, never logged",
        },
        SettingDoc {
            key: "secret_access_key",
            default: None,
            help: "AWS secret access key, server-side only, never logged; unset (or no access_key_id): Bedrock is listed but unavailable",
        },
        SettingDoc {
            key: "session_token",
            default: None,
            help: "session token of temporary AWS credentials, sent as x-amz-security-token; never logged",
        },
        SettingDoc {
            key: "base_url",
            default: Some(DEFAULT_BASE_URL),
            help: "Bedrock runtime base URL; blank: https://bedrock-runtime.<region>.amazonaws.com (tests point it at a local mock); https:// in production",
        },
        SettingDoc {
            key: "s3_url",
            default: None,
            help: "S3 base URL, objects addressed path-style as <s3_url>/<bucket>/<key>; blank: https://s3.<region>.amazonaws.com; http:// only when base_url is (development)",
        },
        SettingDoc {
            key: "output_bucket",
            default: None,
            help: "this deployment's S3 bucket Bedrock writes videos to; the gateway reads each video from it and deletes it; required with the credentials",
        },
        SettingDoc {
            key: "output_prefix",
            default: None,
            help: "key prefix in output_bucket for videos (segments of letters, digits, -, _ and .); each video is <prefix>/<invocation id>/output.mp4",
        },
        SettingDoc {
            key: "zdr_contract",
            default: None,
            help: "reference of the AWS account's or project's Bedrock data_retention_mode none; set it only once that mode is in force: it makes the effective retention none",
        },
        SettingDoc {
            key: "image_model",
            default: Some(DEFAULT_IMAGE_MODEL),
            help: "the Bedrock image model: amazon.nova-canvas-v1:0, stability.stable-image-core-v1:1, stability.stable-image-ultra-v1:1 or stability.sd3-5-large-v1:0",
        },
        SettingDoc {
            key: "video_model",
            default: Some(DEFAULT_VIDEO_MODEL),
            help: "the Bedrock video model: luma.ray-v2:0, amazon.nova-reel-v1:0 or amazon.nova-reel-v1:1",
        },
    ];
    type Config = BedrockConfig;

    /// The secret access key stands for the key: without it nothing can be signed.
    fn access(&self) -> AccessSettings<'_> {
        AccessSettings {
            api_key: self.secret_access_key.as_ref(),
            base_url: if self.base_url.trim().is_empty() {
                DEFAULT_BASE_URL
            } else {
                &self.base_url
            },
            zdr_contract: self.zdr_contract.as_deref(),
        }
    }

    fn config(&self, access: Access) -> Result<BedrockConfig, SettingError> {
        let region = region(&self.region)?;
        let base_url = if self.base_url.trim().is_empty() || access.base_url == DEFAULT_BASE_URL {
            runtime_url(&region)
        } else {
            access.base_url
        };
        // Plain HTTP is allowed only where the shared check allowed it for `base_url`: in
        // development, against local servers.
        let plain_http_allowed = base_url.starts_with("http://");
        let s3_url = match non_blank(self.s3_url.as_deref()) {
            None => s3_url(&region),
            Some(url) => {
                let url = url.trim_end_matches('/').to_owned();
                if url.starts_with("https://") || (plain_http_allowed && url.starts_with("http://"))
                {
                    url
                } else {
                    return Err(SettingError::invalid(
                        "s3_url",
                        "must be an https:// URL (http:// only when base_url is, in development)",
                    ));
                }
            }
        };
        let access_key_id = self
            .access_key_id
            .as_ref()
            .and_then(|key| non_blank(Some(secrecy::ExposeSecret::expose_secret(key))))
            .map(SecretString::from);
        let session_token = self
            .session_token
            .as_ref()
            .and_then(|token| non_blank(Some(secrecy::ExposeSecret::expose_secret(token))))
            .map(SecretString::from);
        let has_credentials = access.api_key.is_some() && access_key_id.is_some();
        let bucket = self.output_bucket.as_deref().unwrap_or_default();
        let output = match OutputLocation::parse(
            bucket,
            self.output_prefix.as_deref().unwrap_or_default(),
        ) {
            Ok(output) => output,
            Err(InvalidLocation::Prefix) => {
                return Err(SettingError::invalid(
                    "output_prefix",
                    "must be segments of letters, digits, -, _ and . separated by /",
                ));
            }
            Err(InvalidLocation::Bucket) if has_credentials || !bucket.trim().is_empty() => {
                return Err(SettingError::invalid(
                    "output_bucket",
                    "must be an S3 bucket name (3 to 63 lower-case letters, digits, . and -), set together with the credentials",
                ));
            }
            // Not configured at all: listed, unavailable.
            Err(InvalidLocation::Bucket) => OutputLocation {
                bucket: String::new(),
                prefix: Vec::new(),
            },
        };
        let mut config = BedrockConfig::new(&region, output);
        config.access_key_id = access_key_id.filter(|_| has_credentials);
        config.secret_access_key = access.api_key.filter(|_| has_credentials);
        config.session_token = session_token.filter(|_| has_credentials);
        config.base_url = base_url;
        config.s3_url = s3_url;
        config.timeout = access.timeout;
        config.image_model = model("image_model", &self.image_model, Capability::Image)?;
        config.video_model = model("video_model", &self.video_model, Capability::Video)?;
        Ok(config)
    }
}

/// Amazon Bedrock, for the application's registry of providers.
pub static REGISTRATION: Registered<BedrockSettings> = Registered::new();

/// The Amazon Bedrock adapter.
pub struct BedrockProvider {
    id: ProviderId,
    signer: Option<Signer>,
    runtime_url: String,
    s3_url: String,
    http: reqwest::Client,
    config: BedrockConfig,
}

impl BedrockProvider {
    /// Builds the adapter; no request is sent.
    pub fn new(config: BedrockConfig) -> Result<Self, BuildError> {
        let signer = match (&config.access_key_id, &config.secret_access_key) {
            (Some(id), Some(secret)) if !config.output.bucket.is_empty() => Some(Signer::new(
                id.clone(),
                secret.clone(),
                config.session_token.clone(),
                &config.region,
            )),
            _ => None,
        };
        Ok(Self {
            id: ProviderId::parse(ID).map_err(|_| BuildError::Id)?,
            signer,
            runtime_url: icecone_provider_http::base_url(&config.base_url)?,
            s3_url: icecone_provider_http::base_url(&config.s3_url)?,
            http: icecone_provider_http::client(config.timeout)?,
            config,
        })
    }

    /// The signer, or [`ProviderError::Unauthorized`] without credentials.
    fn signer(&self) -> Result<&Signer, ProviderError> {
        self.signer.as_ref().ok_or(ProviderError::Unauthorized)
    }
}

/// The configuration (without keys) and whether there is a signer.
impl fmt::Debug for BedrockProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BedrockProvider")
            .field("id", &self.id)
            .field("signer", &self.signer)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl ProviderAdapter for BedrockProvider {
    fn id(&self) -> &ProviderId {
        &self.id
    }

    fn name(&self) -> &str {
        "Amazon Bedrock"
    }

    fn policy(&self) -> &ProviderPolicy {
        &POLICY
    }

    fn is_available(&self) -> bool {
        self.signer.is_some()
    }

    fn models(&self) -> Vec<ModelRoute> {
        [self.config.image_model, self.config.video_model]
            .into_iter()
            .map(|model| ModelRoute {
                capability: model.capability,
                model: model.id.to_owned(),
                family: model.family,
            })
            .collect()
    }

    fn submit<'a>(&'a self, request: &'a GenerationRequest) -> ProviderFuture<'a, Submission> {
        Box::pin(async move {
            match request {
                GenerationRequest::Image(image) => {
                    let model = self.config.image_model;
                    image.prompt.check_len(model.max_prompt_chars)?;
                    Ok(Submission::Done(self.invoke_image(model, image).await?))
                }
                GenerationRequest::Video(video) => {
                    let model = self.config.video_model;
                    video.prompt.check_len(model.max_prompt_chars)?;
                    // Neither model takes a start image by URL on Bedrock: an image-to-video
                    // request is not one this route can keep faithfully.
                    if video.image.is_some() {
                        return Err(InvalidRequest::Unsupported(Capability::Video).into());
                    }
                    Ok(Submission::Pending(self.start_video(model, video).await?))
                }
                GenerationRequest::Text(_) => {
                    Err(InvalidRequest::Unsupported(request.capability()).into())
                }
            }
        })
    }

    fn poll<'a>(&'a self, job: &'a JobHandle) -> ProviderFuture<'a, JobStatus> {
        Box::pin(self.video_status(job))
    }

    /// The object is deleted, then looked for: deleted only once S3 no longer has it.
    fn delete_remote<'a>(&'a self, job: &'a JobHandle) -> ProviderFuture<'a, RemoteDeletion> {
        Box::pin(async move {
            self.delete_video(job).await?;
            Ok(RemoteDeletion::Deleted)
        })
    }
}

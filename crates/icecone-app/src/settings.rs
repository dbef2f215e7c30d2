//! The application's settings, as typed values: the gateway's configuration
//! (`icecone-gateway`'s `config`) reads, checks and fills them in; here they are only used.

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use icecone_core::provider::policy::ZdrContract;
use icecone_core::usage::Plans;
use icecone_provider_http::settings::AdapterConfig;

/// How data subject requests are served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RightsConfig {
    /// How long an export's single-use download link (and the stored export) lasts.
    pub export_link_ttl: Duration,
    /// How long an account may stay unverified before it is erased.
    pub unverified_account_ttl: Duration,
}

impl Default for RightsConfig {
    fn default() -> Self {
        Self {
            export_link_ttl: Duration::from_secs(7 * 86_400),
            unverified_account_ttl: Duration::from_secs(7 * 86_400),
        }
    }
}

/// How the background job runner works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobsConfig {
    /// Workers per instance (`0`: this instance runs no jobs).
    pub workers: usize,
    /// How often an idle worker looks for due jobs, a running video is polled and a
    /// subscription re-reads its generation.
    pub poll_interval: Duration,
    /// How long a claim lasts without renewal.
    pub lease: Duration,
    /// How long a video generation may take from its request.
    pub video_deadline: Duration,
    /// The largest output fetched from a provider's temporary URL.
    pub max_output_bytes: usize,
    /// How long after `requestAccountDeletion` the erasure job runs (it may be cancelled
    /// until then).
    pub erasure_grace: Duration,
}

impl Default for JobsConfig {
    fn default() -> Self {
        Self {
            workers: 2,
            poll_interval: Duration::from_secs(1),
            lease: Duration::from_secs(60),
            video_deadline: Duration::from_secs(30 * 60),
            max_output_bytes: 256 * 1024 * 1024,
            erasure_grace: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// How generations are metered and kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenerationsConfig {
    /// What an account may generate per calendar month, by its plan.
    pub plans: Plans,
    /// How long a generation is kept before the purge job deletes it.
    pub retention: Duration,
    /// The completion limit of a text that names none.
    pub default_max_tokens: u32,
}

/// The AI providers: how to reach them, this deployment's contracts with them and the
/// promises every routed request must meet.
#[derive(Debug, Clone)]
pub struct ProvidersConfig {
    /// The longest a provider may keep our data (`0`: nothing may be kept).
    pub max_retention_days: u32,
    /// The longest one provider request may take.
    pub timeout: Duration,
    /// Each registered external provider's checked configuration, in the order of
    /// [`crate::providers::REGISTRY`]; a provider without a key is here too.
    pub adapters: Vec<Arc<dyn AdapterConfig>>,
    /// The zero-data-retention contracts this deployment holds.
    pub zdr_contracts: Vec<ZdrContract>,
    /// How long the local provider's video jobs run before they are ready.
    pub local_video_delay: Duration,
}

impl ProvidersConfig {
    /// The configuration of the adapter configured by a `C`, if one is.
    pub fn adapter<C: AdapterConfig>(&self) -> Option<&C> {
        self.adapters
            .iter()
            .find_map(|config| (config.as_ref() as &dyn Any).downcast_ref())
    }
}

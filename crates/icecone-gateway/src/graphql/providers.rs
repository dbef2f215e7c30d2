//! `providers`: the public list of provider adapters and their data-handling policy.

use std::sync::Arc;

use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use icecone_core::provider::{self, ProviderAdapter};

use super::Services;
use super::classification::not_personal;
use super::error::ApiError;
use super::scalars::Date;

#[derive(Debug, Default)]
pub(crate) struct ProvidersQuery;

#[Object]
impl ProvidersQuery {
    /// Every configured AI provider with the data-handling policy it is held to. Public:
    /// this is what the privacy policy's provider section is made from.
    async fn providers(&self, ctx: &Context<'_>) -> Result<Vec<Provider>, ApiError> {
        let services = ctx
            .data::<Services>()
            .map_err(|_| ApiError::Internal(anyhow::anyhow!("schema built without services")))?;
        Ok(services.providers.iter().cloned().map(Provider).collect())
    }
}

/// An AI provider and the data-handling policy our requests to it are held to.
pub(crate) struct Provider(Arc<dyn ProviderAdapter>);

#[Object(directive = not_personal::apply())]
impl Provider {
    /// The stable id clients pass as `provider` (`local` is the offline built-in one).
    async fn id(&self) -> ID {
        ID(self.0.id().to_string())
    }

    /// A human-readable name.
    async fn name(&self) -> &str {
        self.0.name()
    }

    /// What the provider can generate.
    async fn capabilities(&self) -> Vec<Capability> {
        self.0
            .policy()
            .capabilities
            .iter()
            .copied()
            .map(Capability::from)
            .collect()
    }

    /// Whether the provider trains its models on our requests.
    async fn training_use(&self) -> TrainingUse {
        self.0.policy().training_use.into()
    }

    /// How long the provider keeps our requests and its outputs.
    async fn retention(&self) -> Retention {
        self.0.policy().retention.into()
    }

    /// Whether zero data retention is in force for our requests.
    async fn zero_data_retention(&self) -> bool {
        self.0.policy().zero_data_retention
    }

    /// Where the processing happens, when the provider says.
    async fn region(&self) -> Option<&str> {
        self.0.policy().region
    }

    /// Where the claims above come from.
    async fn source_url(&self) -> &str {
        self.0.policy().source_url
    }

    /// When the claims were last checked against their source.
    async fn verified_on(&self) -> Date {
        Date(self.0.policy().verified_on)
    }

    /// Whether the provider can take requests now.
    async fn available(&self) -> bool {
        self.0.is_available()
    }
}

/// A kind of content a provider can produce.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Capability {
    /// Text generation.
    Text,
    /// Image generation.
    Image,
    /// Video generation.
    Video,
    /// Editing of an existing video.
    VideoEdit,
    /// Talking-avatar video.
    AvatarVideo,
}

impl From<provider::Capability> for Capability {
    fn from(value: provider::Capability) -> Self {
        match value {
            provider::Capability::Text => Self::Text,
            provider::Capability::Image => Self::Image,
            provider::Capability::Video => Self::Video,
            provider::Capability::VideoEdit => Self::VideoEdit,
            provider::Capability::AvatarVideo => Self::AvatarVideo,
        }
    }
}

/// Whether a provider trains on our data. `UNKNOWN` never satisfies a promise.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TrainingUse {
    /// It does.
    Yes,
    /// It does not.
    No,
    /// Its terms do not establish it.
    Unknown,
}

impl From<provider::TrainingUse> for TrainingUse {
    fn from(value: provider::TrainingUse) -> Self {
        match value {
            provider::TrainingUse::Yes => Self::Yes,
            provider::TrainingUse::No => Self::No,
            provider::TrainingUse::Unknown => Self::Unknown,
        }
    }
}

/// How a provider keeps data.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RetentionKind {
    /// Nothing is kept after the request is answered.
    None,
    /// Kept for a bounded number of days (see `maxDays` and `condition`).
    Days,
    /// Its terms do not establish it.
    Unknown,
}

/// How long a provider keeps our requests and its outputs.
#[derive(SimpleObject)]
#[graphql(directive = not_personal::apply())]
pub(crate) struct Retention {
    /// The kind of retention.
    kind: RetentionKind,
    /// The longest the provider may keep data, for `DAYS`.
    max_days: Option<u32>,
    /// When and why data is kept, for `DAYS`.
    condition: Option<&'static str>,
}

impl From<provider::Retention> for Retention {
    fn from(value: provider::Retention) -> Self {
        match value {
            provider::Retention::None => Self {
                kind: RetentionKind::None,
                max_days: None,
                condition: None,
            },
            provider::Retention::Days {
                max_days,
                condition,
            } => Self {
                kind: RetentionKind::Days,
                max_days: Some(max_days),
                condition: Some(condition),
            },
            provider::Retention::Unknown => Self {
                kind: RetentionKind::Unknown,
                max_days: None,
                condition: None,
            },
        }
    }
}

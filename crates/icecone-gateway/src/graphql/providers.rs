//! `providers`: the public list of provider adapters and the EFFECTIVE data-handling
//! policy our requests to each are held to (declared policy + this deployment's contracts).

use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use icecone_core::provider::{self, agreement, policy};

use super::caller::services;
use super::classification::not_personal;
use super::error::ApiError;
use super::scalars::Date;
use icecone_app::providers::Entry;

#[derive(Debug, Default)]
pub(crate) struct ProvidersQuery;

#[Object]
impl ProvidersQuery {
    /// Every AI provider adapter with the data-handling policy our requests to it are
    /// held to — the provider's declared terms with this deployment's contracts applied,
    /// which is also what routing decides on. Public: this is what the privacy policy's
    /// provider section is made from.
    async fn providers(&self, ctx: &Context<'_>) -> Result<Vec<Provider>, ApiError> {
        let services = services(ctx)?;
        Ok(services
            .providers
            .entries()
            .iter()
            .cloned()
            .map(Provider)
            .collect())
    }
}

/// An AI provider and the data-handling policy our requests to it are held to.
pub(crate) struct Provider(pub(crate) Entry);

impl Provider {
    pub(crate) fn new(entry: Entry) -> Self {
        Self(entry)
    }

    fn policy(&self) -> &policy::EffectivePolicy {
        self.0.effective()
    }

    fn claim_sources(&self) -> [(PolicyClaim, &policy::Source); 6] {
        self.policy()
            .sources()
            .map(|(claim, source)| (claim.into(), source))
    }
}

#[Object(directive = not_personal::apply())]
impl Provider {
    /// The stable id clients pass as `provider` (`local` is the offline built-in one).
    async fn id(&self) -> ID {
        ID(self.0.adapter().id().to_string())
    }

    /// A human-readable name.
    async fn name(&self) -> &str {
        self.0.adapter().name()
    }

    /// What the provider can generate.
    async fn capabilities(&self) -> Vec<Capability> {
        self.policy()
            .capabilities
            .iter()
            .copied()
            .map(Capability::from)
            .collect()
    }

    /// The kinds of personal data sent to the provider, as fideslang data categories
    /// (`user.content.private`: the prompt and any input the person gives).
    async fn data_categories(&self) -> Vec<&'static str> {
        self.policy()
            .data_categories
            .iter()
            .map(|category| category.as_str())
            .collect()
    }

    /// Whether the provider trains its models on our requests.
    async fn training_use(&self) -> TrainingUse {
        self.policy().training_use.value().into()
    }

    /// How long the provider keeps our requests and its outputs, this deployment's
    /// contracts included.
    async fn retention(&self) -> Retention {
        self.policy().retention.value().into()
    }

    /// Whether nothing is kept by the provider once a request is answered (effective:
    /// true for OpenAI only when this deployment holds a zero-data-retention contract).
    async fn zero_data_retention(&self) -> bool {
        self.policy().zero_data_retention()
    }

    /// How zero data retention can be had from the provider.
    async fn zero_data_retention_arrangement(&self) -> ZeroDataRetentionArrangement {
        self.policy().zero_data_retention_arrangement.value().into()
    }

    /// Whether this deployment holds a zero-data-retention contract with the provider
    /// that is in force for our requests.
    async fn zero_data_retention_contract(&self) -> bool {
        self.policy().zero_data_retention_agreement()
    }

    /// This deployment's agreements with the provider: each can make a claim stronger than
    /// the provider's published terms (a claim set by one names it in `sources`).
    async fn agreements(&self) -> Vec<ProviderAgreement> {
        self.policy()
            .agreements
            .iter()
            .map(|agreement| ProviderAgreement {
                reference: agreement.reference().to_owned(),
                signed_on: agreement.signed_on().map(Date),
                clauses: agreement
                    .clause_list()
                    .into_iter()
                    .map(AgreementClause::from)
                    .collect(),
            })
            .collect()
    }

    /// The model this deployment uses for each kind of content the provider generates,
    /// with its family: the same models reached through another provider's platform share
    /// a family, and routing prefers the route whose terms are stronger.
    async fn models(&self) -> Vec<ProviderModel> {
        self.0
            .models()
            .iter()
            .map(|model| ProviderModel {
                kind: model.capability.into(),
                model: model.model.clone(),
                family: model.family.as_str(),
            })
            .collect()
    }

    /// What becomes of the outputs the provider holds for us to fetch (video and some image
    /// providers): deleted on our request once fetched, or kept until its temporary URL
    /// expires.
    async fn output_retention(&self) -> OutputRetention {
        self.policy().output_retention.value().into()
    }

    /// Where the provider hosts or processes the data, when its own text says.
    async fn region(&self) -> Option<&'static str> {
        match self.policy().region.value() {
            policy::Region::Disclosed(region) => Some(region),
            policy::Region::NotCommitted | policy::Region::Unknown => None,
        }
    }

    /// The companies the provider says it passes data on to; empty when nobody (the
    /// provider runs inside the gateway), null when its own text could not establish it.
    async fn onward_processors(&self) -> Option<Vec<OnwardProcessor>> {
        match self.policy().onward_processors.value() {
            policy::Processors::None => Some(Vec::new()),
            policy::Processors::Disclosed(processors) => Some(
                processors
                    .iter()
                    .map(|processor| OnwardProcessor {
                        name: processor.name,
                        purpose: processor.purpose,
                        location: processor.location,
                    })
                    .collect(),
            ),
            policy::Processors::Unknown => None,
        }
    }

    /// The provider's main data-handling source (that of the training-use claim); every
    /// claim's own source is in `sources`.
    async fn source_url(&self) -> &'static str {
        self.policy().training_use.source().url
    }

    /// The oldest date on which one of the claims was checked against its source.
    async fn verified_on(&self) -> Date {
        let oldest = self
            .claim_sources()
            .iter()
            .map(|(_, source)| source.checked_on)
            .min()
            .unwrap_or(self.policy().training_use.source().checked_on);
        Date(oldest)
    }

    /// What each claim rests on: the provider's sentence, where it was read and when.
    async fn sources(&self) -> Vec<PolicySource> {
        let policy = self.policy();
        policy
            .sources()
            .into_iter()
            .map(|(claim, source)| PolicySource {
                agreement: policy
                    .granted_by(claim)
                    .map(|agreement| agreement.reference().to_owned()),
                claim: claim.into(),
                url: source.url,
                quote: source.quote,
                note: source.note,
                verified_on: Date(source.checked_on),
            })
            .collect()
    }

    /// Whether the provider can take requests now (an external provider needs its key).
    async fn available(&self) -> bool {
        self.0.adapter().is_available()
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

impl From<policy::TrainingUse> for TrainingUse {
    fn from(value: policy::TrainingUse) -> Self {
        match value {
            policy::TrainingUse::Yes => Self::Yes,
            policy::TrainingUse::No => Self::No,
            policy::TrainingUse::Unknown => Self::Unknown,
        }
    }
}

/// How zero data retention can be had from a provider.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ZeroDataRetentionArrangement {
    /// Nothing is kept whatever is arranged (the provider runs inside the gateway).
    Inherent,
    /// Each request can ask for it.
    PerRequest,
    /// Only by contract between the provider and the deployment's organisation.
    ByContract,
    /// The provider does not offer it.
    Unavailable,
    /// Its terms do not establish it.
    Unknown,
}

impl From<policy::ZdrArrangement> for ZeroDataRetentionArrangement {
    fn from(value: policy::ZdrArrangement) -> Self {
        match value {
            policy::ZdrArrangement::Inherent => Self::Inherent,
            policy::ZdrArrangement::PerRequest => Self::PerRequest,
            policy::ZdrArrangement::ByContract { .. } => Self::ByContract,
            policy::ZdrArrangement::Unavailable => Self::Unavailable,
            policy::ZdrArrangement::Unknown => Self::Unknown,
        }
    }
}

/// A claim of a provider's data-handling policy.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PolicyClaim {
    /// `trainingUse`.
    TrainingUse,
    /// `retention`.
    Retention,
    /// `zeroDataRetentionArrangement`.
    ZeroDataRetention,
    /// `outputRetention`.
    OutputRetention,
    /// `region`.
    Region,
    /// `onwardProcessors`.
    OnwardProcessors,
}

impl From<policy::ClaimName> for PolicyClaim {
    fn from(value: policy::ClaimName) -> Self {
        match value {
            policy::ClaimName::TrainingUse => Self::TrainingUse,
            policy::ClaimName::Retention => Self::Retention,
            policy::ClaimName::ZeroDataRetention => Self::ZeroDataRetention,
            policy::ClaimName::OutputRetention => Self::OutputRetention,
            policy::ClaimName::Region => Self::Region,
            policy::ClaimName::OnwardProcessors => Self::OnwardProcessors,
        }
    }
}

/// A company a provider passes data on to, as the provider discloses it.
#[derive(SimpleObject)]
#[graphql(directive = not_personal::apply())]
pub(crate) struct OnwardProcessor {
    /// Its name.
    name: &'static str,
    /// What it does with the data, in the provider's words.
    purpose: &'static str,
    /// Where, when the provider says.
    location: Option<&'static str>,
}

/// Where one claim comes from.
#[derive(SimpleObject)]
#[graphql(directive = not_personal::apply())]
pub(crate) struct PolicySource {
    /// The claim.
    claim: PolicyClaim,
    /// The provider's page (or, for `local`, the section of IceCone's documentation).
    url: &'static str,
    /// The provider's sentence the claim rests on, verbatim (`…` marks a cut), at most 25
    /// words; null when the page could not be read, and the claim is then `UNKNOWN`.
    quote: Option<&'static str>,
    /// What the sentence leaves open, or what was tried when nothing could be read.
    note: Option<&'static str>,
    /// When the page was read (for a claim without a quote: when reading it was tried).
    verified_on: Date,
    /// The reference of this deployment's agreement that sets the claim's value instead of
    /// the provider's terms (which `quote` still shows), where one does.
    agreement: Option<String>,
}

/// One of this deployment's agreements with a provider.
#[derive(SimpleObject)]
#[graphql(directive = not_personal::apply())]
pub(crate) struct ProviderAgreement {
    /// The operator's reference of the agreement.
    reference: String,
    /// The day it was signed; null for a zero-data-retention contract recorded by the
    /// provider's `zdr_contract` setting, which carries no date.
    signed_on: Option<Date>,
    /// What it grants.
    clauses: Vec<AgreementClause>,
}

/// A clause of an agreement with a provider.
#[derive(SimpleObject)]
#[graphql(directive = not_personal::apply())]
pub(crate) struct AgreementClause {
    /// The kind of clause.
    kind: AgreementClauseKind,
    /// For `RETENTION_AT_MOST_DAYS`: the bound in days (`0`: nothing kept).
    days: Option<u32>,
    /// For `REGION`: the region's code (`EU`, `US`, ...).
    region: Option<&'static str>,
}

/// The kinds of clause an agreement can grant.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AgreementClauseKind {
    /// The provider does not use our data for training.
    NoTraining,
    /// The provider's own zero-data-retention arrangement applies to us.
    ZeroDataRetention,
    /// The provider keeps our data at most `days` days.
    RetentionAtMostDays,
    /// The provider processes our data in `region`.
    Region,
}

impl From<agreement::Clause> for AgreementClause {
    fn from(value: agreement::Clause) -> Self {
        let (kind, days, region) = match value {
            agreement::Clause::NoTraining => (AgreementClauseKind::NoTraining, None, None),
            agreement::Clause::ZeroDataRetention => {
                (AgreementClauseKind::ZeroDataRetention, None, None)
            }
            agreement::Clause::RetentionAtMostDays(days) => {
                (AgreementClauseKind::RetentionAtMostDays, Some(days), None)
            }
            agreement::Clause::Region(region) => {
                (AgreementClauseKind::Region, None, Some(region.code()))
            }
        };
        Self { kind, days, region }
    }
}

/// A model a provider runs for this deployment.
#[derive(SimpleObject)]
#[graphql(directive = not_personal::apply())]
pub(crate) struct ProviderModel {
    /// The kind of content.
    kind: Capability,
    /// The provider's id of the model.
    model: String,
    /// The model's family (`stability`, `luma`, `amazon-nova`, ...).
    family: &'static str,
}

/// How a provider keeps data.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RetentionKind {
    /// Nothing is kept after the request is answered.
    None,
    /// Kept for a bounded number of days (see `maxDays` and `condition`): a bound the
    /// provider's terms give.
    Days,
    /// Kept for a period the terms name (`usualDays`) or until deleted, and longer under
    /// open-ended `exceptions`: no bound, so no retention limit admits it.
    Unbounded,
    /// Its terms do not establish it.
    Unknown,
}

/// The kinds of [`OutputRetention`].
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutputRetentionKind {
    /// Outputs come in the provider's answer itself: it holds none for us to fetch.
    Inline,
    /// Outputs wait at a temporary URL; once the gateway has fetched one it asks the
    /// provider to delete it through its API. The provider's acknowledgement is all the
    /// gateway knows: what the delete covers is what the claim's `quote` says.
    DeletedAfterFetch,
    /// Outputs wait at a temporary URL that expires after `maxHours`; the provider offers
    /// no way to delete them sooner.
    Expires,
    /// Its terms do not establish it.
    Unknown,
}

/// What becomes of a generated output the provider holds for us to fetch.
#[derive(SimpleObject)]
#[graphql(directive = not_personal::apply())]
pub(crate) struct OutputRetention {
    /// The kind.
    kind: OutputRetentionKind,
    /// The longest an output stays at the provider, for `EXPIRES`.
    max_hours: Option<u32>,
}

impl From<policy::OutputRetention> for OutputRetention {
    fn from(value: policy::OutputRetention) -> Self {
        let (kind, max_hours) = match value {
            policy::OutputRetention::Inline => (OutputRetentionKind::Inline, None),
            policy::OutputRetention::DeleteOnRequest => {
                (OutputRetentionKind::DeletedAfterFetch, None)
            }
            policy::OutputRetention::Expires { max_hours } => {
                (OutputRetentionKind::Expires, Some(max_hours))
            }
            policy::OutputRetention::Unknown => (OutputRetentionKind::Unknown, None),
        };
        Self { kind, max_hours }
    }
}

/// How long a provider keeps our requests and its outputs.
#[derive(SimpleObject)]
#[graphql(directive = not_personal::apply())]
pub(crate) struct Retention {
    /// The kind of retention.
    kind: RetentionKind,
    /// The longest the provider may keep data, for `DAYS`.
    max_days: Option<u32>,
    /// The period the terms name for the usual case, for `UNBOUNDED` (null when they name
    /// none).
    usual_days: Option<u32>,
    /// What is kept and why, for `DAYS` and `UNBOUNDED`.
    condition: Option<&'static str>,
    /// When data is kept despite the stated retention, in the provider's words (for `NONE`
    /// under a zero-data-retention contract, its documented exceptions).
    exceptions: Vec<&'static str>,
}

impl From<policy::Retention> for Retention {
    fn from(value: policy::Retention) -> Self {
        let exceptions = value.exceptions().to_vec();
        let (kind, max_days, usual_days, condition) = match value {
            policy::Retention::None { .. } => (RetentionKind::None, None, None, None),
            policy::Retention::Bounded {
                max_days,
                condition,
            } => (RetentionKind::Days, Some(max_days), None, Some(condition)),
            policy::Retention::Unbounded {
                usual_days,
                condition,
                ..
            } => (RetentionKind::Unbounded, None, usual_days, Some(condition)),
            policy::Retention::Unknown => (RetentionKind::Unknown, None, None, None),
        };
        Self {
            kind,
            max_days,
            usual_days,
            condition,
            exceptions,
        }
    }
}

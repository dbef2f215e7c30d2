//! What a provider does with the data we send it, as typed facts with their sources, and
//! what this deployment's contracts change about it.
//!
//! An adapter declares its provider's [`ProviderPolicy`]; the gateway combines it with the
//! [`ZdrContract`]s this deployment holds into an [`EffectivePolicy`] with
//! [`effective_policy`]. Only the effective policy is published and used for routing.

use std::fmt;

use chrono::NaiveDate;

use super::{Capability, ProviderId};

/// Where a claim comes from and when it was last checked against that source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source {
    /// The provider's terms or documentation page; for adapters that run in process, the
    /// section of `docs/providers.md` that explains them.
    pub url: &'static str,
    /// When the claim was last checked against the source.
    pub verified_on: NaiveDate,
}

/// A fact about a provider together with its [`Source`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim<T> {
    /// The fact.
    pub value: T,
    /// Where it comes from.
    pub source: Source,
}

/// A kind of personal data sent to a provider, named after the fideslang data category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DataCategory {
    /// `user.content.private`: what a person wrote or uploaded for a generation (a prompt,
    /// an input image), not published by them.
    UserContentPrivate,
    /// `user.unique_id.pseudonymous`: an identifier derived for one provider that does not
    /// reveal who the person is.
    UserUniqueIdPseudonymous,
}

impl DataCategory {
    /// The fideslang key.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UserContentPrivate => "user.content.private",
            Self::UserUniqueIdPseudonymous => "user.unique_id.pseudonymous",
        }
    }
}

/// Whether a provider uses the data we send it to train its models.
///
/// Three-valued on purpose: [`TrainingUse::Unknown`] never satisfies a promise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrainingUse {
    /// The provider's terms say our data is used for training.
    Yes,
    /// The provider's terms say our data is not used for training.
    No,
    /// We could not establish it from the provider's terms.
    Unknown,
}

/// How long a provider keeps the data we send it and the outputs it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Retention {
    /// Nothing is kept once the request has been answered.
    None,
    /// Kept for at most `max_days` days, under the stated condition.
    Days {
        /// The longest the provider may keep the data.
        max_days: u32,
        /// When and why the data is kept (for example abuse monitoring).
        condition: &'static str,
    },
    /// We could not establish it from the provider's terms.
    Unknown,
}

/// How zero data retention can be had from a provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ZdrArrangement {
    /// Nothing is kept whatever is arranged (an adapter that runs in process).
    Inherent,
    /// Each request can ask for it; the adapter says whether it does in its declared
    /// retention.
    PerRequest,
    /// Granted to an organisation or project by contract with the provider: it holds only
    /// for deployments that record a [`ZdrContract`].
    ByContract,
    /// The provider does not offer it.
    Unavailable,
    /// We could not establish it from the provider's terms.
    Unknown,
}

/// What becomes of a generated output that a provider holds for us to fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputRetention {
    /// Outputs come in the answer itself: the provider holds none for us to fetch.
    Inline,
    /// Outputs wait at a temporary URL until the gateway has fetched them and deleted the
    /// provider's copy through its API.
    DeletedAfterFetch,
    /// Outputs wait at a temporary URL that expires after at most `max_hours`; the API
    /// offers no way to delete them sooner.
    Expires {
        /// The longest an output stays available.
        max_hours: u32,
    },
    /// We could not establish it from the provider's terms.
    Unknown,
}

/// A provider's declared data-handling policy, each claim backed by its own source and date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProviderPolicy {
    /// What the provider can generate.
    pub capabilities: &'static [Capability],
    /// The kinds of personal data the adapter sends to the provider.
    pub data_categories: &'static [DataCategory],
    /// Whether our data is used for training.
    pub training_use: Claim<TrainingUse>,
    /// How long our data is kept when no contract says otherwise.
    pub retention: Claim<Retention>,
    /// How zero data retention can be had.
    pub zero_data_retention: Claim<ZdrArrangement>,
    /// What becomes of outputs the provider holds for us to fetch.
    pub output_retention: Claim<OutputRetention>,
    /// Where the processing happens; `None` when the provider does not commit to a region.
    pub region: Claim<Option<&'static str>>,
}

/// A deployment's zero-data-retention contract with a provider, as configured by the
/// operator (`ICECONE_<PROVIDER>_ZDR_CONTRACT`).
#[derive(Clone, PartialEq, Eq)]
pub struct ZdrContract {
    provider: ProviderId,
    reference: String,
}

/// Why a contract record cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a contract reference is 1 to 200 printable characters")]
pub struct InvalidContractReference;

impl ZdrContract {
    /// The longest reference accepted.
    pub const MAX_REFERENCE_LEN: usize = 200;

    /// Records that this deployment holds a zero-data-retention contract with `provider`,
    /// known by `reference` (for example the provider's approval or order number).
    pub fn new(provider: ProviderId, reference: &str) -> Result<Self, InvalidContractReference> {
        let reference = reference.trim();
        let printable = reference.chars().all(|c| !c.is_control());
        if reference.is_empty() || reference.chars().count() > Self::MAX_REFERENCE_LEN || !printable
        {
            return Err(InvalidContractReference);
        }
        Ok(Self {
            provider,
            reference: reference.to_owned(),
        })
    }

    /// The provider the contract is with.
    pub fn provider(&self) -> &ProviderId {
        &self.provider
    }

    /// The operator's reference of the contract.
    pub fn reference(&self) -> &str {
        &self.reference
    }
}

impl fmt::Debug for ZdrContract {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZdrContract")
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}

/// The policy our requests to a provider are actually held to: the declared policy with
/// this deployment's contracts applied. Only this is published and used for routing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectivePolicy {
    /// What the provider can generate.
    pub capabilities: &'static [Capability],
    /// The kinds of personal data sent.
    pub data_categories: &'static [DataCategory],
    /// Whether our data is used for training.
    pub training_use: Claim<TrainingUse>,
    /// How long our data is kept, contracts included.
    pub retention: Claim<Retention>,
    /// How zero data retention can be had from the provider.
    pub zero_data_retention_arrangement: Claim<ZdrArrangement>,
    /// The contract that removed retention, when one did.
    pub contract: Option<ZdrContract>,
    /// What becomes of outputs the provider holds for us to fetch.
    pub output_retention: Claim<OutputRetention>,
    /// Where the processing happens.
    pub region: Claim<Option<&'static str>>,
}

impl EffectivePolicy {
    /// Whether nothing is kept by the provider once a request has been answered.
    pub fn zero_data_retention(&self) -> bool {
        self.retention.value == Retention::None
    }
}

/// The declared policy of `provider` with the contracts of this deployment applied.
///
/// A zero-data-retention contract changes retention to [`Retention::None`] only where the
/// provider grants zero data retention [`ZdrArrangement::ByContract`]; the claim's source
/// stays the provider's page that describes the arrangement. A contract with another
/// provider, or with a provider that has no such arrangement, changes nothing.
pub fn effective_policy(
    provider: &ProviderId,
    declared: &ProviderPolicy,
    contracts: &[ZdrContract],
) -> EffectivePolicy {
    let contract = contracts
        .iter()
        .find(|contract| contract.provider() == provider)
        .filter(|_| declared.zero_data_retention.value == ZdrArrangement::ByContract)
        .cloned();
    let retention = match contract {
        Some(_) => Claim {
            value: Retention::None,
            source: declared.zero_data_retention.source,
        },
        None => declared.retention,
    };
    EffectivePolicy {
        capabilities: declared.capabilities,
        data_categories: declared.data_categories,
        training_use: declared.training_use,
        retention,
        zero_data_retention_arrangement: declared.zero_data_retention,
        contract,
        output_retention: declared.output_retention,
        region: declared.region,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: Source = Source {
        url: "https://provider.example/terms",
        verified_on: match NaiveDate::from_ymd_opt(2026, 11, 28) {
            Some(date) => date,
            None => panic!("invalid date"),
        },
    };
    const ZDR_PAGE: Source = Source {
        url: "https://provider.example/zdr",
        verified_on: SOURCE.verified_on,
    };

    fn declared(arrangement: ZdrArrangement, retention: Retention) -> ProviderPolicy {
        ProviderPolicy {
            capabilities: &[Capability::Text],
            data_categories: &[DataCategory::UserContentPrivate],
            training_use: Claim {
                value: TrainingUse::No,
                source: SOURCE,
            },
            retention: Claim {
                value: retention,
                source: SOURCE,
            },
            zero_data_retention: Claim {
                value: arrangement,
                source: ZDR_PAGE,
            },
            output_retention: Claim {
                value: OutputRetention::Inline,
                source: ZDR_PAGE,
            },
            region: Claim {
                value: None,
                source: SOURCE,
            },
        }
    }

    fn id(text: &str) -> ProviderId {
        ProviderId::parse(text).expect("valid id")
    }

    const ABUSE: Retention = Retention::Days {
        max_days: 30,
        condition: "abuse monitoring",
    };

    #[test]
    fn contracts_change_retention_only_where_the_provider_grants_it_by_contract() {
        let openai = id("openai");
        let with_contract = [ZdrContract::new(openai.clone(), "ZDR-2026-001").expect("valid")];
        let other_contract = [ZdrContract::new(id("other"), "ZDR-9").expect("valid")];
        // (arrangement, declared retention, contracts, effective retention, source, contract applied)
        type Case<'a> = (
            ZdrArrangement,
            Retention,
            &'a [ZdrContract],
            Retention,
            Source,
            bool,
        );
        let cases: [Case<'_>; 8] = [
            (ZdrArrangement::ByContract, ABUSE, &[], ABUSE, SOURCE, false),
            (
                ZdrArrangement::ByContract,
                ABUSE,
                &with_contract,
                Retention::None,
                ZDR_PAGE,
                true,
            ),
            (
                ZdrArrangement::ByContract,
                ABUSE,
                &other_contract,
                ABUSE,
                SOURCE,
                false,
            ),
            (
                ZdrArrangement::Unavailable,
                ABUSE,
                &with_contract,
                ABUSE,
                SOURCE,
                false,
            ),
            (
                ZdrArrangement::Unknown,
                Retention::Unknown,
                &with_contract,
                Retention::Unknown,
                SOURCE,
                false,
            ),
            (
                ZdrArrangement::PerRequest,
                Retention::None,
                &[],
                Retention::None,
                SOURCE,
                false,
            ),
            (
                ZdrArrangement::Inherent,
                Retention::None,
                &with_contract,
                Retention::None,
                SOURCE,
                false,
            ),
            (
                ZdrArrangement::ByContract,
                Retention::Unknown,
                &with_contract,
                Retention::None,
                ZDR_PAGE,
                true,
            ),
        ];
        for (arrangement, retention, contracts, expected, source, applied) in cases {
            let effective = effective_policy(&openai, &declared(arrangement, retention), contracts);
            let case = format!(
                "{arrangement:?} {retention:?} with {} contracts",
                contracts.len()
            );
            assert_eq!(effective.retention.value, expected, "{case}");
            assert_eq!(effective.retention.source, source, "{case}");
            assert_eq!(effective.contract.is_some(), applied, "{case}");
            assert_eq!(
                effective.zero_data_retention(),
                expected == Retention::None,
                "{case}"
            );
            assert_eq!(effective.training_use.value, TrainingUse::No, "{case}");
        }
    }

    #[test]
    fn a_contract_reference_is_short_printable_text_and_stays_out_of_debug_output() {
        let openai = id("openai");
        assert!(ZdrContract::new(openai.clone(), "").is_err());
        assert!(ZdrContract::new(openai.clone(), "   ").is_err());
        assert!(ZdrContract::new(openai.clone(), "a\nb").is_err());
        assert!(ZdrContract::new(openai.clone(), &"x".repeat(201)).is_err());
        let contract = ZdrContract::new(openai, " ORDER-42 ").expect("valid");
        assert_eq!(contract.reference(), "ORDER-42");
        assert!(!format!("{contract:?}").contains("ORDER-42"));
    }

    #[test]
    fn data_categories_are_fideslang_keys() {
        assert_eq!(
            DataCategory::UserContentPrivate.as_str(),
            "user.content.private"
        );
        assert_eq!(
            DataCategory::UserUniqueIdPseudonymous.as_str(),
            "user.unique_id.pseudonymous"
        );
    }
}

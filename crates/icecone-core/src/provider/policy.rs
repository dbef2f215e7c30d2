//! What a provider does with the data we send it, as typed facts with their sources, and
//! what this deployment's contracts change about it.
//!
//! An adapter declares its provider's [`ProviderPolicy`]; the gateway combines it with the
//! [`ZdrContract`]s this deployment holds into an [`EffectivePolicy`] with
//! [`effective_policy`]. Only the effective policy is published and used for routing.

use std::fmt;

use chrono::NaiveDate;

use super::{Capability, ProviderId};

/// The most words a quoted sentence may have: enough to carry a claim, short enough to be
/// a quotation rather than a copy of the provider's terms.
pub const MAX_QUOTE_WORDS: usize = 25;

/// What a claim rests on: a sentence of the provider's own published text, or, where that
/// could not be read, a note saying what was tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source {
    /// The page the sentence appears on (for adapters that run in process, the section of
    /// `docs/providers.md` that explains them); where nothing could be read, the page that
    /// was looked for.
    pub url: &'static str,
    /// The sentence, verbatim (`…` marks a cut), at most [`MAX_QUOTE_WORDS`] words; `None`
    /// when the provider's own text could not be read.
    pub quote: Option<&'static str>,
    /// When the page was read (or, without a quote, when reading it was tried).
    pub checked_on: NaiveDate,
    /// What the sentence leaves open, or what was tried when nothing could be read.
    pub note: Option<&'static str>,
}

/// The values a claim can take include one that says "we could not establish it", which a
/// claim without a quoted sentence must take.
pub trait Unknowable: Copy {
    /// "We could not establish it from the provider's own text."
    const UNKNOWN: Self;
}

/// A fact about a provider together with what it rests on. Built only through
/// [`Claim::read`] (a quoted sentence) or [`Claim::unread`] (no sentence, so the value is
/// unknown): a claim never carries a value its source does not give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim<T> {
    value: T,
    source: Source,
}

/// The number of words in `text`, in a `const` context.
const fn word_count(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut words = 0;
    let mut in_word = false;
    let mut i = 0;
    while i < bytes.len() {
        let space = bytes[i] == b' ' || bytes[i] == b'\n' || bytes[i] == b'\t';
        if !space && !in_word {
            words += 1;
        }
        in_word = !space;
        i += 1;
    }
    words
}

impl<T: Unknowable> Claim<T> {
    /// A claim resting on `quote`, read at `url` on `read_on`. Panics — at compile time, in
    /// a constant — when the quote is empty or longer than [`MAX_QUOTE_WORDS`] words.
    pub const fn read(
        value: T,
        url: &'static str,
        quote: &'static str,
        read_on: NaiveDate,
    ) -> Self {
        let words = word_count(quote);
        assert!(
            words > 0 && words <= MAX_QUOTE_WORDS,
            "a quote is 1 to 25 words"
        );
        Self {
            value,
            source: Source {
                url,
                quote: Some(quote),
                checked_on: read_on,
                note: None,
            },
        }
    }

    /// A claim whose source could not be read: its value is unknown, and `note` says what
    /// was tried on `tried_on` at `url`.
    pub const fn unread(url: &'static str, note: &'static str, tried_on: NaiveDate) -> Self {
        Self {
            value: T::UNKNOWN,
            source: Source {
                url,
                quote: None,
                checked_on: tried_on,
                note: Some(note),
            },
        }
    }

    /// The claim with `note` saying what its sentence leaves open.
    pub const fn noting(mut self, note: &'static str) -> Self {
        self.source.note = Some(note);
        self
    }

    /// The fact.
    pub fn value(&self) -> T {
        self.value
    }

    /// What it rests on.
    pub fn source(&self) -> &Source {
        &self.source
    }
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
    /// We could not establish it from the provider's own text.
    Unknown,
}

impl Unknowable for TrainingUse {
    const UNKNOWN: Self = Self::Unknown;
}

/// How long a provider keeps the data we send it and the outputs it returns.
///
/// Only [`Retention::None`] and [`Retention::Bounded`] are bounds; a period the terms give
/// with open-ended exceptions is [`Retention::Unbounded`], and the deployment's retention
/// limit never accepts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Retention {
    /// Nothing is kept once the request has been answered, except under the documented
    /// `exceptions` (each a condition the provider's text names).
    None {
        /// The provider's documented exceptions, such as a model made ineligible for
        /// zero retention after notice.
        exceptions: &'static [&'static str],
    },
    /// Kept for at most `max_days` days: a bound the terms give.
    Bounded {
        /// The longest the provider may keep the data.
        max_days: u32,
        /// What is kept and why (for example abuse-monitoring logs).
        condition: &'static str,
    },
    /// Kept `usual_days` days (when the terms name a period) and longer under `exceptions`
    /// the terms leave open: no bound.
    Unbounded {
        /// The period the terms name for the usual case, if any.
        usual_days: Option<u32>,
        /// What is kept and why.
        condition: &'static str,
        /// When it is kept longer, in the terms' words.
        exceptions: &'static [&'static str],
    },
    /// We could not establish it from the provider's own text.
    Unknown,
}

impl Unknowable for Retention {
    const UNKNOWN: Self = Self::Unknown;
}

impl Retention {
    /// The longest data may be kept, in days, where the terms give a bound (`0` for none).
    pub fn bound_days(self) -> Option<u32> {
        match self {
            Self::None { .. } => Some(0),
            Self::Bounded { max_days, .. } => Some(max_days),
            Self::Unbounded { .. } | Self::Unknown => None,
        }
    }

    /// The documented exceptions to the stated retention.
    pub fn exceptions(self) -> &'static [&'static str] {
        match self {
            Self::None { exceptions } | Self::Unbounded { exceptions, .. } => exceptions,
            Self::Bounded { .. } | Self::Unknown => &[],
        }
    }
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
    /// for deployments that record a [`ZdrContract`], and only with the documented
    /// `exceptions`.
    ByContract {
        /// When the provider keeps data despite the contract, in its text's words.
        exceptions: &'static [&'static str],
    },
    /// The provider does not offer it.
    Unavailable,
    /// We could not establish it from the provider's own text.
    Unknown,
}

impl Unknowable for ZdrArrangement {
    const UNKNOWN: Self = Self::Unknown;
}

/// What becomes of a generated output that a provider holds for us to fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputRetention {
    /// Outputs come in the answer itself: the provider holds none for us to fetch (what it
    /// keeps in its logs is its [`Retention`]).
    Inline,
    /// Outputs wait at a temporary URL; once the gateway has fetched one it asks the
    /// provider to delete it through its API. The provider's acknowledgement is all the
    /// gateway records; what the delete covers is what the claim's quoted sentence says,
    /// nothing more.
    DeleteOnRequest,
    /// Outputs wait at a temporary URL that expires after at most `max_hours`; the API
    /// offers no way to delete them sooner.
    Expires {
        /// The longest an output stays available.
        max_hours: u32,
    },
    /// We could not establish it from the provider's own text.
    Unknown,
}

impl Unknowable for OutputRetention {
    const UNKNOWN: Self = Self::Unknown;
}

/// Where a provider processes or hosts our data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Region {
    /// Where the provider says it hosts the service (not a commitment per request).
    Disclosed(&'static str),
    /// The provider's text says it commits to no region by default.
    NotCommitted,
    /// We could not establish it from the provider's own text.
    Unknown,
}

impl Unknowable for Region {
    const UNKNOWN: Self = Self::Unknown;
}

/// A company a provider passes our data on to, as the provider discloses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Processor {
    /// Its name.
    pub name: &'static str,
    /// What it does with the data, in the provider's words.
    pub purpose: &'static str,
    /// Where, when the provider says.
    pub location: Option<&'static str>,
}

/// The onward processors a provider discloses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Processors {
    /// Nobody: the adapter runs in process.
    None,
    /// The provider's list (those that can receive what the adapter sends).
    Disclosed(&'static [Processor]),
    /// We could not establish it from the provider's own text.
    Unknown,
}

impl Unknowable for Processors {
    const UNKNOWN: Self = Self::Unknown;
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
    /// Where the provider processes or hosts the data.
    pub region: Claim<Region>,
    /// Who the provider passes the data on to.
    pub onward_processors: Claim<Processors>,
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
    /// Where the provider processes or hosts the data.
    pub region: Claim<Region>,
    /// Who the provider passes the data on to.
    pub onward_processors: Claim<Processors>,
}

impl EffectivePolicy {
    /// Whether nothing is kept by the provider once a request has been answered, apart
    /// from the documented exceptions ([`Retention::exceptions`]).
    pub fn zero_data_retention(&self) -> bool {
        matches!(self.retention.value(), Retention::None { .. })
    }

    /// Every claim with its name, in the order `providers` lists their sources.
    pub fn sources(&self) -> [(ClaimName, &Source); 6] {
        [
            (ClaimName::TrainingUse, self.training_use.source()),
            (ClaimName::Retention, self.retention.source()),
            (
                ClaimName::ZeroDataRetention,
                self.zero_data_retention_arrangement.source(),
            ),
            (ClaimName::OutputRetention, self.output_retention.source()),
            (ClaimName::Region, self.region.source()),
            (ClaimName::OnwardProcessors, self.onward_processors.source()),
        ]
    }
}

/// The claims a policy makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClaimName {
    /// [`ProviderPolicy::training_use`].
    TrainingUse,
    /// [`ProviderPolicy::retention`].
    Retention,
    /// [`ProviderPolicy::zero_data_retention`].
    ZeroDataRetention,
    /// [`ProviderPolicy::output_retention`].
    OutputRetention,
    /// [`ProviderPolicy::region`].
    Region,
    /// [`ProviderPolicy::onward_processors`].
    OnwardProcessors,
}

/// The declared policy of `provider` with the contracts of this deployment applied.
///
/// A zero-data-retention contract changes retention to [`Retention::None`] — with the
/// arrangement's documented exceptions — only where the provider grants zero data
/// retention [`ZdrArrangement::ByContract`]; the claim rests on the provider's sentence
/// that describes the arrangement. A contract with another provider, or with a provider
/// that has no such arrangement, changes nothing.
pub fn effective_policy(
    provider: &ProviderId,
    declared: &ProviderPolicy,
    contracts: &[ZdrContract],
) -> EffectivePolicy {
    let by_contract = match declared.zero_data_retention.value() {
        ZdrArrangement::ByContract { exceptions } => Some(exceptions),
        _ => None,
    };
    let contract = contracts
        .iter()
        .find(|contract| contract.provider() == provider)
        .filter(|_| by_contract.is_some())
        .cloned();
    let retention = match (&contract, by_contract) {
        (Some(_), Some(exceptions)) => Claim {
            value: Retention::None { exceptions },
            source: *declared.zero_data_retention.source(),
        },
        _ => declared.retention,
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
        onward_processors: declared.onward_processors,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: NaiveDate = match NaiveDate::from_ymd_opt(2026, 11, 28) {
        Some(date) => date,
        None => panic!("invalid date"),
    };
    const TERMS: &str = "https://provider.example/terms";
    const ZDR_PAGE: &str = "https://provider.example/zdr";
    const SAFETY: &[&str] = &["a model made ineligible after notice"];

    fn declared(arrangement: ZdrArrangement, retention: Retention) -> ProviderPolicy {
        ProviderPolicy {
            capabilities: &[Capability::Text],
            data_categories: &[DataCategory::UserContentPrivate],
            training_use: Claim::read(TrainingUse::No, TERMS, "We do not train on it.", DAY),
            retention: Claim::read(retention, TERMS, "Logs are kept.", DAY),
            zero_data_retention: Claim::read(arrangement, ZDR_PAGE, "ZDR by contract.", DAY),
            output_retention: Claim::read(OutputRetention::Inline, TERMS, "Inline.", DAY),
            region: Claim::unread(TERMS, "no region statement found", DAY),
            onward_processors: Claim::unread(TERMS, "no list found", DAY),
        }
    }

    fn id(text: &str) -> ProviderId {
        ProviderId::parse(text).expect("valid id")
    }

    const ABUSE: Retention = Retention::Bounded {
        max_days: 30,
        condition: "abuse monitoring",
    };
    const OPEN: Retention = Retention::Unbounded {
        usual_days: Some(30),
        condition: "abuse monitoring",
        exceptions: &["required by law"],
    };
    const NONE: Retention = Retention::None { exceptions: &[] };
    const BY_CONTRACT: ZdrArrangement = ZdrArrangement::ByContract { exceptions: SAFETY };

    #[test]
    fn contracts_change_retention_only_where_the_provider_grants_it_by_contract() {
        let openai = id("openai");
        let with_contract = [ZdrContract::new(openai.clone(), "ZDR-2026-001").expect("valid")];
        let other_contract = [ZdrContract::new(id("other"), "ZDR-9").expect("valid")];
        let contract_none = Retention::None { exceptions: SAFETY };
        // (arrangement, declared retention, contracts, effective retention, source, contract applied)
        type Case<'a> = (
            ZdrArrangement,
            Retention,
            &'a [ZdrContract],
            Retention,
            &'static str,
            bool,
        );
        let cases: [Case<'_>; 9] = [
            (BY_CONTRACT, ABUSE, &[], ABUSE, TERMS, false),
            (BY_CONTRACT, OPEN, &[], OPEN, TERMS, false),
            (
                BY_CONTRACT,
                OPEN,
                &with_contract,
                contract_none,
                ZDR_PAGE,
                true,
            ),
            (BY_CONTRACT, ABUSE, &other_contract, ABUSE, TERMS, false),
            (
                ZdrArrangement::Unavailable,
                ABUSE,
                &with_contract,
                ABUSE,
                TERMS,
                false,
            ),
            (
                ZdrArrangement::Unknown,
                Retention::Unknown,
                &with_contract,
                Retention::Unknown,
                TERMS,
                false,
            ),
            (ZdrArrangement::PerRequest, NONE, &[], NONE, TERMS, false),
            (
                ZdrArrangement::Inherent,
                NONE,
                &with_contract,
                NONE,
                TERMS,
                false,
            ),
            (
                BY_CONTRACT,
                Retention::Unknown,
                &with_contract,
                contract_none,
                ZDR_PAGE,
                true,
            ),
        ];
        for (arrangement, retention, contracts, expected, url, applied) in cases {
            let effective = effective_policy(&openai, &declared(arrangement, retention), contracts);
            let case = format!(
                "{arrangement:?} {retention:?} with {} contracts",
                contracts.len()
            );
            assert_eq!(effective.retention.value(), expected, "{case}");
            assert_eq!(effective.retention.source().url, url, "{case}");
            assert_eq!(effective.contract.is_some(), applied, "{case}");
            assert_eq!(
                effective.zero_data_retention(),
                matches!(expected, Retention::None { .. }),
                "{case}"
            );
            assert_eq!(effective.training_use.value(), TrainingUse::No, "{case}");
        }
    }

    #[test]
    fn only_a_bound_the_terms_give_counts_as_one() {
        // (retention, bound in days, its exceptions)
        let cases: [(Retention, Option<u32>, &[&str]); 5] = [
            (NONE, Some(0), &[]),
            (Retention::None { exceptions: SAFETY }, Some(0), SAFETY),
            (ABUSE, Some(30), &[]),
            (OPEN, None, &["required by law"]),
            (Retention::Unknown, None, &[]),
        ];
        for (retention, bound, exceptions) in cases {
            assert_eq!(retention.bound_days(), bound, "{retention:?}");
            assert_eq!(retention.exceptions(), exceptions, "{retention:?}");
        }
    }

    #[test]
    fn a_claim_without_a_quoted_sentence_is_unknown_and_says_what_was_tried() {
        let training: Claim<TrainingUse> = Claim::unread(TERMS, "the page was not stored", DAY);
        assert_eq!(training.value(), TrainingUse::Unknown);
        assert_eq!(training.source().quote, None);
        assert_eq!(training.source().note, Some("the page was not stored"));
        assert_eq!(training.source().checked_on, DAY);
        let retention: Claim<Retention> = Claim::unread(TERMS, "-", DAY);
        assert_eq!(retention.value(), Retention::Unknown);
        let arrangement: Claim<ZdrArrangement> = Claim::unread(TERMS, "-", DAY);
        assert_eq!(arrangement.value(), ZdrArrangement::Unknown);
        let output: Claim<OutputRetention> = Claim::unread(TERMS, "-", DAY);
        assert_eq!(output.value(), OutputRetention::Unknown);
        let region: Claim<Region> = Claim::unread(TERMS, "-", DAY);
        assert_eq!(region.value(), Region::Unknown);
        let processors: Claim<Processors> = Claim::unread(TERMS, "-", DAY);
        assert_eq!(processors.value(), Processors::Unknown);

        let read = Claim::read(TrainingUse::No, TERMS, "We do not train on API data.", DAY)
            .noting("unless the customer opts in");
        assert_eq!(read.source().quote, Some("We do not train on API data."));
        assert_eq!(read.source().note, Some("unless the customer opts in"));
    }

    #[test]
    fn quotes_are_counted_in_words() {
        assert_eq!(word_count(""), 0);
        assert_eq!(word_count("  one "), 1);
        assert_eq!(word_count("two words"), 2);
        assert_eq!(word_count("a\tb\nc  d"), 4);
        let longest = "w ".repeat(MAX_QUOTE_WORDS);
        assert_eq!(word_count(&longest), MAX_QUOTE_WORDS);
    }

    #[test]
    #[should_panic(expected = "a quote is 1 to 25 words")]
    fn a_quote_longer_than_twenty_five_words_is_refused() {
        let long = "word ".repeat(MAX_QUOTE_WORDS + 1);
        let long: &'static str = Box::leak(long.into_boxed_str());
        let _ = Claim::read(TrainingUse::No, TERMS, long, DAY);
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

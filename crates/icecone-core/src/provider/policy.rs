//! What a provider does with the data we send it, as typed facts with their sources, and
//! what this deployment's contracts change about it.
//!
//! An adapter declares its provider's [`ProviderPolicy`]; the gateway combines it with the
//! [`Agreement`]s this deployment holds into an [`EffectivePolicy`] with
//! [`effective_policy`]. Only the effective policy is published and used for routing.

use chrono::NaiveDate;

use super::agreement::{Agreement, RetentionClause};
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
    /// for deployments that record an [`Agreement`] granting it, and only with the documented
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
    /// The deployment's agreements with the provider (in the order configured).
    pub agreements: Vec<Agreement>,
    /// Which claims an agreement set, with the index of that agreement in `agreements`.
    granted: Vec<(ClaimName, usize)>,
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

    /// The agreement that set `claim`, where one did (rather than the provider's terms).
    pub fn granted_by(&self, claim: ClaimName) -> Option<&Agreement> {
        self.granted
            .iter()
            .find(|(granted, _)| *granted == claim)
            .and_then(|&(_, index)| self.agreements.get(index))
    }

    /// Whether the provider's zero-data-retention arrangement is in force for our requests
    /// through an agreement of this deployment.
    pub fn zero_data_retention_agreement(&self) -> bool {
        self.granted_by(ClaimName::Retention)
            .is_some_and(|agreement| {
                agreement.clauses().retention == Some(RetentionClause::ZeroDataRetention)
            })
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

/// What a retention bound an agreement grants is kept for, as a policy reads.
pub const AGREED_RETENTION_CONDITION: &str = "as bounded by this deployment's agreement";

/// The declared policy of `provider` with this deployment's agreements applied, clause by
/// clause. An agreement only ever makes a claim stronger:
///
/// - **Training**: `no_training` makes training use [`TrainingUse::No`].
/// - **Retention**: the zero-data-retention clause makes retention [`Retention::None`] —
///   with the arrangement's documented exceptions, resting on the provider's sentence that
///   describes it — only where the provider grants zero data retention
///   [`ZdrArrangement::ByContract`]; elsewhere it changes nothing. A bound of `n` days
///   replaces a declared retention only when the declared one is longer, open-ended or
///   unknown (`0` days: nothing kept).
/// - **Region**: the agreed region replaces the declared one.
///
/// Agreements with other providers change nothing. Where two agreements set one claim, the
/// stronger wins; at equal strength the first listed.
pub fn effective_policy(
    provider: &ProviderId,
    declared: &ProviderPolicy,
    agreements: &[Agreement],
) -> EffectivePolicy {
    let agreements: Vec<Agreement> = agreements
        .iter()
        .filter(|agreement| agreement.provider() == provider)
        .cloned()
        .collect();
    let mut granted = Vec::new();
    let mut training_use = declared.training_use;
    let mut retention = declared.retention;
    let mut region = declared.region;
    for (index, agreement) in agreements.iter().enumerate() {
        let clauses = agreement.clauses();
        if clauses.no_training && training_use.value() != TrainingUse::No {
            training_use.value = TrainingUse::No;
            granted.push((ClaimName::TrainingUse, index));
        }
        if let Some(clause) = clauses.retention
            && let Some(agreed) = agreed_retention(clause, declared)
            && stronger(agreed.value, retention.value)
        {
            retention = agreed;
            granted.retain(|(claim, _)| *claim != ClaimName::Retention);
            granted.push((ClaimName::Retention, index));
        }
        if let Some(agreed) = clauses.region
            && !granted.iter().any(|(claim, _)| *claim == ClaimName::Region)
        {
            region.value = Region::Disclosed(agreed.name());
            granted.push((ClaimName::Region, index));
        }
    }
    EffectivePolicy {
        capabilities: declared.capabilities,
        data_categories: declared.data_categories,
        training_use,
        retention,
        zero_data_retention_arrangement: declared.zero_data_retention,
        agreements,
        granted,
        output_retention: declared.output_retention,
        region,
        onward_processors: declared.onward_processors,
    }
}

/// The retention claim a clause grants against `declared` terms, if it has effect there.
fn agreed_retention(
    clause: RetentionClause,
    declared: &ProviderPolicy,
) -> Option<Claim<Retention>> {
    match clause {
        RetentionClause::ZeroDataRetention => match declared.zero_data_retention.value() {
            ZdrArrangement::ByContract { exceptions } => Some(Claim {
                value: Retention::None { exceptions },
                source: *declared.zero_data_retention.source(),
            }),
            _ => None,
        },
        RetentionClause::AtMostDays(0) => Some(Claim {
            value: Retention::None { exceptions: &[] },
            source: *declared.retention.source(),
        }),
        RetentionClause::AtMostDays(max_days) => Some(Claim {
            value: Retention::Bounded {
                max_days,
                condition: AGREED_RETENTION_CONDITION,
            },
            source: *declared.retention.source(),
        }),
    }
}

/// Whether `agreed` retention promises more than `current`: a shorter bound than a longer,
/// open-ended or unknown one.
fn stronger(agreed: Retention, current: Retention) -> bool {
    match (agreed.bound_days(), current.bound_days()) {
        (Some(agreed), Some(current)) => agreed < current,
        (Some(_), None) => true,
        (None, _) => false,
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
        let with_contract =
            [Agreement::zero_data_retention(openai.clone(), "ZDR-2026-001").expect("valid")];
        let other_contract = [Agreement::zero_data_retention(id("other"), "ZDR-9").expect("valid")];
        let contract_none = Retention::None { exceptions: SAFETY };
        // (arrangement, declared retention, contracts, effective retention, source, contract applied)
        type Case<'a> = (
            ZdrArrangement,
            Retention,
            &'a [Agreement],
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
            assert_eq!(effective.zero_data_retention_agreement(), applied, "{case}");
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
    fn agreements_strengthen_the_declared_terms_clause_by_clause_and_name_themselves() {
        use super::super::agreement::WrittenAgreement;
        let today = NaiveDate::from_ymd_opt(2026, 12, 7).expect("valid");
        let agreement = |provider: &'static str,
                         reference: &'static str,
                         no_training: bool,
                         retention_days: Option<i64>,
                         region: Option<&'static str>| {
            Agreement::parse(
                WrittenAgreement {
                    provider,
                    reference,
                    signed_on: "2026-10-01",
                    no_training,
                    retention_days,
                    region,
                    ..WrittenAgreement::default()
                },
                today,
            )
            .expect("valid")
        };
        let mut trains = declared(ZdrArrangement::Unavailable, OPEN);
        trains.training_use = Claim::read(TrainingUse::Yes, TERMS, "We may train on it.", DAY);
        let runway = id("runway");
        let bounded_7 = Retention::Bounded {
            max_days: 7,
            condition: AGREED_RETENTION_CONDITION,
        };
        let eu = Region::Disclosed("European Union");
        // (case, agreements, training, retention, region, granted: training/retention/region)
        type Case = (
            &'static str,
            Vec<Agreement>,
            TrainingUse,
            Retention,
            Region,
            [Option<&'static str>; 3],
        );
        let cases: Vec<Case> = vec![
            (
                "none",
                vec![],
                TrainingUse::Yes,
                OPEN,
                Region::Unknown,
                [None; 3],
            ),
            (
                "another provider's",
                vec![agreement("stability", "S-1", true, Some(0), Some("EU"))],
                TrainingUse::Yes,
                OPEN,
                Region::Unknown,
                [None; 3],
            ),
            (
                "no training only",
                vec![agreement("runway", "R-1", true, None, None)],
                TrainingUse::No,
                OPEN,
                Region::Unknown,
                [Some("R-1"), None, None],
            ),
            (
                "every clause",
                vec![agreement("runway", "R-1", true, Some(7), Some("EU"))],
                TrainingUse::No,
                bounded_7,
                eu,
                [Some("R-1"), Some("R-1"), Some("R-1")],
            ),
            (
                "zero days",
                vec![agreement("runway", "R-1", false, Some(0), None)],
                TrainingUse::Yes,
                NONE,
                Region::Unknown,
                [None, Some("R-1"), None],
            ),
            (
                "the stronger of two bounds wins",
                vec![
                    agreement("runway", "R-1", false, Some(7), None),
                    agreement("runway", "R-2", true, Some(30), None),
                    agreement("runway", "R-3", false, Some(0), Some("US")),
                ],
                TrainingUse::No,
                NONE,
                Region::Disclosed("United States"),
                [Some("R-2"), Some("R-3"), Some("R-3")],
            ),
        ];
        for (case, agreements, training, retention, region, granted) in cases {
            let effective = effective_policy(&runway, &trains, &agreements);
            assert_eq!(effective.training_use.value(), training, "{case}");
            assert_eq!(effective.retention.value(), retention, "{case}");
            assert_eq!(effective.region.value(), region, "{case}");
            let by = |claim| effective.granted_by(claim).map(Agreement::reference);
            assert_eq!(
                [
                    by(ClaimName::TrainingUse),
                    by(ClaimName::Retention),
                    by(ClaimName::Region)
                ],
                granted,
                "{case}"
            );
            assert!(!effective.zero_data_retention_agreement(), "{case}");
        }
        // A bound longer than the declared one changes nothing.
        let keeps_30 = declared(ZdrArrangement::Unavailable, ABUSE);
        let longer = [agreement("runway", "R-9", false, Some(60), None)];
        let effective = effective_policy(&runway, &keeps_30, &longer);
        assert_eq!(effective.retention.value(), ABUSE);
        assert_eq!(effective.granted_by(ClaimName::Retention), None);
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

//! Anonymised, aggregated analytics, and the ranking of providers by people's ratings.
//!
//! - [`capture`]: [`capture::may_capture`], the one decision of whether a person's
//!   activity may be counted now (`ANALYTICS` consent under the current policy, not
//!   restricted, not objected to, not withdrawn by Global Privacy Control).
//! - The vocabulary of what is counted: [`EventKind`] (never a prompt, an output, an
//!   address or an exact time: the hour at most), [`LatencyBucket`], [`Metric`] and
//!   [`Dimension`].
//! - [`aggregate`]: a day's raw events made into cells (counts, distinct people, rates,
//!   latency percentiles per dimension), every cell of fewer than [`MinGroup`] people
//!   suppressed — and more, so that no suppressed cell can be recovered by subtracting
//!   published cells from their total.
//! - [`noise`]: the Laplace mechanism for counts, with an [`noise::Epsilon`] budget per
//!   metric and day.
//! - [`ranking`]: providers ranked per kind from people's ratings, in aggregate and only
//!   from groups of at least [`MinGroup`] people.

use std::fmt;

pub mod aggregate;
pub mod capture;
pub mod noise;
pub mod ranking;

/// What happened, as counted. Each event carries only the dimensions listed with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventKind {
    /// An account was created.
    SignUp,
    /// A generation was asked for (kind).
    GenerationRequested,
    /// A generation succeeded (kind, provider, latency).
    GenerationSucceeded,
    /// A generation failed (kind, provider when one was tried).
    GenerationFailed,
    /// A request was refused because a quota was used up (kind).
    QuotaReached,
    /// A data subject right was exercised (its kind only).
    RightExercised,
}

impl EventKind {
    /// Every kind of event.
    pub const ALL: [Self; 6] = [
        Self::SignUp,
        Self::GenerationRequested,
        Self::GenerationSucceeded,
        Self::GenerationFailed,
        Self::QuotaReached,
        Self::RightExercised,
    ];

    /// The stable name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignUp => "SIGN_UP",
            Self::GenerationRequested => "GENERATION_REQUESTED",
            Self::GenerationSucceeded => "GENERATION_SUCCEEDED",
            Self::GenerationFailed => "GENERATION_FAILED",
            Self::QuotaReached => "QUOTA_REACHED",
            Self::RightExercised => "RIGHT_EXERCISED",
        }
    }

    /// The kind named `text`.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text)
    }
}

/// How long a successful generation took, coarsely.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LatencyBucket {
    /// Under one second.
    UnderOneSecond,
    /// One to ten seconds.
    UnderTenSeconds,
    /// Ten seconds to a minute.
    UnderOneMinute,
    /// A minute or more.
    OneMinuteOrMore,
}

impl LatencyBucket {
    /// Every bucket, fastest first.
    pub const ALL: [Self; 4] = [
        Self::UnderOneSecond,
        Self::UnderTenSeconds,
        Self::UnderOneMinute,
        Self::OneMinuteOrMore,
    ];

    /// The bucket of a latency in milliseconds.
    pub fn of_millis(millis: u32) -> Self {
        match millis {
            0..1_000 => Self::UnderOneSecond,
            1_000..10_000 => Self::UnderTenSeconds,
            10_000..60_000 => Self::UnderOneMinute,
            _ => Self::OneMinuteOrMore,
        }
    }

    /// The stable name (the API's enum value).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnderOneSecond => "UNDER_1S",
            Self::UnderTenSeconds => "UNDER_10S",
            Self::UnderOneMinute => "UNDER_1M",
            Self::OneMinuteOrMore => "OVER_1M",
        }
    }
}

/// A latency as kept in a raw event: milliseconds rounded to the nearest ten, so that a
/// latency is no finer a fingerprint than what percentiles need.
pub fn rounded_latency(millis: u128) -> u32 {
    let rounded = millis.saturating_add(5) / 10 * 10;
    u32::try_from(rounded).unwrap_or(u32::MAX)
}

/// What a cell groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Dimension {
    /// The kind of generation.
    Kind,
    /// The provider that answered (or failed).
    Provider,
    /// The latency bucket of a success.
    Latency,
    /// The kind of data subject right.
    Right,
}

impl Dimension {
    /// Every dimension.
    pub const ALL: [Self; 4] = [Self::Kind, Self::Provider, Self::Latency, Self::Right];

    /// The stable name (the API's enum value).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Kind => "KIND",
            Self::Provider => "PROVIDER",
            Self::Latency => "LATENCY",
            Self::Right => "RIGHT",
        }
    }

    /// The dimension named `text`.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|dimension| dimension.as_str() == text)
    }
}

/// How a metric makes one value of a cell's events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// How many events.
    Count,
    /// The share of the events that are of the second kind (failures among outcomes).
    Rate,
    /// A percentile (1 to 99) of the latencies, in milliseconds.
    Percentile(u8),
}

/// What staff can ask for. Each metric reads some kinds of events and may be grouped by
/// some dimensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Metric {
    /// Accounts created.
    SignUps,
    /// Generations asked for.
    GenerationsRequested,
    /// Generations that succeeded.
    GenerationsSucceeded,
    /// Generations that failed.
    GenerationsFailed,
    /// The share of failures among generations that ended.
    FailureRate,
    /// The median latency of successes, in milliseconds.
    LatencyP50,
    /// The 95th percentile latency of successes, in milliseconds.
    LatencyP95,
    /// Requests refused for a used-up quota.
    QuotaReached,
    /// Data subject rights exercised.
    RightsExercised,
}

impl Metric {
    /// Every metric.
    pub const ALL: [Self; 9] = [
        Self::SignUps,
        Self::GenerationsRequested,
        Self::GenerationsSucceeded,
        Self::GenerationsFailed,
        Self::FailureRate,
        Self::LatencyP50,
        Self::LatencyP95,
        Self::QuotaReached,
        Self::RightsExercised,
    ];

    /// The stable name (stored, and the API's enum value).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignUps => "SIGN_UPS",
            Self::GenerationsRequested => "GENERATIONS_REQUESTED",
            Self::GenerationsSucceeded => "GENERATIONS_SUCCEEDED",
            Self::GenerationsFailed => "GENERATIONS_FAILED",
            Self::FailureRate => "FAILURE_RATE",
            Self::LatencyP50 => "LATENCY_P50",
            Self::LatencyP95 => "LATENCY_P95",
            Self::QuotaReached => "QUOTA_REACHED",
            Self::RightsExercised => "RIGHTS_EXERCISED",
        }
    }

    /// The metric named `text`.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|metric| metric.as_str() == text)
    }

    /// The events it reads. For a rate, the second is the one whose share is measured.
    pub fn events(self) -> &'static [EventKind] {
        use EventKind::*;
        match self {
            Self::SignUps => &[SignUp],
            Self::GenerationsRequested => &[GenerationRequested],
            Self::GenerationsSucceeded | Self::LatencyP50 | Self::LatencyP95 => {
                &[GenerationSucceeded]
            }
            Self::GenerationsFailed => &[GenerationFailed],
            Self::FailureRate => &[GenerationSucceeded, GenerationFailed],
            Self::QuotaReached => &[QuotaReached],
            Self::RightsExercised => &[RightExercised],
        }
    }

    /// The dimensions it may be grouped by.
    pub fn dimensions(self) -> &'static [Dimension] {
        use Dimension::*;
        match self {
            Self::SignUps => &[],
            Self::GenerationsRequested | Self::QuotaReached => &[Kind],
            Self::GenerationsSucceeded => &[Kind, Provider, Latency],
            Self::GenerationsFailed | Self::FailureRate | Self::LatencyP50 | Self::LatencyP95 => {
                &[Kind, Provider]
            }
            Self::RightsExercised => &[Right],
        }
    }

    /// How it makes a value.
    pub fn measure(self) -> Measure {
        match self {
            Self::FailureRate => Measure::Rate,
            Self::LatencyP50 => Measure::Percentile(50),
            Self::LatencyP95 => Measure::Percentile(95),
            Self::SignUps
            | Self::GenerationsRequested
            | Self::GenerationsSucceeded
            | Self::GenerationsFailed
            | Self::QuotaReached
            | Self::RightsExercised => Measure::Count,
        }
    }

    /// Every grouping it is published under: each subset of its dimensions, sorted, the
    /// empty one (the day's total) first.
    pub fn groupings(self) -> Vec<Vec<Dimension>> {
        let dimensions = self.dimensions();
        let mut groupings: Vec<Vec<Dimension>> = (0..1u32 << dimensions.len())
            .map(|mask| {
                dimensions
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| mask & (1 << i) != 0)
                    .map(|(_, dimension)| *dimension)
                    .collect()
            })
            .collect();
        groupings.sort_by_key(|grouping| (grouping.len(), grouping.clone()));
        groupings
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A grouping a metric does not offer: the message names the metric, never data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{metric} cannot be grouped by {dimension}")]
pub struct UnknownGrouping {
    /// The metric asked for.
    pub metric: Metric,
    /// The first dimension it does not offer.
    pub dimension: &'static str,
}

/// The grouping `dimensions` of `metric`, sorted and without repeats, if the metric offers
/// every one of them.
pub fn grouping(
    metric: Metric,
    dimensions: &[Dimension],
) -> Result<Vec<Dimension>, UnknownGrouping> {
    let mut grouping: Vec<Dimension> = Vec::new();
    for dimension in dimensions {
        if !metric.dimensions().contains(dimension) {
            return Err(UnknownGrouping {
                metric,
                dimension: dimension.as_str(),
            });
        }
        if !grouping.contains(dimension) {
            grouping.push(*dimension);
        }
    }
    grouping.sort();
    Ok(grouping)
}

/// The smallest number of distinct people a published cell may describe (and a provider's
/// ratings must come from before they count): `ICECONE_ANALYTICS_MIN_GROUP`, default 10.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinGroup(u32);

/// A group size below two, which would publish single people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the smallest group must be at least 2 people")]
pub struct MinGroupTooSmall;

impl MinGroup {
    /// The default: ten people.
    pub const DEFAULT: Self = Self(10);

    /// At least two people.
    pub fn new(people: u32) -> Result<Self, MinGroupTooSmall> {
        if people >= 2 {
            Ok(Self(people))
        } else {
            Err(MinGroupTooSmall)
        }
    }

    /// The number of people.
    pub fn get(self) -> u32 {
        self.0
    }

    /// Whether a group of `people` may be shown.
    pub fn admits(self, people: usize) -> bool {
        u32::try_from(people).map_or(true, |people| people >= self.0)
    }
}

impl Default for MinGroup {
    fn default() -> Self {
        Self::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
        }
        for metric in Metric::ALL {
            assert_eq!(Metric::parse(metric.as_str()), Some(metric));
        }
        for dimension in Dimension::ALL {
            assert_eq!(Dimension::parse(dimension.as_str()), Some(dimension));
        }
        assert_eq!(Metric::parse("signups"), None);
    }

    #[test]
    fn latencies_fall_into_their_buckets_and_are_rounded_to_ten_milliseconds() {
        let table = [
            (0, LatencyBucket::UnderOneSecond),
            (999, LatencyBucket::UnderOneSecond),
            (1_000, LatencyBucket::UnderTenSeconds),
            (59_999, LatencyBucket::UnderOneMinute),
            (60_000, LatencyBucket::OneMinuteOrMore),
        ];
        for (millis, bucket) in table {
            assert_eq!(LatencyBucket::of_millis(millis), bucket, "{millis}");
        }
        assert_eq!(rounded_latency(1_234), 1_230);
        assert_eq!(rounded_latency(1_235), 1_240);
        assert_eq!(rounded_latency(u128::MAX), u32::MAX);
    }

    #[test]
    fn a_metric_is_published_under_every_subset_of_its_dimensions_total_first() {
        assert_eq!(Metric::SignUps.groupings(), vec![Vec::<Dimension>::new()]);
        assert_eq!(
            Metric::FailureRate.groupings(),
            vec![
                vec![],
                vec![Dimension::Kind],
                vec![Dimension::Provider],
                vec![Dimension::Kind, Dimension::Provider],
            ]
        );
        assert_eq!(Metric::GenerationsSucceeded.groupings().len(), 8);
    }

    #[test]
    fn a_grouping_is_sorted_without_repeats_and_only_of_the_metrics_dimensions() {
        use Dimension::*;
        assert_eq!(
            grouping(Metric::FailureRate, &[Provider, Kind, Provider]),
            Ok(vec![Kind, Provider])
        );
        assert_eq!(grouping(Metric::SignUps, &[]), Ok(vec![]));
        assert_eq!(
            grouping(Metric::SignUps, &[Kind]),
            Err(UnknownGrouping {
                metric: Metric::SignUps,
                dimension: "KIND"
            })
        );
    }

    #[test]
    fn the_smallest_group_is_at_least_two_people() {
        assert_eq!(MinGroup::new(0), Err(MinGroupTooSmall));
        assert_eq!(MinGroup::new(1), Err(MinGroupTooSmall));
        let k = MinGroup::new(3).unwrap_or_default();
        assert!(!k.admits(2));
        assert!(k.admits(3));
        assert_eq!(MinGroup::default().get(), 10);
    }
}

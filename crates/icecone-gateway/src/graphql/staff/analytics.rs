//! `analytics`: anonymised aggregates for ANALYST and ADMIN. Only stored cells are read:
//! no field returns an event, a pseudonym or anything about one person.

use async_graphql::{Context, Enum, Object, SimpleObject};
use icecone_core::analytics::{Dimension, Metric};
use icecone_core::identity::roles::RoleRule;
use icecone_store::analytics::AnalyticsCellRow;

use super::access::{StaffField, requires_mfa, requires_role};
use crate::graphql::caller::services;
use crate::graphql::classification::not_personal;
use crate::graphql::error::ApiError;
use crate::graphql::scalars::Date;

/// `analytics`: ANALYST or ADMIN, with a second factor in the session.
const READ_ANALYTICS: StaffField = StaffField::new(RoleRule::Analysts);

/// What an aggregate counts or measures.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "AnalyticsMetric", remote = "icecone_core::analytics::Metric")]
pub(crate) enum AnalyticsMetricValue {
    /// Accounts created.
    SignUps,
    /// Generations asked for (by KIND).
    GenerationsRequested,
    /// Generations that succeeded (by KIND, PROVIDER, LATENCY).
    GenerationsSucceeded,
    /// Generations that failed (by KIND, PROVIDER).
    GenerationsFailed,
    /// The share of failures among generations that ended (by KIND, PROVIDER).
    FailureRate,
    /// The median latency of successes in milliseconds (by KIND, PROVIDER).
    #[graphql(name = "LATENCY_P50")]
    LatencyP50,
    /// The 95th percentile latency of successes in milliseconds (by KIND, PROVIDER).
    #[graphql(name = "LATENCY_P95")]
    LatencyP95,
    /// Requests refused for a used-up quota (by KIND).
    QuotaReached,
    /// Data subject rights exercised (by RIGHT).
    RightsExercised,
}

/// What an aggregate may be grouped by.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(
    name = "AnalyticsDimension",
    remote = "icecone_core::analytics::Dimension"
)]
pub(crate) enum AnalyticsDimensionValue {
    /// The kind of generation (TEXT, IMAGE, VIDEO).
    Kind,
    /// The provider.
    Provider,
    /// The latency bucket of a success (UNDER_1S, UNDER_10S, UNDER_1M, OVER_1M).
    Latency,
    /// The kind of right (ACCESS, EXPORT, ...).
    Right,
}

/// One dimension's value in a cell.
#[derive(SimpleObject, Debug)]
#[graphql(directive = not_personal::apply())]
pub(crate) struct AnalyticsCoordinate {
    /// The dimension.
    dimension: AnalyticsDimensionValue,
    /// Its value (`NONE` when the events had none, such as a failure before any provider).
    value: String,
}

/// One cell of a day's aggregates: at least `ICECONE_ANALYTICS_MIN_GROUP` distinct people,
/// or suppressed (no value, no people) — also when it could otherwise be derived from the
/// published cells by differencing. With `ICECONE_ANALYTICS_EPSILON` set, counts and people
/// carry Laplace noise.
#[derive(SimpleObject, Debug)]
#[graphql(directive = not_personal::apply())]
pub(crate) struct AnalyticsCell {
    /// The day (UTC).
    day: Date,
    /// The metric.
    metric: AnalyticsMetricValue,
    /// The value of each dimension grouped by (none for the day's total).
    coordinates: Vec<AnalyticsCoordinate>,
    /// Whether the cell is suppressed.
    suppressed: bool,
    /// Distinct people in the cell within the day; null when suppressed.
    people: Option<u64>,
    /// The metric's value (a count, a share from 0 to 1, or milliseconds); null when
    /// suppressed.
    value: Option<f64>,
}

impl From<AnalyticsCellRow> for AnalyticsCell {
    fn from(row: AnalyticsCellRow) -> Self {
        Self {
            day: Date(row.day),
            metric: row.metric.into(),
            coordinates: row
                .grouping
                .iter()
                .zip(row.coordinates)
                .map(|(dimension, value)| AnalyticsCoordinate {
                    dimension: (*dimension).into(),
                    value,
                })
                .collect(),
            suppressed: row.value.is_none(),
            people: row.people,
            value: row.value,
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct AnalyticsQuery;

#[Object]
impl AnalyticsQuery {
    /// The daily aggregates of `metric` from `from` to `to` (at most 366 days), grouped by
    /// `groupBy` (dimensions the metric offers; none: each day's total), oldest day first.
    /// Days are aggregated hourly once they have ended; a day not aggregated yet has no
    /// cells. `BAD_USER_INPUT` for a backward or too long period, or a dimension the
    /// metric does not offer.
    #[graphql(
        guard = READ_ANALYTICS.guard(),
        directive = not_personal::apply(),
        directive = requires_role::apply(READ_ANALYTICS.roles()),
        directive = requires_mfa::apply(READ_ANALYTICS.fresh_mfa())
    )]
    async fn analytics(
        &self,
        ctx: &Context<'_>,
        metric: AnalyticsMetricValue,
        from: Date,
        to: Date,
        group_by: Option<Vec<AnalyticsDimensionValue>>,
    ) -> Result<Vec<AnalyticsCell>, ApiError> {
        let group_by: Vec<Dimension> = group_by
            .unwrap_or_default()
            .into_iter()
            .map(Dimension::from)
            .collect();
        let cells = services(ctx)?
            .analytics
            .cells(Metric::from(metric), from.0, to.0, &group_by)
            .await?;
        Ok(cells.into_iter().map(AnalyticsCell::from).collect())
    }
}

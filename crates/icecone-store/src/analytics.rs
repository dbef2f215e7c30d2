//! Analytics: the days with their sealed pseudonymisation keys, the raw events of days not
//! yet aggregated, the aggregated cells, and people's ratings of their generations.
//!
//! A day is aggregated once: an instance claims it by one conditional update of its lease
//! ([`Store::claim_analytics_day`]), and [`Store::finish_analytics_day`] writes its cells,
//! deletes its raw events and clears its key in one transaction conditional on that lease
//! still being held — of two instances, one writes; a crash writes nothing and the day is
//! claimed again once the lease has run out.

use chrono::{DateTime, NaiveDate, Utc};
use icecone_core::analytics::ranking::Rating;
use icecone_core::analytics::{Dimension, EventKind, Metric};
use icecone_core::generation::GenerationKind;
use icecone_core::rights::DataRequestKind;
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};
use uuid::Uuid;

use crate::entity::{analytics_cell, analytics_day, analytics_event, generation_rating};
use crate::group_commit::Write;
use crate::purge::delete_in_batches;
use crate::{Store, StoreError};

/// How the days are written in their column.
const DAY_FORMAT: &str = "%Y-%m-%d";
/// What separates the coordinates of a cell in their column.
const SEPARATOR: char = '\u{1f}';
/// Cells written per statement.
const CELL_BATCH: usize = 100;

fn day_text(day: NaiveDate) -> String {
    day.format(DAY_FORMAT).to_string()
}

fn day_of(text: &str) -> Result<NaiveDate, StoreError> {
    NaiveDate::parse_from_str(text, DAY_FORMAT).map_err(|_| StoreError::OutOfRange("analytics day"))
}

/// A raw event, as captured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalyticsEvent {
    /// The day (UTC).
    pub day: NaiveDate,
    /// The hour of the day (0 to 23): no finer time is kept.
    pub hour: u8,
    /// The person's pseudonym for the day: an HMAC of their account id under the day's key.
    pub pseudonym: [u8; 32],
    /// What happened.
    pub kind: EventKind,
    /// The kind of generation.
    pub generation: Option<GenerationKind>,
    /// The provider.
    pub provider: Option<String>,
    /// The latency of a success, in milliseconds rounded to ten.
    pub latency_ms: Option<u32>,
    /// The right exercised.
    pub right: Option<DataRequestKind>,
}

impl TryFrom<analytics_event::Model> for AnalyticsEvent {
    type Error = StoreError;

    fn try_from(row: analytics_event::Model) -> Result<Self, StoreError> {
        let range = |what| StoreError::OutOfRange(what);
        Ok(Self {
            day: day_of(&row.day)?,
            hour: u8::try_from(row.hour).map_err(|_| range("analytics hour"))?,
            pseudonym: row
                .pseudonym
                .try_into()
                .map_err(|_| range("analytics pseudonym"))?,
            kind: EventKind::parse(&row.event).ok_or(range("analytics event"))?,
            generation: row
                .generation_kind
                .map(|kind| GenerationKind::parse(&kind).ok_or(range("generation kind")))
                .transpose()?,
            provider: row.provider,
            latency_ms: row
                .latency_ms
                .map(|ms| u32::try_from(ms).map_err(|_| range("analytics latency")))
                .transpose()?,
            right: row
                .right_kind
                .map(|right| DataRequestKind::parse(&right).ok_or(range("right kind")))
                .transpose()?,
        })
    }
}

/// A day that captured something, and its key while it lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalyticsDay {
    /// The day.
    pub day: NaiveDate,
    /// Its pseudonymisation key, sealed under the system key; `None` once destroyed.
    pub key_sealed: Option<Vec<u8>>,
    /// When it was aggregated.
    pub aggregated_at: Option<DateTime<Utc>>,
}

/// An aggregated cell.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalyticsCellRow {
    /// The day.
    pub day: NaiveDate,
    /// The metric.
    pub metric: Metric,
    /// The dimensions grouped by, sorted.
    pub grouping: Vec<Dimension>,
    /// The value of each dimension of the grouping.
    pub coordinates: Vec<String>,
    /// Distinct people; `None` when suppressed.
    pub people: Option<u64>,
    /// The value; `None` when suppressed.
    pub value: Option<f64>,
}

fn grouping_text(grouping: &[Dimension]) -> String {
    grouping
        .iter()
        .map(|dimension| dimension.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

fn grouping_of(text: &str) -> Result<Vec<Dimension>, StoreError> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    text.split(',')
        .map(|name| Dimension::parse(name).ok_or(StoreError::OutOfRange("analytics dimension")))
        .collect()
}

impl TryFrom<analytics_cell::Model> for AnalyticsCellRow {
    type Error = StoreError;

    fn try_from(row: analytics_cell::Model) -> Result<Self, StoreError> {
        let grouping = grouping_of(&row.grouping)?;
        let coordinates = if grouping.is_empty() {
            Vec::new()
        } else {
            row.coordinates
                .split(SEPARATOR)
                .map(str::to_owned)
                .collect()
        };
        Ok(Self {
            day: day_of(&row.day)?,
            metric: Metric::parse(&row.metric).ok_or(StoreError::OutOfRange("analytics metric"))?,
            grouping,
            coordinates,
            people: row
                .people
                .map(|people| {
                    u64::try_from(people).map_err(|_| StoreError::OutOfRange("analytics people"))
                })
                .transpose()?,
            value: row.value,
        })
    }
}

/// A rating of a generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerationRating {
    /// The generation rated.
    pub generation: Uuid,
    /// Its kind.
    pub kind: GenerationKind,
    /// The provider that made it.
    pub provider: String,
    /// The rating.
    pub rating: Rating,
    /// When it was given (or last changed).
    pub rated_at: DateTime<Utc>,
}

/// One person's ratings of one provider for one kind, without the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatingTally {
    /// The kind.
    pub kind: GenerationKind,
    /// The provider.
    pub provider: String,
    /// Good ratings.
    pub good: u64,
    /// Bad ratings.
    pub bad: u64,
}

#[derive(Debug, FromQueryResult)]
struct TallyRow {
    kind: String,
    provider: String,
    good: i64,
    total: i64,
}

impl Store {
    /// The day `day`, if it captured anything.
    pub async fn analytics_day(&self, day: NaiveDate) -> Result<Option<AnalyticsDay>, StoreError> {
        analytics_day::Entity::find_by_id(day_text(day))
            .one(&self.db)
            .await
            .map_err(StoreError::Query)?
            .map(|row| {
                Ok(AnalyticsDay {
                    day: day_of(&row.day)?,
                    key_sealed: row.key_sealed,
                    aggregated_at: row.aggregated_at,
                })
            })
            .transpose()
    }

    /// Records `day` with its sealed key. [`StoreError::Duplicate`] when another caller
    /// recorded it first (read it again: its key is the day's).
    pub async fn insert_analytics_day(
        &self,
        day: NaiveDate,
        key_sealed: Vec<u8>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        analytics_day::Entity::insert(analytics_day::ActiveModel {
            day: Set(day_text(day)),
            key_sealed: Set(Some(key_sealed)),
            created_at: Set(now),
            aggregated_at: Set(None),
            lease_until: Set(None),
        })
        .exec_without_returning(&self.db)
        .await
        .map_err(StoreError::from_insert)?;
        Ok(())
    }

    /// The days whose key still lives (not yet aggregated or purged), oldest first.
    pub async fn live_analytics_days(&self) -> Result<Vec<AnalyticsDay>, StoreError> {
        analytics_day::Entity::find()
            .filter(analytics_day::Column::KeySealed.is_not_null())
            .order_by_asc(analytics_day::Column::Day)
            .all(&self.db)
            .await
            .map_err(StoreError::Query)?
            .into_iter()
            .map(|row| {
                Ok(AnalyticsDay {
                    day: day_of(&row.day)?,
                    key_sealed: row.key_sealed,
                    aggregated_at: row.aggregated_at,
                })
            })
            .collect()
    }

    /// Stores raw events, in one statement — grouped with the other writes queued at the
    /// same moment (see `group_commit`): under load, capture adds no transaction of its own.
    pub async fn record_analytics_events(
        &self,
        events: &[AnalyticsEvent],
    ) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let rows = events
            .iter()
            .map(|event| {
                let latency = event
                    .latency_ms
                    .map(|ms| {
                        i32::try_from(ms).map_err(|_| StoreError::OutOfRange("analytics latency"))
                    })
                    .transpose()?;
                Ok(analytics_event::ActiveModel {
                    id: Set(Uuid::new_v4()),
                    day: Set(day_text(event.day)),
                    hour: Set(i16::from(event.hour)),
                    pseudonym: Set(event.pseudonym.to_vec()),
                    event: Set(event.kind.as_str().to_owned()),
                    generation_kind: Set(event.generation.map(|kind| kind.as_str().to_owned())),
                    provider: Set(event.provider.clone()),
                    latency_ms: Set(latency),
                    right_kind: Set(event.right.map(|right| right.as_str().to_owned())),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.group_commit
            .write(Write {
                events: rows,
                ..Write::default()
            })
            .await
    }

    /// How many raw events of `day` carry `pseudonym`.
    pub async fn count_analytics_events_of(
        &self,
        day: NaiveDate,
        pseudonym: &[u8; 32],
    ) -> Result<u64, StoreError> {
        analytics_event::Entity::find()
            .filter(analytics_event::Column::Day.eq(day_text(day)))
            .filter(analytics_event::Column::Pseudonym.eq(pseudonym.to_vec()))
            .count(&self.db)
            .await
            .map_err(StoreError::Query)
    }

    /// Deletes the raw events of `day` that carry `pseudonym`. Returns how many.
    pub async fn delete_analytics_events_of(
        &self,
        day: NaiveDate,
        pseudonym: &[u8; 32],
    ) -> Result<u64, StoreError> {
        Ok(analytics_event::Entity::delete_many()
            .filter(analytics_event::Column::Day.eq(day_text(day)))
            .filter(analytics_event::Column::Pseudonym.eq(pseudonym.to_vec()))
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?
            .rows_affected)
    }

    /// The days before `before` that captured something and are not aggregated, oldest
    /// first.
    pub async fn analytics_days_due(
        &self,
        before: NaiveDate,
    ) -> Result<Vec<NaiveDate>, StoreError> {
        let days: Vec<String> = analytics_day::Entity::find()
            .select_only()
            .column(analytics_day::Column::Day)
            .filter(analytics_day::Column::AggregatedAt.is_null())
            .filter(analytics_day::Column::Day.lt(day_text(before)))
            .order_by_asc(analytics_day::Column::Day)
            .into_tuple()
            .all(&self.db)
            .await
            .map_err(StoreError::Query)?;
        days.iter().map(|day| day_of(day)).collect()
    }

    /// Claims `day` for aggregation until `lease_until`: one conditional update that
    /// succeeds only for a day not aggregated whose previous lease (if any) ran out by
    /// `now`. Returns whether this caller holds it.
    pub async fn claim_analytics_day(
        &self,
        day: NaiveDate,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let updated = analytics_day::Entity::update_many()
            .col_expr(analytics_day::Column::LeaseUntil, Expr::value(lease_until))
            .filter(analytics_day::Column::Day.eq(day_text(day)))
            .filter(analytics_day::Column::AggregatedAt.is_null())
            .filter(
                Condition::any()
                    .add(analytics_day::Column::LeaseUntil.is_null())
                    .add(analytics_day::Column::LeaseUntil.lte(now)),
            )
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?;
        Ok(updated.rows_affected == 1)
    }

    /// Every raw event of `day`.
    pub async fn analytics_events_of_day(
        &self,
        day: NaiveDate,
    ) -> Result<Vec<AnalyticsEvent>, StoreError> {
        analytics_event::Entity::find()
            .filter(analytics_event::Column::Day.eq(day_text(day)))
            .order_by_asc(analytics_event::Column::Hour)
            .order_by_asc(analytics_event::Column::Id)
            .all(&self.db)
            .await
            .map_err(StoreError::Query)?
            .into_iter()
            .map(AnalyticsEvent::try_from)
            .collect()
    }

    /// Ends `day`'s aggregation in one transaction, if this caller still holds the lease
    /// it claimed (`lease_until`): the day marked aggregated with its key cleared, its
    /// cells written, its raw events deleted. Returns whether it did (`false`: the lease
    /// was lost and nothing was written).
    pub async fn finish_analytics_day(
        &self,
        day: NaiveDate,
        lease_until: DateTime<Utc>,
        cells: &[AnalyticsCellRow],
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let txn = self.db.begin().await.map_err(StoreError::Query)?;
        let ended = analytics_day::Entity::update_many()
            .col_expr(analytics_day::Column::AggregatedAt, Expr::value(now))
            .col_expr(
                analytics_day::Column::KeySealed,
                Expr::value(Option::<Vec<u8>>::None),
            )
            .col_expr(
                analytics_day::Column::LeaseUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(analytics_day::Column::Day.eq(day_text(day)))
            .filter(analytics_day::Column::AggregatedAt.is_null())
            .filter(analytics_day::Column::LeaseUntil.eq(lease_until))
            .exec(&txn)
            .await
            .map_err(StoreError::Query)?;
        if ended.rows_affected != 1 {
            txn.rollback().await.map_err(StoreError::Query)?;
            return Ok(false);
        }
        for batch in cells.chunks(CELL_BATCH) {
            let rows = batch.iter().map(|cell| {
                let people = cell
                    .people
                    .map(|people| i64::try_from(people).unwrap_or(i64::MAX));
                analytics_cell::ActiveModel {
                    day: Set(day_text(cell.day)),
                    metric: Set(cell.metric.as_str().to_owned()),
                    grouping: Set(grouping_text(&cell.grouping)),
                    coordinates: Set(cell.coordinates.join(&SEPARATOR.to_string())),
                    people: Set(people),
                    value: Set(cell.value),
                }
            });
            analytics_cell::Entity::insert_many(rows)
                .on_conflict(
                    OnConflict::columns([
                        analytics_cell::Column::Day,
                        analytics_cell::Column::Metric,
                        analytics_cell::Column::Grouping,
                        analytics_cell::Column::Coordinates,
                    ])
                    .do_nothing()
                    .to_owned(),
                )
                .exec_without_returning(&txn)
                .await
                .map_err(StoreError::Query)?;
        }
        analytics_event::Entity::delete_many()
            .filter(analytics_event::Column::Day.eq(day_text(day)))
            .exec(&txn)
            .await
            .map_err(StoreError::Query)?;
        txn.commit().await.map_err(StoreError::Query)?;
        Ok(true)
    }

    /// The cells of `metric` grouped by `grouping` (sorted) for the days `from` to `to`,
    /// oldest first.
    pub async fn analytics_cells(
        &self,
        metric: Metric,
        grouping: &[Dimension],
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<AnalyticsCellRow>, StoreError> {
        analytics_cell::Entity::find()
            .filter(analytics_cell::Column::Metric.eq(metric.as_str()))
            .filter(analytics_cell::Column::Grouping.eq(grouping_text(grouping)))
            .filter(analytics_cell::Column::Day.gte(day_text(from)))
            .filter(analytics_cell::Column::Day.lte(day_text(to)))
            .order_by_asc(analytics_cell::Column::Day)
            .order_by_asc(analytics_cell::Column::Coordinates)
            .all(&self.db)
            .await
            .map_err(StoreError::Query)?
            .into_iter()
            .map(AnalyticsCellRow::try_from)
            .collect()
    }

    /// Deletes the raw events of the hours before `cutoff` (a day not aggregated in time)
    /// and clears the keys of the days before `cutoff`'s day. Returns how many events.
    pub async fn purge_stale_analytics_events(
        &self,
        cutoff: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let day = day_text(cutoff.date_naive());
        let hour = i16::try_from(chrono::Timelike::hour(&cutoff)).unwrap_or(0);
        let deleted = delete_in_batches::<analytics_event::Entity>(
            &self.db,
            analytics_event::Column::Id,
            Condition::any()
                .add(analytics_event::Column::Day.lt(day.clone()))
                .add(
                    Condition::all()
                        .add(analytics_event::Column::Day.eq(day.clone()))
                        .add(analytics_event::Column::Hour.lt(hour)),
                ),
        )
        .await?;
        analytics_day::Entity::update_many()
            .col_expr(
                analytics_day::Column::KeySealed,
                Expr::value(Option::<Vec<u8>>::None),
            )
            .filter(analytics_day::Column::Day.lt(day))
            .filter(analytics_day::Column::KeySealed.is_not_null())
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?;
        Ok(deleted)
    }

    /// Records `account`'s rating of one of their generations (a second rating replaces
    /// the first).
    pub async fn rate_generation(
        &self,
        account: Uuid,
        rating: &GenerationRating,
    ) -> Result<(), StoreError> {
        generation_rating::Entity::insert(generation_rating::ActiveModel {
            account_id: Set(account),
            generation_id: Set(rating.generation),
            kind: Set(rating.kind.as_str().to_owned()),
            provider: Set(rating.provider.clone()),
            rating: Set(rating.rating.as_str().to_owned()),
            rated_at: Set(rating.rated_at),
        })
        .on_conflict(
            OnConflict::columns([
                generation_rating::Column::AccountId,
                generation_rating::Column::GenerationId,
            ])
            .update_columns([
                generation_rating::Column::Rating,
                generation_rating::Column::RatedAt,
            ])
            .to_owned(),
        )
        .exec_without_returning(&self.db)
        .await
        .map_err(StoreError::Query)?;
        Ok(())
    }

    /// `account`'s ratings, newest first (for the export).
    pub async fn ratings_of(&self, account: Uuid) -> Result<Vec<GenerationRating>, StoreError> {
        generation_rating::Entity::find()
            .filter(generation_rating::Column::AccountId.eq(account))
            .order_by_desc(generation_rating::Column::RatedAt)
            .all(&self.db)
            .await
            .map_err(StoreError::Query)?
            .into_iter()
            .map(|row| {
                Ok(GenerationRating {
                    generation: row.generation_id,
                    kind: GenerationKind::parse(&row.kind)
                        .ok_or(StoreError::OutOfRange("generation kind"))?,
                    provider: row.provider,
                    rating: Rating::parse(&row.rating)
                        .ok_or(StoreError::OutOfRange("generation rating"))?,
                    rated_at: row.rated_at,
                })
            })
            .collect()
    }

    /// Deletes `account`'s ratings. Returns how many.
    pub async fn delete_ratings_of(&self, account: Uuid) -> Result<u64, StoreError> {
        Ok(generation_rating::Entity::delete_many()
            .filter(generation_rating::Column::AccountId.eq(account))
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?
            .rows_affected)
    }

    /// Every person's ratings per kind and provider, added up per person — without the
    /// person: one tally per person, kind and provider.
    pub async fn rating_tallies(&self) -> Result<Vec<RatingTally>, StoreError> {
        let good = Expr::cust("SUM(CASE WHEN rating = 'GOOD' THEN 1 ELSE 0 END)");
        let rows: Vec<TallyRow> = generation_rating::Entity::find()
            .select_only()
            .column(generation_rating::Column::Kind)
            .column(generation_rating::Column::Provider)
            .column_as(good, "good")
            .column_as(generation_rating::Column::Rating.count(), "total")
            .group_by(generation_rating::Column::AccountId)
            .group_by(generation_rating::Column::Kind)
            .group_by(generation_rating::Column::Provider)
            .into_model()
            .all(&self.db)
            .await
            .map_err(StoreError::Query)?;
        rows.into_iter()
            .map(|row| {
                let range = |_| StoreError::OutOfRange("rating count");
                let good = u64::try_from(row.good).map_err(range)?;
                let total = u64::try_from(row.total).map_err(range)?;
                Ok(RatingTally {
                    kind: GenerationKind::parse(&row.kind)
                        .ok_or(StoreError::OutOfRange("generation kind"))?,
                    provider: row.provider,
                    good,
                    bad: total.saturating_sub(good),
                })
            })
            .collect()
    }
}

//! Repositories for the attempt counters that throttle sign-in and second-factor guesses.
//!
//! A bucket names what is counted: `account:<uuid>`, or `addr:<blind index hex>` for a
//! client address (never the address itself), at most 128 bytes. The policy (delays, hard
//! stop, windows) lives in `icecone_core::identity::throttle`; the store only counts, in
//! the database, so every gateway instance sees the same count.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};

use crate::convert::u32_from_db;
use crate::entity::attempt_counter;
use crate::{Store, StoreError};

/// A bucket's failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptState {
    /// Failures since the bucket was last cleared.
    pub failures: u32,
    /// When the last failure happened.
    pub last_failure_at: DateTime<Utc>,
    /// When the first failure since the last clearing happened.
    pub window_start: DateTime<Utc>,
}

impl TryFrom<attempt_counter::Model> for AttemptState {
    type Error = StoreError;

    fn try_from(row: attempt_counter::Model) -> Result<Self, StoreError> {
        Ok(Self {
            failures: u32_from_db(row.failures, "attempt count")?,
            last_failure_at: row.last_failure_at.unwrap_or(row.window_start),
            window_start: row.window_start,
        })
    }
}

impl Store {
    /// Counts a failure in a bucket and returns the bucket's state including it.
    ///
    /// The first failure inserts the row; later ones add one in the same statement
    /// (`INSERT ... ON CONFLICT (bucket) DO UPDATE SET failures = failures + 1`, the column
    /// qualified with the table, on SQLite and PostgreSQL alike), so concurrent failures are
    /// all counted. The state is read back in the same transaction, which holds the row's
    /// write lock: each caller sees its own increment.
    pub async fn record_attempt_failure(
        &self,
        bucket: &str,
        now: DateTime<Utc>,
    ) -> Result<AttemptState, StoreError> {
        let txn = self.db.begin().await.map_err(StoreError::Query)?;
        attempt_counter::Entity::insert(attempt_counter::ActiveModel {
            bucket: Set(bucket.to_owned()),
            failures: Set(1),
            last_failure_at: Set(Some(now)),
            window_start: Set(now),
        })
        .on_conflict(
            OnConflict::column(attempt_counter::Column::Bucket)
                .value(
                    attempt_counter::Column::Failures,
                    Expr::col((attempt_counter::Entity, attempt_counter::Column::Failures)).add(1),
                )
                .update_column(attempt_counter::Column::LastFailureAt)
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await
        .map_err(StoreError::Query)?;
        let row = attempt_counter::Entity::find_by_id(bucket.to_owned())
            .one(&txn)
            .await
            .map_err(StoreError::Query)?
            .ok_or(StoreError::Query(sea_orm::DbErr::RecordNotFound(
                "attempt counter".into(),
            )))?;
        txn.commit().await.map_err(StoreError::Query)?;
        AttemptState::try_from(row)
    }

    /// A bucket's state, `None` when it has no failures.
    pub async fn attempt_state(&self, bucket: &str) -> Result<Option<AttemptState>, StoreError> {
        attempt_counter::Entity::find_by_id(bucket.to_owned())
            .one(&self.db)
            .await
            .map_err(StoreError::Query)?
            .map(AttemptState::try_from)
            .transpose()
    }

    /// Forgets a bucket's failures (after a success). Returns whether it had any.
    pub async fn clear_attempts(&self, bucket: &str) -> Result<bool, StoreError> {
        let result = attempt_counter::Entity::delete_many()
            .filter(attempt_counter::Column::Bucket.eq(bucket))
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?;
        Ok(result.rows_affected > 0)
    }
}

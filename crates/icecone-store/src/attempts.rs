//! Repositories for the attempt counters that throttle sign-in and second-factor guesses.
//!
//! A bucket names what is counted, at most 128 bytes: a client address by its blind index
//! (never the address itself), an e-mail address by its blind index ([`email_bucket`]), or
//! an account by its id ([`account_bucket`]). A bucket that names an account does so only
//! through these two, which is how erasure finds and deletes it with the account. The policy (delays, hard
//! stop, windows) lives in `icecone_core::identity::throttle`; the store only counts, in
//! the database, so every gateway instance sees the same count. An attempt is counted
//! *before* it runs ([`Store::reserve_attempt`], a compare-and-set on the state the caller
//! judged) and given back or cleared when it succeeds.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, LikeExpr, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter};

use uuid::Uuid;

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

/// The bucket counting password failures of an e-mail address, by its blind index:
/// `login:email:<hex>`.
pub fn email_bucket(email_index: &[u8]) -> String {
    let hex: String = email_index.iter().map(|b| format!("{b:02x}")).collect();
    format!("login:email:{hex}")
}

/// The bucket counting `what` (`verify:resend`, `dpo`) for an account:
/// `<what>:account:<id>`, to which a window's start may be appended.
pub fn account_bucket(what: &str, account: Uuid) -> String {
    format!("{what}:account:{account}")
}

/// The `LIKE` pattern of every bucket naming `account` ([`account_bucket`]).
pub(crate) fn account_bucket_pattern(account: Uuid) -> String {
    format!("%:account:{account}%")
}

/// A time as the database keeps it (microseconds), so that a time read back compares
/// equal to the one written, on SQLite and PostgreSQL alike.
fn stored_time(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at)
}

impl Store {
    /// Reserves one attempt in a bucket: counts it at once, as a failure, on the condition
    /// that the bucket still holds what the caller `seen` (`None`: no row) when it decided
    /// that the attempt may run. Returns the bucket's state including the reservation, or
    /// `None` when the bucket changed in between (another attempt was reserved or the bucket
    /// cleared): read it again and decide again.
    ///
    /// One conditional statement decides, so the rule holds across gateway instances: the
    /// first attempt is `INSERT ... ON CONFLICT (bucket) DO NOTHING`, a later one `UPDATE
    /// ... SET failures = failures + 1 WHERE failures = :seen AND last_failure_at = :seen`.
    /// Of concurrent callers that saw the same state, exactly one reserves.
    pub async fn reserve_attempt(
        &self,
        bucket: &str,
        seen: Option<&AttemptState>,
        now: DateTime<Utc>,
    ) -> Result<Option<AttemptState>, StoreError> {
        let now = stored_time(now);
        let Some(seen) = seen else {
            let inserted = attempt_counter::Entity::insert(attempt_counter::ActiveModel {
                bucket: Set(bucket.to_owned()),
                failures: Set(1),
                last_failure_at: Set(Some(now)),
                window_start: Set(now),
            })
            .on_conflict(
                OnConflict::column(attempt_counter::Column::Bucket)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&self.db)
            .await
            .map_err(StoreError::Query)?;
            return Ok((inserted > 0).then_some(AttemptState {
                failures: 1,
                last_failure_at: now,
                window_start: now,
            }));
        };
        let failures =
            i32::try_from(seen.failures).map_err(|_| StoreError::OutOfRange("attempt count"))?;
        let result = attempt_counter::Entity::update_many()
            .col_expr(
                attempt_counter::Column::Failures,
                Expr::col(attempt_counter::Column::Failures).add(1),
            )
            .col_expr(attempt_counter::Column::LastFailureAt, Expr::value(now))
            .filter(attempt_counter::Column::Bucket.eq(bucket))
            .filter(attempt_counter::Column::Failures.eq(failures))
            .filter(
                Condition::any()
                    .add(attempt_counter::Column::LastFailureAt.eq(seen.last_failure_at))
                    .add(
                        Condition::all()
                            .add(attempt_counter::Column::LastFailureAt.is_null())
                            .add(attempt_counter::Column::WindowStart.eq(seen.last_failure_at)),
                    ),
            )
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?;
        Ok((result.rows_affected > 0).then_some(AttemptState {
            failures: seen.failures.saturating_add(1),
            last_failure_at: now,
            window_start: seen.window_start,
        }))
    }

    /// Gives back one reserved attempt of a bucket (an attempt that succeeded, or one that
    /// another limit refused before it ran). Returns whether there was one to give back.
    pub async fn give_back_attempt(&self, bucket: &str) -> Result<bool, StoreError> {
        let result = attempt_counter::Entity::update_many()
            .col_expr(
                attempt_counter::Column::Failures,
                Expr::col(attempt_counter::Column::Failures).sub(1),
            )
            .filter(attempt_counter::Column::Bucket.eq(bucket))
            .filter(attempt_counter::Column::Failures.gt(0))
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?;
        Ok(result.rows_affected > 0)
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

    /// Forgets every bucket whose name starts with `prefix` (the windows of one rate limit).
    /// Returns how many there were.
    pub async fn clear_attempts_with_prefix(&self, prefix: &str) -> Result<u64, StoreError> {
        let escaped = prefix
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        let result = attempt_counter::Entity::delete_many()
            .filter(
                Expr::col(attempt_counter::Column::Bucket)
                    .like(LikeExpr::new(format!("{escaped}%")).escape('\\')),
            )
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?;
        Ok(result.rows_affected)
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

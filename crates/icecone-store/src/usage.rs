//! Repositories for usage metering: per account and period (`YYYY-MM`), the text tokens,
//! images and video seconds used. No personal value: the account is a pseudonymous id.
//!
//! Every change is one statement. [`Store::add_usage_within`] adds only while every counter
//! stays within a ceiling — `INSERT ... ON CONFLICT (account_id, period) DO UPDATE SET ...
//! WHERE <counter> + <amount> <= <ceiling> ...` — so of concurrent callers racing for the
//! last unit of a quota exactly as many win as fit, on SQLite and PostgreSQL alike.

use chrono::{DateTime, Utc};
use icecone_core::usage::{Period, Usage};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict, SimpleExpr};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::convert::{u64_from_db, u64_to_db};
use crate::entity::usage_counter;
use crate::{Store, StoreError};

/// What a generation metered, to add to its account's counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metering {
    /// The period the usage counts in.
    pub period: Period,
    /// What was used.
    pub usage: Usage,
    /// When it was metered.
    pub at: DateTime<Utc>,
}

/// A metering with its account.
#[derive(Debug, Clone)]
pub(crate) struct Metered {
    pub(crate) account: Uuid,
    pub(crate) metering: Metering,
}

/// A usage amount as the database stores it.
struct DbUsage {
    tokens: i64,
    images: i64,
    video_seconds: i64,
}

impl DbUsage {
    fn of(usage: Usage) -> Result<Self, StoreError> {
        Ok(Self {
            tokens: u64_to_db(usage.tokens, "usage tokens")?,
            images: u64_to_db(usage.images, "usage images")?,
            video_seconds: u64_to_db(usage.video_seconds, "usage video seconds")?,
        })
    }
}

/// `usage_counters.<column> + amount`.
fn plus(column: usage_counter::Column, amount: i64) -> SimpleExpr {
    Expr::col((usage_counter::Entity, column)).add(amount)
}

/// The statement adding each of `metered` (at most one per account and period) to its
/// counters — one multi-row `INSERT ... ON CONFLICT DO UPDATE SET <counter> = <counter> +
/// excluded.<counter>` — or `None` when there is nothing to add. The caller runs it in
/// its transaction and adjusts the read cache once committed.
pub(crate) fn add_all(
    metered: &[Metered],
) -> Result<Option<sea_orm::InsertMany<usage_counter::ActiveModel>>, StoreError> {
    if metered.is_empty() {
        return Ok(None);
    }
    let plus_excluded = |column: usage_counter::Column| {
        Expr::col((usage_counter::Entity, column)).add(Expr::col((Alias::new("excluded"), column)))
    };
    let rows = metered
        .iter()
        .map(|entry| {
            let amount = DbUsage::of(entry.metering.usage)?;
            Ok(usage_counter::ActiveModel {
                account_id: Set(entry.account),
                period: Set(entry.metering.period.as_str().to_owned()),
                tokens: Set(amount.tokens),
                images: Set(amount.images),
                video_seconds: Set(amount.video_seconds),
                updated_at: Set(entry.metering.at),
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(Some(
        usage_counter::Entity::insert_many(rows).on_conflict(
            OnConflict::columns([
                usage_counter::Column::AccountId,
                usage_counter::Column::Period,
            ])
            .value(
                usage_counter::Column::Tokens,
                plus_excluded(usage_counter::Column::Tokens),
            )
            .value(
                usage_counter::Column::Images,
                plus_excluded(usage_counter::Column::Images),
            )
            .value(
                usage_counter::Column::VideoSeconds,
                plus_excluded(usage_counter::Column::VideoSeconds),
            )
            .update_column(usage_counter::Column::UpdatedAt)
            .to_owned(),
        ),
    ))
}

impl Store {
    /// What the account used in `period` (zero when nothing was recorded).
    pub async fn usage(&self, account: Uuid, period: &Period) -> Result<Usage, StoreError> {
        let row = usage_counter::Entity::find_by_id((account, period.as_str().to_owned()))
            .one(&self.db)
            .await
            .map_err(StoreError::Query)?;
        match row {
            None => Ok(Usage::default()),
            Some(row) => Ok(Usage {
                tokens: u64_from_db(row.tokens, "usage tokens")?,
                images: u64_from_db(row.images, "usage images")?,
                video_seconds: u64_from_db(row.video_seconds, "usage video seconds")?,
            }),
        }
    }

    /// Adds `amount` to the account's usage in `period` if every counter stays at or below
    /// `ceiling`; returns whether it was added. One conditional statement: concurrent
    /// callers never take the counters past the ceiling together.
    pub async fn add_usage_within(
        &self,
        account: Uuid,
        period: &Period,
        amount: Usage,
        ceiling: Usage,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let fits_alone = amount.tokens <= ceiling.tokens
            && amount.images <= ceiling.images
            && amount.video_seconds <= ceiling.video_seconds;
        if !fits_alone {
            return Ok(false);
        }
        let ceiling = DbUsage::of(ceiling)?;
        self.upsert_usage(account, period, amount, now, Some(ceiling))
            .await
    }

    /// Adds `amount` to the account's usage in `period` whatever it comes to (metering
    /// what a request turned out to cost). One statement: concurrent additions all count.
    pub async fn add_usage(
        &self,
        account: Uuid,
        period: &Period,
        amount: Usage,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.upsert_usage(account, period, amount, now, None)
            .await
            .map(|_| ())
    }

    /// Gives back a reservation made with [`Store::add_usage_within`] for a request that
    /// produced nothing. One statement; counters never go below zero.
    pub async fn release_usage(
        &self,
        account: Uuid,
        period: &Period,
        amount: Usage,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let taken = amount;
        let amount = DbUsage::of(amount)?;
        let minus = |column: usage_counter::Column, by: i64| {
            Expr::case(
                Expr::col((usage_counter::Entity, column)).gte(by),
                Expr::col((usage_counter::Entity, column)).sub(by),
            )
            .finally(0i64)
        };
        usage_counter::Entity::update_many()
            .col_expr(
                usage_counter::Column::Tokens,
                minus(usage_counter::Column::Tokens, amount.tokens).into(),
            )
            .col_expr(
                usage_counter::Column::Images,
                minus(usage_counter::Column::Images, amount.images).into(),
            )
            .col_expr(
                usage_counter::Column::VideoSeconds,
                minus(usage_counter::Column::VideoSeconds, amount.video_seconds).into(),
            )
            .col_expr(usage_counter::Column::UpdatedAt, Expr::value(now))
            .filter(usage_counter::Column::AccountId.eq(account))
            .filter(usage_counter::Column::Period.eq(period.as_str()))
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?;
        self.cache
            .adjust_usage(account, period.as_str(), |usage| usage.minus(taken));
        Ok(())
    }

    async fn upsert_usage(
        &self,
        account: Uuid,
        period: &Period,
        amount: Usage,
        now: DateTime<Utc>,
        ceiling: Option<DbUsage>,
    ) -> Result<bool, StoreError> {
        let added = amount;
        let amount = DbUsage::of(amount)?;
        let mut on_conflict = OnConflict::columns([
            usage_counter::Column::AccountId,
            usage_counter::Column::Period,
        ]);
        on_conflict
            .value(
                usage_counter::Column::Tokens,
                plus(usage_counter::Column::Tokens, amount.tokens),
            )
            .value(
                usage_counter::Column::Images,
                plus(usage_counter::Column::Images, amount.images),
            )
            .value(
                usage_counter::Column::VideoSeconds,
                plus(usage_counter::Column::VideoSeconds, amount.video_seconds),
            )
            .update_column(usage_counter::Column::UpdatedAt);
        if let Some(ceiling) = ceiling {
            on_conflict.action_and_where(
                plus(usage_counter::Column::Tokens, amount.tokens)
                    .lte(ceiling.tokens)
                    .and(plus(usage_counter::Column::Images, amount.images).lte(ceiling.images))
                    .and(
                        plus(usage_counter::Column::VideoSeconds, amount.video_seconds)
                            .lte(ceiling.video_seconds),
                    ),
            );
        }
        let written = usage_counter::Entity::insert(usage_counter::ActiveModel {
            account_id: Set(account),
            period: Set(period.as_str().to_owned()),
            tokens: Set(amount.tokens),
            images: Set(amount.images),
            video_seconds: Set(amount.video_seconds),
            updated_at: Set(now),
        })
        .on_conflict(on_conflict)
        .exec_without_returning(&self.db)
        .await
        .map_err(StoreError::Query)?;
        if written > 0 {
            self.cache
                .adjust_usage(account, period.as_str(), |usage| usage.plus(added));
        }
        Ok(written > 0)
    }

    /// Every period's usage of the account, oldest period first (what an export lists).
    pub async fn usage_counters_of(
        &self,
        account: Uuid,
    ) -> Result<Vec<(String, Usage)>, StoreError> {
        usage_counter::Entity::find()
            .filter(usage_counter::Column::AccountId.eq(account))
            .order_by_asc(usage_counter::Column::Period)
            .all(&self.db)
            .await
            .map_err(StoreError::Query)?
            .into_iter()
            .map(|row| {
                Ok((
                    row.period,
                    Usage {
                        tokens: u64_from_db(row.tokens, "usage tokens")?,
                        images: u64_from_db(row.images, "usage images")?,
                        video_seconds: u64_from_db(row.video_seconds, "usage video seconds")?,
                    },
                ))
            })
            .collect()
    }
}

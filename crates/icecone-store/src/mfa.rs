//! Repositories for multi-factor authentication: each account's TOTP factor (the secret
//! sealed, the last accepted time step and the failure count), its recovery codes (digests
//! only) and the short-lived MFA challenges handed out between password and second factor.
//!
//! Every "use once" rule here is a single conditional `UPDATE`, so it holds across gateway
//! instances sharing the database: of two concurrent uses, exactly one changes a row.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter,
    TransactionTrait,
};
use uuid::Uuid;

use crate::convert::{u32_from_db, u64_from_db, u64_to_db};
use crate::entity::{mfa_challenge, recovery_code, totp_factor};
use crate::{Store, StoreError};

/// An account's TOTP factor as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpFactorRecord {
    /// The shared secret, sealed by the vault.
    pub secret_sealed: Vec<u8>,
    /// When the person proved they hold the secret; `None` while enrolment is pending.
    pub confirmed_at: Option<DateTime<Utc>>,
    /// The last time step a code was accepted for; codes of this step or earlier are
    /// replays.
    pub last_step: Option<u64>,
    /// Consecutive failed codes since the last accepted one.
    pub failures: u32,
    /// When the last failure happened.
    pub last_failure_at: Option<DateTime<Utc>>,
    /// When the factor (its current secret) was created.
    pub created_at: DateTime<Utc>,
}

impl TryFrom<totp_factor::Model> for TotpFactorRecord {
    type Error = StoreError;

    fn try_from(row: totp_factor::Model) -> Result<Self, StoreError> {
        Ok(Self {
            secret_sealed: row.secret_sealed,
            confirmed_at: row.confirmed_at,
            last_step: row
                .last_step
                .map(|step| u64_from_db(step, "TOTP time step"))
                .transpose()?,
            failures: u32_from_db(row.failures, "TOTP failure count")?,
            last_failure_at: row.last_failure_at,
            created_at: row.created_at,
        })
    }
}

impl Store {
    /// Stores a new, unconfirmed TOTP factor for an account, replacing an unconfirmed one
    /// (a restarted enrolment) with a clean state.
    ///
    /// # Errors
    /// [`StoreError::Duplicate`] when the account has a confirmed factor: it must be deleted
    /// first. The check and the write are one `INSERT ... ON CONFLICT DO UPDATE ... WHERE
    /// confirmed_at IS NULL`, so a concurrent confirmation cannot be overwritten.
    pub async fn put_totp_factor(
        &self,
        account: Uuid,
        secret_sealed: Vec<u8>,
    ) -> Result<(), StoreError> {
        let written = totp_factor::Entity::insert(totp_factor::ActiveModel {
            account_id: Set(account),
            secret_sealed: Set(secret_sealed),
            confirmed_at: Set(None),
            last_step: Set(None),
            failures: Set(0),
            last_failure_at: Set(None),
            created_at: Set(Utc::now()),
        })
        .on_conflict(
            OnConflict::column(totp_factor::Column::AccountId)
                .update_columns([
                    totp_factor::Column::SecretSealed,
                    totp_factor::Column::LastStep,
                    totp_factor::Column::Failures,
                    totp_factor::Column::LastFailureAt,
                    totp_factor::Column::CreatedAt,
                ])
                .action_and_where(
                    Expr::col((totp_factor::Entity, totp_factor::Column::ConfirmedAt)).is_null(),
                )
                .to_owned(),
        )
        .exec_without_returning(&self.db)
        .await
        .map_err(StoreError::from_insert)?;
        if written == 0 {
            return Err(StoreError::Duplicate);
        }
        Ok(())
    }

    /// An account's TOTP factor, confirmed or pending.
    pub async fn totp_factor(&self, account: Uuid) -> Result<Option<TotpFactorRecord>, StoreError> {
        totp_factor::Entity::find_by_id(account)
            .one(&self.db)
            .await
            .map_err(StoreError::Query)?
            .map(TotpFactorRecord::try_from)
            .transpose()
    }

    /// Confirms a pending TOTP factor. Returns whether this call confirmed it (`false` when
    /// there is no factor or it was already confirmed).
    pub async fn confirm_totp_factor(
        &self,
        account: Uuid,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = totp_factor::Entity::update_many()
            .col_expr(totp_factor::Column::ConfirmedAt, Expr::value(at))
            .filter(totp_factor::Column::AccountId.eq(account))
            .filter(totp_factor::Column::ConfirmedAt.is_null())
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?;
        Ok(result.rows_affected > 0)
    }

    /// Accepts a verified code's time step once: records it as the last accepted step and
    /// resets the failure count, if it is later than the last accepted one.
    ///
    /// Returns `false` for a replay (this step or a later one was already accepted) or when
    /// the account has no factor. It is one conditional `UPDATE ... WHERE last_step IS NULL
    /// OR last_step < :step`: of two gateway instances accepting the same code at once,
    /// exactly one gets `true`.
    pub async fn accept_totp_step(&self, account: Uuid, step: u64) -> Result<bool, StoreError> {
        let step = u64_to_db(step, "TOTP time step")?;
        let result = totp_factor::Entity::update_many()
            .col_expr(totp_factor::Column::LastStep, Expr::value(step))
            .col_expr(totp_factor::Column::Failures, Expr::value(0))
            .filter(totp_factor::Column::AccountId.eq(account))
            .filter(
                Condition::any()
                    .add(totp_factor::Column::LastStep.is_null())
                    .add(totp_factor::Column::LastStep.lt(step)),
            )
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?;
        Ok(result.rows_affected > 0)
    }

    /// Reserves one second-factor attempt (a TOTP or a recovery code) of an account: counts
    /// it at once as a failure, on the condition that the factor still holds the failures
    /// the caller `seen` when it decided that the attempt may run. Returns whether this call
    /// reserved; `false` when the count changed in between (read it again and decide again)
    /// or the account has no factor. An accepted code gives the reservation back by resetting
    /// the count ([`Store::accept_totp_step`], [`Store::clear_totp_failures`]).
    ///
    /// One conditional `UPDATE ... SET failures = failures + 1 WHERE failures = :seen AND
    /// last_failure_at IS NOT DISTINCT FROM :seen` decides, so of concurrent callers on any
    /// number of gateway instances that saw the same count, exactly one reserves.
    pub async fn reserve_totp_attempt(
        &self,
        account: Uuid,
        seen_failures: u32,
        seen_last_failure_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let now = DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now);
        let failures = i32::try_from(seen_failures)
            .map_err(|_| StoreError::OutOfRange("TOTP failure count"))?;
        let last = match seen_last_failure_at {
            Some(at) => totp_factor::Column::LastFailureAt.eq(at),
            None => totp_factor::Column::LastFailureAt.is_null(),
        };
        let result = totp_factor::Entity::update_many()
            .col_expr(
                totp_factor::Column::Failures,
                Expr::col(totp_factor::Column::Failures).add(1),
            )
            .col_expr(totp_factor::Column::LastFailureAt, Expr::value(now))
            .filter(totp_factor::Column::AccountId.eq(account))
            .filter(totp_factor::Column::Failures.eq(failures))
            .filter(last)
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?;
        Ok(result.rows_affected > 0)
    }

    /// Resets an account's second-factor failures (a recovery code was accepted). Returns
    /// whether the account has a factor.
    pub async fn clear_totp_failures(&self, account: Uuid) -> Result<bool, StoreError> {
        let result = totp_factor::Entity::update_many()
            .col_expr(totp_factor::Column::Failures, Expr::value(0))
            .filter(totp_factor::Column::AccountId.eq(account))
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?;
        Ok(result.rows_affected > 0)
    }

    /// Deletes an account's TOTP factor. Returns whether there was one.
    pub async fn delete_totp_factor(&self, account: Uuid) -> Result<bool, StoreError> {
        let result = totp_factor::Entity::delete_many()
            .filter(totp_factor::Column::AccountId.eq(account))
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?;
        Ok(result.rows_affected > 0)
    }

    /// Replaces an account's recovery codes with a new set (their digests), atomically: the
    /// old codes stop working exactly when the new ones start.
    pub async fn replace_recovery_codes(
        &self,
        account: Uuid,
        digests: Vec<[u8; 32]>,
    ) -> Result<(), StoreError> {
        let txn = self.db.begin().await.map_err(StoreError::Query)?;
        recovery_code::Entity::delete_many()
            .filter(recovery_code::Column::AccountId.eq(account))
            .exec(&txn)
            .await
            .map_err(StoreError::Query)?;
        if !digests.is_empty() {
            recovery_code::Entity::insert_many(digests.into_iter().map(|digest| {
                recovery_code::ActiveModel {
                    id: Set(Uuid::new_v4()),
                    account_id: Set(account),
                    digest: Set(digest.to_vec()),
                    used_at: Set(None),
                }
            }))
            .exec_without_returning(&txn)
            .await
            .map_err(StoreError::Query)?;
        }
        txn.commit().await.map_err(StoreError::Query)
    }

    /// Uses a recovery code (by its digest) once. Returns whether it was an unused code of
    /// this account; a second use, even concurrent on another instance, gets `false` (one
    /// conditional `UPDATE ... WHERE used_at IS NULL`).
    pub async fn use_recovery_code(
        &self,
        account: Uuid,
        digest: &[u8; 32],
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = recovery_code::Entity::update_many()
            .col_expr(recovery_code::Column::UsedAt, Expr::value(at))
            .filter(recovery_code::Column::AccountId.eq(account))
            .filter(recovery_code::Column::Digest.eq(digest.to_vec()))
            .filter(recovery_code::Column::UsedAt.is_null())
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?;
        Ok(result.rows_affected > 0)
    }

    /// How many of an account's recovery codes are still unused.
    pub async fn unused_recovery_codes(&self, account: Uuid) -> Result<u64, StoreError> {
        recovery_code::Entity::find()
            .filter(recovery_code::Column::AccountId.eq(account))
            .filter(recovery_code::Column::UsedAt.is_null())
            .count(&self.db)
            .await
            .map_err(StoreError::Query)
    }

    /// Stores an MFA challenge (the digest of the opaque token handed out after the
    /// password step) for an account, valid until `expires_at`.
    ///
    /// # Errors
    /// [`StoreError::Duplicate`] when the digest is taken.
    pub async fn create_mfa_challenge(
        &self,
        digest: [u8; 32],
        account: Uuid,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        mfa_challenge::Entity::insert(mfa_challenge::ActiveModel {
            digest: Set(digest.to_vec()),
            account_id: Set(account),
            created_at: Set(Utc::now()),
            expires_at: Set(expires_at),
            used_at: Set(None),
        })
        .exec_without_returning(&self.db)
        .await
        .map_err(StoreError::from_insert)?;
        Ok(())
    }

    /// Voids every pending MFA challenge of an account (it was suspended): each is marked
    /// used, so no later `consume_mfa_challenge` gets the account. Returns how many were
    /// pending.
    pub async fn void_mfa_challenges(
        &self,
        account: Uuid,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let result = mfa_challenge::Entity::update_many()
            .col_expr(mfa_challenge::Column::UsedAt, Expr::value(now))
            .filter(mfa_challenge::Column::AccountId.eq(account))
            .filter(mfa_challenge::Column::UsedAt.is_null())
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?;
        Ok(result.rows_affected)
    }

    /// Consumes an MFA challenge once: returns its account if it exists, is unused and has
    /// not expired at `now`, else `None`. One conditional `UPDATE ... WHERE used_at IS NULL
    /// AND expires_at > :now` decides, so two concurrent uses cannot both get the account.
    pub async fn consume_mfa_challenge(
        &self,
        digest: &[u8; 32],
        now: DateTime<Utc>,
    ) -> Result<Option<Uuid>, StoreError> {
        let result = mfa_challenge::Entity::update_many()
            .col_expr(mfa_challenge::Column::UsedAt, Expr::value(now))
            .filter(mfa_challenge::Column::Digest.eq(digest.to_vec()))
            .filter(mfa_challenge::Column::UsedAt.is_null())
            .filter(mfa_challenge::Column::ExpiresAt.gt(now))
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?;
        if result.rows_affected == 0 {
            return Ok(None);
        }
        // The challenge is ours now; its account never changes.
        let row = mfa_challenge::Entity::find_by_id(digest.to_vec())
            .one(&self.db)
            .await
            .map_err(StoreError::Query)?;
        Ok(row.map(|row| row.account_id))
    }
}

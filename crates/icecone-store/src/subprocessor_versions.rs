//! The published versions of the subprocessors list, and telling every account of an
//! announced one once.
//!
//! A version is taken by inserting its number (the primary key): of two instances that
//! publish the same next version at once, one inserts and the other learns it was too late
//! ([`Store::publish_subprocessor_version`] answers `false`) and reads again. Accounts
//! record the version they were last told about (`accounts.subprocessors_notified_version`);
//! [`Store::queue_subprocessor_notice`] advances it by compare-and-set in the transaction
//! that queues the notice, as the policy notices do.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait};
use uuid::Uuid;

use crate::entity::{account, notification, subprocessor_version};
use crate::outbox::queued_row;
use crate::policy_notices::PolicyNotice;
use crate::{Store, StoreError};
use icecone_core::subject::SubjectId;
use sea_orm::ActiveValue::Set;

/// A published version of the subprocessors list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubprocessorVersion {
    /// Its number, from 1.
    pub version: u32,
    /// The list's digest.
    pub digest: String,
    /// The list as published (JSON, written and read by the application).
    pub entries: String,
    /// Whether every account is told of it (not the first version).
    pub announced: bool,
    /// When it was published.
    pub published_at: DateTime<Utc>,
    /// When it takes effect.
    pub takes_effect_at: DateTime<Utc>,
}

/// An account not yet told of an announced version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BehindSubprocessors {
    /// The account.
    pub account: Uuid,
    /// Its data subject (whose key seals the notice's payload).
    pub subject: SubjectId,
    /// The version it was last told about (0: none).
    pub told_version: u32,
}

fn version_number(version: u32) -> Result<i32, StoreError> {
    i32::try_from(version).map_err(|_| StoreError::OutOfRange("subprocessor version"))
}

impl TryFrom<subprocessor_version::Model> for SubprocessorVersion {
    type Error = StoreError;

    fn try_from(row: subprocessor_version::Model) -> Result<Self, StoreError> {
        Ok(Self {
            version: u32::try_from(row.version)
                .map_err(|_| StoreError::OutOfRange("subprocessor version"))?,
            digest: row.digest,
            entries: row.entries,
            announced: row.announced,
            published_at: row.published_at,
            takes_effect_at: row.takes_effect_at,
        })
    }
}

impl Store {
    /// Every published version, oldest first (a handful: one per change of the list).
    pub async fn subprocessor_versions(&self) -> Result<Vec<SubprocessorVersion>, StoreError> {
        subprocessor_version::Entity::find()
            .order_by_asc(subprocessor_version::Column::Version)
            .all(&self.db)
            .await
            .map_err(StoreError::Query)?
            .into_iter()
            .map(SubprocessorVersion::try_from)
            .collect()
    }

    /// The latest published version, if any.
    pub async fn latest_subprocessor_version(
        &self,
    ) -> Result<Option<SubprocessorVersion>, StoreError> {
        subprocessor_version::Entity::find()
            .order_by_desc(subprocessor_version::Column::Version)
            .one(&self.db)
            .await
            .map_err(StoreError::Query)?
            .map(SubprocessorVersion::try_from)
            .transpose()
    }

    /// Publishes `version`; `false` when its number is taken already (another instance
    /// published first: read the latest again).
    pub async fn publish_subprocessor_version(
        &self,
        version: &SubprocessorVersion,
    ) -> Result<bool, StoreError> {
        let inserted = subprocessor_version::Entity::insert(subprocessor_version::ActiveModel {
            version: Set(version_number(version.version)?),
            digest: Set(version.digest.clone()),
            entries: Set(version.entries.clone()),
            announced: Set(version.announced),
            published_at: Set(version.published_at),
            takes_effect_at: Set(version.takes_effect_at),
        })
        .exec_without_returning(&self.db)
        .await
        .map_err(StoreError::from_insert);
        match inserted {
            Ok(_) => Ok(true),
            Err(StoreError::Duplicate) => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// Up to `limit` accounts with a verified address last told of a version before
    /// `version`, by id, after `after`. An unverified address is left until it is verified:
    /// it may not be the account holder's.
    pub async fn accounts_behind_subprocessors(
        &self,
        version: u32,
        after: Option<Uuid>,
        limit: u64,
    ) -> Result<Vec<BehindSubprocessors>, StoreError> {
        let mut query = account::Entity::find()
            .select_only()
            .column(account::Column::Id)
            .column(account::Column::SubjectId)
            .column(account::Column::SubprocessorsNotifiedVersion)
            .filter(account::Column::SubprocessorsNotifiedVersion.lt(version_number(version)?))
            .filter(account::Column::EmailVerifiedAt.is_not_null());
        if let Some(after) = after {
            query = query.filter(account::Column::Id.gt(after));
        }
        let rows: Vec<(Uuid, Uuid, i32)> = query
            .order_by_asc(account::Column::Id)
            .limit(limit)
            .into_tuple()
            .all(&self.db)
            .await
            .map_err(StoreError::Query)?;
        rows.into_iter()
            .map(|(account, subject, told)| {
                Ok(BehindSubprocessors {
                    account,
                    subject: SubjectId::from_uuid(subject),
                    told_version: u32::try_from(told)
                        .map_err(|_| StoreError::OutOfRange("subprocessor version"))?,
                })
            })
            .collect()
    }

    /// Advances the account's last-told version from `told` to `version` and queues
    /// `notice`, in one transaction; only if the account was still at `told` (a
    /// compare-and-set). Returns whether this caller did it: `false` means another runner
    /// told the account first (or it is gone), and nothing was queued.
    pub async fn queue_subprocessor_notice(
        &self,
        account: Uuid,
        told: u32,
        version: u32,
        notice: PolicyNotice,
    ) -> Result<bool, StoreError> {
        let txn = self.db.begin().await.map_err(StoreError::Query)?;
        let advanced = account::Entity::update_many()
            .col_expr(
                account::Column::SubprocessorsNotifiedVersion,
                Expr::value(version_number(version)?),
            )
            .filter(account::Column::Id.eq(account))
            .filter(account::Column::SubprocessorsNotifiedVersion.eq(version_number(told)?))
            .exec(&txn)
            .await
            .map_err(StoreError::Query)?;
        if advanced.rows_affected != 1 {
            txn.rollback().await.map_err(StoreError::Query)?;
            return Ok(false);
        }
        notification::Entity::insert(notification::ActiveModel {
            account_id: Set(Some(account)),
            payload_sealed: Set(notice.payload_sealed),
            ..queued_row(notice.id, notice.kind, notice.at)
        })
        .exec_without_returning(&txn)
        .await
        .map_err(StoreError::from_insert)?;
        txn.commit().await.map_err(StoreError::Query)?;
        self.cache.forget_account(account);
        Ok(true)
    }
}

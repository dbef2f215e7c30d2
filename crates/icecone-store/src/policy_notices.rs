//! Telling every account of a new privacy policy version once: the accounts behind a
//! version (`accounts.policy_notified_version`, the version each was last told about), read
//! a page at a time, and the compare-and-set that advances one account and queues its
//! notice in a single transaction — so that however many instances run the policy-notice
//! task at once, each account gets one notice per change, and none is lost: the version
//! moves only together with a queued notice.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait};
use uuid::Uuid;

use crate::entity::{account, notification};
use crate::outbox::queued_row;
use crate::{Store, StoreError};
use icecone_core::subject::SubjectId;
use sea_orm::ActiveValue::Set;

/// An account that has not been told about the current policy version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BehindPolicy {
    /// The account.
    pub account: Uuid,
    /// Its data subject (whose key seals the notice's payload).
    pub subject: SubjectId,
    /// The version it was last told about (at first, the one it accepted at sign-up).
    pub told_version: String,
}

/// The notice to queue with the advance, as the outbox stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyNotice {
    /// The outbox id.
    pub id: Uuid,
    /// The notification kind.
    pub kind: String,
    /// The payload, sealed under the account's data key.
    pub payload_sealed: Option<Vec<u8>>,
    /// When it is queued.
    pub at: chrono::DateTime<chrono::Utc>,
}

impl Store {
    /// Up to `limit` accounts with a verified address whose last-told version is older than
    /// `current` (versions are `YYYY-MM-DD`, so they order as text), by id, after `after`.
    /// An account whose address is not verified yet is left until it is: its address may
    /// not be its holder's.
    pub async fn accounts_behind_policy(
        &self,
        current: &str,
        after: Option<Uuid>,
        limit: u64,
    ) -> Result<Vec<BehindPolicy>, StoreError> {
        let mut query = account::Entity::find()
            .select_only()
            .column(account::Column::Id)
            .column(account::Column::SubjectId)
            .column(account::Column::PolicyNotifiedVersion)
            .filter(account::Column::PolicyNotifiedVersion.lt(current))
            .filter(account::Column::EmailVerifiedAt.is_not_null());
        if let Some(after) = after {
            query = query.filter(account::Column::Id.gt(after));
        }
        let rows: Vec<(Uuid, Uuid, String)> = query
            .order_by_asc(account::Column::Id)
            .limit(limit)
            .into_tuple()
            .all(&self.db)
            .await
            .map_err(StoreError::Query)?;
        Ok(rows
            .into_iter()
            .map(|(account, subject, told_version)| BehindPolicy {
                account,
                subject: SubjectId::from_uuid(subject),
                told_version,
            })
            .collect())
    }

    /// Advances the account's last-told version from `told` to `current` and queues
    /// `notice`, in one transaction; only if the account was still at `told` (a
    /// compare-and-set). Returns whether this caller did it: `false` means another runner
    /// told the account first (or it is gone), and nothing was queued.
    pub async fn queue_policy_notice(
        &self,
        account: Uuid,
        told: &str,
        current: &str,
        notice: PolicyNotice,
    ) -> Result<bool, StoreError> {
        let txn = self.db.begin().await.map_err(StoreError::Query)?;
        let advanced = account::Entity::update_many()
            .col_expr(
                account::Column::PolicyNotifiedVersion,
                Expr::value(current.to_owned()),
            )
            .filter(account::Column::Id.eq(account))
            .filter(account::Column::PolicyNotifiedVersion.eq(told))
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

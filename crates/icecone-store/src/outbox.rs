//! Repositories for the notification outbox: security notifications (new sign-in, MFA
//! changed, password changed) written with the change and delivered later by a notifier.
//! The account, the kind and, where a message carries more (a verification link's token),
//! that payload sealed under the account's data key; the notifier looks up the address
//! itself.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::entity::notification;
use crate::{Store, StoreError};

/// A notification as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationRecord {
    /// The notification's id.
    pub id: Uuid,
    /// Whom to notify.
    pub account: Uuid,
    /// What happened (e.g. `new_sign_in`), at most 32 bytes.
    pub kind: String,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// When it was delivered, if it was.
    pub delivered_at: Option<DateTime<Utc>>,
    /// What the message carries beyond its kind, sealed under the account's data key.
    pub payload_sealed: Option<Vec<u8>>,
}

impl From<notification::Model> for NotificationRecord {
    fn from(row: notification::Model) -> Self {
        Self {
            id: row.id,
            account: row.account_id,
            kind: row.kind,
            created_at: row.created_at,
            delivered_at: row.delivered_at,
            payload_sealed: row.payload_sealed,
        }
    }
}

impl Store {
    /// Every notification of the account, queued or delivered, newest first (what its
    /// export shows).
    pub async fn notifications_of(
        &self,
        account: Uuid,
    ) -> Result<Vec<NotificationRecord>, StoreError> {
        Ok(notification::Entity::find()
            .filter(notification::Column::AccountId.eq(account))
            .order_by_desc(notification::Column::CreatedAt)
            .all(&self.db)
            .await
            .map_err(StoreError::Query)?
            .into_iter()
            .map(NotificationRecord::from)
            .collect())
    }

    /// Queues a notification, with its sealed payload if it has one.
    ///
    /// # Errors
    /// [`StoreError::Duplicate`] when the id is taken.
    pub async fn enqueue_notification(
        &self,
        id: Uuid,
        account: Uuid,
        kind: &str,
        payload_sealed: Option<Vec<u8>>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        notification::Entity::insert(notification::ActiveModel {
            id: Set(id),
            account_id: Set(account),
            kind: Set(kind.to_owned()),
            created_at: Set(at),
            delivered_at: Set(None),
            payload_sealed: Set(payload_sealed),
        })
        .exec_without_returning(&self.db)
        .await
        .map_err(StoreError::from_insert)?;
        Ok(())
    }

    /// Up to `limit` undelivered notifications, oldest first.
    pub async fn undelivered_notifications(
        &self,
        limit: u64,
    ) -> Result<Vec<NotificationRecord>, StoreError> {
        Ok(notification::Entity::find()
            .filter(notification::Column::DeliveredAt.is_null())
            .order_by_asc(notification::Column::CreatedAt)
            .order_by_asc(notification::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await
            .map_err(StoreError::Query)?
            .into_iter()
            .map(NotificationRecord::from)
            .collect())
    }

    /// Marks a notification delivered — in practice, claims it for delivery. Returns whether
    /// this call did (a conditional `UPDATE ... WHERE delivered_at IS NULL`: of two
    /// concurrent deliverers, one wins, so no message goes out twice).
    pub async fn mark_notification_delivered(
        &self,
        id: Uuid,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = notification::Entity::update_many()
            .col_expr(notification::Column::DeliveredAt, Expr::value(at))
            .filter(notification::Column::Id.eq(id))
            .filter(notification::Column::DeliveredAt.is_null())
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?;
        Ok(result.rows_affected > 0)
    }

    /// Puts a claimed notification back in the queue after its delivery failed.
    pub async fn release_notification(&self, id: Uuid) -> Result<(), StoreError> {
        notification::Entity::update_many()
            .col_expr(
                notification::Column::DeliveredAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(notification::Column::Id.eq(id))
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?;
        Ok(())
    }
}

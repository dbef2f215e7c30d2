//! Repositories for the notification outbox: security notifications (new sign-in, MFA
//! changed, password changed) written with the change and delivered later by a notifier.
//! Only the account and the kind are stored; the notifier looks up the address itself.

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
}

impl From<notification::Model> for NotificationRecord {
    fn from(row: notification::Model) -> Self {
        Self {
            id: row.id,
            account: row.account_id,
            kind: row.kind,
            created_at: row.created_at,
            delivered_at: row.delivered_at,
        }
    }
}

impl Store {
    /// Queues a notification.
    ///
    /// # Errors
    /// [`StoreError::Duplicate`] when the id is taken.
    pub async fn enqueue_notification(
        &self,
        id: Uuid,
        account: Uuid,
        kind: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        notification::Entity::insert(notification::ActiveModel {
            id: Set(id),
            account_id: Set(account),
            kind: Set(kind.to_owned()),
            created_at: Set(at),
            delivered_at: Set(None),
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

    /// Marks a notification delivered. Returns whether this call did (a conditional
    /// `UPDATE ... WHERE delivered_at IS NULL`: of two concurrent deliverers, one wins).
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
}

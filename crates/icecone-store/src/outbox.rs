//! Repositories for the notification outbox: security notifications (new sign-in, MFA
//! changed, password changed) written with the change and delivered later by a notifier.
//! The account, the kind and, where a message carries more (a verification link's token),
//! that payload sealed under the account's data key; the notifier looks up the address
//! itself. A notification to someone without an account (the DPO's reply to a message sent
//! without one) has no account: its address is sealed under the system key, with the
//! address's blind index to find it for an erasure. Delivery state: attempts, when the next is due, delivered or given up; and the
//! suppression list of addresses mail servers refused for good (by blind index).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use crate::entity::{mail_suppression, notification};
use crate::{Store, StoreError};

/// A notification as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationRecord {
    /// The notification's id.
    pub id: Uuid,
    /// Whom to notify: an account, or `None` for an address sealed in
    /// [`NotificationRecord::recipient_sealed`].
    pub account: Option<Uuid>,
    /// What happened (e.g. `new_sign_in`), at most 32 bytes.
    pub kind: String,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// When it was delivered, if it was.
    pub delivered_at: Option<DateTime<Utc>>,
    /// What the message carries beyond its kind, sealed under the account's data key.
    pub payload_sealed: Option<Vec<u8>>,
    /// How many delivery attempts were made.
    pub attempts: u32,
    /// When it is next due (`None`: now).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When delivery was given up, if it was.
    pub given_up_at: Option<DateTime<Utc>>,
    /// The mail campaign it is a message of, if it is one.
    pub campaign: Option<Uuid>,
    /// The recipient's address sealed under the system key, when there is no account.
    pub recipient_sealed: Option<Vec<u8>>,
    /// The blind index of that address, when there is no account.
    pub recipient_index: Option<Vec<u8>>,
}

/// A notification to someone without an account: everything the outbox keeps of it.
#[derive(Clone, PartialEq, Eq)]
pub struct AddressedNotification {
    /// The notification's id.
    pub id: Uuid,
    /// What it is about, at most 32 bytes.
    pub kind: String,
    /// The recipient's address, sealed under the system key.
    pub recipient_sealed: Vec<u8>,
    /// The address's blind index (to find it for the erasure of its owner).
    pub recipient_index: Vec<u8>,
    /// What the message carries, sealed under the system key.
    pub payload_sealed: Option<Vec<u8>>,
}

impl std::fmt::Debug for AddressedNotification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AddressedNotification")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
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
            attempts: u32::try_from(row.attempts).unwrap_or(0),
            next_attempt_at: row.next_attempt_at,
            given_up_at: row.given_up_at,
            recipient_sealed: row.recipient_sealed,
            recipient_index: row.recipient_index,
            campaign: row.campaign_id,
        }
    }
}

/// An outbox row as queued: due at once, never attempted, addressed to nobody yet, with
/// nothing attached. Every way of queueing starts from it and sets what it adds (the
/// account, the sealed recipient, the payload, the campaign).
pub(crate) fn queued_row(id: Uuid, kind: String, at: DateTime<Utc>) -> notification::ActiveModel {
    notification::ActiveModel {
        id: Set(id),
        account_id: Set(None),
        kind: Set(kind),
        created_at: Set(at),
        delivered_at: Set(None),
        payload_sealed: Set(None),
        attempts: Set(0),
        next_attempt_at: Set(None),
        given_up_at: Set(None),
        recipient_sealed: Set(None),
        recipient_index: Set(None),
        campaign_id: Set(None),
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
            account_id: Set(Some(account)),
            payload_sealed: Set(payload_sealed),
            ..queued_row(id, kind.to_owned(), at)
        })
        .exec_without_returning(&self.db)
        .await
        .map_err(StoreError::from_insert)?;
        Ok(())
    }

    /// Queues a notification to someone without an account.
    ///
    /// # Errors
    /// [`StoreError::Duplicate`] when the id is taken.
    pub async fn enqueue_notification_to_address(
        &self,
        notification: &AddressedNotification,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        notification::Entity::insert(notification::ActiveModel {
            payload_sealed: Set(notification.payload_sealed.clone()),
            recipient_sealed: Set(Some(notification.recipient_sealed.clone())),
            recipient_index: Set(Some(notification.recipient_index.clone())),
            ..queued_row(notification.id, notification.kind.clone(), at)
        })
        .exec_without_returning(&self.db)
        .await
        .map_err(StoreError::from_insert)?;
        Ok(())
    }

    /// The notifications to someone without an account whose address has the blind index
    /// `recipient_index`, newest first.
    pub async fn notifications_to_address(
        &self,
        recipient_index: &[u8],
    ) -> Result<Vec<NotificationRecord>, StoreError> {
        Ok(notification::Entity::find()
            .filter(notification::Column::AccountId.is_null())
            .filter(notification::Column::RecipientIndex.eq(recipient_index.to_vec()))
            .order_by_desc(notification::Column::CreatedAt)
            .all(&self.db)
            .await
            .map_err(StoreError::Query)?
            .into_iter()
            .map(NotificationRecord::from)
            .collect())
    }

    /// Deletes the notifications to someone without an account whose address has the
    /// blind index `recipient_index`, delivered or not (the address's owner is being
    /// erased). Returns how many.
    pub async fn delete_notifications_to_address(
        &self,
        recipient_index: &[u8],
    ) -> Result<u64, StoreError> {
        let result = notification::Entity::delete_many()
            .filter(notification::Column::AccountId.is_null())
            .filter(notification::Column::RecipientIndex.eq(recipient_index.to_vec()))
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?;
        Ok(result.rows_affected)
    }

    /// How many notifications wait in the outbox: neither delivered nor given up (due now
    /// or waiting for a retry). What the outbox-depth metric reports.
    pub async fn outbox_depth(&self) -> Result<u64, StoreError> {
        notification::Entity::find()
            .filter(notification::Column::DeliveredAt.is_null())
            .filter(notification::Column::GivenUpAt.is_null())
            .count(&self.db)
            .await
            .map_err(StoreError::Query)
    }

    /// Up to `limit` notifications due for delivery at `now`, oldest first: neither
    /// delivered nor given up, and not waiting for a retry or held by another deliverer's
    /// claim.
    pub async fn due_notifications(
        &self,
        now: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<NotificationRecord>, StoreError> {
        Ok(notification::Entity::find()
            .filter(notification::Column::DeliveredAt.is_null())
            .filter(notification::Column::GivenUpAt.is_null())
            .filter(
                Condition::any()
                    .add(notification::Column::NextAttemptAt.is_null())
                    .add(notification::Column::NextAttemptAt.lte(now)),
            )
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

    /// Claims a due notification for one delivery attempt: counts the attempt and holds
    /// the notification until `held_until` (when it is due again should this deliverer
    /// crash). Returns whether this call claimed it: one conditional `UPDATE ... WHERE
    /// attempts = <as read>`, so of two concurrent deliverers that read the same row, one
    /// wins.
    pub async fn claim_notification(
        &self,
        record: &NotificationRecord,
        held_until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let attempts = i32::try_from(record.attempts).unwrap_or(i32::MAX);
        let result = notification::Entity::update_many()
            .col_expr(
                notification::Column::Attempts,
                Expr::col(notification::Column::Attempts).add(1),
            )
            .col_expr(
                notification::Column::NextAttemptAt,
                Expr::value(Some(held_until)),
            )
            .filter(notification::Column::Id.eq(record.id))
            .filter(notification::Column::Attempts.eq(attempts))
            .filter(notification::Column::DeliveredAt.is_null())
            .filter(notification::Column::GivenUpAt.is_null())
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?;
        Ok(result.rows_affected > 0)
    }

    /// Records a notification as delivered. Returns whether this call did (it is delivered
    /// once).
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

    /// Puts a claimed notification back in the queue, due again at `at` (a temporary
    /// failure's backoff).
    pub async fn retry_notification_at(
        &self,
        id: Uuid,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        notification::Entity::update_many()
            .col_expr(notification::Column::NextAttemptAt, Expr::value(Some(at)))
            .filter(notification::Column::Id.eq(id))
            .filter(notification::Column::DeliveredAt.is_null())
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?;
        Ok(())
    }

    /// Gives up delivering a notification (it is never tried again).
    pub async fn give_up_notification(
        &self,
        id: Uuid,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        notification::Entity::update_many()
            .col_expr(notification::Column::GivenUpAt, Expr::value(Some(at)))
            .filter(notification::Column::Id.eq(id))
            .filter(notification::Column::DeliveredAt.is_null())
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?;
        Ok(())
    }

    /// Adds an address, by its blind index, to the suppression list: a mail server
    /// refused mail to it permanently (`reply_code`, e.g. 550). Returns whether it was
    /// newly added (the first refusal is kept).
    pub async fn suppress_address(
        &self,
        email_index: &[u8; 32],
        account: Uuid,
        reply_code: u16,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let inserted = mail_suppression::Entity::insert(mail_suppression::ActiveModel {
            email_index: Set(email_index.to_vec()),
            account_id: Set(account),
            reply_code: Set(i32::from(reply_code)),
            suppressed_at: Set(at),
        })
        .on_conflict(
            OnConflict::column(mail_suppression::Column::EmailIndex)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&self.db)
        .await
        .map_err(StoreError::Query)?;
        Ok(inserted > 0)
    }

    /// Whether mail to the address with this blind index was refused permanently.
    pub async fn is_address_suppressed(&self, email_index: &[u8; 32]) -> Result<bool, StoreError> {
        Ok(mail_suppression::Entity::find_by_id(email_index.to_vec())
            .one(&self.db)
            .await
            .map_err(StoreError::Query)?
            .is_some())
    }
}

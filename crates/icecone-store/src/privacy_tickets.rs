//! Repositories for messages to the data protection officer (`privacy_tickets`): sealed by
//! the gateway (under the account's data key when signed in, else under the system key)
//! before they reach the store.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::entity::privacy_ticket;
use crate::{Store, StoreError};

/// A ticket as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct PrivacyTicketRecord {
    /// Its id.
    pub id: Uuid,
    /// The sender's account when they were signed in.
    pub account: Option<Uuid>,
    /// The reply address, sealed (required when anonymous).
    pub email_sealed: Option<Vec<u8>>,
    /// The reply address's blind index (for rate limiting, and to find a person's
    /// anonymous tickets for their export and erasure).
    pub email_index: Option<Vec<u8>>,
    /// The subject line, sealed.
    pub subject_sealed: Vec<u8>,
    /// The message, sealed.
    pub message_sealed: Vec<u8>,
    /// When it arrived.
    pub received_at: DateTime<Utc>,
    /// Where it stands (`OPEN`).
    pub status: String,
}

impl std::fmt::Debug for PrivacyTicketRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrivacyTicketRecord")
            .field("id", &self.id)
            .field("account", &self.account)
            .field("received_at", &self.received_at)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl From<privacy_ticket::Model> for PrivacyTicketRecord {
    fn from(row: privacy_ticket::Model) -> Self {
        Self {
            id: row.id,
            account: row.account_id,
            email_sealed: row.email_sealed,
            email_index: row.email_index,
            subject_sealed: row.subject_sealed,
            message_sealed: row.message_sealed,
            received_at: row.received_at,
            status: row.status,
        }
    }
}

impl Store {
    /// Stores a ticket.
    ///
    /// # Errors
    /// [`StoreError::Duplicate`] when the id is taken.
    pub async fn insert_privacy_ticket(
        &self,
        ticket: &PrivacyTicketRecord,
    ) -> Result<(), StoreError> {
        privacy_ticket::Entity::insert(privacy_ticket::ActiveModel {
            id: Set(ticket.id),
            account_id: Set(ticket.account),
            email_sealed: Set(ticket.email_sealed.clone()),
            email_index: Set(ticket.email_index.clone()),
            subject_sealed: Set(ticket.subject_sealed.clone()),
            message_sealed: Set(ticket.message_sealed.clone()),
            received_at: Set(ticket.received_at),
            status: Set(ticket.status.clone()),
        })
        .exec_without_returning(&self.db)
        .await
        .map_err(StoreError::from_insert)?;
        Ok(())
    }

    /// Every ticket, newest first.
    pub async fn privacy_tickets(&self) -> Result<Vec<PrivacyTicketRecord>, StoreError> {
        self.tickets_where(None).await
    }

    /// The tickets of a person, newest first (what their export holds): those the account
    /// sent while signed in, and — given `reply_index`, the blind index of the person's
    /// verified address as tickets store it — the anonymous ones with that reply address.
    pub async fn privacy_tickets_of(
        &self,
        account: Uuid,
        reply_index: Option<&[u8]>,
    ) -> Result<Vec<PrivacyTicketRecord>, StoreError> {
        let mut theirs = Condition::any().add(privacy_ticket::Column::AccountId.eq(account));
        if let Some(index) = reply_index {
            theirs = theirs.add(
                Condition::all()
                    .add(privacy_ticket::Column::AccountId.is_null())
                    .add(privacy_ticket::Column::EmailIndex.eq(index.to_vec())),
            );
        }
        self.tickets_where(Some(theirs)).await
    }

    /// Deletes the anonymous tickets whose reply address has the blind index
    /// `reply_index` (its owner's account is being erased). Returns how many.
    pub async fn delete_anonymous_privacy_tickets(
        &self,
        reply_index: &[u8],
    ) -> Result<u64, StoreError> {
        let result = privacy_ticket::Entity::delete_many()
            .filter(privacy_ticket::Column::AccountId.is_null())
            .filter(privacy_ticket::Column::EmailIndex.eq(reply_index.to_vec()))
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?;
        Ok(result.rows_affected)
    }

    async fn tickets_where(
        &self,
        condition: Option<Condition>,
    ) -> Result<Vec<PrivacyTicketRecord>, StoreError> {
        let mut query = privacy_ticket::Entity::find();
        if let Some(condition) = condition {
            query = query.filter(condition);
        }
        Ok(query
            .order_by_desc(privacy_ticket::Column::ReceivedAt)
            .order_by_desc(privacy_ticket::Column::Id)
            .all(&self.db)
            .await
            .map_err(StoreError::Query)?
            .into_iter()
            .map(PrivacyTicketRecord::from)
            .collect())
    }
}

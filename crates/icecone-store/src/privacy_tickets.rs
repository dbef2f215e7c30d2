//! Repositories for messages to the data protection officer (`privacy_tickets`) and their
//! history (`privacy_ticket_events`: received, answered with the reply, closed): sealed by
//! the gateway (under the account's data key when signed in, else under the system key)
//! before they reach the store. A ticket's status changes by one conditional update on the
//! status it was read in, in the transaction that records the step.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};
use uuid::Uuid;

use crate::entity::{privacy_ticket, privacy_ticket_event};
use crate::{Store, StoreError};

/// The kind of a ticket's first history entry.
const RECEIVED: &str = "RECEIVED";

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
    /// Where it stands (`OPEN`, `ANSWERED`, `CLOSED`).
    pub status: String,
}

/// An entry of a ticket's history as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct PrivacyTicketEventRecord {
    /// Its id (a ticket's `RECEIVED` entry has the ticket's id).
    pub id: Uuid,
    /// The ticket.
    pub ticket: Uuid,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// What happened (`RECEIVED`, `ANSWERED`, `CLOSED`).
    pub kind: String,
    /// The staff member who acted (a bare account id), for the DPO's steps.
    pub staff: Option<Uuid>,
    /// The reply, sealed as the ticket is, for `ANSWERED`.
    pub reply_sealed: Option<Vec<u8>>,
}

impl std::fmt::Debug for PrivacyTicketEventRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrivacyTicketEventRecord")
            .field("id", &self.id)
            .field("ticket", &self.ticket)
            .field("at", &self.at)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl From<privacy_ticket_event::Model> for PrivacyTicketEventRecord {
    fn from(row: privacy_ticket_event::Model) -> Self {
        Self {
            id: row.id,
            ticket: row.ticket_id,
            at: row.at,
            kind: row.kind,
            staff: row.staff_id,
            reply_sealed: row.reply_sealed,
        }
    }
}

fn event_row(event: &PrivacyTicketEventRecord) -> privacy_ticket_event::ActiveModel {
    privacy_ticket_event::ActiveModel {
        id: Set(event.id),
        ticket_id: Set(event.ticket),
        at: Set(event.at),
        kind: Set(event.kind.clone()),
        staff_id: Set(event.staff),
        reply_sealed: Set(event.reply_sealed.clone()),
    }
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
    /// Stores a ticket with its `RECEIVED` history entry (whose id is the ticket's), in one
    /// transaction.
    ///
    /// # Errors
    /// [`StoreError::Duplicate`] when the id is taken.
    pub async fn insert_privacy_ticket(
        &self,
        ticket: &PrivacyTicketRecord,
    ) -> Result<(), StoreError> {
        let txn = self.db.begin().await.map_err(StoreError::Query)?;
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
        .exec_without_returning(&txn)
        .await
        .map_err(StoreError::from_insert)?;
        privacy_ticket_event::Entity::insert(event_row(&PrivacyTicketEventRecord {
            id: ticket.id,
            ticket: ticket.id,
            at: ticket.received_at,
            kind: RECEIVED.to_owned(),
            staff: None,
            reply_sealed: None,
        }))
        .exec_without_returning(&txn)
        .await
        .map_err(StoreError::from_insert)?;
        txn.commit().await.map_err(StoreError::Query)
    }

    /// The ticket `id`, if there is one.
    pub async fn privacy_ticket(
        &self,
        id: Uuid,
    ) -> Result<Option<PrivacyTicketRecord>, StoreError> {
        Ok(privacy_ticket::Entity::find_by_id(id)
            .one(&self.db)
            .await
            .map_err(StoreError::Query)?
            .map(PrivacyTicketRecord::from))
    }

    /// Moves ticket `id` from one of the statuses `from` to `to` and records `event` in its
    /// history, in one transaction. Returns `false`, changing nothing, when the ticket is in
    /// none of `from` (any more): one conditional update, so of two concurrent steps from
    /// the same status read, only those the lifecycle allows from the status the other left
    /// can follow.
    pub async fn step_privacy_ticket(
        &self,
        id: Uuid,
        from: &[&str],
        to: &str,
        event: &PrivacyTicketEventRecord,
    ) -> Result<bool, StoreError> {
        let txn = self.db.begin().await.map_err(StoreError::Query)?;
        let updated = privacy_ticket::Entity::update_many()
            .col_expr(privacy_ticket::Column::Status, Expr::value(to))
            .filter(privacy_ticket::Column::Id.eq(id))
            .filter(privacy_ticket::Column::Status.is_in(from.iter().copied()))
            .exec(&txn)
            .await
            .map_err(StoreError::Query)?;
        if updated.rows_affected == 0 {
            return Ok(false);
        }
        privacy_ticket_event::Entity::insert(event_row(event))
            .exec_without_returning(&txn)
            .await
            .map_err(StoreError::from_insert)?;
        txn.commit().await.map_err(StoreError::Query)?;
        Ok(true)
    }

    /// The history of the tickets `ids`, oldest first.
    pub async fn privacy_ticket_events(
        &self,
        ids: &[Uuid],
    ) -> Result<Vec<PrivacyTicketEventRecord>, StoreError> {
        let mut events = Vec::new();
        // Bounded lists of bound values: SQLite allows at most 32,766 per statement.
        for chunk in ids.chunks(500) {
            events.extend(
                privacy_ticket_event::Entity::find()
                    .filter(privacy_ticket_event::Column::TicketId.is_in(chunk.iter().copied()))
                    .order_by_asc(privacy_ticket_event::Column::At)
                    .order_by_asc(privacy_ticket_event::Column::Id)
                    .all(&self.db)
                    .await
                    .map_err(StoreError::Query)?
                    .into_iter()
                    .map(PrivacyTicketEventRecord::from),
            );
        }
        events.sort_by_key(|event| (event.at, event.id));
        Ok(events)
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
    /// `reply_index`, with their history (its owner's account is being erased), in one
    /// transaction. Returns how many tickets.
    pub async fn delete_anonymous_privacy_tickets(
        &self,
        reply_index: &[u8],
    ) -> Result<u64, StoreError> {
        let txn = self.db.begin().await.map_err(StoreError::Query)?;
        let ids: Vec<Uuid> = privacy_ticket::Entity::find()
            .select_only()
            .column(privacy_ticket::Column::Id)
            .filter(privacy_ticket::Column::AccountId.is_null())
            .filter(privacy_ticket::Column::EmailIndex.eq(reply_index.to_vec()))
            .into_tuple()
            .all(&txn)
            .await
            .map_err(StoreError::Query)?;
        let mut deleted = 0;
        for chunk in ids.chunks(500) {
            privacy_ticket_event::Entity::delete_many()
                .filter(privacy_ticket_event::Column::TicketId.is_in(chunk.iter().copied()))
                .exec(&txn)
                .await
                .map_err(StoreError::Query)?;
            deleted += privacy_ticket::Entity::delete_many()
                .filter(privacy_ticket::Column::Id.is_in(chunk.iter().copied()))
                .exec(&txn)
                .await
                .map_err(StoreError::Query)?
                .rows_affected;
        }
        txn.commit().await.map_err(StoreError::Query)?;
        Ok(deleted)
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

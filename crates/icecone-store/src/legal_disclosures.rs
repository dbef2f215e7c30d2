//! Repository of disclosures required by law (`legal_disclosures`) and the accounts each
//! concerns (`legal_disclosure_accounts`). Free text arrives sealed under the system key;
//! a decision is one conditional update on the status it was read in, and the notices to
//! the people concerned are queued in the transaction whose compare-and-set on
//! `notice_queued_at` marks the disclosure told, so each person is told once however many
//! instances try.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};
use uuid::Uuid;

use crate::entity::{legal_disclosure, legal_disclosure_account, notification};
use crate::outbox::queued_row;
use crate::{Store, StoreError};

/// The status of an approved disclosure, as stored.
const APPROVED: &str = "APPROVED";

/// A disclosure request as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct LegalDisclosureRecord {
    /// Its id.
    pub id: Uuid,
    /// The authority's name, sealed.
    pub authority_name_sealed: Vec<u8>,
    /// The authority's type (`COURT`, `POLICE`, ...).
    pub authority_type: String,
    /// The legal basis the authority invokes, sealed.
    pub legal_basis_sealed: Vec<u8>,
    /// The authority's reference, sealed.
    pub reference_sealed: Vec<u8>,
    /// The categories of data asked for (names joined by `,`).
    pub categories: String,
    /// When a confidentiality order ends, if one was recorded.
    pub confidential_until: Option<DateTime<Utc>>,
    /// The order's reference, sealed.
    pub confidentiality_reference_sealed: Option<Vec<u8>>,
    /// Where it stands (`RECORDED`, `APPROVED`, `REFUSED`).
    pub status: String,
    /// The DPO who recorded it (a bare account id).
    pub recorded_by: Uuid,
    /// When.
    pub recorded_at: DateTime<Utc>,
    /// The administrator who decided (a bare account id).
    pub decided_by: Option<Uuid>,
    /// When.
    pub decided_at: Option<DateTime<Utc>>,
    /// Why it was refused, sealed.
    pub refusal_reason_sealed: Option<Vec<u8>>,
    /// When the people concerned were told.
    pub notice_queued_at: Option<DateTime<Utc>>,
    /// The accounts it concerns.
    pub accounts: Vec<Uuid>,
}

impl std::fmt::Debug for LegalDisclosureRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LegalDisclosureRecord")
            .field("id", &self.id)
            .field("authority_type", &self.authority_type)
            .field("status", &self.status)
            .field("recorded_at", &self.recorded_at)
            .finish_non_exhaustive()
    }
}

impl LegalDisclosureRecord {
    fn from_row(row: legal_disclosure::Model, accounts: Vec<Uuid>) -> Self {
        Self {
            id: row.id,
            authority_name_sealed: row.authority_name_sealed,
            authority_type: row.authority_type,
            legal_basis_sealed: row.legal_basis_sealed,
            reference_sealed: row.reference_sealed,
            categories: row.categories,
            confidential_until: row.confidential_until,
            confidentiality_reference_sealed: row.confidentiality_reference_sealed,
            status: row.status,
            recorded_by: row.recorded_by,
            recorded_at: row.recorded_at,
            decided_by: row.decided_by,
            decided_at: row.decided_at,
            refusal_reason_sealed: row.refusal_reason_sealed,
            notice_queued_at: row.notice_queued_at,
            accounts,
        }
    }
}

/// A decision to apply.
#[derive(Clone)]
pub struct LegalDisclosureDecision<'a> {
    /// The statuses it is allowed from.
    pub from: &'a [&'a str],
    /// The status it leads to.
    pub to: &'a str,
    /// The administrator deciding.
    pub by: Uuid,
    /// When.
    pub at: DateTime<Utc>,
    /// The reason of a refusal, sealed.
    pub refusal_reason_sealed: Option<Vec<u8>>,
}

/// A notice to queue for one of the people a disclosure concerns.
#[derive(Clone, PartialEq, Eq)]
pub struct DisclosureNotice {
    /// The outbox id.
    pub id: Uuid,
    /// The account told.
    pub account: Uuid,
    /// The notification's kind.
    pub kind: String,
    /// Its payload, sealed under the account's key.
    pub payload_sealed: Option<Vec<u8>>,
}

impl std::fmt::Debug for DisclosureNotice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DisclosureNotice")
            .field("id", &self.id)
            .field("account", &self.account)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for LegalDisclosureDecision<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LegalDisclosureDecision")
            .field("from", &self.from)
            .field("to", &self.to)
            .field("by", &self.by)
            .field("at", &self.at)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Stores a disclosure request with the accounts it concerns, in one transaction.
    ///
    /// # Errors
    /// [`StoreError::Duplicate`] when the id is taken.
    pub async fn insert_legal_disclosure(
        &self,
        record: &LegalDisclosureRecord,
    ) -> Result<(), StoreError> {
        let txn = self.db.begin().await.map_err(StoreError::Query)?;
        legal_disclosure::Entity::insert(legal_disclosure::ActiveModel {
            id: Set(record.id),
            authority_name_sealed: Set(record.authority_name_sealed.clone()),
            authority_type: Set(record.authority_type.clone()),
            legal_basis_sealed: Set(record.legal_basis_sealed.clone()),
            reference_sealed: Set(record.reference_sealed.clone()),
            categories: Set(record.categories.clone()),
            confidential_until: Set(record.confidential_until),
            confidentiality_reference_sealed: Set(record.confidentiality_reference_sealed.clone()),
            status: Set(record.status.clone()),
            recorded_by: Set(record.recorded_by),
            recorded_at: Set(record.recorded_at),
            decided_by: Set(record.decided_by),
            decided_at: Set(record.decided_at),
            refusal_reason_sealed: Set(record.refusal_reason_sealed.clone()),
            notice_queued_at: Set(record.notice_queued_at),
        })
        .exec_without_returning(&txn)
        .await
        .map_err(StoreError::from_insert)?;
        for chunk in record.accounts.chunks(500) {
            legal_disclosure_account::Entity::insert_many(chunk.iter().map(|account| {
                legal_disclosure_account::ActiveModel {
                    disclosure_id: Set(record.id),
                    account_id: Set(*account),
                }
            }))
            .exec_without_returning(&txn)
            .await
            .map_err(StoreError::from_insert)?;
        }
        txn.commit().await.map_err(StoreError::Query)
    }

    /// The disclosure request `id`, if there is one.
    pub async fn legal_disclosure(
        &self,
        id: Uuid,
    ) -> Result<Option<LegalDisclosureRecord>, StoreError> {
        Ok(self
            .disclosures_where(Condition::all().add(legal_disclosure::Column::Id.eq(id)))
            .await?
            .pop())
    }

    /// Every disclosure request, newest first.
    pub async fn legal_disclosures(&self) -> Result<Vec<LegalDisclosureRecord>, StoreError> {
        self.disclosures_where(Condition::all()).await
    }

    /// The disclosure requests concerning `account`, newest first, whatever their status
    /// (callers decide what may be shown).
    pub async fn legal_disclosures_of(
        &self,
        account: Uuid,
    ) -> Result<Vec<LegalDisclosureRecord>, StoreError> {
        let ids: Vec<Uuid> = legal_disclosure_account::Entity::find()
            .select_only()
            .column(legal_disclosure_account::Column::DisclosureId)
            .filter(legal_disclosure_account::Column::AccountId.eq(account))
            .into_tuple()
            .all(&self.db)
            .await
            .map_err(StoreError::Query)?;
        let mut found = Vec::new();
        for chunk in ids.chunks(500) {
            found.extend(
                self.disclosures_where(
                    Condition::all().add(legal_disclosure::Column::Id.is_in(chunk.iter().copied())),
                )
                .await?,
            );
        }
        found.sort_by_key(|record| std::cmp::Reverse((record.recorded_at, record.id)));
        Ok(found)
    }

    /// Applies `decision` to request `id`: one conditional update on the statuses it is
    /// allowed from. Returns `false`, changing nothing, when the request is in none of them
    /// (any more): of two concurrent decisions, one wins.
    pub async fn decide_legal_disclosure(
        &self,
        id: Uuid,
        decision: LegalDisclosureDecision<'_>,
    ) -> Result<bool, StoreError> {
        let updated = legal_disclosure::Entity::update_many()
            .col_expr(legal_disclosure::Column::Status, Expr::value(decision.to))
            .col_expr(
                legal_disclosure::Column::DecidedBy,
                Expr::value(decision.by),
            )
            .col_expr(
                legal_disclosure::Column::DecidedAt,
                Expr::value(decision.at),
            )
            .col_expr(
                legal_disclosure::Column::RefusalReasonSealed,
                Expr::value(decision.refusal_reason_sealed),
            )
            .filter(legal_disclosure::Column::Id.eq(id))
            .filter(legal_disclosure::Column::Status.is_in(decision.from.iter().copied()))
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?;
        Ok(updated.rows_affected == 1)
    }

    /// The approved disclosures whose people have not been told and whose confidentiality
    /// order (if any) ended at or before `now`: what the notice task tells.
    pub async fn legal_disclosures_to_tell(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<LegalDisclosureRecord>, StoreError> {
        self.disclosures_where(
            Condition::all()
                .add(legal_disclosure::Column::Status.eq(APPROVED))
                .add(legal_disclosure::Column::NoticeQueuedAt.is_null())
                .add(
                    Condition::any()
                        .add(legal_disclosure::Column::ConfidentialUntil.is_null())
                        .add(legal_disclosure::Column::ConfidentialUntil.lte(now)),
                ),
        )
        .await
    }

    /// Marks approved disclosure `id` told at `at` and queues `notices`, in one
    /// transaction. Returns `false`, queueing nothing, when it was told already (or is not
    /// approved): a compare-and-set on `notice_queued_at`.
    pub async fn queue_legal_disclosure_notices(
        &self,
        id: Uuid,
        at: DateTime<Utc>,
        notices: &[DisclosureNotice],
    ) -> Result<bool, StoreError> {
        let txn = self.db.begin().await.map_err(StoreError::Query)?;
        let marked = legal_disclosure::Entity::update_many()
            .col_expr(legal_disclosure::Column::NoticeQueuedAt, Expr::value(at))
            .filter(legal_disclosure::Column::Id.eq(id))
            .filter(legal_disclosure::Column::Status.eq(APPROVED))
            .filter(legal_disclosure::Column::NoticeQueuedAt.is_null())
            .exec(&txn)
            .await
            .map_err(StoreError::Query)?;
        if marked.rows_affected != 1 {
            txn.rollback().await.map_err(StoreError::Query)?;
            return Ok(false);
        }
        for notice in notices {
            notification::Entity::insert(notification::ActiveModel {
                account_id: Set(Some(notice.account)),
                payload_sealed: Set(notice.payload_sealed.clone()),
                ..queued_row(notice.id, notice.kind.clone(), at)
            })
            .exec_without_returning(&txn)
            .await
            .map_err(StoreError::from_insert)?;
        }
        txn.commit().await.map_err(StoreError::Query)?;
        Ok(true)
    }

    /// The approval time and authority type of every disclosure approved at or after
    /// `since`: what the transparency report counts.
    pub async fn approved_legal_disclosures_since(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, String)>, StoreError> {
        let rows: Vec<(Option<DateTime<Utc>>, String)> = legal_disclosure::Entity::find()
            .select_only()
            .column(legal_disclosure::Column::DecidedAt)
            .column(legal_disclosure::Column::AuthorityType)
            .filter(legal_disclosure::Column::Status.eq(APPROVED))
            .filter(legal_disclosure::Column::DecidedAt.gte(since))
            .into_tuple()
            .all(&self.db)
            .await
            .map_err(StoreError::Query)?;
        Ok(rows
            .into_iter()
            .filter_map(|(at, authority)| Some((at?, authority)))
            .collect())
    }

    async fn disclosures_where(
        &self,
        condition: Condition,
    ) -> Result<Vec<LegalDisclosureRecord>, StoreError> {
        let rows = legal_disclosure::Entity::find()
            .filter(condition)
            .order_by_desc(legal_disclosure::Column::RecordedAt)
            .order_by_desc(legal_disclosure::Column::Id)
            .all(&self.db)
            .await
            .map_err(StoreError::Query)?;
        let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
        let mut accounts: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        for chunk in ids.chunks(500) {
            let links: Vec<(Uuid, Uuid)> = legal_disclosure_account::Entity::find()
                .select_only()
                .column(legal_disclosure_account::Column::DisclosureId)
                .column(legal_disclosure_account::Column::AccountId)
                .filter(legal_disclosure_account::Column::DisclosureId.is_in(chunk.iter().copied()))
                .order_by_asc(legal_disclosure_account::Column::AccountId)
                .into_tuple()
                .all(&self.db)
                .await
                .map_err(StoreError::Query)?;
            for (disclosure, account) in links {
                accounts.entry(disclosure).or_default().push(account);
            }
        }
        Ok(rows
            .into_iter()
            .map(|row| {
                let linked = accounts.remove(&row.id).unwrap_or_default();
                LegalDisclosureRecord::from_row(row, linked)
            })
            .collect())
    }
}

//! Repositories for data subject requests (`data_requests`), their history
//! (`data_request_events`) and the sealed export bundles (`data_exports`, their pieces in
//! `data_export_chunks`).
//!
//! A request and its first history entry are written in one transaction; so is every
//! transition with its entry. A transition is a compare-and-set: `UPDATE ... WHERE id = ?
//! AND status = <the status it was read in>`, so of two concurrent changes (two DPO staff,
//! a job and a DPO) exactly one takes effect and the other is told it lost. A download link
//! is spent by one conditional statement too (`download_used_at IS NULL AND
//! download_expires_at > now`). An export request is admitted in one transaction that
//! first locks the account's row: no erasure pending, no export open, and fewer than core's
//! `EXPORTS_PER_WINDOW` asked for in the window — so concurrent requests (aliases of one
//! document, or many connections) leave one open export.
//!
//! A bundle is stored as chunks, each sealed on its own by the gateway, written as the
//! export job produces them and read one at a time on download: neither side holds a
//! whole bundle.

use chrono::{DateTime, Utc};
use icecone_core::rights::{DataRequestKind, DataRequestStatus, EXPORT_WINDOW, next_export_at};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    TransactionTrait,
};
use uuid::Uuid;

use crate::convert::bytes32_from_db;
use crate::entity::{data_export, data_export_chunk, data_request, data_request_event};
use crate::{Store, StoreError};

/// A data request as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct DataRequestRecord {
    /// Its id.
    pub id: Uuid,
    /// The person's account.
    pub account: Uuid,
    /// Which right.
    pub kind: DataRequestKind,
    /// Where it stands.
    pub status: DataRequestStatus,
    /// When it was received.
    pub received_at: DateTime<Utc>,
    /// When it is due (one month after receipt).
    pub due_at: DateTime<Utc>,
    /// The extended due date, once extended.
    pub extended_due_at: Option<DateTime<Utc>>,
    /// The extension's reason, sealed under the account's data key.
    pub extension_reason_sealed: Option<Vec<u8>>,
    /// When it was completed.
    pub completed_at: Option<DateTime<Utc>>,
    /// The SHA-256 digest of the export's download token.
    pub download_digest: Option<[u8; 32]>,
    /// When the download link expires.
    pub download_expires_at: Option<DateTime<Utc>>,
    /// When the download link was used.
    pub download_used_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for DataRequestRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataRequestRecord")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("status", &self.status)
            .field("due_at", &self.due_at)
            .field("extended_due_at", &self.extended_due_at)
            .finish_non_exhaustive()
    }
}

impl TryFrom<data_request::Model> for DataRequestRecord {
    type Error = StoreError;

    fn try_from(row: data_request::Model) -> Result<Self, StoreError> {
        Ok(Self {
            id: row.id,
            account: row.account_id,
            kind: DataRequestKind::parse(&row.kind)
                .ok_or(StoreError::OutOfRange("data request kind"))?,
            status: status_from_db(&row.status)?,
            received_at: row.received_at,
            due_at: row.due_at,
            extended_due_at: row.extended_due_at,
            extension_reason_sealed: row.extension_reason_sealed,
            completed_at: row.completed_at,
            download_digest: row
                .download_digest
                .map(|digest| bytes32_from_db(digest, "download digest"))
                .transpose()?,
            download_expires_at: row.download_expires_at,
            download_used_at: row.download_used_at,
        })
    }
}

fn status_from_db(value: &str) -> Result<DataRequestStatus, StoreError> {
    DataRequestStatus::parse(value).ok_or(StoreError::OutOfRange("data request status"))
}

/// A request to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDataRequest {
    /// Its id.
    pub id: Uuid,
    /// The person's account.
    pub account: Uuid,
    /// Which right.
    pub kind: DataRequestKind,
    /// Its first status (`RECEIVED`, or `COMPLETED` for a right that takes effect at once).
    pub status: DataRequestStatus,
    /// When it was received.
    pub received_at: DateTime<Utc>,
    /// When it is due.
    pub due_at: DateTime<Utc>,
}

/// One entry of a request's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataRequestEvent {
    /// When.
    pub at: DateTime<Utc>,
    /// The status before (`None` for its receipt).
    pub from: Option<DataRequestStatus>,
    /// The status after.
    pub to: DataRequestStatus,
    /// Who: `subject`, `staff:<uuid>` or `system`, at most 64 bytes.
    pub actor: String,
    /// A note code (`export_ready`, `extended`, `denied`, ...), never free text.
    pub note_code: Option<String>,
}

/// A change of a request's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition<'a> {
    /// The status the caller read the request in.
    pub from: DataRequestStatus,
    /// The status it moves to.
    pub to: DataRequestStatus,
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub actor: &'a str,
    /// Why, as a code.
    pub note_code: Option<&'a str>,
}

/// A completed export bundle — its chunks stored already ([`Store::store_export_chunk`]) —
/// and how its download link is found.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedExport {
    /// How many chunks the bundle has.
    pub chunks: u32,
    /// The SHA-256 digest of the download token.
    pub download_digest: [u8; 32],
    /// When the link (and the stored bundle) expires.
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for SealedExport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedExport")
            .field("chunks", &self.chunks)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A stored bundle whose download link was just spent.
#[derive(Clone, PartialEq, Eq)]
pub enum StoredExport {
    /// Sealed whole (made before bundles were chunked); taken out of the store.
    Whole(Vec<u8>),
    /// In this many chunks ([`Store::export_chunk`]), deleted by [`Store::delete_export`]
    /// once downloaded (or by the purge).
    Chunked(u32),
}

impl std::fmt::Debug for StoredExport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Whole(sealed) => write!(f, "Whole({} bytes)", sealed.len()),
            Self::Chunked(chunks) => write!(f, "Chunked({chunks})"),
        }
    }
}

/// What became of an export request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportAdmission {
    /// Stored, with its job.
    Queued,
    /// Refused: an erasure of the account is pending.
    ErasurePending,
    /// Not stored: this export request of the account is open already.
    AlreadyOpen(Uuid),
    /// Refused: the account asked for as many exports as a window allows; the next may be
    /// asked for at this time.
    Limited(DateTime<Utc>),
}

async fn insert_event(
    db: &impl ConnectionTrait,
    request: Uuid,
    event: &DataRequestEvent,
) -> Result<(), StoreError> {
    data_request_event::Entity::insert(data_request_event::ActiveModel {
        id: Set(Uuid::new_v4()),
        request_id: Set(request),
        at: Set(event.at),
        from_status: Set(event.from.map(|status| status.as_str().to_owned())),
        to_status: Set(event.to.as_str().to_owned()),
        actor: Set(event.actor.clone()),
        note_code: Set(event.note_code.clone()),
    })
    .exec_without_returning(db)
    .await
    .map_err(StoreError::from_insert)?;
    Ok(())
}

/// The compare-and-set of a transition, with its history entry, in `txn`; whether it won.
async fn apply(
    txn: &sea_orm::DatabaseTransaction,
    id: Uuid,
    transition: &Transition<'_>,
    update: sea_orm::UpdateMany<data_request::Entity>,
) -> Result<bool, StoreError> {
    let result = update
        .col_expr(
            data_request::Column::Status,
            Expr::value(transition.to.as_str()),
        )
        .col_expr(data_request::Column::UpdatedAt, Expr::value(transition.at))
        .filter(data_request::Column::Id.eq(id))
        .filter(data_request::Column::Status.eq(transition.from.as_str()))
        .exec(txn)
        .await
        .map_err(StoreError::Query)?;
    if result.rows_affected != 1 {
        return Ok(false);
    }
    insert_event(
        txn,
        id,
        &DataRequestEvent {
            at: transition.at,
            from: Some(transition.from),
            to: transition.to,
            actor: transition.actor.to_owned(),
            note_code: transition.note_code.map(str::to_owned),
        },
    )
    .await?;
    Ok(true)
}

impl Store {
    /// Stores a request with its first history entry (`actor`, `note_code`).
    ///
    /// # Errors
    /// [`StoreError::Duplicate`] when the id is taken.
    pub async fn insert_data_request(
        &self,
        new: &NewDataRequest,
        actor: &str,
        note_code: Option<&str>,
    ) -> Result<(), StoreError> {
        let txn = self.db.begin().await.map_err(StoreError::Query)?;
        insert_request(&txn, new).await?;
        insert_event(
            &txn,
            new.id,
            &DataRequestEvent {
                at: new.received_at,
                from: None,
                to: new.status,
                actor: actor.to_owned(),
                note_code: note_code.map(str::to_owned),
            },
        )
        .await?;
        txn.commit().await.map_err(StoreError::Query)
    }

    /// Stores the export request `new` (`RECEIVED`) with its first history entry and the
    /// `job` that builds it — unless an erasure of the account is pending, an export of the
    /// account is open already (then nothing is stored and that one is named), or the
    /// account asked for as many exports as core's `next_export_at` allows in the window
    /// ending at `new.received_at`. One transaction, which first locks the account's row as
    /// a deletion request does: concurrent requests are decided one after the other, and
    /// there is never a request waiting for a job that was not queued.
    pub async fn insert_export_request(
        &self,
        new: &NewDataRequest,
        actor: &str,
        job: &crate::jobs::NewJob,
    ) -> Result<ExportAdmission, StoreError> {
        let txn = self.db.begin().await.map_err(StoreError::Query)?;
        crate::erasure::lock_account(&txn, new.account).await?;
        if crate::erasure::open_deletion(&txn, new.account)
            .await?
            .is_some()
        {
            return Ok(ExportAdmission::ErasurePending);
        }
        let of_account = |kinds: &[DataRequestKind]| {
            data_request::Entity::find()
                .filter(data_request::Column::AccountId.eq(new.account))
                .filter(data_request::Column::Kind.is_in(kinds.iter().map(|kind| kind.as_str())))
        };
        let blocking = of_account(&[DataRequestKind::Erasure, DataRequestKind::Export])
            .filter(
                data_request::Column::Status
                    .is_in(DataRequestStatus::OPEN.iter().map(|status| status.as_str())),
            )
            .order_by_asc(data_request::Column::ReceivedAt)
            .all(&txn)
            .await
            .map_err(StoreError::Query)?;
        if blocking
            .iter()
            .any(|open| open.kind == DataRequestKind::Erasure.as_str())
        {
            return Ok(ExportAdmission::ErasurePending);
        }
        if let Some(open) = blocking.first() {
            return Ok(ExportAdmission::AlreadyOpen(open.id));
        }
        let received: Vec<DateTime<Utc>> = of_account(&[DataRequestKind::Export])
            .filter(data_request::Column::ReceivedAt.gt(new.received_at - EXPORT_WINDOW))
            .all(&txn)
            .await
            .map_err(StoreError::Query)?
            .into_iter()
            .map(|request| request.received_at)
            .collect();
        if let Some(next) = next_export_at(&received, new.received_at) {
            return Ok(ExportAdmission::Limited(next));
        }
        insert_request(&txn, new).await?;
        insert_event(
            &txn,
            new.id,
            &DataRequestEvent {
                at: new.received_at,
                from: None,
                to: new.status,
                actor: actor.to_owned(),
                note_code: None,
            },
        )
        .await?;
        crate::entity::job::Entity::insert(crate::jobs::active_model(job, new.received_at)?)
            .exec_without_returning(&txn)
            .await
            .map_err(StoreError::from_insert)?;
        txn.commit().await.map_err(StoreError::Query)?;
        Ok(ExportAdmission::Queued)
    }

    /// The request `id`, whoever's it is (for staff and jobs).
    pub async fn data_request(&self, id: Uuid) -> Result<Option<DataRequestRecord>, StoreError> {
        data_request::Entity::find_by_id(id)
            .one(&self.db)
            .await
            .map_err(StoreError::Query)?
            .map(DataRequestRecord::try_from)
            .transpose()
    }

    /// The account's requests, newest first.
    pub async fn data_requests_of(
        &self,
        account: Uuid,
    ) -> Result<Vec<DataRequestRecord>, StoreError> {
        data_request::Entity::find()
            .filter(data_request::Column::AccountId.eq(account))
            .order_by_desc(data_request::Column::ReceivedAt)
            .order_by_desc(data_request::Column::Id)
            .all(&self.db)
            .await
            .map_err(StoreError::Query)?
            .into_iter()
            .map(DataRequestRecord::try_from)
            .collect()
    }

    /// Everyone's requests in `status` (all when `None`), the earliest due first.
    pub async fn data_requests_in(
        &self,
        status: Option<DataRequestStatus>,
    ) -> Result<Vec<DataRequestRecord>, StoreError> {
        let mut query = data_request::Entity::find();
        if let Some(status) = status {
            query = query.filter(data_request::Column::Status.eq(status.as_str()));
        }
        query
            .order_by_asc(data_request::Column::DueAt)
            .order_by_asc(data_request::Column::Id)
            .all(&self.db)
            .await
            .map_err(StoreError::Query)?
            .into_iter()
            .map(DataRequestRecord::try_from)
            .collect()
    }

    /// The request's history, oldest first.
    pub async fn data_request_events(
        &self,
        request: Uuid,
    ) -> Result<Vec<DataRequestEvent>, StoreError> {
        data_request_event::Entity::find()
            .filter(data_request_event::Column::RequestId.eq(request))
            .order_by_asc(data_request_event::Column::At)
            .order_by_asc(data_request_event::Column::Id)
            .all(&self.db)
            .await
            .map_err(StoreError::Query)?
            .into_iter()
            .map(|row| {
                Ok(DataRequestEvent {
                    at: row.at,
                    from: row.from_status.as_deref().map(status_from_db).transpose()?,
                    to: status_from_db(&row.to_status)?,
                    actor: row.actor,
                    note_code: row.note_code,
                })
            })
            .collect()
    }

    /// Moves request `id` from `transition.from` to `transition.to` (setting `completed_at`
    /// when it becomes final) and records it in its history; `false` when the request is
    /// no longer in `from` (someone else changed it first) — then nothing changed.
    pub async fn transition_data_request(
        &self,
        id: Uuid,
        transition: &Transition<'_>,
    ) -> Result<bool, StoreError> {
        let txn = self.db.begin().await.map_err(StoreError::Query)?;
        let mut update = data_request::Entity::update_many();
        if matches!(
            transition.to,
            DataRequestStatus::Completed | DataRequestStatus::Denied | DataRequestStatus::Cancelled
        ) {
            update = update.col_expr(
                data_request::Column::CompletedAt,
                Expr::value(transition.at),
            );
        }
        let won = apply(&txn, id, transition, update).await?;
        if won {
            txn.commit().await.map_err(StoreError::Query)?;
        }
        Ok(won)
    }

    /// Extends request `id` to `extended_due_at` with its sealed reason — once: refused
    /// (`false`) when it was extended before or is no longer in `transition.from`.
    pub async fn extend_data_request(
        &self,
        id: Uuid,
        transition: &Transition<'_>,
        extended_due_at: DateTime<Utc>,
        reason_sealed: Vec<u8>,
    ) -> Result<bool, StoreError> {
        let txn = self.db.begin().await.map_err(StoreError::Query)?;
        let update = data_request::Entity::update_many()
            .col_expr(
                data_request::Column::ExtendedDueAt,
                Expr::value(extended_due_at),
            )
            .col_expr(
                data_request::Column::ExtensionReasonSealed,
                Expr::value(reason_sealed),
            )
            .filter(data_request::Column::ExtendedDueAt.is_null());
        let won = apply(&txn, id, transition, update).await?;
        if won {
            txn.commit().await.map_err(StoreError::Query)?;
        }
        Ok(won)
    }

    /// Completes export request `id` with its sealed bundle and download link, in one
    /// transaction; `false` when it is no longer in `transition.from`.
    pub async fn complete_export(
        &self,
        id: Uuid,
        transition: &Transition<'_>,
        export: SealedExport,
    ) -> Result<bool, StoreError> {
        let txn = self.db.begin().await.map_err(StoreError::Query)?;
        let Some(request) = data_request::Entity::find_by_id(id)
            .one(&txn)
            .await
            .map_err(StoreError::Query)?
        else {
            return Ok(false);
        };
        let update = data_request::Entity::update_many()
            .col_expr(
                data_request::Column::CompletedAt,
                Expr::value(transition.at),
            )
            .col_expr(
                data_request::Column::DownloadDigest,
                Expr::value(export.download_digest.to_vec()),
            )
            .col_expr(
                data_request::Column::DownloadExpiresAt,
                Expr::value(export.expires_at),
            );
        if !apply(&txn, id, transition, update).await? {
            return Ok(false);
        }
        let chunks =
            i32::try_from(export.chunks).map_err(|_| StoreError::OutOfRange("export chunks"))?;
        data_export::Entity::insert(data_export::ActiveModel {
            request_id: Set(id),
            account_id: Set(request.account_id),
            sealed: Set(Vec::new()),
            created_at: Set(transition.at),
            expires_at: Set(export.expires_at),
            chunks: Set(Some(chunks)),
        })
        .exec_without_returning(&txn)
        .await
        .map_err(StoreError::from_insert)?;
        txn.commit().await.map_err(StoreError::Query)?;
        Ok(true)
    }

    /// The request whose download token has this digest, whoever's it is.
    pub async fn data_request_by_download(
        &self,
        digest: &[u8; 32],
    ) -> Result<Option<DataRequestRecord>, StoreError> {
        data_request::Entity::find()
            .filter(data_request::Column::DownloadDigest.eq(digest.to_vec()))
            .one(&self.db)
            .await
            .map_err(StoreError::Query)?
            .map(DataRequestRecord::try_from)
            .transpose()
    }

    /// Spends the download link of `account`'s request `id` at `now`: one conditional
    /// update (unused, unexpired, the owner's), in a transaction that then reads the stored
    /// bundle — taking a whole one out of the store; a chunked one stays until
    /// [`Store::delete_export`], which the download calls when it ends. `None` when the
    /// link was used, expired, is someone else's, or its bundle is gone.
    pub async fn take_export(
        &self,
        account: Uuid,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Option<StoredExport>, StoreError> {
        let txn = self.db.begin().await.map_err(StoreError::Query)?;
        let spent = data_request::Entity::update_many()
            .col_expr(data_request::Column::DownloadUsedAt, Expr::value(now))
            .col_expr(data_request::Column::UpdatedAt, Expr::value(now))
            .filter(data_request::Column::Id.eq(id))
            .filter(data_request::Column::AccountId.eq(account))
            .filter(data_request::Column::DownloadUsedAt.is_null())
            .filter(data_request::Column::DownloadExpiresAt.gt(now))
            .exec(&txn)
            .await
            .map_err(StoreError::Query)?;
        if spent.rows_affected != 1 {
            return Ok(None);
        }
        let Some(export) = data_export::Entity::find_by_id(id)
            .filter(data_export::Column::AccountId.eq(account))
            .one(&txn)
            .await
            .map_err(StoreError::Query)?
        else {
            return Ok(None);
        };
        let stored = match export.chunks {
            Some(chunks) => StoredExport::Chunked(
                u32::try_from(chunks).map_err(|_| StoreError::OutOfRange("export chunks"))?,
            ),
            None => {
                data_export::Entity::delete_by_id(id)
                    .exec(&txn)
                    .await
                    .map_err(StoreError::Query)?;
                StoredExport::Whole(export.sealed)
            }
        };
        txn.commit().await.map_err(StoreError::Query)?;
        Ok(Some(stored))
    }

    /// Stores chunk `seq` of the bundle of `account`'s export request `request`.
    pub async fn store_export_chunk(
        &self,
        request: Uuid,
        account: Uuid,
        seq: u32,
        sealed: Vec<u8>,
    ) -> Result<(), StoreError> {
        data_export_chunk::Entity::insert(data_export_chunk::ActiveModel {
            request_id: Set(request),
            seq: Set(i32::try_from(seq).map_err(|_| StoreError::OutOfRange("export chunk"))?),
            account_id: Set(account),
            sealed: Set(sealed),
        })
        .exec_without_returning(&self.db)
        .await
        .map_err(StoreError::from_insert)?;
        Ok(())
    }

    /// Chunk `seq` of the bundle of `account`'s export request `request`.
    pub async fn export_chunk(
        &self,
        account: Uuid,
        request: Uuid,
        seq: u32,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let seq = i32::try_from(seq).map_err(|_| StoreError::OutOfRange("export chunk"))?;
        Ok(data_export_chunk::Entity::find_by_id((request, seq))
            .filter(data_export_chunk::Column::AccountId.eq(account))
            .one(&self.db)
            .await
            .map_err(StoreError::Query)?
            .map(|chunk| chunk.sealed))
    }

    /// Deletes the chunks stored for request `request` (a build that starts again, or one
    /// given up); returns how many.
    pub async fn delete_export_chunks(&self, request: Uuid) -> Result<u64, StoreError> {
        Ok(data_export_chunk::Entity::delete_many()
            .filter(data_export_chunk::Column::RequestId.eq(request))
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?
            .rows_affected)
    }

    /// Deletes the stored bundle of request `request`, chunks and all (once downloaded).
    pub async fn delete_export(&self, request: Uuid) -> Result<(), StoreError> {
        let txn = self.db.begin().await.map_err(StoreError::Query)?;
        data_export_chunk::Entity::delete_many()
            .filter(data_export_chunk::Column::RequestId.eq(request))
            .exec(&txn)
            .await
            .map_err(StoreError::Query)?;
        data_export::Entity::delete_by_id(request)
            .exec(&txn)
            .await
            .map_err(StoreError::Query)?;
        txn.commit().await.map_err(StoreError::Query)
    }

    /// Whether anything of the bundle of request `id` is still stored (its row or a chunk).
    pub async fn export_stored(&self, id: Uuid) -> Result<bool, StoreError> {
        let row = data_export::Entity::find_by_id(id)
            .one(&self.db)
            .await
            .map_err(StoreError::Query)?;
        let chunk = data_export_chunk::Entity::find()
            .filter(data_export_chunk::Column::RequestId.eq(id))
            .one(&self.db)
            .await
            .map_err(StoreError::Query)?;
        Ok(row.is_some() || chunk.is_some())
    }

    /// Moves request `id`'s receipt and due date to other times (tests make a request
    /// overdue with it); returns whether it exists.
    #[cfg(feature = "testing")]
    pub async fn backdate_data_request(
        &self,
        id: Uuid,
        received_at: DateTime<Utc>,
        due_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = data_request::Entity::update_many()
            .col_expr(data_request::Column::ReceivedAt, Expr::value(received_at))
            .col_expr(data_request::Column::DueAt, Expr::value(due_at))
            .filter(data_request::Column::Id.eq(id))
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?;
        Ok(result.rows_affected == 1)
    }

    /// Deletes every stored export bundle whose link expired by `now`, with its chunks, and
    /// the chunks of builds that never completed (their request closed without a bundle);
    /// returns how many bundles.
    pub async fn purge_expired_exports(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let txn = self.db.begin().await.map_err(StoreError::Query)?;
        let expired = sea_orm::sea_query::Query::select()
            .column(data_export::Column::RequestId)
            .from(data_export::Entity)
            .and_where(data_export::Column::ExpiresAt.lte(now))
            .to_owned();
        data_export_chunk::Entity::delete_many()
            .filter(data_export_chunk::Column::RequestId.in_subquery(expired))
            .exec(&txn)
            .await
            .map_err(StoreError::Query)?;
        let result = data_export::Entity::delete_many()
            .filter(data_export::Column::ExpiresAt.lte(now))
            .exec(&txn)
            .await
            .map_err(StoreError::Query)?;
        let bundled = sea_orm::sea_query::Query::select()
            .column(data_export::Column::RequestId)
            .from(data_export::Entity)
            .to_owned();
        let open = sea_orm::sea_query::Query::select()
            .column(data_request::Column::Id)
            .from(data_request::Entity)
            .and_where(
                data_request::Column::Status
                    .is_in(DataRequestStatus::OPEN.iter().map(|status| status.as_str())),
            )
            .to_owned();
        data_export_chunk::Entity::delete_many()
            .filter(data_export_chunk::Column::RequestId.not_in_subquery(bundled))
            .filter(data_export_chunk::Column::RequestId.not_in_subquery(open))
            .exec(&txn)
            .await
            .map_err(StoreError::Query)?;
        txn.commit().await.map_err(StoreError::Query)?;
        Ok(result.rows_affected)
    }
}

async fn insert_request(db: &impl ConnectionTrait, new: &NewDataRequest) -> Result<(), StoreError> {
    let completed = !new.status.is_open();
    data_request::Entity::insert(data_request::ActiveModel {
        id: Set(new.id),
        account_id: Set(new.account),
        kind: Set(new.kind.as_str().to_owned()),
        status: Set(new.status.as_str().to_owned()),
        received_at: Set(new.received_at),
        due_at: Set(new.due_at),
        extended_due_at: Set(None),
        extension_reason_sealed: Set(None),
        completed_at: Set(completed.then_some(new.received_at)),
        download_digest: Set(None),
        download_expires_at: Set(None),
        download_used_at: Set(None),
        created_at: Set(new.received_at),
        updated_at: Set(new.received_at),
    })
    .exec_without_returning(db)
    .await
    .map_err(StoreError::from_insert)?;
    Ok(())
}

//! Repositories of erasure (Art. 17): account deletion requests, legal holds, the erasure
//! itself — every row of a person deleted in one transaction, table by table as the
//! [`personal_data`](crate::personal_data) registry lists them — the tombstone it leaves and
//! the provider copies DPO staff must follow up.

use chrono::{DateTime, Utc};
use icecone_core::generation::RemoteCopy;
use icecone_core::provider::ProviderId;
use icecone_core::subject::SubjectId;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};
use uuid::Uuid;

use crate::attempts::{self, email_bucket};
use crate::convert::provider_from_db;
use crate::entity::{
    account, account_deletion, erasure_followup, erasure_tombstone, generation, job, legal_hold,
};
use crate::generations::remote_copy_to_db;
use crate::jobs::NewJob;
use crate::personal_data::{Entry, Erase, Owner, REGISTRY};
use crate::{Backend, Store, StoreError};

/// How often an erasure asks SQLite to checkpoint before giving up (100 ms apart, each
/// after SQLite's own busy timeout).
const CHECKPOINT_ATTEMPTS: usize = 20;

/// Where an account deletion request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeletionState {
    /// Waiting for the end of the grace period.
    Pending,
    /// Due, but a legal hold keeps it from running.
    Held,
    /// The erasure job is running.
    Running,
    /// Cancelled by the person within the grace period.
    Cancelled,
}

impl DeletionState {
    fn to_db(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Held => "held",
            Self::Running => "running",
            Self::Cancelled => "cancelled",
        }
    }

    fn from_db(value: &str) -> Result<Self, StoreError> {
        match value {
            "pending" => Ok(Self::Pending),
            "held" => Ok(Self::Held),
            "running" => Ok(Self::Running),
            "cancelled" => Ok(Self::Cancelled),
            _ => Err(StoreError::OutOfRange("account deletion state")),
        }
    }
}

/// An account deletion request as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountDeletion {
    /// Its id (the id the person is shown, and the tombstone's id once erased).
    pub id: Uuid,
    /// The account to delete.
    pub account: Uuid,
    /// Where it stands.
    pub state: DeletionState,
    /// When it was requested.
    pub requested_at: DateTime<Utc>,
    /// When the erasure runs (the end of the grace period).
    pub runs_at: DateTime<Utc>,
    /// When it was cancelled.
    pub cancelled_at: Option<DateTime<Utc>>,
    /// The job that runs it.
    pub job: Option<Uuid>,
}

/// What cancelling came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelDeletion {
    /// Cancelled; the job that would have run it is returned.
    Cancelled(Option<Uuid>),
    /// There is no open request.
    NoRequest,
    /// The grace period is over: the erasure is running or about to.
    TooLate,
}

/// A legal hold (Art. 17(3)) on an account's erasure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegalHold {
    /// Its id.
    pub id: Uuid,
    /// The account held.
    pub account: Uuid,
    /// The ground, as its stable name (`LEGAL_OBLIGATION`, ...).
    pub ground: String,
    /// The note, sealed under the person's key.
    pub note_sealed: Vec<u8>,
    /// The staff account that set it.
    pub set_by: Uuid,
    /// When.
    pub set_at: DateTime<Utc>,
    /// When it was released.
    pub released_at: Option<DateTime<Utc>>,
}

/// A tombstone: all that is left of an erased account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tombstone {
    /// The pseudonymous id (the deletion request's id).
    pub id: Uuid,
    /// When the erasure was requested.
    pub requested_at: DateTime<Utc>,
    /// When it ran.
    pub erased_at: DateTime<Utc>,
}

/// A provider's copy that could not be deleted, for DPO staff to follow up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErasureFollowup {
    /// The tombstone of the erasure.
    pub tombstone: Uuid,
    /// The provider.
    pub provider: ProviderId,
    /// The provider's reference of the job whose copy remains.
    pub remote_ref: String,
    /// Why the deletion failed, as a code.
    pub error_code: String,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
}

/// A provider's copy of a generation that erasure must ask to delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteCopyToDelete {
    /// The generation.
    pub generation: Uuid,
    /// The provider.
    pub provider: ProviderId,
    /// The provider's job id.
    pub remote_ref: String,
}

fn table(name: &'static str) -> Alias {
    Alias::new(name)
}

fn col(name: &'static str) -> Alias {
    Alias::new(name)
}

impl TryFrom<account_deletion::Model> for AccountDeletion {
    type Error = StoreError;

    fn try_from(row: account_deletion::Model) -> Result<Self, StoreError> {
        Ok(Self {
            id: row.id,
            account: row.account_id,
            state: DeletionState::from_db(&row.state)?,
            requested_at: row.requested_at,
            runs_at: row.runs_at,
            cancelled_at: row.cancelled_at,
            job: row.job_id,
        })
    }
}

impl From<legal_hold::Model> for LegalHold {
    fn from(row: legal_hold::Model) -> Self {
        Self {
            id: row.id,
            account: row.account_id,
            ground: row.ground,
            note_sealed: row.note_sealed,
            set_by: row.set_by,
            set_at: row.set_at,
            released_at: row.released_at,
        }
    }
}

impl TryFrom<erasure_followup::Model> for ErasureFollowup {
    type Error = StoreError;

    fn try_from(row: erasure_followup::Model) -> Result<Self, StoreError> {
        Ok(Self {
            tombstone: row.tombstone_id,
            provider: provider_from_db(&row.provider)?,
            remote_ref: row.remote_ref,
            error_code: row.error_code,
            recorded_at: row.recorded_at,
        })
    }
}

/// An audit actor or target naming `account`.
fn audit_pattern(account: Uuid) -> String {
    format!("%{account}%")
}

/// Whose rows of a registry table are the person's: the condition on the table's
/// columns for `owner`.
fn owned_by(
    owner: Owner,
    account: Uuid,
    subject: Uuid,
    email_bucket: &str,
) -> sea_orm::sea_query::SimpleExpr {
    match owner {
        Owner::Account(column) | Owner::AccountWithStaff { column, .. } => {
            Expr::col(col(column)).eq(account)
        }
        Owner::AccountId => Expr::col(col("id")).eq(account),
        Owner::Subject(column) => Expr::col(col(column)).eq(subject),
        Owner::Through {
            column,
            parent,
            parent_owner,
        } => Expr::col(col(column)).in_subquery(
            Query::select()
                .column(col("id"))
                .from(table(parent))
                .and_where(Expr::col(col(parent_owner)).eq(account))
                .to_owned(),
        ),
        Owner::AttemptBuckets => Expr::col(col("bucket"))
            .eq(email_bucket)
            .or(Expr::col(col("bucket")).like(attempts::account_bucket_pattern(account))),
        Owner::AuditText => Expr::col(col("actor"))
            .like(audit_pattern(account))
            .or(Expr::col(col("target")).like(audit_pattern(account))),
        // Found only by the day's pseudonym, which the application computes: nothing here.
        Owner::DayPseudonym(_) => Expr::cust("1 = 0"),
    }
}

impl Store {
    /// The account's open (not cancelled, not yet erased) deletion request.
    pub async fn open_account_deletion(
        &self,
        account: Uuid,
    ) -> Result<Option<AccountDeletion>, StoreError> {
        open_deletion(&self.db, account).await
    }

    /// The deletion request `id`.
    pub async fn account_deletion(&self, id: Uuid) -> Result<Option<AccountDeletion>, StoreError> {
        account_deletion::Entity::find_by_id(id)
            .one(&self.db)
            .await
            .map_err(StoreError::Query)?
            .map(AccountDeletion::try_from)
            .transpose()
    }

    /// The account's deletion requests (open or cancelled), the latest first.
    pub async fn account_deletions_of(
        &self,
        account: Uuid,
    ) -> Result<Vec<AccountDeletion>, StoreError> {
        account_deletion::Entity::find()
            .filter(account_deletion::Column::AccountId.eq(account))
            .order_by_desc(account_deletion::Column::RequestedAt)
            .order_by_desc(account_deletion::Column::Id)
            .all(&self.db)
            .await
            .map_err(StoreError::Query)?
            .into_iter()
            .map(AccountDeletion::try_from)
            .collect()
    }

    /// Every deletion request not erased yet — open, held, running or cancelled — the
    /// earliest requested first (what DPO staff track beside `data_requests`).
    pub async fn account_deletions(&self) -> Result<Vec<AccountDeletion>, StoreError> {
        account_deletion::Entity::find()
            .order_by_asc(account_deletion::Column::RequestedAt)
            .order_by_asc(account_deletion::Column::Id)
            .all(&self.db)
            .await
            .map_err(StoreError::Query)?
            .into_iter()
            .map(AccountDeletion::try_from)
            .collect()
    }

    /// Records a deletion request and queues `job` to run it, atomically — unless the
    /// account has an open request already: then nothing is written and that one is
    /// returned with `false`. One conditional insert (the unique `open_account`), after
    /// the account's row is locked (see [`lock_account`]) so that an export requested at
    /// the same instant is decided strictly before or after it.
    pub async fn request_account_deletion(
        &self,
        request: &AccountDeletion,
        job: &NewJob,
        now: DateTime<Utc>,
    ) -> Result<(AccountDeletion, bool), StoreError> {
        let txn = self.db.begin().await.map_err(StoreError::Query)?;
        lock_account(&txn, request.account).await?;
        let inserted = account_deletion::Entity::insert(account_deletion::ActiveModel {
            id: Set(request.id),
            account_id: Set(request.account),
            open_account: Set(Some(request.account)),
            state: Set(DeletionState::Pending.to_db().to_owned()),
            requested_at: Set(request.requested_at),
            runs_at: Set(request.runs_at),
            cancelled_at: Set(None),
            job_id: Set(Some(job.id)),
        })
        .on_conflict(
            OnConflict::column(account_deletion::Column::OpenAccount)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await
        .map_err(StoreError::Query)?;
        if inserted == 0 {
            let open = open_deletion(&txn, request.account)
                .await?
                .ok_or(StoreError::Duplicate)?;
            txn.rollback().await.map_err(StoreError::Query)?;
            return Ok((open, false));
        }
        job::Entity::insert(crate::jobs::active_model(job, now)?)
            .exec_without_returning(&txn)
            .await
            .map_err(StoreError::from_insert)?;
        txn.commit().await.map_err(StoreError::Query)?;
        let mut stored = request.clone();
        stored.state = DeletionState::Pending;
        stored.job = Some(job.id);
        Ok((stored, true))
    }

    /// Cancels the account's open deletion request if its grace period has not ended at
    /// `now` and it is not running: one conditional update.
    pub async fn cancel_account_deletion(
        &self,
        account: Uuid,
        now: DateTime<Utc>,
    ) -> Result<CancelDeletion, StoreError> {
        let Some(open) = self.open_account_deletion(account).await? else {
            return Ok(CancelDeletion::NoRequest);
        };
        let changed = account_deletion::Entity::update_many()
            .col_expr(
                account_deletion::Column::State,
                Expr::value(DeletionState::Cancelled.to_db()),
            )
            .col_expr(account_deletion::Column::CancelledAt, Expr::value(now))
            .col_expr(
                account_deletion::Column::OpenAccount,
                Expr::value(Option::<Uuid>::None),
            )
            .filter(account_deletion::Column::Id.eq(open.id))
            .filter(account_deletion::Column::OpenAccount.eq(account))
            .filter(account_deletion::Column::RunsAt.gt(now))
            .filter(
                account_deletion::Column::State
                    .is_in([DeletionState::Pending.to_db(), DeletionState::Held.to_db()]),
            )
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?
            .rows_affected;
        Ok(if changed > 0 {
            CancelDeletion::Cancelled(open.job)
        } else {
            CancelDeletion::TooLate
        })
    }

    /// Sets the state of deletion request `id` (and, when given, the job that runs it)
    /// unless it was cancelled. Returns whether it changed.
    pub async fn set_account_deletion_state(
        &self,
        id: Uuid,
        state: DeletionState,
        job: Option<Uuid>,
    ) -> Result<bool, StoreError> {
        let mut update = account_deletion::Entity::update_many()
            .col_expr(account_deletion::Column::State, Expr::value(state.to_db()))
            .filter(account_deletion::Column::Id.eq(id))
            .filter(account_deletion::Column::State.ne(DeletionState::Cancelled.to_db()));
        if let Some(job) = job {
            update = update.col_expr(account_deletion::Column::JobId, Expr::value(job));
        }
        Ok(update
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?
            .rows_affected
            > 0)
    }

    /// Places a legal hold.
    pub async fn place_legal_hold(&self, hold: &LegalHold) -> Result<(), StoreError> {
        legal_hold::Entity::insert(legal_hold::ActiveModel {
            id: Set(hold.id),
            account_id: Set(hold.account),
            ground: Set(hold.ground.clone()),
            note_sealed: Set(hold.note_sealed.clone()),
            set_by: Set(hold.set_by),
            set_at: Set(hold.set_at),
            released_at: Set(None),
            released_by: Set(None),
        })
        .exec_without_returning(&self.db)
        .await
        .map_err(StoreError::from_insert)?;
        Ok(())
    }

    /// The account's legal holds in force, oldest first.
    pub async fn active_legal_holds(&self, account: Uuid) -> Result<Vec<LegalHold>, StoreError> {
        Ok(legal_hold::Entity::find()
            .filter(legal_hold::Column::AccountId.eq(account))
            .filter(legal_hold::Column::ReleasedAt.is_null())
            .order_by_asc(legal_hold::Column::SetAt)
            .all(&self.db)
            .await
            .map_err(StoreError::Query)?
            .into_iter()
            .map(LegalHold::from)
            .collect())
    }

    /// Every legal hold ever placed on the account, in force or released, oldest first
    /// (what its export shows).
    pub async fn legal_holds_of(&self, account: Uuid) -> Result<Vec<LegalHold>, StoreError> {
        Ok(legal_hold::Entity::find()
            .filter(legal_hold::Column::AccountId.eq(account))
            .order_by_asc(legal_hold::Column::SetAt)
            .all(&self.db)
            .await
            .map_err(StoreError::Query)?
            .into_iter()
            .map(LegalHold::from)
            .collect())
    }

    /// Releases every legal hold in force on the account; returns how many.
    pub async fn release_legal_holds(
        &self,
        account: Uuid,
        by: Uuid,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        Ok(legal_hold::Entity::update_many()
            .col_expr(legal_hold::Column::ReleasedAt, Expr::value(at))
            .col_expr(legal_hold::Column::ReleasedBy, Expr::value(by))
            .filter(legal_hold::Column::AccountId.eq(account))
            .filter(legal_hold::Column::ReleasedAt.is_null())
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?
            .rows_affected)
    }

    /// The provider copies of the account's generations that erasure `request` must still
    /// ask to delete: not settled (deleted, nothing kept, deletion not supported) and not
    /// recorded for follow-up by this erasure.
    pub async fn remote_copies_to_delete(
        &self,
        request: Uuid,
        account: Uuid,
    ) -> Result<Vec<RemoteCopyToDelete>, StoreError> {
        let recorded = Query::select()
            .column(erasure_followup::Column::RemoteRef)
            .from(erasure_followup::Entity)
            .and_where(erasure_followup::Column::TombstoneId.eq(request))
            .to_owned();
        let delete_failed = remote_copy_to_db(RemoteCopy::DeleteFailed);
        let rows: Vec<(Uuid, String, Option<String>)> = generation::Entity::find()
            .select_only()
            .columns([
                generation::Column::Id,
                generation::Column::Provider,
                generation::Column::ProviderJobId,
            ])
            .filter(generation::Column::AccountId.eq(account))
            .filter(generation::Column::ProviderJobId.is_not_null())
            // Never settled, or a deletion the video job gave up on: asked again, unless
            // this erasure already recorded it for follow-up.
            .filter(
                generation::Column::RemoteCopy
                    .is_null()
                    .or(generation::Column::RemoteCopy.eq(delete_failed)),
            )
            .filter(generation::Column::ProviderJobId.not_in_subquery(recorded))
            .order_by_asc(generation::Column::CreatedAt)
            .order_by_asc(generation::Column::Id)
            .into_tuple()
            .all(&self.db)
            .await
            .map_err(StoreError::Query)?;
        rows.into_iter()
            .filter_map(|(generation, provider, remote_ref)| {
                Some((generation, provider, remote_ref?))
            })
            .map(|(generation, provider, remote_ref)| {
                Ok(RemoteCopyToDelete {
                    generation,
                    provider: provider_from_db(&provider)?,
                    remote_ref,
                })
            })
            .collect()
    }

    /// Records a provider copy that could not be deleted (once per copy).
    pub async fn record_erasure_followup(
        &self,
        followup: &ErasureFollowup,
    ) -> Result<(), StoreError> {
        erasure_followup::Entity::insert(erasure_followup::ActiveModel {
            id: Set(Uuid::new_v4()),
            tombstone_id: Set(followup.tombstone),
            provider: Set(followup.provider.as_str().to_owned()),
            remote_ref: Set(followup.remote_ref.clone()),
            error_code: Set(followup.error_code.clone()),
            recorded_at: Set(followup.recorded_at),
            resolved_at: Set(None),
        })
        .on_conflict(
            OnConflict::columns([
                erasure_followup::Column::TombstoneId,
                erasure_followup::Column::Provider,
                erasure_followup::Column::RemoteRef,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(&self.db)
        .await
        .map_err(StoreError::Query)?;
        Ok(())
    }

    /// The unresolved follow-ups of erasures, oldest first.
    pub async fn erasure_followups(&self) -> Result<Vec<ErasureFollowup>, StoreError> {
        erasure_followup::Entity::find()
            .filter(erasure_followup::Column::ResolvedAt.is_null())
            .order_by_asc(erasure_followup::Column::RecordedAt)
            .all(&self.db)
            .await
            .map_err(StoreError::Query)?
            .into_iter()
            .map(ErasureFollowup::try_from)
            .collect()
    }

    /// The tombstone `id`, if that erasure ran.
    pub async fn erasure_tombstone(&self, id: Uuid) -> Result<Option<Tombstone>, StoreError> {
        Ok(erasure_tombstone::Entity::find_by_id(id)
            .one(&self.db)
            .await
            .map_err(StoreError::Query)?
            .map(|row| Tombstone {
                id: row.id,
                requested_at: row.requested_at,
                erased_at: row.erased_at,
            }))
    }

    /// Erases the account of deletion request `request`: in one transaction, deletes the
    /// person's rows of every table the registry marks [`Erase::DeleteRows`], in the
    /// registry's order, and leaves the tombstone `request` (requested at `requested_at`,
    /// erased at `now`). Nothing of any other account is touched: every statement is
    /// filtered by this account (or its subject, or its e-mail's blind index, or its id in
    /// a throttling bucket's name). Returns
    /// `false` when the account no longer exists (erased before a crash: nothing to do).
    ///
    /// On SQLite, deleted content is overwritten (`secure_delete`) and the write-ahead log
    /// is checkpointed and truncated afterwards, so no erased bytes stay in the files.
    pub async fn erase_account(
        &self,
        request: Uuid,
        account: Uuid,
        requested_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let txn = self.db.begin().await.map_err(StoreError::Query)?;
        let found: Option<(Uuid, Vec<u8>)> = account::Entity::find_by_id(account)
            .select_only()
            .columns([account::Column::SubjectId, account::Column::EmailIndex])
            .into_tuple()
            .one(&txn)
            .await
            .map_err(StoreError::Query)?;
        let Some((subject, email_index)) = found else {
            txn.rollback().await.map_err(StoreError::Query)?;
            // Erased before a crash or a failed checkpoint: the log may still hold the
            // deleted rows' old pages.
            self.truncate_write_ahead_log().await?;
            return Ok(false);
        };
        let email_bucket = email_bucket(&email_index);
        for entry in REGISTRY {
            let Entry::Personal(personal) = entry else {
                continue;
            };
            if let Erase::KeepUnlinked { held_since, .. } = personal.erase {
                let Owner::Account(column) = personal.owner else {
                    return Err(StoreError::OutOfRange(
                        "a registry entry unlinking rows not owned by an account column",
                    ));
                };
                let unlink = Query::update()
                    .table(table(personal.table))
                    .value(col(column), Expr::value(Option::<Uuid>::None))
                    .value(col(held_since), Expr::value(now))
                    .and_where(owned_by(personal.owner, account, subject, &email_bucket))
                    .to_owned();
                txn.execute(&unlink).await.map_err(StoreError::Query)?;
                continue;
            }
            if !matches!(personal.erase, Erase::DeleteRows) {
                continue;
            }
            if matches!(personal.owner, Owner::AuditText) {
                return Err(StoreError::OutOfRange(
                    "a registry entry deleting audit entries",
                ));
            }
            let delete = Query::delete()
                .from_table(table(personal.table))
                .and_where(owned_by(personal.owner, account, subject, &email_bucket))
                .to_owned();
            txn.execute(&delete).await.map_err(StoreError::Query)?;
        }
        erasure_tombstone::Entity::insert(erasure_tombstone::ActiveModel {
            id: Set(request),
            requested_at: Set(requested_at),
            erased_at: Set(now),
        })
        .on_conflict(
            OnConflict::column(erasure_tombstone::Column::Id)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await
        .map_err(StoreError::Query)?;
        txn.commit().await.map_err(StoreError::Query)?;
        self.cache.forget_account(account);
        self.cache.forget_sessions_of(account);
        self.cache.forget_ledger(account);
        self.truncate_write_ahead_log().await?;
        Ok(true)
    }

    /// On SQLite, copies the write-ahead log into the database file and truncates it: the
    /// file's deleted content is overwritten (`secure_delete`), but the log's older frames
    /// still hold the pages as they were before the delete. A connection (of this process
    /// or another) still reading an older snapshot makes SQLite answer the checkpoint
    /// "busy" rather than fail, with the log left in place; the checkpoint is asked again
    /// until it completes, and an erasure whose log could not be truncated fails (its job
    /// retries, and the retry checkpoints again).
    async fn truncate_write_ahead_log(&self) -> Result<(), StoreError> {
        if self.backend() != Backend::Sqlite {
            return Ok(());
        }
        for _ in 0..CHECKPOINT_ATTEMPTS {
            let row = self
                .db
                .query_one_raw(sea_orm::Statement::from_string(
                    self.db.get_database_backend(),
                    "PRAGMA wal_checkpoint(TRUNCATE)",
                ))
                .await
                .map_err(StoreError::Query)?;
            let busy = match row {
                Some(row) => row.try_get::<i64>("", "busy").map_err(StoreError::Query)?,
                None => 0,
            };
            if busy == 0 {
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        Err(StoreError::Busy("the write-ahead log checkpoint"))
    }

    /// How many rows of each personal table refer to the account (or its subject, or its
    /// e-mail's blind index), the audit trail included: what an export covers and what
    /// an erasure must bring to zero (but for the audit trail).
    pub async fn rows_about(
        &self,
        account: Uuid,
        subject: SubjectId,
        email_index: &[u8],
    ) -> Result<Vec<(&'static str, u64)>, StoreError> {
        let email_bucket = email_bucket(email_index);
        let mut counts = Vec::new();
        for entry in REGISTRY {
            let Entry::Personal(personal) = entry else {
                continue;
            };
            let select = Query::select()
                .expr_as(Expr::cust("COUNT(*)"), col("n"))
                .from(table(personal.table))
                .and_where(owned_by(
                    personal.owner,
                    account,
                    subject.as_uuid(),
                    &email_bucket,
                ))
                .to_owned();
            let row = self
                .db
                .query_one(&select)
                .await
                .map_err(StoreError::Query)?;
            let n: i64 = match row {
                Some(row) => row.try_get("", "n").map_err(StoreError::Query)?,
                None => 0,
            };
            counts.push((personal.table, u64::try_from(n).unwrap_or(0)));
        }
        Ok(counts)
    }
}

/// The account's open deletion request, read in `db` (the pool or a transaction).
pub(crate) async fn open_deletion(
    db: &impl ConnectionTrait,
    account: Uuid,
) -> Result<Option<AccountDeletion>, StoreError> {
    account_deletion::Entity::find()
        .filter(account_deletion::Column::OpenAccount.eq(account))
        .one(db)
        .await
        .map_err(StoreError::Query)?
        .map(AccountDeletion::try_from)
        .transpose()
}

/// Locks the account's row until the end of the transaction `txn` (a write that changes
/// nothing: a row lock on PostgreSQL, the database's write lock on SQLite), so that
/// requests of the same person that must exclude each other — an erasure and an export —
/// are decided one after the other.
pub(crate) async fn lock_account(
    txn: &impl ConnectionTrait,
    account: Uuid,
) -> Result<(), StoreError> {
    account::Entity::update_many()
        .col_expr(account::Column::Id, Expr::col(account::Column::Id))
        .filter(account::Column::Id.eq(account))
        .exec(txn)
        .await
        .map_err(StoreError::Query)?;
    Ok(())
}

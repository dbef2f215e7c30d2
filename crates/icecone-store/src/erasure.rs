//! Repositories of erasure (Art. 17): account deletion requests, legal holds, the erasure
//! itself — every row of a person deleted in one transaction, table by table as the
//! [`personal_data`](crate::personal_data) registry lists them — the tombstone it leaves and
//! the provider copies DPO staff must follow up.

use chrono::{DateTime, Utc};
use icecone_core::subject::SubjectId;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ConnectionTrait, QueryResult, TransactionTrait};
use uuid::Uuid;

use crate::jobs::NewJob;
use crate::personal_data::{Entry, Erase, Owner, REGISTRY};
use crate::{Backend, Store, StoreError};

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
    pub provider: String,
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
    pub provider: String,
    /// The provider's job id.
    pub remote_ref: String,
}

fn table(name: &'static str) -> Alias {
    Alias::new(name)
}

fn col(name: &'static str) -> Alias {
    Alias::new(name)
}

fn deletion_from(row: &QueryResult) -> Result<AccountDeletion, StoreError> {
    let get = |e| StoreError::Query(e);
    Ok(AccountDeletion {
        id: row.try_get("", "id").map_err(get)?,
        account: row.try_get("", "account_id").map_err(get)?,
        state: DeletionState::from_db(&row.try_get::<String>("", "state").map_err(get)?)?,
        requested_at: row.try_get("", "requested_at").map_err(get)?,
        runs_at: row.try_get("", "runs_at").map_err(get)?,
        cancelled_at: row.try_get("", "cancelled_at").map_err(get)?,
        job: row.try_get("", "job_id").map_err(get)?,
    })
}

const DELETION_COLUMNS: [&str; 7] = [
    "id",
    "account_id",
    "state",
    "requested_at",
    "runs_at",
    "cancelled_at",
    "job_id",
];

/// An audit actor or target naming `account`.
fn audit_pattern(account: Uuid) -> String {
    format!("%{account}%")
}

impl Store {
    async fn deletion_where(
        &self,
        column: &'static str,
        value: Uuid,
    ) -> Result<Option<AccountDeletion>, StoreError> {
        let select = Query::select()
            .columns(DELETION_COLUMNS.map(col))
            .from(table("account_deletions"))
            .and_where(Expr::col(col(column)).eq(value))
            .to_owned();
        self.db
            .query_one(&select)
            .await
            .map_err(StoreError::Query)?
            .map(|row| deletion_from(&row))
            .transpose()
    }

    /// The account's open (not cancelled, not yet erased) deletion request.
    pub async fn open_account_deletion(
        &self,
        account: Uuid,
    ) -> Result<Option<AccountDeletion>, StoreError> {
        self.deletion_where("open_account", account).await
    }

    /// The deletion request `id`.
    pub async fn account_deletion(&self, id: Uuid) -> Result<Option<AccountDeletion>, StoreError> {
        self.deletion_where("id", id).await
    }

    /// Records a deletion request and queues `job` to run it, atomically — unless the
    /// account has an open request already: then nothing is written and that one is
    /// returned with `false`. One conditional insert (the unique `open_account`).
    pub async fn request_account_deletion(
        &self,
        request: &AccountDeletion,
        job: &NewJob,
        now: DateTime<Utc>,
    ) -> Result<(AccountDeletion, bool), StoreError> {
        let txn = self.db.begin().await.map_err(StoreError::Query)?;
        let insert = Query::insert()
            .into_table(table("account_deletions"))
            .columns(
                [
                    "id",
                    "account_id",
                    "open_account",
                    "state",
                    "requested_at",
                    "runs_at",
                    "job_id",
                ]
                .map(col),
            )
            .values_panic([
                request.id.into(),
                request.account.into(),
                request.account.into(),
                DeletionState::Pending.to_db().into(),
                request.requested_at.into(),
                request.runs_at.into(),
                job.id.into(),
            ])
            .on_conflict(
                OnConflict::column(col("open_account"))
                    .do_nothing()
                    .to_owned(),
            )
            .to_owned();
        let inserted = txn
            .execute(&insert)
            .await
            .map_err(StoreError::Query)?
            .rows_affected();
        if inserted == 0 {
            txn.rollback().await.map_err(StoreError::Query)?;
            let open = self
                .open_account_deletion(request.account)
                .await?
                .ok_or(StoreError::Duplicate)?;
            return Ok((open, false));
        }
        <crate::entity::job::Entity as sea_orm::EntityTrait>::insert(crate::jobs::active_model(
            job, now,
        )?)
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
        let update = Query::update()
            .table(table("account_deletions"))
            .value(col("state"), DeletionState::Cancelled.to_db())
            .value(col("cancelled_at"), now)
            .value(col("open_account"), Option::<Uuid>::None)
            .and_where(Expr::col(col("id")).eq(open.id))
            .and_where(Expr::col(col("open_account")).eq(account))
            .and_where(Expr::col(col("runs_at")).gt(now))
            .and_where(
                Expr::col(col("state"))
                    .is_in([DeletionState::Pending.to_db(), DeletionState::Held.to_db()]),
            )
            .to_owned();
        let changed = self
            .db
            .execute(&update)
            .await
            .map_err(StoreError::Query)?
            .rows_affected();
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
        let mut update = Query::update()
            .table(table("account_deletions"))
            .value(col("state"), state.to_db())
            .and_where(Expr::col(col("id")).eq(id))
            .and_where(Expr::col(col("state")).ne(DeletionState::Cancelled.to_db()))
            .to_owned();
        if let Some(job) = job {
            update.value(col("job_id"), job);
        }
        Ok(self
            .db
            .execute(&update)
            .await
            .map_err(StoreError::Query)?
            .rows_affected()
            > 0)
    }

    /// Cancels every queued or running job acting for the account (a video in progress
    /// must not write into an account being erased); returns how many.
    pub async fn cancel_jobs_of_account(
        &self,
        account: Uuid,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let update = Query::update()
            .table(table("jobs"))
            .value(col("state"), "cancelled")
            .value(col("lease_owner"), Option::<String>::None)
            .value(col("lease_expires_at"), Option::<DateTime<Utc>>::None)
            .value(col("updated_at"), now)
            .and_where(Expr::col(col("account_id")).eq(account))
            .and_where(Expr::col(col("state")).is_in(["queued", "running"]))
            .to_owned();
        Ok(self
            .db
            .execute(&update)
            .await
            .map_err(StoreError::Query)?
            .rows_affected())
    }

    /// Places a legal hold.
    pub async fn place_legal_hold(&self, hold: &LegalHold) -> Result<(), StoreError> {
        let insert = Query::insert()
            .into_table(table("legal_holds"))
            .columns(
                [
                    "id",
                    "account_id",
                    "ground",
                    "note_sealed",
                    "set_by",
                    "set_at",
                ]
                .map(col),
            )
            .values_panic([
                hold.id.into(),
                hold.account.into(),
                hold.ground.clone().into(),
                hold.note_sealed.clone().into(),
                hold.set_by.into(),
                hold.set_at.into(),
            ])
            .to_owned();
        self.db
            .execute(&insert)
            .await
            .map_err(StoreError::from_insert)?;
        Ok(())
    }

    /// The account's legal holds in force, oldest first.
    pub async fn active_legal_holds(&self, account: Uuid) -> Result<Vec<LegalHold>, StoreError> {
        let select = Query::select()
            .columns(
                [
                    "id",
                    "account_id",
                    "ground",
                    "note_sealed",
                    "set_by",
                    "set_at",
                    "released_at",
                ]
                .map(col),
            )
            .from(table("legal_holds"))
            .and_where(Expr::col(col("account_id")).eq(account))
            .and_where(Expr::col(col("released_at")).is_null())
            .order_by(col("set_at"), sea_orm::Order::Asc)
            .to_owned();
        let rows = self
            .db
            .query_all(&select)
            .await
            .map_err(StoreError::Query)?;
        rows.iter()
            .map(|row| {
                let get = |e| StoreError::Query(e);
                Ok(LegalHold {
                    id: row.try_get("", "id").map_err(get)?,
                    account: row.try_get("", "account_id").map_err(get)?,
                    ground: row.try_get("", "ground").map_err(get)?,
                    note_sealed: row.try_get("", "note_sealed").map_err(get)?,
                    set_by: row.try_get("", "set_by").map_err(get)?,
                    set_at: row.try_get("", "set_at").map_err(get)?,
                    released_at: row.try_get("", "released_at").map_err(get)?,
                })
            })
            .collect()
    }

    /// Releases every legal hold in force on the account; returns how many.
    pub async fn release_legal_holds(
        &self,
        account: Uuid,
        by: Uuid,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let update = Query::update()
            .table(table("legal_holds"))
            .value(col("released_at"), at)
            .value(col("released_by"), by)
            .and_where(Expr::col(col("account_id")).eq(account))
            .and_where(Expr::col(col("released_at")).is_null())
            .to_owned();
        Ok(self
            .db
            .execute(&update)
            .await
            .map_err(StoreError::Query)?
            .rows_affected())
    }

    /// The provider copies of the account's generations that erasure `request` must still
    /// ask to delete: not settled (deleted, nothing kept, deletion not supported) and not
    /// recorded for follow-up by this erasure.
    pub async fn remote_copies_to_delete(
        &self,
        request: Uuid,
        account: Uuid,
    ) -> Result<Vec<RemoteCopyToDelete>, StoreError> {
        let select = Query::select()
            .columns(["id", "provider", "provider_job_id"].map(col))
            .from(table("generations"))
            .and_where(Expr::col(col("account_id")).eq(account))
            .and_where(Expr::col(col("provider_job_id")).is_not_null())
            // Never settled, or a deletion the video job gave up on: asked again, unless
            // this erasure already recorded it for follow-up.
            .and_where(
                Expr::col(col("remote_copy"))
                    .is_null()
                    .or(Expr::col(col("remote_copy")).eq("DELETE_FAILED")),
            )
            .and_where(
                Expr::col(col("provider_job_id")).not_in_subquery(
                    Query::select()
                        .column(col("remote_ref"))
                        .from(table("erasure_followups"))
                        .and_where(Expr::col(col("tombstone_id")).eq(request))
                        .to_owned(),
                ),
            )
            .order_by(col("created_at"), sea_orm::Order::Asc)
            .order_by(col("id"), sea_orm::Order::Asc)
            .to_owned();
        let rows = self
            .db
            .query_all(&select)
            .await
            .map_err(StoreError::Query)?;
        rows.iter()
            .map(|row| {
                let get = |e| StoreError::Query(e);
                Ok(RemoteCopyToDelete {
                    generation: row.try_get("", "id").map_err(get)?,
                    provider: row.try_get("", "provider").map_err(get)?,
                    remote_ref: row.try_get("", "provider_job_id").map_err(get)?,
                })
            })
            .collect()
    }

    /// Records a provider copy that could not be deleted (once per copy).
    pub async fn record_erasure_followup(
        &self,
        followup: &ErasureFollowup,
    ) -> Result<(), StoreError> {
        let insert = Query::insert()
            .into_table(table("erasure_followups"))
            .columns(
                [
                    "id",
                    "tombstone_id",
                    "provider",
                    "remote_ref",
                    "error_code",
                    "recorded_at",
                ]
                .map(col),
            )
            .values_panic([
                Uuid::new_v4().into(),
                followup.tombstone.into(),
                followup.provider.clone().into(),
                followup.remote_ref.clone().into(),
                followup.error_code.clone().into(),
                followup.recorded_at.into(),
            ])
            .on_conflict(
                OnConflict::columns(["tombstone_id", "provider", "remote_ref"].map(col))
                    .do_nothing()
                    .to_owned(),
            )
            .to_owned();
        self.db.execute(&insert).await.map_err(StoreError::Query)?;
        Ok(())
    }

    /// The unresolved follow-ups of erasures, oldest first.
    pub async fn erasure_followups(&self) -> Result<Vec<ErasureFollowup>, StoreError> {
        let select = Query::select()
            .columns(
                [
                    "tombstone_id",
                    "provider",
                    "remote_ref",
                    "error_code",
                    "recorded_at",
                ]
                .map(col),
            )
            .from(table("erasure_followups"))
            .and_where(Expr::col(col("resolved_at")).is_null())
            .order_by(col("recorded_at"), sea_orm::Order::Asc)
            .to_owned();
        let rows = self
            .db
            .query_all(&select)
            .await
            .map_err(StoreError::Query)?;
        rows.iter()
            .map(|row| {
                let get = |e| StoreError::Query(e);
                Ok(ErasureFollowup {
                    tombstone: row.try_get("", "tombstone_id").map_err(get)?,
                    provider: row.try_get("", "provider").map_err(get)?,
                    remote_ref: row.try_get("", "remote_ref").map_err(get)?,
                    error_code: row.try_get("", "error_code").map_err(get)?,
                    recorded_at: row.try_get("", "recorded_at").map_err(get)?,
                })
            })
            .collect()
    }

    /// The tombstone `id`, if that erasure ran.
    pub async fn erasure_tombstone(&self, id: Uuid) -> Result<Option<Tombstone>, StoreError> {
        let select = Query::select()
            .columns(["id", "requested_at", "erased_at"].map(col))
            .from(table("erasure_tombstones"))
            .and_where(Expr::col(col("id")).eq(id))
            .to_owned();
        let row = self
            .db
            .query_one(&select)
            .await
            .map_err(StoreError::Query)?;
        row.map(|row| {
            let get = |e| StoreError::Query(e);
            Ok(Tombstone {
                id: row.try_get("", "id").map_err(get)?,
                requested_at: row.try_get("", "requested_at").map_err(get)?,
                erased_at: row.try_get("", "erased_at").map_err(get)?,
            })
        })
        .transpose()
    }

    /// Erases the account of deletion request `request`: in one transaction, deletes the
    /// person's rows of every table the registry marks [`Erase::DeleteRows`], in the
    /// registry's order, and leaves the tombstone `request` (requested at `requested_at`,
    /// erased at `now`). Nothing of any other account is touched: every statement is
    /// filtered by this account (or its subject, or its e-mail's blind index). Returns
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
        let found = txn
            .query_one(
                &Query::select()
                    .columns(["subject_id", "email_index"].map(col))
                    .from(table("accounts"))
                    .and_where(Expr::col(col("id")).eq(account))
                    .to_owned(),
            )
            .await
            .map_err(StoreError::Query)?;
        let Some(found) = found else {
            txn.rollback().await.map_err(StoreError::Query)?;
            return Ok(false);
        };
        let subject: Uuid = found.try_get("", "subject_id").map_err(StoreError::Query)?;
        let email_index: Vec<u8> = found
            .try_get("", "email_index")
            .map_err(StoreError::Query)?;
        let email_bucket = format!(
            "login:email:{}",
            email_index
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        for entry in REGISTRY {
            let Entry::Personal(personal) = entry else {
                continue;
            };
            if !matches!(personal.erase, Erase::DeleteRows) {
                continue;
            }
            let mut delete = Query::delete().from_table(table(personal.table)).to_owned();
            match personal.owner {
                Owner::Account(column) | Owner::AccountWithStaff { column, .. } => {
                    delete.and_where(Expr::col(col(column)).eq(account));
                }
                Owner::AccountId => {
                    delete.and_where(Expr::col(col("id")).eq(account));
                }
                Owner::Subject(column) => {
                    delete.and_where(Expr::col(col(column)).eq(subject));
                }
                Owner::Through {
                    column,
                    parent,
                    parent_owner,
                } => {
                    delete.and_where(
                        Expr::col(col(column)).in_subquery(
                            Query::select()
                                .column(col("id"))
                                .from(table(parent))
                                .and_where(Expr::col(col(parent_owner)).eq(account))
                                .to_owned(),
                        ),
                    );
                }
                Owner::EmailIndexBucket => {
                    delete.and_where(Expr::col(col("bucket")).eq(email_bucket.as_str()));
                }
                Owner::AuditText => {
                    return Err(StoreError::OutOfRange(
                        "a registry entry deleting audit entries",
                    ));
                }
            }
            txn.execute(&delete).await.map_err(StoreError::Query)?;
        }
        txn.execute(
            &Query::insert()
                .into_table(table("erasure_tombstones"))
                .columns(["id", "requested_at", "erased_at"].map(col))
                .values_panic([request.into(), requested_at.into(), now.into()])
                .on_conflict(OnConflict::column(col("id")).do_nothing().to_owned())
                .to_owned(),
        )
        .await
        .map_err(StoreError::Query)?;
        txn.commit().await.map_err(StoreError::Query)?;
        self.cache.forget_account(account);
        self.cache.forget_sessions_of(account);
        self.cache.forget_ledger(account);
        if self.backend() == Backend::Sqlite {
            self.db
                .execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
                .await
                .map_err(StoreError::Query)?;
        }
        Ok(true)
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
        let email_bucket = format!(
            "login:email:{}",
            email_index
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        let mut counts = Vec::new();
        for entry in REGISTRY {
            let Entry::Personal(personal) = entry else {
                continue;
            };
            let mut select = Query::select()
                .expr_as(Expr::cust("COUNT(*)"), col("n"))
                .from(table(personal.table))
                .to_owned();
            match personal.owner {
                Owner::Account(column) | Owner::AccountWithStaff { column, .. } => {
                    select.and_where(Expr::col(col(column)).eq(account));
                }
                Owner::AccountId => {
                    select.and_where(Expr::col(col("id")).eq(account));
                }
                Owner::Subject(column) => {
                    select.and_where(Expr::col(col(column)).eq(subject.as_uuid()));
                }
                Owner::Through {
                    column,
                    parent,
                    parent_owner,
                } => {
                    select.and_where(
                        Expr::col(col(column)).in_subquery(
                            Query::select()
                                .column(col("id"))
                                .from(table(parent))
                                .and_where(Expr::col(col(parent_owner)).eq(account))
                                .to_owned(),
                        ),
                    );
                }
                Owner::EmailIndexBucket => {
                    select.and_where(Expr::col(col("bucket")).eq(email_bucket.as_str()));
                }
                Owner::AuditText => {
                    select.and_where(
                        Expr::col(col("actor"))
                            .like(audit_pattern(account))
                            .or(Expr::col(col("target")).like(audit_pattern(account))),
                    );
                }
            }
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

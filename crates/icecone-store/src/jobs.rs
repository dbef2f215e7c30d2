//! Repositories for durable jobs: background work that survives a restart and runs on one
//! worker at a time, on one gateway instance or many.
//!
//! A job is **queued** until it is due (`run_after`), then **claimed**: a worker takes a
//! lease (its owner id and an expiry) and the job is **running**. The worker extends the
//! lease while it works, records the **step** its handler reached (handlers are written as
//! idempotent steps and resume from the recorded one), and finally completes it, fails it
//! (with a retry at a later `run_after`, or for good) or puts it back in the queue to run
//! again later (a poll that found the provider still busy). A worker that dies leaves its
//! lease to expire; the next claim takes the job over. A job whose next step the person's
//! consent does not allow now (processing restricted) is **held**: not due until its
//! account's held jobs are released ([`Store::release_held_jobs`], when the restriction is
//! lifted) or its deadline passes (then it is claimed once more, to fail with a timeout).
//!
//! Every race-prone change is one conditional statement: a claim is one `UPDATE ... WHERE id
//! = (SELECT ... due ... LIMIT 1)` — with `FOR UPDATE SKIP LOCKED` on PostgreSQL, where
//! instances claim concurrently; on SQLite (one writer at a time, single node) the statement
//! alone is atomic — and every change a worker makes afterwards is conditional on the job
//! still running under its lease, so a worker that lost its lease changes nothing.
//! `attempts` counts the claims since the job last made progress; what a failure costs is
//! the runner's decision, kept here only as numbers.

use std::fmt;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, EntityTrait, FromQueryResult, QueryFilter,
    QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::convert::u32_from_db;
use crate::entity::job;
use crate::{Backend, Store, StoreError};

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobState {
    /// Waiting until `run_after`.
    Queued,
    /// Leased by a worker (or abandoned by one whose lease expired).
    Running,
    /// Done.
    Succeeded,
    /// Given up on; `last_error_code` says why.
    Failed,
    /// Cancelled before it finished.
    Cancelled,
    /// Waiting for the person to allow its next step (processing restricted).
    Held,
}

impl JobState {
    pub(crate) fn to_db(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Held => "held",
        }
    }

    fn from_db(value: &str) -> Result<Self, StoreError> {
        match value {
            "queued" => Ok(Self::Queued),
            "running" => Ok(Self::Running),
            "succeeded" => Ok(Self::Succeeded),
            "failed" => Ok(Self::Failed),
            "cancelled" => Ok(Self::Cancelled),
            "held" => Ok(Self::Held),
            _ => Err(StoreError::OutOfRange("job state")),
        }
    }

    /// Whether the job will not run again.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Cancelled)
    }
}

/// A job to enqueue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    /// Its id.
    pub id: Uuid,
    /// Which handler runs it, at most 32 bytes (such as `video_generation`).
    pub kind: String,
    /// The account it acts for, if any.
    pub account: Option<Uuid>,
    /// What it is about (such as a generation id), at most 64 bytes; never personal data.
    pub subject: String,
    /// The step its handler starts at, at most 32 bytes.
    pub step: String,
    /// How many claims without progress it may take before it fails for good.
    pub max_attempts: u32,
    /// When it may first run.
    pub run_after: DateTime<Utc>,
    /// When it must have finished, if ever.
    pub deadline: Option<DateTime<Utc>>,
}

/// A job as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct JobRecord {
    /// Its id.
    pub id: Uuid,
    /// Which handler runs it.
    pub kind: String,
    /// The account it acts for.
    pub account: Option<Uuid>,
    /// What it is about.
    pub subject: String,
    /// Where it stands.
    pub state: JobState,
    /// The step its handler reached.
    pub step: String,
    /// Claims since it last made progress (the current one included while it runs).
    pub attempts: u32,
    /// The most claims without progress before it fails for good.
    pub max_attempts: u32,
    /// When it may run (next).
    pub run_after: DateTime<Utc>,
    /// The worker holding its lease.
    pub lease_owner: Option<String>,
    /// When that lease expires.
    pub lease_expires_at: Option<DateTime<Utc>>,
    /// When it must have finished.
    pub deadline: Option<DateTime<Utc>>,
    /// The code of its last error (never a message).
    pub last_error_code: Option<String>,
    /// When it was enqueued.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl fmt::Debug for JobRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobRecord")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("state", &self.state)
            .field("step", &self.step)
            .field("attempts", &self.attempts)
            .field("lease_owner", &self.lease_owner)
            .field("last_error_code", &self.last_error_code)
            .finish_non_exhaustive()
    }
}

impl TryFrom<job::Model> for JobRecord {
    type Error = StoreError;

    fn try_from(row: job::Model) -> Result<Self, StoreError> {
        Ok(Self {
            id: row.id,
            kind: row.kind,
            account: row.account_id,
            subject: row.subject,
            state: JobState::from_db(&row.state)?,
            step: row.step,
            attempts: u32_from_db(row.attempts, "job attempts")?,
            max_attempts: u32_from_db(row.max_attempts, "job max attempts")?,
            run_after: row.run_after,
            lease_owner: row.lease_owner,
            lease_expires_at: row.lease_expires_at,
            deadline: row.deadline,
            last_error_code: row.last_error_code,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// A job that is due at `now`: queued and past `run_after`, running under a lease that
/// expired (its worker died), or held past its deadline (it is claimed to fail).
fn due(now: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(
            Condition::all()
                .add(job::Column::State.eq(JobState::Queued.to_db()))
                .add(job::Column::RunAfter.lte(now)),
        )
        .add(
            Condition::all()
                .add(job::Column::State.eq(JobState::Running.to_db()))
                .add(job::Column::LeaseExpiresAt.lte(now)),
        )
        .add(
            Condition::all()
                .add(job::Column::State.eq(JobState::Held.to_db()))
                .add(job::Column::Deadline.lte(now)),
        )
}

/// The job `id`, running under `owner`'s lease: what every change a worker makes is
/// conditional on.
fn leased(id: Uuid, owner: &str) -> Condition {
    Condition::all()
        .add(job::Column::Id.eq(id))
        .add(job::Column::State.eq(JobState::Running.to_db()))
        .add(job::Column::LeaseOwner.eq(owner))
}

pub(crate) fn active_model(
    new: &NewJob,
    now: DateTime<Utc>,
) -> Result<job::ActiveModel, StoreError> {
    Ok(job::ActiveModel {
        id: Set(new.id),
        kind: Set(new.kind.clone()),
        account_id: Set(new.account),
        subject: Set(new.subject.clone()),
        state: Set(JobState::Queued.to_db().to_owned()),
        step: Set(new.step.clone()),
        attempts: Set(0),
        max_attempts: Set(i32::try_from(new.max_attempts)
            .map_err(|_| StoreError::OutOfRange("job max attempts"))?),
        run_after: Set(new.run_after),
        lease_owner: Set(None),
        lease_expires_at: Set(None),
        deadline: Set(new.deadline),
        last_error_code: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    })
}

/// Cancels the queued, running or held jobs `filter` selects, releasing their leases.
fn cancel_unfinished(
    filter: sea_orm::sea_query::SimpleExpr,
    now: DateTime<Utc>,
) -> sea_orm::UpdateMany<job::Entity> {
    job::Entity::update_many()
        .col_expr(job::Column::State, Expr::value(JobState::Cancelled.to_db()))
        .col_expr(job::Column::LeaseOwner, Expr::value(Option::<String>::None))
        .col_expr(
            job::Column::LeaseExpiresAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(job::Column::UpdatedAt, Expr::value(now))
        .filter(filter)
        .filter(job::Column::State.is_in([
            JobState::Queued.to_db(),
            JobState::Running.to_db(),
            JobState::Held.to_db(),
        ]))
}

/// The open jobs of one kind in one state ([`Store::job_backlog`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobBacklog {
    /// The job kind.
    pub kind: String,
    /// Queued, running or held.
    pub state: JobState,
    /// How many.
    pub jobs: u64,
    /// When the oldest of them was created.
    pub oldest: DateTime<Utc>,
}

#[derive(Debug, FromQueryResult)]
struct BacklogRow {
    kind: String,
    state: String,
    jobs: i64,
    oldest: DateTime<Utc>,
}

impl Store {
    /// The jobs not yet ended (queued, running or held), counted per kind and state, with
    /// the creation time of each group's oldest: what the queue-depth metrics report. One
    /// grouped statement over the jobs table.
    pub async fn job_backlog(&self) -> Result<Vec<JobBacklog>, StoreError> {
        let open = [JobState::Queued, JobState::Running, JobState::Held].map(JobState::to_db);
        let rows: Vec<BacklogRow> = job::Entity::find()
            .select_only()
            .column(job::Column::Kind)
            .column(job::Column::State)
            .column_as(job::Column::Id.count(), "jobs")
            .column_as(job::Column::CreatedAt.min(), "oldest")
            .filter(job::Column::State.is_in(open))
            .group_by(job::Column::Kind)
            .group_by(job::Column::State)
            .into_model()
            .all(&self.db)
            .await
            .map_err(StoreError::Query)?;
        rows.into_iter()
            .map(|row| {
                Ok(JobBacklog {
                    state: JobState::from_db(&row.state)?,
                    jobs: u64::try_from(row.jobs)
                        .map_err(|_| StoreError::OutOfRange("job count"))?,
                    oldest: row.oldest,
                    kind: row.kind,
                })
            })
            .collect()
    }

    /// Queues a job.
    ///
    /// # Errors
    /// [`StoreError::Duplicate`] when the id is taken.
    pub async fn enqueue_job(&self, new: &NewJob, now: DateTime<Utc>) -> Result<(), StoreError> {
        job::Entity::insert(active_model(new, now)?)
            .exec_without_returning(&self.db)
            .await
            .map_err(StoreError::from_insert)?;
        Ok(())
    }

    /// The job `id`.
    pub async fn job(&self, id: Uuid) -> Result<Option<JobRecord>, StoreError> {
        job::Entity::find_by_id(id)
            .one(&self.db)
            .await
            .map_err(StoreError::Query)?
            .map(JobRecord::try_from)
            .transpose()
    }

    /// The jobs of `kind` about `subject`, oldest first.
    pub async fn jobs_for(&self, kind: &str, subject: &str) -> Result<Vec<JobRecord>, StoreError> {
        job::Entity::find()
            .filter(job::Column::Kind.eq(kind))
            .filter(job::Column::Subject.eq(subject))
            .order_by_asc(job::Column::CreatedAt)
            .order_by_asc(job::Column::Id)
            .all(&self.db)
            .await
            .map_err(StoreError::Query)?
            .into_iter()
            .map(JobRecord::try_from)
            .collect()
    }

    /// Claims the next due job — queued and past `run_after`, or running under an expired
    /// lease — for `owner` until `lease_until`, counting the attempt; `None` when nothing is
    /// due. One statement: of concurrent claimers, one gets each job.
    pub async fn claim_job(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<JobRecord>, StoreError> {
        let mut next = Query::select();
        next.column(job::Column::Id)
            .from(job::Entity)
            .cond_where(due(now))
            .order_by(job::Column::RunAfter, sea_orm::Order::Asc)
            .limit(1);
        if self.backend() == Backend::Postgres {
            // Concurrent claimers skip the row another transaction is taking instead of
            // waiting for it and then finding it taken.
            next.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
        }
        let claimed = job::Entity::update_many()
            .col_expr(job::Column::State, Expr::value(JobState::Running.to_db()))
            .col_expr(job::Column::LeaseOwner, Expr::value(owner))
            .col_expr(job::Column::LeaseExpiresAt, Expr::value(lease_until))
            .col_expr(
                job::Column::Attempts,
                Expr::col(job::Column::Attempts).add(1),
            )
            .col_expr(job::Column::UpdatedAt, Expr::value(now))
            // `id = (SELECT ...)`, not `IN`: the subquery runs once, as an init plan, so it
            // locks exactly the one row the update then takes.
            .filter(Expr::col(job::Column::Id).eq(Expr::SubQuery(None, Box::new(next.into()))))
            // Repeated outside the subquery: the row is re-checked as the update sees it.
            .filter(due(now))
            .exec_with_returning(&self.db)
            .await
            .map_err(StoreError::Query)?;
        claimed
            .into_iter()
            .next()
            .map(JobRecord::try_from)
            .transpose()
    }

    /// Extends `owner`'s lease of job `id` to `until`; returns whether it still held it.
    pub async fn extend_job_lease(
        &self,
        id: Uuid,
        owner: &str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.update_leased(id, owner, now, |update| {
            update.col_expr(job::Column::LeaseExpiresAt, Expr::value(until))
        })
        .await
    }

    /// Records that job `id` reached `step`, keeping `owner`'s lease; a step reached is
    /// progress, so this run becomes the step's first attempt. Returns whether `owner`
    /// still held the lease (if not, nothing changed).
    pub async fn advance_job_step(
        &self,
        id: Uuid,
        owner: &str,
        step: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.update_leased(id, owner, now, |update| {
            update
                .col_expr(job::Column::Step, Expr::value(step))
                .col_expr(job::Column::Attempts, Expr::value(1))
        })
        .await
    }

    /// Puts job `id` back in the queue at `step`, to run again at `run_after`, releasing
    /// `owner`'s lease — progress, not a failure: its attempts start again. Returns whether
    /// `owner` still held the lease.
    pub async fn reschedule_job(
        &self,
        id: Uuid,
        owner: &str,
        step: &str,
        run_after: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.update_leased(id, owner, now, |update| {
            update
                .col_expr(job::Column::State, Expr::value(JobState::Queued.to_db()))
                .col_expr(job::Column::Step, Expr::value(step))
                .col_expr(job::Column::Attempts, Expr::value(0))
                .col_expr(job::Column::RunAfter, Expr::value(run_after))
                .col_expr(job::Column::LeaseOwner, Expr::value(Option::<String>::None))
                .col_expr(
                    job::Column::LeaseExpiresAt,
                    Expr::value(Option::<DateTime<Utc>>::None),
                )
        })
        .await
    }

    /// Completes job `id` at `step`; returns whether `owner` still held the lease.
    pub async fn complete_job(
        &self,
        id: Uuid,
        owner: &str,
        step: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.update_leased(id, owner, now, |update| {
            update
                .col_expr(job::Column::State, Expr::value(JobState::Succeeded.to_db()))
                .col_expr(job::Column::Step, Expr::value(step))
                .col_expr(job::Column::LeaseOwner, Expr::value(Option::<String>::None))
                .col_expr(
                    job::Column::LeaseExpiresAt,
                    Expr::value(Option::<DateTime<Utc>>::None),
                )
        })
        .await
    }

    /// Records the failure `code` of job `id`: with `retry_at`, it is queued again for
    /// then (same step); without, it has failed for good. Returns whether `owner` still
    /// held the lease.
    pub async fn fail_job(
        &self,
        id: Uuid,
        owner: &str,
        code: &str,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.update_leased(id, owner, now, |update| {
            let update = update
                .col_expr(job::Column::LastErrorCode, Expr::value(code))
                .col_expr(job::Column::LeaseOwner, Expr::value(Option::<String>::None))
                .col_expr(
                    job::Column::LeaseExpiresAt,
                    Expr::value(Option::<DateTime<Utc>>::None),
                );
            match retry_at {
                Some(at) => update
                    .col_expr(job::Column::State, Expr::value(JobState::Queued.to_db()))
                    .col_expr(job::Column::RunAfter, Expr::value(at)),
                None => update.col_expr(job::Column::State, Expr::value(JobState::Failed.to_db())),
            }
        })
        .await
    }

    /// Holds job `id` at its step until [`Store::release_held_jobs`] (or its deadline),
    /// recording why as `code` and releasing `owner`'s lease — not a failure: its attempts
    /// start again. Returns whether `owner` still held the lease.
    pub async fn hold_job(
        &self,
        id: Uuid,
        owner: &str,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.update_leased(id, owner, now, |update| {
            update
                .col_expr(job::Column::State, Expr::value(JobState::Held.to_db()))
                .col_expr(job::Column::Attempts, Expr::value(0))
                .col_expr(job::Column::LastErrorCode, Expr::value(code))
                .col_expr(job::Column::LeaseOwner, Expr::value(Option::<String>::None))
                .col_expr(
                    job::Column::LeaseExpiresAt,
                    Expr::value(Option::<DateTime<Utc>>::None),
                )
        })
        .await
    }

    /// Queues every held job of the account again, due at `now` (the runner asks the
    /// consent decision again before their next step); returns how many.
    pub async fn release_held_jobs(
        &self,
        account: Uuid,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        Ok(job::Entity::update_many()
            .col_expr(job::Column::State, Expr::value(JobState::Queued.to_db()))
            .col_expr(job::Column::RunAfter, Expr::value(now))
            .col_expr(job::Column::UpdatedAt, Expr::value(now))
            .filter(job::Column::AccountId.eq(account))
            .filter(job::Column::State.eq(JobState::Held.to_db()))
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?
            .rows_affected)
    }

    /// Cancels job `id` unless it already ended; a worker holding its lease loses it (its
    /// next change is refused). Returns whether this call cancelled it.
    pub async fn cancel_job(&self, id: Uuid, now: DateTime<Utc>) -> Result<bool, StoreError> {
        Ok(cancel_unfinished(job::Column::Id.eq(id), now)
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?
            .rows_affected
            > 0)
    }

    /// Cancels every queued, running or held job acting for the account (a video in progress
    /// must not write into an account being erased); returns how many.
    pub async fn cancel_jobs_of_account(
        &self,
        account: Uuid,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        Ok(cancel_unfinished(job::Column::AccountId.eq(account), now)
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?
            .rows_affected)
    }

    async fn update_leased(
        &self,
        id: Uuid,
        owner: &str,
        now: DateTime<Utc>,
        set: impl FnOnce(sea_orm::UpdateMany<job::Entity>) -> sea_orm::UpdateMany<job::Entity>,
    ) -> Result<bool, StoreError> {
        let update = job::Entity::update_many()
            .col_expr(job::Column::UpdatedAt, Expr::value(now))
            .filter(leased(id, owner));
        let result = set(update)
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?;
        Ok(result.rows_affected > 0)
    }
}

//! Erasure (GDPR Art. 17): a person's request to delete their account, its grace period and
//! cancellation, the legal holds (Art. 17(3)) that keep it from running, and the durable
//! job that erases ([`job`]).
//!
//! `requestAccountDeletion` needs the password (and the TOTP code when TOTP is on); it
//! records an `account_deletions` row and queues the [`job::KIND`] job for the end of the
//! grace period, in one transaction. A second request while one is open answers the open
//! one. Until the grace period ends the person may cancel (the job is cancelled with it). A
//! legal hold in force when the request is made, or when the job starts, holds the request:
//! it is answered but does not run, and the person is told the ground (never the note) by
//! a notification and by `DataRequest.legalHoldGrounds`. Releasing the last hold queues the
//! erasure again.

pub mod job;
pub mod unverified;

use chrono::{DateTime, TimeDelta, Utc};
use icecone_store::accounts::AccountRecord;
use icecone_store::erasure::{AccountDeletion, CancelDeletion, DeletionState, LegalHold};
use icecone_store::jobs::NewJob;
use icecone_store::{Store, StoreError};
use uuid::Uuid;

use crate::audit::{self, AuditEvent};
use crate::auth::login::{self, LogInError};
use crate::auth::mfa::{self, MfaError};
use crate::keys::vault::{Field, Vault};
use crate::notify::{self, NotificationKind};

/// An Art. 17(3) ground on which erasure is held back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HoldGround {
    /// Art. 17(3)(a): exercising the right of freedom of expression and information.
    FreedomOfExpression,
    /// Art. 17(3)(b): compliance with a legal obligation.
    LegalObligation,
    /// Art. 17(3)(c): public interest in the area of public health.
    PublicHealth,
    /// Art. 17(3)(d): archiving in the public interest, scientific or historical research
    /// or statistics.
    ArchivingResearch,
    /// Art. 17(3)(e): the establishment, exercise or defence of legal claims.
    LegalClaims,
}

impl HoldGround {
    /// Every ground.
    pub const ALL: [Self; 5] = [
        Self::FreedomOfExpression,
        Self::LegalObligation,
        Self::PublicHealth,
        Self::ArchivingResearch,
        Self::LegalClaims,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FreedomOfExpression => "FREEDOM_OF_EXPRESSION",
            Self::LegalObligation => "LEGAL_OBLIGATION",
            Self::PublicHealth => "PUBLIC_HEALTH",
            Self::ArchivingResearch => "ARCHIVING_RESEARCH",
            Self::LegalClaims => "LEGAL_CLAIMS",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|ground| ground.as_str() == text)
    }
}

/// Why a deletion request or a hold was refused.
#[derive(Debug, thiserror::Error)]
pub enum ErasureError {
    /// The password is wrong.
    #[error("the password is wrong")]
    WrongPassword,
    /// TOTP is on and no code was given.
    #[error("a second-factor code is needed")]
    CodeRequired,
    /// The TOTP code is wrong or was used already.
    #[error("the code is not valid")]
    WrongCode,
    /// No open deletion request to cancel.
    #[error("there is no deletion request to cancel")]
    NoRequest,
    /// The grace period is over.
    #[error("the grace period is over: the erasure cannot be cancelled any more")]
    TooLate,
    /// No such account.
    #[error("no such account")]
    NotFound,
    /// The signed-in account was erased while the request ran.
    #[error("the account no longer exists")]
    AccountGone,
    /// Log-in machinery failed or throttled.
    #[error(transparent)]
    LogIn(#[from] LogInError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Anything else (vault, audit, notification).
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<MfaError> for ErasureError {
    fn from(error: MfaError) -> Self {
        match error {
            MfaError::WrongCode | MfaError::NotEnrolled => Self::WrongCode,
            MfaError::LogIn(error) => Self::LogIn(error),
            other => Self::Other(anyhow::Error::new(other)),
        }
    }
}

/// The note of a legal hold, sealed under the held person's key.
pub fn note_field(hold: &str) -> Field<'_> {
    Field {
        table: "legal_holds",
        column: "note_sealed",
        row_id: hold,
    }
}

fn account_ref(account: Uuid) -> String {
    format!("account:{account}")
}

/// Now, to the microsecond (what PostgreSQL keeps).
fn now() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}

/// Checks the password as log-in does (the attempt reserved in the log-in throttle of the
/// account's e-mail before Argon2id runs), then the TOTP code if TOTP is on.
async fn reauthenticate(
    cx: crate::context::Context<'_>,
    account: &AccountRecord,
    password: String,
    code: Option<&str>,
) -> Result<(), ErasureError> {
    let bucket = icecone_store::attempts::email_bucket(&account.email_index);
    let stored = Some(account.password_hash.clone());
    if !login::check_password(cx.store, &bucket, stored, password, Utc::now()).await? {
        return Err(ErasureError::WrongPassword);
    }
    let totp_on = cx
        .store
        .totp_factor(account.id)
        .await?
        .is_some_and(|factor| factor.confirmed_at.is_some());
    if totp_on {
        let code = code.ok_or(ErasureError::CodeRequired)?;
        if !mfa::check_totp(cx.store, cx.vault, account, code).await? {
            return Err(ErasureError::WrongCode);
        }
    }
    Ok(())
}

/// Tells the person their erasure is held, naming each ground (sealed in the payload).
async fn tell_held(
    store: &Store,
    vault: &Vault,
    account: &AccountRecord,
    holds: &[LegalHold],
) -> anyhow::Result<()> {
    let mut grounds: Vec<&str> = holds.iter().map(|hold| hold.ground.as_str()).collect();
    grounds.sort_unstable();
    grounds.dedup();
    notify::enqueue_with_token(
        store,
        vault,
        (account.id, account.subject),
        NotificationKind::ErasureHeld,
        &grounds.join(","),
    )
    .await?;
    Ok(())
}

/// A deletion request of `account` made at `requested_at`, and the job that runs it at
/// `runs_at`: what [`Store::request_account_deletion`] records in one transaction.
fn deletion(
    account: Uuid,
    requested_at: DateTime<Utc>,
    runs_at: DateTime<Utc>,
) -> (AccountDeletion, NewJob) {
    let id = Uuid::new_v4();
    let job = NewJob {
        id: Uuid::new_v4(),
        kind: job::KIND.to_owned(),
        // Not the account: the job row outlives the erasure and must name no one.
        account: None,
        subject: id.to_string(),
        step: job::START.to_owned(),
        max_attempts: job::MAX_ATTEMPTS,
        run_after: runs_at,
        deadline: None,
    };
    let request = AccountDeletion {
        id,
        account,
        state: DeletionState::Pending,
        requested_at,
        runs_at,
        cancelled_at: None,
        job: Some(job.id),
    };
    (request, job)
}

/// `requestAccountDeletion`: re-authenticates, then records the request and queues its
/// job for `now + grace` — or answers the open request.
pub async fn request(
    cx: crate::context::Context<'_>,
    account: &AccountRecord,
    password: String,
    code: Option<&str>,
    grace: std::time::Duration,
    billing_records: std::time::Duration,
) -> Result<AccountDeletion, ErasureError> {
    reauthenticate(cx, account, password, code).await?;
    if let Some(open) = cx.store.open_account_deletion(account.id).await? {
        return Ok(open);
    }
    let requested_at = now();
    let runs_at = requested_at + TimeDelta::from_std(grace).unwrap_or(TimeDelta::MAX);
    let (request, job) = deletion(account.id, requested_at, runs_at);
    let (mut stored, created) = match cx
        .store
        .request_account_deletion(&request, &job, requested_at)
        .await
    {
        Ok(answer) => answer,
        // Erased between reading the account and recording the request (a foreign key
        // refused the row): the caller's account is gone.
        Err(_) if cx.store.account(account.id).await?.is_none() => {
            return Err(ErasureError::AccountGone);
        }
        Err(error) => return Err(error.into()),
    };
    if !created {
        return Ok(stored);
    }
    let actor = account_ref(account.id);
    audit::record(
        cx.store,
        cx.vault,
        AuditEvent {
            actor: &actor,
            action: "rights.erasure_requested",
            target: Some(&actor),
            reason: None,
            request_id: cx.request_id,
        },
    )
    .await
    .map_err(anyhow::Error::new)?;
    notify::enqueue(
        cx.store,
        account.id,
        NotificationKind::AccountDeletionRequested,
    )
    .await
    .map_err(anyhow::Error::new)?;
    if !cx.store.billing_invoices(account.id).await?.is_empty() {
        // The person is told which records outlive the erasure, and why (Art. 12(1), 17(3)(b)).
        notify::enqueue_with_token(
            cx.store,
            cx.vault,
            (account.id, account.subject),
            NotificationKind::BillingRecordsKept,
            &crate::settings::duration_text(billing_records),
        )
        .await
        .map_err(anyhow::Error::new)?;
    }
    let holds = cx.store.active_legal_holds(account.id).await?;
    if !holds.is_empty() {
        cx.store
            .set_account_deletion_state(stored.id, DeletionState::Held, None)
            .await?;
        stored.state = DeletionState::Held;
        tell_held(cx.store, cx.vault, account, &holds).await?;
    }
    Ok(stored)
}

/// `cancelAccountDeletion`: cancels the open request and its job within the grace period.
pub async fn cancel(cx: crate::context::Context<'_>, account: Uuid) -> Result<(), ErasureError> {
    let now = now();
    match cx.store.cancel_account_deletion(account, now).await? {
        CancelDeletion::NoRequest => Err(ErasureError::NoRequest),
        CancelDeletion::TooLate => Err(ErasureError::TooLate),
        CancelDeletion::Cancelled(job) => {
            if let Some(job) = job {
                cx.store.cancel_job(job, now).await?;
            }
            let actor = account_ref(account);
            audit::record(
                cx.store,
                cx.vault,
                AuditEvent {
                    actor: &actor,
                    action: "rights.erasure_cancelled",
                    target: Some(&actor),
                    reason: None,
                    request_id: cx.request_id,
                },
            )
            .await
            .map_err(anyhow::Error::new)?;
            Ok(())
        }
    }
}

/// `setLegalHold`: DPO staff hold a person's erasure on `ground`, with a note sealed
/// under the person's key; audited (with the note as the sealed reason) before it happens.
/// An open deletion request is held at once and the person told.
pub async fn set_hold(
    cx: crate::context::Context<'_>,
    staff: Uuid,
    target: Uuid,
    ground: HoldGround,
    note: &str,
) -> Result<LegalHold, ErasureError> {
    let account = cx
        .store
        .account(target)
        .await?
        .ok_or(ErasureError::NotFound)?;
    let actor = account_ref(staff);
    let target_ref = account_ref(target);
    audit::record(
        cx.store,
        cx.vault,
        AuditEvent {
            actor: &actor,
            action: "dpo.legal_hold_set",
            target: Some(&target_ref),
            reason: Some(note),
            request_id: cx.request_id,
        },
    )
    .await
    .map_err(anyhow::Error::new)?;
    let id = Uuid::new_v4();
    let note_sealed = cx
        .vault
        .seal(
            account.subject,
            note_field(&id.to_string()),
            note.as_bytes(),
        )
        .await
        .map_err(anyhow::Error::new)?;
    let hold = LegalHold {
        id,
        account: target,
        ground: ground.as_str().to_owned(),
        note_sealed,
        set_by: staff,
        set_at: now(),
        released_at: None,
    };
    cx.store.place_legal_hold(&hold).await?;
    if let Some(open) = cx.store.open_account_deletion(target).await?
        && open.state != DeletionState::Running
    {
        cx.store
            .set_account_deletion_state(open.id, DeletionState::Held, None)
            .await?;
        tell_held(cx.store, cx.vault, &account, std::slice::from_ref(&hold)).await?;
    }
    Ok(hold)
}

/// `releaseLegalHold`: releases every hold on the account, audited with the reason; a held
/// deletion request is queued again (at once when its grace period is over). Returns
/// whether a hold was released.
pub async fn release_holds(
    cx: crate::context::Context<'_>,
    staff: Uuid,
    target: Uuid,
    reason: &str,
) -> Result<bool, ErasureError> {
    if cx.store.account(target).await?.is_none() {
        return Err(ErasureError::NotFound);
    }
    let actor = account_ref(staff);
    let target_ref = account_ref(target);
    audit::record(
        cx.store,
        cx.vault,
        AuditEvent {
            actor: &actor,
            action: "dpo.legal_hold_released",
            target: Some(&target_ref),
            reason: Some(reason),
            request_id: cx.request_id,
        },
    )
    .await
    .map_err(anyhow::Error::new)?;
    let now = now();
    let released = cx.store.release_legal_holds(target, staff, now).await?;
    if let Some(open) = cx.store.open_account_deletion(target).await?
        && open.state == DeletionState::Held
    {
        let job = NewJob {
            id: Uuid::new_v4(),
            kind: job::KIND.to_owned(),
            account: None,
            subject: open.id.to_string(),
            step: job::START.to_owned(),
            max_attempts: job::MAX_ATTEMPTS,
            run_after: open.runs_at.max(now),
            deadline: None,
        };
        cx.store.enqueue_job(&job, now).await?;
        cx.store
            .set_account_deletion_state(open.id, DeletionState::Pending, Some(job.id))
            .await?;
    }
    Ok(released > 0)
}

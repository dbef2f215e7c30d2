//! Data subject rights as tracked requests (GDPR Art. 12 to 21): what a person asks for, what
//! DPO staff do about it, and the history and audit entry of every step.
//!
//! The lifecycle and the deadlines are `icecone_core::rights` (pure); this module reads a
//! request, asks core whether the step is allowed, records it in the audit trail (before it
//! happens, like every staff action) and makes it one compare-and-set in the store — so two
//! DPO staff acting at once cannot both complete a request, and a job and a DPO cannot both
//! close it. Exports are built by a durable job ([`export`]); messages to the DPO are
//! [`tickets`].

use chrono::{DateTime, Utc};
use icecone_core::identity::staff_access::StaffReason;
use icecone_core::rights::{
    self, DataRequestEvent, DataRequestKind, DataRequestStatus, Deadline, ExtensionRefused,
    InvalidTransition,
};
use icecone_store::Store;
use icecone_store::data_requests::{
    DataRequestRecord, ExportAdmission, NewDataRequest, Transition,
};
use icecone_store::jobs::NewJob;
use uuid::Uuid;

use crate::audit::{self, AuditEvent};
use crate::keys::vault::{Field, Vault};
use crate::notify::{self, NotificationKind};

pub mod export;
pub mod tickets;

/// The actor of a step the person took.
pub const SUBJECT: &str = "subject";
/// The actor of a step the gateway took (a job).
pub const SYSTEM: &str = "system";

/// Why a data request could not be made or changed.
#[derive(Debug, thiserror::Error)]
pub enum RightsError {
    /// An erasure of the account is pending: nothing is exported from an account about to
    /// be erased.
    #[error("an erasure of this account is pending")]
    ErasurePending,
    /// The account asked for as many exports as a day allows
    /// (`icecone_core::rights::EXPORTS_PER_WINDOW`).
    #[error("too many export requests: try again later")]
    TooManyExports {
        /// Seconds until the next may be asked for.
        retry_after_seconds: u64,
    },
    /// No such request.
    #[error("no such data request")]
    NotFound,
    /// The lifecycle does not allow the step.
    #[error(transparent)]
    Transition(#[from] InvalidTransition),
    /// The deadline cannot be extended.
    #[error(transparent)]
    Extension(#[from] ExtensionRefused),
    /// Someone else changed the request first.
    #[error("the data request changed meanwhile: read it again")]
    Changed,
    /// Something failed inside the gateway.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<icecone_store::StoreError> for RightsError {
    fn from(error: icecone_store::StoreError) -> Self {
        Self::Internal(error.into())
    }
}

/// Now, to the microsecond (what PostgreSQL keeps).
pub(crate) fn now() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}

/// The binding of a request's sealed extension reason.
pub fn reason_field(request: &str) -> Field<'_> {
    Field {
        table: "data_requests",
        column: "extension_reason",
        row_id: request,
    }
}

fn new_request(account: Uuid, kind: DataRequestKind, status: DataRequestStatus) -> NewDataRequest {
    let received_at = now();
    NewDataRequest {
        id: Uuid::new_v4(),
        account,
        kind,
        status,
        received_at,
        due_at: rights::due_at(received_at),
    }
}

/// Records an export request of `account` (in the audit trail too) and queues the job
/// that builds it. A person has one open export at a time: while one is open, asking again
/// answers that one (nothing new is recorded or queued), so a document of many aliased
/// `requestDataExport` fields, or many at once, make one export. Refused while an erasure
/// of the account is pending, and beyond core's `EXPORTS_PER_WINDOW` requests a day.
pub async fn request_export(
    store: &Store,
    vault: &Vault,
    account: Uuid,
    request_id: Option<&str>,
) -> Result<DataRequestRecord, RightsError> {
    let new = new_request(
        account,
        DataRequestKind::Export,
        DataRequestStatus::Received,
    );
    let job = NewJob {
        id: Uuid::new_v4(),
        kind: export::KIND.to_owned(),
        account: Some(account),
        subject: new.id.to_string(),
        step: export::BUILD.to_owned(),
        max_attempts: export::MAX_ATTEMPTS,
        run_after: new.received_at,
        deadline: None,
    };
    match store.insert_export_request(&new, SUBJECT, &job).await? {
        ExportAdmission::Queued => {}
        ExportAdmission::AlreadyOpen(open) => return read(store, open).await,
        ExportAdmission::ErasurePending => return Err(RightsError::ErasurePending),
        ExportAdmission::Limited(next) => {
            let wait = (next - new.received_at).num_seconds().max(1);
            return Err(RightsError::TooManyExports {
                retry_after_seconds: u64::try_from(wait).unwrap_or(1),
            });
        }
    }
    let actor = format!("account:{account}");
    let target = audit_target(account, new.id);
    audit::record(
        store,
        vault,
        AuditEvent {
            actor: &actor,
            action: "data_request.export_requested",
            target: Some(&target),
            reason: None,
            request_id,
        },
    )
    .await
    .map_err(|error| RightsError::Internal(error.into()))?;
    read(store, new.id).await
}

/// The person withdraws their open request `id` (GDPR requests are theirs to withdraw): it
/// becomes `CANCELLED` and the job working on it, if any, is cancelled; audited. Someone
/// else's request is [`RightsError::NotFound`]; a closed one a transition error. An erasure
/// is withdrawn with `cancelAccountDeletion` instead: it is not in `data_requests`.
pub async fn withdraw(
    store: &Store,
    vault: &Vault,
    account: Uuid,
    id: Uuid,
    request_id: Option<&str>,
) -> Result<DataRequestRecord, RightsError> {
    let request = read(store, id).await?;
    if request.account != account {
        return Err(RightsError::NotFound);
    }
    let to = rights::transition(request.status, DataRequestEvent::Cancel)?;
    let transition = Transition {
        from: request.status,
        to,
        at: now(),
        actor: SUBJECT,
        note_code: Some("withdrawn"),
    };
    if !store.transition_data_request(id, &transition).await? {
        return Err(RightsError::Changed);
    }
    // A job that already holds its lease finds the request closed and stops there; what
    // it stored of the bundle so far goes now (the purge would take it otherwise).
    for job in store.jobs_for(export::KIND, &id.to_string()).await? {
        store.cancel_job(job.id, now()).await?;
    }
    store.delete_export_chunks(id).await?;
    let actor = format!("account:{account}");
    let target = audit_target(account, id);
    audit::record(
        store,
        vault,
        AuditEvent {
            actor: &actor,
            action: "data_request.withdrawn",
            target: Some(&target),
            reason: None,
            request_id,
        },
    )
    .await
    .map_err(|error| RightsError::Internal(error.into()))?;
    read(store, id).await
}

/// Records a right that took effect at once (restriction, objection) as a completed
/// request with its history; `note_code` says what was done (`restricted`, ...).
pub async fn record_immediate(
    store: &Store,
    account: Uuid,
    kind: DataRequestKind,
    note_code: &str,
) -> Result<DataRequestRecord, RightsError> {
    let new = new_request(account, kind, DataRequestStatus::Completed);
    store
        .insert_data_request(&new, SUBJECT, Some(note_code))
        .await?;
    store
        .data_request(new.id)
        .await?
        .ok_or_else(|| RightsError::Internal(anyhow::anyhow!("a stored request is gone")))
}

/// Who acts on a request from the staff console, and in which request.
#[derive(Debug, Clone, Copy)]
pub struct StaffAct<'a> {
    /// The staff member's account.
    pub staff: Uuid,
    /// The written reason (sealed in the audit trail).
    pub reason: &'a StaffReason,
    /// The request id, for the audit trail.
    pub request_id: Option<&'a str>,
}

/// The audit trail's target of a step on `account`'s request `id`: the account first, so
/// that the person's export finds it; the request id in its simple form, to fit the column.
pub(crate) fn audit_target(account: Uuid, id: Uuid) -> String {
    format!("account:{account}:dr:{}", id.simple())
}

fn staff_actor(staff: Uuid) -> String {
    format!("staff:{staff}")
}

async fn audit_step(
    store: &Store,
    vault: &Vault,
    act: StaffAct<'_>,
    action: &str,
    request: &DataRequestRecord,
) -> Result<(), RightsError> {
    let actor = format!("account:{}", act.staff);
    let target = audit_target(request.account, request.id);
    audit::record(
        store,
        vault,
        AuditEvent {
            actor: &actor,
            action,
            target: Some(&target),
            reason: Some(act.reason.as_str()),
            request_id: act.request_id,
        },
    )
    .await
    .map_err(|error| RightsError::Internal(error.into()))?;
    Ok(())
}

async fn read(store: &Store, id: Uuid) -> Result<DataRequestRecord, RightsError> {
    store.data_request(id).await?.ok_or(RightsError::NotFound)
}

/// DPO completes (`Complete`) or denies (`Deny`) request `id`, with a reason recorded in the
/// audit trail before the change.
pub async fn close(
    store: &Store,
    vault: &Vault,
    act: StaffAct<'_>,
    id: Uuid,
    event: DataRequestEvent,
) -> Result<DataRequestRecord, RightsError> {
    let request = read(store, id).await?;
    let to = rights::transition(request.status, event)?;
    let (action, note) = match event {
        DataRequestEvent::Deny => ("data_request.deny", "denied"),
        _ => ("data_request.complete", "completed_by_staff"),
    };
    audit_step(store, vault, act, action, &request).await?;
    let actor = staff_actor(act.staff);
    let transition = Transition {
        from: request.status,
        to,
        at: now(),
        actor: &actor,
        note_code: Some(note),
    };
    if !store.transition_data_request(id, &transition).await? {
        return Err(RightsError::Changed);
    }
    read(store, id).await
}

/// DPO extends request `id` by `months` (1 or 2) with a reason, which is sealed under the
/// person's key on the request and told to them through the notification outbox.
pub async fn extend(
    store: &Store,
    vault: &Vault,
    act: StaffAct<'_>,
    id: Uuid,
    months: u32,
) -> Result<DataRequestRecord, RightsError> {
    let request = read(store, id).await?;
    let to = rights::transition(request.status, DataRequestEvent::Extend)?;
    let at = now();
    let extended =
        Deadline::from_parts(request.received_at, request.due_at, request.extended_due_at)
            .extend(at, months)?;
    let owner = store
        .account(request.account)
        .await?
        .ok_or(RightsError::NotFound)?;
    audit_step(store, vault, act, "data_request.extend", &request).await?;
    let sealed = vault
        .seal(
            owner.subject,
            reason_field(&id.to_string()),
            act.reason.as_str().as_bytes(),
        )
        .await
        .map_err(|error| RightsError::Internal(error.into()))?;
    let actor = staff_actor(act.staff);
    let transition = Transition {
        from: request.status,
        to,
        at,
        actor: &actor,
        note_code: Some("extended"),
    };
    let Some(until) = extended.extended_due_at() else {
        return Err(RightsError::Internal(anyhow::anyhow!(
            "an extended deadline without its date"
        )));
    };
    if !store
        .extend_data_request(id, &transition, until, sealed)
        .await?
    {
        return Err(RightsError::Changed);
    }
    notify::enqueue_with_token(
        store,
        vault,
        (owner.id, owner.subject),
        NotificationKind::DataRequestExtended,
        act.reason.as_str(),
    )
    .await
    .map_err(|error| RightsError::Internal(error.into()))?;
    read(store, id).await
}

//! Data subject rights: `requestDataExport`, `contactPrivacyOfficer`, the `DataRequest`
//! type (`me { dataRequests }`, and DPO's `dataRequests` in the staff console).

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use icecone_core::rights::{DataRequestStatus, Deadline};
use icecone_store::accounts::AccountRecord;
use icecone_store::data_requests::DataRequestRecord;
use icecone_store::erasure::{AccountDeletion, DeletionState};

use super::caller::{services, viewer_account};
use super::classification::essential;
use super::consent::PurposeValue;
use super::data_request::LegalHoldGroundValue;
use super::error::{ApiError, internal};
use crate::request::RequestId;
use icecone_app::analytics::Happened;
use icecone_app::auth::viewer::Viewer;
use icecone_app::erasure::HoldGround;
use icecone_app::rights::tickets::{self, OpenedTicket, TicketInput};
use icecone_app::rights::{self, export};

/// Which right a data request exercises (GDPR Art. 15 to 21).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(
    name = "DataRequestKind",
    remote = "icecone_core::rights::DataRequestKind"
)]
pub(crate) enum DataRequestKindValue {
    /// A copy of the data (Art. 15).
    Access,
    /// The data in a machine-readable format (Art. 20).
    Export,
    /// Correction (Art. 16).
    Rectification,
    /// Erasure (Art. 17).
    Erasure,
    /// Restriction of processing (Art. 18).
    Restriction,
    /// Objection to processing (Art. 21).
    Objection,
}

/// Where a data request stands.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(
    name = "DataRequestStatus",
    remote = "icecone_core::rights::DataRequestStatus"
)]
pub(crate) enum DataRequestStatusValue {
    /// Received, not yet worked on.
    Received,
    /// Being worked on.
    InProgress,
    /// Done.
    Completed,
    /// Its deadline was extended, with a reason told to the person; still open.
    Extended,
    /// Refused, with a reason.
    Denied,
    /// Withdrawn by the person.
    Cancelled,
}

/// Who looks at a request: its owner (who sees the download link and the extension's
/// reason) or DPO staff (who see neither).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reader {
    Owner,
    Staff,
}

/// A data subject request: one tracked in `data_requests` (access, export, restriction,
/// objection), or an erasure, tracked by its account deletion request (its grace period
/// and legal holds) and erased with the person.
pub(crate) enum DataRequest {
    /// A request in `data_requests`, as its owner or DPO staff see it.
    Tracked {
        record: DataRequestRecord,
        reader: Reader,
    },
    /// An erasure request, with the grounds of the legal holds in force.
    Erasure {
        deletion: AccountDeletion,
        grounds: Vec<HoldGround>,
    },
}

impl DataRequest {
    pub(crate) fn new(record: DataRequestRecord, reader: Reader) -> Self {
        Self::Tracked { record, reader }
    }

    /// An erasure request, with the grounds of the legal holds in force.
    pub(crate) fn erasure(deletion: AccountDeletion, grounds: Vec<HoldGround>) -> Self {
        Self::Erasure { deletion, grounds }
    }

    fn tracked(&self) -> Option<(&DataRequestRecord, Reader)> {
        match self {
            Self::Tracked { record, reader } => Some((record, *reader)),
            Self::Erasure { .. } => None,
        }
    }

    fn deadline(&self) -> Deadline {
        match self {
            Self::Tracked { record, .. } => {
                Deadline::from_parts(record.received_at, record.due_at, record.extended_due_at)
            }
            // One calendar month from receipt, as for every request (GDPR Art. 12(3)).
            Self::Erasure { deletion, .. } => Deadline::new(deletion.requested_at),
        }
    }

    /// Where it stands. An erasure held by a legal hold is `DENIED` until the hold is
    /// released.
    pub(crate) fn status(&self) -> DataRequestStatus {
        match self {
            Self::Tracked { record, .. } => record.status,
            Self::Erasure { deletion, .. } => match deletion.state {
                DeletionState::Pending => DataRequestStatus::Received,
                DeletionState::Held => DataRequestStatus::Denied,
                DeletionState::Running => DataRequestStatus::InProgress,
                DeletionState::Cancelled => DataRequestStatus::Cancelled,
            },
        }
    }

    /// Whether it is open and past its due date at `now`.
    pub(crate) fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        self.deadline().is_overdue(self.status(), now)
    }

    fn uuid(&self) -> uuid::Uuid {
        match self {
            Self::Tracked { record, .. } => record.id,
            Self::Erasure { deletion, .. } => deletion.id,
        }
    }

    /// The order of a list by due date (then id, for a stable order).
    pub(crate) fn due_order(&self) -> (DateTime<Utc>, uuid::Uuid) {
        (self.deadline().effective_due_at(), self.uuid())
    }

    /// The order of a list by receipt (then id, for a stable order).
    pub(crate) fn received_order(&self) -> (DateTime<Utc>, uuid::Uuid) {
        (self.deadline().received_at(), self.uuid())
    }
}

/// One step in a request's history.
#[derive(SimpleObject)]
#[graphql(directive = essential::apply(PurposeValue::LegalCompliance))]
pub(crate) struct DataRequestHistoryEntry {
    /// When.
    at: DateTime<Utc>,
    /// The status before (`null` for its receipt).
    from: Option<DataRequestStatusValue>,
    /// The status after.
    to: DataRequestStatusValue,
    /// Who: `subject` (the person), `staff:<id>` or `system`.
    actor: String,
    /// What was done, as a code (`export_ready`, `extended`, `restricted`, ...).
    note: Option<String>,
}

#[Object(directive = essential::apply(PurposeValue::LegalCompliance))]
impl DataRequest {
    /// The request's id.
    async fn id(&self) -> ID {
        ID(self.uuid().to_string())
    }

    /// The account that made it.
    async fn account_id(&self) -> ID {
        match self {
            Self::Tracked { record, .. } => ID(record.account.to_string()),
            Self::Erasure { deletion, .. } => ID(deletion.account.to_string()),
        }
    }

    /// Which right.
    async fn kind(&self) -> DataRequestKindValue {
        match self {
            Self::Tracked { record, .. } => record.kind.into(),
            Self::Erasure { .. } => DataRequestKindValue::Erasure,
        }
    }

    /// Where it stands. An erasure held by a legal hold is `DENIED` (`legalHoldGrounds`
    /// says why) until the hold is released.
    #[graphql(name = "status")]
    async fn status_field(&self) -> DataRequestStatusValue {
        self.status().into()
    }

    /// When it was received.
    async fn received_at(&self) -> DateTime<Utc> {
        self.deadline().received_at()
    }

    /// When it is due: one calendar month after receipt, or the extended due date once
    /// extended (GDPR Art. 12(3)).
    async fn due_at(&self) -> DateTime<Utc> {
        self.deadline().effective_due_at()
    }

    /// The extended due date, once extended.
    async fn extended_due_at(&self) -> Option<DateTime<Utc>> {
        self.tracked()
            .and_then(|(record, _)| record.extended_due_at)
    }

    /// Why the deadline was extended (shown to the person only).
    async fn extension_reason(&self, ctx: &Context<'_>) -> Result<Option<String>, ApiError> {
        let Some((record, Reader::Owner)) = self.tracked() else {
            return Ok(None);
        };
        let Some(sealed) = &record.extension_reason_sealed else {
            return Ok(None);
        };
        let services = services(ctx)?;
        let (_, owner) = viewer_account(ctx).await?;
        let plain = services
            .vault
            .open_field(
                owner.subject,
                rights::reason_field(&record.id.to_string()),
                sealed,
            )
            .await
            .map_err(internal)?;
        Ok(Some(String::from_utf8_lossy(&plain).into_owned()))
    }

    /// Whether it is open and past its due date.
    async fn overdue(&self) -> bool {
        self.is_overdue(Utc::now())
    }

    /// When it was completed, denied or cancelled.
    async fn completed_at(&self) -> Option<DateTime<Utc>> {
        match self {
            Self::Tracked { record, .. } => record.completed_at,
            Self::Erasure { deletion, .. } => deletion.cancelled_at,
        }
    }

    /// Where to download a completed export (`GET` with the owner's bearer token): shown
    /// to the owner only, while the single-use link is valid and unused.
    async fn download_url(&self, ctx: &Context<'_>) -> Result<Option<String>, ApiError> {
        let Some((record, Reader::Owner)) = self.tracked() else {
            return Ok(None);
        };
        let live = record.download_used_at.is_none()
            && record
                .download_expires_at
                .is_some_and(|expires| expires > Utc::now());
        if !live {
            return Ok(None);
        }
        Ok(Some(export::download_path(
            &services(ctx)?.vault,
            record.id,
        )))
    }

    /// When the download link expires.
    async fn download_expires_at(&self) -> Option<DateTime<Utc>> {
        self.tracked()
            .and_then(|(record, _)| record.download_expires_at)
    }

    /// For an erasure: when it runs — the end of the grace period, until which
    /// `cancelAccountDeletion` works.
    async fn erasure_runs_at(&self) -> Option<DateTime<Utc>> {
        match self {
            Self::Erasure { deletion, .. } => Some(deletion.runs_at),
            Self::Tracked { .. } => None,
        }
    }

    /// For an erasure held back: the Art. 17(3) grounds of the legal holds in force.
    async fn legal_hold_grounds(&self) -> Vec<LegalHoldGroundValue> {
        match self {
            Self::Erasure { grounds, .. } => {
                grounds.iter().map(|ground| (*ground).into()).collect()
            }
            Self::Tracked { .. } => Vec::new(),
        }
    }

    /// Its history, oldest first.
    async fn history(&self, ctx: &Context<'_>) -> Result<Vec<DataRequestHistoryEntry>, ApiError> {
        let Some((record, _)) = self.tracked() else {
            return Ok(Vec::new());
        };
        let events = services(ctx)?
            .store
            .data_request_events(record.id)
            .await
            .map_err(internal)?;
        Ok(events
            .into_iter()
            .map(|event| DataRequestHistoryEntry {
                at: event.at,
                from: event.from.map(Into::into),
                to: event.to.into(),
                actor: event.actor,
                note: event.note_code,
            })
            .collect())
    }
}

/// The person's own requests, newest first.
pub(crate) async fn requests_of(
    ctx: &Context<'_>,
    account: uuid::Uuid,
) -> Result<Vec<DataRequest>, ApiError> {
    let store = &services(ctx)?.store;
    let mut requests: Vec<DataRequest> = store
        .data_requests_of(account)
        .await
        .map_err(internal)?
        .into_iter()
        .map(|record| DataRequest::new(record, Reader::Owner))
        .collect();
    for deletion in store
        .account_deletions_of(account)
        .await
        .map_err(internal)?
    {
        requests.push(super::erasure::data_request_of(ctx, deletion).await?);
    }
    requests.sort_by_key(|request| std::cmp::Reverse(request.received_order()));
    Ok(requests)
}

/// A message to the data protection officer.
#[derive(InputObject, Debug)]
#[graphql(name = "PrivacyTicketInput")]
pub(crate) struct PrivacyTicketInput {
    /// Where the DPO can answer: required when not signed in.
    email: Option<String>,
    /// The subject line (1 to 200 characters).
    subject: String,
    /// The message (1 to 5000 characters).
    message: String,
}

/// Where a message to the data protection officer stands.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(
    name = "PrivacyTicketStatus",
    remote = "icecone_core::privacy_ticket::TicketStatus"
)]
pub(crate) enum PrivacyTicketStatusValue {
    /// Received, not yet answered.
    Open,
    /// Answered by the data protection officer (it may be answered again).
    Answered,
    /// Closed: it is not answered any more; write a new message instead.
    Closed,
}

/// What happened to a message to the data protection officer.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(
    name = "PrivacyTicketEventKind",
    remote = "icecone_core::privacy_ticket::TicketEventKind"
)]
pub(crate) enum PrivacyTicketEventKindValue {
    /// It arrived.
    Received,
    /// The data protection officer answered it.
    Answered,
    /// The data protection officer closed it.
    Closed,
}

/// A reply of IceCone's Data Protection Officer.
#[derive(SimpleObject)]
#[graphql(directive = essential::apply(PurposeValue::LegalCompliance))]
pub(crate) struct PrivacyTicketReply {
    /// When it was sent.
    sent_at: DateTime<Utc>,
    /// The reply.
    message: String,
}

/// A message received by the data protection officer, as its sender sees it: what they
/// wrote, where it stands and the replies (from "the Data Protection Officer", never a
/// named member of staff).
#[derive(SimpleObject)]
#[graphql(directive = essential::apply(PurposeValue::LegalCompliance))]
pub(crate) struct PrivacyTicket {
    /// Its id (quote it in later messages).
    id: ID,
    /// The subject line.
    subject: String,
    /// The message.
    message: String,
    /// When it arrived.
    received_at: DateTime<Utc>,
    /// Where it stands.
    status: PrivacyTicketStatusValue,
    /// The data protection officer's replies, oldest first.
    replies: Vec<PrivacyTicketReply>,
}

impl From<OpenedTicket> for PrivacyTicket {
    fn from(ticket: OpenedTicket) -> Self {
        let replies = ticket
            .replies()
            .map(|(at, reply)| PrivacyTicketReply {
                sent_at: *at,
                message: reply.to_owned(),
            })
            .collect();
        Self {
            id: ID(ticket.id.to_string()),
            subject: ticket.subject,
            message: ticket.message,
            received_at: ticket.received_at,
            status: ticket.status.into(),
            replies,
        }
    }
}

/// `me { privacyTickets }`: the person's messages to the DPO, opened.
pub(crate) async fn tickets_of(
    ctx: &Context<'_>,
    person: &AccountRecord,
) -> Result<Vec<PrivacyTicket>, ApiError> {
    let services = services(ctx)?;
    Ok(tickets::read_of(&services.store, &services.vault, person)
        .await
        .map_err(internal)?
        .into_iter()
        .map(PrivacyTicket::from)
        .collect())
}

#[derive(Debug, Default)]
pub(crate) struct RightsMutation;

#[Object]
impl RightsMutation {
    /// Asks for a copy of everything IceCone holds about the viewer, in a machine-readable
    /// bundle (GDPR Art. 15 and 20): a ZIP with `export.json` (schema at
    /// `/schemas/export-v1.json`) and the media of their generations. A job builds it; when
    /// it is ready the request is `COMPLETED` and `downloadUrl` holds a single-use link for
    /// the viewer that expires (7 days by default). One export is open at a time: asking
    /// again while one is open answers that one. `FAILED_PRECONDITION` while an erasure of
    /// the account is pending; `RATE_LIMITED` beyond 3 requests a day.
    async fn request_data_export(&self, ctx: &Context<'_>) -> Result<DataRequest, ApiError> {
        let (_, account) = viewer_account(ctx).await?;
        let services = services(ctx)?;
        let record = rights::request_export(
            &services.store,
            &services.vault,
            account.id,
            ctx.data_opt::<RequestId>().map(|id| id.0.as_str()),
        )
        .await?;
        services
            .analytics
            .capture(
                account.id,
                &Happened::RightExercised(icecone_core::rights::DataRequestKind::Export),
            )
            .await;
        Ok(DataRequest::new(record, Reader::Owner))
    }

    /// Withdraws one of the viewer's open data requests (an export not yet built, for
    /// instance): it becomes `CANCELLED` and its job stops. Another person's or an unknown
    /// id is `NOT_FOUND`, a closed request `FAILED_PRECONDITION`; an erasure is withdrawn
    /// with `cancelAccountDeletion`.
    async fn cancel_data_request(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<DataRequest, ApiError> {
        let (_, account) = viewer_account(ctx).await?;
        let id = uuid::Uuid::try_parse(id.as_str()).map_err(|_| ApiError::NotFound)?;
        let services = services(ctx)?;
        let record = rights::withdraw(
            &services.store,
            &services.vault,
            account.id,
            id,
            ctx.data_opt::<RequestId>().map(|id| id.0.as_str()),
        )
        .await?;
        Ok(DataRequest::new(record, Reader::Owner))
    }

    /// Writes to IceCone's data protection officer, signed in or not (then `email` is
    /// required, to answer). Stored encrypted; limited per client address, per reply
    /// address and per account (`RATE_LIMITED`).
    async fn contact_privacy_officer(
        &self,
        ctx: &Context<'_>,
        input: PrivacyTicketInput,
    ) -> Result<PrivacyTicket, ApiError> {
        let sender = match ctx.data_opt::<Viewer>() {
            Some(Viewer::Account(_)) => Some(viewer_account(ctx).await?.1),
            _ => None,
        };
        let services = services(ctx)?;
        let ticket = tickets::contact(
            &services.store,
            &services.vault,
            sender.as_ref(),
            super::auth::client_address(ctx)?,
            TicketInput {
                email: input.email.as_deref(),
                subject: &input.subject,
                message: &input.message,
            },
        )
        .await?;
        Ok(ticket.into())
    }
}

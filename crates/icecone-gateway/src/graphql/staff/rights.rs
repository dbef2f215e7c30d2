//! DPO's queue of data subject requests: `dataRequests`, `privacyTickets`, and the manual
//! steps `extendDataRequest`, `completeDataRequest`, `denyDataRequest` — each recorded in
//! the audit trail (with its reason) before it happens and in the request's history — and
//! `answerPrivacyTicket`, `closePrivacyTicket`, recorded in the audit trail (who, which
//! ticket, never the text) and in the ticket's history.

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use icecone_core::identity::roles::RoleRule;
use icecone_core::identity::staff_access::StaffReason;
use icecone_core::rights::{DataRequestEvent, DataRequestStatus};

use super::access::{StaffField, requires_mfa, requires_role};
use crate::graphql::arguments;
use crate::graphql::caller::{services, signed_in};
use crate::graphql::classification::essential;
use crate::graphql::consent::PurposeValue;
use crate::graphql::erasure;
use crate::graphql::error::{ApiError, internal};
use crate::graphql::rights::{
    DataRequest, DataRequestStatusValue, PrivacyTicket, PrivacyTicketEventKindValue,
    PrivacyTicketStatusValue, Reader,
};
use crate::request::RequestId;
use icecone_app::audit::{self, AuditEvent};
use icecone_app::rights::tickets::{DpoAct, OpenedTicket};
use icecone_app::rights::{self, StaffAct, tickets};

/// `dataRequests`, `privacyTickets`: DPO or ADMIN, with a second factor in the session.
const READ_REQUESTS: StaffField = StaffField::new(RoleRule::Dpo);
/// `extendDataRequest`, `completeDataRequest`, `denyDataRequest`: DPO or ADMIN, with a
/// second factor within the last five minutes.
const ACT_ON_REQUEST: StaffField = StaffField::fresh(RoleRule::Dpo);

async fn record_read(ctx: &Context<'_>, action: &str, target: &str) -> Result<(), ApiError> {
    let services = services(ctx)?;
    let actor = format!("account:{}", signed_in(ctx)?.account);
    audit::record(
        &services.store,
        &services.vault,
        AuditEvent {
            actor: &actor,
            action,
            target: Some(target),
            reason: None,
            request_id: ctx.data_opt::<RequestId>().map(|id| id.0.as_str()),
        },
    )
    .await
    .map_err(internal)?;
    Ok(())
}

/// A message to the DPO, opened for DPO staff.
#[derive(SimpleObject)]
#[graphql(directive = essential::apply(PurposeValue::LegalCompliance))]
pub(crate) struct PrivacyTicketView {
    /// Its id.
    id: ID,
    /// The sender's account, when they were signed in.
    account_id: Option<ID>,
    /// The reply address given.
    email: Option<String>,
    /// The subject line.
    subject: String,
    /// The message.
    message: String,
    /// When it arrived.
    received_at: DateTime<Utc>,
    /// Where it stands.
    status: PrivacyTicketStatusValue,
    /// What happened to it, oldest first.
    history: Vec<PrivacyTicketEvent>,
}

/// An entry of a ticket's history, for DPO staff.
#[derive(SimpleObject)]
#[graphql(directive = essential::apply(PurposeValue::LegalCompliance))]
pub(crate) struct PrivacyTicketEvent {
    /// When it happened.
    at: DateTime<Utc>,
    /// What happened.
    kind: PrivacyTicketEventKindValue,
    /// The staff member who answered or closed it.
    staff_id: Option<ID>,
    /// The reply sent, for `ANSWERED`.
    reply: Option<String>,
}

impl From<OpenedTicket> for PrivacyTicketView {
    fn from(ticket: OpenedTicket) -> Self {
        Self {
            id: ID(ticket.id.to_string()),
            account_id: ticket.account.map(|id| ID(id.to_string())),
            email: ticket.email,
            subject: ticket.subject,
            message: ticket.message,
            received_at: ticket.received_at,
            status: ticket.status.into(),
            history: ticket
                .history
                .into_iter()
                .map(|event| PrivacyTicketEvent {
                    at: event.at,
                    kind: event.kind.into(),
                    staff_id: event.staff.map(|id| ID(id.to_string())),
                    reply: event.reply,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct RightsStaffQuery;

#[Object]
impl RightsStaffQuery {
    /// Everyone's data subject requests, the earliest due first: those in `status` (all
    /// when not given), and with `overdueOnly: true` only those open past their due date.
    /// Erasures are listed as their account deletion requests stand (received during the
    /// grace period, denied while a legal hold keeps them, in progress while erasing,
    /// cancelled); an erasure that ran leaves only its tombstone and is no longer listed.
    /// The read is recorded in the audit trail first.
    #[graphql(
        guard = READ_REQUESTS.guard(),
        directive = requires_role::apply(READ_REQUESTS.roles()),
        directive = requires_mfa::apply(READ_REQUESTS.fresh_mfa())
    )]
    async fn data_requests(
        &self,
        ctx: &Context<'_>,
        status: Option<DataRequestStatusValue>,
        overdue_only: Option<bool>,
    ) -> Result<Vec<DataRequest>, ApiError> {
        let status = status.map(DataRequestStatus::from);
        let target = format!(
            "data_requests:{}",
            status.map_or("ALL", DataRequestStatus::as_str)
        );
        record_read(ctx, "data_requests.read", &target).await?;
        let store = &services(ctx)?.store;
        let mut requests: Vec<DataRequest> = store
            .data_requests_in(status)
            .await
            .map_err(internal)?
            .into_iter()
            .map(|record| DataRequest::new(record, Reader::Staff))
            .collect();
        for deletion in store.account_deletions().await.map_err(internal)? {
            requests.push(erasure::data_request_of(ctx, deletion).await?);
        }
        let now = Utc::now();
        requests.retain(|request| {
            status.is_none_or(|status| request.status() == status)
                && (!overdue_only.unwrap_or(false) || request.is_overdue(now))
        });
        requests.sort_by_key(DataRequest::due_order);
        Ok(requests)
    }

    /// The messages sent to the DPO (`contactPrivacyOfficer`), newest first, opened, with
    /// where each stands and its history. The read is recorded in the audit trail first.
    #[graphql(
        guard = READ_REQUESTS.guard(),
        directive = requires_role::apply(READ_REQUESTS.roles()),
        directive = requires_mfa::apply(READ_REQUESTS.fresh_mfa())
    )]
    async fn privacy_tickets(&self, ctx: &Context<'_>) -> Result<Vec<PrivacyTicketView>, ApiError> {
        record_read(ctx, "privacy_tickets.read", "privacy_tickets").await?;
        let services = services(ctx)?;
        let opened = tickets::read_all(&services.store, &services.vault)
            .await
            .map_err(internal)?;
        Ok(opened.into_iter().map(PrivacyTicketView::from).collect())
    }
}

#[derive(Debug, Default)]
pub(crate) struct RightsStaffMutation;

fn act<'a>(ctx: &Context<'a>, reason: &'a StaffReason) -> Result<StaffAct<'a>, ApiError> {
    Ok(StaffAct {
        staff: signed_in(ctx)?.account,
        reason,
        request_id: ctx.data_opt::<RequestId>().map(|id| id.0.as_str()),
    })
}

fn dpo_act<'a>(ctx: &Context<'a>) -> Result<DpoAct<'a>, ApiError> {
    Ok(DpoAct {
        staff: signed_in(ctx)?.account,
        request_id: ctx.data_opt::<RequestId>().map(|id| id.0.as_str()),
    })
}

#[Object]
impl RightsStaffMutation {
    /// Answers a message to the DPO with `message` (1 to 5000 characters): the reply is
    /// kept with the ticket (encrypted as the ticket is), sent by e-mail — to the sender's
    /// account, or to the reply address of a message sent without one — and shown in the
    /// sender's `me { privacyTickets }`. The ticket becomes `ANSWERED`; an answered one can
    /// be answered again, a `CLOSED` one is `FAILED_PRECONDITION`. `NOT_FOUND` for an
    /// unknown id. Recorded in the audit trail (who, which ticket; never the text).
    #[graphql(
        guard = ACT_ON_REQUEST.guard(),
        directive = requires_role::apply(ACT_ON_REQUEST.roles()),
        directive = requires_mfa::apply(ACT_ON_REQUEST.fresh_mfa())
    )]
    async fn answer_privacy_ticket(
        &self,
        ctx: &Context<'_>,
        id: ID,
        message: String,
    ) -> Result<PrivacyTicket, ApiError> {
        let id = uuid::Uuid::try_parse(id.as_str()).map_err(|_| ApiError::NotFound)?;
        let services = services(ctx)?;
        let ticket = tickets::answer(
            &services.store,
            &services.vault,
            dpo_act(ctx)?,
            id,
            &message,
        )
        .await?;
        Ok(ticket.into())
    }

    /// Closes a message to the DPO: it is no longer answered (the sender writes a new one).
    /// `FAILED_PRECONDITION` when it is closed already, `NOT_FOUND` for an unknown id.
    /// Recorded in the audit trail and the ticket's history.
    #[graphql(
        guard = ACT_ON_REQUEST.guard(),
        directive = requires_role::apply(ACT_ON_REQUEST.roles()),
        directive = requires_mfa::apply(ACT_ON_REQUEST.fresh_mfa())
    )]
    async fn close_privacy_ticket(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<PrivacyTicket, ApiError> {
        let id = uuid::Uuid::try_parse(id.as_str()).map_err(|_| ApiError::NotFound)?;
        let services = services(ctx)?;
        let ticket = tickets::close(&services.store, &services.vault, dpo_act(ctx)?, id).await?;
        Ok(ticket.into())
    }

    /// Extends a request's deadline by `months` (1 or 2, default 2) — once, and only
    /// before its original due date (GDPR Art. 12(3)); `reason` (10 to 500 characters) is
    /// kept with the request and told to the person. Otherwise `FAILED_PRECONDITION`.
    #[graphql(
        guard = ACT_ON_REQUEST.guard(),
        directive = requires_role::apply(ACT_ON_REQUEST.roles()),
        directive = requires_mfa::apply(ACT_ON_REQUEST.fresh_mfa())
    )]
    async fn extend_data_request(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: String,
        months: Option<i32>,
    ) -> Result<DataRequest, ApiError> {
        let reason = arguments::staff_reason(&reason, "reason")?;
        let id = arguments::uuid(&id, "id", "a data request id")?;
        let months = u32::try_from(months.unwrap_or(2))
            .map_err(|_| ApiError::BadUserInput("`months` must be 1 or 2".to_owned()))?;
        let services = services(ctx)?;
        let record = rights::extend(
            &services.store,
            &services.vault,
            act(ctx, &reason)?,
            id,
            months,
        )
        .await?;
        Ok(DataRequest::new(record, Reader::Staff))
    }

    /// Completes an open request whose remaining steps were done by hand; `note` (10 to
    /// 500 characters) says what was done and is kept in the audit trail.
    #[graphql(
        guard = ACT_ON_REQUEST.guard(),
        directive = requires_role::apply(ACT_ON_REQUEST.roles()),
        directive = requires_mfa::apply(ACT_ON_REQUEST.fresh_mfa())
    )]
    async fn complete_data_request(
        &self,
        ctx: &Context<'_>,
        id: ID,
        note: String,
    ) -> Result<DataRequest, ApiError> {
        let note = arguments::staff_reason(&note, "note")?;
        let id = arguments::uuid(&id, "id", "a data request id")?;
        let services = services(ctx)?;
        let record = rights::close(
            &services.store,
            &services.vault,
            act(ctx, &note)?,
            id,
            DataRequestEvent::Complete,
        )
        .await?;
        Ok(DataRequest::new(record, Reader::Staff))
    }

    /// Refuses an open request (for example as manifestly unfounded, Art. 12(5)); `reason`
    /// (10 to 500 characters) is kept in the audit trail.
    #[graphql(
        guard = ACT_ON_REQUEST.guard(),
        directive = requires_role::apply(ACT_ON_REQUEST.roles()),
        directive = requires_mfa::apply(ACT_ON_REQUEST.fresh_mfa())
    )]
    async fn deny_data_request(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: String,
    ) -> Result<DataRequest, ApiError> {
        let reason = arguments::staff_reason(&reason, "reason")?;
        let id = arguments::uuid(&id, "id", "a data request id")?;
        let services = services(ctx)?;
        let record = rights::close(
            &services.store,
            &services.vault,
            act(ctx, &reason)?,
            id,
            DataRequestEvent::Deny,
        )
        .await?;
        Ok(DataRequest::new(record, Reader::Staff))
    }
}

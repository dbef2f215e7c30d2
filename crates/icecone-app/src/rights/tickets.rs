//! `contactPrivacyOfficer`: messages to the data protection officer, from anyone.
//!
//! A signed-in sender's ticket is sealed under their own data key (and so erased with
//! them); an anonymous sender's under the system key, with the reply address they must
//! give. Tickets are rate limited per client address, per reply address (by its blind
//! index, never the address) and per account, with the same fixed-window counters as
//! sign-up. The anonymous tickets whose reply address is a person's verified address are
//! theirs: exported with their data ([`read_of`]) and erased with their account
//! ([`forget_anonymous`]).
//!
//! The DPO answers a ticket ([`answer`]) and closes it ([`close`]), each step recorded in
//! the audit trail (who, which ticket — never the text) before it happens, then applied as
//! one conditional update with its history entry (core's `privacy_ticket::transition`
//! decides which steps are allowed). A reply is sealed as its ticket is and goes out
//! through the notification outbox: to the sender's account (its address read at delivery,
//! as for every notice), or, for a message sent without an account, to the reply address
//! given, sealed under the system key ([`crate::notify::enqueue_to_address`]).

use chrono::{DateTime, Utc};
use icecone_core::crypto::envelope::Binding;
use icecone_core::identity::email::Email;
use icecone_core::privacy_ticket::{
    self, TicketAction, TicketEventKind, TicketStatus, TicketStepRefused,
};

use icecone_store::Store;
use icecone_store::accounts::AccountRecord;
use icecone_store::privacy_tickets::{PrivacyTicketEventRecord, PrivacyTicketRecord};
use uuid::Uuid;

use super::now;
use crate::accounts;
use crate::audit::{self, AuditEvent};
use crate::auth::attempts::{self, AttemptError};
use crate::auth::login::hex;
use crate::keys::vault::{Field, Vault};
use crate::notify::{self, NotificationKind};

/// Tickets per client address in each window of
/// [`icecone_core::identity::throttle::ADDRESS_WINDOW`].
pub const TICKETS_PER_ADDRESS: u32 = 5;
/// Tickets per reply address or account in each window of
/// [`icecone_core::identity::throttle::ADDRESS_WINDOW`].
pub const TICKETS_PER_SENDER: u32 = 3;
/// The longest subject line, in characters.
pub const MAX_SUBJECT_CHARS: usize = 200;
/// The longest message, in characters.
pub const MAX_MESSAGE_CHARS: usize = 5_000;
/// The blind-index purpose of reply addresses.
const EMAIL_INDEX: &str = "privacy_tickets.email";

/// Why a ticket was refused.
#[derive(Debug, thiserror::Error)]
pub enum TicketError {
    /// The input is invalid; the message names the rule, never the input.
    #[error("{0}")]
    BadInput(&'static str),
    /// Too many tickets from this address, reply address or account.
    #[error("too many messages")]
    Throttled {
        /// Seconds to wait.
        retry_after_seconds: u64,
    },
    /// No such ticket (or its sender's account is gone).
    #[error("no such ticket")]
    NotFound,
    /// The lifecycle does not allow the step (a closed ticket).
    #[error(transparent)]
    Step(#[from] TicketStepRefused),
    /// Someone else changed the ticket first.
    #[error("the ticket changed meanwhile: read it again")]
    Changed,
    /// Something failed inside the gateway.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<icecone_store::StoreError> for TicketError {
    fn from(error: icecone_store::StoreError) -> Self {
        Self::Internal(error.into())
    }
}

/// What a sender wrote.
#[derive(Debug, Clone, Copy)]
pub struct TicketInput<'a> {
    /// The reply address (required when anonymous).
    pub email: Option<&'a str>,
    /// The subject line.
    pub subject: &'a str,
    /// The message.
    pub message: &'a str,
}

/// A ticket, opened for DPO staff.
#[derive(Clone, PartialEq, Eq)]
pub struct OpenedTicket {
    /// Its id.
    pub id: Uuid,
    /// The sender's account, when signed in.
    pub account: Option<Uuid>,
    /// The reply address given.
    pub email: Option<String>,
    /// The subject line.
    pub subject: String,
    /// The message.
    pub message: String,
    /// When it arrived.
    pub received_at: DateTime<Utc>,
    /// Where it stands.
    pub status: TicketStatus,
    /// What happened to it, oldest first.
    pub history: Vec<OpenedEvent>,
}

impl std::fmt::Debug for OpenedTicket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedTicket")
            .field("id", &self.id)
            .field("received_at", &self.received_at)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl OpenedTicket {
    /// The DPO's replies, oldest first.
    pub fn replies(&self) -> impl Iterator<Item = (&DateTime<Utc>, &str)> {
        self.history
            .iter()
            .filter_map(|event| Some((&event.at, event.reply.as_deref()?)))
    }
}

/// An entry of a ticket's history, opened.
#[derive(Clone, PartialEq, Eq)]
pub struct OpenedEvent {
    /// When it happened.
    pub at: DateTime<Utc>,
    /// What happened.
    pub kind: TicketEventKind,
    /// The staff member who acted (shown to DPO staff only, never to the sender).
    pub staff: Option<Uuid>,
    /// The reply, for [`TicketEventKind::Answered`].
    pub reply: Option<String>,
}

impl std::fmt::Debug for OpenedEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedEvent")
            .field("at", &self.at)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// Who acts on a ticket, for the audit trail and its history.
#[derive(Debug, Clone, Copy)]
pub struct DpoAct<'a> {
    /// The staff member's account.
    pub staff: Uuid,
    /// The request id, for the audit trail.
    pub request_id: Option<&'a str>,
}

fn text(value: &str, max: usize, what: &'static str) -> Result<String, TicketError> {
    let trimmed = value.trim();
    let chars = trimmed.chars().count();
    if chars == 0 || chars > max {
        return Err(TicketError::BadInput(what));
    }
    Ok(trimmed.to_owned())
}

async fn count(store: &Store, bucket: &str, limit: u32) -> Result<(), TicketError> {
    attempts::reserve_in_window(store, bucket, limit, Utc::now())
        .await
        .map_err(|error| match error {
            AttemptError::Throttled {
                retry_after_seconds,
            } => TicketError::Throttled {
                retry_after_seconds,
            },
            AttemptError::Store(error) => anyhow::Error::from(error).into(),
        })
}

fn system_binding(column: &str, id: &str) -> Binding {
    Binding::system("privacy_tickets", column, id)
}

fn field<'a>(column: &'a str, id: &'a str) -> Field<'a> {
    Field {
        table: "privacy_tickets",
        column,
        row_id: id,
    }
}

/// Seals `plaintext` for the ticket: under the sender's key, else the system key.
async fn seal(
    vault: &Vault,
    sender: Option<&AccountRecord>,
    column: &str,
    id: &str,
    plaintext: &str,
) -> anyhow::Result<Vec<u8>> {
    Ok(match sender {
        Some(account) => {
            vault
                .seal(account.subject, field(column, id), plaintext.as_bytes())
                .await?
        }
        None => vault.seal_system(&system_binding(column, id), plaintext.as_bytes())?,
    })
}

async fn open(
    vault: &Vault,
    sender: Option<&AccountRecord>,
    column: &str,
    id: &str,
    sealed: &[u8],
) -> anyhow::Result<String> {
    let plaintext = match sender {
        Some(account) => {
            vault
                .open_field(account.subject, field(column, id), sealed)
                .await?
        }
        None => vault.open_system(&system_binding(column, id), sealed)?,
    };
    Ok(String::from_utf8_lossy(&plaintext).into_owned())
}

/// Stores a ticket from `sender` (or anonymous), within the rate limits: per client address
/// (`http::ClientAddress`, which every door has), per reply address and per account.
pub async fn contact(
    store: &Store,
    vault: &Vault,
    sender: Option<&AccountRecord>,
    client_address: &str,
    input: TicketInput<'_>,
) -> Result<OpenedTicket, TicketError> {
    let email = match (input.email.map(str::trim), sender) {
        (Some(email), _) if !email.is_empty() => Some(
            Email::parse(email)
                .map_err(|_| TicketError::BadInput("`email` is not a valid e-mail address"))?,
        ),
        (_, Some(_)) => None,
        (_, None) => {
            return Err(TicketError::BadInput(
                "`email` is required when you are not signed in: the DPO needs it to answer",
            ));
        }
    };
    let subject = text(
        input.subject,
        MAX_SUBJECT_CHARS,
        "`subject` must be 1 to 200 characters",
    )?;
    let message = text(
        input.message,
        MAX_MESSAGE_CHARS,
        "`message` must be 1 to 5000 characters",
    )?;
    let index = vault.blind_index("attempts.client_address", client_address.as_bytes());
    count(
        store,
        &format!("dpo:addr:{}", hex(&index[..16])),
        TICKETS_PER_ADDRESS,
    )
    .await?;
    let email_index = email.as_ref().map(|email| reply_index(vault, email));
    if let Some(index) = &email_index {
        count(store, &reply_bucket(index), TICKETS_PER_SENDER).await?;
    }
    if let Some(account) = sender {
        count(
            store,
            &icecone_store::attempts::account_bucket("dpo", account.id),
            TICKETS_PER_SENDER,
        )
        .await?;
    }
    let id = Uuid::new_v4();
    let row = id.to_string();
    let email_sealed = match &email {
        Some(email) => Some(seal(vault, sender, "email", &row, email.as_str()).await?),
        None => None,
    };
    let ticket = PrivacyTicketRecord {
        id,
        account: sender.map(|account| account.id),
        email_sealed,
        email_index: email_index.map(|index| index.to_vec()),
        subject_sealed: seal(vault, sender, "subject", &row, &subject).await?,
        message_sealed: seal(vault, sender, "message", &row, &message).await?,
        received_at: now(),
        status: TicketStatus::Open.as_str().to_owned(),
    };
    store
        .insert_privacy_ticket(&ticket)
        .await
        .map_err(anyhow::Error::from)?;
    Ok(OpenedTicket {
        id,
        account: ticket.account,
        email: email.map(|email| email.as_str().to_owned()),
        subject,
        message,
        received_at: ticket.received_at,
        status: TicketStatus::Open,
        history: vec![OpenedEvent {
            at: ticket.received_at,
            kind: TicketEventKind::Received,
            staff: None,
            reply: None,
        }],
    })
}

/// A ticket as stored and its sender's account (`None`: sent without one). `NotFound` for
/// an unknown ticket and for one whose sender's account is gone.
async fn ticket_and_sender(
    store: &Store,
    id: Uuid,
) -> Result<(PrivacyTicketRecord, Option<AccountRecord>), TicketError> {
    let ticket = store
        .privacy_ticket(id)
        .await?
        .ok_or(TicketError::NotFound)?;
    let sender = match ticket.account {
        Some(account) => Some(store.account(account).await?.ok_or(TicketError::NotFound)?),
        None => None,
    };
    Ok((ticket, sender))
}

/// The audit trail's target of a step on ticket `id`: the sender's account first, when
/// there is one, so that the person's export finds it; the id in its simple form.
fn audit_target(ticket: &PrivacyTicketRecord) -> String {
    match ticket.account {
        Some(account) => format!("account:{account}:pt:{}", ticket.id.simple()),
        None => format!("privacy_ticket:{}", ticket.id.simple()),
    }
}

/// Checks the step, records it in the audit trail, then applies it with its history entry
/// (one conditional update on the statuses the step is allowed from).
async fn step(
    store: &Store,
    vault: &Vault,
    act: DpoAct<'_>,
    ticket: &PrivacyTicketRecord,
    action: TicketAction,
    reply_sealed: Option<(Uuid, Vec<u8>)>,
) -> Result<(), TicketError> {
    let from = TicketStatus::parse(&ticket.status)
        .ok_or_else(|| anyhow::anyhow!("a ticket in an unknown status"))?;
    let to = privacy_ticket::transition(from, action)?;
    let actor = format!("account:{}", act.staff);
    let target = audit_target(ticket);
    audit::record(
        store,
        vault,
        AuditEvent {
            actor: &actor,
            action: match action {
                TicketAction::Answer => "privacy_ticket.answer",
                TicketAction::Close => "privacy_ticket.close",
            },
            target: Some(&target),
            reason: None,
            request_id: act.request_id,
        },
    )
    .await
    .map_err(|error| TicketError::Internal(error.into()))?;
    let (event_id, reply_sealed) = match reply_sealed {
        Some((id, sealed)) => (id, Some(sealed)),
        None => (Uuid::new_v4(), None),
    };
    let allowed: Vec<&str> = privacy_ticket::allowed_from(action)
        .into_iter()
        .map(TicketStatus::as_str)
        .collect();
    let event = PrivacyTicketEventRecord {
        id: event_id,
        ticket: ticket.id,
        at: now(),
        kind: action.recorded_as().as_str().to_owned(),
        staff: Some(act.staff),
        reply_sealed,
    };
    if !store
        .step_privacy_ticket(ticket.id, &allowed, to.as_str(), &event)
        .await?
    {
        // Closed by someone else since it was read.
        return Err(TicketError::Changed);
    }
    Ok(())
}

/// The DPO answers ticket `id` with `message` (1 to [`MAX_MESSAGE_CHARS`] characters): the
/// reply is sealed as the ticket is, kept in its history, and sent by e-mail — to the
/// sender's account, or to the reply address of a message sent without one. An open or
/// answered ticket can be answered; a closed one is refused ([`TicketError::Step`]).
pub async fn answer(
    store: &Store,
    vault: &Vault,
    act: DpoAct<'_>,
    id: Uuid,
    message: &str,
) -> Result<OpenedTicket, TicketError> {
    let reply = text(
        message,
        MAX_MESSAGE_CHARS,
        "`message` must be 1 to 5000 characters",
    )?;
    let (ticket, sender) = ticket_and_sender(store, id).await?;
    // Refused before anything is sealed or recorded.
    if let Some(from) = TicketStatus::parse(&ticket.status) {
        privacy_ticket::transition(from, TicketAction::Answer)?;
    }
    let event = Uuid::new_v4();
    let sealed = seal_reply(vault, sender.as_ref(), event, &reply).await?;
    step(
        store,
        vault,
        act,
        &ticket,
        TicketAction::Answer,
        Some((event, sealed)),
    )
    .await?;
    let payload = format!("{id}\n{reply}");
    let queued = match (&sender, &ticket.email_sealed) {
        (Some(account), _) => {
            notify::enqueue_with_token(
                store,
                vault,
                (account.id, account.subject),
                NotificationKind::PrivacyTicketAnswered,
                &payload,
            )
            .await
        }
        (None, Some(sealed)) => {
            let address = open(vault, None, "email", &id.to_string(), sealed).await?;
            let address = Email::parse(&address)
                .map_err(|_| anyhow::anyhow!("a stored reply address does not parse"))?;
            notify::enqueue_to_address(
                store,
                vault,
                &address,
                NotificationKind::PrivacyTicketAnswered,
                &payload,
            )
            .await
        }
        (None, None) => {
            return Err(anyhow::anyhow!("an anonymous ticket without a reply address").into());
        }
    };
    queued.map_err(|error| TicketError::Internal(error.into()))?;
    reopen(store, vault, id).await
}

/// The DPO closes ticket `id`: nothing more is sent, and it can no longer be answered.
pub async fn close(
    store: &Store,
    vault: &Vault,
    act: DpoAct<'_>,
    id: Uuid,
) -> Result<OpenedTicket, TicketError> {
    let (ticket, _) = ticket_and_sender(store, id).await?;
    step(store, vault, act, &ticket, TicketAction::Close, None).await?;
    reopen(store, vault, id).await
}

/// Ticket `id` as it now stands, opened.
async fn reopen(store: &Store, vault: &Vault, id: Uuid) -> Result<OpenedTicket, TicketError> {
    let (ticket, sender) = ticket_and_sender(store, id).await?;
    let history = store.privacy_ticket_events(&[id]).await?;
    Ok(open_ticket(vault, sender.as_ref(), ticket, &history).await?)
}

/// The binding of a reply: the history table, its column and the event's row.
fn reply_field(event: &str) -> Field<'_> {
    Field {
        table: "privacy_ticket_events",
        column: "reply",
        row_id: event,
    }
}

async fn seal_reply(
    vault: &Vault,
    sender: Option<&AccountRecord>,
    event: Uuid,
    reply: &str,
) -> anyhow::Result<Vec<u8>> {
    let row = event.to_string();
    Ok(match sender {
        Some(account) => {
            vault
                .seal(account.subject, reply_field(&row), reply.as_bytes())
                .await?
        }
        None => vault.seal_system(
            &Binding::system("privacy_ticket_events", "reply", &row),
            reply.as_bytes(),
        )?,
    })
}

async fn open_reply(
    vault: &Vault,
    sender: Option<&AccountRecord>,
    event: Uuid,
    sealed: &[u8],
) -> anyhow::Result<String> {
    let row = event.to_string();
    let plaintext = match sender {
        Some(account) => {
            vault
                .open_field(account.subject, reply_field(&row), sealed)
                .await?
        }
        None => vault.open_system(
            &Binding::system("privacy_ticket_events", "reply", &row),
            sealed,
        )?,
    };
    Ok(String::from_utf8_lossy(&plaintext).into_owned())
}

/// Every ticket, newest first, opened for DPO staff (callers record the read first). A
/// ticket whose sender's account is gone (erased with its key) is left out.
pub async fn read_all(store: &Store, vault: &Vault) -> anyhow::Result<Vec<OpenedTicket>> {
    let tickets = store.privacy_tickets().await?;
    let ids: Vec<Uuid> = tickets.iter().map(|ticket| ticket.id).collect();
    let history = store.privacy_ticket_events(&ids).await?;
    let mut opened = Vec::new();
    for ticket in tickets {
        let sender = match ticket.account {
            Some(account) => store.account(account).await?,
            None => None,
        };
        if ticket.account.is_some() && sender.is_none() {
            continue;
        }
        opened.push(open_ticket(vault, sender.as_ref(), ticket, &history).await?);
    }
    Ok(opened)
}

/// The tickets of `person`, newest first, opened (for their export): those sent while
/// signed in, and the anonymous ones whose reply address is the person's verified address
/// ([`linked_reply_index`]).
pub async fn read_of(
    store: &Store,
    vault: &Vault,
    person: &AccountRecord,
) -> anyhow::Result<Vec<OpenedTicket>> {
    let linked = linked_reply_index(vault, person).await?;
    let tickets = store
        .privacy_tickets_of(person.id, linked.as_ref().map(|index| &index[..]))
        .await?;
    let ids: Vec<Uuid> = tickets.iter().map(|ticket| ticket.id).collect();
    let history = store.privacy_ticket_events(&ids).await?;
    let mut opened = Vec::new();
    for ticket in tickets {
        let sender = (ticket.account == Some(person.id)).then_some(person);
        opened.push(open_ticket(vault, sender, ticket, &history).await?);
    }
    Ok(opened)
}

/// Deletes what ties `person` to messages sent without an account — the anonymous tickets
/// whose reply address is the person's verified address with their history, the DPO's
/// replies queued or sent to that address, and that address's rate-limit windows — for
/// their erasure, while their address can still be read (before the data key is
/// shredded). Returns how many tickets were deleted.
pub async fn forget_anonymous(
    store: &Store,
    vault: &Vault,
    person: &AccountRecord,
) -> anyhow::Result<u64> {
    let Some(index) = linked_reply_index(vault, person).await? else {
        return Ok(0);
    };
    let deleted = store.delete_anonymous_privacy_tickets(&index).await?;
    if let Some(address) = verified_address_index(person) {
        store.delete_notifications_to_address(address).await?;
    }
    store
        .clear_attempts_with_prefix(&reply_bucket(&index))
        .await?;
    Ok(deleted)
}

/// The blind index of a reply address, as tickets store it.
fn reply_index(vault: &Vault, email: &Email) -> [u8; 32] {
    vault.blind_index(EMAIL_INDEX, email.as_str().as_bytes())
}

/// The rate-limit bucket of a reply address (its windows append their start).
fn reply_bucket(index: &[u8; 32]) -> String {
    format!("dpo:email:{}", hex(&index[..16]))
}

/// The blind index, as tickets store it, of `person`'s address — `None` until the address
/// is verified: an address given at sign-up is not the account's until its link is used,
/// and messages sent from it are not the account holder's to read.
async fn linked_reply_index(
    vault: &Vault,
    person: &AccountRecord,
) -> anyhow::Result<Option<[u8; 32]>> {
    if person.email_verified_at.is_none() {
        return Ok(None);
    }
    let address = accounts::email_of(vault, person).await?;
    let email = Email::parse(&address)?;
    Ok(Some(reply_index(vault, &email)))
}

/// The blind index of `person`'s address as the outbox keeps it for a notification without
/// an account (`accounts::EMAIL_INDEX`, which the account stores once the address is
/// verified; before, the stored index is random and nothing is theirs).
pub fn verified_address_index(person: &AccountRecord) -> Option<&[u8]> {
    person
        .email_verified_at
        .is_some()
        .then_some(&person.email_index[..])
}

/// Opens the sealed columns of `ticket`, sent by `sender` (`None`: anonymously), with its
/// entries of `history`.
async fn open_ticket(
    vault: &Vault,
    sender: Option<&AccountRecord>,
    ticket: PrivacyTicketRecord,
    history: &[PrivacyTicketEventRecord],
) -> anyhow::Result<OpenedTicket> {
    let mut events = Vec::new();
    for event in history.iter().filter(|event| event.ticket == ticket.id) {
        let kind = TicketEventKind::parse(&event.kind)
            .ok_or_else(|| anyhow::anyhow!("a ticket event of an unknown kind"))?;
        let reply = match &event.reply_sealed {
            Some(sealed) => Some(open_reply(vault, sender, event.id, sealed).await?),
            None => None,
        };
        events.push(OpenedEvent {
            at: event.at,
            kind,
            staff: event.staff,
            reply,
        });
    }
    let status = TicketStatus::parse(&ticket.status)
        .ok_or_else(|| anyhow::anyhow!("a ticket in an unknown status"))?;
    let row = ticket.id.to_string();
    let email = match &ticket.email_sealed {
        Some(sealed) => Some(open(vault, sender, "email", &row, sealed).await?),
        None => None,
    };
    Ok(OpenedTicket {
        id: ticket.id,
        account: ticket.account,
        email,
        subject: open(vault, sender, "subject", &row, &ticket.subject_sealed).await?,
        message: open(vault, sender, "message", &row, &ticket.message_sealed).await?,
        received_at: ticket.received_at,
        status,
        history: events,
    })
}

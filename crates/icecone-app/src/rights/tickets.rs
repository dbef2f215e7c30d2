//! `contactPrivacyOfficer`: messages to the data protection officer, from anyone.
//!
//! A signed-in sender's ticket is sealed under their own data key (and so erased with
//! them); an anonymous sender's under the system key, with the reply address they must
//! give. Tickets are rate limited per client address, per reply address (by its blind
//! index, never the address) and per account, with the same fixed-window counters as
//! sign-up. The anonymous tickets whose reply address is a person's verified address are
//! theirs: exported with their data ([`read_of`]) and erased with their account
//! ([`forget_anonymous`]).

use chrono::{DateTime, Utc};
use icecone_core::crypto::envelope::Binding;
use icecone_core::identity::email::Email;

use icecone_store::Store;
use icecone_store::accounts::AccountRecord;
use icecone_store::privacy_tickets::PrivacyTicketRecord;
use uuid::Uuid;

use super::now;
use crate::accounts;
use crate::auth::attempts::{self, AttemptError};
use crate::auth::login::hex;
use crate::keys::vault::{Field, Vault};

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
/// The status of a new ticket.
pub const OPEN: &str = "OPEN";
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
    /// Something failed inside the gateway.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
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
    pub status: String,
}

impl std::fmt::Debug for OpenedTicket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedTicket")
            .field("id", &self.id)
            .field("received_at", &self.received_at)
            .finish_non_exhaustive()
    }
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
) -> Result<PrivacyTicketRecord, TicketError> {
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
        status: OPEN.to_owned(),
    };
    store
        .insert_privacy_ticket(&ticket)
        .await
        .map_err(anyhow::Error::from)?;
    Ok(ticket)
}

/// Every ticket, newest first, opened for DPO staff (callers record the read first). A
/// ticket whose sender's account is gone (erased with its key) is left out.
pub async fn read_all(store: &Store, vault: &Vault) -> anyhow::Result<Vec<OpenedTicket>> {
    let mut opened = Vec::new();
    for ticket in store.privacy_tickets().await? {
        let sender = match ticket.account {
            Some(account) => store.account(account).await?,
            None => None,
        };
        if ticket.account.is_some() && sender.is_none() {
            continue;
        }
        opened.push(open_ticket(vault, sender.as_ref(), ticket).await?);
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
    let mut opened = Vec::new();
    for ticket in store
        .privacy_tickets_of(person.id, linked.as_ref().map(|index| &index[..]))
        .await?
    {
        let sender = (ticket.account == Some(person.id)).then_some(person);
        opened.push(open_ticket(vault, sender, ticket).await?);
    }
    Ok(opened)
}

/// Deletes what ties `person` to messages sent without an account — the anonymous tickets
/// whose reply address is the person's verified address, and that address's rate-limit
/// windows — for their erasure, while their address can still be read (before the data
/// key is shredded). Returns how many tickets were deleted.
pub async fn forget_anonymous(
    store: &Store,
    vault: &Vault,
    person: &AccountRecord,
) -> anyhow::Result<u64> {
    let Some(index) = linked_reply_index(vault, person).await? else {
        return Ok(0);
    };
    let deleted = store.delete_anonymous_privacy_tickets(&index).await?;
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

/// Opens the sealed columns of `ticket`, sent by `sender` (`None`: anonymously).
async fn open_ticket(
    vault: &Vault,
    sender: Option<&AccountRecord>,
    ticket: PrivacyTicketRecord,
) -> anyhow::Result<OpenedTicket> {
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
        status: ticket.status,
    })
}

//! Notifications to account holders: security notices (new sign-in, second factor changed,
//! password changed, someone tried to sign up with your address) and e-mail verification
//! links.
//!
//! A notification is written to the outbox table in the same request as the change it is
//! about ([`enqueue`]); a background task ([`spawn_delivery`]) hands due notifications to
//! the configured [`Notifier`], [`DELIVERY_CONCURRENCY`] at a time (the mailer keeps as
//! many pooled connections), and starts its next round at once while rounds take full
//! batches. Delivery claims a notification before handing it over (a
//! compare-and-set on its attempt count that only one gateway instance wins), which holds
//! it for [`CLAIM_LEASE`]; once the notifier accepted it, it is marked delivered. A
//! temporary failure (a mail server's 4xx, the network) makes it due again after a backoff
//! ([`retry_delay`]) until [`MAX_ATTEMPTS`]; a permanent one (5xx) puts the recipient's
//! address on the suppression list (by its blind index) and gives up, and nothing more is
//! tried to a suppressed address.
//!
//! Delivery is at least once: a gateway that crashes after the mail server accepted a
//! message but before marking it delivered leaves it claimed; when the claim runs out, it
//! is sent again — with the same `Message-ID`, derived from the outbox id
//! ([`crate::mail::message_id`]), so mail clients show it once. It is never lost.
//!
//! The outbox holds no address in clear: the deliverer decrypts the recipient's address with
//! their own data key at delivery time, so an erased account's notifications can no longer
//! be delivered. A verification link's token travels sealed under the same key. The one
//! notification that goes to someone without an account — the DPO's reply to a message
//! sent without one ([`enqueue_to_address`]) — carries its address and payload sealed under
//! the system key, with the address's blind index, by which the erasure of the address's
//! owner finds and deletes it.
//!
//! The gateway sends e-mail with [`crate::mail::Mailer`], the one [`Notifier`] outside
//! tests.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use futures_util::future::BoxFuture;
use futures_util::{StreamExt, stream};
use icecone_core::campaign::CampaignKind;
use icecone_core::campaign::unsubscribe::{self, UnsubscribeToken};
use icecone_core::consent::Purpose;
use icecone_core::consent::decision::Activity;
use icecone_core::consent::policy::PolicyHistory;
use icecone_core::crypto::envelope::Binding;
use icecone_core::identity::email::Email;
use icecone_core::subject::SubjectId;
use icecone_store::outbox::{AddressedNotification, NotificationRecord};
use icecone_store::{Store, StoreError};
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use crate::accounts;
use crate::consent;
use crate::keys::vault::{Field, Vault, VaultError};

/// How often the delivery task looks for queued notifications.
pub const DELIVERY_INTERVAL: Duration = Duration::from_secs(1);
/// How long a claim holds a notification: should its deliverer crash, it is due again
/// after this long.
pub const CLAIM_LEASE: Duration = Duration::from_secs(5 * 60);
/// How many times a notification is tried before delivery is given up (the backoff makes
/// that about a day).
pub const MAX_ATTEMPTS: u32 = 30;
/// The longest wait between two attempts.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(3600);
/// How many notifications one delivery round takes up.
pub const DELIVERY_BATCH: usize = 50;
/// How many notifications are handed to the notifier at once: the mailer keeps as many
/// connections to the mail server open ([`crate::mail`]). Each connection carries about
/// one message per delayed-ACK interval (lettre writes a message and its terminating dot
/// separately, and the second write waits for the server's delayed ACK of the first), so
/// throughput grows with connections; eight stays well under what relays allow one client
/// (Postfix: 50).
pub const DELIVERY_CONCURRENCY: usize = 8;

/// What a notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotificationKind {
    /// The account was signed in to.
    NewSignIn,
    /// A second factor was turned on or off.
    MfaChanged,
    /// The password was changed.
    PasswordChanged,
    /// Please verify your e-mail address: carries the verification link's token.
    VerifyEmail,
    /// Someone tried to sign up with this account's address (sent to the account's owner
    /// instead of a verification link, so that sign-up never tells who has an account).
    SignUpAttempt,
    /// The account was suspended by IceCone's staff.
    AccountSuspended,
    /// News about IceCone's products: marketing, delivered only with consent to it.
    ProductNews,
    /// A data request's deadline was extended: carries the reason (GDPR Art. 12(3)).
    DataRequestExtended,
    /// A data export is ready to download (`me { dataRequests { downloadUrl } }`).
    DataExportReady,
    /// The person asked to delete their account: when it runs and how to cancel.
    AccountDeletionRequested,
    /// The person's erasure is held by a legal hold: carries the grounds (never the note).
    ErasureHeld,
    /// Please verify the new address you asked to change to (`updateProfile`): sent to
    /// that address, not the account's current one; carries the link's token.
    VerifyNewEmail,
    /// The privacy policy changed: carries what changed and the consents to give again
    /// (see [`crate::policy_notice`]).
    PolicyChanged,
    /// The data protection officer answered a message (`answerPrivacyTicket`): carries the
    /// ticket's id and the reply (`<id>\n<reply>`). Sent to the account, or to the reply
    /// address of a message sent without one.
    PrivacyTicketAnswered,
    /// An essential notice about the service from ADMIN (`sendServiceAnnouncement`): a
    /// campaign's message, sent under the contract.
    ServiceAnnouncement,
    /// Some of the person's data was disclosed to an authority as required by law
    /// (`approveDisclosure`): sent on approval, or when a confidentiality order ends;
    /// carries the disclosure's id (see [`crate::disclosures`]).
    LegalDisclosure,
    /// The list of subprocessors changes: carries the version, the day it takes effect and
    /// who is added, removed or changed (see [`crate::subprocessors::Notice`]).
    SubprocessorsChanged,
    /// The person asked to delete their account, and invoice records of theirs are kept
    /// under the statutory retention of accounting records (GDPR Art. 17(3)(b)): carries
    /// how long (`10 years`).
    BillingRecordsKept,
}

impl NotificationKind {
    /// Every kind, in a fixed order.
    pub const ALL: [Self; 18] = [
        Self::NewSignIn,
        Self::MfaChanged,
        Self::PasswordChanged,
        Self::VerifyEmail,
        Self::SignUpAttempt,
        Self::AccountSuspended,
        Self::ProductNews,
        Self::DataRequestExtended,
        Self::DataExportReady,
        Self::AccountDeletionRequested,
        Self::ErasureHeld,
        Self::VerifyNewEmail,
        Self::PolicyChanged,
        Self::PrivacyTicketAnswered,
        Self::ServiceAnnouncement,
        Self::LegalDisclosure,
        Self::SubprocessorsChanged,
        Self::BillingRecordsKept,
    ];

    /// What the notification processes the recipient's address for: delivery asks the
    /// consent decision for this purpose first.
    pub fn purpose(self) -> Purpose {
        match self {
            Self::ProductNews => Purpose::Marketing,
            // Essential notices about the service rest on the contract; like every purpose
            // but security and legal compliance, they stop while processing is restricted.
            Self::ServiceAnnouncement => Purpose::ServiceProvision,
            Self::NewSignIn
            | Self::MfaChanged
            | Self::PasswordChanged
            | Self::VerifyEmail
            | Self::VerifyNewEmail
            | Self::SignUpAttempt
            | Self::AccountSuspended => Purpose::Security,
            // Answering a data subject's request is a legal obligation (GDPR Art. 12).
            Self::DataRequestExtended | Self::DataExportReady => Purpose::LegalCompliance,
            Self::AccountDeletionRequested | Self::ErasureHeld | Self::BillingRecordsKept => {
                Purpose::LegalCompliance
            }
            // Informing people of changes to how their data is processed (GDPR Art. 12-14):
            // it reaches accounts that restricted processing, too.
            Self::PolicyChanged => Purpose::LegalCompliance,
            // Telling people who processes their data before a change (GDPR Art. 13-14,
            // 28(2)): like a policy change, it reaches accounts that restricted processing.
            Self::SubprocessorsChanged => Purpose::LegalCompliance,
            // Answering a data subject who wrote to the DPO (GDPR Art. 12(3), 38(4)).
            Self::PrivacyTicketAnswered => Purpose::LegalCompliance,
            // Telling a person their data was disclosed to an authority (GDPR Art. 12-15).
            Self::LegalDisclosure => Purpose::LegalCompliance,
        }
    }

    /// The stored name (at most 32 bytes).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NewSignIn => "new_sign_in",
            Self::MfaChanged => "mfa_changed",
            Self::PasswordChanged => "password_changed",
            Self::VerifyEmail => "verify_email",
            Self::SignUpAttempt => "sign_up_attempt",
            Self::AccountSuspended => "account_suspended",
            Self::ProductNews => "product_news",
            Self::DataRequestExtended => "data_request_extended",
            Self::DataExportReady => "data_export_ready",
            Self::AccountDeletionRequested => "account_deletion_requested",
            Self::ErasureHeld => "erasure_held",
            Self::VerifyNewEmail => "verify_new_email",
            Self::PolicyChanged => "policy_changed",
            Self::PrivacyTicketAnswered => "privacy_ticket_answered",
            Self::ServiceAnnouncement => "service_announcement",
            Self::LegalDisclosure => "legal_disclosure",
            Self::SubprocessorsChanged => "subprocessors_changed",
            Self::BillingRecordsKept => "billing_records_kept",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text)
    }

    /// The kind of a campaign's messages.
    pub fn of_campaign(kind: CampaignKind) -> Self {
        match kind {
            CampaignKind::ProductNews => Self::ProductNews,
            CampaignKind::ServiceAnnouncement => Self::ServiceAnnouncement,
        }
    }

    /// Whether messages of this kind are a campaign's (and carry its subject and text).
    pub fn is_campaign(self) -> bool {
        matches!(self, Self::ProductNews | Self::ServiceAnnouncement)
    }
}

/// What a campaign's message says, and for marketing its one-click unsubscribe token.
#[derive(Clone)]
pub struct CampaignMessage {
    /// The subject line, as ADMIN wrote it.
    pub subject: String,
    /// The text, as ADMIN wrote it.
    pub text: String,
    /// The unsubscribe token (product news only): it names the recipient's account.
    pub unsubscribe: Option<SecretString>,
}

impl fmt::Debug for CampaignMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CampaignMessage")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// The one-click unsubscribe token of `account`: its id with the MAC of the id under the
/// unsubscribe purpose's own blind-index key (see `icecone_core::campaign::unsubscribe`).
pub fn unsubscribe_token(vault: &Vault, account: Uuid) -> UnsubscribeToken {
    UnsubscribeToken::new(account, unsubscribe_mac(vault, account))
}

/// The MAC of `account`'s unsubscribe token.
pub fn unsubscribe_mac(vault: &Vault, account: Uuid) -> [u8; 32] {
    vault.blind_index(unsubscribe::PURPOSE, account.as_bytes())
}

/// A notification ready to be delivered.
pub struct Notification {
    /// The outbox id (stable across retries: a notifier can de-duplicate on it).
    pub id: Uuid,
    /// The account it is for; `None` for a reply to someone without an account.
    pub account: Option<Uuid>,
    /// What it is about.
    pub kind: NotificationKind,
    /// The recipient's e-mail address.
    pub recipient: SecretString,
    /// The payload: the verification link's token for [`NotificationKind::VerifyEmail`],
    /// the extension's reason for [`NotificationKind::DataRequestExtended`], the grounds
    /// (comma-separated) for [`NotificationKind::ErasureHeld`], the notice (JSON, see
    /// [`crate::policy_notice::Notice`]) for [`NotificationKind::PolicyChanged`], the
    /// ticket's id and the reply (`<id>\n<reply>`) for
    /// [`NotificationKind::PrivacyTicketAnswered`], the disclosure's id for
    /// [`NotificationKind::LegalDisclosure`].
    pub token: Option<SecretString>,
    /// The campaign's message, for a campaign's kinds.
    pub campaign: Option<CampaignMessage>,
}

impl fmt::Debug for Notification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The address and the token stay out of debug output (and so out of logs).
        f.debug_struct("Notification")
            .field("id", &self.id)
            .field("account", &self.account)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// A notification could not be delivered. Its source is logged with the notification's
/// id, so a [`Notifier`] must build it without the recipient's address, the token or the
/// mail server's free text (say "the mail server refused the message (550)", not what was
/// sent where).
#[derive(Debug, thiserror::Error)]
#[error("the notification could not be delivered")]
pub struct DeliveryError {
    failure: Failure,
    #[source]
    source: anyhow::Error,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    Temporary,
    Permanent { reply_code: u16 },
}

impl DeliveryError {
    /// A failure worth a retry: the server answered 4xx, could not be reached, or the
    /// connection broke.
    pub fn temporary(source: anyhow::Error) -> Self {
        Self {
            failure: Failure::Temporary,
            source,
        }
    }

    /// The recipient's mail server refused the message for good (a 5xx reply): the address
    /// is suppressed and the notification given up.
    pub fn permanent(reply_code: u16, source: anyhow::Error) -> Self {
        Self {
            failure: Failure::Permanent { reply_code },
            source,
        }
    }

    /// The reply code of a permanent refusal; `None` for a temporary failure.
    pub fn permanent_reply_code(&self) -> Option<u16> {
        match self.failure {
            Failure::Permanent { reply_code } => Some(reply_code),
            Failure::Temporary => None,
        }
    }
}

/// How long to wait before the next attempt after `attempts` failed ones: 1 s, doubling,
/// at most an hour.
pub fn retry_delay(attempts: u32) -> Duration {
    let exponent = attempts.saturating_sub(1).min(12);
    Duration::from_secs(1u64 << exponent).min(MAX_RETRY_DELAY)
}

/// Sends notifications to people (by e-mail, in a real deployment).
///
/// Dyn-compatible: the gateway holds one as `Arc<dyn Notifier>`.
pub trait Notifier: fmt::Debug + Send + Sync {
    /// Delivers one notification.
    fn deliver<'a>(
        &'a self,
        notification: &'a Notification,
    ) -> BoxFuture<'a, Result<(), DeliveryError>>;
}

pub(crate) fn payload_field(id: &str) -> Field<'_> {
    Field {
        table: "notification_outbox",
        column: "payload",
        row_id: id,
    }
}

/// Why a notification could not be queued or delivered.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// The vault failed.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Only legal-compliance notifications go to an address without an account.
    #[error("this kind of notification goes to accounts only")]
    NoAccount,
}

/// Queues a notification without a payload.
pub async fn enqueue(
    store: &Store,
    account: Uuid,
    kind: NotificationKind,
) -> Result<(), NotifyError> {
    store
        .enqueue_notification(Uuid::new_v4(), account, kind.as_str(), None, Utc::now())
        .await?;
    Ok(())
}

/// Queues a notification carrying a token, sealed under the account's data key.
pub async fn enqueue_with_token(
    store: &Store,
    vault: &Vault,
    (account, subject): (Uuid, SubjectId),
    kind: NotificationKind,
    token: &str,
) -> Result<(), NotifyError> {
    let id = Uuid::new_v4();
    let sealed = vault
        .seal(subject, payload_field(&id.to_string()), token.as_bytes())
        .await?;
    store
        .enqueue_notification(id, account, kind.as_str(), Some(sealed), Utc::now())
        .await?;
    Ok(())
}

/// The system-key binding of a sealed column of an outbox row without an account.
fn system_binding(column: &str, id: &str) -> Binding {
    Binding::system("notification_outbox", column, id)
}

/// Queues a notification to `address`, someone without an account: the address and the
/// payload sealed under the system key, with the address's blind index (as accounts and the
/// suppression list compute it) for the erasure of its owner. Only a legal-compliance kind
/// goes to an address without an account: nobody consented to anything else there.
pub async fn enqueue_to_address(
    store: &Store,
    vault: &Vault,
    address: &Email,
    kind: NotificationKind,
    payload: &str,
) -> Result<(), NotifyError> {
    if kind.purpose() != Purpose::LegalCompliance {
        return Err(NotifyError::NoAccount);
    }
    let id = Uuid::new_v4();
    let row = id.to_string();
    let notification = AddressedNotification {
        id,
        kind: kind.as_str().to_owned(),
        recipient_sealed: vault.seal_system(
            &system_binding("recipient", &row),
            address.as_str().as_bytes(),
        )?,
        recipient_index: vault
            .blind_index(accounts::EMAIL_INDEX, address.as_str().as_bytes())
            .to_vec(),
        payload_sealed: Some(
            vault.seal_system(&system_binding("payload", &row), payload.as_bytes())?,
        ),
    };
    store
        .enqueue_notification_to_address(&notification, Utc::now())
        .await?;
    Ok(())
}

/// What one delivery round did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Round {
    /// How many due notifications it took up (at most [`DELIVERY_BATCH`]).
    pub due: usize,
    /// How many of them it delivered.
    pub delivered: usize,
}

impl Round {
    /// Whether the round took a full batch, so more may be waiting.
    pub fn was_full(self) -> bool {
        self.due == DELIVERY_BATCH
    }
}

/// Delivers what is due, oldest first, [`DELIVERY_CONCURRENCY`] at a time, each after the
/// consent decision under `history` allowed its purpose. A failure of
/// the database ends the round (after the deliveries under way) and is returned;
/// notifications it left claimed are due again when their claim runs out.
pub async fn deliver_queued(
    store: &Store,
    vault: &Vault,
    notifier: &dyn Notifier,
    history: PolicyHistory,
) -> Result<Round, NotifyError> {
    let due = store
        .due_notifications(Utc::now(), DELIVERY_BATCH as u64)
        .await?;
    let mut round = Round {
        due: due.len(),
        delivered: 0,
    };
    let mut outcomes = stream::iter(due)
        .map(|record| deliver_one(store, vault, notifier, history, record))
        .buffer_unordered(DELIVERY_CONCURRENCY);
    let mut failure = None;
    while let Some(outcome) = outcomes.next().await {
        match outcome {
            Ok(true) => round.delivered += 1,
            Ok(false) => {}
            Err(error) => failure = failure.or(Some(error)),
        }
    }
    match failure {
        Some(error) => Err(error),
        None => Ok(round),
    }
}

/// Claims and delivers one notification; `true` when the notifier accepted it.
async fn deliver_one(
    store: &Store,
    vault: &Vault,
    notifier: &dyn Notifier,
    history: PolicyHistory,
    record: NotificationRecord,
) -> Result<bool, NotifyError> {
    if !store
        .claim_notification(&record, Utc::now() + CLAIM_LEASE)
        .await?
    {
        return Ok(false); // another instance took it
    }
    let Some((notification, email_index)) = prepare(store, vault, &record, history).await? else {
        store.give_up_notification(record.id, Utc::now()).await?;
        return Ok(false);
    };
    if store.is_address_suppressed(&email_index).await? {
        tracing::info!(
            notification = %record.id,
            kind = notification.kind.as_str(),
            "notification not delivered: its address refused mail permanently before"
        );
        store.give_up_notification(record.id, Utc::now()).await?;
        return Ok(false);
    }
    let Err(error) = notifier.deliver(&notification).await else {
        store
            .mark_notification_delivered(record.id, Utc::now())
            .await?;
        return Ok(true);
    };
    let attempts = record.attempts.saturating_add(1);
    let chain = crate::error_chain(&error);
    if let Some(reply_code) = error.permanent_reply_code() {
        // The suppression list names the account whose mail was refused (it is erased with
        // it); an address without an account is not listed, and the one message to it is
        // given up.
        tracing::warn!(
            notification = %record.id,
            kind = notification.kind.as_str(),
            reply_code,
            error = chain,
            suppressed = record.account.is_some(),
            "notification refused permanently; given up"
        );
        if let Some(account) = record.account {
            store
                .suppress_address(&email_index, account, reply_code, Utc::now())
                .await?;
        }
        store.give_up_notification(record.id, Utc::now()).await?;
    } else if attempts >= MAX_ATTEMPTS {
        tracing::warn!(
            notification = %record.id,
            kind = notification.kind.as_str(),
            attempts,
            error = chain,
            "notification not delivered; out of attempts, given up"
        );
        store.give_up_notification(record.id, Utc::now()).await?;
    } else {
        let delay = retry_delay(attempts);
        tracing::warn!(
            notification = %record.id,
            kind = notification.kind.as_str(),
            attempts,
            retry_in_seconds = delay.as_secs(),
            error = chain,
            "notification not delivered; it stays queued"
        );
        store
            .retry_notification_at(record.id, Utc::now() + delay)
            .await?;
    }
    Ok(false)
}

/// The deliverable form of a queued notification and the blind index of its recipient's
/// address; `None` when there is nobody to deliver it to any more (the account was erased),
/// the person does not allow its purpose (no consent to marketing, or processing
/// restricted), or its kind is unknown to this version.
async fn prepare(
    store: &Store,
    vault: &Vault,
    record: &NotificationRecord,
    history: PolicyHistory,
) -> Result<Option<(Notification, [u8; 32])>, NotifyError> {
    let Some(kind) = NotificationKind::parse(&record.kind) else {
        tracing::warn!(notification = %record.id, "notification of an unknown kind dropped");
        return Ok(None);
    };
    let Some(account_id) = record.account else {
        return prepare_to_address(vault, record, kind);
    };
    let Some(account) = store.account(account_id).await? else {
        return Ok(None);
    };
    // Asked at delivery, on the ledger as it stands: a consent withdrawn or a restriction
    // made through any instance after the notification was queued stops it.
    let activity = Activity::Process(kind.purpose());
    if let Err(denial) = consent::check_now(store, account.id, activity, history).await? {
        tracing::info!(
            notification = %record.id,
            kind = kind.as_str(),
            reason = %denial,
            "notification not delivered: the person does not allow its purpose"
        );
        return Ok(None);
    }
    let mut recipient = accounts::email_of(vault, &account).await?;
    let mut token = match &record.payload_sealed {
        Some(sealed) => {
            let plaintext = vault
                .open_field(
                    account.subject,
                    payload_field(&record.id.to_string()),
                    sealed,
                )
                .await?;
            Some(SecretString::from(
                String::from_utf8_lossy(&plaintext).into_owned(),
            ))
        }
        None => None,
    };
    if kind == NotificationKind::VerifyNewEmail {
        // The payload is `<new address>\n<token>`: the link goes to the new address.
        let payload = token.take();
        let Some((address, link)) = payload
            .as_ref()
            .and_then(|payload| payload.expose_secret().split_once('\n'))
        else {
            tracing::warn!(notification = %record.id, "a new-address verification without its address dropped");
            return Ok(None);
        };
        recipient = address.to_owned();
        token = Some(SecretString::from(link.to_owned()));
    }
    let campaign = match (kind.is_campaign(), record.campaign) {
        (false, _) => None,
        (true, Some(id)) => {
            let Some(campaign) = store.mail_campaign(id).await? else {
                tracing::warn!(notification = %record.id, "a campaign's message without its campaign dropped");
                return Ok(None);
            };
            Some(CampaignMessage {
                subject: campaign.subject,
                text: campaign.body,
                unsubscribe: (kind == NotificationKind::ProductNews)
                    .then(|| SecretString::from(unsubscribe_token(vault, account.id).encode())),
            })
        }
        (true, None) => {
            tracing::warn!(notification = %record.id, kind = kind.as_str(), "a campaign's message without a campaign dropped");
            return Ok(None);
        }
    };
    // Computed from the address itself: an unverified account's stored index is random.
    let email_index = vault.blind_index(accounts::EMAIL_INDEX, recipient.as_bytes());
    let notification = Notification {
        id: record.id,
        account: Some(account.id),
        kind,
        recipient: SecretString::from(recipient),
        token,
        campaign,
    };
    Ok(Some((notification, email_index)))
}

/// The deliverable form of a notification to someone without an account: its address and
/// payload opened with the system key. No consent ledger exists for them: only a
/// legal-compliance kind is ever queued so ([`enqueue_to_address`]), and any other is
/// dropped (`None`), as is a row without its sealed address.
fn prepare_to_address(
    vault: &Vault,
    record: &NotificationRecord,
    kind: NotificationKind,
) -> Result<Option<(Notification, [u8; 32])>, NotifyError> {
    let Some(sealed) = &record.recipient_sealed else {
        tracing::warn!(notification = %record.id, "a notification without a recipient dropped");
        return Ok(None);
    };
    if kind.purpose() != Purpose::LegalCompliance {
        tracing::warn!(
            notification = %record.id,
            kind = kind.as_str(),
            "a notification of this kind goes to accounts only: dropped"
        );
        return Ok(None);
    }
    let row = record.id.to_string();
    let open = |column: &str, sealed: &[u8]| -> Result<String, NotifyError> {
        let plaintext = vault.open_system(&system_binding(column, &row), sealed)?;
        Ok(String::from_utf8_lossy(&plaintext).into_owned())
    };
    let recipient = open("recipient", sealed)?;
    let token = match &record.payload_sealed {
        Some(sealed) => Some(SecretString::from(open("payload", sealed)?)),
        None => None,
    };
    let email_index = vault.blind_index(accounts::EMAIL_INDEX, recipient.as_bytes());
    let notification = Notification {
        id: record.id,
        account: None,
        kind,
        recipient: SecretString::from(recipient),
        token,
        campaign: None,
    };
    Ok(Some((notification, email_index)))
}

/// Starts the delivery task: a round every [`DELIVERY_INTERVAL`], and the next one at once
/// while rounds take full batches (a backlog drains at the notifier's pace, not one batch
/// a second), until the handle is aborted.
pub fn spawn_delivery(
    store: Store,
    vault: Arc<Vault>,
    notifier: Arc<dyn Notifier>,
    history: PolicyHistory,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(DELIVERY_INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            loop {
                match deliver_queued(&store, &vault, notifier.as_ref(), history).await {
                    Ok(round) if round.was_full() => continue,
                    Ok(_) => break,
                    Err(error) => {
                        tracing::warn!(
                            error = format!("{error:#}"),
                            "notification delivery round failed"
                        );
                        break;
                    }
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_fit_the_column() {
        for kind in NotificationKind::ALL {
            assert_eq!(NotificationKind::parse(kind.as_str()), Some(kind));
            assert!(kind.as_str().len() <= 32, "{kind:?}");
        }
        assert_eq!(NotificationKind::parse("NEW_SIGN_IN"), None);
        assert_eq!(NotificationKind::parse(""), None);
    }

    #[test]
    fn retries_back_off_from_a_second_to_an_hour_and_end_within_a_day_or_so() {
        assert_eq!(retry_delay(1), Duration::from_secs(1));
        assert_eq!(retry_delay(2), Duration::from_secs(2));
        assert_eq!(retry_delay(5), Duration::from_secs(16));
        assert_eq!(retry_delay(13), MAX_RETRY_DELAY);
        assert_eq!(retry_delay(MAX_ATTEMPTS), MAX_RETRY_DELAY);
        let total: Duration = (1..MAX_ATTEMPTS).map(retry_delay).sum();
        assert!(total > Duration::from_secs(12 * 3600), "{total:?}");
        assert!(total < Duration::from_secs(2 * 86_400), "{total:?}");
    }

    #[test]
    fn debug_output_leaves_out_the_address_and_the_token() {
        let notification = Notification {
            id: Uuid::nil(),
            account: Some(Uuid::nil()),
            kind: NotificationKind::VerifyEmail,
            recipient: SecretString::from("alice@example.com"),
            token: Some(SecretString::from("the-token")),
            campaign: Some(CampaignMessage {
                subject: "News".to_owned(),
                text: "Hello".to_owned(),
                unsubscribe: Some(SecretString::from("the-unsubscribe-token")),
            }),
        };
        let debug = format!("{notification:?}");
        assert!(!debug.contains("alice"), "{debug}");
        assert!(!debug.contains("the-token"), "{debug}");
        assert!(!debug.contains("the-unsubscribe-token"), "{debug}");
        assert!(debug.contains("VerifyEmail"), "{debug}");
    }
}

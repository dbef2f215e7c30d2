//! Mail campaigns: `sendProductNews` and `sendServiceAnnouncement` (ADMIN), the one-click
//! unsubscribe of marketing mail, and the suppression list as staff see it.
//!
//! Sending a campaign records it in the audit trail, stores it (its id derived from its
//! kind, subject and text: the same campaign sent again is the same campaign) and walks
//! every user account in pages of [`QUEUE_BATCH`], asking core's audience decision
//! (`icecone_core::campaign::audience::receives`) for each and queueing one message per
//! recipient in the notification outbox — once per account, by a unique key, so a
//! retried, repeated or concurrent send queues nobody twice. The delivery task asks the
//! consent decision again for each message as it goes out.
//!
//! Unsubscribing takes the token of a product-news mail's link (see
//! `icecone_core::campaign::unsubscribe`) and withdraws `MARKETING` with source
//! `UNSUBSCRIBE`. It needs no sign-in: the token is the capability, and it can do nothing
//! else.

use chrono::{DateTime, Utc};
use icecone_core::campaign::audience::{Candidate, receives};
use icecone_core::campaign::unsubscribe::UnsubscribeToken;
use icecone_core::campaign::{CampaignKind, Subject, Text};
use icecone_core::consent::Purpose;
use icecone_core::consent::ledger::{Change, ConsentSource, ConsentState};
use icecone_core::consent::policy::PolicyHistory;
use icecone_store::campaigns::{CampaignRecord, SuppressionRecord};
use icecone_store::{Store, StoreError};
use uuid::Uuid;

use crate::audit::{self, AuditError, AuditEvent};
use crate::consent;
use crate::context::Context;
use crate::keys::vault::Vault;
use crate::notify::{self, NotificationKind};

/// How many accounts one page of the audience walk reads.
pub const QUEUE_BATCH: u64 = 500;
/// The most suppressions one read lists.
pub const MAX_SUPPRESSIONS: u64 = 500;

/// A campaign and how many accounts it is queued for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Campaign {
    /// Its id.
    pub id: Uuid,
    /// Its kind.
    pub kind: CampaignKind,
    /// The subject line.
    pub subject: String,
    /// When it was first sent.
    pub created_at: DateTime<Utc>,
    /// How many accounts a message of it is queued (or was sent) for.
    pub queued_for: u64,
}

/// Why a campaign could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum CampaignError {
    /// The audit trail failed (nothing was queued).
    #[error(transparent)]
    Audit(#[from] AuditError),
    /// The database failed; sending the same campaign again resumes it.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Sends a campaign of `kind` for ADMIN `admin` (the guard checked the role and the fresh
/// second factor): audited, stored, and queued for its audience.
pub async fn send(
    cx: Context<'_>,
    admin: Uuid,
    kind: CampaignKind,
    subject: &Subject,
    text: &Text,
    history: PolicyHistory,
) -> Result<Campaign, CampaignError> {
    let id = kind.id(subject, text);
    let actor = format!("account:{admin}");
    let target = format!("campaign:{id}");
    let action = match kind {
        CampaignKind::ProductNews => "mail.send_product_news",
        CampaignKind::ServiceAnnouncement => "mail.send_service_announcement",
    };
    audit::record(
        cx.store,
        cx.vault,
        AuditEvent {
            actor: &actor,
            action,
            target: Some(&target),
            reason: None,
            request_id: cx.request_id,
        },
    )
    .await?;
    let stored = cx
        .store
        .put_mail_campaign(&CampaignRecord {
            id,
            kind: kind.as_str().to_owned(),
            subject: subject.as_str().to_owned(),
            body: text.as_str().to_owned(),
            created_by: admin,
            created_at: Utc::now(),
        })
        .await?;
    let queued_now = queue(cx.store, id, kind, history).await?;
    let queued_for = cx.store.campaign_message_count(id).await?;
    tracing::info!(campaign = %id, kind = kind.as_str(), queued_now, queued_for, "mail campaign queued");
    Ok(Campaign {
        id,
        kind,
        subject: stored.subject,
        created_at: stored.created_at,
        queued_for,
    })
}

/// Walks every user account a page at a time and queues the campaign's message for those
/// the audience decision admits. Returns how many were queued by this walk.
async fn queue(
    store: &Store,
    campaign: Uuid,
    kind: CampaignKind,
    history: PolicyHistory,
) -> Result<u64, StoreError> {
    let notification_kind = NotificationKind::of_campaign(kind).as_str();
    let mut after = None;
    let mut queued = 0;
    loop {
        let page = store.campaign_candidates(after, QUEUE_BATCH).await?;
        let Some(last) = page.last() else {
            return Ok(queued);
        };
        after = Some(last.account);
        let ids: Vec<Uuid> = page.iter().map(|candidate| candidate.account).collect();
        let mut ledgers = store.consent_entries_of_many(&ids).await?;
        let recipients: Vec<Uuid> = page
            .iter()
            .filter(|candidate| {
                let ledger = ledgers.remove(&candidate.account).unwrap_or_default();
                let state = ConsentState::from_entries(&ledger);
                receives(
                    kind,
                    Candidate {
                        verified: candidate.verified,
                        suppressed: candidate.suppressed,
                        suspended: candidate.suspended,
                        consent: &state,
                    },
                    history.versions(),
                )
                .is_ok()
            })
            .map(|candidate| candidate.account)
            .collect();
        queued += store
            .queue_campaign_messages(campaign, notification_kind, &recipients, Utc::now())
            .await?;
        if u64::try_from(page.len()).unwrap_or(u64::MAX) < QUEUE_BATCH {
            return Ok(queued);
        }
    }
}

/// Why an unsubscribe link did nothing.
#[derive(Debug, thiserror::Error)]
pub enum UnsubscribeError {
    /// Not a token this deployment made, or its account no longer exists.
    #[error("the unsubscribe link is not valid")]
    InvalidLink,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One click on a marketing mail's unsubscribe link: withdraws `MARKETING` for the account
/// the token names, with source `UNSUBSCRIBE`. Idempotent: when marketing is not given
/// (any more), nothing is recorded. Returns whether it was withdrawn now.
pub async fn unsubscribe(
    store: &Store,
    vault: &Vault,
    token: &str,
    history: PolicyHistory,
) -> Result<bool, UnsubscribeError> {
    let token = UnsubscribeToken::parse(token).map_err(|_| UnsubscribeError::InvalidLink)?;
    if !token.verify(&notify::unsubscribe_mac(vault, token.account())) {
        return Err(UnsubscribeError::InvalidLink);
    }
    let account = token.account();
    if store.account(account).await?.is_none() {
        return Err(UnsubscribeError::InvalidLink);
    }
    let state = consent::state_now(store, account).await?;
    if !state.purpose(Purpose::Marketing).granted {
        return Ok(false);
    }
    let withdrawal = consent::entry_now(
        Change::Consent {
            purpose: Purpose::Marketing,
            granted: false,
        },
        ConsentSource::Unsubscribe,
        history,
    );
    consent::record(store, account, &[withdrawal]).await?;
    tracing::info!("marketing withdrawn by a one-click unsubscribe");
    Ok(true)
}

/// Why the suppression list could not be read or changed.
#[derive(Debug, thiserror::Error)]
pub enum SuppressionError {
    /// No account has this id.
    #[error("no such account")]
    UnknownAccount,
    /// The account's address is not suppressed.
    #[error("the address is not suppressed")]
    NotSuppressed,
    /// The audit trail failed (nothing was read or changed).
    #[error(transparent)]
    Audit(#[from] AuditError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The suppression list for staff member `staff`, newest first (at most
/// [`MAX_SUPPRESSIONS`]): recorded in the audit trail (`mail.read_suppressions`) before it
/// is read. Each entry names the account, the reply code and when; never the address.
pub async fn suppressions(
    cx: Context<'_>,
    staff: Uuid,
) -> Result<Vec<SuppressionRecord>, SuppressionError> {
    let actor = format!("account:{staff}");
    audit::record(
        cx.store,
        cx.vault,
        AuditEvent {
            actor: &actor,
            action: "mail.read_suppressions",
            target: None,
            reason: None,
            request_id: cx.request_id,
        },
    )
    .await?;
    Ok(cx.store.mail_suppressions(MAX_SUPPRESSIONS).await?)
}

/// Whether mail to the account's current address was refused for good. An unverified
/// address's stored index is random, so it is never found suppressed this way (delivery
/// checks the index of the address itself).
pub async fn is_suppressed(
    store: &Store,
    account: &icecone_store::accounts::AccountRecord,
) -> Result<bool, StoreError> {
    if account.email_verified_at.is_none() {
        return Ok(false);
    }
    store.is_address_suppressed(&account.email_index).await
}

/// Takes the account's current address off the suppression list for ADMIN `admin` (its
/// owner fixed their mailbox): audited (`mail.lift_suppression`) before it happens.
pub async fn lift_suppression(
    cx: Context<'_>,
    admin: Uuid,
    account: Uuid,
) -> Result<(), SuppressionError> {
    let record = cx
        .store
        .account(account)
        .await?
        .ok_or(SuppressionError::UnknownAccount)?;
    if !is_suppressed(cx.store, &record).await? {
        return Err(SuppressionError::NotSuppressed);
    }
    let actor = format!("account:{admin}");
    let target = format!("account:{account}");
    audit::record(
        cx.store,
        cx.vault,
        AuditEvent {
            actor: &actor,
            action: "mail.lift_suppression",
            target: Some(&target),
            reason: None,
            request_id: cx.request_id,
        },
    )
    .await?;
    cx.store.lift_suppression(&record.email_index).await?;
    Ok(())
}

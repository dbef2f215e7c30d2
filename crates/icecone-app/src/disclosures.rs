//! Disclosures required by law (the policy's "we may disclose data only when required by
//! law"): the DPO records an authority's request ([`record`]); an administrator other than
//! the recorder approves ([`approve`]) or refuses ([`refuse`]) it — each step recorded in
//! the audit trail (who, which request; never the text, never the accounts) before it
//! happens, and a decision applied as one conditional update (core's
//! `disclosure::lifecycle::decide` says which are allowed, four eyes included).
//!
//! The request's free text — the authority's name, the legal basis, its reference, a
//! confidentiality order's reference, a refusal's reason — is sealed under the system key:
//! it outlives the erasure of the people it concerns, whose links are kept pseudonymised
//! (`personal_data`). Whether a person may be shown or told of a disclosure is one
//! decision, core's `disclosure::notice::telling`: the notice mail ([`tell_due`], run on
//! approval and by a periodic task once a confidentiality order ends), the person's own
//! list ([`shown_to`], behind `me { disclosures }`) and their export all ask it.
//! [`transparency_report`] is the published count of approved disclosures.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use icecone_core::crypto::envelope::Binding;
use icecone_core::disclosure::lifecycle::{self, Decision, DecisionRefused, DisclosureStatus};
use icecone_core::disclosure::notice::{self, Telling};
use icecone_core::disclosure::report::{self, ReportRow};
use icecone_core::disclosure::{AuthorityType, DisclosedCategory};
use icecone_store::legal_disclosures::{
    DisclosureNotice, LegalDisclosureDecision, LegalDisclosureRecord,
};
use icecone_store::{Store, StoreError};
use uuid::Uuid;

use crate::audit::{self, AuditEvent};
use crate::keys::vault::Vault;
use crate::notify::{self, NotificationKind};

/// How often an instance looks for disclosures whose people may now be told (a
/// confidentiality order that ended), and once at start-up.
pub const NOTICE_INTERVAL: Duration = Duration::from_secs(5 * 60);
/// The longest authority name and reference, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// The longest legal basis or refusal reason, in characters.
pub const MAX_TEXT_CHARS: usize = 1_000;
/// The most accounts one request may concern.
pub const MAX_ACCOUNTS: usize = 100;

/// Why a step on a disclosure was refused.
#[derive(Debug, thiserror::Error)]
pub enum DisclosureError {
    /// The input is invalid; the message names the rule, never the input.
    #[error("{0}")]
    BadInput(&'static str),
    /// No such request.
    #[error("no such disclosure request")]
    NotFound,
    /// The four-eyes rule: the recorder may not decide.
    #[error(transparent)]
    SamePerson(DecisionRefused),
    /// The request was decided already.
    #[error(transparent)]
    Decided(DecisionRefused),
    /// Someone else decided it first.
    #[error("the request changed meanwhile: read it again")]
    Changed,
    /// Something failed inside the gateway.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<StoreError> for DisclosureError {
    fn from(error: StoreError) -> Self {
        Self::Internal(error.into())
    }
}

impl From<DecisionRefused> for DisclosureError {
    fn from(refused: DecisionRefused) -> Self {
        match refused {
            DecisionRefused::SamePerson => Self::SamePerson(refused),
            DecisionRefused::Decided { .. } => Self::Decided(refused),
        }
    }
}

/// Who acts, for the audit trail.
#[derive(Debug, Clone, Copy)]
pub struct Act<'a> {
    /// The staff member's account.
    pub staff: Uuid,
    /// The request id, for the audit trail.
    pub request_id: Option<&'a str>,
}

/// A confidentiality order as recorded.
#[derive(Clone, PartialEq, Eq)]
pub struct ConfidentialityOrder {
    /// When it ends: the person is told then.
    pub until: DateTime<Utc>,
    /// Its reference.
    pub reference: String,
}

impl std::fmt::Debug for ConfidentialityOrder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfidentialityOrder")
            .field("until", &self.until)
            .finish_non_exhaustive()
    }
}

/// What the DPO records.
#[derive(Clone, Copy)]
pub struct DisclosureInput<'a> {
    /// The authority's name.
    pub authority_name: &'a str,
    /// Its type.
    pub authority_type: AuthorityType,
    /// The legal basis it invokes.
    pub legal_basis: &'a str,
    /// Its reference.
    pub reference: &'a str,
    /// The accounts concerned.
    pub accounts: &'a [Uuid],
    /// The categories of data asked for.
    pub categories: &'a [DisclosedCategory],
    /// A confidentiality order: until when, and its reference.
    pub order: Option<(DateTime<Utc>, &'a str)>,
}

impl std::fmt::Debug for DisclosureInput<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DisclosureInput")
            .field("authority_type", &self.authority_type)
            .field("categories", &self.categories)
            .finish_non_exhaustive()
    }
}

/// A disclosure request, opened for staff.
#[derive(Clone, PartialEq, Eq)]
pub struct OpenedDisclosure {
    /// Its id.
    pub id: Uuid,
    /// The authority's name.
    pub authority_name: String,
    /// Its type.
    pub authority_type: AuthorityType,
    /// The legal basis it invokes.
    pub legal_basis: String,
    /// Its reference.
    pub reference: String,
    /// The categories of data asked for.
    pub categories: Vec<DisclosedCategory>,
    /// The accounts concerned.
    pub accounts: Vec<Uuid>,
    /// A confidentiality order recorded with it.
    pub order: Option<ConfidentialityOrder>,
    /// Where it stands.
    pub status: DisclosureStatus,
    /// The DPO who recorded it.
    pub recorded_by: Uuid,
    /// When.
    pub recorded_at: DateTime<Utc>,
    /// The administrator who decided.
    pub decided_by: Option<Uuid>,
    /// When.
    pub decided_at: Option<DateTime<Utc>>,
    /// Why it was refused.
    pub refusal_reason: Option<String>,
    /// When the people concerned were told.
    pub told_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for OpenedDisclosure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedDisclosure")
            .field("id", &self.id)
            .field("authority_type", &self.authority_type)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// A disclosure as the person it concerns is shown it (only once [`notice::telling`]
/// allows): no staff, no other account, no refusal.
#[derive(Clone, PartialEq, Eq)]
pub struct ShownDisclosure {
    /// Its id (the reference of the notice mail).
    pub id: Uuid,
    /// The authority's name.
    pub authority_name: String,
    /// Its type.
    pub authority_type: AuthorityType,
    /// The legal basis it invoked.
    pub legal_basis: String,
    /// Its reference.
    pub reference: String,
    /// The categories of data disclosed.
    pub categories: Vec<DisclosedCategory>,
    /// When the request was received.
    pub requested_at: DateTime<Utc>,
    /// When it was approved: the data was disclosed.
    pub disclosed_at: DateTime<Utc>,
    /// When a confidentiality order that kept it from the person ended.
    pub confidential_until: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for ShownDisclosure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShownDisclosure")
            .field("id", &self.id)
            .field("authority_type", &self.authority_type)
            .finish_non_exhaustive()
    }
}

fn binding(column: &str, id: Uuid) -> Binding {
    Binding::system("legal_disclosures", column, &id.to_string())
}

fn seal(vault: &Vault, column: &str, id: Uuid, text: &str) -> anyhow::Result<Vec<u8>> {
    Ok(vault.seal_system(&binding(column, id), text.as_bytes())?)
}

fn open(vault: &Vault, column: &str, id: Uuid, sealed: &[u8]) -> anyhow::Result<String> {
    let plaintext = vault.open_system(&binding(column, id), sealed)?;
    Ok(String::from_utf8_lossy(&plaintext).into_owned())
}

fn text(value: &str, max: usize, what: &'static str) -> Result<String, DisclosureError> {
    let trimmed = value.trim();
    let chars = trimmed.chars().count();
    if chars == 0 || chars > max {
        return Err(DisclosureError::BadInput(what));
    }
    Ok(trimmed.to_owned())
}

/// The audit trail's target of a step on request `id`: the request alone. Never the
/// accounts: an entry naming one would reach that person's export while a confidentiality
/// order may still forbid telling them.
fn audit_target(id: Uuid) -> String {
    format!("legal_disclosure:{}", id.simple())
}

async fn audited(
    store: &Store,
    vault: &Vault,
    act: Act<'_>,
    action: &str,
    id: Uuid,
) -> Result<(), DisclosureError> {
    let actor = format!("account:{}", act.staff);
    let target = audit_target(id);
    audit::record(
        store,
        vault,
        AuditEvent {
            actor: &actor,
            action,
            target: Some(&target),
            reason: None,
            request_id: act.request_id,
        },
    )
    .await
    .map_err(|error| DisclosureError::Internal(error.into()))?;
    Ok(())
}

/// The DPO records an authority's request: validated (names and reference 1 to
/// [`MAX_NAME_CHARS`] characters, the legal basis 1 to [`MAX_TEXT_CHARS`], 1 to
/// [`MAX_ACCOUNTS`] existing accounts, at least one category, a confidentiality order
/// ending in the future), audited, then stored with its free text sealed.
pub async fn record(
    store: &Store,
    vault: &Vault,
    act: Act<'_>,
    input: DisclosureInput<'_>,
    now: DateTime<Utc>,
) -> Result<OpenedDisclosure, DisclosureError> {
    let authority_name = text(
        input.authority_name,
        MAX_NAME_CHARS,
        "`authorityName` must be 1 to 200 characters",
    )?;
    let legal_basis = text(
        input.legal_basis,
        MAX_TEXT_CHARS,
        "`legalBasis` must be 1 to 1000 characters",
    )?;
    let reference = text(
        input.reference,
        MAX_NAME_CHARS,
        "`reference` must be 1 to 200 characters",
    )?;
    let mut accounts = input.accounts.to_vec();
    accounts.sort_unstable();
    accounts.dedup();
    if accounts.is_empty() || accounts.len() > MAX_ACCOUNTS {
        return Err(DisclosureError::BadInput(
            "`accountIds` must name 1 to 100 accounts",
        ));
    }
    for account in &accounts {
        if store.account(*account).await?.is_none() {
            return Err(DisclosureError::BadInput(
                "`accountIds` names an account that does not exist",
            ));
        }
    }
    if input.categories.is_empty() {
        return Err(DisclosureError::BadInput(
            "`categories` must name at least one category",
        ));
    }
    let order = match input.order {
        None => None,
        Some((until, _)) if until <= now => {
            return Err(DisclosureError::BadInput(
                "a confidentiality order must end in the future",
            ));
        }
        Some((until, order_reference)) => Some(ConfidentialityOrder {
            until,
            reference: text(
                order_reference,
                MAX_NAME_CHARS,
                "the confidentiality order's `reference` must be 1 to 200 characters",
            )?,
        }),
    };
    let id = Uuid::new_v4();
    audited(store, vault, act, "legal_disclosure.record", id).await?;
    let record = LegalDisclosureRecord {
        id,
        authority_name_sealed: seal(vault, "authority_name", id, &authority_name)?,
        authority_type: input.authority_type.as_str().to_owned(),
        legal_basis_sealed: seal(vault, "legal_basis", id, &legal_basis)?,
        reference_sealed: seal(vault, "reference", id, &reference)?,
        categories: DisclosedCategory::join(input.categories),
        confidential_until: order.as_ref().map(|order| order.until),
        confidentiality_reference_sealed: match &order {
            Some(order) => Some(seal(
                vault,
                "confidentiality_reference",
                id,
                &order.reference,
            )?),
            None => None,
        },
        status: DisclosureStatus::Recorded.as_str().to_owned(),
        recorded_by: act.staff,
        recorded_at: now,
        decided_by: None,
        decided_at: None,
        refusal_reason_sealed: None,
        notice_queued_at: None,
        accounts,
    };
    store.insert_legal_disclosure(&record).await?;
    opened(vault, record)
}

/// An administrator other than the recorder approves request `id`: audited, applied by one
/// conditional update, and the people concerned told at once unless a confidentiality
/// order is live (then [`tell_due`] tells them when it ends).
pub async fn approve(
    store: &Store,
    vault: &Vault,
    act: Act<'_>,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<OpenedDisclosure, DisclosureError> {
    decide(store, vault, act, id, Decision::Approve, None, now).await?;
    let record = found(store, id).await?;
    tell(store, vault, &record, now).await?;
    opened(vault, found(store, id).await?)
}

/// An administrator other than the recorder refuses request `id` with `reason` (1 to
/// [`MAX_TEXT_CHARS`] characters, kept sealed): nothing is disclosed, nobody is told.
pub async fn refuse(
    store: &Store,
    vault: &Vault,
    act: Act<'_>,
    id: Uuid,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<OpenedDisclosure, DisclosureError> {
    let reason = text(
        reason,
        MAX_TEXT_CHARS,
        "`reason` must be 1 to 1000 characters",
    )?;
    decide(store, vault, act, id, Decision::Refuse, Some(&reason), now).await?;
    opened(vault, found(store, id).await?)
}

async fn found(store: &Store, id: Uuid) -> Result<LegalDisclosureRecord, DisclosureError> {
    store
        .legal_disclosure(id)
        .await?
        .ok_or(DisclosureError::NotFound)
}

fn status_of(record: &LegalDisclosureRecord) -> anyhow::Result<DisclosureStatus> {
    DisclosureStatus::parse(&record.status)
        .ok_or_else(|| anyhow::anyhow!("a disclosure request in an unknown status"))
}

async fn decide(
    store: &Store,
    vault: &Vault,
    act: Act<'_>,
    id: Uuid,
    decision: Decision,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), DisclosureError> {
    let record = found(store, id).await?;
    // Refused before anything is recorded.
    let to = lifecycle::decide(
        status_of(&record)?,
        decision,
        &record.recorded_by,
        &act.staff,
    )?;
    let action = match decision {
        Decision::Approve => "legal_disclosure.approve",
        Decision::Refuse => "legal_disclosure.refuse",
    };
    audited(store, vault, act, action, id).await?;
    let allowed: Vec<&str> = lifecycle::allowed_from(decision)
        .into_iter()
        .map(DisclosureStatus::as_str)
        .collect();
    let refusal_reason_sealed = match reason {
        Some(reason) => Some(seal(vault, "refusal_reason", id, reason)?),
        None => None,
    };
    let applied = store
        .decide_legal_disclosure(
            id,
            LegalDisclosureDecision {
                from: &allowed,
                to: to.as_str(),
                by: act.staff,
                at: now,
                refusal_reason_sealed,
            },
        )
        .await?;
    if !applied {
        return Err(DisclosureError::Changed);
    }
    Ok(())
}

fn telling_of(record: &LegalDisclosureRecord, now: DateTime<Utc>) -> anyhow::Result<Telling> {
    Ok(notice::telling(
        status_of(record)?,
        record.confidential_until,
        now,
    ))
}

/// Tells the people `record` concerns, if [`notice::telling`] allows it at `now` and they
/// were not told yet: a notice to each account that still exists, queued with the
/// compare-and-set that marks the disclosure told. `true` when this call queued them.
async fn tell(
    store: &Store,
    vault: &Vault,
    record: &LegalDisclosureRecord,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    if record.notice_queued_at.is_some() || !telling_of(record, now)?.may_tell() {
        return Ok(false);
    }
    let payload = record.id.to_string();
    let mut notices = Vec::with_capacity(record.accounts.len());
    for account in &record.accounts {
        // An erased account is told nothing: there is nobody to tell.
        let Some(account) = store.account(*account).await? else {
            continue;
        };
        let id = Uuid::new_v4();
        let sealed = vault
            .seal(
                account.subject,
                notify::payload_field(&id.to_string()),
                payload.as_bytes(),
            )
            .await?;
        notices.push(DisclosureNotice {
            id,
            account: account.id,
            kind: NotificationKind::LegalDisclosure.as_str().to_owned(),
            payload_sealed: Some(sealed),
        });
    }
    Ok(store
        .queue_legal_disclosure_notices(record.id, now, &notices)
        .await?)
}

/// Tells the people of every approved disclosure that may now be told and was not (its
/// confidentiality order ended): what the periodic task runs. Returns how many disclosures
/// it told; safe to race (each is told by one caller).
pub async fn tell_due(store: &Store, vault: &Vault, now: DateTime<Utc>) -> anyhow::Result<u64> {
    let mut told = 0;
    for record in store.legal_disclosures_to_tell(now).await? {
        if tell(store, vault, &record, now).await? {
            told += 1;
        }
    }
    Ok(told)
}

/// Starts the notice task: a run at once, then every `interval`.
pub fn spawn_notices(
    store: Store,
    vault: Arc<Vault>,
    interval: Duration,
) -> tokio::task::JoinHandle<()> {
    crate::periodic::spawn_every("disclosure notices", interval, move || {
        let store = store.clone();
        let vault = vault.clone();
        async move { tell_due(&store, &vault, Utc::now()).await }
    })
}

fn opened(
    vault: &Vault,
    record: LegalDisclosureRecord,
) -> Result<OpenedDisclosure, DisclosureError> {
    let id = record.id;
    let status = status_of(&record)?;
    let order = match (
        record.confidential_until,
        &record.confidentiality_reference_sealed,
    ) {
        (Some(until), Some(sealed)) => Some(ConfidentialityOrder {
            until,
            reference: open(vault, "confidentiality_reference", id, sealed)?,
        }),
        _ => None,
    };
    Ok(OpenedDisclosure {
        id,
        authority_name: open(vault, "authority_name", id, &record.authority_name_sealed)?,
        authority_type: AuthorityType::parse(&record.authority_type)
            .ok_or_else(|| anyhow::anyhow!("a disclosure of an unknown authority type"))?,
        legal_basis: open(vault, "legal_basis", id, &record.legal_basis_sealed)?,
        reference: open(vault, "reference", id, &record.reference_sealed)?,
        categories: DisclosedCategory::parse_list(&record.categories)
            .ok_or_else(|| anyhow::anyhow!("a disclosure of an unknown category"))?,
        accounts: record.accounts,
        order,
        status,
        recorded_by: record.recorded_by,
        recorded_at: record.recorded_at,
        decided_by: record.decided_by,
        decided_at: record.decided_at,
        refusal_reason: match &record.refusal_reason_sealed {
            Some(sealed) => Some(open(vault, "refusal_reason", id, sealed)?),
            None => None,
        },
        told_at: record.notice_queued_at,
    })
}

/// Every request, newest first, opened for staff (callers record the read first).
pub async fn read_all(
    store: &Store,
    vault: &Vault,
) -> Result<Vec<OpenedDisclosure>, DisclosureError> {
    store
        .legal_disclosures()
        .await?
        .into_iter()
        .map(|record| opened(vault, record))
        .collect()
}

/// The disclosures of `account` that it may be shown at `now` ([`notice::telling`]),
/// newest first: what `me { disclosures }` and the export list.
pub async fn shown_to(
    store: &Store,
    vault: &Vault,
    account: Uuid,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<ShownDisclosure>> {
    let mut shown = Vec::new();
    for record in store.legal_disclosures_of(account).await? {
        if !telling_of(&record, now)?.may_tell() {
            continue;
        }
        let opened = opened(vault, record).map_err(anyhow::Error::from)?;
        let Some(disclosed_at) = opened.decided_at else {
            anyhow::bail!("an approved disclosure without its decision time");
        };
        shown.push(ShownDisclosure {
            id: opened.id,
            authority_name: opened.authority_name,
            authority_type: opened.authority_type,
            legal_basis: opened.legal_basis,
            reference: opened.reference,
            categories: opened.categories,
            requested_at: opened.recorded_at,
            disclosed_at,
            confidential_until: opened.order.map(|order| order.until),
        });
    }
    Ok(shown)
}

/// The transparency report at `now`: approved disclosures per quarter and authority type
/// over the last [`report::QUARTERS`] quarters, small counts suppressed (core's
/// `disclosure::report`). Typed rows, for the privacy page to render.
pub async fn transparency_report(
    store: &Store,
    now: DateTime<Utc>,
) -> Result<Vec<ReportRow>, StoreError> {
    // A little over the period: the report itself keeps only its quarters.
    let since =
        now - chrono::TimeDelta::days(31 * 3 * i64::try_from(report::QUARTERS).unwrap_or(8));
    let approvals = store
        .approved_legal_disclosures_since(since)
        .await?
        .into_iter()
        .filter_map(|(at, kind)| Some((at, AuthorityType::parse(&kind)?)));
    Ok(report::transparency_report(approvals, now))
}

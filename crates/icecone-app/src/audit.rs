//! The audit trail: append-only, each entry chained to the previous one by an HMAC
//! (`icecone_core::audit`), with a key derived from the vault's system key.
//!
//! Entries hold an actor, an action, a pseudonymous target (ids, never e-mail addresses or
//! names), a written reason sealed with the system key, the time and the request id — no
//! personal data in clear. Appending takes the next sequence number; the store refuses a
//! number already taken, so two gateways appending at once cannot fork the chain: the
//! loser re-reads the head and tries again. `icecone audit verify` walks the whole chain
//! and names the first entry that was edited, deleted or inserted.

use chrono::Utc;
use icecone_core::audit::{
    AuditRecord, ChainBroken, ChainHead, ChainVerifier, Verified, chain_time,
};
use icecone_core::crypto::envelope::Binding;
use icecone_store::audit_log::AuditRow;
use icecone_store::{Store, StoreError};

use crate::keys::vault::{Vault, VaultError};

/// How often an append is retried when another writer took the sequence number.
const APPEND_ATTEMPTS: usize = 20;
/// Entries read per page while verifying.
const PAGE: u64 = 500;

/// Something that happened, to be recorded.
#[derive(Debug, Clone, Copy)]
pub struct AuditEvent<'a> {
    /// Who acted: `account:<uuid>`, `cli`, `system`.
    pub actor: &'a str,
    /// What was done, e.g. `keys.rotate`, `staff.read_account`.
    pub action: &'a str,
    /// On whom or what, pseudonymised (an account id, `kek:v2`), if anything.
    pub target: Option<&'a str>,
    /// The written reason, if one was given (sealed before it is stored).
    pub reason: Option<&'a str>,
    /// The request that caused it.
    pub request_id: Option<&'a str>,
}

/// Why the audit trail could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The vault (sealing the reason) failed.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Other writers kept taking the next sequence number.
    #[error("could not append to the audit trail: too many concurrent writers")]
    Contended,
}

fn reason_binding(seq: u64) -> Binding {
    Binding::system("audit_log", "reason_sealed", &seq.to_string())
}

/// Appends an entry and returns its sequence number.
pub async fn record(
    store: &Store,
    vault: &Vault,
    event: AuditEvent<'_>,
) -> Result<u64, AuditError> {
    let key = vault.audit_chain_key();
    for _ in 0..APPEND_ATTEMPTS {
        let head = match store.audit_head().await? {
            Some((seq, mac)) => ChainHead { seq, mac },
            None => ChainHead::GENESIS,
        };
        let seq = head.next_seq();
        let reason_sealed = event
            .reason
            .map(|reason| vault.seal_system(&reason_binding(seq), reason.as_bytes()))
            .transpose()?;
        let record = AuditRecord {
            seq,
            at: chain_time(Utc::now()),
            actor: event.actor.to_owned(),
            action: event.action.to_owned(),
            target: event.target.map(str::to_owned),
            reason_ciphertext: reason_sealed.clone(),
            request_id: event.request_id.map(str::to_owned),
        };
        let mac = head.append(&key, &record).mac;
        let row = AuditRow {
            seq,
            at: record.at,
            actor: record.actor,
            action: record.action,
            target: record.target,
            reason_sealed,
            request_id: record.request_id,
            mac,
        };
        match store.append_audit(row).await {
            Ok(()) => return Ok(seq),
            Err(StoreError::Duplicate) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    Err(AuditError::Contended)
}

/// An entry as readers of the trail see it: the reason opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadEntry {
    /// The position in the chain.
    pub seq: u64,
    /// When it happened.
    pub at: chrono::DateTime<Utc>,
    /// Who acted.
    pub actor: String,
    /// What was done.
    pub action: String,
    /// On whom or what, pseudonymised.
    pub target: Option<String>,
    /// The written reason, opened.
    pub reason: Option<String>,
    /// The request that caused it.
    pub request_id: Option<String>,
}

/// The most entries [`read_page`] returns at once.
pub const MAX_READ_PAGE: u64 = 200;

/// Up to `limit` (at most [`MAX_READ_PAGE`]) entries after `after_seq`, oldest first, for
/// `reader` (an actor such as `account:<uuid>`). The reading itself is recorded first
/// (`audit.read`, the first sequence number asked for as its target): no entry is shown
/// unless the read is in the trail.
pub async fn read_page(
    store: &Store,
    vault: &Vault,
    reader: &str,
    request_id: Option<&str>,
    after_seq: Option<u64>,
    limit: u64,
) -> Result<Vec<ReadEntry>, AuditError> {
    let target = format!("audit:after:{}", after_seq.unwrap_or(0));
    let event = AuditEvent {
        actor: reader,
        action: "audit.read",
        target: Some(&target),
        reason: None,
        request_id,
    };
    record(store, vault, event).await?;
    let rows = store
        .audit_page(after_seq, limit.min(MAX_READ_PAGE))
        .await?;
    rows.into_iter().map(|row| read_entry(vault, row)).collect()
}

/// Every entry about the account or by it, oldest first, reasons opened: staff who read the
/// account and why, what was done to it and what its holder did (for the person's export).
pub async fn entries_of_account(
    store: &Store,
    vault: &Vault,
    account: uuid::Uuid,
) -> Result<Vec<ReadEntry>, AuditError> {
    store
        .audit_entries_of_account(account)
        .await?
        .into_iter()
        .map(|row| read_entry(vault, row))
        .collect()
}

fn read_entry(vault: &Vault, row: AuditRow) -> Result<ReadEntry, AuditError> {
    let reason = row
        .reason_sealed
        .map(|sealed| {
            let plaintext = vault.open_system(&reason_binding(row.seq), &sealed)?;
            Ok::<_, VaultError>(String::from_utf8_lossy(&plaintext).into_owned())
        })
        .transpose()?;
    Ok(ReadEntry {
        seq: row.seq,
        at: row.at,
        actor: row.actor,
        action: row.action,
        target: row.target,
        reason,
        request_id: row.request_id,
    })
}

/// The outcome of walking the chain.
#[derive(Debug)]
pub enum Verification {
    /// Every entry is in place and unedited.
    Intact(Verified),
    /// The first entry that is not.
    Broken(ChainBroken),
}

/// Walks the whole chain from its first entry.
pub async fn verify(store: &Store, vault: &Vault) -> Result<Verification, AuditError> {
    let key = vault.audit_chain_key();
    let mut verifier = ChainVerifier::new(&key);
    let mut after = None;
    loop {
        let page = store.audit_page(after, PAGE).await?;
        let Some(last) = page.last().map(|row| row.seq) else {
            break;
        };
        for row in page {
            let mac = row.mac;
            let record = AuditRecord {
                seq: row.seq,
                at: row.at,
                actor: row.actor,
                action: row.action,
                target: row.target,
                reason_ciphertext: row.reason_sealed,
                request_id: row.request_id,
            };
            if let Err(broken) = verifier.push(&record, &mac) {
                return Ok(Verification::Broken(broken));
            }
        }
        after = Some(last);
    }
    Ok(match verifier.finish() {
        Ok(verified) => Verification::Intact(verified),
        Err(broken) => Verification::Broken(broken),
    })
}

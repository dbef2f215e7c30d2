//! Accounts whose e-mail address was never verified are erased `unverified_account_ttl`
//! (default seven days) after sign-up: whoever signed up with an address they could not
//! confirm leaves nothing behind. The purge asks for the erasure the person could have asked
//! for — the same request, the same [`super::job`] with no grace period, so the same steps,
//! crypto-shredding included — and audits it as the system's (`rights.erasure_unverified`).
//! [`crate::retention::housekeeping`] runs it every hour.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use icecone_store::Store;

use crate::audit::{self, AuditEvent};
use crate::keys::vault::Vault;

/// Accounts asked for per look-up.
const BATCH: u64 = 100;
/// Who asks, in the audit trail.
const ACTOR: &str = "system";

/// Queues the erasure of every account made more than `ttl` before `now` whose address is
/// still unverified; returns how many were queued.
pub async fn purge_unverified(
    store: &Store,
    vault: &Vault,
    ttl: Duration,
    now: DateTime<Utc>,
) -> anyhow::Result<u64> {
    let ttl = TimeDelta::from_std(ttl).unwrap_or(TimeDelta::MAX);
    let cutoff = now
        .checked_sub_signed(ttl)
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    let mut queued = 0;
    loop {
        let accounts = store.unverified_accounts_before(cutoff, BATCH).await?;
        let last_batch = (accounts.len() as u64) < BATCH;
        for account in accounts {
            let (request, job) = super::deletion(account, now, now);
            let (_, created) = match store.request_account_deletion(&request, &job, now).await {
                Ok(answer) => answer,
                // Erased meanwhile by someone else's request: nothing left to do.
                Err(_) if store.account(account).await?.is_none() => continue,
                Err(error) => return Err(error.into()),
            };
            if created {
                let target = format!("account:{account}");
                audit::record(
                    store,
                    vault,
                    AuditEvent {
                        actor: ACTOR,
                        action: "rights.erasure_unverified",
                        target: Some(&target),
                        reason: None,
                        request_id: None,
                    },
                )
                .await?;
                queued += 1;
            }
        }
        if last_batch {
            return Ok(queued);
        }
    }
}

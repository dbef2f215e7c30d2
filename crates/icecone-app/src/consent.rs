//! The consent ledger as the gateway uses it: a person's current state read through the
//! store's two-second read cache (no database round trip per field, nor mostly per
//! request), every change appended to the ledger, and the one decision function of
//! `icecone_core::consent::decision` asked before anything runs for a purpose — by GraphQL
//! fields, by notification delivery and by the GPC signal alike.
//!
//! Every function that decides or records under a policy version takes the policy history
//! it runs with (`PolicyHistory`): production passes `PolicyHistory::published()`, a test
//! a longer history, to see what a new version does.

use std::sync::Arc;

use chrono::Utc;
use icecone_core::consent::Purpose;
use icecone_core::consent::decision::{Activity, Denial, may_process};
use icecone_core::consent::ledger::{Change, ConsentSource, ConsentState, LedgerEntry};
use icecone_core::consent::policy::PolicyHistory;
use icecone_core::consent::renewal::consents_to_renew;
use icecone_store::{Store, StoreError};
use uuid::Uuid;

/// The person's current consent state. A change made through this gateway instance is
/// seen at once; one made through another instance within two seconds.
pub async fn state(store: &Store, account: Uuid) -> Result<Arc<ConsentState>, StoreError> {
    store.consent_state_cached(account).await
}

/// The person's current consent state read from the ledger itself, past the read cache:
/// for decisions that must not lag behind a change made through another instance (a
/// background job's next step, a notification about to go out).
pub async fn state_now(store: &Store, account: Uuid) -> Result<ConsentState, StoreError> {
    Ok(ConsentState::from_entries(
        &store.consent_entries(account).await?,
    ))
}

/// Whether `activity` may run for the person now, under `history`.
pub async fn check(
    store: &Store,
    account: Uuid,
    activity: Activity,
    history: PolicyHistory,
) -> Result<Result<(), Denial>, StoreError> {
    let state = state(store, account).await?;
    Ok(may_process(activity, &state, history.versions()))
}

/// The consents the person must give again under `history`'s current version (see
/// `icecone_core::consent::renewal`).
pub async fn to_renew(
    store: &Store,
    account: Uuid,
    history: PolicyHistory,
) -> Result<Vec<Purpose>, StoreError> {
    let state = state(store, account).await?;
    Ok(consents_to_renew(&state, history.versions()))
}

/// Whether `activity` may run for the person now, decided on the ledger as it stands in
/// the database ([`state_now`]).
pub async fn check_now(
    store: &Store,
    account: Uuid,
    activity: Activity,
    history: PolicyHistory,
) -> Result<Result<(), Denial>, StoreError> {
    let state = state_now(store, account).await?;
    Ok(may_process(activity, &state, history.versions()))
}

/// An entry made now, under `history`'s current version.
pub fn entry_now(change: Change, source: ConsentSource, history: PolicyHistory) -> LedgerEntry {
    LedgerEntry {
        change,
        policy_version: history.current().version.to_owned(),
        source,
        at: Utc::now(),
    }
}

/// Appends entries to the person's ledger and returns the new state. An entry that may
/// allow again what was refused (a restriction lifted, a consent given) releases the
/// person's held background jobs: the job runner asks the decision again before their next
/// step.
pub async fn record(
    store: &Store,
    account: Uuid,
    entries: &[LedgerEntry],
) -> Result<Arc<ConsentState>, StoreError> {
    store.append_consent_entries(account, entries).await?;
    let allows_more = entries.iter().any(|entry| {
        matches!(
            entry.change,
            Change::Restriction { restricted: false } | Change::Consent { granted: true, .. }
        )
    });
    if allows_more {
        let released = store.release_held_jobs(account, Utc::now()).await?;
        if released > 0 {
            tracing::info!(released, "held background jobs released");
        }
    }
    state(store, account).await
}

/// Global Privacy Control: a signed-in request with `Sec-GPC: 1` withdraws marketing
/// (source `GPC`) when it is given. Returns whether it was withdrawn now.
pub async fn honour_gpc(
    store: &Store,
    account: Uuid,
    history: PolicyHistory,
) -> Result<bool, StoreError> {
    let state = state(store, account).await?;
    if !state.purpose(Purpose::Marketing).granted {
        return Ok(false);
    }
    let withdrawal = entry_now(
        Change::Consent {
            purpose: Purpose::Marketing,
            granted: false,
        },
        ConsentSource::Gpc,
        history,
    );
    record(store, account, &[withdrawal]).await?;
    Ok(true)
}

//! The consent ledger as the gateway uses it: each person's state loaded at most once per
//! request ([`ConsentCache`]), every change appended to the ledger and audited, and the one
//! decision function of `icecone_core::consent::decision` asked before anything runs for a
//! purpose — by GraphQL fields, by notification delivery and by the GPC signal alike.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use icecone_core::consent::Purpose;
use icecone_core::consent::decision::{Activity, Denial, may_process};
use icecone_core::consent::ledger::{Change, ConsentSource, ConsentState, LedgerEntry};
use icecone_core::consent::policy::{self, HISTORY};
use icecone_store::{Store, StoreError};
use uuid::Uuid;

/// The consent states read during one request, so that a field asked a hundred times (by
/// aliases, fragments or a batch) costs one database read per person.
/// Clones share one cache (a batch's operations share their request's).
#[derive(Debug, Default, Clone)]
pub struct ConsentCache(Arc<Mutex<HashMap<Uuid, Arc<ConsentState>>>>);

impl ConsentCache {
    fn get(&self, account: Uuid) -> Option<Arc<ConsentState>> {
        self.0
            .lock()
            .ok()
            .and_then(|states| states.get(&account).cloned())
    }

    fn put(&self, account: Uuid, state: Arc<ConsentState>) {
        if let Ok(mut states) = self.0.lock() {
            states.insert(account, state);
        }
    }
}

/// The person's current consent state (from the cache when this request read it already).
pub async fn state(
    store: &Store,
    cache: Option<&ConsentCache>,
    account: Uuid,
) -> Result<Arc<ConsentState>, StoreError> {
    if let Some(state) = cache.and_then(|cache| cache.get(account)) {
        return Ok(state);
    }
    let entries = store.consent_entries_cached(account).await?;
    let state = Arc::new(ConsentState::from_entries(entries.iter()));
    if let Some(cache) = cache {
        cache.put(account, state.clone());
    }
    Ok(state)
}

/// Whether `activity` may run for the person now.
pub async fn check(
    store: &Store,
    cache: Option<&ConsentCache>,
    account: Uuid,
    activity: Activity,
) -> Result<Result<(), Denial>, StoreError> {
    let state = state(store, cache, account).await?;
    Ok(may_process(activity, &state, HISTORY))
}

/// An entry made now, under the current policy version.
pub fn entry_now(change: Change, source: ConsentSource) -> LedgerEntry {
    LedgerEntry {
        change,
        policy_version: policy::CURRENT.version.to_owned(),
        source,
        at: Utc::now(),
    }
}

/// Appends entries to the person's ledger and returns the new state (kept in the cache).
pub async fn record(
    store: &Store,
    cache: Option<&ConsentCache>,
    account: Uuid,
    entries: &[LedgerEntry],
) -> Result<Arc<ConsentState>, StoreError> {
    let mut state = (*state(store, cache, account).await?).clone();
    store.append_consent_entries(account, entries).await?;
    for entry in entries {
        state.apply(entry);
    }
    let state = Arc::new(state);
    if let Some(cache) = cache {
        cache.put(account, state.clone());
    }
    Ok(state)
}

/// Global Privacy Control: a signed-in request with `Sec-GPC: 1` withdraws marketing
/// (source `GPC`) when it is given. Returns whether it was withdrawn now.
pub async fn honour_gpc(
    store: &Store,
    cache: Option<&ConsentCache>,
    account: Uuid,
) -> Result<bool, StoreError> {
    let state = state(store, cache, account).await?;
    if !state.purpose(Purpose::Marketing).granted {
        return Ok(false);
    }
    let withdrawal = entry_now(
        Change::Consent {
            purpose: Purpose::Marketing,
            granted: false,
        },
        ConsentSource::Gpc,
    );
    record(store, cache, account, &[withdrawal]).await?;
    Ok(true)
}

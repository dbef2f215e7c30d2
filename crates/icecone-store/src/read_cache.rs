//! A short-lived, in-process cache of what every signed-in request needs — the session, the
//! account, the person's consent state (computed from their ledger) and, for generations,
//! their usage this month — which would otherwise be read from the database on every
//! request.
//!
//! Only [`Store::account_cached`], [`Store::session_cached`],
//! [`Store::consent_state_cached`] and [`Store::usage_cached`] read through it; every
//! other read goes to the database. Every write this store makes to an account, a session
//! or a ledger drops the cached rows at once, and every change of usage is applied to the
//! cached counters, so on one gateway instance nothing is stale (but for a change racing
//! the read that fills the cache); a write made by another instance is seen within
//! [`READ_CACHE_TTL`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::Store;
use crate::StoreError;
use std::sync::Arc;

use icecone_core::consent::ledger::ConsentState;
use icecone_core::usage::{Period, Usage};

use crate::accounts::AccountRecord;
use crate::sessions::SessionRecord;

/// How long a cached row is served before it is read again.
pub const READ_CACHE_TTL: Duration = Duration::from_secs(2);
/// The most rows of one kind kept; past it the cache starts over.
const MAX_ROWS: usize = 20_000;

#[derive(Debug)]
struct Rows<T>(Mutex<HashMap<Uuid, (Instant, T)>>);

impl<T> Default for Rows<T> {
    fn default() -> Self {
        Self(Mutex::new(HashMap::new()))
    }
}

impl<T: Clone> Rows<T> {
    fn get(&self, id: Uuid) -> Option<T> {
        let rows = self.0.lock().ok()?;
        let (read_at, row) = rows.get(&id)?;
        (read_at.elapsed() < READ_CACHE_TTL).then(|| row.clone())
    }

    fn put(&self, id: Uuid, row: T) {
        if let Ok(mut rows) = self.0.lock() {
            if rows.len() >= MAX_ROWS {
                rows.clear();
            }
            rows.insert(id, (Instant::now(), row));
        }
    }

    fn forget(&self, id: Uuid) {
        if let Ok(mut rows) = self.0.lock() {
            rows.remove(&id);
        }
    }

    fn forget_where(&self, mut drop: impl FnMut(&T) -> bool) {
        if let Ok(mut rows) = self.0.lock() {
            rows.retain(|_, (_, row)| !drop(row));
        }
    }
}

/// The cached rows of one store (shared by its clones).
#[derive(Debug, Default)]
pub(crate) struct ReadCache {
    accounts: Rows<AccountRecord>,
    sessions: Rows<SessionRecord>,
    ledgers: Rows<Arc<ConsentState>>,
    /// Each account's usage in one period (the period's key, the counters).
    usage: Rows<(String, Usage)>,
}

impl ReadCache {
    pub(crate) fn forget_account(&self, id: Uuid) {
        self.accounts.forget(id);
    }

    pub(crate) fn forget_session(&self, id: Uuid) {
        self.sessions.forget(id);
    }

    pub(crate) fn forget_ledger(&self, account: Uuid) {
        self.ledgers.forget(account);
    }

    /// Applies a change of an account's usage in `period` to its cached counters, if they
    /// are cached for that period.
    pub(crate) fn adjust_usage(
        &self,
        account: Uuid,
        period: &str,
        change: impl Fn(Usage) -> Usage,
    ) {
        if let Ok(mut rows) = self.usage.0.lock()
            && let Some((_, (cached_period, usage))) = rows.get_mut(&account)
            && cached_period == period
        {
            *usage = change(*usage);
        }
    }

    pub(crate) fn forget_sessions_of(&self, account: Uuid) {
        self.sessions
            .forget_where(|session| session.account == account);
    }
}

impl Store {
    /// An account by id, served from the read cache when it was read in the last
    /// [`READ_CACHE_TTL`]. For the per-request path only: decisions that must see another
    /// instance's writes at once use [`Store::account`].
    pub async fn account_cached(&self, id: Uuid) -> Result<Option<AccountRecord>, StoreError> {
        if let Some(row) = self.cache.accounts.get(id) {
            return Ok(Some(row));
        }
        let row = self.account(id).await?;
        if let Some(row) = &row {
            self.cache.accounts.put(id, row.clone());
        }
        Ok(row)
    }

    /// A session by id, served from the read cache when it was read in the last
    /// [`READ_CACHE_TTL`]. For authenticating requests: a revocation made through this
    /// store is seen at once, one made by another instance within [`READ_CACHE_TTL`].
    pub async fn session_cached(&self, id: Uuid) -> Result<Option<SessionRecord>, StoreError> {
        if let Some(row) = self.cache.sessions.get(id) {
            return Ok(Some(row));
        }
        let row = self.session(id).await?;
        if let Some(row) = &row {
            self.cache.sessions.put(id, row.clone());
        }
        Ok(row)
    }

    /// What the account used in `period`, served from the read cache when it was read in
    /// the last [`READ_CACHE_TTL`] (with this store's later changes applied). For the
    /// pre-check of a generation only: the conditional reservations
    /// ([`Store::add_usage_within`]) decide on the database's counters.
    pub async fn usage_cached(&self, account: Uuid, period: &Period) -> Result<Usage, StoreError> {
        if let Some((cached_period, usage)) = self.cache.usage.get(account)
            && cached_period == period.as_str()
        {
            return Ok(usage);
        }
        let usage = self.usage(account, period).await?;
        self.cache
            .usage
            .put(account, (period.as_str().to_owned(), usage));
        Ok(usage)
    }

    /// The current state of an account's consent ledger (computed by
    /// `ConsentState::from_entries`), served from the read cache when it was read in the
    /// last [`READ_CACHE_TTL`]: a change appended through this store is seen at once, one
    /// appended by another instance within [`READ_CACHE_TTL`].
    pub async fn consent_state_cached(
        &self,
        account: Uuid,
    ) -> Result<Arc<ConsentState>, StoreError> {
        if let Some(state) = self.cache.ledgers.get(account) {
            return Ok(state);
        }
        let entries = self.consent_entries(account).await?;
        let state = Arc::new(ConsentState::from_entries(&entries));
        self.cache.ledgers.put(account, state.clone());
        Ok(state)
    }
}

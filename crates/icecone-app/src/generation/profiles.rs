//! The personalization profiles derived from people's generation histories, kept in memory
//! so that `Account.personalization` does not read and decrypt the last
//! [`super::HISTORY_LIMIT`] generations on every request.
//!
//! A profile is served only for the history version it was derived at: the account row's
//! `history_version`, which a database trigger bumps with every insert, delete and change of
//! a generation, whatever code path or gateway instance makes it (a person's deletion, the
//! erasure, the retention purge, a generation finishing on another instance). The version is
//! read with the account row the request already loads, so a change made by another
//! instance is seen once that row is read again — within the store's read-cache TTL
//! (`icecone_store::read_cache::READ_CACHE_TTL`, 2 s) — and a change made through this
//! instance's [`super::Generations`] drops the profile at once ([`Profiles::forget`]).
//!
//! Derived personal data stays in memory only briefly: an entry older than [`PROFILE_TTL`]
//! is never served and is dropped when the cache is next filled, and the cache holds at most
//! [`MAX_PROFILES`] entries.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use icecone_core::personalization::Profile;
use uuid::Uuid;

/// How long a derived profile may be served (and kept) after it was derived.
pub const PROFILE_TTL: Duration = Duration::from_secs(60);
/// The most profiles kept; past it the cache starts over.
pub const MAX_PROFILES: usize = 10_000;

#[derive(Debug)]
struct Entry {
    version: i64,
    derived_at: Instant,
    profile: Profile,
}

/// The cache, keyed by account.
#[derive(Debug, Default)]
pub(crate) struct Profiles(Mutex<HashMap<Uuid, Entry>>);

impl Profiles {
    /// The profile of `account` derived at history `version`, if it is cached and fresh.
    pub(crate) fn get(&self, account: Uuid, version: i64) -> Option<Profile> {
        let entries = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = entries.get(&account)?;
        (entry.version == version && entry.derived_at.elapsed() < PROFILE_TTL)
            .then(|| entry.profile.clone())
    }

    /// Keeps `profile`, derived for `account` at history `version`; drops expired entries.
    pub(crate) fn put(&self, account: Uuid, version: i64, profile: Profile) {
        let mut entries = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        entries.retain(|_, entry| entry.derived_at.elapsed() < PROFILE_TTL);
        if entries.len() >= MAX_PROFILES {
            entries.clear();
        }
        entries.insert(
            account,
            Entry {
                version,
                derived_at: Instant::now(),
                profile,
            },
        );
    }

    /// Drops the profile of `account` (its history changed through this instance).
    pub(crate) fn forget(&self, account: Uuid) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&account);
    }
}

#[cfg(test)]
mod tests {
    use icecone_core::generation::GenerationKind;

    use super::*;

    fn profile(prompt: &str) -> Profile {
        Profile {
            favourite_kinds: vec![GenerationKind::Text],
            suggested_prompts: vec![prompt.to_owned()],
            preferred_providers: Vec::new(),
        }
    }

    #[test]
    fn a_profile_is_served_only_for_the_history_version_it_was_derived_at() {
        let cache = Profiles::default();
        let (alice, bob) = (Uuid::new_v4(), Uuid::new_v4());
        assert_eq!(cache.get(alice, 3), None);
        cache.put(alice, 3, profile("a"));
        assert_eq!(cache.get(alice, 3), Some(profile("a")));
        assert_eq!(cache.get(alice, 4), None, "the history changed since");
        assert_eq!(cache.get(bob, 3), None, "another person's");
        cache.put(alice, 4, profile("b"));
        assert_eq!(cache.get(alice, 3), None);
        assert_eq!(cache.get(alice, 4), Some(profile("b")));
        cache.forget(alice);
        assert_eq!(cache.get(alice, 4), None, "forgotten");
    }
}

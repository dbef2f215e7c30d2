//! Our own retention window for generations: a periodic job deletes, for every account,
//! the generations (prompts, outputs and media) older than the configured window.

use std::time::Duration;

use chrono::{DateTime, Utc};
use icecone_store::{Store, StoreError};

/// How often the purge job runs.
pub const PURGE_INTERVAL: Duration = Duration::from_secs(3_600);

/// Deletes every generation created more than `retention` before `now`; returns how many.
pub async fn purge_expired(
    store: &Store,
    retention: Duration,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let retention = chrono::TimeDelta::from_std(retention).unwrap_or(chrono::TimeDelta::MAX);
    let cutoff = now
        .checked_sub_signed(retention)
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    store.purge_generations_before(cutoff).await
}

/// Starts the purge job: a run at once, then one every `interval`.
pub fn spawn_purge(
    store: Store,
    retention: Duration,
    interval: Duration,
) -> tokio::task::JoinHandle<()> {
    crate::periodic::spawn_every("generation purge", interval, move || {
        let store = store.clone();
        async move { purge_expired(&store, retention, Utc::now()).await }
    })
}

//! Group commit of finished generations: each generation's row and the usage it metered
//! are written in one transaction with those of every other generation finishing at the
//! same moment.
//!
//! A caller queues its write and waits for the gate. Whoever holds the gate takes every
//! queued write (up to [`MAX_BATCH`]) and commits them together: one multi-row `INSERT`
//! into `generations`, one multi-row upsert of `usage_counters` (the amounts summed per
//! account and period), one commit. A caller whose write a previous holder committed
//! returns as soon as it gets the gate. Alone, a write is its own batch, so nothing waits
//! for company; under load, one commit serves many requests — SQLite has a single writer
//! and each statement is a round trip to its connection's thread, so this is what lets
//! persisted generations scale with requests.
//!
//! A batch that fails is written again one write per transaction, so one bad write (a
//! duplicate id) fails alone. The batch runs in its own task: a caller that goes away
//! (its client disconnected) does not abort the writes of the others.

use std::collections::BTreeMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use icecone_core::usage::{Period, Usage};
use sea_orm::{DatabaseConnection, EntityTrait, TransactionTrait};
use tokio::sync::oneshot;
use uuid::Uuid;

use crate::StoreError;
use crate::entity::generation;
use crate::read_cache::ReadCache;

/// The most writes one transaction takes (well within SQLite's bound parameters).
const MAX_BATCH: usize = 128;

/// What a generation metered, to add to its account's counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metering {
    /// The period the usage counts in.
    pub period: Period,
    /// What was used.
    pub usage: Usage,
    /// When it was metered.
    pub at: DateTime<Utc>,
}

/// A metering with its account.
#[derive(Debug, Clone)]
pub(crate) struct Metered {
    pub(crate) account: Uuid,
    pub(crate) metering: Metering,
}

/// One queued write and where its outcome goes.
struct Pending {
    row: generation::ActiveModel,
    metered: Option<Metered>,
    done: oneshot::Sender<Result<(), StoreError>>,
}

/// The queue and the gate; one per store, shared by its clones.
#[derive(Default)]
pub(crate) struct GroupCommit {
    queue: Mutex<Vec<Pending>>,
    gate: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit").finish_non_exhaustive()
    }
}

impl GroupCommit {
    /// Writes `row` and its metering, with whatever else is queued; returns once committed.
    pub(crate) async fn write(
        &self,
        db: &DatabaseConnection,
        cache: &std::sync::Arc<ReadCache>,
        row: generation::ActiveModel,
        metered: Option<Metered>,
    ) -> Result<(), StoreError> {
        let (done, mut outcome) = oneshot::channel();
        self.queue
            .lock()
            .map_err(|_| StoreError::Interrupted)?
            .push(Pending { row, metered, done });
        loop {
            let _gate = self.gate.lock().await;
            match outcome.try_recv() {
                Ok(result) => return result,
                Err(oneshot::error::TryRecvError::Closed) => return Err(StoreError::Interrupted),
                Err(oneshot::error::TryRecvError::Empty) => {}
            }
            let batch = {
                let mut queue = self.queue.lock().map_err(|_| StoreError::Interrupted)?;
                let keep = queue.len().saturating_sub(MAX_BATCH);
                queue.split_off(keep)
            };
            if batch.is_empty() {
                continue;
            }
            let db = db.clone();
            let cache = std::sync::Arc::clone(cache);
            // Its own task: the batch is committed even if this caller is dropped.
            let _ = tokio::spawn(commit(db, cache, batch)).await;
        }
    }
}

/// Commits `batch` in one transaction, or — if that fails — each write in its own; tells
/// every caller its outcome.
async fn commit(db: DatabaseConnection, cache: std::sync::Arc<ReadCache>, batch: Vec<Pending>) {
    let rows: Vec<_> = batch.iter().map(|pending| pending.row.clone()).collect();
    let metered: Vec<_> = batch
        .iter()
        .filter_map(|pending| pending.metered.clone())
        .collect();
    match transaction(&db, rows, &metered).await {
        Ok(()) => {
            apply(&cache, &metered);
            for pending in batch {
                let _ = pending.done.send(Ok(()));
            }
        }
        Err(_) if batch.len() > 1 => {
            for pending in batch {
                let metered: Vec<_> = pending.metered.into_iter().collect();
                let result = transaction(&db, vec![pending.row], &metered).await;
                if result.is_ok() {
                    apply(&cache, &metered);
                }
                let _ = pending.done.send(result);
            }
        }
        Err(error) => {
            if let Some(pending) = batch.into_iter().next() {
                let _ = pending.done.send(Err(error));
            }
        }
    }
}

async fn transaction(
    db: &DatabaseConnection,
    rows: Vec<generation::ActiveModel>,
    metered: &[Metered],
) -> Result<(), StoreError> {
    let txn = db.begin().await.map_err(StoreError::Query)?;
    generation::Entity::insert_many(rows)
        .exec_without_returning(&txn)
        .await
        .map_err(StoreError::from_insert)?;
    crate::usage::add_all(&txn, &summed(metered)).await?;
    txn.commit().await.map_err(StoreError::Query)
}

/// The amounts of `metered` summed per account and period (one row each in the upsert).
fn summed(metered: &[Metered]) -> Vec<Metered> {
    let mut sums: BTreeMap<(Uuid, &str), Metered> = BTreeMap::new();
    for entry in metered {
        sums.entry((entry.account, entry.metering.period.as_str()))
            .and_modify(|sum| {
                sum.metering.usage = sum.metering.usage.plus(entry.metering.usage);
                sum.metering.at = sum.metering.at.max(entry.metering.at);
            })
            .or_insert_with(|| entry.clone());
    }
    sums.into_values().collect()
}

/// Applies committed metering to the cached counters.
fn apply(cache: &ReadCache, metered: &[Metered]) {
    for entry in metered {
        cache.adjust_usage(entry.account, entry.metering.period.as_str(), |usage| {
            usage.plus(entry.metering.usage)
        });
    }
}

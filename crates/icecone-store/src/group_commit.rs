//! Group commit of finished generations and analytics events: each generation's row and
//! the usage it metered, and each batch of raw analytics events, are written in one
//! transaction with those of every other write queued at the same moment.
//!
//! A caller queues its write and waits for the gate. Whoever holds the gate takes every
//! queued write (up to [`MAX_BATCH`]) and commits them together: one multi-row `INSERT`
//! into `generations`, one multi-row upsert of `usage_counters` (the amounts summed per
//! account and period), one multi-row `INSERT` into `analytics_events`, one commit (each
//! statement only when it has rows). A caller whose write a previous holder committed
//! returns as soon as it gets the gate. Alone, a write is its own batch, so nothing waits
//! for company; under load, one commit serves many requests.
//!
//! On SQLite the batch goes to one connection the gate keeps — taken from the store's
//! writer pool and never given back — as a single call (`BEGIN IMMEDIATE; INSERT ...;
//! INSERT ... ON CONFLICT ...; COMMIT`): one round trip to the connection's thread, where
//! a pooled transaction costs five (`BEGIN`, two statements, `COMMIT`, and the ping sqlx
//! sends whenever a connection goes back to its pool). SQLite has one writer at a time, so
//! round trips, not SQL, bounded the rate of persisted generations. On PostgreSQL the
//! batch is an ordinary transaction on the pool.
//!
//! A batch that fails is written again one write per transaction, so one bad write (a
//! duplicate id) fails alone. The batch runs in its own task holding the gate: a caller
//! that goes away (its client disconnected) does not abort the writes of the others, and
//! no other batch starts before it ends.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use sea_orm::sqlx::pool::PoolConnection;
use sea_orm::sqlx::{self, Sqlite};
use sea_orm::{
    DatabaseConnection, DbBackend, DbErr, EntityTrait, QueryTrait, RuntimeErr, TransactionTrait,
};
use sea_query_sqlx::SqlxValues;
use tokio::sync::{OwnedMutexGuard, oneshot};
use uuid::Uuid;

use crate::entity::{analytics_event, generation};
use crate::read_cache::ReadCache;
use crate::usage::Metered;
use crate::{Backend, StoreError};

/// The most writes one transaction takes (well within SQLite's bound parameters).
const MAX_BATCH: usize = 128;

/// One queued write and where its outcome goes.
struct Pending {
    write: Write,
    done: oneshot::Sender<Result<(), StoreError>>,
}

/// What one caller writes.
#[derive(Default)]
pub(crate) struct Write {
    /// A finished generation's row.
    pub(crate) row: Option<generation::ActiveModel>,
    /// The usage it metered.
    pub(crate) metered: Option<Metered>,
    /// Raw analytics events.
    pub(crate) events: Vec<analytics_event::ActiveModel>,
}

/// What the gate guards: on SQLite, the writer connection once taken.
type Held = Option<PoolConnection<Sqlite>>;

/// The queue and the gate; one per store, shared by its clones.
pub(crate) struct GroupCommit {
    queue: Mutex<Vec<Pending>>,
    gate: Arc<tokio::sync::Mutex<Held>>,
    /// The writer pool (SQLite) or the pool (PostgreSQL).
    writer: DatabaseConnection,
    backend: Backend,
    cache: Arc<ReadCache>,
}

impl std::fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl GroupCommit {
    pub(crate) fn new(writer: DatabaseConnection, backend: Backend, cache: Arc<ReadCache>) -> Self {
        Self {
            queue: Mutex::default(),
            gate: Arc::default(),
            writer,
            backend,
            cache,
        }
    }

    /// Writes `write`, with whatever else is queued; returns once committed.
    pub(crate) async fn write(&self, write: Write) -> Result<(), StoreError> {
        let (done, mut outcome) = oneshot::channel();
        self.queue
            .lock()
            .map_err(|_| StoreError::Interrupted)?
            .push(Pending { write, done });
        loop {
            let gate = Arc::clone(&self.gate).lock_owned().await;
            match outcome.try_recv() {
                Ok(result) => return result,
                Err(oneshot::error::TryRecvError::Closed) => return Err(StoreError::Interrupted),
                Err(oneshot::error::TryRecvError::Empty) => {}
            }
            // The oldest writes first: under sustained load none waits for ever.
            let batch: Vec<Pending> = {
                let mut queue = self.queue.lock().map_err(|_| StoreError::Interrupted)?;
                let take = queue.len().min(MAX_BATCH);
                queue.drain(..take).collect()
            };
            if batch.is_empty() {
                // Not served, yet no longer queued: the batch that took it was lost.
                return Err(StoreError::Interrupted);
            }
            let sink = Sink {
                writer: self.writer.clone(),
                backend: self.backend,
            };
            // Its own task, holding the gate: committed even if this caller is dropped.
            let cache = Arc::clone(&self.cache);
            let _ = tokio::spawn(commit(sink, gate, cache, batch)).await;
        }
    }
}

/// Commits `batch` in one transaction, or — if that fails — each write in its own; tells
/// every caller its outcome. Holds the gate until done.
async fn commit(
    sink: Sink,
    mut gate: OwnedMutexGuard<Held>,
    cache: Arc<ReadCache>,
    batch: Vec<Pending>,
) {
    let rows: Vec<_> = batch
        .iter()
        .filter_map(|pending| pending.write.row.clone())
        .collect();
    let metered: Vec<_> = batch
        .iter()
        .filter_map(|pending| pending.write.metered.clone())
        .collect();
    let events: Vec<_> = batch
        .iter()
        .flat_map(|pending| pending.write.events.iter().cloned())
        .collect();
    match sink.transaction(&mut gate, rows, &metered, events).await {
        Ok(()) => {
            apply(&cache, &metered);
            for pending in batch {
                let _ = pending.done.send(Ok(()));
            }
        }
        Err(error) if batch.len() == 1 => {
            if let Some(pending) = batch.into_iter().next() {
                let _ = pending.done.send(Err(error));
            }
        }
        Err(_) => {
            for pending in batch {
                let Write {
                    row,
                    metered,
                    events,
                } = pending.write;
                let metered: Vec<_> = metered.into_iter().collect();
                let rows: Vec<_> = row.into_iter().collect();
                let result = sink.transaction(&mut gate, rows, &metered, events).await;
                if result.is_ok() {
                    apply(&cache, &metered);
                }
                let _ = pending.done.send(result);
            }
        }
    }
}

/// Where a batch goes: the writer pool (SQLite) or the pool (PostgreSQL).
struct Sink {
    writer: DatabaseConnection,
    backend: Backend,
}

impl Sink {
    async fn transaction(
        &self,
        held: &mut Held,
        rows: Vec<generation::ActiveModel>,
        metered: &[Metered],
        events: Vec<analytics_event::ActiveModel>,
    ) -> Result<(), StoreError> {
        let insert = (!rows.is_empty()).then(|| generation::Entity::insert_many(rows));
        let upsert = crate::usage::add_all(&summed(metered))?;
        let counted = (!events.is_empty()).then(|| analytics_event::Entity::insert_many(events));
        match self.backend {
            Backend::Postgres => {
                let txn = self.writer.begin().await.map_err(StoreError::Query)?;
                if let Some(insert) = insert {
                    insert
                        .exec_without_returning(&txn)
                        .await
                        .map_err(StoreError::from_insert)?;
                }
                if let Some(upsert) = upsert {
                    upsert
                        .exec_without_returning(&txn)
                        .await
                        .map_err(StoreError::Query)?;
                }
                if let Some(counted) = counted {
                    counted
                        .exec_without_returning(&txn)
                        .await
                        .map_err(StoreError::Query)?;
                }
                txn.commit().await.map_err(StoreError::Query)
            }
            Backend::Sqlite => {
                let statements: Vec<_> = insert
                    .map(|insert| insert.build(DbBackend::Sqlite))
                    .into_iter()
                    .chain(upsert.map(|upsert| upsert.build(DbBackend::Sqlite)))
                    .chain(counted.map(|counted| counted.build(DbBackend::Sqlite)))
                    .collect();
                if statements.is_empty() {
                    return Ok(());
                }
                self.sqlite_call(held, &statements).await
            }
        }
    }

    /// Runs `statements` in one transaction on the writer connection, in one call.
    async fn sqlite_call(
        &self,
        held: &mut Held,
        statements: &[sea_orm::Statement],
    ) -> Result<(), StoreError> {
        let connection = match held {
            Some(connection) => connection,
            None => held.insert(
                self.writer
                    .get_sqlite_connection_pool()
                    .acquire()
                    .await
                    .map_err(|error| StoreError::Query(exec_error(error)))?,
            ),
        };
        let mut sql = String::from("BEGIN IMMEDIATE;\n");
        let mut values = Vec::new();
        for statement in statements {
            sql.push_str(&statement.sql);
            sql.push_str(";\n");
            values.extend(statement.values.iter().flat_map(|v| v.0.iter().cloned()));
        }
        sql.push_str("COMMIT;");
        let result = sqlx::query_with(
            sqlx::AssertSqlSafe(sql),
            SqlxValues(sea_orm::sea_query::Values(values)),
        )
        .execute(&mut **connection)
        .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) => {
                // The transaction may still be open (a statement failed after BEGIN): roll
                // it back; if even that fails the connection is dropped, and the next
                // batch takes a fresh one.
                if sqlx::raw_sql(sqlx::AssertSqlSafe("ROLLBACK"))
                    .execute(&mut **connection)
                    .await
                    .is_err()
                    && let Some(connection) = held.take()
                {
                    drop(connection.detach());
                }
                Err(StoreError::from_insert(exec_error(error)))
            }
        }
    }
}

/// An sqlx error as sea-orm reports one (so [`StoreError::from_insert`] can tell a
/// duplicate).
fn exec_error(error: sqlx::Error) -> DbErr {
    DbErr::Exec(RuntimeErr::SqlxError(Arc::new(error)))
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

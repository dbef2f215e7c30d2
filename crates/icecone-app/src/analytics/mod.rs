//! Anonymised, aggregated analytics: capture, forgetting, the daily aggregation and the
//! reading of aggregates.
//!
//! **Capture.** [`Analytics::capture`] counts what happened only when core's
//! `analytics::capture::may_capture` allows it for the person now (consent to `ANALYTICS`
//! under the current policy, not restricted, not objected to, not withdrawn by GPC). The
//! person appears as a pseudonym: an HMAC of their account id under the day's random key,
//! which lives sealed under the system key in `analytics_days` (and in memory, for the
//! day) until the day is aggregated. An event holds what happened, its kind, provider,
//! latency (rounded to ten milliseconds) or right, and the hour — never a prompt, an
//! output, an address, a user agent or a finer time. Capture never fails the request it
//! counts: a failure is logged, without data.
//!
//! **Forgetting.** [`forget`] deletes a person's raw events of every day whose key still
//! lives (found by their pseudonym under that key): on withdrawal, objection or
//! restriction ([`Analytics::after_consent_change`]) and erasure (the erasure job).
//!
//! **Aggregation.** [`Analytics::aggregate_due`] (hourly on every instance) claims each
//! past day not yet aggregated, makes its cells with core's `analytics::aggregate`
//! (suppression, complementary suppression, noise with a budget) and, in one transaction
//! conditional on the claim, writes the cells, deletes the raw events and destroys the
//! day's key. Nothing left links an aggregate to a person, not even for IceCone. The
//! retention purge `StaleAnalyticsEvents` deletes any raw event older than 48 hours.
//!
//! **Reading.** [`Analytics::cells`] answers staff's `analytics` field from the stored
//! cells only: no API returns an event.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Timelike, Utc};
use icecone_core::analytics::aggregate::{Options, RawEvent, aggregate};
use icecone_core::analytics::capture::{may_capture, pseudonym};
use icecone_core::analytics::{Dimension, EventKind, Metric, UnknownGrouping, grouping};
use icecone_core::consent::Purpose;
use icecone_core::consent::decision::{Activity, may_process};
use icecone_core::consent::ledger::ConsentState;
use icecone_core::consent::policy::PolicyHistory;
use icecone_core::crypto::envelope::Binding;
use icecone_core::generation::GenerationKind;
use icecone_core::provider::ProviderId;
use icecone_core::rights::DataRequestKind;
use icecone_store::analytics::{AnalyticsCellRow, AnalyticsEvent};
use icecone_store::{Store, StoreError};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::consent;
use crate::keys::vault::Vault;
use crate::settings::AnalyticsConfig;

pub mod ratings;

/// How long a claim on a day's aggregation lasts before another instance may take it.
const LEASE: chrono::TimeDelta = chrono::TimeDelta::minutes(10);
/// The longest period one `analytics` query may cover.
pub const MAX_DAYS: i64 = 366;
/// How long after a withdrawal the person's events are deleted a second time: past the
/// two seconds in which another instance may still decide on the consent state it read
/// before the change.
const SECOND_PASS: Duration = Duration::from_secs(5);

/// What the export says about analytics, whatever it finds.
pub const EXPORT_STATEMENT: &str = "With your consent to analytics, what you do today is counted under a pseudonym of the day (an HMAC of your account id under a random key of that day). After the day is aggregated — hourly once the day has ended, never more than 48 hours later — the events are deleted and the key destroyed: from then on, nothing links any aggregate to you, not even for IceCone. The events listed here are those still linkable to you now.";

/// The table whose sealed column holds the days' keys.
const DAYS: &str = "analytics_days";

fn key_binding(day: NaiveDate) -> Binding {
    Binding::system(DAYS, "key_sealed", &day.to_string())
}

/// Now, to the microsecond (what PostgreSQL keeps), so that a lease read back compares
/// equal.
fn now_micros(now: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}

/// An event without its day, hour and pseudonym: what happened, the kind of generation,
/// the provider, the latency in milliseconds, the right.
type EventParts = (
    EventKind,
    Option<GenerationKind>,
    Option<String>,
    Option<u32>,
    Option<DataRequestKind>,
);

/// What happened, to be counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Happened {
    /// The account was created.
    SignUp,
    /// A generation was asked for, and how it went.
    Generation {
        /// Its kind.
        kind: GenerationKind,
        /// How it went.
        outcome: Outcome,
    },
    /// A generation accepted to be made later (a video job) ended, and how: only its
    /// outcome, since its request was counted when it was accepted.
    QueuedGenerationEnded {
        /// Its kind.
        kind: GenerationKind,
        /// How it ended.
        outcome: Outcome,
    },
    /// A data subject right was exercised.
    RightExercised(DataRequestKind),
}

/// How a generation request went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It succeeded at `provider` after `latency`.
    Succeeded {
        /// The provider that answered.
        provider: ProviderId,
        /// How long the request took.
        latency: Duration,
    },
    /// It failed (at `provider`, when one was tried).
    Failed {
        /// The provider that failed, if known.
        provider: Option<ProviderId>,
    },
    /// It was refused because a quota was used up.
    QuotaReached,
    /// It was accepted to be made later (a video job).
    Queued,
}

impl Happened {
    /// The raw events it makes (without day, hour and pseudonym).
    fn events(&self) -> Vec<EventParts> {
        match self {
            Self::SignUp => vec![(EventKind::SignUp, None, None, None, None)],
            Self::RightExercised(right) => {
                vec![(EventKind::RightExercised, None, None, None, Some(*right))]
            }
            Self::Generation { kind, outcome } => {
                let requested = (
                    EventKind::GenerationRequested,
                    Some(*kind),
                    None,
                    None,
                    None,
                );
                std::iter::once(requested)
                    .chain(outcome_event(*kind, outcome))
                    .collect()
            }
            Self::QueuedGenerationEnded { kind, outcome } => {
                outcome_event(*kind, outcome).into_iter().collect()
            }
        }
    }
}

/// The event of how a generation of `kind` went; none for one only queued.
fn outcome_event(kind: GenerationKind, outcome: &Outcome) -> Option<EventParts> {
    match outcome {
        Outcome::Succeeded { provider, latency } => Some((
            EventKind::GenerationSucceeded,
            Some(kind),
            Some(provider.as_str().to_owned()),
            Some(icecone_core::analytics::rounded_latency(
                latency.as_millis(),
            )),
            None,
        )),
        Outcome::Failed { provider } => Some((
            EventKind::GenerationFailed,
            Some(kind),
            provider.as_ref().map(|p| p.as_str().to_owned()),
            None,
            None,
        )),
        Outcome::QuotaReached => Some((EventKind::QuotaReached, Some(kind), None, None, None)),
        Outcome::Queued => None,
    }
}

/// A query that cannot be answered as asked.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// `from` is after `to`, or the period is longer than [`MAX_DAYS`].
    #[error("the period must run forward and cover at most {MAX_DAYS} days")]
    Period,
    /// The metric cannot be grouped so.
    #[error(transparent)]
    Grouping(#[from] UnknownGrouping),
    /// The store failed.
    #[error(transparent)]
    Internal(#[from] StoreError),
}

/// What analytics data exists about a person, for their export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AboutPerson {
    /// The days whose key still lives, with how many of the person's events each holds.
    pub linkable_events: Vec<(NaiveDate, u64)>,
}

/// The analytics service: capture with the day's key kept in memory, and the aggregation.
pub struct Analytics {
    store: Store,
    vault: Arc<Vault>,
    history: PolicyHistory,
    config: AnalyticsConfig,
    today: KeyCache,
}

impl std::fmt::Debug for Analytics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analytics")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Analytics {
    /// The service over the store and the vault, deciding consent under `history`.
    pub fn new(
        store: Store,
        vault: Arc<Vault>,
        history: PolicyHistory,
        config: AnalyticsConfig,
    ) -> Self {
        Self {
            store,
            vault,
            history,
            config,
            today: Mutex::new(None),
        }
    }

    /// Its settings.
    pub fn config(&self) -> AnalyticsConfig {
        self.config
    }

    /// Counts `what` for `account`, if analytics counts for them now. Never fails: a
    /// failure is logged without data.
    pub async fn capture(&self, account: Uuid, what: &Happened) {
        if let Err(error) = self.try_capture(account, what, Utc::now()).await {
            tracing::warn!(error = %crate::error_chain(&*error), "an analytics event was not recorded");
        }
    }

    async fn try_capture(
        &self,
        account: Uuid,
        what: &Happened,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        record(
            &self.store,
            &self.vault,
            self.history,
            account,
            what,
            now,
            Some(&self.today),
        )
        .await
    }

    /// After a change of the person's consents: when analytics no longer counts for them,
    /// their raw events are deleted at once and again a few seconds later (another
    /// instance may have counted on the state it read just before); when improvement no
    /// longer may run, their ratings are deleted.
    pub async fn after_consent_change(
        self: &Arc<Self>,
        account: Uuid,
        state: &ConsentState,
    ) -> anyhow::Result<()> {
        if may_process(
            Activity::Process(Purpose::Improvement),
            state,
            self.history.versions(),
        )
        .is_err()
        {
            self.store.delete_ratings_of(account).await?;
        }
        if may_capture(state, self.history.versions()).is_ok() {
            return Ok(());
        }
        forget(&self.store, &self.vault, account).await?;
        let this = Arc::clone(self);
        tokio::spawn(async move {
            tokio::time::sleep(SECOND_PASS).await;
            if let Err(error) = forget(&this.store, &this.vault, account).await {
                tracing::warn!(error = %crate::error_chain(&*error), "a person's analytics events were not deleted a second time");
            }
        });
        Ok(())
    }

    /// Aggregates every past day not yet aggregated that this instance can claim. Returns
    /// how many days it aggregated.
    pub async fn aggregate_due(&self, now: DateTime<Utc>) -> anyhow::Result<u64> {
        let today = now.date_naive();
        if let Ok(mut cached) = self.today.lock()
            && cached.as_ref().is_some_and(|(day, _)| *day < today)
        {
            *cached = None;
        }
        let mut done = 0;
        for day in self.store.analytics_days_due(today).await? {
            if self.aggregate_day(day, now).await? {
                done += 1;
            }
        }
        Ok(done)
    }

    /// Aggregates `day` if this instance claims it. Returns whether it did.
    async fn aggregate_day(&self, day: NaiveDate, now: DateTime<Utc>) -> anyhow::Result<bool> {
        let now = now_micros(now);
        let lease_until = now + LEASE;
        if !self
            .store
            .claim_analytics_day(day, now, lease_until)
            .await?
        {
            return Ok(false);
        }
        let stored = self.store.analytics_events_of_day(day).await?;
        let mut people: BTreeMap<[u8; 32], u32> = BTreeMap::new();
        let events: Vec<RawEvent> = stored
            .into_iter()
            .map(|event| {
                let next = u32::try_from(people.len()).unwrap_or(u32::MAX);
                let person = *people.entry(event.pseudonym).or_insert(next);
                RawEvent {
                    person,
                    kind: event.kind,
                    generation: event.generation,
                    provider: event.provider,
                    latency_ms: event.latency_ms,
                    right: event.right,
                }
            })
            .collect();
        drop(people);
        let mut uniform = uniform;
        let options = Options {
            min_group: self.config.min_group,
            noise: self
                .config
                .epsilon
                .map(|epsilon| (epsilon, &mut uniform as &mut dyn FnMut() -> f64)),
        };
        let cells: Vec<AnalyticsCellRow> = aggregate(&events, options)
            .into_iter()
            .map(|cell| AnalyticsCellRow {
                day,
                metric: cell.metric,
                grouping: cell.grouping,
                coordinates: cell.coordinates,
                people: cell.people,
                value: cell.value,
            })
            .collect();
        Ok(self
            .store
            .finish_analytics_day(day, lease_until, &cells, now)
            .await?)
    }

    /// The cells of `metric` grouped by `group_by`, for the days `from` to `to`.
    pub async fn cells(
        &self,
        metric: Metric,
        from: NaiveDate,
        to: NaiveDate,
        group_by: &[Dimension],
    ) -> Result<Vec<AnalyticsCellRow>, QueryError> {
        if from > to || (to - from).num_days() >= MAX_DAYS {
            return Err(QueryError::Period);
        }
        let grouping = grouping(metric, group_by)?;
        Ok(self
            .store
            .analytics_cells(metric, &grouping, from, to)
            .await?)
    }

    /// Starts the hourly aggregation on this instance (and, after it, `then`: the ranking).
    pub fn spawn<F, Fut>(self: Arc<Self>, mut then: F) -> tokio::task::JoinHandle<()>
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: std::future::Future<Output = anyhow::Result<u64>> + Send,
    {
        let interval = self.config.interval;
        crate::periodic::spawn_every("analytics aggregation", interval, move || {
            let this = self.clone();
            let ranked = then();
            async move {
                let days = this.aggregate_due(Utc::now()).await?;
                let kinds = ranked.await?;
                Ok::<u64, anyhow::Error>(days + kinds)
            }
        })
    }
}

/// A uniform number in `[0, 1)` from the operating system's generator.
fn uniform() -> f64 {
    let bits = getrandom::u64().unwrap_or(0);
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// The key of `day`, opened; made, sealed and stored if the day has none yet (of two
/// instances making it at once, the first stored wins and both use it). `None` once the
/// day was aggregated (its key destroyed).
async fn open_or_make_key(
    store: &Store,
    vault: &Vault,
    day: NaiveDate,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<Zeroizing<[u8; 32]>>> {
    for _ in 0..2 {
        match store.analytics_day(day).await? {
            Some(stored) => {
                return match stored.key_sealed {
                    Some(sealed) => open_key(vault, day, &sealed).map(Some),
                    None => Ok(None),
                };
            }
            None => {
                let mut key = Zeroizing::new([0u8; 32]);
                getrandom::fill(key.as_mut())
                    .map_err(|_| anyhow::anyhow!("no randomness for an analytics key"))?;
                let sealed = vault.seal_system(&key_binding(day), key.as_ref())?;
                match store.insert_analytics_day(day, sealed, now).await {
                    Ok(()) => return Ok(Some(key)),
                    Err(StoreError::Duplicate) => continue,
                    Err(error) => return Err(error.into()),
                }
            }
        }
    }
    Err(anyhow::anyhow!(
        "the analytics key of a day could not be read"
    ))
}

fn open_key(vault: &Vault, day: NaiveDate, sealed: &[u8]) -> anyhow::Result<Zeroizing<[u8; 32]>> {
    let opened = vault.open_system(&key_binding(day), sealed)?;
    let bytes: [u8; 32] = opened
        .as_slice()
        .try_into()
        .map_err(|_| anyhow::anyhow!("an analytics key is not 32 bytes"))?;
    Ok(Zeroizing::new(bytes))
}

/// Deletes `account`'s raw events of every day whose key still lives. Returns how many.
pub async fn forget(store: &Store, vault: &Vault, account: Uuid) -> anyhow::Result<u64> {
    let mut deleted = 0;
    for day in store.live_analytics_days().await? {
        let Some(sealed) = day.key_sealed else {
            continue;
        };
        let key = open_key(vault, day.day, &sealed)?;
        deleted += store
            .delete_analytics_events_of(day.day, &pseudonym(&key, &account))
            .await?;
    }
    Ok(deleted)
}

/// What analytics data about `account` is still linkable to them: their events of each
/// day whose key still lives.
pub async fn about(store: &Store, vault: &Vault, account: Uuid) -> anyhow::Result<AboutPerson> {
    let mut linkable_events = Vec::new();
    for day in store.live_analytics_days().await? {
        let Some(sealed) = day.key_sealed else {
            continue;
        };
        let key = open_key(vault, day.day, &sealed)?;
        let count = store
            .count_analytics_events_of(day.day, &pseudonym(&key, &account))
            .await?;
        if count > 0 {
            linkable_events.push((day.day, count));
        }
    }
    Ok(AboutPerson { linkable_events })
}

/// Counts `what` for `account` without a service at hand (sign-up, rights): the day's key
/// read from the store. Never fails: a failure is logged without data.
pub async fn capture_once(
    store: &Store,
    vault: &Vault,
    history: PolicyHistory,
    account: Uuid,
    what: &Happened,
) {
    if let Err(error) = record(store, vault, history, account, what, Utc::now(), None).await {
        tracing::warn!(error = %crate::error_chain(&*error), "an analytics event was not recorded");
    }
}

/// The day's key cached in memory by one instance.
type KeyCache = Mutex<Option<(NaiveDate, Zeroizing<[u8; 32]>)>>;

/// Records the events of `what` for `account` at `now`, if analytics counts for them.
async fn record(
    store: &Store,
    vault: &Vault,
    history: PolicyHistory,
    account: Uuid,
    what: &Happened,
    now: DateTime<Utc>,
    cache: Option<&KeyCache>,
) -> anyhow::Result<()> {
    let state = consent::state(store, account).await?;
    if may_capture(&state, history.versions()).is_err() {
        return Ok(());
    }
    let day = now.date_naive();
    let cached = cache
        .and_then(|cache| cache.lock().ok().and_then(|today| today.clone()))
        .filter(|(cached, _)| *cached == day)
        .map(|(_, key)| key);
    let key = match cached {
        Some(key) => key,
        None => {
            let Some(key) = open_or_make_key(store, vault, day, now).await? else {
                return Ok(());
            };
            if let Some(cache) = cache
                && let Ok(mut today) = cache.lock()
            {
                *today = Some((day, key.clone()));
            }
            key
        }
    };
    let pseudonym = pseudonym(&key, &account);
    let hour = u8::try_from(now.hour()).unwrap_or(0);
    let events: Vec<AnalyticsEvent> = what
        .events()
        .into_iter()
        .map(
            |(kind, generation, provider, latency_ms, right)| AnalyticsEvent {
                day,
                hour,
                pseudonym,
                kind,
                generation,
                provider,
                latency_ms,
                right,
            },
        )
        .collect();
    store.record_analytics_events(&events).await?;
    Ok(())
}

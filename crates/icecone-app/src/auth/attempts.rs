//! Throttled attempts, reserved before they run. Every check a guesser could repeat — a
//! password (log-in, re-authentication), a sign-up or a message counted per window, and
//! through `auth::mfa` a TOTP or recovery code — first takes its place in the database,
//! judged by core's [`throttle::decide`], and only then runs: counted as a failure at once,
//! given back ([`release`]) when it succeeds. Attempts running at the same time, on any
//! number of gateway instances, therefore count against each other: of forty guesses sent
//! at once, only the free ones are checked.
//!
//! A reservation is a compare-and-set on the bucket's state as it was judged
//! ([`Store::reserve_attempt`]); when another attempt got in first, the state is read and
//! judged again.

use chrono::{DateTime, Utc};
use icecone_core::identity::throttle::{self, AttemptDecision, Rule};
use icecone_store::{Store, StoreError};

/// How often a reservation is tried before the attempt is refused: each lost try means
/// another attempt was counted, so a bucket's rule refuses long before this.
pub(crate) const RESERVE_TRIES: usize = 100;

/// Why an attempt may not run.
#[derive(Debug, thiserror::Error)]
pub enum AttemptError {
    /// Too many attempts: try again after this many seconds.
    #[error("too many attempts")]
    Throttled {
        /// Seconds to wait.
        retry_after_seconds: u64,
    },
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// `Ok` when `decision` lets an attempt run, else the refusal with its wait (the longest
/// delay for a locked bucket).
pub(crate) fn allowed(decision: AttemptDecision) -> Result<(), AttemptError> {
    match decision {
        AttemptDecision::Allowed => Ok(()),
        AttemptDecision::RetryAfter(_) | AttemptDecision::Locked => Err(AttemptError::Throttled {
            retry_after_seconds: decision
                .retry_after_seconds()
                .unwrap_or_else(|| u64::try_from(throttle::MAX_DELAY.num_seconds()).unwrap_or(900)),
        }),
    }
}

/// The refusal when a reservation lost [`RESERVE_TRIES`] times: refuse, never skip.
pub(crate) fn contended() -> AttemptError {
    AttemptError::Throttled {
        retry_after_seconds: 1,
    }
}

/// Reserves one attempt in `bucket` under `rule` at `now`, or refuses it.
pub(crate) async fn reserve(
    store: &Store,
    bucket: &str,
    rule: Rule,
    now: DateTime<Utc>,
) -> Result<(), AttemptError> {
    for _ in 0..RESERVE_TRIES {
        let state = store.attempt_state(bucket).await?;
        allowed(throttle::decide(
            rule,
            state.map_or(0, |state| state.failures),
            state.map(|state| state.last_failure_at),
            now,
        ))?;
        if store
            .reserve_attempt(bucket, state.as_ref(), now)
            .await?
            .is_some()
        {
            return Ok(());
        }
    }
    Err(contended())
}

/// Reserves one event — a sign-up, a message — in the fixed window of
/// [`throttle::ADDRESS_WINDOW`] that `now` falls in, of which `limit` are allowed; the
/// bucket is `prefix` and the window's start. Events are not given back.
pub(crate) async fn reserve_in_window(
    store: &Store,
    prefix: &str,
    limit: u32,
    now: DateTime<Utc>,
) -> Result<(), AttemptError> {
    let window = throttle::fixed_window_start(now, throttle::ADDRESS_WINDOW);
    let bucket = format!("{prefix}:{}", window.timestamp());
    let rule = Rule::Window {
        limit,
        window: throttle::ADDRESS_WINDOW,
    };
    reserve(store, &bucket, rule, now).await
}

/// Gives back an attempt that succeeded (or that another limit refused before it ran): a
/// bucket of consecutive failures is cleared, a window gets its place back.
pub(crate) async fn release(store: &Store, bucket: &str, rule: Rule) -> Result<(), StoreError> {
    match rule {
        Rule::Delays | Rule::DelaysThenLock => store.clear_attempts(bucket).await.map(drop),
        Rule::Window { .. } => store.give_back_attempt(bucket).await.map(drop),
    }
}

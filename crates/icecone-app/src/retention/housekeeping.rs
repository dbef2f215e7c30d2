//! The retention housekeeping: every [`Purge`] of the registry, each at start-up and then
//! every [`INTERVAL`], on every instance (each purge is safe to repeat and to race).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use icecone_store::Store;
use icecone_store::purge::Purge;

use crate::auth::login::REFRESH_TOKEN_LIFETIME;
use crate::keys::vault::Vault;
use crate::settings::RetentionConfig;

/// How often each purge runs.
pub const INTERVAL: Duration = Duration::from_secs(3_600);
/// How long a finished job is kept (its rows hold only reference ids).
pub const FINISHED_JOB_GRACE: TimeDelta = TimeDelta::days(1);
/// The oldest a raw analytics event may be, whether or not its day was aggregated.
pub const STALE_ANALYTICS_EVENT: TimeDelta = TimeDelta::hours(48);
/// How long a throttling counter is kept after its last attempt: longer than any window or
/// delay it decides (`icecone_core::identity::throttle`).
pub const IDLE_ATTEMPT_COUNTER: TimeDelta = TimeDelta::days(1);

/// `period` before `now` (the earliest time when `period` does not fit).
fn before(now: DateTime<Utc>, period: Duration) -> DateTime<Utc> {
    let period = TimeDelta::from_std(period).unwrap_or(TimeDelta::MAX);
    now.checked_sub_signed(period)
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Runs `purge` once at `now`; answers how many rows (or accounts) it handled.
pub async fn run(
    purge: Purge,
    store: &Store,
    vault: &Vault,
    retention: &RetentionConfig,
    now: DateTime<Utc>,
) -> anyhow::Result<u64> {
    Ok(match purge {
        Purge::ExpiredGenerations => {
            crate::generation::purge::purge_expired(store, retention.generations, now).await?
        }
        Purge::ExpiredExports => store.purge_expired_exports(now).await?,
        Purge::UnverifiedAccounts => {
            crate::erasure::unverified::purge_unverified(
                store,
                vault,
                retention.unverified_accounts,
                now,
            )
            .await?
        }
        Purge::ExpiredRefreshTokens => store.purge_expired_refresh_tokens(now).await?,
        Purge::EndedSessions => {
            let ended_before = before(now, retention.sessions);
            // A session nobody revoked ends when the refresh token of its last refresh expires.
            let refreshed_before = ended_before
                .checked_sub_signed(REFRESH_TOKEN_LIFETIME)
                .unwrap_or(DateTime::<Utc>::MIN_UTC);
            store
                .purge_ended_sessions(ended_before, refreshed_before, now)
                .await?
        }
        Purge::ExpiredMfaChallenges => store.purge_expired_mfa_challenges(now).await?,
        Purge::ExpiredEmailVerifications => store.purge_expired_email_verifications(now).await?,
        Purge::FinishedNotifications => {
            store
                .purge_finished_notifications(before(now, retention.notifications))
                .await?
        }
        Purge::ClosedPrivacyTickets => {
            store
                .purge_closed_privacy_tickets(before(now, retention.privacy_tickets))
                .await?
        }
        Purge::FinishedDataRequests => {
            store
                .purge_finished_data_requests(before(now, retention.data_requests))
                .await?
        }
        Purge::IdleAttemptCounters => {
            store
                .purge_idle_attempt_counters(now - IDLE_ATTEMPT_COUNTER)
                .await?
        }
        Purge::FinishedJobs => store.purge_finished_jobs(now - FINISHED_JOB_GRACE).await?,
        Purge::OldUsageCounters => {
            store
                .purge_old_usage_counters(before(now, retention.usage))
                .await?
        }
        Purge::StaleAnalyticsEvents => {
            store
                .purge_stale_analytics_events(now - STALE_ANALYTICS_EVENT)
                .await?
        }
        Purge::ExpiredInvoices => {
            store
                .purge_expired_invoices(before(now, retention.billing_records))
                .await?
        }
    })
}

/// Starts every purge of [`Purge::ALL`]: each at once, then every `interval`.
pub fn spawn(
    store: Store,
    vault: Arc<Vault>,
    retention: RetentionConfig,
    interval: Duration,
) -> Vec<tokio::task::JoinHandle<()>> {
    Purge::ALL
        .into_iter()
        .map(|purge| {
            let (store, vault) = (store.clone(), vault.clone());
            crate::periodic::spawn_every(purge.name(), interval, move || {
                let (store, vault) = (store.clone(), vault.clone());
                async move { run(purge, &store, &vault, &retention, Utc::now()).await }
            })
        })
        .collect()
}

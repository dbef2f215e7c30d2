//! The retention purges: each deletes, in bounded batches, the rows of a table whose
//! retention ([`crate::personal_data::Retention`]) has run out. Every one is safe to repeat
//! and to race between instances: a row one instance deleted, another finds gone.
//!
//! [`Purge`] names them all; the registry names the one that enforces each table's period,
//! and `icecone_app::retention` runs every one of [`Purge::ALL`] on a timer.

use chrono::{DateTime, Utc};
use icecone_core::identity::throttle::HARD_STOP;
use icecone_core::privacy_ticket::TicketStatus;
use icecone_core::rights::DataRequestStatus;
use icecone_core::usage::Period;
use sea_orm::sea_query::{DynIden, Expr, ExprTrait, IntoIden, Query, SelectStatement};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    TransactionTrait,
};
use uuid::Uuid;

use crate::entity::{
    attempt_counter, data_export, data_export_chunk, data_request, data_request_event,
    email_verification, job, legal_hold, mfa_challenge, notification, privacy_ticket,
    privacy_ticket_event, refresh_token, session, usage_counter,
};
use crate::jobs::JobState;
use crate::{Store, StoreError};

/// Accounts under a legal hold that is not released: their tickets and requests stay.
fn held_accounts() -> SelectStatement {
    Query::select()
        .column(legal_hold::Column::AccountId)
        .from(legal_hold::Entity)
        .and_where(legal_hold::Column::ReleasedAt.is_null())
        .to_owned()
}

/// Rows one statement of a purge deletes at most.
pub const BATCH: u64 = 500;

/// A purge that enforces a retention of the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Purge {
    /// Generations older than `generation_retention`.
    ExpiredGenerations,
    /// Data exports whose download link expired.
    ExpiredExports,
    /// Accounts never verified within `unverified_account_ttl`: erased.
    UnverifiedAccounts,
    /// Refresh tokens past their expiry, spent or not.
    ExpiredRefreshTokens,
    /// Sessions ended (revoked, or their last refresh token expired) longer ago than
    /// `session_retention`, with their refresh tokens.
    EndedSessions,
    /// MFA challenges past their expiry, used or not.
    ExpiredMfaChallenges,
    /// E-mail verification links past their expiry, used or not.
    ExpiredEmailVerifications,
    /// Notifications delivered or given up longer ago than `notification_retention`.
    FinishedNotifications,
    /// Privacy tickets closed longer ago than `privacy_ticket_retention`, with their history.
    ClosedPrivacyTickets,
    /// Data subject requests finished longer ago than `data_request_retention`, with their
    /// history.
    FinishedDataRequests,
    /// Throttling counters idle for a day, except an account locked by failed attempts.
    IdleAttemptCounters,
    /// Background jobs finished a day ago.
    FinishedJobs,
    /// Usage counters of months that ended longer ago than `usage_retention`.
    OldUsageCounters,
    /// Raw analytics events older than 48 hours (a day not aggregated in time), with the
    /// pseudonymisation keys of their days.
    StaleAnalyticsEvents,
    /// Invoice records issued longer ago than `billing_record_retention` (kept or not).
    ExpiredInvoices,
}

impl Purge {
    /// Every purge.
    pub const ALL: [Self; 15] = [
        Self::ExpiredGenerations,
        Self::ExpiredExports,
        Self::UnverifiedAccounts,
        Self::ExpiredRefreshTokens,
        Self::EndedSessions,
        Self::ExpiredMfaChallenges,
        Self::ExpiredEmailVerifications,
        Self::FinishedNotifications,
        Self::ClosedPrivacyTickets,
        Self::FinishedDataRequests,
        Self::IdleAttemptCounters,
        Self::FinishedJobs,
        Self::OldUsageCounters,
        Self::StaleAnalyticsEvents,
        Self::ExpiredInvoices,
    ];

    /// Its name in logs (`task`).
    pub fn name(self) -> &'static str {
        match self {
            Self::ExpiredGenerations => "generation purge",
            Self::ExpiredExports => "data export purge",
            Self::UnverifiedAccounts => "unverified account purge",
            Self::ExpiredRefreshTokens => "refresh token purge",
            Self::EndedSessions => "session purge",
            Self::ExpiredMfaChallenges => "mfa challenge purge",
            Self::ExpiredEmailVerifications => "verification link purge",
            Self::FinishedNotifications => "notification purge",
            Self::ClosedPrivacyTickets => "privacy ticket purge",
            Self::FinishedDataRequests => "data request purge",
            Self::IdleAttemptCounters => "attempt counter purge",
            Self::FinishedJobs => "job purge",
            Self::OldUsageCounters => "usage counter purge",
            Self::StaleAnalyticsEvents => "analytics event purge",
            Self::ExpiredInvoices => "invoice record purge",
        }
    }
}

/// Deletes the rows of `E` matching `condition`, [`BATCH`] keys at a time
/// (`DELETE ... WHERE key IN (SELECT key ... LIMIT n) AND condition`, so that a key shared
/// by several rows deletes only the matching ones); returns how many.
pub(crate) async fn delete_in_batches<E>(
    db: &impl ConnectionTrait,
    key: E::Column,
    condition: Condition,
) -> Result<u64, StoreError>
where
    E: EntityTrait,
{
    let mut deleted = 0;
    loop {
        let batch = Query::select()
            .column(key)
            .from(E::default())
            .cond_where(condition.clone())
            .limit(BATCH)
            .to_owned();
        let count = E::delete_many()
            .filter(key.in_subquery(batch))
            .filter(condition.clone())
            .exec(db)
            .await
            .map_err(StoreError::Query)?
            .rows_affected;
        deleted += count;
        if count < BATCH {
            return Ok(deleted);
        }
    }
}

/// Up to [`BATCH`] ids of `E` matching `condition`.
async fn batch_of_ids<E>(
    db: &impl ConnectionTrait,
    key: E::Column,
    condition: Condition,
) -> Result<Vec<Uuid>, StoreError>
where
    E: EntityTrait,
{
    let select: SelectStatement = Query::select()
        .column(key)
        .from(E::default())
        .cond_where(condition)
        .limit(BATCH)
        .to_owned();
    let rows = db.query_all(&select).await.map_err(StoreError::Query)?;
    rows.iter()
        .map(|row| row.try_get_by_index::<Uuid>(0).map_err(StoreError::Query))
        .collect()
}

/// Deletes the rows of `P` matching `condition` with the rows of `children` (each a table
/// and its column referring to `P`'s `key`), [`BATCH`] parents per transaction, children
/// first; `deleted` is told each batch's ids once it is committed. Returns how many parents.
async fn delete_with_children<P>(
    db: &DatabaseConnection,
    key: P::Column,
    condition: Condition,
    children: &[(DynIden, DynIden)],
    mut deleted: impl FnMut(&[Uuid]),
) -> Result<u64, StoreError>
where
    P: EntityTrait,
{
    let mut purged = 0;
    loop {
        let txn = db.begin().await.map_err(StoreError::Query)?;
        let ids = batch_of_ids::<P>(&txn, key, condition.clone()).await?;
        if !ids.is_empty() {
            for (table, column) in children {
                let delete = Query::delete()
                    .from_table(table.clone())
                    .and_where(Expr::col(column.clone()).is_in(ids.clone()))
                    .to_owned();
                txn.execute(&delete).await.map_err(StoreError::Query)?;
            }
            purged += P::delete_many()
                .filter(key.is_in(ids.clone()))
                .filter(condition.clone())
                .exec(&txn)
                .await
                .map_err(StoreError::Query)?
                .rows_affected;
        }
        txn.commit().await.map_err(StoreError::Query)?;
        deleted(&ids);
        if (ids.len() as u64) < BATCH {
            return Ok(purged);
        }
    }
}

/// A child table and its column referring to a purged parent.
fn child(table: impl IntoIden, column: impl IntoIden) -> (DynIden, DynIden) {
    (table.into_iden(), column.into_iden())
}

impl Store {
    /// Deletes every refresh token that expired before `now`, spent or not: a spent token
    /// matters until it expires (its reuse ends the session); after that any use of it is
    /// refused as unknown. Returns how many.
    pub async fn purge_expired_refresh_tokens(
        &self,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        delete_in_batches::<refresh_token::Entity>(
            &self.db,
            refresh_token::Column::Digest,
            Condition::all().add(refresh_token::Column::ExpiresAt.lt(now)),
        )
        .await
    }

    /// Deletes the sessions that ended before `ended_before` — revoked then, or not revoked
    /// but last refreshed before `refreshed_before` (the caller's `ended_before` less a refresh
    /// token's lifetime) with no refresh token still valid at `now` — and their refresh
    /// tokens. Returns how many sessions.
    pub async fn purge_ended_sessions(
        &self,
        ended_before: DateTime<Utc>,
        refreshed_before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let live_tokens = Query::select()
            .column(refresh_token::Column::SessionId)
            .from(refresh_token::Entity)
            .and_where(refresh_token::Column::ExpiresAt.gt(now))
            .to_owned();
        let ended = Condition::any()
            .add(session::Column::RevokedAt.lt(ended_before))
            .add(
                Condition::all()
                    .add(session::Column::RevokedAt.is_null())
                    .add(session::Column::LastRefreshedAt.lt(refreshed_before))
                    .add(session::Column::Id.not_in_subquery(live_tokens)),
            );
        delete_with_children::<session::Entity>(
            &self.db,
            session::Column::Id,
            ended,
            &[child(
                refresh_token::Entity,
                refresh_token::Column::SessionId,
            )],
            |ids| {
                for id in ids {
                    self.cache.forget_session(*id);
                }
            },
        )
        .await
    }

    /// Deletes every MFA challenge that expired before `now`, used or not. Returns how many.
    pub async fn purge_expired_mfa_challenges(
        &self,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        delete_in_batches::<mfa_challenge::Entity>(
            &self.db,
            mfa_challenge::Column::Digest,
            Condition::all().add(mfa_challenge::Column::ExpiresAt.lt(now)),
        )
        .await
    }

    /// Deletes every e-mail verification link that expired before `now`, used or not (the
    /// account keeps when its address was verified). Returns how many.
    pub async fn purge_expired_email_verifications(
        &self,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        delete_in_batches::<email_verification::Entity>(
            &self.db,
            email_verification::Column::TokenDigest,
            Condition::all().add(email_verification::Column::ExpiresAt.lt(now)),
        )
        .await
    }

    /// Ends the notifications delivered or given up before `cutoff`: deletes them, except a
    /// campaign's message, of which only the row stays — its message and address cleared —
    /// because it is what makes a campaign reach each account once. Returns how many were
    /// deleted or cleared.
    pub async fn purge_finished_notifications(
        &self,
        cutoff: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let finished = Condition::any()
            .add(notification::Column::DeliveredAt.lt(cutoff))
            .add(notification::Column::GivenUpAt.lt(cutoff));
        let deleted = delete_in_batches::<notification::Entity>(
            &self.db,
            notification::Column::Id,
            Condition::all()
                .add(finished.clone())
                .add(notification::Column::CampaignId.is_null()),
        )
        .await?;
        let cleared = notification::Entity::update_many()
            .col_expr(
                notification::Column::PayloadSealed,
                Expr::value(None::<Vec<u8>>),
            )
            .col_expr(
                notification::Column::RecipientSealed,
                Expr::value(None::<Vec<u8>>),
            )
            .col_expr(
                notification::Column::RecipientIndex,
                Expr::value(None::<Vec<u8>>),
            )
            .filter(finished)
            .filter(notification::Column::CampaignId.is_not_null())
            .filter(
                Condition::any()
                    .add(notification::Column::PayloadSealed.is_not_null())
                    .add(notification::Column::RecipientSealed.is_not_null())
                    .add(notification::Column::RecipientIndex.is_not_null()),
            )
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?
            .rows_affected;
        Ok(deleted + cleared)
    }

    /// Deletes the privacy tickets closed before `cutoff` — closed, and nothing happened to
    /// them since — with their history, except those of an account under a legal hold.
    /// Returns how many tickets.
    pub async fn purge_closed_privacy_tickets(
        &self,
        cutoff: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let recent = Query::select()
            .column(privacy_ticket_event::Column::TicketId)
            .from(privacy_ticket_event::Entity)
            .and_where(privacy_ticket_event::Column::At.gte(cutoff))
            .to_owned();
        let closed = Condition::all()
            .add(privacy_ticket::Column::Status.eq(TicketStatus::Closed.as_str()))
            .add(privacy_ticket::Column::ReceivedAt.lt(cutoff))
            .add(privacy_ticket::Column::Id.not_in_subquery(recent))
            .add(
                Condition::any()
                    .add(privacy_ticket::Column::AccountId.is_null())
                    .add(privacy_ticket::Column::AccountId.not_in_subquery(held_accounts())),
            );
        delete_with_children::<privacy_ticket::Entity>(
            &self.db,
            privacy_ticket::Column::Id,
            closed,
            &[child(
                privacy_ticket_event::Entity,
                privacy_ticket_event::Column::TicketId,
            )],
            |_| {},
        )
        .await
    }

    /// Deletes the data subject requests finished before `cutoff`, with their history and
    /// anything left of their export, except those of an account under a legal hold.
    /// Returns how many requests.
    pub async fn purge_finished_data_requests(
        &self,
        cutoff: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let finished = Condition::all()
            .add(
                data_request::Column::Status
                    .is_not_in(DataRequestStatus::OPEN.iter().map(|status| status.as_str())),
            )
            .add(data_request::Column::CompletedAt.lt(cutoff))
            .add(data_request::Column::AccountId.not_in_subquery(held_accounts()));
        delete_with_children::<data_request::Entity>(
            &self.db,
            data_request::Column::Id,
            finished,
            &[
                child(
                    data_export_chunk::Entity,
                    data_export_chunk::Column::RequestId,
                ),
                child(data_export::Entity, data_export::Column::RequestId),
                child(
                    data_request_event::Entity,
                    data_request_event::Column::RequestId,
                ),
            ],
            |_| {},
        )
        .await
    }

    /// Deletes the throttling counters with no attempt since `cutoff`, except a person's
    /// counter of consecutive failures that reached the hard stop: that account stays
    /// locked until something other than a guess unlocks it. Returns how many.
    pub async fn purge_idle_attempt_counters(
        &self,
        cutoff: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let idle = Condition::any()
            .add(attempt_counter::Column::LastFailureAt.lt(cutoff))
            .add(
                Condition::all()
                    .add(attempt_counter::Column::LastFailureAt.is_null())
                    .add(attempt_counter::Column::WindowStart.lt(cutoff)),
            );
        let locked = Condition::all()
            .add(
                attempt_counter::Column::Failures.gte(i32::try_from(HARD_STOP).unwrap_or(i32::MAX)),
            )
            .add(
                Condition::any()
                    .add(attempt_counter::Column::Bucket.like("login:email:%"))
                    .add(attempt_counter::Column::Bucket.like("%:account:%")),
            );
        delete_in_batches::<attempt_counter::Entity>(
            &self.db,
            attempt_counter::Column::Bucket,
            Condition::all().add(idle).add(locked.not()),
        )
        .await
    }

    /// Deletes the background jobs that finished (succeeded, failed or cancelled) before
    /// `cutoff`. Returns how many.
    pub async fn purge_finished_jobs(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        delete_in_batches::<job::Entity>(
            &self.db,
            job::Column::Id,
            Condition::all()
                .add(
                    job::Column::State.is_in(
                        [JobState::Succeeded, JobState::Failed, JobState::Cancelled]
                            .map(JobState::to_db),
                    ),
                )
                .add(job::Column::UpdatedAt.lt(cutoff)),
        )
        .await
    }

    /// Deletes the usage counters of the months before `cutoff`'s month (every month that
    /// ended by `cutoff`). Returns how many.
    pub async fn purge_old_usage_counters(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        let month = Period::of(cutoff.date_naive());
        delete_in_batches::<usage_counter::Entity>(
            &self.db,
            usage_counter::Column::AccountId,
            Condition::all().add(usage_counter::Column::Period.lt(month.as_str())),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_every_purge_once_with_its_own_name() {
        // A new variant fails to compile here until it is placed; then ALL must hold it.
        let index = |purge: Purge| match purge {
            Purge::ExpiredGenerations => 0,
            Purge::ExpiredExports => 1,
            Purge::UnverifiedAccounts => 2,
            Purge::ExpiredRefreshTokens => 3,
            Purge::EndedSessions => 4,
            Purge::ExpiredMfaChallenges => 5,
            Purge::ExpiredEmailVerifications => 6,
            Purge::FinishedNotifications => 7,
            Purge::ClosedPrivacyTickets => 8,
            Purge::FinishedDataRequests => 9,
            Purge::IdleAttemptCounters => 10,
            Purge::FinishedJobs => 11,
            Purge::OldUsageCounters => 12,
            Purge::StaleAnalyticsEvents => 13,
            Purge::ExpiredInvoices => 14,
        };
        for (position, purge) in Purge::ALL.iter().enumerate() {
            assert_eq!(index(*purge), position, "{purge:?}");
        }
        let mut names: Vec<_> = Purge::ALL.iter().map(|purge| purge.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Purge::ALL.len());
    }
}

//! Repositories for sessions and their rotating refresh tokens.
//!
//! A refresh token is an opaque random value; only its SHA-256 digest reaches the store.
//! Each token is spent once: a conditional `UPDATE` marks it spent, so of two concurrent
//! spends exactly one is [`RefreshSpend::Fresh`], and the other is
//! [`RefreshSpend::Reused`] — the signal for the gateway to revoke the whole session.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
};
use uuid::Uuid;

use crate::entity::{refresh_token, session};
use crate::{Store, StoreError};

/// A session to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    /// The session's id (the access token's `sid`).
    pub id: Uuid,
    /// Whose session.
    pub account: Uuid,
    /// When the person authenticated (also the session's creation time).
    pub auth_time: DateTime<Utc>,
    /// When a second factor was last performed, if it was.
    pub mfa_at: Option<DateTime<Utc>>,
    /// The authentication methods (the access token's `amr`), at most 64 bytes.
    pub amr: String,
}

/// A session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// The session's id.
    pub id: Uuid,
    /// Whose session.
    pub account: Uuid,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When the person authenticated.
    pub auth_time: DateTime<Utc>,
    /// When a second factor was last performed, if it was.
    pub mfa_at: Option<DateTime<Utc>>,
    /// The authentication methods.
    pub amr: String,
    /// When a refresh token of this session was last spent (creation time until then).
    pub last_refreshed_at: DateTime<Utc>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Why it was revoked (a short code such as `logout` or `refresh_reuse`).
    pub revoked_reason: Option<String>,
}

impl From<session::Model> for SessionRecord {
    fn from(row: session::Model) -> Self {
        Self {
            id: row.id,
            account: row.account_id,
            created_at: row.created_at,
            auth_time: row.auth_time,
            mfa_at: row.mfa_at,
            amr: row.amr,
            last_refreshed_at: row.last_refreshed_at,
            revoked_at: row.revoked_at,
            revoked_reason: row.revoked_reason,
        }
    }
}

/// What spending a refresh token found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshSpend {
    /// The token was live and is now spent: issue the next one for `session` (after
    /// checking the session is not revoked).
    Fresh {
        /// The token's session.
        session: Uuid,
    },
    /// The token had already been spent: someone replays it, so the gateway revokes the
    /// session.
    Reused {
        /// The token's session.
        session: Uuid,
    },
    /// The token was never spent but has expired.
    Expired {
        /// The token's session.
        session: Uuid,
    },
    /// No such token.
    Unknown,
}

/// A refresh token as issued, spent or not: what the browser session cookie, which holds
/// one, authenticates by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshTokenRecord {
    /// The token's session.
    pub session: Uuid,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// When it stops being spendable.
    pub expires_at: DateTime<Utc>,
}

impl Store {
    /// Creates a session.
    ///
    /// # Errors
    /// [`StoreError::Duplicate`] when the id is taken.
    pub async fn create_session(&self, new: NewSession) -> Result<(), StoreError> {
        session::Entity::insert(session::ActiveModel {
            id: Set(new.id),
            account_id: Set(new.account),
            created_at: Set(new.auth_time),
            auth_time: Set(new.auth_time),
            mfa_at: Set(new.mfa_at),
            amr: Set(new.amr),
            last_refreshed_at: Set(new.auth_time),
            revoked_at: Set(None),
            revoked_reason: Set(None),
        })
        .exec_without_returning(&self.db)
        .await
        .map_err(StoreError::from_insert)?;
        Ok(())
    }

    /// A session by id, revoked or not.
    pub async fn session(&self, id: Uuid) -> Result<Option<SessionRecord>, StoreError> {
        Ok(session::Entity::find_by_id(id)
            .one(&self.db)
            .await
            .map_err(StoreError::Query)?
            .map(SessionRecord::from))
    }

    /// A refresh token by its digest, spent or not (reading it spends nothing).
    pub async fn refresh_token(
        &self,
        digest: &[u8; 32],
    ) -> Result<Option<RefreshTokenRecord>, StoreError> {
        Ok(refresh_token::Entity::find_by_id(digest.to_vec())
            .one(&self.db)
            .await
            .map_err(StoreError::Query)?
            .map(|row| RefreshTokenRecord {
                session: row.session_id,
                issued_at: row.issued_at,
                expires_at: row.expires_at,
            }))
    }

    /// An account's sessions, revoked ones included, newest first.
    pub async fn sessions_of(&self, account: Uuid) -> Result<Vec<SessionRecord>, StoreError> {
        Ok(session::Entity::find()
            .filter(session::Column::AccountId.eq(account))
            .order_by_desc(session::Column::CreatedAt)
            .order_by_desc(session::Column::Id)
            .all(&self.db)
            .await
            .map_err(StoreError::Query)?
            .into_iter()
            .map(SessionRecord::from)
            .collect())
    }

    /// Records a second factor performed in a live session. Returns whether the session
    /// exists and is not revoked.
    pub async fn record_mfa(&self, session: Uuid, at: DateTime<Utc>) -> Result<bool, StoreError> {
        let result = session::Entity::update_many()
            .col_expr(session::Column::MfaAt, Expr::value(at))
            .filter(session::Column::Id.eq(session))
            .filter(session::Column::RevokedAt.is_null())
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?;
        self.cache.forget_session(session);
        Ok(result.rows_affected > 0)
    }

    /// Revokes a session with a short reason code (at most 32 bytes). Returns whether this
    /// call revoked it; the first revocation's time and reason are kept.
    pub async fn revoke_session(
        &self,
        id: Uuid,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = session::Entity::update_many()
            .col_expr(session::Column::RevokedAt, Expr::value(at))
            .col_expr(session::Column::RevokedReason, Expr::value(reason))
            .filter(session::Column::Id.eq(id))
            .filter(session::Column::RevokedAt.is_null())
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?;
        self.cache.forget_session(id);
        Ok(result.rows_affected > 0)
    }

    /// Revokes every live session of an account. Returns how many were revoked.
    pub async fn revoke_all_sessions(
        &self,
        account: Uuid,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let result = session::Entity::update_many()
            .col_expr(session::Column::RevokedAt, Expr::value(at))
            .col_expr(session::Column::RevokedReason, Expr::value(reason))
            .filter(session::Column::AccountId.eq(account))
            .filter(session::Column::RevokedAt.is_null())
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?;
        self.cache.forget_sessions_of(account);
        Ok(result.rows_affected)
    }

    /// Stores a refresh token's digest for a session.
    ///
    /// # Errors
    /// [`StoreError::Duplicate`] when the digest is taken.
    pub async fn insert_refresh_token(
        &self,
        digest: [u8; 32],
        session: Uuid,
        issued_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        refresh_token::Entity::insert(refresh_token::ActiveModel {
            digest: Set(digest.to_vec()),
            session_id: Set(session),
            issued_at: Set(issued_at),
            expires_at: Set(expires_at),
            spent_at: Set(None),
        })
        .exec_without_returning(&self.db)
        .await
        .map_err(StoreError::from_insert)?;
        Ok(())
    }

    /// Spends a refresh token (by its digest) at `now`.
    ///
    /// One conditional `UPDATE` (`SET spent_at = :now WHERE spent_at IS NULL AND
    /// expires_at > :now`) decides: of two concurrent spends of one token, exactly one is
    /// [`RefreshSpend::Fresh`]. When it changes nothing, the row is read to tell a reuse
    /// (already spent, expired or not) from an expiry or an unknown token. A fresh spend
    /// also records the session's `last_refreshed_at`, in the same transaction. The
    /// session's revocation is the caller's to check.
    pub async fn spend_refresh_token(
        &self,
        digest: &[u8; 32],
        now: DateTime<Utc>,
    ) -> Result<RefreshSpend, StoreError> {
        let txn = self.db.begin().await.map_err(StoreError::Query)?;
        let spent = refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::SpentAt, Expr::value(now))
            .filter(refresh_token::Column::Digest.eq(digest.to_vec()))
            .filter(refresh_token::Column::SpentAt.is_null())
            .filter(refresh_token::Column::ExpiresAt.gt(now))
            .exec(&txn)
            .await
            .map_err(StoreError::Query)?
            .rows_affected
            > 0;
        let row = refresh_token::Entity::find_by_id(digest.to_vec())
            .one(&txn)
            .await
            .map_err(StoreError::Query)?;
        let outcome = match row {
            None => RefreshSpend::Unknown,
            Some(row) if spent => {
                session::Entity::update_many()
                    .col_expr(session::Column::LastRefreshedAt, Expr::value(now))
                    .filter(session::Column::Id.eq(row.session_id))
                    .exec(&txn)
                    .await
                    .map_err(StoreError::Query)?;
                RefreshSpend::Fresh {
                    session: row.session_id,
                }
            }
            Some(row) if row.spent_at.is_some() => RefreshSpend::Reused {
                session: row.session_id,
            },
            Some(row) => RefreshSpend::Expired {
                session: row.session_id,
            },
        };
        txn.commit().await.map_err(StoreError::Query)?;
        if let RefreshSpend::Fresh { session } = &outcome {
            self.cache.forget_session(*session);
        }
        Ok(outcome)
    }
}

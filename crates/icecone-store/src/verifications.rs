//! Repositories for e-mail verification links: the token as a SHA-256 digest, the address
//! being verified sealed under the account's data key, and its blind index.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::convert::bytes32_from_db;
use crate::entity::email_verification;
use crate::{Store, StoreError};

/// A verification link to record.
#[derive(Clone, PartialEq, Eq)]
pub struct NewEmailVerification {
    /// The SHA-256 digest of the link's token.
    pub token_digest: [u8; 32],
    /// The account whose address it verifies.
    pub account: Uuid,
    /// The address being verified, sealed under the account's data key.
    pub email_sealed: Vec<u8>,
    /// The address's blind index.
    pub email_index: [u8; 32],
    /// When the link was made.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for NewEmailVerification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewEmailVerification")
            .field("account", &self.account)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A verification link that [`Store::spend_email_verification`] has just used.
#[derive(Clone, PartialEq, Eq)]
pub struct SpentEmailVerification {
    /// The account whose address it verifies.
    pub account: Uuid,
    /// The address being verified, sealed under the account's data key.
    pub email_sealed: Vec<u8>,
    /// The address's blind index.
    pub email_index: [u8; 32],
}

impl std::fmt::Debug for SpentEmailVerification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpentEmailVerification")
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Records a verification link.
    ///
    /// # Errors
    /// [`StoreError::Duplicate`] when the digest is taken.
    pub async fn create_email_verification(
        &self,
        new: NewEmailVerification,
    ) -> Result<(), StoreError> {
        email_verification::Entity::insert(email_verification::ActiveModel {
            token_digest: Set(new.token_digest.to_vec()),
            account_id: Set(new.account),
            email_sealed: Set(new.email_sealed),
            email_index: Set(new.email_index.to_vec()),
            created_at: Set(new.created_at),
            expires_at: Set(new.expires_at),
            used_at: Set(None),
        })
        .exec_without_returning(&self.db)
        .await
        .map_err(StoreError::from_insert)?;
        Ok(())
    }

    /// Uses a verification link: a conditional update that succeeds once, and only before
    /// the link expires. `None` when the digest is unknown, spent or expired.
    pub async fn spend_email_verification(
        &self,
        token_digest: &[u8; 32],
        at: DateTime<Utc>,
    ) -> Result<Option<SpentEmailVerification>, StoreError> {
        let spent = email_verification::Entity::update_many()
            .col_expr(email_verification::Column::UsedAt, Expr::value(at))
            .filter(email_verification::Column::TokenDigest.eq(token_digest.to_vec()))
            .filter(email_verification::Column::UsedAt.is_null())
            .filter(email_verification::Column::ExpiresAt.gt(at))
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?;
        if spent.rows_affected == 0 {
            return Ok(None);
        }
        let Some(row) = email_verification::Entity::find_by_id(token_digest.to_vec())
            .one(&self.db)
            .await
            .map_err(StoreError::Query)?
        else {
            return Ok(None);
        };
        Ok(Some(SpentEmailVerification {
            account: row.account_id,
            email_sealed: row.email_sealed,
            email_index: bytes32_from_db(row.email_index, "e-mail index")?,
        }))
    }
}

//! Repositories for the access tokens' Ed25519 signing keys. The private key arrives sealed
//! by the vault; the public key is stored as is, for the JWKS.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::convert::bytes32_from_db;
use crate::entity::signing_key;
use crate::{Store, StoreError};

/// A signing key as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKeyRecord {
    /// The key id (the JWT header's `kid`), at most 64 bytes.
    pub kid: String,
    /// The private key, sealed by the vault.
    pub private_sealed: Vec<u8>,
    /// The Ed25519 public key.
    pub public_key: [u8; 32],
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it stopped signing, if it did.
    pub retired_at: Option<DateTime<Utc>>,
}

impl TryFrom<signing_key::Model> for SigningKeyRecord {
    type Error = StoreError;

    fn try_from(row: signing_key::Model) -> Result<Self, StoreError> {
        Ok(Self {
            kid: row.kid,
            private_sealed: row.private_sealed,
            public_key: bytes32_from_db(row.public_key, "signing public key")?,
            created_at: row.created_at,
            retired_at: row.retired_at,
        })
    }
}

impl Store {
    /// Stores a signing key.
    ///
    /// # Errors
    /// [`StoreError::Duplicate`] when the kid is taken.
    pub async fn insert_signing_key(
        &self,
        kid: &str,
        private_sealed: Vec<u8>,
        public_key: [u8; 32],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        signing_key::Entity::insert(signing_key::ActiveModel {
            kid: Set(kid.to_owned()),
            private_sealed: Set(private_sealed),
            public_key: Set(public_key.to_vec()),
            created_at: Set(at),
            retired_at: Set(None),
        })
        .exec_without_returning(&self.db)
        .await
        .map_err(StoreError::from_insert)?;
        Ok(())
    }

    /// The signing keys, newest first; retired ones only when asked.
    pub async fn signing_keys(
        &self,
        include_retired: bool,
    ) -> Result<Vec<SigningKeyRecord>, StoreError> {
        let mut query = signing_key::Entity::find();
        if !include_retired {
            query = query.filter(signing_key::Column::RetiredAt.is_null());
        }
        query
            .order_by_desc(signing_key::Column::CreatedAt)
            .order_by_desc(signing_key::Column::Kid)
            .all(&self.db)
            .await
            .map_err(StoreError::Query)?
            .into_iter()
            .map(SigningKeyRecord::try_from)
            .collect()
    }

    /// Retires a signing key. Returns whether this call retired it (the first retirement
    /// time is kept).
    pub async fn retire_signing_key(
        &self,
        kid: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = signing_key::Entity::update_many()
            .col_expr(signing_key::Column::RetiredAt, Expr::value(at))
            .filter(signing_key::Column::Kid.eq(kid))
            .filter(signing_key::Column::RetiredAt.is_null())
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?;
        Ok(result.rows_affected > 0)
    }
}

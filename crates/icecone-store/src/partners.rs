//! Repositories for partners, their API keys (SHA-256 digests only) and the grants people
//! give them. A revoked key or grant keeps its row, with the time it was revoked.

use chrono::{DateTime, Utc};
use icecone_core::partner::ScopeSet;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
};
use uuid::Uuid;

use crate::entity::{partner, partner_grant, partner_key};
use crate::{Store, StoreError};

/// A partner organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerRecord {
    /// The partner's id.
    pub id: Uuid,
    /// Its name, unique.
    pub name: String,
    /// When it was added.
    pub created_at: DateTime<Utc>,
}

/// A partner's API key, as stored: never the key itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerKeyRecord {
    /// The key's id.
    pub id: Uuid,
    /// The partner it belongs to.
    pub partner: Uuid,
    /// The start of the key, for lists.
    pub hint: String,
    /// The scopes the key carries.
    pub scopes: ScopeSet,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A key to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPartnerKey {
    /// The key's id.
    pub id: Uuid,
    /// The partner it belongs to.
    pub partner: Uuid,
    /// The SHA-256 digest of the key.
    pub digest: [u8; 32],
    /// The start of the key, for lists.
    pub hint: String,
    /// The scopes the key carries.
    pub scopes: ScopeSet,
    /// When it is issued.
    pub created_at: DateTime<Utc>,
}

/// A person's grant to a partner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRecord {
    /// The grant's id.
    pub id: Uuid,
    /// The person's account.
    pub account: Uuid,
    /// The partner.
    pub partner: Uuid,
    /// The scopes the person shares.
    pub scopes: ScopeSet,
    /// When it was given.
    pub granted_at: DateTime<Utc>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

fn scopes(stored: &str) -> Result<ScopeSet, StoreError> {
    ScopeSet::from_stored(stored).map_err(|_| StoreError::OutOfRange("partner scope"))
}

fn partner_record(row: partner::Model) -> PartnerRecord {
    PartnerRecord {
        id: row.id,
        name: row.name,
        created_at: row.created_at,
    }
}

fn key_record(row: partner_key::Model) -> Result<PartnerKeyRecord, StoreError> {
    Ok(PartnerKeyRecord {
        id: row.id,
        partner: row.partner_id,
        hint: row.hint,
        scopes: scopes(&row.scopes)?,
        created_at: row.created_at,
        revoked_at: row.revoked_at,
    })
}

fn grant_record(row: partner_grant::Model) -> Result<GrantRecord, StoreError> {
    Ok(GrantRecord {
        id: row.id,
        account: row.account_id,
        partner: row.partner_id,
        scopes: scopes(&row.scopes)?,
        granted_at: row.granted_at,
        revoked_at: row.revoked_at,
    })
}

impl Store {
    /// Adds a partner.
    ///
    /// # Errors
    /// [`StoreError::Duplicate`] when the name is taken.
    pub async fn create_partner(&self, record: &PartnerRecord) -> Result<(), StoreError> {
        partner::Entity::insert(partner::ActiveModel {
            id: Set(record.id),
            name: Set(record.name.clone()),
            created_at: Set(record.created_at),
        })
        .exec_without_returning(&self.db)
        .await
        .map_err(StoreError::from_insert)?;
        Ok(())
    }

    /// The partner with this id.
    pub async fn partner(&self, id: Uuid) -> Result<Option<PartnerRecord>, StoreError> {
        Ok(partner::Entity::find_by_id(id)
            .one(&self.db)
            .await
            .map_err(StoreError::Query)?
            .map(partner_record))
    }

    /// Every partner, by name.
    pub async fn partners(&self) -> Result<Vec<PartnerRecord>, StoreError> {
        Ok(partner::Entity::find()
            .order_by_asc(partner::Column::Name)
            .all(&self.db)
            .await
            .map_err(StoreError::Query)?
            .into_iter()
            .map(partner_record)
            .collect())
    }

    /// Records a key.
    ///
    /// # Errors
    /// [`StoreError::Duplicate`] when the digest is taken.
    pub async fn create_partner_key(&self, new: &NewPartnerKey) -> Result<(), StoreError> {
        partner_key::Entity::insert(partner_key::ActiveModel {
            id: Set(new.id),
            partner_id: Set(new.partner),
            key_digest: Set(new.digest.to_vec()),
            hint: Set(new.hint.clone()),
            scopes: Set(new.scopes.to_stored()),
            created_at: Set(new.created_at),
            revoked_at: Set(None),
        })
        .exec_without_returning(&self.db)
        .await
        .map_err(StoreError::from_insert)?;
        Ok(())
    }

    /// The live (unrevoked) key with this digest.
    pub async fn live_partner_key(
        &self,
        digest: &[u8; 32],
    ) -> Result<Option<PartnerKeyRecord>, StoreError> {
        partner_key::Entity::find()
            .filter(partner_key::Column::KeyDigest.eq(digest.to_vec()))
            .filter(partner_key::Column::RevokedAt.is_null())
            .one(&self.db)
            .await
            .map_err(StoreError::Query)?
            .map(key_record)
            .transpose()
    }

    /// A partner's keys, newest first, revoked ones included.
    pub async fn partner_keys(&self, partner: Uuid) -> Result<Vec<PartnerKeyRecord>, StoreError> {
        partner_key::Entity::find()
            .filter(partner_key::Column::PartnerId.eq(partner))
            .order_by_desc(partner_key::Column::CreatedAt)
            .all(&self.db)
            .await
            .map_err(StoreError::Query)?
            .into_iter()
            .map(key_record)
            .collect()
    }

    /// Revokes a live key; `None` when no key has the id, otherwise the key's partner and
    /// whether this call revoked it (`false`: it was revoked before).
    pub async fn revoke_partner_key(
        &self,
        id: Uuid,
        at: DateTime<Utc>,
    ) -> Result<Option<(Uuid, bool)>, StoreError> {
        let Some(key) = partner_key::Entity::find_by_id(id)
            .one(&self.db)
            .await
            .map_err(StoreError::Query)?
        else {
            return Ok(None);
        };
        let revoked = partner_key::Entity::update_many()
            .col_expr(partner_key::Column::RevokedAt, Expr::value(at))
            .filter(partner_key::Column::Id.eq(id))
            .filter(partner_key::Column::RevokedAt.is_null())
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?;
        Ok(Some((key.partner_id, revoked.rows_affected > 0)))
    }

    /// Gives `partner` a grant of `scopes` from `account`, replacing (revoking) any live
    /// grant between them, in one transaction.
    pub async fn grant_partner(&self, grant: &GrantRecord) -> Result<(), StoreError> {
        let txn = self.db.begin().await.map_err(StoreError::Query)?;
        partner_grant::Entity::update_many()
            .col_expr(
                partner_grant::Column::RevokedAt,
                Expr::value(grant.granted_at),
            )
            .filter(partner_grant::Column::AccountId.eq(grant.account))
            .filter(partner_grant::Column::PartnerId.eq(grant.partner))
            .filter(partner_grant::Column::RevokedAt.is_null())
            .exec(&txn)
            .await
            .map_err(StoreError::Query)?;
        partner_grant::Entity::insert(partner_grant::ActiveModel {
            id: Set(grant.id),
            account_id: Set(grant.account),
            partner_id: Set(grant.partner),
            scopes: Set(grant.scopes.to_stored()),
            granted_at: Set(grant.granted_at),
            revoked_at: Set(None),
        })
        .exec_without_returning(&txn)
        .await
        .map_err(StoreError::from_insert)?;
        txn.commit().await.map_err(StoreError::Query)
    }

    /// Revokes the live grant from `account` to `partner`; whether there was one.
    pub async fn revoke_partner_grant(
        &self,
        account: Uuid,
        partner: Uuid,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let revoked = partner_grant::Entity::update_many()
            .col_expr(partner_grant::Column::RevokedAt, Expr::value(at))
            .filter(partner_grant::Column::AccountId.eq(account))
            .filter(partner_grant::Column::PartnerId.eq(partner))
            .filter(partner_grant::Column::RevokedAt.is_null())
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?;
        Ok(revoked.rows_affected > 0)
    }

    /// The live grant from `account` to `partner` (the newest, should two grants given at
    /// once both have been written).
    pub async fn live_partner_grant(
        &self,
        account: Uuid,
        partner: Uuid,
    ) -> Result<Option<GrantRecord>, StoreError> {
        partner_grant::Entity::find()
            .filter(partner_grant::Column::AccountId.eq(account))
            .filter(partner_grant::Column::PartnerId.eq(partner))
            .filter(partner_grant::Column::RevokedAt.is_null())
            .order_by_desc(partner_grant::Column::GrantedAt)
            .one(&self.db)
            .await
            .map_err(StoreError::Query)?
            .map(grant_record)
            .transpose()
    }

    /// Every grant `account` has given, newest first, revoked ones included.
    pub async fn partner_grants_of(&self, account: Uuid) -> Result<Vec<GrantRecord>, StoreError> {
        partner_grant::Entity::find()
            .filter(partner_grant::Column::AccountId.eq(account))
            .order_by_desc(partner_grant::Column::GrantedAt)
            .all(&self.db)
            .await
            .map_err(StoreError::Query)?
            .into_iter()
            .map(grant_record)
            .collect()
    }
}

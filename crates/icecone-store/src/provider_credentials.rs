//! Repository of provider API keys set at run time: sealed with the system key by the
//! gateway's vault before they reach the store, one row per provider.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, EntityTrait, QueryOrder};
use uuid::Uuid;

use crate::entity::provider_credential;
use crate::{Store, StoreError};

/// A provider's stored key.
#[derive(Clone, PartialEq, Eq)]
pub struct CredentialRecord {
    /// The provider's id.
    pub provider: String,
    /// The key, sealed with the system key.
    pub key_sealed: Vec<u8>,
    /// The key's fingerprint.
    pub fingerprint: String,
    /// The staff account that set it.
    pub set_by: Uuid,
    /// When.
    pub set_at: DateTime<Utc>,
}

impl std::fmt::Debug for CredentialRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialRecord")
            .field("provider", &self.provider)
            .field("fingerprint", &self.fingerprint)
            .field("set_at", &self.set_at)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Stores a provider's key, replacing the one it had.
    pub async fn put_provider_credential(
        &self,
        record: &CredentialRecord,
    ) -> Result<(), StoreError> {
        provider_credential::Entity::insert(provider_credential::ActiveModel {
            provider: Set(record.provider.clone()),
            key_sealed: Set(record.key_sealed.clone()),
            fingerprint: Set(record.fingerprint.clone()),
            set_by: Set(record.set_by),
            set_at: Set(record.set_at),
        })
        .on_conflict(
            OnConflict::column(provider_credential::Column::Provider)
                .update_columns([
                    provider_credential::Column::KeySealed,
                    provider_credential::Column::Fingerprint,
                    provider_credential::Column::SetBy,
                    provider_credential::Column::SetAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(&self.db)
        .await
        .map_err(StoreError::Query)?;
        Ok(())
    }

    /// Every stored key, by provider.
    pub async fn provider_credentials(&self) -> Result<Vec<CredentialRecord>, StoreError> {
        Ok(provider_credential::Entity::find()
            .order_by_asc(provider_credential::Column::Provider)
            .all(&self.db)
            .await
            .map_err(StoreError::Query)?
            .into_iter()
            .map(|row| CredentialRecord {
                provider: row.provider,
                key_sealed: row.key_sealed,
                fingerprint: row.fingerprint,
                set_by: row.set_by,
                set_at: row.set_at,
            })
            .collect())
    }
}

//! Repositories for the key tables: wrapped data keys per subject, the system key, and
//! what rotation and crypto-shredding need. Only wrapped (encrypted) keys pass through here.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use icecone_core::subject::SubjectId;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};

use crate::entity::{data_key, data_subject, system_key};
use crate::{Store, StoreError};

/// A subject's data key as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredDataKey {
    /// Wrapped by the root key of `kek_version`.
    Active {
        /// The root key version that wrapped it.
        kek_version: u32,
        /// The wrapped key (an envelope).
        wrapped: Vec<u8>,
    },
    /// Destroyed: the subject's ciphertexts can never be decrypted again.
    Destroyed {
        /// When.
        at: DateTime<Utc>,
    },
}

/// A wrapped key that a rotation still has to re-wrap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyToRewrap<Id> {
    /// Whose key (a subject, or a system key's name).
    pub id: Id,
    /// The version it is wrapped with now.
    pub kek_version: u32,
    /// The wrapped key.
    pub wrapped: Vec<u8>,
}

fn version_to_db(version: u32) -> Result<i32, StoreError> {
    i32::try_from(version).map_err(|_| StoreError::OutOfRange("key version"))
}

fn version_from_db(version: i32) -> Result<u32, StoreError> {
    u32::try_from(version).map_err(|_| StoreError::OutOfRange("key version"))
}

impl Store {
    /// Records a new data subject together with its wrapped data key, atomically.
    pub async fn create_data_subject(
        &self,
        subject: SubjectId,
        kek_version: u32,
        wrapped_key: Vec<u8>,
    ) -> Result<(), StoreError> {
        let now = Utc::now();
        let kek_version = version_to_db(kek_version)?;
        let txn = self.db.begin().await.map_err(StoreError::Query)?;
        data_subject::Entity::insert(data_subject::ActiveModel {
            id: Set(subject.as_uuid()),
            created_at: Set(now),
        })
        .exec_without_returning(&txn)
        .await
        .map_err(StoreError::Query)?;
        data_key::Entity::insert(data_key::ActiveModel {
            subject_id: Set(subject.as_uuid()),
            kek_version: Set(kek_version),
            wrapped_key: Set(Some(wrapped_key)),
            created_at: Set(now),
            rewrapped_at: Set(None),
            destroyed_at: Set(None),
        })
        .exec_without_returning(&txn)
        .await
        .map_err(StoreError::Query)?;
        txn.commit().await.map_err(StoreError::Query)
    }

    /// A subject's data key, if the subject exists.
    pub async fn data_key(&self, subject: SubjectId) -> Result<Option<StoredDataKey>, StoreError> {
        let Some(row) = data_key::Entity::find_by_id(subject.as_uuid())
            .one(&self.db)
            .await
            .map_err(StoreError::Query)?
        else {
            return Ok(None);
        };
        Ok(Some(match (row.wrapped_key, row.destroyed_at) {
            (Some(wrapped), None) => StoredDataKey::Active {
                kek_version: version_from_db(row.kek_version)?,
                wrapped,
            },
            (_, Some(at)) => StoredDataKey::Destroyed { at },
            (None, None) => StoredDataKey::Destroyed { at: row.created_at },
        }))
    }

    /// Destroys a subject's data key (crypto-shredding). Returns whether a live key was
    /// destroyed; destroying twice is harmless.
    pub async fn destroy_data_key(&self, subject: SubjectId) -> Result<bool, StoreError> {
        let result = data_key::Entity::update_many()
            .col_expr(
                data_key::Column::WrappedKey,
                sea_orm::sea_query::Expr::value(Option::<Vec<u8>>::None),
            )
            .col_expr(
                data_key::Column::DestroyedAt,
                sea_orm::sea_query::Expr::value(Utc::now()),
            )
            .filter(data_key::Column::SubjectId.eq(subject.as_uuid()))
            .filter(data_key::Column::DestroyedAt.is_null())
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?;
        Ok(result.rows_affected > 0)
    }

    /// Up to `limit` live data keys wrapped with a version other than `target`.
    pub async fn data_keys_to_rewrap(
        &self,
        target: u32,
        limit: u64,
    ) -> Result<Vec<KeyToRewrap<SubjectId>>, StoreError> {
        let rows = data_key::Entity::find()
            .filter(data_key::Column::KekVersion.ne(version_to_db(target)?))
            .filter(data_key::Column::WrappedKey.is_not_null())
            .order_by_asc(data_key::Column::SubjectId)
            .limit(limit)
            .all(&self.db)
            .await
            .map_err(StoreError::Query)?;
        rows.into_iter()
            .filter_map(|row| {
                let wrapped = row.wrapped_key?;
                Some(
                    version_from_db(row.kek_version).map(|kek_version| KeyToRewrap {
                        id: SubjectId::from_uuid(row.subject_id),
                        kek_version,
                        wrapped,
                    }),
                )
            })
            .collect()
    }

    /// Replaces a data key's wrapping, if it is still wrapped with `from` (a concurrent
    /// rotation or shredding wins). Returns whether it was replaced.
    pub async fn rewrap_data_key(
        &self,
        subject: SubjectId,
        from: u32,
        to: u32,
        wrapped: Vec<u8>,
    ) -> Result<bool, StoreError> {
        let result = data_key::Entity::update_many()
            .col_expr(
                data_key::Column::KekVersion,
                sea_orm::sea_query::Expr::value(version_to_db(to)?),
            )
            .col_expr(
                data_key::Column::WrappedKey,
                sea_orm::sea_query::Expr::value(Some(wrapped)),
            )
            .col_expr(
                data_key::Column::RewrappedAt,
                sea_orm::sea_query::Expr::value(Utc::now()),
            )
            .filter(data_key::Column::SubjectId.eq(subject.as_uuid()))
            .filter(data_key::Column::KekVersion.eq(version_to_db(from)?))
            .filter(data_key::Column::WrappedKey.is_not_null())
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?;
        Ok(result.rows_affected > 0)
    }

    /// A system key by name: its root key version and wrapped bytes.
    pub async fn system_key(&self, name: &str) -> Result<Option<(u32, Vec<u8>)>, StoreError> {
        let row = system_key::Entity::find_by_id(name.to_owned())
            .one(&self.db)
            .await
            .map_err(StoreError::Query)?;
        row.map(|row| Ok((version_from_db(row.kek_version)?, row.wrapped_key)))
            .transpose()
    }

    /// Stores a system key unless one with that name exists (two gateways starting at once
    /// both try; the first wins). Returns whether this one was stored.
    pub async fn insert_system_key(
        &self,
        name: &str,
        kek_version: u32,
        wrapped: Vec<u8>,
    ) -> Result<bool, StoreError> {
        let inserted = system_key::Entity::insert(system_key::ActiveModel {
            name: Set(name.to_owned()),
            kek_version: Set(version_to_db(kek_version)?),
            wrapped_key: Set(wrapped),
            created_at: Set(Utc::now()),
            rewrapped_at: Set(None),
        })
        .on_conflict(
            OnConflict::column(system_key::Column::Name)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&self.db)
        .await
        .map_err(StoreError::Query)?;
        Ok(inserted > 0)
    }

    /// System keys wrapped with a version other than `target`.
    pub async fn system_keys_to_rewrap(
        &self,
        target: u32,
    ) -> Result<Vec<KeyToRewrap<String>>, StoreError> {
        let rows = system_key::Entity::find()
            .filter(system_key::Column::KekVersion.ne(version_to_db(target)?))
            .all(&self.db)
            .await
            .map_err(StoreError::Query)?;
        rows.into_iter()
            .map(|row| {
                Ok(KeyToRewrap {
                    id: row.name,
                    kek_version: version_from_db(row.kek_version)?,
                    wrapped: row.wrapped_key,
                })
            })
            .collect()
    }

    /// Replaces a system key's wrapping if it is still wrapped with `from`.
    pub async fn rewrap_system_key(
        &self,
        name: &str,
        from: u32,
        to: u32,
        wrapped: Vec<u8>,
    ) -> Result<bool, StoreError> {
        let result = system_key::Entity::update_many()
            .col_expr(
                system_key::Column::KekVersion,
                sea_orm::sea_query::Expr::value(version_to_db(to)?),
            )
            .col_expr(
                system_key::Column::WrappedKey,
                sea_orm::sea_query::Expr::value(wrapped),
            )
            .col_expr(
                system_key::Column::RewrappedAt,
                sea_orm::sea_query::Expr::value(Utc::now()),
            )
            .filter(system_key::Column::Name.eq(name))
            .filter(system_key::Column::KekVersion.eq(version_to_db(from)?))
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?;
        Ok(result.rows_affected > 0)
    }

    /// How many live wrapped keys (data and system) each root key version wraps.
    pub async fn kek_version_usage(&self) -> Result<BTreeMap<u32, u64>, StoreError> {
        let mut usage = BTreeMap::new();
        let data: Vec<(i32, i64)> = data_key::Entity::find()
            .select_only()
            .column(data_key::Column::KekVersion)
            .column_as(data_key::Column::SubjectId.count(), "n")
            .filter(data_key::Column::WrappedKey.is_not_null())
            .group_by(data_key::Column::KekVersion)
            .into_tuple()
            .all(&self.db)
            .await
            .map_err(StoreError::Query)?;
        let system: Vec<(i32, i64)> = system_key::Entity::find()
            .select_only()
            .column(system_key::Column::KekVersion)
            .column_as(system_key::Column::Name.count(), "n")
            .group_by(system_key::Column::KekVersion)
            .into_tuple()
            .all(&self.db)
            .await
            .map_err(StoreError::Query)?;
        for (version, count) in data.into_iter().chain(system) {
            *usage.entry(version_from_db(version)?).or_insert(0) +=
                u64::try_from(count).unwrap_or(0);
        }
        Ok(usage)
    }

    /// How many subjects' keys have been destroyed.
    pub async fn destroyed_data_key_count(&self) -> Result<u64, StoreError> {
        data_key::Entity::find()
            .filter(data_key::Column::DestroyedAt.is_not_null())
            .count(&self.db)
            .await
            .map_err(StoreError::Query)
    }
}

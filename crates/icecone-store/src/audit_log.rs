//! Repositories for the audit log: append-only, each entry chained to the previous one by
//! an HMAC that `icecone_core::audit` computes and verifies. The store keeps the entries
//! and refuses a taken sequence number; it neither computes nor checks MACs.
//!
//! Appending is optimistic: the caller reads [`Store::audit_head`], computes the next entry
//! and appends it with `seq = head + 1`. The primary key on `seq` lets only one of two
//! concurrent appenders win; the other gets [`StoreError::Duplicate`], re-reads the head and
//! retries, so the chain never forks.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use crate::convert::{bytes32_from_db, u64_from_db, u64_to_db};
use crate::entity::audit_entry;
use crate::{Backend, Store, StoreError};

/// An audit log entry. Nothing personal is in clear: the target is pseudonymised and the
/// reason sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    /// The position in the chain, from 1 with no gaps.
    pub seq: u64,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Who acted (e.g. `account:<uuid>`, `system`), at most 80 bytes.
    pub actor: String,
    /// What was done (e.g. `staff.read_account`), at most 64 bytes.
    pub action: String,
    /// On whom or what, pseudonymised, at most 80 bytes.
    pub target: Option<String>,
    /// The written reason, sealed by the vault.
    pub reason_sealed: Option<Vec<u8>>,
    /// The request that caused it, at most 64 bytes.
    pub request_id: Option<String>,
    /// The chain MAC over the previous entry's MAC and this entry.
    pub mac: [u8; 32],
}

impl TryFrom<audit_entry::Model> for AuditRow {
    type Error = StoreError;

    fn try_from(row: audit_entry::Model) -> Result<Self, StoreError> {
        Ok(Self {
            seq: u64_from_db(row.seq, "audit sequence number")?,
            at: row.at,
            actor: row.actor,
            action: row.action,
            target: row.target,
            reason_sealed: row.reason_sealed,
            request_id: row.request_id,
            mac: bytes32_from_db(row.mac, "audit MAC")?,
        })
    }
}

fn rows(models: Vec<audit_entry::Model>) -> Result<Vec<AuditRow>, StoreError> {
    models.into_iter().map(AuditRow::try_from).collect()
}

impl Store {
    /// Appends an entry.
    ///
    /// # Errors
    /// [`StoreError::Duplicate`] when an entry with this `seq` exists (another appender
    /// won): re-read the head and retry.
    pub async fn append_audit(&self, row: AuditRow) -> Result<(), StoreError> {
        audit_entry::Entity::insert(audit_entry::ActiveModel {
            seq: Set(u64_to_db(row.seq, "audit sequence number")?),
            at: Set(row.at),
            actor: Set(row.actor),
            action: Set(row.action),
            target: Set(row.target),
            reason_sealed: Set(row.reason_sealed),
            request_id: Set(row.request_id),
            mac: Set(row.mac.to_vec()),
        })
        .exec_without_returning(&self.db)
        .await
        .map_err(StoreError::from_insert)?;
        Ok(())
    }

    /// The last entry's sequence number and MAC, `None` for an empty log.
    pub async fn audit_head(&self) -> Result<Option<(u64, [u8; 32])>, StoreError> {
        let head = audit_entry::Entity::find()
            .order_by_desc(audit_entry::Column::Seq)
            .one(&self.db)
            .await
            .map_err(StoreError::Query)?;
        head.map(|row| {
            Ok((
                u64_from_db(row.seq, "audit sequence number")?,
                bytes32_from_db(row.mac, "audit MAC")?,
            ))
        })
        .transpose()
    }

    /// Up to `limit` entries after `after_seq` (from the start when `None`), ascending.
    pub async fn audit_page(
        &self,
        after_seq: Option<u64>,
        limit: u64,
    ) -> Result<Vec<AuditRow>, StoreError> {
        let mut query = audit_entry::Entity::find();
        if let Some(after) = after_seq {
            query = query
                .filter(audit_entry::Column::Seq.gt(u64_to_db(after, "audit sequence number")?));
        }
        rows(
            query
                .order_by_asc(audit_entry::Column::Seq)
                .limit(limit)
                .all(&self.db)
                .await
                .map_err(StoreError::Query)?,
        )
    }

    /// Every entry about the account or by it, ascending: its target is `account:<id>` or
    /// starts with `account:<id>:`, or its actor is `account:<id>` (what an export lists).
    pub async fn audit_entries_of_account(
        &self,
        account: uuid::Uuid,
    ) -> Result<Vec<AuditRow>, StoreError> {
        let reference = format!("account:{account}");
        // Targets that start with `account:<id>:`. On SQLite a range of the binary index on
        // `target` (`:` and `;` are neighbours in ASCII): SQLite plans a `LIKE` prefix
        // match with a bound pattern only by reading the bound value, which its stable
        // query plans (`.cargo/config.toml`) do not do. PostgreSQL matches the prefix
        // with its `varchar_pattern_ops` index, whatever the database's collation.
        let below = match self.backend() {
            Backend::Sqlite => Condition::all()
                .add(audit_entry::Column::Target.gte(format!("{reference}:")))
                .add(audit_entry::Column::Target.lt(format!("{reference};"))),
            Backend::Postgres => Condition::all()
                .add(audit_entry::Column::Target.starts_with(format!("{reference}:"))),
        };
        rows(
            audit_entry::Entity::find()
                .filter(
                    Condition::any()
                        .add(audit_entry::Column::Target.eq(reference.as_str()))
                        .add(below)
                        .add(audit_entry::Column::Actor.eq(reference.as_str())),
                )
                .order_by_asc(audit_entry::Column::Seq)
                .all(&self.db)
                .await
                .map_err(StoreError::Query)?,
        )
    }

    /// Every entry about a (pseudonymised) target, ascending.
    pub async fn audit_entries_about(&self, target: &str) -> Result<Vec<AuditRow>, StoreError> {
        rows(
            audit_entry::Entity::find()
                .filter(audit_entry::Column::Target.eq(target))
                .order_by_asc(audit_entry::Column::Seq)
                .all(&self.db)
                .await
                .map_err(StoreError::Query)?,
        )
    }
}

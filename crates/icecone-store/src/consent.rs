//! Repositories for the consent ledger: entries are appended, never changed, and read back
//! in the order they were written.

use icecone_core::consent::Purpose;
use icecone_core::consent::ledger::{Change, ConsentSource, LedgerEntry};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::entity::consent_entry;
use crate::{Store, StoreError};

fn to_row(account: Uuid, entry: &LedgerEntry) -> consent_entry::ActiveModel {
    let (kind, purpose, granted) = match entry.change {
        Change::Consent { purpose, granted } => ("consent", Some(purpose), granted),
        Change::Objection { purpose } => ("objection", Some(purpose), false),
        Change::Restriction { restricted } => ("restriction", None, restricted),
    };
    consent_entry::ActiveModel {
        account_id: Set(account),
        kind: Set(kind.to_owned()),
        purpose: Set(purpose.map(|p| p.as_str().to_owned())),
        granted: Set(granted),
        policy_version: Set(entry.policy_version.clone()),
        source: Set(entry.source.as_str().to_owned()),
        created_at: Set(entry.at),
        ..Default::default()
    }
}

fn from_row(row: consent_entry::Model) -> Result<LedgerEntry, StoreError> {
    let purpose = || {
        row.purpose
            .as_deref()
            .and_then(|p| Purpose::parse(p).ok())
            .ok_or(StoreError::OutOfRange("consent purpose"))
    };
    let change = match row.kind.as_str() {
        "consent" => Change::Consent {
            purpose: purpose()?,
            granted: row.granted,
        },
        "objection" => Change::Objection {
            purpose: purpose()?,
        },
        "restriction" => Change::Restriction {
            restricted: row.granted,
        },
        _ => return Err(StoreError::OutOfRange("consent ledger kind")),
    };
    Ok(LedgerEntry {
        change,
        source: ConsentSource::parse(&row.source)
            .ok_or(StoreError::OutOfRange("consent source"))?,
        policy_version: row.policy_version,
        at: row.created_at,
    })
}

impl Store {
    /// Appends entries to an account's ledger, in order, in one statement.
    pub async fn append_consent_entries(
        &self,
        account: Uuid,
        entries: &[LedgerEntry],
    ) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        consent_entry::Entity::insert_many(entries.iter().map(|entry| to_row(account, entry)))
            .exec_without_returning(&self.db)
            .await
            .map_err(StoreError::from_insert)?;
        self.cache.forget_ledger(account);
        Ok(())
    }

    /// An account's ledger, oldest first.
    pub async fn consent_entries(&self, account: Uuid) -> Result<Vec<LedgerEntry>, StoreError> {
        consent_entry::Entity::find()
            .filter(consent_entry::Column::AccountId.eq(account))
            .order_by_asc(consent_entry::Column::Seq)
            .all(&self.db)
            .await
            .map_err(StoreError::Query)?
            .into_iter()
            .map(from_row)
            .collect()
    }
}

impl Store {
    /// The ledgers of several accounts at once (one query), each oldest first; an account
    /// without entries has none in the map.
    pub async fn consent_entries_of_many(
        &self,
        accounts: &[Uuid],
    ) -> Result<std::collections::HashMap<Uuid, Vec<LedgerEntry>>, StoreError> {
        let mut ledgers: std::collections::HashMap<Uuid, Vec<LedgerEntry>> =
            std::collections::HashMap::new();
        if accounts.is_empty() {
            return Ok(ledgers);
        }
        let rows = consent_entry::Entity::find()
            .filter(consent_entry::Column::AccountId.is_in(accounts.iter().copied()))
            .order_by_asc(consent_entry::Column::Seq)
            .all(&self.db)
            .await
            .map_err(StoreError::Query)?;
        for row in rows {
            let account = row.account_id;
            ledgers.entry(account).or_default().push(from_row(row)?);
        }
        Ok(ledgers)
    }
}

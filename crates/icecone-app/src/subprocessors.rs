//! The subprocessors: who processes personal data on IceCone's behalf, published as
//! versions that every account is told of before they take effect.
//!
//! The list is the AI providers as their adapters declare them ([`registry`]: every
//! external adapter, with this deployment's agreement where one is recorded) and the
//! operator's own (the subprocessors file, parsed by the gateway's configuration). At
//! start-up [`publish`] compares it with the latest published version and asks core's
//! `announcement::decide`: the same list publishes nothing; the first list is in effect at
//! once; a changed list becomes a version that takes effect no sooner than the notice
//! period later (a `takes_effect_on` inside it stops start-up). Version numbers are taken by
//! the store's primary key, so concurrent instances publish a change once.
//!
//! Every instance runs [`spawn_notices`]: for each announced version not yet in effect, it
//! pages through the verified accounts not told of it and queues each a
//! [`NotificationKind::SubprocessorsChanged`] notice by the store's compare-and-set, as
//! `policy_notice` does for the policy. Its purpose is `LEGAL_COMPLIANCE` (GDPR Art. 13-14,
//! 28(2)): it reaches accounts that restricted processing.
//!
//! [`published`] is what the privacy page and `privacyPolicy { subprocessors }` show: the
//! version in effect and the announced ones with the day each takes effect.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use icecone_core::provider::ProviderId;
use icecone_core::provider::policy::{Region, ZdrArrangement};
use icecone_core::subprocessor::announcement::{self, AnnouncementError, Decision, Latest};
use icecone_core::subprocessor::{
    Agreement, Category, Changes, Location, Name, Origin, Parts, Registry, Subprocessor,
    SubprocessorError, SubprocessorPurpose, TransferMechanism,
};
use icecone_store::policy_notices::PolicyNotice;
use icecone_store::subprocessor_versions::SubprocessorVersion;
use icecone_store::{Store, StoreError};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::keys::vault::Vault;
use crate::notify::{NotificationKind, payload_field};
use crate::providers::Entry;

/// How often each instance looks for accounts not told of an announced version.
pub const NOTICE_INTERVAL: Duration = Duration::from_secs(10 * 60);
/// How many accounts one page of the run reads.
pub const NOTICE_BATCH: u64 = 100;
/// The default notice period: how long before a change takes effect it is announced.
pub const DEFAULT_NOTICE_PERIOD: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// The subprocessors as the operator configured them.
#[derive(Debug, Clone, Default)]
pub struct SubprocessorsConfig {
    /// The operator's own subprocessors (empty without a file: AI providers only).
    pub operator: Vec<Subprocessor>,
    /// The day a change to the list is to take effect, if the operator gave one.
    pub takes_effect_on: Option<NaiveDate>,
    /// How long before it takes effect a change is announced.
    pub notice_period: Duration,
    /// How often each instance looks for accounts to tell.
    pub notice_interval: Duration,
}

/// Why the subprocessors cannot be published or read.
#[derive(Debug, thiserror::Error)]
pub enum SubprocessorsError {
    /// The list is not valid (an operator's entry has an AI provider's name).
    #[error("subprocessors: {0}")]
    Registry(#[from] SubprocessorError),
    /// The change cannot take effect on the day the file gives.
    #[error("subprocessors_file (ICECONE_SUBPROCESSORS_FILE): {0}")]
    Announcement(#[from] AnnouncementError),
    /// The notice period does not fit a time span.
    #[error("subprocessors_notice_period is too long")]
    NoticePeriod,
    /// A stored version could not be read back.
    #[error("a published subprocessors version cannot be read")]
    Unreadable,
    /// Other instances kept publishing first.
    #[error("the subprocessors version could not be published: other instances kept publishing")]
    Contended,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The list: every external AI provider (adapters that run in process process nothing
/// elsewhere) and the operator's subprocessors; an operator's entry named like a provider
/// is refused.
pub fn registry(
    providers: &[Entry],
    operator: &[Subprocessor],
) -> Result<Registry, SubprocessorError> {
    let mut entries: Vec<Subprocessor> = operator.to_vec();
    for entry in providers {
        let effective = entry.effective();
        if effective.zero_data_retention_arrangement.value() == ZdrArrangement::Inherent {
            continue;
        }
        let adapter = entry.adapter();
        let location = match effective.region.value() {
            Region::Disclosed(words) => Location::Declared(words.to_owned()),
            Region::NotCommitted => Location::NotCommitted,
            Region::Unknown => Location::Unknown,
        };
        let agreement = effective
            .agreements
            .first()
            .and_then(|agreement| Agreement::parse(agreement.reference()).ok());
        entries.push(Subprocessor::of_provider(
            adapter.id().clone(),
            Name::parse(adapter.name())?,
            effective.data_categories,
            location,
            agreement,
        ));
    }
    Registry::new(entries)
}

/// A published version as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedVersion {
    /// Its number.
    pub version: u32,
    /// When it was published (and, if announced, every account began to be told).
    pub published_at: DateTime<Utc>,
    /// When it takes (or took) effect.
    pub takes_effect_at: DateTime<Utc>,
    /// The list.
    pub registry: Registry,
    /// What it changed from the version before (everything added, for the first).
    pub changes: Changes,
}

/// The subprocessors as published: the version in effect and those announced.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Published {
    /// The version in effect (`None` before the first start).
    pub current: Option<PublishedVersion>,
    /// Announced versions not yet in effect, oldest first.
    pub upcoming: Vec<PublishedVersion>,
}

/// What [`publish`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Publication {
    /// The list is the latest version.
    Unchanged {
        /// Its number.
        version: u32,
    },
    /// The list was published as `version`, in effect from `takes_effect_at`.
    Published {
        /// Its number.
        version: u32,
        /// Whether every account is told of it.
        announced: bool,
        /// When it takes effect.
        takes_effect_at: DateTime<Utc>,
    },
}

/// Publishes `registry` unless it is the latest version (see the module's documentation).
pub async fn publish(
    store: &Store,
    registry: &Registry,
    config: &SubprocessorsConfig,
    now: DateTime<Utc>,
) -> Result<Publication, SubprocessorsError> {
    let notice =
        TimeDelta::from_std(config.notice_period).map_err(|_| SubprocessorsError::NoticePeriod)?;
    let digest = registry.digest();
    for _ in 0..5 {
        let latest = store.latest_subprocessor_version().await?;
        let decision = announcement::decide(
            latest.as_ref().map(|v| Latest {
                digest: &v.digest,
                takes_effect_at: v.takes_effect_at,
            }),
            &digest,
            config.takes_effect_on,
            now,
            notice,
        )?;
        let (announced, takes_effect_at) = match decision {
            Decision::Unchanged => {
                return Ok(Publication::Unchanged {
                    version: latest.map_or(0, |v| v.version),
                });
            }
            Decision::First { takes_effect_at } => (false, takes_effect_at),
            Decision::Announce { takes_effect_at } => (true, takes_effect_at),
        };
        let version = latest.map_or(1, |v| v.version + 1);
        let row = SubprocessorVersion {
            version,
            digest: digest.clone(),
            entries: to_json(registry),
            announced,
            // Stored to the microsecond, as both databases keep it.
            published_at: micros(now),
            takes_effect_at: micros(takes_effect_at),
        };
        if store.publish_subprocessor_version(&row).await? {
            tracing::info!(
                version,
                announced,
                takes_effect_at = %row.takes_effect_at,
                "subprocessors version published"
            );
            return Ok(Publication::Published {
                version,
                announced,
                takes_effect_at: row.takes_effect_at,
            });
        }
    }
    Err(SubprocessorsError::Contended)
}

fn micros(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at)
}

/// The subprocessors as published at `now`.
pub async fn published(store: &Store, now: DateTime<Utc>) -> Result<Published, SubprocessorsError> {
    let rows = store.subprocessor_versions().await?;
    let mut versions = Vec::with_capacity(rows.len());
    let mut before = Registry::default();
    for row in &rows {
        let registry = from_json(&row.entries)?;
        versions.push(PublishedVersion {
            version: row.version,
            published_at: row.published_at,
            takes_effect_at: row.takes_effect_at,
            changes: registry.changes_since(&before),
            registry: registry.clone(),
        });
        before = registry;
    }
    let times: Vec<_> = versions.iter().map(|v| v.takes_effect_at).collect();
    let (current, upcoming) = announcement::in_effect(&times, now);
    Ok(Published {
        current: current.and_then(|index| versions.get(index).cloned()),
        upcoming: upcoming
            .into_iter()
            .filter_map(|index| versions.get(index).cloned())
            .collect(),
    })
}

/// What a notice of a subprocessors change tells (not personal: the same for everyone; it
/// travels sealed as every notification payload does).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// The version announced.
    pub version: u32,
    /// The day it takes effect (UTC).
    pub takes_effect_on: NaiveDate,
    /// The subprocessors it adds.
    pub added: Vec<String>,
    /// The subprocessors it removes.
    pub removed: Vec<String>,
    /// The subprocessors whose entry it changes.
    pub changed: Vec<String>,
}

impl Notice {
    fn of(version: &PublishedVersion) -> Self {
        let names = |names: &[Name]| names.iter().map(|n| n.as_str().to_owned()).collect();
        Self {
            version: version.version,
            takes_effect_on: version.takes_effect_at.date_naive(),
            added: names(&version.changes.added),
            removed: names(&version.changes.removed),
            changed: names(&version.changes.changed),
        }
    }

    /// The notification payload.
    pub fn to_payload(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// A payload read back; `None` when it is not a notice.
    pub fn parse(payload: &str) -> Option<Self> {
        serde_json::from_str(payload).ok()
    }
}

/// Tells every verified account of each announced version not yet in effect at `now`, a
/// page at a time; returns how many notices this run queued.
pub async fn tell_accounts(
    store: &Store,
    vault: &Vault,
    batch: u64,
    now: DateTime<Utc>,
) -> Result<u64, SubprocessorsError> {
    let rows = store.subprocessor_versions().await?;
    let mut before = Registry::default();
    let mut queued = 0;
    for row in &rows {
        let registry = from_json(&row.entries)?;
        let version = PublishedVersion {
            version: row.version,
            published_at: row.published_at,
            takes_effect_at: row.takes_effect_at,
            changes: registry.changes_since(&before),
            registry: registry.clone(),
        };
        before = registry;
        if row.announced && row.takes_effect_at > now {
            queued += tell_of(store, vault, &Notice::of(&version), batch).await?;
        }
    }
    Ok(queued)
}

async fn tell_of(
    store: &Store,
    vault: &Vault,
    notice: &Notice,
    batch: u64,
) -> Result<u64, SubprocessorsError> {
    let payload = notice.to_payload();
    let mut after = None;
    let mut queued = 0;
    loop {
        let page = store
            .accounts_behind_subprocessors(notice.version, after, batch)
            .await?;
        let Some(last) = page.last() else {
            break;
        };
        after = Some(last.account);
        for behind in &page {
            let id = Uuid::new_v4();
            let sealed = match vault
                .seal(
                    behind.subject,
                    payload_field(&id.to_string()),
                    payload.as_bytes(),
                )
                .await
            {
                Ok(sealed) => sealed,
                Err(error) => {
                    // An account being erased has no key any more; the others are told.
                    tracing::warn!(
                        account = %behind.account,
                        error = crate::error_chain(&error),
                        "subprocessors notice not queued: its payload could not be sealed"
                    );
                    continue;
                }
            };
            let row = PolicyNotice {
                id,
                kind: NotificationKind::SubprocessorsChanged.as_str().to_owned(),
                payload_sealed: Some(sealed),
                at: Utc::now(),
            };
            if store
                .queue_subprocessor_notice(behind.account, behind.told_version, notice.version, row)
                .await?
            {
                queued += 1;
            }
        }
        if u64::try_from(page.len()).unwrap_or(u64::MAX) < batch {
            break;
        }
    }
    Ok(queued)
}

/// Starts the subprocessors-notice task: a run at once, then every `interval`.
pub fn spawn_notices(
    store: Store,
    vault: Arc<Vault>,
    interval: Duration,
) -> tokio::task::JoinHandle<()> {
    crate::periodic::spawn_every("subprocessors notices", interval, move || {
        let store = store.clone();
        let vault = vault.clone();
        async move { tell_accounts(&store, &vault, NOTICE_BATCH, Utc::now()).await }
    })
}

/// An entry as stored in a published version.
#[derive(Debug, Serialize, Deserialize)]
struct Stored {
    name: String,
    purpose: String,
    data_categories: Vec<String>,
    location: StoredLocation,
    transfer: String,
    agreement: Option<String>,
    since: Option<NaiveDate>,
    provider: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
enum StoredLocation {
    Country(String),
    Eea,
    Declared(String),
    NotCommitted,
    Unknown,
}

fn to_json(registry: &Registry) -> String {
    let stored: Vec<Stored> = registry
        .entries()
        .iter()
        .map(|entry| Stored {
            name: entry.name().as_str().to_owned(),
            purpose: entry.purpose().as_str().to_owned(),
            data_categories: entry
                .data_categories()
                .iter()
                .map(|c| c.as_str().to_owned())
                .collect(),
            location: match entry.location() {
                Location::Country(code) => StoredLocation::Country(code.clone()),
                Location::Eea => StoredLocation::Eea,
                Location::Declared(words) => StoredLocation::Declared(words.clone()),
                Location::NotCommitted => StoredLocation::NotCommitted,
                Location::Unknown => StoredLocation::Unknown,
            },
            transfer: entry.transfer().as_str().to_owned(),
            agreement: entry.agreement().map(|a| a.as_str().to_owned()),
            since: entry.since(),
            provider: match entry.origin() {
                Origin::Operator => None,
                Origin::Adapter(id) => Some(id.as_str().to_owned()),
            },
        })
        .collect();
    serde_json::to_string(&stored).unwrap_or_default()
}

fn from_json(text: &str) -> Result<Registry, SubprocessorsError> {
    let unreadable = |_| SubprocessorsError::Unreadable;
    let stored: Vec<Stored> =
        serde_json::from_str(text).map_err(|_| SubprocessorsError::Unreadable)?;
    let entries = stored
        .into_iter()
        .map(|s| {
            Ok(Subprocessor::from_parts(Parts {
                name: Name::parse(&s.name).map_err(unreadable)?,
                purpose: SubprocessorPurpose::parse(&s.purpose).map_err(unreadable)?,
                data_categories: s
                    .data_categories
                    .iter()
                    .map(|c| Category::parse(c))
                    .collect::<Result<_, _>>()
                    .map_err(unreadable)?,
                location: match s.location {
                    StoredLocation::Country(code) => Location::Country(code),
                    StoredLocation::Eea => Location::Eea,
                    StoredLocation::Declared(words) => Location::Declared(words),
                    StoredLocation::NotCommitted => Location::NotCommitted,
                    StoredLocation::Unknown => Location::Unknown,
                },
                transfer: TransferMechanism::parse_published(&s.transfer).map_err(unreadable)?,
                agreement: s
                    .agreement
                    .as_deref()
                    .map(Agreement::parse)
                    .transpose()
                    .map_err(unreadable)?,
                since: s.since,
                origin: match s.provider {
                    None => Origin::Operator,
                    Some(id) => Origin::Adapter(
                        ProviderId::parse(&id).map_err(|_| SubprocessorsError::Unreadable)?,
                    ),
                },
            }))
        })
        .collect::<Result<Vec<_>, SubprocessorsError>>()?;
    Registry::new(entries).map_err(|_| SubprocessorsError::Unreadable)
}

#[cfg(test)]
mod tests {
    use icecone_core::subprocessor::Written;

    use super::*;

    #[test]
    fn a_published_list_reads_back_as_it_was_written() {
        let categories = ["user.account", "user.contact.email"];
        let operator = Subprocessor::parse(Written {
            name: "Postmark",
            purpose: "email",
            data_categories: &categories,
            location: "US",
            transfer: "adequacy",
            agreement: "DPA 2026-02",
            since: "2026-02-01",
        })
        .expect("an entry");
        let provider = Subprocessor::of_provider(
            ProviderId::parse("openai").expect("an id"),
            Name::parse("OpenAI").expect("a name"),
            &[icecone_core::provider::policy::DataCategory::UserContentPrivate],
            Location::NotCommitted,
            Some(Agreement::parse("ZDR-42").expect("a reference")),
        );
        let registry = Registry::new(vec![operator, provider]).expect("a registry");
        let read = from_json(&to_json(&registry)).expect("readable");
        assert_eq!(read, registry);
        assert_eq!(read.digest(), registry.digest());
        assert!(matches!(
            from_json("[{}]"),
            Err(SubprocessorsError::Unreadable)
        ));
    }

    #[test]
    fn a_notice_reads_back_its_payload() {
        let notice = Notice {
            version: 2,
            takes_effect_on: NaiveDate::from_ymd_opt(2027, 1, 6).expect("a day"),
            added: vec!["Postmark".to_owned()],
            removed: vec![],
            changed: vec!["OpenAI".to_owned()],
        };
        assert_eq!(Notice::parse(&notice.to_payload()), Some(notice));
        assert_eq!(Notice::parse("{"), None);
    }
}

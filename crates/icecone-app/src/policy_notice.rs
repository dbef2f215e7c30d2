//! Telling every account of a new privacy policy version, once.
//!
//! Each account records the version it was last told about (`policy_notified_version`: at
//! sign-up the version the person accepted). Every instance runs [`spawn_notices`]: at
//! start-up and then every [`NOTICE_INTERVAL`] it pages through the accounts behind the
//! current version ([`NOTICE_BATCH`] at a time, never the whole table in memory) and, for
//! each, queues a [`NotificationKind::PolicyChanged`] notice in the transaction that
//! advances the account's version by compare-and-set
//! (`Store::queue_policy_notice`). Two instances racing for an account queue one notice:
//! the loser's compare-and-set finds the version moved and queues nothing.
//!
//! The notice says what each version since the last one told changed (its summary) and
//! which consents the person must give again to keep them
//! (`icecone_core::consent::renewal::consents_to_renew`); it travels sealed under the
//! person's key, since which consents a person gave is personal. Its purpose is
//! `LEGAL_COMPLIANCE` (informing people of changes to the processing of their data, GDPR
//! Art. 12-14), so it reaches accounts that restricted processing. Only accounts with a
//! verified address are told: an unverified address may not be the account holder's, and
//! an account is told as soon as its address is verified (or it is purged unverified).
//! Delivery, as for every notification, finds no address for an erased account.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use icecone_core::consent::Purpose;
use icecone_core::consent::ledger::ConsentState;
use icecone_core::consent::policy::PolicyHistory;
use icecone_core::consent::renewal::consents_to_renew;
use icecone_store::Store;
use icecone_store::policy_notices::PolicyNotice;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::consent;
use crate::keys::vault::Vault;
use crate::notify::{NotificationKind, NotifyError, payload_field};

/// How often each instance looks for accounts behind the current policy version.
pub const NOTICE_INTERVAL: Duration = Duration::from_secs(10 * 60);
/// How many accounts one page of the run reads.
pub const NOTICE_BATCH: u64 = 100;

/// What a policy-change notice tells one person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// The versions published since the one the person was last told about, oldest first;
    /// the last is the version in force.
    pub versions: Vec<NoticeVersion>,
    /// The consents the person must give again under the version in force, as stable
    /// purpose names (`MARKETING`).
    pub renew: Vec<String>,
}

/// One version a notice tells of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeVersion {
    /// The version (`YYYY-MM-DD`, the day it took effect).
    pub version: String,
    /// What it changed.
    pub summary: String,
}

impl Notice {
    /// The notice for a person last told about `told` whose ledger adds up to `state`.
    pub fn for_person(history: PolicyHistory, told: &str, state: &ConsentState) -> Self {
        Self {
            versions: history
                .published_after(told)
                .iter()
                .map(|policy| NoticeVersion {
                    version: policy.version.to_owned(),
                    summary: policy.summary.to_owned(),
                })
                .collect(),
            renew: consents_to_renew(state, history.versions())
                .into_iter()
                .map(|purpose| purpose.as_str().to_owned())
                .collect(),
        }
    }

    /// The notification payload.
    pub fn to_payload(&self) -> String {
        serde_json::json!({ "versions": self.versions, "renew": self.renew }).to_string()
    }

    /// A payload read back; `None` when it is not a notice.
    pub fn parse(payload: &str) -> Option<Self> {
        serde_json::from_str(payload).ok()
    }

    /// The consents to give again, as purposes (names this version does not know left out).
    pub fn purposes_to_renew(&self) -> Vec<Purpose> {
        self.renew
            .iter()
            .filter_map(|name| Purpose::parse(name).ok())
            .collect()
    }
}

/// Tells every account behind `history`'s current version, a page at a time; returns how
/// many notices this run queued (those another instance queued first are not counted).
pub async fn tell_accounts(
    store: &Store,
    vault: &Vault,
    history: PolicyHistory,
    batch: u64,
) -> Result<u64, NotifyError> {
    let current = history.current().version;
    let mut after = None;
    let mut queued = 0;
    loop {
        let page = store.accounts_behind_policy(current, after, batch).await?;
        let Some(last) = page.last() else {
            break;
        };
        after = Some(last.account);
        for behind in &page {
            let state = consent::state_now(store, behind.account).await?;
            let notice = Notice::for_person(history, &behind.told_version, &state);
            let id = Uuid::new_v4();
            let sealed = match vault
                .seal(
                    behind.subject,
                    payload_field(&id.to_string()),
                    notice.to_payload().as_bytes(),
                )
                .await
            {
                Ok(sealed) => sealed,
                Err(error) => {
                    // An account being erased has no key any more; the others are told.
                    tracing::warn!(
                        account = %behind.account,
                        error = crate::error_chain(&error),
                        "policy notice not queued: its payload could not be sealed"
                    );
                    continue;
                }
            };
            let notice = PolicyNotice {
                id,
                kind: NotificationKind::PolicyChanged.as_str().to_owned(),
                payload_sealed: Some(sealed),
                at: Utc::now(),
            };
            if store
                .queue_policy_notice(behind.account, &behind.told_version, current, notice)
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

/// Starts the policy-notice task: a run at once, then every `interval`.
pub fn spawn_notices(
    store: Store,
    vault: Arc<Vault>,
    history: PolicyHistory,
    interval: Duration,
) -> tokio::task::JoinHandle<()> {
    crate::periodic::spawn_every("policy notices", interval, move || {
        let store = store.clone();
        let vault = vault.clone();
        async move { tell_accounts(&store, &vault, history, NOTICE_BATCH).await }
    })
}

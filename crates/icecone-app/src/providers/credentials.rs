//! Provider API keys set at run time: `setProviderCredential` seals the key with the system
//! key, stores it, hands it to the adapter and answers only its fingerprint. Stored keys
//! are applied at start-up and re-read every [`REFRESH_EVERY`], so every gateway instance
//! on a database uses the key set through any of them. A stored key takes precedence over
//! one from the configuration.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use icecone_core::crypto::envelope::Binding;
use icecone_core::provider::ProviderId;
use icecone_core::provider::credential::ApiCredential;
use icecone_store::provider_credentials::CredentialRecord;
use icecone_store::{Store, StoreError};
use uuid::Uuid;

use super::Entry;
use super::router::Router;
use crate::audit::{self, AuditError, AuditEvent};
use crate::keys::vault::{Vault, VaultError};

/// How often each instance re-reads the stored keys.
pub const REFRESH_EVERY: Duration = Duration::from_secs(30);

/// What is shown of a key that was set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialInfo {
    /// The provider.
    pub provider: ProviderId,
    /// The key's fingerprint (`sha256:` and 16 hex digits).
    pub fingerprint: String,
    /// When it was set.
    pub set_at: DateTime<Utc>,
}

/// Why a key could not be set or applied.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// No adapter has this id.
    #[error("no such provider")]
    UnknownProvider,
    /// The adapter takes no API key (`local`).
    #[error("this provider takes no API key")]
    TakesNoKey,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Sealing or opening the key failed.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// The audit trail failed.
    #[error(transparent)]
    Audit(#[from] AuditError),
    /// A stored key does not parse (a corrupted row).
    #[error("a stored provider key is malformed")]
    Malformed,
}

fn binding(provider: &str) -> Binding {
    Binding::system("provider_credentials", "key_sealed", provider)
}

/// Sets `provider`'s API key for ADMIN `admin`: recorded in the audit trail (the provider
/// and the fingerprint, never the key) before it is stored and used. Answers the provider's
/// entry (now available) and what is shown of the key.
pub async fn set(
    cx: crate::context::Context<'_>,
    router: &Router,
    admin: Uuid,
    provider: &ProviderId,
    key: ApiCredential,
) -> Result<(Entry, CredentialInfo), CredentialError> {
    let entry = router
        .entries()
        .iter()
        .find(|entry| entry.adapter().id() == provider)
        .ok_or(CredentialError::UnknownProvider)?;
    if !entry.adapter().takes_credential() {
        return Err(CredentialError::TakesNoKey);
    }
    let fingerprint = key.fingerprint();
    let actor = format!("account:{admin}");
    let target = format!("provider:{provider}:{fingerprint}");
    let event = AuditEvent {
        actor: &actor,
        action: "provider.set_credential",
        target: Some(&target),
        reason: None,
        request_id: cx.request_id,
    };
    audit::record(cx.store, cx.vault, event).await?;
    let record = CredentialRecord {
        provider: provider.as_str().to_owned(),
        key_sealed: cx
            .vault
            .seal_system(&binding(provider.as_str()), key.expose().as_bytes())?,
        fingerprint: fingerprint.clone(),
        set_by: admin,
        set_at: Utc::now(),
    };
    cx.store.put_provider_credential(&record).await?;
    entry.adapter().replace_credential(key);
    tracing::info!(provider = %provider, fingerprint = %fingerprint, "provider API key set");
    let info = CredentialInfo {
        provider: provider.clone(),
        fingerprint,
        set_at: record.set_at,
    };
    Ok((entry.clone(), info))
}

/// Applies every stored key whose fingerprint differs from `applied` (provider → the
/// fingerprint last applied), and records what it applied.
pub async fn apply_stored(
    store: &Store,
    vault: &Vault,
    router: &Router,
    applied: &mut HashMap<String, String>,
) -> Result<(), CredentialError> {
    for record in store.provider_credentials().await? {
        if applied.get(&record.provider) == Some(&record.fingerprint) {
            continue;
        }
        let Some(entry) = router
            .entries()
            .iter()
            .find(|entry| entry.adapter().id().as_str() == record.provider)
        else {
            tracing::warn!(provider = %record.provider, "a stored key names a provider this gateway does not know");
            continue;
        };
        let plaintext = vault.open_system(&binding(&record.provider), &record.key_sealed)?;
        let key = std::str::from_utf8(&plaintext)
            .ok()
            .and_then(|text| ApiCredential::parse(text).ok())
            .ok_or(CredentialError::Malformed)?;
        entry.adapter().replace_credential(key);
        tracing::info!(provider = %record.provider, fingerprint = %record.fingerprint, "stored provider API key in use");
        applied.insert(record.provider, record.fingerprint);
    }
    Ok(())
}

/// Re-reads the stored keys every [`REFRESH_EVERY`], starting from what `applied` holds.
pub fn spawn_refresh(
    store: Store,
    vault: Arc<Vault>,
    router: Arc<Router>,
    mut applied: HashMap<String, String>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(REFRESH_EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            if let Err(error) = apply_stored(&store, &vault, &router, &mut applied).await {
                tracing::error!(
                    error = format!("{error:#}"),
                    "stored provider keys could not be re-read"
                );
            }
        }
    })
}

//! Root key (KEK) rotation and status: `icecone keys rotate`, `icecone keys status`.
//!
//! Rotating adds a root key version and re-wraps every data key and the system key with it,
//! in batches, each key committed on its own; the data those keys encrypt is not touched,
//! so gateways keep serving throughout. If a rotation is interrupted, the next run sees keys
//! still wrapped with an older version and resumes instead of adding another version. A
//! version is retired (removed from the provider) only when no key uses it any more.

use std::collections::BTreeMap;

use icecone_core::crypto::envelope::Header;
use icecone_core::crypto::keys::{
    KeyProvider, KeyProviderError, data_key_binding, system_key_binding,
};
use icecone_store::Store;

use super::vault::VaultError;

/// What a rotation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationReport {
    /// The version every key is wrapped with now.
    pub target_version: u32,
    /// The version this run created (`None` when it resumed an earlier run).
    pub created_version: Option<u32>,
    /// Data keys re-wrapped by this run.
    pub rewrapped_data_keys: u64,
    /// System keys re-wrapped by this run.
    pub rewrapped_system_keys: u64,
    /// Versions removed from the provider.
    pub retired: Vec<u32>,
    /// Versions no key uses but that the provider could not remove, with its reason.
    pub not_retired: Vec<(u32, String)>,
    /// Whether the run stopped before finishing (see [`RotationOptions::max_keys`]).
    pub interrupted: bool,
}

/// How a rotation runs.
#[derive(Debug, Clone, Copy)]
pub struct RotationOptions {
    /// Keys re-wrapped per database round trip.
    pub batch_size: u64,
    /// Stop after this many keys (for staged rotations, and to test resumption).
    pub max_keys: Option<u64>,
}

impl Default for RotationOptions {
    fn default() -> Self {
        Self {
            batch_size: 500,
            max_keys: None,
        }
    }
}

/// Rotates the root key, or resumes an interrupted rotation.
pub async fn rotate(
    store: &Store,
    provider: &dyn KeyProvider,
    options: RotationOptions,
) -> Result<RotationReport, VaultError> {
    let current = provider.current_version().await?;
    let usage = store.kek_version_usage().await?;
    let resuming = usage.keys().any(|version| *version != current);
    let created_version = if resuming {
        None
    } else {
        Some(provider.create_version().await?)
    };
    let target = provider.current_version().await?;
    let mut report = RotationReport {
        target_version: target,
        created_version,
        rewrapped_data_keys: 0,
        rewrapped_system_keys: 0,
        retired: Vec::new(),
        not_retired: Vec::new(),
        interrupted: false,
    };
    let budget_left = |report: &RotationReport| {
        options.max_keys.map(|max| {
            max.saturating_sub(report.rewrapped_data_keys + report.rewrapped_system_keys)
        })
    };

    for key in store.system_keys_to_rewrap(target).await? {
        if budget_left(&report) == Some(0) {
            report.interrupted = true;
            return Ok(report);
        }
        let binding = system_key_binding(&key.id);
        let secret = provider.unwrap(&key.wrapped, &binding).await?;
        let wrapped = provider.wrap(&secret, &binding).await?;
        check_version(&wrapped, target)?;
        if store
            .rewrap_system_key(&key.id, key.kek_version, target, wrapped)
            .await?
        {
            report.rewrapped_system_keys += 1;
        }
    }

    loop {
        let batch = match budget_left(&report) {
            Some(0) => {
                report.interrupted = !store.data_keys_to_rewrap(target, 1).await?.is_empty();
                if report.interrupted {
                    return Ok(report);
                }
                break;
            }
            Some(left) => left.min(options.batch_size),
            None => options.batch_size,
        };
        let keys = store.data_keys_to_rewrap(target, batch).await?;
        if keys.is_empty() {
            break;
        }
        for key in keys {
            let binding = data_key_binding(&key.id.to_string());
            let secret = provider.unwrap(&key.wrapped, &binding).await?;
            let wrapped = provider.wrap(&secret, &binding).await?;
            check_version(&wrapped, target)?;
            // False when the key was shredded or re-wrapped meanwhile: nothing to do then.
            if store
                .rewrap_data_key(key.id, key.kek_version, target, wrapped)
                .await?
            {
                report.rewrapped_data_keys += 1;
            }
        }
        tracing::info!(
            rewrapped = report.rewrapped_data_keys,
            target,
            "re-wrapping data keys"
        );
    }

    let usage = store.kek_version_usage().await?;
    for version in provider.versions().await? {
        if version == target || usage.get(&version).copied().unwrap_or(0) > 0 {
            continue;
        }
        match provider.retire_version(version).await {
            Ok(()) => report.retired.push(version),
            Err(KeyProviderError::Unsupported(reason)) => {
                report.not_retired.push((version, reason))
            }
            Err(other) => return Err(other.into()),
        }
    }
    Ok(report)
}

/// A concurrent rotation moved the provider on: stop rather than wrap with a version this
/// run did not plan for.
fn check_version(wrapped: &[u8], target: u32) -> Result<(), VaultError> {
    let version = Header::parse(wrapped)?.key_version;
    if version != target {
        return Err(KeyProviderError::Unavailable(format!(
            "the current root key version changed from {target} to {version} during the rotation: run it again"
        ))
        .into());
    }
    Ok(())
}

/// The state of the root keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyStatus {
    /// The version new keys are wrapped with.
    pub current_version: u32,
    /// Versions the provider holds.
    pub versions: Vec<u32>,
    /// Live wrapped keys per version.
    pub usage: BTreeMap<u32, u64>,
    /// Keys not yet on the current version (a rotation to finish).
    pub pending: u64,
    /// Subjects whose keys were destroyed.
    pub destroyed: u64,
}

/// Reads the state of the root keys.
pub async fn status(store: &Store, provider: &dyn KeyProvider) -> Result<KeyStatus, VaultError> {
    let current_version = provider.current_version().await?;
    let usage = store.kek_version_usage().await?;
    let pending = usage
        .iter()
        .filter(|(v, _)| **v != current_version)
        .map(|(_, n)| n)
        .sum();
    Ok(KeyStatus {
        current_version,
        versions: provider.versions().await?,
        usage,
        pending,
        destroyed: store.destroyed_data_key_count().await?,
    })
}

impl std::fmt::Display for KeyStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "current root key version: {}", self.current_version)?;
        let versions: Vec<String> = self.versions.iter().map(u32::to_string).collect();
        writeln!(
            f,
            "versions held by the key provider: {}",
            versions.join(", ")
        )?;
        for version in &self.versions {
            writeln!(
                f,
                "  version {version}: {} wrapped key(s)",
                self.usage.get(version).copied().unwrap_or(0)
            )?;
        }
        for (version, count) in &self.usage {
            if !self.versions.contains(version) {
                writeln!(
                    f,
                    "  version {version}: {count} wrapped key(s) — NOT HELD by the key provider"
                )?;
            }
        }
        if self.pending == 0 {
            writeln!(f, "rotation: complete")?;
        } else {
            writeln!(
                f,
                "rotation: {} key(s) still to re-wrap: run `icecone keys rotate` to finish",
                self.pending
            )?;
        }
        write!(
            f,
            "destroyed data keys (crypto-shredded subjects): {}",
            self.destroyed
        )
    }
}

//! The vault: seals and opens personal fields with the data subject's own data key, and
//! non-personal secrets with the system key.
//!
//! A subject's data key is generated when the subject is created, stored only wrapped by
//! the root key provider, unwrapped on first use and kept in a bounded in-memory cache
//! (entries expire, and are wiped from memory when evicted or dropped). Destroying the
//! wrapped key (crypto-shredding) makes every ciphertext of that subject unreadable for
//! good — backups included, since they hold only ciphertext and the wrapped key is gone.
//!
//! Every ciphertext is bound to its table, column, row and subject (see
//! `icecone_core::crypto::envelope::Binding`): the vault builds the binding from the
//! subject it was asked about, so a value can never be sealed for one person and read as
//! another's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use icecone_core::crypto::CryptoError;
use icecone_core::crypto::aead::Algorithm;
use icecone_core::crypto::blind_index::BlindIndexKey;
use icecone_core::crypto::envelope::Plaintext;
use icecone_core::crypto::envelope::{self, Binding};
use icecone_core::crypto::keys::{
    KeyProvider, KeyProviderError, SecretKey, data_key_binding, system_key_binding,
};
use icecone_core::subject::SubjectId;
use icecone_store::keys::StoredDataKey;
use icecone_store::{Store, StoreError};

/// The name of the system key in `system_keys`.
const SYSTEM_KEY: &str = "system";
/// Data ciphertexts carry this data-key version (one data key per subject).
const DATA_KEY_VERSION: u32 = 1;
/// The system key's version inside its ciphertexts.
const SYSTEM_KEY_VERSION: u32 = 1;

/// How many unwrapped data keys a gateway keeps, and for how long.
#[derive(Debug, Clone, Copy)]
pub struct CacheLimits {
    /// Most keys held at once.
    pub capacity: usize,
    /// How long a key is kept after it was unwrapped. Bounds how long another gateway can
    /// still read a subject whose key was just destroyed here.
    pub ttl: Duration,
}

impl Default for CacheLimits {
    fn default() -> Self {
        Self {
            capacity: 10_000,
            ttl: Duration::from_secs(300),
        }
    }
}

/// Where a personal field lives; with the subject it forms the ciphertext's binding.
#[derive(Debug, Clone, Copy)]
pub struct Field<'a> {
    /// The table.
    pub table: &'a str,
    /// The column.
    pub column: &'a str,
    /// The row's id.
    pub row_id: &'a str,
}

/// Why the vault could not seal or open.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// Encryption or decryption failed (tampered, moved, or wrong key).
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// The root key provider failed.
    #[error(transparent)]
    Provider(#[from] KeyProviderError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No such data subject.
    #[error("unknown data subject")]
    UnknownSubject,
    /// The subject's data key was destroyed: their data is gone for good.
    #[error("the data subject's key was destroyed")]
    Shredded,
    /// The system key vanished between being stored and read back.
    #[error("the system key is missing from the database")]
    SystemKeyMissing,
}

#[derive(Debug)]
struct CachedKey {
    key: Arc<SecretKey>,
    loaded: Instant,
    last_used: u64,
}

#[derive(Debug, Default)]
struct DataKeyCache {
    entries: HashMap<SubjectId, CachedKey>,
    clock: u64,
}

/// Seals and opens data at rest.
#[derive(Debug)]
pub struct Vault {
    store: Store,
    provider: Arc<dyn KeyProvider>,
    algorithm: Algorithm,
    system_key: SecretKey,
    limits: CacheLimits,
    cache: Mutex<DataKeyCache>,
}

impl Vault {
    /// Opens the vault, creating the system key on first use.
    pub async fn open(
        store: Store,
        provider: Arc<dyn KeyProvider>,
        algorithm: Algorithm,
        limits: CacheLimits,
    ) -> Result<Self, VaultError> {
        let binding = system_key_binding(SYSTEM_KEY);
        if store.system_key(SYSTEM_KEY).await?.is_none() {
            let fresh = SecretKey::generate()?;
            let wrapped = provider.wrap(&fresh, &binding).await?;
            let version = envelope::Header::parse(&wrapped)?.key_version;
            store
                .insert_system_key(SYSTEM_KEY, version, wrapped)
                .await?;
        }
        // Read back: when two gateways start at once, the first one stored wins.
        let (_, wrapped) = store
            .system_key(SYSTEM_KEY)
            .await?
            .ok_or(VaultError::SystemKeyMissing)?;
        let system_key = provider.unwrap(&wrapped, &binding).await?;
        Ok(Self {
            store,
            provider,
            algorithm,
            system_key,
            limits,
            cache: Mutex::new(DataKeyCache::default()),
        })
    }

    /// The algorithm new ciphertexts are sealed with (existing ones name their own).
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Creates a data subject with a fresh data key.
    pub async fn create_subject(&self) -> Result<SubjectId, VaultError> {
        let subject = SubjectId::new_random();
        let key = SecretKey::generate()?;
        let wrapped = self
            .provider
            .wrap(&key, &data_key_binding(&subject.to_string()))
            .await?;
        let version = envelope::Header::parse(&wrapped)?.key_version;
        self.store
            .create_data_subject(subject, version, wrapped)
            .await?;
        self.remember(subject, Arc::new(key));
        Ok(subject)
    }

    /// Encrypts a personal field of `subject`.
    pub async fn seal(
        &self,
        subject: SubjectId,
        field: Field<'_>,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, VaultError> {
        let key = self.data_key(subject).await?;
        Ok(envelope::seal(
            self.algorithm,
            &key,
            DATA_KEY_VERSION,
            &binding(subject, field),
            plaintext,
        )?)
    }

    /// Decrypts a personal field of `subject`; the plaintext is wiped when dropped.
    pub async fn open_field(
        &self,
        subject: SubjectId,
        field: Field<'_>,
        ciphertext: &[u8],
    ) -> Result<Plaintext, VaultError> {
        let key = self.data_key(subject).await?;
        Ok(envelope::open(
            &key,
            DATA_KEY_VERSION,
            &binding(subject, field),
            ciphertext,
        )?)
    }

    /// Destroys the subject's data key (crypto-shredding). Returns whether a live key was
    /// destroyed.
    pub async fn shred(&self, subject: SubjectId) -> Result<bool, VaultError> {
        self.forget(subject);
        let destroyed = self.store.destroy_data_key(subject).await?;
        tracing::info!(destroyed, "data key destroyed (crypto-shredding)");
        Ok(destroyed)
    }

    /// Encrypts a non-personal secret (e.g. a provider API key) with the system key.
    pub fn seal_system(&self, binding: &Binding, plaintext: &[u8]) -> Result<Vec<u8>, VaultError> {
        Ok(envelope::seal(
            self.algorithm,
            &self.system_key,
            SYSTEM_KEY_VERSION,
            binding,
            plaintext,
        )?)
    }

    /// Decrypts a non-personal secret.
    pub fn open_system(
        &self,
        binding: &Binding,
        ciphertext: &[u8],
    ) -> Result<Plaintext, VaultError> {
        Ok(envelope::open(
            &self.system_key,
            SYSTEM_KEY_VERSION,
            binding,
            ciphertext,
        )?)
    }

    /// The pepper of recovery-code digests, derived from the system key.
    pub fn recovery_pepper(&self) -> zeroize::Zeroizing<[u8; 32]> {
        icecone_core::identity::recovery::derive_pepper(&self.system_key)
    }

    /// The key of the audit trail's HMAC chain, derived from the system key.
    pub fn audit_chain_key(&self) -> zeroize::Zeroizing<[u8; 32]> {
        icecone_core::audit::derive_chain_key(&self.system_key)
    }

    /// The blind-index token of a normalised value for `purpose` (e.g. `accounts.email`).
    pub fn blind_index(&self, purpose: &str, value: &[u8]) -> [u8; 32] {
        BlindIndexKey::derive(&self.system_key, purpose).token(value)
    }

    async fn data_key(&self, subject: SubjectId) -> Result<Arc<SecretKey>, VaultError> {
        if let Some(key) = self.cached(subject) {
            return Ok(key);
        }
        match self.store.data_key(subject).await? {
            None => Err(VaultError::UnknownSubject),
            Some(StoredDataKey::Destroyed { .. }) => Err(VaultError::Shredded),
            Some(StoredDataKey::Active { wrapped, .. }) => {
                let key = Arc::new(
                    self.provider
                        .unwrap(&wrapped, &data_key_binding(&subject.to_string()))
                        .await?,
                );
                self.remember(subject, key.clone());
                Ok(key)
            }
        }
    }

    fn cached(&self, subject: SubjectId) -> Option<Arc<SecretKey>> {
        let mut cache = self.cache.lock().ok()?;
        cache.clock += 1;
        let now = cache.clock;
        let ttl = self.limits.ttl;
        match cache.entries.get_mut(&subject) {
            Some(entry) if entry.loaded.elapsed() < ttl => {
                entry.last_used = now;
                Some(entry.key.clone())
            }
            Some(_) => {
                cache.entries.remove(&subject);
                None
            }
            None => None,
        }
    }

    fn remember(&self, subject: SubjectId, key: Arc<SecretKey>) {
        if self.limits.capacity == 0 {
            return;
        }
        let Ok(mut cache) = self.cache.lock() else {
            return;
        };
        if cache.entries.len() >= self.limits.capacity && !cache.entries.contains_key(&subject) {
            let oldest = cache
                .entries
                .iter()
                .min_by_key(|(_, e)| e.last_used)
                .map(|(s, _)| *s);
            if let Some(oldest) = oldest {
                cache.entries.remove(&oldest);
            }
        }
        cache.clock += 1;
        let last_used = cache.clock;
        cache.entries.insert(
            subject,
            CachedKey {
                key,
                loaded: Instant::now(),
                last_used,
            },
        );
    }

    fn forget(&self, subject: SubjectId) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.entries.remove(&subject);
        }
    }

    /// How many data keys are cached (for the tests).
    pub fn cached_keys(&self) -> usize {
        self.cache.lock().map(|c| c.entries.len()).unwrap_or(0)
    }
}

fn binding(subject: SubjectId, field: Field<'_>) -> Binding {
    Binding::personal(
        field.table,
        field.column,
        field.row_id,
        &subject.to_string(),
    )
}

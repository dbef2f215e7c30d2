//! Keys at run time: where the root keys come from ([`file_provider`], [`env_provider`]),
//! the [`vault::Vault`] that seals and opens personal fields with per-subject data keys,
//! and KEK [`rotation`].

pub mod env_provider;
pub mod file_provider;
pub mod rotation;
pub mod vault;

use std::path::Path;
use std::sync::Arc;

use icecone_core::crypto::aead::Algorithm;
use icecone_core::crypto::keys::KeyProvider;
use secrecy::SecretString;

use self::env_provider::EnvKeyProvider;
use self::file_provider::{FileKeyProvider, KeyFileError};

/// Where the root keys come from, as configured.
#[derive(Debug)]
pub enum KeySource<'a> {
    /// A keyring file (`ICECONE_MASTER_KEY_FILE`).
    File(&'a Path),
    /// A keyring in an environment variable (`ICECONE_MASTER_KEY`).
    Env(&'a SecretString),
    /// The development keyring in the data directory, generated if missing.
    Development(&'a Path),
}

/// Opens the configured key provider. For the development source, says whether the key
/// was generated just now.
pub fn open_provider(
    source: KeySource<'_>,
    algorithm: Algorithm,
) -> Result<(Arc<dyn KeyProvider>, bool), KeyFileError> {
    match source {
        KeySource::File(path) => Ok((Arc::new(FileKeyProvider::open(path, algorithm)?), false)),
        KeySource::Env(text) => Ok((Arc::new(EnvKeyProvider::parse(text, algorithm)?), false)),
        KeySource::Development(data_dir) => {
            let (provider, generated) =
                FileKeyProvider::open_or_generate_development(data_dir, algorithm)?;
            Ok((Arc::new(provider), generated))
        }
    }
}

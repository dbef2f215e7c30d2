//! Root keys from the `ICECONE_MASTER_KEY` environment variable: a keyring text (see
//! `icecone_core::crypto::keys::Keyring`), read once. It cannot be written, so adding or
//! retiring a version is done by the operator, who changes the variable and restarts.

use std::future::ready;

use icecone_core::crypto::aead::Algorithm;
use icecone_core::crypto::envelope::Binding;
use icecone_core::crypto::keys::{KeyFuture, KeyProvider, KeyProviderError, Keyring, SecretKey};
use secrecy::{ExposeSecret, SecretString};

use super::file_provider::KeyFileError;

/// The variable's name, for messages.
pub const VARIABLE: &str = "ICECONE_MASTER_KEY";

/// Root keys held in an environment variable.
#[derive(Debug)]
pub struct EnvKeyProvider {
    keyring: Keyring,
    algorithm: Algorithm,
}

impl EnvKeyProvider {
    /// Parses the variable's value.
    pub fn parse(text: &SecretString, algorithm: Algorithm) -> Result<Self, KeyFileError> {
        let keyring =
            Keyring::parse(text.expose_secret()).map_err(|source| KeyFileError::Keyring {
                place: VARIABLE.to_owned(),
                source,
            })?;
        Ok(Self { keyring, algorithm })
    }
}

impl KeyProvider for EnvKeyProvider {
    fn current_version(&self) -> KeyFuture<'_, u32> {
        Box::pin(ready(Ok(self.keyring.current_version())))
    }

    fn versions(&self) -> KeyFuture<'_, Vec<u32>> {
        Box::pin(ready(Ok(self.keyring.versions())))
    }

    fn wrap<'a>(&'a self, key: &'a SecretKey, binding: &'a Binding) -> KeyFuture<'a, Vec<u8>> {
        Box::pin(ready(
            self.keyring
                .wrap(self.algorithm, key, binding)
                .map_err(Into::into),
        ))
    }

    fn unwrap<'a>(&'a self, wrapped: &'a [u8], binding: &'a Binding) -> KeyFuture<'a, SecretKey> {
        Box::pin(ready(
            self.keyring.unwrap(wrapped, binding).map_err(Into::into),
        ))
    }

    fn create_version(&self) -> KeyFuture<'_, u32> {
        let next = self.keyring.current_version() + 1;
        Box::pin(ready(Err(KeyProviderError::Unsupported(format!(
            "{VARIABLE} cannot be changed from here: add a line `{next} <32 random bytes, base64>` \
             to it, restart the gateways, then run `icecone keys rotate` again"
        )))))
    }

    fn retire_version(&self, version: u32) -> KeyFuture<'_, ()> {
        Box::pin(ready(Err(KeyProviderError::Unsupported(format!(
            "{VARIABLE} cannot be changed from here: remove version {version} from it and restart"
        )))))
    }
}

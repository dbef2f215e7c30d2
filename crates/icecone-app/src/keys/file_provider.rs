//! Root keys from a keyring file (`ICECONE_MASTER_KEY_FILE`, or the generated development
//! key in the data directory).
//!
//! The file must be readable by its owner only. Writes (a new version, a retired version)
//! replace it atomically with an owner-only file. Every gateway re-reads the file when it
//! changes on disk, so that after `icecone keys rotate` running gateways wrap new keys with
//! the new version and can unwrap keys already re-wrapped by it.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use icecone_core::crypto::CryptoError;
use icecone_core::crypto::aead::Algorithm;
use icecone_core::crypto::envelope::Binding;
use icecone_core::crypto::keys::{
    KeyFuture, KeyProvider, KeyProviderError, Keyring, KeyringError, SecretKey,
};

use crate::owner_only::{PermissionProblem, check_owner_only};

/// The name of the generated development keyring inside the data directory.
pub const DEVELOPMENT_KEY_FILE: &str = "master.key";

/// Why root keys cannot be loaded. Messages name the file or variable, never key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// The file could not be read or written.
    #[error("cannot access the master key file {path}")]
    Io {
        /// The key file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file is readable or writable by others than its owner.
    #[error("the master key file {0} is accessible by other users: run `chmod 600` on it")]
    TooOpen(PathBuf),
    /// The keyring text is malformed.
    #[error(
        "{place} is not a valid keyring (one `<version> <32 random bytes, base64>` per line, or a single base64 key such as `openssl rand -base64 32` writes)"
    )]
    Keyring {
        /// The file or variable.
        place: String,
        /// What is wrong, by line number.
        #[source]
        source: KeyringError,
    },
    /// No random key could be generated.
    #[error("cannot generate a key")]
    Generate(#[source] CryptoError),
}

#[derive(Debug)]
struct Loaded {
    keyring: Arc<Keyring>,
    stamp: Option<(SystemTime, u64)>,
}

/// Root keys in a keyring file.
#[derive(Debug)]
pub struct FileKeyProvider {
    path: PathBuf,
    algorithm: Algorithm,
    loaded: RwLock<Arc<Loaded>>,
}

impl FileKeyProvider {
    /// Opens an existing keyring file, refusing one that other users can access.
    pub fn open(path: &Path, algorithm: Algorithm) -> Result<Self, KeyFileError> {
        let loaded = read(path)?;
        Ok(Self {
            path: path.to_owned(),
            algorithm,
            loaded: RwLock::new(Arc::new(loaded)),
        })
    }

    /// Opens the development keyring in `data_dir`, generating it first if it does not
    /// exist. Returns whether it was generated.
    pub fn open_or_generate_development(
        data_dir: &Path,
        algorithm: Algorithm,
    ) -> Result<(Self, bool), KeyFileError> {
        let path = data_dir.join(DEVELOPMENT_KEY_FILE);
        if path.exists() {
            return Ok((Self::open(&path, algorithm)?, false));
        }
        crate::create_private_dir(data_dir).map_err(|source| KeyFileError::Io {
            path: path.clone(),
            source,
        })?;
        let keyring = Keyring::generate().map_err(KeyFileError::Generate)?;
        write_owner_only(&path, &keyring, true)?;
        Ok((Self::open(&path, algorithm)?, true))
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The keyring as last read, re-read first if the file changed on disk.
    fn keyring(&self, force: bool) -> Result<Arc<Keyring>, KeyProviderError> {
        let current = self.loaded.read().map_err(|_| poisoned())?.clone();
        let stamp = stamp(&self.path);
        if !force && stamp.is_some() && stamp == current.stamp {
            return Ok(current.keyring.clone());
        }
        let fresh = read(&self.path).map_err(|e| KeyProviderError::Unavailable(e.to_string()))?;
        let keyring = fresh.keyring.clone();
        *self.loaded.write().map_err(|_| poisoned())? = Arc::new(fresh);
        Ok(keyring)
    }

    fn replace(&self, keyring: Keyring) -> Result<(), KeyProviderError> {
        write_owner_only(&self.path, &keyring, false)
            .map_err(|e| KeyProviderError::Unavailable(e.to_string()))?;
        self.keyring(true).map(|_| ())
    }
}

fn poisoned() -> KeyProviderError {
    KeyProviderError::Unavailable("the key cache lock was poisoned".to_owned())
}

fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let metadata = fs::metadata(path).ok()?;
    Some((metadata.modified().ok()?, metadata.len()))
}

fn read(path: &Path) -> Result<Loaded, KeyFileError> {
    let io = |source| KeyFileError::Io {
        path: path.to_owned(),
        source,
    };
    check_owner_only(path).map_err(|problem| match problem {
        PermissionProblem::Io(source) => io(source),
        PermissionProblem::TooOpen => KeyFileError::TooOpen(path.to_owned()),
    })?;
    let stamp = stamp(path);
    let text = zeroize::Zeroizing::new(fs::read_to_string(path).map_err(io)?);
    let keyring = Keyring::parse(&text).map_err(|source| KeyFileError::Keyring {
        place: path.display().to_string(),
        source,
    })?;
    Ok(Loaded {
        keyring: Arc::new(keyring),
        stamp,
    })
}

/// Writes `keyring` to `path` with owner-only permissions: a new file when `create_new`,
/// else an atomic replacement through a temporary file in the same directory.
fn write_owner_only(path: &Path, keyring: &Keyring, create_new: bool) -> Result<(), KeyFileError> {
    let io = |source| KeyFileError::Io {
        path: path.to_owned(),
        source,
    };
    let target = if create_new {
        path.to_owned()
    } else {
        path.with_extension("key.tmp")
    };
    if !create_new {
        // A temporary file left by an interrupted write may carry other permissions.
        match fs::remove_file(&target) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => return Err(io(error)),
            _ => {}
        }
    }
    let mut options = fs::OpenOptions::new();
    options.write(true);
    if create_new {
        options.create_new(true);
    } else {
        options.create(true).truncate(true);
    }
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&target).map_err(io)?;
    file.write_all(keyring.to_text().as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(io)?;
    if !create_new {
        fs::rename(&target, path).map_err(io)?;
    }
    Ok(())
}

impl KeyProvider for FileKeyProvider {
    fn current_version(&self) -> KeyFuture<'_, u32> {
        Box::pin(async move { Ok(self.keyring(false)?.current_version()) })
    }

    fn versions(&self) -> KeyFuture<'_, Vec<u32>> {
        Box::pin(async move { Ok(self.keyring(false)?.versions()) })
    }

    fn wrap<'a>(&'a self, key: &'a SecretKey, binding: &'a Binding) -> KeyFuture<'a, Vec<u8>> {
        Box::pin(async move { Ok(self.keyring(false)?.wrap(self.algorithm, key, binding)?) })
    }

    fn unwrap<'a>(&'a self, wrapped: &'a [u8], binding: &'a Binding) -> KeyFuture<'a, SecretKey> {
        Box::pin(async move {
            match self.keyring(false)?.unwrap(wrapped, binding) {
                // Another process may have added the version since the last read.
                Err(CryptoError::UnknownKeyVersion(_)) => {
                    Ok(self.keyring(true)?.unwrap(wrapped, binding)?)
                }
                other => Ok(other?),
            }
        })
    }

    fn create_version(&self) -> KeyFuture<'_, u32> {
        Box::pin(async move {
            let (keyring, version) = self.keyring(true)?.with_new_version()?;
            self.replace(keyring)?;
            Ok(version)
        })
    }

    fn retire_version(&self, version: u32) -> KeyFuture<'_, ()> {
        Box::pin(async move {
            let keyring = self.keyring(true)?.without(version).ok_or_else(|| {
                KeyProviderError::Unsupported(format!(
                    "version {version} is current or absent and cannot be retired"
                ))
            })?;
            self.replace(keyring)
        })
    }
}

#[cfg(test)]
mod tests {
    use icecone_core::crypto::keys::data_key_binding;

    use super::*;

    #[tokio::test]
    async fn a_generated_development_keyring_is_owner_only_and_reloads_identically() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (provider, generated) =
            FileKeyProvider::open_or_generate_development(dir.path(), Algorithm::default())
                .expect("generated");
        assert!(generated);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(provider.path())
                .expect("metadata")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let dek = SecretKey::generate().expect("dek");
        let wrapped = provider
            .wrap(&dek, &data_key_binding("s"))
            .await
            .expect("wraps");
        let (again, generated) =
            FileKeyProvider::open_or_generate_development(dir.path(), Algorithm::default())
                .expect("reopened");
        assert!(!generated);
        assert_eq!(
            again
                .unwrap(&wrapped, &data_key_binding("s"))
                .await
                .expect("unwraps")
                .expose(),
            dek.expose()
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_readable_by_others_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("k");
        fs::write(&path, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n").expect("write");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
        assert!(matches!(
            FileKeyProvider::open(&path, Algorithm::default()),
            Err(KeyFileError::TooOpen(_))
        ));
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).expect("chmod");
        assert!(FileKeyProvider::open(&path, Algorithm::default()).is_ok());
    }

    #[test]
    fn missing_and_malformed_key_files_are_typed_errors_that_show_no_content() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = FileKeyProvider::open(&dir.path().join("absent"), Algorithm::default());
        assert!(
            matches!(missing, Err(KeyFileError::Io { .. })),
            "{missing:?}"
        );
        for (name, content) in [
            ("short", "AAECAwQ="),
            ("garbage", "not a key at all!"),
            ("empty", ""),
        ] {
            let path = dir.path().join(name);
            let keyring =
                Keyring::parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").expect("keyring");
            write_owner_only(&path, &keyring, true).expect("create");
            fs::write(&path, content).expect("overwrite");
            let error = FileKeyProvider::open(&path, Algorithm::default()).expect_err(name);
            assert!(
                matches!(error, KeyFileError::Keyring { .. }),
                "{name}: {error:?}"
            );
            assert!(
                content.is_empty() || !error.to_string().contains(content),
                "{name}"
            );
        }
    }

    #[tokio::test]
    async fn a_second_process_sees_a_new_version_written_by_the_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (writer, _) =
            FileKeyProvider::open_or_generate_development(dir.path(), Algorithm::default())
                .expect("a");
        let reader = FileKeyProvider::open(writer.path(), Algorithm::default()).expect("b");
        assert_eq!(reader.current_version().await.expect("v"), 1);
        let version = writer.create_version().await.expect("rotates");
        assert_eq!(version, 2);
        let dek = SecretKey::generate().expect("dek");
        let wrapped = writer
            .wrap(&dek, &data_key_binding("s"))
            .await
            .expect("wraps with v2");
        assert_eq!(
            reader
                .unwrap(&wrapped, &data_key_binding("s"))
                .await
                .expect("unwraps")
                .expose(),
            dek.expose()
        );
        assert_eq!(reader.current_version().await.expect("v"), 2);
        writer.retire_version(1).await.expect("retires");
        assert_eq!(reader.versions().await.expect("versions"), vec![2]);
        assert!(
            writer.retire_version(2).await.is_err(),
            "the current version stays"
        );
    }
}

//! The root key file: 32 random bytes, base64-encoded, readable only by its owner.
//!
//! In development the gateway generates one in the data directory when none is named; in
//! production `ICECONE_MASTER_KEY_FILE` must name one (see [`crate::config`]).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use secrecy::{ExposeSecret, SecretBox};

use crate::owner_only::{PermissionProblem, check_owner_only};

/// The length of the root key in bytes (256 bits).
pub const KEY_LEN: usize = 32;

/// The name of the generated development key inside the data directory.
pub const DEVELOPMENT_KEY_FILE: &str = "master.key";

/// The root key, zeroized when dropped.
pub struct MasterKey(SecretBox<[u8; KEY_LEN]>);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey([redacted])")
    }
}

/// Why the key file cannot be used. Messages name the file, never its content.
#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
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
    /// The file does not hold 32 base64-encoded bytes.
    #[error(
        "the master key file {0} must hold 32 random bytes, base64-encoded (e.g. `openssl rand -base64 32`)"
    )]
    Malformed(PathBuf),
}

/// Where the key came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyOrigin {
    /// Read from an existing file.
    Existing(PathBuf),
    /// Generated just now for development.
    GeneratedForDevelopment(PathBuf),
}

impl MasterKey {
    /// The key bytes.
    pub fn expose(&self) -> &[u8; KEY_LEN] {
        self.0.expose_secret()
    }

    /// Reads the key from `path`, refusing a file other users can access.
    pub fn load(path: &Path) -> Result<Self, MasterKeyError> {
        let io = |source| MasterKeyError::Io {
            path: path.to_owned(),
            source,
        };
        check_owner_only(path).map_err(|e| match e {
            PermissionProblem::Io(source) => io(source),
            PermissionProblem::TooOpen => MasterKeyError::TooOpen(path.to_owned()),
        })?;
        let text = secrecy::SecretString::from(fs::read_to_string(path).map_err(io)?);
        let mut bytes = SecretBox::new(Box::new([0u8; KEY_LEN]));
        let decoded = STANDARD
            .decode(text.expose_secret().trim())
            .map_err(|_| MasterKeyError::Malformed(path.to_owned()))?;
        let decoded = secrecy::SecretSlice::from(decoded);
        if decoded.expose_secret().len() != KEY_LEN {
            return Err(MasterKeyError::Malformed(path.to_owned()));
        }
        secrecy::ExposeSecretMut::expose_secret_mut(&mut bytes)
            .copy_from_slice(decoded.expose_secret());
        Ok(Self(bytes))
    }

    /// Reads the development key from `data_dir`, generating it first if it does not exist.
    pub fn load_or_generate_development(
        data_dir: &Path,
    ) -> Result<(Self, KeyOrigin), MasterKeyError> {
        let path = data_dir.join(DEVELOPMENT_KEY_FILE);
        if path.exists() {
            return Ok((Self::load(&path)?, KeyOrigin::Existing(path)));
        }
        let io = |source| MasterKeyError::Io {
            path: path.clone(),
            source,
        };
        crate::startup::create_private_dir(data_dir).map_err(io)?;
        let mut bytes = SecretBox::new(Box::new([0u8; KEY_LEN]));
        getrandom::fill(secrecy::ExposeSecretMut::expose_secret_mut(&mut bytes))
            .map_err(|e| io(std::io::Error::other(e)))?;
        let encoded = secrecy::SecretString::from(STANDARD.encode(bytes.expose_secret()));
        let mut file = create_owner_only(&path).map_err(io)?;
        file.write_all(encoded.expose_secret().as_bytes())
            .and_then(|()| file.write_all(b"\n"))
            .and_then(|()| file.sync_all())
            .map_err(io)?;
        Ok((Self(bytes), KeyOrigin::GeneratedForDevelopment(path)))
    }
}

#[cfg(unix)]
fn create_owner_only(path: &Path) -> std::io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn create_owner_only(path: &Path) -> std::io::Result<fs::File> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_development_key_is_owner_only_and_reloads_identically() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (key, origin) = MasterKey::load_or_generate_development(dir.path()).expect("generated");
        let path = dir.path().join(DEVELOPMENT_KEY_FILE);
        assert_eq!(origin, KeyOrigin::GeneratedForDevelopment(path.clone()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).expect("metadata").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (again, origin) =
            MasterKey::load_or_generate_development(dir.path()).expect("reloaded");
        assert_eq!(origin, KeyOrigin::Existing(path));
        assert_eq!(key.expose(), again.expose());
        assert_ne!(
            key.expose(),
            &[0u8; KEY_LEN],
            "the key is random, not zeroes"
        );
    }

    #[test]
    fn two_generated_keys_differ() {
        let (a, _) =
            MasterKey::load_or_generate_development(tempfile::tempdir().expect("tmp").path())
                .expect("a");
        let (b, _) =
            MasterKey::load_or_generate_development(tempfile::tempdir().expect("tmp").path())
                .expect("b");
        assert_ne!(a.expose(), b.expose());
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_readable_by_others_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("k");
        fs::write(&path, STANDARD.encode([7u8; KEY_LEN])).expect("write");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
        assert!(matches!(
            MasterKey::load(&path),
            Err(MasterKeyError::TooOpen(_))
        ));
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).expect("chmod");
        assert_eq!(
            MasterKey::load(&path).expect("loads").expose(),
            &[7u8; KEY_LEN]
        );
    }

    #[test]
    fn malformed_key_files_are_refused_without_showing_their_content() {
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, content) in [
            ("short", STANDARD.encode([1u8; 16])),
            ("long", STANDARD.encode([1u8; 33])),
            ("not-base64", "this is not base64 at all!".to_owned()),
            ("empty", String::new()),
        ] {
            let path = dir.path().join(name);
            let mut file = create_owner_only(&path).expect("create");
            file.write_all(content.as_bytes()).expect("write");
            let error = MasterKey::load(&path).expect_err(name);
            assert!(
                matches!(error, MasterKeyError::Malformed(_)),
                "{name}: {error:?}"
            );
            assert!(
                content.is_empty() || !error.to_string().contains(&content),
                "{name}"
            );
        }
    }

    #[test]
    fn the_debug_output_of_a_key_is_redacted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (key, _) = MasterKey::load_or_generate_development(dir.path()).expect("generated");
        assert_eq!(format!("{key:?}"), "MasterKey([redacted])");
    }
}

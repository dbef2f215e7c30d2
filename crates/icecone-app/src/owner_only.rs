//! Files that hold secrets (the root key, the TLS private key) must be readable and
//! writable by their owner only; a file that other users can access is refused.

use std::path::Path;

/// Why a secret file failed the owner-only check.
#[derive(Debug)]
pub enum PermissionProblem {
    /// Its metadata could not be read (it does not exist, or a directory on the way is closed).
    Io(std::io::Error),
    /// Its group or other users have some access to it.
    TooOpen,
}

/// Checks that no one but the file's owner can access it (on Unix: no group or other
/// permission bits). Elsewhere only checks that the file exists.
#[cfg(unix)]
pub fn check_owner_only(path: &Path) -> Result<(), PermissionProblem> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(PermissionProblem::Io)?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(PermissionProblem::TooOpen);
    }
    Ok(())
}

/// Checks that no one but the file's owner can access it (on Unix: no group or other
/// permission bits). Elsewhere only checks that the file exists.
#[cfg(not(unix))]
pub fn check_owner_only(path: &Path) -> Result<(), PermissionProblem> {
    std::fs::metadata(path)
        .map(|_| ())
        .map_err(PermissionProblem::Io)
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn any_group_or_other_permission_bit_is_too_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("secret");
        std::fs::write(&path, "x").expect("write");
        for (mode, owner_only) in [
            (0o600, true),
            (0o400, true),
            (0o700, true),
            (0o640, false),
            (0o604, false),
            (0o620, false),
            (0o602, false),
            (0o644, false),
        ] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
            let result = check_owner_only(&path);
            assert_eq!(result.is_ok(), owner_only, "mode {mode:o}: {result:?}");
            if !owner_only {
                assert!(
                    matches!(result, Err(PermissionProblem::TooOpen)),
                    "mode {mode:o}"
                );
            }
        }
    }

    #[test]
    fn a_missing_file_is_an_io_problem() {
        let dir = tempfile::tempdir().expect("tempdir");
        let result = check_owner_only(&dir.path().join("absent"));
        assert!(
            matches!(result, Err(PermissionProblem::Io(ref e)) if e.kind() == std::io::ErrorKind::NotFound),
            "{result:?}"
        );
    }
}

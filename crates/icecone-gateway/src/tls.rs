//! HTTPS: the certificate chain and private key named by `ICECONE_TLS_CERT` and
//! `ICECONE_TLS_KEY` (or `serve --tls-cert` / `--tls-key`), loaded into a rustls server
//! configuration that speaks TLS 1.3 and nothing older.
//!
//! The key file must be readable by its owner only, like the root key. Errors name the file
//! and what is wrong with it, never its content.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::ServerConfig;
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls::{Error as RustlsError, InconsistentKeys};
use secrecy::{ExposeSecret, SecretSlice};

use icecone_app::owner_only::{PermissionProblem, check_owner_only};

/// Which of the two TLS files an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsFile {
    /// The PEM certificate chain (`ICECONE_TLS_CERT`).
    Certificate,
    /// The PEM private key (`ICECONE_TLS_KEY`).
    PrivateKey,
}

impl std::fmt::Display for TlsFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Certificate => "certificate file",
            Self::PrivateKey => "private key file",
        })
    }
}

/// Why the TLS certificate or key cannot be used. Messages name the file, never its content.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The file does not exist.
    #[error("the TLS {file} {path} does not exist")]
    Missing {
        /// Which file.
        file: TlsFile,
        /// Its path.
        path: PathBuf,
    },
    /// The file exists but cannot be read.
    #[error("cannot read the TLS {file} {path}")]
    Unreadable {
        /// Which file.
        file: TlsFile,
        /// Its path.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The private key file is readable or writable by others than its owner.
    #[error("the TLS private key file {0} is accessible by other users: run `chmod 600` on it")]
    KeyTooOpen(PathBuf),
    /// The certificate file is not well-formed PEM.
    #[error("the TLS certificate file {0} is not well-formed PEM")]
    MalformedCertificatePem(PathBuf),
    /// The certificate file holds no `CERTIFICATE` section.
    #[error("the TLS certificate file {0} holds no PEM certificate (-----BEGIN CERTIFICATE-----)")]
    NoCertificate(PathBuf),
    /// The first certificate of the chain is not a valid X.509 certificate.
    #[error("the TLS certificate file {0} holds a certificate that cannot be parsed")]
    InvalidCertificate(PathBuf),
    /// The key file is not well-formed PEM.
    #[error("the TLS private key file {0} is not well-formed PEM")]
    MalformedKeyPem(PathBuf),
    /// The key file holds no PKCS#8, PKCS#1 or SEC1 private key.
    #[error(
        "the TLS private key file {0} holds no PEM private key (PKCS#8, RSA or EC PRIVATE KEY)"
    )]
    NoPrivateKey(PathBuf),
    /// The key is not one rustls can sign with (RSA, ECDSA P-256/P-384 or Ed25519).
    #[error(
        "the TLS private key file {0} holds a key that cannot be used (RSA, ECDSA P-256/P-384 or Ed25519 expected)"
    )]
    InvalidKey(PathBuf),
    /// The private key is not the one the certificate was issued for.
    #[error("the TLS private key file {key} does not hold the key of the certificate in {cert}")]
    KeyMismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
    },
    /// rustls refused the configuration for another reason.
    #[error("cannot build the TLS 1.3 configuration")]
    Rustls(#[source] RustlsError),
}

/// Loads the certificate chain and private key and builds a server configuration that
/// accepts TLS 1.3 only, with the `ring` cryptography provider.
pub fn server_config(cert: &Path, key: &Path) -> Result<ServerConfig, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = read_certificate_chain(cert)?;
    let certified = certified_key(chain, read_private_key(key)?, &provider, cert, key)?;
    let config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(TlsError::Rustls)?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(SingleCertAndKey::from(certified)));
    Ok(config)
}

fn read_certificate_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = read(TlsFile::Certificate, path)?;
    let chain = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, pem::Error>>()
        .map_err(|_| TlsError::MalformedCertificatePem(path.to_owned()))?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate(path.to_owned()));
    }
    Ok(chain)
}

fn read_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    check_owner_only(path).map_err(|problem| match problem {
        PermissionProblem::Io(source) => io_error(TlsFile::PrivateKey, path, source),
        PermissionProblem::TooOpen => TlsError::KeyTooOpen(path.to_owned()),
    })?;
    let bytes = SecretSlice::from(read(TlsFile::PrivateKey, path)?);
    // The PEM parser's own errors may quote a line of the file: they are dropped.
    PrivateKeyDer::from_pem_slice(bytes.expose_secret()).map_err(|error| match error {
        pem::Error::NoItemsFound => TlsError::NoPrivateKey(path.to_owned()),
        _ => TlsError::MalformedKeyPem(path.to_owned()),
    })
}

fn certified_key(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    provider: &CryptoProvider,
    cert_path: &Path,
    key_path: &Path,
) -> Result<CertifiedKey, TlsError> {
    let signing_key = provider
        .key_provider
        .load_private_key(key)
        .map_err(|_| TlsError::InvalidKey(key_path.to_owned()))?;
    let certified = CertifiedKey::new(chain, signing_key);
    match certified.keys_match() {
        // Some key types cannot tell their public key; rustls accepts those as well.
        Ok(()) | Err(RustlsError::InconsistentKeys(InconsistentKeys::Unknown)) => Ok(certified),
        Err(RustlsError::InconsistentKeys(_)) => Err(TlsError::KeyMismatch {
            cert: cert_path.to_owned(),
            key: key_path.to_owned(),
        }),
        Err(_) => Err(TlsError::InvalidCertificate(cert_path.to_owned())),
    }
}

fn read(file: TlsFile, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| io_error(file, path, source))
}

fn io_error(file: TlsFile, path: &Path, source: std::io::Error) -> TlsError {
    if source.kind() == std::io::ErrorKind::NotFound {
        TlsError::Missing {
            file,
            path: path.to_owned(),
        }
    } else {
        TlsError::Unreadable {
            file,
            path: path.to_owned(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    /// A self-signed certificate and its key, written as PEM files (the key owner-only).
    struct Files {
        dir: tempfile::TempDir,
        cert: PathBuf,
        key: PathBuf,
        key_pem: String,
    }

    fn files() -> Files {
        let dir = tempfile::tempdir().expect("tempdir");
        let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
            .expect("a self-signed certificate");
        let cert = dir.path().join("cert.pem");
        std::fs::write(&cert, certified.cert.pem()).expect("write cert");
        let key_pem = certified.signing_key.serialize_pem();
        let key = write_owner_only(dir.path(), "key.pem", &key_pem);
        Files {
            dir,
            cert,
            key,
            key_pem,
        }
    }

    fn write_owner_only(dir: &Path, name: &str, content: &str) -> PathBuf {
        let path = dir.join(name);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&path).expect("create");
        file.write_all(content.as_bytes()).expect("write");
        path
    }

    /// Runs a handshake in memory between a server with `config` and a client that trusts
    /// `cert` and offers `versions`; returns the version agreed or the server's error.
    fn handshake(
        config: ServerConfig,
        cert: &Path,
        versions: &[&'static rustls::SupportedProtocolVersion],
    ) -> Result<rustls::ProtocolVersion, RustlsError> {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_file(cert).expect("the certificate"))
            .expect("a trusted root");
        let client_config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_protocol_versions(versions)
        .expect("client versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
        let name = rustls::pki_types::ServerName::try_from("localhost").expect("a name");
        let mut client =
            rustls::ClientConnection::new(Arc::new(client_config), name).expect("a client");
        let mut server = rustls::ServerConnection::new(Arc::new(config)).expect("a server");
        for _ in 0..10 {
            let mut bytes = Vec::new();
            while client.wants_write() {
                client.write_tls(&mut bytes).expect("client output");
            }
            let mut input = &bytes[..];
            while !input.is_empty() {
                server.read_tls(&mut input).expect("server input");
                server.process_new_packets()?;
            }
            let mut bytes = Vec::new();
            while server.wants_write() {
                server.write_tls(&mut bytes).expect("server output");
            }
            let mut input = &bytes[..];
            while !input.is_empty() {
                client.read_tls(&mut input).expect("client input");
                client
                    .process_new_packets()
                    .expect("the client accepts what the server sends");
            }
            if !client.is_handshaking() && !server.is_handshaking() {
                return Ok(server.protocol_version().expect("a version"));
            }
        }
        panic!("the handshake did not finish");
    }

    #[test]
    fn a_matching_certificate_and_key_give_a_server_that_speaks_tls_1_3_only() {
        let files = files();
        let config = || server_config(&files.cert, &files.key).expect("loads");
        let tls13 = handshake(config(), &files.cert, &[&rustls::version::TLS13]);
        assert_eq!(
            tls13.expect("a TLS 1.3 client connects"),
            rustls::ProtocolVersion::TLSv1_3
        );
        let both = handshake(
            config(),
            &files.cert,
            &[&rustls::version::TLS13, &rustls::version::TLS12],
        );
        assert_eq!(
            both.expect("a client offering both connects"),
            rustls::ProtocolVersion::TLSv1_3
        );
        let tls12 = handshake(config(), &files.cert, &[&rustls::version::TLS12]);
        assert!(
            matches!(tls12, Err(RustlsError::PeerIncompatible(_))),
            "a TLS 1.2 client is refused: {tls12:?}"
        );
    }

    #[test]
    fn missing_and_broken_files_are_typed_errors_that_name_the_file() {
        let files = files();
        let dir = files.dir.path();
        let absent = dir.join("absent.pem");
        let empty = write_owner_only(dir, "empty.pem", "");
        let garbage = write_owner_only(
            dir,
            "garbage.pem",
            "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n",
        );
        let not_a_cert = write_owner_only(
            dir,
            "not-a-cert.pem",
            "-----BEGIN CERTIFICATE-----\nAAECAwQ=\n-----END CERTIFICATE-----\n",
        );
        // A certificate file where a key is expected: PEM, but no private key in it.
        let cert_as_key = write_owner_only(
            dir,
            "cert-as-key.pem",
            &std::fs::read_to_string(&files.cert).expect("cert"),
        );
        let other_key = write_owner_only(
            dir,
            "other-key.pem",
            &rcgen::KeyPair::generate()
                .expect("a key pair")
                .serialize_pem(),
        );
        let bad_key = write_owner_only(
            dir,
            "bad-key.pem",
            "-----BEGIN PRIVATE KEY-----\nAAECAwQ=\n-----END PRIVATE KEY-----\n",
        );

        type Check = fn(&TlsError) -> bool;
        let cases: [(&Path, &Path, &Path, Check); 8] = [
            (&absent, &files.key, &absent, |e| {
                matches!(
                    e,
                    TlsError::Missing {
                        file: TlsFile::Certificate,
                        ..
                    }
                )
            }),
            (&files.cert, &absent, &absent, |e| {
                matches!(
                    e,
                    TlsError::Missing {
                        file: TlsFile::PrivateKey,
                        ..
                    }
                )
            }),
            (&empty, &files.key, &empty, |e| {
                matches!(e, TlsError::NoCertificate(_))
            }),
            (&garbage, &files.key, &garbage, |e| {
                matches!(e, TlsError::MalformedCertificatePem(_))
            }),
            (&not_a_cert, &files.key, &not_a_cert, |e| {
                matches!(e, TlsError::InvalidCertificate(_))
            }),
            (&files.cert, &cert_as_key, &cert_as_key, |e| {
                matches!(e, TlsError::NoPrivateKey(_))
            }),
            (&files.cert, &bad_key, &bad_key, |e| {
                matches!(e, TlsError::InvalidKey(_))
            }),
            (&files.cert, &other_key, &other_key, |e| {
                matches!(e, TlsError::KeyMismatch { .. })
            }),
        ];
        for (cert, key, named, expected) in cases {
            let error = server_config(cert, key).expect_err("refused");
            assert!(expected(&error), "{cert:?} {key:?}: {error:?}");
            let message = error.to_string();
            assert!(
                message.contains(&named.display().to_string()),
                "the message names {named:?}: {message}"
            );
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_accessible_by_other_users_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let files = files();
        for mode in [0o644, 0o640, 0o604] {
            std::fs::set_permissions(&files.key, std::fs::Permissions::from_mode(mode))
                .expect("chmod");
            let error = server_config(&files.cert, &files.key).expect_err("too open");
            assert!(
                matches!(&error, TlsError::KeyTooOpen(path) if *path == files.key),
                "mode {mode:o}: {error:?}"
            );
            assert!(error.to_string().contains("chmod 600"), "{error}");
        }
        std::fs::set_permissions(&files.key, std::fs::Permissions::from_mode(0o600))
            .expect("chmod");
        server_config(&files.cert, &files.key).expect("owner-only is accepted");
    }

    #[test]
    fn no_error_message_shows_the_key_file_content() {
        let files = files();
        let dir = files.dir.path();
        // A key whose body was damaged: a line of it must not reach the message.
        let damaged = files.key_pem.replacen('\n', "\n!!", 1);
        let damaged_path = write_owner_only(dir, "damaged.pem", &damaged);
        let other_key = write_owner_only(
            dir,
            "other.pem",
            &rcgen::KeyPair::generate()
                .expect("a key pair")
                .serialize_pem(),
        );
        for key in [&damaged_path, &other_key] {
            let error = server_config(&files.cert, key).expect_err("refused");
            let text = icecone_app::error_chain(&error);
            let debug = format!("{error:?}");
            let key_text = std::fs::read_to_string(key).expect("key");
            for line in key_text.lines().filter(|l| !l.starts_with("-----")) {
                let line = line.trim_start_matches('!');
                assert!(!text.contains(line), "{text}");
                assert!(!debug.contains(line), "{debug}");
            }
        }
    }
}

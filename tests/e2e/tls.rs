//! HTTPS: with a certificate and key the gateway speaks TLS 1.3 and nothing older, and sends
//! HSTS on every response; a missing or group-readable key file stops the start.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use icecone_gateway::config::Settings;
use icecone_gateway::startup::Application;
use icecone_gateway::tls::{TlsError, TlsFile};
use icecone_store::testing::TestDatabase;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use secrecy::SecretString;

use crate::support::app::TestApp;
use crate::support::binary::{BinaryApp, free_port};

const HSTS: &str = "max-age=63072000; includeSubDomains";

/// A self-signed certificate for `localhost` and `127.0.0.1`, and its key, as PEM files in a
/// temporary directory (the key readable by its owner only).
struct SelfSigned {
    dir: tempfile::TempDir,
    cert: PathBuf,
    key: PathBuf,
    cert_pem: String,
}

fn self_signed() -> SelfSigned {
    let dir = tempfile::tempdir().expect("tempdir");
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("a self-signed certificate");
    let cert_pem = certified.cert.pem();
    let cert = dir.path().join("cert.pem");
    std::fs::write(&cert, &cert_pem).expect("write the certificate");
    let key = dir.path().join("key.pem");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    std::io::Write::write_all(
        &mut options.open(&key).expect("create the key file"),
        certified.signing_key.serialize_pem().as_bytes(),
    )
    .expect("write the key");
    SelfSigned {
        dir,
        cert,
        key,
        cert_pem,
    }
}

impl SelfSigned {
    async fn spawn_gateway(&self) -> TestApp {
        TestApp::spawn_with(|settings| {
            settings.tls_cert = Some(self.cert.clone());
            settings.tls_key = Some(self.key.clone());
        })
        .await
    }

    /// A client that trusts only this certificate and offers only `versions`.
    fn client(&self, versions: &[&'static rustls::SupportedProtocolVersion]) -> reqwest::Client {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_slice(self.cert_pem.as_bytes()).expect("PEM"))
            .expect("a trusted root");
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_protocol_versions(versions)
        .expect("client versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
        reqwest::Client::builder()
            .use_preconfigured_tls(config)
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client")
    }
}

/// The TLS error somewhere in a client error's causes (hyper wraps it in `io::Error`s, whose
/// `source` skips the error they wrap, so those are opened with `get_ref`).
fn tls_error_in(error: &reqwest::Error) -> Option<rustls::Error> {
    let mut causes: Vec<&(dyn std::error::Error + 'static)> = vec![error];
    while let Some(cause) = causes.pop() {
        if let Some(tls) = cause.downcast_ref::<rustls::Error>() {
            return Some(tls.clone());
        }
        if let Some(inner) = cause
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
        {
            causes.push(inner);
        }
        causes.extend(cause.source());
    }
    None
}

#[tokio::test]
async fn a_tls_1_3_client_is_served_over_https_with_hsts() {
    let certificate = self_signed();
    let app = certificate.spawn_gateway().await;
    let client = certificate.client(&[&rustls::version::TLS13]);

    let health = app.send(client.get(app.https_url("/healthz"))).await;
    assert_eq!(health.status, 200, "{}", health.text);
    assert_eq!(health.json()["status"], "ok");
    assert_eq!(
        health.headers.get("strict-transport-security"),
        Some(&reqwest::header::HeaderValue::from_static(HSTS))
    );

    // Every response, errors included, carries it.
    let missing = app.send(client.get(app.https_url("/nope"))).await;
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.headers.get("strict-transport-security"),
        Some(&reqwest::header::HeaderValue::from_static(HSTS))
    );
    let answer = app
        .send(
            client
                .post(app.https_url("/graphql"))
                .header("content-type", "application/json")
                .body(r#"{"query":"{ __typename }"}"#),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json()["data"]["__typename"], "Query");
    assert!(answer.headers.contains_key("strict-transport-security"));
}

#[tokio::test]
async fn a_client_limited_to_tls_1_2_is_refused() {
    let certificate = self_signed();
    let app = certificate.spawn_gateway().await;

    let error = certificate
        .client(&[&rustls::version::TLS12])
        .get(app.https_url("/healthz"))
        .send()
        .await
        .expect_err("no TLS 1.2 handshake");
    assert_eq!(
        tls_error_in(&error),
        Some(rustls::Error::AlertReceived(
            rustls::AlertDescription::ProtocolVersion
        )),
        "the server refuses the protocol version: {error:?}"
    );

    // The same client offering TLS 1.3 as well connects: only the version was refused.
    let response = certificate
        .client(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .get(app.https_url("/healthz"))
        .send()
        .await
        .expect("a client offering TLS 1.3 connects");
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn plain_http_to_the_https_port_gets_no_answer() {
    let certificate = self_signed();
    let app = certificate.spawn_gateway().await;
    let plain = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
        .get(app.url("/healthz"))
        .send()
        .await;
    assert!(
        plain.as_ref().map_or(true, |r| r.status() != 200),
        "plain HTTP was answered: {plain:?}"
    );
}

#[tokio::test]
async fn without_tls_the_gateway_serves_plain_http_and_sends_no_hsts() {
    let app = TestApp::spawn().await;
    let answer = app.get("/healthz").await;
    assert_eq!(answer.status, 200);
    assert!(
        !answer.headers.contains_key("strict-transport-security"),
        "HSTS means nothing over plain HTTP: {:?}",
        answer.headers
    );
}

#[tokio::test]
async fn a_missing_or_group_readable_tls_key_stops_the_start_with_a_message_naming_it() {
    let certificate = self_signed();
    let absent = certificate.dir.path().join("absent-key.pem");
    type Expected = fn(&TlsError) -> bool;
    // (key file, the error expected, a phrase of its message)
    let mut cases: Vec<(&Path, Expected, &str)> = vec![(
        &absent,
        |e| {
            matches!(
                e,
                TlsError::Missing {
                    file: TlsFile::PrivateKey,
                    ..
                }
            )
        },
        "does not exist",
    )];
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&certificate.key, std::fs::Permissions::from_mode(0o644))
            .expect("chmod 644");
        cases.push((
            &certificate.key,
            |e| matches!(e, TlsError::KeyTooOpen(_)),
            "accessible by other users",
        ));
    }
    for (key, expected, phrase) in cases {
        let db = TestDatabase::new().await;
        let data_dir = tempfile::tempdir().expect("data dir");
        let settings = Settings {
            listen: "127.0.0.1:0".parse().expect("address"),
            data_dir: data_dir.path().to_owned(),
            database_url: Some(SecretString::from(db.url().expose().to_owned())),
            tls_cert: Some(certificate.cert.clone()),
            tls_key: Some(key.to_owned()),
            ..Settings::default()
        };
        let config = settings
            .resolve()
            .expect("the settings themselves are valid");
        let error = Application::build(config)
            .await
            .expect_err("the gateway does not start");
        let tls_error = error
            .downcast_ref::<TlsError>()
            .unwrap_or_else(|| panic!("a typed TLS error: {error:#}"));
        assert!(expected(tls_error), "{key:?}: {tls_error:?}");
        let message = format!("{error:#}");
        assert!(
            message.contains(&key.display().to_string()) && message.contains(phrase),
            "{message}"
        );
    }
}

#[tokio::test]
async fn icecone_serve_with_the_tls_flags_serves_https_and_logs_that_tls_1_3_is_on() {
    let certificate = self_signed();
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let mut gateway = BinaryApp::spawn(dir.path(), port, |command| {
        command
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--tls-cert")
            .arg(&certificate.cert)
            .arg("--tls-key")
            .arg(&certificate.key);
    });

    let client = certificate.client(&[&rustls::version::TLS13]);
    let started = Instant::now();
    loop {
        let health = client
            .get(format!("https://127.0.0.1:{port}/healthz"))
            .send()
            .await;
        if health.is_ok_and(|response| response.status() == 200) {
            break;
        }
        gateway.assert_running();
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "icecone did not answer over HTTPS"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    assert!(gateway.terminate().success());
    let output = gateway.output();
    assert!(output.contains("TLS 1.3 on"), "{output}");
    assert!(!output.contains("TLS is off"), "{output}");
}

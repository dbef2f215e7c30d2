//! Behind the `testing` feature, which only dev-dependencies enable: a real S3-compatible
//! server for the output bucket in tests — moto's `moto_server` (PyPI package
//! `moto[server]`, which `.ci/run` installs when it is missing) started on a free loopback
//! port and stopped when dropped — and the signed calls a test makes on it (creating the
//! bucket, putting the object Bedrock would write, looking for it).
//!
//! Without `moto_server` the tests that need it are skipped, unless
//! `ICECONE_TEST_REQUIRE_S3` is set (CI sets it): then its absence fails them.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use secrecy::SecretString;

use crate::sign::{Service, Signer, encode_segment};

/// The access key id the tests sign with (moto accepts any).
pub const ACCESS_KEY_ID: &str = "AKIDICECONETEST";
/// The secret access key the tests sign with.
pub const SECRET_ACCESS_KEY: &str = "icecone-test-secret-access-key";
/// The region of the test bucket.
pub const REGION: &str = "us-east-1";

/// A running `moto_server`, stopped (killed and reaped) when dropped.
#[derive(Debug)]
pub struct S3Server {
    child: Child,
    url: String,
    http: reqwest::Client,
}

impl S3Server {
    /// Starts `moto_server` on a free port of 127.0.0.1 and waits until it answers. `None`
    /// when it is not installed and `ICECONE_TEST_REQUIRE_S3` is not set.
    pub fn start() -> Option<Self> {
        let port = {
            let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
            listener.local_addr().expect("address").port()
        };
        let spawned = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(error) if std::env::var_os("ICECONE_TEST_REQUIRE_S3").is_some() => {
                panic!("ICECONE_TEST_REQUIRE_S3 is set but moto_server cannot start: {error}")
            }
            Err(_) => return None,
        };
        let mut server = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
        };
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        let started = Instant::now();
        while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("moto_server exited at start: {status}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "moto_server did not listen within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(server)
    }

    /// Its base URL, `http://127.0.0.1:<port>`: the adapter's `s3_url`.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn object_url(&self, bucket: &str, key: &str) -> String {
        let key: Vec<String> = key.split('/').map(encode_segment).collect();
        format!("{}/{bucket}/{}", self.url, key.join("/"))
    }

    async fn send(&self, method: reqwest::Method, url: &str, body: Vec<u8>) -> u16 {
        let signer = Signer::new(
            SecretString::from(ACCESS_KEY_ID),
            SecretString::from(SECRET_ACCESS_KEY),
            None,
            REGION,
        );
        let headers = signer
            .sign(
                Service::S3,
                method.as_str(),
                url,
                &[],
                &body,
                SystemTime::now(),
            )
            .expect("signed");
        let mut request = self.http.request(method, url).body(body);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request
            .send()
            .await
            .expect("moto answers")
            .status()
            .as_u16()
    }

    /// Creates `bucket`.
    pub async fn create_bucket(&self, bucket: &str) {
        let status = self
            .send(
                reqwest::Method::PUT,
                &format!("{}/{bucket}", self.url),
                Vec::new(),
            )
            .await;
        assert_eq!(status, 200, "bucket {bucket} created");
    }

    /// Puts `bytes` at `key` in `bucket`, as Bedrock writes a finished video.
    pub async fn put_object(&self, bucket: &str, key: &str, bytes: &[u8]) {
        let url = self.object_url(bucket, key);
        let status = self.send(reqwest::Method::PUT, &url, bytes.to_vec()).await;
        assert_eq!(status, 200, "object {key} put");
    }

    /// Whether `bucket` holds an object at `key` (`HeadObject`: 200 or 404).
    pub async fn has_object(&self, bucket: &str, key: &str) -> bool {
        let url = self.object_url(bucket, key);
        match self.send(reqwest::Method::HEAD, &url, Vec::new()).await {
            200 => true,
            404 => false,
            other => panic!("HeadObject answered {other}"),
        }
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        // Only the process this server started, by its handle.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The smallest MP4 the adapter recognises: an `ftyp` box.
pub const TINY_MP4: &[u8] = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom";

/// The smallest valid PNG (1 × 1, RGB): what a mock image model answers.
pub const TINY_PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90, 0x77, 0x53,
    0xde, 0x00, 0x00, 0x00, 0x0c, 0x49, 0x44, 0x41, 0x54, 0x08, 0xd7, 0x63, 0xf8, 0xcf, 0xc0, 0x00,
    0x00, 0x03, 0x01, 0x01, 0x00, 0x18, 0xdd, 0x8d, 0xb0, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e,
    0x44, 0xae, 0x42, 0x60, 0x82,
];

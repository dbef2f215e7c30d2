//! Headless Chromium for the browser tests, driven through chromedriver's WebDriver
//! protocol with fantoccini.
//!
//! [`Browser::start`] returns `None` (and the test says it was skipped) when chromedriver
//! is not installed, unless `ICECONE_TEST_REQUIRE_BROWSER=1`, which `.ci/run` sets after
//! installing Chromium: there a missing browser fails the test. `ICECONE_TEST_CHROMEDRIVER`
//! and `ICECONE_TEST_CHROMIUM` name other binaries than `/usr/bin/chromedriver` and
//! `/usr/bin/chromium`. Chromium runs with a fresh profile and without any background
//! networking (the test machines have no way out). chromedriver runs in a process group of
//! its own, which is killed, Chromium with it, when the [`Browser`] is dropped.

use std::net::TcpListener;
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder};
use serde_json::{Value, json};

/// A headless Chromium session.
pub(crate) struct Browser {
    pub(crate) client: Client,
    /// chromedriver's base URL, for the commands fantoccini does not have (the log).
    driver_url: String,
    driver: Child,
    _profile: tempfile::TempDir,
}

fn binary(variable: &str, default: &str) -> PathBuf {
    std::env::var_os(variable)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default))
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session; `None` when there is no
    /// chromedriver and the browser is not required.
    #[allow(
        clippy::print_stderr,
        reason = "a skipped test says so where the test runner shows it"
    )]
    pub(crate) async fn start(test: &str) -> Option<Self> {
        let driver = binary("ICECONE_TEST_CHROMEDRIVER", "/usr/bin/chromedriver");
        let chromium = binary("ICECONE_TEST_CHROMIUM", "/usr/bin/chromium");
        let required = std::env::var("ICECONE_TEST_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
        if !driver.is_file() || !chromium.is_file() {
            assert!(
                !required,
                "{test}: ICECONE_TEST_REQUIRE_BROWSER=1 but {} or {} is missing",
                driver.display(),
                chromium.display()
            );
            eprintln!(
                "{test}: SKIPPED, no headless Chromium ({} and {}); install chromium and chromium-driver, or set ICECONE_TEST_REQUIRE_BROWSER=1 to fail instead",
                driver.display(),
                chromium.display()
            );
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let mut driver = Command::new(&driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("chromedriver starts");
        let profile = tempfile::tempdir().expect("a profile directory");
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".to_owned(),
            json!({
                "binary": chromium,
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--disable-dev-shm-usage",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }),
        );
        // The browser's console, read back by `console_entries`.
        capabilities.insert("goog:loggingPrefs".to_owned(), json!({ "browser": "ALL" }));
        let url = format!("http://127.0.0.1:{port}");
        let mut last_error = String::new();
        for _ in 0..100 {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(capabilities.clone())
                .connect(&url)
                .await
            {
                Ok(client) => {
                    return Some(Self {
                        client,
                        driver_url: url,
                        driver,
                        _profile: profile,
                    });
                }
                Err(error) => last_error = error.to_string(),
            }
            if let Ok(Some(status)) = driver.try_wait() {
                panic!("{test}: chromedriver exited ({status})");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        kill_group(&mut driver);
        panic!("{test}: no WebDriver session: {last_error}");
    }

    /// Runs `script` (the body of an async function whose last argument is the callback
    /// to call with the result) in the current page.
    pub(crate) async fn run(&self, script: &str, arguments: Vec<Value>) -> Value {
        self.client
            .execute_async(script, arguments)
            .await
            .unwrap_or_else(|error| panic!("the script failed: {error}"))
    }

    /// What the pages opened so far logged to the console (chromedriver's `browser` log:
    /// each entry's `level`, `source` and `message`), emptied by reading it.
    pub(crate) async fn console_entries(&self) -> Vec<Value> {
        let session = self
            .client
            .session_id()
            .await
            .expect("the session id")
            .expect("a session");
        let answer: Value = reqwest::Client::new()
            .post(format!("{}/session/{session}/se/log", self.driver_url))
            .json(&json!({ "type": "browser" }))
            .send()
            .await
            .expect("chromedriver answers")
            .json()
            .await
            .expect("the log as JSON");
        answer["value"]
            .as_array()
            .unwrap_or_else(|| panic!("no browser log: {answer}"))
            .clone()
    }

    /// Opens `url`.
    pub(crate) async fn open(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|error| panic!("cannot open {url}: {error}"));
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        kill_group(&mut self.driver);
    }
}

/// Kills chromedriver's process group (chromedriver and the Chromium it started).
fn kill_group(driver: &mut Child) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", driver.id())])
        .stderr(Stdio::null())
        .status();
    let _ = driver.wait();
}

/// A web server for the pages of a frontend origin: `GET /` answers an empty HTML page,
/// everything else `404`. Serves until the test ends.
pub(crate) async fn frontend() -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a frontend port");
    let origin = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                let page = request.starts_with(b"GET / ");
                let (status, body) = if page {
                    (
                        "200 OK",
                        "<!DOCTYPE html><html><head><title>frontend</title></head><body></body></html>",
                    )
                } else {
                    ("404 Not Found", "not found")
                };
                let answer = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(answer.as_bytes()).await;
            });
        }
    });
    origin
}

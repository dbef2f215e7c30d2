//! [`BinaryApp`]: the `icecone` binary run as a deployment runs it, for the tests that need
//! the real process (start-up, signals, SIGKILL half-way through a job, its logs).

use std::io::Read;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long the binary gets to become healthy, or to stop.
const PATIENCE: Duration = Duration::from_secs(30);

/// A command for the binary, run in `dir`, with no `ICECONE_*` or `OTEL_*` settings
/// inherited: for one-shot commands (`schema`, `migrate`, `keys`, `staff`, `audit`).
pub(crate) fn icecone(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_icecone"));
    command.current_dir(dir);
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy().into_owned();
        if name.starts_with("ICECONE_") || name.starts_with("OTEL_") {
            command.env_remove(name);
        }
    }
    command
}

/// A TCP port free at the moment of asking.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// A running `icecone` process listening on `127.0.0.1:port`. Its standard output and
/// error are read as it runs (so it never blocks on a full pipe) and can be looked at any
/// time; it is stopped with SIGTERM ([`BinaryApp::terminate`]) or SIGKILL
/// ([`BinaryApp::kill`]), and killed when dropped, so a failing test leaves no process
/// behind.
pub(crate) struct BinaryApp {
    child: Child,
    port: u16,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    readers: Vec<JoinHandle<()>>,
}

impl BinaryApp {
    /// Starts `icecone` in `dir` with `ICECONE_LISTEN=127.0.0.1:port` and whatever
    /// arguments and environment `configure` adds; does not wait for it.
    pub(crate) fn spawn(dir: &Path, port: u16, configure: impl FnOnce(&mut Command)) -> Self {
        let mut command = icecone(dir);
        command
            .env("ICECONE_LISTEN", format!("127.0.0.1:{port}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        configure(&mut command);
        let mut child = command.spawn().expect("icecone starts");
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let mut readers = Vec::new();
        if let Some(pipe) = child.stdout.take() {
            readers.push(drain(pipe, stdout.clone()));
        }
        if let Some(pipe) = child.stderr.take() {
            readers.push(drain(pipe, stderr.clone()));
        }
        Self {
            child,
            port,
            stdout,
            stderr,
            readers,
        }
    }

    /// [`BinaryApp::spawn`], then waits until `/healthz` answers over plain HTTP.
    pub(crate) async fn start(dir: &Path, port: u16, configure: impl FnOnce(&mut Command)) -> Self {
        let mut app = Self::spawn(dir, port, configure);
        app.wait_until_healthy().await;
        app
    }

    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// The process id, for the tests that watch it from outside.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The plain-HTTP URL of `path`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Signs `email` up with `password` over HTTP; the access token.
    pub(crate) async fn sign_up(&self, email: &str, password: &str) -> String {
        let signed_up: serde_json::Value = reqwest::Client::new()
            .post(self.url("/graphql"))
            .json(&serde_json::json!({
                "query": "mutation S($i: SignUpInput!) { signUp(input: $i) { accessToken } }",
                "variables": { "i": {
                    "email": email,
                    "password": password,
                    "acceptedPolicyVersion": icecone_core::identity::policy::CURRENT_POLICY_VERSION,
                } },
            }))
            .send()
            .await
            .expect("signUp")
            .json()
            .await
            .expect("JSON");
        signed_up["data"]["signUp"]["accessToken"]
            .as_str()
            .unwrap_or_else(|| panic!("{signed_up}"))
            .to_owned()
    }

    /// Waits until `/healthz` answers 200 over plain HTTP; panics, with the output, if the
    /// process exits first or takes longer than 30 s.
    pub(crate) async fn wait_until_healthy(&mut self) {
        let client = reqwest::Client::new();
        let started = Instant::now();
        loop {
            let health = client.get(self.url("/healthz")).send().await;
            if health.is_ok_and(|response| response.status() == 200) {
                return;
            }
            self.assert_running();
            assert!(
                started.elapsed() < PATIENCE,
                "icecone did not become healthy: {}",
                self.output()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Panics, with the output, if the process has exited.
    pub(crate) fn assert_running(&mut self) {
        if let Some(status) = self.child.try_wait().expect("wait") {
            self.join_readers();
            panic!("icecone exited early with {status}: {}", self.output());
        }
    }

    /// Whether the process is still running.
    pub(crate) fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("wait").is_none()
    }

    /// What it wrote so far: standard output, then standard error.
    pub(crate) fn output(&self) -> String {
        let read = |buffer: &Mutex<Vec<u8>>| {
            String::from_utf8_lossy(&buffer.lock().unwrap_or_else(PoisonError::into_inner))
                .into_owned()
        };
        read(&self.stdout) + &read(&self.stderr)
    }

    /// Sends SIGTERM without waiting.
    pub(crate) fn send_sigterm(&self) {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .expect("kill");
        assert!(status.success(), "SIGTERM could not be sent");
    }

    /// SIGTERM, then waits for the process to stop; its exit status.
    pub(crate) fn terminate(&mut self) -> ExitStatus {
        self.send_sigterm();
        self.wait()
    }

    /// Waits (at most 30 s) for the process to stop by itself; its exit status. Once it
    /// returns, [`BinaryApp::output`] holds everything the process wrote.
    pub(crate) fn wait(&mut self) -> ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                self.join_readers();
                return status;
            }
            assert!(started.elapsed() < PATIENCE, "icecone did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL: no shutdown, no clean-up. Returns once the process is reaped.
    pub(crate) fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
        self.join_readers();
    }

    fn join_readers(&mut self) {
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
    }
}

impl Drop for BinaryApp {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Reads `pipe` to its end into `buffer`, on a thread of its own.
fn drain(mut pipe: impl Read + Send + 'static, buffer: Arc<Mutex<Vec<u8>>>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut chunk = [0u8; 8192];
        loop {
            match pipe.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .extend_from_slice(&chunk[..n]),
            }
        }
    })
}

//! What the benches share: the machine's description, a minimal keep-alive HTTP/1.1 client
//! and its closed-loop load, CPU times from `/proc`, percentiles and number formatting,
//! signing an account up, and writing a bench's own section of `docs/performance.md`.
//!
//! Included by each bench with `mod support;`; every bench uses only part of it.

#![allow(dead_code, reason = "each bench uses only part of this module")]

use std::io;
use std::net::{SocketAddr, TcpListener as StdTcpListener};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use actix_web::{App, HttpServer, web};
use icecone_gateway::config::Settings;
use icecone_gateway::startup::Application;
use icecone_gateway::telemetry::Telemetry;
use serde_json::{Value as Json, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// `--bench` was given on the command line (as `cargo bench` does): a full run that writes
/// the document. Without it (`cargo test --benches`), a bench is a short smoke run.
pub(crate) fn full_run() -> bool {
    std::env::args().any(|arg| arg == "--bench")
}

/// How long and how hard saturation rounds load, and whether the document is written.
#[derive(Debug)]
pub(crate) struct RunOptions {
    /// `--bench` was given: full durations, and the document is written.
    pub(crate) full: bool,
    pub(crate) warm_up: Duration,
    pub(crate) measured: Duration,
    pub(crate) connections: usize,
    pub(crate) rounds: usize,
    /// `ICECONE_BENCH_MACHINE`: what the report should say about the machine.
    pub(crate) machine_note: Option<String>,
}

impl RunOptions {
    /// A full run: `warm_up`, then `ICECONE_BENCH_SECONDS` (default `seconds`) measured
    /// with `ICECONE_BENCH_CONNECTIONS` (default 32) connections, `ICECONE_BENCH_ROUNDS`
    /// (default 2) rounds. A smoke run:
    /// `smoke_warm_up` and `smoke_measured` with 4 connections, one round.
    pub(crate) fn from_env(
        warm_up: Duration,
        seconds: u64,
        smoke_warm_up: Duration,
        smoke_measured: Duration,
    ) -> Self {
        let machine_note = machine_note();
        if full_run() {
            Self {
                full: true,
                warm_up,
                measured: Duration::from_secs(positive_env("ICECONE_BENCH_SECONDS", seconds)),
                connections: usize::try_from(positive_env("ICECONE_BENCH_CONNECTIONS", 32))
                    .expect("ICECONE_BENCH_CONNECTIONS fits in memory"),
                rounds: usize::try_from(positive_env("ICECONE_BENCH_ROUNDS", 2))
                    .expect("ICECONE_BENCH_ROUNDS fits in memory"),
                machine_note,
            }
        } else {
            Self {
                full: false,
                warm_up: smoke_warm_up,
                measured: smoke_measured,
                connections: 4,
                rounds: 1,
                machine_note,
            }
        }
    }
}

/// `ICECONE_BENCH_MACHINE`: what the report should say about the machine.
pub(crate) fn machine_note() -> Option<String> {
    std::env::var("ICECONE_BENCH_MACHINE")
        .ok()
        .map(|note| note.trim().to_owned())
        .filter(|note| !note.is_empty())
}

/// The environment variable `name` as a positive whole number, or `default` when unset.
pub(crate) fn positive_env(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Err(_) => default,
        Ok(text) => match text.trim().parse::<u64>() {
            Ok(value) if value > 0 => value,
            _ => panic!("{name} must be a positive whole number, not {text:?}"),
        },
    }
}

/// What the report says about the machine.
#[derive(Debug)]
pub(crate) struct Machine {
    pub(crate) cpus: usize,
    pub(crate) model: String,
    pub(crate) memory_gib: f64,
    pub(crate) date: String,
    pub(crate) ticks_per_second: f64,
}

impl Machine {
    pub(crate) fn read() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let model = cpuinfo
            .lines()
            .find_map(|line| {
                let (key, value) = line.split_once(':')?;
                (key.trim() == "model name").then(|| value.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown CPU".to_owned());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory_kib = status_field(&meminfo, "MemTotal").unwrap_or(0);
        // USER_HZ, the unit of the CPU times in /proc; 100 on every common Linux.
        let ticks_per_second = Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|out| String::from_utf8(out.stdout).ok())
            .and_then(|text| text.trim().parse::<f64>().ok())
            .unwrap_or(100.0);
        Self {
            cpus: std::thread::available_parallelism().map_or(2, NonZeroUsize::get),
            model,
            memory_gib: kib_to_f64(memory_kib) / (1024.0 * 1024.0),
            date: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
            ticks_per_second,
        }
    }
}

impl RunOptions {
    /// The run's date and machine for a report: `machine` and `ICECONE_BENCH_MACHINE`.
    pub(crate) fn describe(&self, machine: &Machine) -> String {
        let note = self
            .machine_note
            .as_deref()
            .map(|note| format!(" {note}."))
            .unwrap_or_default();
        format!(
            "{}: {} CPUs ({}), {:.1} GiB of memory.{note}",
            machine.date, machine.cpus, machine.model, machine.memory_gib
        )
    }
}

/// A `Name:   123 kB` field of a `/proc` status-like file, as a number.
pub(crate) fn status_field(text: &str, name: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        if key.trim() != name {
            return None;
        }
        value.split_whitespace().next()?.parse().ok()
    })
}

// ---------------------------------------------------------------------------------------
// Servers in the bench process

/// The in-process gateway: its address, and what must live as long as it runs.
#[derive(Debug)]
pub(crate) struct Gateway {
    pub(crate) address: SocketAddr,
    _data_dir: tempfile::TempDir,
    _telemetry: Telemetry,
}

impl Gateway {
    /// Its data directory (the SQLite database and the development root key).
    pub(crate) fn data_dir(&self) -> &Path {
        self._data_dir.path()
    }

    /// The gateway's SQLite database, opened beside it.
    async fn database(&self) -> sea_orm::DatabaseConnection {
        let url = format!(
            "sqlite://{}?mode=rw",
            self.data_dir().join("icecone.db").display()
        );
        sea_orm::Database::connect(url)
            .await
            .expect("the gateway's database opens")
    }

    /// How many rows `table` holds now.
    pub(crate) async fn count_rows(&self, table: &str) -> i64 {
        use sea_orm::ConnectionTrait as _;
        let row = self
            .database()
            .await
            .query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Sqlite,
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .expect("the count runs")
            .expect("a count has a row");
        row.try_get("", "n").expect("a count is a number")
    }

    /// Marks the e-mail address of every account verified, as following the link sent at
    /// sign-up would: the quota of an unverified account is capped, which a bench that
    /// generates would run into.
    pub(crate) async fn verify_every_address(&self) {
        use sea_orm::ConnectionTrait as _;
        let db = self.database().await;
        db.execute_unprepared(
            "UPDATE accounts SET email_verified_at = created_at WHERE email_verified_at IS NULL",
        )
        .await
        .expect("the addresses are marked verified");
        // The gateway reads accounts through its read cache: wait out what it holds.
        tokio::time::sleep(icecone_store::read_cache::READ_CACHE_TTL).await;
    }
}

/// Starts the real gateway as the binary runs: `settings` with a temporary SQLite data
/// directory, any port on 127.0.0.1 and the log filter `warn`, the telemetry subscriber
/// installed, on its own actix `System` and thread.
pub(crate) fn start_gateway(settings: Settings) -> Gateway {
    let data_dir = tempfile::tempdir().expect("a temporary data directory for the gateway");
    let config = Settings {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        data_dir: data_dir.path().to_owned(),
        log: "warn".to_owned(),
        ..settings
    }
    .resolve()
    .expect("the bench's gateway settings are valid");
    let telemetry = icecone_gateway::telemetry::init(&config.log, config.env)
        .expect("the telemetry subscriber installs");
    let (address_tx, address_rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("gateway".to_owned())
        .spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let app = Application::build(config)
                    .await
                    .expect("the gateway starts");
                address_tx
                    .send(app.address())
                    .expect("the bench waits for the gateway's address");
                app.run_until_stopped().await.expect("the gateway serves");
            });
        })
        .expect("a thread for the gateway");
    Gateway {
        address: address_rx.recv().expect("the gateway reports its address"),
        _data_dir: data_dir,
        _telemetry: telemetry,
    }
}

/// The load generator's runtime: one thread.
pub(crate) fn load_generator() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime for the load generator")
}

/// Starts a plain actix-web server (`name` in messages and as its thread's name) with
/// `workers` workers on its own `System` and thread, each worker's app set up by
/// `configure`; returns its address.
pub(crate) fn start_server<F>(name: &'static str, workers: usize, configure: F) -> SocketAddr
where
    F: Fn(&mut web::ServiceConfig) + Clone + Send + 'static,
{
    let (address_tx, address_rx) = mpsc::channel();
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let listener = StdTcpListener::bind(("127.0.0.1", 0))
                    .unwrap_or_else(|error| panic!("the {name} cannot bind a port: {error}"));
                let address = listener
                    .local_addr()
                    .expect("a bound listener has an address");
                let server = HttpServer::new(move || App::new().configure(configure.clone()))
                    .workers(workers)
                    .listen(listener)
                    .unwrap_or_else(|error| panic!("the {name} cannot listen: {error}"))
                    .run();
                address_tx
                    .send(address)
                    .expect("the bench waits for the server's address");
                if let Err(error) = server.await {
                    panic!("the {name} stopped serving: {error}");
                }
            });
        })
        .unwrap_or_else(|error| panic!("no thread for the {name}: {error}"));
    address_rx
        .recv()
        .unwrap_or_else(|_| panic!("the {name} did not report its address"))
}

// ---------------------------------------------------------------------------------------
// Requests

/// A GraphQL `query` posted to `/graphql`, with a bearer token if given.
pub(crate) fn post_request(address: SocketAddr, query: &str, bearer: Option<&str>) -> Vec<u8> {
    post_json(address, &json!({ "query": query }), bearer)
}

/// A JSON body posted to `/graphql`, with a bearer token if given.
pub(crate) fn post_json(address: SocketAddr, body: &Json, bearer: Option<&str>) -> Vec<u8> {
    post_to(address, "/graphql", body, bearer)
}

/// A JSON body posted to `path`, with a bearer token if given.
pub(crate) fn post_to(
    address: SocketAddr,
    path: &str,
    body: &Json,
    bearer: Option<&str>,
) -> Vec<u8> {
    let body = body.to_string();
    let authorization = bearer
        .map(|token| format!("Authorization: Bearer {token}\r\n"))
        .unwrap_or_default();
    format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Accept: application/json\r\n{authorization}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Signs an account up through the gateway's `signUp` (consenting to `PERSONALIZATION`);
/// returns its access token (15 minutes, longer than a run) and its id.
pub(crate) async fn sign_up(address: SocketAddr, email: &str) -> (String, String) {
    sign_up_consenting(address, email, &["PERSONALIZATION"]).await
}

/// As [`sign_up`], consenting to `consents` (purposes as the schema names them).
pub(crate) async fn sign_up_consenting(
    address: SocketAddr,
    email: &str,
    consents: &[&str],
) -> (String, String) {
    let mut connection = Connection::open(address)
        .await
        .unwrap_or_else(|error| panic!("cannot connect to the gateway: {error}"));
    let sign_up = json!({
        "query": "mutation S($i: SignUpInput!) { signUp(input: $i) { accessToken } }",
        "variables": { "i": {
            "email": email,
            "password": "bench passphrase for the load run",
            "acceptedPolicyVersion": icecone_core::identity::policy::CURRENT_POLICY_VERSION,
            "consents": consents,
        } },
    });
    let (status, body) = connection
        .exchange(&post_json(address, &sign_up, None))
        .await
        .unwrap_or_else(|error| panic!("signUp did not answer: {error}"));
    let answer: Json = serde_json::from_slice(body).unwrap_or(Json::Null);
    let token = answer["data"]["signUp"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("signUp failed ({status}): {answer}"))
        .to_owned();
    let (status, body) = connection
        .exchange(&post_request(address, "{ me { id } }", Some(&token)))
        .await
        .unwrap_or_else(|error| panic!("me did not answer: {error}"));
    let answer: Json = serde_json::from_slice(body).unwrap_or(Json::Null);
    let account = answer["data"]["me"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("me failed ({status}): {answer}"))
        .to_owned();
    (token, account)
}

/// 200, valid JSON, no `errors`, and `data` as expected.
pub(crate) fn check_answer(status: u16, body: &[u8], expected_data: &Json) -> Result<(), String> {
    let json = graphql_data(status, body)?;
    if &json != expected_data {
        let text = String::from_utf8_lossy(body);
        return Err(format!("unexpected data, expected {expected_data}: {text}"));
    }
    Ok(())
}

/// The `data` of a 200 GraphQL answer without `errors`.
pub(crate) fn graphql_data(status: u16, body: &[u8]) -> Result<Json, String> {
    let text = || String::from_utf8_lossy(body);
    if status != 200 {
        return Err(format!("status {status}, body {}", text()));
    }
    let mut json: Json =
        serde_json::from_slice(body).map_err(|error| format!("not JSON ({error}): {}", text()))?;
    if json.get("errors").is_some() {
        return Err(format!("errors in the answer: {}", text()));
    }
    match json.get_mut("data").map(Json::take) {
        Some(data) if !data.is_null() => Ok(data),
        _ => Err(format!("no data in the answer: {}", text())),
    }
}

/// One keep-alive HTTP/1.1 connection that reads answers sized by `Content-Length`.
#[derive(Debug)]
pub(crate) struct Connection {
    stream: TcpStream,
    buffer: Vec<u8>,
    /// Bytes at the start of `buffer` that belong to the previous answer.
    consumed: usize,
}

impl Connection {
    pub(crate) async fn open(address: SocketAddr) -> io::Result<Self> {
        let stream = TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            buffer: Vec::with_capacity(4096),
            consumed: 0,
        })
    }

    /// Sends one request and reads its answer: the status and the body.
    pub(crate) async fn exchange(&mut self, request: &[u8]) -> io::Result<(u16, &[u8])> {
        self.buffer.drain(..self.consumed);
        self.consumed = 0;
        self.stream.write_all(request).await?;
        let head_end = loop {
            if let Some(at) = self.buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            self.fill().await?;
        };
        let head = std::str::from_utf8(&self.buffer[..head_end])
            .map_err(|_| invalid("the response head is not UTF-8"))?;
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|line| line.split(' ').nth(1))
            .and_then(|code| code.parse::<u16>().ok())
            .ok_or_else(|| invalid("no status line"))?;
        let mut length = None;
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            if name.eq_ignore_ascii_case("content-length") {
                length = Some(
                    value
                        .trim()
                        .parse::<usize>()
                        .map_err(|_| invalid("a malformed Content-Length"))?,
                );
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                return Err(invalid("chunked answers are not supported by this client"));
            }
        }
        let length = length.ok_or_else(|| invalid("an answer without Content-Length"))?;
        while self.buffer.len() < head_end + length {
            self.fill().await?;
        }
        self.consumed = head_end + length;
        Ok((status, &self.buffer[head_end..head_end + length]))
    }

    async fn fill(&mut self) -> io::Result<()> {
        if self.buffer.capacity() - self.buffer.len() < 1024 {
            self.buffer.reserve(4096);
        }
        let read = self.stream.read_buf(&mut self.buffer).await?;
        if read == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection",
            ));
        }
        Ok(())
    }
}

fn invalid(message: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

// ---------------------------------------------------------------------------------------
// Closed-loop load

/// Decides whether an answer (status and body) is correct; the error says what is wrong.
pub(crate) type Check = Arc<dyn Fn(u16, &[u8]) -> Result<(), String> + Send + Sync>;

/// A check that wants a 200 with exactly `expected` as the body.
pub(crate) fn same_body(expected: Vec<u8>) -> Check {
    Arc::new(move |status, body| {
        if status == 200 && body == expected.as_slice() {
            Ok(())
        } else {
            Err(format!(
                "status {status}, body {}",
                String::from_utf8_lossy(body)
            ))
        }
    })
}

/// What is sent, where, and how each answer is checked.
#[derive(Clone)]
pub(crate) struct Load {
    pub(crate) address: SocketAddr,
    pub(crate) request: Arc<[u8]>,
    pub(crate) check: Check,
}

impl std::fmt::Debug for Load {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Load")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

/// What one connection saw.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    /// Latencies of the requests sent and answered inside the measured window, in µs.
    pub(crate) latencies_us: Vec<u32>,
    pub(crate) failures: u64,
    pub(crate) first_failure: Option<String>,
}

impl Tally {
    pub(crate) fn fail(&mut self, what: String) {
        self.failures += 1;
        self.first_failure.get_or_insert(what);
    }
}

/// Sends one request on `connection` (opened if needed) and checks the answer; returns its
/// latency when it was correct. A failure is counted in `tally`.
async fn one_request(
    load: &Load,
    connection: &mut Option<Connection>,
    tally: &mut Tally,
) -> Option<(Instant, Instant)> {
    let open = match connection.as_mut() {
        Some(open) => open,
        None => match Connection::open(load.address).await {
            Ok(new) => connection.insert(new),
            Err(error) => {
                tally.fail(format!("connecting: {error}"));
                tokio::time::sleep(Duration::from_millis(10)).await;
                return None;
            }
        },
    };
    let sent = Instant::now();
    match open.exchange(&load.request).await {
        Ok((status, body)) => {
            let done = Instant::now();
            match (load.check)(status, body) {
                Ok(()) => Some((sent, done)),
                Err(problem) => {
                    tally.fail(problem);
                    None
                }
            }
        }
        Err(error) => {
            tally.fail(error.to_string());
            *connection = None;
            None
        }
    }
}

/// Keeps one connection busy until `window_end`, recording the requests that fall inside
/// the window.
pub(crate) async fn drive(load: Load, window_start: Instant, window_end: Instant) -> Tally {
    let mut tally = Tally::default();
    let mut connection: Option<Connection> = None;
    while Instant::now() < window_end {
        if let Some((sent, done)) = one_request(&load, &mut connection, &mut tally).await
            && sent >= window_start
            && done <= window_end
        {
            tally.latencies_us.push(micros(done - sent));
        }
    }
    tally
}

/// Sends `warm_up` and then `measured` requests one after another on one connection,
/// recording the latencies of the measured ones.
pub(crate) async fn drive_sequential(load: &Load, warm_up: usize, measured: usize) -> Tally {
    let mut tally = Tally::default();
    let mut connection: Option<Connection> = None;
    for _ in 0..warm_up {
        one_request(load, &mut connection, &mut tally).await;
    }
    tally.latencies_us.reserve(measured);
    for _ in 0..measured {
        if let Some((sent, done)) = one_request(load, &mut connection, &mut tally).await {
            tally.latencies_us.push(micros(done - sent));
        }
    }
    tally
}

pub(crate) fn micros(duration: Duration) -> u32 {
    u32::try_from(duration.as_micros()).unwrap_or(u32::MAX)
}

/// A measured window of closed-loop load.
#[derive(Debug)]
pub(crate) struct Window {
    pub(crate) requests: usize,
    pub(crate) seconds: f64,
    pub(crate) p50_us: u32,
    pub(crate) p90_us: u32,
    pub(crate) p99_us: u32,
    pub(crate) failures: u64,
    pub(crate) first_failure: Option<String>,
    /// CPU seconds during the window: the whole process, the client thread, the machine.
    pub(crate) process_cpu: f64,
    pub(crate) client_cpu: f64,
    pub(crate) machine_cpu: f64,
}

impl Window {
    /// Latencies, failures and CPU times measured from `before` to now over `seconds`.
    pub(crate) fn from_tallies(
        tallies: Vec<Tally>,
        seconds: f64,
        before: CpuTimes,
        after: CpuTimes,
        ticks_per_second: f64,
    ) -> Self {
        let mut latencies = Vec::new();
        let mut failures = 0;
        let mut first_failure = None;
        for tally in tallies {
            latencies.extend_from_slice(&tally.latencies_us);
            failures += tally.failures;
            if first_failure.is_none() {
                first_failure = tally.first_failure;
            }
        }
        latencies.sort_unstable();
        let cpu = |from: u64, to: u64| ticks_to_f64(to.saturating_sub(from)) / ticks_per_second;
        Self {
            requests: latencies.len(),
            seconds,
            p50_us: percentile(&latencies, 0.50),
            p90_us: percentile(&latencies, 0.90),
            p99_us: percentile(&latencies, 0.99),
            failures,
            first_failure,
            process_cpu: cpu(before.process, after.process),
            client_cpu: cpu(before.client, after.client),
            machine_cpu: cpu(before.machine_busy, after.machine_busy),
        }
    }

    pub(crate) fn requests_per_second(&self) -> f64 {
        count_to_f64(self.requests) / self.seconds
    }

    /// CPU time of the server per request, in µs (the process minus the load generator).
    pub(crate) fn server_cpu_per_request_us(&self) -> f64 {
        (self.process_cpu - self.client_cpu) / count_to_f64(self.requests.max(1)) * 1e6
    }

    /// CPUs used on average by the server (the process minus the load generator).
    pub(crate) fn server_cpus(&self) -> f64 {
        (self.process_cpu - self.client_cpu) / self.seconds
    }

    /// CPUs used on average by the load generator.
    pub(crate) fn client_cpus(&self) -> f64 {
        self.client_cpu / self.seconds
    }

    /// CPUs used on average by other processes on the machine.
    pub(crate) fn others_cpus(&self) -> f64 {
        ((self.machine_cpu - self.process_cpu) / self.seconds).max(0.0)
    }
}

/// `connections` connections keep `load` busy for `warm_up`, then for the measured window.
pub(crate) async fn saturate(
    load: &Load,
    connections: usize,
    warm_up: Duration,
    measured: Duration,
    ticks_per_second: f64,
) -> Window {
    let window_start = Instant::now() + warm_up;
    let window_end = window_start + measured;
    let tasks: Vec<_> = (0..connections)
        .map(|_| tokio::spawn(drive(load.clone(), window_start, window_end)))
        .collect();
    tokio::time::sleep_until(window_start.into()).await;
    let before = CpuTimes::now();
    tokio::time::sleep_until(window_end.into()).await;
    let after = CpuTimes::now();
    let mut tallies = Vec::with_capacity(tasks.len());
    for task in tasks {
        tallies.push(task.await.expect("a connection task panicked"));
    }
    Window::from_tallies(
        tallies,
        measured.as_secs_f64(),
        before,
        after,
        ticks_per_second,
    )
}

/// `warm_up` requests, then `measured` requests timed, one after another on one connection.
pub(crate) async fn sequential(
    load: &Load,
    warm_up: usize,
    measured: usize,
    ticks_per_second: f64,
) -> Window {
    let mut tally = drive_sequential(load, warm_up, 0).await;
    let started = Instant::now();
    let before = CpuTimes::now();
    let timed = drive_sequential(load, 0, measured).await;
    let after = CpuTimes::now();
    let seconds = started.elapsed().as_secs_f64();
    tally.latencies_us = timed.latencies_us;
    tally.failures += timed.failures;
    if tally.first_failure.is_none() {
        tally.first_failure = timed.first_failure;
    }
    Window::from_tallies(vec![tally], seconds, before, after, ticks_per_second)
}

// ---------------------------------------------------------------------------------------
// CPU times from /proc

/// CPU time used so far, in clock ticks.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CpuTimes {
    pub(crate) process: u64,
    /// The calling thread: the load generator's.
    pub(crate) client: u64,
    pub(crate) machine_busy: u64,
}

impl CpuTimes {
    pub(crate) fn now() -> Self {
        Self {
            process: task_ticks("/proc/self/stat"),
            client: task_ticks("/proc/thread-self/stat"),
            machine_busy: machine_busy_ticks(),
        }
    }
}

/// utime + stime of a `/proc/.../stat` file.
fn task_ticks(path: &str) -> u64 {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    // The fields after the command name, which is in parentheses and may hold spaces;
    // utime and stime are fields 14 and 15, that is 11 and 12 after the name.
    let fields: Vec<&str> = text
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let field = |index: usize| {
        fields
            .get(index)
            .and_then(|value| value.parse::<u64>().ok())
            .unwrap_or(0)
    };
    field(11) + field(12)
}

/// All CPUs' time in user, nice, system, irq, softirq and steal (not idle or iowait).
fn machine_busy_ticks() -> u64 {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = text.lines().find(|line| line.starts_with("cpu ")) else {
        return 0;
    };
    let values: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(|value| value.parse().unwrap_or(0))
        .collect();
    values
        .iter()
        .enumerate()
        .filter(|(index, _)| *index != 3 && *index != 4)
        .map(|(_, value)| value)
        .sum()
}

/// Nearest-rank percentile of sorted values; 0 when there are none.
pub(crate) fn percentile(sorted: &[u32], fraction: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (fraction * count_to_f64(sorted.len())).ceil();
    let index = sorted
        .len()
        .saturating_sub(1)
        .min(f64_to_index(rank).saturating_sub(1));
    sorted[index]
}

// ---------------------------------------------------------------------------------------
// Number formatting

pub(crate) fn ms(micros: u32) -> String {
    format!("{:.2} ms", f64::from(micros) / 1000.0)
}

pub(crate) fn bytes_to_mb(bytes: u64) -> f64 {
    kib_to_f64(bytes) / 1e6
}

#[allow(
    clippy::cast_precision_loss,
    reason = "memory sizes and tick counts are far below 2^52"
)]
pub(crate) fn kib_to_f64(value: u64) -> f64 {
    value as f64
}

#[allow(clippy::cast_precision_loss, reason = "tick counts are far below 2^52")]
pub(crate) fn ticks_to_f64(ticks: u64) -> f64 {
    ticks as f64
}

#[allow(
    clippy::cast_precision_loss,
    reason = "request counts are far below 2^52"
)]
pub(crate) fn count_to_f64(count: usize) -> f64 {
    count as f64
}

#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "a rank between 0 and the number of samples"
)]
fn f64_to_index(value: f64) -> usize {
    value.max(0.0) as usize
}

// ---------------------------------------------------------------------------------------
// docs/performance.md

/// Where the benches write their reports.
pub(crate) fn performance_doc() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/performance.md")
}

/// A bench's own part of `docs/performance.md`, between its two marker comments.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Section {
    pub(crate) start: &'static str,
    pub(crate) end: &'static str,
}

impl Section {
    /// `document` with this section replaced by `section`; other benches' sections are
    /// left as they are. Without markers, the section is put first, or last when
    /// `append` is set.
    pub(crate) fn replace_in(&self, document: &str, section: &str, append: bool) -> String {
        let (start_marker, end_marker) = (self.start, self.end);
        let block = format!("{start_marker}\n{}\n{end_marker}", section.trim_end());
        match (document.find(start_marker), document.find(end_marker)) {
            (Some(start), Some(end)) if start < end => {
                format!(
                    "{}{block}{}",
                    &document[..start],
                    &document[end + end_marker.len()..]
                )
            }
            _ if document.trim().is_empty() => format!("{block}\n"),
            _ if append => format!("{}\n\n{block}\n", document.trim_end()),
            _ => format!("{block}\n\n{document}"),
        }
    }

    /// Prints `section`, and on a full run (`write`) puts it into `docs/performance.md`.
    pub(crate) fn publish(&self, section: &str, write: bool, append: bool) {
        #[allow(
            clippy::print_stdout,
            clippy::print_stderr,
            reason = "a benchmark reports on the console"
        )]
        {
            println!("{section}");
            if write {
                self.write(section, append);
            } else {
                eprintln!(
                    "smoke run (started without --bench): docs/performance.md left unchanged"
                );
            }
        }
    }

    /// Rewrites this section of `docs/performance.md` with `section`.
    pub(crate) fn write(&self, section: &str, append: bool) {
        let path = performance_doc();
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("the docs directory can be created");
        }
        let existing = std::fs::read_to_string(&path).unwrap_or_default();
        std::fs::write(&path, self.replace_in(&existing, section, append))
            .expect("docs/performance.md can be written");
        #[allow(clippy::print_stderr, reason = "a benchmark reports on the console")]
        {
            eprintln!("wrote {}", path.display());
        }
    }
}

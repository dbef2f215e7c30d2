//! Load benchmark: the gateway answering `{ providers { id } }` against a bare actix-web +
//! async-graphql server answering `{ __typename }`, measured in the same run, and the idle
//! resident memory of the `icecone` binary; in the same run, the signed-in
//! `{ me { id email } }` in full, by its hash (a trusted document registered through
//! `trusted_documents_file`) and as a document the manifest does not hold, which measures
//! what caching registered documents (parsed at start-up, validated once) gains. Rewrites
//! `docs/performance.md`.
//!
//! Run it with `cargo bench -p icecone-gateway --bench load`. `ICECONE_BENCH_SECONDS`
//! (default 10) and `ICECONE_BENCH_CONNECTIONS` (default 32) change the measured duration
//! of each round and the number of keep-alive connections; `ICECONE_BENCH_MACHINE`, if set,
//! describes the machine in the document. Started without `--bench` (as
//! `cargo test --benches` does) it is a short smoke run that checks the answers and leaves
//! the document alone.
//!
//! How it measures:
//!
//! - Both servers run in this process, each on its own actix `System` in its own thread,
//!   with actix-web's default worker count (one per CPU). The gateway has no worker
//!   setting, so the bare server is given the same count explicitly.
//! - The in-process gateway runs as the binary does: a temporary SQLite data directory and
//!   the telemetry subscriber installed with the log filter `warn`.
//! - The load generator is a minimal HTTP/1.1 keep-alive client on one thread (a tokio
//!   current-thread runtime), closed loop like wrk: each connection sends its next request
//!   when the previous answer is complete. It is written here rather than taken from
//!   reqwest so that the client, which shares the CPUs with the server, costs little.
//! - Every answer must be 200 with exactly the body of a first answer whose `data` was
//!   checked; any other answer or connection error fails the bench.
//! - Rounds alternate bare, gateway, bare, gateway (warm-up, then the measured window) and
//!   each server's best round (highest requests/s) is reported: on a shared machine the
//!   best round is the least disturbed one. Every round is listed as well.
//! - CPU time of the process, of the client thread and of the whole machine is read from
//!   `/proc` around each window. Process minus client is the server's CPU time per request,
//!   which is steadier than throughput when other processes compete for the CPUs.
//!
//! Never used for assertions in tests: timings only go to the console and the document.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark reports on the console"
)]

mod support;

use std::net::{SocketAddr, TcpListener as StdTcpListener};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use actix_web::web;
use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema};
use async_graphql_actix_web::{GraphQLRequest, GraphQLResponse};
use icecone_core::trusted_documents::DocumentHash;
use icecone_gateway::config::Settings;
use serde_json::{Value as Json, json};
use support::{
    Connection, Load, Machine, RunOptions, Section, Window, bytes_to_mb, check_answer, kib_to_f64,
    load_generator, ms, post_json, post_request, same_body, saturate, sign_up, start_gateway,
    start_server, status_field,
};

/// What the gateway is asked, and the `data` it must answer with.
const GATEWAY_QUERY: &str = "{ providers { id } }";
/// What the bare server is asked.
const BARE_QUERY: &str = "{ __typename }";
/// The gateway's throughput must be at least this share of the bare server's.
const THROUGHPUT_TARGET: f64 = 0.70;
/// The authenticated query of issue #4: token verification, the session check, an account
/// read and a decryption.
const ME_QUERY: &str = "{ me { id email } }";
/// Its throughput must be at least this share of the bare server's.
const ME_TARGET: f64 = 0.40;
/// The same selection as [`ME_QUERY`] in a document the manifest does not hold: parsed
/// once and cached by text, validated in full once (it has no variables).
const ME_UNREGISTERED_QUERY: &str = "query Unregistered { me { id email } }";
/// The providers `{ providers { id } }` lists, in its order: every adapter the gateway is
/// built with (`docs/providers.md`).
const PROVIDERS: [&str; 7] = [
    "local",
    "openai",
    "stability",
    "luma",
    "runway",
    "heygen",
    "bedrock",
];
/// The consent-gated field of issue #5, against the same account's `{ me { id } }`.
const PERSONALIZATION_QUERY: &str =
    "{ me { id personalization { favouriteKinds suggestedPrompts preferredProviders } } }";
/// `{ me { id } }`: the baseline of the consent check.
const ME_ID_QUERY: &str = "{ me { id } }";
/// The consent check may cost at most this share of `{ me { id } }`'s throughput.
const CONSENT_TARGET: f64 = 0.10;
/// The address of the account the bench signs up.
const BENCH_EMAIL: &str = "bench@example.com";
/// The idle resident memory must stay under this many bytes (40 MB).
const IDLE_RSS_TARGET_BYTES: u64 = 40_000_000;
/// Requests sent to the binary before it is left idle.
const WARM_REQUESTS: usize = 20;

fn main() -> ExitCode {
    let options = Options::from_env();
    let machine = Machine::read();

    // The first-party app's manifest registers `{ me { id email } }`.
    let manifest_dir = tempfile::tempdir().expect("a temporary directory for the manifest");
    let manifest = manifest_dir.path().join("persisted-documents.json");
    std::fs::write(
        &manifest,
        json!({ DocumentHash::of(ME_QUERY).to_string(): ME_QUERY }).to_string(),
    )
    .expect("the manifest is written");
    let gateway_server = start_gateway(Settings {
        trusted_documents_file: Some(manifest),
        ..Settings::default()
    });
    let gateway = gateway_server.address;
    let bare = start_bare(machine.cpus);

    let outcome = load_generator().block_on(async {
        let (token, account) = sign_up(gateway, BENCH_EMAIL).await;
        let mut targets = Vec::new();
        for server in Server::ALL {
            let address = match server {
                Server::Bare => bare,
                Server::Gateway
                | Server::GatewayTypename
                | Server::GatewayMe
                | Server::GatewayMePersisted
                | Server::GatewayMeUnregistered
                | Server::GatewayMeId
                | Server::GatewayPersonalization => gateway,
            };
            let authorization = server.signed_in().then_some(token.as_str());
            let expected = server.expected_data(&account);
            targets.push(Target::prepare(server, address, authorization, &expected).await);
        }
        let mut rounds = Vec::new();
        for round in 1..=options.run.rounds {
            for target in &targets {
                let measured = run_round(target, round, &options, machine.ticks_per_second).await;
                eprintln!("{}", measured.summary());
                rounds.push(measured);
            }
        }
        let memory = idle_memory(&options).await;
        (rounds, memory)
    });
    let (rounds, memory) = outcome;
    let memory = match memory {
        Ok(memory) => memory,
        Err(error) => {
            eprintln!("idle memory: {error}");
            return ExitCode::FAILURE;
        }
    };

    let failed: Vec<&Round> = rounds.iter().filter(|r| r.failures > 0).collect();
    if !failed.is_empty() {
        for round in failed {
            eprintln!(
                "{} round {}: {} failed requests; first: {}",
                round.server.label(),
                round.number,
                round.failures,
                round.first_failure.as_deref().unwrap_or("?")
            );
        }
        eprintln!("the bench failed: docs/performance.md is left unchanged");
        return ExitCode::FAILURE;
    }

    let report = Report {
        options: &options,
        machine: &machine,
        rounds: &rounds,
        memory: &memory,
    };
    SECTION.publish(&report.markdown(), options.run.full, false);
    ExitCode::SUCCESS
}

/// How long and how hard to load.
#[derive(Debug)]
struct Options {
    run: RunOptions,
    /// How long the binary is left idle before its memory is read.
    idle: Duration,
}

impl Options {
    fn from_env() -> Self {
        let run = RunOptions::from_env(
            Duration::from_secs(2),
            10,
            Duration::from_millis(200),
            Duration::from_millis(500),
        );
        let idle = if run.full {
            Duration::from_secs(2)
        } else {
            Duration::ZERO
        };
        Self { run, idle }
    }
}

// ---------------------------------------------------------------------------------------
// The two servers

/// The bare server's query root, named `Query` as usual: a schema needs one field; the
/// bench asks `__typename`.
struct BareQuery;

#[Object(name = "Query")]
impl BareQuery {
    async fn ok(&self) -> bool {
        true
    }
}

type BareSchema = Schema<BareQuery, EmptyMutation, EmptySubscription>;

async fn bare_graphql(schema: web::Data<BareSchema>, request: GraphQLRequest) -> GraphQLResponse {
    schema.execute(request.into_inner()).await.into()
}

/// Starts the bare server with `workers` workers on its own `System` and thread.
fn start_bare(workers: usize) -> SocketAddr {
    let schema = web::Data::new(Schema::new(BareQuery, EmptyMutation, EmptySubscription));
    start_server("bare server", workers, move |app| {
        app.app_data(schema.clone())
            .route("/graphql", web::post().to(bare_graphql));
    })
}

// ---------------------------------------------------------------------------------------
// The load generator

/// What is loaded, in the order of each round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Server {
    /// The bare actix-web + async-graphql server with `{ __typename }`.
    Bare,
    /// The gateway with `{ providers { id } }`: the pair the throughput target is about.
    Gateway,
    /// The gateway with the bare server's query, to tell what the query costs from what the
    /// gateway's request path costs. Not part of the target.
    GatewayTypename,
    /// The gateway with `{ me { id email } }` and a bearer token: issue #4's target.
    GatewayMe,
    /// The same, the document named by its hash (`extensions.persistedQuery`).
    GatewayMePersisted,
    /// The same selection in a document the manifest does not hold.
    GatewayMeUnregistered,
    /// The gateway with `{ me { id } }`: the baseline of the consent check.
    GatewayMeId,
    /// The gateway with the consent-gated `personalization` (consent given): issue #5's
    /// target, against `GatewayMeId`.
    GatewayPersonalization,
}

impl Server {
    const ALL: [Self; 8] = [
        Self::Bare,
        Self::Gateway,
        Self::GatewayTypename,
        Self::GatewayMe,
        Self::GatewayMePersisted,
        Self::GatewayMeUnregistered,
        Self::GatewayMeId,
        Self::GatewayPersonalization,
    ];

    fn signed_in(self) -> bool {
        matches!(
            self,
            Self::GatewayMe
                | Self::GatewayMePersisted
                | Self::GatewayMeUnregistered
                | Self::GatewayMeId
                | Self::GatewayPersonalization
        )
    }

    fn label(self) -> &'static str {
        match self {
            Self::Bare => "bare actix-web + async-graphql",
            Self::Gateway => "IceCone gateway",
            Self::GatewayTypename => "IceCone gateway (same query as bare)",
            Self::GatewayMe => "IceCone gateway, signed in",
            Self::GatewayMePersisted => "IceCone gateway, signed in, by hash",
            Self::GatewayMeUnregistered => "IceCone gateway, signed in, unregistered document",
            Self::GatewayMeId => "IceCone gateway, signed in, id only",
            Self::GatewayPersonalization => "IceCone gateway, signed in, consent-gated field",
        }
    }

    fn query(self) -> &'static str {
        match self {
            Self::Bare | Self::GatewayTypename => BARE_QUERY,
            Self::Gateway => GATEWAY_QUERY,
            Self::GatewayMe | Self::GatewayMePersisted => ME_QUERY,
            Self::GatewayMeUnregistered => ME_UNREGISTERED_QUERY,
            Self::GatewayMeId => ME_ID_QUERY,
            Self::GatewayPersonalization => PERSONALIZATION_QUERY,
        }
    }

    /// The body it posts: the query, or for [`Server::GatewayMePersisted`] only its hash.
    fn body(self) -> Json {
        match self {
            Self::GatewayMePersisted => json!({ "extensions": { "persistedQuery": {
                "version": 1, "sha256Hash": DocumentHash::of(ME_QUERY).to_string(),
            } } }),
            other => json!({ "query": other.query() }),
        }
    }

    /// The `data` of a correct answer; `account` is the signed-up account's id.
    fn expected_data(self, account: &str) -> Json {
        match self {
            Self::Bare | Self::GatewayTypename => json!({ "__typename": "Query" }),
            Self::Gateway => json!({ "providers": PROVIDERS
                .iter()
                .map(|id| json!({ "id": id }))
                .collect::<Vec<_>>() }),
            Self::GatewayMe | Self::GatewayMePersisted | Self::GatewayMeUnregistered => {
                json!({ "me": { "id": account, "email": BENCH_EMAIL } })
            }
            Self::GatewayMeId => json!({ "me": { "id": account } }),
            Self::GatewayPersonalization => json!({ "me": { "id": account, "personalization": {
                "favouriteKinds": [], "suggestedPrompts": [], "preferredProviders": [],
            } } }),
        }
    }
}

/// A server under load: what it is, and the load sent to it (with the answer it must give).
#[derive(Debug)]
struct Target {
    server: Server,
    load: Load,
}

impl Target {
    /// Sends the query once, checks the `data` of the answer and keeps its body as the one
    /// every answer under load must equal.
    async fn prepare(
        server: Server,
        address: SocketAddr,
        authorization: Option<&str>,
        expected: &Json,
    ) -> Self {
        let (label, query) = (server.label(), server.query());
        let request = post_json(address, &server.body(), authorization);
        let mut connection = Connection::open(address)
            .await
            .unwrap_or_else(|error| panic!("cannot connect to the {label}: {error}"));
        let (status, body) = connection
            .exchange(&request)
            .await
            .unwrap_or_else(|error| panic!("the {label} did not answer: {error}"));
        if let Err(problem) = check_answer(status, body, expected) {
            panic!("the {label} answered `{query}` wrongly: {problem}");
        }
        let check = same_body(body.to_vec());
        Self {
            server,
            load: Load {
                address,
                request: request.into(),
                check,
            },
        }
    }
}

fn get_request(address: SocketAddr, path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: {address}\r\n\r\n").into_bytes()
}

/// One measured round against one target.
#[derive(Debug)]
struct Round {
    server: Server,
    number: usize,
    window: Window,
}

/// A round is read as its measured window: `round.requests_per_second()`, `round.p50_us`.
impl std::ops::Deref for Round {
    type Target = Window;

    fn deref(&self) -> &Window {
        &self.window
    }
}

impl Round {
    fn summary(&self) -> String {
        format!(
            "{} round {}: {:.0} requests/s, p50 {}, p99 {}, server {:.2} CPUs, client {:.2} CPUs, \
             other processes {:.2} CPUs, {} failures",
            self.server.label(),
            self.number,
            self.requests_per_second(),
            ms(self.p50_us),
            ms(self.p99_us),
            self.server_cpus(),
            self.client_cpus(),
            self.others_cpus(),
            self.failures
        )
    }
}

async fn run_round(
    target: &Target,
    number: usize,
    options: &Options,
    ticks_per_second: f64,
) -> Round {
    Round {
        server: target.server,
        number,
        window: saturate(
            &target.load,
            options.run.connections,
            options.run.warm_up,
            options.run.measured,
            ticks_per_second,
        )
        .await,
    }
}

// ---------------------------------------------------------------------------------------
// Idle memory of the binary

/// The `icecone` process after start-up, a few requests and a pause.
#[derive(Debug)]
struct IdleMemory {
    rss_kib: u64,
    peak_kib: u64,
    threads: u64,
}

async fn idle_memory(options: &Options) -> Result<IdleMemory, String> {
    let dir = tempfile::tempdir().map_err(|error| format!("no temporary directory: {error}"))?;
    let address = free_local_address()?;
    let log_path = dir.path().join("icecone.log");
    let log = std::fs::File::create(&log_path).map_err(|error| format!("log file: {error}"))?;
    let log_copy = log
        .try_clone()
        .map_err(|error| format!("log file: {error}"))?;
    let mut command = Command::new(env!("CARGO_BIN_EXE_icecone"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("ICECONE_") {
            command.env_remove(name);
        }
    }
    let mut child = command
        .arg("serve")
        .current_dir(dir.path())
        .env("ICECONE_DATA_DIR", dir.path().join("data"))
        .env("ICECONE_LISTEN", address.to_string())
        .env("ICECONE_LOG", "warn")
        .env_remove(icecone_gateway::telemetry::OTLP_ENDPOINT_VAR)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_copy)
        .spawn()
        .map_err(|error| format!("cannot start icecone: {error}"))?;
    let measured = measure_idle(&mut child, address, options).await;
    let stopped = stop(&mut child);
    let output = std::fs::read_to_string(&log_path).unwrap_or_default();
    match (measured, stopped) {
        (Ok(memory), Ok(())) => Ok(memory),
        (Err(error), _) | (Ok(_), Err(error)) => Err(format!("{error}; icecone wrote:\n{output}")),
    }
}

/// A port that was free a moment ago (the binary cannot report the port it got for `:0`).
fn free_local_address() -> Result<SocketAddr, String> {
    let listener = StdTcpListener::bind(("127.0.0.1", 0))
        .map_err(|error| format!("cannot find a free port: {error}"))?;
    listener
        .local_addr()
        .map_err(|error| format!("cannot find a free port: {error}"))
}

async fn measure_idle(
    child: &mut Child,
    address: SocketAddr,
    options: &Options,
) -> Result<IdleMemory, String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let health = get_request(address, "/healthz");
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("icecone exited during start-up ({status})"));
        }
        if let Ok(mut connection) = Connection::open(address).await
            && let Ok((200, _)) = connection.exchange(&health).await
        {
            break;
        }
        if Instant::now() > deadline {
            return Err("icecone did not answer /healthz within 60 s".to_owned());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let expected = Server::Gateway.expected_data("");
    let request = post_request(address, GATEWAY_QUERY, None);
    let mut connection = Connection::open(address)
        .await
        .map_err(|error| format!("cannot connect to icecone: {error}"))?;
    for _ in 0..WARM_REQUESTS {
        let (status, body) = connection
            .exchange(&request)
            .await
            .map_err(|error| format!("icecone did not answer: {error}"))?;
        check_answer(status, body, &expected)?;
    }
    drop(connection);
    tokio::time::sleep(options.idle).await;
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id()))
        .map_err(|error| format!("cannot read icecone's /proc status: {error}"))?;
    let field = |name: &str| {
        status_field(&status, name).ok_or_else(|| format!("no {name} in icecone's /proc status"))
    };
    Ok(IdleMemory {
        rss_kib: field("VmRSS")?,
        peak_kib: field("VmHWM")?,
        threads: field("Threads")?,
    })
}

/// Sends SIGTERM and waits for a clean exit.
fn stop(child: &mut Child) -> Result<(), String> {
    let signalled = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .map_err(|error| format!("cannot run kill: {error}"))?;
    if !signalled.success() {
        return Err(format!("kill -TERM failed ({signalled})"));
    }
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(format!("icecone stopped with {status}")),
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Ok(None) => {
                // Best effort: the process is reported as not stopping either way.
                let _ = child.kill();
                let _ = child.wait();
                return Err("icecone did not stop within 40 s of SIGTERM".to_owned());
            }
            Err(error) => return Err(format!("cannot wait for icecone: {error}")),
        }
    }
}

// ---------------------------------------------------------------------------------------
// The report

#[derive(Debug)]
struct Report<'a> {
    options: &'a Options,
    machine: &'a Machine,
    rounds: &'a [Round],
    memory: &'a IdleMemory,
}

impl Report<'_> {
    /// The best round (highest requests/s) of one server.
    fn best(&self, server: Server) -> &Round {
        self.rounds
            .iter()
            .filter(|round| round.server == server)
            .max_by(|a, b| a.requests_per_second().total_cmp(&b.requests_per_second()))
            .expect("every server has at least one round")
    }

    /// The largest difference between two rounds of one server, as a share of the faster.
    fn largest_spread(&self) -> f64 {
        Server::ALL
            .iter()
            .map(|&server| {
                let rates = self
                    .rounds
                    .iter()
                    .filter(|round| round.server == server)
                    .map(|round| round.requests_per_second());
                let (low, high) = rates.fold((f64::INFINITY, 0.0_f64), |(low, high), rate| {
                    (low.min(rate), high.max(rate))
                });
                if high > 0.0 { 1.0 - low / high } else { 0.0 }
            })
            .fold(0.0_f64, f64::max)
    }

    fn markdown(&self) -> String {
        let bare = self.best(Server::Bare);
        let gateway = self.best(Server::Gateway);
        let same_query = self.best(Server::GatewayTypename);
        let me = self.best(Server::GatewayMe);
        let me_hash = self.best(Server::GatewayMePersisted);
        let me_unregistered = self.best(Server::GatewayMeUnregistered);
        let me_id = self.best(Server::GatewayMeId);
        let gated = self.best(Server::GatewayPersonalization);
        let consent_cost = 1.0 - gated.requests_per_second() / me_id.requests_per_second();
        let ratio = gateway.requests_per_second() / bare.requests_per_second();
        let me_ratio = me.requests_per_second() / bare.requests_per_second();
        let cpu_ratio = bare.server_cpu_per_request_us() / gateway.server_cpu_per_request_us();
        let rss_bytes = self.memory.rss_kib * 1024;
        let verdict = |met: bool| if met { "met" } else { "**not met**" };
        let others_max = self
            .rounds
            .iter()
            .map(|round| round.others_cpus())
            .fold(0.0_f64, f64::max);
        let client_max = self
            .rounds
            .iter()
            .map(|round| round.client_cpus())
            .fold(0.0_f64, f64::max);
        let machine = self.machine;
        let options = self.options;
        // Outside load that differs between the two rounds compared skews the ratio.
        let skew = (gateway.others_cpus() - bare.others_cpus()).abs() >= 0.25;
        let caution = format!(
            "**Caution**: the two rounds compared ran under different load from other \
             processes ({:.2} CPUs during the bare server's, {:.2} during the gateway's), so \
             this run's throughput ratio is skewed; the server CPU time per request is less \
             sensitive to other processes.",
            bare.others_cpus(),
            gateway.others_cpus()
        );

        let mut md = String::new();
        let mut line = |text: &str| {
            md.push_str(text);
            md.push('\n');
        };
        line(
            "## Gateway request path, signed-in requests, the consent check and idle memory \
             (issues #2, #4 and #5)",
        );
        line("");
        line(
            "<!-- Written by `cargo bench -p icecone-gateway --bench load` \
             (crates/icecone-gateway/benches/load.rs): change the bench, not this section. -->",
        );
        line("");
        line(
            "What the gateway's own request path costs, measured against the frameworks it is \
             built on. In one run, the load benchmark sends the same load to:",
        );
        line("");
        line(&format!(
            "- **the gateway** answering the public query `{GATEWAY_QUERY}` through everything \
             a request goes through (request-id middleware and span, content negotiation, the \
             body size limit, the request limits and error codes of `graphql::Executor`, the \
             response body), started in process with `Application::build`, a temporary \
             SQLite data directory and the log filter `warn`;"
        ));
        line(&format!(
            "- **a bare server**: actix-web and async-graphql with `async-graphql-actix-web`'s \
             `GraphQLRequest`/`GraphQLResponse` and no middleware, answering `{BARE_QUERY}`;"
        ));
        line(&format!(
            "- for information, the gateway answering the bare server's `{BARE_QUERY}`, which \
             tells what the query costs from what the gateway's request path costs;"
        ));
        line(&format!(
            "- **the gateway, signed in**: `{ME_QUERY}` with `Authorization: Bearer` and an \
             access token of an account the bench signs up first — the token's Ed25519 \
             signature and claims verified, its session looked up, the account read and its \
             e-mail decrypted with the person's data key (cached by the vault), on every \
             request;"
        ));
        line(&format!(
            "- **the consent check**: the same signed-in account (which consented to \
             `PERSONALIZATION` at sign-up) asking `{PERSONALIZATION_QUERY}` — the \
             `@requiresConsent` guard takes the person's consent state from the store's read \
             cache once per request and asks the decision function, then the field serves \
             the profile derived from the person's last 50 generations from the in-memory \
             cache of profiles, kept for the account's generation-history version — against \
             `{ME_ID_QUERY}`;"
        ));
        line("");
        line("and it reads the resident memory of the `icecone` binary when idle.");
        line("");
        line("```sh");
        line("cargo bench -p icecone-gateway --bench load");
        line("```");
        line("");
        line(
            "It builds in the release profile, runs for about three minutes, prints \
             this section and writes it into `docs/performance.md`, between its markers. `ICECONE_BENCH_SECONDS` \
             (default 10) and `ICECONE_BENCH_CONNECTIONS` (default 32) change the measured \
             window of each round and the number of connections; `ICECONE_BENCH_MACHINE` adds \
             a description of the machine. The bench fails, and leaves the page alone, if any \
             answer is not a 200 with the expected data.",
        );
        line("");
        line("### Targets");
        line("");
        line("| target | measured | |");
        line("| --- | ---: | --- |");
        line(&format!(
            "| gateway throughput on `{GATEWAY_QUERY}` ≥ {:.0} % of the bare server's on \
             `{BARE_QUERY}` | {:.1} % | {} |",
            THROUGHPUT_TARGET * 100.0,
            ratio * 100.0,
            verdict(ratio >= THROUGHPUT_TARGET)
        ));
        line(&format!(
            "| signed-in `{ME_QUERY}` throughput ≥ {:.0} % of the bare server's on \
             `{BARE_QUERY}` | {:.1} % | {} |",
            ME_TARGET * 100.0,
            me_ratio * 100.0,
            verdict(me_ratio >= ME_TARGET)
        ));
        line(&format!(
            "| `personalization` (consent-gated) throughput within {:.0} % of `{ME_ID_QUERY}`'s \
             | {:.1} % lower | {} |",
            CONSENT_TARGET * 100.0,
            consent_cost * 100.0,
            verdict(consent_cost <= CONSENT_TARGET)
        ));
        line(&format!(
            "| idle resident memory of `icecone` < {} MB | {:.1} MB | {} |",
            IDLE_RSS_TARGET_BYTES / 1_000_000,
            bytes_to_mb(rss_bytes),
            verdict(rss_bytes < IDLE_RSS_TARGET_BYTES)
        ));
        line("");
        if skew {
            line(&caution);
            line("");
        }
        let spread = self.largest_spread();
        if (ratio / THROUGHPUT_TARGET - 1.0).abs() < spread {
            line(&format!(
                "The throughput ratio is {:.1} % away from its target, less than the {:.1} % \
                 by which rounds of one server differed in this run: one run cannot tell \
                 whether the target is met.",
                (ratio / THROUGHPUT_TARGET - 1.0).abs() * 100.0,
                spread * 100.0
            ));
            line("");
        }
        line("### Last run");
        line("");
        let run = options.run.describe(machine);
        line(&format!(
            "{run} {} connections, {} s warm-up and {} s \
             measured per round, {} round{} per server, the servers taking turns; the table \
             shows each server's best round (highest requests/s).",
            options.run.connections,
            options.run.warm_up.as_secs_f64(),
            options.run.measured.as_secs_f64(),
            options.run.rounds,
            if options.run.rounds == 1 { "" } else { "s" }
        ));
        line("");
        if others_max >= 0.1 {
            line(&format!(
                "**The machine was shared**: other processes used up to {others_max:.2} of its \
                 {} CPUs during the measured windows (see every round below), and the load \
                 generator itself used up to {client_max:.2}. Absolute numbers are lower and \
                 noisier than on a dedicated machine; the server CPU time per request is less \
                 sensitive to other processes than throughput.",
                machine.cpus
            ));
        } else {
            line(&format!(
                "Other processes used at most {others_max:.2} CPUs during the measured \
                 windows. The load generator runs on the same machine and used up to \
                 {client_max:.2} CPUs."
            ));
        }
        line("");
        line(&format!(
            "Rounds of the same server differed by up to {:.1} % in requests/s in this run, \
             which is the noise to expect from one run.",
            spread * 100.0
        ));
        line("");
        line("| server | query | requests/s | p50 | p99 | server CPU per request |");
        line("| --- | --- | ---: | ---: | ---: | ---: |");
        for round in [
            bare,
            gateway,
            same_query,
            me,
            me_hash,
            me_unregistered,
            me_id,
            gated,
        ] {
            line(&format!(
                "| {} | `{}` | {:.0} | {} | {} | {:.1} µs |",
                round.server.label(),
                round.server.query(),
                round.requests_per_second(),
                ms(round.p50_us),
                ms(round.p99_us),
                round.server_cpu_per_request_us()
            ));
        }
        line("");
        line(&format!(
            "Gateway / bare throughput: **{ratio:.3}** (target ≥ {THROUGHPUT_TARGET:.2}: {}). \
             Counting server CPU time per request instead, which leaves out the load generator \
             and other processes, the gateway serves {cpu_ratio:.3} times the bare server's \
             rate.",
            verdict(ratio >= THROUGHPUT_TARGET)
        ));
        line("");
        line(&format!(
            "In these best rounds, of the gateway's {:.1} µs of CPU per request, {:.1} µs is \
             what the bare server spends on `{BARE_QUERY}`, {:.1} µs is the gateway's request \
             path on the same query (middleware, negotiation, body handling, the request \
             limits and error codes), and {:.1} µs is what `{GATEWAY_QUERY}` costs the \
             gateway over `{BARE_QUERY}` (a longer document to measure against the limits, a \
             list, and an object and a field resolved per provider).",
            gateway.server_cpu_per_request_us(),
            bare.server_cpu_per_request_us(),
            same_query.server_cpu_per_request_us() - bare.server_cpu_per_request_us(),
            gateway.server_cpu_per_request_us() - same_query.server_cpu_per_request_us()
        ));
        line("");
        line(&format!(
            "Signed in, `{ME_QUERY}` reaches **{me_ratio:.3}** of the bare server's throughput \
             (target ≥ {ME_TARGET:.2}: {}), at {:.1} µs of server CPU per request: {:.1} µs \
             more than the gateway's `{BARE_QUERY}`, for verifying the token, reading the \
             session and the account, and decrypting the address.",
            verdict(me_ratio >= ME_TARGET),
            me.server_cpu_per_request_us(),
            me.server_cpu_per_request_us() - same_query.server_cpu_per_request_us()
        ));
        line("");
        line(&format!(
            "Trusted documents: the bench's gateway registers `{ME_QUERY}` \
             (`trusted_documents_file`). Named by its hash it reaches {:.0} requests/s at \
             {:.1} µs of server CPU per request; sent in full, {:.0} requests/s at {:.1} µs \
             (its SHA-256 computed to find it registered); the same selection in a document \
             the manifest does not hold (`{ME_UNREGISTERED_QUERY}`), {:.0} requests/s at \
             {:.1} µs. Every document is parsed once (registered ones at start-up, others \
             cached by text), and an operation that passed async-graphql's full validation \
             runs under its fast validation afterwards (registered ones by hash; others by \
             text when they carry no variables), so the three differ only in how the document \
             is found: by hash against in full, {:+.1} µs per request ({:+.1} % throughput).",
            me_hash.requests_per_second(),
            me_hash.server_cpu_per_request_us(),
            me.requests_per_second(),
            me.server_cpu_per_request_us(),
            me_unregistered.requests_per_second(),
            me_unregistered.server_cpu_per_request_us(),
            me_hash.server_cpu_per_request_us() - me.server_cpu_per_request_us(),
            (me_hash.requests_per_second() / me.requests_per_second() - 1.0) * 100.0
        ));
        line("");
        line(&format!(
            "The consent-gated `personalization` costs {:.1} % of `{ME_ID_QUERY}`'s throughput \
             (target ≤ {:.0} %: {}): {:.1} µs against {:.1} µs of server CPU per request — the \
             consent state (read cache) and the decision, then the field itself: the profile \
             from the cache of profiles (derived again only when the account's \
             generation-history version moved) and three list fields.",
            consent_cost * 100.0,
            CONSENT_TARGET * 100.0,
            verdict(consent_cost <= CONSENT_TARGET),
            gated.server_cpu_per_request_us(),
            me_id.server_cpu_per_request_us()
        ));
        line("");
        line(&format!(
            "Idle memory of the `icecone` binary (release build, SQLite in a temporary \
             directory, log filter `warn`, {} workers by default), read from \
             `/proc/<pid>/status` after `/healthz`, {WARM_REQUESTS} `{GATEWAY_QUERY}` queries \
             and {} s idle: VmRSS **{:.1} MB** ({:.1} MiB), peak VmHWM {:.1} MB, {} threads \
             (target < {} MB: {}).",
            machine.cpus,
            options.idle.as_secs_f64(),
            bytes_to_mb(rss_bytes),
            kib_to_f64(self.memory.rss_kib) / 1024.0,
            bytes_to_mb(self.memory.peak_kib * 1024),
            self.memory.threads,
            IDLE_RSS_TARGET_BYTES / 1_000_000,
            verdict(rss_bytes < IDLE_RSS_TARGET_BYTES)
        ));
        line("");
        line("### Every round");
        line("");
        line(
            "CPU columns are average CPUs busy during the measured window: the server (this \
             process minus the load generator), the load generator, and every other process \
             on the machine.",
        );
        line("");
        line(
            "| round | server | query | requests/s | p50 | p99 | server CPU per request | \
             server CPUs | load generator CPUs | other processes' CPUs |",
        );
        line("| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        for round in self.rounds {
            line(&format!(
                "| {} | {} | `{}` | {:.0} | {} | {} | {:.1} µs | {:.2} | {:.2} | {:.2} |",
                round.number,
                round.server.label(),
                round.server.query(),
                round.requests_per_second(),
                ms(round.p50_us),
                ms(round.p99_us),
                round.server_cpu_per_request_us(),
                round.server_cpus(),
                round.client_cpus(),
                round.others_cpus()
            ));
        }
        line("");
        line("### How it measures");
        line("");
        for item in [
            "Both servers run in the bench process, each on its own actix `System` in its own \
             thread, with actix-web's default worker count (one per CPU). The gateway has no \
             worker setting, so the bare server is given the same count.",
            "The in-process gateway installs the telemetry subscriber as the binary does, with \
             the filter `warn`: its per-request span and access-log line are created and \
             filtered out. With `info`, every request also writes a log line.",
            "The load generator is a minimal HTTP/1.1 keep-alive client in the bench, on one \
             thread, closed loop like wrk: each connection sends its next request when the \
             previous answer is complete. It shares the CPUs with the server, which is why it \
             is hand-written rather than a general HTTP client.",
            "Latency is from writing a request to reading its whole answer, for requests sent \
             and answered inside the measured window. In a closed loop it is the latency at \
             the throughput reached, not at a fixed offered rate.",
            &format!(
                "Every answer must be a 200 whose body equals a first answer whose `data` was \
                 checked (`providers` lists the ids {}, in this order; `__typename` is `Query`).",
                PROVIDERS.map(|id| format!("`{id}`")).join(", ")
            ),
            "CPU times come from `/proc/self/stat`, `/proc/thread-self/stat` (the load \
             generator's thread) and `/proc/stat`. Server CPU per request is the process's CPU \
             time minus the load generator's, divided by the requests answered.",
            "Numbers are only comparable within one run: the targets are relative (a ratio) \
             or about memory, not absolute throughput.",
        ] {
            line(&format!("- {item}"));
        }
        md
    }
}

/// The load bench's part of docs/performance.md.
const SECTION: Section = Section {
    start: "<!-- load-bench:start -->",
    end: "<!-- load-bench:end -->",
};

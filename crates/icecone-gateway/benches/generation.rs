//! Generation benchmark (issue #6): the latency the gateway adds to `generateText` and the
//! rate at which it persists generations. Rewrites its section of `docs/performance.md`.
//!
//! Run it with `cargo bench -p icecone-gateway --bench generation`. `ICECONE_BENCH_REQUESTS`
//! (default 2000) is the number of timed sequential requests per round,
//! `ICECONE_BENCH_SECONDS` (default 5) the measured window of each saturation round and
//! `ICECONE_BENCH_CONNECTIONS` (default 32) its number of keep-alive connections,
//! `ICECONE_BENCH_ROUNDS` (default 2) the rounds per target;
//! `ICECONE_BENCH_MACHINE`, if set, describes the machine in the document. Started without
//! `--bench` (as `cargo test --benches` does) it is a short smoke run that checks the
//! answers and leaves the document alone.
//!
//! What it loads, all in this process:
//!
//! - **direct**: a mock upstream speaking OpenAI's Chat Completions wire format — a bare
//!   actix-web server on its own `System` and thread answering `POST /v1/chat/completions`
//!   with a fixed completion, only for a body with `"store":false` — sent the exact request
//!   the gateway's OpenAI adapter sends;
//! - **gateway → OpenAI**: the real gateway (`Application::build`, a temporary SQLite data
//!   directory, the log filter `warn`) answering `generateText` with `provider: "openai"`
//!   for a signed-in account, the adapter pointed at the mock (with a recorded ZDR contract,
//!   so OpenAI is eligible under the default maximum retention of 0 days): the difference
//!   to **direct** is what the gateway adds;
//! - **gateway → local**: the same mutation with the built-in offline `local` provider, so
//!   that every request is a persisted generation (consent checked, quota reserved and
//!   metered, prompt and output sealed, the row stored) with no upstream at all;
//! - **gateway → local, counted**: the same for a second account that consented to
//!   `ANALYTICS`, so that each request is also captured (two pseudonymous events: asked for,
//!   succeeded). Its server CPU per request against **gateway → local**'s, in the same run,
//!   is what analytics capture costs (issue #20: at most 3 %).
//!
//! Sequential rounds send one request at a time on one connection (after a warm-up) and
//! give the latency overhead; saturation rounds keep many connections busy (closed loop)
//! and give throughput. Rounds alternate the targets; each target's best round is reported
//! (lowest p50 for sequential rounds, highest requests/s at saturation), and every round is
//! listed. Every answer is checked: a 200 without `errors` whose generation `SUCCEEDED`
//! through the named provider with the expected text, or exactly the mock's completion.
//!
//! Never used for assertions in tests: timings only go to the console and the document.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark reports on the console"
)]

mod support;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{HttpResponse, web};
use icecone_gateway::config::Settings;
use icecone_provider_openai::OpenAiSettings;
use secrecy::SecretString;
use serde_json::{Value as Json, json};
use support::{
    Check, Connection, Load, Machine, RunOptions, Section, Window, graphql_data, load_generator,
    ms, positive_env, post_json, post_to, same_body, saturate, sequential, sign_up,
    sign_up_consenting, start_gateway, start_server,
};

/// The prompt of every request.
const PROMPT: &str = "Write one line about tides";
/// The `maxTokens` of every request.
const MAX_TOKENS: u32 = 30;
/// The completion the mock answers with.
const ANSWER: &str = "The sea breathes in.";
/// The API key the gateway is configured with, and the direct requests carry.
const OPENAI_KEY: &str = "sk-bench-generation-key";
/// The address of the account the bench signs up.
const BENCH_EMAIL: &str = "generation-bench@example.com";
/// The address of the account that consented to analytics.
const COUNTED_EMAIL: &str = "generation-bench-counted@example.com";
/// The most analytics capture may add to the server CPU per `generateText`, in percent.
const CAPTURE_CPU_TARGET_PERCENT: f64 = 3.0;
/// What the mock answers: a Chat Completions response as OpenAI documents it.
const MOCK_BODY: &str = r#"{"id":"chatcmpl-bench","object":"chat.completion","created":1764000000,"model":"gpt-5.6-luna","choices":[{"index":0,"message":{"role":"assistant","content":"The sea breathes in.","refusal":null},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":4,"total_tokens":9}}"#;
/// The generation fields each answer carries and the check reads.
const GENERATE_TEXT: &str = "mutation G($input: GenerateTextInput!) { generateText(input: $input) \
    { id status provider { id } output { ... on TextOutput { text } } } }";
/// Sequential latency targets: p50 and p99 of the gateway minus direct, in µs.
const P50_OVERHEAD_TARGET_US: i64 = 500;
const P99_OVERHEAD_TARGET_US: i64 = 2_000;
/// Persisted generations per second through `local` at saturation.
const PERSISTED_TARGET: f64 = 3_000.0;

/// This bench's part of docs/performance.md.
const SECTION: Section = Section {
    start: "<!-- generation-bench:start -->",
    end: "<!-- generation-bench:end -->",
};

fn main() -> ExitCode {
    let options = Options::from_env();
    let machine = Machine::read();

    let mock = start_mock(machine.cpus);
    let gateway_server = start_gateway(gateway_settings(mock));
    let gateway = gateway_server.address;

    let rounds = load_generator().block_on(async {
        let (token, _account) = sign_up(gateway, BENCH_EMAIL).await;
        let (counted, _account) =
            sign_up_consenting(gateway, COUNTED_EMAIL, &["PERSONALIZATION", "ANALYTICS"]).await;
        gateway_server.verify_every_address().await;
        let mut loads = Vec::new();
        for target in Target::ALL {
            let token = match target {
                Target::GatewayLocalCounted => &counted,
                _ => &token,
            };
            loads.push((target, target.prepare(mock, gateway, token).await));
        }
        let mut rounds = Vec::new();
        for number in 1..=options.run.rounds {
            for mode in [Mode::Sequential, Mode::Saturation] {
                for (target, load) in &loads {
                    let window = match mode {
                        Mode::Sequential if !target.sequential() => continue,
                        Mode::Sequential => {
                            sequential(
                                load,
                                options.sequential_warm_up,
                                options.sequential_requests,
                                machine.ticks_per_second,
                            )
                            .await
                        }
                        Mode::Saturation => {
                            saturate(
                                load,
                                options.run.connections,
                                options.run.warm_up,
                                options.run.measured,
                                machine.ticks_per_second,
                            )
                            .await
                        }
                    };
                    let round = Round::new(mode, *target, number, window);
                    eprintln!("{}", round.summary());
                    rounds.push(round);
                }
            }
        }
        // The counted account's requests were captured (and only theirs could be).
        let captured = gateway_server.count_rows("analytics_events").await;
        (rounds, captured)
    });
    let (rounds, captured) = rounds;
    if captured == 0 {
        eprintln!("analytics captured nothing: docs/performance.md is left unchanged");
        return ExitCode::FAILURE;
    }

    let failed: Vec<&Round> = rounds.iter().filter(|r| r.window.failures > 0).collect();
    if !failed.is_empty() {
        for round in failed {
            eprintln!(
                "{}: {} failed requests; first: {}",
                round.name(),
                round.window.failures,
                round.window.first_failure.as_deref().unwrap_or("?")
            );
        }
        eprintln!("the bench failed: docs/performance.md is left unchanged");
        return ExitCode::FAILURE;
    }
    if let Some(empty) = rounds.iter().find(|r| r.window.requests == 0) {
        eprintln!("{}: no request was answered", empty.name());
        return ExitCode::FAILURE;
    }

    let report = Report {
        options: &options,
        machine: &machine,
        rounds: &rounds,
        captured,
    };
    SECTION.publish(&report.markdown(), options.run.full, true);
    ExitCode::SUCCESS
}

/// How long and how hard to load.
#[derive(Debug)]
struct Options {
    run: RunOptions,
    sequential_warm_up: usize,
    sequential_requests: usize,
}

impl Options {
    fn from_env() -> Self {
        let run = RunOptions::from_env(
            Duration::from_secs(1),
            5,
            Duration::from_millis(100),
            Duration::from_millis(300),
        );
        let (sequential_warm_up, sequential_requests) = if run.full {
            let requests = positive_env("ICECONE_BENCH_REQUESTS", 2_000);
            (
                200,
                usize::try_from(requests).expect("ICECONE_BENCH_REQUESTS fits in memory"),
            )
        } else {
            (5, 20)
        };
        Self {
            run,
            sequential_warm_up,
            sequential_requests,
        }
    }
}

// ---------------------------------------------------------------------------------------
// The mock upstream and the gateway

/// Chat Completions as the mock serves it: the fixed completion for a request that asks
/// not to be stored, 400 otherwise.
async fn chat_completions(body: web::Bytes) -> HttpResponse {
    const NOT_STORED: &[u8] = b"\"store\":false";
    if body
        .windows(NOT_STORED.len())
        .any(|window| window == NOT_STORED)
    {
        HttpResponse::Ok()
            .content_type("application/json")
            .body(MOCK_BODY)
    } else {
        HttpResponse::BadRequest()
            .content_type("application/json")
            .body(r#"{"error":{"message":"store: false expected","type":"invalid_request_error"}}"#)
    }
}

/// Starts the mock upstream with `workers` workers on its own `System` and thread.
fn start_mock(workers: usize) -> SocketAddr {
    start_server("mock upstream", workers, |app| {
        app.route("/v1/chat/completions", web::post().to(chat_completions));
    })
}

/// The gateway's settings: OpenAI pointed at the mock under a recorded ZDR contract, and
/// quotas far above what the bench uses.
fn gateway_settings(mock: SocketAddr) -> Settings {
    let mut settings = Settings {
        quota_tokens_per_month: 1_000_000_000_000,
        quota_images_per_month: 1_000_000,
        quota_video_seconds_per_month: 1_000_000,
        ..Settings::default()
    };
    settings.providers.set(OpenAiSettings {
        api_key: Some(SecretString::from(OPENAI_KEY)),
        base_url: format!("http://{mock}/v1"),
        zdr_contract: Some("BENCH-ZDR-1".to_owned()),
        ..OpenAiSettings::default()
    });
    settings
}

// ---------------------------------------------------------------------------------------
// What is loaded

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// The Chat Completions request straight to the mock.
    Direct,
    /// `generateText` through the gateway with `provider: "openai"` (to the mock).
    GatewayOpenAi,
    /// `generateText` through the gateway with `provider: "local"`.
    GatewayLocal,
    /// The same for an account whose requests analytics captures.
    GatewayLocalCounted,
}

impl Target {
    const ALL: [Self; 4] = [
        Self::Direct,
        Self::GatewayOpenAi,
        Self::GatewayLocal,
        Self::GatewayLocalCounted,
    ];

    fn label(self) -> &'static str {
        match self {
            Self::Direct => "direct to the mock",
            Self::GatewayOpenAi => "gateway → OpenAI (mock)",
            Self::GatewayLocal => "gateway → local",
            Self::GatewayLocalCounted => "gateway → local, counted (ANALYTICS consent)",
        }
    }

    /// Whether sequential rounds load it: the latency overhead compares the first two.
    fn sequential(self) -> bool {
        matches!(self, Self::Direct | Self::GatewayOpenAi)
    }

    /// Builds the request, sends it once and checks the answer (for the gateway, also
    /// that the generation can be read back), and returns the load with its check.
    async fn prepare(self, mock: SocketAddr, gateway: SocketAddr, token: &str) -> Load {
        let (address, request) = match self {
            Self::Direct => (
                mock,
                post_to(
                    mock,
                    "/v1/chat/completions",
                    &json!({
                        "model": "gpt-5.6-luna",
                        "messages": [{ "role": "user", "content": PROMPT }],
                        "store": false,
                        "max_completion_tokens": MAX_TOKENS,
                    }),
                    Some(OPENAI_KEY),
                ),
            ),
            Self::GatewayOpenAi | Self::GatewayLocal | Self::GatewayLocalCounted => (
                gateway,
                post_json(
                    gateway,
                    &json!({
                        "query": GENERATE_TEXT,
                        "variables": { "input": {
                            "prompt": PROMPT,
                            "provider": self.provider(),
                            "maxTokens": MAX_TOKENS,
                        } },
                    }),
                    Some(token),
                ),
            ),
        };
        let label = self.label();
        let mut connection = Connection::open(address)
            .await
            .unwrap_or_else(|error| panic!("cannot connect for {label}: {error}"));
        let (status, body) = connection
            .exchange(&request)
            .await
            .unwrap_or_else(|error| panic!("no answer for {label}: {error}"));
        let check = match self {
            Self::Direct => {
                if status != 200 || body != MOCK_BODY.as_bytes() {
                    panic!(
                        "the mock answered wrongly: status {status}, body {}",
                        String::from_utf8_lossy(body)
                    );
                }
                same_body(body.to_vec())
            }
            Self::GatewayOpenAi | Self::GatewayLocal | Self::GatewayLocalCounted => {
                let data = graphql_data(status, body)
                    .unwrap_or_else(|problem| panic!("{label} answered wrongly: {problem}"));
                let generation = &data["generateText"];
                // The local provider's text is deterministic; OpenAI's is the mock's.
                let text = match self {
                    Self::GatewayOpenAi => ANSWER.to_owned(),
                    _ => generation["output"]["text"]
                        .as_str()
                        .filter(|text| !text.is_empty())
                        .unwrap_or_else(|| panic!("{label} answered without text: {data}"))
                        .to_owned(),
                };
                let check = generation_check(self.provider(), text);
                let body = body.to_vec();
                if let Err(problem) = check(status, &body) {
                    panic!("{label} answered wrongly: {problem}");
                }
                read_back(&mut connection, gateway, token, &data).await;
                check
            }
        };
        Load {
            address,
            request: request.into(),
            check,
        }
    }

    fn provider(self) -> &'static str {
        match self {
            Self::Direct | Self::GatewayOpenAi => "openai",
            Self::GatewayLocal | Self::GatewayLocalCounted => "local",
        }
    }
}

/// A check for `generateText` answers: 200, no `errors`, an id, `SUCCEEDED`, through
/// `provider`, with `text` as the output.
fn generation_check(provider: &'static str, text: String) -> Check {
    Arc::new(move |status, body| {
        let data = graphql_data(status, body)?;
        let generation = &data["generateText"];
        let good = generation["id"].is_string()
            && generation["status"] == "SUCCEEDED"
            && generation["provider"]["id"] == provider
            && generation["output"]["text"] == text.as_str();
        if good {
            Ok(())
        } else {
            Err(format!(
                "not a {provider} generation that succeeded with {text:?}: {data}"
            ))
        }
    })
}

/// Reads the generation of a `generateText` answer back: it was persisted.
async fn read_back(connection: &mut Connection, gateway: SocketAddr, token: &str, data: &Json) {
    let id = data["generateText"]["id"].as_str().unwrap_or_default();
    let query = json!({
        "query": "query Q($id: ID!) { generation(id: $id) { id status prompt } }",
        "variables": { "id": id },
    });
    let (status, body) = connection
        .exchange(&post_json(gateway, &query, Some(token)))
        .await
        .unwrap_or_else(|error| panic!("generation did not answer: {error}"));
    let read = graphql_data(status, body)
        .unwrap_or_else(|problem| panic!("generation answered wrongly: {problem}"));
    let expected = json!({ "generation": { "id": id, "status": "SUCCEEDED", "prompt": PROMPT } });
    assert_eq!(read, expected, "the generation is stored and readable");
}

// ---------------------------------------------------------------------------------------
// Rounds and the report

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// One connection, one request at a time.
    Sequential,
    /// Many connections, closed loop.
    Saturation,
}

/// One measured round of one target.
#[derive(Debug)]
struct Round {
    mode: Mode,
    target: Target,
    number: usize,
    window: Window,
}

impl Round {
    fn new(mode: Mode, target: Target, number: usize, window: Window) -> Self {
        Self {
            mode,
            target,
            number,
            window,
        }
    }

    fn name(&self) -> String {
        let mode = match self.mode {
            Mode::Sequential => "sequential",
            Mode::Saturation => "saturation",
        };
        format!("{mode} round {}, {}", self.number, self.target.label())
    }

    fn summary(&self) -> String {
        let w = &self.window;
        format!(
            "{}: {} requests, {:.0} requests/s, p50 {}, p90 {}, p99 {}, server {:.1} µs CPU per \
             request, other processes {:.2} CPUs, {} failures",
            self.name(),
            w.requests,
            w.requests_per_second(),
            ms(w.p50_us),
            ms(w.p90_us),
            ms(w.p99_us),
            w.server_cpu_per_request_us(),
            w.others_cpus(),
            w.failures
        )
    }
}

#[derive(Debug)]
struct Report<'a> {
    options: &'a Options,
    machine: &'a Machine,
    rounds: &'a [Round],
    /// Raw analytics events in the gateway's database at the end of the run.
    captured: i64,
}

/// A difference of latencies in µs, as milliseconds with a sign.
fn ms_signed(micros: i64) -> String {
    #[allow(
        clippy::cast_precision_loss,
        reason = "latency differences are far below 2^52"
    )]
    let millis = micros as f64 / 1000.0;
    format!("{millis:+.2} ms")
}

impl Report<'_> {
    fn rounds_of(&self, mode: Mode, target: Target) -> impl Iterator<Item = &Round> {
        self.rounds
            .iter()
            .filter(move |round| round.mode == mode && round.target == target)
    }

    /// The best sequential round: the lowest p50.
    fn best_sequential(&self, target: Target) -> &Window {
        &self
            .rounds_of(Mode::Sequential, target)
            .min_by_key(|round| round.window.p50_us)
            .expect("every sequential target has a round")
            .window
    }

    /// The best saturation round: the highest requests/s.
    fn best_saturation(&self, target: Target) -> &Window {
        &self
            .rounds_of(Mode::Saturation, target)
            .max_by(|a, b| {
                a.window
                    .requests_per_second()
                    .total_cmp(&b.window.requests_per_second())
            })
            .expect("every target has a saturation round")
            .window
    }

    /// The mean server CPU per request over the target's saturation rounds, in µs, with the
    /// lowest and highest round.
    fn saturation_cpu(&self, target: Target) -> (f64, f64, f64) {
        let cpu: Vec<f64> = self
            .rounds_of(Mode::Saturation, target)
            .map(|round| round.window.server_cpu_per_request_us())
            .collect();
        let mean = cpu.iter().sum::<f64>() / support::count_to_f64(cpu.len().max(1));
        let low = cpu.iter().copied().fold(f64::INFINITY, f64::min);
        let high = cpu.iter().copied().fold(0.0_f64, f64::max);
        (mean, low, high)
    }

    fn markdown(&self) -> String {
        let options = self.options;
        let machine = self.machine;
        let verdict = |met: bool| if met { "met" } else { "**not met**" };
        let direct = self.best_sequential(Target::Direct);
        let through = self.best_sequential(Target::GatewayOpenAi);
        let p50_overhead = i64::from(through.p50_us) - i64::from(direct.p50_us);
        let p90_overhead = i64::from(through.p90_us) - i64::from(direct.p90_us);
        let p99_overhead = i64::from(through.p99_us) - i64::from(direct.p99_us);
        let sat_direct = self.best_saturation(Target::Direct);
        let sat_openai = self.best_saturation(Target::GatewayOpenAi);
        let sat_local = self.best_saturation(Target::GatewayLocal);
        let persisted = sat_local.requests_per_second();
        let gateway_cpu_openai =
            sat_openai.server_cpu_per_request_us() - sat_direct.server_cpu_per_request_us();
        let others_max = self
            .rounds
            .iter()
            .map(|round| round.window.others_cpus())
            .fold(0.0_f64, f64::max);

        let mut md = String::new();
        let mut line = |text: &str| {
            md.push_str(text);
            md.push('\n');
        };
        line("## Generation: the gateway's added latency and persisted generations (issue #6)");
        line("");
        line(
            "<!-- Written by `cargo bench -p icecone-gateway --bench generation` \
             (crates/icecone-gateway/benches/generation.rs): change the bench, not this \
             section. -->",
        );
        line("");
        line("In one run, the generation benchmark loads, all in its own process:");
        line("");
        line(
            "- **direct**: a mock upstream speaking OpenAI's Chat Completions wire format (a \
             bare actix-web server answering `POST /v1/chat/completions` with a fixed \
             completion, only when the body says `\"store\":false`), sent the exact request \
             the OpenAI adapter sends, with the API key as bearer token;",
        );
        line(&format!(
            "- **gateway → OpenAI**: the gateway (`Application::build`, a temporary SQLite \
             data directory, the log filter `warn`) answering `generateText` with \
             `provider: \"openai\"` and `maxTokens: {MAX_TOKENS}` for an account signed in \
             with a bearer token, its OpenAI adapter pointed at the same mock (with a \
             recorded ZDR contract, so OpenAI is eligible under the default maximum retention \
             of 0 days). Each request is authenticated, consent-checked, routed, sent to the \
             mock over the adapter's pooled HTTP client, sealed and stored, and its tokens \
             metered; the difference to **direct** is what the gateway adds;"
        ));
        line(
            "- **gateway → local**: the same mutation with the built-in offline `local` \
             provider: every request is a persisted generation (consent checked, quota \
             checked and metered, prompt and output sealed, the row stored in SQLite) with no \
             upstream at all;",
        );
        line(
            "- **gateway → local, counted**: the same for a second account that consented to \
             `ANALYTICS` at sign-up, so that each request is also captured by analytics (two \
             pseudonymous events: asked for, succeeded); against **gateway → local** in the \
             same run, it is what capture costs.",
        );
        line("");
        line("```sh");
        line("cargo bench -p icecone-gateway --bench generation");
        line("```");
        line("");
        line(
            "It builds in the release profile, runs for about a minute, prints this section \
             and writes it into `docs/performance.md` between its markers. \
             `ICECONE_BENCH_REQUESTS` (default 2000) sets the timed sequential requests per \
             round, `ICECONE_BENCH_SECONDS` (default 5) and `ICECONE_BENCH_CONNECTIONS` \
             (default 32) the measured window and connections of each saturation round, \
             `ICECONE_BENCH_ROUNDS` (default 2) the rounds per target; \
             `ICECONE_BENCH_MACHINE` adds a description of the machine. Every answer is \
             checked — a 200 without `errors` whose generation `SUCCEEDED` through the named \
             provider with the expected text (one generation of each provider is also read \
             back with `generation(id:)`), or exactly the mock's completion — and the bench \
             fails, leaving the page alone, on any other answer.",
        );
        line("");
        line("### Targets");
        line("");
        line("| target | measured | |");
        line("| --- | ---: | --- |");
        line(&format!(
            "| p50 overhead (gateway → OpenAI minus direct, sequential) ≤ {} | {} | {} |",
            ms_signed(P50_OVERHEAD_TARGET_US),
            ms_signed(p50_overhead),
            verdict(p50_overhead <= P50_OVERHEAD_TARGET_US)
        ));
        line(&format!(
            "| p99 overhead (gateway → OpenAI minus direct, sequential) ≤ {} | {} | {} |",
            ms_signed(P99_OVERHEAD_TARGET_US),
            ms_signed(p99_overhead),
            verdict(p99_overhead <= P99_OVERHEAD_TARGET_US)
        ));
        line(&format!(
            "| persisted generations (gateway → local, {} connections) ≥ {PERSISTED_TARGET:.0}/s \
             | {persisted:.0}/s | {} |",
            options.run.connections,
            verdict(persisted >= PERSISTED_TARGET)
        ));
        let (uncounted_cpu, uncounted_low, uncounted_high) =
            self.saturation_cpu(Target::GatewayLocal);
        let (counted_cpu, counted_low, counted_high) =
            self.saturation_cpu(Target::GatewayLocalCounted);
        let capture_percent = (counted_cpu - uncounted_cpu) / uncounted_cpu * 100.0;
        line(&format!(
            "| analytics capture: server CPU per `generateText` (counted minus not counted, \
             mean of the saturation rounds) ≤ +{CAPTURE_CPU_TARGET_PERCENT:.0} % | \
             {capture_percent:+.1} % | {} |",
            verdict(capture_percent <= CAPTURE_CPU_TARGET_PERCENT)
        ));
        line("");
        line("### Last run");
        line("");
        let run = options.run.describe(machine);
        line(&format!(
            "{run} {} round{} per target, the targets \
             taking turns. Sequential: {} warm-up requests, then {} timed, on one keep-alive \
             connection; the best round (lowest p50) of each target is shown. Saturation: {} \
             connections, {} s warm-up and {} s measured; the best round (highest \
             requests/s) is shown. The mock, the gateway and the load generator share the \
             machine's CPUs; other processes used at most {others_max:.2} CPUs during the \
             measured windows.",
            options.run.rounds,
            if options.run.rounds == 1 { "" } else { "s" },
            options.sequential_warm_up,
            options.sequential_requests,
            options.run.connections,
            options.run.warm_up.as_secs_f64(),
            options.run.measured.as_secs_f64(),
        ));
        line("");
        if others_max >= 0.25 {
            line(
                "**The machine was shared** during this run (see the last column of every \
                 round below): absolute numbers are lower and noisier than on a dedicated \
                 machine, and tail latencies especially; the server CPU time per request is \
                 less sensitive to other processes.",
            );
            line("");
        }
        line("#### Sequential (one connection)");
        line("");
        line("| | requests | p50 | p90 | p99 |");
        line("| --- | ---: | ---: | ---: | ---: |");
        for (label, window) in [
            (Target::Direct.label(), direct),
            (Target::GatewayOpenAi.label(), through),
        ] {
            line(&format!(
                "| {label} | {} | {} | {} | {} |",
                window.requests,
                ms(window.p50_us),
                ms(window.p90_us),
                ms(window.p99_us)
            ));
        }
        line(&format!(
            "| **overhead** (gateway minus direct) | | **{}** | {} | **{}** |",
            ms_signed(p50_overhead),
            ms_signed(p90_overhead),
            ms_signed(p99_overhead)
        ));
        line("");
        line(&format!(
            "#### Saturation ({} connections)",
            options.run.connections
        ));
        line("");
        line("| | requests/s | p50 | p99 | server CPU per request |");
        line("| --- | ---: | ---: | ---: | ---: |");
        for target in Target::ALL {
            let window = self.best_saturation(target);
            line(&format!(
                "| {} | {:.0} | {} | {} | {:.1} µs |",
                target.label(),
                window.requests_per_second(),
                ms(window.p50_us),
                ms(window.p99_us),
                window.server_cpu_per_request_us()
            ));
        }
        line("");
        line(&format!(
            "Server CPU per request is this process's CPU time minus the load generator's, per \
             answered request: for **direct** it is the mock's; for **gateway → OpenAI** it \
             is the gateway's and the mock's together, so the gateway's own share is about \
             {gateway_cpu_openai:.1} µs; for **gateway → local** it is all the gateway's, \
             that is what one persisted generation costs in CPU. At saturation, latency \
             includes queueing (in a closed loop, connections divided by requests/s), so the \
             latency targets are judged on the sequential rounds."
        ));
        line("");
        line(&format!(
            "Analytics capture: the counted account's generations cost {counted_cpu:.1} µs of \
             server CPU each (rounds from {counted_low:.1} to {counted_high:.1} µs), the other \
             account's {uncounted_cpu:.1} µs (from {uncounted_low:.1} to {uncounted_high:.1} \
             µs), in the same run with the rounds taking turns: capture adds \
             {capture_percent:+.1} %. The gateway held {captured} raw analytics events at the \
             end of the run, all of the counted account (the other one never consented).",
            captured = self.captured,
        ));
        line("");
        let busy = sat_local.server_cpus();
        let cpus = support::count_to_f64(machine.cpus);
        line(&format!(
            "In the best **gateway → local** round the server kept {busy:.2} of the {} CPUs \
             busy, the load generator {:.2} and other processes {:.2}{}",
            machine.cpus,
            sat_local.client_cpus(),
            sat_local.others_cpus(),
            if busy + sat_local.client_cpus() + sat_local.others_cpus() < 0.8 * cpus {
                ": the CPUs were not the limit. Requests also wait on something that does not \
                 use CPU time, such as SQLite's single writer (one write transaction at a \
                 time, the others retrying under `busy_timeout`); this bench does not tell \
                 which."
            } else {
                "."
            }
        ));
        line("");
        line("### Every round");
        line("");
        line(
            "| round | mode | target | requests | requests/s | p50 | p90 | p99 | server CPU per \
             request | load generator CPUs | other processes' CPUs |",
        );
        line("| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        for round in self.rounds {
            let w = &round.window;
            line(&format!(
                "| {} | {} | {} | {} | {:.0} | {} | {} | {} | {:.1} µs | {:.2} | {:.2} |",
                round.number,
                match round.mode {
                    Mode::Sequential => "sequential",
                    Mode::Saturation => "saturation",
                },
                round.target.label(),
                w.requests,
                w.requests_per_second(),
                ms(w.p50_us),
                ms(w.p90_us),
                ms(w.p99_us),
                w.server_cpu_per_request_us(),
                w.client_cpus(),
                w.others_cpus()
            ));
        }
        line("");
        line("### How it measures");
        line("");
        for item in [
            "The mock and the gateway run in the bench process, each on its own actix \
             `System` in its own thread with one worker per CPU; the load generator is the \
             load bench's minimal HTTP/1.1 keep-alive client (benches/support), on one thread.",
            "Latency is from writing a request to reading its whole answer. Sequential rounds \
             time each request after the warm-up; saturation rounds are closed loop like wrk \
             and count the requests sent and answered inside the measured window.",
            "The overhead is the difference of the same percentile between the two targets' \
             best sequential rounds; the percentiles are nearest-rank.",
            "CPU times come from `/proc/self/stat`, `/proc/thread-self/stat` (the load \
             generator's thread) and `/proc/stat`.",
            "All generations of a target belong to one account, as one person's generations \
             would: its quota row is written by every request. **gateway → local, counted** \
             uses a second account that consented to `ANALYTICS` at sign-up; the other never \
             did, so only the counted account's requests are captured.",
        ] {
            line(&format!("- {item}"));
        }
        md
    }
}

//! `icecone-soak`: the soak-and-chaos harness. It starts three `icecone` binaries on one
//! fresh PostgreSQL database with a local SMTP server and an OpenAI mock, drives a fixed
//! offered rate of mixed GraphQL traffic at them (open loop) while it kills instances,
//! restarts PostgreSQL and makes the provider and the mail server fail, then checks the
//! invariants, prints each result and writes a Markdown report. Exit status 1 when an
//! invariant broke, 2 when the run could not be made. See docs/reliability.md.

mod client;
mod db;
mod faults;
mod fleet;
mod invariants;
mod ops;
mod provider_mock;
mod report;
mod schedule;
mod smtp;
mod world;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::json;

use crate::client::Gateway;
use crate::faults::Targets;
use crate::fleet::Fleet;
use crate::invariants::{Amount, Check, RightsRequest};
use crate::ops::Op;
use crate::provider_mock::ProviderMock;
use crate::report::Report;
use crate::schedule::{Mix, Schedule, SplitMix64};
use crate::smtp::SmtpServer;
use crate::world::{Admin, PASSWORD, Partner, Totp, World, lock};

/// The quota every person has in a run: small, so that runs reach it.
const QUOTA: Amount = Amount {
    tokens: 800,
    images: 3,
    video_seconds: 12,
};

#[derive(Debug, Parser)]
#[command(
    name = "icecone-soak",
    about = "Three icecone instances on one PostgreSQL under open-loop mixed traffic and faults; checks the invariants and writes a report."
)]
struct Args {
    /// How long traffic runs: `90s`, `10m`, `1h`.
    #[arg(long, default_value = "2m", value_parser = parse_duration)]
    duration: Duration,
    /// Requests started per second, on schedule whatever the answers (open loop).
    #[arg(long, default_value_t = 6.0)]
    rate: f64,
    /// The PostgreSQL server: the run creates a database `soak_<random>` on it and drops it
    /// at the end.
    #[arg(
        long,
        env = "ICECONE_SOAK_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    database_url: String,
    /// Inject faults (`true`/`false`).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    faults: bool,
    /// The command that restarts PostgreSQL (run with `sh -c`).
    #[arg(long, default_value = "pg_ctlcluster 15 main restart")]
    restart_database: String,
    /// Where the Markdown report is written.
    #[arg(long, default_value = "soak-report.md")]
    report: PathBuf,
    /// The bound of every instance's resident memory (VmRSS), MiB.
    #[arg(long, default_value_t = 512)]
    memory_bound_mib: u64,
    /// The `icecone` binary; default: the one next to this executable.
    #[arg(long)]
    icecone: Option<PathBuf>,
    /// How many instances.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=8))]
    instances: u16,
    /// The seed of the operation sequence; default: random.
    #[arg(long)]
    seed: Option<u64>,
    /// Keep the run's database and directory (instance logs) instead of dropping them.
    #[arg(long)]
    keep: bool,
    /// Meter one generation twice before the checks, to show that the run then fails.
    #[arg(long, hide = true)]
    break_invariant: bool,
}

/// `90s`, `10m`, `1h`, or plain seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = text
        .find(|c: char| !c.is_ascii_digit())
        .map_or((text, "s"), |at| text.split_at(at));
    let value: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration such as 90s, 10m or 1h"))?;
    let seconds = match unit {
        "s" => value,
        "m" => value * 60,
        "h" => value * 3600,
        _ => return Err(format!("`{text}`: the unit must be s, m or h")),
    };
    if seconds == 0 {
        return Err("the duration must be above zero".to_owned());
    }
    Ok(Duration::from_secs(seconds))
}

#[allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "the harness's results are its output"
)]
fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("icecone-soak: {error}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(report) => {
            for check in &report.checks {
                println!(
                    "{} {} — {}",
                    if check.passed { "PASS" } else { "FAIL" },
                    check.name,
                    check.figures
                );
            }
            if report.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(error) => {
            eprintln!("icecone-soak: {error:#}");
            ExitCode::from(2)
        }
    }
}

#[allow(clippy::print_stderr, reason = "progress goes to standard error")]
fn progress(text: &str) {
    eprintln!("icecone-soak: {text}");
}

/// Random bytes from the operating system.
fn random<const N: usize>() -> anyhow::Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(bytes)
}

/// The `icecone` binary next to this executable (target/<profile>/).
fn sibling_binary() -> anyhow::Result<PathBuf> {
    let me = std::env::current_exe()?;
    let dir = me
        .parent()
        .ok_or_else(|| anyhow::anyhow!("this executable has no directory"))?;
    Ok(dir.join("icecone"))
}

async fn run(args: Args) -> anyhow::Result<Report> {
    // Every argument is checked before anything is created or started.
    let schedule = Schedule::new(args.rate, args.duration).map_err(anyhow::Error::msg)?;
    db::with_database(&args.database_url, "soak_check")?;
    let binary = match args.icecone.clone() {
        Some(path) => path,
        None => sibling_binary()?,
    };
    anyhow::ensure!(
        binary.is_file(),
        "no icecone binary at {} (build it, or pass --icecone)",
        binary.display()
    );
    let binary_profile = if binary.components().any(|c| c.as_os_str() == "release") {
        "release"
    } else {
        "debug"
    };
    let seed = match args.seed {
        Some(seed) => seed,
        None => u64::from_le_bytes(random::<8>()?),
    };
    let run_id = format!("{:08x}", u32::from_le_bytes(random::<4>()?));
    let database = format!("soak_{run_id}");
    let dir = std::env::temp_dir().join(format!("icecone-soak-{run_id}"));
    std::fs::create_dir_all(&dir)?;
    db::create(&args.database_url, &database).await?;
    progress(&format!("database {database}, directory {}", dir.display()));
    let outcome = soak(
        &args,
        &binary,
        binary_profile,
        &schedule,
        seed,
        &run_id,
        &database,
        &dir,
    )
    .await;
    if !args.keep {
        if let Err(error) = db::drop(&args.database_url, &database).await {
            progress(&format!(
                "the database {database} could not be dropped: {error}"
            ));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    let report = outcome?;
    std::fs::write(&args.report, report.markdown())?;
    progress(&format!("report written to {}", args.report.display()));
    Ok(report)
}

#[allow(clippy::too_many_arguments, reason = "the run's parameters, once")]
async fn soak(
    args: &Args,
    binary: &std::path::Path,
    binary_profile: &str,
    schedule: &Schedule,
    seed: u64,
    run_id: &str,
    database: &str,
    dir: &std::path::Path,
) -> anyhow::Result<Report> {
    let started_at = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string();
    let database_url = db::with_database(&args.database_url, database)?;
    let smtp = SmtpServer::start()?;
    let provider = ProviderMock::start()?;
    let ca = dir.join("smtp-ca.pem");
    std::fs::write(&ca, smtp.ca_pem())?;
    let key_file = dir.join("master.key");
    {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let mut file = std::fs::OpenOptions::new()
            .create_new(true)
            .write(true)
            .mode(0o600)
            .open(&key_file)?;
        let key =
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, random::<32>()?);
        writeln!(file, "{key}")?;
    }
    let instances = usize::from(args.instances);
    let mut fleet = Fleet::new(binary.to_owned(), dir, instances, Vec::new())?;
    let public = format!("http://127.0.0.1:{}", fleet.ports()[0]);
    let settings: Vec<(String, String)> = [
        ("ICECONE_DATABASE_URL", database_url.clone()),
        ("ICECONE_MASTER_KEY_FILE", key_file.display().to_string()),
        ("ICECONE_TRUSTED_PROXIES", "127.0.0.1/32".to_owned()),
        ("ICECONE_OPENAI_API_KEY", provider_mock::API_KEY.to_owned()),
        ("ICECONE_OPENAI_BASE_URL", provider.base_url()),
        ("ICECONE_OPENAI_ZDR_CONTRACT", "ZDR-SOAK-1".to_owned()),
        ("ICECONE_PROVIDER_TIMEOUT_SECONDS", "3".to_owned()),
        ("ICECONE_SMTP_URL", smtp.url()),
        ("ICECONE_SMTP_CA_FILE", ca.display().to_string()),
        (
            "ICECONE_MAIL_FROM",
            "IceCone <no-reply@soak.example>".to_owned(),
        ),
        ("ICECONE_PUBLIC_URL", public),
        ("ICECONE_ERASURE_GRACE", "0s".to_owned()),
        ("ICECONE_JOB_POLL_INTERVAL_MS", "250".to_owned()),
        ("ICECONE_JOB_LEASE_SECONDS", "5".to_owned()),
        ("ICECONE_LOCAL_VIDEO_DELAY", "2s".to_owned()),
        ("ICECONE_QUOTA_TOKENS_PER_MONTH", QUOTA.tokens.to_string()),
        ("ICECONE_QUOTA_IMAGES_PER_MONTH", QUOTA.images.to_string()),
        (
            "ICECONE_QUOTA_VIDEO_SECONDS_PER_MONTH",
            QUOTA.video_seconds.to_string(),
        ),
        ("ICECONE_LOG", "info".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    fleet.configure(settings);

    // Migrations once, then the admin (a staff account with a TOTP factor).
    let migrated = fleet.one_shot(dir, &["migrate"], "")?;
    anyhow::ensure!(
        migrated.status.success(),
        "icecone migrate failed: {}",
        String::from_utf8_lossy(&migrated.stderr)
    );
    let admin_email = "admin@soak.example";
    let created = fleet.one_shot(
        dir,
        &["staff", "create", "--email", admin_email, "--role", "ADMIN"],
        &format!("{PASSWORD}\n"),
    )?;
    anyhow::ensure!(
        created.status.success(),
        "icecone staff create failed: {}",
        String::from_utf8_lossy(&created.stderr)
    );
    let uri = String::from_utf8_lossy(&created.stdout).into_owned();
    let secret = uri
        .split(['?', '&'])
        .find_map(|part| part.strip_prefix("secret="))
        .and_then(|s| ops::base32_decode(s.trim()))
        .ok_or_else(|| anyhow::anyhow!("icecone staff create printed no otpauth secret"))?;
    let secret = icecone_core::identity::totp::TotpSecret::from_bytes(&secret)
        .map_err(|_| anyhow::anyhow!("the admin's TOTP secret is not valid"))?;

    for n in 0..instances {
        fleet.start(n)?;
    }
    let gateway = Gateway::new(fleet.ports())?;
    for port in fleet.ports() {
        fleet::wait_ready(gateway.http(), port, Duration::from_secs(90))
            .await
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "an instance did not become ready; see its log in {}",
                    dir.display()
                )
            })?;
    }
    progress(&format!("{instances} instances ready"));
    let admin = Admin {
        email: admin_email.to_owned(),
        totp: Totp {
            secret,
            last_step: 0,
        },
        access: None,
        fresh_until: Instant::now(),
    };
    let world = Arc::new(World::new(
        gateway,
        smtp,
        provider,
        run_id.to_owned(),
        admin,
        seed,
    ));
    let created = ops::as_admin(
        &world,
        ops::CREATE_PARTNER,
        json!({ "n": "Soak Partner", "s": ["PROFILE"] }),
    )
    .await
    .map_err(|class| anyhow::anyhow!("createPartner failed: {class}"))?;
    let partner = Partner {
        id: created["createPartner"]["partner"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        key: created["createPartner"]["key"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        key_id: created["createPartner"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    };
    anyhow::ensure!(!partner.key.is_empty(), "createPartner returned no key");
    *lock(&world.partner) = Some(partner);

    // Memory sampling, faults, traffic.
    let fleet = Arc::new(Mutex::new(fleet));
    let sampled_from = Instant::now();
    let sampling = {
        let fleet = fleet.clone();
        tokio::spawn(async move {
            loop {
                lock(&fleet).sample_memory(sampled_from.elapsed());
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        })
    };
    let start = Instant::now();
    let injector = args.faults.then(|| {
        tokio::spawn(faults::inject(
            faults::plan(args.duration, instances),
            start,
            Targets {
                fleet: fleet.clone(),
                world: world.clone(),
                restart_database: args.restart_database.clone(),
            },
        ))
    });
    progress(&format!(
        "traffic: {} requests over {} s",
        schedule.len(),
        args.duration.as_secs()
    ));
    let (max_lag, unfinished) = drive(&world, schedule, seed, start).await?;
    let fault_records = match injector {
        Some(task) => task.await?,
        None => Vec::new(),
    };
    progress("traffic done; waiting for the jobs");

    // The checks.
    let run_db = db::RunDatabase::connect(&database_url).await?;
    let jobs_drained = run_db.wait_for_jobs(Duration::from_secs(120)).await?;
    if args.break_invariant {
        run_db.meter_one_generation_twice().await?;
    }
    sampling.abort();
    let peaks = lock(&fleet).peaks();
    let mut checks = checks(&world, &run_db, &peaks, args.memory_bound_mib).await?;
    let audit = lock(&fleet).one_shot(dir, &["audit", "verify"], "")?;
    // Standard output carries the verdict; standard error the logs and, on failure, why.
    let verdict = if audit.status.success() {
        String::from_utf8_lossy(&audit.stdout).into_owned()
    } else {
        String::from_utf8_lossy(&audit.stderr).into_owned()
    };
    checks.push(invariants::audit_chain(audit.status.success(), &verdict));
    if args.faults {
        checks.push(recovered(&fault_records));
    }
    run_db.close().await?;
    let starts = lock(&fleet).starts();
    let memory = lock(&fleet).per_minute();
    lock(&fleet).stop_all();
    let server_version = database_server(&args.database_url).await;
    Ok(Report {
        started_at,
        binary_profile: binary_profile.to_owned(),
        duration: args.duration,
        offered_rate: schedule.rate(),
        seed,
        instances,
        faults_on: args.faults,
        database: server_version,
        accounts: world
            .tallies()
            .get(Op::SignUp.name())
            .map_or(0, |t| t.succeeded),
        tallies: world.tallies(),
        faults: fault_records,
        checks,
        starts,
        max_lag,
        unfinished,
        mails: world.smtp.accepted(),
        provider_answers: (world.provider.answered(), world.provider.faulted()),
        jobs_drained,
        memory,
    })
}

/// The server's version line, for the report.
async fn database_server(url: &str) -> String {
    use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
    let Ok(connection) = Database::connect(url).await else {
        return "version unknown".to_owned();
    };
    let version = connection
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SHOW server_version".to_owned(),
        ))
        .await
        .ok()
        .flatten()
        .and_then(|row| row.try_get::<String>("", "server_version").ok())
        .map_or_else(
            || "version unknown".to_owned(),
            |v| format!("PostgreSQL {v}"),
        );
    let _ = connection.close().await;
    version
}

/// Starts every request of `schedule` on time (open loop), each in its own task; the
/// largest lag of a start behind its time, and how many requests had not finished 60 s
/// after the last start.
async fn drive(
    world: &Arc<World>,
    schedule: &Schedule,
    seed: u64,
    start: Instant,
) -> anyhow::Result<(Duration, usize)> {
    let mix = Mix::new(Op::MIX).map_err(anyhow::Error::msg)?;
    let mut draws = SplitMix64::new(seed ^ 0x5EED);
    let mut tasks = tokio::task::JoinSet::new();
    let mut max_lag = Duration::ZERO;
    for n in 0..schedule.len() {
        let due = start + schedule.offset(n);
        tokio::time::sleep_until(due.into()).await;
        max_lag = max_lag.max(due.elapsed());
        let op = mix.pick(draws.next_u64());
        let world = world.clone();
        tasks.spawn(async move {
            let began = Instant::now();
            let outcome = op.run(&world).await;
            world.tally(op.name(), &outcome, began.elapsed());
        });
        // Reap finished tasks as we go, so the set holds only those in flight.
        while tasks.try_join_next().is_some() {}
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !tasks.is_empty() {
        match tokio::time::timeout_at(deadline, tasks.join_next()).await {
            Ok(_) => {}
            Err(_) => break,
        }
    }
    let unfinished = tasks.len();
    tasks.abort_all();
    Ok((max_lag, unfinished))
}

/// The invariants read from the ledger and the database.
async fn checks(
    world: &World,
    run_db: &db::RunDatabase,
    peaks: &[invariants::MemoryPeak],
    bound_mib: u64,
) -> anyhow::Result<Vec<Check>> {
    let stored = run_db.generations().await?;
    let counters = run_db.counters().await?;
    let jobs = run_db.jobs().await?;
    let statuses = run_db.request_statuses().await?;
    let erased = run_db.erasures().await?;
    let ledger = lock(&world.ledger);
    let attempts = ledger.attempts();
    let rights: Vec<RightsRequest> = ledger
        .rights
        .iter()
        .map(|(id, kind)| RightsRequest {
            id: *id,
            kind,
            // A completed erasure leaves a tombstone under its request's id, and no account.
            status: match erased.get(id) {
                Some(true) => Some("COMPLETED".to_owned()),
                Some(false) => Some("tombstoned, but the account remains".to_owned()),
                None => statuses.get(id).cloned(),
            },
        })
        .collect();
    Ok(vec![
        invariants::stored_once(&attempts, &stored, &ledger.erased),
        invariants::metered_once(&attempts, &stored, &counters, &ledger.erased),
        invariants::jobs_exactly_once(&jobs, &ledger.videos(), &stored),
        invariants::revocations(&ledger.revoked_uses),
        invariants::rights_completed(&rights),
        invariants::quotas(&counters, QUOTA),
        invariants::memory(peaks, bound_mib * 1024),
    ])
}

/// Every fault was recovered from within the patience.
fn recovered(records: &[faults::Record]) -> Check {
    let lost: Vec<String> = records
        .iter()
        .filter(|r| r.recovered_after.is_none())
        .map(|r| r.fault.describe())
        .collect();
    let slowest = records
        .iter()
        .filter_map(|r| r.recovered_after)
        .max()
        .unwrap_or_default();
    Check {
        name: "the service recovered from every fault",
        passed: lost.is_empty(),
        figures: if lost.is_empty() {
            format!(
                "{} faults, slowest recovery {:.1} s",
                records.len(),
                slowest.as_secs_f64()
            )
        } else {
            format!("not recovered: {}", lost.join("; "))
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_read_with_their_unit() {
        let cases = [
            ("90s", Some(90)),
            ("10m", Some(600)),
            ("1h", Some(3600)),
            ("45", Some(45)),
            ("0s", None),
            ("10d", None),
            ("m", None),
        ];
        for (text, seconds) in cases {
            assert_eq!(
                parse_duration(text).ok(),
                seconds.map(Duration::from_secs),
                "{text}"
            );
        }
    }

    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory as _;
        Args::command().debug_assert();
        let args = Args::try_parse_from(["icecone-soak", "--duration", "10m", "--faults", "false"])
            .expect("parses");
        assert_eq!(args.duration, Duration::from_secs(600));
        assert!(!args.faults);
        assert_eq!(args.restart_database, "pg_ctlcluster 15 main restart");
    }

    #[test]
    fn an_unrecovered_fault_fails_the_run() {
        let record = |recovered_after| faults::Record {
            at: Duration::from_secs(10),
            fault: faults::Fault::RestartDatabase,
            lasting: Duration::ZERO,
            recovered_after,
            measured: "",
        };
        assert!(recovered(&[record(Some(Duration::from_secs(3)))]).passed);
        assert!(!recovered(&[record(Some(Duration::from_secs(3))), record(None)]).passed);
    }
}

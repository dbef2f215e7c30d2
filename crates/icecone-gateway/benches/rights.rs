//! The rights benchmark (issue #8): how long the export and the erasure of one person take
//! while many other people's rows exist, and whether that time grows with the person's own
//! data or with the size of the database.
//!
//! The real gateway runs in process (`Application::build`, a temporary SQLite data
//! directory, no job workers, no erasure grace period); each measured person signs up,
//! logs in, asks for an export and for the deletion of their account through its GraphQL
//! endpoint. Other people's rows and the measured person's generations are seeded with
//! multi-row inserts (seeding is not measured). The bench then runs each queued job with
//! the gateway's own job runner and handlers (`jobs::Runner::run_next` over
//! `rights::export::ExportJobs` and `erasure::job::ErasureJobs`, built as
//! `startup::Application::build` builds them) and times it.
//!
//! `cargo bench -p icecone-gateway --bench rights` runs the full plan and writes its
//! section of `docs/performance.md`; without `--bench` (`cargo test --benches`) it is a
//! smoke run with a few rows that checks the same results and leaves the page alone.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike as _, TimeDelta, Utc};
use icecone_app::jobs::Runner;
use icecone_app::keys::vault::{Field, Vault};
use icecone_app::rights::export;
use icecone_core::consent::Purpose;
use icecone_core::consent::ledger::ConsentSource;
use icecone_core::rights::{DataRequestKind, DataRequestStatus};
use icecone_core::usage::Plan;
use icecone_gateway::config::{Config, Settings};
use icecone_gateway::startup;
use icecone_store::Store;
use icecone_store::accounts::AccountRecord;
use icecone_store::sessions::NewSession;
use sea_orm::sea_query::{Alias, Expr, ExprTrait as _, Query};
use sea_orm::{ConnectionTrait as _, DatabaseConnection, TransactionTrait as _, Value};
use serde_json::{Value as Json, json};
use uuid::Uuid;

use support::{CpuTimes, Gateway, Machine, Section, count_to_f64, ticks_to_f64};

const SECTION: Section = Section {
    start: "<!-- rights-bench:start -->",
    end: "<!-- rights-bench:end -->",
};

/// The rows each other person has, table by table: 50 in all, so that 2,000 people are
/// 100,000 rows and 20,000 people are 1,000,000.
const ROWS_PER_OTHER: &[(&str, u64)] = &[
    ("data_subjects", 1),
    ("data_keys", 1),
    ("accounts", 1),
    ("email_verifications", 1),
    ("consent_ledger", 5),
    ("sessions", 2),
    ("refresh_tokens", 2),
    ("generations", 20),
    ("usage_counters", 3),
    ("audit_log", 8),
    ("data_requests", 1),
    ("data_request_events", 2),
    ("jobs", 1),
    ("notification_outbox", 2),
];

/// Sealed sizes of another person's prompt and text output, in bytes: those of the
/// measured person's (a prompt of about 160 characters, an answer of about 720, plus the
/// envelope's 48 bytes).
const OTHER_PROMPT_BYTES: usize = 210;
const OTHER_TEXT_BYTES: usize = 770;

/// The smoke run's other people and measured person's generations.
const SMOKE_OTHERS: u64 = 20;
const SMOKE_GENERATIONS: u64 = 10;
/// The measured people's password.
const PASSWORD: &str = "bench passphrase for the load run";
/// The job runner's lease owner in this bench.
const OWNER: &str = "rights-bench";
/// The most rows in one `INSERT` (SQLite allows 32,766 bound values).
const MAX_VALUES_PER_INSERT: usize = 30_000;
/// Other people seeded per transaction.
const OTHERS_PER_TRANSACTION: u64 = 500;
/// Target: export and erasure of a person with 10,000 generations, media excluded.
const TARGET: Duration = Duration::from_secs(2);
/// Target: what the largest database adds to the time of the smallest, per generation of
/// the person (before `generations` was keyed by account, the erasure took 49 µs more per
/// generation with 10,000,000 other rows than with 100,000).
const MAX_ADDED_PER_GENERATION: Duration = Duration::from_micros(10);

/// What a run measures.
#[derive(Debug)]
struct RunPlan {
    full: bool,
    /// Other people in the database at each stage, in order (the database only grows).
    stages: Vec<u64>,
    /// Generations of the measured people.
    sizes: Vec<u64>,
    /// Measured people per size and stage: each is exported and then erased.
    persons: usize,
    /// Exports of each measured person.
    exports: usize,
}

impl RunPlan {
    fn from_env() -> Self {
        if support::full_run() {
            Self {
                full: true,
                // 100,000, 1,000,000, 3,000,000 and 10,000,000 other rows: whether time
                // still grows between the two largest databases is the target.
                stages: vec![2_000, 20_000, 60_000, 200_000],
                sizes: vec![1_000, 10_000],
                persons: usize::try_from(support::positive_env("ICECONE_BENCH_PERSONS", 3))
                    .expect("ICECONE_BENCH_PERSONS fits in memory"),
                exports: 2,
            }
        } else {
            Self {
                full: false,
                stages: vec![SMOKE_OTHERS],
                sizes: vec![SMOKE_GENERATIONS],
                persons: 1,
                exports: 1,
            }
        }
    }

    fn largest_size(&self) -> u64 {
        self.sizes.iter().copied().max().unwrap_or(0)
    }
}

fn main() {
    let plan = RunPlan::from_env();
    let machine = Machine::read();
    let options = support::RunOptions::from_env(Duration::ZERO, 1, Duration::ZERO, Duration::ZERO);
    let runtime = support::load_generator();
    let report = runtime.block_on(run(&plan));
    let section = render(&plan, &report, &options.describe(&machine));
    assert!(
        report.failures.is_empty(),
        "checks failed, docs/performance.md left unchanged:\n{}\n\n{section}",
        report.failures.join("\n")
    );
    SECTION.publish(&section, plan.full, true);
}

// ---------------------------------------------------------------------------------------
// The bench's view of the gateway

/// The gateway over HTTP, and the same database, vault and job runner in the bench.
struct Bench {
    gateway: Gateway,
    store: Store,
    vault: Arc<Vault>,
    runner: Runner,
    /// The bench's own connection, for seeding and reading what the repositories do not
    /// offer.
    db: DatabaseConnection,
    others: u64,
    next_person: u64,
}

fn settings() -> Settings {
    Settings {
        // The bench runs the jobs itself, one at a time, and times them.
        job_workers: 0,
        erasure_grace: "0s".to_owned(),
        ..Settings::default()
    }
}

impl Bench {
    async fn start() -> Self {
        let gateway = support::start_gateway(settings());
        let config: Config = Settings {
            data_dir: gateway.data_dir().to_owned(),
            ..settings()
        }
        .resolve()
        .expect("the bench's settings are valid");
        // The same wiring as the gateway's; this process runs the jobs itself.
        let startup::Components {
            store,
            vault,
            runner,
            ..
        } = startup::Components::build(&config)
            .await
            .expect("the components");
        let url = format!(
            "sqlite://{}?mode=rw",
            gateway.data_dir().join("icecone.db").display()
        );
        let db = sea_orm::Database::connect(url)
            .await
            .expect("the bench's own connection to the database");
        db.execute_unprepared("PRAGMA busy_timeout = 10000")
            .await
            .expect("busy timeout");
        Self {
            gateway,
            store,
            vault,
            runner,
            db,
            others: 0,
            next_person: 0,
        }
    }

    /// Seeds other people until there are `target`.
    async fn grow_to(&mut self, target: u64) {
        let started = Instant::now();
        while self.others < target {
            let until = Ord::min(target, self.others + OTHERS_PER_TRANSACTION);
            let next_seq = self
                .store
                .audit_head()
                .await
                .expect("the audit head")
                .map_or(1, |(seq, _)| seq + 1);
            let rows = other_rows(self.others..until, next_seq);
            let txn = self.db.begin().await.expect("a seeding transaction");
            for table in &rows {
                table.insert(&txn).await;
            }
            txn.commit().await.expect("the seeding transaction commits");
            self.others = until;
        }
        note(&format!(
            "{target} other people ({} rows) seeded in {:.1} s",
            target * rows_per_other(),
            started.elapsed().as_secs_f64()
        ));
    }

    /// Rows in every table of the database, by table.
    async fn table_rows(&self) -> Vec<(String, u64)> {
        let mut counts = Vec::new();
        for name in self.store.table_names().await.expect("the table names") {
            if name.starts_with("seaql_") {
                continue;
            }
            let row = self
                .db
                .query_one(
                    &Query::select()
                        .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
                        .from(Alias::new(name.clone()))
                        .to_owned(),
                )
                .await
                .expect("a count")
                .expect("a count row");
            let n: i64 = row.try_get("", "n").expect("a number");
            counts.push((name, u64::try_from(n).unwrap_or(0)));
        }
        counts
    }

    /// A person signed up through the gateway, with two more sessions and one more consent,
    /// `generations` text generations sealed under their own key and three months of usage.
    async fn person(&mut self, generations: u64) -> Person {
        self.next_person += 1;
        let email = format!("measured-{}@bench.example", self.next_person);
        let address = self.gateway.address;
        // Sign-ups are throttled per client address, and every person comes from 127.0.0.1.
        self.db
            .execute(
                &Query::delete()
                    .from_table(Alias::new("attempt_counters"))
                    .and_where(Expr::col(Alias::new("bucket")).like("signup:addr:%"))
                    .to_owned(),
            )
            .await
            .expect("the sign-up throttle reset");
        let (token, id) = support::sign_up(address, &email).await;
        graphql(
            address,
            "mutation { setConsent(purpose: MARKETING, granted: true) { granted } }",
            json!({}),
            Some(&token),
        )
        .await;
        let id = Uuid::try_parse(&id).expect("an account id");
        let account = self
            .store
            .account(id)
            .await
            .expect("the account")
            .expect("the signed-up account exists");
        // Two more sessions, as two more log-ins would leave them.
        for _ in 0..2 {
            self.store
                .create_session(NewSession {
                    id: Uuid::new_v4(),
                    account: id,
                    auth_time: Utc::now(),
                    mfa_at: None,
                    amr: "pwd".to_owned(),
                })
                .await
                .expect("a session");
        }
        let mut rows = TableRows::generations();
        let first = Utc::now() - TimeDelta::days(30);
        let mut prompts = Vec::new();
        for n in 0..generations {
            let generation = Uuid::new_v4();
            let row = generation.to_string();
            let prompt = prompt_text(n);
            let text = output_text(n);
            let prompt_sealed = self.seal(&account, "prompt", &row, &prompt).await;
            let text_sealed = self.seal(&account, "text", &row, &text).await;
            let created = first + TimeDelta::seconds(i64::try_from(n).unwrap_or(0) * 60);
            rows.push_text_generation(generation, id, prompt_sealed, text_sealed, created);
            if n < 3 {
                prompts.push(prompt);
            }
        }
        let mut usage = TableRows::usage_counters();
        for period in periods() {
            let tokens = i64::try_from(generations).unwrap_or(0) * 77;
            usage.push_tokens(id, &period, tokens, Utc::now());
        }
        let txn = self.db.begin().await.expect("a seeding transaction");
        rows.insert(&txn).await;
        usage.insert(&txn).await;
        txn.commit().await.expect("the seeding transaction commits");
        Person {
            email,
            token,
            account,
            generations,
            first_prompts: prompts,
        }
    }

    async fn seal(&self, account: &AccountRecord, column: &str, row: &str, text: &str) -> Vec<u8> {
        self.vault
            .seal(
                account.subject,
                Field {
                    table: "generations",
                    column,
                    row_id: row,
                },
                text.as_bytes(),
            )
            .await
            .expect("a generation sealed")
    }

    /// Runs the one due job and times it.
    async fn run_job(&self) -> Measured {
        // Seeding and the requests leave pages in SQLite's write-ahead log; a job should pay
        // for its own writes only (a deployment checkpoints every 1,000 pages).
        self.db
            .execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
            .await
            .expect("a checkpoint");
        let written = bytes_written();
        let cpu = CpuTimes::now();
        let started = Instant::now();
        let ran = self.runner.run_next(OWNER).await.expect("the job runs");
        let elapsed = started.elapsed();
        let after = CpuTimes::now();
        assert!(ran, "a job was due");
        Measured {
            elapsed,
            written: bytes_written() - written,
            process_ticks: after.process - cpu.process,
            others_ticks: (after.machine_busy - cpu.machine_busy)
                .saturating_sub(after.process - cpu.process),
        }
    }

    /// Asks for an export, builds it with the job and checks the bundle.
    async fn export(&self, person: &Person, check_bundle: bool) -> (Measured, Vec<String>, u64) {
        let data = graphql(
            self.gateway.address,
            "mutation { requestDataExport { id status } }",
            json!({}),
            Some(&person.token),
        )
        .await;
        let request = Uuid::try_parse(data["requestDataExport"]["id"].as_str().unwrap_or(""))
            .expect("a data request id");
        let measured = self.run_job().await;
        let mut failures = Vec::new();
        let status = self
            .store
            .data_request(request)
            .await
            .expect("the request")
            .map(|request| request.status);
        if status != Some(DataRequestStatus::Completed) {
            failures.push(format!(
                "export of {} ended as {status:?}, not COMPLETED",
                person.email
            ));
        }
        let size = self.sealed_size(request).await;
        if check_bundle {
            failures.extend(self.check_bundle(person, request).await);
        }
        (measured, failures, size)
    }

    /// The bytes the stored bundle of `request` takes: its sealed chunks.
    async fn sealed_size(&self, request: Uuid) -> u64 {
        let rows = self
            .db
            .query_all(
                &Query::select()
                    .column(Alias::new("sealed"))
                    .from(Alias::new("data_export_chunks"))
                    .and_where(Expr::col(Alias::new("request_id")).eq(request))
                    .to_owned(),
            )
            .await
            .expect("the stored chunks");
        rows.iter()
            .map(|row| {
                let sealed = row.try_get::<Vec<u8>>("", "sealed").expect("sealed bytes");
                u64::try_from(sealed.len()).unwrap_or(0)
            })
            .sum()
    }

    /// The bundle of `request`, opened chunk by chunk as a download does (which deletes
    /// it from the store).
    async fn open_bundle(&self, person: &Person, request: Uuid) -> anyhow::Result<Vec<u8>> {
        let chunks = self
            .db
            .query_one(
                &Query::select()
                    .column(Alias::new("chunks"))
                    .from(Alias::new("data_exports"))
                    .and_where(Expr::col(Alias::new("request_id")).eq(request))
                    .to_owned(),
            )
            .await?
            .and_then(|row| row.try_get::<Option<i32>>("", "chunks").ok().flatten())
            .ok_or_else(|| anyhow::anyhow!("no chunked bundle stored"))?;
        let mut zip = Vec::new();
        let mut stream = std::pin::pin!(export::chunks(
            self.store.clone(),
            self.vault.clone(),
            person.account.clone(),
            request,
            u32::try_from(chunks)?,
        ));
        while let Some(chunk) = futures_util::StreamExt::next(&mut stream).await {
            zip.extend_from_slice(&chunk?);
        }
        Ok(zip)
    }

    /// The bundle opens, and its `export.json` holds every generation of the person with
    /// the prompts they wrote.
    async fn check_bundle(&self, person: &Person, request: Uuid) -> Vec<String> {
        let zip = match self.open_bundle(person, request).await {
            Ok(zip) => zip,
            Err(error) => return vec![format!("the bundle does not open: {error:#}")],
        };
        let document = read_export_json(&zip);
        let generations = document["generations"]
            .as_array()
            .map_or(&[][..], Vec::as_slice);
        let mut failures = Vec::new();
        if u64::try_from(generations.len()).ok() != Some(person.generations) {
            failures.push(format!(
                "the bundle holds {} generations, not {}",
                generations.len(),
                person.generations
            ));
        }
        for prompt in &person.first_prompts {
            if !generations.iter().any(|g| g["prompt"] == prompt.as_str()) {
                failures.push(format!("the bundle lacks the prompt {prompt:?}"));
            }
        }
        if document["account"]["email"] != person.email.as_str() {
            failures.push("the bundle's account is not the person's".to_owned());
        }
        failures
    }

    /// Asks for the account's deletion, runs the erasure job and checks that no row of the
    /// person is left but the audit trail's.
    async fn erase(&self, person: &Person) -> (Measured, Vec<String>) {
        graphql(
            self.gateway.address,
            "mutation D($p: String!) { requestAccountDeletion(password: $p) { id } }",
            json!({ "p": PASSWORD }),
            Some(&person.token),
        )
        .await;
        let measured = self.run_job().await;
        let account = &person.account;
        let left: Vec<String> = self
            .store
            .rows_about(account.id, account.subject, &account.email_index)
            .await
            .expect("the rows about the person")
            .into_iter()
            .filter(|(table, rows)| *rows > 0 && *table != "audit_log")
            .map(|(table, rows)| format!("{rows} rows of {table} left after the erasure"))
            .collect();
        (measured, left)
    }
}

/// A measured person.
struct Person {
    email: String,
    token: String,
    account: AccountRecord,
    generations: u64,
    first_prompts: Vec<String>,
}

fn prompt_text(n: u64) -> String {
    format!(
        "Prompt {n}: write a short, friendly paragraph for a bakery's newsletter about seasonal \
         bread, with one sentence on rye and one on spelt"
    )
}

fn output_text(n: u64) -> String {
    let sentence = "Autumn brings our favourite loaves back to the counter: a dark rye with \
                    caraway, slow-proved for a day, and a nutty spelt bread that stays soft \
                    for days. ";
    format!("Answer {n}. {}", sentence.repeat(4))
}

/// This month and the two before, as usage periods (`YYYY-MM`).
fn periods() -> Vec<String> {
    let now = Utc::now();
    (0..3)
        .map(|back| {
            let months = now.year() * 12 + i32::try_from(now.month0()).unwrap_or(0) - back;
            format!("{:04}-{:02}", months / 12, months % 12 + 1)
        })
        .collect()
}

/// `export.json` of a bundle.
fn read_export_json(zip: &[u8]) -> Json {
    use std::io::Read as _;
    let Ok(mut archive) = zip::ZipArchive::new(std::io::Cursor::new(zip)) else {
        return Json::Null;
    };
    let Ok(mut file) = archive.by_name("export.json") else {
        return Json::Null;
    };
    let mut text = String::new();
    if file.read_to_string(&mut text).is_err() {
        return Json::Null;
    }
    serde_json::from_str(&text).unwrap_or(Json::Null)
}

/// Posts a GraphQL operation and returns its `data`; panics on errors.
async fn graphql(
    address: std::net::SocketAddr,
    query: &str,
    variables: Json,
    bearer: Option<&str>,
) -> Json {
    let mut connection = support::Connection::open(address)
        .await
        .expect("a connection to the gateway");
    let request = support::post_json(
        address,
        &json!({ "query": query, "variables": variables }),
        bearer,
    );
    let (status, body) = connection
        .exchange(&request)
        .await
        .expect("the gateway answers");
    support::graphql_data(status, body).unwrap_or_else(|error| panic!("{query}: {error}"))
}

// ---------------------------------------------------------------------------------------
// Seeding other people

/// Rows of one table, inserted with multi-row `INSERT`s.
struct TableRows {
    table: &'static str,
    columns: &'static [&'static str],
    rows: Vec<Vec<Value>>,
}

impl TableRows {
    fn new(table: &'static str, columns: &'static [&'static str]) -> Self {
        Self {
            table,
            columns,
            rows: Vec::new(),
        }
    }

    /// Generations, for [`TableRows::push_text_generation`].
    fn generations() -> Self {
        Self::new(
            "generations",
            &[
                "id",
                "account_id",
                "kind",
                "status",
                "provider",
                "prompt_sealed",
                "text_sealed",
                "tokens",
                "images",
                "video_seconds",
                "created_at",
                "completed_at",
            ],
        )
    }

    /// A succeeded text generation of the `local` provider, finished two seconds after it
    /// was made.
    fn push_text_generation(
        &mut self,
        id: Uuid,
        account: Uuid,
        prompt_sealed: Vec<u8>,
        text_sealed: Vec<u8>,
        created: DateTime<Utc>,
    ) {
        self.push(vec![
            id.into(),
            account.into(),
            "TEXT".into(),
            "SUCCEEDED".into(),
            "local".into(),
            prompt_sealed.into(),
            text_sealed.into(),
            230_i64.into(),
            0_i64.into(),
            0_i64.into(),
            created.into(),
            Some(created + TimeDelta::seconds(2)).into(),
        ]);
    }

    /// Usage counters, for [`TableRows::push_tokens`].
    fn usage_counters() -> Self {
        Self::new(
            "usage_counters",
            &[
                "account_id",
                "period",
                "tokens",
                "images",
                "video_seconds",
                "updated_at",
            ],
        )
    }

    /// A month's usage of text tokens.
    fn push_tokens(&mut self, account: Uuid, period: &str, tokens: i64, at: DateTime<Utc>) {
        self.push(vec![
            account.into(),
            period.into(),
            tokens.into(),
            0_i64.into(),
            0_i64.into(),
            at.into(),
        ]);
    }

    fn push(&mut self, row: Vec<Value>) {
        debug_assert_eq!(row.len(), self.columns.len(), "a row of {}", self.table);
        self.rows.push(row);
    }

    async fn insert(&self, db: &impl sea_orm::ConnectionTrait) {
        let per_insert = (MAX_VALUES_PER_INSERT / self.columns.len()).max(1);
        for chunk in self.rows.chunks(per_insert) {
            let mut insert = Query::insert()
                .into_table(Alias::new(self.table))
                .columns(self.columns.iter().map(|column| Alias::new(*column)))
                .to_owned();
            for row in chunk {
                insert.values_panic(row.iter().cloned().map(Into::into));
            }
            db.execute(&insert)
                .await
                .unwrap_or_else(|error| panic!("seeding {} failed: {error}", self.table));
        }
    }
}

fn rows_per_other() -> u64 {
    ROWS_PER_OTHER.iter().map(|(_, rows)| rows).sum()
}

/// `len` bytes that differ from row to row (the content of a ciphertext does not matter
/// here, its size does).
fn filler(seed: Uuid, len: usize) -> Vec<u8> {
    seed.as_bytes().iter().copied().cycle().take(len).collect()
}

/// 32 bytes unique to `seed` (blind indexes and digests are unique columns).
fn digest(seed: Uuid) -> Vec<u8> {
    filler(seed, 32)
}

/// Every row of the other people numbered `people`, table by table in the order their
/// foreign keys need; audit entries numbered from `next_seq`.
#[allow(
    clippy::too_many_lines,
    reason = "one table after the other, each a handful of columns"
)]
fn other_rows(people: std::ops::Range<u64>, next_seq: u64) -> Vec<TableRows> {
    let mut subjects = TableRows::new("data_subjects", &["id", "created_at"]);
    let mut keys = TableRows::new(
        "data_keys",
        &["subject_id", "kek_version", "wrapped_key", "created_at"],
    );
    let mut accounts = TableRows::new(
        "accounts",
        &[
            "id",
            "subject_id",
            "email_sealed",
            "email_index",
            "password_hash",
            "policy_version",
            "kind",
            "created_at",
            "updated_at",
            "password_changed_at",
            "email_verified_at",
            "plan",
        ],
    );
    let mut verifications = TableRows::new(
        "email_verifications",
        &[
            "token_digest",
            "account_id",
            "email_sealed",
            "email_index",
            "created_at",
            "expires_at",
            "used_at",
        ],
    );
    let mut consent = TableRows::new(
        "consent_ledger",
        &[
            "account_id",
            "kind",
            "purpose",
            "granted",
            "policy_version",
            "source",
            "created_at",
        ],
    );
    let mut sessions = TableRows::new(
        "sessions",
        &[
            "id",
            "account_id",
            "created_at",
            "auth_time",
            "amr",
            "last_refreshed_at",
        ],
    );
    let mut refresh = TableRows::new(
        "refresh_tokens",
        &[
            "digest",
            "session_id",
            "issued_at",
            "expires_at",
            "spent_at",
        ],
    );
    let mut generations = TableRows::generations();
    let mut usage = TableRows::usage_counters();
    let mut audit = TableRows::new(
        "audit_log",
        &["seq", "at", "actor", "action", "target", "mac"],
    );
    let mut requests = TableRows::new(
        "data_requests",
        &[
            "id",
            "account_id",
            "kind",
            "status",
            "received_at",
            "due_at",
            "completed_at",
            "created_at",
            "updated_at",
        ],
    );
    let mut events = TableRows::new(
        "data_request_events",
        &[
            "id",
            "request_id",
            "at",
            "from_status",
            "to_status",
            "actor",
            "note_code",
        ],
    );
    let mut jobs = TableRows::new(
        "jobs",
        &[
            "id",
            "kind",
            "account_id",
            "subject",
            "state",
            "step",
            "attempts",
            "max_attempts",
            "run_after",
            "created_at",
            "updated_at",
        ],
    );
    let mut outbox = TableRows::new(
        "notification_outbox",
        &["id", "account_id", "kind", "created_at", "delivered_at"],
    );

    let now = Utc::now();
    let policy = icecone_core::identity::policy::CURRENT_POLICY_VERSION;
    let periods = periods();
    let staff = Uuid::new_v4();
    let mut seq = i64::try_from(next_seq).expect("an audit sequence number");
    let mut audit_row = |at: DateTime<Utc>, actor: String, action: &str, target: String| {
        audit.push(vec![
            seq.into(),
            at.into(),
            actor.into(),
            action.into(),
            target.into(),
            digest(Uuid::new_v4()).into(),
        ]);
        seq += 1;
    };
    for person in people {
        let offset = i64::try_from(person % 40_000).unwrap_or(0);
        let created = now - TimeDelta::days(29) + TimeDelta::seconds(offset * 30);
        let subject = Uuid::new_v4();
        let account = Uuid::new_v4();
        let reference = format!("account:{account}");
        subjects.push(vec![subject.into(), created.into()]);
        keys.push(vec![
            subject.into(),
            1_i32.into(),
            filler(subject, 72).into(),
            created.into(),
        ]);
        accounts.push(vec![
            account.into(),
            subject.into(),
            filler(account, 80).into(),
            digest(account).into(),
            "$argon2id$v=19$m=19456,t=2,p=1$c2VlZGVkIHNhbHQ$c2VlZGVkIGhhc2ggb2YgYSBwYXNzd29yZA"
                .into(),
            policy.into(),
            "user".into(),
            created.into(),
            created.into(),
            created.into(),
            Some(created + TimeDelta::minutes(3)).into(),
            Plan::Free.as_str().into(),
        ]);
        verifications.push(vec![
            digest(Uuid::new_v4()).into(),
            account.into(),
            filler(account, 80).into(),
            digest(account).into(),
            created.into(),
            (created + TimeDelta::days(1)).into(),
            Some(created + TimeDelta::minutes(3)).into(),
        ]);
        for (purpose, granted) in [
            (Purpose::Personalization, true),
            (Purpose::Marketing, false),
            (Purpose::Analytics, true),
            (Purpose::Improvement, false),
            (Purpose::Marketing, true),
        ] {
            consent.push(vec![
                account.into(),
                "consent".into(),
                Some(purpose.as_str()).into(),
                granted.into(),
                policy.into(),
                ConsentSource::User.as_str().into(),
                created.into(),
            ]);
        }
        for _ in 0..2 {
            let session = Uuid::new_v4();
            sessions.push(vec![
                session.into(),
                account.into(),
                created.into(),
                created.into(),
                "pwd".into(),
                created.into(),
            ]);
            refresh.push(vec![
                digest(session).into(),
                session.into(),
                created.into(),
                (created + TimeDelta::days(30)).into(),
                Option::<DateTime<Utc>>::None.into(),
            ]);
        }
        for n in 0..20 {
            let generation = Uuid::new_v4();
            let at = created + TimeDelta::minutes(n);
            generations.push_text_generation(
                generation,
                account,
                filler(generation, OTHER_PROMPT_BYTES),
                filler(generation, OTHER_TEXT_BYTES),
                at,
            );
        }
        for period in &periods {
            usage.push_tokens(account, period, 1_540, created);
        }
        let request = Uuid::new_v4();
        let request_target = format!("{reference}:dr:{}", request.simple());
        requests.push(vec![
            request.into(),
            account.into(),
            DataRequestKind::Export.as_str().into(),
            DataRequestStatus::Completed.as_str().into(),
            created.into(),
            (created + TimeDelta::days(30)).into(),
            Some(created + TimeDelta::seconds(5)).into(),
            created.into(),
            created.into(),
        ]);
        for (from, to, note) in [
            (
                DataRequestStatus::Received,
                DataRequestStatus::InProgress,
                "export_started",
            ),
            (
                DataRequestStatus::InProgress,
                DataRequestStatus::Completed,
                "export_ready",
            ),
        ] {
            events.push(vec![
                Uuid::new_v4().into(),
                request.into(),
                created.into(),
                Some(from.as_str()).into(),
                to.as_str().into(),
                "system".into(),
                Some(note).into(),
            ]);
        }
        jobs.push(vec![
            Uuid::new_v4().into(),
            export::KIND.into(),
            Some(account).into(),
            request.to_string().into(),
            "succeeded".into(),
            "done".into(),
            1_i32.into(),
            i32::try_from(export::MAX_ATTEMPTS).unwrap_or(5).into(),
            created.into(),
            created.into(),
            created.into(),
        ]);
        for kind in ["verify_email", "data_export_ready"] {
            outbox.push(vec![
                Uuid::new_v4().into(),
                account.into(),
                kind.into(),
                created.into(),
                Some(created + TimeDelta::seconds(1)).into(),
            ]);
        }
        for action in [
            "account.sign_up",
            "auth.log_in",
            "auth.log_in",
            "auth.log_in",
            "consent.given",
            "consent.given",
        ] {
            audit_row(created, reference.clone(), action, reference.clone());
        }
        audit_row(
            created,
            reference.clone(),
            "data_request.create",
            request_target,
        );
        audit_row(
            created,
            format!("staff:{staff}"),
            "staff.read_account",
            reference.clone(),
        );
    }
    vec![
        subjects,
        keys,
        accounts,
        verifications,
        consent,
        sessions,
        refresh,
        generations,
        usage,
        audit,
        requests,
        events,
        jobs,
        outbox,
    ]
}

// ---------------------------------------------------------------------------------------
// Measurements and the report

/// Bytes this process handed to `write`-like system calls (`wchar` of `/proc/self/io`):
/// SQLite's write-ahead log and its checkpoints.
fn bytes_written() -> u64 {
    let text = std::fs::read_to_string("/proc/self/io").unwrap_or_default();
    support::status_field(&text, "wchar").unwrap_or(0)
}

/// One timed job.
#[derive(Debug, Clone, Copy)]
struct Measured {
    elapsed: Duration,
    /// Bytes written during the job (`/proc/self/io`).
    written: u64,
    process_ticks: u64,
    others_ticks: u64,
}

/// The measurements of one size of person on one stage of the database.
#[derive(Debug)]
struct Cell {
    others: u64,
    generations: u64,
    database_rows: u64,
    exports: Vec<Measured>,
    erasures: Vec<Measured>,
    bundle_bytes: u64,
}

#[derive(Debug, Default)]
struct Report {
    cells: Vec<Cell>,
    /// Rows of each table when each stage was measured.
    tables: Vec<(u64, Vec<(String, u64)>)>,
    failures: Vec<String>,
    seeding: Vec<(u64, Duration)>,
    ticks_per_second: f64,
}

impl Report {
    fn cell(&self, others: u64, generations: u64) -> Option<&Cell> {
        self.cells
            .iter()
            .find(|cell| cell.others == others && cell.generations == generations)
    }
}

async fn run(plan: &RunPlan) -> Report {
    let mut bench = Bench::start().await;
    let mut report = Report {
        ticks_per_second: Machine::read().ticks_per_second,
        ..Report::default()
    };
    for &stage in &plan.stages {
        let started = Instant::now();
        bench.grow_to(stage).await;
        report.seeding.push((stage, started.elapsed()));
        for &size in &plan.sizes {
            let started = Instant::now();
            let mut persons = Vec::new();
            for _ in 0..plan.persons {
                persons.push(bench.person(size).await);
            }
            note(&format!(
                "{} people with {size} generations seeded in {:.1} s",
                plan.persons,
                started.elapsed().as_secs_f64()
            ));
            let tables = bench.table_rows().await;
            let database_rows = tables.iter().map(|(_, rows)| rows).sum();
            if size == plan.largest_size() {
                report.tables.push((stage, tables));
            }
            let mut cell = Cell {
                others: stage,
                generations: size,
                database_rows,
                exports: Vec::new(),
                erasures: Vec::new(),
                bundle_bytes: 0,
            };
            for (index, person) in persons.iter().enumerate() {
                for round in 0..plan.exports {
                    // Every bundle of the smoke run is checked, and the first of each
                    // cell of a full run (opening 10,000 generations takes a while).
                    let check = !plan.full || (index == 0 && round == 0);
                    let (measured, failures, bytes) = bench.export(person, check).await;
                    cell.exports.push(measured);
                    cell.bundle_bytes = bytes;
                    report.failures.extend(failures);
                    note(&format!(
                        "export, {size} generations, {stage} others: {:.3} s",
                        measured.elapsed.as_secs_f64()
                    ));
                }
            }
            for person in &persons {
                let (measured, failures) = bench.erase(person).await;
                cell.erasures.push(measured);
                report.failures.extend(failures);
                note(&format!(
                    "erasure, {size} generations, {stage} others: {:.3} s",
                    measured.elapsed.as_secs_f64()
                ));
            }
            report.cells.push(cell);
        }
    }
    report
}

#[allow(clippy::print_stderr, reason = "a benchmark reports its progress")]
fn note(text: &str) {
    eprintln!("rights bench: {text}");
}

/// Median, minimum and maximum of a sample.
#[derive(Debug, Clone, Copy)]
struct Spread {
    median: Duration,
    min: Duration,
    max: Duration,
}

fn spread(samples: &[Measured]) -> Spread {
    let mut times: Vec<Duration> = samples.iter().map(|m| m.elapsed).collect();
    times.sort();
    let median = match times.len() {
        0 => Duration::ZERO,
        n if n % 2 == 1 => times[n / 2],
        n => (times[n / 2 - 1] + times[n / 2]) / 2,
    };
    Spread {
        median,
        min: times.first().copied().unwrap_or_default(),
        max: times.last().copied().unwrap_or_default(),
    }
}

/// The median of the bytes each job wrote.
fn median_written(samples: &[Measured]) -> u64 {
    let mut written: Vec<u64> = samples.iter().map(|m| m.written).collect();
    written.sort_unstable();
    written.get(written.len() / 2).copied().unwrap_or(0)
}

fn seconds(duration: Duration) -> String {
    format!("{:.3} s", duration.as_secs_f64())
}

fn ratio(large: Duration, small: Duration) -> f64 {
    if small.is_zero() {
        return 0.0;
    }
    large.as_secs_f64() / small.as_secs_f64()
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "**not met**" }
}

fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[allow(
    clippy::too_many_lines,
    reason = "the section of docs/performance.md, top to bottom"
)]
fn render(plan: &RunPlan, report: &Report, machine: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let per_other = rows_per_other();
    let small = plan.stages.first().copied().unwrap_or(0);
    let large = plan.stages.last().copied().unwrap_or(0);
    let big_person = plan.largest_size();
    let small_person = plan.sizes.first().copied().unwrap_or(0);
    let _ = writeln!(
        out,
        "## Export and erasure of one person (issue #8)\n\n\
         <!-- Written by `cargo bench -p icecone-gateway --bench rights` (crates/icecone-gateway/benches/rights.rs): change the bench, not this section. -->\n\n\
         How long the export (`rights.export`) and the erasure (`rights.erasure`) of one \
         person take while other people's rows fill the database, and whether that time \
         grows with the person's own data or with the database.\n\n\
         ```sh\ncargo bench -p icecone-gateway --bench rights\n```\n\n\
         It builds in the release profile, seeds and measures for about twenty minutes, prints this \
         section and writes it into `docs/performance.md` between its markers. \
         `ICECONE_BENCH_PERSONS` (default 3) sets how many people of each size are measured \
         on each database; `ICECONE_BENCH_MACHINE` adds a description of the machine. \
         Started without `--bench` (`cargo test --benches`) it is a smoke run: {} other \
         people, one person with {} generations, the checks below, and this page left alone.\n",
        SMOKE_OTHERS, SMOKE_GENERATIONS
    );

    let _ = writeln!(out, "### Targets\n");
    let _ = writeln!(out, "| target | measured | |\n| --- | ---: | --- |");
    let big = report.cell(large, big_person);
    let big_small_db = report.cell(small, big_person);
    if let Some(cell) = big {
        let export = spread(&cell.exports);
        let erasure = spread(&cell.erasures);
        let _ = writeln!(
            out,
            "| export of a person with {} generations, {} other rows: median < 2 s | {} (max {}) | {} |",
            thousands(big_person),
            thousands(large * per_other),
            seconds(export.median),
            seconds(export.max),
            met(export.median < TARGET)
        );
        let _ = writeln!(
            out,
            "| erasure of a person with {} generations, {} other rows: median < 2 s | {} (max {}) | {} |",
            thousands(big_person),
            thousands(large * per_other),
            seconds(erasure.median),
            seconds(erasure.max),
            met(erasure.median < TARGET)
        );
        if let Some(base) = big_small_db.filter(|_| large > small) {
            for (what, now, then) in [
                ("export", export.median, spread(&base.exports).median),
                ("erasure", erasure.median, spread(&base.erasures).median),
            ] {
                let added = added_per_generation(now, then, big_person);
                let _ = writeln!(
                    out,
                    "| {what} time independent of the database: median with {} other rows at most {} µs per generation above the median with {} | {:+.1} µs | {} |",
                    thousands(large * per_other),
                    MAX_ADDED_PER_GENERATION.as_micros(),
                    thousands(small * per_other),
                    added,
                    met(added <= MAX_ADDED_PER_GENERATION.as_secs_f64() * 1e6)
                );
            }
            let _ = writeln!(
                out,
                "\nWhy per generation rather than a ratio: these jobs take a tenth of a second to \
                 half a second, and one run's medians of the same size differ by a few tens of \
                 milliseconds, so a ratio of two medians mostly measures that noise. Time that \
                 grows with the database grows with every generation the job handles: before \
                 `generations` was keyed by account the erasure took 49 µs more per generation \
                 with 10,000,000 other rows than with 100,000 (0.626 s against 0.139 s, in the \
                 run of 2026-11-29 13:59 UTC described below). The ratios of every pair of sizes are in the scaling table below."
            );
        }
    }
    let _ = writeln!(
        out,
        "\nMedia are excluded: the measured people have text generations only, so the bundle \
         holds `export.json` and no media files.\n"
    );

    let _ = writeln!(out, "### Last run\n\n{machine}\n");
    let _ = writeln!(
        out,
        "{} people of each size measured on each database; each person exported {} times \
         (one request after the other, each a new `requestDataExport` and its job), then \
         erased once. Times are the wall-clock time of the job runner's `run_next`: claiming \
         the job, the handler, recording the outcome. *Written* is the median of what the \
         process wrote during a job (`wchar` of `/proc/self/io`: SQLite's write-ahead log and \
         checkpoints).\n",
        plan.persons, plan.exports
    );
    let _ = writeln!(
        out,
        "| other people's rows | rows in the database | person's generations | export median | min | max | written | erasure median | min | max | written | bundle (sealed ZIP) |\n\
         | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for cell in &report.cells {
        let export = spread(&cell.exports);
        let erasure = spread(&cell.erasures);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {:.1} MB | {} | {} | {} | {:.1} MB | {:.1} MB |",
            thousands(cell.others * per_other),
            thousands(cell.database_rows),
            thousands(cell.generations),
            seconds(export.median),
            seconds(export.min),
            seconds(export.max),
            support::bytes_to_mb(median_written(&cell.exports)),
            seconds(erasure.median),
            seconds(erasure.min),
            seconds(erasure.max),
            support::bytes_to_mb(median_written(&cell.erasures)),
            support::bytes_to_mb(cell.bundle_bytes),
        );
    }

    let _ = writeln!(out, "\n#### Scaling\n");
    let _ = writeln!(
        out,
        "Ratios of medians from the table above; each baseline is the next smaller \
         database, measured in the same run.\n"
    );
    let _ = writeln!(
        out,
        "| | export | erasure | expected if time follows the person's data |\n| --- | ---: | ---: | ---: |"
    );
    for &size in &plan.sizes {
        for pair in plan.stages.windows(2) {
            let [lower, higher] = [pair[0], pair[1]];
            if let (Some(base), Some(cell)) = (report.cell(lower, size), report.cell(higher, size))
            {
                let _ = writeln!(
                    out,
                    "| {} generations: {} other rows ÷ {} | {:.2} × | {:.2} × | 1 × |",
                    thousands(size),
                    thousands(higher * per_other),
                    thousands(lower * per_other),
                    ratio(spread(&cell.exports).median, spread(&base.exports).median),
                    ratio(spread(&cell.erasures).median, spread(&base.erasures).median),
                );
            }
        }
    }
    for &stage in &plan.stages {
        if let (Some(base), Some(cell)) = (
            report.cell(stage, small_person),
            report.cell(stage, big_person),
        ) {
            if small_person == big_person {
                continue;
            }
            let _ = writeln!(
                out,
                "| {} other rows: {} generations ÷ {} | {:.2} × | {:.2} × | up to {:.0} × |",
                thousands(stage * per_other),
                thousands(big_person),
                thousands(small_person),
                ratio(spread(&cell.exports).median, spread(&base.exports).median),
                ratio(spread(&cell.erasures).median, spread(&base.erasures).median),
                count_to_f64(usize::try_from(big_person).unwrap_or(0))
                    / count_to_f64(usize::try_from(small_person).unwrap_or(1)),
            );
        }
    }

    let written: Vec<String> = plan
        .stages
        .iter()
        .filter_map(|&stage| {
            report.cell(stage, big_person).map(|cell| {
                format!(
                    "{:.1} MB with {} other rows",
                    support::bytes_to_mb(median_written(&cell.erasures)),
                    thousands(stage * per_other)
                )
            })
        })
        .collect();
    if written.len() > 1 {
        let _ = writeln!(
            out,
            "\nWhat an erasure of {} generations writes: {}. Deleting a generation removes its row \
             and its entry in each index of `generations`. Both indexes begin with the account \
             id — the primary key `(account_id, id)` and the owner's list `(account_id, \
             created_at)` (migration `m20261129_000014_generations_by_account`) — so the \
             person's entries sit next to each other, and the pages SQLite rewrites (and, with \
             `secure_delete`, zeroes), in the write-ahead log and again at the checkpoint, \
             follow the person's generations. Before that migration the primary key was the \
             random UUID alone, so the person's entries in it lay between everyone else's, \
             about one page per generation once the table was large (the retention purge's \
             index on `created_at` alone, also gone, did the same in a deployment, where a \
             person's generations are made between other people's), and the same erasure wrote 45.8, 108.3, 157.4 and 172.0 MB and \
             took 0.139, 0.337, 0.476 and 0.626 s with 100,000, 1,000,000, 3,000,000 and \
             10,000,000 other rows (the run of 2026-11-29 13:59 UTC, on another 2-core VM with \
             AMD EPYC CPUs: 1.32 × from 3,000,000 to 10,000,000 other rows).",
            thousands(big_person),
            written.join(", "),
        );
    }

    let all: Vec<&Measured> = report
        .cells
        .iter()
        .flat_map(|cell| cell.exports.iter().chain(cell.erasures.iter()))
        .collect();
    let busiest = all
        .iter()
        .map(|m| {
            ticks_to_f64(m.others_ticks)
                / report.ticks_per_second
                / m.elapsed.as_secs_f64().max(1e-3)
        })
        .fold(0.0_f64, f64::max);
    let job_cpu: f64 = all
        .iter()
        .map(|m| ticks_to_f64(m.process_ticks) / report.ticks_per_second)
        .sum();
    let job_wall: f64 = all.iter().map(|m| m.elapsed.as_secs_f64()).sum();
    let _ = writeln!(
        out,
        "\nDuring the timed jobs the bench process used {:.2} CPUs on average (the job runs \
         on one thread; the rest is SQLite and the idle gateway), and other processes at \
         most {busiest:.2} CPUs.\n",
        if job_wall > 0.0 {
            job_cpu / job_wall
        } else {
            0.0
        }
    );

    let _ = writeln!(out, "### The database\n");
    let _ = writeln!(
        out,
        "Other people are seeded with {per_other} rows each, so {} people are {} rows and \
         {} people {} rows:\n",
        thousands(small),
        thousands(small * per_other),
        thousands(large),
        thousands(large * per_other)
    );
    let _ = write!(out, "| table | rows per other person |");
    for &stage in &plan.stages {
        let _ = write!(out, " {} people |", thousands(stage));
    }
    let _ = write!(out, "\n| --- | ---: |");
    for _ in &plan.stages {
        let _ = write!(out, " ---: |");
    }
    out.push('\n');
    for (table, rows) in ROWS_PER_OTHER {
        let _ = write!(out, "| `{table}` | {rows} |");
        for &stage in &plan.stages {
            let _ = write!(out, " {} |", thousands(stage * rows));
        }
        out.push('\n');
    }
    let _ = write!(out, "| **total** | {per_other} |");
    for &stage in &plan.stages {
        let _ = write!(out, " **{}** |", thousands(stage * per_other));
    }
    out.push('\n');
    let _ = writeln!(
        out,
        "\nOther people's generations are text generations of the `local` provider whose \
         prompt and output columns hold {OTHER_PROMPT_BYTES} and {OTHER_TEXT_BYTES} bytes — \
         the sizes of the measured person's sealed values — filled with bytes rather than \
         sealed (nothing opens them). Their audit entries (sign-up, log-ins, consents, an \
         export request about `account:<id>:dr:<request>`, a staff read by `staff:<id>`) \
         continue the sequence numbers but carry made-up MACs: `icecone audit verify` would \
         fail on this database, which nothing in the bench runs.\n"
    );
    for (stage, tables) in &report.tables {
        let _ = writeln!(
            out,
            "Every table when the people with {} generations were measured on the database of \
             {} other people (other people's rows, plus the measured people's, plus what the \
             people measured before them left: audit entries, tombstones, job rows):\n",
            thousands(big_person),
            thousands(*stage)
        );
        let _ = writeln!(out, "| table | rows |\n| --- | ---: |");
        for (table, rows) in tables {
            if *rows > 0 {
                let _ = writeln!(out, "| `{table}` | {} |", thousands(*rows));
            }
        }
        out.push('\n');
    }

    let _ = writeln!(out, "### How it measures\n");
    let _ = writeln!(
        out,
        "- The gateway runs in process (`Application::build`, a temporary SQLite data \
         directory, the log filter `warn`) with `job_workers = 0` and `erasure_grace = 0s`. \
         The bench opens the same database, root key and vault and builds the job runner \
         with the gateway's own handlers (`ExportJobs`, `ErasureJobs`) as \
         `Application::build` does; it runs each queued job with `Runner::run_next` and \
         times that call.\n\
         - Each measured person signs up through `signUp` (consenting to `PERSONALIZATION`; the \
         bench clears the per-address sign-up throttle before each, as all come from \
         127.0.0.1), \
         has two more sessions (`Store::create_session`, as a log-in makes them), \
         consents to `MARKETING` with `setConsent`; \
         then their text generations are inserted, each prompt and output sealed by the \
         vault under the person's data key with the binding the gateway uses \
         (`generations`, `prompt`/`text`, the generation id), one a minute over the last \
         days, and three months of usage counters. The export check opens them, so they \
         are stored as the gateway stores them.\n\
         - **Export**: `requestDataExport` queues the job; the timed job moves the request \
         to `IN_PROGRESS`, reads and decrypts everything about the person (200 \
         generations a page), writes the ZIP as a stream, sealed under the person's key \
         and stored a mebibyte chunk at a time, completing the request — everything up to \
         the last stored chunk. The first \
         bundle of each row of the table is opened and checked: it holds every \
         generation, their prompts and the person's e-mail.\n\
         - **Erasure**: `requestAccountDeletion(password)` queues the job (due at once); the \
         timed job revokes the sessions, cancels the person's jobs, asks providers about \
         remote copies (none: `local` keeps nothing), destroys the data key and deletes \
         every row of the person as the personal-data registry lists them, with the \
         tombstone, in one transaction, then checkpoints SQLite's write-ahead log. \
         Afterwards `Store::rows_about` must find no row of the person but audit entries.\n\
         - A measured person's generations are inserted together, after the other people's, \
         so they fill table pages of their own. In a deployment they arrive over months \
         between other people's, one or two to a table page: an export then reads, and an \
         erasure rewrites, about one page per generation.\n\
         - Other people are seeded with multi-row `INSERT`s of {OTHERS_PER_TRANSACTION} \
         people per transaction through the bench's own sea-orm connection; seeding is not \
         timed.\n\
         - Before each timed job the bench checkpoints SQLite's write-ahead log, so that a \
         job does not pay for the seeding's writes.\n\
         - The database only grows during a run: the small database is measured first, then \
         grown to the large one. CPU times come from `/proc/self/stat` and `/proc/stat`.\n\
         - PostgreSQL is not measured by this bench yet.\n\
         - The indexes of migration `m20261129_000013_person_indexes` (the account id of \
         `jobs`, `notification_outbox`, `mfa_challenges`, `data_exports` and \
         `privacy_tickets`; the audit trail's `actor` and a prefix index on its `target`) \
         were added because this bench showed those statements reading whole tables."
    );
    let _ = writeln!(
        out,
        "\nSeeding took {}.",
        report
            .seeding
            .iter()
            .map(|(stage, took)| format!(
                "{:.0} s up to {} other people",
                took.as_secs_f64(),
                thousands(*stage)
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if !report.failures.is_empty() {
        let _ = writeln!(out, "\n**Checks that failed:**\n");
        for failure in &report.failures {
            let _ = writeln!(out, "- {failure}");
        }
    }
    out
}

/// Microseconds per generation that `now` takes longer than `then` (negative when shorter).
fn added_per_generation(now: Duration, then: Duration, generations: u64) -> f64 {
    let generations = f64::from(u32::try_from(std::cmp::max(generations, 1)).unwrap_or(u32::MAX));
    (now.as_secs_f64() - then.as_secs_f64()) * 1e6 / generations
}

//! What the harness knows during a run: the people it signed up (checked out by one
//! operation at a time), the admin and the partner, the credentials it revoked, the ledger
//! of what the gateways acknowledged (for the invariants) and the per-operation tallies
//! (for the report).

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use icecone_core::identity::totp::TotpSecret;
use uuid::Uuid;

use crate::client::Gateway;
use crate::invariants::{Amount, Answer, Attempt, Credential, RevokedUse};
use crate::provider_mock::ProviderMock;
use crate::schedule::SplitMix64;
use crate::smtp::SmtpServer;

/// Every person's password (the harness signs everyone up with it).
pub(crate) const PASSWORD: &str = "soak harness passphrase 2026";

/// A person's TOTP factor as their authenticator keeps it.
#[derive(Debug)]
pub(crate) struct Totp {
    pub(crate) secret: TotpSecret,
    /// The last 30-second step a code was used for (codes are accepted once).
    pub(crate) last_step: u64,
}

/// The current TOTP step.
pub(crate) fn current_step() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0) / 30
}

/// A person the harness signed up.
#[derive(Debug)]
pub(crate) struct Account {
    pub(crate) id: Uuid,
    pub(crate) email: String,
    /// The client address this person's requests come from.
    pub(crate) address: String,
    pub(crate) access: Option<String>,
    pub(crate) refresh: Option<String>,
    pub(crate) verified: bool,
    pub(crate) totp: Option<Totp>,
    pub(crate) granted_partner: bool,
    /// Whether an export was requested (an erasure would cancel it).
    pub(crate) exported: bool,
}

/// The admin's session (for partner keys).
#[derive(Debug)]
pub(crate) struct Admin {
    pub(crate) email: String,
    pub(crate) totp: Totp,
    pub(crate) access: Option<String>,
    /// Until when the session counts as freshly authenticated with its second factor.
    pub(crate) fresh_until: Instant,
}

/// The partner and its live key.
#[derive(Debug, Clone)]
pub(crate) struct Partner {
    pub(crate) id: String,
    pub(crate) key: String,
    pub(crate) key_id: String,
}

/// A credential whose revocation the gateway acknowledged.
#[derive(Debug, Clone)]
pub(crate) struct Revoked {
    pub(crate) credential: Credential,
    pub(crate) secret: String,
    /// When the revocation was answered (committed to the database).
    pub(crate) at: Instant,
}

/// How long after its revocation reached the database a credential may still be honoured
/// by an instance other than the one that revoked it: the gateway's read cache serves a
/// session row it read for up to two seconds (`icecone_store::read_cache::READ_CACHE_TTL`,
/// documented in ARCHITECTURE.md). Revoked credentials are used only once this has passed,
/// so an honoured use is a revocation that did not hold.
pub(crate) const REVOCATION_SPREADS_WITHIN: Duration = Duration::from_secs(2);

/// A generation request as sent and answered.
#[derive(Debug, Clone)]
pub(crate) struct SentGeneration {
    pub(crate) account: Uuid,
    pub(crate) reserved: Amount,
    pub(crate) answer: Answer,
    pub(crate) video: bool,
    pub(crate) started: Instant,
    pub(crate) ended: Instant,
}

/// What the gateways acknowledged, for the invariants.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    pub(crate) generations: Vec<SentGeneration>,
    /// Export and erasure requests acknowledged: id and kind.
    pub(crate) rights: Vec<(Uuid, &'static str)>,
    pub(crate) revoked_uses: Vec<RevokedUse>,
    /// Accounts erased or possibly erased: left out of the per-account checks.
    pub(crate) erased: HashSet<Uuid>,
    /// Database restarts: from the command's start until every instance was ready again.
    pub(crate) database_faults: Vec<(Instant, Instant)>,
}

impl Ledger {
    /// The generation attempts with whether each overlapped a database restart (a
    /// second's margin either side).
    pub(crate) fn attempts(&self) -> Vec<Attempt> {
        let margin = Duration::from_secs(1);
        self.generations
            .iter()
            .map(|sent| Attempt {
                account: sent.account,
                reserved: sent.reserved,
                answer: sent.answer,
                during_database_fault: self
                    .database_faults
                    .iter()
                    .any(|(from, to)| sent.started <= *to + margin && sent.ended + margin >= *from),
            })
            .collect()
    }

    /// The acknowledged videos.
    pub(crate) fn videos(&self) -> Vec<Uuid> {
        self.generations
            .iter()
            .filter(|sent| sent.video)
            .filter_map(|sent| match sent.answer {
                Answer::Acknowledged(id) => Some(id),
                Answer::Refused | Answer::Unanswered => None,
            })
            .collect()
    }
}

/// How one operation went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    Ok,
    /// Nothing to do it on yet (no account in the right state).
    Skipped,
    /// Failed with this error class.
    Failed(String),
}

/// One operation's tallies.
#[derive(Debug, Default, Clone)]
pub(crate) struct Tally {
    pub(crate) started: u64,
    pub(crate) succeeded: u64,
    pub(crate) skipped: u64,
    pub(crate) errors: BTreeMap<String, u64>,
    pub(crate) latencies_ms: Vec<u64>,
}

/// The run's shared state.
#[derive(Debug)]
pub(crate) struct World {
    pub(crate) gateway: Gateway,
    pub(crate) smtp: SmtpServer,
    pub(crate) provider: ProviderMock,
    pub(crate) run_id: String,
    accounts: Mutex<Vec<Account>>,
    pub(crate) admin: tokio::sync::Mutex<Admin>,
    pub(crate) partner: Mutex<Option<Partner>>,
    /// Held while the partner's key is rotated.
    pub(crate) rotation: tokio::sync::Mutex<()>,
    revoked: Mutex<Vec<Revoked>>,
    pub(crate) ledger: Mutex<Ledger>,
    tallies: Mutex<BTreeMap<&'static str, Tally>>,
    rng: Mutex<SplitMix64>,
    sequence: AtomicU64,
}

/// Locks a mutex, whatever a panicking holder left.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl World {
    pub(crate) fn new(
        gateway: Gateway,
        smtp: SmtpServer,
        provider: ProviderMock,
        run_id: String,
        admin: Admin,
        seed: u64,
    ) -> Self {
        Self {
            gateway,
            smtp,
            provider,
            run_id,
            accounts: Mutex::new(Vec::new()),
            admin: tokio::sync::Mutex::new(admin),
            partner: Mutex::new(None),
            rotation: tokio::sync::Mutex::new(()),
            revoked: Mutex::new(Vec::new()),
            ledger: Mutex::new(Ledger::default()),
            tallies: Mutex::new(BTreeMap::new()),
            rng: Mutex::new(SplitMix64::new(seed)),
            sequence: AtomicU64::new(0),
        }
    }

    /// A fresh number for names and addresses.
    pub(crate) fn next_number(&self) -> u64 {
        self.sequence.fetch_add(1, Ordering::Relaxed)
    }

    /// A random number below `bound`.
    pub(crate) fn below(&self, bound: usize) -> usize {
        lock(&self.rng).below(bound)
    }

    /// Takes a random account matching `wanted` out of the pool, for one operation.
    pub(crate) fn check_out(&self, wanted: impl Fn(&Account) -> bool) -> Option<Account> {
        let draw = self.below(usize::MAX);
        let mut accounts = lock(&self.accounts);
        let matching: Vec<usize> = (0..accounts.len())
            .filter(|&n| wanted(&accounts[n]))
            .collect();
        if matching.is_empty() {
            return None;
        }
        let index = matching[draw % matching.len()];
        Some(accounts.swap_remove(index))
    }

    /// Puts an account back in the pool.
    pub(crate) fn give_back(&self, account: Account) {
        lock(&self.accounts).push(account);
    }

    /// Records an acknowledged revocation.
    pub(crate) fn revoked(&self, credential: Credential, secret: String) {
        lock(&self.revoked).push(Revoked {
            credential,
            secret,
            at: Instant::now(),
        });
    }

    /// A random credential revoked at least [`REVOCATION_SPREADS_WITHIN`] ago.
    pub(crate) fn some_revoked(&self) -> Option<Revoked> {
        let draw = self.below(usize::MAX);
        let revoked = lock(&self.revoked);
        let settled: Vec<&Revoked> = revoked
            .iter()
            .filter(|revoked| revoked.at.elapsed() >= REVOCATION_SPREADS_WITHIN)
            .collect();
        if settled.is_empty() {
            return None;
        }
        settled
            .get(draw % settled.len())
            .map(|revoked| (*revoked).clone())
    }

    /// Records the end of one operation.
    pub(crate) fn tally(&self, operation: &'static str, outcome: &Outcome, took: Duration) {
        let mut tallies = lock(&self.tallies);
        let tally = tallies.entry(operation).or_default();
        tally.started += 1;
        match outcome {
            Outcome::Ok => {
                tally.succeeded += 1;
                tally
                    .latencies_ms
                    .push(u64::try_from(took.as_millis()).unwrap_or(u64::MAX));
            }
            Outcome::Skipped => tally.skipped += 1,
            Outcome::Failed(class) => *tally.errors.entry(class.clone()).or_default() += 1,
        }
    }

    /// The tallies so far.
    pub(crate) fn tallies(&self) -> BTreeMap<&'static str, Tally> {
        lock(&self.tallies).clone()
    }
}

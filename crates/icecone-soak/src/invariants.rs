//! The invariants a run must keep, as pure functions of what the harness observed (its
//! ledger of requests and answers) and what the database holds at the end. Each returns a
//! [`Check`]: passed or not, with the figures that show why.

use std::collections::{HashMap, HashSet};

use uuid::Uuid;

/// One invariant's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Check {
    pub(crate) name: &'static str,
    pub(crate) passed: bool,
    pub(crate) figures: String,
}

impl Check {
    fn new(name: &'static str, problems: &[String], figures: String) -> Self {
        let mut figures = figures;
        if !problems.is_empty() {
            let shown: Vec<&str> = problems.iter().take(5).map(String::as_str).collect();
            figures = format!(
                "{figures}; {} problem(s), first: {}",
                problems.len(),
                shown.join("; ")
            );
        }
        Self {
            name,
            passed: problems.is_empty(),
            figures,
        }
    }
}

/// Text tokens, images and video seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Amount {
    pub(crate) tokens: i64,
    pub(crate) images: i64,
    pub(crate) video_seconds: i64,
}

impl Amount {
    fn add(&mut self, other: Amount) {
        self.tokens += other.tokens;
        self.images += other.images;
        self.video_seconds += other.video_seconds;
    }

    fn minus(self, other: Amount) -> Amount {
        Amount {
            tokens: self.tokens - other.tokens,
            images: self.images - other.images,
            video_seconds: self.video_seconds - other.video_seconds,
        }
    }

    fn any_below(self, other: Amount) -> bool {
        self.tokens < other.tokens
            || self.images < other.images
            || self.video_seconds < other.video_seconds
    }

    fn any_above(self, other: Amount) -> bool {
        other.any_below(self)
    }
}

/// How a generation request ended for the client that sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    /// The gateway answered with this generation (stored; `QUEUED` for a video).
    Acknowledged(Uuid),
    /// The gateway answered with an error: nothing was acknowledged.
    Refused,
    /// No answer (connection lost, timeout, 5xx): it may or may not have been stored.
    Unanswered,
}

/// A generation request the harness sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Attempt {
    pub(crate) account: Uuid,
    /// What the gateway reserves for it before it runs (`Usage::reserved_for`).
    pub(crate) reserved: Amount,
    pub(crate) answer: Answer,
    /// Whether it ran while the database was being restarted: the release of what it
    /// reserved beyond its cost may have failed (the gateway then keeps the person charged
    /// the reservation, never less than the cost).
    pub(crate) during_database_fault: bool,
}

/// A row of `generations`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredGeneration {
    pub(crate) id: Uuid,
    pub(crate) account: Uuid,
    pub(crate) status: String,
    pub(crate) usage: Amount,
}

impl StoredGeneration {
    /// Whether its usage stays counted: succeeded, or still holding its reservation.
    fn counts(&self) -> bool {
        matches!(self.status.as_str(), "SUCCEEDED" | "QUEUED" | "RUNNING")
    }
}

/// `usage_counters` of one account, summed over its periods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counter {
    pub(crate) account: Uuid,
    pub(crate) used: Amount,
}

/// Every generation acknowledged to a client is stored, once, for that client's account; an
/// account holds no more generations than it was acknowledged plus those it sent without an
/// answer. Accounts in `excluded` (erased, or possibly erased) are left out.
pub(crate) fn stored_once(
    attempts: &[Attempt],
    stored: &[StoredGeneration],
    excluded: &HashSet<Uuid>,
) -> Check {
    let by_id: HashMap<Uuid, &StoredGeneration> = stored.iter().map(|row| (row.id, row)).collect();
    let mut problems = Vec::new();
    let mut acknowledged = HashSet::new();
    let mut allowed: HashMap<Uuid, usize> = HashMap::new();
    for attempt in attempts.iter().filter(|a| !excluded.contains(&a.account)) {
        match attempt.answer {
            Answer::Acknowledged(id) => {
                if !acknowledged.insert(id) {
                    problems.push(format!("generation {id} acknowledged twice"));
                }
                match by_id.get(&id) {
                    None => problems.push(format!("acknowledged generation {id} is not stored")),
                    Some(row) if row.account != attempt.account => {
                        problems.push(format!("generation {id} is stored for another account"));
                    }
                    Some(_) => {}
                }
                *allowed.entry(attempt.account).or_default() += 1;
            }
            Answer::Unanswered => *allowed.entry(attempt.account).or_default() += 1,
            Answer::Refused => {
                allowed.entry(attempt.account).or_default();
            }
        }
    }
    let mut rows: HashMap<Uuid, usize> = HashMap::new();
    for row in stored.iter().filter(|row| !excluded.contains(&row.account)) {
        *rows.entry(row.account).or_default() += 1;
    }
    for (account, count) in &rows {
        let bound = allowed.get(account).copied().unwrap_or(0);
        if *count > bound {
            problems.push(format!(
                "account {account} holds {count} generations for {bound} sent"
            ));
        }
    }
    let unanswered = attempts
        .iter()
        .filter(|a| !excluded.contains(&a.account) && a.answer == Answer::Unanswered)
        .count();
    Check::new(
        "every acknowledged generation is stored once",
        &problems,
        format!(
            "{} acknowledged, {} stored for {} accounts, {unanswered} sent without an answer",
            acknowledged.len(),
            rows.values().sum::<usize>(),
            rows.len()
        ),
    )
}

/// Every stored generation is metered once: per account, the usage counters equal the
/// usage of its counted generations, except that a reservation whose release may have been
/// lost (a request refused or unanswered, a generation that failed, or one that ran while
/// the database restarted) may stay charged. Metering less than was stored fails, and so
/// does metering more than that allowance.
pub(crate) fn metered_once(
    attempts: &[Attempt],
    stored: &[StoredGeneration],
    counters: &[Counter],
    excluded: &HashSet<Uuid>,
) -> Check {
    let by_id: HashMap<Uuid, &StoredGeneration> = stored.iter().map(|row| (row.id, row)).collect();
    let mut billed: HashMap<Uuid, Amount> = HashMap::new();
    for row in stored.iter().filter(|row| row.counts()) {
        billed.entry(row.account).or_default().add(row.usage);
    }
    let mut allowance: HashMap<Uuid, Amount> = HashMap::new();
    for attempt in attempts {
        let may_leak = match attempt.answer {
            Answer::Acknowledged(id) => {
                attempt.during_database_fault || by_id.get(&id).is_some_and(|row| !row.counts())
            }
            Answer::Refused | Answer::Unanswered => true,
        };
        let entry = allowance.entry(attempt.account).or_default();
        if may_leak {
            entry.add(attempt.reserved);
        }
    }
    let metered: HashMap<Uuid, Amount> = counters.iter().map(|c| (c.account, c.used)).collect();
    let accounts: HashSet<Uuid> = billed
        .keys()
        .chain(metered.keys())
        .filter(|account| !excluded.contains(account))
        .copied()
        .collect();
    let mut problems = Vec::new();
    let mut exact = 0usize;
    for account in &accounts {
        let counted = metered.get(account).copied().unwrap_or_default();
        let owed = billed.get(account).copied().unwrap_or_default();
        let excess = counted.minus(owed);
        let allowed = allowance.get(account).copied().unwrap_or_default();
        if excess.any_below(Amount::default()) {
            problems.push(format!(
                "account {account} metered {counted:?} for stored {owed:?} (less)"
            ));
        } else if excess.any_above(allowed) {
            problems.push(format!(
                "account {account} metered {counted:?} for stored {owed:?}, beyond an allowance of {allowed:?}"
            ));
        } else if excess == Amount::default() {
            exact += 1;
        }
    }
    Check::new(
        "every stored generation is metered once",
        &problems,
        format!(
            "{} accounts: {exact} metered exactly, {} within the allowance of lost releases",
            accounts.len(),
            accounts.len().saturating_sub(exact + problems.len())
        ),
    )
}

/// A row of `jobs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JobRow {
    pub(crate) id: Uuid,
    pub(crate) kind: String,
    pub(crate) subject: String,
    pub(crate) state: String,
}

/// No job is lost — every job has ended, and every acknowledged video has its one job,
/// whose end agrees with the video's — and none completes twice: no two jobs of one kind
/// for one subject, and no successful job for a video that did not succeed.
pub(crate) fn jobs_exactly_once(
    jobs: &[JobRow],
    videos: &[Uuid],
    stored: &[StoredGeneration],
) -> Check {
    let mut problems = Vec::new();
    let mut per_subject: HashMap<(&str, &str), Vec<&JobRow>> = HashMap::new();
    for job in jobs {
        if !matches!(job.state.as_str(), "succeeded" | "failed" | "cancelled") {
            problems.push(format!(
                "job {} ({}) is still {}",
                job.id, job.kind, job.state
            ));
        }
        per_subject
            .entry((job.kind.as_str(), job.subject.as_str()))
            .or_default()
            .push(job);
    }
    for ((kind, subject), found) in &per_subject {
        if found.len() > 1 {
            problems.push(format!("{} jobs of kind {kind} for {subject}", found.len()));
        }
    }
    let by_id: HashMap<Uuid, &StoredGeneration> = stored.iter().map(|row| (row.id, row)).collect();
    let mut succeeded = 0usize;
    for video in videos {
        let Some(row) = by_id.get(video) else {
            // Erased with its account, or not stored: `stored_once` judges the latter.
            continue;
        };
        let subject = video.to_string();
        let Some(found) = per_subject.get(&("video_generation", subject.as_str())) else {
            problems.push(format!("video {video} has no job"));
            continue;
        };
        let job_succeeded = found.iter().any(|job| job.state == "succeeded");
        match (row.status.as_str(), job_succeeded) {
            ("SUCCEEDED", true) => succeeded += 1,
            ("FAILED" | "CANCELLED", false) => {}
            (status, job_succeeded) => problems.push(format!(
                "video {video} is {status} but its job {} succeed",
                if job_succeeded { "did" } else { "did not" }
            )),
        }
    }
    let ended = jobs
        .iter()
        .filter(|job| matches!(job.state.as_str(), "succeeded" | "failed" | "cancelled"))
        .count();
    Check::new(
        "no job lost, none completed twice",
        &problems,
        format!(
            "{} jobs, {ended} ended; {} acknowledged videos, {succeeded} succeeded with their one job",
            jobs.len(),
            videos.len()
        ),
    )
}

/// What `icecone audit verify` said: its output line, and whether it exited with success.
pub(crate) fn audit_chain(exit_success: bool, output: &str) -> Check {
    let line = output.lines().last().unwrap_or("").trim().to_owned();
    let problems = if exit_success && line.starts_with("audit trail intact") {
        Vec::new()
    } else {
        vec![format!("`icecone audit verify` said: {line}")]
    };
    Check::new("the audit chain verifies", &problems, line)
}

/// What a revoked credential was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Credential {
    /// A session's access token, after `logOut` was acknowledged.
    AccessToken,
    /// That session's refresh token.
    RefreshToken,
    /// A partner API key, after `revokePartnerKey` was acknowledged.
    PartnerKey,
}

/// One use of a revoked credential, made after its revocation was acknowledged (so after
/// it reached the database).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RevokedUse {
    pub(crate) credential: Credential,
    /// Whether the gateway served it.
    pub(crate) honoured: bool,
}

/// No revoked session or partner key was honoured after its revocation reached the
/// database. A run that never used a revoked credential has not shown it, and fails.
pub(crate) fn revocations(uses: &[RevokedUse]) -> Check {
    let mut problems = Vec::new();
    let mut tally: std::collections::BTreeMap<Credential, (usize, usize)> = Default::default();
    for use_ in uses {
        let entry = tally.entry(use_.credential).or_default();
        if use_.honoured {
            entry.1 += 1;
        } else {
            entry.0 += 1;
        }
    }
    for (credential, (_, honoured)) in &tally {
        if *honoured > 0 {
            problems.push(format!(
                "{honoured} use(s) of a revoked {credential:?} honoured"
            ));
        }
    }
    if uses.is_empty() {
        problems.push("no revoked credential was used: not shown".to_owned());
    }
    let figures = tally
        .iter()
        .map(|(credential, (refused, honoured))| {
            format!("{credential:?}: {refused} refused, {honoured} honoured")
        })
        .collect::<Vec<_>>()
        .join("; ");
    Check::new(
        "no revoked session or partner key was honoured",
        &problems,
        figures,
    )
}

/// A data subject request the harness made and had acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RightsRequest {
    pub(crate) id: Uuid,
    /// `EXPORT` or `ERASURE`.
    pub(crate) kind: &'static str,
    /// Its status in `data_requests` at the end; `None` when there is no row.
    pub(crate) status: Option<String>,
}

/// Every export and erasure acknowledged to its requester completed.
pub(crate) fn rights_completed(requests: &[RightsRequest]) -> Check {
    let mut problems = Vec::new();
    let mut done: std::collections::BTreeMap<&str, (usize, usize)> = Default::default();
    for request in requests {
        let entry = done.entry(request.kind).or_default();
        entry.1 += 1;
        match request.status.as_deref() {
            Some("COMPLETED") => entry.0 += 1,
            other => problems.push(format!(
                "{} request {} is {}",
                request.kind,
                request.id,
                other.unwrap_or("missing")
            )),
        }
    }
    if requests.is_empty() {
        problems.push("no export or erasure was acknowledged: not shown".to_owned());
    }
    let figures = done
        .iter()
        .map(|(kind, (completed, all))| format!("{kind}: {completed} of {all} completed"))
        .collect::<Vec<_>>()
        .join("; ");
    Check::new("every export and erasure completed", &problems, figures)
}

/// No account's usage went beyond its quota: the reservation is taken within the quota
/// before a request runs, and what a text used is settled within what was reserved.
pub(crate) fn quotas(counters: &[Counter], quota: Amount) -> Check {
    let mut problems = Vec::new();
    let mut at_limit = 0usize;
    for counter in counters {
        if counter.used.any_above(quota) {
            problems.push(format!(
                "account {} used {:?} of {quota:?}",
                counter.account, counter.used
            ));
        } else if counter.used.images == quota.images
            || counter.used.video_seconds == quota.video_seconds
        {
            at_limit += 1;
        }
    }
    Check::new(
        "no quota exceeded beyond its reservation",
        &problems,
        format!(
            "{} accounts metered, {at_limit} at a limit of {quota:?}",
            counters.len()
        ),
    )
}

/// The resident memory of one instance slot over the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MemoryPeak {
    pub(crate) instance: String,
    pub(crate) max_kib: u64,
    pub(crate) samples: usize,
}

/// Every instance's resident memory (VmRSS) stayed under `bound_kib` in every sample.
pub(crate) fn memory(peaks: &[MemoryPeak], bound_kib: u64) -> Check {
    let mut problems = Vec::new();
    for peak in peaks {
        if peak.samples == 0 {
            problems.push(format!("{}: never sampled", peak.instance));
        } else if peak.max_kib >= bound_kib {
            problems.push(format!(
                "{}: {} MiB at its peak",
                peak.instance,
                peak.max_kib / 1024
            ));
        }
    }
    if peaks.is_empty() {
        problems.push("no instance was sampled".to_owned());
    }
    let figures = peaks
        .iter()
        .map(|peak| {
            format!(
                "{}: peak {:.1} MiB over {} samples",
                peak.instance,
                kib_as_mib(peak.max_kib),
                peak.samples
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    Check::new(
        "resident memory stayed under its bound",
        &problems,
        format!("bound {} MiB; {figures}", bound_kib / 1024),
    )
}

#[allow(
    clippy::cast_precision_loss,
    reason = "memory sizes in KiB are far below 2^52"
)]
fn kib_as_mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    const TEXT: Amount = Amount {
        tokens: 40,
        images: 0,
        video_seconds: 0,
    };
    const IMAGE: Amount = Amount {
        tokens: 0,
        images: 1,
        video_seconds: 0,
    };

    fn attempt(account: u128, reserved: Amount, answer: Answer) -> Attempt {
        Attempt {
            account: id(account),
            reserved,
            answer,
            during_database_fault: false,
        }
    }

    fn row(generation: u128, account: u128, status: &str, usage: Amount) -> StoredGeneration {
        StoredGeneration {
            id: id(generation),
            account: id(account),
            status: status.to_owned(),
            usage,
        }
    }

    fn counter(account: u128, used: Amount) -> Counter {
        Counter {
            account: id(account),
            used,
        }
    }

    fn used(tokens: i64) -> Amount {
        Amount {
            tokens,
            ..Amount::default()
        }
    }

    #[test]
    fn stored_once_judges_acknowledged_and_unanswered_generations() {
        let acked = |g| Answer::Acknowledged(id(g));
        let none = HashSet::new();
        // (what happened, what is stored, passes)
        let cases: Vec<(&str, Vec<Attempt>, Vec<StoredGeneration>, bool)> = vec![
            (
                "each acknowledged generation stored",
                vec![attempt(1, TEXT, acked(10)), attempt(1, IMAGE, acked(11))],
                vec![
                    row(10, 1, "SUCCEEDED", used(30)),
                    row(11, 1, "SUCCEEDED", IMAGE),
                ],
                true,
            ),
            (
                "an acknowledged generation missing",
                vec![attempt(1, TEXT, acked(10)), attempt(1, TEXT, acked(11))],
                vec![row(10, 1, "SUCCEEDED", used(30))],
                false,
            ),
            (
                "an unanswered request may have been stored",
                vec![
                    attempt(1, TEXT, acked(10)),
                    attempt(1, TEXT, Answer::Unanswered),
                ],
                vec![
                    row(10, 1, "SUCCEEDED", used(30)),
                    row(12, 1, "SUCCEEDED", used(30)),
                ],
                true,
            ),
            (
                "a refused request must not be stored",
                vec![
                    attempt(1, TEXT, acked(10)),
                    attempt(1, TEXT, Answer::Refused),
                ],
                vec![
                    row(10, 1, "SUCCEEDED", used(30)),
                    row(12, 1, "SUCCEEDED", used(30)),
                ],
                false,
            ),
            (
                "stored twice: one request, two rows",
                vec![attempt(1, TEXT, acked(10))],
                vec![
                    row(10, 1, "SUCCEEDED", used(30)),
                    row(13, 1, "SUCCEEDED", used(30)),
                ],
                false,
            ),
            (
                "stored for someone else",
                vec![attempt(1, TEXT, acked(10))],
                vec![row(10, 2, "SUCCEEDED", used(30))],
                false,
            ),
            (
                "the same id acknowledged twice",
                vec![attempt(1, TEXT, acked(10)), attempt(1, TEXT, acked(10))],
                vec![row(10, 1, "SUCCEEDED", used(30))],
                false,
            ),
        ];
        for (name, attempts, stored, passes) in cases {
            let check = stored_once(&attempts, &stored, &none);
            assert_eq!(check.passed, passes, "{name}: {}", check.figures);
        }
        // An erased account's generations are gone with it.
        let erased: HashSet<Uuid> = [id(1)].into();
        let check = stored_once(
            &[attempt(1, TEXT, Answer::Acknowledged(id(10)))],
            &[],
            &erased,
        );
        assert!(check.passed, "{}", check.figures);
    }

    /// What was sent, what is stored, what is metered, and whether that passes.
    type MeteringCase = (
        &'static str,
        Vec<Attempt>,
        Vec<StoredGeneration>,
        Vec<Counter>,
        bool,
    );

    #[test]
    fn metered_once_allows_only_lost_releases_beyond_the_stored_usage() {
        let acked = |g| Answer::Acknowledged(id(g));
        let none = HashSet::new();
        let ok_text = || vec![attempt(1, TEXT, acked(10))];
        let stored = || vec![row(10, 1, "SUCCEEDED", used(30))];
        let mut during_fault = attempt(1, TEXT, acked(10));
        during_fault.during_database_fault = true;
        let cases: Vec<MeteringCase> = vec![
            (
                "metered exactly",
                ok_text(),
                stored(),
                vec![counter(1, used(30))],
                true,
            ),
            (
                "metered twice",
                ok_text(),
                stored(),
                vec![counter(1, used(60))],
                false,
            ),
            (
                "metered less",
                ok_text(),
                stored(),
                vec![counter(1, used(29))],
                false,
            ),
            ("not metered at all", ok_text(), stored(), vec![], false),
            (
                "a reservation kept after a refusal",
                vec![
                    attempt(1, TEXT, acked(10)),
                    attempt(1, TEXT, Answer::Refused),
                ],
                stored(),
                vec![counter(1, used(70))],
                true,
            ),
            (
                "more kept than a refusal reserved",
                vec![
                    attempt(1, TEXT, acked(10)),
                    attempt(1, TEXT, Answer::Refused),
                ],
                stored(),
                vec![counter(1, used(71))],
                false,
            ),
            (
                "the excess of a success during a database restart kept",
                vec![during_fault],
                stored(),
                vec![counter(1, used(70))],
                true,
            ),
            (
                "a failed video's seconds given back",
                vec![attempt(
                    1,
                    Amount {
                        video_seconds: 4,
                        ..Amount::default()
                    },
                    acked(20),
                )],
                vec![row(
                    20,
                    1,
                    "FAILED",
                    Amount {
                        video_seconds: 4,
                        ..Amount::default()
                    },
                )],
                vec![counter(1, Amount::default())],
                true,
            ),
            (
                "a queued video holds its seconds",
                vec![attempt(
                    1,
                    Amount {
                        video_seconds: 4,
                        ..Amount::default()
                    },
                    acked(20),
                )],
                vec![row(
                    20,
                    1,
                    "QUEUED",
                    Amount {
                        video_seconds: 4,
                        ..Amount::default()
                    },
                )],
                vec![counter(1, Amount::default())],
                false,
            ),
            (
                "an image metered as tokens",
                vec![attempt(1, IMAGE, acked(11))],
                vec![row(11, 1, "SUCCEEDED", IMAGE)],
                vec![counter(1, used(1))],
                false,
            ),
        ];
        for (name, attempts, stored, counters, passes) in cases {
            let check = metered_once(&attempts, &stored, &counters, &none);
            assert_eq!(check.passed, passes, "{name}: {}", check.figures);
        }
    }

    fn job(n: u128, kind: &str, subject: u128, state: &str) -> JobRow {
        JobRow {
            id: id(n),
            kind: kind.to_owned(),
            subject: id(subject).to_string(),
            state: state.to_owned(),
        }
    }

    #[test]
    fn jobs_are_neither_lost_nor_completed_twice() {
        let video = |status: &str| vec![row(20, 1, status, IMAGE)];
        let cases: Vec<(&str, Vec<JobRow>, Vec<StoredGeneration>, bool)> = vec![
            (
                "one job, succeeded with its video",
                vec![job(1, "video_generation", 20, "succeeded")],
                video("SUCCEEDED"),
                true,
            ),
            (
                "one job, failed with its video",
                vec![job(1, "video_generation", 20, "failed")],
                video("FAILED"),
                true,
            ),
            (
                "no job for an acknowledged video",
                vec![],
                video("SUCCEEDED"),
                false,
            ),
            (
                "a job still running at the end",
                vec![job(1, "video_generation", 20, "running")],
                video("RUNNING"),
                false,
            ),
            (
                "a job queued at the end",
                vec![job(1, "rights.export", 30, "queued")],
                vec![],
                false,
            ),
            (
                "two jobs for one video",
                vec![
                    job(1, "video_generation", 20, "succeeded"),
                    job(2, "video_generation", 20, "succeeded"),
                ],
                video("SUCCEEDED"),
                false,
            ),
            (
                "the job succeeded, the video did not",
                vec![job(1, "video_generation", 20, "succeeded")],
                video("FAILED"),
                false,
            ),
            (
                "the video succeeded without its job",
                vec![job(1, "video_generation", 20, "failed")],
                video("SUCCEEDED"),
                false,
            ),
            (
                "two export jobs for one request",
                vec![
                    job(1, "rights.export", 30, "succeeded"),
                    job(2, "rights.export", 30, "succeeded"),
                ],
                vec![],
                false,
            ),
        ];
        for (name, jobs, stored, passes) in cases {
            let check = jobs_exactly_once(&jobs, &[id(20)], &stored);
            assert_eq!(check.passed, passes, "{name}: {}", check.figures);
        }
    }

    #[test]
    fn the_audit_check_reads_the_verifier() {
        let cases = [
            (
                true,
                "audit trail intact: 12 entries; head: entry 12 with MAC ab",
                true,
            ),
            (false, "icecone: entry 7 was edited", false),
            (true, "", false),
        ];
        for (success, output, passes) in cases {
            assert_eq!(audit_chain(success, output).passed, passes, "{output}");
        }
    }

    #[test]
    fn a_revoked_credential_honoured_once_fails_the_run() {
        let refused = |credential| RevokedUse {
            credential,
            honoured: false,
        };
        let honoured = |credential| RevokedUse {
            credential,
            honoured: true,
        };
        let cases: Vec<(Vec<RevokedUse>, bool)> = vec![
            (
                vec![
                    refused(Credential::AccessToken),
                    refused(Credential::PartnerKey),
                ],
                true,
            ),
            (
                vec![
                    refused(Credential::AccessToken),
                    honoured(Credential::RefreshToken),
                ],
                false,
            ),
            (vec![honoured(Credential::PartnerKey)], false),
            (vec![], false),
        ];
        for (uses, passes) in cases {
            let check = revocations(&uses);
            assert_eq!(check.passed, passes, "{uses:?}: {}", check.figures);
        }
    }

    #[test]
    fn every_acknowledged_export_and_erasure_must_complete() {
        let request = |kind, status: Option<&str>| RightsRequest {
            id: id(1),
            kind,
            status: status.map(str::to_owned),
        };
        let cases: Vec<(Vec<RightsRequest>, bool)> = vec![
            (
                vec![
                    request("EXPORT", Some("COMPLETED")),
                    request("ERASURE", Some("COMPLETED")),
                ],
                true,
            ),
            (vec![request("EXPORT", Some("IN_PROGRESS"))], false),
            (vec![request("ERASURE", Some("RECEIVED"))], false),
            (vec![request("EXPORT", None)], false),
            (vec![], false),
        ];
        for (requests, passes) in cases {
            let check = rights_completed(&requests);
            assert_eq!(check.passed, passes, "{requests:?}: {}", check.figures);
        }
    }

    #[test]
    fn usage_beyond_the_quota_fails() {
        let quota = Amount {
            tokens: 1000,
            images: 5,
            video_seconds: 8,
        };
        let cases = [
            (
                Amount {
                    tokens: 1000,
                    images: 5,
                    video_seconds: 8,
                },
                true,
            ),
            (
                Amount {
                    tokens: 10,
                    images: 0,
                    video_seconds: 0,
                },
                true,
            ),
            (
                Amount {
                    tokens: 1001,
                    images: 0,
                    video_seconds: 0,
                },
                false,
            ),
            (
                Amount {
                    tokens: 0,
                    images: 6,
                    video_seconds: 0,
                },
                false,
            ),
            (
                Amount {
                    tokens: 0,
                    images: 0,
                    video_seconds: 12,
                },
                false,
            ),
        ];
        for (used, passes) in cases {
            let check = quotas(&[counter(1, used)], quota);
            assert_eq!(check.passed, passes, "{used:?}: {}", check.figures);
        }
    }

    #[test]
    fn memory_over_the_bound_or_never_sampled_fails() {
        let peak = |max_kib, samples| MemoryPeak {
            instance: "icecone-1".to_owned(),
            max_kib,
            samples,
        };
        let cases = [
            (vec![peak(100_000, 30)], true),
            (vec![peak(100_000, 30), peak(600_000, 30)], false),
            (vec![peak(0, 0)], false),
            (vec![], false),
        ];
        for (peaks, passes) in cases {
            let check = memory(&peaks, 512 * 1024);
            assert_eq!(check.passed, passes, "{peaks:?}: {}", check.figures);
        }
    }
}

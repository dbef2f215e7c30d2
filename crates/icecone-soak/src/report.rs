//! The run's report, in Markdown: the set-up, each invariant's result, offered and
//! achieved rate per operation, error classes, faults with their recovery times.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use crate::faults::Record;
use crate::invariants::Check;
use crate::world::Tally;

/// Everything the report says.
#[derive(Debug)]
pub(crate) struct Report {
    pub(crate) started_at: String,
    pub(crate) binary_profile: String,
    pub(crate) duration: Duration,
    pub(crate) offered_rate: f64,
    pub(crate) seed: u64,
    pub(crate) instances: usize,
    pub(crate) faults_on: bool,
    pub(crate) database: String,
    pub(crate) tallies: BTreeMap<&'static str, Tally>,
    pub(crate) faults: Vec<Record>,
    pub(crate) checks: Vec<Check>,
    pub(crate) starts: Vec<(String, usize)>,
    pub(crate) max_lag: Duration,
    pub(crate) unfinished: usize,
    pub(crate) accounts: u64,
    pub(crate) mails: u64,
    pub(crate) provider_answers: (u64, u64),
    pub(crate) jobs_drained: bool,
    /// Each instance's largest resident memory (KiB) per minute of the run.
    pub(crate) memory: Vec<(String, Vec<u64>)>,
}

fn per_second(count: u64, duration: Duration) -> f64 {
    #[allow(
        clippy::cast_precision_loss,
        reason = "request counts are far below 2^52"
    )]
    let count = count as f64;
    count / duration.as_secs_f64().max(1e-9)
}

fn percentile(sorted: &[u64], percent: usize) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let index = (sorted.len() * percent).div_ceil(100).saturating_sub(1);
    sorted.get(index.min(sorted.len() - 1)).copied()
}

fn seconds(duration: Duration) -> String {
    format!("{:.1} s", duration.as_secs_f64())
}

impl Report {
    /// Whether every invariant held.
    pub(crate) fn passed(&self) -> bool {
        self.checks.iter().all(|check| check.passed)
    }

    /// The report as Markdown.
    pub(crate) fn markdown(&self) -> String {
        let mut out = String::new();
        let verdict = if self.passed() { "PASS" } else { "FAIL" };
        let _ = writeln!(out, "### Soak run of {} — {verdict}\n", self.started_at);
        let _ = writeln!(
            out,
            "- `icecone` binary: {} build; {} instances on one PostgreSQL ({})",
            self.binary_profile, self.instances, self.database
        );
        let _ = writeln!(
            out,
            "- {} of open-loop traffic at {:.1} requests/s offered (seed {}); faults {}",
            seconds(self.duration),
            self.offered_rate,
            self.seed,
            if self.faults_on { "on" } else { "off" }
        );
        let _ = writeln!(
            out,
            "- the scheduler started every request within {} ms of its time; {} request(s) unfinished 60 s after the last start",
            self.max_lag.as_millis(),
            self.unfinished
        );
        let _ = writeln!(
            out,
            "- {} people signed up; {} messages accepted by the SMTP server; the provider mock answered {} requests and faulted {}",
            self.accounts, self.mails, self.provider_answers.0, self.provider_answers.1
        );
        let starts: Vec<String> = self
            .starts
            .iter()
            .map(|(name, n)| format!("{name} started {n}×"))
            .collect();
        let _ = writeln!(
            out,
            "- {}; jobs drained after the run: {}\n",
            starts.join(", "),
            if self.jobs_drained { "yes" } else { "no" }
        );

        let _ = writeln!(out, "#### Invariants\n");
        let _ = writeln!(out, "| Invariant | Result | Figures |\n|---|---|---|");
        for check in &self.checks {
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                check.name,
                if check.passed { "PASS" } else { "FAIL" },
                check.figures.replace('|', "/")
            );
        }

        let _ = writeln!(out, "\n#### Operations\n");
        let _ = writeln!(
            out,
            "Offered: requests started per second (on schedule, whatever the answers). Achieved: \
             requests that succeeded per second. Skipped: no person in the state it needs yet \
             (for example no verified person for a video).\n"
        );
        let _ = writeln!(
            out,
            "| Operation | Offered | Offered/s | Succeeded | Achieved/s | Skipped | Failed | p50 ms | p99 ms |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        let mut total = Tally::default();
        for (name, tally) in &self.tallies {
            let mut sorted = tally.latencies_ms.clone();
            sorted.sort_unstable();
            let failed: u64 = tally.errors.values().sum();
            let _ = writeln!(
                out,
                "| {name} | {} | {:.2} | {} | {:.2} | {} | {failed} | {} | {} |",
                tally.started,
                per_second(tally.started, self.duration),
                tally.succeeded,
                per_second(tally.succeeded, self.duration),
                tally.skipped,
                percentile(&sorted, 50).map_or("–".to_owned(), |v| v.to_string()),
                percentile(&sorted, 99).map_or("–".to_owned(), |v| v.to_string()),
            );
            total.started += tally.started;
            total.succeeded += tally.succeeded;
            total.skipped += tally.skipped;
            for (class, count) in &tally.errors {
                *total.errors.entry(class.clone()).or_default() += count;
            }
        }
        let _ = writeln!(
            out,
            "| **all** | {} | {:.2} | {} | {:.2} | {} | {} | | |",
            total.started,
            per_second(total.started, self.duration),
            total.succeeded,
            per_second(total.succeeded, self.duration),
            total.skipped,
            total.errors.values().sum::<u64>()
        );

        let _ = writeln!(out, "\n#### Error classes\n");
        let _ = writeln!(
            out,
            "`graphql:CODE` is a typed refusal or error, `http:N` a status without a GraphQL \
             answer, `transport:*` no answer at all (a connection refused by a killed instance is \
             tried on the next instance first and counts only when every instance refused).\n"
        );
        let _ = writeln!(out, "| Class | Count | Operations |\n|---|---:|---|");
        for (class, count) in &total.errors {
            let ops: Vec<String> = self
                .tallies
                .iter()
                .filter_map(|(name, tally)| tally.errors.get(class).map(|n| format!("{name} {n}")))
                .collect();
            let _ = writeln!(out, "| {class} | {count} | {} |", ops.join(", "));
        }

        let _ = writeln!(
            out,
            "\n#### Resident memory per minute (MiB, largest sample)\n"
        );
        let minutes = self.memory.iter().map(|(_, m)| m.len()).max().unwrap_or(0);
        let header: Vec<String> = (0..minutes).map(|m| format!("{}", m + 1)).collect();
        let _ = writeln!(
            out,
            "| Instance | {} |\n|---|{}",
            header.join(" | "),
            "---:|".repeat(minutes)
        );
        for (name, per_minute) in &self.memory {
            let cells: Vec<String> = (0..minutes)
                .map(|m| match per_minute.get(m) {
                    Some(kib) if *kib > 0 => (kib / 1024).to_string(),
                    _ => "–".to_owned(),
                })
                .collect();
            let _ = writeln!(out, "| {name} | {} |", cells.join(" | "));
        }

        let _ = writeln!(out, "\n#### Faults\n");
        if self.faults.is_empty() {
            let _ = writeln!(out, "None injected (faults off).");
        } else {
            let _ = writeln!(
                out,
                "| At | Fault | Lasting | Recovered after | Survived | Recovery measured |\n|---:|---|---:|---:|---|---|"
            );
            for record in &self.faults {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {} |",
                    seconds(record.at),
                    record.fault.describe(),
                    seconds(record.lasting),
                    record.recovered_after.map_or("–".to_owned(), seconds),
                    if record.recovered_after.is_some() {
                        "yes"
                    } else {
                        "NO"
                    },
                    record.measured
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let sorted: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&sorted, 50), Some(50));
        assert_eq!(percentile(&sorted, 99), Some(99));
        assert_eq!(percentile(&[7], 99), Some(7));
        assert_eq!(percentile(&[], 50), None);
    }
}

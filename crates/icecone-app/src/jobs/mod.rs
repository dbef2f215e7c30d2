//! The durable job runner: workers that claim due jobs from the store, run them through the
//! handler of their kind and record the outcome — on one instance or many.
//!
//! A worker claims a job with a lease (`job_lease_seconds`) and renews it while the handler
//! runs; if the renewal finds the lease gone (the job was cancelled, or the worker stalled
//! so long that another took it over), the handler's future is dropped and nothing more is
//! recorded. Handlers are written as idempotent steps: the step a job reached is stored with
//! it ([`Leased::advance`]), and a job taken over after a crash resumes from that step.
//!
//! A handler answers an [`Outcome`]: done; again later at a step (a provider still busy);
//! a transient failure, retried with exponential backoff until the job's attempts run out;
//! or a permanent failure. When a job fails for good — permanently, out of attempts, or
//! past its deadline — [`JobHandler::give_up`] lets the handler undo what it reserved
//! before the job is marked failed. Failures are recorded as codes, never messages.
//!
//! Every kind of job declares, step by step, what it does with the personal data of the
//! person it acts for ([`JobHandler::steps`], a [`StepUse`] per step): a purpose, the
//! person's own rights, or nothing personal. Before each step — when a job is claimed, and
//! when a handler moves on to the next step ([`Leased::advance`]) — the runner asks the
//! consent decision (`icecone_core::consent::background::gate`, which asks `may_process`,
//! the decision GraphQL fields ask) with the person's ledger as it stands in the database:
//! a step whose purpose is restricted is **held** until the restriction is lifted (or the
//! job's deadline passes), a step whose consent is missing — withdrawn, objected to, never
//! given — gives the job up ([`CONSENT_REQUIRED`]), and a step the kind does not declare is
//! never run ([`UNDECLARED_STEP`]). A runner refuses a handler that declares no step.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use icecone_core::consent::background::{Gate, StepUse, gate};
use icecone_core::consent::policy::PolicyHistory;
use icecone_store::Store;
use icecone_store::jobs::JobRecord;
use uuid::Uuid;

use crate::consent;
use crate::settings::JobsConfig;

/// The error code of a job that ran past its deadline.
pub const TIMEOUT: &str = "TIMEOUT";
/// The error code of a job that failed inside the gateway (store, vault).
pub const INTERNAL: &str = "INTERNAL";
/// The error code of a job whose kind no handler knows.
pub const UNKNOWN_KIND: &str = "UNKNOWN_JOB_KIND";
/// The error code of a job at a step its kind does not declare: it is never run.
pub const UNDECLARED_STEP: &str = "UNDECLARED_STEP";
/// The error code of a job given up because the consent its next step rests on is missing
/// (withdrawn, objected to, or never given).
pub const CONSENT_REQUIRED: &str = "CONSENT_REQUIRED";
/// The code a held job carries while processing is restricted.
pub const PROCESSING_RESTRICTED: &str = "PROCESSING_RESTRICTED";
/// The step a job ends at when it succeeded.
pub const DONE: &str = "done";
/// The longest wait between retries of a transient failure.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// What a handler's run of a job came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Finished.
    Done,
    /// Run again at `step` after `after` (a provider that is still working).
    Later {
        /// The step to resume at.
        step: &'static str,
        /// How long to wait.
        after: Duration,
    },
    /// Failed in a way worth retrying (a provider that is unavailable, a store that failed).
    Retry {
        /// Why, as a code.
        code: &'static str,
    },
    /// Failed for good.
    Failed {
        /// Why, as a code.
        code: &'static str,
    },
}

/// One step of a kind of job, and what it does with the personal data of the person the
/// job acts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// The step's name, as recorded on the job.
    pub name: &'static str,
    /// What it does with personal data.
    pub uses: StepUse,
}

/// A handler that declares no step: a runner refuses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the job kind `{0}` does not declare what its steps do with personal data")]
pub struct UndeclaredJobKind(pub &'static str);

/// What the consent decision makes of a job's next step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Run,
    Hold,
    GiveUp(&'static str),
}

/// Asks the consent decision whether `record`'s step may run, with the ledger of the person
/// it acts for read from the database (not the read cache: a change made through another
/// instance counts at once).
async fn verdict(
    store: &Store,
    steps: &[Step],
    record: &JobRecord,
    history: PolicyHistory,
) -> anyhow::Result<Verdict> {
    let Some(step) = steps.iter().find(|step| step.name == record.step) else {
        return Ok(Verdict::GiveUp(UNDECLARED_STEP));
    };
    let state = match record.account {
        Some(account) => Some(consent::state_now(store, account).await?),
        None => None,
    };
    Ok(match gate(step.uses, state.as_ref(), history.versions()) {
        Gate::Run => Verdict::Run,
        Gate::Hold(_) => Verdict::Hold,
        Gate::Cancel(_) => Verdict::GiveUp(CONSENT_REQUIRED),
    })
}

/// A job under this worker's lease, as a handler sees it.
pub struct Leased<'a> {
    store: &'a Store,
    record: JobRecord,
    owner: &'a str,
    steps: &'static [Step],
    history: PolicyHistory,
    /// Set when the consent decision stopped the job at the step it advanced to.
    stopped: Option<Verdict>,
}

impl fmt::Debug for Leased<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Leased")
            .field("record", &self.record)
            .field("owner", &self.owner)
            .finish_non_exhaustive()
    }
}

impl Leased<'_> {
    /// The job as it was claimed (its step updated by [`Leased::advance`]).
    pub fn record(&self) -> &JobRecord {
        &self.record
    }

    /// Records that the job reached `step`, then asks the consent decision whether that
    /// step may run. `false` when the lease is gone, or when the step may not run now (the
    /// runner then holds or gives up the job at it): the handler must stop, changing
    /// nothing more.
    pub async fn advance(&mut self, step: &str) -> anyhow::Result<bool> {
        let held = self
            .store
            .advance_job_step(self.record.id, self.owner, step, now())
            .await?;
        if !held {
            return Ok(false);
        }
        step.clone_into(&mut self.record.step);
        self.record.attempts = 1;
        match verdict(self.store, self.steps, &self.record, self.history).await? {
            Verdict::Run => Ok(true),
            stop => {
                self.stopped = Some(stop);
                Ok(false)
            }
        }
    }
}

/// The handler of one kind of job.
pub trait JobHandler: fmt::Debug + Send + Sync {
    /// The kind of job it runs.
    fn kind(&self) -> &'static str;
    /// Every step it records, with what each does with the personal data of the person
    /// the job acts for. The runner asks the consent decision before each, and never runs
    /// a step that is not here.
    fn steps(&self) -> &'static [Step];
    /// Runs the job from its recorded step. An error is a transient failure ([`INTERNAL`]).
    fn run<'a>(&'a self, job: &'a mut Leased<'_>) -> BoxFuture<'a, anyhow::Result<Outcome>>;
    /// The job fails for good with `code`: undo what it holds (a reservation, a provider's
    /// job). Called before the job is marked failed, so it may run again after a crash:
    /// it must be idempotent.
    fn give_up<'a>(
        &'a self,
        job: &'a JobRecord,
        code: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<()>>;
}

/// Now, to the microsecond (what PostgreSQL keeps).
fn now() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}

fn after(duration: Duration) -> DateTime<Utc> {
    now() + chrono::TimeDelta::from_std(duration).unwrap_or(chrono::TimeDelta::MAX)
}

/// How long to wait before the next attempt after `attempts` failed ones: the poll interval
/// doubled per attempt, at most [`MAX_BACKOFF`].
pub fn backoff(poll_interval: Duration, attempts: u32) -> Duration {
    let exponent = attempts.saturating_sub(1).min(16);
    poll_interval.saturating_mul(1 << exponent).min(MAX_BACKOFF)
}

/// The job runner: its handlers by kind, the store and its settings.
pub struct Runner {
    store: Store,
    handlers: HashMap<&'static str, Arc<dyn JobHandler>>,
    config: JobsConfig,
    instance: Uuid,
    history: PolicyHistory,
}

impl fmt::Debug for Runner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runner")
            .field("kinds", &self.handlers.keys().collect::<Vec<_>>())
            .field("config", &self.config)
            .field("instance", &self.instance)
            .finish_non_exhaustive()
    }
}

impl Runner {
    /// A runner over `handlers` (one per kind).
    ///
    /// # Errors
    /// [`UndeclaredJobKind`] when a handler declares no step.
    pub fn new(
        store: Store,
        handlers: Vec<Arc<dyn JobHandler>>,
        config: JobsConfig,
    ) -> Result<Self, UndeclaredJobKind> {
        if let Some(handler) = handlers.iter().find(|handler| handler.steps().is_empty()) {
            return Err(UndeclaredJobKind(handler.kind()));
        }
        Ok(Self {
            store,
            handlers: handlers
                .into_iter()
                .map(|handler| (handler.kind(), handler))
                .collect(),
            config,
            instance: Uuid::new_v4(),
            history: PolicyHistory::published(),
        })
    }

    /// The runner deciding under `history` instead of the published policy history.
    pub fn with_policy(mut self, history: PolicyHistory) -> Self {
        self.history = history;
        self
    }

    /// The kinds of job this runner has a handler for, sorted.
    pub fn kinds(&self) -> Vec<&'static str> {
        let mut kinds: Vec<_> = self.handlers.keys().copied().collect();
        kinds.sort_unstable();
        kinds
    }

    /// Starts the workers; each claims and runs jobs until aborted.
    pub fn spawn(self) -> Vec<tokio::task::JoinHandle<()>> {
        let runner = Arc::new(self);
        (0..runner.config.workers)
            .map(|index| {
                let runner = runner.clone();
                tokio::spawn(async move {
                    let owner = format!("{}/{index}", runner.instance);
                    loop {
                        match runner.run_next(&owner).await {
                            Ok(true) => {}
                            Ok(false) => tokio::time::sleep(runner.config.poll_interval).await,
                            Err(error) => {
                                tracing::warn!(
                                    error = format!("{error:#}"),
                                    "the job worker could not claim or record a job"
                                );
                                tokio::time::sleep(runner.config.poll_interval).await;
                            }
                        }
                    }
                })
            })
            .collect()
    }

    /// Claims and runs one due job as `owner`; `false` when none was due.
    pub async fn run_next(&self, owner: &str) -> anyhow::Result<bool> {
        let Some(record) = self
            .store
            .claim_job(owner, now(), after(self.config.lease))
            .await?
        else {
            return Ok(false);
        };
        let span = tracing::info_span!(
            "job",
            job = %record.id,
            kind = %record.kind,
            step = %record.step,
            attempt = record.attempts
        );
        tracing::Instrument::instrument(self.run(record, owner), span).await?;
        Ok(true)
    }

    async fn run(&self, record: JobRecord, owner: &str) -> anyhow::Result<()> {
        let Some(handler) = self.handlers.get(record.kind.as_str()).cloned() else {
            tracing::error!("no handler for this kind of job");
            self.store
                .fail_job(record.id, owner, UNKNOWN_KIND, None, now())
                .await?;
            return Ok(());
        };
        if record.deadline.is_some_and(|deadline| deadline <= now()) {
            tracing::warn!("the job ran past its deadline");
            return self.give_up(&*handler, &record, owner, TIMEOUT).await;
        }
        let steps = handler.steps();
        match verdict(&self.store, steps, &record, self.history).await? {
            Verdict::Run => {}
            stop => return self.stop(&*handler, &record, owner, stop).await,
        }
        let id = record.id;
        let attempts = record.attempts;
        let max_attempts = record.max_attempts;
        let mut leased = Leased {
            store: &self.store,
            record,
            owner,
            steps,
            history: self.history,
            stopped: None,
        };
        let outcome = {
            let run = handler.run(&mut leased);
            tokio::pin!(run);
            let mut renewals = tokio::time::interval(self.config.lease / 3);
            renewals.tick().await;
            loop {
                tokio::select! {
                    outcome = &mut run => break Some(outcome),
                    _ = renewals.tick() => {
                        if !self.store.extend_job_lease(id, owner, after(self.config.lease), now()).await? {
                            break None;
                        }
                    }
                }
            }
        };
        let (record, stopped) = (leased.record, leased.stopped);
        let Some(outcome) = outcome else {
            tracing::info!("the job's lease was lost (cancelled or taken over): stopped");
            return Ok(());
        };
        if let Some(stop) = stopped {
            // The handler advanced to a step the person's consent does not allow now.
            return self.stop(&*handler, &record, owner, stop).await;
        }
        let outcome = outcome.unwrap_or_else(|error| {
            tracing::warn!(
                error = format!("{error:#}"),
                "the job failed inside the gateway"
            );
            Outcome::Retry { code: INTERNAL }
        });
        let held = match outcome {
            Outcome::Done => self.store.complete_job(id, owner, DONE, now()).await?,
            Outcome::Later { step, after: wait } => {
                self.store
                    .reschedule_job(id, owner, step, after(wait), now())
                    .await?
            }
            Outcome::Retry { code } if attempts < max_attempts => {
                let wait = backoff(self.config.poll_interval, attempts);
                tracing::info!(
                    code,
                    retry_in_ms = wait.as_millis(),
                    "the job will be retried"
                );
                self.store
                    .fail_job(id, owner, code, Some(after(wait)), now())
                    .await?
            }
            Outcome::Retry { code } | Outcome::Failed { code } => {
                self.give_up(&*handler, &record, owner, code).await?;
                return Ok(());
            }
        };
        if !held {
            tracing::info!("the job's lease was lost before its outcome was recorded");
        }
        Ok(())
    }

    /// Holds or gives up a job whose step may not run.
    async fn stop(
        &self,
        handler: &dyn JobHandler,
        record: &JobRecord,
        owner: &str,
        verdict: Verdict,
    ) -> anyhow::Result<()> {
        match verdict {
            Verdict::Run => Ok(()),
            Verdict::Hold => {
                tracing::info!("the job is held: the person restricted processing");
                if !self
                    .store
                    .hold_job(record.id, owner, PROCESSING_RESTRICTED, now())
                    .await?
                {
                    tracing::info!("the job's lease was lost before it was held");
                }
                Ok(())
            }
            Verdict::GiveUp(code) => self.give_up(handler, record, owner, code).await,
        }
    }

    async fn give_up(
        &self,
        handler: &dyn JobHandler,
        record: &JobRecord,
        owner: &str,
        code: &str,
    ) -> anyhow::Result<()> {
        tracing::warn!(code, "the job failed");
        handler.give_up(record, code).await?;
        self.store
            .fail_job(record.id, owner, code, None, now())
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_up_to_a_ceiling() {
        let second = Duration::from_secs(1);
        assert_eq!(backoff(second, 0), second);
        assert_eq!(backoff(second, 1), second);
        assert_eq!(backoff(second, 2), 2 * second);
        assert_eq!(backoff(second, 4), 8 * second);
        assert_eq!(backoff(second, 30), MAX_BACKOFF);
    }
}

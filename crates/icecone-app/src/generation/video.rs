//! The video generation job (`video_generation`): a queued video generation submitted,
//! followed and stored, in idempotent steps recorded on the job.
//!
//! | step | what it does | resumed after a crash |
//! | --- | --- | --- |
//! | `submit` | rebuilds the request (prompt and image URL opened with the owner's key, the duration as stored with the generation), minimises its prompt again when it was accepted for minimisation (with the owner's identifiers as they are now; what was withheld recorded on the generation), sends it through the router; a provider job's id is stored on the generation (`RUNNING`) before the step moves on; a synchronous answer is stored at once | a generation that already has a provider job id goes on to `poll`, so it is not submitted twice |
//! | `poll` | asks the provider; still running: polled again after `job_poll_interval_ms`; an output in the answer is stored; an output at a temporary URL is fetched (`icecone_provider_http::fetch::MediaFetcher`: at most `max_output_bytes`, only from a destination the outbound address policy allows, else `UNSAFE_OUTPUT_URL`), sealed and stored; the generation is `SUCCEEDED` | a generation already `SUCCEEDED` goes on to `delete_remote`: nothing is fetched twice |
//! | `delete_remote` | asks the provider to delete its copy and records what became of it on the generation (`DELETED`, `NOTHING_KEPT`, `NOT_SUPPORTED` — then the provider's declared output retention applies — or `DELETE_FAILED` after the retries) | asked again (deleting is idempotent at the providers) |
//!
//! Transient provider failures are retried with backoff up to [`MAX_ATTEMPTS`] claims
//! without progress; permanent ones fail the generation with a code (`PROVIDER_FAILED`
//! when the provider reports the job failed, `OUTPUT_GONE` when the output's URL no longer
//! serves it, ...). A generation failing before it produced an output gets its reserved
//! video seconds back, once (the failure is one conditional update). Past the deadline the
//! job fails with `TIMEOUT` and the provider's job is cancelled.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use icecone_core::consent::Purpose;
use icecone_core::consent::background::StepUse;
use icecone_core::generation::{GenerationKind, GenerationStatus, RemoteCopy};
use icecone_core::provider::adapter::{
    GenerationRequest, JobHandle, JobStatus, MediaUrl, Output, Prompt, ProviderAdapter,
    ProviderError, Submission, VideoRequest,
};
use icecone_provider_http::fetch::MediaFetcher;
use icecone_store::Store;
use icecone_store::accounts::AccountRecord;
use icecone_store::generations::{GenerationRecord, SealedMedia};
use icecone_store::jobs::JobRecord;
use uuid::Uuid;

use super::remote::{self, CopyDeletion};
use super::{now, open, open_text, release, seal};
use crate::analytics::{self, Analytics, Happened};
use crate::jobs::{JobHandler, Leased, Outcome, Step};
use crate::keys::vault::Vault;
use crate::providers::router::{RouteError, Router};
use crate::settings::JobsConfig;

/// The kind of the job.
pub const KIND: &str = "video_generation";
/// The first step: send the request.
pub const SUBMIT: &str = "submit";
/// Follow the provider's job until it has an output, and store it.
pub const POLL: &str = "poll";
/// Ask the provider to delete its copy.
pub const DELETE_REMOTE: &str = "delete_remote";
/// Claims without progress before a video generation fails for good.
pub const MAX_ATTEMPTS: u32 = 5;
/// What each step does with the person's data: submitting and following the generation
/// is processing for `AI_GENERATION` (held while the person restricts processing);
/// asking the provider to delete its copy ends processing, which the law requires
/// (storage limitation), so it goes on under restriction.
pub const STEPS: &[Step] = &[
    Step {
        name: SUBMIT,
        uses: StepUse::Process(Purpose::AiGeneration),
    },
    Step {
        name: POLL,
        uses: StepUse::Process(Purpose::AiGeneration),
    },
    Step {
        name: DELETE_REMOTE,
        uses: StepUse::Process(Purpose::LegalCompliance),
    },
];

/// The provider reports that the job failed.
pub const PROVIDER_FAILED: &str = "PROVIDER_FAILED";
/// The provider cancelled the job.
pub const PROVIDER_CANCELLED: &str = "PROVIDER_CANCELLED";
/// The output's temporary URL no longer serves it.
pub const OUTPUT_GONE: &str = "OUTPUT_GONE";
/// The output's URL (or a redirect from it) leads where the gateway does not connect: a
/// loopback, private, link-local, metadata or other non-public address, or plain HTTP in
/// production. Nothing was requested there.
pub const UNSAFE_OUTPUT_URL: &str = "UNSAFE_OUTPUT_URL";

/// The code a provider error fails a generation with.
pub fn code_of(error: &ProviderError) -> &'static str {
    match error {
        ProviderError::Unauthorized => "PROVIDER_UNAUTHORIZED",
        ProviderError::RateLimited { .. } => "PROVIDER_RATE_LIMITED",
        ProviderError::QuotaExhausted => "PROVIDER_QUOTA_EXHAUSTED",
        ProviderError::Unavailable { .. } | ProviderError::Connect => "PROVIDER_UNAVAILABLE",
        ProviderError::Timeout => "PROVIDER_TIMEOUT",
        ProviderError::Malformed => "PROVIDER_MALFORMED",
        ProviderError::ContentPolicy => "CONTENT_POLICY",
        ProviderError::InvalidRequest(_) => "INVALID_REQUEST",
        ProviderError::JobFailed => PROVIDER_FAILED,
        ProviderError::UnknownJob => "UNKNOWN_JOB",
        ProviderError::OutputGone => OUTPUT_GONE,
        ProviderError::UnsafeUrl => UNSAFE_OUTPUT_URL,
        _ => "PROVIDER_ERROR",
    }
}

/// Retry a transient provider error, fail on a permanent one.
fn outcome_of(error: &ProviderError) -> Outcome {
    let code = code_of(error);
    if error.is_transient() {
        Outcome::Retry { code }
    } else {
        Outcome::Failed { code }
    }
}

/// The handler of `video_generation` jobs.
#[derive(Debug)]
pub struct VideoJobs {
    store: Store,
    vault: Arc<Vault>,
    router: Arc<Router>,
    config: JobsConfig,
    fetcher: MediaFetcher,
    /// Counts how each video ended, for people whose analytics consent counts.
    analytics: Option<Arc<Analytics>>,
}

impl VideoJobs {
    /// The handler over the store, the vault (the owner's prompt, input and output), the
    /// router and the job settings (poll interval, largest output); `fetcher` fetches
    /// outputs from providers' URLs.
    pub fn new(
        store: Store,
        vault: Arc<Vault>,
        router: Arc<Router>,
        config: JobsConfig,
        fetcher: MediaFetcher,
    ) -> Self {
        Self {
            store,
            vault,
            router,
            config,
            fetcher,
            analytics: None,
        }
    }

    /// The handler counting how each video ended through `analytics` (its request was
    /// counted when it was accepted).
    pub fn with_analytics(mut self, analytics: Arc<Analytics>) -> Self {
        self.analytics = Some(analytics);
        self
    }

    /// Counts how the video `record` of `owner` ended.
    async fn count(&self, owner: &AccountRecord, outcome: analytics::Outcome) {
        if let Some(analytics) = &self.analytics {
            let ended = Happened::QueuedGenerationEnded {
                kind: GenerationKind::Video,
                outcome,
            };
            analytics.capture(owner.id, &ended).await;
        }
    }

    /// The generation and its owner a job is about; `None` when either is gone.
    async fn subject(
        &self,
        job: &JobRecord,
    ) -> anyhow::Result<Option<(AccountRecord, GenerationRecord)>> {
        let (Some(account), Ok(id)) = (job.account, Uuid::try_parse(&job.subject)) else {
            anyhow::bail!("a video job without an account or generation id");
        };
        let Some(owner) = self.store.account(account).await? else {
            return Ok(None);
        };
        Ok(self
            .store
            .generation_of(account, id)
            .await?
            .map(|record| (owner, record)))
    }

    fn adapter(&self, record: &GenerationRecord) -> anyhow::Result<Arc<dyn ProviderAdapter>> {
        self.router
            .adapter(&record.provider)
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("a generation names a provider this gateway lacks"))
    }

    /// The request as it was accepted, opened with the owner's key.
    async fn request(
        &self,
        owner: &AccountRecord,
        record: &GenerationRecord,
    ) -> anyhow::Result<GenerationRequest> {
        let prompt = open_text(
            &self.vault,
            owner.subject,
            record.id,
            "prompt",
            &record.prompt_sealed,
        )
        .await?;
        let prompt = Prompt::parse(&prompt)
            .map_err(|_| anyhow::anyhow!("a stored prompt is no longer a valid prompt"))?;
        let image = match self.store.generation_input(owner.id, record.id).await? {
            Some(sealed) => {
                let url = open(&self.vault, owner.subject, record.id, "input", &sealed).await?;
                let url = String::from_utf8(url)
                    .map_err(|_| anyhow::anyhow!("a sealed image URL is not UTF-8"))?;
                Some(
                    MediaUrl::parse(&url)
                        .map_err(|_| anyhow::anyhow!("a stored image URL no longer parses"))?,
                )
            }
            None => None,
        };
        Ok(GenerationRequest::Video(VideoRequest {
            prompt,
            image,
            duration_seconds: record.duration_seconds.ok_or_else(|| {
                anyhow::anyhow!("a video generation without its requested duration")
            })?,
        }))
    }

    /// Seals and stores an output; `false` when the generation ended or was deleted
    /// meanwhile.
    async fn store_output(
        &self,
        owner: &AccountRecord,
        record: &GenerationRecord,
        output: Output,
    ) -> anyhow::Result<bool> {
        let Output::Media { bytes, mime_type } = output else {
            anyhow::bail!("a video provider answered text");
        };
        let sealed = seal(
            &self.vault,
            owner.subject,
            "media",
            &record.id.to_string(),
            &bytes,
        )
        .await?;
        let finished_at = now();
        let stored = self
            .store
            .finish_generation_media(
                owner.id,
                record.id,
                SealedMedia {
                    sealed,
                    media_type: mime_type.to_owned(),
                },
                finished_at,
            )
            .await?;
        if stored {
            let latency = (finished_at - record.created_at)
                .to_std()
                .unwrap_or_default();
            let outcome = analytics::Outcome::Succeeded {
                provider: record.provider.clone(),
                latency,
            };
            self.count(owner, outcome).await;
        }
        Ok(stored)
    }

    /// The request as it is sent: minimised again when the generation was accepted with
    /// minimisation (its redactions recorded), as written otherwise. The mapping is not
    /// needed — a video is only redacted — and is dropped here.
    async fn to_send(
        &self,
        owner: &AccountRecord,
        record: &GenerationRecord,
        request: GenerationRequest,
    ) -> anyhow::Result<Result<GenerationRequest, RouteError>> {
        let Some(accepted) = &record.redactions else {
            return Ok(Ok(request));
        };
        let own = super::minimise::own_identifiers(&self.vault, owner).await?;
        let minimised = match super::minimise::request(&request, &own) {
            Ok(minimised) => minimised,
            Err(refused) => return Ok(Err(refused)),
        };
        if minimised.redactions != *accepted {
            self.store
                .record_redactions(owner.id, record.id, &minimised.redactions)
                .await?;
        }
        Ok(Ok(minimised.request))
    }

    async fn submit(
        &self,
        job: &mut Leased<'_>,
        owner: &AccountRecord,
        record: &GenerationRecord,
    ) -> anyhow::Result<Outcome> {
        let request = self.request(owner, record).await?;
        let routed = match self.to_send(owner, record, request).await? {
            Ok(request) => self.router.route(&request, Some(&record.provider)).await,
            Err(refused) => Err(refused),
        };
        let routed = match routed {
            Ok(routed) => routed,
            Err(RouteError::ProviderUnavailable { .. }) => {
                return Ok(Outcome::Retry {
                    code: "PROVIDER_UNAVAILABLE",
                });
            }
            Err(RouteError::NoCompliantProvider { .. } | RouteError::UnknownProvider) => {
                return Ok(Outcome::Failed {
                    code: "NO_COMPLIANT_PROVIDER",
                });
            }
            Err(RouteError::Refused(error)) => return Ok(outcome_of(&error)),
        };
        match routed.submission {
            Submission::Done(output) => {
                self.store_output(owner, record, output).await?;
                Ok(Outcome::Done)
            }
            Submission::Pending(handle) => {
                if !self
                    .store
                    .start_generation(owner.id, record.id, Some(handle.as_str()))
                    .await?
                {
                    // Deleted (or cancelled) while it was being submitted: the provider's
                    // job must not outlive it.
                    let adapter = self.adapter(record)?;
                    remote::forget(&*adapter, &handle, true).await;
                    return Ok(Outcome::Done);
                }
                if !job.advance(POLL).await? {
                    return Ok(Outcome::Done);
                }
                Ok(Outcome::Later {
                    step: POLL,
                    after: self.config.poll_interval,
                })
            }
        }
    }

    async fn poll(
        &self,
        job: &mut Leased<'_>,
        owner: &AccountRecord,
        record: &GenerationRecord,
    ) -> anyhow::Result<Outcome> {
        let Some(handle) = record.provider_job_id.clone().map(JobHandle::new) else {
            anyhow::bail!("a polled video generation has no provider job id");
        };
        let adapter = self.adapter(record)?;
        let timeout = self.router.attempt_timeout();
        let status = tokio::time::timeout(timeout, adapter.poll(&handle))
            .await
            .unwrap_or(Err(ProviderError::Timeout));
        let output = match status {
            Err(error) => return Ok(outcome_of(&error)),
            Ok(JobStatus::Running) => {
                if record.status == GenerationStatus::Queued {
                    self.store
                        .start_generation(owner.id, record.id, None)
                        .await?;
                }
                return Ok(Outcome::Later {
                    step: POLL,
                    after: self.config.poll_interval,
                });
            }
            Ok(JobStatus::Cancelled) => {
                return Ok(Outcome::Failed {
                    code: PROVIDER_CANCELLED,
                });
            }
            Ok(JobStatus::Done(output)) => output,
            Ok(JobStatus::Ready(remote)) => {
                let fetched = tokio::time::timeout(
                    timeout,
                    self.fetcher
                        .fetch(&remote.url, self.config.max_output_bytes),
                )
                .await
                .unwrap_or(Err(ProviderError::Timeout));
                match fetched {
                    Ok(output) => output,
                    Err(error) => {
                        tracing::warn!(origin = remote.url.origin(), error = %error, "a provider's output could not be fetched");
                        return Ok(outcome_of(&error));
                    }
                }
            }
        };
        self.store_output(owner, record, output).await?;
        if !job.advance(DELETE_REMOTE).await? {
            return Ok(Outcome::Done);
        }
        self.delete_remote(job, owner, record).await
    }

    async fn delete_remote(
        &self,
        job: &Leased<'_>,
        owner: &AccountRecord,
        record: &GenerationRecord,
    ) -> anyhow::Result<Outcome> {
        let Some(handle) = record.provider_job_id.clone().map(JobHandle::new) else {
            return Ok(Outcome::Done);
        };
        let adapter = self.adapter(record)?;
        let may_retry = job.record().attempts < MAX_ATTEMPTS;
        let copy = match remote::delete_copy(&*adapter, &handle, may_retry).await {
            CopyDeletion::Settled(copy) => copy,
            CopyDeletion::Retry(error) => {
                return Ok(Outcome::Retry {
                    code: code_of(&error),
                });
            }
            CopyDeletion::Failed(error) => {
                tracing::warn!(provider = %record.provider, error = %error, "the provider's copy of an output could not be deleted");
                RemoteCopy::DeleteFailed
            }
        };
        self.store
            .record_remote_copy(owner.id, record.id, copy)
            .await?;
        Ok(Outcome::Done)
    }

    async fn run_job(&self, job: &mut Leased<'_>) -> anyhow::Result<Outcome> {
        let Some((owner, record)) = self.subject(job.record()).await? else {
            // Deleted with its generation (or its account): nothing left to do.
            return Ok(Outcome::Done);
        };
        match (record.status, job.record().step.as_str()) {
            (GenerationStatus::Failed | GenerationStatus::Cancelled, _) => Ok(Outcome::Done),
            // Stored before a crash: go on to the provider's copy, never fetch again.
            (GenerationStatus::Succeeded, SUBMIT | POLL) => {
                if record.provider_job_id.is_none() {
                    return Ok(Outcome::Done);
                }
                if !job.advance(DELETE_REMOTE).await? {
                    return Ok(Outcome::Done);
                }
                self.delete_remote(job, &owner, &record).await
            }
            (_, DELETE_REMOTE) => self.delete_remote(job, &owner, &record).await,
            // Submitted before a crash: follow that job, never submit twice.
            (_, SUBMIT) if record.provider_job_id.is_some() => {
                if !job.advance(POLL).await? {
                    return Ok(Outcome::Done);
                }
                self.poll(job, &owner, &record).await
            }
            (_, SUBMIT) => self.submit(job, &owner, &record).await,
            (_, POLL) => self.poll(job, &owner, &record).await,
            (_, other) => anyhow::bail!("a video job at an unknown step `{other}`"),
        }
    }

    async fn fail(&self, job: &JobRecord, code: &str) -> anyhow::Result<()> {
        let Some((owner, record)) = self.subject(job).await? else {
            return Ok(());
        };
        let ended = self
            .store
            .end_generation(owner.id, record.id, GenerationStatus::Failed, code, now())
            .await?;
        if !ended {
            // It had an output already (or ended otherwise): nothing reserved to give back.
            return Ok(());
        }
        release(&self.store, owner.id, record.created_at, record.usage).await;
        let failed = analytics::Outcome::Failed {
            provider: Some(record.provider.clone()),
        };
        self.count(&owner, failed).await;
        let provider_ended = matches!(code, PROVIDER_FAILED | PROVIDER_CANCELLED | OUTPUT_GONE);
        if let Some(handle) = record.provider_job_id.clone().map(JobHandle::new)
            && !provider_ended
            && let Ok(adapter) = self.adapter(&record)
        {
            remote::forget(&*adapter, &handle, true).await;
        }
        Ok(())
    }
}

impl JobHandler for VideoJobs {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn steps(&self) -> &'static [Step] {
        STEPS
    }

    fn run<'a>(&'a self, job: &'a mut Leased<'_>) -> BoxFuture<'a, anyhow::Result<Outcome>> {
        Box::pin(self.run_job(job))
    }

    fn give_up<'a>(
        &'a self,
        job: &'a JobRecord,
        code: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(self.fail(job, code))
    }
}

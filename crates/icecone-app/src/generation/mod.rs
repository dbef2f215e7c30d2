//! The generation pipeline: a person's request checked, routed, stored encrypted and
//! metered — and their generations read, listed, served and deleted by them alone.
//!
//! [`Generations::generate`] runs, in this order: the consent decision for
//! `Process(AI_GENERATION)` (restriction refuses it), the quota (core's `usage::check` on
//! the plan's quota — capped while the e-mail address is unverified — then a conditional
//! reservation in the store of what the request may cost: an image, video seconds, or a
//! text's `maxTokens` (the configured default when none is given, and sent to the provider
//! as its limit) plus its estimated prompt tokens),
//! the router (only providers whose effective policy meets the deployment's promises), the
//! vault (prompt and output sealed with the person's key, bound to the row) and the meter
//! (a text's reservation settled to the tokens the provider counted). The request sent to a provider carries the prompt and
//! the parameters the provider needs, and nothing that identifies the person.
//!
//! Before routing, the prompt is minimised (`minimise`): personal data it recognises is
//! replaced by typed placeholders for every provider that is not in-process, unless the
//! request or the person's setting says otherwise; a text answer gets the values back
//! before it is sealed, and the generation records what was withheld (`redactions`).
//!
//! Video is asynchronous: [`Generations::enqueue_video`] runs the same checks — consent,
//! quota and reservation, the router's eligibility — then stores the generation `QUEUED`
//! together with a job (`video::KIND`) that the job runner takes from there.
//!
//! `purge` deletes generations older than the retention window, for everyone.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures_util::Stream;
use icecone_core::consent::Purpose;
use icecone_core::consent::decision::{Activity, Denial};
use icecone_core::consent::policy::PolicyHistory;
use icecone_core::generation::{GenerationKind, GenerationStatus};
use icecone_core::minimise::Redactions;
use icecone_core::personalization::{PastGeneration, Profile};
use icecone_core::provider::ProviderId;
use icecone_core::provider::adapter::{
    GenerationRequest, JobHandle, Output, Submission, VideoRequest,
};
use icecone_core::subject::SubjectId;
use icecone_core::usage::{self, Period, Plans, QuotaExceeded, Resource, Usage};
use icecone_store::accounts::AccountRecord;
use icecone_store::generations::{GenerationPosition, GenerationRecord};
use icecone_store::jobs::NewJob;
use icecone_store::{Metering, Store};
use uuid::Uuid;

use crate::analytics::{Analytics, Happened, Outcome};
use crate::consent;
use crate::keys::vault::{Field, Vault};
use crate::providers::router::{RouteError, Router};
use crate::settings::JobsConfig;

pub mod minimise;
pub mod profiles;
pub mod purge;
pub(crate) mod remote;
pub mod video;

/// The table whose sealed columns this module writes.
const TABLE: &str = "generations";

/// How many past generations personalisation looks at.
pub const HISTORY_LIMIT: u64 = 50;

/// Why a generation was not made.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// The consent decision refused `Process(AI_GENERATION)`.
    #[error("processing for AI generation is not allowed: {0}")]
    Denied(Denial),
    /// The quota of a resource for this period is used up.
    #[error(transparent)]
    QuotaExceeded(#[from] QuotaExceeded),
    /// Routing refused or failed.
    #[error(transparent)]
    Route(#[from] RouteError),
    /// Something failed inside the gateway (store, vault).
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// The generation pipeline and its stored generations.
///
/// It hands none of its parts out: the video job and the export are given the store, the
/// vault and the router they need when they are wired (`startup`).
#[derive(Debug)]
pub struct Generations {
    store: Store,
    vault: Arc<Vault>,
    router: Arc<Router>,
    plans: Plans,
    jobs: JobsConfig,
    default_max_tokens: u32,
    history: PolicyHistory,
    /// Counts each request and its outcome, for people whose analytics consent counts.
    analytics: Option<Arc<Analytics>>,
    /// People's profiles, by the history version they were derived at.
    profiles: profiles::Profiles,
}

/// The completion limit of a text that names none, until configured otherwise.
pub const DEFAULT_MAX_TOKENS: u32 = 1_024;

/// A decrypted piece of media and its type.
#[derive(Clone, PartialEq, Eq)]
pub struct Media {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// Their media type.
    pub media_type: String,
}

impl std::fmt::Debug for Media {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Media")
            .field("bytes", &self.bytes.len())
            .field("media_type", &self.media_type)
            .finish()
    }
}

/// The binding of a sealed column of generation `id`.
fn field<'a>(column: &'a str, id: &'a str) -> Field<'a> {
    Field {
        table: TABLE,
        column,
        row_id: id,
    }
}

/// Seals `plaintext` as column `column` of generation `row` of `subject`.
pub(crate) async fn seal(
    vault: &Vault,
    subject: SubjectId,
    column: &str,
    row: &str,
    plaintext: &[u8],
) -> anyhow::Result<Vec<u8>> {
    Ok(vault.seal(subject, field(column, row), plaintext).await?)
}

/// Opens sealed column `column` of generation `id` of `subject`.
pub(crate) async fn open(
    vault: &Vault,
    subject: SubjectId,
    id: Uuid,
    column: &str,
    sealed: &[u8],
) -> anyhow::Result<Vec<u8>> {
    Ok(vault
        .open_field(subject, field(column, &id.to_string()), sealed)
        .await?
        .to_vec())
}

/// Opens sealed text column `column` of generation `id` of `subject`.
pub(crate) async fn open_text(
    vault: &Vault,
    subject: SubjectId,
    id: Uuid,
    column: &str,
    sealed: &[u8],
) -> anyhow::Result<String> {
    String::from_utf8(open(vault, subject, id, column, sealed).await?)
        .map_err(|_| anyhow::anyhow!("a sealed generation text is not UTF-8"))
}

/// Gives back what a request that produced nothing reserved, in the month it was
/// reserved in. A failure is logged: the person is never billed twice, at worst once
/// for nothing.
pub(crate) async fn release(store: &Store, account: Uuid, started: DateTime<Utc>, reserved: Usage) {
    if reserved == Usage::default() {
        return;
    }
    let period = Period::of(started.date_naive());
    if let Err(release) = store.release_usage(account, &period, reserved, now()).await {
        tracing::error!(
            error = %crate::error_chain(&release),
            "a usage reservation could not be released"
        );
    }
}

/// The request's parameters a job would need to submit it again: a video's duration.
fn duration_of(request: &GenerationRequest) -> Option<u32> {
    match request {
        GenerationRequest::Video(video) => Some(video.duration_seconds),
        GenerationRequest::Text(_) | GenerationRequest::Image(_) => None,
    }
}

/// Now, to the microsecond (what PostgreSQL keeps), so stored times compare equal on both
/// databases and cursors round-trip.
pub(crate) fn now() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}

impl Generations {
    /// The pipeline over the store, the vault and the router, with each plan's quota.
    pub fn new(store: Store, vault: Arc<Vault>, router: Arc<Router>, plans: Plans) -> Self {
        Self {
            store,
            vault,
            router,
            plans,
            jobs: JobsConfig::default(),
            default_max_tokens: DEFAULT_MAX_TOKENS,
            history: PolicyHistory::published(),
            analytics: None,
            profiles: profiles::Profiles::default(),
        }
    }

    /// The pipeline counting each request and its outcome through `analytics`.
    pub fn with_analytics(mut self, analytics: Arc<Analytics>) -> Self {
        self.analytics = Some(analytics);
        self
    }

    /// Counts a request of `kind` for `account` that ended as `result` (one call per
    /// request: asked for, and how it went).
    async fn count(
        &self,
        account: Uuid,
        kind: GenerationKind,
        result: &Result<GenerationRecord, GenerateError>,
        started: std::time::Instant,
    ) {
        let Some(analytics) = &self.analytics else {
            return;
        };
        let outcome = match result {
            Ok(record) if record.status == GenerationStatus::Queued => Outcome::Queued,
            Ok(record) => Outcome::Succeeded {
                provider: record.provider.clone(),
                latency: started.elapsed(),
            },
            Err(GenerateError::Denied(_)) => return,
            Err(GenerateError::QuotaExceeded(_)) => Outcome::QuotaReached,
            Err(GenerateError::Route(_) | GenerateError::Internal(_)) => {
                Outcome::Failed { provider: None }
            }
        };
        analytics
            .capture(account, &Happened::Generation { kind, outcome })
            .await;
    }

    /// The pipeline deciding consent under `history` instead of the published one.
    pub fn with_policy(mut self, history: PolicyHistory) -> Self {
        self.history = history;
        self
    }

    /// The pipeline with this completion limit for texts that name none.
    pub fn with_default_max_tokens(mut self, max_tokens: u32) -> Self {
        self.default_max_tokens = max_tokens;
        self
    }

    /// The pipeline with these job settings: a video's deadline, and how often
    /// [`Generations::watch`] reads a generation again.
    pub fn with_jobs(mut self, jobs: JobsConfig) -> Self {
        self.jobs = jobs;
        self
    }

    /// The quota `account` has now: its plan's, capped while its address is unverified.
    pub fn quota_of(&self, account: &AccountRecord) -> usage::Quota {
        self.plans
            .quota_for(account.plan, account.email_verified_at.is_some())
    }

    /// Generates `request` for `account` — through `provider` when one is named — and
    /// stores the result. `minimize` sends the prompt minimised (`true`) or as written
    /// (`false`); when not given, the account's setting decides (see [`minimise`]).
    pub async fn generate(
        &self,
        account: &AccountRecord,
        request: GenerationRequest,
        provider: Option<&ProviderId>,
        minimize: Option<bool>,
    ) -> Result<GenerationRecord, GenerateError> {
        let started = std::time::Instant::now();
        let kind = GenerationKind::of(&request);
        let result = self.make(account, request, provider, minimize).await;
        self.profiles.forget(account.id);
        self.count(account.id, kind, &result, started).await;
        result
    }

    /// [`Generations::generate`] without the counting.
    async fn make(
        &self,
        account: &AccountRecord,
        request: GenerationRequest,
        provider: Option<&ProviderId>,
        minimize: Option<bool>,
    ) -> Result<GenerationRecord, GenerateError> {
        let mut request = request;
        if let GenerationRequest::Text(text) = &mut request {
            text.max_tokens.get_or_insert(self.default_max_tokens);
        }
        let (started, reserved) = self.admit(account, &request).await?;
        let sent = async {
            if !minimise::applies(account, provider, minimize) {
                let (provider, output) = self.route(&request, provider).await?;
                return Ok((provider, output, None));
            }
            let own = minimise::own_identifiers(&self.vault, account).await?;
            let minimised = minimise::request(&request, &own)?;
            let (provider, output) = self.route(&minimised.request, provider).await?;
            let output = minimise::restore(output, &minimised.mapping);
            Ok::<_, GenerateError>((provider, output, Some(minimised.redactions)))
        }
        .await;
        let (provider, output, redactions) = match sent {
            Ok(sent) => sent,
            Err(error) => {
                self.release(account.id, started, reserved).await;
                return Err(error);
            }
        };
        let stored = self
            .store_result(
                account,
                &request,
                &provider,
                &output,
                (started, reserved),
                redactions,
            )
            .await;
        match &stored {
            // What was reserved beyond the cost is given back once the generation is
            // stored (a crash in between leaves the person charged the reservation, never
            // less than the cost).
            Ok(record) => {
                self.release(account.id, started, reserved.minus(record.usage))
                    .await;
            }
            Err(_) => self.release(account.id, started, reserved).await,
        }
        stored
    }

    /// The checks every generation passes before anything is sent: the consent decision,
    /// the quota, and the reservation of what the request may use. Returns when it
    /// started and what was reserved.
    async fn admit(
        &self,
        account: &AccountRecord,
        request: &GenerationRequest,
    ) -> Result<(DateTime<Utc>, Usage), GenerateError> {
        consent::check(
            &self.store,
            account.id,
            Activity::Process(Purpose::AiGeneration),
            self.history,
        )
        .await
        .map_err(anyhow::Error::from)?
        .map_err(GenerateError::Denied)?;

        let started = now();
        let period = Period::of(started.date_naive());
        let used = self
            .store
            .usage_cached(account.id, &period)
            .await
            .map_err(anyhow::Error::from)?;
        let quota = self.quota_of(account);
        usage::check(&quota, &used, request)?;
        let reserved = Usage::reserved_for(request);
        if reserved != Usage::default() {
            let taken = self
                .store
                .add_usage_within(account.id, &period, reserved, quota.as_ceiling(), started)
                .await
                .map_err(anyhow::Error::from)?;
            if !taken {
                // Another request of the same person took the last of the quota meanwhile.
                return Err(QuotaExceeded {
                    resource: Resource::of(request),
                }
                .into());
            }
        }
        Ok((started, reserved))
    }

    /// Gives back what a request that produced nothing reserved (see [`release`]).
    async fn release(&self, account: Uuid, started: DateTime<Utc>, reserved: Usage) {
        release(&self.store, account, started, reserved).await;
    }

    /// Accepts a video generation for `account` — through `provider` when one is named —
    /// after the same checks as [`Generations::generate`]: the generation is stored
    /// `QUEUED` with its job, which the job runner submits, follows and stores. Its video
    /// seconds are reserved now, once; they are given back if it fails before an output.
    /// `minimize` is as for [`Generations::generate`]: the prompt is stored as written and
    /// minimised by the job just before it is submitted; what it withholds is recorded now
    /// and again then.
    pub async fn enqueue_video(
        &self,
        account: &AccountRecord,
        request: VideoRequest,
        provider: Option<&ProviderId>,
        minimize: Option<bool>,
    ) -> Result<GenerationRecord, GenerateError> {
        let began = std::time::Instant::now();
        let result = self.queue_video(account, request, provider, minimize).await;
        self.profiles.forget(account.id);
        self.count(account.id, GenerationKind::Video, &result, began)
            .await;
        result
    }

    /// [`Generations::enqueue_video`] without the counting.
    async fn queue_video(
        &self,
        account: &AccountRecord,
        request: VideoRequest,
        provider: Option<&ProviderId>,
        minimize: Option<bool>,
    ) -> Result<GenerationRecord, GenerateError> {
        let image = request.image.clone();
        let request = GenerationRequest::Video(request);
        let (started, reserved) = self.admit(account, &request).await?;
        let queued = async {
            let provider = self.router.choose(&request, provider)?;
            let redactions = if minimise::applies(account, Some(&provider), minimize) {
                let own = minimise::own_identifiers(&self.vault, account).await?;
                Some(minimise::request(&request, &own)?.redactions)
            } else {
                None
            };
            let id = Uuid::new_v4();
            let row = id.to_string();
            let prompt_sealed = self
                .seal(
                    account.subject,
                    "prompt",
                    &row,
                    request.prompt().as_str().as_bytes(),
                )
                .await?;
            let input_sealed = match &image {
                Some(url) => Some(
                    self.seal(account.subject, "input", &row, url.as_str().as_bytes())
                        .await?,
                ),
                None => None,
            };
            let record = GenerationRecord {
                id,
                account: account.id,
                kind: GenerationKind::Video,
                status: GenerationStatus::Queued,
                provider,
                provider_job_id: None,
                prompt_sealed,
                text_sealed: None,
                media_type: None,
                error_code: None,
                duration_seconds: duration_of(&request),
                usage: reserved,
                created_at: started,
                completed_at: None,
                remote_copy: None,
                redactions,
            };
            let deadline = chrono::TimeDelta::from_std(self.jobs.video_deadline)
                .ok()
                .and_then(|deadline| started.checked_add_signed(deadline));
            let job = NewJob {
                id: Uuid::new_v4(),
                kind: video::KIND.to_owned(),
                account: Some(account.id),
                subject: row,
                step: video::SUBMIT.to_owned(),
                max_attempts: video::MAX_ATTEMPTS,
                run_after: started,
                deadline,
            };
            self.store
                .insert_generation_with_job(&record, input_sealed, &job)
                .await
                .map_err(anyhow::Error::from)?;
            Ok::<_, GenerateError>(record)
        }
        .await;
        if queued.is_err() {
            self.release(account.id, started, reserved).await;
        }
        queued
    }

    /// Sends the request through the router; a provider that answers with a job instead
    /// of an output is asked to cancel it (the jobs of asynchronous providers are not
    /// followed by this pipeline yet) and the request fails as unavailable.
    async fn route(
        &self,
        request: &GenerationRequest,
        provider: Option<&ProviderId>,
    ) -> Result<(ProviderId, Output), GenerateError> {
        let routed = self.router.route(request, provider).await?;
        match routed.submission {
            Submission::Done(output) => Ok((routed.provider, output)),
            Submission::Pending(job) => {
                if let Some(adapter) = self.router.adapter(&routed.provider)
                    && let Err(error) = adapter.cancel(&job).await
                {
                    tracing::warn!(provider = %routed.provider, error = %error, "an unexpected provider job could not be cancelled");
                }
                Err(RouteError::ProviderUnavailable { last: None }.into())
            }
        }
    }

    /// Seals and stores a finished generation — the prompt as the person wrote it, with what
    /// minimisation withheld from the provider — with what it cost beyond its reservation
    /// `reserved` added to the usage of the month it started in, in one transaction.
    async fn store_result(
        &self,
        account: &AccountRecord,
        request: &GenerationRequest,
        provider: &ProviderId,
        output: &Output,
        (created_at, reserved): (DateTime<Utc>, Usage),
        redactions: Option<Redactions>,
    ) -> Result<GenerationRecord, GenerateError> {
        let period = Period::of(created_at.date_naive());
        let id = Uuid::new_v4();
        let row = id.to_string();
        let subject = account.subject;
        let prompt_sealed = self
            .seal(
                subject,
                "prompt",
                &row,
                request.prompt().as_str().as_bytes(),
            )
            .await?;
        let (text_sealed, media_sealed, media_type) = match output {
            Output::Text { text, .. } => (
                Some(self.seal(subject, "text", &row, text.as_bytes()).await?),
                None,
                None,
            ),
            Output::Media { bytes, mime_type } => (
                None,
                Some(self.seal(subject, "media", &row, bytes).await?),
                Some((*mime_type).to_owned()),
            ),
        };
        let record = GenerationRecord {
            id,
            account: account.id,
            kind: GenerationKind::of(request),
            status: GenerationStatus::Succeeded,
            provider: provider.clone(),
            provider_job_id: None,
            prompt_sealed,
            text_sealed,
            media_type,
            error_code: None,
            duration_seconds: duration_of(request),
            usage: Usage::charged(request, output),
            created_at,
            completed_at: Some(now()),
            remote_copy: None,
            redactions,
        };
        let metered = record.usage.minus(reserved);
        let stored = if metered == Usage::default() {
            self.store.insert_generation(&record, media_sealed).await
        } else {
            let metering = Metering {
                period,
                usage: metered,
                at: now(),
            };
            self.store
                .insert_generation_metered(&record, media_sealed, metering)
                .await
        };
        stored.map_err(anyhow::Error::from)?;
        Ok(record)
    }

    async fn seal(
        &self,
        subject: SubjectId,
        column: &str,
        row: &str,
        plaintext: &[u8],
    ) -> anyhow::Result<Vec<u8>> {
        seal(&self.vault, subject, column, row, plaintext).await
    }

    /// The account's generation `id`, or `None` — also when it is someone else's.
    pub async fn get(&self, account: Uuid, id: Uuid) -> anyhow::Result<Option<GenerationRecord>> {
        Ok(self.store.generation_of(account, id).await?)
    }

    /// The account's generation `id` now, then again at each change of its status, until
    /// it has ended or is deleted; `None` when there is none — also when it is someone
    /// else's. It is read from the store every `poll_interval` of the job settings, so it
    /// follows a job run by any instance; a failed read is logged and tried again.
    pub async fn watch(
        &self,
        account: Uuid,
        id: Uuid,
    ) -> anyhow::Result<Option<impl Stream<Item = GenerationRecord> + Send + use<>>> {
        let Some(first) = self.store.generation_of(account, id).await? else {
            return Ok(None);
        };
        let store = self.store.clone();
        let interval = self.jobs.poll_interval;
        // State: the generation to emit next, or the status last emitted.
        let updates = futures_util::stream::unfold(
            (Some(first), None::<GenerationStatus>),
            move |(next, last)| {
                let store = store.clone();
                async move {
                    if let Some(record) = next {
                        let status = record.status;
                        return Some((record, (None, Some(status))));
                    }
                    let last = last?;
                    if last.is_final() {
                        return None;
                    }
                    loop {
                        tokio::time::sleep(interval).await;
                        match store.generation_of(account, id).await {
                            Ok(Some(record)) if record.status != last => {
                                let status = record.status;
                                return Some((record, (None, Some(status))));
                            }
                            Ok(Some(_)) => {}
                            Ok(None) => return None,
                            Err(error) => {
                                tracing::warn!(
                                    error = %crate::error_chain(&error),
                                    "a watched generation could not be read"
                                );
                            }
                        }
                    }
                }
            },
        );
        Ok(Some(updates))
    }

    /// Up to `limit` of the account's generations, newest first, after `after`.
    pub async fn page(
        &self,
        account: Uuid,
        after: Option<GenerationPosition>,
        limit: u64,
    ) -> anyhow::Result<Vec<GenerationRecord>> {
        Ok(self.store.generations_page(account, after, limit).await?)
    }

    /// The generation's prompt, decrypted.
    pub async fn prompt(
        &self,
        subject: SubjectId,
        record: &GenerationRecord,
    ) -> anyhow::Result<String> {
        open_text(
            &self.vault,
            subject,
            record.id,
            "prompt",
            &record.prompt_sealed,
        )
        .await
    }

    /// The generation's text output, decrypted; `None` for media or no output.
    pub async fn text(
        &self,
        subject: SubjectId,
        record: &GenerationRecord,
    ) -> anyhow::Result<Option<String>> {
        match &record.text_sealed {
            Some(sealed) => Ok(Some(
                open_text(&self.vault, subject, record.id, "text", sealed).await?,
            )),
            None => Ok(None),
        }
    }

    /// The media of the account's generation `id`, decrypted; `None` when it has none, does
    /// not exist or is someone else's.
    pub async fn media(&self, account: &AccountRecord, id: Uuid) -> anyhow::Result<Option<Media>> {
        let Some(sealed) = self.store.generation_media(account.id, id).await? else {
            return Ok(None);
        };
        let bytes = self
            .vault
            .open_field(
                account.subject,
                field("media", &id.to_string()),
                &sealed.sealed,
            )
            .await?;
        Ok(Some(Media {
            bytes: bytes.to_vec(),
            media_type: sealed.media_type,
        }))
    }

    /// Deletes the account's generation `id` with its media; returns whether there was one.
    /// A video still queued or running has its job cancelled first and what it reserved
    /// given back. Where the provider kept a job of it, it is asked to cancel it (if it had
    /// not ended) and to delete its copy where it can — after the local deletion, in the
    /// background, so a slow or failing provider never holds it up.
    pub async fn delete(&self, account: Uuid, id: Uuid) -> anyhow::Result<bool> {
        let deleted = self.delete_generation(account, id).await;
        self.profiles.forget(account);
        deleted
    }

    /// [`Generations::delete`] without the profile cache.
    async fn delete_generation(&self, account: Uuid, id: Uuid) -> anyhow::Result<bool> {
        let Some(record) = self.store.generation_of(account, id).await? else {
            return Ok(false);
        };
        let unfinished = !record.status.is_final();
        let mut cancel_remote = false;
        if unfinished {
            for job in self.store.jobs_for(video::KIND, &id.to_string()).await? {
                self.store.cancel_job(job.id, now()).await?;
            }
            if self.store.delete_unfinished_generation(account, id).await? {
                self.release(account, record.created_at, record.usage).await;
                cancel_remote = true;
            }
        }
        if !cancel_remote && !self.store.delete_generation(account, id).await? {
            return Ok(false);
        }
        // Re-read nothing: a job that stored its provider's id after our read finds no row
        // and cancels the provider's job itself (see `video`).
        if let Some(job) = record.provider_job_id
            && let Some(adapter) = self.router.adapter(&record.provider).cloned()
        {
            tokio::spawn(async move {
                remote::forget(&*adapter, &JobHandle::new(job), cancel_remote).await;
            });
        }
        Ok(true)
    }

    /// The person's profile, derived from their most recent generations (newest first) and
    /// never stored; kept in memory for the history version it was derived at
    /// ([`profiles`]). Callers ask the `PERSONALIZATION` consent first.
    pub async fn profile(&self, account: &AccountRecord) -> anyhow::Result<Profile> {
        if let Some(profile) = self.profiles.get(account.id, account.history_version) {
            return Ok(profile);
        }
        let profile = self.derive_profile(account).await?;
        self.profiles
            .put(account.id, account.history_version, profile.clone());
        Ok(profile)
    }

    async fn derive_profile(&self, account: &AccountRecord) -> anyhow::Result<Profile> {
        let records = self
            .store
            .generations_page(account.id, None, HISTORY_LIMIT)
            .await?;
        let mut prompts = Vec::with_capacity(records.len());
        for record in &records {
            prompts.push(self.prompt(account.subject, record).await?);
        }
        let history: Vec<PastGeneration<'_>> = records
            .iter()
            .zip(&prompts)
            .map(|(record, prompt)| PastGeneration {
                kind: record.kind,
                provider: &record.provider,
                prompt,
            })
            .collect();
        Ok(icecone_core::personalization::derive(&history))
    }
}

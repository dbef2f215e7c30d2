//! Generation: `generateText`, `generateImage`, `generateVideo`, `generation`,
//! `deleteGeneration`, the `generationUpdated` subscription, and `Account.generations`
//! (resolved in `account`), over the pipeline of `icecone_app::generation`. A person reads only
//! their own generations: someone else's id answers exactly as an unknown one.

use async_graphql::connection::{Connection, CursorType, Edge, EmptyFields};
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject, Subscription, Union};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt};
use icecone_core::generation::GenerationStatus;
use icecone_core::provider::ProviderId;
use icecone_core::provider::adapter::{
    GenerationRequest, ImageRequest, ImageSize, MediaUrl, Prompt, TextRequest, VideoRequest,
};
use icecone_core::subject::SubjectId;
use icecone_store::generations::{GenerationPosition, GenerationRecord};
use uuid::Uuid;

use super::account::{Account, GenerationKindValue};
use super::caller::{services, viewer_account};
use super::classification::essential;
use super::consent::PurposeValue;
use super::error::{ApiError, internal};
use super::providers::Provider;

/// Generations per page when `first` is not given.
const DEFAULT_PAGE: u64 = 20;
/// The most generations one page holds.
const MAX_PAGE: u64 = 100;
/// The most tokens `maxTokens` may ask for.
const MAX_TOKENS: i32 = 32_768;

/// The path of a generation's media, served to its owner by the HTTP layer.
pub(crate) fn media_url(id: Uuid) -> String {
    format!("/media/{id}")
}

#[derive(Debug, Default)]
pub(crate) struct GenerationQuery;

#[Object]
impl GenerationQuery {
    /// One of the signed-in person's generations; `null` when there is none with this id —
    /// also when the id is someone else's, which is answered exactly alike.
    async fn generation(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Generation>, ApiError> {
        let (_, account) = viewer_account(ctx).await?;
        let Ok(id) = Uuid::try_parse(&id) else {
            return Ok(None);
        };
        let record = services(ctx)?
            .generations
            .get(account.id, id)
            .await
            .map_err(internal)?;
        Ok(record.map(|record| Generation::new(record, account.subject)))
    }
}

#[derive(Debug, Default)]
pub(crate) struct GenerationMutation;

/// What to write.
#[derive(InputObject)]
pub(crate) struct GenerateTextInput {
    /// The prompt: not blank, at most 32,000 characters.
    prompt: String,
    /// The provider to use (see `providers`); when not given, the first provider whose
    /// effective policy meets IceCone's promises. A named provider that does not meet
    /// them answers `NO_COMPLIANT_PROVIDER` — it is never silently replaced.
    provider: Option<ID>,
    /// The most tokens to generate (1 to 32,768); when not given, the provider decides.
    max_tokens: Option<i32>,
    /// Whether personal data recognised in the prompt (e-mail addresses, phone numbers,
    /// payment cards, IBANs, IP addresses, your own name and address) is replaced by
    /// placeholders before it reaches the provider and put
    /// back into the answer; `false` sends this prompt as written.
    /// When not given, the account's `promptMinimization` decides (on by default).
    minimize: Option<bool>,
}

/// What to draw.
#[derive(InputObject)]
pub(crate) struct GenerateImageInput {
    /// The prompt: not blank, at most 32,000 characters.
    prompt: String,
    /// The provider to use, as for `generateText`.
    provider: Option<ID>,
    /// The image's shape.
    #[graphql(default_with = "ImageSizeValue::Square")]
    size: ImageSizeValue,
    /// Whether personal data recognised in the prompt (e-mail addresses, phone numbers,
    /// payment cards, IBANs, IP addresses, your own name and address) is replaced by
    /// placeholders before it reaches the provider; `false` sends this prompt as written.
    /// When not given, the account's `promptMinimization` decides (on by default).
    minimize: Option<bool>,
}

/// What to film.
#[derive(InputObject)]
pub(crate) struct GenerateVideoInput {
    /// The prompt: not blank, at most 32,000 characters.
    prompt: String,
    /// An `http` or `https` URL of an image to start from, for providers that animate
    /// images; it is sent to the provider, so it must be reachable by it.
    image_url: Option<String>,
    /// The provider to use, as for `generateText`.
    provider: Option<ID>,
    /// How long the video should be, in seconds (1 to 60; providers may make it shorter).
    #[graphql(default = 4)]
    duration_seconds: i32,
    /// Whether personal data recognised in the prompt (e-mail addresses, phone numbers,
    /// payment cards, IBANs, IP addresses, your own name and address) is replaced by
    /// placeholders before it reaches the provider; `false` sends this prompt as written.
    /// When not given, the account's `promptMinimization` decides (on by default).
    minimize: Option<bool>,
}

/// The longest video `durationSeconds` may ask for.
const MAX_VIDEO_SECONDS: i32 = 60;

/// The shape of a generated image; each provider maps it to the nearest size it has.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(
    name = "ImageSize",
    remote = "icecone_core::provider::adapter::ImageSize"
)]
pub(crate) enum ImageSizeValue {
    /// Square.
    Square,
    /// Wider than high.
    Landscape,
    /// Higher than wide.
    Portrait,
}

fn prompt(text: &str) -> Result<Prompt, ApiError> {
    Ok(Prompt::parse(text)?)
}

fn provider(id: Option<&ID>) -> Result<Option<ProviderId>, ApiError> {
    id.map(|id| {
        ProviderId::parse(id).map_err(|_| ApiError::BadUserInput("no such provider".to_owned()))
    })
    .transpose()
}

/// Runs a generation for the signed-in person.
async fn generate(
    ctx: &Context<'_>,
    request: GenerationRequest,
    provider: Option<ProviderId>,
    minimize: Option<bool>,
) -> Result<Generation, ApiError> {
    let (_, account) = viewer_account(ctx).await?;
    let record = services(ctx)?
        .generations
        .generate(&account, request, provider.as_ref(), minimize)
        .await?;
    Ok(Generation::new(record, account.subject))
}

#[Object]
impl GenerationMutation {
    /// Generates text. The prompt goes only to a provider whose effective data-handling
    /// policy meets IceCone's promises; the prompt and the answer are stored encrypted with
    /// the person's own key. Counts against the month's token quota (`QUOTA_EXCEEDED`).
    async fn generate_text(
        &self,
        ctx: &Context<'_>,
        input: GenerateTextInput,
    ) -> Result<Generation, ApiError> {
        let max_tokens = input
            .max_tokens
            .map(|n| {
                u32::try_from(n)
                    .ok()
                    .filter(|n| (1..=MAX_TOKENS.unsigned_abs()).contains(n))
                    .ok_or_else(|| {
                        ApiError::BadUserInput(format!("`maxTokens` must be 1 to {MAX_TOKENS}"))
                    })
            })
            .transpose()?;
        let request = GenerationRequest::Text(TextRequest {
            prompt: prompt(&input.prompt)?,
            max_tokens,
        });
        generate(
            ctx,
            request,
            provider(input.provider.as_ref())?,
            input.minimize,
        )
        .await
    }

    /// Generates an image, as `generateText` does text; the image is stored encrypted and
    /// served to its owner only, from `MediaOutput.url`. Counts against the month's image
    /// quota.
    async fn generate_image(
        &self,
        ctx: &Context<'_>,
        input: GenerateImageInput,
    ) -> Result<Generation, ApiError> {
        let request = GenerationRequest::Image(ImageRequest {
            prompt: prompt(&input.prompt)?,
            size: ImageSize::from(input.size),
        });
        generate(
            ctx,
            request,
            provider(input.provider.as_ref())?,
            input.minimize,
        )
        .await
    }

    /// Asks for a video. It is made in the background: the answer is the generation,
    /// `QUEUED`; follow it with `generation(id)` or the `generationUpdated` subscription
    /// until it is `SUCCEEDED` (its `output` is then the video, stored encrypted and served
    /// to its owner only) or `FAILED` (`error` says why). The same consent, quota and
    /// provider rules as `generateText` apply; the month's video seconds are counted now,
    /// and given back if it fails. `imageUrl` must be an `http` or `https` URL
    /// (`BAD_USER_INPUT` otherwise).
    async fn generate_video(
        &self,
        ctx: &Context<'_>,
        input: GenerateVideoInput,
    ) -> Result<Generation, ApiError> {
        let duration_seconds = u32::try_from(input.duration_seconds)
            .ok()
            .filter(|seconds| (1..=MAX_VIDEO_SECONDS.unsigned_abs()).contains(seconds))
            .ok_or_else(|| {
                ApiError::BadUserInput(format!(
                    "`durationSeconds` must be 1 to {MAX_VIDEO_SECONDS}"
                ))
            })?;
        let image = input
            .image_url
            .as_deref()
            .map(MediaUrl::parse)
            .transpose()
            .map_err(|error| ApiError::BadUserInput(format!("`imageUrl`: {error}")))?;
        let request = VideoRequest {
            prompt: prompt(&input.prompt)?,
            image,
            duration_seconds,
        };
        let provider = provider(input.provider.as_ref())?;
        let (_, account) = viewer_account(ctx).await?;
        let record = services(ctx)?
            .generations
            .enqueue_video(&account, request, provider.as_ref(), input.minimize)
            .await?;
        Ok(Generation::new(record, account.subject))
    }

    /// Sets whether the signed-in person's prompts are minimised when a generation's
    /// `minimize` is not given (`Account.promptMinimization`; on until turned off): with it,
    /// e-mail addresses, phone numbers, payment cards, IBANs, IP addresses and the person's
    /// own name and address are replaced by placeholders before a prompt leaves IceCone for
    /// a provider, and put back into a text answer.
    #[graphql(directive = essential::apply(PurposeValue::ServiceProvision))]
    async fn set_prompt_minimization(
        &self,
        ctx: &Context<'_>,
        enabled: bool,
    ) -> Result<Account, ApiError> {
        let (viewer, record) = viewer_account(ctx).await?;
        let services = services(ctx)?;
        let changed =
            icecone_app::generation::minimise::set_default(&services.store, record.id, enabled)
                .await
                .map_err(internal)?;
        let record = services
            .store
            .account(record.id)
            .await
            .map_err(internal)?
            .filter(|_| changed)
            .ok_or(ApiError::Unauthenticated(super::caller::SIGN_IN_FIRST))?;
        Ok(Account::new(record, viewer.session))
    }

    /// Deletes one of the signed-in person's generations with its prompt, output and
    /// media, and asks the provider to delete its copy where it kept one and can; a video
    /// still queued or running is cancelled (at the provider too) and its reserved seconds
    /// given back. `true` once deleted; `NOT_FOUND` when there is none with this id
    /// (someone else's included).
    #[graphql(directive = essential::apply(PurposeValue::AiGeneration))]
    async fn delete_generation(&self, ctx: &Context<'_>, id: ID) -> Result<bool, ApiError> {
        let (_, account) = viewer_account(ctx).await?;
        let id = Uuid::try_parse(&id).map_err(|_| ApiError::NotFound)?;
        if services(ctx)?
            .generations
            .delete(account.id, id)
            .await
            .map_err(internal)?
        {
            Ok(true)
        } else {
            Err(ApiError::NotFound)
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct GenerationSubscription;

#[Subscription]
impl GenerationSubscription {
    /// One of the signed-in person's generations, now and at every change of its status;
    /// the subscription completes after a final status (`SUCCEEDED`, `FAILED`,
    /// `CANCELLED`) or when the generation is deleted. `NOT_FOUND` for an id that is not
    /// the person's, someone else's included. It follows the stored generation, so it
    /// sees a job run by any gateway instance. Over `graphql-transport-ws` at
    /// `/graphql/ws`, authenticated by `{"Authorization": "Bearer <token>"}` in
    /// `connection_init`; the server closes the socket (4403) once the session ends
    /// (`logOut`, `revokeSession`, a detected refresh-token reuse, suspension, an erasure)
    /// or the access token expires.
    #[graphql(directive = essential::apply(PurposeValue::AiGeneration))]
    async fn generation_updated(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<impl Stream<Item = Generation> + use<>, ApiError> {
        let (_, account) = viewer_account(ctx).await?;
        let id = Uuid::try_parse(&id).map_err(|_| ApiError::NotFound)?;
        let updates = services(ctx)?
            .generations
            .watch(account.id, id)
            .await
            .map_err(internal)?
            .ok_or(ApiError::NotFound)?;
        let subject = account.subject;
        Ok(updates.map(move |record| Generation::new(record, subject)))
    }
}

/// The opaque cursor of a generation in its owner's newest-first list.
pub(crate) struct GenerationCursor(GenerationPosition);

/// A cursor that is not one `generations` gave.
#[derive(Debug)]
pub(crate) struct BadCursor;

impl std::fmt::Display for BadCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("`after` is not a cursor of generations")
    }
}

impl CursorType for GenerationCursor {
    type Error = BadCursor;

    fn decode_cursor(text: &str) -> Result<Self, BadCursor> {
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| BadCursor)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| BadCursor)?;
        let (micros, id) = text
            .strip_prefix("generation:")
            .and_then(|rest| rest.split_once(':'))
            .ok_or(BadCursor)?;
        let created_at = micros
            .parse()
            .ok()
            .and_then(DateTime::<Utc>::from_timestamp_micros)
            .ok_or(BadCursor)?;
        let id = Uuid::try_parse(id).map_err(|_| BadCursor)?;
        Ok(Self(GenerationPosition { created_at, id }))
    }

    fn encode_cursor(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!(
            "generation:{}:{}",
            self.0.created_at.timestamp_micros(),
            self.0.id
        ))
    }
}

/// A page of an account's generations, newest first: `first` of them (1 to 100, default
/// 20) after the cursor `after`.
pub(crate) async fn generations_of(
    ctx: &Context<'_>,
    account: Uuid,
    subject: SubjectId,
    first: Option<i32>,
    after: Option<String>,
) -> Result<Connection<GenerationCursor, Generation, EmptyFields, EmptyFields>, ApiError> {
    let limit = match first {
        None => DEFAULT_PAGE,
        Some(first) => u64::try_from(first)
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or_else(|| ApiError::BadUserInput(format!("`first` must be 1 to {MAX_PAGE}")))?,
    };
    let after = after
        .map(|text| GenerationCursor::decode_cursor(&text))
        .transpose()
        .map_err(|error| ApiError::BadUserInput(error.to_string()))?
        .map(|cursor| cursor.0);
    // One more than asked for tells whether there is a next page.
    let mut records = services(ctx)?
        .generations
        .page(account, after, limit + 1)
        .await
        .map_err(internal)?;
    let has_next_page = records.len() as u64 > limit;
    records.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let mut connection = Connection::new(after.is_some(), has_next_page);
    connection.edges.extend(records.into_iter().map(|record| {
        let position = GenerationPosition {
            created_at: record.created_at,
            id: record.id,
        };
        Edge::new(GenerationCursor(position), Generation::new(record, subject))
    }));
    Ok(connection)
}

/// Where a generation stands.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(
    name = "GenerationStatus",
    remote = "icecone_core::generation::GenerationStatus"
)]
pub(crate) enum GenerationStatusValue {
    /// Accepted, not yet sent to a provider.
    Queued,
    /// A provider is working on it.
    Running,
    /// Done: `output` holds the result.
    Succeeded,
    /// Ended without an output: `error` says why.
    Failed,
    /// Cancelled before it finished.
    Cancelled,
}

/// Something the person asked an AI provider to generate, and what came back.
pub(crate) struct Generation {
    record: GenerationRecord,
    subject: SubjectId,
}

impl Generation {
    pub(crate) fn new(record: GenerationRecord, subject: SubjectId) -> Self {
        Self { record, subject }
    }
}

#[Object(directive = essential::apply(PurposeValue::AiGeneration))]
impl Generation {
    /// Its id.
    async fn id(&self) -> ID {
        ID(self.record.id.to_string())
    }

    /// What it produces.
    async fn kind(&self) -> GenerationKindValue {
        self.record.kind.into()
    }

    /// Where it stands.
    async fn status(&self) -> GenerationStatusValue {
        self.record.status.into()
    }

    /// The provider that took it, with the data-handling policy the request was held to.
    async fn provider(&self, ctx: &Context<'_>) -> Result<Provider, ApiError> {
        services(ctx)?
            .providers
            .entry(&self.record.provider)
            .cloned()
            .map(Provider)
            .ok_or_else(|| internal(anyhow::anyhow!("a generation names an unknown provider")))
    }

    /// The prompt (stored encrypted with the person's own key).
    async fn prompt(&self, ctx: &Context<'_>) -> Result<String, ApiError> {
        services(ctx)?
            .generations
            .prompt(self.subject, &self.record)
            .await
            .map_err(internal)
    }

    /// What was generated, once it succeeded: the text, or where to fetch the media.
    async fn output(&self, ctx: &Context<'_>) -> Result<Option<GenerationOutput>, ApiError> {
        if self.record.status != GenerationStatus::Succeeded {
            return Ok(None);
        }
        if let Some(media_type) = &self.record.media_type {
            return Ok(Some(GenerationOutput::Media(MediaOutput {
                url: media_url(self.record.id),
                mime_type: media_type.clone(),
            })));
        }
        let text = services(ctx)?
            .generations
            .text(self.subject, &self.record)
            .await
            .map_err(internal)?;
        Ok(text.map(|text| GenerationOutput::Text(TextOutput { text })))
    }

    /// Why it failed, as a stable code (never a provider's message); `null` unless
    /// `FAILED`.
    async fn error(&self) -> Option<&str> {
        self.record.error_code.as_deref()
    }

    /// When it was asked for.
    async fn created_at(&self) -> DateTime<Utc> {
        self.record.created_at
    }

    /// When it finished, if it did.
    async fn completed_at(&self) -> Option<DateTime<Utc>> {
        self.record.completed_at
    }

    /// What was withheld from the provider: per kind of personal data, how many different
    /// values were replaced by placeholders — never the values. Empty when nothing was
    /// found, or when the prompt was sent as written (see `minimized`).
    async fn redactions(&self) -> Vec<Redaction> {
        self.record
            .redactions
            .iter()
            .flat_map(|redactions| redactions.as_slice())
            .map(|redaction| Redaction {
                kind: redaction.kind.into(),
                count: redaction.count,
            })
            .collect()
    }

    /// Whether the prompt was minimised before it was sent: `false` when it went as
    /// written — minimisation turned off, the in-process `local` provider, or a generation
    /// made before minimisation existed.
    async fn minimized(&self) -> bool {
        self.record.redactions.is_some()
    }
}

/// How many values of one kind of personal data were withheld from a provider.
#[derive(SimpleObject)]
#[graphql(directive = essential::apply(PurposeValue::AiGeneration))]
pub(crate) struct Redaction {
    /// The kind.
    kind: RedactionKindValue,
    /// How many different values of it (one written twice counts once).
    count: u32,
}

/// A kind of personal data that minimisation replaces by placeholders.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(
    name = "RedactionKind",
    remote = "icecone_core::minimise::RedactionKind"
)]
pub(crate) enum RedactionKindValue {
    /// An e-mail address (`[EMAIL_n]`).
    Email,
    /// A phone number (`[PHONE_n]`).
    Phone,
    /// A payment card number (`[CARD_n]`).
    PaymentCard,
    /// An IBAN (`[IBAN_n]`).
    Iban,
    /// An IPv4 or IPv6 address (`[IP_n]`).
    IpAddress,
    /// The person's own display name (`[NAME_n]`).
    Name,
}

/// What a generation produced.
#[derive(Union)]
pub(crate) enum GenerationOutput {
    /// Text.
    Text(TextOutput),
    /// An image or a video.
    Media(MediaOutput),
}

/// Generated text.
#[derive(SimpleObject)]
#[graphql(directive = essential::apply(PurposeValue::AiGeneration))]
pub(crate) struct TextOutput {
    /// The text (stored encrypted with the person's own key).
    text: String,
}

/// Generated media, served by the gateway to its owner only.
#[derive(SimpleObject)]
#[graphql(directive = essential::apply(PurposeValue::AiGeneration))]
pub(crate) struct MediaOutput {
    /// Where to fetch it: a path on this gateway (`/media/<generation id>`) that answers
    /// only with the owner's bearer token, `404` to anyone else.
    url: String,
    /// Its media type, such as `image/png`.
    mime_type: String,
}

/// The plan an account is on, which sets its monthly generation quota.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "Plan", remote = "icecone_core::usage::Plan")]
pub(crate) enum PlanValue {
    /// The plan every account starts on.
    Free,
    /// The paid plan.
    Pro,
}

/// Amounts of the metered resources.
#[derive(SimpleObject)]
#[graphql(directive = essential::apply(PurposeValue::AiGeneration))]
pub(crate) struct Amounts {
    /// Text tokens, prompt and answer together.
    tokens: u64,
    /// Images.
    images: u64,
    /// Seconds of video.
    video_seconds: u64,
}

/// What an account generated this month, against its plan's quota.
#[derive(SimpleObject)]
#[graphql(directive = essential::apply(PurposeValue::AiGeneration))]
pub(crate) struct UsageInfo {
    /// The calendar month (UTC), `YYYY-MM`.
    period: String,
    /// The plan.
    plan: PlanValue,
    /// What was used this month.
    used: Amounts,
    /// What the plan allows per month; past it, generations answer `QUOTA_EXCEEDED`.
    quota: Amounts,
}

/// `Account.usage`: this month's metering of `account` against its plan.
pub(crate) async fn usage_of(
    ctx: &Context<'_>,
    account: &icecone_store::accounts::AccountRecord,
) -> Result<UsageInfo, ApiError> {
    let services = services(ctx)?;
    let period = icecone_core::usage::Period::of(Utc::now().date_naive());
    let used = services
        .store
        .usage(account.id, &period)
        .await
        .map_err(internal)?;
    let quota = services.generations.quota_of(account);
    Ok(UsageInfo {
        period: period.as_str().to_owned(),
        plan: account.plan.into(),
        used: Amounts {
            tokens: used.tokens,
            images: used.images,
            video_seconds: used.video_seconds,
        },
        quota: Amounts {
            tokens: quota.tokens,
            images: quota.images,
            video_seconds: quota.video_seconds,
        },
    })
}

//! Repositories for generations: what a person asked an AI provider for and what came back.
//!
//! The prompt, a text output and media bytes arrive sealed by the gateway's vault under the
//! account's data key; the store keeps ciphertexts, the provider id, counts and times. Every
//! read and delete is scoped to the owning account, so another person's generation is
//! indistinguishable from one that does not exist. Lists never load media bytes (they have
//! their own column); [`Store::generation_media`] reads them for the owner's media route.

use std::fmt;

use chrono::{DateTime, Utc};
use icecone_core::generation::{GenerationKind, GenerationStatus, RemoteCopy};
use icecone_core::minimise::Redactions;
use icecone_core::provider::ProviderId;
use icecone_core::usage::Usage;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, EntityTrait, IdenStatic, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};
use uuid::Uuid;

use crate::convert::{provider_from_db, u32_from_db, u32_to_db, u64_from_db, u64_to_db};
use crate::entity::{account, generation};
use crate::group_commit::Write;
use crate::usage::{Metered, Metering};
use crate::{Store, StoreError};

/// How many accounts one statement of the retention purge covers.
pub const PURGE_BATCH: u64 = 500;

/// The spelling of a status in the `status` column.
fn status_to_db(status: GenerationStatus) -> &'static str {
    match status {
        GenerationStatus::Queued => "QUEUED",
        GenerationStatus::Running => "RUNNING",
        GenerationStatus::Succeeded => "SUCCEEDED",
        GenerationStatus::Failed => "FAILED",
        GenerationStatus::Cancelled => "CANCELLED",
    }
}

fn status_from_db(value: &str) -> Result<GenerationStatus, StoreError> {
    match value {
        "QUEUED" => Ok(GenerationStatus::Queued),
        "RUNNING" => Ok(GenerationStatus::Running),
        "SUCCEEDED" => Ok(GenerationStatus::Succeeded),
        "FAILED" => Ok(GenerationStatus::Failed),
        "CANCELLED" => Ok(GenerationStatus::Cancelled),
        _ => Err(StoreError::OutOfRange("generation status")),
    }
}

/// The spelling of a remote copy's fate in the `remote_copy` column.
pub(crate) fn remote_copy_to_db(copy: RemoteCopy) -> &'static str {
    match copy {
        RemoteCopy::Deleted => "DELETED",
        RemoteCopy::NothingKept => "NOTHING_KEPT",
        RemoteCopy::NotSupported => "NOT_SUPPORTED",
        RemoteCopy::DeleteFailed => "DELETE_FAILED",
    }
}

fn remote_copy_from_db(value: &str) -> Result<RemoteCopy, StoreError> {
    match value {
        "DELETED" => Ok(RemoteCopy::Deleted),
        "NOTHING_KEPT" => Ok(RemoteCopy::NothingKept),
        "NOT_SUPPORTED" => Ok(RemoteCopy::NotSupported),
        "DELETE_FAILED" => Ok(RemoteCopy::DeleteFailed),
        _ => Err(StoreError::OutOfRange("generation remote copy")),
    }
}

/// The stored spellings of the statuses of a generation that has not ended.
fn unfinished_statuses() -> impl Iterator<Item = &'static str> {
    GenerationStatus::ALL
        .into_iter()
        .filter(|status| !status.is_final())
        .map(status_to_db)
}

fn kind_to_db(kind: GenerationKind) -> &'static str {
    match kind {
        GenerationKind::Text => "TEXT",
        GenerationKind::Image => "IMAGE",
        GenerationKind::Video => "VIDEO",
    }
}

fn kind_from_db(value: &str) -> Result<GenerationKind, StoreError> {
    match value {
        "TEXT" => Ok(GenerationKind::Text),
        "IMAGE" => Ok(GenerationKind::Image),
        "VIDEO" => Ok(GenerationKind::Video),
        _ => Err(StoreError::OutOfRange("generation kind")),
    }
}

/// A generation as stored, without its media bytes (see [`Store::generation_media`]).
#[derive(Clone, PartialEq, Eq)]
pub struct GenerationRecord {
    /// Its id.
    pub id: Uuid,
    /// The account it belongs to.
    pub account: Uuid,
    /// What it produces.
    pub kind: GenerationKind,
    /// Where it stands.
    pub status: GenerationStatus,
    /// The provider that took it.
    pub provider: ProviderId,
    /// The provider's job id, if it ran one.
    pub provider_job_id: Option<String>,
    /// The prompt, sealed.
    pub prompt_sealed: Vec<u8>,
    /// A text output, sealed.
    pub text_sealed: Option<Vec<u8>>,
    /// The media's type, when it has media.
    pub media_type: Option<String>,
    /// Why it failed.
    pub error_code: Option<String>,
    /// The length a video was asked for, in seconds: a parameter of its request, which its
    /// job submits it with. `None` for text and images.
    pub duration_seconds: Option<u32>,
    /// What it was metered at.
    pub usage: Usage,
    /// When it was asked for.
    pub created_at: DateTime<Utc>,
    /// When it finished.
    pub completed_at: Option<DateTime<Utc>>,
    /// What became of the provider's copy of the output, when it ran as a provider job.
    pub remote_copy: Option<RemoteCopy>,
    /// What minimisation withheld from the provider; `None` when the prompt was sent as
    /// written.
    pub redactions: Option<Redactions>,
}

impl fmt::Debug for GenerationRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GenerationRecord")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("status", &self.status)
            .field("provider", &self.provider)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// Every column but the media bytes and the sealed input, which record queries select as
/// `NULL`.
const RECORD_COLUMNS: [generation::Column; 18] = [
    generation::Column::Id,
    generation::Column::AccountId,
    generation::Column::Kind,
    generation::Column::Status,
    generation::Column::Provider,
    generation::Column::ProviderJobId,
    generation::Column::PromptSealed,
    generation::Column::TextSealed,
    generation::Column::MediaType,
    generation::Column::ErrorCode,
    generation::Column::Tokens,
    generation::Column::Images,
    generation::Column::VideoSeconds,
    generation::Column::CreatedAt,
    generation::Column::CompletedAt,
    generation::Column::RemoteCopy,
    generation::Column::DurationSeconds,
    generation::Column::Redactions,
];

impl TryFrom<generation::Model> for GenerationRecord {
    type Error = StoreError;

    fn try_from(row: generation::Model) -> Result<Self, StoreError> {
        Ok(Self {
            id: row.id,
            account: row.account_id,
            kind: kind_from_db(&row.kind)?,
            status: status_from_db(&row.status)?,
            provider: provider_from_db(&row.provider)?,
            provider_job_id: row.provider_job_id,
            prompt_sealed: row.prompt_sealed,
            text_sealed: row.text_sealed,
            media_type: row.media_type,
            error_code: row.error_code,
            duration_seconds: row
                .duration_seconds
                .map(|seconds| u32_from_db(seconds, "generation duration"))
                .transpose()?,
            usage: Usage {
                tokens: u64_from_db(row.tokens, "generation tokens")?,
                images: u64_from_db(row.images, "generation images")?,
                video_seconds: u64_from_db(row.video_seconds, "generation video seconds")?,
            },
            created_at: row.created_at,
            completed_at: row.completed_at,
            remote_copy: row
                .remote_copy
                .as_deref()
                .map(remote_copy_from_db)
                .transpose()?,
            redactions: row
                .redactions
                .as_deref()
                .map(Redactions::parse)
                .transpose()
                .map_err(|_| StoreError::OutOfRange("generation redactions"))?,
        })
    }
}

/// A position in an account's newest-first list: the creation time and id of the last
/// generation seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenerationPosition {
    /// When the generation was created.
    pub created_at: DateTime<Utc>,
    /// Its id (breaks ties between generations created at the same time).
    pub id: Uuid,
}

/// Sealed media bytes and their type.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedMedia {
    /// The bytes, sealed.
    pub sealed: Vec<u8>,
    /// Their media type.
    pub media_type: String,
}

impl fmt::Debug for SealedMedia {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedMedia")
            .field("bytes", &self.sealed.len())
            .field("media_type", &self.media_type)
            .finish()
    }
}

/// Generations without their media bytes: every other column, and `NULL` in their place.
fn records() -> sea_orm::Select<generation::Entity> {
    generation::Entity::find()
        .select_only()
        .columns(RECORD_COLUMNS)
        .expr_as(
            Expr::value(Option::<Vec<u8>>::None),
            generation::Column::MediaSealed.as_str(),
        )
        .expr_as(
            Expr::value(Option::<Vec<u8>>::None),
            generation::Column::InputSealed.as_str(),
        )
}

fn active_model(
    record: &GenerationRecord,
    media_sealed: Option<Vec<u8>>,
    input_sealed: Option<Vec<u8>>,
) -> Result<generation::ActiveModel, StoreError> {
    Ok(generation::ActiveModel {
        id: Set(record.id),
        account_id: Set(record.account),
        kind: Set(kind_to_db(record.kind).to_owned()),
        status: Set(status_to_db(record.status).to_owned()),
        provider: Set(record.provider.as_str().to_owned()),
        provider_job_id: Set(record.provider_job_id.clone()),
        prompt_sealed: Set(record.prompt_sealed.clone()),
        text_sealed: Set(record.text_sealed.clone()),
        media_sealed: Set(media_sealed),
        media_type: Set(record.media_type.clone()),
        error_code: Set(record.error_code.clone()),
        tokens: Set(u64_to_db(record.usage.tokens, "generation tokens")?),
        images: Set(u64_to_db(record.usage.images, "generation images")?),
        video_seconds: Set(u64_to_db(
            record.usage.video_seconds,
            "generation video seconds",
        )?),
        created_at: Set(record.created_at),
        completed_at: Set(record.completed_at),
        input_sealed: Set(input_sealed),
        remote_copy: Set(record
            .remote_copy
            .map(|copy| remote_copy_to_db(copy).to_owned())),
        duration_seconds: Set(record
            .duration_seconds
            .map(|seconds| u32_to_db(seconds, "generation duration"))
            .transpose()?),
        redactions: Set(record.redactions.as_ref().map(Redactions::to_text)),
    })
}

/// An update of the account's generation `id`, only while it has not ended.
fn unfinished(account: Uuid, id: Uuid) -> sea_orm::UpdateMany<generation::Entity> {
    generation::Entity::update_many()
        .filter(generation::Column::Id.eq(id))
        .filter(generation::Column::AccountId.eq(account))
        .filter(generation::Column::Status.is_in(unfinished_statuses()))
}

impl Store {
    /// Stores a generation, with its sealed media bytes if it has media.
    ///
    /// # Errors
    /// [`StoreError::Duplicate`] when the account already has a generation with this id.
    pub async fn insert_generation(
        &self,
        record: &GenerationRecord,
        media_sealed: Option<Vec<u8>>,
    ) -> Result<(), StoreError> {
        self.group_commit
            .write(Write {
                row: Some(active_model(record, media_sealed, None)?),
                ..Write::default()
            })
            .await
    }

    /// Stores a finished generation and adds what it metered to its account's usage, in
    /// one transaction — grouped with other generations finishing at the same time (see
    /// `group_commit`).
    ///
    /// # Errors
    /// [`StoreError::Duplicate`] when the account already has a generation with this id;
    /// nothing is written then.
    pub async fn insert_generation_metered(
        &self,
        record: &GenerationRecord,
        media_sealed: Option<Vec<u8>>,
        metering: Metering,
    ) -> Result<(), StoreError> {
        let metered = Metered {
            account: record.account,
            metering,
        };
        self.group_commit
            .write(Write {
                row: Some(active_model(record, media_sealed, None)?),
                metered: Some(metered),
                events: Vec::new(),
            })
            .await
    }

    /// The account's generation `id`; `None` when there is none — or when it is someone
    /// else's, which the caller cannot tell apart.
    pub async fn generation_of(
        &self,
        account: Uuid,
        id: Uuid,
    ) -> Result<Option<GenerationRecord>, StoreError> {
        records()
            .filter(generation::Column::Id.eq(id))
            .filter(generation::Column::AccountId.eq(account))
            .one(&self.db)
            .await
            .map_err(StoreError::Query)?
            .map(GenerationRecord::try_from)
            .transpose()
    }

    /// Up to `limit` of the account's generations, newest first, after `after`.
    pub async fn generations_page(
        &self,
        account: Uuid,
        after: Option<GenerationPosition>,
        limit: u64,
    ) -> Result<Vec<GenerationRecord>, StoreError> {
        let mut query = records().filter(generation::Column::AccountId.eq(account));
        if let Some(after) = after {
            query = query.filter(
                Condition::any()
                    .add(generation::Column::CreatedAt.lt(after.created_at))
                    .add(
                        Condition::all()
                            .add(generation::Column::CreatedAt.eq(after.created_at))
                            .add(generation::Column::Id.lt(after.id)),
                    ),
            );
        }
        query
            .order_by_desc(generation::Column::CreatedAt)
            .order_by_desc(generation::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await
            .map_err(StoreError::Query)?
            .into_iter()
            .map(GenerationRecord::try_from)
            .collect()
    }

    /// The sealed media of the account's generation `id`; `None` when it has none, does not
    /// exist or is someone else's.
    pub async fn generation_media(
        &self,
        account: Uuid,
        id: Uuid,
    ) -> Result<Option<SealedMedia>, StoreError> {
        let row: Option<(Option<Vec<u8>>, Option<String>)> = generation::Entity::find()
            .select_only()
            .column(generation::Column::MediaSealed)
            .column(generation::Column::MediaType)
            .filter(generation::Column::Id.eq(id))
            .filter(generation::Column::AccountId.eq(account))
            .into_tuple()
            .one(&self.db)
            .await
            .map_err(StoreError::Query)?;
        Ok(match row {
            Some((Some(sealed), Some(media_type))) => Some(SealedMedia { sealed, media_type }),
            _ => None,
        })
    }

    /// Deletes the account's generation `id`, media included. Returns whether it existed
    /// (and was the account's).
    pub async fn delete_generation(&self, account: Uuid, id: Uuid) -> Result<bool, StoreError> {
        let result = generation::Entity::delete_many()
            .filter(generation::Column::Id.eq(id))
            .filter(generation::Column::AccountId.eq(account))
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?;
        Ok(result.rows_affected > 0)
    }

    /// Stores a generation that a job will run — with its sealed input — and queues that
    /// job, in one transaction: there is never a queued generation without its job.
    ///
    /// # Errors
    /// [`StoreError::Duplicate`] when an id is taken.
    pub async fn insert_generation_with_job(
        &self,
        record: &GenerationRecord,
        input_sealed: Option<Vec<u8>>,
        job: &crate::jobs::NewJob,
    ) -> Result<(), StoreError> {
        let txn = self.db.begin().await.map_err(StoreError::Query)?;
        generation::Entity::insert(active_model(record, None, input_sealed)?)
            .exec_without_returning(&txn)
            .await
            .map_err(StoreError::from_insert)?;
        crate::entity::job::Entity::insert(crate::jobs::active_model(job, record.created_at)?)
            .exec_without_returning(&txn)
            .await
            .map_err(StoreError::from_insert)?;
        txn.commit().await.map_err(StoreError::Query)
    }

    /// The sealed input of the account's generation `id` (the parameters a job submits it
    /// with); `None` when it has none, does not exist or is someone else's.
    pub async fn generation_input(
        &self,
        account: Uuid,
        id: Uuid,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let row: Option<Option<Vec<u8>>> = generation::Entity::find()
            .select_only()
            .column(generation::Column::InputSealed)
            .filter(generation::Column::Id.eq(id))
            .filter(generation::Column::AccountId.eq(account))
            .into_tuple()
            .one(&self.db)
            .await
            .map_err(StoreError::Query)?;
        Ok(row.flatten())
    }

    /// Marks the account's unfinished generation `id` as running at the provider, with the
    /// provider's job id when it runs one. Returns whether it was still unfinished.
    pub async fn start_generation(
        &self,
        account: Uuid,
        id: Uuid,
        provider_job_id: Option<&str>,
    ) -> Result<bool, StoreError> {
        let mut update = unfinished(account, id).col_expr(
            generation::Column::Status,
            Expr::value(status_to_db(GenerationStatus::Running)),
        );
        if let Some(job) = provider_job_id {
            update = update.col_expr(generation::Column::ProviderJobId, Expr::value(job));
        }
        let result = update.exec(&self.db).await.map_err(StoreError::Query)?;
        Ok(result.rows_affected > 0)
    }

    /// Records what minimisation withheld when the account's unfinished generation `id` was
    /// sent to its provider. Returns whether it was still unfinished.
    pub async fn record_redactions(
        &self,
        account: Uuid,
        id: Uuid,
        redactions: &Redactions,
    ) -> Result<bool, StoreError> {
        let result = unfinished(account, id)
            .col_expr(
                generation::Column::Redactions,
                Expr::value(redactions.to_text()),
            )
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?;
        Ok(result.rows_affected > 0)
    }

    /// Stores the sealed media of the account's unfinished generation `id` and marks it
    /// succeeded. One conditional statement: of two writers, one stores; a generation that
    /// ended (or was deleted) meanwhile is left alone. Returns whether this call stored it.
    pub async fn finish_generation_media(
        &self,
        account: Uuid,
        id: Uuid,
        media: SealedMedia,
        completed_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = unfinished(account, id)
            .col_expr(
                generation::Column::Status,
                Expr::value(status_to_db(GenerationStatus::Succeeded)),
            )
            .col_expr(generation::Column::MediaSealed, Expr::value(media.sealed))
            .col_expr(generation::Column::MediaType, Expr::value(media.media_type))
            .col_expr(generation::Column::CompletedAt, Expr::value(completed_at))
            .col_expr(
                generation::Column::InputSealed,
                Expr::value(Option::<Vec<u8>>::None),
            )
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?;
        Ok(result.rows_affected > 0)
    }

    /// Ends the account's unfinished generation `id` without an output — `Failed` or
    /// `Cancelled` — with an error code. Returns whether this call ended it (so that what
    /// it had reserved is given back once).
    pub async fn end_generation(
        &self,
        account: Uuid,
        id: Uuid,
        status: GenerationStatus,
        error_code: &str,
        completed_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = unfinished(account, id)
            .col_expr(
                generation::Column::Status,
                Expr::value(status_to_db(status)),
            )
            .col_expr(generation::Column::ErrorCode, Expr::value(error_code))
            .col_expr(generation::Column::CompletedAt, Expr::value(completed_at))
            .col_expr(
                generation::Column::InputSealed,
                Expr::value(Option::<Vec<u8>>::None),
            )
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?;
        Ok(result.rows_affected > 0)
    }

    /// Records what became of the provider's copy of the account's generation `id`.
    pub async fn record_remote_copy(
        &self,
        account: Uuid,
        id: Uuid,
        copy: RemoteCopy,
    ) -> Result<(), StoreError> {
        generation::Entity::update_many()
            .col_expr(
                generation::Column::RemoteCopy,
                Expr::value(remote_copy_to_db(copy)),
            )
            .filter(generation::Column::Id.eq(id))
            .filter(generation::Column::AccountId.eq(account))
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?;
        Ok(())
    }

    /// Deletes the account's generation `id` only if it has not ended (queued or running);
    /// returns whether it did. One statement, so a job finishing at the same moment either
    /// finished first (and this deletes nothing) or finds no row.
    pub async fn delete_unfinished_generation(
        &self,
        account: Uuid,
        id: Uuid,
    ) -> Result<bool, StoreError> {
        let result = generation::Entity::delete_many()
            .filter(generation::Column::Id.eq(id))
            .filter(generation::Column::AccountId.eq(account))
            .filter(generation::Column::Status.is_in(unfinished_statuses()))
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?;
        Ok(result.rows_affected > 0)
    }

    /// Deletes every generation, of every account, created before `cutoff`; returns how
    /// many. Media go with their rows.
    ///
    /// `generations` is keyed and indexed by account (so that erasing one person touches
    /// only that person's index pages), so the purge walks the accounts in id order,
    /// [`PURGE_BATCH`] at a time, each batch one short statement through
    /// `idx_generations_account_created`: the work grows with the number of accounts and of
    /// expired generations, and other writers wait for one batch at most, never for the
    /// whole purge.
    pub async fn purge_generations_before(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut purged = 0;
        let mut after: Option<Uuid> = None;
        loop {
            let mut batch = account::Entity::find()
                .select_only()
                .column(account::Column::Id)
                .order_by_asc(account::Column::Id)
                .limit(PURGE_BATCH);
            if let Some(last) = after {
                batch = batch.filter(account::Column::Id.gt(last));
            }
            let accounts: Vec<Uuid> = batch
                .into_tuple()
                .all(&self.db)
                .await
                .map_err(StoreError::Query)?;
            let Some(&last) = accounts.last() else {
                return Ok(purged);
            };
            purged += generation::Entity::delete_many()
                .filter(generation::Column::AccountId.is_in(accounts))
                .filter(Expr::col(generation::Column::CreatedAt).lt(cutoff))
                .exec(&self.db)
                .await
                .map_err(StoreError::Query)?
                .rows_affected;
            after = Some(last);
        }
    }
}

//! `rateGeneration`: a person rates one of their own generations, with their consent to
//! improvement — what "improve our algorithms" means here (`icecone_app::analytics::ratings`).

use async_graphql::{Context, Enum, ID, Object};
use chrono::Utc;
use icecone_core::analytics::ranking::Rating;
use uuid::Uuid;

use super::caller::{services, viewer_account};
use super::error::ApiError;
use super::generation::Generation;

/// How a generation turned out, for the person who asked for it.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(
    name = "GenerationRating",
    remote = "icecone_core::analytics::ranking::Rating"
)]
pub(crate) enum GenerationRatingValue {
    /// Good.
    Good,
    /// Bad.
    Bad,
}

#[derive(Debug, Default)]
pub(crate) struct RatingMutation;

#[Object]
impl RatingMutation {
    /// Rates one of the signed-in person's generations that succeeded (a new rating
    /// replaces the last). Only with consent to `IMPROVEMENT` (`CONSENT_REQUIRED` with
    /// `extensions.purpose: IMPROVEMENT` otherwise; `PROCESSING_RESTRICTED` while
    /// processing is restricted): ratings are counted only in aggregate, from at least
    /// `ICECONE_ANALYTICS_MIN_GROUP` people, to decide which compliant provider is tried
    /// first for each kind when a request names none; withdrawing the consent deletes them.
    /// `NOT_FOUND` for an id that is not one of the person's generations;
    /// `BAD_USER_INPUT` for one without an output.
    async fn rate_generation(
        &self,
        ctx: &Context<'_>,
        id: ID,
        rating: GenerationRatingValue,
    ) -> Result<Generation, ApiError> {
        let (_, account) = viewer_account(ctx).await?;
        let id = Uuid::try_parse(&id).map_err(|_| ApiError::NotFound)?;
        let services = services(ctx)?;
        let record = icecone_app::analytics::ratings::rate(
            &services.store,
            services.policy,
            account.id,
            id,
            Rating::from(rating),
            Utc::now(),
        )
        .await?;
        Ok(Generation::new(record, account.subject))
    }
}

//! People's ratings of their generations, and the ranking of providers made from them —
//! what "improve our algorithms" means at IceCone: with a person's consent to
//! `IMPROVEMENT`, their ratings are counted, in aggregate and only from groups of at least
//! the minimum group of people, to decide which compliant provider is tried first for each
//! kind when a request names none. Nothing is trained, nothing is sent to a provider, and
//! a rating never changes eligibility or an explicit choice.

use chrono::{DateTime, Utc};
use icecone_core::analytics::MinGroup;
use icecone_core::analytics::ranking::{PersonRatings, Rating, rank};
use icecone_core::consent::Purpose;
use icecone_core::consent::decision::{Activity, Denial};
use icecone_core::consent::policy::PolicyHistory;
use icecone_core::generation::GenerationStatus;
use icecone_core::provider::ProviderId;
use icecone_store::Store;
use icecone_store::analytics::GenerationRating;
use icecone_store::generations::GenerationRecord;
use uuid::Uuid;

use crate::consent;
use crate::providers::router::SharedRanking;

/// Why a rating was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum RateError {
    /// The consent decision refused `Process(IMPROVEMENT)`.
    #[error("processing for improvement is not allowed: {0}")]
    Denied(Denial),
    /// The person has no such generation (another person's answers alike).
    #[error("no such generation")]
    NotFound,
    /// The generation has no output to rate (queued, running, failed or cancelled).
    #[error("only a generation that succeeded can be rated")]
    NotSucceeded,
    /// Something failed inside the gateway.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Records `account`'s `rating` of their generation `id` (a new rating replaces the last)
/// and answers the generation.
pub async fn rate(
    store: &Store,
    history: PolicyHistory,
    account: Uuid,
    id: Uuid,
    rating: Rating,
    now: DateTime<Utc>,
) -> Result<GenerationRecord, RateError> {
    consent::check(
        store,
        account,
        Activity::Process(Purpose::Improvement),
        history,
    )
    .await
    .map_err(anyhow::Error::from)?
    .map_err(RateError::Denied)?;
    let record = store
        .generation_of(account, id)
        .await
        .map_err(anyhow::Error::from)?
        .ok_or(RateError::NotFound)?;
    if record.status != GenerationStatus::Succeeded {
        return Err(RateError::NotSucceeded);
    }
    store
        .rate_generation(
            account,
            &GenerationRating {
                generation: record.id,
                kind: record.kind,
                provider: record.provider.as_str().to_owned(),
                rating,
                rated_at: now,
            },
        )
        .await
        .map_err(anyhow::Error::from)?;
    Ok(record)
}

/// Ranks the providers of each kind from every person's ratings again and hands the
/// ranking to the router. Returns how many kinds have a ranking.
pub async fn refresh_ranking(
    store: &Store,
    min_group: MinGroup,
    ranking: &SharedRanking,
) -> anyhow::Result<u64> {
    let tallies = store.rating_tallies().await?;
    let people: Vec<PersonRatings> = tallies
        .into_iter()
        .filter_map(|tally| {
            Some(PersonRatings {
                kind: tally.kind,
                provider: ProviderId::parse(&tally.provider).ok()?,
                good: tally.good,
                bad: tally.bad,
            })
        })
        .collect();
    let ranked = rank(&people, min_group);
    let kinds = icecone_core::generation::GenerationKind::ALL
        .into_iter()
        .filter(|kind| !ranked.of(*kind).is_empty())
        .count() as u64;
    ranking.replace(ranked);
    Ok(kinds)
}

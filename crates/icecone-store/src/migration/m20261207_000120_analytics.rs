//! Analytics and ratings.
//!
//! - `analytics_days`: one row per day that captured anything: the day's random
//!   pseudonymisation key, sealed under the system key (`key_sealed`, cleared — the key
//!   destroyed — by the transaction that aggregates the day), when it was made, when the
//!   day was aggregated, and the lease of the instance aggregating it (a claim is one
//!   conditional update on it).
//! - `analytics_events`: the raw events of days not yet aggregated: the day, the hour (no
//!   finer time), the person's pseudonym (an HMAC of their account id under the day's key),
//!   what happened and its dimensions. Indexed by day and pseudonym, so a person's events
//!   of the day are found (and deleted) by their pseudonym while the key lives.
//! - `analytics_cells`: the aggregates: per day, metric, grouping and coordinates the
//!   number of people and the value, both null when the cell is suppressed. Nothing in it
//!   refers to a person.
//! - `generation_ratings`: a person's rating of one of their generations (with the
//!   generation's kind and provider, so the ranking needs nothing else), one per
//!   generation.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum AnalyticsDays {
    Table,
    Day,
    KeySealed,
    CreatedAt,
    AggregatedAt,
    LeaseUntil,
}

#[derive(DeriveIden)]
enum AnalyticsEvents {
    Table,
    Id,
    Day,
    Hour,
    Pseudonym,
    Event,
    GenerationKind,
    Provider,
    LatencyMs,
    RightKind,
}

#[derive(DeriveIden)]
enum AnalyticsCells {
    Table,
    Day,
    Metric,
    Grouping,
    Coordinates,
    People,
    Value,
}

#[derive(DeriveIden)]
enum GenerationRatings {
    Table,
    AccountId,
    GenerationId,
    Kind,
    Provider,
    Rating,
    RatedAt,
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
}

const EVENTS_INDEX: &str = "idx_analytics_events_day_pseudonym";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AnalyticsDays::Table)
                    .col(
                        ColumnDef::new(AnalyticsDays::Day)
                            .string_len(10)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(AnalyticsDays::KeySealed).binary().null())
                    .col(
                        ColumnDef::new(AnalyticsDays::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AnalyticsDays::AggregatedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(AnalyticsDays::LeaseUntil)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AnalyticsEvents::Table)
                    .col(
                        ColumnDef::new(AnalyticsEvents::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(AnalyticsEvents::Day)
                            .string_len(10)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AnalyticsEvents::Hour)
                            .small_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AnalyticsEvents::Pseudonym)
                            .binary()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AnalyticsEvents::Event)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AnalyticsEvents::GenerationKind)
                            .string_len(16)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(AnalyticsEvents::Provider)
                            .string_len(64)
                            .null(),
                    )
                    .col(ColumnDef::new(AnalyticsEvents::LatencyMs).integer().null())
                    .col(
                        ColumnDef::new(AnalyticsEvents::RightKind)
                            .string_len(16)
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(EVENTS_INDEX)
                    .table(AnalyticsEvents::Table)
                    .col(AnalyticsEvents::Day)
                    .col(AnalyticsEvents::Pseudonym)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AnalyticsCells::Table)
                    .col(
                        ColumnDef::new(AnalyticsCells::Day)
                            .string_len(10)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AnalyticsCells::Metric)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AnalyticsCells::Grouping)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AnalyticsCells::Coordinates)
                            .string_len(255)
                            .not_null(),
                    )
                    .col(ColumnDef::new(AnalyticsCells::People).big_integer().null())
                    .col(ColumnDef::new(AnalyticsCells::Value).double().null())
                    .primary_key(
                        Index::create()
                            .col(AnalyticsCells::Day)
                            .col(AnalyticsCells::Metric)
                            .col(AnalyticsCells::Grouping)
                            .col(AnalyticsCells::Coordinates),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(GenerationRatings::Table)
                    .col(
                        ColumnDef::new(GenerationRatings::AccountId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(GenerationRatings::GenerationId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(GenerationRatings::Kind)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(GenerationRatings::Provider)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(GenerationRatings::Rating)
                            .string_len(8)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(GenerationRatings::RatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(GenerationRatings::AccountId)
                            .col(GenerationRatings::GenerationId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_generation_ratings_account")
                            .from(GenerationRatings::Table, GenerationRatings::AccountId)
                            .to(Accounts::Table, Accounts::Id),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(GenerationRatings::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(AnalyticsCells::Table).to_owned())
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name(EVENTS_INDEX)
                    .table(AnalyticsEvents::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(AnalyticsEvents::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(AnalyticsDays::Table).to_owned())
            .await
    }
}

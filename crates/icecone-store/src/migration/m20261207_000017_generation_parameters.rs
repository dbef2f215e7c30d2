//! A generation's request parameters that a job needs to submit it again:
//! `generations.duration_seconds`, the duration a video was asked for (`NULL` for text and
//! images, which are never resubmitted).
//!
//! The video job used to read the duration back from the usage meter (`video_seconds`),
//! which only held it because a video is reserved at its requested length. Videos stored
//! before this migration get it from there, once, so a queued video still submits with the
//! length it was asked for.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Generations {
    Table,
    Kind,
    VideoSeconds,
    DurationSeconds,
}

/// How the store spells the video kind in `generations.kind`.
const VIDEO: &str = "VIDEO";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Generations::Table)
                    .add_column(ColumnDef::new(Generations::DurationSeconds).integer())
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::update()
                    .table(Generations::Table)
                    .value(
                        Generations::DurationSeconds,
                        Expr::col(Generations::VideoSeconds).cast_as(Alias::new("INTEGER")),
                    )
                    .and_where(Expr::col(Generations::Kind).eq(VIDEO))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Generations::Table)
                    .drop_column(Generations::DurationSeconds)
                    .to_owned(),
            )
            .await
    }
}

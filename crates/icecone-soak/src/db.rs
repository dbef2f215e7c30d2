//! The run's own database: created on the given server at the start, read directly at the
//! end (the store's tables, by raw SQL: the harness checks the store, it does not trust
//! it), dropped afterwards.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, QueryResult, Statement};
use uuid::Uuid;

use crate::invariants::{Amount, Counter, JobRow, StoredGeneration};

/// The server URL with its database replaced by `name`.
pub(crate) fn with_database(server: &str, name: &str) -> anyhow::Result<String> {
    let mut url = url::Url::parse(server)?;
    if !matches!(url.scheme(), "postgres" | "postgresql") {
        anyhow::bail!("--database-url must be a postgres:// URL");
    }
    url.set_path(&format!("/{name}"));
    Ok(url.to_string())
}

/// Creates database `name` on `server`.
pub(crate) async fn create(server: &str, name: &str) -> anyhow::Result<()> {
    let admin = Database::connect(server).await?;
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await?;
    admin.close().await?;
    Ok(())
}

/// Drops database `name` on `server`, ending its connections.
pub(crate) async fn drop(server: &str, name: &str) -> anyhow::Result<()> {
    let admin = Database::connect(server).await?;
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await?;
    admin.close().await?;
    Ok(())
}

/// A connection to the run's database.
#[derive(Debug)]
pub(crate) struct RunDatabase(DatabaseConnection);

async fn rows(db: &DatabaseConnection, sql: &str) -> anyhow::Result<Vec<QueryResult>> {
    Ok(db
        .query_all_raw(Statement::from_string(DbBackend::Postgres, sql.to_owned()))
        .await?)
}

impl RunDatabase {
    pub(crate) async fn connect(url: &str) -> anyhow::Result<Self> {
        Ok(Self(Database::connect(url).await?))
    }

    /// Every generation.
    pub(crate) async fn generations(&self) -> anyhow::Result<Vec<StoredGeneration>> {
        rows(
            &self.0,
            "SELECT id, account_id, status, tokens, images, video_seconds FROM generations",
        )
        .await?
        .iter()
        .map(|row| {
            Ok(StoredGeneration {
                id: row.try_get("", "id")?,
                account: row.try_get("", "account_id")?,
                status: row.try_get("", "status")?,
                usage: Amount {
                    tokens: row.try_get("", "tokens")?,
                    images: row.try_get("", "images")?,
                    video_seconds: row.try_get("", "video_seconds")?,
                },
            })
        })
        .collect()
    }

    /// Every account's usage, summed over its periods.
    pub(crate) async fn counters(&self) -> anyhow::Result<Vec<Counter>> {
        rows(
            &self.0,
            "SELECT account_id, SUM(tokens)::BIGINT AS tokens, SUM(images)::BIGINT AS images, \
             SUM(video_seconds)::BIGINT AS video_seconds FROM usage_counters GROUP BY account_id",
        )
        .await?
        .iter()
        .map(|row| {
            Ok(Counter {
                account: row.try_get("", "account_id")?,
                used: Amount {
                    tokens: row.try_get("", "tokens")?,
                    images: row.try_get("", "images")?,
                    video_seconds: row.try_get("", "video_seconds")?,
                },
            })
        })
        .collect()
    }

    /// Every job.
    pub(crate) async fn jobs(&self) -> anyhow::Result<Vec<JobRow>> {
        rows(&self.0, "SELECT id, kind, subject, state FROM jobs")
            .await?
            .iter()
            .map(|row| {
                Ok(JobRow {
                    id: row.try_get("", "id")?,
                    kind: row.try_get("", "kind")?,
                    subject: row.try_get("", "subject")?,
                    state: row.try_get("", "state")?,
                })
            })
            .collect()
    }

    /// The status of every data subject request.
    pub(crate) async fn request_statuses(&self) -> anyhow::Result<HashMap<Uuid, String>> {
        rows(&self.0, "SELECT id, status FROM data_requests")
            .await?
            .iter()
            .map(|row| Ok((row.try_get("", "id")?, row.try_get("", "status")?)))
            .collect()
    }

    /// The erasure tombstones (by request id), each with whether its account is gone.
    pub(crate) async fn erasures(&self) -> anyhow::Result<HashMap<Uuid, bool>> {
        rows(
            &self.0,
            "SELECT t.id, NOT EXISTS (SELECT 1 FROM account_deletions d JOIN accounts a \
             ON a.id = d.account_id WHERE d.id = t.id) AS gone FROM erasure_tombstones t",
        )
        .await?
        .iter()
        .map(|row| Ok((row.try_get("", "id")?, row.try_get("", "gone")?)))
        .collect()
    }

    /// Waits (at most `patience`) until no job is left to run; whether none is.
    pub(crate) async fn wait_for_jobs(&self, patience: Duration) -> anyhow::Result<bool> {
        let started = Instant::now();
        loop {
            let open = rows(
                &self.0,
                "SELECT COUNT(*)::BIGINT AS open FROM jobs WHERE state IN ('queued', 'running')",
            )
            .await?;
            let count: i64 = open
                .first()
                .map(|row| row.try_get("", "open"))
                .transpose()?
                .unwrap_or(0);
            if count == 0 {
                return Ok(true);
            }
            if started.elapsed() > patience {
                return Ok(false);
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// `--break-invariant`: meters one generation a second time, as a double-metering bug
    /// would, so that the run must fail.
    pub(crate) async fn meter_one_generation_twice(&self) -> anyhow::Result<()> {
        self.0
            .execute_unprepared(
                "UPDATE usage_counters SET tokens = usage_counters.tokens + g.tokens, \
                 images = usage_counters.images + g.images \
                 FROM (SELECT account_id, tokens, images FROM generations \
                       WHERE status = 'SUCCEEDED' LIMIT 1) AS g \
                 WHERE usage_counters.account_id = g.account_id",
            )
            .await?;
        Ok(())
    }

    pub(crate) async fn close(self) -> anyhow::Result<()> {
        Ok(self.0.close().await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_run_database_replaces_the_server_urls_database() {
        let cases = [
            (
                "postgres://postgres@127.0.0.1:5432/postgres",
                "postgres://postgres@127.0.0.1:5432/soak_1",
            ),
            ("postgres://u:p@db:5433", "postgres://u:p@db:5433/soak_1"),
            (
                "postgresql://u@h/test?sslmode=disable",
                "postgresql://u@h/soak_1?sslmode=disable",
            ),
        ];
        for (server, expected) in cases {
            assert_eq!(with_database(server, "soak_1").expect("valid"), expected);
        }
        assert!(with_database("sqlite://x.db", "soak_1").is_err());
    }
}

//! Indexes that make the export and the erasure of one person independent of how many other
//! people's rows the database holds (issue #8; measured by `benches/rights.rs` of the
//! gateway, `docs/performance.md`). Without them these statements read whole tables:
//!
//! - the erasure's `DELETE ... WHERE account_id = ?` on `jobs`, `notification_outbox`,
//!   `mfa_challenges`, `data_exports` and `privacy_tickets`, and, when the account row goes,
//!   SQLite's foreign-key check of `notification_outbox` and `mfa_challenges`;
//! - the export's audit entries of a person (`target = ? OR target LIKE '<target>:%' OR
//!   actor = ?`): `actor` had no index, and the prefix match cannot use the binary index on
//!   `target`, as LIKE ignores ASCII case. On SQLite an index on `target COLLATE NOCASE`
//!   serves it; on PostgreSQL an index with `varchar_pattern_ops` does.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

/// The account-id indexes: (index, table).
const ACCOUNT_INDEXES: [(&str, &str); 5] = [
    ("idx_jobs_account", "jobs"),
    ("idx_notification_outbox_account", "notification_outbox"),
    ("idx_mfa_challenges_account", "mfa_challenges"),
    ("idx_data_exports_account", "data_exports"),
    ("idx_privacy_tickets_account", "privacy_tickets"),
];

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Actor,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table) in ACCOUNT_INDEXES {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Alias::new(table))
                        .col(Alias::new("account_id"))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_log_actor")
                    .table(AuditLog::Table)
                    .col(AuditLog::Actor)
                    .to_owned(),
            )
            .await?;
        // The prefix match of a LIKE: an expression index the query builder cannot state.
        let prefix_index = match manager.get_database_backend() {
            DbBackend::Postgres => {
                "CREATE INDEX idx_audit_log_target_prefix ON audit_log (target varchar_pattern_ops)"
            }
            _ => "CREATE INDEX idx_audit_log_target_prefix ON audit_log (target COLLATE NOCASE)",
        };
        manager
            .get_connection()
            .execute_unprepared(prefix_index)
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in ["idx_audit_log_target_prefix", "idx_audit_log_actor"] {
            manager
                .drop_index(Index::drop().name(name).table(AuditLog::Table).to_owned())
                .await?;
        }
        for (name, table) in ACCOUNT_INDEXES {
            manager
                .drop_index(Index::drop().name(name).table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}

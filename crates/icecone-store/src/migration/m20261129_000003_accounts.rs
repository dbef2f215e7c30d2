//! Identity: accounts (personal fields sealed, e-mail found by blind index), staff roles,
//! TOTP factors, recovery codes, sessions with rotating refresh tokens, MFA challenges,
//! attempt counters, the tamper-evident audit log, the notification outbox and the
//! access-token signing keys.
//!
//! Nothing here is personal in clear: e-mail and display name are ciphertexts under the
//! subject's data key; secrets (TOTP secrets, signing keys, staff reasons) are ciphertexts;
//! tokens and recovery codes are stored as digests only.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
    SubjectId,
    EmailSealed,
    EmailIndex,
    DisplayNameSealed,
    PasswordHash,
    PolicyVersion,
    Kind,
    SuspendedAt,
    CreatedAt,
    UpdatedAt,
    PasswordChangedAt,
}

#[derive(DeriveIden)]
enum StaffRoles {
    Table,
    AccountId,
    Role,
    GrantedAt,
}

#[derive(DeriveIden)]
enum TotpFactors {
    Table,
    AccountId,
    SecretSealed,
    ConfirmedAt,
    LastStep,
    Failures,
    LastFailureAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum RecoveryCodes {
    Table,
    Id,
    AccountId,
    Digest,
    UsedAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    AccountId,
    CreatedAt,
    AuthTime,
    MfaAt,
    Amr,
    LastRefreshedAt,
    RevokedAt,
    RevokedReason,
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    Digest,
    SessionId,
    IssuedAt,
    ExpiresAt,
    SpentAt,
}

#[derive(DeriveIden)]
enum MfaChallenges {
    Table,
    Digest,
    AccountId,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum AttemptCounters {
    Table,
    Bucket,
    Failures,
    LastFailureAt,
    WindowStart,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Seq,
    At,
    Actor,
    Action,
    Target,
    ReasonSealed,
    RequestId,
    Mac,
}

#[derive(DeriveIden)]
enum NotificationOutbox {
    Table,
    Id,
    AccountId,
    Kind,
    CreatedAt,
    DeliveredAt,
}

#[derive(DeriveIden)]
enum SigningKeys {
    Table,
    Kid,
    PrivateSealed,
    PublicKey,
    CreatedAt,
    RetiredAt,
}

#[derive(DeriveIden)]
enum DataSubjects {
    Table,
    Id,
}

fn timestamp<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

fn optional_timestamp<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).timestamp_with_time_zone().to_owned()
}

fn account_fk<T: IntoIden + 'static>(
    table: T,
    column: impl IntoIden + 'static,
    name: &str,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(table, column)
        .to(Accounts::Table, Accounts::Id)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Accounts::Table)
                    .col(ColumnDef::new(Accounts::Id).uuid().not_null().primary_key())
                    .col(
                        ColumnDef::new(Accounts::SubjectId)
                            .uuid()
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(Accounts::EmailSealed).blob().not_null())
                    .col(
                        ColumnDef::new(Accounts::EmailIndex)
                            .binary_len(32)
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(Accounts::DisplayNameSealed).blob())
                    .col(
                        ColumnDef::new(Accounts::PasswordHash)
                            .string_len(255)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Accounts::PolicyVersion)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Accounts::Kind).string_len(16).not_null())
                    .col(optional_timestamp(Accounts::SuspendedAt))
                    .col(timestamp(Accounts::CreatedAt))
                    .col(timestamp(Accounts::UpdatedAt))
                    .col(timestamp(Accounts::PasswordChangedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_accounts_subject")
                            .from(Accounts::Table, Accounts::SubjectId)
                            .to(DataSubjects::Table, DataSubjects::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(StaffRoles::Table)
                    .col(ColumnDef::new(StaffRoles::AccountId).uuid().not_null())
                    .col(ColumnDef::new(StaffRoles::Role).string_len(16).not_null())
                    .col(timestamp(StaffRoles::GrantedAt))
                    .primary_key(
                        Index::create()
                            .col(StaffRoles::AccountId)
                            .col(StaffRoles::Role),
                    )
                    .foreign_key(&mut account_fk(
                        StaffRoles::Table,
                        StaffRoles::AccountId,
                        "fk_staff_roles_account",
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TotpFactors::Table)
                    .col(
                        ColumnDef::new(TotpFactors::AccountId)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(TotpFactors::SecretSealed).blob().not_null())
                    .col(optional_timestamp(TotpFactors::ConfirmedAt))
                    .col(ColumnDef::new(TotpFactors::LastStep).big_integer())
                    .col(
                        ColumnDef::new(TotpFactors::Failures)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(optional_timestamp(TotpFactors::LastFailureAt))
                    .col(timestamp(TotpFactors::CreatedAt))
                    .foreign_key(&mut account_fk(
                        TotpFactors::Table,
                        TotpFactors::AccountId,
                        "fk_totp_account",
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RecoveryCodes::Table)
                    .col(
                        ColumnDef::new(RecoveryCodes::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(RecoveryCodes::AccountId).uuid().not_null())
                    .col(
                        ColumnDef::new(RecoveryCodes::Digest)
                            .binary_len(32)
                            .not_null(),
                    )
                    .col(optional_timestamp(RecoveryCodes::UsedAt))
                    .foreign_key(&mut account_fk(
                        RecoveryCodes::Table,
                        RecoveryCodes::AccountId,
                        "fk_recovery_account",
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_recovery_codes_account")
                    .table(RecoveryCodes::Table)
                    .col(RecoveryCodes::AccountId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Sessions::Table)
                    .col(ColumnDef::new(Sessions::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Sessions::AccountId).uuid().not_null())
                    .col(timestamp(Sessions::CreatedAt))
                    .col(timestamp(Sessions::AuthTime))
                    .col(optional_timestamp(Sessions::MfaAt))
                    .col(ColumnDef::new(Sessions::Amr).string_len(64).not_null())
                    .col(timestamp(Sessions::LastRefreshedAt))
                    .col(optional_timestamp(Sessions::RevokedAt))
                    .col(ColumnDef::new(Sessions::RevokedReason).string_len(32))
                    .foreign_key(&mut account_fk(
                        Sessions::Table,
                        Sessions::AccountId,
                        "fk_sessions_account",
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_sessions_account")
                    .table(Sessions::Table)
                    .col(Sessions::AccountId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RefreshTokens::Table)
                    .col(
                        ColumnDef::new(RefreshTokens::Digest)
                            .binary_len(32)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(RefreshTokens::SessionId).uuid().not_null())
                    .col(timestamp(RefreshTokens::IssuedAt))
                    .col(timestamp(RefreshTokens::ExpiresAt))
                    .col(optional_timestamp(RefreshTokens::SpentAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_refresh_tokens_session")
                            .from(RefreshTokens::Table, RefreshTokens::SessionId)
                            .to(Sessions::Table, Sessions::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_refresh_tokens_session")
                    .table(RefreshTokens::Table)
                    .col(RefreshTokens::SessionId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(MfaChallenges::Table)
                    .col(
                        ColumnDef::new(MfaChallenges::Digest)
                            .binary_len(32)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(MfaChallenges::AccountId).uuid().not_null())
                    .col(timestamp(MfaChallenges::CreatedAt))
                    .col(timestamp(MfaChallenges::ExpiresAt))
                    .col(optional_timestamp(MfaChallenges::UsedAt))
                    .foreign_key(&mut account_fk(
                        MfaChallenges::Table,
                        MfaChallenges::AccountId,
                        "fk_mfa_challenges_account",
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AttemptCounters::Table)
                    .col(
                        ColumnDef::new(AttemptCounters::Bucket)
                            .string_len(128)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(AttemptCounters::Failures)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(optional_timestamp(AttemptCounters::LastFailureAt))
                    .col(timestamp(AttemptCounters::WindowStart))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(
                        ColumnDef::new(AuditLog::Seq)
                            .big_integer()
                            .not_null()
                            .primary_key(),
                    )
                    .col(timestamp(AuditLog::At))
                    .col(ColumnDef::new(AuditLog::Actor).string_len(80).not_null())
                    .col(ColumnDef::new(AuditLog::Action).string_len(64).not_null())
                    .col(ColumnDef::new(AuditLog::Target).string_len(80))
                    .col(ColumnDef::new(AuditLog::ReasonSealed).blob())
                    .col(ColumnDef::new(AuditLog::RequestId).string_len(64))
                    .col(ColumnDef::new(AuditLog::Mac).binary_len(32).not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_log_target")
                    .table(AuditLog::Table)
                    .col(AuditLog::Target)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(NotificationOutbox::Table)
                    .col(
                        ColumnDef::new(NotificationOutbox::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(NotificationOutbox::AccountId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(NotificationOutbox::Kind)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(timestamp(NotificationOutbox::CreatedAt))
                    .col(optional_timestamp(NotificationOutbox::DeliveredAt))
                    .foreign_key(&mut account_fk(
                        NotificationOutbox::Table,
                        NotificationOutbox::AccountId,
                        "fk_outbox_account",
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SigningKeys::Table)
                    .col(
                        ColumnDef::new(SigningKeys::Kid)
                            .string_len(64)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(SigningKeys::PrivateSealed).blob().not_null())
                    .col(
                        ColumnDef::new(SigningKeys::PublicKey)
                            .binary_len(32)
                            .not_null(),
                    )
                    .col(timestamp(SigningKeys::CreatedAt))
                    .col(optional_timestamp(SigningKeys::RetiredAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            SigningKeys::Table.into_iden(),
            NotificationOutbox::Table.into_iden(),
            AuditLog::Table.into_iden(),
            AttemptCounters::Table.into_iden(),
            MfaChallenges::Table.into_iden(),
            RefreshTokens::Table.into_iden(),
            Sessions::Table.into_iden(),
            RecoveryCodes::Table.into_iden(),
            TotpFactors::Table.into_iden(),
            StaffRoles::Table.into_iden(),
            Accounts::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

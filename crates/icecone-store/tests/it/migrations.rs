use icecone_store::testing::TestDatabase;

/// Every table the migrations create, sorted.
const ALL_TABLES: [&str; 45] = [
    "account_deletions",
    "accounts",
    "analytics_cells",
    "analytics_days",
    "analytics_events",
    "attempt_counters",
    "audit_log",
    "billing_customers",
    "billing_events",
    "billing_invoices",
    "consent_ledger",
    "data_export_chunks",
    "data_exports",
    "data_keys",
    "data_request_events",
    "data_requests",
    "data_subjects",
    "email_verifications",
    "erasure_followups",
    "erasure_tombstones",
    "generation_ratings",
    "generations",
    "jobs",
    "legal_disclosure_accounts",
    "legal_disclosures",
    "legal_holds",
    "mail_campaigns",
    "mail_suppressions",
    "mfa_challenges",
    "notification_outbox",
    "partner_grants",
    "partner_keys",
    "partners",
    "privacy_ticket_events",
    "privacy_tickets",
    "provider_credentials",
    "recovery_codes",
    "refresh_tokens",
    "sessions",
    "signing_keys",
    "staff_roles",
    "subprocessor_versions",
    "system_keys",
    "totp_factors",
    "usage_counters",
];

#[tokio::test]
async fn migrations_apply_roll_back_and_apply_again() {
    let db = TestDatabase::unmigrated().await;
    let store = db.store();
    assert!(
        !store
            .pending_migrations()
            .await
            .expect("pending")
            .is_empty()
    );
    assert!(
        store.check_ready().await.is_err(),
        "an unmigrated database is not ready"
    );

    store.migrate().await.expect("first up");
    assert_eq!(
        store.pending_migrations().await.expect("pending"),
        Vec::<String>::new()
    );
    assert_eq!(store.table_names().await.expect("tables"), ALL_TABLES);
    store
        .check_ready()
        .await
        .expect("a migrated database is ready");

    store.migrate_down_all().await.expect("down");
    assert_eq!(
        store.table_names().await.expect("tables"),
        Vec::<String>::new()
    );

    store.migrate().await.expect("second up");
    assert_eq!(store.table_names().await.expect("tables"), ALL_TABLES);
}

#[tokio::test]
async fn migrating_twice_changes_nothing() {
    let db = TestDatabase::new().await;
    db.store()
        .migrate()
        .await
        .expect("second migrate is a no-op");
    db.store().check_ready().await.expect("still ready");
}

#[tokio::test]
async fn an_sqlite_database_runs_in_wal_mode() {
    let db = TestDatabase::sqlite().await;
    assert_eq!(
        db.store().sqlite_journal_mode().await.expect("pragma"),
        "wal"
    );
}

#[tokio::test]
async fn an_sqlite_database_is_built_with_stable_query_plans() {
    // Without it a statement with a bound `LIMIT` is planned again on every execution
    // (`.cargo/config.toml` explains).
    let db = TestDatabase::sqlite().await;
    let options = db.store().sqlite_compile_options().await.expect("pragma");
    assert!(
        options.iter().any(|option| option == "ENABLE_QPSG"),
        "{options:?}"
    );
}

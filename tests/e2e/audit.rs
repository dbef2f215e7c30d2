//! The tamper-evident audit trail: chained appends, concurrent writers, and verification
//! that names the first edited or deleted entry — in process and through `icecone audit
//! verify`.

use std::sync::Arc;

use icecone_app::audit::{self, AuditEvent, Verification};
use icecone_app::keys::file_provider::FileKeyProvider;
use icecone_app::keys::vault::{CacheLimits, Vault};
use icecone_core::audit::BrokenReason;
use icecone_core::crypto::aead::Algorithm;
use icecone_store::testing::TestDatabase;

use crate::support::binary::icecone;

async fn vault(db: &TestDatabase, dir: &std::path::Path) -> Vault {
    let (provider, _) =
        FileKeyProvider::open_or_generate_development(dir, Algorithm::default()).expect("keyring");
    Vault::open(
        db.store().clone(),
        Arc::new(provider),
        Algorithm::default(),
        CacheLimits::default(),
    )
    .await
    .expect("vault")
}

fn event(action: &str) -> AuditEvent<'_> {
    AuditEvent {
        actor: "account:7c9e6679-7425-40de-944b-e07fc1f90ae7",
        action,
        target: Some("account:0f8fad5b-d9cb-469f-a165-70867728950e"),
        reason: Some("ticket 4711: the user asked why a generation failed"),
        request_id: Some("req-1"),
    }
}

async fn verification(db: &TestDatabase, vault: &Vault) -> Verification {
    audit::verify(db.store(), vault).await.expect("verifies")
}

#[tokio::test]
async fn appended_entries_form_a_chain_that_verifies() {
    let db = TestDatabase::new().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let vault = vault(&db, dir.path()).await;
    assert!(matches!(verification(&db, &vault).await, Verification::Intact(v) if v.entries == 0));
    for (i, action) in ["auth.sign_in", "mfa.enrolled", "staff.read_account"]
        .into_iter()
        .enumerate()
    {
        let seq = audit::record(db.store(), &vault, event(action))
            .await
            .expect("recorded");
        assert_eq!(seq, i as u64 + 1);
    }
    match verification(&db, &vault).await {
        Verification::Intact(verified) => assert_eq!((verified.entries, verified.head.seq), (3, 3)),
        Verification::Broken(broken) => panic!("{broken}"),
    }
    // The reason is stored sealed, never in clear.
    let raw = db.raw_bytes().await;
    let reason = b"ticket 4711";
    assert!(
        !raw.windows(reason.len()).any(|w| w == reason),
        "the reason is in the database in clear"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_never_fork_the_chain() {
    let db = TestDatabase::new().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let vault = Arc::new(vault(&db, dir.path()).await);
    let store = db.store().clone();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..12 {
        let (store, vault) = (store.clone(), vault.clone());
        tasks.spawn(async move { audit::record(&store, &vault, event("auth.sign_in")).await });
    }
    let mut seqs = Vec::new();
    while let Some(result) = tasks.join_next().await {
        seqs.push(result.expect("task").expect("recorded"));
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=12).collect::<Vec<u64>>());
    assert!(matches!(verification(&db, &vault).await, Verification::Intact(v) if v.entries == 12));
}

#[tokio::test]
async fn an_edited_or_deleted_entry_is_named() {
    let db = TestDatabase::new().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let vault = vault(&db, dir.path()).await;
    for _ in 0..5 {
        audit::record(db.store(), &vault, event("auth.sign_in"))
            .await
            .expect("recorded");
    }
    db.execute("UPDATE audit_log SET action = 'auth.sign_out' WHERE seq = 3")
        .await;
    match verification(&db, &vault).await {
        Verification::Broken(broken) => {
            assert_eq!((broken.seq, broken.reason), (3, BrokenReason::MacMismatch))
        }
        Verification::Intact(_) => panic!("an edited entry went unnoticed"),
    }
    db.execute("UPDATE audit_log SET action = 'auth.sign_in' WHERE seq = 3")
        .await;
    assert!(
        matches!(verification(&db, &vault).await, Verification::Intact(_)),
        "restored"
    );
    db.execute("DELETE FROM audit_log WHERE seq = 2").await;
    match verification(&db, &vault).await {
        Verification::Broken(broken) => {
            assert_eq!(
                (broken.seq, broken.reason),
                (2, BrokenReason::Missing { next_found: 3 })
            );
        }
        Verification::Intact(_) => panic!("a deleted entry went unnoticed"),
    }
}

#[tokio::test]
async fn icecone_audit_verify_reports_the_chain_and_key_rotations_are_in_it() {
    let db = TestDatabase::new().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |args: &[&str]| {
        icecone(dir.path())
            .env("ICECONE_DATABASE_URL", db.url().expose())
            .args(args)
            .output()
            .expect("icecone runs")
    };
    let rotated = run(&["keys", "rotate"]);
    assert!(
        rotated.status.success(),
        "{}",
        String::from_utf8_lossy(&rotated.stderr)
    );
    let verified = run(&["audit", "verify"]);
    let stdout = String::from_utf8_lossy(&verified.stdout);
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    assert!(
        stdout.contains("audit trail intact: 1 entries; head: entry 1 with MAC "),
        "{stdout}"
    );
    let page = db.store().audit_page(None, 10).await.expect("page");
    assert_eq!(page.len(), 1);
    assert_eq!(
        (
            page[0].actor.as_str(),
            page[0].action.as_str(),
            page[0].target.as_deref()
        ),
        ("cli", "keys.rotate", Some("kek:v2"))
    );

    db.execute("UPDATE audit_log SET target = 'kek:v9' WHERE seq = 1")
        .await;
    let broken = run(&["audit", "verify"]);
    assert_eq!(broken.status.code(), Some(1));
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&broken.stdout),
        String::from_utf8_lossy(&broken.stderr)
    );
    assert!(
        output.contains("the audit chain is broken at entry 1"),
        "{output}"
    );
}

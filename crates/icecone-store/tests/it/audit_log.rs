use icecone_store::StoreError;
use icecone_store::audit_log::AuditRow;
use icecone_store::testing::TestDatabase;

use crate::support::{now, plus, second_store};

fn row(seq: u64, target: Option<&str>) -> AuditRow {
    AuditRow {
        seq,
        at: plus(now(), 0),
        actor: "account:00000000-0000-4000-8000-000000000001".to_owned(),
        action: "staff.read_account".to_owned(),
        target: target.map(str::to_owned),
        reason_sealed: target.map(|_| vec![0xAA, 0xBB]),
        request_id: Some(format!("req-{seq}")),
        mac: [u8::try_from(seq).expect("a small seq"); 32],
    }
}

#[tokio::test]
async fn entries_are_appended_paged_in_order_and_found_by_target() {
    let db = TestDatabase::new().await;
    let store = db.store();
    assert_eq!(store.audit_head().await.expect("head"), None);
    let rows: Vec<AuditRow> = (1..=5)
        .map(|seq| row(seq, (seq % 2 == 1).then_some("account:target")))
        .collect();
    for entry in &rows {
        store.append_audit(entry.clone()).await.expect("appended");
    }
    assert_eq!(store.audit_head().await.expect("head"), Some((5, [5; 32])));

    assert_eq!(store.audit_page(None, 2).await.expect("page"), rows[..2]);
    assert_eq!(
        store.audit_page(Some(2), 2).await.expect("page"),
        rows[2..4]
    );
    assert_eq!(
        store.audit_page(Some(4), 10).await.expect("page"),
        rows[4..]
    );
    assert!(store.audit_page(Some(5), 10).await.expect("end").is_empty());

    let about: Vec<u64> = store
        .audit_entries_about("account:target")
        .await
        .expect("about")
        .into_iter()
        .map(|entry| entry.seq)
        .collect();
    assert_eq!(about, [1, 3, 5]);
    assert!(
        store
            .audit_entries_about("account:nobody")
            .await
            .expect("about")
            .is_empty()
    );
}

#[tokio::test]
async fn two_appends_with_the_same_seq_cannot_both_succeed() {
    let db = TestDatabase::new().await;
    let first = db.store();
    let second = second_store(&db).await;
    first.append_audit(row(1, None)).await.expect("genesis");

    let mut theirs = row(2, None);
    theirs.mac = [0xEE; 32];
    let (a, b) = tokio::join!(
        first.append_audit(row(2, None)),
        second.append_audit(theirs)
    );
    let outcomes = [a, b];
    assert_eq!(
        outcomes.iter().filter(|outcome| outcome.is_ok()).count(),
        1,
        "{outcomes:?}"
    );
    assert!(
        outcomes
            .iter()
            .any(|outcome| matches!(outcome, Err(StoreError::Duplicate))),
        "the loser is told the seq is taken: {outcomes:?}"
    );
    let (head, _) = first.audit_head().await.expect("head").expect("some");
    assert_eq!(head, 2);
    assert_eq!(first.audit_page(None, 10).await.expect("page").len(), 2);

    assert!(matches!(
        first.append_audit(row(1, None)).await,
        Err(StoreError::Duplicate)
    ));
    second.close().await.expect("closed");
}

#[tokio::test]
async fn an_accounts_entries_are_those_about_it_below_it_or_by_it() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let account = "account:00000000-0000-4000-8000-00000000000a";
    let other = "account:00000000-0000-4000-8000-00000000000b";
    let entry = |seq: u64, actor: &str, target: Option<String>| AuditRow {
        actor: actor.to_owned(),
        target,
        ..row(seq, None)
    };
    let rows = [
        entry(1, "staff:1", Some(account.to_owned())),
        entry(2, "staff:1", Some(format!("{account}:dr:42"))),
        entry(3, account, None),
        entry(4, "staff:1", Some(other.to_owned())),
        entry(5, "staff:1", Some(format!("{other}:dr:42"))),
        entry(6, other, Some(format!("{account}x"))),
        entry(7, "staff:1", Some("account:".to_owned())),
        entry(8, "staff:1", Some(format!("{account};"))),
    ];
    for row in &rows {
        store.append_audit(row.clone()).await.expect("appended");
    }
    let found = store
        .audit_entries_of_account(
            uuid::Uuid::parse_str("00000000-0000-4000-8000-00000000000a").expect("uuid"),
        )
        .await
        .expect("read");
    let seqs: Vec<u64> = found.iter().map(|row| row.seq).collect();
    assert_eq!(seqs, [1, 2, 3]);
}

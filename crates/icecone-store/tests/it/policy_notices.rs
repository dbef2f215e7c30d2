use std::collections::HashMap;

use icecone_store::Store;
use icecone_store::accounts::AccountKind;
use icecone_store::policy_notices::PolicyNotice;
use icecone_store::testing::TestDatabase;
use uuid::Uuid;

use crate::support::{create_user, new_account, now, store_account};

/// Accounts made by `support` accepted this version.
const ACCEPTED: &str = "2026-11-01";
const NEXT: &str = "2026-12-01";

/// Tells every account behind `current`, two at a time, as the policy-notice task does;
/// the accounts this runner queued a notice for.
async fn run(store: &Store, current: &str) -> Vec<Uuid> {
    let mut after = None;
    let mut told = Vec::new();
    loop {
        let page = store
            .accounts_behind_policy(current, after, 2)
            .await
            .expect("a page");
        let Some(last) = page.last() else {
            return told;
        };
        after = Some(last.account);
        for behind in &page {
            let notice = PolicyNotice {
                id: Uuid::new_v4(),
                kind: "policy_changed".to_owned(),
                payload_sealed: Some(vec![0xA5]),
                at: now(),
            };
            if store
                .queue_policy_notice(behind.account, &behind.told_version, current, notice)
                .await
                .expect("compare-and-set")
            {
                told.push(behind.account);
            }
            tokio::task::yield_now().await;
        }
    }
}

#[tokio::test]
async fn two_concurrent_runners_queue_exactly_one_policy_notice_per_account() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let mut verified = Vec::new();
    for index in 1..=7 {
        verified.push(create_user(store, index).await);
    }
    let mut unverified = new_account(99, AccountKind::User);
    unverified.email_verified_at = None;
    let unverified = store_account(store, unverified, vec![99]).await;

    let behind = store
        .accounts_behind_policy(NEXT, None, 100)
        .await
        .expect("behind");
    assert_eq!(behind.len(), 7, "verified accounts only");
    assert!(behind.iter().all(|b| b.told_version == ACCEPTED));
    assert!(!behind.iter().any(|b| b.account == unverified));

    let (first, second) = tokio::join!(run(store, NEXT), run(store, NEXT));
    let mut told: HashMap<Uuid, usize> = HashMap::new();
    for account in first.iter().chain(&second) {
        *told.entry(*account).or_default() += 1;
    }
    assert_eq!(told.len(), 7, "every account told: {first:?} / {second:?}");
    assert!(told.values().all(|&count| count == 1), "{told:?}");
    for account in &verified {
        let notices = store.notifications_of(*account).await.expect("outbox");
        assert_eq!(notices.len(), 1, "one notice for {account}");
        assert_eq!(notices[0].kind, "policy_changed");
        assert_eq!(notices[0].payload_sealed.as_deref(), Some(&[0xA5][..]));
    }
    assert!(
        store
            .notifications_of(unverified)
            .await
            .expect("outbox")
            .is_empty()
    );

    // Told: nothing is behind any more, and a run again queues nothing.
    assert!(run(store, NEXT).await.is_empty());
    // An instance still running an older history never moves an account back.
    assert!(run(store, ACCEPTED).await.is_empty());
    assert!(
        store
            .accounts_behind_policy("2026-10-01", None, 100)
            .await
            .expect("behind")
            .is_empty()
    );
}

#[tokio::test]
async fn a_stale_compare_and_set_queues_nothing() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let account = create_user(store, 1).await;
    let notice = || PolicyNotice {
        id: Uuid::new_v4(),
        kind: "policy_changed".to_owned(),
        payload_sealed: None,
        at: now(),
    };
    assert!(
        store
            .queue_policy_notice(account, ACCEPTED, NEXT, notice())
            .await
            .expect("first")
    );
    assert!(
        !store
            .queue_policy_notice(account, ACCEPTED, NEXT, notice())
            .await
            .expect("stale"),
        "the version it was read at has moved"
    );
    assert!(
        !store
            .queue_policy_notice(Uuid::new_v4(), ACCEPTED, NEXT, notice())
            .await
            .expect("unknown account")
    );
    assert_eq!(
        store.notifications_of(account).await.expect("outbox").len(),
        1
    );
    // A later version is told from where the account stands.
    let behind = store
        .accounts_behind_policy("2027-01-01", None, 10)
        .await
        .expect("behind");
    assert_eq!(behind.len(), 1);
    assert_eq!(behind[0].told_version, NEXT);
}

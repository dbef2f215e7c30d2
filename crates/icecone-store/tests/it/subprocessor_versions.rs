use std::collections::HashMap;

use icecone_store::Store;
use icecone_store::accounts::AccountKind;
use icecone_store::policy_notices::PolicyNotice;
use icecone_store::subprocessor_versions::SubprocessorVersion;
use icecone_store::testing::TestDatabase;
use uuid::Uuid;

use crate::support::{create_user, micros, new_account, now, plus, second_store, store_account};

fn version(number: u32, digest: &str, announced: bool, in_days: i64) -> SubprocessorVersion {
    let at = micros(now());
    SubprocessorVersion {
        version: number,
        digest: digest.repeat(64 / digest.len()),
        entries: format!("[{{\"name\":\"{digest}\"}}]"),
        announced,
        published_at: at,
        takes_effect_at: plus(at, in_days * 86_400),
    }
}

/// Tells every account behind `version`, two at a time, as the notice task does.
async fn run(store: &Store, version: u32) -> Vec<Uuid> {
    let mut after = None;
    let mut told = Vec::new();
    loop {
        let page = store
            .accounts_behind_subprocessors(version, after, 2)
            .await
            .expect("a page");
        let Some(last) = page.last() else {
            return told;
        };
        after = Some(last.account);
        for behind in &page {
            let notice = PolicyNotice {
                id: Uuid::new_v4(),
                kind: "subprocessors_changed".to_owned(),
                payload_sealed: Some(vec![0x5A]),
                at: now(),
            };
            if store
                .queue_subprocessor_notice(behind.account, behind.told_version, version, notice)
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
async fn a_subprocessor_version_number_is_taken_once_and_versions_read_back_in_order() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let other = second_store(&db).await;
    assert_eq!(
        store.latest_subprocessor_version().await.expect("latest"),
        None
    );

    let first = version(1, "a", false, 0);
    let rival = version(1, "b", false, 0);
    let (mine, theirs) = tokio::join!(
        store.publish_subprocessor_version(&first),
        other.publish_subprocessor_version(&rival)
    );
    let (mine, theirs) = (mine.expect("publish"), theirs.expect("publish"));
    assert!(
        mine ^ theirs,
        "exactly one instance takes version 1: {mine} {theirs}"
    );
    let winner = if mine { &first } else { &rival };
    assert_eq!(
        store
            .latest_subprocessor_version()
            .await
            .expect("latest")
            .as_ref(),
        Some(winner)
    );

    let second = version(2, "c", true, 30);
    assert!(
        store
            .publish_subprocessor_version(&second)
            .await
            .expect("publish")
    );
    assert!(
        !store
            .publish_subprocessor_version(&second)
            .await
            .expect("again"),
        "a number taken stays taken"
    );
    assert_eq!(
        store.subprocessor_versions().await.expect("all"),
        [winner.clone(), second.clone()]
    );
    assert_eq!(
        store.latest_subprocessor_version().await.expect("latest"),
        Some(second)
    );
}

#[tokio::test]
async fn two_concurrent_runners_tell_each_verified_account_of_a_subprocessor_version_once() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let mut verified = Vec::new();
    for index in 1..=5 {
        verified.push(create_user(store, index).await);
    }
    let mut unverified = new_account(99, AccountKind::User);
    unverified.email_verified_at = None;
    let unverified = store_account(store, unverified, vec![99]).await;

    let behind = store
        .accounts_behind_subprocessors(2, None, 100)
        .await
        .expect("behind");
    assert_eq!(behind.len(), 5, "verified accounts only");
    assert!(
        behind.iter().all(|b| b.told_version == 0),
        "told of nothing yet"
    );

    let (first, second) = tokio::join!(run(store, 2), run(store, 2));
    let mut told: HashMap<Uuid, usize> = HashMap::new();
    for account in first.iter().chain(&second) {
        *told.entry(*account).or_default() += 1;
    }
    assert_eq!(told.len(), 5, "{first:?} / {second:?}");
    assert!(told.values().all(|&count| count == 1), "{told:?}");
    for account in &verified {
        let notices = store.notifications_of(*account).await.expect("outbox");
        assert_eq!(notices.len(), 1);
        assert_eq!(notices[0].kind, "subprocessors_changed");
    }
    assert!(
        store
            .notifications_of(unverified)
            .await
            .expect("outbox")
            .is_empty()
    );
    assert!(run(store, 2).await.is_empty(), "told: nothing is behind");
    assert!(run(store, 1).await.is_empty(), "never moved back");
    let stale = PolicyNotice {
        id: Uuid::new_v4(),
        kind: "subprocessors_changed".to_owned(),
        payload_sealed: None,
        at: now(),
    };
    assert!(
        !store
            .queue_subprocessor_notice(verified[0], 0, 2, stale)
            .await
            .expect("stale"),
        "a compare-and-set on a version that moved queues nothing"
    );
    let behind = store
        .accounts_behind_subprocessors(3, None, 10)
        .await
        .expect("behind");
    assert_eq!(behind.len(), 5);
    assert!(behind.iter().all(|b| b.told_version == 2));
}

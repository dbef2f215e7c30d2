use icecone_store::testing::TestDatabase;
use tokio::task::JoinSet;

use crate::support::{now, plus, second_store};

#[tokio::test]
async fn failures_are_counted_per_bucket_and_cleared() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let bucket = "account:00000000-0000-4000-8000-000000000001";
    assert_eq!(store.attempt_state(bucket).await.expect("read"), None);

    let first = now();
    let state = store
        .record_attempt_failure(bucket, first)
        .await
        .expect("first");
    assert_eq!(
        (state.failures, state.last_failure_at, state.window_start),
        (1, first, first)
    );
    let later = plus(first, 30);
    let state = store
        .record_attempt_failure(bucket, later)
        .await
        .expect("second");
    assert_eq!(
        (state.failures, state.last_failure_at, state.window_start),
        (2, later, first),
        "the window starts at the first failure"
    );
    assert_eq!(
        store.attempt_state(bucket).await.expect("read"),
        Some(state)
    );

    let other = store
        .record_attempt_failure("addr:ab12", later)
        .await
        .expect("other bucket");
    assert_eq!(other.failures, 1, "buckets are counted apart");

    assert!(store.clear_attempts(bucket).await.expect("cleared"));
    assert!(!store.clear_attempts(bucket).await.expect("again"));
    assert_eq!(store.attempt_state(bucket).await.expect("read"), None);
    assert_eq!(
        store
            .record_attempt_failure(bucket, plus(first, 60))
            .await
            .expect("after clearing")
            .failures,
        1
    );
    assert_eq!(
        store
            .attempt_state("addr:ab12")
            .await
            .expect("read")
            .map(|state| state.failures),
        Some(1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_failures_from_two_instances_are_all_counted() {
    let db = TestDatabase::new().await;
    let second = second_store(&db).await;
    let mut tasks = JoinSet::new();
    for i in 0..12 {
        let store = if i % 2 == 0 {
            db.store().clone()
        } else {
            second.clone()
        };
        tasks.spawn(async move { store.record_attempt_failure("addr:ff", now()).await });
    }
    let mut counts: Vec<u32> = tasks
        .join_all()
        .await
        .into_iter()
        .map(|result| result.expect("no error").failures)
        .collect();
    counts.sort_unstable();
    assert_eq!(counts, (1..=12).collect::<Vec<_>>());
    assert_eq!(
        db.store()
            .attempt_state("addr:ff")
            .await
            .expect("read")
            .map(|state| state.failures),
        Some(12)
    );
    second.close().await.expect("closed");
}

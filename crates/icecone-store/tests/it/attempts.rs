use icecone_store::testing::TestDatabase;
use tokio::task::JoinSet;

use crate::support::{now, plus, second_store};

#[tokio::test]
async fn attempts_are_reserved_per_bucket_given_back_and_cleared() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let bucket = "account:00000000-0000-4000-8000-000000000001";
    assert_eq!(store.attempt_state(bucket).await.expect("read"), None);

    let first = now();
    let state = store
        .reserve_attempt(bucket, None, first)
        .await
        .expect("first")
        .expect("reserved");
    assert_eq!(
        (state.failures, state.last_failure_at, state.window_start),
        (1, first, first)
    );
    assert_eq!(
        store
            .reserve_attempt(bucket, None, first)
            .await
            .expect("stale"),
        None,
        "a caller that saw no row loses once a row exists"
    );
    let later = plus(first, 30);
    let second = store
        .reserve_attempt(bucket, Some(&state), later)
        .await
        .expect("second")
        .expect("reserved");
    assert_eq!(
        (second.failures, second.last_failure_at, second.window_start),
        (2, later, first),
        "the window starts at the first attempt"
    );
    assert_eq!(
        store.attempt_state(bucket).await.expect("read"),
        Some(second)
    );
    assert_eq!(
        store
            .reserve_attempt(bucket, Some(&state), later)
            .await
            .expect("stale"),
        None,
        "a caller that saw an older state loses"
    );

    assert!(store.give_back_attempt(bucket).await.expect("given back"));
    assert_eq!(
        store
            .attempt_state(bucket)
            .await
            .expect("read")
            .map(|state| state.failures),
        Some(1)
    );

    let other = store
        .reserve_attempt("addr:ab12", None, later)
        .await
        .expect("other bucket")
        .expect("reserved");
    assert_eq!(other.failures, 1, "buckets are counted apart");

    assert!(store.clear_attempts(bucket).await.expect("cleared"));
    assert!(!store.clear_attempts(bucket).await.expect("again"));
    assert!(!store.give_back_attempt(bucket).await.expect("nothing"));
    assert_eq!(store.attempt_state(bucket).await.expect("read"), None);
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
async fn of_concurrent_reservations_from_two_instances_one_wins_each_state() {
    let db = TestDatabase::new().await;
    let second = second_store(&db).await;
    let seen = db
        .store()
        .reserve_attempt("addr:ff", None, now())
        .await
        .expect("first")
        .expect("reserved");
    let mut tasks = JoinSet::new();
    for i in 0..12 {
        let store = if i % 2 == 0 {
            db.store().clone()
        } else {
            second.clone()
        };
        tasks.spawn(async move { store.reserve_attempt("addr:ff", Some(&seen), now()).await });
    }
    let won = tasks
        .join_all()
        .await
        .into_iter()
        .map(|result| result.expect("no error"))
        .filter(Option::is_some)
        .count();
    assert_eq!(won, 1, "all saw the same state: one reserves");
    assert_eq!(
        db.store()
            .attempt_state("addr:ff")
            .await
            .expect("read")
            .map(|state| state.failures),
        Some(2)
    );
    second.close().await.expect("closed");
}

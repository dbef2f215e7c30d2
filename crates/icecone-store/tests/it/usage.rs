use chrono::NaiveDate;
use icecone_core::usage::{Period, Usage};
use icecone_store::testing::TestDatabase;
use tokio::task::JoinSet;

use crate::support::{create_user, now, second_store};

fn period(month: u32) -> Period {
    Period::of(NaiveDate::from_ymd_opt(2026, month, 15).expect("a date"))
}

fn usage(tokens: u64, images: u64, video_seconds: u64) -> Usage {
    Usage {
        tokens,
        images,
        video_seconds,
    }
}

#[tokio::test]
async fn usage_is_counted_per_account_and_period_and_reservations_respect_the_ceiling() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let account = create_user(store, 1).await;
    let other = create_user(store, 2).await;
    let november = period(11);
    assert_eq!(
        store.usage(account, &november).await.expect("read"),
        Usage::default()
    );
    let ceiling = usage(100, 2, 10);

    assert!(
        store
            .add_usage_within(account, &november, usage(0, 1, 0), ceiling, now())
            .await
            .expect("reserved")
    );
    assert!(
        store
            .add_usage_within(account, &november, usage(0, 1, 0), ceiling, now())
            .await
            .expect("reserved")
    );
    assert!(
        !store
            .add_usage_within(account, &november, usage(0, 1, 0), ceiling, now())
            .await
            .expect("refused"),
        "a third image does not fit"
    );
    assert!(
        !store
            .add_usage_within(other, &november, usage(0, 0, 11), ceiling, now())
            .await
            .expect("refused"),
        "an amount over the ceiling on its own is refused without a row"
    );
    store
        .add_usage(account, &november, usage(150, 0, 0), now())
        .await
        .expect("metered");
    assert_eq!(
        store.usage(account, &november).await.expect("read"),
        usage(150, 2, 0),
        "metering after the fact may pass the ceiling"
    );
    store
        .release_usage(account, &november, usage(0, 1, 0), now())
        .await
        .expect("released");
    store
        .release_usage(account, &november, usage(0, 0, 5), now())
        .await
        .expect("released");
    assert_eq!(
        store.usage(account, &november).await.expect("read"),
        usage(150, 1, 0),
        "a release gives back the reservation and never goes below zero"
    );
    assert_eq!(
        store.usage(account, &period(12)).await.expect("read"),
        Usage::default(),
        "periods are counted apart"
    );
    assert_eq!(
        store.usage(other, &november).await.expect("read"),
        Usage::default()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_reservations_from_two_instances_never_pass_the_ceiling() {
    let db = TestDatabase::new().await;
    let second = second_store(&db).await;
    let account = create_user(db.store(), 1).await;
    // Half the callers go through a second connection pool, as a second gateway would.
    let stores = [db.store().clone(), second.clone()];
    let ceiling = usage(0, 5, 0);
    let mut tasks = JoinSet::new();
    for i in 0..12 {
        let store = stores[i % 2].clone();
        tasks.spawn(async move {
            store
                .add_usage_within(account, &period(11), usage(0, 1, 0), ceiling, now())
                .await
        });
    }
    let won = tasks
        .join_all()
        .await
        .into_iter()
        .map(|result| result.expect("no error"))
        .filter(|won| *won)
        .count();
    assert_eq!(won, 5, "exactly as many reservations as fit");
    assert_eq!(
        db.store().usage(account, &period(11)).await.expect("read"),
        usage(0, 5, 0)
    );

    let mut tasks = JoinSet::new();
    for i in 0..10 {
        let store = stores[i % 2].clone();
        tasks.spawn(async move {
            store
                .add_usage(account, &period(11), usage(7, 0, 0), now())
                .await
        });
    }
    for result in tasks.join_all().await {
        result.expect("no error");
    }
    assert_eq!(
        db.store()
            .usage(account, &period(11))
            .await
            .expect("read")
            .tokens,
        70,
        "every concurrent addition counts"
    );
    second.close().await.expect("closed");
}

#[tokio::test]
async fn cached_usage_follows_this_stores_changes_and_sees_another_stores_after_its_lifetime() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let other = second_store(&db).await;
    let account = create_user(store, 1).await;
    assert_eq!(
        store
            .usage_cached(account, &period(11))
            .await
            .expect("read"),
        Usage::default()
    );

    // This store's metering, reservations and releases are applied to the cached counters.
    store
        .add_usage(account, &period(11), usage(40, 0, 0), now())
        .await
        .expect("metered");
    assert!(
        store
            .add_usage_within(
                account,
                &period(11),
                usage(0, 1, 0),
                usage(1000, 1, 0),
                now()
            )
            .await
            .expect("reserved")
    );
    assert!(
        !store
            .add_usage_within(
                account,
                &period(11),
                usage(0, 1, 0),
                usage(1000, 1, 0),
                now()
            )
            .await
            .expect("refused"),
        "a refused reservation changes nothing"
    );
    assert_eq!(
        store
            .usage_cached(account, &period(11))
            .await
            .expect("read"),
        usage(40, 1, 0)
    );
    store
        .release_usage(account, &period(11), usage(0, 1, 0), now())
        .await
        .expect("released");
    assert_eq!(
        store
            .usage_cached(account, &period(11))
            .await
            .expect("read"),
        usage(40, 0, 0)
    );
    // Another month is its own row.
    assert_eq!(
        store
            .usage_cached(account, &period(12))
            .await
            .expect("read"),
        Usage::default()
    );

    // Another instance's metering is seen by the uncached read at once and by the cached
    // one within the cache's lifetime.
    store
        .usage_cached(account, &period(11))
        .await
        .expect("read");
    other
        .add_usage(account, &period(11), usage(2, 0, 0), now())
        .await
        .expect("metered");
    assert_eq!(
        store.usage(account, &period(11)).await.expect("read"),
        usage(42, 0, 0)
    );
    tokio::time::sleep(icecone_store::read_cache::READ_CACHE_TTL).await;
    assert_eq!(
        store
            .usage_cached(account, &period(11))
            .await
            .expect("read"),
        usage(42, 0, 0)
    );
    other.close().await.expect("closed");
}

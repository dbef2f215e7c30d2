use icecone_store::StoreError;
use icecone_store::testing::TestDatabase;

use crate::support::{now, plus};

#[tokio::test]
async fn signing_keys_are_listed_newest_first_and_retired_ones_only_on_request() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let at = now();
    store
        .insert_signing_key("k1", vec![1], [1; 32], at)
        .await
        .expect("k1");
    store
        .insert_signing_key("k2", vec![2], [2; 32], plus(at, 60))
        .await
        .expect("k2");
    assert!(matches!(
        store.insert_signing_key("k1", vec![9], [9; 32], at).await,
        Err(StoreError::Duplicate)
    ));

    let all = store.signing_keys(true).await.expect("all");
    assert_eq!(
        all.iter().map(|key| key.kid.as_str()).collect::<Vec<_>>(),
        ["k2", "k1"]
    );
    assert_eq!(all[1].private_sealed, vec![1]);
    assert_eq!(all[1].public_key, [1; 32]);
    assert_eq!(all[1].created_at, at);
    assert_eq!(all[1].retired_at, None);

    let retired_at = plus(at, 120);
    assert!(
        store
            .retire_signing_key("k1", retired_at)
            .await
            .expect("retired")
    );
    assert!(
        !store
            .retire_signing_key("k1", plus(at, 180))
            .await
            .expect("again")
    );
    assert!(!store.retire_signing_key("k9", at).await.expect("unknown"));
    assert_eq!(
        store
            .signing_keys(false)
            .await
            .expect("live")
            .iter()
            .map(|key| key.kid.as_str())
            .collect::<Vec<_>>(),
        ["k2"]
    );
    assert_eq!(
        store.signing_keys(true).await.expect("all")[1].retired_at,
        Some(retired_at)
    );
}

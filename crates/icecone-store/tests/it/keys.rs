use icecone_core::subject::SubjectId;
use icecone_store::keys::{KeyToRewrap, StoredDataKey};
use icecone_store::testing::TestDatabase;

#[tokio::test]
async fn a_subject_is_created_with_its_wrapped_key_and_can_be_shredded() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let alice = SubjectId::new_random();
    store
        .create_data_subject(alice, 1, vec![1, 2, 3])
        .await
        .expect("created");
    assert_eq!(
        store.data_key(alice).await.expect("read"),
        Some(StoredDataKey::Active {
            kek_version: 1,
            wrapped: vec![1, 2, 3]
        })
    );
    assert_eq!(
        store.data_key(SubjectId::new_random()).await.expect("read"),
        None
    );

    assert!(store.destroy_data_key(alice).await.expect("destroyed"));
    assert!(matches!(
        store.data_key(alice).await.expect("read"),
        Some(StoredDataKey::Destroyed { .. })
    ));
    assert!(
        !store.destroy_data_key(alice).await.expect("again"),
        "destroying twice is a no-op"
    );
    assert_eq!(store.destroyed_data_key_count().await.expect("count"), 1);
}

#[tokio::test]
async fn creating_the_same_subject_twice_fails_and_leaves_the_first_intact() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let subject = SubjectId::new_random();
    store
        .create_data_subject(subject, 1, vec![9])
        .await
        .expect("created");
    assert!(
        store
            .create_data_subject(subject, 2, vec![8])
            .await
            .is_err()
    );
    assert_eq!(
        store.data_key(subject).await.expect("read"),
        Some(StoredDataKey::Active {
            kek_version: 1,
            wrapped: vec![9]
        })
    );
}

#[tokio::test]
async fn rotation_finds_old_keys_and_rewraps_only_what_is_still_old() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let (a, b, shredded) = (
        SubjectId::new_random(),
        SubjectId::new_random(),
        SubjectId::new_random(),
    );
    store.create_data_subject(a, 1, vec![1]).await.expect("a");
    store.create_data_subject(b, 2, vec![2]).await.expect("b");
    store
        .create_data_subject(shredded, 1, vec![3])
        .await
        .expect("c");
    store.destroy_data_key(shredded).await.expect("shred");
    store
        .insert_system_key("system", 1, vec![7])
        .await
        .expect("system");

    let usage = store.kek_version_usage().await.expect("usage");
    assert_eq!(
        usage.into_iter().collect::<Vec<_>>(),
        vec![(1, 2), (2, 1)],
        "a + system on v1, b on v2"
    );

    let todo = store.data_keys_to_rewrap(2, 100).await.expect("todo");
    assert_eq!(
        todo,
        vec![KeyToRewrap {
            id: a,
            kek_version: 1,
            wrapped: vec![1]
        }]
    );
    assert!(
        !store
            .rewrap_data_key(a, 3, 2, vec![10])
            .await
            .expect("stale"),
        "wrong `from` changes nothing"
    );
    assert!(
        store
            .rewrap_data_key(a, 1, 2, vec![10])
            .await
            .expect("rewrapped")
    );
    assert!(
        store
            .data_keys_to_rewrap(2, 100)
            .await
            .expect("todo")
            .is_empty()
    );
    assert!(
        !store
            .rewrap_data_key(shredded, 1, 2, vec![11])
            .await
            .expect("shredded"),
        "a shredded key stays shredded"
    );

    let system = store.system_keys_to_rewrap(2).await.expect("system todo");
    assert_eq!(
        system,
        vec![KeyToRewrap {
            id: "system".to_owned(),
            kek_version: 1,
            wrapped: vec![7]
        }]
    );
    assert!(
        store
            .rewrap_system_key("system", 1, 2, vec![70])
            .await
            .expect("rewrapped")
    );
    assert_eq!(
        store.system_key("system").await.expect("read"),
        Some((2, vec![70]))
    );
    assert_eq!(
        store
            .kek_version_usage()
            .await
            .expect("usage")
            .into_iter()
            .collect::<Vec<_>>(),
        vec![(2, 3)]
    );
}

#[tokio::test]
async fn the_first_system_key_stored_wins() {
    let db = TestDatabase::new().await;
    let store = db.store();
    assert!(
        store
            .insert_system_key("system", 1, vec![1])
            .await
            .expect("first")
    );
    assert!(
        !store
            .insert_system_key("system", 1, vec![2])
            .await
            .expect("second")
    );
    assert_eq!(
        store.system_key("system").await.expect("read"),
        Some((1, vec![1]))
    );
    assert_eq!(store.system_key("other").await.expect("read"), None);
}

use icecone_store::StoreError;
use icecone_store::testing::TestDatabase;
use uuid::Uuid;

use crate::support::{create_user, now, plus};

#[tokio::test]
async fn undelivered_notifications_are_listed_oldest_first_until_delivered() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let account = create_user(store, 1).await;
    let at = now();
    let (first, second, third) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    store
        .enqueue_notification(second, account, "mfa_changed", None, plus(at, 1))
        .await
        .expect("queued");
    store
        .enqueue_notification(first, account, "new_sign_in", None, at)
        .await
        .expect("queued");
    store
        .enqueue_notification(third, account, "password_changed", None, plus(at, 2))
        .await
        .expect("queued");
    assert!(matches!(
        store
            .enqueue_notification(first, account, "new_sign_in", None, at)
            .await,
        Err(StoreError::Duplicate)
    ));

    let pending = store.undelivered_notifications(2).await.expect("pending");
    assert_eq!(
        pending
            .iter()
            .map(|n| (n.id, n.kind.as_str()))
            .collect::<Vec<_>>(),
        [(first, "new_sign_in"), (second, "mfa_changed")]
    );
    assert_eq!(pending[0].account, account);
    assert_eq!(pending[0].created_at, at);
    assert_eq!(pending[0].delivered_at, None);

    assert!(
        store
            .mark_notification_delivered(first, plus(at, 5))
            .await
            .expect("delivered")
    );
    assert!(
        !store
            .mark_notification_delivered(first, plus(at, 6))
            .await
            .expect("again"),
        "a notification is delivered once"
    );
    assert_eq!(
        store
            .undelivered_notifications(10)
            .await
            .expect("pending")
            .iter()
            .map(|n| n.id)
            .collect::<Vec<_>>(),
        [second, third]
    );
}

#[tokio::test]
async fn a_released_notification_is_queued_again_with_its_payload() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let account = create_user(store, 1).await;
    let id = Uuid::new_v4();
    let at = now();
    store
        .enqueue_notification(id, account, "verify_email", Some(vec![0xAB, 0xCD]), at)
        .await
        .expect("queued");
    assert!(
        store
            .mark_notification_delivered(id, plus(at, 1))
            .await
            .expect("claimed")
    );
    assert!(
        store
            .undelivered_notifications(10)
            .await
            .expect("pending")
            .is_empty()
    );
    store.release_notification(id).await.expect("released");
    let pending = store.undelivered_notifications(10).await.expect("pending");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].payload_sealed, Some(vec![0xAB, 0xCD]));
    assert_eq!(pending[0].delivered_at, None);
}

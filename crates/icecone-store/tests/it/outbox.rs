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
        .enqueue_notification(second, account, "mfa_changed", plus(at, 1))
        .await
        .expect("queued");
    store
        .enqueue_notification(first, account, "new_sign_in", at)
        .await
        .expect("queued");
    store
        .enqueue_notification(third, account, "password_changed", plus(at, 2))
        .await
        .expect("queued");
    assert!(matches!(
        store
            .enqueue_notification(first, account, "new_sign_in", at)
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

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

    let pending = store.due_notifications(at, 2).await.expect("pending");
    assert_eq!(
        pending
            .iter()
            .map(|n| (n.id, n.kind.as_str()))
            .collect::<Vec<_>>(),
        [(first, "new_sign_in"), (second, "mfa_changed")]
    );
    assert_eq!(pending[0].account, Some(account));
    assert_eq!(pending[0].created_at, at);
    assert_eq!(pending[0].delivered_at, None);
    assert_eq!(pending[0].attempts, 0);

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
            .due_notifications(at, 10)
            .await
            .expect("pending")
            .iter()
            .map(|n| n.id)
            .collect::<Vec<_>>(),
        [second, third]
    );
}

#[tokio::test]
async fn a_notification_is_claimed_once_held_while_claimed_and_due_again_at_its_retry() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let account = create_user(store, 1).await;
    let id = Uuid::new_v4();
    let at = now();
    store
        .enqueue_notification(id, account, "verify_email", Some(vec![0xAB, 0xCD]), at)
        .await
        .expect("queued");
    let read = store.due_notifications(at, 10).await.expect("due");
    assert_eq!(read.len(), 1);
    assert!(
        store
            .claim_notification(&read[0], plus(at, 300))
            .await
            .expect("claimed")
    );
    assert!(
        !store
            .claim_notification(&read[0], plus(at, 300))
            .await
            .expect("claimed again"),
        "a second deliverer that read the same row loses"
    );
    assert!(
        store
            .due_notifications(plus(at, 299), 10)
            .await
            .expect("due")
            .is_empty(),
        "held while claimed"
    );
    let after_a_crash = store
        .due_notifications(plus(at, 300), 10)
        .await
        .expect("due");
    assert_eq!(after_a_crash.len(), 1, "due again when the claim runs out");
    assert_eq!(after_a_crash[0].attempts, 1);

    store
        .retry_notification_at(id, plus(at, 60))
        .await
        .expect("retry");
    assert!(
        store
            .due_notifications(plus(at, 59), 10)
            .await
            .expect("due")
            .is_empty()
    );
    let pending = store
        .due_notifications(plus(at, 60), 10)
        .await
        .expect("due");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].payload_sealed, Some(vec![0xAB, 0xCD]));
    assert_eq!(pending[0].delivered_at, None);

    store
        .give_up_notification(id, plus(at, 61))
        .await
        .expect("given up");
    assert!(
        store
            .due_notifications(plus(at, 10_000), 10)
            .await
            .expect("due")
            .is_empty()
    );
    let all = store.notifications_of(account).await.expect("listed");
    assert_eq!(all[0].given_up_at, Some(plus(at, 61)));
}

#[tokio::test]
async fn a_suppressed_address_is_listed_once_by_its_blind_index() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let account = create_user(store, 1).await;
    let index = [7u8; 32];
    assert!(!store.is_address_suppressed(&index).await.expect("read"));
    assert!(
        store
            .suppress_address(&index, account, 550, now())
            .await
            .expect("suppressed")
    );
    assert!(
        !store
            .suppress_address(&index, account, 551, now())
            .await
            .expect("again"),
        "the first refusal is kept"
    );
    assert!(store.is_address_suppressed(&index).await.expect("read"));
    assert!(!store.is_address_suppressed(&[8u8; 32]).await.expect("read"));
}

use icecone_store::StoreError;
use icecone_store::accounts::AccountKind;
use icecone_store::testing::TestDatabase;
use icecone_store::verifications::NewEmailVerification;
use uuid::Uuid;

use crate::support::{create_user, new_account, now, plus};

fn link(digest: u8, account: Uuid, index: u8) -> NewEmailVerification {
    let at = now();
    NewEmailVerification {
        token_digest: [digest; 32],
        account,
        email_sealed: vec![0xE1, index],
        email_index: [index; 32],
        created_at: at,
        expires_at: plus(at, 3600),
    }
}

#[tokio::test]
async fn a_verification_link_is_spent_once_and_only_before_it_expires() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let account = create_user(store, 1).await;
    store
        .create_email_verification(link(7, account, 9))
        .await
        .expect("recorded");
    assert!(matches!(
        store.create_email_verification(link(7, account, 9)).await,
        Err(StoreError::Duplicate)
    ));

    let spent = store
        .spend_email_verification(&[7; 32], now())
        .await
        .expect("spent")
        .expect("a live link");
    assert_eq!(spent.account, account);
    assert_eq!(spent.email_index, [9; 32]);
    assert_eq!(spent.email_sealed, vec![0xE1, 9]);
    assert_eq!(
        store
            .spend_email_verification(&[7; 32], now())
            .await
            .expect("query"),
        None,
        "a link works once"
    );
    assert_eq!(
        store
            .spend_email_verification(&[8; 32], now())
            .await
            .expect("query"),
        None,
        "an unknown link does nothing"
    );

    store
        .create_email_verification(link(6, account, 9))
        .await
        .expect("recorded");
    assert_eq!(
        store
            .spend_email_verification(&[6; 32], plus(now(), 3601))
            .await
            .expect("query"),
        None,
        "an expired link does nothing"
    );
}

#[tokio::test]
async fn a_verified_address_belongs_to_one_account_only() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let owner = create_user(store, 1).await;
    let mut unverified = new_account(2, AccountKind::User);
    unverified.email_verified_at = None;
    let newcomer = unverified.id;
    store
        .create_data_subject(unverified.subject, 1, vec![2])
        .await
        .expect("subject");
    store.create_account(unverified).await.expect("account");
    assert_eq!(
        store
            .account(newcomer)
            .await
            .expect("query")
            .expect("account")
            .email_verified_at,
        None
    );

    // The owner's address (index 1) cannot be verified by the newcomer.
    assert!(matches!(
        store
            .set_verified_email(newcomer, vec![0xE2], [1; 32], now())
            .await,
        Err(StoreError::Duplicate)
    ));
    let at = now();
    assert!(
        store
            .set_verified_email(newcomer, vec![0xE3], [3; 32], at)
            .await
            .expect("verified")
    );
    let record = store
        .account_by_email_index(&[3; 32])
        .await
        .expect("query")
        .expect("found by its new index");
    assert_eq!(record.id, newcomer);
    assert_eq!(record.email_sealed, vec![0xE3]);
    assert_eq!(record.email_verified_at, Some(at));
    assert!(
        !store
            .set_verified_email(Uuid::new_v4(), vec![0xE4], [4; 32], now())
            .await
            .expect("query"),
        "no such account"
    );
    assert_eq!(
        store
            .account_by_email_index(&[1; 32])
            .await
            .expect("query")
            .map(|a| a.id),
        Some(owner)
    );
}

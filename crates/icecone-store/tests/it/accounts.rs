use icecone_store::StoreError;
use icecone_store::accounts::{AccountKind, AccountRecord};
use icecone_store::testing::TestDatabase;
use uuid::Uuid;

use crate::support::{create_user, new_account, now};

#[tokio::test]
async fn an_account_is_created_and_found_by_id_and_by_email_index() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let new = new_account(1, AccountKind::Staff);
    store
        .create_data_subject(new.subject, 1, vec![1])
        .await
        .expect("subject");
    let before = now();
    store.create_account(new.clone()).await.expect("created");

    let found = store.account(new.id).await.expect("read").expect("exists");
    assert_eq!(found.id, new.id);
    assert_eq!(found.subject, new.subject);
    assert_eq!(found.email_sealed, new.email_sealed);
    assert_eq!(found.email_index, new.email_index);
    assert_eq!(found.display_name_sealed, None);
    assert_eq!(found.password_hash, new.password_hash);
    assert_eq!(found.policy_version, new.policy_version);
    assert_eq!(found.kind, AccountKind::Staff);
    assert_eq!(found.suspended_at, None);
    assert!(found.created_at >= before);
    assert_eq!(found.updated_at, found.created_at);
    assert_eq!(found.password_changed_at, found.created_at);

    assert_eq!(
        store
            .account_by_email_index(&new.email_index)
            .await
            .expect("read"),
        Some(found)
    );
    assert_eq!(
        store.account_by_email_index(&[9; 32]).await.expect("read"),
        None
    );
    assert_eq!(store.account(Uuid::new_v4()).await.expect("read"), None);
}

#[tokio::test]
async fn a_second_account_with_the_same_email_index_is_a_duplicate() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let first = create_user(store, 1).await;

    let again = new_account(1, AccountKind::User);
    store
        .create_data_subject(again.subject, 1, vec![2])
        .await
        .expect("subject");
    assert!(matches!(
        store.create_account(again.clone()).await,
        Err(StoreError::Duplicate)
    ));
    assert_eq!(store.account(again.id).await.expect("read"), None);
    assert_eq!(
        store
            .account_by_email_index(&[1; 32])
            .await
            .expect("read")
            .map(|account| account.id),
        Some(first),
        "the first account keeps the e-mail"
    );
}

#[tokio::test]
async fn an_account_for_a_missing_subject_is_refused_as_a_query_error() {
    let db = TestDatabase::new().await;
    let result = db
        .store()
        .create_account(new_account(1, AccountKind::User))
        .await;
    assert!(matches!(result, Err(StoreError::Query(_))), "{result:?}");
}

#[tokio::test]
async fn a_new_password_hash_replaces_the_old_one_and_records_when() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let id = create_user(store, 1).await;
    let at = now();
    assert!(
        store
            .set_password_hash(id, "$argon2id$new".to_owned(), at)
            .await
            .expect("set")
    );
    let account = store.account(id).await.expect("read").expect("exists");
    assert_eq!(account.password_hash, "$argon2id$new");
    assert_eq!(account.password_changed_at, at);
    assert_eq!(account.updated_at, at);
    assert!(
        !store
            .set_password_hash(Uuid::new_v4(), "x".to_owned(), at)
            .await
            .expect("unknown"),
        "an unknown account changes nothing"
    );
}

#[tokio::test]
async fn an_account_is_suspended_once_and_keeps_the_first_suspension_time() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let id = create_user(store, 1).await;
    let first = now();
    assert!(store.suspend_account(id, first).await.expect("suspended"));
    assert!(
        !store
            .suspend_account(id, crate::support::plus(first, 60))
            .await
            .expect("again")
    );
    assert_eq!(
        store
            .account(id)
            .await
            .expect("read")
            .expect("exists")
            .suspended_at,
        Some(first)
    );
    assert!(
        !store
            .suspend_account(Uuid::new_v4(), first)
            .await
            .expect("unknown")
    );
}

#[tokio::test]
async fn staff_roles_are_granted_once_and_listed_by_name() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let id = create_user(store, 1).await;
    let other = create_user(store, 2).await;
    assert_eq!(
        store.staff_roles(id).await.expect("none"),
        Vec::<String>::new()
    );
    assert!(
        store
            .grant_staff_role(id, "SUPPORT")
            .await
            .expect("granted")
    );
    assert!(store.grant_staff_role(id, "ADMIN").await.expect("granted"));
    assert!(
        !store.grant_staff_role(id, "ADMIN").await.expect("again"),
        "granting a held role changes nothing"
    );
    assert!(store.grant_staff_role(other, "DPO").await.expect("granted"));
    assert_eq!(
        store.staff_roles(id).await.expect("roles"),
        ["ADMIN", "SUPPORT"]
    );
}

#[tokio::test]
async fn an_account_in_debug_output_shows_no_password_hash_or_email() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let id = create_user(store, 1).await;
    let account: AccountRecord = store.account(id).await.expect("read").expect("exists");
    let debug = format!("{account:?} {:?}", new_account(1, AccountKind::User));
    assert!(!debug.contains("argon2"), "{debug}");
    assert!(!debug.contains("email"), "{debug}");
}

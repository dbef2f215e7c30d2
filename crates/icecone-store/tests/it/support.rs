//! Shared helpers of the store's integration tests.

use chrono::{DateTime, TimeDelta, Utc};
use icecone_core::subject::SubjectId;
use icecone_store::Store;
use icecone_store::accounts::{AccountKind, NewAccount};
use icecone_store::testing::TestDatabase;
use uuid::Uuid;

/// The current time truncated to microseconds, the precision PostgreSQL keeps, so that
/// round-tripped times compare equal on both databases.
pub(crate) fn now() -> DateTime<Utc> {
    micros(Utc::now())
}

/// A time truncated to microseconds.
pub(crate) fn micros(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(at.timestamp_micros()).expect("a representable time")
}

/// `seconds` after `at`.
pub(crate) fn plus(at: DateTime<Utc>, seconds: i64) -> DateTime<Utc> {
    at + TimeDelta::seconds(seconds)
}

/// A new account (with its data subject) whose e-mail index is `index`.
pub(crate) fn new_account(index: u8, kind: AccountKind) -> NewAccount {
    NewAccount {
        id: Uuid::new_v4(),
        subject: SubjectId::new_random(),
        email_sealed: vec![0xE0, index],
        email_index: [index; 32],
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
        policy_version: "2026-11-01".to_owned(),
        kind,
        email_verified_at: Some(now()),
    }
}

/// Creates a user account (and its data subject) and returns its id.
pub(crate) async fn create_user(store: &Store, index: u8) -> Uuid {
    store_account(store, new_account(index, AccountKind::User), vec![index]).await
}

/// Stores `account` and its data subject (with `wrapped_key` as its key) and returns its id.
pub(crate) async fn store_account(
    store: &Store,
    account: NewAccount,
    wrapped_key: Vec<u8>,
) -> Uuid {
    let id = account.id;
    store
        .create_data_subject(account.subject, 1, wrapped_key)
        .await
        .expect("subject created");
    store
        .create_account(account)
        .await
        .expect("account created");
    id
}

/// A second, independent store (its own connection pool) over the same database: what a
/// second gateway instance would have.
pub(crate) async fn second_store(db: &TestDatabase) -> Store {
    Store::connect(db.url()).await.expect("a second store")
}

use icecone_store::provider_credentials::CredentialRecord;
use icecone_store::testing::TestDatabase;
use uuid::Uuid;

use crate::support::{micros, now, plus};

#[tokio::test]
async fn a_provider_keeps_one_credential_and_a_new_one_replaces_it() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let first = CredentialRecord {
        provider: "openai".to_owned(),
        key_sealed: vec![1, 2, 3],
        fingerprint: "sha256:0000000000000001".to_owned(),
        set_by: Uuid::new_v4(),
        set_at: micros(now()),
    };
    store.put_provider_credential(&first).await.expect("stored");
    let second = CredentialRecord {
        key_sealed: vec![4, 5, 6],
        fingerprint: "sha256:0000000000000002".to_owned(),
        set_at: micros(plus(now(), 5)),
        ..first.clone()
    };
    store
        .put_provider_credential(&second)
        .await
        .expect("replaced");
    let other = CredentialRecord {
        provider: "luma".to_owned(),
        ..first.clone()
    };
    store.put_provider_credential(&other).await.expect("stored");
    assert_eq!(
        store.provider_credentials().await.expect("read"),
        vec![other, second]
    );
}

use icecone_core::partner::{PartnerScope, ScopeSet};
use icecone_store::StoreError;
use icecone_store::partners::{GrantRecord, NewPartnerKey, PartnerRecord};
use icecone_store::testing::TestDatabase;
use uuid::Uuid;

use crate::support::{create_user, now, plus};

fn partner(name: &str) -> PartnerRecord {
    PartnerRecord {
        id: Uuid::new_v4(),
        name: name.to_owned(),
        created_at: now(),
    }
}

fn grant(account: Uuid, partner: Uuid, scopes: &[PartnerScope], seconds: i64) -> GrantRecord {
    GrantRecord {
        id: Uuid::new_v4(),
        account,
        partner,
        scopes: scopes.iter().copied().collect(),
        granted_at: plus(now(), seconds),
        revoked_at: None,
    }
}

#[tokio::test]
async fn keys_are_found_by_digest_while_live_and_revoked_once() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let acme = partner("Acme");
    store.create_partner(&acme).await.expect("created");
    assert!(matches!(
        store.create_partner(&partner("Acme")).await,
        Err(StoreError::Duplicate)
    ));
    let key = NewPartnerKey {
        id: Uuid::new_v4(),
        partner: acme.id,
        digest: [7; 32],
        hint: "icp_abcdefgh…".to_owned(),
        scopes: [PartnerScope::Profile].into_iter().collect(),
        created_at: now(),
    };
    store.create_partner_key(&key).await.expect("recorded");
    assert!(matches!(
        store
            .create_partner_key(&NewPartnerKey {
                id: Uuid::new_v4(),
                ..key.clone()
            })
            .await,
        Err(StoreError::Duplicate)
    ));
    let found = store
        .live_partner_key(&[7; 32])
        .await
        .expect("read")
        .expect("live");
    assert_eq!(
        (found.id, found.partner, found.scopes),
        (key.id, acme.id, key.scopes)
    );
    assert_eq!(store.live_partner_key(&[8; 32]).await.expect("read"), None);

    let at = plus(now(), 5);
    assert_eq!(
        store.revoke_partner_key(key.id, at).await.expect("revoked"),
        Some((acme.id, true))
    );
    assert_eq!(
        store.revoke_partner_key(key.id, at).await.expect("read"),
        Some((acme.id, false))
    );
    assert_eq!(
        store
            .revoke_partner_key(Uuid::new_v4(), at)
            .await
            .expect("read"),
        None
    );
    assert_eq!(store.live_partner_key(&[7; 32]).await.expect("read"), None);
    let listed = store.partner_keys(acme.id).await.expect("listed");
    assert_eq!(listed.len(), 1);
    assert!(listed[0].revoked_at.is_some());
    assert_eq!(store.partners().await.expect("listed"), vec![acme]);
}

#[tokio::test]
async fn a_new_grant_replaces_the_live_one_and_revoking_keeps_the_history() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let (alice, bob) = (create_user(store, 1).await, create_user(store, 2).await);
    let (acme, globex) = (partner("Acme"), partner("Globex"));
    store.create_partner(&acme).await.expect("created");
    store.create_partner(&globex).await.expect("created");

    let first = grant(alice, acme.id, &[PartnerScope::Profile], 0);
    store.grant_partner(&first).await.expect("granted");
    let second = grant(alice, acme.id, &PartnerScope::ALL, 1);
    store.grant_partner(&second).await.expect("granted");
    store
        .grant_partner(&grant(bob, acme.id, &[PartnerScope::Profile], 2))
        .await
        .expect("granted");

    let live = store
        .live_partner_grant(alice, acme.id)
        .await
        .expect("read")
        .expect("live");
    assert_eq!((live.id, live.scopes), (second.id, second.scopes));
    assert_eq!(
        store
            .live_partner_grant(alice, globex.id)
            .await
            .expect("read"),
        None
    );

    assert!(
        store
            .revoke_partner_grant(alice, acme.id, plus(now(), 3))
            .await
            .expect("revoked")
    );
    assert!(
        !store
            .revoke_partner_grant(alice, acme.id, plus(now(), 4))
            .await
            .expect("read")
    );
    assert_eq!(
        store
            .live_partner_grant(alice, acme.id)
            .await
            .expect("read"),
        None
    );
    // Bob's grant is his own.
    assert!(
        store
            .live_partner_grant(bob, acme.id)
            .await
            .expect("read")
            .is_some()
    );

    let history = store.partner_grants_of(alice).await.expect("listed");
    assert_eq!(
        history.iter().map(|g| g.id).collect::<Vec<_>>(),
        vec![second.id, first.id]
    );
    assert!(history.iter().all(|g| g.revoked_at.is_some()));
    assert_eq!(ScopeSet::from_stored("PROFILE").ok(), Some(first.scopes));
}

use icecone_store::StoreError;
use icecone_store::sessions::{NewSession, RefreshSpend};
use icecone_store::testing::TestDatabase;
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::support::{create_user, now, plus, second_store};

fn new_session(account: Uuid, auth_time: chrono::DateTime<chrono::Utc>) -> NewSession {
    NewSession {
        id: Uuid::new_v4(),
        account,
        auth_time,
        mfa_at: None,
        amr: "pwd".to_owned(),
    }
}

#[tokio::test]
async fn a_session_is_created_read_and_listed_newest_first() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let account = create_user(store, 1).await;
    let other = create_user(store, 2).await;
    let at = now();
    let older = new_session(account, at);
    let newer = NewSession {
        mfa_at: Some(plus(at, 10)),
        amr: "pwd otp".to_owned(),
        ..new_session(account, plus(at, 10))
    };
    store.create_session(older.clone()).await.expect("older");
    store.create_session(newer.clone()).await.expect("newer");
    store
        .create_session(new_session(other, at))
        .await
        .expect("someone else's");
    assert!(matches!(
        store.create_session(older.clone()).await,
        Err(StoreError::Duplicate)
    ));

    let read = store
        .session(newer.id)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(read.account, account);
    assert_eq!(read.auth_time, newer.auth_time);
    assert_eq!(read.created_at, newer.auth_time);
    assert_eq!(read.last_refreshed_at, newer.auth_time);
    assert_eq!(read.mfa_at, newer.mfa_at);
    assert_eq!(read.amr, "pwd otp");
    assert_eq!((read.revoked_at, read.revoked_reason.clone()), (None, None));

    let listed: Vec<Uuid> = store
        .sessions_of(account)
        .await
        .expect("listed")
        .into_iter()
        .map(|session| session.id)
        .collect();
    assert_eq!(listed, [newer.id, older.id]);
    assert_eq!(store.session(Uuid::new_v4()).await.expect("read"), None);
}

#[tokio::test]
async fn a_session_is_revoked_once_and_then_takes_no_mfa() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let account = create_user(store, 1).await;
    let session = new_session(account, now());
    store
        .create_session(session.clone())
        .await
        .expect("created");

    let mfa_at = now();
    assert!(store.record_mfa(session.id, mfa_at).await.expect("mfa"));
    let at = now();
    assert!(
        store
            .revoke_session(session.id, "logout", at)
            .await
            .expect("revoked")
    );
    assert!(
        !store
            .revoke_session(session.id, "refresh_reuse", plus(at, 5))
            .await
            .expect("again"),
        "the first revocation stands"
    );
    assert!(
        !store.record_mfa(session.id, now()).await.expect("revoked"),
        "a revoked session takes no MFA"
    );
    let read = store
        .session(session.id)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(read.mfa_at, Some(mfa_at));
    assert_eq!(read.revoked_at, Some(at));
    assert_eq!(read.revoked_reason.as_deref(), Some("logout"));
}

#[tokio::test]
async fn revoking_all_sessions_revokes_only_the_live_ones_of_that_account() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let account = create_user(store, 1).await;
    let other = create_user(store, 2).await;
    let at = now();
    let sessions: Vec<NewSession> = (0..3).map(|i| new_session(account, plus(at, i))).collect();
    for session in &sessions {
        store
            .create_session(session.clone())
            .await
            .expect("created");
    }
    let theirs = new_session(other, at);
    store.create_session(theirs.clone()).await.expect("created");
    store
        .revoke_session(sessions[0].id, "logout", at)
        .await
        .expect("revoked");

    assert_eq!(
        store
            .revoke_all_sessions(account, "password_changed", plus(at, 60))
            .await
            .expect("revoked"),
        2
    );
    assert_eq!(
        store
            .session(sessions[0].id)
            .await
            .expect("read")
            .expect("exists")
            .revoked_reason
            .as_deref(),
        Some("logout")
    );
    assert!(
        store
            .sessions_of(account)
            .await
            .expect("listed")
            .iter()
            .all(|session| session.revoked_at.is_some())
    );
    assert_eq!(
        store
            .session(theirs.id)
            .await
            .expect("read")
            .expect("exists")
            .revoked_at,
        None
    );
}

#[tokio::test]
async fn a_refresh_token_is_fresh_once_then_a_reuse_and_never_after_it_expires() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let account = create_user(store, 1).await;
    let session = new_session(account, now());
    store
        .create_session(session.clone())
        .await
        .expect("created");
    let at = now();
    store
        .insert_refresh_token([1; 32], session.id, at, plus(at, 3600))
        .await
        .expect("first token");
    store
        .insert_refresh_token([2; 32], session.id, at, plus(at, 3600))
        .await
        .expect("second token");
    assert!(matches!(
        store
            .insert_refresh_token([1; 32], session.id, at, plus(at, 3600))
            .await,
        Err(StoreError::Duplicate)
    ));

    let spent_at = plus(at, 60);
    assert_eq!(
        store
            .spend_refresh_token(&[1; 32], spent_at)
            .await
            .expect("spend"),
        RefreshSpend::Fresh {
            session: session.id
        }
    );
    assert_eq!(
        store
            .session(session.id)
            .await
            .expect("read")
            .expect("exists")
            .last_refreshed_at,
        spent_at
    );
    assert_eq!(
        store
            .spend_refresh_token(&[1; 32], plus(at, 61))
            .await
            .expect("reuse"),
        RefreshSpend::Reused {
            session: session.id
        }
    );
    assert_eq!(
        store
            .spend_refresh_token(&[1; 32], plus(at, 7200))
            .await
            .expect("late reuse"),
        RefreshSpend::Reused {
            session: session.id
        },
        "a spent token replayed after its expiry is still a reuse"
    );
    assert_eq!(
        store
            .spend_refresh_token(&[2; 32], plus(at, 3600))
            .await
            .expect("expired"),
        RefreshSpend::Expired {
            session: session.id
        }
    );
    assert_eq!(
        store
            .spend_refresh_token(&[2; 32], plus(at, 3599))
            .await
            .expect("still live"),
        RefreshSpend::Fresh {
            session: session.id
        },
        "the expired attempt did not spend it"
    );
    assert_eq!(
        store
            .spend_refresh_token(&[3; 32], at)
            .await
            .expect("unknown"),
        RefreshSpend::Unknown
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_many_concurrent_spends_of_one_refresh_token_exactly_one_is_fresh() {
    let db = TestDatabase::new().await;
    let second = second_store(&db).await;
    let account = create_user(db.store(), 1).await;
    let session = new_session(account, now());
    db.store()
        .create_session(session.clone())
        .await
        .expect("created");
    let at = now();
    db.store()
        .insert_refresh_token([1; 32], session.id, at, plus(at, 3600))
        .await
        .expect("token");

    let mut tasks = JoinSet::new();
    for i in 0..8 {
        let store = if i % 2 == 0 {
            db.store().clone()
        } else {
            second.clone()
        };
        tasks.spawn(async move { store.spend_refresh_token(&[1; 32], plus(at, 1)).await });
    }
    let outcomes: Vec<RefreshSpend> = tasks
        .join_all()
        .await
        .into_iter()
        .map(|result| result.expect("no error"))
        .collect();
    let fresh = outcomes
        .iter()
        .filter(|outcome| matches!(outcome, RefreshSpend::Fresh { .. }))
        .count();
    let reused = outcomes
        .iter()
        .filter(|outcome| matches!(outcome, RefreshSpend::Reused { .. }))
        .count();
    assert_eq!((fresh, reused), (1, 7), "{outcomes:?}");
    second.close().await.expect("closed");
}

#[tokio::test]
async fn cached_rows_are_dropped_by_this_stores_writes_and_expire_for_another_stores() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let other = second_store(&db).await;
    let account = create_user(store, 1).await;
    let (mine, theirs) = (new_session(account, now()), new_session(account, now()));
    let (mine_id, theirs_id) = (mine.id, theirs.id);
    store.create_session(mine).await.expect("session");
    store.create_session(theirs).await.expect("session");
    let live = |row: Option<icecone_store::sessions::SessionRecord>| {
        row.expect("the session exists").revoked_at.is_none()
    };
    assert!(live(store.session_cached(mine_id).await.expect("read")));
    assert!(live(store.session_cached(theirs_id).await.expect("read")));

    // A revocation through this store is seen at once.
    store
        .revoke_session(mine_id, "log_out", now())
        .await
        .expect("revoked");
    assert!(!live(store.session_cached(mine_id).await.expect("read")));

    // Another instance's revocation is seen within the cache's lifetime, and at once by
    // the uncached read.
    other
        .revoke_session(theirs_id, "log_out", now())
        .await
        .expect("revoked");
    assert!(!live(store.session(theirs_id).await.expect("read")));
    tokio::time::sleep(icecone_store::read_cache::READ_CACHE_TTL).await;
    assert!(!live(store.session_cached(theirs_id).await.expect("read")));

    // Accounts: a suspension through this store is seen at once.
    assert!(
        store
            .account_cached(account)
            .await
            .expect("read")
            .expect("account")
            .suspended_at
            .is_none()
    );
    store
        .suspend_account(account, now())
        .await
        .expect("suspended");
    assert!(
        store
            .account_cached(account)
            .await
            .expect("read")
            .expect("account")
            .suspended_at
            .is_some()
    );
    assert_eq!(
        store.session_cached(Uuid::new_v4()).await.expect("read"),
        None,
        "unknown rows are not cached"
    );
}

#[tokio::test]
async fn a_refresh_token_is_read_by_its_digest_without_being_spent() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let account = create_user(store, 1).await;
    let session = new_session(account, now());
    store
        .create_session(session.clone())
        .await
        .expect("created");
    let issued = now();
    let expires = plus(issued, 3600);
    let digest = [7u8; 32];
    store
        .insert_refresh_token(digest, session.id, issued, expires)
        .await
        .expect("inserted");

    let read = store
        .refresh_token(&digest)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(
        (read.session, read.issued_at, read.expires_at),
        (session.id, issued, expires)
    );
    // Reading spent nothing: the token is still fresh, and is read alike once spent.
    assert_eq!(
        store
            .spend_refresh_token(&digest, plus(issued, 1))
            .await
            .expect("spent"),
        RefreshSpend::Fresh {
            session: session.id
        }
    );
    assert_eq!(
        store
            .refresh_token(&digest)
            .await
            .expect("read")
            .map(|r| r.session),
        Some(session.id)
    );
    assert_eq!(store.refresh_token(&[8u8; 32]).await.expect("read"), None);
}

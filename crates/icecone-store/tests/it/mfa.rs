use icecone_store::StoreError;
use icecone_store::testing::TestDatabase;
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::support::{create_user, now, plus, second_store};

#[tokio::test]
async fn an_unconfirmed_totp_factor_is_replaced_but_a_confirmed_one_is_not() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let account = create_user(store, 1).await;
    assert_eq!(store.totp_factor(account).await.expect("read"), None);

    store
        .put_totp_factor(account, vec![1])
        .await
        .expect("enrolled");
    assert!(
        store
            .reserve_totp_attempt(account, 0, None, now())
            .await
            .expect("failure")
    );
    store
        .put_totp_factor(account, vec![2])
        .await
        .expect("a restarted enrolment replaces the pending secret");
    let factor = store
        .totp_factor(account)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(factor.secret_sealed, vec![2]);
    assert_eq!(factor.confirmed_at, None);
    assert_eq!(factor.failures, 0, "the replacement starts clean");
    assert_eq!(factor.last_failure_at, None);

    let at = now();
    assert!(
        store
            .confirm_totp_factor(account, at)
            .await
            .expect("confirmed")
    );
    assert!(
        !store.confirm_totp_factor(account, at).await.expect("again"),
        "confirming twice changes nothing"
    );
    assert!(matches!(
        store.put_totp_factor(account, vec![3]).await,
        Err(StoreError::Duplicate)
    ));
    let factor = store
        .totp_factor(account)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(factor.secret_sealed, vec![2], "the confirmed secret stays");
    assert_eq!(factor.confirmed_at, Some(at));

    assert!(store.delete_totp_factor(account).await.expect("deleted"));
    assert!(!store.delete_totp_factor(account).await.expect("again"));
    assert_eq!(store.totp_factor(account).await.expect("read"), None);
    store
        .put_totp_factor(account, vec![4])
        .await
        .expect("a new enrolment after deletion");
}

#[tokio::test]
async fn a_totp_step_is_accepted_once_even_from_a_second_gateway_instance() {
    let db = TestDatabase::new().await;
    let first = db.store();
    let second = second_store(&db).await;
    let account = create_user(first, 1).await;
    first
        .put_totp_factor(account, vec![1])
        .await
        .expect("enrolled");

    assert!(
        first
            .accept_totp_step(account, 1_000)
            .await
            .expect("first use")
    );
    assert!(
        !second
            .accept_totp_step(account, 1_000)
            .await
            .expect("replay"),
        "the same step replayed against another instance is refused"
    );
    assert!(
        !second.accept_totp_step(account, 999).await.expect("older"),
        "an earlier step is refused too"
    );
    assert!(
        second
            .accept_totp_step(account, 1_001)
            .await
            .expect("later")
    );
    assert_eq!(
        first
            .totp_factor(account)
            .await
            .expect("read")
            .expect("exists")
            .last_step,
        Some(1_001)
    );
    assert!(
        !first
            .accept_totp_step(Uuid::new_v4(), 5)
            .await
            .expect("no factor"),
        "an account without a factor accepts nothing"
    );
    second.close().await.expect("closed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_many_concurrent_uses_of_one_totp_step_exactly_one_is_accepted() {
    let db = TestDatabase::new().await;
    let second = second_store(&db).await;
    let account = create_user(db.store(), 1).await;
    db.store()
        .put_totp_factor(account, vec![1])
        .await
        .expect("enrolled");

    let mut tasks = JoinSet::new();
    for i in 0..8 {
        let store = if i % 2 == 0 {
            db.store().clone()
        } else {
            second.clone()
        };
        tasks.spawn(async move { store.accept_totp_step(account, 42).await });
    }
    let accepted = tasks
        .join_all()
        .await
        .into_iter()
        .map(|result| result.expect("no error"))
        .filter(|accepted| *accepted)
        .count();
    assert_eq!(accepted, 1);
    second.close().await.expect("closed");
}

#[tokio::test]
async fn totp_attempts_are_reserved_and_an_accepted_code_resets_them() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let account = create_user(store, 1).await;
    assert!(
        !store
            .reserve_totp_attempt(account, 0, None, now())
            .await
            .expect("no factor"),
        "an account without a factor reserves nothing"
    );
    store
        .put_totp_factor(account, vec![1])
        .await
        .expect("enrolled");
    let first = now();
    assert!(
        store
            .reserve_totp_attempt(account, 0, None, first)
            .await
            .expect("first")
    );
    assert!(
        !store
            .reserve_totp_attempt(account, 0, None, first)
            .await
            .expect("stale"),
        "a caller that saw the count before loses"
    );
    let at = plus(first, 5);
    assert!(
        !store
            .reserve_totp_attempt(account, 1, None, at)
            .await
            .expect("stale time"),
        "the time of the last failure is compared too"
    );
    assert!(
        store
            .reserve_totp_attempt(account, 1, Some(first), at)
            .await
            .expect("second")
    );
    let factor = store
        .totp_factor(account)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!((factor.failures, factor.last_failure_at), (2, Some(at)));

    assert!(store.accept_totp_step(account, 7).await.expect("accepted"));
    assert_eq!(
        store
            .totp_factor(account)
            .await
            .expect("read")
            .expect("exists")
            .failures,
        0
    );
    assert!(
        store
            .reserve_totp_attempt(account, 0, Some(at), at)
            .await
            .expect("again")
    );
    assert!(store.clear_totp_failures(account).await.expect("cleared"));
    assert_eq!(
        store
            .totp_factor(account)
            .await
            .expect("read")
            .expect("exists")
            .failures,
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_concurrent_totp_reservations_from_two_instances_one_wins() {
    let db = TestDatabase::new().await;
    let second = second_store(&db).await;
    let account = create_user(db.store(), 1).await;
    db.store()
        .put_totp_factor(account, vec![1])
        .await
        .expect("enrolled");
    let mut tasks = JoinSet::new();
    for i in 0..10 {
        let store = if i % 2 == 0 {
            db.store().clone()
        } else {
            second.clone()
        };
        tasks.spawn(async move { store.reserve_totp_attempt(account, 0, None, now()).await });
    }
    let won = tasks
        .join_all()
        .await
        .into_iter()
        .map(|result| result.expect("no error"))
        .filter(|won| *won)
        .count();
    assert_eq!(won, 1, "all saw the same count: one reserves");
    assert_eq!(
        db.store()
            .totp_factor(account)
            .await
            .expect("read")
            .expect("exists")
            .failures,
        1
    );
    second.close().await.expect("closed");
}

#[tokio::test]
async fn recovery_codes_are_replaced_as_a_set_and_each_works_once() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let account = create_user(store, 1).await;
    let other = create_user(store, 2).await;
    let old: Vec<[u8; 32]> = (0..10).map(|i| [i; 32]).collect();
    store
        .replace_recovery_codes(account, old.clone())
        .await
        .expect("stored");
    store
        .replace_recovery_codes(other, vec![[100; 32]])
        .await
        .expect("stored");
    assert_eq!(
        store.unused_recovery_codes(account).await.expect("count"),
        10
    );

    assert!(
        store
            .use_recovery_code(account, &[3; 32], now())
            .await
            .expect("used")
    );
    assert!(
        !store
            .use_recovery_code(account, &[3; 32], now())
            .await
            .expect("again"),
        "a code works once"
    );
    assert!(
        !store
            .use_recovery_code(account, &[100; 32], now())
            .await
            .expect("foreign"),
        "another account's code does not work"
    );
    assert_eq!(
        store.unused_recovery_codes(account).await.expect("count"),
        9
    );

    let new: Vec<[u8; 32]> = (50..60).map(|i| [i; 32]).collect();
    store
        .replace_recovery_codes(account, new)
        .await
        .expect("replaced");
    assert_eq!(
        store.unused_recovery_codes(account).await.expect("count"),
        10
    );
    assert!(
        !store
            .use_recovery_code(account, &[4; 32], now())
            .await
            .expect("old"),
        "the old set stops working"
    );
    assert!(
        store
            .use_recovery_code(account, &[55; 32], now())
            .await
            .expect("new")
    );
    assert_eq!(store.unused_recovery_codes(other).await.expect("count"), 1);

    store
        .replace_recovery_codes(account, Vec::new())
        .await
        .expect("cleared");
    assert_eq!(
        store.unused_recovery_codes(account).await.expect("count"),
        0
    );
}

#[tokio::test]
async fn an_mfa_challenge_is_consumed_once_and_never_after_it_expires() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let account = create_user(store, 1).await;
    let at = now();
    store
        .create_mfa_challenge([1; 32], account, plus(at, 300))
        .await
        .expect("created");
    store
        .create_mfa_challenge([2; 32], account, plus(at, 300))
        .await
        .expect("created");
    assert!(matches!(
        store
            .create_mfa_challenge([1; 32], account, plus(at, 300))
            .await,
        Err(StoreError::Duplicate)
    ));

    assert_eq!(
        store
            .consume_mfa_challenge(&[1; 32], at)
            .await
            .expect("first"),
        Some(account)
    );
    assert_eq!(
        store
            .consume_mfa_challenge(&[1; 32], at)
            .await
            .expect("second"),
        None,
        "a challenge is used once"
    );
    assert_eq!(
        store
            .consume_mfa_challenge(&[2; 32], plus(at, 300))
            .await
            .expect("expired"),
        None,
        "a challenge is dead at its expiry time"
    );
    assert_eq!(
        store
            .consume_mfa_challenge(&[2; 32], plus(at, 299))
            .await
            .expect("still live"),
        Some(account),
        "the expired attempt did not spend it"
    );
    assert_eq!(
        store
            .consume_mfa_challenge(&[3; 32], at)
            .await
            .expect("unknown"),
        None
    );
}

#[tokio::test]
async fn voiding_an_accounts_challenges_leaves_none_to_consume_and_spares_others() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let account = create_user(store, 1).await;
    let other = create_user(store, 2).await;
    let at = now();
    for (digest, owner) in [([1; 32], account), ([2; 32], account), ([3; 32], other)] {
        store
            .create_mfa_challenge(digest, owner, plus(at, 300))
            .await
            .expect("created");
    }
    assert_eq!(
        store
            .consume_mfa_challenge(&[1; 32], at)
            .await
            .expect("used"),
        Some(account)
    );
    assert_eq!(
        store
            .void_mfa_challenges(account, at)
            .await
            .expect("voided"),
        1,
        "only the pending one"
    );
    assert_eq!(
        store
            .consume_mfa_challenge(&[2; 32], at)
            .await
            .expect("void"),
        None
    );
    assert_eq!(
        store
            .consume_mfa_challenge(&[3; 32], at)
            .await
            .expect("other"),
        Some(other),
        "another account's challenge is untouched"
    );
}

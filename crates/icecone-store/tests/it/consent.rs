use icecone_core::consent::Purpose;
use icecone_core::consent::ledger::{Change, ConsentSource, ConsentState, LedgerEntry};
use icecone_store::testing::TestDatabase;

use crate::support::{create_user, now, plus};

#[tokio::test]
async fn ledger_entries_of_every_kind_are_read_back_in_the_order_written_per_account() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let (first, second) = (create_user(store, 1).await, create_user(store, 2).await);
    let at = now();
    let entry = |change, source, seconds| LedgerEntry {
        change,
        policy_version: "2026-11-28".to_owned(),
        source,
        at: plus(at, seconds),
    };
    let entries = vec![
        entry(
            Change::Consent {
                purpose: Purpose::Marketing,
                granted: true,
            },
            ConsentSource::SignUp,
            0,
        ),
        entry(
            Change::Objection {
                purpose: Purpose::Marketing,
            },
            ConsentSource::User,
            1,
        ),
        entry(
            Change::Restriction { restricted: true },
            ConsentSource::Staff,
            2,
        ),
        entry(
            Change::Consent {
                purpose: Purpose::Analytics,
                granted: false,
            },
            ConsentSource::Gpc,
            2,
        ),
    ];
    store
        .append_consent_entries(first, &entries[..2])
        .await
        .expect("appended");
    store
        .append_consent_entries(second, &entries[2..3])
        .await
        .expect("appended");
    store
        .append_consent_entries(first, &entries[2..])
        .await
        .expect("appended");
    store
        .append_consent_entries(first, &[])
        .await
        .expect("nothing to append");

    let read = store.consent_entries(first).await.expect("read");
    assert_eq!(read, entries);
    // The cached state sees this store's appends at once.
    let state = store.consent_state_cached(first).await.expect("read");
    assert_eq!(*state, ConsentState::from_entries(&entries));
    assert!(state.restricted);
    let later = entry(
        Change::Restriction { restricted: false },
        ConsentSource::User,
        3,
    );
    store
        .append_consent_entries(first, std::slice::from_ref(&later))
        .await
        .expect("appended");
    let state = store.consent_state_cached(first).await.expect("read");
    assert!(!state.restricted);
    assert_eq!(
        store.consent_entries(second).await.expect("read"),
        entries[2..3]
    );
}

//! The retention housekeeping as the gateway runs it: every purge of the registry, with
//! this deployment's periods, over a real sign-in.

use chrono::{DateTime, TimeDelta, Utc};
use icecone_app::keys::vault::Vault;
use icecone_app::retention::housekeeping;
use icecone_app::settings::RetentionConfig;
use icecone_store::Store;
use icecone_store::purge::Purge;

use crate::support::app::{Person, TestApp};

/// Runs every purge once at `now`, as the housekeeping does; each must succeed.
async fn run_every_purge(store: &Store, vault: &Vault, now: DateTime<Utc>) -> u64 {
    let retention = RetentionConfig::default();
    let mut handled = 0;
    for purge in Purge::ALL {
        handled += housekeeping::run(purge, store, vault, &retention, now)
            .await
            .unwrap_or_else(|error| panic!("{}: {error:#}", purge.name()));
    }
    handled
}

#[tokio::test]
async fn a_session_nobody_ended_goes_a_retention_period_after_its_last_refresh_token_expired() {
    let app = TestApp::spawn().await;
    let (vault, _) = app.keys().await;
    let Person { id, .. } = app.person("kept@example.com").await;
    let store = app.db.store();
    let sessions = store.sessions_of(id).await.expect("read").len();
    assert!(sessions >= 1, "signed in");
    let start = Utc::now();

    // 59 days on: the refresh token (30 days) has expired and is purged, but the session
    // ended less than `session_retention` (30 days) ago: the person can still see it.
    run_every_purge(store, &vault, start + TimeDelta::days(59)).await;
    assert_eq!(store.sessions_of(id).await.expect("read").len(), sessions);

    // 61 days on, it goes; a second run, as another instance's, finds nothing more.
    run_every_purge(store, &vault, start + TimeDelta::days(61)).await;
    assert!(store.sessions_of(id).await.expect("read").is_empty());
    assert!(
        store.account(id).await.expect("read").is_some(),
        "the account stays"
    );
    assert_eq!(
        run_every_purge(store, &vault, start + TimeDelta::days(61)).await,
        0
    );
}

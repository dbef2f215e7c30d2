//! The retention purges: rows past their period go, rows within it and other people's
//! stay, and a second run (or a second instance) finds nothing left to do.

use chrono::{DateTime, Utc};
use icecone_core::rights::{DataRequestKind, DataRequestStatus};
use icecone_core::usage::{Period, Usage};
use icecone_store::Store;
use icecone_store::attempts::{account_bucket, email_bucket};
use icecone_store::data_requests::NewDataRequest;
use icecone_store::erasure::LegalHold;
use icecone_store::jobs::NewJob;
use icecone_store::privacy_tickets::{PrivacyTicketEventRecord, PrivacyTicketRecord};
use icecone_store::sessions::NewSession;
use icecone_store::testing::TestDatabase;
use icecone_store::verifications::NewEmailVerification;
use uuid::Uuid;

use crate::support::{create_user, now, plus, second_store};

async fn session(store: &Store, account: Uuid, at: DateTime<Utc>) -> Uuid {
    let id = Uuid::new_v4();
    store
        .create_session(NewSession {
            id,
            account,
            auth_time: at,
            mfa_at: None,
            amr: "pwd".to_owned(),
        })
        .await
        .expect("session");
    id
}

fn digest(n: u8) -> [u8; 32] {
    let mut digest = [n; 32];
    digest[0] = 0xD1;
    digest
}

#[tokio::test]
async fn expired_refresh_tokens_mfa_challenges_and_verification_links_go_and_live_ones_stay() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let t0 = now();
    let (alice, bob) = (create_user(store, 1).await, create_user(store, 2).await);
    let alices = session(store, alice, t0).await;
    let bobs = session(store, bob, t0).await;
    for (n, session, expires) in [(1, alices, 10), (2, alices, 100), (3, bobs, 100)] {
        store
            .insert_refresh_token(digest(n), session, t0, plus(t0, expires))
            .await
            .expect("token");
    }
    for (n, account, expires) in [(4, alice, 10), (5, alice, 100), (6, bob, 100)] {
        store
            .create_mfa_challenge(digest(n), account, plus(t0, expires))
            .await
            .expect("challenge");
        store
            .create_email_verification(NewEmailVerification {
                token_digest: digest(n + 10),
                account,
                email_sealed: vec![n],
                email_index: [n; 32],
                created_at: t0,
                expires_at: plus(t0, expires),
            })
            .await
            .expect("link");
    }
    let at = plus(t0, 50);

    assert_eq!(
        store.purge_expired_refresh_tokens(at).await.expect("purge"),
        1
    );
    assert_eq!(
        store.purge_expired_mfa_challenges(at).await.expect("purge"),
        1
    );
    assert_eq!(
        store
            .purge_expired_email_verifications(at)
            .await
            .expect("purge"),
        1
    );

    assert!(
        store
            .refresh_token(&digest(1))
            .await
            .expect("read")
            .is_none()
    );
    for n in [2, 3] {
        assert!(
            store
                .refresh_token(&digest(n))
                .await
                .expect("read")
                .is_some()
        );
    }
    assert_eq!(
        store
            .consume_mfa_challenge(&digest(4), t0)
            .await
            .expect("use"),
        None
    );
    assert_eq!(
        store
            .consume_mfa_challenge(&digest(5), t0)
            .await
            .expect("use"),
        Some(alice)
    );
    assert_eq!(
        store
            .consume_mfa_challenge(&digest(6), t0)
            .await
            .expect("use"),
        Some(bob)
    );
    assert!(
        store
            .spend_email_verification(&digest(14), t0)
            .await
            .expect("spend")
            .is_none()
    );
    for n in [15, 16] {
        assert!(
            store
                .spend_email_verification(&digest(n), t0)
                .await
                .expect("spend")
                .is_some()
        );
    }
    // Again, from another instance: nothing left to do.
    let other = second_store(&db).await;
    assert_eq!(
        other.purge_expired_refresh_tokens(at).await.expect("purge"),
        0
    );
    assert_eq!(
        other.purge_expired_mfa_challenges(at).await.expect("purge"),
        0
    );
    assert_eq!(
        other
            .purge_expired_email_verifications(at)
            .await
            .expect("purge"),
        0
    );
}

#[tokio::test]
async fn sessions_go_a_period_after_they_ended_with_their_tokens_and_live_ones_stay() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let t0 = now();
    let (alice, bob) = (create_user(store, 1).await, create_user(store, 2).await);
    // Alice's: one revoked at t0, one whose last token expired at t0 + 10 s, one in use.
    let revoked = session(store, alice, t0).await;
    store
        .insert_refresh_token(digest(1), revoked, t0, plus(t0, 1_000))
        .await
        .expect("token");
    assert!(
        store
            .revoke_session(revoked, "LOG_OUT", t0)
            .await
            .expect("revoke")
    );
    let lapsed = session(store, alice, t0).await;
    store
        .insert_refresh_token(digest(2), lapsed, t0, plus(t0, 10))
        .await
        .expect("token");
    let live = session(store, alice, t0).await;
    store
        .insert_refresh_token(digest(3), live, t0, plus(t0, 1_000))
        .await
        .expect("token");
    // Bob's ended later, within the period.
    let bobs = session(store, bob, t0).await;
    assert!(
        store
            .revoke_session(bobs, "LOG_OUT", plus(t0, 100))
            .await
            .expect("revoke")
    );
    let at = plus(t0, 50);

    assert_eq!(
        store.purge_ended_sessions(at, at, at).await.expect("purge"),
        2
    );

    let left: Vec<Uuid> = store
        .sessions_of(alice)
        .await
        .expect("read")
        .iter()
        .map(|session| session.id)
        .collect();
    assert_eq!(left, vec![live]);
    assert!(store.session(revoked).await.expect("read").is_none());
    assert!(
        store
            .refresh_token(&digest(1))
            .await
            .expect("read")
            .is_none()
    );
    assert!(
        store
            .refresh_token(&digest(2))
            .await
            .expect("read")
            .is_none()
    );
    assert!(
        store
            .refresh_token(&digest(3))
            .await
            .expect("read")
            .is_some()
    );
    assert_eq!(store.sessions_of(bob).await.expect("read").len(), 1);
    assert_eq!(
        second_store(&db)
            .await
            .purge_ended_sessions(at, at, at)
            .await
            .expect("purge"),
        0
    );
}

#[tokio::test]
async fn notifications_go_a_period_after_delivery_and_a_campaign_keeps_only_its_row() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let t0 = now();
    let (alice, bob) = (create_user(store, 1).await, create_user(store, 2).await);
    let [delivered, given_up, pending, later] = [(); 4].map(|()| Uuid::new_v4());
    for (id, account) in [
        (delivered, alice),
        (given_up, alice),
        (pending, alice),
        (later, bob),
    ] {
        store
            .enqueue_notification(id, account, "policy_change", Some(vec![1, 2, 3]), t0)
            .await
            .expect("queued");
    }
    assert!(
        store
            .mark_notification_delivered(delivered, t0)
            .await
            .expect("mark")
    );
    store
        .give_up_notification(given_up, t0)
        .await
        .expect("give up");
    assert!(
        store
            .mark_notification_delivered(later, plus(t0, 100))
            .await
            .expect("mark")
    );
    let campaign = Uuid::new_v4();
    assert_eq!(
        store
            .queue_campaign_messages(campaign, "product_news", &[alice], t0)
            .await
            .expect("queued"),
        1
    );
    let message = store
        .notifications_of(alice)
        .await
        .expect("read")
        .into_iter()
        .find(|notification| notification.campaign == Some(campaign))
        .expect("the campaign's message")
        .id;
    assert!(
        store
            .mark_notification_delivered(message, t0)
            .await
            .expect("mark")
    );

    let purged = store
        .purge_finished_notifications(plus(t0, 50))
        .await
        .expect("purge");

    assert!((2..=3).contains(&purged), "{purged}");
    let mut left: Vec<Uuid> = store
        .notifications_of(alice)
        .await
        .expect("read")
        .iter()
        .map(|notification| notification.id)
        .collect();
    left.sort_unstable();
    let mut expected = vec![pending, message];
    expected.sort_unstable();
    assert_eq!(left, expected, "the campaign's row stays: it is sent once");
    assert_eq!(store.notifications_of(bob).await.expect("read").len(), 1);
    // Sent again, the campaign reaches nobody twice.
    assert_eq!(
        store
            .queue_campaign_messages(campaign, "product_news", &[alice], plus(t0, 60))
            .await
            .expect("queued"),
        0
    );
    assert_eq!(
        store
            .purge_finished_notifications(plus(t0, 50))
            .await
            .expect("purge"),
        0
    );
}

fn ticket(account: Option<Uuid>, received_at: DateTime<Utc>) -> PrivacyTicketRecord {
    PrivacyTicketRecord {
        id: Uuid::new_v4(),
        account,
        email_sealed: account.is_none().then(|| vec![7]),
        email_index: account.is_none().then(|| vec![7; 32]),
        subject_sealed: vec![1],
        message_sealed: vec![2],
        received_at,
        status: "OPEN".to_owned(),
    }
}

async fn close(store: &Store, ticket: Uuid, at: DateTime<Utc>) {
    assert!(
        store
            .step_privacy_ticket(
                ticket,
                &["OPEN", "ANSWERED"],
                "CLOSED",
                &PrivacyTicketEventRecord {
                    id: Uuid::new_v4(),
                    ticket,
                    at,
                    kind: "CLOSED".to_owned(),
                    staff: None,
                    reply_sealed: None,
                },
            )
            .await
            .expect("close")
    );
}

fn hold(account: Uuid, at: DateTime<Utc>) -> LegalHold {
    LegalHold {
        id: Uuid::new_v4(),
        account,
        ground: "LEGAL_CLAIMS".to_owned(),
        note_sealed: vec![1],
        set_by: account,
        set_at: at,
        released_at: None,
    }
}

#[tokio::test]
async fn closed_privacy_tickets_go_a_period_after_closing_unless_held() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let t0 = now();
    let (alice, bob, held) = (
        create_user(store, 1).await,
        create_user(store, 2).await,
        create_user(store, 3).await,
    );
    let closed = ticket(Some(alice), t0);
    let anonymous = ticket(None, t0);
    let open = ticket(Some(alice), t0);
    let closed_later = ticket(Some(bob), t0);
    let under_hold = ticket(Some(held), t0);
    for record in [&closed, &anonymous, &open, &closed_later, &under_hold] {
        store.insert_privacy_ticket(record).await.expect("ticket");
    }
    for record in [&closed, &anonymous, &under_hold] {
        close(store, record.id, plus(t0, 10)).await;
    }
    close(store, closed_later.id, plus(t0, 100)).await;
    store.place_legal_hold(&hold(held, t0)).await.expect("hold");

    assert_eq!(
        store
            .purge_closed_privacy_tickets(plus(t0, 50))
            .await
            .expect("purge"),
        2
    );

    for gone in [&closed, &anonymous] {
        assert!(store.privacy_ticket(gone.id).await.expect("read").is_none());
    }
    assert!(
        store
            .privacy_ticket_events(&[closed.id, anonymous.id])
            .await
            .expect("read")
            .is_empty(),
        "their history goes with them"
    );
    for kept in [&open, &closed_later, &under_hold] {
        assert!(store.privacy_ticket(kept.id).await.expect("read").is_some());
    }
    assert_eq!(
        store
            .privacy_ticket_events(&[closed_later.id])
            .await
            .expect("read")
            .len(),
        2
    );
    assert_eq!(
        store
            .purge_closed_privacy_tickets(plus(t0, 50))
            .await
            .expect("purge"),
        0
    );
}

fn request(account: Uuid, status: DataRequestStatus, at: DateTime<Utc>) -> NewDataRequest {
    NewDataRequest {
        id: Uuid::new_v4(),
        account,
        kind: DataRequestKind::Access,
        status,
        received_at: at,
        due_at: plus(at, 30 * 86_400),
    }
}

#[tokio::test]
async fn finished_data_requests_go_a_period_after_they_finished_unless_held() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let t0 = now();
    let (alice, bob, held) = (
        create_user(store, 1).await,
        create_user(store, 2).await,
        create_user(store, 3).await,
    );
    let finished = request(alice, DataRequestStatus::Completed, t0);
    let denied = request(alice, DataRequestStatus::Denied, t0);
    let open = request(alice, DataRequestStatus::Received, t0);
    let finished_later = request(bob, DataRequestStatus::Completed, plus(t0, 100));
    let under_hold = request(held, DataRequestStatus::Completed, t0);
    for new in [&finished, &denied, &open, &finished_later, &under_hold] {
        store
            .insert_data_request(new, "user", None)
            .await
            .expect("request");
    }
    store.place_legal_hold(&hold(held, t0)).await.expect("hold");

    assert_eq!(
        store
            .purge_finished_data_requests(plus(t0, 50))
            .await
            .expect("purge"),
        2
    );

    for gone in [&finished, &denied] {
        assert!(store.data_request(gone.id).await.expect("read").is_none());
        assert!(
            store
                .data_request_events(gone.id)
                .await
                .expect("read")
                .is_empty()
        );
    }
    for kept in [&open, &finished_later, &under_hold] {
        assert!(store.data_request(kept.id).await.expect("read").is_some());
    }
    assert_eq!(
        store
            .purge_finished_data_requests(plus(t0, 50))
            .await
            .expect("purge"),
        0
    );
}

#[tokio::test]
async fn idle_attempt_counters_go_and_a_locked_account_keeps_its_counter() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let t0 = now();
    let alice = create_user(store, 1).await;
    let idle_email = email_bucket(&[1; 32]);
    let idle_window = format!("{}:1800000000", account_bucket("dpo", alice));
    let locked = account_bucket("mfa", alice);
    let recent = email_bucket(&[2; 32]);
    for bucket in [&idle_email, &idle_window, &locked] {
        store
            .reserve_attempt(bucket, None, t0)
            .await
            .expect("reserve")
            .expect("reserved");
    }
    // The account's counter reaches the hard stop: it is locked.
    let mut state = store.attempt_state(&locked).await.expect("read");
    while state.as_ref().is_some_and(|state| state.failures < 20) {
        state = store
            .reserve_attempt(&locked, state.as_ref(), t0)
            .await
            .expect("reserve");
    }
    store
        .reserve_attempt(&recent, None, plus(t0, 100))
        .await
        .expect("reserve")
        .expect("reserved");

    assert_eq!(
        store
            .purge_idle_attempt_counters(plus(t0, 50))
            .await
            .expect("purge"),
        2
    );

    for gone in [&idle_email, &idle_window] {
        assert!(store.attempt_state(gone).await.expect("read").is_none());
    }
    assert_eq!(
        store
            .attempt_state(&locked)
            .await
            .expect("read")
            .expect("kept while locked")
            .failures,
        20
    );
    assert!(store.attempt_state(&recent).await.expect("read").is_some());
    assert_eq!(
        store
            .purge_idle_attempt_counters(plus(t0, 50))
            .await
            .expect("purge"),
        0
    );
}

fn job(account: Uuid, at: DateTime<Utc>) -> NewJob {
    NewJob {
        id: Uuid::new_v4(),
        kind: "export".to_owned(),
        account: Some(account),
        subject: Uuid::new_v4().to_string(),
        step: "build".to_owned(),
        max_attempts: 3,
        run_after: plus(at, 86_400),
        deadline: None,
    }
}

#[tokio::test]
async fn finished_jobs_go_and_unfinished_and_recent_ones_stay() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let t0 = now();
    let alice = create_user(store, 1).await;
    let (cancelled, queued, cancelled_later) = (job(alice, t0), job(alice, t0), job(alice, t0));
    for new in [&cancelled, &queued, &cancelled_later] {
        store.enqueue_job(new, t0).await.expect("job");
    }
    assert!(store.cancel_job(cancelled.id, t0).await.expect("cancel"));
    assert!(
        store
            .cancel_job(cancelled_later.id, plus(t0, 100))
            .await
            .expect("cancel")
    );

    assert_eq!(
        store
            .purge_finished_jobs(plus(t0, 50))
            .await
            .expect("purge"),
        1
    );

    assert!(store.job(cancelled.id).await.expect("read").is_none());
    assert!(store.job(queued.id).await.expect("read").is_some());
    assert!(store.job(cancelled_later.id).await.expect("read").is_some());
    assert_eq!(
        store
            .purge_finished_jobs(plus(t0, 50))
            .await
            .expect("purge"),
        0
    );
}

#[tokio::test]
async fn usage_of_months_ended_before_the_cutoff_goes_and_later_months_stay() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let t0 = now();
    let (alice, bob) = (create_user(store, 1).await, create_user(store, 2).await);
    let month = |text: &str| {
        Period::of(
            chrono::NaiveDate::parse_from_str(&format!("{text}-15"), "%Y-%m-%d").expect("date"),
        )
    };
    let one = Usage {
        tokens: 1,
        images: 0,
        video_seconds: 0,
    };
    for (account, period) in [
        (alice, "2025-01"),
        (alice, "2025-02"),
        (alice, "2025-03"),
        (bob, "2025-02"),
        (bob, "2025-03"),
    ] {
        store
            .add_usage(account, &month(period), one, t0)
            .await
            .expect("usage");
    }
    let cutoff = DateTime::parse_from_rfc3339("2025-03-10T00:00:00Z")
        .expect("time")
        .with_timezone(&Utc);

    assert_eq!(
        store.purge_old_usage_counters(cutoff).await.expect("purge"),
        3
    );

    for account in [alice, bob] {
        let periods: Vec<String> = store
            .usage_counters_of(account)
            .await
            .expect("read")
            .into_iter()
            .map(|(period, _)| period)
            .collect();
        assert_eq!(periods, vec!["2025-03".to_owned()]);
    }
    assert_eq!(
        store.purge_old_usage_counters(cutoff).await.expect("purge"),
        0
    );
}

use icecone_store::accounts::AccountKind;
use icecone_store::campaigns::CampaignRecord;
use icecone_store::testing::TestDatabase;
use uuid::Uuid;

use crate::support::{create_user, micros, new_account, now, second_store, store_account};

fn campaign(id: Uuid, subject: &str) -> CampaignRecord {
    CampaignRecord {
        id,
        kind: "product_news".to_owned(),
        subject: subject.to_owned(),
        body: "Hello".to_owned(),
        created_by: Uuid::new_v4(),
        created_at: micros(now()),
    }
}

#[tokio::test]
async fn a_campaign_is_stored_once_and_the_first_sender_stays() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let id = Uuid::new_v4();
    let first = campaign(id, "News");
    assert_eq!(
        store.put_mail_campaign(&first).await.expect("stored"),
        first
    );
    let again = campaign(id, "News");
    assert_eq!(
        store.put_mail_campaign(&again).await.expect("stored"),
        first,
        "the same id answers the stored campaign"
    );
    assert_eq!(
        store.mail_campaign(Uuid::new_v4()).await.expect("read"),
        None
    );
}

#[tokio::test]
async fn each_account_is_queued_once_per_campaign_also_by_concurrent_senders() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let other_instance = second_store(&db).await;
    let accounts = [
        create_user(store, 1).await,
        create_user(store, 2).await,
        create_user(store, 3).await,
    ];
    let id = Uuid::new_v4();
    store
        .put_mail_campaign(&campaign(id, "News"))
        .await
        .expect("stored");
    assert_eq!(
        store
            .queue_campaign_messages(id, "product_news", &accounts[..2], now())
            .await
            .expect("queued"),
        2
    );
    // A repeated send, and two concurrent ones over every account: only the third is new.
    let (a, b) = tokio::join!(
        store.queue_campaign_messages(id, "product_news", &accounts, now()),
        other_instance.queue_campaign_messages(id, "product_news", &accounts, now()),
    );
    assert_eq!(a.expect("queued") + b.expect("queued"), 1);
    assert_eq!(store.campaign_message_count(id).await.expect("count"), 3);
    for account in accounts {
        let rows = store.notifications_of(account).await.expect("outbox");
        assert_eq!(rows.len(), 1, "{account}");
        assert_eq!(rows[0].campaign, Some(id));
        assert_eq!(rows[0].kind, "product_news");
    }
    // Another campaign queues them again, and ordinary notifications are unaffected.
    let next = Uuid::new_v4();
    store
        .put_mail_campaign(&campaign(next, "More news"))
        .await
        .expect("stored");
    assert_eq!(
        store
            .queue_campaign_messages(next, "product_news", &accounts, now())
            .await
            .expect("queued"),
        3
    );
    for _ in 0..2 {
        store
            .enqueue_notification(Uuid::new_v4(), accounts[0], "new_sign_in", None, now())
            .await
            .expect("queued");
    }
    assert_eq!(
        store
            .notifications_of(accounts[0])
            .await
            .expect("outbox")
            .len(),
        4
    );
}

#[tokio::test]
async fn candidates_are_user_accounts_in_pages_with_what_the_audience_is_decided_on() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let verified = create_user(store, 1).await;
    let mut unverified = new_account(2, AccountKind::User);
    unverified.email_verified_at = None;
    let unverified = store_account(store, unverified, vec![2]).await;
    let suppressed = create_user(store, 3).await;
    store
        .suppress_address(&[3; 32], suppressed, 550, now())
        .await
        .expect("suppressed");
    let suspended = create_user(store, 4).await;
    store
        .suspend_account(suspended, now())
        .await
        .expect("suspended");
    store_account(store, new_account(5, AccountKind::Staff), vec![5]).await;

    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store.campaign_candidates(after, 3).await.expect("page");
        assert!(page.len() <= 3);
        let Some(last) = page.last() else { break };
        after = Some(last.account);
        seen.extend(page);
    }
    assert_eq!(seen.len(), 4, "users only, each once: {seen:?}");
    assert!(
        seen.windows(2)
            .all(|pair| pair[0].account < pair[1].account)
    );
    let of = |id: Uuid| {
        seen.iter()
            .find(|c| c.account == id)
            .expect("listed")
            .clone()
    };
    let c = of(verified);
    assert!(c.verified && !c.suppressed && !c.suspended);
    let c = of(unverified);
    assert!(!c.verified && !c.suppressed);
    let c = of(suppressed);
    assert!(c.verified && c.suppressed);
    let c = of(suspended);
    assert!(c.suspended && !c.suppressed);

    let ledgers = store
        .consent_entries_of_many(&[verified, unverified])
        .await
        .expect("ledgers");
    assert!(ledgers.is_empty(), "no entries yet");
}

#[tokio::test]
async fn suppressions_are_listed_newest_first_and_lifted_once() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let first = create_user(store, 1).await;
    let second = create_user(store, 2).await;
    let at = micros(now());
    store
        .suppress_address(&[1; 32], first, 550, at)
        .await
        .expect("suppressed");
    store
        .suppress_address(&[2; 32], second, 554, at + chrono::TimeDelta::seconds(1))
        .await
        .expect("suppressed");
    let list = store.mail_suppressions(10).await.expect("list");
    assert_eq!(
        list.iter()
            .map(|s| (s.account, s.reply_code))
            .collect::<Vec<_>>(),
        [(second, 554), (first, 550)]
    );
    assert!(store.lift_suppression(&[1; 32]).await.expect("lifted"));
    assert!(!store.lift_suppression(&[1; 32]).await.expect("again"));
    assert!(!store.is_address_suppressed(&[1; 32]).await.expect("read"));
    assert_eq!(store.mail_suppressions(10).await.expect("list").len(), 1);
}

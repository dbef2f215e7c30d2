//! Messages to the DPO and their history: steps applied once, from allowed statuses only;
//! replies to addresses without an account found and deleted by the address's index; a
//! person's ticket history erased with them.

use icecone_store::Store;
use icecone_store::outbox::AddressedNotification;
use icecone_store::privacy_tickets::{PrivacyTicketEventRecord, PrivacyTicketRecord};
use icecone_store::testing::TestDatabase;
use uuid::Uuid;

use crate::support::{create_user, now, plus};

async fn ticket(store: &Store, account: Option<Uuid>, index: Option<[u8; 32]>) -> Uuid {
    let id = Uuid::new_v4();
    store
        .insert_privacy_ticket(&PrivacyTicketRecord {
            id,
            account,
            email_sealed: index.map(|_| vec![1]),
            email_index: index.map(|index| index.to_vec()),
            subject_sealed: vec![2],
            message_sealed: vec![3],
            received_at: now(),
            status: "OPEN".to_owned(),
        })
        .await
        .expect("stored");
    id
}

fn event(ticket: Uuid, kind: &str, seconds: i64, staff: Uuid) -> PrivacyTicketEventRecord {
    PrivacyTicketEventRecord {
        id: Uuid::new_v4(),
        ticket,
        at: plus(now(), seconds),
        kind: kind.to_owned(),
        staff: Some(staff),
        reply_sealed: (kind == "ANSWERED").then(|| vec![9, 9]),
    }
}

async fn kinds(store: &Store, ticket: Uuid) -> Vec<String> {
    store
        .privacy_ticket_events(&[ticket])
        .await
        .expect("history")
        .into_iter()
        .map(|event| event.kind)
        .collect()
}

#[tokio::test]
async fn a_ticket_moves_only_from_the_statuses_given_and_each_step_is_in_its_history() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let dpo = create_user(store, 1).await;
    let id = ticket(store, None, Some([5; 32])).await;
    assert_eq!(
        kinds(store, id).await,
        ["RECEIVED"],
        "recorded with the ticket"
    );
    let received = &store.privacy_ticket_events(&[id]).await.expect("read")[0];
    assert_eq!(received.id, id, "the received entry has the ticket's id");
    assert_eq!(received.staff, None);

    let answer = event(id, "ANSWERED", 1, dpo);
    assert!(
        store
            .step_privacy_ticket(id, &["OPEN", "ANSWERED"], "ANSWERED", &answer)
            .await
            .expect("answered")
    );
    assert!(
        store
            .step_privacy_ticket(
                id,
                &["OPEN", "ANSWERED"],
                "CLOSED",
                &event(id, "CLOSED", 2, dpo)
            )
            .await
            .expect("closed")
    );
    assert!(
        !store
            .step_privacy_ticket(
                id,
                &["OPEN", "ANSWERED"],
                "ANSWERED",
                &event(id, "ANSWERED", 3, dpo)
            )
            .await
            .expect("refused"),
        "a closed ticket is not in the statuses an answer is allowed from"
    );
    assert_eq!(
        store
            .privacy_ticket(id)
            .await
            .expect("read")
            .expect("ticket")
            .status,
        "CLOSED"
    );
    let history = store.privacy_ticket_events(&[id]).await.expect("history");
    assert_eq!(
        history.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(),
        ["RECEIVED", "ANSWERED", "CLOSED"],
        "the refused step left nothing"
    );
    assert_eq!(history[1], answer);
    assert_eq!(
        store.privacy_ticket(Uuid::new_v4()).await.expect("read"),
        None
    );
}

#[tokio::test]
async fn concurrent_steps_from_the_same_status_apply_once() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let dpo = create_user(store, 1).await;
    let id = ticket(store, None, Some([5; 32])).await;
    let close = |seconds| {
        let store = store.clone();
        async move {
            store
                .step_privacy_ticket(id, &["OPEN"], "CLOSED", &event(id, "CLOSED", seconds, dpo))
                .await
                .expect("step")
        }
    };
    let (a, b) = tokio::join!(close(1), close(2));
    assert!(a ^ b, "exactly one closes it: {a} {b}");
    assert_eq!(kinds(store, id).await, ["RECEIVED", "CLOSED"]);
}

#[tokio::test]
async fn replies_without_an_account_and_anonymous_histories_go_with_their_address_alone() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let dpo = create_user(store, 1).await;
    let mine = ticket(store, None, Some([7; 32])).await;
    let theirs = ticket(store, None, Some([8; 32])).await;
    for id in [mine, theirs] {
        assert!(
            store
                .step_privacy_ticket(id, &["OPEN"], "ANSWERED", &event(id, "ANSWERED", 1, dpo))
                .await
                .expect("answered")
        );
    }
    for index in [[7u8; 32], [8; 32]] {
        store
            .enqueue_notification_to_address(
                &AddressedNotification {
                    id: Uuid::new_v4(),
                    kind: "privacy_ticket_answered".to_owned(),
                    recipient_sealed: vec![4],
                    recipient_index: index.to_vec(),
                    payload_sealed: Some(vec![5]),
                },
                now(),
            )
            .await
            .expect("queued");
    }
    let queued = store
        .notifications_to_address(&[7; 32])
        .await
        .expect("read");
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].account, None);
    assert_eq!(queued[0].recipient_sealed.as_deref(), Some(&[4u8][..]));
    let due = store.due_notifications(now(), 10).await.expect("due");
    assert_eq!(due.len(), 2, "delivered like every other notification");

    assert_eq!(
        store
            .delete_anonymous_privacy_tickets(&[7; 32])
            .await
            .expect("deleted"),
        1
    );
    assert_eq!(
        store
            .delete_notifications_to_address(&[7; 32])
            .await
            .expect("deleted"),
        1
    );
    assert!(
        kinds(store, mine).await.is_empty(),
        "its history went with it"
    );
    assert_eq!(kinds(store, theirs).await, ["RECEIVED", "ANSWERED"]);
    assert!(
        store
            .notifications_to_address(&[7; 32])
            .await
            .expect("read")
            .is_empty()
    );
    assert_eq!(
        store
            .notifications_to_address(&[8; 32])
            .await
            .expect("read")
            .len(),
        1
    );
}

#[tokio::test]
async fn the_history_of_a_persons_tickets_is_counted_and_erased_with_them() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let person = create_user(store, 1).await;
    let dpo = create_user(store, 2).await;
    let id = ticket(store, Some(person), None).await;
    assert!(
        store
            .step_privacy_ticket(id, &["OPEN"], "ANSWERED", &event(id, "ANSWERED", 1, dpo))
            .await
            .expect("answered")
    );
    let record = store.account(person).await.expect("read").expect("person");
    let count = |rows: Vec<(&'static str, u64)>| {
        rows.into_iter()
            .find(|(table, _)| *table == "privacy_ticket_events")
            .map(|(_, n)| n)
    };
    assert_eq!(
        count(
            store
                .rows_about(person, record.subject, &record.email_index)
                .await
                .expect("count")
        ),
        Some(2)
    );
    let (request, job) = crate::personal_data::deletion(person, 0);
    store
        .request_account_deletion(&request, &job, now())
        .await
        .expect("request");
    assert!(
        store
            .erase_account(request.id, person, request.requested_at, now())
            .await
            .expect("erased")
    );
    assert!(kinds(store, id).await.is_empty());
    assert_eq!(store.privacy_ticket(id).await.expect("read"), None);
}

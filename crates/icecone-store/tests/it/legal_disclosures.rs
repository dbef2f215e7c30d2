//! Disclosures required by law: a decision applied once of concurrent ones (from two store
//! instances), the people concerned told once and only after a confidentiality order, the
//! report's counts, and the links kept pseudonymised when a person is erased.

use chrono::{DateTime, Utc};
use icecone_store::Store;
use icecone_store::legal_disclosures::{
    DisclosureNotice, LegalDisclosureDecision, LegalDisclosureRecord,
};
use icecone_store::testing::TestDatabase;
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::personal_data::deletion;
use crate::support::{create_user, now, plus, second_store};

fn record(accounts: Vec<Uuid>, until: Option<DateTime<Utc>>, kind: &str) -> LegalDisclosureRecord {
    LegalDisclosureRecord {
        id: Uuid::new_v4(),
        authority_name_sealed: vec![1],
        authority_type: kind.to_owned(),
        legal_basis_sealed: vec![2],
        reference_sealed: vec![3],
        categories: "ACCOUNT,GENERATIONS".to_owned(),
        confidential_until: until,
        confidentiality_reference_sealed: until.map(|_| vec![4]),
        status: "RECORDED".to_owned(),
        recorded_by: Uuid::new_v4(),
        recorded_at: now(),
        decided_by: None,
        decided_at: None,
        refusal_reason_sealed: None,
        notice_queued_at: None,
        accounts,
    }
}

fn approve(by: Uuid, at: DateTime<Utc>) -> LegalDisclosureDecision<'static> {
    LegalDisclosureDecision {
        from: &["RECORDED"],
        to: "APPROVED",
        by,
        at,
        refusal_reason_sealed: None,
    }
}

async fn stored(store: &Store, record: &LegalDisclosureRecord) -> LegalDisclosureRecord {
    store.insert_legal_disclosure(record).await.expect("stored");
    store
        .legal_disclosure(record.id)
        .await
        .expect("read")
        .expect("found")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_concurrent_decisions_from_two_instances_exactly_one_is_applied() {
    let db = TestDatabase::new().await;
    let second = second_store(&db).await;
    let person = create_user(db.store(), 1).await;
    let mut accounts = vec![person, Uuid::new_v4()];
    accounts.sort_unstable();
    let request = record(accounts.clone(), None, "COURT");
    let read = stored(db.store(), &request).await;
    assert_eq!(read, request, "read back as stored, with its accounts");

    let mut deciders = JoinSet::new();
    for i in 0..10 {
        let store = if i % 2 == 0 {
            db.store().clone()
        } else {
            second.clone()
        };
        let id = request.id;
        deciders.spawn(async move {
            let decision = if i % 3 == 0 {
                LegalDisclosureDecision {
                    from: &["RECORDED"],
                    to: "REFUSED",
                    by: Uuid::new_v4(),
                    at: now(),
                    refusal_reason_sealed: Some(vec![7]),
                }
            } else {
                approve(Uuid::new_v4(), now())
            };
            let to = decision.to;
            let won = store
                .decide_legal_disclosure(id, decision)
                .await
                .expect("no error");
            won.then_some(to)
        });
    }
    let winners: Vec<&str> = deciders.join_all().await.into_iter().flatten().collect();
    assert_eq!(winners.len(), 1, "one decision wins: {winners:?}");
    let decided = db
        .store()
        .legal_disclosure(request.id)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(decided.status, winners[0]);
    assert!(decided.decided_by.is_some() && decided.decided_at.is_some());
    assert_eq!(
        decided.refusal_reason_sealed.is_some(),
        winners[0] == "REFUSED"
    );
    assert!(
        !db.store()
            .decide_legal_disclosure(request.id, approve(Uuid::new_v4(), now()))
            .await
            .expect("no error"),
        "a decided request is not decided again"
    );
    assert_eq!(
        db.store()
            .legal_disclosures_of(person)
            .await
            .expect("of person")
            .iter()
            .map(|record| record.id)
            .collect::<Vec<_>>(),
        [request.id]
    );
    assert!(
        db.store()
            .legal_disclosures_of(create_user(db.store(), 2).await)
            .await
            .expect("of another")
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_people_concerned_are_told_once_and_only_once_the_order_has_ended() {
    let db = TestDatabase::new().await;
    let second = second_store(&db).await;
    let store = db.store();
    let people = [create_user(store, 1).await, create_user(store, 2).await];
    let until = plus(now(), 3600);
    let confidential = record(people.to_vec(), Some(until), "POLICE");
    let open = record(vec![people[0]], None, "TAX");
    let undecided = record(vec![people[0]], None, "TAX");
    for request in [&confidential, &open, &undecided] {
        stored(store, request).await;
    }
    for request in [&confidential, &open] {
        assert!(
            store
                .decide_legal_disclosure(request.id, approve(Uuid::new_v4(), now()))
                .await
                .expect("approved")
        );
    }
    let due = |at| async move {
        let mut ids: Vec<Uuid> = store
            .legal_disclosures_to_tell(at)
            .await
            .expect("due")
            .into_iter()
            .map(|record| record.id)
            .collect();
        ids.sort_unstable();
        ids
    };
    assert_eq!(due(now()).await, [open.id], "the order is live");
    let mut both = vec![open.id, confidential.id];
    both.sort_unstable();
    assert_eq!(due(until).await, both, "the order ends at its `until`");

    let mut tellers = JoinSet::new();
    for i in 0..8 {
        let store = if i % 2 == 0 {
            store.clone()
        } else {
            second.clone()
        };
        let notices: Vec<DisclosureNotice> = people
            .iter()
            .map(|account| DisclosureNotice {
                id: Uuid::new_v4(),
                account: *account,
                kind: "legal_disclosure".to_owned(),
                payload_sealed: Some(vec![9]),
            })
            .collect();
        let id = confidential.id;
        tellers.spawn(async move {
            store
                .queue_legal_disclosure_notices(id, until, &notices)
                .await
                .expect("no error")
        });
    }
    let told = tellers
        .join_all()
        .await
        .into_iter()
        .filter(|won| *won)
        .count();
    assert_eq!(told, 1, "one instance tells");
    for person in people {
        let notices = store.notifications_of(person).await.expect("outbox");
        assert_eq!(
            notices
                .iter()
                .filter(|notice| notice.kind == "legal_disclosure")
                .count(),
            1,
            "each person is told once"
        );
    }
    assert_eq!(due(until).await, [open.id]);
    assert!(
        !store
            .queue_legal_disclosure_notices(undecided.id, now(), &[])
            .await
            .expect("no error"),
        "an undecided request is never told"
    );
}

#[tokio::test]
async fn the_report_reads_approved_disclosures_since_a_time_only() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let start = now();
    let kinds = ["COURT", "POLICE", "POLICE", "REGULATOR"];
    for (n, kind) in kinds.iter().enumerate() {
        let request = record(vec![Uuid::new_v4()], None, kind);
        stored(store, &request).await;
        if n < 3 {
            store
                .decide_legal_disclosure(request.id, approve(Uuid::new_v4(), plus(start, 10)))
                .await
                .expect("approved");
        }
    }
    let refused = record(vec![Uuid::new_v4()], None, "TAX");
    stored(store, &refused).await;
    store
        .decide_legal_disclosure(
            refused.id,
            LegalDisclosureDecision {
                from: &["RECORDED"],
                to: "REFUSED",
                by: Uuid::new_v4(),
                at: plus(start, 10),
                refusal_reason_sealed: Some(vec![1]),
            },
        )
        .await
        .expect("refused");
    let mut counted: Vec<String> = store
        .approved_legal_disclosures_since(start)
        .await
        .expect("report")
        .into_iter()
        .map(|(at, kind)| {
            assert_eq!(at, plus(start, 10));
            kind
        })
        .collect();
    counted.sort_unstable();
    assert_eq!(counted, ["COURT", "POLICE", "POLICE"]);
    assert!(
        store
            .approved_legal_disclosures_since(plus(start, 11))
            .await
            .expect("report")
            .is_empty()
    );
}

#[tokio::test]
async fn an_erasure_keeps_the_disclosure_and_its_pseudonymous_link() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let person = create_user(store, 1).await;
    let request = record(vec![person], None, "COURT");
    stored(store, &request).await;
    let (deletion, job) = deletion(person, 0);
    store
        .request_account_deletion(&deletion, &job, now())
        .await
        .expect("request");
    assert!(
        store
            .erase_account(deletion.id, person, deletion.requested_at, now())
            .await
            .expect("erase")
    );
    assert!(store.account(person).await.expect("read").is_none());
    let kept = store
        .legal_disclosure(request.id)
        .await
        .expect("read")
        .expect("kept");
    assert_eq!(kept.accounts, [person]);
}

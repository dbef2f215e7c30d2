//! Data subject requests: history with every transition, compare-and-set transitions that
//! one of two concurrent callers wins, one extension, single-use download links, the purge
//! of expired exports, and DPO tickets.

use chrono::TimeDelta;
use icecone_core::rights::{self, DataRequestKind, DataRequestStatus};
use icecone_store::Store;
use icecone_store::data_requests::{
    ExportAdmission, NewDataRequest, SealedExport, StoredExport, Transition,
};
use icecone_store::jobs::NewJob;
use icecone_store::privacy_tickets::PrivacyTicketRecord;
use icecone_store::testing::TestDatabase;
use uuid::Uuid;

use crate::support::{create_user, now, plus, second_store};

fn new_request(account: Uuid, kind: DataRequestKind) -> NewDataRequest {
    let received_at = now();
    NewDataRequest {
        id: Uuid::new_v4(),
        account,
        kind,
        status: DataRequestStatus::Received,
        received_at,
        due_at: rights::due_at(received_at),
    }
}

fn step(from: DataRequestStatus, to: DataRequestStatus, actor: &str) -> Transition<'_> {
    Transition {
        from,
        to,
        at: now(),
        actor,
        note_code: Some("test"),
    }
}

fn job_for(request: Uuid) -> NewJob {
    NewJob {
        id: Uuid::new_v4(),
        kind: "rights.export".to_owned(),
        account: None,
        subject: request.to_string(),
        step: "build".to_owned(),
        max_attempts: 3,
        run_after: now(),
        deadline: None,
    }
}

/// A completed export of `account` whose bundle is two chunks, `[7, 7]` and `[8]`.
async fn export_of(store: &Store, account: Uuid, digest: u8, expires_in: i64) -> Uuid {
    let request = new_request(account, DataRequestKind::Export);
    store
        .insert_data_request(&request, "subject", None)
        .await
        .expect("stored");
    for (seq, chunk) in [vec![7, 7], vec![8]].into_iter().enumerate() {
        store
            .store_export_chunk(
                request.id,
                account,
                u32::try_from(seq).expect("small"),
                chunk,
            )
            .await
            .expect("chunk stored");
    }
    let done = store
        .complete_export(
            request.id,
            &step(
                DataRequestStatus::Received,
                DataRequestStatus::Completed,
                "system",
            ),
            SealedExport {
                chunks: 2,
                download_digest: [digest; 32],
                expires_at: plus(now(), expires_in),
            },
        )
        .await
        .expect("completed");
    assert!(done);
    request.id
}

#[tokio::test]
async fn requests_keep_their_history_and_transitions_are_compare_and_set() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let account = create_user(store, 1).await;
    let request = new_request(account, DataRequestKind::Access);
    store
        .insert_data_request(&request, "subject", Some("received"))
        .await
        .expect("stored");

    let other = second_store(&db).await;
    let staff = format!("staff:{}", Uuid::new_v4());
    let start = step(
        DataRequestStatus::Received,
        DataRequestStatus::InProgress,
        &staff,
    );
    let deny = step(
        DataRequestStatus::Received,
        DataRequestStatus::Denied,
        "system",
    );
    let (a, b) = tokio::join!(
        store.transition_data_request(request.id, &start),
        other.transition_data_request(request.id, &deny),
    );
    let (a, b) = (a.expect("first"), b.expect("second"));
    assert!(a ^ b, "exactly one transition from RECEIVED wins: {a} {b}");

    let stored = store
        .data_request(request.id)
        .await
        .expect("read")
        .expect("exists");
    let events = store.data_request_events(request.id).await.expect("events");
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0].from, None);
    assert_eq!(events[0].to, DataRequestStatus::Received);
    assert_eq!(events[0].note_code.as_deref(), Some("received"));
    assert_eq!(events[1].from, Some(DataRequestStatus::Received));
    assert_eq!(events[1].to, stored.status);
    if a {
        assert_eq!(stored.status, DataRequestStatus::InProgress);
        assert_eq!(events[1].actor, staff);
        assert_eq!(stored.completed_at, None);
    } else {
        assert_eq!(stored.status, DataRequestStatus::Denied);
        assert!(stored.completed_at.is_some());
    }
    assert_eq!(
        store.data_requests_of(account).await.expect("list").len(),
        1
    );
    assert!(
        store
            .data_requests_of(create_user(store, 2).await)
            .await
            .expect("list")
            .is_empty(),
        "nobody else sees it"
    );
}

#[tokio::test]
async fn a_request_is_extended_once_with_its_sealed_reason() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let account = create_user(store, 1).await;
    let request = new_request(account, DataRequestKind::Access);
    store
        .insert_data_request(&request, "subject", None)
        .await
        .expect("stored");
    let until = plus(request.due_at, 60 * 86_400);
    let extend = step(
        DataRequestStatus::Received,
        DataRequestStatus::Extended,
        "staff:x",
    );
    assert!(
        store
            .extend_data_request(request.id, &extend, until, vec![1, 2])
            .await
            .expect("extend")
    );
    let again = step(
        DataRequestStatus::Extended,
        DataRequestStatus::Extended,
        "staff:x",
    );
    assert!(
        !store
            .extend_data_request(request.id, &again, until, vec![3])
            .await
            .expect("second extend"),
        "a second extension is refused"
    );
    let stored = store
        .data_request(request.id)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(stored.status, DataRequestStatus::Extended);
    assert_eq!(stored.extended_due_at, Some(until));
    assert_eq!(stored.extension_reason_sealed, Some(vec![1, 2]));
    assert_eq!(
        store
            .data_requests_in(Some(DataRequestStatus::Extended))
            .await
            .expect("by status")
            .len(),
        1
    );
    assert!(
        store
            .data_requests_in(Some(DataRequestStatus::Received))
            .await
            .expect("by status")
            .is_empty()
    );
}

#[tokio::test]
async fn an_export_is_blocked_by_a_pending_erasure() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let account = create_user(store, 1).await;
    let erasure = new_request(account, DataRequestKind::Erasure);
    store
        .insert_data_request(&erasure, "subject", None)
        .await
        .expect("stored");
    let export = new_request(account, DataRequestKind::Export);
    assert_eq!(
        store
            .insert_export_request(&export, "subject", &job_for(export.id))
            .await
            .expect("checked"),
        ExportAdmission::ErasurePending
    );
    assert!(store.data_request(export.id).await.expect("read").is_none());
    assert!(
        store
            .jobs_for("rights.export", &export.id.to_string())
            .await
            .expect("jobs")
            .is_empty(),
        "nor its job"
    );

    store
        .transition_data_request(
            erasure.id,
            &step(
                DataRequestStatus::Received,
                DataRequestStatus::Cancelled,
                "subject",
            ),
        )
        .await
        .expect("cancelled");
    assert_eq!(
        store
            .insert_export_request(&export, "subject", &job_for(export.id))
            .await
            .expect("checked"),
        ExportAdmission::Queued,
        "a cancelled erasure blocks nothing"
    );
    assert_eq!(
        store
            .jobs_for("rights.export", &export.id.to_string())
            .await
            .expect("jobs")
            .len(),
        1,
        "the request and its job are stored together"
    );
}

#[tokio::test]
async fn a_download_link_works_once_for_its_owner_until_it_expires() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let owner = create_user(store, 1).await;
    let stranger = create_user(store, 2).await;
    let id = export_of(store, owner, 9, 3600).await;

    let found = store
        .data_request_by_download(&[9; 32])
        .await
        .expect("read")
        .expect("found by digest");
    assert_eq!(found.id, id);
    assert_eq!(found.status, DataRequestStatus::Completed);
    assert!(found.completed_at.is_some());

    assert_eq!(
        store.take_export(stranger, id, now()).await.expect("take"),
        None
    );
    let (first, second) = tokio::join!(
        store.take_export(owner, id, now()),
        store.take_export(owner, id, now())
    );
    let taken: Vec<_> = [first.expect("first"), second.expect("second")]
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(
        taken,
        vec![StoredExport::Chunked(2)],
        "exactly one download"
    );
    // The chunks are the owner's only, until the download deletes them.
    assert_eq!(
        store.export_chunk(stranger, id, 0).await.expect("read"),
        None
    );
    assert_eq!(
        store.export_chunk(owner, id, 0).await.expect("read"),
        Some(vec![7, 7])
    );
    assert_eq!(
        store.export_chunk(owner, id, 1).await.expect("read"),
        Some(vec![8])
    );
    assert_eq!(store.export_chunk(owner, id, 2).await.expect("read"), None);
    store.delete_export(id).await.expect("deleted");
    assert!(!store.export_stored(id).await.expect("read"));

    let expired = export_of(store, owner, 8, 1).await;
    assert_eq!(
        store
            .take_export(owner, expired, plus(now(), 2))
            .await
            .expect("take"),
        None
    );
    assert!(store.export_stored(expired).await.expect("read"));
    let young = export_of(store, owner, 6, 3600).await;
    assert_eq!(
        store
            .purge_expired_exports(now() + TimeDelta::seconds(5))
            .await
            .expect("purge"),
        1
    );
    assert!(!store.export_stored(expired).await.expect("read"));
    assert_eq!(
        store.export_chunk(owner, expired, 0).await.expect("read"),
        None,
        "its chunks went with it"
    );
    assert!(store.export_stored(young).await.expect("read"));

    // A build that never completed: its chunks stay while its request is open, and go
    // with the purge once it is closed without a bundle.
    let abandoned = new_request(owner, DataRequestKind::Export);
    store
        .insert_data_request(&abandoned, "subject", None)
        .await
        .expect("stored");
    store
        .store_export_chunk(abandoned.id, owner, 0, vec![1])
        .await
        .expect("chunk");
    store.purge_expired_exports(now()).await.expect("purge");
    assert!(store.export_stored(abandoned.id).await.expect("read"));
    store
        .transition_data_request(
            abandoned.id,
            &step(
                DataRequestStatus::Received,
                DataRequestStatus::Cancelled,
                "subject",
            ),
        )
        .await
        .expect("cancelled");
    store.purge_expired_exports(now()).await.expect("purge");
    assert!(!store.export_stored(abandoned.id).await.expect("read"));
    assert!(store.export_stored(young).await.expect("read"));
}

#[tokio::test]
async fn one_export_is_open_per_account_and_at_most_three_are_asked_for_a_day() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let other = second_store(&db).await;
    let account = create_user(store, 1).await;
    let neighbour = create_user(store, 2).await;

    // Many at once, through two connections pools: one is stored, the others name it.
    let attempts: Vec<NewDataRequest> = (0..8)
        .map(|_| new_request(account, DataRequestKind::Export))
        .collect();
    let mut running = tokio::task::JoinSet::new();
    for (index, request) in attempts.iter().enumerate() {
        let store = if index % 2 == 0 {
            store.clone()
        } else {
            other.clone()
        };
        let (request, job) = (request.clone(), job_for(request.id));
        running.spawn(async move {
            let answer = store.insert_export_request(&request, "subject", &job).await;
            (request.id, answer.expect("decided"))
        });
    }
    let decided: Vec<(Uuid, ExportAdmission)> = running.join_all().await;
    let answers: Vec<ExportAdmission> = decided.iter().map(|(_, answer)| *answer).collect();
    let queued: Vec<Uuid> = decided
        .iter()
        .filter(|(_, answer)| *answer == ExportAdmission::Queued)
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(queued.len(), 1, "{answers:?}");
    for answer in &answers {
        assert!(
            matches!(answer, ExportAdmission::Queued)
                || *answer == ExportAdmission::AlreadyOpen(queued[0]),
            "{answers:?}"
        );
    }
    let stored = store.data_requests_of(account).await.expect("read");
    assert_eq!(stored.len(), 1);
    let jobs = store
        .jobs_for("rights.export", &queued[0].to_string())
        .await
        .expect("jobs");
    assert_eq!(jobs.len(), 1, "one job");

    // Each closed export makes room for the next, up to three a day.
    let close = |id| async move {
        store
            .transition_data_request(
                id,
                &step(
                    DataRequestStatus::Received,
                    DataRequestStatus::Cancelled,
                    "subject",
                ),
            )
            .await
            .expect("closed")
    };
    assert!(close(queued[0]).await);
    for _ in 0..2 {
        let next = new_request(account, DataRequestKind::Export);
        assert_eq!(
            store
                .insert_export_request(&next, "subject", &job_for(next.id))
                .await
                .expect("decided"),
            ExportAdmission::Queued
        );
        assert!(close(next.id).await);
    }
    let fourth = new_request(account, DataRequestKind::Export);
    let oldest = store
        .data_requests_of(account)
        .await
        .expect("read")
        .into_iter()
        .map(|request| request.received_at)
        .min()
        .expect("three");
    assert_eq!(
        store
            .insert_export_request(&fourth, "subject", &job_for(fourth.id))
            .await
            .expect("decided"),
        ExportAdmission::Limited(oldest + rights::EXPORT_WINDOW)
    );
    assert!(store.data_request(fourth.id).await.expect("read").is_none());
    // Someone else is not limited by it.
    let theirs = new_request(neighbour, DataRequestKind::Export);
    assert_eq!(
        store
            .insert_export_request(&theirs, "subject", &job_for(theirs.id))
            .await
            .expect("decided"),
        ExportAdmission::Queued
    );
}

#[tokio::test]
async fn privacy_tickets_are_stored_and_listed_newest_first() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let account = create_user(store, 1).await;
    for (index, account) in [(1u8, None), (2, Some(account))] {
        store
            .insert_privacy_ticket(&PrivacyTicketRecord {
                id: Uuid::new_v4(),
                account,
                email_sealed: account.is_none().then(|| vec![index]),
                email_index: account.is_none().then(|| vec![index; 32]),
                subject_sealed: vec![index, 1],
                message_sealed: vec![index, 2],
                received_at: plus(now(), i64::from(index)),
                status: "OPEN".to_owned(),
            })
            .await
            .expect("stored");
    }
    let tickets = store.privacy_tickets().await.expect("list");
    assert_eq!(tickets.len(), 2);
    assert_eq!(tickets[0].account, Some(account));
    assert_eq!(tickets[1].email_sealed, Some(vec![1]));
    assert_eq!(tickets[1].subject_sealed, vec![1, 1]);
}

//! The personal-data registry against the real schema, and erasure driven by it.

use std::collections::BTreeSet;

use chrono::TimeDelta;
use icecone_store::attempts::{account_bucket, email_bucket};
use icecone_store::erasure::{AccountDeletion, CancelDeletion, DeletionState, LegalHold};
use icecone_store::jobs::NewJob;
use icecone_store::personal_data::{Entry, Erase, REGISTRY};
use icecone_store::privacy_tickets::PrivacyTicketRecord;
use icecone_store::sessions::NewSession;
use icecone_store::testing::TestDatabase;
use uuid::Uuid;

use crate::support::{create_user, now, plus};

#[tokio::test]
async fn every_table_of_the_database_is_in_the_personal_data_registry() {
    let db = TestDatabase::new().await;
    let actual: BTreeSet<String> = db
        .store()
        .table_names()
        .await
        .expect("tables")
        .into_iter()
        .collect();
    let registered: BTreeSet<String> = REGISTRY
        .iter()
        .map(|entry| entry.table().to_owned())
        .collect();
    let missing: Vec<_> = actual.difference(&registered).collect();
    assert!(
        missing.is_empty(),
        "tables without export and erasure handling in icecone_store::personal_data: {missing:?}"
    );
    let stale: Vec<_> = registered.difference(&actual).collect();
    assert!(stale.is_empty(), "registry entries for no table: {stale:?}");
    // Only the invoice records (unlinked), the audit trail and the links of disclosures
    // required by law are kept, and each says why.
    let kept: Vec<_> = REGISTRY
        .iter()
        .filter_map(|entry| match entry {
            Entry::Personal(personal) => match personal.erase {
                Erase::KeepPseudonymised { why } | Erase::KeepUnlinked { why, .. } => {
                    Some((personal.table, why))
                }
                Erase::DeleteRows => None,
            },
            Entry::NotPersonal { .. } => None,
        })
        .collect();
    let tables: Vec<_> = kept.iter().map(|(table, _)| *table).collect();
    assert_eq!(
        tables,
        ["billing_invoices", "legal_disclosure_accounts", "audit_log"]
    );
    assert!(kept.iter().all(|(_, why)| why.contains("Art. 17(3)")));
}

pub(crate) fn deletion(account: Uuid, grace_seconds: i64) -> (AccountDeletion, NewJob) {
    let id = Uuid::new_v4();
    let requested_at = now();
    let runs_at = plus(requested_at, grace_seconds);
    let job = NewJob {
        id: Uuid::new_v4(),
        kind: "rights.erasure".to_owned(),
        account: None,
        subject: id.to_string(),
        step: "start".to_owned(),
        max_attempts: 5,
        run_after: runs_at,
        deadline: None,
    };
    (
        AccountDeletion {
            id,
            account,
            state: DeletionState::Pending,
            requested_at,
            runs_at,
            cancelled_at: None,
            job: Some(job.id),
        },
        job,
    )
}

/// A refresh-token hash unique to the account: both halves are its UUID's
/// sixteen bytes (one byte of it collided between two random accounts once
/// in 256 runs).
fn token_hash_of(account: Uuid) -> [u8; 32] {
    let mut hash = [0; 32];
    hash[..16].copy_from_slice(account.as_bytes());
    hash[16..].copy_from_slice(account.as_bytes());
    hash
}

async fn add_session(db: &TestDatabase, account: Uuid) {
    db.store()
        .create_session(NewSession {
            id: Uuid::new_v4(),
            account,
            auth_time: now(),
            mfa_at: None,
            amr: "pwd".to_owned(),
        })
        .await
        .expect("session");
    db.store()
        .insert_refresh_token(
            token_hash_of(account),
            db.store().sessions_of(account).await.expect("sessions")[0].id,
            now(),
            now() + TimeDelta::days(1),
        )
        .await
        .expect("refresh token");
}

#[tokio::test]
async fn a_second_request_answers_the_open_one_and_cancelling_ends_it_within_the_grace_only() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let account = create_user(store, 1).await;
    let (first, job) = deletion(account, 3600);
    let (stored, created) = store
        .request_account_deletion(&first, &job, now())
        .await
        .expect("request");
    assert!(created);
    let (again, job_again) = deletion(account, 3600);
    let (open, created) = store
        .request_account_deletion(&again, &job_again, now())
        .await
        .expect("second request");
    assert!(!created);
    assert_eq!(open.id, stored.id);
    assert!(store.job(job_again.id).await.expect("job").is_none());

    assert_eq!(
        store
            .cancel_account_deletion(account, now())
            .await
            .expect("cancel"),
        CancelDeletion::Cancelled(Some(job.id))
    );
    assert_eq!(
        store
            .cancel_account_deletion(account, now())
            .await
            .expect("cancel again"),
        CancelDeletion::NoRequest
    );

    let (late, late_job) = deletion(account, 0);
    store
        .request_account_deletion(&late, &late_job, now())
        .await
        .expect("a new request after cancelling");
    assert_eq!(
        store
            .cancel_account_deletion(account, plus(now(), 1))
            .await
            .expect("cancel after the grace"),
        CancelDeletion::TooLate
    );
}

#[tokio::test]
async fn erasing_an_account_deletes_every_personal_row_of_it_and_nothing_of_anyone_else() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let person = create_user(store, 1).await;
    let other = create_user(store, 2).await;
    for account in [person, other] {
        add_session(&db, account).await;
        store
            .place_legal_hold(&LegalHold {
                id: Uuid::new_v4(),
                account,
                ground: "LEGAL_CLAIMS".to_owned(),
                note_sealed: vec![1, 2, 3],
                set_by: other,
                set_at: now(),
                released_at: None,
            })
            .await
            .expect("hold");
    }
    let person_record = store.account(person).await.expect("read").expect("person");
    let other_record = store.account(other).await.expect("read").expect("other");
    // Throttling buckets naming each person: by e-mail blind index, and by account id
    // (with a window's start appended, as the gateway's windows are named).
    for record in [&person_record, &other_record] {
        for bucket in [
            email_bucket(&record.email_index),
            format!("{}:1800000000", account_bucket("verify:resend", record.id)),
            format!("{}:1800000000", account_bucket("dpo", record.id)),
        ] {
            store
                .reserve_attempt(&bucket, None, now())
                .await
                .expect("bucket")
                .expect("reserved");
        }
    }
    let (request, job) = deletion(person, 0);
    store
        .request_account_deletion(&request, &job, now())
        .await
        .expect("request");
    let other_before = store
        .rows_about(other, other_record.subject, &other_record.email_index)
        .await
        .expect("count");

    assert!(
        store
            .erase_account(request.id, person, request.requested_at, now())
            .await
            .expect("erase")
    );

    let left = store
        .rows_about(person, person_record.subject, &person_record.email_index)
        .await
        .expect("count");
    for (table, count) in &left {
        assert_eq!(*count, 0, "{table} still has rows about the erased person");
    }
    assert_eq!(
        store
            .rows_about(other, other_record.subject, &other_record.email_index)
            .await
            .expect("count"),
        other_before
    );
    assert!(
        other_before
            .iter()
            .any(|(table, n)| *table == "sessions" && *n == 1)
    );
    assert!(
        other_before
            .iter()
            .any(|(table, n)| *table == "attempt_counters" && *n == 3),
        "every bucket naming the other person counted: {other_before:?}"
    );
    let tombstone = store
        .erasure_tombstone(request.id)
        .await
        .expect("read")
        .expect("a tombstone");
    assert_eq!(tombstone.requested_at, request.requested_at);
    assert!(store.account(person).await.expect("read").is_none());
    assert!(store.account(other).await.expect("read").is_some());
    // Resumed after a crash past the commit: nothing left to do, and no error.
    assert!(
        !store
            .erase_account(request.id, person, request.requested_at, now())
            .await
            .expect("erase again")
    );
}

#[tokio::test]
async fn a_persons_anonymous_tickets_are_found_by_their_reply_index_and_deleted_alone() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let person = create_user(store, 1).await;
    let other = create_user(store, 2).await;
    // (sender's account, reply index, received seconds from now)
    let tickets = [
        (Some(person), None, 1),
        (None, Some([7u8; 32]), 2),
        (None, Some([8u8; 32]), 3),
        (Some(other), Some([7u8; 32]), 4),
    ];
    let mut ids = Vec::new();
    for (account, index, seconds) in tickets {
        let id = Uuid::new_v4();
        ids.push(id);
        store
            .insert_privacy_ticket(&PrivacyTicketRecord {
                id,
                account,
                email_sealed: index.map(|_| vec![1]),
                email_index: index.map(|index| index.to_vec()),
                subject_sealed: vec![2],
                message_sealed: vec![3],
                received_at: plus(now(), seconds),
                status: "OPEN".to_owned(),
            })
            .await
            .expect("stored");
    }
    let of = |reply: Option<[u8; 32]>| async move {
        store
            .privacy_tickets_of(person, reply.as_ref().map(|index| &index[..]))
            .await
            .expect("read")
            .into_iter()
            .map(|ticket| ticket.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        of(None).await,
        [ids[0]],
        "without the index: signed-in tickets only"
    );
    assert_eq!(
        of(Some([7; 32])).await,
        [ids[1], ids[0]],
        "the anonymous ticket from the address, newest first; not another account's"
    );

    assert_eq!(
        store
            .delete_anonymous_privacy_tickets(&[7; 32])
            .await
            .expect("deleted"),
        1
    );
    let left: Vec<Uuid> = store
        .privacy_tickets()
        .await
        .expect("list")
        .into_iter()
        .map(|ticket| ticket.id)
        .collect();
    assert_eq!(left, [ids[3], ids[2], ids[0]]);
}

#[tokio::test]
async fn the_windows_of_one_rate_limit_are_cleared_by_their_prefix_alone() {
    let db = TestDatabase::new().await;
    let store = db.store();
    for bucket in [
        "dpo:email:ab12:1800000000",
        "dpo:email:ab12:1800000900",
        "dpo:email:ab123:1800000000",
        "dpo:email:ab_2:1800000000",
        "dpo:email:cd34:1800000000",
    ] {
        store
            .reserve_attempt(bucket, None, now())
            .await
            .expect("bucket")
            .expect("reserved");
    }
    assert_eq!(
        store
            .clear_attempts_with_prefix("dpo:email:ab12:")
            .await
            .expect("cleared"),
        2
    );
    assert_eq!(
        store
            .clear_attempts_with_prefix("dpo:email:ab_")
            .await
            .expect("cleared"),
        1,
        "`_` is matched as itself"
    );
    for (bucket, kept) in [
        ("dpo:email:ab12:1800000000", false),
        ("dpo:email:ab123:1800000000", true),
        ("dpo:email:ab_2:1800000000", false),
        ("dpo:email:cd34:1800000000", true),
    ] {
        assert_eq!(
            store.attempt_state(bucket).await.expect("read").is_some(),
            kept,
            "{bucket}"
        );
    }
}

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use icecone_core::generation::{GenerationKind, GenerationStatus, RemoteCopy};
use icecone_core::provider::ProviderId;
use icecone_core::usage::Usage;
use icecone_store::Store;
use icecone_store::generations::{GenerationRecord, SealedMedia};
use icecone_store::jobs::{JobState, NewJob};
use icecone_store::testing::TestDatabase;
use uuid::Uuid;

use crate::support::{create_user, now, plus, second_store};

fn new_job(subject: &str, run_after: DateTime<Utc>) -> NewJob {
    NewJob {
        id: Uuid::new_v4(),
        kind: "test".to_owned(),
        account: None,
        subject: subject.to_owned(),
        step: "start".to_owned(),
        max_attempts: 3,
        run_after,
        deadline: Some(plus(run_after, 600)),
    }
}

#[tokio::test]
async fn a_due_job_is_claimed_with_a_lease_and_every_later_change_needs_that_lease() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let at = now();
    let due = new_job("due", at);
    let later = new_job("later", plus(at, 60));
    store.enqueue_job(&later, at).await.expect("queued");
    store.enqueue_job(&due, at).await.expect("queued");
    assert!(matches!(
        store.enqueue_job(&due, at).await,
        Err(icecone_store::StoreError::Duplicate)
    ));

    let claimed = store
        .claim_job("worker-a", at, plus(at, 30))
        .await
        .expect("claim")
        .expect("a due job");
    assert_eq!(claimed.id, due.id);
    assert_eq!(claimed.state, JobState::Running);
    assert_eq!(claimed.attempts, 1);
    assert_eq!(claimed.step, "start");
    assert_eq!(claimed.lease_owner.as_deref(), Some("worker-a"));
    assert_eq!(claimed.lease_expires_at, Some(plus(at, 30)));
    assert_eq!(claimed.deadline, Some(plus(at, 600)));
    assert!(
        store
            .claim_job("worker-b", plus(at, 1), plus(at, 31))
            .await
            .expect("claim")
            .is_none(),
        "the other job is not due and this one is leased"
    );

    // Another worker can change nothing.
    for changed in [
        store.advance_job_step(due.id, "worker-b", "next", at).await,
        store
            .extend_job_lease(due.id, "worker-b", plus(at, 90), at)
            .await,
        store.complete_job(due.id, "worker-b", "done", at).await,
        store.fail_job(due.id, "worker-b", "X", None, at).await,
        store
            .reschedule_job(due.id, "worker-b", "next", at, at)
            .await,
    ] {
        assert!(!changed.expect("statement runs"));
    }
    assert_eq!(
        store.job(due.id).await.expect("read"),
        Some(claimed.clone())
    );

    assert!(
        store
            .extend_job_lease(due.id, "worker-a", plus(at, 90), plus(at, 1))
            .await
            .expect("extended")
    );
    assert!(
        store
            .advance_job_step(due.id, "worker-a", "poll", plus(at, 2))
            .await
            .expect("advanced")
    );
    let job = store.job(due.id).await.expect("read").expect("job");
    assert_eq!(
        (job.step.as_str(), job.attempts, job.lease_expires_at),
        ("poll", 1, Some(plus(at, 90)))
    );

    // Rescheduled: queued again, lease released, attempts start over; due only later.
    assert!(
        store
            .reschedule_job(due.id, "worker-a", "poll", plus(at, 10), plus(at, 3))
            .await
            .expect("rescheduled")
    );
    let job = store.job(due.id).await.expect("read").expect("job");
    assert_eq!((job.state, job.attempts), (JobState::Queued, 0));
    assert_eq!((job.lease_owner, job.lease_expires_at), (None, None));
    assert!(
        store
            .claim_job("worker-b", plus(at, 9), plus(at, 40))
            .await
            .expect("claim")
            .is_none()
    );
    let again = store
        .claim_job("worker-b", plus(at, 10), plus(at, 40))
        .await
        .expect("claim")
        .expect("due again");
    assert_eq!((again.id, again.step.as_str()), (due.id, "poll"));

    // A failure with a retry queues it again, keeping the attempt and recording the code.
    assert!(
        store
            .fail_job(
                due.id,
                "worker-b",
                "PROVIDER_UNAVAILABLE",
                Some(plus(at, 20)),
                plus(at, 11)
            )
            .await
            .expect("failed")
    );
    let job = store.job(due.id).await.expect("read").expect("job");
    assert_eq!(job.state, JobState::Queued);
    assert_eq!(job.attempts, 1);
    assert_eq!(job.run_after, plus(at, 20));
    assert_eq!(job.last_error_code.as_deref(), Some("PROVIDER_UNAVAILABLE"));
    let third = store
        .claim_job("worker-c", plus(at, 20), plus(at, 50))
        .await
        .expect("claim")
        .expect("due");
    assert_eq!(third.attempts, 2);
    assert!(
        store
            .fail_job(due.id, "worker-c", "JOB_FAILED", None, plus(at, 21))
            .await
            .expect("failed")
    );
    let job = store.job(due.id).await.expect("read").expect("job");
    assert_eq!(job.state, JobState::Failed);
    assert!(job.state.is_final());
    assert!(
        !store
            .cancel_job(due.id, plus(at, 22))
            .await
            .expect("cancel"),
        "an ended job is not cancelled"
    );

    // The later job completes.
    let other = store
        .claim_job("worker-a", plus(at, 60), plus(at, 90))
        .await
        .expect("claim")
        .expect("due now");
    assert_eq!(other.id, later.id);
    assert!(
        store
            .complete_job(later.id, "worker-a", "done", plus(at, 61))
            .await
            .expect("completed")
    );
    let job = store.job(later.id).await.expect("read").expect("job");
    assert_eq!(
        (job.state, job.step.as_str()),
        (JobState::Succeeded, "done")
    );
    assert_eq!(job.updated_at, plus(at, 61));
    assert_eq!(
        store
            .jobs_for("test", "later")
            .await
            .expect("listed")
            .iter()
            .map(|job| job.id)
            .collect::<Vec<_>>(),
        [later.id]
    );
}

#[tokio::test]
async fn a_cancelled_job_is_never_claimed_and_its_worker_loses_the_lease() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let at = now();
    let queued = new_job("queued", at);
    let running = new_job("running", plus(at, 1));
    store.enqueue_job(&queued, at).await.expect("queued");
    store.enqueue_job(&running, at).await.expect("queued");
    assert!(store.cancel_job(queued.id, at).await.expect("cancelled"));
    let claimed = store
        .claim_job("worker", plus(at, 1), plus(at, 30))
        .await
        .expect("claim")
        .expect("the other job");
    assert_eq!(claimed.id, running.id);
    assert!(
        store
            .cancel_job(running.id, plus(at, 2))
            .await
            .expect("cancelled")
    );
    assert!(
        !store
            .complete_job(running.id, "worker", "done", plus(at, 3))
            .await
            .expect("statement runs"),
        "the worker's lease went with the cancellation"
    );
    for id in [queued.id, running.id] {
        let job = store.job(id).await.expect("read").expect("job");
        assert_eq!(job.state, JobState::Cancelled);
        assert_eq!(job.lease_owner, None);
    }
    assert!(
        store
            .claim_job("worker", plus(at, 3600), plus(at, 3630))
            .await
            .expect("claim")
            .is_none()
    );
}

#[tokio::test]
async fn a_held_job_waits_for_its_release_or_its_deadline_and_only_its_accounts_jobs_are_released()
{
    let db = TestDatabase::new().await;
    let store = db.store();
    let at = now();
    let alice = create_user(store, 1).await;
    let bob = create_user(store, 2).await;
    let mut jobs = Vec::new();
    // Due one second apart, so that each claim below takes the next.
    for (offset, account, deadline) in [
        (0, alice, None),
        (1, bob, None),
        (2, alice, Some(plus(at, 600))),
    ] {
        let job = NewJob {
            account: Some(account),
            deadline,
            ..new_job(&format!("{account}"), plus(at, offset))
        };
        store.enqueue_job(&job, at).await.expect("queued");
        jobs.push(job.id);
    }
    for (offset, id) in (0..).zip(&jobs) {
        let claimed = store
            .claim_job("worker", plus(at, offset), plus(at, 30))
            .await
            .expect("claim")
            .expect("due");
        assert_eq!(claimed.id, *id);
        assert!(
            !store
                .hold_job(*id, "another", "PROCESSING_RESTRICTED", plus(at, offset))
                .await
                .expect("statement runs"),
            "only under the lease"
        );
        assert!(
            store
                .hold_job(*id, "worker", "PROCESSING_RESTRICTED", plus(at, offset))
                .await
                .expect("held")
        );
        let held = store.job(*id).await.expect("read").expect("job");
        assert_eq!(held.state, JobState::Held);
        assert!(!held.state.is_final());
        assert_eq!(
            (
                held.attempts,
                held.lease_owner,
                held.last_error_code.as_deref()
            ),
            (0, None, Some("PROCESSING_RESTRICTED"))
        );
    }
    assert!(
        store
            .claim_job("worker", plus(at, 599), plus(at, 630))
            .await
            .expect("claim")
            .is_none(),
        "held jobs are not due"
    );
    // Past its deadline a held job is claimed once more, to fail.
    let expired = store
        .claim_job("worker", plus(at, 600), plus(at, 630))
        .await
        .expect("claim")
        .expect("the held job past its deadline");
    assert_eq!(expired.id, jobs[2]);
    assert!(
        store
            .fail_job(expired.id, "worker", "TIMEOUT", None, plus(at, 600))
            .await
            .expect("failed")
    );

    assert_eq!(
        store
            .release_held_jobs(alice, plus(at, 700))
            .await
            .expect("released"),
        1
    );
    let released = store.job(jobs[0]).await.expect("read").expect("job");
    assert_eq!(
        (released.state, released.run_after),
        (JobState::Queued, plus(at, 700))
    );
    assert_eq!(
        store.job(jobs[1]).await.expect("read").expect("job").state,
        JobState::Held,
        "another account's job stays held"
    );
    let claimed = store
        .claim_job("worker", plus(at, 700), plus(at, 730))
        .await
        .expect("claim")
        .expect("released");
    assert_eq!(claimed.id, jobs[0]);
    // Cancelling an account's jobs cancels its held ones too.
    assert_eq!(
        store
            .cancel_jobs_of_account(bob, plus(at, 701))
            .await
            .expect("cancelled"),
        1
    );
    assert_eq!(
        store.job(jobs[1]).await.expect("read").expect("job").state,
        JobState::Cancelled
    );
}

/// Claims jobs until none is due; returns their ids.
async fn claim_all(store: Store, owner: String, at: DateTime<Utc>) -> Vec<Uuid> {
    let mut ids = Vec::new();
    while let Some(job) = store
        .claim_job(&owner, at, plus(at, 60))
        .await
        .expect("claim")
    {
        assert_eq!(job.lease_owner.as_deref(), Some(owner.as_str()));
        ids.push(job.id);
    }
    ids
}

#[tokio::test]
async fn concurrent_claimers_take_each_job_once_while_its_lease_holds_and_take_over_expired_ones() {
    const JOBS: usize = 40;
    let db = TestDatabase::new().await;
    let store = db.store();
    let at = now();
    let mut queued = HashSet::new();
    for i in 0..JOBS {
        let job = new_job(
            &format!("job-{i}"),
            plus(at, -i64::try_from(i).expect("small")),
        );
        queued.insert(job.id);
        store.enqueue_job(&job, at).await.expect("queued");
    }
    // Two stores, as two gateway instances would have, four claimers on each.
    let other = second_store(&db).await;
    let mut claimers = Vec::new();
    for worker in 0..8 {
        let store = if worker % 2 == 0 {
            store.clone()
        } else {
            other.clone()
        };
        claimers.push(tokio::spawn(claim_all(
            store,
            format!("worker-{worker}"),
            at,
        )));
    }
    let mut claimed = Vec::new();
    for claimer in claimers {
        claimed.extend(claimer.await.expect("claimer"));
    }
    assert_eq!(claimed.len(), JOBS, "every job claimed once: {claimed:?}");
    assert_eq!(claimed.iter().copied().collect::<HashSet<_>>(), queued);

    // While the leases hold, nothing is claimed again.
    assert!(
        store
            .claim_job("late", plus(at, 59), plus(at, 120))
            .await
            .expect("claim")
            .is_none()
    );

    // Once they expired, concurrent claimers take each abandoned job over, once.
    let expired = plus(at, 60);
    let mut claimers = Vec::new();
    for worker in 0..8 {
        let store = if worker % 2 == 0 {
            store.clone()
        } else {
            other.clone()
        };
        claimers.push(tokio::spawn(claim_all(
            store,
            format!("takeover-{worker}"),
            expired,
        )));
    }
    let mut taken_over = Vec::new();
    for claimer in claimers {
        taken_over.extend(claimer.await.expect("claimer"));
    }
    assert_eq!(taken_over.len(), JOBS);
    assert_eq!(taken_over.iter().copied().collect::<HashSet<_>>(), queued);
    for id in &queued {
        let job = store.job(*id).await.expect("read").expect("job");
        assert_eq!(job.attempts, 2, "the lost run counts as an attempt");
        assert!(
            job.lease_owner
                .as_deref()
                .is_some_and(|owner| owner.starts_with("takeover-"))
        );
        // The first worker's lease is gone: it can no longer change the job.
        let first_owner = "worker-0";
        assert!(
            !store
                .complete_job(*id, first_owner, "done", expired)
                .await
                .expect("statement runs")
        );
    }
}

fn queued_video(account: Uuid, at: DateTime<Utc>) -> GenerationRecord {
    GenerationRecord {
        id: Uuid::new_v4(),
        account,
        kind: GenerationKind::Video,
        status: GenerationStatus::Queued,
        provider: ProviderId::parse("local").expect("provider id"),
        provider_job_id: None,
        prompt_sealed: vec![0xA1],
        text_sealed: None,
        media_type: None,
        error_code: None,
        duration_seconds: Some(2),
        usage: Usage {
            video_seconds: 2,
            ..Usage::default()
        },
        created_at: at,
        completed_at: None,
        remote_copy: None,
        redactions: None,
    }
}

#[tokio::test]
async fn a_queued_generation_is_stored_with_its_job_and_finished_or_ended_once() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let account = create_user(store, 1).await;
    let other = create_user(store, 2).await;
    let at = now();
    let record = queued_video(account, at);
    let mut job = new_job(&record.id.to_string(), at);
    job.account = Some(account);
    store
        .insert_generation_with_job(&record, Some(vec![0xB1, 2]), &job)
        .await
        .expect("stored");
    assert_eq!(
        store.job(job.id).await.expect("read").expect("job").account,
        Some(account)
    );
    assert_eq!(
        store
            .generation_input(account, record.id)
            .await
            .expect("input"),
        Some(vec![0xB1, 2])
    );
    assert_eq!(
        store
            .generation_input(other, record.id)
            .await
            .expect("input"),
        None
    );

    // A duplicate job id rolls the generation back with it.
    let second = queued_video(account, at);
    let mut duplicate = new_job("dup", at);
    duplicate.id = job.id;
    assert!(
        store
            .insert_generation_with_job(&second, None, &duplicate)
            .await
            .is_err()
    );
    assert_eq!(
        store.generation_of(account, second.id).await.expect("read"),
        None
    );

    assert!(
        !store
            .start_generation(other, record.id, Some("x"))
            .await
            .expect("someone else's")
    );
    assert!(
        store
            .start_generation(account, record.id, Some("provider-job-1"))
            .await
            .expect("started")
    );
    let running = store
        .generation_of(account, record.id)
        .await
        .expect("read")
        .expect("row");
    assert_eq!(running.status, GenerationStatus::Running);
    assert_eq!(running.provider_job_id.as_deref(), Some("provider-job-1"));

    let media = || SealedMedia {
        sealed: vec![0xC1, 3],
        media_type: "image/apng".to_owned(),
    };
    assert!(
        store
            .finish_generation_media(account, record.id, media(), plus(at, 5))
            .await
            .expect("finished")
    );
    assert!(
        !store
            .finish_generation_media(account, record.id, media(), plus(at, 6))
            .await
            .expect("once"),
        "a finished generation is not finished again"
    );
    assert!(
        !store
            .end_generation(
                account,
                record.id,
                GenerationStatus::Failed,
                "JOB_FAILED",
                plus(at, 6)
            )
            .await
            .expect("statement runs")
    );
    assert!(
        !store
            .delete_unfinished_generation(account, record.id)
            .await
            .expect("runs")
    );
    store
        .record_remote_copy(account, record.id, RemoteCopy::Deleted)
        .await
        .expect("recorded");
    let done = store
        .generation_of(account, record.id)
        .await
        .expect("read")
        .expect("row");
    assert_eq!(done.status, GenerationStatus::Succeeded);
    assert_eq!(done.completed_at, Some(plus(at, 5)));
    assert_eq!(done.remote_copy, Some(RemoteCopy::Deleted));
    assert_eq!(done.media_type.as_deref(), Some("image/apng"));
    assert_eq!(
        store
            .generation_input(account, record.id)
            .await
            .expect("input"),
        None,
        "the input is dropped once done"
    );

    // Another one fails once; a third, unfinished, is deleted as such.
    let failing = queued_video(account, at);
    let failing_job = new_job(&failing.id.to_string(), at);
    store
        .insert_generation_with_job(&failing, None, &failing_job)
        .await
        .expect("stored");
    assert!(
        store
            .end_generation(
                account,
                failing.id,
                GenerationStatus::Failed,
                "OUTPUT_GONE",
                plus(at, 7)
            )
            .await
            .expect("ended")
    );
    assert!(
        !store
            .end_generation(
                account,
                failing.id,
                GenerationStatus::Cancelled,
                "CANCELLED",
                plus(at, 8)
            )
            .await
            .expect("once")
    );
    let failed = store
        .generation_of(account, failing.id)
        .await
        .expect("read")
        .expect("row");
    assert_eq!(
        (failed.status, failed.error_code.as_deref()),
        (GenerationStatus::Failed, Some("OUTPUT_GONE"))
    );
    let pending = queued_video(account, at);
    let pending_job = new_job(&pending.id.to_string(), at);
    store
        .insert_generation_with_job(&pending, None, &pending_job)
        .await
        .expect("stored");
    assert!(
        !store
            .delete_unfinished_generation(other, pending.id)
            .await
            .expect("runs")
    );
    assert!(
        store
            .delete_unfinished_generation(account, pending.id)
            .await
            .expect("deleted")
    );
    assert_eq!(
        store
            .generation_of(account, pending.id)
            .await
            .expect("read"),
        None
    );
}

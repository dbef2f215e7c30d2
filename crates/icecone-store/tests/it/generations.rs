use icecone_core::analytics::EventKind;
use icecone_core::generation::{GenerationKind, GenerationStatus};
use icecone_core::provider::ProviderId;
use icecone_core::usage::{Period, Usage};
use icecone_store::accounts::AccountKind;
use icecone_store::analytics::AnalyticsEvent;
use icecone_store::generations::{GenerationPosition, GenerationRecord, PURGE_BATCH};
use icecone_store::testing::TestDatabase;
use icecone_store::{Metering, StoreError};
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::support::{create_user, new_account, now, plus, store_account};

/// A generation to store and its sealed media (for images and videos).
fn new_generation(
    account: Uuid,
    kind: GenerationKind,
    created_at: chrono::DateTime<chrono::Utc>,
) -> (GenerationRecord, Option<Vec<u8>>) {
    let media = kind != GenerationKind::Text;
    let video = kind == GenerationKind::Video;
    let record = GenerationRecord {
        id: Uuid::new_v4(),
        account,
        kind,
        status: GenerationStatus::Succeeded,
        provider: ProviderId::parse("local").expect("provider id"),
        provider_job_id: None,
        prompt_sealed: vec![0xA1, 1],
        text_sealed: (!media).then(|| vec![0xA2, 2]),
        media_type: media.then(|| if video { "video/mp4" } else { "image/png" }.to_owned()),
        error_code: None,
        duration_seconds: video.then_some(VIDEO_SECONDS),
        usage: Usage {
            tokens: if media { 0 } else { 12 },
            images: u64::from(kind == GenerationKind::Image),
            video_seconds: if video { u64::from(VIDEO_SECONDS) } else { 0 },
        },
        created_at,
        completed_at: Some(created_at),
        remote_copy: None,
        redactions: None,
    };
    (record, media.then(|| vec![0xA3, 3, 3]))
}

/// How long the videos of [`new_generation`] were asked to be.
const VIDEO_SECONDS: u32 = 4;

/// Stores generations; returns their records.
async fn insert(
    store: &icecone_store::Store,
    generations: Vec<(GenerationRecord, Option<Vec<u8>>)>,
) -> Vec<GenerationRecord> {
    let mut records = Vec::new();
    for (record, media) in generations {
        store
            .insert_generation(&record, media)
            .await
            .expect("stored");
        records.push(record);
    }
    records
}

#[tokio::test]
async fn a_stored_provider_id_is_parsed_once_as_the_row_is_read() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let owner = create_user(store, 1).await;
    let [record] = <[GenerationRecord; 1]>::try_from(
        insert(
            store,
            vec![new_generation(owner, GenerationKind::Text, now())],
        )
        .await,
    )
    .expect("one");
    // The only row: how each database stores a UUID does not matter.
    db.execute("UPDATE generations SET provider = 'Not A Provider'")
        .await;
    assert!(matches!(
        store.generation_of(owner, record.id).await,
        Err(StoreError::OutOfRange("provider id"))
    ));
}

#[tokio::test]
async fn generations_are_read_listed_and_deleted_by_their_owner_only() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let owner = create_user(store, 1).await;
    let other = create_user(store, 2).await;
    let at = now();
    let [text, image, theirs] = <[GenerationRecord; 3]>::try_from(
        insert(
            store,
            vec![
                new_generation(owner, GenerationKind::Text, at),
                new_generation(owner, GenerationKind::Image, plus(at, 1)),
                new_generation(other, GenerationKind::Text, plus(at, 2)),
            ],
        )
        .await,
    )
    .expect("three");
    assert!(matches!(
        store.insert_generation(&text, None).await,
        Err(StoreError::Duplicate)
    ));

    let read = store
        .generation_of(owner, text.id)
        .await
        .expect("read")
        .expect("the owner's");
    assert_eq!(
        (read.kind, read.status, read.provider.as_str()),
        (GenerationKind::Text, GenerationStatus::Succeeded, "local")
    );
    assert_eq!(read, text, "read back as stored");
    assert_eq!(
        store.generation_of(owner, theirs.id).await.expect("read"),
        None,
        "someone else's generation reads as missing"
    );
    assert_eq!(
        store
            .generation_of(owner, Uuid::new_v4())
            .await
            .expect("read"),
        None
    );

    let media = store
        .generation_media(owner, image.id)
        .await
        .expect("read")
        .expect("media");
    assert_eq!(
        (media.sealed, media.media_type.as_str()),
        (vec![0xA3, 3, 3], "image/png")
    );
    assert_eq!(
        store.generation_media(other, image.id).await.expect("read"),
        None
    );
    assert_eq!(
        store.generation_media(owner, text.id).await.expect("read"),
        None,
        "text has no media"
    );

    let page = store.generations_page(owner, None, 10).await.expect("page");
    assert_eq!(
        page.iter().map(|g| g.id).collect::<Vec<_>>(),
        [image.id, text.id],
        "newest first, the owner's only"
    );
    let first = store.generations_page(owner, None, 1).await.expect("page");
    let position = GenerationPosition {
        created_at: first[0].created_at,
        id: first[0].id,
    };
    let rest = store
        .generations_page(owner, Some(position), 10)
        .await
        .expect("page");
    assert_eq!(rest.iter().map(|g| g.id).collect::<Vec<_>>(), [text.id]);

    assert!(
        !store
            .delete_generation(other, text.id)
            .await
            .expect("delete")
    );
    assert!(
        store
            .delete_generation(owner, image.id)
            .await
            .expect("delete")
    );
    assert!(
        !store
            .delete_generation(owner, image.id)
            .await
            .expect("again")
    );
    assert_eq!(
        store.generation_media(owner, image.id).await.expect("read"),
        None
    );
    assert_eq!(db.count("generations").await, 2);
}

#[tokio::test]
async fn ties_in_creation_time_page_by_id_without_gaps_or_repeats() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let owner = create_user(store, 1).await;
    let at = now();
    let mut ids = Vec::new();
    for _ in 0..5 {
        let generation = new_generation(owner, GenerationKind::Text, at);
        ids.push(generation.0.id);
        insert(store, vec![generation]).await;
    }
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store.generations_page(owner, after, 2).await.expect("page");
        let Some(last) = page.last() else { break };
        after = Some(GenerationPosition {
            created_at: last.created_at,
            id: last.id,
        });
        seen.extend(page.iter().map(|g| g.id));
    }
    ids.sort_unstable();
    ids.reverse();
    assert_eq!(seen, ids);
}

#[tokio::test]
async fn the_purge_deletes_every_accounts_generations_older_than_the_cutoff_only() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let first = create_user(store, 1).await;
    let second = create_user(store, 2).await;
    let at = now();
    let stored = insert(
        store,
        vec![
            new_generation(first, GenerationKind::Image, plus(at, -100)),
            new_generation(second, GenerationKind::Text, plus(at, -50)),
            new_generation(first, GenerationKind::Text, at),
        ],
    )
    .await;
    let young = &stored[2];
    assert_eq!(
        store
            .purge_generations_before(plus(at, -10))
            .await
            .expect("purged"),
        2
    );
    assert_eq!(db.count("generations").await, 1);
    assert!(
        store
            .generation_of(first, young.id)
            .await
            .expect("read")
            .is_some()
    );
    assert_eq!(
        store
            .purge_generations_before(plus(at, -10))
            .await
            .expect("again"),
        0
    );
}

#[tokio::test]
async fn rekeying_generations_by_account_keeps_every_generation_both_ways() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let first = create_user(store, 1).await;
    let second = create_user(store, 2).await;
    let at = now();
    let generations = vec![
        new_generation(first, GenerationKind::Text, at),
        new_generation(first, GenerationKind::Image, plus(at, 1)),
        new_generation(second, GenerationKind::Video, plus(at, 2)),
    ];
    let media: Vec<Option<Vec<u8>>> = generations.iter().map(|(_, m)| m.clone()).collect();
    let stored = insert(store, generations).await;
    // Records are read through the newest schema, so only with every migration applied;
    // the media and the count are read at any point.
    let (stored, media, db) = (&stored, &media, &db);
    let all_there = |records: bool| async move {
        for (record, media) in stored.iter().zip(media) {
            if records {
                let read = store
                    .generation_of(record.account, record.id)
                    .await
                    .expect("read")
                    .expect("kept");
                assert_eq!(&read, record);
            }
            let read_media = store
                .generation_media(record.account, record.id)
                .await
                .expect("read media")
                .map(|m| m.sealed);
            assert_eq!(&read_media, media);
        }
        assert_eq!(db.count("generations").await, 3);
    };

    // Back to the key on the id alone (the table rebuilt on SQLite) — past the migrations
    // that came later — and forward again.
    const REKEYING: &str = "m20261129_000014_generations_by_account";
    while !store
        .pending_migrations()
        .await
        .expect("pending")
        .iter()
        .any(|name| name == REKEYING)
    {
        store.migrate_down(1).await.expect("down one");
    }
    assert_eq!(
        store.pending_migrations().await.expect("pending")[0],
        REKEYING
    );
    all_there(false).await;
    store.migrate().await.expect("up again");
    all_there(true).await;
    assert_eq!(
        store
            .generations_page(first, None, 10)
            .await
            .expect("page")
            .len(),
        2
    );
}

#[tokio::test]
async fn videos_stored_before_their_duration_was_a_parameter_get_it_from_their_usage() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let account = create_user(store, 1).await;
    let at = now();
    let (mut queued, _) = new_generation(account, GenerationKind::Video, at);
    queued.status = GenerationStatus::Queued;
    queued.media_type = None;
    queued.completed_at = None;
    queued.duration_seconds = Some(9);
    queued.usage.video_seconds = 9;
    let stored = insert(
        store,
        vec![
            (queued, None),
            new_generation(account, GenerationKind::Text, plus(at, 1)),
            new_generation(account, GenerationKind::Image, plus(at, 2)),
        ],
    )
    .await;

    const PARAMETERS: &str = "m20261207_000017_generation_parameters";
    while !store
        .pending_migrations()
        .await
        .expect("pending")
        .iter()
        .any(|name| name == PARAMETERS)
    {
        store.migrate_down(1).await.expect("down one");
    }
    store.migrate().await.expect("up again");

    let mut durations = Vec::new();
    for record in &stored {
        let read = store
            .generation_of(account, record.id)
            .await
            .expect("read")
            .expect("kept");
        assert_eq!(&read, record, "{:?}", record.kind);
        durations.push(read.duration_seconds);
    }
    assert_eq!(durations, [Some(9), None, None], "the video's, then none");
}

#[tokio::test]
async fn the_purge_walks_every_batch_of_accounts() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let at = now();
    let accounts = usize::try_from(PURGE_BATCH).expect("a small batch") + 2;
    let mut young = Vec::new();
    for n in 0..accounts {
        let mut account = new_account(0, AccountKind::User);
        let index = u16::try_from(n)
            .expect("a few hundred accounts")
            .to_be_bytes();
        account.email_index[..2].copy_from_slice(&index);
        let id = store_account(store, account, index.to_vec()).await;
        let old = new_generation(id, GenerationKind::Text, plus(at, -100));
        let kept = new_generation(id, GenerationKind::Text, at);
        young.extend(insert(store, vec![old, kept]).await.into_iter().skip(1));
    }
    assert_eq!(
        store
            .purge_generations_before(plus(at, -10))
            .await
            .expect("purged"),
        u64::try_from(accounts).expect("a count"),
        "one old generation of every account, in every batch"
    );
    assert_eq!(
        db.count("generations").await,
        i64::try_from(accounts).expect("a count")
    );
    for record in &young {
        assert!(
            store
                .generation_of(record.account, record.id)
                .await
                .expect("read")
                .is_some()
        );
    }
}

#[tokio::test]
async fn generations_and_analytics_events_written_together_are_stored_and_a_duplicate_fails_alone()
{
    let db = TestDatabase::new().await;
    let store = db.store();
    let first = create_user(store, 1).await;
    let second = create_user(store, 2).await;
    let at = now();
    let period = Period::of(at.date_naive());
    let (taken, _) = new_generation(second, GenerationKind::Text, at);
    store.insert_generation(&taken, None).await.expect("stored");

    // Forty writes at once, on one runtime thread: the first takes the gate, the others
    // queue behind it and are committed together; one of them reuses an id its account
    // already has. Beside each, a capture of two analytics events rides the same batches.
    const DUPLICATE: i64 = 17;
    let mut writes = JoinSet::new();
    let mut captures = JoinSet::new();
    for n in 0..40_i64 {
        let store_events = store.clone();
        let pseudonym = [u8::try_from(n).expect("small"); 32];
        captures.spawn(async move {
            let events: Vec<AnalyticsEvent> = [
                EventKind::GenerationRequested,
                EventKind::GenerationSucceeded,
            ]
            .into_iter()
            .map(|kind| AnalyticsEvent {
                day: at.date_naive(),
                hour: 0,
                pseudonym,
                kind,
                generation: Some(GenerationKind::Text),
                provider: None,
                latency_ms: None,
                right: None,
            })
            .collect();
            store_events.record_analytics_events(&events).await
        });
        let store = store.clone();
        let account = if n % 2 == 0 { first } else { second };
        let (mut record, media) = new_generation(account, GenerationKind::Text, plus(at, n));
        if n == DUPLICATE {
            record.id = taken.id;
        }
        let metering = Metering {
            period: period.clone(),
            usage: Usage {
                tokens: 10,
                images: 0,
                video_seconds: 1,
            },
            at,
        };
        writes.spawn(async move {
            let outcome = store
                .insert_generation_metered(&record, media, metering)
                .await;
            (n, record, outcome)
        });
    }
    for (n, record, outcome) in writes.join_all().await {
        if n == DUPLICATE {
            assert!(matches!(outcome, Err(StoreError::Duplicate)), "{outcome:?}");
            let kept = store
                .generation_of(second, taken.id)
                .await
                .expect("read")
                .expect("the first row stays");
            assert_eq!(kept, taken, "the duplicate overwrote nothing");
        } else {
            outcome.expect("stored");
            let stored = store
                .generation_of(record.account, record.id)
                .await
                .expect("read")
                .expect("stored");
            assert_eq!(stored, record);
        }
    }
    // Every capture was stored, the one beside the duplicate too.
    for outcome in captures.join_all().await {
        outcome.expect("captured");
    }
    for n in 0..40_u8 {
        assert_eq!(
            store
                .count_analytics_events_of(at.date_naive(), &[n; 32])
                .await
                .expect("count"),
            2
        );
    }
    // Twenty writes each; the duplicate (an odd one, the second account's) is not metered.
    for (account, writes) in [(first, 20), (second, 19)] {
        let expected = Usage {
            tokens: 10 * writes,
            images: 0,
            video_seconds: writes,
        };
        assert_eq!(store.usage(account, &period).await.expect("read"), expected);
        assert_eq!(
            store.usage_cached(account, &period).await.expect("read"),
            expected,
            "the read cache follows committed metering"
        );
    }
}

#[tokio::test]
async fn what_minimisation_withheld_is_stored_with_a_generation_and_recorded_until_it_ends() {
    use icecone_core::minimise::Redactions;

    let db = TestDatabase::new().await;
    let store = db.store();
    let owner = create_user(store, 1).await;
    let withheld = Redactions::parse("EMAIL:2,PHONE:1").expect("redactions");
    let (mut sent_minimised, _) = new_generation(owner, GenerationKind::Text, now());
    sent_minimised.redactions = Some(Redactions::default());
    let (mut queued, _) = new_generation(owner, GenerationKind::Text, now());
    queued.status = GenerationStatus::Queued;
    queued.redactions = Some(withheld.clone());
    let (as_written, _) = new_generation(owner, GenerationKind::Text, now());
    insert(
        store,
        vec![
            (sent_minimised.clone(), None),
            (queued.clone(), None),
            (as_written.clone(), None),
        ],
    )
    .await;
    let read = |id| async move {
        store
            .generation_of(owner, id)
            .await
            .expect("read")
            .expect("found")
            .redactions
    };
    // Minimised with nothing found, minimised with findings, and sent as written differ.
    assert_eq!(read(sent_minimised.id).await, Some(Redactions::default()));
    assert_eq!(read(queued.id).await, Some(withheld));
    assert_eq!(read(as_written.id).await, None);

    // A queued generation's redactions are recorded again when it is submitted; an ended
    // one's stay as they were.
    let fewer = Redactions::parse("EMAIL:1").expect("redactions");
    assert!(
        store
            .record_redactions(owner, queued.id, &fewer)
            .await
            .expect("recorded")
    );
    assert_eq!(read(queued.id).await, Some(fewer.clone()));
    assert!(
        !store
            .record_redactions(owner, sent_minimised.id, &fewer)
            .await
            .expect("recorded")
    );
    assert_eq!(read(sent_minimised.id).await, Some(Redactions::default()));

    // A value that is no list of redactions is refused as it is read.
    // (The only row without redactions: how each database stores a UUID does not matter.)
    db.execute("UPDATE generations SET redactions = 'EMAIL:x' WHERE redactions IS NULL")
        .await;
    assert!(matches!(
        store.generation_of(owner, as_written.id).await,
        Err(StoreError::OutOfRange(_))
    ));
}

#[tokio::test]
async fn prompt_minimisation_is_on_for_a_new_account_and_the_person_may_turn_it_off() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let owner = create_user(store, 1).await;
    let account = |id| async move { store.account(id).await.expect("read").expect("found") };
    assert!(account(owner).await.minimize_prompts);
    assert!(
        store
            .set_minimize_prompts(owner, false, now())
            .await
            .expect("set")
    );
    assert!(!account(owner).await.minimize_prompts);
    assert!(
        store
            .set_minimize_prompts(owner, true, now())
            .await
            .expect("set")
    );
    assert!(account(owner).await.minimize_prompts);
    assert!(
        !store
            .set_minimize_prompts(Uuid::new_v4(), false, now())
            .await
            .expect("set")
    );
}

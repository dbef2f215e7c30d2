//! Analytics: a day aggregated once (of two claimants, one; a lost lease writes nothing),
//! its cells written with its raw events deleted and its key cleared in one transaction,
//! raw events never older than 48 hours, a person's events found by their pseudonym, and
//! ratings tallied per person without the person.

use chrono::{NaiveDate, TimeDelta, Timelike};
use icecone_core::analytics::ranking::Rating;
use icecone_core::analytics::{Dimension, EventKind, Metric};
use icecone_core::generation::GenerationKind;
use icecone_store::analytics::{AnalyticsCellRow, AnalyticsEvent, GenerationRating, RatingTally};
use icecone_store::testing::TestDatabase;
use uuid::Uuid;

use crate::support::{create_user, now};

fn event(day: NaiveDate, hour: u8, pseudonym: u8) -> AnalyticsEvent {
    AnalyticsEvent {
        day,
        hour,
        pseudonym: [pseudonym; 32],
        kind: EventKind::GenerationSucceeded,
        generation: Some(GenerationKind::Text),
        provider: Some("local".to_owned()),
        latency_ms: Some(120),
        right: None,
    }
}

fn cell(day: NaiveDate) -> AnalyticsCellRow {
    AnalyticsCellRow {
        day,
        metric: Metric::GenerationsSucceeded,
        grouping: vec![Dimension::Kind, Dimension::Provider],
        coordinates: vec!["TEXT".to_owned(), "local".to_owned()],
        people: Some(12),
        value: Some(30.0),
    }
}

#[tokio::test]
async fn a_day_is_aggregated_once_by_the_instance_holding_its_lease() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let start = now();
    let day = start.date_naive() - TimeDelta::days(1);
    store
        .insert_analytics_day(day, vec![1, 2, 3], start)
        .await
        .expect("day");
    assert!(matches!(
        store.insert_analytics_day(day, vec![4], start).await,
        Err(icecone_store::StoreError::Duplicate)
    ));
    let events: Vec<AnalyticsEvent> = (0..3).map(|p| event(day, 10, p)).collect();
    store
        .record_analytics_events(&events)
        .await
        .expect("events");
    assert_eq!(
        store
            .analytics_days_due(start.date_naive())
            .await
            .expect("due"),
        [day]
    );

    let lease = start + TimeDelta::minutes(10);
    assert!(
        store
            .claim_analytics_day(day, start, lease)
            .await
            .expect("claim")
    );
    // A second instance finds it taken while the lease runs.
    let other = start + TimeDelta::minutes(11);
    assert!(
        !store
            .claim_analytics_day(day, start, other)
            .await
            .expect("claim")
    );
    // A writer that lost its lease writes nothing.
    assert!(
        !store
            .finish_analytics_day(day, other, &[cell(day)], start)
            .await
            .expect("finish")
    );
    assert_eq!(
        store
            .analytics_events_of_day(day)
            .await
            .expect("read")
            .len(),
        3
    );

    assert!(
        store
            .finish_analytics_day(day, lease, &[cell(day)], start)
            .await
            .expect("finish")
    );
    let stored = store.analytics_day(day).await.expect("read").expect("day");
    assert_eq!(stored.key_sealed, None, "the day's key is destroyed");
    assert!(stored.aggregated_at.is_some());
    assert!(
        store
            .analytics_events_of_day(day)
            .await
            .expect("read")
            .is_empty()
    );
    assert!(store.live_analytics_days().await.expect("live").is_empty());
    assert_eq!(
        store
            .analytics_cells(
                Metric::GenerationsSucceeded,
                &[Dimension::Kind, Dimension::Provider],
                day,
                day
            )
            .await
            .expect("cells"),
        [cell(day)]
    );
    // Done: not due, not claimable, not written twice.
    assert!(
        store
            .analytics_days_due(start.date_naive())
            .await
            .expect("due")
            .is_empty()
    );
    assert!(
        !store
            .claim_analytics_day(
                day,
                start + TimeDelta::hours(1),
                start + TimeDelta::hours(2)
            )
            .await
            .expect("claim")
    );
    assert!(
        !store
            .finish_analytics_day(day, lease, &[cell(day)], start)
            .await
            .expect("finish")
    );
}

#[tokio::test]
async fn a_lease_that_ran_out_may_be_claimed_again() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let start = now();
    let day = start.date_naive() - TimeDelta::days(1);
    store
        .insert_analytics_day(day, vec![1], start)
        .await
        .expect("day");
    let first = start + TimeDelta::minutes(10);
    assert!(
        store
            .claim_analytics_day(day, start, first)
            .await
            .expect("claim")
    );
    let later = first + TimeDelta::seconds(1);
    let second = later + TimeDelta::minutes(10);
    assert!(
        store
            .claim_analytics_day(day, later, second)
            .await
            .expect("claim")
    );
    assert!(
        !store
            .finish_analytics_day(day, first, &[], later)
            .await
            .expect("finish")
    );
    assert!(
        store
            .finish_analytics_day(day, second, &[], later)
            .await
            .expect("finish")
    );
}

#[tokio::test]
async fn a_persons_events_are_found_and_deleted_by_their_pseudonym_alone() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let day = now().date_naive();
    let events = [event(day, 9, 1), event(day, 10, 1), event(day, 10, 2)];
    store
        .record_analytics_events(&events)
        .await
        .expect("events");
    assert_eq!(
        store
            .count_analytics_events_of(day, &[1; 32])
            .await
            .expect("count"),
        2
    );
    assert_eq!(
        store
            .delete_analytics_events_of(day, &[1; 32])
            .await
            .expect("delete"),
        2
    );
    assert_eq!(
        store
            .count_analytics_events_of(day, &[1; 32])
            .await
            .expect("count"),
        0
    );
    assert_eq!(
        store
            .count_analytics_events_of(day, &[2; 32])
            .await
            .expect("count"),
        1
    );
}

#[tokio::test]
async fn no_raw_event_outlives_48_hours_and_old_days_lose_their_key() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let at = now();
    let cutoff = at - TimeDelta::hours(48);
    let old_day = cutoff.date_naive() - TimeDelta::days(1);
    let hour = u8::try_from(cutoff.hour()).expect("hour");
    store
        .insert_analytics_day(old_day, vec![1], at)
        .await
        .expect("day");
    store
        .insert_analytics_day(at.date_naive(), vec![2], at)
        .await
        .expect("day");
    let mut events = vec![event(old_day, 23, 1), event(at.date_naive(), 0, 2)];
    if hour > 0 {
        events.push(event(cutoff.date_naive(), hour - 1, 3));
    }
    events.push(event(cutoff.date_naive(), hour, 4));
    store
        .record_analytics_events(&events)
        .await
        .expect("events");
    let purged = store
        .purge_stale_analytics_events(cutoff)
        .await
        .expect("purge");
    assert_eq!(purged, if hour > 0 { 2 } else { 1 });
    assert_eq!(
        store
            .count_analytics_events_of(cutoff.date_naive(), &[4; 32])
            .await
            .expect("count"),
        1
    );
    assert_eq!(
        store
            .count_analytics_events_of(at.date_naive(), &[2; 32])
            .await
            .expect("count"),
        1
    );
    let old = store
        .analytics_day(old_day)
        .await
        .expect("read")
        .expect("day");
    assert_eq!(old.key_sealed, None);
    let today = store
        .analytics_day(at.date_naive())
        .await
        .expect("read")
        .expect("day");
    assert!(today.key_sealed.is_some());
    // Repeating finds nothing more.
    assert_eq!(
        store
            .purge_stale_analytics_events(cutoff)
            .await
            .expect("purge"),
        0
    );
}

#[tokio::test]
async fn ratings_are_tallied_per_person_kind_and_provider_without_the_person() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let one = create_user(store, 1).await;
    let two = create_user(store, 2).await;
    let rate = |generation: Uuid, rating: Rating| GenerationRating {
        generation,
        kind: GenerationKind::Text,
        provider: "local".to_owned(),
        rating,
        rated_at: now(),
    };
    let first = Uuid::new_v4();
    store
        .rate_generation(one, &rate(first, Rating::Bad))
        .await
        .expect("rate");
    // A second rating of the same generation replaces the first.
    store
        .rate_generation(one, &rate(first, Rating::Good))
        .await
        .expect("rate");
    store
        .rate_generation(one, &rate(Uuid::new_v4(), Rating::Good))
        .await
        .expect("rate");
    store
        .rate_generation(two, &rate(Uuid::new_v4(), Rating::Bad))
        .await
        .expect("rate");
    let mut tallies = store.rating_tallies().await.expect("tallies");
    tallies.sort_by_key(|tally| tally.good);
    let tally = |good, bad| RatingTally {
        kind: GenerationKind::Text,
        provider: "local".to_owned(),
        good,
        bad,
    };
    assert_eq!(tallies, [tally(0, 1), tally(2, 0)]);
    assert_eq!(store.ratings_of(one).await.expect("read").len(), 2);
    assert_eq!(store.delete_ratings_of(one).await.expect("delete"), 2);
    assert_eq!(
        store.rating_tallies().await.expect("tallies"),
        [tally(0, 1)]
    );
}

//! Anonymised analytics and ratings through the gateway: capture follows the `ANALYTICS`
//! consent and stops at once (a video's end is counted when its job ends), aggregation
//! leaves nothing that ties an aggregate or a row to a person, staff read aggregates only
//! (ANALYST, ADMIN, with MFA), and `rateGeneration` needs `IMPROVEMENT` and one's own
//! generation.

use std::sync::Arc;

use chrono::{NaiveDate, TimeDelta, Utc};
use icecone_app::analytics::{self, Analytics};
use icecone_app::providers::router::SharedRanking;
use icecone_app::settings::AnalyticsConfig;
use icecone_core::analytics::aggregate::NONE;
use icecone_core::analytics::{Dimension, EventKind, LatencyBucket, Metric, MinGroup};
use icecone_core::consent::policy::PolicyHistory;
use icecone_core::generation::GenerationKind;
use icecone_core::identity::roles::StaffRole;
use icecone_store::Store;
use serde_json::json;

use crate::jobs::wait_for_generation;
use crate::support::app::{FRESH, Person, TestApp, code};

/// The smallest group these tests publish.
const K: u32 = 3;

async fn app() -> TestApp {
    TestApp::spawn_with(|settings| settings.analytics_min_group = K).await
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

async fn generate_text(app: &TestApp, person: &Person) -> String {
    let body = person
        .graphql(
            app,
            "mutation { generateText(input: { prompt: \"a short poem\" }) { id } }",
            json!({}),
        )
        .await;
    body["data"]["generateText"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("generated: {body}"))
        .to_owned()
}

async fn generate_image(app: &TestApp, person: &Person) {
    let body = person
        .graphql(
            app,
            "mutation { generateImage(input: { prompt: \"a red square\" }) { id } }",
            json!({}),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
}

async fn events_today(store: &Store) -> usize {
    store
        .analytics_events_of_day(today())
        .await
        .expect("read")
        .len()
}

async fn consenting(app: &TestApp, email: &str, purpose: &str) -> Person {
    let person = app.person(email).await;
    let given = app.set_consent(&person.access_token, purpose, true).await;
    assert!(given["errors"].is_null(), "{given}");
    person
}

/// The analytics service over the gateway's database, as the hourly task runs it.
async fn service(app: &TestApp) -> Analytics {
    let (vault, _) = app.keys().await;
    Analytics::new(
        app.db.store().clone(),
        Arc::new(vault),
        PolicyHistory::published(),
        AnalyticsConfig {
            min_group: MinGroup::new(K).expect("k"),
            ..AnalyticsConfig::default()
        },
    )
}

#[tokio::test]
async fn capture_follows_the_analytics_consent_and_stops_at_once() {
    let app = app().await;
    let store = app.db.store();
    let other = consenting(&app, "other@example.com", "ANALYTICS").await;
    generate_text(&app, &other).await;
    assert_eq!(events_today(store).await, 2, "asked for, and succeeded");

    // Without consent nothing is counted.
    let person = app.person("counted@example.com").await;
    generate_text(&app, &person).await;
    assert_eq!(events_today(store).await, 2);
    // With it, each request is counted.
    app.set_consent(&person.access_token, "ANALYTICS", true)
        .await;
    generate_text(&app, &person).await;
    assert_eq!(events_today(store).await, 4);

    // Withdrawal stops capture at once and deletes the person's events of the day — only
    // theirs.
    app.set_consent(&person.access_token, "ANALYTICS", false)
        .await;
    assert_eq!(events_today(store).await, 2);
    generate_text(&app, &person).await;
    assert_eq!(events_today(store).await, 2);

    // Objection does the same.
    app.set_consent(&person.access_token, "ANALYTICS", true)
        .await;
    generate_text(&app, &person).await;
    assert_eq!(events_today(store).await, 4);
    let objected = person
        .graphql(
            &app,
            "mutation { objectToProcessing(purpose: ANALYTICS) { granted } }",
            json!({}),
        )
        .await;
    assert!(objected["errors"].is_null(), "{objected}");
    // The objection is itself a right exercised: not counted for an objector.
    assert_eq!(events_today(store).await, 2);

    // So does restriction, and nothing is counted while it lasts.
    let restricted = consenting(&app, "restricted@example.com", "ANALYTICS").await;
    generate_text(&app, &restricted).await;
    assert_eq!(events_today(store).await, 4);
    let answer = restricted
        .graphql(
            &app,
            "mutation { restrictProcessing(restricted: true) { processingRestricted } }",
            json!({}),
        )
        .await;
    assert!(answer["errors"].is_null(), "{answer}");
    assert_eq!(events_today(store).await, 2);

    // Nothing of a prompt, an output or a time finer than the hour is kept.
    for event in store.analytics_events_of_day(today()).await.expect("read") {
        assert!(event.hour < 24);
        assert_eq!(event.generation, Some(GenerationKind::Text));
        assert!(event.provider.is_none() || event.provider.as_deref() == Some("local"));
    }
}

/// Asks for a video for `person` and waits until it is `status`; returns how the day's
/// events read once its job has ended: (what happened, provider, whether a latency is
/// kept), the requests first.
async fn video_events(
    app: &TestApp,
    person: &Person,
    status: &str,
) -> Vec<(EventKind, Option<String>, bool)> {
    let body = person
        .graphql(
            app,
            "mutation { generateVideo(input: { prompt: \"a slow wave\", durationSeconds: 2 }) { id } }",
            json!({}),
        )
        .await;
    let id = body["data"]["generateVideo"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("queued: {body}"))
        .to_owned();
    wait_for_generation(
        &app.client,
        &app.url("/graphql"),
        &person.access_token,
        &id,
        30,
        |generation| generation["status"] == status,
    )
    .await;
    let store = app.db.store();
    // The job records its end just after the generation's; then nothing more is counted.
    for _ in 0..200 {
        let jobs = store
            .jobs_for(icecone_app::generation::video::KIND, &id)
            .await
            .expect("jobs");
        if jobs.iter().all(|job| job.state.is_final()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let mut events: Vec<_> = store
        .analytics_events_of_day(today())
        .await
        .expect("read")
        .into_iter()
        .inspect(|event| assert_eq!(event.generation, Some(GenerationKind::Video)))
        .map(|event| (event.kind, event.provider, event.latency_ms.is_some()))
        .collect();
    events.sort_by_key(|(kind, ..)| *kind != EventKind::GenerationRequested);
    events
}

#[tokio::test]
async fn a_videos_end_is_counted_once_when_its_job_ends_succeeded_or_failed() {
    // Succeeded: the request when it was accepted, the success (with its provider and
    // latency) when the job stored the output.
    let app = app().await;
    let person = consenting(&app, "video@example.com", "ANALYTICS").await;
    assert_eq!(
        video_events(&app, &person, "SUCCEEDED").await,
        [
            (EventKind::GenerationRequested, None, false),
            (
                EventKind::GenerationSucceeded,
                Some("local".to_owned()),
                true
            ),
        ]
    );
    // Without consent, neither is counted.
    let other = app.person("uncounted@example.com").await;
    assert_eq!(video_events(&app, &other, "SUCCEEDED").await.len(), 2);

    // Failed past its deadline: the failure, with the provider that was tried.
    let app = TestApp::spawn_with(|settings| {
        settings.analytics_min_group = K;
        settings.job_poll_interval_ms = 100;
        settings.local_video_delay = "10m".to_owned();
        settings.video_job_deadline = "1s".to_owned();
    })
    .await;
    let person = consenting(&app, "slow@example.com", "ANALYTICS").await;
    assert_eq!(
        video_events(&app, &person, "FAILED").await,
        [
            (EventKind::GenerationRequested, None, false),
            (EventKind::GenerationFailed, Some("local".to_owned()), false),
        ]
    );
}

#[tokio::test]
async fn after_aggregation_no_aggregate_or_row_can_be_tied_to_a_person() {
    let app = app().await;
    let store = app.db.store();
    let mut people = Vec::new();
    for i in 0..4 {
        let person = consenting(&app, &format!("p{i}@example.com"), "ANALYTICS").await;
        generate_text(&app, &person).await;
        people.push(person);
    }
    let (vault, _) = app.keys().await;
    // Before: each person's events of the day are linkable to them (the export says so).
    for person in &people {
        let about = analytics::about(store, &vault, person.id)
            .await
            .expect("about");
        assert_eq!(about.linkable_events, [(today(), 2)]);
    }

    // The day is aggregated as the next day's run does it; a second run finds nothing.
    let service = service(&app).await;
    let tomorrow = Utc::now() + TimeDelta::days(1);
    assert_eq!(
        service.aggregate_due(tomorrow).await.expect("aggregated"),
        1
    );
    assert_eq!(service.aggregate_due(tomorrow).await.expect("again"), 0);

    // With the database and every key that remains: no raw event, no key of the day
    // (sealed or not), so no pseudonym can be computed again; nothing linkable for anyone.
    assert_eq!(events_today(store).await, 0);
    let day = store
        .analytics_day(today())
        .await
        .expect("read")
        .expect("the day");
    assert_eq!(day.key_sealed, None);
    assert!(store.live_analytics_days().await.expect("live").is_empty());
    for person in &people {
        let about = analytics::about(store, &vault, person.id)
            .await
            .expect("about");
        assert!(about.linkable_events.is_empty());
    }
    // Every cell left holds the day, the metric, a vocabulary value per dimension and
    // counts of at least K people: nothing that names, or is derived from, a person.
    let vocabulary: Vec<String> = GenerationKind::ALL
        .iter()
        .map(|kind| kind.as_str().to_owned())
        .chain(LatencyBucket::ALL.iter().map(|b| b.as_str().to_owned()))
        .chain(["local".to_owned(), NONE.to_owned()])
        .collect();
    let mut published = 0;
    for metric in Metric::ALL {
        for grouping in metric.groupings() {
            let cells = service
                .cells(metric, today(), today(), &grouping)
                .await
                .expect("cells");
            for cell in cells {
                assert!(
                    cell.coordinates.iter().all(|c| vocabulary.contains(c)),
                    "{cell:?}"
                );
                if let Some(people) = cell.people {
                    assert!(people >= u64::from(K), "{cell:?}");
                    published += 1;
                }
            }
        }
    }
    assert!(published > 0, "the day's totals are published");

    // Staff read the same aggregates: ANALYST (and ADMIN) with a second factor; not SUPPORT.
    let query = "query A($d: Date!) { analytics(metric: GENERATIONS_SUCCEEDED, from: $d, to: $d, \
                 groupBy: [KIND]) { day metric suppressed people value \
                 coordinates { dimension value } } }";
    let day = json!({ "d": today().to_string() });
    let analyst = app
        .staff_member("analyst@icecone.example", StaffRole::Analyst)
        .await;
    let token = app.mint_token(analyst.id, FRESH).await;
    let answer = app.graphql(Some(&token), query, day.clone()).await;
    assert!(answer["errors"].is_null(), "{answer}");
    assert_eq!(
        answer["data"]["analytics"],
        json!([{
            "day": today().to_string(),
            "metric": "GENERATIONS_SUCCEEDED",
            "suppressed": false,
            "people": 4,
            "value": 4.0,
            "coordinates": [{ "dimension": "KIND", "value": "TEXT" }],
        }])
    );
    let support = app
        .staff_member("support@icecone.example", StaffRole::Support)
        .await;
    let token = app.mint_token(support.id, FRESH).await;
    assert_eq!(
        code(&app.graphql(Some(&token), query, day.clone()).await),
        "FORBIDDEN"
    );
    // A grouping the metric does not offer, or a backward period, is bad input.
    let token = app.mint_token(analyst.id, FRESH).await;
    let answer = app
        .graphql(
            Some(&token),
            "{ analytics(metric: SIGN_UPS, from: \"2026-01-02\", to: \"2026-01-01\") { day } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&answer), "BAD_USER_INPUT");
    let answer = app
        .graphql(
            Some(&token),
            "{ analytics(metric: SIGN_UPS, from: \"2026-01-01\", to: \"2026-01-01\", groupBy: [KIND]) { day } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&answer), "BAD_USER_INPUT");
}

#[tokio::test]
async fn a_small_cell_is_suppressed_and_cannot_be_recovered_by_differencing() {
    let app = app().await;
    // K text people and K - 1 image people: the image cell is suppressed, and with it the
    // text cell, or the total minus the texts would give the images back.
    for i in 0..K {
        let person = consenting(&app, &format!("t{i}@example.com"), "ANALYTICS").await;
        generate_text(&app, &person).await;
    }
    for i in 0..K - 1 {
        let person = consenting(&app, &format!("i{i}@example.com"), "ANALYTICS").await;
        generate_image(&app, &person).await;
    }
    let service = service(&app).await;
    service
        .aggregate_due(Utc::now() + TimeDelta::days(1))
        .await
        .expect("aggregated");
    let cells = |grouping: Vec<Dimension>| {
        let service = &service;
        async move {
            service
                .cells(Metric::GenerationsSucceeded, today(), today(), &grouping)
                .await
                .expect("cells")
        }
    };
    let total = cells(vec![]).await;
    assert_eq!(total.len(), 1);
    assert_eq!(total[0].value, Some(f64::from(2 * K - 1)));
    let by_kind = cells(vec![Dimension::Kind]).await;
    assert_eq!(by_kind.len(), 2);
    assert!(
        by_kind
            .iter()
            .all(|cell| cell.value.is_none() && cell.people.is_none()),
        "{by_kind:?}"
    );
}

#[tokio::test]
async fn rating_needs_improvement_consent_and_ones_own_generation_and_ranks_providers() {
    let app = app().await;
    let store = app.db.store();
    let rate = "mutation R($id: ID!, $r: GenerationRating!) { rateGeneration(id: $id, rating: $r) { id } }";
    let person = app.person("rater@example.com").await;
    let generation = generate_text(&app, &person).await;
    let answer = person
        .graphql(&app, rate, json!({ "id": generation, "r": "GOOD" }))
        .await;
    assert_eq!(code(&answer), "CONSENT_REQUIRED", "{answer}");
    assert_eq!(answer["errors"][0]["extensions"]["purpose"], "IMPROVEMENT");

    app.set_consent(&person.access_token, "IMPROVEMENT", true)
        .await;
    let answer = person
        .graphql(&app, rate, json!({ "id": generation, "r": "GOOD" }))
        .await;
    assert_eq!(
        answer["data"]["rateGeneration"]["id"],
        json!(generation),
        "{answer}"
    );
    // Someone else's generation answers as an unknown one.
    let stranger = consenting(&app, "stranger@example.com", "IMPROVEMENT").await;
    for id in [generation.clone(), "not-an-id".to_owned()] {
        let answer = stranger
            .graphql(&app, rate, json!({ "id": id, "r": "BAD" }))
            .await;
        assert_eq!(code(&answer), "NOT_FOUND", "{answer}");
    }
    assert_eq!(store.ratings_of(person.id).await.expect("read").len(), 1);

    // K people rating `local` rank it for texts; the router's ranking follows.
    for i in 0..K - 1 {
        let rater = consenting(&app, &format!("r{i}@example.com"), "IMPROVEMENT").await;
        let id = generate_text(&app, &rater).await;
        let answer = rater
            .graphql(&app, rate, json!({ "id": id, "r": "GOOD" }))
            .await;
        assert!(answer["errors"].is_null(), "{answer}");
    }
    let ranking = SharedRanking::default();
    let kinds = analytics::ratings::refresh_ranking(store, MinGroup::new(K).expect("k"), &ranking)
        .await
        .expect("ranked");
    assert_eq!(kinds, 1);
    assert_eq!(
        ranking
            .current()
            .of(GenerationKind::Text)
            .iter()
            .map(|id| id.as_str())
            .collect::<Vec<_>>(),
        ["local"]
    );

    // Withdrawing the consent deletes the person's ratings; K - 1 raters rank nothing.
    app.set_consent(&person.access_token, "IMPROVEMENT", false)
        .await;
    assert!(store.ratings_of(person.id).await.expect("read").is_empty());
    let kinds = analytics::ratings::refresh_ranking(store, MinGroup::new(K).expect("k"), &ranking)
        .await
        .expect("ranked");
    assert_eq!(kinds, 0);
    assert!(ranking.current().of(GenerationKind::Text).is_empty());
}

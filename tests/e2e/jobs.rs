//! Video generations through the durable job runner: `generateVideo` end to end with
//! `local`, the `generationUpdated` subscription over a real WebSocket, cancellation by
//! deletion, the deadline, providers that fail or whose output is gone, a gateway
//! killed with SIGKILL in the middle of a job, and the consent decision asked before each
//! step (a restriction holds a queued video; a kind must declare what its steps do).

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use futures_util::future::BoxFuture;
use icecone_app::generation::Generations;
use icecone_app::generation::video::{self, VideoJobs};
use icecone_app::jobs::{self, JobHandler, Leased, Outcome, Runner, Step};
use icecone_app::providers::Entry;
use icecone_app::providers::router::{Router, RouterSettings};
use icecone_core::generation::{GenerationStatus, RemoteCopy};
use icecone_core::provider::ProviderId;
use icecone_core::provider::adapter::{
    GenerationRequest, JobHandle, JobStatus, MediaUrl, Output, ProviderAdapter, ProviderError,
    ProviderFuture, RemoteMedia, Submission, VideoRequest,
};
use icecone_core::provider::policy::ProviderPolicy;
use icecone_core::usage::{Period, Plans, Quota};
use icecone_gateway::config::JobsConfig;
use icecone_provider_http::fetch::MediaFetcher;
use icecone_store::jobs::{JobRecord, JobState, NewJob};
use serde_json::{Value, json};
use uuid::Uuid;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::app::{Person, TestApp, code};
use crate::support::binary::{BinaryApp, free_port};
use crate::websocket::Socket;

const FIELDS: &str = "id kind status error prompt provider { id } \
    output { __typename ... on MediaOutput { url mimeType } }";

fn generate_video_query() -> String {
    format!(
        "mutation V($input: GenerateVideoInput!) {{ generateVideo(input: $input) {{ {FIELDS} }} }}"
    )
}

fn generation_query() -> String {
    format!("query Q($id: ID!) {{ generation(id: $id) {{ {FIELDS} }} }}")
}

const DELETE: &str = "mutation D($id: ID!) { deleteGeneration(id: $id) }";

/// A gateway whose workers poll every 100 ms, with `adjust` applied.
async fn spawn(adjust: impl FnOnce(&mut icecone_gateway::config::Settings)) -> TestApp {
    TestApp::spawn_with(|settings| {
        settings.job_poll_interval_ms = 100;
        adjust(settings);
    })
    .await
}

async fn generate_video(app: &TestApp, token: &str, input: Value) -> Value {
    app.graphql(
        Some(token),
        &generate_video_query(),
        json!({ "input": input }),
    )
    .await
}

/// Asks for a video and returns the generation answered, checking it is queued.
async fn queued_video(app: &TestApp, token: &str, input: Value) -> Value {
    let body = generate_video(app, token, input).await;
    assert!(body.get("errors").is_none(), "{body}");
    let generation = body["data"]["generateVideo"].clone();
    assert_eq!(generation["status"], "QUEUED", "{generation}");
    assert_eq!(generation["kind"], "VIDEO");
    assert_eq!(generation["output"], Value::Null);
    generation
}

/// Polls `generation(id)` over `url` until `done` holds, for up to `seconds`.
pub(crate) async fn wait_for_generation(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    id: &str,
    seconds: u64,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let started = Instant::now();
    loop {
        let body: Value = client
            .post(url)
            .bearer_auth(token)
            .json(&json!({ "query": generation_query(), "variables": { "id": id } }))
            .send()
            .await
            .expect("answered")
            .json()
            .await
            .expect("JSON");
        let generation = &body["data"]["generation"];
        if done(generation) {
            return generation.clone();
        }
        assert!(
            started.elapsed() < Duration::from_secs(seconds),
            "the generation did not get there: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn wait_for_status(app: &TestApp, token: &str, id: &str, status: &str) -> Value {
    wait_for_generation(&app.client, &app.url("/graphql"), token, id, 20, |g| {
        g["status"] == status
    })
    .await
}

/// The one job of the generation `id`.
async fn job_of(store: &icecone_store::Store, id: &str) -> JobRecord {
    let mut jobs = store.jobs_for(video::KIND, id).await.expect("jobs");
    assert_eq!(jobs.len(), 1, "one job per generation: {jobs:?}");
    jobs.remove(0)
}

/// The generation's job once the runner recorded its end: a generation's own status is
/// committed first, and the job's state just after it, so a test that saw the generation
/// end waits for the job too.
async fn finished_job_of(store: &icecone_store::Store, id: &str) -> JobRecord {
    for _ in 0..200 {
        let job = job_of(store, id).await;
        if job.state.is_final() {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the job of generation {id} did not end");
}

async fn video_seconds_used(store: &icecone_store::Store, account: Uuid) -> u64 {
    store
        .usage(account, &Period::of(Utc::now().date_naive()))
        .await
        .expect("usage")
        .video_seconds
}

#[tokio::test]
async fn generate_video_runs_through_the_job_runner_with_local_and_is_stored_encrypted() {
    let app = spawn(|_| {}).await;
    let Person {
        id: account,
        access_token: token,
        ..
    } = app.person("video@example.com").await;
    let generation = queued_video(
        &app,
        &token,
        json!({ "prompt": "canaryvideoprompt waves at dusk", "durationSeconds": 2,
                "imageUrl": "https://images.example.com/start.png?sig=s3cr3t" }),
    )
    .await;
    assert_eq!(generation["provider"]["id"], "local");
    assert_eq!(generation["prompt"], "canaryvideoprompt waves at dusk");
    let id = generation["id"].as_str().expect("id").to_owned();
    assert_eq!(
        video_seconds_used(app.db.store(), account).await,
        2,
        "reserved at once"
    );

    let done = wait_for_status(&app, &token, &id, "SUCCEEDED").await;
    assert_eq!(done["error"], Value::Null);
    assert_eq!(done["output"]["__typename"], "MediaOutput");
    assert_eq!(done["output"]["mimeType"], "image/apng");
    let url = done["output"]["url"].as_str().expect("url");
    let response = app
        .client
        .get(app.url(url))
        .bearer_auth(&token)
        .send()
        .await
        .expect("media");
    assert_eq!(response.status(), 200);
    let video = response.bytes().await.expect("bytes");
    assert!(video.starts_with(b"\x89PNG\r\n\x1a\n"), "an APNG");
    assert!(video.windows(4).any(|w| w == b"acTL"), "animated");

    let store = app.db.store();
    let record = store
        .generation_of(account, Uuid::parse_str(&id).expect("uuid"))
        .await
        .expect("read")
        .expect("row");
    assert_eq!(record.status, GenerationStatus::Succeeded);
    assert_eq!(record.remote_copy, Some(RemoteCopy::NothingKept));
    let provider_job = record.provider_job_id.expect("the provider's job id");
    assert!(!provider_job.contains("canaryvideoprompt"));
    let job = finished_job_of(store, &id).await;
    assert_eq!(
        (job.state, job.step.as_str()),
        (JobState::Succeeded, "done")
    );
    assert_eq!(job.lease_owner, None);
    assert_eq!(video_seconds_used(store, account).await, 2, "counted once");

    // Neither the prompt nor the image URL is stored in clear.
    let raw = app.db.raw_bytes().await;
    for canary in [&b"canaryvideoprompt"[..], b"s3cr3t"] {
        assert!(!raw.windows(canary.len()).any(|w| w == canary));
    }
}

#[tokio::test]
async fn generate_video_refuses_bad_input_and_bad_image_urls_as_bad_user_input() {
    let app = spawn(|settings| settings.quota_video_seconds_per_month = 3).await;
    let Person {
        id: account,
        access_token: token,
        ..
    } = app.person("badvideo@example.com").await;
    for input in [
        json!({ "prompt": "x", "imageUrl": "ftp://images.example.com/a.png" }),
        json!({ "prompt": "x", "imageUrl": "file:///etc/passwd" }),
        json!({ "prompt": "x", "imageUrl": "https://user:pw@images.example.com/a.png" }),
        json!({ "prompt": "x", "durationSeconds": 0 }),
        json!({ "prompt": "x", "durationSeconds": 61 }),
        json!({ "prompt": "  " }),
        json!({ "prompt": "x", "provider": "nonexistent", "durationSeconds": 1 }),
    ] {
        let body = generate_video(&app, &token, input.clone()).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{input} → {body}");
        assert!(!body.to_string().contains("passwd"), "{body}");
    }
    // The quota applies as for images: 4 seconds do not fit in 3.
    let body = generate_video(
        &app,
        &token,
        json!({ "prompt": "long", "durationSeconds": 4 }),
    )
    .await;
    assert_eq!(code(&body), "QUOTA_EXCEEDED", "{body}");
    assert_eq!(app.db.count("generations").await, 0);
    assert_eq!(app.db.count("jobs").await, 0);
    assert_eq!(video_seconds_used(app.db.store(), account).await, 0);
    let body = app
        .graphql(
            None,
            &generate_video_query(),
            json!({ "input": { "prompt": "x" } }),
        )
        .await;
    assert_eq!(code(&body), "UNAUTHENTICATED", "{body}");
}

/// A subscription refused with `code`: an error and no data.
fn assert_refused(answer: &Value, id: &str, code: &str) {
    assert_eq!(answer["id"], id, "{answer}");
    let errors = match answer["type"].as_str() {
        Some("next") => {
            assert_eq!(answer["payload"]["data"], Value::Null, "{answer}");
            &answer["payload"]["errors"]
        }
        Some("error") => &answer["payload"],
        _ => panic!("not a refusal: {answer}"),
    };
    assert_eq!(errors[0]["extensions"]["code"], code, "{answer}");
}

#[tokio::test]
async fn generation_updated_streams_every_status_over_a_websocket_to_the_owner_only() {
    let app = spawn(|settings| settings.local_video_delay = "1s".to_owned()).await;
    let Person {
        access_token: token,
        ..
    } = app.person("watch@example.com").await;
    let Person {
        access_token: other,
        ..
    } = app.person("peek@example.com").await;
    let generation = queued_video(
        &app,
        &token,
        json!({ "prompt": "a comet", "durationSeconds": 1 }),
    )
    .await;
    let id = generation["id"].as_str().expect("id");

    let mut owner =
        Socket::connect(&app, json!({ "Authorization": format!("Bearer {token}") })).await;
    assert_eq!(owner.next().await.expect("ack")["type"], "connection_ack");
    owner.subscribe("1", id).await;
    let mut statuses = Vec::new();
    loop {
        let message = owner.next().await.expect("a message");
        match message["type"].as_str() {
            Some("next") => {
                assert!(message["payload"].get("errors").is_none(), "{message}");
                let update = &message["payload"]["data"]["generationUpdated"];
                assert_eq!(update["id"], id);
                statuses.push(update["status"].as_str().expect("status").to_owned());
                if update["status"] == "SUCCEEDED" {
                    assert_eq!(update["output"]["__typename"], "MediaOutput");
                }
            }
            Some("complete") => {
                assert_eq!(message["id"], "1");
                break;
            }
            other => panic!("unexpected {other:?}: {message}"),
        }
    }
    assert!(
        matches!(
            statuses.first().map(String::as_str),
            Some("QUEUED" | "RUNNING")
        ),
        "{statuses:?}"
    );
    assert!(statuses.contains(&"RUNNING".to_owned()), "{statuses:?}");
    assert_eq!(
        statuses.last().map(String::as_str),
        Some("SUCCEEDED"),
        "{statuses:?}"
    );
    let mut deduplicated = statuses.clone();
    deduplicated.dedup();
    assert_eq!(deduplicated, statuses, "one message per change");

    // Someone else, an unknown id and an anonymous caller get an error, never data.
    let mut intruder =
        Socket::connect(&app, json!({ "Authorization": format!("Bearer {other}") })).await;
    assert_eq!(
        intruder.next().await.expect("ack")["type"],
        "connection_ack"
    );
    for (message_id, target) in [("2", id.to_owned()), ("3", Uuid::new_v4().to_string())] {
        intruder.subscribe(message_id, &target).await;
        let answer = intruder.next().await.expect("an answer");
        assert_refused(&answer, message_id, "NOT_FOUND");
        assert!(!answer.to_string().contains("comet"));
        let end = intruder.next().await.expect("the end");
        assert_eq!(
            (end["type"].as_str(), end["id"].as_str()),
            (Some("complete"), Some(message_id))
        );
    }
    let mut anonymous = Socket::connect(&app, json!({})).await;
    assert_eq!(
        anonymous.next().await.expect("ack")["type"],
        "connection_ack"
    );
    anonymous.subscribe("4", id).await;
    let answer = anonymous.next().await.expect("an answer");
    assert_refused(&answer, "4", "UNAUTHENTICATED");

    // A token that does not verify closes the connection without an acknowledgement.
    let mut forged = Socket::connect(&app, json!({ "Authorization": "Bearer not-a-token" })).await;
    let answer = forged.next().await;
    assert!(
        answer
            .as_ref()
            .is_none_or(|message| message["type"] != "connection_ack"),
        "{answer:?}"
    );
}

#[tokio::test]
async fn deleting_a_running_video_cancels_its_job_and_gives_its_seconds_back() {
    let app = spawn(|settings| settings.local_video_delay = "10m".to_owned()).await;
    let Person {
        id: account,
        access_token: token,
        ..
    } = app.person("cancel@example.com").await;
    let generation = queued_video(
        &app,
        &token,
        json!({ "prompt": "never mind", "durationSeconds": 3 }),
    )
    .await;
    let id = generation["id"].as_str().expect("id").to_owned();
    wait_for_status(&app, &token, &id, "RUNNING").await;
    let store = app.db.store();
    assert_eq!(video_seconds_used(store, account).await, 3);
    assert_eq!(job_of(store, &id).await.step, "poll");

    let deleted = app.graphql(Some(&token), DELETE, json!({ "id": id })).await;
    assert_eq!(deleted["data"]["deleteGeneration"], true, "{deleted}");
    assert_eq!(app.db.count("generations").await, 0);
    let job = job_of(store, &id).await;
    assert_eq!(job.state, JobState::Cancelled);
    assert_eq!(job.lease_owner, None);
    assert_eq!(video_seconds_used(store, account).await, 0, "given back");
    // The workers leave it alone from now on.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(job_of(store, &id).await.state, JobState::Cancelled);
    assert_eq!(app.db.count("generations").await, 0);
}

#[tokio::test]
async fn a_video_past_its_deadline_fails_with_timeout_and_its_seconds_are_given_back() {
    let app = spawn(|settings| {
        settings.local_video_delay = "10m".to_owned();
        settings.video_job_deadline = "1s".to_owned();
    })
    .await;
    let Person {
        id: account,
        access_token: token,
        ..
    } = app.person("slow@example.com").await;
    let generation = queued_video(
        &app,
        &token,
        json!({ "prompt": "too slow", "durationSeconds": 2 }),
    )
    .await;
    let id = generation["id"].as_str().expect("id").to_owned();
    let failed = wait_for_status(&app, &token, &id, "FAILED").await;
    assert_eq!(failed["error"], "TIMEOUT");
    assert_eq!(failed["output"], Value::Null);
    let store = app.db.store();
    let job = finished_job_of(store, &id).await;
    assert_eq!(job.state, JobState::Failed);
    assert_eq!(job.last_error_code.as_deref(), Some("TIMEOUT"));
    assert_eq!(video_seconds_used(store, account).await, 0, "given back");
}

/// How the scripted provider answers polls.
#[derive(Debug, Clone)]
enum Script {
    /// Its job failed.
    Fails,
    /// Its output waits at this URL.
    ReadyAt(String),
}

/// An asynchronous provider that answers as scripted and offers no deletion.
#[derive(Debug)]
struct Scripted {
    id: ProviderId,
    script: Script,
    cancels: std::sync::atomic::AtomicUsize,
}

impl ProviderAdapter for Scripted {
    fn id(&self) -> &ProviderId {
        &self.id
    }
    fn name(&self) -> &str {
        "scripted"
    }
    fn policy(&self) -> &ProviderPolicy {
        &icecone_provider_local::POLICY
    }
    fn is_available(&self) -> bool {
        true
    }
    fn submit<'a>(&'a self, request: &'a GenerationRequest) -> ProviderFuture<'a, Submission> {
        assert!(matches!(request, GenerationRequest::Video(_)));
        Box::pin(std::future::ready(Ok(Submission::Pending(JobHandle::new(
            "job-7",
        )))))
    }
    fn poll<'a>(&'a self, job: &'a JobHandle) -> ProviderFuture<'a, JobStatus> {
        assert_eq!(job.as_str(), "job-7");
        let status = match &self.script {
            Script::Fails => Err(ProviderError::JobFailed),
            Script::ReadyAt(url) => Ok(JobStatus::Ready(RemoteMedia {
                url: MediaUrl::parse(url).expect("url"),
                mime_type: "video/mp4",
            })),
        };
        Box::pin(std::future::ready(status))
    }
    fn cancel<'a>(&'a self, _: &'a JobHandle) -> ProviderFuture<'a, ()> {
        self.cancels
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Box::pin(std::future::ready(Ok(())))
    }
}

/// The fetcher a gateway configured with `outbound_allow` uses.
fn fetcher(outbound_allow: Option<&str>) -> MediaFetcher {
    let config = icecone_gateway::config::Settings {
        outbound_allow: outbound_allow.map(str::to_owned),
        ..icecone_gateway::config::Settings::default()
    }
    .resolve()
    .expect("valid settings");
    MediaFetcher::new(Duration::from_secs(5), config.outbound).expect("fetcher")
}

/// Runs one video through a runner over the scripted provider, fetching outputs from the
/// test's mock servers on 127.0.0.1; returns the generation and its job once the job ended.
async fn run_scripted(
    script: Script,
) -> (
    icecone_store::generations::GenerationRecord,
    JobRecord,
    u64,
    usize,
) {
    run_scripted_with(script, fetcher(Some("127.0.0.1/32"))).await
}

/// As [`run_scripted`], fetching with `fetcher`.
async fn run_scripted_with(
    script: Script,
    fetcher: MediaFetcher,
) -> (
    icecone_store::generations::GenerationRecord,
    JobRecord,
    u64,
    usize,
) {
    let app = spawn(|settings| settings.job_workers = 0).await;
    let Person { id: account, .. } = app.person("scripted@example.com").await;
    let (vault, _) = app.keys().await;
    let adapter = Arc::new(Scripted {
        id: ProviderId::parse("scripted").expect("id"),
        script,
        cancels: std::sync::atomic::AtomicUsize::new(0),
    });
    let router = Router::new(
        vec![Entry::new(adapter.clone(), &[])],
        RouterSettings::new(0, Duration::from_secs(5)),
    );
    let store = app.db.store().clone();
    let jobs = JobsConfig {
        workers: 1,
        poll_interval: Duration::from_millis(10),
        lease: Duration::from_secs(30),
        video_deadline: Duration::from_secs(60),
        max_output_bytes: 1024,
        ..JobsConfig::default()
    };
    let (vault, router) = (Arc::new(vault), Arc::new(router));
    let generations = Arc::new(
        Generations::new(
            store.clone(),
            vault.clone(),
            router.clone(),
            Plans {
                free: Quota {
                    video_seconds: 10,
                    ..Quota::default()
                },
                pro: Quota::default(),
            },
        )
        .with_jobs(jobs),
    );
    let person = store
        .account(account)
        .await
        .expect("read")
        .expect("account");
    let record = generations
        .enqueue_video(
            &person,
            VideoRequest {
                prompt: icecone_core::provider::adapter::Prompt::parse("scripted scene")
                    .expect("prompt"),
                image: None,
                duration_seconds: 4,
            },
            None,
            None,
        )
        .await
        .expect("queued");
    assert_eq!(video_seconds_used(&store, account).await, 4);
    let runner = Runner::new(
        store.clone(),
        vec![Arc::new(VideoJobs::new(
            store.clone(),
            vault,
            router,
            jobs,
            fetcher,
        ))],
        jobs,
    )
    .expect("declared");
    let id = record.id.to_string();
    for _ in 0..200 {
        runner.run_next("test-worker").await.expect("ran");
        if job_of(&store, &id).await.state.is_final() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let job = job_of(&store, &id).await;
    let generation = store
        .generation_of(account, record.id)
        .await
        .expect("read")
        .expect("row");
    let used = video_seconds_used(&store, account).await;
    (
        generation,
        job,
        used,
        adapter.cancels.load(std::sync::atomic::Ordering::SeqCst),
    )
}

#[tokio::test]
async fn a_provider_reporting_the_job_failed_fails_the_generation_and_gives_its_seconds_back() {
    let (generation, job, used, cancels) = run_scripted(Script::Fails).await;
    assert_eq!(generation.status, GenerationStatus::Failed);
    assert_eq!(generation.error_code.as_deref(), Some("PROVIDER_FAILED"));
    assert_eq!(generation.provider_job_id.as_deref(), Some("job-7"));
    assert_eq!(
        (job.state, job.last_error_code.as_deref()),
        (JobState::Failed, Some("PROVIDER_FAILED"))
    );
    assert_eq!(used, 0);
    assert_eq!(cancels, 0, "the provider's job had ended");
}

#[tokio::test]
async fn an_output_url_that_is_gone_fails_the_generation_with_output_gone() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404))
        .expect(1)
        .mount(&server)
        .await;
    let (generation, job, used, _) = run_scripted(Script::ReadyAt(format!(
        "{}/out/7.mp4?sig=abc",
        server.uri()
    )))
    .await;
    assert_eq!(generation.status, GenerationStatus::Failed);
    assert_eq!(generation.error_code.as_deref(), Some("OUTPUT_GONE"));
    assert_eq!(job.last_error_code.as_deref(), Some("OUTPUT_GONE"));
    assert_eq!(used, 0);
}

#[tokio::test]
async fn an_output_at_a_temporary_url_is_fetched_once_stored_and_its_remote_copy_recorded() {
    let server = MockServer::start().await;
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend_from_slice(&[0; 32]);
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(png))
        .expect(1)
        .mount(&server)
        .await;
    let (generation, job, used, _) =
        run_scripted(Script::ReadyAt(format!("{}/out/7?sig=abc", server.uri()))).await;
    assert_eq!(
        generation.status,
        GenerationStatus::Succeeded,
        "{generation:?}"
    );
    assert_eq!(generation.media_type.as_deref(), Some("image/png"));
    assert_eq!(generation.remote_copy, Some(RemoteCopy::NotSupported));
    assert_eq!(
        (job.state, job.step.as_str()),
        (JobState::Succeeded, "done")
    );
    assert_eq!(used, 4, "counted once");
}

#[tokio::test]
async fn an_output_larger_than_the_cap_fails_the_generation() {
    let server = MockServer::start().await;
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend_from_slice(&[0; 2048]);
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(png))
        .mount(&server)
        .await;
    let (generation, _, used, _) =
        run_scripted(Script::ReadyAt(format!("{}/out/big", server.uri()))).await;
    assert_eq!(generation.status, GenerationStatus::Failed);
    assert_eq!(generation.error_code.as_deref(), Some("PROVIDER_MALFORMED"));
    assert_eq!(used, 0);
}

#[tokio::test]
async fn an_output_url_at_a_loopback_or_private_address_is_refused_and_never_requested() {
    // The provider's answer points at a server on this machine: without `outbound_allow`,
    // as in production, the gateway refuses to fetch from it.
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200).set_body_bytes(b"\x89PNG\r\n\x1a\n".to_vec()))
        .expect(0)
        .mount(&server)
        .await;
    let port = server.address().port();
    for url in [
        format!("{}/out/7.mp4?sig=abc", server.uri()),
        format!("http://localhost:{port}/out/7.mp4"),
        format!("http://[::ffff:127.0.0.1]:{port}/out/7.mp4"),
        "http://169.254.169.254/latest/meta-data/iam/".to_owned(),
        "http://10.0.0.7/out/7.mp4".to_owned(),
    ] {
        let (generation, job, used, cancels) =
            run_scripted_with(Script::ReadyAt(url.clone()), fetcher(None)).await;
        assert_eq!(generation.status, GenerationStatus::Failed, "{url}");
        assert_eq!(
            generation.error_code.as_deref(),
            Some(video::UNSAFE_OUTPUT_URL),
            "{url}"
        );
        assert_eq!(
            (job.state, job.last_error_code.as_deref()),
            (JobState::Failed, Some(video::UNSAFE_OUTPUT_URL))
        );
        assert_eq!(used, 0, "its seconds are given back");
        assert_eq!(
            cancels, 1,
            "the provider's job is cancelled: its output is not taken"
        );
    }
    server.verify().await;
}

#[tokio::test]
async fn a_video_job_survives_sigkill_of_the_gateway_and_completes_exactly_once() {
    let db = icecone_store::testing::TestDatabase::new().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let start = || {
        BinaryApp::spawn(dir.path(), port, |command| {
            command
                .env("ICECONE_DATA_DIR", dir.path())
                .env("ICECONE_DATABASE_URL", db.url().expose())
                .env("ICECONE_LOCAL_VIDEO_DELAY", "4s")
                .env("ICECONE_JOB_POLL_INTERVAL_MS", "200")
                .env("ICECONE_JOB_LEASE_SECONDS", "2");
        })
    };
    let mut first = start();
    first.wait_until_healthy().await;
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/graphql");
    let token = first
        .sign_up("killed@example.com", "a long enough passphrase 42")
        .await;
    // As if the link had been followed: an unverified account makes no video.
    db.execute("UPDATE accounts SET email_verified_at = created_at")
        .await;
    let body: Value = client
        .post(&url)
        .bearer_auth(&token)
        .json(&json!({ "query": generate_video_query(),
                       "variables": { "input": { "prompt": "survive", "durationSeconds": 2 } } }))
        .send()
        .await
        .expect("generateVideo")
        .json()
        .await
        .expect("JSON");
    let id = body["data"]["generateVideo"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned();
    wait_for_generation(&client, &url, &token, &id, 20, |g| g["status"] == "RUNNING").await;

    // SIGKILL: no shutdown, no cleanup, whatever the worker was doing.
    first.kill();
    let store = db.store();
    let before = job_of(store, &id).await;
    // RUNNING means submitted: the provider's job id is stored before the step moves on.
    assert!(
        ["submit", "poll"].contains(&before.step.as_str()),
        "{before:?}"
    );
    assert!(!before.state.is_final());
    let account = before.account.expect("account");
    let submitted = store
        .generations_page(account, None, 10)
        .await
        .expect("page")[0]
        .provider_job_id
        .clone()
        .expect("the provider's job id is stored while RUNNING");

    let mut second = start();
    second.wait_until_healthy().await;
    let done = wait_for_generation(&client, &url, &token, &id, 30, |g| {
        g["status"] == "SUCCEEDED"
    })
    .await;
    assert_eq!(done["output"]["mimeType"], "image/apng");
    second.terminate();

    assert_eq!(db.count("generations").await, 1, "one generation");
    assert_eq!(db.count("jobs").await, 1, "one job");
    let job = finished_job_of(store, &id).await;
    assert_eq!(
        (job.state, job.step.as_str()),
        (JobState::Succeeded, "done")
    );
    assert!((1..=2).contains(&job.attempts), "{job:?}");
    assert_eq!(job.lease_owner, None);
    let record = store
        .generations_page(job.account.expect("account"), None, 10)
        .await
        .expect("page");
    assert_eq!(record.len(), 1);
    assert_eq!(record[0].status, GenerationStatus::Succeeded);
    assert_eq!(record[0].remote_copy, Some(RemoteCopy::NothingKept));
    assert_eq!(
        record[0].provider_job_id.as_deref(),
        Some(submitted.as_str()),
        "followed after the restart, not submitted again"
    );
    assert_eq!(
        video_seconds_used(store, job.account.expect("account")).await,
        2,
        "usage counted once"
    );
}

/// A video provider standing in for `local` that counts what reaches it.
#[derive(Debug)]
struct Counting {
    id: ProviderId,
    submits: std::sync::atomic::AtomicUsize,
    polls: std::sync::atomic::AtomicUsize,
    /// Whether a poll finds the video made.
    ready: std::sync::atomic::AtomicBool,
}

impl ProviderAdapter for Counting {
    fn id(&self) -> &ProviderId {
        &self.id
    }
    fn name(&self) -> &str {
        "counting"
    }
    fn policy(&self) -> &ProviderPolicy {
        &icecone_provider_local::POLICY
    }
    fn is_available(&self) -> bool {
        true
    }
    fn submit<'a>(&'a self, _: &'a GenerationRequest) -> ProviderFuture<'a, Submission> {
        self.submits
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Box::pin(std::future::ready(Ok(Submission::Pending(JobHandle::new(
            "job-9",
        )))))
    }
    fn poll<'a>(&'a self, _: &'a JobHandle) -> ProviderFuture<'a, JobStatus> {
        self.polls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let status = if self.ready.load(std::sync::atomic::Ordering::SeqCst) {
            let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
            png.extend_from_slice(&[0; 16]);
            JobStatus::Done(Output::Media {
                bytes: png,
                mime_type: "image/png",
            })
        } else {
            JobStatus::Running
        };
        Box::pin(std::future::ready(Ok(status)))
    }
}

/// Runs due jobs as one worker of `runner` until none is due.
async fn drain(runner: &Runner) {
    for _ in 0..50 {
        if !runner.run_next("test-worker").await.expect("ran") {
            return;
        }
    }
    panic!("jobs kept coming");
}

const RESTRICT: &str =
    "mutation R($r: Boolean!) { restrictProcessing(restricted: $r) { processingRestricted } }";

async fn restrict(app: &TestApp, token: &str, restricted: bool) {
    let body = app
        .graphql(Some(token), RESTRICT, json!({ "r": restricted }))
        .await;
    assert_eq!(
        body["data"]["restrictProcessing"]["processingRestricted"], restricted,
        "{body}"
    );
}

#[tokio::test]
async fn a_video_queued_before_restriction_is_never_submitted_or_polled_while_it_stands() {
    // The gateway runs no jobs itself: the test's runner is its one worker, over a
    // provider that counts what reaches it.
    let app = spawn(|settings| settings.job_workers = 0).await;
    let Person {
        id: account,
        access_token: token,
        ..
    } = app.person("restricted-video@example.com").await;
    let generation = queued_video(
        &app,
        &token,
        json!({ "prompt": "a private scene", "durationSeconds": 3 }),
    )
    .await;
    let id = generation["id"].as_str().expect("id").to_owned();
    restrict(&app, &token, true).await;

    let (vault, _) = app.keys().await;
    let provider = Arc::new(Counting {
        id: ProviderId::parse("local").expect("id"),
        submits: std::sync::atomic::AtomicUsize::new(0),
        polls: std::sync::atomic::AtomicUsize::new(0),
        ready: std::sync::atomic::AtomicBool::new(false),
    });
    let store = app.db.store().clone();
    let config = JobsConfig {
        workers: 1,
        // A poll comes due this long after the last step: each drain below stops there.
        poll_interval: Duration::from_millis(300),
        lease: Duration::from_secs(30),
        video_deadline: Duration::from_secs(600),
        ..JobsConfig::default()
    };
    let router = Router::new(
        vec![Entry::new(provider.clone(), &[])],
        RouterSettings::new(0, Duration::from_secs(5)),
    );
    let runner = Runner::new(
        store.clone(),
        vec![Arc::new(VideoJobs::new(
            store.clone(),
            Arc::new(vault),
            Arc::new(router),
            config,
            fetcher(None),
        ))],
        config,
    )
    .expect("declared");
    let submits = || provider.submits.load(std::sync::atomic::Ordering::SeqCst);
    let polls = || provider.polls.load(std::sync::atomic::Ordering::SeqCst);

    drain(&runner).await;
    assert_eq!(submits(), 0, "the provider never receives the submit");
    let job = job_of(&store, &id).await;
    assert_eq!(
        (job.state, job.step.as_str(), job.last_error_code.as_deref()),
        (JobState::Held, "submit", Some("PROCESSING_RESTRICTED"))
    );
    let body = app
        .graphql(Some(&token), &generation_query(), json!({ "id": id }))
        .await;
    assert_eq!(body["data"]["generation"]["status"], "QUEUED", "{body}");
    assert_eq!(
        video_seconds_used(&store, account).await,
        3,
        "still reserved"
    );
    // Held, not due: the worker finds nothing to do however often it looks.
    tokio::time::sleep(Duration::from_millis(200)).await;
    drain(&runner).await;
    assert_eq!(submits(), 0);

    // Lifted: the person's request goes on, and is submitted once.
    restrict(&app, &token, false).await;
    assert_eq!(job_of(&store, &id).await.state, JobState::Queued);
    drain(&runner).await;
    assert_eq!((submits(), polls()), (1, 0));
    let job = job_of(&store, &id).await;
    assert_eq!((job.state, job.step.as_str()), (JobState::Queued, "poll"));

    // Restricted again while the provider works: the result is not fetched.
    restrict(&app, &token, true).await;
    provider
        .ready
        .store(true, std::sync::atomic::Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(400)).await;
    drain(&runner).await;
    assert_eq!((submits(), polls()), (1, 0), "not polled while restricted");
    assert_eq!(job_of(&store, &id).await.state, JobState::Held);
    let body = app
        .graphql(Some(&token), &generation_query(), json!({ "id": id }))
        .await;
    assert_eq!(body["data"]["generation"]["output"], Value::Null, "{body}");

    restrict(&app, &token, false).await;
    drain(&runner).await;
    assert_eq!((submits(), polls()), (1, 1));
    let done = app
        .graphql(Some(&token), &generation_query(), json!({ "id": id }))
        .await;
    assert_eq!(done["data"]["generation"]["status"], "SUCCEEDED", "{done}");
    let job = job_of(&store, &id).await;
    assert_eq!(
        (job.state, job.step.as_str()),
        (JobState::Succeeded, "done")
    );
    assert_eq!(video_seconds_used(&store, account).await, 3, "counted once");
}

/// A handler whose kind declares the steps given, counting its runs.
#[derive(Debug)]
struct Declaring {
    steps: &'static [Step],
    runs: std::sync::atomic::AtomicUsize,
}

impl JobHandler for Declaring {
    fn kind(&self) -> &'static str {
        "test.declaring"
    }
    fn steps(&self) -> &'static [Step] {
        self.steps
    }
    fn run<'a>(&'a self, _: &'a mut Leased<'_>) -> BoxFuture<'a, anyhow::Result<Outcome>> {
        self.runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Box::pin(async { Ok(Outcome::Done) })
    }
    fn give_up<'a>(&'a self, _: &'a JobRecord, _: &'a str) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async { Ok(()) })
    }
}

#[tokio::test]
async fn a_job_kind_must_declare_what_each_step_does_with_personal_data_or_it_never_runs() {
    use icecone_core::consent::Purpose;
    use icecone_core::consent::background::StepUse;
    // The gateway's own kinds declare theirs: it would not start otherwise.
    let app = spawn(|settings| settings.job_workers = 0).await;
    for steps in [video::STEPS, icecone_app::rights::export::STEPS] {
        assert!(!steps.is_empty());
    }
    let store = app.db.store().clone();
    let undeclared = Arc::new(Declaring {
        steps: &[],
        runs: std::sync::atomic::AtomicUsize::new(0),
    });
    let refused = Runner::new(store.clone(), vec![undeclared], JobsConfig::default())
        .expect_err("a kind that declares nothing is refused");
    assert_eq!(refused.0, "test.declaring");

    // A job at a step its kind does not declare is given up without running; a declared
    // step that processes for a purpose the person did not consent to is given up too.
    const STEPS: &[Step] = &[
        Step {
            name: "count",
            uses: StepUse::NoPersonalData {
                why: "counts nothing about anyone",
            },
        },
        Step {
            name: "mail",
            uses: StepUse::Process(Purpose::Marketing),
        },
    ];
    let handler = Arc::new(Declaring {
        steps: STEPS,
        runs: std::sync::atomic::AtomicUsize::new(0),
    });
    let runner =
        Runner::new(store.clone(), vec![handler.clone()], JobsConfig::default()).expect("declared");
    let Person { id: account, .. } = app.person("declared@example.com").await;
    let mut ids = Vec::new();
    for step in ["unknown", "mail", "count"] {
        let job = NewJob {
            id: Uuid::new_v4(),
            kind: "test.declaring".to_owned(),
            account: Some(account),
            subject: step.to_owned(),
            step: step.to_owned(),
            max_attempts: 3,
            run_after: Utc::now() - chrono::TimeDelta::seconds(10),
            deadline: None,
        };
        store.enqueue_job(&job, Utc::now()).await.expect("queued");
        ids.push(job.id);
        drain(&runner).await;
    }
    let ended: Vec<(JobState, Option<String>)> = {
        let mut ended = Vec::new();
        for id in ids {
            let job = store.job(id).await.expect("read").expect("job");
            ended.push((job.state, job.last_error_code));
        }
        ended
    };
    assert_eq!(
        ended,
        [
            (JobState::Failed, Some(jobs::UNDECLARED_STEP.to_owned())),
            (JobState::Failed, Some(jobs::CONSENT_REQUIRED.to_owned())),
            (JobState::Succeeded, None),
        ]
    );
    assert_eq!(
        handler.runs.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "only the declared step that needs no consent ran"
    );
}

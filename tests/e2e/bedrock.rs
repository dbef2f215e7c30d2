//! A deployment configured with Amazon Bedrock (plus `local`): images and videos over
//! HTTP against a mock Bedrock runtime and a real S3-compatible server (moto) for the output
//! bucket; the video's object is gone from the bucket afterwards; no prompt reaches the
//! direct routes that may train; a video job survives SIGKILL of the gateway and completes
//! exactly once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use base64::Engine as _;
use icecone_core::generation::{GenerationStatus, RemoteCopy};
use icecone_provider_bedrock::BedrockSettings;
use icecone_provider_bedrock::testing::{
    ACCESS_KEY_ID, S3Server, SECRET_ACCESS_KEY, TINY_MP4, TINY_PNG as ONE_PIXEL_PNG,
};
use icecone_provider_luma::LumaSettings;
use icecone_provider_stability::StabilitySettings;
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{any, method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::jobs::wait_for_generation;
use crate::support::app::{Person, TestApp};
use crate::support::binary::{BinaryApp, free_port};

const BUCKET: &str = "icecone-e2e-videos";
const PREFIX: &str = "videos";
const INVOCATION_ID: &str = "e2e0job0id01";
const ARN: &str = "arn:aws:bedrock:us-east-1:123456789012:async-invoke/e2e0job0id01";
const CONTRACT: &str = "Bedrock data_retention_mode none, account 123456789012";

const FIELDS: &str = "id kind status error prompt provider { id } \
    output { __typename ... on MediaOutput { url mimeType } }";

fn video_key() -> String {
    format!("{PREFIX}/{INVOCATION_ID}/output.mp4")
}

/// `GetAsyncInvoke` answers `InProgress` until `ready`, then `Completed`.
struct Invocation {
    ready: Arc<AtomicBool>,
}

impl Respond for Invocation {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let status = if self.ready.load(Ordering::SeqCst) {
            "Completed"
        } else {
            "InProgress"
        };
        ResponseTemplate::new(200).set_body_json(json!({
            "invocationArn": ARN,
            "modelArn": "arn:aws:bedrock:us-east-1::foundation-model/luma.ray-v2:0",
            "status": status,
            "submitTime": "2026-12-07T12:00:00Z",
            "outputDataConfig": { "s3OutputDataConfig": { "s3Uri": format!("s3://{BUCKET}/{PREFIX}") } }
        }))
    }
}

/// A mock Bedrock runtime: Nova Canvas answers a PNG, `StartAsyncInvoke` starts the one
/// invocation (exactly once), `GetAsyncInvoke` follows `ready`.
async fn runtime(ready: Arc<AtomicBool>) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/model/amazon.nova-canvas-v1%3A0/invoke"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "images": [base64::engine::general_purpose::STANDARD.encode(ONE_PIXEL_PNG)],
            "error": null
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/async-invoke"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "invocationArn": ARN })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex("^/async-invoke/"))
        .respond_with(Invocation { ready })
        .mount(&server)
        .await;
    server
}

/// A server standing for the direct routes that may train (Stability's and Luma's own
/// APIs): any request reaching it fails the test.
async fn training_routes() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    server
}

fn bedrock_settings(runtime: &str, s3: &str) -> BedrockSettings {
    BedrockSettings {
        access_key_id: Some(SecretString::from(ACCESS_KEY_ID)),
        secret_access_key: Some(SecretString::from(SECRET_ACCESS_KEY)),
        base_url: runtime.to_owned(),
        s3_url: Some(s3.to_owned()),
        output_bucket: Some(BUCKET.to_owned()),
        output_prefix: Some(PREFIX.to_owned()),
        zdr_contract: Some(CONTRACT.to_owned()),
        ..BedrockSettings::default()
    }
}

/// What became of the provider's copy of the person's only generation, once recorded.
async fn remote_copy(store: &icecone_store::Store, account: uuid::Uuid) -> RemoteCopy {
    for _ in 0..200 {
        let page = store
            .generations_page(account, None, 10)
            .await
            .expect("page");
        if let Some(copy) = page.iter().find_map(|record| record.remote_copy) {
            return copy;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the provider's copy was never settled");
}

/// No request to the runtime carries the person's e-mail address or account id.
async fn assert_nothing_personal_sent(server: &MockServer, person: &[&str]) {
    for request in server.received_requests().await.expect("recorded") {
        let body = String::from_utf8_lossy(&request.body).into_owned();
        for value in person {
            assert!(!body.contains(value), "{value} sent in {body}");
        }
    }
}

#[tokio::test]
async fn a_deployment_with_bedrock_makes_images_and_videos_and_leaves_nothing_in_its_bucket() {
    let Some(s3) = S3Server::start() else {
        // moto_server is not installed here (CI installs it and requires it).
        return;
    };
    s3.create_bucket(BUCKET).await;
    let ready = Arc::new(AtomicBool::new(false));
    let runtime = runtime(ready.clone()).await;
    let training = training_routes().await;
    let (runtime_url, s3_url, training_url) = (runtime.uri(), s3.url().to_owned(), training.uri());
    let app = TestApp::spawn_with(|settings| {
        settings.job_poll_interval_ms = 100;
        settings
            .providers
            .set(bedrock_settings(&runtime_url, &s3_url));
        // The direct routes to the same model families, whose terms may train.
        settings.providers.set(StabilitySettings {
            api_key: Some(SecretString::from("sk-stability-e2e")),
            base_url: training_url.clone(),
            ..StabilitySettings::default()
        });
        settings.providers.set(LumaSettings {
            api_key: Some(SecretString::from("luma-e2e-key")),
            base_url: training_url.clone(),
            ..LumaSettings::default()
        });
    })
    .await;

    // Bedrock is published as a route that does not train, with the account's
    // zero-data-retention mode recorded.
    let body = app
        .query("{ providers { id available trainingUse zeroDataRetention zeroDataRetentionContract } }")
        .await
        .json();
    let bedrock = body["data"]["providers"]
        .as_array()
        .expect("a list")
        .iter()
        .find(|provider| provider["id"] == "bedrock")
        .unwrap_or_else(|| panic!("bedrock listed: {body}"))
        .clone();
    assert_eq!(
        bedrock,
        json!({ "id": "bedrock", "available": true, "trainingUse": "NO",
                "zeroDataRetention": true, "zeroDataRetentionContract": true })
    );

    let Person {
        id: account,
        email,
        access_token: token,
        ..
    } = app.person("bedrock-maker@example.com").await;

    // An image through Bedrock, over HTTP, stored and served by the gateway.
    let body = app
        .graphql(
            Some(&token),
            &format!("mutation G($input: GenerateImageInput!) {{ generateImage(input: $input) {{ {FIELDS} }} }}"),
            json!({ "input": { "prompt": "a lighthouse at dawn", "provider": "bedrock" } }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    let image = &body["data"]["generateImage"];
    assert_eq!(image["status"], "SUCCEEDED", "{image}");
    assert_eq!(image["provider"]["id"], "bedrock");
    assert_eq!(image["output"]["mimeType"], "image/png");
    let served = app
        .client
        .get(app.url(image["output"]["url"].as_str().expect("url")))
        .bearer_auth(&token)
        .send()
        .await
        .expect("media");
    assert_eq!(served.bytes().await.expect("bytes").as_ref(), ONE_PIXEL_PNG);

    // Without a named provider the router picks among the compliant routes only.
    let body = app
        .graphql(
            Some(&token),
            &format!("mutation G($input: GenerateImageInput!) {{ generateImage(input: $input) {{ {FIELDS} }} }}"),
            json!({ "input": { "prompt": "a second lighthouse" } }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    let chosen = body["data"]["generateImage"]["provider"]["id"].clone();
    assert!(chosen == "bedrock" || chosen == "local", "{chosen}");

    // A video through Bedrock: started, followed, read from the bucket, sealed, served.
    s3.put_object(BUCKET, &video_key(), TINY_MP4).await;
    let body = app
        .graphql(
            Some(&token),
            &format!("mutation V($input: GenerateVideoInput!) {{ generateVideo(input: $input) {{ {FIELDS} }} }}"),
            json!({ "input": { "prompt": "waves against the lighthouse", "provider": "bedrock", "durationSeconds": 5 } }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    let id = body["data"]["generateVideo"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let graphql = app.url("/graphql");
    wait_for_generation(&app.client, &graphql, &token, &id, 20, |g| {
        g["status"] == "RUNNING"
    })
    .await;
    ready.store(true, Ordering::SeqCst);
    let video = wait_for_generation(&app.client, &graphql, &token, &id, 30, |g| {
        g["status"] == "SUCCEEDED"
    })
    .await;
    assert_eq!(video["provider"]["id"], "bedrock");
    assert_eq!(video["output"]["mimeType"], "video/mp4");
    let served = app
        .client
        .get(app.url(video["output"]["url"].as_str().expect("url")))
        .bearer_auth(&token)
        .send()
        .await
        .expect("media");
    assert_eq!(served.bytes().await.expect("bytes").as_ref(), TINY_MP4);

    // The bucket's copy is deleted, and recorded so only once S3 no longer has it.
    assert_eq!(
        remote_copy(app.db.store(), account).await,
        RemoteCopy::Deleted
    );
    assert!(
        !s3.has_object(BUCKET, &video_key()).await,
        "the video is gone from the bucket"
    );

    assert_nothing_personal_sent(&runtime, &[&email, &account.to_string()]).await;
    // `training` expects no request: checked when it is dropped.
    training.verify().await;
    runtime.verify().await;
}

#[tokio::test]
async fn a_bedrock_video_job_survives_sigkill_of_the_gateway_and_completes_exactly_once() {
    let Some(s3) = S3Server::start() else {
        return;
    };
    s3.create_bucket(BUCKET).await;
    let ready = Arc::new(AtomicBool::new(false));
    let runtime = runtime(ready.clone()).await;
    let db = icecone_store::testing::TestDatabase::new().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let start = || {
        BinaryApp::spawn(dir.path(), port, |command| {
            command
                .env("ICECONE_DATA_DIR", dir.path())
                .env("ICECONE_DATABASE_URL", db.url().expose())
                .env("ICECONE_JOB_POLL_INTERVAL_MS", "200")
                .env("ICECONE_JOB_LEASE_SECONDS", "2")
                .env("ICECONE_BEDROCK_ACCESS_KEY_ID", ACCESS_KEY_ID)
                .env("ICECONE_BEDROCK_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
                .env("ICECONE_BEDROCK_BASE_URL", runtime.uri())
                .env("ICECONE_BEDROCK_S3_URL", s3.url())
                .env("ICECONE_BEDROCK_OUTPUT_BUCKET", BUCKET)
                .env("ICECONE_BEDROCK_OUTPUT_PREFIX", PREFIX)
                .env("ICECONE_BEDROCK_ZDR_CONTRACT", CONTRACT);
        })
    };
    let mut first = start();
    first.wait_until_healthy().await;
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/graphql");
    let token = first
        .sign_up("bedrock-killed@example.com", "a long enough passphrase 42")
        .await;
    db.execute("UPDATE accounts SET email_verified_at = created_at")
        .await;
    let body: Value = client
        .post(&url)
        .bearer_auth(&token)
        .json(&json!({
            "query": format!("mutation V($input: GenerateVideoInput!) {{ generateVideo(input: $input) {{ {FIELDS} }} }}"),
            "variables": { "input": { "prompt": "survive the storm", "provider": "bedrock", "durationSeconds": 5 } }
        }))
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
    // RUNNING: the invocation was started and its ARN stored.
    wait_for_generation(&client, &url, &token, &id, 20, |g| g["status"] == "RUNNING").await;

    // SIGKILL while the invocation is in progress.
    first.kill();
    s3.put_object(BUCKET, &video_key(), TINY_MP4).await;
    ready.store(true, Ordering::SeqCst);

    let mut second = start();
    second.wait_until_healthy().await;
    let done = wait_for_generation(&client, &url, &token, &id, 30, |g| {
        g["status"] == "SUCCEEDED"
    })
    .await;
    assert_eq!(done["output"]["mimeType"], "video/mp4");
    let store = db.store();
    let account = store
        .jobs_for(icecone_app::generation::video::KIND, &id)
        .await
        .expect("jobs")[0]
        .account
        .expect("account");
    assert_eq!(remote_copy(store, account).await, RemoteCopy::Deleted);
    second.terminate();

    assert_eq!(db.count("generations").await, 1, "one generation");
    assert_eq!(db.count("jobs").await, 1, "one job");
    let record = store
        .generations_page(account, None, 10)
        .await
        .expect("page");
    assert_eq!(record[0].status, GenerationStatus::Succeeded);
    assert_eq!(record[0].provider_job_id.as_deref(), Some(ARN));
    assert!(
        !s3.has_object(BUCKET, &video_key()).await,
        "the video is gone from the bucket"
    );
    // Started once: followed after the restart, never started again (`expect(1)`).
    runtime.verify().await;
}

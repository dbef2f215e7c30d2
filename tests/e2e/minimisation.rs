//! Minimisation at the prompt, on the wire: every external adapter's mock provider never
//! receives a canary value of any kind (an e-mail address, a phone number, a payment card,
//! an IBAN, IPv4 and IPv6 addresses, the person's own name and address), a text answer
//! comes back with the values restored, the generation lists what was withheld, a person
//! may send one prompt as written or turn minimisation off for their account, and
//! `/privacy` lists the recognisers.
//!
//! OpenAI (text and images) and Amazon Bedrock (images) are reached through the running
//! gateway as configured. The
//! image and video adapters (Stability, Luma, Runway, HeyGen) are refused by the routing
//! rules today (their terms do not rule out training), so their real adapters are driven
//! through the pipeline behind `Vouched`, which declares a policy that meets the promises
//! and forwards every call unchanged: what reaches the mock is what the adapter sends.

use std::sync::Arc;
use std::time::Duration;

use icecone_app::generation::Generations;
use icecone_app::generation::video::VideoJobs;
use icecone_app::jobs::Runner;
use icecone_app::providers::Entry;
use icecone_app::providers::router::{Router, RouterSettings};
use icecone_core::provider::ProviderId;
use icecone_core::provider::adapter::{
    GenerationRequest, ImageRequest, ImageSize, JobHandle, JobStatus, Prompt, ProviderAdapter,
    ProviderFuture, RemoteDeletion, Submission, VideoRequest,
};
use icecone_core::provider::policy::ProviderPolicy;
use icecone_core::usage::{Plans, Quota};
use icecone_gateway::config::JobsConfig;
use icecone_provider_bedrock::BedrockSettings;
use icecone_provider_bedrock::testing::{ACCESS_KEY_ID, SECRET_ACCESS_KEY};
use icecone_provider_http::fetch::MediaFetcher;
use icecone_provider_openai::OpenAiSettings;
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::routing::mount_openai_chat;
use crate::support::app::{Person, TestApp};

/// The person's display name, set before each test's generation.
const NAME: &str = "Zelda Canarywood";

/// A prompt with one canary of every kind, and the person's own name and address.
fn canary_prompt(own_email: &str) -> String {
    format!(
        "Write to canary.alice@example.com or call +44 20 7946 0958; card 4111 1111 1111 1111, \
         IBAN DE89 3704 0044 0532 0130 00, hosts 203.0.113.9 and 2001:db8::8a2e:370:7334. \
         Sign it {NAME} <{own_email}>."
    )
}

/// The prompt as the provider must receive it.
const MINIMISED: &str = "Write to [EMAIL_1] or call [PHONE_1]; card [CARD_1], \
     IBAN [IBAN_1], hosts [IP_1] and [IP_2]. Sign it [NAME_1] <[EMAIL_2]>.";

/// Every form of every canary that must never reach a provider.
fn canaries(own_email: &str) -> Vec<String> {
    [
        "canary.alice@example.com",
        "canary.alice",
        "+44 20 7946 0958",
        "442079460958",
        "7946 0958",
        "4111 1111 1111 1111",
        "4111111111111111",
        "DE89 3704 0044 0532 0130 00",
        "DE89370400440532013000",
        "203.0.113.9",
        "2001:db8::8a2e:370:7334",
        "8a2e:370:7334",
        NAME,
        "Canarywood",
        own_email,
    ]
    .into_iter()
    .map(str::to_owned)
    .collect()
}

/// Fails when any request `server` received carries a canary, in any form.
async fn assert_no_canary_reached(server: &MockServer, own_email: &str, provider: &str) {
    let requests = server.received_requests().await.expect("recorded");
    assert!(!requests.is_empty(), "{provider} was asked");
    for request in requests {
        let sent = format!(
            "{} {:?} {}",
            request.url,
            request.headers,
            String::from_utf8_lossy(&request.body)
        );
        for canary in canaries(own_email) {
            assert!(
                !sent.contains(&canary),
                "{provider} received `{canary}`: {sent}"
            );
        }
    }
}

async fn set_display_name(app: &TestApp, token: &str) {
    let body = app
        .graphql(
            Some(token),
            "mutation($name: String) { updateProfile(input: { displayName: $name }) { displayName } }",
            json!({ "name": NAME }),
        )
        .await;
    assert_eq!(body["data"]["updateProfile"]["displayName"], NAME, "{body}");
}

const TEXT: &str = "mutation G($input: GenerateTextInput!) { generateText(input: $input) { \
    id prompt minimized redactions { kind count } output { ... on TextOutput { text } } } }";

#[tokio::test]
async fn openai_text_never_receives_a_canary_and_the_answer_comes_back_restored() {
    const KEY: &str = "sk-minimise-test-key";
    let server = MockServer::start().await;
    // Answered only for the exact minimised prompt; the answer uses the placeholders.
    mount_openai_chat(
        &server,
        KEY,
        MINIMISED,
        40,
        "Dear [NAME_1], I wrote to [EMAIL_1] and kept [CARD_1] safe; [UNKNOWN_1] stays.",
    )
    .await;
    let base = format!("{}/v1", server.uri());
    let app = TestApp::spawn_with(|settings| {
        settings.providers.set(OpenAiSettings {
            api_key: Some(SecretString::from(KEY)),
            base_url: base,
            zdr_contract: Some("ZDR-2026-001".to_owned()),
            ..OpenAiSettings::default()
        });
    })
    .await;
    let own_email = "canary-owner@example.com";
    let Person {
        access_token: token,
        ..
    } = app.person(own_email).await;
    set_display_name(&app, &token).await;
    let prompt = canary_prompt(own_email);
    let body = app
        .graphql(
            Some(&token),
            TEXT,
            json!({ "input": { "prompt": prompt, "provider": "openai", "maxTokens": 40 } }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    let generation = &body["data"]["generateText"];
    assert_eq!(
        generation["output"]["text"],
        "Dear Zelda Canarywood, I wrote to canary.alice@example.com and kept \
         4111 1111 1111 1111 safe; [UNKNOWN_1] stays."
    );
    // The person's own prompt is kept as written; the provider saw placeholders.
    assert_eq!(generation["prompt"], prompt.as_str());
    assert_eq!(generation["minimized"], true);
    assert_eq!(
        generation["redactions"],
        json!([
            { "kind": "EMAIL", "count": 2 },
            { "kind": "PHONE", "count": 1 },
            { "kind": "PAYMENT_CARD", "count": 1 },
            { "kind": "IBAN", "count": 1 },
            { "kind": "IP_ADDRESS", "count": 2 },
            { "kind": "NAME", "count": 1 },
        ])
    );
    assert_no_canary_reached(&server, own_email, "openai").await;

    // Read back later, the redactions are those stored with the generation.
    let id = generation["id"].as_str().expect("id");
    let read = app
        .graphql(
            Some(&token),
            "query($id: ID!) { generation(id: $id) { redactions { kind count } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        read["data"]["generation"]["redactions"],
        generation["redactions"]
    );
}

/// A 1×1 PNG, as OpenAI's image API answers it (`b64_json`).
const PNG_B64: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

#[tokio::test]
async fn openai_images_never_receive_a_canary() {
    const KEY: &str = "sk-minimise-image-key";
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/images/generations"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "created": 1_764_000_000,
            "data": [{ "b64_json": PNG_B64 }],
        })))
        .mount(&server)
        .await;
    let base = format!("{}/v1", server.uri());
    let app = TestApp::spawn_with(|settings| {
        settings.providers.set(OpenAiSettings {
            api_key: Some(SecretString::from(KEY)),
            base_url: base,
            zdr_contract: Some("ZDR-2026-001".to_owned()),
            ..OpenAiSettings::default()
        });
    })
    .await;
    generate_canary_image(&app, "canary-painter@example.com", "openai").await;
    assert_no_canary_reached(&server, "canary-painter@example.com", "openai images").await;
}

/// A person named [`NAME`] with the address `own_email` generates an image from the
/// canary prompt through `provider`: it succeeds, and six kinds of value were withheld.
async fn generate_canary_image(app: &TestApp, own_email: &str, provider: &str) {
    let Person {
        access_token: token,
        ..
    } = app.person(own_email).await;
    set_display_name(app, &token).await;
    let body = app
        .graphql(
            Some(&token),
            "mutation($input: GenerateImageInput!) { generateImage(input: $input) { \
             status redactions { kind count } output { ... on MediaOutput { mimeType } } } }",
            json!({ "input": { "prompt": canary_prompt(own_email), "provider": provider } }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(body["data"]["generateImage"]["status"], "SUCCEEDED");
    assert_eq!(
        body["data"]["generateImage"]["redactions"]
            .as_array()
            .map(Vec::len),
        Some(6),
        "{body}"
    );
}

#[tokio::test]
async fn bedrock_never_receives_a_canary() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/model/amazon.nova-canvas-v1%3A0/invoke"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "images": [PNG_B64],
            "error": null
        })))
        .mount(&server)
        .await;
    let base = server.uri();
    let app = TestApp::spawn_with(|settings| {
        // An image never touches the output bucket: S3 is named, never reached.
        settings.providers.set(BedrockSettings {
            access_key_id: Some(SecretString::from(ACCESS_KEY_ID)),
            secret_access_key: Some(SecretString::from(SECRET_ACCESS_KEY)),
            base_url: base.clone(),
            s3_url: Some(base.clone()),
            output_bucket: Some("icecone-minimise".to_owned()),
            zdr_contract: Some("Bedrock data_retention_mode none".to_owned()),
            ..BedrockSettings::default()
        });
    })
    .await;
    let own_email = "canary-bedrock@example.com";
    generate_canary_image(&app, own_email, "bedrock").await;
    assert_no_canary_reached(&server, own_email, "bedrock images").await;
}

#[tokio::test]
async fn a_person_may_send_one_prompt_as_written_or_turn_minimisation_off_for_their_account() {
    const KEY: &str = "sk-minimise-choice-key";
    const PROMPT: &str = "Remind me to call +44 20 7946 0958";
    let server = MockServer::start().await;
    mount_openai_chat(&server, KEY, PROMPT, 20, "Noted: +44 20 7946 0958.").await;
    mount_openai_chat(&server, KEY, "Remind me to call [PHONE_1]", 20, "Noted.").await;
    let base = format!("{}/v1", server.uri());
    let app = TestApp::spawn_with(|settings| {
        settings.providers.set(OpenAiSettings {
            api_key: Some(SecretString::from(KEY)),
            base_url: base,
            zdr_contract: Some("ZDR-2026-001".to_owned()),
            ..OpenAiSettings::default()
        });
    })
    .await;
    let Person {
        id: account,
        access_token: token,
        ..
    } = app.person("chooser@example.com").await;
    let generate = |input: Value| {
        let app = &app;
        let token = &token;
        async move {
            let body = app
                .graphql(Some(token), TEXT, json!({ "input": input }))
                .await;
            assert!(body.get("errors").is_none(), "{body}");
            body["data"]["generateText"].clone()
        }
    };
    let me = "{ me { promptMinimization } }";
    assert_eq!(
        app.graphql(Some(&token), me, json!({})).await["data"]["me"]["promptMinimization"],
        true
    );

    // One request as written: the provider sees the number; nothing is listed as withheld.
    let written = generate(
        json!({ "prompt": PROMPT, "provider": "openai", "maxTokens": 20, "minimize": false }),
    )
    .await;
    assert_eq!(written["minimized"], false);
    assert_eq!(written["redactions"], json!([]));
    assert_eq!(written["output"]["text"], "Noted: +44 20 7946 0958.");

    // The account's default off: requests that do not say go as written ...
    let body = app
        .graphql(
            Some(&token),
            "mutation { setPromptMinimization(enabled: false) { promptMinimization } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["data"]["setPromptMinimization"]["promptMinimization"], false,
        "{body}"
    );
    let default_off =
        generate(json!({ "prompt": PROMPT, "provider": "openai", "maxTokens": 20 })).await;
    assert_eq!(default_off["minimized"], false);
    // ... and one that asks is minimised all the same.
    let asked = generate(
        json!({ "prompt": PROMPT, "provider": "openai", "maxTokens": 20, "minimize": true }),
    )
    .await;
    assert_eq!(asked["minimized"], true);
    assert_eq!(
        asked["redactions"],
        json!([{ "kind": "PHONE", "count": 1 }])
    );

    // `local` runs in-process: its prompt never leaves, so it is never minimised.
    app.graphql(
        Some(&token),
        "mutation { setPromptMinimization(enabled: true) { promptMinimization } }",
        json!({}),
    )
    .await;
    let local = generate(json!({ "prompt": PROMPT, "provider": "local" })).await;
    assert_eq!(local["minimized"], false);

    // Stored on the account (the export writes it as `account.promptMinimization`, which
    // its schema requires).
    let stored = app
        .db
        .store()
        .account(account)
        .await
        .expect("read")
        .expect("account");
    assert!(stored.minimize_prompts);
}

/// A real adapter behind a policy that meets the promises: every call goes through
/// unchanged, so the mock behind it receives exactly what the adapter sends.
#[derive(Debug)]
struct Vouched(Arc<dyn ProviderAdapter>);

impl ProviderAdapter for Vouched {
    fn id(&self) -> &ProviderId {
        self.0.id()
    }
    fn name(&self) -> &str {
        self.0.name()
    }
    fn policy(&self) -> &ProviderPolicy {
        &icecone_provider_local::POLICY
    }
    fn is_available(&self) -> bool {
        self.0.is_available()
    }
    fn submit<'a>(&'a self, request: &'a GenerationRequest) -> ProviderFuture<'a, Submission> {
        self.0.submit(request)
    }
    fn poll<'a>(&'a self, job: &'a JobHandle) -> ProviderFuture<'a, JobStatus> {
        self.0.poll(job)
    }
    fn cancel<'a>(&'a self, job: &'a JobHandle) -> ProviderFuture<'a, ()> {
        self.0.cancel(job)
    }
    fn delete_remote<'a>(&'a self, job: &'a JobHandle) -> ProviderFuture<'a, RemoteDeletion> {
        self.0.delete_remote(job)
    }
}

/// A fetcher with the default outbound policy: nothing is fetched in this test.
fn fetcher() -> MediaFetcher {
    let config = icecone_gateway::config::Settings::default()
        .resolve()
        .expect("valid settings");
    MediaFetcher::new(Duration::from_secs(5), config.outbound).expect("fetcher")
}

/// The real adapter `id`, pointed at `base`.
fn adapter(id: &str, base: &str) -> Arc<dyn ProviderAdapter> {
    use icecone_provider_http::settings::AdapterConfig;
    let key = Some(SecretString::from("test-key"));
    let built = match id {
        "stability" => icecone_provider_stability::StabilityConfig {
            base_url: base.to_owned(),
            ..icecone_provider_stability::StabilityConfig::new(key)
        }
        .build(),
        "luma" => icecone_provider_luma::LumaConfig {
            base_url: base.to_owned(),
            ..icecone_provider_luma::LumaConfig::new(key)
        }
        .build(),
        "runway" => icecone_provider_runway::RunwayConfig {
            base_url: base.to_owned(),
            ..icecone_provider_runway::RunwayConfig::new(key)
        }
        .build(),
        "heygen" => icecone_provider_heygen::HeyGenConfig {
            base_url: base.to_owned(),
            avatar_id: Some("avatar-1".to_owned()),
            ..icecone_provider_heygen::HeyGenConfig::new(key)
        }
        .build(),
        other => panic!("no adapter {other}"),
    };
    built.expect("adapter")
}

#[tokio::test]
async fn stability_luma_runway_and_heygen_never_receive_a_canary() {
    let app = TestApp::spawn_with(|settings| settings.job_workers = 0).await;
    let own_email = "canary-director@example.com";
    let Person {
        id: account,
        access_token: token,
        ..
    } = app.person(own_email).await;
    set_display_name(&app, &token).await;
    let (vault, _) = app.keys().await;
    let vault = Arc::new(vault);
    let store = app.db.store().clone();
    let person = store
        .account(account)
        .await
        .expect("read")
        .expect("account");
    let prompt = Prompt::parse(&canary_prompt(own_email)).expect("prompt");
    let plans = Plans {
        free: Quota {
            images: 10,
            video_seconds: 100,
            ..Quota::default()
        },
        pro: Quota::default(),
    };
    for id in ["stability", "luma", "runway", "heygen"] {
        let server = MockServer::start().await;
        // Whatever is asked is refused as invalid: not retried, nothing sent elsewhere.
        Mock::given(wiremock::matchers::any())
            .respond_with(ResponseTemplate::new(400).set_body_json(json!({ "error": "no" })))
            .mount(&server)
            .await;
        let base = match id {
            "runway" => format!("{}/v1", server.uri()),
            _ => server.uri(),
        };
        let router = Arc::new(Router::new(
            vec![Entry::new(Arc::new(Vouched(adapter(id, &base))), &[])],
            RouterSettings::new(0, Duration::from_secs(5)),
        ));
        let jobs = JobsConfig {
            workers: 1,
            poll_interval: Duration::from_millis(10),
            ..JobsConfig::default()
        };
        let generations =
            Generations::new(store.clone(), vault.clone(), router.clone(), plans).with_jobs(jobs);
        let provider = ProviderId::parse(id).expect("id");
        if id == "stability" {
            let request = GenerationRequest::Image(ImageRequest {
                prompt: prompt.clone(),
                size: ImageSize::Square,
            });
            let refused = generations
                .generate(&person, request, Some(&provider), None)
                .await;
            assert!(refused.is_err(), "{id} answered 400");
        } else {
            // A queued video: minimised again by its job just before submission.
            let queued = generations
                .enqueue_video(
                    &person,
                    VideoRequest {
                        prompt: prompt.clone(),
                        image: None,
                        duration_seconds: 4,
                    },
                    Some(&provider),
                    None,
                )
                .await
                .expect("queued");
            assert_eq!(
                queued.redactions.as_ref().map(|r| r.as_slice().len()),
                Some(6),
                "{id}"
            );
            let runner = Runner::new(
                store.clone(),
                vec![Arc::new(VideoJobs::new(
                    store.clone(),
                    vault.clone(),
                    router.clone(),
                    jobs,
                    fetcher(),
                ))],
                jobs,
            )
            .expect("declared");
            runner.run_next("test-worker").await.expect("ran");
            let after = store
                .generation_of(account, queued.id)
                .await
                .expect("read")
                .expect("row");
            assert_eq!(after.redactions, queued.redactions, "{id}");
        }
        assert_no_canary_reached(&server, own_email, id).await;
    }
}

#[tokio::test]
async fn the_privacy_page_lists_the_recognisers() {
    let app = TestApp::spawn().await;
    let page = app.get("/privacy").await;
    assert_eq!(page.status, 200);
    assert!(
        page.text.contains("<h2 id=\"minimisation\">"),
        "{}",
        page.text
    );
    let json = app.get("/privacy.json").await.json();
    let recognisers = json["minimisation"]["recognisers"]
        .as_array()
        .expect("recognisers");
    let kinds: Vec<&str> = recognisers
        .iter()
        .map(|r| r["kind"].as_str().expect("kind"))
        .collect();
    for kind in [
        "EMAIL",
        "PHONE",
        "PAYMENT_CARD",
        "IBAN",
        "IP_ADDRESS",
        "NAME",
    ] {
        assert!(kinds.contains(&kind), "{kind}: {kinds:?}");
    }
    for recogniser in recognisers {
        let description = recogniser["description"].as_str().expect("description");
        let shown = description.replace('\'', "&#39;");
        assert!(
            page.text.contains(description) || page.text.contains(&shown),
            "{description}"
        );
    }
    assert!(page.text.contains("<code>setPromptMinimization</code>"));
}

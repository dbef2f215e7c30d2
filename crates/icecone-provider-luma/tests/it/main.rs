//! The Luma Dream Machine adapter against a local mock speaking Luma's wire format
//! (wiremock). The mock asserts the exact outgoing request; no test touches the internet.

use std::time::Duration;

use icecone_core::provider::Capability;
use icecone_core::provider::adapter::{
    GenerationRequest, ImageRequest, ImageSize, InvalidRequest, JobHandle, JobStatus, MediaUrl,
    Prompt, ProviderAdapter, ProviderError, RemoteDeletion, RemoteMedia, Submission, TextRequest,
    VideoRequest,
};
use icecone_core::provider::policy::{
    OutputRetention, Region, Retention, TrainingUse, ZdrArrangement,
};
use icecone_provider_http::testing::{
    self, TIMEOUT, adapter_against_mock, answer_once, assert_error_hides, assert_nothing_sent,
    bearer,
};
use icecone_provider_luma::{DEFAULT_BASE_URL, ID, LumaConfig, LumaProvider, POLICY};
use icecone_spec_check::CheckedServer;
use secrecy::SecretString;
use serde_json::json;
use wiremock::http::HeaderMap;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, ResponseTemplate};

const KEY: &str = "luma-test-0123456789abcdef";
const PROMPT: &str = "a paper boat drifting down a rainy street";
const JOB: &str = "123e4567-e89b-12d3-a456-426614174000";

/// Where generations are created, under the mock's base URL.
const CREATE: &str = "/dream-machine/v1/generations/video";

/// A mock Luma and an adapter pointed at it. Every request the mock receives is checked
/// against Luma's wire contract (the fixture transcribed from Luma's Python SDK) when the
/// server is dropped.
async fn setup(adjust: impl FnOnce(&mut LumaConfig)) -> (CheckedServer, LumaProvider) {
    let (server, provider) = adapter_against_mock(|uri| {
        let mut config = LumaConfig::new(Some(SecretString::from(KEY)));
        config.base_url = format!("{uri}/dream-machine/v1");
        config.timeout = TIMEOUT;
        adjust(&mut config);
        LumaProvider::new(config)
    })
    .await;
    (icecone_spec_check::luma().guard(server), provider)
}

fn video_of(prompt: &str, image: Option<&str>, duration_seconds: u32) -> GenerationRequest {
    GenerationRequest::Video(VideoRequest {
        prompt: Prompt::parse(prompt).expect("valid prompt"),
        image: image.map(|url| MediaUrl::parse(url).expect("valid url")),
        duration_seconds,
    })
}

fn video() -> GenerationRequest {
    video_of(PROMPT, None, 5)
}

/// A Generation as Luma answers it; `failure_reason` and `request` echo the prompt.
fn generation(state: &str, video: Option<&str>) -> serde_json::Value {
    let mut generation = json!({
        "id": JOB,
        "generation_type": "video",
        "state": state,
        "failure_reason": if state == "failed" { json!(format!("400: prompt not allowed: {PROMPT}")) } else { json!(null) },
        "created_at": "2026-11-29T12:00:00.000Z",
        "assets": {},
        "model": "ray-2",
        "request": { "prompt": PROMPT, "model": "ray-2", "aspect_ratio": "16:9", "duration": "5s" }
    });
    if let Some(video) = video {
        generation["assets"]["video"] = json!(video);
    }
    generation
}

/// Luma's answer to a created generation (201), checked against its wire contract.
fn created(generation: serde_json::Value) -> ResponseTemplate {
    icecone_spec_check::luma().answer("POST", CREATE, 201, generation)
}

/// Luma's answer to `GET /generations/{id}` (200), checked against its wire contract.
fn found(generation: serde_json::Value) -> ResponseTemplate {
    icecone_spec_check::luma().answer("GET", &job_path(), 200, generation)
}

fn job() -> JobHandle {
    JobHandle::new(JOB)
}

fn job_path() -> String {
    format!("/dream-machine/v1/generations/{JOB}")
}

/// Luma's error answer to `method path`, `{"detail": "…"}`, checked against its wire
/// contract: the SDK types no error body (any status outside 2XX raises its
/// `APIStatusError` with the body as it came), so the contract takes any JSON there, and
/// `detail` is the field the adapter reads for moderation.
fn error_answer(method: &str, path: &str, status: u16, detail: &str) -> ResponseTemplate {
    icecone_spec_check::luma().answer(method, path, status, json!({ "detail": detail }))
}

/// [`error_answer`] to `POST /generations/video`.
fn create_error(status: u16, detail: &str) -> ResponseTemplate {
    error_answer("POST", CREATE, status, detail)
}

/// [`error_answer`] to `method /generations/{id}`.
fn job_error(method: &str, status: u16, detail: &str) -> ResponseTemplate {
    error_answer(method, &job_path(), status, detail)
}

/// Submits `request` to a mock answering every POST with `answer`.
async fn answer_with(answer: ResponseTemplate, request: GenerationRequest) -> ProviderError {
    let (server, provider) = setup(|_| {}).await;
    testing::submit_answered(&server, &provider, &request, answer).await
}

/// Polls a mock answering every GET with `answer`.
async fn poll_with(answer: ResponseTemplate) -> Result<JobStatus, ProviderError> {
    let (server, provider) = setup(|_| {}).await;
    let expected = Mock::given(method("GET"))
        .and(path(job_path()))
        .and(bearer(KEY));
    answer_once(&server, expected, answer).await;
    provider.poll(&job()).await
}

#[tokio::test]
async fn a_generation_sends_only_the_prompt_and_parameters_and_answers_a_pending_job() {
    // (request, expected body)
    let cases = [
        (
            video_of(PROMPT, None, 5),
            json!({ "prompt": PROMPT, "model": "ray-2", "aspect_ratio": "16:9", "duration": "5s" }),
        ),
        (
            video_of(PROMPT, None, 9),
            json!({ "prompt": PROMPT, "model": "ray-2", "aspect_ratio": "16:9", "duration": "9s" }),
        ),
        (
            video_of(PROMPT, Some("https://images.example.com/start.jpg"), 6),
            json!({
                "prompt": PROMPT,
                "model": "ray-2",
                "aspect_ratio": "16:9",
                "duration": "9s",
                "keyframes": { "frame0": { "type": "image", "url": "https://images.example.com/start.jpg" } }
            }),
        ),
    ];
    for (index, (request, body)) in cases.into_iter().enumerate() {
        let (server, provider) = setup(|_| {}).await;
        Mock::given(method("POST"))
            .and(path(CREATE))
            .and(bearer(KEY))
            .and(header("content-type", "application/json"))
            // The whole body, exactly: nothing about the person, no callback URL.
            .and(body_json(body))
            .respond_with(created(generation("queued", None)))
            .expect(1)
            .mount(&server)
            .await;
        let submitted = provider.submit(&request).await.expect("pending");
        assert_eq!(submitted, Submission::Pending(job()), "case {index}");
    }

    // The configured model and aspect ratio are the ones sent.
    let (server, provider) = setup(|config| {
        config.model = "ray-flash-2".to_owned();
        config.aspect_ratio = "9:16".to_owned();
    })
    .await;
    Mock::given(method("POST"))
        .and(body_json(json!({
            "prompt": PROMPT, "model": "ray-flash-2", "aspect_ratio": "9:16", "duration": "5s"
        })))
        .respond_with(created(generation("queued", None)))
        .expect(1)
        .mount(&server)
        .await;
    provider.submit(&video()).await.expect("pending");
}

#[tokio::test]
async fn polling_maps_queued_dreaming_completed_and_failed() {
    for state in ["queued", "dreaming"] {
        assert_eq!(
            poll_with(found(generation(state, None))).await,
            Ok(JobStatus::Running),
            "{state}"
        );
    }
    let video_url = "https://storage.cdn-luma.com/dream_machine/abc/video.mp4?sig=secret";
    assert_eq!(
        poll_with(found(generation("completed", Some(video_url)))).await,
        Ok(JobStatus::Ready(RemoteMedia {
            url: MediaUrl::parse(video_url).expect("valid"),
            mime_type: "video/mp4"
        }))
    );
    let failed = poll_with(found(generation("failed", None)))
        .await
        .expect_err("failed");
    assert_eq!(failed, ProviderError::JobFailed);
    // The failure reason quotes the prompt: it is not kept.
    assert_error_hides(&failed, &["paper boat"]);
}

#[tokio::test]
async fn a_completed_generation_without_a_usable_video_url_is_malformed() {
    for video in [
        Some("ftp://storage.cdn-luma.com/video.mp4"),
        Some("file:///etc/passwd"),
        Some("javascript:alert(1)"),
        Some(""),
        None,
    ] {
        assert_eq!(
            poll_with(found(generation("completed", video))).await,
            Err(ProviderError::Malformed),
            "{video:?}"
        );
    }
    let unknown_state =
        // Not a state Luma's SDK lists: built by hand, as no real answer would carry it.
        poll_with(ResponseTemplate::new(200).set_body_json(generation("exploded", None))).await;
    assert_eq!(unknown_state, Err(ProviderError::Malformed));
}

#[tokio::test]
async fn polling_a_generation_luma_does_not_know_is_an_unknown_job() {
    assert_eq!(
        poll_with(job_error("GET", 404, "Generation not found")).await,
        Err(ProviderError::UnknownJob)
    );
    // An id Luma could not have given never reaches the network.
    let (server, provider) = setup(|_| {}).await;
    for id in ["", "../../account", "a/b", "x?y=1", &"a".repeat(129)] {
        let handle = JobHandle::new(id);
        assert_eq!(
            provider.poll(&handle).await,
            Err(ProviderError::UnknownJob),
            "{id}"
        );
        assert_eq!(
            provider.delete_remote(&handle).await,
            Err(ProviderError::UnknownJob),
            "{id}"
        );
    }
    assert_nothing_sent(&server).await;
}

#[tokio::test]
async fn cancel_and_delete_send_delete_and_a_gone_generation_counts_as_deleted() {
    let (server, provider) = setup(|_| {}).await;
    Mock::given(method("DELETE"))
        .and(path(job_path()))
        .and(bearer(KEY))
        .respond_with(icecone_spec_check::luma().empty_answer("DELETE", &job_path(), 204))
        .expect(2)
        .mount(&server)
        .await;
    provider.cancel(&job()).await.expect("cancelled");
    assert_eq!(
        provider.delete_remote(&job()).await,
        Ok(RemoteDeletion::Deleted)
    );
    let received = server.received_requests().await.expect("recorded");
    assert!(received.iter().all(|request| request.body.is_empty()));

    let (server, provider) = setup(|_| {}).await;
    Mock::given(method("DELETE"))
        .and(path(job_path()))
        .respond_with(job_error("DELETE", 404, "Generation not found"))
        .expect(2)
        .mount(&server)
        .await;
    assert_eq!(
        provider.delete_remote(&job()).await,
        Ok(RemoteDeletion::Deleted)
    );
    assert_eq!(
        provider.cancel(&job()).await,
        Err(ProviderError::UnknownJob)
    );

    // Any other failure is reported, not taken for a deletion.
    let (server, provider) = setup(|_| {}).await;
    Mock::given(method("DELETE"))
        .respond_with(job_error("DELETE", 503, "Service unavailable"))
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(
        provider.delete_remote(&job()).await,
        Err(ProviderError::Unavailable { status: 503 })
    );
}

#[tokio::test]
async fn a_bad_key_is_unauthorized_and_the_error_shows_neither_key_nor_message() {
    let error = answer_with(
        create_error(401, &format!("Invalid API key {KEY} for: {PROMPT}")),
        video(),
    )
    .await;
    assert_eq!(error, ProviderError::Unauthorized);
    assert_error_hides(&error, &["luma-test", "paper boat"]);
    assert_eq!(
        poll_with(job_error("GET", 401, "Invalid API key")).await,
        Err(ProviderError::Unauthorized)
    );
}

#[tokio::test]
async fn rate_limits_carry_retry_after_when_given_and_spent_credit_is_quota_exhausted() {
    let limited = || create_error(429, "Too many requests");
    let with_header = answer_with(limited().insert_header("retry-after", "4"), video()).await;
    assert_eq!(
        with_header,
        ProviderError::RateLimited {
            retry_after: Some(Duration::from_secs(4))
        }
    );
    let without = answer_with(limited(), video()).await;
    assert_eq!(without, ProviderError::RateLimited { retry_after: None });
    let credit = answer_with(create_error(402, "Insufficient credits"), video()).await;
    assert_eq!(credit, ProviderError::QuotaExhausted);
}

#[tokio::test]
async fn server_errors_500_and_503_are_transient_unavailability() {
    for status in [500u16, 503] {
        let error = answer_with(create_error(status, "Internal server error"), video()).await;
        assert_eq!(error, ProviderError::Unavailable { status });
        assert!(error.is_transient());
        assert_eq!(
            poll_with(job_error("GET", status, "Internal server error")).await,
            Err(ProviderError::Unavailable { status })
        );
    }
}

#[tokio::test]
async fn a_provider_slower_than_the_timeout_is_a_timeout() {
    let (server, provider) = setup(|config| config.timeout = Duration::from_millis(200)).await;
    Mock::given(method("POST"))
        .respond_with(created(generation("queued", None)).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(found(generation("dreaming", None)).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    assert_eq!(provider.submit(&video()).await, Err(ProviderError::Timeout));
    assert_eq!(provider.poll(&job()).await, Err(ProviderError::Timeout));
}

#[tokio::test]
async fn malformed_answers_are_malformed() {
    // Answers no real Luma gives: built by hand, not through the wire contract.
    let cases = [
        ResponseTemplate::new(201).set_body_string("{\"id\": \"123e4567"),
        ResponseTemplate::new(201).set_body_json(json!({ "state": "queued" })),
        ResponseTemplate::new(201).set_body_json(json!({ "id": "../other", "state": "queued" })),
        ResponseTemplate::new(201).set_body_json(json!({ "id": "", "state": "queued" })),
    ];
    for (index, answer) in cases.into_iter().enumerate() {
        assert_eq!(
            answer_with(answer, video()).await,
            ProviderError::Malformed,
            "case {index}"
        );
    }
    assert_eq!(
        poll_with(ResponseTemplate::new(200).set_body_string("<html>oops</html>")).await,
        Err(ProviderError::Malformed)
    );
}

#[tokio::test]
async fn moderation_refusals_are_refusals_not_failures() {
    let refused = answer_with(
        create_error(400, "Prompt not allowed because advanced moderation failed"),
        video(),
    )
    .await;
    assert_eq!(refused, ProviderError::ContentPolicy);
    assert!(!refused.is_transient() && !refused.counts_against_provider());
    // Any other 400 is a refused parameter, not a content decision.
    let rejected = answer_with(create_error(400, "Invalid aspect ratio"), video()).await;
    assert_eq!(
        rejected,
        ProviderError::InvalidRequest(InvalidRequest::Rejected { status: 400 })
    );
    // FastAPI's validation shape, `detail` a list: the SDK takes it as any error body. A
    // list that mentions moderation is still not a refusal.
    let validation = answer_with(
        icecone_spec_check::luma().answer("POST", CREATE, 422, json!({
            "detail": [{ "loc": ["body", "duration"], "msg": "moderation of the field", "type": "value_error" }]
        })),
        video(),
    )
    .await;
    assert_eq!(
        validation,
        ProviderError::InvalidRequest(InvalidRequest::Rejected { status: 422 })
    );
}

#[tokio::test]
async fn empty_oversized_and_unsupported_requests_are_refused_before_any_request_is_sent() {
    let (server, provider) = setup(|config| config.max_prompt_chars = 10).await;
    Mock::given(method("POST"))
        .respond_with(created(generation("queued", None)))
        .expect(0)
        .mount(&server)
        .await;
    assert_eq!(Prompt::parse(""), Err(InvalidRequest::EmptyPrompt));
    assert_eq!(Prompt::parse("  \n"), Err(InvalidRequest::EmptyPrompt));
    assert_eq!(
        provider.submit(&video_of("eleven char", None, 5)).await,
        Err(ProviderError::InvalidRequest(
            InvalidRequest::PromptTooLong { max_chars: 10 }
        ))
    );
    let text = GenerationRequest::Text(TextRequest {
        prompt: Prompt::parse("tiny").expect("valid"),
        max_tokens: None,
    });
    let image = GenerationRequest::Image(ImageRequest {
        prompt: Prompt::parse("tiny").expect("valid"),
        size: ImageSize::Square,
    });
    for (request, capability) in [(text, Capability::Text), (image, Capability::Image)] {
        assert_eq!(
            provider.submit(&request).await,
            Err(ProviderError::InvalidRequest(InvalidRequest::Unsupported(
                capability
            )))
        );
    }
    assert_nothing_sent(&server).await;
}

#[tokio::test]
async fn without_a_key_the_adapter_is_unavailable_and_sends_nothing() {
    let (server, provider) = setup(|config| config.api_key = None).await;
    assert!(!provider.is_available());
    assert_eq!(
        provider.submit(&video()).await,
        Err(ProviderError::Unauthorized)
    );
    assert_eq!(
        provider.poll(&job()).await,
        Err(ProviderError::Unauthorized)
    );
    assert_eq!(
        provider.delete_remote(&job()).await,
        Err(ProviderError::Unauthorized)
    );
    assert_nothing_sent(&server).await;
}

#[tokio::test]
async fn a_key_set_at_run_time_makes_the_adapter_available_and_replaces_the_old_one() {
    let replacement = "luma-rotated-fedcba9876543210";
    for configured in [None, Some(SecretString::from(KEY))] {
        let (server, provider) = setup(|config| config.api_key = configured).await;
        Mock::given(method("POST"))
            .and(bearer(replacement))
            .respond_with(created(generation("queued", None)))
            .expect(1)
            .mount(&server)
            .await;
        testing::set_key_at_run_time(&provider, replacement);
        assert_eq!(
            provider.submit(&video()).await,
            Ok(Submission::Pending(job()))
        );
        testing::assert_debug_hides(&provider, &[replacement, KEY]);
    }
}

#[test]
fn the_create_call_is_lumas_and_the_path_it_replaced_is_not_in_the_spec() {
    // Luma moved creation to `/generations/video` (May 2025, SDK 1.11.0); `POST /generations`
    // is no operation of the wire contract. This is the check the adapter's requests go
    // through.
    let spec = icecone_spec_check::luma();
    let mut headers = HeaderMap::new();
    headers.insert("content-type", "application/json".parse().expect("header"));
    let body =
        json!({ "prompt": PROMPT, "model": "ray-2", "aspect_ratio": "16:9", "duration": "5s" });
    let body = body.to_string();
    assert!(
        spec.check_request("POST", CREATE, &headers, body.as_bytes())
            .is_ok()
    );
    let old = spec
        .check_request(
            "POST",
            "/dream-machine/v1/generations",
            &headers,
            body.as_bytes(),
        )
        .expect_err("not an operation");
    assert!(old.to_string().contains("no operation POST"), "{old}");
    // A field Luma does not take fails too.
    let misspelt = json!({ "prompt": PROMPT, "model": "ray-2", "aspect": "16:9" }).to_string();
    assert!(
        spec.check_request("POST", CREATE, &headers, misspelt.as_bytes())
            .is_err()
    );
}

#[test]
fn configuration_defaults_and_base_urls() {
    let config = LumaConfig::new(None);
    // The defaults are values Luma's SDK lists for `client.generations.video.create`.
    let spec = icecone_spec_check::luma();
    let params = "/paths/~1generations~1video/post/requestBody/content/application~1json/schema";
    assert!(
        spec.enumeration(&format!("{params}/properties/model"))
            .contains(&config.model)
    );
    assert!(
        spec.enumeration(&format!("{params}/properties/aspect_ratio"))
            .contains(&config.aspect_ratio)
    );
    assert_eq!(config.base_url, DEFAULT_BASE_URL);
    assert_eq!(DEFAULT_BASE_URL, "https://api.lumalabs.ai/dream-machine/v1");
    assert_eq!(config.model, "ray-2");
    assert_eq!(config.aspect_ratio, "16:9");
    assert_eq!(ID, "luma");
    assert!(
        LumaProvider::new(LumaConfig {
            base_url: "lumalabs.ai".to_owned(),
            ..LumaConfig::new(None)
        })
        .is_err()
    );
    let provider = LumaProvider::new(LumaConfig::new(None)).expect("builds");
    assert_eq!(provider.id().as_str(), "luma");
    assert_eq!(provider.policy(), &POLICY);
}

#[test]
fn the_luma_policy_claims_only_what_its_quoted_sources_say() {
    assert_eq!(POLICY.capabilities, &[Capability::Video]);
    assert_eq!(POLICY.training_use.value(), TrainingUse::Unknown);
    assert_eq!(POLICY.retention.value(), Retention::Unknown);
    assert_eq!(POLICY.zero_data_retention.value(), ZdrArrangement::Unknown);
    assert_eq!(
        POLICY.output_retention.value(),
        OutputRetention::DeleteOnRequest
    );
    assert_eq!(
        POLICY.output_retention.source().quote,
        Some("Remove a specific generation by its ID")
    );
    assert_eq!(POLICY.region.value(), Region::Unknown);
}

//! The Runway adapter against a local mock speaking Runway's wire format (wiremock). The
//! mock asserts the exact outgoing request; no test touches the internet.
//!
//! Runway publishes no OpenAPI document: the wire types are pinned to its Node SDK,
//! `runwayml/sdk-node` 4.12.0 (commit `ecb7e33b9c944047fbab3f21cbba610ba4b2d6e6`,
//! 2026-07-23), transcribed into `icecone_spec_check::runway()`, against which every request
//! sent (path, method, `X-Runway-Version`, body) and every realistic answer is checked.
//! Runway's error bodies are free text, which the SDK does not type: those answers are built
//! by hand.

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
    self, TIMEOUT, adapter_against_mock, answer_once, assert_nothing_sent, bearer,
};
use icecone_provider_runway::{POLICY, RunwayConfig, RunwayProvider};
use icecone_spec_check::CheckedServer;
use secrecy::SecretString;
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, ResponseTemplate};

const KEY: &str = "key_0123456789abcdef0123456789abcdef";
const PROMPT: &str = "A paper boat drifting down a rainy street";
const IMAGE: &str = "https://cdn.example.com/inputs/boat.png";
const TASK: &str = "17f20503-6c24-4c16-946b-35dbbce2af2f";

/// A mock Runway and an adapter pointed at it. Every request the mock receives is checked
/// against the SDK's types when the server is dropped.
async fn setup(adjust: impl FnOnce(&mut RunwayConfig)) -> (CheckedServer, RunwayProvider) {
    let (server, provider) = adapter_against_mock(|uri| {
        let mut config = RunwayConfig::new(Some(SecretString::from(KEY)));
        config.base_url = format!("{uri}/v1");
        config.timeout = TIMEOUT;
        adjust(&mut config);
        RunwayProvider::new(config)
    })
    .await;
    (icecone_spec_check::runway().guard(server), provider)
}

/// Runway's answer to a task's creation, `{"id": …}`, checked against the SDK's types.
fn created(endpoint: &str) -> ResponseTemplate {
    icecone_spec_check::runway().answer("POST", endpoint, 200, json!({ "id": TASK }))
}

/// Runway's answer to `GET /v1/tasks/{id}`, checked against the SDK's types.
fn found(task: serde_json::Value) -> ResponseTemplate {
    icecone_spec_check::runway().answer("GET", &format!("/v1/tasks/{TASK}"), 200, task)
}

fn video(prompt: &str, image: Option<&str>, duration_seconds: u32) -> GenerationRequest {
    GenerationRequest::Video(VideoRequest {
        prompt: Prompt::parse(prompt).expect("valid prompt"),
        image: image.map(|url| MediaUrl::parse(url).expect("valid URL")),
        duration_seconds,
    })
}

fn from_image() -> GenerationRequest {
    video(PROMPT, Some(IMAGE), 5)
}

/// Submits an image-to-video request to a mock answering `answer`.
async fn submit_answered(answer: ResponseTemplate) -> ProviderError {
    let (server, provider) = setup(|_| {}).await;
    testing::submit_answered(&server, &provider, &from_image(), answer).await
}

/// Polls a task from a mock answering `answer`.
async fn poll_answered(answer: ResponseTemplate) -> Result<JobStatus, ProviderError> {
    let (server, provider) = setup(|_| {}).await;
    let expected = Mock::given(method("GET"))
        .and(path(format!("/v1/tasks/{TASK}")))
        .and(bearer(KEY))
        .and(header("x-runway-version", "2024-11-06"));
    answer_once(&server, expected, answer).await;
    provider.poll(&JobHandle::new(TASK)).await
}

/// A task as the SDK types it: `RUNNING` carries `progress`, `FAILED` a free-text
/// `failure` (which may quote the prompt), `SUCCEEDED` its `output`.
fn task(status: &str) -> serde_json::Value {
    let mut task = json!({ "id": TASK, "status": status, "createdAt": "2026-11-29T10:00:00.000Z" });
    match status {
        "RUNNING" => task["progress"] = json!(0.4),
        "FAILED" => task["failure"] = json!(format!("An unexpected error occurred: {PROMPT}")),
        "SUCCEEDED" => task["output"] = json!([]),
        _ => {}
    }
    task
}

#[tokio::test]
async fn image_to_video_sends_only_the_prompt_image_and_parameters_and_returns_the_task() {
    let (server, provider) = setup(|_| {}).await;
    Mock::given(method("POST"))
        .and(path("/v1/image_to_video"))
        .and(bearer(KEY))
        .and(header("x-runway-version", "2024-11-06"))
        .and(header("content-type", "application/json"))
        // The whole body, exactly: nothing about the person.
        .and(body_json(json!({
            "model": "gen4_turbo",
            "promptImage": IMAGE,
            "promptText": PROMPT,
            "ratio": "1280:720",
            "duration": 10
        })))
        .respond_with(created("/v1/image_to_video"))
        .expect(1)
        .mount(&server)
        .await;
    // 9 s is nearer 10 than 5.
    let submitted = provider
        .submit(&video(PROMPT, Some(IMAGE), 9))
        .await
        .expect("submitted");
    assert_eq!(submitted, Submission::Pending(JobHandle::new(TASK)));
}

#[tokio::test]
async fn a_prompt_alone_goes_to_text_to_video_with_a_duration_the_model_accepts() {
    // (configured text model, requested seconds, duration sent)
    for (model, requested, sent) in [("gen4.5", 5, 5), ("gen4.5", 30, 10), ("veo3.1", 5, 4)] {
        let (server, provider) = setup(|config| config.text_model = Some(model.to_owned())).await;
        Mock::given(method("POST"))
            .and(path("/v1/text_to_video"))
            .and(bearer(KEY))
            .and(header("x-runway-version", "2024-11-06"))
            .and(body_json(json!({
                "model": model,
                "promptText": PROMPT,
                "ratio": "1280:720",
                "duration": sent
            })))
            .respond_with(created("/v1/text_to_video"))
            .expect(1)
            .mount(&server)
            .await;
        let submitted = provider
            .submit(&video(PROMPT, None, requested))
            .await
            .expect("submitted");
        assert_eq!(
            submitted,
            Submission::Pending(JobHandle::new(TASK)),
            "{model}"
        );
    }
}

#[tokio::test]
async fn the_ratio_sent_is_one_the_model_takes_and_a_shape_it_lacks_is_refused_before_sending() {
    // (configured ratio, text model, ratio sent): gen4.5's text-to-video takes only
    // 1280:720 and 720:1280, so 1920:1080 is sent as its landscape ratio; veo3.1 takes it.
    for (configured, model, sent) in [
        ("1920:1080", "gen4.5", "1280:720"),
        ("1080:1920", "gen4.5", "720:1280"),
        ("1920:1080", "veo3.1", "1920:1080"),
    ] {
        let (server, provider) = setup(|config| {
            config.ratio = configured.to_owned();
            config.text_model = Some(model.to_owned());
        })
        .await;
        Mock::given(method("POST"))
            .and(path("/v1/text_to_video"))
            .and(body_json(json!({
                "model": model,
                "promptText": PROMPT,
                "ratio": sent,
                "duration": if model == "veo3.1" { 4 } else { 5 }
            })))
            .respond_with(created("/v1/text_to_video"))
            .expect(1)
            .mount(&server)
            .await;
        provider
            .submit(&video(PROMPT, None, 5))
            .await
            .expect("submitted");
    }
    // A square output: gen4_turbo makes one from an image, gen4.5 has none from text alone.
    let (server, provider) = setup(|config| config.ratio = "960:960".to_owned()).await;
    Mock::given(method("POST"))
        .and(path("/v1/image_to_video"))
        .and(body_json(json!({
            "model": "gen4_turbo",
            "promptImage": IMAGE,
            "promptText": PROMPT,
            "ratio": "960:960",
            "duration": 5
        })))
        .respond_with(created("/v1/image_to_video"))
        .expect(1)
        .mount(&server)
        .await;
    provider.submit(&from_image()).await.expect("submitted");
    let error = provider
        .submit(&video(PROMPT, None, 5))
        .await
        .expect_err("gen4.5 makes no square video from text");
    assert_eq!(
        error,
        ProviderError::InvalidRequest(InvalidRequest::Unsupported(Capability::Video))
    );
    assert!(!error.counts_against_provider());
    let received = server.received_requests().await.expect("recorded");
    assert_eq!(received.len(), 1, "only the image-to-video request is sent");
}

#[tokio::test]
async fn a_prompt_alone_is_refused_before_any_request_without_a_text_to_video_model() {
    for text_model in [None, Some("gen4_turbo".to_owned()), Some("gen2".to_owned())] {
        let (server, provider) = setup(|config| config.text_model = text_model.clone()).await;
        let error = provider
            .submit(&video(PROMPT, None, 5))
            .await
            .expect_err("no text-only path");
        assert_eq!(
            error,
            ProviderError::InvalidRequest(InvalidRequest::Unsupported(Capability::Video)),
            "{text_model:?}"
        );
        assert!(!error.counts_against_provider());
        assert_nothing_sent(&server).await;
    }
    // An image model Runway does not document durations for is refused the same way.
    let (server, provider) = setup(|config| config.image_model = "gen2".to_owned()).await;
    assert!(matches!(
        provider.submit(&from_image()).await,
        Err(ProviderError::InvalidRequest(InvalidRequest::Unsupported(
            Capability::Video
        )))
    ));
    assert_nothing_sent(&server).await;
}

#[tokio::test]
async fn a_bad_key_is_unauthorized_and_the_error_shows_neither_key_nor_message() {
    let error = submit_answered(ResponseTemplate::new(401).set_body_json(json!({
        "error": format!("Invalid API key {KEY} for request: {PROMPT}")
    })))
    .await;
    assert_eq!(error, ProviderError::Unauthorized);
    testing::assert_error_hides(&error, &["key_0123", "paper boat"]);
}

#[tokio::test]
async fn rate_limits_carry_retry_after_when_given() {
    let limited =
        || ResponseTemplate::new(429).set_body_json(json!({ "error": "Too many requests" }));
    let with_header = submit_answered(limited().insert_header("retry-after", "12")).await;
    assert_eq!(
        with_header,
        ProviderError::RateLimited {
            retry_after: Some(Duration::from_secs(12))
        }
    );
    assert!(with_header.is_transient());
    let without = submit_answered(limited()).await;
    assert_eq!(without, ProviderError::RateLimited { retry_after: None });
}

#[tokio::test]
async fn server_errors_500_and_503_are_transient_unavailability() {
    for status in [500u16, 503] {
        let error = submit_answered(
            ResponseTemplate::new(status).set_body_json(json!({ "error": "Internal error" })),
        )
        .await;
        assert_eq!(error, ProviderError::Unavailable { status });
        assert!(error.is_transient());
    }
    let polled =
        poll_answered(ResponseTemplate::new(503).set_body_string("<html>busy</html>")).await;
    assert_eq!(polled, Err(ProviderError::Unavailable { status: 503 }));
}

#[tokio::test]
async fn a_provider_slower_than_the_timeout_is_a_timeout() {
    let (server, provider) = setup(|config| config.timeout = Duration::from_millis(200)).await;
    Mock::given(method("POST"))
        .respond_with(created("/v1/image_to_video").set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let error = provider.submit(&from_image()).await.expect_err("too slow");
    assert_eq!(error, ProviderError::Timeout);
}

#[tokio::test]
async fn malformed_answers_are_malformed() {
    // Answers no real Runway gives: built by hand, not through the SDK's types.
    for answer in [
        ResponseTemplate::new(200).set_body_string("{\"id\": "),
        ResponseTemplate::new(200).set_body_json(json!({ "task": TASK })),
        ResponseTemplate::new(200).set_body_json(json!({ "id": "" })),
    ] {
        assert_eq!(submit_answered(answer).await, ProviderError::Malformed);
    }
    for answer in [
        ResponseTemplate::new(200).set_body_string("not json"),
        // Succeeded without an output URL, and a status the SDK does not know.
        found(task("SUCCEEDED")),
        ResponseTemplate::new(200).set_body_json(task("EXPLODED")),
    ] {
        assert_eq!(poll_answered(answer).await, Err(ProviderError::Malformed));
    }
}

#[tokio::test]
async fn a_bad_request_is_a_rejected_parameter_not_a_provider_failure() {
    let error = submit_answered(ResponseTemplate::new(400).set_body_json(json!({
        "error": "Validation of body failed",
        "issues": [{ "path": ["promptImage"], "message": "Only HTTPS URLs are allowed." }]
    })))
    .await;
    assert_eq!(
        error,
        ProviderError::InvalidRequest(InvalidRequest::Rejected { status: 400 })
    );
    assert!(!error.counts_against_provider());
}

#[tokio::test]
async fn empty_and_oversized_prompts_are_refused_before_any_request_is_sent() {
    let (server, provider) = setup(|config| config.max_prompt_chars = 10).await;
    assert_eq!(Prompt::parse(""), Err(InvalidRequest::EmptyPrompt));
    assert_eq!(Prompt::parse(" \n "), Err(InvalidRequest::EmptyPrompt));
    assert_eq!(
        provider.submit(&video("eleven char", Some(IMAGE), 5)).await,
        Err(ProviderError::InvalidRequest(
            InvalidRequest::PromptTooLong { max_chars: 10 }
        ))
    );
    assert_nothing_sent(&server).await;

    // Runway counts UTF-16 code units: 600 emoji are 600 characters but 1,200 units.
    let (server, provider) = setup(|config| config.max_prompt_chars = 5_000).await;
    let emoji = "🌊".repeat(600);
    assert_eq!(
        provider.submit(&video(&emoji, Some(IMAGE), 5)).await,
        Err(ProviderError::InvalidRequest(
            InvalidRequest::PromptTooLong { max_chars: 1_000 }
        ))
    );
    // Text and images are not Runway's here.
    for request in [
        GenerationRequest::Text(TextRequest {
            prompt: Prompt::parse("hi").expect("valid"),
            max_tokens: None,
        }),
        GenerationRequest::Image(ImageRequest {
            prompt: Prompt::parse("hi").expect("valid"),
            size: ImageSize::Square,
        }),
    ] {
        assert_eq!(
            provider.submit(&request).await,
            Err(ProviderError::InvalidRequest(InvalidRequest::Unsupported(
                request.capability()
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
        provider.submit(&from_image()).await,
        Err(ProviderError::Unauthorized)
    );
    let job = JobHandle::new(TASK);
    assert_eq!(provider.poll(&job).await, Err(ProviderError::Unauthorized));
    assert_eq!(
        provider.delete_remote(&job).await,
        Err(ProviderError::Unauthorized)
    );
    assert_nothing_sent(&server).await;
}

#[tokio::test]
async fn a_key_set_at_run_time_makes_the_adapter_available_and_replaces_the_old_one() {
    let (server, provider) = setup(|config| config.api_key = None).await;
    let replacement = "key_rotatedfedcba9876543210fedcba98";
    Mock::given(method("POST"))
        .and(path("/v1/image_to_video"))
        .and(bearer(replacement))
        .and(header("x-runway-version", "2024-11-06"))
        .respond_with(created("/v1/image_to_video"))
        .expect(1)
        .mount(&server)
        .await;
    testing::set_key_at_run_time(&provider, replacement);
    provider
        .submit(&from_image())
        .await
        .expect("the mock accepts the new key");
    testing::assert_debug_hides(&provider, &[replacement, KEY]);
}

#[tokio::test]
async fn polling_maps_every_task_state() {
    for status in ["PENDING", "THROTTLED", "RUNNING"] {
        assert_eq!(
            poll_answered(found(task(status))).await,
            Ok(JobStatus::Running),
            "{status}"
        );
    }
    let signed = "https://dnznrvs05pmza.cloudfront.net/out/video.mp4?_jwt=secret";
    let mut succeeded = task("SUCCEEDED");
    succeeded["output"] = json!([signed]);
    assert_eq!(
        poll_answered(found(succeeded)).await,
        Ok(JobStatus::Ready(RemoteMedia {
            url: MediaUrl::parse(signed).expect("valid"),
            mime_type: "video/mp4"
        }))
    );
    assert_eq!(
        poll_answered(found(task("CANCELLED"))).await,
        Ok(JobStatus::Cancelled)
    );
}

#[tokio::test]
async fn a_succeeded_task_whose_output_is_not_an_http_url_is_malformed() {
    for output in [
        "file:///etc/passwd",
        "data:video/mp4;base64,AAAA",
        "ftp://x/y.mp4",
    ] {
        let mut succeeded = task("SUCCEEDED");
        succeeded["output"] = json!([output]);
        assert_eq!(
            poll_answered(found(succeeded)).await,
            Err(ProviderError::Malformed),
            "{output}"
        );
    }
}

#[tokio::test]
async fn a_failed_task_is_a_job_failure_and_a_moderation_failure_a_refusal_without_its_text() {
    let mut failed = task("FAILED");
    failed["failureCode"] = json!("INTERNAL.BAD_OUTPUT.CODE01");
    let error = poll_answered(found(failed)).await.expect_err("failed");
    assert_eq!(error, ProviderError::JobFailed);
    assert!(!format!("{error:?}").contains("paper boat"));

    let mut moderated = task("FAILED");
    moderated["failure"] = json!(format!("Your prompt was flagged: {PROMPT}"));
    moderated["failureCode"] = json!("SAFETY.INPUT.TEXT");
    let refused = poll_answered(found(moderated))
        .await
        .expect_err("moderated");
    assert_eq!(refused, ProviderError::ContentPolicy);
    assert!(!refused.counts_against_provider());

    // A failure without a code is a job failure.
    assert_eq!(
        poll_answered(found(task("FAILED"))).await,
        Err(ProviderError::JobFailed)
    );
}

#[tokio::test]
async fn polling_a_task_runway_does_not_know_is_an_unknown_job() {
    assert_eq!(
        poll_answered(
            ResponseTemplate::new(404).set_body_json(json!({ "error": "Task not found" }))
        )
        .await,
        Err(ProviderError::UnknownJob)
    );
    // An id that is not a task id is never put in a path.
    let (server, provider) = setup(|_| {}).await;
    assert_eq!(
        provider.poll(&JobHandle::new("../organization")).await,
        Err(ProviderError::UnknownJob)
    );
    assert_nothing_sent(&server).await;
}

/// A mock answering `DELETE /v1/tasks/{TASK}` with `status` and no body, exactly once
/// (the SDK types success as no body; errors are free text, left out here).
async fn delete_answering(status: u16) -> (CheckedServer, RunwayProvider) {
    let (server, provider) = setup(|_| {}).await;
    let answer = if status < 300 {
        icecone_spec_check::runway().empty_answer("DELETE", &format!("/v1/tasks/{TASK}"), status)
    } else {
        ResponseTemplate::new(status)
    };
    Mock::given(method("DELETE"))
        .and(path(format!("/v1/tasks/{TASK}")))
        .and(bearer(KEY))
        .and(header("x-runway-version", "2024-11-06"))
        .respond_with(answer)
        .expect(1)
        .mount(&server)
        .await;
    (server, provider)
}

#[tokio::test]
async fn cancel_and_delete_send_delete_tasks_and_a_task_already_gone_counts_as_deleted() {
    let job = JobHandle::new(TASK);
    let (_server, provider) = delete_answering(204).await;
    assert_eq!(
        provider.delete_remote(&job).await,
        Ok(RemoteDeletion::Deleted)
    );
    let (_server, provider) = delete_answering(404).await;
    assert_eq!(
        provider.delete_remote(&job).await,
        Ok(RemoteDeletion::Deleted)
    );
    let (_server, provider) = delete_answering(204).await;
    assert_eq!(provider.cancel(&job).await, Ok(()));
    let (_server, provider) = delete_answering(404).await;
    assert_eq!(provider.cancel(&job).await, Err(ProviderError::UnknownJob));
    let (_server, provider) = delete_answering(503).await;
    assert_eq!(
        provider.delete_remote(&job).await,
        Err(ProviderError::Unavailable { status: 503 })
    );
}

#[test]
fn the_runway_policy_claims_only_what_its_quoted_sources_say() {
    assert_eq!(POLICY.capabilities, &[Capability::Video]);
    assert_eq!(POLICY.training_use.value(), TrainingUse::Unknown);
    assert_eq!(POLICY.retention.value(), Retention::Unknown);
    assert_eq!(POLICY.zero_data_retention.value(), ZdrArrangement::Unknown);
    assert_eq!(
        POLICY.output_retention.value(),
        OutputRetention::DeleteOnRequest
    );
    assert_eq!(POLICY.region.value(), Region::Unknown);
}

//! The HeyGen adapter against a local mock speaking HeyGen's v3 wire format (wiremock).
//! The mock asserts the exact outgoing request; no test touches the internet.
//!
//! HeyGen publishes no OpenAPI document in a repository; its CLI's commands embed the v3
//! API's request and answer schemas (`heygen-com/heygen-cli`, commit
//! `7699a8ee00a4decafb9bef93c80950217e4cba6e`, 2026-07-22, `gen/video.go`), cut into
//! `icecone_spec_check::heygen()`: every request sent and every realistic answer is checked
//! against them. The error envelope `{"error": {"code", "message", "param", "doc_url"}}` is
//! the CLI's `APIError` (`internal/errors/api_error.go`, read in
//! `internal/client/executor.go`), which the schemas do not cover.

use std::time::Duration;

use icecone_core::provider::Capability;
use icecone_core::provider::adapter::{
    GenerationRequest, ImageRequest, ImageSize, InvalidRequest, JobHandle, JobStatus, MediaUrl,
    Prompt, ProviderAdapter, ProviderError, RemoteDeletion, RemoteMedia, Submission, VideoRequest,
};
use icecone_core::provider::policy::{
    OutputRetention, Processors, Region, TrainingUse, ZdrArrangement,
};
use icecone_provider_heygen::{HeyGenConfig, HeyGenProvider, POLICY};
use icecone_provider_http::testing::{
    self, TIMEOUT, adapter_against_mock, answer_once, assert_nothing_sent,
};
use icecone_spec_check::CheckedServer;
use secrecy::SecretString;
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, ResponseTemplate};

const KEY: &str = "hg-test-0123456789abcdef";
const SCRIPT: &str = "Welcome to the spring open day at the lighthouse museum";
const AVATAR: &str = "Daisy-inskirt-20220818";
const VOICE: &str = "2d5b0e6cf36f460aa7fc47e3eee4ba54";
const VIDEO: &str = "4c1b2e9a0f5d4c7e8d1a2b3c4d5e6f70";

/// A mock HeyGen and an adapter pointed at it, with an avatar and a voice. Every request
/// the mock receives is checked against the CLI's v3 schemas when the server is dropped.
async fn setup(adjust: impl FnOnce(&mut HeyGenConfig)) -> (CheckedServer, HeyGenProvider) {
    let (server, provider) = adapter_against_mock(|uri| {
        let mut config = HeyGenConfig::new(Some(SecretString::from(KEY)));
        config.base_url = uri.to_owned();
        config.avatar_id = Some(AVATAR.to_owned());
        config.voice_id = Some(VOICE.to_owned());
        config.timeout = TIMEOUT;
        adjust(&mut config);
        HeyGenProvider::new(config)
    })
    .await;
    (icecone_spec_check::heygen().guard(server), provider)
}

fn video(script: &str) -> GenerationRequest {
    GenerationRequest::Video(VideoRequest {
        prompt: Prompt::parse(script).expect("valid prompt"),
        image: None,
        duration_seconds: 8,
    })
}

/// HeyGen's answer to `POST /v3/videos`, checked against the CLI's schema.
fn created() -> ResponseTemplate {
    icecone_spec_check::heygen().answer(
        "POST",
        "/v3/videos",
        200,
        json!({ "data": { "video_id": VIDEO, "status": "waiting" } }),
    )
}

/// HeyGen's answer to `GET /v3/videos/{video_id}`, checked against the CLI's schema.
fn found(detail: serde_json::Value) -> ResponseTemplate {
    icecone_spec_check::heygen().answer("GET", &format!("/v3/videos/{VIDEO}"), 200, detail)
}

/// v3's error shape.
fn error_answer(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "error": {
            "code": code,
            "message": message,
            "doc_url": format!("https://developers.heygen.com/docs/error-codes#{code}")
        }
    }))
}

/// Submits a video request to a mock answering `answer`.
async fn submit_answered(answer: ResponseTemplate) -> ProviderError {
    let (server, provider) = setup(|_| {}).await;
    testing::submit_answered(&server, &provider, &video(SCRIPT), answer).await
}

/// Polls the video from a mock answering `answer`.
async fn poll_answered(answer: ResponseTemplate) -> Result<JobStatus, ProviderError> {
    let (server, provider) = setup(|_| {}).await;
    let expected = Mock::given(method("GET"))
        .and(path(format!("/v3/videos/{VIDEO}")))
        .and(header("x-api-key", KEY));
    answer_once(&server, expected, answer).await;
    provider.poll(&JobHandle::new(VIDEO)).await
}

fn detail(status: &str) -> serde_json::Value {
    json!({ "data": { "id": VIDEO, "status": status, "title": null, "video_url": null } })
}

#[tokio::test]
async fn a_video_is_created_from_the_avatar_speaking_the_prompt_and_nothing_else() {
    let (server, provider) = setup(|_| {}).await;
    Mock::given(method("POST"))
        .and(path("/v3/videos"))
        .and(header("x-api-key", KEY))
        .and(header("content-type", "application/json"))
        // The whole body, exactly: no title, nothing about the person.
        .and(body_json(json!({
            "type": "avatar",
            "avatar_id": AVATAR,
            "script": SCRIPT,
            "voice_id": VOICE,
            "resolution": "720p",
            "aspect_ratio": "16:9"
        })))
        .respond_with(created())
        .expect(1)
        .mount(&server)
        .await;
    let submitted = provider.submit(&video(SCRIPT)).await.expect("submitted");
    assert_eq!(submitted, Submission::Pending(JobHandle::new(VIDEO)));
    let sent = server.received_requests().await.expect("recorded");
    assert!(sent[0].headers.get("authorization").is_none());

    // Without a configured voice, the field is left out: the avatar's default voice speaks.
    let (server, provider) = setup(|config| config.voice_id = None).await;
    Mock::given(method("POST"))
        .and(path("/v3/videos"))
        .and(body_json(json!({
            "type": "avatar",
            "avatar_id": AVATAR,
            "script": SCRIPT,
            "resolution": "720p",
            "aspect_ratio": "16:9"
        })))
        .respond_with(created())
        .expect(1)
        .mount(&server)
        .await;
    provider.submit(&video(SCRIPT)).await.expect("submitted");
}

#[tokio::test]
async fn an_input_image_and_a_missing_avatar_are_refused_before_any_request() {
    let (server, provider) = setup(|_| {}).await;
    let with_image = GenerationRequest::Video(VideoRequest {
        prompt: Prompt::parse(SCRIPT).expect("valid"),
        image: Some(MediaUrl::parse("https://cdn.example.com/face.png").expect("valid")),
        duration_seconds: 5,
    });
    let error = provider.submit(&with_image).await.expect_err("refused");
    assert_eq!(
        error,
        ProviderError::InvalidRequest(InvalidRequest::Unsupported(Capability::Video))
    );
    assert!(!error.counts_against_provider());
    let image = GenerationRequest::Image(ImageRequest {
        prompt: Prompt::parse("a face").expect("valid"),
        size: ImageSize::Square,
    });
    assert_eq!(
        provider.submit(&image).await,
        Err(ProviderError::InvalidRequest(InvalidRequest::Unsupported(
            Capability::Image
        )))
    );
    assert_nothing_sent(&server).await;

    let (server, provider) = setup(|config| config.avatar_id = None).await;
    assert!(!provider.is_available());
    assert_eq!(
        provider.submit(&video(SCRIPT)).await,
        Err(ProviderError::InvalidRequest(InvalidRequest::Unsupported(
            Capability::AvatarVideo
        )))
    );
    assert_nothing_sent(&server).await;
}

#[tokio::test]
async fn a_bad_key_is_unauthorized_and_the_error_shows_neither_key_nor_message() {
    let v3 = submit_answered(error_answer(
        401,
        "unauthorized",
        &format!("Invalid API key {KEY}; script was: {SCRIPT}"),
    ))
    .await;
    // The legacy shape, as some endpoints still answer it.
    let legacy = submit_answered(ResponseTemplate::new(401).set_body_json(json!({
        "code": 40009,
        "message": format!("Invalid credentials provided: {KEY}")
    })))
    .await;
    for error in [v3, legacy] {
        assert_eq!(error, ProviderError::Unauthorized);
        testing::assert_error_hides(&error, &["hg-test", "lighthouse"]);
    }
}

#[tokio::test]
async fn rate_limits_carry_retry_after_when_given_and_spent_credit_is_quota_exhausted() {
    let limited = || error_answer(429, "rate_limit_exceeded", "Too many requests");
    assert_eq!(
        submit_answered(limited().insert_header("retry-after", "30")).await,
        ProviderError::RateLimited {
            retry_after: Some(Duration::from_secs(30))
        }
    );
    let without = submit_answered(limited()).await;
    assert_eq!(without, ProviderError::RateLimited { retry_after: None });
    assert!(without.is_transient());
    let spent = submit_answered(error_answer(
        402,
        "insufficient_credit",
        "Your account has 5 credits but this video requires 10 credits.",
    ))
    .await;
    assert_eq!(spent, ProviderError::QuotaExhausted);
    assert!(!spent.is_transient());
}

#[tokio::test]
async fn server_errors_500_and_503_are_transient_unavailability() {
    for status in [500u16, 503] {
        let error =
            submit_answered(error_answer(status, "internal_error", "Something broke")).await;
        assert_eq!(error, ProviderError::Unavailable { status });
        assert!(error.is_transient());
    }
    assert_eq!(
        poll_answered(ResponseTemplate::new(502).set_body_string("<html>Bad gateway</html>")).await,
        Err(ProviderError::Unavailable { status: 502 })
    );
}

#[tokio::test]
async fn a_provider_slower_than_the_timeout_is_a_timeout() {
    let (server, provider) = setup(|config| config.timeout = Duration::from_millis(200)).await;
    Mock::given(method("POST"))
        .respond_with(created().set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    assert_eq!(
        provider.submit(&video(SCRIPT)).await,
        Err(ProviderError::Timeout)
    );
}

#[tokio::test]
async fn malformed_answers_are_malformed() {
    // Answers no real HeyGen gives (or that carry nothing the adapter can use): built by
    // hand, not through the CLI's schemas.
    for answer in [
        ResponseTemplate::new(200).set_body_string("{\"data\": {"),
        ResponseTemplate::new(200).set_body_json(json!({ "data": {} })),
        ResponseTemplate::new(200).set_body_json(json!({ "video_id": VIDEO })),
        ResponseTemplate::new(200).set_body_json(json!({ "data": { "video_id": "" } })),
    ] {
        assert_eq!(submit_answered(answer).await, ProviderError::Malformed);
    }
    for answer in [
        ResponseTemplate::new(200).set_body_string("<html>"),
        ResponseTemplate::new(200).set_body_json(detail("completed")),
        ResponseTemplate::new(200).set_body_json(detail("exploded")),
    ] {
        assert_eq!(poll_answered(answer).await, Err(ProviderError::Malformed));
    }
}

#[tokio::test]
async fn content_policy_refusals_are_refusals_and_other_bad_requests_are_rejections() {
    let v3 = submit_answered(error_answer(
        400,
        "content_moderation_failed",
        &format!("Blocked: {SCRIPT}"),
    ))
    .await;
    assert_eq!(v3, ProviderError::ContentPolicy);
    assert!(!v3.counts_against_provider());
    let legacy = submit_answered(ResponseTemplate::new(400).set_body_json(json!({
        "code": 400105,
        "message": "Blocked words detected"
    })))
    .await;
    assert_eq!(legacy, ProviderError::ContentPolicy);
    let rejected = submit_answered(ResponseTemplate::new(400).set_body_json(json!({
        "error": { "code": "invalid_parameter", "message": "bad", "param": "avatar_id" }
    })))
    .await;
    assert_eq!(
        rejected,
        ProviderError::InvalidRequest(InvalidRequest::Rejected { status: 400 })
    );
}

#[tokio::test]
async fn empty_and_oversized_prompts_are_refused_before_any_request_is_sent() {
    let (server, provider) = setup(|config| config.max_prompt_chars = 10).await;
    assert_eq!(Prompt::parse(""), Err(InvalidRequest::EmptyPrompt));
    assert_eq!(Prompt::parse("\t "), Err(InvalidRequest::EmptyPrompt));
    assert_eq!(
        provider.submit(&video("eleven char")).await,
        Err(ProviderError::InvalidRequest(
            InvalidRequest::PromptTooLong { max_chars: 10 }
        ))
    );
    assert_nothing_sent(&server).await;
    // The default limit is HeyGen's 5,000 characters.
    let (server, provider) = setup(|_| {}).await;
    assert_eq!(
        provider.submit(&video(&"a".repeat(5_001))).await,
        Err(ProviderError::InvalidRequest(
            InvalidRequest::PromptTooLong { max_chars: 5_000 }
        ))
    );
    assert_nothing_sent(&server).await;
}

#[tokio::test]
async fn without_a_key_the_adapter_is_unavailable_and_sends_nothing() {
    let (server, provider) = setup(|config| config.api_key = None).await;
    assert!(!provider.is_available());
    assert_eq!(
        provider.submit(&video(SCRIPT)).await,
        Err(ProviderError::Unauthorized)
    );
    let job = JobHandle::new(VIDEO);
    assert_eq!(provider.poll(&job).await, Err(ProviderError::Unauthorized));
    assert_eq!(
        provider.cancel(&job).await,
        Err(ProviderError::Unauthorized)
    );
    assert_nothing_sent(&server).await;
}

#[tokio::test]
async fn a_key_set_at_run_time_makes_the_adapter_available_and_replaces_the_old_one() {
    let (server, provider) = setup(|config| config.api_key = None).await;
    let replacement = "hg-rotated-fedcba9876543210";
    Mock::given(method("POST"))
        .and(path("/v3/videos"))
        .and(header("x-api-key", replacement))
        .respond_with(created())
        .expect(1)
        .mount(&server)
        .await;
    testing::set_key_at_run_time(&provider, replacement);
    provider
        .submit(&video(SCRIPT))
        .await
        .expect("the mock accepts the new key");
    testing::assert_debug_hides(&provider, &[replacement]);
}

#[tokio::test]
async fn polling_maps_every_video_state() {
    for status in ["pending", "processing"] {
        assert_eq!(
            poll_answered(found(detail(status))).await,
            Ok(JobStatus::Running),
            "{status}"
        );
    }
    // `waiting` is the status a creation answers ("e.g. 'waiting'"); the CLI's schema for
    // a video lists only the four above, so this answer is built by hand.
    assert_eq!(
        poll_answered(ResponseTemplate::new(200).set_body_json(detail("waiting"))).await,
        Ok(JobStatus::Running)
    );
    let signed =
        "https://files2.heygen.ai/aws_pacific/video/out.mp4?Expires=1765000000&Signature=secret";
    let mut completed = detail("completed");
    completed["data"]["video_url"] = json!(signed);
    completed["data"]["duration"] = json!(6.4);
    assert_eq!(
        poll_answered(found(completed)).await,
        Ok(JobStatus::Ready(RemoteMedia {
            url: MediaUrl::parse(signed).expect("valid"),
            mime_type: "video/mp4"
        }))
    );
}

#[tokio::test]
async fn a_completed_video_whose_url_is_not_http_is_malformed() {
    for url in [
        "file:///etc/passwd",
        "javascript:alert(1)",
        "s3://bucket/out.mp4",
    ] {
        let mut completed = detail("completed");
        completed["data"]["video_url"] = json!(url);
        assert_eq!(
            poll_answered(found(completed)).await,
            Err(ProviderError::Malformed),
            "{url}"
        );
    }
}

#[tokio::test]
async fn a_failed_video_is_a_job_failure_and_a_moderation_failure_a_refusal_without_its_text() {
    let mut failed = detail("failed");
    failed["data"]["failure_code"] = json!("script_too_long");
    failed["data"]["failure_message"] = json!(format!("Script too long: {SCRIPT}"));
    let error = poll_answered(found(failed)).await.expect_err("failed");
    assert_eq!(error, ProviderError::JobFailed);
    assert!(!format!("{error:?}").contains("lighthouse"));

    let mut moderated = detail("failed");
    moderated["data"]["failure_code"] = json!("moderation_rejected");
    moderated["data"]["failure_message"] = json!(format!("Flagged: {SCRIPT}"));
    assert_eq!(
        poll_answered(found(moderated)).await,
        Err(ProviderError::ContentPolicy)
    );
}

#[tokio::test]
async fn polling_a_video_heygen_does_not_know_is_an_unknown_job() {
    assert_eq!(
        poll_answered(error_answer(404, "not_found", "Video not found")).await,
        Err(ProviderError::UnknownJob)
    );
    let (server, provider) = setup(|_| {}).await;
    assert_eq!(
        provider.poll(&JobHandle::new("../user/me")).await,
        Err(ProviderError::UnknownJob)
    );
    assert_nothing_sent(&server).await;
}

/// A mock answering `DELETE /v3/videos/{VIDEO}` with `answer`, exactly once.
async fn delete_answering(answer: ResponseTemplate) -> (CheckedServer, HeyGenProvider) {
    let (server, provider) = setup(|_| {}).await;
    Mock::given(method("DELETE"))
        .and(path(format!("/v3/videos/{VIDEO}")))
        .and(header("x-api-key", KEY))
        .respond_with(answer)
        .expect(1)
        .mount(&server)
        .await;
    (server, provider)
}

#[tokio::test]
async fn delete_and_cancel_send_delete_videos_and_a_video_already_gone_counts_as_deleted() {
    let job = JobHandle::new(VIDEO);
    let deleted = || {
        icecone_spec_check::heygen().answer(
            "DELETE",
            &format!("/v3/videos/{VIDEO}"),
            200,
            json!({ "data": { "id": VIDEO, "deleted": true } }),
        )
    };
    let gone = || error_answer(404, "not_found", "Video not found");
    let (_server, provider) = delete_answering(deleted()).await;
    assert_eq!(
        provider.delete_remote(&job).await,
        Ok(RemoteDeletion::Deleted)
    );
    // The CLI's schema gives a deletion a JSON body; a bare 204 is taken as deleted too.
    let (_server, provider) = delete_answering(ResponseTemplate::new(204)).await;
    assert_eq!(
        provider.delete_remote(&job).await,
        Ok(RemoteDeletion::Deleted)
    );
    let (_server, provider) = delete_answering(gone()).await;
    assert_eq!(
        provider.delete_remote(&job).await,
        Ok(RemoteDeletion::Deleted)
    );
    let (_server, provider) = delete_answering(deleted()).await;
    assert_eq!(provider.cancel(&job).await, Ok(()));
    let (_server, provider) = delete_answering(gone()).await;
    assert_eq!(provider.cancel(&job).await, Err(ProviderError::UnknownJob));
    let (_server, provider) = delete_answering(error_answer(401, "unauthorized", "no")).await;
    assert_eq!(
        provider.delete_remote(&job).await,
        Err(ProviderError::Unauthorized)
    );
}

#[test]
fn the_default_resolution_and_aspect_ratio_are_values_heygen_lists() {
    let config = HeyGenConfig::new(None);
    let avatar = "/paths/~1v3~1videos/post/requestBody/content/application~1json/schema/oneOf/0";
    let spec = icecone_spec_check::heygen();
    assert!(
        spec.enumeration(&format!("{avatar}/properties/resolution"))
            .contains(&config.resolution)
    );
    assert!(
        spec.enumeration(&format!("{avatar}/properties/aspect_ratio"))
            .contains(&config.aspect_ratio)
    );
}

#[test]
fn the_heygen_policy_claims_only_what_its_quoted_sources_say() {
    assert_eq!(
        POLICY.capabilities,
        &[Capability::Video, Capability::AvatarVideo]
    );
    assert_eq!(POLICY.training_use.value(), TrainingUse::Unknown);
    assert_eq!(POLICY.retention.value().bound_days(), None);
    assert_eq!(POLICY.zero_data_retention.value(), ZdrArrangement::Unknown);
    assert_eq!(
        POLICY.output_retention.value(),
        OutputRetention::DeleteOnRequest
    );
    assert!(
        matches!(POLICY.region.value(), Region::Disclosed(region) if region.contains("United States"))
    );
    assert!(matches!(
        POLICY.onward_processors.value(),
        Processors::Disclosed(processors)
            if processors.iter().any(|p| p.purpose.contains("script data"))
    ));
}

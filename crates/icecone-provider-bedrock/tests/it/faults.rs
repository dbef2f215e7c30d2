//! The fault tables: Bedrock's documented error types (AWS's Smithy model of
//! bedrock-runtime: `x-amzn-ErrorType` and `{"message": …}`), content filtering, malformed
//! answers, timeouts and unreachable endpoints, S3's failures — each mapped to its typed
//! `ProviderError`, never carrying the prompt, a key or AWS's message.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use icecone_core::provider::Capability;
use icecone_core::provider::adapter::{
    GenerationRequest, ImageRequest, ImageSize, InvalidRequest, JobStatus, MediaUrl, Prompt,
    ProviderAdapter, ProviderError, TextRequest, VideoRequest,
};
use icecone_provider_bedrock::{BedrockConfig, BedrockProvider, OutputLocation};
use icecone_provider_http::testing::{
    ONE_PIXEL_PNG, assert_debug_hides, assert_error_hides, assert_nothing_sent,
    unreachable_base_url,
};
use serde_json::json;
use wiremock::matchers::method;
use wiremock::{Mock, ResponseTemplate};

use crate::{
    ACCESS_KEY_ID, ARN, BUCKET, INVOCATION_ID, PREFIX, PROMPT, SECRET_ACCESS_KEY, SESSION_TOKEN,
    image, job, model, setup, video,
};

/// An error answer as Bedrock's REST-JSON protocol gives it: the type in `x-amzn-ErrorType`
/// (with the suffix AWS appends), the message in the body.
fn aws_error(status: u16, kind: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header(
            "x-amzn-errortype",
            format!("{kind}:http://internal.amazon.com/coral/com.amazon.bedrock/").as_str(),
        )
        .set_body_json(json!({ "message": message }))
}

/// The error `InvokeModel` makes of `answer`.
async fn image_error(answer: ResponseTemplate) -> ProviderError {
    let (server, provider) = setup(|_| {}).await;
    Mock::given(method("POST"))
        .respond_with(answer)
        .expect(1)
        .mount(&server)
        .await;
    provider
        .submit(&image(ImageSize::Square))
        .await
        .expect_err("an error")
}

#[tokio::test]
async fn bedrocks_error_types_map_to_typed_errors() {
    let quoting = format!("1 validation error detected: Value '{PROMPT}' is not valid");
    // (answer, expected)
    let cases = [
        (
            aws_error(
                403,
                "AccessDeniedException",
                "You don't have access to the model with the specified model ID.",
            ),
            ProviderError::Unauthorized,
        ),
        (
            aws_error(
                403,
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            ),
            ProviderError::Unauthorized,
        ),
        (ResponseTemplate::new(401), ProviderError::Unauthorized),
        (
            aws_error(
                429,
                "ThrottlingException",
                "Too many requests, please wait before trying again.",
            )
            .insert_header("retry-after", "7"),
            ProviderError::RateLimited {
                retry_after: Some(Duration::from_secs(7)),
            },
        ),
        (
            aws_error(429, "ModelNotReadyException", "Model is not ready"),
            ProviderError::RateLimited { retry_after: None },
        ),
        (
            aws_error(
                400,
                "ServiceQuotaExceededException",
                "Your request exceeds the service quota for your account.",
            ),
            ProviderError::RateLimited { retry_after: None },
        ),
        (
            aws_error(
                400,
                "ValidationException",
                "This request has been blocked by our content filters.",
            ),
            ProviderError::ContentPolicy,
        ),
        (
            aws_error(
                400,
                "ValidationException",
                "The provided model identifier is invalid.",
            ),
            ProviderError::ModelUnavailable {
                kind: Capability::Image,
                setting: "image_model",
            },
        ),
        (
            aws_error(400, "ValidationException", &quoting),
            InvalidRequest::Rejected { status: 400 }.into(),
        ),
        (
            aws_error(
                404,
                "ResourceNotFoundException",
                "Could not resolve the foundation model from the provided model identifier.",
            ),
            ProviderError::ModelUnavailable {
                kind: Capability::Image,
                setting: "image_model",
            },
        ),
        (
            aws_error(
                408,
                "ModelTimeoutException",
                "Model has timed out in processing the request.",
            ),
            ProviderError::Timeout,
        ),
        (
            aws_error(
                424,
                "ModelErrorException",
                "The model failed to process the request.",
            ),
            ProviderError::Unavailable { status: 424 },
        ),
        (
            aws_error(
                500,
                "InternalServerException",
                "An internal server error occurred.",
            ),
            ProviderError::Unavailable { status: 500 },
        ),
        (
            aws_error(
                503,
                "ServiceUnavailableException",
                "Bedrock is unable to process your request.",
            ),
            ProviderError::Unavailable { status: 503 },
        ),
        (
            ResponseTemplate::new(502),
            ProviderError::Unavailable { status: 502 },
        ),
        (
            // The type in the body's `__type` with a namespace, as some AWS answers give it.
            ResponseTemplate::new(429).set_body_json(json!({
                "__type": "com.amazonaws.bedrockruntime#ThrottlingException",
                "message": "Rate exceeded"
            })),
            ProviderError::RateLimited { retry_after: None },
        ),
        (
            ResponseTemplate::new(302).insert_header("location", "https://elsewhere.example/"),
            ProviderError::Malformed,
        ),
    ];
    for (index, (answer, expected)) in cases.into_iter().enumerate() {
        let error = image_error(answer).await;
        assert_eq!(error, expected, "case {index}");
        assert_error_hides(
            &error,
            &[
                PROMPT,
                "lighthouse",
                ACCESS_KEY_ID,
                SECRET_ACCESS_KEY,
                "validation error",
            ],
        );
    }
}

#[tokio::test]
async fn filtered_and_malformed_image_answers_are_typed() {
    let not_an_image = STANDARD.encode(b"<html>not an image</html>");
    // (model id, 200 answer, expected)
    let cases = [
        (
            "stability.stable-image-ultra-v1:1",
            json!({ "finish_reasons": ["Filter reason: prompt"] }),
            ProviderError::ContentPolicy,
        ),
        (
            "stability.stable-image-core-v1:1",
            json!({ "seeds": [1], "finish_reasons": ["Filter reason: output image"], "images": [STANDARD.encode(ONE_PIXEL_PNG)] }),
            ProviderError::ContentPolicy,
        ),
        (
            "stability.sd3-5-large-v1:0",
            json!({ "seeds": [1], "finish_reasons": ["Inference error"], "images": [] }),
            ProviderError::JobFailed,
        ),
        (
            "amazon.nova-canvas-v1:0",
            json!({ "images": [], "error": "blocked" }),
            ProviderError::ContentPolicy,
        ),
        (
            "amazon.nova-canvas-v1:0",
            json!({ "images": [] }),
            ProviderError::Malformed,
        ),
        (
            "amazon.nova-canvas-v1:0",
            json!({ "images": ["%%% not base64"] }),
            ProviderError::Malformed,
        ),
        (
            "amazon.nova-canvas-v1:0",
            json!({ "images": [not_an_image] }),
            ProviderError::Malformed,
        ),
        (
            "stability.stable-image-core-v1:1",
            json!({ "seeds": [1] }),
            ProviderError::Malformed,
        ),
        (
            "stability.stable-image-core-v1:1",
            json!(["not", "an", "object"]),
            ProviderError::Malformed,
        ),
    ];
    for (index, (id, answer, expected)) in cases.into_iter().enumerate() {
        let (server, provider) =
            setup(|config| config.image_model = model(id, Capability::Image)).await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_json(answer))
            .expect(1)
            .mount(&server)
            .await;
        let error = provider
            .submit(&image(ImageSize::Square))
            .await
            .expect_err("an error");
        assert_eq!(error, expected, "case {index}: {id}");
    }
    // Not JSON at all.
    let error = image_error(ResponseTemplate::new(200).set_body_string("<html>")).await;
    assert_eq!(error, ProviderError::Malformed);
}

#[tokio::test]
async fn a_slow_answer_times_out_and_an_unreachable_endpoint_fails_to_connect() {
    let (server, provider) = setup(|config| config.timeout = Duration::from_millis(300)).await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    assert_eq!(
        provider.submit(&image(ImageSize::Square)).await,
        Err(ProviderError::Timeout)
    );

    let unreachable = unreachable_base_url();
    let provider = BedrockProvider::new(crate::config(&unreachable, &unreachable, false))
        .expect("adapter builds");
    assert_eq!(
        provider.submit(&image(ImageSize::Square)).await,
        Err(ProviderError::Connect)
    );
    assert_eq!(provider.poll(&job()).await, Err(ProviderError::Connect));
}

#[tokio::test]
async fn without_credentials_or_a_bucket_the_adapter_is_unavailable_and_sends_nothing() {
    let server = wiremock::MockServer::start().await;
    let mut without_keys = BedrockConfig::new(
        "us-east-1",
        OutputLocation::parse(BUCKET, PREFIX).expect("valid"),
    );
    without_keys.base_url = server.uri();
    without_keys.s3_url = server.uri();
    let mut without_secret = crate::config(&server.uri(), &server.uri(), false);
    without_secret.secret_access_key = None;
    for config in [without_keys, without_secret] {
        let provider = BedrockProvider::new(config).expect("builds");
        assert!(!provider.is_available());
        assert!(!provider.takes_credential());
        assert_eq!(
            provider.submit(&image(ImageSize::Square)).await,
            Err(ProviderError::Unauthorized)
        );
        assert_eq!(
            provider.submit(&video(5)).await,
            Err(ProviderError::Unauthorized)
        );
        assert_eq!(
            provider.poll(&job()).await,
            Err(ProviderError::Unauthorized)
        );
    }
    assert_nothing_sent(&server).await;
}

#[tokio::test]
async fn requests_no_model_of_this_route_can_keep_are_refused_before_anything_is_sent() {
    let (server, provider) = setup(|_| {}).await;
    let too_long = "a".repeat(1_025);
    // (request, expected) with Nova Canvas (1,024 characters) and Luma Ray2.
    let cases = [
        (
            GenerationRequest::Image(ImageRequest {
                prompt: Prompt::parse(&too_long).expect("valid"),
                size: ImageSize::Square,
            }),
            ProviderError::from(InvalidRequest::PromptTooLong { max_chars: 1_024 }),
        ),
        (
            GenerationRequest::Text(TextRequest {
                prompt: Prompt::parse(PROMPT).expect("valid"),
                max_tokens: None,
            }),
            InvalidRequest::Unsupported(Capability::Text).into(),
        ),
        (
            GenerationRequest::Video(VideoRequest {
                prompt: Prompt::parse(PROMPT).expect("valid"),
                image: Some(MediaUrl::parse("https://images.example.com/start.png").expect("url")),
                duration_seconds: 5,
            }),
            InvalidRequest::Unsupported(Capability::Video).into(),
        ),
    ];
    for (request, expected) in cases {
        assert_eq!(provider.submit(&request).await, Err(expected));
    }
    assert_nothing_sent(&server).await;
}

#[tokio::test]
async fn no_key_shows_in_the_adapters_debug_output() {
    let (_server, provider) = setup(|_| {}).await;
    let with_token = BedrockProvider::new(crate::config(
        "http://127.0.0.1:9",
        "http://127.0.0.1:9",
        true,
    ))
    .expect("builds");
    assert_debug_hides(&provider, &[ACCESS_KEY_ID, SECRET_ACCESS_KEY]);
    assert_debug_hides(
        &with_token,
        &[ACCESS_KEY_ID, SECRET_ACCESS_KEY, SESSION_TOKEN],
    );
    assert!(provider.is_available() && with_token.is_available());
}

/// Polls a mock whose `GetAsyncInvoke` answers `status` and whose S3 answers `object`.
async fn poll_error(
    status: ResponseTemplate,
    object: Option<ResponseTemplate>,
    adjust: impl FnOnce(&mut BedrockConfig),
) -> ProviderError {
    let (server, provider) = setup(adjust).await;
    Mock::given(method("GET"))
        .and(wiremock::matchers::path_regex("^/async-invoke/"))
        .respond_with(status)
        .expect(1)
        .mount(&server)
        .await;
    if let Some(object) = object {
        Mock::given(method("GET"))
            .and(wiremock::matchers::path(format!(
                "/{BUCKET}/{PREFIX}/{INVOCATION_ID}/output.mp4"
            )))
            .respond_with(object)
            .expect(1)
            .mount(&server)
            .await;
    }
    provider.poll(&job()).await.expect_err("an error")
}

fn status_answer(status: &str, failure: Option<&str>) -> ResponseTemplate {
    let mut body = json!({
        "invocationArn": ARN,
        "modelArn": "arn:aws:bedrock:us-east-1::foundation-model/luma.ray-v2:0",
        "status": status,
        "submitTime": "2026-12-07T12:00:00Z",
        "outputDataConfig": { "s3OutputDataConfig": { "s3Uri": format!("s3://{BUCKET}/{PREFIX}") } }
    });
    if let Some(failure) = failure {
        body["failureMessage"] = json!(failure);
    }
    ResponseTemplate::new(200).set_body_json(body)
}

#[tokio::test]
async fn a_jobs_failures_and_the_buckets_map_to_typed_errors() {
    let quoting = format!("Internal error while generating: {PROMPT}");
    let s3_error = |status: u16, code: &str| {
        ResponseTemplate::new(status)
            .insert_header("content-type", "application/xml")
            .set_body_string(format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>m</Message></Error>"
            ))
    };
    // (status answer, object answer, expected)
    let cases = [
        (
            status_answer("Failed", Some(&quoting)),
            None,
            ProviderError::JobFailed,
        ),
        (
            status_answer(
                "Failed",
                Some("The generated video has been blocked by our content filters."),
            ),
            None,
            ProviderError::ContentPolicy,
        ),
        (
            status_answer("Paused", None),
            None,
            ProviderError::Malformed,
        ),
        (
            aws_error(400, "ValidationException", "Invalid invocation ARN"),
            None,
            ProviderError::UnknownJob,
        ),
        (
            aws_error(403, "AccessDeniedException", "denied"),
            None,
            ProviderError::Unauthorized,
        ),
        (
            aws_error(429, "ThrottlingException", "slow down"),
            None,
            ProviderError::RateLimited { retry_after: None },
        ),
        (
            aws_error(500, "InternalServerException", "oops"),
            None,
            ProviderError::Unavailable { status: 500 },
        ),
        (
            ResponseTemplate::new(200).set_body_string("{"),
            None,
            ProviderError::Malformed,
        ),
        (
            status_answer("Completed", None),
            Some(s3_error(404, "NoSuchKey")),
            ProviderError::OutputGone,
        ),
        (
            status_answer("Completed", None),
            Some(s3_error(403, "AccessDenied")),
            ProviderError::Unauthorized,
        ),
        (
            status_answer("Completed", None),
            Some(s3_error(503, "SlowDown")),
            ProviderError::Unavailable { status: 503 },
        ),
        (
            status_answer("Completed", None),
            Some(ResponseTemplate::new(200).set_body_string("<html>not a video</html>")),
            ProviderError::Malformed,
        ),
    ];
    for (index, (status, object, expected)) in cases.into_iter().enumerate() {
        let error = poll_error(status, object, |_| {}).await;
        assert_eq!(error, expected, "case {index}");
        assert_error_hides(&error, &[PROMPT, "lighthouse", SECRET_ACCESS_KEY]);
    }
    // A video larger than the configured cap is refused.
    let error = poll_error(
        status_answer("Completed", None),
        Some(ResponseTemplate::new(200).set_body_bytes(vec![0_u8; 4_096])),
        |config| config.max_output_bytes = 1_024,
    )
    .await;
    assert_eq!(error, ProviderError::Malformed);
    // A completed job is still Running never: InProgress is the only running state.
    let (server, provider) = setup(|_| {}).await;
    Mock::given(method("GET"))
        .respond_with(status_answer("InProgress", None))
        .mount(&server)
        .await;
    assert_eq!(provider.poll(&job()).await, Ok(JobStatus::Running));
}

#[tokio::test]
async fn s3_failures_while_deleting_are_typed_and_never_count_as_deleted() {
    // (delete answer, expected)
    let cases = [
        (ResponseTemplate::new(403), ProviderError::Unauthorized),
        (
            ResponseTemplate::new(503),
            ProviderError::Unavailable { status: 503 },
        ),
        (
            ResponseTemplate::new(500),
            ProviderError::Unavailable { status: 500 },
        ),
    ];
    for (answer, expected) in cases {
        let (server, provider) = setup(|_| {}).await;
        Mock::given(method("DELETE"))
            .respond_with(answer)
            .expect(1)
            .mount(&server)
            .await;
        assert_eq!(provider.delete_remote(&job()).await, Err(expected));
    }
}

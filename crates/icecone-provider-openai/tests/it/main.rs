//! The OpenAI adapter against a local mock speaking OpenAI's wire format (wiremock). The
//! mock asserts the exact outgoing request; no test touches the internet.

use std::time::Duration;

use base64::Engine as _;
use icecone_core::provider::Capability;
use icecone_core::provider::adapter::{
    GenerationRequest, ImageRequest, ImageSize, InvalidRequest, Output, Prompt, ProviderAdapter,
    ProviderError, Submission, TextRequest, VideoRequest,
};
use icecone_core::provider::policy::{Region, Retention, TrainingUse, ZdrArrangement};
use icecone_provider_http::settings::{Deployment, Registration as _};
use icecone_provider_http::testing::{
    self, ONE_PIXEL_PNG, TIMEOUT, adapter_against_mock, assert_nothing_sent, bearer,
};
use icecone_provider_openai::{OpenAiConfig, OpenAiProvider, POLICY, REGISTRATION};
use icecone_spec_check::CheckedServer;
use secrecy::SecretString;
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, ResponseTemplate};

const KEY: &str = "sk-test-0123456789abcdef";
const PROMPT: &str = "Write a haiku about the sea";

/// A mock OpenAI and an adapter pointed at it. Every request the mock receives is checked
/// against OpenAI's published OpenAPI document when the server is dropped.
async fn setup(adjust: impl FnOnce(&mut OpenAiConfig)) -> (CheckedServer, OpenAiProvider) {
    let (server, provider) = adapter_against_mock(|uri| {
        let mut config = OpenAiConfig::new(Some(SecretString::from(KEY)));
        config.base_url = format!("{uri}/v1");
        config.timeout = TIMEOUT;
        adjust(&mut config);
        OpenAiProvider::new(config)
    })
    .await;
    (icecone_spec_check::openai().guard(server), provider)
}

/// OpenAI's answer to `POST /chat/completions` (200), checked against its spec.
fn chat_ok(answer: serde_json::Value) -> ResponseTemplate {
    icecone_spec_check::openai().answer("POST", "/v1/chat/completions", 200, answer)
}

/// OpenAI's answer to `POST /images/generations` (200), checked against its spec.
fn images_ok(answer: serde_json::Value) -> ResponseTemplate {
    icecone_spec_check::openai().answer("POST", "/v1/images/generations", 200, answer)
}

fn text(prompt: &str, max_tokens: Option<u32>) -> GenerationRequest {
    GenerationRequest::Text(TextRequest {
        prompt: Prompt::parse(prompt).expect("valid prompt"),
        max_tokens,
    })
}

fn image(size: ImageSize) -> GenerationRequest {
    GenerationRequest::Image(ImageRequest {
        prompt: Prompt::parse("a lighthouse at dusk").expect("valid prompt"),
        size,
    })
}

fn chat_answer(content: serde_json::Value, finish_reason: &str) -> serde_json::Value {
    json!({
        "id": "chatcmpl-123",
        "object": "chat.completion",
        "created": 1_764_000_000,
        "model": "gpt-5.6-luna",
        "choices": [{
            "index": 0,
            "message": { "role": "assistant", "content": content, "refusal": null },
            "logprobs": null,
            "finish_reason": finish_reason
        }],
        "usage": { "prompt_tokens": 14, "completion_tokens": 17, "total_tokens": 31 }
    })
}

/// OpenAI's `ErrorResponse`, checked against its spec.
fn error_answer(status: u16, message: &str, kind: &str, code: &str) -> ResponseTemplate {
    icecone_spec_check::openai().component_answer(
        status,
        "ErrorResponse",
        json!({ "error": { "message": message, "type": kind, "param": null, "code": code } }),
    )
}

/// Sends `request` to a mock answering every POST with `answer`.
async fn answer_with(answer: ResponseTemplate, request: GenerationRequest) -> ProviderError {
    let (server, provider) = setup(|_| {}).await;
    testing::submit_answered(&server, &provider, &request, answer).await
}

#[tokio::test]
async fn chat_completions_send_only_the_prompt_with_store_false_and_return_text_and_usage() {
    let (server, provider) = setup(|_| {}).await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(bearer(KEY))
        .and(header("content-type", "application/json"))
        // The whole body, exactly: the prompt and the parameters, nothing about the person.
        .and(body_json(json!({
            "model": "gpt-5.6-luna",
            "messages": [{ "role": "user", "content": PROMPT }],
            "store": false,
            "max_completion_tokens": 60
        })))
        .respond_with(chat_ok(chat_answer(json!("Waves fold into foam"), "stop")))
        .expect(1)
        .mount(&server)
        .await;
    let answer = provider
        .submit(&text(PROMPT, Some(60)))
        .await
        .expect("text");
    let Submission::Done(Output::Text {
        text: written,
        usage,
    }) = answer
    else {
        panic!("text expected: {answer:?}");
    };
    assert_eq!(written, "Waves fold into foam");
    assert_eq!((usage.prompt_tokens, usage.completion_tokens), (14, 17));

    // Without max_tokens the field is left out, not sent as null.
    let (server, provider) = setup(|_| {}).await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(body_json(json!({
            "model": "gpt-5.6-luna",
            "messages": [{ "role": "user", "content": PROMPT }],
            "store": false
        })))
        .respond_with(chat_ok(chat_answer(json!("ok"), "stop")))
        .expect(1)
        .mount(&server)
        .await;
    provider.submit(&text(PROMPT, None)).await.expect("text");
}

#[tokio::test]
async fn image_generations_send_a_gpt_image_size_and_return_the_decoded_png() {
    let encoded = base64::engine::general_purpose::STANDARD.encode(ONE_PIXEL_PNG);
    let answer = images_ok(json!({
        "created": 1_764_000_000,
        "data": [{ "b64_json": encoded }],
        "usage": {
            "total_tokens": 100,
            "input_tokens": 50,
            "output_tokens": 50,
            "input_tokens_details": { "text_tokens": 50, "image_tokens": 0 }
        }
    }));
    // (size, expected size field): the three sizes every GPT image model takes.
    let cases = [
        (ImageSize::Square, "1024x1024"),
        (ImageSize::Landscape, "1536x1024"),
        (ImageSize::Portrait, "1024x1536"),
    ];
    for (size, size_field) in cases {
        let (server, provider) = setup(|_| {}).await;
        Mock::given(method("POST"))
            .and(path("/v1/images/generations"))
            .and(bearer(KEY))
            .and(header("content-type", "application/json"))
            // No `response_format`: the GPT image models answer base64 and refuse it.
            .and(body_json(json!({
                "model": "gpt-image-2",
                "prompt": "a lighthouse at dusk",
                "n": 1,
                "size": size_field
            })))
            .respond_with(answer.clone())
            .expect(1)
            .mount(&server)
            .await;
        let submitted = provider.submit(&image(size)).await.expect("image");
        assert_eq!(
            submitted,
            Submission::Done(Output::Media {
                bytes: ONE_PIXEL_PNG.to_vec(),
                mime_type: "image/png"
            }),
            "{size:?}"
        );
    }
}

#[test]
fn a_field_openais_spec_does_not_declare_fails_the_request_check() {
    // What the adapter's requests go through: a misspelt or invented field is refused.
    let spec = icecone_spec_check::openai();
    let mut headers = wiremock::http::HeaderMap::new();
    headers.insert("content-type", "application/json".parse().expect("header"));
    let check = |body: serde_json::Value| {
        spec.check_request(
            "POST",
            "/v1/chat/completions",
            &headers,
            body.to_string().as_bytes(),
        )
    };
    let mut body = json!({
        "model": "gpt-5.6-luna",
        "messages": [{ "role": "user", "content": PROMPT }],
        "store": false,
        "max_completion_tokens": 60
    });
    assert!(check(body.clone()).is_ok());
    body["max_tokens_completion"] = json!(60);
    assert!(check(body).is_err());
}

#[test]
fn the_default_models_are_current_ones_from_openais_spec() {
    let config = OpenAiConfig::new(None);
    let spec = icecone_spec_check::openai();
    // `gpt-5.6-luna` for text (`gpt-4o-mini` shuts down on 2027-01-14), `gpt-image-2` for
    // images (`gpt-image-1` is shut down, `gpt-image-1.5` shuts down on 2026-12-01).
    assert_eq!(config.text_model, "gpt-5.6-luna");
    assert_eq!(config.image_model, "gpt-image-2");
    assert!(
        spec.enumeration("/components/schemas/ModelIdsShared")
            .contains(&config.text_model)
    );
    assert!(
        spec.enumeration("/components/schemas/CreateImageRequest/properties/model")
            .contains(&config.image_model)
    );
}

#[tokio::test]
async fn the_configured_models_are_the_ones_sent() {
    let (server, provider) = setup(|config| {
        config.text_model = "gpt-5.5".to_owned();
        config.image_model = "gpt-image-1-mini".to_owned();
    })
    .await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(body_json(json!({
            "model": "gpt-5.5",
            "messages": [{ "role": "user", "content": PROMPT }],
            "store": false
        })))
        .respond_with(chat_ok(chat_answer(json!("ok"), "stop")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/images/generations"))
        .and(body_json(json!({
            "model": "gpt-image-1-mini",
            "prompt": "a lighthouse at dusk",
            "n": 1,
            "size": "1024x1024"
        })))
        .respond_with(images_ok(json!({
            "created": 1_764_000_000,
            "data": [{ "b64_json": base64::engine::general_purpose::STANDARD.encode(ONE_PIXEL_PNG) }]
        })))
        .expect(1)
        .mount(&server)
        .await;
    provider.submit(&text(PROMPT, None)).await.expect("text");
    provider
        .submit(&image(ImageSize::Square))
        .await
        .expect("image");
}

#[test]
fn the_model_settings_are_checked_as_model_ids_and_name_themselves() {
    let deployment = Deployment {
        timeout: TIMEOUT,
        plain_http_allowed: false,
    };
    let section: serde_json::Value = REGISTRATION.default_section().shown();
    assert_eq!(section["text_model"], "gpt-5.6-luna");
    assert_eq!(section["image_model"], "gpt-image-2");
    for key in ["text_model", "image_model"] {
        let mut set = serde_json::Map::new();
        set.insert(key.to_owned(), json!("  "));
        let raw = serde_json::from_value(serde_json::Value::Object(set)).expect("a section");
        let error = REGISTRATION
            .read(raw)
            .expect("read")
            .prepare(&deployment)
            .expect_err("blank");
        assert_eq!(error.key(), key);
    }
}

#[tokio::test]
async fn a_retired_model_is_an_unavailable_model_of_its_kind_not_a_bad_request() {
    // OpenAI's answer for a model that does not exist or was shut down.
    let not_found = || {
        error_answer(
            404,
            &format!(
                "The model `gpt-4o-mini` does not exist or you do not have access to it. {PROMPT}"
            ),
            "invalid_request_error",
            "model_not_found",
        )
    };
    // (request, kind, setting)
    let cases = [
        (text(PROMPT, None), Capability::Text, "text_model"),
        (image(ImageSize::Square), Capability::Image, "image_model"),
    ];
    for (request, kind, setting) in cases {
        let error = answer_with(not_found(), request).await;
        assert_eq!(error, ProviderError::ModelUnavailable { kind, setting });
        assert!(!error.is_transient() && !error.counts_against_provider());
        testing::assert_error_hides(&error, &["haiku", "gpt-4o-mini"]);
    }
}

#[tokio::test]
async fn a_bad_key_is_unauthorized_and_the_error_shows_neither_key_nor_message() {
    let error = answer_with(
        error_answer(
            401,
            &format!("Incorrect API key provided: {KEY}. {PROMPT}"),
            "invalid_request_error",
            "invalid_api_key",
        ),
        text(PROMPT, None),
    )
    .await;
    assert_eq!(error, ProviderError::Unauthorized);
    testing::assert_error_hides(&error, &["sk-test", "haiku"]);
}

#[tokio::test]
async fn rate_limits_carry_retry_after_when_given_and_a_spent_quota_is_not_a_rate_limit() {
    let limited = || error_answer(429, "Rate limit reached", "requests", "rate_limit_exceeded");
    let with_header = answer_with(
        limited().insert_header("retry-after", "7"),
        text(PROMPT, None),
    )
    .await;
    assert_eq!(
        with_header,
        ProviderError::RateLimited {
            retry_after: Some(Duration::from_secs(7))
        }
    );
    assert!(with_header.is_transient());
    let without = answer_with(limited(), text(PROMPT, None)).await;
    assert_eq!(without, ProviderError::RateLimited { retry_after: None });
    let quota = answer_with(
        error_answer(
            429,
            "You exceeded your current quota",
            "insufficient_quota",
            "insufficient_quota",
        ),
        text(PROMPT, None),
    )
    .await;
    assert_eq!(quota, ProviderError::QuotaExhausted);
    assert!(!quota.is_transient());
}

#[tokio::test]
async fn server_errors_500_and_503_are_transient_unavailability() {
    for status in [500u16, 503] {
        let error = answer_with(
            error_answer(
                status,
                "The server had an error",
                "server_error",
                "server_error",
            ),
            text(PROMPT, None),
        )
        .await;
        assert_eq!(error, ProviderError::Unavailable { status });
        assert!(error.is_transient());
    }
    // A 502 from a proxy in front of OpenAI has no JSON body at all.
    let error = answer_with(
        ResponseTemplate::new(502).set_body_string("<html>Bad gateway</html>"),
        image(ImageSize::Square),
    )
    .await;
    assert_eq!(error, ProviderError::Unavailable { status: 502 });
}

#[tokio::test]
async fn a_provider_slower_than_the_timeout_is_a_timeout() {
    let (server, provider) = setup(|config| config.timeout = Duration::from_millis(200)).await;
    Mock::given(method("POST"))
        .respond_with(chat_ok(chat_answer(json!("late"), "stop")).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let error = provider
        .submit(&text(PROMPT, None))
        .await
        .expect_err("too slow");
    assert_eq!(error, ProviderError::Timeout);
}

#[tokio::test]
async fn an_unreachable_provider_is_a_connection_error() {
    let mut config = OpenAiConfig::new(Some(SecretString::from(KEY)));
    config.base_url = format!("{}/v1", testing::unreachable_base_url());
    let provider = OpenAiProvider::new(config).expect("adapter builds");
    let error = provider
        .submit(&text(PROMPT, None))
        .await
        .expect_err("nothing listens");
    assert_eq!(error, ProviderError::Connect);
}

#[tokio::test]
async fn malformed_answers_are_malformed() {
    // Answers no real OpenAI gives (or that carry nothing the adapter can use): built by
    // hand, not through the spec.
    let cases = [
        (
            ResponseTemplate::new(200).set_body_string("{\"choices\": [tru"),
            text(PROMPT, None),
        ),
        (
            ResponseTemplate::new(200).set_body_json(
                json!({ "choices": [] , "usage": {"prompt_tokens": 1, "completion_tokens": 0}}),
            ),
            text(PROMPT, None),
        ),
        (
            ResponseTemplate::new(200).set_body_json(json!({ "id": "x" })),
            text(PROMPT, None),
        ),
        (
            ResponseTemplate::new(200).set_body_json(chat_answer(json!(null), "stop")),
            text(PROMPT, None),
        ),
        (
            ResponseTemplate::new(200)
                .set_body_json(json!({ "data": [{ "b64_json": "!!not base64!!" }] })),
            image(ImageSize::Square),
        ),
        (
            ResponseTemplate::new(200)
                .set_body_json(json!({ "data": [{ "b64_json": "aGVsbG8=" }] })),
            image(ImageSize::Square),
        ),
        (
            ResponseTemplate::new(200)
                .set_body_json(json!({ "data": [{ "url": "https://example.invalid/x.png" }] })),
            image(ImageSize::Square),
        ),
    ];
    for (index, (answer, request)) in cases.into_iter().enumerate() {
        assert_eq!(
            answer_with(answer, request).await,
            ProviderError::Malformed,
            "case {index}"
        );
    }
}

#[tokio::test]
async fn content_policy_refusals_are_refusals_not_failures() {
    let image_refused = answer_with(
        error_answer(
            400,
            "Your request was rejected as a result of our safety system.",
            "image_generation_user_error",
            "content_policy_violation",
        ),
        image(ImageSize::Square),
    )
    .await;
    assert_eq!(image_refused, ProviderError::ContentPolicy);
    let filtered = answer_with_ok(chat_ok(chat_answer(json!(""), "content_filter"))).await;
    assert_eq!(filtered, ProviderError::ContentPolicy);
    let mut refusal = chat_answer(json!(null), "stop");
    refusal["choices"][0]["message"]["refusal"] = json!("I can't help with that.");
    let refused = answer_with_ok(chat_ok(refusal)).await;
    assert_eq!(refused, ProviderError::ContentPolicy);
    assert!(!refused.is_transient() && !refused.counts_against_provider());
    // Any other 400 is a refused parameter, not a content decision.
    let rejected = answer_with(
        error_answer(
            400,
            "Invalid size",
            "invalid_request_error",
            "invalid_value",
        ),
        image(ImageSize::Square),
    )
    .await;
    assert_eq!(
        rejected,
        ProviderError::InvalidRequest(InvalidRequest::Rejected { status: 400 })
    );
}

/// Like [`answer_with`], for answers that are HTTP 200 but still refusals.
async fn answer_with_ok(answer: ResponseTemplate) -> ProviderError {
    answer_with(answer, text(PROMPT, None)).await
}

#[tokio::test]
async fn empty_and_oversized_prompts_are_refused_before_any_request_is_sent() {
    let (server, provider) = setup(|config| config.max_prompt_chars = 10).await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    assert_eq!(Prompt::parse(""), Err(InvalidRequest::EmptyPrompt));
    assert_eq!(Prompt::parse("   \n"), Err(InvalidRequest::EmptyPrompt));
    for request in [text("eleven char", None), image(ImageSize::Square)] {
        let error = provider.submit(&request).await.expect_err("too long");
        assert_eq!(
            error,
            ProviderError::InvalidRequest(InvalidRequest::PromptTooLong { max_chars: 10 })
        );
    }
    let video = GenerationRequest::Video(VideoRequest {
        prompt: Prompt::parse("tiny").expect("valid"),
        image: None,
        duration_seconds: 2,
    });
    assert!(matches!(
        provider.submit(&video).await,
        Err(ProviderError::InvalidRequest(InvalidRequest::Unsupported(
            _
        )))
    ));
    assert_nothing_sent(&server).await;
}

#[tokio::test]
async fn without_a_key_the_adapter_is_unavailable_and_sends_nothing() {
    let (server, provider) = setup(|config| config.api_key = None).await;
    assert!(!provider.is_available());
    let error = provider
        .submit(&text(PROMPT, None))
        .await
        .expect_err("no key");
    assert_eq!(error, ProviderError::Unauthorized);
    assert_nothing_sent(&server).await;
}

#[tokio::test]
async fn a_key_set_at_run_time_makes_the_adapter_available_and_replaces_the_old_one() {
    let (server, provider) = setup(|config| config.api_key = None).await;
    let replacement = "sk-rotated-fedcba9876543210";
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(bearer(replacement))
        .respond_with(chat_ok(chat_answer(json!("Waves"), "stop")))
        .expect(1)
        .mount(&server)
        .await;
    assert!(!provider.is_available());
    testing::set_key_at_run_time(&provider, replacement);
    provider
        .submit(&text(PROMPT, None))
        .await
        .expect("the mock accepts the new key");
    testing::assert_debug_hides(&provider, &[replacement]);
}

#[tokio::test]
async fn the_key_never_appears_in_debug_output() {
    let (_server, provider) = setup(|_| {}).await;
    assert!(provider.is_available());
    testing::assert_debug_hides(&provider, &[KEY]);
    assert!(
        OpenAiProvider::new(OpenAiConfig {
            base_url: "ftp://example.invalid".to_owned(),
            ..OpenAiConfig::new(None)
        })
        .is_err()
    );
}

#[test]
fn the_openai_policy_claims_only_what_its_quoted_sources_say() {
    assert_eq!(POLICY.training_use.value(), TrainingUse::No);
    assert!(matches!(
        POLICY.retention.value(),
        Retention::Unbounded { usual_days: Some(30), condition, exceptions }
            if condition.contains("abuse-monitoring") && exceptions.len() == 2
    ));
    assert!(matches!(
        POLICY.zero_data_retention.value(),
        ZdrArrangement::ByContract { exceptions } if exceptions.len() == 4
    ));
    assert_eq!(POLICY.region.value(), Region::NotCommitted);
    // Without a contract OpenAI's retention has no bound, so no retention limit admits it.
    assert_eq!(POLICY.retention.value().bound_days(), None);
}
